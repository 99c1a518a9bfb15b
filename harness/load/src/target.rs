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
    /// `X-Amzn-SageMaker-Target-Model` (multi-model endpoints), if set.
    pub target_model: Option<Arc<str>>,
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

/// How one call ended, from the generator's side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallResult {
    /// An HTTP answer, success or error.
    Answered(Answer),
    /// No answer: the connection failed or broke.
    Failed(TargetError),
    /// The client's timeout passed first (or had passed before the call
    /// could be sent, which then is not sent at all).
    TimedOut,
}

impl CallResult {
    /// Runs `call` until it answers or `deadline` passes. A deadline
    /// already past does not start the call: a send that cannot be
    /// answered in time would only tie up a connection.
    pub async fn within<F>(deadline: std::time::Instant, call: F) -> Self
    where
        F: std::future::Future<Output = Result<Answer, TargetError>>,
    {
        if crate::now() >= deadline {
            return CallResult::TimedOut;
        }
        match tokio::time::timeout_at(deadline.into(), call).await {
            Ok(Ok(a)) => CallResult::Answered(a),
            Ok(Err(e)) => CallResult::Failed(e),
            Err(_) => CallResult::TimedOut,
        }
    }
}

/// The result the recorder takes for one call of a workload to `endpoint`.
/// `latency` runs from the intended send time to the answer; a timeout
/// counts as exactly `timeout`, as the virtual clock counts it. The variant
/// is the invoked one, else the targeted one, else the first.
pub fn record_of(
    call: CallResult,
    endpoint: u16,
    variant_names: &[String],
    fixed_variant: Option<u16>,
    sent_at: gameday_core::SimTime,
    latency: std::time::Duration,
    timeout: std::time::Duration,
) -> gameday_core::RequestResult {
    use gameday_core::time::duration_nanos;
    let fallback = fixed_variant.unwrap_or(0);
    let (outcome, variant, latency_ns) = match call {
        CallResult::Answered(a) => (
            a.outcome(),
            a.variant
                .as_deref()
                .and_then(|n| variant_names.iter().position(|x| x == n))
                .map_or(fallback, |v| v as u16),
            duration_nanos(latency),
        ),
        CallResult::Failed(_) => (Outcome::Server5xx, fallback, duration_nanos(latency)),
        CallResult::TimedOut => (Outcome::Timeout, fallback, duration_nanos(timeout)),
    };
    gameday_core::RequestResult {
        id: 0,
        endpoint,
        variant,
        sent_at,
        latency_ns,
        queue_wait_ns: 0,
        outcome,
        cause: gameday_core::Cause::of(outcome),
        // A client cannot see the endpoint's model cache.
        cache: gameday_core::mme::CacheUse::NotMultiModel,
        model_wait_us: 0,
        features: gameday_core::features::FeatureUse::NONE,
    }
}

/// Where finished requests go: a buffer the recorder drains on its own
/// schedule. Pushing takes an uncontended lock and never wakes a thread,
/// which a channel would do once per request.
#[derive(Clone, Debug, Default)]
pub struct ResultSink {
    buf: Arc<std::sync::Mutex<Vec<gameday_core::RequestResult>>>,
}

impl ResultSink {
    /// An empty sink.
    pub fn new() -> Self {
        ResultSink::default()
    }

    /// Adds one result.
    pub fn push(&self, r: gameday_core::RequestResult) {
        self.buf.lock().expect("result sink lock").push(r);
    }

    /// Moves every buffered result to the end of `out`.
    pub fn drain_into(&self, out: &mut Vec<gameday_core::RequestResult>) {
        let mut buf = self.buf.lock().expect("result sink lock");
        out.append(&mut buf);
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

    /// A handle for one generator thread: the same target with its own
    /// connections. A connection is driven by the runtime that opened it,
    /// so one shared across threads costs a cross-thread wake-up per call.
    /// `None` (the default) shares `self`.
    fn for_thread(&self) -> Option<Arc<dyn Target>> {
        None
    }

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

    #[tokio::test]
    async fn a_call_past_its_deadline_is_not_sent() {
        #[allow(clippy::disallowed_methods)]
        let past = std::time::Instant::now() - std::time::Duration::from_millis(1);
        let call = async { panic!("a call past its deadline must not start") };
        assert_eq!(CallResult::within(past, call).await, CallResult::TimedOut);
    }

    #[tokio::test]
    async fn a_call_answers_or_times_out_by_its_deadline() {
        #[allow(clippy::disallowed_methods)]
        let soon = std::time::Instant::now() + std::time::Duration::from_millis(20);
        let ok = CallResult::within(soon, async { Ok(answer(200, None, None)) }).await;
        assert_eq!(ok, CallResult::Answered(answer(200, None, None)));
        let slow = CallResult::within(soon, std::future::pending()).await;
        assert_eq!(slow, CallResult::TimedOut);
        #[allow(clippy::disallowed_methods)]
        let later = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let broken =
            CallResult::within(later, async { Err(TargetError::Transport("reset".into())) }).await;
        assert!(matches!(broken, CallResult::Failed(_)));
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
