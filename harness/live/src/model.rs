//! Built-in real models: they do real CPU work on the request body and
//! answer real predictions, so a game day can exercise payload parsing
//! and model errors, not just timers.
//!
//! The one kind so far is logistic regression with weights from a JSON
//! file (`fixtures/models/fraud-logreg.json`). Input is CSV (one row of
//! features a line) or JSON (`{"instances": [[...], ...]}`, a bare array of
//! rows, or one row); output is JSON,
//! `{"predictions": [{"score": 0.93, "label": 1}, ...]}`.

use std::path::Path;

use serde::Deserialize;

/// Why a model refused its input: the container's 400.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct BadInput(pub String);

/// Why model weights could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read model weights {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a weights file.
    #[error("model weights {path} are invalid: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// A logistic-regression classifier.
#[derive(Clone, Debug, Deserialize)]
pub struct LogisticRegression {
    /// Feature names, in input order.
    pub features: Vec<String>,
    /// One weight per feature.
    pub weights: Vec<f64>,
    /// Intercept.
    pub bias: f64,
    /// Score at or above which the label is 1.
    #[serde(default = "half")]
    pub threshold: f64,
    /// Features the model reads from the online feature store, after the
    /// request's own: on an endpoint with `[endpoint.features]`, each
    /// adds `weight × value` of the feature of that name.
    #[serde(default)]
    pub store_features: Vec<StoreFeature>,
}

/// One feature-store feature a model weighs.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct StoreFeature {
    /// The feature's name in its feature group.
    pub name: String,
    /// Its weight.
    pub weight: f64,
}

/// Scores with the features served and with the true record.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    /// The answer, scored with the features served.
    pub body: Vec<u8>,
    /// True if some row's label differs from the one the true record
    /// gives.
    pub changed: bool,
}

fn half() -> f64 {
    0.5
}

impl LogisticRegression {
    /// Loads weights from a JSON file.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses weights read from `path` (named in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Self, LoadError> {
        let m: LogisticRegression = serde_json::from_str(text).map_err(|e| LoadError::Invalid {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        if m.weights.is_empty() || m.weights.len() != m.features.len() {
            return Err(LoadError::Invalid {
                path: path.display().to_string(),
                reason: format!(
                    "{} weights for {} features",
                    m.weights.len(),
                    m.features.len()
                ),
            });
        }
        Ok(m)
    }

    /// Scores every row of `body` (`content_type` picks CSV or JSON).
    pub fn predict(&self, content_type: &str, body: &[u8]) -> Result<Vec<u8>, BadInput> {
        let rows = self.rows(content_type, body)?;
        Ok(self.answer(&rows, 0.0).0)
    }

    /// Scores every row of `body` with the store features `served` (name,
    /// value pairs), and again with `truth`, the record's true values.
    /// A value that is missing or not a number counts as 0.
    pub fn predict_with_features(
        &self,
        content_type: &str,
        body: &[u8],
        served: &[(&str, &str)],
        truth: &[(&str, &str)],
    ) -> Result<Scored, BadInput> {
        let rows = self.rows(content_type, body)?;
        let (body, labels) = self.answer(&rows, self.store_term(served));
        let (_, true_labels) = self.answer(&rows, self.store_term(truth));
        Ok(Scored {
            body,
            changed: labels != true_labels,
        })
    }

    /// The store features' part of the linear term.
    fn store_term(&self, values: &[(&str, &str)]) -> f64 {
        self.store_features
            .iter()
            .map(|f| {
                let x = values
                    .iter()
                    .find(|(n, _)| *n == f.name)
                    .and_then(|(_, v)| v.trim().parse::<f64>().ok())
                    .filter(|x| x.is_finite())
                    .unwrap_or(0.0);
                f.weight * x
            })
            .sum()
    }

    fn rows(&self, content_type: &str, body: &[u8]) -> Result<Vec<Vec<f64>>, BadInput> {
        let text = std::str::from_utf8(body)
            .map_err(|_| BadInput("request body is not UTF-8 text".into()))?;
        if content_type.starts_with("application/json") {
            self.rows_from_json(text)
        } else if content_type.is_empty() || content_type.starts_with("text/csv") {
            self.rows_from_csv(text)
        } else {
            Err(BadInput(format!(
                "content type {content_type} is not supported; use text/csv or application/json"
            )))
        }
    }

    /// The JSON answer for `rows`, each with `extra` added to its linear
    /// term, and the labels.
    fn answer(&self, rows: &[Vec<f64>], extra: f64) -> (Vec<u8>, Vec<bool>) {
        let mut out = String::from("{\"predictions\":[");
        let mut labels = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let z = self.bias
                + extra
                + row
                    .iter()
                    .zip(&self.weights)
                    .map(|(x, w)| x * w)
                    .sum::<f64>();
            let p = 1.0 / (1.0 + (-z).exp());
            let label = p >= self.threshold;
            labels.push(label);
            if i > 0 {
                out.push(',');
            }
            out.push_str(&format!(
                "{{\"score\":{p:.6},\"label\":{}}}",
                u8::from(label)
            ));
        }
        out.push_str("]}");
        (out.into_bytes(), labels)
    }

