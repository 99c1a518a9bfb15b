//! The wall-clock training driver: the core's [`Training`] on its own
//! thread with real timers, real processes under the training contract,
//! and one IMDS endpoint per job for the spot notice.
//!
//! The core decides (capacity, notices, reclaims, limits); this thread
//! carries its [`TrainingAction`]s out: start an attempt, publish the
//! notice and SIGTERM, SIGKILL at the reclaim, SIGTERM then SIGKILL after
//! the grace on `max_run`/`max_wait`. When the harness is asked to stop,
//! every job is stopped the same way with a short grace, and every child
//! is reaped before the thread returns: nothing is left running.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gameday_core::spec::PlatformSpec;
use gameday_core::training::JobProgress;
use gameday_core::training::{TrainingAction, TrainingSpec};
use gameday_core::{Action, Platform, RngStreams, SimTime, TrainingEvent, TrainingOutcome};

use super::contract::{JobContract, JobDir};
use super::imds::Imds;
use super::process::{Attempt, ProcessEvent};
use crate::clock::WallClock;

/// How one job's real process runs.
#[derive(Clone, Debug)]
pub struct ProcessSpec {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Hyperparameters.
    pub hyperparameters: BTreeMap<String, String>,
    /// Channels to copy in.
    pub channels: BTreeMap<String, PathBuf>,
    /// Accelerators on the modelled instance (`SM_NUM_GPUS`).
    pub gpus: u32,
}

/// What to run.
#[derive(Clone, Debug)]
pub struct TrainingRunConfig {
    /// Jobs and faults, timeline already compressed.
    pub spec: TrainingSpec,
    /// Per job: its process, or `None` for modelled work.
    pub processes: Vec<Option<ProcessSpec>>,
    /// Job folders go under `root/<job>/`.
    pub root: PathBuf,
    /// Master seed.
    pub seed: u64,
    /// The instant time zero stands for.
    pub zero: Instant,
    /// SIGTERM-to-SIGKILL grace when the harness itself is stopping.
    pub stop_grace: Duration,
    /// The compression `spec` was built with (events speak scenario time).
    pub scale: gameday_core::TimeScale,
}

/// What the run produced.
#[derive(Debug)]
pub struct TrainingRunOutput {
    /// Each job's outcome.
    pub outcomes: Vec<TrainingOutcome>,
    /// Every training event, in time order.
    pub events: Vec<TrainingEvent>,
    /// When the last job ended.
    pub ended_at: SimTime,
    /// Each process job's folder.
    pub job_dirs: Vec<Option<PathBuf>>,
}

/// A training run in progress.
#[derive(Debug)]
pub struct TrainingRunner {
    thread: JoinHandle<std::io::Result<TrainingRunOutput>>,
    done: Arc<AtomicBool>,
    names: Vec<String>,
    status: Arc<Mutex<Vec<Option<JobProgress>>>>,
}

