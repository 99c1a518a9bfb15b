//! The training lifecycle against SageMaker's status sequences, and the
//! checkpoint arithmetic against theory (lost work per interruption,
//! Young/Daly's optimum interval).

use std::time::Duration;

use super::*;
use crate::capacity::ShortageSpec;
use crate::spec::InstanceTypeSpec;

const MIN: u64 = 60;
const HOUR: u64 = 3600;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// One instance, no provisioning, no capacity wait, no download/upload,
/// steps of one second: times are easy to reason about.
fn job(steps: u64) -> TrainingJobSpec {
    TrainingJobSpec {
        name: "j".into(),
        instance: InstanceTypeSpec {
            name: "ml.p3.2xlarge".into(),
            price_per_hour: 3.6,
            provisioning_min: Duration::ZERO,
            provisioning_max: Duration::ZERO,
            vcpus: 4,
            gpus: 0,
        },
        instance_count: 1,
        spot: false,
        max_run: secs(100 * HOUR),
        max_wait: None,
        checkpoint_every: None,
        checkpoint_cost: Duration::ZERO,
        checkpoint_on_notice: false,
        download: Duration::ZERO,
        upload: Duration::ZERO,
        stop_grace: secs(120),
        work: TrainingWork::Modelled {
            steps,
            step_time: secs(1),
        },
        market: SpotMarketSpec {
            mtbi: None,
            capacity_wait_min: Duration::ZERO,
            capacity_wait_max: Duration::ZERO,
            price_ratio: 0.3,
            notice: secs(120),
        },
    }
}

fn spot(mut j: TrainingJobSpec, max_wait: u64) -> TrainingJobSpec {
    j.spot = true;
    j.max_wait = Some(secs(max_wait));
    j
}

fn interrupt_at(at: u64) -> TrainingFaultSpec {
    TrainingFaultSpec {
        at: secs(at),
        jobs: vec![0],
    }
}

/// A shortage of the type every test job runs on.
fn shortage(at: u64, duration: u64) -> ShortageSpec {
    ShortageSpec {
        at: secs(at),
        duration: Some(secs(duration)),
        instance_type: "ml.p3.2xlarge".into(),
    }
}

fn run(jobs: Vec<TrainingJobSpec>, faults: Vec<TrainingFaultSpec>) -> Vec<TrainingOutcome> {
    run_short(jobs, faults, &[])
}

fn run_short(
    jobs: Vec<TrainingJobSpec>,
    faults: Vec<TrainingFaultSpec>,
    shortages: &[ShortageSpec],
) -> Vec<TrainingOutcome> {
    run_alone(
        shortages,
        &TrainingSpec { jobs, faults },
        &RngStreams::new(7),
        SimTime::MAX,
    )
}

fn statuses(o: &TrainingOutcome) -> Vec<&'static str> {
    o.status_history.iter().map(|(_, s)| s.as_str()).collect()
}

#[test]
fn on_demand_job_runs_straight_through() {
    let mut j = job(3600);
    j.download = secs(60);
    j.upload = secs(30);
    let o = &run(vec![j], vec![])[0];
    assert_eq!(
        statuses(o),
        [
            "Starting",
            "Downloading",
            "Training",
            "Uploading",
            "Completed"
        ]
    );
    assert_eq!(o.status, JobStatus::Completed);
    assert_eq!(o.training_time_s, 3690.0);
    assert_eq!(o.billable_time_s, 3690.0);
    assert_eq!(o.savings_pct, 0.0);
    assert_eq!((o.steps_done, o.steps_lost), (3600, 0));
    assert!((o.cost_usd - 3690.0 / 3600.0 * 3.6).abs() < 1e-9);
}

