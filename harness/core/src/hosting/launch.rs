//! Launches: a variant asks for an instance, the platform asks the
//! instance type's capacity pool, and the launch either provisions or
//! fails with `InsufficientCapacity` and is retried with backoff.

use super::{Container, Hosting, Instance, InstanceState, Timer};
use crate::capacity::launch_backoff;
use crate::dist::unit;
use crate::outcome::EventKind;
use crate::time::{duration_nanos, SimTime};

/// A variant wants one more instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Launch {
    /// Endpoint index.
    pub(crate) endpoint: u16,
    /// Variant index.
    pub(crate) variant: u16,
    /// Refusals so far.
    pub(crate) attempt: u32,
}

impl Hosting {
    /// Asks for an instance of variant `v` of endpoint `e`; the platform
    /// answers with [`Hosting::launch`] or [`Hosting::launch_refused`].
    pub(super) fn request_launch(&mut self, e: usize, v: usize, attempt: u32) {
        if !self.launch_wanted(e, v, attempt) {
            return;
        }
        self.launches.push_back(Launch {
            endpoint: e as u16,
            variant: v as u16,
            attempt,
        });
    }

    /// Whether a launch waits.
    #[inline]
    pub(crate) fn has_launch(&self) -> bool {
        !self.launches.is_empty()
    }

    /// The next launch to put to the capacity pool.
    pub(crate) fn poll_launch(&mut self) -> Option<Launch> {
        self.launches.pop_front()
    }

    /// The pool has the instance: it provisions for a time drawn from the
    /// instance type's range, in the zone [`Hosting::pick_zone`] picks.
    /// Refused (as [`Hosting::launch_refused`], its reason returned) when
    /// every zone of the endpoint is out.
    pub(crate) fn launch(&mut self, now: SimTime, l: Launch) -> Result<(), String> {
        let (e, v) = (l.endpoint as usize, l.variant as usize);
        let Some(zone) = self.pick_zone(e, v) else {
            return Err(self.launch_refused(now, l));
        };
        let vs = &mut self.endpoints[e].variants[v];
        vs.fleet.pending -= 1;
        vs.fleet.provisioning += 1;
        let vs = &self.endpoints[e].variants[v];
        let lo = duration_nanos(vs.spec.instance.provisioning_min);
        let hi = duration_nanos(vs.spec.instance.provisioning_max).max(lo);
        let delay = lo + (unit(&mut self.provisioning_rng) * (hi - lo) as f64) as u64;
        let load = duration_nanos(vs.spec.model_load);
        let id = self.instances.len() as u32;
        let mut instance = Instance::new(
            e as u16,
            v as u16,
            &vs.spec,
            now,
            InstanceState::Provisioning,
        );
        if vs.spec.external {
            instance.container = Container::Starting { provisioned: false };
        }
        instance.zone = zone;
        self.instances.push(instance);
        let detail = if load == 0 {
            format!(
                "{} in zone {} provisioning for {:.1}s",
                vs.spec.instance.name,
                crate::spec::zone_name(zone),
                self.scale.secs_to_scenario(delay as f64 / 1e9)
            )
        } else {
            format!(
                "{} in zone {} provisioning for {:.1}s, then loading the model for {:.1}s",
                vs.spec.instance.name,
                crate::spec::zone_name(zone),
                self.scale.secs_to_scenario(delay as f64 / 1e9),
                self.scale.secs_to_scenario(load as f64 / 1e9)
            )
        };
        let delay = delay + load;
        self.event(
            now,
            EventKind::InstanceLaunched,
            e,
            Some(v),
            Some(id),
            detail,
        );
        self.model_server_up(id);
        self.timers
            .push_back((now.add_nanos(delay), Timer::InstanceReady { instance: id }));
        Ok(())
    }

    /// The pool is short: the launch fails and is tried again after a
    /// backoff. Returns the failure's reason.
    pub(crate) fn launch_refused(&mut self, now: SimTime, l: Launch) -> String {
        let (e, v) = (l.endpoint as usize, l.variant as usize);
        let backoff = launch_backoff(l.attempt);
        let detail = format!(
            "InsufficientCapacity: Unable to provision requested ML compute capacity ({}); retrying in {}s",
            self.endpoints[e].variants[v].spec.instance.name,
            backoff.as_secs()
        );
        self.event(
            now,
            EventKind::InstanceLaunchFailed,
            e,
            Some(v),
            None,
            detail.clone(),
        );
        self.timers.push_back((
            now + self.scale.compress(backoff),
            Timer::RetryLaunch {
                endpoint: l.endpoint,
                variant: l.variant,
                attempt: l.attempt + 1,
            },
        ));
        detail
    }

    /// A shortage of `instance_type` began (`began`) or ended: every
    /// endpoint with a variant on it shows it on its timeline.
    pub(crate) fn shortage_changed(&mut self, now: SimTime, instance_type: &str, began: bool) {
        let (kind, what) = if began {
            (
                EventKind::FaultInjected,
                "began: launches fail with InsufficientCapacity",
            )
        } else {
            (EventKind::FaultCleared, "ended")
        };
        for e in 0..self.endpoints.len() {
            for v in 0..self.endpoints[e].variants.len() {
                if self.endpoints[e].variants[v].spec.instance.name == instance_type {
                    let detail = format!("capacity_shortage of {instance_type} {what}");
                    self.event(now, kind, e, Some(v), None, detail);
                }
            }
        }
    }
}
