//! Training scenarios and `gameday plan` end to end (virtual clock).

mod common;
use common::*;

use std::path::Path;
use std::process::Output;

fn run(scenario: &str, out: &Path) -> (Output, serde_json::Value) {
    let o = gameday(&["run", scenario, "--out", out.to_str().unwrap(), "-q"]);
    let r = std::fs::read_to_string(out.join("report.json")).unwrap_or_default();
    (
        o,
        serde_json::from_str(&r).unwrap_or(serde_json::Value::Null),
    )
}

fn statuses(job: &serde_json::Value) -> Vec<String> {
    job["status_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn spot_job_with_interruptions_meets_its_deadline_deterministically() {
    let tmp = tempfile::tempdir().unwrap();
    let (o, r) = run("scenarios/spot-training.toml", &tmp.path().join("a"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let j = &r["training_jobs"][0];
    assert_eq!(j["status"], "Completed");
    assert!(j["interruptions"].as_u64().unwrap() >= 2, "{j}");
    let st = statuses(j);
    assert!(
        st.windows(2).any(|w| w == ["Interrupted", "Restarting"]),
        "{st:?}"
    );
    assert_eq!(st.last().unwrap(), "Completed");
    // Every restart after the first checkpoint resumed from one.
    let resumed: Vec<u64> = serde_json::from_value(j["resumed_from"].clone()).unwrap();
    assert!(resumed.iter().skip(1).any(|&s| s > 0), "{resumed:?}");
    // savings = (1 - billable/training) x 100 on the reported numbers.
    let (b, t) = (
        j["billable_time_s"].as_f64().unwrap(),
        j["training_time_s"].as_f64().unwrap(),
    );
    let savings = (1.0 - b / t) * 100.0;
    assert!((j["savings_pct"].as_f64().unwrap() - savings).abs() < 0.01);
    assert_eq!(r["cost"]["training_usd"], j["cost_usd"]);
    // Spot notices, checkpoints and resumes are on the timeline.
    let events = std::fs::read_to_string(tmp.path().join("a/events.csv")).unwrap();
    for kind in [
        "spot_notice",
        "spot_interrupted",
        "checkpoint_written",
        "job_resumed",
    ] {
        assert!(events.contains(kind), "{kind} missing");
    }
    // Same seed, same bytes.
    let (_, _) = run("scenarios/spot-training.toml", &tmp.path().join("b"));
    let a = std::fs::read(tmp.path().join("a/report.json")).unwrap();
    let b = std::fs::read(tmp.path().join("b/report.json")).unwrap();
    assert!(
        a == b,
        "report.json differs between two runs with the same seed"
    );
}

#[test]
fn capacity_shortage_blows_max_wait_and_fails_the_slo() {
    let tmp = tempfile::tempdir().unwrap();
    let (o, r) = run(
        "scenarios/spot-capacity-shortage.toml",
        &tmp.path().join("s"),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let j = &r["training_jobs"][0];
    assert_eq!(j["status"], "Stopped");
    assert_eq!(j["secondary_status"], "MaxWaitTimeExceeded");
    assert_eq!(j["ended_by"], "max_wait");
    assert_eq!(j["wall_time_s"].as_f64().unwrap(), 18.0 * 3600.0);
    assert_eq!(
        statuses(j),
        [
            "Starting",
            "Downloading",
            "Training",
            "Interrupted",
            "Restarting",
            "MaxWaitTimeExceeded"
        ]
    );
    assert_eq!(
        missed(&r["slos"]),
        ["training_deadline", "training_success_rate"]
    );
}

#[test]
fn two_instance_types_side_by_side() {
    let tmp = tempfile::tempdir().unwrap();
    let (o, r) = run("scenarios/llm-instance-choice.toml", &tmp.path().join("l"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let jobs = r["training_jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2);
    // H100s do 989/312 the work per GPU: half the GPUs still finish first.
    let wall = |j: &serde_json::Value| j["training_time_s"].as_f64().unwrap();
    assert!(wall(&jobs[1]) < wall(&jobs[0]));
    let summary = std::fs::read_to_string(tmp.path().join("l/summary.md")).unwrap();
    assert!(summary.contains("## Training jobs"));
    assert!(summary.contains("4 × ml.p4d.24xlarge") && summary.contains("2 × ml.p5.48xlarge"));
}

#[test]
fn plan_sweeps_intervals_and_lands_near_young_daly() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("p");
    let o = gameday(&[
        "plan",
        "scenarios/spot-training.toml",
        "--seeds",
        "100",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains("Young/Daly") && stdout.contains("| never |"),
        "{stdout}"
    );
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("plan.json")).unwrap()).unwrap();
    let yd = p["young_daly_s"].as_f64().unwrap();
    // C = 1 min, M = 24 h / 2 instances: √(2·60·43200) = 2277 s.
    assert!((yd - 2276.8).abs() < 1.0, "{yd}");
    let best = p["best_s"].as_f64().unwrap();
    assert!(
        (0.5..=2.0).contains(&(best / yd)),
        "best {best} vs Young/Daly {yd}"
    );
    // Ten intervals (nine around Young/Daly, plus never) and never is worst.
    let rows = p["intervals"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    let cost = |r: &serde_json::Value| r["mean_cost_usd"].as_f64().unwrap();
    let never = rows.last().unwrap();
    assert!(never["checkpoint_every_s"].is_null());
    assert!(rows.iter().all(|r| cost(r) <= cost(never)));
}

#[test]
fn plan_input_errors_exit_2() {
    for (args, msg) in [
        (
            vec!["plan", "scenarios/quickstart.toml"],
            "no [[training_job]]",
        ),
        (
            vec!["plan", "scenarios/spot-training.toml", "--job", "nope"],
            "--job \"nope\": no such training job (the scenario has: finetune)",
        ),
        (
            vec![
                "plan",
                "scenarios/spot-training.toml",
                "--intervals",
                "10m,soon",
            ],
            "--intervals: \"soon\" is not a duration",
        ),
        (
            vec!["plan", "scenarios/spot-training.toml", "--seeds", "0"],
            "--seeds must be between 1 and 100000",
        ),
    ] {
        let o = gameday(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            text(&o.stderr).contains(msg),
            "{args:?}: {}",
            text(&o.stderr)
        );
    }
}

#[test]
fn a_gpu_shortage_holds_back_endpoint_replacements_and_a_spot_job_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("c");
    let (o, r) = run("scenarios/gpu-capacity-crunch.toml", &out);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let events = std::fs::read_to_string(out.join("events.csv")).unwrap();
    let rows: Vec<Vec<&str>> = events
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let at = |kind: &str| -> Vec<f64> {
        rows.iter()
            .filter(|r| r[1] == kind)
            .map(|r| r[0].parse().unwrap())
            .collect()
    };
    // Two replacements refused from 482 s, with backoff, while the pool is
    // short (5 to 25 minutes); launched at the first retry after it.
    let failed = at("instance_launch_failed");
    assert_eq!(&failed[..4], [482.0, 482.0, 512.0, 512.0], "{events}");
    assert!(failed.iter().all(|&t| t < 1500.0));
    assert_eq!(at("instance_launched"), [1532.0, 1532.0]);
    assert!(events.contains("InsufficientCapacity: Unable to provision requested ML compute capacity (ml.g5.xlarge); retrying in 30s"));
    // The spot job, reclaimed at 22 minutes, asks the same pool again only
    // when the shortage ends.
    let j = &r["training_jobs"][0];
    assert_eq!(j["status"], "Completed");
    let history = j["status_history"].as_array().unwrap();
    let restart = history
        .iter()
        .find(|s| s["status"] == "Restarting")
        .unwrap();
    let next = &history[history.iter().position(|s| s == restart).unwrap() + 1];
    assert_eq!(restart["time_s"].as_f64().unwrap(), 1320.0, "{history:?}");
    assert!(next["time_s"].as_f64().unwrap() > 1500.0, "{history:?}");
}
