//! The query parser, the window and paging rules, and EC2's XML.

use super::*;

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v = vec![("Action".to_string(), "DescribeSpotPriceHistory".to_string())];
    v.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    v
}

fn history() -> SpotPriceHistory {
    SpotPriceHistory::parse(
        "# test\nregion,availability_zone,instance_type,product_description,spot_price,timestamp\n\
         us-east-1,us-east-1a,p3.2xlarge,Linux/UNIX,0.900000,2026-11-30T00:00:00Z\n\
         us-east-1,us-east-1a,p3.2xlarge,Linux/UNIX,0.950000,2026-11-30T06:00:00Z\n\
         us-east-1,us-east-1a,p3.2xlarge,Linux/UNIX,1.000000,2026-11-30T12:00:00Z\n\
         us-east-1,us-east-1b,p3.2xlarge,Linux/UNIX,0.800000,2026-11-29T00:00:00Z\n\
         us-east-1,us-east-1a,g5.xlarge,Linux/UNIX,0.350000,2026-11-30T01:00:00Z\n\
         us-west-2,us-west-2a,p3.2xlarge,Linux/UNIX,0.700000,2026-11-30T01:00:00Z\n",
    )
    .unwrap()
}

fn query(
    h: &SpotPriceHistory,
    region: &str,
    pairs: &[(&str, &str)],
) -> Result<Vec<(String, String, String)>, Ec2Error> {
    let q = Query::parse(&form(pairs))?;
    Ok(answer(h, region, &q)?
        .items
        .iter()
        .map(|c| (c.zone.clone(), c.instance_type.clone(), c.price.clone()))
        .collect())
}

#[test]
fn builtin_history_parses_and_covers_both_regions() {
    let h = SpotPriceHistory::builtin();
    assert!(h.changes().len() > 1000);
    for r in ["us-east-1", "us-west-2"] {
        assert!(h.changes().iter().any(|c| c.region == r));
    }
}

#[test]
fn timestamps_round_trip() {
    let ms = parse_timestamp("2026-12-01T08:00:00Z").unwrap();
    assert_eq!(ms, 1_796_112_000_000);
    assert_eq!(format_timestamp(ms), "2026-12-01T08:00:00.000Z");
    assert_eq!(parse_timestamp("2026-12-01T08:00:00.250Z"), Some(ms + 250));
    assert_eq!(parse_timestamp("yesterday"), None);
}

#[test]
fn filters_by_region_type_and_zone_newest_first() {
    let h = history();
    let got = query(&h, "us-east-1", &[("InstanceType.1", "p3.2xlarge")]).unwrap();
    let prices: Vec<&str> = got.iter().map(|g| g.2.as_str()).collect();
    assert_eq!(prices, ["1.000000", "0.950000", "0.900000", "0.800000"]);
    let got = query(
        &h,
        "us-east-1",
        &[
            ("Filter.1.Name", "availability-zone"),
            ("Filter.1.Value.1", "us-east-1b"),
        ],
    )
    .unwrap();
    assert_eq!(
        got,
        [("us-east-1b".into(), "p3.2xlarge".into(), "0.800000".into())]
    );
    let got = query(&h, "us-west-2", &[]).unwrap();
    assert_eq!(got.len(), 1);
    assert!(query(&h, "eu-west-1", &[]).unwrap().is_empty());
}

#[test]
fn a_window_keeps_the_price_in_effect_at_its_start() {
    let h = history();
    let got = query(
        &h,
        "us-east-1",
        &[
            ("InstanceType.1", "p3.2xlarge"),
            ("StartTime", "2026-11-30T07:00:00Z"),
            ("EndTime", "2026-11-30T11:00:00Z"),
        ],
    )
    .unwrap();
    // Nothing changed inside the window: 1a's 06:00 change and 1b's
    // change of the day before are the prices in effect.
    let prices: Vec<&str> = got.iter().map(|g| g.2.as_str()).collect();
    assert_eq!(prices, ["0.950000", "0.800000"]);
}

