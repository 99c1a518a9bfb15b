//! The operator's control API and `/metrics`, over real HTTP.

use std::time::Duration;

use bytes::Bytes;
use gameday_core::dist::ServiceDist;
use gameday_core::spec::*;
use gameday_live::{ServeOptions, Server};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

fn spec() -> PlatformSpec {
    let variant = |name: &str| VariantSpec {
        name: name.into(),
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
        instance_count: 2,
        concurrency: 2,
        service: ServiceDist::constant(0.001).unwrap(),
        external: false,
        model_load: std::time::Duration::ZERO,
        autoscaling: None,
        multi_model: None,
        error_rate: 0.0,
        shadow: None,
    };
    PlatformSpec {
        endpoints: vec![EndpointSpec {
            name: "ep".into(),
            routing: Routing::Random,
            zones: 3,
            variants: vec![variant("A"), variant("B")],
        }],
        faults: vec![],
        shortages: vec![],
        zone_outages: vec![],
        feature_store: Default::default(),
    }
}

type Http = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

/// The token every test server is started with.
const TOKEN: &str = "control-test-token";

fn options() -> ServeOptions {
    let mut o = ServeOptions::local(3);
    o.control_token = Some(TOKEN.into());
    o
}

async fn call(
    c: &Http,
    method: &str,
    url: String,
    body: &str,
    variant: Option<&str>,
) -> (u16, String, String) {
    let mut req = hyper::Request::builder().method(method).uri(&url);
    if let Some(v) = variant {
        req = req.header("X-Amzn-SageMaker-Target-Variant", v);
    }
    if url.contains("/_gameday/") {
        req = req
            .header("x-gameday-token", TOKEN)
            .header("content-type", "application/json");
    }
    let resp = c
        .request(req.body(Full::new(Bytes::from(body.to_string()))).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let code = resp
        .headers()
        .get("x-amzn-errortype")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, code, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_inject_faults_live_and_metrics_show_them() {
    let server = Server::start(&spec(), options()).await.unwrap();
    let base = server.url();
    let c: Http = Client::builder(TokioExecutor::new()).build_http();
    let invoke = format!("{base}/endpoints/ep/invocations");

    let (s, _, _) = call(&c, "GET", format!("{base}/ping"), "", None).await;
    assert_eq!(s, 200);
    let (s, _, _) = call(&c, "POST", invoke.clone(), "{}", Some("B")).await;
    assert_eq!(s, 200);

    // Variant B starts answering 429 for 300 ms; A is untouched.
    let fault = r#"{"kind":"error_injection","endpoint":"ep","variant":"B","rate":1.0,"status":429,"for_s":0.3}"#;
    let (s, _, body) = call(&c, "POST", format!("{base}/_gameday/faults"), fault, None).await;
    assert_eq!(s, 201, "{body}");
    let (s, code, _) = call(&c, "POST", invoke.clone(), "{}", Some("B")).await;
    assert_eq!((s, code.as_str()), (429, "ModelNotReadyException"));
    let (s, _, _) = call(&c, "POST", invoke.clone(), "{}", Some("A")).await;
    assert_eq!(s, 200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (s, _, _) = call(&c, "POST", invoke.clone(), "{}", Some("B")).await;
    assert_eq!(s, 200, "the fault's window ended");

    // A crash of both A instances: A fails until replacements come up.
    let crash = r#"{"kind":"instance_crash","endpoint":"ep","variant":"A","count":2,"detect_after_s":0.05}"#;
    let (s, _, _) = call(&c, "POST", format!("{base}/_gameday/faults"), crash, None).await;
    assert_eq!(s, 201);
    let (s, code, body) = call(&c, "POST", invoke.clone(), "{}", Some("A")).await;
    assert_eq!((s, code.as_str()), (424, "ModelError"), "{body}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (s, code, _) = call(&c, "POST", invoke.clone(), "{}", Some("A")).await;
    assert_eq!(
        (s, code.as_str()),
        (503, "ServiceUnavailable"),
        "nothing in service while replacements provision"
    );

    // Bad fault requests are refused with a reason.
    for (bad, want) in [
        (r#"{"kind":"meteor","endpoint":"ep"}"#, "unknown fault kind"),
        (
            r#"{"kind":"blackhole","endpoint":"nope"}"#,
            "unknown endpoint",
        ),
        (
            r#"{"kind":"error_injection","endpoint":"ep","rate":2}"#,
            "rate must be",
        ),
        (
            r#"{"kind":"latency_injection","endpoint":"ep"}"#,
            "needs `delay`",
        ),
        (
            r#"{"kind":"blackhole","endpoint":"ep","typo":1}"#,
            "unknown field",
        ),
        ("not json", "invalid fault"),
    ] {
        let (s, code, body) = call(&c, "POST", format!("{base}/_gameday/faults"), bad, None).await;
        assert_eq!((s, code.as_str()), (400, "ValidationError"), "{bad}");
        assert!(body.contains(want), "{bad}: {body}");
    }

    let (s, _, text) = call(&c, "GET", format!("{base}/metrics"), "", None).await;
    assert_eq!(s, 200);
    let line = |name: &str, v: &str| format!("{name}{{EndpointName=\"ep\",VariantName=\"{v}\"}}");
    assert!(
        text.contains(&format!("{} 3\n", line("Invocations", "B"))),
        "{text}"
    );
    assert!(
        text.contains(&format!("{} 1\n", line("Invocation4XXErrors", "B"))),
        "{text}"
    );
    // A: one success, one ModelError (SageMaker counts it as a 4xx), one
    // ServiceUnavailable.
    assert!(
        text.contains(&format!("{} 3\n", line("Invocations", "A"))),
        "{text}"
    );
    assert!(
        text.contains(&format!("{} 1\n", line("Invocation4XXErrors", "A"))),
        "{text}"
    );
    assert!(
        text.contains(&format!("{} 1\n", line("Invocation5XXErrors", "A"))),
        "{text}"
    );
    assert!(text.contains("# TYPE ModelLatency summary"));
    assert!(text.contains(&line("CPUUtilization", "A")));
    server.shutdown(Duration::from_secs(1)).await;
}

/// Sends `head` (request line and headers, without the blank line) and
/// `body` on a fresh connection; answers status and body.
async fn raw(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let msg = format!(
        "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(msg.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).await.unwrap();
    let status = text.get(9..12).and_then(|x| x.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_api_refuses_web_pages_strangers_and_big_bodies() {
    let server = Server::start(&spec(), options()).await.unwrap();
    let addr = server.addr();
    let fault = br#"{"kind":"blackhole","endpoint":"ep","for_s":0.01}"#;
    let own = format!("Host: {addr}\r\nx-gameday-token: {TOKEN}");
    let post = |extra: &str| format!("POST /_gameday/faults HTTP/1.1\r\n{own}\r\n{extra}");
    // A page in the operator's browser: a "simple" cross-origin POST.
    for (extra, want) in [
        (
            "Content-Type: text/plain\r\nOrigin: http://evil.example",
            403,
        ),
        ("Content-Type: text/plain", 415),
        ("Content-Type: application/x-www-form-urlencoded", 415),
        (
            "Content-Type: application/json\r\nOrigin: http://evil.example",
            403,
        ),
    ] {
        let (status, body) = raw(addr, &post(extra), fault).await;
        assert_eq!(status, want, "{extra}: {body}");
    }
    // DNS rebinding: the page's own name in Host.
    let (status, _) = raw(
        addr,
        &format!("POST /_gameday/faults HTTP/1.1\r\nHost: evil.example:{}\r\nx-gameday-token: {TOKEN}\r\nContent-Type: application/json", addr.port()),
        fault,
    )
    .await;
    assert_eq!(status, 403);
    // No token, a wrong token.
    for tok in ["", "x-gameday-token: guess\r\n"] {
        let head = format!(
            "POST /_gameday/faults HTTP/1.1\r\nHost: {addr}\r\n{tok}Content-Type: application/json"
        );
        let (status, body) = raw(addr, head.trim_end(), fault).await;
        assert_eq!(status, 403, "{tok:?}: {body}");
    }
    // The operator, from the same origin, gets in.
    let (status, body) = raw(
        addr,
        &post(
            "Content-Type: application/json\r\nOrigin: http://localhost:PORT"
                .replace("PORT", &addr.port().to_string())
                .as_str(),
        ),
        fault,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // A body far larger than any fault is refused without being kept.
    let big = vec![b' '; 1024 * 1024];
    let (status, body) = raw(addr, &post("Content-Type: application/json"), &big).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("at most 65536 bytes"), "{body}");
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_list_and_end_faults_and_stop_the_game_day() {
    let mut sp = spec();
    sp.faults.push(FaultSpec {
        at: Duration::from_secs(3600),
        duration: None,
        target: FaultTarget {
            endpoint: 0,
            variant: None,
        },
        kind: FaultKind::Blackhole,
    });
    let server = Server::start(&sp, options()).await.unwrap();
    let base = server.url();
    let c: Http = Client::builder(TokioExecutor::new()).build_http();
    let faults = format!("{base}/_gameday/faults");
    let invoke = format!("{base}/endpoints/ep/invocations");
    let throttle = r#"{"kind":"error_injection","endpoint":"ep","status":429}"#;
    let (s, _, body) = call(&c, "POST", faults.clone(), throttle, None).await;
    assert_eq!(s, 201, "{body}");
    let (s, code, _) = call(&c, "POST", invoke.clone(), "{}", None).await;
    assert_eq!((s, code.as_str()), (429, "ModelNotReadyException"));

    let (s, _, body) = call(&c, "GET", faults.clone(), "", None).await;
    assert_eq!(s, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let list = v["faults"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{body}");
    assert_eq!(list[0]["state"], "scheduled");
    assert_eq!(list[0]["scheduled_by_scenario"], true);
    assert_eq!(list[1]["state"], "active");
    assert_eq!(list[1]["kind"], "error_injection");

    // End the operator's fault early, and cancel the scheduled one.
    for id in [1, 0] {
        let (s, _, body) = call(&c, "DELETE", format!("{faults}/{id}"), "", None).await;
        assert_eq!(s, 200, "{id}: {body}");
    }
    let (s, _, _) = call(&c, "DELETE", format!("{faults}/1"), "", None).await;
    assert_eq!(s, 404, "already over");
    let (s, _, _) = call(&c, "DELETE", format!("{faults}/x"), "", None).await;
    assert_eq!(s, 400);
    let (s, _, _) = call(&c, "POST", invoke.clone(), "{}", None).await;
    assert_eq!(s, 200, "the fault is over");
    let (_, _, body) = call(&c, "GET", faults.clone(), "", None).await;
    assert!(body.matches("\"cancelled\"").count() == 2, "{body}");

    assert!(!server.stop_requested());
    let (s, _, _) = call(&c, "POST", format!("{base}/_gameday/stop"), "", None).await;
    assert_eq!(s, 202);
    assert!(server.stop_requested());
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_faults_are_compressed_like_scheduled_ones_and_listed_in_scenario_time() {
    // At time scale 20 an operator's 6 s fault (scenario time) lasts 0.3 s.
    let mut o = options();
    o.timeline.scale = gameday_core::TimeScale::new(20.0);
    let server = Server::start(&spec(), o).await.unwrap();
    let base = server.url();
    let c: Http = Client::builder(TokioExecutor::new()).build_http();
    let invoke = format!("{base}/endpoints/ep/invocations");
    let fault = r#"{"kind":"error_injection","endpoint":"ep","variant":"B","rate":1.0,"status":429,"for_s":6}"#;
    let (s, _, body) = call(&c, "POST", format!("{base}/_gameday/faults"), fault, None).await;
    assert_eq!(s, 201, "{body}");
    let (s, _, _) = call(&c, "POST", invoke.clone(), "{}", Some("B")).await;
    assert_eq!(s, 429, "in force at once");
    let (_, _, listed) = call(&c, "GET", format!("{base}/_gameday/faults"), "", None).await;
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let f = &listed["faults"][0];
    assert_eq!(f["for_s"], 6.0, "listed in scenario time: {listed}");
    assert_eq!(f["state"], "active");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (s, _, _) = call(&c, "POST", invoke.clone(), "{}", Some("B")).await;
    assert_eq!(s, 200, "6 scenario seconds are 0.3 real ones");
    let (_, _, listed) = call(&c, "GET", format!("{base}/_gameday/faults"), "", None).await;
    assert!(listed.contains(r#""state":"ended""#), "{listed}");
    server.shutdown(Duration::from_millis(100)).await;
}

/// A model with `error_rate` 1 fails every request as a container that
/// answered 500 would: SageMaker's ModelError (424) with the original
/// status, while the variant beside it answers 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_models_errors_reach_the_client_as_model_errors() {
    let mut spec = spec();
    spec.endpoints[0].variants[1].error_rate = 1.0;
    let server = Server::start(&spec, options()).await.unwrap();
    let base = server.url();
    let c: Http = Client::builder(TokioExecutor::new()).build_http();
    let invoke = format!("{base}/endpoints/ep/invocations");
    for _ in 0..3 {
        let (s, code, body) = call(&c, "POST", invoke.clone(), "{}", Some("B")).await;
        assert_eq!((s, code.as_str()), (424, "ModelError"), "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["OriginalStatusCode"], 500, "{body}");
        let (s, _, _) = call(&c, "POST", invoke.clone(), "{}", Some("A")).await;
        assert_eq!(s, 200);
    }
}
