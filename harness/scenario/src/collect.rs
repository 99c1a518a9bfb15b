//! Every serde-level problem of a file in one run. serde stops at its
//! first error; so the file is parsed once into a spanned TOML tree, and
//! deserialised from it repeatedly: after each error the entry it points
//! at is taken out and the tree deserialised again, until it goes through
//! (or nothing more can be taken out). Syntax errors still stop at the
//! first: past one, positions mean little.
//!
//! Taking an entry out can leave its table without a required field; the
//! "missing field" that follows is the taking's doing, not the user's, so
//! it is not reported and the table itself is taken out instead.

use std::ops::Range;

use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::diag::{Diagnostic, Locator};
use crate::raw::RawScenario;

/// Most errors collected from one file.
const MAX_ERRORS: usize = 50;

/// Takes out the entry whose key or value spans exactly `span` (or, for a
/// table's own span, the whole table) anywhere in `t`; answers the key (or
/// `[i]` for an array item) taken out, `None` when nothing is there.
fn take(t: &mut DeTable<'_>, span: &Range<usize>) -> Option<String> {
    let hit = t
        .iter()
        .find(|(k, v)| k.span() == *span || v.span() == *span)
        .map(|(k, _)| k.get_ref().to_string());
    if let Some(name) = hit {
        t.remove(name.as_str());
        return Some(name);
    }
    // Spans of tables and arrays of tables need not cover their entries
    // (a `[[section]]` spans its header), so every value is looked into.
    t.iter_mut().find_map(|(_, v)| take_in(v, span))
}

fn take_in(v: &mut Spanned<DeValue<'_>>, span: &Range<usize>) -> Option<String> {
    match v.get_mut() {
        DeValue::Table(t) => take(t, span),
        DeValue::Array(items) => {
            // An array of tables: a table whose own span is the error's
            // (a missing field) goes whole.
            if let Some(i) = items.iter().position(|x| x.span() == *span) {
                let mut rest = toml::de::DeArray::new();
                for (j, x) in items.iter().enumerate() {
                    if j != i {
                        rest.push(x.clone());
                    }
                }
                *items = rest;
                return Some(format!("[{i}]"));
            }
            items.iter_mut().find_map(|x| take_in(x, span))
        }
        _ => None,
    }
}

/// Deserialises `src` reporting every problem serde finds. `Ok` carries
/// the file as written, less what was taken out, and the problems found
/// (none: the file is whole); `Err` every problem, when nothing more could
/// be taken out.
pub fn raw_scenario(
    loc: &Locator<'_>,
    src: &str,
) -> Result<(RawScenario, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut root = DeTable::parse(src).map_err(|e| vec![crate::toml_error(loc, &e)])?;
    let mut diags: Vec<Diagnostic> = Vec::new();
    let mut taken_keys: Vec<String> = Vec::new();
    loop {
        let de = toml::de::Deserializer::from(root.clone());
        let err = match RawScenario::deserialize(de) {
            Ok(raw) => return Ok((raw, diags)),
            Err(e) => e,
        };
        let Some(span) = err.span() else {
            diags.push(crate::toml_error(loc, &err));
            return Err(diags);
        };
        let message = err.message();
        let caused_by_us = message
            .strip_prefix("missing field `")
            .and_then(|r| r.split_once('`'))
            .is_some_and(|(name, _)| taken_keys.iter().any(|k| k == name));
        if !caused_by_us {
            let d = crate::toml_error(loc, &err);
            if diags.contains(&d) {
                return Err(diags); // nothing more can be taken out
            }
            diags.push(d);
        }
        if diags.len() >= MAX_ERRORS {
            return Err(diags);
        }
        // A bad entry's span is its key or value; a missing field's is the
        // table that misses it, which then goes whole.
        match take(root.get_mut(), &span) {
            Some(k) => taken_keys.push(k),
            None => return Err(diags),
        }
    }
}
