//! The HTTP front of the embedded platform: SageMaker Runtime's
//! InvokeEndpoint, a health check, `/metrics`, and a small control API
//! under `/_gameday/` for operators.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use gameday_core::spec::PlatformSpec;
use gameday_core::{Cause, Outcome, Request, RequestResult, ServiceStart};
use http_body_util::BodyExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::clock::WallClock;
use crate::container::{ContainerSetup, ModelFolder, ModelServers, Ports};
use crate::control::ControlAuth;
use crate::engine::{Engine, EngineHandle, Reply};
use crate::listener::Limits;
use crate::metrics::Metrics;
use crate::model::LogisticRegression;
use crate::protocol::{
    request_id, SageMakerError, INVOKED_VARIANT, MAX_BODY_BYTES, REQUEST_ID, TARGET_VARIANT,
};

/// How the server is set up.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Address to bind; port 0 picks a free one.
    pub bind: SocketAddr,
    /// Master seed for the platform's RNG streams.
    pub seed: u64,
    /// How long an invocation may take before the platform answers a
    /// timeout (SageMaker's limit is 60 s).
    pub invocation_timeout: Duration,
    /// Real models by `[endpoint][variant]`; `None` serves synthetic
    /// answers after the variant's modelled service time.
    pub models: Vec<Vec<Option<Arc<LogisticRegression>>>>,
    /// Model-server commands by `[endpoint][variant]` (the container
    /// contract): such a variant runs one process per instance and its
    /// requests are served by them.
    pub containers: Vec<Vec<Option<Vec<String>>>>,
    /// Where model-server processes write their output (default: a
    /// folder in the system's temp directory).
    pub container_logs: Option<std::path::PathBuf>,
    /// The model folder of each multi-model variant with a container, by
    /// `[endpoint][variant]`: the container loads model `name` from
    /// `folder/name`.
    pub model_folders: Vec<Vec<Option<std::path::PathBuf>>>,
    /// The folder model-server processes start in (the scenario's);
    /// `None`: this process's.
    pub container_dir: Option<std::path::PathBuf>,
    /// Connection limits: header, idle and body timeouts, the cap.
    pub limits: Limits,
    /// The control API's token; `None` makes a random one.
    pub control_token: Option<String>,
    /// Keep every invocation's result as the platform saw it (from its
    /// arrival to its answer) for [`Server::drain_results`]: `gameday
    /// serve` reports from them.
    pub record: bool,
    /// Time compression and end of run for the platform (the spec given
    /// to [`Server::start`] is already compressed by the same scale).
    pub timeline: crate::engine::Timeline,
}

impl ServeOptions {
    /// Loopback, a free port, SageMaker's 60 s limit, synthetic models.
    pub fn local(seed: u64) -> Self {
        ServeOptions {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed,
            invocation_timeout: Duration::from_secs(60),
            models: Vec::new(),
            containers: Vec::new(),
            container_logs: None,
            model_folders: Vec::new(),
            container_dir: None,
            limits: Limits::default(),
            control_token: None,
            record: false,
            timeline: crate::engine::Timeline::default(),
        }
    }
}

struct Variant {
    name: String,
    model: String,
    real: Option<Arc<LogisticRegression>>,
}

struct Endpoint {
    index: u16,
    variants: Vec<Variant>,
    /// Multi-model endpoints: model index by `TargetModel` name.
    models: Option<BTreeMap<String, u32>>,
    /// Multi-model endpoints: the models' names, in model order.
    model_names: Arc<[String]>,
}

type HttpClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Full<bytes::Bytes>,
>;

impl AppState {
    /// The control API's gate.
    pub(crate) fn control(&self) -> &ControlAuth {
        &self.control
    }

    /// Longest time to read one request body.
    pub(crate) fn body_read_timeout(&self) -> Duration {
        self.limits.body_read_timeout
    }

