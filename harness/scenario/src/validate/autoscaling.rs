//! `[endpoint.variant.autoscaling]`: the scalable target's bounds, its
//! target-tracking and step policies and its scheduled actions.

use std::time::Duration;

use gameday_core::autoscaling::*;
use gameday_core::metrics::HISTORY;

use super::Cx;
use crate::catalog::InstanceType;
use crate::diag::{quote, FieldPath};
use crate::raw::{RawAutoscaling, RawMOfN, RawStepPolicy, RawTargetTracking};

/// Most instances a scalable target may have.
const MAX_CAPACITY: i64 = 10_000;
/// The longest look-back an alarm may have: the metrics component keeps
/// two hours of 10-second datapoints.
const LOOK_BACK: Duration = Duration::from_secs(HISTORY as u64 * 10);

/// What the checks need to know of the variant.
pub(super) struct Variant<'a> {
    pub(super) instance_count: i64,
    pub(super) instance_count_at: FieldPath,
    pub(super) instance_type: Option<&'a InstanceType>,
    pub(super) duration: Duration,
    /// The variant is multi-model (its endpoint's mode).
    pub(super) multi_model: bool,
}

/// Checks and builds a variant's autoscaling.
pub(super) fn build(
    cx: &mut Cx<'_>,
    raw: &RawAutoscaling,
    at: &FieldPath,
    var: &Variant<'_>,
) -> Option<AutoscalingSpec> {
    let before = cx.diags.len();
    if !(1..=MAX_CAPACITY).contains(&raw.min) {
        cx.err(
            &at.key("min"),
            format!(
                "min must be between 1 and {MAX_CAPACITY}, got {} (a real-time variant keeps at least one instance)",
                raw.min
            ),
        );
    }
    if !(1..=MAX_CAPACITY).contains(&raw.max) {
        cx.err(
            &at.key("max"),
            format!("max must be between 1 and {MAX_CAPACITY}, got {}", raw.max),
        );
    } else if raw.min > raw.max {
        cx.err(
            &at.key("min"),
            format!(
                "min ({}) is greater than max ({}): raise max or lower min",
                raw.min, raw.max
            ),
        );
    } else if !(raw.min..=raw.max).contains(&var.instance_count) {
        cx.err(
            &var.instance_count_at,
            format!(
                "the variant's instance_count ({}) is outside [min, max] = [{}, {}]: set instance_count to a value between them",
                var.instance_count, raw.min, raw.max
            ),
        );
    }
    let mut target_tracking = Vec::new();
    for (i, t) in raw.target_tracking.iter().enumerate() {
        let tat = at.key("target_tracking").index(i);
        target_tracking.extend(tracking(cx, t, &tat, var));
    }
    let mut step = Vec::new();
    for (i, s) in raw.step.iter().enumerate() {
        let sat = at.key("step").index(i);
        step.extend(step_policy(cx, s, &sat, var));
    }
    let mut scheduled = Vec::new();
    for (i, s) in raw.scheduled.iter().enumerate() {
        let sat = at.key("scheduled").index(i);
        if s.at.0 >= var.duration {
            cx.err(
                &sat.key("at"),
                format!(
                    "the scheduled action is at {}s, at or after the end of the run ({}s): move it inside the run or drop it",
                    s.at.0.as_secs_f64(),
                    var.duration.as_secs_f64()
                ),
            );
        }
        let bound = |cx: &mut Cx<'_>, name: &str, v: Option<i64>| match v {
            Some(x) if !(1..=MAX_CAPACITY).contains(&x) => {
                cx.err(
                    &sat.key(name),
                    format!("{name} must be between 1 and {MAX_CAPACITY}, got {x}"),
                );
                None
            }
            other => other.map(|x| x as u32),
        };
        let min = bound(cx, "min", s.min);
        let max = bound(cx, "max", s.max);
        if s.min.is_none() && s.max.is_none() {
            cx.err(
                &sat.key("at"),
                "a scheduled action needs `min`, `max` or both",
            );
        }
        if let (Some(lo), Some(hi)) = (min, max) {
            if lo > hi {
                cx.err(
                    &sat.key("min"),
                    format!("min ({lo}) is greater than max ({hi})"),
                );
            }
        }
        scheduled.push(ScheduledSpec {
            at: s.at.0,
            min,
            max,
        });
    }
    scheduled.sort_by_key(|s| s.at);
    if cx.diags.len() > before {
        return None;
    }
    Some(AutoscalingSpec {
        min: raw.min as u32,
        max: raw.max as u32,
        target_tracking,
        step,
        scheduled,
    })
}

