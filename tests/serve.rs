//! `hashsieve serve`: the real binary on an ephemeral loopback port, called with a real HTTP
//! client. Answers are checked against a brute-force scan and the library's `Matcher`; HMA's
//! response shapes; keys, limits, reload, faults and shutdown.

#![cfg(feature = "serve")]

use crate::common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::xorshift::XorShift;
use hashsieve::list::EntryMeta;
use hashsieve::matching::{ListOptions, Matcher, Query};
use hashsieve::{Hash256, HashKind, HashList, ListBuilder};
use serde_json::{json, Value};

const KEY: &str = "test-api-key-0123456789";
const ADMIN: &str = "test-admin-key-0123456789";

/// A running server; killed when dropped.
struct Server {
    child: Child,
    base: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `hashsieve serve --bind 127.0.0.1:0 ARGS` and waits (at most 60 s) for its
    /// "listening" log line, which names the port.
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(common::cmd::bin())
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hashsieve serve");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("\"listening\"") {
                    let v: Value = serde_json::from_str(&line).unwrap();
                    let _ = tx.send(v["addr"].as_str().unwrap().to_owned());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!("the server did not start: {:?}", log.lock().unwrap());
            }
        };
        Server {
            child,
            base: format!("http://{addr}"),
            log,
        }
    }

    /// [`Server::start`] with `--api-keys` (holding [`KEY`]) and `--admin-keys` (holding
    /// [`ADMIN`]), written into `dir`, before `args`.
    fn start_with_keys(dir: &Path, args: &[&str]) -> Server {
        let (api, admin) = (dir.join("api.keys"), dir.join("admin.keys"));
        std::fs::write(&api, format!("# API keys\n{KEY}\n")).unwrap();
        std::fs::write(&admin, format!("{ADMIN}\n")).unwrap();
        let mut all = vec!["--api-keys", p(&api), "--admin-keys", p(&admin)];
        all.extend_from_slice(args);
        Server::start(&all)
    }

    fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Whether the log shows `text` within 10 s: a reload is served before its log line is
    /// written, so a test that saw its effect may read the log a moment too early.
    fn log_shows(&self, text: &str) -> bool {
        for _ in 0..100 {
            if self.log_text().contains(text) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
}

/// Status and body of a response, whatever its status.
fn call(req: ureq::Request, body: Option<(&str, Vec<u8>)>) -> (u16, Vec<u8>) {
    let req = req.set("Authorization", &format!("Bearer {KEY}"));
    let result = match body {
        Some((ctype, bytes)) => req.set("Content-Type", ctype).send_bytes(&bytes),
        None => req.call(),
    };
    let resp = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = resp.status();
    let mut out = Vec::new();
    resp.into_reader().read_to_end(&mut out).unwrap();
    (status, out)
}

fn get(s: &Server, path: &str) -> (u16, Value) {
    let (status, body) = call(agent().get(&s.url(path)), None);
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn post_json(s: &Server, path: &str, body: &Value) -> (u16, Value) {
    let (status, out) = call(
        agent().post(&s.url(path)),
        Some(("application/json", serde_json::to_vec(body).unwrap())),
    );
    (status, serde_json::from_slice(&out).unwrap_or(Value::Null))
}

fn multipart(field: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "hashsieve-test-boundary-7d3f";
    let mut body = Vec::new();
    write!(
        body,
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"x.png\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .unwrap();
    body.extend_from_slice(bytes);
    write!(body, "\r\n--{boundary}--\r\n").unwrap();
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_raw(w, h, common::crafted::photo_rgb(w, h)).unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn flip(h: Hash256, bits: &[usize]) -> Hash256 {
    let mut h = h;
    for &b in bits {
        let v = h.bit(b);
        h.set_bit(b, !v);
    }
    h
}

/// Writes a PDQ list named `name` holding `hashes` (entry ids `e{i}`) to `path`, atomically.
fn write_list(path: &Path, name: &str, version: &str, hashes: &[Hash256]) {
    let mut b = ListBuilder::new(HashKind::Pdq).name(name).version(version);
    for (i, h) in hashes.iter().enumerate() {
        b.add(*h, EntryMeta::new(&format!("e{i}"))).unwrap();
    }
    b.write(path).unwrap();
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Random hashes, plus near copies of some of them so that queries find several matches.
fn hashes(seed: u64, n: usize) -> Vec<Hash256> {
    let mut rng = XorShift(seed);
    let mut out: Vec<Hash256> = (0..n).map(|_| rng.hash256()).collect();
    for i in 0..n / 10 {
        let bits: Vec<usize> = (0..(i % 40)).map(|_| (rng.next() % 256) as usize).collect();
        out.push(flip(out[i], &bits));
    }
    out
}

/// A temporary directory holding `a.hsl`, the list `bank_a` of `hashes(seed, n)` at `version`.
fn bank_a(seed: u64, n: usize, version: &str) -> (tempfile::TempDir, PathBuf, Vec<Hash256>) {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("a.hsl");
    let hs = hashes(seed, n);
    write_list(&list, "bank_a", version, &hs);
    (dir, list, hs)
}

/// The oracle: every position of `list` within `threshold` of `q`, by brute force.
fn brute(list: &HashList<Vec<u8>>, q: Hash256, threshold: u32) -> Vec<(usize, u32)> {
    list.hashes256()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, h)| (i, h.distance(&q)))
        .filter(|&(_, d)| d <= threshold)
        .collect()
}

#[test]
fn lookups_equal_brute_force_and_the_matcher() {
    let dir = tempfile::tempdir().unwrap();
    let (la, lb) = (dir.path().join("a.hsl"), dir.path().join("b.hsl"));
    let (ha, hb) = (hashes(1, 600), hashes(2, 400));
    write_list(&la, "bank_a", "1", &ha);
    // Bank B shares some hashes with A, so one query matches in both.
    let mut hb2 = hb.clone();
    hb2.extend_from_slice(&ha[..20]);
    write_list(&lb, "bank_b", "1", &hb2);
    let s = Server::start(&["--no-auth", "--list", p(&la), "--list", p(&lb)]);
    let lists = [HashList::read(&la).unwrap(), HashList::read(&lb).unwrap()];
    let matcher = Matcher::new();
    matcher
        .add_list(HashList::read(&la).unwrap(), ListOptions::default())
        .unwrap();
    matcher
        .add_list(HashList::read(&lb).unwrap(), ListOptions::default())
        .unwrap();

    let mut rng = XorShift(3);
    let mut queries: Vec<Hash256> = Vec::new();
    for k in [0usize, 1, 5, 15, 25, 30, 31, 32, 33, 40, 64] {
        let bits: Vec<usize> = (0..k).map(|i| (i * 7 + 3) % 256).collect();
        queries.push(flip(ha[k], &bits));
        queries.push(flip(hb[k], &bits));
    }
    queries.extend((0..10).map(|_| rng.hash256()));
    let mut total = 0;
    let batch: Vec<String> = queries.iter().map(|q| q.to_string()).collect();
    let (status, native) = post_json(
        &s,
        "/v1/match",
        &json!({"signal_type": "pdq", "hashes": batch}),
    );
    assert_eq!(status, 200, "{native}");
    let (status, ndjson) = call(
        agent().post(&s.url("/v1/match/ndjson?signal_type=pdq")),
        Some(("application/x-ndjson", batch.join("\n").into_bytes())),
    );
    assert_eq!(status, 200);
    let ndjson: Vec<Value> = String::from_utf8(ndjson)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(ndjson.len(), queries.len());

    for (qi, q) in queries.iter().enumerate() {
        // The oracle, as HMA content ids: bank ordinal * 2^40 + position.
        let mut expected = BTreeSet::new();
        for (ordinal, list) in lists.iter().enumerate() {
            for (pos, d) in brute(list, *q, 31) {
                expected.insert((((ordinal as u64) << 40) | pos as u64, d.to_string()));
            }
        }
        total += expected.len();
        let got: BTreeSet<(u64, String)> = ids(&s, *q)
            .unwrap_or_else(|e| panic!("query {qi}: {e}"))
            .into_iter()
            .collect();
        assert_eq!(got, expected, "query {qi}");

        // The library's Matcher gives the same (list, position, distance) records.
        let lib: BTreeSet<(String, usize, u32)> = matcher
            .query(&Query::new(HashKind::Pdq, *q, None))
            .matches()
            .iter()
            .map(|m| (m.list.clone(), m.hash_index, m.distance))
            .collect();
        let native_set: BTreeSet<(String, usize, u32)> = native["results"][qi]["matches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["bank"].as_str().unwrap().to_owned(),
                    m["hash_index"].as_u64().unwrap() as usize,
                    m["distance"].as_u64().unwrap() as u32,
                )
            })
            .collect();
        assert_eq!(native_set, lib, "query {qi}");
        assert_eq!(lib.len(), expected.len());
        assert_eq!(ndjson[qi]["line"], json!(qi + 1));
        assert_eq!(ndjson[qi]["matches"], native["results"][qi]["matches"]);

        // Without distances: the ids alone. Restricted to a bank: that bank's share.
        let (_, ids) = get(&s, &format!("/m/raw_lookup?signal_type=pdq&signal={q}"));
        let ids: BTreeSet<u64> = ids["matches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(ids, expected.iter().map(|(id, _)| *id).collect());
        let (_, only_b) = get(
            &s,
            &format!("/m/lookup?signal_type=pdq&signal={q}&banks=bank_b"),
        );
        let in_b = expected.iter().filter(|(id, _)| id >> 40 == 1).count();
        assert_eq!(
            only_b
                .get("bank_b")
                .map_or(0, |v| v.as_array().unwrap().len()),
            in_b
        );
        assert!(only_b.get("bank_a").is_none());
    }
    // The near copies within the threshold match (in A, and in B for A's first 20 hashes).
    assert!(total >= 15, "the queries found matches ({total})");
}

#[test]
fn hma_shapes_and_documents() {
    let (_dir, list, hs) = bank_a(5, 50, "v7");
    let s = Server::start(&["--no-auth", "--list", p(&list)]);

    let (status, v) = get(&s, &format!("/m/lookup?signal_type=pdq&signal={}", hs[3]));
    assert_eq!(status, 200);
    let bank = v["bank_a"].as_array().unwrap();
    let pos = HashList::read(&list).unwrap().position(hs[3]).unwrap();
    assert!(
        bank.iter()
            .any(|m| m == &json!({"bank_content_id": pos, "distance": "0"})),
        "{v}"
    );

    let (_, v) = get(&s, "/m/index/status");
    assert_eq!(v["pdq"]["present"], json!(true));
    assert_eq!(
        v["pdq"]["size"].as_u64(),
        Some(HashList::read(&list).unwrap().len() as u64)
    );
    assert!(v["pdq"]["built_to"].is_u64());
    let b = &v["pdq"]["banks"]["bank_a"];
    assert_eq!(b["version"], json!("v7"));
    assert_eq!(
        b["digest"],
        json!(format!(
            "crc32c:{:08x}",
            crc32c::crc32c(&std::fs::read(&list).unwrap())
        ))
    );
    assert!(b["loaded_at"].as_f64().unwrap() > 1.0e9);

    let (_, v) = post_json(
        &s,
        "/m/compare",
        &json!({"pdq": [hs[0].to_string(), flip(hs[0], &[1, 2, 3]).to_string()]}),
    );
    assert_eq!(v, json!({"pdq": [true, {"distance": 3}]}));

    let (status, body) = call(agent().get(&s.url("/status")), None);
    assert_eq!((status, body.as_slice()), (200, &b"I-AM-ALIVE"[..]));

    // /site-map lists exactly the paths of the OpenAPI document, which is the one in the repo.
    let (_, doc) = get(&s, "/openapi.json");
    let repo: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bin/hashsieve/serve/openapi.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(doc, repo);
    let (_, map) = get(&s, "/site-map");
    let routes: Vec<&str> = map
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut sorted = routes.clone();
    sorted.sort();
    assert_eq!(routes, sorted);
    let documented: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        routes.iter().copied().collect::<BTreeSet<_>>(),
        documented.into_iter().collect()
    );

    // Metrics count the requests above, by route, with no query string anywhere.
    let (status, metrics) = call(agent().get(&s.url("/metrics")), None);
    assert_eq!(status, 200);
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(metrics.contains("endpoint=\"/m/lookup\""), "{metrics}");
    assert!(
        metrics.contains("hashsieve_matches_total{list=\"bank_a\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("hashsieve_list_age_seconds{list=\"bank_a\"}"),
        "{metrics}"
    );
    // (Float sums in the metrics may run to 17 digits; look for the hashes themselves.)
    for h in &hs {
        assert!(!metrics.contains(&h.to_string()[..16]));
    }
    assert_no_hex(&s.log_text());
}

/// No run of 16 or more hex digits (a hash value) in `text`.
fn assert_no_hex(text: &str) {
    let mut run = 0;
    for c in text.chars() {
        run = if c.is_ascii_hexdigit() { run + 1 } else { 0 };
        assert!(run < 16, "a hash-like value in: {text}");
    }
}

#[test]
fn images_hash_in_memory_and_look_up() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("a.hsl");
    let img = png(640, 480);
    let out = hashsieve::algo::Hasher::new()
        .hash_bytes(&img, &[HashKind::Pdq])
        .unwrap();
    let pdq = Hash256::try_from(out[0].value).unwrap();
    let mut hs = hashes(9, 30);
    hs.push(flip(pdq, &[10, 20]));
    write_list(&list, "bank_a", "1", &hs);
    let s = Server::start(&["--no-auth", "--list", p(&list)]);

    let (ctype, body) = multipart("photo", &img);
    let (status, v) = call(
        agent().post(&s.url("/h/hash")),
        Some((&ctype, body.clone())),
    );
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&v).unwrap();
    assert_eq!(v, json!({"pdq": pdq.to_string()}));

    let (status, v) = call(agent().post(&s.url("/m/lookup")), Some((&ctype, body)));
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&v).unwrap();
    let pos = HashList::read(&list)
        .unwrap()
        .position(flip(pdq, &[10, 20]))
        .unwrap();
    assert_eq!(
        v,
        json!({"pdq": {"bank_a": [{"bank_content_id": pos, "distance": "2"}]}})
    );

    // An image bomb (a PNG header claiming 100000 x 100000 pixels) is refused within the limits.
    let bomb = common::crafted::png_header(100_000, 100_000, 2);
    let (ctype, body) = multipart("photo", &bomb);
    let (status, v) = call(agent().post(&s.url("/h/hash")), Some((&ctype, body)));
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&v));
    // Two files, or a field that is not a photo: 400.
    let (ctype, body) = multipart("video", &img);
    assert_eq!(
        call(agent().post(&s.url("/h/hash")), Some((&ctype, body))).0,
        400
    );
    assert_eq!(
        call(
            agent().post(&s.url("/h/hash")),
            Some(("multipart/form-data; boundary=x", b"--x--\r\n".to_vec()))
        )
        .0,
        400
    );
}

