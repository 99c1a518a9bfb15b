//! Availability zones: instances spread over an endpoint's zones, a zone
//! outage kills the instances in it and keeps launches out until it ends.
//!
//! gameday's placement, where AWS documents none: a launch goes to the
//! usable zone (not in an outage, within the endpoint's zones) holding
//! the fewest of the variant's instances in service or provisioning, the
//! lowest zone on a tie; so a fleet fills the zones round robin and a
//! lost zone's replacements go to the others. Nothing moves back when the
//! zone returns.

use super::{Hosting, InstanceState};
use crate::outcome::EventKind;
use crate::spec::zone_name;
use crate::time::SimTime;

impl Hosting {
    /// The zone a new instance of variant `v` of endpoint `e` goes to,
    /// or `None` when every zone of the endpoint is out.
    pub(super) fn pick_zone(&self, e: usize, v: usize) -> Option<u8> {
        let zones = self.endpoints[e].zones;
        let mut count = [0u32; 26];
        for i in &self.instances {
            if i.endpoint as usize == e
                && i.variant as usize == v
                && matches!(
                    i.state,
                    InstanceState::InService | InstanceState::Provisioning
                )
            {
                count[i.zone as usize] += 1;
            }
        }
        (0..zones)
            .filter(|&z| self.zone_down[z as usize] == 0)
            .min_by_key(|&z| (count[z as usize], z))
    }

    pub(super) fn zone_outage_start(&mut self, now: SimTime, outage: u32) {
        let o = self.zone_outages[outage as usize].clone();
        let z = o.zone;
        self.zone_down[z as usize] += 1;
        if let Some(d) = o.duration {
            self.timers
                .push_back((now + d, super::Timer::ZoneOutageEnd { outage }));
        }
        for e in 0..self.endpoints.len() {
            if z >= self.endpoints[e].zones {
                continue;
            }
            let victims: Vec<u32> = (0..self.instances.len() as u32)
                .filter(|&i| {
                    let x = &self.instances[i as usize];
                    x.endpoint as usize == e && x.zone == z
                })
                .collect();
            let detail = format!(
                "az_outage of zone {} began: its instances are lost, launches go to the other zones",
                zone_name(z)
            );
            self.event(now, EventKind::FaultInjected, e, None, None, detail);
            for inst in victims {
                match self.instances[inst as usize].state {
                    InstanceState::InService => {
                        self.crash(now, inst, o.detect_after);
                    }
                    InstanceState::Provisioning => {
                        self.replace_provisioning(
                            now,
                            inst,
                            "lost with its zone while provisioning; replacing",
                        );
                    }
                    _ => {}
                }
            }
        }
    }

    pub(super) fn zone_outage_end(&mut self, now: SimTime, outage: u32) {
        let z = self.zone_outages[outage as usize].zone;
        self.zone_down[z as usize] -= 1;
        for e in 0..self.endpoints.len() {
            if z < self.endpoints[e].zones {
                let detail = format!("az_outage of zone {} ended", zone_name(z));
                self.event(now, EventKind::FaultCleared, e, None, None, detail);
            }
        }
    }
}
