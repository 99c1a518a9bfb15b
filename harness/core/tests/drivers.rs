//! One scenario through the core, driven the way each clock drives it:
//! the simulator's loop (jump to the earlier of the next arrival and
//! `poll_timeout`) and the live engine's loop (wait for the next command or
//! timer, handle commands as they come, then every timer due by now), here
//! on a scripted clock that wakes exactly on time. The outputs must be
//! identical: behaviour lives in the core, not in a driver.

use std::time::Duration;

use gameday_core::dist::ServiceDist;
use gameday_core::metrics::Period;
use gameday_core::spec::*;
use gameday_core::{
    ArrivalProcess, ArrivalSpec, Platform, PlatformEvent, Request, RequestResult, RngStreams,
    SimTime,
};

fn spec() -> PlatformSpec {
    let variant = |name: &str, count| VariantSpec {
        name: name.into(),
        model: "m".into(),
        weight: 1.0,
        instance: InstanceTypeSpec {
            name: "ml.m5.xlarge".into(),
            price_per_hour: 0.23,
            provisioning_min: Duration::from_secs(20),
            provisioning_max: Duration::from_secs(40),
            vcpus: 4,
            gpus: 0,
        },
        instance_count: count,
        concurrency: 2,
        service: ServiceDist::lognormal_from_p50_p99(0.012, 0.045).unwrap(),
        external: false,
        model_load: std::time::Duration::ZERO,
        autoscaling: None,
        multi_model: None,
        error_rate: 0.0,
        shadow: None,
    };
    let target = FaultTarget {
        endpoint: 0,
        variant: None,
    };
    PlatformSpec {
        endpoints: vec![EndpointSpec {
            name: "ep".into(),
            routing: Routing::LeastOutstandingRequests,
            zones: 3,
            variants: vec![variant("A", 3), variant("B", 1)],
        }],
        faults: vec![
            FaultSpec {
                at: Duration::from_secs(30),
                duration: None,
                target,
                kind: FaultKind::InstanceCrash {
                    count: 2,
                    detect_after: Duration::from_secs(2),
                },
            },
            FaultSpec {
                at: Duration::from_secs(50),
                duration: Some(Duration::from_secs(10)),
                target,
                kind: FaultKind::LatencyInjection {
                    delay: Duration::from_millis(30),
                },
            },
            FaultSpec {
                at: Duration::from_secs(70),
                duration: Some(Duration::from_secs(5)),
                target,
                kind: FaultKind::ErrorInjection {
                    rate: 0.5,
                    status: 503,
                },
            },
        ],
        shortages: vec![],
        zone_outages: vec![],
        feature_store: Default::default(),
    }
}

const END: SimTime = SimTime::from_nanos(90_000_000_000);

/// The run's arrivals, fixed in advance (a load generator's schedule).
fn arrivals() -> Vec<SimTime> {
    let mut p = ArrivalProcess::new(ArrivalSpec::Poisson { rate: 200.0 });
    let mut rng = RngStreams::new(5).stream("arrivals");
    std::iter::from_fn(|| p.next_arrival(&mut rng))
        .take_while(|&t| t < END)
        .collect()
}

fn request(i: usize, at: SimTime) -> Request {
    Request {
        id: i as u64,
        endpoint: 0,
        target_variant: None,
        sent_at: at,
        timeout_ns: 2_000_000_000,
        target_model: None,
    }
}

#[derive(Debug, Default, PartialEq)]
struct Outputs {
    results: Vec<RequestResult>,
    events: Vec<PlatformEvent>,
}

impl Outputs {
    fn drain(&mut self, p: &mut Platform) {
        self.results.extend(std::iter::from_fn(|| p.poll_result()));
        self.events.extend(std::iter::from_fn(|| p.poll_event()));
    }
}

fn platform() -> Platform {
    let mut p = Platform::new(&spec(), RngStreams::new(9));
    p.set_end(END);
    p
}

/// The simulator's loop.
fn virtual_loop() -> (Outputs, Platform) {
    let mut p = platform();
    let mut out = Outputs::default();
    let mut next = arrivals().into_iter().enumerate().peekable();
    loop {
        let ours = next.peek().map(|a| a.1);
        match p.poll_timeout() {
            Some(at) if ours.is_none_or(|o| at <= o) => {
                p.handle_timeout(at);
            }
            _ => {
                let Some((i, at)) = next.next() else { break };
                p.handle_request(at, request(i, at));
            }
        }
        out.drain(&mut p);
    }
    (out, p)
}

/// The live engine's loop on a scripted clock: it sleeps until the next
/// timer or command, whichever is first; a command is handled when it
/// comes, then every timer due by the clock's now.
fn engine_loop() -> (Outputs, Platform) {
    let mut p = platform();
    let mut out = Outputs::default();
    let mut commands = arrivals().into_iter().enumerate().peekable();
    let mut now;
    loop {
        let timer = p.poll_timeout();
        let command = commands.peek().map(|c| c.1);
        match (timer, command) {
            (None, None) => break,
            // A command arrives before the timer is due.
            (t, Some(c)) if t.is_none_or(|t| c < t) => {
                now = c;
                let (i, at) = commands.next().expect("peeked");
                p.handle_request(now, request(i, at));
                out.drain(&mut p);
            }
            // The wait timed out: the clock reads the timer's time.
            (Some(t), _) => now = t,
            (None, Some(_)) => unreachable!("matched above"),
        }
        if p.poll_timeout().is_some_and(|at| at <= now) {
            p.handle_timeout(now);
            out.drain(&mut p);
        }
    }
    (out, p)
}

#[test]
fn the_virtual_and_the_engine_loop_give_identical_outputs() {
    let (v, mut pv) = virtual_loop();
    let (e, mut pe) = engine_loop();
    assert!(v.results.len() > 15_000, "{}", v.results.len());
    assert!(
        v.events.len() >= 10,
        "crashes, replacements and faults happened: {:?}",
        v.events
    );
    assert_eq!(v.results.len(), e.results.len());
    assert!(v == e, "the two loops disagree");
    let (cv, ce) = (pv.cost(END), pe.cost(END));
    assert_eq!(format!("{cv:?}"), format!("{ce:?}"));
    // The metrics too: the same datapoints, at both periods.
    for variant in 0..2 {
        for period in [Period::Standard, Period::HighResolution] {
            let dv = pv.datapoints(END, 0, variant, period);
            assert!(!dv.is_empty(), "{period:?}");
            assert_eq!(dv, pe.datapoints(END, 0, variant, period), "{period:?}");
        }
    }
}
