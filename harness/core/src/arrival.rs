//! Arrival processes: when requests are *scheduled* to be sent.
//!
//! Both clocks draw intended send times from here, so a shape means the same
//! thing in a simulation and in a live load test. Rates are requests per
//! second. Every shaped process except `diurnal` is a non-homogeneous Poisson
//! process whose rate is piecewise linear in time; the next arrival is found
//! exactly by inverting the cumulative rate (no rejection sampling), so a
//! spike from 10 to 10,000 req/s costs the same per request as a flat rate.

use std::f64::consts::TAU;
use std::sync::Arc;

use rand::Rng;
use rand_distr::{Distribution, Exp1};

use crate::dist::unit;
use crate::time::SimTime;

/// The shape of an arrival process, as given in a scenario.
#[derive(Clone, Debug, PartialEq)]
pub enum ArrivalSpec {
    /// Evenly spaced requests, `rate` per second (no randomness).
    Constant {
        /// Requests per second.
        rate: f64,
    },
    /// Poisson arrivals at a fixed rate.
    Poisson {
        /// Requests per second.
        rate: f64,
    },
    /// Poisson arrivals whose rate moves linearly from `from` to `to` over
    /// `over` seconds, then holds at `to`.
    Ramp {
        /// Rate at time zero.
        from: f64,
        /// Rate from `over` seconds on.
        to: f64,
        /// Length of the ramp, seconds.
        over: f64,
    },
    /// Poisson arrivals with piecewise-constant rates: `(start_secs, rate)`,
    /// sorted by start; the rate before the first step is zero.
    Steps {
        /// `(start_secs, rate)` pairs.
        steps: Vec<(f64, f64)>,
    },
    /// Poisson at `base`, jumping to `peak` between `at` and `at + duration`.
    Spike {
        /// Rate outside the spike.
        base: f64,
        /// Rate during the spike.
        peak: f64,
        /// When the spike starts, seconds.
        at: f64,
        /// How long it lasts, seconds.
        duration: f64,
    },
    /// Poisson with a daily cycle:
    /// `rate(t) = mean * (1 + amplitude * cos(2π (t - peak_at) / period))`.
    Diurnal {
        /// Mean rate over a period.
        mean: f64,
        /// Relative swing, in `[0, 1]`.
        amplitude: f64,
        /// Cycle length, seconds (a day is 86,400).
        period: f64,
        /// Time of the peak within the cycle, seconds.
        peak_at: f64,
    },
    /// Replay of recorded send times (seconds from the start, sorted).
    Trace {
        /// Offsets of each request, seconds.
        times: Arc<[f64]>,
    },
    /// Closed loop: `users` clients, each sending its next request a
    /// think time (exponential, mean `think_time` seconds) after its last
    /// answer. The arrival process gives each user's first send (spread
    /// evenly over one mean think time); drivers
    /// schedule the rest from answers with [`ArrivalSpec::think`].
    Users {
        /// Concurrent users.
        users: u32,
        /// Mean think time between an answer and the next request, seconds.
        think_time: f64,
    },
}

impl ArrivalSpec {
    /// The same traffic shape with its time axis compressed `x`-fold
    /// (the wall clock's `time_scale`): ramps, steps, spikes, cycles and
    /// trace offsets happen `x` times sooner, while every *rate* stays as
    /// written, so the load a target sees at any moment is real.
    pub fn compress_time(&self, x: f64) -> ArrivalSpec {
        match self {
            ArrivalSpec::Constant { .. }
            | ArrivalSpec::Poisson { .. }
            | ArrivalSpec::Users { .. } => self.clone(),
            ArrivalSpec::Ramp { from, to, over } => ArrivalSpec::Ramp {
                from: *from,
                to: *to,
                over: over / x,
            },
            ArrivalSpec::Steps { steps } => ArrivalSpec::Steps {
                steps: steps.iter().map(|&(t, r)| (t / x, r)).collect(),
            },
            ArrivalSpec::Spike {
                base,
                peak,
                at,
                duration,
            } => ArrivalSpec::Spike {
                base: *base,
                peak: *peak,
                at: at / x,
                duration: duration / x,
            },
            ArrivalSpec::Diurnal {
                mean,
                amplitude,
                period,
                peak_at,
            } => ArrivalSpec::Diurnal {
                mean: *mean,
                amplitude: *amplitude,
                period: period / x,
                peak_at: peak_at / x,
            },
            // A trace is a list of send times, not a rate: compressing its
            // clock keeps every request, x times closer together. Keep
            // only the first 1/x of it instead so the rate stays real.
            ArrivalSpec::Trace { times } => {
                let horizon = times.last().copied().unwrap_or(0.0) / x;
                ArrivalSpec::Trace {
                    times: times.iter().copied().filter(|&t| t <= horizon).collect(),
                }
            }
        }
    }

