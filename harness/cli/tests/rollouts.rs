//! Model rollouts end to end on the virtual clock: a shadow variant's
//! report, its objectives that do not count, byte-identical reports for a
//! seed, and what the wall clock refuses.

mod common;
use common::*;

#[test]
fn a_slower_shadow_would_miss_p99_while_production_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let (o, r) = run(&["scenarios/shadow-test.toml"], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(r["verdict"], "pass");
    let e = &r["endpoints"][0];
    let (prod, shadow) = (&e["variants"][0], &e["variants"][1]);
    assert!(prod.get("shadow").is_none(), "written only when true");
    assert_eq!(shadow["shadow"], true);
    assert_eq!(shadow["shadow_of"], "Current");
    assert_eq!(shadow["sampling_pct"], 100.0);
    // Every production request was copied; the endpoint counts only its
    // own, and none of the shadow's failures.
    assert_eq!(shadow["requests"], prod["requests"]);
    assert_eq!(e["requests"], prod["requests"]);
    assert_eq!(e["errors"]["server_5xx"], 0);
    assert!(shadow["errors"]["server_5xx"].as_u64().unwrap() > 100);
    // The shadow's objectives: both missed, neither in the verdict.
    assert_eq!(
        missed(&shadow["shadow_slos"]),
        ["latency_p99", "error_rate"]
    );
    assert!(missed(&r["slos"]).is_empty());
    assert!(!r["slos"].as_array().unwrap().is_empty());
    assert!(shadow["latency_ms"]["p99"].as_f64().unwrap() > 100.0);
    assert!(e["latency_ms"]["p99"].as_f64().unwrap() < 100.0);
    // Its instances are billed with the endpoint's.
    let cost = |v: &serde_json::Value| v["cost_usd"].as_f64().unwrap();
    assert!((cost(e) - cost(prod) - cost(shadow)).abs() < 1e-6);
    assert!(cost(shadow) > 0.0);

    let summary = std::fs::read_to_string(tmp.path().join("summary.md")).unwrap();
    assert!(
        summary
            .contains("## Shadow test: fraud-detection-prod / Shadow (100% of Current's requests)"),
        "{summary}"
    );
    assert!(
        summary.contains("| latency_p99 | <= 100 ms | 45.023 | 141.183 | **miss** |"),
        "{summary}"
    );

    // The same seed, the same bytes; the timeline has the shadow's row;
    // the console names what the shadow would miss.
    let again = tempfile::tempdir().unwrap();
    let o2 = gameday(&[
        "run",
        "scenarios/shadow-test.toml",
        "--out",
        again.path().to_str().unwrap(),
    ]);
    assert_eq!(o2.status.code(), Some(0));
    let console = text(&o2.stdout);
    assert!(
        console.contains("would miss latency_p99, error_rate (not counted)"),
        "{console}"
    );
    let bytes = |d: &std::path::Path| std::fs::read(d.join("report.json")).unwrap();
    assert_eq!(bytes(tmp.path()), bytes(again.path()));
    let timeline = std::fs::read_to_string(tmp.path().join("timeline.csv")).unwrap();
    assert!(timeline
        .lines()
        .any(|l| l.starts_with("0.0,fraud-detection-prod,Shadow,")));
}

#[test]
fn the_wall_clock_refuses_a_shadow_for_now_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let o = gameday(&[
        "run",
        "scenarios/shadow-test.toml",
        "--clock",
        "wall",
        "--out",
        out,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("shadow variants run on the virtual clock for now"));
    let o = gameday(&["serve", "scenarios/shadow-test.toml", "--out", out]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("`gameday serve` does not copy requests yet"));
}