    /// Marks the game day as stopping (`POST /_gameday/stop`).
    pub(crate) fn request_stop(&self) {
        self.stop_requested.store(true, Ordering::Relaxed);
    }

    /// Endpoint names → (index, variant names), for the control API.
    /// Whether endpoint `name` is multi-model.
    pub(crate) fn is_multi_model(&self, name: &str) -> bool {
        self.endpoints.get(name).is_some_and(|e| e.models.is_some())
    }

    pub(crate) fn endpoints(&self) -> BTreeMap<&str, (u16, Vec<&str>)> {
        self.endpoints
            .iter()
            .map(|(n, e)| {
                (
                    n.as_str(),
                    (
                        e.index,
                        e.variants.iter().map(|v| v.name.as_str()).collect(),
                    ),
                )
            })
            .collect()
    }
}

/// Results kept for a report, as the platform measured them.
type ResultLog = Mutex<Vec<RequestResult>>;

pub(crate) struct AppState {
    pub(crate) engine: EngineHandle,
    control: ControlAuth,
    limits: Limits,
    results: Option<ResultLog>,
    stop_requested: AtomicBool,
    /// Model-server ports by instance, when any variant runs containers.
    ports: Option<Ports>,
    client: HttpClient,
    invocation_timeout: Duration,
    pub(crate) clock: WallClock,
    /// The run's time compression: the control API speaks scenario time.
    pub(crate) scale: gameday_core::TimeScale,
    endpoints: BTreeMap<String, Endpoint>,
    pub(crate) metrics: Metrics,
    next_id: AtomicU64,
    timeout_ns: u64,
    /// Unix time of the platform's time zero, for the timestamps of the
    /// Application Auto Scaling API (nothing reaches a report).
    pub(crate) epoch_s: f64,
}

/// A running embedded platform. Dropping it does not stop it; call
/// [`Server::shutdown`].
pub struct Server {
    addr: SocketAddr,
    open: Arc<AtomicUsize>,
    max_connections: usize,
    engine: Option<Engine>,
    containers: Option<ModelServers>,
    state: Arc<AppState>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish()
    }
}

impl Server {
    /// Binds, starts the platform's clock and engine, and serves in the
    /// background on the current tokio runtime.
    pub async fn start(spec: &PlatformSpec, opts: ServeOptions) -> std::io::Result<Server> {
        Server::start_with(spec, opts, None).await
    }

