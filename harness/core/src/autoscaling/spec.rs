//! Plain-data description of a variant's Application Auto Scaling: its
//! scalable target (min and max), target-tracking and step policies, and
//! scheduled actions, as the scenario loader builds them.

use std::time::Duration;

/// Default `ScaleOutCooldown` and `ScaleInCooldown` for SageMaker
/// variants, and step scaling's `Cooldown`.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(300);

/// A variant's scalable target and everything registered on it.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoscalingSpec {
    /// `MinCapacity`.
    pub min: u32,
    /// `MaxCapacity`.
    pub max: u32,
    /// Target-tracking policies.
    pub target_tracking: Vec<TargetTrackingSpec>,
    /// Step-scaling policies, each on its own alarm.
    pub step: Vec<StepPolicySpec>,
    /// Scheduled actions, in time order.
    pub scheduled: Vec<ScheduledSpec>,
}

/// A CloudWatch metric of a variant an alarm can watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Invocations per instance per minute (statistic `Sum`).
    InvocationsPerInstance,
    /// Busy slots as CPU, 0 to 100 × vCPUs.
    CpuUtilization,
    /// Busy slots as GPU, 0 to 100 × GPUs (accelerated types only).
    GpuUtilization,
    /// Requests in flight or queued per instance (high resolution).
    ConcurrentRequestsPerModel,
    /// Requests answered.
    Invocations,
    /// Requests answered 4xx.
    Invocation4xxErrors,
    /// Requests answered 5xx.
    Invocation5xxErrors,
    /// Time the model took, microseconds.
    ModelLatency,
    /// Time the platform added (queueing), microseconds.
    OverheadLatency,
    /// Multi-model: 1 for a request that found its model loaded, else 0
    /// (Average: the hit ratio).
    ModelCacheHit,
    /// Multi-model: time a request waited for its model, microseconds.
    ModelLoadingWaitTime,
    /// Multi-model: time a model's download took, microseconds.
    ModelDownloadingTime,
    /// Multi-model: time a model's load took, microseconds.
    ModelLoadingTime,
    /// Multi-model: time an unload took, microseconds (SampleCount:
    /// unloads).
    ModelUnloadingTime,
    /// Multi-model: models loaded per instance (Sum: over instances).
    LoadedModelCount,
}

impl Metric {
    /// Every metric, for suggestions.
    pub const ALL: [Metric; 15] = [
        Metric::InvocationsPerInstance,
        Metric::CpuUtilization,
        Metric::GpuUtilization,
        Metric::ConcurrentRequestsPerModel,
        Metric::Invocations,
        Metric::Invocation4xxErrors,
        Metric::Invocation5xxErrors,
        Metric::ModelLatency,
        Metric::OverheadLatency,
        Metric::ModelCacheHit,
        Metric::ModelLoadingWaitTime,
        Metric::ModelDownloadingTime,
        Metric::ModelLoadingTime,
        Metric::ModelUnloadingTime,
        Metric::LoadedModelCount,
    ];

