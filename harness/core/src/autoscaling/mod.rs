//! The autoscaling component: Application Auto Scaling of each variant's
//! `DesiredInstanceCount`, from CloudWatch-style alarms on the metrics
//! component's datapoints. Hosting carries out each new desired count
//! (launches through the capacity pool, scale-ins that drain).
//!
//! Alarms are evaluated at every 10-second boundary that ends one of
//! their periods ([`alarm`] says how). A policy acts at each evaluation
//! of its alarm while the alarm is in `ALARM`:
//!
//! - **Target tracking** keeps a high alarm (above the target; 3 of 3
//!   one-minute datapoints, 10-second ones for the high-resolution
//!   `ConcurrentRequestsPerModel`) and a low alarm (below 90% of the
//!   target; 15 of 15 one-minute datapoints). AWS publishes no formula:
//!   gameday scales out to `ceil(capacity × metric / target)` and in to
//!   the same, never below `min`, where `metric` is the newest datapoint;
//!   `max_scale_out_step` and `max_scale_in_step` cap one activity's
//!   change where a user's evidence says AWS moved more gradually.
//! - **Step scaling** takes the step whose bounds hold the breach (the
//!   newest datapoint minus the threshold) and applies its adjustment;
//!   percent changes round as AWS documents.
//! - **Scheduled actions** move `min` and `max`; capacity outside them
//!   moves at once, cooldowns ignored.
//!
//! Several policies: out if any says so, in only if every policy that
//! may scale in agrees; the largest capacity wins. While an activity is
//! in progress (instances still coming or draining) no other starts for
//! that variant; it ends `Successful` when the fleet settles, or
//! `Failed` at the first launch the pool refuses (the launches still
//! retry with backoff). Cooldowns start when an activity ends: inside a
//! scale-out cooldown only a larger scale-out counts (computed from the
//! capacity before the last one, so capacity already added counts toward
//! it); inside a scale-in cooldown no scale-in, and a scale-out ends it.

pub mod alarm;
mod api;
mod policy;
pub mod spec;

use std::collections::VecDeque;

pub use alarm::AlarmState;
use alarm::{num, Alarm};
pub use api::{ApiError, PolicyInfo, TargetInfo};
pub use policy::percent_change;
use policy::{ceil, Policy, Rule};
pub use spec::*;

use crate::hosting::FleetView;
use crate::metrics::Metrics;
use crate::outcome::{EventKind, PlatformEvent};
use crate::spec::PlatformSpec;
use crate::time::SimTime;

/// Where a scaling activity stands, as `DescribeScalingActivities` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActivityStatus {
    /// Instances are still coming or draining.
    InProgress,
    /// The fleet reached the new desired count.
    Successful,
    /// A launch was refused (the launches go on retrying).
    Failed,
}

impl ActivityStatus {
    /// The AWS name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityStatus::InProgress => "InProgress",
            ActivityStatus::Successful => "Successful",
            ActivityStatus::Failed => "Failed",
        }
    }
}

/// One scaling activity of a variant.
#[derive(Clone, Debug, PartialEq)]
pub struct Activity {
    /// When it started.
    pub at: SimTime,
    /// Desired count before.
    pub from: u32,
    /// Desired count after.
    pub to: u32,
    /// What started it.
    pub cause: String,
    /// Where it stands.
    pub status: ActivityStatus,
    /// Why it failed.
    pub reason: Option<String>,
    /// When the fleet settled.
    pub ended_at: Option<SimTime>,
    /// Start of the first breaching datapoint behind it (alarm-driven
    /// activities).
    pub breach_at: Option<SimTime>,
    policy: Option<usize>,
}

/// A variant's scaling over a run, for the report.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetReport {
    /// Endpoint index.
    pub endpoint: u16,
    /// Variant index.
    pub variant: u16,
    /// `MinCapacity` at the end.
    pub min: u32,
    /// `MaxCapacity` at the end.
    pub max: u32,
    /// Every activity, oldest first.
    pub activities: Vec<Activity>,
    /// Every alarm: name, state at the end, state changes.
    pub alarms: Vec<(String, AlarmState, u32)>,
}

