//! The real `aws-sdk-sagemakerfeaturestoreruntime` client against the
//! embedded platform's online store: values read back from the data
//! file and from generated records, missing records, PutRecord,
//! DeleteRecord and BatchGetRecord over two groups, and, during each
//! outage mode, the error the SDK hands its caller.

use std::path::Path;
use std::time::Duration;

use aws_sdk_sagemakerfeaturestoreruntime::config::retry::RetryConfig;
use aws_sdk_sagemakerfeaturestoreruntime::config::timeout::TimeoutConfig;
use aws_sdk_sagemakerfeaturestoreruntime::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sagemakerfeaturestoreruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sagemakerfeaturestoreruntime::operation::get_record::GetRecordError;
use aws_sdk_sagemakerfeaturestoreruntime::operation::put_record::PutRecordError;
use aws_sdk_sagemakerfeaturestoreruntime::types::{BatchGetRecordIdentifier, FeatureValue};
use aws_sdk_sagemakerfeaturestoreruntime::Client;
use gameday_live::{ServeOptions, Server};

const BASE: &str = r#"
[scenario]
name = "feature-store-contract"
duration = "1h"

[[model]]
name = "fraud"
latency = { dist = "constant", value = "2ms" }

[[feature_group]]
name = "customer-features"
record_identifier = "customer_id"
data = "fixtures/features/customers.csv"
features = [ { name = "purchase_count_30d", default = "0" }, { name = "avg_basket_usd", default = "42.0" } ]
latency = { dist = "constant", value = "1ms" }
refresh = "200ms"

[[feature_group]]
name = "merchant-features"
records = 100
features = [ { name = "merchant_risk", default = "0.5" }, { name = "chargebacks_90d", default = "3" } ]
latency = { dist = "constant", value = "1ms" }
refresh = "200ms"

[[endpoint]]
name = "fraud"
  [endpoint.features]
  group = ["customer-features", "merchant-features"]
  timeout = "50ms"
  on_failure = "default"
  [[endpoint.variant]]
  name = "AllTraffic"
  model = "fraud"
  instance_type = "ml.m5.xlarge"
  instance_count = 1

[[workload]]
endpoint = "fraud"
arrival = { kind = "constant", rate = 1 }
"#;

const CUSTOMERS: &str = "customer-features";
const MERCHANTS: &str = "merchant-features";

/// The platform with `faults` (TOML `[[fault]]` tables) added.
async fn platform(faults: &str) -> Server {
    let text = format!("{BASE}{faults}");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sc = gameday_scenario::parse("fs.toml", &text, &root).expect("valid scenario");
    Server::start(&sc.platform, ServeOptions::local(5))
        .await
        .expect("binds loopback")
}

fn outage(group: &str, mode: &str) -> String {
    format!(
        "\n[[fault]]\nkind = \"feature_store_outage\"\ngroup = \"{group}\"\n{mode}\nat = \"0s\"\nfor = \"1h\"\n"
    )
}

/// The real client: static credentials, no retries, and an operation
/// timeout.
fn client(server: &Server) -> Client {
    let conf = aws_sdk_sagemakerfeaturestoreruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(server.url())
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(Duration::from_millis(250))
                .build(),
        )
        .build();
    Client::from_conf(conf)
}

