//! The HTTP target: any server with SageMaker Runtime's path layout
//! (`POST {base}/endpoints/{name}/invocations`), over pooled keep-alive
//! connections.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::Request;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::target::{Answer, BoxFuture, Invocation, Target, TargetError};

/// Error bodies read to find a ModelError's original status; more is cut.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Sends invocations over HTTP/1.1 with connection reuse.
#[derive(Clone, Debug)]
pub struct HttpTarget {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
}

impl HttpTarget {
    /// A target at `base` (`http://host:port`, no trailing path).
    pub fn new(base: &str) -> Result<Self, TargetError> {
        let base = base.trim_end_matches('/').to_string();
        let uri: hyper::Uri = base
            .parse()
            .map_err(|e| TargetError::Transport(format!("invalid URL {base:?}: {e}")))?;
        if uri.scheme_str() != Some("http") {
            return Err(TargetError::Transport(format!(
                "{base:?}: only http:// URLs are supported by the http target (use --target sagemaker for https)"
            )));
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(usize::MAX)
            .build(connector);
        Ok(HttpTarget { client, base })
    }
}

impl Target for HttpTarget {
    fn invoke(&self, inv: Invocation) -> BoxFuture<Result<Answer, TargetError>> {
        let client = self.client.clone();
        let url = format!("{}/endpoints/{}/invocations", self.base, inv.endpoint);
        Box::pin(async move {
            let mut req = Request::post(url)
                .header(CONTENT_TYPE, &*inv.content_type)
                .header("Accept", "application/json");
            if let Some(v) = &inv.target_variant {
                req = req.header("X-Amzn-SageMaker-Target-Variant", &**v);
            }
            let req = req
                .body(Full::new(inv.body))
                .map_err(|e| TargetError::Transport(e.to_string()))?;
            let resp = client
                .request(req)
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
            let body = Limited::new(
                resp.into_body(),
                MAX_ERROR_BODY.max(if status == 200 { usize::MAX } else { 0 }),
            )
            .collect()
            .await
            .map_err(|e| TargetError::Transport(e.to_string()))?
            .to_bytes();
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

    fn describe(&self) -> String {
        format!("http {}", self.base)
    }
}
