//! Walker's alias method (Vose's construction): a draw from a fixed
//! discrete distribution in constant time, one table lookup, however many
//! records a group has. A binary search over 100,000 cumulative weights
//! costs a dozen cache misses per lookup; this costs one.

use rand::Rng;

use crate::dist::unit;

/// One column of the table: keep this index with probability `keep`,
/// else take `alias`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Column {
    keep: f64,
    alias: u32,
}

/// A distribution over `0..n` in alias form.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AliasTable {
    columns: Vec<Column>,
}

impl AliasTable {
    /// The table for these weights (at least one, all finite and
    /// non-negative, not all zero).
    pub fn new(weights: &[f64]) -> Self {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut columns = vec![
            Column {
                keep: 1.0,
                alias: 0
            };
            n
        ];
        let (mut small, mut large): (Vec<u32>, Vec<u32>) =
            (0..n as u32).partition(|&i| scaled[i as usize] < 1.0);
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            columns[s as usize] = Column {
                keep: scaled[s as usize],
                alias: l,
            };
            scaled[l as usize] -= 1.0 - scaled[s as usize];
            if scaled[l as usize] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // What is left is 1 up to rounding.
        for i in small.into_iter().chain(large) {
            columns[i as usize] = Column {
                keep: 1.0,
                alias: i,
            };
        }
        AliasTable { columns }
    }

    /// Draws an index: one uniform picks the column and, from its
    /// fraction, whether to keep it.
    #[inline]
    pub fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        let n = self.columns.len();
        let x = unit(rng) * n as f64;
        let i = (x as usize).min(n - 1);
        let c = self.columns[i];
        if x - (i as f64) < c.keep {
            i as u32
        } else {
            c.alias
        }
    }

    /// Warms the column the next [`AliasTable::pick`] from `rng` will
    /// read: the draw is made on a copy, so the stream is untouched and
    /// the pick itself finds its column in the CPU cache instead of
    /// waiting on memory (a table of 100,000 records does not fit in L2).
    #[inline]
    pub fn prefetch_next<R: Rng + Clone>(&self, rng: &R) {
        let n = self.columns.len();
        let x = unit(&mut rng.clone()) * n as f64;
        let i = (x as usize).min(n - 1);
        crate::prefetch::prefetch(&self.columns[i]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mme::ModelMix;
    use crate::rng::RngStreams;

    #[test]
    fn zipf_draws_land_at_their_shares() {
        let weights = ModelMix::zipf_weights(50, 1.0);
        let total: f64 = weights.iter().sum();
        let t = AliasTable::new(&weights);
        let mut rng = RngStreams::new(9).stream("alias");
        let n = 400_000;
        let mut counts = [0u32; 50];
        for _ in 0..n {
            counts[t.pick(&mut rng) as usize] += 1;
        }
        for (i, (&c, w)) in counts.iter().zip(&weights).enumerate() {
            let p = w / total;
            let sd = (p * (1.0 - p) / n as f64).sqrt();
            let got = f64::from(c) / n as f64;
            assert!(
                (got - p).abs() < 5.0 * sd + 1e-9,
                "record {i}: {got} vs {p}"
            );
        }
    }

    #[test]
    fn equal_weights_and_a_single_record() {
        let t = AliasTable::new(&[1.0; 4]);
        assert!(t.columns.iter().all(|c| c.keep == 1.0));
        let one = AliasTable::new(&[3.0]);
        let mut rng = RngStreams::new(1).stream("alias");
        assert!((0..100).all(|_| one.pick(&mut rng) == 0));
    }
}
