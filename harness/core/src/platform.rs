//! The composed platform: the components (hosting, training) and the one
//! timer queue they share. Components own their state and RNG streams and
//! never hold references to each other; each asks for wake-ups and emits
//! outputs through an outbox, and [`Platform`] routes those: wake-ups into
//! its [`TimerQueue`], outputs to the driver. See the crate docs for the
//! driving contract.

use std::collections::VecDeque;

use crate::autoscaling::{Autoscaling, ScalingTimer, TargetReport};
use crate::capacity::{Capacity, CapacityTimer, Notice};
use crate::hosting::{FaultState, FleetStats, FleetView, Hosting, Request, ServiceStart, Timer};
use crate::metrics::{Datapoint, LevelAreas, Metrics, Period, Totals};
use crate::outcome::{Action, PlatformEvent, RequestResult, VariantCost, VariantGauge};
use crate::rng::RngStreams;
use crate::spec::{FaultSpec, PlatformSpec};
use crate::time::SimTime;
use crate::timers::TimerQueue;
use crate::training::{
    JobProgress, Training, TrainingEvent, TrainingOutcome, TrainingSpec, TrainingTimer,
};

/// A wake-up of one component.
#[derive(Clone, Copy, Debug)]
enum Due {
    Hosting(Timer),
    Capacity(CapacityTimer),
    Scaling(ScalingTimer),
    Training(TrainingTimer),
}

/// The sans-IO platform: endpoints and training jobs behind one clock
/// contract.
#[derive(Debug)]
pub struct Platform {
    hosting: Hosting,
    capacity: Capacity,
    autoscaling: Autoscaling,
    training: Training,
    metrics: Metrics,
    /// The pool of each variant, endpoint by endpoint, and of each job.
    variant_pools: Vec<Vec<usize>>,
    job_pools: Vec<usize>,
    /// Scratch space for the level integrals at a boundary.
    areas: Vec<LevelAreas>,
    /// Scratch space for the model operations at a boundary.
    model_ops: Vec<crate::hosting::ModelOps>,
    timers: TimerQueue<Due>,
    /// Past this, only request work (service ends, queue deadlines) and
    /// training run; scheduled faults and fleet changes do not.
    end: Option<SimTime>,
    actions: VecDeque<Action>,
}

impl Platform {
    /// Builds the platform at time zero, every initial instance in service,
    /// with no training jobs.
    pub fn new(spec: &PlatformSpec, streams: RngStreams) -> Self {
        Platform::with_training(spec, &TrainingSpec::default(), streams)
    }

    /// Builds the platform and its training jobs at time zero. Scheduled
    /// faults and the jobs' first steps are already on the timer queue;
    /// external instances in service now are already in
    /// [`Platform::poll_action`].
    pub fn with_training(
        spec: &PlatformSpec,
        training: &TrainingSpec,
        streams: RngStreams,
    ) -> Self {
        let hosting = Hosting::new(spec, streams);
        let metrics = Metrics::new(hosting.variant_series());
        let mut capacity = Capacity::new(
            spec.endpoints
                .iter()
                .flat_map(|e| &e.variants)
                .map(|v| v.instance.name.as_str())
                .chain(training.jobs.iter().map(|j| j.instance.name.as_str())),
            &spec.shortages,
        );
        let variant_pools = spec
            .endpoints
            .iter()
            .map(|e| {
                e.variants
                    .iter()
                    .map(|v| capacity.pool_of(&v.instance.name))
                    .collect()
            })
            .collect();
        let job_pools = training
            .jobs
            .iter()
            .map(|j| capacity.pool_of(&j.instance.name))
            .collect();
        let autoscaling = Autoscaling::new(spec, metrics.bin_ns());
        let mut p = Platform {
            hosting,
            capacity,
            autoscaling,
            training: Training::new(training, &streams),
            metrics,
            variant_pools,
            job_pools,
            areas: Vec::new(),
            model_ops: Vec::new(),
            timers: TimerQueue::default(),
            end: None,
            actions: VecDeque::new(),
        };
        p.route(SimTime::ZERO);
        p
    }

