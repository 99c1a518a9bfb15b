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
use std::time::Duration;

use crate::dist::unit;
use crate::rng::{RngStreams, StreamRng};
use crate::spec::InstanceTypeSpec;
use crate::time::{duration_nanos, SimTime};

/// A spot market for one instance type.
#[derive(Clone, Debug, PartialEq)]
pub struct SpotMarketSpec {
    /// Mean time between interruptions of one instance; `None`: never
    /// interrupted by the market (scheduled faults still apply).
    pub mtbi: Option<Duration>,
    /// Shortest wait for spot capacity.
    pub capacity_wait_min: Duration,
    /// Longest wait for spot capacity.
    pub capacity_wait_max: Duration,
    /// Spot price ÷ on-demand price.
    pub price_ratio: f64,
    /// Time from the interruption notice to the reclaim (EC2: 2 minutes).
    pub notice: Duration,
}

/// What a job has to compute.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainingWork {
    /// `steps` steps of `step_time` each on this job's fleet.
    Modelled {
        /// Steps to train.
        steps: u64,
        /// Time one step takes on the job's instances.
        step_time: Duration,
    },
    /// A real process decides when it is done (wall clock only).
    External,
}

/// One training job.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingJobSpec {
    /// Job name.
    pub name: String,
    /// Instance type.
    pub instance: InstanceTypeSpec,
    /// Instances (data-parallel).
    pub instance_count: u32,
    /// Managed spot training.
    pub spot: bool,
    /// Longest training time (`MaxRuntimeInSeconds`).
    pub max_run: Duration,
    /// Longest time from creation to the end, waits included
    /// (`MaxWaitTimeInSeconds`, spot only).
    pub max_wait: Option<Duration>,
    /// Compute time between checkpoints; `None`: no checkpoints.
    pub checkpoint_every: Option<Duration>,
    /// Time to write one checkpoint (training pauses meanwhile).
    pub checkpoint_cost: Duration,
    /// Write a checkpoint when the spot notice arrives, if it fits.
    pub checkpoint_on_notice: bool,
    /// Time to download data and image at each (re)start.
    pub download: Duration,
    /// Time to upload the model at the end.
    pub upload: Duration,
    /// SIGTERM-to-SIGKILL grace when `max_run`/`max_wait` stop a real
    /// process (SageMaker allows 120 s).
    pub stop_grace: Duration,
    /// The work.
    pub work: TrainingWork,
    /// The spot market of the instance type.
    pub market: SpotMarketSpec,
}

/// Scheduled training faults.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingFaultSpec {
    /// When it starts.
    pub at: Duration,
    /// How long it lasts (`capacity_shortage`); `None`: for good.
    pub duration: Option<Duration>,
    /// Jobs it hits (indices).
    pub jobs: Vec<usize>,
    /// What it does.
    pub kind: TrainingFaultKind,
}

/// Kinds of training fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrainingFaultKind {
    /// The spot instances are reclaimed: notice now, reclaim after the
    /// notice window.
    SpotInterruption,
    /// No capacity of the job's instance type can be had: spot jobs wait,
    /// on-demand jobs fail with `InsufficientCapacity`.
    CapacityShortage,
}

/// All training of a scenario.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainingSpec {
    /// Jobs, all created at time zero.
    pub jobs: Vec<TrainingJobSpec>,
    /// Scheduled faults.
    pub faults: Vec<TrainingFaultSpec>,
}

/// `TrainingJobStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    /// Running or waiting.
    InProgress,
    /// Finished and uploaded.
    Completed,
    /// Failed.
    Failed,
    /// Stopped (by `max_run`, `max_wait`, or the run's end).
    Stopped,
}

impl JobStatus {
    /// SageMaker's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::InProgress => "InProgress",
            JobStatus::Completed => "Completed",
            JobStatus::Failed => "Failed",
            JobStatus::Stopped => "Stopped",
        }
    }
}

