//! The open-loop scheduler: every request has an intended send time drawn
//! from the core's arrival process (the same shapes and RNG streams the
//! simulator uses), and its latency is measured from that time, not from
//! when the generator got round to sending it (the wrk2 rule). A stalled
//! target therefore cannot hide its stall by slowing the generator down.
//!
//! Sends are paced by a dedicated thread that sleeps with the OS timer
//! (tens of microseconds of slack, where tokio's wheel rounds to a
//! millisecond) and hands each request to the tokio runtime. How late each
//! send left is recorded in an HDR histogram; a run whose generator fell
//! behind is flagged as suspect.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use gameday_core::{ArrivalProcess, ArrivalSpec, RngStreams, SimTime};
use hdrhistogram::Histogram;

use crate::target::{record_of, Invocation, ResultSink, Target};

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
}

/// Lag above which a send counts as late.
pub const LATE_AFTER: Duration = Duration::from_millis(1);
/// p99 send lag above which the run's numbers are suspect.
pub const SUSPECT_P99_LAG: Duration = Duration::from_millis(10);

/// How well the generator kept its schedule.
#[derive(Clone, Debug)]
pub struct LoadStats {
    /// Requests scheduled within the duration.
    pub scheduled: u64,
    /// Requests actually sent.
    pub sent: u64,
    /// Send lag (actual − intended), microseconds.
    pub lag_us: Histogram<u64>,
    /// Sends more than [`LATE_AFTER`] behind schedule.
    pub late_sends: u64,
    /// Times the scheduler waited because `max_in_flight` was reached.
    pub in_flight_waits: u64,
    /// Stopped before the end (Ctrl-C, or `max_requests`).
    pub stopped_early: bool,
}

impl LoadStats {
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
    thread: JoinHandle<LoadStats>,
    in_flight: Arc<AtomicU64>,
}

impl OpenLoop {
    /// Starts pacing on its own thread; requests run on `rt`. Results go
    /// to `results`; the run is over when [`OpenLoop::is_finished`] and
    /// [`OpenLoop::in_flight`] is zero.
    /// `zero` is time zero of the run; result `sent_at` is measured from it.
    pub fn start(
        cfg: LoadConfig,
        target: Arc<dyn Target>,
        rt: tokio::runtime::Handle,
        zero: Instant,
        stop: Arc<AtomicBool>,
        results: ResultSink,
    ) -> std::io::Result<Self> {
        let in_flight = Arc::new(AtomicU64::new(0));
        let counter = in_flight.clone();
        let thread = std::thread::Builder::new()
            .name("gameday-pacer".into())
            .spawn(move || pace(cfg, target, rt, zero, stop, results, counter))?;
        Ok(OpenLoop { thread, in_flight })
    }

    /// Requests outstanding now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// True once every request has been scheduled.
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Waits for the scheduler to finish scheduling; returns its stats.
    pub fn join(self) -> LoadStats {
        self.thread.join().expect("pacer thread panicked")
    }
}

struct Source {
    w: LoadWorkload,
    names: Arc<[String]>,
    process: ArrivalProcess,
    rng: gameday_core::StreamRng,
    next: Option<SimTime>,
}

#[allow(clippy::disallowed_methods)] // the pacer reads the real clock by design
fn now() -> Instant {
    Instant::now()
}

