//! The wall-clock run: the embedded platform (or a remote target), the
//! open-loop load generator, and a recorder fed from both, in real time.

use std::io::{IsTerminal, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use gameday_core::time::duration_nanos;
use gameday_core::training::TrainingSpec;
use gameday_core::{RequestResult, SimTime, TimeScale};
use gameday_live::engine::Engine;
use gameday_live::model::LogisticRegression;
use gameday_live::training::{ProcessSpec, Trainer, TrainingRunConfig, TrainingRunner};
use gameday_live::{EngineHandle, ServeOptions, Server, Timeline, WallClock};
use gameday_load::{HttpTarget, LoadConfig, LoadWorkload, OpenLoop, Target};
use gameday_report::model::{round3, LoadGeneratorReport, ScenarioInfo};
use gameday_report::TrainingJobReport;
use gameday_report::{Finish, Recorder, RunRecord};
use gameday_scenario::{Scenario, TargetKind, TrainingProgram};

use crate::InvalidInput;

/// How long in-flight requests may finish after a stop.
const STOP_GRACE: Duration = Duration::from_secs(1);
/// Most requests outstanding at once.
const MAX_IN_FLIGHT: u64 = 20_000;

/// Loads each variant's built-in model, by `[endpoint][variant]`.
pub fn load_models(sc: &Scenario) -> Result<Vec<Vec<Option<Arc<LogisticRegression>>>>> {
    let mut out = Vec::new();
    for ep in &sc.platform.endpoints {
        let mut row = Vec::new();
        for v in &ep.variants {
            row.push(match sc.real_models.get(&v.model) {
                Some(m) => Some(Arc::new(LogisticRegression::load(&m.weights).map_err(
                    |e| InvalidInput(format!("{}: model {}: {e}", sc.file, v.model)),
                )?)),
                None => None,
            });
        }
        out.push(row);
    }
    Ok(out)
}

/// Starts the embedded platform for `sc` (timeline already compressed);
/// `opts` has the bind address, logs and limits, the rest comes from `sc`.
pub async fn start_platform(
    sc: &Scenario,
    spec: &gameday_core::spec::PlatformSpec,
    mut opts: ServeOptions,
    trainer: Option<Trainer>,
) -> Result<Server> {
    let bind = opts.bind;
    opts.models = load_models(sc)?;
    opts.containers = spec
        .endpoints
        .iter()
        .map(|e| {
            e.variants
                .iter()
                .map(|v| sc.model_servers.get(&v.model).cloned())
                .collect()
        })
        .collect();
    opts.container_dir = std::path::Path::new(&sc.file)
        .parent()
        .map(|d| {
            if d.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                d
            }
        })
        .map(std::path::Path::to_path_buf);
    opts.model_folders = spec
        .endpoints
        .iter()
        .enumerate()
        .map(|(e, ep)| {
            (0..ep.variants.len())
                .map(|v| sc.model_folders.get(&(e, v)).cloned())
                .collect()
        })
        .collect();
    Server::start_with(spec, opts, trainer)
        .await
        .with_context(|| format!("cannot start the embedded platform on {bind}"))
}

/// What the wall run adds to `run.json`.
#[derive(Debug)]
pub struct WallOutcome {
    /// The run record.
    pub record: RunRecord,
}

/// Options from the command line.
#[derive(Debug, Clone)]
pub struct WallOptions {
    /// Progress line on stderr.
    pub progress: bool,
    /// The run's output folder (training jobs' folders go in `training/`).
    pub out_dir: std::path::PathBuf,
    /// Load-generator threads; `None`: half the cores.
    pub load_threads: Option<usize>,
}