    /// True for closed-loop (`users`) traffic.
    pub fn is_closed_loop(&self) -> bool {
        matches!(self, ArrivalSpec::Users { .. })
    }

    /// A user's think time before its next request, nanoseconds
    /// (closed loop only; `None` for open-loop specs).
    pub fn think<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<u64> {
        match self {
            ArrivalSpec::Users { think_time, .. } => {
                let e: f64 = Exp1.sample(rng);
                Some(crate::time::secs_to_nanos(e * think_time.max(0.0)))
            }
            _ => None,
        }
    }

    /// The highest rate the process reaches in `[0, horizon]` seconds,
    /// requests per second (for sizing and checks; for a trace, its
    /// busiest second).
    pub fn peak_rate(&self, horizon: f64) -> f64 {
        match self {
            ArrivalSpec::Constant { rate } | ArrivalSpec::Poisson { rate } => *rate,
            ArrivalSpec::Ramp { from, to, .. } => from.max(*to),
            ArrivalSpec::Steps { steps } => steps
                .iter()
                .filter(|(t, _)| *t < horizon)
                .map(|&(_, r)| r)
                .fold(0.0, f64::max),
            ArrivalSpec::Spike { base, peak, .. } => base.max(*peak),
            ArrivalSpec::Diurnal {
                mean, amplitude, ..
            } => mean * (1.0 + amplitude),
            ArrivalSpec::Trace { times } => {
                let mut best = 0usize;
                let mut lo = 0usize;
                for (hi, &t) in times.iter().enumerate() {
                    while times[lo] <= t - 1.0 {
                        lo += 1;
                    }
                    best = best.max(hi + 1 - lo);
                }
                best as f64
            }
            ArrivalSpec::Users { .. } => self.mean_rate(horizon),
        }
    }

    /// The mean rate over `[0, horizon]` seconds (for sizing and checks).
    /// For closed-loop users it is an upper bound: every user sending
    /// back-to-back with zero latency.
    pub fn mean_rate(&self, horizon: f64) -> f64 {
        match self {
            ArrivalSpec::Users { users, think_time } => f64::from(*users) / think_time.max(1e-3),
            ArrivalSpec::Constant { rate } | ArrivalSpec::Poisson { rate } => *rate,
            ArrivalSpec::Diurnal { mean, .. } => *mean,
            ArrivalSpec::Trace { times } => {
                times.iter().filter(|&&t| t < horizon).count() as f64
                    / horizon.max(f64::MIN_POSITIVE)
            }
            other => {
                let p = Profile::of(other).expect("shaped spec has a profile");
                p.integral(0.0, horizon) / horizon.max(f64::MIN_POSITIVE)
            }
        }
    }

    /// The same shape with every rate multiplied by `factor` (used to split
    /// load across shards). Traces are thinned by keeping a `factor` share.
    pub fn scaled(&self, factor: f64) -> ArrivalSpec {
        match self {
            ArrivalSpec::Constant { rate } => ArrivalSpec::Constant {
                rate: rate * factor,
            },
            ArrivalSpec::Poisson { rate } => ArrivalSpec::Poisson {
                rate: rate * factor,
            },
            ArrivalSpec::Ramp { from, to, over } => ArrivalSpec::Ramp {
                from: from * factor,
                to: to * factor,
                over: *over,
            },
            ArrivalSpec::Steps { steps } => ArrivalSpec::Steps {
                steps: steps.iter().map(|&(t, r)| (t, r * factor)).collect(),
            },
            ArrivalSpec::Spike {
                base,
                peak,
                at,
                duration,
            } => ArrivalSpec::Spike {
                base: base * factor,
                peak: peak * factor,
                at: *at,
                duration: *duration,
            },
            ArrivalSpec::Diurnal {
                mean,
                amplitude,
                period,
                peak_at,
            } => ArrivalSpec::Diurnal {
                mean: mean * factor,
                amplitude: *amplitude,
                period: *period,
                peak_at: *peak_at,
            },
            ArrivalSpec::Trace { times } => ArrivalSpec::Trace {
                times: times.clone(),
            },
            ArrivalSpec::Users { users, think_time } => ArrivalSpec::Users {
                users: ((f64::from(*users) * factor).round() as u32).max(1),
                think_time: *think_time,
            },
        }
    }
}

/// A piecewise-linear rate profile: points `(t, rate)` sorted by `t`, the
/// first at `t = 0`; two points at the same `t` make a jump; the last rate
/// holds forever.
#[derive(Clone, Debug)]
struct Profile {
    points: Vec<(f64, f64)>,
}

