//! The metrics component against figures worked out by hand.

use std::time::Duration;

use super::*;
use crate::dist::ServiceDist;
use crate::spec::{FaultKind, FaultSpec, FaultTarget, Routing};
use crate::tests::{one_endpoint, variant};
use crate::{Platform, Request, RngStreams, TimeScale};

fn s(secs: u64) -> SimTime {
    SimTime::from_nanos(secs * 1_000_000_000)
}

fn request(at: SimTime) -> Request {
    Request {
        id: 0,
        endpoint: 0,
        target_variant: None,
        sent_at: at,
        timeout_ns: 60_000_000_000,
        target_model: None,
    }
}

/// Sends one request at each of `times`, runs every timer up to `until`
/// and drains the results (which the metrics count as they are polled).
fn drive(p: &mut Platform, times: impl IntoIterator<Item = SimTime>, until: SimTime) {
    let mut times = times.into_iter().peekable();
    loop {
        let next = times.peek().copied();
        match p.poll_timeout().filter(|&t| t <= until) {
            Some(t) if next.is_none_or(|n| t <= n) => {
                p.handle_timeout(t);
            }
            _ => match times.next() {
                Some(at) => p.handle_request(at, request(at)),
                None => break,
            },
        }
        while p.poll_result().is_some() {}
    }
}

#[test]
fn one_busy_slot_of_two_reads_as_half_the_cpu() {
    // One instance with two slots; a request each second that takes one
    // second: exactly one slot is busy at all times.
    let v = variant("A", 1, 2, ServiceDist::constant(1.0).unwrap());
    let mut p = Platform::new(
        &one_endpoint(vec![v], Routing::Random, vec![]),
        RngStreams::new(1),
    );
    drive(&mut p, (0..130).map(s), s(130));
    let dps = p.datapoints(s(130), 0, 0, Period::Standard);
    assert_eq!(dps.len(), 2, "two whole minutes by 130 s");
    let (a, b) = (dps[0], dps[1]);
    assert_eq!((a.start, a.period), (s(0), Duration::from_secs(60)));
    // Answers at 1 s … 59 s fall in the first minute, 60 s … 119 s in the second.
    assert_eq!((a.invocations, b.invocations), (59, 60));
    assert_eq!((b.errors_4xx, b.errors_5xx), (0, 0));
    assert!((a.instances - 1.0).abs() < 1e-12);
    // As SageMaker reports it: percent of one vCPU, 4 vCPUs.
    assert!(
        (b.cpu_utilization - 4.0 * 50.0).abs() < 1e-9,
        "{}",
        b.cpu_utilization
    );
    assert_eq!(b.gpu_utilization, None, "no GPU on ml.m5.xlarge");
    assert!((b.concurrent_requests_per_model - 1.0).abs() < 1e-9);
    assert!((b.invocations_per_instance - 60.0).abs() < 1e-9);
    assert_eq!(b.model_latency.average_us(), Some(1e6));
    assert_eq!(
        (b.model_latency.min_us, b.model_latency.max_us),
        (1_000_000, 1_000_000)
    );
    assert_eq!(b.overhead_latency.average_us(), Some(0.0));

    let hi = p.datapoints(s(130), 0, 0, Period::HighResolution);
    assert_eq!(hi.len(), 13);
    assert_eq!(hi[3].invocations, 10);
    assert_eq!(hi[3].period, Duration::from_secs(10));
    // Six high-resolution datapoints add up to the standard one.
    assert_eq!(
        hi[6..12].iter().map(|d| d.invocations).sum::<u64>(),
        b.invocations
    );
    let t = p.metric_totals(0, 0);
    assert_eq!(
        t.invocations, 130,
        "every answer polled so far, the last at 130 s"
    );
}

#[test]
fn queueing_shows_as_overhead_and_concurrency() {
    // One slot, a request every second taking 2 s: the queue grows by one
    // a second and each waits longer.
    let v = variant("A", 1, 1, ServiceDist::constant(2.0).unwrap());
    let mut p = Platform::new(
        &one_endpoint(vec![v], Routing::Random, vec![]),
        RngStreams::new(1),
    );
    drive(&mut p, (0..20).map(s), s(20));
    let d = p.datapoints(s(20), 0, 0, Period::HighResolution)[1];
    // Request k starts at 2k s and is answered at 2k + 2 s, having waited
    // k s: the answers at 10, 12, … 18 s waited 4 to 8 s.
    assert_eq!(d.invocations, 5);
    assert_eq!(d.overhead_latency.average_us(), Some(6e6));
    assert_eq!(d.model_latency.average_us(), Some(2e6));
    assert!((d.cpu_utilization - 400.0).abs() < 1e-9);
    assert!(d.concurrent_requests_per_model > 5.0, "{d:?}");
}

