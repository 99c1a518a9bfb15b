//! Comparing a run against a baseline `report.json` (a CI regression gate).

use serde::{Deserialize, Serialize};

use crate::model::{round6, Report};

/// How much worse than the baseline a run may be before it regresses.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
