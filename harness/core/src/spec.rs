//! Plain-data description of a platform and its traffic, as the scenario
//! loader builds it. Names are resolved to indices; distributions are
//! already scaled for the instance type that serves them.

use std::time::Duration;

use crate::arrival::ArrivalSpec;
use crate::dist::ServiceDist;

/// Everything the platform model needs to run.
#[derive(Clone, Debug, Default)]
pub struct PlatformSpec {
    /// Real-time endpoints.
    pub endpoints: Vec<EndpointSpec>,
    /// Scheduled faults, in scenario order (which is also rule order).
    pub faults: Vec<FaultSpec>,
    /// Scheduled capacity shortages, each of one instance type; they hit
    /// endpoints and training jobs alike.
    pub shortages: Vec<crate::capacity::ShortageSpec>,
    /// Scheduled availability-zone outages; they hit every endpoint with
    /// instances in the zone.
    pub zone_outages: Vec<ZoneOutageSpec>,
    /// The online feature store: its groups, the endpoints that look
    /// features up, and its outages.
    pub feature_store: crate::features::FeatureStoreSpec,
}

/// An availability zone goes dark: its instances die, and no launch is
/// placed there until it comes back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneOutageSpec {
    /// When it starts.
    pub at: Duration,
    /// How long it lasts; `None`: to the end of the run.
    pub duration: Option<Duration>,
    /// Zone index: 0 is zone `a`, 1 is `b`, ….
    pub zone: u8,
    /// Time until each endpoint's health check notices its dead instances.
    pub detect_after: Duration,
}

/// The letter of zone `z` (`a` for 0).
pub fn zone_name(z: u8) -> char {
    (b'a' + z.min(25)) as char
}

/// How an endpoint picks an instance within a variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Routing {
    /// Uniformly at random (SageMaker's default).
    #[default]
    Random,
    /// The instance with the fewest outstanding requests.
    LeastOutstandingRequests,
}

impl Routing {
    /// The scenario spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Routing::Random => "random",
            Routing::LeastOutstandingRequests => "least_outstanding_requests",
        }
    }
}

/// A real-time endpoint.
#[derive(Clone, Debug)]
pub struct EndpointSpec {
    /// Endpoint name.
    pub name: String,
    /// Instance routing strategy.
    pub routing: Routing,
    /// Availability zones its instances spread over, round robin (at
    /// least 1).
    pub zones: u32,
    /// Production variants.
    pub variants: Vec<VariantSpec>,
}

/// A production variant: one model on a fleet of one instance type.
#[derive(Clone, Debug)]
pub struct VariantSpec {
    /// Variant name.
    pub name: String,
    /// Model name (for reports).
    pub model: String,
    /// Share of traffic, relative to the other variants' weights.
    pub weight: f64,
    /// The instance type serving it.
    pub instance: InstanceTypeSpec,
    /// Instances in service at the start.
    pub instance_count: u32,
    /// Requests one instance serves at once; the rest queue (FIFO).
    pub concurrency: u32,
    /// Service time on this instance type.
    pub service: ServiceDist,
    /// The model is a real process (wall clock): `service` is not drawn;
    /// the driver forwards each request whose service starts
    /// ([`crate::Platform::poll_start`]) and reports back with
    /// [`crate::Platform::complete`].
    pub external: bool,
    /// A launched instance loads the model for this long after it is
    /// provisioned, before it serves (the instances in service at the
    /// start have it loaded).
    pub model_load: Duration,
    /// Application Auto Scaling of the variant's instance count, if
    /// registered.
    pub autoscaling: Option<crate::autoscaling::AutoscalingSpec>,
    /// A multi-model variant: the models it serves and each instance's
    /// room for them. Requests then name their target model.
    pub multi_model: Option<Box<crate::mme::MultiModelSpec>>,
    /// Share of requests the model itself fails (0 to 1), after its
    /// normal service time, as a container answering 500 would: a bad
    /// model version is expressible without a fault.
    pub error_rate: f64,
    /// A shadow variant: it gets copies of another variant's requests
    /// and answers nobody (its `weight` is 0; routing never picks it).
    pub shadow: Option<ShadowSpec>,
}

/// What a shadow variant copies (SageMaker's shadow tests: a
/// `ShadowModeConfig` with its `SamplingPercentage`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShadowSpec {
    /// Index of the production variant whose requests are copied.
    pub of: u16,
    /// Share of that variant's requests copied, 0 to 1.
    pub sampling: f64,
}

