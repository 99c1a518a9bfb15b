//! `[[training_job]]`, `[[spot_market]]` and the training faults, lowered
//! into the core's [`TrainingSpec`]. The accelerator figures and the spot
//! market come from `fixtures/accelerators.toml` and
//! `fixtures/spot-market.toml`; a scenario may override the market.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use gameday_core::spec::InstanceTypeSpec;
use gameday_core::training::{SpotMarketSpec, TrainingFaultSpec, TrainingJobSpec, TrainingWork};
use serde::Deserialize;

use super::faults::{job_or_type, Hit};
use super::Cx;
use crate::catalog::{Catalog, InstanceType};
use crate::diag::{path, FieldPath};
use crate::raw::{RawFault, RawScenario, RawSpotMarket, RawTrainingJob};
use crate::{ClockKind, TrainingProgram, TrainingRun};

/// `fixtures/accelerators.toml`.
pub const ACCELERATORS: &str = include_str!("../../../../fixtures/accelerators.toml");
/// `fixtures/spot-market.toml`.
pub const SPOT_MARKET: &str = include_str!("../../../../fixtures/spot-market.toml");

/// Default `max_run` (SageMaker's default is one day).
pub const DEFAULT_MAX_RUN: Duration = Duration::from_secs(86_400);
/// Built-in trainers a job may name with `trainer`.
pub const TRAINERS: [&str; 1] = ["logistic_regression"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceleratorFile {
    reference: String,
    accelerator: Vec<RawAcceleratorPeak>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAcceleratorPeak {
    kind: String,
    peak_tflops: f64,
    #[allow(dead_code)] // documentation in the data file
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpotFile {
    default: RawSpotMarket,
    spot_market: Vec<RawSpotMarket>,
}

/// Peak dense TFLOPS per accelerator kind, and the reference kind.
struct Accelerators {
    reference: f64,
    peak: BTreeMap<String, f64>,
}

fn accelerators() -> Accelerators {
    let f: AcceleratorFile =
        toml::from_str(ACCELERATORS).expect("built-in accelerators parse (tested)");
    let peak: BTreeMap<String, f64> = f
        .accelerator
        .into_iter()
        .map(|a| (a.kind, a.peak_tflops))
        .collect();
    Accelerators {
        reference: peak[&f.reference],
        peak,
    }
}

const BANDS: [(&str, f64); 5] = [
    ("<5%", 0.025),
    ("5-10%", 0.075),
    ("10-15%", 0.125),
    ("15-20%", 0.175),
    (">20%", 0.25),
];

/// Mean time between interruptions of one instance for a monthly
/// interruption probability `p` (a Poisson process over 30 days).
pub fn mtbi_of_monthly(p: f64) -> Duration {
    gameday_core::time::secs_to_duration(30.0 * 86_400.0 / -(1.0 - p).ln())
}

/// Applies one `[[spot_market]]` entry over `m`.
fn apply_market(cx: &mut Cx<'_>, m: &mut SpotMarketSpec, r: &RawSpotMarket, at: &FieldPath) {
    if let Some(b) = &r.interruption_band {
        match BANDS.iter().find(|(name, _)| name == b) {
            Some(&(_, p)) => m.mtbi = Some(mtbi_of_monthly(p)),
            None => cx.unknown(
                &at.key("interruption_band"),
                "interruption band",
                b,
                BANDS.map(|b| b.0),
            ),
        }
    }
    if let Some(d) = r.mtbi {
        if d.0.is_zero() {
            cx.err(&at.key("mtbi"), "mtbi must be longer than zero");
        }
        m.mtbi = Some(d.0);
    }
    if let Some(s) = r.savings {
        if !(0.0..1.0).contains(&s) {
            cx.err(
                &at.key("savings"),
                format!("savings is the spot discount, a fraction from 0 up to (not including) 1, got {s}"),
            );
        }
        m.price_ratio = 1.0 - s.clamp(0.0, 1.0);
    }
    if let Some(w) = r.capacity_wait {
        if w.max.0 < w.min.0 {
            cx.err(&at.key("capacity_wait"), "capacity_wait max is below min");
        }
        m.capacity_wait_min = w.min.0;
        m.capacity_wait_max = w.max.0.max(w.min.0);
    }
    if let Some(n) = r.notice {
        m.notice = n.0;
    }
}

/// The spot market being built: the default for unlisted types, each
/// listed type's market, and the zones known for each type.
struct Market {
    default: SpotMarketSpec,
    by_type: BTreeMap<String, SpotMarketSpec>,
    zones: BTreeMap<String, Vec<(String, f64)>>,
}

impl Market {
    /// Lays one entry of a file or a scenario over the market.
    /// `scenario` entries may not carry `source`.
    fn entry(
        &mut self,
        cx: &mut Cx<'_>,
        m: &RawSpotMarket,
        at: &FieldPath,
        catalog: &Catalog,
        scenario: bool,
    ) {
        let Some(ty) = &m.instance_type else {
            cx.err(at, "a [[spot_market]] needs `instance_type`");
            return;
        };
        if !catalog.types.contains_key(ty) {
            cx.unknown(
                &at.key("instance_type"),
                "instance type",
                ty,
                catalog.names(),
            );
            return;
        }
        if scenario && m.source.is_some() {
            cx.err(
                &at.key("source"),
                "`source` belongs in a spot-market file, not a scenario",
            );
        }
        let mut spec = self
            .by_type
            .get(ty)
            .cloned()
            .unwrap_or_else(|| self.default.clone());
        apply_market(cx, &mut spec, m, at);
        if let Some(zones) = &m.zones {
            let mut list = Vec::new();
            for (j, z) in zones.iter().enumerate() {
                if !(0.0..1.0).contains(&z.savings) {
                    cx.err(
                        &at.key("zones").index(j).key("savings"),
                        format!("savings is the spot discount, a fraction from 0 up to (not including) 1, got {}", z.savings),
                    );
                }
                list.push((z.zone.clone(), z.savings));
            }
            self.zones.insert(ty.clone(), list);
        }
        if let Some(zone) = &m.zone {
            if m.savings.is_some() {
                cx.err(
                    &at.key("savings"),
                    "`zone` picks that zone's savings: leave out `savings`",
                );
            }
            let known = self.zones.get(ty).map(Vec::as_slice).unwrap_or_default();
            match known.iter().find(|(z, _)| z == zone) {
                Some(&(_, s)) => spec.price_ratio = 1.0 - s.clamp(0.0, 1.0),
                None if known.is_empty() => cx.err(
                    &at.key("zone"),
                    format!("no zones are known for {ty}: give `zones`, or load a spot-market file with them (`[scenario] spot_market`, written by `gameday prices`)"),
                ),
                None => cx.unknown(
                    &at.key("zone"),
                    &format!("zone of {ty}"),
                    zone,
                    known.iter().map(|(z, _)| z.as_str()),
                ),
            }
        }
        self.by_type.insert(ty.clone(), spec);
    }
}

/// A spot-market file named by `[scenario] spot_market`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpotOverlay {
    default: Option<RawSpotMarket>,
    #[serde(default)]
    spot_market: Vec<RawSpotMarket>,
}

/// The spot market in force for every instance type: the built-in file,
/// then the scenario's `spot_market` file, then its `[[spot_market]]`
/// entries.
fn markets(
    cx: &mut Cx<'_>,
    raw: &RawScenario,
    catalog: &Catalog,
) -> (SpotMarketSpec, BTreeMap<String, SpotMarketSpec>) {
    let file: SpotFile = toml::from_str(SPOT_MARKET).expect("built-in spot market parses (tested)");
    let mut market = Market {
        default: SpotMarketSpec {
            mtbi: None,
            capacity_wait_min: Duration::ZERO,
            capacity_wait_max: Duration::ZERO,
            price_ratio: 1.0,
            notice: Duration::from_secs(120),
        },
        by_type: BTreeMap::new(),
        zones: BTreeMap::new(),
    };
    // The built-in file is checked by a test; its paths are only for that.
    let builtin = path("spot_market");
    apply_market(cx, &mut market.default, &file.default, &builtin);
    for m in &file.spot_market {
        let mut spec = market.default.clone();
        apply_market(cx, &mut spec, m, &builtin);
        market
            .by_type
            .insert(m.instance_type.clone().unwrap_or_default(), spec);
    }
    if let Some(f) = &raw.scenario.spot_market {
        if let Some(src) = cx.read(&path("scenario").key("spot_market"), f) {
            let name = cx.base_dir.join(f).display().to_string();
            let loc = crate::diag::Locator::new(&name, &src);
            let mut fcx = Cx {
                loc: &loc,
                base_dir: cx.base_dir,
                diags: Vec::new(),
            };
            match toml::from_str::<SpotOverlay>(&src) {
                Err(e) => fcx.diags.push(crate::toml_error(&loc, &e)),
                Ok(overlay) => {
                    // A file's [default] is the market of types listed
                    // nowhere; listed types keep their own figures.
                    if let Some(d) = &overlay.default {
                        apply_market(&mut fcx, &mut market.default, d, &path("default"));
                    }
                    for (i, m) in overlay.spot_market.iter().enumerate() {
                        market.entry(&mut fcx, m, &path("spot_market").index(i), catalog, false);
                    }
                }
            }
            cx.diags.extend(fcx.diags);
        }
    }
    for (i, m) in raw.spot_markets.iter().enumerate() {
        market.entry(cx, m, &path("spot_market").index(i), catalog, true);
    }
    (market.default, market.by_type)
}

/// Training jobs and how each is run on the wall clock.
pub(super) fn build_jobs(
    cx: &mut Cx<'_>,
    raw: &RawScenario,
    catalog: &Catalog,
    clock: ClockKind,
) -> (Vec<TrainingJobSpec>, Vec<Option<TrainingRun>>) {
    let (default_market, markets) = markets(cx, raw, catalog);
    let accel = accelerators();
    let mut names = BTreeSet::new();
    let mut jobs = Vec::new();
    let mut runs = Vec::new();
    for (i, j) in raw.training_jobs.iter().enumerate() {
        let at = path("training_job").index(i);
        if !names.insert(j.name.as_str()) {
            cx.err(
                &at.key("name"),
                format!(
                    "duplicate training job name {}",
                    crate::diag::quote(&j.name)
                ),
            );
        }
        let itype = catalog.types.get(&j.instance_type);
        if itype.is_none() {
            cx.unknown(
                &at.key("instance_type"),
                "instance type",
                &j.instance_type,
                catalog.names(),
            );
        }
        let count = j.instance_count.unwrap_or(1);
        if !(1..=1000).contains(&count) {
            cx.err(
                &at.key("instance_count"),
                format!("instance_count must be between 1 and 1000, got {count}"),
            );
        }
        let count = count.clamp(1, 1000) as u32;
        let spot = j.spot.unwrap_or(false);
        let max_run = j.max_run.map_or(DEFAULT_MAX_RUN, |d| d.0);
        if max_run.is_zero() {
            cx.err(&at.key("max_run"), "max_run must be longer than zero");
        }
        match (spot, j.max_wait) {
            (true, None) => cx.err(
                &at.key("max_wait"),
                format!("a spot job needs `max_wait`, at least max_run ({}); try max_wait = \"{}\"", human(max_run), human(max_run * 2)),
            ),
            (true, Some(w)) if w.0 < max_run => cx.err(
                &at.key("max_wait"),
                format!(
                    "max_wait ({}) must be at least max_run ({}): it covers the waits for spot capacity plus the training itself",
                    human(w.0),
                    human(max_run)
                ),
            ),
            (false, Some(_)) => cx.err(
                &at.key("max_wait"),
                "max_wait only applies to spot jobs; set spot = true or drop it",
            ),
            _ => {}
        }
        let efficiency = j.parallel_efficiency.unwrap_or(0.9);
        if !(efficiency > 0.0 && efficiency <= 1.0) {
            cx.err(
                &at.key("parallel_efficiency"),
                format!("parallel_efficiency must be above 0 and at most 1, got {efficiency}"),
            );
        }
        let run = build_run(cx, j, &at);
        let work = match (&j.work, itype) {
            (Some(_), Some(t)) => build_work(cx, j, t, count, efficiency, &accel, &at),
            (Some(_), None) => None,
            (None, _) if run.is_some() && clock == ClockKind::Wall => Some(TrainingWork::External),
            (None, _) => {
                cx.err(&at.key("work"), if run.is_some() {
                    "a virtual-clock run models the job's time: add work = { steps, step_time } (or params and tokens); the command runs on the wall clock"
                } else {
                    "missing `work`: give { steps = N, step_time = \"1.2s\" } (step time on one reference GPU) or { params = \"7B\", tokens = \"140B\" }"
                });
                None
            }
        };
        // A real process on the wall clock decides when it is done.
        let work = match (work, &run) {
            (Some(_), Some(_)) if clock == ClockKind::Wall => Some(TrainingWork::External),
            (w, _) => w,
        };
        let (Some(t), Some(work)) = (itype, work) else {
            runs.push(run);
            continue;
        };
        if let Some(c) = j.checkpoint_every.filter(|c| c.0.is_zero()) {
            let _ = c;
            cx.err(
                &at.key("checkpoint_every"),
                "checkpoint_every must be longer than zero (leave it out for no checkpoints)",
            );
        }
        jobs.push(TrainingJobSpec {
            name: j.name.clone(),
            instance: InstanceTypeSpec {
                name: t.name.clone(),
                price_per_hour: t.price_per_hour,
                provisioning_min: t.provisioning_min,
                provisioning_max: t.provisioning_max,
                vcpus: t.vcpus,
                gpus: t.accelerator.as_ref().map_or(0, |a| a.count),
            },
            instance_count: count,
            spot,
            max_run,
            max_wait: j.max_wait.map(|d| d.0),
            checkpoint_every: j.checkpoint_every.map(|d| d.0),
            checkpoint_cost: j.checkpoint_cost.map_or(Duration::from_secs(30), |d| d.0),
            checkpoint_on_notice: j.checkpoint_on_notice.unwrap_or(false),
            download: j.download.map_or(Duration::from_secs(120), |d| d.0),
            upload: j.upload.map_or(Duration::from_secs(60), |d| d.0),
            stop_grace: Duration::from_secs(120),
            work,
            market: markets
                .get(&t.name)
                .cloned()
                .unwrap_or_else(|| default_market.clone()),
        });
        runs.push(run);
    }
    (jobs, runs)
}

/// A duration as a scenario would write it: `"2d"`, `"36h"`, `"90s"`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    if d.subsec_nanos() != 0 {
        format!("{}s", d.as_secs_f64())
    } else if s % 86_400 == 0 && s > 0 {
        format!("{}d", s / 86_400)
    } else if s % 3600 == 0 && s > 0 {
        format!("{}h", s / 3600)
    } else if s % 60 == 0 && s > 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// Time one step takes on the job's fleet, from a step time on one
/// reference GPU, or from 6·params·tokens FLOPs spread over `steps`.
fn build_work(
    cx: &mut Cx<'_>,
    j: &RawTrainingJob,
    t: &InstanceType,
    count: u32,
    efficiency: f64,
    accel: &Accelerators,
    at: &FieldPath,
) -> Option<TrainingWork> {
    let w = j.work.as_ref()?;
    let at = at.key("work");
    let Some(a) = &t.accelerator else {
        cx.err(&at, format!("instance type {} has no accelerator; training work is modelled on GPUs (pick an ml.g*/ml.p* type)", crate::diag::quote(&t.name)));
        return None;
    };
    let Some(&peak) = accel.peak.get(&a.kind) else {
        cx.err(
            &at,
            format!(
                "no peak throughput for accelerator \"{}\" in fixtures/accelerators.toml",
                a.kind
            ),
        );
        return None;
    };
    // Data-parallel efficiency applies per doubling of instances.
    let eff = efficiency.clamp(1e-3, 1.0).powf(f64::from(count).log2());
    let gpus = f64::from(a.count * count);
    let fleet = peak * gpus * eff; // effective TFLOPS of the fleet
    let steps_mode = w.steps.is_some() || w.step_time.is_some();
    let flops_mode = w.params.is_some() || w.tokens.is_some() || w.utilization.is_some();
    if steps_mode && flops_mode && w.step_time.is_some() {
        cx.err(&at, "give either { steps, step_time } or { params, tokens[, utilization, steps] }, not both");
        return None;
    }
    if w.steps == Some(0) {
        cx.err(&at.key("steps"), "steps must be at least 1");
        return None;
    }
    if let Some(step_time) = w.step_time {
        let Some(steps) = w.steps else {
            cx.err(
                &at,
                "work with `step_time` needs `steps`, like { steps = 10000, step_time = \"1.2s\" }",
            );
            return None;
        };
        let secs = step_time.0.as_secs_f64() * accel.reference / fleet;
        return Some(TrainingWork::Modelled {
            steps,
            step_time: gameday_core::time::secs_to_duration(secs),
        });
    }
    let (Some(params), Some(tokens)) = (w.params, w.tokens) else {
        cx.err(&at, "work needs `step_time` and `steps`, or `params` and `tokens` (like { params = \"7B\", tokens = \"140B\" })");
        return None;
    };
    let (params, tokens) = (params.0, tokens.0);
    let util = w.utilization.unwrap_or(0.4);
    if !(util > 0.0 && util <= 1.0) || params <= 0.0 || tokens <= 0.0 {
        cx.err(&at, format!("params and tokens must be positive and utilization in (0, 1], got params {params}, tokens {tokens}, utilization {util}"));
        return None;
    }
    let steps = w.steps.unwrap_or(10_000);
    let total = 6.0 * params * tokens / (fleet * 1e12 * util);
    if !total.is_finite() || total > 1e10 {
        cx.err(
            &at,
            format!(
                "this work takes {total:.3e} seconds on {count} x {}: far beyond any max_run",
                t.name
            ),
        );
        return None;
    }
    Some(TrainingWork::Modelled {
        steps,
        step_time: gameday_core::time::secs_to_duration(total / steps as f64),
    })
}

/// The real process a job runs on the wall clock, if any.
fn build_run(cx: &mut Cx<'_>, j: &RawTrainingJob, at: &FieldPath) -> Option<TrainingRun> {
    let program = match (&j.command, &j.trainer) {
        (Some(_), Some(_)) => {
            cx.err(&at.key("trainer"), "give `command` or `trainer`, not both");
            return None;
        }
        (Some(c), None) if c.is_empty() => {
            cx.err(&at.key("command"), "command is empty; give the program and its arguments, like [\"python3\", \"train.py\"]");
            return None;
        }
        (Some(c), None) => TrainingProgram::Command(c.clone()),
        (None, Some(t)) if !TRAINERS.contains(&t.as_str()) => {
            cx.unknown(&at.key("trainer"), "built-in trainer", t, TRAINERS);
            return None;
        }
        (None, Some(t)) => TrainingProgram::Builtin(t.clone()),
        (None, None) => {
            if !j.channels.is_empty() || !j.hyperparameters.is_empty() {
                let what = if j.channels.is_empty() {
                    "hyperparameters"
                } else {
                    "channels"
                };
                cx.err(
                    &at.key(what),
                    format!("`{what}` are for a real training process; add `command` or `trainer`"),
                );
            }
            return None;
        }
    };
    let mut hyperparameters = BTreeMap::new();
    for (k, v) in &j.hyperparameters {
        let s = match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            _ => {
                cx.err(&at.key("hyperparameters").key(k), "a hyperparameter is a string, number or boolean (SageMaker passes them as strings)");
                continue;
            }
        };
        hyperparameters.insert(k.clone(), s);
    }
    let mut channels = BTreeMap::new();
    for (name, file) in &j.channels {
        let p = cx.base_dir.join(file);
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            || name.is_empty()
        {
            cx.err(
                &at.key("channels").key(name),
                "a channel name uses letters, digits, '_' and '-'",
            );
        } else if !p.exists() {
            cx.err(
                &at.key("channels").key(name),
                format!("channel data \"{}\" does not exist", p.display()),
            );
        } else {
            channels.insert(name.clone(), p);
        }
    }
    Some(TrainingRun {
        program,
        hyperparameters,
        channels,
    })
}

