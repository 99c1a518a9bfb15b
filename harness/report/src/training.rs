//! Training jobs in `report.json`: [`TrainingJobReport`], built from the
//! core's [`TrainingOutcome`] and the job's spec.

use gameday_core::training::{SecondaryStatus, TrainingJobSpec, TrainingOutcome};
use serde::{Deserialize, Serialize};

use crate::model::{round3, round6};

/// One training job's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TrainingJobReport {
    /// Job name.
    pub name: String,
    /// `TrainingJobStatus`: `Completed`, `Failed`, `Stopped` or `InProgress`.
    pub status: String,
    /// The last `SecondaryStatus` (`MaxRuntimeExceeded`,
    /// `MaxWaitTimeExceeded`, …).
    pub secondary_status: String,
    /// `"max_run"` or `"max_wait"` when a limit ended the job.
    pub ended_by: Option<String>,
    /// Instance type.
    pub instance_type: String,
    /// Instances.
    pub instance_count: u32,
    /// Managed spot training.
    pub spot: bool,
    /// Spot interruptions.
    pub interruptions: u32,
    /// Checkpoints written.
    pub checkpoints: u32,
    /// Steps the job has.
    pub steps_total: u64,
    /// Steps done and kept at the end.
    pub steps_done: u64,
    /// Steps thrown away by interruptions (redone after a resume).
    pub steps_lost: u64,
    /// The step each (re)start resumed from (0: from scratch).
    pub resumed_from: Vec<u64>,
    /// Instance time held (`TrainingTimeInSeconds`).
    pub training_time_s: f64,
    /// `BillableTimeInSeconds`: training time × spot price ratio.
    pub billable_time_s: f64,
    /// Creation to end.
    pub wall_time_s: f64,
    /// `MaxRuntimeInSeconds`.
    pub max_run_s: f64,
    /// `MaxWaitTimeInSeconds` (spot only).
    pub max_wait_s: Option<f64>,
    /// What the job cost (billable time × instances × on-demand price).
    pub cost_usd: f64,
    /// The same training time on on-demand.
    pub on_demand_cost_usd: f64,
    /// `(1 − billable / training) × 100`.
    pub savings_pct: f64,
    /// Every secondary status with the time it began.
    pub status_history: Vec<StatusChange>,
    /// Every interruption.
    pub interruption_log: Vec<InterruptionReport>,
}

/// A secondary-status transition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StatusChange {
    /// When, seconds.
    pub time_s: f64,
    /// The status entered.
    pub status: String,
}

/// One spot interruption.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InterruptionReport {
    /// The notice, seconds.
    pub notice_s: f64,
    /// The reclaim, seconds.
    pub reclaimed_s: f64,
    /// Compute time since the last checkpoint that was lost, seconds.
    pub lost_s: f64,
    /// Steps lost.
    pub steps_lost: u64,
}

impl TrainingJobReport {
    /// The report of `o`, a job run from `spec`.
    pub fn new(o: &TrainingOutcome, spec: &TrainingJobSpec) -> TrainingJobReport {
        TrainingJobReport {
            name: o.name.clone(),
            status: o.status.as_str().into(),
            secondary_status: o.secondary_status.as_str().into(),
            ended_by: match o.secondary_status {
                SecondaryStatus::MaxRuntimeExceeded => Some("max_run".into()),
                SecondaryStatus::MaxWaitTimeExceeded => Some("max_wait".into()),
                _ => None,
            },
            instance_type: spec.instance.name.clone(),
            instance_count: spec.instance_count,
            spot: spec.spot,
            interruptions: o.interruptions.len() as u32,
            checkpoints: o.checkpoints,
            steps_total: o.steps_total,
            steps_done: o.steps_done,
            steps_lost: o.steps_lost,
            resumed_from: o.resumed_from.clone(),
            training_time_s: round3(o.training_time_s),
            billable_time_s: round3(o.billable_time_s),
            wall_time_s: round3(o.wall_time_s),
            max_run_s: round3(spec.max_run.as_secs_f64()),
            max_wait_s: spec.max_wait.map(|d| round3(d.as_secs_f64())),
            cost_usd: round6(o.cost_usd),
            on_demand_cost_usd: round6(o.on_demand_cost_usd),
            savings_pct: round3(o.savings_pct),
            status_history: o
                .status_history
                .iter()
                .map(|(t, s)| StatusChange {
                    time_s: round3(t.as_secs_f64()),
                    status: s.as_str().into(),
                })
                .collect(),
            interruption_log: o
                .interruptions
                .iter()
                .map(|i| InterruptionReport {
                    notice_s: round3(i.notice_at.as_secs_f64()),
                    reclaimed_s: round3(i.reclaimed_at.as_secs_f64()),
                    lost_s: round3(i.lost_ns as f64 / 1e9),
                    steps_lost: i.steps_lost,
                })
                .collect(),
        }
    }
}