    fn check(&self, row: Vec<f64>, n: usize) -> Result<Vec<f64>, BadInput> {
        if row.len() != self.weights.len() {
            return Err(BadInput(format!(
                "row {n} has {} features; the model takes {} ({})",
                row.len(),
                self.weights.len(),
                self.features.join(", ")
            )));
        }
        if row.iter().any(|x| !x.is_finite()) {
            return Err(BadInput(format!("row {n} has a value that is not finite")));
        }
        Ok(row)
    }

    fn rows_from_csv(&self, text: &str) -> Result<Vec<Vec<f64>>, BadInput> {
        let mut rows = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let row = line
                .split(',')
                .map(|f| {
                    f.trim().parse::<f64>().map_err(|_| {
                        BadInput(format!("row {}: {:?} is not a number", n + 1, f.trim()))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            rows.push(self.check(row, n + 1)?);
        }
        if rows.is_empty() {
            return Err(BadInput("the request has no rows".into()));
        }
        Ok(rows)
    }

    fn rows_from_json(&self, text: &str) -> Result<Vec<Vec<f64>>, BadInput> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| BadInput(format!("invalid JSON: {e}")))?;
        let rows = match &v {
            serde_json::Value::Object(o) => o
                .get("instances")
                .cloned()
                .ok_or_else(|| BadInput("expected an \"instances\" array".into()))?,
            other => other.clone(),
        };
        let serde_json::Value::Array(items) = rows else {
            return Err(BadInput("expected an array of rows".into()));
        };
        let items = if items.iter().all(|x| x.is_number()) {
            vec![serde_json::Value::Array(items)]
        } else {
            items
        };
        if items.is_empty() {
            return Err(BadInput("the request has no rows".into()));
        }
        items
            .into_iter()
            .enumerate()
            .map(|(n, row)| {
                let row: Vec<f64> = serde_json::from_value(row)
                    .map_err(|_| BadInput(format!("row {} is not an array of numbers", n + 1)))?;
                self.check(row, n + 1)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> LogisticRegression {
        LogisticRegression::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models/fraud-logreg.json"),
        )
        .unwrap()
    }

    #[test]
    fn scores_csv_and_json_rows_the_same() {
        let m = model();
        let row = "3.2,0.5,-0.1,0.9,4.0,2,1,0";
        let csv = m.predict("text/csv", row.as_bytes()).unwrap();
        let json = m
            .predict(
                "application/json",
                format!("{{\"instances\":[[{row}]]}}").as_bytes(),
            )
            .unwrap();
        assert_eq!(csv, json);
        let bare = m
            .predict("application/json", format!("[{row}]").as_bytes())
            .unwrap();
        assert_eq!(csv, bare);
        let v: serde_json::Value = serde_json::from_slice(&csv).unwrap();
        let p = v["predictions"][0]["score"].as_f64().unwrap();
        // The same arithmetic by hand.
        let xs: Vec<f64> = row.split(',').map(|x| x.parse().unwrap()).collect();
        let z = m.bias + xs.iter().zip(&m.weights).map(|(a, b)| a * b).sum::<f64>();
        assert!((p - 1.0 / (1.0 + (-z).exp())).abs() < 1e-6);
    }

    #[test]
    fn several_rows_give_several_predictions() {
        let m = model();
        let out = m
            .predict("text/csv", b"1,0,0,0,1,0,0,0\n9,1,1,1,0,9,1,1\n")
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let preds = v["predictions"].as_array().unwrap();
        assert_eq!(preds.len(), 2);
        assert!(preds[1]["score"].as_f64() > preds[0]["score"].as_f64());
    }

    #[test]
    fn malformed_bodies_are_refused_with_a_reason() {
        let m = model();
        let cases: [(&str, &[u8], &str); 7] = [
            ("text/csv", b"1,2,3", "has 3 features"),
            ("text/csv", b"1,2,x,4,5,6,7,8", "\"x\" is not a number"),
            ("text/csv", b"", "no rows"),
            ("text/csv", &[0xff, 0xfe], "not UTF-8"),
            ("application/json", b"{\"instances\": [[1,2", "invalid JSON"),
            ("application/json", b"{\"rows\": []}", "\"instances\""),
            ("image/png", b"1", "not supported"),
        ];
        for (ct, body, want) in cases {
            let err = m.predict(ct, body).unwrap_err();
            assert!(err.0.contains(want), "{ct} {body:?}: {}", err.0);
        }
    }

    #[test]
    fn weights_that_do_not_match_features_are_rejected() {
        let dir = std::env::temp_dir().join(format!("gameday-model-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bad.json");
        std::fs::write(&p, r#"{"features":["a","b"],"weights":[1.0],"bias":0}"#).unwrap();
        let err = LogisticRegression::load(&p).unwrap_err().to_string();
        assert!(err.contains("1 weights for 2 features"), "{err}");
        assert!(LogisticRegression::load(&dir.join("missing.json")).is_err());
    }

    #[test]
    fn store_features_move_the_label_and_changes_are_counted() {
        let mut m = model();
        m.store_features = vec![
            StoreFeature {
                name: "purchase_count_30d".into(),
                weight: 0.15,
            },
            StoreFeature {
                name: "avg_basket_usd".into(),
                weight: -0.04,
            },
        ];
        let row = b"3.2,0.5,-0.1,0.9,4.0,2,1,0";
        let truth = [("purchase_count_30d", "15"), ("avg_basket_usd", "18.74")];
        let defaults = [("purchase_count_30d", "0"), ("avg_basket_usd", "42.0")];
        let fresh = m
            .predict_with_features("text/csv", row, &truth, &truth)
            .unwrap();
        assert!(!fresh.changed);
        assert!(String::from_utf8(fresh.body)
            .unwrap()
            .contains("\"label\":1"));
        let fallback = m
            .predict_with_features("text/csv", row, &defaults, &truth)
            .unwrap();
        assert!(fallback.changed, "the defaults miss the flag");
        assert!(String::from_utf8(fallback.body)
            .unwrap()
            .contains("\"label\":0"));
        // A value that is not a number counts as 0, like a missing one.
        let odd = [("purchase_count_30d", "n/a")];
        let a = m.predict_with_features("text/csv", row, &odd, &[]).unwrap();
        assert!(!a.changed);
        // Without store features, predict_with_features is predict.
        let plain = model();
        let p = plain
            .predict_with_features("text/csv", row, &truth, &defaults)
            .unwrap();
        assert_eq!(p.body, plain.predict("text/csv", row).unwrap());
        assert!(!p.changed);
    }
}
