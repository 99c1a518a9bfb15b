//! The scenario file as written: serde structs with `deny_unknown_fields`.
//! Optional fields stay optional here; the semantic pass in
//! [`crate::validate`] decides what each kind of thing requires, so one run
//! reports every problem at once.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::units::{Count, DurationStr, Size};

/// A whole scenario file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// `[scenario]`: name, duration, seed, clock.
    pub scenario: RawMeta,
    /// `[target]`: what the traffic is sent to.
    pub target: Option<RawTarget>,
    /// `[[instance_type]]`: add to or override the instance catalog.
    #[serde(default, rename = "instance_type")]
    pub instance_types: Vec<RawInstanceType>,
    /// `[[model]]`: models and their service times.
    #[serde(default, rename = "model")]
    pub models: Vec<RawModel>,
    /// `[[endpoint]]`: real-time endpoints.
    #[serde(default, rename = "endpoint")]
    pub endpoints: Vec<RawEndpoint>,
    /// `[[workload]]`: traffic.
    #[serde(default, rename = "workload")]
    pub workloads: Vec<RawWorkload>,
    /// `[[fault]]`: scheduled faults.
    #[serde(default, rename = "fault")]
    pub faults: Vec<RawFault>,
    /// `[[training_job]]`: training jobs.
    #[serde(default, rename = "training_job")]
    pub training_jobs: Vec<RawTrainingJob>,
    /// `[[feature_group]]`: feature groups of the online feature store.
    #[serde(default, rename = "feature_group")]
    pub feature_groups: Vec<RawFeatureGroup>,
    /// `[feature_store]`: the online store's call quotas.
    pub feature_store: Option<RawFeatureStore>,
    /// `[[spot_market]]`: overrides of the built-in spot market.
    #[serde(default, rename = "spot_market")]
    pub spot_markets: Vec<RawSpotMarket>,
    /// `[slo]`: objectives.
    pub slo: Option<RawSlo>,
    /// `[baseline]`: how much worse than `--baseline` a run may be.
    pub baseline: Option<RawBaseline>,
    /// `[sweep]`: the grid `gameday sweep` runs.
    pub sweep: Option<RawSweep>,
}

/// `[sweep]`: for `gameday sweep`, a grid of changes to this scenario's
/// own fields; every combination runs over `seeds` seeds (a plain `run`
/// ignores it).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSweep {
    /// Seeds per configuration, from the scenario's seed up (default 5).
    pub seeds: Option<u64>,
    /// The fields varied and their values.
    #[serde(default)]
    pub vary: Vec<RawVary>,
}

/// One entry of `[sweep] vary`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawVary {
    /// The field's path, array entries picked by name (or position):
    /// `endpoint.recs.variant.AllTraffic.instance_type`,
    /// `workload.0.arrival.rate`.
    pub field: String,
    /// The values it takes, in order.
    #[schemars(with = "Vec<serde_json::Value>")]
    pub values: Vec<toml::Value>,
}

/// `[baseline]`: tolerances for `gameday run --baseline REPORT_JSON`
/// (flags override them).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBaseline {
    /// How much an endpoint's p99 may grow, percent (default 10).
    pub latency_p99_pct: Option<f64>,
    /// How much an endpoint's error rate may grow, absolute (default
    /// 0.001, i.e. 0.1 points).
    pub error_rate_abs: Option<f64>,
    /// How much the run's total cost may grow, percent (default 5).
    pub cost_pct: Option<f64>,
}

/// `[scenario]`: what the run is called, how long traffic runs, its seed
/// and its clock.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMeta {
    /// Names the run and its output folder (letters, digits, `.`, `_`, `-`).
    pub name: String,
    /// What the scenario shows.
    pub description: Option<String>,
    /// How long traffic is sent (required with endpoints; training jobs
    /// run to their own end).
    pub duration: Option<DurationStr>,
    /// Master seed (default 1); `--seed` overrides it.
    pub seed: Option<u64>,
    /// `"virtual"` or `"wall"` (default `"virtual"`).
    pub clock: Option<ClockKind>,
    /// Width of a timeline row (default `"10s"`).
    pub timeline_interval: Option<DurationStr>,
    /// Wall clock only: compress the scenario's timeline this many times,
    /// 0.001 to 1,000,000 (default 1).
    pub time_scale: Option<f64>,
    /// Instance catalog to use instead of the built-in one (path relative
    /// to the scenario file).
    pub catalog: Option<String>,
    /// A spot-market file laid over the built-in market (path relative to
    /// the scenario file), like the one `gameday prices` writes: its
    /// entries replace the figures they set.
    pub spot_market: Option<String>,
}

/// Which clock drives the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    /// Discrete-event simulation.
    Virtual,
    /// Real time.
    Wall,
}

