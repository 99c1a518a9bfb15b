//! The reports people look at, for every shipped virtual-clock scenario:
//! `report.html` is one self-contained page (nothing fetched, no script)
//! whose SVG charts parse as XML, the chart files beside `summary.md`
//! are linked from it, and `junit.xml` has a test case per objective,
//! failing exactly where the report says an objective was missed, and
//! `report.json` validates against `schemas/report.schema.json`.

mod common;
use common::*;

use std::path::Path;

fn parse_xml(what: &str, text: &str) {
    if let Err(e) = roxmltree::Document::parse(text) {
        panic!("{what} is not well-formed XML: {e}");
    }
}

fn check_html(name: &str, html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"), "{name}");
    for banned in [
        "<script", "<link", "src=", "url(", "@import", "<iframe", "<img",
    ] {
        assert!(!html.contains(banned), "{name}: report.html has {banned}");
    }
    // The only URL is the SVG namespace, which nothing fetches.
    let urls = html.matches("http").count();
    let namespaces = html.matches("http://www.w3.org/2000/svg").count();
    assert_eq!(urls, namespaces, "{name}: report.html names a URL");
    let mut rest = html;
    let mut inline = 0;
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..].find("</svg>").expect("a closed svg") + start + 6;
        parse_xml(&format!("{name}: inline chart {inline}"), &rest[start..end]);
        inline += 1;
        rest = &rest[end..];
    }
    assert!(inline > 0, "{name}: no chart in report.html");
}

fn check_junit(name: &str, out: &Path, report: &serde_json::Value) {
    let text = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let slos = report["slos"].as_array().unwrap();
    let slo_cases = cases
        .iter()
        .filter(|c| c.attribute("classname") == Some("gameday.slo"))
        .count();
    assert_eq!(slo_cases, slos.len(), "{name}");
    let failed = cases
        .iter()
        .filter(|c| c.children().any(|k| k.has_tag_name("failure")))
        .count();
    let missed = slos.iter().filter(|s| s["met"] == false).count();
    assert_eq!(failed, missed, "{name}: {text}");
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(
        suite.attribute("failures"),
        Some(missed.to_string().as_str())
    );
}

/// The events chart's time axis reaches the last event (a training-only
/// run has no timeline and no duration: its events set the axis).
fn check_time_axis(name: &str, out: &Path) {
    let events = std::fs::read_to_string(out.join("events.csv")).unwrap();
    let last = events
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next()?.parse::<f64>().ok())
        .fold(0.0, f64::max);
    let Ok(svg) = std::fs::read_to_string(out.join("events.svg")) else {
        assert_eq!(last, 0.0, "{name}: events but no events.svg");
        return;
    };
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let max_tick = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text()?.trim().parse::<f64>().ok())
        .fold(0.0, f64::max);
    assert!(
        max_tick >= 0.75 * last,
        "{name}: axis to {max_tick}, last event at {last}"
    );
}

#[test]
fn every_virtual_scenario_writes_a_self_contained_page_and_junit() {
    let tmp = tempfile::tempdir().unwrap();
    let report_schema = schema("report.schema.json");
    let mut checked = 0;
    let mut files: Vec<_> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    for p in files {
        let src = std::fs::read_to_string(&p).unwrap();
        if src.contains("clock = \"wall\"") {
            continue; // the same writers; covered by the wall tests' runs
        }
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        let out = tmp.path().join(&name);
        let (o, report) = run(&[&format!("scenarios/{name}")], &out);
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{name}: {}",
            text(&o.stderr)
        );
        let html = std::fs::read_to_string(out.join("report.html")).unwrap();
        check_html(&name, &html);
        let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
        let mut svgs = 0;
        for e in std::fs::read_dir(&out).unwrap() {
            let f = e.unwrap().path();
            if f.extension().is_some_and(|x| x == "svg") {
                let file = f.file_name().unwrap().to_str().unwrap();
                parse_xml(
                    &format!("{name}: {file}"),
                    &std::fs::read_to_string(&f).unwrap(),
                );
                assert!(
                    summary.contains(&format!("]({file})")),
                    "{name}: {file} not linked"
                );
                svgs += 1;
            }
        }
        if !report["endpoints"].as_array().unwrap().is_empty() {
            assert!(svgs >= 4, "{name}: {svgs} charts");
        }
        check_junit(&name, &out, &report);
        check_time_axis(&name, &out);
        let broken = schema_errors(&report_schema, &report);
        assert!(
            broken.is_empty(),
            "{name}: report.json breaks schemas/report.schema.json:\n{}",
            broken.join("\n")
        );
        checked += 1;
    }
    assert!(checked >= 12, "{checked}");
}
