//! Recording request results into HDR histograms and counters.
//!
//! Memory is flat in the number of requests: each endpoint and variant has
//! one histogram for the whole run, and the timeline keeps histograms only
//! for the few intervals that may still receive results; closed intervals
//! are reduced to one small row each.

use std::collections::VecDeque;

use gameday_core::mme::CacheUse;
use gameday_core::spec::PlatformSpec;
use gameday_core::{
    Outcome, PlatformEvent, RequestResult, SimTime, TimeScale, TrainingEvent, VariantCost,
    VariantGauge,
};
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::burn::{BudgetTracker, IntervalCounts, Objectives, MAX_LATENCY_BOUNDS};
use crate::model::*;
use crate::slo::SloSpec;

/// Highest latency a histogram tracks: one day, in microseconds.
const MAX_MICROS: u64 = 86_400 * 1_000_000;

fn histogram(sigfig: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, sigfig).expect("static histogram bounds are valid")
}

#[inline]
fn micros(ns: u64) -> u64 {
    (ns + 500) / 1000
}

/// Request counts by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    requests: u64,
    ok: u64,
    errors: ErrorCounts,
}

impl Counts {
    #[inline]
    fn add(&mut self, o: Outcome) {
        self.requests += 1;
        match o {
            Outcome::Ok => self.ok += 1,
            Outcome::Client4xx => self.errors.client_4xx += 1,
            Outcome::Server5xx => self.errors.server_5xx += 1,
            Outcome::Timeout => self.errors.timeout += 1,
            Outcome::Throttled => self.errors.throttled += 1,
        }
    }
}

/// A histogram plus an exact running sum (for an exact mean).
#[derive(Debug)]
pub(crate) struct Latency {
    hist: Histogram<u64>,
    sum_ns: u128,
}

impl Latency {
    pub(crate) fn new() -> Self {
        Latency {
            hist: histogram(3),
            sum_ns: 0,
        }
    }

    #[inline]
    pub(crate) fn record(&mut self, ns: u64) {
        self.hist.saturating_record(micros(ns));
        self.sum_ns += u128::from(ns);
    }

    pub(crate) fn summary(&self) -> LatencySummary {
        let n = self.hist.len();
        if n == 0 {
            return LatencySummary::default();
        }
        let q = |q: f64| round3(self.hist.value_at_quantile(q) as f64 / 1e3);
        LatencySummary {
            mean: round3(self.sum_ns as f64 / n as f64 / 1e6),
            p50: q(0.50),
            p90: q(0.90),
            p95: q(0.95),
            p99: q(0.99),
            p999: q(0.999),
            max: round3(self.hist.max() as f64 / 1e3),
        }
    }
}

#[derive(Debug)]
struct VariantRec {
    counts: Counts,
    latency: Latency,
    /// Multi-model: requests that looked up a model, hits, and the misses'
    /// waits.
    lookups: u64,
    hits: u64,
    model_wait: Option<Latency>,
}

#[derive(Debug)]
struct EndpointRec {
    counts: Counts,
    latency: Latency,
    ok_latency: Latency,
    queue_wait: Latency,
    waited: u64,
    variants: Vec<VariantRec>,
    /// Endpoints that look features up.
    features: Option<crate::features::FeatureRec>,
}

/// One variant's share of one timeline interval.
#[derive(Debug)]
struct IntervalCell {
    counts: Counts,
    hist: Histogram<u64>,
    gauge: Option<VariantGauge>,
    lookups: u64,
    hits: u64,
    /// Requests slower than each error-budget latency bound.
    slow: [u64; MAX_LATENCY_BOUNDS],
    /// Feature lookups, once the interval has one.
    features: Option<Box<crate::features::FeatureInterval>>,
}

