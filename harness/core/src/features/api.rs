//! The Feature Store Runtime API on the online store: `GetRecord`,
//! `PutRecord`, `DeleteRecord` and `BatchGetRecord`, as the embedded
//! platform serves them to a user's own model containers and scripts.
//!
//! The calls meet the same store as the lookups hosting makes: the same
//! groups, latencies, outages and quotas. What gameday assumes where AWS
//! documents no rule:
//!
//! - a record's values come from the group's data file, or are generated
//!   from each feature's default (an integer default `d` gives integers in
//!   `0..max(2d, 20)`, a decimal one decimals in `0..2d` (`0..100` for 0),
//!   anything else the default itself), the same for every run;
//! - its event time is when ingestion last wrote it (every `refresh`, at
//!   the record's own phase; once, just before the run, without one);
//! - a record a caller has put or deleted is the caller's from then on:
//!   ingestion no longer rewrites it;
//! - `PutRecord` and `DeleteRecord` share one quota, the per-API figure
//!   `GetRecord` has, and meet the group's outages as reads do;
//! - in a `BatchGetRecord`, a group's outage error is that group's entry
//!   in `Errors`; an exhausted account quota fails the whole call.

use std::collections::BTreeMap;
use std::time::Duration;

use super::event_time::{event_time_secs, format_event_time};
use super::{FeatureStore, GroupState, OutageMode};
use crate::dist::unit;
use crate::time::{duration_nanos, secs_to_nanos, SimTime};

/// A record as the API carries it: `(FeatureName, ValueAsString)` pairs.
pub type Record = Vec<(String, String)>;

/// An error the runtime API answers, as the service names it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// `ValidationError` (400): the request is malformed.
    #[error("{0}")]
    Validation(String),
    /// `ResourceNotFound` (404): no such feature group.
    #[error("Resource Not Found: Amazon SageMaker can't find a feature group named {0}.")]
    NotFound(String),
    /// `InternalFailure` (500).
    #[error("An internal error occurred. Try your request again.")]
    Internal,
    /// `ServiceUnavailable` (503).
    #[error("The service is unavailable. Try your request again.")]
    Unavailable,
    /// `ThrottlingException` (400): a quota is exhausted.
    #[error("Rate exceeded")]
    Throttled,
}

impl StoreError {
    /// The error code (`__type`, `x-amzn-ErrorType`, a batch entry's
    /// `ErrorCode`).
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Validation(_) => "ValidationError",
            StoreError::NotFound(_) => "ResourceNotFound",
            StoreError::Internal => "InternalFailure",
            StoreError::Unavailable => "ServiceUnavailable",
            StoreError::Throttled => "ThrottlingException",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            StoreError::Validation(_) | StoreError::Throttled => 400,
            StoreError::NotFound(_) => 404,
            StoreError::Internal => 500,
            StoreError::Unavailable => 503,
        }
    }
}

/// What one call answers, and after how long.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer<T> {
    /// How long the store takes to answer (the caller waits this long).
    pub latency: Duration,
    /// The answer.
    pub result: Result<T, StoreError>,
}

/// One feature group's part of a `BatchGetRecord`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchIdentifier {
    /// `FeatureGroupName` (a name or an ARN).
    pub group: String,
    /// `RecordIdentifiersValueAsString`.
    pub ids: Vec<String>,
    /// `FeatureNames`; empty: every feature.
    pub names: Vec<String>,
}

/// One record of a `BatchGetRecord` answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchItem {
    /// The group's name as the caller gave it.
    pub group: String,
    /// The record identifier.
    pub id: String,
    /// The record (`None`: there is none), or this entry's error.
    pub result: Result<Option<Record>, StoreError>,
}

/// A record written through the API.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Written {
    /// Its event time, seconds since the Unix epoch.
    event_time_s: f64,
    /// Its features; `None`: deleted.
    record: Option<Record>,
}

/// Records written through the API, by group and identifier.
pub(super) type WrittenRecords = BTreeMap<(u16, String), Written>;

/// Which quota a call draws on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quota {
    Get,
    Batch,
    Write,
}

impl FeatureStore {
    /// The index of the group `name` names (a name or a feature-group
    /// ARN).
    pub fn group_index(&self, name: &str) -> Option<u16> {
        let name = name.rsplit_once(":feature-group/").map_or(name, |(_, n)| n);
        self.groups
            .iter()
            .position(|g| g.spec.name == name)
            .map(|g| g as u16)
    }

