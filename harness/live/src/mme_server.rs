//! `gameday model-server --multi-model DIR`: a ready-made multi-model
//! container under SageMaker's contract, serving logistic-regression
//! models whose weights files lie in `DIR`.
//!
//! | call | answer |
//! |---|---|
//! | `GET /ping` | 200 |
//! | `POST /models {"model_name", "url"}` | reads and parses the weights file at `url`: 200; **409** if `model_name` is loaded; **507** if it would not fit in `--memory`; 400 for a `url` outside `DIR`; 500 for a file that is not weights |
//! | `GET /models` | `{"models": [{"modelName", "modelUrl"}]}` |
//! | `GET /models/{name}` | 200, or **404** if not loaded |
//! | `DELETE /models/{name}` | 200, or **404** if not loaded |
//! | `POST /models/{name}/invoke` | the model's predictions; **404** if not loaded; 400 for input it cannot score |
//!
//! `url` is a weights file, or a folder holding one (`*.json`, the first
//! by name), as SageMaker hands a container the folder it unpacked a
//! model into; a relative `url` is taken inside `DIR`. A loaded model
//! counts its file's size against `--memory` (gameday's measure: the
//! parsed weights take about as much as their text).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::model::LogisticRegression;

/// A loaded model.
struct Loaded {
    url: String,
    bytes: u64,
    model: Arc<LogisticRegression>,
}

/// The models a container holds.
struct Store {
    /// The model folder (canonical).
    dir: PathBuf,
    /// Memory for models, bytes; `None`: unlimited.
    memory: Option<u64>,
    state: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    /// Bytes of the loaded models and of those being loaded.
    used: u64,
    models: BTreeMap<String, Loaded>,
    /// Names being loaded now.
    loading: Vec<String>,
}

#[derive(Deserialize)]
struct LoadRequest {
    model_name: String,
    url: String,
}

fn message(status: StatusCode, text: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "code": status.as_u16(), "message": text.into() })),
    )
        .into_response()
}

