//! Behaviour tests: build a platform, feed it requests and timers in
//! virtual time, and check what comes out. No sockets, no sleeps.

use std::time::Duration;

use crate::dist::ServiceDist;
use crate::spec::*;
use crate::*;

pub(crate) fn variant(
    name: &str,
    count: u32,
    concurrency: u32,
    service: ServiceDist,
) -> VariantSpec {
    VariantSpec {
        name: name.into(),
        model: "m".into(),
        weight: 1.0,
        instance: InstanceTypeSpec {
            name: "ml.m5.xlarge".into(),
            price_per_hour: 0.36,
            provisioning_min: Duration::from_secs(60),
            provisioning_max: Duration::from_secs(60),
            vcpus: 4,
            gpus: 0,
        },
        instance_count: count,
        concurrency,
        service,
        external: false,
        model_load: std::time::Duration::ZERO,
        autoscaling: None,
        multi_model: None,
        error_rate: 0.0,
        shadow: None,
    }
}

pub(crate) fn one_endpoint(
    variants: Vec<VariantSpec>,
    routing: Routing,
    faults: Vec<FaultSpec>,
) -> PlatformSpec {
    PlatformSpec {
        endpoints: vec![EndpointSpec {
            name: "ep".into(),
            routing,
            zones: 3,
            variants,
        }],
        faults,
        shortages: vec![],
        zone_outages: vec![],
        feature_store: Default::default(),
    }
}

/// A tiny event loop: feeds requests at the given times and runs timers.
struct Harness {
    p: Platform,
    results: Vec<RequestResult>,
    events: Vec<PlatformEvent>,
}

impl Harness {
    fn new(spec: &PlatformSpec) -> Self {
        let mut h = Harness {
            p: Platform::new(spec, RngStreams::new(11)),
            results: vec![],
            events: vec![],
        };
        h.drain();
        h
    }

    fn drain(&mut self) {
        self.results
            .extend(std::iter::from_fn(|| self.p.poll_result()));
        self.events
            .extend(std::iter::from_fn(|| self.p.poll_event()));
    }

    fn run_until(&mut self, t: SimTime) {
        while let Some(now) = self.p.poll_timeout().filter(|&at| at <= t) {
            self.p.handle_timeout(now);
            self.drain();
        }
    }

    fn send(&mut self, at_ms: u64, timeout_ms: u64, target_variant: Option<u16>) {
        let now = SimTime::from_nanos(at_ms * 1_000_000);
        self.run_until(now);
        self.p.handle_request(
            now,
            Request {
                id: 0,
                endpoint: 0,
                target_variant,
                sent_at: now,
                timeout_ns: timeout_ms * 1_000_000,
                target_model: None,
            },
        );
        self.drain();
    }

    fn outcomes(&self) -> Vec<(Outcome, u64)> {
        self.results
            .iter()
            .map(|r| (r.outcome, r.latency_ns / 1_000_000))
            .collect()
    }
}

/// The service start of request `id` in `slot` of `instance`.
fn start(id: u64, instance: u32, slot: u32) -> ServiceStart {
    ServiceStart {
        id,
        instance,
        slot,
        model: mme::ModelTag::NO_MODEL,
    }
}

fn constant(ms: u64) -> ServiceDist {
    ServiceDist::constant(ms as f64 / 1e3).unwrap()
}

#[test]
fn fifo_queue_and_concurrency_slots() {
    let spec = one_endpoint(
        vec![variant("A", 1, 2, constant(100))],
        Routing::Random,
        vec![],
    );
    let mut h = Harness::new(&spec);
    for _ in 0..4 {
        h.send(0, 10_000, None);
    }
    h.run_until(SimTime::MAX);
    // Two slots: two finish at 100 ms, the two queued at 200 ms.
    assert_eq!(
        h.outcomes(),
        vec![
            (Outcome::Ok, 100),
            (Outcome::Ok, 100),
            (Outcome::Ok, 200),
            (Outcome::Ok, 200)
        ]
    );
    assert_eq!(h.results[3].queue_wait_ns, 100_000_000);
}

