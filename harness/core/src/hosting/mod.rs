//! Hosting: endpoints, variants, instances, routing, slots and queues,
//! per-request fault rules, fleet replacement and the cost meter. One
//! component of the composed [`crate::Platform`], which owns the timers:
//! hosting asks for wake-ups through its outbox and gets them back through
//! [`Hosting::handle_timer`].

use std::collections::VecDeque;

use rand::Rng;

use crate::metrics::Level;
use crate::mme::ModelTag;
use crate::outcome::{Action, EventKind, PlatformEvent, RequestResult};
use crate::rng::{RngStreams, StreamRng};
use crate::spec::{FaultSpec, PlatformSpec, Routing, VariantSpec};
use crate::time::SimTime;

mod faults;
mod feature_outages;
mod fleet;
mod launch;
mod models;
mod readings;
mod routing;
mod scaling;
mod service;
mod zones;

pub(crate) use launch::Launch;
pub(crate) use models::ModelOps;
pub use models::{ModelCounts, ModelStats, LISTED_MODEL_EVENTS};
pub use scaling::{FleetStats, FleetView};

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
    /// Multi-model endpoints: the target model's index
    /// (`X-Amzn-SageMaker-Target-Model`).
    pub target_model: Option<u32>,
}

/// A request whose service started on an instance of an external
/// (real-process) variant: the driver forwards it to that instance's
/// process and reports back with [`Hosting::complete`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceStart {
    /// The request's id.
    pub id: u64,
    /// Instance id.
    pub instance: u32,
    /// Slot index.
    pub slot: u32,
    /// The request's target model on a multi-model variant (its index in
    /// the variant's models), or [`ModelTag::NO_MODEL`].
    pub model: u32,
}

/// A wake-up the platform asked its driver for. Hand it back through
/// [`Hosting::handle_timer`] at (or, for a wall clock, just after) its time.
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
    /// Zone outage `i` starts.
    ZoneOutageStart {
        /// Outage index.
        outage: u32,
    },
    /// Zone outage `i` ends.
    ZoneOutageEnd {
        /// Outage index.
        outage: u32,
    },
    /// A launch the capacity pool refused is tried again.
    RetryLaunch {
        /// Endpoint index.
        endpoint: u16,
        /// Variant index.
        variant: u16,
        /// Refusals so far.
        attempt: u32,
    },
    /// A multi-model instance finishes loading (or failing to load) a
    /// model.
    ModelReady {
        /// Instance id.
        instance: u32,
        /// Model index.
        model: u32,
    },
    /// A request waiting for its model on `instance` reaches the 60 s
    /// limit (or its client's deadline).
    ModelWaitExpiry {
        /// Instance id.
        instance: u32,
    },
    /// Feature-store outage `outage` starts.
    FeatureOutageStart {
        /// Outage index.
        outage: u32,
    },
    /// Feature-store outage `outage` ends.
    FeatureOutageEnd {
        /// Outage index.
        outage: u32,
    },
}

impl Timer {
    /// Service ends and queue deadlines: the work of requests already
    /// inside, which still runs after the end of a run.
    pub fn is_request_work(&self) -> bool {
        matches!(
            self,
            Timer::ServiceDone { .. }
                | Timer::QueueExpiry { .. }
                | Timer::ModelReady { .. }
                | Timer::ModelWaitExpiry { .. }
        )
    }
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
    tag: ModelTag,
}

