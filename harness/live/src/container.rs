//! User model servers under SageMaker's container contract: one process
//! per instance of a variant whose model names a `command`, listening on
//! `SAGEMAKER_BIND_TO_PORT` with `GET /ping` and `POST /invocations`.
//!
//! [`ModelServers`] follows the engine's [`Lifecycle`] announcements: a
//! process starts when its instance launches (or at once for instances in
//! service from the start) and is killed when the instance crashes or is
//! terminated, and when the platform stops. Every 100 ms a thread pings
//! the processes still starting and notices the ones that exited; it
//! routes to a process, and tells the platform it is healthy, only once it
//! answers `GET /ping` with 200 (a launched instance goes in service only
//! then), and reports an exit as the instance's crash. Processes are started with
//! [`crate::child::command`], so they also die with the harness. Each
//! process's output goes to `instance-<id>.log` in the log folder.
//!
//! A multi-model variant's container also gets the platform's loads and
//! unloads: each instance has a task that carries them out in order
//! (`POST /models {"model_name", "url"}`, `DELETE /models/{name}`) and
//! reports each answer and its time back to the platform. The model name
//! is the request's `TargetModel` and the url the model's file in the
//! variant's model folder.
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

use crate::engine::{ContainerHealth, EngineHandle, Lifecycle};
use crate::model::LogisticRegression;
use gameday_core::ModelLoadAnswer;

/// Instance id → the port its model server listens on.
pub type Ports = Arc<Mutex<BTreeMap<u32, u16>>>;

/// A multi-model variant's container: where its models' files are, and
/// their names (what `TargetModel` says), in model order.
#[derive(Clone, Debug)]
pub struct ModelFolder {
    /// The folder (absolute): model `name` is loaded from `dir/name`.
    pub dir: PathBuf,
    /// The variant's models.
    pub names: Arc<[String]>,
}

/// A load or unload for one instance's container.
#[derive(Debug)]
enum ModelOp {
    Load {
        model: u32,
        name: String,
        url: String,
    },
    Unload {
        name: String,
    },
}

/// A load answers within SageMaker's 360 s limit; past it the platform
/// has failed the load already.
const LOAD_CALL_LIMIT: Duration = Duration::from_secs(370);
/// An unload's limit.
const UNLOAD_CALL_LIMIT: Duration = Duration::from_secs(60);

/// `name` as one path segment: unreserved characters kept, the rest
/// percent-encoded.
pub(crate) fn path_segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

type OpClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Full<Bytes>,
>;

/// One call to a container: its status, or `None` for no answer in
/// `limit`.
async fn call(
    client: &OpClient,
    port: u16,
    method: axum::http::Method,
    path: &str,
    body: String,
    limit: Duration,
) -> Option<u16> {
    let req = axum::http::Request::builder()
        .method(method)
        .uri(format!("http://127.0.0.1:{port}{path}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(http_body_util::Full::new(Bytes::from(body)))
        .ok()?;
    let answer = async {
        let resp = client.request(req).await.ok()?;
        let status = resp.status().as_u16();
        // Read the answer through, so the connection can be reused.
        let _ = http_body_util::BodyExt::collect(resp.into_body()).await;
        Some(status)
    };
    tokio::time::timeout(limit, answer).await.ok().flatten()
}

/// Carries out one instance's loads and unloads in order, reporting
/// each to the platform.
async fn model_ops(
    instance: u32,
    ports: Ports,
    engine: EngineHandle,
    mut ops: tokio::sync::mpsc::UnboundedReceiver<ModelOp>,
) {
    let client: OpClient =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    let clock = engine.clock();
    while let Some(op) = ops.recv().await {
        let port = ports.lock().expect("ports lock").get(&instance).copied();
        let began = clock.now();
        match op {
            ModelOp::Load { model, name, url } => {
                let body = serde_json::json!({ "model_name": name, "url": url }).to_string();
                let status = match port {
                    Some(p) => {
                        call(
                            &client,
                            p,
                            axum::http::Method::POST,
                            "/models",
                            body,
                            LOAD_CALL_LIMIT,
                        )
                        .await
                    }
                    None => None,
                };
                let answer = match status {
                    Some(200) => ModelLoadAnswer::Loaded,
                    Some(409) => ModelLoadAnswer::AlreadyLoaded,
                    Some(507) => ModelLoadAnswer::OutOfMemory,
                    _ => ModelLoadAnswer::Failed,
                };
                let took = clock.now().nanos_since(began);
                if engine.model_load(instance, model, answer, took).is_err() {
                    return;
                }
            }
            ModelOp::Unload { name } => {
                if let Some(p) = port {
                    let path = format!("/models/{}", path_segment(&name));
                    // 404 (not loaded) is as good as unloaded.
                    let _ = call(
                        &client,
                        p,
                        axum::http::Method::DELETE,
                        &path,
                        String::new(),
                        UNLOAD_CALL_LIMIT,
                    )
                    .await;
                }
                let took = clock.now().nanos_since(began);
                if engine.model_unload(instance, took).is_err() {
                    return;
                }
            }
        }
    }
}

/// The model-server processes of a running platform.
#[derive(Debug)]
pub struct ModelServers {
    ports: Ports,
    /// Processes that exited on their own: instance and how.
    exited: Arc<Mutex<Vec<(u32, String)>>>,
    /// Where each process's output goes (absolute).
    log_dir: PathBuf,
    thread: Option<JoinHandle<()>>,
}

fn free_port() -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(l.local_addr()?.port())
}

fn spawn(
    argv: &[String],
    cwd: Option<&Path>,
    env: &[(String, String)],
    port: u16,
    log: &Path,
) -> std::io::Result<Child> {
    let out = std::fs::File::create(log)?;
    let err = out.try_clone()?;
    let mut argv = argv.to_vec();
    if argv[0] == "gameday" {
        // The gameday running the scenario, wherever it is installed.
        argv[0] = std::env::current_exe()?.display().to_string();
    }
    let mut cmd = crate::child::command(&argv);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)))
        .env("SAGEMAKER_BIND_TO_PORT", port.to_string())
        .env("SAGEMAKER_PROGRAM", &argv[0])
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
}

