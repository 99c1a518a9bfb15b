//! Training-job validation: every error class, with its exact message,
//! line and column.

mod common;
use common::{check, with_in};

use std::path::Path;

use gameday_core::training::TrainingWork;
use gameday_scenario::{parse, TrainingProgram};

/// A valid training scenario; each case replaces one line of it.
const BASE: &str = r#"[scenario]
name = "t"
seed = 3

[[training_job]]
name = "ft"
instance_type = "ml.p3.8xlarge"
instance_count = 2
spot = true
max_run = "1d"
max_wait = "2d"
checkpoint_every = "30m"
work = { steps = 1000, step_time = "2s" }

[[fault]]
at = "6h"
kind = "spot_interruption"
job = "ft"

[slo]
training_deadline = "36h"
"#;

/// BASE with its first line equal to `old` replaced by `new`.
fn with(old: &str, new: &str) -> String {
    with_in(BASE, old, new)
}

#[test]
fn base_is_valid_and_lowered() {
    let sc = parse("t.toml", BASE, Path::new("../../fixtures")).unwrap();
    let j = &sc.training.jobs[0];
    assert!(j.spot);
    assert_eq!(j.max_wait.unwrap().as_secs(), 2 * 86_400);
    // 2 s on one V100 (125 TFLOPS); the fleet is 2 x 4 V100 at 0.9
    // efficiency for one doubling: 2 / (8 x 0.9) s.
    let TrainingWork::Modelled { steps, step_time } = j.work else {
        panic!("modelled work")
    };
    assert_eq!(steps, 1000);
    assert!((step_time.as_secs_f64() - 2.0 / 7.2).abs() < 1e-9);
    // p3.8xlarge is in the >20% band: 30 d / -ln(0.75) per instance.
    let mtbi_days = j.market.mtbi.unwrap().as_secs_f64() / 86_400.0;
    assert!((mtbi_days - 104.28).abs() < 0.01, "{mtbi_days}");
    assert!((j.market.price_ratio - 0.3).abs() < 1e-9);
    assert_eq!(sc.training.faults[0].jobs, [0]);
    assert!(sc.platform.endpoints.is_empty());
}

#[test]
fn params_and_tokens_become_time_on_the_fleet() {
    let src = with(
        "work = { steps = 1000, step_time = \"2s\" }",
        "work = { params = \"1B\", tokens = \"10B\", utilization = 0.5, steps = 100 }",
    );
    let sc = parse("t.toml", &src, Path::new("../../fixtures")).unwrap();
    let TrainingWork::Modelled { steps, step_time } = sc.training.jobs[0].work else {
        panic!("modelled work")
    };
    // 6 x 1e9 x 1e10 FLOPs / (8 x 125e12 x 0.9 x 0.5) = 133.33 s.
    let total = step_time.as_secs_f64() * steps as f64;
    assert!(
        (total - 6e19 / (8.0 * 125e12 * 0.9 * 0.5)).abs() < 1e-6,
        "{total}"
    );
}

#[test]
fn wall_clock_jobs_with_a_trainer_are_external() {
    let src = with(
        "name = \"ft\"",
        "name = \"ft\"\ntrainer = \"logistic_regression\"\nhyperparameters = { epochs = 3, lr = 0.5, tag = \"x\" }\nchannels = { train = \"training/transactions.csv\" }",
    )
    .replace("seed = 3", "seed = 3\nclock = \"wall\"");
    let sc = parse("t.toml", &src, Path::new("../../fixtures")).unwrap();
    assert_eq!(sc.training.jobs[0].work, TrainingWork::External);
    let run = sc.training_runs[0].as_ref().unwrap();
    assert_eq!(
        run.program,
        TrainingProgram::Builtin("logistic_regression".into())
    );
    assert_eq!(run.hyperparameters["epochs"], "3");
    assert_eq!(run.hyperparameters["lr"], "0.5");
    assert_eq!(run.hyperparameters["tag"], "x");
    assert!(run.channels["train"].ends_with("training/transactions.csv"));
}

