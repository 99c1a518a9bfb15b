//! Multi-model sections: every error class with its message, line and
//! column, and what a valid section builds.

mod common;
use common::{check, with_in};

use std::path::Path;

use gameday_core::spec::{FaultKind, TargetModel};

/// A valid multi-model scenario; each case replaces one line of it.
const BASE: &str = r#"[scenario]
name = "t"
duration = "1h"

[[model]]
name = "m"
latency = { p50 = "12ms", p99 = "45ms" }

[[endpoint]]
name = "tenants"
mode = "multi_model"
  [[endpoint.variant]]
  name = "AllTraffic"
  instance_type = "ml.m5.2xlarge"
  instance_count = 2
  concurrency = 8
  model_memory = "24GiB"
  disk = "100GB"
    [endpoint.variant.models]
    count = 500
    size = { p50 = "200MB", p99 = "1.5GB" }
    popularity = { zipf = 0.9 }
    latency = { p50 = "15ms", p99 = "60ms" }

[[endpoint]]
name = "single"
  [[endpoint.variant]]
  name = "AllTraffic"
  model = "m"
  instance_type = "ml.m5.xlarge"

[[workload]]
endpoint = "tenants"
arrival = { kind = "poisson", rate = 200 }
timeout = "70s"

[[workload]]
endpoint = "single"
arrival = { kind = "poisson", rate = 10 }

[[fault]]
at = "10m"
for = "5m"
kind = "model_download_slow"
endpoint = "tenants"
factor = 10
"#;

fn with(old: &str, new: &str) -> String {
    with_in(BASE, old, new)
}

#[test]
fn a_multi_model_endpoint_builds_its_models_and_their_room() {
    assert_eq!(check(BASE), Vec::<String>::new());
    let sc = gameday_scenario::parse("t.toml", BASE, Path::new("../../fixtures")).unwrap();
    let v = &sc.platform.endpoints[0].variants[0];
    let mm = v.multi_model.as_ref().unwrap();
    assert_eq!(mm.models.len(), 500);
    assert_eq!(mm.models[7].name, "model-7");
    assert_eq!(mm.memory_bytes, 24 << 30);
    assert_eq!(mm.disk_bytes, 100_000_000_000);
    // ml.m5.2xlarge's 10 Gbit/s, from the catalog.
    assert_eq!(mm.download_bytes_per_s, 1.25e9);
    // Zipf 0.9: model-0 is the most popular.
    assert!(mm.models[0].weight > mm.models[1].weight);
    // Sizes spread log-normally: the median near 200 MB.
    let mut sizes: Vec<u64> = mm.models.iter().map(|m| m.size_bytes).collect();
    sizes.sort_unstable();
    let median = sizes[250] as f64;
    assert!((190e6..210e6).contains(&median), "{median}");
    assert!(matches!(
        sc.workloads[0].target_model,
        TargetModel::Popularity(_)
    ));
    assert_eq!(sc.workloads[1].target_model, TargetModel::None);
    assert_eq!(
        sc.platform.faults[0].kind,
        FaultKind::ModelDownloadSlow { factor: 10.0 }
    );
    // Defaults: memory from the catalog less the overhead, a 30 GB disk.
    let defaults = with("model_memory = \"24GiB\"", "").replace("disk = \"100GB\"\n", "");
    let sc = gameday_scenario::parse("t.toml", &defaults, Path::new("../../fixtures")).unwrap();
    let mm = sc.platform.endpoints[0].variants[0]
        .multi_model
        .clone()
        .unwrap();
    assert_eq!(mm.memory_bytes, (32u64 << 30) - (2 << 30));
    assert_eq!(mm.disk_bytes, 30_000_000_000);
    // One fixed target model; a load failure by model name.
    let fixed = with("timeout = \"70s\"", "timeout = \"70s\"\ntarget_model = \"model-7\"")
        + "\n[[fault]]\nat = \"1m\"\nkind = \"model_load_failure\"\nendpoint = \"tenants\"\nmodel = \"model-3\"\n";
    let sc = gameday_scenario::parse("t.toml", &fixed, Path::new("../../fixtures")).unwrap();
    assert_eq!(sc.workloads[0].target_model, TargetModel::Fixed(7));
    assert_eq!(
        sc.platform.faults[1].kind,
        FaultKind::ModelLoadFailure {
            rate: 1.0,
            model: Some(3)
        }
    );
}

