//! The scenario reference (`docs/scenario.md`), generated from the same
//! source validation uses: the serde structs of [`crate::raw`] and their
//! doc comments. A test renders it and compares it with the file, so the
//! reference cannot drift from what `gameday validate` accepts.
//!
//! Conventions the doc comments follow, which this relies on: one doc
//! comment per struct, field and enum variant; a field's default is written
//! `(default X)` or `(default: X)`; enums use `rename_all = "snake_case"`.

use std::collections::BTreeMap;

/// The source the reference is generated from.
const RAW: &str = include_str!("raw.rs");

/// One field of a section.
#[derive(Debug)]
struct Field {
    name: String,
    ty: String,
    doc: String,
    has_default: bool,
}

/// A struct or an enum of `raw.rs`.
#[derive(Debug, Default)]
struct Item {
    doc: String,
    fields: Vec<Field>,
    /// For enums: `(spelling, doc)`.
    variants: Vec<(String, String)>,
    is_enum: bool,
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Reads every struct and enum of `raw.rs` with its docs.
fn items() -> BTreeMap<String, Item> {
    let mut out = BTreeMap::new();
    let mut doc: Vec<String> = Vec::new();
    let mut rename: Option<String> = None;
    let mut has_default = false;
    let mut current: Option<(String, Item)> = None;
    for line in RAW.lines() {
        let t = line.trim();
        if let Some(d) = t.strip_prefix("///") {
            doc.push(d.trim().to_string());
            continue;
        }
        if t.starts_with("#[serde(") {
            if let Some(r) = t.split("rename = \"").nth(1) {
                rename = r.split('"').next().map(String::from);
            }
            has_default |= t.contains("default");
            continue;
        }
        if t.starts_with("#[") || t.is_empty() {
            continue;
        }
        let text = doc.join(" ");
        doc.clear();
        if let Some((name, item)) = &mut current {
            if t == "}" && line.starts_with('}') {
                out.insert(name.clone(), std::mem::take(item));
                current = None;
            } else if item.is_enum {
                if let Some(v) = t
                    .strip_suffix(',')
                    .filter(|v| v.chars().all(char::is_alphanumeric))
                {
                    item.variants.push((snake(v), text));
                }
            } else if let Some(f) = t.strip_prefix("pub ") {
                if let Some((fname, ty)) = f.split_once(": ") {
                    let fname = rename
                        .take()
                        .unwrap_or_else(|| fname.trim_end_matches('_').to_string());
                    item.fields.push(Field {
                        name: fname,
                        ty: ty.trim_end_matches(',').to_string(),
                        doc: text,
                        has_default,
                    });
                }
            }
            rename = None;
            has_default = false;
            continue;
        }
        for (prefix, is_enum) in [("pub struct ", false), ("pub enum ", true)] {
            if let Some(rest) = t.strip_prefix(prefix) {
                if let Some(name) = rest.strip_suffix(" {") {
                    current = Some((
                        name.to_string(),
                        Item {
                            doc: text.clone(),
                            is_enum,
                            ..Item::default()
                        },
                    ));
                }
            }
        }
        rename = None;
        has_default = false;
    }
    out
}

/// `Option<Vec<RawStep>>` → (`array of step tables`, optional, linked item).
fn describe_type(ty: &str, items: &BTreeMap<String, Item>) -> (String, bool, Option<String>) {
    let (inner, optional) = match ty.strip_prefix("Option<").and_then(|t| t.strip_suffix('>')) {
        Some(i) => (i, true),
        None => (ty, false),
    };
    let (text, link) = base_type(inner, items);
    (text, optional, link)
}

fn base_type(ty: &str, items: &BTreeMap<String, Item>) -> (String, Option<String>) {
    if let Some(i) = ty.strip_prefix("Vec<").and_then(|t| t.strip_suffix('>')) {
        let (t, link) = base_type(i, items);
        return (format!("array of {t}"), link);
    }
    if let Some(i) = ty
        .strip_prefix("BTreeMap<String, ")
        .and_then(|t| t.strip_suffix('>'))
    {
        let (t, link) = base_type(i, items);
        return (format!("table of name → {t}"), link);
    }
    let plain = match ty {
        "String" => "string",
        "DurationStr" => "duration (`\"250ms\"`, `\"90s\"`, `\"5m\"`, `\"2h\"`, `\"3d\"`)",
        "Size" => "size (`\"300MB\"`, `\"24GiB\"`)",
        "Count" => "count (`7B`, `\"140B\"`, `1.3e9`)",
        "f64" => "number",
        "i64" | "u32" | "u64" => "integer",
        "bool" => "boolean",
        "toml::Value" => "string, number or boolean",
        "RawModelSize" => "size, or `{ p50, p99 }` of sizes",
        "RawGroups" => "string, or a list of strings",
        _ => "",
    };
    if !plain.is_empty() {
        return (plain.to_string(), None);
    }
    match items.get(ty) {
        Some(item) if item.is_enum => {
            let names: Vec<String> = item
                .variants
                .iter()
                .map(|(v, _)| format!("`\"{v}\"`"))
                .collect();
            (format!("one of {}", names.join(", ")), None)
        }
        Some(_) => (
            format!("table ([{}](#{}))", table_name(ty), anchor(ty)),
            Some(ty.to_string()),
        ),
        None => (format!("`{ty}`"), None),
    }
}

fn table_name(ty: &str) -> String {
    snake(ty.trim_start_matches("Raw"))
}

fn anchor(ty: &str) -> String {
    format!("{}-table", table_name(ty).replace('_', "-"))
}

/// The default a doc comment states, if any: `(default 1)`, `(default
/// "60s", SageMaker's limit)`, `(default: all)`.
fn default_of(doc: &str) -> Option<String> {
    let i = doc.find("default")?;
    let rest = doc[i + "default".len()..]
        .trim_start_matches(':')
        .trim_start();
    let end = rest.find([')', ';', ',']).unwrap_or(rest.len());
    let d = rest[..end].trim();
    (!d.is_empty()).then(|| d.to_string())
}

fn escape(s: &str) -> String {
    s.replace('|', "\\|")
}

fn render_fields(out: &mut String, item: &Item, items: &BTreeMap<String, Item>) {
    out.push_str("| field | type | required | default | meaning |\n|---|---|---|---|---|\n");
    for f in &item.fields {
        let (ty, optional, _) = describe_type(&f.ty, items);
        let required = if optional || f.has_default {
            "no"
        } else {
            "**yes**"
        };
        let default = default_of(&f.doc).unwrap_or_else(|| "—".into());
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            f.name,
            escape(&ty),
            required,
            escape(&default),
            escape(&f.doc)
        ));
    }
}