/// A row of `timeline.csv`: one interval of one variant. Requests are
/// grouped by the interval in which they were *scheduled to be sent*;
/// gauges are sampled at the interval's end.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimelineRow {
    /// Interval start, seconds.
    pub time_s: f64,
    /// Endpoint name.
    pub endpoint: String,
    /// Variant name.
    pub variant: String,
    /// Requests sent in the interval.
    pub requests: u64,
    /// Of which succeeded.
    pub ok: u64,
    /// Of which failed 4xx.
    pub client_4xx: u64,
    /// Of which failed 5xx.
    pub server_5xx: u64,
    /// Of which timed out.
    pub timeout: u64,
    /// Of which were throttled.
    pub throttled: u64,
    /// Median latency of those requests, ms (2 significant digits).
    pub p50_ms: f64,
    /// 99th-percentile latency, ms (2 significant digits).
    pub p99_ms: f64,
    /// Instances in service at the interval's end.
    pub instances_in_service: Option<u32>,
    /// Requests queued at the interval's end.
    pub queue_depth: Option<u32>,
    /// Deepest queue during the interval.
    pub max_queue_depth: Option<u32>,
    /// Requests in service at the interval's end.
    pub busy_slots: Option<u32>,
    /// `DesiredInstanceCount` at the interval's end.
    pub desired_instances: Option<u32>,
    /// Instances launched and not yet serving at the interval's end.
    pub instances_provisioning: Option<u32>,
    /// Instances out of routing, finishing their requests, at the
    /// interval's end.
    pub instances_draining: Option<u32>,
    /// With autoscaling: the first policy's metric (its newest datapoint)
    /// at the interval's end, to chart against its target.
    pub policy_metric: Option<f64>,
    /// Multi-model: share of the interval's requests that found their
    /// model loaded.
    pub model_cache_hit_ratio: Option<f64>,
    /// Multi-model: models loaded at the interval's end, summed over
    /// instances.
    pub loaded_models: Option<u32>,
    /// Endpoints with features: responses whose lookup was made in the
    /// interval (by send time).
    pub feature_lookups: Option<u64>,
    /// Of which served with every record fresh.
    pub features_fresh: Option<u64>,
    /// Of which served from the instance's cache.
    pub features_cached: Option<u64>,
    /// Of which served with defaults.
    pub features_default: Option<u64>,
    /// Of which failed with their lookup.
    pub features_failed: Option<u64>,
    /// Lookups that failed, any class.
    pub feature_lookup_errors: Option<u64>,
    /// 99th-percentile lookup latency, ms.
    pub feature_lookup_p99_ms: Option<f64>,
    /// Median age of the features served, ms.
    pub feature_age_p50_ms: Option<f64>,
    /// 99th-percentile age of the features served, ms.
    pub feature_age_p99_ms: Option<f64>,
    /// Oldest features served, ms.
    pub feature_age_max_ms: Option<f64>,
}

/// A row of `events.csv`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EventRow {
    /// When, seconds.
    pub time_s: f64,
    /// What (`instance_crashed`, `fault_injected`, ...).
    pub kind: String,
    /// Endpoint name.
    pub endpoint: String,
    /// Variant name, if one applies.
    pub variant: String,
    /// Instance id, if one applies.
    pub instance: Option<u32>,
    /// Detail.
    pub detail: String,
    /// Training job name, for training events.
    pub job: String,
}

/// Everything a run produced, ready for the writers.
#[derive(Clone, Debug)]
pub struct RunRecord {
    /// `report.json`.
    pub report: Report,
    /// `timeline.csv`.
    pub timeline: Vec<TimelineRow>,
    /// `events.csv`.
    pub events: Vec<EventRow>,
}

/// What the driver knows at the end of a run.
#[derive(Clone, Debug)]
pub struct Finish<'a> {
    /// Scenario block of the report.
    pub scenario: ScenarioInfo,
    /// False if the run was interrupted.
    pub complete: bool,
    /// When the last request finished, seconds.
    pub drained_at_s: f64,
    /// From `Platform::cost`.
    pub costs: Vec<VariantCost>,
    /// From `Platform::mean_in_system`, one per endpoint.
    pub mean_in_system: Vec<f64>,
    /// Training jobs, in scenario order.
    pub training: Vec<crate::TrainingJobReport>,
    /// From `Platform::fleet_stats`.
    pub fleet: Vec<gameday_core::hosting::FleetStats>,
    /// From `Platform::scaling`.
    pub scaling: Vec<gameday_core::autoscaling::TargetReport>,
    /// From `Platform::model_stats`.
    pub models: Vec<gameday_core::hosting::ModelStats>,
    /// Objectives to evaluate.
    pub slo: &'a SloSpec,
}

