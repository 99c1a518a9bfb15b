//! Exact timing of alarms, policies, cooldowns and activities, driven by
//! a deterministic load: arrivals at fixed intervals, a constant 1 µs
//! service time (so each answer falls in its arrival's period), and
//! fixed provisioning and model-load times.

use std::time::Duration;

use super::*;
use crate::capacity::ShortageSpec;
use crate::dist::ServiceDist;
use crate::outcome::EventKind;
use crate::spec::ZoneOutageSpec;
use crate::spec::*;
use crate::tests::{one_endpoint, variant};
use crate::{Platform, Request, RngStreams, SimTime};

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

/// Provisioning 120 s, then 30 s of model load: a launch serves 150 s
/// after it starts.
const READY_AFTER: u64 = 150;

fn tracking(metric: Metric, target: f64) -> TargetTrackingSpec {
    TargetTrackingSpec::new(metric, target)
}

fn scaled(count: u32, a: AutoscalingSpec) -> PlatformSpec {
    let mut v = variant(
        "AllTraffic",
        count,
        1000,
        ServiceDist::constant(1e-6).unwrap(),
    );
    v.instance.provisioning_min = s(120);
    v.instance.provisioning_max = s(120);
    v.model_load = s(30);
    v.autoscaling = Some(a);
    one_endpoint(vec![v], Routing::Random, vec![])
}

fn bounds(min: u32, max: u32) -> AutoscalingSpec {
    AutoscalingSpec {
        min,
        max,
        target_tracking: vec![],
        step: vec![],
        scheduled: vec![],
    }
}

/// Runs `spec` to `until` seconds with requests every `gap(t)` ns at
/// second `t`; answers the platform and its events.
fn run(
    spec: &PlatformSpec,
    until: u64,
    gap: impl Fn(u64) -> u64,
) -> (Platform, Vec<PlatformEvent>) {
    run_on(Platform::new(spec, RngStreams::new(1)), until, gap)
}

/// [`run`] on a platform built (and configured) already.
fn run_on(mut p: Platform, until: u64, gap: impl Fn(u64) -> u64) -> (Platform, Vec<PlatformEvent>) {
    let end = SimTime::ZERO + s(until);
    p.set_end(end);
    let mut next = SimTime::ZERO;
    let mut events = Vec::new();
    loop {
        let timer = p.poll_timeout();
        let now = match timer {
            Some(t) if t <= next || next >= end => {
                if t > end + s(60) {
                    break;
                }
                p.handle_timeout(t);
                t
            }
            _ if next < end => {
                let now = next;
                p.handle_request(
                    now,
                    Request {
                        id: 0,
                        endpoint: 0,
                        target_variant: None,
                        sent_at: now,
                        timeout_ns: 60_000_000_000,
                        target_model: None,
                    },
                );
                next = now.add_nanos(gap(now.as_nanos() / 1_000_000_000));
                now
            }
            _ => break,
        };
        let _ = now;
        while p.poll_result().is_some() {}
        while let Some(e) = p.poll_event() {
            events.push(e);
        }
    }
    (p, events)
}

fn at(e: &PlatformEvent) -> u64 {
    e.at.as_nanos() / 1_000_000_000
}

fn kinds(events: &[PlatformEvent], kind: EventKind) -> Vec<(u64, String)> {
    events
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| (at(e), e.detail.clone()))
        .collect()
}

fn activities(p: &Platform) -> Vec<(u64, u32, u32, ActivityStatus, Option<u64>)> {
    p.scaling()[0]
        .activities
        .iter()
        .map(|a| {
            (
                a.at.as_nanos() / 1_000_000_000,
                a.from,
                a.to,
                a.status,
                a.ended_at.map(|t| t.as_nanos() / 1_000_000_000),
            )
        })
        .collect()
}

