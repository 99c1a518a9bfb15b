//! The real `aws-sdk-ec2` client reads the embedded platform's
//! `DescribeSpotPriceHistory` (the `ec2` feature): every page through the
//! SDK's paginator, the price in effect at the window's start, the region
//! from the signature, and EC2's errors as the SDK's.

#![cfg(feature = "ec2")]

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use gameday_aws::ec2::{spot_price_history, Ec2Error, SpotPriceQuery};
use gameday_core::TimeScale;
use gameday_live::ec2_api::{parse_timestamp, SpotPriceHistory};
use gameday_live::{ServeOptions, Server};

const SCENARIO: &str = r#"
[scenario]
name = "ec2-contract"
duration = "1h"

[[model]]
name = "echo"
latency = { dist = "constant", value = "2ms" }

[[endpoint]]
name = "e"
  [[endpoint.variant]]
  name = "AllTraffic"
  model = "echo"
  instance_type = "ml.m5.xlarge"
  instance_count = 1

[[workload]]
endpoint = "e"
arrival = { kind = "constant", rate = 1 }
"#;

async fn platform() -> Server {
    let sc = gameday_scenario::parse("ec2.toml", SCENARIO, Path::new(".")).expect("valid");
    let scale = TimeScale::new(1.0);
    Server::start(&scale.platform(&sc.platform), ServeOptions::local(1))
        .await
        .expect("binds loopback")
}

fn at(iso: &str) -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_millis(parse_timestamp(iso).unwrap() as u64)
}

fn query(url: &str, region: &str, types: &[&str]) -> SpotPriceQuery {
    SpotPriceQuery {
        region: region.into(),
        endpoint_url: Some(url.into()),
        static_credentials: Some(("test".into(), "test".into())),
        instance_types: types.iter().map(|t| t.to_string()).collect(),
        product: "Linux/UNIX".into(),
        start: at("2026-11-28T00:00:00Z"),
        end: at("2026-12-01T00:00:00Z"),
        page_size: Some(5),
    }
}

/// What the fixture holds for `ty` in `region` over the query's window:
/// the changes inside it, and per zone the one in effect at its start.
fn expected(region: &str, ty: &str) -> usize {
    let start = parse_timestamp("2026-11-28T00:00:00Z").unwrap();
    let end = parse_timestamp("2026-12-01T00:00:00Z").unwrap();
    let rows: Vec<_> = SpotPriceHistory::builtin()
        .changes()
        .iter()
        .filter(|c| c.region == region && c.instance_type == ty)
        .collect();
    let inside = rows
        .iter()
        .filter(|c| c.at_ms > start && c.at_ms <= end)
        .count();
    let mut zones: Vec<&str> = rows
        .iter()
        .filter(|c| c.at_ms <= start)
        .map(|c| c.zone.as_str())
        .collect();
    zones.dedup();
    inside + zones.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_arrives_through_the_sdk_paginator() {
    let server = platform().await;
    let url = server.url();
    let h = spot_price_history(&query(&url, "us-east-1", &["p3.2xlarge", "g5.xlarge"]))
        .await
        .expect("answers");
    let want = expected("us-east-1", "p3.2xlarge") + expected("us-east-1", "g5.xlarge");
    assert_eq!(h.points.len(), want);
    // Five a page: the paginator followed every NextToken.
    assert_eq!(h.pages, want.div_ceil(5));
    assert!(h.pages > 3, "{}", h.pages);
    // Newest first; every zone's price in effect at the start is there.
    assert!(h.points.windows(2).all(|w| w[0].at_ms >= w[1].at_ms));
    let start = parse_timestamp("2026-11-28T00:00:00Z").unwrap();
    for z in ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"] {
        assert!(
            h.points
                .iter()
                .any(|p| p.zone == z && p.instance_type == "p3.2xlarge" && p.at_ms <= start),
            "{z}"
        );
    }
    assert!(h
        .points
        .iter()
        .all(|p| p.price_usd > 0.0 && p.price_usd < 3.06));

    // The region comes from the signature: us-west-2 has three zones.
    let h = spot_price_history(&query(&url, "us-west-2", &["p3.2xlarge"]))
        .await
        .unwrap();
    assert_eq!(h.points.len(), expected("us-west-2", "p3.2xlarge"));
    assert!(h.points.iter().all(|p| p.zone.starts_with("us-west-2")));
    // A region without data answers nothing, as EC2 would for a type not
    // offered there.
    let h = spot_price_history(&query(&url, "eu-west-1", &["p3.2xlarge"]))
        .await
        .unwrap();
    assert!(h.points.is_empty());
    assert_eq!(h.pages, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_errors_arrive_as_the_sdks_service_errors() {
    let server = platform().await;
    let url = server.url();
    let err = spot_price_history(&query(&url, "us-east-1", &["ml.p3.2xlarge"]))
        .await
        .unwrap_err();
    match &err {
        Ec2Error::Service { code, message } => {
            assert_eq!(code, "InvalidParameterValue");
            assert!(message.contains("ml.p3.2xlarge"), "{message}");
        }
        other => panic!("{other}"),
    }
    let mut q = query(&url, "us-east-1", &["p3.2xlarge"]);
    q.page_size = Some(2000);
    let err = spot_price_history(&q).await.unwrap_err();
    assert!(
        matches!(&err, Ec2Error::Service { code, .. } if code == "InvalidParameterValue"),
        "{err}"
    );
    // Nothing listening: a call error, not a service error.
    let mut q = query("http://127.0.0.1:9", "us-east-1", &["p3.2xlarge"]);
    q.page_size = None;
    let err = spot_price_history(&q).await.unwrap_err();
    assert!(matches!(err, Ec2Error::Call(_)), "{err}");
}
