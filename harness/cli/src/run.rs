//! `gameday run` and `gameday validate`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use gameday_report::artifacts::Artifact;
use gameday_report::baseline::{compare, Tolerances};
use gameday_report::Report;
use gameday_scenario::{ClockKind, TargetKind};
use gameday_sim::{simulate, SimConfig};

use crate::args::{ClockArg, RunArgs, ServeArgs, TargetArg, ValidateArgs};
use crate::output::{default_out_dir, prepare_out_dir, write_all, RunInfo};
use crate::{Exit, InvalidInput};

/// Wall-clock start and a monotonic stopwatch: the CLI is the one place
/// allowed to read real time, and it only goes to `run.json` and the
/// default folder name, never into `report.json`.
#[allow(clippy::disallowed_methods)]
fn wall_now() -> (f64, std::time::Instant) {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    (unix, std::time::Instant::now())
}

fn host() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
}

/// Runs a scenario; returns the exit code.
pub fn run(a: RunArgs) -> Result<Exit> {
    let mut sc = gameday_scenario::load(&a.scenario)?;
    if let Some(seed) = a.seed {
        sc.seed = seed;
    }
    if let Some(c) = a.clock {
        sc.clock = match c {
            ClockArg::Virtual => ClockKind::Virtual,
            ClockArg::Wall => ClockKind::Wall,
        };
    }
    if let Some(t) = a.target {
        sc.target = match t {
            TargetArg::Local => TargetKind::Local,
            TargetArg::Http => TargetKind::Http,
            TargetArg::Sagemaker => TargetKind::Sagemaker,
        };
    }
    if let Some(x) = a.time_scale {
        sc.time_scale = check_time_scale(x)?;
    }
    if a.endpoint_url.is_some() {
        sc.endpoint_url = a.endpoint_url.clone();
    }
    if a.region.is_some() {
        sc.region = a.region.clone();
    }
    if sc.clock == ClockKind::Wall && has_shadows(&sc) {
        bail!(InvalidInput(format!("{}: shadow variants run on the virtual clock for now (the wall clock's server does not copy requests yet): drop --clock wall", a.scenario.display())));
    }
    if sc.clock == ClockKind::Virtual && sc.target != TargetKind::Local {
        bail!(InvalidInput("a virtual-clock run only drives the embedded platform: use --target local, or --clock wall for http/sagemaker targets".into()));
    }
    let baseline = match &a.baseline {
        Some(p) => Some(read_report(p, "baseline")?),
        None => None,
    };

    let stop = install_stop_handler();

    let (started_unix, clock) = wall_now();
    let out_dir: PathBuf = a
        .out
        .clone()
        .unwrap_or_else(|| default_out_dir(&sc.name, sc.seed, started_unix as u64));
    // Children (training scripts, model servers) run in folders of their
    // own: every path they are given must be absolute.
    let out_dir = std::path::absolute(&out_dir).unwrap_or(out_dir);
    // Learn now, not after an hour of game day, that `--out` is unusable.
    prepare_out_dir(&out_dir)?;
    let (mut rec, events_processed) = match sc.clock {
        ClockKind::Virtual => {
            // Simulated seconds (training runs past the duration: the bar
            // then sits full until they end).
            let bar = crate::progress::Progress::start(
                sc.duration.as_secs().max(1),
                1_000_000_000,
                "simulated s",
                !a.quiet,
            );
            let sim = simulate(SimConfig {
                platform: &sc.platform,
                workloads: &sc.workloads,
                training: &sc.training,
                duration: sc.duration,
                interval: sc.timeline_interval,
                seed: sc.seed,
                stop: Some(&stop),
                progress: Some(&bar.done),
                slo: &sc.slo,
            });
            bar.finish();
            let events_processed = sim.events_processed;
            (
                sim.finish(&sc.name, sc.seed, &sc.slo),
                Some(events_processed),
            )
        }
        ClockKind::Wall => {
            let out = crate::wall::run(
                &sc,
                stop.clone(),
                crate::wall::WallOptions {
                    progress: !a.quiet,
                    out_dir: out_dir.clone(),
                    load_threads: a.load_threads.map(usize::from),
                },
            )?;
            (out.record, None)
        }
    };
    let wall = clock.elapsed().as_secs_f64();

    if let Some(b) = &baseline {
        let cmp = compare(&rec.report, b, tolerances(&sc, &a));
        if cmp.other_scenario {
            eprintln!(
                "warning: the baseline comes from another scenario ({}); comparing {} against it anyway",
                cmp.baseline_scenario, sc.name
            );
        }
        gameday_report::baseline::apply(&mut rec.report, cmp);
    }
    let requests: u64 = rec.report.endpoints.iter().map(|e| e.requests).sum();
    let info = run_info(
        &sc,
        started_unix,
        wall,
        events_processed.map(|events| (requests, events)),
    );
    write_all(&out_dir, &rec, &info)?;
    let step_summary = a
        .summary_md
        .clone()
        .or_else(|| std::env::var_os("GITHUB_STEP_SUMMARY").map(PathBuf::from));
    if let Some(path) = step_summary {
        crate::output::append_step_summary(&path, &rec.report, &out_dir)?;
    }

    if !a.quiet {
        let mut out = std::io::stdout().lock();
        Artifact::Terminal.write(&rec, &[], &mut out)?;
        println!("reports in {}", out_dir.display());
    }
    if rec.report.slos.iter().any(|s| s.name == "abort_on_burn") {
        eprintln!(
            "run {}: report written to {}",
            rec.report.incomplete_reason.as_deref().unwrap_or("stopped"),
            out_dir.display()
        );
        return Ok(Exit::Fail);
    }
    if !rec.report.complete {
        eprintln!(
            "run interrupted: partial report written to {}",
            out_dir.display()
        );
        return Ok(Exit::Runtime);
    }
    Ok(if rec.report.verdict == "pass" {
        Exit::Pass
    } else {
        Exit::Fail
    })
}