#[test]
fn queued_requests_time_out_at_their_deadline() {
    let spec = one_endpoint(
        vec![variant("A", 1, 1, constant(100))],
        Routing::Random,
        vec![],
    );
    let mut h = Harness::new(&spec);
    h.send(0, 1000, None);
    h.send(0, 50, None); // queued behind a 100 ms request; gives up at 50 ms
    h.send(0, 150, None); // starts at 100 ms, would end at 200 ms > 150 ms
    h.run_until(SimTime::MAX);
    let mut got = h.outcomes();
    got.sort();
    assert_eq!(
        got,
        vec![
            (Outcome::Ok, 100),
            (Outcome::Timeout, 50),
            (Outcome::Timeout, 150)
        ]
    );
}

#[test]
fn target_variant_overrides_weights() {
    let mut b = variant("B", 1, 1, constant(7));
    b.weight = 0.0;
    let spec = one_endpoint(
        vec![variant("A", 1, 1, constant(5)), b],
        Routing::Random,
        vec![],
    );
    let mut h = Harness::new(&spec);
    for i in 0..20 {
        h.send(i * 100, 1000, None);
    }
    h.send(5000, 1000, Some(1));
    h.run_until(SimTime::MAX);
    assert!(
        h.results[..20].iter().all(|r| r.variant == 0),
        "weight 0 gets nothing"
    );
    assert_eq!(h.results[20].variant, 1);
}

#[test]
fn weights_split_traffic() {
    let mut a = variant("A", 1, 1000, constant(1));
    a.weight = 3.0;
    let spec = one_endpoint(
        vec![a, variant("B", 1, 1000, constant(1))],
        Routing::Random,
        vec![],
    );
    let mut h = Harness::new(&spec);
    for i in 0..20_000 {
        h.send(i, 1000, None);
    }
    h.run_until(SimTime::MAX);
    let to_a = h.results.iter().filter(|r| r.variant == 0).count() as f64 / 20_000.0;
    assert!((to_a - 0.75).abs() < 0.015, "{to_a}");
}

#[test]
fn least_outstanding_requests_spreads_load() {
    // Four single-slot instances, four simultaneous requests: LOR puts one
    // on each, so nobody queues. (Random routing would queue some.)
    let spec = one_endpoint(
        vec![variant("A", 4, 1, constant(100))],
        Routing::LeastOutstandingRequests,
        vec![],
    );
    let mut h = Harness::new(&spec);
    for _ in 0..4 {
        h.send(0, 10_000, None);
    }
    h.run_until(SimTime::MAX);
    assert!(
        h.outcomes().iter().all(|&o| o == (Outcome::Ok, 100)),
        "{:?}",
        h.outcomes()
    );
}

#[test]
fn crash_fails_inflight_routes_to_dead_until_detected_then_replaces() {
    let crash = FaultSpec {
        at: Duration::from_millis(50),
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
    let spec = one_endpoint(
        vec![variant("A", 1, 1, constant(100))],
        Routing::Random,
        vec![crash],
    );
    let mut h = Harness::new(&spec);
    h.send(0, 10_000, None); // in flight at the crash
    h.send(1000, 10_000, None); // dead but not yet detected: fails fast
    h.send(3000, 10_000, None); // detected, replacement provisioning: nothing in service
    h.send(62_100, 10_000, None); // replacement in service since 62.05 s
    h.run_until(SimTime::MAX);
    assert_eq!(
        h.outcomes(),
        vec![
            (Outcome::Server5xx, 50),
            (Outcome::Server5xx, 0),
            (Outcome::Server5xx, 0),
            (Outcome::Ok, 100)
        ]
    );
    let kinds: Vec<&str> = h.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        vec![
            "fault_injected",
            "instance_crashed",
            "instance_terminated",
            "instance_launched",
            "instance_in_service"
        ]
    );
    assert_eq!(h.events[4].at, SimTime::from_nanos(62_050_000_000));
    // Billing: the dead instance until termination (2.05 s); the
    // replacement from its launch (2.05 s) to the end.
    let cost = h.p.cost(SimTime::from_secs_f64(100.0));
    assert!((cost[0].instance_seconds - 100.0).abs() < 1e-9, "{cost:?}");
    assert!((cost[0].cost_usd - 0.01).abs() < 1e-12);
}

