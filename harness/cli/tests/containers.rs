//! User model servers under SageMaker's container contract: one process
//! per instance (gameday's own `model-server` stands in for a user's
//! container), invocations forwarded to them, their errors surfaced as
//! ModelError, processes replaced with their instances and never left
//! behind.

mod common;
use common::*;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A scenario whose one variant runs `model-server` with a private copy of
/// the weights (so its processes can be told apart).
fn scenario(dir: &Path, extra: &str) -> (PathBuf, PathBuf) {
    let weights = dir.join("weights.json");
    std::fs::copy(root().join("fixtures/models/fraud-logreg.json"), &weights).unwrap();
    let payload = root()
        .join("fixtures/payloads/transaction.csv")
        .canonicalize()
        .unwrap();
    let src = format!(
        r#"[scenario]
name = "containers"
duration = "6s"
clock = "wall"

[[model]]
name = "fraud"
command = [{exe:?}, "model-server", "--weights", {w:?}]

[[endpoint]]
name = "fraud"
  [[endpoint.variant]]
  name = "AllTraffic"
  model = "fraud"
  instance_type = "ml.m5.xlarge"
  instance_count = 2
  concurrency = 2

[[workload]]
endpoint = "fraud"
arrival = {{ kind = "poisson", rate = 100 }}
body_file = {p:?}
content_type = "text/csv"
timeout = "2s"
{extra}"#,
        exe = env!("CARGO_BIN_EXE_gameday"),
        w = weights.display().to_string(),
        p = payload.display().to_string(),
    );
    let sc = dir.join("s.toml");
    std::fs::write(&sc, src).unwrap();
    (sc, weights)
}

/// Makes the model of scenario `sc` the shell `script`, and its duration
/// `duration` (unchanged if empty).
fn shell_command(sc: &Path, script: &str, duration: &str) {
    let src = std::fs::read_to_string(sc).unwrap();
    let start = src.find("command = ").unwrap();
    let end = start + src[start..].find('\n').unwrap();
    let mut src = format!(
        "{}command = [\"sh\", \"-c\", {script:?}]{}",
        &src[..start],
        &src[end..]
    );
    if !duration.is_empty() {
        src = src.replace("duration = \"6s\"", &format!("duration = {duration:?}"));
    }
    std::fs::write(sc, src).unwrap();
}

/// Model-server processes serving `weights`.
fn servers(weights: &Path) -> Vec<u32> {
    let needle = weights.display().to_string();
    processes(|proc| {
        let cmd = std::fs::read(proc.join("cmdline")).unwrap_or_default();
        String::from_utf8_lossy(&cmd).contains(&needle)
    })
}

/// One HTTP/1.1 POST with the control token.
fn post(addr: &str, path: &str, content_type: &str, body: &[u8]) -> (u16, String, String) {
    common::post(addr, path, content_type, TOKEN, body)
}

/// The control token the served platforms are started with.
const TOKEN: &str = "test-token";

