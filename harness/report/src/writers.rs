//! Writers: one run record, many formats. Each is generic over
//! [`std::io::Write`] so tests render into a `Vec<u8>`.

use std::io::{self, Write};

use serde::Serialize;

use crate::baseline::BaselineComparison;
use crate::model::{LatencySummary, Report};
use crate::recorder::{EventRow, RunRecord, TimelineRow};
use crate::slo::fmt_num;

/// Why writing a report failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The destination failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// JSON encoding failed.
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// CSV encoding failed.
    #[error("encoding CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// Writes `report.json`: pretty JSON, fields in contract order, a trailing
/// newline. Deterministic for a given report.
pub fn write_json<W: Write>(report: &Report, mut w: W) -> Result<(), WriteError> {
    serde_json::to_writer_pretty(&mut w, report)?;
    w.write_all(b"\n")?;
    Ok(())
}

/// Writes any serialisable value as pretty JSON (used for `run.json`).
pub fn write_json_value<T: Serialize, W: Write>(value: &T, mut w: W) -> Result<(), WriteError> {
    serde_json::to_writer_pretty(&mut w, value)?;
    w.write_all(b"\n")?;
    Ok(())
}

/// Writes `timeline.csv`.
pub fn write_timeline<W: Write>(rows: &[TimelineRow], w: W) -> Result<(), WriteError> {
    write_csv(rows, w)
}

/// Writes `events.csv`.
pub fn write_events<W: Write>(rows: &[EventRow], w: W) -> Result<(), WriteError> {
    write_csv(rows, w)
}

fn write_csv<T: Serialize, W: Write>(rows: &[T], w: W) -> Result<(), WriteError> {
    let mut out = csv::Writer::from_writer(w);
    for r in rows {
        out.serialize(r)?;
    }
    out.flush()?;
    Ok(())
}

fn latency_cells(l: &LatencySummary) -> String {
    format!(
        "{} | {} | {} | {} | {} | {} | {}",
        fmt_num(l.mean),
        fmt_num(l.p50),
        fmt_num(l.p90),
        fmt_num(l.p95),
        fmt_num(l.p99),
        fmt_num(l.p999),
        fmt_num(l.max)
    )
}

/// How many events `summary.md` lists before pointing at `events.csv`.
const SUMMARY_EVENTS: usize = 40;

