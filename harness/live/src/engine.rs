//! The engine: the core's [`Platform`] on a thread of its own, driven by
//! the wall clock: endpoints and training jobs alike (a [`Trainer`] on
//! the same thread carries out the training actions), one thread for the
//! whole composed platform.
//!
//! HTTP handlers send it commands over a channel; it wakes for the next
//! command or the next timer the platform asked for, whichever is first
//! (a futex wait, precise to tens of microseconds, where tokio's timer
//! wheel rounds to a millisecond), and answers each request through a
//! one-shot channel tagged with the request id. The platform itself is the
//! same state machine the simulator drives.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use gameday_core::metrics::{Datapoint, Period, Totals};
use gameday_core::spec::{FaultSpec, PlatformSpec};
use gameday_core::{
    Action, ModelLoadAnswer, Platform, PlatformEvent, Request, RequestResult, RngStreams,
    ServiceStart, SimTime, TimeScale, VariantCost, VariantGauge,
};
use tokio::sync::oneshot;

use crate::clock::WallClock;
use crate::training::runner::Trainer;

/// The platform's state at one moment.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// When it was taken.
    pub at: SimTime,
    /// Every variant's fleet and queues.
    pub gauges: Vec<VariantGauge>,
    /// Events since the last draining snapshot.
    pub events: Vec<PlatformEvent>,
    /// Cost so far per variant.
    pub costs: Vec<VariantCost>,
    /// Time-average requests in each endpoint so far.
    pub mean_in_system: Vec<f64>,
    /// Every variant's CloudWatch metrics, endpoint by endpoint.
    pub metrics: Vec<VariantMetrics>,
    /// Every variant's fleet so far.
    pub fleet: Vec<gameday_core::hosting::FleetStats>,
    /// Autoscaling of each variant that has it.
    pub scaling: Vec<gameday_core::autoscaling::TargetReport>,
    /// Every multi-model variant's model cache so far.
    pub models: Vec<gameday_core::hosting::ModelStats>,
}

/// One variant's metrics as the core's metrics component has them.
#[derive(Clone, Copy, Debug, Default)]
pub struct VariantMetrics {
    /// Counts since the start.
    pub totals: Totals,
    /// The newest complete 60-second datapoint.
    pub standard: Option<Datapoint>,
    /// The newest complete 10-second datapoint.
    pub high_res: Option<Datapoint>,
    /// The fleet now: desired, in service, provisioning.
    pub fleet: gameday_core::hosting::FleetView,
    /// A multi-model variant: its model-cache metrics are exported.
    pub multi_model: bool,
}

/// One fault as `GET /_gameday/faults` lists it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FaultInfo {
    /// Its id (`DELETE /_gameday/faults/{id}` ends it).
    pub id: u32,
    /// The fault kind (`error_injection`, …).
    pub kind: String,
    /// `scheduled`, `active`, `ended` or `cancelled`.
    pub state: String,
    /// Endpoint name.
    pub endpoint: String,
    /// Variant name, when it targets one.
    pub variant: Option<String>,
    /// When it starts (or started), scenario seconds since the platform
    /// started.
    pub at_s: f64,
    /// How long it lasts, scenario seconds; `None`: until the end (or
    /// instantaneous).
    pub for_s: Option<f64>,
    /// True when it came from the scenario, false for an operator's.
    pub scheduled_by_scenario: bool,
}

/// What the engine answers an invocation with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The platform decided the request's fate (served by a modelled
    /// instance, failed, timed out).
    Done(RequestResult),
    /// Its service started on an instance whose model is a real process:
    /// forward it there, then [`EngineHandle::complete`] it.
    Started(ServiceStart),
}

/// An instance whose model runs as a real process came or went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifecycle {
    /// Launched (or in service from the start): start its process, and
    /// report it healthy once it answers `GET /ping`.
    Up {
        /// Instance id.
        instance: u32,
        /// Endpoint index.
        endpoint: u16,
        /// Variant index.
        variant: u16,
    },
    /// Crashed or terminated: stop its process.
    Down {
        /// Instance id.
        instance: u32,
    },
    /// Multi-model container: load a model (`POST /models`) and report
    /// with [`EngineHandle::model_load`].
    Load {
        /// Instance id.
        instance: u32,
        /// Endpoint index.
        endpoint: u16,
        /// Variant index.
        variant: u16,
        /// Model index.
        model: u32,
    },
    /// Multi-model container: unload a model (`DELETE /models/{name}`)
    /// and report with [`EngineHandle::model_unload`].
    Unload {
        /// Instance id.
        instance: u32,
        /// Endpoint index.
        endpoint: u16,
        /// Variant index.
        variant: u16,
        /// Model index.
        model: u32,
    },
}

