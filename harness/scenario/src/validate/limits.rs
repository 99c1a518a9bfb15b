//! What a run would cost in memory and time, checked before it starts: a
//! scenario that validates must run, never abort on an allocation.
//!
//! The simulator holds every request that is waiting or in service, so
//! its memory follows the peak rate times how long a request may stay
//! (its timeout); the timeline holds one row per interval and variant.
//! Both are estimated from the scenario and refused past fixed bounds
//! with a message saying what to change.

use std::time::Duration;

use gameday_core::arrival::ArrivalSpec;

use super::Cx;
use crate::diag::FieldPath;

/// Most requests the platform may have to hold at once (peak rate ×
/// timeout): about 1.5 GB of queued requests.
pub const MAX_IN_FLIGHT: f64 = 1e7;
/// Most requests one run may send: at a few million simulated requests a
/// second, about an hour of simulation.
pub const MAX_REQUESTS: f64 = 2e10;
/// Most timeline rows (intervals × variants) a run may write.
pub const MAX_TIMELINE_ROWS: f64 = 1e7;

/// Refuses a workload whose traffic cannot fit: too many requests in all,
/// or too many held at once.
pub(super) fn check_workload(
    cx: &mut Cx<'_>,
    at: &FieldPath,
    arrival: &ArrivalSpec,
    timeout: Duration,
    duration: Duration,
) {
    let horizon = duration.as_secs_f64();
    let total = arrival.mean_rate(horizon) * horizon;
    let held = arrival.peak_rate(horizon) * timeout.as_secs_f64();
    // NaN (an infinite rate times zero) counts as too much.
    let fits = |x: f64, max: f64| x.is_finite() && x <= max;
    if !fits(total, MAX_REQUESTS) {
        cx.err(
            at,
            format!(
                "this workload would send about {} requests over {}; gameday runs at most {} in one run: lower the rate or shorten the duration",
                sci(total),
                gameday_report::slo::human_duration(duration.as_secs_f64()),
                sci(MAX_REQUESTS)
            ),
        );
    } else if !fits(held, MAX_IN_FLIGHT) {
        cx.err(
            at,
            format!(
                "at its peak this workload could hold about {} requests at once (peak rate × timeout {}), more than the {} that fit in memory: lower the rate or shorten the timeout",
                sci(held),
                gameday_report::slo::human_duration(timeout.as_secs_f64()),
                sci(MAX_IN_FLIGHT)
            ),
        );
    }
}

/// Refuses a timeline too long to hold.
pub(super) fn check_timeline(
    cx: &mut Cx<'_>,
    at: &FieldPath,
    duration: Duration,
    interval: Duration,
    variants: usize,
) {
    if interval.is_zero() {
        return; // reported on its own
    }
    let rows = duration.as_secs_f64() / interval.as_secs_f64() * variants.max(1) as f64;
    if rows > MAX_TIMELINE_ROWS {
        cx.err(
            at,
            format!(
                "the timeline would have about {} rows ({} in steps of {} for {variants} variant(s)); at most {} fit: widen timeline_interval",
                sci(rows),
                gameday_report::slo::human_duration(duration.as_secs_f64()),
                gameday_report::slo::human_duration(interval.as_secs_f64()),
                sci(MAX_TIMELINE_ROWS)
            ),
        );
    }
}

/// `2e10`, `1.5e7`: large counts people can read.
fn sci(x: f64) -> String {
    if !x.is_finite() {
        return "infinitely many".into();
    }
    if x < 1e6 {
        return format!("{}", x.round());
    }
    let e = x.log10().floor();
    let m = (x / 10f64.powf(e) * 10.0).round() / 10.0;
    format!("{m}e{e}")
}

#[cfg(test)]
mod tests {
    use super::sci;

    #[test]
    fn counts_read_as_people_write_them() {
        assert_eq!(sci(2e10), "2e10");
        assert_eq!(sci(1.5e7), "1.5e7");
        assert_eq!(sci(1234.4), "1234");
        assert_eq!(sci(f64::INFINITY), "infinitely many");
    }
}
