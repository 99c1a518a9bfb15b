//! `gameday plan`'s result, and its writers: `plan.json`, `plan.md` and
//! the terminal, in one registry ([`PlanArtifact`]) like a run's
//! [`crate::artifacts::Artifact`].

use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::slo::fmt_num;
use crate::writers::WriteError;

/// One interval's expected outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntervalResult {
    /// Compute time between checkpoints, seconds (`null`: none).
    pub checkpoint_every_s: Option<f64>,
    /// Mean cost, USD.
    pub mean_cost_usd: f64,
    /// Mean time from creation to the end, hours.
    pub mean_wall_h: f64,
    /// 90th-percentile wall time, hours.
    pub p90_wall_h: f64,
    /// Mean instance time held, hours.
    pub mean_training_h: f64,
    /// Share of seeds in which the job completed.
    pub completion_rate: f64,
    /// Mean interruptions per run.
    pub mean_interruptions: f64,
    /// Mean steps lost per run.
    pub mean_steps_lost: f64,
    /// Mean checkpoints written per run.
    pub mean_checkpoints: f64,
}

/// A whole sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointPlan {
    /// The job swept.
    pub job: String,
    /// Seeds per interval.
    pub seeds: u64,
    /// Time to write one checkpoint, seconds.
    pub checkpoint_cost_s: f64,
    /// Mean time between interruptions of the job (any of its
    /// instances), seconds; `null` when the market never interrupts.
    pub mtbi_s: Option<f64>,
    /// √(2·C·M), seconds.
    pub young_daly_s: Option<f64>,
    /// One row per interval, in the order given.
    pub intervals: Vec<IntervalResult>,
    /// The interval with the lowest mean cost among those that complete
    /// most often.
    pub best_s: Option<f64>,
}

/// Everything `gameday plan` writes, in one registry the CLI loops over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanArtifact {
    /// `plan.json`: what scripts read.
    Json,
    /// `plan.md`: the table for people.
    Markdown,
    /// The terminal: the same table.
    Terminal,
}

impl PlanArtifact {
    /// The files, in the order they are written.
    pub const FILES: [PlanArtifact; 2] = [PlanArtifact::Json, PlanArtifact::Markdown];

    /// Its file name (`None`: the terminal).
    pub fn file(self) -> Option<&'static str> {
        match self {
            PlanArtifact::Json => Some("plan.json"),
            PlanArtifact::Markdown => Some("plan.md"),
            PlanArtifact::Terminal => None,
        }
    }

    /// Renders `plan`.
    pub fn write<W: Write>(self, plan: &CheckpointPlan, mut w: W) -> Result<(), WriteError> {
        match self {
            PlanArtifact::Json => crate::writers::write_json_value(plan, w),
            PlanArtifact::Markdown | PlanArtifact::Terminal => {
                w.write_all(render(plan).as_bytes())?;
                Ok(())
            }
        }
    }
}

fn h(s: f64) -> String {
    if s >= 3600.0 {
        format!("{}h", fmt_num((s / 3600.0 * 100.0).round() / 100.0))
    } else {
        format!("{}m", fmt_num((s / 60.0 * 10.0).round() / 10.0))
    }
}

/// The plan as a Markdown table with a one-line verdict.
fn render(p: &CheckpointPlan) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> CheckpointPlan {
        let row = |every: Option<f64>, cost: f64| IntervalResult {
            checkpoint_every_s: every,
            mean_cost_usd: cost,
            mean_wall_h: 21.0,
            p90_wall_h: 24.0,
            mean_training_h: 20.5,
            completion_rate: 1.0,
            mean_interruptions: 3.0,
            mean_steps_lost: 120.0,
            mean_checkpoints: 40.0,
        };
        CheckpointPlan {
            job: "finetune".into(),
            seeds: 10,
            checkpoint_cost_s: 30.0,
            mtbi_s: Some(21_600.0),
            young_daly_s: Some(1_138.4),
            intervals: vec![row(Some(1_800.0), 190.0), row(None, 260.0)],
            best_s: Some(1_800.0),
        }
    }

    fn render_with(a: PlanArtifact) -> String {
        let mut out = Vec::new();
        a.write(&plan(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_plan_writer_renders_into_memory() {
        let json: CheckpointPlan = serde_json::from_str(&render_with(PlanArtifact::Json)).unwrap();
        assert_eq!(json, plan());
        let md = render_with(PlanArtifact::Markdown);
        assert!(md.starts_with("# Checkpoint plan: finetune (10 seeds per interval)"));
        assert!(md.contains("| 30m (best) | 190 |"), "{md}");
        assert!(md.contains("| never | 260 |"), "{md}");
        assert!(
            md.contains(
                "Cheapest interval among those that complete most often: 30m (1.58× Young/Daly)."
            ),
            "{md}"
        );
        assert_eq!(render_with(PlanArtifact::Terminal), md);
        assert_eq!(
            PlanArtifact::FILES.map(PlanArtifact::file),
            [Some("plan.json"), Some("plan.md")]
        );
    }
}
