//! `[slo]` and `[baseline]`: what a run is judged by.

use gameday_report::baseline::Tolerances;
use gameday_report::SloSpec;

use super::Cx;
use crate::diag::path;
use crate::raw::{RawBaseline, RawSlo};

/// `[baseline]`: how far a run may drift from its baseline.
pub(super) fn build_baseline(cx: &mut Cx<'_>, b: Option<&RawBaseline>) -> Tolerances {
    let mut t = Tolerances::default();
    let Some(b) = b else {
        return t;
    };
    let at = path("baseline");
    if let Some(x) = cx.non_negative(&at, "latency_p99_pct", b.latency_p99_pct) {
        t.latency_p99_pct = x;
    }
    if let Some(x) = cx.non_negative(&at, "error_rate_abs", b.error_rate_abs) {
        t.error_rate_abs = x;
    }
    if let Some(x) = cx.non_negative(&at, "cost_pct", b.cost_pct) {
        t.cost_pct = x;
    }
    t
}

/// `[slo]`: the objectives a run is judged by.
pub(super) fn build_slo(cx: &mut Cx<'_>, slo: Option<&RawSlo>) -> SloSpec {
    let Some(s) = slo else {
        return SloSpec::default();
    };
    let at = path("slo");
    let mut out = SloSpec::default();
    for (name, p, v) in [
        ("latency_p50", 50.0, s.latency_p50),
        ("latency_p90", 90.0, s.latency_p90),
        ("latency_p95", 95.0, s.latency_p95),
        ("latency_p99", 99.0, s.latency_p99),
        ("latency_p999", 99.9, s.latency_p999),
    ] {
        if let Some(d) = v {
            if d.0.is_zero() {
                cx.err(&at.key(name), format!("{name} must be longer than zero"));
            }
            out.latency.push((name.to_string(), p, d.0));
        }
    }
    for (name, v) in [
        ("error_rate", s.error_rate),
        ("availability", s.availability),
    ] {
        if let Some(x) = v.filter(|x| !(0.0..=1.0).contains(x)) {
            cx.err(
                &at.key(name),
                format!("{name} is a fraction between 0 and 1, got {x}"),
            );
        }
    }
    out.error_rate = s.error_rate;
    out.availability = s.availability;
    out.cost_budget_usd = cx.non_negative(&at, "cost_budget_usd", s.cost_budget_usd);
    if let Some(x) = s.training_success_rate.filter(|x| !(0.0..=1.0).contains(x)) {
        cx.err(
            &at.key("training_success_rate"),
            format!("training_success_rate is a fraction between 0 and 1, got {x}"),
        );
    }
    out.training_success_rate = s.training_success_rate;
    if let Some(d) = s.training_deadline.filter(|d| d.0.is_zero()) {
        let _ = d;
        cx.err(
            &at.key("training_deadline"),
            "training_deadline must be longer than zero",
        );
    }
    out.training_deadline = s.training_deadline.map(|d| d.0);
    if let Some(x) = s.model_cache_hit_ratio.filter(|x| !(0.0..=1.0).contains(x)) {
        cx.err(
            &at.key("model_cache_hit_ratio"),
            format!("model_cache_hit_ratio is a fraction between 0 and 1, got {x}"),
        );
    }
    out.model_cache_hit_ratio = s.model_cache_hit_ratio;
    if s.model_loading_wait_p99.is_some_and(|d| d.0.is_zero()) {
        cx.err(
            &at.key("model_loading_wait_p99"),
            "model_loading_wait_p99 must be longer than zero",
        );
    }
    out.model_loading_wait_p99 = s.model_loading_wait_p99.map(|d| d.0);
    if let Some(x) = s.degraded_rate.filter(|x| !(0.0..=1.0).contains(x)) {
        cx.err(
            &at.key("degraded_rate"),
            format!("degraded_rate is a fraction between 0 and 1, got {x}"),
        );
    }
    out.degraded_rate = s.degraded_rate;
    if s.feature_age_p99.is_some_and(|d| d.0.is_zero()) {
        cx.err(
            &at.key("feature_age_p99"),
            "feature_age_p99 must be longer than zero",
        );
    }
    out.feature_age_p99 = s.feature_age_p99.map(|d| d.0);
    if let Some(x) = s.abort_on_burn {
        if !(x.is_finite() && x > 0.0) {
            cx.err(
                &at.key("abort_on_burn"),
                format!(
                    "abort_on_burn is a burn rate above zero (14.4 pages on a fast burn), got {x}"
                ),
            );
        } else if gameday_report::burn::Objectives::of(&out).list.is_empty() {
            cx.err(
                &at.key("abort_on_burn"),
                "abort_on_burn watches the error budget of a latency, error_rate or availability objective, and this [slo] has none with a budget: add one, e.g. availability = 0.999",
            );
        } else {
            out.abort_on_burn = Some(x);
        }
    }
    out
}