#[test]
fn a_crash_lowers_the_time_average_of_instances() {
    let v = variant("A", 2, 1, ServiceDist::constant(0.001).unwrap());
    let crash = FaultSpec {
        at: Duration::from_secs(30),
        duration: None,
        target: FaultTarget {
            endpoint: 0,
            variant: None,
        },
        kind: FaultKind::InstanceCrash {
            count: 1,
            detect_after: Duration::from_secs(2),
        },
    };
    let mut p = Platform::new(
        &one_endpoint(vec![v], Routing::Random, vec![crash]),
        RngStreams::new(3),
    );
    // The replacement provisions for 60 s from its detection at 32 s.
    drive(&mut p, std::iter::empty(), s(180));
    let dps = p.datapoints(s(180), 0, 0, Period::Standard);
    // 2 instances for 30 s, 1 for 30 s.
    assert!((dps[0].instances - 1.5).abs() < 1e-9, "{:?}", dps[0]);
    // 1 until 92 s, then 2: (32 × 1 + 28 × 2) / 60.
    assert!(
        (dps[1].instances - 88.0 / 60.0).abs() < 1e-9,
        "{:?}",
        dps[1]
    );
    assert!((dps[2].instances - 2.0).abs() < 1e-9);
    // No traffic: the datapoints are there, with zeros (SageMaker emits
    // zeros, which is what lets autoscaling scale in to the minimum).
    assert_eq!(dps[2].invocations, 0);
    assert_eq!(dps[2].invocations_per_instance, 0.0);
    assert_eq!(dps[2].model_latency.average_us(), None);
}

#[test]
fn errors_count_by_the_answer_sagemaker_gives() {
    for (cause, class) in [
        (Cause::Served, Class::Ok),
        (Cause::NoCapacity, Class::Server),
        (Cause::Injected(503), Class::Server),
        (Cause::Injected(500), Class::Server),
        (Cause::Injected(429), Class::Client),
        (Cause::Injected(400), Class::Client),
        (Cause::InstanceDown, Class::Client),
        (Cause::Timeout, Class::Client),
        (Cause::ModelError(404), Class::Client),
        (Cause::ModelError(500), Class::Server),
    ] {
        assert_eq!(Class::of(cause), class, "{cause:?}");
    }
    let v = variant("A", 1, 1, ServiceDist::constant(0.001).unwrap());
    let inject = FaultSpec {
        at: Duration::ZERO,
        duration: Some(Duration::from_secs(10)),
        target: FaultTarget {
            endpoint: 0,
            variant: None,
        },
        kind: FaultKind::ErrorInjection {
            rate: 1.0,
            status: 503,
        },
    };
    let mut p = Platform::new(
        &one_endpoint(vec![v], Routing::Random, vec![inject]),
        RngStreams::new(3),
    );
    drive(&mut p, (0..20).map(s), s(20));
    let hi = p.datapoints(s(20), 0, 0, Period::HighResolution);
    assert_eq!((hi[0].invocations, hi[0].errors_5xx), (10, 10));
    assert_eq!((hi[1].invocations, hi[1].errors_5xx), (10, 0));
    p.handle_model_refusal(s(15), 0, 0);
    let hi = p.datapoints(s(20), 0, 0, Period::HighResolution);
    assert_eq!(hi[1].errors_4xx, 1, "a refusal after service is a 4XX");
}

#[test]
fn a_time_scale_compresses_the_periods() {
    let v = variant("A", 1, 1, ServiceDist::constant(0.001).unwrap());
    let mut p = Platform::new(
        &one_endpoint(vec![v], Routing::Random, vec![]),
        RngStreams::new(1),
    );
    p.set_time_scale(TimeScale::new(20.0));
    // 6 s of platform time is 2 minutes of scenario time.
    let times = (0..60).map(|k| SimTime::from_nanos(k * 100_000_000));
    drive(&mut p, times, s(6));
    let dps = p.datapoints(s(6), 0, 0, Period::Standard);
    assert_eq!(dps.len(), 2);
    assert_eq!(dps[0].period, Duration::from_secs(3));
    assert_eq!(dps[0].invocations + dps[1].invocations, 60);
}

#[test]
fn history_is_bounded_and_totals_stay_whole() {
    let v = variant("A", 1, 1, ServiceDist::constant(0.001).unwrap());
    let mut p = Platform::new(
        &one_endpoint(vec![v], Routing::Random, vec![]),
        RngStreams::new(1),
    );
    // One request a minute for three hours, then one after a day idle.
    let mut times: Vec<SimTime> = (0..180).map(|m| s(m * 60)).collect();
    times.push(s(30 * 3600));
    drive(&mut p, times, s(30 * 3600 + 60));
    let now = s(30 * 3600 + 60);
    let dps = p.datapoints(now, 0, 0, Period::HighResolution);
    assert_eq!(dps.len(), HISTORY, "the last two hours only");
    assert_eq!(dps.last().unwrap().start, s(30 * 3600 + 50));
    assert_eq!(p.datapoints(now, 0, 0, Period::Standard).len(), HISTORY / 6);
    assert_eq!(p.metric_totals(0, 0).invocations, 181);
    let last = p.latest_datapoint(now, 0, 0, Period::Standard).unwrap();
    assert_eq!((last.start, last.invocations), (s(30 * 3600), 1));
}