/// `a` with target tracking at 600 invocations a minute per instance and
/// a 600 s scale-in cooldown.
fn patient(mut a: AutoscalingSpec) -> AutoscalingSpec {
    let mut tt = tracking(Metric::InvocationsPerInstance, 600.0);
    tt.scale_in_cooldown = s(600);
    a.target_tracking.push(tt);
    a
}

/// 10 requests a second, then 40 from `step_at` (100 ms, then 25 ms).
fn step_load(step_at: u64) -> impl Fn(u64) -> u64 {
    move |t| if t < step_at { 100_000_000 } else { 25_000_000 }
}

#[test]
fn a_step_to_twice_the_target_scales_out_after_three_datapoints_and_serves_after_provisioning_and_load(
) {
    // Two instances, target 600 a minute each. From 300 s, 40/s = 1,200
    // a minute per instance: datapoints [300,360), [360,420), [420,480)
    // breach, so the alarm fires at 480 and asks ceil(2 × 1200 / 600).
    let mut a = bounds(2, 10);
    a.target_tracking
        .push(tracking(Metric::InvocationsPerInstance, 600.0));
    let (p, events) = run(&scaled(2, a), 900, step_load(300));
    let alarms = kinds(&events, EventKind::AlarmState);
    let high: Vec<_> = alarms
        .iter()
        .filter(|(_, d)| d.contains("AlarmHigh"))
        .collect();
    assert_eq!(high[0].0, 60, "{high:?}");
    assert!(high[0].1.contains("INSUFFICIENT_DATA -> OK"), "{high:?}");
    assert_eq!(high[1].0, 480, "{high:?}");
    assert!(high[1].1.contains("OK -> ALARM"), "{high:?}");
    assert!(high[1].1.contains("values 1200 1200 1200"), "{high:?}");
    assert_eq!(
        activities(&p),
        vec![(
            480,
            2,
            4,
            ActivityStatus::Successful,
            Some(480 + READY_AFTER)
        )]
    );
    let launched = kinds(&events, EventKind::InstanceLaunched);
    assert_eq!(launched.iter().map(|x| x.0).collect::<Vec<_>>(), [480, 480]);
    let serving = kinds(&events, EventKind::InstanceInService);
    assert_eq!(serving.iter().map(|x| x.0).collect::<Vec<_>>(), [630, 630]);
    // Inside the cooldown the datapoints still show the old fleet's load
    // (800 a minute over [600, 660)): computed from the capacity before
    // the scale-out, ceil(2 × 800 / 600) = 3 is no larger scale-out, so
    // the fleet stays at 4 instead of overshooting to 6.
    assert_eq!(p.fleet(0, 0).desired, 4);
    assert_eq!(p.fleet(0, 0).in_service, 4);
    // Time from the first breaching datapoint to capacity serving.
    let act = &p.scaling()[0].activities[0];
    assert_eq!(act.breach_at, Some(SimTime::ZERO + s(300)));
    let stats = p.fleet_stats(SimTime::ZERO + s(900));
    assert_eq!((stats[0].min, stats[0].max), (2, 4));
}

#[test]
fn a_larger_scale_out_inside_the_cooldown_adds_only_the_difference() {
    // The load doubles again at 660 s, inside the 300 s scale-out
    // cooldown that began at 630: 80/s is 1,200 a minute per instance on
    // four. The alarm is back in ALARM at 840 over [660, 840); from the
    // capacity before the first scale-out, ceil(2 × 1200 / 600) = 4 is no
    // larger; after the cooldown (930) it is computed from 4: ceil(4 ×
    // 1200 / 600) = 8.
    let mut a = bounds(2, 10);
    a.target_tracking
        .push(tracking(Metric::InvocationsPerInstance, 600.0));
    let (p, _) = run(&scaled(2, a), 1500, |t| match t {
        0..300 => 100_000_000,
        300..660 => 25_000_000,
        _ => 12_500_000,
    });
    let acts = activities(&p);
    assert_eq!(acts[0], (480, 2, 4, ActivityStatus::Successful, Some(630)));
    assert_eq!(acts[1].0, 960, "{acts:?}");
    assert_eq!((acts[1].1, acts[1].2), (4, 8), "{acts:?}");
}

