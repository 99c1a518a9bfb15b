//! EC2's `DescribeSpotPriceHistory` on the embedded platform: `POST /`
//! with a form-encoded query-protocol body
//! (`Action=DescribeSpotPriceHistory&Version=2016-11-15&InstanceType.1=…`)
//! and an XML answer, as `aws-sdk-ec2`, boto3 and the AWS CLI send and
//! read it. The prices come from `fixtures/ec2/spot-price-history.csv`
//! (synthetic), so `gameday prices` and a user's own scripts can be tested
//! end to end without an AWS account.
//!
//! What it implements of the real call:
//! - filters `InstanceType.N`, `ProductDescription.N`, `AvailabilityZone`
//!   and `Filter.N` (`instance-type`, `product-description`,
//!   `availability-zone`), the region taken from the request's SigV4
//!   credential scope (`us-east-1` when unsigned);
//! - `StartTime`/`EndTime`: the changes inside the window, plus the last
//!   change before `StartTime`, which is the price in effect at the start;
//! - newest first; `MaxResults` (5 to 1000, default 1000) and `NextToken`;
//! - errors as EC2 sends them (HTTP 400, `<Response><Errors><Error>`):
//!   `InvalidParameterValue`, `InvalidPaginationToken`, `InvalidAction`,
//!   `MissingAction`.
//!
//! Signatures are not checked.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::server::AppState;

/// The built-in price history (`fixtures/ec2/spot-price-history.csv`).
pub const SPOT_PRICE_HISTORY: &str = include_str!("../../../fixtures/ec2/spot-price-history.csv");

/// Largest form body a call may have.
const MAX_BODY: usize = 64 * 1024;
const NAMESPACE: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";
/// `MaxResults`' range and default.
const MAX_RESULTS: std::ops::RangeInclusive<usize> = 5..=1000;
/// Product descriptions EC2 accepts.
const PRODUCTS: [&str; 8] = [
    "Linux/UNIX",
    "Linux/UNIX (Amazon VPC)",
    "SUSE Linux",
    "SUSE Linux (Amazon VPC)",
    "Red Hat Enterprise Linux",
    "Red Hat Enterprise Linux (Amazon VPC)",
    "Windows",
    "Windows (Amazon VPC)",
];

/// One price change.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceChange {
    /// Region, like `us-east-1`.
    pub region: String,
    /// Availability zone, like `us-east-1a`.
    pub zone: String,
    /// EC2 instance type, like `p3.2xlarge`.
    pub instance_type: String,
    /// Product description, like `Linux/UNIX`.
    pub product: String,
    /// Price in US dollars per hour, as EC2 writes it (a decimal string).
    pub price: String,
    /// When the price took effect, milliseconds since the Unix epoch.
    pub at_ms: i64,
}

/// A spot price history: every change, in file order.
#[derive(Clone, Debug, Default)]
pub struct SpotPriceHistory {
    changes: Vec<PriceChange>,
}

/// An EC2 error: its code and message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Ec2Error {
    /// EC2's error code, like `InvalidParameterValue`.
    pub code: &'static str,
    /// What was wrong.
    pub message: String,
}

fn invalid(message: impl Into<String>) -> Ec2Error {
    Ec2Error {
        code: "InvalidParameterValue",
        message: message.into(),
    }
}

/// Parses an ISO 8601 UTC timestamp (`2026-12-01T08:00:00Z`, fractions
/// allowed) into milliseconds since the Unix epoch.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    humantime::parse_rfc3339_weak(s).ok().map(unix_ms)
}

/// Formats milliseconds since the Unix epoch as EC2 does
/// (`2026-12-01T08:00:00.000Z`).
pub fn format_timestamp(ms: i64) -> String {
    let t = if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    };
    humantime::format_rfc3339_millis(t).to_string()
}

