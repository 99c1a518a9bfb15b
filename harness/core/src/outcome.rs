//! What the platform reports back to its driver: request results, discrete
//! events, gauges and cost.

use crate::time::SimTime;

/// How a request ended, as the client saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// 2xx with the model's answer.
    Ok,
    /// 4xx other than throttling (bad input, unknown variant, ...).
    Client4xx,
    /// 5xx: the instance died, an error was injected, nothing in service.
    Server5xx,
    /// The client gave up after its timeout.
    Timeout,
    /// 429 or a throttling error: the platform refused the load.
    Throttled,
}

impl Outcome {
    /// The outcome an HTTP status maps to.
    pub fn from_status(status: u16) -> Outcome {
        match status {
            200..=299 => Outcome::Ok,
            429 => Outcome::Throttled,
            400..=499 => Outcome::Client4xx,
            _ => Outcome::Server5xx,
        }
    }
}

/// Why a request ended as it did: what a wall-clock server needs to pick
/// the SageMaker error it answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    /// An instance served it (the outcome is `Ok`).
    Served,
    /// An `error_injection` fault answered with this HTTP status.
    Injected(u16),
    /// The instance holding it died, or was dead and still routed to.
    InstanceDown,
    /// No instance of the variant was in service.
    NoCapacity,
    /// It would not finish before its deadline (queued too long, service
    /// overran, or a blackhole swallowed it).
    Timeout,
    /// A model process answered with this HTTP status (SageMaker's
    /// ModelError carries it as `OriginalStatusCode`).
    ModelError(u16),
    /// A multi-model endpoint had not loaded the target model within the
    /// 60 s InvokeEndpoint waits (`ModelNotReadyException`, 429); the
    /// load goes on.
    ModelNotReady,
    /// The target model's load failed; the container's error is passed on
    /// as a ModelError.
    ModelLoadFailed,
}

impl Cause {
    /// The cause a plain outcome implies when nothing more specific is
    /// known: served, timed out, or the instance failed it.
    pub fn of(outcome: Outcome) -> Cause {
        match outcome {
            Outcome::Ok => Cause::Served,
            Outcome::Timeout => Cause::Timeout,
            _ => Cause::InstanceDown,
        }
    }
}

/// One finished request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestResult {
    /// The tag the driver gave the request (`Request::id`).
    pub id: u64,
    /// Endpoint index.
    pub endpoint: u16,
    /// Variant index.
    pub variant: u16,
    /// When it was scheduled to be sent (latency is measured from here).
    pub sent_at: SimTime,
    /// From `sent_at` to the response (the timeout, for timeouts).
    pub latency_ns: u64,
    /// Time spent queued before an instance slot took it.
    pub queue_wait_ns: u64,
    /// How it ended.
    pub outcome: Outcome,
    /// Why.
    pub cause: Cause,
    /// Multi-model endpoints: whether the target model was loaded.
    pub cache: crate::mme::CacheUse,
    /// Multi-model endpoints: microseconds it waited for its model.
    pub model_wait_us: u32,
    /// Endpoints with features: what the lookup served.
    pub features: crate::features::FeatureUse,
}

/// Kinds of discrete platform event (rows of `events.csv`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A scheduled fault started.
    FaultInjected,
    /// A fault's `for` window ended.
    FaultCleared,
    /// An instance died.
    InstanceCrashed,
    /// A dead instance was taken out of routing and terminated.
    InstanceTerminated,
    /// A new instance was requested; it is provisioning.
    InstanceLaunched,
    /// An instance started serving.
    InstanceInService,
    /// A launch failed for want of capacity; it is retried.
    InstanceLaunchFailed,
    /// A scale-in took an instance out of routing; it finishes what it
    /// holds, then terminates.
    InstanceDraining,
    /// A CloudWatch alarm changed state.
    AlarmState,
    /// An Application Auto Scaling activity started, failed or ended.
    ScalingActivity,
    /// A multi-model instance loaded a model.
    ModelLoaded,
    /// A multi-model instance unloaded a model to make room.
    ModelUnloaded,
    /// A model's load failed.
    ModelLoadFailed,
}

