//! The `report.json` contract (schema_version 1). Field names are a public
//! interface: add fields, never rename. Latencies are milliseconds, money is
//! US dollars, durations are seconds.

use serde::{Deserialize, Serialize};

/// The schema version this crate writes.
pub const SCHEMA_VERSION: u32 = 1;

/// A whole run's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// What ran.
    pub scenario: ScenarioInfo,
    /// False when the run was interrupted; the numbers cover what was measured.
    pub complete: bool,
    /// Why the run did not complete: interrupted, or stopped by
    /// `abort_on_burn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete_reason: Option<String>,
    /// `"pass"` when every SLO held, else `"fail"`.
    pub verdict: String,
    /// Per-endpoint results, in scenario order.
    pub endpoints: Vec<EndpointReport>,
    /// Training jobs (none in scenarios without `[[training_job]]`).
    pub training_jobs: Vec<crate::training::TrainingJobReport>,
    /// Cost roll-up.
    pub cost: CostReport,
    /// Every SLO objective, evaluated.
    pub slos: Vec<SloResult>,
    /// Number of discrete events (rows of `events.csv`).
    pub events: usize,
    /// Width of a `timeline.csv` interval, seconds.
    pub timeline_interval_s: f64,
    /// Time at which the run's last event ran, seconds: in-flight
    /// requests drain after `duration_s`, and training jobs run to their
    /// own end.
    pub drained_at_s: f64,
    /// Comparison with `--baseline`, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<crate::baseline::BaselineComparison>,
    /// Wall clock only: how well the load generator kept its schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_generator: Option<LoadGeneratorReport>,
    /// Where latency was measured when not from each request's intended
    /// send time: `"platform"` for `gameday serve` (from a request's
    /// arrival at the platform to its answer, since real clients send).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_at: Option<String>,
    /// Error budgets and burn-rate alerts of the objectives over requests
    /// (absent without such objectives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_budget: Option<crate::burn::ErrorBudgetReport>,
}

/// How well a wall-clock run's load generator kept its schedule. Latency is
/// measured from each request's intended send time, so lag shows up in the
/// latencies too; `suspect` says the generator, not the target, may be what
/// was measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LoadGeneratorReport {
    /// What the traffic went to.
    pub target: String,
    /// `time_scale` the timeline was compressed by.
    pub time_scale: f64,
    /// Open-loop requests sent (closed-loop users pace themselves).
    pub sent: u64,
    /// Sends more than 1 ms behind schedule.
    pub late_sends: u64,
    /// Send lag (actual − intended): p50, p99 and max, milliseconds.
    pub lag_ms_p50: f64,
    /// p99 send lag, milliseconds.
    pub lag_ms_p99: f64,
    /// Largest send lag, milliseconds.
    pub lag_ms_max: f64,
    /// Requests that queued because every one of the generator's
    /// in-flight bound of workers was busy.
    pub in_flight_waits: u64,
    /// Open-loop workers started. The pool grows to the most calls the run
    /// had in flight at once; over HTTP each worker keeps one keep-alive
    /// connection.
    pub workers: u64,
    /// SDK attempts, where the client retries (`null` when retries are off).
    pub attempts: Option<u64>,
    /// True when the generator fell behind (p99 lag over 10 ms, or the
    /// in-flight bound was hit): treat the latencies with suspicion.
    pub suspect: bool,
}

/// The scenario block of a report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScenarioInfo {
    /// Scenario name.
    pub name: String,
    /// The master seed used.
    pub seed: u64,
    /// `"virtual"` or `"wall"`.
    pub clock: String,
    /// How long traffic was sent, seconds (scenario time).
    pub duration_s: f64,
    /// The wall clock's time compression, when it was not 1: the run took
    /// `duration_s / time_scale` real seconds, and every time and cost in
    /// the report is in scenario time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_scale: Option<f64>,
}

/// Error counts by class.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct ErrorCounts {
    /// 4xx other than throttling.
    pub client_4xx: u64,
    /// 5xx.
    pub server_5xx: u64,
    /// Client timeouts.
    pub timeout: u64,
    /// Throttled (429 and throttling errors).
    pub throttled: u64,
}

impl ErrorCounts {
    /// All errors.
    pub fn total(&self) -> u64 {
        self.client_4xx + self.server_5xx + self.timeout + self.throttled
    }
}

/// Latency percentiles from an HDR histogram, milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LatencySummary {
    /// Exact mean (from a running sum, not the histogram).
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest value.
    pub max: f64,
}

