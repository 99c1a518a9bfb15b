//! The real `aws-sdk-sagemakerruntime` client's `.target_model(...)`
//! against a multi-model endpoint of the embedded platform: a cold load
//! then a hit, and each `TargetModel` error as the SDK's typed error.

use std::path::Path;
use std::time::{Duration, Instant};

mod common;
use common::client;

use aws_sdk_sagemakerruntime::operation::invoke_endpoint::InvokeEndpointError;
use aws_sdk_sagemakerruntime::primitives::Blob;
use aws_sdk_sagemakerruntime::Client;
use gameday_live::{ServeOptions, Server};

const SCENARIO: &str = r#"
[scenario]
name = "sdk-mme"
duration = "1m"

[[model]]
name = "echo"
latency = { dist = "constant", value = "1ms" }

[[endpoint]]
name = "tenants"
mode = "multi_model"
  [[endpoint.variant]]
  name = "AllTraffic"
  instance_type = "ml.m5.xlarge"
  concurrency = 4
  download_bandwidth = "1GB/s"
  load_rate = "1GB/s"
    [endpoint.variant.models]
    count = 5
    size = "300MB"
    latency = { dist = "constant", value = "1ms" }

[[endpoint]]
name = "single"
  [[endpoint.variant]]
  name = "AllTraffic"
  model = "echo"
  instance_type = "ml.m5.xlarge"

[[workload]]
endpoint = "tenants"
arrival = { kind = "constant", rate = 1 }

[[fault]]
at = "0s"
kind = "model_load_failure"
endpoint = "tenants"
model = "model-2"
"#;

/// The real clock (this test times real calls).
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

async fn platform() -> Server {
    let sc = gameday_scenario::parse("mme.toml", SCENARIO, Path::new(".")).expect("valid");
    Server::start(&sc.platform, ServeOptions::local(1))
        .await
        .expect("binds loopback")
}

async fn invoke(
    c: &Client,
    endpoint: &str,
    model: Option<&str>,
) -> Result<Option<String>, (InvokeEndpointError, u16)> {
    let mut call = c
        .invoke_endpoint()
        .endpoint_name(endpoint)
        .content_type("application/json")
        .body(Blob::new(b"{}".to_vec()));
    if let Some(m) = model {
        call = call.target_model(m);
    }
    match call.send().await {
        Ok(out) => Ok(out.invoked_production_variant().map(String::from)),
        Err(e) => {
            let status = e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
            Err((e.into_service_error(), status))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_model_loads_cold_then_hits() {
    let server = platform().await;
    let c = client(&server.url()).await;
    // 300 MB: 0.3 s download and 0.3 s load, the first time only.
    let t = now();
    let v = invoke(&c, "tenants", Some("model-1"))
        .await
        .expect("served");
    let cold = t.elapsed();
    assert_eq!(v.as_deref(), Some("AllTraffic"));
    assert!(cold >= Duration::from_millis(550), "{cold:?}");
    let t = now();
    invoke(&c, "tenants", Some("model-1"))
        .await
        .expect("served");
    let warm = t.elapsed();
    assert!(warm < Duration::from_millis(300), "{warm:?}");
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_model_errors_arrive_as_the_sdks_typed_errors() {
    let server = platform().await;
    let c = client(&server.url()).await;
    let validation = |r: Result<Option<String>, (InvokeEndpointError, u16)>, says: &str| {
        let (e, status) = r.expect_err("an error");
        assert!(
            matches!(e, InvokeEndpointError::ValidationError(_)),
            "{e:?}"
        );
        assert_eq!(status, 400);
        let msg = e.meta().message().unwrap_or("").to_string();
        assert!(msg.contains(says), "{msg}");
    };
    validation(invoke(&c, "tenants", None).await, "TargetModel");
    validation(
        invoke(&c, "tenants", Some("model-99")).await,
        "Failed to download model data",
    );
    validation(
        invoke(&c, "single", Some("model-1")).await,
        "not a multi-model endpoint",
    );
    // model-2's loads fail: the container's error comes back as a
    // ModelError with its status.
    let (e, status) = invoke(&c, "tenants", Some("model-2"))
        .await
        .expect_err("the load fails");
    let InvokeEndpointError::ModelError(me) = &e else {
        panic!("expected ModelError, got {e:?}")
    };
    assert_eq!(status, 424);
    assert_eq!(me.original_status_code(), Some(500));
    server.shutdown(Duration::from_secs(1)).await;
}
