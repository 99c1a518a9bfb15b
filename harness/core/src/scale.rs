//! One time scale for a whole scenario.
//!
//! A wall-clock run may compress a scenario's timeline `x`-fold so that a
//! ten-minute game day runs in thirty seconds: every duration on the
//! scenario's timeline (traffic length and phases, fault start times and
//! windows, crash detection, provisioning, training waits, limits, steps
//! and checkpoints) is divided by `x`, while what a request costs in real
//! time — service times, injected latency, client timeouts — stays real,
//! and so do arrival rates. [`TimeScale`] does the compressing, once, for
//! the whole scenario (and for faults an operator injects while it runs),
//! and maps what the run measured back to **scenario time** for its
//! report: event times, durations, instance-hours and cost as if the run
//! had lasted its full length.
//!
//! Every spec is destructured field by field, with no `..`, so a new
//! duration field does not compile until it is given a rule here.

use std::time::Duration;

use crate::arrival::ArrivalSpec;
use crate::autoscaling::{AutoscalingSpec, ScheduledSpec, StepPolicySpec, TargetTrackingSpec};
use crate::capacity::ShortageSpec;
use crate::features::{FeatureGroupSpec, FeatureOutageSpec, FeatureStoreSpec, FeatureUseSpec};
use crate::outcome::VariantCost;
use crate::spec::{
    EndpointSpec, FaultKind, FaultSpec, FaultTarget, InstanceTypeSpec, PlatformSpec, VariantSpec,
    WorkloadSpec, ZoneOutageSpec,
};
use crate::time::{div_duration, SimTime};
use crate::training::{
    Interruption, SpotMarketSpec, TrainingFaultSpec, TrainingJobSpec, TrainingOutcome,
    TrainingSpec, TrainingWork,
};

/// A scenario's time compression: `x` scenario seconds pass in one real
/// second. `x = 1` changes nothing (and maps every value to itself).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeScale(f64);

impl Default for TimeScale {
    fn default() -> Self {
        TimeScale(1.0)
    }
}

impl TimeScale {
    /// A scale of `x`; scenario validation keeps it within
    /// [0.001, 1e6], and anything not finite and positive is taken as 1.
    pub fn new(x: f64) -> Self {
        TimeScale(if x.is_finite() && x > 0.0 { x } else { 1.0 })
    }

    /// The factor `x`.
    pub fn factor(self) -> f64 {
        self.0
    }

    /// True for the identity scale.
    pub fn is_identity(self) -> bool {
        self.0 == 1.0
    }

    /// A scenario duration in real time.
    pub fn compress(self, d: Duration) -> Duration {
        div_duration(d, self.0)
    }

    /// A real time (since the run started) in scenario time.
    pub fn to_scenario(self, t: SimTime) -> SimTime {
        if self.is_identity() {
            return t;
        }
        SimTime::from_secs_f64(t.as_secs_f64() * self.0)
    }

    /// Real seconds in scenario seconds.
    pub fn secs_to_scenario(self, s: f64) -> f64 {
        s * self.0
    }

    /// The platform, its timeline compressed.
    pub fn platform(self, spec: &PlatformSpec) -> PlatformSpec {
        let PlatformSpec {
            endpoints,
            faults,
            shortages,
            zone_outages,
            feature_store,
        } = spec;
        PlatformSpec {
            endpoints: endpoints.iter().map(|e| self.endpoint(e)).collect(),
            faults: faults.iter().map(|f| self.fault(f)).collect(),
            shortages: shortages.iter().map(|s| self.shortage(s)).collect(),
            zone_outages: zone_outages
                .iter()
                .map(|z| ZoneOutageSpec {
                    at: self.compress(z.at),
                    duration: z.duration.map(|d| self.compress(d)),
                    detect_after: self.compress(z.detect_after),
                    zone: z.zone,
                })
                .collect(),
            feature_store: self.feature_store(feature_store),
        }
    }

