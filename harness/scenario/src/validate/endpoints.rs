//! `[[endpoint]]` and its variants: models, instance types, counts,
//! weights and routing.

use std::collections::BTreeSet;

use gameday_core::spec::{EndpointSpec, InstanceTypeSpec, Routing, VariantSpec};

use super::models::ModelDists;
use super::Cx;
use crate::catalog::Catalog;
use crate::diag::{path, FieldPath};
use crate::raw::{RawScenario, RoutingKind};

/// Checks and builds every endpoint.
pub(super) fn build(
    cx: &mut Cx<'_>,
    raw: &RawScenario,
    catalog: &Catalog,
    model_dists: &[ModelDists],
    duration: std::time::Duration,
) -> Vec<EndpointSpec> {
    let mut endpoints = Vec::new();
    let mut endpoint_names = BTreeSet::new();
    if raw.endpoints.is_empty() && raw.training_jobs.is_empty() {
        cx.err(
            &FieldPath::default(),
            "the scenario has no [[endpoint]] and no [[training_job]]: nothing to run",
        );
    }
    for (e, ep) in raw.endpoints.iter().enumerate() {
        let at = path("endpoint").index(e);
        if !endpoint_names.insert(ep.name.as_str()) {
            cx.err(
                &at.key("name"),
                format!("duplicate endpoint name {}", crate::diag::quote(&ep.name)),
            );
        }
        if ep.variant.is_empty() {
            cx.err(
                &at,
                format!(
                    "endpoint {} has no [[endpoint.variant]]",
                    crate::diag::quote(&ep.name)
                ),
            );
        }
        let mut variants = Vec::new();
        let mut variant_names = BTreeSet::new();
        let mut weight_sum = 0.0;
        for (v, var) in ep.variant.iter().enumerate() {
            let vat = at.key("variant").index(v);
            if !variant_names.insert(var.name.as_str()) {
                cx.err(
                    &vat.key("name"),
                    format!("duplicate variant name {}", crate::diag::quote(&var.name)),
                );
            }
            let model_at = raw.models.iter().position(|m| m.name == var.model);
            let model = model_at.map(|m| &raw.models[m]);
            if model.is_none() {
                cx.unknown(
                    &vat.key("model"),
                    "model",
                    &var.model,
                    raw.models.iter().map(|m| m.name.as_str()),
                );
            }
            let itype = catalog.types.get(&var.instance_type).cloned();
            if itype.is_none() {
                cx.unknown(
                    &vat.key("instance_type"),
                    "instance type",
                    &var.instance_type,
                    catalog.names(),
                );
            }
            let count = var.instance_count.unwrap_or(1);
            if !(1..=10_000).contains(&count) {
                cx.err(
                    &vat.key("instance_count"),
                    format!("instance_count must be between 1 and 10000, got {count}"),
                );
            }
            let concurrency = var.concurrency.unwrap_or(1);
            if !(1..=100_000).contains(&concurrency) {
                cx.err(
                    &vat.key("concurrency"),
                    format!("concurrency must be between 1 and 100000, got {concurrency}"),
                );
            }
            let weight = cx
                .non_negative(&vat, "weight", Some(var.weight.unwrap_or(1.0)))
                .unwrap_or(0.0);
            weight_sum += weight;
            let autoscaling = var.autoscaling.as_ref().and_then(|a| {
                let v = super::autoscaling::Variant {
                    instance_count: count,
                    instance_count_at: vat.key("instance_count"),
                    instance_type: itype.as_ref(),
                    duration,
                };
                super::autoscaling::build(cx, a, &vat.key("autoscaling"), &v)
            });
            let (Some(model), Some(itype)) = (model, itype) else {
                continue;
            };
            // Per-type latency if measured there, else the reference scaled.
            let (reference, per_type) = &model_dists[model_at.expect("model was found")];
            let service = match per_type.get(&itype.name) {
                Some(d) => Some(d.clone()),
                None => reference.as_ref().map(|d| d.scaled(1.0 / itype.speed)),
            };
            let Some(service) = service else { continue };
            variants.push(VariantSpec {
                name: var.name.clone(),
                model: model.name.clone(),
                weight,
                instance: InstanceTypeSpec {
                    name: itype.name.clone(),
                    price_per_hour: itype.price_per_hour,
                    provisioning_min: itype.provisioning_min,
                    provisioning_max: itype.provisioning_max,
                    vcpus: itype.vcpus,
                    gpus: itype.accelerator.as_ref().map_or(0, |a| a.count),
                },
                instance_count: count.clamp(1, 10_000) as u32,
                concurrency: concurrency.clamp(1, 100_000) as u32,
                service,
                external: false,
                model_load: model.load_time.map_or(std::time::Duration::ZERO, |d| d.0),
                autoscaling,
            });
        }
        if !ep.variant.is_empty() && weight_sum <= 0.0 {
            cx.err(
                &at.key("variant").index(0).key("weight"),
                format!(
                    "the variant weights of endpoint {} sum to zero: no traffic could be routed",
                    crate::diag::quote(&ep.name)
                ),
            );
        }
        let zones = ep.zones.unwrap_or(super::zones::DEFAULT_ZONES);
        if !(1..=super::zones::MAX_ZONES).contains(&zones) {
            cx.err(
                &at.key("zones"),
                format!(
                    "zones must be between 1 and {}, got {zones}",
                    super::zones::MAX_ZONES
                ),
            );
        }
        endpoints.push(EndpointSpec {
            name: ep.name.clone(),
            zones: zones.clamp(1, super::zones::MAX_ZONES) as u32,
            routing: match ep.routing {
                Some(RoutingKind::LeastOutstandingRequests) => Routing::LeastOutstandingRequests,
                _ => Routing::Random,
            },
            variants,
        });
    }
    endpoints
}
