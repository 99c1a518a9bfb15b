//! Live metrics in Prometheus text format under SageMaker's CloudWatch
//! names, labelled with CloudWatch's dimensions (`EndpointName`,
//! `VariantName`), so a Grafana board can watch a game day as it runs.

use std::fmt::Write as _;
use std::sync::Mutex;

use gameday_core::{SimTime, VariantGauge};

/// Seconds in SageMaker's per-minute metric period.
const PERIOD_S: usize = 60;

#[derive(Debug, Clone)]
struct Counters {
    invocations: u64,
    errors_4xx: u64,
    errors_5xx: u64,
    model_latency_us_sum: u64,
    overhead_latency_us_sum: u64,
    latency_count: u64,
    /// Invocations per second over the last minute (ring by second).
    per_second: [u64; PERIOD_S],
    last_second: u64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            invocations: 0,
            errors_4xx: 0,
            errors_5xx: 0,
            model_latency_us_sum: 0,
            overhead_latency_us_sum: 0,
            latency_count: 0,
            per_second: [0; PERIOD_S],
            last_second: 0,
        }
    }
}

impl Counters {
    fn roll(&mut self, second: u64) {
        if second > self.last_second {
            let gap = (second - self.last_second).min(PERIOD_S as u64);
            for k in 1..=gap {
                self.per_second[((self.last_second + k) % PERIOD_S as u64) as usize] = 0;
            }
            self.last_second = second;
        }
    }

    fn last_minute(&mut self, second: u64) -> u64 {
        self.roll(second);
        self.per_second.iter().sum()
    }
}

/// A summary metric: name, help text, and which running sum it reports.
type Summary = (&'static str, &'static str, fn(&Counters) -> u64);

/// How an answered invocation counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// 2xx.
    Ok,
    /// A 4xx answer (including ModelError, as SageMaker counts it).
    Client,
    /// A 5xx answer.
    Server,
}

/// Per-variant counters, indexed like the platform's variants.
#[derive(Debug)]
pub struct Metrics {
    names: Vec<(String, String)>,
    offsets: Vec<usize>,
    counters: Mutex<Vec<Counters>>,
    rejected: Mutex<u64>,
}

impl Metrics {
    /// Counters for `endpoints`: `(endpoint name, its variant names)`.
    pub fn new(endpoints: &[(String, Vec<String>)]) -> Self {
        let mut names = Vec::new();
        let mut offsets = Vec::new();
        for (e, vs) in endpoints {
            offsets.push(names.len());
            for v in vs {
                names.push((e.clone(), v.clone()));
            }
        }
        Metrics {
            counters: Mutex::new(vec![Counters::default(); names.len()]),
            names,
            offsets,
            rejected: Mutex::new(0),
        }
    }

    fn index(&self, endpoint: u16, variant: u16) -> usize {
        self.offsets[endpoint as usize] + variant as usize
    }

    /// Counts one invocation that reached a variant.
    pub fn record(
        &self,
        now: SimTime,
        endpoint: u16,
        variant: u16,
        class: Class,
        model_ns: u64,
        overhead_ns: u64,
    ) {
        let i = self.index(endpoint, variant);
        let mut all = self.counters.lock().expect("metrics lock");
        let c = &mut all[i];
        let second = now.as_nanos() / 1_000_000_000;
        c.roll(second);
        c.per_second[(second % PERIOD_S as u64) as usize] += 1;
        c.invocations += 1;
        match class {
            Class::Ok => {
                c.model_latency_us_sum += model_ns / 1_000;
                c.overhead_latency_us_sum += overhead_ns / 1_000;
                c.latency_count += 1;
            }
            Class::Client => c.errors_4xx += 1,
            Class::Server => c.errors_5xx += 1,
        }
    }

    /// Counts a request refused before it reached the platform (bad path,
    /// bad body, unknown endpoint).
    pub fn reject(&self) {
        *self.rejected.lock().expect("metrics lock") += 1;
    }

    /// Requests refused so far.
    pub fn rejected(&self) -> u64 {
        *self.rejected.lock().expect("metrics lock")
    }

    /// Invocations answered so far, all variants.
    pub fn invocations(&self) -> u64 {
        let all = self.counters.lock().expect("metrics lock");
        all.iter().map(|c| c.invocations).sum()
    }

