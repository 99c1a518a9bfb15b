//! The one fault vocabulary: each endpoint fault kind, the fields it
//! takes, their defaults and ranges, and how the kind is built. Scenario
//! validation (`[[fault]]`) and the live control API (`POST
//! /_gameday/faults`) both go through [`build`], so a new kind is added
//! here once and both reject the same bad input with the same words.

use std::time::Duration;

use crate::spec::FaultKind;

/// Time until the health check notices a dead instance, when a crash does
/// not say.
pub const DEFAULT_DETECT_AFTER: Duration = Duration::from_secs(2);

/// One endpoint fault kind.
#[derive(Clone, Copy, Debug)]
pub struct FaultKindDef {
    /// Its name in scenarios and in the control API.
    pub name: &'static str,
    /// The fields it takes besides `at`, `endpoint` and `variant`.
    pub fields: &'static [&'static str],
    /// What it does, for docs and error messages.
    pub summary: &'static str,
    build: fn(&FaultFields) -> Result<FaultKind, Vec<FieldError>>,
}

/// Every endpoint fault kind, in the order docs list them.
pub const FAULT_KINDS: &[FaultKindDef] = &[
    FaultKindDef {
        name: "instance_crash",
        fields: &["count", "detect_after"],
        summary: "instances die and are replaced",
        build: |f| {
            let count = f.count.unwrap_or(1);
            if count < 1 || count > i64::from(u32::MAX) {
                return Err(vec![FieldError::new(
                    "count",
                    format!("count must be at least 1, got {count}"),
                )]);
            }
            Ok(FaultKind::InstanceCrash {
                count: count as u32,
                detect_after: f.detect_after.unwrap_or(DEFAULT_DETECT_AFTER),
            })
        },
    },
    FaultKindDef {
        name: "latency_injection",
        fields: &["for", "delay"],
        summary: "every request's service time grows by `delay`",
        build: |f| match f.delay {
            Some(delay) => Ok(FaultKind::LatencyInjection { delay }),
            None => Err(vec![FieldError::missing("latency_injection", "delay")]),
        },
    },
    FaultKindDef {
        name: "error_injection",
        fields: &["for", "rate", "status"],
        summary: "a share of requests fails at once with `status`",
        build: |f| {
            let mut errors = Vec::new();
            let rate = f.rate.unwrap_or(1.0);
            if !(0.0..=1.0).contains(&rate) {
                errors.push(FieldError::new(
                    "rate",
                    format!("rate must be between 0 and 1, got {rate}"),
                ));
            }
            let status = f.status.unwrap_or(500);
            if !(400..=599).contains(&status) {
                errors.push(FieldError::new(
                    "status",
                    format!("status must be an HTTP error status (400-599), got {status}"),
                ));
            }
            if !errors.is_empty() {
                return Err(errors);
            }
            Ok(FaultKind::ErrorInjection {
                rate,
                status: status as u16,
            })
        },
    },
    FaultKindDef {
        name: "blackhole",
        fields: &["for"],
        summary: "requests are accepted and never answered",
        build: |_| Ok(FaultKind::Blackhole),
    },
    FaultKindDef {
        name: "model_download_slow",
        fields: &["for", "factor"],
        summary: "multi-model downloads from S3 take `factor` times as long",
        build: |f| match f.factor {
            Some(factor) if factor >= 1.0 && factor.is_finite() => {
                Ok(FaultKind::ModelDownloadSlow { factor })
            }
            Some(factor) => Err(vec![FieldError::new(
                "factor",
                format!("factor must be at least 1 (how many times slower), got {factor}"),
            )]),
            None => Err(vec![FieldError::missing("model_download_slow", "factor")]),
        },
    },
    FaultKindDef {
        name: "model_load_failure",
        fields: &["for", "rate", "model"],
        summary: "multi-model loads fail: a share of them (`rate`), or every load of `model`",
        build: |f| {
            let rate = f.rate.unwrap_or(1.0);
            if !(0.0..=1.0).contains(&rate) {
                return Err(vec![FieldError::new(
                    "rate",
                    format!("rate must be between 0 and 1, got {rate}"),
                )]);
            }
            if f.model.is_some() && f.rate.is_some() {
                return Err(vec![FieldError::new(
                    "rate",
                    "give `rate` (a share of every model's loads) or `model` (every load of one model), not both".into(),
                )]);
            }
            Ok(FaultKind::ModelLoadFailure {
                rate,
                model: f.model,
            })
        },
    },
];

