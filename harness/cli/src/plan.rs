//! `gameday plan`: sweep a training job's checkpoint interval over many
//! seeds and print the expected cost and completion time of each, next to
//! the Young/Daly optimum.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use gameday_report::slo::fmt_num;
use gameday_sim::plan::{grid_around, sweep_checkpoints, young_daly, CheckpointPlan};

use crate::args::PlanArgs;
use crate::{Exit, InvalidInput};

/// Runs the sweep; returns the exit code.
pub fn plan(a: PlanArgs) -> Result<Exit> {
    let sc = gameday_scenario::load(&a.scenario)?;
    let jobs = &sc.training.jobs;
    if jobs.is_empty() {
        bail!(InvalidInput(format!(
            "{}: the scenario has no [[training_job]] to plan",
            sc.file
        )));
    }
    let job = match &a.job {
        None => 0,
        Some(name) => jobs.iter().position(|j| &j.name == name).ok_or_else(|| {
            let names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
            InvalidInput(format!(
                "--job \"{name}\": no such training job (the scenario has: {})",
                names.join(", ")
            ))
        })?,
    };
    if a.seeds == 0 || a.seeds > 100_000 {
        bail!(InvalidInput(format!(
            "--seeds must be between 1 and 100000, got {}",
            a.seeds
        )));
    }
    let spec = &jobs[job];
    let mtbi = spec
        .market
        .mtbi
        .filter(|_| spec.spot)
        .map(|m| gameday_core::time::div_duration(m, f64::from(spec.instance_count)));
    let mut intervals: Vec<Option<Duration>> = match &a.intervals {
        Some(list) => list
            .split(',')
            .map(|s| {
                gameday_scenario::units::parse_duration(s.trim())
                    .ok()
                    .filter(|d| !d.is_zero())
                    .map(Some)
                    .ok_or_else(|| {
                        InvalidInput(format!(
                            "--intervals: \"{s}\" is not a duration above zero (like 30m)"
                        ))
                    })
            })
            .collect::<Result<_, _>>()?,
        None => {
            let center = match (mtbi, spec.checkpoint_every) {
                (Some(m), _) => young_daly(spec.checkpoint_cost.max(Duration::from_secs(1)), m),
                (None, Some(every)) => every,
                (None, None) => Duration::from_secs(1800),
            };
            grid_around(center).into_iter().map(Some).collect()
        }
    };
    intervals.push(None); // the no-checkpoint baseline
    let bar =
        crate::progress::Progress::start(intervals.len() as u64 * a.seeds, 1, "runs", !a.quiet);
    let result = sweep_checkpoints(
        &sc.training,
        &sc.platform.shortages,
        job,
        &intervals,
        sc.seed,
        a.seeds,
        Some(&bar.done),
    );
    bar.finish();

    let out_dir = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports/plans").join(&sc.name));
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let json = serde_json::to_string_pretty(&result)? + "\n";
    crate::output::write_bytes(&out_dir, "plan.json", json.as_bytes())?;
    let table = render(&result);
    crate::output::write_bytes(&out_dir, "plan.md", table.as_bytes())?;
    if !a.quiet {
        print!("{table}");
        println!("\nplan in {}", out_dir.display());
    }
    Ok(Exit::Pass)
}

fn h(s: f64) -> String {
    if s >= 3600.0 {
        format!("{}h", fmt_num((s / 3600.0 * 100.0).round() / 100.0))
    } else {
        format!("{}m", fmt_num((s / 60.0 * 10.0).round() / 10.0))
    }
}

/// The plan as a Markdown table with a one-line verdict.
pub fn render(p: &CheckpointPlan) -> String {
    let mut s = format!(
        "# Checkpoint plan: {} ({} seeds per interval)\n\n",
        p.job, p.seeds
    );
    match (p.mtbi_s, p.young_daly_s) {
        (Some(m), Some(yd)) => s.push_str(&format!(
            "Checkpoint cost C = {}, mean time between interruptions M = {}: Young/Daly τ = √(2·C·M) = {}.\n\n",
            h(p.checkpoint_cost_s),
            h(m),
            h(yd)
        )),
        _ => s.push_str("The spot market never interrupts this job (on-demand, or no interruption rate): only scheduled faults interrupt it.\n\n"),
    }
    s.push_str("| checkpoint every | mean cost USD | mean wall h | p90 wall h | mean training h | completed | interruptions | steps lost | checkpoints |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|\n");
    for r in &p.intervals {
        let best = r.checkpoint_every_s.is_some() && r.checkpoint_every_s == p.best_s;
        s.push_str(&format!(
            "| {}{} | {} | {} | {} | {} | {}% | {} | {} | {} |\n",
            r.checkpoint_every_s.map_or("never".into(), h),
            if best { " (best)" } else { "" },
            fmt_num((r.mean_cost_usd * 100.0).round() / 100.0),
            fmt_num((r.mean_wall_h * 100.0).round() / 100.0),
            fmt_num((r.p90_wall_h * 100.0).round() / 100.0),
            fmt_num((r.mean_training_h * 100.0).round() / 100.0),
            fmt_num((r.completion_rate * 1000.0).round() / 10.0),
            fmt_num((r.mean_interruptions * 100.0).round() / 100.0),
            fmt_num(r.mean_steps_lost.round()),
            fmt_num(r.mean_checkpoints.round()),
        ));
    }
    if let Some(b) = p.best_s {
        s.push_str(&format!(
            "\nCheapest interval among those that complete most often: {}",
            h(b)
        ));
        if let Some(yd) = p.young_daly_s {
            s.push_str(&format!(
                " ({}× Young/Daly)",
                fmt_num((b / yd * 100.0).round() / 100.0)
            ));
        }
        s.push_str(".\n");
    }
    s
}
