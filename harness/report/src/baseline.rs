//! Comparing a run against a baseline `report.json` (a CI regression gate).

use serde::{Deserialize, Serialize};

use crate::model::{round6, Report};

/// How much worse than the baseline a run may be before it regresses.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tolerances {
    /// Allowed p99 growth, percent.
    pub latency_p99_pct: f64,
    /// Allowed error-rate growth, absolute (0.001 = 0.1 points).
    pub error_rate_abs: f64,
    /// Allowed total-cost growth, percent.
    pub cost_pct: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            latency_p99_pct: 10.0,
            error_rate_abs: 0.001,
            cost_pct: 5.0,
        }
    }
}

/// One metric that got worse than the baseline allows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Regression {
    /// Endpoint, or `None` for run-wide metrics.
    pub endpoint: Option<String>,
    /// `latency_p99`, `error_rate`, `cost_total_usd` or `endpoint_missing`.
    pub metric: String,
    /// Baseline value.
    pub baseline: f64,
    /// This run's value.
    pub actual: f64,
    /// Highest acceptable value.
    pub limit: f64,
}

/// The outcome of a baseline comparison, stored in the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BaselineComparison {
    /// The baseline's scenario name and seed.
    pub baseline_scenario: String,
    /// True when the baseline comes from a scenario of another name: the
    /// comparison is then between two different things.
    #[serde(default)]
    pub other_scenario: bool,
    /// Tolerances used.
    pub tolerances: Tolerances,
    /// What regressed; empty means no regression.
    pub regressions: Vec<Regression>,
}

impl Regression {
    /// One line for people: `fraud latency_p99: 52.1 (baseline 45.0, limit 49.5)`.
    pub fn describe(&self) -> String {
        format!(
            "{} {}: {} (baseline {}, limit {})",
            self.endpoint.as_deref().unwrap_or("(all)"),
            self.metric,
            crate::slo::fmt_num(self.actual),
            crate::slo::fmt_num(self.baseline),
            crate::slo::fmt_num(self.limit)
        )
    }
}

/// Stores `cmp` in `report` and, when anything regressed, turns its
/// verdict to `fail`: the files say what the exit code says.
pub fn apply(report: &mut Report, cmp: BaselineComparison) {
    if !cmp.regressions.is_empty() {
        report.verdict = "fail".into();
    }
    report.baseline = Some(cmp);
}

/// Compares `current` with `baseline`.
pub fn compare(current: &Report, baseline: &Report, tol: Tolerances) -> BaselineComparison {
    let mut regressions = Vec::new();
    for b in &baseline.endpoints {
        let Some(c) = current.endpoints.iter().find(|e| e.name == b.name) else {
            regressions.push(Regression {
                endpoint: Some(b.name.clone()),
                metric: "endpoint_missing".into(),
                baseline: b.requests as f64,
                actual: 0.0,
                limit: 0.0,
            });
            continue;
        };
        let limit = round6(b.latency_ms.p99 * (1.0 + tol.latency_p99_pct / 100.0));
        if c.latency_ms.p99 > limit {
            regressions.push(Regression {
                endpoint: Some(b.name.clone()),
                metric: "latency_p99".into(),
                baseline: b.latency_ms.p99,
                actual: c.latency_ms.p99,
                limit,
            });
        }
        let limit = round6(b.error_rate + tol.error_rate_abs);
        if c.error_rate > limit {
            regressions.push(Regression {
                endpoint: Some(b.name.clone()),
                metric: "error_rate".into(),
                baseline: b.error_rate,
                actual: c.error_rate,
                limit,
            });
        }
    }
    let limit = round6(baseline.cost.total_usd * (1.0 + tol.cost_pct / 100.0));
    if current.cost.total_usd > limit {
        regressions.push(Regression {
            endpoint: None,
            metric: "cost_total_usd".into(),
            baseline: baseline.cost.total_usd,
            actual: current.cost.total_usd,
            limit,
        });
    }
    BaselineComparison {
        baseline_scenario: format!(
            "{} (seed {})",
            baseline.scenario.name, baseline.scenario.seed
        ),
        other_scenario: baseline.scenario.name != current.scenario.name,
        tolerances: tol,
        regressions,
    }
}

