//! Training jobs as real processes under the wall clock: resume
//! correctness, a script that ignores its checkpoints, limits enforced the
//! SageMaker way, failures, and no orphaned process when the harness is
//! stopped or killed.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The shipped wall scenario, with the channel path made absolute and
/// `edit` applied, written into `dir`.
fn scenario(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let src = std::fs::read_to_string(root().join("scenarios/spot-training-wall.toml")).unwrap();
    let data = root().join("fixtures/training/transactions.csv");
    let src = src.replace(
        "\"../fixtures/training/transactions.csv\"",
        &format!("{:?}", data.canonicalize().unwrap().display().to_string()),
    );
    let p = dir.join(name);
    std::fs::write(&p, edit(src)).unwrap();
    p
}

fn without_faults(src: String) -> String {
    let cut = src.find("[[fault]]").unwrap();
    let slo = src.find("[slo]").unwrap();
    format!("{}{}", &src[..cut], &src[slo..])
}

fn run(scenario: &Path, out: &Path) -> Output {
    gameday(&[
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ])
}

/// Processes whose working folder is under `dir` (training processes run
/// in their job folder).
fn processes_under(dir: &Path) -> Vec<u32> {
    let dir = dir.canonicalize().unwrap_or(dir.to_path_buf());
    processes(|proc| std::fs::read_link(proc.join("cwd")).is_ok_and(|cwd| cwd.starts_with(&dir)))
}

#[test]
fn an_interrupted_trainer_resumes_to_the_same_model_as_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let interrupted = scenario(tmp.path(), "i.toml", |s| s);
    let clean = scenario(tmp.path(), "c.toml", without_faults);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let o = run(&interrupted, &a);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = run(&clean, &b);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));

    let ja = &report(&a)["training_jobs"][0];
    let jb = &report(&b)["training_jobs"][0];
    assert_eq!(ja["status"], "Completed");
    assert_eq!(ja["interruptions"], 2);
    assert_eq!(jb["interruptions"], 0);
    // Both restarts resumed from a checkpoint, not from scratch.
    let resumed: Vec<u64> = serde_json::from_value(ja["resumed_from"].clone()).unwrap();
    assert_eq!(resumed.len(), 3, "{resumed:?}");
    assert!(resumed[1] > 0 && resumed[2] > resumed[1], "{resumed:?}");
    assert_eq!(ja["steps_total"], 300);
    // Three attempts, each with its log.
    let logs = a.join("training/retrain/logs");
    for n in 0..3 {
        assert!(
            logs.join(format!("attempt-{n}.stdout")).exists(),
            "attempt {n}"
        );
    }
    let model = |d: &Path| std::fs::read(d.join("training/retrain/model/model.json")).unwrap();
    assert!(
        model(&a) == model(&b),
        "the resumed model differs from the uninterrupted one"
    );
    // The events show the notice before each reclaim.
    let events = std::fs::read_to_string(a.join("events.csv")).unwrap();
    assert_eq!(events.matches("spot_notice").count(), 2);
    assert_eq!(events.matches("job_resumed").count(), 2);
    // In scenario time, the notice's own words included: the reclaim it
    // announces is EC2's two minutes after it.
    for l in events.lines().filter(|l| l.contains("spot_notice")) {
        let at: f64 = l.split(',').next().unwrap().parse().unwrap();
        let reclaim: f64 = l
            .split("reclaim at ")
            .nth(1)
            .and_then(|r| r.split('s').next())
            .unwrap()
            .parse()
            .unwrap();
        assert!((reclaim - at - 120.0).abs() < 2.0, "{l}");
    }
}

#[test]
fn a_trainer_that_ignores_its_checkpoints_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path(), "s.toml", |s| {
        s.replace(
            "step_sleep_ms = 20 }",
            "step_sleep_ms = 20, ignore_checkpoints = true }",
        )
    });
    let out = tmp.path().join("o");
    let o = run(&s, &out);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let j = &report(&out)["training_jobs"][0];
    assert_eq!(j["status"], "Completed");
    let resumed: Vec<u64> = serde_json::from_value(j["resumed_from"].clone()).unwrap();
    assert_eq!(resumed, [0, 0, 0]);
    // Everything done before each reclaim was redone.
    let lost = j["steps_lost"].as_u64().unwrap();
    assert!(lost > 100, "steps lost {lost}");
    let log = &j["interruption_log"];
    assert!(log[0]["steps_lost"].as_u64().unwrap() > 50, "{log}");
}

#[test]
fn max_run_stops_a_script_that_ignores_sigterm_then_kills_it() {
    let tmp = tempfile::tempdir().unwrap();
    // A script that traps SIGTERM and never finishes: max_run (1 h,
    // 6 s at 600x) stops it, SIGKILL follows 120 s / 600 = 0.2 s later.
    let s = scenario(tmp.path(), "s.toml", |s| {
        without_faults(s)
            .replace("max_run = \"1d\"", "max_run = \"1h\"")
            .replace(
                "trainer = \"logistic_regression\"",
                "command = [\"sh\", \"-c\", \"trap '' TERM; i=0; while true; do i=$((i+1)); echo step=$i; sleep 0.05; done\"]",
            )
    });
    let out = tmp.path().join("o");
    let t = now();
    let o = run(&s, &out);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr)); // success rate SLO fails
    assert!(t.elapsed() < Duration::from_secs(20));
    let j = &report(&out)["training_jobs"][0];
    assert_eq!(j["status"], "Stopped");
    assert_eq!(j["secondary_status"], "MaxRuntimeExceeded");
    assert_eq!(j["ended_by"], "max_run");
    assert!(j["steps_done"].as_u64().unwrap() > 10);
    assert!(
        processes_under(&out).is_empty(),
        "the script outlived its job"
    );
}