    /// Closes every metrics period that ended by `now`. Called before any
    /// input or timer is handled, so no level changed since the last one:
    /// the integrals read at each boundary are exact, with no timer of
    /// their own (an idle platform still has nothing to wake for).
    #[inline]
    fn settle(&mut self, now: SimTime) {
        while self.metrics.next_boundary() <= now {
            let at = self.metrics.next_boundary();
            self.hosting
                .level_areas(at, &mut self.areas, &mut self.model_ops);
            self.metrics.close(&self.areas, &self.model_ops);
        }
    }

    /// Sets the end of the run: scheduled faults and fleet changes due
    /// after `end` are not run (requests already inside still finish, and
    /// training jobs run to their own end). Cost is billed up to `end`.
    /// Both clocks use this one rule.
    pub fn set_end(&mut self, end: SimTime) {
        self.end = Some(end);
    }

    /// The specs were compressed by `scale` (a time-scaled wall run): the
    /// durations and times its events mention are given in scenario time.
    /// Metrics periods are compressed alike, so a datapoint covers 60 s
    /// (or 10 s) of scenario time. Call before the first
    /// [`Platform::handle_timeout`].
    pub fn set_time_scale(&mut self, scale: crate::scale::TimeScale) {
        self.hosting.scale = scale;
        self.training.scale = scale;
        self.autoscaling.scale = scale;
        self.metrics
            .set_period(scale.compress(crate::metrics::HIGH_RES_PERIOD));
        self.autoscaling.set_bin(self.metrics.bin_ns());
        self.route(SimTime::ZERO);
    }

    /// Passes messages between the components until none is left
    /// (capacity notices to hosting and training; launches and training
    /// asks to the pools, and the pools' answers back), then moves every
    /// component's wake-ups onto the one queue and their actions to the
    /// driver's.
    fn route(&mut self, now: SimTime) {
        if self.messages_waiting() {
            self.pass_messages(now);
        }
        if self.autoscaling.busy() {
            let h = &self.hosting;
            self.autoscaling
                .check(now, |e, v| h.fleet(e as usize, v as usize));
            self.scaling_events();
        }
        while let Some((at, t)) = self.hosting.poll_timer() {
            self.timers.push(at, Due::Hosting(t));
        }
        while let Some((at, t)) = self.capacity.poll_timer() {
            self.timers.push(at, Due::Capacity(t));
        }
        while let Some((at, t)) = self.autoscaling.poll_timer() {
            self.timers.push(at, Due::Scaling(t));
        }
        while let Some((at, t)) = self.training.poll_timer() {
            self.timers.push(at, Due::Training(t));
        }
        while let Some(a) = self.hosting.poll_action() {
            self.actions.push_back(a);
        }
        while let Some(a) = self.training.poll_action() {
            self.actions.push_back(Action::Training(a));
        }
    }

    /// [`Platform::route`] after hosting alone ran (a request, a service
    /// end): unless it asked for a launch, only its own outbox can hold
    /// anything, so only that is looked at.
    #[inline]
    fn route_hosting(&mut self, now: SimTime) {
        if self.messages_waiting() || self.autoscaling.busy() {
            return self.route(now);
        }
        while let Some((at, t)) = self.hosting.poll_timer() {
            self.timers.push(at, Due::Hosting(t));
        }
        while let Some(a) = self.hosting.poll_action() {
            self.actions.push_back(a);
        }
    }

    #[inline]
    fn messages_waiting(&self) -> bool {
        self.capacity.has_notice()
            || self.hosting.has_launch()
            || self.training.has_ask()
            || self.autoscaling.has_command()
    }