/// `[target]`: what the traffic is sent to (default: the embedded
/// platform).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    /// `"local"`, `"http"` or `"sagemaker"`.
    pub kind: TargetKind,
    /// Base URL for `http`, or an endpoint-URL override for `sagemaker`.
    pub endpoint_url: Option<String>,
    /// AWS region for `sagemaker`.
    pub region: Option<String>,
    /// `sagemaker`: SDK attempts per call (default 1). 1 turns retries
    /// off so faults are not hidden; above 1 the report counts attempts.
    pub max_attempts: Option<u32>,
}

/// What the traffic is sent to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// The embedded platform.
    Local,
    /// Any HTTP server with SageMaker's path layout.
    Http,
    /// Real SageMaker endpoints.
    Sagemaker,
}

/// An instance type, in the catalog fixture or as a scenario override.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawInstanceType {
    /// Catalog name, e.g. `ml.m5.xlarge`.
    pub name: String,
    /// vCPUs.
    pub vcpus: Option<u32>,
    /// Memory.
    pub memory: Option<Size>,
    /// Service speed relative to `ml.m5.xlarge` (1.0).
    pub speed: Option<f64>,
    /// On-demand price, USD per hour.
    pub price_per_hour: Option<f64>,
    /// Time from launch to in service: `{ min = "4m", max = "6m" }`.
    pub provisioning: Option<RawRange>,
    /// Accelerators, if any.
    pub accelerator: Option<RawAccelerator>,
    /// Network bandwidth, Gbit/s (multi-model downloads use it).
    pub network_gbps: Option<f64>,
    /// Where the price came from, and when.
    pub source: Option<String>,
}

/// A `{ min, max }` duration range.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRange {
    /// Shortest.
    pub min: DurationStr,
    /// Longest.
    pub max: DurationStr,
}

/// Accelerators on an instance type.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAccelerator {
    /// Model, e.g. `"A10G"`.
    pub kind: String,
    /// How many.
    pub count: u32,
    /// Memory per accelerator.
    pub memory: Size,
}

/// `[[model]]`: a model and its service time (or a real model for the
/// wall clock).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    /// Model name.
    pub name: String,
    /// Artifact size.
    pub size: Option<Size>,
    /// How long a launched instance takes to load the model once
    /// provisioned, before it serves (default 0: the provisioning time
    /// covers it).
    pub load_time: Option<DurationStr>,
    /// Service time on the reference instance type (`ml.m5.xlarge`).
    /// Required unless `builtin` is set (a real model's time is its own).
    pub latency: Option<RawLatency>,
    /// A built-in real model that scores request bodies under the wall
    /// clock: `"logistic_regression"`.
    pub builtin: Option<String>,
    /// Weights file for `builtin` (JSON), relative to the scenario file.
    pub weights: Option<String>,
    /// Wall clock: a model server under SageMaker's container contract
    /// (`GET /ping`, `POST /invocations` on `SAGEMAKER_BIND_TO_PORT`),
    /// started once per instance.
    pub command: Option<Vec<String>>,
    /// Service times measured on specific instance types; these are used
    /// as given instead of scaling `latency` by the type's speed.
    #[serde(default)]
    pub latency_on: BTreeMap<String, RawLatency>,
    /// Share of requests this model fails, 0 to 1 (default 0): each
    /// takes its normal service time, then the client gets SageMaker's
    /// `ModelError` with `OriginalStatusCode` 500, as from a container
    /// that answered 500. A bad model version is then a `[[model]]` of
    /// its own. Not for a `command` model server, which fails on its own.
    pub error_rate: Option<f64>,
}

/// A service-time distribution.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLatency {
    /// `"lognormal"` (from `p50` and `p99`; the default), `"exponential"`
    /// (`mean`), `"constant"` (`value`) or `"empirical"` (`file`).
    pub dist: Option<DistKind>,
    /// Median.
    pub p50: Option<DurationStr>,
    /// 99th percentile.
    pub p99: Option<DurationStr>,
    /// Mean, for `exponential`.
    pub mean: Option<DurationStr>,
    /// Value, for `constant`.
    pub value: Option<DurationStr>,
    /// CSV with `latency_ms,weight` rows, for `empirical`.
    pub file: Option<String>,
}

/// Kinds of service-time distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DistKind {
    /// Log-normal fitted to p50 and p99.
    Lognormal,
    /// Exponential.
    Exponential,
    /// Constant.
    Constant,
    /// Empirical histogram from a file.
    Empirical,
}

