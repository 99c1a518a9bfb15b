//! The wall-clock driver: the embedded platform as a real HTTP server
//! that speaks SageMaker Runtime's wire protocol, so the AWS SDKs, boto3
//! and the AWS CLI can be pointed at it with an endpoint-URL override.
//!
//! The platform's behaviour is the core's [`gameday_core::Platform`],
//! unchanged: this crate only supplies a clock, timers and sockets.
//!
//! # Module map
//!
//! - [`clock`]: real time as the core's `SimTime`.
//! - [`child`]: child processes that die with the harness.
//! - [`container`]: user model servers under SageMaker's container
//!   contract, one process per instance.
//! - [`control`]: who may use the control API (token, Host, Origin).
//! - [`ec2_api`]: EC2's `DescribeSpotPriceHistory` from the fixture's
//!   price history, for `gameday prices`.
//! - [`engine`]: the platform on its own thread, fed over a channel.
//! - `feature_store_api`: the Feature Store Runtime API (GetRecord,
//!   PutRecord, DeleteRecord, BatchGetRecord) on the core's online store.
//! - [`listener`]: the accept loop: timeouts, the connection cap, the
//!   open-file limit.
//! - [`protocol`]: headers, error codes, the outcome → error mapping.
//! - [`model`]: built-in real models (logistic regression).
//! - [`metrics`]: `/metrics` in Prometheus text format.
//! - [`server`]: the axum router and [`Server`].
//! - [`training`]: training jobs as real processes, spot notices, the
//!   built-in trainer.

mod autoscaling_api;
pub mod child;
pub mod clock;
pub mod container;
pub mod control;
mod control_api;
pub mod ec2_api;
pub mod engine;
mod feature_store_api;
pub mod listener;
pub mod metrics;
pub mod mme_server;
pub mod model;
pub mod protocol;
pub mod server;
pub mod training;

pub use clock::WallClock;
pub use control_api::ControlFault;
pub use engine::{EngineHandle, Snapshot, Timeline};
pub use listener::Limits;
pub use server::{ServeOptions, Server};
