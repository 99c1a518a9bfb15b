//! `az_outage` faults: an availability zone goes dark for every endpoint
//! with instances in it.

use std::time::Duration;

use gameday_core::spec::{zone_name, ZoneOutageSpec};

use super::Cx;
use crate::diag::{quote, FieldPath};
use crate::raw::{RawFault, RawScenario};

/// The default and the largest `zones` of an endpoint.
pub(super) const DEFAULT_ZONES: i64 = 3;
/// AWS regions have at most six zones.
pub(super) const MAX_ZONES: i64 = 6;

/// Checks and builds an `az_outage`.
pub(super) fn build_outage(
    cx: &mut Cx<'_>,
    f: &RawFault,
    at: &FieldPath,
    raw: &RawScenario,
    duration: Duration,
) -> Option<ZoneOutageSpec> {
    let kind = f.kind.as_str();
    let before = cx.diags.len();
    cx.only(
        at,
        "fault kind",
        kind,
        &f.fields_set(&[]),
        &["for", "zone", "detect_after"],
    );
    super::faults::starts_in_run(cx, f, at, duration);
    let zones = raw
        .endpoints
        .iter()
        .map(|e| e.zones.unwrap_or(DEFAULT_ZONES).clamp(1, MAX_ZONES))
        .max()
        .unwrap_or(0) as u8;
    let names: Vec<String> = (0..zones).map(|z| zone_name(z).to_string()).collect();
    let zone = match &f.zone {
        None => {
            cx.err(
                at,
                format!("fault kind \"{kind}\" needs `zone`, like zone = \"b\""),
            );
            None
        }
        Some(z) => {
            // "b", or a full zone name whose last letter is the zone.
            let letter = z.chars().last().filter(|c| c.is_ascii_lowercase());
            match letter.map(|c| c as u8 - b'a').filter(|&i| i < zones) {
                Some(i) => Some(i),
                None => {
                    cx.err(
                        &at.key("zone"),
                        format!(
                            "unknown zone {}: the endpoints spread over zones {} (set an endpoint's `zones` for more)",
                            quote(z),
                            names.join(", ")
                        ),
                    );
                    None
                }
            }
        }
    };
    if cx.diags.len() > before {
        return None;
    }
    Some(ZoneOutageSpec {
        at: f.at.0,
        duration: f.for_.map(|d| d.0),
        zone: zone?,
        detect_after: f
            .detect_after
            .map_or(gameday_core::fault_kinds::DEFAULT_DETECT_AFTER, |d| d.0),
    })
}
