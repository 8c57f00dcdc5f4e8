//! The endpoints: HMA's (`/m/…`, `/h/…`, `/status`, `/site-map`, same paths, parameters and JSON
//! shapes as HMA's `OpenMediaMatch` blueprints) and the native ones (`/v1/…`).
//!
//! No error message carries a hash or image bytes: hex parse errors name the problem (length,
//! position of a bad digit), never the input, and an unknown signal type or content type is
//! not echoed either.

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Multipart, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hashsieve::matching::{MatchRecord, Query as MatchQuery};
use hashsieve::{HashKind, HashValue};
use serde_json::{json, Value};

use super::state::{content_id, unix_seconds, Bank, Snapshot};
use super::App;

/// The routes, for `/site-map` (sorted, as HMA's) and the OpenAPI test.
pub(crate) const ROUTES: &[&str] = &[
    "/h/hash",
    "/m/compare",
    "/m/index/status",
    "/m/lookup",
    "/m/raw_lookup",
    "/metrics",
    "/openapi.json",
    "/site-map",
    "/status",
    "/status/live",
    "/v1/match",
    "/v1/match/ndjson",
    "/v1/reload",
];

/// The most hashes one `/v1/match` request or NDJSON body may hold.
const MAX_BATCH: usize = 1_000_000;

/// An error answered as HMA's `ErrorResponse`: `{"message": …}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// The response, with one more header (`WWW-Authenticate`, `Retry-After`).
    pub(crate) fn with_header(self, name: HeaderName, value: &'static str) -> Response {
        let mut r = self.into_response();
        r.headers_mut()
            .insert(name, HeaderValue::from_static(value));
        r
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "message": self.message }))).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// Query parameters as pairs, extracted by each handler that reads them; a malformed query
/// string is a 400 that does not echo it.
pub(crate) struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Params> {
        match Query::<Vec<(String, String)>>::from_request_parts(parts, state).await {
            Ok(Query(pairs)) => Ok(Params(pairs)),
            Err(_) => Err(ApiError::bad_request("the query string is malformed")),
        }
    }
}

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn require(&self, name: &str) -> ApiResult<&str> {
        self.get(name)
            .ok_or_else(|| ApiError::bad_request(format!("{name} is required")))
    }

    /// A boolean as pydantic reads one (HMA's request models).
    fn flag(&self, name: &str) -> ApiResult<bool> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(false),
            Some("true" | "1" | "yes" | "on" | "t" | "y") => Ok(true),
            Some("false" | "0" | "no" | "off" | "f" | "n") => Ok(false),
            Some(_) => Err(ApiError::bad_request(format!(
                "{name} must be a boolean (true or false)"
            ))),
        }
    }

    /// `banks=A,B`: the banks to search (`None`: all).
    fn banks(&self) -> Option<HashSet<String>> {
        self.get("banks")
            .filter(|s| !s.is_empty())
            .map(|s| s.split(',').map(str::to_owned).collect())
    }
}