/// `SecondaryStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecondaryStatus {
    /// Waiting for (spot) capacity and launching instances.
    Starting,
    /// Downloading data and image.
    Downloading,
    /// Training.
    Training,
    /// The spot instances were reclaimed.
    Interrupted,
    /// Waiting for capacity again after an interruption.
    Restarting,
    /// Uploading the model.
    Uploading,
    /// Done.
    Completed,
    /// `max_run` reached.
    MaxRuntimeExceeded,
    /// `max_wait` reached.
    MaxWaitTimeExceeded,
    /// Stopped from outside (the run ended first).
    Stopped,
    /// Failed.
    Failed,
}

impl SecondaryStatus {
    /// SageMaker's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SecondaryStatus::Starting => "Starting",
            SecondaryStatus::Downloading => "Downloading",
            SecondaryStatus::Training => "Training",
            SecondaryStatus::Interrupted => "Interrupted",
            SecondaryStatus::Restarting => "Restarting",
            SecondaryStatus::Uploading => "Uploading",
            SecondaryStatus::Completed => "Completed",
            SecondaryStatus::MaxRuntimeExceeded => "MaxRuntimeExceeded",
            SecondaryStatus::MaxWaitTimeExceeded => "MaxWaitTimeExceeded",
            SecondaryStatus::Stopped => "Stopped",
            SecondaryStatus::Failed => "Failed",
        }
    }
}

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
    FaultEnd(u32),
}

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Waiting,
    Downloading,
    Computing,
    Checkpointing,
    Uploading,
    Done,
}

#[derive(Debug)]
struct Job {
    spec: TrainingJobSpec,
    phase: Phase,
    /// Invalidates phase timers (download, checkpoint, work, upload).
    phase_gen: u32,
    /// Invalidates segment timers (notice, reclaim, max_run).
    seg_gen: u32,
    status: JobStatus,
    history: Vec<(SimTime, SecondaryStatus)>,
    /// Start of the current holding segment, if instances are held.
    seg_start: Option<SimTime>,
    held_ns: u64,
    phase_started: SimTime,
    /// Compute progress at `phase_started`, ns.
    work_ns: u64,
    checkpointed_ns: u64,
    checkpoints: u32,
    interruptions: Vec<Interruption>,
    notice_at: Option<SimTime>,
    /// Waiting for a shortage to end before capacity can come.
    deferred: bool,
    shortages: u32,
    attempt: u32,
    resumed_from: Vec<u64>,
    /// External work: last step reported, and whether this start has
    /// reported one yet.
    last_step: u64,
    seen_step: bool,
    ended_at: Option<SimTime>,
    rng: StreamRng,
}

impl Job {
    fn total_ns(&self) -> u64 {
        match self.spec.work {
            TrainingWork::Modelled { steps, step_time } => {
                steps.saturating_mul(duration_nanos(step_time))
            }
            TrainingWork::External => u64::MAX,
        }
    }

    fn steps_of(&self, ns: u64) -> u64 {
        match self.spec.work {
            TrainingWork::Modelled { step_time, .. } => ns / duration_nanos(step_time).max(1),
            TrainingWork::External => 0,
        }
    }

    /// Compute progress at `now`, ns.
    fn progress(&self, now: SimTime) -> u64 {
        match self.phase {
            Phase::Computing => self.work_ns + now.nanos_since(self.phase_started),
            _ => self.work_ns,
        }
    }

    fn held_until(&self, now: SimTime) -> u64 {
        self.held_ns + self.seg_start.map_or(0, |s| now.nanos_since(s))
    }
}

/// The training jobs of a run: a sans-IO state machine.
#[derive(Debug)]
pub struct Training {
    jobs: Vec<Job>,
    faults: Vec<TrainingFaultSpec>,
    timers: VecDeque<(SimTime, TrainingTimer)>,
    events: VecDeque<TrainingEvent>,
    actions: VecDeque<TrainingAction>,
}

fn uniform_ns(rng: &mut StreamRng, lo: Duration, hi: Duration) -> u64 {
    let lo = duration_nanos(lo);
    let hi = duration_nanos(hi).max(lo);
    lo + (unit(rng) * (hi - lo) as f64) as u64
}

