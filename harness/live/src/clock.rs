//! The wall clock: real time since the platform started, as the core's
//! [`SimTime`]. This and the load generator's scheduler are the only
//! places the live driver reads a clock.

use std::time::{Duration, Instant};

use gameday_core::SimTime;

/// Monotonic time since a start instant.
#[derive(Clone, Copy, Debug)]
pub struct WallClock {
    start: Instant,
}

impl WallClock {
    /// A clock whose zero is now.
    #[allow(clippy::disallowed_methods)] // the wall clock is the one place that reads real time
    pub fn start() -> Self {
        WallClock {
            start: Instant::now(),
        }
    }

    /// A clock whose zero is `zero` (to share another clock's origin).
    pub fn at(zero: Instant) -> Self {
        WallClock { start: zero }
    }

    /// The instant time zero stands for.
    pub fn zero(&self) -> Instant {
        self.start
    }

    /// Time since zero.
    #[allow(clippy::disallowed_methods)]
    pub fn now(&self) -> SimTime {
        SimTime::from_nanos(self.start.elapsed().as_nanos() as u64)
    }

    /// The real instant a core time stands for.
    pub fn instant(&self, t: SimTime) -> Instant {
        self.start + Duration::from_nanos(t.as_nanos())
    }
}