#[test]
fn fault_rules_first_non_pass_wins_and_windows_end() {
    let target = FaultTarget {
        endpoint: 0,
        variant: None,
    };
    let faults = vec![
        FaultSpec {
            at: Duration::from_secs(1),
            duration: Some(Duration::from_secs(1)),
            target,
            kind: FaultKind::LatencyInjection {
                delay: Duration::from_millis(300),
            },
        },
        FaultSpec {
            at: Duration::from_secs(1),
            duration: Some(Duration::from_secs(2)),
            target,
            kind: FaultKind::ErrorInjection {
                rate: 1.0,
                status: 503,
            },
        },
        FaultSpec {
            at: Duration::from_secs(4),
            duration: Some(Duration::from_secs(1)),
            target,
            kind: FaultKind::Blackhole,
        },
        FaultSpec {
            at: Duration::from_secs(6),
            duration: Some(Duration::from_secs(1)),
            target,
            kind: FaultKind::ErrorInjection {
                rate: 1.0,
                status: 429,
            },
        },
    ];
    let spec = one_endpoint(
        vec![variant("A", 1, 8, constant(10))],
        Routing::Random,
        faults,
    );
    let mut h = Harness::new(&spec);
    for at in [0, 1500, 2500, 4500, 5500, 6500, 7500] {
        h.send(at, 2000, None);
    }
    h.run_until(SimTime::MAX);
    let mut got = h.outcomes();
    got.sort();
    assert_eq!(
        got,
        vec![
            (Outcome::Ok, 10),        // before any fault
            (Outcome::Ok, 10),        // after the blackhole
            (Outcome::Ok, 10),        // after the throttling
            (Outcome::Ok, 310),       // latency rule listed first wins over the 503 rule
            (Outcome::Server5xx, 0),  // latency window over, 503 rule still on
            (Outcome::Timeout, 2000), // blackhole
            (Outcome::Throttled, 0),
        ]
    );
    assert_eq!(
        h.events
            .iter()
            .filter(|e| e.kind == EventKind::FaultCleared)
            .count(),
        4
    );
}

#[test]
fn gauges_and_little_area() {
    let spec = one_endpoint(
        vec![variant("A", 1, 1, constant(100))],
        Routing::Random,
        vec![],
    );
    let mut h = Harness::new(&spec);
    h.send(0, 10_000, None);
    h.send(0, 10_000, None);
    h.send(0, 10_000, None);
    let mut g = vec![];
    h.p.gauges(&mut g);
    assert_eq!(
        (
            g[0].queue_depth,
            g[0].max_queue_depth,
            g[0].busy_slots,
            g[0].instances_in_service
        ),
        (2, 2, 1, 1)
    );
    h.run_until(SimTime::MAX);
    // In system: 3 for 100 ms, 2 for 100 ms, 1 for 100 ms → area 0.6 s.
    let mean = h.p.mean_in_system(0, SimTime::from_secs_f64(1.0));
    assert!((mean - 0.6).abs() < 1e-9, "{mean}");
}