/// Baseline tolerances: the scenario's `[baseline]`, then the flags.
fn tolerances(sc: &gameday_scenario::Scenario, a: &RunArgs) -> Tolerances {
    a.tolerance.over(sc.baseline_tolerances)
}

/// A report.json from disk (unreadable or not a report: invalid input).
fn read_report(p: &std::path::Path, what: &str) -> Result<Report> {
    let text = std::fs::read_to_string(p)
        .with_context(|| format!("cannot read {what} {}", p.display()))
        .map_err(|e| InvalidInput(format!("{e:#}")))?;
    Ok(serde_json::from_str(&text)
        .map_err(|e| InvalidInput(format!("{}: not a gameday report.json: {e}", p.display())))?)
}

/// `gameday compare BASELINE CANDIDATE`.
pub fn compare_reports(a: crate::args::CompareArgs) -> Result<Exit> {
    let baseline = read_report(&a.baseline, "baseline")?;
    let candidate = read_report(&a.candidate, "report")?;
    let cmp = compare(
        &candidate,
        &baseline,
        a.tolerance.over(Tolerances::default()),
    );
    gameday_report::baseline::write_comparison(
        &baseline,
        &candidate,
        &cmp,
        std::io::stdout().lock(),
    )?;
    Ok(if cmp.regressions.is_empty() {
        Exit::Pass
    } else {
        Exit::Fail
    })
}

fn check_time_scale(x: f64) -> Result<f64> {
    gameday_scenario::validate::check_time_scale(x)
        .map_err(|m| InvalidInput(format!("--{}", m.replacen('_', "-", 1))).into())
}

fn install_stop_handler() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // A second handler cannot be installed in-process (tests); ignore that.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    stop
}

