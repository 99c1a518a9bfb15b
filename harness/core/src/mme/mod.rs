//! Multi-model endpoints: the catalog of models a variant serves, the
//! per-instance model cache (memory and disk, least recently used first
//! out), and the popularity mix drivers draw each request's target model
//! from.
//!
//! gameday's assumptions, where AWS documents no rule: AWS says only that
//! SageMaker unloads "unused" models when memory runs short and deletes
//! "unused" files when the disk fills; gameday evicts the least recently
//! requested model that has no request waiting, queued or in service on
//! that instance (LRU), and deletes the least recently used file whose
//! model is not being loaded. A load waits for the unloads that make room
//! for it (one after another, as one container does them) and for its
//! download, which runs meanwhile; then it loads for `size ÷ load rate`
//! (or the model's own load time).

mod cache;
mod mix;
mod spec;

pub use cache::{CacheLookup, ModelCache, ModelMem};
pub use mix::ModelMix;
pub use spec::{ModelEntry, MultiModelSpec, LOAD_LIMIT, WAIT_LIMIT};

/// How a request of a multi-model endpoint found its target model on the
/// instance it was routed to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CacheUse {
    /// Not a multi-model request.
    #[default]
    NotMultiModel,
    /// The model was loaded (`ModelCacheHit` = 1).
    Hit,
    /// It was not: the request waited for a download and/or load
    /// (`ModelCacheHit` = 0).
    Miss,
}

/// What a request of a multi-model endpoint carries through the
/// platform: its target model and how it found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelTag {
    /// Model index, or [`ModelTag::NO_MODEL`].
    pub model: u32,
    /// Hit or miss.
    pub cache: CacheUse,
    /// Microseconds waited for the model (misses).
    pub wait_us: u32,
}

impl ModelTag {
    /// Not a multi-model request.
    pub const NONE: ModelTag = ModelTag {
        model: u32::MAX,
        cache: CacheUse::NotMultiModel,
        wait_us: 0,
    };
    /// The sentinel model index of a single-model request.
    pub const NO_MODEL: u32 = u32::MAX;
}

impl Default for ModelTag {
    fn default() -> Self {
        ModelTag::NONE
    }
}

#[cfg(test)]
mod tests;
