//! Autoscaling sections: every error class with its message, line and
//! column, and what a valid section builds.

mod common;
use common::{check, with_in};

use std::path::Path;

use gameday_core::autoscaling::{Adjustment, Comparison, Metric, Statistic};

/// A valid scenario with every kind of policy; each case replaces one
/// line of it.
const BASE: &str = r#"[scenario]
name = "t"
duration = "3h"

[[model]]
name = "m"
load_time = "30s"
latency = { p50 = "12ms", p99 = "45ms" }

[[endpoint]]
name = "ep"
  [[endpoint.variant]]
  name = "A"
  model = "m"
  instance_type = "ml.m5.xlarge"
  instance_count = 2
    [endpoint.variant.autoscaling]
    min = 2
    max = 20
      [[endpoint.variant.autoscaling.target_tracking]]
      metric = "InvocationsPerInstance"
      target = 1000
      scale_out_cooldown = "60s"
      scale_in_cooldown = "600s"
      alarm_low = { datapoints = 10, of = 15, below = 0.8 }
      [[endpoint.variant.autoscaling.step]]
      metric = "CPUUtilization"
      statistic = "Average"
      period = "1m"
      datapoints = 2
      of = 3
      comparison = ">="
      threshold = 80
      adjustment = "ChangeInCapacity"
      steps = [ { lower = 0, upper = 20, change = 1 }, { lower = 20, change = 3 } ]
      cooldown = "300s"
      [[endpoint.variant.autoscaling.scheduled]]
      at = "2h"
      min = 4
      max = 30

[[workload]]
endpoint = "ep"
arrival = { kind = "poisson", rate = 150 }
"#;

fn with(old: &str, new: &str) -> String {
    with_in(BASE, old, new)
}

#[test]
fn a_full_autoscaling_section_builds_its_policies() {
    assert_eq!(check(BASE), Vec::<String>::new());
    let sc = gameday_scenario::parse("t.toml", BASE, Path::new("../../fixtures")).unwrap();
    let v = &sc.platform.endpoints[0].variants[0];
    assert_eq!(v.model_load, std::time::Duration::from_secs(30));
    let a = v.autoscaling.as_ref().unwrap();
    assert_eq!((a.min, a.max), (2, 20));
    let tt = &a.target_tracking[0];
    assert_eq!(tt.metric, Metric::InvocationsPerInstance);
    assert_eq!(tt.scale_in_cooldown.as_secs(), 600);
    assert_eq!((tt.alarm_high.datapoints, tt.alarm_high.of), (3, 3));
    assert_eq!((tt.alarm_low.datapoints, tt.alarm_low.of), (10, 15));
    assert_eq!(tt.low_fraction, 0.8);
    assert_eq!((tt.max_scale_in_step, tt.max_scale_out_step), (None, None));
    let capped = with(
        "scale_in_cooldown = \"600s\"",
        "scale_in_cooldown = \"600s\"\nmax_scale_in_step = 1",
    );
    let sc = gameday_scenario::parse("t.toml", &capped, Path::new("../../fixtures")).unwrap();
    let capped = &sc.platform.endpoints[0].variants[0]
        .autoscaling
        .as_ref()
        .unwrap()
        .target_tracking[0];
    assert_eq!(capped.max_scale_in_step, Some(1));
    let st = &a.step[0];
    assert_eq!(st.alarm.metric, Metric::CpuUtilization);
    assert_eq!(st.alarm.statistic, Statistic::Average);
    assert_eq!(st.alarm.comparison, Comparison::GreaterOrEqual);
    assert_eq!(st.adjustment, Adjustment::ChangeInCapacity);
    assert_eq!(st.steps.len(), 2);
    assert_eq!(a.scheduled[0].min, Some(4));
}

