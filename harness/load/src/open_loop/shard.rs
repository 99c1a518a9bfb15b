//! One generator thread: a single-threaded tokio runtime that takes the
//! pacer's batches, queues each request and serves the queue with a pool
//! of workers. Everything a request touches (its worker, its connection,
//! the timer of its timeout) lives on this thread, so serving it wakes no
//! other thread.
//!
//! The pool grows whenever more requests are queued than workers are idle,
//! so a slow or stalled target gets every request on schedule (concurrency
//! is whatever the target's latency demands, up to the in-flight bound).
//! Past [`EAGER_WORKERS`] it grows by at most one worker per
//! [`GROW_EVERY`], and not at all while the shard is short of CPU: a
//! generator that cannot keep up would otherwise answer its own backlog by
//! opening ever more connections, which costs more CPU and never catches
//! up. Its backlog then waits in the queue, where the wait is measured.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::task::JoinSet;

use super::{Job, Shared};
use crate::now;
use crate::target::{CallResult, Target};

/// Workers started as soon as they are wanted, all shards together.
pub const EAGER_WORKERS: u64 = 64;
/// Past [`EAGER_WORKERS`], a shard's pool grows by at most one worker this
/// often on average, and only while the shard has spare time (see
/// [`SATURATED_BUSY`]).
pub const GROW_EVERY: Duration = Duration::from_micros(250);
/// Most growth allowance a shard saves up (workers).
pub const GROW_BURST: f64 = 64.0;
/// Share of the last [`LOAD_WINDOW`] the shard wanted the CPU (working, or
/// waiting for a CPU, see [`OWN_CPU_SHARE`]) past which it counts as short
/// of CPU. One keeping up
/// is busy well under half the time; one falling behind, 0.6 to 1.
pub const SATURATED_BUSY: f64 = 0.7;
/// Share of the window a shard must itself have run on a CPU before its
/// time waiting for one counts toward [`SATURATED_BUSY`].
pub const OWN_CPU_SHARE: f64 = 0.3;
/// Busy share below which a saturated shard counts as recovered.
pub const UNSATURATED_BUSY: f64 = 0.5;
/// How often a shard's busy share is measured.
pub const LOAD_WINDOW: Duration = Duration::from_millis(20);

/// Due requests, handed from the pacer thread to a shard in one
/// cross-thread wake-up.
pub(super) type Batch = Vec<Job>;

/// A shard's pool bounds.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    /// Workers started without the CPU check.
    pub eager: u64,
    /// Most workers (so most calls in flight).
    pub max: u64,
}

/// The pacer's end of a shard.
#[derive(Debug)]
pub(super) struct Shard {
    batches: UnboundedSender<Batch>,
}

impl Shard {
    /// Hands `batch` to the shard. A shard whose thread has ended (only
    /// after a panic) drops it: those requests can no longer be sent.
    pub fn send(&self, batch: Batch) {
        let _ = self.batches.send(batch);
    }
}

/// Starts shard `k` on its own thread. It runs until the pacer drops its
/// end and every queued request is served (or dropped after a stop).
pub(super) fn start(
    k: usize,
    shared: Arc<Shared>,
    target: Arc<dyn Target>,
    limits: Limits,
) -> std::io::Result<Shard> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (batches, inbox) = tokio::sync::mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name(format!("gameday-load-{k}"))
        .spawn(move || rt.block_on(dispatch(shared, target, inbox, limits)))?;
    Ok(Shard { batches })
}

