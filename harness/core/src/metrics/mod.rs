//! The metrics component: CloudWatch-style datapoints per endpoint and
//! variant, at SageMaker's standard 60-second period and the 10-second
//! period of its high-resolution metrics.
//!
//! Counts (`Invocations`, the 4XX/5XX errors, `ModelLatency`,
//! `OverheadLatency`) come from finished requests, binned by the time the
//! client got its answer. Levels (instances in service, busy slots,
//! requests inside) are time-averaged over each period from the
//! integrals hosting keeps, read at every 10-second boundary: so
//! `CPUUtilization` is busy slots over all slots of the instances in
//! service, and `ConcurrentRequestsPerModel` is requests in flight or
//! queued per instance (one model copy each), both averaged over the
//! period rather than sampled.
//!
//! gameday's assumptions, where AWS documents no rule: a period is
//! `[k·p, (k+1)·p)` from the start of the run; `InvocationsPerInstance` is
//! `Invocations` over the period's time-average of instances in service
//! (over one instance when none served); a timeout counts as a 4XX, since
//! SageMaker answers it with a `ModelError`. A 60-second datapoint is the
//! sum of its six 10-second ones. Times are platform time: under a time
//! scale the periods are compressed with everything else.

use std::collections::VecDeque;
use std::time::Duration;

use crate::outcome::{Cause, RequestResult};
use crate::time::{duration_nanos, SimTime};

/// SageMaker's standard metric period.
pub const STANDARD_PERIOD: Duration = Duration::from_secs(60);
/// The period of SageMaker's high-resolution metrics.
pub const HIGH_RES_PERIOD: Duration = Duration::from_secs(10);
/// High-resolution periods in one standard period.
const PER_STANDARD: usize = 6;
/// High-resolution periods kept per variant: two hours, well past the 15
/// minutes the longest CloudWatch alarm looks back, so memory stays flat
/// however long a run or a served game day lasts.
pub const HISTORY: usize = 720;

/// Which period a datapoint covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    /// 60 seconds.
    Standard,
    /// 10 seconds.
    HighResolution,
}

impl Period {
    /// High-resolution bins in one period.
    fn bins(self) -> usize {
        match self {
            Period::Standard => PER_STANDARD,
            Period::HighResolution => 1,
        }
    }
}

/// How CloudWatch counts an invocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Answered 2xx.
    Ok,
    /// Answered with a 4xx (a `ModelError` included, as SageMaker counts it).
    Client,
    /// Answered with a 5xx.
    Server,
}

impl Class {
    /// The class of the answer SageMaker gives for `cause`.
    pub fn of(cause: Cause) -> Class {
        match cause {
            Cause::Served => Class::Ok,
            // ServiceUnavailable, InternalFailure, InternalDependencyError.
            Cause::Injected(500 | 503 | 530) | Cause::NoCapacity => Class::Server,
            // A container's own status decides.
            Cause::ModelError(s) if s >= 500 => Class::Server,
            // ValidationError, ModelNotReady, and every ModelError (424).
            Cause::Injected(_)
            | Cause::ModelError(_)
            | Cause::InstanceDown
            | Cause::Timeout
            | Cause::ModelNotReady
            | Cause::ModelLoadFailed => Class::Client,
        }
    }
}

/// Latency statistics as bins keep them, in nanoseconds (a division
/// less per request than microseconds).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct NsStat {
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl NsStat {
    #[inline]
    pub(crate) fn add(&mut self, ns: u64) {
        self.min = if self.count == 0 {
            ns
        } else {
            self.min.min(ns)
        };
        self.max = self.max.max(ns);
        self.count += 1;
        self.sum += u128::from(ns);
    }

    fn merge(&mut self, o: &NsStat) {
        if o.count == 0 {
            return;
        }
        self.min = if self.count == 0 {
            o.min
        } else {
            self.min.min(o.min)
        };
        self.max = self.max.max(o.max);
        self.count += o.count;
        self.sum += o.sum;
    }

    fn micros(&self) -> Stat {
        Stat {
            count: self.count,
            sum_us: (self.sum / 1_000) as u64,
            min_us: self.min / 1_000,
            max_us: self.max / 1_000,
        }
    }
}

