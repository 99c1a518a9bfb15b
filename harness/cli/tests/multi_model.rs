//! Multi-model endpoints end to end: the shipped scenarios' verdicts and
//! report fields, byte-identical reports for a seed, the wall clock's hit
//! ratio against the virtual one's, and bad input's exit code.

mod common;
use common::*;

fn mme(r: &serde_json::Value, e: usize) -> &serde_json::Value {
    &r["endpoints"][e]["variants"][0]["mme"]
}

#[test]
fn a_working_set_larger_than_memory_thrashes_and_either_fix_recovers() {
    let tmp = tempfile::tempdir().unwrap();
    let (o, r) = run(&["scenarios/multi-model-thrash.toml"], tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let p99 = |e: usize| r["endpoints"][e]["latency_ms"]["p99"].as_f64().unwrap();
    let hit = |e: usize| mme(&r, e)["model_cache_hit_ratio"].as_f64().unwrap();
    // One ml.m5.xlarge: most requests miss, and p99 is a cold load
    // (0.32 s download + 0.8 s load, behind other loads' unloads).
    assert!(hit(0) < 0.3, "{}", hit(0));
    assert!(p99(0) > 1000.0, "{}", p99(0));
    assert!(mme(&r, 0)["unloads"].as_u64().unwrap() > 10_000);
    // One more instance, or a larger type: past the compulsory loads,
    // every request is a hit and p99 is the model's own.
    for e in [1, 2] {
        assert!(hit(e) > 0.99, "endpoint {e}: {}", hit(e));
        assert!(p99(e) < 100.0, "endpoint {e}: {}", p99(e));
    }
    assert_eq!(mme(&r, 2)["loads"], 60, "each model loaded once");
    assert_eq!(mme(&r, 2)["unloads"], 0);
    let failed: Vec<(&str, &str)> = r["slos"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["met"] == false)
        .map(|s| (s["name"].as_str().unwrap(), s["endpoint"].as_str().unwrap()))
        .collect();
    assert_eq!(
        failed,
        [
            ("latency_p99", "one-xlarge"),
            ("model_cache_hit_ratio", "one-xlarge")
        ]
    );
    // The timeline has the hit ratio and loaded models per interval; the
    // events list loads and unloads, at most 100 of each per variant.
    let timeline = std::fs::read_to_string(tmp.path().join("timeline.csv")).unwrap();
    let header: Vec<&str> = timeline.lines().next().unwrap().split(',').collect();
    assert!(header.contains(&"model_cache_hit_ratio") && header.contains(&"loaded_models"));
    let events = std::fs::read_to_string(tmp.path().join("events.csv")).unwrap();
    let unloaded = events
        .lines()
        .filter(|l| l.contains(",model_unloaded,one-xlarge,"))
        .count();
    assert_eq!(unloaded, 100);
    let summary = std::fs::read_to_string(tmp.path().join("summary.md")).unwrap();
    assert!(summary.contains("## Multi-model"), "{summary}");
}

#[test]
fn the_tenant_scenario_writes_the_same_bytes_for_a_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let (o, r) = run(&["scenarios/multi-model-tenants.toml"], &a);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    run(&["scenarios/multi-model-tenants.toml"], &b);
    for f in ["report.json", "timeline.csv", "events.csv"] {
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{f} differs between two runs with the same seed"
        );
    }
    let m = mme(&r, 0);
    for key in ["model_cache_hit_ratio", "loads", "unloads", "downloads"] {
        assert!(m[key].is_number(), "{key}: {m}");
    }
    for key in ["p50", "p99", "max"] {
        assert!(m["loading_wait_ms"][key].is_number(), "{key}: {m}");
    }
    assert_eq!(m["most_loaded"].as_array().unwrap().len(), 10);
}

/// Twenty seconds of 50 req/s over 30 Zipf-popular models, 20 of which
/// fit: a miss waits 0.2 s for its model.
const WALL: &str = r#"
[scenario]
name = "mme-wall"
duration = "20s"
seed = 4
timeline_interval = "5s"

[[endpoint]]
name = "tenants"
mode = "multi_model"
  [[endpoint.variant]]
  name = "AllTraffic"
  instance_type = "ml.m5.xlarge"
  concurrency = 16
  model_memory = "2GB"
  download_bandwidth = "1GB/s"
  load_rate = "1GB/s"
    [endpoint.variant.models]
    count = 30
    size = "100MB"
    popularity = { zipf = 0.8 }
    latency = { p50 = "5ms", p99 = "20ms" }

[[workload]]
endpoint = "tenants"
arrival = { kind = "poisson", rate = 50 }
timeout = "70s"
"#;

/// The load generator draws each request's model from the stream the
/// simulator uses and sends it as X-Amzn-SageMaker-Target-Model; the
/// embedded platform loads and evicts as under the virtual clock. The two
/// runs see the same requests in the same order, so the hit ratios differ
/// only where the wall clock's jitter (milliseconds) moves a request
/// across the end of a 0.2 s load: at 50 req/s with about ten loads a
/// second, a handful of requests at most, under 0.02 of ~1,000.
#[test]
fn the_wall_clock_hits_and_misses_as_the_virtual_clock_does() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("mme-wall.toml");
    std::fs::write(&file, WALL).unwrap();
    let f = file.to_str().unwrap();
    let (o, virt) = run(&[f], &tmp.path().join("virtual"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let (o, wall) = run(&[f, "--clock", "wall"], &tmp.path().join("wall"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(wall["scenario"]["clock"], "wall");
    let (v, w) = (mme(&virt, 0), mme(&wall, 0));
    assert_eq!(v["requests"], w["requests"]);
    let (hv, hw) = (
        v["model_cache_hit_ratio"].as_f64().unwrap(),
        w["model_cache_hit_ratio"].as_f64().unwrap(),
    );
    assert!((0.5..0.95).contains(&hv), "{hv}");
    assert!((hv - hw).abs() < 0.02, "virtual {hv}, wall {hw}");
    let loads = |m: &serde_json::Value| m["loads"].as_i64().unwrap();
    assert!((loads(v) - loads(w)).abs() <= 10, "{v} vs {w}");
}

#[test]
fn a_model_larger_than_memory_exits_2_with_its_place() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("big.toml");
    std::fs::write(&file, WALL.replace("size = \"100MB\"", "size = \"3GB\"")).unwrap();
    let o = gameday(&["run", file.to_str().unwrap(), "-q"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("big.toml:20:12: endpoint[0].variant[0].models.size: model-0 is 3.00GB"),
        "{err}"
    );
}
