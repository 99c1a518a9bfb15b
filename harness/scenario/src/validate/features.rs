//! `[[feature_group]]`, `[endpoint.features]`, `[feature_store]` and
//! `feature_store_outage` faults: the online feature store.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use gameday_core::dist::ServiceDist;
use gameday_core::features::{
    FeatureData, FeatureDef, FeatureGroupSpec, FeatureOutageSpec, FeatureStoreSpec, FeatureUseSpec,
    OnFailure, OutageMode, StoreQuotas,
};
use serde::Deserialize;

use super::{build_dist, Cx};
use crate::diag::{path, quote, FieldPath};
use crate::raw::{RawFault, RawFeatureGroup, RawScenario};

/// The online store's published quotas, with their source.
pub const FEATURE_STORE: &str = include_str!("../../../../fixtures/feature-store.toml");

/// The most records a group, and all groups together, may have (the
/// popularity table holds one weight per record, and a `stale_cache`
/// instance's cache one slot).
pub(super) const MAX_RECORDS: i64 = 1_000_000;
/// Records of a group without `records` or `data`.
pub(super) const DEFAULT_RECORDS: u32 = 1000;
/// The container's lookup timeout unless the endpoint sets one.
pub const DEFAULT_LOOKUP_TIMEOUT: Duration = Duration::from_millis(50);
/// How old a cached copy may be unless the endpoint says.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(600);
/// `BatchGetRecord` takes at most this many feature groups.
const MAX_BATCH_GROUPS: usize = 10;

#[derive(Deserialize)]
struct QuotaFile {
    quotas: QuotaFigures,
}

#[derive(Deserialize)]
struct QuotaFigures {
    get_record_tps: f64,
    batch_get_record_tps: f64,
}

/// The built-in quotas from `fixtures/feature-store.toml`.
pub fn builtin_quotas() -> StoreQuotas {
    let f: QuotaFile = toml::from_str(FEATURE_STORE).expect("fixtures/feature-store.toml parses");
    StoreQuotas {
        get_record_tps: f.quotas.get_record_tps,
        batch_get_record_tps: f.quotas.batch_get_record_tps,
    }
}

