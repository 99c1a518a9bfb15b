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
    /// A real container answered 404 (not loaded) once already: the
    /// model was loaded again for it.
    pub retried: bool,
    /// The request's feature lookup, once its container made it.
    pub features: crate::features::FeatureUse,
    /// The model failed the request (its variant's `error_rate`).
    pub model_failed: bool,
}

impl ModelTag {
    /// Not a multi-model request.
    pub const NONE: ModelTag = ModelTag {
        model: u32::MAX,
        cache: CacheUse::NotMultiModel,
        wait_us: 0,
        retried: false,
        features: crate::features::FeatureUse::NONE,
        model_failed: false,
    };
    /// The sentinel model index of a single-model request.
    pub const NO_MODEL: u32 = u32::MAX;
}

impl Default for ModelTag {
    fn default() -> Self {
        ModelTag::NONE
    }
}

/// The Che approximation of an LRU cache's hit ratio under the
/// independent reference model, the analytic reference the cache is
/// checked against: `q` holds each object's share of requests, `c` how
/// many objects fit. The characteristic time `T` solves
/// Σ(1 − e^(−qᵢT)) = C (by bisection); the hit ratio is
/// Σ qᵢ(1 − e^(−qᵢT)). (Che, Tung and Wang, IEEE JSAC 20(7), 2002;
/// Fricker, Robert and Roberts, ITC 24, 2012.)
pub fn che_hit_ratio(q: &[f64], c: f64) -> f64 {
    let filled = |t: f64| q.iter().map(|&qi| 1.0 - (-qi * t).exp()).sum::<f64>();
    if c >= q.len() as f64 {
        return 1.0;
    }
    let (mut lo, mut hi) = (0.0, 1.0);
    while filled(hi) < c {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if filled(mid) < c {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    q.iter().map(|&qi| qi * (1.0 - (-qi * lo).exp())).sum()
}

#[cfg(test)]
mod external_tests;
#[cfg(test)]
mod tests;