/// Writes `summary.md`: SLO table first, then latency, errors, cost,
/// events. `charts` (written beside it) are linked after the objectives,
/// so a Markdown viewer shows them.
pub fn write_summary<W: Write>(
    rec: &RunRecord,
    charts: &[crate::charts::Chart],
    mut w: W,
) -> Result<(), WriteError> {
    let r = &rec.report;
    let s = &r.scenario;
    writeln!(w, "# gameday run: {}", s.name)?;
    writeln!(w)?;
    writeln!(
        w,
        "Verdict: **{}**{} · clock {} · seed {} · duration {} s",
        r.verdict.to_uppercase(),
        match (&r.incomplete_reason, r.complete) {
            (_, true) => String::new(),
            (Some(why), false) => format!(" (INCOMPLETE: {why})"),
            (None, false) => " (INCOMPLETE: run was interrupted)".into(),
        },
        s.clock,
        s.seed,
        fmt_num(s.duration_s)
    )?;
    writeln!(w)?;
    writeln!(w, "## SLOs")?;
    writeln!(w)?;
    if r.slos.is_empty() {
        writeln!(w, "No objectives set (add an `[slo]` section).")?;
    } else {
        writeln!(w, "| objective | endpoint / job | target | actual | met |")?;
        writeln!(w, "|---|---|---|---|---|")?;
        for o in &r.slos {
            writeln!(
                w,
                "| {} | {} | {} | {} | {} |",
                o.name,
                o.target(),
                o.objective,
                fmt_num(o.actual),
                if o.met { "yes" } else { "**NO**" }
            )?;
        }
    }
    crate::burn::write_markdown(r, &mut w)?;
    if let Some(b) = &r.baseline {
        write_baseline(b, &mut w)?;
    }
    if !charts.is_empty() {
        writeln!(w)?;
        writeln!(w, "## Charts")?;
        writeln!(w)?;
        for c in charts {
            writeln!(w, "![{}]({})", c.title, c.file)?;
            writeln!(w)?;
        }
        writeln!(w, "All of it in one page: [report.html](report.html).")?;
    }
    if !r.endpoints.is_empty() {
        write_endpoints(r, &mut w)?;
        write_variants(r, &mut w)?;
        crate::shadow::write_markdown(r, &mut w)?;
        write_scaling(r, &mut w)?;
        write_multi_model(r, &mut w)?;
        crate::features::write_markdown(r, &mut w)?;
    }
    if !r.training_jobs.is_empty() {
        write_training(r, &mut w)?;
    }
    writeln!(w)?;
    writeln!(w, "## Cost (USD)")?;
    if !r.endpoints.is_empty() {
        write_endpoint_costs(r, &mut w)?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "Total {} USD · endpoints {} · training {} · per 1,000 requests {}",
        fmt_num(r.cost.total_usd),
        fmt_num(r.cost.endpoints_usd),
        fmt_num(r.cost.training_usd),
        fmt_num(r.cost.per_1k_requests_usd)
    )?;
    writeln!(w)?;
    writeln!(w, "## Events")?;
    writeln!(w)?;
    if rec.events.is_empty() {
        writeln!(w, "None.")?;
    } else {
        writeln!(
            w,
            "| time s | event | endpoint / job | variant | instance | detail |"
        )?;
        writeln!(w, "|---|---|---|---|---|---|")?;
        for ev in rec.events.iter().take(SUMMARY_EVENTS) {
            writeln!(
                w,
                "| {} | {} | {}{} | {} | {} | {} |",
                fmt_num(ev.time_s),
                ev.kind,
                ev.endpoint,
                ev.job,
                ev.variant,
                ev.instance.map(|i| i.to_string()).unwrap_or_default(),
                ev.detail
            )?;
        }
        if rec.events.len() > SUMMARY_EVENTS {
            writeln!(w)?;
            writeln!(
                w,
                "… and {} more in `events.csv`.",
                rec.events.len() - SUMMARY_EVENTS
            )?;
        }
    }
    Ok(())
}

/// A compact Markdown summary for a CI job's page (`--summary-md`,
/// `$GITHUB_STEP_SUMMARY`): the verdict, each objective, the baseline's
/// regressions, and where the reports are.
pub fn write_step_summary<W: Write>(r: &Report, out_dir: &str, mut w: W) -> Result<(), WriteError> {
    let s = &r.scenario;
    let requests: u64 = r.endpoints.iter().map(|e| e.requests).sum();
    writeln!(
        w,
        "### gameday {}: {}{}",
        s.name,
        r.verdict.to_uppercase(),
        if r.complete { "" } else { " (incomplete)" }
    )?;
    writeln!(w)?;
    writeln!(
        w,
        "clock {} · seed {} · {} requests · cost {} USD",
        s.clock,
        s.seed,
        requests,
        fmt_usd(r.cost.total_usd)
    )?;
    writeln!(w)?;
    if !r.slos.is_empty() {
        writeln!(w, "| | objective | endpoint / job | target | actual |")?;
        writeln!(w, "|---|---|---|---|---|")?;
        for o in &r.slos {
            writeln!(
                w,
                "| {} | {} | {} | {} | {} |",
                if o.met { "✅" } else { "❌" },
                o.name,
                o.target(),
                o.objective,
                fmt_num(o.actual)
            )?;
        }
        writeln!(w)?;
    }
    if let Some(b) = &r.baseline {
        if b.regressions.is_empty() {
            writeln!(
                w,
                "No regression against the baseline ({}).",
                b.baseline_scenario
            )?;
        } else {
            writeln!(
                w,
                "Regressions against the baseline ({}):",
                b.baseline_scenario
            )?;
            for g in &b.regressions {
                writeln!(w, "- {}", g.describe())?;
            }
        }
        writeln!(w)?;
    }
    writeln!(
        w,
        "Reports: `{out_dir}` (report.html, summary.md, junit.xml)."
    )?;
    writeln!(w)?;
    Ok(())
}

