//! The fleet: crashes, health checks, launches, provisioning and the
//! container health gate of real model servers.

use super::{Container, Hosting, InstanceState, Timer};
use crate::outcome::{EventKind, Outcome};
use crate::time::SimTime;

impl Hosting {
    pub(super) fn crash(&mut self, now: SimTime, inst: u32, detect_after: std::time::Duration) {
        let instance = &mut self.instances[inst as usize];
        instance.state = InstanceState::Crashed;
        instance.outstanding = 0;
        let (e, v) = (instance.endpoint as usize, instance.variant as usize);
        let slots = std::mem::take(&mut instance.slots);
        let queued = std::mem::take(&mut instance.queue);
        let mut failed = 0u32;
        for s in slots.iter().filter(|s| s.busy) {
            if !s.reported {
                failed += 1;
                self.finish_request(
                    e,
                    v,
                    s.id,
                    s.sent_at,
                    now.nanos_since(s.sent_at),
                    s.started_at.nanos_since(s.sent_at),
                    Outcome::Server5xx,
                    s.tag,
                );
            }
            self.endpoints[e].variants[v].busy_slots.down(now, 1);
            self.change_in_system(now, e, v, false);
        }
        for q in &queued {
            failed += 1;
            self.finish_request(
                e,
                v,
                q.id,
                q.sent_at,
                now.nanos_since(q.sent_at),
                now.nanos_since(q.sent_at),
                Outcome::Server5xx,
                q.tag,
            );
            self.change_in_system(now, e, v, false);
        }
        failed += self.lose_models(now, inst);
        let draining = self.instances[inst as usize].draining;
        let vs = &mut self.endpoints[e].variants[v];
        vs.queue_depth -= queued.len() as u32;
        vs.in_service.down(now, 1);
        if draining {
            vs.fleet.draining -= 1;
        }
        vs.note_serving();
        self.event(
            now,
            EventKind::InstanceCrashed,
            e,
            Some(v),
            Some(inst),
            format!("{failed} requests in flight or queued failed"),
        );
        self.model_server_down(inst);
        self.timers
            .push_back((now + detect_after, Timer::CrashDetected { instance: inst }));
    }

    pub(super) fn crash_detected(&mut self, now: SimTime, inst: u32) {
        let instance = &mut self.instances[inst as usize];
        instance.state = InstanceState::Terminated;
        instance.ended_at = Some(now);
        let (e, v) = (instance.endpoint as usize, instance.variant as usize);
        self.endpoints[e].variants[v]
            .routable
            .retain(|&i| i != inst);
        self.event(
            now,
            EventKind::InstanceTerminated,
            e,
            Some(v),
            Some(inst),
            if self.instances[inst as usize].draining {
                "health check failed; it was draining, so it is not replaced".into()
            } else {
                "health check failed; replacing".into()
            },
        );
        self.model_server_down(inst);
        if !self.instances[inst as usize].draining {
            self.request_launch(e, v, 0);
        }
    }

    /// The provisioning time of `inst` has passed.
    pub(super) fn instance_provisioned(&mut self, now: SimTime, inst: u32) {
        let instance = &mut self.instances[inst as usize];
        if instance.state != InstanceState::Provisioning {
            return;
        }
        match instance.container {
            Container::Starting { .. } => {
                instance.container = Container::Starting { provisioned: true };
            }
            Container::Failed => self.replace_unhealthy(now, inst),
            Container::NotWaited | Container::Healthy => self.instance_ready(now, inst),
        }
    }

    /// The model process of external instance `inst` answered its health
    /// check: the instance goes in service once provisioned (at once, if
    /// it already is). Other instances, and repeated reports, are ignored.
    pub fn container_healthy(&mut self, now: SimTime, inst: u32) {
        let Some(instance) = self.instances.get_mut(inst as usize) else {
            return;
        };
        if let Container::Starting { provisioned } = instance.container {
            instance.container = Container::Healthy;
            if provisioned && instance.state == InstanceState::Provisioning {
                self.instance_ready(now, inst);
            }
        }
    }

    /// The model process of external instance `inst` exited on its own.
    /// In service, the instance has crashed: what it was serving fails,
    /// and after `detect_after` it is replaced. Still starting, it fails
    /// its health check when its provisioning time is up and is replaced
    /// then (so a process that cannot start is retried once per
    /// provisioning time, not in a tight loop).
    pub fn container_exited(&mut self, now: SimTime, inst: u32, detect_after: std::time::Duration) {
        let Some(instance) = self.instances.get_mut(inst as usize) else {
            return;
        };
        match (instance.state, instance.container) {
            (InstanceState::InService, _) => self.crash(now, inst, detect_after),
            (InstanceState::Provisioning, Container::Starting { provisioned }) => {
                instance.container = Container::Failed;
                if provisioned {
                    self.replace_unhealthy(now, inst);
                }
            }
            _ => {}
        }
    }

    /// A launched instance whose process never became healthy is
    /// terminated and a new one launched.
    pub(super) fn replace_unhealthy(&mut self, now: SimTime, inst: u32) {
        self.replace_provisioning(
            now,
            inst,
            "model server exited before answering GET /ping; replacing",
        );
    }

    /// A provisioning instance is given up (`why`): it terminates and a
    /// new one is launched.
    pub(super) fn replace_provisioning(&mut self, now: SimTime, inst: u32, why: &str) {
        let instance = &mut self.instances[inst as usize];
        instance.state = InstanceState::Terminated;
        instance.ended_at = Some(now);
        let (e, v) = (instance.endpoint as usize, instance.variant as usize);
        self.endpoints[e].variants[v].fleet.provisioning -= 1;
        self.event(
            now,
            EventKind::InstanceTerminated,
            e,
            Some(v),
            Some(inst),
            why.into(),
        );
        self.model_server_down(inst);
        self.request_launch(e, v, 0);
    }

    pub(super) fn instance_ready(&mut self, now: SimTime, inst: u32) {
        let instance = &mut self.instances[inst as usize];
        let (e, v) = (instance.endpoint as usize, instance.variant as usize);
        let vs = &mut self.endpoints[e].variants[v];
        vs.fleet.provisioning -= 1;
        if vs.fleet.surplus > 0 {
            // A scale-in took it while it was still coming.
            vs.fleet.surplus -= 1;
            instance.state = InstanceState::Terminated;
            instance.ended_at = Some(now);
            self.event(
                now,
                EventKind::InstanceTerminated,
                e,
                Some(v),
                Some(inst),
                "scale-in: no longer needed when it was ready".into(),
            );
            self.model_server_down(inst);
            return;
        }
        instance.state = InstanceState::InService;
        vs.routable.push(inst);
        vs.in_service.up(now);
        vs.note_serving();
        let detail = format!("{} in service", vs.spec.instance.name);
        self.event(
            now,
            EventKind::InstanceInService,
            e,
            Some(v),
            Some(inst),
            detail,
        );
    }
}
