//! The IMDS endpoint on raw HTTP: token rules and unknown paths.

use gameday_live::training::imds::Imds;

#[tokio::test]
async fn a_wrong_token_is_refused_and_a_token_needs_a_ttl() {
    let imds = Imds::start("ml.p3.2xlarge", 1).await.unwrap();
    let url = imds.url();
    let http = |method: &str, path: &str, header: Option<(&str, &str)>| {
        let url = format!("{url}{path}");
        let method = method.to_string();
        let header = header.map(|(k, v)| (k.to_string(), v.to_string()));
        async move {
            use http_body_util::Empty;
            use hyper_util::rt::TokioExecutor;
            let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                .build_http::<Empty<bytes::Bytes>>();
            let mut req = hyper::Request::builder().method(method.as_str()).uri(url);
            if let Some((k, v)) = header {
                req = req.header(k, v);
            }
            client
                .request(req.body(Empty::new()).unwrap())
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(http("PUT", "/latest/api/token", None).await, 400);
    assert_eq!(
        http(
            "PUT",
            "/latest/api/token",
            Some(("x-aws-ec2-metadata-token-ttl-seconds", "21600"))
        )
        .await,
        200
    );
    let action = "/latest/meta-data/spot/instance-action";
    assert_eq!(
        http("GET", action, Some(("x-aws-ec2-metadata-token", "forged"))).await,
        401
    );
    assert_eq!(http("GET", action, None).await, 404); // IMDSv1 style, no notice
    assert_eq!(
        http("GET", "/latest/meta-data/nothing-here", None).await,
        404
    );
}
