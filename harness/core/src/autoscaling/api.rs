//! The runtime side of Application Auto Scaling: what a user's own
//! scripts register while the platform runs (`RegisterScalableTarget`,
//! `PutScalingPolicy`, `DeleteScalingPolicy`, the `Describe…` calls).
//! Policies registered this way behave exactly as a scenario's.

use super::{Autoscaling, Policy, ScalingTimer, Target, TargetTrackingSpec};
use crate::time::SimTime;

/// Why a call was refused, as Application Auto Scaling names it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// `ObjectNotFoundException`.
    #[error("{0}")]
    NotFound(String),
    /// `ValidationException`.
    #[error("{0}")]
    Validation(String),
}

impl ApiError {
    /// The AWS error code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound(_) => "ObjectNotFoundException",
            ApiError::Validation(_) => "ValidationException",
        }
    }
}

/// A registered scalable target, as `DescribeScalableTargets` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetInfo {
    /// Endpoint index.
    pub endpoint: u16,
    /// Variant index.
    pub variant: u16,
    /// `MinCapacity`.
    pub min: u32,
    /// `MaxCapacity`.
    pub max: u32,
    /// Its policies.
    pub policies: Vec<PolicyInfo>,
}

/// A policy, as `DescribeScalingPolicies` would list it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyInfo {
    /// `PolicyName`.
    pub name: String,
    /// `TargetTrackingScaling` or `StepScaling`.
    pub kind: &'static str,
    /// Its alarms' names.
    pub alarms: Vec<String>,
}

impl Autoscaling {
    fn target_of(&self, e: u16, v: u16) -> Option<usize> {
        self.targets
            .iter()
            .position(|t| t.endpoint == e && t.variant == v)
    }

    /// Registers (or updates the bounds of) the scalable target of
    /// variant `v` of endpoint `e`, labelled `label` (`endpoint/variant`).
    /// A desired count outside the new bounds moves at the next boundary.
    pub(crate) fn register(
        &mut self,
        now: SimTime,
        e: u16,
        v: u16,
        label: &str,
        min: u32,
        max: u32,
    ) -> Result<(), ApiError> {
        if min < 1 || min > max {
            return Err(ApiError::Validation(format!(
                "MinCapacity ({min}) must be at least 1 and at most MaxCapacity ({max})"
            )));
        }
        match self.target_of(e, v) {
            Some(t) => {
                self.targets[t].min = min;
                self.targets[t].max = max;
            }
            None => self.targets.push(Target {
                endpoint: e,
                variant: v,
                label: label.to_string(),
                min,
                max,
                policies: Vec::new(),
                scheduled: Vec::new(),
                activities: Vec::new(),
                current: None,
            }),
        }
        if !self.ticking {
            self.ticking = true;
            self.seq += 1;
            self.next = now.as_nanos() / self.bin_ns + 1;
            self.timers.push_back((
                SimTime::from_nanos(self.next * self.bin_ns),
                ScalingTimer::Tick(self.seq),
            ));
        }
        Ok(())
    }

    /// Puts a target-tracking policy named `name` on a registered target
    /// (replacing one of that name); answers its alarms' names.
    pub(crate) fn put_tracking(
        &mut self,
        e: u16,
        v: u16,
        name: &str,
        spec: &TargetTrackingSpec,
    ) -> Result<Vec<String>, ApiError> {
        let t = self.target_of(e, v).ok_or_else(|| {
            ApiError::NotFound("No scalable target registered for this resource: call RegisterScalableTarget first".into())
        })?;
        if !(spec.target.is_finite() && spec.target > 0.0) {
            return Err(ApiError::Validation(format!(
                "TargetValue must be positive, got {}",
                spec.target
            )));
        }
        let target = &mut self.targets[t];
        let policy = Policy::tracking(name.to_string(), &target.label, &format!("-{name}"), spec);
        let alarms = policy.alarms().map(|a| a.name.clone()).collect();
        match target.policies.iter().position(|p| p.name == name) {
            Some(i) => target.policies[i] = policy,
            None => target.policies.push(policy),
        }
        Ok(alarms)
    }

    /// Deletes policy `name` of a registered target.
    pub(crate) fn delete_policy(&mut self, e: u16, v: u16, name: &str) -> Result<(), ApiError> {
        let t = self.target_of(e, v).ok_or_else(|| {
            ApiError::NotFound("No scalable target registered for this resource".into())
        })?;
        let policies = &mut self.targets[t].policies;
        let i = policies
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| {
                ApiError::NotFound(format!("No scaling policy found for PolicyName {name}"))
            })?;
        // An activity it started carries on; its cooldown goes with it.
        for a in &mut self.targets[t].activities {
            match a.policy {
                Some(p) if p == i => a.policy = None,
                Some(p) if p > i => a.policy = Some(p - 1),
                _ => {}
            }
        }
        self.targets[t].policies.remove(i);
        Ok(())
    }

    /// Every registered target and its policies.
    pub(crate) fn targets(&self) -> Vec<TargetInfo> {
        self.targets
            .iter()
            .map(|t| TargetInfo {
                endpoint: t.endpoint,
                variant: t.variant,
                min: t.min,
                max: t.max,
                policies: t
                    .policies
                    .iter()
                    .map(|p| PolicyInfo {
                        name: p.name.clone(),
                        kind: match p.rule {
                            super::Rule::Tracking { .. } => "TargetTrackingScaling",
                            super::Rule::Step { .. } => "StepScaling",
                        },
                        alarms: p.alarms().map(|a| a.name.clone()).collect(),
                    })
                    .collect(),
            })
            .collect()
    }
}
