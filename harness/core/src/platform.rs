//! The platform state machine: endpoints, variants, instances, queues,
//! faults and the cost meter. See the crate docs for how to drive it.

use std::collections::VecDeque;

use rand::Rng;

use crate::dist::unit;
use crate::outcome::{
    Cause, EventKind, Outcome, PlatformEvent, RequestResult, VariantCost, VariantGauge,
};
use crate::rng::{RngStreams, StreamRng};
use crate::spec::{FaultKind, FaultSpec, PlatformSpec, Routing, VariantSpec};
use crate::time::{duration_nanos, secs_to_nanos, SimTime};

/// A request arriving at the platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// The driver's tag for this request, copied into its result so a
    /// wall-clock driver can answer the right connection (the simulator
    /// leaves it 0).
    pub id: u64,
    /// Endpoint index.
    pub endpoint: u16,
    /// Route to this variant instead of by weight (`TargetVariant`).
    pub target_variant: Option<u16>,
    /// When the client scheduled it (latency is measured from here).
    pub sent_at: SimTime,
    /// Client timeout, nanoseconds.
    pub timeout_ns: u64,
}

/// A request whose service started on an instance of an external
/// (real-process) variant: the driver forwards it to that instance's
/// process and reports back with [`Platform::complete`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceStart {
    /// The request's id.
    pub id: u64,
    /// Instance id.
    pub instance: u32,
    /// Slot index.
    pub slot: u32,
}

/// A wake-up the platform asked its driver for. Hand it back through
/// [`Platform::handle_timer`] at (or, for a wall clock, just after) its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// A request in `slot` of `instance` finishes service.
    ServiceDone {
        /// Instance id.
        instance: u32,
        /// Slot index.
        slot: u32,
    },
    /// A queued request on `instance` reaches its deadline.
    QueueExpiry {
        /// Instance id.
        instance: u32,
    },
    /// Scheduled fault starts.
    FaultStart {
        /// Fault index.
        fault: u32,
    },
    /// Scheduled fault ends.
    FaultEnd {
        /// Fault index.
        fault: u32,
    },
    /// The health check notices a dead instance.
    CrashDetected {
        /// Instance id.
        instance: u32,
    },
    /// A provisioning instance is ready to serve.
    InstanceReady {
        /// Instance id.
        instance: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InstanceState {
    Provisioning,
    InService,
    /// Dead, but the endpoint has not noticed: still receives traffic.
    Crashed,
    Terminated,
}

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    busy: bool,
    /// The client already got its answer (a timeout); the work goes on.
    reported: bool,
    id: u64,
    sent_at: SimTime,
    started_at: SimTime,
    timeout_ns: u64,
}

#[derive(Clone, Copy, Debug)]
struct Queued {
    id: u64,
    sent_at: SimTime,
    deadline: SimTime,
    timeout_ns: u64,
    extra_ns: u64,
}

#[derive(Debug)]
struct Instance {
    endpoint: u16,
    variant: u16,
    state: InstanceState,
    slots: Vec<Slot>,
    free: Vec<u32>,
    queue: VecDeque<Queued>,
    outstanding: u32,
    launched_at: SimTime,
    ended_at: Option<SimTime>,
    /// For a launched instance of an external variant: where its model
    /// process is in starting up. Goes in service only when both its
    /// provisioning time has passed and its process answers health checks.
    container: Container,
}

/// A launched external instance's model process, as its driver reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Container {
    /// Not external, or in service from the start (the driver waited for
    /// those before serving): nothing to wait for.
    NotWaited,
    /// Started, not yet healthy.
    Starting {
        /// The provisioning time has passed.
        provisioned: bool,
    },
    /// Answered its health check.
    Healthy,
    /// Exited before it was healthy.
    Failed,
}

#[derive(Debug)]
struct VariantState {
    spec: VariantSpec,
    /// Instances that receive traffic: in service, or dead and undetected.
    routable: Vec<u32>,
    in_service: u32,
    queue_depth: u32,
    max_queue_depth: u32,
    busy_slots: u32,
    rng: StreamRng,
}

