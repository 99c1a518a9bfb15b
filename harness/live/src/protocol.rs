//! SageMaker Runtime's wire protocol: header names, error codes and the
//! mapping from the core's outcome of a request to the answer a real
//! endpoint would give.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gameday_core::Cause;
use serde_json::json;

/// Largest request body InvokeEndpoint accepts, bytes.
pub const MAX_BODY_BYTES: usize = 6_291_456;

/// `x-amzn-ErrorType`: the error code header every SDK reads first.
pub const ERROR_TYPE: &str = "x-amzn-ErrorType";
/// Request id header on every answer.
pub const REQUEST_ID: &str = "x-amzn-RequestId";
/// The variant that served a successful invocation.
pub const INVOKED_VARIANT: &str = "x-Amzn-Invoked-Production-Variant";
/// Routes a request to one production variant.
pub const TARGET_VARIANT: &str = "X-Amzn-SageMaker-Target-Variant";
/// `InvokeEndpoint`'s `TargetModel` (multi-model endpoints).
pub const TARGET_MODEL: &str = "X-Amzn-SageMaker-Target-Model";

/// The errors InvokeEndpoint can answer with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SageMakerError {
    /// 400: the request is wrong (unknown endpoint or variant, body too big).
    Validation(String),
    /// 424: the model container answered with an error.
    Model {
        /// The container's HTTP status.
        original_status: u16,
        /// The container's message.
        original_message: String,
        /// SageMaker's own message.
        message: String,
    },
    /// 429: the model is not ready (throttling).
    ModelNotReady(String),
    /// 500: the service failed.
    InternalFailure(String),
    /// 503: the service is unavailable.
    ServiceUnavailable(String),
    /// 530: a dependency failed.
    InternalDependency(String),
    /// 404: no such operation (a path SageMaker Runtime does not serve).
    UnknownOperation(String),
    /// 403: the control API refused the caller (no token, foreign origin).
    AccessDenied(String),
}

impl SageMakerError {
    /// The error code (`x-amzn-ErrorType`).
    pub fn code(&self) -> &'static str {
        match self {
            SageMakerError::Validation(_) => "ValidationError",
            SageMakerError::Model { .. } => "ModelError",
            SageMakerError::ModelNotReady(_) => "ModelNotReadyException",
            SageMakerError::InternalFailure(_) => "InternalFailure",
            SageMakerError::ServiceUnavailable(_) => "ServiceUnavailable",
            SageMakerError::InternalDependency(_) => "InternalDependencyException",
            SageMakerError::UnknownOperation(_) => "UnknownOperationException",
            SageMakerError::AccessDenied(_) => "AccessDeniedException",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        let code = match self {
            SageMakerError::Validation(_) => 400,
            SageMakerError::Model { .. } => 424,
            SageMakerError::ModelNotReady(_) => 429,
            SageMakerError::InternalFailure(_) => 500,
            SageMakerError::ServiceUnavailable(_) => 503,
            SageMakerError::InternalDependency(_) => 530,
            SageMakerError::UnknownOperation(_) => 404,
            SageMakerError::AccessDenied(_) => 403,
        };
        StatusCode::from_u16(code).expect("valid status")
    }

    /// The JSON body: `Message`, plus the container's status and message
    /// for a ModelError. No `code` key, so the header alone names the error.
    pub fn body(&self) -> serde_json::Value {
        match self {
            SageMakerError::Model {
                original_status,
                original_message,
                message,
            } => json!({
                "Message": message,
                "OriginalStatusCode": original_status,
                "OriginalMessage": original_message,
                "LogStreamArn": "arn:aws:logs:local:000000000000:log-group:/aws/sagemaker/Endpoints/gameday",
            }),
            SageMakerError::Validation(m)
            | SageMakerError::ModelNotReady(m)
            | SageMakerError::InternalFailure(m)
            | SageMakerError::ServiceUnavailable(m)
            | SageMakerError::InternalDependency(m)
            | SageMakerError::UnknownOperation(m)
            | SageMakerError::AccessDenied(m) => json!({ "Message": m }),
        }
    }