#[test]
fn compressing_the_timeline_shrinks_times_but_not_service_or_rates() {
    let mut spec = one_endpoint(
        vec![variant("A", 2, 4, ServiceDist::constant(0.012).unwrap())],
        Routing::Random,
        vec![],
    );
    spec.faults.push(FaultSpec {
        at: Duration::from_secs(300),
        duration: Some(Duration::from_secs(60)),
        target: FaultTarget {
            endpoint: 0,
            variant: None,
        },
        kind: FaultKind::InstanceCrash {
            count: 1,
            detect_after: Duration::from_secs(2),
        },
    });
    let c = crate::scale::TimeScale::new(20.0).platform(&spec);
    assert_eq!(c.faults[0].at, Duration::from_secs(15));
    assert_eq!(c.faults[0].duration, Some(Duration::from_secs(3)));
    assert_eq!(
        c.faults[0].kind,
        FaultKind::InstanceCrash {
            count: 1,
            detect_after: Duration::from_millis(100),
        }
    );
    let v = &c.endpoints[0].variants[0];
    assert_eq!(v.instance.provisioning_min, Duration::from_secs(3));
    // Service times are real under any time scale.
    let mut rng = RngStreams::new(1).stream("s");
    assert_eq!(v.service.sample(&mut rng), 0.012);
    // x = 1 changes nothing.
    let same = crate::scale::TimeScale::new(1.0).platform(&spec);
    assert_eq!(same.faults[0].at, spec.faults[0].at);

    let ramp = ArrivalSpec::Ramp {
        from: 10.0,
        to: 100.0,
        over: 600.0,
    };
    match ramp.compress_time(20.0) {
        ArrivalSpec::Ramp { from, to, over } => assert_eq!((from, to, over), (10.0, 100.0, 30.0)),
        other => panic!("{other:?}"),
    }
    let trace = ArrivalSpec::Trace {
        times: vec![0.0, 1.0, 5.0, 10.0].into(),
    };
    match trace.compress_time(2.0) {
        ArrivalSpec::Trace { times } => assert_eq!(&*times, &[0.0, 1.0, 5.0]),
        other => panic!("{other:?}"),
    }
    let poisson = ArrivalSpec::Poisson { rate: 150.0 };
    assert_eq!(poisson.compress_time(20.0).mean_rate(30.0), 150.0);
}

#[test]
fn live_faults_start_now_and_results_carry_their_request_id_and_cause() {
    let spec = one_endpoint(
        vec![variant("A", 1, 1, ServiceDist::constant(0.010).unwrap())],
        Routing::Random,
        vec![],
    );
    let mut p = Platform::new(&spec, RngStreams::new(1));
    let now = SimTime::from_nanos(5_000_000_000);
    let f = p.handle_fault(
        now,
        FaultSpec {
            at: Duration::from_secs(999),
            duration: None,
            target: FaultTarget {
                endpoint: 0,
                variant: None,
            },
            kind: FaultKind::ErrorInjection {
                rate: 1.0,
                status: 429,
            },
        },
    );
    assert_eq!(f, 0);
    let ev = p.poll_event().expect("fault event");
    assert_eq!((ev.kind, ev.at), (EventKind::FaultInjected, now));
    p.handle_request(
        now,
        Request {
            id: 42,
            endpoint: 0,
            target_variant: None,
            sent_at: now,
            timeout_ns: 1_000_000_000,
            target_model: None,
        },
    );
    let r = p.poll_result().expect("answered at once");
    assert_eq!(r.id, 42);
    assert_eq!(r.outcome, Outcome::Throttled);
    assert_eq!(r.cause, Cause::Injected(429));
}