/// Records results, events and gauges as a run goes.
#[derive(Debug)]
pub struct Recorder {
    spec: PlatformSpec,
    /// Index of each endpoint's first variant among all timeline cells.
    cell_base: Vec<usize>,
    /// `(endpoint, variant)` names of each timeline cell.
    cell_names: Vec<(String, String)>,
    /// Per cell: the variant is a shadow (its results count for the
    /// variant and its timeline row only, never for the endpoint or its
    /// objectives).
    shadow_cells: Vec<bool>,
    interval_ns: u64,
    flush_lag_ns: u64,
    endpoints: Vec<EndpointRec>,
    /// Open intervals, oldest first; `open[0]` has index `first_open`.
    open: VecDeque<Vec<IntervalCell>>,
    first_open: u64,
    pool: Vec<Histogram<u64>>,
    rows: Vec<TimelineRow>,
    events: Vec<EventRow>,
    late_results: u64,
    /// Queue waits come from the platform ([`Recorder::platform_queue_wait`]),
    /// not from the results [`Recorder::record`] sees (a client over HTTP
    /// cannot see how long its request queued).
    platform_queue_waits: bool,
    /// The run's time compression: times, durations and cost are
    /// reported in scenario time.
    scale: TimeScale,
    /// Error budgets and burn rates of the objectives over requests.
    budget: BudgetTracker,
    /// Their latency bounds, nanoseconds.
    bounds_ns: Vec<u64>,
}

impl EndpointRec {
    /// Queue wait is measured over successful requests (Erlang C's
    /// population: those that reached an instance and were served).
    #[inline]
    fn queue_wait_of(&mut self, r: &RequestResult) {
        if matches!(r.outcome, Outcome::Ok) {
            self.queue_wait.record(r.queue_wait_ns);
            if r.queue_wait_ns > 0 {
                self.waited += 1;
            }
        }
    }
}

impl Recorder {
    /// A recorder for `spec`'s endpoints with timeline intervals of
    /// `interval_ns`. `max_timeout_ns` is the longest client timeout: a
    /// result can arrive up to twice that after its send time, so intervals
    /// stay open that long.
    pub fn new(spec: &PlatformSpec, interval_ns: u64, max_timeout_ns: u64) -> Self {
        let mut features = crate::features::FeatureRec::for_endpoints(spec, u64::MAX);
        let endpoints = spec
            .endpoints
            .iter()
            .enumerate()
            .map(|(e, ep)| EndpointRec {
                features: features[e].take(),
                counts: Counts::default(),
                latency: Latency::new(),
                ok_latency: Latency::new(),
                queue_wait: Latency::new(),
                waited: 0,
                variants: ep
                    .variants
                    .iter()
                    .map(|vs| VariantRec {
                        counts: Counts::default(),
                        latency: Latency::new(),
                        lookups: 0,
                        hits: 0,
                        model_wait: vs.multi_model.as_ref().map(|_| Latency::new()),
                    })
                    .collect(),
            })
            .collect();
        let mut cell_base = Vec::with_capacity(spec.endpoints.len());
        let mut cell_names = Vec::new();
        for e in &spec.endpoints {
            cell_base.push(cell_names.len());
            cell_names.extend(e.variants.iter().map(|v| (e.name.clone(), v.name.clone())));
        }
        let shadow_cells = spec
            .endpoints
            .iter()
            .flat_map(|e| e.variants.iter().map(|v| v.shadow.is_some()))
            .collect();
        Recorder {
            spec: spec.clone(),
            cell_base,
            cell_names,
            shadow_cells,
            interval_ns: interval_ns.max(1),
            flush_lag_ns: max_timeout_ns.saturating_mul(2),
            endpoints,
            open: VecDeque::new(),
            first_open: 0,
            pool: Vec::new(),
            rows: Vec::new(),
            events: Vec::new(),
            late_results: 0,
            platform_queue_waits: false,
            scale: TimeScale::default(),
            budget: BudgetTracker::new(
                Objectives::default(),
                spec.endpoints.len(),
                interval_ns.max(1) as f64 / 1e9,
                None,
            ),
            bounds_ns: Vec::new(),
        }
    }

    /// Tracks the error budgets of `slo`'s objectives over requests and
    /// their burn rates ([`crate::burn`]). `planned_ns`, the run's length
    /// when known before it starts, fixes the alert windows and is needed
    /// for `abort_on_burn`.
    pub fn track_budget(&mut self, slo: &SloSpec, planned_ns: Option<u64>) {
        let objectives = Objectives::of(slo);
        self.bounds_ns = objectives.bounds_us.iter().map(|b| b * 1000).collect();
        self.budget = BudgetTracker::new(
            objectives,
            self.spec.endpoints.len(),
            self.interval_ns as f64 / 1e9,
            planned_ns.map(|n| n as f64 / 1e9),
        );
    }

    /// True once `abort_on_burn` has fired: the driver stops the run.
    pub fn budget_aborted(&self) -> bool {
        self.budget.abort().is_some()
    }

