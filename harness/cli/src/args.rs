//! Command-line arguments. These names are a public interface: extend them,
//! never rename them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Benchmark, load-test and break SageMaker-style ML platforms on purpose.
#[derive(Debug, Parser)]
#[command(name = "gameday", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario and write its reports.
    Run(RunArgs),
    /// Check scenario files without running them.
    Validate(ValidateArgs),
    /// Serve a scenario's embedded platform over HTTP (SageMaker Runtime's
    /// protocol) until Ctrl-C; prints "listening on http://ADDR".
    Serve(ServeArgs),
    /// Sweep a training job's checkpoint interval over many seeds: expected
    /// cost and completion time per interval, next to Young/Daly.
    Plan(PlanArgs),
    /// Compare two report.json side by side against the baseline
    /// tolerances; exits 1 when the second regressed from the first.
    Compare(CompareArgs),
    /// Run a scenario for every combination of its [sweep] grid, each over
    /// several seeds, in parallel on the virtual clock: latency, SLOs met,
    /// cost per hour and per million inferences per configuration, and the
    /// cheapest that meets every objective on every seed (exit 1 if none).
    Sweep(SweepArgs),
    /// Fetch EC2 spot prices (DescribeSpotPriceHistory through aws-sdk-ec2)
    /// and write a spot-market file a scenario loads with `[scenario]
    /// spot_market`: the spot discount per instance type and zone. Needs
    /// the `ec2` feature: `cargo run --release --features ec2 -- prices …`.
    Prices(PricesArgs),
    /// Print the JSON Schema of scenario files or of report.json (derived
    /// from the types gameday reads and writes; checked in under
    /// schemas/).
    Schema(SchemaArgs),
    /// Run a built-in training script under SageMaker's training contract
    /// (what a `trainer = "..."` job runs; needs the SM_* environment).
    Trainer(TrainerArgs),
    /// Serve the built-in logistic regression under SageMaker's container
    /// contract (GET /ping, POST /invocations on SAGEMAKER_BIND_TO_PORT,
    /// default 8080) until SIGTERM: a model server a scenario's `command`
    /// can name. With --multi-model DIR, a multi-model container instead
    /// (POST /models, DELETE /models/{name}, POST /models/{name}/invoke)
    /// that loads the weights files in DIR.
    ModelServer(ModelServerArgs),
}

/// `gameday prices`.
#[derive(Debug, Args)]
pub struct PricesArgs {
    /// AWS region.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Instance types, EC2 or SageMaker names (p3.2xlarge or
    /// ml.p3.2xlarge; repeat or separate with commas).
    #[arg(long, value_delimiter = ',', required = true)]
    pub instance_types: Vec<String>,
    /// Send the calls here instead of the region's EC2 endpoint (the
    /// embedded platform under `gameday serve`, a proxy). The SDK also
    /// reads AWS_ENDPOINT_URL_EC2.
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// How far back to average the prices, like "7d" or "12h".
    #[arg(long, default_value = "7d")]
    pub window: String,
    /// End of the window, an ISO 8601 UTC time like 2026-12-01T00:00:00Z
    /// (default: now).
    #[arg(long)]
    pub until: Option<String>,
    /// Product description.
    #[arg(long, default_value = "Linux/UNIX")]
    pub product: String,
    /// EC2 on-demand prices to compare against, in the format of
    /// fixtures/ec2-on-demand.toml (default: that file, built in).
    #[arg(long)]
    pub on_demand: Option<PathBuf>,
    /// Results per page (EC2 allows 5 to 1000; default: EC2's).
    #[arg(long)]
    pub page_size: Option<i32>,
    /// Where to write the spot-market file (default:
    /// spot-market-<region>.toml).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `gameday sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The scenario file (with a [sweep] section).
    pub scenario: PathBuf,
    /// Seeds per configuration, overriding [sweep] seeds.
    #[arg(long)]
    pub seeds: Option<u64>,
    /// Worker threads (default: one per core). The result does not
    /// depend on it.
    #[arg(long)]
    pub threads: Option<std::num::NonZeroUsize>,
    /// Also find, for each configuration, the highest arrival rate at which
    /// the objectives still hold on every seed (every workload's rate
    /// scaled together; a search to 0.5%).
    #[arg(long)]
    pub max_rate: bool,
    /// With --max-rate: judge only these objectives (e.g. latency_p99;
    /// repeat or separate with commas). Default: every objective.
    #[arg(long, value_delimiter = ',')]
    pub slo: Vec<String>,
    /// Output folder for sweep.json, sweep.md and sweep.html (default:
    /// reports/sweeps/<scenario-name>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `gameday schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema.
    #[arg(value_enum)]
    pub which: SchemaKind,
}

/// What `gameday schema` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// A scenario file (TOML, as it maps onto JSON).
    Scenario,
    /// `report.json`.
    Report,
}

/// `gameday model-server`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("serves").required(true).args(["weights", "multi_model"])))]
pub struct ModelServerArgs {
    /// The model's weights (JSON, as in fixtures/models/).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Serve as a multi-model container over the weights files in DIR.
    #[arg(long, value_name = "DIR")]
    pub multi_model: Option<PathBuf>,
    /// Multi-model: memory for loaded models ("64KB", "2GiB"); a load
    /// that would not fit answers 507. Default: no limit.
    #[arg(long, requires = "multi_model", value_parser = parse_size_arg)]
    pub memory: Option<u64>,
}

fn parse_size_arg(s: &str) -> Result<u64, String> {
    gameday_scenario::units::parse_size(s)
}

