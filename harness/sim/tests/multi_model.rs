//! Multi-model endpoints in the simulator: the model cache against the
//! Che approximation of LRU, the 60 s `ModelNotReadyException` and the
//! 360 s load limit, and load failures, each with exact counts.

use std::time::Duration;

use gameday_core::arrival::ArrivalSpec;
use gameday_core::dist::ServiceDist;
use gameday_core::mme::{
    che_hit_ratio, ModelEntry, ModelMix, MultiModelSpec, LOAD_LIMIT, WAIT_LIMIT,
};
use gameday_core::spec::*;
use gameday_core::{ArrivalProcess, RngStreams, SimTime};
use gameday_report::{RunRecord, SloSpec};
use gameday_sim::{simulate, SimConfig};

/// One multi-model instance with `n` models of 1 MB each and memory for
/// `c` of them; downloads and loads take `load` (zero: instantly).
fn mme(n: usize, c: u64, weights: Vec<f64>, load: Option<Duration>) -> PlatformSpec {
    PlatformSpec {
        endpoints: vec![EndpointSpec {
            name: "tenants".into(),
            routing: Routing::Random,
            zones: 1,
            variants: vec![VariantSpec {
                name: "AllTraffic".into(),
                model: "(multi-model)".into(),
                weight: 1.0,
                instance: InstanceTypeSpec {
                    name: "ml.m5.xlarge".into(),
                    price_per_hour: 0.23,
                    provisioning_min: Duration::from_secs(300),
                    provisioning_max: Duration::from_secs(300),
                    vcpus: 4,
                    gpus: 0,
                },
                instance_count: 1,
                concurrency: 10_000,
                service: ServiceDist::constant(1e-6).unwrap(),
                external: false,
                model_load: Duration::ZERO,
                autoscaling: None,
                multi_model: Some(Box::new(MultiModelSpec {
                    models: weights
                        .into_iter()
                        .take(n)
                        .enumerate()
                        .map(|(i, weight)| ModelEntry {
                            name: format!("model-{i}"),
                            size_bytes: 1_000_000,
                            weight,
                            load_time: Some(load.unwrap_or(Duration::ZERO)),
                            service_scale: 1.0,
                        })
                        .collect(),
                    memory_bytes: c * 1_000_000,
                    disk_bytes: u64::MAX,
                    download_bytes_per_s: 1e18,
                    load_bytes_per_s: 1e18,
                    unload_time: Duration::ZERO,
                    wait_limit: WAIT_LIMIT,
                    load_limit: LOAD_LIMIT,
                })),
                error_rate: 0.0,
                shadow: None,
            }],
        }],
        ..PlatformSpec::default()
    }
}

fn workload(arrival: ArrivalSpec, target: TargetModel) -> WorkloadSpec {
    WorkloadSpec {
        name: "w".into(),
        endpoint: 0,
        arrival,
        timeout: Duration::from_secs(3600),
        target_variant: None,
        target_model: target,
    }
}

fn run(platform: &PlatformSpec, w: &WorkloadSpec, duration: Duration) -> RunRecord {
    simulate(SimConfig {
        platform,
        workloads: std::slice::from_ref(w),
        training: &Default::default(),
        duration,
        interval: Duration::from_secs(60),
        seed: 5,
        stop: None,
        progress: None,
        slo: &SloSpec::default(),
    })
    .finish("mme", 5, &SloSpec::default())
}

/// Queueing-free: instant loads, a microsecond of service and ten
/// thousand slots, so a request finds its model loaded exactly when an
/// LRU cache of `C` would hold it. 600,000 requests per case: the cold
/// start's misses (at most N) bias the ratio by under 0.002, and the
/// binomial noise of the estimate is about 0.0006.
#[test]
fn the_hit_ratio_matches_the_che_approximation() {
    for (alpha, n, c) in [(0.8, 100, 40), (0.8, 1000, 100), (1.0, 1000, 100)] {
        let weights = ModelMix::zipf_weights(n, alpha);
        let mix = ModelMix::new(weights.clone());
        let platform = mme(n, c, weights, None);
        let w = workload(
            ArrivalSpec::Poisson { rate: 1000.0 },
            TargetModel::Popularity(mix.clone()),
        );
        let rec = run(&platform, &w, Duration::from_secs(600));
        let m = rec.report.endpoints[0].variants[0].mme.clone().unwrap();
        assert!(m.requests > 590_000, "{}", m.requests);
        let expected = che_hit_ratio(&mix.probabilities(), c as f64);
        let got = m.model_cache_hit_ratio;
        assert!(
            (got - expected).abs() < 0.01,
            "alpha {alpha}, N {n}, C {c}: simulated {got:.4}, Che {expected:.4}"
        );
        // Every miss loaded a model; all but the first C unloaded one.
        assert_eq!(m.loads, m.requests - m.hits);
        assert_eq!(m.unloads, m.loads - c);
    }
}

