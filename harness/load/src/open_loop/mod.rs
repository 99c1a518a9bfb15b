//! The open-loop scheduler: every request has an intended send time drawn
//! from the core's arrival process (the same shapes and RNG streams the
//! simulator uses), and its latency is measured from that time, not from
//! when the generator got round to sending it (the wrk2 rule). A stalled
//! target therefore cannot hide its stall by slowing the generator down.
//!
//! Two parts, thread per core as wrk and oha's fast path are built:
//!
//! - [`pacer`]: a dedicated thread sleeps with the OS timer (tens of
//!   microseconds of slack, where tokio's wheel rounds to a millisecond)
//!   until requests fall due, and hands them, a batch per wake-up, to the
//!   shards in turn.
//! - [`shard`]: each shard is a thread with its own single-threaded tokio
//!   runtime, its own queue, its own workers and (over HTTP) its own
//!   keep-alive connections. A worker takes the next queued request, sends
//!   it, waits for the answer and records it; no task is spawned and no
//!   connection is opened per request, and nothing crosses threads but the
//!   batches. The pool grows as the target's latency demands, but not
//!   while the shard is short of CPU (see [`shard`]).
//!
//! How late each request left (its wait for the pacer and for a worker) is
//! recorded in an HDR histogram; a run whose generator fell behind is
//! flagged as suspect.

mod pacer;
mod shard;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use gameday_core::{ArrivalSpec, RequestResult, SimTime};
use hdrhistogram::Histogram;

use crate::now;
use crate::target::{record_of, CallResult, Invocation, ResultSink, Target};

/// One stream of traffic.
#[derive(Clone, Debug)]
pub struct LoadWorkload {
    /// Workload name (names its RNG stream, as in the simulator).
    pub name: String,
    /// Endpoint index (for results).
    pub endpoint: u16,
    /// Endpoint name (for the call).
    pub endpoint_name: Arc<str>,
    /// The endpoint's variant names, to map the invoked variant to an index.
    pub variant_names: Vec<String>,
    /// `X-Amzn-SageMaker-Target-Variant`: index and name.
    pub target_variant: Option<(u16, Arc<str>)>,
    /// When requests are scheduled.
    pub arrival: ArrivalSpec,
    /// Per-request timeout, counted from the intended send time.
    pub timeout: Duration,
    /// Payload content type.
    pub content_type: Arc<str>,
    /// Payload.
    pub body: Bytes,
    /// Multi-model endpoints: which model each request targets, and the
    /// models' names (the simulator's draw, from the same RNG stream).
    pub target_model: gameday_core::spec::TargetModel,
    /// The endpoint's model names, in model order (empty: single-model).
    pub model_names: Vec<Arc<str>>,
}

impl LoadWorkload {
    /// The call this workload sends (its target model set per request).
    pub fn invocation(&self) -> Invocation {
        Invocation {
            endpoint: self.endpoint_name.clone(),
            target_variant: self.target_variant.as_ref().map(|(_, n)| n.clone()),
            target_model: None,
            content_type: self.content_type.clone(),
            body: self.body.clone(),
        }
    }

    /// The next request's target model name, drawn with `rng` (the
    /// `models/{workload}` stream, as the simulator draws it).
    ///
    /// `k` counts the workload's requests (a trace's model column is read
    /// in order).
    pub fn draw_model(&self, k: u64, rng: &mut gameday_core::StreamRng) -> Option<Arc<str>> {
        let m = self.target_model.pick(k, rng)?;
        self.model_names.get(m as usize).cloned()
    }

    /// The recorder's result for one call intended at `sent_at` that took
    /// `latency` from then.
    pub fn record(&self, call: CallResult, sent_at: SimTime, latency: Duration) -> RequestResult {
        record_of(
            call,
            self.endpoint,
            &self.variant_names,
            self.target_variant.as_ref().map(|(v, _)| *v),
            sent_at,
            latency,
            self.timeout,
        )
    }
}

/// What to send.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// The workloads.
    pub workloads: Vec<LoadWorkload>,
    /// How long requests are scheduled.
    pub duration: Duration,
    /// Master seed.
    pub seed: u64,
    /// Most requests outstanding at once; past it the scheduler waits (and
    /// the wait shows in lag and latency, never hidden).
    pub max_in_flight: u64,
    /// Most requests sent in all: a hard bound on the loop.
    pub max_requests: u64,
    /// Generator threads (shards), at least 1. [`default_threads`] leaves
    /// half the machine to the target.
    pub threads: usize,
}

/// Generator threads for a machine: half its cores (at least one), so a
/// target on the same machine keeps the other half.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

/// Lag above which a send counts as late.
pub const LATE_AFTER: Duration = Duration::from_millis(1);
/// p99 send lag above which the run's numbers are suspect.
pub const SUSPECT_P99_LAG: Duration = Duration::from_millis(10);
pub use pacer::{LAG_PER_RATE, MAX_WAKE_GAP};
pub use shard::{
    EAGER_WORKERS, GROW_BURST, GROW_EVERY, LOAD_WINDOW, OWN_CPU_SHARE, SATURATED_BUSY,
    UNSATURATED_BUSY,
};

