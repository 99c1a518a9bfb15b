//! `[scenario] spot_market`: a spot-market file (what `gameday prices`
//! writes) laid over the built-in market, `zone` picking one zone's
//! discount, and every error with its file, line and column.

use std::path::Path;

use gameday_scenario::spot_prices::{
    market_file, summarize, OnDemandPrices, PricePoint, Provenance, Window,
};
use gameday_scenario::{load, parse};

const SCENARIO: &str = r#"[scenario]
name = "t"
spot_market = "prices.toml"

[[training_job]]
name = "ft"
instance_type = "ml.p3.2xlarge"
instance_count = 1
spot = true
max_run = "1d"
max_wait = "2d"
checkpoint_every = "30m"
work = { steps = 1000, step_time = "2s" }
"#;

const H: i64 = 3_600_000;

/// The file `gameday prices` writes for two zones of p3.2xlarge at 3.06
/// USD/h on demand: 0.918 (savings 0.7) and 1.224 (savings 0.6).
fn written_file() -> String {
    let points = [
        PricePoint {
            zone: "us-east-1a".into(),
            instance_type: "p3.2xlarge".into(),
            price_usd: 0.918,
            at_ms: 0,
        },
        PricePoint {
            zone: "us-east-1b".into(),
            instance_type: "p3.2xlarge".into(),
            price_usd: 1.224,
            at_ms: H,
        },
    ];
    let w = Window {
        start_ms: 2 * H,
        end_ms: 26 * H,
    };
    let types = summarize(
        &points,
        "us-east-1",
        &["ml.p3.2xlarge".into()],
        w,
        &OnDemandPrices::builtin(),
    )
    .unwrap();
    market_file(
        &types,
        &Provenance {
            region: "us-east-1",
            product: "Linux/UNIX",
            start: "1970-01-01T02:00:00.000Z",
            end: "1970-01-02T02:00:00.000Z",
            endpoint: "http://127.0.0.1:1",
            on_demand_source: "test",
        },
    )
}

fn load_with(scenario: &str, prices: &str) -> Result<gameday_scenario::Scenario, String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("prices.toml"), prices).unwrap();
    let f = dir.path().join("t.toml");
    std::fs::write(&f, scenario).unwrap();
    load(&f).map_err(|e| {
        e.to_string()
            .replace(&dir.path().display().to_string(), "DIR")
    })
}

#[test]
fn a_written_file_loads_and_sets_the_types_discount() {
    let sc = load_with(SCENARIO, &written_file()).unwrap();
    // The mean of the zones: 1 - (0.7 + 0.6) / 2.
    let ratio = sc.training.jobs[0].market.price_ratio;
    assert!((ratio - 0.35).abs() < 1e-9, "{ratio}");
    // The interruption band still comes from the built-in market
    // (p3.2xlarge is in the 15-20% band there: 30 d / -ln(0.825)).
    let mtbi_days = sc.training.jobs[0].market.mtbi.unwrap().as_secs_f64() / 86_400.0;
    assert!((mtbi_days - 155.95).abs() < 0.01, "{mtbi_days}");
}

#[test]
fn zone_picks_one_zones_discount() {
    let sc = format!(
        "{SCENARIO}\n[[spot_market]]\ninstance_type = \"ml.p3.2xlarge\"\nzone = \"us-east-1b\"\n"
    );
    let sc = load_with(&sc, &written_file()).unwrap();
    let ratio = sc.training.jobs[0].market.price_ratio;
    assert!((ratio - 0.4).abs() < 1e-9, "{ratio}");
}

#[test]
fn zone_errors_name_the_field_and_suggest() {
    let sc = format!(
        "{SCENARIO}\n[[spot_market]]\ninstance_type = \"ml.p3.2xlarge\"\nzone = \"us-east-1bb\"\nsavings = 0.5\n"
    );
    let e = load_with(&sc, &written_file()).unwrap_err();
    assert!(
        e.contains(
            "DIR/t.toml:17:8: spot_market[0].zone: unknown zone of ml.p3.2xlarge \"us-east-1bb\""
        ),
        "{e}"
    );
    assert!(e.contains("did you mean \"us-east-1b\"?"), "{e}");
    assert!(e.contains("DIR/t.toml:18:11: spot_market[0].savings: `zone` picks that zone's savings: leave out `savings`"), "{e}");
    // Without a file there are no zones to pick from.
    let no_file = sc.replace("spot_market = \"prices.toml\"\n", "");
    let e = parse("t.toml", &no_file, Path::new("../../fixtures"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("t.toml:16:8: spot_market[0].zone: no zones are known for ml.p3.2xlarge"),
        "{e}"
    );
}

#[test]
fn errors_in_the_file_point_into_the_file() {
    let bad = "[[spot_market]]\ninstance_type = \"ml.p3.2xlarg\"\nsavings = 0.5\n\n[[spot_market]]\ninstance_type = \"ml.g5.xlarge\"\nsavings = 0.5\nzones = [ { zone = \"a\", savings = 1.5 } ]\n";
    let e = load_with(SCENARIO, bad).unwrap_err();
    assert!(e.contains("DIR/prices.toml:2:17: spot_market[0].instance_type: unknown instance type \"ml.p3.2xlarg\"; did you mean \"ml.p3.2xlarge\"?"), "{e}");
    assert!(
        e.contains(
            "DIR/prices.toml:8:35: spot_market[1].zones[0].savings: savings is the spot discount"
        ),
        "{e}"
    );
    let e = load_with(
        SCENARIO,
        "[[spot_market]]\ninstance_type = \"ml.g5.xlarge\"\nsavigns = 0.5\n",
    )
    .unwrap_err();
    assert!(e.contains("DIR/prices.toml:3:1: "), "{e}");
    assert!(e.contains("did you mean \"savings\"?"), "{e}");
    let missing = SCENARIO.replace("prices.toml", "nowhere.toml");
    let e = load_with(&missing, "").unwrap_err();
    assert!(
        e.contains("t.toml:3:15: scenario.spot_market: cannot read \"DIR/nowhere.toml\""),
        "{e}"
    );
}

#[test]
fn a_scenario_entry_still_may_not_carry_a_source() {
    let sc = format!(
        "{SCENARIO}\n[[spot_market]]\ninstance_type = \"ml.p3.2xlarge\"\nsource = \"me\"\n"
    );
    let e = load_with(&sc, &written_file()).unwrap_err();
    assert!(
        e.contains("spot_market[0].source: `source` belongs in a spot-market file, not a scenario"),
        "{e}"
    );
}
