//! SageMaker targets through the real AWS SDK for Rust.
//!
//! [`SageMakerTarget`] sends each call with `aws-sdk-sagemakerruntime`'s
//! InvokeEndpoint: the default credential chain and region, or an
//! endpoint-URL override (the embedded platform, a proxy, LocalStack).
//! SDK retries are off by default so faults are not hidden; when turned on,
//! an interceptor counts every attempt and the report shows attempts next
//! to calls. The AWS SDK crates live here alone so other builds skip them.

#[cfg(feature = "ec2")]
pub mod ec2;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_config::retry::RetryConfig;
use aws_sdk_sagemakerruntime::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_sagemakerruntime::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_sagemakerruntime::error::SdkError;
use aws_sdk_sagemakerruntime::operation::invoke_endpoint::InvokeEndpointError;
use aws_sdk_sagemakerruntime::primitives::Blob;
use aws_sdk_sagemakerruntime::Client;
use gameday_load::{Answer, BoxFuture, Invocation, Target, TargetError};

/// How to reach SageMaker.
#[derive(Clone, Debug, Default)]
pub struct SageMakerOptions {
    /// AWS region; the default chain's when `None`.
    pub region: Option<String>,
    /// Endpoint-URL override.
    pub endpoint_url: Option<String>,
    /// Attempts per call (1 = retries off, the default).
    pub max_attempts: u32,
    /// Use these static credentials instead of the default chain (tests
    /// against the embedded platform).
    pub static_credentials: Option<(String, String)>,
}

#[derive(Debug, Default)]
struct AttemptCounter(AtomicU64);

#[derive(Debug)]
struct CountAttempts(Arc<AttemptCounter>);

impl Intercept for CountAttempts {
    fn name(&self) -> &'static str {
        "gameday-count-attempts"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0 .0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// The SDK configuration every gameday client starts from: the default
/// chain, with the region, endpoint URL and static credentials given.
pub(crate) async fn shared_config(
    region: Option<&str>,
    endpoint_url: Option<&str>,
    static_credentials: Option<&(String, String)>,
) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(r) = region {
        loader = loader.region(Region::new(r.to_string()));
    }
    if let Some(u) = endpoint_url {
        loader = loader.endpoint_url(u);
    }
    if let Some((id, secret)) = static_credentials {
        loader = loader.credentials_provider(Credentials::new(
            id.clone(),
            secret.clone(),
            None,
            None,
            "gameday-static",
        ));
    }
    loader.load().await
}

/// InvokeEndpoint through `aws-sdk-sagemakerruntime`.
#[derive(Clone, Debug)]
pub struct SageMakerTarget {
    client: Client,
    attempts: Arc<AttemptCounter>,
    retries: bool,
    describe: String,
}

impl SageMakerTarget {
    /// Builds the client: the default credential chain and region (or the
    /// overrides in `opts`).
    pub async fn new(opts: SageMakerOptions) -> Self {
        let shared = shared_config(
            opts.region.as_deref(),
            opts.endpoint_url.as_deref(),
            opts.static_credentials.as_ref(),
        )
        .await;
        let attempts = Arc::new(AttemptCounter::default());
        let max_attempts = opts.max_attempts.max(1);
        let conf = aws_sdk_sagemakerruntime::config::Builder::from(&shared)
            .retry_config(if max_attempts == 1 {
                RetryConfig::disabled()
            } else {
                RetryConfig::standard().with_max_attempts(max_attempts)
            })
            .interceptor(CountAttempts(attempts.clone()))
            .build();
        let describe = format!(
            "sagemaker region={} endpoint_url={}",
            shared.region().map_or("(default)", |r| r.as_ref()),
            opts.endpoint_url
                .as_deref()
                .map_or("(default)".into(), gameday_load::redact::url)
        );
        SageMakerTarget {
            client: Client::from_conf(conf),
            attempts,
            retries: max_attempts > 1,
            describe,
        }
    }

    /// The SDK client, for callers that want the typed API.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// The answer a typed SDK error stands for.
pub fn answer_from_error(err: &InvokeEndpointError, status: u16) -> Answer {
    let (code, original) = match err {
        InvokeEndpointError::ValidationError(_) => ("ValidationError", None),
        InvokeEndpointError::ModelError(e) => (
            "ModelError",
            e.original_status_code().map(|s| s.clamp(0, 999) as u16),
        ),
        InvokeEndpointError::ModelNotReadyException(_) => ("ModelNotReadyException", None),
        InvokeEndpointError::ServiceUnavailable(_) => ("ServiceUnavailable", None),
        InvokeEndpointError::InternalFailure(_) => ("InternalFailure", None),
        InvokeEndpointError::InternalDependencyException(_) => {
            ("InternalDependencyException", None)
        }
        _ => ("Unhandled", None),
    };
    Answer {
        status,
        error_code: Some(code.to_string()),
        original_status: original,
        variant: None,
    }
}

impl Target for SageMakerTarget {
    fn invoke(&self, inv: Invocation) -> BoxFuture<Result<Answer, TargetError>> {
        let mut call = self
            .client
            .invoke_endpoint()
            .endpoint_name(&*inv.endpoint)
            .content_type(&*inv.content_type)
            .accept("application/json")
            .body(Blob::new(inv.body.to_vec()));
        if let Some(v) = &inv.target_variant {
            call = call.target_variant(&**v);
        }
        if let Some(m) = &inv.target_model {
            call = call.target_model(&**m);
        }
        Box::pin(async move {
            match call.send().await {
                Ok(out) => Ok(Answer {
                    status: 200,
                    error_code: None,
                    original_status: None,
                    variant: out.invoked_production_variant().map(String::from),
                }),
                Err(SdkError::ServiceError(se)) => {
                    let status = se.raw().status().as_u16();
                    Ok(answer_from_error(se.err(), status))
                }
                Err(e) => Err(TargetError::Transport(format!(
                    "{}",
                    aws_sdk_sagemakerruntime::error::DisplayErrorContext(&e)
                ))),
            }
        })
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn attempts(&self) -> Option<u64> {
        self.retries
            .then(|| self.attempts.0.load(Ordering::Relaxed))
    }
}