/// A wake-up of the autoscaling component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScalingTimer {
    /// A 10-second boundary: alarms whose period ends evaluate. Ticks of
    /// an earlier sequence (before a time scale was set) are stale.
    Tick(u32),
    /// Scheduled action `action` of target `target`.
    Scheduled { target: u16, action: u16 },
}

/// A new desired count for hosting to carry out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SetDesired {
    pub(crate) endpoint: u16,
    pub(crate) variant: u16,
    pub(crate) to: u32,
}

#[derive(Clone, Debug)]
struct Target {
    endpoint: u16,
    variant: u16,
    /// `endpoint/variant`, for alarm names.
    label: String,
    min: u32,
    max: u32,
    policies: Vec<Policy>,
    scheduled: Vec<ScheduledSpec>,
    activities: Vec<Activity>,
    /// The activity in progress.
    current: Option<usize>,
}

/// The autoscaling component.
#[derive(Debug)]
pub(crate) struct Autoscaling {
    targets: Vec<Target>,
    /// The high-resolution period, platform nanoseconds.
    bin_ns: u64,
    seq: u32,
    /// The number of the next boundary (`k × bin_ns`).
    next: u64,
    /// Activities in progress, over all targets.
    busy: u32,
    /// Boundary ticks are on the timer queue (some target exists).
    ticking: bool,
    /// For event wording: scenario time.
    pub(crate) scale: crate::scale::TimeScale,
    timers: VecDeque<(SimTime, ScalingTimer)>,
    events: VecDeque<PlatformEvent>,
    commands: VecDeque<SetDesired>,
}

impl Autoscaling {
    /// The scalable targets of `spec`; the first boundary and the
    /// scheduled actions are already in [`Autoscaling::poll_timer`].
    pub(crate) fn new(spec: &PlatformSpec, bin_ns: u64) -> Self {
        let mut targets = Vec::new();
        for (e, ep) in spec.endpoints.iter().enumerate() {
            for (v, vs) in ep.variants.iter().enumerate() {
                let Some(a) = &vs.autoscaling else { continue };
                targets.push(Target::new(e as u16, v as u16, &ep.name, &vs.name, a));
            }
        }
        let mut s = Autoscaling {
            targets,
            bin_ns,
            seq: 0,
            next: 1,
            busy: 0,
            ticking: false,
            scale: crate::scale::TimeScale::default(),
            timers: VecDeque::new(),
            events: VecDeque::new(),
            commands: VecDeque::new(),
        };
        if !s.targets.is_empty() {
            s.ticking = true;
            s.timers
                .push_back((SimTime::from_nanos(bin_ns), ScalingTimer::Tick(0)));
        }
        for (t, target) in s.targets.iter().enumerate() {
            for (a, action) in target.scheduled.iter().enumerate() {
                s.timers.push_back((
                    SimTime::ZERO + action.at,
                    ScalingTimer::Scheduled {
                        target: t as u16,
                        action: a as u16,
                    },
                ));
            }
        }
        s
    }

    /// The boundaries come every `bin_ns` from now on (a time scale
    /// compressed them); the tick already queued goes stale.
    pub(crate) fn set_bin(&mut self, bin_ns: u64) {
        self.bin_ns = bin_ns;
        if self.targets.is_empty() {
            return;
        }
        self.seq += 1;
        self.next = 1;
        self.timers
            .push_back((SimTime::from_nanos(bin_ns), ScalingTimer::Tick(self.seq)));
    }

    /// The next wake-up to schedule.
    pub(crate) fn poll_timer(&mut self) -> Option<(SimTime, ScalingTimer)> {
        self.timers.pop_front()
    }

    /// The next event for the timeline.
    pub(crate) fn poll_event(&mut self) -> Option<PlatformEvent> {
        self.events.pop_front()
    }

    /// The next desired count to carry out.
    pub(crate) fn poll_command(&mut self) -> Option<SetDesired> {
        self.commands.pop_front()
    }

    /// Whether a command waits.
    #[inline]
    pub(crate) fn has_command(&self) -> bool {
        !self.commands.is_empty()
    }

    /// Whether an activity is in progress anywhere.
    #[inline]
    pub(crate) fn busy(&self) -> bool {
        self.busy > 0
    }