#[derive(Debug)]
struct EndpointState {
    name: String,
    routing: Routing,
    variants: Vec<VariantState>,
    cumulative_weights: Vec<f64>,
    /// Active per-request fault rules, in scenario order.
    active_faults: Vec<u32>,
    rng: StreamRng,
    lor_cursor: usize,
    in_system: u64,
    in_system_area: f64,
    last_change: SimTime,
}

impl EndpointState {
    fn change_in_system(&mut self, now: SimTime, up: bool) {
        self.in_system_area += self.in_system as f64 * now.nanos_since(self.last_change) as f64;
        self.last_change = now;
        if up {
            self.in_system += 1;
        } else {
            self.in_system -= 1;
        }
    }
}

/// Where a fault stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultState {
    /// Its start time has not come.
    Scheduled,
    /// In force now.
    Active,
    /// Over: its window ended, or it was instantaneous (a crash).
    Ended,
    /// Ended early, or never started, by an operator's command.
    Cancelled,
}

impl FaultState {
    /// Lower-case name for APIs and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultState::Scheduled => "scheduled",
            FaultState::Active => "active",
            FaultState::Ended => "ended",
            FaultState::Cancelled => "cancelled",
        }
    }
}

/// The sans-IO platform model.
#[derive(Debug)]
pub struct Platform {
    endpoints: Vec<EndpointState>,
    instances: Vec<Instance>,
    faults: Vec<FaultSpec>,
    /// Faults an operator ended early (a scheduled one then never starts).
    cancelled: Vec<bool>,
    fault_rngs: Vec<StreamRng>,
    provisioning_rng: StreamRng,
    streams: RngStreams,
    timers: VecDeque<(SimTime, Timer)>,
    results: VecDeque<RequestResult>,
    events: VecDeque<PlatformEvent>,
    starts: VecDeque<ServiceStart>,
}

/// A uniform index in `0..len` (Lemire's multiply-shift; bias < 2⁻⁶⁰).
#[inline]
fn index<R: Rng + ?Sized>(rng: &mut R, len: usize) -> usize {
    ((u128::from(rng.next_u64()) * len as u128) >> 64) as usize
}

impl Platform {
    /// Builds the platform at time zero, every initial instance in service.
    /// Call [`Platform::poll_timer`] right away: the scheduled faults are
    /// already waiting there.
    pub fn new(spec: &PlatformSpec, streams: RngStreams) -> Self {
        let mut instances = Vec::new();
        let mut endpoints = Vec::with_capacity(spec.endpoints.len());
        for (e, ep) in spec.endpoints.iter().enumerate() {
            let mut variants = Vec::with_capacity(ep.variants.len());
            let mut acc = 0.0;
            let mut cumulative_weights = Vec::with_capacity(ep.variants.len());
            for (v, vs) in ep.variants.iter().enumerate() {
                acc += vs.weight.max(0.0);
                cumulative_weights.push(acc);
                let mut routable = Vec::new();
                for _ in 0..vs.instance_count {
                    routable.push(instances.len() as u32);
                    instances.push(Instance::new(
                        e as u16,
                        v as u16,
                        vs.concurrency,
                        SimTime::ZERO,
                        InstanceState::InService,
                    ));
                }
                variants.push(VariantState {
                    spec: vs.clone(),
                    in_service: vs.instance_count,
                    routable,
                    queue_depth: 0,
                    max_queue_depth: 0,
                    busy_slots: 0,
                    rng: streams.stream(&format!("service/{}/{}", ep.name, vs.name)),
                });
            }
            endpoints.push(EndpointState {
                name: ep.name.clone(),
                routing: ep.routing,
                variants,
                cumulative_weights,
                active_faults: Vec::new(),
                rng: streams.stream(&format!("routing/{}", ep.name)),
                lor_cursor: 0,
                in_system: 0,
                in_system_area: 0.0,
                last_change: SimTime::ZERO,
            });
        }
        let mut timers = VecDeque::new();
        for (i, f) in spec.faults.iter().enumerate() {
            timers.push_back((SimTime::ZERO + f.at, Timer::FaultStart { fault: i as u32 }));
        }
        Platform {
            endpoints,
            instances,
            fault_rngs: (0..spec.faults.len())
                .map(|i| streams.stream(&format!("fault/{i}")))
                .collect(),
            faults: spec.faults.clone(),
            cancelled: vec![false; spec.faults.len()],
            provisioning_rng: streams.stream("provisioning"),
            streams,
            timers,
            results: VecDeque::new(),
            events: VecDeque::new(),
            starts: VecDeque::new(),
        }
    }

