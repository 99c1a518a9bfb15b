//! CloudWatch metric alarms over the metrics component's datapoints:
//! M of the last N datapoints breaching puts an alarm in `ALARM`.
//!
//! gameday's reading of CloudWatch's rules (missing data treated as
//! missing): a datapoint is missing when its metric is undefined for the
//! period (a per-instance or utilisation metric while no instance served,
//! a latency with no answered request); zero traffic is not missing, it
//! gives zeros, as SageMaker emits them. The state is `ALARM` when at
//! least M of the last N datapoints breach, `INSUFFICIENT_DATA` when none
//! of them is present, `OK` otherwise. Missing data can therefore never
//! put an alarm in `ALARM`, and an alarm without data scales nothing.

use std::fmt::Write as _;

use super::spec::{AlarmSpec, Comparison, Metric, Statistic};
use crate::metrics::{Datapoint, HIGH_RES_PERIOD};
use crate::time::SimTime;

/// Where an alarm stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlarmState {
    /// No datapoint to decide on.
    InsufficientData,
    /// Not breaching.
    Ok,
    /// Breaching: the policy behind it acts at each evaluation.
    Alarm,
}

impl AlarmState {
    /// The CloudWatch name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
        }
    }
}

/// The value of `metric`'s `statistic` in datapoint `d`, or `None` when
/// it is missing.
pub fn value(metric: Metric, statistic: Statistic, d: &Datapoint) -> Option<f64> {
    let level = |x: f64| {
        (d.instances > 0.0).then_some(match statistic {
            Statistic::Sum => x * d.instances,
            Statistic::SampleCount => d.instances,
            // gameday keeps the fleet's time-average, not per-instance
            // samples: Minimum and Maximum are that average too.
            _ => x,
        })
    };
    let errors = |n: u64| match statistic {
        Statistic::Average => (d.invocations > 0).then(|| n as f64 / d.invocations as f64),
        _ => Some(n as f64),
    };
    let latency = |s: crate::metrics::Stat| {
        (s.count > 0).then(|| match statistic {
            Statistic::Average => s.sum_us as f64 / s.count as f64,
            Statistic::Maximum => s.max_us as f64,
            Statistic::Minimum => s.min_us as f64,
            Statistic::Sum => s.sum_us as f64,
            Statistic::SampleCount => s.count as f64,
        })
    };
    match metric {
        Metric::InvocationsPerInstance => (d.instances > 0.0).then_some(d.invocations_per_instance),
        Metric::CpuUtilization => level(d.cpu_utilization),
        Metric::GpuUtilization => d.gpu_utilization.and_then(level),
        Metric::ConcurrentRequestsPerModel => level(d.concurrent_requests_per_model),
        Metric::Invocations => Some(d.invocations as f64),
        Metric::Invocation4xxErrors => errors(d.errors_4xx),
        Metric::Invocation5xxErrors => errors(d.errors_5xx),
        Metric::ModelLatency => latency(d.model_latency),
        Metric::OverheadLatency => latency(d.overhead_latency),
        Metric::ModelCacheHit => (d.model_requests > 0).then(|| {
            let hit = d.model_cache_hit.unwrap_or(0.0);
            match statistic {
                Statistic::Sum => hit * d.model_requests as f64,
                Statistic::SampleCount => d.model_requests as f64,
                _ => hit,
            }
        }),
        Metric::ModelLoadingWaitTime => latency(d.model_loading_wait),
        Metric::ModelDownloadingTime => latency(d.model_downloading),
        Metric::ModelLoadingTime => latency(d.model_loading),
        Metric::ModelUnloadingTime => latency(d.model_unloading),
        Metric::LoadedModelCount => {
            level(d.loaded_model_count / d.instances.max(f64::MIN_POSITIVE))
        }
    }
}

/// Whether `metric`'s `statistic` sums requests over the period.
fn counts(metric: Metric, statistic: Statistic) -> bool {
    match metric {
        Metric::InvocationsPerInstance | Metric::Invocations => true,
        Metric::Invocation4xxErrors | Metric::Invocation5xxErrors => {
            statistic != Statistic::Average
        }
        _ => false,
    }
}