/// Arrival times of a workload over `[0, end)`, seconds.
fn arrivals(w: &WorkloadSpec, end: f64) -> Vec<f64> {
    let mut p = ArrivalProcess::new(w.arrival.clone());
    let mut rng = RngStreams::new(5).stream(&format!("arrival/{}", w.name));
    let mut out = Vec::new();
    while let Some(t) = p.next_arrival(&mut rng) {
        if t >= SimTime::ZERO + Duration::from_secs_f64(end) {
            break;
        }
        out.push(t.as_secs_f64());
    }
    out
}

#[test]
fn a_model_still_loading_after_60_s_answers_model_not_ready_and_the_load_goes_on() {
    // One model that takes 100.5 s to load; a request a second.
    let platform = mme(1, 1, vec![1.0], Some(Duration::from_millis(100_500)));
    let w = workload(ArrivalSpec::Constant { rate: 1.0 }, TargetModel::Fixed(0));
    let rec = run(&platform, &w, Duration::from_secs(200));
    let sent = arrivals(&w, 200.0);
    // The load starts with the first request and ends at first + 100.5 s;
    // whoever would wait past 60 s by then is told ModelNotReady.
    let ready = sent[0] + 100.5;
    let not_ready = sent.iter().filter(|&&t| t + 60.0 < ready).count() as u64;
    let waited = sent.iter().filter(|&&t| t < ready).count() as u64 - not_ready;
    let v = &rec.report.endpoints[0].variants[0];
    let m = v.mme.clone().unwrap();
    assert!(not_ready > 30, "{not_ready}");
    assert_eq!(m.model_not_ready, not_ready);
    assert_eq!(v.errors.throttled, not_ready, "429 ModelNotReadyException");
    assert_eq!(m.loads, 1, "one load, which went on");
    assert_eq!(m.requests - m.hits, not_ready + waited);
    assert_eq!(v.ok, sent.len() as u64 - not_ready);
    // Nobody waited longer than 60 s (to the HDR histogram's 0.1%).
    assert!(m.loading_wait_ms.max <= 60_060.0, "{:?}", m.loading_wait_ms);
    assert!(m.loading_wait_ms.max > 59_000.0, "{:?}", m.loading_wait_ms);
}

#[test]
fn a_load_past_360_s_fails_and_fails_whoever_still_waits() {
    // One model that would take 400 s: SageMaker stops a load at 360 s.
    let platform = mme(1, 1, vec![1.0], Some(Duration::from_secs(400)));
    let w = workload(ArrivalSpec::Constant { rate: 1.0 }, TargetModel::Fixed(0));
    let rec = run(&platform, &w, Duration::from_secs(500));
    let sent = arrivals(&w, 500.0);
    let v = &rec.report.endpoints[0].variants[0];
    let m = v.mme.clone().unwrap();
    // The first load fails at first + 360 s. The next request starts a
    // second, which fails 360 s later, after the run, while the run's
    // last requests drain. One whose 60 s end at the very instant its load
    // fails gets the failure: the load's timer was set first.
    let first_fails = sent[0] + 360.0;
    let second = sent.iter().copied().find(|&t| t >= first_fails).unwrap();
    let second_fails = second + 360.0;
    let failed_with = |start: f64, end: f64| {
        sent.iter()
            .filter(|&&t| t >= start && t < end && t + 60.0 >= end)
            .count() as u64
    };
    let failed = failed_with(sent[0], first_fails) + failed_with(second, second_fails);
    assert!(failed > 50, "{failed}");
    assert_eq!(m.load_failures, 2);
    assert_eq!(m.loads, 0);
    assert_eq!(v.ok, 0);
    assert_eq!(v.errors.client_4xx, failed, "ModelError with the load");
    assert_eq!(m.model_not_ready, sent.len() as u64 - failed);
    assert_eq!(v.errors.throttled, m.model_not_ready);
}

