//! The semantic pass: checks what serde cannot (references between
//! sections, ranges, which fields apply to which kind), collects every
//! problem instead of stopping at the first, and lowers the raw file into
//! the core's specs.

use std::path::Path;
use std::time::Duration;

use gameday_core::dist::ServiceDist;
use gameday_core::spec::*;
use gameday_core::training::TrainingSpec;

use crate::catalog::Catalog;
use crate::diag::{path, suggest, Diagnostic, FieldPath, Locator};
use crate::raw::*;
use crate::Scenario;

mod autoscaling;
mod capacity;
mod endpoints;
mod faults;
mod features;
mod limits;
mod meta;
mod models;
mod multi_model;
mod names;
mod shadows;
mod slo;
mod sweep;
mod training;
mod workloads;
mod zones;
pub use features::{builtin_quotas, DEFAULT_CACHE_TTL, DEFAULT_LOOKUP_TIMEOUT, FEATURE_STORE};
pub use training::{mtbi_of_monthly, ACCELERATORS, DEFAULT_MAX_RUN, SPOT_MARKET, TRAINERS};

/// Default client timeout: SageMaker's 60-second invocation limit.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
pub use gameday_core::fault_kinds::DEFAULT_DETECT_AFTER;
/// Default timeline interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

/// The range `time_scale` (and `--time-scale`) may take: from a
/// thousand-fold slow motion to a million-fold compression (a year of
/// scenario in 32 s).
pub const TIME_SCALE_RANGE: std::ops::RangeInclusive<f64> = 0.001..=1e6;

/// Checks a time scale; the message names the range.
pub fn check_time_scale(x: f64) -> Result<f64, String> {
    if TIME_SCALE_RANGE.contains(&x) {
        Ok(x)
    } else {
        Err(format!(
            "time_scale must be between {} and {}, got {x}",
            TIME_SCALE_RANGE.start(),
            TIME_SCALE_RANGE.end()
        ))
    }
}

struct Cx<'a> {
    loc: &'a Locator<'a>,
    base_dir: &'a Path,
    diags: Vec<Diagnostic>,
}

impl Cx<'_> {
    fn err(&mut self, at: &FieldPath, msg: impl Into<String>) {
        self.diags.push(self.loc.at(at, msg));
    }

    fn unknown<'c>(
        &mut self,
        at: &FieldPath,
        what: &str,
        name: &str,
        candidates: impl IntoIterator<Item = &'c str>,
    ) {
        let list: Vec<&str> = candidates.into_iter().collect();
        let mut d = self
            .loc
            .at(at, format!("unknown {what} {}", crate::diag::quote(name)));
        d.suggestion = suggest(name, list.iter().copied());
        if d.suggestion.is_none() && !list.is_empty() && list.len() <= 8 {
            d.message
                .push_str(&format!(" (expected one of: {})", list.join(", ")));
        }
        self.diags.push(d);
    }

    /// Flags fields that were set but do not apply to `kind`.
    fn only(
        &mut self,
        at: &FieldPath,
        what: &str,
        kind: &str,
        fields: &[(&str, bool)],
        allowed: &[&str],
    ) {
        for &(name, present) in fields {
            if present && !allowed.contains(&name) {
                let takes = if allowed.is_empty() {
                    "no extra fields".to_string()
                } else {
                    allowed
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                self.err(
                    &at.key(name),
                    format!("`{name}` does not apply to {what} \"{kind}\" (it takes {takes})"),
                );
            }
        }
    }

    fn need<T: Copy>(
        &mut self,
        at: &FieldPath,
        what: &str,
        kind: &str,
        name: &str,
        v: Option<T>,
    ) -> Option<T> {
        if v.is_none() {
            self.err(at, format!("{what} \"{kind}\" needs `{name}`"));
        }
        v
    }

    fn non_negative(&mut self, at: &FieldPath, name: &str, v: Option<f64>) -> Option<f64> {
        match v {
            Some(x) if !(x.is_finite() && x >= 0.0) => {
                self.err(
                    &at.key(name),
                    format!("{name} must be zero or more, got {x}"),
                );
                None
            }
            other => other,
        }
    }

    fn read(&mut self, at: &FieldPath, file: &str) -> Option<String> {
        let p = self.base_dir.join(file);
        match std::fs::read_to_string(&p) {
            Ok(s) => Some(s),
            Err(e) => {
                self.err(at, format!("cannot read \"{}\": {e}", p.display()));
                None
            }
        }
    }
}