/// What became of an external instance's model process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerHealth {
    /// It answered `GET /ping` with 200.
    Healthy,
    /// It exited on its own.
    Exited,
}

/// A closure run on the platform in the engine thread.
type PlatformCall = Box<dyn FnOnce(&mut Platform, SimTime) + Send>;

enum Command {
    Invoke(Request, oneshot::Sender<Reply>),
    Container(u32, ContainerHealth),
    Complete(ServiceStart, Result<(), u16>, oneshot::Sender<Reply>),
    Inject(Box<FaultSpec>, oneshot::Sender<u32>),
    ModelLoad(u32, u32, ModelLoadAnswer, u64),
    ModelUnload(u32, u64),
    Faults(oneshot::Sender<Vec<FaultInfo>>),
    EndFault(u32, oneshot::Sender<bool>),
    /// An embedded model refused a request the platform served.
    ModelRefused(RequestResult),
    /// A call on the platform itself (the Application Auto Scaling API);
    /// the closure answers over its own channel.
    With(PlatformCall),
    Snapshot {
        drain_events: bool,
        until: Option<SimTime>,
        reply: oneshot::Sender<Snapshot>,
    },
    Shutdown,
}

/// A handle to the engine thread; cheap to clone. The thread ends when
/// [`Engine::join`] is called or every handle is dropped.
#[derive(Clone, Debug)]
pub struct EngineHandle {
    tx: mpsc::Sender<Command>,
    clock: WallClock,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}

/// Why the engine could not answer.
#[derive(Debug, thiserror::Error)]
#[error("the platform engine has stopped")]
pub struct EngineGone;

impl EngineHandle {
    /// The clock the engine runs on.
    pub fn clock(&self) -> WallClock {
        self.clock
    }

    /// Hands a request to the platform; the receiver gets its result, or
    /// word that a real model process must serve it.
    pub fn invoke(&self, req: Request) -> Result<oneshot::Receiver<Reply>, EngineGone> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Invoke(req, tx))
            .map_err(|_| EngineGone)?;
        Ok(rx)
    }

    /// A real model process answered a started request (`Err(status)`
    /// for a non-200 answer, `Err(0)` for none); returns its result, or
    /// its next start (a multi-model container's 404 sends it back to
    /// wait for its model, then to a slot again).
    pub async fn complete(
        &self,
        start: ServiceStart,
        answer: Result<(), u16>,
    ) -> Result<Reply, EngineGone> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Complete(start, answer, tx))
            .map_err(|_| EngineGone)?;
        rx.await.map_err(|_| EngineGone)
    }

    /// Reports on the model process of external instance `instance`: a
    /// launched instance goes in service only once its process is healthy;
    /// one whose process exits is treated as crashed (the driver polls its
    /// processes, so it notices at once: no further detection delay).
    pub fn container(&self, instance: u32, health: ContainerHealth) -> Result<(), EngineGone> {
        self.tx
            .send(Command::Container(instance, health))
            .map_err(|_| EngineGone)
    }

    /// The multi-model container of `instance` answered the load of
    /// `model` after `took_ns`.
    pub fn model_load(
        &self,
        instance: u32,
        model: u32,
        answer: ModelLoadAnswer,
        took_ns: u64,
    ) -> Result<(), EngineGone> {
        self.tx
            .send(Command::ModelLoad(instance, model, answer, took_ns))
            .map_err(|_| EngineGone)
    }

    /// The multi-model container of `instance` unloaded a model in
    /// `took_ns`.
    pub fn model_unload(&self, instance: u32, took_ns: u64) -> Result<(), EngineGone> {
        self.tx
            .send(Command::ModelUnload(instance, took_ns))
            .map_err(|_| EngineGone)
    }

    /// The embedded model that answered `result` (served, as far as the
    /// platform is concerned) refused its input: the metrics count it as
    /// a 4XX.
    pub fn model_refused(&self, result: RequestResult) -> Result<(), EngineGone> {
        self.tx
            .send(Command::ModelRefused(result))
            .map_err(|_| EngineGone)
    }

    /// Starts a fault now; answers its index.
    pub async fn inject(&self, fault: FaultSpec) -> Result<u32, EngineGone> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Inject(Box::new(fault), tx))
            .map_err(|_| EngineGone)?;
        rx.await.map_err(|_| EngineGone)
    }

    /// Runs `f` on the platform in the engine thread, at the engine's
    /// time; answers what it returns.
    pub async fn with_platform<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Platform, SimTime) -> T + Send + 'static,
    ) -> Result<T, EngineGone> {
        let (tx, rx) = oneshot::channel();
        let call = move |p: &mut Platform, now: SimTime| {
            let _ = tx.send(f(p, now));
        };
        self.tx
            .send(Command::With(Box::new(call)))
            .map_err(|_| EngineGone)?;
        rx.await.map_err(|_| EngineGone)
    }

    /// Every fault, scheduled or injected, and where it stands.
    pub async fn faults(&self) -> Result<Vec<FaultInfo>, EngineGone> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Command::Faults(tx)).map_err(|_| EngineGone)?;
        rx.await.map_err(|_| EngineGone)
    }

    /// Ends fault `id` now; false when there is no such fault or it is
    /// already over.
    pub async fn end_fault(&self, id: u32) -> Result<bool, EngineGone> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::EndFault(id, tx))
            .map_err(|_| EngineGone)?;
        rx.await.map_err(|_| EngineGone)
    }

    /// The platform's state now. With `drain_events`, the events since the
    /// last draining snapshot come along (one consumer should drain).
    pub async fn snapshot(&self, drain_events: bool) -> Result<Snapshot, EngineGone> {
        self.snapshot_until(drain_events, None).await
    }

    /// Like [`EngineHandle::snapshot`], with cost and occupancy measured
    /// over `[0, until]` (or up to now, if that is sooner).
    pub async fn snapshot_until(
        &self,
        drain_events: bool,
        until: Option<SimTime>,
    ) -> Result<Snapshot, EngineGone> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Snapshot {
                drain_events,
                until,
                reply: tx,
            })
            .map_err(|_| EngineGone)?;
        rx.await.map_err(|_| EngineGone)
    }
}

