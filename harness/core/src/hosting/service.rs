//! Service: slots, FIFO queues, deadlines and finished requests.

use super::{Hosting, InstanceState, Queued, Request, ServiceStart, Slot, Timer};
use crate::dist::unit;
use crate::features::FeaturePath;
use crate::mme::{CacheUse, ModelTag};
use crate::outcome::{Cause, Outcome, RequestResult};
use crate::spec::FaultKind;
use crate::time::duration_nanos;
use crate::time::{secs_to_nanos, SimTime};

impl Hosting {
    /// A request arrives at `now`.
    pub fn handle_request(&mut self, now: SimTime, req: Request) {
        let e = req.endpoint as usize;
        let v = match req.target_variant {
            Some(v) => v as usize,
            None => self.pick_variant(e),
        };
        if !self.endpoints[e].shadows.is_empty() {
            self.copy_to_shadows(now, req, v);
        }
        let base = RequestResult {
            id: req.id,
            endpoint: req.endpoint,
            variant: v as u16,
            sent_at: req.sent_at,
            latency_ns: now.nanos_since(req.sent_at),
            queue_wait_ns: 0,
            outcome: Outcome::Ok,
            cause: Cause::Served,
            cache: CacheUse::NotMultiModel,
            model_wait_us: 0,
            features: crate::features::FeatureUse::NONE,
        };

        // Fault rules in scenario order; the first that does not pass wins.
        let mut extra_ns = 0;
        for i in 0..self.endpoints[e].active_faults.len() {
            let f = self.endpoints[e].active_faults[i] as usize;
            let fault = &self.faults[f];
            if fault.target.variant.is_some_and(|fv| fv != v) {
                continue;
            }
            match fault.kind {
                FaultKind::ErrorInjection { rate, status } => {
                    if unit(&mut self.fault_rngs[f]) < rate {
                        self.results.push_back(RequestResult {
                            outcome: Outcome::from_status(status),
                            cause: Cause::Injected(status),
                            ..base
                        });
                        return;
                    }
                }
                FaultKind::Blackhole => {
                    self.results.push_back(RequestResult {
                        outcome: Outcome::Timeout,
                        latency_ns: req.timeout_ns,
                        cause: Cause::Timeout,
                        ..base
                    });
                    return;
                }
                FaultKind::LatencyInjection { delay } => {
                    extra_ns = duration_nanos(delay);
                    break;
                }
                FaultKind::InstanceCrash { .. }
                | FaultKind::ModelDownloadSlow { .. }
                | FaultKind::ModelLoadFailure { .. } => {}
            }
        }

        // A multi-model variant routes by the target model.
        let model = req.target_model.filter(|&m| {
            self.endpoints[e].variants[v]
                .spec
                .multi_model
                .as_ref()
                .is_some_and(|mm| (m as usize) < mm.models.len())
        });
        let picked = match model {
            Some(m) => self.pick_model_instance(e, v, m),
            None => self.pick_instance(e, v),
        };
        let Some(inst) = picked else {
            // Nothing in service: SageMaker answers 5xx at once.
            self.results.push_back(RequestResult {
                outcome: Outcome::Server5xx,
                cause: Cause::NoCapacity,
                ..base
            });
            return;
        };
        if self.instances[inst as usize].state == InstanceState::Crashed {
            self.results.push_back(RequestResult {
                outcome: Outcome::Server5xx,
                cause: Cause::InstanceDown,
                ..base
            });
            return;
        }
        let q = Queued {
            id: req.id,
            sent_at: req.sent_at,
            deadline: req.sent_at.add_nanos(req.timeout_ns),
            timeout_ns: req.timeout_ns,
            extra_ns,
            tag: ModelTag::NONE,
        };
        self.change_in_system(now, e, v, true);
        self.instances[inst as usize].outstanding += 1;
        let q = match model {
            Some(m) => match self.model_lookup(now, inst, m, q) {
                Some(q) => q,
                None => return, // waits for its model
            },
            None => q,
        };
        self.take_slot_or_queue(now, inst, q);
    }

    /// An admitted request takes a free slot of `inst`, or joins its queue.
    pub(super) fn take_slot_or_queue(&mut self, now: SimTime, inst: u32, q: Queued) {
        let instance = &mut self.instances[inst as usize];
        if let Some(slot) = instance.free.pop() {
            self.start(now, inst, slot, q);
        } else {
            instance.queue.push_back(q);
            let (e, v) = (instance.endpoint as usize, instance.variant as usize);
            let vs = &mut self.endpoints[e].variants[v];
            vs.queue_depth += 1;
            vs.max_queue_depth = vs.max_queue_depth.max(vs.queue_depth);
            self.arm_expiry(inst);
        }
    }

    /// Makes sure a `QueueExpiry` timer is pending no later than the
    /// deadline of `inst`'s front request. Requests leave the queue from
    /// the front, so the front's deadline is the next one that can expire
    /// anything; each firing expires what is due and arms the next.
    pub(super) fn arm_expiry(&mut self, inst: u32) {
        let instance = &mut self.instances[inst as usize];
        if let Some(front) = instance.queue.front() {
            if front.deadline < instance.expiry_armed {
                instance.expiry_armed = front.deadline;
                self.timers
                    .push_back((front.deadline, Timer::QueueExpiry { instance: inst }));
            }
        }
    }

