//! Every validation error class, with its exact message, line and column.

mod common;
use common::{check, with_in};

use std::path::Path;

use gameday_scenario::ScenarioError;

/// A valid scenario; each case replaces one line of it.
const BASE: &str = r#"[scenario]
name = "t"
duration = "10m"
seed = 3

[[model]]
name = "m"
latency = { p50 = "12ms", p99 = "45ms" }

[[endpoint]]
name = "ep"
  [[endpoint.variant]]
  name = "A"
  model = "m"
  instance_type = "ml.m5.xlarge"
  instance_count = 2
  concurrency = 4
  weight = 1.0

[[workload]]
endpoint = "ep"
arrival = { kind = "poisson", rate = 150 }
timeout = "2s"

[[fault]]
at = "5m"
kind = "instance_crash"
endpoint = "ep"

[slo]
latency_p99 = "500ms"
error_rate = 0.001
"#;

/// BASE with its first line equal to `old` replaced by `new`.
fn with(old: &str, new: &str) -> String {
    with_in(BASE, old, new)
}

#[test]
fn a_sweep_names_fields_of_this_file() {
    let sweep = |vary: &str| format!("{BASE}\n[sweep]\nseeds = 2\nvary = [\n  {vary},\n]\n");
    let ok = sweep("{ field = \"endpoint.ep.variant.A.instance_count\", values = [1, 2] }");
    assert_eq!(check(&ok), Vec::<String>::new());
    // Line 37 holds the entry; its `field` value starts at column 13.
    assert_eq!(
        check(&sweep("{ field = \"endpoint.ep.variant.B.instance_count\", values = [1, 2] }")),
        vec!["t.toml:37:13: sweep.vary[0].field: no `endpoint.ep.variant` entry named `B` (there: `A`)"]
    );
    assert_eq!(
        check(&sweep("{ field = \"scenario.seed\", values = [1, 2] }")),
        vec!["t.toml:37:13: sweep.vary[0].field: a sweep cannot vary `scenario.seed`: seeds come from `seeds`, and [sweep] is not part of a run"]
    );
    assert_eq!(
        check(&sweep("{ field = \"slo.error_rate\", values = [] }")),
        vec!["t.toml:37:40: sweep.vary[0].values: values is empty: list what the field takes, e.g. values = [1, 2, 4]"]
    );
    let zero = format!("{BASE}\n[sweep]\nseeds = 0\n");
    assert_eq!(
        check(&zero),
        vec!["t.toml:35:9: sweep.seeds: seeds must be between 1 and 10000, got 0"]
    );
}

#[test]
fn abort_on_burn_needs_an_objective_with_a_budget() {
    let src = with_in(
        &with("latency_p99 = \"500ms\"", "cost_budget_usd = 5.0"),
        "error_rate = 0.001",
        "abort_on_burn = 14.4",
    );
    assert_eq!(
        check(&src),
        vec!["t.toml:32:17: slo.abort_on_burn: abort_on_burn watches the error budget of a latency, error_rate or availability objective, and this [slo] has none with a budget: add one, e.g. availability = 0.999"]
    );
    let ok = with(
        "error_rate = 0.001",
        "error_rate = 0.001\nabort_on_burn = 14.4",
    );
    assert_eq!(check(&ok), Vec::<String>::new());
}

#[test]
fn base_is_valid() {
    assert_eq!(check(BASE), Vec::<String>::new());
}

