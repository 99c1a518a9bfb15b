//! Capacity planning for training: which checkpoint interval is cheapest
//! on spot. [`sweep_checkpoints`] runs one job over many seeds for each
//! interval (the same seeds for every interval, so differences are the
//! interval's, not the dice's) and sets the results next to the
//! Young/Daly optimum τ ≈ √(2·C·M).

use std::time::Duration;

use gameday_core::capacity::ShortageSpec;
use gameday_core::training::{run_alone, JobStatus, TrainingSpec};
use gameday_core::{RngStreams, SimTime};
pub use gameday_report::plan::{CheckpointPlan, IntervalResult};

/// The Young/Daly interval for a checkpoint cost `c` and a mean time
/// between interruptions `m`.
pub fn young_daly(c: Duration, m: Duration) -> Duration {
    gameday_core::time::secs_to_duration((2.0 * c.as_secs_f64() * m.as_secs_f64()).sqrt())
}

/// A default grid: 9 intervals from ¼ to 4 times `center`, evenly spaced
/// on a log scale.
pub fn grid_around(center: Duration) -> Vec<Duration> {
    (0..9)
        .map(|i| gameday_core::time::mul_duration(center, 2f64.powf(-2.0 + 0.5 * f64::from(i))))
        .collect()
}

fn mean(xs: impl Iterator<Item = f64>, n: f64) -> f64 {
    xs.sum::<f64>() / n
}

/// Sweeps job `job` of `spec` over `intervals` (`None`: no checkpoints)
/// with seeds `first_seed .. first_seed + seeds`. The job runs alone with
/// the faults that hit it and the `shortages` of its instance type. Each
/// finished run adds one to `done` (for a progress bar).
pub fn sweep_checkpoints(
    spec: &TrainingSpec,
    shortages: &[ShortageSpec],
    job: usize,
    intervals: &[Option<Duration>],
    first_seed: u64,
    seeds: u64,
    done: Option<&std::sync::atomic::AtomicU64>,
) -> CheckpointPlan {
    let base = &spec.jobs[job];
    let faults = spec
        .faults
        .iter()
        .filter(|f| f.jobs.contains(&job))
        .map(|f| gameday_core::training::TrainingFaultSpec {
            jobs: vec![0],
            ..f.clone()
        })
        .collect::<Vec<_>>();
    let shortages: Vec<ShortageSpec> = shortages
        .iter()
        .filter(|s| s.instance_type == base.instance.name)
        .cloned()
        .collect();
    let n = seeds.max(1) as f64;
    let mut rows = Vec::new();
    for &every in intervals {
        let mut j = base.clone();
        j.checkpoint_every = every;
        let one = TrainingSpec {
            jobs: vec![j],
            faults: faults.clone(),
        };
        let outs: Vec<_> = (0..seeds.max(1))
            .map(|i| {
                let streams = RngStreams::new(first_seed.wrapping_add(i));
                let out = run_alone(&shortages, &one, &streams, SimTime::MAX).remove(0);
                if let Some(d) = done {
                    d.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                out
            })
            .collect();
        let mut walls: Vec<f64> = outs.iter().map(|o| o.wall_time_s / 3600.0).collect();
        walls.sort_by(f64::total_cmp);
        let p90 = walls[((walls.len() as f64 * 0.9).ceil() as usize).clamp(1, walls.len()) - 1];
        rows.push(IntervalResult {
            checkpoint_every_s: every.map(|d| d.as_secs_f64()),
            mean_cost_usd: mean(outs.iter().map(|o| o.cost_usd), n),
            mean_wall_h: mean(walls.iter().copied(), n),
            p90_wall_h: p90,
            mean_training_h: mean(outs.iter().map(|o| o.training_time_s / 3600.0), n),
            completion_rate: outs
                .iter()
                .filter(|o| o.status == JobStatus::Completed)
                .count() as f64
                / n,
            mean_interruptions: mean(outs.iter().map(|o| o.interruptions.len() as f64), n),
            mean_steps_lost: mean(outs.iter().map(|o| o.steps_lost as f64), n),
            mean_checkpoints: mean(outs.iter().map(|o| f64::from(o.checkpoints)), n),
        });
    }
    let top_rate = rows.iter().map(|r| r.completion_rate).fold(0.0, f64::max);
    let best = rows
        .iter()
        .filter(|r| r.completion_rate >= top_rate)
        .min_by(|a, b| a.mean_cost_usd.total_cmp(&b.mean_cost_usd))
        .and_then(|r| r.checkpoint_every_s);
    let mtbi = base
        .market
        .mtbi
        .filter(|_| base.spot)
        .map(|m| gameday_core::time::div_duration(m, f64::from(base.instance_count.max(1))));
    CheckpointPlan {
        job: base.name.clone(),
        seeds: seeds.max(1),
        checkpoint_cost_s: base.checkpoint_cost.as_secs_f64(),
        mtbi_s: mtbi.map(|m| m.as_secs_f64()),
        young_daly_s: mtbi.map(|m| young_daly(base.checkpoint_cost, m).as_secs_f64()),
        intervals: rows,
        best_s: best,
    }
}