    /// A real model process finished request `id` in `slot` of
    /// `instance`: `Ok` if it answered 200, `Err(status)` otherwise (0:
    /// no answer). Frees the slot and reports the result, unless the
    /// instance died meanwhile (its crash already failed the request) or
    /// the slot no longer holds `id`.
    pub fn complete(
        &mut self,
        now: SimTime,
        instance: u32,
        slot: u32,
        id: u64,
        answer: Result<(), u16>,
    ) {
        let Some(inst) = self.instances.get_mut(instance as usize) else {
            return;
        };
        let held = inst
            .slots
            .get(slot as usize)
            .is_some_and(|s| s.busy && s.id == id);
        if inst.state != InstanceState::InService || !held {
            return;
        }
        let s = std::mem::take(&mut inst.slots[slot as usize]);
        inst.free.push(slot);
        let (e, v) = (inst.endpoint as usize, inst.variant as usize);
        let latency_ns = now.nanos_since(s.sent_at);
        if answer == Err(404)
            && s.tag.model != ModelTag::NO_MODEL
            && !s.tag.retried
            && latency_ns <= s.timeout_ns
        {
            // The multi-model container does not have the model the
            // platform thought it had: it loads it again and the request
            // waits for it (once; a second 404 is the container's error).
            self.endpoints[e].variants[v].busy_slots.down(now, 1);
            let mut q = Queued {
                id,
                sent_at: s.sent_at,
                deadline: s.sent_at.add_nanos(s.timeout_ns),
                timeout_ns: s.timeout_ns,
                extra_ns: 0,
                tag: s.tag,
            };
            q.tag.retried = true;
            self.model_missing(now, instance, q);
            self.dequeue(now, instance);
            return;
        }
        self.instances[instance as usize].outstanding -= 1;
        let (outcome, cause) = match answer {
            _ if latency_ns > s.timeout_ns => (Outcome::Timeout, Cause::Timeout),
            Ok(()) => (Outcome::Ok, Cause::Served),
            Err(0) => (Outcome::Timeout, Cause::Timeout),
            Err(status) => (Outcome::from_status(status), Cause::ModelError(status)),
        };
        self.results.push_back(RequestResult {
            id,
            endpoint: e as u16,
            variant: v as u16,
            sent_at: s.sent_at,
            latency_ns: if outcome == Outcome::Timeout {
                latency_ns.min(s.timeout_ns)
            } else {
                latency_ns
            },
            queue_wait_ns: s.started_at.nanos_since(s.sent_at),
            outcome,
            cause,
            cache: s.tag.cache,
            model_wait_us: s.tag.wait_us,
            features: s.tag.features,
        });
        self.endpoints[e].variants[v].busy_slots.down(now, 1);
        self.change_in_system(now, e, v, false);
        self.release_model(now, instance, s.tag.model);
        self.dequeue(now, instance);
    }

    pub(super) fn start(&mut self, now: SimTime, inst: u32, slot: u32, q: Queued) {
        let instance = &mut self.instances[inst as usize];
        let (e, v) = (instance.endpoint as usize, instance.variant as usize);
        let vs = &mut self.endpoints[e].variants[v];
        vs.busy_slots.up(now);
        if vs.spec.external {
            // A real process serves it: no draw, no timer; the driver
            // forwards it and calls `complete`.
            instance.slots[slot as usize] = Slot::serving(&q, now);
            self.starts.push_back(ServiceStart {
                id: q.id,
                instance: inst,
                slot,
                model: q.tag.model,
            });
            return;
        }
        let mut service = vs.spec.service.sample(&mut vs.rng);
        if q.tag.model != ModelTag::NO_MODEL {
            // A model of a multi-model variant may be slower or faster
            // than the variant's reference distribution.
            if let Some(mm) = &vs.spec.multi_model {
                service *= mm.models[q.tag.model as usize].service_scale;
            }
        }
        let mut service_ns = secs_to_nanos(service).saturating_add(q.extra_ns);
        let instance = &mut self.instances[inst as usize];
        let s = &mut instance.slots[slot as usize];
        *s = Slot::serving(&q, now);
        if let Some(store) = self.features.as_deref_mut().filter(|s| s.used_by(e)) {
            // The container reads the request's features first; a failed
            // lookup with an `error` fallback answers without the model.
            // (Written into the slot in place: the request's tag is not
            // copied again.)
            let lookup = store.lookup(now, e, inst);
            s.tag.features = lookup.used;
            service_ns = if lookup.used.path == FeaturePath::Failed {
                lookup.latency_ns
            } else {
                lookup.latency_ns.saturating_add(service_ns)
            };
        }
        let vs = &mut self.endpoints[e].variants[v];
        if vs.spec.error_rate > 0.0
            && s.tag.features.path != FeaturePath::Failed
            && unit(&mut vs.error_rng) < vs.spec.error_rate
        {
            s.tag.model_failed = true;
        }
        let done = now.add_nanos(service_ns);
        let wait = now.nanos_since(q.sent_at);
        let late = done > q.deadline;
        s.reported = late;
        let tag = s.tag;
        if late {
            // The client gives up at its deadline; the instance keeps working.
            self.finish_request(
                e,
                v,
                q.id,
                q.sent_at,
                q.timeout_ns,
                wait,
                Outcome::Timeout,
                tag,
            );
        }
        self.timers.push_back((
            done,
            Timer::ServiceDone {
                instance: inst,
                slot,
            },
        ));
    }

