//! Feature-store results of an endpoint that looks features up: how each
//! response's features were served, lookup latency and failures, the age
//! of the features served, and what each response path cost, over the
//! run and inside the outage windows.

use std::io::Write;

use gameday_core::features::{FeaturePath, FeatureStoreSpec, FeatureUse, LookupError, Prediction};
use gameday_core::spec::PlatformSpec;
use gameday_core::RequestResult;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::model::{round3, round6, LatencySummary};
use crate::recorder::Latency;
use crate::slo::fmt_num;
use crate::writers::WriteError;

/// The paths a looked-up response can take, in report order.
const PATHS: [(FeaturePath, &str); 4] = [
    (FeaturePath::Fresh, "fresh"),
    (FeaturePath::Cached, "cached"),
    (FeaturePath::Default, "default"),
    (FeaturePath::Failed, "failed"),
];

fn slot(p: FeaturePath) -> Option<usize> {
    PATHS.iter().position(|(q, _)| *q == p)
}

/// Percentiles of the age of the features served, milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AgeSummary {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Oldest.
    pub max: f64,
}

/// Failed lookups by class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LookupErrorCounts {
    /// `ServiceUnavailable` (503).
    pub unavailable: u64,
    /// `InternalFailure` (500).
    pub internal_failure: u64,
    /// `ThrottlingException` (400).
    pub throttled: u64,
    /// The container's client gave up after its lookup timeout.
    pub timeout: u64,
}

/// What one response path cost: how many responses took it and how long
/// they took, from the intended send time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PathCost {
    /// `fresh`, `cached`, `default` or `failed`.
    pub path: String,
    /// Responses that took it.
    pub requests: u64,
    /// Their median latency, ms.
    pub latency_p50_ms: f64,
    /// Their 99th-percentile latency, ms.
    pub latency_p99_ms: f64,
}

/// The responses of requests sent while an outage of a group the endpoint
/// reads was in force.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OutageWindowReport {
    /// The windows, `[start_s, end_s]` in scenario seconds.
    pub windows_s: Vec<[f64; 2]>,
    /// Responses of requests sent inside them.
    pub requests: u64,
    /// Of those, served with every feature fresh.
    pub served_fresh: u64,
    /// Served from an instance's cached copy.
    pub served_cached: u64,
    /// Served with defaults.
    pub served_default: u64,
    /// Failed by their lookup.
    pub failed: u64,
    /// Every path inside the windows.
    pub by_path: Vec<PathCost>,
}

/// `features` of an endpoint that looks features up.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FeaturesReport {
    /// The feature groups read (two or more: one `BatchGetRecord`).
    pub groups: Vec<String>,
    /// `error`, `default` or `stale_cache`.
    pub on_failure: String,
    /// Responses whose container looked features up.
    pub lookups: u64,
    /// Served with every group's record fresh from the store.
    pub served_fresh: u64,
    /// Some group failed and the instance's cached copy was served.
    pub served_cached: u64,
    /// Some group failed and its defaults were served.
    pub served_default: u64,
    /// Some group failed and so did the request.
    pub failed: u64,
    /// Responses whose prediction the fallback changed, against scoring
    /// the true record; `null` where no real model scored (the virtual
    /// clock, or a modelled service time).
    pub predictions_changed: Option<u64>,
    /// `served_default / lookups`: responses scored with made-up
    /// features. (A cached copy is the record as it was; its cost shows
    /// in `age_ms`.)
    pub degraded_rate: f64,
    /// Age of the oldest record served in each response (since ingestion
    /// last wrote it; cache age included).
    pub age_ms: AgeSummary,
    /// Lookup latency (one `GetRecord` or `BatchGetRecord`), from the
    /// store's answer or the client's timeout.
    pub lookup_latency_ms: LatencySummary,
    /// Failed lookups by class (a lookup that a fallback then served
    /// counts here too).
    pub lookup_errors: LookupErrorCounts,
    /// What each response path cost over the whole run.
    pub by_path: Vec<PathCost>,
    /// The same inside the outage windows, if the endpoint's groups had
    /// any.
    pub during_outages: Option<OutageWindowReport>,
}

fn age_histogram() -> Histogram<u64> {
    age_histogram_of(3)
}

/// Milliseconds up to a year, for ages, at `sigfig` significant digits.
fn age_histogram_of(sigfig: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, 365 * 86_400_000, sigfig).expect("static bounds are valid")
}

