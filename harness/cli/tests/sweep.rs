//! `gameday sweep`: the grid, its answer, determinism whatever the number
//! of threads, the cheapest slot count against Erlang C, and bad grids.

mod common;
use common::*;

use serde_json::Value;

fn sweep(args: &[&str], out: &std::path::Path) -> (std::process::Output, Value) {
    let mut all = vec!["sweep"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", out.to_str().unwrap(), "-q"]);
    let o = gameday(&all);
    let json = std::fs::read_to_string(out.join("sweep.json"))
        .map(|s| serde_json::from_str(&s).unwrap())
        .unwrap_or(Value::Null);
    (o, json)
}

#[test]
fn the_capacity_sweep_names_the_cheapest_fleet_that_holds_on_every_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let (o, s) = sweep(
        &["scenarios/recs-capacity.toml", "--seeds", "3"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let rows = s["configurations"].as_array().unwrap();
    assert_eq!(rows.len(), 24);
    assert_eq!(s["seeds"], 3);
    // The names scripts read.
    for r in rows {
        for k in [
            "values",
            "seeds",
            "slos_met_seeds",
            "latency_ms",
            "cost_per_hour_usd",
            "cost_per_million_usd",
        ] {
            assert!(!r[k].is_null(), "{k} missing: {r}");
        }
        assert!(r["latency_ms"]["p50"].is_number() && r["latency_ms"]["p99"].is_number());
        assert!(r["max_rate_rps"].is_null(), "no --max-rate");
    }
    // `best` is the cheapest row that met every objective on every seed.
    let holds = |r: &Value| r["slos_met_seeds"] == r["seeds"];
    let cheapest = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| holds(r))
        .min_by(|a, b| {
            a.1["cost_per_hour_usd"]
                .as_f64()
                .unwrap()
                .total_cmp(&b.1["cost_per_hour_usd"].as_f64().unwrap())
        })
        .unwrap()
        .0;
    assert_eq!(s["best"].as_u64(), Some(cheapest as u64));
    let best = &rows[cheapest];
    assert_eq!(
        best["values"]["endpoint.recs.variant.AllTraffic.instance_type"],
        "ml.c5.xlarge"
    );
    assert_eq!(
        best["values"]["endpoint.recs.variant.AllTraffic.instance_count"],
        2
    );
    // One ml.c5.xlarge cannot keep up: it misses on every seed.
    assert_eq!(rows[0]["slos_met_seeds"], 0);
    assert!(rows[0]["missed"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m.as_str().unwrap().starts_with("latency_p99")));
    // Cost per hour is the fleet's price: two c5 at 0.204 USD/h.
    assert!((best["cost_per_hour_usd"].as_f64().unwrap() - 0.408).abs() < 1e-6);

    let md = std::fs::read_to_string(tmp.path().join("sweep.md")).unwrap();
    assert!(md.contains("Cheapest configuration that meets every objective on all 3 seeds: **ml.c5.xlarge × 2**"), "{md}");
    let html = std::fs::read_to_string(tmp.path().join("sweep.html")).unwrap();
    for banned in ["<script", "<link", "src=", "url("] {
        assert!(!html.contains(banned), "sweep.html has {banned}");
    }
    let start = html.find("<svg").expect("a chart");
    let end = html.find("</svg>").unwrap() + 6;
    roxmltree::Document::parse(&html[start..end]).expect("the chart is XML");
}

#[test]
fn a_sweep_writes_the_same_bytes_whatever_the_number_of_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let args = |t: &'static str| {
        [
            "scenarios/recs-capacity.toml",
            "--seeds",
            "2",
            "--threads",
            t,
        ]
    };
    let (a, _) = sweep(&args("1"), &tmp.path().join("one"));
    let (b, _) = sweep(&args("2"), &tmp.path().join("two"));
    assert_eq!((a.status.code(), b.status.code()), (Some(0), Some(0)));
    for f in ["sweep.json", "sweep.md", "sweep.html"] {
        let one = std::fs::read(tmp.path().join("one").join(f)).unwrap();
        let two = std::fs::read(tmp.path().join("two").join(f)).unwrap();
        assert!(one == two, "{f} differs between 1 and 2 threads");
    }
}

