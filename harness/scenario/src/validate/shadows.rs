//! `shadow = { of, sampling }`: a variant that gets copies of a
//! production variant's requests (SageMaker's shadow tests).

use gameday_core::spec::ShadowSpec;

use super::Cx;
use crate::diag::{quote, FieldPath};
use crate::raw::{RawEndpoint, RawShadow};
use crate::ClockKind;

/// Checks variant `v`'s shadow block and resolves the variant it copies.
pub(super) fn build(
    cx: &mut Cx<'_>,
    ep: &RawEndpoint,
    v: usize,
    sh: &RawShadow,
    at: &FieldPath,
    multi_model: bool,
    clock: ClockKind,
) -> Option<ShadowSpec> {
    let at = at.key("shadow");
    if multi_model {
        cx.err(
            &at,
            "shadow variants of a multi-model endpoint are not modelled: shadow a single-model variant",
        );
        return None;
    }
    if clock == ClockKind::Wall {
        cx.err(
            &at,
            "shadow variants run on the virtual clock for now: use clock = \"virtual\" (the wall clock's server does not copy requests yet)",
        );
        return None;
    }
    let production = || {
        ep.variant
            .iter()
            .filter(|o| o.shadow.is_none())
            .map(|o| o.name.as_str())
    };
    let of = match ep.variant.iter().position(|o| o.name == sh.of) {
        None => {
            cx.unknown(&at.key("of"), "variant", &sh.of, production());
            return None;
        }
        Some(o) if o == v => {
            cx.err(
                &at.key("of"),
                format!(
                    "variant {} cannot shadow itself: name the production variant whose requests it copies",
                    quote(&sh.of)
                ),
            );
            return None;
        }
        Some(o) if ep.variant[o].shadow.is_some() => {
            cx.err(
                &at.key("of"),
                format!(
                    "variant {} is a shadow itself: a shadow copies a production variant's requests",
                    quote(&sh.of)
                ),
            );
            return None;
        }
        Some(o) => o,
    };
    let pct = sh.sampling.unwrap_or(100.0);
    if !(pct > 0.0 && pct <= 100.0) {
        cx.err(
            &at.key("sampling"),
            format!("sampling is the percentage of {}'s requests copied, more than 0 and at most 100, got {pct}", quote(&sh.of)),
        );
        return None;
    }
    Some(ShadowSpec {
        of: of as u16,
        sampling: pct / 100.0,
    })
}
