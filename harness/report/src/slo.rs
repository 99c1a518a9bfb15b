//! SLO objectives and their evaluation against a report.

use std::time::Duration;

use crate::model::{round6, EndpointReport, SloResult};
use crate::training::TrainingJobReport;

/// The objectives a scenario's `[slo]` section sets. Latency, error-rate
/// and availability objectives apply to every endpoint; the cost budget to
/// the whole run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SloSpec {
    /// `(name, percentile in 0..=100, bound)` for each latency objective,
    /// e.g. `("latency_p99", 99.0, 500 ms)`.
    pub latency: Vec<(String, f64, Duration)>,
    /// Highest acceptable error rate.
    pub error_rate: Option<f64>,
    /// Lowest acceptable availability.
    pub availability: Option<f64>,
    /// Highest acceptable total cost, US dollars.
    pub cost_budget_usd: Option<f64>,
    /// Every training job completes within this wall time.
    pub training_deadline: Option<Duration>,
    /// Lowest acceptable share of training jobs that complete.
    pub training_success_rate: Option<f64>,
    /// Lowest acceptable model cache hit ratio of each multi-model
    /// endpoint (its variants' hits over their requests).
    pub model_cache_hit_ratio: Option<f64>,
    /// Highest acceptable 99th-percentile wait for a model, per
    /// multi-model endpoint (the largest of its variants' p99s).
    pub model_loading_wait_p99: Option<Duration>,
    /// Highest acceptable share of an endpoint's looked-up responses
    /// served with default features.
    pub degraded_rate: Option<f64>,
    /// Highest acceptable 99th-percentile age of the features an endpoint
    /// served.
    pub feature_age_p99: Option<Duration>,
    /// Stop the run when an objective's error budget burns at least this
    /// fast over both windows of the first alerting rule
    /// ([`crate::burn::RULES`]).
    pub abort_on_burn: Option<f64>,
}

/// The percentile of `l` an objective on percentile `p` reads.
fn percentile_in(l: &crate::model::LatencySummary, p: f64) -> f64 {
    match p {
        p if p <= 50.0 => l.p50,
        p if p <= 90.0 => l.p90,
        p if p <= 95.0 => l.p95,
        p if p <= 99.0 => l.p99,
        p if p <= 99.9 => l.p999,
        _ => l.max,
    }
}

impl SloSpec {
    /// The names of the objectives set, in evaluation order.
    pub fn names(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.latency.iter().map(|l| l.0.as_str()).collect();
        for (name, on) in [
            ("error_rate", self.error_rate.is_some()),
            (
                "model_cache_hit_ratio",
                self.model_cache_hit_ratio.is_some(),
            ),
            (
                "model_loading_wait_p99",
                self.model_loading_wait_p99.is_some(),
            ),
            ("degraded_rate", self.degraded_rate.is_some()),
            ("feature_age_p99", self.feature_age_p99.is_some()),
            ("availability", self.availability.is_some()),
            ("training_deadline", self.training_deadline.is_some()),
            (
                "training_success_rate",
                self.training_success_rate.is_some(),
            ),
            ("cost_budget_usd", self.cost_budget_usd.is_some()),
        ] {
            if on {
                out.push(name);
            }
        }
        out
    }

    /// The latency and error-rate objectives applied to one variant's
    /// own numbers: what a shadow variant would have scored had it taken
    /// the endpoint's traffic.
    pub fn evaluate_variant(
        &self,
        endpoint: &str,
        v: &crate::model::VariantReport,
    ) -> Vec<SloResult> {
        let error_rate = if v.requests == 0 {
            0.0
        } else {
            crate::model::round6((v.requests - v.ok) as f64 / v.requests as f64)
        };
        let mut out = Vec::new();
        self.latency_and_errors(endpoint, &v.latency_ms, error_rate, &mut out);
        out
    }

