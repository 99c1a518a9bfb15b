//! Autoscaling end to end: the shipped scenarios' verdicts and report
//! fields, byte-identical reports for a seed, and the same scaling
//! activities under the wall clock as under the virtual one.

mod common;
use common::*;

/// The tests here time real runs: one at a time.
static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn alone() -> std::sync::MutexGuard<'static, ()> {
    ALONE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `(from, to, status)` of a variant's scaling activities.
fn activities(r: &serde_json::Value, e: usize) -> Vec<(u64, u64, String)> {
    r["endpoints"][e]["variants"][0]["scaling_activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["from"].as_u64().unwrap(),
                a["to"].as_u64().unwrap(),
                a["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_step_load_scales_out_once_and_reports_it_identically_for_a_seed() {
    let _alone = alone();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let (o, r) = run(&["scenarios/autoscaling-step-load.toml"], &a);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let acts = activities(&r, 0);
    assert_eq!(acts[0].0, 2);
    assert!(acts[0].1 >= 4, "{acts:?}");
    assert_eq!(acts[0].2, "Successful");
    let v = &r["endpoints"][0]["variants"][0];
    let first = &v["scaling_activities"][0];
    // Three breaching minutes, then provisioning (4–6 min) and the 45 s
    // model load.
    assert_eq!(first["at_s"], 780.0);
    let serving = first["breach_to_serving_s"].as_f64().unwrap();
    assert!(
        (180.0 + 240.0 + 45.0..=180.0 + 360.0 + 45.0).contains(&serving),
        "{serving}"
    );
    assert_eq!(v["instances"]["min"], 2);
    assert!(v["instances"]["max"].as_u64().unwrap() >= 4);
    assert_eq!(v["autoscaling"]["alarms"].as_array().unwrap().len(), 2);
    // The timeline carries the fleet; the events the alarm and activity.
    let timeline = std::fs::read_to_string(a.join("timeline.csv")).unwrap();
    let header = timeline.lines().next().unwrap();
    for col in [
        "desired_instances",
        "instances_in_service",
        "instances_provisioning",
    ] {
        assert!(header.split(',').any(|c| c == col), "{header}");
    }
    let events = std::fs::read_to_string(a.join("events.csv")).unwrap();
    assert!(events.contains(",alarm_state,") && events.contains(",scaling_activity,"));
    let summary = std::fs::read_to_string(a.join("summary.md")).unwrap();
    assert!(summary.contains("## Scaling"), "{summary}");
    // Same seed, same bytes.
    let (o, _) = run(&["scenarios/autoscaling-step-load.toml"], &b);
    assert_eq!(o.status.code(), Some(0));
    for f in ["report.json", "timeline.csv", "events.csv"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs between two runs of one seed"
        );
    }
}

#[test]
fn a_scale_out_during_a_gpu_shortage_fails_and_the_run_fails() {
    let _alone = alone();
    let tmp = tempfile::tempdir().unwrap();
    let (o, r) = run(
        &["scenarios/autoscaling-gpu-shortage-spike.toml"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let first = &r["endpoints"][0]["variants"][0]["scaling_activities"][0];
    assert_eq!(first["status"], "Failed");
    assert!(first["reason"]
        .as_str()
        .unwrap()
        .starts_with("InsufficientCapacity"));
    assert!(
        r["endpoints"][0]["variants"][0]["requests_while_short"]
            .as_u64()
            .unwrap()
            > 100_000
    );
}

#[test]
fn an_eager_scale_in_leaves_the_fleet_short_for_the_next_spike() {
    let _alone = alone();
    let tmp = tempfile::tempdir().unwrap();
    let (o, r) = run(
        &["scenarios/autoscaling-scale-in-too-soon.toml"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let (eager, patient) = (&r["endpoints"][0], &r["endpoints"][1]);
    assert_eq!(eager["name"], "eager");
    let ok_rate = |e: &serde_json::Value| e["error_rate"].as_f64().unwrap();
    assert!(ok_rate(eager) > 0.01, "{}", ok_rate(eager));
    assert_eq!(ok_rate(patient), 0.0);
    // The eager one is cheaper for it.
    let cost = |e: &serde_json::Value| e["cost_usd"].as_f64().unwrap();
    assert!(cost(eager) < cost(patient));
    assert!(activities(&r, 0).len() > activities(&r, 1).len());
}

#[test]
fn a_zone_outage_replaces_instances_in_the_other_zones() {
    let _alone = alone();
    let tmp = tempfile::tempdir().unwrap();
    let (o, _) = run(&["scenarios/autoscaling-az-outage.toml"], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let events = std::fs::read_to_string(tmp.path().join("events.csv")).unwrap();
    let launched: Vec<&str> = events
        .lines()
        .filter(|l| l.contains(",instance_launched,"))
        .collect();
    assert!(!launched.is_empty());
    assert!(
        launched.iter().all(|l| !l.contains("in zone b")),
        "{launched:?}"
    );
    assert!(events.contains("az_outage of zone b began"));
}

/// A step load with wide margins (2.4 × the target: ceil(2 × 2.4) = 5
/// for any noise under 4%), short enough for a wall run at 100×.
const WALL_STEP: &str = r#"[scenario]
name = "wall-step"
duration = "12m"
seed = 4

[[model]]
name = "m"
latency = { dist = "constant", value = "5ms" }

[[endpoint]]
name = "ep"
  [[endpoint.variant]]
  name = "AllTraffic"
  model = "m"
  instance_type = "ml.m5.xlarge"
  instance_count = 2
  concurrency = 8
    [endpoint.variant.autoscaling]
    min = 2
    max = 10
      [[endpoint.variant.autoscaling.target_tracking]]
      metric = "InvocationsPerInstance"
      target = 3000
      scale_out_cooldown = "60s"
      scale_in_cooldown = "600s"

[[workload]]
endpoint = "ep"
arrival = { kind = "steps", steps = [ { at = "0s", rate = 60 }, { at = "2m", rate = 240 } ] }
timeout = "2s"
"#;

#[test]
fn the_wall_clock_at_a_high_time_scale_scales_as_the_virtual_clock_does() {
    let _alone = alone();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("wall-step.toml");
    std::fs::write(&file, WALL_STEP).unwrap();
    let f = file.to_str().unwrap();
    let (o, virt) = run(&[f], &tmp.path().join("virtual"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let (o, wall) = run(
        &[f, "--clock", "wall", "--time-scale", "60"],
        &tmp.path().join("wall"),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(wall["scenario"]["clock"], "wall");
    let (v, w) = (activities(&virt, 0), activities(&wall, 0));
    assert_eq!(v, vec![(2, 5, "Successful".to_string())]);
    assert_eq!(w, v, "wall {w:?} virtual {v:?}");
    // The alarm fired after the same three minutes, in scenario time
    // (a wall run wakes a few milliseconds late: under 1 s at 60×).
    let at = |r: &serde_json::Value| {
        r["endpoints"][0]["variants"][0]["scaling_activities"][0]["at_s"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(at(&virt), 300.0);
    assert!((at(&wall) - 300.0).abs() < 1.0, "{}", at(&wall));
}

#[test]
fn a_bad_autoscaling_section_exits_2_with_its_position() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("bad.toml");
    std::fs::write(&file, WALL_STEP.replace("min = 2\n", "min = 12\n")).unwrap();
    let o = gameday(&["validate", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("bad.toml:19:11: endpoint[0].variant[0].autoscaling.min: min (12) is greater than max (10): raise max or lower min"),
        "{err}"
    );
}