    /// Like [`Server::start`], with training jobs in the same platform:
    /// `trainer` (from [`crate::training::TrainingRunner::prepare`]) runs
    /// their processes on the engine's thread.
    pub async fn start_with(
        spec: &PlatformSpec,
        opts: ServeOptions,
        trainer: Option<crate::training::runner::Trainer>,
    ) -> std::io::Result<Server> {
        let fd_limit = crate::listener::raise_fd_limit();
        let mut limits = opts.limits;
        limits.max_connections = crate::listener::effective_cap(limits.max_connections, fd_limit);
        let token = match &opts.control_token {
            Some(t) => t.clone(),
            None => crate::control::new_token()?,
        };
        let listener = TcpListener::bind(opts.bind).await?;
        let addr = listener.local_addr()?;
        let argv = |e: usize, v: usize| -> Option<&Vec<String>> {
            opts.containers
                .get(e)
                .and_then(|x| x.get(v))
                .and_then(Option::as_ref)
        };
        let mut spec = spec.clone();
        let mut initial = 0;
        for (e, ep) in spec.endpoints.iter_mut().enumerate() {
            for (v, vs) in ep.variants.iter_mut().enumerate() {
                if argv(e, v).is_some() {
                    vs.external = true;
                    initial += vs.instance_count as usize;
                }
            }
        }
        let spec = &spec;
        let clock = WallClock::start();
        let (engine, containers) = if initial == 0 {
            let engine = Engine::start_with(spec, opts.seed, clock, None, opts.timeline, trainer)?;
            (engine, None)
        } else {
            let (tx, rx) = std::sync::mpsc::channel();
            let logs = opts.container_logs.clone().unwrap_or_else(|| {
                std::env::temp_dir().join(format!("gameday-containers-{}", std::process::id()))
            });
            let engine =
                Engine::start_with(spec, opts.seed, clock, Some(tx), opts.timeline, trainer)?;
            let setup = ContainerSetup {
                argv: opts.containers.clone(),
                folders: model_folders(spec, &opts)?,
                log_dir: logs,
                cwd: opts.container_dir.clone(),
                env: crate::container::platform_env(addr),
            };
            let servers = match ModelServers::start(setup, rx, engine.handle()) {
                Ok(s) => s,
                Err(e) => {
                    let _ = tokio::task::spawn_blocking(move || engine.join()).await;
                    return Err(e);
                }
            };
            if let Err(e) = servers.wait_ready(initial, Duration::from_secs(30)).await {
                let _ = tokio::task::spawn_blocking(move || {
                    engine.join();
                    servers.join();
                })
                .await;
                return Err(e);
            }
            (engine, Some(servers))
        };
        let mut endpoints = BTreeMap::new();
        for (e, ep) in spec.endpoints.iter().enumerate() {
            let variants = ep
                .variants
                .iter()
                .enumerate()
                .map(|(v, vs)| Variant {
                    name: vs.name.clone(),
                    model: vs.model.clone(),
                    real: opts.models.get(e).and_then(|m| m.get(v)).cloned().flatten(),
                })
                .collect();
            endpoints.insert(
                ep.name.clone(),
                Endpoint {
                    index: e as u16,
                    variants,
                    models: ep
                        .variants
                        .iter()
                        .find_map(|v| v.multi_model.as_ref())
                        .map(|mm| {
                            mm.models
                                .iter()
                                .enumerate()
                                .map(|(i, m)| (m.name.clone(), i as u32))
                                .collect()
                        }),
                    model_names: ep
                        .variants
                        .iter()
                        .find_map(|v| v.multi_model.as_ref())
                        .map(|mm| mm.models.iter().map(|m| m.name.clone()).collect())
                        .unwrap_or_default(),
                },
            );
        }
        let names: Vec<(String, Vec<String>)> = spec
            .endpoints
            .iter()
            .map(|e| {
                (
                    e.name.clone(),
                    e.variants.iter().map(|v| v.name.clone()).collect(),
                )
            })
            .collect();
        let state = Arc::new(AppState {
            engine: engine.handle(),
            control: ControlAuth::new(token, addr),
            limits,
            results: opts.record.then(ResultLog::default),
            stop_requested: AtomicBool::new(false),
            ports: containers.as_ref().map(ModelServers::ports),
            client: hyper_util::client::legacy::Client::builder(
                hyper_util::rt::TokioExecutor::new(),
            )
            .build_http(),
            invocation_timeout: opts.invocation_timeout,
            clock,
            scale: opts.timeline.scale,
            endpoints,
            metrics: Metrics::new(&names),
            next_id: AtomicU64::new(1),
            timeout_ns: opts.invocation_timeout.as_nanos() as u64,
            epoch_s: unix_now_s(),
        });
        let app = router(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let open = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(crate::listener::serve(
            listener,
            app,
            limits,
            open.clone(),
            stopped,
        ));
        Ok(Server {
            addr,
            open,
            max_connections: limits.max_connections,
            engine: Some(engine),
            containers,
            state,
            stop: Some(stop),
            task,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The control API's token (`x-gameday-token`).
    pub fn control_token(&self) -> &str {
        self.state.control.token()
    }

    /// Connections open now.
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// The connection cap in force (below the open-file limit).
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// True once an operator called `POST /_gameday/stop`.
    pub fn stop_requested(&self) -> bool {
        self.state.stop_requested.load(Ordering::Relaxed)
    }

    /// Moves the invocation results kept so far (with
    /// [`ServeOptions::record`]) to the end of `out`.
    pub fn drain_results(&self, out: &mut Vec<RequestResult>) {
        if let Some(log) = &self.state.results {
            out.append(&mut log.lock().expect("result log lock"));
        }
    }

    /// The platform engine, for snapshots and live faults.
    pub fn engine(&self) -> EngineHandle {
        self.state.engine.clone()
    }

    /// The port the model server of `instance` listens on, once it answers
    /// `GET /ping` (operators and tests can call it directly).
    pub fn container_port(&self, instance: u32) -> Option<u16> {
        self.state
            .ports
            .as_ref()
            .and_then(|p| p.lock().expect("ports lock").get(&instance).copied())
    }

    /// Model-server processes that exited on their own so far: instance
    /// and how, with the path of its log.
    pub fn container_exits(&self) -> Vec<(u32, String)> {
        self.containers
            .as_ref()
            .map(ModelServers::exits)
            .unwrap_or_default()
    }

    /// Requests refused before they reached an endpoint so far.
    pub fn rejected(&self) -> u64 {
        self.state.metrics.rejected()
    }

    /// Stops accepting connections, lets open ones finish for up to
    /// `grace`, then stops the engine.
    pub async fn shutdown(mut self, grace: Duration) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if tokio::time::timeout(grace, &mut self.task).await.is_err() {
            self.task.abort();
        }
        let engine = self.engine.take();
        let containers = self.containers.take();
        drop(self);
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(e) = engine {
                e.join();
            }
            // The engine is gone: its lifecycle channel closes and every
            // model-server process is killed.
            if let Some(c) = containers {
                c.join();
            }
        })
        .await;
    }
}

/// The model folders of the multi-model variants that run containers,
/// with their models' names.
fn model_folders(
    spec: &PlatformSpec,
    opts: &ServeOptions,
) -> std::io::Result<Vec<Vec<Option<ModelFolder>>>> {
    let mut out = Vec::new();
    for (e, ep) in spec.endpoints.iter().enumerate() {
        let mut row = Vec::new();
        for (v, vs) in ep.variants.iter().enumerate() {
            let dir = opts
                .model_folders
                .get(e)
                .and_then(|x| x.get(v))
                .and_then(Option::as_ref);
            row.push(match (dir, &vs.multi_model) {
                (Some(dir), Some(mm)) if vs.external => Some(ModelFolder {
                    dir: std::path::absolute(dir)?,
                    names: mm.models.iter().map(|m| m.name.clone()).collect(),
                }),
                _ => None,
            });
        }
        out.push(row);
    }
    Ok(out)
}

/// Unix time now, seconds: only for API timestamps.
#[allow(clippy::disallowed_methods)]
fn unix_now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", post(aws_api).fallback(method_not_allowed))
        .route(
            "/endpoints/{name}/invocations",
            post(invoke).fallback(method_not_allowed),
        )
        .route(
            "/FeatureGroup/{name}",
            get(crate::feature_store_api::get_record)
                .put(crate::feature_store_api::put_record)
                .delete(crate::feature_store_api::delete_record)
                .fallback(method_not_allowed),
        )
        .route(
            "/BatchGetRecord",
            post(crate::feature_store_api::batch_get_record).fallback(method_not_allowed),
        )
        .route("/ping", get(ping).fallback(method_not_allowed))
        .route("/metrics", get(metrics).fallback(method_not_allowed))
        .route(
            "/_gameday/faults",
            post(crate::control_api::inject_fault)
                .get(crate::control_api::list_faults)
                .fallback(method_not_allowed),
        )
        .route(
            "/_gameday/faults/{id}",
            delete(crate::control_api::end_fault).fallback(method_not_allowed),
        )
        .route(
            "/_gameday/stop",
            post(crate::control_api::stop).fallback(method_not_allowed),
        )
        .fallback(unknown_path)
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// `POST /`: an AWS service call. EC2's query protocol arrives
/// form-encoded; Application Auto Scaling's JSON protocol names its
/// operation in `X-Amz-Target` (and gets that service's error when it
/// names none).
async fn aws_api(state: State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    if !headers.contains_key("x-amz-target") && crate::ec2_api::is_query(&headers) {
        crate::ec2_api::call(state, headers, body).await
    } else {
        crate::autoscaling_api::call(state, headers, body).await
    }
}

/// Reads a body of at most `max` bytes within the body-read timeout;
/// `None` when it is larger or late.
pub(crate) async fn read_limited(s: &AppState, body: Body, max: usize) -> Option<bytes::Bytes> {
    let limited = http_body_util::Limited::new(body, max);
    match tokio::time::timeout(
        s.body_read_timeout(),
        http_body_util::BodyExt::collect(limited),
    )
    .await
    {
        Ok(Ok(b)) => Some(b.to_bytes()),
        _ => None,
    }
}

async fn ping() -> &'static str {
    "healthy\n"
}