    /// The latency objectives and `error_rate` for one endpoint's (or
    /// variant's) latency and error rate.
    fn latency_and_errors(
        &self,
        endpoint: &str,
        latency: &crate::model::LatencySummary,
        error_rate: f64,
        out: &mut Vec<SloResult>,
    ) {
        for (name, p, bound) in &self.latency {
            let ms = bound.as_secs_f64() * 1e3;
            let actual = percentile_in(latency, *p);
            out.push(SloResult {
                name: name.clone(),
                endpoint: Some(endpoint.to_string()),
                job: None,
                objective: format!("<= {} ms", fmt_num(ms)),
                actual,
                met: actual <= ms,
                detail: None,
            });
        }
        if let Some(max) = self.error_rate {
            out.push(SloResult {
                name: "error_rate".into(),
                endpoint: Some(endpoint.to_string()),
                job: None,
                objective: format!("<= {}", fmt_num(max)),
                actual: error_rate,
                met: error_rate <= max,
                detail: None,
            });
        }
    }

    /// Evaluates every objective. An endpoint that served no requests has no
    /// latency to judge; its latency objectives are reported as met with
    /// actual 0 and its error objectives trivially hold.
    pub fn evaluate(
        &self,
        endpoints: &[EndpointReport],
        training: &[TrainingJobReport],
        total_cost_usd: f64,
    ) -> Vec<SloResult> {
        let mut out = Vec::new();
        for ep in endpoints {
            self.latency_and_errors(&ep.name, &ep.latency_ms, ep.error_rate, &mut out);
            let mme: Vec<_> = ep.variants.iter().filter_map(|v| v.mme.as_ref()).collect();
            if let (Some(min), false) = (self.model_cache_hit_ratio, mme.is_empty()) {
                let (hits, requests) = mme
                    .iter()
                    .fold((0, 0), |(h, r), m| (h + m.hits, r + m.requests));
                let actual = if requests == 0 {
                    1.0
                } else {
                    round6(hits as f64 / requests as f64)
                };
                out.push(SloResult {
                    name: "model_cache_hit_ratio".into(),
                    endpoint: Some(ep.name.clone()),
                    job: None,
                    objective: format!(">= {}", fmt_num(min)),
                    actual,
                    met: actual >= min,
                    detail: None,
                });
            }
            if let (Some(bound), false) = (self.model_loading_wait_p99, mme.is_empty()) {
                let ms = bound.as_secs_f64() * 1e3;
                let actual = mme
                    .iter()
                    .map(|m| m.loading_wait_ms.p99)
                    .fold(0.0, f64::max);
                out.push(SloResult {
                    name: "model_loading_wait_p99".into(),
                    endpoint: Some(ep.name.clone()),
                    job: None,
                    objective: format!("<= {} ms", fmt_num(ms)),
                    actual,
                    met: actual <= ms,
                    detail: None,
                });
            }
            if let (Some(max), Some(f)) = (self.degraded_rate, &ep.features) {
                out.push(SloResult {
                    name: "degraded_rate".into(),
                    endpoint: Some(ep.name.clone()),
                    job: None,
                    objective: format!("<= {}", fmt_num(max)),
                    actual: f.degraded_rate,
                    met: f.degraded_rate <= max,
                    detail: None,
                });
            }
            if let (Some(bound), Some(f)) = (self.feature_age_p99, &ep.features) {
                let ms = bound.as_secs_f64() * 1e3;
                out.push(SloResult {
                    name: "feature_age_p99".into(),
                    endpoint: Some(ep.name.clone()),
                    job: None,
                    objective: format!("<= {} ms", fmt_num(ms)),
                    actual: f.age_ms.p99,
                    met: f.age_ms.p99 <= ms,
                    detail: None,
                });
            }
            if let Some(min) = self.availability {
                out.push(SloResult {
                    name: "availability".into(),
                    endpoint: Some(ep.name.clone()),
                    job: None,
                    objective: format!(">= {}", fmt_num(min)),
                    actual: ep.availability,
                    met: ep.availability >= min,
                    detail: None,
                });
            }
        }
        if let Some(deadline) = self.training_deadline {
            let s = deadline.as_secs_f64();
            for j in training {
                // A job that did not complete has not met any deadline.
                let done = j.status == "Completed";
                out.push(SloResult {
                    name: "training_deadline".into(),
                    endpoint: None,
                    job: Some(j.name.clone()),
                    objective: format!("Completed within {}", human_duration(s)),
                    actual: j.wall_time_s,
                    met: done && j.wall_time_s <= s,
                    detail: Some(if done {
                        format!("Completed in {}", human_duration(j.wall_time_s))
                    } else {
                        format!(
                            "{} at {}",
                            if j.status == "InProgress" {
                                "still running"
                            } else {
                                j.secondary_status.as_str()
                            },
                            human_duration(j.wall_time_s)
                        )
                    }),
                });
            }
        }
        if let Some(min) = self.training_success_rate {
            let done = training.iter().filter(|j| j.status == "Completed").count();
            let actual = if training.is_empty() {
                1.0
            } else {
                round6(done as f64 / training.len() as f64)
            };
            out.push(SloResult {
                name: "training_success_rate".into(),
                endpoint: None,
                job: None,
                objective: format!(">= {}", fmt_num(min)),
                actual,
                met: actual >= min,
                detail: None,
            });
        }
        if let Some(budget) = self.cost_budget_usd {
            let actual = round6(total_cost_usd);
            out.push(SloResult {
                name: "cost_budget_usd".into(),
                endpoint: None,
                job: None,
                objective: format!("<= {} USD", fmt_num(budget)),
                actual,
                met: actual <= budget,
                detail: None,
            });
        }
        out
    }
}