/// Statistics of one latency metric over a period, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    /// `SampleCount`.
    pub count: u64,
    /// `Sum`.
    pub sum_us: u64,
    /// `Minimum` (0 when empty).
    pub min_us: u64,
    /// `Maximum`.
    pub max_us: u64,
}

impl Stat {
    /// `Average`, if there were samples.
    pub fn average_us(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_us as f64 / self.count as f64)
    }
}

/// A quantity that changes by steps, with its integral over time (exact,
/// in value·nanoseconds). Hosting keeps one per level it tracks.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Level {
    value: u32,
    area: u128,
    since: SimTime,
}

impl Level {
    /// Starts at `value` at time zero.
    pub(crate) fn new(value: u32) -> Self {
        Level {
            value,
            ..Level::default()
        }
    }

    /// The value now.
    #[inline]
    pub(crate) fn get(&self) -> u32 {
        self.value
    }

    #[inline]
    fn settle(&mut self, now: SimTime) {
        self.area += u128::from(self.value) * u128::from(now.nanos_since(self.since));
        self.since = now;
    }

    /// Adds one at `now`.
    #[inline]
    pub(crate) fn up(&mut self, now: SimTime) {
        self.settle(now);
        self.value += 1;
    }

    /// Takes `n` away at `now`.
    #[inline]
    pub(crate) fn down(&mut self, now: SimTime, n: u32) {
        self.settle(now);
        self.value -= n;
    }

    /// The integral from time zero to `now`.
    pub(crate) fn area_at(&self, now: SimTime) -> u128 {
        self.area + u128::from(self.value) * u128::from(now.nanos_since(self.since))
    }
}

/// One variant's levels integrated up to a moment: what hosting hands the
/// metrics component at each period boundary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LevelAreas {
    /// Instances in service × ns.
    pub in_service: u128,
    /// Busy request slots × ns.
    pub busy: u128,
    /// Requests in service or queued × ns.
    pub in_system: u128,
    /// Models loaded, summed over instances, × ns (multi-model).
    pub loaded_models: u128,
}

impl LevelAreas {
    fn minus(&self, o: &LevelAreas) -> LevelAreas {
        LevelAreas {
            in_service: self.in_service - o.in_service,
            busy: self.busy - o.busy,
            in_system: self.in_system - o.in_system,
            loaded_models: self.loaded_models - o.loaded_models,
        }
    }

    fn plus(&mut self, o: &LevelAreas) {
        self.in_service += o.in_service;
        self.busy += o.busy;
        self.in_system += o.in_system;
        self.loaded_models += o.loaded_models;
    }
}

#[derive(Clone, Debug, Default)]
struct Bin {
    invocations: u64,
    errors_4xx: u64,
    errors_5xx: u64,
    model: NsStat,
    overhead: NsStat,
    levels: LevelAreas,
    /// Multi-model requests answered, and those that found their model.
    cache_lookups: u64,
    cache_hits: u64,
    loading_wait: NsStat,
    ops: crate::hosting::ModelOps,
}

impl Bin {
    fn merge(&mut self, o: &Bin) {
        self.invocations += o.invocations;
        self.errors_4xx += o.errors_4xx;
        self.errors_5xx += o.errors_5xx;
        self.model.merge(&o.model);
        self.overhead.merge(&o.overhead);
        self.levels.plus(&o.levels);
        self.cache_lookups += o.cache_lookups;
        self.cache_hits += o.cache_hits;
        self.loading_wait.merge(&o.loading_wait);
        self.ops.downloading.merge(&o.ops.downloading);
        self.ops.loading.merge(&o.ops.loading);
        self.ops.unloading.merge(&o.ops.unloading);
    }
}

#[derive(Clone, Debug)]
struct Series {
    endpoint: u16,
    variant: u16,
    concurrency: u32,
    vcpus: u32,
    gpus: u32,
    /// The newest 10-second bins, at most [`HISTORY`]; `bins[0]` is bin
    /// number `first` of the run.
    bins: VecDeque<Bin>,
    first: usize,
    /// The bins dropped from the front, merged: totals stay whole.
    retired: Bin,
    /// Areas at the last closed boundary.
    closed_areas: LevelAreas,
}

