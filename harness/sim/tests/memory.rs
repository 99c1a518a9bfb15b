//! Memory stays flat: no per-request storage. A counting allocator tracks
//! the peak live heap; this binary holds one test at a time so nothing else
//! allocates alongside it.
// The one place in the workspace that needs `unsafe`: a GlobalAlloc shim.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use gameday_core::arrival::ArrivalSpec;
use gameday_core::dist::ServiceDist;
use gameday_core::spec::*;
use gameday_report::SloSpec;
use gameday_sim::{simulate, SimConfig};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static SERIAL: Mutex<()> = Mutex::new(());

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Peak heap growth while simulating `hours` at `rate` req/s, and the
/// number of requests simulated.
fn peak_bytes(rate: f64, hours: f64) -> (usize, u64) {
    peak_bytes_of(ArrivalSpec::Poisson { rate }, None, hours).0
}

/// Target tracking at 6,000 invocations a minute per instance (100 req/s
/// each), between 2 and 20 instances.
fn tracking() -> gameday_core::autoscaling::AutoscalingSpec {
    use gameday_core::autoscaling::*;
    AutoscalingSpec {
        min: 2,
        max: 20,
        target_tracking: vec![TargetTrackingSpec {
            scale_out_cooldown: Duration::from_secs(60),
            scale_in_cooldown: Duration::from_secs(600),
            ..TargetTrackingSpec::new(Metric::InvocationsPerInstance, 6000.0)
        }],
        step: vec![],
        scheduled: vec![],
    }
}

