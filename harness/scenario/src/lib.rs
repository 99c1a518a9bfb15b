//! gameday scenario files.
//!
//! Loading happens in phases, as vector and ripgrep load configuration:
//!
//! 1. [`raw`]: serde structs with `deny_unknown_fields` (typos, wrong
//!    types and bad durations are caught here, with their position);
//! 2. [`validate`]: a semantic pass that collects *every* problem
//!    (references between sections, ranges, which fields apply to which
//!    kind) and lowers the file into the core's specs.
//!
//! Every [`Diagnostic`] names `file:line:col`, the field path, and for a
//! typo the nearest valid name. [`catalog`] holds the instance types.
//!
//! # Module map
//!
//! - [`units`]: duration and size strings.
//! - [`diag`]: diagnostics, field paths and the span locator.
//! - [`raw`]: the file as written.
//! - [`catalog`]: instance types and prices (`fixtures/instances.toml`).
//! - [`validate`]: the semantic pass.
//! - [`spot_prices`]: EC2 spot prices into a spot-market file.
//! - [`reference`]: `docs/scenario.md`, generated from [`raw`].

pub mod catalog;
mod collect;
pub mod diag;
pub mod raw;
pub mod reference;
pub mod spot_prices;
pub mod sweep;
pub mod units;
pub mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gameday_core::spec::{PlatformSpec, WorkloadSpec};
use gameday_core::training::TrainingSpec;
use gameday_report::SloSpec;

pub use catalog::Catalog;
pub use diag::Diagnostic;
use diag::Locator;
pub use raw::{ClockKind, TargetKind};

/// A checked scenario, ready to run.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The file it came from, as the user named it.
    pub file: String,
    /// Scenario name.
    pub name: String,
    /// What it shows.
    pub description: String,
    /// Master seed.
    pub seed: u64,
    /// Which clock drives it.
    pub clock: ClockKind,
    /// What traffic goes to.
    pub target: TargetKind,
    /// Target URL, where one was given.
    pub endpoint_url: Option<String>,
    /// AWS region, where one was given.
    pub region: Option<String>,
    /// SDK attempts per call for the `sagemaker` target (1 = no retries).
    pub max_attempts: u32,
    /// How long traffic is sent.
    pub duration: Duration,
    /// Timeline row width.
    pub timeline_interval: Duration,
    /// Wall clock only: timeline compression.
    pub time_scale: f64,
    /// The platform.
    pub platform: PlatformSpec,
    /// Training jobs and training faults.
    pub training: TrainingSpec,
    /// How each training job runs on the wall clock (same order as
    /// `training.jobs`); `None`: its work is modelled.
    pub training_runs: Vec<Option<TrainingRun>>,
    /// The traffic.
    pub workloads: Vec<WorkloadSpec>,
    /// Each workload's request payload (same order as `workloads`).
    pub payloads: Vec<Payload>,
    /// Built-in real models by model name (wall clock).
    pub real_models: BTreeMap<String, RealModel>,
    /// Model-server commands by model name (wall clock; the container
    /// contract, one process per instance).
    pub model_servers: BTreeMap<String, Vec<String>>,
    /// The model folders of multi-model variants whose models are files
    /// (`models.dir`), by (endpoint, variant) index: a multi-model
    /// container loads model `name` from `folder/name`.
    pub model_folders: BTreeMap<(usize, usize), std::path::PathBuf>,
    /// The objectives.
    pub slo: SloSpec,
    /// `[sweep]`, for `gameday sweep`.
    pub sweep: Option<sweep::SweepSpec>,
    /// How much worse than a `--baseline` report a run may be.
    pub baseline_tolerances: gameday_report::baseline::Tolerances,
    /// The instance catalog in force (built-in plus overrides).
    pub catalog: Catalog,
}

/// A workload's request payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    /// `Content-Type`.
    pub content_type: String,
    /// Bytes sent with every request.
    pub body: Vec<u8>,
}

/// A built-in real model named by a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealModel {
    /// `"logistic_regression"`.
    pub kind: String,
    /// Its weights file.
    pub weights: PathBuf,
}