/// Checks and builds the groups, the endpoints' uses and the quotas (the
/// outages come with the faults).
pub(super) fn build(cx: &mut Cx<'_>, raw: &RawScenario) -> FeatureStoreSpec {
    let mut groups = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, g) in raw.feature_groups.iter().enumerate() {
        let at = path("feature_group").index(i);
        if !seen.insert(g.name.as_str()) {
            cx.err(
                &at.key("name"),
                format!("duplicate feature group name {}", quote(&g.name)),
            );
        }
        if let Some(spec) = build_group(cx, g, &at) {
            groups.push(spec);
        }
    }
    let total: u64 = groups.iter().map(|g| u64::from(g.records)).sum();
    if total > MAX_RECORDS as u64 {
        cx.err(
            &path("feature_group"),
            format!(
                "the feature groups hold {total} records together; at most {MAX_RECORDS} are allowed (a stale_cache instance keeps a 16-byte slot per record)"
            ),
        );
    }
    let group_names: Vec<&str> = raw.feature_groups.iter().map(|g| g.name.as_str()).collect();
    let mut uses = Vec::new();
    for (e, ep) in raw.endpoints.iter().enumerate() {
        let Some(f) = &ep.features else { continue };
        let at = path("endpoint").index(e).key("features");
        let before = cx.diags.len();
        let mut idx = Vec::new();
        let names = f.group.names();
        if names.is_empty() {
            cx.err(&at.key("group"), "name at least one feature group");
        }
        if names.len() > MAX_BATCH_GROUPS {
            cx.err(
                &at.key("group"),
                format!(
                    "a BatchGetRecord reads at most {MAX_BATCH_GROUPS} feature groups, got {}",
                    names.len()
                ),
            );
        }
        for name in &names {
            match group_names.iter().position(|g| g == name) {
                Some(g) if idx.contains(&(g as u16)) => cx.err(
                    &at.key("group"),
                    format!("feature group {} is listed twice", quote(name)),
                ),
                Some(g) => idx.push(g as u16),
                None if group_names.is_empty() => cx.err(
                    &at.key("group"),
                    format!(
                        "unknown feature group {}: the scenario has no [[feature_group]]; add one with that name",
                        quote(name)
                    ),
                ),
                None => cx.unknown(
                    &at.key("group"),
                    "feature group",
                    name,
                    group_names.iter().copied(),
                ),
            }
        }
        let on_failure = match f.on_failure.as_deref() {
            None => Some(OnFailure::Error),
            Some(s) => fallback(cx, &at.key("on_failure"), s, true),
        };
        let stale_cache = on_failure == Some(OnFailure::StaleCache);
        if !stale_cache && on_failure.is_some() {
            for (name, set) in [
                ("cache_ttl", f.cache_ttl.is_some()),
                ("then", f.then.is_some()),
            ] {
                if set {
                    cx.err(
                        &at.key(name),
                        format!(
                            "`{name}` applies only to on_failure = \"stale_cache\" (this endpoint's is {})",
                            quote(f.on_failure.as_deref().unwrap_or("error"))
                        ),
                    );
                }
            }
        }
        let then = match f.then.as_deref() {
            None => Some(OnFailure::Default),
            Some(s) => fallback(cx, &at.key("then"), s, false),
        };
        let timeout = f.timeout.map_or(DEFAULT_LOOKUP_TIMEOUT, |d| d.0);
        if timeout.is_zero() || timeout > super::DEFAULT_TIMEOUT {
            cx.err(
                &at.key("timeout"),
                format!(
                    "timeout must be more than 0 and at most 60s (SageMaker's invocation limit), got {}s",
                    timeout.as_secs_f64()
                ),
            );
        }
        let cache_ttl = f.cache_ttl.map_or(DEFAULT_CACHE_TTL, |d| d.0);
        if stale_cache && cache_ttl.is_zero() {
            cx.err(
                &at.key("cache_ttl"),
                "cache_ttl must be more than 0 (a zero TTL never serves from cache; use on_failure = \"default\")",
            );
        }
        let features: Vec<&str> = idx
            .iter()
            .flat_map(|&g| raw.feature_groups[g as usize].features.iter())
            .map(|f| f.name.as_str())
            .collect();
        for name in f.defaults.keys() {
            if !features.contains(&name.as_str()) && !idx.is_empty() {
                cx.unknown(
                    &at.key("defaults").key(name),
                    "feature",
                    name,
                    features.iter().copied(),
                );
            }
        }
        if cx.diags.len() > before {
            continue;
        }
        if let (Some(on_failure), Some(then)) = (on_failure, then) {
            uses.push(FeatureUseSpec {
                endpoint: e as u16,
                groups: idx,
                timeout,
                on_failure,
                cache_ttl,
                then,
            });
        }
    }
    FeatureStoreSpec {
        groups,
        uses,
        outages: Vec::new(),
        quotas: quotas(cx, raw),
    }
}

/// Reads a fallback name; `stale` says whether `stale_cache` is allowed.
fn fallback(cx: &mut Cx<'_>, at: &FieldPath, s: &str, stale: bool) -> Option<OnFailure> {
    match s {
        "error" => Some(OnFailure::Error),
        "default" => Some(OnFailure::Default),
        "stale_cache" if stale => Some(OnFailure::StaleCache),
        _ => {
            let all: &[&str] = if stale {
                &["error", "default", "stale_cache"]
            } else {
                &["error", "default"]
            };
            cx.unknown(at, "fallback", s, all.iter().copied());
            None
        }
    }
}

