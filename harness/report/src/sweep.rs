//! `gameday sweep`'s result and its writers: `sweep.json`, `sweep.md`,
//! `sweep.html` (with a cost-against-p99 chart and the Pareto front) and
//! the terminal, in one registry ([`SweepArtifact`]).
//!
//! Each configuration runs on several seeds. Per configuration the result
//! keeps the mean over seeds of the worst endpoint's p50 and p99 (and the
//! p99's spread), how many seeds met every objective, instance-hours, the
//! cost per hour of scenario time and per million inferences. `best` is
//! the cheapest configuration (by cost per hour) that met every objective
//! on every seed.

use std::collections::BTreeMap;
use std::io::Write;

use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::{round3, round6, SloResult};
use crate::slo::fmt_num;
use crate::writers::WriteError;
use crate::Report;

/// What one run (one configuration, one seed) measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The worst endpoint's p50, ms.
    pub p50_ms: f64,
    /// The worst endpoint's p99, ms.
    pub p99_ms: f64,
    /// Total cost over scenario hours.
    pub cost_per_hour_usd: f64,
    /// Endpoint cost per million requests (`None` without requests).
    pub cost_per_million_usd: Option<f64>,
    /// Instance-hours of every endpoint.
    pub instance_hours: f64,
    /// Requests over the run.
    pub requests: u64,
    /// Autoscaling activities over every variant.
    pub scaling_activities: u64,
    /// Objectives missed.
    pub missed: Vec<String>,
    /// The smallest headroom of any objective ([`headroom`]).
    pub margin: Option<f64>,
}

/// How much room an objective had, as a share: for an upper bound
/// (`<= 500 ms`) `(objective − actual) / objective`; for a lower bound on
/// a fraction (`>= 0.999`) the share of the allowed shortfall left unused,
/// `(actual − objective) / (1 − objective)`. Negative when missed; `None`
/// for an objective without a number.
pub fn headroom(s: &SloResult) -> Option<f64> {
    let value = s
        .objective
        .split_whitespace()
        .find_map(|w| w.parse::<f64>().ok())?;
    if s.objective.starts_with("<=") && value > 0.0 {
        Some((value - s.actual) / value)
    } else if s.objective.starts_with(">=") && value < 1.0 {
        Some((s.actual - value) / (1.0 - value))
    } else {
        None
    }
}

impl Sample {
    /// What `r` measured.
    pub fn of(r: &Report) -> Sample {
        let worst = |f: fn(&crate::model::EndpointReport) -> f64| {
            r.endpoints.iter().map(f).fold(0.0, f64::max)
        };
        let hours = r.scenario.duration_s / 3600.0;
        let requests: u64 = r.endpoints.iter().map(|e| e.requests).sum();
        let instance_s: f64 = r
            .endpoints
            .iter()
            .flat_map(|e| &e.variants)
            .map(|v| v.instance_seconds)
            .sum();
        Sample {
            p50_ms: worst(|e| e.latency_ms.p50),
            p99_ms: worst(|e| e.latency_ms.p99),
            cost_per_hour_usd: if hours > 0.0 {
                r.cost.total_usd / hours
            } else {
                0.0
            },
            cost_per_million_usd: (requests > 0)
                .then(|| r.cost.endpoints_usd / requests as f64 * 1e6),
            instance_hours: instance_s / 3600.0,
            requests,
            scaling_activities: r
                .endpoints
                .iter()
                .flat_map(|e| &e.variants)
                .map(|v| v.scaling_activities.len() as u64)
                .sum(),
            missed: r
                .slos
                .iter()
                .filter(|s| !s.met)
                .map(|s| match s.target() {
                    "(all)" => s.name.clone(),
                    t => format!("{} ({t})", s.name),
                })
                .collect(),
            margin: r.slos.iter().filter_map(headroom).min_by(f64::total_cmp),
        }
    }
}

/// The p50 and p99 of a configuration over its seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SweepLatency {
    /// Mean over seeds of the worst endpoint's p50, ms.
    pub p50: f64,
    /// Mean over seeds of the worst endpoint's p99, ms.
    pub p99: f64,
    /// Lowest p99 of any seed, ms.
    pub p99_min: f64,
    /// Highest p99 of any seed, ms.
    pub p99_max: f64,
}

