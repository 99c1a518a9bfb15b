//! `capacity_shortage` faults: a shortage of one instance type, named
//! directly or through a training job on it. The type must be one the
//! scenario uses (an endpoint variant's or a training job's), since a
//! shortage of anything else could not change the run.

use gameday_core::capacity::ShortageSpec;

use super::Cx;
use crate::diag::FieldPath;
use crate::raw::{RawFault, RawScenario};

/// Checks and builds a `capacity_shortage`.
pub(super) fn build_shortage(
    cx: &mut Cx<'_>,
    f: &RawFault,
    at: &FieldPath,
    raw: &RawScenario,
) -> Option<ShortageSpec> {
    let kind = f.kind.as_str();
    let before = cx.diags.len();
    cx.only(
        at,
        "fault kind",
        kind,
        &f.fields_set(&["job", "instance_type"]),
        &["for"],
    );
    let in_use: Vec<&str> = raw
        .endpoints
        .iter()
        .flat_map(|e| &e.variant)
        .map(|v| v.instance_type.as_str())
        .chain(raw.training_jobs.iter().map(|j| j.instance_type.as_str()))
        .collect();
    let instance_type = match (&f.job, &f.instance_type) {
        (Some(_), Some(_)) => {
            cx.err(
                &at.key("instance_type"),
                "give `job` or `instance_type`, not both",
            );
            return None;
        }
        (Some(name), None) => match raw.training_jobs.iter().find(|j| &j.name == name) {
            Some(j) => j.instance_type.clone(),
            None => {
                cx.unknown(
                    &at.key("job"),
                    "training job",
                    name,
                    raw.training_jobs.iter().map(|j| j.name.as_str()),
                );
                return None;
            }
        },
        (None, Some(ty)) => {
            if !in_use.contains(&ty.as_str()) {
                let mut seen: Vec<&str> = Vec::new();
                for t in &in_use {
                    if !seen.contains(t) {
                        seen.push(t);
                    }
                }
                cx.unknown(
                    &at.key("instance_type"),
                    "instance type of an endpoint variant or training job",
                    ty,
                    seen,
                );
                return None;
            }
            ty.clone()
        }
        (None, None) => {
            cx.err(
                at,
                format!("fault kind \"{kind}\" needs `instance_type` (or `job`)"),
            );
            return None;
        }
    };
    if cx.diags.len() > before {
        return None;
    }
    Some(ShortageSpec {
        at: f.at.0,
        duration: f.for_.map(|d| d.0),
        instance_type,
    })
}