#[test]
fn a_load_failure_fault_fails_the_requests_waiting_for_the_loads_it_hits() {
    // Loads take half a second; every load that starts in the first 10 s
    // fails; a request a second.
    let mut platform = mme(1, 1, vec![1.0], Some(Duration::from_millis(500)));
    platform.faults.push(FaultSpec {
        at: Duration::ZERO,
        duration: Some(Duration::from_secs(10)),
        target: FaultTarget {
            endpoint: 0,
            variant: None,
        },
        kind: FaultKind::ModelLoadFailure {
            rate: 1.0,
            model: None,
        },
    });
    let w = workload(ArrivalSpec::Constant { rate: 1.0 }, TargetModel::Fixed(0));
    let rec = run(&platform, &w, Duration::from_secs(60));
    let sent = arrivals(&w, 60.0);
    let v = &rec.report.endpoints[0].variants[0];
    let m = v.mme.clone().unwrap();
    let in_window = sent.iter().filter(|&&t| t < 10.0).count() as u64;
    assert_eq!(m.load_failures, in_window, "each request's own load failed");
    assert_eq!(v.errors.client_4xx, in_window, "ModelError (424)");
    assert_eq!(m.loads, 1, "the first load after the fault succeeded");
    assert_eq!(v.ok, sent.len() as u64 - in_window);
    assert_eq!(m.hits, sent.len() as u64 - in_window - 1);
    let load_failed_events = rec
        .events
        .iter()
        .filter(|e| e.kind == "model_load_failed")
        .count() as u64;
    assert_eq!(load_failed_events, in_window);
}

#[test]
fn a_traces_model_column_sends_each_request_to_its_model() {
    // Memory for one of two models; the trace alternates them, so every
    // request after the first two loads finds the other model loaded:
    // all miss. The same trace on one model: all but the first hit.
    let platform = mme(2, 1, vec![1.0, 1.0], None);
    let times: Vec<f64> = (0..100).map(|k| f64::from(k) * 0.5).collect();
    let trace = ArrivalSpec::Trace {
        times: times.into(),
    };
    let alternate: Vec<u32> = (0..100).map(|k| k % 2).collect();
    let w = workload(trace.clone(), TargetModel::Sequence(alternate.into()));
    let m = run(&platform, &w, Duration::from_secs(60)).report.endpoints[0].variants[0]
        .mme
        .clone()
        .unwrap();
    assert_eq!((m.requests, m.hits, m.loads), (100, 0, 100));
    let w = workload(trace, TargetModel::Sequence(vec![1; 100].into()));
    let m = run(&platform, &w, Duration::from_secs(60)).report.endpoints[0].variants[0]
        .mme
        .clone()
        .unwrap();
    assert_eq!((m.requests, m.hits, m.loads), (100, 99, 1));
}

#[test]
fn a_models_own_latency_scales_its_service_time() {
    // Service 1 ms; model-1 is ten times slower than the distribution.
    let mut platform = mme(2, 2, vec![1.0, 1.0], None);
    let v = &mut platform.endpoints[0].variants[0];
    v.service = ServiceDist::constant(0.001).unwrap();
    v.multi_model.as_mut().unwrap().models[1].service_scale = 10.0;
    let p50 = |m: u32| {
        let w = workload(ArrivalSpec::Constant { rate: 10.0 }, TargetModel::Fixed(m));
        run(&platform, &w, Duration::from_secs(10)).report.endpoints[0]
            .latency_ms
            .p50
    };
    assert!((p50(0) - 1.0).abs() < 0.01, "{}", p50(0));
    assert!((p50(1) - 10.0).abs() < 0.05, "{}", p50(1));
}

#[test]
fn an_instance_that_crashes_loses_its_models() {
    // One instance holding model-0; it crashes at 100 s and its
    // replacement (300 s of provisioning) must load the model again.
    let mut platform = mme(1, 1, vec![1.0], Some(Duration::from_millis(500)));
    platform.faults.push(FaultSpec {
        at: Duration::from_secs(100),
        duration: None,
        target: FaultTarget {
            endpoint: 0,
            variant: None,
        },
        kind: FaultKind::InstanceCrash {
            count: 1,
            detect_after: Duration::from_secs(2),
        },
    });
    let w = workload(ArrivalSpec::Constant { rate: 1.0 }, TargetModel::Fixed(0));
    let rec = run(&platform, &w, Duration::from_secs(600));
    let m = rec.report.endpoints[0].variants[0].mme.clone().unwrap();
    assert_eq!(m.loads, 2, "loaded once, then again on the replacement");
    assert_eq!(m.loaded_models_end, 1);
    let loaded: Vec<u32> = rec
        .events
        .iter()
        .filter(|e| e.kind == "model_loaded")
        .filter_map(|e| e.instance)
        .collect();
    assert_eq!(loaded.len(), 2);
    assert_ne!(
        loaded[0], loaded[1],
        "the second load is on the new instance"
    );
}
