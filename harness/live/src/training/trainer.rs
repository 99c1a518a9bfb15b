//! The built-in trainer (`gameday trainer logistic_regression`): a small,
//! deterministic logistic-regression trainer that follows SageMaker's
//! training contract, so the spot path runs out of the box.
//!
//! It reads the `train` channel (a CSV whose first column is the 0/1
//! label), its hyperparameters from `SM_HPS`, and trains by mini-batch
//! gradient descent where step `k` always sees the same rows: the model
//! after `N` steps does not depend on how the run was cut up. Every
//! `checkpoint_every` steps it writes `checkpoints/checkpoint.json`
//! atomically (weights as exact bit patterns) and resumes from it on a
//! restart. On SIGTERM (the spot notice) it checkpoints and exits 143.
//! At the end it writes `model/model.json`.
//!
//! Hyperparameters (strings, as SageMaker passes them): `steps` (200),
//! `batch_size` (64), `learning_rate` (0.1), `checkpoint_every` (20),
//! `step_sleep_ms` (0: pace the run so interruptions land mid-training),
//! `ignore_checkpoints` (false: a deliberately broken trainer that always
//! starts from step 0).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Exit status after SIGTERM (128 + 15), as a shell reports it.
pub const EXIT_TERMINATED: i32 = 143;

/// Why the trainer could not run.
#[derive(Debug, thiserror::Error)]
pub enum TrainerError {
    /// A required environment variable is missing.
    #[error("{0} is not set: run me under the training contract (gameday sets it)")]
    Env(&'static str),
    /// A hyperparameter does not parse.
    #[error("hyperparameter {name}: {value:?} is not a valid {what}")]
    Hyperparameter {
        /// Name.
        name: String,
        /// Value.
        value: String,
        /// What was expected.
        what: &'static str,
    },
    /// The data is not usable.
    #[error("training data: {0}")]
    Data(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

static TERMINATED: AtomicBool = AtomicBool::new(false);

#[derive(Serialize, Deserialize)]
struct Checkpoint {
    step: u64,
    /// `f64::to_bits` of bias then weights, hex: restored exactly.
    bits: Vec<String>,
}

#[derive(Serialize)]
struct ModelFile<'a> {
    kind: &'a str,
    steps: u64,
    bias: f64,
    weights: &'a [f64],
}

struct Hps(BTreeMap<String, String>);

impl Hps {
    fn get<T: std::str::FromStr>(
        &self,
        name: &str,
        default: T,
        what: &'static str,
    ) -> Result<T, TrainerError> {
        match self.0.get(name) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| TrainerError::Hyperparameter {
                name: name.into(),
                value: v.clone(),
                what,
            }),
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TrainerError + '_ {
    move |source| TrainerError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn env(name: &'static str) -> Result<String, TrainerError> {
    std::env::var(name).map_err(|_| TrainerError::Env(name))
}

/// Rows of `(label, features)` from the first CSV in `dir` (or `dir`
/// itself if it is a file).
fn load_rows(dir: &Path) -> Result<Vec<(f64, Vec<f64>)>, TrainerError> {
    let file = if dir.is_file() {
        dir.to_path_buf()
    } else {
        let mut csvs: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io(dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "csv"))
            .collect();
        csvs.sort();
        csvs.into_iter()
            .next()
            .ok_or_else(|| TrainerError::Data(format!("no .csv file in {}", dir.display())))?
    };
    let text = std::fs::read_to_string(&file).map_err(io(&file))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let nums: Result<Vec<f64>, _> = cells.iter().map(|c| c.parse::<f64>()).collect();
        match nums {
            Ok(v) if v.len() >= 2 => rows.push((v[0], v[1..].to_vec())),
            _ if i == 0 => {} // header
            _ => {
                return Err(TrainerError::Data(format!(
                    "{}:{}: not a row of numbers",
                    file.display(),
                    i + 1
                )))
            }
        }
    }
    let width = rows.first().map(|r| r.1.len()).unwrap_or(0);
    if rows.is_empty() || rows.iter().any(|r| r.1.len() != width) {
        return Err(TrainerError::Data(format!(
            "{}: no rows, or rows of different widths",
            file.display()
        )));
    }
    Ok(rows)
}

fn write_atomic(path: &Path, text: &str) -> Result<(), TrainerError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

fn save_checkpoint(path: &Path, step: u64, params: &[f64]) -> Result<(), TrainerError> {
    let c = Checkpoint {
        step,
        bits: params
            .iter()
            .map(|x| format!("{:016x}", x.to_bits()))
            .collect(),
    };
    write_atomic(path, &serde_json::to_string(&c).expect("serialisable"))?;
    println!("checkpoint step={step}");
    Ok(())
}

fn load_checkpoint(path: &Path, width: usize) -> Option<(u64, Vec<f64>)> {
    let c: Checkpoint = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    let params: Option<Vec<f64>> = c
        .bits
        .iter()
        .map(|b| u64::from_str_radix(b, 16).ok().map(f64::from_bits))
        .collect();
    params.filter(|p| p.len() == width + 1).map(|p| (c.step, p))
}

/// Runs the built-in trainer `kind`; returns the process exit code.
pub fn run_builtin(kind: &str) -> Result<i32, TrainerError> {
    if kind != "logistic_regression" {
        return Err(TrainerError::Data(format!(
            "unknown built-in trainer {kind:?} (known: logistic_regression)"
        )));
    }
    // SIGTERM (and SIGINT) set a flag the training loop checks per step.
    ctrlc::set_handler(|| TERMINATED.store(true, Ordering::SeqCst))
        .map_err(|e| TrainerError::Data(format!("cannot handle SIGTERM: {e}")))?;
    let model_dir = PathBuf::from(env("SM_MODEL_DIR")?);
    let root = std::env::var("GAMEDAY_ML_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            model_dir
                .parent()
                .unwrap_or(Path::new("/opt/ml"))
                .to_path_buf()
        });
    let hps: BTreeMap<String, String> = serde_json::from_str(&env("SM_HPS")?)
        .map_err(|e| TrainerError::Data(format!("SM_HPS is not a JSON string map: {e}")))?;
    let hps = Hps(hps);
    let steps: u64 = hps.get("steps", 200, "step count")?;
    let batch: usize = hps.get("batch_size", 64, "batch size")?;
    let lr: f64 = hps.get("learning_rate", 0.1, "number")?;
    let every: u64 = hps.get("checkpoint_every", 20, "step count")?;
    let sleep_ms: u64 = hps.get("step_sleep_ms", 0, "number of milliseconds")?;
    let ignore: bool = hps.get("ignore_checkpoints", false, "boolean")?;
    let rows = load_rows(Path::new(&env("SM_CHANNEL_TRAIN")?))?;
    let width = rows[0].1.len();
    let ckpt = root.join("checkpoints").join("checkpoint.json");
    std::fs::create_dir_all(root.join("checkpoints")).map_err(io(&root))?;

