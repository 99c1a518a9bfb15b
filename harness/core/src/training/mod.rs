//! Training jobs on spot or on-demand capacity: SageMaker's lifecycle,
//! spot interruptions with their notice, checkpoints and resume, capacity
//! waits, `max_run` / `max_wait`, and billable time.
//!
//! Like [`crate::Platform`], [`Training`] does no IO: a driver hands it
//! `now` and its due timers and drains [`Training::poll_timer`],
//! [`Training::poll_event`] and [`Training::poll_action`] after every call.
//!
//! A job's work is either **modelled** (steps × step time, progress kept
//! here) or **external** (a real training process the wall-clock driver
//! runs). For an external job the core still decides everything about
//! capacity: when instances are ready, when a spot notice comes and when
//! the instance is reclaimed, when `max_run`/`max_wait` stop the job. It
//! asks the driver to start, warn and kill the process through
//! [`TrainingAction`]s, and learns about progress from
//! [`Training::external_step`] and [`Training::external_exit`].
//!
//! Time accounting follows SageMaker's `DescribeTrainingJob`:
//! `training_time` is the time instances were held (downloading, training,
//! checkpointing, uploading, summed over restarts); `billable_time` is
//! that time scaled by the spot price ratio, so
//! `savings = (1 − billable / training) × 100`.

use std::collections::VecDeque;

use crate::rng::RngStreams;
use crate::time::SimTime;

mod job;
mod lifecycle;
mod outputs;
mod spec;

pub use outputs::*;
pub use spec::*;

use job::{Job, Phase};
use outputs::outcome;

/// A wake-up [`Training`] asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainingTimer {
    job: u32,
    generation: u32,
    kind: TimerKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimerKind {
    Create,
    CapacityReady,
    DownloadDone,
    CheckpointStart,
    CheckpointDone,
    WorkDone,
    UploadDone,
    SpotNotice,
    SpotReclaim,
    MaxRun,
    MaxWait,
    FaultStart(u32),
}

/// The training jobs of a run: a sans-IO state machine.
#[derive(Debug)]
pub struct Training {
    jobs: Vec<Job>,
    faults: Vec<TrainingFaultSpec>,
    timers: VecDeque<(SimTime, TrainingTimer)>,
    events: VecDeque<TrainingEvent>,
    actions: VecDeque<TrainingAction>,
    /// Jobs that need instances now: the platform asks their pool and
    /// answers through [`Training::capacity_answer`].
    asks: VecDeque<usize>,
    /// For the wording of events: times in them are in scenario time.
    pub(crate) scale: crate::scale::TimeScale,
}

impl Training {
    /// Creates every job at time zero. Drain [`Training::poll_timer`]
    /// next: the first capacity waits are already scheduled.
    pub fn new(spec: &TrainingSpec, streams: &RngStreams) -> Training {
        let mut t = Training {
            jobs: spec
                .jobs
                .iter()
                .map(|j| Job {
                    spec: j.clone(),
                    phase: Phase::Waiting,
                    phase_gen: 0,
                    seg_gen: 0,
                    status: JobStatus::InProgress,
                    history: Vec::new(),
                    seg_start: None,
                    held_ns: 0,
                    phase_started: SimTime::ZERO,
                    work_ns: 0,
                    checkpointed_ns: 0,
                    checkpoints: 0,
                    interruptions: Vec::new(),
                    notice_at: None,
                    deferred: false,
                    attempt: 0,
                    resumed_from: Vec::new(),
                    last_step: 0,
                    seen_step: false,
                    ended_at: None,
                    rng: streams.stream(&format!("training/{}", j.name)),
                })
                .collect(),
            faults: spec.faults.clone(),
            timers: VecDeque::new(),
            events: VecDeque::new(),
            actions: VecDeque::new(),
            asks: VecDeque::new(),
            scale: crate::scale::TimeScale::default(),
        };
        for (i, f) in spec.faults.iter().enumerate() {
            t.timer(SimTime::ZERO + f.at, 0, 0, TimerKind::FaultStart(i as u32));
        }
        for j in 0..t.jobs.len() {
            if let Some(w) = t.jobs[j].spec.max_wait.filter(|_| t.jobs[j].spec.spot) {
                t.timer(SimTime::ZERO + w, j, 0, TimerKind::MaxWait);
            }
            t.status(SimTime::ZERO, j, SecondaryStatus::Starting);
        }
        // Capacity is asked for after the faults due at time zero ran.
        for j in 0..t.jobs.len() {
            t.timer(SimTime::ZERO, j, 0, TimerKind::Create);
        }
        t
    }

