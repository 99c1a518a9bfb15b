//! Multi-model endpoints: `mode = "multi_model"`, each variant's
//! `[endpoint.variant.models]` and the room for them, and the names that
//! refer to a model (`target_model`, a `model_load_failure`'s `model`).
//!
//! gameday's assumptions, where AWS states no figure: memory for loaded
//! models defaults to the instance type's memory less a quarter (at most
//! 2 GiB) for the OS and the model server, or on GPU types to 90% of the
//! GPU memory (GPU multi-model endpoints load into it, through Triton);
//! the disk to 30 GB; loads run at 500 MB/s; an unload takes 100 ms.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gameday_core::dist::ServiceDist;
use gameday_core::mme::{ModelEntry, ModelMix, MultiModelSpec, LOAD_LIMIT, WAIT_LIMIT};
use gameday_core::spec::EndpointSpec;

use super::{build_dist, Cx};
use crate::catalog::InstanceType;
use crate::diag::{quote, FieldPath};
use crate::raw::{EndpointMode, RawModelSize, RawModels, RawScenario, RawVariant};
use crate::units::parse_size;

/// Default disk for downloaded models.
const DEFAULT_DISK: u64 = 30_000_000_000;
/// Default load rate, bytes per second.
const DEFAULT_LOAD_RATE: f64 = 500e6;
/// Default time to unload one model.
const DEFAULT_UNLOAD: Duration = Duration::from_millis(100);
/// Most models one variant may serve.
const MAX_MODELS: i64 = 100_000;

/// The fields only a multi-model variant takes.
pub(super) fn only_multi_model_fields(var: &RawVariant) -> [(&'static str, bool); 6] {
    [
        ("models", var.models.is_some()),
        ("model_memory", var.model_memory.is_some()),
        ("disk", var.disk.is_some()),
        ("download_bandwidth", var.download_bandwidth.is_some()),
        ("load_rate", var.load_rate.is_some()),
        ("unload_time", var.unload_time.is_some()),
    ]
}

/// Parses a rate like `"500MB/s"` into bytes per second.
fn parse_rate(s: &str) -> Result<f64, String> {
    let Some(size) = s.trim().strip_suffix("/s") else {
        return Err(format!(
            "invalid rate \"{s}\": expected a size per second, like \"500MB/s\""
        ));
    };
    match parse_size(size.trim()) {
        Ok(0) => Err(format!("rate \"{s}\" must be more than zero")),
        Ok(b) => Ok(b as f64),
        Err(e) => Err(format!("invalid rate \"{s}\": {e}")),
    }
}

/// The default memory for loaded models on `t`.
fn default_memory(t: &InstanceType) -> u64 {
    match &t.accelerator {
        Some(a) => (a.memory_bytes as f64 * f64::from(a.count) * 0.9) as u64,
        None => t.memory_bytes - (t.memory_bytes / 4).min(2 << 30),
    }
}

/// Memory, in GiB as instance types give it.
fn fmt_gib(b: u64) -> String {
    format!("{:.2}GiB", b as f64 / f64::from(1u32 << 30))
}

fn fmt_bytes(b: u64) -> String {
    if b >= 1_000_000_000 {
        format!("{:.2}GB", b as f64 / 1e9)
    } else {
        format!("{:.1}MB", b as f64 / 1e6)
    }
}

/// A multi-model variant, built: its models and room, the service time
/// of one request on its type, and the folder its models' files are in
/// (`models.dir`).
pub(super) type Built = (Box<MultiModelSpec>, ServiceDist, Option<PathBuf>);

/// How a multi-model variant is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Serving {
    /// Modelled: loads and service times come from the scenario.
    Modelled,
    /// A real multi-model container on the wall clock: it loads the files
    /// of `models.dir` and serves in its own time.
    Container,
}