/// The baseline comparison of `summary.md`.
fn write_baseline<W: Write>(b: &BaselineComparison, w: &mut W) -> Result<(), WriteError> {
    writeln!(w)?;
    writeln!(w, "## Baseline")?;
    writeln!(w)?;
    if b.other_scenario {
        writeln!(
            w,
            "**Warning:** the baseline comes from another scenario ({}).",
            b.baseline_scenario
        )?;
        writeln!(w)?;
    }
    let t = &b.tolerances;
    writeln!(
        w,
        "Compared with {} (tolerances: p99 +{}%, error rate +{}, cost +{}%).",
        b.baseline_scenario,
        fmt_num(t.latency_p99_pct),
        fmt_num(t.error_rate_abs),
        fmt_num(t.cost_pct)
    )?;
    writeln!(w)?;
    if b.regressions.is_empty() {
        writeln!(w, "No regression.")?;
        return Ok(());
    }
    writeln!(w, "| regression | endpoint | baseline | limit | actual |")?;
    writeln!(w, "|---|---|---|---|---|")?;
    for g in &b.regressions {
        writeln!(
            w,
            "| **{}** | {} | {} | {} | {} |",
            g.metric,
            g.endpoint.as_deref().unwrap_or("(all)"),
            fmt_num(g.baseline),
            fmt_num(g.limit),
            fmt_num(g.actual)
        )?;
    }
    Ok(())
}

/// The latency and error tables of `summary.md`.
fn write_endpoints<W: Write>(r: &Report, w: &mut W) -> Result<(), WriteError> {
    writeln!(w)?;
    if r.measured_at.as_deref() == Some("platform") {
        writeln!(
            w,
            "## Latency (ms, at the platform: from each request's arrival to its answer)"
        )?;
    } else {
        writeln!(w, "## Latency (ms, from intended send time)")?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "| endpoint / variant | requests | mean | p50 | p90 | p95 | p99 | p99.9 | max |"
    )?;
    writeln!(w, "|---|---|---|---|---|---|---|---|---|")?;
    for e in &r.endpoints {
        writeln!(
            w,
            "| {} | {} | {} |",
            e.name,
            e.requests,
            latency_cells(&e.latency_ms)
        )?;
        for v in &e.variants {
            writeln!(
                w,
                "| {} / {}{} | {} | {} |",
                e.name,
                v.name,
                if v.shadow { " (shadow)" } else { "" },
                v.requests,
                latency_cells(&v.latency_ms)
            )?;
        }
    }
    writeln!(w)?;
    writeln!(w, "## Requests and errors")?;
    writeln!(w)?;
    writeln!(w, "| endpoint | requests | ok | 4xx | 5xx | timeout | throttled | error rate | availability | rps | queued share | mean queue wait ms |")?;
    writeln!(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")?;
    for e in &r.endpoints {
        let x = &e.errors;
        writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            e.name,
            e.requests,
            e.ok,
            x.client_4xx,
            x.server_5xx,
            x.timeout,
            x.throttled,
            fmt_num(e.error_rate),
            fmt_num(e.availability),
            fmt_num(e.throughput_rps),
            fmt_num(e.queue_wait_ms.waited_fraction),
            fmt_num(e.queue_wait_ms.mean)
        )?;
    }
    Ok(())
}