#[allow(clippy::disallowed_methods)] // the keeper's ticks are real time by design
fn now() -> std::time::Instant {
    std::time::Instant::now()
}

/// How often the processes are checked: exits noticed, starting ones
/// pinged.
const TICK: Duration = Duration::from_millis(100);

/// The processes one thread looks after.
struct Keeper {
    argv: Vec<Vec<Option<Vec<String>>>>,
    log_dir: PathBuf,
    engine: EngineHandle,
    /// Healthy instances' ports, read by the forwarding handlers.
    ports: Ports,
    exited: Arc<Mutex<Vec<(u32, String)>>>,
    children: BTreeMap<u32, Child>,
    /// Started, not yet answering `GET /ping`: instance → port.
    starting: BTreeMap<u32, u16>,
    /// Multi-model variants' model folders by `[endpoint][variant]`.
    folders: Vec<Vec<Option<ModelFolder>>>,
    /// Each multi-model instance's queue of loads and unloads.
    ops: BTreeMap<u32, tokio::sync::mpsc::UnboundedSender<ModelOp>>,
    /// Where the load and unload tasks run.
    rt: tokio::runtime::Handle,
    /// The folder the processes start in.
    cwd: Option<PathBuf>,
    /// Environment for every process.
    env: Vec<(String, String)>,
}

/// What the model-server processes of a platform run, and where.
#[derive(Clone, Debug, Default)]
pub struct ContainerSetup {
    /// The command of each external variant, by `[endpoint][variant]`.
    pub argv: Vec<Vec<Option<Vec<String>>>>,
    /// The model folder of each multi-model one, by `[endpoint][variant]`.
    pub folders: Vec<Vec<Option<ModelFolder>>>,
    /// Where each process's output goes.
    pub log_dir: PathBuf,
    /// The folder processes start in (the scenario's, so its relative
    /// paths hold); `None`: the harness's own.
    pub cwd: Option<PathBuf>,
    /// Environment variables every process gets (the embedded platform's
    /// AWS endpoints).
    pub env: Vec<(String, String)>,
}

/// The environment that points a model server's AWS SDK (boto3 or any
/// other) at the embedded platform at `addr`: the Feature Store Runtime
/// endpoint, and a region and placeholder credentials where the harness's
/// own environment names none (the embedded platform does not check
/// signatures).
pub fn platform_env(addr: std::net::SocketAddr) -> Vec<(String, String)> {
    let mut env = vec![(
        "AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME".to_string(),
        format!("http://{addr}"),
    )];
    let unset = |k: &str| std::env::var_os(k).is_none();
    if unset("AWS_REGION") && unset("AWS_DEFAULT_REGION") {
        env.push(("AWS_DEFAULT_REGION".into(), "us-east-1".into()));
    }
    if unset("AWS_ACCESS_KEY_ID") && unset("AWS_PROFILE") {
        env.push(("AWS_ACCESS_KEY_ID".into(), "gameday".into()));
        env.push(("AWS_SECRET_ACCESS_KEY".into(), "gameday".into()));
    }
    env
}