#[test]
fn scale_in_waits_for_fifteen_low_datapoints_and_then_for_its_cooldown() {
    // Four instances at 20/s: 300 a minute each, below 540 (90% of 600).
    // The low alarm needs 15 of 15: ALARM at 900, to ceil(4 × 300 / 600)
    // = 2. From 900 the load is 5/s (150 a minute each on two): the
    // alarm stays in ALARM, but the 600 s scale-in cooldown holds the
    // next scale-in (to 1) until 1500.
    let a = patient(bounds(1, 10));
    let (p, events) = run(&scaled(4, a), 1700, |t| {
        if t < 900 {
            50_000_000
        } else {
            200_000_000
        }
    });
    let acts = activities(&p);
    assert_eq!(
        acts[0],
        (900, 4, 2, ActivityStatus::Successful, Some(900)),
        "{acts:?}"
    );
    assert_eq!(
        acts[1],
        (1500, 2, 1, ActivityStatus::Successful, Some(1500)),
        "{acts:?}"
    );
    let low: Vec<_> = kinds(&events, EventKind::AlarmState)
        .into_iter()
        .filter(|(_, d)| d.contains("AlarmLow") && d.contains("-> ALARM"))
        .collect();
    assert_eq!(low[0].0, 900);
    // The instances scaled in drained and terminated; cost stops there.
    let drained = kinds(&events, EventKind::InstanceDraining);
    assert_eq!(
        drained.iter().map(|x| x.0).collect::<Vec<_>>(),
        [900, 900, 1500]
    );
}

#[test]
fn a_scale_out_alarm_inside_a_scale_in_cooldown_scales_out_at_once() {
    // As above to the scale-in at 900 (cooldown 600 s); at 1020 the load
    // jumps to 40/s, 1,200 a minute each on two: the high alarm fires at
    // 1200, inside the scale-in cooldown, and scales out then.
    let a = patient(bounds(1, 10));
    let (p, _) = run(&scaled(4, a), 1500, |t| match t {
        0..900 => 50_000_000,
        900..1020 => 200_000_000,
        _ => 25_000_000,
    });
    let acts = activities(&p);
    assert_eq!(acts[0].0, 900);
    assert_eq!(
        acts[1],
        (
            1200,
            2,
            4,
            ActivityStatus::Successful,
            Some(1200 + READY_AFTER)
        ),
        "{acts:?}"
    );
}

#[test]
fn scale_in_needs_every_policy_that_may_scale_in_to_agree() {
    // Policy 1 (invocations) wants in; policy 2 (concurrent requests per
    // model, target far below the load's) does not: no scale-in. With
    // policy 2's scale-in disabled, policy 1 alone decides.
    let run_with = |disable: bool| {
        let mut a = bounds(1, 10);
        a.target_tracking
            .push(tracking(Metric::InvocationsPerInstance, 600.0));
        let mut crpm = tracking(Metric::ConcurrentRequestsPerModel, 1e-9);
        crpm.disable_scale_in = disable;
        a.target_tracking.push(crpm);
        a.max = 4;
        let (p, _) = run(&scaled(4, a), 1000, |_| 50_000_000);
        activities(&p)
    };
    assert_eq!(run_with(false), vec![]);
    let acts = run_with(true);
    assert_eq!(acts[0].0, 900, "{acts:?}");
    assert_eq!((acts[0].1, acts[0].2), (4, 2));
}