/// Checks and builds a multi-model variant.
pub(super) fn build(
    cx: &mut Cx<'_>,
    var: &RawVariant,
    vat: &FieldPath,
    itype: Option<&InstanceType>,
    serving: Serving,
) -> Option<Built> {
    let Some(models) = &var.models else {
        cx.err(
            vat,
            "a variant of a multi-model endpoint needs [endpoint.variant.models], like { count = 100, size = \"200MB\", latency = { p50 = \"15ms\", p99 = \"60ms\" } }",
        );
        return None;
    };
    let mat = vat.key("models");
    let before = cx.diags.len();
    if let Some(dir) = &models.dir {
        return from_dir(cx, var, vat, itype, dir, serving);
    }
    if serving == Serving::Container {
        cx.err(
            &mat,
            "a multi-model container loads its models from files: give [endpoint.variant.models] dir = \"...\", a folder with one file (or folder) per model",
        );
        return None;
    }
    if let Some(file) = &models.file {
        return from_file(cx, var, vat, itype, file).map(|(m, d)| (m, d, None));
    }
    let count = models.count.unwrap_or(1);
    if !(1..=MAX_MODELS).contains(&count) {
        cx.err(
            &mat.key("count"),
            format!("count must be between 1 and {MAX_MODELS}, got {count}"),
        );
    }
    let count = count.clamp(1, MAX_MODELS) as usize;
    let weights = popularity(cx, models, &mat, count);
    let sizes: Vec<u64> = match &models.size {
        None => {
            cx.err(
                &mat.key("size"),
                "missing `size`: every model's size (\"100MB\") or { p50 = \"200MB\", p99 = \"1.5GB\" }",
            );
            vec![0; count]
        }
        Some(RawModelSize::One(s)) => match parse_size(s) {
            Ok(b) if b > 0 => vec![b; count],
            Ok(_) => {
                cx.err(&mat.key("size"), "size must be more than zero");
                vec![0; count]
            }
            Err(e) => {
                cx.err(&mat.key("size"), e);
                vec![0; count]
            }
        },
        Some(RawModelSize::Quantiles { p50, p99 }) => {
            let sat = mat.key("size");
            match (parse_size(p50), parse_size(p99)) {
                (Err(e), _) => {
                    cx.err(&sat.key("p50"), e);
                    vec![0; count]
                }
                (_, Err(e)) => {
                    cx.err(&sat.key("p99"), e);
                    vec![0; count]
                }
                (Ok(a), Ok(b)) if b <= a => {
                    cx.err(
                        &sat.key("p99"),
                        format!("size p99 ({p99}) must be larger than p50 ({p50})"),
                    );
                    vec![0; count]
                }
                (Ok(a), Ok(b)) => match ServiceDist::lognormal_from_p50_p99(a as f64, b as f64) {
                    Ok(d) => spread(&d, count),
                    Err(e) => {
                        cx.err(&sat.key("p99"), format!("size: {e}"));
                        vec![0; count]
                    }
                },
            }
        }
    };
    let latency = match &models.latency {
        Some(l) => build_dist(cx, l, &mat.key("latency")),
        None => {
            cx.err(
                &mat.key("latency"),
                "missing `latency` (one request's service time on ml.m5.xlarge), like { p50 = \"15ms\", p99 = \"60ms\" }",
            );
            None
        }
    };
    if cx.diags.len() > before {
        return None;
    }
    let entries = sizes
        .iter()
        .zip(&weights)
        .enumerate()
        .map(|(i, (&size_bytes, &weight))| ModelEntry {
            name: format!("model-{i}"),
            size_bytes,
            weight,
            load_time: models.load_time.map(|d| d.0),
            service_scale: 1.0,
        })
        .collect();
    room(cx, var, vat, itype, entries, latency?, &mat.key("size")).map(|(m, d)| (m, d, None))
}

/// The weights of `count` models in order: Zipf, or all alike.
fn popularity(cx: &mut Cx<'_>, models: &RawModels, mat: &FieldPath, count: usize) -> Vec<f64> {
    match &models.popularity {
        None => vec![1.0; count],
        Some(p) if p.zipf.is_finite() && p.zipf > 0.0 => ModelMix::zipf_weights(count, p.zipf),
        Some(p) => {
            cx.err(
                &mat.key("popularity").key("zipf"),
                format!(
                    "zipf must be more than 0 (1.0 is classic Zipf; leave popularity out for every model alike), got {}",
                    p.zipf
                ),
            );
            vec![1.0; count]
        }
    }
}