    /// `GetRecord`: record `id` of group `group`, with only the `names`
    /// features (all when empty). A missing record is `Ok(None)` (the
    /// service's empty result). `epoch_s` is the Unix time of the run's
    /// start, for event times.
    pub fn get_record(
        &mut self,
        now: SimTime,
        epoch_s: f64,
        group: &str,
        id: &str,
        names: &[String],
    ) -> Answer<Option<Record>> {
        let Some(g) = self.group_index(group) else {
            return not_found(group);
        };
        if let Err(e) = check_id(id) {
            return failed(e);
        }
        let (latency_ns, error) = self.call(now, &[g], Quota::Get);
        let result = match error {
            Some(e) => Err(e),
            None => Ok(self.read(now, epoch_s, g, id, names)),
        };
        answer(latency_ns, result)
    }

    /// `PutRecord`: writes `record` (every feature of the group's, with
    /// its identifier and event time) to group `group`. An event time no
    /// newer than the record's leaves the online store as it was.
    pub fn put_record(
        &mut self,
        now: SimTime,
        epoch_s: f64,
        group: &str,
        record: Record,
    ) -> Answer<()> {
        let Some(g) = self.group_index(group) else {
            return not_found(group);
        };
        let spec = &self.groups[g as usize].spec;
        let value = |name: &str| {
            record
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let Some(id) = value(&spec.record_identifier) else {
            return failed(StoreError::Validation(format!(
                "The record identifier feature {} is missing from the record.",
                spec.record_identifier
            )));
        };
        let Some(event_time) = value(&spec.event_time_feature) else {
            return failed(StoreError::Validation(format!(
                "The event time feature {} is missing from the record.",
                spec.event_time_feature
            )));
        };
        let Some(event_time_s) = event_time_secs(&event_time) else {
            return failed(StoreError::Validation(format!(
                "The event time {event_time:?} is neither ISO-8601 (yyyy-MM-ddTHH:mm:ssZ) nor fractional seconds since the epoch."
            )));
        };
        if let Some((n, _)) = record.iter().find(|(n, _)| {
            n != &spec.record_identifier
                && n != &spec.event_time_feature
                && !spec.features.iter().any(|f| &f.name == n)
        }) {
            return failed(StoreError::Validation(format!(
                "The feature {n} is not defined in feature group {}.",
                spec.name
            )));
        }
        if let Err(e) = check_id(&id) {
            return failed(e);
        }
        let (latency_ns, error) = self.call(now, &[g], Quota::Write);
        if let Some(e) = error {
            return answer(latency_ns, Err(e));
        }
        if event_time_s > self.event_time_of(now, epoch_s, g, &id).unwrap_or(f64::MIN) {
            self.written.insert(
                (g, id),
                Written {
                    event_time_s,
                    record: Some(record),
                },
            );
        }
        answer(latency_ns, Ok(()))
    }

    /// `DeleteRecord`: deletes record `id` as of `event_time`; `hard`
    /// for `DeletionMode=HardDelete`. A soft delete no newer than the
    /// record does nothing; a hard one is a `ValidationError`.
    pub fn delete_record(
        &mut self,
        now: SimTime,
        epoch_s: f64,
        group: &str,
        id: &str,
        event_time: &str,
        hard: bool,
    ) -> Answer<()> {
        let Some(g) = self.group_index(group) else {
            return not_found(group);
        };
        if let Err(e) = check_id(id) {
            return failed(e);
        }
        let Some(event_time_s) = event_time_secs(event_time) else {
            return failed(StoreError::Validation(format!(
                "The event time {event_time:?} is neither ISO-8601 (yyyy-MM-ddTHH:mm:ssZ) nor fractional seconds since the epoch."
            )));
        };
        let (latency_ns, error) = self.call(now, &[g], Quota::Write);
        if let Some(e) = error {
            return answer(latency_ns, Err(e));
        }
        let current = self.event_time_of(now, epoch_s, g, id);
        if current.is_some_and(|c| event_time_s <= c) {
            let result = if hard {
                Err(StoreError::Validation(format!(
                    "The event time {event_time} is not newer than record {id}'s; a hard delete needs a newer one."
                )))
            } else {
                Ok(())
            };
            return answer(latency_ns, result);
        }
        if current.is_some() {
            self.written.insert(
                (g, id.to_string()),
                Written {
                    event_time_s,
                    record: None,
                },
            );
        }
        answer(latency_ns, Ok(()))
    }

    /// `BatchGetRecord`: every identifier of every group in one call.
    pub fn batch_get_record(
        &mut self,
        now: SimTime,
        epoch_s: f64,
        identifiers: &[BatchIdentifier],
    ) -> Answer<Vec<BatchItem>> {
        if identifiers.is_empty() || identifiers.len() > 100 {
            return failed(StoreError::Validation(format!(
                "Identifiers must have between 1 and 100 entries, got {}.",
                identifiers.len()
            )));
        }
        let mut groups = Vec::new();
        for i in identifiers {
            if i.ids.is_empty() || i.ids.len() > 100 {
                return failed(StoreError::Validation(format!(
                    "RecordIdentifiersValueAsString of {} must have between 1 and 100 entries, got {}.",
                    i.group,
                    i.ids.len()
                )));
            }
            if let Some(e) = i.ids.iter().find_map(|id| check_id(id).err()) {
                return failed(e);
            }
            match self.group_index(&i.group) {
                Some(g) => groups.push(Some(g)),
                None => groups.push(None),
            }
        }
        let known: Vec<u16> = groups.iter().flatten().copied().collect();
        // The account quota first: when it is exhausted the call fails.
        if !self.bucket(Quota::Batch).take(now) {
            let l = self.draw_latency(&known);
            return answer(l, Err(StoreError::Throttled));
        }
        let mut latency_ns = 0;
        let mut items = Vec::new();
        for (i, g) in identifiers.iter().zip(&groups) {
            let error = match g {
                None => Some(StoreError::NotFound(i.group.clone())),
                Some(g) => {
                    let (l, e) = self.group_call(now, *g);
                    latency_ns = latency_ns.max(l);
                    e
                }
            };
            for id in &i.ids {
                let result = match (&error, g) {
                    (Some(e), _) => Err(e.clone()),
                    (None, Some(g)) => Ok(self.read(now, epoch_s, *g, id, &i.names)),
                    (None, None) => unreachable!("an unknown group has an error"),
                };
                items.push(BatchItem {
                    group: i.group.clone(),
                    id: id.clone(),
                    result,
                });
            }
        }
        answer(latency_ns, Ok(items))
    }

    /// What a real model of endpoint `e` scores a request with, given the
    /// lookup it made; `None` if the endpoint reads no features or the
    /// lookup served none.
    pub fn served(&self, e: usize, used: &super::FeatureUse) -> Option<super::ServedFeatures> {
        use super::FeaturePath;
        let g = *self.uses.get(e)?.as_ref()?.groups.first()?;
        let names: Vec<String> = self.groups[g as usize]
            .spec
            .features
            .iter()
            .map(|f| f.name.clone())
            .collect();
        let truth = self.values(g, used.record);
        let served = match used.path {
            FeaturePath::NotLooked | FeaturePath::Failed => return None,
            FeaturePath::Default => self.groups[g as usize]
                .spec
                .features
                .iter()
                .map(|f| f.default.clone())
                .collect(),
            FeaturePath::Fresh | FeaturePath::Cached => truth.clone(),
        };
        Some(super::ServedFeatures {
            names,
            served,
            truth,
        })
    }

    /// The features of record `record` of group `g` as ingestion wrote
    /// them, in feature order (the values a lookup of it serves).
    pub fn values(&self, g: u16, record: u32) -> Vec<String> {
        let gs = &self.groups[g as usize];
        let n = gs.spec.features.len();
        match &gs.spec.data {
            Some(d) => d.row(record as usize, n).to_vec(),
            None => (0..n).map(|f| gs.generated(record, f)).collect(),
        }
    }

    /// One call's latency and error: the account quota, then each
    /// group's outages (a batch takes the slowest group).
    fn call(&mut self, now: SimTime, groups: &[u16], quota: Quota) -> (u64, Option<StoreError>) {
        let admitted = self.bucket(quota).take(now);
        let mut latency_ns = 0;
        let mut error = (!admitted).then_some(StoreError::Throttled);
        for &g in groups {
            let (l, e) = self.group_call(now, g);
            latency_ns = latency_ns.max(l);
            if error.is_none() {
                error = e;
            }
        }
        (latency_ns, error)
    }

    /// Group `g`'s part of a call: its latency and its outage's error.
    pub(super) fn group_call(&mut self, now: SimTime, g: u16) -> (u64, Option<StoreError>) {
        let gs = &mut self.groups[g as usize];
        let mut l = secs_to_nanos(gs.spec.latency.sample(&mut gs.rng));
        let mut error = None;
        for &k in &gs.active {
            match self.outages[k as usize].mode {
                OutageMode::Slow { delay } => l = l.saturating_add(duration_nanos(delay)),
                OutageMode::Unavailable if error.is_none() => error = Some(StoreError::Unavailable),
                OutageMode::Errors { rate }
                    if error.is_none() && unit(&mut self.error_rng) < rate =>
                {
                    error = Some(StoreError::Internal);
                }
                _ => {}
            }
        }
        if error.is_none() {
            if let Some(b) = gs.throttle.as_mut() {
                if !b.take(now) {
                    error = Some(StoreError::Throttled);
                }
            }
        }
        (l, error)
    }

    fn draw_latency(&mut self, groups: &[u16]) -> u64 {
        groups
            .iter()
            .map(|&g| {
                let gs = &mut self.groups[g as usize];
                secs_to_nanos(gs.spec.latency.sample(&mut gs.rng))
            })
            .max()
            .unwrap_or(0)
    }

    fn bucket(&mut self, quota: Quota) -> &mut super::Bucket {
        match quota {
            Quota::Get => &mut self.get_record,
            Quota::Batch => &mut self.batch_get_record,
            Quota::Write => &mut self.write_record,
        }
    }

    /// Record `id` of group `g` now, or `None` if there is none.
    fn read(
        &mut self,
        now: SimTime,
        epoch_s: f64,
        g: u16,
        id: &str,
        names: &[String],
    ) -> Option<Record> {
        let keep = |n: &str| names.is_empty() || names.iter().any(|w| w == n);
        if let Some(w) = self.written.get(&(g, id.to_string())) {
            let r = w.record.as_ref()?;
            return Some(r.iter().filter(|(n, _)| keep(n)).cloned().collect());
        }
        let record = self.groups[g as usize].record_index(id)?;
        let values = self.values(g, record);
        let gs = &self.groups[g as usize];
        let written_ns = gs.written_ns(record, now);
        let spec = &gs.spec;
        let mut out = Record::new();
        if keep(&spec.record_identifier) {
            out.push((spec.record_identifier.clone(), id.to_string()));
        }
        for (f, v) in spec.features.iter().zip(values) {
            if keep(&f.name) {
                out.push((f.name.clone(), v));
            }
        }
        if keep(&spec.event_time_feature) {
            out.push((
                spec.event_time_feature.clone(),
                format_event_time(epoch_s, written_ns),
            ));
        }
        Some(out)
    }

    /// The event time of record `id` of group `g`, seconds since the
    /// epoch; `None` if there is no such record.
    fn event_time_of(&mut self, now: SimTime, epoch_s: f64, g: u16, id: &str) -> Option<f64> {
        if let Some(w) = self.written.get(&(g, id.to_string())) {
            return w.record.as_ref().map(|_| w.event_time_s);
        }
        let gs = &self.groups[g as usize];
        let record = gs.record_index(id)?;
        Some(epoch_s + gs.written_ns(record, now) as f64 * 1e-9)
    }
}

impl GroupState {
    /// The record `id` names, if the group has it.
    fn record_index(&self, id: &str) -> Option<u32> {
        match &self.spec.data {
            Some(d) => {
                // Identifiers are often the row numbers: try that first.
                let at = id
                    .parse::<usize>()
                    .ok()
                    .filter(|&i| d.ids.get(i).is_some_and(|x| x == id));
                at.or_else(|| d.ids.iter().position(|x| x == id))
                    .map(|i| i as u32)
            }
            None => id
                .parse::<u32>()
                .ok()
                .filter(|&i| i < self.spec.records && i.to_string() == id),
        }
    }