#[test]
fn the_largest_scale_out_wins_and_a_high_resolution_metric_scales_out_in_thirty_seconds() {
    // ConcurrentRequestsPerModel on 10 s datapoints: 3 of 3 breach 30 s
    // after the step (a queue builds on one slot per instance).
    let mut v = variant("AllTraffic", 2, 1, ServiceDist::constant(0.2).unwrap());
    v.instance.provisioning_min = s(120);
    v.instance.provisioning_max = s(120);
    let mut a = bounds(2, 20);
    a.target_tracking
        .push(tracking(Metric::ConcurrentRequestsPerModel, 0.5));
    a.target_tracking
        .push(tracking(Metric::InvocationsPerInstance, 1e6));
    v.autoscaling = Some(a);
    let spec = one_endpoint(vec![v], Routing::Random, vec![]);
    // 2/s (0.2 busy per instance), then 8/s from 300 s (saturated).
    let (p, _) = run(
        &spec,
        600,
        |t| if t < 300 { 500_000_000 } else { 125_000_000 },
    );
    let acts = activities(&p);
    assert_eq!(acts[0].0, 330, "{acts:?}");
    assert!(acts[0].2 > 2);
}

#[test]
fn step_bounds_and_percent_rounding_follow_aws() {
    assert_eq!(percent_change(100, 127) - 100, 27);
    // 12.7 → 12, 0.5 → 1, −0.5 → −1, −6.67 → −6.
    assert_eq!(percent_change(10, 127), 12);
    assert_eq!(percent_change(1, 50), 1);
    assert_eq!(percent_change(1, -50), -1);
    assert_eq!(percent_change(3, -222), -6);
    assert_eq!(percent_change(4, 0), 0);
    let step = StepPolicySpec {
        alarm: AlarmSpec {
            metric: Metric::CpuUtilization,
            statistic: Statistic::Average,
            period: s(60),
            datapoints: 2,
            of: 3,
            comparison: Comparison::GreaterOrEqual,
            threshold: 80.0,
        },
        adjustment: Adjustment::ChangeInCapacity,
        steps: vec![
            StepAdjustment {
                lower: Some(0.0),
                upper: Some(20.0),
                change: 1,
            },
            StepAdjustment {
                lower: Some(20.0),
                upper: None,
                change: 3,
            },
        ],
        cooldown: DEFAULT_COOLDOWN,
    };
    // Above the threshold: lower bound inclusive, upper exclusive.
    assert_eq!(step.apply(4, 0.0), Some(5));
    assert_eq!(step.apply(4, 19.99), Some(5));
    assert_eq!(step.apply(4, 20.0), Some(7));
    assert_eq!(step.apply(4, -0.1), None);
    let pct = StepPolicySpec {
        adjustment: Adjustment::PercentChangeInCapacity,
        steps: vec![StepAdjustment {
            lower: Some(0.0),
            upper: None,
            change: 50,
        }],
        ..step.clone()
    };
    assert_eq!(pct.apply(5, 3.0), Some(7));
    // Below the threshold (a scale-in alarm): upper bound inclusive.
    let down = StepPolicySpec {
        alarm: AlarmSpec {
            comparison: Comparison::LessOrEqual,
            ..step.alarm.clone()
        },
        adjustment: Adjustment::ExactCapacity,
        steps: vec![StepAdjustment {
            lower: None,
            upper: Some(0.0),
            change: 2,
        }],
        ..step
    };
    assert_eq!(down.apply(6, 0.0), Some(2));
    assert_eq!(down.apply(6, 0.1), None);
}

