//! The Application Auto Scaling API of the embedded platform: `POST /`
//! with `X-Amz-Target: AnyScaleFrontendService.<Operation>` and an
//! `application/x-amz-json-1.1` body, as boto3 and the AWS SDKs send it.
//! A user's own scripts (`RegisterScalableTarget`, `PutScalingPolicy`
//! with a target-tracking configuration, `DeleteScalingPolicy`,
//! `DescribeScalableTargets`, `DescribeScalingPolicies`,
//! `DescribeScalingActivities`) configure the core's autoscaling as they
//! would configure a real endpoint's, and the policies take effect at
//! once. Signatures are not checked. Errors are the service's:
//! `ValidationException`, `ObjectNotFoundException`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gameday_core::autoscaling::{
    ActivityStatus, ApiError, Metric, TargetTrackingSpec, DEFAULT_COOLDOWN,
};
use gameday_core::{Platform, SimTime, TimeScale};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::server::AppState;

/// The one scalable dimension of a SageMaker variant.
const DIMENSION: &str = "sagemaker:variant:DesiredInstanceCount";
/// Largest body an API call may have.
const MAX_BODY: usize = 64 * 1024;
const JSON_11: &str = "application/x-amz-json-1.1";

/// An answer: 200 with a JSON body, or the service's error.
fn answer(r: Result<Value, ApiError>) -> Response {
    match r {
        Ok(v) => (
            StatusCode::OK,
            [(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static(JSON_11),
            )],
            v.to_string(),
        )
            .into_response(),
        Err(e) => error(e.code(), &e.to_string()),
    }
}

fn error(code: &str, message: &str) -> Response {
    let body = json!({ "__type": code, "message": message }).to_string();
    let mut r = (StatusCode::BAD_REQUEST, body).into_response();
    let h = r.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_11),
    );
    if let Ok(v) = HeaderValue::from_str(code) {
        h.insert("x-amzn-ErrorType", v);
    }
    r
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::Validation(message.into())
}

/// `POST /`: one Application Auto Scaling call.
pub(crate) async fn call(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(op) = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix("AnyScaleFrontendService."))
        .map(str::to_string)
    else {
        return error(
            "UnknownOperationException",
            "POST / takes Application Auto Scaling calls: X-Amz-Target: AnyScaleFrontendService.<Operation>",
        );
    };
    let bytes = match crate::server::read_limited(&s, body, MAX_BODY).await {
        Some(b) => b,
        None => {
            return answer(Err(invalid(format!(
                "the request body must arrive in time and be at most {MAX_BODY} bytes"
            ))))
        }
    };
    let body: Value = if bytes.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => return answer(Err(invalid(format!("the request body is not JSON: {e}")))),
        }
    };
    let names = s.endpoints();
    let names: Vec<(String, u16, Vec<String>)> = names
        .into_iter()
        .map(|(n, (i, vs))| (n.to_string(), i, vs.into_iter().map(String::from).collect()))
        .collect();
    let ctx = Ctx {
        names,
        scale: s.scale,
        epoch_s: s.epoch_s,
    };
    let r = match op.as_str() {
        "RegisterScalableTarget" => with(&s, ctx, body, Ctx::register).await,
        "PutScalingPolicy" => with(&s, ctx, body, Ctx::put_policy).await,
        "DeleteScalingPolicy" => with(&s, ctx, body, Ctx::delete_policy).await,
        "DescribeScalableTargets" => with(&s, ctx, body, Ctx::describe_targets).await,
        "DescribeScalingPolicies" => with(&s, ctx, body, Ctx::describe_policies).await,
        "DescribeScalingActivities" => with(&s, ctx, body, Ctx::describe_activities).await,
        other => {
            return error(
                "UnknownOperationException",
                &format!("gameday does not implement {other}"),
            )
        }
    };
    answer(r)
}

/// One call: its request parsed from `body`, then `op` run on the
/// platform in the engine thread.
async fn with<T: serde::de::DeserializeOwned + Send + 'static>(
    s: &AppState,
    ctx: Ctx,
    body: Value,
    op: fn(&Ctx, &mut Platform, SimTime, T) -> Result<Value, ApiError>,
) -> Result<Value, ApiError> {
    let req: T = parse(body)?;
    s.engine
        .with_platform(move |p, now| op(&ctx, p, now, req))
        .await
        .unwrap_or_else(|_| Err(invalid("the platform engine has stopped")))
}

