//! The load generator: real traffic for the wall clock.
//!
//! # Module map
//!
//! - [`target`]: the [`Target`] trait (what an InvokeEndpoint call is sent
//!   to) and how an answer counts.
//! - [`http`]: [`HttpTarget`], any server with SageMaker Runtime's paths
//!   (the embedded platform included).
//! - [`open_loop`]: the coordinated-omission-free open-loop scheduler.
//! - [`closed_loop`]: closed-loop users (send, wait, think, repeat).
//!
//! The SageMaker SDK target lives in `gameday-aws`, so the AWS SDK stays
//! out of builds that do not need it.

pub mod closed_loop;
pub mod http;
pub mod open_loop;
pub mod redact;
pub mod target;

pub use http::HttpTarget;
pub use open_loop::{LoadConfig, LoadStats, LoadWorkload, OpenLoop};
pub use target::{Answer, BoxFuture, CallResult, Invocation, ResultSink, Target, TargetError};

/// The real clock: the generator measures wall time by design (the core
/// and simulator never read it).
#[allow(clippy::disallowed_methods)]
pub(crate) fn now() -> std::time::Instant {
    std::time::Instant::now()
}