fn serve(sc: &Path, time_scale: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args([
            "serve",
            sc.to_str().unwrap(),
            "--bind",
            "127.0.0.1:0",
            "--time-scale",
            time_scale,
            "--control-token",
            TOKEN,
            "--quiet",
            "--out",
            sc.parent().unwrap().join("served").to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_string();
    (child, addr)
}

#[test]
fn served_invocations_reach_one_process_per_instance() {
    let tmp = tempfile::tempdir().unwrap();
    let (sc, weights) = scenario(tmp.path(), "");
    let (mut server, addr) = serve(&sc, "60");
    // Ready means every instance's process answered /ping.
    assert_eq!(servers(&weights).len(), 2);

    let csv = std::fs::read(root().join("fixtures/payloads/transaction.csv")).unwrap();
    let (status, head, body) = post(&addr, "/endpoints/fraud/invocations", "text/csv", &csv);
    assert_eq!(status, 200, "{body}");
    assert!(
        head.contains("x-amzn-invoked-production-variant: alltraffic"),
        "{head}"
    );
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(v["predictions"][0]["score"].as_f64().is_some(), "{body}");

    // The process rejects the row: ModelError with its status and message.
    let (status, head, body) = post(&addr, "/endpoints/fraud/invocations", "text/csv", b"a,b");
    assert_eq!(status, 424, "{body}");
    assert!(head.contains("x-amzn-errortype: modelerror"), "{head}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["OriginalStatusCode"], 400);
    assert_eq!(v["OriginalMessage"], "row 1: \"a\" is not a number");

    // A crash kills one process; its replacement starts with the new
    // instance (provisioning 4-6 min at 60x: 4-6 s) and serves.
    let before = servers(&weights);
    let crash = br#"{"kind": "instance_crash", "endpoint": "fraud", "count": 1}"#;
    let (status, _, body) = post(&addr, "/_gameday/faults", "application/json", crash);
    assert_eq!(status, 201, "{body}");
    // The fault is compressed like a scheduled one: the health check
    // notices in 2 s / 60, so the replacement may start at once.
    wait_for(
        "the crashed instance's process to go",
        Duration::from_secs(5),
        || {
            servers(&weights)
                .iter()
                .filter(|p| before.contains(p))
                .count()
                == 1
        },
    );
    wait_for("the replacement's process", Duration::from_secs(10), || {
        let now = servers(&weights);
        now.len() == 2 && now.iter().any(|p| !before.contains(p))
    });

    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    server.wait().unwrap();
    wait_for("no model server left", Duration::from_secs(5), || {
        servers(&weights).is_empty()
    });
}

#[test]
fn a_wall_run_against_model_servers_reports_their_traffic() {
    let tmp = tempfile::tempdir().unwrap();
    let (sc, weights) = scenario(tmp.path(), "\n[slo]\nerror_rate = 0.0\n");
    let out = tmp.path().join("o");
    let o = gameday(&[
        "run",
        sc.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let r = report(&out);
    let ep = &r["endpoints"][0];
    assert!(ep["ok"].as_u64().unwrap() > 300, "{ep}");
    assert_eq!(ep["requests"], ep["ok"]);
    for i in 0..2 {
        assert!(out.join(format!("containers/instance-{i}.log")).exists());
    }
    assert!(
        servers(&weights).is_empty(),
        "model servers outlived the run"
    );
}

#[test]
fn sigkill_to_the_harness_takes_its_model_servers_down() {
    let tmp = tempfile::tempdir().unwrap();
    let (sc, weights) = scenario(tmp.path(), "");
    let (mut server, _) = serve(&sc, "1");
    assert_eq!(servers(&weights).len(), 2);
    server.kill().unwrap();
    server.wait().unwrap();
    wait_for(
        "the model servers to die with the harness",
        Duration::from_secs(5),
        || servers(&weights).is_empty(),
    );
}

#[test]
fn a_model_server_that_exits_before_ping_fails_the_start_fast() {
    let tmp = tempfile::tempdir().unwrap();
    let (sc, _) = scenario(tmp.path(), "");
    shell_command(&sc, "exit 3", "");
    let t = now();
    let out = tmp.path().join("o");
    let o = gameday(&[
        "serve",
        sc.to_str().unwrap(),
        "--bind",
        "127.0.0.1:0",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o.stderr).contains("exited before answering GET /ping (exit status: 3"),
        "{}",
        text(&o.stderr)
    );
    // The console says where the process's output went.
    let logs = out.join("containers/instance-");
    assert!(
        text(&o.stderr).contains(&format!("its log: {}", logs.display())),
        "{}",
        text(&o.stderr)
    );
    assert!(t.elapsed() < Duration::from_secs(10), "it should fail fast");
}

#[test]
fn a_model_server_that_dies_is_a_crash_and_its_replacement_serves_once_it_pings() {
    let tmp = tempfile::tempdir().unwrap();
    let (sc, weights) = scenario(tmp.path(), "");
    // The first process to start serves for 2 s and exits on its own;
    // every other one (the replacement too) serves until stopped.
    let serve = format!(
        "{:?} model-server --weights {:?}",
        env!("CARGO_BIN_EXE_gameday"),
        weights.display().to_string()
    );
    let script = format!(
        "if mkdir {:?} 2>/dev/null; then timeout 2 {serve}; else exec {serve}; fi",
        tmp.path().join("died").display().to_string()
    );
    shell_command(&sc, &script, "12m");
    let out = tmp.path().join("o");
    let o = gameday(&[
        "run",
        sc.to_str().unwrap(),
        "--time-scale",
        "60",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));

    // time_s,kind,endpoint,variant,instance,detail,job
    let events = std::fs::read_to_string(out.join("events.csv")).unwrap();
    let find = |kind: &str, instance: &str| -> f64 {
        events
            .lines()
            .find(|l| {
                let f: Vec<&str> = l.split(',').collect();
                f[1] == kind && f[4] == instance
            })
            .unwrap_or_else(|| panic!("no {kind} for instance {instance}:\n{events}"))
            .split(',')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let died = if events.contains("instance_crashed,fraud,AllTraffic,0,") {
        "0"
    } else {
        "1"
    };
    // Event times are scenario time: 60 per real second.
    let crashed = find("instance_crashed", died);
    assert!((60.0..240.0).contains(&crashed), "crashed at {crashed}");
    let terminated = find("instance_terminated", died);
    assert!(terminated - crashed < 3.0, "noticed at once: {terminated}");
    let launched = find("instance_launched", "2");
    assert!(launched - crashed < 3.0, "replaced at once: {launched}");
    // In service at the end of provisioning (4-6 min of scenario time),
    // its process having answered GET /ping long before.
    let in_service = find("instance_in_service", "2");
    assert!(
        (234.0..372.0).contains(&(in_service - launched)),
        "in service {in_service} after launch {launched}"
    );
    assert!(out.join("containers/instance-2.log").exists());
    let r = report(&out);
    let ep = &r["endpoints"][0];
    assert!(ep["ok"].as_u64().unwrap() > 1_000, "{ep}");
    assert!(
        servers(&weights).is_empty(),
        "model servers outlived the run"
    );
}
