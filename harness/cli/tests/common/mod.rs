//! Helpers shared by the CLI's end-to-end tests.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (scenario paths are relative to it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the `gameday` binary from the repository root.
pub fn gameday(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

/// Bytes as text, for messages.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `report.json` of an output folder.
pub fn report(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

/// The real clock (tests time real processes).
#[allow(clippy::disallowed_methods)]
pub fn now() -> std::time::Instant {
    std::time::Instant::now()
}

/// Polls `f` every 50 ms until it holds; fails the test after `limit`.
pub fn wait_for(what: &str, limit: std::time::Duration, mut f: impl FnMut() -> bool) {
    let t = now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Live (not zombie) processes whose `/proc/<pid>` folder satisfies
/// `matches`.
pub fn processes(matches: impl Fn(&Path) -> bool) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let zombie = stat.split_whitespace().nth(2) == Some("Z");
        if !zombie && matches(&e.path()) {
            out.push(pid);
        }
    }
    out
}

/// The quickstart, cut before its faults and shortened to `duration`, with
/// `extra` appended, written to `dir/name`: a short fault-free wall run.
pub fn short_quickstart(dir: &Path, name: &str, duration: &str, extra: &str) -> PathBuf {
    let src = std::fs::read_to_string(root().join("scenarios/quickstart.toml")).unwrap();
    let src = src[..src.find("[[fault]]").unwrap()]
        .replace("duration = \"10m\"", &format!("duration = \"{duration}\""))
        + extra;
    let p = dir.join(name);
    std::fs::write(&p, src).unwrap();
    p
}

/// One HTTP/1.1 POST to `addr` with the control `token`; returns the
/// status, the headers (lower-case) and the body.
#[allow(dead_code)] // not every test binary posts
pub fn post(
    addr: &str,
    path: &str,
    content_type: &str,
    token: &str,
    body: &[u8],
) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nx-gameday-token: {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    (status, head.to_lowercase(), body.to_string())
}

/// `gameday run ARGS --out OUT -q`: its output and the `report.json` it
/// wrote.
pub fn run(args: &[&str], out: &Path) -> (Output, serde_json::Value) {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", out.to_str().unwrap(), "-q"]);
    let o = gameday(&all);
    let r = report(out);
    (o, r)
}

/// A checked-in schema from `schemas/`.
pub fn schema(name: &str) -> serde_json::Value {
    let p = root().join("schemas").join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

/// Every way `value` breaks `schema`, one line each (`/path: message`).
pub fn schema_errors(schema: &serde_json::Value, value: &serde_json::Value) -> Vec<String> {
    let v = jsonschema::validator_for(schema).expect("a valid JSON Schema");
    v.iter_errors(value)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// The names of the objectives a `slos` (or `shadow_slos`) list missed,
/// in report order.
pub fn missed(slos: &serde_json::Value) -> Vec<&str> {
    slos.as_array()
        .unwrap()
        .iter()
        .filter(|s| s["met"] == false)
        .map(|s| s["name"].as_str().unwrap())
        .collect()
}