/// The sections of a scenario file, in the order people write them: the
/// TOML header, the struct, a line on where it goes.
const SECTIONS: &[(&str, &str)] = &[
    ("[scenario]", "RawMeta"),
    ("[target]", "RawTarget"),
    ("[[instance_type]]", "RawInstanceType"),
    ("[[model]]", "RawModel"),
    ("[[endpoint]]", "RawEndpoint"),
    ("[[endpoint.variant]]", "RawVariant"),
    ("[endpoint.variant.autoscaling]", "RawAutoscaling"),
    (
        "[[endpoint.variant.autoscaling.target_tracking]]",
        "RawTargetTracking",
    ),
    ("[[endpoint.variant.autoscaling.step]]", "RawStepPolicy"),
    ("[[endpoint.variant.autoscaling.scheduled]]", "RawScheduled"),
    ("[endpoint.variant.models]", "RawModels"),
    ("[endpoint.features]", "RawEndpointFeatures"),
    ("[[feature_group]]", "RawFeatureGroup"),
    ("[feature_group] features = [ ... ]", "RawFeature"),
    ("[feature_store]", "RawFeatureStore"),
    ("[[workload]]", "RawWorkload"),
    ("[[fault]]", "RawFault"),
    ("[slo]", "RawSlo"),
    ("[baseline]", "RawBaseline"),
    ("[sweep]", "RawSweep"),
    ("[sweep] vary = [ ... ]", "RawVary"),
    ("[[training_job]]", "RawTrainingJob"),
    ("[[spot_market]]", "RawSpotMarket"),
];

