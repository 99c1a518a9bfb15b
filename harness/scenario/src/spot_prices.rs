//! Spot prices into a spot-market file: what `gameday prices` writes from
//! EC2's `DescribeSpotPriceHistory`, in the format of
//! `fixtures/spot-market.toml`, for a scenario to load with
//! `[scenario] spot_market = "file.toml"`.
//!
//! Per instance type and zone the file gives `savings`, the spot discount
//! against on-demand: one minus the time-weighted mean spot price over the
//! window divided by the on-demand price (`fixtures/ec2-on-demand.toml`).
//! A type's own `savings` is the mean over its zones: gameday assumes
//! SageMaker may place a job in any zone of the region. A scenario picks
//! one zone with `[[spot_market]] zone = "…"`. The price feed says nothing
//! of interruptions or capacity, so the built-in bands and waits stay in
//! force.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;

/// `fixtures/ec2-on-demand.toml`.
pub const EC2_ON_DEMAND: &str = include_str!("../../../fixtures/ec2-on-demand.toml");

/// EC2 on-demand prices per region and instance type.
#[derive(Clone, Debug, PartialEq)]
pub struct OnDemandPrices {
    /// Where the prices came from.
    pub source: String,
    regions: BTreeMap<String, BTreeMap<String, f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOnDemand {
    source: String,
    region: Vec<RawRegion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegion {
    name: String,
    prices: BTreeMap<String, f64>,
}

impl OnDemandPrices {
    /// The built-in prices.
    pub fn builtin() -> OnDemandPrices {
        OnDemandPrices::parse(EC2_ON_DEMAND).expect("the built-in on-demand prices parse (tested)")
    }

    /// Parses a file in the format of `fixtures/ec2-on-demand.toml`.
    pub fn parse(src: &str) -> Result<OnDemandPrices, String> {
        let raw: RawOnDemand = toml::from_str(src).map_err(|e| e.to_string())?;
        let mut regions = BTreeMap::new();
        for r in raw.region {
            if let Some((ty, p)) = r.prices.iter().find(|(_, p)| !(p.is_finite() && **p > 0.0)) {
                return Err(format!(
                    "region {}: the on-demand price of {ty} must be above zero, got {p}",
                    r.name
                ));
            }
            regions.insert(r.name, r.prices);
        }
        Ok(OnDemandPrices {
            source: raw.source,
            regions,
        })
    }

    /// The on-demand price of EC2 type `ty` in `region`, USD per hour.
    pub fn price(&self, region: &str, ty: &str) -> Option<f64> {
        self.regions.get(region)?.get(ty).copied()
    }

    /// Regions with prices.
    pub fn regions(&self) -> impl Iterator<Item = &str> {
        self.regions.keys().map(String::as_str)
    }
}

/// One spot price change, as EC2 reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct PricePoint {
    /// Availability zone.
    pub zone: String,
    /// EC2 instance type (`p3.2xlarge`).
    pub instance_type: String,
    /// Spot price, USD per hour.
    pub price_usd: f64,
    /// When it took effect, milliseconds since the Unix epoch.
    pub at_ms: i64,
}

/// The time window the prices are averaged over, milliseconds since the
/// Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Start.
    pub start_ms: i64,
    /// End.
    pub end_ms: i64,
}

/// Why prices cannot become a spot-market file.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum PricesError {
    /// No on-demand price to compare against.
    #[error("no on-demand price for {instance_type} in {region} (regions with prices: {known}); add it to fixtures/ec2-on-demand.toml or pass --on-demand FILE")]
    NoOnDemand {
        /// EC2 instance type.
        instance_type: String,
        /// Region.
        region: String,
        /// Regions the prices cover.
        known: String,
    },
    /// EC2 reported no spot price for a type in the window.
    #[error("EC2 reported no spot price for {instance_type} in {region} over the window (is it offered there, and is the name right?)")]
    NoPrices {
        /// EC2 instance type.
        instance_type: String,
        /// Region.
        region: String,
    },
}

/// One zone's prices over the window.
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneSummary {
    /// Availability zone.
    pub zone: String,
    /// Time-weighted mean spot price over the window, USD per hour.
    pub mean_usd: f64,
    /// The price at the end of the window.
    pub last_usd: f64,
    /// Price changes seen (with the one in effect at the start).
    pub changes: usize,
    /// 1 − mean / on-demand, at least 0.
    pub savings: f64,
}

/// One instance type's prices over the window.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeSummary {
    /// The SageMaker type (`ml.p3.2xlarge`).
    pub instance_type: String,
    /// The EC2 type underneath (`p3.2xlarge`).
    pub ec2_type: String,
    /// On-demand price, USD per hour.
    pub on_demand_usd: f64,
    /// Per zone, sorted by zone.
    pub zones: Vec<ZoneSummary>,
    /// The mean of the zones' savings.
    pub savings: f64,
}