    /// The feature store: record refreshes, cache TTLs and outage windows
    /// are on the timeline; a lookup's latency, the added latency of a
    /// slow store, the container's lookup timeout and the call quotas are
    /// what a request meets in real time, and stay real.
    fn feature_store(self, s: &FeatureStoreSpec) -> FeatureStoreSpec {
        let FeatureStoreSpec {
            groups,
            uses,
            outages,
            quotas,
        } = s;
        FeatureStoreSpec {
            groups: groups
                .iter()
                .map(|g| {
                    let FeatureGroupSpec {
                        name,
                        records,
                        zipf,
                        latency,
                        refresh,
                        features,
                        record_identifier,
                        event_time_feature,
                        data,
                    } = g;
                    FeatureGroupSpec {
                        name: name.clone(),
                        records: *records,
                        zipf: *zipf,
                        latency: latency.clone(),
                        refresh: refresh.map(|d| self.compress(d)),
                        features: features.clone(),
                        record_identifier: record_identifier.clone(),
                        event_time_feature: event_time_feature.clone(),
                        data: data.clone(),
                    }
                })
                .collect(),
            uses: uses
                .iter()
                .map(|u| {
                    let FeatureUseSpec {
                        endpoint,
                        groups,
                        timeout,
                        on_failure,
                        cache_ttl,
                        then,
                    } = u;
                    FeatureUseSpec {
                        endpoint: *endpoint,
                        groups: groups.clone(),
                        timeout: *timeout,
                        on_failure: *on_failure,
                        cache_ttl: self.compress(*cache_ttl),
                        then: *then,
                    }
                })
                .collect(),
            outages: outages
                .iter()
                .map(|o| {
                    let FeatureOutageSpec {
                        group,
                        mode,
                        at,
                        duration,
                    } = o;
                    FeatureOutageSpec {
                        group: *group,
                        mode: *mode,
                        at: self.compress(*at),
                        duration: duration.map(|d| self.compress(d)),
                    }
                })
                .collect(),
            quotas: *quotas,
        }
    }

    fn shortage(self, s: &ShortageSpec) -> ShortageSpec {
        let ShortageSpec {
            at,
            duration,
            instance_type,
        } = s;
        ShortageSpec {
            at: self.compress(*at),
            duration: duration.map(|d| self.compress(d)),
            instance_type: instance_type.clone(),
        }
    }

    fn endpoint(self, e: &EndpointSpec) -> EndpointSpec {
        let EndpointSpec {
            name,
            routing,
            zones,
            variants,
        } = e;
        EndpointSpec {
            name: name.clone(),
            routing: *routing,
            zones: *zones,
            variants: variants.iter().map(|v| self.variant(v)).collect(),
        }
    }

    fn variant(self, v: &VariantSpec) -> VariantSpec {
        let VariantSpec {
            name,
            model,
            weight,
            instance,
            instance_count,
            concurrency,
            service,
            external,
            model_load,
            autoscaling,
            multi_model,
            error_rate,
            shadow,
        } = v;
        VariantSpec {
            name: name.clone(),
            model: model.clone(),
            weight: *weight,
            instance: self.instance(instance),
            instance_count: *instance_count,
            concurrency: *concurrency,
            // Real: a request takes as long as it takes.
            service: service.clone(),
            external: *external,
            model_load: self.compress(*model_load),
            autoscaling: autoscaling.as_ref().map(|a| self.autoscaling(a)),
            // Downloads, loads and the 60 s wait are part of a request's
            // latency, which stays real, like its service time.
            multi_model: multi_model.clone(),
            // A share of requests: no time in it.
            error_rate: *error_rate,
            shadow: *shadow,
        }
    }

