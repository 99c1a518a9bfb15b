//! `postmortem.md`: an incident write-up pre-filled from the run, for the
//! people around the screen after a game day. gameday fills what the run
//! knows (the model context, what was changed on purpose, which failure
//! modes actually happened, the timeline, the impact in numbers) and marks
//! the sections only people can write (`_To fill in_`).
//!
//! The shape follows the usual ML incident template: summary, model
//! context, what changed, failure-mode classification, timeline, impact,
//! detection, root cause, what went well and badly, action items.

use std::io::Write;

use crate::recorder::{EventRow, RunRecord};
use crate::slo::fmt_num;
use crate::writers::{fmt_usd, WriteError};

/// Most timeline rows listed (`events.csv` has them all).
pub const TIMELINE_ROWS: usize = 60;

const TO_FILL: &str = "_To fill in._";

/// A failure mode of the classification, and whether the run shows it.
struct Mode {
    name: &'static str,
    seen: Option<String>,
}

fn count(events: &[EventRow], kinds: &[&str]) -> usize {
    events
        .iter()
        .filter(|e| kinds.contains(&e.kind.as_str()))
        .count()
}

fn faults_of(events: &[EventRow], words: &[&str]) -> usize {
    events
        .iter()
        .filter(|e| e.kind == "fault_injected" || e.kind == "training_fault")
        .filter(|e| words.iter().any(|w| e.detail.starts_with(w)))
        .count()
}

/// The classification, ticked from what happened.
fn modes(rec: &RunRecord) -> Vec<Mode> {
    let r = &rec.report;
    let ev = &rec.events;
    let mut out = Vec::new();
    let crashes = count(ev, &["instance_crashed"]);
    let failed_launches = count(ev, &["instance_launch_failed"]);
    let spot = count(ev, &["spot_interrupted"]);
    out.push(Mode {
        name: "Infrastructure failure (instances, zones, capacity)",
        seen: (crashes + failed_launches + spot > 0).then(|| {
            format!(
                "{crashes} instance crash(es), {failed_launches} failed launch(es), {spot} spot interruption(s)"
            )
        }),
    });
    let model_faults = faults_of(ev, &["latency_injection", "error_injection", "blackhole"]);
    let errors_5xx: u64 = r.endpoints.iter().map(|e| e.errors.server_5xx).sum();
    let timeouts: u64 = r.endpoints.iter().map(|e| e.errors.timeout).sum();
    out.push(Mode {
        name: "Model serving failure (slow, failing or unreachable model, container errors)",
        seen: (model_faults > 0 || errors_5xx > 0 || timeouts > 0).then(|| {
            format!(
                "{model_faults} serving fault(s), {errors_5xx} 5XX answers, {timeouts} timeouts"
            )
        }),
    });
    let scaling = count(ev, &["scaling_activity"]);
    let throttled: u64 = r.endpoints.iter().map(|e| e.errors.throttled).sum();
    let short: u64 = r
        .endpoints
        .iter()
        .flat_map(|e| &e.variants)
        .map(|v| v.requests_while_short)
        .sum();
    out.push(Mode {
        name: "Capacity and scaling (too few instances, throttling, scaling too late)",
        seen: (throttled > 0 || short > 0 || (scaling > 0 && errors_5xx + throttled > 0)).then(|| {
            format!(
                "{throttled} throttled, {short} requests while short of instances, {scaling} scaling activities"
            )
        }),
    });
    let model_load_faults = faults_of(ev, &["model_download_slow", "model_load_failure"]);
    let load_failures: u64 = r
        .endpoints
        .iter()
        .flat_map(|e| &e.variants)
        .filter_map(|v| v.mme.as_ref())
        .map(|m| m.load_failures + m.model_not_ready)
        .sum();
    let missed_hits = r
        .slos
        .iter()
        .filter(|s| s.name == "model_cache_hit_ratio" && !s.met)
        .count();
    out.push(Mode {
        name: "Model loading (multi-model cold loads, thrashing, failed loads)",
        seen: (load_failures > 0 || missed_hits > 0 || model_load_faults > 0).then(|| {
            format!(
                "{load_failures} failed or not-ready loads, {missed_hits} hit-ratio objective(s) missed, {model_load_faults} loading fault(s)"
            )
        }),
    });
    let feature_faults = faults_of(ev, &["feature_store_outage"]);
    let (failed_lookups, defaults) =
        r.endpoints
            .iter()
            .filter_map(|e| e.features.as_ref())
            .fold((0, 0), |(l, d), f| {
                let x = &f.lookup_errors;
                (
                    l + x.unavailable + x.internal_failure + x.throttled + x.timeout,
                    d + f.served_default,
                )
            });
    let stale = r
        .slos
        .iter()
        .filter(|s| s.name == "feature_age_p99" && !s.met)
        .count();
    out.push(Mode {
        name: "Feature pipeline failure (feature store outage, stale features)",
        seen: (feature_faults + stale > 0 || failed_lookups > 0).then(|| {
            format!(
                "{feature_faults} feature-store outage event(s) (one per endpoint reading the group), {failed_lookups} failed lookups, {defaults} responses on default features, {stale} feature-age objective(s) missed"
            )
        }),
    });
    let failed_jobs: Vec<&str> = r
        .training_jobs
        .iter()
        .filter(|j| j.status != "Completed")
        .map(|j| j.name.as_str())
        .collect();
    out.push(Mode {
        name: "Training failure (a job that failed, stopped or ran out of time)",
        seen: (!failed_jobs.is_empty())
            .then(|| format!("not completed: {}", failed_jobs.join(", "))),
    });
    out
}