#[test]
fn pages_follow_next_tokens_to_the_end() {
    let h = SpotPriceHistory::builtin();
    let all = query(h, "us-east-1", &[("InstanceType.1", "p3.2xlarge")]).unwrap();
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut pairs = vec![("InstanceType.1", "p3.2xlarge"), ("MaxResults", "7")];
        if let Some(t) = &token {
            pairs.push(("NextToken", t));
        }
        let q = Query::parse(&form(&pairs)).unwrap();
        let p = answer(h, "us-east-1", &q).unwrap();
        assert!(p.items.len() <= 7);
        seen.extend(p.items.iter().map(|c| c.price.clone()));
        pages += 1;
        token = p.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), all.len());
    assert_eq!(pages, all.len().div_ceil(7));
    assert_eq!(seen, all.iter().map(|g| g.2.clone()).collect::<Vec<_>>());
}

#[test]
fn bad_requests_get_ec2_errors() {
    let h = history();
    let code = |pairs: &[(&str, &str)]| query(&h, "us-east-1", pairs).unwrap_err().code;
    assert_eq!(
        code(&[("InstanceType.1", "ml.p3.2xlarge")]),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(&[("InstanceType.1", "not-a-type")]),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(&[("ProductDescription.1", "BeOS")]),
        "InvalidParameterValue"
    );
    assert_eq!(code(&[("MaxResults", "4")]), "InvalidParameterValue");
    assert_eq!(code(&[("MaxResults", "1001")]), "InvalidParameterValue");
    assert_eq!(
        code(&[("StartTime", "last tuesday")]),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(&[
            ("StartTime", "2026-12-01T00:00:00Z"),
            ("EndTime", "2026-11-01T00:00:00Z")
        ]),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(&[("Filter.1.Name", "spot-price"), ("Filter.1.Value.1", "1")]),
        "InvalidParameterValue"
    );
    assert_eq!(code(&[("NextToken", "abc")]), "InvalidPaginationToken");
    assert_eq!(
        code(&[("NextToken", "gameday-99")]),
        "InvalidPaginationToken"
    );
    let e = call_form(
        &h,
        "us-east-1",
        &[("Action".into(), "RunInstances".into())],
        "id",
    )
    .unwrap_err();
    assert_eq!(e.code, "InvalidAction");
    assert_eq!(
        call_form(&h, "us-east-1", &[], "id").unwrap_err().code,
        "MissingAction"
    );
}

#[test]
fn answers_and_errors_are_ec2_xml() {
    let h = history();
    let xml = call_form(
        &h,
        "us-east-1",
        &form(&[("InstanceType.1", "g5.xlarge")]),
        "rid",
    )
    .unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "DescribeSpotPriceHistoryResponse");
    let item = root.descendants().find(|n| n.has_tag_name("item")).unwrap();
    let field = |name: &str| {
        item.children()
            .find(|n| n.has_tag_name(name))
            .and_then(|n| n.text())
            .unwrap()
            .to_string()
    };
    assert_eq!(field("spotPrice"), "0.350000");
    assert_eq!(field("timestamp"), "2026-11-30T01:00:00.000Z");
    assert_eq!(field("availabilityZone"), "us-east-1a");
    let e = error_xml(&invalid("a <b> & c"), "rid");
    let doc = roxmltree::Document::parse(&e).unwrap();
    let code = doc.descendants().find(|n| n.has_tag_name("Code")).unwrap();
    assert_eq!(code.text(), Some("InvalidParameterValue"));
    let msg = doc
        .descendants()
        .find(|n| n.has_tag_name("Message"))
        .unwrap();
    assert_eq!(msg.text(), Some("a <b> & c"));
}

#[test]
fn the_signing_region_comes_from_the_credential_scope() {
    let mut h = HeaderMap::new();
    h.insert(
        header::AUTHORIZATION,
        HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=test/20261201/us-west-2/ec2/aws4_request, SignedHeaders=host, Signature=abc"),
    );
    assert_eq!(signing_region(&h).as_deref(), Some("us-west-2"));
    assert_eq!(signing_region(&HeaderMap::new()), None);
}