impl SpotPriceHistory {
    /// The built-in history, parsed once.
    pub fn builtin() -> &'static SpotPriceHistory {
        static H: OnceLock<SpotPriceHistory> = OnceLock::new();
        H.get_or_init(|| {
            SpotPriceHistory::parse(SPOT_PRICE_HISTORY)
                .expect("the built-in history parses (tested)")
        })
    }

    /// Parses a history in the fixture's CSV format (`#` lines are
    /// comments).
    pub fn parse(src: &str) -> Result<SpotPriceHistory, String> {
        #[derive(serde::Deserialize)]
        struct Row {
            region: String,
            availability_zone: String,
            instance_type: String,
            product_description: String,
            spot_price: String,
            timestamp: String,
        }
        let mut rd = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .from_reader(src.as_bytes());
        let mut changes = Vec::new();
        for (i, row) in rd.deserialize::<Row>().enumerate() {
            let r = row.map_err(|e| format!("row {}: {e}", i + 1))?;
            if r.spot_price
                .parse::<f64>()
                .map_or(true, |p| p.is_nan() || p < 0.0)
            {
                return Err(format!("row {}: bad spot_price {:?}", i + 1, r.spot_price));
            }
            let at_ms = parse_timestamp(&r.timestamp)
                .ok_or_else(|| format!("row {}: bad timestamp {:?}", i + 1, r.timestamp))?;
            changes.push(PriceChange {
                region: r.region,
                zone: r.availability_zone,
                instance_type: r.instance_type,
                product: r.product_description,
                price: r.spot_price,
                at_ms,
            });
        }
        Ok(SpotPriceHistory { changes })
    }

    /// Every change.
    pub fn changes(&self) -> &[PriceChange] {
        &self.changes
    }
}

/// One page of an answer.
#[derive(Debug, PartialEq)]
pub struct Page<'a> {
    /// The changes on this page, newest first.
    pub items: Vec<&'a PriceChange>,
    /// The token for the next page, if there is one.
    pub next_token: Option<String>,
}

/// A parsed `DescribeSpotPriceHistory` request.
#[derive(Debug, Default)]
struct Query {
    instance_types: Vec<String>,
    products: Vec<String>,
    zone: Option<String>,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    max_results: usize,
    offset: usize,
}