/// A variant whose models are the files (or folders) of `dir`, each
/// named by its file name (its `TargetModel`), in name order, its size
/// the file's (or the folder's files').
fn from_dir(
    cx: &mut Cx<'_>,
    var: &RawVariant,
    vat: &FieldPath,
    itype: Option<&InstanceType>,
    dir: &str,
    serving: Serving,
) -> Option<Built> {
    let models = var.models.as_ref().expect("checked by the caller");
    let mat = vat.key("models");
    let dat = mat.key("dir");
    for (field, given) in [
        ("count", models.count.is_some()),
        ("size", models.size.is_some()),
        ("file", models.file.is_some()),
    ] {
        if given {
            cx.err(
                &mat.key(field),
                format!("give `dir` or `{field}`, not both: the folder holds every model"),
            );
        }
    }
    let folder = cx.base_dir.join(dir);
    let found = match list_models(&folder) {
        Ok(f) if f.is_empty() => {
            cx.err(
                &dat,
                format!(
                    "\"{}\" holds no models: add one file (or folder) per model",
                    folder.display()
                ),
            );
            return None;
        }
        Ok(f) => f,
        Err(e) => {
            cx.err(&dat, format!("cannot read \"{}\": {e}", folder.display()));
            return None;
        }
    };
    if found.len() > MAX_MODELS as usize {
        cx.err(
            &dat,
            format!("{} models in the folder; at most {MAX_MODELS}", found.len()),
        );
        return None;
    }
    let weights = popularity(cx, models, &mat, found.len());
    let latency = match (&models.latency, serving) {
        (Some(l), _) => build_dist(cx, l, &mat.key("latency"))?,
        // The container's own time is the service time.
        (None, Serving::Container) => ServiceDist::constant(0.0).ok()?,
        (None, Serving::Modelled) => {
            cx.err(
                &mat.key("latency"),
                "missing `latency` (one request's service time on ml.m5.xlarge), like { p50 = \"15ms\", p99 = \"60ms\" }; a multi-model container (a `model` with a `command`, on the wall clock) serves in its own time",
            );
            return None;
        }
    };
    let entries = found
        .into_iter()
        .zip(weights)
        .map(|((name, size_bytes), weight)| ModelEntry {
            name,
            size_bytes: size_bytes.max(1),
            weight,
            load_time: models.load_time.map(|d| d.0),
            service_scale: 1.0,
        })
        .collect();
    let (mm, service) = room(cx, var, vat, itype, entries, latency, &dat)?;
    Some((mm, service, Some(folder)))
}

/// The models in `folder`: (file name, bytes), by name; a folder counts
/// the bytes of the files in it. Hidden entries (`.name`) are skipped.
fn list_models(folder: &Path) -> std::io::Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let meta = entry.metadata()?;
        let size = if meta.is_dir() {
            let mut total = 0;
            for f in std::fs::read_dir(entry.path())? {
                let m = f?.metadata()?;
                if m.is_file() {
                    total += m.len();
                }
            }
            total
        } else {
            meta.len()
        };
        out.push((name, size));
    }
    out.sort();
    Ok(out)
}

