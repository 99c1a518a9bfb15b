//! The online feature store: record lookups before inference, their
//! latency and failures, the per-instance cache, the fallbacks an
//! endpoint declares, and the age of every feature served.
//!
//! A model container reads its features when its service starts, so a
//! lookup holds the instance's slot: [`FeatureStore::lookup`] is called by
//! hosting as a request starts service, and its latency comes before the
//! model's. What gameday assumes where AWS documents no rule:
//!
//! - every call is tried once (the container's SDK client has its retries
//!   off, as gameday's own target does by default), and the container's
//!   client gives up after the endpoint's `timeout`;
//! - an error answer (`ServiceUnavailable`, `InternalFailure`,
//!   `ThrottlingException`) arrives after a normal lookup latency;
//! - with two or more groups the container makes one `BatchGetRecord`
//!   with one identifier per group: it takes the slowest group's latency,
//!   and each group's error is its own (the `Errors` list), so the
//!   fallback applies group by group;
//! - a record is rewritten every `refresh`, each record at its own fixed
//!   phase; while ingestion is stopped (`stale`) no record is rewritten,
//!   and refreshes resume on their schedule when it returns;
//! - an error fallback fails the request as the container would, with a
//!   500 (SageMaker's `ModelError`, `OriginalStatusCode` 500).

mod alias;
mod api;
mod event_time;
mod spec;
#[cfg(test)]
mod tests;

pub use api::{Answer, BatchIdentifier, BatchItem, Record, StoreError};
pub use event_time::{event_time_secs, format_event_time};
pub use spec::{
    FeatureData, FeatureDef, FeatureGroupSpec, FeatureOutageSpec, FeatureStoreSpec, FeatureUseSpec,
    OnFailure, OutageMode, StoreQuotas,
};

use crate::mme::ModelMix;
use crate::rng::{RngStreams, StreamRng};
use crate::time::{duration_nanos, SimTime};
use alias::AliasTable;

/// How a request's features were served, worst group first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FeaturePath {
    /// No lookup: the endpoint has no features, or the request never
    /// reached a model container.
    #[default]
    NotLooked,
    /// Every group answered.
    Fresh,
    /// Some group failed; the instance's cached copy was served.
    Cached,
    /// Some group failed; its defaults were served.
    Default,
    /// Some group failed and the request failed with it.
    Failed,
}

/// Why a lookup failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LookupError {
    /// It did not fail.
    #[default]
    None,
    /// `ServiceUnavailable` (503).
    Unavailable,
    /// `InternalFailure` (500).
    Internal,
    /// `ThrottlingException` (400).
    Throttled,
    /// The container's client gave up after its timeout.
    Timeout,
}

impl LookupError {
    /// Every failure class, in report order.
    pub const CLASSES: [LookupError; 4] = [
        LookupError::Unavailable,
        LookupError::Internal,
        LookupError::Throttled,
        LookupError::Timeout,
    ];

    /// The name reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            LookupError::None => "none",
            LookupError::Unavailable => "unavailable",
            LookupError::Internal => "internal_failure",
            LookupError::Throttled => "throttled",
            LookupError::Timeout => "timeout",
        }
    }
}

impl From<&StoreError> for LookupError {
    fn from(e: &StoreError) -> Self {
        match e {
            StoreError::Unavailable => LookupError::Unavailable,
            StoreError::Throttled => LookupError::Throttled,
            _ => LookupError::Internal,
        }
    }
}

/// What one request's lookup did: carried by its result to the recorder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureUse {
    /// How its features were served.
    pub path: FeaturePath,
    /// The first group's failure, if any group failed.
    pub error: LookupError,
    /// Age of the oldest record served, milliseconds ([`FeatureUse::NO_AGE`]
    /// when no record was served).
    pub age_ms: u32,
    /// How long the lookup took, microseconds.
    pub lookup_us: u32,
    /// The record looked up in the endpoint's first group.
    pub record: u32,
    /// Whether a real model's prediction changed because of the features
    /// served (set by the wall clock's built-in model).
    pub prediction: Prediction,
}

/// What the features served did to a real model's prediction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Prediction {
    /// No real model scored the request with its features.
    #[default]
    NotScored,
    /// The model's labels with the features served and with the true
    /// record agree.
    Same,
    /// They differ: the fallback changed the prediction.
    Changed,
}

