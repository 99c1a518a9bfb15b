//! `gameday compare A.json B.json`: the two side by side with the
//! baseline tolerances; exit 1 on a regression, 2 on input that is not a
//! report.

mod common;
use common::*;

#[test]
fn compare_shows_both_side_by_side_and_exits_1_on_a_regression() {
    let tmp = tempfile::tempdir().unwrap();
    let (o, mut r) = run(&["scenarios/quickstart.toml"], &tmp.path().join("a"));
    assert_eq!(o.status.code(), Some(0));
    let a = tmp.path().join("a/report.json");
    let same = gameday(&["compare", a.to_str().unwrap(), a.to_str().unwrap()]);
    assert_eq!(same.status.code(), Some(0), "{}", text(&same.stderr));
    assert!(text(&same.stdout).contains("no regression"));

    // p99 20% worse than the baseline's: past the default 10%.
    let p99 = r["endpoints"][0]["latency_ms"]["p99"].as_f64().unwrap();
    r["endpoints"][0]["latency_ms"]["p99"] = serde_json::json!(p99 * 1.2);
    let b = tmp.path().join("b.json");
    std::fs::write(&b, serde_json::to_string(&r).unwrap()).unwrap();
    let worse = gameday(&["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(worse.status.code(), Some(1), "{}", text(&worse.stderr));
    let out = text(&worse.stdout);
    let row = out.lines().find(|l| l.contains("latency_p99_ms")).unwrap();
    assert!(
        row.ends_with("REGRESSED") && row.contains("+20.0%"),
        "{out}"
    );
    assert!(out.contains("1 regression(s):"), "{out}");
    // A looser tolerance lets it through.
    let loose = gameday(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--max-p99-increase-pct",
        "25",
    ]);
    assert_eq!(loose.status.code(), Some(0), "{}", text(&loose.stdout));

    // Not a report: exit 2 with the file named.
    let junk = tmp.path().join("junk.json");
    std::fs::write(&junk, "{\"x\": 1}").unwrap();
    let bad = gameday(&["compare", a.to_str().unwrap(), junk.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("junk.json: not a gameday report.json"),
        "{}",
        text(&bad.stderr)
    );
    let missing = gameday(&["compare", "no/such.json", a.to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
}
