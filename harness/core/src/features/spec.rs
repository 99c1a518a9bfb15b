//! Plain-data description of the online feature store: its feature
//! groups, which endpoints look features up and what they do when a
//! lookup fails, and the scheduled outages.

use std::sync::Arc;
use std::time::Duration;

use crate::dist::ServiceDist;

/// The online feature store of a run (empty: no feature groups).
#[derive(Clone, Debug, Default)]
pub struct FeatureStoreSpec {
    /// Feature groups, in scenario order.
    pub groups: Vec<FeatureGroupSpec>,
    /// The endpoints that look features up before inference.
    pub uses: Vec<FeatureUseSpec>,
    /// Scheduled `feature_store_outage` faults, in scenario order.
    pub outages: Vec<FeatureOutageSpec>,
    /// Account-level request quotas of the online store's runtime API.
    pub quotas: StoreQuotas,
}

impl FeatureStoreSpec {
    /// True when the run has no feature group.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

/// Requests per second the runtime API accepts before it throttles
/// (`ThrottlingException`), per API and account. gameday takes the
/// published figures from `fixtures/feature-store.toml`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StoreQuotas {
    /// `GetRecord` calls per second.
    pub get_record_tps: f64,
    /// `BatchGetRecord` calls per second.
    pub batch_get_record_tps: f64,
}

impl Default for StoreQuotas {
    fn default() -> Self {
        StoreQuotas {
            get_record_tps: 10_000.0,
            batch_get_record_tps: 500.0,
        }
    }
}

/// A feature group in the online store.
#[derive(Clone, Debug)]
pub struct FeatureGroupSpec {
    /// `FeatureGroupName`.
    pub name: String,
    /// Records `"0"` … `records - 1`.
    pub records: u32,
    /// Which record a lookup reads: Zipf with this exponent over the
    /// records (record 0 the most read); `None`: uniform.
    pub zipf: Option<f64>,
    /// Latency of one `GetRecord` (a `BatchGetRecord` takes the slowest of
    /// its groups' draws).
    pub latency: ServiceDist,
    /// How often ingestion rewrites each record; `None`: the records were
    /// written once, just before the run, and never again.
    pub refresh: Option<Duration>,
    /// The features and their defaults (what a `default` fallback serves).
    pub features: Vec<FeatureDef>,
    /// `RecordIdentifierFeatureName`: the feature that names a record.
    pub record_identifier: String,
    /// `EventTimeFeatureName`: the feature that says when a record was
    /// written.
    pub event_time_feature: String,
    /// The records' values from the scenario's data file; `None`: values
    /// are generated from each feature's default ([`FeatureData`]).
    pub data: Option<Arc<FeatureData>>,
}

impl FeatureGroupSpec {
    /// A group named `name` of `records` generated records, uniform
    /// popularity, records written once, the default identifier and
    /// event-time names.
    pub fn new(name: &str, records: u32, latency: ServiceDist, features: Vec<FeatureDef>) -> Self {
        FeatureGroupSpec {
            name: name.into(),
            records,
            zipf: None,
            latency,
            refresh: None,
            features,
            record_identifier: "record_id".into(),
            event_time_feature: "event_time".into(),
            data: None,
        }
    }
}

/// Records read from a data file: identifiers and values, in file order
/// (a lookup's record `i` is row `i`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeatureData {
    /// Each row's record identifier.
    pub ids: Vec<String>,
    /// Row-major values, one per feature of the group, in feature order.
    pub values: Vec<String>,
}

impl FeatureData {
    /// Row `i`'s values, in feature order.
    pub fn row(&self, i: usize, features: usize) -> &[String] {
        &self.values[i * features..(i + 1) * features]
    }
}

/// One feature of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeatureDef {
    /// `FeatureName`.
    pub name: String,
    /// The value a `default` fallback serves, as a string.
    pub default: String,
}

/// What a failed lookup does to the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFailure {
    /// The model container fails the request (ModelError, status 500).
    Error,
    /// The request is served with the features' defaults (degraded).
    Default,
    /// The instance's last copy of the record is served if it is younger
    /// than the cache TTL; otherwise the fallback `then`.
    StaleCache,
}

impl OnFailure {
    /// The scenario spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OnFailure::Error => "error",
            OnFailure::Default => "default",
            OnFailure::StaleCache => "stale_cache",
        }
    }
}

/// An endpoint that looks features up before each inference.
#[derive(Clone, Debug)]
pub struct FeatureUseSpec {
    /// Endpoint index.
    pub endpoint: u16,
    /// Groups looked up (indices into [`FeatureStoreSpec::groups`]); two
    /// or more make one `BatchGetRecord`.
    pub groups: Vec<u16>,
    /// The model container's client gives up on a lookup after this.
    pub timeout: Duration,
    /// What a failed lookup does.
    pub on_failure: OnFailure,
    /// `stale_cache`: the oldest cached copy (since it was fetched) that
    /// may be served.
    pub cache_ttl: Duration,
    /// `stale_cache` with no copy young enough: `Error` or `Default`.
    pub then: OnFailure,
}

/// How the store misbehaves during an outage.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OutageMode {
    /// Every call is answered `ServiceUnavailable` (503).
    Unavailable,
    /// Every call takes this much longer.
    Slow {
        /// Added latency.
        delay: Duration,
    },
    /// This share of calls is answered `InternalFailure` (500).
    Errors {
        /// 0 to 1.
        rate: f64,
    },
    /// The call quota drops to this many calls per second; the rest get
    /// `ThrottlingException` (400).
    Throttled {
        /// Calls per second still accepted.
        tps: f64,
    },
    /// Ingestion stops: no record is rewritten, so the features served
    /// grow old.
    Stale,
}

impl OutageMode {
    /// The scenario spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OutageMode::Unavailable => "unavailable",
            OutageMode::Slow { .. } => "slow",
            OutageMode::Errors { .. } => "errors",
            OutageMode::Throttled { .. } => "throttled",
            OutageMode::Stale => "stale",
        }
    }
}

/// A scheduled `feature_store_outage`.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureOutageSpec {
    /// Group index.
    pub group: u16,
    /// What goes wrong.
    pub mode: OutageMode,
    /// When it starts.
    pub at: Duration,
    /// How long it lasts; `None`: to the end of the run.
    pub duration: Option<Duration>,
}
