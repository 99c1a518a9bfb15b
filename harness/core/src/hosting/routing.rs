//! Routing: which variant (by weight) and which instance (random or
//! least outstanding requests) a request goes to.

use super::{index, Hosting, Request};
use crate::dist::unit;
use crate::spec::Routing;
use crate::time::SimTime;

impl Hosting {
    pub(super) fn pick_variant(&mut self, e: usize) -> usize {
        let ep = &mut self.endpoints[e];
        if let Some(v) = ep.only_variant {
            return v as usize;
        }
        let n = ep.cumulative_weights.len();
        let total = ep.cumulative_weights[n - 1];
        let u = unit(&mut ep.rng) * total;
        ep.cumulative_weights
            .partition_point(|&c| c <= u)
            .min(n - 1)
    }

    /// Copies a request that variant `v` took to the shadows of `v`, each
    /// with its sampling share. A copy is a request of its own to the
    /// shadow variant (its result carries the shadow's index); nobody
    /// waits for its answer.
    // Out of line: it calls `handle_request` again, and kept apart, that
    // recursion does not stop `handle_request` from being inlined.
    #[cold]
    #[inline(never)]
    pub(super) fn copy_to_shadows(&mut self, now: SimTime, req: Request, v: usize) {
        for i in 0..self.endpoints[req.endpoint as usize].shadows.len() {
            let ep = &mut self.endpoints[req.endpoint as usize];
            let (of, shadow, sampling) = ep.shadows[i];
            if of as usize == v && unit(&mut ep.shadow_rng) < sampling {
                self.handle_request(
                    now,
                    Request {
                        target_variant: Some(shadow),
                        ..req
                    },
                );
            }
        }
    }

    pub(super) fn pick_instance(&mut self, e: usize, v: usize) -> Option<u32> {
        let ep = &mut self.endpoints[e];
        let routable = &ep.variants[v].routable;
        let n = routable.len();
        match (n, ep.routing) {
            (0, _) => None,
            (1, _) => Some(routable[0]),
            (_, Routing::Random) => Some(routable[index(&mut ep.rng, n)]),
            (_, Routing::LeastOutstandingRequests) => {
                // Fewest outstanding; ties go to the first after a rotating
                // cursor so equal instances share the load.
                let start = ep.lor_cursor % n;
                ep.lor_cursor = ep.lor_cursor.wrapping_add(1);
                let mut best = routable[start];
                let mut best_load = self.instances[best as usize].outstanding;
                for k in 1..n {
                    let id = routable[(start + k) % n];
                    let load = self.instances[id as usize].outstanding;
                    if load < best_load {
                        best = id;
                        best_load = load;
                    }
                }
                Some(best)
            }
        }
    }
}