/// Checks that `entries` fit the variant's memory and disk, and builds
/// the spec with its rates; `size_at` is where a model too large is
/// reported.
fn room(
    cx: &mut Cx<'_>,
    var: &RawVariant,
    vat: &FieldPath,
    itype: Option<&InstanceType>,
    entries: Vec<ModelEntry>,
    latency: ServiceDist,
    size_at: &FieldPath,
) -> Option<(Box<MultiModelSpec>, ServiceDist)> {
    let before = cx.diags.len();
    let itype = itype?;
    let memory = var
        .model_memory
        .map_or_else(|| default_memory(itype), |m| m.0);
    let physical = match &itype.accelerator {
        Some(a) => a.memory_bytes * u64::from(a.count),
        None => itype.memory_bytes,
    };
    if memory > physical {
        cx.err(
            &vat.key("model_memory"),
            format!(
                "model_memory {} is more than {}'s {} of {}memory",
                fmt_gib(memory),
                itype.name,
                fmt_gib(physical),
                if itype.accelerator.is_some() {
                    "GPU "
                } else {
                    ""
                }
            ),
        );
    }
    let disk = var.disk.map_or(DEFAULT_DISK, |d| d.0);
    let largest = entries.iter().map(|m| m.size_bytes).max().unwrap_or(0);
    let which = entries
        .iter()
        .position(|m| m.size_bytes == largest)
        .map_or("", |i| entries[i].name.as_str());
    if largest > memory {
        cx.err(
            size_at,
            format!(
                "{which} is {}, more than the {} of model_memory on {}: it could never load; use a larger instance type or smaller models",
                fmt_bytes(largest),
                fmt_gib(memory),
                itype.name
            ),
        );
    } else if largest > disk {
        cx.err(
            &vat.key("disk"),
            format!(
                "{which} is {}, more than the {} disk: it could never be downloaded",
                fmt_bytes(largest),
                fmt_bytes(disk)
            ),
        );
    }
    let download = match (&var.download_bandwidth, itype.network_gbps) {
        (Some(r), _) => parse_rate(r)
            .map_err(|e| cx.err(&vat.key("download_bandwidth"), e))
            .ok(),
        (None, Some(g)) => Some(g * 1e9 / 8.0),
        (None, None) => {
            cx.err(
                &vat.key("download_bandwidth"),
                format!(
                    "the catalog gives no network bandwidth for {}: set download_bandwidth, like \"1.25GB/s\", or network_gbps in [[instance_type]]",
                    itype.name
                ),
            );
            None
        }
    };
    let load_rate = match &var.load_rate {
        Some(r) => parse_rate(r)
            .map_err(|e| cx.err(&vat.key("load_rate"), e))
            .ok(),
        None => Some(DEFAULT_LOAD_RATE),
    };
    if cx.diags.len() > before {
        return None;
    }
    let service = latency.scaled(1.0 / itype.speed);
    let spec = MultiModelSpec {
        models: entries,
        memory_bytes: memory,
        disk_bytes: disk,
        download_bytes_per_s: download?,
        load_bytes_per_s: load_rate?,
        unload_time: var.unload_time.map_or(DEFAULT_UNLOAD, |d| d.0),
        wait_limit: WAIT_LIMIT,
        load_limit: LOAD_LIMIT,
    };
    Some((Box::new(spec), service))
}

/// A variant whose models come from a CSV file.
fn from_file(
    cx: &mut Cx<'_>,
    var: &RawVariant,
    vat: &FieldPath,
    itype: Option<&InstanceType>,
    file: &str,
) -> Option<(Box<MultiModelSpec>, ServiceDist)> {
    let models = var.models.as_ref().expect("checked by the caller");
    let mat = vat.key("models");
    for (field, given) in [
        ("count", models.count.is_some()),
        ("size", models.size.is_some()),
        ("popularity", models.popularity.is_some()),
    ] {
        if given {
            cx.err(
                &mat.key(field),
                format!("give `file` or `{field}`, not both: the file lists every model"),
            );
        }
    }
    let fat = mat.key("file");
    let src = cx.read(&fat, file)?;
    let latency = match &models.latency {
        Some(l) => build_dist(cx, l, &mat.key("latency")),
        None => {
            cx.err(
                &mat.key("latency"),
                "missing `latency`: the shape of one request's service time on ml.m5.xlarge, like { p50 = \"15ms\", p99 = \"60ms\" } (a file's `latency` column scales it per model)",
            );
            None
        }
    };
    let rows = match parse_models(&src) {
        Ok(r) => r,
        Err(e) => {
            cx.err(&fat, format!("{file}: {e}"));
            return None;
        }
    };
    let latency = latency?;
    let median = latency.quantile(0.5).max(f64::MIN_POSITIVE);
    let entries = rows
        .into_iter()
        .map(|r| ModelEntry {
            name: r.name,
            size_bytes: r.size,
            weight: r.weight,
            load_time: models.load_time.map(|d| d.0),
            service_scale: r.latency.map_or(1.0, |l| l.as_secs_f64() / median),
        })
        .collect();
    room(cx, var, vat, itype, entries, latency, &fat)
}