/// One variant's feature lookups in one timeline interval.
#[derive(Debug)]
pub(crate) struct FeatureInterval {
    /// Responses per path: fresh, cached, default, failed.
    counts: [u64; 4],
    /// Lookups that failed (any class).
    errors: u64,
    /// Lookup latency, microseconds.
    lookup_us: Histogram<u64>,
    /// Age of the features served, milliseconds, at two significant
    /// digits like the interval's latencies: ages spread over the whole
    /// refresh period, and a three-digit histogram per interval (200 KB)
    /// would be most of the recorder's memory traffic.
    age_ms: Histogram<u64>,
    /// The oldest age served, exactly.
    age_max_ms: u64,
}

/// The `timeline.csv` columns of one interval's feature lookups.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct FeatureColumns {
    pub lookups: u64,
    pub fresh: u64,
    pub cached: u64,
    pub default: u64,
    pub failed: u64,
    pub errors: u64,
    pub lookup_p99_ms: f64,
    pub age_p50_ms: f64,
    pub age_p99_ms: f64,
    pub age_max_ms: f64,
}

impl FeatureInterval {
    pub(crate) fn new() -> Self {
        FeatureInterval {
            counts: [0; 4],
            errors: 0,
            lookup_us: Histogram::new_with_bounds(1, 3_600_000_000, 2)
                .expect("static bounds are valid"),
            age_ms: age_histogram_of(2),
            age_max_ms: 0,
        }
    }

    /// Records one response's feature use; false if it made no lookup.
    pub(crate) fn record(&mut self, f: &FeatureUse) -> bool {
        let Some(k) = slot(f.path) else {
            return false;
        };
        self.counts[k] += 1;
        self.errors += u64::from(f.error != LookupError::None);
        self.lookup_us
            .saturating_record(u64::from(f.lookup_us).max(1));
        if let Some(age) = f.age_ms() {
            self.age_ms.saturating_record(u64::from(age));
            self.age_max_ms = self.age_max_ms.max(u64::from(age));
        }
        true
    }

    /// The columns, ages in scenario time (`x`: the run's compression).
    pub(crate) fn columns(&self, x: f64) -> FeatureColumns {
        let [fresh, cached, default, failed] = self.counts;
        let q = |h: &Histogram<u64>, q: f64| {
            if h.is_empty() {
                0.0
            } else {
                h.value_at_quantile(q) as f64
            }
        };
        FeatureColumns {
            lookups: fresh + cached + default + failed,
            fresh,
            cached,
            default,
            failed,
            errors: self.errors,
            lookup_p99_ms: round3(q(&self.lookup_us, 0.99) / 1e3),
            age_p50_ms: round3(q(&self.age_ms, 0.5) * x),
            age_p99_ms: round3(q(&self.age_ms, 0.99) * x),
            age_max_ms: round3(self.age_max_ms as f64 * x),
        }
    }
}

/// Counts and latencies per path.
#[derive(Debug)]
struct PathStats {
    counts: [u64; 4],
    latency: [Latency; 4],
}

impl PathStats {
    fn new() -> Self {
        PathStats {
            counts: [0; 4],
            latency: std::array::from_fn(|_| Latency::new()),
        }
    }

    fn add(&mut self, k: usize, latency_ns: u64) {
        self.counts[k] += 1;
        self.latency[k].record(latency_ns);
    }

    fn costs(&self) -> Vec<PathCost> {
        PATHS
            .iter()
            .zip(self.counts.iter().zip(&self.latency))
            .filter(|(_, (&n, _))| n > 0)
            .map(|((_, name), (&n, l))| {
                let l = l.summary();
                PathCost {
                    path: (*name).into(),
                    requests: n,
                    latency_p50_ms: l.p50,
                    latency_p99_ms: l.p99,
                }
            })
            .collect()
    }
}

/// One endpoint's feature results as they come in.
#[derive(Debug)]
pub(crate) struct FeatureRec {
    groups: Vec<String>,
    on_failure: &'static str,
    paths: PathStats,
    errors: [u64; 4],
    lookup: Latency,
    age: Histogram<u64>,
    /// The oldest age served, exactly (a histogram's max is the top of its
    /// bucket, which can lie past the refresh period).
    age_max: u64,
    /// Outage windows of the groups read, nanoseconds `[start, end)`.
    windows: Vec<(u64, u64)>,
    in_windows: PathStats,
    /// Responses a real model scored with its features, and those whose
    /// prediction the features served changed.
    scored: u64,
    changed: u64,
}