    /// Autoscaling's events join hosting's, in the order they happened.
    fn scaling_events(&mut self) {
        while let Some(e) = self.autoscaling.poll_event() {
            self.hosting.push_event(e);
        }
    }

    /// Capacity notices to hosting and training, launches and training
    /// asks to the pools and the answers back, until none is left.
    #[cold]
    fn pass_messages(&mut self, now: SimTime) {
        loop {
            let mut quiet = true;
            self.scaling_events();
            while let Some(c) = self.autoscaling.poll_command() {
                quiet = false;
                self.hosting
                    .set_desired(now, c.endpoint as usize, c.variant as usize, c.to);
            }
            while let Some(n) = self.capacity.poll_notice() {
                quiet = false;
                let (pool, began, restored) = match n {
                    Notice::ShortageBegan { pool } => (pool, true, false),
                    Notice::ShortageEnded { pool, restored } => (pool, false, restored),
                };
                let name = self.capacity.name(pool);
                // Past the end the fleet does not change (training goes on).
                if self.end.is_none_or(|e| now <= e) {
                    self.hosting.shortage_changed(now, name, began);
                }
                if began {
                    self.training.shortage_began(now, name);
                } else {
                    self.training.shortage_ended(now, name, restored);
                }
            }
            while let Some(l) = self.hosting.poll_launch() {
                quiet = false;
                let pool = self.variant_pools[l.endpoint as usize][l.variant as usize];
                let refused = if self.capacity.available(pool) {
                    self.hosting.launch(now, l).err()
                } else {
                    Some(self.hosting.launch_refused(now, l))
                };
                if let Some(reason) = refused {
                    self.autoscaling
                        .launch_refused(now, l.endpoint, l.variant, &reason);
                    self.scaling_events();
                }
            }
            while let Some(job) = self.training.poll_ask() {
                quiet = false;
                let available = self.capacity.available(self.job_pools[job]);
                self.training.capacity_answer(now, job, available);
            }
            if quiet {
                break;
            }
        }
    }

    /// When the platform next needs [`Platform::handle_timeout`], if ever.
    /// Timers that can no longer do anything are dropped unseen: fleet
    /// changes past the end, and leftover limits of training jobs that
    /// all ended.
    #[inline]
    pub fn poll_timeout(&mut self) -> Option<SimTime> {
        loop {
            let (at, due) = self.timers.peek()?;
            let dead = match due {
                Due::Hosting(t) => self.end.is_some_and(|e| at > e) && !t.is_request_work(),
                Due::Training(_) => self.training.all_done(),
                // A shortage matters to training jobs after the end too.
                Due::Capacity(_) => self.end.is_some_and(|e| at > e) && self.training.all_done(),
                Due::Scaling(_) => self.end.is_some_and(|e| at > e),
            };
            if !dead {
                return Some(at);
            }
            self.timers.pop();
        }
    }

    /// Runs every timer due by `now`, in (time, insertion) order, each at
    /// `now` (a wall clock wakes a little late; the virtual clock calls at
    /// exactly [`Platform::poll_timeout`]). Timers a handler sets for `now`
    /// or earlier run in the same call. Returns how many ran.
    pub fn handle_timeout(&mut self, now: SimTime) -> usize {
        self.settle(now);
        let mut ran = 0;
        while self.poll_timeout().is_some_and(|at| at <= now) {
            let Some((_, due)) = self.timers.pop() else {
                break;
            };
            match due {
                Due::Hosting(t) => {
                    self.hosting.handle_timer(now, t);
                    self.route_hosting(now);
                }
                Due::Capacity(t) => {
                    self.capacity.handle_timer(now, t);
                    self.route(now);
                }
                Due::Scaling(t) => {
                    let h = &self.hosting;
                    self.autoscaling
                        .handle_timer(now, t, &self.metrics, |e, v| {
                            h.fleet(e as usize, v as usize)
                        });
                    self.scaling_events();
                    self.route(now);
                }
                Due::Training(t) => {
                    self.training.handle_timer(now, t);
                    self.route(now);
                }
            }
            ran += 1;
        }
        ran
    }

