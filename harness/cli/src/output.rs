//! The run folder: every report file, plus `run.json` with what varies
//! between runs (the only place wall-clock time and host names may go).

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use gameday_report::artifacts::Artifact;
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

/// Writes `dir/name` through `fill`: into `.name.partial` first, flushed
/// and synced, then renamed into place, so a reader never sees half a
/// file and a full disk is an error naming the file (never a silent
/// success, as a dropped `BufWriter` would give).
pub fn write_file<F>(dir: &Path, name: &str, fill: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> std::result::Result<(), writers::WriteError>,
{
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.partial"));
    let result = (|| -> Result<()> {
        let file = File::create(&tmp)?;
        let mut w = BufWriter::new(file);
        fill(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, &path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// Writes `bytes` to `dir/name` the same way as [`write_file`].
pub fn write_bytes(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    write_file(dir, name, |w| Ok(w.write_all(bytes)?))
}

/// Creates the output folder and proves a file can be written in it, so a
/// wall run learns that `--out` is unusable before it starts, not after.
pub fn prepare_out_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create output folder {}", dir.display()))?;
    write_bytes(dir, ".gameday-write-check", b"ok\n")?;
    let _ = fs::remove_file(dir.join(".gameday-write-check"));
    Ok(())
}

/// Writes every report file into `dir` (created if needed).
pub fn write_all(dir: &Path, rec: &RunRecord, info: &RunInfo) -> Result<()> {
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create output folder {}", dir.display()))?;
    let charts = gameday_report::charts::charts(rec);
    for a in Artifact::ALL {
        let file = a.file().expect("ALL are files");
        write_file(dir, file, |w| a.write(rec, &charts, w))?;
    }
    for c in &charts {
        write_bytes(dir, &c.file, c.svg.as_bytes())?;
    }
    write_file(dir, "run.json", |w| writers::write_json_value(info, w))?;
    Ok(())
}

/// Appends the compact Markdown summary of `report` (reports in
/// `out_dir`) to `path`, created if need be (a CI job's step summary).
pub fn append_step_summary(
    path: &Path,
    report: &gameday_report::Report,
    out_dir: &Path,
) -> Result<()> {
    let mut text = Vec::new();
    writers::write_step_summary(report, &out_dir.display().to_string(), &mut text)?;
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open the step summary {}", path.display()))?;
    f.write_all(&text)
        .with_context(|| format!("cannot write the step summary {}", path.display()))
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

    #[test]
    fn a_full_disk_is_an_error_naming_the_file_and_leaves_no_partial_file() {
        let tmp = tempfile::tempdir().unwrap();
        // `/dev/full` fails every write with ENOSPC, as a full disk does.
        std::os::unix::fs::symlink("/dev/full", tmp.path().join(".report.json.partial")).unwrap();
        let err = write_bytes(tmp.path(), "report.json", &[b'x'; 100]).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("report.json"), "{msg}");
        assert!(msg.contains("No space left"), "{msg}");
        assert!(!tmp.path().join("report.json").exists());
    }

    #[test]
    fn a_write_replaces_the_file_whole() {
        let tmp = tempfile::tempdir().unwrap();
        write_bytes(tmp.path(), "a.txt", b"first").unwrap();
        write_bytes(tmp.path(), "a.txt", b"second").unwrap();
        assert_eq!(fs::read(tmp.path().join("a.txt")).unwrap(), b"second");
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.txt"]);
    }
}
