//! What writing every report costs, against the run it reports on.
//!
//! `cargo bench -p gameday-benches --bench reports`: simulates
//! `scenarios/diurnal-day.toml` once (a day at up to ~1,400 req/s, about
//! 46 s here), then measures drawing its charts and rendering every
//! artifact (report.json, summary.md, report.html, junit.xml,
//! timeline.csv, events.csv, the SVG files) into memory. The goal is
//! under 10% of the run's time; the figure is independent of the request
//! count (it grows with timeline rows and events).

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use gameday_report::artifacts::Artifact;
use gameday_sim::{simulate, SimConfig};

fn bench(c: &mut Criterion) {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/diurnal-day.toml");
    let sc = gameday_scenario::load(&p).expect("shipped scenario is valid");
    let rec = simulate(SimConfig {
        platform: &sc.platform,
        workloads: &sc.workloads,
        training: &sc.training,
        duration: sc.duration,
        interval: sc.timeline_interval,
        seed: sc.seed,
        stop: None,
        progress: None,
        slo: &sc.slo,
    })
    .finish(&sc.name, sc.seed, &sc.slo);
    let mut g = c.benchmark_group("reports");
    g.sample_size(20);
    g.bench_function("diurnal_day_every_artifact", |b| {
        b.iter(|| {
            let charts = gameday_report::charts::charts(black_box(&rec));
            let mut bytes = 0;
            for a in Artifact::ALL {
                let mut out = Vec::new();
                a.write(&rec, &charts, &mut out).expect("renders");
                bytes += out.len();
            }
            bytes + charts.iter().map(|c| c.svg.len()).sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