fn pace(
    cfg: LoadConfig,
    target: Arc<dyn Target>,
    rt: tokio::runtime::Handle,
    zero: Instant,
    stop: Arc<AtomicBool>,
    results: ResultSink,
    in_flight: Arc<AtomicU64>,
) -> LoadStats {
    let streams = RngStreams::new(cfg.seed);
    let end = SimTime::ZERO + cfg.duration;
    let mut sources: Vec<Source> = cfg
        .workloads
        .iter()
        .filter(|w| !w.arrival.is_closed_loop()) // users run as their own tasks
        .map(|w| {
            let mut s = Source {
                w: w.clone(),
                names: w.variant_names.clone().into(),
                process: ArrivalProcess::new(w.arrival.clone()),
                rng: streams.stream(&format!("arrival/{}", w.name)),
                next: None,
            };
            s.next = s.process.next_arrival(&mut s.rng).filter(|&t| t < end);
            s
        })
        .collect();
    let mut batch: Vec<Request> = Vec::with_capacity(MAX_BATCH);
    let mut stats = LoadStats {
        scheduled: 0,
        sent: 0,
        lag_us: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
        late_sends: 0,
        in_flight_waits: 0,
        stopped_early: false,
    };
    while let Some((i, t)) = sources
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.next.map(|t| (i, t)))
        .min_by_key(|&(i, t)| (t, i))
    {
        if stop.load(Ordering::Relaxed) || stats.sent >= cfg.max_requests {
            stats.stopped_early = true;
            break;
        }
        let intended = zero + Duration::from_nanos(t.as_nanos());
        // Sleep in slices so a stop is noticed within 50 ms.
        loop {
            let n = now();
            if n >= intended {
                break;
            }
            flush(&rt, &mut batch);
            std::thread::sleep((intended - n).min(Duration::from_millis(50)));
            if stop.load(Ordering::Relaxed) {
                break;
            }
        }
        if batch.len() >= MAX_BATCH {
            flush(&rt, &mut batch);
        }
        while in_flight.load(Ordering::Relaxed) >= cfg.max_in_flight
            && !stop.load(Ordering::Relaxed)
        {
            flush(&rt, &mut batch);
            stats.in_flight_waits += 1;
            std::thread::sleep(Duration::from_micros(200));
        }
        if stop.load(Ordering::Relaxed) {
            stats.stopped_early = true;
            break;
        }
        let sent = now();
        let lag = sent.saturating_duration_since(intended);
        stats.lag_us.saturating_record(lag.as_micros() as u64);
        if lag > LATE_AFTER {
            stats.late_sends += 1;
        }
        stats.scheduled += 1;
        stats.sent += 1;

        let s = &mut sources[i];
        let inv = Invocation {
            endpoint: s.w.endpoint_name.clone(),
            target_variant: s.w.target_variant.as_ref().map(|(_, n)| n.clone()),
            content_type: s.w.content_type.clone(),
            body: s.w.body.clone(),
        };
        let endpoint = s.w.endpoint;
        let fixed_variant = s.w.target_variant.as_ref().map(|(v, _)| *v);
        let names = s.names.clone();
        let timeout = s.w.timeout;
        let fut = target.invoke(inv);
        let sink = results.clone();
        let counter = in_flight.clone();
        counter.fetch_add(1, Ordering::Relaxed);
        batch.push(Box::pin(async move {
            let deadline = intended + timeout;
            let answer = tokio::time::timeout_at(deadline.into(), fut).await;
            let latency = now().saturating_duration_since(intended);
            sink.push(record_of(
                answer,
                endpoint,
                &names,
                fixed_variant,
                t,
                latency,
                timeout,
            ));
            counter.fetch_sub(1, Ordering::Relaxed);
        }));
        s.next = s.process.next_arrival(&mut s.rng).filter(|&t| t < end);
    }
    flush(&rt, &mut batch);
    stats
}

/// One request's whole life: send, wait, record.
type Request = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Most requests handed to the runtime at once.
const MAX_BATCH: usize = 64;

/// Hands every due request to the runtime in one cross-thread spawn (each
/// foreign spawn wakes a worker; at tens of thousands of requests a second
/// those wake-ups, not the requests, were the generator's cost). The
/// batch's task spawns each request from inside the runtime. Called
/// before the pacer sleeps, so batching never delays a send.
fn flush(rt: &tokio::runtime::Handle, batch: &mut Vec<Request>) {
    if batch.is_empty() {
        return;
    }
    let due = std::mem::replace(batch, Vec::with_capacity(MAX_BATCH));
    rt.spawn(async move {
        for r in due {
            tokio::spawn(r);
        }
    });
}
