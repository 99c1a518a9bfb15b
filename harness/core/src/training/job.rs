//! One job's state and its time accounting.

use std::time::Duration;

use crate::dist::unit;
use crate::rng::StreamRng;
use crate::time::{duration_nanos, SimTime};

use super::{Interruption, JobStatus, SecondaryStatus, TrainingJobSpec, TrainingWork};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    Waiting,
    Downloading,
    Computing,
    Checkpointing,
    Uploading,
    Done,
}

#[derive(Debug)]
pub(super) struct Job {
    pub(super) spec: TrainingJobSpec,
    pub(super) phase: Phase,
    /// Invalidates phase timers (download, checkpoint, work, upload).
    pub(super) phase_gen: u32,
    /// Invalidates segment timers (notice, reclaim, max_run).
    pub(super) seg_gen: u32,
    pub(super) status: JobStatus,
    pub(super) history: Vec<(SimTime, SecondaryStatus)>,
    /// Start of the current holding segment, if instances are held.
    pub(super) seg_start: Option<SimTime>,
    pub(super) held_ns: u64,
    pub(super) phase_started: SimTime,
    /// Compute progress at `phase_started`, ns.
    pub(super) work_ns: u64,
    pub(super) checkpointed_ns: u64,
    pub(super) checkpoints: u32,
    pub(super) interruptions: Vec<Interruption>,
    pub(super) notice_at: Option<SimTime>,
    /// Waiting for a shortage to end before capacity can come.
    pub(super) deferred: bool,
    pub(super) attempt: u32,
    pub(super) resumed_from: Vec<u64>,
    /// External work: last step reported, and whether this start has
    /// reported one yet.
    pub(super) last_step: u64,
    pub(super) seen_step: bool,
    pub(super) ended_at: Option<SimTime>,
    pub(super) rng: StreamRng,
}

impl Job {
    pub(super) fn total_ns(&self) -> u64 {
        match self.spec.work {
            TrainingWork::Modelled { steps, step_time } => {
                steps.saturating_mul(duration_nanos(step_time))
            }
            TrainingWork::External => u64::MAX,
        }
    }

    pub(super) fn steps_of(&self, ns: u64) -> u64 {
        match self.spec.work {
            TrainingWork::Modelled { step_time, .. } => ns / duration_nanos(step_time).max(1),
            TrainingWork::External => 0,
        }
    }

    /// Compute progress at `now`, ns.
    pub(super) fn progress(&self, now: SimTime) -> u64 {
        match self.phase {
            Phase::Computing => self.work_ns + now.nanos_since(self.phase_started),
            _ => self.work_ns,
        }
    }

    pub(super) fn held_until(&self, now: SimTime) -> u64 {
        self.held_ns + self.seg_start.map_or(0, |s| now.nanos_since(s))
    }
}

pub(super) fn uniform_ns(rng: &mut StreamRng, lo: Duration, hi: Duration) -> u64 {
    let lo = duration_nanos(lo);
    let hi = duration_nanos(hi).max(lo);
    lo + (unit(rng) * (hi - lo) as f64) as u64
}

pub(super) fn exp_ns(rng: &mut StreamRng, mean: Duration) -> u64 {
    let u = unit(rng);
    let x = -(1.0 - u).ln() * mean.as_secs_f64();
    (x * 1e9).min(u64::MAX as f64 / 2.0) as u64
}
