//! Charts of a run, as SVG drawn with `plotters`, all on one time axis
//! (the run's seconds): latency against its objective, traffic and
//! errors, the fleet against the load, cost as it accumulates, the event
//! timeline with faults as bands, and each component's own (the
//! multi-model cache). `report.html` inlines them; `summary.md` links the
//! files written beside it.
//!
//! A component with something to chart adds a function here returning
//! `Option<Chart>` (`None` when the run has nothing for it) and lists it
//! in [`charts`].

use std::collections::BTreeMap;

use plotters::prelude::*;

use crate::recorder::{EventRow, RunRecord, TimelineRow};

/// One chart: its file name and title, and the SVG.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chart {
    /// File name (`latency.svg`).
    pub file: String,
    /// What it shows, in a few words.
    pub title: String,
    /// The SVG document.
    pub svg: String,
}

const WIDTH: u32 = 960;
const HEIGHT: u32 = 320;

/// Series colours, picked in turn.
const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(23, 190, 207),
];
const OBJECTIVE: RGBColor = RGBColor(214, 39, 40);

fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

/// Every chart the run has data for, in reading order.
pub fn charts(rec: &RunRecord) -> Vec<Chart> {
    let t = Timeline::new(rec);
    [
        latency(rec, &t),
        traffic(&t),
        fleet(&t),
        cost(rec, &t),
        events(rec, &t),
        models(&t),
        training(rec, &t),
        training_cost(rec, &t),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The timeline grouped per variant, in first-appearance order.
struct Timeline<'a> {
    /// Seconds the axis spans.
    end: f64,
    /// Interval length, seconds.
    interval: f64,
    /// `endpoint/variant` and its rows.
    series: Vec<(String, Vec<&'a TimelineRow>)>,
    /// Faults, `[start, end]`, shaded on every chart.
    bands: Vec<(f64, f64)>,
}

impl<'a> Timeline<'a> {
    fn new(rec: &'a RunRecord) -> Self {
        let interval = rec.report.timeline_interval_s.max(1e-9);
        let mut index: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        let mut series: Vec<(String, Vec<&TimelineRow>)> = Vec::new();
        let mut last = 0.0f64;
        for r in &rec.timeline {
            let key = (r.endpoint.as_str(), r.variant.as_str());
            let i = *index.entry(key).or_insert_with(|| {
                series.push((format!("{}/{}", r.endpoint, r.variant), Vec::new()));
                series.len() - 1
            });
            series[i].1.push(r);
            last = last.max(r.time_s + interval);
        }
        // A training-only run has no timeline and may have no duration:
        // its events set the axis.
        let last_event = rec.events.iter().map(|e| e.time_s).fold(0.0, f64::max);
        let end = rec
            .report
            .scenario
            .duration_s
            .max(last)
            .max(last_event)
            .max(1.0);
        Timeline {
            end,
            interval,
            series,
            bands: fault_bands(&rec.events, end),
        }
    }

    fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Per interval start: the sum over every variant of `f`.
    fn total(&self, f: impl Fn(&TimelineRow) -> f64) -> Vec<(f64, f64)> {
        let mut sums: BTreeMap<u64, f64> = BTreeMap::new();
        for (_, rows) in &self.series {
            for r in rows {
                *sums.entry(r.time_s.to_bits()).or_default() += f(r);
            }
        }
        let mut out: Vec<(f64, f64)> = sums
            .into_iter()
            .map(|(t, v)| (f64::from_bits(t), v))
            .collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        out
    }
}

/// The largest `y`, with headroom, for an axis starting at zero.
fn top(values: impl Iterator<Item = f64>) -> f64 {
    let m = values.filter(|v| v.is_finite()).fold(0.0f64, f64::max);
    // Headroom for the legend in the upper right.
    if m <= 0.0 {
        1.0
    } else {
        m * 1.3
    }
}

type Plot<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// Draws one chart with `draw` into an SVG string; `None` if plotting
/// failed (it only fails on its own bugs: the backend is a string).
fn svg(
    t: &Timeline<'_>,
    file: &str,
    title: &str,
    y_desc: &str,
    y_top: f64,
    draw: impl FnOnce(&mut Plot<'_, '_>) -> Result<(), String>,
) -> Option<Chart> {
    let x_end = t.end;
    let mut out = String::new();
    let result = (|| -> Result<(), String> {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..x_end, 0.0..y_top)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc(y_desc)
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| e.to_string())?;
        // Faults behind everything else.
        chart
            .draw_series(t.bands.iter().map(|&(a, b)| {
                Rectangle::new([(a, 0.0), (b, y_top)], OBJECTIVE.mix(0.12).filled())
            }))
            .map_err(|e| e.to_string())?;
        draw(&mut chart)?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())
    })();
    result.ok()?;
    Some(Chart {
        file: file.into(),
        title: title.into(),
        svg: out,
    })
}