/// Erlang C: probability that an arrival waits in M/M/c with offered
/// load `a`.
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / f64::from(k + 1);
    }
    let last = term * f64::from(c) / (f64::from(c) - a);
    last / (sum + last)
}

/// P(response time > t) in M/M/c: with probability 1 − C no wait (just
/// the exponential service), else an Exp(cμ − λ) wait plus the service.
fn tail(t: f64, c: u32, lambda: f64, mu: f64) -> f64 {
    let a = lambda / mu;
    if f64::from(c) <= a {
        return 1.0;
    }
    let wait = erlang_c(c, a);
    let alpha = f64::from(c) * mu - lambda;
    // Exp(α) + Exp(μ); at α = μ, an Erlang-2.
    let both = if (alpha - mu).abs() < 1e-9 {
        (1.0 + mu * t) * (-mu * t).exp()
    } else {
        (alpha * (-mu * t).exp() - mu * (-alpha * t).exp()) / (alpha - mu)
    };
    (1.0 - wait) * (-mu * t).exp() + wait * both
}

fn p99(c: u32, lambda: f64, mu: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 10.0);
    for _ in 0..100 {
        let m = (lo + hi) / 2.0;
        if tail(m, c, lambda, mu) > 0.01 {
            lo = m;
        } else {
            hi = m;
        }
    }
    lo
}

/// One instance whose `concurrency` slots share one FIFO queue (so it is
/// M/M/c), 10 ms exponential service, Poisson arrivals at `rate`, the
/// `slo` lines, and a sweep of the slot count over `slots`.
fn mmc_scenario(
    dir: &std::path::Path,
    name: &str,
    duration: &str,
    rate: u32,
    slo: &str,
    slots: &str,
) -> std::path::PathBuf {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(
        &p,
        format!(
            r#"[scenario]
name = "{name}"
duration = "{duration}"
seed = 3

[[model]]
name = "exp10"
latency = {{ dist = "exponential", mean = "10ms" }}

[[endpoint]]
name = "mmc"
  [[endpoint.variant]]
  name = "AllTraffic"
  model = "exp10"
  instance_type = "ml.m5.xlarge"
  concurrency = 1

[[workload]]
endpoint = "mmc"
arrival = {{ kind = "poisson", rate = {rate} }}
timeout = "60s"

[slo]
{slo}

[sweep]
seeds = 2
vary = [ {{ field = "endpoint.mmc.variant.AllTraffic.concurrency", values = {slots} }} ]
"#
        ),
    )
    .unwrap();
    p
}

/// One instance with `concurrency` slots and its single FIFO queue is
/// M/M/c: at λ = 320/s and μ = 100/s, theory puts p99 at 68.9 ms for 4
/// slots, 49.1 ms for 5 and 46.7 ms for 6, so the smallest count that
/// holds p99 <= 55 ms is 5. The sweep must agree, and its p99s must be
/// within 2% of theory's.
#[test]
fn the_cheapest_slot_count_is_the_smallest_erlang_c_allows() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = mmc_scenario(
        tmp.path(),
        "mmc-sweep",
        "30m",
        320,
        "latency_p99 = \"55ms\"",
        "[3, 4, 5, 6, 8]",
    );
    let (o, s) = sweep(&[sc.to_str().unwrap()], &tmp.path().join("out"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let rows = s["configurations"].as_array().unwrap();
    let slots = |r: &Value| {
        r["values"]["endpoint.mmc.variant.AllTraffic.concurrency"]
            .as_u64()
            .unwrap() as u32
    };
    let theory_c = (1..=8).find(|&c| p99(c, 320.0, 100.0) <= 0.055).unwrap();
    assert_eq!(theory_c, 5);
    let swept_c = rows
        .iter()
        .filter(|r| r["slos_met_seeds"] == r["seeds"])
        .map(slots)
        .min();
    assert_eq!(swept_c, Some(theory_c));
    for r in rows.iter().filter(|r| slots(r) >= 4) {
        let want = p99(slots(r), 320.0, 100.0) * 1e3;
        let got = r["latency_ms"]["p99"].as_f64().unwrap();
        assert!(
            (got - want).abs() / want < 0.02,
            "{} slots: p99 {got} ms, theory {want:.2} ms",
            slots(r)
        );
    }
}

/// The highest rate theory allows at a p99 bound of `t` seconds with `c`
/// slots of rate `mu`: for one slot the response time is Exp(μ − λ), so
/// λ = μ − ln(100) / t; for more, the Erlang-C tail above, bisected.
fn theory_max_rate(c: u32, mu: f64, t: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, f64::from(c) * mu);
    for _ in 0..100 {
        let m = (lo + hi) / 2.0;
        if tail(t, c, m, mu) <= 0.01 {
            lo = m;
        } else {
            hi = m;
        }
    }
    lo
}