#[test]
fn interrupted_spot_job_resumes_from_its_checkpoint() {
    let mut j = spot(job(3600), 10 * HOUR);
    j.checkpoint_every = Some(secs(10 * MIN));
    j.checkpoint_cost = secs(30);
    // Notice at 25m, reclaim at 27m: checkpoints done at 10m30s and 21m
    // (after 20 min of compute), so 27m - 21m = 6 min of compute is lost.
    let o = &run(vec![j], vec![interrupt_at(25 * MIN)])[0];
    assert_eq!(
        statuses(o),
        [
            "Starting",
            "Downloading",
            "Training",
            "Interrupted",
            "Restarting",
            "Downloading",
            "Training",
            "Uploading",
            "Completed"
        ]
    );
    assert_eq!(o.interruptions.len(), 1);
    let i = o.interruptions[0];
    assert_eq!(i.notice_at.as_secs_f64(), 1500.0);
    assert_eq!(i.reclaimed_at.as_secs_f64(), 1620.0);
    assert_eq!(i.steps_lost, 360);
    assert_eq!(o.steps_lost, 360);
    assert_eq!(o.resumed_from, [0, 1200]);
    assert_eq!(o.steps_done, 3600);
    // Two checkpoints before the reclaim, three after (at steps 1800,
    // 2400 and 3000; the end of the work needs none).
    let ckpts = o.checkpoints;
    assert_eq!(ckpts, 2 + 3);
    // Training time: the work, the lost steps redone, the writes.
    let expected = 3600.0 + 360.0 + f64::from(ckpts) * 30.0;
    assert_eq!(o.training_time_s, expected);
    // savings = (1 - billable/training) × 100 on the reported numbers.
    assert!((o.billable_time_s - expected * 0.3).abs() < 1e-6);
    let savings = (1.0 - o.billable_time_s / o.training_time_s) * 100.0;
    assert!((o.savings_pct - savings).abs() < 1e-9);
    assert!((o.savings_pct - 70.0).abs() < 1e-9);
    assert!((o.on_demand_cost_usd - expected / 3600.0 * 3.6).abs() < 1e-9);
}

#[test]
fn no_checkpoints_means_resuming_from_step_zero() {
    let j = spot(job(3600), 10 * HOUR);
    let o = &run(vec![j], vec![interrupt_at(30 * MIN)])[0];
    assert_eq!(o.resumed_from, [0, 0]);
    assert_eq!(o.steps_lost, 32 * 60);
    assert_eq!(o.training_time_s, 3600.0 + 1920.0);
}

#[test]
fn checkpoint_on_notice_saves_the_work() {
    let mut j = spot(job(3600), 10 * HOUR);
    j.checkpoint_every = Some(secs(HOUR));
    j.checkpoint_cost = secs(30);
    j.checkpoint_on_notice = true;
    let o = &run(vec![j], vec![interrupt_at(30 * MIN)])[0];
    // The notice checkpoint (at 30 min of work) survives; the 90 s after
    // it are lost.
    assert_eq!(o.resumed_from, [0, 1800]);
    assert_eq!(o.steps_lost, 90);
}

#[test]
fn max_wait_during_a_capacity_shortage() {
    let mut j = spot(job(10 * HOUR), 12 * HOUR);
    j.max_run = secs(11 * HOUR);
    let o = &run_short(
        vec![j],
        vec![interrupt_at(HOUR)],
        &[shortage(HOUR, 20 * HOUR)],
    )[0];
    assert_eq!(
        statuses(o),
        [
            "Starting",
            "Downloading",
            "Training",
            "Interrupted",
            "Restarting",
            "MaxWaitTimeExceeded"
        ]
    );
    assert_eq!(o.status, JobStatus::Stopped);
    assert_eq!(o.wall_time_s, 12.0 * 3600.0);
    assert_eq!(o.training_time_s, 3600.0 + 120.0);
    assert!(o.steps_done < o.steps_total);
}

#[test]
fn max_runtime_stops_a_job_that_cannot_finish() {
    let mut j = job(10 * HOUR);
    j.max_run = secs(4 * HOUR);
    let o = &run(vec![j], vec![])[0];
    assert_eq!(
        statuses(o),
        ["Starting", "Downloading", "Training", "MaxRuntimeExceeded"]
    );
    assert_eq!(o.status, JobStatus::Stopped);
    assert_eq!(o.training_time_s, 4.0 * 3600.0);
    assert_eq!(o.steps_done, 4 * HOUR);
}

