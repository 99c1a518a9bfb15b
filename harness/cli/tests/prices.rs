//! `gameday prices`: without the `ec2` feature, a clear exit 2; with it,
//! the real aws-sdk-ec2 client against the embedded platform's EC2
//! endpoint, a spot-market file written, and that file loaded by a
//! scenario whose spot job is billed at the file's discount.

mod common;

#[cfg(not(feature = "ec2"))]
#[test]
fn without_the_ec2_feature_prices_says_how_to_get_it() {
    use common::{gameday, text};
    let out = gameday(&["prices", "--instance-types", "p3.2xlarge"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("needs the `ec2` feature"), "{err}");
    assert!(err.contains("--features ec2"), "{err}");
}

#[cfg(feature = "ec2")]
mod with_ec2 {
    use std::path::Path;
    use std::process::{Command, Output};

    use super::common::{self, root, text};
    use gameday_core::TimeScale;
    use gameday_live::{ServeOptions, Server};

    const PLATFORM: &str = r#"
[scenario]
name = "ec2"
duration = "1h"

[[model]]
name = "echo"
latency = { dist = "constant", value = "2ms" }

[[endpoint]]
name = "e"
  [[endpoint.variant]]
  name = "AllTraffic"
  model = "echo"
  instance_type = "ml.m5.xlarge"
  instance_count = 1

[[workload]]
endpoint = "e"
arrival = { kind = "constant", rate = 1 }
"#;

    /// A spot job on one p3.2xlarge with no interruptions, billed at the
    /// file's discount.
    const JOB: &str = r#"[scenario]
name = "priced"
spot_market = "prices.toml"

[[spot_market]]
instance_type = "ml.p3.2xlarge"
mtbi = "10000d"

[[training_job]]
name = "ft"
instance_type = "ml.p3.2xlarge"
instance_count = 1
spot = true
max_run = "1d"
max_wait = "2d"
checkpoint_every = "30m"
download = "1m"
upload = "1m"
work = { steps = 1000, step_time = "2s" }
"#;

    /// `gameday prices` with test credentials, nothing read from the
    /// user's AWS configuration.
    fn prices(args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_gameday"))
            .arg("prices")
            .args(args)
            .current_dir(root())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL_EC2")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap()
    }

    fn server(rt: &tokio::runtime::Runtime) -> Server {
        let sc = gameday_scenario::parse("ec2.toml", PLATFORM, Path::new(".")).unwrap();
        let scale = TimeScale::new(1.0);
        rt.block_on(Server::start(
            &scale.platform(&sc.platform),
            ServeOptions::local(1),
        ))
        .unwrap()
    }

    #[test]
    fn prices_write_a_market_file_a_scenario_bills_by() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = server(&rt);
        let url = server.url();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("prices.toml");
        let out = prices(&[
            "--region",
            "us-east-1",
            "--instance-types",
            "ml.p3.2xlarge,g5.xlarge",
            "--endpoint-url",
            &url,
            "--until",
            "2026-12-01T00:00:00Z",
            "--window",
            "3d",
            "--page-size",
            "10",
            "--out",
            file.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains("page(s) from http://127.0.0.1:"),
            "{stdout}"
        );
        assert!(stdout.contains("ml.p3.2xlarge      us-east-1a"), "{stdout}");
        let written = std::fs::read_to_string(&file).unwrap();
        assert!(written.contains("Region us-east-1, Linux/UNIX, 2026-11-28T00:00:00.000Z to 2026-12-01T00:00:00.000Z"), "{written}");
        let parsed: toml::Value = toml::from_str(&written).unwrap();
        let entries = parsed["spot_market"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        let p3 = &entries[0];
        assert_eq!(p3["instance_type"].as_str(), Some("ml.p3.2xlarge"));
        assert_eq!(p3["zones"].as_array().unwrap().len(), 4);
        let savings = p3["savings"].as_float().unwrap();
        // The fixture's p3 prices sit near 31% of on-demand.
        assert!((0.55..0.8).contains(&savings), "{savings}");

        // The file loads in a scenario, and the job is billed by it.
        std::fs::write(dir.path().join("job.toml"), JOB).unwrap();
        let report_dir = dir.path().join("out");
        let run = common::gameday(&[
            "run",
            dir.path().join("job.toml").to_str().unwrap(),
            "--out",
            report_dir.to_str().unwrap(),
            "--quiet",
        ]);
        assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
        let r = common::report(&report_dir);
        let pct = r["training_jobs"][0]["savings_pct"].as_f64().unwrap();
        assert!((pct - savings * 100.0).abs() < 0.01, "{pct} vs {savings}");
    }

    #[test]
    fn refusals_and_empty_answers_exit_2_with_the_reason() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = server(&rt);
        let url = server.url();
        let dir = tempfile::tempdir().unwrap();
        let out_file = dir.path().join("p.toml");
        let run = |extra: &[&str]| {
            let mut args = vec![
                "--endpoint-url",
                url.as_str(),
                "--until",
                "2026-12-01T00:00:00Z",
                "--out",
                out_file.to_str().unwrap(),
            ];
            args.extend_from_slice(extra);
            prices(&args)
        };
        // EC2 refuses the type.
        let out = run(&["--instance-types", "p3.2xlarge,Not_A_Type"]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(
            err.contains("EC2 refused DescribeSpotPriceHistory: InvalidParameterValue: Value ( Not_A_Type ) for parameter instanceType is invalid"),
            "{err}"
        );
        // A region without on-demand prices to compare against; then,
        // given them with --on-demand, a region EC2 has no spot prices for.
        let out = run(&["--region", "eu-west-1", "--instance-types", "p3.2xlarge"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains("no on-demand price for p3.2xlarge in eu-west-1 (regions with prices: us-east-1, us-west-2)"), "{}", text(&out.stderr));
        let od = dir.path().join("od.toml");
        std::fs::write(&od, "source = \"test\"\n[[region]]\nname = \"eu-west-1\"\nprices = { \"p3.2xlarge\" = 3.3 }\n").unwrap();
        let out = run(&[
            "--region",
            "eu-west-1",
            "--instance-types",
            "p3.2xlarge",
            "--on-demand",
            od.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains("EC2 reported no spot price for p3.2xlarge in eu-west-1"),
            "{}",
            text(&out.stderr)
        );
        // A bad window and a bad time, before any call.
        let out = run(&["--instance-types", "p3.2xlarge", "--window", "soon"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains("--window"),
            "{}",
            text(&out.stderr)
        );
        let out = prices(&[
            "--instance-types",
            "p3.2xlarge",
            "--until",
            "tomorrow",
            "--endpoint-url",
            &url,
        ]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains("--until: \"tomorrow\" is not an ISO 8601 UTC time"),
            "{}",
            text(&out.stderr)
        );
        assert!(!out_file.exists(), "nothing is written on an error");
    }
}