    fn instance(self, i: &InstanceTypeSpec) -> InstanceTypeSpec {
        let InstanceTypeSpec {
            name,
            price_per_hour,
            provisioning_min,
            provisioning_max,
            vcpus,
            gpus,
        } = i;
        InstanceTypeSpec {
            name: name.clone(),
            price_per_hour: *price_per_hour,
            provisioning_min: self.compress(*provisioning_min),
            provisioning_max: self.compress(*provisioning_max),
            vcpus: *vcpus,
            gpus: *gpus,
        }
    }

    /// A target-tracking policy, its cooldowns compressed.
    pub fn tracking(self, t: &TargetTrackingSpec) -> TargetTrackingSpec {
        TargetTrackingSpec {
            scale_out_cooldown: self.compress(t.scale_out_cooldown),
            scale_in_cooldown: self.compress(t.scale_in_cooldown),
            ..t.clone()
        }
    }

    /// Autoscaling, its cooldowns and schedule compressed. Alarm periods
    /// stay: they count metric periods, which
    /// [`crate::Platform::set_time_scale`] compresses.
    fn autoscaling(self, a: &AutoscalingSpec) -> AutoscalingSpec {
        let AutoscalingSpec {
            min,
            max,
            target_tracking,
            step,
            scheduled,
        } = a;
        AutoscalingSpec {
            min: *min,
            max: *max,
            target_tracking: target_tracking.iter().map(|t| self.tracking(t)).collect(),
            step: step
                .iter()
                .map(|s| StepPolicySpec {
                    cooldown: self.compress(s.cooldown),
                    ..s.clone()
                })
                .collect(),
            scheduled: scheduled
                .iter()
                .map(|s| ScheduledSpec {
                    at: self.compress(s.at),
                    ..s.clone()
                })
                .collect(),
        }
    }

    /// A fault, its timeline compressed: start time, window and crash
    /// detection shrink; injected latency is a request's real time and
    /// stays. Scheduled and operator-injected faults both come here.
    pub fn fault(self, f: &FaultSpec) -> FaultSpec {
        let FaultSpec {
            at,
            duration,
            target,
            kind,
        } = f;
        let FaultTarget { endpoint, variant } = *target;
        FaultSpec {
            at: self.compress(*at),
            duration: duration.map(|d| self.compress(d)),
            target: FaultTarget { endpoint, variant },
            kind: match kind {
                FaultKind::InstanceCrash {
                    count,
                    detect_after,
                } => FaultKind::InstanceCrash {
                    count: *count,
                    detect_after: self.compress(*detect_after),
                },
                FaultKind::LatencyInjection { delay } => {
                    FaultKind::LatencyInjection { delay: *delay }
                }
                FaultKind::ErrorInjection { rate, status } => FaultKind::ErrorInjection {
                    rate: *rate,
                    status: *status,
                },
                FaultKind::Blackhole => FaultKind::Blackhole,
                FaultKind::ModelDownloadSlow { factor } => {
                    FaultKind::ModelDownloadSlow { factor: *factor }
                }
                FaultKind::ModelLoadFailure { rate, model } => FaultKind::ModelLoadFailure {
                    rate: *rate,
                    model: *model,
                },
            },
        }
    }

    /// A fault as the platform holds it, back in scenario time (for
    /// listing faults to an operator).
    pub fn fault_to_scenario(self, f: &FaultSpec) -> FaultSpec {
        TimeScale(1.0 / self.0).fault(f)
    }

    /// An arrival process, its phases compressed (rates stay real).
    pub fn arrival(self, a: &ArrivalSpec) -> ArrivalSpec {
        a.compress_time(self.0)
    }

    /// A workload: its arrival phases compressed; its client timeout is a
    /// request's real time and stays.
    pub fn workload(self, w: &WorkloadSpec) -> WorkloadSpec {
        let WorkloadSpec {
            name,
            endpoint,
            arrival,
            timeout,
            target_variant,
            target_model,
        } = w;
        WorkloadSpec {
            name: name.clone(),
            endpoint: *endpoint,
            arrival: self.arrival(arrival),
            timeout: *timeout,
            target_variant: *target_variant,
            target_model: target_model.clone(),
        }
    }

