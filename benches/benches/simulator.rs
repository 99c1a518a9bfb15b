//! Simulated requests per second of wall time, on one core.
//!
//! `cargo bench -p gameday-benches` — criterion prints throughput in
//! elements (simulated requests) per second. Goal: at least 3 million, so a
//! simulated day at 1,000 req/s takes under 30 s.

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

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("simulator");
    g.sample_size(10);
    for (label, file) in [
        ("quickstart", "quickstart.toml"),
        ("mmc_rho0.8", "mmc-erlang-check.toml"),
    ] {
        let sc = load(file);
        let cfg = SimConfig {
            platform: &sc.platform,
            workloads: &sc.workloads,
            training: &sc.training,
            duration: sc.duration,
            interval: sc.timeline_interval,
            seed: sc.seed,
            stop: None,
        };
        // Requests per run are fixed by the seed: measure once, report per request.
        let requests: u64 = simulate(cfg)
            .finish(&sc.name, sc.seed, &sc.slo)
            .report
            .endpoints
            .iter()
            .map(|e| e.requests)
            .sum();
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
