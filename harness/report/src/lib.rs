//! Recording, SLO evaluation and report writers for gameday.
//!
//! # Module map
//!
//! - [`recorder`]: [`Recorder`] takes request results, events and gauges
//!   from a driver and keeps HDR histograms (3 significant digits) per
//!   endpoint and variant, plus a per-interval timeline, in memory that does
//!   not grow with the number of requests.
//! - [`model`]: the `report.json` contract ([`Report`]).
//! - [`baseline`]: regression checks against an earlier `report.json`.
//! - [`slo`]: objectives ([`SloSpec`]) and their evaluation.
//! - [`training`]: training jobs in the report.
//! - [`writers`]: `report.json`, `summary.md`, `timeline.csv`,
//!   `events.csv` and the terminal summary, each over any `io::Write`.

pub mod artifacts;
pub mod baseline;
pub mod burn;
pub mod charts;
pub mod features;
pub mod html;
pub mod junit;
pub mod model;
pub mod plan;
pub mod postmortem;
pub mod recorder;
pub mod shadow;
pub mod slo;
pub mod sweep;
pub mod training;
pub mod writers;

pub use model::Report;
pub use recorder::{EventRow, Finish, Recorder, RunRecord, TimelineRow};
pub use slo::SloSpec;
pub use training::TrainingJobReport;

/// The JSON Schema of `report.json`, derived from [`Report`].
pub fn report_schema() -> serde_json::Value {
    let mut s = schemars::schema_for!(Report);
    s.insert("title".into(), "gameday report.json".into());
    s.to_value()
}