    let (mut step, mut params) = match load_checkpoint(&ckpt, width).filter(|_| !ignore) {
        Some((s, p)) => {
            println!("resumed from the checkpoint of step {s}");
            (s, p)
        }
        None => (0, vec![0.0; width + 1]),
    };
    let batch = batch.clamp(1, rows.len());
    while step < steps {
        step += 1;
        let mut grad = vec![0.0; width + 1];
        let mut loss = 0.0;
        for i in 0..batch {
            let (y, x) = &rows[((step - 1) as usize * batch + i) % rows.len()];
            let z = params[0] + x.iter().zip(&params[1..]).map(|(a, w)| a * w).sum::<f64>();
            let p = 1.0 / (1.0 + (-z).exp());
            loss -= y * p.max(1e-12).ln() + (1.0 - y) * (1.0 - p).max(1e-12).ln();
            grad[0] += p - y;
            for (g, a) in grad[1..].iter_mut().zip(x) {
                *g += (p - y) * a;
            }
        }
        for (w, g) in params.iter_mut().zip(&grad) {
            *w -= lr * g / batch as f64;
        }
        println!("step={step} loss={:.6}", loss / batch as f64);
        if every > 0 && step % every == 0 {
            save_checkpoint(&ckpt, step, &params)?;
        }
        if TERMINATED.load(Ordering::SeqCst) {
            if every == 0 || step % every != 0 {
                save_checkpoint(&ckpt, step, &params)?;
            }
            println!("SIGTERM: checkpoint written, exiting");
            return Ok(EXIT_TERMINATED);
        }
        if sleep_ms > 0 {
            std::thread::sleep(Duration::from_millis(sleep_ms));
        }
    }
    let model = ModelFile {
        kind,
        steps,
        bias: params[0],
        weights: &params[1..],
    };
    std::fs::create_dir_all(&model_dir).map_err(io(&model_dir))?;
    let out = model_dir.join("model.json");
    write_atomic(
        &out,
        &(serde_json::to_string_pretty(&model).expect("serialisable") + "\n"),
    )?;
    println!("model written to {}", out.display());
    Ok(0)
}
