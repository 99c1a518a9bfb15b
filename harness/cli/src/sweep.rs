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
    Sample::of(&run(sc, seed))
}

/// How precisely `--max-rate` brackets the rate: the search stops when
/// the highest rate that held and the lowest that failed are this close.
const RATE_PRECISION: f64 = 0.005;

/// The furthest `--max-rate` scales the scenario's rates, either way.
const RATE_RANGE: f64 = 64.0;

/// `sc` with every workload's arrival rate multiplied by `k`.
fn at_rate(sc: &Scenario, k: f64) -> Scenario {
    let mut out = sc.clone();
    for w in &mut out.workloads {
        w.arrival = w.arrival.scaled(k);
    }
    out
}

/// Whether the objectives named in `slos` (all when empty) hold on every
/// seed of `sc` with its rates scaled by `k`.
fn holds_at(sc: &Scenario, k: f64, first_seed: u64, seeds: u64, slos: &[String]) -> bool {
    let scaled = at_rate(sc, k);
    (0..seeds).all(|i| {
        run(&scaled, first_seed.wrapping_add(i))
            .slos
            .iter()
            .filter(|s| slos.is_empty() || slos.contains(&s.name))
            .all(|s| s.met)
    })
}

/// The highest total arrival rate (req/s) at which the objectives hold on
/// every seed: double (or halve) the scenario's rates until they stop (or
/// start) holding, then bisect. `None` when they fail even at 1/64 of the
/// scenario's rate; at 64 times it, the search stops there.
fn max_rate(sc: &Scenario, first_seed: u64, seeds: u64, slos: &[String]) -> Option<f64> {
    let horizon = sc.duration.as_secs_f64();
    let base: f64 = sc
        .workloads
        .iter()
        .map(|w| w.arrival.mean_rate(horizon))
        .sum();
    let holds = |k: f64| holds_at(sc, k, first_seed, seeds, slos);
    let (mut lo, mut hi) = if holds(1.0) {
        let mut lo = 1.0;
        loop {
            if lo >= RATE_RANGE {
                return Some(base * lo);
            }
            if !holds(lo * 2.0) {
                break (lo, lo * 2.0);
            }
            lo *= 2.0;
        }
    } else {
        let mut hi = 1.0;
        loop {
            if hi <= 1.0 / RATE_RANGE {
                return None;
            }
            if holds(hi / 2.0) {
                break (hi / 2.0, hi);
            }
            hi /= 2.0;
        }
    };
    while (hi - lo) / lo > RATE_PRECISION {
        let mid = (lo + hi) / 2.0;
        if holds(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(base * lo)
}

/// One run's report.
fn run(sc: &Scenario, seed: u64) -> gameday_report::Report {
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
    out.finish(&sc.name, seed, &sc.slo).report
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

/// `f(0) .. f(n - 1)` on `threads` workers taking the next index from one
/// counter, each answer in its own slot: the result is the same whatever
/// the number of threads. A progress bar counts the finished ones.
fn parallel<T: Send>(
    n: usize,
    threads: usize,
    what: &'static str,
    show: bool,
    f: impl Fn(usize) -> T + Sync,
) -> Vec<T> {
    let bar = crate::progress::Progress::start(n as u64, 1, what, show);
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<T>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.min(n).max(1) {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= n {
                    break;
                }
                let got = f(k);
                slots.lock().expect("a worker panicked")[k] = Some(got);
                bar.done.fetch_add(1, Ordering::Relaxed);
            });
        }
    });
    bar.finish();
    slots
        .into_inner()
        .expect("a worker panicked")
        .into_iter()
        .map(|s| s.expect("every index ran"))
        .collect()
}

/// `--max-rate` scales open-loop rates: refuses what cannot be scaled, and
/// objectives that are not there.
fn check_max_rate(a: &SweepArgs, sc: &Scenario) -> Result<()> {
    for w in &sc.workloads {
        if matches!(
            w.arrival,
            gameday_core::ArrivalSpec::Trace { .. } | gameday_core::ArrivalSpec::Users { .. }
        ) {
            anyhow::bail!(InvalidInput(format!(
                "{}: --max-rate scales open-loop arrival rates, and workload {} is a trace or closed-loop users",
                sc.file, w.name
            )));
        }
    }
    // Training objectives do not move with an endpoint's arrival rate.
    let known: Vec<&str> = sc
        .slo
        .names()
        .into_iter()
        .filter(|n| !n.starts_with("training_"))
        .collect();
    if known.is_empty() {
        anyhow::bail!(InvalidInput(format!(
            "{}: --max-rate looks for the highest rate at which the objectives hold, and [slo] sets none",
            sc.file
        )));
    }
    for s in &a.slo {
        if !known.contains(&s.as_str()) {
            anyhow::bail!(InvalidInput(format!(
                "--slo {s}: the scenario has no such objective (it has: {})",
                known.join(", ")
            )));
        }
    }
    Ok(())
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
    if a.max_rate {
        check_max_rate(&a, &base)?;
    }
    let threads = a
        .threads
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));

    let total = scenarios.len() * seeds as usize;
    let samples = parallel(total, threads, "runs", !a.quiet, |k| {
        let (c, i) = (k / seeds as usize, k as u64 % seeds);
        sample(&scenarios[c], base.seed.wrapping_add(i))
    });

    // --max-rate: one search per configuration, configurations in
    // parallel, each search's probes in order (so the answer does not
    // depend on the threads either).
    let rates: Vec<Option<f64>> = if a.max_rate {
        parallel(scenarios.len(), threads, "rate searches", !a.quiet, |c| {
            max_rate(&scenarios[c], base.seed, seeds, &a.slo)
        })
    } else {
        vec![None; scenarios.len()]
    };

    let rows: Vec<ConfigurationResult> = configs
        .iter()
        .zip(samples.chunks(seeds as usize))
        .zip(&rates)
        .map(|((c, runs), rate)| {
            let values: BTreeMap<String, serde_json::Value> = c
                .iter()
                .map(|(f, v)| (f.clone(), serde_json::to_value(v).unwrap_or_default()))
                .collect();
            ConfigurationResult::of(values, runs).with_max_rate(*rate)
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
