//! `report.html`: one self-contained page (inline CSS and SVG, no script,
//! nothing fetched): the verdict and the objectives first, then the
//! charts on one time axis, the endpoints, training jobs and events.

use std::io::Write;

use crate::charts::Chart;
use crate::recorder::RunRecord;
use crate::slo::fmt_num;
use crate::writers::{fmt_usd, WriteError};

/// Most events listed on the page (`events.csv` has them all).
pub const LISTED_EVENTS: usize = 200;

/// `s` with `&`, `<`, `>` and `"` escaped for HTML text and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1000px;color:#222;padding:0 1rem}\
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}\
.verdict{display:inline-block;font-weight:700;padding:.2rem .8rem;border-radius:4px;color:#fff}\
.pass{background:#2c8a2c}.fail{background:#c62828}.meta{color:#555}\
table{border-collapse:collapse;margin:.5rem 0;font-size:.92rem}td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:left}\
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}.no{color:#c62828;font-weight:700}\
figure{margin:1rem 0}svg{max-width:100%;height:auto}";

/// Writes the page for `rec` with its `charts`.
pub fn write_html<W: Write>(rec: &RunRecord, charts: &[Chart], mut w: W) -> Result<(), WriteError> {
    let r = &rec.report;
    let s = &r.scenario;
    let pass = r.verdict == "pass";
    writeln!(
        w,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
    )?;
    writeln!(w, "<title>gameday: {}</title>", escape(&s.name))?;
    writeln!(w, "<style>{STYLE}</style>\n</head>\n<body>")?;
    writeln!(w, "<h1>gameday run: {}</h1>", escape(&s.name))?;
    writeln!(
        w,
        "<p><span class=\"verdict {}\">{}</span>{}</p>",
        if pass { "pass" } else { "fail" },
        escape(&r.verdict.to_uppercase()),
        match (&r.incomplete_reason, r.complete) {
            (_, true) => String::new(),
            (Some(why), false) => format!(" <strong>INCOMPLETE: {}</strong>", escape(why)),
            (None, false) => " <strong>INCOMPLETE: the run was interrupted</strong>".into(),
        }
    )?;
    writeln!(
        w,
        "<p class=\"meta\">clock {} · seed {} · duration {} s · cost {} USD · {} events</p>",
        escape(&s.clock),
        s.seed,
        fmt_num(s.duration_s),
        fmt_usd(r.cost.total_usd),
        r.events
    )?;

    writeln!(w, "<h2>Objectives</h2>")?;
    if r.slos.is_empty() {
        writeln!(
            w,
            "<p>No objectives set (add an <code>[slo]</code> section).</p>"
        )?;
    } else {
        writeln!(w, "<table>\n<tr><th>objective</th><th>endpoint / job</th><th>target</th><th>actual</th><th>met</th></tr>")?;
        for o in &r.slos {
            writeln!(
                w,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                escape(&o.name),
                escape(o.target()),
                escape(&o.objective),
                fmt_num(o.actual),
                if o.met {
                    "yes".to_string()
                } else {
                    "<span class=\"no\">NO</span>".to_string()
                }
            )?;
        }
        writeln!(w, "</table>")?;
    }
    if let Some(b) = &r.error_budget {
        writeln!(w, "<h2>Error budget</h2>")?;
        writeln!(w, "<table>\n<tr><th>objective</th><th>endpoint</th><th>target</th><th>budget</th><th>bad / requests</th><th>spent</th><th>peak burn</th><th>alerts</th></tr>")?;
        for s in &b.slos {
            writeln!(
                w,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td{}>{}</td><td>{}x</td><td>{}</td></tr>",
                escape(&s.slo),
                escape(&s.endpoint),
                escape(&s.objective),
                fmt_num(s.budget),
                s.bad,
                s.requests,
                if s.consumed > 1.0 { " class=\"no\"" } else { "" },
                s.consumed_pct(),
                crate::burn::fmt_rate(s.peak_burn_rate),
                escape(&s.alerts_line())
            )?;
        }
        writeln!(w, "</table>")?;
        writeln!(w, "<p class=\"meta\">{}</p>", escape(&b.windows_line()))?;
    }
    if let Some(b) = &r.baseline {
        writeln!(w, "<h2>Against the baseline</h2>")?;
        if b.regressions.is_empty() {
            writeln!(
                w,
                "<p>No regression against {}.</p>",
                escape(&b.baseline_scenario)
            )?;
        } else {
            writeln!(w, "<ul>")?;
            for g in &b.regressions {
                writeln!(w, "<li class=\"no\">{}</li>", escape(&g.describe()))?;
            }
            writeln!(w, "</ul>")?;
        }
    }

    if !charts.is_empty() {
        writeln!(w, "<h2>Over time</h2>")?;
        for c in charts {
            writeln!(w, "<figure>\n{}\n</figure>", c.svg.trim())?;
        }
    }

    if !r.endpoints.is_empty() {
        writeln!(w, "<h2>Endpoints</h2>")?;
        writeln!(w, "<table>\n<tr><th>endpoint</th><th>requests</th><th>req/s</th><th>error rate</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th><th>cost USD</th></tr>")?;
        for e in &r.endpoints {
            writeln!(
                w,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                escape(&e.name),
                e.requests,
                fmt_num(e.throughput_rps),
                fmt_num(e.error_rate),
                fmt_num(e.latency_ms.p50),
                fmt_num(e.latency_ms.p99),
                fmt_num(e.latency_ms.max),
                fmt_usd(e.cost_usd)
            )?;
        }
        writeln!(w, "</table>")?;
        crate::features::write_html(r, &mut w)?;
    }
    if !r.training_jobs.is_empty() {
        writeln!(w, "<h2>Training jobs</h2>")?;
        writeln!(w, "<table>\n<tr><th>job</th><th>status</th><th>instances</th><th>spot</th><th>interruptions</th><th>checkpoints</th></tr>")?;
        for j in &r.training_jobs {
            writeln!(
                w,
                "<tr><td>{}</td><td>{}</td><td>{} × {}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                escape(&j.name),
                escape(&j.status),
                j.instance_count,
                escape(&j.instance_type),
                if j.spot { "yes" } else { "no" },
                j.interruptions,
                j.checkpoints
            )?;
        }
        writeln!(w, "</table>")?;
    }
    if !rec.events.is_empty() {
        writeln!(w, "<h2>Events</h2>")?;
        if rec.events.len() > LISTED_EVENTS {
            writeln!(
                w,
                "<p class=\"meta\">The first {LISTED_EVENTS} of {}; events.csv has every one.</p>",
                rec.events.len()
            )?;
        }
        writeln!(w, "<table>\n<tr><th>time s</th><th>event</th><th>endpoint / job</th><th>variant</th><th>instance</th><th>detail</th></tr>")?;
        for e in rec.events.iter().take(LISTED_EVENTS) {
            let target = if e.endpoint.is_empty() {
                &e.job
            } else {
                &e.endpoint
            };
            writeln!(
                w,
                "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                fmt_num(e.time_s),
                escape(&e.kind),
                escape(target),
                escape(&e.variant),
                e.instance.map(|i| i.to_string()).unwrap_or_default(),
                escape(&e.detail)
            )?;
        }
        writeln!(w, "</table>")?;
    }
    writeln!(w, "<p class=\"meta\">Written by gameday. The data: report.json, timeline.csv, events.csv.</p>\n</body>\n</html>")?;
    Ok(())
}
