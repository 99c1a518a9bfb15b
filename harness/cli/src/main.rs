//! The `gameday` command-line tool.
//!
//! Exit codes (all subcommands): 0 ran and every SLO held; 1 an SLO was
//! violated or a baseline regression was found; 2 invalid input (usage, an
//! unreadable or invalid scenario); 3 runtime failure (output not writable,
//! run interrupted, internal error).

mod args;
mod output;
mod plan;
mod prices;
mod progress;
mod run;
mod serve;
mod sweep;
mod wall;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

/// jemalloc: requests are allocated on one runtime thread and freed on
/// another, which glibc's malloc serialises on its arena locks.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// An error that is the user's input, not the tool's fault: exit code 2.
#[derive(Debug)]
pub struct InvalidInput(pub String);

impl std::fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidInput {}

/// Exit codes, as documented in DESIGN.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Every SLO held.
    Pass = 0,
    /// An SLO failed or a baseline regressed.
    Fail = 1,
    /// Invalid input.
    Invalid = 2,
    /// Runtime failure.
    Runtime = 3,
}

fn exit_for(err: &anyhow::Error) -> Exit {
    let invalid = err
        .chain()
        .any(|c| c.is::<gameday_scenario::ScenarioError>() || c.is::<InvalidInput>());
    if invalid {
        Exit::Invalid
    } else {
        Exit::Runtime
    }
}

fn main() -> ExitCode {
    // clap exits with 2 on usage errors, as the contract asks.
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(a) => run::run(a),
        Command::Validate(a) => run::validate(a),
        Command::Serve(a) => run::serve(a),
        Command::Plan(a) => plan::plan(a),
        Command::Compare(a) => run::compare_reports(a),
        Command::Sweep(a) => sweep::sweep(a),
        Command::Prices(a) => prices::prices(a),
        Command::Schema(a) => {
            let schema = match a.which {
                args::SchemaKind::Scenario => gameday_scenario::scenario_schema(),
                args::SchemaKind::Report => gameday_report::report_schema(),
            };
            serde_json::to_string_pretty(&schema)
                .map(|s| println!("{s}"))
                .map(|()| Exit::Pass)
                .map_err(anyhow::Error::from)
        }
        Command::ModelServer(a) => match (&a.multi_model, &a.weights) {
            (Some(dir), _) => gameday_live::mme_server::run(dir, a.memory),
            (None, Some(w)) => gameday_live::container::run_builtin(w),
            (None, None) => unreachable!("clap requires one"),
        }
        .map(|()| Exit::Pass)
        .map_err(|e| anyhow::anyhow!("model server: {e}")),
        Command::Trainer(a) => {
            // A training script's exit status is its own (143 after SIGTERM).
            match gameday_live::training::trainer::run_builtin(&a.kind) {
                Ok(code) => std::process::exit(code),
                Err(e) => {
                    eprintln!("trainer: {e}");
                    std::process::exit(1);
                }
            }
        }
    };
    let code = match result {
        Ok(code) => code,
        Err(err) => {
            let code = exit_for(&err);
            match err.downcast_ref::<gameday_scenario::ScenarioError>() {
                // Diagnostics are complete on their own, one per line.
                Some(e) => eprintln!("{e}"),
                None => eprintln!("error: {err:#}"),
            }
            code
        }
    };
    ExitCode::from(code as u8)
}
