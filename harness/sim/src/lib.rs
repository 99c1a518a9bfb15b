//! The virtual-clock driver: runs the sans-IO core as a discrete-event
//! simulation, jumping from one event to the next as fast as the CPU allows.
//!
//! [`simulate`] is a thin loop over the core's driving contract. It keeps a
//! [`TimerQueue`] of its own for the two things the driver owns, a
//! workload's next arrival and a report tick, and asks the [`Platform`]
//! when it next needs [`Platform::handle_timeout`]; whichever is earlier
//! runs (the platform's timers first when both are due at the same
//! instant). Every result, event and gauge goes to a [`Recorder`]. Same
//! inputs, same seed, same bytes.
//!
//! Arrivals stop at the scenario's duration; requests still in flight then
//! are drained (each finishes or times out) so every sent request has an
//! outcome. Faults and fleet changes due after the duration are not run
//! (the core's end-of-run rule, [`Platform::set_end`]).
//! Training jobs are not bounded by the duration: they run to their own
//! end (completion, failure, `max_run` or `max_wait`).

pub mod plan;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use gameday_core::spec::{PlatformSpec, TargetModel, WorkloadSpec};
use gameday_core::time::duration_nanos;
use gameday_core::training::TrainingSpec;
use gameday_core::{ArrivalProcess, Platform, Request, RngStreams, SimTime, StreamRng, TimerQueue};
use gameday_report::model::ScenarioInfo;
use gameday_report::{Finish, Recorder, RunRecord, SloSpec, TrainingJobReport};

/// What to simulate.
#[derive(Clone, Copy, Debug)]
pub struct SimConfig<'a> {
    /// The platform.
    pub platform: &'a PlatformSpec,
    /// The traffic.
    pub workloads: &'a [WorkloadSpec],
    /// Training jobs (they run to their own end, past `duration`).
    pub training: &'a TrainingSpec,
    /// How long traffic is sent.
    pub duration: Duration,
    /// Timeline interval.
    pub interval: Duration,
    /// Master seed.
    pub seed: u64,
    /// Checked every few thousand events; when set, the run stops and is
    /// reported as incomplete.
    pub stop: Option<&'a AtomicBool>,
    /// Where the simulated time reached (nanoseconds) is stored every few
    /// thousand events, for a progress bar.
    pub progress: Option<&'a AtomicU64>,
    /// The objectives: their error budgets are tracked as the run goes,
    /// and `abort_on_burn` stops it.
    pub slo: &'a SloSpec,
}

/// What a simulation produced, before SLO evaluation.
#[derive(Debug)]
pub struct SimOutput {
    /// Everything recorded.
    pub recorder: Recorder,
    /// False if `stop` was raised or `abort_on_burn` fired.
    pub complete: bool,
    /// Simulated time when the last event ran.
    pub drained_at: SimTime,
    /// Per-variant cost over `[0, duration]` (or until the stop).
    pub costs: Vec<gameday_core::VariantCost>,
    /// Per-variant fleet over the same span.
    pub fleet: Vec<gameday_core::hosting::FleetStats>,
    /// Autoscaling of each variant that has it.
    pub scaling: Vec<gameday_core::autoscaling::TargetReport>,
    /// Every multi-model variant's model cache.
    pub models: Vec<gameday_core::hosting::ModelStats>,
    /// Time-average requests in each endpoint.
    pub mean_in_system: Vec<f64>,
    /// Events processed (arrivals, timers, ticks).
    pub events_processed: u64,
    /// Traffic duration actually simulated, seconds.
    pub duration_s: f64,
    /// Training jobs, in scenario order.
    pub training: Vec<TrainingJobReport>,
}

impl SimOutput {
    /// Evaluates the SLOs and builds the run record.
    pub fn finish(self, name: &str, seed: u64, slo: &SloSpec) -> RunRecord {
        self.recorder.finish(Finish {
            scenario: ScenarioInfo {
                name: name.to_string(),
                seed,
                clock: "virtual".into(),
                duration_s: self.duration_s,
                time_scale: None,
            },
            complete: self.complete,
            drained_at_s: self.drained_at.as_secs_f64(),
            costs: self.costs,
            fleet: self.fleet,
            scaling: self.scaling,
            models: self.models,
            mean_in_system: self.mean_in_system,
            training: self.training,
            slo,
        })
    }
}

#[derive(Clone, Copy, Debug)]
enum Event {
    Arrival(u16),
    Tick,
}

struct Workload {
    /// Closed loop: the next request follows each answer (`users`).
    closed: Option<gameday_core::ArrivalSpec>,
    process: ArrivalProcess,
    rng: StreamRng,
    request: Request,
    /// Multi-model endpoints: each request's target model.
    models: TargetModel,
    model_rng: StreamRng,
    /// Requests sent so far (a trace's model column is read in order).
    sent: u64,
}

/// How often (in events) the stop flag is checked.
const STOP_CHECK_EVERY: u64 = 4096;