impl Store {
    /// The weights file `url` names, inside the model folder.
    fn resolve(&self, url: &str) -> Result<PathBuf, (StatusCode, String)> {
        let given = Path::new(url);
        let path = if given.is_absolute() {
            given.to_path_buf()
        } else {
            self.dir.join(given)
        };
        let path = path.canonicalize().map_err(|e| {
            (
                StatusCode::NOT_FOUND,
                format!("model url {url} cannot be read: {e}"),
            )
        })?;
        if !path.starts_with(&self.dir) {
            return Err((
                StatusCode::BAD_REQUEST,
                format!(
                    "model url {url} is outside the model folder {}",
                    self.dir.display()
                ),
            ));
        }
        if !path.is_dir() {
            return Ok(path);
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
            .map_err(|e| (StatusCode::NOT_FOUND, format!("{url}: {e}")))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files.into_iter().next().ok_or_else(|| {
            (
                StatusCode::NOT_FOUND,
                format!("model folder {url} holds no weights file (*.json)"),
            )
        })
    }

    /// `POST /models`.
    fn load(&self, req: LoadRequest) -> Response {
        let name = req.model_name;
        let path = match self.resolve(&req.url) {
            Ok(p) => p,
            Err((status, why)) => return message(status, why),
        };
        let size = match std::fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) => return message(StatusCode::NOT_FOUND, format!("{}: {e}", path.display())),
        };
        {
            let mut held = self.state.lock().expect("models lock");
            if held.models.contains_key(&name) || held.loading.contains(&name) {
                return message(
                    StatusCode::CONFLICT,
                    format!("model {name} is already loaded"),
                );
            }
            if let Some(limit) = self.memory {
                if held.used + size > limit {
                    return message(
                        StatusCode::INSUFFICIENT_STORAGE,
                        format!(
                            "model {name} needs {size} bytes; {} of {limit} are in use: unload a model first",
                            held.used
                        ),
                    );
                }
            }
            held.used += size;
            held.loading.push(name.clone());
        }
        // Read and parse outside the lock: other models keep serving.
        let parsed = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| LogisticRegression::parse(&path, &text).map_err(|e| e.to_string()));
        let mut held = self.state.lock().expect("models lock");
        held.loading.retain(|n| *n != name);
        match parsed {
            Ok(model) => {
                held.models.insert(
                    name.clone(),
                    Loaded {
                        url: req.url,
                        bytes: size,
                        model: Arc::new(model),
                    },
                );
                (
                    StatusCode::OK,
                    Json(json!({ "status": format!("model {name} loaded ({size} bytes)") })),
                )
                    .into_response()
            }
            Err(e) => {
                held.used -= size;
                message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("model {name} failed to load: {e}"),
                )
            }
        }
    }

    fn list(&self) -> Response {
        let held = self.state.lock().expect("models lock");
        let models: Vec<_> = held
            .models
            .iter()
            .map(|(n, m)| json!({ "modelName": n, "modelUrl": m.url }))
            .collect();
        Json(json!({ "models": models })).into_response()
    }

    fn describe(&self, name: &str) -> Response {
        let held = self.state.lock().expect("models lock");
        match held.models.get(name) {
            Some(m) => Json(json!([{ "modelName": name, "modelUrl": m.url }])).into_response(),
            None => not_loaded(name),
        }
    }

    fn unload(&self, name: &str) -> Response {
        let mut held = self.state.lock().expect("models lock");
        match held.models.remove(name) {
            Some(m) => {
                held.used -= m.bytes;
                Json(json!({ "status": format!("model {name} unloaded") })).into_response()
            }
            None => not_loaded(name),
        }
    }

    fn invoke(&self, name: &str, headers: &HeaderMap, body: &[u8]) -> Response {
        let model = {
            let held = self.state.lock().expect("models lock");
            match held.models.get(name) {
                Some(m) => m.model.clone(),
                None => return not_loaded(name),
            }
        };
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        match model.predict(ct, body) {
            Ok(out) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                out,
            )
                .into_response(),
            Err(bad) => message(StatusCode::BAD_REQUEST, bad.0),
        }
    }
}

fn not_loaded(name: &str) -> Response {
    message(StatusCode::NOT_FOUND, format!("model {name} is not loaded"))
}

/// The container's routes over the model folder `dir`.
fn router(dir: &Path, memory: Option<u64>) -> std::io::Result<Router> {
    let store = Arc::new(Store {
        dir: dir.canonicalize().map_err(|e| {
            std::io::Error::new(e.kind(), format!("model folder {}: {e}", dir.display()))
        })?,
        memory,
        state: Mutex::default(),
    });
    Ok(Router::new()
        .route("/ping", get(|| async { "healthy\n" }))
        .route(
            "/models",
            get(|State(s): State<Arc<Store>>| async move { s.list() }).post(
                |State(s): State<Arc<Store>>, body: Bytes| async move {
                    match serde_json::from_slice::<LoadRequest>(&body) {
                        Ok(req) => tokio::task::spawn_blocking(move || s.load(req))
                            .await
                            .unwrap_or_else(|e| {
                                message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
                            }),
                        Err(e) => message(
                            StatusCode::BAD_REQUEST,
                            format!("a load takes {{\"model_name\": ..., \"url\": ...}}: {e}"),
                        ),
                    }
                },
            ),
        )
        .route(
            "/models/{name}",
            get(
                |State(s): State<Arc<Store>>, UrlPath(name): UrlPath<String>| async move {
                    s.describe(&name)
                },
            )
            .delete(
                |State(s): State<Arc<Store>>, UrlPath(name): UrlPath<String>| async move {
                    s.unload(&name)
                },
            ),
        )
        .route(
            "/models/{name}/invoke",
            post(
                |State(s): State<Arc<Store>>,
                 UrlPath(name): UrlPath<String>,
                 headers: HeaderMap,
                 body: Bytes| async move { s.invoke(&name, &headers, &body) },
            ),
        )
        .with_state(store))
}

