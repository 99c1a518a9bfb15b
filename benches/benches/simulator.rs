//! Simulated requests per second of wall time, on one core.
//!
//! `cargo bench -p gameday-benches` — criterion prints throughput in
//! elements (simulated requests) per second. Goal: at least 3 million, so a
//! simulated day at 1,000 req/s takes under 30 s, with target tracking
//! too (`quickstart_target_tracking`: alarms every 10 s, a scale-out).
//! A multi-model endpoint of 1,000 models with loads and evictions
//! (`multi_model_1000`): at least 2 million. The quickstart with a feature
//! lookup before every inference (`quickstart_features`: 100,000 records,
//! Zipf popularity, a stale_cache fallback through an outage): at least
//! 2.5 million.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gameday_sim::{simulate, SimConfig};

fn load(name: &str) -> gameday_scenario::Scenario {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(name);
    gameday_scenario::load(&p).expect("shipped scenario is valid")
}

/// A benchmark's own scenario (`benches/scenarios/`).
fn load_bench(name: &str) -> gameday_scenario::Scenario {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    gameday_scenario::load(&p).expect("benchmark scenario is valid")
}

/// The quickstart with target tracking on its variant: InvocationsPerInstance
/// at 3,000 a minute, so its 150 req/s on two instances scale it out.
fn with_target_tracking(mut sc: gameday_scenario::Scenario) -> gameday_scenario::Scenario {
    use gameday_core::autoscaling::*;
    sc.platform.endpoints[0].variants[0].autoscaling = Some(AutoscalingSpec {
        min: 2,
        max: 10,
        target_tracking: vec![TargetTrackingSpec {
            scale_out_cooldown: std::time::Duration::from_secs(60),
            scale_in_cooldown: std::time::Duration::from_secs(600),
            ..TargetTrackingSpec::new(Metric::InvocationsPerInstance, 3000.0)
        }],
        step: vec![],
        scheduled: vec![],
    });
    sc
}

/// The quickstart with its endpoint reading a feature group of 100,000
/// records before each inference, and a five-minute outage served from
/// the instances' caches.
fn with_features(mut sc: gameday_scenario::Scenario) -> gameday_scenario::Scenario {
    use gameday_core::features::*;
    use std::time::Duration;
    sc.platform.feature_store = FeatureStoreSpec {
        groups: vec![FeatureGroupSpec {
            zipf: Some(1.0),
            refresh: Some(Duration::from_secs(900)),
            ..FeatureGroupSpec::new(
                "customer-features",
                100_000,
                gameday_core::dist::ServiceDist::lognormal_from_p50_p99(0.004, 0.015)
                    .expect("valid latency"),
                vec![FeatureDef {
                    name: "purchase_count_30d".into(),
                    default: "0".into(),
                }],
            )
        }],
        uses: vec![FeatureUseSpec {
            endpoint: 0,
            groups: vec![0],
            timeout: Duration::from_millis(50),
            on_failure: OnFailure::StaleCache,
            cache_ttl: Duration::from_secs(600),
            then: OnFailure::Default,
        }],
        outages: vec![FeatureOutageSpec {
            group: 0,
            mode: OutageMode::Unavailable,
            at: Duration::from_secs(120),
            duration: Some(Duration::from_secs(300)),
        }],
        quotas: StoreQuotas::default(),
    };
    sc
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("simulator");
    g.sample_size(10);
    for (label, sc) in [
        ("quickstart", load("quickstart.toml")),
        (
            "quickstart_target_tracking",
            with_target_tracking(load("quickstart.toml")),
        ),
        (
            "quickstart_features",
            with_features(load("quickstart.toml")),
        ),
        ("mmc_rho0.8", load("mmc-erlang-check.toml")),
        ("multi_model_1000", load_bench("multi-model-1000.toml")),
    ] {
        let cfg = SimConfig {
            platform: &sc.platform,
            workloads: &sc.workloads,
            training: &sc.training,
            duration: sc.duration,
            interval: sc.timeline_interval,
            seed: sc.seed,
            stop: None,
            progress: None,
            slo: &sc.slo,
        };
        // Requests per run are fixed by the seed: measure once, report per request.
        let report = simulate(cfg).finish(&sc.name, sc.seed, &sc.slo).report;
        let requests: u64 = report.endpoints.iter().map(|e| e.requests).sum();
        if label == "quickstart_target_tracking" {
            let acts = &report.endpoints[0].variants[0].scaling_activities;
            assert!(!acts.is_empty(), "the benchmark scales out");
        }
        if label == "quickstart_features" {
            let f = report.endpoints[0].features.as_ref().expect("features");
            assert!(f.served_cached > 10_000, "the benchmark serves from cache");
        }
        if label == "multi_model_1000" {
            let m = report.endpoints[0].variants[0].mme.as_ref().expect("mme");
            assert!(m.unloads > 100_000, "the benchmark loads and evicts");
        }
        g.throughput(Throughput::Elements(requests));
        g.bench_function(label, |b| {
            b.iter(|| {
                let out = simulate(black_box(cfg));
                black_box(out.events_processed)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
