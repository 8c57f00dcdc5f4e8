//! `hashsieve serve`: an HTTP lookup service that speaks the API of Meta's
//! Hasher-Matcher-Actioner (HMA), over memory-mapped lists, with hot reload.
//!
//! The server is a front end: matching, hashing and list checks are the library's. This module
//! holds the HTTP side: the connection loop (hyper, with header-read timeouts and graceful
//! shutdown), the middleware (API keys, request ids, logs, metrics, limits) and the signals.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use subtle::ConstantTimeEq;
use tower::ServiceBuilder;

mod api;
mod metrics;
mod state;

use api::ApiError;
use state::{Lists, LoadOptions, ReloadReport};

/// The OpenAPI document of this server, kept in the repository and served at `/openapi.json`.
pub(crate) const OPENAPI: &str = include_str!("openapi.json");

/// Serve lists over HTTP with HMA's lookup API (and a native batch API), reloading them when
/// their files change.
///
/// Binds 127.0.0.1:5100 by default. Requests need `Authorization: Bearer KEY` with a key from
/// `--api-keys` (or `--no-auth`); TLS belongs to a reverse proxy in front. SIGHUP reloads every
/// list; SIGTERM stops accepting and drains requests in flight.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// A list to serve (repeat for more). Its name (in its header) is the HMA bank name.
    #[arg(long = "list", value_name = "LIST", required = true)]
    lists: Vec<PathBuf>,
    /// Address and port to listen on. Anything but loopback exposes the service: put a TLS
    /// reverse proxy in front.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5100")]
    bind: SocketAddr,
    /// File of API keys, one per line (blank lines and `#` comments ignored; 16+ characters).
    #[arg(long, value_name = "FILE", required_unless_present = "no_auth")]
    api_keys: Option<PathBuf>,
    /// File of admin keys (same format), which may also call `POST /v1/reload`.
    #[arg(long, value_name = "FILE")]
    admin_keys: Option<PathBuf>,
    /// Serve without API keys (trusted networks only). `/v1/reload` still needs an admin key.
    #[arg(long, conflicts_with = "api_keys")]
    no_auth: bool,
    /// Inclusive Hamming threshold for every list (default: each kind's, PDQ 31 as HMA's).
    #[arg(long, value_parser = crate::args::threshold)]
    threshold: Option<u32>,
    /// The largest request body in bytes; larger ones are answered 413.
    #[arg(long, value_name = "BYTES", default_value = "33554432", value_parser = crate::args::positive_limit)]
    max_body: u64,
    /// Seconds a request may take, body included, before it is answered 503.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = crate::args::seconds)]
    timeout: f64,
    /// Seconds a client may take to send its headers, or between parts of its body, before
    /// the connection is closed (slow clients); also the idle keep-alive time.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = crate::args::seconds)]
    read_timeout: f64,
    /// Requests handled at once; more are answered 503 with `Retry-After` at once, not queued.
    #[arg(long, value_name = "N", default_value = "256", value_parser = crate::args::count)]
    max_concurrency: usize,
    /// Seconds between checks of the list files for a replaced inode or a new mtime.
    #[arg(long, value_name = "SECS", default_value = "2", value_parser = crate::args::seconds)]
    watch_interval: f64,
    /// Do not watch the list files (SIGHUP and `/v1/reload` still reload).
    #[arg(long)]
    no_watch: bool,
    /// Seconds to wait for requests in flight at SIGTERM before exiting anyway.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = crate::args::seconds)]
    drain_timeout: f64,
}

/// API keys, compared in constant time.
struct Keys {
    api: Vec<Vec<u8>>,
    admin: Vec<Vec<u8>>,
    open: bool,
}

/// Whether `presented` equals one of `keys`: every key is compared, each in constant time, so
/// the time taken does not say which bytes matched (only, at most, the keys' lengths).
fn key_matches(presented: &[u8], keys: &[Vec<u8>]) -> bool {
    let mut found = subtle::Choice::from(0);
    for key in keys {
        found |= presented.ct_eq(key);
    }
    found.into()
}

fn read_keys(path: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the key file {}", path.display()))?;
    let mut keys = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.len() < 16 || !line.bytes().all(|b| b.is_ascii_graphic()) {
            anyhow::bail!(
                "{} line {}: a key must be 16 or more printable characters without spaces",
                path.display(),
                n + 1
            );
        }
        keys.push(line.as_bytes().to_vec());
    }
    if keys.is_empty() {
        anyhow::bail!("{} holds no keys", path.display());
    }
    Ok(keys)
}

