//! Error budgets and multi-window burn-rate alerts, from the timeline.
//!
//! An objective over requests allows a share of them to be bad: that share
//! is its *error budget*. `latency_p99 <= 500 ms` allows 1% of requests
//! slower than 500 ms, `error_rate <= 0.001` allows 0.1% failed,
//! `availability >= 0.999` allows 0.1% unavailable (5xx, timeouts,
//! throttles). The *burn rate* over a window is the window's bad share
//! divided by the budget: at 1 the budget lasts exactly the SLO period, at
//! 14.4 a 30-day budget is 2% gone in an hour.
//!
//! Alerts follow the multi-window, multi-burn-rate rules of Google's SRE
//! workbook ("Alerting on SLOs"): an alert fires while the burn rate over
//! both its long and its short window is at or above its threshold, and
//! resolves when either drops below ([`RULES`]).
//!
//! **Short runs.** The rules' windows are made for a 30-day SLO period. A
//! run shorter than the longest window (3 days) scales every window by
//! `run length / 3 days`, so the slowest rule looks at the whole run and
//! the others keep their proportions; a window shorter than one timeline
//! interval becomes one interval. The report says the scale and the
//! windows in seconds. Thresholds are never scaled. A window that reaches
//! back before the run's start holds what the run has so far.
//!
//! Bad requests are counted exactly as they are recorded (each latency
//! objective has its own counter), by the interval in which they were
//! sent, and judged when their interval closes (once every request sent in
//! it has finished). That is also when `abort_on_burn` is checked, so a
//! run stops up to twice the longest client timeout after the burn began.

use serde::{Deserialize, Serialize};

use crate::model::round6;
use crate::slo::{fmt_num, SloSpec};

/// At most this many latency objectives (`p50`, `p90`, `p95`, `p99`,
/// `p999`).
pub const MAX_LATENCY_BOUNDS: usize = 5;

/// The longest window of [`RULES`], seconds (3 days): runs shorter than
/// this scale every window.
pub const LONGEST_WINDOW_S: f64 = 3.0 * 86_400.0;

/// One multi-window alerting rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AlertRule {
    /// `"page"` or `"ticket"`.
    pub severity: &'static str,
    /// The long window, seconds (unscaled).
    pub long_s: f64,
    /// The short window, seconds (unscaled).
    pub short_s: f64,
    /// Burn rate at or above which the rule fires.
    pub burn_rate: f64,
}

/// The SRE workbook's four rules: page at 14.4× over 1 h and 5 m, page at
/// 6× over 6 h and 30 m, ticket at 3× over 1 d and 2 h, ticket at 1× over
/// 3 d and 6 h. The first is also the one `abort_on_burn` watches.
pub const RULES: [AlertRule; 4] = [
    AlertRule {
        severity: "page",
        long_s: 3_600.0,
        short_s: 300.0,
        burn_rate: 14.4,
    },
    AlertRule {
        severity: "page",
        long_s: 21_600.0,
        short_s: 1_800.0,
        burn_rate: 6.0,
    },
    AlertRule {
        severity: "ticket",
        long_s: 86_400.0,
        short_s: 7_200.0,
        burn_rate: 3.0,
    },
    AlertRule {
        severity: "ticket",
        long_s: 259_200.0,
        short_s: 21_600.0,
        burn_rate: 1.0,
    },
];

/// What makes a request bad for one objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bad {
    /// Slower than the `n`th latency bound of [`Objectives::bounds_us`].
    SlowerThan(usize),
    /// Any error (the report's `error_rate`).
    Error,
    /// 5xx, timeout or throttled (what `availability` counts against).
    Unavailable,
}

/// One objective whose budget is tracked.
#[derive(Clone, Debug, PartialEq)]
pub struct Objective {
    /// The SLO's name (`latency_p99`, `error_rate`, `availability`).
    pub name: String,
    /// As the SLO table prints it (`<= 500 ms`).
    pub objective: String,
    /// Share of requests allowed to be bad.
    pub budget: f64,
    /// What counts as bad.
    pub bad: Bad,
}

/// The objectives of a scenario's `[slo]` that have an error budget, and
/// the latency bounds the recorder counts requests against.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Objectives {
    /// In SLO-table order.
    pub list: Vec<Objective>,
    /// Latency bounds in microseconds, indexed by [`Bad::SlowerThan`].
    pub bounds_us: Vec<u64>,
    /// `abort_on_burn`: stop the run when the first rule's two windows
    /// both burn at least this fast.
    pub abort_on_burn: Option<f64>,
}

