//! `gameday schema scenario|report`: the schemas are derived from the
//! types, checked in under `schemas/` and kept current here; every shipped
//! scenario validates against the scenario schema, and reports of both
//! clocks (complete, and stopped by `abort_on_burn`) against the report
//! schema. Every virtual scenario's report is checked in `reports.rs`.
//!
//! `GAMEDAY_UPDATE_SCHEMAS=1 cargo test --release -p gameday-cli --test
//! schemas` rewrites the files after a change to the types.

mod common;
use common::*;

#[test]
fn checked_in_schemas_are_what_gameday_prints() {
    for which in ["scenario", "report"] {
        let o = gameday(&["schema", which]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let printed = text(&o.stdout);
        let file = root().join(format!("schemas/{which}.schema.json"));
        if std::env::var_os("GAMEDAY_UPDATE_SCHEMAS").is_some() {
            std::fs::write(&file, &printed).unwrap();
            continue;
        }
        let checked_in = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            printed == checked_in,
            "schemas/{which}.schema.json is out of date: run GAMEDAY_UPDATE_SCHEMAS=1 cargo test --release -p gameday-cli --test schemas"
        );
        let v: serde_json::Value = serde_json::from_str(&printed).unwrap();
        assert!(
            jsonschema::validator_for(&v).is_ok(),
            "{which}: not a valid schema"
        );
    }
}

/// A scenario file as the JSON a TOML-aware editor checks.
fn as_json(src: &str) -> serde_json::Value {
    toml::from_str(src).unwrap()
}

#[test]
fn every_shipped_scenario_validates_against_the_scenario_schema() {
    let schema = schema("scenario.schema.json");
    let mut n = 0;
    for e in std::fs::read_dir(root().join("scenarios")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let errors = schema_errors(&schema, &as_json(&std::fs::read_to_string(&p).unwrap()));
        assert!(errors.is_empty(), "{}:\n{}", p.display(), errors.join("\n"));
        n += 1;
    }
    assert!(n >= 19, "{n} scenarios");
}

#[test]
fn the_scenario_schema_catches_what_an_editor_should_flag() {
    let schema = schema("scenario.schema.json");
    let good = std::fs::read_to_string(root().join("scenarios/quickstart.toml")).unwrap();
    assert!(schema_errors(&schema, &as_json(&good)).is_empty());
    for (from, to, flagged) in [
        // A misspelt field.
        ("error_rate = 0.005", "eror_rate = 0.005", "/slo"),
        // A duration without a unit.
        (
            "duration = \"10m\"",
            "duration = \"10\"",
            "/scenario/duration",
        ),
        // A kind that does not exist.
        (
            "kind = \"instance_crash\"",
            "kind = \"instance_crush\"",
            "/fault/0/kind",
        ),
        // A number where a duration string goes.
        ("timeout = \"2s\"", "timeout = 2", "/workload/0/timeout"),
    ] {
        assert!(good.contains(from), "{from}");
        let errors = schema_errors(&schema, &as_json(&good.replacen(from, to, 1)));
        assert!(
            errors.iter().any(|e| e.starts_with(&format!("{flagged}:"))),
            "{to}: {errors:?}"
        );
    }
}

#[test]
fn wall_and_aborted_reports_validate_against_the_report_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let schema = schema("report.schema.json");
    // A short wall run: the load generator's section is there.
    let sc = short_quickstart(tmp.path(), "wall.toml", "2s", "");
    let (o, r) = run(
        &[sc.to_str().unwrap(), "--clock", "wall"],
        &tmp.path().join("wall"),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(r["load_generator"].is_object());
    let errors = schema_errors(&schema, &r);
    assert!(errors.is_empty(), "wall: {}", errors.join("\n"));
    // Stopped by abort_on_burn: incomplete, with its reason.
    let src = std::fs::read_to_string(root().join("scenarios/burn-rate-alerts.toml"))
        .unwrap()
        .replace(
            "availability = 0.99\n",
            "availability = 0.99\nabort_on_burn = 14.4\n",
        );
    let p = tmp.path().join("abort.toml");
    std::fs::write(&p, src).unwrap();
    let (o, r) = run(&[p.to_str().unwrap()], &tmp.path().join("abort"));
    assert_eq!(o.status.code(), Some(1));
    assert!(r["incomplete_reason"].is_string());
    let errors = schema_errors(&schema, &r);
    assert!(errors.is_empty(), "aborted: {}", errors.join("\n"));
    // And the schema is not vacuous: a report with a field of the wrong
    // type fails it.
    let mut bad = r.clone();
    bad["endpoints"][0]["requests"] = serde_json::json!("many");
    assert!(!schema_errors(&schema, &bad).is_empty());
}