fn is_instance_type(s: &str) -> bool {
    let Some((family, size)) = s.split_once('.') else {
        return false;
    };
    family.starts_with(|c: char| c.is_ascii_lowercase())
        && family
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !size.is_empty()
        && size
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

fn time_param(name: &str, v: &str) -> Result<i64, Ec2Error> {
    parse_timestamp(v).ok_or_else(|| {
        invalid(format!(
            "Value ({v}) for parameter {name} is invalid. Expected an ISO 8601 time, like 2026-12-01T08:00:00Z."
        ))
    })
}

impl Query {
    fn parse(form: &[(String, String)]) -> Result<Query, Ec2Error> {
        let mut q = Query {
            max_results: *MAX_RESULTS.end(),
            ..Query::default()
        };
        // Filter.N.Name and Filter.N.Value.M, gathered by N.
        let mut filters: BTreeMap<u32, (Option<String>, Vec<String>)> = BTreeMap::new();
        for (k, v) in form {
            let mut parts = k.split('.');
            match (parts.next(), parts.next(), parts.next(), parts.next()) {
                (Some("InstanceType"), Some(_), None, None) => q.instance_types.push(v.clone()),
                (Some("ProductDescription"), Some(_), None, None) => q.products.push(v.clone()),
                (Some("AvailabilityZone"), None, ..) => q.zone = Some(v.clone()),
                (Some("StartTime"), None, ..) => q.start_ms = Some(time_param("startTime", v)?),
                (Some("EndTime"), None, ..) => q.end_ms = Some(time_param("endTime", v)?),
                (Some("MaxResults"), None, ..) => {
                    q.max_results = v
                        .parse()
                        .ok()
                        .filter(|n| MAX_RESULTS.contains(n))
                        .ok_or_else(|| {
                            invalid(format!(
                                "Value ({v}) for parameter maxResults is invalid. Expecting a value between {} and {}.",
                                MAX_RESULTS.start(),
                                MAX_RESULTS.end()
                            ))
                        })?;
                }
                (Some("NextToken"), None, ..) => {
                    q.offset = v
                        .strip_prefix("gameday-")
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(|| Ec2Error {
                            code: "InvalidPaginationToken",
                            message: format!("The pagination token {v} is not valid."),
                        })?;
                }
                (Some("Filter"), Some(n), Some("Name"), None) => {
                    let n = n.parse().unwrap_or(u32::MAX);
                    filters.entry(n).or_default().0 = Some(v.clone());
                }
                (Some("Filter"), Some(n), Some("Value"), Some(_)) => {
                    let n = n.parse().unwrap_or(u32::MAX);
                    filters.entry(n).or_default().1.push(v.clone());
                }
                _ => {}
            }
        }
        for (name, values) in filters.into_values() {
            match name.as_deref() {
                Some("instance-type") => q.instance_types.extend(values),
                Some("product-description") => q.products.extend(values),
                Some("availability-zone") => q.zone = values.into_iter().next(),
                Some(other) => {
                    return Err(invalid(format!(
                        "The filter '{other}' is invalid (gameday serves instance-type, product-description and availability-zone)"
                    )))
                }
                None => return Err(invalid("a Filter.N needs a Name")),
            }
        }
        if let Some(bad) = q.instance_types.iter().find(|t| !is_instance_type(t)) {
            return Err(invalid(format!(
                "Value ( {bad} ) for parameter instanceType is invalid. An EC2 instance type looks like p3.2xlarge."
            )));
        }
        if let Some(bad) = q.products.iter().find(|p| !PRODUCTS.contains(&p.as_str())) {
            return Err(invalid(format!(
                "Value ( {bad} ) for parameter productDescription is invalid. Expected one of: {}.",
                PRODUCTS.join(", ")
            )));
        }
        if let (Some(s), Some(e)) = (q.start_ms, q.end_ms) {
            if s > e {
                return Err(invalid("The start time must be before the end time."));
            }
        }
        Ok(q)
    }
}

/// Answers one query: the changes that match, newest first, one page of
/// them.
fn answer<'a>(h: &'a SpotPriceHistory, region: &str, q: &Query) -> Result<Page<'a>, Ec2Error> {
    let matches = |c: &PriceChange| {
        c.region == region
            && (q.instance_types.is_empty() || q.instance_types.contains(&c.instance_type))
            && (q.products.is_empty() || q.products.contains(&c.product))
            && q.zone.as_ref().is_none_or(|z| *z == c.zone)
    };
    let end = q.end_ms.unwrap_or(i64::MAX);
    // Per series, the last change at or before the start is in effect at
    // the start: keep it with the changes inside the window.
    let mut in_effect: BTreeMap<(&str, &str, &str), &PriceChange> = BTreeMap::new();
    let mut items: Vec<&PriceChange> = Vec::new();
    for c in h.changes.iter().filter(|c| matches(c) && c.at_ms <= end) {
        match q.start_ms {
            Some(s) if c.at_ms <= s => {
                let key = (
                    c.zone.as_str(),
                    c.instance_type.as_str(),
                    c.product.as_str(),
                );
                let e = in_effect.entry(key).or_insert(c);
                if c.at_ms >= e.at_ms {
                    *e = c;
                }
            }
            _ => items.push(c),
        }
    }
    items.extend(in_effect.into_values());
    items.sort_by(|a, b| {
        b.at_ms
            .cmp(&a.at_ms)
            .then_with(|| a.zone.cmp(&b.zone))
            .then_with(|| a.instance_type.cmp(&b.instance_type))
            .then_with(|| a.product.cmp(&b.product))
    });
    if q.offset > items.len() {
        return Err(Ec2Error {
            code: "InvalidPaginationToken",
            message: format!("The pagination token gameday-{} is not valid.", q.offset),
        });
    }
    let to = (q.offset + q.max_results).min(items.len());
    let next_token = (to < items.len()).then(|| format!("gameday-{to}"));
    Ok(Page {
        items: items[q.offset..to].to_vec(),
        next_token,
    })
}