    /// Every instance: `(id, endpoint, variant, in service or
    /// provisioning)`; dead ones are left out. For drivers that run a
    /// process per instance.
    pub fn instances(&self) -> Vec<(u32, u16, u16)> {
        self.instances
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                matches!(
                    i.state,
                    InstanceState::InService | InstanceState::Provisioning
                )
            })
            .map(|(id, i)| (id as u32, i.endpoint, i.variant))
            .collect()
    }

    // ----- outputs -------------------------------------------------------

    /// The next wake-up to schedule, in the order they were asked for.
    #[inline]
    pub fn poll_timer(&mut self) -> Option<(SimTime, Timer)> {
        self.timers.pop_front()
    }

    /// The next finished request.
    #[inline]
    pub fn poll_result(&mut self) -> Option<RequestResult> {
        self.results.pop_front()
    }

    /// The next discrete event.
    pub fn poll_event(&mut self) -> Option<PlatformEvent> {
        self.events.pop_front()
    }

    /// The next request to forward to a real model process (external
    /// variants only).
    pub fn poll_start(&mut self) -> Option<ServiceStart> {
        self.starts.pop_front()
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
        inst.outstanding -= 1;
        let (e, v) = (inst.endpoint as usize, inst.variant as usize);
        let latency_ns = now.nanos_since(s.sent_at);
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
        });
        self.endpoints[e].variants[v].busy_slots -= 1;
        self.endpoints[e].change_in_system(now, false);
        self.dequeue(now, instance);
    }

    /// Snapshots every variant's fleet and queues, resetting the
    /// max-queue-depth watermark.
    pub fn gauges(&mut self, out: &mut Vec<VariantGauge>) {
        for (e, ep) in self.endpoints.iter_mut().enumerate() {
            for (v, vs) in ep.variants.iter_mut().enumerate() {
                out.push(VariantGauge {
                    endpoint: e as u16,
                    variant: v as u16,
                    instances_in_service: vs.in_service,
                    queue_depth: vs.queue_depth,
                    max_queue_depth: vs.max_queue_depth,
                    busy_slots: vs.busy_slots,
                });
                vs.max_queue_depth = vs.queue_depth;
            }
        }
    }

    /// Instance lifetime and cost per variant, billing every instance from
    /// launch until it was terminated or `end`, whichever is first.
    pub fn cost(&self, end: SimTime) -> Vec<VariantCost> {
        let mut out = Vec::new();
        for (e, ep) in self.endpoints.iter().enumerate() {
            for (v, vs) in ep.variants.iter().enumerate() {
                let nanos: u64 = self
                    .instances
                    .iter()
                    .filter(|i| i.endpoint as usize == e && i.variant as usize == v)
                    .map(|i| {
                        i.ended_at
                            .unwrap_or(end)
                            .min(end)
                            .nanos_since(i.launched_at)
                    })
                    .sum();
                let secs = nanos as f64 / 1e9;
                out.push(VariantCost {
                    endpoint: e as u16,
                    variant: v as u16,
                    instance_seconds: secs,
                    cost_usd: secs / 3600.0 * vs.spec.instance.price_per_hour,
                });
            }
        }
        out
    }

    /// Time-average number of requests inside `endpoint` (queued or in
    /// service) over `[0, until]`, measured from the platform's own state
    /// changes. Little's law says it equals throughput × mean latency.
    pub fn mean_in_system(&self, endpoint: usize, until: SimTime) -> f64 {
        let ep = &self.endpoints[endpoint];
        let area =
            ep.in_system_area + ep.in_system as f64 * until.nanos_since(ep.last_change) as f64;
        area / until.as_nanos().max(1) as f64
    }

    // ----- inputs --------------------------------------------------------

    /// A request arrives at `now`.
    pub fn handle_request(&mut self, now: SimTime, req: Request) {
        let e = req.endpoint as usize;
        let v = match req.target_variant {
            Some(v) => v as usize,
            None => self.pick_variant(e),
        };
        let base = RequestResult {
            id: req.id,
            endpoint: req.endpoint,
            variant: v as u16,
            sent_at: req.sent_at,
            latency_ns: now.nanos_since(req.sent_at),
            queue_wait_ns: 0,
            outcome: Outcome::Ok,
            cause: Cause::Served,
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
                FaultKind::InstanceCrash { .. } => {}
            }
        }

        let Some(inst) = self.pick_instance(e, v) else {
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
        };
        self.endpoints[e].change_in_system(now, true);
        let instance = &mut self.instances[inst as usize];
        instance.outstanding += 1;
        if let Some(slot) = instance.free.pop() {
            self.start(now, inst, slot, q);
        } else {
            instance.queue.push_back(q);
            let vs = &mut self.endpoints[e].variants[v];
            vs.queue_depth += 1;
            vs.max_queue_depth = vs.max_queue_depth.max(vs.queue_depth);
            self.timers
                .push_back((q.deadline, Timer::QueueExpiry { instance: inst }));
        }
    }

    /// A fault injected while the platform runs (a game-day operator's
    /// command). It starts at `now`, whatever its `at` says, and its `for`
    /// window counts from `now`. Returns its index among the faults.
    pub fn inject_fault(&mut self, now: SimTime, mut fault: FaultSpec) -> u32 {
        let i = self.faults.len() as u32;
        fault.at = std::time::Duration::from_nanos(now.as_nanos());
        self.fault_rngs
            .push(self.streams.stream(&format!("fault/live/{i}")));
        self.faults.push(fault);
        self.cancelled.push(false);
        self.fault_start(now, i);
        i
    }

    /// Every fault, scheduled or injected, with where it stands at `now`.
    pub fn faults(&self, now: SimTime) -> Vec<(u32, &FaultSpec, FaultState)> {
        self.faults
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let active = self.endpoints[f.target.endpoint]
                    .active_faults
                    .contains(&(i as u32));
                let state = if active {
                    FaultState::Active
                } else if self.cancelled[i] {
                    FaultState::Cancelled
                } else if SimTime::ZERO + f.at > now {
                    FaultState::Scheduled
                } else {
                    FaultState::Ended
                };
                (i as u32, f, state)
            })
            .collect()
    }

    /// Ends fault `fault` now (an operator's command): an active one is
    /// cleared, a scheduled one will not start. Returns false for an
    /// unknown index or a fault that is already over.
    pub fn end_fault(&mut self, now: SimTime, fault: u32) -> bool {
        let i = fault as usize;
        match self.faults(now).get(i).map(|f| f.2) {
            Some(FaultState::Active) => {
                self.cancelled[i] = true;
                self.fault_end(now, fault);
                true
            }
            Some(FaultState::Scheduled) => {
                self.cancelled[i] = true;
                let f = &self.faults[i];
                let (e, v) = (f.target.endpoint, f.target.variant);
                let detail = format!("{} cancelled before it started", f.kind.as_str());
                self.event(now, EventKind::FaultCleared, e, v, None, detail);
                true
            }
            _ => false,
        }
    }

    /// The endpoint and variant names, for drivers that route by name.
    pub fn names(&self) -> impl Iterator<Item = (&str, Vec<&str>)> {
        self.endpoints.iter().map(|ep| {
            (
                ep.name.as_str(),
                ep.variants.iter().map(|v| v.spec.name.as_str()).collect(),
            )
        })
    }

    /// A timer asked for earlier has come due.
    pub fn handle_timer(&mut self, now: SimTime, timer: Timer) {
        match timer {
            Timer::ServiceDone { instance, slot } => self.service_done(now, instance, slot),
            Timer::QueueExpiry { instance } => self.expire_queue(now, instance),
            Timer::FaultStart { fault } => self.fault_start(now, fault),
            Timer::FaultEnd { fault } => self.fault_end(now, fault),
            Timer::CrashDetected { instance } => self.crash_detected(now, instance),
            Timer::InstanceReady { instance } => self.instance_provisioned(now, instance),
        }
    }

    // ----- routing -------------------------------------------------------

    fn pick_variant(&mut self, e: usize) -> usize {
        let ep = &mut self.endpoints[e];
        let n = ep.cumulative_weights.len();
        if n == 1 {
            return 0;
        }
        let total = ep.cumulative_weights[n - 1];
        let u = unit(&mut ep.rng) * total;
        ep.cumulative_weights
            .partition_point(|&c| c <= u)
            .min(n - 1)
    }

    fn pick_instance(&mut self, e: usize, v: usize) -> Option<u32> {
        let ep = &mut self.endpoints[e];
        let routable = &ep.variants[v].routable;
        let n = routable.len();
        match (n, ep.routing) {
            (0, _) => None,
            (1, _) => Some(routable[0]),
            (_, Routing::Random) => Some(routable[index(&mut ep.rng, n)]),
            (_, Routing::LeastOutstandingRequests) => {
                // Fewest outstanding; ties go to the first after a rotating
                // cursor so equal instances share the load.
                let start = ep.lor_cursor % n;
                ep.lor_cursor = ep.lor_cursor.wrapping_add(1);
                let mut best = routable[start];
                let mut best_load = self.instances[best as usize].outstanding;
                for k in 1..n {
                    let id = routable[(start + k) % n];
                    let load = self.instances[id as usize].outstanding;
                    if load < best_load {
                        best = id;
                        best_load = load;
                    }
                }
                Some(best)
            }
        }
    }

    // ----- service -------------------------------------------------------

    fn start(&mut self, now: SimTime, inst: u32, slot: u32, q: Queued) {
        let instance = &mut self.instances[inst as usize];
        let (e, v) = (instance.endpoint as usize, instance.variant as usize);
        let vs = &mut self.endpoints[e].variants[v];
        vs.busy_slots += 1;
        if vs.spec.external {
            // A real process serves it: no draw, no timer; the driver
            // forwards it and calls `complete`.
            instance.slots[slot as usize] = Slot {
                busy: true,
                reported: false,
                id: q.id,
                sent_at: q.sent_at,
                started_at: now,
                timeout_ns: q.timeout_ns,
            };
            self.starts.push_back(ServiceStart {
                id: q.id,
                instance: inst,
                slot,
            });
            return;
        }
        let service_ns =
            secs_to_nanos(vs.spec.service.sample(&mut vs.rng)).saturating_add(q.extra_ns);
        let done = now.add_nanos(service_ns);
        let wait = now.nanos_since(q.sent_at);
        let late = done > q.deadline;
        instance.slots[slot as usize] = Slot {
            busy: true,
            reported: late,
            id: q.id,
            sent_at: q.sent_at,
            started_at: now,
            timeout_ns: q.timeout_ns,
        };
        if late {
            // The client gives up at its deadline; the instance keeps working.
            self.finish_request(e, v, q.id, q.sent_at, q.timeout_ns, wait, Outcome::Timeout);
        }
        self.timers.push_back((
            done,
            Timer::ServiceDone {
                instance: inst,
                slot,
            },
        ));
    }

    fn service_done(&mut self, now: SimTime, inst: u32, slot: u32) {
        let instance = &mut self.instances[inst as usize];
        if instance.state != InstanceState::InService {
            return; // died mid-request; the crash already failed it
        }
        let s = std::mem::take(&mut instance.slots[slot as usize]);
        instance.free.push(slot);
        instance.outstanding -= 1;
        let (e, v) = (instance.endpoint as usize, instance.variant as usize);
        if !s.reported {
            self.finish_request(
                e,
                v,
                s.id,
                s.sent_at,
                now.nanos_since(s.sent_at),
                s.started_at.nanos_since(s.sent_at),
                Outcome::Ok,
            );
        }
        self.endpoints[e].variants[v].busy_slots -= 1;
        self.endpoints[e].change_in_system(now, false);
        self.dequeue(now, inst);
    }

    fn dequeue(&mut self, now: SimTime, inst: u32) {
        loop {
            let instance = &mut self.instances[inst as usize];
            let Some(&slot) = instance.free.last() else {
                return;
            };
            let Some(q) = instance.queue.pop_front() else {
                return;
            };
            let (e, v) = (instance.endpoint as usize, instance.variant as usize);
            self.endpoints[e].variants[v].queue_depth -= 1;
            if now >= q.deadline {
                instance.outstanding -= 1;
                self.timeout_queued(now, e, v, q);
                continue;
            }
            instance.free.pop();
            self.start(now, inst, slot, q);
        }
    }

    fn expire_queue(&mut self, now: SimTime, inst: u32) {
        let instance = &mut self.instances[inst as usize];
        if instance.state != InstanceState::InService {
            return;
        }
        let (e, v) = (instance.endpoint as usize, instance.variant as usize);
        loop {
            let instance = &mut self.instances[inst as usize];
            if instance.queue.front().is_none_or(|q| q.deadline > now) {
                return;
            }
            let q = instance.queue.pop_front().expect("front exists");
            instance.outstanding -= 1;
            self.endpoints[e].variants[v].queue_depth -= 1;
            self.timeout_queued(now, e, v, q);
        }
    }

    fn timeout_queued(&mut self, now: SimTime, e: usize, v: usize, q: Queued) {
        self.finish_request(
            e,
            v,
            q.id,
            q.sent_at,
            q.timeout_ns,
            q.timeout_ns,
            Outcome::Timeout,
        );
        self.endpoints[e].change_in_system(now, false);
    }

    /// Reports a finished request of endpoint `e`, variant `v`.
    #[allow(clippy::too_many_arguments)]
    fn finish_request(
        &mut self,
        e: usize,
        v: usize,
        id: u64,
        sent_at: SimTime,
        latency_ns: u64,
        queue_wait_ns: u64,
        outcome: Outcome,
    ) {
        self.results.push_back(RequestResult {
            id,
            endpoint: e as u16,
            variant: v as u16,
            sent_at,
            latency_ns,
            queue_wait_ns,
            outcome,
            cause: Cause::of(outcome),
        });
    }

    // ----- faults and fleet ----------------------------------------------

    fn event(
        &mut self,
        at: SimTime,
        kind: EventKind,
        e: usize,
        v: Option<usize>,
        inst: Option<u32>,
        detail: String,
    ) {
        self.events.push_back(PlatformEvent {
            at,
            kind,
            endpoint: e as u16,
            variant: v.map(|v| v as u16),
            instance: inst,
            detail,
        });
    }

    fn fault_start(&mut self, now: SimTime, fault: u32) {
        if self.cancelled[fault as usize] {
            return;
        }
        let f = self.faults[fault as usize].clone();
        let e = f.target.endpoint;
        let detail = match &f.kind {
            FaultKind::InstanceCrash { count, .. } => format!("instance_crash count={count}"),
            FaultKind::LatencyInjection { delay } => {
                format!("latency_injection delay={}ms", delay.as_secs_f64() * 1e3)
            }
            FaultKind::ErrorInjection { rate, status } => {
                format!("error_injection rate={rate} status={status}")
            }
            FaultKind::Blackhole => "blackhole".to_string(),
        };
        self.event(
            now,
            EventKind::FaultInjected,
            e,
            f.target.variant,
            None,
            detail,
        );
        match f.kind {
            FaultKind::InstanceCrash {
                count,
                detect_after,
            } => {
                self.crash_instances(now, fault as usize, count, detect_after);
            }
            _ => {
                let active = &mut self.endpoints[e].active_faults;
                let at = active.partition_point(|&a| a < fault);
                active.insert(at, fault);
                if let Some(d) = f.duration {
                    self.timers.push_back((now + d, Timer::FaultEnd { fault }));
                }
            }
        }
    }

    fn fault_end(&mut self, now: SimTime, fault: u32) {
        let f = &self.faults[fault as usize];
        let (e, v) = (f.target.endpoint, f.target.variant);
        let kind = f.kind.as_str().to_string();
        let active = &mut self.endpoints[e].active_faults;
        if !active.contains(&fault) {
            return; // ended early by an operator; its timer still fires
        }
        active.retain(|&a| a != fault);
        self.event(now, EventKind::FaultCleared, e, v, None, kind);
    }

    fn crash_instances(
        &mut self,
        now: SimTime,
        fault: usize,
        count: u32,
        detect_after: std::time::Duration,
    ) {
        let target = self.faults[fault].target;
        let mut candidates: Vec<u32> = self
            .instances
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                i.state == InstanceState::InService
                    && i.endpoint as usize == target.endpoint
                    && target.variant.is_none_or(|v| v == i.variant as usize)
            })
            .map(|(id, _)| id as u32)
            .collect();
        let n = (count as usize).min(candidates.len());
        for k in 0..n {
            let j = k + index(&mut self.fault_rngs[fault], candidates.len() - k);
            candidates.swap(k, j);
        }
        let mut victims = candidates[..n].to_vec();
        victims.sort_unstable();
        for inst in victims {
            self.crash(now, inst, detect_after);
        }
    }

    fn crash(&mut self, now: SimTime, inst: u32, detect_after: std::time::Duration) {
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
                );
            }
            self.endpoints[e].variants[v].busy_slots -= 1;
            self.endpoints[e].change_in_system(now, false);
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
            );
            self.endpoints[e].change_in_system(now, false);
        }
        let vs = &mut self.endpoints[e].variants[v];
        vs.queue_depth -= queued.len() as u32;
        vs.in_service -= 1;
        self.event(
            now,
            EventKind::InstanceCrashed,
            e,
            Some(v),
            Some(inst),
            format!("{failed} requests in flight or queued failed"),
        );
        self.timers
            .push_back((now + detect_after, Timer::CrashDetected { instance: inst }));
    }

    fn crash_detected(&mut self, now: SimTime, inst: u32) {
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
            "health check failed; replacing".into(),
        );
        self.launch(now, e, v);
    }

    fn launch(&mut self, now: SimTime, e: usize, v: usize) {
        let vs = &self.endpoints[e].variants[v];
        let lo = duration_nanos(vs.spec.instance.provisioning_min);
        let hi = duration_nanos(vs.spec.instance.provisioning_max).max(lo);
        let delay = lo + (unit(&mut self.provisioning_rng) * (hi - lo) as f64) as u64;
        let id = self.instances.len() as u32;
        let mut instance = Instance::new(
            e as u16,
            v as u16,
            vs.spec.concurrency,
            now,
            InstanceState::Provisioning,
        );
        if vs.spec.external {
            instance.container = Container::Starting { provisioned: false };
        }
        self.instances.push(instance);
        let detail = format!(
            "{} provisioning for {:.1}s",
            vs.spec.instance.name,
            delay as f64 / 1e9
        );
        self.event(
            now,
            EventKind::InstanceLaunched,
            e,
            Some(v),
            Some(id),
            detail,
        );
        self.timers
            .push_back((now.add_nanos(delay), Timer::InstanceReady { instance: id }));
    }

    /// The provisioning time of `inst` has passed.
    fn instance_provisioned(&mut self, now: SimTime, inst: u32) {
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
    fn replace_unhealthy(&mut self, now: SimTime, inst: u32) {
        let instance = &mut self.instances[inst as usize];
        instance.state = InstanceState::Terminated;
        instance.ended_at = Some(now);
        let (e, v) = (instance.endpoint as usize, instance.variant as usize);
        self.event(
            now,
            EventKind::InstanceTerminated,
            e,
            Some(v),
            Some(inst),
            "model server exited before answering GET /ping; replacing".into(),
        );
        self.launch(now, e, v);
    }

    fn instance_ready(&mut self, now: SimTime, inst: u32) {
        let instance = &mut self.instances[inst as usize];
        instance.state = InstanceState::InService;
        let (e, v) = (instance.endpoint as usize, instance.variant as usize);
        let vs = &mut self.endpoints[e].variants[v];
        vs.routable.push(inst);
        vs.in_service += 1;
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

impl Instance {
    fn new(
        endpoint: u16,
        variant: u16,
        concurrency: u32,
        now: SimTime,
        state: InstanceState,
    ) -> Self {
        let concurrency = concurrency.max(1);
        Instance {
            endpoint,
            variant,
            state,
            slots: vec![Slot::default(); concurrency as usize],
            free: (0..concurrency).rev().collect(),
            queue: VecDeque::new(),
            outstanding: 0,
            launched_at: now,
            ended_at: None,
            container: Container::NotWaited,
        }
    }
}