/// The hash kind a `signal_type` names, if this server serves it. The name is not echoed.
fn signal_kind(snap: &Snapshot, name: &str) -> ApiResult<HashKind> {
    let served = snap.kinds();
    match HashKind::from_str(name) {
        Ok(kind) if served.contains(&kind) => Ok(kind),
        _ => Err(ApiError::bad_request(format!(
            "no such signal type; this server serves: {}",
            served
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Parses a hash of `kind`; the message names the problem, never the text.
fn parse_signal(kind: HashKind, text: &str) -> ApiResult<HashValue> {
    kind.parse_hex(text.trim())
        .map_err(|e| ApiError::bad_request(format!("invalid signal: {e}")))
}

/// Every match of `query` in the banks of its kind (filtered by `banks`), bank by bank in
/// command-line order, each bank's matches in the library's order.
pub(crate) fn search(
    app: &App,
    snap: &Snapshot,
    query: &MatchQuery,
    banks: Option<&HashSet<String>>,
) -> Vec<(Arc<Bank>, MatchRecord)> {
    let mut out = Vec::new();
    for bank in &snap.banks {
        if bank.list.info.kind != query.kind
            || banks.is_some_and(|b| !b.contains(&bank.list.info.name))
        {
            continue;
        }
        let result = bank.matcher.query(query);
        let matches = result.matches();
        if !matches.is_empty() {
            app.metrics
                .matched(&bank.list.info.name, matches.len() as u64);
        }
        out.extend(matches.iter().map(|m| (Arc::clone(bank), m.clone())));
    }
    out
}

/// HMA's `MatchWithDistance`: the distance is a string (`pretty_str()` of the similarity).
fn hma_match(bank: &Bank, m: &MatchRecord) -> Value {
    json!({
        "bank_content_id": content_id(bank.ordinal, m.hash_index),
        "distance": m.distance.to_string(),
    })
}

/// `{"BANK": [MatchWithDistance…]}`: HMA's per-bank lookup result.
fn by_bank(matches: &[(Arc<Bank>, MatchRecord)]) -> Value {
    let mut out = serde_json::Map::new();
    for (bank, m) in matches {
        let entry = out
            .entry(bank.list.info.name.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            list.push(hma_match(bank, m));
        }
    }
    Value::Object(out)
}

/// `GET /m/raw_lookup`.
pub(crate) async fn raw_lookup(State(app): State<App>, p: Params) -> ApiResult<Json<Value>> {
    let snap = app.lists.snapshot();
    let kind = signal_kind(&snap, p.require("signal_type")?)?;
    let value = parse_signal(kind, p.require("signal")?)?;
    let include_distance = p.flag("include_distance")?;
    let found = search(
        &app,
        &snap,
        &MatchQuery::new(kind, value, None),
        p.banks().as_ref(),
    );
    let matches: Vec<Value> = found
        .iter()
        .map(|(bank, m)| {
            if include_distance {
                hma_match(bank, m)
            } else {
                json!(content_id(bank.ordinal, m.hash_index))
            }
        })
        .collect();
    Ok(Json(json!({ "matches": matches })))
}

/// `GET /m/lookup`: a hash in, matches by bank out. HMA's `url` form (fetch and hash) is not
/// offered: this server fetches nothing.
pub(crate) async fn lookup_get(State(app): State<App>, p: Params) -> ApiResult<Json<Value>> {
    if p.get("url").is_some() {
        return Err(ApiError::bad_request(
            "lookup by url is not supported: this server fetches nothing; POST the file to /m/lookup",
        ));
    }
    let (Some(signal), Some(signal_type)) = (p.get("signal"), p.get("signal_type")) else {
        return Err(ApiError::bad_request(
            "Either url or both signal and signal_type are required",
        ));
    };
    let snap = app.lists.snapshot();
    let kind = signal_kind(&snap, signal_type)?;
    let value = parse_signal(kind, signal)?;
    let found = search(
        &app,
        &snap,
        &MatchQuery::new(kind, value, None),
        p.banks().as_ref(),
    );
    Ok(Json(by_bank(&found)))
}

/// The uploaded file of a multipart form: exactly one, in a field named after its content type
/// (HMA's form: `photo`). Bytes stay in memory and are dropped after hashing.
async fn one_upload(form: Result<Multipart, MultipartRejection>) -> ApiResult<Bytes> {
    let Ok(mut form) = form else {
        return Err(ApiError::bad_request(
            "Missing multipart/form-data file upload",
        ));
    };
    let mut file: Option<Bytes> = None;
    let mut refusal: Option<&'static str> = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(multipart_error(e)),
        };
        // A plain form value (no file name) is not a file: HMA reads only `request.files`.
        let is_file = field.file_name().is_some();
        let problem = match (is_file, field.name()) {
            (false, _) => None,
            _ if file.is_some() => Some("Only one file allowed per request"),
            (true, Some("photo")) => None,
            (true, Some("video")) => {
                Some("content_type video is not supported by this server; upload a photo")
            }
            (true, _) => Some("no such content_type; name the file field photo"),
        };
        // Every field is read to its end, a refused one too (the body cap bounds it), so that a
        // client still sending gets the answer instead of a connection closed under it.
        let bytes = field.bytes().await.map_err(multipart_error)?;
        match problem {
            Some(message) => {
                refusal.get_or_insert(message);
            }
            None if is_file => file = Some(bytes),
            None => {}
        }
    }
    if let Some(message) = refusal {
        return Err(ApiError::bad_request(message));
    }
    file.ok_or_else(|| ApiError::bad_request("Missing multipart/form-data file upload"))
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    ApiError {
        status: e.status(),
        message: format!("cannot read the multipart form: {}", e.body_text()),
    }
}

/// The kinds to hash an upload with: `types=a,b` (HMA's parameter) or every kind served.
fn upload_kinds(snap: &Snapshot, p: &Params) -> ApiResult<Vec<HashKind>> {
    let Some(types) = p.get("types") else {
        return Ok(snap.kinds());
    };
    let mut kinds = Vec::new();
    for name in types.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let kind = signal_kind(snap, name)?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if kinds.is_empty() {
        return Err(ApiError::bad_request("empty signal type selection"));
    }
    Ok(kinds)
}

/// Decodes and hashes an upload on a blocking thread, within the decoding limits.
async fn hash_upload(
    app: &App,
    bytes: Bytes,
    kinds: Vec<HashKind>,
) -> ApiResult<Vec<hashsieve::HashOutput>> {
    let hasher = app.hasher.clone();
    let result = tokio::task::spawn_blocking(move || hasher.hash_bytes(&bytes, &kinds))
        .await
        .map_err(|_| ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "the hashing task failed".into(),
        })?;
    result.map_err(|e| ApiError::bad_request(format!("cannot hash the file: {e}")))
}

/// `POST /h/hash`: `{"pdq": "…hex…", …}` for the uploaded image.
pub(crate) async fn hash_post(
    State(app): State<App>,
    p: Params,
    form: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<Value>> {
    let kinds = upload_kinds(&app.lists.snapshot(), &p)?;
    let bytes = one_upload(form).await?;
    let outputs = hash_upload(&app, bytes, kinds).await?;
    let mut out = serde_json::Map::new();
    for o in outputs {
        out.insert(o.kind.name().to_owned(), Value::String(o.value.to_hex()));
    }
    Ok(Json(Value::Object(out)))
}

/// `GET /h/hash`: HMA fetches `url`; this server fetches nothing.
pub(crate) async fn hash_get() -> ApiError {
    ApiError::bad_request(
        "hashing by url is not supported: this server fetches nothing; POST the file to /h/hash",
    )
}

/// `POST /m/lookup`: `{"pdq": {"BANK": [MatchWithDistance…]}, …}` for the uploaded image.
/// The library's quality gate applies: a PDQ hash of quality below 50 (a flat or tiny image)
/// is not searched and answers no banks, with `X-Hashsieve-Skipped: low-quality`.
pub(crate) async fn lookup_post(
    State(app): State<App>,
    p: Params,
    form: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let snap = app.lists.snapshot();
    let kinds = upload_kinds(&snap, &p)?;
    let banks = p.banks();
    let bytes = one_upload(form).await?;
    let outputs = hash_upload(&app, bytes, kinds).await?;
    let mut out = serde_json::Map::new();
    let mut skipped = false;
    for o in outputs {
        let query = MatchQuery::new(o.kind, o.value, o.quality);
        skipped |= snap.banks.iter().any(|b| {
            b.list.info.kind == o.kind
                && matches!(
                    b.matcher
                        .query(&MatchQuery::new(o.kind, o.value, o.quality)),
                    hashsieve::matching::QueryResult::Skipped(_)
                )
        });
        let found = search(&app, &snap, &query, banks.as_ref());
        out.insert(o.kind.name().to_owned(), by_bank(&found));
    }
    let mut response = Json(Value::Object(out)).into_response();
    if skipped {
        response.headers_mut().insert(
            "x-hashsieve-skipped",
            header::HeaderValue::from_static("low-quality"),
        );
    }
    Ok(response)
}

/// `POST /m/compare`: `{"pdq": [a, b]}` → `{"pdq": [matched, {"distance": d}]}`.
pub(crate) async fn compare(
    State(app): State<App>,
    body: Result<Json<Value>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Ok(Json(Value::Object(request))) = body else {
        return Err(ApiError::bad_request("Request input was not a dict"));
    };
    let snap = app.lists.snapshot();
    let mut out = serde_json::Map::new();
    for (name, pair) in request {
        let kind = signal_kind(&snap, &name)?;
        let Value::Array(pair) = pair else {
            return Err(ApiError::bad_request(format!(
                "Comparison hashes for {} was not a list",
                kind.name()
            )));
        };
        if pair.len() != 2 {
            return Err(ApiError::bad_request(
                "Comparison hash list length must be exactly 2",
            ));
        }
        let hex = |v: &Value| -> ApiResult<HashValue> {
            let s = v.as_str().ok_or_else(|| {
                ApiError::bad_request(format!("Invalid {} hash: not a string", kind.name()))
            })?;
            kind.parse_hex(s.trim())
                .map_err(|e| ApiError::bad_request(format!("Invalid {} hash: {e}", kind.name())))
        };
        let (a, b) = (hex(&pair[0])?, hex(&pair[1])?);
        let distance = a.distance(&b).unwrap_or(u32::MAX);
        let threshold = snap
            .banks
            .iter()
            .find(|b| b.list.info.kind == kind)
            .map_or(kind.default_threshold(), |b| b.list.info.threshold);
        out.insert(
            kind.name().to_owned(),
            json!([distance <= threshold, { "distance": distance }]),
        );
    }
    Ok(Json(Value::Object(out)))
}

/// `GET /m/index/status`: HMA's `{"pdq": {"built_to", "present", "size"}}` per signal type,
/// plus `banks`: each list's version, entry counts, digest and load time.
pub(crate) async fn index_status(State(app): State<App>, p: Params) -> ApiResult<Json<Value>> {
    let snap = app.lists.snapshot();
    let kinds = match p.get("signal_type") {
        Some(name) => vec![signal_kind(&snap, name)?],
        None => snap.kinds(),
    };
    let mut out = serde_json::Map::new();
    for kind in kinds {
        let banks: Vec<&Arc<Bank>> = snap
            .banks
            .iter()
            .filter(|b| b.list.info.kind == kind)
            .collect();
        let mut detail = serde_json::Map::new();
        for b in &banks {
            detail.insert(
                b.list.info.name.clone(),
                json!({
                    "version": b.list.info.version,
                    "size": b.list.info.len,
                    "entries": b.list.entries,
                    "threshold": b.list.info.threshold,
                    "digest": format!("crc32c:{}", b.list.crc32c),
                    "created": b.created,
                    "loaded_at": unix_seconds(b.loaded_at),
                    "path": b.list.path.display().to_string(),
                }),
            );
        }
        out.insert(
            kind.name().to_owned(),
            json!({
                "present": true,
                "built_to": banks.iter().map(|b| b.created).max().unwrap_or(0),
                "size": banks.iter().map(|b| b.list.info.len).sum::<usize>(),
                "banks": detail,
            }),
        );
    }
    Ok(Json(Value::Object(out)))
}

/// `GET /status` and `/status/live`: HMA's liveness answer (lists are loaded before the
/// server listens, so it is always ready).
pub(crate) async fn status() -> &'static str {
    "I-AM-ALIVE"
}

/// `GET /site-map`.
pub(crate) async fn site_map() -> Json<&'static [&'static str]> {
    Json(ROUTES)
}

/// `GET /openapi.json`: the document kept in the repository.
pub(crate) async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], super::OPENAPI).into_response()
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(app): State<App>) -> Response {
    let snap = app.lists.snapshot();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.render(&snap),
    )
        .into_response()
}

