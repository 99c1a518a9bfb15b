//! `capacity_shortage` faults: a shortage of one instance type, named
//! directly or through a training job on it. The type must be one the
//! scenario uses (an endpoint variant's or a training job's), since a
//! shortage of anything else could not change the run.

use gameday_core::capacity::ShortageSpec;

use super::faults::{job_or_type, Hit};
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
    let instance_type = match job_or_type(cx, f, at, raw, "`instance_type` (or `job`)")? {
        Hit::Job(i) => raw.training_jobs[i].instance_type.clone(),
        Hit::Type(ty) => {
            if !in_use.contains(&ty) {
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
            ty.to_string()
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