impl Keeper {
    fn up(&mut self, instance: u32, endpoint: u16, variant: u16) {
        let Some(Some(cmd)) = self
            .argv
            .get(endpoint as usize)
            .and_then(|v| v.get(variant as usize))
        else {
            return;
        };
        let log = self.log_dir.join(format!("instance-{instance}.log"));
        let cwd = self.cwd.as_deref();
        let env = &self.env;
        match free_port().and_then(|port| spawn(cmd, cwd, env, port, &log).map(|c| (port, c))) {
            Ok((port, child)) => {
                self.children.insert(instance, child);
                self.starting.insert(instance, port);
            }
            Err(e) => {
                let _ = std::fs::write(&log, format!("cannot start {cmd:?}: {e}\n"));
                self.exit(instance, format!("could not start: {e}"));
            }
        }
    }

    /// Queues a load (`load`) or unload of model `model` for the
    /// container of `instance`.
    fn model_op(&mut self, load: bool, instance: u32, endpoint: u16, variant: u16, model: u32) {
        let Some(Some(folder)) = self
            .folders
            .get(endpoint as usize)
            .and_then(|v| v.get(variant as usize))
        else {
            return;
        };
        let Some(name) = folder.names.get(model as usize) else {
            return;
        };
        let op = if load {
            ModelOp::Load {
                model,
                name: name.clone(),
                url: folder.dir.join(name).display().to_string(),
            }
        } else {
            ModelOp::Unload { name: name.clone() }
        };
        let tx = self.ops.entry(instance).or_insert_with(|| {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            self.rt.spawn(model_ops(
                instance,
                self.ports.clone(),
                self.engine.clone(),
                rx,
            ));
            tx
        });
        let _ = tx.send(op);
    }

    fn down(&mut self, instance: u32) {
        self.ops.remove(&instance);
        self.ports.lock().expect("ports lock").remove(&instance);
        self.starting.remove(&instance);
        if let Some(mut c) = self.children.remove(&instance) {
            let _ = crate::child::kill_group(&mut c);
        }
    }

    /// A process is gone on its own: stop routing to it and tell the
    /// platform (a crash if it was serving, a failed health check if it
    /// was starting).
    fn exit(&mut self, instance: u32, how: String) {
        let log = self.log_dir.join(format!("instance-{instance}.log"));
        let how = format!("{how}; its log: {}", log.display());
        self.ops.remove(&instance);
        self.ports.lock().expect("ports lock").remove(&instance);
        self.starting.remove(&instance);
        self.exited
            .lock()
            .expect("exits lock")
            .push((instance, how));
        let _ = self.engine.container(instance, ContainerHealth::Exited);
    }

    /// Notices exits, then pings the starting processes; a healthy one is
    /// routed to and reported to the platform.
    fn tick(&mut self) {
        let mut gone = Vec::new();
        self.children.retain(|&id, c| match c.try_wait() {
            Ok(None) => true,
            done => {
                let how = match done {
                    Ok(Some(s)) => s.to_string(),
                    _ => "unknown status".into(),
                };
                gone.push((id, how));
                false
            }
        });
        for (id, how) in gone {
            self.exit(id, how);
        }
        let healthy: Vec<(u32, u16)> = self
            .starting
            .iter()
            .filter(|(_, &port)| ping(port))
            .map(|(&id, &port)| (id, port))
            .collect();
        for (id, port) in healthy {
            self.starting.remove(&id);
            self.ports.lock().expect("ports lock").insert(id, port);
            let _ = self.engine.container(id, ContainerHealth::Healthy);
        }
    }