/// Writes the pre-filled postmortem of `rec`.
pub fn write_postmortem<W: Write>(rec: &RunRecord, mut w: W) -> Result<(), WriteError> {
    let r = &rec.report;
    let s = &r.scenario;
    let missed: Vec<_> = r.slos.iter().filter(|o| !o.met).collect();
    writeln!(w, "# Postmortem: {} (game day)", s.name)?;
    writeln!(w)?;
    writeln!(
        w,
        "Pre-filled by gameday from the run (clock {}, seed {}, {} s{}). Sections marked _To fill in_ are for people.",
        s.clock,
        s.seed,
        fmt_num(s.duration_s),
        match (&r.incomplete_reason, r.complete) {
            (_, true) => String::new(),
            (Some(why), false) => format!(", INCOMPLETE: {why}"),
            (None, false) => ", INCOMPLETE: the run was interrupted".into(),
        }
    )?;
    writeln!(w)?;
    writeln!(w, "## Summary")?;
    writeln!(w)?;
    if missed.is_empty() {
        writeln!(
            w,
            "Verdict **{}**: every objective held.",
            r.verdict.to_uppercase()
        )?;
    } else {
        writeln!(
            w,
            "Verdict **{}**: {} of {} objectives missed.",
            r.verdict.to_uppercase(),
            missed.len(),
            r.slos.len()
        )?;
        for o in &missed {
            writeln!(
                w,
                "- {} on {}: {} against {}",
                o.name,
                o.target(),
                fmt_num(o.actual),
                o.objective
            )?;
        }
    }
    writeln!(w)?;
    writeln!(w, "{TO_FILL} One paragraph: what users saw, and why.")?;
    writeln!(w)?;

    writeln!(w, "## Model context")?;
    writeln!(w)?;
    if r.endpoints.is_empty() && r.training_jobs.is_empty() {
        writeln!(w, "Nothing ran.")?;
    }
    for e in &r.endpoints {
        for v in &e.variants {
            let mode = match (&v.mme, &v.shadow_of) {
                (Some(_), _) => ", multi-model".to_string(),
                (None, Some(of)) => format!(", shadow of {of} (answered nobody)"),
                _ => String::new(),
            };
            writeln!(
                w,
                "- Endpoint {} / {}: model {}, {} × {}{mode}",
                e.name, v.name, v.model, v.instance_count, v.instance_type
            )?;
        }
    }
    for j in &r.training_jobs {
        writeln!(
            w,
            "- Training job {}: {} × {}{}, {}",
            j.name,
            j.instance_count,
            j.instance_type,
            if j.spot { " on spot" } else { "" },
            j.status
        )?;
    }
    writeln!(w)?;

    writeln!(w, "## What changed")?;
    writeln!(w)?;
    let injected: Vec<&EventRow> = rec
        .events
        .iter()
        .filter(|e| e.kind == "fault_injected" || e.kind == "training_fault")
        .collect();
    if injected.is_empty() {
        writeln!(
            w,
            "No fault was injected: the traffic and the platform alone."
        )?;
    } else {
        writeln!(w, "The faults injected on purpose:")?;
        writeln!(w)?;
        for e in injected {
            let target = if e.endpoint.is_empty() {
                &e.job
            } else {
                &e.endpoint
            };
            writeln!(
                w,
                "- at {} s on {}: {}",
                fmt_num(e.time_s),
                target,
                e.detail
            )?;
        }
    }
    writeln!(w)?;

    writeln!(w, "## Failure-mode classification")?;
    writeln!(w)?;
    writeln!(w, "Ticked where the run shows it happened:")?;
    writeln!(w)?;
    for m in modes(rec) {
        match m.seen {
            Some(why) => writeln!(w, "- [x] {} — {why}", m.name)?,
            None => writeln!(w, "- [ ] {}", m.name)?,
        }
    }
    writeln!(w)?;

    writeln!(w, "## Timeline")?;
    writeln!(w)?;
    if rec.events.is_empty() {
        writeln!(w, "No platform events.")?;
    } else {
        writeln!(w, "| time s | event | where | detail |")?;
        writeln!(w, "|---|---|---|---|")?;
        // Platform events, and the burn-rate alerts that would have fired.
        let mut rows: Vec<(f64, String, String, String)> = rec
            .events
            .iter()
            .map(|e| {
                let mut at = if e.endpoint.is_empty() {
                    e.job.clone()
                } else {
                    e.endpoint.clone()
                };
                if !e.variant.is_empty() {
                    at = format!("{at}/{}", e.variant);
                }
                if let Some(i) = e.instance {
                    at = format!("{at} #{i}");
                }
                (e.time_s, e.kind.clone(), at, e.detail.clone())
            })
            .collect();
        for b in r.error_budget.iter().flat_map(|b| &b.slos) {
            for a in &b.alerts {
                rows.push((
                    a.fired_at_s,
                    format!("burn_rate_{}", a.severity),
                    b.endpoint.clone(),
                    format!(
                        "{} budget burning at {}x or more over both windows",
                        b.slo,
                        fmt_num(a.burn_rate)
                    ),
                ));
            }
        }
        // Stable: at a tie, events before the alerts they caused.
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (t, kind, at, detail) in rows.iter().take(TIMELINE_ROWS) {
            writeln!(w, "| {} | {kind} | {at} | {detail} |", fmt_num(*t))?;
        }
        if rows.len() > TIMELINE_ROWS {
            writeln!(w)?;
            writeln!(w, "… {} more in `events.csv`.", rows.len() - TIMELINE_ROWS)?;
        }
    }
    writeln!(w)?;

    writeln!(w, "## Impact")?;
    writeln!(w)?;
    for e in &r.endpoints {
        let failed = e.requests - e.ok;
        writeln!(
            w,
            "- {}: {} of {} requests failed ({} 4XX, {} 5XX, {} timeouts, {} throttled); p99 {} ms, max {} ms; availability {}",
            e.name,
            failed,
            e.requests,
            e.errors.client_4xx,
            e.errors.server_5xx,
            e.errors.timeout,
            e.errors.throttled,
            fmt_num(e.latency_ms.p99),
            fmt_num(e.latency_ms.max),
            fmt_num(e.availability)
        )?;
    }
    for j in &r.training_jobs {
        writeln!(
            w,
            "- {}: {} interruptions, {} steps lost, {} s of wall time, {} USD ({} on demand)",
            j.name,
            j.interruptions,
            j.steps_lost,
            fmt_num(j.wall_time_s),
            fmt_usd(j.cost_usd),
            fmt_usd(j.on_demand_cost_usd)
        )?;
    }
    for b in r.error_budget.iter().flat_map(|b| &b.slos) {
        if b.bad > 0 {
            writeln!(
                w,
                "- Error budget of {} on {}: {} spent ({} bad of {} requests, {} allowed); alerts: {}",
                b.slo,
                b.endpoint,
                b.consumed_pct(),
                b.bad,
                b.requests,
                fmt_num(b.budget),
                b.alerts_line()
            )?;
        }
    }
    writeln!(w, "- Cost of the run: {} USD", fmt_usd(r.cost.total_usd))?;
    writeln!(w)?;
    for section in [
        "Detection (which alarm or person noticed, and when)",
        "Root cause",
        "What went well",
        "What went badly",
        "Action items (owner, due date)",
    ] {
        writeln!(w, "## {section}")?;
        writeln!(w)?;
        writeln!(w, "{TO_FILL}")?;
        writeln!(w)?;
    }
    Ok(())
}