impl Slot {
    /// The slot of queued request `q` whose service starts at `now`.
    fn serving(q: &Queued, now: SimTime) -> Slot {
        Slot {
            busy: true,
            reported: false,
            id: q.id,
            sent_at: q.sent_at,
            started_at: now,
            timeout_ns: q.timeout_ns,
            tag: q.tag,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Queued {
    id: u64,
    sent_at: SimTime,
    deadline: SimTime,
    timeout_ns: u64,
    extra_ns: u64,
    tag: ModelTag,
}

#[derive(Debug)]
struct Instance {
    endpoint: u16,
    variant: u16,
    /// Availability zone index.
    zone: u8,
    state: InstanceState,
    slots: Vec<Slot>,
    free: Vec<u32>,
    queue: VecDeque<Queued>,
    /// The earliest `QueueExpiry` timer pending for this instance
    /// (`SimTime::MAX`: none). One timer at the front's deadline stands
    /// for the whole queue, so the timer heap holds one entry per instance
    /// instead of one per queued request.
    expiry_armed: SimTime,
    outstanding: u32,
    launched_at: SimTime,
    ended_at: Option<SimTime>,
    /// Taken out of routing by a scale-in: it finishes what it holds,
    /// then terminates.
    draining: bool,
    /// For a launched instance of an external variant: where its model
    /// process is in starting up. Goes in service only when both its
    /// provisioning time has passed and its process answers health checks.
    container: Container,
    /// Multi-model variants: the models it holds and is loading.
    models: Option<Box<models::InstanceModels>>,
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
    in_service: Level,
    queue_depth: u32,
    max_queue_depth: u32,
    busy_slots: Level,
    /// Requests in service or queued.
    in_system: Level,
    rng: StreamRng,
    /// Draws which requests the model fails (`error_rate`): a stream of
    /// its own, so a model's error rate shifts no other draw.
    error_rng: StreamRng,
    /// The fleet as autoscaling sees it.
    fleet: FleetCounts,
    /// Multi-model variants: loads, unloads and loaded models.
    mme: Option<Box<models::VariantModels>>,
}

/// A variant's fleet beyond the instances in service.
#[derive(Clone, Copy, Debug, Default)]
struct FleetCounts {
    /// `DesiredInstanceCount`.
    desired: u32,
    /// Launched, not yet in service.
    provisioning: u32,
    /// Asked of the capacity pool, not yet launched (refused ones wait
    /// for their retry).
    pending: u32,
    /// In service but out of routing, finishing what they hold.
    draining: u32,
    /// Instances a scale-in could not take yet (they were still coming):
    /// the next to arrive are terminated at once, pending launches
    /// dropped.
    surplus: u32,
    /// Fewest and most instances in service (draining ones excluded).
    min_serving: u32,
    max_serving: u32,
    /// Results that failed or waited while fewer instances served than
    /// desired.
    short_requests: u64,
}

#[derive(Debug)]
struct EndpointState {
    name: String,
    routing: Routing,
    variants: Vec<VariantState>,
    cumulative_weights: Vec<f64>,
    /// The one variant routing can pick, when only one is not a shadow:
    /// no draw then, so adding a shadow moves no production number.
    only_variant: Option<u16>,
    /// Shadow copies: (production variant, shadow variant, sampling).
    shadows: Vec<(u16, u16, f64)>,
    /// Draws which requests are copied to a shadow.
    shadow_rng: StreamRng,
    /// Active per-request fault rules, in scenario order.
    active_faults: Vec<u32>,
    rng: StreamRng,
    lor_cursor: usize,
    /// Availability zones (at least 1).
    zones: u8,
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

/// The hosting component.
#[derive(Debug)]
pub(crate) struct Hosting {
    endpoints: Vec<EndpointState>,
    instances: Vec<Instance>,
    faults: Vec<FaultSpec>,
    /// Faults an operator ended early (a scheduled one then never starts).
    cancelled: Vec<bool>,
    fault_rngs: Vec<StreamRng>,
    provisioning_rng: StreamRng,
    zone_outages: Vec<crate::spec::ZoneOutageSpec>,
    /// Outages in force, per zone index.
    zone_down: [u32; 26],
    /// For the wording of events: durations in them are in scenario time.
    pub(crate) scale: crate::scale::TimeScale,
    streams: RngStreams,
    timers: VecDeque<(SimTime, Timer)>,
    results: VecDeque<RequestResult>,
    events: VecDeque<PlatformEvent>,
    starts: VecDeque<ServiceStart>,
    actions: VecDeque<Action>,
    launches: VecDeque<Launch>,
    /// Some variant is multi-model.
    multi_model: bool,
    /// Scratch space for the models a load unloads.
    victims: Vec<u32>,
    /// The online feature store, if an endpoint looks features up.
    features: Option<Box<crate::features::FeatureStore>>,
}

/// A uniform index in `0..len` (Lemire's multiply-shift; bias < 2⁻⁶⁰).
#[inline]
pub(crate) fn index<R: Rng + ?Sized>(rng: &mut R, len: usize) -> usize {
    ((u128::from(rng.next_u64()) * len as u128) >> 64) as usize
}

impl Hosting {
    /// The online feature store, if the run has one.
    pub(crate) fn feature_store(&mut self) -> Option<&mut crate::features::FeatureStore> {
        self.features.as_deref_mut()
    }

    /// Builds the platform at time zero, every initial instance in service.
    /// Call [`Hosting::poll_timer`] right away: the scheduled faults are
    /// already waiting there.
    pub fn new(spec: &PlatformSpec, streams: RngStreams) -> Self {
        let mut instances = Vec::new();
        let mut endpoints = Vec::with_capacity(spec.endpoints.len());
        for (e, ep) in spec.endpoints.iter().enumerate() {
            let mut variants = Vec::with_capacity(ep.variants.len());
            let mut acc = 0.0;
            let mut cumulative_weights = Vec::with_capacity(ep.variants.len());
            for (v, vs) in ep.variants.iter().enumerate() {
                if vs.shadow.is_none() {
                    acc += vs.weight.max(0.0);
                }
                cumulative_weights.push(acc);
                let mut routable = Vec::new();
                let zones = ep.zones.clamp(1, 26);
                for k in 0..vs.instance_count {
                    routable.push(instances.len() as u32);
                    let mut i = Instance::new(
                        e as u16,
                        v as u16,
                        vs,
                        SimTime::ZERO,
                        InstanceState::InService,
                    );
                    i.zone = (k % zones) as u8;
                    instances.push(i);
                }
                variants.push(VariantState {
                    spec: vs.clone(),
                    in_service: Level::new(vs.instance_count),
                    routable,
                    queue_depth: 0,
                    max_queue_depth: 0,
                    busy_slots: Level::default(),
                    in_system: Level::default(),
                    rng: streams.stream(&format!("service/{}/{}", ep.name, vs.name)),
                    error_rng: streams.stream(&format!("model-errors/{}/{}", ep.name, vs.name)),
                    fleet: FleetCounts {
                        desired: vs.instance_count,
                        min_serving: vs.instance_count,
                        max_serving: vs.instance_count,
                        ..FleetCounts::default()
                    },
                    mme: vs
                        .multi_model
                        .as_ref()
                        .map(|m| Box::new(models::VariantModels::new(m.models.len()))),
                });
            }
            endpoints.push(EndpointState {
                name: ep.name.clone(),
                routing: ep.routing,
                only_variant: match ep
                    .variants
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.shadow.is_none())
                    .collect::<Vec<_>>()[..]
                {
                    [(v, _)] => Some(v as u16),
                    _ => None,
                },
                shadows: ep
                    .variants
                    .iter()
                    .enumerate()
                    .filter_map(|(v, vs)| vs.shadow.map(|s| (s.of, v as u16, s.sampling)))
                    .collect(),
                shadow_rng: streams.stream(&format!("shadow/{}", ep.name)),
                variants,
                cumulative_weights,
                active_faults: Vec::new(),
                rng: streams.stream(&format!("routing/{}", ep.name)),
                lor_cursor: 0,
                zones: ep.zones.clamp(1, 26) as u8,
                in_system: 0,
                in_system_area: 0.0,
                last_change: SimTime::ZERO,
            });
        }
        let mut timers = VecDeque::new();
        for (i, f) in spec.faults.iter().enumerate() {
            timers.push_back((SimTime::ZERO + f.at, Timer::FaultStart { fault: i as u32 }));
        }
        for (i, z) in spec.zone_outages.iter().enumerate() {
            timers.push_back((
                SimTime::ZERO + z.at,
                Timer::ZoneOutageStart { outage: i as u32 },
            ));
        }
        let features =
            crate::features::FeatureStore::new(&spec.feature_store, spec.endpoints.len(), &streams);
        if let Some(store) = &features {
            for (k, o) in store.outages().iter().enumerate() {
                timers.push_back((
                    SimTime::ZERO + o.at,
                    Timer::FeatureOutageStart { outage: k as u32 },
                ));
            }
        }
        let mut h = Hosting {
            features: features.map(Box::new),
            endpoints,
            instances,
            fault_rngs: (0..spec.faults.len())
                .map(|i| streams.stream(&format!("fault/{i}")))
                .collect(),
            faults: spec.faults.clone(),
            cancelled: vec![false; spec.faults.len()],
            provisioning_rng: streams.stream("provisioning"),
            zone_outages: spec.zone_outages.clone(),
            zone_down: [0; 26],
            scale: crate::scale::TimeScale::default(),
            streams,
            timers,
            results: VecDeque::new(),
            events: VecDeque::new(),
            starts: VecDeque::new(),
            actions: VecDeque::new(),
            launches: VecDeque::new(),
            multi_model: spec
                .endpoints
                .iter()
                .flat_map(|e| &e.variants)
                .any(|v| v.multi_model.is_some()),
            victims: Vec::new(),
        };
        // The driver starts a process for each real-model instance in
        // service from the start.
        for id in 0..h.instances.len() {
            h.model_server_up(id as u32);
        }
        h
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

    /// Another component's event joins the timeline here, in order.
    pub(crate) fn push_event(&mut self, e: PlatformEvent) {
        self.events.push_back(e);
    }

    /// The next process start or stop for the driver.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next request to forward to a real model process (external
    /// variants only).
    pub fn poll_start(&mut self) -> Option<ServiceStart> {
        self.starts.pop_front()
    }

    // ----- inputs --------------------------------------------------------

    /// A timer asked for earlier has come due.
    pub fn handle_timer(&mut self, now: SimTime, timer: Timer) {
        match timer {
            Timer::ServiceDone { instance, slot } => self.service_done(now, instance, slot),
            Timer::QueueExpiry { instance } => self.expire_queue(now, instance),
            Timer::FaultStart { fault } => self.fault_start(now, fault),
            Timer::FaultEnd { fault } => self.fault_end(now, fault),
            Timer::CrashDetected { instance } => self.crash_detected(now, instance),
            Timer::InstanceReady { instance } => self.instance_provisioned(now, instance),
            Timer::ZoneOutageStart { outage } => self.zone_outage_start(now, outage),
            Timer::ZoneOutageEnd { outage } => self.zone_outage_end(now, outage),
            Timer::RetryLaunch {
                endpoint,
                variant,
                attempt,
            } => self.request_launch(endpoint as usize, variant as usize, attempt),
            Timer::ModelReady { instance, model } => self.model_ready(now, instance, model),
            Timer::ModelWaitExpiry { instance } => self.expire_model_waits(now, instance),
            Timer::FeatureOutageStart { outage } => self.feature_outage(now, outage, true),
            Timer::FeatureOutageEnd { outage } => self.feature_outage(now, outage, false),
        }
    }

    // ----- events and actions ---------------------------------------------

    /// One more (`up`) or one fewer request inside variant `v` of
    /// endpoint `e`.
    #[inline]
    fn change_in_system(&mut self, now: SimTime, e: usize, v: usize, up: bool) {
        let ep = &mut self.endpoints[e];
        ep.change_in_system(now, up);
        let lv = &mut ep.variants[v].in_system;
        if up {
            lv.up(now);
        } else {
            lv.down(now, 1);
        }
    }

    /// Instance `inst` launched (or is in service from the start): if its
    /// variant runs a real model server, the driver starts one.
    fn model_server_up(&mut self, inst: u32) {
        let i = &self.instances[inst as usize];
        if self.endpoints[i.endpoint as usize].variants[i.variant as usize]
            .spec
            .external
        {
            self.actions.push_back(Action::StartModelServer {
                instance: inst,
                endpoint: i.endpoint,
                variant: i.variant,
            });
        }
    }

    /// Instance `inst` crashed or was terminated: its feature cache is
    /// gone, and the driver stops its model server, if it has one.
    fn model_server_down(&mut self, inst: u32) {
        if let Some(store) = self.features.as_deref_mut() {
            store.forget(inst);
        }
        let i = &self.instances[inst as usize];
        if self.endpoints[i.endpoint as usize].variants[i.variant as usize]
            .spec
            .external
        {
            self.actions
                .push_back(Action::StopModelServer { instance: inst });
        }
    }

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
}

impl Instance {
    fn new(
        endpoint: u16,
        variant: u16,
        spec: &VariantSpec,
        now: SimTime,
        state: InstanceState,
    ) -> Self {
        let concurrency = spec.concurrency.max(1);
        Instance {
            endpoint,
            variant,
            state,
            slots: vec![Slot::default(); concurrency as usize],
            free: (0..concurrency).rev().collect(),
            queue: VecDeque::new(),
            expiry_armed: SimTime::MAX,
            outstanding: 0,
            zone: 0,
            launched_at: now,
            ended_at: None,
            draining: false,
            container: Container::NotWaited,
            models: spec
                .multi_model
                .as_ref()
                .map(|m| Box::new(models::InstanceModels::new(m.models.len()))),
        }
    }
}
