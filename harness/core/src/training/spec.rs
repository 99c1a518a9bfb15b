//! What a scenario says about its training jobs, and the statuses
//! SageMaker reports for them.

use std::time::Duration;

use crate::spec::InstanceTypeSpec;

/// A spot market for one instance type.
#[derive(Clone, Debug, PartialEq)]
pub struct SpotMarketSpec {
    /// Mean time between interruptions of one instance; `None`: never
    /// interrupted by the market (scheduled faults still apply).
    pub mtbi: Option<Duration>,
    /// Shortest wait for spot capacity.
    pub capacity_wait_min: Duration,
    /// Longest wait for spot capacity.
    pub capacity_wait_max: Duration,
    /// Spot price ÷ on-demand price.
    pub price_ratio: f64,
    /// Time from the interruption notice to the reclaim (EC2: 2 minutes).
    pub notice: Duration,
}

/// What a job has to compute.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainingWork {
    /// `steps` steps of `step_time` each on this job's fleet.
    Modelled {
        /// Steps to train.
        steps: u64,
        /// Time one step takes on the job's instances.
        step_time: Duration,
    },
    /// A real process decides when it is done (wall clock only).
    External,
}

/// One training job.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingJobSpec {
    /// Job name.
    pub name: String,
    /// Instance type.
    pub instance: InstanceTypeSpec,
    /// Instances (data-parallel).
    pub instance_count: u32,
    /// Managed spot training.
    pub spot: bool,
    /// Longest training time (`MaxRuntimeInSeconds`).
    pub max_run: Duration,
    /// Longest time from creation to the end, waits included
    /// (`MaxWaitTimeInSeconds`, spot only).
    pub max_wait: Option<Duration>,
    /// Compute time between checkpoints; `None`: no checkpoints.
    pub checkpoint_every: Option<Duration>,
    /// Time to write one checkpoint (training pauses meanwhile).
    pub checkpoint_cost: Duration,
    /// Write a checkpoint when the spot notice arrives, if it fits.
    pub checkpoint_on_notice: bool,
    /// Time to download data and image at each (re)start.
    pub download: Duration,
    /// Time to upload the model at the end.
    pub upload: Duration,
    /// SIGTERM-to-SIGKILL grace when `max_run`/`max_wait` stop a real
    /// process (SageMaker allows 120 s).
    pub stop_grace: Duration,
    /// The work.
    pub work: TrainingWork,
    /// The spot market of the instance type.
    pub market: SpotMarketSpec,
}

/// A scheduled spot interruption: the spot instances under its jobs are
/// reclaimed, with notice now and the reclaim after the notice window.
/// (Capacity shortages hit a whole instance type, endpoints too: see
/// [`crate::capacity::ShortageSpec`].)
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingFaultSpec {
    /// When it starts.
    pub at: Duration,
    /// Jobs it hits (indices).
    pub jobs: Vec<usize>,
}

/// All training of a scenario.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainingSpec {
    /// Jobs, all created at time zero.
    pub jobs: Vec<TrainingJobSpec>,
    /// Scheduled faults.
    pub faults: Vec<TrainingFaultSpec>,
}

/// `TrainingJobStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    /// Running or waiting.
    InProgress,
    /// Finished and uploaded.
    Completed,
    /// Failed.
    Failed,
    /// Stopped (by `max_run`, `max_wait`, or the run's end).
    Stopped,
}

impl JobStatus {
    /// SageMaker's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::InProgress => "InProgress",
            JobStatus::Completed => "Completed",
            JobStatus::Failed => "Failed",
            JobStatus::Stopped => "Stopped",
        }
    }
}

/// `SecondaryStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecondaryStatus {
    /// Waiting for (spot) capacity and launching instances.
    Starting,
    /// Downloading data and image.
    Downloading,
    /// Training.
    Training,
    /// The spot instances were reclaimed.
    Interrupted,
    /// Waiting for capacity again after an interruption.
    Restarting,
    /// Uploading the model.
    Uploading,
    /// Done.
    Completed,
    /// `max_run` reached.
    MaxRuntimeExceeded,
    /// `max_wait` reached.
    MaxWaitTimeExceeded,
    /// Stopped from outside (the run ended first).
    Stopped,
    /// Failed.
    Failed,
}

impl SecondaryStatus {
    /// SageMaker's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SecondaryStatus::Starting => "Starting",
            SecondaryStatus::Downloading => "Downloading",
            SecondaryStatus::Training => "Training",
            SecondaryStatus::Interrupted => "Interrupted",
            SecondaryStatus::Restarting => "Restarting",
            SecondaryStatus::Uploading => "Uploading",
            SecondaryStatus::Completed => "Completed",
            SecondaryStatus::MaxRuntimeExceeded => "MaxRuntimeExceeded",
            SecondaryStatus::MaxWaitTimeExceeded => "MaxWaitTimeExceeded",
            SecondaryStatus::Stopped => "Stopped",
            SecondaryStatus::Failed => "Failed",
        }
    }
}