/// What the core needs to know about an instance type.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceTypeSpec {
    /// Catalog name, e.g. `ml.m5.xlarge`.
    pub name: String,
    /// On-demand price, US dollars per hour.
    pub price_per_hour: f64,
    /// Shortest time from launch to in service.
    pub provisioning_min: Duration,
    /// Longest time from launch to in service.
    pub provisioning_max: Duration,
    /// vCPUs: `CPUUtilization` runs from 0 to 100 × this, as SageMaker
    /// reports it.
    pub vcpus: u32,
    /// Accelerators (GPUs); `GPUUtilization` is reported only when
    /// there are some, from 0 to 100 × this.
    pub gpus: u32,
}

/// Which endpoint (and optionally variant) a fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultTarget {
    /// Endpoint index.
    pub endpoint: usize,
    /// Variant index, or every variant.
    pub variant: Option<usize>,
}

/// A fault scheduled in the scenario.
#[derive(Clone, Debug)]
pub struct FaultSpec {
    /// When it starts.
    pub at: Duration,
    /// How long it lasts; `None` means until the end of the run.
    pub duration: Option<Duration>,
    /// What it hits.
    pub target: FaultTarget,
    /// What it does.
    pub kind: FaultKind,
}

/// The kinds of fault the platform model can inject.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// `count` in-service instances die. Their in-flight and queued requests
    /// fail with 5xx; until the health check notices (`detect_after`) the
    /// dead instances still receive traffic, which fails at once; then each
    /// is replaced by a new instance after its provisioning time.
    InstanceCrash {
        /// How many instances crash.
        count: u32,
        /// Time until the endpoint takes a dead instance out of routing.
        detect_after: Duration,
    },
    /// Every request's service time grows by `delay` (a slow dependency or
    /// a slow model: the slot stays busy, so queues build).
    LatencyInjection {
        /// Extra service time.
        delay: Duration,
    },
    /// A share of requests fails at once with `status`.
    ErrorInjection {
        /// Share of requests that fail, `0..=1`.
        rate: f64,
        /// HTTP status returned.
        status: u16,
    },
    /// Requests are accepted and never answered: the client times out.
    Blackhole,
    /// Model downloads from S3 take `factor` times as long (multi-model
    /// variants).
    ModelDownloadSlow {
        /// How many times slower, at least 1.
        factor: f64,
    },
    /// Model loads fail (multi-model variants): a share of them, or every
    /// load of one model. The requests waiting for the load get the
    /// container's error.
    ModelLoadFailure {
        /// Share of loads that fail, `0..=1`.
        rate: f64,
        /// Only this model's loads (all of them, whatever `rate`).
        model: Option<u32>,
    },
}

impl FaultKind {
    /// The scenario spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            FaultKind::InstanceCrash { .. } => "instance_crash",
            FaultKind::LatencyInjection { .. } => "latency_injection",
            FaultKind::ErrorInjection { .. } => "error_injection",
            FaultKind::Blackhole => "blackhole",
            FaultKind::ModelDownloadSlow { .. } => "model_download_slow",
            FaultKind::ModelLoadFailure { .. } => "model_load_failure",
        }
    }
}

/// Client-side traffic: one arrival process aimed at one endpoint.
#[derive(Clone, Debug)]
pub struct WorkloadSpec {
    /// Workload name (also names its RNG stream).
    pub name: String,
    /// Endpoint index.
    pub endpoint: usize,
    /// When requests are scheduled to be sent.
    pub arrival: ArrivalSpec,
    /// Client timeout per request.
    pub timeout: Duration,
    /// `X-Amzn-SageMaker-Target-Variant`: route every request to this variant.
    pub target_variant: Option<usize>,
    /// Multi-model endpoints: which model each request targets.
    pub target_model: TargetModel,
}

/// Which model a workload's requests target.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum TargetModel {
    /// None: a single-model endpoint.
    #[default]
    None,
    /// Always this model (its index).
    Fixed(u32),
    /// Each request's model drawn from the models' popularity.
    Popularity(crate::mme::ModelMix),
    /// The `k`-th request targets entry `k` (a trace's model column).
    Sequence(std::sync::Arc<[u32]>),
}

impl TargetModel {
    /// The target model of a workload's `k`-th request, drawing from
    /// `rng` for a popularity mix.
    pub fn pick<R: rand::Rng + ?Sized>(&self, k: u64, rng: &mut R) -> Option<u32> {
        match self {
            TargetModel::None => None,
            TargetModel::Fixed(m) => Some(*m),
            TargetModel::Popularity(mix) => Some(mix.pick(rng)),
            TargetModel::Sequence(s) => s.get(k as usize).copied(),
        }
    }
}
