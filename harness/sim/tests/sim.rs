//! The simulator checked against itself (determinism, conservation) and
//! against queueing theory (Erlang C, M/M/1, Little's law).

use std::path::Path;
use std::time::Duration;

use gameday_core::arrival::ArrivalSpec;
use gameday_core::dist::ServiceDist;
use gameday_core::spec::*;
use gameday_report::writers::{write_events, write_json, write_timeline};
use gameday_report::{RunRecord, SloSpec};
use gameday_sim::{simulate, SimConfig};

fn run_scenario(file: &str, seed: Option<u64>) -> RunRecord {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(file);
    let sc = gameday_scenario::load(&p).unwrap();
    let seed = seed.unwrap_or(sc.seed);
    simulate(SimConfig {
        training: &Default::default(),
        platform: &sc.platform,
        workloads: &sc.workloads,
        duration: sc.duration,
        interval: sc.timeline_interval,
        seed,
        stop: None,
        progress: None,
        slo: &sc.slo,
    })
    .finish(&sc.name, seed, &sc.slo)
}

fn bytes(rec: &RunRecord) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (mut j, mut t, mut e) = (vec![], vec![], vec![]);
    write_json(&rec.report, &mut j).unwrap();
    write_timeline(&rec.timeline, &mut t).unwrap();
    write_events(&rec.events, &mut e).unwrap();
    (j, t, e)
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    for file in [
        "quickstart.toml",
        "canary-rollout.toml",
        "flash-sale-brownout.toml",
        "multi-model-thrash.toml",
    ] {
        let a = bytes(&run_scenario(file, None));
        let b = bytes(&run_scenario(file, None));
        assert!(a == b, "{file}: two runs with the same seed differ");
        let c = bytes(&run_scenario(file, Some(99)));
        assert_ne!(
            a.0, c.0,
            "{file}: a different seed gave the same report.json"
        );
    }
}

/// One endpoint, one variant, exponential service, Poisson arrivals.
fn mm(
    lambda: f64,
    mean_service: f64,
    instances: u32,
    concurrency: u32,
    routing: Routing,
) -> (PlatformSpec, Vec<WorkloadSpec>) {
    let platform = PlatformSpec {
        endpoints: vec![EndpointSpec {
            name: "q".into(),
            routing,
            zones: 3,
            variants: vec![VariantSpec {
                name: "AllTraffic".into(),
                model: "exp".into(),
                weight: 1.0,
                instance: InstanceTypeSpec {
                    name: "ml.m5.xlarge".into(),
                    price_per_hour: 0.23,
                    provisioning_min: Duration::from_secs(300),
                    provisioning_max: Duration::from_secs(300),
                    vcpus: 4,
                    gpus: 0,
                },
                instance_count: instances,
                concurrency,
                service: ServiceDist::exponential(mean_service).unwrap(),
                external: false,
                model_load: std::time::Duration::ZERO,
                autoscaling: None,
                multi_model: None,
                error_rate: 0.0,
                shadow: None,
            }],
        }],
        faults: vec![],
        shortages: vec![],
        zone_outages: vec![],
        feature_store: Default::default(),
    };
    let workloads = vec![WorkloadSpec {
        name: "poisson".into(),
        endpoint: 0,
        arrival: ArrivalSpec::Poisson { rate: lambda },
        timeout: Duration::from_secs(3600),
        target_variant: None,
        target_model: Default::default(),
    }];
    (platform, workloads)
}

/// Erlang C: probability an arrival waits, and mean wait, for M/M/c.
fn erlang_c(lambda: f64, mu: f64, c: u32) -> (f64, f64) {
    let a = lambda / mu;
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..c {
        if k > 0 {
            term *= a / k as f64;
        }
        sum += term;
    }
    let top = term * a / c as f64 * (c as f64 / (c as f64 - a));
    let p_wait = top / (sum + top);
    (p_wait, p_wait / (c as f64 * mu - lambda))
}

struct Estimate {
    p_wait: f64,
    wq: f64,
    wq_stderr: f64,
    p_stderr: f64,
    requests: u64,
}

/// Pools `reps` independent replications (seeds 1..=reps) and estimates the
/// standard error from their spread.
fn replicate(
    platform: &PlatformSpec,
    workloads: &[WorkloadSpec],
    hours: f64,
    reps: u64,
) -> Estimate {
    let mut wq = vec![];
    let mut pw = vec![];
    let mut requests = 0;
    for seed in 1..=reps {
        let rec = simulate(SimConfig {
            training: &Default::default(),
            platform,
            workloads,
            duration: Duration::from_secs_f64(hours * 3600.0),
            interval: Duration::from_secs(600),
            seed,
            stop: None,
            progress: None,
            slo: &SloSpec::default(),
        })
        .finish("mm", seed, &SloSpec::default());
        let e = &rec.report.endpoints[0];
        assert_eq!(e.requests, e.ok, "no request may fail or time out here");
        requests += e.requests;
        wq.push(e.queue_wait_ms.mean / 1e3);
        pw.push(e.queue_wait_ms.waited_fraction);
    }
    let stats = |v: &[f64]| {
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
        (m, (var / n).sqrt())
    };
    let (wq_m, wq_se) = stats(&wq);
    let (p_m, p_se) = stats(&pw);
    Estimate {
        p_wait: p_m,
        wq: wq_m,
        wq_stderr: wq_se,
        p_stderr: p_se,
        requests,
    }
}

