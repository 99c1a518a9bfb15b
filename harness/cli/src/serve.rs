//! `gameday serve`: the embedded platform for real clients, recorded as a
//! game day. Events print as they happen; on stop (Ctrl-C, SIGTERM or
//! `POST /_gameday/stop`) the same report files as `gameday run` are
//! written, measured at the platform: each request from its arrival to its
//! answer.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use gameday_core::time::duration_nanos;
use gameday_core::{PlatformEvent, RequestResult, SimTime};
use gameday_live::{Limits, ServeOptions};
use gameday_report::model::ScenarioInfo;
use gameday_report::{Finish, Recorder, RunRecord};
use gameday_scenario::Scenario;

use crate::wall::{now, start_platform};

/// How a game day is served.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen.
    pub bind: SocketAddr,
    /// The control token; `None`: a random one.
    pub control_token: Option<String>,
    /// Connection limits.
    pub limits: Limits,
    /// Print event lines.
    pub show_events: bool,
    /// The output folder (model-server logs go in `containers/`).
    pub out_dir: PathBuf,
}

/// Prints a line; a closed stdout (a client that read the address and
/// went) must not stop the game day.
macro_rules! say {
    ($($arg:tt)*) => {{
        let mut out = std::io::stdout().lock();
        let line = format!($($arg)*) + "\n";
        let _ = std::io::Write::write_all(&mut out, line.as_bytes());
        let _ = std::io::Write::flush(&mut out);
    }};
}
pub(crate) use say;

/// How often results and events are collected.
const TICK: Duration = Duration::from_millis(100);
/// How long open connections may finish after a stop.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// One line for the console: `[   12.3s] instance_crashed fraud/AllTraffic #3 …`,
/// at its scenario time.
fn event_line(sc: &Scenario, e: &PlatformEvent) -> String {
    let at = gameday_core::TimeScale::new(sc.time_scale).to_scenario(e.at);
    let ep = &sc.platform.endpoints[e.endpoint as usize];
    let mut where_ = ep.name.clone();
    if let Some(v) = e.variant {
        where_.push('/');
        where_.push_str(&ep.variants[v as usize].name);
    }
    if let Some(i) = e.instance {
        where_.push_str(&format!(" instance {i}"));
    }
    format!(
        "[{:>9.3}s] {} {where_} {}",
        at.as_secs_f64(),
        e.kind.as_str(),
        e.detail
    )
}

/// Serves `sc` until `stop` (or the control API's stop); returns the
/// game day's record.
pub fn serve(sc: &Scenario, cfg: ServeConfig, stop: Arc<AtomicBool>) -> Result<RunRecord> {
    crate::wall::block_on(serve_async(sc, cfg, stop))
}

async fn serve_async(sc: &Scenario, cfg: ServeConfig, stop: Arc<AtomicBool>) -> Result<RunRecord> {
    let ts = gameday_core::TimeScale::new(sc.time_scale);
    let spec = ts.platform(&sc.platform);
    let mut opts = ServeOptions::local(sc.seed);
    opts.bind = cfg.bind;
    opts.container_logs = Some(cfg.out_dir.join("containers"));
    opts.limits = cfg.limits;
    opts.control_token = cfg.control_token.clone();
    opts.record = true;
    opts.timeline = gameday_live::Timeline {
        scale: ts,
        end: None,
    };
    let server = start_platform(sc, &spec, opts, None).await?;
    if cfg.bind.ip().is_unspecified() {
        eprintln!(
            "warning: listening on every interface ({}): the control API is reachable from the network, guarded only by its token",
            cfg.bind
        );
    }
    say!("listening on {}", server.url());
    say!(
        "control API: send header x-gameday-token: {}",
        server.control_token()
    );
    say!(
        "limits: {} s to send a request head (also the idle keep-alive timeout), {} s for a body, {} connections",
        cfg.limits.header_read_timeout.as_secs_f64(),
        cfg.limits.body_read_timeout.as_secs_f64(),
        server.max_connections()
    );

    let engine = server.engine();
    let zero = engine.clock().zero();
    let interval = ts
        .compress(sc.timeline_interval)
        .max(Duration::from_millis(10));
    let max_timeout = sc
        .workloads
        .iter()
        .map(|w| w.timeout)
        .max()
        .unwrap_or(Duration::from_secs(60));
    let mut recorder = Recorder::new(&spec, duration_nanos(interval), duration_nanos(max_timeout));
    recorder.report_in_scenario_time(ts);
    // Serving runs until it is stopped: budgets are reported, with windows
    // scaled by the length served, and `abort_on_burn` does not apply.
    recorder.track_budget(&sc.slo, None);
    let mut results: Vec<RequestResult> = Vec::new();
    let mut next_gauge_ns = duration_nanos(interval);
    let elapsed_ns = || now().saturating_duration_since(zero).as_nanos() as u64;
    let mut collect = |recorder: &mut Recorder, events: &[PlatformEvent]| {
        for e in events {
            if cfg.show_events {
                say!("{}", event_line(sc, e));
            }
            recorder.event(e);
        }
        server.drain_results(&mut results);
        for r in results.drain(..) {
            recorder.record(&r);
        }
    };
    while !stop.load(Ordering::Relaxed) && !server.stop_requested() {
        tokio::time::sleep(TICK).await;
        let Ok(snap) = engine.snapshot(true).await else {
            break;
        };
        let at = elapsed_ns();
        while next_gauge_ns <= at {
            recorder.gauges(next_gauge_ns, &snap.gauges);
            next_gauge_ns += duration_nanos(interval);
        }
        collect(&mut recorder, &snap.events);
        recorder.advance(at);
    }
    let end = SimTime::from_nanos(elapsed_ns());
    let final_snap = engine
        .snapshot_until(true, Some(end))
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    eprintln!(
        "stopping: {} invocations served, {} requests refused",
        final_snap
            .metrics
            .iter()
            .map(|m| m.totals.invocations)
            .sum::<u64>(),
        server.rejected()
    );
    collect(&mut recorder, &final_snap.events);
    server.shutdown(STOP_GRACE).await;
    let mut record = recorder.finish(Finish {
        scenario: ScenarioInfo {
            name: sc.name.clone(),
            seed: sc.seed,
            clock: "wall".into(),
            duration_s: end.as_secs_f64(),
            time_scale: None,
        },
        complete: true,
        drained_at_s: zero.elapsed().as_secs_f64(),
        costs: final_snap.costs,
        fleet: final_snap.fleet,
        scaling: final_snap.scaling,
        models: final_snap.models,
        mean_in_system: final_snap.mean_in_system,
        training: Vec::new(),
        slo: &sc.slo,
    });
    record.report.measured_at = Some("platform".into());
    Ok(record)
}