/// A metric name, with a suggestion when it is unknown; GPU utilisation
/// only on a type with GPUs.
fn metric(cx: &mut Cx<'_>, name: &str, at: &FieldPath, var: &Variant<'_>) -> Option<Metric> {
    let Some(m) = Metric::parse(name) else {
        cx.unknown(at, "metric", name, Metric::ALL.iter().map(|m| m.as_str()));
        return None;
    };
    if m.multi_model() && !var.multi_model {
        cx.err(
            at,
            format!(
                "{} is a multi-model endpoint's metric; this variant serves one model",
                m.as_str()
            ),
        );
        return None;
    }
    if m == Metric::GpuUtilization {
        if let Some(t) = var.instance_type.filter(|t| t.accelerator.is_none()) {
            cx.err(
                at,
                format!(
                    "GPUUtilization needs a GPU instance type; {} has none: track CPUUtilization instead",
                    quote(&t.name)
                ),
            );
            return None;
        }
    }
    Some(m)
}

fn m_of_n(
    cx: &mut Cx<'_>,
    raw: Option<&RawMOfN>,
    at: &FieldPath,
    default: MOfN,
    low: bool,
) -> (MOfN, f64) {
    let Some(r) = raw else {
        return (default, 0.9);
    };
    if !low && r.below.is_some() {
        cx.err(
            &at.key("below"),
            "`below` applies to alarm_low only (the high alarm's threshold is the target)",
        );
    }
    let of = r.of.or(r.datapoints).unwrap_or(i64::from(default.of));
    let datapoints = r.datapoints.unwrap_or(of);
    let mut ok = true;
    for (name, v) in [("datapoints", datapoints), ("of", of)] {
        if !(1..=1000).contains(&v) {
            cx.err(
                &at.key(name),
                format!("{name} must be between 1 and 1000, got {v}"),
            );
            ok = false;
        }
    }
    if ok && datapoints > of {
        cx.err(
            &at.key("datapoints"),
            format!("datapoints ({datapoints}) is more than of ({of}): an alarm needs M of N datapoints with M <= N"),
        );
    }
    let below = r.below.unwrap_or(0.9);
    if !(below > 0.0 && below <= 1.0) {
        cx.err(
            &at.key("below"),
            format!("below must be in (0, 1], a fraction of the target, got {below}"),
        );
    }
    (
        MOfN {
            datapoints: datapoints.clamp(1, 1000) as u32,
            of: of.clamp(1, 1000) as u32,
        },
        below,
    )
}