impl FeatureRec {
    /// One recorder per endpoint of `spec`: `Some` for those that look
    /// features up.
    pub(crate) fn for_endpoints(spec: &PlatformSpec, end_ns: u64) -> Vec<Option<FeatureRec>> {
        let fs: &FeatureStoreSpec = &spec.feature_store;
        (0..spec.endpoints.len())
            .map(|e| {
                let u = fs.uses.iter().find(|u| u.endpoint as usize == e)?;
                let mut windows: Vec<(u64, u64)> = fs
                    .outages
                    .iter()
                    .filter(|o| u.groups.contains(&o.group))
                    .map(|o| {
                        let start = o.at.as_nanos() as u64;
                        let end = o.duration.map_or(end_ns, |d| start + d.as_nanos() as u64);
                        (start, end.max(start))
                    })
                    .collect();
                windows.sort_unstable();
                Some(FeatureRec {
                    groups: u
                        .groups
                        .iter()
                        .map(|&g| fs.groups[g as usize].name.clone())
                        .collect(),
                    on_failure: u.on_failure.as_str(),
                    paths: PathStats::new(),
                    errors: [0; 4],
                    lookup: Latency::new(),
                    age: age_histogram(),
                    age_max: 0,
                    windows,
                    in_windows: PathStats::new(),
                    scored: 0,
                    changed: 0,
                })
            })
            .collect()
    }

    /// Records one response's feature use.
    pub(crate) fn record(&mut self, r: &RequestResult) {
        let f: FeatureUse = r.features;
        let Some(k) = slot(f.path) else { return };
        self.paths.add(k, r.latency_ns);
        match f.prediction {
            Prediction::NotScored => {}
            Prediction::Same => self.scored += 1,
            Prediction::Changed => {
                self.scored += 1;
                self.changed += 1;
            }
        }
        if let Some(c) = LookupError::CLASSES.iter().position(|&c| c == f.error) {
            self.errors[c] += 1;
        }
        self.lookup.record(u64::from(f.lookup_us) * 1_000);
        if let Some(age) = f.age_ms() {
            self.age.saturating_record(u64::from(age));
            self.age_max = self.age_max.max(u64::from(age));
        }
        let sent = r.sent_at.as_nanos();
        if self.windows.iter().any(|&(a, b)| a <= sent && sent < b) {
            self.in_windows.add(k, r.latency_ns);
        }
    }

    /// The report. `x` is the run's time compression (ages and outage
    /// windows are given in scenario time; lookup latency is real), and
    /// an outage without an end ends with the run, `duration_s` of
    /// scenario time.
    pub(crate) fn report(&self, x: f64, duration_s: f64) -> FeaturesReport {
        let to_s = |ns: u64| round3((ns as f64 / 1e9 * x).min(duration_s));
        let [fresh, cached, default, failed] = self.paths.counts;
        let lookups = fresh + cached + default + failed;
        let q = |h: &Histogram<u64>, q: f64| {
            if h.is_empty() {
                0.0
            } else {
                h.value_at_quantile(q) as f64
            }
        };
        let [unavailable, internal_failure, throttled, timeout] = self.errors;
        let [w_fresh, w_cached, w_default, w_failed] = self.in_windows.counts;
        FeaturesReport {
            groups: self.groups.clone(),
            on_failure: self.on_failure.into(),
            lookups,
            served_fresh: fresh,
            served_cached: cached,
            served_default: default,
            failed,
            predictions_changed: (self.scored > 0).then_some(self.changed),
            degraded_rate: if lookups == 0 {
                0.0
            } else {
                round6(default as f64 / lookups as f64)
            },
            age_ms: AgeSummary {
                p50: round3(q(&self.age, 0.5) * x),
                p99: round3(q(&self.age, 0.99) * x),
                max: round3(self.age_max as f64 * x),
            },
            lookup_latency_ms: self.lookup.summary(),
            lookup_errors: LookupErrorCounts {
                unavailable,
                internal_failure,
                throttled,
                timeout,
            },
            by_path: self.paths.costs(),
            during_outages: (!self.windows.is_empty()).then(|| OutageWindowReport {
                windows_s: self
                    .windows
                    .iter()
                    .map(|&(a, b)| [to_s(a), to_s(b)])
                    .collect(),
                requests: w_fresh + w_cached + w_default + w_failed,
                served_fresh: w_fresh,
                served_cached: w_cached,
                served_default: w_default,
                failed: w_failed,
                by_path: self.in_windows.costs(),
            }),
        }
    }
}