/// `[[endpoint]]`: a real-time endpoint and how it routes to its
/// instances.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    /// Endpoint name.
    pub name: String,
    /// `"random"` or `"least_outstanding_requests"` (default `"random"`).
    pub routing: Option<RoutingKind>,
    /// Availability zones its instances spread over, round robin, 1 to 6
    /// (default 3); zones are named `a`, `b`, ….
    pub zones: Option<i64>,
    /// `"single_model"` or `"multi_model"`: each variant then serves many
    /// models (`[endpoint.variant.models]`), loaded on demand (default
    /// `"single_model"`).
    pub mode: Option<EndpointMode>,
    /// `[[endpoint.variant]]`: production variants.
    #[serde(default)]
    pub variant: Vec<RawVariant>,
    /// `[endpoint.features]`: the model container looks each request's
    /// features up in the online store before inference.
    pub features: Option<RawEndpointFeatures>,
}

/// `[endpoint.features]`: which feature groups each request reads, and
/// what the container does when a lookup fails.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEndpointFeatures {
    /// A `[[feature_group]]` name, or a list of them (one
    /// `BatchGetRecord` for two or more).
    pub group: RawGroups,
    /// The container's client gives up on a lookup after this (default
    /// `"50ms"`).
    pub timeout: Option<DurationStr>,
    /// What a failed lookup does (default "error"): `"error"` fails the
    /// request, `"default"` serves the features' defaults, `"stale_cache"`
    /// serves the instance's last copy if younger than `cache_ttl`, else
    /// `then`.
    pub on_failure: Option<String>,
    /// `stale_cache`: the oldest copy, since it was fetched, that may be
    /// served (default `"10m"`).
    pub cache_ttl: Option<DurationStr>,
    /// What `stale_cache` does with no copy young enough (default
    /// "default"): `"error"` or `"default"`.
    pub then: Option<String>,
    /// Defaults to serve instead of the groups' own, by feature name.
    #[serde(default)]
    pub defaults: BTreeMap<String, String>,
}

/// One feature-group name or several.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawGroups {
    /// One group: `GetRecord`.
    One(String),
    /// Several: `BatchGetRecord`.
    Many(Vec<String>),
}

impl RawGroups {
    /// The names, in order.
    pub fn names(&self) -> Vec<&str> {
        match self {
            RawGroups::One(g) => vec![g.as_str()],
            RawGroups::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// `[[feature_group]]`: a feature group of the online store, its records
/// and how fast and fresh they are.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFeatureGroup {
    /// `FeatureGroupName`.
    pub name: String,
    /// Records, identified `"0"` … (default 1000, or the rows of `data`).
    pub records: Option<i64>,
    /// `RecordIdentifierFeatureName` (default `"record_id"`).
    pub record_identifier: Option<String>,
    /// `EventTimeFeatureName` (default `"event_time"`).
    pub event_time_feature: Option<String>,
    /// Which record a request looks up: `{ zipf = alpha }`, record 0 the
    /// most read (default: every record alike).
    pub lookup_popularity: Option<RawPopularity>,
    /// The features, in order (see the `feature` table).
    pub features: Vec<RawFeature>,
    /// `GetRecord` latency on the online store (default: p50 4 ms, p99
    /// 15 ms).
    pub latency: Option<RawLatency>,
    /// How often ingestion rewrites each record (default: never; the
    /// records were written just before the run).
    pub refresh: Option<DurationStr>,
    /// A CSV of real values (wall clock): a column for the record
    /// identifier and one per feature; relative to the scenario file.
    pub data: Option<String>,
}

/// One feature of a group.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFeature {
    /// `FeatureName`.
    pub name: String,
    /// The value served for it when its lookup falls back (default
    /// `""`).
    pub default: Option<String>,
}

/// `[feature_store]`: the online store's call quotas, per second and
/// account (default: the published ones in `fixtures/feature-store.toml`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFeatureStore {
    /// `GetRecord` calls per second (default 10000).
    pub get_record_tps: Option<f64>,
    /// `BatchGetRecord` calls per second (default 500).
    pub batch_get_record_tps: Option<f64>,
}

/// What an endpoint's variants serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndpointMode {
    /// One model per variant.
    SingleModel,
    /// Many models per variant, loaded into each instance on demand.
    MultiModel,
}

/// Routing strategies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoutingKind {
    /// Uniform random.
    Random,
    /// Fewest outstanding requests.
    LeastOutstandingRequests,
}