/// Checks `raw` and builds the scenario, or returns every problem found.
pub fn validate(
    raw: RawScenario,
    loc: &Locator<'_>,
    base_dir: &Path,
    file: &str,
) -> Result<Scenario, Vec<Diagnostic>> {
    let mut cx = Cx {
        loc,
        base_dir,
        diags: Vec::new(),
    };
    let meta = &raw.scenario;
    let at_meta = path("scenario");
    let meta::Meta {
        duration,
        interval,
        time_scale,
        clock,
        target,
        max_attempts,
    } = meta::build(&mut cx, &raw);

    // Catalog: built-in or the scenario's own, then its overrides.
    let mut catalog = match &meta.catalog {
        None => Catalog::builtin(),
        Some(f) => match cx.read(&at_meta.key("catalog"), f) {
            Some(src) => Catalog::parse(&base_dir.join(f).display().to_string(), &src)
                .unwrap_or_else(|d| {
                    cx.diags.extend(d);
                    Catalog::default()
                }),
            None => Catalog::default(),
        },
    };
    for (i, t) in raw.instance_types.iter().enumerate() {
        catalog.apply(t, &path("instance_type").index(i), loc, &mut cx.diags);
    }

    // Models.
    let models::Models {
        real: real_models,
        servers: model_servers,
        dists: model_dists,
    } = models::build(&mut cx, &raw, &catalog, clock);

    // Endpoints, then what refers to them by name.
    let (endpoints, model_folders) =
        endpoints::build(&mut cx, &raw, &catalog, &model_dists, duration, clock);
    let names = names::Names::new(&raw);
    let (workloads, payloads) = workloads::build(&mut cx, &raw, &names, &endpoints, duration);

    // Training jobs.
    let (jobs, training_runs) = training::build_jobs(&mut cx, &raw, &catalog, clock);

    // Faults, and the feature store they may hit.
    let faults = faults::build(&mut cx, &raw, &names, &endpoints, duration);
    let mut feature_store = features::build(&mut cx, &raw);
    feature_store.outages = faults.feature_outages;

    let variants: usize = raw.endpoints.iter().map(|e| e.variant.len()).sum();
    let timeline_at = match meta.timeline_interval {
        Some(_) => at_meta.key("timeline_interval"),
        None => at_meta.key("duration"),
    };
    limits::check_timeline(&mut cx, &timeline_at, duration, interval, variants);

    let slo = slo::build_slo(&mut cx, raw.slo.as_ref());
    let baseline_tolerances = slo::build_baseline(&mut cx, raw.baseline.as_ref());
    let sweep = sweep::build(&mut cx, raw.sweep.as_ref());

    if !cx.diags.is_empty() {
        return Err(cx.diags);
    }
    Ok(Scenario {
        file: file.to_string(),
        name: meta.name.clone(),
        description: meta.description.clone().unwrap_or_default(),
        seed: meta.seed.unwrap_or(1),
        clock,
        target,
        endpoint_url: raw.target.as_ref().and_then(|t| t.endpoint_url.clone()),
        region: raw.target.as_ref().and_then(|t| t.region.clone()),
        max_attempts,
        duration,
        timeline_interval: interval,
        time_scale,
        platform: PlatformSpec {
            endpoints,
            faults: faults.endpoint,
            shortages: faults.shortages,
            zone_outages: faults.zone_outages,
            feature_store,
        },
        training: TrainingSpec {
            jobs,
            faults: faults.training,
        },
        training_runs,
        workloads,
        payloads,
        real_models,
        model_servers,
        model_folders,
        slo,
        baseline_tolerances,
        sweep,
        catalog,
    })
}

fn dist_fields(l: &RawLatency) -> [(&'static str, bool); 5] {
    [
        ("p50", l.p50.is_some()),
        ("p99", l.p99.is_some()),
        ("mean", l.mean.is_some()),
        ("value", l.value.is_some()),
        ("file", l.file.is_some()),
    ]
}

fn build_dist(cx: &mut Cx<'_>, l: &RawLatency, at: &FieldPath) -> Option<ServiceDist> {
    let kind = l.dist.unwrap_or(DistKind::Lognormal);
    let secs = |d: Option<crate::units::DurationStr>| d.map(|d| d.0.as_secs_f64());
    let (name, allowed): (&str, &[&str]) = match kind {
        DistKind::Lognormal => ("lognormal", &["p50", "p99"]),
        DistKind::Exponential => ("exponential", &["mean"]),
        DistKind::Constant => ("constant", &["value"]),
        DistKind::Empirical => ("empirical", &["file"]),
    };
    cx.only(at, "dist", name, &dist_fields(l), allowed);
    let built = match kind {
        DistKind::Lognormal => {
            let p50 = cx.need(at, "dist", name, "p50", secs(l.p50));
            let p99 = cx.need(at, "dist", name, "p99", secs(l.p99));
            let (p50, p99) = (p50?, p99?);
            ServiceDist::lognormal_from_p50_p99(p50, p99)
                .map_err(|e| (at.key("p99"), e.to_string()))
        }
        DistKind::Exponential => {
            ServiceDist::exponential(cx.need(at, "dist", name, "mean", secs(l.mean))?)
                .map_err(|e| (at.key("mean"), e.to_string()))
        }
        DistKind::Constant => {
            ServiceDist::constant(cx.need(at, "dist", name, "value", secs(l.value))?)
                .map_err(|e| (at.key("value"), e.to_string()))
        }
        DistKind::Empirical => {
            let file = cx.need(at, "dist", name, "file", l.file.as_ref())?;
            let src = cx.read(&at.key("file"), file)?;
            parse_empirical(&src)
                .and_then(|rows| ServiceDist::empirical(&rows).map_err(|e| e.to_string()))
                .map_err(|e| (at.key("file"), format!("{file}: {e}")))
        }
    };
    match built {
        Ok(d) => Some(d),
        Err((p, msg)) => {
            cx.err(&p, msg);
            None
        }
    }
}

/// Parses `latency_ms,weight` rows into `(seconds, weight)`.
fn parse_empirical(src: &str) -> Result<Vec<(f64, f64)>, String> {
    let mut rdr = csv::Reader::from_reader(src.as_bytes());
    let headers = rdr.headers().map_err(|e| e.to_string())?.clone();
    let col = |n: &str| headers.iter().position(|h| h.trim() == n);
    let (Some(l), Some(w)) = (col("latency_ms"), col("weight")) else {
        return Err("expected a header with columns `latency_ms` and `weight`".into());
    };
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| e.to_string())?;
        let num = |c: usize| rec.get(c).and_then(|s| s.trim().parse::<f64>().ok());
        match (num(l), num(w)) {
            (Some(ms), Some(wt)) if ms >= 0.0 && wt >= 0.0 => rows.push((ms / 1e3, wt)),
            _ => return Err(format!("row {} is not two non-negative numbers", i + 2)),
        }
    }
    Ok(rows)
}