/// [`peak_bytes`] for any arrival process and autoscaling; also answers
/// the scaling activities of the run.
fn peak_bytes_of(
    arrival: ArrivalSpec,
    autoscaling: Option<gameday_core::autoscaling::AutoscalingSpec>,
    hours: f64,
) -> ((usize, u64), usize) {
    let platform = PlatformSpec {
        endpoints: vec![EndpointSpec {
            name: "e".into(),
            routing: Routing::Random,
            zones: 3,
            variants: vec![VariantSpec {
                name: "v".into(),
                model: "m".into(),
                weight: 1.0,
                instance: InstanceTypeSpec {
                    name: "ml.m5.xlarge".into(),
                    price_per_hour: 0.23,
                    provisioning_min: Duration::from_secs(300),
                    provisioning_max: Duration::from_secs(300),
                    vcpus: 4,
                    gpus: 0,
                },
                instance_count: 4,
                concurrency: 4,
                service: ServiceDist::lognormal_from_p50_p99(0.012, 0.045).unwrap(),
                external: false,
                model_load: std::time::Duration::ZERO,
                autoscaling,
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
        name: "w".into(),
        endpoint: 0,
        arrival,
        timeout: Duration::from_secs(2),
        target_variant: None,
        target_model: Default::default(),
    }];
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = simulate(SimConfig {
        training: &Default::default(),
        platform: &platform,
        workloads: &workloads,
        duration: Duration::from_secs_f64(hours * 3600.0),
        interval: Duration::from_secs(10),
        seed: 3,
        stop: None,
        progress: None,
        slo: &SloSpec::default(),
    });
    let rec = out.finish("mem", 3, &SloSpec::default());
    let peak = PEAK.load(Ordering::Relaxed) - base;
    let v = &rec.report.endpoints[0];
    ((peak, v.requests), v.variants[0].scaling_activities.len())
}

/// What the timeline of `hours` may hold at its peak: one row per 10 s
/// interval (its two one-byte names included), three times over while
/// its vector grows (the old buffer and the doubled one, at once), and
/// 64 KiB of slack.
fn timeline_bytes(hours: f64) -> usize {
    let rows = (hours * 360.0) as usize;
    rows * (std::mem::size_of::<gameday_report::TimelineRow>() + 2) * 3 + 64 * 1024
}

#[test]
fn memory_does_not_grow_with_requests() {
    let _g = SERIAL.lock().unwrap();
    // Same simulated hour, 100 times the requests.
    let (small, n_small) = peak_bytes(10.0, 1.0);
    let (large, n_large) = peak_bytes(1000.0, 1.0);
    eprintln!("{n_small} requests: peak {small} B; {n_large} requests: peak {large} B");
    assert!(n_large > 90 * n_small);
    assert!(
        large < small + 256 * 1024,
        "peak heap grew from {small} to {large} bytes"
    );
}

/// A simulated day at 1,000 req/s (86 million requests). Run by CI on
/// purpose: `cargo test -p gameday-sim --test memory -- --ignored`.
#[test]
#[ignore]
fn stress_a_day_at_1000_rps_in_flat_memory() {
    let _g = SERIAL.lock().unwrap();
    let (hour, _) = peak_bytes(1000.0, 1.0);
    let (day, n) = peak_bytes(1000.0, 24.0);
    eprintln!("1 h: peak {hour} B; 24 h ({n} requests): peak {day} B");
    assert!(n > 86_000_000);
    // Only the timeline (one small row per 10 s interval) grows with time.
    assert!(
        day < hour + timeline_bytes(24.0),
        "peak heap grew from {hour} to {day} bytes"
    );
}

/// A simulated day of diurnal traffic around 1,000 req/s with target
/// tracking that follows it (tens of scale-outs and scale-ins): the heap
/// grows only by the timeline and the activities. Run by CI on purpose.
#[test]
#[ignore]
fn stress_a_day_with_autoscaling_at_1000_rps_in_flat_memory() {
    let _g = SERIAL.lock().unwrap();
    let diurnal = |hours: f64| ArrivalSpec::Diurnal {
        mean: 1000.0,
        amplitude: 0.6,
        period: hours * 3600.0,
        peak_at: hours * 3600.0 / 2.0,
    };
    let ((hour, _), hour_acts) = peak_bytes_of(diurnal(1.0), Some(tracking()), 1.0);
    let ((day, n), day_acts) = peak_bytes_of(diurnal(24.0), Some(tracking()), 24.0);
    eprintln!(
        "1 h: peak {hour} B, {hour_acts} activities; 24 h ({n} requests): peak {day} B, {day_acts} activities"
    );
    assert!(n > 86_000_000);
    assert!(day_acts >= 4, "the fleet followed the day: {day_acts}");
    assert!(
        day < hour + timeline_bytes(24.0),
        "peak heap grew from {hour} to {day} bytes"
    );
}

/// A multi-model endpoint of 1,000 models with loads and evictions
/// (`benches/scenarios/multi-model-1000.toml`): an hour at 2,000 req/s
/// (7 million requests) peaks no higher than the same hour at 20 req/s,
/// give or take the caches' and the timeline's fixed size.
#[test]
fn multi_model_memory_does_not_grow_with_requests() {
    let _g = SERIAL.lock().unwrap();
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../benches/scenarios/multi-model-1000.toml");
    let sc = gameday_scenario::load(&p).unwrap();
    let peak = |rate: f64| {
        let mut workloads = sc.workloads.clone();
        workloads[0].arrival = ArrivalSpec::Poisson { rate };
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let out = simulate(SimConfig {
            training: &Default::default(),
            platform: &sc.platform,
            workloads: &workloads,
            duration: Duration::from_secs(3600),
            interval: Duration::from_secs(10),
            seed: 3,
            stop: None,
            progress: None,
            slo: &SloSpec::default(),
        });
        let rec = out.finish("mem", 3, &SloSpec::default());
        let m = rec.report.endpoints[0].variants[0].mme.clone().unwrap();
        (PEAK.load(Ordering::Relaxed) - base, m.requests, m.unloads)
    };
    let (small, n_small, _) = peak(20.0);
    let (large, n_large, unloads) = peak(2000.0);
    eprintln!("{n_small} requests: peak {small} B; {n_large} requests ({unloads} unloads): peak {large} B");
    assert!(n_large > 90 * n_small);
    assert!(unloads > 100_000, "the cache churns: {unloads}");
    assert!(
        large < small + 256 * 1024,
        "peak heap grew from {small} to {large} bytes"
    );
}
