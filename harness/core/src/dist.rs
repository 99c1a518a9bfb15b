//! Service-time distributions.
//!
//! A model's latency is given on the reference instance type and scaled by
//! the serving instance type's relative speed. All values are seconds.

use rand::Rng;
use rand_distr::{Distribution, Exp1, StandardNormal};
use thiserror::Error;

/// z-score of the 99th percentile of the standard normal distribution.
const Z_P99: f64 = 2.326_347_874_040_841;

/// Why a distribution could not be built.
#[derive(Debug, Error, PartialEq)]
pub enum DistError {
    /// A parameter was zero, negative or not finite.
    #[error("{0} must be a positive, finite number of seconds")]
    NotPositive(&'static str),
    /// The 99th percentile was below the median.
    #[error("p99 ({p99}s) is below p50 ({p50}s)")]
    P99BelowP50 {
        /// The median given.
        p50: f64,
        /// The 99th percentile given.
        p99: f64,
    },
    /// An empirical histogram had no positive weight.
    #[error("empirical distribution has no rows with positive weight")]
    EmptyEmpirical,
}

/// A distribution of service times, in seconds.
#[derive(Clone, Debug, PartialEq)]
pub enum ServiceDist {
    /// Always the same value.
    Constant {
        /// The service time.
        secs: f64,
    },
    /// Exponential with the given mean (memoryless; M/M/c checks use it).
    Exponential {
        /// Mean service time.
        mean: f64,
    },
    /// Log-normal: `exp(mu + sigma * Z)`.
    LogNormal {
        /// Mean of the underlying normal (ln of the median).
        mu: f64,
        /// Standard deviation of the underlying normal.
        sigma: f64,
    },
    /// Discrete values with weights, as read from a histogram file.
    Empirical {
        /// Cumulative weights, normalised so the last is 1.
        cumulative: Vec<f64>,
        /// The value of each row, seconds.
        values: Vec<f64>,
    },
}

fn positive(name: &'static str, v: f64) -> Result<f64, DistError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(DistError::NotPositive(name))
    }
}

impl ServiceDist {
    /// A log-normal fitted to a median and a 99th percentile.
    pub fn lognormal_from_p50_p99(p50: f64, p99: f64) -> Result<Self, DistError> {
        let p50 = positive("p50", p50)?;
        let p99 = positive("p99", p99)?;
        if p99 < p50 {
            return Err(DistError::P99BelowP50 { p50, p99 });
        }
        Ok(ServiceDist::LogNormal {
            mu: p50.ln(),
            sigma: (p99 / p50).ln() / Z_P99,
        })
    }

    /// An exponential distribution with this mean.
    pub fn exponential(mean: f64) -> Result<Self, DistError> {
        Ok(ServiceDist::Exponential {
            mean: positive("mean", mean)?,
        })
    }

    /// A constant service time.
    pub fn constant(secs: f64) -> Result<Self, DistError> {
        if secs.is_finite() && secs >= 0.0 {
            Ok(ServiceDist::Constant { secs })
        } else {
            Err(DistError::NotPositive("value"))
        }
    }

    /// An empirical distribution from `(value_secs, weight)` rows.
    pub fn empirical(rows: &[(f64, f64)]) -> Result<Self, DistError> {
        let total: f64 = rows.iter().filter(|r| r.1 > 0.0).map(|r| r.1).sum();
        if !(total > 0.0 && total.is_finite()) {
            return Err(DistError::EmptyEmpirical);
        }
        let mut cumulative = Vec::new();
        let mut values = Vec::new();
        let mut acc = 0.0;
        for &(v, w) in rows.iter().filter(|r| r.1 > 0.0) {
            if !(v.is_finite() && v >= 0.0) {
                return Err(DistError::NotPositive("empirical value"));
            }
            acc += w;
            cumulative.push(acc / total);
            values.push(v);
        }
        if let Some(last) = cumulative.last_mut() {
            *last = 1.0;
        }
        Ok(ServiceDist::Empirical { cumulative, values })
    }

    /// The same distribution with every value multiplied by `factor`
    /// (an instance twice as fast has factor 0.5).
    pub fn scaled(&self, factor: f64) -> Self {
        match self {
            ServiceDist::Constant { secs } => ServiceDist::Constant {
                secs: secs * factor,
            },
            ServiceDist::Exponential { mean } => ServiceDist::Exponential {
                mean: mean * factor,
            },
            ServiceDist::LogNormal { mu, sigma } => ServiceDist::LogNormal {
                mu: mu + factor.ln(),
                sigma: *sigma,
            },
            ServiceDist::Empirical { cumulative, values } => ServiceDist::Empirical {
                cumulative: cumulative.clone(),
                values: values.iter().map(|v| v * factor).collect(),
            },
        }
    }