    // ----- hosting inputs ------------------------------------------------

    /// A request arrives at `now` (see [`Request`] for its send time).
    pub fn handle_request(&mut self, now: SimTime, req: Request) {
        self.settle(now);
        self.hosting.handle_request(now, req);
        self.route_hosting(now);
    }

    /// A real model process finished request `id` in `slot` of
    /// `instance`: `Ok` if it answered 200, `Err(status)` otherwise (0:
    /// no answer). Ignored if the instance died meanwhile or the slot no
    /// longer holds `id`.
    pub fn handle_completion(
        &mut self,
        now: SimTime,
        start: ServiceStart,
        answer: Result<(), u16>,
    ) {
        self.settle(now);
        self.hosting
            .complete(now, start.instance, start.slot, start.id, answer);
        self.route_hosting(now);
    }

    /// The multi-model container of external instance `inst` answered the
    /// load of model `model` ([`Action::LoadModel`]) after `took_ns`: its
    /// real load time is the `ModelLoadingTime` recorded.
    pub fn handle_model_load(
        &mut self,
        now: SimTime,
        inst: u32,
        model: u32,
        answer: crate::ModelLoadAnswer,
        took_ns: u64,
    ) {
        self.settle(now);
        self.hosting
            .model_load_answered(now, inst, model, answer, took_ns);
        self.route_hosting(now);
    }

    /// The multi-model container of external instance `inst` unloaded a
    /// model ([`Action::UnloadModel`]) in `took_ns`.
    pub fn handle_model_unload(&mut self, now: SimTime, inst: u32, took_ns: u64) {
        self.settle(now);
        self.hosting.model_unload_answered(inst, took_ns);
        self.route_hosting(now);
    }

    /// The model process of external instance `inst` answered `GET
    /// /ping`: it goes in service once provisioned.
    pub fn handle_container_healthy(&mut self, now: SimTime, inst: u32) {
        self.settle(now);
        self.hosting.container_healthy(now, inst);
        self.route_hosting(now);
    }

    /// The model process of external instance `inst` exited on its own.
    /// The driver watches its processes, so the exit is seen at once: an
    /// instance in service is crashed now and its replacement launched
    /// without a further detection delay (gameday's assumption; SageMaker
    /// documents no figure for how fast it notices a dead container).
    pub fn handle_container_exit(&mut self, now: SimTime, inst: u32) {
        self.settle(now);
        self.hosting
            .container_exited(now, inst, std::time::Duration::ZERO);
        self.route_hosting(now);
    }

    /// A fault an operator injects now; returns its id.
    pub fn handle_fault(&mut self, now: SimTime, fault: FaultSpec) -> u32 {
        self.settle(now);
        let id = self.hosting.inject_fault(now, fault);
        self.route_hosting(now);
        id
    }

    /// Ends fault `id` now (an operator's command); false for an unknown
    /// id or a fault already over.
    pub fn handle_end_fault(&mut self, now: SimTime, id: u32) -> bool {
        self.settle(now);
        let ended = self.hosting.end_fault(now, id);
        self.route_hosting(now);
        ended
    }

    // ----- training inputs -----------------------------------------------

    /// An external training job's process reported finishing `step`.
    pub fn handle_training_step(&mut self, now: SimTime, job: usize, step: u64) {
        self.settle(now);
        self.training.external_step(now, job, step);
        self.route(now);
    }

    /// An external training job's process wrote a checkpoint at `step`.
    pub fn handle_training_checkpoint(&mut self, now: SimTime, job: usize, step: u64) {
        self.settle(now);
        self.training.external_checkpoint(now, job, step);
        self.route(now);
    }