    fn event(&mut self, at: SimTime, kind: EventKind, e: u16, v: u16, detail: String) {
        self.events.push_back(PlatformEvent {
            at,
            kind,
            endpoint: e,
            variant: Some(v),
            instance: None,
            detail,
        });
    }

    /// A timer asked for earlier has come due. `metrics` holds every
    /// boundary up to `now`; `fleet` reads a variant's fleet.
    pub(crate) fn handle_timer(
        &mut self,
        now: SimTime,
        timer: ScalingTimer,
        metrics: &Metrics,
        fleet: impl Fn(u16, u16) -> FleetView,
    ) {
        match timer {
            ScalingTimer::Tick(seq) => {
                if seq != self.seq {
                    return;
                }
                let k = self.next;
                self.next += 1;
                self.timers.push_back((
                    SimTime::from_nanos(self.next * self.bin_ns),
                    ScalingTimer::Tick(seq),
                ));
                for t in 0..self.targets.len() {
                    let (e, v) = (self.targets[t].endpoint, self.targets[t].variant);
                    self.evaluate(now, k, t, metrics, fleet(e, v));
                }
            }
            ScalingTimer::Scheduled { target, action } => {
                let t = target as usize;
                let (e, v) = (self.targets[t].endpoint, self.targets[t].variant);
                self.scheduled(now, t, action as usize, fleet(e, v));
            }
        }
    }