/// A labelled line.
fn line(
    chart: &mut Plot<'_, '_>,
    points: Vec<(f64, f64)>,
    c: RGBColor,
    width: u32,
    label: &str,
) -> Result<(), String> {
    chart
        .draw_series(LineSeries::new(points, c.stroke_width(width)))
        .map_err(|e| e.to_string())?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    Ok(())
}

/// The numeric objective of an SLO result (`<= 500 ms` → 500).
fn objective_value(objective: &str) -> Option<f64> {
    objective
        .split_whitespace()
        .find_map(|w| w.trim_end_matches('%').parse::<f64>().ok())
}

/// Latency p50 and p99 per variant, with each p99 objective.
fn latency(rec: &RunRecord, t: &Timeline<'_>) -> Option<Chart> {
    if t.is_empty() {
        return None;
    }
    let objectives: Vec<(String, f64)> = rec
        .report
        .slos
        .iter()
        .filter(|s| s.name == "latency_p99")
        .filter_map(|s| {
            Some((
                s.endpoint.clone().unwrap_or_default(),
                objective_value(&s.objective)?,
            ))
        })
        .collect();
    let y_top = top(t
        .series
        .iter()
        .flat_map(|(_, rows)| rows.iter().map(|r| r.p99_ms))
        .chain(objectives.iter().map(|o| o.1)));
    svg(
        t,
        "latency.svg",
        "Latency per interval (faults shaded)",
        "ms",
        y_top,
        |chart| {
            for (i, (name, rows)) in t.series.iter().enumerate() {
                let busy = |r: &&&TimelineRow| r.requests > 0;
                let p99 = rows.iter().filter(busy).map(|r| (r.time_s, r.p99_ms));
                let p50 = rows.iter().filter(busy).map(|r| (r.time_s, r.p50_ms));
                line(chart, p99.collect(), color(i), 2, &format!("{name} p99"))?;
                line(
                    chart,
                    p50.collect(),
                    faded(color(i)),
                    1,
                    &format!("{name} p50"),
                )?;
            }
            for (endpoint, v) in &objectives {
                line(
                    chart,
                    vec![(0.0, *v), (t.end, *v)],
                    OBJECTIVE,
                    1,
                    &format!("{endpoint} p99 objective"),
                )?;
            }
            Ok(())
        },
    )
}

/// `c` half blended onto white: the lighter line of a pair.
fn faded(c: RGBColor) -> RGBColor {
    let RGBColor(r, g, b) = c;
    let mix = |x: u8| ((u16::from(x) + 255) / 2) as u8;
    RGBColor(mix(r), mix(g), mix(b))
}

/// A count of a timeline row.
type Count = fn(&TimelineRow) -> u64;

/// Requests per second in total, and errors per second by class.
fn traffic(t: &Timeline<'_>) -> Option<Chart> {
    if t.is_empty() {
        return None;
    }
    let per_s = |v: f64| v / t.interval;
    let sent = t.total(|r| per_s(r.requests as f64));
    let classes: [(&str, Count); 4] = [
        ("4XX", |r| r.client_4xx),
        ("5XX", |r| r.server_5xx),
        ("timeouts", |r| r.timeout),
        ("throttled", |r| r.throttled),
    ];
    let errors: Vec<(&str, Vec<(f64, f64)>)> = classes
        .iter()
        .map(|(name, f)| (*name, t.total(|r| per_s(f(r) as f64))))
        .filter(|(_, pts)| pts.iter().any(|p| p.1 > 0.0))
        .collect();
    let y_top = top(sent.iter().map(|p| p.1));
    svg(
        t,
        "traffic.svg",
        "Requests and errors per second",
        "per second",
        y_top,
        |chart| {
            line(chart, sent, color(0), 2, "requests")?;
            for (i, (name, pts)) in errors.into_iter().enumerate() {
                line(
                    chart,
                    pts,
                    [OBJECTIVE, color(1), color(3), color(4)][i % 4],
                    2,
                    name,
                )?;
            }
            Ok(())
        },
    )
}