/// `[[endpoint.variant]]`: a production variant: a model on a fleet of
/// instances, and its share of the endpoint's traffic.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawVariant {
    /// Variant name.
    pub name: String,
    /// Model served (a `[[model]]` name); a multi-model variant has
    /// `[endpoint.variant.models]` instead.
    pub model: Option<String>,
    /// Instance type (a catalog name).
    pub instance_type: String,
    /// Instances at the start (default 1).
    pub instance_count: Option<i64>,
    /// Requests one instance serves at once (default 1).
    pub concurrency: Option<i64>,
    /// Traffic weight (default 1.0).
    pub weight: Option<f64>,
    /// `[endpoint.variant.autoscaling]`: Application Auto Scaling of the
    /// instance count (`instance_count` is then the initial desired count).
    pub autoscaling: Option<RawAutoscaling>,
    /// Multi-model: memory for loaded models on one instance (default:
    /// the type's memory less an overhead; GPU types: GPU memory).
    pub model_memory: Option<Size>,
    /// Multi-model: disk for downloaded models on one instance (default
    /// `"30GB"`).
    pub disk: Option<Size>,
    /// Multi-model: S3 download bandwidth, like `"1.25GB/s"` (default:
    /// the type's network bandwidth from the catalog).
    pub download_bandwidth: Option<String>,
    /// Multi-model: how fast a model loads into memory, like `"500MB/s"`
    /// (default `"500MB/s"`; `load_time` in the models overrides it).
    pub load_rate: Option<String>,
    /// Multi-model: time to unload one model (default `"100ms"`).
    pub unload_time: Option<DurationStr>,
    /// `[endpoint.variant.models]`: the models a multi-model variant
    /// serves.
    pub models: Option<RawModels>,
    /// A shadow variant: `{ of = "Current", sampling = 100 }` copies that
    /// percentage of production variant `of`'s requests here. Its answers
    /// reach nobody and its failures count against no objective; it is
    /// measured and billed beside `of` (virtual clock).
    pub shadow: Option<RawShadow>,
}

/// `shadow = { of, sampling }` of a variant.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawShadow {
    /// The production variant whose requests are copied.
    pub of: String,
    /// Percentage of its requests copied, more than 0 and at most 100
    /// (default 100; SageMaker's `SamplingPercentage`).
    pub sampling: Option<f64>,
}

/// `[endpoint.variant.models]`: generated models `model-0` … (the most
/// popular first), their sizes, popularity and latency.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawModels {
    /// How many models (default 1).
    pub count: Option<i64>,
    /// Every model's size (`"100MB"`), or `{ p50, p99 }` of a log-normal
    /// spread of sizes.
    pub size: Option<RawModelSize>,
    /// `{ zipf = alpha }`, alpha > 0 (default: every model alike).
    pub popularity: Option<RawPopularity>,
    /// Service time of one request, on the reference instance type.
    pub latency: Option<RawLatency>,
    /// Load time of every model (default: size over `load_rate`).
    pub load_time: Option<DurationStr>,
    /// A CSV of the models instead of `count`, `size` and `popularity`:
    /// columns `name` and `size`, and optionally `weight` (default 1) and
    /// `latency` (the model's median service time on ml.m5.xlarge; the
    /// shape of `latency` above is scaled to it).
    pub file: Option<String>,
    /// A folder of model files instead of `count` and `size`: each file
    /// (or folder) is one model, its name the `TargetModel`, its size the
    /// file's; in name order (the order `popularity` ranks). A
    /// multi-model container loads them from here.
    pub dir: Option<String>,
}

/// A model size, or a spread of sizes.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawModelSize {
    /// One size for every model.
    One(String),
    /// A log-normal spread.
    Quantiles {
        /// Median size.
        p50: String,
        /// 99th-percentile size.
        p99: String,
    },
}

/// How requests spread over the models.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPopularity {
    /// Zipf exponent: model `i` (from 0) gets weight `1 / (i + 1)^zipf`.
    pub zipf: f64,
}

/// `[endpoint.variant.autoscaling]`: the scalable target and what is
/// registered on it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAutoscaling {
    /// `MinCapacity`, at least 1.
    pub min: i64,
    /// `MaxCapacity`.
    pub max: i64,
    /// Target-tracking policies.
    #[serde(default)]
    pub target_tracking: Vec<RawTargetTracking>,
    /// Step-scaling policies.
    #[serde(default)]
    pub step: Vec<RawStepPolicy>,
    /// Scheduled actions.
    #[serde(default)]
    pub scheduled: Vec<RawScheduled>,
}

