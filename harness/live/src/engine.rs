//! The engine: the core's [`Platform`] on a thread of its own, driven by
//! the wall clock.
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

use gameday_core::spec::{FaultSpec, PlatformSpec};
use gameday_core::{
    Platform, PlatformEvent, Request, RequestResult, RngStreams, SimTime, Timer, VariantCost,
    VariantGauge,
};
use tokio::sync::oneshot;

use crate::clock::WallClock;

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
}

enum Command {
    Invoke(Request, oneshot::Sender<RequestResult>),
    Inject(Box<FaultSpec>, oneshot::Sender<u32>),
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

    /// Hands a request to the platform; the receiver gets its result.
    pub fn invoke(&self, req: Request) -> Result<oneshot::Receiver<RequestResult>, EngineGone> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Invoke(req, tx))
            .map_err(|_| EngineGone)?;
        Ok(rx)
    }

    /// Starts a fault now; answers its index.
    pub async fn inject(&self, fault: FaultSpec) -> Result<u32, EngineGone> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Inject(Box::new(fault), tx))
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

/// The engine thread; [`Engine::join`] stops it.
#[derive(Debug)]
pub struct Engine {
    handle: EngineHandle,
    thread: Option<JoinHandle<()>>,
}

impl Engine {
    /// Starts the platform now on its own thread.
    pub fn start(spec: &PlatformSpec, seed: u64, clock: WallClock) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let platform = Platform::new(spec, RngStreams::new(seed));
        let thread = std::thread::Builder::new()
            .name("gameday-engine".into())
            .spawn(move || run(platform, rx, clock))?;
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

fn run(mut platform: Platform, rx: mpsc::Receiver<Command>, clock: WallClock) {
    let mut timers: BTreeMap<(SimTime, u64), Timer> = BTreeMap::new();
    let mut seq = 0u64;
    let mut pending: BTreeMap<u64, oneshot::Sender<RequestResult>> = BTreeMap::new();
    let mut events: Vec<PlatformEvent> = Vec::new();
    let mut drain = |platform: &mut Platform,
                     timers: &mut BTreeMap<(SimTime, u64), Timer>,
                     pending: &mut BTreeMap<u64, oneshot::Sender<RequestResult>>,
                     events: &mut Vec<PlatformEvent>| {
        while let Some((at, t)) = platform.poll_timer() {
            timers.insert((at, seq), t);
            seq += 1;
        }
        while let Some(r) = platform.poll_result() {
            if let Some(tx) = pending.remove(&r.id) {
                let _ = tx.send(r); // the client may have gone
            }
        }
        while let Some(e) = platform.poll_event() {
            events.push(e);
        }
    };
    drain(&mut platform, &mut timers, &mut pending, &mut events);

    loop {
        let first = match timers.first_key_value() {
            Some((&(at, _), _)) => {
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
                    pending.insert(req.id, reply);
                    platform.handle_request(now, req);
                }
                Command::Shutdown => return,
                Command::Inject(fault, reply) => {
                    let _ = reply.send(platform.inject_fault(now, *fault));
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
                    let snap = Snapshot {
                        at: now,
                        gauges,
                        events: if drain_events {
                            std::mem::take(&mut events)
                        } else {
                            Vec::new()
                        },
                        costs: platform.cost(upto),
                        mean_in_system: (0..n).map(|e| platform.mean_in_system(e, upto)).collect(),
                    };
                    let _ = reply.send(snap);
                }
            }
            drain(&mut platform, &mut timers, &mut pending, &mut events);
            handled += 1;
            if handled < BATCH {
                next = rx.try_recv().ok();
            }
        }
        // Everything due by now, in (time, insertion) order.
        let now = clock.now();
        while let Some(entry) = timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let t = entry.remove();
            platform.handle_timer(now, t);
            drain(&mut platform, &mut timers, &mut pending, &mut events);
        }
        if events.len() > 100_000 {
            events.drain(..50_000); // nobody is draining: keep memory bounded
        }
    }
}