/// One configuration of the grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConfigurationResult {
    /// The value of each varied field.
    pub values: BTreeMap<String, serde_json::Value>,
    /// Seeds run.
    pub seeds: u64,
    /// Seeds on which every objective held.
    pub slos_met_seeds: u64,
    /// Latency over the seeds.
    pub latency_ms: SweepLatency,
    /// Mean cost per hour of scenario time (endpoints and training).
    pub cost_per_hour_usd: f64,
    /// Mean endpoint cost per million requests (`null` without requests).
    pub cost_per_million_usd: Option<f64>,
    /// Mean instance-hours over the run.
    pub instance_hours: f64,
    /// Mean autoscaling activities per run (0 without autoscaling): a
    /// policy sweep's churn.
    pub scaling_activities: f64,
    /// With `--max-rate`: the highest arrival rate at which the objectives
    /// still hold (`null` without it).
    pub max_rate_rps: Option<f64>,
    /// With `--max-rate`: cost per hour over the inferences an hour at
    /// `max_rate_rps` serves, per million.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_per_million_at_max_rate_usd: Option<f64>,
    /// Objectives missed on at least one seed.
    pub missed: Vec<String>,
    /// The smallest headroom of any objective on any seed (see
    /// [`headroom`]); negative when one was missed.
    pub margin: Option<f64>,
    /// On the cost-against-p99 Pareto front of the configurations that
    /// held on every seed (none of them is both cheaper and faster).
    pub pareto: bool,
}

impl ConfigurationResult {
    /// Folds `samples` (one per seed) into a row.
    pub fn of(values: BTreeMap<String, serde_json::Value>, samples: &[Sample]) -> Self {
        let n = samples.len().max(1) as f64;
        let mean = |f: fn(&Sample) -> f64| samples.iter().map(f).sum::<f64>() / n;
        let per_m: Vec<f64> = samples
            .iter()
            .filter_map(|s| s.cost_per_million_usd)
            .collect();
        let mut missed: Vec<String> = samples.iter().flat_map(|s| s.missed.clone()).collect();
        missed.sort();
        missed.dedup();
        ConfigurationResult {
            values,
            seeds: samples.len() as u64,
            slos_met_seeds: samples.iter().filter(|s| s.missed.is_empty()).count() as u64,
            latency_ms: SweepLatency {
                p50: round3(mean(|s| s.p50_ms)),
                p99: round3(mean(|s| s.p99_ms)),
                p99_min: round3(
                    samples
                        .iter()
                        .map(|s| s.p99_ms)
                        .min_by(f64::total_cmp)
                        .unwrap_or(0.0),
                ),
                p99_max: round3(samples.iter().map(|s| s.p99_ms).fold(0.0, f64::max)),
            },
            cost_per_hour_usd: round6(mean(|s| s.cost_per_hour_usd)),
            cost_per_million_usd: (!per_m.is_empty())
                .then(|| round6(per_m.iter().sum::<f64>() / per_m.len() as f64)),
            instance_hours: round3(mean(|s| s.instance_hours)),
            scaling_activities: round3(mean(|s| s.scaling_activities as f64)),
            max_rate_rps: None,
            cost_per_million_at_max_rate_usd: None,
            missed,
            margin: samples
                .iter()
                .filter_map(|s| s.margin)
                .min_by(f64::total_cmp)
                .map(round6),
            pareto: false,
        }
    }

    /// Adds `--max-rate`'s answer, and the cost per million inferences at
    /// that rate.
    pub fn with_max_rate(mut self, rate: Option<f64>) -> Self {
        self.max_rate_rps = rate.map(round3);
        self.cost_per_million_at_max_rate_usd = rate
            .filter(|r| *r > 0.0)
            .map(|r| round6(self.cost_per_hour_usd / (r * 3600.0) * 1e6));
        self
    }

    /// Met every objective on every seed.
    pub fn holds(&self) -> bool {
        self.seeds > 0 && self.slos_met_seeds == self.seeds
    }
}

/// `sweep.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SweepReport {
    /// The scenario swept.
    pub scenario: String,
    /// The first seed; configurations run seeds `first_seed ..
    /// first_seed + seeds`.
    pub first_seed: u64,
    /// Seeds per configuration.
    pub seeds: u64,
    /// The fields varied, in `[sweep]` order.
    pub fields: Vec<String>,
    /// Every combination, the first field varying slowest.
    pub configurations: Vec<ConfigurationResult>,
    /// Index of the cheapest configuration that met every objective on
    /// every seed; `null` when none did.
    pub best: Option<usize>,
}

