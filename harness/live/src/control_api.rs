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
use gameday_core::fault_kinds::{self, FaultFields};
use gameday_core::spec::{FaultKind, FaultSpec, FaultTarget};
use gameday_core::time::parse_duration;
use http_body_util::BodyExt;
use serde::Deserialize;

use crate::control::MAX_CONTROL_BODY;
use crate::protocol::SageMakerError;
use crate::server::AppState;

/// A fault an operator injects during a game day (`POST /_gameday/faults`):
/// a scenario's `[[fault]]` as JSON, without `at` (it starts now). The
/// kinds, fields, defaults and checks are the scenario's own
/// ([`gameday_core::fault_kinds`]), and so are the error messages.
/// Durations are written as in a scenario (`"for": "60s"`); `for_s`,
/// `detect_after_s` (seconds) and `delay_ms` are accepted too.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlFault {
    /// `instance_crash`, `latency_injection`, `error_injection` or `blackhole`.
    pub kind: String,
    /// Endpoint name.
    pub endpoint: String,
    /// Variant name; every variant when absent.
    pub variant: Option<String>,
    /// How long it lasts (`"60s"`); until the server stops when absent.
    #[serde(rename = "for")]
    pub for_: Option<String>,
    /// The same, in seconds.
    pub for_s: Option<f64>,
    /// `instance_crash`: how many instances (default 1).
    pub count: Option<i64>,
    /// `instance_crash`: time until the dead instance leaves routing
    /// (default `"2s"`).
    pub detect_after: Option<String>,
    /// The same, in seconds.
    pub detect_after_s: Option<f64>,
    /// `latency_injection`: extra service time (`"200ms"`).
    pub delay: Option<String>,
    /// The same, in milliseconds.
    pub delay_ms: Option<f64>,
    /// `error_injection`: share of requests that fail (default 1).
    pub rate: Option<f64>,
    /// `error_injection`: the status answered (default 500).
    pub status: Option<i64>,
    /// `model_download_slow`: how many times slower downloads get.
    pub factor: Option<f64>,
}

/// A duration given as a scenario string or as a number of `unit`
/// seconds, not both.
fn duration(
    text: &Option<String>,
    number: Option<f64>,
    unit: f64,
    name: &str,
    alias: &str,
) -> Result<Option<Duration>, String> {
    match (text, number) {
        (Some(_), Some(_)) => Err(format!("give `{name}` or `{alias}`, not both")),
        (Some(t), None) => parse_duration(t).map(Some),
        (None, Some(x)) => Duration::try_from_secs_f64(x * unit)
            .map(Some)
            .map_err(|_| format!("{alias} must be a non-negative number")),
        (None, None) => Ok(None),
    }
}

impl ControlFault {
    /// The fault's kind-specific fields, parsed.
    fn fields(&self) -> Result<FaultFields, String> {
        Ok(FaultFields {
            for_: duration(&self.for_, self.for_s, 1.0, "for", "for_s")?,
            count: self.count,
            detect_after: duration(
                &self.detect_after,
                self.detect_after_s,
                1.0,
                "detect_after",
                "detect_after_s",
            )?,
            delay: duration(&self.delay, self.delay_ms, 1e-3, "delay", "delay_ms")?,
            rate: self.rate,
            status: self.status,
            factor: self.factor,
            // A model's loads fail by name only in scenarios; here, by rate.
            model: None,
        })
    }

    fn lower(&self, s: &AppState) -> Result<FaultSpec, String> {
        let def = fault_kinds::lookup(&self.kind).ok_or_else(|| {
            format!(
                "unknown fault kind {:?} (expected one of: {})",
                self.kind,
                fault_kinds::names().collect::<Vec<_>>().join(", ")
            )
        })?;
        let multi_model = s.is_multi_model(&self.endpoint);
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
        let fields = self.fields()?;
        let kind = fault_kinds::build(def, &fields).map_err(|errors| {
            errors
                .into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        if matches!(
            kind,
            FaultKind::ModelDownloadSlow { .. } | FaultKind::ModelLoadFailure { .. }
        ) && !multi_model
        {
            return Err(format!(
                "fault kind \"{}\" hits model downloads and loads, which only a multi-model endpoint has; \"{}\" is single-model",
                self.kind, self.endpoint
            ));
        }
        Ok(FaultSpec {
            at: Duration::ZERO,
            duration: fields.for_,
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
