//! The SageMaker Feature Store Runtime API of the embedded platform
//! (rest-json, as boto3's `sagemaker-featurestore-runtime` and the AWS
//! SDKs send it):
//!
//! - `GET /FeatureGroup/{name}?RecordIdentifierValueAsString=…&FeatureName=…`
//!   (GetRecord; a missing record is 200 with an empty result),
//! - `PUT /FeatureGroup/{name}` with `{"Record": […]}` (PutRecord),
//! - `DELETE /FeatureGroup/{name}?RecordIdentifierValueAsString=…&EventTime=…`
//!   (DeleteRecord),
//! - `POST /BatchGetRecord` with `{"Identifiers": […]}`.
//!
//! The calls meet the core's online store: its records, its latency (the
//! answer waits for it), the scenario's and the operator's outages, and
//! the quotas. Errors are the service's: `ValidationError`,
//! `ResourceNotFound`, `InternalFailure`, `ServiceUnavailable`, and
//! `ThrottlingException`. Signatures are not checked.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gameday_core::features::{
    Answer, BatchIdentifier, BatchItem, FeaturePath, Prediction, Record, StoreError,
};
use gameday_core::{Cause, Platform, RequestResult, SimTime};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::model::{BadInput, LogisticRegression, Scored};
use crate::server::AppState;

/// Largest request body: a record may be 350 KB; a little more for JSON.
const MAX_BODY: usize = 512 * 1024;
const JSON: &str = "application/json";

/// The service's error answer.
fn error(e: &StoreError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({ "__type": e.code(), "message": e.to_string() }).to_string();
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    h.insert("x-amzn-ErrorType", HeaderValue::from_static(e.code()));
    r
}

fn ok(v: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(JSON))],
        v.to_string(),
    )
        .into_response()
}

fn invalid(m: impl Into<String>) -> Response {
    error(&StoreError::Validation(m.into()))
}

/// Runs `op` on the store in the engine thread, then answers after the
/// store's latency.
async fn with_store<T: Send + 'static>(
    s: &AppState,
    op: impl FnOnce(&mut gameday_core::features::FeatureStore, SimTime, f64) -> Answer<T>
        + Send
        + 'static,
) -> Result<T, StoreError> {
    let epoch_s = s.epoch_s;
    let answer = s
        .engine
        .with_platform(move |p: &mut Platform, now| {
            p.feature_store().map(|store| op(store, now, epoch_s))
        })
        .await;
    match answer {
        Ok(Some(a)) => {
            if !a.latency.is_zero() {
                tokio::time::sleep(a.latency).await;
            }
            a.result
        }
        Ok(None) => Err(StoreError::NotFound(
            "(this scenario has no [[feature_group]])".into(),
        )),
        Err(_) => Err(StoreError::Internal),
    }
}

/// A query's pairs, percent-decoded (keys may repeat).
type Query = Vec<(String, String)>;