fn tracking(
    cx: &mut Cx<'_>,
    t: &RawTargetTracking,
    at: &FieldPath,
    var: &Variant<'_>,
) -> Option<TargetTrackingSpec> {
    let before = cx.diags.len();
    let metric = metric(cx, &t.metric, &at.key("metric"), var);
    if let Some(m) = metric.filter(|m| !m.trackable()) {
        cx.err(
            &at.key("metric"),
            format!(
                "target tracking cannot track {}: use InvocationsPerInstance, CPUUtilization, GPUUtilization or ConcurrentRequestsPerModel, or a step policy",
                m.as_str()
            ),
        );
    }
    if !(t.target.is_finite() && t.target > 0.0) {
        cx.err(
            &at.key("target"),
            format!("target must be a positive number, got {}", t.target),
        );
    }
    let (alarm_high, _) = m_of_n(
        cx,
        t.alarm_high.as_ref(),
        &at.key("alarm_high"),
        MOfN {
            datapoints: 3,
            of: 3,
        },
        false,
    );
    let (alarm_low, low_fraction) = m_of_n(
        cx,
        t.alarm_low.as_ref(),
        &at.key("alarm_low"),
        MOfN {
            datapoints: 15,
            of: 15,
        },
        true,
    );
    if let Some(m) = metric {
        let high_period = if m.high_resolution() { 10 } else { 60 };
        look_back(
            cx,
            &at.key("alarm_high"),
            high_period * u64::from(alarm_high.of),
        );
        look_back(cx, &at.key("alarm_low"), 60 * u64::from(alarm_low.of));
    }
    let mut step = |name: &str, v: Option<i64>| match v {
        Some(x) if !(1..=MAX_CAPACITY).contains(&x) => {
            cx.err(
                &at.key(name),
                format!("{name} must be between 1 and {MAX_CAPACITY}, got {x}"),
            );
            None
        }
        other => other.map(|x| x as u32),
    };
    let max_scale_out_step = step("max_scale_out_step", t.max_scale_out_step);
    let max_scale_in_step = step("max_scale_in_step", t.max_scale_in_step);
    if cx.diags.len() > before {
        return None;
    }
    Some(TargetTrackingSpec {
        max_scale_out_step,
        max_scale_in_step,
        metric: metric?,
        target: t.target,
        scale_out_cooldown: t.scale_out_cooldown.map_or(DEFAULT_COOLDOWN, |d| d.0),
        scale_in_cooldown: t.scale_in_cooldown.map_or(DEFAULT_COOLDOWN, |d| d.0),
        disable_scale_in: t.disable_scale_in.unwrap_or(false),
        alarm_high,
        alarm_low,
        low_fraction,
    })
}

fn look_back(cx: &mut Cx<'_>, at: &FieldPath, secs: u64) {
    if secs > LOOK_BACK.as_secs() {
        cx.err(
            at,
            format!(
                "the alarm looks back {secs}s (period × of); gameday keeps {}s of datapoints: use fewer or shorter periods",
                LOOK_BACK.as_secs()
            ),
        );
    }
}

fn step_policy(
    cx: &mut Cx<'_>,
    s: &RawStepPolicy,
    at: &FieldPath,
    var: &Variant<'_>,
) -> Option<StepPolicySpec> {
    let before = cx.diags.len();
    let metric = metric(cx, &s.metric, &at.key("metric"), var);
    let statistic = match s.statistic.as_deref() {
        None => metric.map(|m| m.statistics()[0]),
        Some(name) => match Statistic::parse(name) {
            None => {
                cx.unknown(
                    &at.key("statistic"),
                    "statistic",
                    name,
                    Statistic::ALL.iter().map(|s| s.as_str()),
                );
                None
            }
            Some(st) => {
                if let Some(m) = metric.filter(|m| !m.statistics().contains(&st)) {
                    let valid: Vec<&str> = m.statistics().iter().map(|s| s.as_str()).collect();
                    cx.err(
                        &at.key("statistic"),
                        format!(
                            "{} has no {} statistic (SageMaker publishes {})",
                            m.as_str(),
                            st.as_str(),
                            valid.join(", ")
                        ),
                    );
                }
                Some(st)
            }
        },
    };
    let period = s.period.map_or(Duration::from_secs(60), |d| d.0);
    let p = period.as_millis();
    if p == 0 || p % 10_000 != 0 {
        cx.err(
            &at.key("period"),
            format!(
                "period must be a multiple of 10s (gameday's metrics come in 10-second datapoints), got {}s",
                period.as_secs_f64()
            ),
        );
    }
    let (shape, _) = m_of_n(
        cx,
        Some(&RawMOfN {
            datapoints: s.datapoints,
            of: s.of,
            below: None,
        }),
        at,
        MOfN {
            datapoints: 1,
            of: 1,
        },
        false,
    );
    look_back(
        cx,
        &at.key("period"),
        period.as_secs() * u64::from(shape.of),
    );
    let comparison = Comparison::parse(&s.comparison);
    if comparison.is_none() {
        cx.err(
            &at.key("comparison"),
            format!(
                "unknown comparison {}: expected one of \">=\", \">\", \"<=\", \"<\"",
                quote(&s.comparison)
            ),
        );
    }
    if !s.threshold.is_finite() {
        cx.err(&at.key("threshold"), "threshold must be a finite number");
    }
    let adjustment = match s.adjustment.as_deref() {
        None => Some(Adjustment::ChangeInCapacity),
        Some(name) => {
            let a = Adjustment::parse(name);
            if a.is_none() {
                cx.unknown(
                    &at.key("adjustment"),
                    "adjustment",
                    name,
                    [
                        "ChangeInCapacity",
                        "ExactCapacity",
                        "PercentChangeInCapacity",
                    ],
                );
            }
            a
        }
    };
    let steps = steps(cx, s, &at.key("steps"), adjustment);
    if cx.diags.len() > before {
        return None;
    }
    Some(StepPolicySpec {
        alarm: AlarmSpec {
            metric: metric?,
            statistic: statistic?,
            period,
            datapoints: shape.datapoints,
            of: shape.of,
            comparison: comparison?,
            threshold: s.threshold,
        },
        adjustment: adjustment?,
        steps,
        cooldown: s.cooldown.map_or(DEFAULT_COOLDOWN, |d| d.0),
    })
}

