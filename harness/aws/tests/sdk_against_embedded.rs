//! The real `aws-sdk-sagemakerruntime` client, pointed at the embedded
//! platform on a loopback port with static test credentials, gets
//! SageMaker-shaped answers and every modelled error as its typed error.

use std::path::Path;
use std::sync::Arc;

mod common;
use common::client;

use aws_sdk_sagemakerruntime::operation::invoke_endpoint::InvokeEndpointError;
use aws_sdk_sagemakerruntime::primitives::Blob;
use aws_sdk_sagemakerruntime::Client;
use gameday_aws::{SageMakerOptions, SageMakerTarget};
use gameday_live::model::LogisticRegression;
use gameday_live::{ServeOptions, Server};

const SCENARIO: &str = r#"
[scenario]
name = "sdk-contract"
duration = "1m"

[[model]]
name = "echo"
latency = { dist = "constant", value = "1ms" }

[[endpoint]]
name = "fraud"
  [[endpoint.variant]]
  name = "Synthetic"
  model = "echo"
  instance_type = "ml.m5.xlarge"
  weight = 1.0
  [[endpoint.variant]]
  name = "Real"
  model = "echo"
  instance_type = "ml.m5.xlarge"
  weight = 0.0

[[endpoint]]
name = "throttled"
  [[endpoint.variant]]
  name = "AllTraffic"
  model = "echo"
  instance_type = "ml.m5.xlarge"

[[endpoint]]
name = "unavailable"
  [[endpoint.variant]]
  name = "AllTraffic"
  model = "echo"
  instance_type = "ml.m5.xlarge"

[[endpoint]]
name = "crashed"
  [[endpoint.variant]]
  name = "AllTraffic"
  model = "echo"
  instance_type = "ml.m5.xlarge"

[[workload]]
endpoint = "fraud"
arrival = { kind = "constant", rate = 1 }

[[fault]]
at = "0s"
kind = "error_injection"
endpoint = "throttled"
rate = 1.0
status = 429

[[fault]]
at = "0s"
kind = "error_injection"
endpoint = "unavailable"
rate = 1.0
status = 503

[[fault]]
at = "0s"
kind = "instance_crash"
endpoint = "crashed"
count = 1
detect_after = "1h"
"#;

async fn platform() -> Server {
    let sc = gameday_scenario::parse("sdk.toml", SCENARIO, Path::new(".")).expect("valid");
    let model = LogisticRegression::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models/fraud-logreg.json"),
    )
    .unwrap();
    let mut opts = ServeOptions::local(1);
    opts.models = vec![vec![None, Some(Arc::new(model))]];
    Server::start(&sc.platform, opts)
        .await
        .expect("binds loopback")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invokes_and_reads_the_body_and_invoked_variant() {
    let server = platform().await;
    let c = client(&server.url()).await;
    let out = c
        .invoke_endpoint()
        .endpoint_name("fraud")
        .content_type("application/json")
        .body(Blob::new(b"{\"x\":1}".to_vec()))
        .send()
        .await
        .expect("invocation succeeds");
    assert_eq!(out.invoked_production_variant(), Some("Synthetic"));
    let body: serde_json::Value = serde_json::from_slice(out.body().unwrap().as_ref()).unwrap();
    assert_eq!(body["bytes_received"], 7);

    // TargetVariant routes to the real model, which scores the CSV row.
    let out = c
        .invoke_endpoint()
        .endpoint_name("fraud")
        .target_variant("Real")
        .content_type("text/csv")
        .body(Blob::new(b"3.2,0.5,-0.1,0.9,4.0,2,1,0".to_vec()))
        .send()
        .await
        .expect("real model answers");
    assert_eq!(out.invoked_production_variant(), Some("Real"));
    assert_eq!(out.content_type(), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(out.body().unwrap().as_ref()).unwrap();
    let score = body["predictions"][0]["score"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&score));
    server.shutdown(std::time::Duration::from_secs(1)).await;
}