/// `(line to replace, replacement, every diagnostic expected)`.
const CASES: &[(&str, &str, &[&str])] = &[
    (
        "seed = 3",
        "seed = 3\n[target]\nkind = \"local\"\nmax_attempts = 0",
        &["t.toml:7:16: target.max_attempts: max_attempts must be at least 1 (1 turns SDK retries off)"],
    ),
    (
        "arrival = { kind = \"poisson\", rate = 150 }",
        "arrival = { kind = \"users\", users = 0, rate = 5 }",
        &["t.toml:22:47: workload[0].arrival.rate: `rate` does not apply to arrival kind \"users\" (it takes `users`, `think_time`)", "t.toml:22:37: workload[0].arrival.users: users must be at least 1"],
    ),
    (
        "arrival = { kind = \"poisson\", rate = 150 }",
        "arrival = { kind = \"users\", think_time = \"1s\" }",
        &["t.toml:22:11: workload[0].arrival: arrival kind \"users\" needs `users`"],
    ),
    (
        "latency = { p50 = \"12ms\", p99 = \"45ms\" }",
        "builtin = \"logistic_regression\"",
        &["t.toml:6:1: model[0].weights: a `builtin` model needs `weights`, a JSON weights file (see fixtures/models/)"],
    ),
    (
        "latency = { p50 = \"12ms\", p99 = \"45ms\" }",
        "builtin = \"xgboost\"\nweights = \"models/fraud-logreg.json\"",
        &["t.toml:8:11: model[0].builtin: unknown built-in model \"xgboost\" (expected one of: logistic_regression)"],
    ),
    (
        "latency = { p50 = \"12ms\", p99 = \"45ms\" }",
        "weights = \"models/fraud-logreg.json\"",
        &["t.toml:6:1: model[0].latency: missing `latency`; give {p50, p99}, {dist = \"exponential\", mean}, {dist = \"constant\", value} or {dist = \"empirical\", file}", "t.toml:8:11: model[0].weights: `weights` only applies to a `builtin` model; add builtin = \"logistic_regression\""],
    ),
    (
        "timeout = \"2s\"",
        "body = \"{}\"\nbody_file = \"models/fraud-logreg.json\"",
        &["t.toml:24:13: workload[0].body_file: give `body` or `body_file`, not both"],
    ),
    (
        "instance_type = \"ml.m5.xlarge\"",
        "  instance_type = \"ml.m5.xlarg\"",
        &["t.toml:15:19: endpoint[0].variant[0].instance_type: unknown instance type \"ml.m5.xlarg\"; did you mean \"ml.m5.xlarge\"?"],
    ),
    (
        "instance_type = \"ml.m5.xlarge\"",
        "  instance_type = \"ml.banana\"",
        &["t.toml:15:19: endpoint[0].variant[0].instance_type: unknown instance type \"ml.banana\""],
    ),
    ("model = \"m\"", "  model = \"mm\"", &["t.toml:14:11: endpoint[0].variant[0].model: unknown model \"mm\"; did you mean \"m\"?"]),
    ("endpoint = \"ep\"", "endpoint = \"epp\"", &["t.toml:21:12: workload[0].endpoint: unknown endpoint \"epp\"; did you mean \"ep\"?"]),
    (
        "weight = 1.0",
        "  weight = 0.0",
        &["t.toml:18:12: endpoint[0].variant[0].weight: the variant weights of endpoint \"ep\" sum to zero: no traffic could be routed"],
    ),
    (
        "weight = 1.0",
        "  weight = -1.0",
        &[
            "t.toml:18:12: endpoint[0].variant[0].weight: weight must be zero or more, got -1",
            "t.toml:18:12: endpoint[0].variant[0].weight: the variant weights of endpoint \"ep\" sum to zero: no traffic could be routed",
        ],
    ),
    (
        "arrival = { kind = \"poisson\", rate = 150 }",
        "arrival = { kind = \"poisson\", rate = -5 }",
        &["t.toml:22:38: workload[0].arrival.rate: rate must be zero or more, got -5"],
    ),
    (
        "arrival = { kind = \"poisson\", rate = 150 }",
        "arrival = { kind = \"poison\", rate = 150 }",
        &["t.toml:22:20: workload[0].arrival.kind: unknown variant `poison`, expected one of `constant`, `poisson`, `ramp`, `steps`, `spike`, `diurnal`, `trace`, `users`; did you mean \"poisson\"?"],
    ),
    (
        "arrival = { kind = \"poisson\", rate = 150 }",
        "arrival = { kind = \"poisson\", raet = 150 }",
        &["t.toml:22:31: workload[0].arrival.raet: unknown field `raet`, expected one of `kind`, `rate`, `from`, `to`, `over`, `steps`, `base`, `peak`, `at`, `for`, `mean`, `amplitude`, `period`, `peak_at`, `file`, `users`, `think_time`; did you mean \"rate\"?"],
    ),
    (
        "arrival = { kind = \"poisson\", rate = 150 }",
        "arrival = { kind = \"ramp\", rate = 150 }",
        &[
            "t.toml:22:35: workload[0].arrival.rate: `rate` does not apply to arrival kind \"ramp\" (it takes `from`, `to`, `over`)",
            "t.toml:22:11: workload[0].arrival: arrival kind \"ramp\" needs `from`",
            "t.toml:22:11: workload[0].arrival: arrival kind \"ramp\" needs `to`",
            "t.toml:22:11: workload[0].arrival: arrival kind \"ramp\" needs `over`",
        ],
    ),
    (
        "arrival = { kind = \"poisson\", rate = 150 }",
        "arrival = { kind = \"steps\", steps = [{ at = \"5m\", rate = 10 }, { at = \"1m\", rate = 20 }] }",
        &["t.toml:22:71: workload[0].arrival.steps[1].at: steps must be in time order"],
    ),
    (
        "arrival = { kind = \"poisson\", rate = 150 }",
        "arrival = { kind = \"diurnal\", mean = 100, amplitude = 1.5 }",
        &["t.toml:22:55: workload[0].arrival.amplitude: amplitude must be between 0 and 1, got 1.5"],
    ),
    (
        "arrival = { kind = \"poisson\", rate = 150 }",
        "arrival = { kind = \"trace\", file = \"traces/missing.csv\" }",
        &["t.toml:22:36: workload[0].arrival.file: cannot read \"../../fixtures/traces/missing.csv\": No such file or directory (os error 2)"],
    ),
    (
        "latency = { p50 = \"12ms\", p99 = \"45ms\" }",
        "latency = { p50 = \"45ms\", p99 = \"12ms\" }",
        &["t.toml:8:33: model[0].latency.p99: p99 (0.012s) is below p50 (0.045s)"],
    ),
    (
        "latency = { p50 = \"12ms\", p99 = \"45ms\" }",
        "latency = { dist = \"exponential\", p50 = \"12ms\" }",
        &[
            "t.toml:8:41: model[0].latency.p50: `p50` does not apply to dist \"exponential\" (it takes `mean`)",
            "t.toml:8:11: model[0].latency: dist \"exponential\" needs `mean`",
        ],
    ),
    (
        "latency = { p50 = \"12ms\", p99 = \"45ms\" }",
        "latency = { p50 = \"12ms\", p99 = \"45ms\" }\nlatency_on = { \"ml.g5.xlarg\" = { p50 = \"2ms\", p99 = \"9ms\" } }",
        &["t.toml:9:32: model[0].latency_on.ml.g5.xlarg: unknown instance type \"ml.g5.xlarg\"; did you mean \"ml.g5.xlarge\"?"],
    ),
    (
        "latency = { p50 = \"12ms\", p99 = \"45ms\" }",
        "latency = { p50 = \"12ms\", p99 = \"45ms\" }\nerror_rate = 5",
        &["t.toml:9:14: model[0].error_rate: error_rate is a fraction between 0 and 1, got 5 (0.05 fails one request in 20)"],
    ),
    (
        "latency = { p50 = \"12ms\", p99 = \"45ms\" }",
        "latency = { p50 = \"12ms\", p99 = \"45ms\" }\ncommand = [\"python3\", \"serve.py\"]\nerror_rate = 0.05",
        &["t.toml:10:14: model[0].error_rate: error_rate models a model's own failures; a `command` model server fails when it fails: drop error_rate, or drop `command` to model the server"],
    ),
    (
        "duration = \"10m\"",
        "duration = \"10 minutes\"",
        &["t.toml:3:12: scenario.duration: invalid duration \"10 minutes\": expected a number and a unit (ms, s, m, h or d), like \"90s\""],
    ),
    (
        "duration = \"10m\"",
        "duraton = \"10m\"",
        &["t.toml:3:1: scenario.duraton: unknown field `duraton`, expected one of `name`, `description`, `duration`, `seed`, `clock`, `timeline_interval`, `time_scale`, `catalog`, `spot_market`; did you mean \"duration\"?"],
    ),
    ("at = \"5m\"", "at = \"15m\"", &["t.toml:26:6: fault[0].at: the fault starts at 900s, at or after the end of the run (600s)"]),
    (
        "kind = \"instance_crash\"",
        "kind = \"instance_crash\"\nfor = \"1m\"",
        &["t.toml:28:7: fault[0].for: `for` does not apply to fault kind \"instance_crash\" (it takes `count`, `detect_after`)"],
    ),
    (
        "kind = \"instance_crash\"",
        "kind = \"error_injection\"\nstatus = 200",
        &["t.toml:28:10: fault[0].status: status must be an HTTP error status (400-599), got 200"],
    ),
    (
        "kind = \"instance_crash\"",
        "kind = \"latency_injection\"",
        &["t.toml:25:1: fault[0]: fault kind \"latency_injection\" needs `delay`"],
    ),
    (
        "concurrency = 4",
        "  concurrency = 0",
        &["t.toml:17:17: endpoint[0].variant[0].concurrency: concurrency must be between 1 and 100000, got 0"],
    ),
    ("error_rate = 0.001", "error_rate = 1.5", &["t.toml:32:14: slo.error_rate: error_rate is a fraction between 0 and 1, got 1.5"]),
    (
        "error_rate = 0.001",
        "error_rate = 0.001\nabort_on_burn = 0",
        &["t.toml:33:17: slo.abort_on_burn: abort_on_burn is a burn rate above zero (14.4 pages on a fast burn), got 0"],
    ),
    ("seed = 3", "seed = \"three\"", &["t.toml:4:8: scenario.seed: invalid type: string \"three\", expected u64"]),
    (
        "name = \"t\"",
        "name = \"my scenario\"",
        &["t.toml:2:8: scenario.name: name \"my scenario\" must be non-empty and use only letters, digits, '.', '_' and '-' (it names the output folder)"],
    ),
    (
        "timeout = \"2s\"",
        "timeout = \"2s\"\ntarget_variant = \"B\"",
        &["t.toml:24:18: workload[0].target_variant: unknown variant \"B\"; did you mean \"A\"?"],
    ),
    (
        "[[model]]",
        "[[modle]]",
        &["t.toml:6:3: modle: unknown field `modle`, expected one of `scenario`, `target`, `instance_type`, `model`, `endpoint`, `workload`, `fault`, `training_job`, `feature_group`, `feature_store`, `spot_market`, `slo`, `baseline`, `sweep`; did you mean \"model\"?"],
    ),
    (
        "seed = 3",
        "seed = 3\n[target]\nkind = \"http\"",
        &["t.toml:6:8: target.kind: target \"http\" needs clock = \"wall\": a virtual-clock run only drives the embedded platform"],
    ),
    (
        "latency = { p50 = \"12ms\", p99 = \"45ms\" }",
        "command = [\"python3\", \"serve.py\"]",
        &["t.toml:6:1: model[0].latency: a virtual-clock run models the model's service time: add `latency` (the command runs on the wall clock)"],
    ),
    (
        "latency = { p50 = \"12ms\", p99 = \"45ms\" }",
        "latency = { p50 = \"12ms\", p99 = \"45ms\" }\ncommand = []",
        &["t.toml:9:11: model[0].command: command is empty; give the program and its arguments, like [\"python3\", \"serve.py\"]"],
    ),
    (
        "latency = { p50 = \"12ms\", p99 = \"45ms\" }",
        "latency = { p50 = \"12ms\", p99 = \"45ms\" }\ncommand = [\"serve\"]\nbuiltin = \"logistic_regression\"\nweights = \"models/fraud-logreg.json\"",
        &["t.toml:9:11: model[0].command: give `command` (your model server) or `builtin`, not both"],
    ),
    (
        "[[workload]]",
        "[[endpoint]]\nname = \"ep\"\n[[workload]]",
        &[
            "t.toml:21:8: endpoint[1].name: duplicate endpoint name \"ep\"",
            "t.toml:20:1: endpoint[1]: endpoint \"ep\" has no [[endpoint.variant]]",
        ],
    ),
];

