//! `junit.xml` for CI: one test case per objective and per baseline
//! regression (a failure with the actual value against the objective or
//! limit), one for the baseline as a whole when it held, and one that
//! fails when the run was interrupted.

use std::io::Write;

use crate::html::escape;
use crate::model::Report;
use crate::slo::fmt_num;
use crate::writers::WriteError;

struct Case {
    class: &'static str,
    name: String,
    failure: Option<String>,
}

fn cases(r: &Report) -> Vec<Case> {
    let mut out = Vec::new();
    if !r.complete {
        out.push(Case {
            class: "gameday.run",
            name: "complete".into(),
            failure: Some("the run was interrupted: its report covers only part of it".into()),
        });
    }
    for o in &r.slos {
        let target = o.target();
        out.push(Case {
            class: "gameday.slo",
            name: format!("{} [{}]", o.name, target),
            failure: (!o.met).then(|| {
                let mut m = format!("actual {}, objective {}", fmt_num(o.actual), o.objective);
                if let Some(d) = &o.detail {
                    m.push_str(&format!(" ({d})"));
                }
                m
            }),
        });
    }
    if let Some(b) = &r.baseline {
        if b.regressions.is_empty() {
            out.push(Case {
                class: "gameday.baseline",
                name: format!("no regression against {}", b.baseline_scenario),
                failure: None,
            });
        }
        for g in &b.regressions {
            out.push(Case {
                class: "gameday.baseline",
                name: format!(
                    "{} [{}]",
                    g.metric,
                    g.endpoint.as_deref().unwrap_or("(all)")
                ),
                failure: Some(g.describe()),
            });
        }
    }
    out
}

/// Writes `report`'s objectives and baseline as JUnit XML.
pub fn write_junit<W: Write>(r: &Report, mut w: W) -> Result<(), WriteError> {
    let cases = cases(r);
    let failures = cases.iter().filter(|c| c.failure.is_some()).count();
    let name = escape(&format!("gameday.{}", r.scenario.name));
    writeln!(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        w,
        "<testsuites name=\"gameday\" tests=\"{}\" failures=\"{failures}\" errors=\"0\">",
        cases.len()
    )?;
    writeln!(
        w,
        "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{}\">",
        cases.len(),
        fmt_num(r.scenario.duration_s)
    )?;
    writeln!(w, "    <properties>")?;
    writeln!(
        w,
        "      <property name=\"seed\" value=\"{}\"/>",
        r.scenario.seed
    )?;
    writeln!(
        w,
        "      <property name=\"clock\" value=\"{}\"/>",
        escape(&r.scenario.clock)
    )?;
    writeln!(
        w,
        "      <property name=\"verdict\" value=\"{}\"/>",
        escape(&r.verdict)
    )?;
    writeln!(w, "    </properties>")?;
    for c in &cases {
        let open = format!(
            "    <testcase classname=\"{}\" name=\"{}\" time=\"0\"",
            c.class,
            escape(&c.name)
        );
        match &c.failure {
            None => writeln!(w, "{open}/>")?,
            Some(m) => {
                writeln!(w, "{open}>")?;
                writeln!(
                    w,
                    "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                    c.class.trim_start_matches("gameday."),
                    escape(m),
                    escape(m)
                )?;
                writeln!(w, "    </testcase>")?;
            }
        }
    }
    writeln!(w, "  </testsuite>\n</testsuites>")?;
    Ok(())
}
