//! Helpers shared by the SDK tests.

use aws_sdk_sagemakerruntime::Client;
use gameday_aws::{SageMakerOptions, SageMakerTarget};

/// The real SageMaker Runtime client, pointed at `url` with static test
/// credentials and no retries.
pub async fn client(url: &str) -> Client {
    SageMakerTarget::new(SageMakerOptions {
        region: Some("us-east-1".into()),
        endpoint_url: Some(url.into()),
        max_attempts: 1,
        static_credentials: Some(("test".into(), "test".into())),
    })
    .await
    .client()
    .clone()
}
