//! Shadow variants in `summary.md`: each shadow beside the production
//! variant it copies, with the numbers SageMaker's shadow-test dashboard
//! compares, and the endpoint's objectives applied to both.

use std::io::Write;

use crate::model::{round6, Report, VariantReport};
use crate::slo::fmt_num;
use crate::writers::WriteError;

/// The error rate of a variant's requests.
fn error_rate(v: &VariantReport) -> f64 {
    if v.requests == 0 {
        0.0
    } else {
        round6((v.requests - v.ok) as f64 / v.requests as f64)
    }
}

/// Writes the "Shadow tests" section, if any variant is a shadow.
pub fn write_markdown<W: Write>(r: &Report, w: &mut W) -> Result<(), WriteError> {
    for e in &r.endpoints {
        for s in e.variants.iter().filter(|v| v.shadow) {
            let Some(p) = e
                .variants
                .iter()
                .find(|v| Some(&v.name) == s.shadow_of.as_ref())
            else {
                continue;
            };
            writeln!(w)?;
            writeln!(
                w,
                "## Shadow test: {} / {} ({}% of {}'s requests)",
                e.name,
                s.name,
                fmt_num(s.sampling_pct.unwrap_or(100.0)),
                p.name
            )?;
            writeln!(w)?;
            writeln!(
                w,
                "The shadow's answers reached nobody and its failures count against no objective; its instances were billed."
            )?;
            writeln!(w)?;
            writeln!(w, "| | {} (production) | {} (shadow) |", p.name, s.name)?;
            writeln!(w, "|---|---|---|")?;
            let row =
                |w: &mut W, what: &str, a: String, b: String| writeln!(w, "| {what} | {a} | {b} |");
            row(w, "model", p.model.clone(), s.model.clone())?;
            row(
                w,
                "instances",
                format!("{} × {}", p.instance_count, p.instance_type),
                format!("{} × {}", s.instance_count, s.instance_type),
            )?;
            row(
                w,
                "invocations",
                p.requests.to_string(),
                s.requests.to_string(),
            )?;
            let (a, b) = (&p.latency_ms, &s.latency_ms);
            for (name, x, y) in [
                ("latency p50 ms", a.p50, b.p50),
                ("latency p99 ms", a.p99, b.p99),
                ("latency max ms", a.max, b.max),
            ] {
                row(w, name, fmt_num(x), fmt_num(y))?;
            }
            row(
                w,
                "4xx",
                p.errors.client_4xx.to_string(),
                s.errors.client_4xx.to_string(),
            )?;
            row(
                w,
                "5xx",
                p.errors.server_5xx.to_string(),
                s.errors.server_5xx.to_string(),
            )?;
            row(
                w,
                "timeouts",
                p.errors.timeout.to_string(),
                s.errors.timeout.to_string(),
            )?;
            row(
                w,
                "error rate",
                fmt_num(error_rate(p)),
                fmt_num(error_rate(s)),
            )?;
            row(w, "cost USD", fmt_num(p.cost_usd), fmt_num(s.cost_usd))?;
            if !s.shadow_slos.is_empty() {
                writeln!(w)?;
                writeln!(w, "Had the shadow taken the traffic:")?;
                writeln!(w)?;
                writeln!(
                    w,
                    "| objective | target | production | shadow | shadow would |"
                )?;
                writeln!(w, "|---|---|---|---|---|")?;
                for o in &s.shadow_slos {
                    let prod = r
                        .slos
                        .iter()
                        .find(|x| x.name == o.name && x.endpoint.as_deref() == Some(&e.name))
                        .map_or("–".to_string(), |x| fmt_num(x.actual));
                    writeln!(
                        w,
                        "| {} | {} | {} | {} | {} |",
                        o.name,
                        o.objective,
                        prod,
                        fmt_num(o.actual),
                        if o.met { "hold" } else { "**miss**" }
                    )?;
                }
            }
        }
    }
    Ok(())
}