#[test]
fn mmc_matches_erlang_c_at_50_80_90_percent_utilisation() {
    let (c, mean) = (4u32, 0.010);
    let mu = 1.0 / mean;
    // (utilisation, hours per replication): longer runs where waits vary more.
    for (rho, hours) in [(0.5, 0.5), (0.8, 1.0), (0.9, 2.0)] {
        let lambda = rho * c as f64 * mu;
        let (platform, workloads) = mm(lambda, mean, 1, c, Routing::Random);
        let est = replicate(&platform, &workloads, hours, 8);
        let (p_theory, wq_theory) = erlang_c(lambda, mu, c);
        let wq_err = (est.wq / wq_theory - 1.0).abs();
        eprintln!(
            "rho {rho}: {} requests; P(wait) {:.4} vs {:.4} (se {:.4}); Wq {:.3} ms vs {:.3} ms (rel err {:.4}, rel se {:.4})",
            est.requests,
            est.p_wait,
            p_theory,
            est.p_stderr,
            est.wq * 1e3,
            wq_theory * 1e3,
            wq_err,
            est.wq_stderr / wq_theory
        );
        // The bounds are fair: each is at least two standard errors wide.
        assert!(
            est.wq_stderr / wq_theory < 0.015,
            "rho {rho}: too few requests for a 3% bound"
        );
        assert!(
            est.p_stderr < 0.005,
            "rho {rho}: too few requests for a 0.01 bound"
        );
        assert!(
            wq_err < 0.03,
            "rho {rho}: mean wait off by {:.2}%",
            wq_err * 100.0
        );
        assert!(
            (est.p_wait - p_theory).abs() < 0.01,
            "rho {rho}: P(wait) {} vs {p_theory}",
            est.p_wait
        );
    }
}

#[test]
fn erlang_c_formula_matches_the_design_example() {
    // c = 3, a = 2, mu = 1: C = 4/9, Wq = 4/9.
    let (p, wq) = erlang_c(2.0, 1.0, 3);
    assert!((p - 4.0 / 9.0).abs() < 1e-12);
    assert!((wq - 4.0 / 9.0).abs() < 1e-12);
}

#[test]
fn random_routing_to_single_slot_instances_is_independent_mm1_queues() {
    // c instances with one slot each, random routing: c M/M/1 queues at
    // lambda / c. P(wait) = rho, Wq = rho / (mu - lambda / c).
    let (c, mean, rho) = (3u32, 0.020, 0.7);
    let mu = 1.0 / mean;
    let lambda = rho * mu * c as f64;
    let (platform, workloads) = mm(lambda, mean, c, 1, Routing::Random);
    let est = replicate(&platform, &workloads, 1.5, 8);
    let wq_theory = rho / (mu - lambda / c as f64);
    assert!(est.wq_stderr / wq_theory < 0.015);
    assert!(
        (est.wq / wq_theory - 1.0).abs() < 0.03,
        "Wq {} vs {wq_theory}",
        est.wq
    );
    assert!(
        (est.p_wait - rho).abs() < 0.01,
        "P(wait) {} vs {rho}",
        est.p_wait
    );
    // Least-outstanding routing pools the queue: it must wait less.
    let (platform, workloads) = mm(lambda, mean, c, 1, Routing::LeastOutstandingRequests);
    let lor = replicate(&platform, &workloads, 0.5, 2);
    assert!(lor.wq < 0.5 * est.wq, "LOR {} vs random {}", lor.wq, est.wq);
}

#[test]
fn littles_law_holds_on_reported_figures() {
    let rec = run_scenario("mmc-erlang-check.toml", None);
    let e = &rec.report.endpoints[0];
    let l_from_lambda_w = e.throughput_rps * e.latency_ms.mean / 1e3;
    let rel = (e.mean_in_system / l_from_lambda_w - 1.0).abs();
    assert!(
        rel < 0.005,
        "L = {} but lambda * W = {}",
        e.mean_in_system,
        l_from_lambda_w
    );
}