    /// Prometheus text exposition (format 0.0.4). `gauges` come from the
    /// platform at `now`; `concurrency` is slots per instance by variant.
    pub fn render(&self, now: SimTime, gauges: &[VariantGauge], concurrency: &[u32]) -> String {
        let mut all = self.counters.lock().expect("metrics lock");
        let second = now.as_nanos() / 1_000_000_000;
        let mut out = String::new();
        let label = |i: usize| {
            let (e, v) = &self.names[i];
            format!(
                "EndpointName=\"{}\",VariantName=\"{}\"",
                escape(e),
                escape(v)
            )
        };
        let mut family =
            |name: &str, kind: &str, help: &str, values: &mut dyn FnMut(usize) -> f64| {
                let _ = writeln!(out, "# HELP {name} {help}");
                let _ = writeln!(out, "# TYPE {name} {kind}");
                for i in 0..self.names.len() {
                    let _ = writeln!(out, "{name}{{{}}} {}", label(i), values(i));
                }
            };
        family(
            "Invocations",
            "counter",
            "InvokeEndpoint requests sent to the variant.",
            &mut |i| all[i].invocations as f64,
        );
        family(
            "Invocation4XXErrors",
            "counter",
            "Invocations answered with a 4xx status (ModelError included).",
            &mut |i| all[i].errors_4xx as f64,
        );
        family(
            "Invocation5XXErrors",
            "counter",
            "Invocations answered with a 5xx status.",
            &mut |i| all[i].errors_5xx as f64,
        );
        let mut ipi: Vec<f64> = Vec::with_capacity(self.names.len());
        for (i, c) in all.iter_mut().enumerate() {
            let instances = gauges.get(i).map_or(0, |g| g.instances_in_service).max(1);
            ipi.push(c.last_minute(second) as f64 / f64::from(instances));
        }
        family(
            "InvocationsPerInstance",
            "gauge",
            "Invocations over the last minute divided by instances in service.",
            &mut |i| ipi[i],
        );
        let summaries: [Summary; 2] = [
            (
                "ModelLatency",
                "Time the model took to answer, microseconds.",
                |c| c.model_latency_us_sum,
            ),
            (
                "OverheadLatency",
                "Time the platform added to the model's, microseconds.",
                |c| c.overhead_latency_us_sum,
            ),
        ];
        for (name, help, sum) in summaries {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} summary");
            for (i, c) in all.iter().enumerate() {
                let _ = writeln!(out, "{name}_sum{{{}}} {}", label(i), sum(c));
                let _ = writeln!(out, "{name}_count{{{}}} {}", label(i), c.latency_count);
            }
        }
        let _ = writeln!(
            out,
            "# HELP CPUUtilization Busy request slots over all slots of instances in service, percent."
        );
        let _ = writeln!(out, "# TYPE CPUUtilization gauge");
        for i in 0..self.names.len() {
            let g = gauges.get(i);
            let slots =
                g.map_or(0, |g| g.instances_in_service) * concurrency.get(i).copied().unwrap_or(1);
            let busy = g.map_or(0, |g| g.busy_slots);
            let pct = if slots == 0 {
                0.0
            } else {
                100.0 * f64::from(busy.min(slots)) / f64::from(slots)
            };
            let _ = writeln!(out, "CPUUtilization{{{}}} {pct}", label(i));
        }
        drop(all);
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
    use super::*;

    #[test]
    fn renders_every_sagemaker_metric_per_variant() {
        let m = Metrics::new(&[("ep".into(), vec!["A".into(), "B".into()])]);
        let t = SimTime::from_nanos(5_000_000_000);
        m.record(t, 0, 1, Class::Ok, 2_000_000, 100_000);
        m.record(t, 0, 1, Class::Server, 0, 0);
        m.record(t, 0, 0, Class::Client, 0, 0);
        let gauges = [
            VariantGauge {
                endpoint: 0,
                variant: 0,
                instances_in_service: 2,
                queue_depth: 0,
                max_queue_depth: 0,
                busy_slots: 1,
            },
            VariantGauge {
                endpoint: 0,
                variant: 1,
                instances_in_service: 1,
                queue_depth: 0,
                max_queue_depth: 0,
                busy_slots: 4,
            },
        ];
        let text = m.render(t, &gauges, &[2, 4]);
        for name in [
            "Invocations",
            "Invocation4XXErrors",
            "Invocation5XXErrors",
            "InvocationsPerInstance",
            "ModelLatency_sum",
            "OverheadLatency_count",
            "CPUUtilization",
        ] {
            assert!(
                text.contains(&format!("\n{name}{{")),
                "{name} missing:\n{text}"
            );
        }
        assert!(text.contains("Invocations{EndpointName=\"ep\",VariantName=\"B\"} 2"));
        assert!(text.contains("Invocation5XXErrors{EndpointName=\"ep\",VariantName=\"B\"} 1"));
        assert!(text.contains("ModelLatency_sum{EndpointName=\"ep\",VariantName=\"B\"} 2000"));
        assert!(text.contains("CPUUtilization{EndpointName=\"ep\",VariantName=\"A\"} 25"));
        assert!(text.contains("CPUUtilization{EndpointName=\"ep\",VariantName=\"B\"} 100"));
        assert!(text.contains("InvocationsPerInstance{EndpointName=\"ep\",VariantName=\"A\"} 0.5"));
    }

    #[test]
    fn the_per_minute_window_forgets_old_seconds() {
        let m = Metrics::new(&[("ep".into(), vec!["A".into()])]);
        m.record(SimTime::from_nanos(1_000_000_000), 0, 0, Class::Ok, 0, 0);
        let g = [VariantGauge {
            endpoint: 0,
            variant: 0,
            instances_in_service: 1,
            queue_depth: 0,
            max_queue_depth: 0,
            busy_slots: 0,
        }];
        let later = m.render(SimTime::from_nanos(200_000_000_000), &g, &[1]);
        assert!(later.contains("InvocationsPerInstance{EndpointName=\"ep\",VariantName=\"A\"} 0\n"));
        assert!(later.contains("Invocations{EndpointName=\"ep\",VariantName=\"A\"} 1\n"));
    }
}
