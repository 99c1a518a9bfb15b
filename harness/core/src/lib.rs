//! The sans-IO model of a SageMaker-style ML platform.
//!
//! Nothing here does IO, reads a clock or touches a thread RNG: every call
//! takes `now` from its driver and every random draw comes from a named,
//! seeded stream. The virtual-clock simulator (`gameday-sim`) and the
//! wall-clock server drive the same [`Platform`], so behaviour is written
//! once and a fix lands in both clocks.
//!
//! # Module map
//!
//! - [`time`]: [`SimTime`], nanoseconds since the run started.
//! - [`rng`]: one master seed, one independent stream per named component.
//! - [`dist`]: service-time distributions (log-normal from p50/p99,
//!   exponential, constant, empirical).
//! - [`arrival`]: arrival processes (constant, Poisson, ramp, steps, spike,
//!   diurnal, trace replay) that give each request its intended send time.
//! - [`fault_kinds`]: the one fault vocabulary, shared by scenarios and the
//!   live control API.
//! - [`spec`]: plain-data platform, fault and workload descriptions.
//! - [`scale`]: [`TimeScale`], one time compression for a whole scenario,
//!   and the way back to scenario time for reports.
//! - [`timers`]: the one timer queue, ordered by time then insertion.
//! - [`platform`]: the composed state machine: it owns the timer queue
//!   and routes inputs, wake-ups and outputs between its components.
//! - [`autoscaling`]: Application Auto Scaling of variants: CloudWatch
//!   alarms on the metrics, target-tracking, step and scheduled scaling,
//!   cooldowns and scaling activities.
//! - [`capacity`]: a pool per instance type, shared by endpoint launches
//!   and training jobs: shortages, `InsufficientCapacity`, backoff.
//! - [`features`]: the online feature store: lookups before inference,
//!   outages, fallbacks, the per-instance cache and feature ages.
//! - [`hosting`]: endpoints, variants, instances: routing, slots and FIFO
//!   queues, timeouts, per-request faults, fleet replacement, cost.
//! - [`metrics`]: CloudWatch-style datapoints per endpoint and variant
//!   at 60 s and 10 s periods, fed by finished requests and hosting's
//!   level integrals.
//! - [`outcome`]: what comes out: request results, events, gauges, cost,
//!   and actions for the driver.
//! - [`training`]: training jobs on spot or on-demand capacity: lifecycle,
//!   interruptions, checkpoints, capacity waits, billable time.
//!
//! # Driving a [`Platform`]
//!
//! The driver owns the clock; the platform owns its state **and its
//! timers**. The contract is the one `quinn-proto` uses for a QUIC
//! connection:
//!
//! 1. Build it with [`Platform::new`] (or [`Platform::with_training`]) and,
//!    for a bounded run, [`Platform::set_end`].
//! 2. Feed it inputs through `handle_*` with the current time: a request
//!    arrived ([`Platform::handle_request`], with its *intended* send
//!    time), a real model server answered ([`Platform::handle_completion`])
//!    or became healthy or exited, a training process reported a step or
//!    exited, an operator injected or ended a fault.
//! 3. Ask [`Platform::poll_timeout`] when the platform next needs time to
//!    pass, and call [`Platform::handle_timeout`] once the clock reaches
//!    it (a virtual clock jumps there; a wall clock sleeps until then or
//!    until the next input, whichever is first).
//! 4. After **every** `handle_*` call, drain the outputs:
//!    - [`Platform::poll_result`]: finished requests (latency is measured
//!      from the intended send time, so a late generator cannot hide a
//!      stall);
//!    - [`Platform::poll_event`] and [`Platform::poll_training_event`]:
//!      discrete events for the timeline;
//!    - [`Platform::poll_start`]: requests to forward to a real model
//!      server;
//!    - [`Platform::poll_action`]: processes to start, signal or stop.
//!      The platform decides; the driver only carries out.
//! 5. Whenever it likes (the simulator does it once per report interval),
//!    read [`Platform::gauges`]; at the end read [`Platform::cost`] and
//!    [`Platform::mean_in_system`].
//!
//! Results may come out before simulated time reaches their end: a request
//! whose service will overrun its deadline is reported as a timeout when its
//! service starts, and a blackholed request when it arrives. Each result
//! carries its send time and latency, so recorders bucket by send time.
//!
//! A minimal driver:
//!
//! ```
//! use gameday_core::{Platform, Request, RngStreams, SimTime, spec::*, dist::ServiceDist};
//!
//! let spec = PlatformSpec {
//!     endpoints: vec![EndpointSpec {
//!         name: "ep".into(),
//!         routing: Routing::Random,
//!         zones: 3,
//!         variants: vec![VariantSpec {
//!             name: "AllTraffic".into(),
//!             model: "m".into(),
//!             weight: 1.0,
//!             instance: InstanceTypeSpec {
//!                 name: "ml.m5.xlarge".into(),
//!                 price_per_hour: 0.23,
//!                 provisioning_min: std::time::Duration::from_secs(240),
//!                 provisioning_max: std::time::Duration::from_secs(360),
//!                 vcpus: 4,
//!                 gpus: 0,
//!             },
//!             instance_count: 1,
//!             concurrency: 1,
//!             service: ServiceDist::constant(0.010).unwrap(),
//!             external: false,
//!             model_load: std::time::Duration::ZERO,
//!             autoscaling: None,
//!             multi_model: None,
//!             error_rate: 0.0,
//!             shadow: None,
//!         }],
//!     }],
//!     faults: vec![],
//!     shortages: vec![],
//!     zone_outages: vec![],
//!     feature_store: Default::default(),
//! };
//! let mut p = Platform::new(&spec, RngStreams::new(7));
//! let req = Request { id: 0, endpoint: 0, target_variant: None, sent_at: SimTime::ZERO, timeout_ns: 1_000_000_000, target_model: None };
//! p.handle_request(SimTime::ZERO, req);
//! let result = loop {
//!     if let Some(r) = p.poll_result() { break r; }
//!     let now = p.poll_timeout().expect("a timer is pending");
//!     p.handle_timeout(now);
//! };
//! assert_eq!(result.latency_ns, 10_000_000);
//! ```

pub mod arrival;
pub mod autoscaling;
pub mod capacity;
pub mod dist;
pub mod fault_kinds;
pub mod features;
pub mod hosting;
pub mod metrics;
pub mod mme;
pub mod outcome;
pub mod platform;
mod prefetch;
pub mod rng;
pub mod scale;
pub mod spec;
pub mod time;
pub mod timers;
pub mod training;

#[cfg(test)]
mod tests;

pub use arrival::{ArrivalProcess, ArrivalSpec};
pub use hosting::{FaultState, Request, ServiceStart, Timer};
pub use outcome::{
    Action, Cause, EventKind, ModelLoadAnswer, Outcome, PlatformEvent, RequestResult, VariantCost,
    VariantGauge,
};
pub use platform::Platform;
pub use rng::{RngStreams, StreamRng};
pub use scale::TimeScale;
pub use time::SimTime;
pub use timers::{TimerId, TimerQueue};
pub use training::{
    JobStatus, SecondaryStatus, Training, TrainingAction, TrainingEvent, TrainingEventKind,
    TrainingOutcome, TrainingSpec, TrainingTimer,
};
