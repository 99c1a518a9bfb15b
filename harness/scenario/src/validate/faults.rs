//! `[[fault]]`: endpoint faults through the one fault vocabulary
//! ([`gameday_core::fault_kinds`], shared with the live control API),
//! spot interruptions through [`super::training`] and capacity shortages
//! through [`super::capacity`].

use std::time::Duration;

use gameday_core::capacity::ShortageSpec;
use gameday_core::fault_kinds::{self, FaultFields};
use gameday_core::spec::{FaultSpec, FaultTarget};
use gameday_core::training::TrainingFaultSpec;

use super::names::Names;
use super::{capacity, training, Cx};
use crate::diag::{path, FieldPath};
use crate::raw::{FaultKindRaw, RawFault, RawScenario};

/// Every fault of a scenario, by the component it hits, each list in
/// scenario order.
#[derive(Debug, Default)]
pub(super) struct Faults {
    pub(super) endpoint: Vec<FaultSpec>,
    pub(super) training: Vec<TrainingFaultSpec>,
    pub(super) shortages: Vec<ShortageSpec>,
    pub(super) zone_outages: Vec<gameday_core::spec::ZoneOutageSpec>,
    pub(super) feature_outages: Vec<gameday_core::features::FeatureOutageSpec>,
}

/// Checks and builds every fault.
pub(super) fn build(
    cx: &mut Cx<'_>,
    raw: &RawScenario,
    names: &Names<'_>,
    endpoints: &[gameday_core::spec::EndpointSpec],
    duration: Duration,
) -> Faults {
    let mut out = Faults::default();
    for (i, f) in raw.faults.iter().enumerate() {
        let at = path("fault").index(i);
        match f.kind {
            FaultKindRaw::SpotInterruption => {
                out.training.extend(training::build_fault(cx, f, &at, raw));
            }
            FaultKindRaw::CapacityShortage => {
                out.shortages
                    .extend(capacity::build_shortage(cx, f, &at, raw));
            }
            FaultKindRaw::FeatureStoreOutage => {
                out.feature_outages
                    .extend(super::features::build_outage(cx, f, &at, raw, duration));
            }
            FaultKindRaw::AzOutage => {
                out.zone_outages
                    .extend(super::zones::build_outage(cx, f, &at, raw, duration));
            }
            _ => out
                .endpoint
                .extend(build_fault(cx, f, &at, duration, names, raw, endpoints)),
        }
    }
    out
}

fn build_fault(
    cx: &mut Cx<'_>,
    f: &RawFault,
    at: &FieldPath,
    duration: Duration,
    names: &Names<'_>,
    raw: &RawScenario,
    endpoints: &[gameday_core::spec::EndpointSpec],
) -> Option<FaultSpec> {
    let kind = f.kind.as_str();
    let Some(def) = fault_kinds::lookup(kind) else {
        unreachable!("training faults are built by validate::training")
    };
    let before = cx.diags.len();
    // Fields of the other fault families; the table checks the rest.
    let training_fields: Vec<(&str, bool)> = f
        .fields_set(&["endpoint", "variant"])
        .into_iter()
        .filter(|(name, _)| {
            matches!(
                *name,
                "job" | "instance_type" | "zone" | "group" | "mode" | "quota"
            )
        })
        .collect();
    cx.only(at, "fault kind", kind, &training_fields, def.fields);
    super::faults::starts_in_run(cx, f, at, duration);
    let Some(endpoint) = &f.endpoint else {
        cx.err(at, format!("fault kind \"{kind}\" needs `endpoint`"));
        return None;
    };
    let e = names.endpoint(cx, &at.key("endpoint"), endpoint);
    let variant = match (&f.variant, e) {
        (Some(v), Some(e)) => names.variant(cx, &at.key("variant"), e, v),
        _ => None,
    };
    let is_model_fault = matches!(
        f.kind,
        FaultKindRaw::ModelDownloadSlow | FaultKindRaw::ModelLoadFailure
    );
    if let Some(e) = e {
        if is_model_fault && !super::multi_model::is_multi_model(raw, e) {
            cx.err(
                &at.key("kind"),
                format!(
                    "fault kind \"{kind}\" hits model downloads and loads, which only a multi-model endpoint has; {} is single-model",
                    crate::diag::quote(endpoint)
                ),
            );
        }
    }
    let model = match (&f.model, e) {
        (Some(name), Some(e)) if super::multi_model::is_multi_model(raw, e) => {
            super::multi_model::model_index(cx, &at.key("model"), endpoints, e, name)
        }
        // Not a multi-model endpoint: said above, or the kind does not
        // take `model` (the table says so).
        (Some(_), _) if is_model_fault => None,
        (Some(_), _) => Some(0),
        (None, _) => None,
    };
    let fields = FaultFields {
        for_: f.for_.map(|d| d.0),
        count: f.count,
        detect_after: f.detect_after.map(|d| d.0),
        delay: f.delay.map(|d| d.0),
        rate: f.rate,
        status: f.status,
        factor: f.factor,
        model,
    };
    let fault_kind = match fault_kinds::build(def, &fields) {
        Ok(k) => Some(k),
        Err(errors) => {
            for e in errors {
                match e.field {
                    Some(field) => cx.err(&at.key(field), e.message),
                    None => cx.err(at, e.message),
                }
            }
            None
        }
    };
    if cx.diags.len() > before {
        return None;
    }
    Some(FaultSpec {
        at: f.at.0,
        duration: fields.for_,
        target: FaultTarget {
            endpoint: e?,
            variant,
        },
        kind: fault_kind?,
    })
}

/// A fault must start before the run ends.
pub(super) fn starts_in_run(cx: &mut Cx<'_>, f: &RawFault, at: &FieldPath, duration: Duration) {
    if f.at.0 >= duration {
        cx.err(
            &at.key("at"),
            format!(
                "the fault starts at {}s, at or after the end of the run ({}s)",
                f.at.0.as_secs_f64(),
                duration.as_secs_f64()
            ),
        );
    }
}

/// What a spot interruption or a capacity shortage names.
pub(super) enum Hit<'a> {
    /// One training job, by index.
    Job(usize),
    /// An instance type.
    Type(&'a str),
}

/// Reads `job` and `instance_type` of `f`: exactly one of them, and a job
/// the scenario has. `needs` is what to ask for when neither is set.
pub(super) fn job_or_type<'a>(
    cx: &mut Cx<'_>,
    f: &'a RawFault,
    at: &FieldPath,
    raw: &RawScenario,
    needs: &str,
) -> Option<Hit<'a>> {
    match (&f.job, &f.instance_type) {
        (Some(_), Some(_)) => {
            cx.err(
                &at.key("instance_type"),
                "give `job` or `instance_type`, not both",
            );
            None
        }
        (Some(name), None) => match raw.training_jobs.iter().position(|j| &j.name == name) {
            Some(i) => Some(Hit::Job(i)),
            None => {
                cx.unknown(
                    &at.key("job"),
                    "training job",
                    name,
                    raw.training_jobs.iter().map(|j| j.name.as_str()),
                );
                None
            }
        },
        (None, Some(ty)) => Some(Hit::Type(ty)),
        (None, None) => {
            let kind = f.kind.as_str();
            cx.err(at, format!("fault kind \"{kind}\" needs {needs}"));
            None
        }
    }
}