    /// The CloudWatch name.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::InvocationsPerInstance => "InvocationsPerInstance",
            Metric::CpuUtilization => "CPUUtilization",
            Metric::GpuUtilization => "GPUUtilization",
            Metric::ConcurrentRequestsPerModel => "ConcurrentRequestsPerModel",
            Metric::Invocations => "Invocations",
            Metric::Invocation4xxErrors => "Invocation4XXErrors",
            Metric::Invocation5xxErrors => "Invocation5XXErrors",
            Metric::ModelLatency => "ModelLatency",
            Metric::OverheadLatency => "OverheadLatency",
            Metric::ModelCacheHit => "ModelCacheHit",
            Metric::ModelLoadingWaitTime => "ModelLoadingWaitTime",
            Metric::ModelDownloadingTime => "ModelDownloadingTime",
            Metric::ModelLoadingTime => "ModelLoadingTime",
            Metric::ModelUnloadingTime => "ModelUnloadingTime",
            Metric::LoadedModelCount => "LoadedModelCount",
        }
    }

    /// The metric named `s`.
    pub fn parse(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The metrics target tracking can track (the predefined metric
    /// types of SageMaker variants, and GPU utilisation as a customised
    /// metric).
    pub fn trackable(self) -> bool {
        matches!(
            self,
            Metric::InvocationsPerInstance
                | Metric::CpuUtilization
                | Metric::GpuUtilization
                | Metric::ConcurrentRequestsPerModel
        )
    }

    /// Emitted only by multi-model endpoints.
    pub fn multi_model(self) -> bool {
        matches!(
            self,
            Metric::ModelCacheHit
                | Metric::ModelLoadingWaitTime
                | Metric::ModelDownloadingTime
                | Metric::ModelLoadingTime
                | Metric::ModelUnloadingTime
                | Metric::LoadedModelCount
        )
    }

    /// Emitted every 10 seconds (`...HighResolution`).
    pub fn high_resolution(self) -> bool {
        self == Metric::ConcurrentRequestsPerModel
    }

    /// The statistics SageMaker documents for the metric.
    pub fn statistics(self) -> &'static [Statistic] {
        use Statistic::*;
        match self {
            Metric::InvocationsPerInstance => &[Sum],
            Metric::Invocations => &[Sum, SampleCount],
            Metric::Invocation4xxErrors | Metric::Invocation5xxErrors => &[Average, Sum],
            Metric::ModelCacheHit => &[Average, Sum, SampleCount],
            _ => &[Average, Maximum, Minimum, Sum, SampleCount],
        }
    }

    /// The statistic target tracking uses.
    pub fn tracked_statistic(self) -> Statistic {
        match self {
            Metric::InvocationsPerInstance | Metric::Invocations => Statistic::Sum,
            _ => Statistic::Average,
        }
    }
}

/// A CloudWatch statistic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Statistic {
    /// Mean.
    Average,
    /// Largest.
    Maximum,
    /// Smallest.
    Minimum,
    /// Total.
    Sum,
    /// Number of samples.
    SampleCount,
}

impl Statistic {
    /// Every statistic.
    pub const ALL: [Statistic; 5] = [
        Statistic::Average,
        Statistic::Maximum,
        Statistic::Minimum,
        Statistic::Sum,
        Statistic::SampleCount,
    ];

    /// The CloudWatch name.
    pub fn as_str(self) -> &'static str {
        match self {
            Statistic::Average => "Average",
            Statistic::Maximum => "Maximum",
            Statistic::Minimum => "Minimum",
            Statistic::Sum => "Sum",
            Statistic::SampleCount => "SampleCount",
        }
    }

    /// The statistic named `s`.
    pub fn parse(s: &str) -> Option<Statistic> {
        Statistic::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// An alarm's comparison of a datapoint with its threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// `>=`
    GreaterOrEqual,
    /// `>`
    Greater,
    /// `<=`
    LessOrEqual,
    /// `<`
    Less,
}

impl Comparison {
    /// The scenario spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::GreaterOrEqual => ">=",
            Comparison::Greater => ">",
            Comparison::LessOrEqual => "<=",
            Comparison::Less => "<",
        }
    }

    /// The comparison spelled `s` (`>=`, or CloudWatch's
    /// `GreaterThanOrEqualToThreshold` and the like).
    pub fn parse(s: &str) -> Option<Comparison> {
        Some(match s {
            ">=" | "GreaterThanOrEqualToThreshold" => Comparison::GreaterOrEqual,
            ">" | "GreaterThanThreshold" => Comparison::Greater,
            "<=" | "LessThanOrEqualToThreshold" => Comparison::LessOrEqual,
            "<" | "LessThanThreshold" => Comparison::Less,
            _ => return None,
        })
    }

    /// Whether `value` breaches `threshold`.
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterOrEqual => value >= threshold,
            Comparison::Greater => value > threshold,
            Comparison::LessOrEqual => value <= threshold,
            Comparison::Less => value < threshold,
        }
    }

    /// True for `>=` and `>`: the alarm watches for high values.
    pub fn upward(self) -> bool {
        matches!(self, Comparison::GreaterOrEqual | Comparison::Greater)
    }
}

/// A CloudWatch metric alarm on one variant.
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmSpec {
    /// What it watches.
    pub metric: Metric,
    /// Which statistic of each period.
    pub statistic: Statistic,
    /// The period, a multiple of 10 s (scenario time).
    pub period: Duration,
    /// `DatapointsToAlarm` (M).
    pub datapoints: u32,
    /// `EvaluationPeriods` (N).
    pub of: u32,
    /// How a datapoint is compared.
    pub comparison: Comparison,
    /// The threshold.
    pub threshold: f64,
}

