//! Everything a run writes, in one registry the CLI loops over: each
//! artifact renders the run into any `W: Write` (a file, the terminal, or
//! memory in tests). The charts are rendered once and shared by the pages
//! that show them and the SVG files beside `summary.md`. Baseline
//! regressions are part of the report and appear in every writer that
//! shows objectives; `gameday plan` has its own registry,
//! [`crate::plan::PlanArtifact`].

use std::io::Write;

use crate::charts::Chart;
use crate::recorder::RunRecord;
use crate::writers::{self, WriteError};

/// One file of a run's output folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Artifact {
    /// `report.json`: what scripts read.
    ReportJson,
    /// `summary.md`: the report for people, charts linked.
    Summary,
    /// `report.html`: one self-contained page with the charts.
    Html,
    /// `junit.xml`: objectives and baseline for CI.
    Junit,
    /// `postmortem.md`: an incident write-up pre-filled from the run.
    Postmortem,
    /// `timeline.csv`: per variant and interval.
    Timeline,
    /// `events.csv`: what happened, in order.
    Events,
    /// The terminal: one line per endpoint, job and objective.
    Terminal,
}

impl Artifact {
    /// Every file, in the order they are written.
    pub const ALL: [Artifact; 7] = [
        Artifact::ReportJson,
        Artifact::Summary,
        Artifact::Html,
        Artifact::Junit,
        Artifact::Postmortem,
        Artifact::Timeline,
        Artifact::Events,
    ];

    /// Its file name (`None`: the terminal).
    pub fn file(self) -> Option<&'static str> {
        Some(match self {
            Artifact::ReportJson => "report.json",
            Artifact::Summary => "summary.md",
            Artifact::Html => "report.html",
            Artifact::Junit => "junit.xml",
            Artifact::Postmortem => "postmortem.md",
            Artifact::Timeline => "timeline.csv",
            Artifact::Events => "events.csv",
            Artifact::Terminal => return None,
        })
    }

    /// Renders `rec` (with its `charts`, from [`crate::charts::charts`]).
    pub fn write<W: Write>(
        self,
        rec: &RunRecord,
        charts: &[Chart],
        w: W,
    ) -> Result<(), WriteError> {
        match self {
            Artifact::ReportJson => writers::write_json(&rec.report, w),
            Artifact::Summary => writers::write_summary(rec, charts, w),
            Artifact::Html => crate::html::write_html(rec, charts, w),
            Artifact::Junit => crate::junit::write_junit(&rec.report, w),
            Artifact::Postmortem => crate::postmortem::write_postmortem(rec, w),
            Artifact::Timeline => writers::write_timeline(&rec.timeline, w),
            Artifact::Events => writers::write_events(&rec.events, w),
            Artifact::Terminal => writers::write_terminal(&rec.report, w),
        }
    }
}
