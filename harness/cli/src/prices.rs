//! `gameday prices`: EC2 spot prices into a spot-market file. The call
//! goes through `aws-sdk-ec2` (the `ec2` feature); the arithmetic and
//! the file format are `gameday_scenario::spot_prices`.

use anyhow::Result;

use crate::args::PricesArgs;
use crate::{Exit, InvalidInput};

/// Without the `ec2` feature there is no EC2 client to call.
#[cfg(not(feature = "ec2"))]
pub fn prices(_a: PricesArgs) -> Result<Exit> {
    Err(InvalidInput(
        "`gameday prices` needs the `ec2` feature (aws-sdk-ec2 is a long build, so it is off by default): \
         cargo run --release --features ec2 -- prices --region R --instance-types T,..."
            .into(),
    )
    .into())
}

/// Fetches the history, summarises it and writes the file.
#[cfg(feature = "ec2")]
pub fn prices(a: PricesArgs) -> Result<Exit> {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use anyhow::Context;
    use gameday_aws::ec2::{spot_price_history, Ec2Error, SpotPriceQuery};
    use gameday_live::ec2_api::{format_timestamp, parse_timestamp, unix_ms};
    use gameday_scenario::spot_prices::{
        ec2_type, market_file, summarize, OnDemandPrices, PricePoint, Provenance, Window,
    };

    let window = gameday_scenario::units::parse_duration(&a.window)
        .map_err(|e| InvalidInput(format!("--window: {e}")))?;
    if window.is_zero() {
        return Err(InvalidInput("--window must be longer than zero".into()).into());
    }
    #[allow(clippy::disallowed_methods)] // the window ends now: a wall-clock fact
    let end_ms = match &a.until {
        Some(t) => parse_timestamp(t).ok_or_else(|| {
            InvalidInput(format!(
                "--until: {t:?} is not an ISO 8601 UTC time like 2026-12-01T00:00:00Z"
            ))
        })?,
        None => unix_ms(SystemTime::now()),
    };
    let start_ms = end_ms - window.as_millis() as i64;
    let at = |ms: i64| UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    let on_demand = match &a.on_demand {
        None => OnDemandPrices::builtin(),
        Some(p) => {
            let src = std::fs::read_to_string(p)
                .map_err(|e| InvalidInput(format!("cannot read {}: {e}", p.display())))?;
            OnDemandPrices::parse(&src)
                .map_err(|e| InvalidInput(format!("{}: {e}", p.display())))?
        }
    };
    let ec2_types: Vec<String> = a
        .instance_types
        .iter()
        .map(|t| ec2_type(t).to_string())
        .collect();
    let q = SpotPriceQuery {
        region: a.region.clone(),
        endpoint_url: a.endpoint_url.clone(),
        static_credentials: None,
        instance_types: ec2_types.clone(),
        product: a.product.clone(),
        start: at(start_ms),
        end: at(end_ms),
        page_size: a.page_size,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let history = rt.block_on(spot_price_history(&q)).map_err(|e| match e {
        // The service refused what was asked: the user's input.
        Ec2Error::Service { .. } => anyhow::Error::new(InvalidInput(e.to_string())),
        other => anyhow::Error::new(other),
    })?;
    let points: Vec<PricePoint> = history
        .points
        .into_iter()
        .map(|p| PricePoint {
            zone: p.zone,
            instance_type: p.instance_type,
            price_usd: p.price_usd,
            at_ms: p.at_ms,
        })
        .collect();
    let w = Window { start_ms, end_ms };
    let types = summarize(&points, &a.region, &ec2_types, w, &on_demand)
        .map_err(|e| InvalidInput(e.to_string()))?;
    let endpoint = a
        .endpoint_url
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL_EC2").ok())
        .map(|u| gameday_load::redact::url(&u))
        .unwrap_or_else(|| format!("https://ec2.{}.amazonaws.com", a.region));
    let (start, end) = (format_timestamp(start_ms), format_timestamp(end_ms));
    let text = market_file(
        &types,
        &Provenance {
            region: &a.region,
            product: &a.product,
            start: &start,
            end: &end,
            endpoint: &endpoint,
            on_demand_source: &on_demand.source,
        },
    );
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| format!("spot-market-{}.toml", a.region).into());
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => ".".into(),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = out
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| InvalidInput(format!("--out {} names no file", out.display())))?;
    crate::output::write_bytes(&dir, name, text.as_bytes())?;
    if !a.quiet {
        println!(
            "{} price changes in {} page(s) from {endpoint}, {} {start} to {end}",
            points.len(),
            history.pages,
            a.region
        );
        println!(
            "{:<18} {:<12} {:>12} {:>12} {:>8}",
            "instance type", "zone", "spot $/h", "on-demand", "savings"
        );
        for t in &types {
            for z in &t.zones {
                println!(
                    "{:<18} {:<12} {:>12.4} {:>12.4} {:>7.1}%",
                    t.instance_type,
                    z.zone,
                    z.mean_usd,
                    t.on_demand_usd,
                    z.savings * 100.0
                );
            }
            println!(
                "{:<18} {:<12} {:>12} {:>12} {:>7.1}%",
                t.instance_type,
                "(mean)",
                "",
                "",
                t.savings * 100.0
            );
        }
        println!("wrote {}", out.display());
    }
    Ok(Exit::Pass)
}