/// The query's pairs.
fn pairs(q: &Option<String>) -> Query {
    form_urlencoded::parse(q.as_deref().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn first(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

fn group_name(name: Result<Path<String>, PathRejection>) -> Result<String, StoreError> {
    match name {
        Ok(Path(n)) if !n.is_empty() && n.len() <= 2048 => Ok(n),
        _ => Err(StoreError::Validation(
            "FeatureGroupName must be a feature group's name or ARN.".into(),
        )),
    }
}

/// A call on one record (GetRecord, DeleteRecord): its group, its
/// `RecordIdentifierValueAsString`, and the query's pairs.
fn record_call(
    name: Result<Path<String>, PathRejection>,
    q: &Option<String>,
) -> Result<(String, String, Query), StoreError> {
    let group = group_name(name)?;
    let q = pairs(q);
    let id = first(&q, "RecordIdentifierValueAsString").ok_or_else(|| {
        StoreError::Validation("RecordIdentifierValueAsString is required.".into())
    })?;
    Ok((group, id, q))
}

fn record_json(r: &Record) -> Value {
    Value::Array(
        r.iter()
            .map(|(n, v)| json!({ "FeatureName": n, "ValueAsString": v }))
            .collect(),
    )
}

/// `GET /FeatureGroup/{name}`: GetRecord.
pub(crate) async fn get_record(
    State(s): State<Arc<AppState>>,
    name: Result<Path<String>, PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let (group, id, q) = match record_call(name, &q) {
        Ok(x) => x,
        Err(e) => return error(&e),
    };
    let names: Vec<String> = q
        .iter()
        .filter(|(k, _)| k == "FeatureName")
        .map(|(_, v)| v.clone())
        .collect();
    match with_store(&s, move |st, now, epoch| {
        st.get_record(now, epoch, &group, &id, &names)
    })
    .await
    {
        Ok(Some(r)) => ok(json!({ "Record": record_json(&r) })),
        Ok(None) => ok(json!({})),
        Err(e) => error(&e),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FeatureValue {
    feature_name: String,
    value_as_string: Option<String>,
    value_as_string_list: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutBody {
    record: Vec<FeatureValue>,
    target_stores: Option<Vec<String>>,
}

/// Parses a JSON body of at most [`MAX_BODY`] bytes.
async fn body<T: serde::de::DeserializeOwned>(s: &AppState, body: Body) -> Result<T, StoreError> {
    let Some(bytes) = crate::server::read_limited(s, body, MAX_BODY).await else {
        return Err(StoreError::Validation(format!(
            "The request body must arrive in time and be at most {MAX_BODY} bytes."
        )));
    };
    serde_json::from_slice(&bytes)
        .map_err(|e| StoreError::Validation(format!("The request body is invalid: {e}")))
}

/// `PUT /FeatureGroup/{name}`: PutRecord.
pub(crate) async fn put_record(
    State(s): State<Arc<AppState>>,
    name: Result<Path<String>, PathRejection>,
    b: Body,
) -> Response {
    let group = match group_name(name) {
        Ok(g) => g,
        Err(e) => return error(&e),
    };
    let put: PutBody = match body(&s, b).await {
        Ok(p) => p,
        Err(e) => return error(&e),
    };
    if put.record.is_empty() {
        return invalid("Record must have at least one feature.");
    }
    if let Some(stores) = &put.target_stores {
        if let Some(bad) = stores
            .iter()
            .find(|t| *t != "OnlineStore" && *t != "OfflineStore")
        {
            return invalid(format!(
                "TargetStores may name OnlineStore and OfflineStore, not {bad}."
            ));
        }
        if !stores.iter().any(|t| t == "OnlineStore") {
            // Only the offline store: nothing the online store serves changes.
            return ok(json!({}));
        }
    }
    let mut record = Record::new();
    for f in put.record {
        let v = match (f.value_as_string, f.value_as_string_list) {
            (Some(v), None) => v,
            (None, Some(list)) => serde_json::to_string(&list).unwrap_or_default(),
            _ => {
                return invalid(format!(
                    "Feature {} needs exactly one of ValueAsString and ValueAsStringList.",
                    f.feature_name
                ))
            }
        };
        record.push((f.feature_name, v));
    }
    match with_store(&s, move |st, now, epoch| {
        st.put_record(now, epoch, &group, record)
    })
    .await
    {
        Ok(()) => ok(json!({})),
        Err(e) => error(&e),
    }
}

/// `DELETE /FeatureGroup/{name}`: DeleteRecord.
pub(crate) async fn delete_record(
    State(s): State<Arc<AppState>>,
    name: Result<Path<String>, PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let (group, id, q) = match record_call(name, &q) {
        Ok(x) => x,
        Err(e) => return error(&e),
    };
    let Some(event_time) = first(&q, "EventTime") else {
        return invalid("EventTime is required.");
    };
    let hard = match first(&q, "DeletionMode").as_deref() {
        None | Some("SoftDelete") => false,
        Some("HardDelete") => true,
        Some(other) => {
            return invalid(format!(
                "DeletionMode must be SoftDelete or HardDelete, not {other}."
            ))
        }
    };
    match with_store(&s, move |st, now, epoch| {
        st.delete_record(now, epoch, &group, &id, &event_time, hard)
    })
    .await
    {
        Ok(()) => ok(json!({})),
        Err(e) => error(&e),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchBody {
    identifiers: Vec<BatchIdentifierBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchIdentifierBody {
    feature_group_name: String,
    record_identifiers_value_as_string: Vec<String>,
    feature_names: Option<Vec<String>>,
}

/// `POST /BatchGetRecord`.
pub(crate) async fn batch_get_record(State(s): State<Arc<AppState>>, b: Body) -> Response {
    let req: BatchBody = match body(&s, b).await {
        Ok(p) => p,
        Err(e) => return error(&e),
    };
    let ids: Vec<BatchIdentifier> = req
        .identifiers
        .into_iter()
        .map(|i| BatchIdentifier {
            group: i.feature_group_name,
            ids: i.record_identifiers_value_as_string,
            names: i.feature_names.unwrap_or_default(),
        })
        .collect();
    match with_store(&s, move |st, now, epoch| {
        st.batch_get_record(now, epoch, &ids)
    })
    .await
    {
        Ok(items) => ok(batch_json(&items)),
        Err(e) => error(&e),
    }
}

/// The answer's three lists: found records, errors, and (always empty)
/// unprocessed identifiers. A record that does not exist is in neither
/// list.
fn batch_json(items: &[BatchItem]) -> Value {
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for i in items {
        match &i.result {
            Ok(Some(r)) => records.push(json!({
                "FeatureGroupName": i.group,
                "RecordIdentifierValueAsString": i.id,
                "Record": record_json(r),
            })),
            Ok(None) => {}
            Err(e) => errors.push(json!({
                "FeatureGroupName": i.group,
                "RecordIdentifierValueAsString": i.id,
                "ErrorCode": e.code(),
                "ErrorMessage": e.to_string(),
            })),
        }
    }
    json!({ "Records": records, "Errors": errors, "UnprocessedIdentifiers": [] })
}

/// Scores a served request of endpoint `endpoint` on a built-in `model`
/// that weighs store features: with the features its lookup served (the
/// answer) and with the true record, marking `result` `Changed` where the
/// labels differ. `None` when the model weighs no store feature or the
/// request made no lookup: the caller scores it plainly.
pub(crate) async fn score(
    s: &AppState,
    endpoint: u16,
    model: &LogisticRegression,
    result: &mut RequestResult,
    content_type: &str,
    body: &[u8],
) -> Option<Result<Vec<u8>, BadInput>> {
    if model.store_features.is_empty()
        || result.cause != Cause::Served
        || result.features.path == FeaturePath::NotLooked
    {
        return None;
    }
    let (e, used) = (endpoint as usize, result.features);
    let f = s
        .engine
        .with_platform(move |p, _| p.feature_store().and_then(|st| st.served(e, &used)))
        .await
        .ok()
        .flatten()?;
    let scored = model.predict_with_features(
        content_type,
        body,
        &named(&f.names, &f.served),
        &named(&f.names, &f.truth),
    );
    Some(scored.map(|Scored { body, changed }| {
        result.features.prediction = if changed {
            Prediction::Changed
        } else {
            Prediction::Same
        };
        body
    }))
}

/// `(name, value)` pairs of a feature group's names and values.
fn named<'a>(names: &'a [String], values: &'a [String]) -> Vec<(&'a str, &'a str)> {
    names
        .iter()
        .zip(values)
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}