/// A record as name → value pairs.
fn values(r: &[FeatureValue]) -> Vec<(String, String)> {
    r.iter()
        .map(|f| {
            (
                f.feature_name().unwrap_or("").to_string(),
                f.value_as_string().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn value<'a>(r: &'a [(String, String)], name: &str) -> &'a str {
    r.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("{name} missing from {r:?}"))
}

async fn get(c: &Client, group: &str, id: &str) -> Vec<(String, String)> {
    let out = c
        .get_record()
        .feature_group_name(group)
        .record_identifier_value_as_string(id)
        .send()
        .await
        .expect("GetRecord");
    values(out.record())
}

fn feature(name: &str, value: &str) -> FeatureValue {
    FeatureValue::builder()
        .feature_name(name)
        .value_as_string(value)
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_read_back_from_the_data_file_and_from_generated_values() {
    let server = platform("").await;
    let c = client(&server);

    // Row "3" of fixtures/features/customers.csv: 3,15,18.74,…
    let r = get(&c, CUSTOMERS, "3").await;
    assert_eq!(value(&r, "customer_id"), "3");
    assert_eq!(value(&r, "purchase_count_30d"), "15");
    assert_eq!(value(&r, "avg_basket_usd"), "18.74");
    let t = gameday_core::features::event_time_secs(value(&r, "event_time"));
    assert!(t.is_some(), "ISO-8601 event time: {r:?}");

    // Only the features asked for.
    let out = c
        .get_record()
        .feature_group_name(CUSTOMERS)
        .record_identifier_value_as_string("3")
        .feature_names("avg_basket_usd")
        .send()
        .await
        .expect("GetRecord");
    assert_eq!(
        values(out.record()),
        vec![("avg_basket_usd".to_string(), "18.74".to_string())]
    );

    // A generated record: integers from an integer default, decimals
    // from a decimal one, the same on every read.
    let m = get(&c, MERCHANTS, "7").await;
    assert_eq!(value(&m, "record_id"), "7");
    let risk: f64 = value(&m, "merchant_risk").parse().expect("a decimal");
    assert!((0.0..=1.0).contains(&risk), "{m:?}");
    let cb: u64 = value(&m, "chargebacks_90d").parse().expect("an integer");
    assert!(cb < 20, "{m:?}");
    assert_eq!(
        value(&get(&c, MERCHANTS, "7").await, "merchant_risk"),
        value(&m, "merchant_risk")
    );
    // The ARN names the group as well as its name.
    let arn = "arn:aws:sagemaker:us-east-1:000000000000:feature-group/merchant-features";
    assert_eq!(
        value(&get(&c, arn, "7").await, "merchant_risk"),
        value(&m, "merchant_risk")
    );
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_record_is_an_empty_result_and_an_unknown_group_not_found() {
    let server = platform("").await;
    let c = client(&server);
    assert!(get(&c, CUSTOMERS, "no-such-customer").await.is_empty());
    assert!(get(&c, MERCHANTS, "100").await.is_empty(), "records 0 … 99");

    let e = c
        .get_record()
        .feature_group_name("no-such-group")
        .record_identifier_value_as_string("1")
        .send()
        .await
        .expect_err("an unknown group");
    assert!(
        matches!(e.into_service_error(), GetRecordError::ResourceNotFound(_)),
        "ResourceNotFound"
    );
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_overwrites_only_with_a_newer_event_time_and_delete_removes() {
    let server = platform("").await;
    let c = client(&server);
    let put = |id: &str, count: &str, at: &str| {
        c.put_record()
            .feature_group_name(CUSTOMERS)
            .set_record(Some(vec![
                feature("customer_id", id),
                feature("purchase_count_30d", count),
                feature("avg_basket_usd", "10.5"),
                feature("event_time", at),
            ]))
    };
    // A new record, then a newer write, then an older one (ignored by the
    // online store).
    put("new-1", "4", "2030-01-01T00:00:00Z")
        .send()
        .await
        .expect("PutRecord");
    assert_eq!(
        value(&get(&c, CUSTOMERS, "new-1").await, "purchase_count_30d"),
        "4"
    );
    put("new-1", "9", "2030-01-02T00:00:00Z")
        .send()
        .await
        .expect("PutRecord");
    put("new-1", "1", "2029-01-01T00:00:00Z")
        .send()
        .await
        .expect("PutRecord");
    assert_eq!(
        value(&get(&c, CUSTOMERS, "new-1").await, "purchase_count_30d"),
        "9"
    );
    // An existing customer overwritten.
    put("3", "99", "2030-01-01T00:00:00Z")
        .send()
        .await
        .expect("PutRecord");
    assert_eq!(
        value(&get(&c, CUSTOMERS, "3").await, "purchase_count_30d"),
        "99"
    );

    // A record without its event time, and a feature the group lacks.
    let e = c
        .put_record()
        .feature_group_name(CUSTOMERS)
        .record(feature("customer_id", "5"))
        .send()
        .await
        .expect_err("no event time");
    assert!(matches!(
        e.into_service_error(),
        PutRecordError::ValidationError(_)
    ));
    let e = put("5", "1", "2030-01-01T00:00:00Z")
        .record(feature("not_a_feature", "1"))
        .send()
        .await
        .expect_err("an unknown feature");
    assert!(matches!(
        e.into_service_error(),
        PutRecordError::ValidationError(_)
    ));

    // Delete: soft by default; an older hard delete is refused.
    let e = c
        .delete_record()
        .feature_group_name(CUSTOMERS)
        .record_identifier_value_as_string("new-1")
        .event_time("2029-06-01T00:00:00Z")
        .deletion_mode(aws_sdk_sagemakerfeaturestoreruntime::types::DeletionMode::HardDelete)
        .send()
        .await
        .expect_err("an older hard delete");
    assert_eq!(e.code(), Some("ValidationError"));
    c.delete_record()
        .feature_group_name(CUSTOMERS)
        .record_identifier_value_as_string("new-1")
        .event_time("2030-02-01T00:00:00Z")
        .send()
        .await
        .expect("DeleteRecord");
    assert!(get(&c, CUSTOMERS, "new-1").await.is_empty());
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_get_record_reads_two_groups_in_one_call() {
    let server = platform("").await;
    let c = client(&server);
    let out = c
        .batch_get_record()
        .identifiers(
            BatchGetRecordIdentifier::builder()
                .feature_group_name(CUSTOMERS)
                .record_identifiers_value_as_string("3")
                .record_identifiers_value_as_string("no-such-customer")
                .feature_names("purchase_count_30d")
                .build(),
        )
        .identifiers(
            BatchGetRecordIdentifier::builder()
                .feature_group_name(MERCHANTS)
                .record_identifiers_value_as_string("7")
                .build(),
        )
        .send()
        .await
        .expect("BatchGetRecord");
    let found: Vec<(&str, &str)> = out
        .records()
        .iter()
        .map(|r| {
            (
                r.feature_group_name().unwrap_or(""),
                r.record_identifier_value_as_string().unwrap_or(""),
            )
        })
        .collect();
    // A missing record is neither a record nor an error.
    assert_eq!(found, vec![(CUSTOMERS, "3"), (MERCHANTS, "7")]);
    assert!(out.errors().is_empty());
    assert_eq!(
        values(out.records()[0].record()),
        vec![("purchase_count_30d".to_string(), "15".to_string())]
    );
    assert_eq!(values(out.records()[1].record()).len(), 4);
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_answers_service_unavailable_to_reads_writes_and_batches() {
    let server = platform(&outage(CUSTOMERS, "mode = \"unavailable\"")).await;
    let c = client(&server);
    let e = c
        .get_record()
        .feature_group_name(CUSTOMERS)
        .record_identifier_value_as_string("3")
        .send()
        .await
        .expect_err("the group is down");
    assert!(matches!(
        e.into_service_error(),
        GetRecordError::ServiceUnavailable(_)
    ));
    let e = c
        .put_record()
        .feature_group_name(CUSTOMERS)
        .set_record(Some(vec![
            feature("customer_id", "3"),
            feature("event_time", "2030-01-01T00:00:00Z"),
        ]))
        .send()
        .await
        .expect_err("the group is down");
    assert!(matches!(
        e.into_service_error(),
        PutRecordError::ServiceUnavailable(_)
    ));
    // The other group still answers, and in a batch the outage is the
    // down group's entry in Errors.
    assert_eq!(value(&get(&c, MERCHANTS, "7").await, "record_id"), "7");
    let out = c
        .batch_get_record()
        .identifiers(
            BatchGetRecordIdentifier::builder()
                .feature_group_name(CUSTOMERS)
                .record_identifiers_value_as_string("3")
                .build(),
        )
        .identifiers(
            BatchGetRecordIdentifier::builder()
                .feature_group_name(MERCHANTS)
                .record_identifiers_value_as_string("7")
                .build(),
        )
        .send()
        .await
        .expect("BatchGetRecord answers 200");
    assert_eq!(out.records().len(), 1);
    assert_eq!(out.records()[0].feature_group_name(), Some(MERCHANTS));
    let errors: Vec<(&str, &str)> = out
        .errors()
        .iter()
        .map(|e| {
            (
                e.feature_group_name().unwrap_or(""),
                e.error_code().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(errors, vec![(CUSTOMERS, "ServiceUnavailable")]);
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_answer_internal_failure_and_throttled_a_throttling_exception() {
    let faults = format!(
        "{}{}",
        outage(CUSTOMERS, "mode = \"errors\"\nrate = 1.0"),
        outage(MERCHANTS, "mode = \"throttled\"\nquota = 1")
    );
    let server = platform(&faults).await;
    let c = client(&server);
    let e = c
        .get_record()
        .feature_group_name(CUSTOMERS)
        .record_identifier_value_as_string("3")
        .send()
        .await
        .expect_err("every call fails");
    assert!(matches!(
        e.into_service_error(),
        GetRecordError::InternalFailure(_)
    ));
    // One call a second: of five back to back, at least four are
    // throttled (the bucket holds one token).
    let mut throttled = 0;
    for _ in 0..5 {
        match c
            .get_record()
            .feature_group_name(MERCHANTS)
            .record_identifier_value_as_string("7")
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.code(), Some("ThrottlingException"), "{e:?}");
                throttled += 1;
            }
        }
    }
    assert!(throttled >= 4, "{throttled} of 5 throttled");
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_outlasts_the_client_timeout_and_stale_stops_event_times() {
    let faults = format!(
        "{}{}",
        outage(MERCHANTS, "mode = \"slow\"\ndelay = \"2s\""),
        outage(CUSTOMERS, "mode = \"stale\"")
    );
    let server = platform(&faults).await;
    let c = client(&server);
    let e = c
        .get_record()
        .feature_group_name(MERCHANTS)
        .record_identifier_value_as_string("7")
        .send()
        .await
        .expect_err("2 s is past the client's 250 ms");
    assert!(matches!(e, SdkError::TimeoutError(_)), "{e:?}");

    // Ingestion has stopped: the record's event time stays where it was,
    // though the group refreshes every 200 ms.
    let before = get(&c, CUSTOMERS, "3").await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let after = get(&c, CUSTOMERS, "3").await;
    assert_eq!(value(&before, "event_time"), value(&after, "event_time"));
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_outage_ingestion_moves_event_times_on() {
    let server = platform("").await;
    let c = client(&server);
    let before = get(&c, CUSTOMERS, "3").await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let after = get(&c, CUSTOMERS, "3").await;
    let t = |r: &[(String, String)]| {
        gameday_core::features::event_time_secs(value(r, "event_time")).expect("an event time")
    };
    let moved = t(&after) - t(&before);
    assert!(
        (0.39..0.81).contains(&moved),
        "two or three 200 ms refreshes: {moved}"
    );
    server.shutdown(Duration::from_secs(1)).await;
}