/// What a real model needs to score a request with its features: the
/// names of the endpoint's first group's features, the values a lookup
/// served, and the record's true values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedFeatures {
    /// Feature names, in group order.
    pub names: Vec<String>,
    /// The values the request was scored with (the defaults on a
    /// `default` path, the record otherwise).
    pub served: Vec<String>,
    /// The record's values as ingestion wrote them.
    pub truth: Vec<String>,
}

impl Default for FeatureUse {
    fn default() -> Self {
        FeatureUse::NONE
    }
}

impl FeatureUse {
    /// `age_ms` when no record was served.
    pub const NO_AGE: u32 = u32::MAX;

    /// No lookup.
    pub const NONE: FeatureUse = FeatureUse {
        path: FeaturePath::NotLooked,
        error: LookupError::None,
        age_ms: FeatureUse::NO_AGE,
        lookup_us: 0,
        record: 0,
        prediction: Prediction::NotScored,
    };

    /// The age of the oldest record served, if one was.
    pub fn age_ms(&self) -> Option<u32> {
        (self.path != FeaturePath::NotLooked && self.age_ms != Self::NO_AGE).then_some(self.age_ms)
    }
}

/// The result of a lookup for hosting: how long it holds the slot and
/// what it served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Lookup {
    /// Time the lookup takes, before the model runs.
    pub latency_ns: u64,
    /// What it served.
    pub used: FeatureUse,
}

/// When an instance last fetched a record: nanoseconds since the start
/// plus one, 0 when it has not. The record's write time then is not
/// kept: it is a function of the ingestion history, which
/// [`GroupState::written_ns`] recomputes, so a slot is 8 bytes, a
/// 100,000-record table fits the CPU's L2 cache, and a new table is
/// zeroed memory from the allocator rather than a fill.
type CacheEntry = u64;

/// A record the instance never fetched.
const NEVER: CacheEntry = 0;

/// The cache slot of a fetch at `now`.
fn fetched(now: SimTime) -> CacheEntry {
    now.as_nanos() + 1
}

/// A token bucket of calls per second, one second of burst.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    rate: f64,
    tokens: f64,
    last: SimTime,
}

impl Bucket {
    fn new(rate: f64, now: SimTime) -> Self {
        Bucket {
            rate,
            tokens: rate.max(1.0),
            last: now,
        }
    }

    /// Takes one call's token, if there is one.
    fn take(&mut self, now: SimTime) -> bool {
        let dt = now.nanos_since(self.last) as f64 * 1e-9;
        self.last = now;
        self.tokens = (self.tokens + dt * self.rate).min(self.rate.max(1.0));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Debug)]
struct GroupState {
    spec: FeatureGroupSpec,
    mix: Option<AliasTable>,
    rng: StreamRng,
    /// Ingestion stopped: `(from, until)`, `until` `None` while it lasts.
    stale: Vec<(SimTime, Option<SimTime>)>,
    /// Outages in force (indices into the store's outages).
    active: Vec<u32>,
    /// The bucket of a `throttled` outage in force.
    throttle: Option<Bucket>,
}

/// The online store and every instance's cache.
#[derive(Debug)]
pub struct FeatureStore {
    groups: Vec<GroupState>,
    /// Per endpoint: its use, if it looks features up.
    uses: Vec<Option<FeatureUseSpec>>,
    outages: Vec<FeatureOutageSpec>,
    get_record: Bucket,
    batch_get_record: Bucket,
    /// `PutRecord` and `DeleteRecord` calls.
    write_record: Bucket,
    /// Records written or deleted through the API.
    written: api::WrittenRecords,
    error_rng: StreamRng,
    /// Per instance id: the records it has fetched, one slot per record
    /// of every group (at `offsets[g] + record`), allocated at its first
    /// lookup and dropped with the instance.
    caches: Vec<Vec<CacheEntry>>,
    /// Where each group's records start in a cache.
    offsets: Vec<usize>,
    /// Records of all groups.
    total_records: usize,
    /// Scratch: the records drawn for one lookup.
    drawn: Vec<(u16, u32, LookupError)>,
}