/// `[[endpoint.variant.autoscaling.target_tracking]]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTargetTracking {
    /// `InvocationsPerInstance`, `CPUUtilization`, `GPUUtilization` or
    /// `ConcurrentRequestsPerModel`.
    pub metric: String,
    /// `TargetValue`.
    pub target: f64,
    /// Time after a scale-out ends before another counts unless larger
    /// (default `"300s"`).
    pub scale_out_cooldown: Option<DurationStr>,
    /// Time after a scale-in ends before the next (default `"300s"`).
    pub scale_in_cooldown: Option<DurationStr>,
    /// The policy never scales in (default false).
    pub disable_scale_in: Option<bool>,
    /// The scale-out alarm, `{ datapoints = M, of = N }`: M of the last N
    /// datapoints above the target (default 3 of 3). Datapoints are one
    /// minute, ten seconds for `ConcurrentRequestsPerModel`.
    pub alarm_high: Option<RawMOfN>,
    /// The scale-in alarm, `{ datapoints = M, of = N, below = F }`: M of
    /// the last N one-minute datapoints below F × the target (default 15
    /// of 15 below 0.9).
    pub alarm_low: Option<RawMOfN>,
    /// Most instances one scale-out may add, where your evidence says AWS
    /// adds fewer than `ceil(capacity × metric / target)` would (default:
    /// no limit).
    pub max_scale_out_step: Option<i64>,
    /// Most instances one scale-in may remove, for a more gradual
    /// scale-in than the formula's (default: no limit).
    pub max_scale_in_step: Option<i64>,
}

/// `{ datapoints = M, of = N }` (and, for a low alarm, `below`: its
/// threshold as a fraction of the target).
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMOfN {
    /// `DatapointsToAlarm`.
    pub datapoints: Option<i64>,
    /// `EvaluationPeriods`.
    pub of: Option<i64>,
    /// Low alarm only: the threshold over the target.
    pub below: Option<f64>,
}

/// `[[endpoint.variant.autoscaling.step]]`: a step policy on its alarm.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStepPolicy {
    /// CloudWatch metric of the variant: `InvocationsPerInstance`,
    /// `CPUUtilization`, `GPUUtilization`, `ConcurrentRequestsPerModel`,
    /// `Invocations`, `Invocation4XXErrors`, `Invocation5XXErrors`,
    /// `ModelLatency` or `OverheadLatency` (microseconds).
    pub metric: String,
    /// `Average`, `Maximum`, `Minimum`, `Sum` or `SampleCount` (default:
    /// the first the metric has, `Average` for most).
    pub statistic: Option<String>,
    /// Alarm period, a multiple of 10 s (default `"1m"`).
    pub period: Option<DurationStr>,
    /// `DatapointsToAlarm`: breaching datapoints needed (default: `of`, or 1).
    pub datapoints: Option<i64>,
    /// `EvaluationPeriods`: datapoints looked at (default: `datapoints`).
    pub of: Option<i64>,
    /// `">="`, `">"`, `"<="` or `"<"`.
    pub comparison: String,
    /// The alarm threshold.
    pub threshold: f64,
    /// `ChangeInCapacity`, `ExactCapacity` or `PercentChangeInCapacity`
    /// (default `ChangeInCapacity`).
    pub adjustment: Option<String>,
    /// `[ { lower, upper, change } ]`: bounds relative to the threshold,
    /// no gaps or overlaps; above the threshold a step holds `lower <=
    /// breach < upper`, below it `lower < breach <= upper`.
    pub steps: Vec<RawStepAdjustment>,
    /// Time after its activity ends before it scales in again, or out
    /// unless larger (default `"300s"`).
    pub cooldown: Option<DurationStr>,
}

/// One step of a step policy.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStepAdjustment {
    /// Lower bound (default: minus infinity).
    pub lower: Option<f64>,
    /// Upper bound (default: infinity).
    pub upper: Option<f64>,
    /// The adjustment.
    pub change: i64,
}

/// `[[endpoint.variant.autoscaling.scheduled]]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScheduled {
    /// When, inside the run.
    pub at: DurationStr,
    /// New `MinCapacity` (default: unchanged).
    pub min: Option<i64>,
    /// New `MaxCapacity` (default: unchanged).
    pub max: Option<i64>,
}

/// `[[workload]]`: traffic aimed at one endpoint.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    /// Name (default: the endpoint's); names its random stream.
    pub name: Option<String>,
    /// Endpoint the traffic goes to.
    pub endpoint: String,
    /// Arrival process.
    pub arrival: RawArrival,
    /// Client timeout per request (default `"60s"`, SageMaker's limit).
    pub timeout: Option<DurationStr>,
    /// `X-Amzn-SageMaker-Target-Model` of a multi-model endpoint: every
    /// request targets this model (default: drawn from the popularity).
    pub target_model: Option<String>,
    /// Send every request to this variant (`TargetVariant`).
    pub target_variant: Option<String>,
    /// Request payload (wall clock), inline.
    pub body: Option<String>,
    /// Request payload (wall clock), from a file relative to the scenario.
    pub body_file: Option<String>,
    /// Payload content type (default `application/json`).
    pub content_type: Option<String>,
}