/// The endpoints that look features up, with their results.
fn with_features(r: &crate::Report) -> Vec<(&crate::model::EndpointReport, &FeaturesReport)> {
    r.endpoints
        .iter()
        .filter_map(|e| e.features.as_ref().map(|f| (e, f)))
        .collect()
}

/// The feature-store section of `summary.md`.
pub fn write_markdown<W: Write>(r: &crate::Report, w: &mut W) -> Result<(), WriteError> {
    let eps = with_features(r);
    if eps.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(w, "## Feature store")?;
    writeln!(w)?;
    writeln!(w, "| endpoint | groups | on failure | lookups | fresh | cached | default | failed | degraded rate | lookup p50 / p99 ms | age p50 / p99 / max s | errors (unavailable / internal / throttled / timeout) |")?;
    writeln!(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")?;
    for (e, f) in &eps {
        let s = |ms: f64| fmt_num(round3(ms / 1e3));
        let x = &f.lookup_errors;
        writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} / {} / {} | {} / {} / {} / {} |",
            e.name,
            f.groups.join(", "),
            f.on_failure,
            f.lookups,
            f.served_fresh,
            f.served_cached,
            f.served_default,
            f.failed,
            fmt_num(f.degraded_rate),
            fmt_num(f.lookup_latency_ms.p50),
            fmt_num(f.lookup_latency_ms.p99),
            s(f.age_ms.p50),
            s(f.age_ms.p99),
            s(f.age_ms.max),
            x.unavailable,
            x.internal_failure,
            x.throttled,
            x.timeout
        )?;
    }
    for (e, f) in &eps {
        if let Some(n) = f.predictions_changed {
            writeln!(w)?;
            writeln!(
                w,
                "{}: {n} of {} responses served with fallback features got a different prediction than the true record gives.",
                e.name,
                f.served_default + f.served_cached,
            )?;
        }
    }
    for (e, f) in &eps {
        let Some(o) = &f.during_outages else { continue };
        let windows: Vec<String> = o
            .windows_s
            .iter()
            .map(|[a, b]| format!("{}–{} s", fmt_num(*a), fmt_num(*b)))
            .collect();
        writeln!(w)?;
        writeln!(
            w,
            "During the outages of {} ({}), {} responses: what each path cost.",
            e.name,
            windows.join(", "),
            o.requests
        )?;
        writeln!(w)?;
        writeln!(w, "| path | responses | share | latency p50 / p99 ms |")?;
        writeln!(w, "|---|---|---|---|")?;
        for p in &o.by_path {
            writeln!(
                w,
                "| {} | {} | {} | {} / {} |",
                p.path,
                p.requests,
                fmt_num(if o.requests == 0 {
                    0.0
                } else {
                    round6(p.requests as f64 / o.requests as f64)
                }),
                fmt_num(p.latency_p50_ms),
                fmt_num(p.latency_p99_ms)
            )?;
        }
    }
    Ok(())
}

/// The feature-store table of `report.html`.
pub fn write_html<W: Write>(r: &crate::Report, w: &mut W) -> Result<(), WriteError> {
    use crate::html::escape;
    let eps = with_features(r);
    if eps.is_empty() {
        return Ok(());
    }
    writeln!(w, "<h2>Feature store</h2>")?;
    writeln!(w, "<table>\n<tr><th>endpoint</th><th>on failure</th><th>lookups</th><th>fresh</th><th>cached</th><th>default</th><th>failed</th><th>degraded rate</th><th>lookup p99 ms</th><th>age p99 s</th><th>age max s</th></tr>")?;
    for (e, f) in eps {
        writeln!(
            w,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&e.name),
            escape(&f.on_failure),
            f.lookups,
            f.served_fresh,
            f.served_cached,
            f.served_default,
            f.failed,
            fmt_num(f.degraded_rate),
            fmt_num(f.lookup_latency_ms.p99),
            fmt_num(round3(f.age_ms.p99 / 1e3)),
            fmt_num(round3(f.age_ms.max / 1e3)),
        )?;
    }
    writeln!(w, "</table>")?;
    Ok(())
}
