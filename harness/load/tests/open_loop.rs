//! The open-loop generator's worker pool against real HTTP servers on
//! loopback: it grows to what a slow target's latency demands (Little's
//! law: rate × latency calls in flight), keeps one keep-alive connection
//! per worker, stops within its bounds, and drops what was queued when it
//! is stopped.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::routing::post;
use axum::Router;
use gameday_core::{ArrivalSpec, Outcome, RequestResult};
use gameday_load::{HttpTarget, LoadConfig, LoadStats, LoadWorkload, OpenLoop, ResultSink};

/// These tests measure whether the generator keeps its schedule, so they
/// run one at a time: run side by side they would be measuring each other.
static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

/// A server that answers after `latency` and remembers the client ports
/// it was called from (one per connection).
async fn slow_server(latency: Duration) -> (String, Arc<Mutex<BTreeSet<u16>>>) {
    let ports = Arc::new(Mutex::new(BTreeSet::new()));
    let seen = ports.clone();
    let app = Router::new().route(
        "/endpoints/{name}/invocations",
        post(move |ConnectInfo(peer): ConnectInfo<SocketAddr>| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().insert(peer.port());
                tokio::time::sleep(latency).await;
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    (url, ports)
}

fn workload(rate: f64, timeout: Duration) -> LoadWorkload {
    LoadWorkload {
        name: "w".into(),
        endpoint: 0,
        endpoint_name: "ep".into(),
        variant_names: vec!["AllTraffic".into()],
        target_variant: None,
        arrival: ArrivalSpec::Constant { rate },
        timeout,
        content_type: "application/json".into(),
        body: bytes::Bytes::from_static(b"{}"),
        target_model: Default::default(),
        model_names: Vec::new(),
    }
}

/// One workload for `duration`, at most `max_in_flight` calls at once and
/// `max_requests` in all, over `threads` generator threads.
fn config(
    w: LoadWorkload,
    duration: Duration,
    max_in_flight: u64,
    max_requests: u64,
    threads: usize,
) -> LoadConfig {
    LoadConfig {
        workloads: vec![w],
        duration,
        seed: 1,
        max_in_flight,
        max_requests,
        threads,
    }
}

/// Runs `cfg` against `url` until every request is answered, or until
/// `stop_after` passes and then the in-flight ones end.
async fn run(
    cfg: LoadConfig,
    url: &str,
    stop_after: Option<Duration>,
) -> (LoadStats, Vec<RequestResult>) {
    let sink = ResultSink::new();
    let stop = Arc::new(AtomicBool::new(false));
    let zero = now();
    let gen = OpenLoop::start(
        cfg,
        Arc::new(HttpTarget::new(url).unwrap()),
        zero,
        stop.clone(),
        sink.clone(),
    )
    .unwrap();
    let limit = zero + Duration::from_secs(20);
    while !(gen.is_finished() && gen.in_flight() == 0) {
        assert!(now() < limit, "the generator did not finish");
        if stop_after.is_some_and(|s| now() >= zero + s) {
            stop.store(true, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stats = gen.join();
    let mut results = Vec::new();
    sink.drain_into(&mut results);
    (stats, results)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_grows_to_a_slow_targets_demand_with_one_connection_per_worker() {
    let _alone = ALONE.lock().await;
    // 1,000 req/s into 150 ms: about 150 calls in flight, more than the
    // workers started without a CPU check.
    let (url, ports) = slow_server(Duration::from_millis(150)).await;
    let cfg = config(
        workload(1_000.0, Duration::from_secs(2)),
        Duration::from_millis(1_500),
        10_000,
        100_000,
        2,
    );
    let (stats, results) = run(cfg, &url, None).await;
    assert_eq!(results.len(), 1_500);
    assert!(results.iter().all(|r| r.outcome == Outcome::Ok));
    assert_eq!(stats.sent, 1_500);
    // The pool never ran out: every call found a worker or started one.
    assert_eq!(stats.in_flight_waits, 0, "the pool kept up: {stats:?}");
    // The pacer never waited on the slow target. A pacer that did would
    // fall seconds behind (1,500 calls of 150 ms); a busy machine alone
    // delays a send by tens of milliseconds, which is what the run's own
    // `suspect` flag reports, so the bound here is loose on purpose.
    let p99_lag = stats.lag_us.value_at_quantile(0.99);
    assert!(
        p99_lag < 150_000,
        "the pacer kept its schedule: p99 lag {p99_lag} us"
    );
    println!(
        "workers {}, connections {}, p99 send lag {p99_lag} us",
        stats.peak_workers,
        ports.lock().unwrap().len()
    );
    assert!(
        (120..=400).contains(&stats.peak_workers),
        "about rate x latency workers: {}",
        stats.peak_workers
    );
    assert_eq!(
        ports.lock().unwrap().len() as u64,
        stats.peak_workers,
        "one keep-alive connection per worker, none opened per request"
    );
    // Every latency is the server's 150 ms plus little.
    let worst = results.iter().map(|r| r.latency_ns).max().unwrap();
    assert!(worst < 400_000_000, "worst latency {worst} ns");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pool_queues_and_the_wait_shows_in_latency() {
    let _alone = ALONE.lock().await;
    // 200 req/s into 100 ms needs 20 calls in flight; allow 4.
    let (url, _) = slow_server(Duration::from_millis(100)).await;
    let cfg = config(
        workload(200.0, Duration::from_secs(10)),
        Duration::from_millis(500),
        4,
        100_000,
        1,
    );
    let (stats, results) = run(cfg, &url, None).await;
    assert_eq!(results.len(), 100);
    assert_eq!(stats.peak_workers, 4);
    assert!(stats.in_flight_waits > 0);
    assert!(stats.suspect(), "a run that hit its bound is suspect");
    // 100 requests through 4 slots of 100 ms take 2.5 s: the last one,
    // scheduled at 0.5 s, waited about 2 s, and its latency says so.
    let worst = results.iter().map(|r| r.latency_ns).max().unwrap();
    assert!(worst > 1_500_000_000, "worst latency {worst} ns");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_drops_what_is_queued_and_in_flight_calls_end_by_their_timeout() {
    let _alone = ALONE.lock().await;
    // The target never answers in time; 2 workers, so the rest queue.
    let (url, _) = slow_server(Duration::from_secs(30)).await;
    let cfg = config(
        workload(500.0, Duration::from_millis(400)),
        Duration::from_secs(10),
        2,
        100_000,
        1,
    );
    let started = now();
    let (stats, results) = run(cfg, &url, Some(Duration::from_millis(300))).await;
    let took = now().duration_since(started);
    assert!(stats.stopped_early);
    assert!(took < Duration::from_secs(2), "stopped in {took:?}");
    assert!(stats.scheduled > 100, "scheduled {}", stats.scheduled);
    assert!(
        stats.sent < stats.scheduled,
        "queued requests were not sent"
    );
    assert_eq!(results.len() as u64, stats.sent, "every sent call recorded");
    assert!(results.iter().all(|r| r.outcome == Outcome::Timeout));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_requests_bounds_the_loop() {
    let _alone = ALONE.lock().await;
    let (url, _) = slow_server(Duration::ZERO).await;
    let cfg = config(
        workload(5_000.0, Duration::from_secs(1)),
        Duration::from_secs(60),
        1_000,
        250,
        2,
    );
    let (stats, results) = run(cfg, &url, None).await;
    assert!(stats.stopped_early);
    assert_eq!(stats.scheduled, 250);
    assert_eq!(results.len(), 250);
}