/// An arrival process. Which fields apply depends on `kind`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawArrival {
    /// `constant`, `poisson`, `ramp`, `steps`, `spike`, `diurnal`, `trace`
    /// or `users`.
    pub kind: ArrivalKind,
    /// Requests per second (`constant`, `poisson`).
    pub rate: Option<f64>,
    /// Starting rate (`ramp`).
    pub from: Option<f64>,
    /// Final rate (`ramp`).
    pub to: Option<f64>,
    /// Ramp length (`ramp`).
    pub over: Option<DurationStr>,
    /// Rate changes (`steps`).
    pub steps: Option<Vec<RawStep>>,
    /// Rate outside the spike (`spike`).
    pub base: Option<f64>,
    /// Rate during the spike (`spike`).
    pub peak: Option<f64>,
    /// Spike start (`spike`).
    pub at: Option<DurationStr>,
    /// Spike length (`spike`).
    #[serde(rename = "for")]
    pub for_: Option<DurationStr>,
    /// Mean rate (`diurnal`).
    pub mean: Option<f64>,
    /// Relative swing, 0 to 1 (`diurnal`).
    pub amplitude: Option<f64>,
    /// Cycle length (`diurnal`, default `"1d"`).
    pub period: Option<DurationStr>,
    /// When in the cycle the peak falls (`diurnal`, default `"0s"`).
    pub peak_at: Option<DurationStr>,
    /// CSV of send offsets in a `time_s` column (`trace`).
    pub file: Option<String>,
    /// Concurrent users (`users`).
    pub users: Option<u32>,
    /// Mean think time between an answer and the next request (`users`).
    pub think_time: Option<DurationStr>,
}

/// Kinds of arrival process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArrivalKind {
    /// Evenly spaced.
    Constant,
    /// Poisson.
    Poisson,
    /// Linear ramp.
    Ramp,
    /// Step changes.
    Steps,
    /// A burst.
    Spike,
    /// Daily cycle.
    Diurnal,
    /// Replay from CSV.
    Trace,
    /// Closed-loop users.
    Users,
}

impl ArrivalKind {
    /// The scenario spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ArrivalKind::Constant => "constant",
            ArrivalKind::Poisson => "poisson",
            ArrivalKind::Ramp => "ramp",
            ArrivalKind::Steps => "steps",
            ArrivalKind::Spike => "spike",
            ArrivalKind::Diurnal => "diurnal",
            ArrivalKind::Trace => "trace",
            ArrivalKind::Users => "users",
        }
    }
}

/// One entry of `steps`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    /// When the rate changes.
    pub at: DurationStr,
    /// The new rate.
    pub rate: f64,
}

/// `[[fault]]`: something that goes wrong at `at`, for `for`. Which fields
/// apply depends on `kind`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    /// When it starts.
    pub at: DurationStr,
    /// How long it lasts (default: to the end of the run).
    #[serde(rename = "for")]
    pub for_: Option<DurationStr>,
    /// `instance_crash`, `latency_injection`, `error_injection`,
    /// `blackhole`, `spot_interruption`, `capacity_shortage`, `az_outage`,
    /// `model_download_slow`, `model_load_failure` or
    /// `feature_store_outage`.
    pub kind: FaultKindRaw,
    /// Endpoint hit (endpoint faults).
    pub endpoint: Option<String>,
    /// Training job hit (`spot_interruption`), or whose instance type runs
    /// short (`capacity_shortage`).
    pub job: Option<String>,
    /// Instance type hit: every spot job on it (`spot_interruption`), or
    /// its whole capacity pool, endpoint launches and training jobs alike
    /// (`capacity_shortage`).
    pub instance_type: Option<String>,
    /// Variant hit (default: all).
    pub variant: Option<String>,
    /// Availability zone that goes dark (`az_outage`): `"a"`, `"b"`, …
    /// up to the endpoints' `zones`.
    pub zone: Option<String>,
    /// Instances that crash (`instance_crash`, default 1).
    pub count: Option<i64>,
    /// Time until the health check notices (`instance_crash`, default `"2s"`).
    pub detect_after: Option<DurationStr>,
    /// Extra service time (`latency_injection`).
    pub delay: Option<DurationStr>,
    /// Share of requests that fail (`error_injection`, default 1.0).
    pub rate: Option<f64>,
    /// HTTP status returned (`error_injection`, default 500).
    pub status: Option<i64>,
    /// How many times slower model downloads get (`model_download_slow`).
    pub factor: Option<f64>,
    /// The model whose loads fail (`model_load_failure`; or give `rate`).
    pub model: Option<String>,
    /// The feature group hit (`feature_store_outage`).
    pub group: Option<String>,
    /// `feature_store_outage`: `"unavailable"`, `"slow"` (`delay`),
    /// `"errors"` (`rate`), `"throttled"` (`quota`) or `"stale"`
    /// (ingestion stops).
    pub mode: Option<String>,
    /// Calls per second still accepted (`feature_store_outage` mode
    /// `throttled`, default 0).
    pub quota: Option<f64>,
}

