//! What load is sent to: the [`Target`] trait and the answer it reports.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use gameday_core::Outcome;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// One InvokeEndpoint call.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// Endpoint name.
    pub endpoint: Arc<str>,
    /// `X-Amzn-SageMaker-Target-Variant`, if set.
    pub target_variant: Option<Arc<str>>,
    /// `Content-Type` of the body.
    pub content_type: Arc<str>,
    /// The payload.
    pub body: Bytes,
}

/// What came back, whatever the transport.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The SageMaker error code (`x-amzn-ErrorType`), for errors.
    pub error_code: Option<String>,
    /// A ModelError's `OriginalStatusCode`.
    pub original_status: Option<u16>,
    /// `x-Amzn-Invoked-Production-Variant`, for successes.
    pub variant: Option<String>,
}

impl Answer {
    /// How the call counts. A ModelError is the model's failure: it counts
    /// by the container's own status (a crashed or timed-out container is
    /// a server error, a rejected payload a client error).
    pub fn outcome(&self) -> Outcome {
        match (self.error_code.as_deref(), self.original_status) {
            (Some("ModelError"), Some(0)) => Outcome::Timeout,
            (Some("ModelError"), Some(s)) if s >= 500 => Outcome::Server5xx,
            (Some("ModelError"), Some(_)) => Outcome::Client4xx,
            (Some("ModelNotReadyException" | "ThrottlingException"), _) => Outcome::Throttled,
            _ => Outcome::from_status(self.status),
        }
    }
}

/// A call that got no HTTP answer.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TargetError {
    /// Could not connect, or the connection broke.
    #[error("transport error: {0}")]
    Transport(String),
}

/// Something InvokeEndpoint calls can be sent to.
pub trait Target: Send + Sync + 'static {
    /// Sends one call. The load generator applies the timeout.
    fn invoke(&self, inv: Invocation) -> BoxFuture<Result<Answer, TargetError>>;

    /// A short description for logs and `run.json`.
    fn describe(&self) -> String;

    /// Attempts made so far, where the client retries (SDK targets with
    /// retries on); `None` when every call is one attempt.
    fn attempts(&self) -> Option<u64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, code: Option<&str>, original: Option<u16>) -> Answer {
        Answer {
            status,
            error_code: code.map(String::from),
            original_status: original,
            variant: None,
        }
    }

    #[test]
    fn answers_count_as_the_virtual_clock_counts_them() {
        assert_eq!(answer(200, None, None).outcome(), Outcome::Ok);
        assert_eq!(
            answer(424, Some("ModelError"), Some(502)).outcome(),
            Outcome::Server5xx
        );
        assert_eq!(
            answer(424, Some("ModelError"), Some(400)).outcome(),
            Outcome::Client4xx
        );
        assert_eq!(
            answer(424, Some("ModelError"), Some(0)).outcome(),
            Outcome::Timeout
        );
        assert_eq!(
            answer(429, Some("ModelNotReadyException"), None).outcome(),
            Outcome::Throttled
        );
        assert_eq!(
            answer(503, Some("ServiceUnavailable"), None).outcome(),
            Outcome::Server5xx
        );
        assert_eq!(
            answer(400, Some("ValidationError"), None).outcome(),
            Outcome::Client4xx
        );
    }
}