impl FeatureStore {
    /// The store at time zero, or `None` when no endpoint uses it.
    pub(crate) fn new(
        spec: &FeatureStoreSpec,
        endpoints: usize,
        streams: &RngStreams,
    ) -> Option<Self> {
        if spec.is_empty() {
            return None;
        }
        let mut uses = vec![None; endpoints];
        for u in &spec.uses {
            uses[u.endpoint as usize] = Some(u.clone());
        }
        Some(FeatureStore {
            groups: spec
                .groups
                .iter()
                .map(|g| GroupState {
                    mix: g
                        .zipf
                        .map(|a| AliasTable::new(&ModelMix::zipf_weights(g.records as usize, a))),
                    rng: streams.stream(&format!("features/{}", g.name)),
                    stale: Vec::new(),
                    active: Vec::new(),
                    throttle: None,
                    spec: g.clone(),
                })
                .collect(),
            uses,
            outages: spec.outages.clone(),
            get_record: Bucket::new(spec.quotas.get_record_tps, SimTime::ZERO),
            batch_get_record: Bucket::new(spec.quotas.batch_get_record_tps, SimTime::ZERO),
            write_record: Bucket::new(spec.quotas.get_record_tps, SimTime::ZERO),
            written: Default::default(),
            error_rng: streams.stream("features/errors"),
            caches: Vec::new(),
            offsets: spec
                .groups
                .iter()
                .scan(0usize, |acc, g| {
                    let at = *acc;
                    *acc += g.records as usize;
                    Some(at)
                })
                .collect(),
            total_records: spec.groups.iter().map(|g| g.records as usize).sum(),
            drawn: Vec::new(),
        })
    }

    /// The scheduled outages, for hosting to time.
    pub(crate) fn outages(&self) -> &[FeatureOutageSpec] {
        &self.outages
    }

    /// Group `g`'s name.
    pub fn group_name(&self, g: u16) -> &str {
        &self.groups[g as usize].spec.name
    }

    /// The endpoints that read group `g`.
    pub(crate) fn readers(&self, g: u16) -> Vec<usize> {
        self.uses
            .iter()
            .enumerate()
            .filter(|(_, u)| u.as_ref().is_some_and(|u| u.groups.contains(&g)))
            .map(|(e, _)| e)
            .collect()
    }

    /// True if endpoint `e` looks features up.
    #[inline]
    pub(crate) fn used_by(&self, e: usize) -> bool {
        self.uses.get(e).is_some_and(Option::is_some)
    }

    /// Outage `k` starts.
    pub(crate) fn outage_start(&mut self, now: SimTime, k: u32) {
        let o = &self.outages[k as usize];
        let g = &mut self.groups[o.group as usize];
        g.active.push(k);
        match o.mode {
            OutageMode::Stale => g.stale.push((now, None)),
            OutageMode::Throttled { tps } => g.throttle = Some(Bucket::new(tps, now)),
            _ => {}
        }
    }

    /// Outage `k` ends.
    pub(crate) fn outage_end(&mut self, now: SimTime, k: u32) {
        let o = &self.outages[k as usize];
        let g = &mut self.groups[o.group as usize];
        g.active.retain(|&a| a != k);
        match o.mode {
            OutageMode::Stale => {
                if let Some(w) = g.stale.iter_mut().rev().find(|w| w.1.is_none()) {
                    w.1 = Some(now);
                }
            }
            OutageMode::Throttled { .. } => {
                let still = g.active.iter().any(|&a| {
                    matches!(self.outages[a as usize].mode, OutageMode::Throttled { .. })
                });
                if !still {
                    g.throttle = None;
                }
            }
            _ => {}
        }
    }

    /// Instance `inst` is gone: its cache goes with it.
    pub(crate) fn forget(&mut self, inst: u32) {
        if let Some(c) = self.caches.get_mut(inst as usize) {
            *c = Vec::new();
        }
    }

