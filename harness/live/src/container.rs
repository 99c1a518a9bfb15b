//! User model servers under SageMaker's container contract: one process
//! per instance of a variant whose model names a `command`, listening on
//! `SAGEMAKER_BIND_TO_PORT` with `GET /ping` and `POST /invocations`.
//!
//! [`ModelServers`] follows the engine's [`Lifecycle`] announcements: a
//! process starts when its instance launches (or at once for instances in
//! service from the start) and is killed when the instance crashes or is
//! terminated, and when the platform stops. Processes are started with
//! [`crate::child::command`], so they also die with the harness. Each
//! process's output goes to `instance-<id>.log` in the log folder.
//!
//! [`run_builtin`] is a model server of gameday's own (the built-in
//! logistic regression behind the container contract), so the path can be
//! exercised with no other software.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

use crate::engine::Lifecycle;
use crate::model::LogisticRegression;

/// Instance id → the port its model server listens on.
pub type Ports = Arc<Mutex<BTreeMap<u32, u16>>>;

/// The model-server processes of a running platform.
#[derive(Debug)]
pub struct ModelServers {
    ports: Ports,
    /// Processes that exited on their own: instance and how.
    exited: Arc<Mutex<Vec<(u32, String)>>>,
    thread: Option<JoinHandle<()>>,
}

fn free_port() -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(l.local_addr()?.port())
}

fn spawn(argv: &[String], port: u16, log: &Path) -> std::io::Result<Child> {
    let out = std::fs::File::create(log)?;
    let err = out.try_clone()?;
    crate::child::command(argv)
        .env("SAGEMAKER_BIND_TO_PORT", port.to_string())
        .env("SAGEMAKER_PROGRAM", &argv[0])
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
}

impl ModelServers {
    /// Follows `lifecycle`; `argv[endpoint][variant]` is the command of
    /// each external variant. Ends, killing every process, when the
    /// engine (the sender) is gone.
    pub fn start(
        argv: Vec<Vec<Option<Vec<String>>>>,
        log_dir: PathBuf,
        lifecycle: Receiver<Lifecycle>,
    ) -> std::io::Result<ModelServers> {
        std::fs::create_dir_all(&log_dir)?;
        let ports: Ports = Arc::default();
        let shared = ports.clone();
        let exited: Arc<Mutex<Vec<(u32, String)>>> = Arc::default();
        let exits = exited.clone();
        let thread = std::thread::Builder::new()
            .name("gameday-model-servers".into())
            .spawn(move || {
                let mut children: BTreeMap<u32, Child> = BTreeMap::new();
                loop {
                    let msg = match lifecycle.recv_timeout(Duration::from_millis(100)) {
                        Ok(m) => m,
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                            // A process that dies on its own stops being
                            // routed to: its requests fail as ModelError.
                            children.retain(|&id, c| match c.try_wait() {
                                Ok(None) => true,
                                done => {
                                    let how = match done {
                                        Ok(Some(s)) => s.to_string(),
                                        _ => "unknown status".into(),
                                    };
                                    shared.lock().expect("ports lock").remove(&id);
                                    exits.lock().expect("exits lock").push((id, how));
                                    false
                                }
                            });
                            continue;
                        }
                        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                    };
                    match msg {
                        Lifecycle::Up {
                            instance,
                            endpoint,
                            variant,
                        } => {
                            let Some(Some(cmd)) = argv
                                .get(endpoint as usize)
                                .and_then(|v| v.get(variant as usize))
                            else {
                                continue;
                            };
                            let log = log_dir.join(format!("instance-{instance}.log"));
                            let started = free_port()
                                .and_then(|port| spawn(cmd, port, &log).map(|c| (port, c)));
                            match started {
                                Ok((port, child)) => {
                                    children.insert(instance, child);
                                    shared.lock().expect("ports lock").insert(instance, port);
                                }
                                Err(e) => {
                                    // Requests to it fail as ModelError 502.
                                    let _ = std::fs::write(
                                        &log,
                                        format!("cannot start {cmd:?}: {e}\n"),
                                    );
                                    exits
                                        .lock()
                                        .expect("exits lock")
                                        .push((instance, format!("could not start: {e}")));
                                }
                            }
                        }
                        Lifecycle::Down { instance } => {
                            shared.lock().expect("ports lock").remove(&instance);
                            if let Some(mut c) = children.remove(&instance) {
                                let _ = crate::child::kill_group(&mut c);
                            }
                        }
                    }
                }
                shared.lock().expect("ports lock").clear();
                for (_, mut c) in children {
                    let _ = crate::child::kill_group(&mut c);
                }
            })?;
        Ok(ModelServers {
            ports,
            exited,
            thread: Some(thread),
        })
    }

    /// The port map handlers forward by.
    pub fn ports(&self) -> Ports {
        self.ports.clone()
    }

    /// Waits until `n` processes are up and every one answers `GET /ping`
    /// with 200, for at most `limit`.
    pub async fn wait_ready(&self, n: usize, limit: Duration) -> std::io::Result<()> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some((id, how)) = self.exited.lock().expect("exits lock").first() {
                return Err(std::io::Error::other(format!(
                    "the model server of instance {id} exited before answering GET /ping ({how}; see its log)"
                )));
            }
            let ports: Vec<u16> = self
                .ports
                .lock()
                .expect("ports lock")
                .values()
                .copied()
                .collect();
            if ports.len() >= n {
                let mut all = true;
                for p in &ports {
                    all &= ping(*p).await;
                }
                if all {
                    return Ok(());
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "{} of {n} model server(s) answered GET /ping with 200 within {}s (see their logs)",
                        ports.len(),
                        limit.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the processes to be killed (after the engine stopped).
    pub fn join(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// True if `127.0.0.1:port` answers `GET /ping` with 200 within 2 s (the
/// contract's limit).
async fn ping(port: u16) -> bool {
    let check = async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        s.write_all(b"GET /ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head).await.ok()?;
        Some(&head[9..12] == b"200")
    };
    tokio::time::timeout(Duration::from_secs(2), check)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// `gameday model-server --weights FILE`: the built-in logistic
/// regression as a container (`GET /ping`, `POST /invocations` on
/// `SAGEMAKER_BIND_TO_PORT`, default 8080), until SIGTERM.
pub fn run_builtin(weights: &Path) -> std::io::Result<()> {
    let model = Arc::new(
        LogisticRegression::load(weights)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", weights.display())))?,
    );
    let port: u16 = std::env::var("SAGEMAKER_BIND_TO_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
        let app = Router::new()
            .route("/ping", get(|| async { "healthy\n" }))
            .route(
                "/invocations",
                post(move |headers: HeaderMap, body: Bytes| {
                    let model = model.clone();
                    async move {
                        let ct = headers
                            .get(header::CONTENT_TYPE)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("");
                        match model.predict(ct, &body) {
                            Ok(out) => (
                                StatusCode::OK,
                                [(header::CONTENT_TYPE, "application/json")],
                                out,
                            )
                                .into_response(),
                            Err(bad) => (StatusCode::BAD_REQUEST, bad.0).into_response(),
                        }
                    }
                }),
            );
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                        .expect("SIGTERM handler");
                term.recv().await;
            })
            .await
    })
}
