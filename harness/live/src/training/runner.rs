//! The wall-clock training driver: real processes under the training
//! contract and one IMDS endpoint per job for the spot notice, carried
//! out by the platform engine's thread (the training jobs live in the same
//! composed core as the endpoints: one engine thread drives all of it).
//!
//! The core decides (capacity, notices, reclaims, limits); the
//! [`Trainer`] carries its [`TrainingAction`]s out: start an attempt,
//! publish the notice and SIGTERM, SIGKILL at the reclaim, SIGTERM then
//! SIGKILL after the grace on `max_run`/`max_wait`. When the harness is
//! asked to stop, every job is stopped the same way with a short grace,
//! and every child is reaped before the run's output is handed over:
//! nothing is left running.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gameday_core::training::JobProgress;
use gameday_core::training::{TrainingAction, TrainingSpec};
use gameday_core::{Platform, SimTime, TrainingEvent, TrainingOutcome};

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
    /// Master seed (the IMDS identity documents draw from it).
    pub seed: u64,
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

/// A training run in progress: the handle the caller keeps while the
/// engine's [`Trainer`] runs the jobs.
#[derive(Debug)]
pub struct TrainingRunner {
    names: Vec<String>,
    shared: Arc<Shared>,
}

/// What the trainer shares with its runner handle.
#[derive(Debug, Default)]
struct Shared {
    /// Where every job stands, for the progress line.
    status: Mutex<Vec<Option<JobProgress>>>,
    /// Set once every job has ended and every process is reaped (or the
    /// engine went away).
    done: std::sync::atomic::AtomicBool,
    output: Mutex<Option<TrainingRunOutput>>,
}

