//! `gameday sweep`: run a scenario for every combination of its `[sweep]`
//! grid, each over several seeds, in parallel, on the virtual clock, and
//! name the cheapest configuration that meets every objective on every
//! seed.
//!
//! Runs are numbered (configuration × seed) and taken by worker threads
//! from one counter; each result lands in its own slot, so `sweep.json` is
//! the same bytes whatever the number of threads. A run's record is
//! reduced to a [`Sample`] and dropped before the next, so memory does
//! not grow with the number of runs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{Context, Result};
use gameday_report::sweep::{ConfigurationResult, Sample, SweepArtifact, SweepReport};
use gameday_scenario::sweep::{apply, show, Configuration};
use gameday_scenario::{ClockKind, Scenario};
use gameday_sim::{simulate, SimConfig};

use crate::args::SweepArgs;
use crate::{Exit, InvalidInput};

/// Runs one configuration on one seed.
fn sample(sc: &Scenario, seed: u64) -> Sample {
    let out = simulate(SimConfig {
        platform: &sc.platform,
        workloads: &sc.workloads,
        training: &sc.training,
        duration: sc.duration,
        interval: sc.timeline_interval,
        seed,
        stop: None,
        progress: None,
        slo: &sc.slo,
    });
    Sample::of(&out.finish(&sc.name, seed, &sc.slo).report)
}

/// The scenario of each configuration, checked like any scenario file.
fn configurations(
    a: &SweepArgs,
    base: &Scenario,
    configs: &[Configuration],
) -> Result<Vec<Scenario>> {
    let src = std::fs::read_to_string(&a.scenario)
        .with_context(|| format!("cannot read {}", a.scenario.display()))?;
    let dir = a.scenario.parent().unwrap_or(std::path::Path::new("."));
    configs
        .iter()
        .map(|c| {
            let label = c
                .iter()
                .map(|(f, v)| format!("{f} = {}", show(v)))
                .collect::<Vec<_>>()
                .join(", ");
            let text = apply(&src, c)
                .map_err(|e| InvalidInput(format!("{}: [sweep] {label}: {e}", base.file)))?;
            let sc = gameday_scenario::parse(&base.file, &text, dir).map_err(|e| {
                let why = match e {
                    gameday_scenario::ScenarioError::Invalid(d) => d
                        .iter()
                        .map(|d| format!("{}: {}", d.field, d.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                    other => other.to_string(),
                };
                InvalidInput(format!(
                    "{}: [sweep] configuration {label} is not a valid scenario: {why}",
                    base.file
                ))
            })?;
            Ok(sc)
        })
        .collect()
}

/// Runs the sweep; exit 0 when some configuration holds on every seed,
/// 1 when none does.
pub fn sweep(a: SweepArgs) -> Result<Exit> {
    let base = gameday_scenario::load(&a.scenario)?;
    let Some(spec) = base.sweep.clone() else {
        anyhow::bail!(InvalidInput(format!(
            "{}: no [sweep] section: add one, e.g.\n[sweep]\nseeds = 5\nvary = [ {{ field = \"endpoint.NAME.variant.NAME.instance_count\", values = [1, 2, 4] }} ]",
            base.file
        )));
    };
    if base.clock == ClockKind::Wall {
        eprintln!("note: the scenario's clock is wall; a sweep runs every configuration on the virtual clock");
    }
    let seeds = a.seeds.unwrap_or(spec.seeds).max(1);
    let configs = spec.configurations();
    let scenarios = configurations(&a, &base, &configs)?;
    let threads = a
        .threads
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));

    let total = scenarios.len() * seeds as usize;
    let bar = crate::progress::Progress::start(total as u64, 1, "runs", !a.quiet);
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<Sample>>> = Mutex::new(vec![None; total]);
    std::thread::scope(|s| {
        for _ in 0..threads.min(total).max(1) {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= total {
                    break;
                }
                let (c, i) = (k / seeds as usize, k as u64 % seeds);
                let got = sample(&scenarios[c], base.seed.wrapping_add(i));
                slots.lock().expect("a worker panicked")[k] = Some(got);
                bar.done.fetch_add(1, Ordering::Relaxed);
            });
        }
    });
    bar.finish();
    let samples: Vec<Sample> = slots
        .into_inner()
        .expect("a worker panicked")
        .into_iter()
        .map(|s| s.expect("every run finished"))
        .collect();

    let rows: Vec<ConfigurationResult> = configs
        .iter()
        .zip(samples.chunks(seeds as usize))
        .map(|(c, runs)| {
            let values: BTreeMap<String, serde_json::Value> = c
                .iter()
                .map(|(f, v)| (f.clone(), serde_json::to_value(v).unwrap_or_default()))
                .collect();
            ConfigurationResult::of(values, runs)
        })
        .collect();
    let fields = spec.vary.iter().map(|v| v.field.clone()).collect();
    let report = SweepReport::new(&base.name, base.seed, seeds, fields, rows);

    let out_dir = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports/sweeps").join(&base.name));
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    for w in SweepArtifact::FILES {
        let file = w.file().expect("FILES are files");
        crate::output::write_file(&out_dir, file, |f| w.write(&report, f))?;
    }
    if !a.quiet {
        SweepArtifact::Terminal.write(&report, std::io::stdout().lock())?;
        println!("\nsweep in {}", out_dir.display());
    }
    Ok(if report.best.is_some() {
        Exit::Pass
    } else {
        Exit::Fail
    })
}