impl RawFault {
    /// Which optional fields are set, by name, leaving out `skip` (the
    /// fields that say what the fault hits, which every kind of its family
    /// takes).
    pub fn fields_set(&self, skip: &[&str]) -> Vec<(&'static str, bool)> {
        [
            ("for", self.for_.is_some()),
            ("endpoint", self.endpoint.is_some()),
            ("variant", self.variant.is_some()),
            ("job", self.job.is_some()),
            ("instance_type", self.instance_type.is_some()),
            ("zone", self.zone.is_some()),
            ("count", self.count.is_some()),
            ("detect_after", self.detect_after.is_some()),
            ("delay", self.delay.is_some()),
            ("rate", self.rate.is_some()),
            ("status", self.status.is_some()),
            ("factor", self.factor.is_some()),
            ("model", self.model.is_some()),
            ("group", self.group.is_some()),
            ("mode", self.mode.is_some()),
            ("quota", self.quota.is_some()),
        ]
        .into_iter()
        .filter(|(name, _)| !skip.contains(name))
        .collect()
    }
}

/// Kinds of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FaultKindRaw {
    /// Instances die and are replaced.
    InstanceCrash,
    /// Service time grows.
    LatencyInjection,
    /// Requests fail with a status.
    ErrorInjection,
    /// Requests hang until timeout.
    Blackhole,
    /// Spot capacity under training jobs is reclaimed (after the notice).
    SpotInterruption,
    /// No capacity of an instance type can be had for a while: endpoint
    /// launches fail with InsufficientCapacity and retry with backoff,
    /// on-demand training jobs fail, spot jobs wait.
    CapacityShortage,
    /// An availability zone goes dark: every endpoint's instances in it
    /// die, and launches go to the other zones until it returns.
    AzOutage,
    /// Multi-model downloads slow down.
    ModelDownloadSlow,
    /// Multi-model loads fail.
    ModelLoadFailure,
    /// The online feature store misbehaves for one feature group.
    FeatureStoreOutage,
}

impl FaultKindRaw {
    /// The scenario spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKindRaw::InstanceCrash => "instance_crash",
            FaultKindRaw::LatencyInjection => "latency_injection",
            FaultKindRaw::ErrorInjection => "error_injection",
            FaultKindRaw::Blackhole => "blackhole",
            FaultKindRaw::SpotInterruption => "spot_interruption",
            FaultKindRaw::CapacityShortage => "capacity_shortage",
            FaultKindRaw::AzOutage => "az_outage",
            FaultKindRaw::ModelDownloadSlow => "model_download_slow",
            FaultKindRaw::ModelLoadFailure => "model_load_failure",
            FaultKindRaw::FeatureStoreOutage => "feature_store_outage",
        }
    }

    /// True for faults that hit training jobs rather than endpoints.
    pub fn is_training(self) -> bool {
        matches!(
            self,
            FaultKindRaw::SpotInterruption | FaultKindRaw::CapacityShortage
        )
    }
}

/// `[slo]`: the objectives the run must hold; a miss exits 1. Latency,
/// error-rate and availability objectives apply to every endpoint.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSlo {
    /// Median latency bound.
    pub latency_p50: Option<DurationStr>,
    /// 90th-percentile latency bound.
    pub latency_p90: Option<DurationStr>,
    /// 95th-percentile latency bound.
    pub latency_p95: Option<DurationStr>,
    /// 99th-percentile latency bound.
    pub latency_p99: Option<DurationStr>,
    /// 99.9th-percentile latency bound.
    pub latency_p999: Option<DurationStr>,
    /// Highest error rate, 0 to 1.
    pub error_rate: Option<f64>,
    /// Lowest availability, 0 to 1.
    pub availability: Option<f64>,
    /// Highest total cost (endpoints and training), USD.
    pub cost_budget_usd: Option<f64>,
    /// Every training job completes within this wall time of its creation.
    pub training_deadline: Option<DurationStr>,
    /// Lowest share of training jobs that complete, 0 to 1.
    pub training_success_rate: Option<f64>,
    /// Lowest share of a multi-model endpoint's requests that find their
    /// model loaded, 0 to 1.
    pub model_cache_hit_ratio: Option<f64>,
    /// Longest 99th-percentile wait for a model to load, over the requests
    /// of a multi-model endpoint that waited.
    pub model_loading_wait_p99: Option<DurationStr>,
    /// Highest share, 0 to 1, of an endpoint's looked-up responses served
    /// with the features' defaults instead of a record (endpoints with
    /// `[endpoint.features]`; a cached copy counts against
    /// `feature_age_p99` instead).
    pub degraded_rate: Option<f64>,
    /// Longest 99th-percentile age of the features an endpoint served,
    /// since ingestion last wrote them (endpoints with
    /// `[endpoint.features]`).
    pub feature_age_p99: Option<DurationStr>,
    /// Stop the run (either clock) when an endpoint's error budget for a
    /// latency, `error_rate` or `availability` objective burns at least
    /// this fast over both windows of the fast page rule (1 h and 5 m,
    /// scaled for short runs): the report is written, marked incomplete
    /// with the reason, and the run exits 1. 14.4 is the SRE workbook's
    /// fast-burn page.
    pub abort_on_burn: Option<f64>,
}