impl TrainingRunner {
    /// Lays out job folders and starts IMDS endpoints on the current tokio
    /// runtime. Hand the [`Trainer`] to the engine that drives the
    /// platform (`Engine::start_with`, `Server::start_with`); `stop` stops
    /// every job (reported `Stopped`).
    pub async fn prepare(
        cfg: TrainingRunConfig,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<(TrainingRunner, Trainer)> {
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
        let n = cfg.spec.jobs.len();
        let shared = Arc::new(Shared {
            status: Mutex::new(vec![None; n]),
            ..Shared::default()
        });
        let names = cfg.spec.jobs.iter().map(|j| j.name.clone()).collect();
        let (tx, rx) = mpsc::channel();
        let trainer = Trainer {
            dirs,
            imds,
            procs: (0..n).map(|_| None).collect(),
            current: vec![None; n],
            kill_at: vec![None; n],
            events: Vec::new(),
            tx,
            rx,
            stop,
            stopping: false,
            finished: false,
            shared: shared.clone(),
            cfg,
        };
        Ok((TrainingRunner { names, shared }, trainer))
    }

    /// One line on where every job stands, like
    /// `retrain: Training step 120 (1 interruption)`.
    pub fn status_line(&self) -> String {
        let jobs = self.shared.status.lock().expect("status lock");
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
        self.shared.done.load(Ordering::SeqCst)
    }

    /// Waits for the end (blocking: call it from a blocking thread). The
    /// engine must still be running: stop it only after this returns.
    pub fn join(self) -> std::io::Result<TrainingRunOutput> {
        while !self.is_finished() {
            std::thread::sleep(POLL);
        }
        self.shared
            .output
            .lock()
            .expect("output lock")
            .take()
            .ok_or_else(|| {
                std::io::Error::other("the engine stopped before the training jobs ended")
            })
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

/// The training jobs' processes, on the engine thread: it carries out the
/// core's training actions and reports what the processes do.
#[derive(Debug)]
pub struct Trainer {
    cfg: TrainingRunConfig,
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
    stopping: bool,
    finished: bool,
    shared: Arc<Shared>,
}

/// How often the engine looks at training processes and the stop flag.
pub(crate) const POLL: Duration = Duration::from_millis(20);

impl Trainer {
    /// The jobs and faults (compressed) the platform is built with.
    pub(crate) fn spec(&self) -> &TrainingSpec {
        &self.cfg.spec
    }

    /// Keeps a training event for the run's output.
    pub(crate) fn event(&mut self, e: TrainingEvent) {
        self.events.push(e);
    }

    /// When the engine must look again, if ever: the next SIGKILL due, and
    /// at least every [`POLL`] while jobs run.
    pub(crate) fn wake_by(&self, now: SimTime) -> Option<SimTime> {
        if self.finished {
            return None;
        }
        self.kill_at
            .iter()
            .flatten()
            .copied()
            .chain(std::iter::once(now + POLL))
            .min()
    }

    /// Looks at the processes: progress they printed, the stop flag,
    /// processes that exited, SIGKILLs due. Drain the platform's actions
    /// after it (into [`Trainer::act`]).
    pub(crate) fn tend(&mut self, core: &mut Platform, clock: &WallClock) {
        if self.finished {
            return;
        }
        while let Ok(ev) = self.rx.try_recv() {
            self.progress(core, clock.now(), ev);
        }
        let now = clock.now();
        if self.stop.load(Ordering::Relaxed) && !self.stopping {
            self.stopping = true;
            core.stop_training(now);
            return; // its actions first
        }
        self.reap(core, now);
        for job in 0..self.kill_at.len() {
            if self.kill_at[job].is_some_and(|t| t <= now) {
                self.kill(job);
            }
        }
        self.publish(core, now);
        if core.training_done() && self.procs.iter().all(Option::is_none) {
            self.finish(core, now);
        }
    }

    /// Every job ended and every process is reaped: hands the output over.
    fn finish(&mut self, core: &Platform, now: SimTime) {
        self.finished = true;
        let mut events = std::mem::take(&mut self.events);
        events.sort_by_key(|e| e.at);
        let out = TrainingRunOutput {
            outcomes: core.training_outcomes(now),
            events,
            ended_at: now,
            job_dirs: self
                .dirs
                .iter()
                .map(|d| d.as_ref().map(|d| d.root.clone()))
                .collect(),
        };
        *self.shared.output.lock().expect("output lock") = Some(out);
        self.shared.done.store(true, Ordering::SeqCst);
    }

    /// Shares where every job stands, for the progress line.
    fn publish(&self, core: &Platform, now: SimTime) {
        let mut st = self.shared.status.lock().expect("status lock");
        for (job, slot) in st.iter_mut().enumerate() {
            *slot = Some(core.training_progress(job, now));
        }
    }

    /// Carries out one of the core's training actions.
    pub(crate) fn act(&mut self, core: &mut Platform, clock: &WallClock, a: TrainingAction) {
        let now = clock.now();
        match a {
            TrainingAction::Start { job, attempt } => self.spawn(core, now, job, attempt),
            TrainingAction::Notice { job, reclaim_at } => {
                if let Some(imds) = &self.imds[job] {
                    imds.set_notice(unix_at(clock.instant(reclaim_at)));
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

    fn spawn(&mut self, core: &mut Platform, now: SimTime, job: usize, attempt: u32) {
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
                core.handle_training_exit(now, job, false);
            }
        }
    }

    fn progress(&mut self, core: &mut Platform, now: SimTime, ev: ProcessEvent) {
        match ev {
            ProcessEvent::Step { job, attempt, step } if self.current[job] == Some(attempt) => {
                core.handle_training_step(now, job, step);
            }
            ProcessEvent::Checkpoint { job, attempt, step }
                if self.current[job] == Some(attempt) =>
            {
                core.handle_training_checkpoint(now, job, step);
            }
            _ => {}
        }
    }

    /// Notices processes that exited on their own.
    fn reap(&mut self, core: &mut Platform, now: SimTime) {
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
                    self.progress(core, now, ev);
                }
                self.procs[job] = None;
                self.kill_at[job] = None;
                core.handle_training_exit(now, job, ok);
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

impl Drop for Trainer {
    /// The engine is going away: nothing is left running, and a runner
    /// still waiting hears that the jobs did not end.
    fn drop(&mut self) {
        for job in 0..self.procs.len() {
            self.kill(job);
        }
        self.shared.done.store(true, Ordering::SeqCst);
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
