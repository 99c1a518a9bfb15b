//! What the training component emits: actions for the driver, events
//! for the timeline, and each job's outcome.

use std::time::Duration;

use super::job::Job;
use super::{JobStatus, SecondaryStatus, TrainingWork};
use crate::time::SimTime;

/// What the driver must do to a job's real process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrainingAction {
    /// Instances are ready and the data is down: start the process.
    Start {
        /// Job index.
        job: usize,
        /// 0 for the first start, then 1, 2, … after each interruption.
        attempt: u32,
    },
    /// A spot notice: answer the IMDS `instance-action` with `reclaim_at`
    /// and send SIGTERM; [`TrainingAction::Kill`] follows at `reclaim_at`.
    Notice {
        /// Job index.
        job: usize,
        /// When the instance goes.
        reclaim_at: SimTime,
    },
    /// The instance is gone: SIGKILL whatever is left.
    Kill {
        /// Job index.
        job: usize,
    },
    /// `max_run`/`max_wait` or the run's end: SIGTERM, then SIGKILL after
    /// `grace`.
    Stop {
        /// Job index.
        job: usize,
        /// Time allowed after SIGTERM.
        grace: Duration,
    },
}

/// Kinds of training event (rows of `events.csv`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrainingEventKind {
    /// The secondary status changed.
    Status,
    /// A spot interruption notice.
    SpotNotice,
    /// The spot instances were reclaimed.
    Interrupted,
    /// A checkpoint was written.
    CheckpointWritten,
    /// Training resumed (from a checkpoint, or from step 0).
    Resumed,
    /// A training fault started or ended.
    Fault,
}

impl TrainingEventKind {
    /// The name written to reports.
    pub fn as_str(self) -> &'static str {
        match self {
            TrainingEventKind::Status => "training_status",
            TrainingEventKind::SpotNotice => "spot_notice",
            TrainingEventKind::Interrupted => "spot_interrupted",
            TrainingEventKind::CheckpointWritten => "checkpoint_written",
            TrainingEventKind::Resumed => "job_resumed",
            TrainingEventKind::Fault => "training_fault",
        }
    }
}

/// A discrete training event.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingEvent {
    /// When.
    pub at: SimTime,
    /// Job index.
    pub job: usize,
    /// What.
    pub kind: TrainingEventKind,
    /// Detail (the new status for [`TrainingEventKind::Status`]).
    pub detail: String,
}

/// One interruption of a job.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interruption {
    /// When the notice came.
    pub notice_at: SimTime,
    /// When the instances went.
    pub reclaimed_at: SimTime,
    /// Training time since the last checkpoint that was thrown away, ns.
    pub lost_ns: u64,
    /// Steps thrown away (for an external job: known once it resumes).
    pub steps_lost: u64,
}

/// Where a running job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobProgress {
    /// The current secondary status.
    pub status: SecondaryStatus,
    /// The last step done (modelled: at the given time).
    pub step: u64,
    /// Interruptions so far.
    pub interruptions: u32,
}

/// How a job ended (or where it stands).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingOutcome {
    /// Job name.
    pub name: String,
    /// `TrainingJobStatus`.
    pub status: JobStatus,
    /// Current `SecondaryStatus`.
    pub secondary_status: SecondaryStatus,
    /// Every secondary status with the time it began.
    pub status_history: Vec<(SimTime, SecondaryStatus)>,
    /// Interruptions, in order.
    pub interruptions: Vec<Interruption>,
    /// Checkpoints written.
    pub checkpoints: u32,
    /// Steps the job has (modelled work; external: the highest step seen).
    pub steps_total: u64,
    /// Steps done and kept.
    pub steps_done: u64,
    /// Steps thrown away by interruptions.
    pub steps_lost: u64,
    /// The step each (re)start resumed from.
    pub resumed_from: Vec<u64>,
    /// Instance time held, seconds (`TrainingTimeInSeconds`).
    pub training_time_s: f64,
    /// `BillableTimeInSeconds`.
    pub billable_time_s: f64,
    /// Creation to end (or to `now`), seconds.
    pub wall_time_s: f64,
    /// Billable time × count × on-demand price.
    pub cost_usd: f64,
    /// Training time × count × on-demand price.
    pub on_demand_cost_usd: f64,
    /// `(1 − billable / training) × 100`.
    pub savings_pct: f64,
    /// When it ended, if it has.
    pub ended_at: Option<SimTime>,
}

pub(super) fn outcome(j: &Job, now: SimTime) -> TrainingOutcome {
    let end = j.ended_at.unwrap_or(now);
    let training_s = j.held_until(end) as f64 / 1e9;
    let ratio = if j.spec.spot {
        j.spec.market.price_ratio
    } else {
        1.0
    };
    let billable_s = training_s * ratio;
    let per_s = j.spec.instance.price_per_hour / 3600.0 * f64::from(j.spec.instance_count);
    let (steps_total, steps_done) = match j.spec.work {
        TrainingWork::Modelled { steps, .. } => (steps, j.steps_of(j.progress(end)).min(steps)),
        TrainingWork::External => (j.last_step, j.last_step),
    };
    TrainingOutcome {
        name: j.spec.name.clone(),
        status: j.status,
        secondary_status: j.history.last().map_or(SecondaryStatus::Starting, |h| h.1),
        status_history: j.history.clone(),
        interruptions: j.interruptions.clone(),
        checkpoints: j.checkpoints,
        steps_total,
        steps_done,
        steps_lost: j.interruptions.iter().map(|i| i.steps_lost).sum(),
        resumed_from: j.resumed_from.clone(),
        training_time_s: training_s,
        billable_time_s: billable_s,
        wall_time_s: end.as_secs_f64(),
        cost_usd: billable_s * per_s,
        on_demand_cost_usd: training_s * per_s,
        savings_pct: if training_s > 0.0 {
            (1.0 - billable_s / training_s) * 100.0
        } else {
            0.0
        },
        ended_at: j.ended_at,
    }
}