fn exp_ns(rng: &mut StreamRng, mean: Duration) -> u64 {
    let u = unit(rng);
    let x = -(1.0 - u).ln() * mean.as_secs_f64();
    (x * 1e9).min(u64::MAX as f64 / 2.0) as u64
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
                    shortages: 0,
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
        match timer.kind {
            TimerKind::FaultStart(f) => return self.fault_start(now, f as usize),
            TimerKind::FaultEnd(f) => return self.fault_end(now, f as usize),
            _ => {}
        }
        let j = &self.jobs[job];
        if j.phase == Phase::Done {
            return;
        }
        let (phase_ok, seg_ok) = (g == j.phase_gen, g == j.seg_gen);
        match timer.kind {
            TimerKind::Create => self.ask_capacity(now, job),
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

    /// Starts waiting for capacity (spot: a market wait; both: the
    /// instances' provisioning time).
    fn ask_capacity(&mut self, now: SimTime, job: usize) {
        let j = &mut self.jobs[job];
        if j.shortages > 0 {
            if !j.spec.spot {
                let what = format!("InsufficientCapacity: no {} capacity", j.spec.instance.name);
                self.event(now, job, TrainingEventKind::Fault, what);
                return self.finish(now, job, JobStatus::Failed, SecondaryStatus::Failed);
            }
            j.deferred = true; // the shortage's end asks again
            return;
        }
        let mut wait = uniform_ns(
            &mut j.rng,
            j.spec.instance.provisioning_min,
            j.spec.instance.provisioning_max,
        );
        if j.spec.spot {
            wait += uniform_ns(
                &mut j.rng,
                j.spec.market.capacity_wait_min,
                j.spec.market.capacity_wait_max,
            );
        }
        self.phase_timer(now.add_nanos(wait), job, TimerKind::CapacityReady);
    }

    fn capacity_ready(&mut self, now: SimTime, job: usize) {
        self.set_phase(now, job, Phase::Downloading);
        let j = &mut self.jobs[job];
        j.seg_start = Some(now);
        j.notice_at = None;
        let left = duration_nanos(j.spec.max_run).saturating_sub(j.held_ns);
        let download = j.spec.download;
        let notice = match (j.spec.spot, j.spec.market.mtbi) {
            (true, Some(mtbi)) => {
                let job_mtbi =
                    crate::time::div_duration(mtbi, f64::from(j.spec.instance_count.max(1)));
                Some(now.add_nanos(exp_ns(&mut j.rng, job_mtbi)))
            }
            _ => None,
        };
        self.seg_timer(now.add_nanos(left), job, TimerKind::MaxRun);
        if let Some(at) = notice {
            self.seg_timer(at, job, TimerKind::SpotNotice);
        }
        self.status(now, job, SecondaryStatus::Downloading);
        self.phase_timer(now + download, job, TimerKind::DownloadDone);
    }

    fn start_training(&mut self, now: SimTime, job: usize) {
        let j = &mut self.jobs[job];
        let from = j.steps_of(j.checkpointed_ns);
        let attempt = j.attempt;
        j.seen_step = false;
        self.status(now, job, SecondaryStatus::Training);
        if self.external(job) {
            self.set_phase(now, job, Phase::Computing);
            self.actions
                .push_back(TrainingAction::Start { job, attempt });
            return;
        }
        self.jobs[job].resumed_from.push(from);
        if attempt > 0 {
            self.event(
                now,
                job,
                TrainingEventKind::Resumed,
                format!("from step {from}"),
            );
        }
        self.compute(now, job);
    }

    /// Enters (or re-enters) the compute phase and schedules its end: the
    /// next checkpoint, or the end of the work.
    fn compute(&mut self, now: SimTime, job: usize) {
        self.set_phase(now, job, Phase::Computing);
        let j = &self.jobs[job];
        let remaining = j.total_ns().saturating_sub(j.work_ns);
        let since_ckpt = j.work_ns - j.checkpointed_ns;
        match j.spec.checkpoint_every.map(duration_nanos) {
            Some(every) if every.saturating_sub(since_ckpt) < remaining => {
                let at = now.add_nanos(every.saturating_sub(since_ckpt));
                self.phase_timer(at, job, TimerKind::CheckpointStart);
            }
            _ => self.phase_timer(now.add_nanos(remaining), job, TimerKind::WorkDone),
        }
    }

    fn upload(&mut self, now: SimTime, job: usize) {
        self.set_phase(now, job, Phase::Uploading);
        let up = self.jobs[job].spec.upload;
        self.status(now, job, SecondaryStatus::Uploading);
        self.phase_timer(now + up, job, TimerKind::UploadDone);
    }

    fn notice(&mut self, now: SimTime, job: usize) {
        let j = &mut self.jobs[job];
        if j.notice_at.is_some() {
            return; // one reclaim is already coming
        }
        j.notice_at = Some(now);
        let reclaim_at = now + j.spec.market.notice;
        let fits = now + j.spec.checkpoint_cost <= reclaim_at;
        let ckpt = j.spec.checkpoint_on_notice && j.phase == Phase::Computing && fits;
        self.event(
            now,
            job,
            TrainingEventKind::SpotNotice,
            format!("reclaim at {:.3}s", reclaim_at.as_secs_f64()),
        );
        self.seg_timer(reclaim_at, job, TimerKind::SpotReclaim);
        if self.external(job) {
            self.actions
                .push_back(TrainingAction::Notice { job, reclaim_at });
        } else if ckpt {
            self.set_phase(now, job, Phase::Checkpointing);
            let c = self.jobs[job].spec.checkpoint_cost;
            self.phase_timer(now + c, job, TimerKind::CheckpointDone);
        }
    }

    fn end_segment(&mut self, now: SimTime, job: usize) {
        let j = &mut self.jobs[job];
        j.held_ns = j.held_until(now);
        j.seg_start = None;
        j.seg_gen += 1;
    }

    fn reclaim(&mut self, now: SimTime, job: usize) {
        let progress = self.jobs[job].progress(now);
        self.end_segment(now, job);
        self.set_phase(now, job, Phase::Waiting);
        let external = self.external(job);
        let j = &mut self.jobs[job];
        let lost_ns = progress - j.checkpointed_ns.min(progress);
        let steps_lost = j.steps_of(progress) - j.steps_of(j.checkpointed_ns.min(progress));
        j.interruptions.push(Interruption {
            notice_at: j.notice_at.unwrap_or(now),
            reclaimed_at: now,
            lost_ns,
            steps_lost,
        });
        j.work_ns = j.checkpointed_ns;
        j.notice_at = None;
        j.attempt += 1;
        let detail = if external {
            "steps lost are known when the process resumes".to_string()
        } else {
            format!("{steps_lost} steps lost")
        };
        self.event(now, job, TrainingEventKind::Interrupted, detail);
        if external {
            self.actions.push_back(TrainingAction::Kill { job });
        }
        self.status(now, job, SecondaryStatus::Interrupted);
        self.status(now, job, SecondaryStatus::Restarting);
        self.ask_capacity(now, job);
    }

    fn finish(&mut self, now: SimTime, job: usize, st: JobStatus, sec: SecondaryStatus) {
        let held = self.jobs[job].seg_start.is_some();
        if held {
            self.end_segment(now, job);
        }
        if self.external(job) && held && st != JobStatus::Completed {
            let grace = self.jobs[job].spec.stop_grace;
            self.actions.push_back(TrainingAction::Stop { job, grace });
        }
        let progress = self.jobs[job].progress(now);
        self.set_phase(now, job, Phase::Done);
        let j = &mut self.jobs[job];
        j.work_ns = progress;
        j.status = st;
        j.ended_at = Some(now);
        self.status(now, job, sec);
    }

    fn fault_start(&mut self, now: SimTime, f: usize) {
        let fault = self.faults[f].clone();
        for &job in &fault.jobs {
            if self.jobs[job].phase == Phase::Done {
                continue;
            }
            match fault.kind {
                TrainingFaultKind::SpotInterruption => {
                    self.event(
                        now,
                        job,
                        TrainingEventKind::Fault,
                        "spot_interruption".into(),
                    );
                    if self.jobs[job].seg_start.is_some() && self.jobs[job].spec.spot {
                        self.notice(now, job);
                    }
                }
                TrainingFaultKind::CapacityShortage => {
                    let name = self.jobs[job].spec.instance.name.clone();
                    self.event(
                        now,
                        job,
                        TrainingEventKind::Fault,
                        format!("capacity_shortage of {name} began"),
                    );
                    self.jobs[job].shortages += 1;
                }
            }
        }
        if let (TrainingFaultKind::CapacityShortage, Some(d)) = (fault.kind, fault.duration) {
            self.timer(now + d, 0, 0, TimerKind::FaultEnd(f as u32));
        }
    }

    fn fault_end(&mut self, now: SimTime, f: usize) {
        let jobs = self.faults[f].jobs.clone();
        for job in jobs {
            let j = &mut self.jobs[job];
            j.shortages = j.shortages.saturating_sub(1);
            if j.phase == Phase::Done {
                continue;
            }
            self.event(
                now,
                job,
                TrainingEventKind::Fault,
                "capacity_shortage ended".into(),
            );
            let j = &mut self.jobs[job];
            if j.shortages == 0 && j.deferred && j.phase == Phase::Waiting {
                j.deferred = false;
                self.ask_capacity(now, job);
            }
        }
    }

    /// An external job's process reported finishing `step` (1-based).
    pub fn external_step(&mut self, now: SimTime, job: usize, step: u64) {
        let j = &mut self.jobs[job];
        if j.phase != Phase::Computing {
            return;
        }
        if !j.seen_step {
            j.seen_step = true;
            let from = step.saturating_sub(1);
            j.resumed_from.push(from);
            if j.attempt > 0 {
                let redone = j.last_step.saturating_sub(from);
                if let Some(last) = j.interruptions.last_mut() {
                    last.steps_lost = redone;
                }
                let detail = format!("from step {from} ({redone} steps to redo)");
                self.event(now, job, TrainingEventKind::Resumed, detail);
            }
        }
        let j = &mut self.jobs[job];
        j.last_step = step;
    }

    /// An external job's process wrote a checkpoint at `step`.
    pub fn external_checkpoint(&mut self, now: SimTime, job: usize, step: u64) {
        if self.jobs[job].phase == Phase::Done {
            return;
        }
        self.jobs[job].checkpoints += 1;
        self.event(
            now,
            job,
            TrainingEventKind::CheckpointWritten,
            format!("step {step}"),
        );
    }

    /// An external job's process exited on its own (not killed by the
    /// driver): success uploads the model, failure fails the job.
    pub fn external_exit(&mut self, now: SimTime, job: usize, success: bool) {
        let j = &self.jobs[job];
        if j.phase != Phase::Computing || (j.notice_at.is_some() && !success) {
            // Exiting after a notice is what a good script does: the
            // reclaim still comes and the job restarts.
            return;
        }
        if success {
            self.upload(now, job);
        } else {
            self.finish(now, job, JobStatus::Failed, SecondaryStatus::Failed);
        }
    }

    /// Stops every job still in progress (the run ended first).
    pub fn stop_all(&mut self, now: SimTime) {
        for job in 0..self.jobs.len() {
            if self.jobs[job].phase != Phase::Done {
                self.finish(now, job, JobStatus::Stopped, SecondaryStatus::Stopped);
            }
        }
    }

    /// Where job `job` stands at `now`, cheaply (for a progress line).
    pub fn progress(&self, job: usize, now: SimTime) -> JobProgress {
        let j = &self.jobs[job];
        JobProgress {
            status: j.history.last().map_or(SecondaryStatus::Starting, |h| h.1),
            step: match j.spec.work {
                TrainingWork::Modelled { .. } => j.steps_of(j.progress(now)),
                TrainingWork::External => j.last_step,
            },
            interruptions: j.interruptions.len() as u32,
        }
    }

    /// Where every job stands at `now`.
    pub fn outcomes(&self, now: SimTime) -> Vec<TrainingOutcome> {
        self.jobs.iter().map(|j| outcome(j, now)).collect()
    }
}

fn outcome(j: &Job, now: SimTime) -> TrainingOutcome {
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

/// Runs training jobs alone to their end with a virtual clock (no
/// endpoints, no IO): what a checkpoint-interval sweep needs. Stops every
/// job still going at `horizon`.
pub fn run_alone(
    spec: &TrainingSpec,
    streams: &RngStreams,
    horizon: SimTime,
) -> Vec<TrainingOutcome> {
    let no_endpoints = crate::spec::PlatformSpec::default();
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
#[path = "training_tests.rs"]
mod tests;
