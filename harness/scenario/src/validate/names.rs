//! The name table every section looks names up in, with the one way to
//! say a name is unknown (and suggest the nearest).

use super::Cx;
use crate::diag::FieldPath;
use crate::raw::RawScenario;

/// Endpoint and variant names, by index.
pub(super) struct Names<'r> {
    endpoints: Vec<(&'r str, Vec<&'r str>)>,
}

impl<'r> Names<'r> {
    /// The table of `raw`'s endpoints and their variants.
    pub(super) fn new(raw: &'r RawScenario) -> Self {
        Names {
            endpoints: raw
                .endpoints
                .iter()
                .map(|e| {
                    (
                        e.name.as_str(),
                        e.variant.iter().map(|v| v.name.as_str()).collect(),
                    )
                })
                .collect(),
        }
    }

    /// The index of endpoint `name`; unknown: a diagnostic at `at`.
    pub(super) fn endpoint(&self, cx: &mut Cx<'_>, at: &FieldPath, name: &str) -> Option<usize> {
        let e = self.endpoints.iter().position(|e| e.0 == name);
        if e.is_none() {
            cx.unknown(at, "endpoint", name, self.endpoints.iter().map(|e| e.0));
        }
        e
    }

    /// The index of variant `name` of endpoint `e`; unknown: a diagnostic.
    pub(super) fn variant(
        &self,
        cx: &mut Cx<'_>,
        at: &FieldPath,
        e: usize,
        name: &str,
    ) -> Option<usize> {
        let variants = &self.endpoints[e].1;
        let v = variants.iter().position(|v| *v == name);
        if v.is_none() {
            cx.unknown(at, "variant", name, variants.iter().copied());
        }
        v
    }
}