    /// A ModelError from a container that answered `status` with `message`.
    pub fn model(status: u16, message: impl Into<String>, variant: &str) -> Self {
        let original_message = message.into();
        SageMakerError::Model {
            original_status: status,
            message: format!(
                "Received server error ({status}) from primary with message \"{original_message}\". See the endpoint's logs in variant {variant}."
            ),
            original_message,
        }
    }

    /// The answer for a request the core did not serve.
    pub fn from_cause(cause: Cause, endpoint: &str, variant: &str) -> Option<Self> {
        Some(match cause {
            Cause::Served => return None,
            Cause::Injected(status) => match status {
                400 => SageMakerError::Validation("injected fault: validation error".into()),
                429 => SageMakerError::ModelNotReady(format!(
                    "Model for endpoint {endpoint} variant {variant} is not ready (injected fault)"
                )),
                500 => SageMakerError::InternalFailure("injected fault: internal failure".into()),
                503 => {
                    SageMakerError::ServiceUnavailable("injected fault: service unavailable".into())
                }
                530 => SageMakerError::InternalDependency(
                    "injected fault: internal dependency failed".into(),
                ),
                other => SageMakerError::model(other, "injected fault", variant),
            },
            Cause::InstanceDown => {
                SageMakerError::model(502, "the instance stopped responding", variant)
            }
            Cause::NoCapacity => SageMakerError::ServiceUnavailable(format!(
                "Endpoint {endpoint} variant {variant} has no instance in service"
            )),
            Cause::ModelError(status) => SageMakerError::model(
                status,
                format!("the model container answered {status}"),
                variant,
            ),
            Cause::Timeout => SageMakerError::model(
                0,
                "Your invocation timed out while waiting for a response from container primary",
                variant,
            ),
            Cause::ModelNotReady => SageMakerError::ModelNotReady(format!(
                "Model for endpoint {endpoint} variant {variant} is not ready: the multi-model endpoint is still downloading or loading the target model. Retry the request."
            )),
            Cause::ModelLoadFailed => {
                SageMakerError::model(500, "the container failed to load the target model", variant)
            }
        })
    }

    /// The full HTTP answer, with `request_id`.
    pub fn into_response_with(self, request_id: &str) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(ERROR_TYPE, HeaderValue::from_static(self.code()));
        if let Ok(v) = HeaderValue::from_str(request_id) {
            headers.insert(REQUEST_ID, v);
        }
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        (self.status(), headers, self.body().to_string()).into_response()
    }
}

impl IntoResponse for SageMakerError {
    fn into_response(self) -> Response {
        self.into_response_with("00000000-0000-0000-0000-000000000000")
    }
}

/// A request id in the UUID layout SageMaker uses, from a counter (unique
/// within a server; no randomness needed).
pub fn request_id(n: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (n >> 32) as u32,
        (n >> 16) as u16,
        n & 0xfff,
        (n >> 12) & 0xfff,
        n
    )
}

