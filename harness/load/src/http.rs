//! The HTTP target: any server with SageMaker Runtime's path layout
//! (`POST {base}/endpoints/{name}/invocations`) over HTTP/1.1 keep-alive
//! connections.
//!
//! Connections live in a small free list: a call takes an idle one or
//! opens a new one, and puts it back when the answer is read. The list
//! holds as many connections as calls were in flight at once; the
//! open-loop generator bounds that with its worker pool, and gives each of
//! its threads a list of its own ([`Target::for_thread`]). (hyper-util's
//! pooled client does the same with more bookkeeping per call; at tens of
//! thousands of calls a second that bookkeeping was a large share of the
//! generator's CPU.)

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderValue, CONTENT_TYPE, HOST};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::target::{Answer, BoxFuture, Invocation, Target, TargetError};

/// Error bodies read to find a ModelError's original status; more is cut.
const MAX_ERROR_BODY: usize = 64 * 1024;

type Conn = SendRequest<Full<Bytes>>;

#[derive(Debug)]
struct Inner {
    authority: String,
    base: String,
    host: HeaderValue,
    idle: Mutex<Vec<Conn>>,
}

/// Sends invocations over HTTP/1.1 with connection reuse.
#[derive(Clone, Debug)]
pub struct HttpTarget {
    inner: Arc<Inner>,
}

impl HttpTarget {
    /// A target at `base` (`http://host:port`, no trailing path).
    pub fn new(base: &str) -> Result<Self, TargetError> {
        let base = base.trim_end_matches('/').to_string();
        // Messages quote the URL without its secrets.
        let shown = crate::redact::url(&base);
        let uri: Uri = base
            .parse()
            .map_err(|e| TargetError::Transport(format!("invalid URL {shown:?}: {e}")))?;
        if uri.scheme_str() != Some("http") {
            return Err(TargetError::Transport(format!(
                "{shown:?}: only http:// URLs are supported by the http target (use --target sagemaker for https)"
            )));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| TargetError::Transport(format!("{shown:?} has no host")))?;
        let port = authority.port_u16().unwrap_or(80);
        // `Host` names the server only: never the URL's user and password.
        let host = match authority.port() {
            Some(p) => format!("{}:{p}", authority.host()),
            None => authority.host().to_string(),
        };
        let host =
            HeaderValue::from_str(&host).map_err(|e| TargetError::Transport(e.to_string()))?;
        Ok(HttpTarget {
            inner: Arc::new(Inner {
                authority: format!("{}:{port}", authority.host()),
                base,
                host,
                idle: Mutex::new(Vec::new()),
            }),
        })
    }
}

impl Inner {
    fn take(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().expect("connection list lock");
        while let Some(c) = idle.pop() {
            if !c.is_closed() {
                return Some(c);
            }
        }
        None
    }

    fn give_back(&self, c: Conn) {
        if !c.is_closed() {
            self.idle.lock().expect("connection list lock").push(c);
        }
    }

    async fn connect(&self) -> Result<Conn, TargetError> {
        let tcp = TcpStream::connect(&self.authority)
            .await
            .map_err(|e| TargetError::Transport(format!("connect {}: {e}", self.authority)))?;
        let _ = tcp.set_nodelay(true);
        let (send, conn) = http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| TargetError::Transport(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await; // ends when the server or we close it
        });
        Ok(send)
    }
}

impl Target for HttpTarget {
    fn invoke(&self, inv: Invocation) -> BoxFuture<Result<Answer, TargetError>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            let mut req = Request::post(format!("/endpoints/{}/invocations", inv.endpoint))
                .header(HOST, inner.host.clone())
                .header(CONTENT_TYPE, &*inv.content_type)
                .header("Accept", "application/json");
            if let Some(v) = &inv.target_variant {
                req = req.header("X-Amzn-SageMaker-Target-Variant", &**v);
            }
            if let Some(m) = &inv.target_model {
                req = req.header("X-Amzn-SageMaker-Target-Model", &**m);
            }
            let req = req
                .body(Full::new(inv.body))
                .map_err(|e| TargetError::Transport(e.to_string()))?;
            let mut conn = match inner.take() {
                Some(c) => c,
                None => inner.connect().await?,
            };
            if conn.ready().await.is_err() {
                conn = inner.connect().await?;
            }
            let resp = conn
                .send_request(req)
                .await
                .map_err(|e| TargetError::Transport(e.to_string()))?;
            let status = resp.status().as_u16();
            let header = |name: &str| {
                resp.headers()
                    .get(name)
                    .and_then(|v: &HeaderValue| v.to_str().ok())
                    .map(String::from)
            };
            let variant = header("x-amzn-invoked-production-variant");
            let error_code = header("x-amzn-errortype").map(|c| {
                // The header may carry `Code:namespace`; keep the code.
                c.split(':').next().unwrap_or("").to_string()
            });
            let limit = if status == 200 {
                usize::MAX
            } else {
                MAX_ERROR_BODY
            };
            let body = Limited::new(resp.into_body(), limit)
                .collect()
                .await
                .map_err(|e| TargetError::Transport(e.to_string()))?
                .to_bytes();
            inner.give_back(conn);
            let original_status = (error_code.as_deref() == Some("ModelError"))
                .then(|| {
                    serde_json::from_slice::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| v.get("OriginalStatusCode").and_then(|s| s.as_u64()))
                        .map(|s| s as u16)
                })
                .flatten();
            Ok(Answer {
                status,
                error_code,
                original_status,
                variant,
            })
        })
    }

    fn for_thread(&self) -> Option<Arc<dyn Target>> {
        let i = &self.inner;
        Some(Arc::new(HttpTarget {
            inner: Arc::new(Inner {
                authority: i.authority.clone(),
                base: i.base.clone(),
                host: i.host.clone(),
                idle: Mutex::new(Vec::new()),
            }),
        }))
    }

    fn describe(&self) -> String {
        format!("http {}", crate::redact::url(&self.inner.base))
    }
}
