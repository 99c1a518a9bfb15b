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
//! - [`spec`]: plain-data platform, fault and workload descriptions.
//! - [`platform`]: the state machine: routing, instance slots and FIFO
//!   queues, timeouts, faults, fleet replacement, cost metering.
//! - [`outcome`]: what comes out: request results, events, gauges, cost.
//! - [`training`]: training jobs on spot or on-demand capacity: lifecycle,
//!   interruptions, checkpoints, capacity waits, billable time.
//!
//! # Driving a [`Platform`]
//!
//! A driver owns the clock and a timer queue; the platform owns state. The
//! contract is the one `quinn-proto` uses for a QUIC connection:
//!
//! 1. Build it with [`Platform::new`]. Then drain [`Platform::poll_timer`]:
//!    scheduled faults are already waiting there.
//! 2. When a request arrives (the driver's arrival process fired, or an HTTP
//!    request came in) call [`Platform::handle_request`] with the current
//!    time and the request's *intended* send time.
//! 3. When a timer the platform asked for comes due, call
//!    [`Platform::handle_timer`]. Timers due at the same instant must be
//!    handed back in the order they were polled (the simulator orders by
//!    time, then by insertion).
//! 4. After **every** `handle_*` call, drain all three outputs:
//!    - [`Platform::poll_timer`]: wake-ups to schedule;
//!    - [`Platform::poll_result`]: finished requests (latency is measured
//!      from the intended send time, so a late generator cannot hide a
//!      stall);
//!    - [`Platform::poll_event`]: discrete events for the timeline.
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
//! use std::collections::BTreeMap;
//! use gameday_core::{Platform, Request, RngStreams, SimTime, spec::*, dist::ServiceDist};
//!
//! let spec = PlatformSpec {
//!     endpoints: vec![EndpointSpec {
//!         name: "ep".into(),
//!         routing: Routing::Random,
//!         variants: vec![VariantSpec {
//!             name: "AllTraffic".into(),
//!             model: "m".into(),
//!             weight: 1.0,
//!             instance: InstanceTypeSpec {
//!                 name: "ml.m5.xlarge".into(),
//!                 price_per_hour: 0.23,
//!                 provisioning_min: std::time::Duration::from_secs(240),
//!                 provisioning_max: std::time::Duration::from_secs(360),
//!             },
//!             instance_count: 1,
//!             concurrency: 1,
//!             service: ServiceDist::constant(0.010).unwrap(),
//!             external: false,
//!         }],
//!     }],
//!     faults: vec![],
//! };
//! let mut p = Platform::new(&spec, RngStreams::new(7));
//! let mut timers = BTreeMap::new(); // (time, insertion) -> timer
//! let mut seq = 0u64;
//! let req = Request { id: 0, endpoint: 0, target_variant: None, sent_at: SimTime::ZERO, timeout_ns: 1_000_000_000 };
//! p.handle_request(SimTime::ZERO, req);
//! loop {
//!     while let Some((at, t)) = p.poll_timer() { timers.insert((at, seq), t); seq += 1; }
//!     if let Some(r) = p.poll_result() { assert_eq!(r.latency_ns, 10_000_000); break; }
//!     let ((now, _), t) = timers.pop_first().expect("a timer is pending");
//!     p.handle_timer(now, t);
//! }
//! ```

pub mod arrival;
pub mod dist;
pub mod outcome;
pub mod platform;
pub mod rng;
pub mod spec;
pub mod time;
pub mod training;

#[cfg(test)]
mod tests;

pub use arrival::{ArrivalProcess, ArrivalSpec};
pub use outcome::{
    Cause, EventKind, Outcome, PlatformEvent, RequestResult, VariantCost, VariantGauge,
};
pub use platform::{FaultState, Platform, Request, ServiceStart, Timer};
pub use rng::{RngStreams, StreamRng};
pub use time::SimTime;
pub use training::{
    JobStatus, SecondaryStatus, Training, TrainingAction, TrainingEvent, TrainingEventKind,
    TrainingOutcome, TrainingSpec, TrainingTimer,
};