impl EventKind {
    /// The name written to reports.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::FaultInjected => "fault_injected",
            EventKind::FaultCleared => "fault_cleared",
            EventKind::InstanceCrashed => "instance_crashed",
            EventKind::InstanceTerminated => "instance_terminated",
            EventKind::InstanceLaunched => "instance_launched",
            EventKind::InstanceInService => "instance_in_service",
            EventKind::InstanceLaunchFailed => "instance_launch_failed",
            EventKind::InstanceDraining => "instance_draining",
            EventKind::AlarmState => "alarm_state",
            EventKind::ScalingActivity => "scaling_activity",
            EventKind::ModelLoaded => "model_loaded",
            EventKind::ModelUnloaded => "model_unloaded",
            EventKind::ModelLoadFailed => "model_load_failed",
        }
    }
}

/// A discrete event on the platform's timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct PlatformEvent {
    /// When it happened.
    pub at: SimTime,
    /// What happened.
    pub kind: EventKind,
    /// Endpoint index.
    pub endpoint: u16,
    /// Variant index, where one applies.
    pub variant: Option<u16>,
    /// Instance id, where one applies.
    pub instance: Option<u32>,
    /// Human-readable detail.
    pub detail: String,
}

/// A snapshot of one variant's fleet and queues.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VariantGauge {
    /// Endpoint index.
    pub endpoint: u16,
    /// Variant index.
    pub variant: u16,
    /// Instances serving traffic now (dead ones excluded at once, and
    /// draining ones).
    pub instances_in_service: u32,
    /// Requests queued now, over all instances.
    pub queue_depth: u32,
    /// Largest queue depth since the previous snapshot.
    pub max_queue_depth: u32,
    /// Requests in service now.
    pub busy_slots: u32,
    /// `DesiredInstanceCount` now.
    pub desired: u32,
    /// Launched, not yet serving.
    pub provisioning: u32,
    /// Out of routing, finishing their requests.
    pub draining: u32,
    /// The first scaling policy's metric at its alarm's last evaluation
    /// (the newest datapoint), with autoscaling.
    pub policy_metric: Option<f64>,
    /// Multi-model variants: models loaded now, summed over instances.
    pub loaded_models: Option<u32>,
}

/// What one variant's fleet cost over the run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VariantCost {
    /// Endpoint index.
    pub endpoint: u16,
    /// Variant index.
    pub variant: u16,
    /// Instance lifetime billed, summed over instances, seconds.
    pub instance_seconds: f64,
    /// Instance lifetime × hourly price, US dollars.
    pub cost_usd: f64,
}

/// What the driver must do to a real process. The platform decides; the
/// driver only carries it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start the model server of an instance of a real-model variant, and
    /// report it healthy once it answers `GET /ping`.
    StartModelServer {
        /// Instance id.
        instance: u32,
        /// Endpoint index.
        endpoint: u16,
        /// Variant index.
        variant: u16,
    },
    /// The instance crashed or was terminated: stop its model server.
    StopModelServer {
        /// Instance id.
        instance: u32,
    },
    /// Multi-model variant with a real container: load model `model`
    /// into the container of `instance` (`POST /models`), then report
    /// through `Platform::handle_model_load`. Loads and unloads of one
    /// instance are carried out in the order they are asked for.
    LoadModel {
        /// Instance id.
        instance: u32,
        /// Endpoint index.
        endpoint: u16,
        /// Variant index.
        variant: u16,
        /// Model index in the variant's models.
        model: u32,
    },
    /// Multi-model variant with a real container: unload model `model`
    /// from the container of `instance` (`DELETE /models/{name}`), then
    /// report its time through `Platform::handle_model_unload`.
    UnloadModel {
        /// Instance id.
        instance: u32,
        /// Endpoint index.
        endpoint: u16,
        /// Variant index.
        variant: u16,
        /// Model index in the variant's models.
        model: u32,
    },
    /// Start, signal or kill a training job's process.
    Training(crate::training::TrainingAction),
}

/// What a multi-model container answered a load (`POST /models`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelLoadAnswer {
    /// 200: the model is loaded.
    Loaded,
    /// 409: it was loaded already; SageMaker takes it as loaded.
    AlreadyLoaded,
    /// 507: the container is short of memory. The platform unloads the
    /// least recently used model no request is using and asks again; with
    /// none to unload, the load fails.
    OutOfMemory,
    /// Any other answer, or none: the load failed.
    Failed,
}