#[test]
fn request_counts_add_up_everywhere() {
    for file in [
        "quickstart.toml",
        "canary-rollout.toml",
        "flash-sale-brownout.toml",
    ] {
        let rec = run_scenario(file, None);
        for e in &rec.report.endpoints {
            assert_eq!(e.ok + e.errors.total(), e.requests, "{file}: endpoint");
            let v_req: u64 = e.variants.iter().map(|v| v.requests).sum();
            assert_eq!(v_req, e.requests, "{file}: variants sum to the endpoint");
            for v in &e.variants {
                assert_eq!(
                    v.ok + v.errors.total(),
                    v.requests,
                    "{file}: variant {}",
                    v.name
                );
            }
            let t_req: u64 = rec
                .timeline
                .iter()
                .filter(|r| r.endpoint == e.name)
                .map(|r| r.requests)
                .sum();
            let t_ok: u64 = rec
                .timeline
                .iter()
                .filter(|r| r.endpoint == e.name)
                .map(|r| r.ok)
                .sum();
            assert_eq!(
                (t_req, t_ok),
                (e.requests, e.ok),
                "{file}: timeline sums to the totals"
            );
        }
    }
    // The brownout scenario exercises timeouts and 5xx; the canary 5xx on one variant.
    let b = run_scenario("flash-sale-brownout.toml", None);
    assert!(b.report.endpoints[0].errors.timeout > 0);
    let c = run_scenario("canary-rollout.toml", None);
    let canary = &c.report.endpoints[0].variants[1];
    let stable = &c.report.endpoints[0].variants[0];
    assert!(canary.errors.server_5xx > 0 && stable.errors.server_5xx == 0);
}

#[test]
fn crash_shows_errors_and_capacity_drop_in_timeline_and_events() {
    let rec = run_scenario("quickstart.toml", None);
    let crash = rec
        .events
        .iter()
        .find(|e| e.kind == "instance_crashed")
        .expect("crash event");
    assert_eq!(crash.time_s, 300.0);
    let kinds: Vec<&str> = rec.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "fault_injected",
            "instance_crashed",
            "instance_terminated",
            "instance_launched"
        ]
    );
    let before: Vec<_> = rec.timeline.iter().filter(|r| r.time_s < 290.0).collect();
    assert!(before
        .iter()
        .all(|r| r.server_5xx == 0 && r.instances_in_service == Some(2)));
    let at = rec.timeline.iter().find(|r| r.time_s == 300.0).unwrap();
    // About half of 2 s of 150 req/s is routed to the dead instance.
    assert!((100..=250).contains(&at.server_5xx), "{at:?}");
    assert!(rec
        .timeline
        .iter()
        .filter(|r| r.time_s >= 300.0)
        .all(|r| r.instances_in_service == Some(1)));
    assert!(rec
        .timeline
        .iter()
        .filter(|r| r.time_s > 300.0)
        .all(|r| r.server_5xx == 0));
    let total_5xx = rec.report.endpoints[0].errors.server_5xx;
    let timeline_5xx: u64 = rec.timeline.iter().map(|r| r.server_5xx).sum();
    assert_eq!(total_5xx, timeline_5xx);
}

#[test]
fn an_interrupted_run_is_reported_incomplete() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/quickstart.toml");
    let sc = gameday_scenario::load(&p).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(true);
    let out = simulate(SimConfig {
        training: &Default::default(),
        platform: &sc.platform,
        workloads: &sc.workloads,
        duration: sc.duration,
        interval: sc.timeline_interval,
        seed: 1,
        stop: Some(&stop),
        progress: None,
        slo: &sc.slo,
    });
    assert!(!out.complete);
    let rec = out.finish(&sc.name, 1, &sc.slo);
    assert!(!rec.report.complete);
    let e = &rec.report.endpoints[0];
    assert!(e.requests > 0 && e.requests < 90_000, "{}", e.requests);
    assert_eq!(e.ok + e.errors.total(), e.requests);
}

fn users_run(users: u32, think_s: f64, service: ServiceDist, concurrency: u32) -> (f64, f64) {
    let (mut platform, _) = mm(1.0, 0.01, 1, concurrency, Routing::Random);
    platform.endpoints[0].variants[0].service = service;
    let workloads = vec![WorkloadSpec {
        name: "users".into(),
        endpoint: 0,
        arrival: ArrivalSpec::Users {
            users,
            think_time: think_s,
        },
        timeout: Duration::from_secs(60),
        target_variant: None,
        target_model: Default::default(),
    }];
    let rec = simulate(SimConfig {
        training: &Default::default(),
        platform: &platform,
        workloads: &workloads,
        duration: Duration::from_secs(1200),
        interval: Duration::from_secs(60),
        seed: 5,
        stop: None,
        progress: None,
        slo: &SloSpec::default(),
    })
    .finish("users", 5, &SloSpec::default());
    let ep = &rec.report.endpoints[0];
    (ep.throughput_rps, ep.latency_ms.mean / 1e3)
}

#[test]
fn closed_loop_users_obey_the_interactive_response_time_law() {
    // No queueing (slots for every user): X = N / (S + Z).
    let (x, r) = users_run(10, 0.090, ServiceDist::constant(0.010).unwrap(), 64);
    assert!((r - 0.010).abs() < 1e-6, "response time {r}");
    let want = 10.0 / (0.010 + 0.090);
    assert!(
        (x - want).abs() / want < 0.02,
        "throughput {x}, want {want}"
    );

    // A saturated single slot: X = 1/S, and R = N/X - Z (the response time
    // law), so 20 users with no think time each wait for the other 19.
    let (x, r) = users_run(20, 0.0, ServiceDist::exponential(0.010).unwrap(), 1);
    assert!((x - 100.0).abs() / 100.0 < 0.02, "throughput {x}");
    let want = 20.0 / x;
    assert!(
        (r - want).abs() / want < 0.02,
        "response time {r}, want {want}"
    );
}