    /// Set once `abort_on_burn` has fired: why the run should stop.
    pub fn budget_abort(&self) -> Option<String> {
        let a = self.budget.abort()?;
        let name = &self.spec.endpoints[a.endpoint].name;
        Some(
            self.budget
                .describe_abort(a, name, |s| self.scale.secs_to_scenario(s)),
        )
    }

    /// The run was compressed by `scale` (a wall run's `time_scale`):
    /// everything it measured in real time is reported in scenario time —
    /// timeline and event times, the duration, `drained_at_s`, instance
    /// time and cost — as if it had run at full length. Latencies are real
    /// under any scale, and so are request counts and rates.
    pub fn report_in_scenario_time(&mut self, scale: TimeScale) {
        self.scale = scale;
    }

    /// Real seconds since the start, in scenario seconds, rounded.
    fn scenario_s(&self, at: SimTime) -> f64 {
        round6(self.scale.secs_to_scenario(at.as_secs_f64()))
    }

    /// From now on, queue waits are taken only from
    /// [`Recorder::platform_queue_wait`]: a wall run's results come from
    /// the load generator, which cannot see queueing, so the platform's own
    /// measure is used (the same one the virtual clock's results carry).
    pub fn queue_waits_from_platform(&mut self) {
        self.platform_queue_waits = true;
    }

    /// Records a request's queue wait as the platform measured it.
    pub fn platform_queue_wait(&mut self, r: &RequestResult) {
        let ep = &mut self.endpoints[r.endpoint as usize];
        ep.queue_wait_of(r);
        if let Some(f) = ep.features.as_mut() {
            f.record(r);
            self.feature_interval_of(r);
        }
        self.model_cache_of(r);
    }

    /// Records a shadow variant's copy of a request: its variant's counts
    /// and latency, and its own timeline row; nothing of the endpoint's.
    #[cold]
    #[inline(never)]
    fn record_shadow(&mut self, r: &RequestResult) {
        let v = &mut self.endpoints[r.endpoint as usize].variants[r.variant as usize];
        v.counts.add(r.outcome);
        v.latency.record(r.latency_ns);
        let idx = r.sent_at.as_nanos() / self.interval_ns;
        let cell = self.cell_index(r.endpoint, r.variant);
        match self.interval(idx) {
            Some(cells) => {
                let c = &mut cells[cell];
                c.counts.add(r.outcome);
                c.hist.saturating_record(micros(r.latency_ns));
            }
            None => self.late_results += 1,
        }
    }

    /// Counts a request's feature lookup in its interval.
    fn feature_interval_of(&mut self, r: &RequestResult) {
        if r.features.path == gameday_core::features::FeaturePath::NotLooked {
            return;
        }
        let idx = r.sent_at.as_nanos() / self.interval_ns;
        let cell = self.cell_index(r.endpoint, r.variant);
        if let Some(cells) = self.interval(idx) {
            cells[cell]
                .features
                .get_or_insert_with(|| Box::new(crate::features::FeatureInterval::new()))
                .record(&r.features);
        }
    }

    /// Counts a multi-model request's lookup, as the platform saw it.
    #[inline]
    fn model_cache_of(&mut self, r: &RequestResult) {
        let hit = match r.cache {
            CacheUse::NotMultiModel => return,
            CacheUse::Hit => true,
            CacheUse::Miss => false,
        };
        let v = &mut self.endpoints[r.endpoint as usize].variants[r.variant as usize];
        v.lookups += 1;
        if hit {
            v.hits += 1;
        } else if let Some(w) = v.model_wait.as_mut() {
            w.record(u64::from(r.model_wait_us) * 1_000);
        }
        let idx = r.sent_at.as_nanos() / self.interval_ns;
        let cell = self.cell_index(r.endpoint, r.variant);
        if let Some(cells) = self.interval(idx) {
            cells[cell].lookups += 1;
            cells[cell].hits += u64::from(hit);
        }
    }

    #[inline]
    fn cell_index(&self, endpoint: u16, variant: u16) -> usize {
        self.cell_base[endpoint as usize] + variant as usize
    }

    /// The open interval with index `idx`, opening it (and any before it).
    fn interval(&mut self, idx: u64) -> Option<&mut Vec<IntervalCell>> {
        if idx < self.first_open {
            return None;
        }
        let pos = (idx - self.first_open) as usize;
        while self.open.len() <= pos {
            let cells = (0..self.cell_names.len())
                .map(|_| IntervalCell {
                    counts: Counts::default(),
                    hist: self.pool.pop().unwrap_or_else(|| histogram(2)),
                    gauge: None,
                    lookups: 0,
                    hits: 0,
                    slow: [0; MAX_LATENCY_BOUNDS],
                    features: None,
                })
                .collect();
            self.open.push_back(cells);
        }
        self.open.get_mut(pos)
    }