/// `[[training_job]]`: a SageMaker training job, on-demand or on spot
/// capacity.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTrainingJob {
    /// Job name (also names its random stream).
    pub name: String,
    /// Instance type from the catalog.
    pub instance_type: String,
    /// Instances (default 1).
    pub instance_count: Option<i64>,
    /// Managed spot training (default false).
    pub spot: Option<bool>,
    /// Longest training time (default `"1d"`).
    pub max_run: Option<DurationStr>,
    /// Longest time from creation to the end, waits included (spot:
    /// required, at least `max_run`).
    pub max_wait: Option<DurationStr>,
    /// Compute time between checkpoints (default: none).
    pub checkpoint_every: Option<DurationStr>,
    /// Time to write one checkpoint (default `"30s"`).
    pub checkpoint_cost: Option<DurationStr>,
    /// Write a checkpoint on the spot notice if it fits (default false).
    pub checkpoint_on_notice: Option<bool>,
    /// Data and image download at each start (default `"2m"`).
    pub download: Option<DurationStr>,
    /// Model upload at the end (default `"1m"`).
    pub upload: Option<DurationStr>,
    /// The work (modelled jobs; required for the virtual clock).
    pub work: Option<RawWork>,
    /// Data-parallel efficiency per doubling of instances (default 0.9).
    pub parallel_efficiency: Option<f64>,
    /// Wall clock: a real training command under SageMaker's contract.
    pub command: Option<Vec<String>>,
    /// Wall clock: a built-in trainer instead of a command
    /// (`"logistic_regression"`).
    pub trainer: Option<String>,
    /// `hyperparameters.json` (values are passed as strings).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub hyperparameters: BTreeMap<String, toml::Value>,
    /// Data channels: name → file or folder (relative to the scenario).
    #[serde(default)]
    pub channels: BTreeMap<String, String>,
}

/// A training job's work: `steps` × `step_time` on one reference GPU, or
/// `params` and `tokens` (≈ 6·params·tokens FLOPs).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWork {
    /// Steps to train.
    pub steps: Option<u64>,
    /// Time of one step on one reference GPU (`fixtures/accelerators.toml`).
    pub step_time: Option<DurationStr>,
    /// Model parameters, like `"7B"`.
    pub params: Option<Count>,
    /// Training tokens, like `"140B"`.
    pub tokens: Option<Count>,
    /// Model FLOPs utilisation, 0 to 1 (default 0.4).
    pub utilization: Option<f64>,
}

/// `[[spot_market]]` (and the built-in file's entries).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSpotMarket {
    /// Instance type.
    pub instance_type: Option<String>,
    /// Spot Instance Advisor band: `<5%`, `5-10%`, `10-15%`, `15-20%`, `>20%`.
    pub interruption_band: Option<String>,
    /// Mean time between interruptions of one instance (overrides the band).
    pub mtbi: Option<DurationStr>,
    /// Spot discount against on-demand, 0 to 1.
    pub savings: Option<f64>,
    /// Time to get spot capacity: `{ min, max }`.
    pub capacity_wait: Option<RawRange>,
    /// Notice before a reclaim (default `"2m"`).
    pub notice: Option<DurationStr>,
    /// Where the figures came from (files only).
    pub source: Option<String>,
    /// Per availability zone: the spot discount there (`gameday prices`
    /// writes these).
    pub zones: Option<Vec<RawSpotZone>>,
    /// Use this zone's `savings` (one of the type's `zones`).
    pub zone: Option<String>,
}

/// One zone of a `[[spot_market]]` entry.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSpotZone {
    /// Availability zone, like `"us-east-1a"`.
    pub zone: String,
    /// Spot discount against on-demand there, 0 to 1.
    pub savings: f64,
    /// Time-weighted mean spot price over the window, USD per hour.
    pub spot_price: Option<f64>,
    /// Price changes seen in the window.
    pub changes: Option<u32>,
}