/// The steps, sorted by bound: no overlap, no gap, one open end at most
/// each way.
fn steps(
    cx: &mut Cx<'_>,
    s: &RawStepPolicy,
    at: &FieldPath,
    adjustment: Option<Adjustment>,
) -> Vec<StepAdjustment> {
    if s.steps.is_empty() {
        cx.err(
            at,
            "a step policy needs at least one step, like steps = [ { lower = 0, change = 1 } ]",
        );
        return Vec::new();
    }
    let mut steps: Vec<(usize, StepAdjustment)> = s
        .steps
        .iter()
        .enumerate()
        .map(|(i, r)| {
            (
                i,
                StepAdjustment {
                    lower: r.lower,
                    upper: r.upper,
                    change: r.change,
                },
            )
        })
        .collect();
    for (i, st) in &steps {
        if let (Some(lo), Some(hi)) = (st.lower, st.upper) {
            if lo >= hi {
                cx.err(
                    &at.index(*i).key("upper"),
                    format!("the step's upper bound ({hi}) must be above its lower bound ({lo})"),
                );
            }
        }
        if adjustment == Some(Adjustment::ExactCapacity) && st.change < 0 {
            cx.err(
                &at.index(*i).key("change"),
                format!("an ExactCapacity step sets a count; got {}", st.change),
            );
        }
    }
    steps.sort_by(|a, b| {
        let key = |s: &StepAdjustment| s.lower.unwrap_or(f64::NEG_INFINITY);
        key(&a.1).total_cmp(&key(&b.1))
    });
    for w in steps.windows(2) {
        let ((_, a), (j, b)) = (&w[0], &w[1]);
        match (a.upper, b.lower) {
            (Some(hi), Some(lo)) if hi == lo => {}
            (Some(hi), Some(lo)) if hi > lo => cx.err(
                &at.index(*j).key("lower"),
                format!("steps overlap: one ends at {hi} but the next begins at {lo}; each lower bound must equal the previous step's upper bound"),
            ),
            (Some(hi), Some(lo)) => cx.err(
                &at.index(*j).key("lower"),
                format!("steps leave a gap between {hi} and {lo}: set this step's lower bound to {hi}"),
            ),
            (None, _) => cx.err(
                &at.index(*j).key("lower"),
                "a step with no upper bound must be the last one: steps overlap",
            ),
            (_, None) => cx.err(
                &at.index(*j).key("lower"),
                "only the first step may omit its lower bound",
            ),
        }
    }
    steps.into_iter().map(|(_, s)| s).collect()
}