/// Runs the simulation to the end (or until `stop` is raised).
pub fn simulate(cfg: SimConfig<'_>) -> SimOutput {
    let streams = RngStreams::new(cfg.seed);
    let end = SimTime::ZERO + cfg.duration;
    let interval = SimTime::ZERO + cfg.interval.max(Duration::from_millis(1));
    let max_timeout = cfg
        .workloads
        .iter()
        .map(|w| duration_nanos(w.timeout))
        .max()
        .unwrap_or(0);

    let mut platform = Platform::with_training(cfg.platform, cfg.training, streams);
    platform.set_end(end);
    let job_names: Vec<String> = platform.training_names().map(String::from).collect();
    let mut recorder = Recorder::new(cfg.platform, interval.as_nanos(), max_timeout);
    recorder.track_budget(cfg.slo, Some(end.as_nanos()));
    let mut queue: TimerQueue<Event> = TimerQueue::default();

    let mut workloads: Vec<Workload> = cfg
        .workloads
        .iter()
        .enumerate()
        .map(|(i, w)| Workload {
            closed: w.arrival.is_closed_loop().then(|| w.arrival.clone()),
            process: ArrivalProcess::new(w.arrival.clone()),
            rng: streams.stream(&format!("arrival/{}", w.name)),
            request: Request {
                id: i as u64,
                endpoint: w.endpoint as u16,
                target_variant: w.target_variant.map(|v| v as u16),
                sent_at: SimTime::ZERO,
                timeout_ns: duration_nanos(w.timeout),
                target_model: None,
            },
            models: w.target_model.clone(),
            model_rng: streams.stream(&format!("models/{}", w.name)),
            sent: 0,
        })
        .collect();
    for (i, w) in workloads.iter_mut().enumerate() {
        if let Some(t) = w.process.next_arrival(&mut w.rng).filter(|&t| t < end) {
            queue.push(t, Event::Arrival(i as u16));
        }
    }
    queue.push(interval.min(end), Event::Tick);

    // Shadow variants, (endpoint, variant): their results answer nobody.
    let shadows: Vec<(u16, u16)> = cfg
        .platform
        .endpoints
        .iter()
        .enumerate()
        .flat_map(|(e, ep)| {
            ep.variants
                .iter()
                .enumerate()
                .filter(|(_, v)| v.shadow.is_some())
                .map(move |(v, _)| (e as u16, v as u16))
        })
        .collect();
    let mut gauges = Vec::new();
    let mut processed = 0u64;
    let mut steps = 0u64;
    let mut complete = true;
    let mut now = SimTime::ZERO;
    loop {
        let ours = queue.peek_time();
        match platform.poll_timeout() {
            // The platform's timers first at a tie.
            Some(at) if ours.is_none_or(|o| at <= o) => {
                now = at;
                processed += platform.handle_timeout(at) as u64;
            }
            _ => {
                let Some((at, event)) = queue.pop() else {
                    break;
                };
                now = at;
                processed += 1;
                match event {
                    Event::Arrival(i) => {
                        let w = &mut workloads[i as usize];
                        let target_model = w.models.pick(w.sent, &mut w.model_rng);
                        w.sent += 1;
                        platform.handle_request(
                            now,
                            Request {
                                sent_at: now,
                                target_model,
                                ..w.request
                            },
                        );
                        if let Some(t) = w.process.next_arrival(&mut w.rng).filter(|&t| t < end) {
                            queue.push(t, Event::Arrival(i));
                        }
                    }
                    Event::Tick => {
                        gauges.clear();
                        platform.gauges(&mut gauges);
                        recorder.gauges(now.as_nanos(), &gauges);
                        recorder.advance(now.as_nanos());
                        if recorder.budget_aborted() {
                            // `abort_on_burn`: stop like an interrupt.
                            complete = false;
                            break;
                        }
                        if now < end {
                            queue.push(now.add_nanos(interval.as_nanos()).min(end), Event::Tick);
                        }
                    }
                }
            }
        }
        steps += 1;
        if steps % STOP_CHECK_EVERY == 0 {
            if cfg.stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                complete = false;
                break;
            }
            if let Some(p) = cfg.progress {
                p.store(now.as_nanos(), Ordering::Relaxed);
            }
        }
        while let Some(r) = platform.poll_result() {
            recorder.record(&r);
            if shadows.contains(&(r.endpoint, r.variant)) {
                continue; // a shadow's copy: nobody waits for it
            }
            // A closed-loop user sends again one think time after its answer.
            let w = &mut workloads[r.id as usize];
            if let Some(think) = w.closed.as_ref().and_then(|a| a.think(&mut w.rng)) {
                let t = r.sent_at.add_nanos(r.latency_ns).add_nanos(think).max(now);
                if t < end {
                    queue.push(t, Event::Arrival(r.id as u16));
                }
            }
        }
        while let Some(e) = platform.poll_event() {
            recorder.event(&e);
        }
        while let Some(e) = platform.poll_training_event() {
            recorder.training_event(&e, &job_names[e.job]);
        }
    }

    let billed_until = if complete { end } else { now.min(end) };
    let duration_s = billed_until.as_secs_f64();
    let training = platform
        .training_outcomes(now)
        .iter()
        .zip(&cfg.training.jobs)
        .map(|(o, spec)| TrainingJobReport::new(o, spec))
        .collect();
    SimOutput {
        training,
        costs: platform.cost(billed_until),
        fleet: platform.fleet_stats(billed_until),
        scaling: platform.scaling(),
        models: platform.model_stats(billed_until),
        mean_in_system: (0..cfg.platform.endpoints.len())
            .map(|e| platform.mean_in_system(e, billed_until))
            .collect(),
        recorder,
        complete,
        drained_at: now,
        events_processed: processed,
        duration_s,
    }
}
