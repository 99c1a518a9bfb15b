//! The `gameday` binary end to end: files written, exit codes, flags.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

fn scenario(name: &str) -> String {
    format!("scenarios/{name}")
}

fn out_dir(tmp: &tempfile::TempDir, name: &str) -> PathBuf {
    tmp.path().join(name)
}

/// `gameday run scenarios/NAME --out OUT -q`.
fn run_quiet(name: &str, out: &Path) -> std::process::Output {
    gameday(&["run", &scenario(name), "--out", out.to_str().unwrap(), "-q"])
}

#[test]
fn quickstart_passes_and_writes_every_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp, "qs");
    let o = gameday(&[
        "run",
        &scenario("quickstart.toml"),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains("latency_p99") && stdout.contains("verdict pass"),
        "{stdout}"
    );
    for f in [
        "report.json",
        "summary.md",
        "timeline.csv",
        "events.csv",
        "run.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["complete"], true);
    assert_eq!(report["verdict"], "pass");
    assert_eq!(report["scenario"]["seed"], 7);
    // report.json holds nothing machine- or time-specific; run.json does.
    let raw = std::fs::read_to_string(out.join("report.json")).unwrap();
    assert!(!raw.contains(out.to_str().unwrap()) && !raw.contains("wall"));
    // No negative zero anywhere (an empty f64 sum is -0.0): the quickstart
    // has no training, and `training_usd` used to print as -0.0.
    assert!(!raw.contains("-0.0") && !raw.contains("-0,"), "{raw}");
    // Byte-identical to its baseline, as a CI gate's baseline must be.
    let base = std::fs::read_to_string(root().join("reports/baselines/quickstart.json")).unwrap();
    assert!(
        raw == base,
        "the quickstart's report.json changed: if that is meant, refresh reports/baselines/quickstart.json in its own commit (see its README)"
    );
    assert_eq!(report["cost"]["training_usd"].to_string(), "0.0");
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert!(run["wall_time_s"].as_f64().unwrap() > 0.0);
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    let slo_at = summary.find("## SLOs").unwrap();
    assert!(
        slo_at < summary.find("## Latency").unwrap(),
        "SLO table comes first"
    );
}

#[test]
fn report_json_contract_fields_are_present() {
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp, "c");
    gameday(&[
        "run",
        &scenario("quickstart.toml"),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    for k in [
        "schema_version",
        "scenario",
        "complete",
        "verdict",
        "endpoints",
        "training_jobs",
        "cost",
        "slos",
        "events",
    ] {
        assert!(r.get(k).is_some(), "missing {k}");
    }
    for k in ["name", "seed", "clock", "duration_s"] {
        assert!(r["scenario"].get(k).is_some(), "missing scenario.{k}");
    }
    let e = &r["endpoints"][0];
    for k in [
        "name",
        "requests",
        "ok",
        "errors",
        "throughput_rps",
        "latency_ms",
        "variants",
    ] {
        assert!(e.get(k).is_some(), "missing endpoints[0].{k}");
    }
    for k in ["client_4xx", "server_5xx", "timeout", "throttled"] {
        assert!(e["errors"].get(k).is_some(), "missing errors.{k}");
    }
    for k in ["mean", "p50", "p90", "p95", "p99", "p999", "max"] {
        assert!(e["latency_ms"][k].is_number(), "missing latency_ms.{k}");
    }
    for k in [
        "total_usd",
        "endpoints_usd",
        "training_usd",
        "per_1k_requests_usd",
    ] {
        assert!(r["cost"][k].is_number(), "missing cost.{k}");
    }
    for k in ["name", "objective", "actual", "met"] {
        assert!(r["slos"][0].get(k).is_some(), "missing slos[0].{k}");
    }
}

#[test]
fn same_seed_gives_identical_report_bytes_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (out_dir(&tmp, "a"), out_dir(&tmp, "b"), out_dir(&tmp, "c"));
    for d in [&a, &b] {
        gameday(&[
            "run",
            &scenario("quickstart.toml"),
            "--out",
            d.to_str().unwrap(),
            "-q",
        ]);
    }
    gameday(&[
        "run",
        &scenario("quickstart.toml"),
        "--out",
        c.to_str().unwrap(),
        "-q",
        "--seed",
        "8",
    ]);
    let read = |d: &Path| std::fs::read(d.join("report.json")).unwrap();
    assert_eq!(read(&a), read(&b));
    assert_ne!(read(&a), read(&c));
    let r: serde_json::Value = serde_json::from_slice(&read(&c)).unwrap();
    assert_eq!(r["scenario"]["seed"], 8, "--seed overrides the file's seed");
}

#[test]
fn a_violated_slo_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let o = gameday(&[
        "run",
        &scenario("canary-rollout.toml"),
        "--out",
        out_dir(&tmp, "x").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("[FAIL] error_rate"));
}

#[test]
fn invalid_input_exits_2_with_file_line_col() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.toml");
    let src = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/quickstart.toml"),
    )
    .unwrap()
    .replace(
        "instance_type = \"ml.m5.xlarge\"",
        "instance_type = \"ml.m5.xlarg\"",
    );
    std::fs::write(&bad, src).unwrap();
    for args in [
        vec!["run", bad.to_str().unwrap()],
        vec!["validate", bad.to_str().unwrap()],
    ] {
        let o = gameday(&args);
        assert_eq!(o.status.code(), Some(2));
        let err = text(&o.stderr);
        assert!(err.contains(":32:19: endpoint[0].variant[0].instance_type: unknown instance type \"ml.m5.xlarg\"; did you mean \"ml.m5.xlarge\"?"), "{err}");
    }
    // Missing file, bad usage, unsupported clock: all 2.
    assert_eq!(gameday(&["run", "no/such.toml"]).status.code(), Some(2));
    assert_eq!(gameday(&["run"]).status.code(), Some(2));
    assert_eq!(
        gameday(&["run", &scenario("quickstart.toml"), "--clock", "sundial"])
            .status
            .code(),
        Some(2)
    );
    // Wall-clock input errors: no URL for the http target, faults aimed
    // at a remote target, a nonsensical time scale.
    for (args, needle) in [
        (
            vec!["--clock", "wall", "--target", "http"],
            "needs --endpoint-url",
        ),
        (
            vec![
                "--clock",
                "wall",
                "--target",
                "sagemaker",
                "--region",
                "us-east-1",
            ],
            "cannot be applied to a remote target",
        ),
        (vec!["--clock", "wall", "--time-scale", "0"], "--time-scale"),
        (
            vec!["--clock", "wall", "--load-threads", "0"],
            "--load-threads",
        ),
    ] {
        let mut all = vec!["run", "scenarios/quickstart.toml"];
        all.extend(args);
        let o = gameday(&all);
        assert_eq!(o.status.code(), Some(2), "{all:?}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains(needle), "{}", text(&o.stderr));
    }
    assert_eq!(
        gameday(&["run", &scenario("quickstart.toml"), "--target", "http"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        gameday(&[
            "run",
            &scenario("quickstart.toml"),
            "--baseline",
            "no/such.json"
        ])
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn validate_accepts_every_shipped_scenario() {
    let mut args = vec!["validate".to_string()];
    for e in
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")).unwrap()
    {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            args.push(format!(
                "scenarios/{}",
                p.file_name().unwrap().to_str().unwrap()
            ));
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = gameday(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout)
            .lines()
            .filter(|l| l.starts_with("ok: "))
            .count(),
        args.len() - 1
    );
}

#[test]
fn an_unwritable_output_folder_exits_3() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let o = gameday(&[
        "run",
        &scenario("quickstart.toml"),
        "--out",
        file.join("sub").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("cannot create output folder"));
}

#[test]
fn baseline_regression_exits_1_and_no_regression_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let base = out_dir(&tmp, "base");
    gameday(&[
        "run",
        &scenario("quickstart.toml"),
        "--out",
        base.to_str().unwrap(),
        "-q",
    ]);
    let b = base.join("report.json");
    let o = gameday(&[
        "run",
        &scenario("quickstart.toml"),
        "--out",
        out_dir(&tmp, "same").to_str().unwrap(),
        "--baseline",
        b.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    // A baseline with a much lower p99 makes this run a regression.
    let mut r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&b).unwrap()).unwrap();
    r["endpoints"][0]["latency_ms"]["p99"] = serde_json::json!(10.0);
    let fast = tmp.path().join("fast.json");
    std::fs::write(&fast, serde_json::to_string(&r).unwrap()).unwrap();
    let out = out_dir(&tmp, "regressed");
    let o = gameday(&[
        "run",
        &scenario("quickstart.toml"),
        "--out",
        out.to_str().unwrap(),
        "--baseline",
        fast.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stdout).contains("[REGRESSION] fraud-detection-prod latency_p99"),
        "{}",
        text(&o.stdout)
    );
    let rep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(rep["baseline"]["regressions"][0]["metric"], "latency_p99");
    // The files say what the exit code says.
    assert_eq!(rep["verdict"], "fail");
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("Verdict: **FAIL**"), "{summary}");
    assert!(
        summary.contains("| **latency_p99** | fraud-detection-prod |"),
        "{summary}"
    );
    // A looser tolerance, from a flag, lets the same run pass.
    let loose = out_dir(&tmp, "loose");
    let o = gameday(&[
        "run",
        &scenario("quickstart.toml"),
        "--out",
        loose.to_str().unwrap(),
        "--baseline",
        fast.to_str().unwrap(),
        "--max-p99-increase-pct",
        "1000",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert_eq!(report(&loose)["verdict"], "pass");
    assert_eq!(
        report(&loose)["baseline"]["tolerances"]["latency_p99_pct"],
        1000.0
    );
    // A baseline from another scenario is compared, loudly.
    r["scenario"]["name"] = serde_json::json!("something-else");
    let other = tmp.path().join("other.json");
    std::fs::write(&other, serde_json::to_string(&r).unwrap()).unwrap();
    let o = gameday(&[
        "run",
        &scenario("quickstart.toml"),
        "--out",
        out_dir(&tmp, "other").to_str().unwrap(),
        "--baseline",
        other.to_str().unwrap(),
    ]);
    assert!(
        text(&o.stderr).contains(
            "warning: the baseline comes from another scenario (something-else (seed 7))"
        ),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(
        report(&out_dir(&tmp, "other"))["baseline"]["other_scenario"],
        true
    );
    // Not a report at all: invalid input.
    let junk = tmp.path().join("junk.json");
    std::fs::write(&junk, "{}").unwrap();
    assert_eq!(
        gameday(&[
            "run",
            &scenario("quickstart.toml"),
            "--baseline",
            junk.to_str().unwrap()
        ])
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn sigint_mid_run_still_writes_an_incomplete_report() {
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp, "interrupted");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args([
            "run",
            "scenarios/diurnal-day.toml",
            "--out",
            out.to_str().unwrap(),
            "-q",
        ])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(r["complete"], false);
    assert!(r["endpoints"][0]["requests"].as_u64().unwrap() > 0);
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("INCOMPLETE"));
}

#[test]
fn summary_lists_each_variant_with_its_errors_and_service_time() {
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp, "canary");
    let o = run_quiet("canary-rollout.toml", &out);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let r = report(&out);
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("## Variants"), "{summary}");
    for v in r["endpoints"][0]["variants"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let row = summary
            .lines()
            .find(|l| l.starts_with(&format!("| recs-prod / {name} | ")) && l.contains(" × "))
            .unwrap_or_else(|| panic!("no variant row for {name}:\n{summary}"));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(cells[5], v["requests"].to_string(), "{row}");
        assert_eq!(cells[6], v["ok"].to_string(), "{row}");
        assert_eq!(cells[8], v["errors"]["server_5xx"].to_string(), "{row}");
        let p50 = v["service_time_ms"]["p50"].as_f64().unwrap();
        assert!(p50 > 0.0, "{v}");
        assert!(cells[4].starts_with(&format!("{} / ", p50)), "{row}");
    }
    // The canary's injected errors show on its own row.
    let canary = &r["endpoints"][0]["variants"][1];
    assert_eq!(canary["name"], "canary");
    assert!(canary["errors"]["server_5xx"].as_u64().unwrap() > 0);
}

#[test]
fn the_console_says_what_happened_to_training_jobs_in_plain_words() {
    let tmp = tempfile::tempdir().unwrap();
    let o = gameday(&[
        "run",
        &scenario("spot-capacity-shortage.toml"),
        "--out",
        out_dir(&tmp, "short").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    // The deadline as the scenario gives it, and the failure in words.
    let line = out
        .lines()
        .find(|l| l.contains("training_deadline"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("[FAIL]"), "{line}");
    assert!(line.contains("(objective Completed within 18h)"), "{line}");
    assert!(line.contains("MaxWaitTimeExceeded at "), "{line}");
    let o = gameday(&[
        "run",
        &scenario("spot-training.toml"),
        "--out",
        out_dir(&tmp, "spot").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("(objective Completed within 36h)"), "{out}");
    assert!(out.contains("3 interruptions"), "{out}");
    assert!(
        !out.contains("1 interruptions") && !out.contains("cost 0 USD"),
        "{out}"
    );
}

#[test]
fn a_tiny_time_scale_flag_is_invalid_input_not_a_panic() {
    for x in ["1e-308", "0", "-3", "1e9"] {
        let o = gameday(&[
            "run",
            &scenario("quickstart.toml"),
            "--clock",
            "wall",
            &format!("--time-scale={x}"),
        ]);
        assert_eq!(o.status.code(), Some(2), "{x}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains("--time-scale must be between 0.001 and 1000000"),
            "{}",
            text(&o.stderr)
        );
    }
}

#[test]
fn secrets_in_the_endpoint_url_are_not_written_anywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = short_quickstart(tmp.path(), "s.toml", "1s", "");
    let out = out_dir(&tmp, "o");
    // Nothing listens on port 9: every call fails, and the run still ends.
    let o = gameday(&[
        "run",
        sc.to_str().unwrap(),
        "--clock",
        "wall",
        "--target",
        "http",
        "--endpoint-url",
        "http://KEY:SECRET@127.0.0.1:9",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(
        matches!(o.status.code(), Some(0 | 1 | 3)),
        "{}",
        text(&o.stderr)
    );
    for f in ["report.json", "run.json", "summary.md"] {
        let t = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(!t.contains("SECRET") && !t.contains("KEY:"), "{f}: {t}");
    }
    let run = std::fs::read_to_string(out.join("run.json")).unwrap();
    assert!(run.contains("http://REDACTED@127.0.0.1:9"), "{run}");
    assert!(!text(&o.stderr).contains("SECRET"), "{}", text(&o.stderr));
}