/// The kind-specific fields of a fault as the user wrote them (parsed,
/// not yet checked). `None`: not given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultFields {
    /// How long it lasts.
    pub for_: Option<Duration>,
    /// `instance_crash`: instances that die.
    pub count: Option<i64>,
    /// `instance_crash`: time until the health check notices.
    pub detect_after: Option<Duration>,
    /// `latency_injection`: extra service time.
    pub delay: Option<Duration>,
    /// `error_injection`: share of requests that fail.
    pub rate: Option<f64>,
    /// `error_injection`: the status answered.
    pub status: Option<i64>,
    /// `model_download_slow`: how many times slower.
    pub factor: Option<f64>,
    /// `model_load_failure`: the model whose loads fail, by index (the
    /// caller resolves its name).
    pub model: Option<u32>,
}

impl FaultFields {
    /// Every field by name, and whether it was given.
    pub fn given(&self) -> [(&'static str, bool); 8] {
        [
            ("for", self.for_.is_some()),
            ("count", self.count.is_some()),
            ("detect_after", self.detect_after.is_some()),
            ("delay", self.delay.is_some()),
            ("rate", self.rate.is_some()),
            ("status", self.status.is_some()),
            ("factor", self.factor.is_some()),
            ("model", self.model.is_some()),
        ]
    }
}

/// What is wrong with one field (`field: None`: with the fault as a whole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field at fault, by its scenario name.
    pub field: Option<&'static str>,
    /// What is wrong, in words the user reads.
    pub message: String,
}

impl FieldError {
    fn new(field: &'static str, message: String) -> Self {
        FieldError {
            field: Some(field),
            message,
        }
    }

    fn missing(kind: &str, field: &str) -> Self {
        FieldError {
            field: None,
            message: format!("fault kind \"{kind}\" needs `{field}`"),
        }
    }
}

/// The definition of endpoint fault kind `name`.
pub fn lookup(name: &str) -> Option<&'static FaultKindDef> {
    FAULT_KINDS.iter().find(|k| k.name == name)
}

/// The names of every endpoint fault kind.
pub fn names() -> impl Iterator<Item = &'static str> {
    FAULT_KINDS.iter().map(|k| k.name)
}

/// Builds endpoint fault kind `kind` from `fields`: every field given
/// that the kind does not take, and every value out of range, is an error.
pub fn build(kind: &FaultKindDef, fields: &FaultFields) -> Result<FaultKind, Vec<FieldError>> {
    let mut errors: Vec<FieldError> = fields
        .given()
        .into_iter()
        .filter(|&(name, given)| given && !kind.fields.contains(&name))
        .map(|(name, _)| FieldError::new(name, not_taken(kind, name)))
        .collect();
    match (kind.build)(fields) {
        Ok(k) if errors.is_empty() => Ok(k),
        Ok(_) => Err(errors),
        Err(e) => {
            errors.extend(e);
            Err(errors)
        }
    }
}

/// "`rate` does not apply to fault kind "blackhole" (it takes `for`)".
pub fn not_taken(kind: &FaultKindDef, field: &str) -> String {
    let takes = if kind.fields.is_empty() {
        "no extra fields".to_string()
    } else {
        kind.fields
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "`{field}` does not apply to fault kind \"{}\" (it takes {takes})",
        kind.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_builds_from_its_defaults_or_says_what_it_needs() {
        for k in FAULT_KINDS {
            let r = build(k, &FaultFields::default());
            match k.name {
                "latency_injection" => assert_eq!(
                    r.unwrap_err()[0].message,
                    "fault kind \"latency_injection\" needs `delay`"
                ),
                "model_download_slow" => assert_eq!(
                    r.unwrap_err()[0].message,
                    "fault kind \"model_download_slow\" needs `factor`"
                ),
                _ => assert!(r.is_ok(), "{}: {r:?}", k.name),
            }
        }
    }

    #[test]
    fn fields_a_kind_does_not_take_and_bad_values_are_each_named() {
        let k = lookup("blackhole").unwrap();
        let e = build(
            k,
            &FaultFields {
                rate: Some(2.0),
                ..FaultFields::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].field, Some("rate"));
        assert_eq!(
            e[0].message,
            "`rate` does not apply to fault kind \"blackhole\" (it takes `for`)"
        );
        let e = build(
            lookup("error_injection").unwrap(),
            &FaultFields {
                rate: Some(2.0),
                status: Some(200),
                ..FaultFields::default()
            },
        )
        .unwrap_err();
        let fields: Vec<_> = e.iter().map(|e| e.field).collect();
        assert_eq!(fields, [Some("rate"), Some("status")]);
        assert!(lookup("meteor").is_none());
    }
}
