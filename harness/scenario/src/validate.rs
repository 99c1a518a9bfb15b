//! The semantic pass: checks what serde cannot (references between
//! sections, ranges, which fields apply to which kind), collects every
//! problem instead of stopping at the first, and lowers the raw file into
//! the core's specs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use gameday_core::arrival::ArrivalSpec;
use gameday_core::dist::ServiceDist;
use gameday_core::fault_kinds::{self, FaultFields};
use gameday_core::spec::*;
use gameday_core::training::TrainingSpec;
use gameday_report::baseline::Tolerances;
use gameday_report::SloSpec;

use crate::catalog::Catalog;
use crate::diag::{path, suggest, Diagnostic, FieldPath, Locator};
use crate::raw::*;
use crate::{ClockKind, Payload, RealModel, Scenario, TargetKind};

mod limits;
mod training;
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

    if meta.name.is_empty()
        || !meta
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        cx.err(&at_meta.key("name"), format!("name {} must be non-empty and use only letters, digits, '.', '_' and '-' (it names the output folder)", crate::diag::quote(&meta.name)));
    }
    let duration = meta.duration.map_or(Duration::ZERO, |d| d.0);
    if meta.duration.is_none() && !raw.endpoints.is_empty() {
        cx.err(
            &at_meta,
            "missing `duration`: how long traffic is sent, like duration = \"10m\"",
        );
    } else if meta.duration.is_some() && duration.is_zero() {
        cx.err(
            &at_meta.key("duration"),
            "duration must be longer than zero",
        );
    }
    let interval = meta.timeline_interval.map_or(DEFAULT_INTERVAL, |d| d.0);
    if interval < Duration::from_millis(1) {
        cx.err(
            &at_meta.key("timeline_interval"),
            "timeline_interval must be at least 1ms",
        );
    }
    let time_scale = meta.time_scale.unwrap_or(1.0);
    if let Err(msg) = check_time_scale(time_scale) {
        cx.err(&at_meta.key("time_scale"), msg);
    }
    let clock = meta.clock.unwrap_or(ClockKind::Virtual);
    let target = raw.target.as_ref().map_or(TargetKind::Local, |t| t.kind);
    if clock == ClockKind::Virtual && target != TargetKind::Local {
        let name = if target == TargetKind::Http {
            "http"
        } else {
            "sagemaker"
        };
        cx.err(&path("target.kind"), format!("target \"{name}\" needs clock = \"wall\": a virtual-clock run only drives the embedded platform"));
    }

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
    let mut model_names = BTreeSet::new();
    let mut real_models = BTreeMap::new();
    let mut model_servers = BTreeMap::new();
    // Each model's distributions, built (and their files read) once:
    // (reference latency, per-instance-type latencies).
    let mut model_dists: Vec<(Option<ServiceDist>, BTreeMap<String, ServiceDist>)> = Vec::new();
    for (i, m) in raw.models.iter().enumerate() {
        let at = path("model").index(i);
        if !model_names.insert(m.name.as_str()) {
            cx.err(
                &at.key("name"),
                format!("duplicate model name {}", crate::diag::quote(&m.name)),
            );
        }
        match (&m.command, &m.builtin) {
            (Some(_), Some(_)) => cx.err(
                &at.key("command"),
                "give `command` (your model server) or `builtin`, not both",
            ),
            (Some(c), None) if c.is_empty() => cx.err(
                &at.key("command"),
                "command is empty; give the program and its arguments, like [\"python3\", \"serve.py\"]",
            ),
            (Some(c), None) => {
                model_servers.insert(m.name.clone(), c.clone());
            }
            _ => {}
        }
        let reference = match (&m.latency, &m.builtin, &m.command) {
            (Some(l), _, _) => build_dist(&mut cx, l, &at.key("latency")),
            // A real model's service time is the time it takes.
            (None, Some(_), _) => ServiceDist::constant(0.0).ok(),
            (None, None, Some(_)) if clock == ClockKind::Wall => ServiceDist::constant(0.0).ok(),
            (None, None, Some(_)) => {
                cx.err(
                    &at.key("latency"),
                    "a virtual-clock run models the model's service time: add `latency` (the command runs on the wall clock)",
                );
                None
            }
            (None, None, None) => {
                cx.err(
                    &at.key("latency"),
                    "missing `latency`; give {p50, p99}, {dist = \"exponential\", mean}, {dist = \"constant\", value} or {dist = \"empirical\", file}",
                );
                None
            }
        };
        match (&m.builtin, &m.weights) {
            (Some(b), Some(w)) => {
                if b != "logistic_regression" {
                    cx.unknown(&at.key("builtin"), "built-in model", b, ["logistic_regression"]);
                } else if cx.read(&at.key("weights"), w).is_some() {
                    real_models.insert(
                        m.name.clone(),
                        RealModel {
                            kind: b.clone(),
                            weights: cx.base_dir.join(w),
                        },
                    );
                }
            }
            (Some(_), None) => cx.err(
                &at.key("weights"),
                "a `builtin` model needs `weights`, a JSON weights file (see fixtures/models/)",
            ),
            (None, Some(_)) => cx.err(
                &at.key("weights"),
                "`weights` only applies to a `builtin` model; add builtin = \"logistic_regression\"",
            ),
            (None, None) => {}
        }
        let mut per_type = BTreeMap::new();
        for (ty, l) in &m.latency_on {
            let lat = at.key("latency_on").key(ty);
            if !catalog.types.contains_key(ty) {
                cx.unknown(&lat, "instance type", ty, catalog.names());
            }
            if let Some(d) = build_dist(&mut cx, l, &lat) {
                per_type.insert(ty.clone(), d);
            }
        }
        model_dists.push((reference, per_type));
    }

    // Endpoints.
    let mut endpoints = Vec::new();
    let mut endpoint_names = BTreeSet::new();
    if raw.endpoints.is_empty() && raw.training_jobs.is_empty() {
        cx.err(
            &FieldPath::default(),
            "the scenario has no [[endpoint]] and no [[training_job]]: nothing to run",
        );
    }
    for (e, ep) in raw.endpoints.iter().enumerate() {
        let at = path("endpoint").index(e);
        if !endpoint_names.insert(ep.name.as_str()) {
            cx.err(
                &at.key("name"),
                format!("duplicate endpoint name {}", crate::diag::quote(&ep.name)),
            );
        }
        if ep.variant.is_empty() {
            cx.err(
                &at,
                format!(
                    "endpoint {} has no [[endpoint.variant]]",
                    crate::diag::quote(&ep.name)
                ),
            );
        }
        let mut variants = Vec::new();
        let mut variant_names = BTreeSet::new();
        let mut weight_sum = 0.0;
        for (v, var) in ep.variant.iter().enumerate() {
            let vat = at.key("variant").index(v);
            if !variant_names.insert(var.name.as_str()) {
                cx.err(
                    &vat.key("name"),
                    format!("duplicate variant name {}", crate::diag::quote(&var.name)),
                );
            }
            let model_at = raw.models.iter().position(|m| m.name == var.model);
            let model = model_at.map(|m| &raw.models[m]);
            if model.is_none() {
                cx.unknown(
                    &vat.key("model"),
                    "model",
                    &var.model,
                    raw.models.iter().map(|m| m.name.as_str()),
                );
            }
            let itype = catalog.types.get(&var.instance_type).cloned();
            if itype.is_none() {
                cx.unknown(
                    &vat.key("instance_type"),
                    "instance type",
                    &var.instance_type,
                    catalog.names(),
                );
            }
            let count = var.instance_count.unwrap_or(1);
            if !(1..=10_000).contains(&count) {
                cx.err(
                    &vat.key("instance_count"),
                    format!("instance_count must be between 1 and 10000, got {count}"),
                );
            }
            let concurrency = var.concurrency.unwrap_or(1);
            if !(1..=100_000).contains(&concurrency) {
                cx.err(
                    &vat.key("concurrency"),
                    format!("concurrency must be between 1 and 100000, got {concurrency}"),
                );
            }
            let weight = cx
                .non_negative(&vat, "weight", Some(var.weight.unwrap_or(1.0)))
                .unwrap_or(0.0);
            weight_sum += weight;
            let (Some(model), Some(itype)) = (model, itype) else {
                continue;
            };
            // Per-type latency if measured there, else the reference scaled.
            let (reference, per_type) = &model_dists[model_at.expect("model was found")];
            let service = match per_type.get(&itype.name) {
                Some(d) => Some(d.clone()),
                None => reference.as_ref().map(|d| d.scaled(1.0 / itype.speed)),
            };
            let Some(service) = service else { continue };
            variants.push(VariantSpec {
                name: var.name.clone(),
                model: model.name.clone(),
                weight,
                instance: InstanceTypeSpec {
                    name: itype.name.clone(),
                    price_per_hour: itype.price_per_hour,
                    provisioning_min: itype.provisioning_min,
                    provisioning_max: itype.provisioning_max,
                },
                instance_count: count.clamp(1, 10_000) as u32,
                concurrency: concurrency.clamp(1, 100_000) as u32,
                service,
                external: false,
            });
        }
        if !ep.variant.is_empty() && weight_sum <= 0.0 {
            cx.err(
                &at.key("variant").index(0).key("weight"),
                format!(
                    "the variant weights of endpoint {} sum to zero: no traffic could be routed",
                    crate::diag::quote(&ep.name)
                ),
            );
        }
        endpoints.push(EndpointSpec {
            name: ep.name.clone(),
            routing: match ep.routing {
                Some(RoutingKind::LeastOutstandingRequests) => Routing::LeastOutstandingRequests,
                _ => Routing::Random,
            },
            variants,
        });
    }
    let endpoint_index = |name: &str| raw.endpoints.iter().position(|e| e.name == name);
    let variant_index =
        |e: usize, name: &str| raw.endpoints[e].variant.iter().position(|v| v.name == name);

    // Workloads.
    let mut workloads = Vec::new();
    let mut payloads = Vec::new();
    let mut workload_names = BTreeSet::new();
    if raw.workloads.is_empty() && !raw.endpoints.is_empty() {
        cx.err(
            &FieldPath::default(),
            "the scenario has no [[workload]]: nothing would be sent",
        );
    }
    for (i, w) in raw.workloads.iter().enumerate() {
        let at = path("workload").index(i);
        let e = endpoint_index(&w.endpoint);
        if e.is_none() {
            cx.unknown(
                &at.key("endpoint"),
                "endpoint",
                &w.endpoint,
                raw.endpoints.iter().map(|e| e.name.as_str()),
            );
        }
        let mut name = w.name.clone().unwrap_or_else(|| w.endpoint.clone());
        if w.name.is_none() {
            let mut n = 2;
            while workload_names.contains(&name) {
                name = format!("{}#{n}", w.endpoint);
                n += 1;
            }
        }
        if !workload_names.insert(name.clone()) {
            cx.err(
                &at.key("name"),
                format!("duplicate workload name {}", crate::diag::quote(&name)),
            );
        }
        let timeout = w.timeout.map_or(DEFAULT_TIMEOUT, |d| d.0);
        if timeout.is_zero() {
            cx.err(&at.key("timeout"), "timeout must be longer than zero");
        }
        let target_variant = match (&w.target_variant, e) {
            (Some(tv), Some(e)) => {
                let v = variant_index(e, tv);
                if v.is_none() {
                    cx.unknown(
                        &at.key("target_variant"),
                        "variant",
                        tv,
                        raw.endpoints[e].variant.iter().map(|v| v.name.as_str()),
                    );
                }
                v
            }
            _ => None,
        };
        let body = match (&w.body, &w.body_file) {
            (Some(_), Some(_)) => {
                cx.err(&at.key("body_file"), "give `body` or `body_file`, not both");
                None
            }
            (Some(b), None) => Some(b.clone().into_bytes()),
            (None, Some(f)) => cx.read(&at.key("body_file"), f).map(String::into_bytes),
            (None, None) => Some(b"{}".to_vec()),
        };
        let payload = Payload {
            content_type: w
                .content_type
                .clone()
                .unwrap_or_else(|| "application/json".into()),
            body: body.unwrap_or_default(),
        };
        let arrival = build_arrival(&mut cx, &w.arrival, &at.key("arrival"));
        if let Some(a) = &arrival {
            limits::check_workload(&mut cx, &at.key("arrival"), a, timeout, duration);
        }
        if let (Some(e), Some(arrival)) = (e, arrival) {
            payloads.push(payload);
            workloads.push(WorkloadSpec {
                name,
                endpoint: e,
                arrival,
                timeout,
                target_variant,
            });
        }
    }

    let max_attempts = raw
        .target
        .as_ref()
        .and_then(|t| t.max_attempts)
        .unwrap_or(1);
    if max_attempts == 0 {
        cx.err(
            &path("target").key("max_attempts"),
            "max_attempts must be at least 1 (1 turns SDK retries off)",
        );
    }

    // Training jobs.
    let (jobs, training_runs) = training::build_jobs(&mut cx, &raw, &catalog, clock);

    // Faults.
    let mut faults = Vec::new();
    let mut training_faults = Vec::new();
    for (i, f) in raw.faults.iter().enumerate() {
        let at = path("fault").index(i);
        if f.kind.is_training() {
            training_faults.extend(training::build_fault(&mut cx, f, &at, &raw));
        } else if let Some(fault) = build_fault(&mut cx, f, &at, duration, &raw) {
            faults.push(fault);
        }
    }

    let variants: usize = raw.endpoints.iter().map(|e| e.variant.len()).sum();
    let timeline_at = match meta.timeline_interval {
        Some(_) => at_meta.key("timeline_interval"),
        None => at_meta.key("duration"),
    };
    limits::check_timeline(&mut cx, &timeline_at, duration, interval, variants);

    let slo = build_slo(&mut cx, raw.slo.as_ref());
    let baseline_tolerances = build_baseline(&mut cx, raw.baseline.as_ref());

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
        platform: PlatformSpec { endpoints, faults },
        training: TrainingSpec {
            jobs,
            faults: training_faults,
        },
        training_runs,
        workloads,
        payloads,
        real_models,
        model_servers,
        slo,
        baseline_tolerances,
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

