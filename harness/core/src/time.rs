//! Simulated time.
//!
//! The core never reads a clock: every entry point takes `now` from the
//! driver. Time is kept as whole nanoseconds since the start of the run, so
//! arithmetic is exact and ordering is total.

use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

/// A UTC calendar date and time of day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CivilUtc {
    /// Year.
    pub year: i64,
    /// Month, 1 to 12.
    pub month: u32,
    /// Day of the month, 1 to 31.
    pub day: u32,
    /// Hour, 0 to 23.
    pub hour: u32,
    /// Minute.
    pub minute: u32,
    /// Second.
    pub second: u32,
}

impl CivilUtc {
    /// The calendar date of `unix_s` seconds after 1970-01-01T00:00:00Z
    /// (proleptic Gregorian; Howard Hinnant's days-to-civil). Pure
    /// arithmetic: the caller supplies the time.
    pub fn from_unix(unix_s: u64) -> CivilUtc {
        let (days, secs) = ((unix_s / 86_400) as i64, unix_s % 86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        CivilUtc {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day,
            hour: (secs / 3600) as u32,
            minute: (secs / 60 % 60) as u32,
            second: (secs % 60) as u32,
        }
    }
}

/// An instant on the run's timeline: nanoseconds since the run started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(u64);

impl SimTime {
    /// The start of the run.
    pub const ZERO: SimTime = SimTime(0);
    /// A time later than any run can reach.
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// A time `nanos` nanoseconds after the start.
    pub const fn from_nanos(nanos: u64) -> Self {
        SimTime(nanos)
    }

    /// A time `secs` seconds after the start (negative values clamp to zero).
    pub fn from_secs_f64(secs: f64) -> Self {
        SimTime(secs_to_nanos(secs))
    }

    /// Nanoseconds since the start.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Seconds since the start.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Nanoseconds from `earlier` to `self`, zero if `earlier` is later.
    pub const fn nanos_since(self, earlier: SimTime) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// `self + nanos`, saturating at [`SimTime::MAX`].
    pub const fn add_nanos(self, nanos: u64) -> SimTime {
        SimTime(self.0.saturating_add(nanos))
    }
}

impl Add<Duration> for SimTime {
    type Output = SimTime;
    fn add(self, rhs: Duration) -> SimTime {
        self.add_nanos(duration_nanos(rhs))
    }
}

impl Sub for SimTime {
    type Output = Duration;
    fn sub(self, rhs: SimTime) -> Duration {
        Duration::from_nanos(self.nanos_since(rhs))
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}s", self.as_secs_f64())
    }
}

/// Converts seconds to whole nanoseconds, rounding to nearest; negative or
/// NaN input gives zero, huge input saturates.
pub fn secs_to_nanos(secs: f64) -> u64 {
    if secs.is_nan() || secs <= 0.0 {
        0
    } else {
        let n = (secs * 1e9).round();
        if n >= u64::MAX as f64 {
            u64::MAX
        } else {
            n as u64
        }
    }
}

/// `secs` as a [`Duration`], never panicking: negative or NaN gives zero,
/// too large saturates at [`Duration::MAX`]. Every conversion of a user's
/// float to a time goes through here (std's `from_secs_f64` panics).
pub fn secs_to_duration(secs: f64) -> Duration {
    if secs.is_nan() || secs <= 0.0 {
        Duration::ZERO
    } else {
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
    }
}

/// `d / x` (a timeline compressed `x`-fold), saturating like
/// [`secs_to_duration`]; std's `div_f64` panics when the result overflows.
pub fn div_duration(d: Duration, x: f64) -> Duration {
    secs_to_duration(d.as_secs_f64() / x)
}

/// `d * x`, saturating like [`secs_to_duration`].
pub fn mul_duration(d: Duration, x: f64) -> Duration {
    secs_to_duration(d.as_secs_f64() * x)
}

/// A [`Duration`] as whole nanoseconds, saturating.
pub fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Splits `"1.5s"` into `(1.5, "s")`; `None` if the number does not parse.
pub fn split_number_unit(s: &str) -> Option<(f64, &str)> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    Some((num.parse().ok()?, unit.trim()))
}

/// Parses a duration: a non-negative number and a unit (`us`, `ms`, `s`,
/// `m`, `h`, `d`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || {
        format!("invalid duration \"{s}\": expected a number and a unit (ms, s, m, h or d), like \"90s\"")
    };
    if s.trim_start().starts_with('-') {
        return Err(format!(
            "invalid duration \"{s}\": a duration cannot be negative (use \"0s\" for none)"
        ));
    }
    let (value, unit) = split_number_unit(s).ok_or_else(bad)?;
    let scale = match unit {
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => return Err(bad()),
    };
    let secs = value * scale;
    if !secs.is_finite() || secs > 1e12 {
        return Err(format!("invalid duration \"{s}\": too large"));
    }
    Ok(secs_to_duration(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_trip() {
        let t = SimTime::from_secs_f64(1.5);
        assert_eq!(t.as_nanos(), 1_500_000_000);
        assert_eq!(
            t + Duration::from_millis(500),
            SimTime::from_nanos(2_000_000_000)
        );
        assert_eq!(SimTime::from_secs_f64(-3.0), SimTime::ZERO);
        assert_eq!(SimTime::from_secs_f64(f64::NAN), SimTime::ZERO);
        assert_eq!(SimTime::MAX.add_nanos(5), SimTime::MAX);
        assert_eq!(t - SimTime::from_secs_f64(2.0), Duration::ZERO);
    }

    #[test]
    fn float_to_duration_conversions_never_panic() {
        let h = Duration::from_secs(3600);
        assert_eq!(div_duration(h, 1e-308), Duration::MAX);
        assert_eq!(div_duration(h, 0.0), Duration::MAX);
        assert_eq!(div_duration(h, f64::NAN), Duration::ZERO);
        assert_eq!(div_duration(h, 20.0), Duration::from_secs(180));
        assert_eq!(mul_duration(h, 1e308), Duration::MAX);
        assert_eq!(mul_duration(h, -1.0), Duration::ZERO);
        assert_eq!(secs_to_duration(f64::INFINITY), Duration::MAX);
        assert_eq!(secs_to_duration(1.5), Duration::from_millis(1500));
    }
}
