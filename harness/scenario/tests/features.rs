//! `[[feature_group]]`, `[endpoint.features]` and `feature_store_outage`:
//! what a valid file lowers to, and every error with its file, line,
//! column and fix.

use std::path::Path;
use std::time::Duration;

use gameday_core::features::{OnFailure, OutageMode};
use gameday_scenario::parse;

const SCENARIO: &str = r#"[scenario]
name = "t"
duration = "30m"

[[model]]
name = "fraud"
latency = { p50 = "10ms", p99 = "40ms" }

[[feature_group]]
name = "customer-features"
record_identifier = "customer_id"
lookup_popularity = { zipf = 1.0 }
features = [ { name = "purchase_count_30d", default = "0" }, { name = "avg_basket_usd", default = "42.0" } ]
latency = { p50 = "4ms", p99 = "15ms" }
refresh = "15m"
data = "features/customers.csv"

[[feature_group]]
name = "merchant-features"
records = 500
features = [ { name = "chargeback_rate" } ]

[[endpoint]]
name = "fraud-realtime"
  [endpoint.features]
  group = "customer-features"
  timeout = "50ms"
  on_failure = "stale_cache"
  cache_ttl = "10m"
  then = "default"
  [[endpoint.variant]]
  name = "AllTraffic"
  model = "fraud"
  instance_type = "ml.m5.xlarge"

[[workload]]
endpoint = "fraud-realtime"
arrival = { kind = "poisson", rate = 50 }

[[fault]]
kind = "feature_store_outage"
group = "customer-features"
mode = "unavailable"
at = "10m"
for = "5m"
"#;

fn check(src: &str) -> Result<gameday_scenario::Scenario, String> {
    parse("t.toml", src, Path::new("../../fixtures")).map_err(|e| e.to_string())
}

fn err(src: &str) -> String {
    check(src).expect_err("the scenario is invalid")
}

#[test]
fn a_feature_store_scenario_lowers_to_the_core_spec() {
    let s = check(SCENARIO).unwrap();
    let fs = &s.platform.feature_store;
    assert_eq!(fs.groups.len(), 2);
    // The data file's 1000 rows set the record count.
    assert_eq!(fs.groups[0].records, 1000);
    assert_eq!(fs.groups[0].zipf, Some(1.0));
    assert_eq!(fs.groups[0].refresh, Some(Duration::from_secs(900)));
    assert_eq!(fs.groups[0].features[1].default, "42.0");
    assert_eq!(fs.groups[1].records, 500);
    assert_eq!(fs.groups[1].refresh, None);
    assert_eq!(fs.uses.len(), 1);
    let u = &fs.uses[0];
    assert_eq!(u.groups, [0]);
    assert_eq!(u.on_failure, OnFailure::StaleCache);
    assert_eq!(u.then, OnFailure::Default);
    assert_eq!(u.cache_ttl, Duration::from_secs(600));
    assert_eq!(u.timeout, Duration::from_millis(50));
    assert_eq!(fs.outages.len(), 1);
    assert_eq!(fs.outages[0].mode, OutageMode::Unavailable);
    assert_eq!(fs.outages[0].at, Duration::from_secs(600));
    // The published quotas, from fixtures/feature-store.toml.
    assert_eq!(fs.quotas.get_record_tps, 10_000.0);
    assert_eq!(fs.quotas.batch_get_record_tps, 500.0);
}

#[test]
fn two_groups_and_each_outage_mode_are_accepted() {
    let src = SCENARIO
        .replace(
            "group = \"customer-features\"\n  timeout",
            "group = [\"customer-features\", \"merchant-features\"]\n  timeout",
        )
        .replace("mode = \"unavailable\"", "mode = \"throttled\"\nquota = 20")
        + "\n[feature_store]\nbatch_get_record_tps = 100\n";
    let s = check(&src).unwrap();
    let fs = &s.platform.feature_store;
    assert_eq!(fs.uses[0].groups, [0, 1]);
    assert_eq!(fs.outages[0].mode, OutageMode::Throttled { tps: 20.0 });
    assert_eq!(fs.quotas.batch_get_record_tps, 100.0);
    for (mode, extra, want) in [
        (
            "slow",
            "delay = \"80ms\"",
            OutageMode::Slow {
                delay: Duration::from_millis(80),
            },
        ),
        ("errors", "rate = 0.2", OutageMode::Errors { rate: 0.2 }),
        ("stale", "", OutageMode::Stale),
    ] {
        let src = SCENARIO.replace(
            "mode = \"unavailable\"",
            &format!("mode = \"{mode}\"\n{extra}"),
        );
        assert_eq!(
            check(&src).unwrap().platform.feature_store.outages[0].mode,
            want
        );
    }
}