/// Parses a trace: a `time_s` column of send offsets (sorted on load).
fn parse_trace(src: &str) -> Result<Vec<f64>, String> {
    let mut rdr = csv::Reader::from_reader(src.as_bytes());
    let headers = rdr.headers().map_err(|e| e.to_string())?.clone();
    let Some(c) = headers.iter().position(|h| h.trim() == "time_s") else {
        return Err("expected a header with a `time_s` column".into());
    };
    let mut times = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| e.to_string())?;
        match rec.get(c).and_then(|s| s.trim().parse::<f64>().ok()) {
            Some(t) if t.is_finite() && t >= 0.0 => times.push(t),
            _ => {
                return Err(format!(
                    "row {}: time_s is not a non-negative number",
                    i + 2
                ))
            }
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times)
}

fn build_arrival(cx: &mut Cx<'_>, a: &RawArrival, at: &FieldPath) -> Option<ArrivalSpec> {
    let kind = a.kind.as_str();
    let fields = [
        ("rate", a.rate.is_some()),
        ("from", a.from.is_some()),
        ("to", a.to.is_some()),
        ("over", a.over.is_some()),
        ("steps", a.steps.is_some()),
        ("base", a.base.is_some()),
        ("peak", a.peak.is_some()),
        ("at", a.at.is_some()),
        ("for", a.for_.is_some()),
        ("mean", a.mean.is_some()),
        ("amplitude", a.amplitude.is_some()),
        ("period", a.period.is_some()),
        ("peak_at", a.peak_at.is_some()),
        ("file", a.file.is_some()),
        ("users", a.users.is_some()),
        ("think_time", a.think_time.is_some()),
    ];
    let allowed: &[&str] = match a.kind {
        ArrivalKind::Constant | ArrivalKind::Poisson => &["rate"],
        ArrivalKind::Ramp => &["from", "to", "over"],
        ArrivalKind::Steps => &["steps"],
        ArrivalKind::Spike => &["base", "peak", "at", "for"],
        ArrivalKind::Diurnal => &["mean", "amplitude", "period", "peak_at"],
        ArrivalKind::Trace => &["file"],
        ArrivalKind::Users => &["users", "think_time"],
    };
    cx.only(at, "arrival kind", kind, &fields, allowed);
    let secs = |d: Option<crate::units::DurationStr>| d.map(|d| d.0.as_secs_f64());
    let before = cx.diags.len();
    let spec = match a.kind {
        ArrivalKind::Constant | ArrivalKind::Poisson => {
            let rate = cx.need(at, "arrival kind", kind, "rate", a.rate);
            let rate = cx.non_negative(at, "rate", rate)?;
            if a.kind == ArrivalKind::Constant {
                ArrivalSpec::Constant { rate }
            } else {
                ArrivalSpec::Poisson { rate }
            }
        }
        ArrivalKind::Ramp => {
            let from = cx.need(at, "arrival kind", kind, "from", a.from);
            let to = cx.need(at, "arrival kind", kind, "to", a.to);
            let over = cx.need(at, "arrival kind", kind, "over", secs(a.over));
            let from = cx.non_negative(at, "from", from);
            let to = cx.non_negative(at, "to", to);
            ArrivalSpec::Ramp {
                from: from?,
                to: to?,
                over: over?,
            }
        }
        ArrivalKind::Steps => {
            let steps = cx.need(at, "arrival kind", kind, "steps", a.steps.as_ref())?;
            if steps.is_empty() {
                cx.err(
                    &at.key("steps"),
                    "steps must list at least one { at, rate }",
                );
            }
            let mut out = Vec::new();
            for (i, s) in steps.iter().enumerate() {
                let sat = at.key("steps").index(i);
                if let Some(r) = cx.non_negative(&sat, "rate", Some(s.rate)) {
                    if out.last().is_some_and(|&(t, _)| s.at.0.as_secs_f64() < t) {
                        cx.err(&sat.key("at"), "steps must be in time order");
                    }
                    out.push((s.at.0.as_secs_f64(), r));
                }
            }
            ArrivalSpec::Steps { steps: out }
        }
        ArrivalKind::Spike => {
            let base = cx.need(at, "arrival kind", kind, "base", a.base);
            let peak = cx.need(at, "arrival kind", kind, "peak", a.peak);
            let s_at = cx.need(at, "arrival kind", kind, "at", secs(a.at));
            let dur = cx.need(at, "arrival kind", kind, "for", secs(a.for_));
            let base = cx.non_negative(at, "base", base);
            let peak = cx.non_negative(at, "peak", peak);
            ArrivalSpec::Spike {
                base: base?,
                peak: peak?,
                at: s_at?,
                duration: dur?,
            }
        }
        ArrivalKind::Diurnal => {
            let mean = cx.need(at, "arrival kind", kind, "mean", a.mean);
            let amplitude = cx.need(at, "arrival kind", kind, "amplitude", a.amplitude);
            let mean = cx.non_negative(at, "mean", mean);
            if let Some(amp) = amplitude.filter(|x| !(0.0..=1.0).contains(x)) {
                cx.err(
                    &at.key("amplitude"),
                    format!("amplitude must be between 0 and 1, got {amp}"),
                );
            }
            let period = secs(a.period).unwrap_or(86_400.0);
            if period <= 0.0 {
                cx.err(&at.key("period"), "period must be longer than zero");
            }
            ArrivalSpec::Diurnal {
                mean: mean?,
                amplitude: amplitude?,
                period,
                peak_at: secs(a.peak_at).unwrap_or(0.0),
            }
        }
        ArrivalKind::Users => {
            let users = cx.need(at, "arrival kind", kind, "users", a.users)?;
            if users == 0 {
                cx.err(&at.key("users"), "users must be at least 1");
            }
            ArrivalSpec::Users {
                users,
                think_time: secs(a.think_time).unwrap_or(0.0),
            }
        }
        ArrivalKind::Trace => {
            let file = cx.need(at, "arrival kind", kind, "file", a.file.as_ref())?;
            let src = cx.read(&at.key("file"), file)?;
            match parse_trace(&src) {
                Ok(times) => ArrivalSpec::Trace {
                    times: Arc::from(times),
                },
                Err(e) => {
                    cx.err(&at.key("file"), format!("{file}: {e}"));
                    return None;
                }
            }
        }
    };
    (cx.diags.len() == before).then_some(spec)
}

