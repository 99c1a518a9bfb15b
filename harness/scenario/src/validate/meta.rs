//! `[scenario]` and `[target]`: the run's name, duration, timeline
//! interval, time scale and clock, and what the traffic is sent to.

use std::time::Duration;

use super::{check_time_scale, Cx, DEFAULT_INTERVAL};
use crate::diag::path;
use crate::raw::RawScenario;
use crate::{ClockKind, TargetKind};

/// What `[scenario]` and `[target]` settle for the rest of validation.
pub(super) struct Meta {
    pub(super) duration: Duration,
    pub(super) interval: Duration,
    pub(super) time_scale: f64,
    pub(super) clock: ClockKind,
    pub(super) target: TargetKind,
    pub(super) max_attempts: u32,
}

/// Checks `[scenario]` and `[target]`.
pub(super) fn build(cx: &mut Cx<'_>, raw: &RawScenario) -> Meta {
    let meta = &raw.scenario;
    let at_meta = path("scenario");
    if meta.name.is_empty()
        || !meta
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        cx.err(&at_meta.key("name"), format!("name {} must be non-empty and use only letters, digits, '.', '_' and '-' (it names the output folder)", crate::diag::quote(&meta.name)));
    }
    let duration = meta.duration.map_or(Duration::ZERO, |d| d.0);
    if meta.duration.is_none() && !raw.endpoints.is_empty() {
        cx.err(
            &at_meta,
            "missing `duration`: how long traffic is sent, like duration = \"10m\"",
        );
    } else if meta.duration.is_some() && duration.is_zero() {
        cx.err(
            &at_meta.key("duration"),
            "duration must be longer than zero",
        );
    }
    let interval = meta.timeline_interval.map_or(DEFAULT_INTERVAL, |d| d.0);
    if interval < Duration::from_millis(1) {
        cx.err(
            &at_meta.key("timeline_interval"),
            "timeline_interval must be at least 1ms",
        );
    }
    let time_scale = meta.time_scale.unwrap_or(1.0);
    if let Err(msg) = check_time_scale(time_scale) {
        cx.err(&at_meta.key("time_scale"), msg);
    }
    let clock = meta.clock.unwrap_or(ClockKind::Virtual);
    let target = raw.target.as_ref().map_or(TargetKind::Local, |t| t.kind);
    if clock == ClockKind::Virtual && target != TargetKind::Local {
        let name = if target == TargetKind::Http {
            "http"
        } else {
            "sagemaker"
        };
        cx.err(&path("target.kind"), format!("target \"{name}\" needs clock = \"wall\": a virtual-clock run only drives the embedded platform"));
    }
    let max_attempts = raw
        .target
        .as_ref()
        .and_then(|t| t.max_attempts)
        .unwrap_or(1);
    if max_attempts == 0 {
        cx.err(
            &path("target").key("max_attempts"),
            "max_attempts must be at least 1 (1 turns SDK retries off)",
        );
    }

    Meta {
        duration,
        interval,
        time_scale,
        clock,
        target,
        max_attempts,
    }
}