#[test]
fn an_unknown_group_is_named_with_the_nearest() {
    let e = err(&SCENARIO.replace(
        "group = \"customer-features\"\n  timeout",
        "group = \"customer-feature\"\n  timeout",
    ));
    assert!(
        e.contains("t.toml:26:11: endpoint[0].features.group: unknown feature group \"customer-feature\"; did you mean \"customer-features\"?"),
        "{e}"
    );
    let e = err(&SCENARIO.replace(
        "group = \"customer-features\"\nmode",
        "group = \"merchant-feature\"\nmode",
    ));
    assert!(
        e.contains("t.toml:42:9: fault[0].group: unknown feature group \"merchant-feature\"; did you mean \"merchant-features\"?"),
        "{e}"
    );
}

#[test]
fn cache_ttl_without_stale_cache_is_refused() {
    let e = err(&SCENARIO.replace("on_failure = \"stale_cache\"", "on_failure = \"default\""));
    assert!(
        e.contains("t.toml:29:15: endpoint[0].features.cache_ttl: `cache_ttl` applies only to on_failure = \"stale_cache\" (this endpoint's is \"default\")"),
        "{e}"
    );
    assert!(
        e.contains(
            "endpoint[0].features.then: `then` applies only to on_failure = \"stale_cache\""
        ),
        "{e}"
    );
    let e = err(&SCENARIO.replace("on_failure = \"stale_cache\"", "on_failure = \"stale\""));
    assert!(
        e.contains("endpoint[0].features.on_failure: unknown fallback \"stale\" (expected one of: error, default, stale_cache)"),
        "{e}"
    );
}

#[test]
fn a_default_that_names_no_feature_is_refused() {
    let e = err(&SCENARIO.replace(
        "then = \"default\"",
        "then = \"default\"\n  defaults = { purchase_count_3d = \"1\" }",
    ));
    assert!(
        e.contains("endpoint[0].features.defaults.purchase_count_3d: unknown feature \"purchase_count_3d\"; did you mean \"purchase_count_30d\"?"),
        "{e}"
    );
}

#[test]
fn a_data_file_whose_columns_do_not_match_is_refused() {
    let e = err(&SCENARIO.replace("name = \"avg_basket_usd\"", "name = \"avg_basket\""));
    assert!(
        e.contains("t.toml:16:8: feature_group[0].data: features/customers.csv: its columns do not match the group's features: missing avg_basket; avg_basket_usd not a feature of \"customer-features\""),
        "{e}"
    );
    let e = err(&SCENARIO.replace("record_identifier = \"customer_id\"\n", ""));
    assert!(
        e.contains("missing record_id; customer_id not a feature"),
        "{e}"
    );
    let e = err(&SCENARIO.replace("refresh = \"15m\"", "refresh = \"15m\"\nrecords = 10"));
    assert!(
        e.contains("feature_group[0].records: records = 10, but the data file has 1000 rows"),
        "{e}"
    );
}

#[test]
fn outage_fields_are_checked_against_the_mode() {
    let e = err(&SCENARIO.replace("mode = \"unavailable\"", "mode = \"slow\""));
    assert!(
        e.contains("fault[0]: mode \"slow\" needs `delay`, like delay = \"80ms\""),
        "{e}"
    );
    let e = err(&SCENARIO.replace(
        "mode = \"unavailable\"",
        "mode = \"errors\"\ndelay = \"1s\"\nrate = 2.0",
    ));
    assert!(
        e.contains("fault[0].delay: `delay` does not apply to mode \"errors\" (it takes `rate`)"),
        "{e}"
    );
    assert!(
        e.contains("fault[0].rate: rate must be more than 0 and at most 1, got 2"),
        "{e}"
    );
    let e = err(&SCENARIO.replace("mode = \"unavailable\"", "mode = \"down\""));
    assert!(e.contains("fault[0].mode: unknown mode \"down\""), "{e}");
    // An outage of a group no endpoint reads would change nothing.
    let e = err(&SCENARIO.replace(
        "group = \"customer-features\"\nmode",
        "group = \"merchant-features\"\nmode",
    ));
    assert!(
        e.contains("no endpoint reads feature group \"merchant-features\""),
        "{e}"
    );
    // Feature-store fields on another kind of fault.
    let e = err(&SCENARIO.replace(
        "kind = \"feature_store_outage\"",
        "kind = \"latency_injection\"\nendpoint = \"fraud-realtime\"\ndelay = \"1s\"",
    ));
    assert!(
        e.contains("fault[0].group: `group` does not apply to fault kind \"latency_injection\""),
        "{e}"
    );
}

#[test]
fn group_errors_are_listed_together() {
    let e = err(&SCENARIO.replace(
        "records = 500\nfeatures = [ { name = \"chargeback_rate\" } ]",
        "records = 0\nfeatures = []\nrefresh = \"0s\"",
    ));
    assert!(
        e.contains("feature_group[1].records: records must be between 1 and 1000000, got 0"),
        "{e}"
    );
    assert!(
        e.contains("feature_group[1].features: a feature group needs at least one feature"),
        "{e}"
    );
    assert!(
        e.contains("feature_group[1].refresh: refresh must be more than 0"),
        "{e}"
    );
}
