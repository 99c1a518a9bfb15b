//! `[[workload]]`: who sends what to which endpoint, when (the arrival
//! process), with which timeout and payload.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use gameday_core::arrival::ArrivalSpec;
use gameday_core::mme::ModelMix;
use gameday_core::spec::{EndpointSpec, TargetModel, WorkloadSpec};

use super::names::Names;
use super::{limits, Cx, DEFAULT_TIMEOUT};
use crate::diag::{path, FieldPath};
use crate::raw::*;
use crate::Payload;

/// Checks and builds every workload and its payload.
pub(super) fn build(
    cx: &mut Cx<'_>,
    raw: &RawScenario,
    names: &Names<'_>,
    endpoints: &[EndpointSpec],
    duration: Duration,
) -> (Vec<WorkloadSpec>, Vec<Payload>) {
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
        let e = names.endpoint(cx, &at.key("endpoint"), &w.endpoint);
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
            (Some(tv), Some(e)) => names.variant(cx, &at.key("target_variant"), e, tv),
            _ => None,
        };
        if let (Some(v), Some(e)) = (target_variant, e) {
            if raw.endpoints[e].variant[v].shadow.is_some() {
                cx.err(
                    &at.key("target_variant"),
                    format!(
                        "variant {} is a shadow: it answers nobody, so no client can target it; target its production variant",
                        crate::diag::quote(&raw.endpoints[e].variant[v].name)
                    ),
                );
            }
        }
        let target_model = match e {
            Some(e) => target_model(cx, &at, w, raw, endpoints, e),
            None => TargetModel::None,
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
        let arrival = build_arrival(cx, &w.arrival, &at.key("arrival"));
        if let Some(a) = &arrival {
            limits::check_workload(cx, &at.key("arrival"), a, timeout, duration);
        }
        if let (Some(e), Some(arrival)) = (e, arrival) {
            payloads.push(payload);
            workloads.push(WorkloadSpec {
                name,
                endpoint: e,
                arrival,
                timeout,
                target_variant,
                target_model,
            });
        }
    }
    (workloads, payloads)
}

/// Which model workload `w`'s requests to endpoint `e` target.
fn target_model(
    cx: &mut Cx<'_>,
    at: &FieldPath,
    w: &RawWorkload,
    raw: &RawScenario,
    endpoints: &[EndpointSpec],
    e: usize,
) -> TargetModel {
    let multi = super::multi_model::is_multi_model(raw, e);
    if let Some(seq) = trace_models(cx, at, w, endpoints, e, multi) {
        return seq;
    }
    match (&w.target_model, multi) {
        (Some(_), false) => {
            super::multi_model::not_multi_model(
                cx,
                &at.key("target_model"),
                &w.endpoint,
                "target_model",
            );
            TargetModel::None
        }
        (None, false) => TargetModel::None,
        (Some(name), true) => {
            match super::multi_model::model_index(cx, &at.key("target_model"), endpoints, e, name) {
                Some(m) => TargetModel::Fixed(m),
                None => TargetModel::None,
            }
        }
        (None, true) => endpoints
            .get(e)
            .and_then(|ep| ep.variants.iter().find_map(|v| v.multi_model.as_ref()))
            .map_or(TargetModel::None, |mm| {
                TargetModel::Popularity(ModelMix::new(mm.models.iter().map(|m| m.weight)))
            }),
    }
}

/// A trace's `model` column: each request's target model, in the order
/// the trace's (sorted) times send them. `None` when there is none.
fn trace_models(
    cx: &mut Cx<'_>,
    at: &FieldPath,
    w: &RawWorkload,
    endpoints: &[EndpointSpec],
    e: usize,
    multi: bool,
) -> Option<TargetModel> {
    let file = w
        .arrival
        .file
        .as_ref()
        .filter(|_| w.arrival.kind == ArrivalKind::Trace)?;
    let fat = at.key("arrival").key("file");
    // The arrival's own parse reports a file that cannot be read.
    let src = std::fs::read_to_string(cx.base_dir.join(file)).ok()?;
    let mut rdr = csv::Reader::from_reader(src.as_bytes());
    let headers = rdr.headers().ok()?.clone();
    let t = headers.iter().position(|h| h.trim() == "time_s")?;
    let m = headers.iter().position(|h| h.trim() == "model")?;
    if !multi {
        cx.err(
            &fat,
            format!(
                "{file} has a `model` column, but endpoint {} is single-model; add mode = \"multi_model\" to it",
                crate::diag::quote(&w.endpoint)
            ),
        );
        return Some(TargetModel::None);
    }
    if w.target_model.is_some() {
        cx.err(
            &at.key("target_model"),
            format!("give `target_model` or the `model` column of {file}, not both"),
        );
        return Some(TargetModel::None);
    }
    let mm = endpoints
        .get(e)
        .and_then(|ep| ep.variants.iter().find_map(|v| v.multi_model.as_ref()))?;
    let index: std::collections::BTreeMap<&str, u32> = mm
        .models
        .iter()
        .enumerate()
        .map(|(i, x)| (x.name.as_str(), i as u32))
        .collect();
    let mut rows: Vec<(f64, u32)> = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let Ok(rec) = rec else { return None }; // the arrival's parse reports it
        let time = rec.get(t).and_then(|s| s.trim().parse::<f64>().ok())?;
        let name = rec.get(m).unwrap_or("").trim();
        match index.get(name) {
            Some(&x) => rows.push((time, x)),
            None => {
                let mut d = cx.loc.at(
                    &fat,
                    format!(
                        "{file} row {}: unknown model {}",
                        i + 2,
                        crate::diag::quote(name)
                    ),
                );
                d.suggestion =
                    crate::diag::suggest(name, mm.models.iter().map(|x| x.name.as_str()));
                cx.diags.push(d);
                return Some(TargetModel::None);
            }
        }
    }
    // Sorted as the trace's times are (stable, so ties keep file order).
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    Some(TargetModel::Sequence(
        rows.into_iter().map(|r| r.1).collect(),
    ))
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
