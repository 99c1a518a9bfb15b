//! The capacity pool shared by endpoints and training: a shortage of one
//! instance type refuses an endpoint's replacement (retried with backoff
//! until the shortage ends) and fails an on-demand training job on the
//! same type, while other types are untouched.

use std::time::Duration;

use gameday_core::capacity::ShortageSpec;
use gameday_core::dist::ServiceDist;
use gameday_core::spec::*;
use gameday_core::training::*;
use gameday_core::{EventKind, Platform, RngStreams, SimTime};

const G5: &str = "ml.g5.xlarge";

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn instance(name: &str) -> InstanceTypeSpec {
    InstanceTypeSpec {
        name: name.into(),
        price_per_hour: 1.0,
        provisioning_min: s(60),
        provisioning_max: s(60),
        vcpus: 4,
        gpus: 0,
    }
}

fn job(name: &str, ty: &str) -> TrainingJobSpec {
    TrainingJobSpec {
        name: name.into(),
        instance: instance(ty),
        instance_count: 1,
        spot: false,
        max_run: s(100_000),
        max_wait: None,
        checkpoint_every: None,
        checkpoint_cost: Duration::ZERO,
        checkpoint_on_notice: false,
        download: Duration::ZERO,
        upload: Duration::ZERO,
        stop_grace: s(120),
        work: TrainingWork::Modelled {
            steps: 100,
            step_time: s(1),
        },
        market: SpotMarketSpec {
            mtbi: None,
            capacity_wait_min: Duration::ZERO,
            capacity_wait_max: Duration::ZERO,
            price_ratio: 0.3,
            notice: s(120),
        },
    }
}

/// An endpoint of two g5 instances, one of which crashes at 100 s; a g5
/// shortage from 50 s to 250 s; on-demand jobs on g5 and on p3.
fn platform() -> Platform {
    let spec = PlatformSpec {
        endpoints: vec![EndpointSpec {
            name: "ep".into(),
            routing: Routing::Random,
            zones: 3,
            variants: vec![VariantSpec {
                name: "A".into(),
                model: "m".into(),
                weight: 1.0,
                instance: instance(G5),
                instance_count: 2,
                concurrency: 1,
                service: ServiceDist::constant(0.01).unwrap(),
                external: false,
                model_load: std::time::Duration::ZERO,
                autoscaling: None,
                multi_model: None,
                error_rate: 0.0,
                shadow: None,
            }],
        }],
        faults: vec![FaultSpec {
            at: s(100),
            duration: None,
            target: FaultTarget {
                endpoint: 0,
                variant: None,
            },
            kind: FaultKind::InstanceCrash {
                count: 1,
                detect_after: s(2),
            },
        }],
        shortages: vec![ShortageSpec {
            at: s(50),
            duration: Some(s(200)),
            instance_type: G5.into(),
        }],
        zone_outages: vec![],
        feature_store: Default::default(),
    };
    let training = TrainingSpec {
        jobs: vec![job("on-g5", G5), job("on-p3", "ml.p3.2xlarge")],
        faults: vec![],
    };
    Platform::with_training(&spec, &training, RngStreams::new(4))
}

#[test]
fn a_shortage_queues_an_endpoints_replacement_until_it_ends() {
    let mut p = platform();
    p.set_end(SimTime::ZERO + s(1000));
    let mut events = Vec::new();
    let mut training = Vec::new();
    while let Some(at) = p.poll_timeout() {
        p.handle_timeout(at);
        events.extend(std::iter::from_fn(|| p.poll_event()));
        training.extend(std::iter::from_fn(|| p.poll_training_event()));
    }
    let lifecycle: Vec<(u64, &str)> = events
        .iter()
        .map(|e| (e.at.as_nanos() / 1_000_000_000, e.kind.as_str()))
        .collect();
    assert_eq!(
        lifecycle,
        [
            (50, "fault_injected"),
            (100, "fault_injected"),
            (100, "instance_crashed"),
            (102, "instance_terminated"),
            // Refused at 102 s, retried after 30 s and 60 s, then after
            // 120 s: past the shortage's end at 250 s.
            (102, "instance_launch_failed"),
            (132, "instance_launch_failed"),
            (192, "instance_launch_failed"),
            (250, "fault_cleared"),
            (312, "instance_launched"),
            (372, "instance_in_service"),
        ],
        "{events:#?}"
    );
    assert!(events[0]
        .detail
        .contains("capacity_shortage of ml.g5.xlarge began"));
    assert!(
        events[4]
            .detail
            .starts_with("InsufficientCapacity: Unable to provision requested ML compute capacity (ml.g5.xlarge); retrying in 30s"),
        "{}",
        events[4].detail
    );
    assert_eq!(
        EventKind::InstanceLaunchFailed.as_str(),
        "instance_launch_failed"
    );

    // Both jobs were created at 0 s, before the shortage: both got
    // capacity. The pool is shared, so a job asking during the shortage
    // would not (next test).
    let outcomes = p.training_outcomes(SimTime::ZERO + s(1000));
    assert_eq!(outcomes[0].status, JobStatus::Completed);
    assert_eq!(outcomes[1].status, JobStatus::Completed);
    assert!(
        training
            .iter()
            .any(|e| e.job == 0 && e.detail == "capacity_shortage of ml.g5.xlarge began"),
        "the job on g5 hears of the shortage"
    );
    assert!(
        !training
            .iter()
            .any(|e| e.job == 1 && e.detail.contains("capacity_shortage")),
        "the job on p3 does not"
    );
}

#[test]
fn a_job_asking_during_an_endpoints_shortage_fails_with_insufficient_capacity() {
    let spec = PlatformSpec {
        shortages: vec![ShortageSpec {
            at: Duration::ZERO,
            duration: Some(s(100)),
            instance_type: G5.into(),
        }],
        ..PlatformSpec::default()
    };
    let training = TrainingSpec {
        jobs: vec![job("on-g5", G5), job("on-p3", "ml.p3.2xlarge")],
        faults: vec![],
    };
    let out = run_alone(
        &spec.shortages,
        &training,
        &RngStreams::new(1),
        SimTime::MAX,
    );
    assert_eq!(out[0].status, JobStatus::Failed);
    assert_eq!(out[0].secondary_status, SecondaryStatus::Failed);
    assert_eq!(out[1].status, JobStatus::Completed);
}
