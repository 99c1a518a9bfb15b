//! Closed-loop users against a real HTTP server: throughput follows the
//! interactive response time law, X = N / (R + Z).

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::post;
use axum::Router;
use gameday_core::{ArrivalSpec, Outcome};
use gameday_load::closed_loop::spawn_users;
use gameday_load::{HttpTarget, LoadWorkload, ResultSink, Target};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_wait_for_answers_and_think_between_requests() {
    let app = Router::new().route(
        "/endpoints/{name}/invocations",
        post(|| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            "ok"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let target: Arc<dyn Target> = Arc::new(HttpTarget::new(&url).unwrap());
    let w = LoadWorkload {
        name: "users".into(),
        endpoint: 0,
        endpoint_name: "ep".into(),
        variant_names: vec!["AllTraffic".into()],
        target_variant: None,
        arrival: ArrivalSpec::Users {
            users: 8,
            think_time: 0.030,
        },
        timeout: Duration::from_secs(2),
        content_type: "application/json".into(),
        body: bytes::Bytes::from_static(b"{}"),
        target_model: Default::default(),
        model_names: Vec::new(),
    };
    let sink = ResultSink::new();
    #[allow(clippy::disallowed_methods)]
    let zero = Instant::now();
    let run = Duration::from_secs(3);
    let budget = Arc::new(AtomicU64::new(100_000));
    let mut set = spawn_users(
        &[w],
        &target,
        1,
        zero,
        run,
        &Arc::new(AtomicBool::new(false)),
        &budget,
        &sink,
    );
    while set.join_next().await.is_some() {}
    let mut results = Vec::new();
    sink.drain_into(&mut results);
    let mut n = 0u64;
    let mut latency = 0.0;
    for r in results {
        assert_eq!(r.outcome, Outcome::Ok);
        n += 1;
        latency += r.latency_ns as f64 / 1e9;
    }
    let r = latency / n as f64;
    // Response time law: X = N / (R + Z), with R as measured.
    let want = 8.0 * run.as_secs_f64() / (r + 0.030);
    println!(
        "{n} requests, mean latency {:.1} ms, law predicts {want:.0}",
        r * 1e3
    );
    assert!(r >= 0.020, "latency includes the server's 20 ms");
    assert!(
        (n as f64 - want).abs() / want < 0.15,
        "{n} requests, law says {want:.0}"
    );
    assert_eq!(
        budget.load(std::sync::atomic::Ordering::Relaxed),
        100_000 - n
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_budget_bounds_the_users() {
    let app = Router::new().route("/endpoints/{name}/invocations", post(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let target: Arc<dyn Target> = Arc::new(HttpTarget::new(&url).unwrap());
    let w = LoadWorkload {
        name: "users".into(),
        endpoint: 0,
        endpoint_name: "ep".into(),
        variant_names: vec![],
        target_variant: None,
        arrival: ArrivalSpec::Users {
            users: 4,
            think_time: 0.0,
        },
        timeout: Duration::from_secs(2),
        content_type: "application/json".into(),
        body: bytes::Bytes::new(),
        target_model: Default::default(),
        model_names: Vec::new(),
    };
    let sink = ResultSink::new();
    #[allow(clippy::disallowed_methods)]
    let zero = Instant::now();
    let mut set = spawn_users(
        &[w],
        &target,
        1,
        zero,
        Duration::from_secs(30),
        &Arc::new(AtomicBool::new(false)),
        &Arc::new(AtomicU64::new(50)),
        &sink,
    );
    while set.join_next().await.is_some() {}
    let mut results = Vec::new();
    sink.drain_into(&mut results);
    let n = results.len();
    assert_eq!(n, 50, "exactly the budget, long before the 30 s end");
}
