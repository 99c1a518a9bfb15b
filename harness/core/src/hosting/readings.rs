//! Reading hosting's state: gauges, cost, occupancy, the level
//! integrals the metrics component takes at each period boundary, and
//! names.

use super::Hosting;
use crate::metrics::{LevelAreas, SeriesOf};
use crate::outcome::{VariantCost, VariantGauge};
use crate::time::SimTime;

impl Hosting {
    /// Snapshots every variant's fleet and queues, resetting the
    /// max-queue-depth watermark.
    pub fn gauges(&mut self, out: &mut Vec<VariantGauge>) {
        for (e, ep) in self.endpoints.iter_mut().enumerate() {
            for (v, vs) in ep.variants.iter_mut().enumerate() {
                out.push(VariantGauge {
                    endpoint: e as u16,
                    variant: v as u16,
                    instances_in_service: vs.serving(),
                    queue_depth: vs.queue_depth,
                    max_queue_depth: vs.max_queue_depth,
                    busy_slots: vs.busy_slots.get(),
                    desired: vs.fleet.desired,
                    provisioning: vs.fleet.provisioning,
                    draining: vs.fleet.draining,
                    policy_metric: None,
                    loaded_models: vs.mme.as_ref().map(|m| m.loaded.get()),
                });
                vs.max_queue_depth = vs.queue_depth;
            }
        }
    }

    /// Instance lifetime and cost per variant, billing every instance from
    /// launch until it was terminated or `end`, whichever is first.
    pub fn cost(&self, end: SimTime) -> Vec<VariantCost> {
        let mut out = Vec::new();
        for (e, ep) in self.endpoints.iter().enumerate() {
            for (v, vs) in ep.variants.iter().enumerate() {
                let nanos: u64 = self
                    .instances
                    .iter()
                    .filter(|i| i.endpoint as usize == e && i.variant as usize == v)
                    .map(|i| {
                        i.ended_at
                            .unwrap_or(end)
                            .min(end)
                            .nanos_since(i.launched_at)
                    })
                    .sum();
                let secs = nanos as f64 / 1e9;
                out.push(VariantCost {
                    endpoint: e as u16,
                    variant: v as u16,
                    instance_seconds: secs,
                    cost_usd: secs / 3600.0 * vs.spec.instance.price_per_hour,
                });
            }
        }
        out
    }

    /// Every variant's level integrals up to `now`, endpoint by endpoint,
    /// for the metrics component.
    ///
    /// `ops` gets each variant's model downloads, loads and unloads since
    /// the last call, taken (left empty when no variant is multi-model).
    pub fn level_areas(
        &mut self,
        now: SimTime,
        out: &mut Vec<LevelAreas>,
        ops: &mut Vec<super::ModelOps>,
    ) {
        out.clear();
        ops.clear();
        for vs in self.endpoints.iter_mut().flat_map(|ep| &mut ep.variants) {
            out.push(LevelAreas {
                in_service: vs.in_service.area_at(now),
                busy: vs.busy_slots.area_at(now),
                in_system: vs.in_system.area_at(now),
                loaded_models: vs.mme.as_ref().map_or(0, |m| m.loaded.area_at(now)),
            });
        }
        if self.multi_model {
            for vs in self.endpoints.iter_mut().flat_map(|ep| &mut ep.variants) {
                ops.push(
                    vs.mme
                        .as_mut()
                        .map_or_else(Default::default, |m| std::mem::take(&mut m.ops)),
                );
            }
        }
    }

    /// What the metrics component needs of every variant.
    pub(crate) fn variant_series(&self) -> impl Iterator<Item = SeriesOf> + '_ {
        self.endpoints.iter().enumerate().flat_map(|(e, ep)| {
            ep.variants.iter().enumerate().map(move |(v, vs)| SeriesOf {
                endpoint: e as u16,
                variant: v as u16,
                concurrency: vs.spec.concurrency.max(1),
                vcpus: vs.spec.instance.vcpus,
                gpus: vs.spec.instance.gpus,
            })
        })
    }

    /// Time-average number of requests inside `endpoint` (queued or in
    /// service) over `[0, until]`, measured from the platform's own state
    /// changes. Little's law says it equals throughput × mean latency.
    pub fn mean_in_system(&self, endpoint: usize, until: SimTime) -> f64 {
        let ep = &self.endpoints[endpoint];
        let area =
            ep.in_system_area + ep.in_system as f64 * until.nanos_since(ep.last_change) as f64;
        area / until.as_nanos().max(1) as f64
    }

    /// The endpoint and variant names, for drivers that route by name.
    pub fn names(&self) -> impl Iterator<Item = (&str, Vec<&str>)> {
        self.endpoints.iter().map(|ep| {
            (
                ep.name.as_str(),
                ep.variants.iter().map(|v| v.spec.name.as_str()).collect(),
            )
        })
    }
}