    /// Draws one service time in seconds.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            ServiceDist::Constant { secs } => *secs,
            ServiceDist::Exponential { mean } => {
                let e: f64 = Exp1.sample(rng);
                e * mean
            }
            ServiceDist::LogNormal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                (mu + sigma * z).exp()
            }
            ServiceDist::Empirical { cumulative, values } => {
                let u = unit(rng);
                let i = cumulative.partition_point(|&c| c < u);
                values[i.min(values.len() - 1)]
            }
        }
    }

    /// The `q`-quantile (`q` in `(0, 1)`), seconds: what a report shows as
    /// a variant's effective service time.
    pub fn quantile(&self, q: f64) -> f64 {
        let q = q.clamp(1e-12, 1.0 - 1e-12);
        match self {
            ServiceDist::Constant { secs } => *secs,
            ServiceDist::Exponential { mean } => -mean * (1.0 - q).ln(),
            ServiceDist::LogNormal { mu, sigma } => (mu + sigma * normal_quantile(q)).exp(),
            ServiceDist::Empirical { cumulative, values } => {
                let i = cumulative.partition_point(|&c| c < q);
                values[i.min(values.len() - 1)]
            }
        }
    }

    /// The distribution's mean, seconds.
    pub fn mean(&self) -> f64 {
        match self {
            ServiceDist::Constant { secs } => *secs,
            ServiceDist::Exponential { mean } => *mean,
            ServiceDist::LogNormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            ServiceDist::Empirical { cumulative, values } => {
                let mut prev = 0.0;
                cumulative
                    .iter()
                    .zip(values)
                    .map(|(&c, &v)| {
                        let p = c - prev;
                        prev = c;
                        p * v
                    })
                    .sum()
            }
        }
    }
}

/// The standard normal's quantile function (Acklam's rational
/// approximation, relative error below 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        let q = (-2.0 * q.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail(p)
    } else if p > 1.0 - 0.02425 {
        -tail(1.0 - p)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// A uniform draw in `[0, 1)` with 53 bits of precision.
#[inline]
pub fn unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_give_back_what_was_fitted() {
        assert!((normal_quantile(0.5)).abs() < 1e-9);
        assert!((normal_quantile(0.99) - 2.326_347_874).abs() < 1e-8);
        assert!((normal_quantile(0.01) + 2.326_347_874).abs() < 1e-8);
        let d = ServiceDist::lognormal_from_p50_p99(0.012, 0.045).unwrap();
        assert!((d.quantile(0.5) - 0.012).abs() < 1e-9);
        assert!((d.quantile(0.99) - 0.045).abs() < 1e-9);
        let e = ServiceDist::exponential(2.0).unwrap();
        assert!((e.quantile(0.5) - 2.0 * std::f64::consts::LN_2).abs() < 1e-12);
        assert_eq!(ServiceDist::constant(0.3).unwrap().quantile(0.99), 0.3);
    }
    use crate::rng::RngStreams;

    fn sample_sorted(d: &ServiceDist, n: usize) -> Vec<f64> {
        let mut rng = RngStreams::new(1).stream("dist-test");
        let mut v: Vec<f64> = (0..n).map(|_| d.sample(&mut rng)).collect();
        v.sort_by(f64::total_cmp);
        v
    }

    #[test]
    fn lognormal_hits_its_quantiles() {
        let d = ServiceDist::lognormal_from_p50_p99(0.012, 0.045).unwrap();
        let v = sample_sorted(&d, 200_000);
        let p50 = v[v.len() / 2];
        let p99 = v[v.len() * 99 / 100];
        assert!((p50 / 0.012 - 1.0).abs() < 0.01, "p50 {p50}");
        assert!((p99 / 0.045 - 1.0).abs() < 0.03, "p99 {p99}");
    }

    #[test]
    fn scaling_scales_quantiles_and_mean() {
        let d = ServiceDist::lognormal_from_p50_p99(0.010, 0.040).unwrap();
        let half = d.scaled(0.5);
        assert!((half.mean() / d.mean() - 0.5).abs() < 1e-12);
        let e = ServiceDist::exponential(2.0).unwrap().scaled(0.25);
        assert_eq!(e, ServiceDist::Exponential { mean: 0.5 });
    }

    #[test]
    fn exponential_mean_and_empirical_weights() {
        let d = ServiceDist::exponential(0.02).unwrap();
        let v = sample_sorted(&d, 200_000);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        assert!((mean / 0.02 - 1.0).abs() < 0.01, "mean {mean}");

        let e = ServiceDist::empirical(&[(0.01, 3.0), (0.05, 1.0), (9.0, 0.0)]).unwrap();
        assert!((e.mean() - (0.75 * 0.01 + 0.25 * 0.05)).abs() < 1e-12);
        let v = sample_sorted(&e, 100_000);
        let frac_fast = v.iter().filter(|&&x| x == 0.01).count() as f64 / v.len() as f64;
        assert!((frac_fast - 0.75).abs() < 0.01);
        assert!(!v.contains(&9.0), "zero-weight rows are never drawn");
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        assert_eq!(
            ServiceDist::lognormal_from_p50_p99(0.05, 0.01),
            Err(DistError::P99BelowP50 {
                p50: 0.05,
                p99: 0.01
            })
        );
        assert_eq!(
            ServiceDist::exponential(0.0),
            Err(DistError::NotPositive("mean"))
        );
        assert_eq!(
            ServiceDist::empirical(&[(1.0, 0.0)]),
            Err(DistError::EmptyEmpirical)
        );
        assert!(ServiceDist::constant(-1.0).is_err());
    }
}