fn quotas(cx: &mut Cx<'_>, raw: &RawScenario) -> StoreQuotas {
    let mut q = builtin_quotas();
    let Some(f) = &raw.feature_store else {
        return q;
    };
    let at = path("feature_store");
    for (name, v, slot) in [
        (
            "get_record_tps",
            f.get_record_tps,
            &mut q.get_record_tps as &mut f64,
        ),
        (
            "batch_get_record_tps",
            f.batch_get_record_tps,
            &mut q.batch_get_record_tps,
        ),
    ] {
        match v {
            Some(x) if x.is_finite() && x > 0.0 => *slot = x,
            Some(x) => cx.err(
                &at.key(name),
                format!("{name} must be more than 0 calls per second, got {x}"),
            ),
            None => {}
        }
    }
    q
}

fn build_group(cx: &mut Cx<'_>, g: &RawFeatureGroup, at: &FieldPath) -> Option<FeatureGroupSpec> {
    let before = cx.diags.len();
    if g.features.is_empty() {
        cx.err(
            &at.key("features"),
            "a feature group needs at least one feature, like features = [ { name = \"purchase_count_30d\", default = \"0\" } ]",
        );
    }
    let mut names = BTreeSet::new();
    for (k, f) in g.features.iter().enumerate() {
        let fat = at.key("features").index(k);
        if f.name.is_empty() || f.name.len() > 64 {
            cx.err(
                &fat.key("name"),
                format!(
                    "a feature name is 1 to 64 characters, got {} ({} characters)",
                    quote(&f.name),
                    f.name.len()
                ),
            );
        }
        if !names.insert(f.name.as_str()) {
            cx.err(
                &fat.key("name"),
                format!("duplicate feature name {}", quote(&f.name)),
            );
        }
    }
    let record_identifier = g.record_identifier.as_deref().unwrap_or("record_id");
    let event_time = g.event_time_feature.as_deref().unwrap_or("event_time");
    for (field, name) in [
        ("record_identifier", record_identifier),
        ("event_time_feature", event_time),
    ] {
        if names.contains(name) {
            cx.err(
                &at.key(field),
                format!(
                    "{} is also listed in `features`; the {field} is its own column",
                    quote(name)
                ),
            );
        }
    }
    let rows = match &g.data {
        None => None,
        Some(file) => data_rows(cx, &at.key("data"), file, g, record_identifier, event_time),
    };
    let data = rows.map(Arc::new);
    let rows = data.as_ref().map(|d| d.ids.len());
    let records = match (g.records, rows) {
        (Some(n), _) if !(1..=MAX_RECORDS).contains(&n) => {
            cx.err(
                &at.key("records"),
                format!("records must be between 1 and {MAX_RECORDS}, got {n}"),
            );
            None
        }
        (Some(n), Some(r)) if n as usize != r => {
            cx.err(
                &at.key("records"),
                format!("records = {n}, but the data file has {r} rows; leave `records` out to take the file's count"),
            );
            None
        }
        (Some(n), _) => Some(n as u32),
        (None, Some(0)) => None, // said by data_rows
        (None, Some(r)) if r as i64 > MAX_RECORDS => {
            cx.err(
                &at.key("data"),
                format!("the data file has {r} rows; at most {MAX_RECORDS} are allowed"),
            );
            None
        }
        (None, Some(r)) => Some(r as u32),
        (None, None) => Some(DEFAULT_RECORDS),
    };
    let zipf = match &g.lookup_popularity {
        Some(p) if !(p.zipf.is_finite() && p.zipf > 0.0) => {
            cx.err(
                &at.key("lookup_popularity").key("zipf"),
                format!("zipf must be more than 0, got {}", p.zipf),
            );
            None
        }
        Some(p) => Some(p.zipf),
        None => None,
    };
    let latency = match &g.latency {
        Some(l) => build_dist(cx, l, &at.key("latency")),
        None => ServiceDist::lognormal_from_p50_p99(0.004, 0.015).ok(),
    };
    let refresh = g.refresh.map(|d| d.0);
    if refresh.is_some_and(|d| d.is_zero()) {
        cx.err(
            &at.key("refresh"),
            "refresh must be more than 0 (leave it out for records written once)",
        );
    }
    if cx.diags.len() > before {
        return None;
    }
    Some(FeatureGroupSpec {
        name: g.name.clone(),
        records: records?,
        zipf,
        latency: latency?,
        refresh,
        features: g
            .features
            .iter()
            .map(|f| FeatureDef {
                name: f.name.clone(),
                default: f.default.clone().unwrap_or_default(),
            })
            .collect(),
        record_identifier: record_identifier.to_string(),
        event_time_feature: event_time.to_string(),
        data: data.filter(|d| !d.ids.is_empty()),
    })
}

