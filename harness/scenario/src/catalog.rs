//! The instance catalog: types, prices, relative speeds, provisioning
//! times. The data lives in `fixtures/instances.toml` (with the source of
//! every price); the built-in copy is compiled from that file.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::diag::{path, Diagnostic, FieldPath, Locator};
use crate::raw::{RawAccelerator, RawInstanceType};

/// The built-in catalog's text (`fixtures/instances.toml`).
pub const BUILTIN: &str = include_str!("../../../fixtures/instances.toml");
/// The name diagnostics use for the built-in catalog.
pub const BUILTIN_NAME: &str = "fixtures/instances.toml";

/// The reference instance type: a model's `latency` is given on it.
pub const REFERENCE_TYPE: &str = "ml.m5.xlarge";

/// An accelerator fitted to an instance type.
#[derive(Clone, Debug, PartialEq)]
pub struct Accelerator {
    /// Model, e.g. `A10G`.
    pub kind: String,
    /// How many.
    pub count: u32,
    /// Memory per accelerator, bytes.
    pub memory_bytes: u64,
}

/// One instance type.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceType {
    /// Catalog name.
    pub name: String,
    /// vCPUs.
    pub vcpus: u32,
    /// Memory, bytes.
    pub memory_bytes: u64,
    /// Service speed relative to `ml.m5.xlarge`.
    pub speed: f64,
    /// On-demand USD per hour.
    pub price_per_hour: f64,
    /// Shortest launch-to-service time.
    pub provisioning_min: Duration,
    /// Longest launch-to-service time.
    pub provisioning_max: Duration,
    /// Accelerators.
    pub accelerator: Option<Accelerator>,
    /// Network bandwidth, gigabits per second (the EC2 figure; "up to"
    /// figures taken at face value): what a multi-model download from S3
    /// gets. `None` if the catalog does not say.
    pub network_gbps: Option<f64>,
    /// Where the price came from.
    pub source: String,
}

/// Instance types by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Catalog {
    /// Types, sorted by name.
    pub types: BTreeMap<String, InstanceType>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    #[serde(default)]
    instance_type: Vec<RawInstanceType>,
}

impl Catalog {
    /// The built-in catalog.
    pub fn builtin() -> Catalog {
        Catalog::parse(BUILTIN_NAME, BUILTIN).expect("the built-in catalog is valid (tested)")
    }

    /// Parses a catalog file.
    pub fn parse(file: &str, src: &str) -> Result<Catalog, Vec<Diagnostic>> {
        let loc = Locator::new(file, src);
        let raw: RawCatalog = toml::from_str(src).map_err(|e| vec![crate::toml_error(&loc, &e)])?;
        let mut cat = Catalog::default();
        let mut diags = Vec::new();
        for (i, t) in raw.instance_type.iter().enumerate() {
            cat.apply(t, &path("instance_type").index(i), &loc, &mut diags);
        }
        if diags.is_empty() {
            Ok(cat)
        } else {
            Err(diags)
        }
    }

    /// Adds `t`, or overrides the fields it sets on an existing type. A
    /// new type must set every field but `accelerator`.
    pub fn apply(
        &mut self,
        t: &RawInstanceType,
        at: &FieldPath,
        loc: &Locator<'_>,
        diags: &mut Vec<Diagnostic>,
    ) {
        let existing = self.types.get(&t.name).cloned();
        let before = diags.len();
        let mut need = |field: &str, present: bool| {
            if !present && existing.is_none() {
                diags.push(loc.at(
                    at,
                    format!("new instance type \"{}\" needs `{field}` (only overrides of catalog types may leave it out)", t.name),
                ));
            }
        };
        need("vcpus", t.vcpus.is_some());
        need("memory", t.memory.is_some());
        need("speed", t.speed.is_some());
        need("price_per_hour", t.price_per_hour.is_some());
        need("provisioning", t.provisioning.is_some());
        if let Some(s) = t.speed {
            if !(s.is_finite() && s > 0.0) {
                diags.push(loc.at(
                    &at.key("speed"),
                    format!("speed must be a positive number, got {s}"),
                ));
            }
        }
        if let Some(p) = t.price_per_hour {
            if !(p.is_finite() && p >= 0.0) {
                diags.push(loc.at(
                    &at.key("price_per_hour"),
                    format!("price_per_hour must be zero or more, got {p}"),
                ));
            }
        }
        if let Some(r) = t.provisioning {
            if r.max.0 < r.min.0 {
                diags.push(loc.at(&at.key("provisioning"), "provisioning max is below min"));
            }
        }
        if diags.len() > before {
            return;
        }
        let base = existing.unwrap_or_else(|| InstanceType {
            name: t.name.clone(),
            vcpus: 0,
            memory_bytes: 0,
            speed: 1.0,
            price_per_hour: 0.0,
            provisioning_min: Duration::ZERO,
            provisioning_max: Duration::ZERO,
            accelerator: None,
            network_gbps: None,
            source: String::new(),
        });
        let merged = InstanceType {
            name: t.name.clone(),
            vcpus: t.vcpus.unwrap_or(base.vcpus),
            memory_bytes: t.memory.map_or(base.memory_bytes, |m| m.0),
            speed: t.speed.unwrap_or(base.speed),
            price_per_hour: t.price_per_hour.unwrap_or(base.price_per_hour),
            provisioning_min: t.provisioning.map_or(base.provisioning_min, |r| r.min.0),
            provisioning_max: t.provisioning.map_or(base.provisioning_max, |r| r.max.0),
            accelerator: t
                .accelerator
                .as_ref()
                .map(|a: &RawAccelerator| Accelerator {
                    kind: a.kind.clone(),
                    count: a.count,
                    memory_bytes: a.memory.0,
                })
                .or(base.accelerator),
            network_gbps: t.network_gbps.or(base.network_gbps),
            source: t.source.clone().unwrap_or(if base.source.is_empty() {
                "scenario".into()
            } else {
                base.source
            }),
        };
        self.types.insert(t.name.clone(), merged);
    }

    /// Type names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> + Clone {
        self.types.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_is_valid_and_sourced() {
        let c = Catalog::parse(BUILTIN_NAME, BUILTIN).unwrap();
        let m5 = &c.types[REFERENCE_TYPE];
        assert_eq!(m5.speed, 1.0);
        assert_eq!(m5.price_per_hour, 0.23);
        assert!(c.types.len() >= 14);
        for t in c.types.values() {
            assert!(!t.source.is_empty(), "{} has no price source", t.name);
            assert!(t.provisioning_min <= t.provisioning_max);
        }
        assert_eq!(
            c.types["ml.g5.12xlarge"]
                .accelerator
                .as_ref()
                .unwrap()
                .count,
            4
        );
    }

    #[test]
    fn a_new_type_must_be_complete() {
        let src = "[[instance_type]]\nname = \"ml.x\"\nspeed = 2.0\n";
        let err = Catalog::parse("c.toml", src).unwrap_err();
        assert_eq!(err.len(), 4);
        assert_eq!(
            err[0].to_string(),
            "c.toml:1:1: instance_type[0]: new instance type \"ml.x\" needs `vcpus` (only overrides of catalog types may leave it out)"
        );
    }
}
