//! Feature-store outages on the timeline: hosting times them, the store
//! applies them, and each endpoint that reads the group gets the event.

use super::{Hosting, Timer};
use crate::features::OutageMode;
use crate::outcome::EventKind;
use crate::time::SimTime;

impl Hosting {
    /// Feature-store outage `k` starts (`start`) or ends.
    pub(super) fn feature_outage(&mut self, now: SimTime, k: u32, start: bool) {
        let Some(store) = self.features.as_deref_mut() else {
            return;
        };
        let o = store.outages()[k as usize].clone();
        if start {
            store.outage_start(now, k);
            if let Some(d) = o.duration {
                self.timers
                    .push_back((now + d, Timer::FeatureOutageEnd { outage: k }));
            }
        } else {
            store.outage_end(now, k);
        }
        let group = store.group_name(o.group).to_owned();
        let what = match o.mode {
            OutageMode::Unavailable => "every lookup is answered ServiceUnavailable".to_owned(),
            OutageMode::Slow { delay } => {
                format!(
                    "lookups take {} ms longer",
                    self.scale.secs_to_scenario(delay.as_secs_f64()) * 1e3
                )
            }
            OutageMode::Errors { rate } => {
                format!("{:.0}% of lookups fail with InternalFailure", rate * 100.0)
            }
            OutageMode::Throttled { tps } => {
                format!("lookups above {tps} per second are throttled")
            }
            OutageMode::Stale => "ingestion stopped: records are not refreshed".to_owned(),
        };
        let (kind, detail) = if start {
            (
                EventKind::FaultInjected,
                format!(
                    "feature_store_outage ({}) of {group} began: {what}",
                    o.mode.as_str()
                ),
            )
        } else {
            (
                EventKind::FaultCleared,
                format!(
                    "feature_store_outage ({}) of {group} ended",
                    o.mode.as_str()
                ),
            )
        };
        for e in store.readers(o.group) {
            self.event(now, kind, e, None, None, detail.clone());
        }
    }
}
