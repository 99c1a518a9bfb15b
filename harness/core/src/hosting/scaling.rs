//! Scaling a variant's fleet to a desired count: launches through the
//! capacity pool on the way out; on the way in, instances taken out of
//! routing that finish what they hold (draining) and then terminate.

use super::{Hosting, InstanceState, VariantState};
use crate::outcome::{EventKind, Outcome, RequestResult};
use crate::time::SimTime;

/// A variant's fleet at a moment, as autoscaling reads it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FleetView {
    /// `DesiredInstanceCount`.
    pub desired: u32,
    /// Serving traffic now.
    pub in_service: u32,
    /// Launched, not yet serving.
    pub provisioning: u32,
    /// Waiting for capacity to launch.
    pub pending: u32,
    /// Out of routing, finishing what they hold.
    pub draining: u32,
}

impl FleetView {
    /// Nothing is on its way in or out: a scaling activity is done.
    pub fn settled(&self) -> bool {
        self.provisioning == 0 && self.pending == 0 && self.draining == 0
    }
}

/// A variant's fleet over a run, for the report.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FleetStats {
    /// Endpoint index.
    pub endpoint: u16,
    /// Variant index.
    pub variant: u16,
    /// Fewest instances in service.
    pub min: u32,
    /// Time-average instances in service (draining ones included: they
    /// still hold capacity and are billed).
    pub mean: f64,
    /// Most instances in service.
    pub max: u32,
    /// Requests that failed or waited in a queue while fewer instances
    /// served than desired.
    pub short_requests: u64,
}

impl VariantState {
    /// Instances in service and routed to.
    #[inline]
    pub(super) fn serving(&self) -> u32 {
        self.in_service.get() - self.fleet.draining
    }

    /// Notes the count of serving instances after a change.
    pub(super) fn note_serving(&mut self) {
        let n = self.serving();
        let f = &mut self.fleet;
        f.min_serving = f.min_serving.min(n);
        f.max_serving = f.max_serving.max(n);
    }
}

impl Hosting {
    /// Variant `v` of endpoint `e` as autoscaling sees it.
    pub(crate) fn fleet(&self, e: usize, v: usize) -> FleetView {
        let vs = &self.endpoints[e].variants[v];
        FleetView {
            desired: vs.fleet.desired,
            in_service: vs.serving(),
            provisioning: vs.fleet.provisioning,
            pending: vs.fleet.pending,
            draining: vs.fleet.draining,
        }
    }

    /// Every variant's fleet over `[0, until]`.
    pub(crate) fn fleet_stats(&self, until: SimTime) -> Vec<FleetStats> {
        let secs = until.as_nanos().max(1) as f64;
        let mut out = Vec::new();
        for (e, ep) in self.endpoints.iter().enumerate() {
            for (v, vs) in ep.variants.iter().enumerate() {
                out.push(FleetStats {
                    endpoint: e as u16,
                    variant: v as u16,
                    min: vs.fleet.min_serving,
                    mean: vs.in_service.area_at(until) as f64 / secs,
                    max: vs.fleet.max_serving,
                    short_requests: vs.fleet.short_requests,
                });
            }
        }
        out
    }

    /// Counts `r` against its variant if it failed or queued while fewer
    /// instances served than desired.
    #[inline]
    pub(crate) fn note_result(&mut self, r: &RequestResult) {
        if r.outcome == Outcome::Ok && r.queue_wait_ns == 0 {
            return;
        }
        let vs = &mut self.endpoints[r.endpoint as usize].variants[r.variant as usize];
        if vs.serving() < vs.fleet.desired {
            vs.fleet.short_requests += 1;
        }
    }

    /// Sets the desired count of variant `v` of endpoint `e` to `to`:
    /// launches the instances missing, or takes instances in service out
    /// of routing to drain, from the fullest zone first.
    pub(crate) fn set_desired(&mut self, now: SimTime, e: usize, v: usize, to: u32) {
        let vs = &mut self.endpoints[e].variants[v];
        let from = vs.fleet.desired;
        vs.fleet.desired = to;
        if to > from {
            // Instances a scale-in has not yet taken count first.
            let mut add = to - from;
            let keep = vs.fleet.surplus.min(add);
            vs.fleet.surplus -= keep;
            add -= keep;
            for _ in 0..add {
                self.request_launch(e, v, 0);
            }
            return;
        }
        let mut take = from - to;
        // One at a time from the zone with the most serving instances,
        // the newest there first (gameday's choice: AWS documents none;
        // it keeps the zones balanced), ties to the lower zone, then the
        // higher id.
        let mut serving: Vec<u32> = vs.routable.clone();
        serving.retain(|&i| self.instances[i as usize].state == InstanceState::InService);
        while take > 0 && !serving.is_empty() {
            let mut per_zone = [0u32; 26];
            for &i in &serving {
                per_zone[self.instances[i as usize].zone as usize] += 1;
            }
            let pick = serving
                .iter()
                .enumerate()
                .max_by_key(|(_, &i)| {
                    let x = &self.instances[i as usize];
                    (
                        per_zone[x.zone as usize],
                        std::cmp::Reverse(x.zone),
                        x.launched_at,
                        i,
                    )
                })
                .map(|(k, _)| k)
                .expect("not empty");
            let inst = serving.swap_remove(pick);
            self.begin_drain(now, inst);
            take -= 1;
        }
        self.endpoints[e].variants[v].fleet.surplus += take;
    }

    /// Takes `inst` out of routing; it terminates once it holds nothing.
    fn begin_drain(&mut self, now: SimTime, inst: u32) {
        let i = &mut self.instances[inst as usize];
        i.draining = true;
        let (e, v) = (i.endpoint as usize, i.variant as usize);
        let held = i.outstanding;
        let vs = &mut self.endpoints[e].variants[v];
        vs.routable.retain(|&x| x != inst);
        vs.fleet.draining += 1;
        vs.note_serving();
        self.event(
            now,
            EventKind::InstanceDraining,
            e,
            Some(v),
            Some(inst),
            format!("scale-in: out of routing, finishing {held} requests"),
        );
        self.drained(now, inst);
    }

    /// If draining instance `inst` holds nothing more, it terminates.
    #[inline]
    pub(super) fn drained(&mut self, now: SimTime, inst: u32) {
        let i = &mut self.instances[inst as usize];
        if !i.draining || i.outstanding > 0 || i.state != InstanceState::InService {
            return;
        }
        i.state = InstanceState::Terminated;
        i.ended_at = Some(now);
        let (e, v) = (i.endpoint as usize, i.variant as usize);
        let vs = &mut self.endpoints[e].variants[v];
        vs.in_service.down(now, 1);
        vs.fleet.draining -= 1;
        self.event(
            now,
            EventKind::InstanceTerminated,
            e,
            Some(v),
            Some(inst),
            "scale-in: drained".into(),
        );
        self.lose_models(now, inst);
        self.model_server_down(inst);
    }

    /// A launch of variant `v` is about to be asked for (`attempt` 0) or
    /// retried: false when a scale-in since made it unneeded.
    pub(super) fn launch_wanted(&mut self, e: usize, v: usize, attempt: u32) -> bool {
        let f = &mut self.endpoints[e].variants[v].fleet;
        if attempt == 0 {
            f.pending += 1;
            return true;
        }
        if f.surplus > 0 {
            f.surplus -= 1;
            f.pending -= 1;
            return false;
        }
        true
    }
}