/// The training runner's configuration for `sc`; `spec` is its training,
/// compressed.
fn training_config(
    sc: &Scenario,
    spec: TrainingSpec,
    out_dir: &std::path::Path,
) -> Result<TrainingRunConfig> {
    let exe = std::env::current_exe()
        .context("cannot find the gameday executable for the built-in trainer")?;
    let processes = sc
        .training_runs
        .iter()
        .zip(&sc.training.jobs)
        .map(|(run, job)| {
            run.as_ref().map(|r| ProcessSpec {
                argv: match &r.program {
                    TrainingProgram::Command(c) => c.clone(),
                    TrainingProgram::Builtin(kind) => {
                        vec![exe.display().to_string(), "trainer".into(), kind.clone()]
                    }
                },
                hyperparameters: r.hyperparameters.clone(),
                channels: r.channels.clone(),
                gpus: sc
                    .catalog
                    .types
                    .get(&job.instance.name)
                    .and_then(|t| t.accelerator.as_ref())
                    .map_or(0, |a| a.count),
            })
        })
        .collect();
    Ok(TrainingRunConfig {
        spec,
        processes,
        root: out_dir.join("training"),
        seed: sc.seed,
        stop_grace: STOP_GRACE,
        scale: TimeScale::new(sc.time_scale),
    })
}

/// Runs `fut` to its end on a two-thread runtime of its own (the wall
/// run and `serve` both live on one).
pub fn block_on<T>(fut: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let out = rt.block_on(fut);
    rt.shutdown_timeout(Duration::from_millis(200));
    out
}

/// Runs `sc` under the wall clock; `stop` ends it early (incomplete).
pub fn run(sc: &Scenario, stop: Arc<AtomicBool>, opts: WallOptions) -> Result<WallOutcome> {
    block_on(run_async(sc, stop, opts))
}

