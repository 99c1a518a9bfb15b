//! The real `aws-sdk-applicationautoscaling` client configures the
//! embedded platform's autoscaling as a user's script would configure a
//! real endpoint's: register the variant, put a target-tracking policy,
//! and the policy takes effect under load (a scaling activity that
//! `DescribeScalingActivities` lists). Its errors arrive as the SDK's
//! typed errors.

use std::path::Path;
use std::time::Duration;

use aws_sdk_applicationautoscaling::operation::put_scaling_policy::builders::PutScalingPolicyFluentBuilder;
use aws_sdk_applicationautoscaling::types::builders::TargetTrackingScalingPolicyConfigurationBuilder;
use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};
use aws_sdk_applicationautoscaling::Client;
use aws_sdk_sagemakerruntime::primitives::Blob;
use gameday_aws::{SageMakerOptions, SageMakerTarget};
use gameday_core::TimeScale;
use gameday_live::{ServeOptions, Server, Timeline};

const SCENARIO: &str = r#"
[scenario]
name = "aas-contract"
duration = "1h"

[[model]]
name = "echo"
latency = { dist = "constant", value = "2ms" }

[[endpoint]]
name = "fraud"
  [[endpoint.variant]]
  name = "AllTraffic"
  model = "echo"
  instance_type = "ml.m5.xlarge"
  instance_count = 2
  concurrency = 16

[[workload]]
endpoint = "fraud"
arrival = { kind = "constant", rate = 1 }
"#;

const RESOURCE: &str = "endpoint/fraud/variant/AllTraffic";

/// The platform at 60×: a one-minute datapoint every real second.
async fn platform() -> Server {
    let sc = gameday_scenario::parse("aas.toml", SCENARIO, Path::new(".")).expect("valid");
    let scale = TimeScale::new(60.0);
    let mut opts = ServeOptions::local(3);
    opts.timeline = Timeline { scale, end: None };
    Server::start(&scale.platform(&sc.platform), opts)
        .await
        .expect("binds loopback")
}

async fn client(url: &str) -> Client {
    let conf = aws_sdk_applicationautoscaling::Config::builder()
        .behavior_version(aws_sdk_applicationautoscaling::config::BehaviorVersion::latest())
        .region(aws_sdk_applicationautoscaling::config::Region::new(
            "us-east-1",
        ))
        .endpoint_url(url)
        .credentials_provider(aws_sdk_applicationautoscaling::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .build();
    Client::from_conf(conf)
}

/// `PutScalingPolicy` of policy `name` on the variant.
fn policy(c: &Client, name: &str, kind: PolicyType) -> PutScalingPolicyFluentBuilder {
    c.put_scaling_policy()
        .policy_name(name)
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(RESOURCE)
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .policy_type(kind)
}

/// Target tracking of invocations per instance at `target` a minute.
fn invocations(target: f64) -> TargetTrackingScalingPolicyConfigurationBuilder {
    TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(target)
        .predefined_metric_specification(
            PredefinedMetricSpecification::builder()
                .predefined_metric_type(MetricType::SageMakerVariantInvocationsPerInstance)
                .build()
                .unwrap(),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_target_tracking_policy_put_through_the_sdk_scales_the_variant() {
    let server = platform().await;
    let c = client(&server.url()).await;

    // Errors first: a policy before the target, a bad resource, a step
    // policy (gameday has no CloudWatch alarm API), an unknown policy.
    let err = policy(&c, "ipi", PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(invocations(600.0).build().unwrap())
        .send()
        .await
        .expect_err("no scalable target yet");
    assert!(err.into_service_error().is_object_not_found_exception());
    let err = c
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id("endpoint/nope/variant/AllTraffic")
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .min_capacity(2)
        .max_capacity(6)
        .send()
        .await
        .expect_err("unknown endpoint");
    let err = err.into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    assert!(err.to_string().contains("nope"), "{err}");

    c.register_scalable_target()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(RESOURCE)
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .min_capacity(2)
        .max_capacity(6)
        .send()
        .await
        .expect("registers");
    let put = policy(&c, "ipi", PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(
            invocations(600.0)
                .scale_out_cooldown(60)
                .scale_in_cooldown(600)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("puts the policy");
    let alarms: Vec<&str> = put.alarms().iter().map(|a| a.alarm_name()).collect();
    assert_eq!(alarms.len(), 2, "{alarms:?}");
    assert!(alarms[0].ends_with("AlarmHigh"));
    let err = policy(&c, "steps", PolicyType::StepScaling)
        .send()
        .await
        .expect_err("no step policies through the API");
    assert!(err.into_service_error().is_validation_exception());

    let targets = c
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Sagemaker)
        .send()
        .await
        .unwrap();
    let t = &targets.scalable_targets()[0];
    assert_eq!(
        (t.resource_id(), t.min_capacity(), t.max_capacity()),
        (RESOURCE, 2, 6)
    );

    // Load, far above 600 invocations a minute per instance, bounded in
    // time and count, until the policy's activity shows.
    let rt = SageMakerTarget::new(SageMakerOptions {
        region: Some("us-east-1".into()),
        endpoint_url: Some(server.url()),
        max_attempts: 1,
        static_credentials: Some(("test".into(), "test".into())),
    })
    .await
    .client()
    .clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut senders = Vec::new();
    for _ in 0..4 {
        let (rt, stop) = (rt.clone(), stop.clone());
        senders.push(tokio::spawn(async move {
            for _ in 0..20_000 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let _ = rt
                    .invoke_endpoint()
                    .endpoint_name("fraud")
                    .content_type("application/json")
                    .body(Blob::new(b"{}".to_vec()))
                    .send()
                    .await;
            }
        }));
    }
    let mut activity = None;
    for _ in 0..150 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let out = c
            .describe_scaling_activities()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(RESOURCE)
            .send()
            .await
            .unwrap();
        if let Some(a) = out.scaling_activities().first() {
            activity = Some(a.clone());
            break;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in senders {
        s.await.unwrap();
    }
    let a = activity.expect("the policy scaled the variant within 15 s (15 scenario minutes)");
    assert_eq!(a.description(), "Setting desired instance count to 6.");
    assert!(a.cause().contains("AlarmHigh"), "{}", a.cause());
    assert!(a.start_time().secs() > 1_700_000_000);

    c.delete_scaling_policy()
        .policy_name("ipi")
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(RESOURCE)
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .send()
        .await
        .expect("deletes");
    let err = c
        .delete_scaling_policy()
        .policy_name("ipi")
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(RESOURCE)
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .send()
        .await
        .expect_err("gone");
    assert!(err.into_service_error().is_object_not_found_exception());
    server.shutdown(Duration::from_secs(1)).await;
}