#[test]
fn every_error_class_names_file_line_col_field_and_fix() {
    let mut failures = Vec::new();
    for (old, new, expected) in CASES {
        let got = check(&with(old, new));
        if got != *expected {
            failures.push(format!(
                "replacing {old:?} with {new:?}\n  expected {expected:#?}\n  got      {got:#?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn all_problems_are_reported_at_once() {
    let src = with(
        "instance_type = \"ml.m5.xlarge\"",
        "  instance_type = \"ml.m5.xlarg\"",
    )
    .replace("endpoint = \"ep\"\narrival", "endpoint = \"nope\"\narrival")
    .replace("error_rate = 0.001", "error_rate = 2.0");
    let got = check(&src);
    assert_eq!(got.len(), 3, "{got:#?}");
}

#[test]
fn a_missing_section_is_named() {
    let got = check("[[model]]\nname = \"m\"\nlatency = { p50 = \"1ms\", p99 = \"2ms\" }\n");
    assert_eq!(got, vec!["t.toml:1:1: scenario: missing field `scenario`"]);
}

#[test]
fn a_missing_nested_field_is_named() {
    let got = check(&with("model = \"m\"", ""));
    assert_eq!(
        got,
        vec!["t.toml:12:3: endpoint[0].variant[0]: missing `model`: the [[model]] this variant serves (or make the endpoint mode = \"multi_model\" and give [endpoint.variant.models])"]
    );
}

#[test]
fn an_unreadable_file_is_a_read_error() {
    let err = gameday_scenario::load(Path::new("does/not/exist.toml")).unwrap_err();
    assert!(matches!(err, ScenarioError::Read { .. }));
    assert!(
        err.to_string()
            .starts_with("does/not/exist.toml: cannot read scenario:"),
        "{err}"
    );
}

#[test]
fn every_shipped_scenario_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "toml") {
            gameday_scenario::load(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(
                text.starts_with('#'),
                "{} must open with a comment block saying what it shows",
                p.display()
            );
            n += 1;
        }
    }
    assert!(
        n >= 4,
        "expected quickstart plus at least three more scenarios, found {n}"
    );
}

#[test]
fn every_unknown_field_and_bad_value_of_a_file_is_listed_in_one_run() {
    // Three typos in three sections: all three in one run, in file order.
    let src = with_in(
        &with_in(
            &with("concurrency = 4", "concurency = 4"),
            "timeout = \"2s\"",
            "timout = \"2s\"",
        ),
        "error_rate = 0.001",
        "eror_rate = 0.001",
    );
    let got = check(&src);
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(
        got[0].starts_with(
            "t.toml:17:1: endpoint[0].variant[0].concurency: unknown field `concurency`"
        ),
        "{}",
        got[0]
    );
    assert!(
        got[0].contains("did you mean \"concurrency\"?"),
        "{}",
        got[0]
    );
    assert!(
        got[1].starts_with("t.toml:23:1: workload[0].timout: unknown field `timout`"),
        "{}",
        got[1]
    );
    assert!(
        got[2].contains("slo.eror_rate: unknown field `eror_rate`"),
        "{}",
        got[2]
    );

    // Semantic problems are listed all together too.
    let src = with_in(
        &with("instance_count = 2", "instance_count = 0"),
        "error_rate = 0.001",
        "error_rate = 7",
    );
    let got = check(&src);
    assert_eq!(got.len(), 2, "{got:#?}");

    // Bad values in two sections are both listed too (the semantic pass
    // is skipped then: the file is not what the user meant).
    let src = with_in(
        &with("instance_count = 2", "instance_count = \"two\""),
        "arrival = { kind = \"poisson\", rate = 150 }",
        "arrival = { kind = \"poison\", rate = 150 }",
    );
    let got = check(&src);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(
        got[0].contains("endpoint[0].variant[0].instance_count"),
        "{}",
        got[0]
    );
    assert!(got[1].contains("unknown variant `poison`"), "{}", got[1]);
    assert!(got[1].contains("did you mean \"poisson\"?"), "{}", got[1]);
}

#[test]
fn a_huge_value_is_checked_fast_and_quoted_short() {
    let long = "x".repeat(10 * 1024 * 1024);
    let src = with(
        "instance_type = \"ml.m5.xlarge\"",
        &format!("instance_type = \"{long}\""),
    );
    let got = check(&src);
    assert_eq!(got.len(), 1, "{}", got.join("\n").len());
    assert!(got[0].len() < 400, "{}", &got[0][..400.min(got[0].len())]);
    assert!(got[0].contains("(10485760 characters)"), "{}", got[0]);
}

#[test]
fn work_that_cannot_fit_is_refused_before_running() {
    for rate in ["1e7", "1e308"] {
        let src = with(
            "arrival = { kind = \"poisson\", rate = 150 }",
            &format!("arrival = {{ kind = \"poisson\", rate = {rate} }}"),
        );
        let got = check(&src);
        assert_eq!(got.len(), 1, "{rate}: {got:#?}");
        assert!(
            got[0].starts_with("t.toml:22:11: workload[0].arrival:"),
            "{}",
            got[0]
        );
        assert!(
            got[0].contains("more than the 1e7 that fit in memory")
                || got[0].contains("gameday runs at most 2e10"),
            "{}",
            got[0]
        );
    }
    let src = with(
        "duration = \"10m\"",
        "duration = \"3d\"\ntimeline_interval = \"1ms\"",
    );
    let got = check(&src);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0].contains("scenario.timeline_interval: the timeline would have about 2.6e8 rows"),
        "{}",
        got[0]
    );
}

