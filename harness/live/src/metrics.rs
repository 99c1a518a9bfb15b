//! Live metrics in Prometheus text format under SageMaker's CloudWatch
//! names, labelled with CloudWatch's dimensions (`EndpointName`,
//! `VariantName`), so a Grafana board can watch a game day as it runs.
//!
//! Every figure comes from the core's metrics component through an engine
//! snapshot ([`crate::engine::VariantMetrics`]): counters are running
//! totals, gauges are the newest **complete** CloudWatch datapoint (60 s,
//! or 10 s for the high-resolution `ConcurrentRequestsPerModel`), which is
//! what an alarm on the real endpoint would see. Only requests refused
//! before they reached the platform are counted here.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use gameday_core::autoscaling::{AlarmState, TargetReport};
use gameday_core::metrics::Datapoint;

use crate::engine::VariantMetrics;

/// The dimensions of every variant and the server's own counter.
#[derive(Debug)]
pub struct Metrics {
    names: Vec<(String, String)>,
    /// Index in `names` of each endpoint's first variant.
    offsets: Vec<usize>,
    rejected: AtomicU64,
}

/// One metric family: name, type, help text, and its value per variant.
type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&VariantMetrics) -> f64,
);

/// A gauge read from a datapoint; 0 before the first period ends.
fn gauge(d: Option<Datapoint>, f: fn(&Datapoint) -> f64) -> f64 {
    d.as_ref().map_or(0.0, f)
}

const FAMILIES: &[Family] = &[
    (
        "Invocations",
        "counter",
        "InvokeEndpoint requests sent to the variant.",
        |m| m.totals.invocations as f64,
    ),
    (
        "Invocation4XXErrors",
        "counter",
        "Invocations answered with a 4xx status (ModelError included).",
        |m| m.totals.errors_4xx as f64,
    ),
    (
        "Invocation5XXErrors",
        "counter",
        "Invocations answered with a 5xx status.",
        |m| m.totals.errors_5xx as f64,
    ),
    (
        "InvocationsPerInstance",
        "gauge",
        "Invocations in the last complete minute over the instances in service then.",
        |m| gauge(m.standard, |d| d.invocations_per_instance),
    ),
    (
        "CPUUtilization",
        "gauge",
        "Busy request slots over all slots in service, percent of one vCPU (0 to 100 x vCPUs), over the last complete minute.",
        |m| gauge(m.standard, |d| d.cpu_utilization),
    ),
    (
        "ConcurrentRequestsPerModel",
        "gauge",
        "Requests in flight or queued per instance, over the last complete 10 seconds.",
        |m| gauge(m.high_res, |d| d.concurrent_requests_per_model),
    ),
    (
        "gameday_desired_instances",
        "gauge",
        "DesiredInstanceCount of the variant now (autoscaling moves it).",
        |m| f64::from(m.fleet.desired),
    ),
    (
        "gameday_instances_in_service",
        "gauge",
        "Instances serving traffic now.",
        |m| f64::from(m.fleet.in_service),
    ),
    (
        "gameday_instances_provisioning",
        "gauge",
        "Instances launched and not yet serving, or waiting for capacity.",
        |m| f64::from(m.fleet.provisioning + m.fleet.pending),
    ),
];

/// A multi-model gauge over the last complete minute: name, help text,
/// its value (none: no data, written as 0).
type MmeFamily = (&'static str, &'static str, fn(&Datapoint) -> Option<f64>);

/// SageMaker's multi-model metrics, for multi-model variants only.
const MME_FAMILIES: &[MmeFamily] = &[
    (
        "ModelCacheHit",
        "Share of the last complete minute's requests that found their model loaded (Average).",
        |d| d.model_cache_hit,
    ),
    (
        "ModelLoadingWaitTime",
        "Mean microseconds the last complete minute's cold requests waited for their model.",
        |d| d.model_loading_wait.average_us(),
    ),
    (
        "ModelDownloadingTime",
        "Mean microseconds of the last complete minute's model downloads.",
        |d| d.model_downloading.average_us(),
    ),
    (
        "ModelLoadingTime",
        "Mean microseconds of the last complete minute's model loads.",
        |d| d.model_loading.average_us(),
    ),
    (
        "ModelUnloadingTime",
        "Models unloaded in the last complete minute (SampleCount).",
        |d| Some(d.model_unloading.count as f64),
    ),
    (
        "LoadedModelCount",
        "Models loaded, summed over instances, averaged over the last complete minute.",
        |d| Some(d.loaded_model_count),
    ),
];