    /// Records one finished request.
    #[inline]
    pub fn record(&mut self, r: &RequestResult) {
        if self.shadow_cells[self.cell_index(r.endpoint, r.variant)] {
            self.record_shadow(r);
            return;
        }
        let ep = &mut self.endpoints[r.endpoint as usize];
        ep.counts.add(r.outcome);
        ep.latency.record(r.latency_ns);
        if r.outcome == Outcome::Ok {
            ep.ok_latency.record(r.latency_ns);
        }
        let from_platform = self.platform_queue_waits;
        if !from_platform {
            ep.queue_wait_of(r);
            if let Some(f) = ep.features.as_mut() {
                f.record(r);
            }
        }
        let v = &mut ep.variants[r.variant as usize];
        v.counts.add(r.outcome);
        v.latency.record(r.latency_ns);
        if !from_platform && r.cache != CacheUse::NotMultiModel {
            self.model_cache_of(r);
        }
        if !from_platform && r.features.path != gameday_core::features::FeaturePath::NotLooked {
            self.feature_interval_of(r);
        }

        let idx = r.sent_at.as_nanos() / self.interval_ns;
        let cell = self.cell_index(r.endpoint, r.variant);
        let bounds = std::mem::take(&mut self.bounds_ns);
        match self.interval(idx) {
            Some(cells) => {
                let c = &mut cells[cell];
                c.counts.add(r.outcome);
                c.hist.saturating_record(micros(r.latency_ns));
                for (slow, &b) in c.slow.iter_mut().zip(&bounds) {
                    *slow += u64::from(r.latency_ns > b);
                }
            }
            None => self.late_results += 1,
        }
        self.bounds_ns = bounds;
    }

    /// Records a discrete platform event.
    pub fn event(&mut self, e: &PlatformEvent) {
        let time_s = self.scenario_s(e.at);
        let ep = &self.spec.endpoints[e.endpoint as usize];
        self.events.push(EventRow {
            time_s,
            kind: e.kind.as_str().to_string(),
            endpoint: ep.name.clone(),
            variant: e
                .variant
                .map(|v| ep.variants[v as usize].name.clone())
                .unwrap_or_default(),
            instance: e.instance,
            detail: e.detail.clone(),
            job: String::new(),
        });
    }

    /// Records a training event of the job named `job`.
    pub fn training_event(&mut self, e: &TrainingEvent, job: &str) {
        self.events.push(EventRow {
            time_s: self.scenario_s(e.at),
            kind: e.kind.as_str().to_string(),
            endpoint: String::new(),
            variant: String::new(),
            instance: None,
            detail: e.detail.clone(),
            job: job.to_string(),
        });
    }

    /// Records gauges sampled at `at_ns`, the end of the interval they
    /// describe (a tick at `k × interval` closes interval `k - 1`).
    pub fn gauges(&mut self, at_ns: u64, gauges: &[VariantGauge]) {
        let idx = at_ns.saturating_sub(1) / self.interval_ns;
        let cells: Vec<usize> = gauges
            .iter()
            .map(|g| self.cell_index(g.endpoint, g.variant))
            .collect();
        if let Some(open) = self.interval(idx) {
            for (g, c) in gauges.iter().zip(cells) {
                open[c].gauge = Some(*g);
            }
        }
    }

    /// Closes every interval that can no longer receive results at `now_ns`.
    pub fn advance(&mut self, now_ns: u64) {
        while !self.open.is_empty() {
            let end = (self.first_open + 1).saturating_mul(self.interval_ns);
            if end.saturating_add(self.flush_lag_ns) > now_ns {
                break;
            }
            self.close_oldest();
        }
    }