#[test]
fn a_step_policy_scales_by_its_step_on_two_of_three_breaching_datapoints() {
    // CPU: one slot per instance busy 0.2 s per request. 2 req/s on two
    // instances: 20% of 4 vCPUs = 80 "CPUUtilization" points each; at
    // 8/s saturated: 400. Alarm CPU >= 200 on 2 of 3 one-minute
    // datapoints: ALARM at 420 (datapoints [300,360) and [360,420));
    // breach 200 → the `lower = 100` step adds 3.
    let mut v = variant("AllTraffic", 2, 1, ServiceDist::constant(0.2).unwrap());
    v.instance.provisioning_min = s(120);
    v.instance.provisioning_max = s(120);
    let mut a = bounds(2, 20);
    a.step.push(StepPolicySpec {
        alarm: AlarmSpec {
            metric: Metric::CpuUtilization,
            statistic: Statistic::Average,
            period: s(60),
            datapoints: 2,
            of: 3,
            comparison: Comparison::GreaterOrEqual,
            threshold: 200.0,
        },
        adjustment: Adjustment::ChangeInCapacity,
        steps: vec![
            StepAdjustment {
                lower: Some(0.0),
                upper: Some(100.0),
                change: 1,
            },
            StepAdjustment {
                lower: Some(100.0),
                upper: None,
                change: 3,
            },
        ],
        cooldown: DEFAULT_COOLDOWN,
    });
    v.autoscaling = Some(a);
    let spec = one_endpoint(vec![v], Routing::LeastOutstandingRequests, vec![]);
    let (p, _) = run(
        &spec,
        600,
        |t| if t < 300 { 500_000_000 } else { 125_000_000 },
    );
    let acts = activities(&p);
    assert_eq!(acts[0].0, 420, "{acts:?}");
    assert_eq!((acts[0].1, acts[0].2), (2, 5));
}

#[test]
fn a_scheduled_action_moves_the_bounds_and_the_capacity_with_them() {
    let mut a = bounds(2, 10);
    a.scheduled.push(ScheduledSpec {
        at: s(125),
        min: Some(4),
        max: None,
    });
    a.scheduled.push(ScheduledSpec {
        at: s(400),
        min: Some(1),
        max: Some(3),
    });
    let (p, events) = run(&scaled(2, a), 600, |_| 100_000_000);
    assert_eq!(
        activities(&p),
        vec![
            (
                125,
                2,
                4,
                ActivityStatus::Successful,
                Some(125 + READY_AFTER)
            ),
            (400, 4, 3, ActivityStatus::Successful, Some(400)),
        ]
    );
    let sched: Vec<_> = kinds(&events, EventKind::ScalingActivity)
        .into_iter()
        .filter(|(_, d)| d.starts_with("scheduled action"))
        .collect();
    assert_eq!(sched.len(), 2);
    assert_eq!(p.scaling()[0].min, 1);
}

#[test]
fn without_instances_the_alarm_has_insufficient_data_and_scales_nothing() {
    // Both instances crash at 30 s; their replacements take 330 s.
    // CPUUtilization is missing while none serves: once the last three
    // datapoints are all missing (at 240) the high alarm goes to
    // INSUFFICIENT_DATA though every request fails, and nothing scales.
    let mut a = bounds(2, 10);
    a.target_tracking
        .push(tracking(Metric::CpuUtilization, 1.0));
    let mut spec = scaled(2, a);
    spec.endpoints[0].variants[0].instance.provisioning_min = s(300);
    spec.endpoints[0].variants[0].instance.provisioning_max = s(300);
    spec.faults.push(FaultSpec {
        at: s(30),
        duration: None,
        target: FaultTarget {
            endpoint: 0,
            variant: None,
        },
        kind: FaultKind::InstanceCrash {
            count: 2,
            detect_after: s(1),
        },
    });
    let (p, events) = run(&spec, 300, |_| 100_000_000);

    assert_eq!(activities(&p), vec![]);
    let high: Vec<_> = kinds(&events, EventKind::AlarmState)
        .into_iter()
        .filter(|(_, d)| d.contains("AlarmHigh"))
        .collect();
    assert!(
        high.iter()
            .any(|(t, d)| *t == 240 && d.contains("OK -> INSUFFICIENT_DATA")),
        "{high:?}"
    );
}