/// The EC2 type under a SageMaker type name, or the name itself.
pub fn ec2_type(name: &str) -> &str {
    name.strip_prefix("ml.").unwrap_or(name)
}

/// The time-weighted mean of a step function of price over `w`: each
/// price holds from its change to the next. Time before the first change
/// is not counted. With no time covered, the last price.
fn time_weighted_mean(points: &[(i64, f64)], w: Window) -> f64 {
    let mut weighted = 0.0;
    let mut covered = 0.0;
    for (i, &(at, price)) in points.iter().enumerate() {
        let next = points.get(i + 1).map_or(w.end_ms, |p| p.0.min(w.end_ms));
        let from = at.max(w.start_ms);
        if next > from {
            let len = (next - from) as f64;
            weighted += price * len;
            covered += len;
        }
    }
    if covered > 0.0 {
        weighted / covered
    } else {
        points.last().map_or(0.0, |p| p.1)
    }
}

fn round(x: f64, places: i32) -> f64 {
    let k = 10f64.powi(places);
    (x * k).round() / k
}

/// Summarises `points` per type and zone for every type in `types`
/// (SageMaker or EC2 names), in the order given.
pub fn summarize(
    points: &[PricePoint],
    region: &str,
    types: &[String],
    window: Window,
    on_demand: &OnDemandPrices,
) -> Result<Vec<TypeSummary>, PricesError> {
    let mut out = Vec::new();
    for name in types {
        let ec2 = ec2_type(name);
        let od = on_demand
            .price(region, ec2)
            .ok_or_else(|| PricesError::NoOnDemand {
                instance_type: ec2.to_string(),
                region: region.to_string(),
                known: on_demand.regions().collect::<Vec<_>>().join(", "),
            })?;
        let mut by_zone: BTreeMap<&str, Vec<(i64, f64)>> = BTreeMap::new();
        for p in points
            .iter()
            .filter(|p| p.instance_type == ec2 && p.at_ms <= window.end_ms)
        {
            by_zone
                .entry(&p.zone)
                .or_default()
                .push((p.at_ms, p.price_usd));
        }
        if by_zone.is_empty() {
            return Err(PricesError::NoPrices {
                instance_type: ec2.to_string(),
                region: region.to_string(),
            });
        }
        let zones: Vec<ZoneSummary> = by_zone
            .into_iter()
            .map(|(zone, mut series)| {
                series.sort_by_key(|p| p.0);
                // Only the last change at or before the start matters.
                let first = series
                    .iter()
                    .rposition(|p| p.0 <= window.start_ms)
                    .unwrap_or(0);
                let series = &series[first..];
                let mean = time_weighted_mean(series, window);
                ZoneSummary {
                    zone: zone.to_string(),
                    mean_usd: round(mean, 6),
                    last_usd: series.last().map_or(0.0, |p| p.1),
                    changes: series.len(),
                    savings: round((1.0 - mean / od).max(0.0), 4),
                }
            })
            .collect();
        let savings = round(
            zones.iter().map(|z| z.savings).sum::<f64>() / zones.len() as f64,
            4,
        );
        out.push(TypeSummary {
            instance_type: format!("ml.{ec2}"),
            ec2_type: ec2.to_string(),
            on_demand_usd: od,
            zones,
            savings,
        });
    }
    Ok(out)
}