    fn close_oldest(&mut self) {
        let Some(cells) = self.open.pop_front() else {
            return;
        };
        let time_s = self.scenario_s(SimTime::from_nanos(self.first_open * self.interval_ns));
        self.first_open += 1;
        let mut budget = vec![IntervalCounts::default(); self.spec.endpoints.len()];
        for (e, b) in budget.iter_mut().enumerate() {
            let first = self.cell_base[e];
            let n = self.spec.endpoints[e].variants.len();
            for (c, _) in cells[first..first + n]
                .iter()
                .zip(&self.shadow_cells[first..first + n])
                .filter(|(_, &shadow)| !shadow)
            {
                let k = &c.counts;
                b.add(&IntervalCounts {
                    requests: k.requests,
                    errors: k.requests - k.ok,
                    unavailable: k.errors.server_5xx + k.errors.timeout + k.errors.throttled,
                    slow: c.slow,
                });
            }
        }
        self.budget.push(&budget);
        for (mut c, (endpoint, variant)) in cells.into_iter().zip(self.cell_names.clone()) {
            let q = |h: &Histogram<u64>, q: f64| {
                if h.is_empty() {
                    0.0
                } else {
                    round3(h.value_at_quantile(q) as f64 / 1e3)
                }
            };
            let fc = c.features.as_ref().map(|f| f.columns(self.scale.factor()));
            self.rows.push(TimelineRow {
                time_s,
                endpoint,
                variant,
                requests: c.counts.requests,
                ok: c.counts.ok,
                client_4xx: c.counts.errors.client_4xx,
                server_5xx: c.counts.errors.server_5xx,
                timeout: c.counts.errors.timeout,
                throttled: c.counts.errors.throttled,
                p50_ms: q(&c.hist, 0.5),
                p99_ms: q(&c.hist, 0.99),
                instances_in_service: c.gauge.map(|g| g.instances_in_service),
                queue_depth: c.gauge.map(|g| g.queue_depth),
                max_queue_depth: c.gauge.map(|g| g.max_queue_depth),
                busy_slots: c.gauge.map(|g| g.busy_slots),
                desired_instances: c.gauge.map(|g| g.desired),
                instances_provisioning: c.gauge.map(|g| g.provisioning),
                instances_draining: c.gauge.map(|g| g.draining),
                policy_metric: c.gauge.and_then(|g| g.policy_metric).map(round3),
                model_cache_hit_ratio: (c.lookups > 0)
                    .then(|| round6(c.hits as f64 / c.lookups as f64)),
                loaded_models: c.gauge.and_then(|g| g.loaded_models),
                feature_lookups: fc.map(|f| f.lookups),
                features_fresh: fc.map(|f| f.fresh),
                features_cached: fc.map(|f| f.cached),
                features_default: fc.map(|f| f.default),
                features_failed: fc.map(|f| f.failed),
                feature_lookup_errors: fc.map(|f| f.errors),
                feature_lookup_p99_ms: fc.map(|f| f.lookup_p99_ms),
                feature_age_p50_ms: fc.map(|f| f.age_p50_ms),
                feature_age_p99_ms: fc.map(|f| f.age_p99_ms),
                feature_age_max_ms: fc.map(|f| f.age_max_ms),
            });
            c.hist.reset();
            self.pool.push(c.hist);
        }
    }

    /// Results that arrived after their interval was closed (always zero
    /// unless a driver breaks the timing contract).
    pub fn late_results(&self) -> u64 {
        self.late_results
    }

    /// Total requests recorded so far.
    pub fn requests(&self) -> u64 {
        self.endpoints.iter().map(|e| e.counts.requests).sum()
    }

    /// The p99 latency recorded so far over all endpoints' histograms, ms
    /// (for progress lines).
    pub fn p99_so_far_ms(&self, endpoint: usize) -> f64 {
        self.endpoints[endpoint].latency.summary().p99
    }

    /// A scaling activity in report form, in scenario time.
    fn activity(&self, a: &gameday_core::autoscaling::Activity) -> ScalingActivityReport {
        ScalingActivityReport {
            at_s: self.scenario_s(a.at),
            from: a.from,
            to: a.to,
            cause: a.cause.clone(),
            status: a.status.as_str().into(),
            reason: a.reason.clone(),
            ended_at_s: a.ended_at.map(|t| self.scenario_s(t)),
            breach_to_serving_s: match (a.breach_at, a.ended_at) {
                (Some(b), Some(t)) if a.to > a.from => Some(round3(
                    self.scale.secs_to_scenario(t.nanos_since(b) as f64 / 1e9),
                )),
                _ => None,
            },
        }
    }