/// How well the generator kept its schedule.
#[derive(Clone, Debug)]
pub struct LoadStats {
    /// Requests scheduled within the duration (and before a stop).
    pub scheduled: u64,
    /// Requests actually sent.
    pub sent: u64,
    /// Send lag (actual − intended), microseconds.
    pub lag_us: Histogram<u64>,
    /// Sends more than [`LATE_AFTER`] behind schedule.
    pub late_sends: u64,
    /// Requests that found every one of `max_in_flight` workers busy and
    /// queued for one.
    pub in_flight_waits: u64,
    /// Workers started in all shards: the pool grows to the most calls the
    /// run had in flight at once.
    pub peak_workers: u64,
    /// Stopped before the end (Ctrl-C, or `max_requests`).
    pub stopped_early: bool,
}

impl LoadStats {
    fn new() -> Self {
        LoadStats {
            scheduled: 0,
            sent: 0,
            lag_us: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
            late_sends: 0,
            in_flight_waits: 0,
            peak_workers: 0,
            stopped_early: false,
        }
    }

    /// True when the generator could not keep up, so its latency numbers
    /// are not to be trusted: p99 lag past [`SUSPECT_P99_LAG`], or the
    /// in-flight bound was hit.
    pub fn suspect(&self) -> bool {
        self.lag_us.value_at_quantile(0.99) > SUSPECT_P99_LAG.as_micros() as u64
            || self.in_flight_waits > 0
    }
}

/// A running open-loop generator.
#[derive(Debug)]
pub struct OpenLoop {
    pacer: JoinHandle<()>,
    shared: Arc<Shared>,
}

impl OpenLoop {
    /// Starts the pacer and `cfg.threads` shards, each on its own thread.
    /// Results go to `results`; the run is over when
    /// [`OpenLoop::is_finished`] and [`OpenLoop::in_flight`] is zero.
    /// `zero` is time zero of the run; result `sent_at` is measured from it.
    pub fn start(
        cfg: LoadConfig,
        target: Arc<dyn Target>,
        zero: Instant,
        stop: Arc<AtomicBool>,
        results: ResultSink,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            workloads: cfg
                .workloads
                .iter()
                .map(|w| (w.clone(), w.invocation()))
                .collect(),
            results,
            stop,
            in_flight: AtomicU64::new(0),
            stats: Mutex::new(LoadStats::new()),
        });
        let threads = cfg.threads.max(1);
        let limits = shard::Limits {
            eager: EAGER_WORKERS.div_ceil(threads as u64),
            max: cfg.max_in_flight.div_ceil(threads as u64).max(1),
        };
        let shards = (0..threads)
            .map(|k| {
                let target = target.for_thread().unwrap_or_else(|| target.clone());
                shard::start(k, shared.clone(), target, limits)
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        let pacer = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("gameday-pacer".into())
                .spawn(move || pacer::pace(cfg, &shared, shards, zero))?
        };
        Ok(OpenLoop { pacer, shared })
    }

    /// Requests scheduled and not yet answered (queued or in flight).
    pub fn in_flight(&self) -> u64 {
        self.shared.in_flight.load(Ordering::Relaxed)
    }

    /// True once every request has been scheduled.
    pub fn is_finished(&self) -> bool {
        self.pacer.is_finished()
    }

    /// Waits for the pacer to finish scheduling; returns the stats, with
    /// every send recorded so far. Shards end on their own once their
    /// queues are empty and their calls answered or timed out.
    pub fn join(self) -> LoadStats {
        self.pacer.join().expect("pacer thread panicked");
        self.shared.stats().clone()
    }
}

/// A scheduled request: which workload, and when it was meant to leave.
#[derive(Debug)]
struct Job {
    workload: usize,
    intended: Instant,
    t: SimTime,
    /// Multi-model: the request's target model.
    model: Option<Arc<str>>,
}

/// What the pacer and every shard share.
#[derive(Debug)]
struct Shared {
    /// Each workload with the call it sends, built once.
    workloads: Vec<(LoadWorkload, Invocation)>,
    results: ResultSink,
    stop: Arc<AtomicBool>,
    /// Scheduled and not yet recorded.
    in_flight: AtomicU64,
    /// The run's stats: the pacer writes what it scheduled, the shards
    /// their workers, queueing and sends.
    stats: Mutex<LoadStats>,
}

impl Shared {
    fn stats(&self) -> std::sync::MutexGuard<'_, LoadStats> {
        self.stats.lock().expect("load stats lock")
    }

    /// Records that `job` leaves now, and how late.
    fn sending(&self, job: &Job) {
        let lag = now().saturating_duration_since(job.intended);
        let mut s = self.stats();
        s.sent += 1;
        s.lag_us.saturating_record(lag.as_micros() as u64);
        if lag > LATE_AFTER {
            s.late_sends += 1;
        }
    }
}
