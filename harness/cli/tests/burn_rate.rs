//! Error budgets and burn-rate alerts end to end: the alert times of
//! `scenarios/burn-rate-alerts.toml` worked out by hand (the reasoning is
//! in the scenario's comments and in `gameday_report::burn`'s tests), and
//! `abort_on_burn` stopping both clocks with the report written.

mod common;
use common::*;

use serde_json::Value;

fn alerts(r: &Value, slo: &str) -> Vec<(String, f64, f64, Option<f64>)> {
    let b = r["error_budget"]["slos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["slo"] == slo)
        .unwrap_or_else(|| panic!("no budget for {slo}: {r}"));
    b["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["severity"].as_str().unwrap().to_string(),
                a["burn_rate"].as_f64().unwrap(),
                a["fired_at_s"].as_f64().unwrap(),
                a["resolved_at_s"].as_f64(),
            )
        })
        .collect()
}

#[test]
fn alert_times_are_the_ones_worked_out_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    let (o, r) = run(&["scenarios/burn-rate-alerts.toml"], tmp.path());
    // The minute of outage overspends the budget: exit 1 on purpose.
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let eb = &r["error_budget"];
    assert_eq!(eb["window_scale"], 0.016667);
    let windows: Vec<(f64, f64)> = eb["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["long_window_s"].as_f64().unwrap(),
                w["short_window_s"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        windows,
        [(60.0, 5.0), (360.0, 30.0), (1440.0, 120.0), (4320.0, 360.0)]
    );
    let s = |x: &str| x.to_string();
    assert_eq!(
        alerts(&r, "availability"),
        vec![
            (s("page"), 14.4, 1810.0, Some(1865.0)),
            (s("ticket"), 1.0, 1820.0, Some(2220.0)),
            (s("page"), 6.0, 1825.0, Some(1890.0)),
            (s("ticket"), 3.0, 1845.0, Some(1980.0)),
        ]
    );
    let avail = &eb["slos"][1];
    // 60 s x 20 req/s failed, of 72 min x 20 req/s, against a 1% budget.
    assert_eq!(
        (avail["bad"].as_u64(), avail["requests"].as_u64()),
        (Some(1200), Some(86_400))
    );
    assert_eq!(avail["consumed"], 1.388889);
    // Latency held throughout: nothing spent, nothing fired.
    assert!(alerts(&r, "latency_p99").is_empty());
    assert_eq!(eb["slos"][0]["consumed"], 0.0);

    // People see the same: the summary's table, the postmortem's timeline.
    let summary = std::fs::read_to_string(tmp.path().join("summary.md")).unwrap();
    assert!(summary.contains("| availability | ranking | >= 0.99 | 0.01 | 1200 / 86400 | 138.9% | 100x | page 14.4x at 1810 s (until 1865 s);"), "{summary}");
    let pm = std::fs::read_to_string(tmp.path().join("postmortem.md")).unwrap();
    assert!(
        pm.contains("| 1810 | burn_rate_page | ranking | availability budget burning at 14.4x"),
        "{pm}"
    );
    let html = std::fs::read_to_string(tmp.path().join("report.html")).unwrap();
    assert!(html.contains("<h2>Error budget</h2>"));
}

/// The shipped scenario with `abort_on_burn = 14.4`, written beside it.
fn aborting(dir: &std::path::Path) -> std::path::PathBuf {
    let src = std::fs::read_to_string(root().join("scenarios/burn-rate-alerts.toml")).unwrap();
    let src = src.replace(
        "availability = 0.99\n",
        "availability = 0.99\nabort_on_burn = 14.4\n",
    );
    let p = dir.join("abort.toml");
    std::fs::write(&p, src).unwrap();
    p
}

#[test]
fn abort_on_burn_stops_a_virtual_run_at_the_first_page_with_the_report_written() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = aborting(tmp.path());
    let out = tmp.path().join("out");
    let (o, r) = run(&[sc.to_str().unwrap()], &out);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("run stopped by abort_on_burn = 14.4"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(r["complete"], false);
    let why = r["incomplete_reason"].as_str().unwrap();
    assert_eq!(
        why,
        "stopped by abort_on_burn = 14.4: availability of ranking (>= 0.99) burned its error budget at 16.7x over 1m and 100x over 5s"
    );
    // The page fires at 1810 s; its interval is judged once its requests
    // can no longer time out (2 x 2 s later), at the next tick: 1815 s.
    assert_eq!(r["scenario"]["duration_s"], 1815.0);
    assert_eq!(r["error_budget"]["slos"][1]["aborted_at_s"], 1810.0);
    let stop = r["slos"].as_array().unwrap().last().unwrap();
    assert_eq!(
        (stop["name"].as_str(), stop["met"].as_bool()),
        (Some("abort_on_burn"), Some(false))
    );
    assert_eq!(r["verdict"], "fail");
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(junit.contains("abort_on_burn"), "{junit}");
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        summary.contains("(INCOMPLETE: stopped by abort_on_burn"),
        "{summary}"
    );
}

#[test]
fn abort_on_burn_stops_a_wall_run_too() {
    let tmp = tempfile::tempdir().unwrap();
    // 40 s of 100 req/s; every request fails from 5 s. The windows scale
    // to below one 1-second interval, so the page fires on [5 s, 6 s),
    // judged a second later (twice the 500 ms timeout).
    let sc = tmp.path().join("wall-abort.toml");
    std::fs::write(
        &sc,
        r#"[scenario]
name = "wall-abort"
duration = "40s"
clock = "wall"
timeline_interval = "1s"

[[model]]
name = "m"
latency = { p50 = "2ms", p99 = "5ms" }

[[endpoint]]
name = "ep"
  [[endpoint.variant]]
  name = "A"
  model = "m"
  instance_type = "ml.m5.xlarge"
  concurrency = 8

[[workload]]
endpoint = "ep"
arrival = { kind = "constant", rate = 100 }
timeout = "500ms"

[[fault]]
at = "5s"
kind = "error_injection"
endpoint = "ep"

[slo]
availability = 0.99
abort_on_burn = 14.4
"#,
    )
    .unwrap();
    let out = tmp.path().join("out");
    let t = now();
    let (o, r) = run(&[sc.to_str().unwrap()], &out);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        t.elapsed().as_secs() < 30,
        "stopped well before 40 s: {:?}",
        t.elapsed()
    );
    assert_eq!(r["complete"], false);
    assert!(
        r["incomplete_reason"]
            .as_str()
            .unwrap()
            .starts_with("stopped by abort_on_burn = 14.4: availability of ep"),
        "{r}"
    );
    let d = r["scenario"]["duration_s"].as_f64().unwrap();
    assert!((6.0..20.0).contains(&d), "stopped at {d} s");
    assert!(
        r["error_budget"]["slos"][0]["aborted_at_s"]
            .as_f64()
            .unwrap()
            >= 6.0
    );
    assert!(out.join("report.html").exists() && out.join("postmortem.md").exists());
}