impl Series {
    /// Bin `k` of the run, added if the run had not reached it (dropping
    /// the oldest past [`HISTORY`]); an answer for a bin already dropped
    /// counts in the totals only.
    #[inline]
    fn bin(&mut self, k: usize) -> &mut Bin {
        if k < self.first {
            return &mut self.retired;
        }
        if k - self.first >= self.bins.len() {
            // Keep bins k + 1 − HISTORY ..= k: retire what falls out first,
            // so a long idle gap never allocates more than HISTORY bins.
            let keep_from = (k + 1).saturating_sub(HISTORY);
            while self.first < keep_from {
                match self.bins.pop_front() {
                    Some(old) => {
                        self.retired.merge(&old);
                        self.first += 1;
                    }
                    None => self.first = keep_from,
                }
            }
            let len = k - self.first + 1;
            self.bins.resize_with(len, Bin::default);
        }
        let i = k - self.first;
        &mut self.bins[i]
    }
}

/// One CloudWatch datapoint of one variant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Datapoint {
    /// Endpoint index.
    pub endpoint: u16,
    /// Variant index.
    pub variant: u16,
    /// Start of the period.
    pub start: SimTime,
    /// Its length.
    pub period: Duration,
    /// `Invocations` (Sum).
    pub invocations: u64,
    /// `Invocation4XXErrors` (Sum).
    pub errors_4xx: u64,
    /// `Invocation5XXErrors` (Sum).
    pub errors_5xx: u64,
    /// `ModelLatency` of the answered invocations.
    pub model_latency: Stat,
    /// `OverheadLatency` (time queued in the platform).
    pub overhead_latency: Stat,
    /// Time-average instances in service.
    pub instances: f64,
    /// `InvocationsPerInstance` (Sum).
    pub invocations_per_instance: f64,
    /// `CPUUtilization` as SageMaker reports it: busy slots over slots in
    /// service, percent, times the instance type's vCPUs (0 to 100 ×
    /// vCPUs).
    pub cpu_utilization: f64,
    /// `GPUUtilization` likewise over the GPUs, for accelerated types.
    pub gpu_utilization: Option<f64>,
    /// `ConcurrentRequestsPerModel`: requests inside per instance.
    pub concurrent_requests_per_model: f64,
    /// `ModelCacheHit` (Average): the share of multi-model requests that
    /// found their model loaded; `None` without any.
    pub model_cache_hit: Option<f64>,
    /// `ModelCacheHit` (SampleCount): multi-model requests answered.
    pub model_requests: u64,
    /// `ModelLoadingWaitTime` of the requests that waited.
    pub model_loading_wait: Stat,
    /// `ModelDownloadingTime`.
    pub model_downloading: Stat,
    /// `ModelLoadingTime`.
    pub model_loading: Stat,
    /// `ModelUnloadingTime` (its SampleCount counts unloads).
    pub model_unloading: Stat,
    /// `LoadedModelCount` (Sum over instances), time-averaged.
    pub loaded_model_count: f64,
}

/// Running totals of one variant since the start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Invocations.
    pub invocations: u64,
    /// 4XX answers.
    pub errors_4xx: u64,
    /// 5XX answers.
    pub errors_5xx: u64,
    /// `ModelLatency`.
    pub model_latency: Stat,
    /// `OverheadLatency`.
    pub overhead_latency: Stat,
}

/// What the metrics component needs to know of a variant.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SeriesOf {
    pub(crate) endpoint: u16,
    pub(crate) variant: u16,
    /// Request slots per instance.
    pub(crate) concurrency: u32,
    pub(crate) vcpus: u32,
    pub(crate) gpus: u32,
}

/// The metrics component.
#[derive(Clone, Debug)]
pub(crate) struct Metrics {
    series: Vec<Series>,
    offsets: Vec<usize>,
    /// The high-resolution period, in platform nanoseconds.
    bin_ns: u64,
    /// Boundaries closed so far (the next to close is `closed × bin_ns`).
    closed: usize,
    /// The bin the last answer fell in, and its span: most answers fall
    /// in the same one, which saves a division.
    last_bin: (usize, SimTime, SimTime),
}