impl Profile {
    fn of(spec: &ArrivalSpec) -> Option<Profile> {
        let points = match spec {
            ArrivalSpec::Poisson { rate } => vec![(0.0, *rate)],
            ArrivalSpec::Ramp { from, to, over } => vec![(0.0, *from), (over.max(0.0), *to)],
            ArrivalSpec::Steps { steps } => {
                let mut pts = vec![(0.0, 0.0)];
                for &(t, r) in steps {
                    let prev = pts.last().map_or(0.0, |p| p.1);
                    pts.push((t.max(0.0), prev));
                    pts.push((t.max(0.0), r));
                }
                pts
            }
            ArrivalSpec::Spike {
                base,
                peak,
                at,
                duration,
            } => vec![
                (0.0, *base),
                (*at, *base),
                (*at, *peak),
                (at + duration, *peak),
                (at + duration, *base),
            ],
            _ => return None,
        };
        Some(Profile { points })
    }

    /// Rate and slope of segment `i` (from point `i` to `i + 1`).
    fn segment(&self, i: usize) -> (f64, f64, f64, f64) {
        let (t0, r0) = self.points[i];
        match self.points.get(i + 1) {
            Some(&(t1, r1)) if t1 > t0 => (t0, t1, r0, (r1 - r0) / (t1 - t0)),
            Some(&(t1, _)) => (t0, t1, r0, 0.0),
            None => (t0, f64::INFINITY, r0, 0.0),
        }
    }

    fn integral(&self, a: f64, b: f64) -> f64 {
        let mut total = 0.0;
        for i in 0..self.points.len() {
            let (t0, t1, r0, k) = self.segment(i);
            let lo = a.max(t0);
            let hi = b.min(t1);
            if hi > lo {
                let r_lo = r0 + k * (lo - t0);
                let len = hi - lo;
                total += r_lo * len + 0.5 * k * len * len;
            }
        }
        total
    }

    /// The time `x >= from` at which the integral of the rate from `from`
    /// reaches `work`, starting the search at segment `*cursor`.
    fn advance(&self, cursor: &mut usize, from: f64, mut work: f64) -> Option<f64> {
        let mut s = from;
        while *cursor < self.points.len() {
            let (t0, t1, r0, k) = self.segment(*cursor);
            if s >= t1 {
                *cursor += 1;
                continue;
            }
            s = s.max(t0);
            let r_s = (r0 + k * (s - t0)).max(0.0);
            if t1.is_infinite() {
                return (r_s > 0.0).then(|| s + work / r_s);
            }
            let len = t1 - s;
            let area = r_s * len + 0.5 * k * len * len;
            if area >= work {
                // Solve r_s x + k/2 x² = work in its cancellation-free form.
                let disc = (r_s * r_s + 2.0 * k * work).max(0.0);
                let denom = r_s + disc.sqrt();
                let x = if denom > 0.0 { 2.0 * work / denom } else { len };
                return Some(s + x.min(len));
            }
            work -= area;
            s = t1;
            *cursor += 1;
        }
        None
    }
}

/// A running arrival process: yields intended send times in order.
#[derive(Clone, Debug)]
pub struct ArrivalProcess {
    spec: ArrivalSpec,
    profile: Option<Profile>,
    cursor: usize,
    last: f64,
    count: u64,
}

impl ArrivalProcess {
    /// A process that starts at time zero.
    pub fn new(spec: ArrivalSpec) -> Self {
        ArrivalProcess {
            profile: Profile::of(&spec),
            spec,
            cursor: 0,
            last: 0.0,
            count: 0,
        }
    }

    /// The next intended send time, or `None` when the process has ended
    /// (a trace ran out, or the rate dropped to zero for good).
    pub fn next_arrival<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Option<SimTime> {
        let t = match &self.spec {
            ArrivalSpec::Constant { rate } => {
                if *rate <= 0.0 {
                    return None;
                }
                // Computed from the count, not accumulated, so no drift.
                self.count as f64 / rate
            }
            ArrivalSpec::Trace { times } => *times.get(self.count as usize)?,
            // Users start evenly spread over one mean think time.
            ArrivalSpec::Users { users, think_time } => {
                if self.count >= u64::from(*users) {
                    return None;
                }
                let t = self.count as f64 * think_time.max(0.0) / f64::from(*users);
                self.count += 1;
                return Some(SimTime::from_nanos(crate::time::secs_to_nanos(t)));
            }
            ArrivalSpec::Diurnal {
                mean,
                amplitude,
                period,
                peak_at,
            } => {
                let max = mean * (1.0 + amplitude);
                if max <= 0.0 {
                    return None;
                }
                let mut t = self.last;
                loop {
                    let e: f64 = Exp1.sample(rng);
                    t += e / max;
                    let rate = mean * (1.0 + amplitude * (TAU * (t - peak_at) / period).cos());
                    if unit(rng) * max < rate {
                        break t;
                    }
                }
            }
            _ => {
                let e: f64 = Exp1.sample(rng);
                let profile = self.profile.as_ref().expect("shaped spec has a profile");
                profile.advance(&mut self.cursor, self.last, e)?
            }
        };
        self.last = t;
        self.count += 1;
        Some(SimTime::from_secs_f64(t))
    }