/// Reads `X-Amzn-SageMaker-Target-Model` for endpoint `endpoint`, whose
/// models (by name) are `models` if it is multi-model.
///
/// The answers, gameday's reading of what SageMaker sends (its API
/// reference documents `TargetModel` as 1–1024 printable characters, not
/// starting with white space, and names no error for the other cases):
/// a malformed value, a missing header on a multi-model endpoint, a
/// header on a single-model endpoint, and a model with no artifact are
/// each a `ValidationError` (400); for the last, SageMaker's message is
/// its failed S3 download of the artifact, which this mirrors.
pub fn target_model(
    headers: &HeaderMap,
    endpoint: &str,
    models: Option<&std::collections::BTreeMap<String, u32>>,
) -> Result<Option<u32>, SageMakerError> {
    let value = match headers.get(TARGET_MODEL) {
        None => None,
        Some(v) => {
            let t = v.to_str().unwrap_or("");
            let printable = t.chars().all(|c| !c.is_control());
            let starts = t.chars().next().is_some_and(|c| !c.is_whitespace());
            if t.is_empty() || t.len() > 1024 || !printable || !starts {
                return Err(SageMakerError::Validation(
                    "1 validation error detected: Value at 'targetModel' failed to satisfy constraint: Member must have length less than or equal to 1024 and satisfy regular expression pattern: \\A\\S[\\p{Print}]*\\z".into(),
                ));
            }
            Some(t)
        }
    };
    match (models, value) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(SageMakerError::Validation(format!(
            "Endpoint {endpoint} is not a multi-model endpoint: TargetModel applies only to multi-model endpoints."
        ))),
        (Some(_), None) => Err(SageMakerError::Validation(format!(
            "Endpoint {endpoint} is a multi-model endpoint: the request must name its model in TargetModel (X-Amzn-SageMaker-Target-Model)."
        ))),
        (Some(m), Some(t)) => match m.get(t) {
            Some(&i) => Ok(Some(i)),
            None => Err(SageMakerError::Validation(format!(
                "Failed to download model data(bucket: gameday-models, key: {endpoint}/{t}). Please ensure that there is an object located at the URL and that the role passed to CreateModel has permissions to download the model."
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_maps_to_the_documented_status_and_code() {
        let cases = [
            (Cause::Injected(400), 400, "ValidationError"),
            (Cause::Injected(429), 429, "ModelNotReadyException"),
            (Cause::Injected(500), 500, "InternalFailure"),
            (Cause::Injected(503), 503, "ServiceUnavailable"),
            (Cause::Injected(530), 530, "InternalDependencyException"),
            (Cause::Injected(502), 424, "ModelError"),
            (Cause::InstanceDown, 424, "ModelError"),
            (Cause::NoCapacity, 503, "ServiceUnavailable"),
            (Cause::Timeout, 424, "ModelError"),
            (Cause::ModelNotReady, 429, "ModelNotReadyException"),
            (Cause::ModelLoadFailed, 424, "ModelError"),
        ];
        for (cause, status, code) in cases {
            let e = SageMakerError::from_cause(cause, "ep", "v").unwrap();
            assert_eq!(e.status().as_u16(), status, "{cause:?}");
            assert_eq!(e.code(), code, "{cause:?}");
            assert!(e.body().get("Message").is_some());
            assert!(e.body().get("code").is_none());
        }
        assert!(SageMakerError::from_cause(Cause::Served, "ep", "v").is_none());
    }

    #[test]
    fn target_model_is_checked_against_the_endpoint_and_its_pattern() {
        let models: std::collections::BTreeMap<String, u32> =
            [("model-0".to_string(), 0), ("a b".to_string(), 1)].into();
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(TARGET_MODEL, HeaderValue::from_str(v).unwrap());
            h
        };
        let none = HeaderMap::new();
        assert_eq!(
            target_model(&with("model-0"), "ep", Some(&models)).ok(),
            Some(Some(0))
        );
        assert_eq!(
            target_model(&with("a b"), "ep", Some(&models)).ok(),
            Some(Some(1))
        );
        assert_eq!(target_model(&none, "ep", None).ok(), Some(None));
        let message = |r: Result<Option<u32>, SageMakerError>| {
            let e = r.unwrap_err();
            assert_eq!(e.status().as_u16(), 400);
            assert_eq!(e.code(), "ValidationError");
            e.body()["Message"].as_str().unwrap().to_string()
        };
        assert!(message(target_model(&none, "ep", Some(&models))).contains("must name its model"));
        assert!(message(target_model(&with("model-9"), "ep", Some(&models)))
            .contains("Failed to download model data"));
        assert!(message(target_model(&with("model-0"), "ep", None))
            .contains("not a multi-model endpoint"));
        for bad in [" leading-space", &"m".repeat(1025)] {
            assert!(message(target_model(&with(bad), "ep", Some(&models))).contains("targetModel"));
        }
    }

    #[test]
    fn model_error_carries_the_container_status_and_message() {
        let e = SageMakerError::model(400, "bad csv", "AllTraffic");
        let b = e.body();
        assert_eq!(b["OriginalStatusCode"], 400);
        assert_eq!(b["OriginalMessage"], "bad csv");
        assert!(b["LogStreamArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:logs:"));
    }

    #[test]
    fn request_ids_are_distinct_and_uuid_shaped() {
        let a = request_id(1);
        let b = request_id(2);
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }
}
