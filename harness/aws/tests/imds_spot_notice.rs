//! The training runner's IMDS endpoint answers the AWS SDK's own IMDSv2
//! client (token, then metadata) the way EC2 does for a spot notice.

use gameday_live::training::imds::Imds;

#[tokio::test]
async fn the_sdk_imds_client_reads_the_spot_notice() {
    let imds = Imds::start("ml.p3.2xlarge", 1).await.unwrap();
    let client = aws_config::imds::Client::builder()
        .endpoint(imds.url())
        .unwrap()
        .build();
    const ACTION: &str = "/latest/meta-data/spot/instance-action";

    // No notice: 404, which the client reports as an error response.
    let err = client.get(ACTION).await.unwrap_err();
    assert!(format!("{err:?}").contains("404"), "{err:?}");
    assert_eq!(
        client
            .get("/latest/meta-data/instance-type")
            .await
            .unwrap()
            .as_ref(),
        "p3.2xlarge"
    );

    imds.set_notice(1_767_255_720);
    let notice = client.get(ACTION).await.unwrap();
    let v: serde_json::Value = serde_json::from_str(notice.as_ref()).unwrap();
    assert_eq!(v["action"], "terminate");
    assert_eq!(v["time"], "2026-01-01T08:22:00Z");

    imds.clear_notice();
    assert!(client.get(ACTION).await.is_err());
}