fn build_fault(
    cx: &mut Cx<'_>,
    f: &RawFault,
    at: &FieldPath,
    duration: Duration,
    raw: &RawScenario,
) -> Option<FaultSpec> {
    let kind = f.kind.as_str();
    let Some(def) = fault_kinds::lookup(kind) else {
        unreachable!("training faults are built by validate::training")
    };
    let before = cx.diags.len();
    // The training fields; the table checks the rest.
    let training_fields: Vec<(&str, bool)> = f
        .fields_set(&["endpoint", "variant"])
        .into_iter()
        .filter(|(name, _)| matches!(*name, "job" | "instance_type"))
        .collect();
    cx.only(at, "fault kind", kind, &training_fields, def.fields);
    if f.at.0 >= duration {
        cx.err(
            &at.key("at"),
            format!(
                "the fault starts at {}s, at or after the end of the run ({}s)",
                f.at.0.as_secs_f64(),
                duration.as_secs_f64()
            ),
        );
    }
    let Some(endpoint) = &f.endpoint else {
        cx.err(at, format!("fault kind \"{kind}\" needs `endpoint`"));
        return None;
    };
    let e = raw.endpoints.iter().position(|e| &e.name == endpoint);
    if e.is_none() {
        cx.unknown(
            &at.key("endpoint"),
            "endpoint",
            endpoint,
            raw.endpoints.iter().map(|e| e.name.as_str()),
        );
    }
    let variant = match (&f.variant, e) {
        (Some(v), Some(e)) => {
            let vi = raw.endpoints[e].variant.iter().position(|x| &x.name == v);
            if vi.is_none() {
                cx.unknown(
                    &at.key("variant"),
                    "variant",
                    v,
                    raw.endpoints[e].variant.iter().map(|v| v.name.as_str()),
                );
            }
            vi
        }
        _ => None,
    };
    let fields = FaultFields {
        for_: f.for_.map(|d| d.0),
        count: f.count,
        detect_after: f.detect_after.map(|d| d.0),
        delay: f.delay.map(|d| d.0),
        rate: f.rate,
        status: f.status,
    };
    let fault_kind = match fault_kinds::build(def, &fields) {
        Ok(k) => Some(k),
        Err(errors) => {
            for e in errors {
                match e.field {
                    Some(field) => cx.err(&at.key(field), e.message),
                    None => cx.err(at, e.message),
                }
            }
            None
        }
    };
    if cx.diags.len() > before {
        return None;
    }
    Some(FaultSpec {
        at: f.at.0,
        duration: fields.for_,
        target: FaultTarget {
            endpoint: e?,
            variant,
        },
        kind: fault_kind?,
    })
}