/// `--max-rate` on M/M/1 and M/M/4 at p99 <= 100 ms with 10 ms
/// exponential service: the search lands within 2% of the closed form
/// (53.9 req/s for one slot, 350.1 for four).
#[test]
fn max_rate_matches_queueing_theory_within_two_percent() {
    let mm1 = 100.0 - 100f64.ln() / 0.1;
    assert!(
        (theory_max_rate(1, 100.0, 0.1) - mm1).abs() < 1e-6,
        "the Erlang-C tail at c = 1 is M/M/1's"
    );
    let tmp = tempfile::tempdir().unwrap();
    let sc = mmc_scenario(
        tmp.path(),
        "mmc-rate",
        "1h",
        40,
        "latency_p99 = \"100ms\"\nerror_rate = 0.01",
        "[1, 4]",
    );
    let (o, s) = sweep(
        &[sc.to_str().unwrap(), "--max-rate", "--slo", "latency_p99"],
        &tmp.path().join("out"),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    for (row, c) in s["configurations"].as_array().unwrap().iter().zip([1, 4]) {
        let want = theory_max_rate(c, 100.0, 0.1);
        let got = row["max_rate_rps"].as_f64().unwrap();
        assert!(
            (got - want).abs() / want < 0.02,
            "{c} slots: max rate {got}, theory {want:.2}"
        );
        // Its cost per million inferences at that rate: one ml.m5.xlarge.
        let per_m = row["cost_per_million_at_max_rate_usd"].as_f64().unwrap();
        assert!(
            (per_m - 0.23 / (got * 3600.0) * 1e6).abs() < 1e-3,
            "{per_m}"
        );
    }
    // An objective the scenario does not have is refused.
    let (o, _) = sweep(
        &[sc.to_str().unwrap(), "--max-rate", "--slo", "latency_p95"],
        &tmp.path().join("bad"),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--slo latency_p95: the scenario has no such objective (it has: latency_p99, error_rate)"), "{}", text(&o.stderr));
}

#[test]
fn a_grid_that_cannot_run_is_refused_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    // No [sweep] at all.
    let (o, _) = sweep(&["scenarios/quickstart.toml"], &tmp.path().join("a"));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("no [sweep] section"),
        "{}",
        text(&o.stderr)
    );
    // A value the scenario refuses: the configuration is named.
    let src = std::fs::read_to_string(root().join("scenarios/recs-capacity.toml"))
        .unwrap()
        .replace("\"ml.g5.xlarge\"]", "\"ml.g5.xlarj\"]");
    let p = tmp.path().join("bad.toml");
    std::fs::write(&p, src).unwrap();
    let (o, _) = sweep(&[p.to_str().unwrap()], &tmp.path().join("b"));
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("[sweep] configuration endpoint.recs.variant.AllTraffic.instance_type = ml.g5.xlarj, endpoint.recs.variant.AllTraffic.instance_count = 1 is not a valid scenario")
            && err.contains("ml.g5.xlarj"),
        "{err}"
    );
}