    /// An external training job's process exited on its own.
    pub fn handle_training_exit(&mut self, now: SimTime, job: usize, success: bool) {
        self.settle(now);
        self.training.external_exit(now, job, success);
        self.route(now);
    }

    /// Stops every training job still in progress (the run was stopped).
    pub fn stop_training(&mut self, now: SimTime) {
        self.training.stop_all(now);
        self.route(now);
    }

    // ----- outputs -------------------------------------------------------

    /// The next finished request.
    #[inline]
    pub fn poll_result(&mut self) -> Option<RequestResult> {
        let r = self.hosting.poll_result()?;
        self.metrics.record(&r);
        self.hosting.note_result(&r);
        Some(r)
    }

    /// The next endpoint event.
    pub fn poll_event(&mut self) -> Option<PlatformEvent> {
        self.hosting.poll_event()
    }

    /// The next training event.
    pub fn poll_training_event(&mut self) -> Option<TrainingEvent> {
        self.training.poll_event()
    }

    /// The next request to forward to a real model process (external
    /// variants only); answer it with [`Platform::handle_completion`].
    pub fn poll_start(&mut self) -> Option<ServiceStart> {
        self.hosting.poll_start()
    }

    /// The next thing the driver must do to a real process.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    // ----- reading state ---------------------------------------------------

    /// Snapshots every variant's fleet and queues, resetting the
    /// max-queue-depth watermark.
    pub fn gauges(&mut self, out: &mut Vec<VariantGauge>) {
        self.hosting.gauges(out);
        for (e, v, m) in self.autoscaling.policy_metrics() {
            if let Some(g) = out.iter_mut().find(|g| g.endpoint == e && g.variant == v) {
                g.policy_metric = m;
            }
        }
    }

    /// Instance lifetime and cost per variant up to `until` (and never
    /// past the end, when one is set).
    pub fn cost(&self, until: SimTime) -> Vec<VariantCost> {
        self.hosting.cost(self.end.map_or(until, |e| e.min(until)))
    }

    /// Every CloudWatch datapoint of variant `variant` of `endpoint` at
    /// `period` that ended by `now`, oldest first, with the results polled
    /// so far in it. `now` is never before the last input's time.
    pub fn datapoints(
        &mut self,
        now: SimTime,
        endpoint: u16,
        variant: u16,
        period: Period,
    ) -> Vec<Datapoint> {
        self.settle(now);
        self.metrics.datapoints(endpoint, variant, period)
    }

    /// The newest datapoint of a variant at `period` complete by `now`.
    pub fn latest_datapoint(
        &mut self,
        now: SimTime,
        endpoint: u16,
        variant: u16,
        period: Period,
    ) -> Option<Datapoint> {
        self.settle(now);
        self.metrics.latest(endpoint, variant, period)
    }

    /// A variant's counts since the start (the results polled so far).
    pub fn metric_totals(&self, endpoint: u16, variant: u16) -> Totals {
        self.metrics.totals(endpoint, variant)
    }

    /// A request the platform served was refused by the embedded model
    /// that answered it (bad input): it counts as a 4XX, answered at `at`.
    pub fn handle_model_refusal(&mut self, at: SimTime, endpoint: u16, variant: u16) {
        self.metrics.reclassify_as_4xx(at, endpoint, variant);
    }

    /// Variant `variant` of `endpoint`'s fleet now: desired, in service,
    /// provisioning, waiting for capacity, draining.
    pub fn fleet(&self, endpoint: u16, variant: u16) -> FleetView {
        self.hosting.fleet(endpoint as usize, variant as usize)
    }

    /// Every variant's fleet over `[0, until]` (never past the end, when
    /// one is set): fewest, mean and most instances in service, and the
    /// requests that failed or queued while fewer served than desired.
    pub fn fleet_stats(&self, until: SimTime) -> Vec<FleetStats> {
        self.hosting
            .fleet_stats(self.end.map_or(until, |e| e.min(until)))
    }