/// Serves a scenario's embedded platform until Ctrl-C, SIGTERM or `POST
/// /_gameday/stop`, then writes the game day's report files.
pub fn serve(a: ServeArgs) -> Result<Exit> {
    let mut sc = gameday_scenario::load(&a.scenario)?;
    if has_shadows(&sc) {
        bail!(InvalidInput(format!("{}: shadow variants run on the virtual clock for now (`gameday serve` does not copy requests yet): use gameday run", a.scenario.display())));
    }
    if let Some(seed) = a.seed {
        sc.seed = seed;
    }
    if let Some(x) = a.time_scale {
        sc.time_scale = check_time_scale(x)?;
    }
    let stop = install_stop_handler();
    let (started_unix, clock) = wall_now();
    let out_dir = a
        .out
        .clone()
        .unwrap_or_else(|| default_out_dir(&sc.name, sc.seed, started_unix as u64));
    let out_dir = std::path::absolute(&out_dir).unwrap_or(out_dir);
    prepare_out_dir(&out_dir)?;
    let cfg = crate::serve::ServeConfig {
        bind: a.bind,
        control_token: a.control_token.clone(),
        limits: gameday_live::Limits {
            header_read_timeout: gameday_core::time::secs_to_duration(a.header_timeout),
            body_read_timeout: gameday_core::time::secs_to_duration(a.body_timeout),
            max_connections: a.max_connections.max(1),
        },
        show_events: !a.quiet,
        out_dir: out_dir.clone(),
    };
    let rec = crate::serve::serve(&sc, cfg, stop)?;
    let info = run_info(&sc, started_unix, clock.elapsed().as_secs_f64(), None);
    write_all(&out_dir, &rec, &info)?;
    if !a.quiet {
        // stdout may be closed by now (a client that read the address).
        let _ = Artifact::Terminal.write(&rec, &[], std::io::stdout().lock());
    }
    crate::serve::say!("reports in {}", out_dir.display());
    Ok(if rec.report.verdict == "pass" {
        Exit::Pass
    } else {
        Exit::Fail
    })
}

/// `run.json`'s content.
fn run_info(
    sc: &gameday_scenario::Scenario,
    started_unix: f64,
    wall: f64,
    simulated: Option<(u64, u64)>,
) -> RunInfo {
    RunInfo {
        tool_version: env!("CARGO_PKG_VERSION").into(),
        command_line: gameday_load::redact::command_line(std::env::args()),
        host: host(),
        started_unix_s: started_unix,
        wall_time_s: wall,
        simulated_requests_per_wall_s: simulated
            .filter(|_| wall > 0.0)
            .map(|(requests, _)| requests as f64 / wall),
        events_processed: simulated.map(|(_, events)| events),
        scenario_file: sc.file.clone(),
    }
}

/// Checks scenario files; returns the exit code.
pub fn validate(a: ValidateArgs) -> Result<Exit> {
    let mut bad = 0;
    for f in &a.scenarios {
        match gameday_scenario::load(f) {
            Ok(sc) => println!(
                "ok: {} (\"{}\": {} endpoint(s), {} workload(s), {} training job(s), {} fault(s))",
                f.display(),
                sc.name,
                sc.platform.endpoints.len(),
                sc.workloads.len(),
                sc.training.jobs.len(),
                sc.platform.faults.len() + sc.training.faults.len()
            ),
            Err(e) => {
                bad += 1;
                eprintln!("{e}");
            }
        }
    }
    if bad > 0 {
        bail!(InvalidInput(format!(
            "{bad} of {} scenario file(s) invalid",
            a.scenarios.len()
        )));
    }
    Ok(Exit::Pass)
}

/// Whether any endpoint of the scenario has a shadow variant.
pub(crate) fn has_shadows(sc: &gameday_scenario::Scenario) -> bool {
    sc.platform
        .endpoints
        .iter()
        .any(|e| e.variants.iter().any(|v| v.shadow.is_some()))
}