#[test]
fn external_variants_hold_the_slot_until_the_driver_completes() {
    let mut v = variant("A", 1, 1, ServiceDist::constant(0.0).unwrap());
    v.external = true;
    let spec = one_endpoint(vec![v], Routing::Random, vec![]);
    let mut p = Platform::new(&spec, RngStreams::new(1));
    let ms = |m: u64| SimTime::from_nanos(m * 1_000_000);
    let req = |id: u64, at: u64| Request {
        id,
        endpoint: 0,
        target_variant: None,
        sent_at: ms(at),
        timeout_ns: 100_000_000,
        target_model: None,
    };
    assert_eq!(
        p.poll_action(),
        Some(Action::StartModelServer {
            instance: 0,
            endpoint: 0,
            variant: 0
        })
    );
    p.handle_request(ms(0), req(1, 0));
    p.handle_request(ms(1), req(2, 1));
    p.handle_request(ms(2), req(3, 2));
    let first = p.poll_start().unwrap();
    assert_eq!((first.id, first.instance, first.slot), (1, 0, 0));
    assert!(p.poll_start().is_none(), "one slot: the others queue");
    assert_eq!(p.poll_timeout(), Some(ms(101)), "the second's deadline");
    // A stale completion (wrong id) changes nothing.
    p.handle_completion(ms(4), start(99, 0, 0), Ok(()));
    assert!(p.poll_result().is_none());

    p.handle_completion(ms(5), start(1, 0, 0), Ok(()));
    let r = p.poll_result().unwrap();
    assert_eq!(
        (r.id, r.outcome, r.cause, r.latency_ns),
        (1, Outcome::Ok, Cause::Served, 5_000_000)
    );
    let second = p.poll_start().unwrap();
    assert_eq!(second.id, 2);
    p.handle_completion(ms(7), start(2, 0, 0), Err(500));
    let r = p.poll_result().unwrap();
    assert_eq!(
        (r.outcome, r.cause),
        (Outcome::Server5xx, Cause::ModelError(500))
    );
    assert_eq!(r.queue_wait_ns, 4_000_000);
    // The third answers after its 100 ms deadline: a timeout at 100 ms.
    assert_eq!(p.poll_start().unwrap().id, 3);
    p.handle_completion(ms(150), start(3, 0, 0), Ok(()));
    let r = p.poll_result().unwrap();
    assert_eq!((r.outcome, r.latency_ns), (Outcome::Timeout, 100_000_000));
    // Completing twice does nothing.
    p.handle_completion(ms(151), start(3, 0, 0), Ok(()));
    assert!(p.poll_result().is_none());
}

#[test]
fn a_crash_fails_external_requests_and_late_completions_are_ignored() {
    let mut v = variant("A", 1, 2, ServiceDist::constant(0.0).unwrap());
    v.external = true;
    let crash = FaultSpec {
        at: Duration::from_millis(10),
        duration: None,
        target: FaultTarget {
            endpoint: 0,
            variant: None,
        },
        kind: FaultKind::InstanceCrash {
            count: 1,
            detect_after: Duration::from_secs(1),
        },
    };
    let spec = one_endpoint(vec![v], Routing::Random, vec![crash]);
    let mut p = Platform::new(&spec, RngStreams::new(1));
    let at = p.poll_timeout().unwrap();
    p.handle_request(
        SimTime::ZERO,
        Request {
            id: 7,
            endpoint: 0,
            target_variant: None,
            sent_at: SimTime::ZERO,
            timeout_ns: 1_000_000_000,
            target_model: None,
        },
    );
    let s = p.poll_start().unwrap();
    p.handle_timeout(at);
    let r = p.poll_result().unwrap();
    assert_eq!(
        (r.id, r.outcome, r.cause),
        (7, Outcome::Server5xx, Cause::InstanceDown)
    );
    p.handle_completion(at, s, Ok(()));
    assert!(p.poll_result().is_none());
    let actions: Vec<Action> = std::iter::from_fn(|| p.poll_action()).collect();
    assert_eq!(
        actions.last(),
        Some(&Action::StopModelServer { instance: 0 }),
        "the dead instance's server is stopped: {actions:?}"
    );
}