/// Renders `docs/scenario.md`.
pub fn markdown() -> String {
    let items = items();
    let mut out = String::new();
    out.push_str("# Scenario reference\n\n");
    out.push_str("<!-- Generated from harness/scenario/src/raw.rs by `GAMEDAY_UPDATE_DOCS=1 cargo test -p gameday-scenario reference`; do not edit by hand. -->\n\n");
    out.push_str(
        "A scenario is a TOML file. Unknown fields are errors (with the nearest valid name suggested), and `gameday validate FILE` lists every problem with its `file:line:col`. Durations and sizes are strings: `\"250ms\"`, `\"90s\"`, `\"5m\"`, `\"2h\"`, `\"3d\"`; `\"300MB\"`, `\"24GiB\"`. Relative paths are relative to the scenario file.\n\n",
    );
    out.push_str(
        "**Service times are given on `ml.m5.xlarge`.** A model's `latency` is its service time on the reference instance type `ml.m5.xlarge` (speed 1.0); on any other type it is divided by that type's `speed` from `fixtures/instances.toml` (a `p50 = \"20ms\"` model has a p50 of 4 ms on a type of speed 5), unless `latency_on` gives a figure for that type. `summary.md` shows each variant's effective service time.\n\n",
    );
    out.push_str("**Defaults that matter:** a variant's `concurrency` is 1 (one request at a time per instance; the rest queue) and a workload's `timeout` is 60 s, SageMaker's limit. Set both deliberately.\n\n");
    out.push_str("## Sections\n\n");
    for (header, ty) in SECTIONS {
        let Some(item) = items.get(*ty) else { continue };
        out.push_str(&format!("### `{header}`\n\n{}\n\n", item.doc));
        render_fields(&mut out, item, &items);
        out.push('\n');
    }
    // Inline tables reachable from the sections.
    let mut seen: Vec<String> = Vec::new();
    let mut todo: Vec<String> = SECTIONS.iter().map(|(_, t)| t.to_string()).collect();
    while let Some(ty) = todo.pop() {
        let Some(item) = items.get(&ty) else { continue };
        for f in &item.fields {
            if let (_, _, Some(link)) = describe_type(&f.ty, &items) {
                if !seen.contains(&link) && !SECTIONS.iter().any(|(_, t)| *t == link) {
                    seen.push(link.clone());
                    todo.push(link);
                }
            }
        }
    }
    seen.sort();
    if !seen.is_empty() {
        out.push_str("## Inline tables\n\n");
    }
    for ty in &seen {
        let item = &items[ty];
        out.push_str(&format!(
            "### `{}` table\n\n{}\n\n",
            table_name(ty),
            item.doc
        ));
        render_fields(&mut out, item, &items);
        out.push('\n');
    }
    out.push_str("## Allowed values\n\n");
    let mut enums: Vec<(&String, &Item)> = items
        .iter()
        .filter(|(_, i)| i.is_enum && !i.variants.is_empty())
        .collect();
    enums.sort_by_key(|(n, _)| n.as_str());
    for (name, item) in enums {
        out.push_str(&format!(
            "### {}\n\n{}\n\n",
            snake(name.trim_end_matches("Raw")),
            item.doc
        ));
        for (v, doc) in &item.variants {
            out.push_str(&format!("- `\"{v}\"`: {doc}\n"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/scenario.md` is what the code says; regenerate it with
    /// `GAMEDAY_UPDATE_DOCS=1 cargo test -p gameday-scenario reference`.
    #[test]
    fn reference_docs_match_the_scenario_structs() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/scenario.md");
        let want = markdown();
        if std::env::var_os("GAMEDAY_UPDATE_DOCS").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/scenario.md is out of date: run GAMEDAY_UPDATE_DOCS=1 cargo test -p gameday-scenario reference"
        );
    }

    #[test]
    fn every_section_and_field_is_documented_with_its_default() {
        let items = items();
        for (_, ty) in SECTIONS {
            let item = &items[*ty];
            assert!(!item.fields.is_empty(), "{ty}");
            for f in &item.fields {
                assert!(!f.doc.is_empty(), "{ty}.{} has no doc comment", f.name);
            }
        }
        let variant = &items["RawVariant"];
        let concurrency = variant
            .fields
            .iter()
            .find(|f| f.name == "concurrency")
            .unwrap();
        assert_eq!(default_of(&concurrency.doc).as_deref(), Some("1"));
        let workload = &items["RawWorkload"];
        let timeout = workload
            .fields
            .iter()
            .find(|f| f.name == "timeout")
            .unwrap();
        assert_eq!(default_of(&timeout.doc).as_deref(), Some("`\"60s\"`"));
        let fault = &items["RawFault"];
        assert!(
            fault.fields.iter().any(|f| f.name == "for"),
            "serde renames are followed"
        );
        let md = markdown();
        assert!(md.contains("### `[[endpoint.variant]]`"));
        assert!(md.contains("| `concurrency` | integer | no | 1 |"), "{md}");
        assert!(md.contains("`\"least_outstanding_requests\"`"));
    }
}