#[test]
fn a_scale_out_during_a_shortage_fails_and_its_launches_retry_with_backoff() {
    let mut a = bounds(2, 10);
    a.target_tracking
        .push(tracking(Metric::InvocationsPerInstance, 600.0));
    let mut spec = scaled(2, a);
    spec.shortages.push(ShortageSpec {
        at: s(0),
        duration: Some(s(600)),
        instance_type: "ml.m5.xlarge".into(),
    });
    let (p, events) = run(&spec, 1200, step_load(300));
    let acts = &p.scaling()[0].activities;
    assert_eq!(acts[0].at, SimTime::ZERO + s(480));
    assert_eq!(acts[0].status, ActivityStatus::Failed);
    assert!(acts[0]
        .reason
        .as_deref()
        .is_some_and(|r| r.starts_with("InsufficientCapacity")));
    // Refused at 480, retried after 30 s and 60 s (still short), then
    // launched at 480 + 30 + 60 + 120 = 690, in service 150 s later.
    let failed: Vec<u64> = kinds(&events, EventKind::InstanceLaunchFailed)
        .iter()
        .map(|x| x.0)
        .collect();
    assert_eq!(failed, [480, 480, 510, 510, 570, 570]);
    let serving: Vec<u64> = kinds(&events, EventKind::InstanceInService)
        .iter()
        .map(|x| x.0)
        .collect();
    assert_eq!(serving, [840, 840]);
    assert_eq!(acts[0].ended_at, Some(SimTime::ZERO + s(840)));
    // Requests that queued or failed while the fleet was short counted.
    assert_eq!(p.fleet_stats(SimTime::ZERO + s(1200))[0].short_requests, 0);
}

#[test]
fn a_zone_outage_kills_its_instances_and_replacements_and_scale_outs_go_to_the_other_zones() {
    // Three instances over zones a, b, c; zone b goes dark at 60 s for
    // ten minutes. The load doubles at 300 s: the scale-out's two new
    // instances go to a and c, never b.
    let mut a = bounds(3, 10);
    a.target_tracking
        .push(tracking(Metric::InvocationsPerInstance, 600.0));
    let mut spec = scaled(3, a);
    spec.zone_outages.push(ZoneOutageSpec {
        at: s(60),
        duration: Some(s(600)),
        zone: 1,
        detect_after: s(2),
    });
    // 15/s is 300 a minute each on three; 60/s from 300 s is 1,800 each
    // on the two left: ceil(3 × 1800 / 600) = 9.
    let (p, events) = run(
        &spec,
        900,
        |t| if t < 300 { 66_666_667 } else { 16_666_667 },
    );
    let crashed = kinds(&events, EventKind::InstanceCrashed);
    assert_eq!(crashed.len(), 1, "{crashed:?}");
    assert_eq!(crashed[0].0, 60);
    let launched = kinds(&events, EventKind::InstanceLaunched);
    assert_eq!(
        launched[0].0, 62,
        "the replacement, once the health check noticed"
    );
    assert!(
        launched.iter().all(|(_, d)| !d.contains("in zone b")),
        "{launched:?}"
    );
    let zones: Vec<bool> = launched
        .iter()
        .map(|(_, d)| d.contains("in zone a"))
        .collect();
    // Fewest-first: a (after b's loss a and c hold one each), then c,
    // then alternating.
    assert_eq!(&zones[..3], [true, false, true], "{launched:?}");
    let cleared = kinds(&events, EventKind::FaultCleared);
    assert_eq!(cleared[0].0, 660);
    assert!(p.fleet(0, 0).in_service >= 3);
}

