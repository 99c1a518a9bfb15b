//! A target that stalls for a known time must show the stall in the
//! open-loop generator's p99 and max; a closed-loop client that measures
//! from its own send time (the uncorrected way) hides it. Both run here,
//! against the same stalling server, so the test shows the difference.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::post;
use axum::Router;
use gameday_core::{ArrivalSpec, Outcome};
use gameday_load::{
    HttpTarget, Invocation, LoadConfig, LoadWorkload, OpenLoop, ResultSink, Target,
};
use hdrhistogram::Histogram;

const STALL_AT: Duration = Duration::from_millis(1500);
const STALL_FOR: Duration = Duration::from_millis(1000);
const RUN_FOR: Duration = Duration::from_millis(4000);
const RATE: f64 = 200.0;

#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

/// Answers at once, except that everything arriving in
/// `[STALL_AT, STALL_AT + STALL_FOR)` is held until the stall ends (a GC
/// pause, a stuck lock).
async fn stalling_server(zero: Instant) -> String {
    let app = Router::new().route(
        "/endpoints/{name}/invocations",
        post(move || async move {
            let t = now().duration_since(zero);
            if t >= STALL_AT && t < STALL_AT + STALL_FOR {
                tokio::time::sleep_until((zero + STALL_AT + STALL_FOR).into()).await;
            }
            "ok"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn workload() -> LoadWorkload {
    LoadWorkload {
        name: "stall".into(),
        endpoint: 0,
        endpoint_name: "ep".into(),
        variant_names: vec!["AllTraffic".into()],
        target_variant: None,
        arrival: ArrivalSpec::Constant { rate: RATE },
        timeout: Duration::from_secs(5),
        content_type: "application/json".into(),
        body: bytes::Bytes::from_static(b"{}"),
        target_model: Default::default(),
        model_names: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_shows_in_p99_and_max_and_a_closed_loop_hides_it() {
    // Open loop, measured from intended send times.
    let zero = now();
    let url = stalling_server(zero).await;
    let target: Arc<dyn Target> = Arc::new(HttpTarget::new(&url).unwrap());
    let sink = ResultSink::new();
    let cfg = LoadConfig {
        workloads: vec![workload()],
        duration: RUN_FOR,
        seed: 1,
        max_in_flight: 10_000,
        max_requests: 10_000,
        threads: 2,
    };
    let pacer = OpenLoop::start(
        cfg,
        target.clone(),
        zero,
        Arc::new(AtomicBool::new(false)),
        sink.clone(),
    )
    .unwrap();
    while !(pacer.is_finished() && pacer.in_flight() == 0) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stats = pacer.join();
    let mut results = Vec::new();
    sink.drain_into(&mut results);
    let mut open = Histogram::<u64>::new(3).unwrap();
    for r in results {
        assert_eq!(r.outcome, Outcome::Ok);
        open.record(r.latency_ns / 1_000).unwrap();
    }
    // The generator itself kept up: no call waited for a worker, and no
    // send waited on the stall. The lag bound is far below the 1 s stall
    // but loose enough for a busy CI machine.
    assert_eq!(stats.in_flight_waits, 0, "{stats:?}");
    let p99_lag = stats.lag_us.value_at_quantile(0.99);
    assert!(p99_lag < 100_000, "p99 send lag {p99_lag} us: {stats:?}");
    let n = open.len();
    assert_eq!(n, (RUN_FOR.as_secs_f64() * RATE) as u64);
    let stalled = n - open.count_between(0, 100_000);
    let expected = (STALL_FOR.as_secs_f64() - 0.1) * RATE; // scheduled > 100 ms before the stall ends
    println!(
        "open loop: {n} requests, p50 {} us, p99 {} us, max {} us, {stalled} over 100 ms (expected ~{expected:.0})",
        open.value_at_quantile(0.5),
        open.value_at_quantile(0.99),
        open.max()
    );
    assert!(open.max() >= 950_000, "max shows the full stall");
    assert!(
        open.value_at_quantile(0.99) >= 800_000,
        "p99 shows the stall"
    );
    assert!(
        (stalled as f64 - expected).abs() <= 0.15 * expected,
        "every request scheduled during the stall waited"
    );
    assert!(
        open.value_at_quantile(0.5) < 20_000,
        "the median is unaffected"
    );

    // Closed loop, measured from its own send time: one user, next request
    // when the last returns. It sends one request into the stall and
    // records a single slow sample; p99 stays small.
    let zero = now();
    let url = stalling_server(zero).await;
    let target = HttpTarget::new(&url).unwrap();
    let mut closed = Histogram::<u64>::new(3).unwrap();
    let pace = Duration::from_secs_f64(1.0 / RATE);
    let mut next = zero;
    while now().duration_since(zero) < RUN_FOR {
        tokio::time::sleep_until(next.into()).await;
        let sent = now();
        let a = target
            .invoke(Invocation {
                endpoint: "ep".into(),
                target_variant: None,
                target_model: None,
                content_type: "application/json".into(),
                body: bytes::Bytes::from_static(b"{}"),
            })
            .await
            .unwrap();
        assert_eq!(a.status, 200);
        closed
            .record(now().duration_since(sent).as_micros() as u64)
            .unwrap();
        next = (next + pace).max(now());
    }
    println!(
        "closed loop: {} requests, p99 {} us, max {} us",
        closed.len(),
        closed.value_at_quantile(0.99),
        closed.max()
    );
    assert!(
        closed.max() >= 900_000,
        "the closed loop saw one long request"
    );
    assert!(
        closed.value_at_quantile(0.99) < 100_000,
        "but its p99 hides the stall"
    );
    assert!(
        closed.len() < n,
        "and it sent fewer requests than scheduled"
    );
}