/// A number for an event line: at most four decimals, no trailing zeros.
pub(crate) fn num(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// One alarm and where it stands.
#[derive(Clone, Debug)]
pub(crate) struct Alarm {
    pub(crate) name: String,
    pub(crate) spec: AlarmSpec,
    /// The period in high-resolution bins.
    pub(crate) width: usize,
    pub(crate) state: AlarmState,
    /// The newest datapoint's value at the last evaluation.
    pub(crate) latest: Option<f64>,
    /// Start of the oldest breaching datapoint in the window, while in
    /// `ALARM`.
    pub(crate) breach_from: Option<SimTime>,
    /// State changes so far.
    pub(crate) changes: u32,
}

impl Alarm {
    pub(crate) fn new(name: String, spec: AlarmSpec) -> Self {
        let width = (spec.period.as_nanos() / HIGH_RES_PERIOD.as_nanos()).max(1) as usize;
        Alarm {
            name,
            spec,
            width,
            state: AlarmState::InsufficientData,
            latest: None,
            breach_from: None,
            changes: 0,
        }
    }

    /// Whether it evaluates at high-resolution boundary `k`.
    #[inline]
    pub(crate) fn due(&self, k: u64) -> bool {
        k % self.width as u64 == 0
    }

    /// Evaluates the last N datapoints (`window`, oldest first, fewer at
    /// the start of a run); on a change of state, the line for the event.
    pub(crate) fn evaluate(&mut self, window: &[Datapoint]) -> Option<String> {
        let s = &self.spec;
        let values: Vec<Option<f64>> = window
            .iter()
            .map(|d| {
                let v = value(s.metric, s.statistic, d)?;
                // Counts are per scenario period at real rates: under a
                // time scale a datapoint spans less real time, so its sum
                // is scaled up by as much (× 1 in a virtual run).
                Some(if counts(s.metric, s.statistic) {
                    v * s.period.as_secs_f64() / d.period.as_secs_f64()
                } else {
                    v
                })
            })
            .collect();
        let breaches = |v: &Option<f64>| v.is_some_and(|x| s.comparison.breaches(x, s.threshold));
        let breaching = values.iter().filter(|v| breaches(v)).count();
        let present = values.iter().filter(|v| v.is_some()).count();
        let state = if breaching >= s.datapoints as usize {
            AlarmState::Alarm
        } else if present == 0 {
            AlarmState::InsufficientData
        } else {
            AlarmState::Ok
        };
        self.latest = values.last().copied().flatten();
        self.breach_from = (state == AlarmState::Alarm)
            .then(|| {
                window
                    .iter()
                    .zip(&values)
                    .find(|(_, v)| breaches(v))
                    .map(|(d, _)| d.start)
            })
            .flatten();
        if state == self.state {
            return None;
        }
        let old = std::mem::replace(&mut self.state, state);
        self.changes += 1;
        let mut line = format!(
            "{} {} -> {}: {} {} {} {} ({} of {} datapoints breaching, {} needed; values",
            self.name,
            old.as_str(),
            state.as_str(),
            s.metric.as_str(),
            s.statistic.as_str(),
            s.comparison.as_str(),
            num(s.threshold),
            breaching,
            values.len(),
            s.datapoints,
        );
        for v in &values {
            match v {
                Some(x) => write!(line, " {}", num(*x)),
                None => write!(line, " missing"),
            }
            .expect("writing to a String cannot fail");
        }
        line.push(')');
        Some(line)
    }
}

/// The comparison a target-tracking alarm uses.
pub(crate) fn tracking_alarm(
    metric: Metric,
    high: bool,
    threshold: f64,
    m: u32,
    n: u32,
) -> AlarmSpec {
    let period = if high && metric.high_resolution() {
        HIGH_RES_PERIOD
    } else {
        crate::metrics::STANDARD_PERIOD
    };
    AlarmSpec {
        metric,
        statistic: metric.tracked_statistic(),
        period,
        datapoints: m,
        of: n,
        comparison: if high {
            Comparison::Greater
        } else {
            Comparison::Less
        },
        threshold,
    }
}