#[test]
fn time_scale_and_baseline_tolerances_are_range_checked() {
    let got = check(&with("seed = 3", "seed = 3\ntime_scale = 1e-308"));
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0].starts_with(
            "t.toml:5:14: scenario.time_scale: time_scale must be between 0.001 and 1000000, got "
        ),
        "{}",
        got[0]
    );
    let got = check(&format!("{BASE}\n[baseline]\nlatency_p99_pct = -5\n"));
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0].contains("baseline.latency_p99_pct: latency_p99_pct must be zero or more, got -5"),
        "{}",
        got[0]
    );
}

/// BASE with a second variant `S` after `A`, its last lines `extra`.
fn with_shadow(extra: &str) -> String {
    with(
        "weight = 1.0",
        &format!(
            "weight = 1.0\n  [[endpoint.variant]]\n  name = \"S\"\n  model = \"m\"\n  instance_type = \"ml.m5.xlarge\"\n{extra}"
        ),
    )
}

#[test]
fn shadow_variants_name_a_production_variant_and_a_sampling_share() {
    assert_eq!(
        check(&with_shadow("  shadow = { of = \"A\", sampling = 30 }")),
        Vec::<String>::new()
    );
    let cases: &[(&str, &[&str])] = &[
        ("  shadow = { of = \"a\" }", &["t.toml:23:19: endpoint[0].variant[1].shadow.of: unknown variant \"a\" (expected one of: A)"]),
        ("  shadow = { of = \"S\" }", &["t.toml:23:19: endpoint[0].variant[1].shadow.of: variant \"S\" cannot shadow itself: name the production variant whose requests it copies"]),
        ("  shadow = { of = \"A\", sampling = 0 }", &["t.toml:23:35: endpoint[0].variant[1].shadow.sampling: sampling is the percentage of \"A\"'s requests copied, more than 0 and at most 100, got 0"]),
        ("  shadow = { of = \"A\", sampling = 150 }", &["t.toml:23:35: endpoint[0].variant[1].shadow.sampling: sampling is the percentage of \"A\"'s requests copied, more than 0 and at most 100, got 150"]),
        ("  weight = 0.5\n  shadow = { of = \"A\" }", &["t.toml:23:12: endpoint[0].variant[1].weight: a shadow variant takes no weight: it gets `sampling` percent of its production variant's requests as copies; drop weight"]),
        ("  shadow = { of = \"A\", sample = 30 }", &["t.toml:23:24: endpoint[0].variant[1].shadow.sample: unknown field `sample`, expected `of` or `sampling`"]),
        ("  shadow = { of = \"A\" }\n  [[endpoint.variant]]\n  name = \"T\"\n  model = \"m\"\n  instance_type = \"ml.m5.xlarge\"\n  shadow = { of = \"S\" }", &["t.toml:28:19: endpoint[0].variant[2].shadow.of: variant \"S\" is a shadow itself: a shadow copies a production variant's requests"]),
    ];
    let mut failures = Vec::new();
    for (extra, want) in cases {
        let got = check(&with_shadow(extra));
        if got != *want {
            failures.push(format!(
                "{extra:?}\n  expected {want:#?}\n  got      {got:#?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // Nobody can target a shadow, and the wall clock does not copy yet.
    let shadowed = with_shadow("  shadow = { of = \"A\" }");
    assert_eq!(
        check(&with_in(&shadowed, "timeout = \"2s\"", "timeout = \"2s\"\ntarget_variant = \"S\"")),
        ["t.toml:29:18: workload[0].target_variant: variant \"S\" is a shadow: it answers nobody, so no client can target it; target its production variant"]
    );
    assert_eq!(
        check(&with_in(&shadowed, "seed = 3", "seed = 3\nclock = \"wall\"")),
        ["t.toml:24:12: endpoint[0].variant[1].shadow: shadow variants run on the virtual clock for now: use clock = \"virtual\" (the wall clock's server does not copy requests yet)"]
    );
}
