//! `[sweep]`: the grid `gameday sweep` runs. Each field must name a
//! place in this file (the first value is tried there); whether every
//! value makes a valid scenario is checked when the sweep builds its
//! configurations.

use super::Cx;
use crate::diag::path;
use crate::raw::RawSweep;
use crate::sweep::{SweepSpec, Vary};

/// Most runs (configurations × seeds) one sweep may ask for.
const MAX_RUNS: u64 = 100_000;

pub(super) fn build(cx: &mut Cx<'_>, s: Option<&RawSweep>) -> Option<SweepSpec> {
    let s = s?;
    let at = path("sweep");
    let seeds = s.seeds.unwrap_or(5);
    if !(1..=10_000).contains(&seeds) {
        cx.err(
            &at.key("seeds"),
            format!("seeds must be between 1 and 10000, got {seeds}"),
        );
    }
    let doc: Option<toml::Table> = cx.loc.src().parse().ok();
    let mut vary: Vec<Vary> = Vec::new();
    for (i, v) in s.vary.iter().enumerate() {
        let here = at.key("vary").index(i);
        if v.field.split('.').next() == Some("sweep") || v.field == "scenario.seed" {
            cx.err(
                &here.key("field"),
                format!("a sweep cannot vary `{}`: seeds come from `seeds`, and [sweep] is not part of a run", v.field),
            );
        } else if vary.iter().any(|w| w.field == v.field) {
            cx.err(
                &here.key("field"),
                format!(
                    "`{}` is varied twice: put all its values in one entry",
                    v.field
                ),
            );
        } else if let (Some(doc), Some(first)) = (&doc, v.values.first()) {
            if let Err(e) = crate::sweep::set(&mut doc.clone(), &v.field, first.clone()) {
                cx.err(&here.key("field"), e);
            }
        }
        if v.values.is_empty() {
            cx.err(
                &here.key("values"),
                "values is empty: list what the field takes, e.g. values = [1, 2, 4]",
            );
        }
        vary.push(Vary {
            field: v.field.clone(),
            values: v.values.clone(),
        });
    }
    let runs = vary
        .iter()
        .fold(seeds, |n, v| n.saturating_mul(v.values.len().max(1) as u64));
    if runs > MAX_RUNS {
        cx.err(
            &at,
            format!("the sweep asks for {runs} runs (configurations × seeds), more than {MAX_RUNS}: vary fewer values or use fewer seeds"),
        );
    }
    Some(SweepSpec { seeds, vary })
}