    /// Feature `f`'s generated value in record `record`.
    fn generated(&self, record: u32, f: usize) -> String {
        let default = self.spec.features[f].default.trim();
        let h = mix(u64::from(record) << 8 ^ f as u64);
        if let Ok(d) = default.parse::<i64>() {
            let span = d.unsigned_abs().saturating_mul(2).max(20);
            return (h % span).to_string();
        }
        match default.parse::<f64>() {
            Ok(d) if d.is_finite() => {
                let span = if d == 0.0 { 100.0 } else { 2.0 * d.abs() };
                let u = (h >> 11) as f64 / (1u64 << 53) as f64;
                format!("{:.2}", u * span)
            }
            _ => default.to_string(),
        }
    }
}

/// A well-spread hash of `x` (SplitMix64's finaliser).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn check_id(id: &str) -> Result<(), StoreError> {
    if id.is_empty() || id.len() > 2048 {
        return Err(StoreError::Validation(format!(
            "RecordIdentifierValueAsString must be 1 to 2048 bytes, got {}.",
            id.len()
        )));
    }
    Ok(())
}

fn answer<T>(latency_ns: u64, result: Result<T, StoreError>) -> Answer<T> {
    Answer {
        latency: Duration::from_nanos(latency_ns),
        result,
    }
}

/// A call refused before it reaches the store: at once.
fn failed<T>(e: StoreError) -> Answer<T> {
    answer(0, Err(e))
}

fn not_found<T>(group: &str) -> Answer<T> {
    failed(StoreError::NotFound(group.to_string()))
}
