//! `[[endpoint]]` and its variants: models, instance types, counts,
//! weights and routing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use gameday_core::spec::{EndpointSpec, InstanceTypeSpec, Routing, VariantSpec};

use super::models::ModelDists;
use super::Cx;
use crate::catalog::Catalog;
use crate::diag::{path, FieldPath};
use crate::raw::{EndpointMode, RawScenario, RoutingKind};
use crate::ClockKind;
use std::time::Duration;

/// Multi-model containers' model folders by (endpoint, variant) index.
pub(super) type Folders = BTreeMap<(usize, usize), PathBuf>;

/// Checks and builds every endpoint; also answers the model folders of
/// the multi-model variants whose models are files.
pub(super) fn build(
    cx: &mut Cx<'_>,
    raw: &RawScenario,
    catalog: &Catalog,
    model_dists: &[ModelDists],
    duration: std::time::Duration,
    clock: ClockKind,
) -> (Vec<EndpointSpec>, Folders) {
    let mut endpoints = Vec::new();
    let mut folders = Folders::new();
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
            let multi = ep.mode == Some(EndpointMode::MultiModel);
            let model_at = match (&var.model, multi) {
                (None, true) => None,
                (Some(name), _) => {
                    let at = raw.models.iter().position(|m| &m.name == name);
                    if at.is_none() {
                        cx.unknown(
                            &vat.key("model"),
                            "model",
                            name,
                            raw.models.iter().map(|m| m.name.as_str()),
                        );
                    }
                    at
                }
                (None, false) => {
                    cx.err(
                        &vat,
                        "missing `model`: the [[model]] this variant serves (or make the endpoint mode = \"multi_model\" and give [endpoint.variant.models])",
                    );
                    None
                }
            };
            if !multi {
                for (field, given) in super::multi_model::only_multi_model_fields(var) {
                    if given {
                        super::multi_model::not_multi_model(cx, &vat.key(field), &ep.name, field);
                    }
                }
            }
            let model = model_at.map(|m| &raw.models[m]);
            if let (true, Some(m)) = (multi, model) {
                if m.command.is_none() {
                    cx.err(
                        &vat.key("model"),
                        format!(
                            "a multi-model variant serves the models of [endpoint.variant.models]; `model` may only name its multi-model container, a [[model]] with a `command`, and {} has none",
                            crate::diag::quote(&m.name)
                        ),
                    );
                }
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
            let shadow = var
                .shadow
                .as_ref()
                .and_then(|sh| super::shadows::build(cx, ep, v, sh, &vat, multi, clock));
            let weight = if var.shadow.is_some() {
                if var.weight.is_some() {
                    cx.err(
                        &vat.key("weight"),
                        "a shadow variant takes no weight: it gets `sampling` percent of its production variant's requests as copies; drop weight",
                    );
                }
                0.0
            } else {
                cx.non_negative(&vat, "weight", Some(var.weight.unwrap_or(1.0)))
                    .unwrap_or(0.0)
            };
            weight_sum += weight;
            let autoscaling = var.autoscaling.as_ref().and_then(|a| {
                let v = super::autoscaling::Variant {
                    instance_count: count,
                    instance_count_at: vat.key("instance_count"),
                    instance_type: itype.as_ref(),
                    duration,
                    multi_model: ep.mode == Some(EndpointMode::MultiModel),
                };
                super::autoscaling::build(cx, a, &vat.key("autoscaling"), &v)
            });
            let error_rate = model
                .and_then(|m| m.error_rate)
                .filter(|x| (0.0..=1.0).contains(x))
                .unwrap_or(0.0);
            let (model_name, service, model_load, multi_model) = if multi {
                let container = model.filter(|m| m.command.is_some());
                let serving = match container {
                    Some(_) if clock == ClockKind::Wall => super::multi_model::Serving::Container,
                    _ => super::multi_model::Serving::Modelled,
                };
                let Some((mm, service, dir)) =
                    super::multi_model::build(cx, var, &vat, itype.as_ref(), serving)
                else {
                    continue;
                };
                if let Some(dir) = dir {
                    folders.insert((e, variants.len()), dir);
                }
                (
                    container.map_or("(multi-model)".to_string(), |m| m.name.clone()),
                    service,
                    Duration::ZERO,
                    Some(mm),
                )
            } else {
                let (Some(model), Some(itype)) = (model, itype.as_ref()) else {
                    continue;
                };
                // Per-type latency if measured there, else the reference scaled.
                let (reference, per_type) = &model_dists[model_at.expect("model was found")];
                let service = match per_type.get(&itype.name) {
                    Some(d) => Some(d.clone()),
                    None => reference.as_ref().map(|d| d.scaled(1.0 / itype.speed)),
                };
                let Some(service) = service else { continue };
                let load = model.load_time.map_or(Duration::ZERO, |d| d.0);
                (model.name.clone(), service, load, None)
            };
            let Some(itype) = itype else { continue };
            variants.push(VariantSpec {
                name: var.name.clone(),
                model: model_name,
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
                model_load,
                autoscaling,
                multi_model,
                error_rate: if multi { 0.0 } else { error_rate },
                shadow,
            });
        }
        let counts: BTreeSet<usize> = variants
            .iter()
            .filter_map(|v| v.multi_model.as_ref().map(|m| m.models.len()))
            .collect();
        if counts.len() > 1 {
            cx.err(
                &at.key("variant"),
                format!(
                    "the variants of multi-model endpoint {} serve different numbers of models ({}): a request's target model must exist on every variant",
                    crate::diag::quote(&ep.name),
                    counts.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                ),
            );
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
    (endpoints, folders)
}