/// A duration the way scenarios write them: `36h`, `90s`, `2d`, `250ms`,
/// or `20.5h` when no unit divides it evenly.
pub fn human_duration(secs: f64) -> String {
    if !secs.is_finite() || secs <= 0.0 {
        return "0s".into();
    }
    let ms = (secs * 1000.0).round();
    // The largest unit that gives a whole number under 1000 (`36h`,
    // `90s`); `1230m` is better read as `20.5h`, below.
    for (unit, len) in [
        ("d", 86_400_000.0),
        ("h", 3_600_000.0),
        ("m", 60_000.0),
        ("s", 1000.0),
    ] {
        if ms >= len && ms % len == 0.0 && ms / len < 1000.0 {
            return format!("{}{unit}", ms / len);
        }
    }
    if secs < 1.0 {
        return format!("{}ms", fmt_num(ms));
    }
    let (unit, len) = if secs >= 3600.0 {
        ("h", 3600.0)
    } else if secs >= 60.0 {
        ("m", 60.0)
    } else {
        ("s", 1.0)
    };
    format!("{}{unit}", fmt_num((secs / len * 100.0).round() / 100.0))
}

/// Formats a number without trailing zeros (`500`, `0.001`, `2.5`).
pub fn fmt_num(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_scenarios_write_them() {
        assert_eq!(human_duration(129_600.0), "36h");
        assert_eq!(human_duration(64_800.0), "18h");
        assert_eq!(human_duration(172_800.0), "2d");
        assert_eq!(human_duration(90.0), "90s");
        assert_eq!(human_duration(300.0), "5m");
        assert_eq!(human_duration(0.25), "250ms");
        assert_eq!(human_duration(73_800.0), "20.5h");
        assert_eq!(human_duration(61.5), "1.02m");
        assert_eq!(human_duration(0.0), "0s");
    }
    use crate::model::*;

    fn ep(p99: f64, error_rate: f64) -> EndpointReport {
        EndpointReport {
            name: "e".into(),
            routing: "random".into(),
            requests: 100,
            ok: 100,
            errors: ErrorCounts::default(),
            throughput_rps: 1.0,
            error_rate,
            availability: 1.0 - error_rate,
            latency_ms: LatencySummary {
                p99,
                p50: 1.0,
                ..Default::default()
            },
            ok_latency_ms: LatencySummary::default(),
            queue_wait_ms: QueueWaitSummary::default(),
            mean_in_system: 0.0,
            cost_usd: 0.0,
            variants: vec![],
            features: None,
        }
    }

    #[test]
    fn objectives_are_judged_and_described() {
        let spec = SloSpec {
            latency: vec![("latency_p99".into(), 99.0, Duration::from_millis(500))],
            error_rate: Some(0.001),
            availability: Some(0.999),
            cost_budget_usd: Some(5.0),
            ..Default::default()
        };
        let r = spec.evaluate(&[ep(499.0, 0.002)], &[], 5.5);
        let got: Vec<(&str, &str, bool)> = r
            .iter()
            .map(|s| (s.name.as_str(), s.objective.as_str(), s.met))
            .collect();
        assert_eq!(
            got,
            vec![
                ("latency_p99", "<= 500 ms", true),
                ("error_rate", "<= 0.001", false),
                ("availability", ">= 0.999", false),
                ("cost_budget_usd", "<= 5 USD", false),
            ]
        );
        assert_eq!(fmt_num(0.25), "0.25");
    }
}
