//! The wall clock end to end: the embedded platform on loopback, real
//! HTTP load, the same report files as a virtual run, `serve`, the http
//! target, and a graceful stop.

mod common;
use common::*;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Standard error of a log-normal's q-quantile estimated from n samples,
/// ms: sqrt(q(1-q)/n) / f(x_q).
fn quantile_se_ms(p50: f64, p99: f64, q: f64, z: f64, n: f64) -> f64 {
    let sigma = (p99 / p50).ln() / 2.326_348;
    let x = p50 * (sigma * z).exp();
    let pdf = (-z * z / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt() / (x * sigma);
    (q * (1.0 - q) / n).sqrt() / pdf
}

/// The tests here time real runs: one at a time, so none measures
/// another's load.
static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn alone() -> std::sync::MutexGuard<'static, ()> {
    ALONE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[test]
fn wall_quickstart_agrees_with_the_virtual_clock() {
    let _alone = alone();
    let tmp = tempfile::tempdir().unwrap();
    let (wall, virt) = (tmp.path().join("wall"), tmp.path().join("virtual"));
    let o = gameday(&[
        "run",
        "scenarios/quickstart.toml",
        "--clock",
        "wall",
        "--time-scale",
        "20",
        "--out",
        wall.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = gameday(&[
        "run",
        "scenarios/quickstart.toml",
        "--out",
        virt.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0));
    for f in [
        "report.json",
        "summary.md",
        "timeline.csv",
        "events.csv",
        "run.json",
    ] {
        assert!(wall.join(f).is_file(), "{f} missing");
    }
    let (w, v) = (report(&wall), report(&virt));
    assert_eq!(w["scenario"]["clock"], "wall");
    assert_eq!(w["complete"], true);
    // The report is in scenario time: the full 600 s, billed as such.
    assert_eq!(w["scenario"]["duration_s"], 600.0);
    assert_eq!(w["scenario"]["time_scale"], 20.0);
    assert!(v["scenario"].get("time_scale").is_none());
    let cost = |r: &serde_json::Value| r["cost"]["total_usd"].as_f64().unwrap();
    assert!(
        (cost(&w) / cost(&v) - 1.0).abs() < 0.05,
        "cost: wall {} virtual {}",
        cost(&w),
        cost(&v)
    );
    assert_eq!(w["timeline_interval_s"], v["timeline_interval_s"]);
    let timeline = std::fs::read_to_string(wall.join("timeline.csv")).unwrap();
    let last = timeline.lines().last().unwrap();
    assert!(
        last.starts_with("590.0,"),
        "last interval starts at 590 s: {last}"
    );
    // Rates are real: 150 req/s either way.
    let rps = |r: &serde_json::Value| r["endpoints"][0]["throughput_rps"].as_f64().unwrap();
    assert!(
        (rps(&w) / rps(&v) - 1.0).abs() < 0.1,
        "{} vs {}",
        rps(&w),
        rps(&v)
    );
    let lg = &w["load_generator"];
    assert_eq!(lg["suspect"], false, "{lg}");
    assert_eq!(lg["time_scale"], 20.0);

    // 10 minutes compressed 20-fold: 30 s at the real 150 req/s.
    let n = w["endpoints"][0]["requests"].as_f64().unwrap();
    assert!((n - 4500.0).abs() < 5.0 * 4500f64.sqrt(), "requests {n}");

    // Percentiles agree within the wall clock's fixed overhead (HTTP on
    // loopback plus timer wake-up, ~0.5 ms measured; 1.5 ms allowed) plus
    // four standard errors of a quantile estimated from n samples of the
    // model's log-normal (12 ms / 45 ms): about 0.13 ms at p50, 1.4 ms at
    // p99. The virtual run has 90,000 samples, so its own error is small.
    let ok =
        |r: &serde_json::Value, k: &str| r["endpoints"][0]["ok_latency_ms"][k].as_f64().unwrap();
    for (k, q, z) in [("p50", 0.5, 0.0), ("p99", 0.99, 2.326_348)] {
        let tol = 1.5 + 4.0 * quantile_se_ms(12.0, 45.0, q, z, n);
        let (a, b) = (ok(&w, k), ok(&v, k));
        println!("{k}: wall {a} ms, virtual {b} ms, tolerance {tol:.2} ms");
        assert!(
            (a - b).abs() <= tol,
            "{k}: wall {a} vs virtual {b} (tolerance {tol:.2})"
        );
        assert!(
            a >= b - 4.0 * quantile_se_ms(12.0, 45.0, q, z, n),
            "the wall clock cannot be faster than the model"
        );
    }

    // The crash happened on the compressed schedule (5 min / 20 = 15 s)
    // and its failures are visible to the client.
    let events = std::fs::read_to_string(wall.join("events.csv")).unwrap();
    let crash = events
        .lines()
        .find(|l| l.contains("instance_crashed"))
        .expect("crash event");
    // Reported in scenario time: 300 s (0.5 real seconds of slack are
    // 10 scenario seconds).
    let at: f64 = crash.split(',').next().unwrap().parse().unwrap();
    assert!((at - 300.0).abs() < 10.0, "crash at {at}");
    assert!(w["endpoints"][0]["errors"]["server_5xx"].as_u64().unwrap() > 0);
    let rate = |r: &serde_json::Value| {
        r["endpoints"][0]["errors"]["server_5xx"].as_f64().unwrap()
            / r["endpoints"][0]["requests"].as_f64().unwrap()
    };
    // Compression keeps the share of time with a dead instance routed, so
    // the error rates agree in size (a handful of errors: loose bound).
    assert!(
        rate(&w) < 5.0 * rate(&v) + 0.002,
        "wall {} virtual {}",
        rate(&w),
        rate(&v)
    );
}

#[test]
fn sigterm_mid_wall_run_stops_quickly_and_writes_an_incomplete_report() {
    let _alone = alone();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("stopped");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args([
            "run",
            "scenarios/quickstart.toml",
            "--clock",
            "wall",
            "--out",
            out.to_str().unwrap(),
            "-q",
        ])
        .current_dir(root())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    #[allow(clippy::disallowed_methods)]
    let t = std::time::Instant::now();
    let status = child.wait().unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "stopped in {:?}",
        t.elapsed()
    );
    assert_eq!(status.code(), Some(3));
    for f in [
        "report.json",
        "summary.md",
        "timeline.csv",
        "events.csv",
        "run.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let r = report(&out);
    assert_eq!(r["complete"], false);
    let n = r["endpoints"][0]["requests"].as_u64().unwrap();
    assert!(n > 200, "about 3 s at 150 req/s were measured: {n}");
}

#[test]
fn serve_answers_the_http_target_and_stops_on_sigterm() {
    let _alone = alone();
    let tmp = tempfile::tempdir().unwrap();
    let served = tmp.path().join("served");
    let mut server = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args([
            "serve",
            "scenarios/quickstart.toml",
            "--bind",
            "127.0.0.1:0",
            "--time-scale",
            "2",
            "--out",
            served.to_str().unwrap(),
            "--quiet",
        ])
        .current_dir(root())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    // A short fault-free scenario aimed at the served endpoint.
    let sc = short_quickstart(tmp.path(), "http.toml", "3s", "[slo]\nerror_rate = 0.0\n");
    let out = tmp.path().join("out");
    let o = gameday(&[
        "run",
        sc.to_str().unwrap(),
        "--clock",
        "wall",
        "--target",
        "http",
        "--endpoint-url",
        &url,
        "--load-threads",
        "2",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = report(&out);
    assert_eq!(r["endpoints"][0]["errors"]["server_5xx"], 0);
    assert!(r["endpoints"][0]["ok"].as_u64().unwrap() > 300);
    assert!(r["load_generator"]["target"]
        .as_str()
        .unwrap()
        .starts_with("http "));
    // Two generator threads, each with its own workers.
    assert!(r["load_generator"]["workers"].as_u64().unwrap() >= 2);
    // The served platform's metrics saw the same traffic.
    // The same run through the real AWS SDK (static test credentials from
    // the environment, the served platform as the endpoint-URL override).
    let sdk_out = tmp.path().join("sdk");
    let o = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args([
            "run",
            sc.to_str().unwrap(),
            "--clock",
            "wall",
            "--target",
            "sagemaker",
            "--region",
            "us-east-1",
            "--endpoint-url",
            &url,
            "--out",
            sdk_out.to_str().unwrap(),
            "-q",
        ])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = report(&sdk_out);
    assert_eq!(
        r["endpoints"][0]["errors"]["server_5xx"], 0,
        "{}",
        r["endpoints"][0]
    );
    assert!(r["endpoints"][0]["ok"].as_u64().unwrap() > 300);
    let target = r["load_generator"]["target"].as_str().unwrap();
    assert!(target.starts_with("sagemaker region=us-east-1"), "{target}");
    assert_eq!(r["load_generator"]["attempts"], serde_json::Value::Null);

    let metrics = Command::new("curl")
        .args(["-s", &format!("{url}/metrics")])
        .output();
    if let Ok(m) = metrics {
        let text = String::from_utf8_lossy(&m.stdout);
        if !text.is_empty() {
            assert!(
                text.contains(
                    "Invocations{EndpointName=\"fraud-detection-prod\",VariantName=\"AllTraffic\"}"
                ),
                "{text}"
            );
        }
    }

    assert!(Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap()
        .success());
    assert_eq!(server.wait().unwrap().code(), Some(0));
    // The game day is on record, measured at the platform: both runs'
    // requests, with the same files as a run.
    let r = report(&served);
    let ok = r["endpoints"][0]["ok"].as_u64().unwrap();
    assert!(ok > 600, "{}", r["endpoints"][0]);
    assert_eq!(r["complete"], true);
    assert_eq!(r["measured_at"], "platform");
    // In scenario time, rounded like every time in a report.
    assert_eq!(r["scenario"]["time_scale"], 2.0);
    let d = r["scenario"]["duration_s"].as_f64().unwrap();
    assert_eq!(d, (d * 1e6).round() / 1e6, "duration_s {d}");
    let summary = std::fs::read_to_string(served.join("summary.md")).unwrap();
    assert!(
        summary.contains("at the platform: from each request's arrival"),
        "{summary}"
    );
    for f in ["summary.md", "timeline.csv", "events.csv", "run.json"] {
        assert!(served.join(f).exists(), "{f}");
    }
}

#[test]
fn the_wall_game_day_fails_on_purpose_with_both_clients_measured() {
    let _alone = alone();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("gd");
    let o = gameday(&[
        "run",
        "scenarios/wall-game-day.toml",
        "--time-scale",
        "60",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = report(&out);
    let ep = &r["endpoints"][0];
    assert!(ep["errors"]["throttled"].as_u64().unwrap() > 0, "{ep}");
    assert_eq!(ep["errors"]["client_4xx"], 0, "every payload scored: {ep}");
    let open_loop = r["load_generator"]["sent"].as_u64().unwrap();
    assert!(
        ep["requests"].as_u64().unwrap() > open_loop + 100,
        "the closed-loop analysts were measured too"
    );
    let failed = missed(&r["slos"]);
    assert!(failed.contains(&"error_rate"), "{failed:?}");
    // Queueing is measured at the platform, as under the virtual clock:
    // the summary's queue figures agree with the timeline's queues.
    let qw = &ep["queue_wait_ms"];
    assert!(qw["requests"].as_u64().unwrap() > 1000, "{qw}");
    assert!(qw["waited_fraction"].as_f64().unwrap() > 0.0, "{qw}");
    assert!(qw["mean"].as_f64().unwrap() > 0.0, "{qw}");
}

/// One platform under the wall clock drives endpoints and training alike:
/// a g5 shortage from the start fails an on-demand job on g5 at once and
/// refuses the endpoint's replacement launch after a crash; a job on
/// another type trains.
#[test]
fn a_wall_run_shares_one_capacity_pool_between_an_endpoint_and_training() {
    let _alone = alone();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pool.toml");
    std::fs::write(
        &file,
        r#"[scenario]
name = "pool"
duration = "60s"
seed = 2
clock = "wall"
time_scale = 100

[[model]]
name = "m"
latency = { dist = "constant", value = "5ms" }

[[endpoint]]
name = "ep"
  [[endpoint.variant]]
  name = "AllTraffic"
  model = "m"
  instance_type = "ml.g5.xlarge"
  instance_count = 2

[[workload]]
endpoint = "ep"
arrival = { kind = "constant", rate = 20 }

[[training_job]]
name = "on-g5"
instance_type = "ml.g5.xlarge"
max_run = "1h"
download = "0s"
upload = "0s"
work = { steps = 10, step_time = "1s" }

[[training_job]]
name = "on-p3"
instance_type = "ml.p3.2xlarge"
max_run = "1h"
download = "0s"
upload = "0s"
work = { steps = 10, step_time = "1s" }

[[fault]]
at = "0s"
for = "50s"
kind = "capacity_shortage"
instance_type = "ml.g5.xlarge"

[[fault]]
at = "10s"
kind = "instance_crash"
endpoint = "ep"
"#,
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = gameday(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.code().is_some(), "{}", text(&o.stderr));
    let r = report(&out);
    assert_eq!(r["scenario"]["clock"], "wall", "{}", text(&o.stderr));
    let jobs = r["training_jobs"].as_array().unwrap();
    assert_eq!(jobs[0]["status"], "Failed", "{}", jobs[0]);
    assert_eq!(jobs[1]["status"], "Completed", "{}", jobs[1]);
    let events = std::fs::read_to_string(out.join("events.csv")).unwrap();
    assert!(
        events.contains("InsufficientCapacity: no ml.g5.xlarge capacity"),
        "{events}"
    );
    let refused = events
        .lines()
        .find(|l| l.contains(",instance_launch_failed,"))
        .unwrap_or_else(|| panic!("{events}"));
    // In scenario time: detected 2 s after the 10 s crash.
    let at: f64 = refused.split(',').next().unwrap().parse().unwrap();
    assert!((11.5..13.5).contains(&at), "{refused}");
    // One timeline: endpoint and training events merged in time order.
    let times: Vec<f64> = events
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{events}");
}