/// The state every handler shares.
#[derive(Clone)]
pub(crate) struct App {
    lists: Arc<Lists>,
    keys: Arc<Keys>,
    metrics: Arc<metrics::Metrics>,
    hasher: hashsieve::algo::Hasher,
    ids: Arc<RequestIds>,
}

/// Request ids: the server's start time and a counter, never anything the client sent.
struct RequestIds {
    prefix: String,
    next: AtomicU64,
}

impl RequestIds {
    fn next(&self) -> String {
        format!(
            "{}-{}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// Which key a route needs.
enum Access {
    Public,
    Api,
    Admin,
}

fn access(endpoint: &str) -> Access {
    match endpoint {
        "/status" | "/status/live" | "/openapi.json" | "/site-map" => Access::Public,
        "/v1/reload" => Access::Admin,
        _ => Access::Api,
    }
}

fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, key) = value.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case(b"bearer ").then_some(key)
}

fn authorize(keys: &Keys, endpoint: &str, headers: &HeaderMap) -> Result<(), Response> {
    let unauthorized = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing or unknown API key: send Authorization: Bearer KEY",
        )
        .with_header(header::WWW_AUTHENTICATE, "Bearer")
    };
    let presented = bearer(headers);
    match access(endpoint) {
        Access::Public => Ok(()),
        Access::Api if keys.open => Ok(()),
        Access::Api => match presented {
            Some(k) if key_matches(k, &keys.api) | key_matches(k, &keys.admin) => Ok(()),
            _ => Err(unauthorized()),
        },
        Access::Admin => match presented {
            Some(k) if key_matches(k, &keys.admin) => Ok(()),
            Some(k) if key_matches(k, &keys.api) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "reloading needs an admin key (or send the server SIGHUP)",
            )
            .into_response()),
            _ => Err(unauthorized()),
        },
    }
}

/// Per request: the key check, a request id, one log line and the metrics. The log names the
/// route template (`/m/raw_lookup`), never the query string, so no hash value is logged.
async fn guard(State(app): State<App>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let endpoint = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let method = req.method().clone();
    let id = app.ids.next();
    let mut response = match authorize(&app.keys, &endpoint, req.headers()) {
        Ok(()) => next.run(req).await,
        Err(r) => r,
    };
    response = json_errors(response);
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    let seconds = start.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    app.metrics.request(&endpoint, status, seconds);
    tracing::info!(
        request_id = %id,
        method = %method,
        endpoint = %endpoint,
        status,
        // Rounded to the microsecond: a float's 17 digits could read as a hash value.
        ms = (seconds * 1e6).round() / 1e3,
        "request"
    );
    response
}

/// Errors answered by the layers and extractors (413 from the body limit, 405, a body that
/// timed out) as `{"message": …}`, like every other error, keeping their headers.
fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is larger than the server's limit",
        StatusCode::METHOD_NOT_ALLOWED => "this endpoint does not take that method",
        StatusCode::REQUEST_TIMEOUT => "the request body did not arrive in time",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported content type",
        _ => status.canonical_reason().unwrap_or("error"),
    };
    let (parts, _) = response.into_parts();
    let mut fresh = ApiError::new(status, message).into_response();
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(v) = parts.headers.get(&name) {
            fresh.headers_mut().insert(name, v.clone());
        }
    }
    fresh
}

/// The metrics, for [`overloaded`] (a plain function: the outer error layer is built once
/// for the process).
static METRICS: std::sync::OnceLock<Arc<metrics::Metrics>> = std::sync::OnceLock::new();

/// The answers of the outer layers: 503 with `Retry-After` at the concurrency limit, 503 past
/// the per-request timeout.
fn overloaded(err: tower::BoxError) -> std::future::Ready<Response> {
    std::future::ready(overload_response(&err))
}

fn overload_response(err: &tower::BoxError) -> Response {
    if err.is::<tower::load_shed::error::Overloaded>() {
        if let Some(m) = METRICS.get() {
            m.shed();
        }
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is at its concurrency limit; retry later",
        )
        .with_header(header::RETRY_AFTER, "1")
    } else if err.is::<tower::timeout::error::Elapsed>() {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the request took longer than the server's per-request timeout",
        )
        .into_response()
    } else {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
    }
}