impl SweepReport {
    /// Builds the report: marks the Pareto front and picks `best`.
    pub fn new(
        scenario: &str,
        first_seed: u64,
        seeds: u64,
        fields: Vec<String>,
        mut configurations: Vec<ConfigurationResult>,
    ) -> Self {
        let key = |c: &ConfigurationResult| (c.cost_per_hour_usd, c.latency_ms.p99);
        let all: Vec<(f64, f64)> = configurations
            .iter()
            .filter(|c| c.holds())
            .map(key)
            .collect();
        for c in &mut configurations {
            let (cost, p99) = key(c);
            c.pareto = c.holds()
                && !all
                    .iter()
                    .any(|&(k, p)| k <= cost && p <= p99 && (k < cost || p < p99));
        }
        // Cheapest first; at a tie, the lower p99, then the earlier row.
        let best = configurations
            .iter()
            .enumerate()
            .filter(|(_, c)| c.holds())
            .min_by(|(i, a), (j, b)| {
                a.cost_per_hour_usd
                    .total_cmp(&b.cost_per_hour_usd)
                    .then(a.latency_ms.p99.total_cmp(&b.latency_ms.p99))
                    .then(i.cmp(j))
            })
            .map(|(i, _)| i);
        SweepReport {
            scenario: scenario.into(),
            first_seed,
            seeds,
            fields,
            configurations,
            best,
        }
    }

    /// The values of configuration `i`, in field order (`ml.c5.xlarge × 4`).
    pub fn label(&self, i: usize) -> String {
        let c = &self.configurations[i];
        self.fields
            .iter()
            .map(|f| c.values.get(f).map(show).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" × ")
    }
}

fn show(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Everything `gameday sweep` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SweepArtifact {
    /// `sweep.json`: what scripts read.
    Json,
    /// `sweep.md`: the table and the answer.
    Markdown,
    /// `sweep.html`: the table and the cost-against-p99 chart.
    Html,
    /// The terminal: the same as `sweep.md`.
    Terminal,
}

impl SweepArtifact {
    /// The files, in the order they are written.
    pub const FILES: [SweepArtifact; 3] = [
        SweepArtifact::Json,
        SweepArtifact::Markdown,
        SweepArtifact::Html,
    ];

    /// Its file name (`None`: the terminal).
    pub fn file(self) -> Option<&'static str> {
        match self {
            SweepArtifact::Json => Some("sweep.json"),
            SweepArtifact::Markdown => Some("sweep.md"),
            SweepArtifact::Html => Some("sweep.html"),
            SweepArtifact::Terminal => None,
        }
    }

    /// Renders `s`.
    pub fn write<W: Write>(self, s: &SweepReport, mut w: W) -> Result<(), WriteError> {
        match self {
            SweepArtifact::Json => crate::writers::write_json_value(s, w),
            SweepArtifact::Markdown | SweepArtifact::Terminal => {
                w.write_all(markdown(s).as_bytes())?;
                Ok(())
            }
            SweepArtifact::Html => write_html(s, w),
        }
    }
}

fn usd(x: f64) -> String {
    fmt_num((x * 1000.0).round() / 1000.0)
}

/// `--max-rate`'s cell: the rate and what a million inferences cost there.
fn max_rate(c: &ConfigurationResult) -> String {
    match (c.max_rate_rps, c.cost_per_million_at_max_rate_usd) {
        (Some(r), Some(m)) => format!("{} ({} USD/1M)", fmt_num((r * 10.0).round() / 10.0), usd(m)),
        (Some(r), None) => fmt_num((r * 10.0).round() / 10.0),
        _ => "–".into(),
    }
}

fn margin(m: Option<f64>) -> String {
    match m {
        None => "–".into(),
        Some(m) if m < 0.0 => "missed".into(),
        Some(m) => format!("{}%", fmt_num((m * 1000.0).round() / 10.0)),
    }
}

/// Column headers: each field's last key where that tells them apart.
fn headers(s: &SweepReport) -> Vec<String> {
    let last = |f: &str| f.rsplit('.').next().unwrap_or(f).to_string();
    let lasts: Vec<String> = s.fields.iter().map(|f| last(f)).collect();
    let unique = (1..lasts.len()).all(|i| !lasts[..i].contains(&lasts[i]));
    if unique {
        lasts
    } else {
        s.fields.clone()
    }
}

/// The answer in one sentence.
fn verdict(s: &SweepReport) -> String {
    match s.best {
        Some(b) => {
            let c = &s.configurations[b];
            format!(
                "Cheapest configuration that meets every objective on all {} seeds: **{}** at {} USD/h (p99 {} ms, tightest objective's headroom {}).",
                s.seeds,
                s.label(b),
                usd(c.cost_per_hour_usd),
                fmt_num(c.latency_ms.p99),
                margin(c.margin)
            )
        }
        None => format!(
            "No configuration meets every objective on all {} seeds.",
            s.seeds
        ),
    }
}

