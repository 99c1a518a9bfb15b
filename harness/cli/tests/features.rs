//! The feature store end to end on the virtual clock: the shipped
//! scenarios' verdicts and `features` fields, byte-identical reports for a
//! seed, and bad input's exit code.

mod common;
use common::*;

fn failed_slos(r: &serde_json::Value) -> Vec<(String, String)> {
    r["slos"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["met"] == false)
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["endpoint"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn u(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn the_same_outage_under_each_fallback_costs_what_it_should() {
    let tmp = tempfile::tempdir().unwrap();
    let (o, r) = run(&["scenarios/feature-store-fallbacks.toml"], tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert_eq!(
        failed_slos(&r),
        [
            ("error_rate".to_string(), "fraud-error".to_string()),
            ("degraded_rate".to_string(), "fraud-default".to_string()),
        ]
    );
    let f = |e: usize| &r["endpoints"][e]["features"];
    for e in 0..3 {
        let x = f(e);
        // The names scripts read.
        for k in [
            "lookups",
            "served_fresh",
            "served_cached",
            "served_default",
            "failed",
        ] {
            assert!(x[k].is_u64(), "endpoint {e}: {k} in {x}");
        }
        assert!(x["predictions_changed"].is_null(), "no real model scored");
        for k in ["p50", "p99", "max"] {
            assert!(x["age_ms"][k].is_f64(), "{x}");
        }
        if e < 2 {
            // Served fresh or not at all: never older than the 15-minute
            // refresh. (The max was once the top of a histogram bucket,
            // 900,095 ms.)
            let max = x["age_ms"]["max"].as_f64().unwrap();
            assert!(max < 900_000.0, "endpoint {e}: max age {max} ms");
        }
        // Every response looked up exactly once, and took one path.
        let paths = u(&x["served_fresh"])
            + u(&x["served_cached"])
            + u(&x["served_default"])
            + u(&x["failed"]);
        assert_eq!(paths, u(&x["lookups"]));
        assert_eq!(u(&x["lookups"]), u(&r["endpoints"][e]["requests"]));
        // Every lookup inside the outage failed as unavailable.
        let w = &x["during_outages"];
        assert_eq!(w["windows_s"], serde_json::json!([[600.0, 900.0]]));
        assert_eq!(u(&w["served_fresh"]), 0);
        assert_eq!(u(&x["lookup_errors"]["unavailable"]), u(&w["requests"]));
    }
    // error: the failed lookups are the endpoint's 5xx errors.
    assert_eq!(
        u(&f(0)["failed"]),
        u(&r["endpoints"][0]["errors"]["server_5xx"])
    );
    assert_eq!(u(&f(0)["served_default"]), 0);
    // default: no errors, every outage response scored on defaults.
    assert_eq!(u(&r["endpoints"][1]["errors"]["server_5xx"]), 0);
    assert_eq!(
        u(&f(1)["served_default"]),
        u(&f(1)["during_outages"]["requests"])
    );
    // stale_cache: nearly all from cache, a few uncached records fall back
    // to defaults, and the copies served are older than fresh ones.
    let cached = u(&f(2)["served_cached"]);
    let default = u(&f(2)["served_default"]);
    assert!(cached > 50 * default, "{cached} cached, {default} default");
    assert_eq!(u(&f(2)["failed"]), 0);
    assert!(f(2)["age_ms"]["max"].as_f64() > f(1)["age_ms"]["max"].as_f64());
    let summary = std::fs::read_to_string(tmp.path().join("summary.md")).unwrap();
    assert!(summary.contains("## Feature store"), "{summary}");
    assert!(
        summary.contains("During the outages of fraud-stale-cache (600–900 s)"),
        "{summary}"
    );
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    assert!(html.contains("<h2>Feature store</h2>"));
    let postmortem = std::fs::read_to_string(tmp.path().join("postmortem.md")).unwrap();
    let line = postmortem
        .lines()
        .find(|l| l.contains("Feature pipeline failure"))
        .unwrap();
    let lookups_failed: u64 = (0..3)
        .map(|e| u(&f(e)["lookup_errors"]["unavailable"]))
        .sum();
    let defaults = u(&f(1)["served_default"]) + u(&f(2)["served_default"]);
    assert_eq!(
        line,
        format!("- [x] Feature pipeline failure (feature store outage, stale features) — 3 feature-store outage event(s) (one per endpoint reading the group), {lookups_failed} failed lookups, {defaults} responses on default features, 0 feature-age objective(s) missed")
    );
    let events = std::fs::read_to_string(tmp.path().join("events.csv")).unwrap();
    assert!(events.contains(
        "600.0,fault_injected,fraud-error,,,feature_store_outage (unavailable) of customer-features began"
    ));

    // The same seed writes the same bytes.
    let again = tempfile::tempdir().unwrap();
    run(&["scenarios/feature-store-fallbacks.toml"], again.path());
    let bytes = |d: &std::path::Path| std::fs::read(d.join("report.json")).unwrap();
    assert!(
        bytes(tmp.path()) == bytes(again.path()),
        "report.json differs"
    );
}

#[test]
fn a_slow_store_breaks_p99_without_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let (o, r) = run(&["scenarios/feature-store-slow.toml"], tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert_eq!(
        failed_slos(&r),
        [("latency_p99".to_string(), "fraud-realtime".to_string())]
    );
    let ep = &r["endpoints"][0];
    assert_eq!(u(&ep["ok"]), u(&ep["requests"]));
    let f = &ep["features"];
    assert_eq!(u(&f["served_fresh"]), u(&f["lookups"]));
    // The slow window's lookups took the added 60 ms.
    let slow = f["during_outages"]["by_path"][0]["latency_p50_ms"]
        .as_f64()
        .unwrap();
    assert!(slow > 60.0, "{slow}");
}

#[test]
fn stale_ingestion_is_caught_by_the_age_objective_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let (o, r) = run(&["scenarios/feature-store-stale.toml"], tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert_eq!(
        failed_slos(&r),
        [("feature_age_p99".to_string(), "fraud-realtime".to_string())]
    );
    let f = &r["endpoints"][0]["features"];
    // Records are rewritten every 15 minutes, except for 90 minutes: a
    // record last written up to 15 minutes before the stop is next written
    // up to 15 minutes after ingestion resumes, so the oldest served is
    // 90 to 120 minutes old (the histogram keeps 3 significant digits).
    let max_s = f["age_ms"]["max"].as_f64().unwrap() / 1e3;
    assert!((5400.0..=7210.0).contains(&max_s), "{max_s}");
    assert!(f["age_ms"]["p99"].as_f64().unwrap() > 1_800_000.0);
}

#[test]
fn an_endpoint_without_features_has_no_features_field() {
    let tmp = tempfile::tempdir().unwrap();
    let (o, r) = run(&["scenarios/quickstart.toml"], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(r["endpoints"][0].get("features").is_none());
}

#[test]
fn an_unknown_group_exits_2_with_file_line_col() {
    let tmp = tempfile::tempdir().unwrap();
    let src = std::fs::read_to_string(root().join("scenarios/feature-store-slow.toml"))
        .unwrap()
        .replace(
            "group = \"customer-features\"\n  timeout",
            "group = \"customer-feature\"\n  timeout",
        )
        .replace("../fixtures/", &format!("{}/fixtures/", root().display()));
    let file = tmp.path().join("bad.toml");
    std::fs::write(&file, src).unwrap();
    let o = gameday(&["validate", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("bad.toml:36:11: endpoint[0].features.group: unknown feature group \"customer-feature\"; did you mean \"customer-features\"?"),
        "{err}"
    );
}

#[test]
fn a_users_container_meets_the_store_outage_over_the_runtime_api() {
    let tmp = tempfile::tempdir().unwrap();
    let (o, r) = run(&["scenarios/feature-store-container.toml"], tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert_eq!(
        failed_slos(&r),
        [("error_rate".to_string(), "fraud-error".to_string())]
    );
    let ep = |e: usize| &r["endpoints"][e];
    // fraud-error: the container's 500s during the 4 s outage (a third
    // of the 12 s run at 20 requests a second), and answers around it.
    let (requests, failed) = (u(&ep(0)["requests"]), u(&ep(0)["errors"]["server_5xx"]));
    assert!(requests > 150, "{}", ep(0));
    let share = failed as f64 / requests as f64;
    assert!((0.2..0.5).contains(&share), "{failed} of {requests} failed");
    assert!(u(&ep(0)["ok"]) > 80, "{}", ep(0));
    // fraud-default: its container served defaults instead.
    assert_eq!(u(&ep(1)["errors"]["server_5xx"]), 0, "{}", ep(1));
    assert_eq!(ep(1)["requests"], ep(1)["ok"]);
    let log = std::fs::read_dir(tmp.path().join("containers"))
        .unwrap()
        .count();
    assert_eq!(log, 2, "one log per container");
}

#[test]
fn the_built_in_model_counts_the_predictions_a_fallback_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let (o, r) = run(&["scenarios/feature-store-predictions.toml"], tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert_eq!(
        failed_slos(&r),
        [("degraded_rate".to_string(), "fraud-default".to_string())]
    );
    let f = |e: usize| &r["endpoints"][e]["features"];
    for e in 0..2 {
        let x = f(e);
        // Every response was scored; only a fallback can change a label
        // (a cached copy is the record itself).
        let changed = u(&x["predictions_changed"]);
        assert!(changed <= u(&x["served_default"]), "{x}");
        assert!(changed > 0, "{x}");
        assert_eq!(u(&x["lookups"]), u(&r["endpoints"][e]["requests"]));
    }
    assert!(u(&f(1)["served_default"]) < u(&f(0)["served_default"]));
    let summary = std::fs::read_to_string(tmp.path().join("summary.md")).unwrap();
    assert!(
        summary.contains("got a different prediction than the true record gives"),
        "{summary}"
    );

    // The same file on the virtual clock models the model: nothing is
    // scored, so nothing is counted.
    let virt = tmp.path().join("virtual");
    let (o, r) = run(
        &[
            "scenarios/feature-store-predictions.toml",
            "--clock",
            "virtual",
        ],
        &virt,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(r["endpoints"][0]["features"]["predictions_changed"].is_null());
}

#[test]
fn the_timeline_shows_the_outage_interval_by_interval() {
    let tmp = tempfile::tempdir().unwrap();
    let (o, r) = run(&["scenarios/feature-store-fallbacks.toml"], tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let timeline = std::fs::read_to_string(tmp.path().join("timeline.csv")).unwrap();
    let mut lines = timeline.lines();
    let h: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| h.iter().position(|c| *c == n).unwrap();
    let (t, ep, lookups, cached, default, failed, errors) = (
        col("time_s"),
        col("endpoint"),
        col("feature_lookups"),
        col("features_cached"),
        col("features_default"),
        col("features_failed"),
        col("feature_lookup_errors"),
    );
    let age_max = col("feature_age_max_ms");
    let num = |s: &str| s.parse::<u64>().unwrap();
    let (mut sums, mut in_outage_ok) = ([[0u64; 4]; 3], true);
    for line in lines {
        let row: Vec<&str> = line.split(',').collect();
        let e = ["fraud-error", "fraud-default", "fraud-stale-cache"]
            .iter()
            .position(|n| *n == row[ep])
            .unwrap();
        let time: f64 = row[t].parse().unwrap();
        sums[e][0] += num(row[lookups]);
        sums[e][1] += num(row[cached]);
        sums[e][2] += num(row[default]);
        sums[e][3] += num(row[failed]);
        if e < 2 && !row[age_max].is_empty() {
            // No cache: nothing older than the 15-minute refresh.
            let max: f64 = row[age_max].parse().unwrap();
            assert!(max < 900_000.0, "{line}");
        }
        // Inside the outage (10–15 min) every lookup fails; outside none.
        let inside = (600.0..890.0).contains(&time);
        let all_failed = num(row[errors]) == num(row[lookups]);
        if inside != all_failed && !(590.0..=900.0).contains(&time) {
            in_outage_ok = false;
        }
    }
    assert!(in_outage_ok, "lookup errors outside the outage window");
    // The intervals add up to the run's totals.
    for (e, s) in sums.iter().enumerate() {
        let f = &r["endpoints"][e]["features"];
        assert_eq!(s[0], u(&f["lookups"]), "{e}");
        assert_eq!(s[1], u(&f["served_cached"]), "{e}");
        assert_eq!(s[2], u(&f["served_default"]), "{e}");
        assert_eq!(s[3], u(&f["failed"]), "{e}");
    }
}
