//! What a multi-model variant serves and what its instances hold.

use std::time::Duration;

/// How long InvokeEndpoint waits for a model to load before it answers
/// `ModelNotReadyException` (429); the load goes on.
pub const WAIT_LIMIT: Duration = Duration::from_secs(60);
/// How long a load may go on before it fails.
pub const LOAD_LIMIT: Duration = Duration::from_secs(360);

/// One model of a multi-model variant.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelEntry {
    /// `TargetModel` name.
    pub name: String,
    /// Artifact size, bytes: what it takes on disk and in memory.
    pub size_bytes: u64,
    /// Share of requests, relative to the other models' weights.
    pub weight: f64,
    /// Load time if given; otherwise size over the load rate.
    pub load_time: Option<Duration>,
    /// Its service time relative to the variant's distribution (1: the
    /// distribution as it is).
    pub service_scale: f64,
}

/// A multi-model variant: its models and each instance's room for them.
#[derive(Clone, Debug, PartialEq)]
pub struct MultiModelSpec {
    /// The models, most popular first where generated.
    pub models: Vec<ModelEntry>,
    /// Memory for loaded models on one instance, bytes.
    pub memory_bytes: u64,
    /// Disk for downloaded models on one instance, bytes.
    pub disk_bytes: u64,
    /// Download bandwidth from S3, bytes per second.
    pub download_bytes_per_s: f64,
    /// Load rate into memory, bytes per second.
    pub load_bytes_per_s: f64,
    /// Time to unload one model.
    pub unload_time: Duration,
    /// Wait before `ModelNotReadyException` ([`WAIT_LIMIT`] unless compressed).
    pub wait_limit: Duration,
    /// Longest load ([`LOAD_LIMIT`] unless compressed).
    pub load_limit: Duration,
}

impl MultiModelSpec {
    /// Download time of model `m` at full bandwidth, nanoseconds.
    pub fn download_ns(&self, m: usize, slowdown: f64) -> u64 {
        let secs = self.models[m].size_bytes as f64 / self.download_bytes_per_s * slowdown;
        crate::time::secs_to_nanos(secs)
    }

    /// Load time of model `m`, nanoseconds.
    pub fn load_ns(&self, m: usize) -> u64 {
        let model = &self.models[m];
        match model.load_time {
            Some(d) => crate::time::duration_nanos(d),
            None => crate::time::secs_to_nanos(model.size_bytes as f64 / self.load_bytes_per_s),
        }
    }
}