const CASES: &[(&str, &str, &[&str])] = &[
    ("max_wait = \"2d\"", "max_wait = \"12h\"", &["t.toml:11:12: training_job[0].max_wait: max_wait (12h) must be at least max_run (1d): it covers the waits for spot capacity plus the training itself"]),
    ("max_wait = \"2d\"", "", &["t.toml:5:1: training_job[0].max_wait: a spot job needs `max_wait`, at least max_run (1d); try max_wait = \"2d\""]),
    ("spot = true", "spot = false", &["t.toml:11:12: training_job[0].max_wait: max_wait only applies to spot jobs; set spot = true or drop it", "t.toml:15:1: fault[0]: training job \"ft\" is not a spot job; a spot_interruption cannot hit it"]),
    ("instance_type = \"ml.p3.8xlarge\"", "instance_type = \"ml.p3.8xlarg\"", &["t.toml:7:17: training_job[0].instance_type: unknown instance type \"ml.p3.8xlarg\"; did you mean \"ml.p3.8xlarge\"?"]),
    ("instance_type = \"ml.p3.8xlarge\"", "instance_type = \"ml.m5.xlarge\"", &["t.toml:13:8: training_job[0].work: instance type \"ml.m5.xlarge\" has no accelerator; training work is modelled on GPUs (pick an ml.g*/ml.p* type)"]),
    ("work = { steps = 1000, step_time = \"2s\" }", "", &["t.toml:5:1: training_job[0].work: missing `work`: give { steps = N, step_time = \"1.2s\" } (step time on one reference GPU) or { params = \"7B\", tokens = \"140B\" }"]),
    ("work = { steps = 1000, step_time = \"2s\" }", "work = { steps = 1000, step_time = \"2s\", params = \"7B\" }", &["t.toml:13:8: training_job[0].work: give either { steps, step_time } or { params, tokens[, utilization, steps] }, not both"]),
    ("work = { steps = 1000, step_time = \"2s\" }", "work = { step_time = \"2s\" }", &["t.toml:13:8: training_job[0].work: work with `step_time` needs `steps`, like { steps = 10000, step_time = \"1.2s\" }"]),
    ("work = { steps = 1000, step_time = \"2s\" }", "work = { params = \"7 billion\", tokens = \"1T\" }", &["t.toml:13:19: training_job[0].work.params: invalid count \"7 billion\": expected a number with an optional K, M, B or T, like \"7B\""]),
    ("instance_count = 2", "instance_count = 0", &["t.toml:8:18: training_job[0].instance_count: instance_count must be between 1 and 1000, got 0"]),
    ("checkpoint_every = \"30m\"", "checkpoint_every = \"0s\"", &["t.toml:12:20: training_job[0].checkpoint_every: checkpoint_every must be longer than zero (leave it out for no checkpoints)"]),
    ("name = \"ft\"", "name = \"ft\"\ntrainer = \"xgboost\"", &["t.toml:7:11: training_job[0].trainer: unknown built-in trainer \"xgboost\" (expected one of: logistic_regression)"]),
    ("name = \"ft\"", "name = \"ft\"\ncommand = []", &["t.toml:7:11: training_job[0].command: command is empty; give the program and its arguments, like [\"python3\", \"train.py\"]"]),
    ("name = \"ft\"", "name = \"ft\"\ncommand = [\"python3\"]\ntrainer = \"logistic_regression\"", &["t.toml:8:11: training_job[0].trainer: give `command` or `trainer`, not both"]),
    ("name = \"ft\"", "name = \"ft\"\nhyperparameters = { epochs = 3 }", &["t.toml:7:19: training_job[0].hyperparameters: `hyperparameters` are for a real training process; add `command` or `trainer`"]),
    ("name = \"ft\"", "name = \"ft\"\ncommand = [\"python3\", \"train.py\"]\nchannels = { train = \"no/such/file.csv\" }", &["t.toml:8:22: training_job[0].channels.train: channel data \"../../fixtures/no/such/file.csv\" does not exist"]),
    ("job = \"ft\"", "job = \"fx\"", &["t.toml:18:7: fault[0].job: unknown training job \"fx\"; did you mean \"ft\"?"]),
    ("job = \"ft\"", "", &["t.toml:15:1: fault[0]: fault kind \"spot_interruption\" needs `job` or `instance_type`"]),
    ("job = \"ft\"", "job = \"ft\"\nendpoint = \"ep\"", &["t.toml:19:12: fault[0].endpoint: `endpoint` does not apply to fault kind \"spot_interruption\" (it takes no extra fields)"]),
    ("kind = \"spot_interruption\"", "kind = \"capacity_shortage\"\nfor = \"1h\"\ninstance_type = \"ml.p3.2xlarge\"", &["t.toml:19:17: fault[0].instance_type: give `job` or `instance_type`, not both"]),
    ("training_deadline = \"36h\"", "training_success_rate = 1.5", &["t.toml:21:25: slo.training_success_rate: training_success_rate is a fraction between 0 and 1, got 1.5"]),
    ("seed = 3", "seed = 3\n[[spot_market]]\ninstance_type = \"ml.p3.8xlarge\"\ninterruption_band = \"20%\"\nsavings = 1.2", &["t.toml:6:21: spot_market[0].interruption_band: unknown interruption band \"20%\"; did you mean \">20%\"?", "t.toml:7:11: spot_market[0].savings: savings is the spot discount, a fraction from 0 up to (not including) 1, got 1.2"]),
    ("name = \"ft\"", "name = \"ft\"\ncommand = [\"python3\", \"train.py\"]", &[]),
];