    fn run(mut self, lifecycle: Receiver<Lifecycle>) {
        let mut next_tick = now();
        loop {
            let wait = next_tick.saturating_duration_since(now());
            match lifecycle.recv_timeout(wait) {
                Ok(Lifecycle::Up {
                    instance,
                    endpoint,
                    variant,
                }) => self.up(instance, endpoint, variant),
                Ok(Lifecycle::Down { instance }) => self.down(instance),
                Ok(Lifecycle::Load {
                    instance,
                    endpoint,
                    variant,
                    model,
                }) => self.model_op(true, instance, endpoint, variant, model),
                Ok(Lifecycle::Unload {
                    instance,
                    endpoint,
                    variant,
                    model,
                }) => self.model_op(false, instance, endpoint, variant, model),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if now() >= next_tick {
                self.tick();
                next_tick = now() + TICK;
            }
        }
        self.ports.lock().expect("ports lock").clear();
        for (_, mut c) in std::mem::take(&mut self.children) {
            let _ = crate::child::kill_group(&mut c);
        }
    }
}

impl ModelServers {
    /// Follows `lifecycle`, starting the processes of `setup`. Reports
    /// each process's health, and each load and unload, to `engine`. Ends,
    /// killing every process, when the engine (the sender of `lifecycle`)
    /// is gone. Call it inside a tokio runtime: the loads and unloads run
    /// there. A command whose program is `gameday` runs this executable.
    pub fn start(
        setup: ContainerSetup,
        lifecycle: Receiver<Lifecycle>,
        engine: EngineHandle,
    ) -> std::io::Result<ModelServers> {
        let ContainerSetup {
            argv,
            folders,
            log_dir,
            cwd,
            env,
        } = setup;
        std::fs::create_dir_all(&log_dir)?;
        let log_dir = std::path::absolute(&log_dir)?;
        let ports: Ports = Arc::default();
        let exited: Arc<Mutex<Vec<(u32, String)>>> = Arc::default();
        let keeper = Keeper {
            argv,
            log_dir: log_dir.clone(),
            engine,
            ports: ports.clone(),
            exited: exited.clone(),
            children: BTreeMap::new(),
            starting: BTreeMap::new(),
            folders,
            ops: BTreeMap::new(),
            rt: tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?,
            cwd,
            env,
        };
        let thread = std::thread::Builder::new()
            .name("gameday-model-servers".into())
            .spawn(move || keeper.run(lifecycle))?;
        Ok(ModelServers {
            ports,
            exited,
            log_dir,
            thread: Some(thread),
        })
    }

    /// The port map handlers forward by: healthy instances only.
    pub fn ports(&self) -> Ports {
        self.ports.clone()
    }

    /// Waits until `n` processes answer `GET /ping` with 200, for at most
    /// `limit`; fails at once if one exits first.
    pub async fn wait_ready(&self, n: usize, limit: Duration) -> std::io::Result<()> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some((id, how)) = self.exited.lock().expect("exits lock").first() {
                return Err(std::io::Error::other(format!(
                    "the model server of instance {id} exited before answering GET /ping ({how})"
                )));
            }
            let ready = self.ports.lock().expect("ports lock").len();
            if ready >= n {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "{ready} of {n} model server(s) answered GET /ping with 200 within {}s (their logs: {}/instance-N.log)",
                        limit.as_secs(),
                        self.log_dir.display()
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Processes that exited on their own so far: instance and how, with
    /// the path of its log.
    pub fn exits(&self) -> Vec<(u32, String)> {
        self.exited.lock().expect("exits lock").clone()
    }

    /// Waits for the processes to be killed (after the engine stopped).
    pub fn join(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// True if `127.0.0.1:port` answers `GET /ping` with 200: connect within
/// 100 ms, answer within 2 s (the contract's limit).
fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let check = || -> std::io::Result<bool> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100))?;
        s.set_write_timeout(Some(Duration::from_secs(2)))?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        s.write_all(b"GET /ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head)?;
        Ok(&head[9..12] == b"200")
    };
    check().unwrap_or(false)
}

/// `gameday model-server --weights FILE`: the built-in logistic
/// regression as a container (`GET /ping`, `POST /invocations` on
/// `SAGEMAKER_BIND_TO_PORT`, default 8080), until SIGTERM.
pub fn run_builtin(weights: &Path) -> std::io::Result<()> {
    let model = Arc::new(
        LogisticRegression::load(weights)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", weights.display())))?,
    );
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
    serve_until_sigterm(app)
}

/// Serves `app` on loopback at `SAGEMAKER_BIND_TO_PORT` (default 8080),
/// the container contract's port, until SIGTERM.
pub(crate) fn serve_until_sigterm(app: Router) -> std::io::Result<()> {
    let port: u16 = std::env::var("SAGEMAKER_BIND_TO_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
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