impl Objectives {
    /// Those of `slo`'s objectives that are over requests. An objective
    /// that allows nothing (`availability = 1`) has no budget to burn and
    /// is left out.
    pub fn of(slo: &SloSpec) -> Self {
        let mut out = Objectives {
            abort_on_burn: slo.abort_on_burn,
            ..Default::default()
        };
        for (name, p, bound) in slo.latency.iter().take(MAX_LATENCY_BOUNDS) {
            let ms = bound.as_secs_f64() * 1e3;
            out.list.push(Objective {
                name: name.clone(),
                objective: format!("<= {} ms", fmt_num(ms)),
                budget: 1.0 - p / 100.0,
                bad: Bad::SlowerThan(out.bounds_us.len()),
            });
            out.bounds_us.push(bound.as_micros() as u64);
        }
        if let Some(max) = slo.error_rate {
            out.list.push(Objective {
                name: "error_rate".into(),
                objective: format!("<= {}", fmt_num(max)),
                budget: max,
                bad: Bad::Error,
            });
        }
        if let Some(min) = slo.availability {
            out.list.push(Objective {
                name: "availability".into(),
                objective: format!(">= {}", fmt_num(min)),
                budget: 1.0 - min,
                bad: Bad::Unavailable,
            });
        }
        out.list.retain(|o| o.budget > 1e-12);
        out
    }
}

/// One endpoint's requests in one interval, as the budget sees them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IntervalCounts {
    /// Requests sent in the interval.
    pub requests: u64,
    /// Of which failed.
    pub errors: u64,
    /// Of which were unavailable (5xx, timeout, throttled).
    pub unavailable: u64,
    /// Of which were slower than each latency bound.
    pub slow: [u64; MAX_LATENCY_BOUNDS],
}

impl IntervalCounts {
    /// Adds `other` in.
    pub fn add(&mut self, other: &IntervalCounts) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.unavailable += other.unavailable;
        for (a, b) in self.slow.iter_mut().zip(other.slow) {
            *a += b;
        }
    }

    fn bad(&self, b: Bad) -> u64 {
        match b {
            Bad::SlowerThan(i) => self.slow[i],
            Bad::Error => self.errors,
            Bad::Unavailable => self.unavailable,
        }
    }
}

/// Each rule's windows, in intervals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Windows([(usize, usize); RULES.len()]);

impl Windows {
    /// The scale for a run of `run_s` seconds, and the windows for
    /// intervals of `interval_s` seconds.
    fn for_run(run_s: f64, interval_s: f64) -> (f64, Windows) {
        let scale = if run_s > 0.0 && run_s < LONGEST_WINDOW_S {
            run_s / LONGEST_WINDOW_S
        } else {
            1.0
        };
        let n = |s: f64| ((s * scale / interval_s).round() as usize).max(1);
        let mut w = [(1, 1); RULES.len()];
        for (w, r) in w.iter_mut().zip(&RULES) {
            *w = (n(r.long_s), n(r.short_s));
        }
        (scale, Windows(w))
    }
}

/// Why a run was stopped by `abort_on_burn`.
#[derive(Clone, Debug, PartialEq)]
pub struct Abort {
    /// Endpoint index.
    pub endpoint: usize,
    /// Objective index in [`Objectives::list`].
    pub objective: usize,
    /// Intervals closed when it fired.
    pub intervals: usize,
    /// Burn rate over the long window.
    pub long: f64,
    /// Burn rate over the short window.
    pub short: f64,
}

/// Per-endpoint cumulative counts of every closed interval, and the
/// `abort_on_burn` check.
#[derive(Clone, Debug)]
pub struct BudgetTracker {
    objectives: Objectives,
    /// Real seconds per interval.
    interval_s: f64,
    /// The windows, when the run's length is known up front.
    planned: Option<(f64, Windows)>,
    /// `cum[e][k]`: endpoint `e`'s counts over its first `k` intervals.
    cum: Vec<Vec<IntervalCounts>>,
    abort: Option<Abort>,
}

impl BudgetTracker {
    /// A tracker for `endpoints` endpoints. `planned_s` is the run's
    /// length, when known before it starts (needed for `abort_on_burn`);
    /// otherwise the windows are scaled by the length at the end.
    pub fn new(
        objectives: Objectives,
        endpoints: usize,
        interval_s: f64,
        planned_s: Option<f64>,
    ) -> Self {
        BudgetTracker {
            planned: planned_s.map(|s| Windows::for_run(s, interval_s)),
            objectives,
            interval_s,
            cum: vec![vec![IntervalCounts::default()]; endpoints],
            abort: None,
        }
    }