/// One query-protocol call: its form pairs in, the XML body out.
pub fn call_form(
    h: &SpotPriceHistory,
    region: &str,
    form: &[(String, String)],
    request_id: &str,
) -> Result<String, Ec2Error> {
    let action = form
        .iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.as_str());
    match action {
        None => Err(Ec2Error {
            code: "MissingAction",
            message: "The request must contain the parameter Action.".into(),
        }),
        Some("DescribeSpotPriceHistory") => {
            let q = Query::parse(form)?;
            Ok(page_xml(&answer(h, region, &q)?, request_id))
        }
        Some(other) => Err(Ec2Error {
            code: "InvalidAction",
            message: format!(
                "The action {other} is not valid for this web service (gameday serves DescribeSpotPriceHistory)."
            ),
        }),
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn page_xml(p: &Page<'_>, request_id: &str) -> String {
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeSpotPriceHistoryResponse xmlns=\"{NAMESPACE}\">\n    <requestId>{}</requestId>\n    <spotPriceHistorySet>\n",
        escape(request_id)
    );
    for c in &p.items {
        x.push_str(&format!(
            "        <item>\n            <instanceType>{}</instanceType>\n            <productDescription>{}</productDescription>\n            <spotPrice>{}</spotPrice>\n            <timestamp>{}</timestamp>\n            <availabilityZone>{}</availabilityZone>\n        </item>\n",
            escape(&c.instance_type),
            escape(&c.product),
            escape(&c.price),
            format_timestamp(c.at_ms),
            escape(&c.zone),
        ));
    }
    x.push_str("    </spotPriceHistorySet>\n");
    match &p.next_token {
        Some(t) => x.push_str(&format!("    <nextToken>{}</nextToken>\n", escape(t))),
        None => x.push_str("    <nextToken/>\n"),
    }
    x.push_str("</DescribeSpotPriceHistoryResponse>\n");
    x
}

fn error_xml(e: &Ec2Error, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code><Message>{}</Message></Error></Errors><RequestID>{}</RequestID></Response>\n",
        e.code,
        escape(&e.message),
        escape(request_id)
    )
}

/// The region of a SigV4-signed request: the third part of the
/// `Credential=` scope (`AKID/20261201/us-east-1/ec2/aws4_request`).
pub fn signing_region(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let scope = auth.split("Credential=").nth(1)?;
    let scope = scope.split([',', ' ']).next()?;
    scope.split('/').nth(2).map(str::to_string)
}

/// Whether `headers` announce a form-encoded (query-protocol) body.
pub(crate) fn is_query(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

fn xml_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml;charset=UTF-8"),
    );
    r
}

/// A request ID shaped like EC2's (a UUID), counted so runs repeat.
fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "00000000-0000-4000-8000-{:012x}",
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `POST /` with a form body: one EC2 call.
pub(crate) async fn call(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let id = request_id();
    let Some(bytes) = crate::server::read_limited(&s, body, MAX_BODY).await else {
        let e = invalid(format!(
            "the request body must arrive in time and be at most {MAX_BODY} bytes"
        ));
        return xml_response(StatusCode::BAD_REQUEST, error_xml(&e, &id));
    };
    let form: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
    let region = signing_region(&headers).unwrap_or_else(|| "us-east-1".into());
    match call_form(SpotPriceHistory::builtin(), &region, &form, &id) {
        Ok(xml) => xml_response(StatusCode::OK, xml),
        Err(e) => xml_response(StatusCode::BAD_REQUEST, error_xml(&e, &id)),
    }
}

/// Milliseconds since the Unix epoch of a [`SystemTime`].
pub fn unix_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

#[cfg(test)]
mod tests;