/// `(kind, instance)` of every instance lifecycle event so far.
fn lifecycle(h: &Harness) -> Vec<(EventKind, u32)> {
    h.events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::InstanceLaunched
                    | EventKind::InstanceInService
                    | EventKind::InstanceCrashed
                    | EventKind::InstanceTerminated
            )
        })
        .map(|e| (e.kind, e.instance.unwrap()))
        .collect()
}

#[test]
fn an_external_replacement_serves_only_once_provisioned_and_healthy() {
    let mut v = variant("A", 1, 1, constant(0));
    v.external = true;
    let mut h = Harness::new(&one_endpoint(vec![v], Routing::Random, vec![]));
    let s = |secs: u64| SimTime::from_nanos(secs * 1_000_000_000);
    // The process of instance 0 (in service from the start) dies.
    h.p.handle_container_exit(s(1), 0);
    h.drain();
    h.run_until(s(3));
    assert_eq!(
        lifecycle(&h),
        [
            (EventKind::InstanceCrashed, 0),
            (EventKind::InstanceTerminated, 0),
            (EventKind::InstanceLaunched, 1),
        ]
    );
    // Provisioned at 63 s, but its process has not answered GET /ping.
    h.run_until(s(100));
    assert_eq!(lifecycle(&h).len(), 3, "not in service before its ping");
    h.send(100_000, 1_000, None);
    assert_eq!(h.results.last().unwrap().outcome, Outcome::Server5xx);
    assert!(h.p.poll_start().is_none(), "nothing routed to it");
    h.p.handle_container_healthy(s(101), 1);
    h.drain();
    assert_eq!(
        lifecycle(&h).last(),
        Some(&(EventKind::InstanceInService, 1))
    );
    h.send(102_000, 1_000, None);
    assert_eq!(h.p.poll_start().map(|st| st.instance), Some(1));
    // Reports about instances that are not waiting change nothing.
    h.p.handle_container_healthy(s(103), 1);
    h.p.handle_container_healthy(s(103), 99);
    h.p.handle_container_exit(s(103), 99);
    h.drain();
    assert_eq!(lifecycle(&h).len(), 4);
}

#[test]
fn a_healthy_process_waits_for_provisioning_and_a_failed_one_is_replaced() {
    let mut v = variant("A", 1, 1, constant(0));
    v.external = true;
    let mut h = Harness::new(&one_endpoint(vec![v], Routing::Random, vec![]));
    let s = |secs: u64| SimTime::from_nanos(secs * 1_000_000_000);
    h.p.handle_container_exit(s(0), 0);
    h.drain();
    h.run_until(s(1));
    // Instance 1 launched at 0 s; healthy at 10 s, in service at 60 s.
    h.p.handle_container_healthy(s(10), 1);
    h.drain();
    h.run_until(s(59));
    assert_eq!(
        lifecycle(&h).last(),
        Some(&(EventKind::InstanceLaunched, 1))
    );
    h.run_until(s(61));
    assert_eq!(
        lifecycle(&h).last(),
        Some(&(EventKind::InstanceInService, 1))
    );

    // Instance 2's process exits while it provisions: at the end of its
    // provisioning it fails its health check and is replaced, once.
    h.p.handle_container_exit(s(70), 1);
    h.drain();
    h.run_until(s(71));
    h.p.handle_container_exit(s(75), 2);
    h.drain();
    h.run_until(s(129));
    assert_eq!(
        lifecycle(&h).last(),
        Some(&(EventKind::InstanceLaunched, 2))
    );
    h.run_until(s(131));
    let tail: Vec<_> = lifecycle(&h).into_iter().rev().take(2).collect();
    assert_eq!(
        tail,
        [
            (EventKind::InstanceLaunched, 3),
            (EventKind::InstanceTerminated, 2)
        ]
    );
    assert!(h.events.iter().any(|e| e.detail.contains("GET /ping")));
}