fn markdown(s: &SweepReport) -> String {
    let mut out = format!(
        "# Sweep: {} ({} configurations × {} seeds)\n\n{}\n\n",
        s.scenario,
        s.configurations.len(),
        s.seeds,
        verdict(s)
    );
    out.push_str(&format!(
        "| {} | p50 ms | p99 ms (min–max) | SLOs met | instance-h | scaling activities | USD/h | USD per 1M | max rate req/s | headroom | |\n",
        headers(s).join(" | ")
    ));
    out.push_str(&format!("|{}\n", "---|".repeat(s.fields.len() + 10)));
    for (i, c) in s.configurations.iter().enumerate() {
        let values: Vec<String> = s
            .fields
            .iter()
            .map(|f| c.values.get(f).map(show).unwrap_or_default())
            .collect();
        let mut mark = Vec::new();
        if s.best == Some(i) {
            mark.push("**best**");
        }
        if c.pareto {
            mark.push("pareto");
        }
        out.push_str(&format!(
            "| {} | {} | {} ({}–{}) | {}/{} | {} | {} | {} | {} | {} | {} | {} |\n",
            values.join(" | "),
            fmt_num(c.latency_ms.p50),
            fmt_num(c.latency_ms.p99),
            fmt_num(c.latency_ms.p99_min),
            fmt_num(c.latency_ms.p99_max),
            c.slos_met_seeds,
            c.seeds,
            fmt_num(c.instance_hours),
            fmt_num(c.scaling_activities),
            usd(c.cost_per_hour_usd),
            c.cost_per_million_usd.map_or("–".into(), usd),
            max_rate(c),
            margin(c.margin),
            mark.join(", ")
        ));
    }
    out
}

/// Cost per hour against p99, every configuration a dot, the Pareto front
/// a line, the best one ringed.
pub fn chart(s: &SweepReport) -> Option<String> {
    if s.configurations.is_empty() {
        return None;
    }
    let top = |f: fn(&ConfigurationResult) -> f64| {
        s.configurations.iter().map(f).fold(0.0, f64::max).max(1e-9) * 1.1
    };
    // The p99 axis fits the configurations that held (with room above):
    // one that collapsed to its timeout would flatten the rest, so those
    // beyond the axis sit on its top edge.
    let held_top = s
        .configurations
        .iter()
        .filter(|c| c.holds())
        .map(|c| c.latency_ms.p99)
        .fold(0.0, f64::max);
    let x_top = top(|c| c.cost_per_hour_usd);
    let y_top = if held_top > 0.0 {
        (held_top * 2.0).min(top(|c| c.latency_ms.p99))
    } else {
        top(|c| c.latency_ms.p99)
    };
    let at = |c: &ConfigurationResult| (c.cost_per_hour_usd, c.latency_ms.p99.min(y_top));
    let mut out = String::new();
    let drawn = (|| -> Result<(), String> {
        let root = SVGBackend::with_string(&mut out, (900, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Cost against p99 (Pareto front joined)", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..x_top, 0.0..y_top)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("USD per hour")
            .y_desc("p99 ms")
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| e.to_string())?;
        let held = RGBColor(31, 119, 180);
        let missed = RGBColor(214, 39, 40);
        chart
            .draw_series(s.configurations.iter().map(|c| {
                let color = if c.holds() { held } else { missed };
                Circle::new(at(c), 4, color.filled())
            }))
            .map_err(|e| e.to_string())?;
        let mut front: Vec<(f64, f64)> = s
            .configurations
            .iter()
            .filter(|c| c.pareto)
            .map(at)
            .collect();
        front.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(
                front,
                RGBColor(120, 120, 120).stroke_width(1),
            ))
            .map_err(|e| e.to_string())?;
        if let Some(b) = s.best {
            let c = &s.configurations[b];
            chart
                .draw_series(std::iter::once(Circle::new(
                    at(c),
                    9,
                    BLACK.stroke_width(2),
                )))
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())
    })();
    drawn.ok()?;
    Some(out)
}