    /// How many arrivals have been drawn so far.
    pub fn drawn(&self) -> u64 {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::RngStreams;

    fn count_in(spec: ArrivalSpec, a: f64, b: f64) -> usize {
        let mut rng = RngStreams::new(3).stream("arrival-test");
        let mut p = ArrivalProcess::new(spec);
        let mut n = 0;
        while let Some(t) = p.next_arrival(&mut rng) {
            let t = t.as_secs_f64();
            if t >= b {
                break;
            }
            if t >= a {
                n += 1;
            }
        }
        n
    }

    fn close(actual: usize, expected: f64) -> bool {
        // Within 4 standard deviations of a Poisson count.
        (actual as f64 - expected).abs() <= 4.0 * expected.sqrt() + 1.0
    }

    #[test]
    fn constant_is_evenly_spaced() {
        let mut rng = RngStreams::new(1).stream("x");
        let mut p = ArrivalProcess::new(ArrivalSpec::Constant { rate: 4.0 });
        let ts: Vec<u64> = (0..5)
            .map(|_| p.next_arrival(&mut rng).unwrap().as_nanos())
            .collect();
        assert_eq!(
            ts,
            vec![0, 250_000_000, 500_000_000, 750_000_000, 1_000_000_000]
        );
    }

    #[test]
    fn poisson_rate() {
        let n = count_in(ArrivalSpec::Poisson { rate: 200.0 }, 0.0, 100.0);
        assert!(close(n, 20_000.0), "{n}");
    }

    #[test]
    fn ramp_follows_the_line() {
        let spec = ArrivalSpec::Ramp {
            from: 0.0,
            to: 100.0,
            over: 100.0,
        };
        // Rate 0→100 over 100 s: 2,500 in the first half, 7,500 in the second.
        assert!(close(count_in(spec.clone(), 0.0, 50.0), 1250.0));
        assert!(close(count_in(spec.clone(), 50.0, 100.0), 3750.0));
        assert!(close(count_in(spec, 100.0, 150.0), 5000.0));
    }

    #[test]
    fn steps_and_spike() {
        let steps = ArrivalSpec::Steps {
            steps: vec![(10.0, 50.0), (20.0, 300.0)],
        };
        assert_eq!(count_in(steps.clone(), 0.0, 10.0), 0);
        assert!(close(count_in(steps.clone(), 10.0, 20.0), 500.0));
        assert!(close(count_in(steps, 20.0, 30.0), 3000.0));

        let spike = ArrivalSpec::Spike {
            base: 10.0,
            peak: 1000.0,
            at: 30.0,
            duration: 5.0,
        };
        assert!(close(count_in(spike.clone(), 0.0, 30.0), 300.0));
        assert!(close(count_in(spike.clone(), 30.0, 35.0), 5000.0));
        assert!(close(count_in(spike.clone(), 35.0, 60.0), 250.0));
        assert!((spike.mean_rate(60.0) - (55.0 * 10.0 + 5000.0) / 60.0).abs() < 1e-9);
    }

    #[test]
    fn diurnal_peaks_and_troughs() {
        let spec = ArrivalSpec::Diurnal {
            mean: 100.0,
            amplitude: 0.8,
            period: 1000.0,
            peak_at: 250.0,
        };
        let peak = count_in(spec.clone(), 200.0, 300.0);
        let trough = count_in(spec, 700.0, 800.0);
        assert!(peak > 3 * trough, "peak {peak} trough {trough}");
    }

    #[test]
    fn trace_replays_and_ends() {
        let times: Arc<[f64]> = vec![0.5, 1.0, 1.0, 7.25].into();
        let mut rng = RngStreams::new(1).stream("x");
        let mut p = ArrivalProcess::new(ArrivalSpec::Trace { times });
        let got: Vec<f64> = std::iter::from_fn(|| p.next_arrival(&mut rng))
            .map(|t| t.as_secs_f64())
            .collect();
        assert_eq!(got, vec![0.5, 1.0, 1.0, 7.25]);
    }

    #[test]
    fn zero_rate_ends_the_process() {
        let mut rng = RngStreams::new(1).stream("x");
        let mut p = ArrivalProcess::new(ArrivalSpec::Ramp {
            from: 10.0,
            to: 0.0,
            over: 10.0,
        });
        let n = std::iter::from_fn(|| p.next_arrival(&mut rng)).count();
        assert!(close(n, 50.0), "{n}");
    }
}
