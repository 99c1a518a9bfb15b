//! The capacity component: one pool per instance type, shared by the
//! endpoints' launches (replacements, and scale-outs to come) and the
//! training jobs.
//!
//! A pool is either available or short: a scheduled `capacity_shortage`
//! makes it short from its start for its `for` (or for good), and
//! shortages may overlap. Hosting and training ask the pool through the
//! composed [`crate::Platform`] each time they need instances and act on
//! the answer: a refused launch fails with `InsufficientCapacity` and is
//! retried with backoff ([`launch_backoff`]); an on-demand training job
//! fails; a spot job waits for the shortage to end.
//!
//! gameday's assumptions, where AWS documents none: a pool has no count,
//! only the two states (a shortage takes all of a type away); a refused
//! endpoint launch is retried after 30 s, doubling up to 5 minutes, until
//! it succeeds (the replacement queues, the endpoint stays `InService` on
//! its other instances).

use std::collections::VecDeque;
use std::time::Duration;

use crate::time::SimTime;

/// A scheduled capacity shortage of one instance type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShortageSpec {
    /// When it starts.
    pub at: Duration,
    /// How long it lasts; `None`: to the end of the run and beyond.
    pub duration: Option<Duration>,
    /// The instance type (`ml.p4d.24xlarge`).
    pub instance_type: String,
}

/// The wait before retry `attempt` (0 for the first) of a launch the pool
/// refused: 30 s, doubling, at most 5 minutes.
pub fn launch_backoff(attempt: u32) -> Duration {
    const FIRST: Duration = Duration::from_secs(30);
    const MAX: Duration = Duration::from_secs(300);
    FIRST.saturating_mul(1u32 << attempt.min(16)).min(MAX)
}

/// A wake-up of the capacity component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CapacityTimer {
    /// Shortage `i` starts.
    Start(u32),
    /// Shortage `i` ends.
    End(u32),
}

/// What the capacity component tells the platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Notice {
    /// Pool `pool` became short (again, if already short).
    ShortageBegan {
        /// The pool.
        pool: usize,
    },
    /// A shortage of pool `pool` ended; `restored` when none is left.
    ShortageEnded {
        /// The pool.
        pool: usize,
        /// The pool is available again.
        restored: bool,
    },
}

#[derive(Clone, Debug)]
struct Pool {
    name: String,
    /// Shortages in force.
    short: u32,
}

/// The pools and their scheduled shortages.
#[derive(Clone, Debug)]
pub(crate) struct Capacity {
    pools: Vec<Pool>,
    shortages: Vec<(usize, Option<Duration>)>,
    timers: VecDeque<(SimTime, CapacityTimer)>,
    notices: VecDeque<Notice>,
}