/// `(line to replace, replacement, every diagnostic expected)`.
const CASES: &[(&str, &str, &[&str])] = &[
    (
        "popularity = { zipf = 0.9 }",
        "popularity = { zipf = 0 }",
        &["t.toml:22:23: endpoint[0].variant[0].models.popularity.zipf: zipf must be more than 0 (1.0 is classic Zipf; leave popularity out for every model alike), got 0"],
    ),
    (
        "popularity = { zipf = 0.9 }",
        "popularity = { zipf = -1.5 }",
        &["t.toml:22:23: endpoint[0].variant[0].models.popularity.zipf: zipf must be more than 0 (1.0 is classic Zipf; leave popularity out for every model alike), got -1.5"],
    ),
    (
        "size = { p50 = \"200MB\", p99 = \"1.5GB\" }",
        "size = \"40GB\"",
        &["t.toml:21:8: endpoint[0].variant[0].models.size: model-0 is 40.00GB, more than the 24.00GiB of model_memory on ml.m5.2xlarge: it could never load; use a larger instance type or smaller models"],
    ),
    (
        "size = { p50 = \"200MB\", p99 = \"1.5GB\" }",
        "size = \"1.5XB\"",
        &["t.toml:21:8: endpoint[0].variant[0].models.size: invalid size \"1.5XB\": expected a number and a unit (B, KB, MB, GB, KiB, MiB, GiB), like \"300MB\""],
    ),
    (
        "size = { p50 = \"200MB\", p99 = \"1.5GB\" }",
        "size = { p50 = \"2OOMB\", p99 = \"1.5GB\" }",
        &["t.toml:21:16: endpoint[0].variant[0].models.size.p50: invalid size \"2OOMB\": expected a number and a unit (B, KB, MB, GB, KiB, MiB, GiB), like \"300MB\""],
    ),
    (
        "size = { p50 = \"200MB\", p99 = \"1.5GB\" }",
        "size = { p50 = \"2GB\", p99 = \"1GB\" }",
        &["t.toml:21:29: endpoint[0].variant[0].models.size.p99: size p99 (1GB) must be larger than p50 (2GB)"],
    ),
    (
        "model_memory = \"24GiB\"",
        "model_memory = \"64GiB\"",
        &["t.toml:17:16: endpoint[0].variant[0].model_memory: model_memory 64.00GiB is more than ml.m5.2xlarge's 32.00GiB of memory"],
    ),
    (
        "disk = \"100GB\"",
        "disk = \"1GB\"",
        &["t.toml:18:8: endpoint[0].variant[0].disk: model-493 is 2.91GB, more than the 1.00GB disk: it could never be downloaded"],
    ),
    (
        "count = 500",
        "count = 0",
        &["t.toml:20:9: endpoint[0].variant[0].models.count: count must be between 1 and 100000, got 0"],
    ),
    (
        "latency = { p50 = \"15ms\", p99 = \"60ms\" }",
        "",
        &["t.toml:19:5: endpoint[0].variant[0].models.latency: missing `latency` (one request's service time on ml.m5.xlarge), like { p50 = \"15ms\", p99 = \"60ms\" }"],
    ),
    (
        "instance_type = \"ml.m5.2xlarge\"",
        "instance_type = \"ml.m5.2xlarge\"\nmodel = \"m\"",
        &["t.toml:15:9: endpoint[0].variant[0].model: a multi-model variant serves the models of [endpoint.variant.models]; `model` may only name its multi-model container, a [[model]] with a `command`, and \"m\" has none"],
    ),
    (
        "count = 500",
        "dir = \"mme/weights\"",
        &["t.toml:21:12: endpoint[0].variant[0].models.size: give `dir` or `size`, not both: the folder holds every model"],
    ),
    (
        "count = 500",
        "dir = \"mme/no-such-folder\"",
        &[
            "t.toml:21:12: endpoint[0].variant[0].models.size: give `dir` or `size`, not both: the folder holds every model",
            "t.toml:20:7: endpoint[0].variant[0].models.dir: cannot read \"../../fixtures/mme/no-such-folder\": No such file or directory (os error 2)",
        ],
    ),
    (
        "mode = \"multi_model\"",
        "mode = \"multi-model\"",
        &["t.toml:11:8: endpoint[0].mode: unknown variant `multi-model`, expected `single_model` or `multi_model`; did you mean \"multi_model\"?"],
    ),
    (
        "timeout = \"70s\"",
        "timeout = \"70s\"\ntarget_model = \"model-700\"",
        &["t.toml:36:16: workload[0].target_model: unknown model \"model-700\"; did you mean \"model-70\"?"],
    ),
    (
        "arrival = { kind = \"poisson\", rate = 10 }",
        "arrival = { kind = \"poisson\", rate = 10 }\ntarget_model = \"model-1\"",
        &["t.toml:40:16: workload[1].target_model: `target_model` applies only to a multi-model endpoint, and \"single\" is single-model; add mode = \"multi_model\" to it"],
    ),
    (
        "factor = 10",
        "factor = 0.5",
        &["t.toml:46:10: fault[0].factor: factor must be at least 1 (how many times slower), got 0.5"],
    ),
    (
        "model = \"m\"",
        "model = \"m\"\nmodel_memory = \"4GiB\"",
        &["t.toml:30:16: endpoint[1].variant[0].model_memory: `model_memory` applies only to a multi-model endpoint, and \"single\" is single-model; add mode = \"multi_model\" to it"],
    ),
    (
        "concurrency = 8",
        "concurrency = 8\nload_rate = \"fast\"",
        &["t.toml:17:13: endpoint[0].variant[0].load_rate: invalid rate \"fast\": expected a size per second, like \"500MB/s\""],
    ),
];

