//! One fault vocabulary: a scenario's `[[fault]]` and the live control
//! API's `POST /_gameday/faults` reject the same bad fault with the same
//! message, for every endpoint fault kind.

use std::path::Path;

use gameday_core::fault_kinds::FAULT_KINDS;
use gameday_live::{ServeOptions, Server};
use gameday_scenario::ScenarioError;

mod common;

/// `(kind, the fault's other fields as TOML, the same as JSON, the message)`.
const CASES: &[(&str, &str, &str, &str)] = &[
    (
        "instance_crash",
        "count = 0",
        r#""count": 0"#,
        "count must be at least 1, got 0",
    ),
    (
        "instance_crash",
        "rate = 0.5",
        r#""rate": 0.5"#,
        "`rate` does not apply to fault kind \"instance_crash\" (it takes `count`, `detect_after`)",
    ),
    (
        "latency_injection",
        "",
        "",
        "fault kind \"latency_injection\" needs `delay`",
    ),
    (
        "latency_injection",
        "delay = \"50ms\"\ncount = 2",
        r#""delay": "50ms", "count": 2"#,
        "`count` does not apply to fault kind \"latency_injection\" (it takes `for`, `delay`)",
    ),
    (
        "error_injection",
        "rate = 2.0",
        r#""rate": 2.0"#,
        "rate must be between 0 and 1, got 2",
    ),
    (
        "error_injection",
        "status = 200",
        r#""status": 200"#,
        "status must be an HTTP error status (400-599), got 200",
    ),
    (
        "model_download_slow",
        "",
        "",
        "fault kind \"model_download_slow\" needs `factor`",
    ),
    (
        "model_download_slow",
        "factor = 0.5",
        r#""factor": 0.5"#,
        "factor must be at least 1 (how many times slower), got 0.5",
    ),
    (
        "model_load_failure",
        "rate = 1.5",
        r#""rate": 1.5"#,
        "rate must be between 0 and 1, got 1.5",
    ),
    (
        "blackhole",
        "delay = \"1s\"",
        r#""delay": "1s""#,
        "`delay` does not apply to fault kind \"blackhole\" (it takes `for`)",
    ),
];

fn scenario(kind: &str, fields: &str) -> String {
    format!(
        r#"
[scenario]
name = "vocabulary"
duration = "1m"

[[endpoint]]
name = "ep"
mode = "multi_model"
  [[endpoint.variant]]
  name = "A"
  instance_type = "ml.m5.xlarge"
    [endpoint.variant.models]
    count = 10
    size = "100MB"
    latency = {{ p50 = "5ms", p99 = "20ms" }}

[[workload]]
endpoint = "ep"
arrival = {{ kind = "poisson", rate = 10 }}

[[fault]]
at = "10s"
kind = "{kind}"
endpoint = "ep"
{fields}
"#
    )
}

fn scenario_messages(kind: &str, fields: &str) -> Vec<String> {
    match gameday_scenario::parse("v.toml", &scenario(kind, fields), Path::new(".")) {
        Ok(_) => Vec::new(),
        Err(ScenarioError::Invalid(diags)) => diags.into_iter().map(|d| d.message).collect(),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn every_kind_is_refused_in_the_same_words_by_both() {
    for k in FAULT_KINDS {
        assert!(
            CASES.iter().any(|c| c.0 == k.name),
            "fault kind {} has no case here",
            k.name
        );
        // A valid fault of the kind passes both.
        let good = match k.name {
            "latency_injection" => "delay = \"50ms\"",
            "model_download_slow" => "factor = 2",
            _ => "",
        };
        assert_eq!(scenario_messages(k.name, good), Vec::<String>::new());
    }
    let sc = gameday_scenario::parse("v.toml", &scenario("blackhole", ""), Path::new(".")).unwrap();
    // The server runs on the runtime's workers; the test posts from here.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut o = ServeOptions::local(1);
    o.control_token = Some("t".into());
    let server = rt.block_on(Server::start(&sc.platform, o)).unwrap();
    let addr = server.url().trim_start_matches("http://").to_string();
    for &(kind, toml, json, message) in CASES {
        let from_scenario = scenario_messages(kind, toml);
        assert_eq!(from_scenario, [message], "scenario, {kind} {toml}");
        let sep = if json.is_empty() { "" } else { ", " };
        let body = format!(r#"{{"kind": "{kind}", "endpoint": "ep"{sep}{json}}}"#);
        let (status, _, answer) = common::post(
            &addr,
            "/_gameday/faults",
            "application/json",
            "t",
            body.as_bytes(),
        );
        assert_eq!(status, 400, "{body}: {answer}");
        let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["Message"], message, "control API, {body}");
    }
    rt.block_on(server.shutdown(std::time::Duration::from_millis(100)));
}