#[test]
fn keys_limits_and_bad_input() {
    let (dir, list, hs) = bank_a(11, 20, "1");
    let s = Server::start_with_keys(dir.path(), &["--max-body", "4096", "--list", p(&list)]);
    let path = format!("/m/raw_lookup?signal_type=pdq&signal={}", hs[0]);
    let status_with = |key: Option<&str>| {
        let mut req = agent().get(&s.url(&path));
        if let Some(k) = key {
            req = req.set("Authorization", &format!("Bearer {k}"));
        }
        match req.call() {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(c, _)) => c,
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(status_with(None), 401);
    assert_eq!(status_with(Some("test-api-key-0123456788")), 401);
    assert_eq!(status_with(Some(&KEY[..KEY.len() - 1])), 401);
    assert_eq!(status_with(Some(KEY)), 200);
    assert_eq!(status_with(Some(ADMIN)), 200);
    assert_eq!(agent().get(&s.url("/status")).call().unwrap().status(), 200);
    // Reload needs the admin key.
    assert_eq!(post_json(&s, "/v1/reload", &json!({})).0, 403);
    assert_eq!(admin_reload(&s), 200);

    // Bodies over the cap: 413, with or without a length up front.
    let big: Vec<String> = (0..200).map(|_| hs[0].to_string()).collect();
    assert_eq!(post_json(&s, "/v1/match", &json!(big)).0, 413);
    // Just over the cap, and small enough for the socket buffers: the server answers 413 without
    // reading the body, and a client that had not finished writing it would see a broken pipe
    // instead of the answer.
    let (ctype, body) = multipart("photo", &[0u8; 6000]);
    assert!(body.len() > 4096);
    assert_eq!(
        call(agent().post(&s.url("/h/hash")), Some((&ctype, body))).0,
        413
    );

    // Bad hex and unknown signal types: 400, and the text is not echoed.
    let secret = "ab".repeat(31) + "zz";
    for (path, needle) in [
        (
            format!("/m/raw_lookup?signal_type=pdq&signal={secret}"),
            secret.clone(),
        ),
        (
            format!("/m/raw_lookup?signal_type=pdq&signal={}", "c".repeat(70)),
            "c".repeat(70),
        ),
        (
            format!(
                "/m/raw_lookup?signal_type={}&signal={}",
                "d".repeat(40),
                hs[0]
            ),
            "d".repeat(40),
        ),
        (
            format!("/m/lookup?signal_type=pdq&signal={secret}"),
            secret.clone(),
        ),
        (
            "/m/raw_lookup?signal_type=pdq".to_owned(),
            "signal is required".to_owned(),
        ),
        (
            format!(
                "/m/raw_lookup?signal_type=pdq&signal={}&include_distance=maybe",
                hs[0]
            ),
            "maybe".to_owned(),
        ),
    ] {
        let (status, body) = call(agent().get(&s.url(&path)), None);
        let body = String::from_utf8(body).unwrap();
        assert_eq!(status, 400, "{path}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let message = v["message"].as_str().unwrap();
        if needle == "signal is required" {
            assert_eq!(message, needle);
        } else {
            assert!(!message.contains(&needle), "{message}");
        }
    }
    let (status, v) = post_json(
        &s,
        "/v1/match",
        &json!({"hashes": [hs[0].to_string(), secret]}),
    );
    assert_eq!(status, 400);
    assert!(
        v["message"].as_str().unwrap().starts_with("hashes[1]"),
        "{v}"
    );
    assert!(!v.to_string().contains("abababababababab"));
    assert_no_hex(&s.log_text());
}

/// Sends the first part of a request on a raw socket and returns the socket.
fn partial(s: &Server, head: &str) -> TcpStream {
    let mut sock = TcpStream::connect(s.addr()).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    sock.write_all(head.as_bytes()).unwrap();
    sock
}

/// Reads until the server closes the connection (or 20 s pass: a failure).
fn read_to_close(sock: &mut TcpStream) -> String {
    let mut out = Vec::new();
    match sock.read_to_end(&mut out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the server kept a slow connection open: {e}"),
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn slow_clients_are_cut_off_and_excess_load_is_shed() {
    let (_dir, list, _) = bank_a(13, 20, "1");
    let s = Server::start(&[
        "--no-auth",
        "--read-timeout",
        "1",
        "--timeout",
        "3",
        "--max-concurrency",
        "1",
        "--list",
        p(&list),
    ]);
    // Headers that never end: the connection is closed.
    let mut sock = partial(&s, "GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: 1");
    read_to_close(&mut sock);

    // A body that stops coming: the request fails and the connection closes.
    let mut sock = partial(
        &s,
        "POST /v1/match HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[",
    );
    let answer = read_to_close(&mut sock);
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");

    // One request in flight (its body trickles in) holds the only slot: the next is shed.
    let mut slow = partial(
        &s,
        "POST /v1/match HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n[",
    );
    std::thread::sleep(Duration::from_millis(300));
    let resp = agent().get(&s.url("/m/index/status")).call();
    match resp {
        Err(ureq::Error::Status(503, r)) => {
            assert_eq!(r.header("Retry-After"), Some("1"));
        }
        other => panic!("expected 503, got {:?}", other.map(|r| r.status())),
    }
    slow.write_all(b"]  ").unwrap();
    let mut head = [0u8; 12];
    slow.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    // The slot is free again.
    assert_eq!(get(&s, "/m/index/status").0, 200);
}

#[test]
fn sigterm_drains_requests_in_flight() {
    let (_dir, list, hs) = bank_a(17, 20, "1");
    let mut s = Server::start(&["--no-auth", "--read-timeout", "10", "--list", p(&list)]);
    let body = serde_json::to_vec(&json!([hs[2].to_string()])).unwrap();
    let mut sock = partial(
        &s,
        &format!(
            "POST /v1/match HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        ),
    );
    sock.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    s.signal("-TERM");
    std::thread::sleep(Duration::from_millis(300));
    // Still running: it waits for the request in flight.
    assert!(s.child.try_wait().unwrap().is_none());
    sock.write_all(&body[10..]).unwrap();
    let answer = read_to_close(&mut sock);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"bank_content_id\""), "{answer}");
    // Then it exits 0, having stopped listening.
    let mut status = None;
    for _ in 0..200 {
        status = s.child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(status.expect("exited after draining").code(), Some(0));
    assert!(TcpStream::connect(s.addr()).is_err());
    assert!(s.log_text().contains("draining"));
}

/// Bank content ids a raw lookup of `q` answers.
fn ids(s: &Server, q: Hash256) -> Result<Vec<(u64, String)>, String> {
    let (status, body) = call(
        agent().get(&s.url(&format!(
            "/m/raw_lookup?signal_type=pdq&signal={q}&include_distance=true"
        ))),
        None,
    );
    if status != 200 {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
    }
    let v: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    let mut found: Vec<(u64, String)> = v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["bank_content_id"].as_u64().unwrap(),
                m["distance"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // In position order, as the brute-force oracle lists them.
    found.sort();
    Ok(found)
}

/// Whether the served version becomes `v` within 10 s.
fn version_becomes(s: &Server, v: &str) -> bool {
    for _ in 0..100 {
        if version(s) == v {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// What [`ids`] must answer for `q` while `list` (the only list) is served.
fn brute_ids(list: &Path, q: Hash256) -> Vec<(u64, String)> {
    brute(&HashList::read(list).unwrap(), q, 31)
        .into_iter()
        .map(|(i, d)| (i as u64, d.to_string()))
        .collect()
}

/// The status of `POST /v1/reload` with the admin key.
fn admin_reload(s: &Server) -> u16 {
    match agent()
        .post(&s.url("/v1/reload"))
        .set("Authorization", &format!("Bearer {ADMIN}"))
        .call()
    {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(c, _)) => c,
        Err(e) => panic!("{e}"),
    }
}

fn version(s: &Server) -> String {
    get(s, "/m/index/status").1["pdq"]["banks"]["bank_a"]["version"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn reload_100_times_under_load_without_a_failed_request() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("a.hsl");
    let base = hashes(19, 300);
    let q = base[7];
    // Version A holds q itself; version B a copy 5 bits away (and other hashes): every answer
    // is A's or B's, never a mix or an error.
    let a = base.clone();
    let mut b: Vec<Hash256> = hashes(23, 200);
    b.push(flip(q, &[1, 2, 3, 4, 5]));
    let (pa, pb) = (dir.path().join("a.v"), dir.path().join("b.v"));
    write_list(&pa, "bank_a", "A", &a);
    write_list(&pb, "bank_a", "B", &b);
    let expect = |path: &Path| -> Vec<(u64, String)> {
        let l = HashList::read(path).unwrap();
        brute(&l, q, 31)
            .into_iter()
            .map(|(i, d)| (i as u64, d.to_string()))
            .collect()
    };
    let (ea, eb) = (expect(&pa), expect(&pb));
    assert_ne!(ea, eb);
    std::fs::copy(&pa, &list).unwrap();
    let s = Arc::new(Server::start_with_keys(
        dir.path(),
        &["--no-watch", "--list", p(&list)],
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let (s, stop, done, ea, eb) = (
                Arc::clone(&s),
                Arc::clone(&stop),
                Arc::clone(&done),
                ea.clone(),
                eb.clone(),
            );
            std::thread::spawn(move || {
                // Bounded: at most 100,000 requests per client.
                for _ in 0..100_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let got = ids(&s, q).unwrap();
                    assert!(got == ea || got == eb, "{got:?}");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for i in 0..100 {
        let (src, v) = if i % 2 == 0 { (&pb, "B") } else { (&pa, "A") };
        // Atomic replacement: a copy beside the list, renamed over it.
        let tmp = dir.path().join("next.tmp");
        std::fs::copy(src, &tmp).unwrap();
        std::fs::rename(&tmp, &list).unwrap();
        assert_eq!(admin_reload(&s), 200);
        assert_eq!(version(&s), v);
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("a client saw a failed or mixed answer");
    }
    assert!(done.load(Ordering::Relaxed) > 100, "the load ran");
    assert_eq!(ids(&s, q).unwrap(), ea);
}

#[test]
fn corrupt_or_deleted_lists_keep_the_old_one_serving() {
    let (dir, list, hs) = bank_a(29, 100, "1");
    let expected = brute_ids(&list, hs[4]);
    let s = Server::start_with_keys(dir.path(), &["--watch-interval", "0.1", "--list", p(&list)]);

    // A corrupt new file (one flipped byte in the hash section), renamed over the list: the
    // watch refuses it, and so does a forced reload.
    let mut bytes = std::fs::read(&list).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    let tmp = dir.path().join("bad.tmp");
    std::fs::write(&tmp, &bytes).unwrap();
    std::fs::rename(&tmp, &list).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(admin_reload(&s), 409);
    assert_eq!(ids(&s, hs[4]).unwrap(), expected);
    assert_eq!(version(&s), "1");
    assert!(s.log_shows("new list refused"));

    // A good new version is picked up by the watch (bounded wait: 10 s).
    write_list(&list, "bank_a", "2", &hs[..50]);
    assert!(
        version_becomes(&s, "2"),
        "the watch did not load the new file: {}",
        s.log_text()
    );

    // Deleted while mapped: it keeps serving from the mapping; a reload is refused.
    let expected2 = brute_ids(&list, hs[4]);
    std::fs::remove_file(&list).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(ids(&s, hs[4]).unwrap(), expected2);
    assert_eq!(admin_reload(&s), 409);
    assert_eq!(ids(&s, hs[4]).unwrap(), expected2);
    assert_eq!(version(&s), "2");

    // A file of another list's name is refused too.
    write_list(&list, "other", "3", &hs);
    assert_eq!(admin_reload(&s), 409);
    assert_eq!(version(&s), "2");
    assert_no_hex(&s.log_text());
}

#[test]
fn startup_refuses_bad_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("a.hsl");
    write_list(&list, "bank_a", "1", &hashes(31, 10));
    // No keys and no --no-auth; a short key; two lists of one name; a corrupt list.
    common::cmd(["serve", "--list", p(&list)]).assert_exit(2);
    let short = dir.path().join("short.keys");
    std::fs::write(&short, "abc\n").unwrap();
    common::cmd(["serve", "--api-keys", p(&short), "--list", p(&list)])
        .assert_exit(2)
        .assert_stderr_contains("16 or more");
    let copy = dir.path().join("b.hsl");
    std::fs::copy(&list, &copy).unwrap();
    refused(&[&list, &copy]).assert_stderr_contains("distinct");
    let mut bytes = std::fs::read(&list).unwrap();
    let n = bytes.len() / 2;
    bytes[n] ^= 0x40;
    std::fs::write(&copy, &bytes).unwrap();
    refused(&[&copy]);
}

/// Runs `hashsieve serve --no-auth` on a free port over `lists`, which must exit 2.
fn refused(lists: &[&Path]) -> common::Run {
    let mut c = common::cmd(["serve", "--no-auth", "--bind", "127.0.0.1:0"]);
    for l in lists {
        c = c.arg("--list").arg(l);
    }
    c.assert_exit(2)
}

#[test]
fn sighup_reloads_the_lists() {
    let (_dir, list, hs) = bank_a(37, 40, "1");
    let s = Server::start(&["--no-auth", "--no-watch", "--list", p(&list)]);
    write_list(&list, "bank_a", "2", &hs[..10]);
    assert_eq!(version(&s), "1", "--no-watch: no reload without a signal");
    s.signal("-HUP");
    assert!(
        version_becomes(&s, "2"),
        "SIGHUP did not reload: {}",
        s.log_text()
    );
    assert!(s.log_shows("\"cause\":\"SIGHUP\""));
}
