//! The pacer thread: draws every workload's arrival times from the core's
//! arrival processes (the simulator's shapes and RNG streams), sleeps until
//! requests fall due and hands them to the shards, a batch per wake-up,
//! each batch to the next shard in turn.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use gameday_core::{ArrivalProcess, RngStreams, SimTime};

use super::shard::{Batch, Shard};
use super::{Job, LoadConfig, Shared};
use crate::now;

/// How much later requests may leave per request per second of the
/// current rate. The pacer sleeps at least `rate × LAG_PER_RATE` between
/// wake-ups, and requests falling due in between leave together at the
/// next one, late by at most that (the lag is recorded). At 1,000 req/s
/// that is 10 µs, less than the OS timer's own slack, so every request
/// wakes the pacer on time; at 50,000 req/s it is 500 µs, batches of ~25.
/// A sleep and a cross-thread wake-up cost more CPU than a request, so
/// without batching the generator ran out of CPU first (measured in
/// `benches/compare-load.sh`: keeping up with 60,000 req/s instead of
/// about 50,000 on two cores shared with the server).
pub const LAG_PER_RATE: Duration = Duration::from_nanos(10);
/// The most the pacer ever sleeps past a request's intended time.
pub const MAX_WAKE_GAP: Duration = Duration::from_millis(1);

/// Most requests in one batch: a pacer that has fallen behind hands its
/// backlog over in pieces of this size.
const MAX_BATCH: usize = 64;

/// How often a sleeping pacer looks at the stop flag.
const STOP_CHECK: Duration = Duration::from_millis(50);

struct Source {
    process: ArrivalProcess,
    rng: gameday_core::StreamRng,
    /// Draws each request's target model (multi-model endpoints).
    model_rng: gameday_core::StreamRng,
    /// Requests scheduled so far.
    sent: u64,
    next: Option<SimTime>,
}

/// Deals batches to shards in turn.
struct Dealer {
    shards: Vec<Shard>,
    turn: usize,
    batch: Batch,
}

impl Dealer {
    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(MAX_BATCH));
        self.shards[self.turn].send(batch);
        self.turn = (self.turn + 1) % self.shards.len();
    }
}

/// The least sleep between wake-ups for a schedule whose requests are
/// `mean_interval` nanoseconds apart: [`LAG_PER_RATE`] per request per
/// second, at most [`MAX_WAKE_GAP`].
fn wake_gap(mean_interval: f64) -> Duration {
    let rate = 1e9 / mean_interval.max(1.0);
    LAG_PER_RATE.mul_f64(rate).min(MAX_WAKE_GAP)
}

/// Schedules every open-loop request of `cfg` until the duration, a stop
/// or `max_requests`. Dropping the shards' ends on return lets them finish.
pub(super) fn pace(cfg: LoadConfig, shared: &Shared, shards: Vec<Shard>, zero: Instant) {
    let streams = RngStreams::new(cfg.seed);
    let end = SimTime::ZERO + cfg.duration;
    let mut sources: Vec<Source> = cfg
        .workloads
        .iter()
        .map(|w| {
            let mut s = Source {
                process: ArrivalProcess::new(w.arrival.clone()),
                rng: streams.stream(&format!("arrival/{}", w.name)),
                model_rng: streams.stream(&format!("models/{}", w.name)),
                sent: 0,
                next: None,
            };
            // Users run as their own tasks (closed_loop).
            if !w.arrival.is_closed_loop() {
                s.next = s.process.next_arrival(&mut s.rng).filter(|&t| t < end);
            }
            s
        })
        .collect();
    let mut scheduled = 0u64;
    let mut stopped_early = false;
    let mut dealer = Dealer {
        shards,
        turn: 0,
        batch: Vec::with_capacity(MAX_BATCH),
    };
    let mut last_wake = zero;
    // The schedule's recent rate, as its mean interval (ns).
    let mut prev = SimTime::ZERO;
    let mut mean_interval = 1e9;
    let stop = &shared.stop;
    while let Some((i, t)) = sources
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.next.map(|t| (i, t)))
        .min_by_key(|&(i, t)| (t, i))
    {
        if stop.load(Ordering::Relaxed) || scheduled >= cfg.max_requests {
            stopped_early = true;
            break;
        }
        let intended = zero + Duration::from_nanos(t.as_nanos());
        let interval = t.as_nanos().saturating_sub(prev.as_nanos()) as f64;
        mean_interval += (interval - mean_interval) / 64.0;
        prev = t;
        // Everything due is handed over before sleeping.
        loop {
            let n = now();
            if n >= intended || stop.load(Ordering::Relaxed) {
                break;
            }
            dealer.flush();
            let wake = intended.max(last_wake + wake_gap(mean_interval));
            std::thread::sleep((wake - n).min(STOP_CHECK));
            last_wake = now();
        }
        if stop.load(Ordering::Relaxed) {
            stopped_early = true;
            break;
        }
        shared.in_flight.fetch_add(1, Ordering::Relaxed);
        scheduled += 1;
        let model = cfg.workloads[i].draw_model(sources[i].sent, &mut sources[i].model_rng);
        sources[i].sent += 1;
        dealer.batch.push(Job {
            workload: i,
            intended,
            t,
            model,
        });
        if dealer.batch.len() >= MAX_BATCH {
            dealer.flush();
        }
        let s = &mut sources[i];
        s.next = s.process.next_arrival(&mut s.rng).filter(|&t| t < end);
    }
    dealer.flush();
    let mut stats = shared.stats();
    stats.scheduled = scheduled;
    stats.stopped_early = stopped_early;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wake_gap_grows_with_the_rate_and_is_capped() {
        let us = |rate: f64| wake_gap(1e9 / rate).as_micros();
        assert_eq!(us(1_000.0), 10);
        assert_eq!(us(10_000.0), 100);
        assert_eq!(us(50_000.0), 500);
        assert_eq!(us(1_000_000.0), 1_000);
        assert_eq!(us(0.1), 0);
    }
}