/// The per-variant table of `summary.md`: where each request went and how
/// it ended, next to the service time the variant's instances draw.
fn write_variants<W: Write>(r: &Report, w: &mut W) -> Result<(), WriteError> {
    writeln!(w)?;
    writeln!(w, "## Variants")?;
    writeln!(w)?;
    writeln!(
        w,
        "Service time is the model's latency on `ml.m5.xlarge` scaled by the instance type's speed (or the model's own figure for that type)."
    )?;
    writeln!(w)?;
    writeln!(w, "| endpoint / variant | model | instances | service p50 / p99 ms | requests | ok | 4xx | 5xx | timeout | throttled | error rate |")?;
    writeln!(w, "|---|---|---|---|---|---|---|---|---|---|---|")?;
    for e in &r.endpoints {
        for v in &e.variants {
            let x = &v.errors;
            let rate = if v.requests == 0 {
                0.0
            } else {
                (v.requests - v.ok) as f64 / v.requests as f64
            };
            writeln!(
                w,
                "| {} / {}{} | {} | {} × {} | {} / {} | {} | {} | {} | {} | {} | {} | {} |",
                e.name,
                v.name,
                if v.shadow { " (shadow)" } else { "" },
                v.model,
                v.instance_count,
                v.instance_type,
                fmt_num(v.service_time_ms.p50),
                fmt_num(v.service_time_ms.p99),
                v.requests,
                v.ok,
                x.client_4xx,
                x.server_5xx,
                x.timeout,
                x.throttled,
                fmt_num(crate::model::round6(rate))
            )?;
        }
    }
    Ok(())
}

/// The scaling section of `summary.md`: each autoscaled variant's fleet,
/// alarms and activities.
fn write_scaling<W: Write>(r: &Report, w: &mut W) -> Result<(), WriteError> {
    let scaled: Vec<_> = r
        .endpoints
        .iter()
        .flat_map(|e| e.variants.iter().map(move |v| (e, v)))
        .filter(|(_, v)| v.autoscaling.is_some())
        .collect();
    if scaled.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(w, "## Scaling")?;
    writeln!(w)?;
    writeln!(w, "| endpoint / variant | min–max | in service min / mean / max | scale-outs | scale-ins | requests failed or queued while short |")?;
    writeln!(w, "|---|---|---|---|---|---|")?;
    for (e, v) in &scaled {
        let a = v.autoscaling.as_ref().expect("filtered on autoscaling");
        writeln!(
            w,
            "| {} / {} | {}–{} | {} / {} / {} | {} | {} | {} |",
            e.name,
            v.name,
            a.min,
            a.max,
            v.instances.min,
            fmt_num(v.instances.mean),
            v.instances.max,
            a.scale_outs,
            a.scale_ins,
            v.requests_while_short
        )?;
    }
    for (e, v) in &scaled {
        writeln!(w)?;
        writeln!(w, "### {} / {}: activities", e.name, v.name)?;
        writeln!(w)?;
        if v.scaling_activities.is_empty() {
            writeln!(w, "None: the alarms never asked for a change.")?;
            continue;
        }
        writeln!(
            w,
            "| start s | desired | status | ended s | breach → serving s | cause |"
        )?;
        writeln!(w, "|---|---|---|---|---|---|")?;
        for a in &v.scaling_activities {
            let status = match &a.reason {
                Some(why) => format!("{} ({why})", a.status),
                None => a.status.clone(),
            };
            writeln!(
                w,
                "| {} | {} → {} | {} | {} | {} | {} |",
                fmt_num(a.at_s),
                a.from,
                a.to,
                status,
                a.ended_at_s.map(fmt_num).unwrap_or_default(),
                a.breach_to_serving_s.map(fmt_num).unwrap_or_default(),
                a.cause
            )?;
        }
    }
    Ok(())
}