#[test]
fn every_training_error_names_file_line_col_field_and_fix() {
    let mut failures = Vec::new();
    for (old, new, expected) in CASES {
        let got = check(&with(old, new));
        if got != *expected {
            failures.push(format!(
                "{old} -> {new}\n  got:      {got:?}\n  expected: {expected:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_virtual_run_needs_work_to_model_a_command() {
    let src = with(
        "work = { steps = 1000, step_time = \"2s\" }",
        "command = [\"python3\", \"train.py\"]",
    );
    assert_eq!(check(&src), ["t.toml:5:1: training_job[0].work: a virtual-clock run models the job's time: add work = { steps, step_time } (or params and tokens); the command runs on the wall clock"]);
}

#[test]
fn a_capacity_shortage_hits_a_pool_named_by_type_or_by_job() {
    // Through a job: the pool of its instance type.
    let src = with(
        "kind = \"spot_interruption\"",
        "kind = \"capacity_shortage\"\nfor = \"2h\"",
    );
    let sc = parse("t.toml", &src, Path::new("../../fixtures")).unwrap();
    assert!(sc.training.faults.is_empty());
    let s = &sc.platform.shortages[0];
    assert_eq!(s.instance_type, "ml.p3.8xlarge");
    assert_eq!(
        (s.at.as_secs(), s.duration.map(|d| d.as_secs())),
        (6 * 3600, Some(7200))
    );

    // By type: one the scenario uses, with a suggestion otherwise.
    let by_type = src.replace("job = \"ft\"", "instance_type = \"ml.p3.8xlarg\"");
    assert_eq!(
        check(&by_type),
        ["t.toml:19:17: fault[0].instance_type: unknown instance type of an endpoint variant or training job \"ml.p3.8xlarg\"; did you mean \"ml.p3.8xlarge\"?"]
    );
    let none = src.replace("job = \"ft\"\n", "");
    assert_eq!(
        check(&none),
        ["t.toml:15:1: fault[0]: fault kind \"capacity_shortage\" needs `instance_type` (or `job`)"]
    );
    let extra = src.replace("for = \"2h\"", "for = \"2h\"\ncount = 2");
    assert_eq!(
        check(&extra),
        ["t.toml:19:9: fault[0].count: `count` does not apply to fault kind \"capacity_shortage\" (it takes `for`)"]
    );
}