/// A summary: name, help text, its (sum, count) per variant.
type Summary = (
    &'static str,
    &'static str,
    fn(&VariantMetrics) -> (u64, u64),
);

const SUMMARIES: &[Summary] = &[
    (
        "ModelLatency",
        "Time the model took to answer, microseconds.",
        |m| (m.totals.model_latency.sum_us, m.totals.model_latency.count),
    ),
    (
        "OverheadLatency",
        "Time the platform added to the model's, microseconds.",
        |m| {
            (
                m.totals.overhead_latency.sum_us,
                m.totals.overhead_latency.count,
            )
        },
    ),
];

impl Metrics {
    /// For `endpoints`: `(endpoint name, its variant names)`.
    pub fn new(endpoints: &[(String, Vec<String>)]) -> Self {
        let mut offsets = Vec::new();
        let mut n = 0;
        for (_, vs) in endpoints {
            offsets.push(n);
            n += vs.len();
        }
        Metrics {
            offsets,
            names: endpoints
                .iter()
                .flat_map(|(e, vs)| vs.iter().map(move |v| (e.clone(), v.clone())))
                .collect(),
            rejected: AtomicU64::new(0),
        }
    }

    /// Counts a request refused before it reached the platform (bad path,
    /// bad body, unknown endpoint).
    pub fn reject(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests refused so far.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// Prometheus text exposition (format 0.0.4) of `variants`, in
    /// endpoint-then-variant order as the engine snapshot lists them, and
    /// of the alarms of `scaling`.
    pub fn render(&self, variants: &[VariantMetrics], scaling: &[TargetReport]) -> String {
        let mut out = String::new();
        let label = |i: usize| {
            let (e, v) = &self.names[i];
            format!(
                "EndpointName=\"{}\",VariantName=\"{}\"",
                escape(e),
                escape(v)
            )
        };
        for (name, kind, help, value) in FAMILIES {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (i, m) in variants.iter().enumerate() {
                let _ = writeln!(out, "{name}{{{}}} {}", label(i), value(m));
            }
        }
        for (name, help, value) in SUMMARIES {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} summary");
            for (i, m) in variants.iter().enumerate() {
                let (sum, count) = value(m);
                let _ = writeln!(out, "{name}_sum{{{}}} {sum}", label(i));
                let _ = writeln!(out, "{name}_count{{{}}} {count}", label(i));
            }
        }
        for (name, help, value) in MME_FAMILIES {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            for (i, m) in variants.iter().enumerate().filter(|(_, m)| m.multi_model) {
                let v = m.standard.as_ref().and_then(value).unwrap_or(0.0);
                let _ = writeln!(out, "{name}{{{}}} {v}", label(i));
            }
        }
        let _ = writeln!(
            out,
            "# HELP gameday_alarm_state CloudWatch alarm state: 1 ALARM, 0 OK, -1 INSUFFICIENT_DATA."
        );
        let _ = writeln!(out, "# TYPE gameday_alarm_state gauge");
        for t in scaling {
            let Some(i) = self
                .offsets
                .get(t.endpoint as usize)
                .map(|o| o + t.variant as usize)
                .filter(|&i| i < self.names.len())
            else {
                continue;
            };
            for (name, state, _) in &t.alarms {
                let v = match state {
                    AlarmState::Alarm => 1,
                    AlarmState::Ok => 0,
                    AlarmState::InsufficientData => -1,
                };
                let _ = writeln!(
                    out,
                    "gameday_alarm_state{{{},AlarmName=\"{}\"}} {v}",
                    label(i),
                    escape(name)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP gameday_rejected_requests Requests refused before reaching an endpoint."
        );
        let _ = writeln!(out, "# TYPE gameday_rejected_requests counter");
        let _ = writeln!(out, "gameday_rejected_requests {}", self.rejected());
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use gameday_core::dist::ServiceDist;
    use gameday_core::metrics::Period;
    use gameday_core::spec::*;
    use gameday_core::{Platform, Request, RngStreams, SimTime};

    use super::*;

    /// A one-slot variant of `count` instances serving in 0.5 s.
    fn variant(name: &str, count: u32) -> VariantSpec {
        VariantSpec {
            name: name.into(),
            model: "m".into(),
            weight: 1.0,
            instance: InstanceTypeSpec {
                name: "ml.m5.xlarge".into(),
                price_per_hour: 0.23,
                provisioning_min: Duration::from_secs(60),
                provisioning_max: Duration::from_secs(60),
                vcpus: 4,
                gpus: 0,
            },
            instance_count: count,
            concurrency: 1,
            service: ServiceDist::constant(0.5).unwrap(),
            external: false,
            model_load: std::time::Duration::ZERO,
            autoscaling: None,
            multi_model: None,
            error_rate: 0.0,
            shadow: None,
        }
    }

    /// Two variants, A with two one-slot instances and B with one.
    fn platform() -> Platform {
        let spec = PlatformSpec {
            endpoints: vec![EndpointSpec {
                name: "ep \"1\"".into(),
                routing: Routing::Random,
                zones: 3,
                variants: vec![variant("A", 2), variant("B", 1)],
            }],
            faults: vec![],
            shortages: vec![],
            zone_outages: vec![],
            feature_store: Default::default(),
        };
        Platform::new(&spec, RngStreams::new(1))
    }

    fn snapshot(p: &mut Platform, now: SimTime) -> Vec<VariantMetrics> {
        (0..2)
            .map(|v| VariantMetrics {
                totals: p.metric_totals(0, v),
                standard: p.latest_datapoint(now, 0, v, Period::Standard),
                high_res: p.latest_datapoint(now, 0, v, Period::HighResolution),
                fleet: p.fleet(0, v),
                multi_model: false,
            })
            .collect()
    }

    #[test]
    fn renders_every_sagemaker_metric_per_variant_from_the_core() {
        let mut p = platform();
        // One request a second to B for 70 s; each keeps its slot 0.5 s.
        for k in 0..70u64 {
            let at = SimTime::from_nanos(k * 1_000_000_000);
            while let Some(t) = p.poll_timeout().filter(|&t| t <= at) {
                p.handle_timeout(t);
            }
            p.handle_request(
                at,
                Request {
                    id: k,
                    endpoint: 0,
                    target_variant: Some(1),
                    sent_at: at,
                    timeout_ns: 10_000_000_000,
                    target_model: None,
                },
            );
            while p.poll_result().is_some() {}
        }
        let now = SimTime::from_nanos(70_000_000_000);
        while let Some(t) = p.poll_timeout().filter(|&t| t <= now) {
            p.handle_timeout(t);
        }
        while p.poll_result().is_some() {}
        let m = Metrics::new(&[("ep \"1\"".into(), vec!["A".into(), "B".into()])]);
        m.reject();
        let text = m.render(&snapshot(&mut p, now), &p.scaling());
        let line = |name: &str, v: &str| {
            format!("\n{name}{{EndpointName=\"ep \\\"1\\\"\",VariantName=\"{v}\"}} ")
        };
        for (name, v, value) in [
            ("Invocations", "B", "70"),
            ("Invocations", "A", "0"),
            ("Invocation4XXErrors", "B", "0"),
            ("Invocation5XXErrors", "B", "0"),
            // The first minute: answers at 0.5 s … 59.5 s, one instance.
            ("InvocationsPerInstance", "B", "60"),
            // 50% of one vCPU's worth, as SageMaker counts: × 4 vCPUs.
            ("CPUUtilization", "B", "200"),
            ("CPUUtilization", "A", "0"),
            ("ConcurrentRequestsPerModel", "B", "0.5"),
            ("ModelLatency_sum", "B", "35000000"),
            ("ModelLatency_count", "B", "70"),
            ("OverheadLatency_sum", "B", "0"),
            ("gameday_desired_instances", "A", "2"),
            ("gameday_instances_in_service", "B", "1"),
            ("gameday_instances_provisioning", "A", "0"),
        ] {
            let want = format!("{}{value}\n", line(name, v));
            assert!(text.contains(&want), "{want:?} missing:\n{text}");
        }
        assert!(text.contains("\ngameday_rejected_requests 1\n"));
    }

    #[test]
    fn gauges_read_zero_before_the_first_period_ends() {
        let mut p = platform();
        let m = Metrics::new(&[("ep \"1\"".into(), vec!["A".into(), "B".into()])]);
        let text = m.render(&snapshot(&mut p, SimTime::from_nanos(5_000_000_000)), &[]);
        assert!(text.contains(
            "InvocationsPerInstance{EndpointName=\"ep \\\"1\\\"\",VariantName=\"A\"} 0\n"
        ));
    }

    #[test]
    fn renders_the_multi_model_metrics_for_multi_model_variants_only() {
        use gameday_core::mme::{ModelEntry, MultiModelSpec, LOAD_LIMIT, WAIT_LIMIT};
        let mut spec = PlatformSpec::default();
        let mut v = VariantSpec {
            model: "(multi-model)".into(),
            service: ServiceDist::constant(0.001).unwrap(),
            ..variant("M", 1)
        };
        v.multi_model = Some(Box::new(MultiModelSpec {
            models: (0..2)
                .map(|i| ModelEntry {
                    name: format!("model-{i}"),
                    size_bytes: 1_000_000,
                    weight: 1.0,
                    load_time: Some(Duration::from_secs(1)),
                    service_scale: 1.0,
                })
                .collect(),
            memory_bytes: 10_000_000,
            disk_bytes: 10_000_000,
            download_bytes_per_s: 1e12,
            load_bytes_per_s: 1e12,
            unload_time: Duration::ZERO,
            wait_limit: WAIT_LIMIT,
            load_limit: LOAD_LIMIT,
        }));
        spec.endpoints.push(EndpointSpec {
            name: "mme".into(),
            routing: Routing::Random,
            zones: 1,
            variants: vec![v],
        });
        let mut p = Platform::new(&spec, RngStreams::new(1));
        // model-0 cold (1 s load), hit; model-1 cold; model-0 hit.
        for (k, model) in [0u32, 0, 1, 0].into_iter().enumerate() {
            let at = SimTime::from_nanos(k as u64 * 10_000_000_000);
            while let Some(t) = p.poll_timeout().filter(|&t| t <= at) {
                p.handle_timeout(t);
            }
            p.handle_request(
                at,
                Request {
                    id: k as u64,
                    endpoint: 0,
                    target_variant: None,
                    sent_at: at,
                    timeout_ns: 10_000_000_000,
                    target_model: Some(model),
                },
            );
            while p.poll_result().is_some() {}
        }
        let now = SimTime::from_nanos(70_000_000_000);
        while let Some(t) = p.poll_timeout().filter(|&t| t <= now) {
            p.handle_timeout(t);
            while p.poll_result().is_some() {}
        }
        let m = Metrics::new(&[("mme".into(), vec!["M".into()])]);
        let mut gauges = Vec::new();
        p.gauges(&mut gauges);
        let snap = vec![VariantMetrics {
            totals: p.metric_totals(0, 0),
            standard: p.latest_datapoint(now, 0, 0, Period::Standard),
            high_res: p.latest_datapoint(now, 0, 0, Period::HighResolution),
            fleet: p.fleet(0, 0),
            multi_model: gauges[0].loaded_models.is_some(),
        }];
        let text = m.render(&snap, &[]);
        let plain = Metrics::new(&[("ep \"1\"".into(), vec!["A".into(), "B".into()])]);
        assert!(!plain
            .render(&snapshot(&mut platform(), now), &[])
            .contains("\nModelCacheHit{"));
        for (name, value) in [
            ("ModelCacheHit", "0.5"),
            // A 1 µs download (1 MB at 1 TB/s), then the 1 s load.
            ("ModelLoadingWaitTime", "1000001"),
            ("ModelDownloadingTime", "1"),
            ("ModelLoadingTime", "1000000"),
            ("ModelUnloadingTime", "0"),
            // model-0 loaded from 1 s, model-1 from 21 s: 98 model-seconds
            // over the minute (less the two microseconds).
            ("LoadedModelCount", "1.6333333"),
        ] {
            let want = format!("\n{name}{{EndpointName=\"mme\",VariantName=\"M\"}} {value}\n");
            assert!(text.contains(&want), "{want:?} missing:\n{text}");
        }
    }
}