/// `gameday compare`: the two reports side by side, per endpoint and for
/// the run, each metric with its change and (for the gated ones) the limit
/// and whether it regressed.
pub fn write_comparison<W: std::io::Write>(
    baseline: &Report,
    candidate: &Report,
    cmp: &BaselineComparison,
    mut w: W,
) -> Result<(), crate::writers::WriteError> {
    use crate::slo::fmt_num;
    let t = &cmp.tolerances;
    writeln!(
        w,
        "baseline  {} (seed {}, {} clock)\ncandidate {} (seed {}, {} clock)",
        baseline.scenario.name,
        baseline.scenario.seed,
        baseline.scenario.clock,
        candidate.scenario.name,
        candidate.scenario.seed,
        candidate.scenario.clock
    )?;
    if cmp.other_scenario {
        writeln!(w, "warning: two different scenarios")?;
    }
    writeln!(
        w,
        "tolerances: p99 +{}%, error rate +{}, cost +{}%\n",
        fmt_num(t.latency_p99_pct),
        fmt_num(t.error_rate_abs),
        fmt_num(t.cost_pct)
    )?;
    writeln!(
        w,
        "{:<28} {:<16} {:>12} {:>12} {:>9} {:>12}  result",
        "endpoint", "metric", "baseline", "candidate", "change", "limit"
    )?;
    let regressed = |endpoint: Option<&str>, metric: &str| {
        cmp.regressions
            .iter()
            .find(|g| g.endpoint.as_deref() == endpoint && g.metric == metric)
    };
    let change = |a: f64, b: f64| {
        if a == 0.0 {
            if b == 0.0 {
                "0%".to_string()
            } else {
                "new".to_string()
            }
        } else {
            format!("{:+.1}%", (b - a) / a * 100.0)
        }
    };
    let row = |w: &mut W,
               ep: &str,
               metric: &str,
               a: f64,
               b: f64,
               limit: Option<f64>,
               gated: Option<&str>|
     -> std::io::Result<()> {
        let result = match (limit, gated) {
            (None, _) => "",
            (Some(_), Some(m)) if regressed((ep != "(all)").then_some(ep), m).is_some() => {
                "REGRESSED"
            }
            (Some(_), _) => "ok",
        };
        writeln!(
            w,
            "{:<28} {:<16} {:>12} {:>12} {:>9} {:>12}  {}",
            ep,
            metric,
            fmt_num(a),
            fmt_num(b),
            change(a, b),
            limit.map(fmt_num).unwrap_or_default(),
            result
        )
    };
    for be in &baseline.endpoints {
        let Some(ce) = candidate.endpoints.iter().find(|e| e.name == be.name) else {
            writeln!(w, "{:<28} missing from the candidate  REGRESSED", be.name)?;
            continue;
        };
        let n = be.name.as_str();
        row(
            &mut w,
            n,
            "latency_p99_ms",
            be.latency_ms.p99,
            ce.latency_ms.p99,
            Some(round6(
                be.latency_ms.p99 * (1.0 + t.latency_p99_pct / 100.0),
            )),
            Some("latency_p99"),
        )?;
        row(
            &mut w,
            n,
            "error_rate",
            be.error_rate,
            ce.error_rate,
            Some(round6(be.error_rate + t.error_rate_abs)),
            Some("error_rate"),
        )?;
        row(
            &mut w,
            n,
            "latency_p50_ms",
            be.latency_ms.p50,
            ce.latency_ms.p50,
            None,
            None,
        )?;
        row(
            &mut w,
            n,
            "throughput_rps",
            be.throughput_rps,
            ce.throughput_rps,
            None,
            None,
        )?;
        row(&mut w, n, "cost_usd", be.cost_usd, ce.cost_usd, None, None)?;
    }
    for ce in &candidate.endpoints {
        if !baseline.endpoints.iter().any(|e| e.name == ce.name) {
            writeln!(w, "{:<28} new in the candidate", ce.name)?;
        }
    }
    row(
        &mut w,
        "(all)",
        "cost_total_usd",
        baseline.cost.total_usd,
        candidate.cost.total_usd,
        Some(round6(baseline.cost.total_usd * (1.0 + t.cost_pct / 100.0))),
        Some("cost_total_usd"),
    )?;
    writeln!(w)?;
    if cmp.regressions.is_empty() {
        writeln!(w, "no regression")?;
    } else {
        writeln!(w, "{} regression(s):", cmp.regressions.len())?;
        for g in &cmp.regressions {
            writeln!(w, "  {}", g.describe())?;
        }
    }
    Ok(())
}