    /// The objectives tracked.
    pub fn objectives(&self) -> &Objectives {
        &self.objectives
    }

    /// Appends one closed interval: `counts[e]` for each endpoint `e`.
    /// Checks `abort_on_burn` once all are in.
    pub fn push(&mut self, counts: &[IntervalCounts]) {
        if self.objectives.list.is_empty() {
            return;
        }
        for (cum, c) in self.cum.iter_mut().zip(counts) {
            let mut next = *cum.last().expect("starts with a zero row");
            next.add(c);
            cum.push(next);
        }
        if self.abort.is_some() {
            return;
        }
        let (Some(threshold), Some((_, w))) = (self.objectives.abort_on_burn, self.planned) else {
            return;
        };
        let k = self.cum[0].len() - 1;
        let (long_w, short_w) = w.0[0];
        for e in 0..self.cum.len() {
            for (o, obj) in self.objectives.list.iter().enumerate() {
                let long = self.burn(e, obj, k, long_w);
                let short = self.burn(e, obj, k, short_w);
                if long >= threshold && short >= threshold {
                    self.abort = Some(Abort {
                        endpoint: e,
                        objective: o,
                        intervals: k,
                        long,
                        short,
                    });
                    return;
                }
            }
        }
    }

    /// Set once `abort_on_burn` has fired.
    pub fn abort(&self) -> Option<&Abort> {
        self.abort.as_ref()
    }

    /// Burn rate of endpoint `e`'s objective over the `w` intervals
    /// ending with interval `k` (1-based: `k` intervals closed).
    fn burn(&self, e: usize, obj: &Objective, k: usize, w: usize) -> f64 {
        let cum = &self.cum[e];
        let (now, then) = (&cum[k], &cum[k.saturating_sub(w)]);
        let requests = now.requests - then.requests;
        if requests == 0 {
            return 0.0;
        }
        let bad = now.bad(obj.bad) - then.bad(obj.bad);
        bad as f64 / requests as f64 / obj.budget
    }

    /// The report section, `endpoints` naming the endpoints and
    /// `to_scenario_s` turning real seconds into scenario seconds; `None`
    /// when no objective has a budget.
    pub fn report(
        &self,
        endpoints: &[String],
        to_scenario_s: impl Fn(f64) -> f64,
    ) -> Option<ErrorBudgetReport> {
        if self.objectives.list.is_empty() {
            return None;
        }
        let closed = self.cum[0].len() - 1;
        let (scale, w) = self
            .planned
            .unwrap_or_else(|| Windows::for_run(closed as f64 * self.interval_s, self.interval_s));
        let secs = |n: usize| round6(to_scenario_s(n as f64 * self.interval_s));
        let windows = RULES
            .iter()
            .zip(w.0)
            .map(|(r, (l, s))| AlertWindow {
                severity: r.severity.into(),
                burn_rate: r.burn_rate,
                long_window_s: secs(l),
                short_window_s: secs(s),
            })
            .collect();
        let mut slos = Vec::new();
        for (e, name) in endpoints.iter().enumerate() {
            for (o, obj) in self.objectives.list.iter().enumerate() {
                let total = self.cum[e][closed];
                let bad = total.bad(obj.bad);
                let mut alerts = Vec::new();
                let mut peak = 0.0f64;
                for (r, rule) in RULES.iter().enumerate() {
                    let (lw, sw) = w.0[r];
                    let mut open: Option<usize> = None;
                    for k in 1..=closed {
                        let long = self.burn(e, obj, k, lw);
                        if r == 0 {
                            peak = peak.max(long);
                        }
                        let firing =
                            long >= rule.burn_rate && self.burn(e, obj, k, sw) >= rule.burn_rate;
                        match (firing, open) {
                            (true, None) => open = Some(k),
                            (false, Some(at)) => {
                                alerts.push(alert(r, secs(at), Some(secs(k))));
                                open = None;
                            }
                            _ => {}
                        }
                    }
                    if let Some(at) = open {
                        alerts.push(alert(r, secs(at), None));
                    }
                }
                alerts.sort_by(|a, b| a.fired_at_s.total_cmp(&b.fired_at_s));
                let aborted = self
                    .abort
                    .as_ref()
                    .filter(|a| a.endpoint == e && a.objective == o)
                    .map(|a| secs(a.intervals));
                slos.push(BudgetReport {
                    slo: obj.name.clone(),
                    endpoint: name.clone(),
                    objective: obj.objective.clone(),
                    budget: round6(obj.budget),
                    requests: total.requests,
                    bad,
                    consumed: if total.requests == 0 {
                        0.0
                    } else {
                        round6(bad as f64 / total.requests as f64 / obj.budget)
                    },
                    peak_burn_rate: round6(peak),
                    alerts,
                    aborted_at_s: aborted,
                });
            }
        }
        Some(ErrorBudgetReport {
            window_scale: round6(scale),
            note: (scale < 1.0).then(|| {
                format!(
                    "the run is shorter than 3 days: every alert window is scaled by {} so the longest covers the run",
                    fmt_num(round6(scale))
                )
            }),
            windows,
            slos,
        })
    }