#[test]
fn a_failing_script_fails_the_job() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path(), "s.toml", |s| {
        without_faults(s).replace(
            "trainer = \"logistic_regression\"",
            "command = [\"sh\", \"-c\", \"echo step=1; echo 'out of memory' >&2; exit 3\"]",
        )
    });
    let out = tmp.path().join("o");
    let o = run(&s, &out);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let j = &report(&out)["training_jobs"][0];
    assert_eq!(j["status"], "Failed");
    let err = std::fs::read_to_string(out.join("training/retrain/logs/attempt-0.stderr")).unwrap();
    assert_eq!(err, "out of memory\n");
    // The console says where to look.
    let logs = out.join("training/retrain/logs");
    let said = text(&o.stderr);
    assert!(
        said.contains(&format!(
            "training job retrain failed: its logs are in {}",
            logs.display()
        )),
        "{said}"
    );
}

#[test]
fn the_shipped_scenario_passes_as_its_header_says_with_a_relative_out() {
    // The header's own command writes to the default, relative, `--out`;
    // the job's process runs inside its job folder, so every path it is
    // given must be absolute (it used to end `Failed`: no such file).
    let tmp = tempfile::Builder::new()
        .prefix(".test-relative-out-")
        .tempdir_in(root())
        .unwrap();
    let rel = Path::new(tmp.path().file_name().unwrap()).join("out");
    let o = gameday(&[
        "run",
        "scenarios/spot-training-wall.toml",
        "--out",
        rel.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let j = &report(&root().join(&rel))["training_jobs"][0];
    assert_eq!(j["status"], "Completed");
    assert_eq!(j["interruptions"], 2);
}

fn start_long_run(tmp: &Path) -> (std::process::Child, PathBuf) {
    let s = scenario(tmp, "long.toml", |s| {
        without_faults(s).replace("steps = 300,", "steps = 100000,")
    });
    let out = tmp.join("o");
    let child = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args([
            "run",
            s.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "-q",
        ])
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::fs::create_dir_all(&out).unwrap();
    wait_for("the training process", Duration::from_secs(20), || {
        !processes_under(&out).is_empty()
    });
    (child, out)
}

#[test]
fn sigterm_to_the_harness_stops_the_job_and_leaves_no_process() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, out) = start_long_run(tmp.path());
    std::thread::sleep(Duration::from_millis(500));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3));
    assert!(
        processes_under(&out).is_empty(),
        "orphaned training process"
    );
    let r = report(&out);
    assert_eq!(r["complete"], false);
    assert_eq!(r["training_jobs"][0]["status"], "Stopped");
    // The trainer checkpointed on its SIGTERM.
    assert!(out
        .join("training/retrain/checkpoints/checkpoint.json")
        .exists());
}

#[test]
fn sigkill_to_the_harness_leaves_no_orphaned_process() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, out) = start_long_run(tmp.path());
    let trainers = processes_under(&out);
    child.kill().unwrap(); // SIGKILL: no handler runs
    child.wait().unwrap();
    // The kernel delivers the death signal to the trainer.
    wait_for(
        "the trainer to die with the harness",
        Duration::from_secs(5),
        || processes_under(&out).is_empty(),
    );
    let alive = processes(|_| true);
    for pid in trainers {
        assert!(!alive.contains(&pid), "pid {pid} survived");
    }
}

#[test]
fn a_command_that_cannot_start_fails_the_job_with_the_reason_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path(), "s.toml", |s| {
        without_faults(s).replace(
            "trainer = \"logistic_regression\"",
            "command = [\"/nonexistent/train.sh\"]",
        )
    });
    let out = tmp.path().join("o");
    let o = run(&s, &out);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let j = &report(&out)["training_jobs"][0];
    assert_eq!(j["status"], "Failed");
    let why =
        std::fs::read_to_string(out.join("training/retrain/logs/attempt-0.spawn-error")).unwrap();
    assert!(why.contains("No such file"), "{why}");
}

#[test]
fn the_builtin_trainer_outside_the_contract_says_what_is_missing() {
    let o = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["trainer", "logistic_regression"])
        .env_remove("SM_MODEL_DIR")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("SM_MODEL_DIR is not set"),
        "{}",
        text(&o.stderr)
    );
    let o = gameday(&["trainer", "xgboost"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("unknown built-in trainer \"xgboost\""));
}

#[test]
fn a_bad_hyperparameter_fails_the_builtin_trainer_with_its_message() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path(), "s.toml", |s| {
        without_faults(s).replace("steps = 300,", "steps = \"many\",")
    });
    let out = tmp.path().join("o");
    let o = run(&s, &out);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert_eq!(report(&out)["training_jobs"][0]["status"], "Failed");
    let err = std::fs::read_to_string(out.join("training/retrain/logs/attempt-0.stderr")).unwrap();
    assert!(
        err.contains("hyperparameter steps: \"many\" is not a valid step count"),
        "{err}"
    );
}