    /// Training jobs, their timeline compressed: waits, limits, notice,
    /// checkpoint interval and cost, modelled step times. A real process's
    /// own speed is its own.
    pub fn training(self, t: &TrainingSpec) -> TrainingSpec {
        let TrainingSpec { jobs, faults } = t;
        TrainingSpec {
            jobs: jobs.iter().map(|j| self.job(j)).collect(),
            faults: faults
                .iter()
                .map(|f| {
                    let TrainingFaultSpec { at, jobs } = f;
                    TrainingFaultSpec {
                        at: self.compress(*at),
                        jobs: jobs.clone(),
                    }
                })
                .collect(),
        }
    }

    fn job(self, j: &TrainingJobSpec) -> TrainingJobSpec {
        let s = |d: Duration| self.compress(d);
        let TrainingJobSpec {
            name,
            instance,
            instance_count,
            spot,
            max_run,
            max_wait,
            checkpoint_every,
            checkpoint_cost,
            checkpoint_on_notice,
            download,
            upload,
            stop_grace,
            work,
            market,
        } = j;
        let SpotMarketSpec {
            mtbi,
            capacity_wait_min,
            capacity_wait_max,
            price_ratio,
            notice,
        } = market;
        TrainingJobSpec {
            name: name.clone(),
            instance: self.instance(instance),
            instance_count: *instance_count,
            spot: *spot,
            max_run: s(*max_run),
            max_wait: max_wait.map(s),
            checkpoint_every: checkpoint_every.map(s),
            checkpoint_cost: s(*checkpoint_cost),
            checkpoint_on_notice: *checkpoint_on_notice,
            download: s(*download),
            upload: s(*upload),
            stop_grace: s(*stop_grace),
            work: match work {
                TrainingWork::Modelled { steps, step_time } => TrainingWork::Modelled {
                    steps: *steps,
                    step_time: s(*step_time),
                },
                TrainingWork::External => TrainingWork::External,
            },
            market: SpotMarketSpec {
                mtbi: mtbi.map(s),
                capacity_wait_min: s(*capacity_wait_min),
                capacity_wait_max: s(*capacity_wait_max),
                price_ratio: *price_ratio,
                notice: s(*notice),
            },
        }
    }

    // ----- back to scenario time -------------------------------------------

    /// Instance time and cost measured in real time, as the full-length
    /// scenario would have billed them.
    pub fn cost_to_scenario(self, c: &VariantCost) -> VariantCost {
        let VariantCost {
            endpoint,
            variant,
            instance_seconds,
            cost_usd,
        } = *c;
        VariantCost {
            endpoint,
            variant,
            instance_seconds: instance_seconds * self.0,
            cost_usd: cost_usd * self.0,
        }
    }

