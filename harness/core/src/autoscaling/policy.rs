//! Scaling policies: target tracking and step scaling on their alarms,
//! the cooldown rules each keeps, and the arithmetic AWS documents for
//! step adjustments.

use super::alarm::{tracking_alarm, Alarm};
use super::spec::{Adjustment, StepPolicySpec, TargetTrackingSpec};
use crate::time::SimTime;

#[derive(Clone, Debug)]
pub(super) enum Rule {
    Tracking {
        spec: TargetTrackingSpec,
        high: Alarm,
        low: Alarm,
    },
    Step {
        spec: StepPolicySpec,
        alarm: Alarm,
    },
}

#[derive(Clone, Debug)]
pub(super) struct Policy {
    /// `PolicyName`.
    pub(super) name: String,
    pub(super) rule: Rule,
    /// End of its last scale-out, and the capacity before it.
    pub(super) last_out: Option<(SimTime, u32)>,
    /// End of its last scale-in.
    pub(super) last_in: Option<SimTime>,
}

impl Policy {
    pub(super) fn alarms_mut(&mut self) -> impl Iterator<Item = &mut Alarm> {
        let (a, b) = match &mut self.rule {
            Rule::Tracking { high, low, .. } => (high, Some(low)),
            Rule::Step { alarm, .. } => (alarm, None),
        };
        std::iter::once(a).chain(b)
    }

    pub(super) fn alarms(&self) -> impl Iterator<Item = &Alarm> {
        let (a, b) = match &self.rule {
            Rule::Tracking { high, low, .. } => (high, Some(low)),
            Rule::Step { alarm, .. } => (alarm, None),
        };
        std::iter::once(a).chain(b)
    }

    /// Whether it may scale in at all.
    pub(super) fn scales_in(&self) -> bool {
        match &self.rule {
            Rule::Tracking { spec, .. } => !spec.disable_scale_in,
            Rule::Step { spec, .. } => match spec.adjustment {
                Adjustment::ExactCapacity => true,
                _ => spec.steps.iter().any(|s| s.change < 0),
            },
        }
    }

    pub(super) fn out_cooldown(&self) -> std::time::Duration {
        match &self.rule {
            Rule::Tracking { spec, .. } => spec.scale_out_cooldown,
            Rule::Step { spec, .. } => spec.cooldown,
        }
    }

    /// The capacity a scale-out is computed from: inside its cooldown,
    /// the capacity before the last scale-out.
    pub(super) fn base(&self, now: SimTime, desired: u32) -> u32 {
        match self.last_out {
            Some((t, before)) if now < t + self.out_cooldown() => before,
            _ => desired,
        }
    }

    /// Whether a cooldown forbids a scale-in now.
    pub(super) fn in_blocked(&self, now: SimTime) -> bool {
        match &self.rule {
            Rule::Tracking { spec, .. } => self
                .last_in
                .is_some_and(|t| now < t + spec.scale_in_cooldown),
            Rule::Step { spec, .. } => {
                let last = self.last_in.max(self.last_out.map(|(t, _)| t));
                last.is_some_and(|t| now < t + spec.cooldown)
            }
        }
    }
}

/// `ceil`, forgiving the last bits of float error (2.0000000001 → 2).
pub(super) fn ceil(x: f64) -> u32 {
    (x - 1e-9).ceil().clamp(0.0, f64::from(u32::MAX)) as u32
}

/// A percent change of `capacity` as AWS rounds it: above 1 down (12.7 →
/// 12), between 0 and 1 to 1, between −1 and 0 to −1, below −1 toward
/// zero (−6.67 → −6).
pub fn percent_change(capacity: u32, percent: i64) -> i64 {
    let x = f64::from(capacity) * percent as f64 / 100.0;
    if x == 0.0 {
        0
    } else if x > 0.0 && x < 1.0 {
        1
    } else if x < 0.0 && x > -1.0 {
        -1
    } else {
        x.trunc() as i64
    }
}

impl StepPolicySpec {
    /// The capacity this policy asks for at `breach` (metric minus
    /// threshold) from `capacity`, if a step holds the breach.
    pub fn apply(&self, capacity: u32, breach: f64) -> Option<u32> {
        let up = self.alarm.comparison.upward();
        let step = self.steps.iter().find(|s| {
            let lo = s.lower.unwrap_or(f64::NEG_INFINITY);
            let hi = s.upper.unwrap_or(f64::INFINITY);
            if up {
                lo <= breach && breach < hi
            } else {
                lo < breach && breach <= hi
            }
        })?;
        let c = i64::from(capacity);
        let to = match self.adjustment {
            Adjustment::ChangeInCapacity => c + step.change,
            Adjustment::ExactCapacity => step.change,
            Adjustment::PercentChangeInCapacity => c + percent_change(capacity, step.change),
        };
        Some(to.clamp(0, i64::from(u32::MAX)) as u32)
    }
}

impl Policy {
    /// A target-tracking policy named `name` and its two alarms, named
    /// after `label` (`endpoint/variant`) and `suffix`.
    pub(super) fn tracking(
        name: String,
        label: &str,
        suffix: &str,
        tt: &TargetTrackingSpec,
    ) -> Policy {
        let high = tracking_alarm(
            tt.metric,
            true,
            tt.target,
            tt.alarm_high.datapoints,
            tt.alarm_high.of,
        );
        let low = tracking_alarm(
            tt.metric,
            false,
            tt.target * tt.low_fraction,
            tt.alarm_low.datapoints,
            tt.alarm_low.of,
        );
        Policy {
            name,
            rule: Rule::Tracking {
                spec: tt.clone(),
                high: Alarm::new(format!("TargetTracking-{label}{suffix}-AlarmHigh"), high),
                low: Alarm::new(format!("TargetTracking-{label}{suffix}-AlarmLow"), low),
            },
            last_out: None,
            last_in: None,
        }
    }
}