/// How the engine's platform maps onto scenario time.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timeline {
    /// The scenario's time compression (its spec arrives compressed):
    /// faults an operator injects are compressed the same way, and faults
    /// are listed in scenario time.
    pub scale: TimeScale,
    /// The end of the run, real time since the start (the core's
    /// end-of-run rule: no faults or fleet changes past it); `None` for a
    /// game day that runs until stopped.
    pub end: Option<Duration>,
}

/// The engine thread; [`Engine::join`] stops it.
#[derive(Debug)]
pub struct Engine {
    handle: EngineHandle,
    thread: Option<JoinHandle<()>>,
}

impl Engine {
    /// Starts the platform now on its own thread.
    pub fn start(spec: &PlatformSpec, seed: u64, clock: WallClock) -> std::io::Result<Self> {
        Engine::start_with(spec, seed, clock, None, Timeline::default(), None)
    }

    /// Like [`Engine::start`]; instances of external variants are
    /// announced on `lifecycle` (those in service now first, then each
    /// launch, crash and termination), the platform runs on `timeline`,
    /// and with a `trainer` its training jobs run in the same platform,
    /// their processes driven from the same thread.
    pub fn start_with(
        spec: &PlatformSpec,
        seed: u64,
        clock: WallClock,
        lifecycle: Option<mpsc::Sender<Lifecycle>>,
        timeline: Timeline,
        trainer: Option<Trainer>,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let no_training = gameday_core::training::TrainingSpec::default();
        let training = trainer.as_ref().map_or(&no_training, Trainer::spec);
        let mut platform = Platform::with_training(spec, training, RngStreams::new(seed));
        if let Some(end) = timeline.end {
            platform.set_end(SimTime::ZERO + end);
        }
        platform.set_time_scale(timeline.scale);
        let thread = std::thread::Builder::new()
            .name("gameday-engine".into())
            .spawn(move || run(platform, rx, clock, lifecycle, timeline.scale, trainer))?;
        Ok(Engine {
            handle: EngineHandle { tx, clock },
            thread: Some(thread),
        })
    }

    /// A handle for handlers and drivers.
    pub fn handle(&self) -> EngineHandle {
        self.handle.clone()
    }

