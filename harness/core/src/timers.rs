//! The one timer queue of the tree: ordered by time, then by insertion,
//! so two timers due at the same instant always fire in the order they
//! were set (the same rule as nexosim's priority queue). The platform keeps
//! its wake-ups here; the simulator keeps its arrivals and report ticks in
//! another instance of the same type.

use std::cmp::Ordering;
use std::collections::{BTreeSet, BinaryHeap};

use crate::time::SimTime;

/// Names one timer set on a [`TimerQueue`], for [`TimerQueue::cancel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(u64);

struct Entry<T> {
    at: SimTime,
    seq: u64,
    timer: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap is a max-heap: reverse so the earliest comes first.
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// Timers of type `T` keyed by `(time, insertion counter)`, with
/// cancellation.
pub struct TimerQueue<T> {
    heap: BinaryHeap<Entry<T>>,
    seq: u64,
    /// Set but cancelled; dropped when they reach the front.
    cancelled: BTreeSet<u64>,
}

impl<T> Default for TimerQueue<T> {
    fn default() -> Self {
        TimerQueue {
            heap: BinaryHeap::new(),
            seq: 0,
            cancelled: BTreeSet::new(),
        }
    }
}

impl<T> std::fmt::Debug for TimerQueue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerQueue")
            .field("pending", &self.len())
            .field("next", &self.peek_time())
            .finish()
    }
}

impl<T> TimerQueue<T> {
    /// Sets `timer` to fire at `at`.
    #[inline]
    pub fn push(&mut self, at: SimTime, timer: T) -> TimerId {
        let seq = self.seq;
        self.heap.push(Entry { at, seq, timer });
        self.seq += 1;
        TimerId(seq)
    }

    /// Cancels a timer that has not fired; a fired or unknown id is
    /// ignored.
    pub fn cancel(&mut self, id: TimerId) {
        if id.0 < self.seq && self.heap.iter().any(|e| e.seq == id.0) {
            self.cancelled.insert(id.0);
        }
    }

    fn skip_cancelled(&mut self) {
        while let Some(top) = self.heap.peek() {
            if !self.cancelled.remove(&top.seq) {
                return;
            }
            self.heap.pop();
        }
    }

    /// When the earliest live timer is due.
    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        if self.cancelled.is_empty() {
            return self.heap.peek().map(|e| e.at);
        }
        // Rare: only cancelled timers can hide the front.
        let mut live: Vec<&Entry<T>> = self
            .heap
            .iter()
            .filter(|e| !self.cancelled.contains(&e.seq))
            .collect();
        live.sort_unstable();
        live.last().map(|e| e.at)
    }

    /// The earliest live timer, left in place.
    #[inline]
    pub fn peek(&mut self) -> Option<(SimTime, &T)> {
        self.skip_cancelled();
        self.heap.peek().map(|e| (e.at, &e.timer))
    }

    /// Removes and returns the earliest timer.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, T)> {
        self.skip_cancelled();
        self.heap.pop().map(|e| (e.at, e.timer))
    }

    /// Removes and returns the earliest timer if it is due by `now`.
    #[inline]
    pub fn pop_due(&mut self, now: SimTime) -> Option<(SimTime, T)> {
        self.skip_cancelled();
        if self.heap.peek()?.at > now {
            return None;
        }
        self.pop()
    }

    /// Live timers waiting.
    pub fn len(&self) -> usize {
        self.heap.len() - self.cancelled.len()
    }

    /// True when no live timer is set.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(n: u64) -> SimTime {
        SimTime::from_nanos(n)
    }

    #[test]
    fn time_then_insertion_order() {
        let mut q = TimerQueue::default();
        q.push(t(5), "b1");
        q.push(t(1), "a");
        q.push(t(5), "b2");
        q.push(t(3), "c");
        q.push(t(5), "b3");
        let got: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(got, vec!["a", "c", "b1", "b2", "b3"]);
        assert!(q.is_empty());
    }

    #[test]
    fn a_cancelled_timer_never_fires_and_hides_nothing() {
        let mut q = TimerQueue::default();
        let a = q.push(t(1), "a");
        q.push(t(2), "b");
        let c = q.push(t(2), "c");
        q.cancel(a);
        q.cancel(c);
        q.cancel(a); // twice: no effect
        assert_eq!(q.len(), 1);
        assert_eq!(q.peek_time(), Some(t(2)));
        assert_eq!(q.pop_due(t(1)), None);
        assert_eq!(q.pop_due(t(2)), Some((t(2), "b")));
        assert_eq!(q.pop(), None);
        assert!(q.is_empty());
        // A fired timer's id cancels nothing later.
        let d = q.push(t(3), "d");
        assert_eq!(q.pop(), Some((t(3), "d")));
        q.cancel(d);
        q.push(t(4), "e");
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop(), Some((t(4), "e")));
    }

    #[test]
    fn pop_due_stops_at_the_first_timer_in_the_future() {
        let mut q = TimerQueue::default();
        q.push(t(10), 1);
        q.push(t(5), 2);
        q.push(t(20), 3);
        let due: Vec<_> = std::iter::from_fn(|| q.pop_due(t(10))).collect();
        assert_eq!(due, vec![(t(5), 2), (t(10), 1)]);
        assert_eq!(q.peek_time(), Some(t(20)));
    }
}
