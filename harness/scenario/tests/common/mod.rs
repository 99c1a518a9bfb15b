//! Helpers shared by the validation tests.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::Path;

use gameday_scenario::{parse, ScenarioError};

/// Every diagnostic for `src` (as `t.toml`, files relative to fixtures/),
/// one string each; empty when the scenario is valid.
pub fn check(src: &str) -> Vec<String> {
    match parse("t.toml", src, Path::new("../../fixtures")) {
        Ok(_) => vec![],
        Err(ScenarioError::Invalid(d)) => d.iter().map(|d| d.to_string()).collect(),
        Err(e) => vec![e.to_string()],
    }
}

/// `base` with its first line equal (trimmed) to `old` replaced by `new`.
pub fn with_in(base: &str, old: &str, new: &str) -> String {
    let mut done = false;
    let out: Vec<String> = base
        .lines()
        .map(|l| {
            if !done && l.trim() == old {
                done = true;
                new.to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(done, "no line {old:?} in the base scenario");
    out.join("\n") + "\n"
}