async fn metrics(State(s): State<Arc<AppState>>) -> Response {
    let Ok(snap) = s.engine.snapshot(false).await else {
        return SageMakerError::InternalFailure("the platform engine has stopped".into())
            .into_response();
    };
    let text = s.metrics.render(&snap.metrics, &snap.scaling);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn unknown_path(State(s): State<Arc<AppState>>, uri: axum::http::Uri) -> Response {
    s.metrics.reject();
    SageMakerError::UnknownOperation(format!("no operation is served at {}", uri.path()))
        .into_response()
}

async fn method_not_allowed(
    State(s): State<Arc<AppState>>,
    method: axum::http::Method,
) -> Response {
    s.metrics.reject();
    let mut r =
        SageMakerError::Validation(format!("method {method} is not allowed here")).into_response();
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// Past this much, an oversized body is no longer drained: the connection
/// is closed instead.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// Reads a request body, keeping at most [`MAX_BODY_BYTES`] in memory. An
/// oversized body is drained unbuffered (up to [`DRAIN_LIMIT`]) so the
/// client, still writing, gets the ValidationError instead of a broken
/// pipe.
async fn read_body(mut body: Body, too_big: bool) -> Result<bytes::Bytes, SageMakerError> {
    let mut buf = bytes::BytesMut::new();
    let mut seen = 0usize;
    let mut too_big = too_big;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            SageMakerError::Validation(format!("could not read the request body: {e}"))
        })?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        seen = seen.saturating_add(data.len());
        if seen > MAX_BODY_BYTES {
            too_big = true;
            buf = bytes::BytesMut::new();
        }
        if too_big {
            if seen > DRAIN_LIMIT {
                break;
            }
            continue;
        }
        buf.extend_from_slice(&data);
    }
    if too_big {
        return Err(too_large());
    }
    Ok(buf.freeze())
}