/// Queues each due request for the workers, starting workers as they are
/// wanted; once the pacer is done, waits for the workers to finish.
async fn dispatch(
    shared: Arc<Shared>,
    target: Arc<dyn Target>,
    mut inbox: UnboundedReceiver<Batch>,
    limits: Limits,
) {
    let (queue, jobs) = async_channel::unbounded::<Job>();
    let idle = Arc::new(AtomicU64::new(0));
    let mut workers = JoinSet::new();
    let mut growth = Bucket::new(now());
    let mut load = RuntimeLoad::new(&tokio::runtime::Handle::current());
    while let Some(batch) = inbox.recv().await {
        for job in batch {
            if queue.try_send(job).is_err() {
                unreachable!("the queue is unbounded and its receiver is held here");
            }
            // More queued than idle: a worker is wanted.
            if queue.len() as u64 <= idle.load(Ordering::Relaxed) {
                continue;
            }
            let n = workers.len() as u64;
            let t = now();
            if n >= limits.max {
                shared.stats().in_flight_waits += 1;
            } else if n < limits.eager || (growth.take(t) && !load.saturated(t)) {
                workers.spawn(work(
                    shared.clone(),
                    target.clone(),
                    jobs.clone(),
                    idle.clone(),
                ));
                shared.stats().peak_workers += 1;
            }
        }
    }
    // Closing the queue ends each worker once the queue is empty.
    queue.close();
    while workers.join_next().await.is_some() {}
}

