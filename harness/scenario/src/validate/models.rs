//! `[[model]]`: each model's service time (its reference latency and any
//! per-instance-type latencies), real built-in models and model-server
//! commands.

use std::collections::{BTreeMap, BTreeSet};

use gameday_core::dist::ServiceDist;

use super::{build_dist, Cx};
use crate::diag::path;
use crate::raw::RawScenario;
use crate::{catalog::Catalog, ClockKind, RealModel};

/// A model's distributions, built (and their files read) once: its
/// reference latency, and its latency per instance type.
pub(super) type ModelDists = (Option<ServiceDist>, BTreeMap<String, ServiceDist>);

/// The models section, checked.
pub(super) struct Models {
    /// Built-in models with real weights, by name.
    pub real: BTreeMap<String, RealModel>,
    /// Model-server commands, by model name.
    pub servers: BTreeMap<String, Vec<String>>,
    /// Each model's distributions, in scenario order.
    pub dists: Vec<ModelDists>,
}

/// Checks and builds the `[[model]]` section.
pub(super) fn build(
    cx: &mut Cx<'_>,
    raw: &RawScenario,
    catalog: &Catalog,
    clock: ClockKind,
) -> Models {
    let mut model_names = BTreeSet::new();
    let mut real_models = BTreeMap::new();
    let mut model_servers = BTreeMap::new();
    // Each model's distributions, built (and their files read) once:
    // (reference latency, per-instance-type latencies).
    let mut model_dists: Vec<ModelDists> = Vec::new();
    for (i, m) in raw.models.iter().enumerate() {
        let at = path("model").index(i);
        if !model_names.insert(m.name.as_str()) {
            cx.err(
                &at.key("name"),
                format!("duplicate model name {}", crate::diag::quote(&m.name)),
            );
        }
        match (&m.command, &m.builtin) {
        (Some(_), Some(_)) => cx.err(
            &at.key("command"),
            "give `command` (your model server) or `builtin`, not both",
        ),
        (Some(c), None) if c.is_empty() => cx.err(
            &at.key("command"),
            "command is empty; give the program and its arguments, like [\"python3\", \"serve.py\"]",
        ),
        (Some(c), None) => {
            model_servers.insert(m.name.clone(), c.clone());
        }
        _ => {}
    }
        let reference = match (&m.latency, &m.builtin, &m.command) {
            (Some(l), _, _) => build_dist(cx, l, &at.key("latency")),
            // A real model's service time is the time it takes.
            (None, Some(_), _) => ServiceDist::constant(0.0).ok(),
            (None, None, Some(_)) if clock == ClockKind::Wall => ServiceDist::constant(0.0).ok(),
            // A multi-model container: its variants' models have the latency.
            (None, None, Some(_)) if serves_only_multi_model(raw, &m.name) => {
                ServiceDist::constant(0.0).ok()
            }
            (None, None, Some(_)) => {
                cx.err(
                &at.key("latency"),
                "a virtual-clock run models the model's service time: add `latency` (the command runs on the wall clock)",
            );
                None
            }
            (None, None, None) => {
                cx.err(
                &at.key("latency"),
                "missing `latency`; give {p50, p99}, {dist = \"exponential\", mean}, {dist = \"constant\", value} or {dist = \"empirical\", file}",
            );
                None
            }
        };
        match (&m.builtin, &m.weights) {
        (Some(b), Some(w)) => {
            if b != "logistic_regression" {
                cx.unknown(&at.key("builtin"), "built-in model", b, ["logistic_regression"]);
            } else if cx.read(&at.key("weights"), w).is_some() {
                real_models.insert(
                    m.name.clone(),
                    RealModel {
                        kind: b.clone(),
                        weights: cx.base_dir.join(w),
                    },
                );
            }
        }
        (Some(_), None) => cx.err(
            &at.key("weights"),
            "a `builtin` model needs `weights`, a JSON weights file (see fixtures/models/)",
        ),
        (None, Some(_)) => cx.err(
            &at.key("weights"),
            "`weights` only applies to a `builtin` model; add builtin = \"logistic_regression\"",
        ),
        (None, None) => {}
    }
        match m.error_rate {
            Some(x) if !(0.0..=1.0).contains(&x) => cx.err(
                &at.key("error_rate"),
                format!("error_rate is a fraction between 0 and 1, got {x} (0.05 fails one request in 20)"),
            ),
            Some(_) if m.command.is_some() => cx.err(
                &at.key("error_rate"),
                "error_rate models a model's own failures; a `command` model server fails when it fails: drop error_rate, or drop `command` to model the server",
            ),
            _ => {}
        }
        let mut per_type = BTreeMap::new();
        for (ty, l) in &m.latency_on {
            let lat = at.key("latency_on").key(ty);
            if !catalog.types.contains_key(ty) {
                cx.unknown(&lat, "instance type", ty, catalog.names());
            }
            if let Some(d) = build_dist(cx, l, &lat) {
                per_type.insert(ty.clone(), d);
            }
        }
        model_dists.push((reference, per_type));
    }
    Models {
        real: real_models,
        servers: model_servers,
        dists: model_dists,
    }
}

/// Whether model `name` is named only by variants of multi-model
/// endpoints (their `[endpoint.variant.models]` have the service times),
/// and by at least one.
fn serves_only_multi_model(raw: &RawScenario, name: &str) -> bool {
    let mut users = raw.endpoints.iter().flat_map(|e| {
        e.variant
            .iter()
            .filter(|v| v.model.as_deref() == Some(name))
            .map(move |_| e.mode == Some(crate::raw::EndpointMode::MultiModel))
    });
    let first = users.next();
    first == Some(true) && users.all(|m| m)
}