impl Capacity {
    /// A pool for every type in `types` (duplicates collapse, first
    /// mention first) and for every type a shortage names; the shortages'
    /// starts are already in [`Capacity::poll_timer`].
    pub(crate) fn new<'a>(
        types: impl IntoIterator<Item = &'a str>,
        shortages: &[ShortageSpec],
    ) -> Self {
        let mut c = Capacity {
            pools: Vec::new(),
            shortages: Vec::new(),
            timers: VecDeque::new(),
            notices: VecDeque::new(),
        };
        for t in types {
            c.pool_of(t);
        }
        for (i, s) in shortages.iter().enumerate() {
            let pool = c.pool_of(&s.instance_type);
            c.shortages.push((pool, s.duration));
            c.timers
                .push_back((SimTime::ZERO + s.at, CapacityTimer::Start(i as u32)));
        }
        c
    }

    /// The pool of instance type `name`, added if new.
    pub(crate) fn pool_of(&mut self, name: &str) -> usize {
        if let Some(i) = self.pools.iter().position(|p| p.name == name) {
            return i;
        }
        self.pools.push(Pool {
            name: name.to_string(),
            short: 0,
        });
        self.pools.len() - 1
    }

    /// The instance type of `pool`.
    pub(crate) fn name(&self, pool: usize) -> &str {
        &self.pools[pool].name
    }

    /// Whether instances of `pool` can be had now.
    #[inline]
    pub(crate) fn available(&self, pool: usize) -> bool {
        self.pools[pool].short == 0
    }

    /// The next wake-up to schedule.
    pub(crate) fn poll_timer(&mut self) -> Option<(SimTime, CapacityTimer)> {
        self.timers.pop_front()
    }

    /// Whether a notice waits.
    #[inline]
    pub(crate) fn has_notice(&self) -> bool {
        !self.notices.is_empty()
    }

    /// The next notice for the platform to pass on.
    pub(crate) fn poll_notice(&mut self) -> Option<Notice> {
        self.notices.pop_front()
    }

    /// A timer asked for earlier has come due.
    pub(crate) fn handle_timer(&mut self, now: SimTime, t: CapacityTimer) {
        match t {
            CapacityTimer::Start(i) => {
                let (pool, duration) = self.shortages[i as usize];
                self.pools[pool].short += 1;
                self.notices.push_back(Notice::ShortageBegan { pool });
                if let Some(d) = duration {
                    self.timers.push_back((now + d, CapacityTimer::End(i)));
                }
            }
            CapacityTimer::End(i) => {
                let pool = self.shortages[i as usize].0;
                let p = &mut self.pools[pool];
                p.short = p.short.saturating_sub(1);
                self.notices.push_back(Notice::ShortageEnded {
                    pool,
                    restored: p.short == 0,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_shortages_restore_the_pool_only_when_both_end() {
        let s = |at, d: Option<u64>, t: &str| ShortageSpec {
            at: Duration::from_secs(at),
            duration: d.map(Duration::from_secs),
            instance_type: t.into(),
        };
        let mut c = Capacity::new(
            ["ml.g5.xlarge", "ml.p4d.24xlarge", "ml.g5.xlarge"],
            &[
                s(10, Some(100), "ml.p4d.24xlarge"),
                s(50, Some(10), "ml.p4d.24xlarge"),
            ],
        );
        assert_eq!(c.pool_of("ml.g5.xlarge"), 0, "duplicates collapse");
        let mut timers = Vec::new();
        while let Some(t) = c.poll_timer() {
            timers.push(t);
        }
        assert_eq!(timers.len(), 2);
        c.handle_timer(SimTime::ZERO + Duration::from_secs(10), timers[0].1);
        assert!(!c.available(1) && c.available(0));
        c.handle_timer(SimTime::ZERO + Duration::from_secs(50), timers[1].1);
        let ends: Vec<_> = std::iter::from_fn(|| c.poll_timer()).collect();
        assert_eq!(ends.len(), 2);
        // The second (shorter) one ends first: still short.
        c.handle_timer(ends[1].0, ends[1].1);
        assert!(!c.available(1));
        c.handle_timer(ends[0].0, ends[0].1);
        assert!(c.available(1));
        let notices: Vec<_> = std::iter::from_fn(|| c.poll_notice()).collect();
        assert_eq!(
            notices,
            vec![
                Notice::ShortageBegan { pool: 1 },
                Notice::ShortageBegan { pool: 1 },
                Notice::ShortageEnded {
                    pool: 1,
                    restored: false
                },
                Notice::ShortageEnded {
                    pool: 1,
                    restored: true
                },
            ]
        );
        assert_eq!(c.name(1), "ml.p4d.24xlarge");
    }

    #[test]
    fn backoff_doubles_to_five_minutes() {
        let secs: Vec<u64> = (0..6).map(|a| launch_backoff(a).as_secs()).collect();
        assert_eq!(secs, vec![30, 60, 120, 240, 300, 300]);
        assert_eq!(launch_backoff(u32::MAX), Duration::from_secs(300));
    }
}
