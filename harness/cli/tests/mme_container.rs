//! A real multi-model container on the wall clock: `gameday model-server
//! --multi-model` really loads each tenant's weights, answers 507 when
//! its memory is short and 409 or 404 when the platform's view and its
//! own differ; the platform unloads, retries and reloads as SageMaker
//! does, and the real SageMaker Runtime client's `.target_model(...)`
//! reaches it. The shipped scenario's verdict, and the wall hit ratio
//! against the virtual one's when the plan is right.

mod common;
use common::*;

use std::path::Path;
use std::time::Duration;

use aws_sdk_sagemakerruntime::primitives::Blob;
use gameday_aws::{SageMakerOptions, SageMakerTarget};
use gameday_live::{ServeOptions, Server};

fn mme(r: &serde_json::Value) -> &serde_json::Value {
    &r["endpoints"][0]["variants"][0]["mme"]
}

/// The shipped scenario: memory planned for four tenants, a container
/// that holds two. The container's 507s make the platform unload and
/// retry (no request fails), and the hit ratio falls to what two models
/// give: the Che approximation says 0.33 for Zipf 0.8 over eight models
/// (0.61 for four).
#[test]
fn a_container_short_of_memory_answers_507_and_the_plan_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let (o, r) = run(&["scenarios/multi-model-container.toml"], tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let m = mme(&r);
    let hit = m["model_cache_hit_ratio"].as_f64().unwrap();
    assert!((0.2..0.45).contains(&hit), "{m}");
    // A 507 is resolved by unloading a model no request is using. On a
    // loaded machine both of the container's models can be busy when one
    // comes; the load then fails with its waiting requests (gameday's
    // rule: nothing to unload, the load fails). Seen once in a fresh-clone
    // CI run with every test binary competing for two cores; allowed
    // rarely, never as the norm.
    let failures = m["load_failures"].as_u64().unwrap();
    assert!(failures <= 2, "{m}");
    let ep = &r["endpoints"][0];
    let (ok, requests) = (ep["ok"].as_u64().unwrap(), ep["requests"].as_u64().unwrap());
    assert!(
        (requests - ok) * 100 <= requests && (failures > 0 || ok == requests),
        "requests failed beyond a failed load's waiters: {ep}"
    );
    // Past the first two, every load unloaded a model first.
    let (loads, unloads) = (m["loads"].as_u64().unwrap(), m["unloads"].as_u64().unwrap());
    assert!(loads > 100, "{m}");
    assert!(unloads + 2 >= loads && unloads <= loads, "{m}");
    assert_eq!(m["loaded_models_end"], 2, "the container's two");
    let events = std::fs::read_to_string(tmp.path().join("events.csv")).unwrap();
    assert!(
        events.contains("unloaded: the container was out of memory (507)"),
        "{events}"
    );
    // The container's own log: it ran and was stopped.
    let logs = std::fs::read_dir(tmp.path().join("containers"))
        .unwrap()
        .count();
    assert_eq!(logs, 1);

    // The plan, on the virtual clock: four tenants, no 507s.
    let (o, v) = run(
        &["scenarios/multi-model-container.toml", "--clock", "virtual"],
        &tmp.path().join("virtual"),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let planned = mme(&v)["model_cache_hit_ratio"].as_f64().unwrap();
    assert!((0.5..0.7).contains(&planned), "{planned}");
}

/// With the container's memory what the plan says (four files), the two
/// clocks see the same requests in the same order and the same LRU
/// decisions; they differ only where a request arrives during a load
/// whose length differs (the virtual clock's `load_time` of 2 ms against
/// the container's real sub-millisecond loads). At 40 req/s, the hottest
/// model gets under 13 req/s, so a 2 ms window holds one of its requests
/// with chance under 0.03; over ~150 loads that moves a handful of the
/// ~400 requests: 0.03 of the ratio is a generous bound.
#[test]
fn with_the_planned_memory_wall_and_virtual_hit_ratios_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let fixtures = root().join("fixtures").canonicalize().unwrap();
    let src = std::fs::read_to_string(root().join("scenarios/multi-model-container.toml"))
        .unwrap()
        .replace("../fixtures", fixtures.to_str().unwrap())
        .replace("\"--memory\", \"1200B\"", "\"--memory\", \"2200B\"")
        .replace("duration = \"20s\"", "duration = \"10s\"");
    let file = tmp.path().join("planned.toml");
    std::fs::write(&file, src).unwrap();
    let f = file.to_str().unwrap();
    let (ow, wall) = run(&[f], &tmp.path().join("wall"));
    let (ov, virt) = run(&[f, "--clock", "virtual"], &tmp.path().join("virtual"));
    assert_eq!(ow.status.code(), Some(0), "{}", text(&ow.stderr));
    assert_eq!(ov.status.code(), Some(0), "{}", text(&ov.stderr));
    let (w, v) = (mme(&wall), mme(&virt));
    assert_eq!(w["requests"], v["requests"]);
    let events = std::fs::read_to_string(tmp.path().join("wall/events.csv")).unwrap();
    assert!(!events.contains("(507)"), "{events}");
    let (hw, hv) = (
        w["model_cache_hit_ratio"].as_f64().unwrap(),
        v["model_cache_hit_ratio"].as_f64().unwrap(),
    );
    assert!((hw - hv).abs() < 0.03, "wall {hw}, virtual {hv}");
    assert!(w["unloads"].as_u64().unwrap() > 10, "{w}");
}