/// Where a spot-market file's prices came from.
#[derive(Clone, Debug)]
pub struct Provenance<'a> {
    /// Region.
    pub region: &'a str,
    /// Product description (`Linux/UNIX`).
    pub product: &'a str,
    /// The window, as ISO 8601 times.
    pub start: &'a str,
    /// End of the window.
    pub end: &'a str,
    /// Where the call went (the region's EC2 endpoint or an override).
    pub endpoint: &'a str,
    /// Where the on-demand prices came from.
    pub on_demand_source: &'a str,
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The spot-market file for `types`, with a header saying where every
/// figure came from.
pub fn market_file(types: &[TypeSummary], p: &Provenance<'_>) -> String {
    let mut f = String::new();
    let _ = writeln!(
        f,
        "# Spot market from EC2 DescribeSpotPriceHistory, written by `gameday prices`.\n\
         #\n\
         # Region {}, {}, {} to {}, from {}.\n\
         # `savings` = 1 - (time-weighted mean spot price over the window) / (EC2\n\
         # on-demand price), per zone; a type's `savings` is the mean over its zones\n\
         # (gameday assumes SageMaker may place a job in any zone of the region).\n\
         # On-demand prices: {}.\n\
         #\n\
         # Load it in a scenario with `[scenario] spot_market = \"<this file>\"`; pick\n\
         # one zone with `[[spot_market]] instance_type = \"...\"` and `zone = \"...\"`.\n\
         # The price feed says nothing of interruptions or capacity: the built-in\n\
         # interruption bands and capacity waits (fixtures/spot-market.toml) stay.",
        p.region, p.product, p.start, p.end, p.endpoint, p.on_demand_source
    );
    for t in types {
        let _ = writeln!(
            f,
            "\n[[spot_market]]\ninstance_type = {}\nsavings = {}\nsource = {}\nzones = [",
            quote(&t.instance_type),
            t.savings,
            quote(&format!(
                "EC2 DescribeSpotPriceHistory {} {} {} to {}; on-demand {} USD/h",
                p.region, t.ec2_type, p.start, p.end, t.on_demand_usd
            )),
        );
        for z in &t.zones {
            let _ = writeln!(
                f,
                "  {{ zone = {}, savings = {}, spot_price = {}, changes = {} }},",
                quote(&z.zone),
                z.savings,
                z.mean_usd,
                z.changes
            );
        }
        f.push_str("]\n");
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    fn pt(zone: &str, ty: &str, price: f64, at_h: i64) -> PricePoint {
        PricePoint {
            zone: zone.into(),
            instance_type: ty.into(),
            price_usd: price,
            at_ms: at_h * H,
        }
    }

    #[test]
    fn builtin_on_demand_prices_cover_the_spot_market_types() {
        let od = OnDemandPrices::builtin();
        let cat = crate::Catalog::builtin();
        for region in ["us-east-1", "us-west-2"] {
            for ty in ["p3.2xlarge", "p4d.24xlarge", "g5.xlarge", "g4dn.xlarge"] {
                assert!(od.price(region, ty).is_some(), "{region} {ty}");
                assert!(cat.types.contains_key(&format!("ml.{ty}")), "{ty}");
            }
        }
        assert!(OnDemandPrices::parse(
            "source = \"x\"\n[[region]]\nname = \"r\"\nprices = { \"a.b\" = 0 }"
        )
        .is_err());
    }

    #[test]
    fn the_mean_is_weighted_by_how_long_each_price_held() {
        // Window 10h..20h. 1a: 1.0 from 5h (in effect at the start), 2.0
        // from 15h: mean 1.5. 1b: 3.0 from 18h only: the two hours known.
        let w = Window {
            start_ms: 10 * H,
            end_ms: 20 * H,
        };
        let points = [
            pt("1a", "p3.2xlarge", 0.5, 1),
            pt("1a", "p3.2xlarge", 1.0, 5),
            pt("1a", "p3.2xlarge", 2.0, 15),
            pt("1a", "p3.2xlarge", 9.0, 25), // after the window
            pt("1b", "p3.2xlarge", 3.0, 18),
            pt("1a", "g5.xlarge", 0.4, 0),
        ];
        let od = OnDemandPrices::parse(
            "source = \"t\"\n[[region]]\nname = \"r\"\nprices = { \"p3.2xlarge\" = 4.0 }",
        )
        .unwrap();
        let s = summarize(&points, "r", &["ml.p3.2xlarge".into()], w, &od).unwrap();
        assert_eq!(s.len(), 1);
        let t = &s[0];
        assert_eq!(t.instance_type, "ml.p3.2xlarge");
        assert_eq!(t.zones[0].zone, "1a");
        assert_eq!(t.zones[0].mean_usd, 1.5);
        assert_eq!(t.zones[0].last_usd, 2.0);
        assert_eq!(t.zones[0].changes, 2);
        assert_eq!(t.zones[0].savings, 0.625);
        assert_eq!(t.zones[1].mean_usd, 3.0);
        assert_eq!(t.zones[1].savings, 0.25);
        assert_eq!(t.savings, 0.4375);
    }

    #[test]
    fn missing_prices_are_named() {
        let w = Window {
            start_ms: 0,
            end_ms: H,
        };
        let od = OnDemandPrices::builtin();
        let e = summarize(&[], "us-east-1", &["p3.2xlarge".into()], w, &od).unwrap_err();
        assert!(matches!(e, PricesError::NoPrices { .. }), "{e}");
        let e = summarize(&[], "eu-west-1", &["p3.2xlarge".into()], w, &od).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no on-demand price for p3.2xlarge in eu-west-1 (regions with prices: us-east-1, us-west-2); add it to fixtures/ec2-on-demand.toml or pass --on-demand FILE"
        );
    }

    #[test]
    fn a_spot_above_on_demand_saves_nothing() {
        let w = Window {
            start_ms: 0,
            end_ms: H,
        };
        let od = OnDemandPrices::builtin();
        let s = summarize(
            &[pt("z", "c5.xlarge", 0.5, 0)],
            "us-east-1",
            &["c5.xlarge".into()],
            w,
            &od,
        )
        .unwrap();
        assert_eq!(s[0].savings, 0.0);
    }
}