fn too_large() -> SageMakerError {
    SageMakerError::Validation(format!(
        "Request body is larger than the maximum of {MAX_BODY_BYTES} bytes"
    ))
}

async fn invoke(
    State(s): State<Arc<AppState>>,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let arrived = s.clock.now();
    let n = s.next_id.fetch_add(1, Ordering::Relaxed);
    let rid = request_id(n);
    let reject = |e: SageMakerError| {
        s.metrics.reject();
        e.into_response_with(&rid)
    };
    let Ok(Path(name)) = name else {
        return reject(SageMakerError::Validation(
            "The endpoint name in the request path is not valid UTF-8 once percent-decoded.".into(),
        ));
    };
    let Some(ep) = s.endpoints.get(&name) else {
        return reject(SageMakerError::Validation(format!(
            "Endpoint {name} of account 000000000000 not found."
        )));
    };
    let target_variant = match headers.get(TARGET_VARIANT) {
        None => None,
        Some(v) => {
            let wanted = v.to_str().unwrap_or("");
            match ep.variants.iter().position(|x| x.name == wanted) {
                Some(i) => Some(i as u16),
                None => {
                    return reject(SageMakerError::Validation(format!(
                        "Variant {wanted} not found for endpoint {name}."
                    )))
                }
            }
        }
    };
    let target_model = match crate::protocol::target_model(&headers, &name, ep.models.as_ref()) {
        Ok(m) => m,
        Err(e) => return reject(e),
    };
    let declared_too_big = content_length(&headers).is_some_and(|l| l > MAX_BODY_BYTES as u64);
    let body = match tokio::time::timeout(
        s.limits.body_read_timeout,
        read_body(body, declared_too_big),
    )
    .await
    {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => return reject(e),
        Err(_) => {
            let mut r = reject(SageMakerError::Validation(format!(
                "The request body did not arrive within {} s.",
                s.limits.body_read_timeout.as_secs_f64()
            )));
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return r;
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();

    let req = Request {
        id: n,
        endpoint: ep.index,
        target_variant,
        sent_at: arrived,
        timeout_ns: s.timeout_ns,
        target_model,
    };
    let gone = || {
        SageMakerError::InternalFailure("the platform engine stopped".into())
            .into_response_with(&rid)
    };
    let reply = match s.engine.invoke(req) {
        Ok(rx) => match rx.await {
            Ok(r) => r,
            Err(_) => return gone(),
        },
        Err(_) => return gone(),
    };
    let (result, container) = match reply {
        Reply::Done(r) => (r, None),
        Reply::Started(start) => {
            // A task of its own, so the slot is freed even if this
            // client goes away.
            let model = ep.model_names.get(start.model as usize).cloned();
            let task = tokio::spawn(forward(
                s.clone(),
                start,
                model,
                content_type.clone(),
                body.clone(),
            ));
            match task.await {
                Ok(Some((r, answer))) => (r, Some(answer)),
                _ => return gone(),
            }
        }
    };
    // The core may decide an outcome before its time (a timeout at service
    // start, a blackhole on arrival): answer when the client would see it.
    let due = result.sent_at.add_nanos(result.latency_ns);
    let now = s.clock.now();
    if due > now {
        tokio::time::sleep_until(s.clock.instant(due).into()).await;
    }
    let variant = &ep.variants[result.variant as usize];
    // A built-in model that weighs store features scores with what the
    // lookup served and with the true record.
    let mut result = result;
    let scored = match (&container, &variant.real) {
        (None, Some(model)) => {
            crate::feature_store_api::score(&s, ep.index, model, &mut result, &content_type, &body)
                .await
        }
        _ => None,
    };
    let result = result;
    // The core's metrics counted the result as the platform decided it;
    // this logs it as the client saw it, for the report.
    let record = |outcome: Outcome| {
        let now = s.clock.now();
        if let Some(log) = &s.results {
            // As the platform saw it: from arrival to this answer.
            let seen = RequestResult {
                sent_at: arrived,
                latency_ns: now.nanos_since(arrived),
                outcome,
                ..result
            };
            log.lock().expect("result log lock").push(seen);
        }
    };
    if let (Cause::ModelError(status), Some(answer)) = (result.cause, &container) {
        record(result.outcome);
        let text = String::from_utf8_lossy(&answer.body[..answer.body.len().min(1024)]);
        return SageMakerError::model(status, text.trim(), &variant.name).into_response_with(&rid);
    }
    if let Some(err) = SageMakerError::from_cause(result.cause, &name, &variant.name) {
        record(result.outcome);
        return err.into_response_with(&rid);
    }
    debug_assert_eq!(result.outcome, Outcome::Ok);
    let (content_type, answer) = match (&container, &variant.real) {
        (Some(a), _) => (a.content_type.as_str(), a.body.to_vec()),
        (None, Some(model)) => {
            match scored.unwrap_or_else(|| model.predict(&content_type, &body)) {
                Ok(bytes) => ("application/json", bytes),
                Err(bad) => {
                    let _ = s.engine.model_refused(result);
                    record(Outcome::Client4xx);
                    return SageMakerError::model(400, bad.0, &variant.name)
                        .into_response_with(&rid);
                }
            }
        }
        (None, None) => (
            "application/json",
            format!(
                "{{\"model\":\"{}\",\"variant\":\"{}\",\"bytes_received\":{}}}",
                variant.model,
                variant.name,
                body.len()
            )
            .into_bytes(),
        ),
    };
    record(Outcome::Ok);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&variant.name) {
        headers.insert(INVOKED_VARIANT, v);
    }
    if let Ok(v) = HeaderValue::from_str(&rid) {
        headers.insert(REQUEST_ID, v);
    }
    (StatusCode::OK, headers, answer).into_response()
}

/// What a model-server process answered.
struct ContainerAnswer {
    content_type: String,
    body: bytes::Bytes,
}

/// Most of a model server's answer that is kept (SageMaker's response
/// limit is 6 MB too).
const MAX_ANSWER_BYTES: usize = MAX_BODY_BYTES;

/// Forwards a started request to its instance's model server
/// (`POST /invocations`, or `POST /models/{name}/invoke` for a
/// multi-model container) and completes it in the platform.
async fn forward(
    s: Arc<AppState>,
    mut start: ServiceStart,
    model: Option<String>,
    content_type: String,
    body: bytes::Bytes,
) -> Option<(gameday_core::RequestResult, ContainerAnswer)> {
    loop {
        let port = s
            .ports
            .as_ref()
            .and_then(|p| p.lock().expect("ports lock").get(&start.instance).copied());
        let mut answer = ContainerAnswer {
            content_type: "application/json".into(),
            body: bytes::Bytes::new(),
        };
        let status = match port {
            None => {
                answer.body =
                    bytes::Bytes::from_static(b"the model server of this instance is not running");
                Err(502)
            }
            Some(port) => {
                let path = match &model {
                    Some(m) => format!("/models/{}/invoke", crate::container::path_segment(m)),
                    None => "/invocations".into(),
                };
                let mut req = axum::http::Request::post(format!("http://127.0.0.1:{port}{path}"))
                    .body(http_body_util::Full::new(body.clone()))
                    .expect("a valid request");
                if let Ok(ct) = HeaderValue::from_str(&content_type) {
                    req.headers_mut().insert(header::CONTENT_TYPE, ct);
                }
                if let Some(m) = model.as_deref().and_then(|m| HeaderValue::from_str(m).ok()) {
                    req.headers_mut().insert(crate::protocol::TARGET_MODEL, m);
                }
                let call = async {
                    let resp = s.client.request(req).await.map_err(|e| e.to_string())?;
                    let status = resp.status().as_u16();
                    let ct = resp
                        .headers()
                        .get(header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .map(String::from);
                    let limited = http_body_util::Limited::new(resp.into_body(), MAX_ANSWER_BYTES);
                    let bytes = limited
                        .collect()
                        .await
                        .map_err(|e| e.to_string())?
                        .to_bytes();
                    Ok::<_, String>((status, ct, bytes))
                };
                match tokio::time::timeout(s.invocation_timeout, call).await {
                    Ok(Ok((200, ct, bytes))) => {
                        if let Some(ct) = ct {
                            answer.content_type = ct;
                        }
                        answer.body = bytes;
                        Ok(())
                    }
                    Ok(Ok((status, _, bytes))) => {
                        answer.body = bytes;
                        Err(status)
                    }
                    Ok(Err(e)) => {
                        answer.body =
                            bytes::Bytes::from(format!("cannot reach the model server: {e}"));
                        Err(502)
                    }
                    Err(_) => Err(0),
                }
            }
        };
        match s.engine.complete(start, status).await.ok()? {
            Reply::Done(r) => return Some((r, answer)),
            // Sent back to wait for its model (a 404), then started again.
            Reply::Started(next) => start = next,
        }
    }
}