/// Serves the multi-model container over `dir` on
/// `SAGEMAKER_BIND_TO_PORT` (default 8080) until SIGTERM; `memory` caps
/// the bytes of loaded models.
pub fn run(dir: &Path, memory: Option<u64>) -> std::io::Result<()> {
    crate::container::serve_until_sigterm(router(dir, memory)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use std::net::SocketAddr;

    fn weights(dir: &Path, name: &str, bias: f64) {
        let text = format!(r#"{{"features": ["a", "b"], "weights": [1.0, -1.0], "bias": {bias}}}"#);
        std::fs::write(dir.join(name), text).unwrap();
    }

    /// The container on a loopback port of its own.
    async fn serve(app: Router) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    async fn call(addr: SocketAddr, method: &str, uri: &str, body: &str) -> (u16, String) {
        let client = Client::builder(TokioExecutor::new()).build_http();
        let req = axum::http::Request::builder()
            .method(method)
            .uri(format!("http://{addr}{uri}"))
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let resp = client.request(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn loads_serves_and_unloads_under_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        weights(dir.path(), "a.json", 0.0);
        weights(dir.path(), "b.json", 5.0);
        std::fs::write(dir.path().join("broken.json"), "{not json").unwrap();
        let size = std::fs::metadata(dir.path().join("a.json")).unwrap().len();
        // Room for one model.
        let app = serve(router(dir.path(), Some(size + 1)).unwrap()).await;
        let load = |n: &str, url: &str| format!(r#"{{"model_name": "{n}", "url": "{url}"}}"#);

        assert_eq!(call(app, "POST", "/models/a/invoke", "1,1").await.0, 404);
        assert_eq!(
            call(app, "POST", "/models", &load("a", "a.json")).await.0,
            200
        );
        assert_eq!(
            call(app, "POST", "/models", &load("a", "a.json")).await.0,
            409
        );
        let (status, text) = call(app, "POST", "/models", &load("b", "b.json")).await;
        assert_eq!(status, 507, "{text}");
        let (status, text) = call(app, "POST", "/models/a/invoke", "1,1").await;
        assert_eq!(
            (status, text.as_str()),
            (200, r#"{"predictions":[{"score":0.500000,"label":1}]}"#)
        );
        assert_eq!(call(app, "POST", "/models/a/invoke", "1").await.0, 400);
        let (_, listed) = call(app, "GET", "/models", "").await;
        assert!(listed.contains(r#""modelName":"a""#), "{listed}");
        assert_eq!(call(app, "GET", "/models/a", "").await.0, 200);
        assert_eq!(call(app, "DELETE", "/models/a", "").await.0, 200);
        assert_eq!(call(app, "DELETE", "/models/a", "").await.0, 404);
        assert_eq!(call(app, "GET", "/models/a", "").await.0, 404);
        // Unloaded, b fits; a folder url takes the weights file inside.
        std::fs::create_dir(dir.path().join("c")).unwrap();
        weights(&dir.path().join("c"), "model.json", 1.0);
        assert_eq!(
            call(app, "POST", "/models", &load("b", "b.json")).await.0,
            200
        );
        assert_eq!(call(app, "DELETE", "/models/b", "").await.0, 200);
        assert_eq!(call(app, "POST", "/models", &load("c", "c")).await.0, 200);
        assert_eq!(call(app, "DELETE", "/models/c", "").await.0, 200);
        // What a container must refuse.
        let (status, text) = call(app, "POST", "/models", &load("x", "broken.json")).await;
        assert_eq!(status, 500, "{text}");
        assert_eq!(
            call(app, "POST", "/models", &load("x", "/etc/hostname"))
                .await
                .0,
            400
        );
        assert_eq!(
            call(app, "POST", "/models", &load("x", "nope.json"))
                .await
                .0,
            404
        );
        assert_eq!(call(app, "POST", "/models", "{}").await.0, 400);
        // A failed load gave its memory back.
        assert_eq!(
            call(app, "POST", "/models", &load("a", "a.json")).await.0,
            200
        );
    }
}