    /// A training job's outcome in scenario time: its status history and
    /// interruptions at scenario times, its held, billable and wall time
    /// and its cost as the full-length job would have run up.
    pub fn outcome_to_scenario(self, o: &TrainingOutcome) -> TrainingOutcome {
        let t = |at: SimTime| self.to_scenario(at);
        let TrainingOutcome {
            name,
            status,
            secondary_status,
            status_history,
            interruptions,
            checkpoints,
            steps_total,
            steps_done,
            steps_lost,
            resumed_from,
            training_time_s,
            billable_time_s,
            wall_time_s,
            cost_usd,
            on_demand_cost_usd,
            savings_pct,
            ended_at,
        } = o;
        TrainingOutcome {
            name: name.clone(),
            status: *status,
            secondary_status: *secondary_status,
            status_history: status_history.iter().map(|&(at, s)| (t(at), s)).collect(),
            interruptions: interruptions
                .iter()
                .map(|i| {
                    let Interruption {
                        notice_at,
                        reclaimed_at,
                        lost_ns,
                        steps_lost,
                    } = *i;
                    Interruption {
                        notice_at: t(notice_at),
                        reclaimed_at: t(reclaimed_at),
                        lost_ns: (lost_ns as f64 * self.0) as u64,
                        steps_lost,
                    }
                })
                .collect(),
            checkpoints: *checkpoints,
            steps_total: *steps_total,
            steps_done: *steps_done,
            steps_lost: *steps_lost,
            resumed_from: resumed_from.clone(),
            training_time_s: training_time_s * self.0,
            billable_time_s: billable_time_s * self.0,
            wall_time_s: wall_time_s * self.0,
            cost_usd: cost_usd * self.0,
            on_demand_cost_usd: on_demand_cost_usd * self.0,
            savings_pct: *savings_pct,
            ended_at: ended_at.map(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::ServiceDist;
    use crate::spec::Routing;

    fn spec() -> PlatformSpec {
        PlatformSpec {
            endpoints: vec![EndpointSpec {
                name: "ep".into(),
                routing: Routing::Random,
                zones: 3,
                variants: vec![VariantSpec {
                    name: "A".into(),
                    model: "m".into(),
                    weight: 1.0,
                    instance: InstanceTypeSpec {
                        name: "ml.m5.xlarge".into(),
                        price_per_hour: 0.23,
                        provisioning_min: Duration::from_secs(240),
                        provisioning_max: Duration::from_secs(360),
                        vcpus: 4,
                        gpus: 0,
                    },
                    instance_count: 2,
                    concurrency: 1,
                    service: ServiceDist::constant(0.010).unwrap(),
                    external: false,
                    model_load: Duration::ZERO,
                    autoscaling: None,
                    multi_model: None,
                    error_rate: 0.0,
                    shadow: None,
                }],
            }],
            faults: vec![FaultSpec {
                at: Duration::from_secs(120),
                duration: Some(Duration::from_secs(60)),
                target: FaultTarget {
                    endpoint: 0,
                    variant: None,
                },
                kind: FaultKind::LatencyInjection {
                    delay: Duration::from_millis(200),
                },
            }],
            shortages: vec![],
            zone_outages: vec![],
            feature_store: Default::default(),
        }
    }

    #[test]
    fn the_timeline_shrinks_and_real_request_time_stays() {
        let x = TimeScale::new(20.0);
        let p = x.platform(&spec());
        let i = &p.endpoints[0].variants[0].instance;
        assert_eq!(i.provisioning_min, Duration::from_secs(12));
        assert_eq!(i.provisioning_max, Duration::from_secs(18));
        let f = &p.faults[0];
        assert_eq!(f.at, Duration::from_secs(6));
        assert_eq!(f.duration, Some(Duration::from_secs(3)));
        assert_eq!(
            f.kind,
            FaultKind::LatencyInjection {
                delay: Duration::from_millis(200)
            },
            "injected latency is request time"
        );
        assert_eq!(
            format!("{:?}", x.fault_to_scenario(f)),
            format!("{:?}", spec().faults[0])
        );
    }

    #[test]
    fn the_identity_scale_changes_nothing() {
        let x = TimeScale::new(1.0);
        assert_eq!(
            format!("{:?}", x.platform(&spec())),
            format!("{:?}", spec())
        );
        let t = SimTime::from_nanos(123_456_789);
        assert_eq!(x.to_scenario(t), t);
        assert_eq!(TimeScale::new(f64::NAN), TimeScale::default());
    }

    #[test]
    fn measured_cost_maps_back_to_the_full_length() {
        let x = TimeScale::new(20.0);
        let c = x.cost_to_scenario(&VariantCost {
            endpoint: 0,
            variant: 0,
            instance_seconds: 30.0,
            cost_usd: 0.5,
        });
        assert_eq!((c.instance_seconds, c.cost_usd), (600.0, 10.0));
        assert_eq!(
            x.to_scenario(SimTime::from_secs_f64(1.5)),
            SimTime::from_secs_f64(30.0)
        );
    }
}