    /// A request of endpoint `e` starts service on instance `inst` at
    /// `now`: its container looks its features up.
    pub(crate) fn lookup(&mut self, now: SimTime, e: usize, inst: u32) -> Lookup {
        let u = self.uses[e].as_ref().expect("endpoint looks features up");
        let (timeout_ns, on_failure, then, ttl_ns) = (
            duration_nanos(u.timeout),
            u.on_failure,
            u.then,
            duration_nanos(u.cache_ttl),
        );
        let batch = u.groups.len() > 1;
        let throttled = !if batch {
            self.batch_get_record.take(now)
        } else {
            self.get_record.take(now)
        };
        // Only a stale_cache endpoint's instances keep copies.
        let inst = inst as usize;
        let caching = on_failure == OnFailure::StaleCache;
        if caching {
            if self.caches.len() <= inst {
                self.caches.resize_with(inst + 1, Vec::new);
            }
            if self.caches[inst].is_empty() {
                self.caches[inst] = vec![NEVER; self.total_records];
            }
        }
        self.drawn.clear();
        let mut latency_ns = 0u64;
        for i in 0..u.groups.len() {
            let g = self.uses[e].as_ref().map_or(0, |u| u.groups[i]);
            let gs = &mut self.groups[g as usize];
            // The record and the latency are drawn whatever happens, so an
            // outage changes no other request's draws.
            let record = match &gs.mix {
                Some(mix) => mix.pick(&mut gs.rng),
                None => crate::hosting::index(&mut gs.rng, gs.spec.records as usize) as u32,
            };
            if caching {
                // Read or written below, after the latency draw.
                crate::prefetch::prefetch(
                    &self.caches[inst][self.offsets[g as usize] + record as usize],
                );
            }
            let (l, outage) = self.group_call(now, g);
            let error = match (throttled, outage) {
                (true, _) => LookupError::Throttled,
                (false, None) => LookupError::None,
                (false, Some(e)) => LookupError::from(&e),
            };
            latency_ns = latency_ns.max(l);
            self.drawn.push((g, record, error));
            // The group's next draw is the next lookup's record.
            let gs = &self.groups[g as usize];
            if let Some(mix) = &gs.mix {
                mix.prefetch_next(&gs.rng);
            }
        }
        if latency_ns > timeout_ns {
            latency_ns = timeout_ns;
            for d in &mut self.drawn {
                d.2 = LookupError::Timeout;
            }
        }

        let mut used = FeatureUse {
            path: FeaturePath::Fresh,
            error: LookupError::None,
            age_ms: FeatureUse::NO_AGE,
            lookup_us: (latency_ns / 1_000).min(u64::from(u32::MAX)) as u32,
            record: self.drawn.first().map_or(0, |d| d.1),
            prediction: Prediction::NotScored,
        };
        let mut oldest_ns: Option<u64> = None;
        for &(g, record, error) in &self.drawn {
            let at = self.offsets[g as usize] + record as usize;
            let (path, written_ns) = if error == LookupError::None {
                let written_ns = self.groups[g as usize].written_ns(record, now);
                if caching {
                    self.caches[inst][at] = fetched(now);
                }
                (FeaturePath::Fresh, Some(written_ns))
            } else {
                if used.error == LookupError::None {
                    used.error = error;
                }
                let fallback = |f: OnFailure| match f {
                    OnFailure::Error => (FeaturePath::Failed, None),
                    _ => (FeaturePath::Default, None),
                };
                match on_failure {
                    OnFailure::StaleCache => match self.caches[inst][at] {
                        c if c != NEVER && fetched(now) - c < ttl_ns => {
                            let at = SimTime::from_nanos(c - 1);
                            let gs = &self.groups[g as usize];
                            (FeaturePath::Cached, Some(gs.written_ns(record, at)))
                        }
                        _ => fallback(then),
                    },
                    f => fallback(f),
                }
            };
            used.path = used.path.max(path);
            if let Some(w) = written_ns {
                let age = (now.as_nanos() as i64).saturating_sub(w).max(0) as u64;
                oldest_ns = Some(oldest_ns.map_or(age, |o| o.max(age)));
            }
        }
        if used.path != FeaturePath::Failed {
            if let Some(age) = oldest_ns {
                used.age_ms = (age / 1_000_000).min(u64::from(u32::MAX - 1)) as u32;
            }
        }
        Lookup { latency_ns, used }
    }
}

impl GroupState {
    /// When ingestion last wrote `record` at or before `now`, nanoseconds
    /// since the start (negative: before the run).
    fn written_ns(&self, record: u32, now: SimTime) -> i64 {
        let Some(refresh) = self.spec.refresh else {
            return 0;
        };
        let period = duration_nanos(refresh).max(1) as i64;
        // Each record's fixed phase in the period (Fibonacci hashing
        // spreads consecutive records evenly).
        let frac = (u64::from(record).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) as f64
            / (1u64 << 53) as f64;
        let phase = (frac * period as f64) as i64;
        let scheduled = |t: i64| phase + (t - phase).div_euclid(period) * period;
        let mut s = scheduled(now.as_nanos() as i64);
        // A write that fell while ingestion was stopped did not happen:
        // the one before the stop stands.
        loop {
            let stopped = self.stale.iter().find(|&&(from, until)| {
                let from = from.as_nanos() as i64;
                from <= s && until.is_none_or(|u| s < u.as_nanos() as i64)
            });
            match stopped {
                Some(&(from, _)) => s = scheduled(from.as_nanos() as i64 - 1),
                None => return s,
            }
        }
    }
}