impl Metrics {
    /// Series for `variants`, in endpoint-then-variant order.
    pub(crate) fn new(variants: impl IntoIterator<Item = SeriesOf>) -> Self {
        let mut series = Vec::new();
        let mut offsets = Vec::new();
        for SeriesOf {
            endpoint: e,
            variant: v,
            concurrency,
            vcpus,
            gpus,
        } in variants
        {
            if offsets.len() <= e as usize {
                offsets.push(series.len());
            }
            series.push(Series {
                endpoint: e,
                variant: v,
                concurrency: concurrency.max(1),
                vcpus,
                gpus,
                bins: VecDeque::new(),
                first: 0,
                retired: Bin::default(),
                closed_areas: LevelAreas::default(),
            });
        }
        Metrics {
            series,
            offsets,
            bin_ns: duration_nanos(HIGH_RES_PERIOD),
            closed: 0,
            last_bin: (0, SimTime::ZERO, SimTime::ZERO),
        }
    }

    /// The high-resolution period becomes `d` of platform time (a time
    /// scale compressed it). Only before the first boundary closed.
    pub(crate) fn set_period(&mut self, d: Duration) {
        debug_assert_eq!(self.closed, 0);
        self.bin_ns = duration_nanos(d).max(1);
    }

    /// When the next boundary is due.
    pub(crate) fn next_boundary(&self) -> SimTime {
        SimTime::from_nanos((self.closed as u64 + 1) * self.bin_ns)
    }

    fn index(&self, endpoint: u16, variant: u16) -> usize {
        self.offsets[endpoint as usize] + variant as usize
    }

    /// The bin an answer at `at` falls in.
    #[inline]
    fn bin_of(&mut self, at: SimTime) -> usize {
        let (k, from, to) = self.last_bin;
        if from <= at && at < to {
            return k;
        }
        let k = (at.as_nanos() / self.bin_ns) as usize;
        let from = SimTime::from_nanos(k as u64 * self.bin_ns);
        self.last_bin = (k, from, from.add_nanos(self.bin_ns));
        k
    }

    /// Counts a finished request, in the period its answer came.
    #[inline]
    pub(crate) fn record(&mut self, r: &RequestResult) {
        let k = self.bin_of(r.sent_at.add_nanos(r.latency_ns));
        let i = self.index(r.endpoint, r.variant);
        let b = self.series[i].bin(k);
        b.invocations += 1;
        match Class::of(r.cause) {
            Class::Ok => {
                b.model.add(r.latency_ns.saturating_sub(r.queue_wait_ns));
                b.overhead.add(r.queue_wait_ns);
            }
            Class::Client => b.errors_4xx += 1,
            Class::Server => b.errors_5xx += 1,
        }
        match r.cache {
            crate::mme::CacheUse::NotMultiModel => {}
            crate::mme::CacheUse::Hit => {
                b.cache_lookups += 1;
                b.cache_hits += 1;
            }
            crate::mme::CacheUse::Miss => {
                b.cache_lookups += 1;
                b.loading_wait.add(u64::from(r.model_wait_us) * 1_000);
            }
        }
    }

    /// An answer counted as served turned out a 4XX (an embedded model
    /// refused the input after the platform served it).
    pub(crate) fn reclassify_as_4xx(&mut self, at: SimTime, endpoint: u16, variant: u16) {
        let k = self.bin_of(at);
        let i = self.index(endpoint, variant);
        self.series[i].bin(k).errors_4xx += 1;
    }

    /// Closes the boundary due now with every variant's level integrals
    /// up to it, in series order.
    /// `ops` holds each variant's model downloads, loads and unloads
    /// since the last boundary (empty without multi-model variants).
    pub(crate) fn close(&mut self, areas: &[LevelAreas], ops: &[crate::hosting::ModelOps]) {
        let k = self.closed;
        for (i, (s, a)) in self.series.iter_mut().zip(areas).enumerate() {
            let d = a.minus(&s.closed_areas);
            s.closed_areas = *a;
            let b = s.bin(k);
            b.levels = d;
            if let Some(o) = ops.get(i) {
                b.ops = *o;
            }
        }
        self.closed += 1;
    }

