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
        },
        instance_count: 2,
        concurrency: 2,
        service: ServiceDist::constant(0.001).unwrap(),
        external: false,
    };
    PlatformSpec {
        endpoints: vec![EndpointSpec {
            name: "ep".into(),
            routing: Routing::Random,
            variants: vec![variant("A"), variant("B")],
        }],
        faults: vec![],
    }
}

type Http = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

async fn call(
    c: &Http,
    method: &str,
    url: String,
    body: &str,
    variant: Option<&str>,
) -> (u16, String, String) {
    let mut req = hyper::Request::builder().method(method).uri(url);
    if let Some(v) = variant {
        req = req.header("X-Amzn-SageMaker-Target-Variant", v);
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
    let server = Server::start(&spec(), ServeOptions::local(3))
        .await
        .unwrap();
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
            "needs delay_ms",
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