/// Checks a group's data file: its header must be the record identifier,
/// each feature, and optionally the event time. Returns its records.
fn data_rows(
    cx: &mut Cx<'_>,
    at: &FieldPath,
    file: &str,
    g: &RawFeatureGroup,
    record_identifier: &str,
    event_time: &str,
) -> Option<FeatureData> {
    let src = cx.read(at, file)?;
    let mut rdr = csv::Reader::from_reader(src.as_bytes());
    let header: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_string()).collect(),
        Err(e) => {
            cx.err(at, format!("{file}: {e}"));
            return None;
        }
    };
    let mut want: Vec<&str> = vec![record_identifier];
    want.extend(g.features.iter().map(|f| f.name.as_str()));
    let missing: Vec<&str> = want
        .iter()
        .copied()
        .filter(|w| !header.iter().any(|h| h == w))
        .collect();
    let extra: Vec<&str> = header
        .iter()
        .map(String::as_str)
        .filter(|h| !want.contains(h) && *h != event_time)
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        let mut msg = format!("{file}: its columns do not match the group's features:");
        if !missing.is_empty() {
            msg.push_str(&format!(" missing {}", missing.join(", ")));
        }
        if !extra.is_empty() {
            if !missing.is_empty() {
                msg.push(';');
            }
            msg.push_str(&format!(
                " {} not a feature of {}",
                extra.join(", "),
                quote(&g.name)
            ));
        }
        msg.push_str(&format!(
            " (expected {}{})",
            want.join(","),
            format_args!(", and optionally {event_time}")
        ));
        cx.err(at, msg);
        return None;
    }
    // Column of the identifier and of each feature, in feature order.
    let column = |name: &str| header.iter().position(|h| h == name).unwrap_or(0);
    let id_col = column(record_identifier);
    let cols: Vec<usize> = g.features.iter().map(|f| column(&f.name)).collect();
    let mut data = FeatureData::default();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                cx.err(at, format!("{file}: {e}"));
                return None;
            }
        };
        if data.ids.len() as i64 >= MAX_RECORDS {
            cx.err(
                at,
                format!("{file}: the file has more than {MAX_RECORDS} rows; at most {MAX_RECORDS} are allowed"),
            );
            return None;
        }
        data.ids
            .push(rec.get(id_col).unwrap_or("").trim().to_string());
        data.values.extend(
            cols.iter()
                .map(|&c| rec.get(c).unwrap_or("").trim().to_string()),
        );
    }
    if data.ids.is_empty() {
        cx.err(at, format!("{file}: the file has a header but no records"));
    }
    Some(data)
}

