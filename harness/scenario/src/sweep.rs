//! `[sweep]`: a grid of changes to a scenario's own fields, for
//! `gameday sweep`.
//!
//! A field is named by its path in the file, with array entries picked by
//! their `name`: `endpoint.recs.variant.AllTraffic.instance_count` is the
//! `instance_count` of the variant named `AllTraffic` of the endpoint named
//! `recs`; an entry without a name (a `[[workload]]`) is picked by its
//! position, from 0 (`workload.0.arrival.rate`). The last key may be one
//! the file leaves to its default. Each configuration is the file with its
//! values written in, checked by the same validation as any scenario.

use toml::{Table, Value};

/// One field and the values it takes.
#[derive(Clone, Debug, PartialEq)]
pub struct Vary {
    /// Its path, as written.
    pub field: String,
    /// The values, in order.
    pub values: Vec<Value>,
}

/// A scenario's `[sweep]`.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepSpec {
    /// Seeds per configuration (from the scenario's seed up).
    pub seeds: u64,
    /// The fields varied; configurations are every combination.
    pub vary: Vec<Vary>,
}

/// One combination: a value per varied field, in `vary` order.
pub type Configuration = Vec<(String, Value)>;

impl SweepSpec {
    /// Every combination, the first field varying slowest.
    pub fn configurations(&self) -> Vec<Configuration> {
        let mut out: Vec<Configuration> = vec![Vec::new()];
        for v in &self.vary {
            out = out
                .into_iter()
                .flat_map(|c| {
                    v.values.iter().map(move |x| {
                        let mut c = c.clone();
                        c.push((v.field.clone(), x.clone()));
                        c
                    })
                })
                .collect();
        }
        out
    }
}

/// Writes `value` at `field` in `doc`. The error says which part of the
/// path was not found and what was there instead.
pub fn set(doc: &mut Table, field: &str, value: Value) -> Result<(), String> {
    let segs: Vec<&str> = field.split('.').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Err(format!(
            "`{field}` is not a field path (keys joined by `.`)"
        ));
    }
    let mut table = doc;
    let mut i = 0;
    let mut at = String::new();
    loop {
        let key = segs[i];
        let here = if at.is_empty() {
            key.to_string()
        } else {
            format!("{at}.{key}")
        };
        if i + 1 == segs.len() {
            table.insert(key.to_string(), value);
            return Ok(());
        }
        if !table.contains_key(key) {
            let known = table.keys().cloned().collect::<Vec<_>>().join("`, `");
            return Err(format!("no `{here}` in the scenario (there: `{known}`)"));
        }
        match table.get_mut(key).expect("checked above") {
            Value::Table(t) => {
                table = t;
                i += 1;
            }
            Value::Array(items) => {
                let Some(&pick) = segs.get(i + 1).filter(|_| i + 2 < segs.len()) else {
                    return Err(format!(
                        "`{here}` is a list: name the entry and then its field (`{here}.NAME.FIELD`)"
                    ));
                };
                let names: Vec<String> = items
                    .iter()
                    .enumerate()
                    .map(|(n, v)| match v.get("name").and_then(Value::as_str) {
                        Some(name) => name.to_string(),
                        None => n.to_string(),
                    })
                    .collect();
                let Some(pos) = names.iter().position(|n| n == pick) else {
                    return Err(format!(
                        "no `{here}` entry named `{pick}` (there: `{}`)",
                        names.join("`, `")
                    ));
                };
                match &mut items[pos] {
                    Value::Table(t) => table = t,
                    _ => return Err(format!("`{here}.{pick}` is not a table")),
                }
                at = format!("{here}.{pick}");
                i += 2;
                continue;
            }
            _ => {
                return Err(format!(
                    "`{here}` is a value, not a table: `{field}` reaches past it"
                ))
            }
        }
        at = here;
    }
}

/// `src` (a valid scenario) with `config` written in and its `[sweep]`
/// removed, as TOML text for the scenario parser.
pub fn apply(src: &str, config: &Configuration) -> Result<String, String> {
    let mut doc: Table = src.parse().map_err(|e| format!("{e}"))?;
    doc.remove("sweep");
    for (field, value) in config {
        set(&mut doc, field, value.clone())?;
    }
    toml::to_string(&doc).map_err(|e| e.to_string())
}

/// A value as a sweep table shows it (`"ml.c5.xlarge"` without quotes).
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"
[scenario]
name = "t"

[[endpoint]]
name = "recs"
  [[endpoint.variant]]
  name = "AllTraffic"
  instance_type = "ml.m5.xlarge"

[[workload]]
endpoint = "recs"
arrival = { kind = "poisson", rate = 10 }

[sweep]
seeds = 3
"#;

    #[test]
    fn fields_are_found_by_name_and_position_and_defaults_can_be_set() {
        let cfg = vec![
            (
                "endpoint.recs.variant.AllTraffic.instance_type".to_string(),
                Value::from("ml.c5.xlarge"),
            ),
            (
                "endpoint.recs.variant.AllTraffic.instance_count".to_string(),
                Value::from(4),
            ),
            ("workload.0.arrival.rate".to_string(), Value::from(25.5)),
        ];
        let out: Table = apply(SRC, &cfg).unwrap().parse().unwrap();
        let v = &out["endpoint"][0]["variant"][0];
        assert_eq!(v["instance_type"].as_str(), Some("ml.c5.xlarge"));
        assert_eq!(v["instance_count"].as_integer(), Some(4));
        assert_eq!(out["workload"][0]["arrival"]["rate"].as_float(), Some(25.5));
        assert!(!out.contains_key("sweep"));
    }

    #[test]
    fn a_path_that_is_not_there_says_what_is() {
        let mut doc: Table = SRC.parse().unwrap();
        let err = |f: &str| set(&mut doc.clone(), f, Value::from(1)).unwrap_err();
        assert_eq!(
            err("endpoint.rec.variant.AllTraffic.instance_count"),
            "no `endpoint` entry named `rec` (there: `recs`)"
        );
        assert_eq!(
            err("endpoints.recs.x"),
            "no `endpoints` in the scenario (there: `endpoint`, `scenario`, `sweep`, `workload`)"
        );
        assert_eq!(
            err("endpoint.recs"),
            "`endpoint` is a list: name the entry and then its field (`endpoint.NAME.FIELD`)"
        );
        assert_eq!(
            err("scenario.name.x"),
            "`scenario.name` is a value, not a table: `scenario.name.x` reaches past it"
        );
        assert!(set(&mut doc, "a..b", Value::from(1)).is_err());
    }

    #[test]
    fn configurations_are_every_combination_first_field_slowest() {
        let s = SweepSpec {
            seeds: 1,
            vary: vec![
                Vary {
                    field: "a".into(),
                    values: vec![Value::from(1), Value::from(2)],
                },
                Vary {
                    field: "b".into(),
                    values: vec![Value::from("x"), Value::from("y"), Value::from("z")],
                },
            ],
        };
        let c = s.configurations();
        assert_eq!(c.len(), 6);
        let shown: Vec<String> = c
            .iter()
            .map(|c| format!("{}{}", show(&c[0].1), show(&c[1].1)))
            .collect();
        assert_eq!(shown, ["1x", "1y", "1z", "2x", "2y", "2z"]);
    }
}