/// `gameday trainer`.
#[derive(Debug, Args)]
pub struct TrainerArgs {
    /// Which built-in trainer: `logistic_regression`.
    pub kind: String,
}

/// `gameday plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// The training job to plan (default: the first).
    #[arg(long)]
    pub job: Option<String>,
    /// Intervals to try, comma-separated (default: 9 from 1/4 to 4 times
    /// the Young/Daly interval); "never" is always added.
    #[arg(long)]
    pub intervals: Option<String>,
    /// Seeds per interval (the same seeds for every interval).
    #[arg(long, default_value_t = 200)]
    pub seeds: u64,
    /// Output folder for plan.json and plan.md (default:
    /// reports/plans/<scenario-name>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `gameday serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: std::net::SocketAddr,
    /// Master seed, overriding the scenario's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Compress the scenario's timeline (fault times, provisioning) this
    /// many times.
    #[arg(long)]
    pub time_scale: Option<f64>,
    /// Where the game day's report goes on stop (default:
    /// reports/runs/<scenario-name>/<run-id>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The control API's token (default: a random one, printed at start).
    #[arg(long, value_name = "TOKEN")]
    pub control_token: Option<String>,
    /// Seconds a connection may take to send a request head, counted from
    /// its start or its last answer (slow clients, idle keep-alive).
    #[arg(long, value_name = "SECS", default_value_t = 30.0, value_parser = positive)]
    pub header_timeout: f64,
    /// Seconds a request body may take to arrive.
    #[arg(long, value_name = "SECS", default_value_t = 30.0, value_parser = positive)]
    pub body_timeout: f64,
    /// Most connections open at once; past it a new one gets 503
    /// ServiceUnavailable (kept below the open-file limit).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_connections: usize,
    /// Print no event lines, only errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// A finite number above 0, at most a day.
fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 && x <= 86_400.0 => Ok(x),
        _ => Err(format!(
            "expected seconds above 0 and at most 86400, got {s:?}"
        )),
    }
}

/// Which clock drives a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ClockArg {
    /// Discrete-event simulation (deterministic, fast).
    Virtual,
    /// Real time against real HTTP.
    Wall,
}

/// What traffic is sent to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    /// The embedded platform.
    Local,
    /// Any HTTP server with SageMaker's path layout.
    Http,
    /// Real SageMaker endpoints.
    Sagemaker,
}

/// `gameday run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Output folder (default: reports/runs/<scenario-name>/<run-id>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Master seed, overriding the scenario's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Clock, overriding the scenario's.
    #[arg(long, value_enum)]
    pub clock: Option<ClockArg>,
    /// Target, overriding the scenario's.
    #[arg(long, value_enum)]
    pub target: Option<TargetArg>,
    /// Target URL (http target, or a SageMaker endpoint-URL override).
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// AWS region for the sagemaker target.
    #[arg(long)]
    pub region: Option<String>,
    /// Wall clock: compress the scenario's timeline this many times.
    #[arg(long)]
    pub time_scale: Option<f64>,
    /// Wall clock: load-generator threads (default: half the cores, at
    /// least one, leaving the rest to the target).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub load_threads: Option<u16>,
    /// Compare with this earlier report.json; a regression exits 1.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// How much worse than the baseline the run may be.
    #[command(flatten)]
    pub tolerance: ToleranceArgs,
    /// Append a compact Markdown summary (verdict, objectives, baseline)
    /// to this file; default: $GITHUB_STEP_SUMMARY when it is set, so a
    /// GitHub Actions job shows it.
    #[arg(long, value_name = "PATH")]
    pub summary_md: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// How much worse than a baseline a report may be (`run --baseline`,
/// `compare`).
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct ToleranceArgs {
    /// Baseline: how much p99 may grow, percent (default 10, or the
    /// scenario's `[baseline] latency_p99_pct`).
    #[arg(long, value_name = "PCT", value_parser = non_negative)]
    pub max_p99_increase_pct: Option<f64>,
    /// Baseline: how much the error rate may grow, absolute (default
    /// 0.001 = 0.1 points, or `[baseline] error_rate_abs`).
    #[arg(long, value_name = "X", value_parser = non_negative)]
    pub max_error_rate_increase: Option<f64>,
    /// Baseline: how much the total cost may grow, percent (default 5, or
    /// `[baseline] cost_pct`).
    #[arg(long, value_name = "PCT", value_parser = non_negative)]
    pub max_cost_increase_pct: Option<f64>,
}

impl ToleranceArgs {
    /// `base` with the flags given applied over it.
    pub fn over(
        self,
        mut t: gameday_report::baseline::Tolerances,
    ) -> gameday_report::baseline::Tolerances {
        if let Some(x) = self.max_p99_increase_pct {
            t.latency_p99_pct = x;
        }
        if let Some(x) = self.max_error_rate_increase {
            t.error_rate_abs = x;
        }
        if let Some(x) = self.max_cost_increase_pct {
            t.cost_pct = x;
        }
        t
    }
}

/// `gameday compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline report.json (the earlier run).
    pub baseline: PathBuf,
    /// The report.json to judge against it.
    pub candidate: PathBuf,
    /// The tolerances (defaults: 10% p99, 0.001 error rate, 5% cost).
    #[command(flatten)]
    pub tolerance: ToleranceArgs,
}

/// A finite number at least 0.
fn non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(format!("expected a number at least 0, got {s:?}")),
    }
}

/// `gameday validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
}