#[test]
fn a_policy_put_at_runtime_scales_as_a_scenarios_and_stops_when_deleted() {
    // The variant has no autoscaling in its spec: a user's script
    // registers it and puts the policy at time zero.
    let mut spec = scaled(2, bounds(2, 10));
    spec.endpoints[0].variants[0].autoscaling = None;
    let mut p = Platform::new(&spec, RngStreams::new(1));
    assert_eq!(
        p.put_target_tracking_policy(
            0,
            0,
            "ipi",
            &tracking(Metric::InvocationsPerInstance, 600.0)
        ),
        Err(ApiError::NotFound(
            "No scalable target registered for this resource: call RegisterScalableTarget first"
                .into()
        ))
    );
    assert!(matches!(
        p.register_scalable_target(SimTime::ZERO, 0, 0, 5, 2),
        Err(ApiError::Validation(_))
    ));
    p.register_scalable_target(SimTime::ZERO, 0, 0, 2, 10)
        .unwrap();
    let alarms = p
        .put_target_tracking_policy(
            0,
            0,
            "ipi",
            &tracking(Metric::InvocationsPerInstance, 600.0),
        )
        .unwrap();
    assert_eq!(
        alarms,
        [
            "TargetTracking-ep/AllTraffic-ipi-AlarmHigh",
            "TargetTracking-ep/AllTraffic-ipi-AlarmLow"
        ]
    );
    let (mut p, _) = run_on(p, 900, step_load(300));
    assert_eq!(
        activities(&p),
        vec![(
            480,
            2,
            4,
            ActivityStatus::Successful,
            Some(480 + READY_AFTER)
        )]
    );
    let targets = p.scalable_targets();
    assert_eq!(targets[0].policies[0].kind, "TargetTrackingScaling");
    p.delete_scaling_policy(0, 0, "ipi").unwrap();
    assert!(matches!(
        p.delete_scaling_policy(0, 0, "ipi"),
        Err(ApiError::NotFound(_))
    ));
    assert!(p.scalable_targets()[0].policies.is_empty());
}

#[test]
fn a_scale_in_keeps_the_zones_balanced() {
    // Six instances over a, b, c (ids 0–5: a b c a b c); a scheduled
    // action lowers max to 4 at 100 s. The first to go is the newest of
    // the lowest of the fullest zones (3, zone a), then b's (4): two per
    // zone less one, never two from one zone.
    let mut a = bounds(2, 10);
    a.scheduled.push(ScheduledSpec {
        at: s(100),
        min: None,
        max: Some(4),
    });
    let (p, events) = run(&scaled(6, a), 200, |_| 100_000_000);
    let drained: Vec<Option<u32>> = events
        .iter()
        .filter(|e| e.kind == EventKind::InstanceDraining)
        .map(|e| e.instance)
        .collect();
    assert_eq!(drained, [Some(3), Some(4)]);
    assert_eq!(p.fleet(0, 0).in_service, 4);
}

#[test]
fn step_caps_make_one_activity_move_more_gradually() {
    // As the fifteen-low-datapoints case: the formula takes four
    // instances to two at 900 s; with max_scale_in_step = 1 the first
    // scale-in removes one, and the next (after the 600 s cooldown) one
    // more. On the way out, max_scale_out_step = 1 turns 2 → 4 into 2 → 3.
    let mut a = bounds(1, 10);
    let mut tt = tracking(Metric::InvocationsPerInstance, 600.0);
    tt.scale_in_cooldown = s(600);
    tt.max_scale_in_step = Some(1);
    a.target_tracking.push(tt);
    let (p, _) = run(&scaled(4, a), 1700, |t| {
        if t < 900 {
            50_000_000
        } else {
            200_000_000
        }
    });
    let acts: Vec<(u64, u32, u32)> = activities(&p).iter().map(|a| (a.0, a.1, a.2)).collect();
    assert_eq!(acts, [(900, 4, 3), (1500, 3, 2)]);

    let mut a = bounds(2, 10);
    let mut tt = tracking(Metric::InvocationsPerInstance, 600.0);
    tt.max_scale_out_step = Some(1);
    a.target_tracking.push(tt);
    let (p, _) = run(&scaled(2, a), 900, step_load(300));
    assert_eq!((activities(&p)[0].0, activities(&p)[0].2), (480, 3));
}