/// Instances in service, provisioning and desired per variant, with the
/// load beside them.
fn fleet(t: &Timeline<'_>) -> Option<Chart> {
    if t.is_empty() {
        return None;
    }
    let y_top = top(t.series.iter().flat_map(|(_, rows)| {
        rows.iter().map(|r| {
            f64::from(
                r.instances_in_service.unwrap_or(0)
                    + r.instances_provisioning.unwrap_or(0)
                    + r.instances_draining.unwrap_or(0),
            )
            .max(f64::from(r.desired_instances.unwrap_or(0)))
        })
    }))
    .max(2.0);
    let load = t.total(|r| r.requests as f64 / t.interval);
    let load_top = top(load.iter().map(|p| p.1));
    // The load, scaled onto the instance axis and said so in its label.
    let scale = y_top / load_top;
    svg(
        t,
        "fleet.svg",
        "Fleet against load",
        "instances",
        y_top,
        |chart| {
            for (i, (name, rows)) in t.series.iter().enumerate() {
                let pts = |f: fn(&TimelineRow) -> Option<u32>| -> Vec<(f64, f64)> {
                    rows.iter()
                        .filter_map(|r| f(r).map(|v| (r.time_s, f64::from(v))))
                        .collect()
                };
                line(
                    chart,
                    pts(|r| r.instances_in_service),
                    color(i),
                    2,
                    &format!("{name} in service"),
                )?;
                let prov = pts(|r| r.instances_provisioning);
                if prov.iter().any(|p| p.1 > 0.0) {
                    line(
                        chart,
                        prov,
                        faded(color(i)),
                        1,
                        &format!("{name} provisioning"),
                    )?;
                }
                let desired = pts(|r| r.desired_instances);
                if !desired.is_empty() {
                    line(chart, desired, color(i), 1, &format!("{name} desired"))?;
                }
            }
            let scaled = load.iter().map(|&(x, y)| (x, y * scale)).collect();
            line(
                chart,
                scaled,
                RGBColor(160, 160, 160),
                1,
                &format!("load (req/s × {:.3})", scale),
            )
        },
    )
}

/// Cost as it accumulates: each variant's instances at each interval's
/// end, billed for the interval at the variant's rate (its cost over its
/// instance-seconds), so the line ends near the report's cost.
fn cost(rec: &RunRecord, t: &Timeline<'_>) -> Option<Chart> {
    if t.is_empty() || rec.report.cost.total_usd <= 0.0 {
        return None;
    }
    let mut rate: BTreeMap<String, f64> = BTreeMap::new();
    for e in &rec.report.endpoints {
        for v in &e.variants {
            if v.instance_seconds > 0.0 {
                rate.insert(
                    format!("{}/{}", e.name, v.name),
                    v.cost_usd / v.instance_seconds,
                );
            }
        }
    }
    let mut lines = Vec::new();
    for (name, rows) in &t.series {
        let r = rate.get(name).copied().unwrap_or(0.0);
        let mut sum = 0.0;
        let mut pts = vec![(0.0, 0.0)];
        for row in rows {
            let n = row.instances_in_service.unwrap_or(0)
                + row.instances_provisioning.unwrap_or(0)
                + row.instances_draining.unwrap_or(0);
            sum += f64::from(n) * t.interval * r;
            pts.push((row.time_s + t.interval, sum));
        }
        lines.push((name.clone(), pts));
    }
    let y_top = top(lines.iter().flat_map(|(_, p)| p.iter().map(|p| p.1)))
        .max(rec.report.cost.total_usd * 1.1);
    svg(
        t,
        "cost.svg",
        "Cost so far (endpoints)",
        "USD",
        y_top,
        |chart| {
            for (i, (name, pts)) in lines.into_iter().enumerate() {
                line(chart, pts, color(i), 2, &name)?;
            }
            Ok(())
        },
    )
}

/// Rows of the event chart, bottom up.
const LANES: [&str; 5] = ["faults", "instances", "scaling", "models", "training"];

fn lane(kind: &str) -> usize {
    match kind {
        k if k.starts_with("fault") => 0,
        k if k.starts_with("instance") => 1,
        "alarm_state" | "scaling_activity" => 2,
        k if k.starts_with("model") => 3,
        _ => 4,
    }
}