    /// Describes an abort for the report and the terminal.
    pub fn describe_abort(
        &self,
        a: &Abort,
        endpoint: &str,
        to_scenario_s: impl Fn(f64) -> f64,
    ) -> String {
        let obj = &self.objectives.list[a.objective];
        let (_, w) = self.planned.expect("an abort needs planned windows");
        let secs = |n: usize| crate::slo::human_duration(to_scenario_s(n as f64 * self.interval_s));
        format!(
            "abort_on_burn = {}: {} of {} ({}) burned its error budget at {}x over {} and {}x over {}",
            fmt_num(self.objectives.abort_on_burn.unwrap_or(0.0)),
            obj.name,
            endpoint,
            obj.objective,
            fmt_rate(a.long),
            secs(w.0[0].0),
            fmt_rate(a.short),
            secs(w.0[0].1),
        )
    }
}

/// A burn rate to one decimal (`16.7`).
pub fn fmt_rate(x: f64) -> String {
    fmt_num((x * 10.0).round() / 10.0)
}

impl BudgetReport {
    /// Its alerts in one line: `page 14.4x at 1810 s (until 1865 s);
    /// ticket 1x at 1820 s (still firing)`, or `none`.
    pub fn alerts_line(&self) -> String {
        if self.alerts.is_empty() {
            return "none".into();
        }
        self.alerts
            .iter()
            .map(|a| {
                format!(
                    "{} {}x at {} s ({})",
                    a.severity,
                    fmt_num(a.burn_rate),
                    fmt_num(a.fired_at_s),
                    a.resolved_at_s.map_or_else(
                        || "still firing".into(),
                        |t| format!("until {} s", fmt_num(t))
                    )
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Budget spent, in percent (`139%`).
    pub fn consumed_pct(&self) -> String {
        format!("{}%", fmt_num((self.consumed * 1000.0).round() / 10.0))
    }
}

impl ErrorBudgetReport {
    /// The rules as applied, in one line: `page 14.4x over 60 s / 5 s,
    /// ...`, with the scaling note.
    pub fn windows_line(&self) -> String {
        let rules = self
            .windows
            .iter()
            .map(|w| {
                format!(
                    "{} {}x over {} s / {} s",
                    w.severity,
                    fmt_num(w.burn_rate),
                    fmt_num(w.long_window_s),
                    fmt_num(w.short_window_s)
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        match &self.note {
            Some(n) => format!("Alert rules (long / short window): {rules}. Note: {n}."),
            None => format!("Alert rules (long / short window): {rules}."),
        }
    }
}

/// Writes the `## Error budget` section of `summary.md` and
/// `postmortem.md`: nothing when the report has none.
pub fn write_markdown<W: std::io::Write>(
    r: &crate::Report,
    w: &mut W,
) -> Result<(), crate::writers::WriteError> {
    let Some(b) = &r.error_budget else {
        return Ok(());
    };
    writeln!(w)?;
    writeln!(w, "## Error budget")?;
    writeln!(w)?;
    writeln!(
        w,
        "| objective | endpoint | target | budget | bad / requests | spent | peak burn | alerts |"
    )?;
    writeln!(w, "|---|---|---|---|---|---|---|---|")?;
    for s in &b.slos {
        writeln!(
            w,
            "| {} | {} | {} | {} | {} / {} | {} | {}x | {} |",
            s.slo,
            s.endpoint,
            s.objective,
            fmt_num(s.budget),
            s.bad,
            s.requests,
            s.consumed_pct(),
            crate::burn::fmt_rate(s.peak_burn_rate),
            s.alerts_line()
        )?;
    }
    writeln!(w)?;
    writeln!(w, "{}", b.windows_line())?;
    Ok(())
}

fn alert(rule: usize, fired_at_s: f64, resolved_at_s: Option<f64>) -> AlertReport {
    let r = &RULES[rule];
    AlertReport {
        severity: r.severity.into(),
        burn_rate: r.burn_rate,
        fired_at_s,
        resolved_at_s,
    }
}

/// `report.json`'s `error_budget`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ErrorBudgetReport {
    /// Every rule's windows are the SRE workbook's times this (1 for runs
    /// of 3 days or more).
    pub window_scale: f64,
    /// Why the windows were scaled, when they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The rules as applied, in [`RULES`] order.
    pub windows: Vec<AlertWindow>,
    /// One per endpoint and objective with a budget.
    pub slos: Vec<BudgetReport>,
}

/// One rule's windows, as applied to this run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AlertWindow {
    /// `"page"` or `"ticket"`.
    pub severity: String,
    /// Threshold.
    pub burn_rate: f64,
    /// Long window, seconds.
    pub long_window_s: f64,
    /// Short window, seconds.
    pub short_window_s: f64,
}

/// One objective's budget on one endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BudgetReport {
    /// SLO name.
    pub slo: String,
    /// Endpoint.
    pub endpoint: String,
    /// As the SLO table prints it.
    pub objective: String,
    /// Share of requests allowed to be bad.
    pub budget: f64,
    /// Requests judged.
    pub requests: u64,
    /// Of which were bad.
    pub bad: u64,
    /// Share of the run's budget spent: 1 means all of it (the objective
    /// is then just met), above 1 it was overspent.
    pub consumed: f64,
    /// Highest burn rate over the first rule's long window.
    pub peak_burn_rate: f64,
    /// Every time a rule fired, in time order.
    pub alerts: Vec<AlertReport>,
    /// When `abort_on_burn` stopped the run on this objective, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted_at_s: Option<f64>,
}

/// A rule firing: when, and when it stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AlertReport {
    /// `"page"` or `"ticket"`.
    pub severity: String,
    /// The rule's threshold.
    pub burn_rate: f64,
    /// End of the interval at which both windows first burned at the
    /// threshold, seconds.
    pub fired_at_s: f64,
    /// End of the first interval at which either fell below it; `null`
    /// if it was still firing at the end.
    pub resolved_at_s: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// An availability objective with a 1% budget over intervals of 5 s
    /// in a 72-minute run: the windows scale by 4320 / 259200 = 1/60, so
    /// they are 60 s / 5 s, 360 s / 30 s, 1440 s / 120 s and 4320 s /
    /// 360 s, i.e. 12/1, 72/6, 288/24 and 864/72 intervals.
    fn tracker(abort: Option<f64>) -> BudgetTracker {
        let slo = SloSpec {
            availability: Some(0.99),
            abort_on_burn: abort,
            ..Default::default()
        };
        BudgetTracker::new(Objectives::of(&slo), 1, 5.0, Some(4320.0))
    }

    /// 100 requests per interval; all unavailable from 1800 s for 60 s.
    fn outage(t: &mut BudgetTracker, until_s: f64) {
        for k in 0..(until_s / 5.0) as usize {
            let start = k as f64 * 5.0;
            let down = (1800.0..1860.0).contains(&start);
            let bad = if down { 100 } else { 0 };
            t.push(&[IntervalCounts {
                requests: 100,
                errors: bad,
                unavailable: bad,
                ..Default::default()
            }]);
        }
    }

    #[test]
    fn windows_scale_for_short_runs_and_not_for_long_ones() {
        let (scale, w) = Windows::for_run(4320.0, 5.0);
        assert_eq!(scale, 1.0 / 60.0);
        assert_eq!(w.0, [(12, 1), (72, 6), (288, 24), (864, 72)]);
        let (scale, w) = Windows::for_run(30.0 * 86_400.0, 60.0);
        assert_eq!(scale, 1.0);
        assert_eq!(w.0, [(60, 5), (360, 30), (1440, 120), (4320, 360)]);
    }

    /// The alert times worked out by hand. A rule fires once the outage
    /// fills `threshold × budget × long window` of its long window (the
    /// short one is all outage by then), at the end of an interval:
    /// - page 14.4×: 0.144 × 60 s = 8.64 s of outage, so at 1810;
    /// - page 6×: 0.06 × 360 s = 21.6 s, so at 1825;
    /// - ticket 3×: 0.03 × 1440 s = 43.2 s, so at 1845;
    /// - ticket 1×: its 4320 s window reaches back before the start, so
    ///   it holds the 1800 s before the outage and `x` s of outage:
    ///   `x / (1800 + x) >= 0.01` at x = 18.2 s, so at 1820.
    ///
    /// Each resolves when its short window holds less than `threshold ×
    /// budget × short window` of outage: the page 14.4× once a clean 5 s
    /// interval closes (1865); page 6× when under 1.8 s of its 30 s is
    /// outage (1890); ticket 3× under 3.6 s of 120 s (1980); ticket 1×
    /// under 3.6 s of 360 s (2220).
    #[test]
    fn alerts_fire_and_resolve_when_worked_out_by_hand() {
        let mut t = tracker(None);
        outage(&mut t, 4320.0);
        let r = t.report(&["e".into()], |s| s).unwrap();
        assert_eq!(r.window_scale, round6(1.0 / 60.0));
        let b = &r.slos[0];
        assert_eq!((b.requests, b.bad), (86_400, 1200));
        // 1200 bad of 86 400 against a 1% budget: 1.39 budgets.
        assert_eq!(b.consumed, round6(1200.0 / 86_400.0 / 0.01));
        let got: Vec<(&str, f64, f64, Option<f64>)> = b
            .alerts
            .iter()
            .map(|a| {
                (
                    a.severity.as_str(),
                    a.burn_rate,
                    a.fired_at_s,
                    a.resolved_at_s,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("page", 14.4, 1810.0, Some(1865.0)),
                ("ticket", 1.0, 1820.0, Some(2220.0)),
                ("page", 6.0, 1825.0, Some(1890.0)),
                ("ticket", 3.0, 1845.0, Some(1980.0)),
            ]
        );
        // Over the 60 s window the outage's burn peaks at 100 (all bad).
        assert_eq!(b.peak_burn_rate, 100.0);
        assert!(t.abort().is_none());
    }

    #[test]
    fn abort_on_burn_fires_with_the_first_page() {
        let mut t = tracker(Some(14.4));
        outage(&mut t, 1900.0);
        let a = t.abort().expect("aborted").clone();
        // 1810 s: two outage intervals in the 60 s window.
        assert_eq!(a.intervals, 362);
        assert!((a.long - 2.0 / 12.0 / 0.01).abs() < 1e-9, "{}", a.long);
        let why = t.describe_abort(&a, "e", |s| s);
        assert!(why.contains("availability of e (>= 0.99)"), "{why}");
        assert!(why.contains("over 1m and 100x over 5s"), "{why}");
        let r = t.report(&["e".into()], |s| s).unwrap();
        assert_eq!(r.slos[0].aborted_at_s, Some(1810.0));
    }

    #[test]
    fn objectives_with_a_budget_and_their_bounds() {
        let slo = SloSpec {
            latency: vec![
                ("latency_p50".into(), 50.0, Duration::from_millis(20)),
                ("latency_p99".into(), 99.0, Duration::from_millis(500)),
            ],
            error_rate: Some(0.001),
            availability: Some(1.0),
            ..Default::default()
        };
        let o = Objectives::of(&slo);
        let names: Vec<(&str, f64)> = o.list.iter().map(|o| (o.name.as_str(), o.budget)).collect();
        assert_eq!(names.len(), 3, "availability = 1 has no budget: {names:?}");
        assert_eq!(names[0], ("latency_p50", 0.5));
        assert!((names[1].1 - 0.01).abs() < 1e-12);
        assert_eq!(names[2], ("error_rate", 0.001));
        assert_eq!(o.bounds_us, vec![20_000, 500_000]);
        assert_eq!(o.list[1].bad, Bad::SlowerThan(1));
    }

    #[test]
    fn no_objectives_no_section_and_quiet_intervals_burn_nothing() {
        let t = BudgetTracker::new(Objectives::default(), 1, 1.0, Some(60.0));
        assert!(t.report(&["e".into()], |s| s).is_none());
        let mut t = tracker(Some(1.0));
        t.push(&[IntervalCounts::default()]);
        assert!(t.abort().is_none(), "no requests, no burn");
        let r = t.report(&["e".into()], |s| s).unwrap();
        assert_eq!(r.slos[0].consumed, 0.0);
        assert!(r.slos[0].alerts.is_empty());
    }
}