    /// Running totals of a variant.
    pub(crate) fn totals(&self, endpoint: u16, variant: u16) -> Totals {
        let s = &self.series[self.index(endpoint, variant)];
        let mut b = s.retired.clone();
        for x in &s.bins {
            b.merge(x);
        }
        Totals {
            invocations: b.invocations,
            errors_4xx: b.errors_4xx,
            errors_5xx: b.errors_5xx,
            model_latency: b.model.micros(),
            overhead_latency: b.overhead.micros(),
        }
    }

    /// Every complete datapoint of a variant at `period` still held (the
    /// last [`HISTORY`] high-resolution periods), oldest first.
    pub(crate) fn datapoints(&self, endpoint: u16, variant: u16, period: Period) -> Vec<Datapoint> {
        let width = period.bins();
        let first = self.series[self.index(endpoint, variant)]
            .first
            .div_ceil(width);
        (first..self.closed / width)
            .map(|n| self.datapoint(endpoint, variant, n, width))
            .collect()
    }

    /// The newest complete datapoint of a variant at `period`.
    pub(crate) fn latest(&self, endpoint: u16, variant: u16, period: Period) -> Option<Datapoint> {
        let width = period.bins();
        let n = (self.closed / width).checked_sub(1)?;
        (n * width >= self.series[self.index(endpoint, variant)].first)
            .then(|| self.datapoint(endpoint, variant, n, width))
    }

    /// The last `n` complete datapoints of a variant, each `width`
    /// high-resolution periods long (an alarm's period), oldest first;
    /// fewer at the start of a run.
    pub(crate) fn window(
        &self,
        endpoint: u16,
        variant: u16,
        width: usize,
        n: usize,
    ) -> Vec<Datapoint> {
        let width = width.max(1);
        let done = self.closed / width;
        let first = self.series[self.index(endpoint, variant)]
            .first
            .div_ceil(width)
            .max(done.saturating_sub(n));
        (first..done)
            .map(|k| self.datapoint(endpoint, variant, k, width))
            .collect()
    }

    /// The high-resolution period, in platform nanoseconds.
    pub(crate) fn bin_ns(&self) -> u64 {
        self.bin_ns
    }

    /// Datapoint `n` of a variant, `width` bins long.
    fn datapoint(&self, endpoint: u16, variant: u16, n: usize, width: usize) -> Datapoint {
        let s = &self.series[self.index(endpoint, variant)];
        let mut b = Bin::default();
        for x in s.bins.iter().skip(n * width - s.first).take(width) {
            b.merge(x);
        }
        let first = n * width;
        let span = (self.bin_ns * width as u64) as f64;
        let l = &b.levels;
        let instances = l.in_service as f64 / span;
        let ratio = |num: u128, den: u128| {
            if den == 0 {
                0.0
            } else {
                num as f64 / den as f64
            }
        };
        Datapoint {
            endpoint: s.endpoint,
            variant: s.variant,
            start: SimTime::from_nanos(first as u64 * self.bin_ns),
            period: Duration::from_nanos(self.bin_ns * width as u64),
            invocations: b.invocations,
            errors_4xx: b.errors_4xx,
            errors_5xx: b.errors_5xx,
            model_latency: b.model.micros(),
            overhead_latency: b.overhead.micros(),
            instances,
            invocations_per_instance: if instances > 0.0 {
                b.invocations as f64 / instances
            } else {
                b.invocations as f64
            },
            cpu_utilization: 100.0
                * f64::from(s.vcpus.max(1))
                * ratio(l.busy, l.in_service * u128::from(s.concurrency)),
            gpu_utilization: (s.gpus > 0).then(|| {
                100.0 * f64::from(s.gpus) * ratio(l.busy, l.in_service * u128::from(s.concurrency))
            }),
            concurrent_requests_per_model: ratio(l.in_system, l.in_service),
            model_cache_hit: (b.cache_lookups > 0)
                .then(|| b.cache_hits as f64 / b.cache_lookups as f64),
            model_requests: b.cache_lookups,
            model_loading_wait: b.loading_wait.micros(),
            model_downloading: b.ops.downloading.micros(),
            model_loading: b.ops.loading.micros(),
            model_unloading: b.ops.unloading.micros(),
            loaded_model_count: l.loaded_models as f64 / span,
        }
    }
}

#[cfg(test)]
mod tests;
