//! Training jobs under the wall clock: real processes under SageMaker's
//! training contract, spot notices through an IMDS endpoint, and the
//! built-in trainer.
//!
//! - [`contract`]: the `/opt/ml`-like folder and the `SM_*` environment.
//! - [`imds`]: the instance-metadata spot notice.
//! - [`process`]: one attempt as a child process (process group, death
//!   signal, progress parsing).
//! - [`runner`]: the [`Trainer`] that carries out the core's training
//!   decisions on the engine's thread, and the caller's handle.
//! - [`trainer`]: `gameday trainer logistic_regression`.

pub mod contract;
pub mod imds;
pub mod process;
pub mod runner;
pub mod trainer;

pub use runner::{ProcessSpec, Trainer, TrainingRunConfig, TrainingRunOutput, TrainingRunner};