    /// Number of jobs.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// True when there are no jobs.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Job names, in scenario order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.jobs.iter().map(|j| j.spec.name.as_str())
    }

    /// True when every job has ended.
    pub fn all_done(&self) -> bool {
        self.jobs.iter().all(|j| j.phase == Phase::Done)
    }

    /// When the current spot notice's reclaim is due, if one is pending.
    pub fn pending_reclaim(&self, job: usize) -> Option<SimTime> {
        let j = &self.jobs[job];
        j.notice_at
            .filter(|_| j.seg_start.is_some())
            .map(|n| n + j.spec.market.notice)
    }

    /// The next timer to schedule.
    pub fn poll_timer(&mut self) -> Option<(SimTime, TrainingTimer)> {
        self.timers.pop_front()
    }

    /// The next event for the timeline.
    pub fn poll_event(&mut self) -> Option<TrainingEvent> {
        self.events.pop_front()
    }

    /// The next thing the driver must do to a real process.
    pub fn poll_action(&mut self) -> Option<TrainingAction> {
        self.actions.pop_front()
    }

    /// Whether an ask waits.
    #[inline]
    pub(crate) fn has_ask(&self) -> bool {
        !self.asks.is_empty()
    }

    /// The next job that asks its pool for instances.
    pub(crate) fn poll_ask(&mut self) -> Option<usize> {
        self.asks.pop_front()
    }

    fn timer(&mut self, at: SimTime, job: usize, generation: u32, kind: TimerKind) {
        self.timers.push_back((
            at,
            TrainingTimer {
                job: job as u32,
                generation,
                kind,
            },
        ));
    }

    fn phase_timer(&mut self, at: SimTime, job: usize, kind: TimerKind) {
        let g = self.jobs[job].phase_gen;
        self.timer(at, job, g, kind);
    }

    fn seg_timer(&mut self, at: SimTime, job: usize, kind: TimerKind) {
        let g = self.jobs[job].seg_gen;
        self.timer(at, job, g, kind);
    }

    fn event(&mut self, at: SimTime, job: usize, kind: TrainingEventKind, detail: String) {
        self.events.push_back(TrainingEvent {
            at,
            job,
            kind,
            detail,
        });
    }

    fn status(&mut self, now: SimTime, job: usize, s: SecondaryStatus) {
        self.jobs[job].history.push((now, s));
        self.event(now, job, TrainingEventKind::Status, s.as_str().into());
    }

    fn set_phase(&mut self, now: SimTime, job: usize, phase: Phase) {
        let j = &mut self.jobs[job];
        j.work_ns = j.progress(now);
        j.phase = phase;
        j.phase_started = now;
        j.phase_gen += 1;
    }

    fn external(&self, job: usize) -> bool {
        self.jobs[job].spec.work == TrainingWork::External
    }

    /// Handles a due timer.
    pub fn handle_timer(&mut self, now: SimTime, timer: TrainingTimer) {
        let job = timer.job as usize;
        let g = timer.generation;
        if let TimerKind::FaultStart(f) = timer.kind {
            return self.fault_start(now, f as usize);
        }
        let j = &self.jobs[job];
        if j.phase == Phase::Done {
            return;
        }
        let (phase_ok, seg_ok) = (g == j.phase_gen, g == j.seg_gen);
        match timer.kind {
            TimerKind::Create => self.ask_capacity(job),
            TimerKind::CapacityReady if phase_ok && j.phase == Phase::Waiting => {
                self.capacity_ready(now, job)
            }
            TimerKind::DownloadDone if phase_ok => self.start_training(now, job),
            TimerKind::CheckpointStart if phase_ok => {
                self.set_phase(now, job, Phase::Checkpointing);
                let c = self.jobs[job].spec.checkpoint_cost;
                self.phase_timer(now + c, job, TimerKind::CheckpointDone);
            }
            TimerKind::CheckpointDone if phase_ok => {
                let j = &mut self.jobs[job];
                j.checkpointed_ns = j.work_ns;
                j.checkpoints += 1;
                let step = j.steps_of(j.work_ns);
                self.event(
                    now,
                    job,
                    TrainingEventKind::CheckpointWritten,
                    format!("step {step}"),
                );
                self.compute(now, job);
            }
            TimerKind::WorkDone if phase_ok => self.upload(now, job),
            TimerKind::UploadDone if phase_ok => {
                self.finish(now, job, JobStatus::Completed, SecondaryStatus::Completed)
            }
            TimerKind::SpotNotice if seg_ok && j.seg_start.is_some() => self.notice(now, job),
            TimerKind::SpotReclaim if seg_ok && j.seg_start.is_some() => self.reclaim(now, job),
            TimerKind::MaxRun if seg_ok && j.seg_start.is_some() => self.finish(
                now,
                job,
                JobStatus::Stopped,
                SecondaryStatus::MaxRuntimeExceeded,
            ),
            TimerKind::MaxWait => self.finish(
                now,
                job,
                JobStatus::Stopped,
                SecondaryStatus::MaxWaitTimeExceeded,
            ),
            _ => {} // stale
        }
    }
}

/// Runs training jobs alone to their end with a virtual clock (no
/// endpoints, no IO), through the capacity `shortages` given: what a
/// checkpoint-interval sweep needs. Stops every job still going at
/// `horizon`.
pub fn run_alone(
    shortages: &[crate::capacity::ShortageSpec],
    spec: &TrainingSpec,
    streams: &RngStreams,
    horizon: SimTime,
) -> Vec<TrainingOutcome> {
    let no_endpoints = crate::spec::PlatformSpec {
        shortages: shortages.to_vec(),
        ..Default::default()
    };
    let mut p = crate::Platform::with_training(&no_endpoints, spec, *streams);
    let mut now = SimTime::ZERO;
    while let Some(at) = p.poll_timeout().filter(|&at| at <= horizon) {
        now = at;
        p.handle_timeout(at);
        while p.poll_training_event().is_some() {}
    }
    if !p.training_done() {
        now = horizon.max(now);
        p.stop_training(now);
    }
    p.training_outcomes(now)
}

#[cfg(test)]
mod tests;