/// The multi-model section of `summary.md`: each multi-model variant's
/// cache, loads and the models loaded most often.
fn write_multi_model<W: Write>(r: &Report, w: &mut W) -> Result<(), WriteError> {
    let mme: Vec<_> = r
        .endpoints
        .iter()
        .flat_map(|e| e.variants.iter().map(move |v| (e, v)))
        .filter_map(|(e, v)| v.mme.as_ref().map(|m| (e, v, m)))
        .collect();
    if mme.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(w, "## Multi-model")?;
    writeln!(w)?;
    writeln!(w, "| endpoint / variant | hit ratio | loads | unloads | downloads | load failures | ModelNotReady | loading wait p50 / p99 / max ms | loaded (mean) | most loaded |")?;
    writeln!(w, "|---|---|---|---|---|---|---|---|---|---|")?;
    for (e, v, m) in mme {
        let most: Vec<String> = m
            .most_loaded
            .iter()
            .take(3)
            .map(|x| format!("{} ×{}", x.model, x.loads))
            .collect();
        writeln!(
            w,
            "| {} / {} | {} | {} | {} | {} | {} | {} | {} / {} / {} | {} | {} |",
            e.name,
            v.name,
            fmt_num(m.model_cache_hit_ratio),
            m.loads,
            m.unloads,
            m.downloads,
            m.load_failures,
            m.model_not_ready,
            fmt_num(m.loading_wait_ms.p50),
            fmt_num(m.loading_wait_ms.p99),
            fmt_num(m.loading_wait_ms.max),
            fmt_num(m.loaded_models_mean),
            most.join(", ")
        )?;
    }
    Ok(())
}

/// The endpoint cost table of `summary.md`.
fn write_endpoint_costs<W: Write>(r: &Report, w: &mut W) -> Result<(), WriteError> {
    writeln!(w)?;
    writeln!(
        w,
        "| endpoint / variant | instance type | instances at start | instance-hours | cost |"
    )?;
    writeln!(w, "|---|---|---|---|---|")?;
    for e in &r.endpoints {
        for v in &e.variants {
            writeln!(
                w,
                "| {} / {} | {} | {} | {} | {} |",
                e.name,
                v.name,
                v.instance_type,
                v.instance_count,
                fmt_num((v.instance_seconds / 3600.0 * 1000.0).round() / 1000.0),
                fmt_num(v.cost_usd)
            )?;
        }
    }
    Ok(())
}