#[test]
fn max_runtime_counts_training_time_across_restarts_not_waits() {
    let mut j = spot(job(10 * HOUR), 100 * HOUR);
    j.max_run = secs(4 * HOUR);
    j.market.capacity_wait_min = secs(5 * HOUR);
    j.market.capacity_wait_max = secs(5 * HOUR);
    let o = &run(vec![j], vec![interrupt_at(5 * HOUR + HOUR)])[0];
    assert_eq!(o.secondary_status, SecondaryStatus::MaxRuntimeExceeded);
    assert_eq!(o.training_time_s, 4.0 * 3600.0);
    // 5 h wait, 1 h 2 min held, 5 h wait again, then the rest of 4 h.
    assert_eq!(o.wall_time_s, (5 + 5 + 4) as f64 * 3600.0);
}

#[test]
fn on_demand_job_fails_in_a_capacity_shortage() {
    let o = &run_short(vec![job(100)], vec![], &[shortage(0, HOUR)])[0];
    assert_eq!(statuses(o), ["Starting", "Failed"]);
    assert_eq!(o.status, JobStatus::Failed);
    assert_eq!(o.training_time_s, 0.0);
}

#[test]
fn a_spot_job_waits_out_a_shortage_then_trains() {
    let o = &run_short(
        vec![spot(job(100), 10 * HOUR)],
        vec![],
        &[shortage(0, HOUR)],
    )[0];
    assert_eq!(o.status, JobStatus::Completed);
    assert_eq!(o.wall_time_s, 3700.0);
    assert_eq!(o.training_time_s, 100.0);
}

/// A tiny driver: runs due timers up to `now` seconds, each at its own
/// time, and collects the training actions.
#[derive(Default)]
struct Driver {
    actions: Vec<TrainingAction>,
}

impl Driver {
    fn advance(&mut self, p: &mut crate::Platform, now: u64) {
        let until = SimTime::from_nanos(now * 1_000_000_000);
        loop {
            while let Some(a) = p.poll_action() {
                if let crate::Action::Training(a) = a {
                    self.actions.push(a);
                }
            }
            match p.poll_timeout() {
                Some(at) if at <= until => {
                    p.handle_timeout(at);
                }
                _ => break,
            }
        }
    }
}

#[test]
fn external_jobs_ask_the_driver_and_learn_resume_points() {
    let mut j = spot(job(1), 10 * HOUR);
    j.work = TrainingWork::External;
    let spec = TrainingSpec {
        jobs: vec![j],
        faults: vec![interrupt_at(100)],
    };
    let no_endpoints = crate::spec::PlatformSpec::default();
    let mut t = crate::Platform::with_training(&no_endpoints, &spec, RngStreams::new(1));
    let mut d = Driver::default();
    d.advance(&mut t, 0);
    assert_eq!(d.actions, [TrainingAction::Start { job: 0, attempt: 0 }]);
    let at = |s: u64| SimTime::from_nanos(s * 1_000_000_000);
    for s in 1..=50 {
        t.handle_training_step(at(s), 0, s);
    }
    t.handle_training_checkpoint(at(40), 0, 40);
    d.advance(&mut t, 100);
    assert_eq!(
        d.actions[1],
        TrainingAction::Notice {
            job: 0,
            reclaim_at: at(220)
        }
    );
    assert_eq!(t.pending_reclaim(0), Some(at(220)));
    t.handle_training_exit(at(101), 0, false); // SIGTERM: expected, ignored
    d.advance(&mut t, 220);
    assert_eq!(d.actions[2], TrainingAction::Kill { job: 0 });
    assert_eq!(d.actions[3], TrainingAction::Start { job: 0, attempt: 1 });
    // The script resumes at step 41: 10 steps (41..=50) are redone.
    let p = t.training_progress(0, at(220));
    assert_eq!(
        (p.status, p.step, p.interruptions),
        (SecondaryStatus::Training, 50, 1)
    );
    t.handle_training_step(at(221), 0, 41);
    t.handle_training_step(at(230), 0, 60);
    t.handle_training_exit(at(231), 0, true);
    d.advance(&mut t, 1000);
    let o = &t.training_outcomes(at(1000))[0];
    assert_eq!(o.status, JobStatus::Completed);
    assert_eq!(o.resumed_from, [0, 40]);
    assert_eq!(o.steps_lost, 10);
    assert_eq!(o.checkpoints, 1);
    assert_eq!(o.training_time_s, 220.0 + 11.0);
}