    /// `RegisterScalableTarget` on variant `variant` of `endpoint` at
    /// `now` (or new bounds for one registered already).
    pub fn register_scalable_target(
        &mut self,
        now: SimTime,
        endpoint: u16,
        variant: u16,
        min: u32,
        max: u32,
    ) -> Result<(), crate::autoscaling::ApiError> {
        self.settle(now);
        let label = self
            .names()
            .nth(endpoint as usize)
            .and_then(|(e, vs)| vs.get(variant as usize).map(|v| format!("{e}/{v}")))
            .ok_or_else(|| crate::autoscaling::ApiError::NotFound("no such variant".into()))?;
        let r = self
            .autoscaling
            .register(now, endpoint, variant, &label, min, max);
        self.route(now);
        r
    }

    /// `PutScalingPolicy` of a target-tracking policy named `name` on a
    /// registered variant (its durations in platform time); answers the
    /// alarms it created.
    pub fn put_target_tracking_policy(
        &mut self,
        endpoint: u16,
        variant: u16,
        name: &str,
        spec: &crate::autoscaling::TargetTrackingSpec,
    ) -> Result<Vec<String>, crate::autoscaling::ApiError> {
        self.autoscaling.put_tracking(endpoint, variant, name, spec)
    }

    /// `DeleteScalingPolicy`.
    pub fn delete_scaling_policy(
        &mut self,
        endpoint: u16,
        variant: u16,
        name: &str,
    ) -> Result<(), crate::autoscaling::ApiError> {
        self.autoscaling.delete_policy(endpoint, variant, name)
    }

    /// Every registered scalable target and its policies.
    pub fn scalable_targets(&self) -> Vec<crate::autoscaling::TargetInfo> {
        self.autoscaling.targets()
    }

    /// Every multi-model variant's loads, unloads, downloads and loaded
    /// models over `[0, until]`.
    pub fn model_stats(&self, until: SimTime) -> Vec<crate::hosting::ModelStats> {
        self.hosting.model_stats(until)
    }

    /// The scaling of every variant with autoscaling: activities and
    /// alarms so far.
    pub fn scaling(&self) -> Vec<TargetReport> {
        self.autoscaling.reports()
    }

    /// The online feature store, for the Feature Store Runtime API; `None`
    /// when the run has no feature group.
    pub fn feature_store(&mut self) -> Option<&mut crate::features::FeatureStore> {
        self.hosting.feature_store()
    }

    /// Time-average number of requests inside `endpoint` over `[0, until]`.
    pub fn mean_in_system(&self, endpoint: usize, until: SimTime) -> f64 {
        self.hosting.mean_in_system(endpoint, until)
    }

    /// Every fault, scheduled or injected, with where it stands at `now`.
    pub fn faults(&self, now: SimTime) -> Vec<(u32, &FaultSpec, FaultState)> {
        self.hosting.faults(now)
    }

    /// The endpoint and variant names, for drivers that route by name.
    pub fn names(&self) -> impl Iterator<Item = (&str, Vec<&str>)> {
        self.hosting.names()
    }

    /// Training job names, in scenario order.
    pub fn training_names(&self) -> impl Iterator<Item = &str> {
        self.training.names()
    }

    /// True when every training job has ended (or there are none).
    pub fn training_done(&self) -> bool {
        self.training.all_done()
    }

    /// Where training job `job` stands at `now`.
    pub fn training_progress(&self, job: usize, now: SimTime) -> JobProgress {
        self.training.progress(job, now)
    }

    /// When job `job`'s pending spot reclaim is due, if one is.
    pub fn pending_reclaim(&self, job: usize) -> Option<SimTime> {
        self.training.pending_reclaim(job)
    }

    /// Every training job's outcome at `now`.
    pub fn training_outcomes(&self, now: SimTime) -> Vec<TrainingOutcome> {
        self.training.outcomes(now)
    }
}