    pub(super) fn service_done(&mut self, now: SimTime, inst: u32, slot: u32) {
        let instance = &mut self.instances[inst as usize];
        if instance.state != InstanceState::InService {
            return; // died mid-request; the crash already failed it
        }
        let s = std::mem::take(&mut instance.slots[slot as usize]);
        instance.free.push(slot);
        instance.outstanding -= 1;
        let (e, v) = (instance.endpoint as usize, instance.variant as usize);
        if !s.reported {
            let outcome = if s.tag.features.path == FeaturePath::Failed || s.tag.model_failed {
                Outcome::Server5xx
            } else {
                Outcome::Ok
            };
            self.finish_request(
                e,
                v,
                s.id,
                s.sent_at,
                now.nanos_since(s.sent_at),
                s.started_at.nanos_since(s.sent_at),
                outcome,
                s.tag,
            );
        }
        self.endpoints[e].variants[v].busy_slots.down(now, 1);
        self.change_in_system(now, e, v, false);
        self.release_model(now, inst, s.tag.model);
        self.dequeue(now, inst);
    }

    pub(super) fn dequeue(&mut self, now: SimTime, inst: u32) {
        loop {
            let instance = &mut self.instances[inst as usize];
            let Some(&slot) = instance.free.last() else {
                return;
            };
            let Some(q) = instance.queue.pop_front() else {
                if instance.draining {
                    self.drained(now, inst);
                }
                return;
            };
            // With mixed client timeouts the new front may expire before
            // the pending timer.
            let rearm = instance
                .queue
                .front()
                .is_some_and(|f| f.deadline < instance.expiry_armed);
            let (e, v) = (instance.endpoint as usize, instance.variant as usize);
            let expired = now >= q.deadline;
            if expired {
                instance.outstanding -= 1;
            } else {
                instance.free.pop();
            }
            if rearm {
                self.arm_expiry(inst);
            }
            self.endpoints[e].variants[v].queue_depth -= 1;
            if expired {
                self.timeout_queued(now, inst, q);
            } else {
                self.start(now, inst, slot, q);
            }
        }
    }

    pub(super) fn expire_queue(&mut self, now: SimTime, inst: u32) {
        let instance = &mut self.instances[inst as usize];
        if instance.expiry_armed <= now {
            instance.expiry_armed = SimTime::MAX;
        }
        if instance.state != InstanceState::InService {
            return;
        }
        let (e, v) = (instance.endpoint as usize, instance.variant as usize);
        loop {
            let instance = &mut self.instances[inst as usize];
            if instance.queue.front().is_none_or(|q| q.deadline > now) {
                self.arm_expiry(inst);
                if self.instances[inst as usize].draining {
                    self.drained(now, inst);
                }
                return;
            }
            let q = instance.queue.pop_front().expect("front exists");
            instance.outstanding -= 1;
            self.endpoints[e].variants[v].queue_depth -= 1;
            self.timeout_queued(now, inst, q);
        }
    }

    pub(super) fn timeout_queued(&mut self, now: SimTime, inst: u32, q: Queued) {
        let i = &self.instances[inst as usize];
        let (e, v) = (i.endpoint as usize, i.variant as usize);
        self.finish_request(
            e,
            v,
            q.id,
            q.sent_at,
            q.timeout_ns,
            q.timeout_ns,
            Outcome::Timeout,
            q.tag,
        );
        self.change_in_system(now, e, v, false);
        self.release_model(now, inst, q.tag.model);
    }

    /// Reports a finished request of endpoint `e`, variant `v`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn finish_request(
        &mut self,
        e: usize,
        v: usize,
        id: u64,
        sent_at: SimTime,
        latency_ns: u64,
        queue_wait_ns: u64,
        outcome: Outcome,
        tag: ModelTag,
    ) {
        self.results.push_back(RequestResult {
            id,
            endpoint: e as u16,
            variant: v as u16,
            sent_at,
            latency_ns,
            queue_wait_ns,
            outcome,
            cause: match outcome {
                Outcome::Server5xx
                    if tag.features.path == FeaturePath::Failed || tag.model_failed =>
                {
                    Cause::ModelError(500)
                }
                _ => Cause::of(outcome),
            },
            cache: tag.cache,
            model_wait_us: tag.wait_us,
            features: tag.features,
        });
    }
}