async fn run_async(sc: &Scenario, stop: Arc<AtomicBool>, opts: WallOptions) -> Result<WallOutcome> {
    // The one place the scenario is compressed; the report maps back.
    let ts = TimeScale::new(sc.time_scale);
    let x = ts.factor();
    let spec = ts.platform(&sc.platform);
    let training_spec = ts.training(&sc.training);
    let arrivals: Vec<_> = sc
        .workloads
        .iter()
        .map(|w| ts.arrival(&w.arrival))
        .collect();
    let duration = ts.compress(sc.duration);
    let interval = ts
        .compress(sc.timeline_interval)
        .max(Duration::from_millis(10));

    if sc.target == TargetKind::Http && sc.endpoint_url.is_none() {
        bail!(InvalidInput(
            "--target http needs --endpoint-url URL (or endpoint_url in [target])".into()
        ));
    }
    if sc.target != TargetKind::Local && !spec.faults.is_empty() {
        bail!(InvalidInput(format!(
            "{}: the scenario schedules {} fault(s); faults are injected by the embedded platform and cannot be applied to a remote target. Remove the [[fault]] sections or use --target local",
            sc.file,
            spec.faults.len()
        )));
    }
    let timeline = Timeline {
        scale: ts,
        end: Some(duration),
    };
    // Training jobs run inside the platform the engine drives: the
    // embedded one, or (with a remote target) a platform of their own.
    let (training, mut trainer) = if sc.training.jobs.is_empty() {
        (None, None)
    } else {
        let cfg = training_config(sc, training_spec, &opts.out_dir)?;
        let (runner, trainer) = TrainingRunner::prepare(cfg, stop.clone())
            .await
            .context("cannot start the training jobs")?;
        (Some(runner), Some(trainer))
    };
    let (server, target, describe): (Option<Server>, Arc<dyn Target>, String) = match sc.target {
        TargetKind::Local => {
            let mut o = ServeOptions::local(sc.seed);
            o.container_logs = Some(opts.out_dir.join("containers"));
            // Queue waits are measured where they happen, at the platform.
            o.record = true;
            o.timeline = timeline;
            let server = start_platform(sc, &spec, o, trainer.take()).await?;
            let t = HttpTarget::new(&server.url()).map_err(|e| anyhow::anyhow!(e))?;
            let d = format!("embedded platform at {}", server.url());
            (Some(server), Arc::new(t), d)
        }
        TargetKind::Http => {
            let url = sc.endpoint_url.as_deref().unwrap_or_default();
            let t = HttpTarget::new(url).map_err(|e| InvalidInput(e.to_string()))?;
            let d = t.describe();
            (None, Arc::new(t), d)
        }
        TargetKind::Sagemaker => {
            let t = gameday_aws::SageMakerTarget::new(gameday_aws::SageMakerOptions {
                region: sc.region.clone(),
                endpoint_url: sc.endpoint_url.clone(),
                max_attempts: sc.max_attempts,
                static_credentials: None,
            })
            .await;
            let d = t.describe();
            (None, Arc::new(t), d)
        }
    };
    let training_engine = match trainer.take() {
        Some(t) => {
            let no_endpoints = gameday_core::spec::PlatformSpec {
                shortages: spec.shortages.clone(),
                ..Default::default()
            };
            Some(
                Engine::start_with(
                    &no_endpoints,
                    sc.seed,
                    WallClock::start(),
                    None,
                    timeline,
                    Some(t),
                )
                .context("cannot start the training jobs")?,
            )
        }
        None => None,
    };
    let engine: Option<EngineHandle> = server.as_ref().map(Server::engine);
    let zero = match (&engine, &training_engine) {
        (Some(e), _) => e.clock().zero(),
        (None, Some(t)) => t.handle().clock().zero(),
        (None, None) => now(),
    };

    let workloads: Vec<LoadWorkload> = sc
        .workloads
        .iter()
        .zip(&sc.payloads)
        .zip(&arrivals)
        .map(|((w, p), arrival)| {
            let ep = &spec.endpoints[w.endpoint];
            LoadWorkload {
                name: w.name.clone(),
                endpoint: w.endpoint as u16,
                endpoint_name: ep.name.as_str().into(),
                variant_names: ep.variants.iter().map(|v| v.name.clone()).collect(),
                target_variant: w
                    .target_variant
                    .map(|v| (v as u16, ep.variants[v].name.as_str().into())),
                arrival: arrival.clone(),
                timeout: w.timeout,
                content_type: p.content_type.as_str().into(),
                body: bytes::Bytes::from(p.body.clone()),
                target_model: w.target_model.clone(),
                model_names: ep
                    .variants
                    .iter()
                    .find_map(|v| v.multi_model.as_ref())
                    .map_or_else(Vec::new, |mm| {
                        mm.models.iter().map(|m| m.name.as_str().into()).collect()
                    }),
            }
        })
        .collect();
    let max_timeout = sc
        .workloads
        .iter()
        .map(|w| w.timeout)
        .max()
        .unwrap_or_default();
    let expected: f64 = arrivals
        .iter()
        .map(|a| a.mean_rate(duration.as_secs_f64()) * duration.as_secs_f64())
        .sum();
    let cfg = LoadConfig {
        workloads,
        duration,
        seed: sc.seed,
        max_in_flight: MAX_IN_FLIGHT,
        max_requests: ((expected * 2.0) as u64).max(1_000),
        threads: opts
            .load_threads
            .unwrap_or_else(gameday_load::open_loop::default_threads),
    };

    let mut recorder = Recorder::new(&spec, duration_nanos(interval), duration_nanos(max_timeout));
    recorder.queue_waits_from_platform();
    recorder.report_in_scenario_time(ts);
    recorder.track_budget(&sc.slo, Some(duration_nanos(duration)));
    let mut seen_by_platform: Vec<RequestResult> = Vec::new();
    let sink = gameday_load::ResultSink::new();
    let budget = Arc::new(std::sync::atomic::AtomicU64::new(cfg.max_requests));
    let mut users = gameday_load::closed_loop::spawn_users(
        &cfg.workloads,
        &target,
        sc.seed,
        zero,
        duration,
        &stop,
        &budget,
        &sink,
    );
    let pacer = OpenLoop::start(cfg, target.clone(), zero, stop.clone(), sink.clone())
        .context("cannot start the load generator")?;

    let show = opts.progress && std::io::stderr().is_terminal();
    let mut tick = tokio::time::interval_at((zero + interval).into(), interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut progress = tokio::time::interval(Duration::from_secs(1));
    let mut drain = tokio::time::interval(Duration::from_millis(10));
    let mut batch: Vec<RequestResult> = Vec::new();
    let mut stopped_at: Option<Instant> = None;
    let mut next_tick_ns = duration_nanos(interval);
    let end_ns = duration_nanos(duration);
    let mut errors = 0u64;
    let mut last = (now(), 0u64);
    loop {
        tokio::select! {
            _ = drain.tick() => {
                // Finished first, then drained: nothing lands after the check.
                while users.try_join_next().is_some() {}
                let trained = training.as_ref().is_none_or(TrainingRunner::is_finished);
                let done = pacer.is_finished() && pacer.in_flight() == 0 && users.is_empty() && trained;
                sink.drain_into(&mut batch);
                for r in batch.drain(..) {
                    if r.outcome != gameday_core::Outcome::Ok { errors += 1; }
                    recorder.record(&r);
                }
                if let Some(s) = &server {
                    s.drain_results(&mut seen_by_platform);
                    for r in seen_by_platform.drain(..) {
                        recorder.platform_queue_wait(&r);
                    }
                }
                if done {
                    break; // every request is answered
                }
                if stop.load(Ordering::Relaxed) {
                    let since = *stopped_at.get_or_insert_with(now);
                    // Training processes get their grace, then SIGKILL.
                    if since.elapsed() >= STOP_GRACE && trained { break; }
                    if since.elapsed() >= STOP_GRACE * 5 { break; }
                }
            }
            _ = tick.tick() => {
                if next_tick_ns <= end_ns {
                    if let Some(e) = &engine {
                        if let Ok(s) = e.snapshot(true).await {
                            recorder.gauges(next_tick_ns, &s.gauges);
                            for ev in &s.events { recorder.event(ev); }
                        }
                    }
                    next_tick_ns += duration_nanos(interval);
                }
                recorder.advance(elapsed_ns(zero));
                if recorder.budget_aborted() && !stop.swap(true, Ordering::Relaxed) {
                    // `abort_on_burn`: stop like an interrupt; the report
                    // says why.
                    if show { eprintln!(); }
                    eprintln!("stopping: {}", recorder.budget_abort().unwrap_or_default());
                }
            }
            _ = progress.tick(), if show => {
                let n = recorder.requests();
                let t = now();
                let rate = (n - last.1) as f64 / t.duration_since(last.0).as_secs_f64().max(1e-9);
                last = (t, n);
                let p99 = (0..spec.endpoints.len()).map(|e| recorder.p99_so_far_ms(e)).fold(0.0, f64::max);
                let train = training.as_ref().map(|t| format!("  {}", t.status_line())).unwrap_or_default();
                if spec.endpoints.is_empty() {
                    eprint!("\r\x1b[2K  {:>6.1}s{train}", zero.elapsed().as_secs_f64());
                } else {
                    eprint!(
                        "\r\x1b[2K  {:>6.1}s / {:.1}s  {:>8.0} req/s  p99 {:>8.2} ms  errors {:<8}  in flight {:<6}{train}",
                        zero.elapsed().as_secs_f64(),
                        duration.as_secs_f64(),
                        rate,
                        p99,
                        errors,
                        pacer.in_flight()
                    );
                }
                let _ = std::io::stderr().flush();
            }
        }
    }
    if show {
        eprintln!();
    }
    users.abort_all();
    while users.join_next().await.is_some() {}
    let complete = !stop.load(Ordering::Relaxed);
    let stats = pacer.join();
    let end = SimTime::from_nanos(if complete {
        end_ns
    } else {
        elapsed_ns(zero).min(end_ns)
    });
    let drained_at_s = zero.elapsed().as_secs_f64();

    let (costs, mean_in_system, fleet, scaling, models) = match &engine {
        Some(e) => {
            let s = e
                .snapshot_until(true, Some(end))
                .await
                .map_err(|e| anyhow::anyhow!(e))?;
            // The core ran nothing past the end (Timeline::end).
            for ev in &s.events {
                recorder.event(ev);
            }
            let costs = s.costs.clone();
            (costs, s.mean_in_system, s.fleet, s.scaling, s.models)
        }
        None => {
            // A remote fleet's cost is not observable: bill the scenario's
            // configured fleet for the run's span.
            let p = gameday_core::Platform::new(&spec, gameday_core::RngStreams::new(sc.seed));
            (
                p.cost(end),
                vec![0.0; spec.endpoints.len()],
                Vec::new(),
                Vec::new(),
                Vec::new(),
            )
        }
    };
    let mut training_reports = Vec::new();
    if let Some(t) = training {
        let out = tokio::task::spawn_blocking(move || t.join())
            .await
            .context("the training runner panicked")?
            .context("training run failed")?;
        let names: Vec<&str> = sc.training.jobs.iter().map(|j| j.name.as_str()).collect();
        for ((o, name), dir) in out.outcomes.iter().zip(&names).zip(&out.job_dirs) {
            if let (gameday_core::training::JobStatus::Failed, Some(dir)) = (o.status, dir) {
                eprintln!(
                    "training job {name} failed: its logs are in {}",
                    dir.join("logs").display()
                );
            }
        }
        for e in &out.events {
            recorder.training_event(e, names[e.job]);
        }
        // In scenario time, against the scenario's own limits.
        training_reports = out
            .outcomes
            .iter()
            .zip(&sc.training.jobs)
            .map(|(o, j)| TrainingJobReport::new(&ts.outcome_to_scenario(o), j))
            .collect();
    }

    if let Some(s) = server {
        s.drain_results(&mut seen_by_platform);
        for r in seen_by_platform.drain(..) {
            recorder.platform_queue_wait(&r);
        }
        for (instance, how) in s.container_exits() {
            eprintln!("model server of instance {instance} exited: {how}");
        }
        s.shutdown(STOP_GRACE).await;
    }
    if let Some(t) = training_engine {
        let _ = tokio::task::spawn_blocking(move || t.join()).await;
    }
    let mut record = recorder.finish(Finish {
        scenario: ScenarioInfo {
            name: sc.name.clone(),
            seed: sc.seed,
            clock: "wall".into(),
            duration_s: end.as_secs_f64(),
            time_scale: None,
        },
        complete,
        drained_at_s,
        costs,
        fleet,
        scaling,
        models,
        mean_in_system,
        training: training_reports,
        slo: &sc.slo,
    });
    let q = |p: f64| round3(stats.lag_us.value_at_quantile(p) as f64 / 1e3);
    record.report.load_generator = Some(LoadGeneratorReport {
        target: describe,
        time_scale: x,
        sent: stats.sent,
        late_sends: stats.late_sends,
        lag_ms_p50: q(0.5),
        lag_ms_p99: q(0.99),
        lag_ms_max: round3(stats.lag_us.max() as f64 / 1e3),
        in_flight_waits: stats.in_flight_waits,
        workers: stats.peak_workers,
        attempts: target.attempts(),
        suspect: stats.suspect(),
    });
    Ok(WallOutcome { record })
}

#[allow(clippy::disallowed_methods)] // the wall clock reads real time by design
pub(crate) fn now() -> Instant {
    Instant::now()
}

fn elapsed_ns(zero: Instant) -> u64 {
    now().saturating_duration_since(zero).as_nanos() as u64
}
