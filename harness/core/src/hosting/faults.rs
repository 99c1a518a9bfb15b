//! Faults: the schedule, operators' commands, and the ordered list of
//! per-request rules each endpoint applies.

use super::{index, FaultState, Hosting, InstanceState, Timer};
use crate::outcome::EventKind;
use crate::spec::{FaultKind, FaultSpec};
use crate::time::SimTime;

impl Hosting {
    /// A fault injected while the platform runs (a game-day operator's
    /// command). It starts at `now`, whatever its `at` says, and its `for`
    /// window counts from `now`. Returns its index among the faults.
    pub fn inject_fault(&mut self, now: SimTime, mut fault: FaultSpec) -> u32 {
        let i = self.faults.len() as u32;
        fault.at = std::time::Duration::from_nanos(now.as_nanos());
        self.fault_rngs
            .push(self.streams.stream(&format!("fault/live/{i}")));
        self.faults.push(fault);
        self.cancelled.push(false);
        self.fault_start(now, i);
        i
    }

    /// Every fault, scheduled or injected, with where it stands at `now`.
    pub fn faults(&self, now: SimTime) -> Vec<(u32, &FaultSpec, FaultState)> {
        self.faults
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let active = self.endpoints[f.target.endpoint]
                    .active_faults
                    .contains(&(i as u32));
                let state = if active {
                    FaultState::Active
                } else if self.cancelled[i] {
                    FaultState::Cancelled
                } else if SimTime::ZERO + f.at > now {
                    FaultState::Scheduled
                } else {
                    FaultState::Ended
                };
                (i as u32, f, state)
            })
            .collect()
    }

    /// Ends fault `fault` now (an operator's command): an active one is
    /// cleared, a scheduled one will not start. Returns false for an
    /// unknown index or a fault that is already over.
    pub fn end_fault(&mut self, now: SimTime, fault: u32) -> bool {
        let i = fault as usize;
        match self.faults(now).get(i).map(|f| f.2) {
            Some(FaultState::Active) => {
                self.cancelled[i] = true;
                self.fault_end(now, fault);
                true
            }
            Some(FaultState::Scheduled) => {
                self.cancelled[i] = true;
                let f = &self.faults[i];
                let (e, v) = (f.target.endpoint, f.target.variant);
                let detail = format!("{} cancelled before it started", f.kind.as_str());
                self.event(now, EventKind::FaultCleared, e, v, None, detail);
                true
            }
            _ => false,
        }
    }

    pub(super) fn fault_start(&mut self, now: SimTime, fault: u32) {
        if self.cancelled[fault as usize] {
            return;
        }
        let f = self.faults[fault as usize].clone();
        let e = f.target.endpoint;
        let detail = match &f.kind {
            FaultKind::InstanceCrash { count, .. } => format!("instance_crash count={count}"),
            FaultKind::LatencyInjection { delay } => {
                format!("latency_injection delay={}ms", delay.as_secs_f64() * 1e3)
            }
            FaultKind::ErrorInjection { rate, status } => {
                format!("error_injection rate={rate} status={status}")
            }
            FaultKind::Blackhole => "blackhole".to_string(),
            FaultKind::ModelDownloadSlow { factor } => {
                format!("model_download_slow factor={factor}")
            }
            FaultKind::ModelLoadFailure { rate, model } => match model {
                Some(m) => format!(
                    "model_load_failure model={}",
                    self.endpoints[e]
                        .variants
                        .iter()
                        .find_map(|v| v.spec.multi_model.as_ref())
                        .map_or(String::new(), |mm| mm.models[*m as usize].name.clone())
                ),
                None => format!("model_load_failure rate={rate}"),
            },
        };
        self.event(
            now,
            EventKind::FaultInjected,
            e,
            f.target.variant,
            None,
            detail,
        );
        match f.kind {
            FaultKind::InstanceCrash {
                count,
                detect_after,
            } => {
                self.crash_instances(now, fault as usize, count, detect_after);
            }
            _ => {
                let active = &mut self.endpoints[e].active_faults;
                let at = active.partition_point(|&a| a < fault);
                active.insert(at, fault);
                if let Some(d) = f.duration {
                    self.timers.push_back((now + d, Timer::FaultEnd { fault }));
                }
            }
        }
    }

    pub(super) fn fault_end(&mut self, now: SimTime, fault: u32) {
        let f = &self.faults[fault as usize];
        let (e, v) = (f.target.endpoint, f.target.variant);
        let kind = f.kind.as_str().to_string();
        let active = &mut self.endpoints[e].active_faults;
        if !active.contains(&fault) {
            return; // ended early by an operator; its timer still fires
        }
        active.retain(|&a| a != fault);
        self.event(now, EventKind::FaultCleared, e, v, None, kind);
    }

    pub(super) fn crash_instances(
        &mut self,
        now: SimTime,
        fault: usize,
        count: u32,
        detect_after: std::time::Duration,
    ) {
        let target = self.faults[fault].target;
        let mut candidates: Vec<u32> = self
            .instances
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                i.state == InstanceState::InService
                    && !i.draining
                    && i.endpoint as usize == target.endpoint
                    && target.variant.is_none_or(|v| v == i.variant as usize)
            })
            .map(|(id, _)| id as u32)
            .collect();
        let n = (count as usize).min(candidates.len());
        for k in 0..n {
            let j = k + index(&mut self.fault_rngs[fault], candidates.len() - k);
            candidates.swap(k, j);
        }
        let mut victims = candidates[..n].to_vec();
        victims.sort_unstable();
        for inst in victims {
            self.crash(now, inst, detect_after);
        }
    }
}
