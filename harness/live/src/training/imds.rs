//! An EC2 instance-metadata (IMDS) endpoint that answers the spot
//! interruption notice, as a training script on EC2 would poll it:
//!
//! - `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds`
//!   → an IMDSv2 session token;
//! - `GET /latest/meta-data/spot/instance-action` → 404 until a notice,
//!   then `{"action":"terminate","time":"2026-01-01T08:22:00Z"}` (the
//!   reclaim time, two minutes ahead on EC2);
//! - `GET /latest/meta-data/instance-type`.
//!
//! A request that carries a token must carry a valid one (401 otherwise);
//! one without a token is served, as IMDSv1 does. Scripts find the
//! endpoint in `AWS_EC2_METADATA_SERVICE_ENDPOINT`, which the AWS SDKs
//! honour.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use gameday_core::time::CivilUtc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const TOKEN_TTL: &str = "x-aws-ec2-metadata-token-ttl-seconds";
const TOKEN: &str = "x-aws-ec2-metadata-token";

#[derive(Debug)]
struct Shared {
    token: String,
    instance_type: String,
    /// The pending notice's reclaim time, RFC 3339.
    notice: Mutex<Option<String>>,
}

/// A running metadata endpoint for one training job.
#[derive(Debug)]
pub struct Imds {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
}

/// Formats seconds since the Unix epoch as `2026-01-01T08:22:00Z`.
pub fn rfc3339(unix_s: u64) -> String {
    let c = CivilUtc::from_unix(unix_s);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

impl Imds {
    /// Serves on `127.0.0.1:0` on the current tokio runtime.
    pub async fn start(instance_type: &str, seed: u64) -> std::io::Result<Imds> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            token: format!("gameday-imds-{seed:016x}-{}", addr.port()),
            instance_type: instance_type.into(),
            notice: Mutex::new(None),
        });
        let app = Router::new()
            .route("/latest/api/token", put(token))
            .route(
                "/latest/meta-data/spot/instance-action",
                get(instance_action),
            )
            .route("/latest/meta-data/instance-type", get(instance_type_route))
            .with_state(shared.clone());
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Imds {
            addr,
            shared,
            stop: Some(tx),
        })
    }

    /// `http://127.0.0.1:PORT`, for `AWS_EC2_METADATA_SERVICE_ENDPOINT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Publishes a notice: the instance goes at `reclaim_unix_s`.
    pub fn set_notice(&self, reclaim_unix_s: u64) {
        *self.shared.notice.lock().expect("notice lock") = Some(rfc3339(reclaim_unix_s));
    }

    /// A new instance has no notice.
    pub fn clear_notice(&self) {
        *self.shared.notice.lock().expect("notice lock") = None;
    }
}

impl Drop for Imds {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

fn authorised(s: &Shared, h: &HeaderMap) -> bool {
    h.get(TOKEN)
        .is_none_or(|t| t.as_bytes() == s.token.as_bytes())
}

async fn token(State(s): State<Arc<Shared>>, h: HeaderMap) -> Response {
    let ttl = h
        .get(TOKEN_TTL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u32>().ok());
    match ttl {
        Some(1..=21_600) => {
            ([(TOKEN_TTL, ttl.unwrap_or(0).to_string())], s.token.clone()).into_response()
        }
        _ => StatusCode::BAD_REQUEST.into_response(),
    }
}

async fn instance_action(State(s): State<Arc<Shared>>, h: HeaderMap) -> Response {
    if !authorised(&s, &h) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match s.notice.lock().expect("notice lock").clone() {
        Some(time) => (
            [("content-type", "text/plain")],
            format!("{{\"action\":\"terminate\",\"time\":\"{time}\"}}"),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn instance_type_route(State(s): State<Arc<Shared>>, h: HeaderMap) -> Response {
    if !authorised(&s, &h) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    s.instance_type
        .trim_start_matches("ml.")
        .to_string()
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_767_255_720), "2026-01-01T08:22:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