/// A real training process (wall clock).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrainingRun {
    /// What to run.
    pub program: TrainingProgram,
    /// `hyperparameters.json`, values as strings.
    pub hyperparameters: BTreeMap<String, String>,
    /// Data channels: name → file or folder.
    pub channels: BTreeMap<String, PathBuf>,
}

/// The program a training job runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrainingProgram {
    /// A user's command and its arguments.
    Command(Vec<String>),
    /// A built-in trainer (`gameday trainer KIND`).
    Builtin(String),
}

/// Why a scenario could not be loaded. Maps to exit code 2.
#[derive(Debug)]
pub enum ScenarioError {
    /// The file could not be read.
    Read {
        /// The path.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file has problems; every one found is listed.
    Invalid(Vec<Diagnostic>),
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScenarioError::Read { file, source } => {
                write!(f, "{file}: cannot read scenario: {source}")
            }
            ScenarioError::Invalid(diags) => {
                for (i, d) in diags.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{d}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ScenarioError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ScenarioError::Read { source, .. } => Some(source),
            ScenarioError::Invalid(_) => None,
        }
    }
}

/// Reads and checks a scenario file. Relative paths inside it (traces,
/// histograms, catalogs) are resolved against the file's folder.
pub fn load(file: &Path) -> Result<Scenario, ScenarioError> {
    let name = file.display().to_string();
    let src = std::fs::read_to_string(file).map_err(|source| ScenarioError::Read {
        file: name.clone(),
        source,
    })?;
    let base = file.parent().unwrap_or(Path::new("."));
    parse(&name, &src, base)
}

/// Checks scenario text. `file` is used in diagnostics; `base_dir`
/// resolves relative paths.
pub fn parse(file: &str, src: &str, base_dir: &Path) -> Result<Scenario, ScenarioError> {
    let loc = Locator::new(file, src);
    let (raw, mut diags) = collect::raw_scenario(&loc, src).map_err(ScenarioError::Invalid)?;
    if diags.is_empty() {
        return validate::validate(raw, &loc, base_dir, file).map_err(ScenarioError::Invalid);
    }
    // Past a misspelt or bad entry the semantic pass would judge a file
    // the user did not write (a `duraton` makes every fault late): the
    // file's serde-level problems are listed alone, every one of them.
    diags.sort_by_key(|d| (d.line, d.col));
    Err(ScenarioError::Invalid(diags))
}

/// Turns a TOML or serde error into a diagnostic with a field path and, for
/// an unknown field or value, a suggestion from serde's list of expected
/// names.
pub(crate) fn toml_error(loc: &Locator<'_>, e: &toml::de::Error) -> Diagnostic {
    let span = e.span().unwrap_or(0..0);
    let message = diag::shorten_quoted(e.message().trim());
    let mut field = loc.path_at(span.start);
    let mut suggestion = None;
    for prefix in ["unknown field `", "unknown variant `"] {
        if let Some(rest) = message.strip_prefix(prefix) {
            if let Some((name, tail)) = rest.split_once('`') {
                let expected: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
                suggestion = diag::suggest(name, expected);
            }
        }
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        if let Some((name, _)) = rest.split_once('`') {
            // An empty span means the document root is missing the field.
            let parent = if span.is_empty() {
                diag::FieldPath::default()
            } else {
                loc.path_of(span.clone())
            };
            field = parent.key(name);
        }
    }
    let mut d = loc.at_span(span, field.to_string(), message);
    d.suggestion = suggestion;
    d
}

/// The JSON Schema of a scenario file (as TOML maps onto JSON), derived
/// from the structs it is parsed into: editors with TOML schema support
/// can check a scenario as it is written. What the schema cannot say
/// (cross references, ranges that depend on other fields) the semantic
/// pass still reports with `file:line:col`.
pub fn scenario_schema() -> serde_json::Value {
    let mut s = schemars::schema_for!(raw::RawScenario);
    s.insert("title".into(), "gameday scenario".into());
    s.to_value()
}