const SCENARIO: &str = r#"
[scenario]
name = "mme-409-404"
duration = "1m"
clock = "wall"

[[model]]
name = "tenant-container"
command = ["gameday", "model-server", "--multi-model", "DIR"]

[[endpoint]]
name = "tenants"
mode = "multi_model"
  [[endpoint.variant]]
  name = "AllTraffic"
  model = "tenant-container"
  instance_type = "ml.m5.large"
  concurrency = 2
    [endpoint.variant.models]
    dir = "DIR"

[[workload]]
endpoint = "tenants"
arrival = { kind = "constant", rate = 1 }
"#;

/// A raw call to the container itself (what an operator, or a bug, might
/// do behind the platform's back).
fn container(port: u16, method: &str, path: &str, body: &str) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text[9..12].parse().unwrap()
}

/// The platform's loads of the tenant endpoint so far.
async fn loads(server: &Server) -> u64 {
    let snap = server.engine().snapshot(false).await.unwrap();
    snap.models[0].counts.loads
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_reaches_a_real_container_and_409_and_404_are_handled() {
    let dir = root().join("fixtures/mme/weights").canonicalize().unwrap();
    let d = dir.display().to_string();
    let src = SCENARIO.replace("DIR", &d);
    let sc = gameday_scenario::parse("mme.toml", &src, Path::new(".")).expect("valid");
    let mut opts = ServeOptions::local(1);
    let exe = env!("CARGO_BIN_EXE_gameday").to_string();
    opts.containers = vec![vec![Some(vec![
        exe,
        "model-server".into(),
        "--multi-model".into(),
        d.clone(),
    ])]];
    opts.model_folders = vec![vec![Some(dir.clone())]];
    let logs = tempfile::tempdir().unwrap();
    opts.container_logs = Some(logs.path().to_path_buf());
    let server = Server::start(&sc.platform, opts).await.expect("starts");
    let port = server
        .container_port(0)
        .expect("the container answers /ping");
    let client = SageMakerTarget::new(SageMakerOptions {
        region: Some("us-east-1".into()),
        endpoint_url: Some(server.url()),
        max_attempts: 1,
        static_credentials: Some(("test".into(), "test".into())),
    })
    .await
    .client()
    .clone();
    let payload = std::fs::read(root().join("fixtures/payloads/transaction.csv")).unwrap();
    let invoke = |model: &'static str| {
        client
            .invoke_endpoint()
            .endpoint_name("tenants")
            .target_model(model)
            .content_type("text/csv")
            .body(Blob::new(payload.clone()))
            .send()
    };

    // Loaded behind the platform's back: its load gets 409, which counts
    // as loaded, and the request is served by the tenant's own model.
    let load = format!(r#"{{"model_name": "tenant-3.json", "url": "{d}/tenant-3.json"}}"#);
    assert_eq!(container(port, "POST", "/models", &load), 200);
    let out = invoke("tenant-3.json").await.expect("served");
    let body = String::from_utf8(out.body.unwrap().into_inner()).unwrap();
    assert!(body.starts_with(r#"{"predictions":[{"score":"#), "{body}");
    assert_eq!(
        out.invoked_production_variant.as_deref(),
        Some("AllTraffic")
    );
    assert_eq!(loads(&server).await, 1);

    // Unloaded behind its back: the next request's invoke gets 404, the
    // platform loads it again and the request is served all the same.
    assert_eq!(container(port, "DELETE", "/models/tenant-3.json", ""), 200);
    let again = invoke("tenant-3.json")
        .await
        .expect("served after a reload");
    let body2 = String::from_utf8(again.body.unwrap().into_inner()).unwrap();
    assert_eq!(body, body2, "the same tenant's model scored it");
    assert_eq!(loads(&server).await, 2);
    assert_eq!(container(port, "GET", "/models/tenant-3.json", ""), 200);

    // Each tenant scores with its own weights.
    let other = invoke("tenant-0.json").await.expect("served");
    let body3 = String::from_utf8(other.body.unwrap().into_inner()).unwrap();
    assert_ne!(body, body3);
    // An unknown model is the platform's ValidationError; nothing loads.
    let err = invoke("tenant-9.json").await.unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 400);
    assert_eq!(loads(&server).await, 3);
    server.shutdown(Duration::from_secs(2)).await;
}