/// `(line to replace, replacement, every diagnostic expected)`.
const CASES: &[(&str, &str, &[&str])] = &[
    (
        "scale_out_cooldown = \"60s\"",
        "max_scale_out_step = 0",
        &["t.toml:23:22: endpoint[0].variant[0].autoscaling.target_tracking[0].max_scale_out_step: max_scale_out_step must be between 1 and 10000, got 0"],
    ),
    (
        "min = 2",
        "min = 25",
        &["t.toml:18:7: endpoint[0].variant[0].autoscaling.min: min (25) is greater than max (20): raise max or lower min"],
    ),
    (
        "instance_count = 2",
        "instance_count = 1",
        &["t.toml:16:18: endpoint[0].variant[0].instance_count: the variant's instance_count (1) is outside [min, max] = [2, 20]: set instance_count to a value between them"],
    ),
    (
        "target = 1000",
        "target = 0",
        &["t.toml:22:10: endpoint[0].variant[0].autoscaling.target_tracking[0].target: target must be a positive number, got 0"],
    ),
    (
        "target = 1000",
        "target = -5",
        &["t.toml:22:10: endpoint[0].variant[0].autoscaling.target_tracking[0].target: target must be a positive number, got -5"],
    ),
    (
        "metric = \"InvocationsPerInstance\"",
        "metric = \"InvocationPerInstance\"",
        &["t.toml:21:10: endpoint[0].variant[0].autoscaling.target_tracking[0].metric: unknown metric \"InvocationPerInstance\"; did you mean \"InvocationsPerInstance\"?"],
    ),
    (
        "metric = \"InvocationsPerInstance\"",
        "metric = \"ModelLatency\"",
        &["t.toml:21:10: endpoint[0].variant[0].autoscaling.target_tracking[0].metric: target tracking cannot track ModelLatency: use InvocationsPerInstance, CPUUtilization, GPUUtilization or ConcurrentRequestsPerModel, or a step policy"],
    ),
    (
        "metric = \"CPUUtilization\"",
        "metric = \"GPUUtilization\"",
        &["t.toml:27:10: endpoint[0].variant[0].autoscaling.step[0].metric: GPUUtilization needs a GPU instance type; \"ml.m5.xlarge\" has none: track CPUUtilization instead"],
    ),
    (
        "steps = [ { lower = 0, upper = 20, change = 1 }, { lower = 20, change = 3 } ]",
        "steps = [ { lower = 0, upper = 20, change = 1 }, { lower = 10, change = 3 } ]",
        &["t.toml:35:60: endpoint[0].variant[0].autoscaling.step[0].steps[1].lower: steps overlap: one ends at 20 but the next begins at 10; each lower bound must equal the previous step's upper bound"],
    ),
    (
        "steps = [ { lower = 0, upper = 20, change = 1 }, { lower = 20, change = 3 } ]",
        "steps = [ { lower = 0, upper = 20, change = 1 }, { lower = 30, change = 3 } ]",
        &["t.toml:35:60: endpoint[0].variant[0].autoscaling.step[0].steps[1].lower: steps leave a gap between 20 and 30: set this step's lower bound to 20"],
    ),
    (
        "steps = [ { lower = 0, upper = 20, change = 1 }, { lower = 20, change = 3 } ]",
        "steps = []",
        &["t.toml:35:9: endpoint[0].variant[0].autoscaling.step[0].steps: a step policy needs at least one step, like steps = [ { lower = 0, change = 1 } ]"],
    ),
    (
        "datapoints = 2",
        "datapoints = 4",
        &["t.toml:30:14: endpoint[0].variant[0].autoscaling.step[0].datapoints: datapoints (4) is more than of (3): an alarm needs M of N datapoints with M <= N"],
    ),
    (
        "alarm_low = { datapoints = 10, of = 15, below = 0.8 }",
        "alarm_low = { datapoints = 16, of = 15 }",
        &["t.toml:25:28: endpoint[0].variant[0].autoscaling.target_tracking[0].alarm_low.datapoints: datapoints (16) is more than of (15): an alarm needs M of N datapoints with M <= N"],
    ),
    (
        "scale_in_cooldown = \"600s\"",
        "scale_in_cooldown = \"-600s\"",
        &["t.toml:24:21: endpoint[0].variant[0].autoscaling.target_tracking[0].scale_in_cooldown: invalid duration \"-600s\": a duration cannot be negative (use \"0s\" for none)"],
    ),
    (
        "at = \"2h\"",
        "at = \"4h\"",
        &["t.toml:38:6: endpoint[0].variant[0].autoscaling.scheduled[0].at: the scheduled action is at 14400s, at or after the end of the run (10800s): move it inside the run or drop it"],
    ),
    (
        "statistic = \"Average\"",
        "statistic = \"Avg\"",
        &["t.toml:28:13: endpoint[0].variant[0].autoscaling.step[0].statistic: unknown statistic \"Avg\" (expected one of: Average, Maximum, Minimum, Sum, SampleCount)"],
    ),
    (
        "metric = \"CPUUtilization\"",
        "metric = \"InvocationsPerInstance\"",
        &["t.toml:28:19: endpoint[0].variant[0].autoscaling.step[0].statistic: InvocationsPerInstance has no Average statistic (SageMaker publishes Sum)"],
    ),
    (
        "period = \"1m\"",
        "period = \"45s\"",
        &["t.toml:29:10: endpoint[0].variant[0].autoscaling.step[0].period: period must be a multiple of 10s (gameday's metrics come in 10-second datapoints), got 45s"],
    ),
    (
        "comparison = \">=\"",
        "comparison = \"=>\"",
        &["t.toml:32:14: endpoint[0].variant[0].autoscaling.step[0].comparison: unknown comparison \"=>\": expected one of \">=\", \">\", \"<=\", \"<\""],
    ),
    (
        "adjustment = \"ChangeInCapacity\"",
        "adjustment = \"ChangeCapacity\"",
        &["t.toml:34:14: endpoint[0].variant[0].autoscaling.step[0].adjustment: unknown adjustment \"ChangeCapacity\"; did you mean \"ChangeInCapacity\"?"],
    ),
    (
        "max = 30",
        "max = 3",
        &["t.toml:39:13: endpoint[0].variant[0].autoscaling.scheduled[0].min: min (4) is greater than max (3)"],
    ),
    (
        "min = 2",
        "min = 0",
        &["t.toml:18:7: endpoint[0].variant[0].autoscaling.min: min must be between 1 and 10000, got 0 (a real-time variant keeps at least one instance)"],
    ),
    (
        "max = 20",
        "max = 20\n    maximum = 4",
        &["t.toml:20:5: endpoint[0].variant[0].autoscaling.maximum: unknown field `maximum`, expected one of `min`, `max`, `target_tracking`, `step`, `scheduled`"],
    ),
];

#[test]
fn each_bad_autoscaling_field_is_named_with_its_position() {
    for (old, new, want) in CASES {
        let got = check(&with(old, new));
        assert_eq!(&got, want, "replacing {old:?} with {new:?}");
    }
}