/// A native match record: what the library reports, with HMA's content id.
fn native_match(bank: &Bank, m: &MatchRecord) -> Value {
    json!({
        "bank": bank.list.info.name,
        "list_version": m.list_version,
        "bank_content_id": content_id(bank.ordinal, m.hash_index),
        "hash_index": m.hash_index,
        "entry_ids": m.entry_ids,
        "categories": m.categories,
        "distance": m.distance,
        "threshold": m.threshold,
        "orientation": m.orientation.map(|o| o.name()),
    })
}

/// `POST /v1/match`: `{"signal_type": "pdq", "hashes": [hex…], "banks": [..]}` (or a bare
/// array of PDQ hashes) → `{"results": [{"matches": […]}, …]}` in input order.
pub(crate) async fn match_batch(
    State(app): State<App>,
    body: Result<Json<Value>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let body = match body {
        Ok(Json(v)) => v,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(ApiError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                message: "the request body is larger than the server's limit".into(),
            })
        }
        Err(_) => {
            return Err(ApiError::bad_request(
                "the body must be JSON: {\"signal_type\": \"pdq\", \"hashes\": [\"…\"]}",
            ))
        }
    };
    let (signal_type, hashes, banks) = match body {
        Value::Array(hashes) => ("pdq".to_owned(), hashes, None),
        Value::Object(mut o) => {
            let signal_type = match o.remove("signal_type") {
                None => "pdq".to_owned(),
                Some(Value::String(s)) => s,
                Some(_) => return Err(ApiError::bad_request("signal_type must be a string")),
            };
            let Some(Value::Array(hashes)) = o.remove("hashes") else {
                return Err(ApiError::bad_request(
                    "hashes must be an array of hex strings",
                ));
            };
            let banks = match o.remove("banks") {
                None | Some(Value::Null) => None,
                Some(Value::Array(b)) => Some(
                    b.iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect::<Option<HashSet<String>>>()
                        .ok_or_else(|| ApiError::bad_request("banks must be strings"))?,
                ),
                Some(_) => return Err(ApiError::bad_request("banks must be an array")),
            };
            (signal_type, hashes, banks)
        }
        _ => {
            return Err(ApiError::bad_request(
                "the body must be a JSON object or array",
            ))
        }
    };
    if hashes.len() > MAX_BATCH {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_BATCH} hashes per request"
        )));
    }
    let snap = app.lists.snapshot();
    let kind = signal_kind(&snap, &signal_type)?;
    let mut queries = Vec::with_capacity(hashes.len());
    for (i, h) in hashes.iter().enumerate() {
        let s = h
            .as_str()
            .ok_or_else(|| ApiError::bad_request(format!("hashes[{i}] is not a string")))?;
        let value = kind
            .parse_hex(s.trim())
            .map_err(|e| ApiError::bad_request(format!("hashes[{i}]: {e}")))?;
        queries.push(MatchQuery::new(kind, value, None));
    }
    let results = tokio::task::spawn_blocking(move || batch(&app, &snap, kind, &queries, banks))
        .await
        .map_err(|_| ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "the matching task failed".into(),
        })?;
    Ok(Json(json!({ "results": results })))
}