    /// Stops the engine thread and waits for it. Requests still inside
    /// the platform get no answer (their handlers see the engine gone).
    pub fn join(mut self) {
        let _ = self.handle.tx.send(Command::Shutdown);
        let thread = self.thread.take();
        drop(self);
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

/// Most commands handled before timers are looked at again.
const BATCH: usize = 256;

/// Requests handed to real model processes: their result, once the
/// platform has one (a crash may decide it before the process answers).
type Started = BTreeMap<u64, Option<RequestResult>>;

/// Instances of external variants are announced here.
type Watch = Option<mpsc::Sender<Lifecycle>>;

struct State {
    /// Faults `0..scheduled_faults` came from the scenario.
    scheduled_faults: usize,
    pending: BTreeMap<u64, oneshot::Sender<Reply>>,
    started: Started,
    events: Vec<PlatformEvent>,
    watch: Watch,
    trainer: Option<Trainer>,
    clock: WallClock,
}

impl State {
    fn drain(&mut self, platform: &mut Platform, now: SimTime) {
        loop {
            while let Some(a) = platform.poll_action() {
                match a {
                    // A spawn that fails reports an exit: more to drain.
                    Action::Training(a) => {
                        if let Some(t) = &mut self.trainer {
                            t.act(platform, &self.clock, a);
                        }
                    }
                    a => self.act(a),
                }
            }
            while let Some(e) = platform.poll_training_event() {
                if let Some(t) = &mut self.trainer {
                    t.event(e);
                }
            }
            while let Some(r) = platform.poll_result() {
                if let Some(tx) = self.pending.remove(&r.id) {
                    let _ = tx.send(Reply::Done(r)); // the client may have gone
                } else if let Some(slot) = self.started.get_mut(&r.id) {
                    *slot = Some(r);
                }
            }
            while let Some(e) = platform.poll_event() {
                self.events.push(e);
            }
            let Some(st) = platform.poll_start() else {
                break;
            };
            let delivered = match self.pending.remove(&st.id) {
                Some(tx) => tx.send(Reply::Started(st)).is_ok(),
                None => false,
            };
            if delivered {
                self.started.insert(st.id, None);
            } else {
                // Nobody is waiting any more: free the slot at once.
                platform.handle_completion(now, st, Err(0));
            }
        }
    }

    /// Carries out what the platform decided about a model server.
    fn act(&self, a: Action) {
        let Some(tx) = &self.watch else {
            return;
        };
        let msg = match a {
            Action::StartModelServer {
                instance,
                endpoint,
                variant,
            } => Lifecycle::Up {
                instance,
                endpoint,
                variant,
            },
            Action::StopModelServer { instance } => Lifecycle::Down { instance },
            Action::LoadModel {
                instance,
                endpoint,
                variant,
                model,
            } => Lifecycle::Load {
                instance,
                endpoint,
                variant,
                model,
            },
            Action::UnloadModel {
                instance,
                endpoint,
                variant,
                model,
            } => Lifecycle::Unload {
                instance,
                endpoint,
                variant,
                model,
            },
            Action::Training(_) => return, // the trainer's (see `drain`)
        };
        let _ = tx.send(msg);
    }
}

fn fault_infos(
    platform: &Platform,
    now: SimTime,
    scheduled: usize,
    scale: TimeScale,
) -> Vec<FaultInfo> {
    let names: Vec<(&str, Vec<&str>)> = platform.names().collect();
    platform
        .faults(now)
        .into_iter()
        .map(|(id, f, state)| {
            let f = scale.fault_to_scenario(f);
            let (endpoint, variants) = &names[f.target.endpoint];
            FaultInfo {
                id,
                kind: f.kind.as_str().into(),
                state: state.as_str().into(),
                endpoint: (*endpoint).into(),
                variant: f.target.variant.map(|v| variants[v].to_string()),
                at_s: f.at.as_secs_f64(),
                for_s: f.duration.map(|d| d.as_secs_f64()),
                scheduled_by_scenario: (id as usize) < scheduled,
            }
        })
        .collect()
}

fn run(
    mut platform: Platform,
    rx: mpsc::Receiver<Command>,
    clock: WallClock,
    watch: Watch,
    scale: TimeScale,
    trainer: Option<Trainer>,
) {
    let mut st = State {
        scheduled_faults: platform.faults(SimTime::ZERO).len(),
        pending: BTreeMap::new(),
        started: BTreeMap::new(),
        events: Vec::new(),
        watch,
        trainer,
        clock,
    };
    st.drain(&mut platform, clock.now());

    loop {
        let now = clock.now();
        let wake = platform
            .poll_timeout()
            .into_iter()
            .chain(st.trainer.as_ref().and_then(|t| t.wake_by(now)))
            .min();
        let first = match wake {
            Some(at) => {
                let now = clock.now();
                if at <= now {
                    None
                } else {
                    match rx.recv_timeout(Duration::from_nanos(at.nanos_since(now))) {
                        Ok(c) => Some(c),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            }
            None => match rx.recv() {
                Ok(c) => Some(c),
                Err(_) => return,
            },
        };
        let mut next = first;
        let mut handled = 0;
        while let Some(cmd) = next.take() {
            let now = clock.now();
            match cmd {
                Command::Invoke(req, reply) => {
                    st.pending.insert(req.id, reply);
                    platform.handle_request(now, req);
                }
                Command::Complete(start, answer, reply) => {
                    match st.started.remove(&start.id) {
                        // A crash decided it before the process answered.
                        Some(Some(r)) => {
                            let _ = reply.send(Reply::Done(r));
                        }
                        _ => {
                            // Its result, or its next start, goes here.
                            st.pending.insert(start.id, reply);
                        }
                    }
                    platform.handle_completion(now, start, answer);
                }
                Command::Container(instance, ContainerHealth::Healthy) => {
                    platform.handle_container_healthy(now, instance);
                }
                Command::Container(instance, ContainerHealth::Exited) => {
                    platform.handle_container_exit(now, instance);
                }
                Command::Shutdown => return,
                Command::ModelLoad(instance, model, answer, took) => {
                    platform.handle_model_load(now, instance, model, answer, took);
                }
                Command::ModelUnload(instance, took) => {
                    platform.handle_model_unload(now, instance, took);
                }
                Command::With(f) => f(&mut platform, now),
                Command::Inject(fault, reply) => {
                    // An operator speaks in scenario time, like the scenario.
                    let _ = reply.send(platform.handle_fault(now, scale.fault(&fault)));
                }
                Command::Faults(reply) => {
                    let _ = reply.send(fault_infos(&platform, now, st.scheduled_faults, scale));
                }
                Command::EndFault(id, reply) => {
                    let _ = reply.send(platform.handle_end_fault(now, id));
                }
                Command::ModelRefused(r) => {
                    let at = r.sent_at.add_nanos(r.latency_ns);
                    platform.handle_model_refusal(at, r.endpoint, r.variant);
                }
                Command::Snapshot {
                    drain_events,
                    until,
                    reply,
                } => {
                    let upto = until.map_or(now, |u| u.min(now));
                    let mut gauges = Vec::new();
                    platform.gauges(&mut gauges);
                    let n = platform.names().count();
                    let variants: Vec<(u16, u16, bool)> = gauges
                        .iter()
                        .map(|g| (g.endpoint, g.variant, g.loaded_models.is_some()))
                        .collect();
                    let metrics = variants
                        .into_iter()
                        .map(|(e, v, multi_model)| VariantMetrics {
                            multi_model,
                            totals: platform.metric_totals(e, v),
                            standard: platform.latest_datapoint(now, e, v, Period::Standard),
                            high_res: platform.latest_datapoint(now, e, v, Period::HighResolution),
                            fleet: platform.fleet(e, v),
                        })
                        .collect();
                    let snap = Snapshot {
                        metrics,
                        at: now,
                        gauges,
                        events: if drain_events {
                            std::mem::take(&mut st.events)
                        } else {
                            Vec::new()
                        },
                        costs: platform.cost(upto),
                        fleet: platform.fleet_stats(upto),
                        scaling: platform.scaling(),
                        models: platform.model_stats(upto),
                        mean_in_system: (0..n).map(|e| platform.mean_in_system(e, upto)).collect(),
                    };
                    let _ = reply.send(snap);
                }
            }
            st.drain(&mut platform, now);
            handled += 1;
            if handled < BATCH {
                next = rx.try_recv().ok();
            }
        }
        // Everything due by now, in (time, insertion) order.
        let now = clock.now();
        if platform.poll_timeout().is_some_and(|at| at <= now) {
            platform.handle_timeout(now);
            st.drain(&mut platform, now);
        }
        // Training processes: their progress and exits, SIGKILLs due.
        if let Some(mut t) = st.trainer.take() {
            t.tend(&mut platform, &clock);
            st.trainer = Some(t);
            st.drain(&mut platform, clock.now());
        }
        if st.events.len() > 100_000 {
            st.events.drain(..50_000); // nobody is draining: keep memory bounded
        }
    }
}