/// Checks and builds a `feature_store_outage`.
pub(super) fn build_outage(
    cx: &mut Cx<'_>,
    f: &RawFault,
    at: &FieldPath,
    raw: &RawScenario,
    duration: Duration,
) -> Option<FeatureOutageSpec> {
    let kind = f.kind.as_str();
    let before = cx.diags.len();
    cx.only(
        at,
        "fault kind",
        kind,
        &f.fields_set(&[]),
        &["for", "group", "mode", "delay", "rate", "quota"],
    );
    super::faults::starts_in_run(cx, f, at, duration);
    let group_names: Vec<&str> = raw.feature_groups.iter().map(|g| g.name.as_str()).collect();
    let group = match &f.group {
        None => {
            cx.err(
                at,
                format!("fault kind \"{kind}\" needs `group`, the feature group it hits"),
            );
            None
        }
        Some(g) => {
            let i = group_names.iter().position(|n| n == g);
            if i.is_none() {
                cx.unknown(
                    &at.key("group"),
                    "feature group",
                    g,
                    group_names.iter().copied(),
                );
            }
            i
        }
    };
    if let Some(g) = group {
        let read: Vec<&str> = raw
            .endpoints
            .iter()
            .filter_map(|e| e.features.as_ref())
            .flat_map(|f| f.group.names())
            .collect();
        // A misspelt endpoint group is reported there, not here too.
        let misspelt = read.iter().any(|n| !group_names.contains(n));
        if !misspelt && !read.contains(&group_names[g]) {
            cx.err(
                &at.key("group"),
                format!(
                    "no endpoint reads feature group {}, so the outage would change nothing; add it to an [endpoint.features] group",
                    quote(group_names[g])
                ),
            );
        }
    }
    const MODES: [&str; 5] = ["unavailable", "slow", "errors", "throttled", "stale"];
    let takes = |m: &str| match m {
        "slow" => Some("delay"),
        "errors" => Some("rate"),
        "throttled" => Some("quota"),
        _ => None,
    };
    let mode = match f.mode.as_deref() {
        None => {
            cx.err(
                at,
                format!(
                    "fault kind \"{kind}\" needs `mode`: one of {}",
                    MODES.join(", ")
                ),
            );
            None
        }
        Some(m) if !MODES.contains(&m) => {
            cx.unknown(&at.key("mode"), "mode", m, MODES.iter().copied());
            None
        }
        Some(m) => {
            for (field, set) in [
                ("delay", f.delay.is_some()),
                ("rate", f.rate.is_some()),
                ("quota", f.quota.is_some()),
            ] {
                if set && takes(m) != Some(field) {
                    cx.err(
                        &at.key(field),
                        format!(
                            "`{field}` does not apply to mode \"{m}\"{}",
                            takes(m).map_or(String::new(), |t| format!(" (it takes `{t}`)"))
                        ),
                    );
                }
            }
            match m {
                "unavailable" => Some(OutageMode::Unavailable),
                "stale" => Some(OutageMode::Stale),
                "slow" => match f.delay {
                    Some(d) if !d.0.is_zero() => Some(OutageMode::Slow { delay: d.0 }),
                    Some(_) => {
                        cx.err(&at.key("delay"), "delay must be more than 0");
                        None
                    }
                    None => {
                        cx.err(at, "mode \"slow\" needs `delay`, like delay = \"80ms\"");
                        None
                    }
                },
                "errors" => match f.rate {
                    Some(r) if r > 0.0 && r <= 1.0 => Some(OutageMode::Errors { rate: r }),
                    Some(r) => {
                        cx.err(
                            &at.key("rate"),
                            format!("rate must be more than 0 and at most 1, got {r}"),
                        );
                        None
                    }
                    None => {
                        cx.err(
                            at,
                            "mode \"errors\" needs `rate`, the share of lookups that fail, like rate = 0.2",
                        );
                        None
                    }
                },
                _ => match f.quota {
                    Some(q) if !(q.is_finite() && q >= 0.0) => {
                        cx.err(
                            &at.key("quota"),
                            format!("quota must be zero or more calls per second, got {q}"),
                        );
                        None
                    }
                    q => Some(OutageMode::Throttled {
                        tps: q.unwrap_or(0.0),
                    }),
                },
            }
        }
    };
    if cx.diags.len() > before {
        return None;
    }
    Some(FeatureOutageSpec {
        group: group? as u16,
        mode: mode?,
        at: f.at.0,
        duration: f.for_.map(|d| d.0),
    })
}