#[test]
fn an_operator_ends_an_active_fault_early_and_cancels_a_scheduled_one() {
    let fault = |at: u64, status: u16| FaultSpec {
        at: Duration::from_secs(at),
        duration: Some(Duration::from_secs(100)),
        target: FaultTarget {
            endpoint: 0,
            variant: None,
        },
        kind: FaultKind::ErrorInjection { rate: 1.0, status },
    };
    let spec = one_endpoint(
        vec![variant("a", 1, 1, ServiceDist::Constant { secs: 0.001 })],
        Routing::Random,
        vec![fault(10, 500), fault(50, 503)],
    );
    let mut h = Harness::new(&spec);
    let t = |s: u64| SimTime::from_nanos(s * 1_000_000_000);
    h.run_until(t(20));
    let states =
        |h: &Harness, now| -> Vec<FaultState> { h.p.faults(now).iter().map(|f| f.2).collect() };
    assert_eq!(
        states(&h, t(20)),
        [FaultState::Active, FaultState::Scheduled]
    );
    assert!(h.p.handle_end_fault(t(20), 0));
    assert!(h.p.handle_end_fault(t(20), 1));
    assert!(!h.p.handle_end_fault(t(20), 1), "already cancelled");
    assert!(!h.p.handle_end_fault(t(20), 7), "no such fault");
    h.drain();
    h.run_until(t(200));
    assert_eq!(
        states(&h, t(200)),
        [FaultState::Cancelled, FaultState::Cancelled]
    );
    assert!(h
        .events
        .iter()
        .any(|e| e.detail == "error_injection cancelled before it started"));
    // One injection, then both cleared at the operator's time (the
    // scheduled one on record as cancelled); the cancelled fault never
    // starts, and the first one's own end timer is a no-op.
    let kinds: Vec<(EventKind, SimTime)> = h
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::FaultInjected | EventKind::FaultCleared))
        .map(|e| (e.kind, e.at))
        .collect();
    assert_eq!(
        kinds,
        [
            (EventKind::FaultInjected, t(10)),
            (EventKind::FaultCleared, t(20)),
            (EventKind::FaultCleared, t(20))
        ]
    );
}

#[test]
fn a_models_error_rate_fails_that_share_after_its_service_time() {
    // Two variants by TargetVariant: "bad" fails a quarter of its
    // requests, "good" none; both take 10 ms.
    let mut bad = variant("bad", 1, 1, constant(10));
    bad.error_rate = 0.25;
    let spec = one_endpoint(
        vec![variant("good", 1, 1, constant(10)), bad],
        Routing::Random,
        vec![],
    );
    let mut h = Harness::new(&spec);
    let n = 4_000u64;
    for k in 0..n {
        h.send(k * 20, 1_000, Some((k % 2) as u16));
    }
    h.run_until(SimTime::from_nanos(n * 20_000_000 + 1_000_000_000));
    assert_eq!(h.results.len(), n as usize);
    for r in &h.results {
        // A failed request still took its service time.
        assert_eq!(r.latency_ns, 10_000_000, "{r:?}");
        match r.variant {
            0 => assert_eq!(r.outcome, Outcome::Ok),
            _ => assert!(
                r.outcome == Outcome::Ok
                    || (r.outcome == Outcome::Server5xx && r.cause == Cause::ModelError(500)),
                "{r:?}"
            ),
        }
    }
    let failed = h
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::Server5xx)
        .count() as f64;
    // Binomial(2000, 0.25): mean 500, sd 19.4; five sd either way.
    assert!(
        (failed - 500.0).abs() < 5.0 * 19.4,
        "{failed} of 2000 failed"
    );

    // The error draws have a stream of their own: service and routing
    // draws are the same with or without a bad model, so the latencies
    // (drawn, not constant here) match request for request.
    let run = |rate: f64| {
        let d = ServiceDist::lognormal_from_p50_p99(0.008, 0.030).unwrap();
        let mut b = variant("bad", 2, 1, d.clone());
        b.error_rate = rate;
        let spec = one_endpoint(vec![variant("good", 2, 1, d), b], Routing::Random, vec![]);
        let mut h = Harness::new(&spec);
        for k in 0..n {
            h.send(k * 20, 1_000, None);
        }
        h.run_until(SimTime::from_nanos(n * 20_000_000 + 1_000_000_000));
        h.results
    };
    let (with_errors, without) = (run(0.25), run(0.0));
    let key = |r: &RequestResult| (r.sent_at, r.variant, r.latency_ns);
    assert_eq!(
        with_errors.iter().map(key).collect::<Vec<_>>(),
        without.iter().map(key).collect::<Vec<_>>()
    );
    assert!(with_errors.iter().any(|r| r.outcome == Outcome::Server5xx));
    assert!(without.iter().all(|r| r.outcome == Outcome::Ok));
}

