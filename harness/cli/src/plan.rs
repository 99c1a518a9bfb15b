//! `gameday plan`: sweep a training job's checkpoint interval over many
//! seeds and print the expected cost and completion time of each, next to
//! the Young/Daly optimum.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use gameday_report::plan::PlanArtifact;
use gameday_sim::plan::{grid_around, sweep_checkpoints, young_daly};

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
    for w in PlanArtifact::FILES {
        let file = w.file().expect("FILES are files");
        crate::output::write_file(&out_dir, file, |f| w.write(&result, f))?;
    }
    if !a.quiet {
        PlanArtifact::Terminal.write(&result, std::io::stdout().lock())?;
        println!("\nplan in {}", out_dir.display());
    }
    Ok(Exit::Pass)
}
