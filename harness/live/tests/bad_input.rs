//! Bad input never panics the embedded platform and never stops it
//! serving: truncated bodies, wrong methods, huge headers, unknown paths,
//! garbage, and clients that disconnect mid-request. Each case is counted,
//! and a good request is served after every one.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use gameday_core::dist::ServiceDist;
use gameday_core::spec::*;
use gameday_live::{ServeOptions, Server};

fn spec() -> PlatformSpec {
    PlatformSpec {
        endpoints: vec![EndpointSpec {
            name: "ep".into(),
            routing: Routing::Random,
            zones: 3,
            variants: vec![VariantSpec {
                name: "AllTraffic".into(),
                model: "m".into(),
                weight: 1.0,
                instance: InstanceTypeSpec {
                    name: "ml.m5.xlarge".into(),
                    price_per_hour: 0.23,
                    provisioning_min: Duration::from_secs(1),
                    provisioning_max: Duration::from_secs(1),
                    vcpus: 4,
                    gpus: 0,
                },
                instance_count: 1,
                concurrency: 4,
                service: ServiceDist::constant(0.001).unwrap(),
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
    }
}

/// Sends raw bytes, optionally half-closes, and returns the status line
/// (empty when the server closed without answering).
fn raw(addr: SocketAddr, bytes: &[u8], shutdown_write: bool) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(bytes);
    if shutdown_write {
        let _ = s.shutdown(std::net::Shutdown::Write);
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

fn good(addr: SocketAddr) -> String {
    raw(
        addr,
        b"POST /endpoints/ep/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        false,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_answered_or_dropped_and_the_server_keeps_serving() {
    let server = Server::start(&spec(), ServeOptions::local(1))
        .await
        .unwrap();
    let addr = server.addr();
    let big_header = format!(
        "POST /endpoints/ep/invocations HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nContent-Length: 0\r\n\r\n",
        "a".repeat(1024 * 1024)
    );
    // (name, bytes, half-close after sending, expected status line prefix)
    let cases: Vec<(&str, Vec<u8>, bool, &str)> = vec![
        ("truncated body", b"POST /endpoints/ep/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":".to_vec(), true, ""),
        ("disconnect mid-headers", b"POST /endpoints/ep/invoc".to_vec(), true, ""),
        ("wrong method", b"GET /endpoints/ep/invocations HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(), false, "HTTP/1.1 405"),
        ("wrong method on ping", b"DELETE /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(), false, "HTTP/1.1 405"),
        ("unknown path", b"POST /endpoints/ep/nope HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(), false, "HTTP/1.1 404"),
        ("unknown endpoint", b"POST /endpoints/zz/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(), false, "HTTP/1.1 400"),
        ("unknown variant", b"POST /endpoints/ep/invocations HTTP/1.1\r\nHost: x\r\nX-Amzn-SageMaker-Target-Variant: B\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(), false, "HTTP/1.1 400"),
        ("declared oversize", b"POST /endpoints/ep/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\nConnection: close\r\n\r\n".to_vec(), true, "HTTP/1.1 400"),
        ("huge header", big_header.into_bytes(), false, "HTTP/1.1 431"),
        ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n".to_vec(), false, "HTTP/1.1 400"),
        ("bad content-length", b"POST /endpoints/ep/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n".to_vec(), false, "HTTP/1.1 400"),
        ("non-utf8 path", b"POST /endpoints/\xff\xfe/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(), false, "HTTP/1.1 4"),
    ];
    let total = cases.len();
    for (name, bytes, half_close, want) in cases {
        let status = tokio::task::spawn_blocking(move || raw(addr, &bytes, half_close))
            .await
            .unwrap();
        assert!(
            status.starts_with(want),
            "{name}: got {status:?}, want {want:?}"
        );
        let ok = tokio::task::spawn_blocking(move || good(addr))
            .await
            .unwrap();
        assert_eq!(ok, "HTTP/1.1 200 OK", "served after {name}");
    }
    // Routed-level refusals are counted (hyper answers malformed HTTP,
    // huge headers and bad lengths itself, before any handler runs).
    assert!(server.rejected() >= 6, "rejected {}", server.rejected());
    let snap = server.engine().snapshot(false).await.unwrap();
    assert_eq!(
        snap.metrics
            .iter()
            .map(|m| m.totals.invocations)
            .sum::<u64>(),
        total as u64,
        "one good invocation after each case"
    );
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_while_queued_does_not_leak_or_stall() {
    let server = Server::start(&spec(), ServeOptions::local(1))
        .await
        .unwrap();
    let addr = server.addr();
    // 50 clients send a request and vanish at once.
    tokio::task::spawn_blocking(move || {
        for _ in 0..50 {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"POST /endpoints/ep/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
                .unwrap();
            drop(s);
        }
    })
    .await
    .unwrap();
    let ok = tokio::task::spawn_blocking(move || good(addr))
        .await
        .unwrap();
    assert_eq!(ok, "HTTP/1.1 200 OK");
    server.shutdown(Duration::from_secs(1)).await;
}

/// Sends raw bytes and returns the whole answer (headers and body).
fn full(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(bytes).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// The real clock (these tests time the server's own timeouts).
#[allow(clippy::disallowed_methods)]
fn now() -> std::time::Instant {
    std::time::Instant::now()
}

/// How long until the server closes `s` (reads until EOF), at most 5 s.
fn closed_after(mut s: TcpStream) -> Duration {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let t = now();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    t.elapsed()
}

fn with_limits(header_ms: u64, body_ms: u64, max_connections: usize) -> ServeOptions {
    let mut o = ServeOptions::local(1);
    o.limits = gameday_live::Limits {
        header_read_timeout: Duration::from_millis(header_ms),
        body_read_timeout: Duration::from_millis(body_ms),
        max_connections,
    };
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_percent_encoded_invalid_utf8_endpoint_gets_sagemakers_validation_error() {
    let server = Server::start(&spec(), ServeOptions::local(1))
        .await
        .unwrap();
    let addr = server.addr();
    let answer = tokio::task::spawn_blocking(move || {
        full(addr, b"POST /endpoints/%ff%fe/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    })
    .await
    .unwrap();
    let lower = answer.to_lowercase();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        lower.contains("x-amzn-errortype: validationerror"),
        "{answer}"
    );
    assert!(lower.contains("content-type: application/json"), "{answer}");
    let body = answer.split_once("\r\n\r\n").unwrap().1;
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert!(v["Message"].as_str().unwrap().contains("UTF-8"), "{body}");
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_slow_bodies_and_idle_connections_are_closed() {
    let server = Server::start(&spec(), with_limits(300, 300, 100))
        .await
        .unwrap();
    let addr = server.addr();
    let (slow_head, idle, slow_body) = tokio::task::spawn_blocking(move || {
        // Slowloris: a request head that never ends.
        let mut a = TcpStream::connect(addr).unwrap();
        a.write_all(b"POST /endpoints/ep/invocations HTTP/1.1\r\nHost: x\r\nX-Slow: ").unwrap();
        let slow_head = closed_after(a);
        // Keep-alive: one request served, then nothing.
        let mut b = TcpStream::connect(addr).unwrap();
        b.write_all(b"POST /endpoints/ep/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}").unwrap();
        let idle = closed_after(b);
        // A body that stops arriving.
        let answer = full(addr, b"POST /endpoints/ep/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":");
        (slow_head, idle, answer)
    })
    .await
    .unwrap();
    assert!(
        slow_head < Duration::from_secs(3),
        "slow head held {slow_head:?}"
    );
    assert!(
        idle < Duration::from_secs(3),
        "idle connection held {idle:?}"
    );
    assert!(slow_body.starts_with("HTTP/1.1 400"), "{slow_body}");
    assert!(
        slow_body.contains("did not arrive within 0.3 s"),
        "{slow_body}"
    );
    assert_eq!(
        tokio::task::spawn_blocking(move || good(addr))
            .await
            .unwrap(),
        "HTTP/1.1 200 OK"
    );
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_new_connections_get_503_not_silence() {
    let server = Server::start(&spec(), with_limits(10_000, 10_000, 4))
        .await
        .unwrap();
    let addr = server.addr();
    assert_eq!(server.max_connections(), 4);
    let idle: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(addr).unwrap()).collect();
    // Wait until the server has taken all four.
    for _ in 0..100 {
        if server.open_connections() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.open_connections(), 4);
    let refused = tokio::task::spawn_blocking(move || {
        full(
            addr,
            b"POST /endpoints/ep/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
        )
    })
    .await
    .unwrap();
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(
        refused
            .to_lowercase()
            .contains("x-amzn-errortype: serviceunavailable"),
        "{refused}"
    );
    drop(idle);
    for _ in 0..100 {
        if server.open_connections() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        tokio::task::spawn_blocking(move || good(addr))
            .await
            .unwrap(),
        "HTTP/1.1 200 OK",
        "served again once connections closed"
    );
    server.shutdown(Duration::from_secs(1)).await;
}
