//! Which model each request targets: a draw from the models' popularity,
//! shared by the simulator and the load generator so both send the same
//! stream for a seed.

use rand::Rng;

use crate::dist::unit;

/// The models' popularity as cumulative weights.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelMix {
    cumulative: Vec<f64>,
}

impl ModelMix {
    /// A mix of models with these weights (in model order).
    pub fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut acc = 0.0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                acc += w.max(0.0);
                acc
            })
            .collect();
        ModelMix { cumulative }
    }

    /// Zipf weights `1 / (i + 1)^alpha` for `n` models, the most popular
    /// first.
    pub fn zipf_weights(n: usize, alpha: f64) -> Vec<f64> {
        if alpha == 1.0 {
            // The common case, without a `pow` per record: x^-1 and 1/x
            // are both correctly rounded, so the weights are the same.
            return (0..n).map(|i| 1.0 / (i + 1) as f64).collect();
        }
        (0..n).map(|i| ((i + 1) as f64).powf(-alpha)).collect()
    }

    /// Each model's share of requests.
    pub fn probabilities(&self) -> Vec<f64> {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let mut prev = 0.0;
        self.cumulative
            .iter()
            .map(|&c| {
                let p = (c - prev) / total;
                prev = c;
                p
            })
            .collect()
    }

    /// Draws a model index.
    #[inline]
    pub fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        let n = self.cumulative.len();
        let u = unit(rng) * self.cumulative[n - 1];
        self.cumulative.partition_point(|&c| c <= u).min(n - 1) as u32
    }
}
