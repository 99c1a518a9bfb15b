//! The run folder: every report file, plus `run.json` with what varies
//! between runs (the only place wall-clock time and host names may go).

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use gameday_report::writers;
use gameday_report::RunRecord;
use serde::Serialize;

/// What varies between runs of the same scenario and seed.
#[derive(Debug, Serialize)]
pub struct RunInfo {
    /// gameday's version.
    pub tool_version: String,
    /// The command line.
    pub command_line: Vec<String>,
    /// Host name, if known.
    pub host: Option<String>,
    /// Wall-clock start, seconds since the Unix epoch.
    pub started_unix_s: f64,
    /// Wall time the run took, seconds.
    pub wall_time_s: f64,
    /// Virtual clock: simulated requests per second of wall time.
    pub simulated_requests_per_wall_s: Option<f64>,
    /// Events the simulator processed.
    pub events_processed: Option<u64>,
    /// Scenario file as given.
    pub scenario_file: String,
}

/// Chooses `reports/runs/<name>/<run-id>/` for a run, unique per second.
pub fn default_out_dir(name: &str, seed: u64, started_unix_s: u64) -> PathBuf {
    let base = Path::new("reports").join("runs").join(name);
    let stamp = utc_stamp(started_unix_s);
    let mut dir = base.join(format!("{stamp}-s{seed}"));
    let mut n = 2;
    while dir.exists() {
        dir = base.join(format!("{stamp}-s{seed}-{n}"));
        n += 1;
    }
    dir
}

/// `YYYYMMDDTHHMMSSZ` for a Unix time (proleptic Gregorian, UTC).
pub fn utc_stamp(unix_s: u64) -> String {
    let c = gameday_core::time::CivilUtc::from_unix(unix_s);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

fn create(dir: &Path, name: &str) -> Result<BufWriter<File>> {
    let p = dir.join(name);
    Ok(BufWriter::new(File::create(&p).with_context(|| {
        format!("cannot write {}", p.display())
    })?))
}

/// Writes every report file into `dir` (created if needed).
pub fn write_all(dir: &Path, rec: &RunRecord, info: &RunInfo) -> Result<()> {
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create output folder {}", dir.display()))?;
    writers::write_json(&rec.report, create(dir, "report.json")?).context("writing report.json")?;
    writers::write_summary(rec, create(dir, "summary.md")?).context("writing summary.md")?;
    writers::write_timeline(&rec.timeline, create(dir, "timeline.csv")?)
        .context("writing timeline.csv")?;
    writers::write_events(&rec.events, create(dir, "events.csv")?).context("writing events.csv")?;
    writers::write_json_value(info, create(dir, "run.json")?).context("writing run.json")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(0), "19700101T000000Z");
        assert_eq!(utc_stamp(951_782_400), "20000229T000000Z");
        assert_eq!(utc_stamp(1_795_306_141), "20261122T000901Z");
    }
}
