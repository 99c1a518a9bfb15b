//! The metrics component against queueing theory: one instance with four
//! slots and a FIFO queue under Poisson arrivals and exponential service
//! is an M/M/4 queue, so over a long run `CPUUtilization` averages
//! ρ = λ/(cμ), `ConcurrentRequestsPerModel` averages L = λ(W_q + 1/μ)
//! with W_q from Erlang C, and `Invocations` per minute average 60 λ.

use std::time::Duration;

use gameday_core::dist::ServiceDist;
use gameday_core::metrics::Period;
use gameday_core::spec::*;
use gameday_core::{ArrivalProcess, ArrivalSpec, Platform, Request, RngStreams, SimTime};

/// Erlang C for M/M/c: the mean wait in queue.
fn erlang_c_wait(lambda: f64, mu: f64, c: u32) -> f64 {
    let a = lambda / mu;
    let (mut term, mut sum) = (1.0, 0.0);
    for k in 0..c {
        if k > 0 {
            term *= a / f64::from(k);
        }
        sum += term;
    }
    let top = term * a / f64::from(c) * (f64::from(c) / (f64::from(c) - a));
    top / (sum + top) / (f64::from(c) * mu - lambda)
}

#[test]
fn datapoints_average_to_erlang_c_figures() {
    let (c, mean, rho) = (4u32, 0.010, 0.8);
    let mu = 1.0 / mean;
    let lambda = rho * f64::from(c) * mu;
    let spec = PlatformSpec {
        endpoints: vec![EndpointSpec {
            name: "mm4".into(),
            routing: Routing::Random,
            zones: 3,
            variants: vec![VariantSpec {
                name: "AllTraffic".into(),
                model: "m".into(),
                weight: 1.0,
                instance: InstanceTypeSpec {
                    name: "ml.m5.xlarge".into(),
                    price_per_hour: 0.23,
                    provisioning_min: Duration::from_secs(60),
                    provisioning_max: Duration::from_secs(60),
                    vcpus: 4,
                    gpus: 0,
                },
                instance_count: 1,
                concurrency: c,
                service: ServiceDist::exponential(mean).unwrap(),
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
    let end = SimTime::ZERO + Duration::from_secs(3600);
    let mut p = Platform::new(&spec, RngStreams::new(21));
    p.set_end(end);
    let mut arrivals = ArrivalProcess::new(ArrivalSpec::Poisson { rate: lambda });
    let mut rng = RngStreams::new(21).stream("arrival");
    let mut next = arrivals.next_arrival(&mut rng);
    loop {
        match (p.poll_timeout(), next.filter(|&t| t < end)) {
            (Some(t), a) if a.is_none_or(|a| t <= a) => {
                p.handle_timeout(t);
            }
            (_, Some(a)) => {
                p.handle_request(
                    a,
                    Request {
                        id: 0,
                        endpoint: 0,
                        target_variant: None,
                        sent_at: a,
                        timeout_ns: 60_000_000_000,
                        target_model: None,
                    },
                );
                next = arrivals.next_arrival(&mut rng);
            }
            _ => break,
        }
        while p.poll_result().is_some() {}
    }
    let dps = p.datapoints(end, 0, 0, Period::Standard);
    // The first minute warms up from an empty system.
    let steady = &dps[1..60];
    let avg = |f: fn(&gameday_core::metrics::Datapoint) -> f64| {
        steady.iter().map(f).sum::<f64>() / steady.len() as f64
    };
    // SageMaker reports CPU as percent of one vCPU: 0 to 400 on 4 vCPUs.
    let cpu = avg(|d| d.cpu_utilization) / 4.0;
    let concurrent = avg(|d| d.concurrent_requests_per_model);
    let per_minute = avg(|d| d.invocations as f64);
    let l = lambda * (erlang_c_wait(lambda, mu, c) + mean);
    eprintln!("CPU {cpu:.3}% (ρ {:.1}%), concurrent {concurrent:.4} (L {l:.4}), invocations/min {per_minute:.1} ({:.1})", rho * 100.0, 60.0 * lambda);
    // 59 minutes of 19,200 requests each: the relative standard errors
    // are well under 1% for ρ and invocations, about 2% for L.
    assert!((cpu / (rho * 100.0) - 1.0).abs() < 0.01, "CPU {cpu}");
    assert!(
        (per_minute / (60.0 * lambda) - 1.0).abs() < 0.01,
        "{per_minute}"
    );
    assert!((concurrent / l - 1.0).abs() < 0.05, "L {concurrent} vs {l}");
    // The 10-second datapoints tell the same story.
    // (Queue deadlines still pending at the end keep the platform's clock
    // going past it: the periods after the end are idle ones.)
    let hi = p.datapoints(end, 0, 0, Period::HighResolution);
    let hi_cpu = hi[6..360].iter().map(|d| d.cpu_utilization).sum::<f64>() / 354.0 / 4.0;
    assert!((hi_cpu - cpu).abs() < 1e-9, "{hi_cpu} vs {cpu}");
}