#[test]
fn a_traces_model_column_picks_each_requests_model_in_send_order() {
    let trace = with(
        "arrival = { kind = \"poisson\", rate = 200 }",
        "arrival = { kind = \"trace\", file = \"mme/tenant-trace.csv\" }",
    );
    let sc = gameday_scenario::parse("t.toml", &trace, Path::new("../../fixtures")).unwrap();
    let TargetModel::Sequence(seq) = &sc.workloads[0].target_model else {
        panic!("{:?}", sc.workloads[0].target_model)
    };
    // Rows sorted by time_s: 0.1 model-1, 0.5 model-3, 1.0 model-1, ...
    assert_eq!(&seq[..], [1, 3, 1, 2, 1]);
    // An unknown model in the trace, and a model column on a single-model
    // endpoint, are refused with the file's place.
    let unknown = trace.replace("count = 500", "count = 3");
    assert_eq!(
        check(&unknown),
        ["t.toml:34:36: workload[0].arrival.file: mme/tenant-trace.csv row 2: unknown model \"model-3\"; did you mean \"model-0\"?"]
    );
    let single = with(
        "arrival = { kind = \"poisson\", rate = 10 }",
        "arrival = { kind = \"trace\", file = \"mme/tenant-trace.csv\" }",
    );
    assert_eq!(
        check(&single),
        ["t.toml:39:36: workload[1].arrival.file: mme/tenant-trace.csv has a `model` column, but endpoint \"single\" is single-model; add mode = \"multi_model\" to it"]
    );
}

#[test]
fn a_models_file_lists_each_model_with_its_size_weight_and_latency() {
    let file = with("count = 500", "file = \"mme/tenants.csv\"")
        .replace("    size = { p50 = \"200MB\", p99 = \"1.5GB\" }\n", "")
        .replace("    popularity = { zipf = 0.9 }\n", "");
    let sc = gameday_scenario::parse("t.toml", &file, Path::new("../../fixtures")).unwrap();
    let mm = sc.platform.endpoints[0].variants[0]
        .multi_model
        .clone()
        .unwrap();
    let names: Vec<&str> = mm.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names[0], "acme/ranker.tar.gz");
    assert_eq!(names.len(), 6);
    assert_eq!(mm.models[0].size_bytes, 1_200_000_000);
    assert_eq!(mm.models[0].weight, 40.0);
    // latency = { p50 = "15ms" }: 30 ms is twice it, a blank is as is.
    assert!((mm.models[0].service_scale - 2.0).abs() < 1e-9);
    assert_eq!(mm.models[1].service_scale, 1.0);
    // The file replaces count, size and popularity; its rows are checked.
    let both = with("count = 500", "count = 5\nfile = \"mme/tenants.csv\"")
        .replace("    size = { p50 = \"200MB\", p99 = \"1.5GB\" }\n", "")
        .replace("    popularity = { zipf = 0.9 }\n", "");
    assert_eq!(
        check(&both),
        ["t.toml:20:9: endpoint[0].variant[0].models.count: give `file` or `count`, not both: the file lists every model"]
    );
    let missing = file.replace("mme/tenants.csv", "mme/tenant-trace.csv");
    assert_eq!(
        check(&missing),
        ["t.toml:20:8: endpoint[0].variant[0].models.file: mme/tenant-trace.csv: expected a header with columns `name` and `size` (and optionally `weight`, `latency`)"]
    );
}