fn router(app: App, max_body: usize, read_timeout: Duration) -> Router {
    Router::new()
        .route("/m/raw_lookup", get(api::raw_lookup))
        .route("/m/lookup", get(api::lookup_get).post(api::lookup_post))
        .route("/m/compare", post(api::compare))
        .route("/m/index/status", get(api::index_status))
        .route("/h/hash", get(api::hash_get).post(api::hash_post))
        .route("/status", get(api::status))
        .route("/status/live", get(api::status))
        .route("/site-map", get(api::site_map))
        .route("/openapi.json", get(api::openapi))
        .route("/metrics", get(api::metrics))
        .route("/v1/match", post(api::match_batch))
        .route("/v1/match/ndjson", post(api::match_ndjson))
        .route("/v1/reload", post(api::reload))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "no such endpoint; see /site-map")
        })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(max_body))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            read_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

pub(crate) fn log_reload(app: &App, report: &ReloadReport, cause: &str) {
    app.metrics
        .reloaded(report.reloaded.len(), report.refused.len());
    for bank in &report.reloaded {
        tracing::info!(bank = %bank, cause, "list reloaded");
    }
    for r in &report.refused {
        tracing::error!(bank = %r.bank, cause, error = %r.error, "new list refused; the old one keeps serving");
    }
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
    let keys = Keys {
        api: match &args.api_keys {
            Some(p) => read_keys(p)?,
            None => Vec::new(),
        },
        admin: match &args.admin_keys {
            Some(p) => read_keys(p)?,
            None => Vec::new(),
        },
        open: args.no_auth,
    };
    let options = LoadOptions {
        threshold: args.threshold,
        matcher: hashsieve::matching::MatcherOptions::default(),
    };
    let load_start = Instant::now();
    let lists = Arc::new(Lists::open(args.lists.clone(), options)?);
    for bank in &lists.snapshot().banks {
        tracing::info!(bank = %bank.list.info.name, kind = %bank.list.info.kind, hashes = bank.list.info.len, version = %bank.list.info.version, "list loaded");
    }
    tracing::info!(
        seconds = (load_start.elapsed().as_secs_f64() * 1e3).round() / 1e3,
        "lists loaded"
    );
    let max_body = usize::try_from(args.max_body).unwrap_or(usize::MAX);
    let app = App {
        lists,
        keys: Arc::new(keys),
        metrics: Arc::new(metrics::Metrics::new()),
        hasher: hashsieve::algo::Hasher::new(),
        ids: Arc::new(RequestIds {
            prefix: format!(
                "{:x}",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            ),
            next: AtomicU64::new(1),
        }),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(rayon::current_num_threads())
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(app, args, max_body))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(app: App, args: Args, max_body: usize) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};

    let read_timeout = Duration::from_secs_f64(args.read_timeout);
    let _ = METRICS.set(Arc::clone(&app.metrics));
    let service = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(overloaded))
        .load_shed()
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            args.max_concurrency,
        ))
        .timeout(Duration::from_secs_f64(args.timeout))
        .service(router(app.clone(), max_body, read_timeout));

    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        tracing::warn!(addr = %addr, "listening beyond loopback: terminate TLS in a reverse proxy in front");
    }
    tracing::info!(addr = %addr, "listening");

    let mut sigterm = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut sigint = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut sighup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;

    let hup_app = app.clone();
    tokio::spawn(async move {
        while sighup.recv().await.is_some() {
            let report = hup_app.lists.reload(true).await;
            log_reload(&hup_app, &report, "SIGHUP");
        }
    });
    if !args.no_watch {
        let watch_app = app.clone();
        let interval = Duration::from_secs_f64(args.watch_interval);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let report = watch_app.lists.reload(false).await;
                log_reload(&watch_app, &report, "file changed");
            }
        });
    }

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let hyper_service = hyper_util::service::TowerToHyperService::new(service.clone());
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(read_timeout)
                    .serve_connection(TokioIo::new(stream), hyper_service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
        }
    }
    drop(listener);
    tracing::info!(
        connections = graceful.count(),
        "shutting down: draining requests in flight"
    );
    let drain = Duration::from_secs_f64(args.drain_timeout);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the drain timeout; exiting");
    } else {
        tracing::info!("drained; exiting");
    }
    Ok(())
}