fn write_html<W: Write>(s: &SweepReport, mut w: W) -> Result<(), WriteError> {
    use crate::html::escape;
    writeln!(
        w,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
    )?;
    writeln!(w, "<title>gameday sweep: {}</title>", escape(&s.scenario))?;
    writeln!(
        w,
        "<style>body{{font-family:sans-serif;margin:2rem;max-width:1100px;color:#222}}table{{border-collapse:collapse;font-size:.9rem}}td,th{{border:1px solid #ddd;padding:.25rem .5rem;text-align:left}}tr.best{{background:#e8f4e8}}.no{{color:#b00}}</style>\n</head>\n<body>"
    )?;
    writeln!(
        w,
        "<h1>Sweep: {} ({} configurations × {} seeds)</h1>",
        escape(&s.scenario),
        s.configurations.len(),
        s.seeds
    )?;
    writeln!(w, "<p>{}</p>", escape(&verdict(s)).replace("**", ""))?;
    if let Some(svg) = chart(s) {
        writeln!(w, "<figure>\n{}\n</figure>", svg.trim())?;
        writeln!(
            w,
            "<p>Blue: met every objective on every seed; red: missed one on some seed (those slower than the axis sit on its top edge). The ringed dot is the best.</p>"
        )?;
    }
    write!(w, "<table>\n<tr>")?;
    for f in headers(s) {
        write!(w, "<th>{}</th>", escape(&f))?;
    }
    writeln!(w, "<th>p50 ms</th><th>p99 ms</th><th>SLOs met</th><th>scaling activities</th><th>USD/h</th><th>USD per 1M</th><th>max rate req/s</th><th>headroom</th><th>missed</th></tr>")?;
    for (i, c) in s.configurations.iter().enumerate() {
        write!(
            w,
            "<tr{}>",
            if s.best == Some(i) {
                " class=\"best\""
            } else {
                ""
            }
        )?;
        for f in &s.fields {
            write!(
                w,
                "<td>{}</td>",
                escape(&c.values.get(f).map(show).unwrap_or_default())
            )?;
        }
        writeln!(
            w,
            "<td>{}</td><td>{} ({}–{})</td><td{}>{}/{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            fmt_num(c.latency_ms.p50),
            fmt_num(c.latency_ms.p99),
            fmt_num(c.latency_ms.p99_min),
            fmt_num(c.latency_ms.p99_max),
            if c.holds() { "" } else { " class=\"no\"" },
            c.slos_met_seeds,
            c.seeds,
            fmt_num(c.scaling_activities),
            usd(c.cost_per_hour_usd),
            c.cost_per_million_usd.map_or("–".into(), usd),
            max_rate(c),
            margin(c.margin),
            escape(&c.missed.join(", "))
        )?;
    }
    writeln!(w, "</table>\n</body>\n</html>")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cost: f64, p99: f64, met: u64) -> ConfigurationResult {
        let mut values = BTreeMap::new();
        values.insert("n".to_string(), serde_json::json!(cost as u64));
        ConfigurationResult {
            values,
            seeds: 3,
            slos_met_seeds: met,
            latency_ms: SweepLatency {
                p50: p99 / 2.0,
                p99,
                p99_min: p99,
                p99_max: p99,
            },
            cost_per_hour_usd: cost,
            cost_per_million_usd: Some(cost),
            instance_hours: cost,
            scaling_activities: 0.0,
            max_rate_rps: None,
            cost_per_million_at_max_rate_usd: None,
            missed: vec![],
            margin: Some(0.1),
            pareto: false,
        }
    }

    #[test]
    fn best_is_the_cheapest_that_holds_on_every_seed_and_the_front_is_undominated() {
        let s = SweepReport::new(
            "s",
            1,
            3,
            vec!["n".into()],
            vec![
                row(1.0, 900.0, 0),
                row(2.0, 300.0, 3),
                row(3.0, 350.0, 3),
                row(4.0, 100.0, 3),
            ],
        );
        assert_eq!(s.best, Some(1), "the cheapest row missed on every seed");
        let front: Vec<bool> = s.configurations.iter().map(|c| c.pareto).collect();
        // The cheapest row missed: it is not on the front.
        assert_eq!(front, [false, true, false, true]);
        let md = markdown(&s);
        assert!(
            md.contains("**2** at 2 USD/h (p99 300 ms, tightest objective's headroom 10%)"),
            "{md}"
        );
        let svg = chart(&s).unwrap();
        assert!(roxmltree::Document::parse(&svg).is_ok());
        let none = SweepReport::new("s", 1, 3, vec!["n".into()], vec![row(1.0, 900.0, 2)]);
        assert_eq!(none.best, None);
        assert!(markdown(&none).contains("No configuration meets every objective on all 3 seeds."));
    }

    #[test]
    fn headroom_is_the_room_left_under_a_bound_or_in_the_allowed_shortfall() {
        let slo = |objective: &str, actual: f64| SloResult {
            name: "x".into(),
            endpoint: None,
            job: None,
            objective: objective.into(),
            actual,
            met: true,
            detail: None,
        };
        assert_eq!(headroom(&slo("<= 500 ms", 400.0)), Some(0.2));
        assert!((headroom(&slo(">= 0.99", 0.995)).unwrap() - 0.5).abs() < 1e-9);
        assert_eq!(headroom(&slo("Completed within 36h", 1.0)), None);
    }
}