#[test]
fn every_multi_model_error_names_its_field_and_place() {
    for (old, new, want) in CASES {
        assert_eq!(
            check(&with(old, new)),
            *want,
            "replacing {old:?} with {new:?}"
        );
    }
    // Model faults need a multi-model endpoint; a model they name must
    // exist.
    let fault = |endpoint: &str, extra: &str| {
        format!("{BASE}\n[[fault]]\nat = \"1m\"\nkind = \"model_load_failure\"\nendpoint = \"{endpoint}\"\n{extra}")
    };
    assert_eq!(
        check(&fault("single", "")),
        ["t.toml:50:8: fault[1].kind: fault kind \"model_load_failure\" hits model downloads and loads, which only a multi-model endpoint has; \"single\" is single-model"]
    );
    assert_eq!(
        check(&fault("tenants", "model = \"model-5000\"\n")),
        ["t.toml:52:9: fault[1].model: unknown model \"model-5000\"; did you mean \"model-50\"?"]
    );
    assert_eq!(
        check(&fault("tenants", "model = \"model-5\"\nrate = 0.5\n")),
        ["t.toml:53:8: fault[1].rate: give `rate` (a share of every model's loads) or `model` (every load of one model), not both"]
    );
}

/// A multi-model container on the wall clock, its models the files of
/// `models.dir`.
fn container(models: &str) -> String {
    with("name = \"m\"", "name = \"m\"\ncommand = [\"gameday\", \"model-server\", \"--multi-model\", \"mme/weights\"]")
        .replace("duration = \"1h\"", "duration = \"1h\"\nclock = \"wall\"")
        .replace(
            "instance_type = \"ml.m5.2xlarge\"",
            "instance_type = \"ml.m5.2xlarge\"\n  model = \"m\"",
        )
        .replace(
            "    count = 500\n    size = { p50 = \"200MB\", p99 = \"1.5GB\" }\n    popularity = { zipf = 0.9 }\n    latency = { p50 = \"15ms\", p99 = \"60ms\" }\n",
            models,
        )
}

#[test]
fn a_multi_model_container_takes_its_models_from_a_folder() {
    let src = container("    dir = \"mme/weights\"\n    popularity = { zipf = 0.9 }\n");
    assert_eq!(check(&src), Vec::<String>::new());
    let sc = gameday_scenario::parse("t.toml", &src, Path::new("../../fixtures")).unwrap();
    let v = &sc.platform.endpoints[0].variants[0];
    assert_eq!(v.model, "m", "the container's model, whose command runs");
    let mm = v.multi_model.as_ref().unwrap();
    let names: Vec<&str> = mm.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names.len(), 8);
    assert_eq!(names[0], "tenant-0.json");
    assert_eq!(names[7], "tenant-7.json");
    assert!(mm.models.iter().all(|m| (540..560).contains(&m.size_bytes)));
    assert!(mm.models[0].weight > mm.models[1].weight);
    assert_eq!(
        sc.model_folders.get(&(0, 0)),
        Some(&Path::new("../../fixtures").join("mme/weights"))
    );
    // Generated models cannot be loaded by a real container.
    let generated = container("    count = 5\n    size = \"1KB\"\n");
    assert_eq!(
        check(&generated),
        ["t.toml:22:5: endpoint[0].variant[0].models: a multi-model container loads its models from files: give [endpoint.variant.models] dir = \"...\", a folder with one file (or folder) per model"]
    );
    // On the virtual clock the container is modelled: it needs `latency`.
    let virt = src.replace("clock = \"wall\"", "clock = \"virtual\"");
    assert_eq!(
        check(&virt),
        ["t.toml:22:5: endpoint[0].variant[0].models.latency: missing `latency` (one request's service time on ml.m5.xlarge), like { p50 = \"15ms\", p99 = \"60ms\" }; a multi-model container (a `model` with a `command`, on the wall clock) serves in its own time"]
    );
}