fn build_baseline(cx: &mut Cx<'_>, b: Option<&RawBaseline>) -> Tolerances {
    let mut t = Tolerances::default();
    let Some(b) = b else {
        return t;
    };
    let at = path("baseline");
    if let Some(x) = cx.non_negative(&at, "latency_p99_pct", b.latency_p99_pct) {
        t.latency_p99_pct = x;
    }
    if let Some(x) = cx.non_negative(&at, "error_rate_abs", b.error_rate_abs) {
        t.error_rate_abs = x;
    }
    if let Some(x) = cx.non_negative(&at, "cost_pct", b.cost_pct) {
        t.cost_pct = x;
    }
    t
}

fn build_slo(cx: &mut Cx<'_>, slo: Option<&RawSlo>) -> SloSpec {
    let Some(s) = slo else {
        return SloSpec::default();
    };
    let at = path("slo");
    let mut out = SloSpec::default();
    for (name, p, v) in [
        ("latency_p50", 50.0, s.latency_p50),
        ("latency_p90", 90.0, s.latency_p90),
        ("latency_p95", 95.0, s.latency_p95),
        ("latency_p99", 99.0, s.latency_p99),
        ("latency_p999", 99.9, s.latency_p999),
    ] {
        if let Some(d) = v {
            if d.0.is_zero() {
                cx.err(&at.key(name), format!("{name} must be longer than zero"));
            }
            out.latency.push((name.to_string(), p, d.0));
        }
    }
    for (name, v) in [
        ("error_rate", s.error_rate),
        ("availability", s.availability),
    ] {
        if let Some(x) = v.filter(|x| !(0.0..=1.0).contains(x)) {
            cx.err(
                &at.key(name),
                format!("{name} is a fraction between 0 and 1, got {x}"),
            );
        }
    }
    out.error_rate = s.error_rate;
    out.availability = s.availability;
    out.cost_budget_usd = cx.non_negative(&at, "cost_budget_usd", s.cost_budget_usd);
    if let Some(x) = s.training_success_rate.filter(|x| !(0.0..=1.0).contains(x)) {
        cx.err(
            &at.key("training_success_rate"),
            format!("training_success_rate is a fraction between 0 and 1, got {x}"),
        );
    }
    out.training_success_rate = s.training_success_rate;
    if let Some(d) = s.training_deadline.filter(|d| d.0.is_zero()) {
        let _ = d;
        cx.err(
            &at.key("training_deadline"),
            "training_deadline must be longer than zero",
        );
    }
    out.training_deadline = s.training_deadline.map(|d| d.0);
    out
}