/// Matches a batch against every bank of `kind` (the library's parallel batch per bank).
fn batch(
    app: &App,
    snap: &Snapshot,
    kind: HashKind,
    queries: &[MatchQuery],
    banks: Option<HashSet<String>>,
) -> Vec<Value> {
    let mut per_query: Vec<Vec<Value>> = vec![Vec::new(); queries.len()];
    for bank in &snap.banks {
        if bank.list.info.kind != kind
            || banks
                .as_ref()
                .is_some_and(|b| !b.contains(&bank.list.info.name))
        {
            continue;
        }
        let mut n = 0u64;
        for (slot, result) in per_query.iter_mut().zip(bank.matcher.query_batch(queries)) {
            n += result.matches().len() as u64;
            slot.extend(result.matches().iter().map(|m| native_match(bank, m)));
        }
        if n > 0 {
            app.metrics.matched(&bank.list.info.name, n);
        }
    }
    per_query
        .into_iter()
        .map(|m| json!({ "matches": m }))
        .collect()
}

/// `POST /v1/match/ndjson?signal_type=pdq`: one hash per line (a hex string, bare or as a JSON
/// string), one JSON line out per line in: `{"line": n, "matches": […]}` or
/// `{"line": n, "error": "…"}`. Lines are matched in chunks and the answer streams out as each
/// chunk is done.
pub(crate) async fn match_ndjson(
    State(app): State<App>,
    // A `Result`, so that a body the server refuses is answered before a bad query string.
    q: Result<Params, ApiError>,
    body: Bytes,
) -> ApiResult<Response> {
    const CHUNK: usize = 4096;
    let p = q?;
    let snap = app.lists.snapshot();
    let kind = signal_kind(&snap, p.get("signal_type").unwrap_or("pdq"))?;
    let banks = p.banks();
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("the body is not UTF-8 text"))?;
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.trim().trim_matches('"').to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() > MAX_BATCH {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_BATCH} hashes per request"
        )));
    }
    let lines = Arc::new(lines);
    let stream = futures_util::stream::unfold(0usize, move |start| {
        let (app, snap, lines, banks) = (
            app.clone(),
            Arc::clone(&snap),
            Arc::clone(&lines),
            banks.clone(),
        );
        async move {
            if start >= lines.len() {
                return None;
            }
            let end = (start + CHUNK).min(lines.len());
            let chunk = tokio::task::spawn_blocking(move || {
                let mut queries = Vec::new();
                let mut slots: Vec<Result<usize, String>> = Vec::new();
                for line in &lines[start..end] {
                    match kind.parse_hex(line) {
                        Ok(v) => {
                            slots.push(Ok(queries.len()));
                            queries.push(MatchQuery::new(kind, v, None));
                        }
                        Err(e) => slots.push(Err(e.to_string())),
                    }
                }
                let results = batch(&app, &snap, kind, &queries, banks);
                let mut out = Vec::new();
                for (i, slot) in slots.into_iter().enumerate() {
                    let line = start + i + 1;
                    let v = match slot {
                        Ok(q) => json!({ "line": line, "matches": results[q]["matches"].clone() }),
                        Err(e) => json!({ "line": line, "error": e }),
                    };
                    // Serialising a `Value` cannot fail.
                    let _ = serde_json::to_writer(&mut out, &v);
                    out.push(b'\n');
                }
                out
            })
            .await
            .unwrap_or_default();
            Some((Ok::<_, std::io::Error>(Bytes::from(chunk)), end))
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(stream),
    )
        .into_response())
}

/// `POST /v1/reload` (admin key): reloads every list now, as SIGHUP does.
pub(crate) async fn reload(State(app): State<App>) -> Response {
    let report = app.lists.reload(true).await;
    super::log_reload(&app, &report, "admin request");
    let status = if report.refused.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CONFLICT
    };
    (status, Json(json!(report))).into_response()
}