/// Production `P` (two instances) and shadow `S` copying `sampling` of
/// its requests; constant 10 ms service, or log-normal when `drawn`.
fn shadowed(sampling: f64, drawn: bool) -> PlatformSpec {
    let d = if drawn {
        ServiceDist::lognormal_from_p50_p99(0.008, 0.030).unwrap()
    } else {
        constant(10)
    };
    let mut s = variant("S", 1, 4, constant(30));
    s.weight = 0.0;
    s.error_rate = 0.5;
    s.shadow = Some(ShadowSpec { of: 0, sampling });
    one_endpoint(vec![variant("P", 2, 1, d), s], Routing::Random, vec![])
}

#[test]
fn a_shadow_gets_exactly_its_sampled_copies_and_answers_nobody_else() {
    let n = 3_000u64;
    for sampling in [1.0, 0.3] {
        let mut h = Harness::new(&shadowed(sampling, false));
        for k in 0..n {
            h.send(k * 10, 1_000, None);
        }
        h.run_until(SimTime::from_nanos(n * 10_000_000 + 1_000_000_000));
        let prod = h.results.iter().filter(|r| r.variant == 0).count() as u64;
        let copies = h.results.iter().filter(|r| r.variant == 1).count() as u64;
        assert_eq!(prod, n, "routing never picks the shadow");
        // One draw per production request from the endpoint's shadow
        // stream: replaying that stream gives the exact count.
        let mut rng = RngStreams::new(11).stream("shadow/ep");
        let want = (0..n)
            .filter(|_| crate::dist::unit(&mut rng) < sampling)
            .count() as u64;
        assert_eq!(copies, want, "sampling {sampling}");
        if sampling == 1.0 {
            assert_eq!(copies, n);
        } else {
            assert!((copies as f64 / n as f64 - 0.3).abs() < 0.03, "{copies}");
        }
        // The shadow's own service time and errors, on its own instance.
        let shadow: Vec<&RequestResult> = h.results.iter().filter(|r| r.variant == 1).collect();
        assert!(shadow.iter().all(|r| r.latency_ns >= 30_000_000));
        assert!(shadow.iter().any(|r| r.outcome == Outcome::Server5xx));
        assert!(h
            .results
            .iter()
            .filter(|r| r.variant == 0)
            .all(|r| r.outcome == Outcome::Ok && r.latency_ns == 10_000_000));
    }
}

#[test]
fn a_shadow_moves_no_production_number() {
    let n = 2_000u64;
    let run = |spec: &PlatformSpec| {
        let mut h = Harness::new(spec);
        for k in 0..n {
            h.send(k * 7, 1_000, None);
        }
        h.run_until(SimTime::from_nanos(n * 7_000_000 + 1_000_000_000));
        h.results
            .iter()
            .filter(|r| r.variant == 0)
            .map(|r| (r.sent_at, r.latency_ns, r.outcome))
            .collect::<Vec<_>>()
    };
    let with = shadowed(1.0, true);
    let mut without = with.clone();
    without.endpoints[0].variants.truncate(1);
    assert_eq!(run(&with), run(&without));
}