fn parse<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, ApiError> {
    serde_json::from_value(v).map_err(|e| invalid(format!("invalid request: {e}")))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Register {
    service_namespace: String,
    resource_id: String,
    scalable_dimension: String,
    min_capacity: Option<i64>,
    max_capacity: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutPolicy {
    policy_name: String,
    service_namespace: String,
    resource_id: String,
    scalable_dimension: String,
    policy_type: Option<String>,
    target_tracking_scaling_policy_configuration: Option<TrackingConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TrackingConfig {
    target_value: f64,
    predefined_metric_specification: Option<Predefined>,
    customized_metric_specification: Option<Customized>,
    scale_out_cooldown: Option<i64>,
    scale_in_cooldown: Option<i64>,
    disable_scale_in: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Predefined {
    predefined_metric_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Customized {
    metric_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeletePolicy {
    policy_name: String,
    service_namespace: String,
    resource_id: String,
    scalable_dimension: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Describe {
    service_namespace: String,
    resource_id: Option<String>,
    resource_ids: Option<Vec<String>>,
}

/// Variants a call asks about; `None`: all.
struct Wanted(Option<Vec<(u16, u16)>>);

impl Wanted {
    fn has(&self, e: u16, v: u16) -> bool {
        self.0.as_ref().is_none_or(|w| w.contains(&(e, v)))
    }
}

/// The ARN of a policy and of an alarm (account 0, region `local`).
fn policy_arn(resource: &str, name: &str) -> String {
    format!("arn:aws:autoscaling:local:000000000000:scalingPolicy:{resource}:policyName/{name}")
}

fn alarms_json(alarms: &[String]) -> Vec<Value> {
    alarms
        .iter()
        .map(|a| json!({ "AlarmName": a, "AlarmARN": format!("arn:aws:cloudwatch:local:000000000000:alarm:{a}") }))
        .collect()
}

#[derive(Clone, Debug)]
struct Ctx {
    /// `(endpoint name, index, variant names)`.
    names: Vec<(String, u16, Vec<String>)>,
    scale: TimeScale,
    /// Unix time of the platform's time zero.
    epoch_s: f64,
}

fn namespace(ns: &str) -> Result<(), ApiError> {
    if ns == "sagemaker" {
        Ok(())
    } else {
        Err(invalid(format!(
            "ServiceNamespace {ns:?}: the embedded platform scales SageMaker variants only (\"sagemaker\")"
        )))
    }
}

fn dimension(d: &str) -> Result<(), ApiError> {
    if d == DIMENSION {
        Ok(())
    } else {
        Err(invalid(format!(
            "ScalableDimension {d:?}: a SageMaker variant scales {DIMENSION}"
        )))
    }
}

impl Ctx {
    /// `endpoint/<EndpointName>/variant/<VariantName>` → indices.
    fn resource(&self, id: &str) -> Result<(u16, u16), ApiError> {
        let parts: Vec<&str> = id.split('/').collect();
        let ["endpoint", ep, "variant", v] = parts.as_slice() else {
            return Err(invalid(format!(
                "ResourceId {id:?} must be endpoint/<EndpointName>/variant/<VariantName>"
            )));
        };
        let (_, e, variants) = self
            .names
            .iter()
            .find(|(n, _, _)| n == ep)
            .ok_or_else(|| invalid(format!("Could not find endpoint {ep:?}")))?;
        let vi = variants
            .iter()
            .position(|x| x == v)
            .ok_or_else(|| invalid(format!("Could not find variant {v:?} of endpoint {ep:?}")))?;
        Ok((*e, vi as u16))
    }

    fn resource_id(&self, e: u16, v: u16) -> String {
        let (name, _, variants) = self
            .names
            .iter()
            .find(|(_, i, _)| *i == e)
            .expect("the platform's endpoints are the server's");
        format!("endpoint/{name}/variant/{}", variants[v as usize])
    }

    /// Unix seconds of platform time `t`.
    fn time(&self, t: SimTime) -> f64 {
        self.epoch_s + t.as_secs_f64()
    }

    /// The variants a `Describe…` call asks about.
    fn wanted(&self, d: &Describe) -> Result<Wanted, ApiError> {
        namespace(&d.service_namespace)?;
        let ids: Vec<&String> = d
            .resource_id
            .iter()
            .chain(d.resource_ids.iter().flatten())
            .collect();
        if ids.is_empty() {
            return Ok(Wanted(None));
        }
        ids.into_iter()
            .map(|i| self.resource(i))
            .collect::<Result<_, _>>()
            .map(|v| Wanted(Some(v)))
    }

    fn register(&self, p: &mut Platform, now: SimTime, r: Register) -> Result<Value, ApiError> {
        namespace(&r.service_namespace)?;
        dimension(&r.scalable_dimension)?;
        let (e, v) = self.resource(&r.resource_id)?;
        let existing = p
            .scalable_targets()
            .into_iter()
            .find(|t| t.endpoint == e && t.variant == v);
        let bound = |x: Option<i64>, old: Option<u32>, name: &str| -> Result<u32, ApiError> {
            match (x, old) {
                (Some(x), _) if !(0..=10_000).contains(&x) => Err(invalid(format!(
                    "{name} must be between 0 and 10000, got {x}"
                ))),
                (Some(x), _) => Ok(x as u32),
                (None, Some(o)) => Ok(o),
                (None, None) => Err(invalid(format!(
                    "{name} is required when registering a new scalable target"
                ))),
            }
        };
        let min = bound(
            r.min_capacity,
            existing.as_ref().map(|t| t.min),
            "MinCapacity",
        )?;
        let max = bound(
            r.max_capacity,
            existing.as_ref().map(|t| t.max),
            "MaxCapacity",
        )?;
        p.register_scalable_target(now, e, v, min, max)?;
        Ok(json!({
            "ScalableTargetARN": format!("arn:aws:application-autoscaling:local:000000000000:scalable-target/{}", r.resource_id)
        }))
    }

    fn put_policy(&self, p: &mut Platform, _: SimTime, r: PutPolicy) -> Result<Value, ApiError> {
        namespace(&r.service_namespace)?;
        dimension(&r.scalable_dimension)?;
        let (e, v) = self.resource(&r.resource_id)?;
        match r.policy_type.as_deref() {
            Some("TargetTrackingScaling") => {}
            Some("StepScaling") | None => {
                return Err(invalid(
                    "gameday's API takes TargetTrackingScaling policies: a StepScaling policy needs a CloudWatch alarm, which gameday has no API for; put the step policy in the scenario",
                ))
            }
            Some(other) => return Err(invalid(format!("unknown PolicyType {other:?}"))),
        }
        let c = r
            .target_tracking_scaling_policy_configuration
            .ok_or_else(|| {
                invalid(
                    "a TargetTrackingScaling policy needs TargetTrackingScalingPolicyConfiguration",
                )
            })?;
        let metric = match (&c.predefined_metric_specification, &c.customized_metric_specification) {
            (Some(m), _) => match m.predefined_metric_type.as_str() {
                "SageMakerVariantInvocationsPerInstance" => Metric::InvocationsPerInstance,
                "SageMakerVariantConcurrentRequestsPerModelHighResolution" => {
                    Metric::ConcurrentRequestsPerModel
                }
                other => {
                    return Err(invalid(format!(
                        "PredefinedMetricType {other:?}: a variant tracks SageMakerVariantInvocationsPerInstance or SageMakerVariantConcurrentRequestsPerModelHighResolution"
                    )))
                }
            },
            (None, Some(m)) => match m.metric_name.as_deref().and_then(Metric::parse) {
                Some(x) if x.trackable() => x,
                _ => {
                    return Err(invalid(
                        "CustomizedMetricSpecification: gameday tracks MetricName CPUUtilization, GPUUtilization, InvocationsPerInstance or ConcurrentRequestsPerModel",
                    ))
                }
            },
            (None, None) => {
                return Err(invalid(
                    "TargetTrackingScalingPolicyConfiguration needs a PredefinedMetricSpecification or a CustomizedMetricSpecification",
                ))
            }
        };
        let cooldown = |x: Option<i64>, name: &str| match x {
            Some(s) if s < 0 => Err(invalid(format!("{name} must be zero or more, got {s}"))),
            Some(s) => Ok(Duration::from_secs(s as u64)),
            None => Ok(DEFAULT_COOLDOWN),
        };
        let spec = TargetTrackingSpec {
            scale_out_cooldown: cooldown(c.scale_out_cooldown, "ScaleOutCooldown")?,
            scale_in_cooldown: cooldown(c.scale_in_cooldown, "ScaleInCooldown")?,
            disable_scale_in: c.disable_scale_in.unwrap_or(false),
            ..TargetTrackingSpec::new(metric, c.target_value)
        };
        // Cooldowns are scenario time, as the rest of a scaled run.
        let alarms =
            p.put_target_tracking_policy(e, v, &r.policy_name, &self.scale.tracking(&spec))?;
        Ok(json!({
            "PolicyARN": policy_arn(&r.resource_id, &r.policy_name),
            "Alarms": alarms_json(&alarms),
        }))
    }

    fn delete_policy(
        &self,
        p: &mut Platform,
        _: SimTime,
        r: DeletePolicy,
    ) -> Result<Value, ApiError> {
        namespace(&r.service_namespace)?;
        dimension(&r.scalable_dimension)?;
        let (e, v) = self.resource(&r.resource_id)?;
        p.delete_scaling_policy(e, v, &r.policy_name)?;
        Ok(json!({}))
    }

    fn describe_targets(
        &self,
        p: &mut Platform,
        _: SimTime,
        d: Describe,
    ) -> Result<Value, ApiError> {
        let wanted = self.wanted(&d)?;
        let targets: Vec<Value> = p
            .scalable_targets()
            .into_iter()
            .filter(|t| wanted.has(t.endpoint, t.variant))
            .map(|t| {
                json!({
                    "ServiceNamespace": "sagemaker",
                    "ResourceId": self.resource_id(t.endpoint, t.variant),
                    "ScalableDimension": DIMENSION,
                    "MinCapacity": t.min,
                    "MaxCapacity": t.max,
                    "RoleARN": "arn:aws:iam::000000000000:role/gameday",
                    "CreationTime": self.epoch_s,
                })
            })
            .collect();
        Ok(json!({ "ScalableTargets": targets }))
    }

    fn describe_policies(
        &self,
        p: &mut Platform,
        _: SimTime,
        d: Describe,
    ) -> Result<Value, ApiError> {
        let wanted = self.wanted(&d)?;
        let mut out = Vec::new();
        for t in p.scalable_targets() {
            if !wanted.has(t.endpoint, t.variant) {
                continue;
            }
            let id = self.resource_id(t.endpoint, t.variant);
            for pol in t.policies {
                out.push(json!({
                    "PolicyARN": policy_arn(&id, &pol.name),
                    "PolicyName": pol.name,
                    "ServiceNamespace": "sagemaker",
                    "ResourceId": id,
                    "ScalableDimension": DIMENSION,
                    "PolicyType": pol.kind,
                    "Alarms": alarms_json(&pol.alarms),
                    "CreationTime": self.epoch_s,
                }));
            }
        }
        Ok(json!({ "ScalingPolicies": out }))
    }

    fn describe_activities(
        &self,
        p: &mut Platform,
        _: SimTime,
        d: Describe,
    ) -> Result<Value, ApiError> {
        let wanted = self.wanted(&d)?;
        let mut out = Vec::new();
        for t in p.scaling() {
            if !wanted.has(t.endpoint, t.variant) {
                continue;
            }
            let id = self.resource_id(t.endpoint, t.variant);
            for (i, a) in t.activities.iter().enumerate() {
                let mut v = json!({
                    "ActivityId": format!("{id}/{i}"),
                    "ServiceNamespace": "sagemaker",
                    "ResourceId": id,
                    "ScalableDimension": DIMENSION,
                    "Description": format!("Setting desired instance count to {}.", a.to),
                    "Cause": a.cause,
                    "StartTime": self.time(a.at),
                    "StatusCode": a.status.as_str(),
                });
                if let Some(end) = a.ended_at {
                    v["EndTime"] = json!(self.time(end));
                }
                let message = match (a.status, &a.reason) {
                    (_, Some(r)) => Some(r.clone()),
                    (ActivityStatus::Successful, None) => Some(format!(
                        "Successfully set desired instance count to {}. Change successfully fulfilled by sagemaker.",
                        a.to
                    )),
                    _ => None,
                };
                if let Some(m) = message {
                    v["StatusMessage"] = json!(m);
                }
                out.push((a.at, v));
            }
        }
        // Newest first, as the service lists them.
        out.sort_by_key(|b| std::cmp::Reverse(b.0));
        Ok(json!({ "ScalingActivities": out.into_iter().map(|x| x.1).collect::<Vec<_>>() }))
    }
}