/// One row of a models file.
struct ModelRow {
    name: String,
    size: u64,
    weight: f64,
    latency: Option<Duration>,
}

/// Parses a models CSV: `name`, `size`, optional `weight` and `latency`.
fn parse_models(src: &str) -> Result<Vec<ModelRow>, String> {
    let mut rdr = csv::Reader::from_reader(src.as_bytes());
    let headers = rdr.headers().map_err(|e| e.to_string())?.clone();
    let col = |n: &str| headers.iter().position(|h| h.trim() == n);
    let (Some(n), Some(s)) = (col("name"), col("size")) else {
        return Err(
            "expected a header with columns `name` and `size` (and optionally `weight`, `latency`)"
                .into(),
        );
    };
    let (w, l) = (col("weight"), col("latency"));
    let mut rows = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| e.to_string())?;
        let row = i + 2;
        let name = rec.get(n).unwrap_or("").trim().to_string();
        if name.is_empty() || !seen.insert(name.clone()) {
            return Err(format!("row {row}: the name is empty or repeated"));
        }
        let size =
            parse_size(rec.get(s).unwrap_or("").trim()).map_err(|e| format!("row {row}: {e}"))?;
        if size == 0 {
            return Err(format!("row {row}: size must be more than zero"));
        }
        let weight = match w.and_then(|w| rec.get(w)).map(str::trim) {
            None | Some("") => 1.0,
            Some(x) => match x.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => v,
                _ => {
                    return Err(format!(
                        "row {row}: weight {x:?} is not a non-negative number"
                    ))
                }
            },
        };
        let latency = match l.and_then(|l| rec.get(l)).map(str::trim) {
            None | Some("") => None,
            Some(x) => Some(
                gameday_core::time::parse_duration(x)
                    .map_err(|e| format!("row {row}: latency: {e}"))?,
            ),
        };
        rows.push(ModelRow {
            name,
            size,
            weight,
            latency,
        });
    }
    if rows.is_empty() {
        return Err("no models: add a row per model".into());
    }
    if rows.iter().all(|r| r.weight == 0.0) {
        return Err("every weight is 0: no request would target any model".into());
    }
    Ok(rows)
}

/// `n` sizes spread over `d`'s quantiles in a fixed scattered order
/// (the golden-ratio sequence), so size does not follow popularity.
fn spread(d: &ServiceDist, n: usize) -> Vec<u64> {
    const PHI: f64 = 0.618_033_988_749_894_9;
    (0..n)
        .map(|i| {
            let u = ((i as f64 + 0.5) * PHI).fract().clamp(0.001, 0.999);
            d.quantile(u).round().max(1.0) as u64
        })
        .collect()
}

/// Whether endpoint `e` of `raw` is multi-model.
pub(super) fn is_multi_model(raw: &RawScenario, e: usize) -> bool {
    raw.endpoints[e].mode == Some(EndpointMode::MultiModel)
}

/// The index of model `name` of multi-model endpoint `e`; unknown: a
/// diagnostic with the nearest name. `None` also when the endpoint's
/// variants did not build (their errors are already reported).
pub(super) fn model_index(
    cx: &mut Cx<'_>,
    at: &FieldPath,
    endpoints: &[EndpointSpec],
    e: usize,
    name: &str,
) -> Option<u32> {
    let mm = endpoints
        .get(e)?
        .variants
        .iter()
        .find_map(|v| v.multi_model.as_ref())?;
    let i = mm.models.iter().position(|m| m.name == name);
    if i.is_none() {
        cx.unknown(at, "model", name, mm.models.iter().map(|m| m.name.as_str()));
    }
    i.map(|i| i as u32)
}

/// `field` names a model, which only a multi-model endpoint has.
pub(super) fn not_multi_model(cx: &mut Cx<'_>, at: &FieldPath, endpoint: &str, field: &str) {
    cx.err(
        at,
        format!(
            "`{field}` applies only to a multi-model endpoint, and {} is single-model; add mode = \"multi_model\" to it",
            quote(endpoint)
        ),
    );
}