/// Time requests spent queued before an instance slot took them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QueueWaitSummary {
    /// Exact mean over successful requests, ms.
    pub mean: f64,
    /// Median, ms.
    pub p50: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// Largest, ms.
    pub max: f64,
    /// Share of those requests that waited at all (Erlang C's P(wait > 0)).
    pub waited_fraction: f64,
    /// How many successful requests were measured (the denominator above).
    pub requests: u64,
}

/// One endpoint's results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EndpointReport {
    /// Endpoint name.
    pub name: String,
    /// Routing strategy.
    pub routing: String,
    /// Requests sent and finished.
    pub requests: u64,
    /// Successful requests.
    pub ok: u64,
    /// Failed requests by class; `ok + errors = requests`.
    pub errors: ErrorCounts,
    /// Requests per second of `duration_s`.
    pub throughput_rps: f64,
    /// `(requests - ok) / requests`.
    pub error_rate: f64,
    /// `(requests - server_5xx - timeout - throttled) / requests`.
    pub availability: f64,
    /// Every request's latency from its intended send time (timeouts count
    /// as the timeout).
    pub latency_ms: LatencySummary,
    /// Successful requests only.
    pub ok_latency_ms: LatencySummary,
    /// Queueing delay inside instances.
    pub queue_wait_ms: QueueWaitSummary,
    /// Time-average requests inside the endpoint over `duration_s`, measured
    /// by the platform (Little's law: ≈ throughput × mean latency).
    pub mean_in_system: f64,
    /// Instance cost of all variants.
    pub cost_usd: f64,
    /// Per-variant results.
    pub variants: Vec<VariantReport>,
    /// Endpoints that look features up: how the features were served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<crate::features::FeaturesReport>,
}

/// One production variant's results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VariantReport {
    /// Variant name.
    pub name: String,
    /// Model served.
    pub model: String,
    /// Instance type.
    pub instance_type: String,
    /// Instances at the start.
    pub instance_count: u32,
    /// Requests routed here.
    pub requests: u64,
    /// Successful requests.
    pub ok: u64,
    /// Failed requests by class.
    pub errors: ErrorCounts,
    /// Latency of requests routed here.
    pub latency_ms: LatencySummary,
    /// The model's service time on this variant's instance type, as the
    /// platform draws it: the model's latency (given on `ml.m5.xlarge`)
    /// scaled by the type's speed, or its own figure for this type.
    #[serde(default)]
    pub service_time_ms: ServiceTimeSummary,
    /// Instance lifetime billed, seconds.
    pub instance_seconds: f64,
    /// Instance cost.
    pub cost_usd: f64,
    /// Instances in service over the run (draining ones count until they
    /// terminate: they still hold capacity and bill).
    #[serde(default)]
    pub instances: InstancesSummary,
    /// Requests that failed or queued while fewer instances served than
    /// desired (a scale-out on its way, a crash not yet replaced).
    #[serde(default)]
    pub requests_while_short: u64,
    /// Application Auto Scaling activities, oldest first (empty without
    /// autoscaling).
    #[serde(default)]
    pub scaling_activities: Vec<ScalingActivityReport>,
    /// The scalable target and its alarms, with autoscaling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingReport>,
    /// A multi-model variant's model cache: hits, loads, evictions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mme: Option<MmeReport>,
    /// A shadow variant: it served copies of `shadow_of`'s requests and
    /// answered nobody; its numbers are in neither the endpoint's totals
    /// nor its objectives (written only when true).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shadow: bool,
    /// A shadow: the production variant it copies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow_of: Option<String>,
    /// A shadow: the percentage of that variant's requests copied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling_pct: Option<f64>,
    /// A shadow: the endpoint's latency and error objectives applied to
    /// its own numbers, as if it had taken the traffic. They do not
    /// count in the verdict.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shadow_slos: Vec<SloResult>,
}

/// A multi-model variant's model cache over the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MmeReport {
    /// Share of its requests that found their model loaded (the average
    /// of SageMaker's `ModelCacheHit`); 1 when there were none.
    pub model_cache_hit_ratio: f64,
    /// Requests that targeted a model here.
    pub requests: u64,
    /// Of which found it loaded.
    pub hits: u64,
    /// Model loads that finished.
    pub loads: u64,
    /// Models unloaded to make room.
    pub unloads: u64,
    /// Downloads from S3 (loads whose file was not on disk).
    pub downloads: u64,
    /// Loads that failed (their waiting requests failed with them).
    pub load_failures: u64,
    /// Requests answered `ModelNotReadyException` after waiting 60 s.
    pub model_not_ready: u64,
    /// How long the requests that missed waited for their model
    /// (`ModelLoadingWaitTime`), ms.
    pub loading_wait_ms: LoadingWaitSummary,
    /// Models loaded, summed over instances: time-average, and at the end.
    pub loaded_models_mean: f64,
    /// Models loaded at the end of the run.
    pub loaded_models_end: u32,
    /// The models loaded most often (a thrash list), most first; at most
    /// ten.
    pub most_loaded: Vec<ModelLoads>,
}