impl TrainingRunner {
    /// Lays out job folders, starts IMDS endpoints on the current tokio
    /// runtime and the driver thread. `stop` stops every job (reported
    /// `Stopped`).
    pub async fn start(
        cfg: TrainingRunConfig,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<TrainingRunner> {
        let mut dirs = Vec::new();
        let mut imds = Vec::new();
        for (job, p) in cfg.spec.jobs.iter().zip(&cfg.processes) {
            match p {
                Some(p) => {
                    let c = contract(job, p);
                    let dir = JobDir::create(&cfg.root.join(&job.name), &c)?;
                    dirs.push(Some(dir));
                    imds.push(Some(Imds::start(&job.instance.name, cfg.seed).await?));
                }
                None => {
                    dirs.push(None);
                    imds.push(None);
                }
            }
        }
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let names = cfg.spec.jobs.iter().map(|j| j.name.clone()).collect();
        let status = Arc::new(Mutex::new(vec![None; cfg.spec.jobs.len()]));
        let shared = status.clone();
        let thread = std::thread::Builder::new()
            .name("gameday-training".into())
            .spawn(move || {
                let out = Driver::new(cfg, dirs, imds, stop, shared).run();
                flag.store(true, Ordering::SeqCst);
                out
            })?;
        Ok(TrainingRunner {
            thread,
            done,
            names,
            status,
        })
    }

    /// One line on where every job stands, like
    /// `retrain: Training step 120 (1 interruption)`.
    pub fn status_line(&self) -> String {
        let jobs = self.status.lock().expect("status lock");
        self.names
            .iter()
            .zip(jobs.iter())
            .map(|(name, p)| {
                let Some(p) = p else {
                    return format!("{name}: Starting");
                };
                let mut s = format!("{name}: {}", p.status.as_str());
                if p.step > 0 {
                    s.push_str(&format!(" step {}", p.step));
                }
                if p.interruptions > 0 {
                    let plural = if p.interruptions == 1 { "" } else { "s" };
                    s.push_str(&format!(" ({} interruption{plural})", p.interruptions));
                }
                s
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// True once every job has ended and every process is reaped.
    pub fn is_finished(&self) -> bool {
        self.done.load(Ordering::SeqCst)
    }

    /// Waits for the end.
    pub fn join(self) -> std::io::Result<TrainingRunOutput> {
        self.thread
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the training thread panicked")))
    }
}

fn contract<'a>(
    job: &'a gameday_core::training::TrainingJobSpec,
    p: &'a ProcessSpec,
) -> JobContract<'a> {
    JobContract {
        hyperparameters: &p.hyperparameters,
        channels: &p.channels,
        instance_type: &job.instance.name,
        gpus: p.gpus,
    }
}

struct Driver {
    cfg: TrainingRunConfig,
    clock: WallClock,
    core: Platform,
    dirs: Vec<Option<JobDir>>,
    imds: Vec<Option<Imds>>,
    procs: Vec<Option<Attempt>>,
    /// Latest attempt number started, per job.
    current: Vec<Option<u32>>,
    kill_at: Vec<Option<SimTime>>,
    events: Vec<TrainingEvent>,
    tx: mpsc::Sender<ProcessEvent>,
    rx: Receiver<ProcessEvent>,
    stop: Arc<AtomicBool>,
    status: Arc<Mutex<Vec<Option<JobProgress>>>>,
}

/// How often the driver looks at its processes and the stop flag.
const POLL: Duration = Duration::from_millis(20);

impl Driver {
    fn new(
        cfg: TrainingRunConfig,
        dirs: Vec<Option<JobDir>>,
        imds: Vec<Option<Imds>>,
        stop: Arc<AtomicBool>,
        status: Arc<Mutex<Vec<Option<JobProgress>>>>,
    ) -> Driver {
        let n = cfg.spec.jobs.len();
        let (tx, rx) = mpsc::channel();
        Driver {
            clock: WallClock::at(cfg.zero),
            core: {
                let mut p = Platform::with_training(
                    &PlatformSpec::default(),
                    &cfg.spec,
                    RngStreams::new(cfg.seed),
                );
                p.set_time_scale(cfg.scale);
                p
            },
            dirs,
            imds,
            procs: (0..n).map(|_| None).collect(),
            current: vec![None; n],
            kill_at: vec![None; n],
            events: Vec::new(),
            tx,
            rx,
            stop,
            status,
            cfg,
        }
    }

    fn run(mut self) -> std::io::Result<TrainingRunOutput> {
        let mut stopping = false;
        loop {
            let now = self.clock.now();
            self.drain(now);
            self.publish(now);
            let live = self.procs.iter().any(Option::is_some);
            if self.core.training_done() && !live {
                break;
            }
            if self.stop.load(Ordering::Relaxed) && !stopping {
                stopping = true;
                self.core.stop_training(now);
                continue;
            }
            let next = self
                .core
                .poll_timeout()
                .into_iter()
                .chain(self.kill_at.iter().flatten().copied())
                .min()
                .unwrap_or(SimTime::MAX);
            let wait = Duration::from_nanos(next.nanos_since(now)).min(POLL);
            match self.rx.recv_timeout(wait) {
                Ok(ev) => self.progress(ev),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => unreachable!("the driver holds a sender"),
            }
            let now = self.clock.now();
            self.reap(now);
            if self.core.poll_timeout().is_some_and(|at| at <= now) {
                self.core.handle_timeout(now);
                self.drain(now);
            }
            for job in 0..self.kill_at.len() {
                if self.kill_at[job].is_some_and(|t| t <= now) {
                    self.kill(job);
                }
            }
        }
        let ended_at = self.clock.now();
        let mut events = std::mem::take(&mut self.events);
        events.sort_by_key(|e| e.at);
        Ok(TrainingRunOutput {
            outcomes: self.core.training_outcomes(ended_at),
            events,
            ended_at,
            job_dirs: self
                .dirs
                .iter()
                .map(|d| d.as_ref().map(|d| d.root.clone()))
                .collect(),
        })
    }

    /// Shares where every job stands, for the progress line.
    fn publish(&self, now: SimTime) {
        let mut st = self.status.lock().expect("status lock");
        for (job, slot) in st.iter_mut().enumerate() {
            *slot = Some(self.core.training_progress(job, now));
        }
    }

    /// Collects timers, carries out actions, keeps events.
    fn drain(&mut self, now: SimTime) {
        loop {
            while let Some(e) = self.core.poll_training_event() {
                self.events.push(e);
            }
            let Some(a) = self.core.poll_action() else {
                break;
            };
            if let Action::Training(a) = a {
                self.act(now, a);
            }
        }
    }

    fn act(&mut self, now: SimTime, a: TrainingAction) {
        match a {
            TrainingAction::Start { job, attempt } => self.spawn(now, job, attempt),
            TrainingAction::Notice { job, reclaim_at } => {
                if let Some(imds) = &self.imds[job] {
                    imds.set_notice(unix_at(self.clock.instant(reclaim_at)));
                }
                if let Some(p) = &mut self.procs[job] {
                    p.terminate();
                }
            }
            TrainingAction::Kill { job } => self.kill(job),
            TrainingAction::Stop { job, mut grace } => {
                if self.stop.load(Ordering::Relaxed) {
                    grace = grace.min(self.cfg.stop_grace);
                }
                if let Some(p) = &mut self.procs[job] {
                    p.terminate();
                    self.kill_at[job] = Some(now + grace);
                }
            }
        }
    }

    fn spawn(&mut self, now: SimTime, job: usize, attempt: u32) {
        let (Some(dir), Some(p)) = (&self.dirs[job], &self.cfg.processes[job]) else {
            return;
        };
        if let Some(imds) = &self.imds[job] {
            imds.clear_notice();
        }
        let started = (|| {
            if attempt > 0 {
                dir.reset_for_restart()?;
            }
            let env = dir.env(
                &contract(&self.cfg.spec.jobs[job], p),
                self.imds[job].as_ref().map(Imds::url).as_deref(),
            );
            Attempt::spawn(
                &p.argv,
                &dir.root,
                &env,
                &dir.log_dir(),
                job,
                attempt,
                self.tx.clone(),
            )
        })();
        match started {
            Ok(a) => {
                self.procs[job] = Some(a);
                self.current[job] = Some(attempt);
            }
            Err(e) => {
                let _ = std::fs::write(
                    dir.log_dir().join(format!("attempt-{attempt}.spawn-error")),
                    e.to_string(),
                );
                self.core.handle_training_exit(now, job, false);
            }
        }
    }

    fn progress(&mut self, ev: ProcessEvent) {
        let now = self.clock.now();
        match ev {
            ProcessEvent::Step { job, attempt, step } if self.current[job] == Some(attempt) => {
                self.core.handle_training_step(now, job, step);
            }
            ProcessEvent::Checkpoint { job, attempt, step }
                if self.current[job] == Some(attempt) =>
            {
                self.core.handle_training_checkpoint(now, job, step);
            }
            _ => {}
        }
    }

    /// Notices processes that exited on their own.
    fn reap(&mut self, now: SimTime) {
        for job in 0..self.procs.len() {
            let exited = match &mut self.procs[job] {
                Some(p) => match p.try_wait() {
                    Ok(Some(status)) => Some(status.success()),
                    Ok(None) => None,
                    Err(_) => Some(false),
                },
                None => None,
            };
            if let Some(ok) = exited {
                // Progress lines still in the pipe count first.
                while let Ok(ev) = self.rx.try_recv() {
                    self.progress(ev);
                }
                self.procs[job] = None;
                self.kill_at[job] = None;
                self.core.handle_training_exit(now, job, ok);
                self.drain(now);
            }
        }
    }

    fn kill(&mut self, job: usize) {
        if let Some(mut p) = self.procs[job].take() {
            let _ = p.kill();
        }
        self.kill_at[job] = None;
    }
}

/// Seconds since the Unix epoch at `at` (for the IMDS notice).
#[allow(clippy::disallowed_methods)] // the notice carries a real date, as on EC2
fn unix_at(at: Instant) -> u64 {
    let now_sys = std::time::SystemTime::now();
    let now = Instant::now();
    let t = if at >= now {
        now_sys + (at - now)
    } else {
        now_sys - (now - at)
    };
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