/// One worker: takes queued requests one at a time until the queue is
/// closed and empty. After a stop, queued requests are dropped unsent.
async fn work(
    shared: Arc<Shared>,
    target: Arc<dyn Target>,
    queue: async_channel::Receiver<Job>,
    idle: Arc<AtomicU64>,
) {
    loop {
        idle.fetch_add(1, Ordering::Relaxed);
        let job = queue.recv().await;
        idle.fetch_sub(1, Ordering::Relaxed);
        let Ok(job) = job else { return };
        if !shared.stop.load(Ordering::Relaxed) {
            let (w, inv) = &shared.workloads[job.workload];
            shared.sending(&job);
            let mut inv = inv.clone();
            inv.target_model = job.model.clone();
            let call = CallResult::within(job.intended + w.timeout, target.invoke(inv)).await;
            let latency = now().saturating_duration_since(job.intended);
            shared.results.push(w.record(call, job.t, latency));
        }
        shared.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The growth allowance past the eager workers: one worker per
/// [`GROW_EVERY`], saved up to [`GROW_BURST`]. A shard whose thread was
/// held up for a while finds several requests due at once; it may grow by
/// all of them, or a backlog that arrived together would never clear.
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(now: Instant) -> Self {
        Bucket {
            tokens: GROW_BURST,
            at: now,
        }
    }

    /// Takes one worker's allowance if there is one.
    fn take(&mut self, now: Instant) -> bool {
        let earned =
            now.saturating_duration_since(self.at).as_secs_f64() / GROW_EVERY.as_secs_f64();
        self.tokens = (self.tokens + earned).min(GROW_BURST);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Whether a runtime busy `share` of the last window counts as saturated,
/// given whether it did before: past [`SATURATED_BUSY`] it becomes so, and
/// stays so until it falls below [`UNSATURATED_BUSY`].
fn still_saturated(before: bool, share: f64) -> bool {
    share
        > if before {
            UNSATURATED_BUSY
        } else {
            SATURATED_BUSY
        }
}

/// How much CPU a shard wants: the share of the last window its runtime
/// spent working (not parked), from tokio's runtime metrics, or, where
/// Linux tells it, the share its thread spent running or waiting to run
/// (the second sees a machine whose other processes take the CPU the
/// shard needs; the first does not).
struct RuntimeLoad {
    metrics: tokio::runtime::RuntimeMetrics,
    at: Instant,
    busy: Duration,
    cpu: Option<CpuTime>,
    saturated: bool,
}

/// A thread's time on a CPU and time runnable but waiting for one.
#[derive(Clone, Copy, Debug)]
struct CpuTime {
    run: Duration,
    wait: Duration,
}

/// The calling thread's [`CpuTime`] (`/proc/thread-self/schedstat`,
/// Linux); `None` where that is not known.
fn cpu_time() -> Option<CpuTime> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut fields = stat.split_whitespace().map(str::parse::<u64>);
    let (Some(Ok(run)), Some(Ok(wait))) = (fields.next(), fields.next()) else {
        return None;
    };
    Some(CpuTime {
        run: Duration::from_nanos(run),
        wait: Duration::from_nanos(wait),
    })
}

impl RuntimeLoad {
    /// Measures the runtime of `rt`, run by the calling thread.
    fn new(rt: &tokio::runtime::Handle) -> Self {
        let metrics = rt.metrics();
        let busy = Self::total(&metrics);
        RuntimeLoad {
            metrics,
            at: now(),
            busy,
            cpu: cpu_time(),
            saturated: false,
        }
    }

    fn total(m: &tokio::runtime::RuntimeMetrics) -> Duration {
        (0..m.num_workers())
            .map(|w| m.worker_total_busy_duration(w))
            .sum()
    }

    /// True when the runtime was busy more than [`SATURATED_BUSY`] of the
    /// last [`LOAD_WINDOW`] (and has not since fallen below
    /// [`UNSATURATED_BUSY`]): more workers would only add connections to a
    /// generator that cannot serve the ones it has.
    fn saturated(&mut self, now: Instant) -> bool {
        let span = now.saturating_duration_since(self.at);
        if span >= LOAD_WINDOW {
            let busy = Self::total(&self.metrics);
            let capacity = span.as_secs_f64() * self.metrics.num_workers().max(1) as f64;
            let cpu = cpu_time();
            let mut share = busy.saturating_sub(self.busy).as_secs_f64() / capacity;
            if let (Some(c), Some(before)) = (cpu, self.cpu) {
                let of_span = |d: Duration| d.as_secs_f64() / span.as_secs_f64();
                let run = of_span(c.run.saturating_sub(before.run));
                let wait = of_span(c.wait.saturating_sub(before.wait));
                // A shard that itself used little CPU is not what holds
                // the run back, however long it waited for a CPU.
                if run >= OWN_CPU_SHARE {
                    share = share.max(run + wait);
                }
            }
            self.saturated = still_saturated(self.saturated, share);

            self.at = now;
            self.busy = busy;
            self.cpu = cpu;
        }
        self.saturated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_reports_a_threads_cpu_time() {
        // Spinning advances this thread's run time. On a busy machine the
        // thread may be preempted (that shows as wait), so spin until
        // 25 ms of run time show, bounded at 5 s of wall time.
        let before = cpu_time().expect("Linux reports schedstat");
        let start = now();
        let mut x = 0u64;
        let mut ran = Duration::ZERO;
        while ran < Duration::from_millis(25)
            && now().duration_since(start) < Duration::from_secs(5)
        {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
            ran = cpu_time().unwrap().run.saturating_sub(before.run);
        }
        assert!(
            ran >= Duration::from_millis(25),
            "5 s of spinning showed only {ran:?} of run time"
        );
        // What ran cannot exceed the wall time it took.
        assert!(ran <= now().duration_since(start) + Duration::from_millis(5));
    }

    #[test]
    fn growth_is_paced_but_saved_up() {
        let t0 = now();
        let mut b = Bucket::new(t0);
        for _ in 0..64 {
            assert!(b.take(t0), "a full allowance to start");
        }
        assert!(!b.take(t0));
        let later = t0 + GROW_EVERY * 3;
        assert!(b.take(later) && b.take(later) && b.take(later));
        assert!(!b.take(later));
        let much_later = t0 + GROW_EVERY * 1_000;
        let saved = (0..100).filter(|_| b.take(much_later)).count();
        assert_eq!(saved, 64, "saved up to the burst");
    }

    #[test]
    fn saturation_has_hysteresis() {
        assert!(!still_saturated(false, 0.6));
        assert!(still_saturated(false, 0.8));
        assert!(
            still_saturated(true, 0.6),
            "stays saturated until well below"
        );
        assert!(!still_saturated(true, 0.4));
    }
}
