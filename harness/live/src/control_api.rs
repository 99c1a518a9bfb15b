//! The control API's handlers: `POST /_gameday/faults` injects a fault,
//! `GET /_gameday/faults` lists every fault and where it stands, `DELETE
//! /_gameday/faults/{id}` ends one early, `POST /_gameday/stop` ends the
//! game day. Every call passes [`crate::control::ControlAuth`] first.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gameday_core::spec::{FaultKind, FaultSpec, FaultTarget};
use http_body_util::BodyExt;
use serde::Deserialize;

use crate::control::MAX_CONTROL_BODY;
use crate::protocol::SageMakerError;
use crate::server::AppState;

/// A fault an operator injects during a game day (`POST /_gameday/faults`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlFault {
    /// `instance_crash`, `latency_injection`, `error_injection` or `blackhole`.
    pub kind: String,
    /// Endpoint name.
    pub endpoint: String,
    /// Variant name; every variant when absent.
    pub variant: Option<String>,
    /// How long it lasts, seconds; until the server stops when absent.
    pub for_s: Option<f64>,
    /// `instance_crash`: how many instances.
    pub count: Option<u32>,
    /// `instance_crash`: seconds until the dead instance leaves routing.
    pub detect_after_s: Option<f64>,
    /// `latency_injection`: extra service time, milliseconds.
    pub delay_ms: Option<f64>,
    /// `error_injection`: share of requests that fail.
    pub rate: Option<f64>,
    /// `error_injection`: the status answered (429, 500, 503, ...).
    pub status: Option<u16>,
}

fn secs(x: f64, what: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(x)
        .map_err(|_| format!("{what} must be a non-negative number of seconds"))
}

impl ControlFault {
    fn lower(&self, s: &AppState) -> Result<FaultSpec, String> {
        let s = s.endpoints();
        let (index, variants) = s
            .get(self.endpoint.as_str())
            .ok_or_else(|| format!("unknown endpoint {:?}", self.endpoint))?;
        let variant = match &self.variant {
            None => None,
            Some(v) => Some(
                variants
                    .iter()
                    .position(|x| x == v)
                    .ok_or_else(|| format!("unknown variant {v:?}"))?,
            ),
        };
        let kind = match self.kind.as_str() {
            "instance_crash" => FaultKind::InstanceCrash {
                count: self.count.unwrap_or(1),
                detect_after: secs(self.detect_after_s.unwrap_or(2.0), "detect_after_s")?,
            },
            "latency_injection" => FaultKind::LatencyInjection {
                delay: secs(
                    self.delay_ms.ok_or("latency_injection needs delay_ms")? / 1e3,
                    "delay_ms",
                )?,
            },
            "error_injection" => {
                let rate = self.rate.unwrap_or(1.0);
                if !(0.0..=1.0).contains(&rate) {
                    return Err("rate must be between 0 and 1".into());
                }
                let status = self.status.unwrap_or(500);
                if !(400..=599).contains(&status) {
                    return Err("status must be a 4xx or 5xx code".into());
                }
                FaultKind::ErrorInjection { rate, status }
            }
            "blackhole" => FaultKind::Blackhole,
            other => {
                return Err(format!(
                    "unknown fault kind {other:?}; expected instance_crash, latency_injection, error_injection or blackhole"
                ))
            }
        };
        Ok(FaultSpec {
            at: Duration::ZERO,
            duration: self.for_s.map(|x| secs(x, "for_s")).transpose()?,
            target: FaultTarget {
                endpoint: *index as usize,
                variant,
            },
            kind,
        })
    }
}

fn refuse(s: &AppState, e: SageMakerError) -> Response {
    s.metrics.reject();
    e.into_response()
}

fn engine_gone() -> Response {
    SageMakerError::InternalFailure("the platform engine stopped".into()).into_response()
}

/// Reads at most [`MAX_CONTROL_BODY`] bytes, within the body timeout.
async fn read_small(s: &AppState, body: Body) -> Result<axum::body::Bytes, SageMakerError> {
    let limited = http_body_util::Limited::new(body, MAX_CONTROL_BODY);
    match tokio::time::timeout(s.body_read_timeout(), limited.collect()).await {
        Ok(Ok(b)) => Ok(b.to_bytes()),
        Ok(Err(_)) => Err(SageMakerError::Validation(format!(
            "a control request body may be at most {MAX_CONTROL_BODY} bytes"
        ))),
        Err(_) => Err(SageMakerError::Validation(
            "the control request body did not arrive in time".into(),
        )),
    }
}

/// `POST /_gameday/faults`.
pub(crate) async fn inject_fault(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(r) = s.control().check(&headers, true) {
        s.metrics.reject();
        return r.into_response();
    }
    let body = match read_small(&s, body).await {
        Ok(b) => b,
        Err(e) => return refuse(&s, e),
    };
    let parsed: Result<ControlFault, String> =
        serde_json::from_slice(&body).map_err(|e| format!("invalid fault: {e}"));
    let spec = match parsed.and_then(|f| f.lower(&s)) {
        Ok(spec) => spec,
        Err(m) => return refuse(&s, SageMakerError::Validation(m)),
    };
    match s.engine.inject(spec).await {
        Ok(i) => (
            StatusCode::CREATED,
            Json(serde_json::json!({ "fault": i, "started_at_s": s.scale.to_scenario(s.clock.now()).as_secs_f64() })),
        )
            .into_response(),
        Err(_) => engine_gone(),
    }
}

/// `GET /_gameday/faults`.
pub(crate) async fn list_faults(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(r) = s.control().check(&headers, false) {
        s.metrics.reject();
        return r.into_response();
    }
    match s.engine.faults().await {
        Ok(list) => Json(serde_json::json!({ "faults": list })).into_response(),
        Err(_) => engine_gone(),
    }
}

/// `DELETE /_gameday/faults/{id}`.
pub(crate) async fn end_fault(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    id: Result<Path<u32>, axum::extract::rejection::PathRejection>,
) -> Response {
    if let Err(r) = s.control().check(&headers, false) {
        s.metrics.reject();
        return r.into_response();
    }
    let Ok(Path(id)) = id else {
        return refuse(
            &s,
            SageMakerError::Validation("a fault id is a whole number".into()),
        );
    };
    match s.engine.end_fault(id).await {
        Ok(true) => Json(serde_json::json!({ "fault": id, "ended": true })).into_response(),
        Ok(false) => {
            s.metrics.reject();
            SageMakerError::UnknownOperation(format!("no scheduled or active fault with id {id}"))
                .into_response()
        }
        Err(_) => engine_gone(),
    }
}

/// `POST /_gameday/stop`: the game day ends as on Ctrl-C.
pub(crate) async fn stop(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(r) = s.control().check(&headers, false) {
        s.metrics.reject();
        return r.into_response();
    }
    s.request_stop();
    (
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "stopping": true })),
    )
        .into_response()
}