/// Faults as bands from injection to clearing, and every other event as
/// a marker in its lane.
fn events(rec: &RunRecord, t: &Timeline<'_>) -> Option<Chart> {
    if rec.events.is_empty() {
        return None;
    }
    let end = t.end;
    let bands = &t.bands;
    let mut out = String::new();
    let result =
        (|| -> Result<(), String> {
            let root = SVGBackend::with_string(&mut out, (WIDTH, 220)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            let mut chart = ChartBuilder::on(&root)
                .caption("Events", ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(34)
                .y_label_area_size(80)
                .build_cartesian_2d(0.0..end, -0.5..(LANES.len() as f64 - 0.5))
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .x_desc("time (s)")
                .y_labels(LANES.len())
                .y_label_formatter(&|y| {
                    let i = y.round();
                    if (y - i).abs() < 0.01 && i >= 0.0 && (i as usize) < LANES.len() {
                        LANES[i as usize].to_string()
                    } else {
                        String::new()
                    }
                })
                .disable_y_mesh()
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(|e| e.to_string())?;
            chart
                .draw_series(bands.iter().map(|&(a, b)| {
                    Rectangle::new([(a, -0.4), (b, 0.4)], OBJECTIVE.mix(0.25).filled())
                }))
                .map_err(|e| e.to_string())?;
            chart
                .draw_series(rec.events.iter().map(|e| {
                    let y = lane(&e.kind) as f64;
                    let c = match e.kind.as_str() {
                        "instance_crashed" | "instance_launch_failed" | "model_load_failed" => {
                            OBJECTIVE
                        }
                        k if k.starts_with("fault") => OBJECTIVE,
                        _ => color(lane(&e.kind)),
                    };
                    Circle::new((e.time_s, y), 3, c.filled())
                }))
                .map_err(|e| e.to_string())?;
            root.present().map_err(|e| e.to_string())
        })();
    result.ok()?;
    Some(Chart {
        file: "events.svg".into(),
        title: "Events".into(),
        svg: out,
    })
}

/// `[start, end]` of each fault: an injection, until the next clearing on
/// the same endpoint of the same kind (the detail's first word), or the
/// end of the run.
fn fault_bands(events: &[EventRow], end: f64) -> Vec<(f64, f64)> {
    let kind = |e: &EventRow| e.detail.split_whitespace().next().unwrap_or("").to_string();
    let mut open: Vec<(String, String, f64)> = Vec::new();
    let mut bands = Vec::new();
    for e in events {
        match e.kind.as_str() {
            "fault_injected" => open.push((e.endpoint.clone(), kind(e), e.time_s)),
            "fault_cleared" => {
                if let Some(i) = open
                    .iter()
                    .position(|(ep, k, _)| *ep == e.endpoint && *k == kind(e))
                {
                    let (_, _, at) = open.remove(i);
                    bands.push((at, e.time_s));
                }
            }
            _ => {}
        }
    }
    // Instantaneous faults (a crash) and those still on at the end.
    for (_, k, at) in open {
        let width = if k.contains("crash") || k.contains("kill") {
            end / 400.0
        } else {
            end - at
        };
        bands.push((at, at + width));
    }
    bands
}

/// Multi-model variants: the cache hit ratio per interval.
fn models(t: &Timeline<'_>) -> Option<Chart> {
    let mme: Vec<&(String, Vec<&TimelineRow>)> = t
        .series
        .iter()
        .filter(|(_, rows)| rows.iter().any(|r| r.model_cache_hit_ratio.is_some()))
        .collect();
    if mme.is_empty() {
        return None;
    }
    svg(
        t,
        "models.svg",
        "Model cache hit ratio",
        "hit ratio",
        1.05,
        |chart| {
            for (i, (name, rows)) in mme.into_iter().enumerate() {
                let pts = rows
                    .iter()
                    .filter_map(|r| r.model_cache_hit_ratio.map(|h| (r.time_s, h)))
                    .collect();
                line(chart, pts, color(i), 2, name)?;
            }
            Ok(())
        },
    )
}

/// A job's name, its (time, steps kept) points and its interruptions.
type JobSteps = (String, Vec<(f64, f64)>, Vec<f64>);

/// Training jobs: the steps each has kept (its checkpoints, and where
/// it resumed from) against time, interruptions marked.
fn training(rec: &RunRecord, t: &Timeline<'_>) -> Option<Chart> {
    let step = |detail: &str| -> Option<f64> {
        detail
            .split_whitespace()
            .find_map(|w| w.parse::<f64>().ok())
    };
    // Per job: its name, (time, steps kept) points, interruption times.
    let mut jobs: Vec<JobSteps> = Vec::new();
    for e in rec.events.iter().filter(|e| !e.job.is_empty()) {
        let i = match jobs.iter().position(|j| j.0 == e.job) {
            Some(i) => i,
            None => {
                jobs.push((e.job.clone(), vec![(0.0, 0.0)], Vec::new()));
                jobs.len() - 1
            }
        };
        match e.kind.as_str() {
            "checkpoint_written" | "job_resumed" => {
                if let Some(s) = step(&e.detail) {
                    jobs[i].1.push((e.time_s, s));
                }
            }
            "spot_interrupted" => jobs[i].2.push(e.time_s),
            _ => {}
        }
    }
    jobs.retain(|j| j.1.len() > 1);
    if jobs.is_empty() {
        return None;
    }
    let y_top = top(jobs.iter().flat_map(|j| j.1.iter().map(|p| p.1)));
    svg(
        t,
        "training.svg",
        "Training: checkpointed steps (interruptions marked)",
        "steps",
        y_top,
        |chart| {
            for (i, (name, pts, stops)) in jobs.into_iter().enumerate() {
                // What was kept at each interruption: the last checkpoint.
                let kept = |at: f64| {
                    pts.iter()
                        .take_while(|p| p.0 <= at)
                        .last()
                        .map_or(0.0, |p| p.1)
                };
                let marks: Vec<(f64, f64)> = stops.iter().map(|&at| (at, kept(at))).collect();
                line(chart, pts, color(i), 2, &name)?;
                chart
                    .draw_series(
                        marks
                            .into_iter()
                            .map(|p| Cross::new(p, 6, OBJECTIVE.stroke_width(2))),
                    )
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        },
    )
}

/// Secondary statuses that bill (SageMaker bills from download to
/// upload; waits for capacity and restarts do not).
const BILLED: [&str; 3] = ["Downloading", "Training", "Uploading"];

/// `(time, share of the job's billed time so far)` at every status change.
fn billed_share(j: &crate::TrainingJobReport) -> Vec<(f64, f64)> {
    let mut pts = vec![(0.0, 0.0)];
    let mut billed = 0.0;
    for w in j.status_history.windows(2) {
        if BILLED.contains(&w[0].status.as_str()) {
            billed += w[1].time_s - w[0].time_s;
        }
        pts.push((w[1].time_s, billed));
    }
    let total = billed.max(f64::MIN_POSITIVE);
    pts.iter().map(|&(t, b)| (t, b / total)).collect()
}

/// Training cost as it accumulates, spot against the same training on
/// on-demand: each job's reported cost spread over its billed phases, so
/// each line ends at the report's figure (interruptions and waits are the
/// flat stretches).
fn training_cost(rec: &RunRecord, t: &Timeline<'_>) -> Option<Chart> {
    let jobs: Vec<_> = rec
        .report
        .training_jobs
        .iter()
        .filter(|j| j.status_history.len() > 1)
        .collect();
    if jobs.is_empty() {
        return None;
    }
    let y_top = top(jobs.iter().map(|j| j.on_demand_cost_usd.max(j.cost_usd)));
    svg(
        t,
        "training-cost.svg",
        "Training cost: spot against on-demand",
        "USD",
        y_top,
        |chart| {
            for (i, j) in jobs.into_iter().enumerate() {
                let share = billed_share(j);
                let at = |usd: f64| share.iter().map(|&(x, f)| (x, f * usd)).collect();
                if j.spot {
                    line(
                        chart,
                        at(j.cost_usd),
                        color(i),
                        2,
                        &format!("{} on spot", j.name),
                    )?;
                    line(
                        chart,
                        at(j.on_demand_cost_usd),
                        faded(color(i)),
                        1,
                        &format!("{} on-demand", j.name),
                    )?;
                } else {
                    line(
                        chart,
                        at(j.cost_usd),
                        color(i),
                        2,
                        &format!("{} (on-demand)", j.name),
                    )?;
                }
            }
            Ok(())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objectives_parse_from_their_text() {
        assert_eq!(objective_value("<= 500 ms"), Some(500.0));
        assert_eq!(objective_value(">= 0.75"), Some(0.75));
        assert_eq!(objective_value("none"), None);
    }

    #[test]
    fn a_fault_is_a_band_until_it_clears_and_a_crash_a_sliver() {
        let ev = |t: f64, kind: &str, detail: &str| EventRow {
            time_s: t,
            kind: kind.into(),
            endpoint: "e".into(),
            variant: String::new(),
            instance: None,
            detail: detail.into(),
            job: String::new(),
        };
        let events = [
            ev(10.0, "fault_injected", "latency_injection +40ms"),
            ev(20.0, "fault_injected", "instance_crash count=1"),
            ev(30.0, "fault_cleared", "latency_injection ended"),
        ];
        let bands = fault_bands(&events, 400.0);
        assert_eq!(bands, [(10.0, 30.0), (20.0, 21.0)]);
    }
}