/// The training table of `summary.md`.
fn write_training<W: Write>(r: &Report, w: &mut W) -> Result<(), WriteError> {
    writeln!(w)?;
    writeln!(w, "## Training jobs")?;
    writeln!(w)?;
    writeln!(w, "| job | status | instances | spot | interruptions | checkpoints | steps lost / total | training h | billable h | wall h | cost USD | on-demand USD | savings % |")?;
    writeln!(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")?;
    let h = |s: f64| fmt_num((s / 3600.0 * 1000.0).round() / 1000.0);
    for j in &r.training_jobs {
        writeln!(
            w,
            "| {} | {} / {} | {} × {} | {} | {} | {} | {} / {} | {} | {} | {} | {} | {} | {} |",
            j.name,
            j.status,
            j.secondary_status,
            j.instance_count,
            j.instance_type,
            if j.spot { "yes" } else { "no" },
            j.interruptions,
            j.checkpoints,
            j.steps_lost,
            j.steps_total,
            h(j.training_time_s),
            h(j.billable_time_s),
            h(j.wall_time_s),
            fmt_num(j.cost_usd),
            fmt_num(j.on_demand_cost_usd),
            fmt_num(j.savings_pct)
        )?;
    }
    Ok(())
}

/// Money for people: cents from a dollar up, otherwise enough digits that
/// a small cost does not print as 0.
pub fn fmt_usd(x: f64) -> String {
    if x.abs() >= 1.0 {
        fmt_num((x * 100.0).round() / 100.0)
    } else {
        fmt_num(x)
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Writes the compact terminal summary: one line per endpoint and job,
/// one per SLO, then any baseline regression, then cost and verdict.
/// Columns are as wide as their longest entry.
pub fn write_terminal<W: Write>(r: &Report, mut w: W) -> Result<(), WriteError> {
    let name_w = r
        .endpoints
        .iter()
        .map(|e| e.name.len())
        .chain(r.training_jobs.iter().map(|j| j.name.len()))
        .max()
        .unwrap_or(0)
        .max(12);
    for e in &r.endpoints {
        writeln!(
            w,
            "{:<name_w$} {:>9} req  {:>8.1} rps  p50 {:>8} ms  p99 {:>8} ms  errors {} ({}%)",
            e.name,
            e.requests,
            e.throughput_rps,
            fmt_num(e.latency_ms.p50),
            fmt_num(e.latency_ms.p99),
            e.errors.total(),
            fmt_num((e.error_rate * 100.0 * 1000.0).round() / 1000.0)
        )?;
        for v in e.variants.iter().filter(|v| v.shadow) {
            let missed: Vec<&str> = v
                .shadow_slos
                .iter()
                .filter(|o| !o.met)
                .map(|o| o.name.as_str())
                .collect();
            writeln!(
                w,
                "  shadow {} of {}: {} req  p99 {} ms  errors {}  {}",
                v.name,
                v.shadow_of.as_deref().unwrap_or("?"),
                v.requests,
                fmt_num(v.latency_ms.p99),
                v.requests - v.ok,
                if missed.is_empty() {
                    "would hold every objective".to_string()
                } else {
                    format!("would miss {} (not counted)", missed.join(", "))
                }
            )?;
        }
    }
    for j in &r.training_jobs {
        writeln!(
            w,
            "{:<name_w$} {} ({})  {}  {}  wall {}  cost {} USD (saved {}%)",
            j.name,
            j.status,
            j.secondary_status,
            plural(u64::from(j.interruptions), "interruption", "interruptions"),
            plural(j.steps_lost, "step lost", "steps lost"),
            crate::slo::human_duration(j.wall_time_s),
            fmt_usd(j.cost_usd),
            fmt_num(j.savings_pct)
        )?;
    }
    let slo_w = r.slos.iter().map(|o| o.name.len()).max().unwrap_or(0);
    let scope = |o: &crate::model::SloResult| o.target().to_string();
    let scope_w = r.slos.iter().map(|o| scope(o).len()).max().unwrap_or(0);
    for o in &r.slos {
        let actual = o.detail.clone().unwrap_or_else(|| fmt_num(o.actual));
        writeln!(
            w,
            "  [{}] {:<slo_w$} {:<scope_w$} {:>12} (objective {})",
            if o.met { " ok " } else { "FAIL" },
            o.name,
            scope(o),
            actual,
            o.objective
        )?;
    }
    for b in r.error_budget.iter().flat_map(|b| &b.slos) {
        if b.bad > 0 {
            writeln!(
                w,
                "  budget {:<slo_w$} {:<scope_w$} {:>5} spent, peak burn {}x; alerts: {}",
                b.slo,
                b.endpoint,
                b.consumed_pct(),
                crate::burn::fmt_rate(b.peak_burn_rate),
                b.alerts_line()
            )?;
        }
    }
    if let Some(b) = &r.baseline {
        if b.other_scenario {
            writeln!(
                w,
                "  [WARNING] the baseline comes from another scenario: {}",
                b.baseline_scenario
            )?;
        }
        for g in &b.regressions {
            writeln!(w, "  [REGRESSION] {}", g.describe())?;
        }
    }
    let per_1k = if r.endpoints.is_empty() {
        String::new()
    } else {
        format!(" ({} per 1k requests)", fmt_usd(r.cost.per_1k_requests_usd))
    };
    writeln!(
        w,
        "cost {} USD{per_1k} · verdict {}{}",
        fmt_usd(r.cost.total_usd),
        r.verdict,
        if r.complete { "" } else { " · INCOMPLETE" }
    )?;
    Ok(())
}