async fn error_of(
    c: &Client,
    endpoint: &str,
    variant: Option<&str>,
    body: &[u8],
) -> (InvokeEndpointError, u16) {
    let mut call = c
        .invoke_endpoint()
        .endpoint_name(endpoint)
        .content_type("text/csv")
        .body(Blob::new(body.to_vec()));
    if let Some(v) = variant {
        call = call.target_variant(v);
    }
    let err = call.send().await.expect_err("an error");
    let status = err.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
    (err.into_service_error(), status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_modelled_error_arrives_as_the_sdks_typed_error() {
    let server = platform().await;
    let c = client(&server.url()).await;

    let (e, status) = error_of(&c, "no-such-endpoint", None, b"1").await;
    assert!(
        matches!(e, InvokeEndpointError::ValidationError(_)),
        "{e:?}"
    );
    assert_eq!(status, 400);
    assert!(e.meta().message().unwrap().contains("no-such-endpoint"));

    let (e, _) = error_of(&c, "fraud", Some("NoSuchVariant"), b"1").await;
    assert!(
        matches!(e, InvokeEndpointError::ValidationError(_)),
        "{e:?}"
    );

    let (e, status) = error_of(&c, "fraud", Some("Real"), b"1,2,3").await;
    let InvokeEndpointError::ModelError(me) = &e else {
        panic!("expected ModelError, got {e:?}")
    };
    assert_eq!(status, 424);
    assert_eq!(me.original_status_code(), Some(400));
    assert!(me.original_message().unwrap().contains("features"));
    assert!(me.log_stream_arn().unwrap().starts_with("arn:aws:logs:"));

    let (e, status) = error_of(&c, "crashed", None, b"1").await;
    let InvokeEndpointError::ModelError(me) = &e else {
        panic!("expected ModelError, got {e:?}")
    };
    assert_eq!(status, 424);
    assert_eq!(me.original_status_code(), Some(502));

    let (e, status) = error_of(&c, "throttled", None, b"1").await;
    assert!(
        matches!(e, InvokeEndpointError::ModelNotReadyException(_)),
        "{e:?}"
    );
    assert_eq!(status, 429);

    let (e, status) = error_of(&c, "unavailable", None, b"1").await;
    assert!(
        matches!(e, InvokeEndpointError::ServiceUnavailable(_)),
        "{e:?}"
    );
    assert_eq!(status, 503);

    // Over the 6 MB limit: a ValidationError, not a buffered 7 MB body.
    let big = vec![b'1'; 7 * 1024 * 1024];
    let (e, status) = error_of(&c, "fraud", None, &big).await;
    assert!(
        matches!(e, InvokeEndpointError::ValidationError(_)),
        "{e:?}"
    );
    assert_eq!(status, 400);

    // Nothing above took the server down.
    let (e, _) = error_of(&c, "no-such-endpoint", None, b"1").await;
    assert!(matches!(e, InvokeEndpointError::ValidationError(_)));
    server.shutdown(std::time::Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_target_counts_attempts_only_when_retries_are_on() {
    use gameday_load::{Invocation, Target};
    let server = platform().await;
    let mk = |attempts| SageMakerOptions {
        region: Some("us-east-1".into()),
        endpoint_url: Some(server.url()),
        max_attempts: attempts,
        static_credentials: Some(("test".into(), "test".into())),
    };
    let inv = |ep: &str| Invocation {
        endpoint: ep.into(),
        target_variant: None,
        target_model: None,
        content_type: "text/csv".into(),
        body: bytes_of(b"1"),
    };
    let off = SageMakerTarget::new(mk(1)).await;
    let a = off.invoke(inv("unavailable")).await.unwrap();
    assert_eq!(a.status, 503);
    assert_eq!(a.error_code.as_deref(), Some("ServiceUnavailable"));
    assert_eq!(off.attempts(), None);

    // 503 is retryable: three attempts for one call.
    let on = SageMakerTarget::new(mk(3)).await;
    let a = on.invoke(inv("unavailable")).await.unwrap();
    assert_eq!(a.status, 503);
    assert_eq!(on.attempts(), Some(3));
    // A success is one attempt.
    let a = on.invoke(inv("fraud")).await.unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(a.variant.as_deref(), Some("Synthetic"));
    assert_eq!(on.attempts(), Some(4));
    server.shutdown(std::time::Duration::from_secs(1)).await;
}

fn bytes_of(b: &[u8]) -> bytes::Bytes {
    bytes::Bytes::copy_from_slice(b)
}
