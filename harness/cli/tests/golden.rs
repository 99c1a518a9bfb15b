//! Golden files for the reports people read: `summary.md` and
//! `postmortem.md` of two shipped scenarios, compared line by line (a
//! mismatch prints the differing lines). `GAMEDAY_UPDATE_GOLDEN=1 cargo
//! test -p gameday-cli --test golden` rewrites them after a change meant
//! to show. Also the compact step summary a CI job appends.

mod common;
use common::*;

use std::path::Path;

/// A readable diff: each line that differs, with its number.
fn diff(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let mut out = String::new();
    for i in 0..w.len().max(g.len()) {
        let (a, b) = (w.get(i).copied(), g.get(i).copied());
        if a != b {
            out.push_str(&format!(
                "line {}:\n  - {}\n  + {}\n",
                i + 1,
                a.unwrap_or("(none)"),
                b.unwrap_or("(none)")
            ));
        }
    }
    out
}

fn check(scenario: &str, file: &str, out: &Path) {
    let got = std::fs::read_to_string(out.join(file)).unwrap();
    let golden = root().join(format!("harness/cli/tests/golden/{scenario}.{file}"));
    if std::env::var_os("GAMEDAY_UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&golden).unwrap_or_default();
    assert!(
        want == got,
        "{scenario} {file} differs from {} (GAMEDAY_UPDATE_GOLDEN=1 rewrites it):\n{}",
        golden.display(),
        diff(&want, &got)
    );
}

#[test]
fn summaries_and_postmortems_match_their_golden_files() {
    let tmp = tempfile::tempdir().unwrap();
    for scenario in ["quickstart", "flash-sale-brownout"] {
        let out = tmp.path().join(scenario);
        run(&[&format!("scenarios/{scenario}.toml")], &out);
        check(scenario, "summary.md", &out);
        check(scenario, "postmortem.md", &out);
    }
}

#[test]
fn a_ci_job_gets_a_compact_step_summary_appended() {
    let tmp = tempfile::tempdir().unwrap();
    let summary = tmp.path().join("step-summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let out = tmp.path().join("a");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["run", "scenarios/flash-sale-brownout.toml", "-q", "--out"])
        .arg(&out)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    // --summary-md wins over the environment.
    let other = tmp.path().join("other.md");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["run", "scenarios/quickstart.toml", "-q", "--out"])
        .arg(tmp.path().join("b"))
        .arg("--summary-md")
        .arg(&other)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("earlier step\n### gameday flash-sale-brownout: FAIL"),
        "{text}"
    );
    assert!(
        text.contains("| ❌ | latency_p99 | ranking | <= 300 ms | 800.255 |"),
        "{text}"
    );
    assert!(!text.contains("quickstart"), "{text}");
    let other = std::fs::read_to_string(&other).unwrap();
    assert!(other.starts_with("### gameday quickstart: PASS"), "{other}");
}

/// The progress bar is for people at a terminal: piped or captured, a
/// long run prints none.
#[test]
fn no_progress_bar_when_stderr_is_not_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let o = gameday(&[
        "run",
        "scenarios/autoscaling-diurnal.toml",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(!err.contains("simulated s"), "{err}");
}
