//! Closed-loop users: each of N users sends a request, waits for the
//! answer, thinks (exponential, mean `think_time`), and sends again. The
//! rate is whatever the target allows, the shape real interactive clients
//! have. Latency is measured from each request's own send time, which for
//! a closed loop *is* its intended time: a user does not send while it
//! waits. Users are tokio tasks; every loop ends at the run's end, on a
//! stop, or when the run's request budget is spent.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gameday_core::time::duration_nanos;
use gameday_core::{ArrivalSpec, RngStreams, SimTime};
use tokio::task::JoinSet;

use crate::now;
use crate::open_loop::LoadWorkload;
use crate::target::{CallResult, ResultSink, Target};

/// Starts every user of every closed-loop workload in `workloads`
/// (others are ignored). `budget` counts requests left for the whole run.
#[allow(clippy::too_many_arguments)]
pub fn spawn_users(
    workloads: &[LoadWorkload],
    target: &Arc<dyn Target>,
    seed: u64,
    zero: Instant,
    duration: Duration,
    stop: &Arc<AtomicBool>,
    budget: &Arc<AtomicU64>,
    results: &ResultSink,
) -> JoinSet<()> {
    let streams = RngStreams::new(seed);
    let mut set = JoinSet::new();
    let end = zero + duration;
    for w in workloads {
        let ArrivalSpec::Users { users, think_time } = w.arrival else {
            continue;
        };
        for k in 0..users {
            let mut rng = streams.stream(&format!("arrival/{}/user/{k}", w.name));
            let mut model_rng = streams.stream(&format!("models/{}/user/{k}", w.name));
            let mut sent_count = 0u64;
            let start =
                zero + Duration::from_secs_f64(f64::from(k) * think_time / f64::from(users));
            let (w, target, stop, budget, tx) = (
                w.clone(),
                target.clone(),
                stop.clone(),
                budget.clone(),
                results.clone(),
            );
            set.spawn(async move {
                tokio::time::sleep_until(start.into()).await;
                loop {
                    let sent = now();
                    if sent >= end || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if budget
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1))
                        .is_err()
                    {
                        break;
                    }
                    let mut inv = w.invocation();
                    inv.target_model = w.draw_model(sent_count, &mut model_rng);
                    sent_count += 1;
                    let call = CallResult::within(sent + w.timeout, target.invoke(inv)).await;
                    tx.push(w.record(
                        call,
                        SimTime::from_nanos(duration_nanos(sent - zero)),
                        now() - sent,
                    ));
                    let think = w.arrival.think(&mut rng).unwrap_or(0);
                    tokio::time::sleep(Duration::from_nanos(think)).await;
                }
            });
        }
    }
    set
}