#[test]
fn same_seed_same_outcome() {
    let mut j = spot(job(100 * HOUR), 1000 * HOUR);
    j.market.mtbi = Some(secs(5 * HOUR));
    j.checkpoint_every = Some(secs(30 * MIN));
    j.checkpoint_cost = secs(60);
    let spec = TrainingSpec {
        jobs: vec![j],
        faults: vec![],
    };
    let a = run_alone(&[], &spec, &RngStreams::new(3), SimTime::MAX);
    let b = run_alone(&[], &spec, &RngStreams::new(3), SimTime::MAX);
    let c = run_alone(&[], &spec, &RngStreams::new(4), SimTime::MAX);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a[0].interruptions.len() > 5);
}

/// A long job on a market with mean time between interruptions `mtbi`,
/// checkpointing every `tau` at cost `c`; no download, upload or waits.
fn market_job(mtbi: u64, tau: u64, c: u64, work: u64) -> TrainingJobSpec {
    let mut j = spot(job(work), 100_000 * HOUR);
    j.max_run = secs(100_000 * HOUR);
    j.market.mtbi = Some(secs(mtbi));
    j.checkpoint_every = Some(secs(tau));
    j.checkpoint_cost = secs(c);
    j
}

#[test]
fn lost_work_per_interruption_matches_theory() {
    // Interruptions land uniformly over a cycle of τ compute plus C
    // writing (MTBI ≫ τ + C). Lost compute is the phase u when it lands in
    // the compute part, and all of τ when it lands during a write:
    //   E[lost] = (τ²/2 + τ·C) / (τ + C)
    // which is "about half an interval plus the checkpoint cost" scaled by
    // the share of time spent computing.
    let (tau, c) = (30 * MIN, 3 * MIN);
    let spec = TrainingSpec {
        jobs: vec![market_job(20 * HOUR, tau, c, 200 * HOUR)],
        faults: vec![],
    };
    let (mut lost, mut n) = (0.0, 0usize);
    for seed in 0..400 {
        let o = &run_alone(&[], &spec, &RngStreams::new(seed), SimTime::MAX)[0];
        assert_eq!(o.status, JobStatus::Completed);
        for i in &o.interruptions {
            lost += i.lost_ns as f64 / 1e9;
            n += 1;
        }
    }
    let mean = lost / n as f64;
    let (t, c) = (tau as f64, c as f64);
    let theory = (t * t / 2.0 + t * c) / (t + c);
    // Uniform phase: sd ≈ (τ+C)/√12; n ≈ 4,500 gives a standard error of
    // about 0.9% of the mean (1,500 seeds measured 980 s vs 982 s).
    assert!(n > 4000, "{n} interruptions");
    let rel = (mean - theory).abs() / theory;
    eprintln!("mean lost {mean:.1}s, theory {theory:.1}s, {n} interruptions");
    assert!(
        rel < 0.03,
        "mean lost {mean:.1}s vs theory {theory:.1}s ({n} samples)"
    );
}

#[test]
fn simulated_optimum_interval_is_near_young_daly() {
    let (mtbi, c) = (8 * HOUR, 60);
    let young_daly = (2.0 * c as f64 * mtbi as f64).sqrt(); // ≈ 31 min
    let grid = [8, 12, 18, 24, 31, 40, 52, 70, 95].map(|m| m * MIN);
    let mut best = (f64::MAX, 0);
    for tau in grid {
        let spec = TrainingSpec {
            jobs: vec![market_job(mtbi, tau, c, 100 * HOUR)],
            faults: vec![],
        };
        // The same seeds for every interval (common random numbers).
        let total: f64 = (0..120)
            .map(|seed| {
                run_alone(&[], &spec, &RngStreams::new(seed), SimTime::MAX)[0].training_time_s
            })
            .sum();
        if total < best.0 {
            best = (total, tau);
        }
    }
    let ratio = best.1 as f64 / young_daly;
    eprintln!("best interval {} s, Young/Daly {young_daly:.0} s", best.1);
    assert!(
        (0.55..=1.7).contains(&ratio),
        "best interval {} s, Young/Daly {young_daly:.0} s",
        best.1
    );
}