/// How many datapoints of how many an alarm needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MOfN {
    /// `DatapointsToAlarm`.
    pub datapoints: u32,
    /// `EvaluationPeriods`.
    pub of: u32,
}

/// A target-tracking policy.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetTrackingSpec {
    /// The metric held at `target`.
    pub metric: Metric,
    /// `TargetValue`.
    pub target: f64,
    /// `ScaleOutCooldown` (scenario time).
    pub scale_out_cooldown: Duration,
    /// `ScaleInCooldown` (scenario time).
    pub scale_in_cooldown: Duration,
    /// `DisableScaleIn`.
    pub disable_scale_in: bool,
    /// The scale-out alarm: above target (AWS creates 3 of 3).
    pub alarm_high: MOfN,
    /// The scale-in alarm: below `low_fraction` × target (15 of 15).
    pub alarm_low: MOfN,
    /// The scale-in alarm's threshold over the target (0.9).
    pub low_fraction: f64,
    /// Most instances one scale-out adds (none: as the formula says).
    pub max_scale_out_step: Option<u32>,
    /// Most instances one scale-in removes (none: as the formula says).
    pub max_scale_in_step: Option<u32>,
}

impl TargetTrackingSpec {
    /// A policy holding `metric` at `target` with the settings AWS
    /// defaults to: 300 s cooldowns, scale-in on, a high alarm on 3 of 3
    /// datapoints and a low one on 15 of 15 below 90% of the target.
    pub fn new(metric: Metric, target: f64) -> Self {
        TargetTrackingSpec {
            metric,
            target,
            scale_out_cooldown: DEFAULT_COOLDOWN,
            scale_in_cooldown: DEFAULT_COOLDOWN,
            disable_scale_in: false,
            alarm_high: MOfN {
                datapoints: 3,
                of: 3,
            },
            alarm_low: MOfN {
                datapoints: 15,
                of: 15,
            },
            low_fraction: 0.9,
            max_scale_out_step: None,
            max_scale_in_step: None,
        }
    }
}

/// How a step adjustment changes capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adjustment {
    /// Add (or remove) this many instances.
    ChangeInCapacity,
    /// Set the capacity to this many.
    ExactCapacity,
    /// Add (or remove) this percent of the current capacity.
    PercentChangeInCapacity,
}

impl Adjustment {
    /// The AWS name.
    pub fn as_str(self) -> &'static str {
        match self {
            Adjustment::ChangeInCapacity => "ChangeInCapacity",
            Adjustment::ExactCapacity => "ExactCapacity",
            Adjustment::PercentChangeInCapacity => "PercentChangeInCapacity",
        }
    }

    /// The adjustment type named `s`.
    pub fn parse(s: &str) -> Option<Adjustment> {
        [
            Adjustment::ChangeInCapacity,
            Adjustment::ExactCapacity,
            Adjustment::PercentChangeInCapacity,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// One step: applies when the breach (metric minus threshold) lies
/// between `lower` and `upper`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepAdjustment {
    /// `MetricIntervalLowerBound` (none: minus infinity).
    pub lower: Option<f64>,
    /// `MetricIntervalUpperBound` (none: infinity).
    pub upper: Option<f64>,
    /// `ScalingAdjustment`.
    pub change: i64,
}

/// A step-scaling policy on its alarm.
#[derive(Clone, Debug, PartialEq)]
pub struct StepPolicySpec {
    /// The alarm that invokes it.
    pub alarm: AlarmSpec,
    /// `AdjustmentType`.
    pub adjustment: Adjustment,
    /// `StepAdjustments`, ordered by bound.
    pub steps: Vec<StepAdjustment>,
    /// `Cooldown` (scenario time).
    pub cooldown: Duration,
}

/// A scheduled action: new bounds at a time.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledSpec {
    /// When (scenario time).
    pub at: Duration,
    /// New `MinCapacity`, if set.
    pub min: Option<u32>,
    /// New `MaxCapacity`, if set.
    pub max: Option<u32>,
}