    /// Closes every interval and builds the report.
    pub fn finish(mut self, f: Finish<'_>) -> RunRecord {
        while !self.open.is_empty() {
            self.close_oldest();
        }
        // Rates are over the time the run really took.
        let duration = f.scenario.duration_s.max(f64::MIN_POSITIVE);
        let x = self.scale;
        let costs: Vec<VariantCost> = f.costs.iter().map(|c| x.cost_to_scenario(c)).collect();
        let mut endpoints = Vec::new();
        let mut endpoints_usd = 0.0;
        let mut requests_total = 0;
        for (e, (rec, spec)) in self.endpoints.iter().zip(&self.spec.endpoints).enumerate() {
            let mut variants = Vec::new();
            let mut ep_cost = 0.0;
            for (v, (vr, vs)) in rec.variants.iter().zip(&spec.variants).enumerate() {
                let cost = costs
                    .iter()
                    .find(|c| c.endpoint as usize == e && c.variant as usize == v)
                    .copied()
                    .unwrap_or(VariantCost {
                        endpoint: e as u16,
                        variant: v as u16,
                        instance_seconds: 0.0,
                        cost_usd: 0.0,
                    });
                ep_cost += cost.cost_usd;
                let fleet = f
                    .fleet
                    .iter()
                    .find(|s| s.endpoint as usize == e && s.variant as usize == v);
                let scaling = f
                    .scaling
                    .iter()
                    .find(|s| s.endpoint as usize == e && s.variant as usize == v);
                variants.push(VariantReport {
                    instances: fleet.map_or_else(InstancesSummary::default, |s| InstancesSummary {
                        min: s.min,
                        mean: round3(s.mean),
                        max: s.max,
                    }),
                    requests_while_short: fleet.map_or(0, |s| s.short_requests),
                    scaling_activities: scaling.map_or_else(Vec::new, |s| {
                        s.activities.iter().map(|a| self.activity(a)).collect()
                    }),
                    autoscaling: scaling.map(|s| AutoscalingReport {
                        min: s.min,
                        max: s.max,
                        scale_outs: s.activities.iter().filter(|a| a.to > a.from).count() as u32,
                        scale_ins: s.activities.iter().filter(|a| a.to < a.from).count() as u32,
                        alarms: s
                            .alarms
                            .iter()
                            .map(|(name, state, changes)| AlarmReport {
                                name: name.clone(),
                                state: state.as_str().into(),
                                changes: *changes,
                            })
                            .collect(),
                    }),
                    mme: f
                        .models
                        .iter()
                        .find(|s| s.endpoint as usize == e && s.variant as usize == v)
                        .zip(vs.multi_model.as_ref())
                        .map(|(s, mm)| mme_report(vr, s, mm)),
                    name: vs.name.clone(),
                    model: vs.model.clone(),
                    instance_type: vs.instance.name.clone(),
                    instance_count: vs.instance_count,
                    requests: vr.counts.requests,
                    ok: vr.counts.ok,
                    errors: vr.counts.errors,
                    latency_ms: vr.latency.summary(),
                    service_time_ms: ServiceTimeSummary::of(&vs.service),
                    instance_seconds: round3(cost.instance_seconds),
                    cost_usd: round6(cost.cost_usd),
                    shadow: vs.shadow.is_some(),
                    shadow_of: vs.shadow.map(|s| spec.variants[s.of as usize].name.clone()),
                    sampling_pct: vs.shadow.map(|s| round6(s.sampling * 100.0)),
                    shadow_slos: Vec::new(),
                });
            }
            endpoints_usd += ep_cost;
            let c = rec.counts;
            requests_total += c.requests;
            let ratio = |num: u64| {
                if c.requests == 0 {
                    0.0
                } else {
                    num as f64 / c.requests as f64
                }
            };
            let unavailable = c.errors.server_5xx + c.errors.timeout + c.errors.throttled;
            let qw = rec.queue_wait.summary();
            endpoints.push(EndpointReport {
                name: spec.name.clone(),
                routing: spec.routing.as_str().into(),
                requests: c.requests,
                ok: c.ok,
                errors: c.errors,
                throughput_rps: round3(c.requests as f64 / duration),
                error_rate: round6(ratio(c.requests - c.ok)),
                availability: if c.requests == 0 {
                    1.0
                } else {
                    round6(1.0 - ratio(unavailable))
                },
                latency_ms: rec.latency.summary(),
                ok_latency_ms: rec.ok_latency.summary(),
                queue_wait_ms: QueueWaitSummary {
                    mean: qw.mean,
                    p50: qw.p50,
                    p99: qw.p99,
                    max: qw.max,
                    waited_fraction: if rec.queue_wait.hist.is_empty() {
                        0.0
                    } else {
                        round6(rec.waited as f64 / rec.queue_wait.hist.len() as f64)
                    },
                    requests: rec.queue_wait.hist.len(),
                },
                mean_in_system: round6(f.mean_in_system.get(e).copied().unwrap_or(0.0)),
                cost_usd: round6(ep_cost),
                features: rec
                    .features
                    .as_ref()
                    .map(|fr| fr.report(x.factor(), f.scenario.duration_s)),
                variants,
            });
        }
        // `fold` from +0.0: an empty `sum()` of f64 is -0.0.
        let training_usd = f.training.iter().fold(0.0, |a, j| a + j.cost_usd);
        let total = endpoints_usd + training_usd;
        let mut slos = f.slo.evaluate(&endpoints, &f.training, total);
        for ep in &mut endpoints {
            for v in ep.variants.iter_mut().filter(|v| v.shadow) {
                v.shadow_slos = f.slo.evaluate_variant(&ep.name, v);
            }
        }
        let names: Vec<String> = self.spec.endpoints.iter().map(|e| e.name.clone()).collect();
        let error_budget = self.budget.report(&names, |s| x.secs_to_scenario(s));
        let aborted = self.budget_abort();
        if let (Some(why), Some(a)) = (&aborted, self.budget.abort()) {
            slos.push(SloResult {
                name: "abort_on_burn".into(),
                endpoint: Some(names[a.endpoint].clone()),
                job: None,
                objective: format!(
                    "burn < {}x",
                    crate::slo::fmt_num(self.budget.objectives().abort_on_burn.unwrap_or(0.0))
                ),
                actual: round3(a.long.min(a.short)),
                met: false,
                detail: Some(why.clone()),
            });
        }
        let verdict = if slos.iter().all(|s| s.met) {
            "pass"
        } else {
            "fail"
        };
        let report = Report {
            schema_version: SCHEMA_VERSION,
            scenario: ScenarioInfo {
                duration_s: if x.is_identity() {
                    f.scenario.duration_s
                } else {
                    round6(x.secs_to_scenario(f.scenario.duration_s))
                },
                time_scale: (!x.is_identity()).then(|| x.factor()),
                ..f.scenario
            },
            complete: f.complete && aborted.is_none(),
            incomplete_reason: if let Some(why) = aborted {
                Some(format!("stopped by {why}"))
            } else if f.complete {
                None
            } else {
                Some("interrupted before the end".into())
            },
            verdict: verdict.into(),
            endpoints,
            training_jobs: f.training,
            cost: CostReport {
                total_usd: round6(total),
                endpoints_usd: round6(endpoints_usd),
                training_usd: round6(training_usd),
                // Per request the full-length run would have sent.
                per_1k_requests_usd: if requests_total == 0 {
                    0.0
                } else {
                    round6(endpoints_usd / x.secs_to_scenario(requests_total as f64) * 1000.0)
                },
            },
            slos,
            events: self.events.len(),
            timeline_interval_s: self.scenario_s(SimTime::from_nanos(self.interval_ns)),
            drained_at_s: round6(x.secs_to_scenario(f.drained_at_s)),
            baseline: None,
            load_generator: None,
            measured_at: None,
            error_budget,
        };
        // In time order, whichever driver delivered them when: a wall run
        // hands the training jobs' events over at the end.
        let mut events = self.events;
        events.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
        RunRecord {
            report,
            timeline: self.rows,
            events,
        }
    }
}

