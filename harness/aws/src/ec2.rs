//! Spot price history through `aws-sdk-ec2`'s `DescribeSpotPriceHistory`
//! (the `ec2` feature): every page, through the SDK's paginator, for
//! `gameday prices`.

use std::time::SystemTime;

use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::primitives::DateTime;
use aws_sdk_ec2::types::InstanceType;
use aws_sdk_ec2::Client;

/// What to ask EC2 for.
#[derive(Clone, Debug)]
pub struct SpotPriceQuery {
    /// Region (also the signing region the embedded platform reads).
    pub region: String,
    /// Endpoint-URL override (the embedded platform, a proxy).
    pub endpoint_url: Option<String>,
    /// Static credentials instead of the default chain (tests).
    pub static_credentials: Option<(String, String)>,
    /// EC2 instance types (`p3.2xlarge`).
    pub instance_types: Vec<String>,
    /// Product description (`Linux/UNIX`).
    pub product: String,
    /// Start of the window.
    pub start: SystemTime,
    /// End of the window.
    pub end: SystemTime,
    /// Results per page (EC2 allows 5 to 1000); the service's default
    /// when `None`.
    pub page_size: Option<i32>,
}

/// One price change as EC2 reported it.
#[derive(Clone, Debug, PartialEq)]
pub struct SpotPricePoint {
    /// Availability zone.
    pub zone: String,
    /// EC2 instance type.
    pub instance_type: String,
    /// Spot price, USD per hour.
    pub price_usd: f64,
    /// When it took effect, milliseconds since the Unix epoch.
    pub at_ms: i64,
}

/// Every change in the window, and how many pages it took.
#[derive(Clone, Debug, PartialEq)]
pub struct SpotPriceHistory {
    /// The changes, in the order EC2 sent them.
    pub points: Vec<SpotPricePoint>,
    /// Pages fetched.
    pub pages: usize,
}

/// Why the history could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum Ec2Error {
    /// EC2 answered with an error.
    #[error("EC2 refused DescribeSpotPriceHistory: {code}: {message}")]
    Service {
        /// EC2's error code, like `InvalidParameterValue`.
        code: String,
        /// EC2's message.
        message: String,
    },
    /// The call did not get an answer (network, credentials, timeout).
    #[error("DescribeSpotPriceHistory failed: {0}")]
    Call(String),
    /// EC2 sent a price that is not a number.
    #[error("EC2 sent an unreadable spot price {0:?}")]
    BadPrice(String),
}

fn unix_ms(t: &DateTime) -> i64 {
    t.secs() * 1000 + i64::from(t.subsec_nanos() / 1_000_000)
}

/// Builds the EC2 client: the default chain, or the overrides in `q`.
pub async fn client(q: &SpotPriceQuery) -> Client {
    let shared = crate::shared_config(
        Some(&q.region),
        q.endpoint_url.as_deref(),
        q.static_credentials.as_ref(),
    )
    .await;
    Client::new(&shared)
}

/// Fetches every page of the spot price history `q` asks for.
pub async fn spot_price_history(q: &SpotPriceQuery) -> Result<SpotPriceHistory, Ec2Error> {
    let client = client(q).await;
    let mut call = client
        .describe_spot_price_history()
        .set_instance_types(Some(
            q.instance_types
                .iter()
                .map(|t| InstanceType::from(t.as_str()))
                .collect(),
        ))
        .product_descriptions(q.product.clone())
        .start_time(DateTime::from(q.start))
        .end_time(DateTime::from(q.end));
    if let Some(n) = q.page_size {
        call = call.max_results(n);
    }
    let mut pages = call.into_paginator().send();
    let mut out = SpotPriceHistory {
        points: Vec::new(),
        pages: 0,
    };
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| match e {
            SdkError::ServiceError(s) => {
                let e = s.into_err();
                Ec2Error::Service {
                    code: e.code().unwrap_or("Unknown").to_string(),
                    message: e.message().unwrap_or_default().to_string(),
                }
            }
            other => Ec2Error::Call(DisplayErrorContext(other).to_string()),
        })?;
        out.pages += 1;
        for p in page.spot_price_history() {
            let raw = p.spot_price().unwrap_or_default();
            let price_usd: f64 = raw.parse().map_err(|_| Ec2Error::BadPrice(raw.into()))?;
            out.points.push(SpotPricePoint {
                zone: p.availability_zone().unwrap_or_default().to_string(),
                instance_type: p
                    .instance_type()
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_default(),
                price_usd,
                at_ms: p.timestamp().map_or(0, unix_ms),
            });
        }
    }
    Ok(out)
}