/// Percentiles of the wait for a model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LoadingWaitSummary {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Longest.
    pub max: f64,
}

/// How often one model was loaded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModelLoads {
    /// Model name.
    pub model: String,
    /// Loads over the run, summed over instances.
    pub loads: u32,
}

/// Fewest, mean and most instances in service.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InstancesSummary {
    /// Fewest.
    pub min: u32,
    /// Time-average.
    pub mean: f64,
    /// Most.
    pub max: u32,
}

/// One scaling activity, as `DescribeScalingActivities` would list it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScalingActivityReport {
    /// When it started, seconds.
    pub at_s: f64,
    /// Desired count before.
    pub from: u32,
    /// Desired count after.
    pub to: u32,
    /// What started it (the alarm and its value, or a scheduled action).
    pub cause: String,
    /// `InProgress`, `Successful` or `Failed`.
    pub status: String,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the fleet reached the new count, seconds.
    pub ended_at_s: Option<f64>,
    /// For a scale-out: seconds from the start of the first breaching
    /// datapoint to the added capacity serving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breach_to_serving_s: Option<f64>,
}

/// A variant's scalable target at the end of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AutoscalingReport {
    /// `MinCapacity` at the end (scheduled actions move it).
    pub min: u32,
    /// `MaxCapacity` at the end.
    pub max: u32,
    /// Scale-outs and scale-ins started.
    pub scale_outs: u32,
    /// Scale-ins started.
    pub scale_ins: u32,
    /// Every alarm with its state at the end.
    pub alarms: Vec<AlarmReport>,
}

/// An alarm's state at the end of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AlarmReport {
    /// Its name.
    pub name: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    /// State changes over the run.
    pub changes: u32,
}

/// A service-time distribution in three numbers, milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ServiceTimeSummary {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl ServiceTimeSummary {
    /// The summary of `d`.
    pub fn of(d: &gameday_core::dist::ServiceDist) -> Self {
        ServiceTimeSummary {
            mean: round3(d.mean() * 1e3),
            p50: round3(d.quantile(0.5) * 1e3),
            p99: round3(d.quantile(0.99) * 1e3),
        }
    }
}

/// Cost roll-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CostReport {
    /// Everything.
    pub total_usd: f64,
    /// Endpoint instances.
    pub endpoints_usd: f64,
    /// Training jobs.
    pub training_usd: f64,
    /// Endpoint cost per 1,000 requests (training excluded).
    pub per_1k_requests_usd: f64,
}

/// One evaluated SLO objective.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SloResult {
    /// Objective name, e.g. `latency_p99`.
    pub name: String,
    /// The endpoint it applies to (`None` for run-wide objectives).
    pub endpoint: Option<String>,
    /// The training job it applies to (`training_deadline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// Human-readable objective, e.g. `<= 500 ms`.
    pub objective: String,
    /// The measured value, in the objective's unit.
    pub actual: f64,
    /// Whether it held.
    pub met: bool,
    /// What happened, in words, where the number alone does not say it
    /// (a training job that ended `MaxRuntimeExceeded at 18h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl SloResult {
    /// What it applies to: the endpoint, the training job, or `(all)`.
    pub fn target(&self) -> &str {
        self.endpoint
            .as_deref()
            .or(self.job.as_deref())
            .unwrap_or("(all)")
    }
}

/// Rounds to 3 decimals (microseconds, for milliseconds), so reports are
/// readable and stable. Never returns negative zero (an empty `f64` sum
/// is `-0.0`, and `-0.0001` rounds to it): `+ 0.0` turns it into `0.0`.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0 + 0.0
}

/// Rounds to 6 decimals (ratios, dollars); never negative zero.
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6 + 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_never_gives_negative_zero() {
        let empty: f64 = std::iter::empty::<f64>().sum();
        assert!(empty.is_sign_negative(), "std's empty f64 sum is -0.0");
        for x in [empty, -0.0, -0.0001, -1e-9] {
            assert!(round3(x).is_sign_positive(), "round3({x:?})");
            assert!(round6(x * 1e-3).is_sign_positive(), "round6({x:?})");
            assert_eq!(serde_json::to_string(&round6(x * 1e-3)).unwrap(), "0.0");
        }
        assert_eq!(round3(-1.23456), -1.235);
        assert_eq!(round6(2.0000004), 2.0);
    }
}