/// A multi-model variant's section of `report.json`.
fn mme_report(
    vr: &VariantRec,
    s: &gameday_core::hosting::ModelStats,
    mm: &gameday_core::mme::MultiModelSpec,
) -> MmeReport {
    let wait = vr
        .model_wait
        .as_ref()
        .map_or_else(LatencySummary::default, Latency::summary);
    let mut most: Vec<(usize, u32)> = s
        .counts
        .loads_per_model
        .iter()
        .copied()
        .enumerate()
        .filter(|&(_, n)| n > 0)
        .collect();
    // Most loads first; ties by model order, so the list is stable.
    most.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    MmeReport {
        model_cache_hit_ratio: if vr.lookups == 0 {
            1.0
        } else {
            round6(vr.hits as f64 / vr.lookups as f64)
        },
        requests: vr.lookups,
        hits: vr.hits,
        loads: s.counts.loads,
        unloads: s.counts.unloads,
        downloads: s.counts.downloads,
        load_failures: s.counts.load_failures,
        model_not_ready: s.counts.model_not_ready,
        loading_wait_ms: LoadingWaitSummary {
            p50: wait.p50,
            p99: wait.p99,
            max: wait.max,
        },
        loaded_models_mean: round3(s.loaded_mean),
        loaded_models_end: s.loaded_end,
        most_loaded: most
            .into_iter()
            .take(10)
            .map(|(m, loads)| ModelLoads {
                model: mm.models[m].name.clone(),
                loads,
            })
            .collect(),
    }
}