    /// Boundary `k`: alarms whose period ends evaluate, then the policies
    /// decide, unless an activity is in progress.
    fn evaluate(&mut self, now: SimTime, k: u64, t: usize, metrics: &Metrics, fleet: FleetView) {
        let (e, v) = (self.targets[t].endpoint, self.targets[t].variant);
        let mut lines = Vec::new();
        let mut evaluated = false;
        for p in &mut self.targets[t].policies {
            for a in p.alarms_mut() {
                if !a.due(k) {
                    continue;
                }
                evaluated = true;
                let window = metrics.window(e, v, a.width, a.spec.of as usize);
                if let Some(line) = a.evaluate(&window) {
                    lines.push(line);
                }
            }
        }
        for line in lines {
            self.event(now, EventKind::AlarmState, e, v, line);
        }
        if self.targets[t].current.is_some() {
            return;
        }
        let target = &self.targets[t];
        let desired = fleet.desired;
        if desired < target.min || desired > target.max {
            let to = desired.clamp(target.min, target.max);
            let cause = format!(
                "desired {desired} outside the scalable target's bounds [{}, {}]",
                target.min, target.max
            );
            return self.start(now, t, desired, to, cause, None, None);
        }
        if !evaluated {
            return;
        }
        // What each policy asks for.
        let mut out: Option<(u32, usize, String, Option<SimTime>)> = None;
        let mut ins: Vec<(u32, usize, String)> = Vec::new();
        let mut may_scale_in = 0;
        for (i, p) in target.policies.iter().enumerate() {
            if p.scales_in() {
                may_scale_in += 1;
            }
            match &p.rule {
                Rule::Tracking { spec, high, low } => {
                    if high.state == AlarmState::Alarm && high.due(k) {
                        if let Some(m) = high.latest {
                            let base = p.base(now, desired);
                            let n = ceil(f64::from(base) * m / spec.target);
                            let n = spec
                                .max_scale_out_step
                                .map_or(n, |step| n.min(desired.saturating_add(step)));
                            if n > desired && out.as_ref().is_none_or(|o| n > o.0) {
                                let why = format!(
                                    "{}: {} {} above target {}",
                                    high.name,
                                    spec.metric.as_str(),
                                    num(m),
                                    num(spec.target)
                                );
                                out = Some((n, i, why, high.breach_from));
                            }
                        }
                    }
                    if !spec.disable_scale_in
                        && low.state == AlarmState::Alarm
                        && !p.in_blocked(now)
                    {
                        if let Some(m) = low.latest {
                            let n = ceil(f64::from(desired) * m / spec.target);
                            let n = spec
                                .max_scale_in_step
                                .map_or(n, |step| n.max(desired.saturating_sub(step)))
                                .max(target.min);
                            if n < desired {
                                let why = format!(
                                    "{}: {} {} below {} of target {}",
                                    low.name,
                                    spec.metric.as_str(),
                                    num(m),
                                    num(spec.low_fraction),
                                    num(spec.target)
                                );
                                ins.push((n, i, why));
                            }
                        }
                    }
                }
                Rule::Step { spec, alarm } => {
                    if alarm.state != AlarmState::Alarm {
                        continue;
                    }
                    let Some(m) = alarm.latest else { continue };
                    let breach = m - spec.alarm.threshold;
                    let why = format!(
                        "{}: {} {} {} {}",
                        alarm.name,
                        spec.alarm.metric.as_str(),
                        num(m),
                        spec.alarm.comparison.as_str(),
                        num(spec.alarm.threshold)
                    );
                    if alarm.due(k) {
                        if let Some(n) = spec.apply(p.base(now, desired), breach) {
                            if n > desired && out.as_ref().is_none_or(|o| n > o.0) {
                                out = Some((n, i, why.clone(), alarm.breach_from));
                            }
                        }
                    }
                    if !p.in_blocked(now) {
                        if let Some(n) = spec.apply(desired, breach) {
                            if n < desired {
                                ins.push((n.max(target.min), i, why));
                            }
                        }
                    }
                }
            }
        }
        if let Some((n, i, why, breach)) = out {
            let to = n.min(target.max);
            if to > desired {
                // A scale-out ends every scale-in cooldown.
                for p in &mut self.targets[t].policies {
                    p.last_in = None;
                }
                return self.start(now, t, desired, to, why, Some(i), breach);
            }
        }
        if may_scale_in > 0 && ins.len() == may_scale_in {
            let (n, i, why) = ins
                .into_iter()
                .max_by_key(|x| x.0)
                .expect("at least one policy asked");
            let to = n.max(target.min);
            if to < desired {
                self.start(now, t, desired, to, why, Some(i), None);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn start(
        &mut self,
        now: SimTime,
        t: usize,
        from: u32,
        to: u32,
        cause: String,
        policy: Option<usize>,
        breach_at: Option<SimTime>,
    ) {
        let target = &mut self.targets[t];
        target.activities.push(Activity {
            at: now,
            from,
            to,
            cause: cause.clone(),
            status: ActivityStatus::InProgress,
            reason: None,
            ended_at: None,
            breach_at,
            policy,
        });
        target.current = Some(target.activities.len() - 1);
        self.busy += 1;
        let (e, v) = (target.endpoint, target.variant);
        self.commands.push_back(SetDesired {
            endpoint: e,
            variant: v,
            to,
        });
        self.event(
            now,
            EventKind::ScalingActivity,
            e,
            v,
            format!("desired {from} -> {to} status=InProgress cause=\"{cause}\""),
        );
    }

    /// Scheduled action `a` of target `t` comes due.
    fn scheduled(&mut self, now: SimTime, t: usize, a: usize, fleet: FleetView) {
        let target = &mut self.targets[t];
        let action = target.scheduled[a].clone();
        let (old_min, old_max) = (target.min, target.max);
        target.min = action.min.unwrap_or(target.min);
        target.max = action.max.unwrap_or(target.max);
        let (min, max) = (target.min, target.max);
        let (e, v) = (target.endpoint, target.variant);
        let busy = target.current.is_some();
        self.event(
            now,
            EventKind::ScalingActivity,
            e,
            v,
            format!("scheduled action: min {old_min} -> {min}, max {old_max} -> {max}"),
        );
        let desired = fleet.desired;
        if !busy && (desired < min || desired > max) {
            let to = desired.clamp(min, max);
            let cause = format!(
                "scheduled action at {}s: bounds [{min}, {max}]",
                num(self.scale.secs_to_scenario(now.as_secs_f64()))
            );
            self.start(now, t, desired, to, cause, None, None);
        }
    }

    /// A launch of variant `v` of endpoint `e` was refused: its activity
    /// in progress fails with `reason` (the launch retries).
    pub(crate) fn launch_refused(&mut self, now: SimTime, e: u16, v: u16, reason: &str) {
        let Some(t) = self
            .targets
            .iter()
            .position(|t| t.endpoint == e && t.variant == v)
        else {
            return;
        };
        let target = &mut self.targets[t];
        let Some(a) = target.current else { return };
        let act = &mut target.activities[a];
        if act.status != ActivityStatus::InProgress || act.to <= act.from {
            return;
        }
        act.status = ActivityStatus::Failed;
        act.reason = Some(reason.to_string());
        let line = format!(
            "desired {} -> {} status=Failed reason=\"{reason}\"",
            act.from, act.to
        );
        self.event(now, EventKind::ScalingActivity, e, v, line);
    }

    /// Ends every activity in progress whose fleet has settled.
    pub(crate) fn check(&mut self, now: SimTime, fleet: impl Fn(u16, u16) -> FleetView) {
        for t in 0..self.targets.len() {
            let target = &mut self.targets[t];
            let Some(a) = target.current else { continue };
            if !fleet(target.endpoint, target.variant).settled() {
                continue;
            }
            target.current = None;
            self.busy -= 1;
            let act = &mut target.activities[a];
            act.ended_at = Some(now);
            if act.status == ActivityStatus::InProgress {
                act.status = ActivityStatus::Successful;
            }
            let (from, to, status) = (act.from, act.to, act.status);
            if let Some(p) = act.policy {
                let p = &mut target.policies[p];
                if to > from {
                    p.last_out = Some((now, from));
                } else {
                    p.last_in = Some(now);
                }
            }
            let took = self
                .scale
                .secs_to_scenario(now.nanos_since(act.at) as f64 / 1e9);
            let line = format!(
                "desired {from} -> {to} status={} after {}s",
                if status == ActivityStatus::Failed {
                    "Failed (its launches retried until they served)"
                } else {
                    "Successful"
                },
                num(took)
            );
            let (e, v) = (target.endpoint, target.variant);
            self.event(now, EventKind::ScalingActivity, e, v, line);
        }
    }

    /// Each target's first policy's metric at its last evaluation.
    pub(crate) fn policy_metrics(&self) -> impl Iterator<Item = (u16, u16, Option<f64>)> + '_ {
        self.targets.iter().map(|t| {
            let m = t
                .policies
                .first()
                .and_then(|p| p.alarms().next())
                .and_then(|a| a.latest);
            (t.endpoint, t.variant, m)
        })
    }

    /// Every target's scaling so far.
    pub(crate) fn reports(&self) -> Vec<TargetReport> {
        self.targets
            .iter()
            .map(|t| TargetReport {
                endpoint: t.endpoint,
                variant: t.variant,
                min: t.min,
                max: t.max,
                activities: t.activities.clone(),
                alarms: t
                    .policies
                    .iter()
                    .flat_map(|p| p.alarms())
                    .map(|a| (a.name.clone(), a.state, a.changes))
                    .collect(),
            })
            .collect()
    }
}

impl Target {
    fn new(e: u16, v: u16, endpoint: &str, variant: &str, a: &AutoscalingSpec) -> Self {
        let mut policies = Vec::new();
        let label = format!("{endpoint}/{variant}");
        for (i, tt) in a.target_tracking.iter().enumerate() {
            let suffix = if a.target_tracking.len() > 1 {
                format!("-{}", i + 1)
            } else {
                String::new()
            };
            let name = format!("target-tracking-{}", i + 1);
            policies.push(Policy::tracking(name, &label, &suffix, tt));
        }
        for (i, st) in a.step.iter().enumerate() {
            policies.push(Policy {
                name: format!("step-{}", i + 1),
                rule: Rule::Step {
                    spec: st.clone(),
                    alarm: Alarm::new(
                        format!("Step-{label}-{}-{}", i + 1, st.alarm.metric.as_str()),
                        st.alarm.clone(),
                    ),
                },
                last_out: None,
                last_in: None,
            });
        }
        Target {
            endpoint: e,
            variant: v,
            label,
            min: a.min,
            max: a.max,
            policies,
            scheduled: a.scheduled.clone(),
            activities: Vec::new(),
            current: None,
        }
    }
}

#[cfg(test)]
mod tests;