/// A `spot_interruption`: of one job, or of every job on an instance
/// type; each must be a spot job.
pub(super) fn build_fault(
    cx: &mut Cx<'_>,
    f: &RawFault,
    at: &FieldPath,
    raw: &RawScenario,
) -> Option<TrainingFaultSpec> {
    let kind = f.kind.as_str();
    let fields = f.fields_set(&["job", "instance_type"]);
    let before = cx.diags.len();
    cx.only(at, "fault kind", kind, &fields, &[]);
    let jobs = match job_or_type(cx, f, at, raw, "`job` or `instance_type`")? {
        Hit::Job(i) => vec![i],
        Hit::Type(ty) => {
            let jobs: Vec<usize> = raw
                .training_jobs
                .iter()
                .enumerate()
                .filter(|(_, j)| j.instance_type == ty)
                .map(|(i, _)| i)
                .collect();
            if jobs.is_empty() {
                cx.unknown(
                    &at.key("instance_type"),
                    "instance type of a training job",
                    ty,
                    raw.training_jobs.iter().map(|j| j.instance_type.as_str()),
                );
                return None;
            }
            jobs
        }
    };
    for &j in &jobs {
        if raw.training_jobs[j].spot != Some(true) {
            let name = &raw.training_jobs[j].name;
            cx.err(
                at,
                format!(
                    "training job \"{name}\" is not a spot job; a spot_interruption cannot hit it"
                ),
            );
        }
    }
    if cx.diags.len() > before {
        return None;
    }
    Some(TrainingFaultSpec { at: f.at.0, jobs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_fixtures_parse_and_cover_the_gpu_catalog() {
        let a = accelerators();
        assert_eq!(a.reference, 125.0);
        let cat = Catalog::builtin();
        for t in cat.types.values() {
            if let Some(acc) = &t.accelerator {
                assert!(a.peak.contains_key(&acc.kind), "{}", acc.kind);
            }
        }
        let file: SpotFile = toml::from_str(SPOT_MARKET).unwrap();
        for m in &file.spot_market {
            let ty = m.instance_type.as_deref().unwrap();
            assert!(cat.types.contains_key(ty), "{ty}");
            assert!(m.source.is_some());
        }
    }

    #[test]
    fn band_to_mtbi() {
        // 25% a month: -ln(0.75) = 0.2877 per 30 days → 104 days.
        let d = mtbi_of_monthly(0.25).as_secs_f64() / 86_400.0;
        assert!((d - 104.28).abs() < 0.01, "{d}");
    }
}
