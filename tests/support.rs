//! Helpers shared by the server tests: a tiny HTTP client and a node running in-process or
//! as the real binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use zegel::clock::SystemClock;

pub const ZEGEL: &str = env!("CARGO_BIN_EXE_zegel");

/// The `zegel-verify` binary beside `zegel`. It is its own package (`verify/`), so Cargo names
/// no `CARGO_BIN_EXE_` for it here; a workspace build (`cargo nextest run --workspace`) builds
/// it into the same directory.
pub fn verify_bin() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let path = Path::new(ZEGEL).with_file_name("zegel-verify");
        assert!(
            path.is_file(),
            "{} is missing: build it with `cargo build -p zegel-verify` (a `--workspace` test run does)",
            path.display()
        );
        path.to_str().expect("the target directory's path is UTF-8").to_string()
    })
}

/// A response: status, content type, body.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request; never panics on HTTP error statuses.
pub fn call(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
) -> Result<Resp, String> {
    call_typed(method, url, token, None, body)
}

/// As [`call`], with a `Content-Type`.
pub fn call_typed(
    method: &str,
    url: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Option<&[u8]>,
) -> Result<Resp, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let mut req = ureq::http::Request::builder().method(method).uri(url);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let req = req
        .body(body.map(<[u8]>::to_vec).unwrap_or_default())
        .map_err(|e| e.to_string())?;
    let mut r = agent.run(req).map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let headers: Vec<(String, String)> = r
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = r
        .body_mut()
        .with_config()
        .limit(128 * 1024 * 1024)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    Ok(Resp {
        status,
        content_type,
        headers,
        body,
    })
}

pub fn must(method: &str, url: &str, token: Option<&str>, body: Option<&[u8]>) -> Resp {
    call(method, url, token, body).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// A node served in-process on 127.0.0.1:0, stopped on drop.
pub struct InProcess {
    pub base: String,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A test node's configuration, its data inside `dir`: checkpoints every 100 ms, and tiering
/// only when asked (`POST /v1/tier/run`), in moves of the default size unless the caller
/// sets `tier.move_packages`.
pub fn manual_tier_config(dir: &Path) -> zegel::server::Config {
    zegel::server::Config {
        data_dir: dir.join("data"),
        checkpoint_interval_ms: 100,
        tier: zegel::tier::mover::TierConfig {
            interval_secs: 0,
            ..Default::default()
        },
        ..Default::default()
    }
}

impl InProcess {
    pub fn start() -> InProcess {
        InProcess::start_with(512)
    }

    /// A node that handles at most `in_flight_max` requests at once.
    pub fn start_with(in_flight_max: usize) -> InProcess {
        let dir = tempfile::tempdir().unwrap();
        let cfg = zegel::server::Config {
            data_dir: dir.path().join("data"),
            checkpoint_interval_ms: 100,
            in_flight_max,
            ..Default::default()
        };
        InProcess::start_config(dir, cfg, Arc::new(SystemClock))
    }

    /// A node over [`manual_tier_config`] (its data directory inside `dir`) on `clock`.
    pub fn start_manual(dir: tempfile::TempDir, clock: &zegel::clock::ManualClock) -> InProcess {
        let cfg = manual_tier_config(dir.path());
        InProcess::start_config(dir, cfg, Arc::new(clock.clone()))
    }

    /// A node over `cfg` (its data directory inside `dir`) on `clock`.
    pub fn start_config(
        dir: tempfile::TempDir,
        cfg: zegel::server::Config,
        clock: Arc<dyn zegel::clock::Clock>,
    ) -> InProcess {
        let (tx_addr, rx_addr) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move {
                let (state, _) = zegel::server::open(&cfg, clock).unwrap();
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx_addr.send(listener.local_addr().unwrap()).unwrap();
                zegel::server::serve(state, cfg.in_flight_max, listener, async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            });
        });
        let addr = rx_addr.recv().unwrap();
        InProcess {
            base: format!("http://{addr}"),
            dir,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Stops the node and hands back its directory.
    pub fn stop(mut self) -> tempfile::TempDir {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("data/admin.token"))
            .unwrap()
            .trim()
            .to_string()
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The real `zegel serve` process on an ephemeral port.
pub struct Process {
    pub child: Child,
    pub base: String,
}

impl Process {
    pub fn start(data: &Path) -> Process {
        Process::start_args(data, &[])
    }

    /// `zegel serve` with more arguments.
    pub fn start_args(data: &Path, extra: &[&str]) -> Process {
        let mut child = Command::new(ZEGEL)
            .args([
                "serve",
                "--data",
                data.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
                "--checkpoint-interval-ms",
                "50",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let base = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("zegel serve exited before listening"))
                .unwrap();
            if let Some(rest) = line.strip_prefix("zegel: listening on ") {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Process { child, base }
    }

    /// `kill -9`: no shutdown, no flush.
    pub fn kill9(mut self) {
        let _ = self.child.kill(); // SIGKILL on Unix
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A multipart/form-data body of `(part name, filename, content type, bytes)` parts; returns
/// the body and its Content-Type.
pub fn multipart(parts: &[(&str, Option<&str>, &str, &[u8])]) -> (Vec<u8>, String) {
    let boundary = "zegel-test-boundary-7d1f";
    let mut body = Vec::new();
    for (name, file, ct, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n")
                    .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(format!("Content-Type: {ct}\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (body, format!("multipart/form-data; boundary={boundary}"))
}

/// Tenant, keys and an archive with an agreement; returns (producer, consumer, auditor) tokens.
pub fn setup_tenant(
    base: &str,
    admin: &str,
    tenant: &str,
    archive: &str,
) -> (String, String, String) {
    let r = must(
        "POST",
        &format!("{base}/v1/tenants"),
        Some(admin),
        Some(format!(r#"{{"tenant":"{tenant}"}}"#).as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let key = |role: &str| key_of(base, admin, tenant, role);
    let (archivist, producer, consumer, auditor) = (
        key("archivist"),
        key("producer"),
        key("consumer"),
        key("auditor"),
    );
    let r = must(
        "PUT",
        &format!("{base}/v1/archives/{archive}/agreement"),
        Some(&archivist),
        Some(AGREEMENT.as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    (producer, consumer, auditor)
}

pub const AGREEMENT: &str = r#"{
  "version": 1,
  "title": "e-Box messages",
  "record_key": "message_id",
  "metadata": {
    "sent_at": {"type": "datetime", "required": true},
    "sender": {"type": "enum", "values": ["RSZ", "ONSS", "RIZIV", "FOD Financien", "RVA", "FAMIFED", "SPF Finances"]},
    "amount_eur": {"type": "number"}
  },
  "retention": {"after": "sent_at", "years": 10},
  "indexed": ["sender", "sent_at"]
}"#;

/// A row SIP for key `i`.
pub fn row(i: u64, extra: &str) -> String {
    let id = format!("EBX-2025-{i:09}");
    format!(
        r#"{{"key":"{id}","record":{{"message_id":"{id}","sender":"RSZ","subject":"Aanslagbiljet {extra}","sent_at":"2025-03-04T10:00:00Z"}},"metadata":{{"sent_at":"2025-03-04T10:00:00Z","sender":"RSZ","amount_eur":12.50}}}}"#
    )
}

pub fn tmp_path(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A new API key of `tenant` with `role`; returns its token.
pub fn key_of(base: &str, admin: &str, tenant: &str, role: &str) -> String {
    let r = must(
        "POST",
        &format!("{base}/v1/tenants/{tenant}/keys"),
        Some(admin),
        Some(format!(r#"{{"role":"{role}"}}"#).as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["token"].as_str().unwrap().to_string()
}

/// Runs `zegel ARGS --server BASE` with `token` in ZEGEL_TOKEN; returns (exit ok, stdout, stderr).
pub fn cli_run(base: &str, token: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(ZEGEL)
        .args(args)
        .args(["--server", base])
        .env("ZEGEL_TOKEN", token)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// [`cli_run`] that must succeed; returns its standard output.
pub fn cli(base: &str, token: &str, args: &[&str]) -> String {
    let (success, out, err) = cli_run(base, token, args);
    assert!(success, "zegel {args:?}: {err}");
    out
}

/// A row whose retention month depends on `i` (sent on the 4th of January, February or
/// March 2025; the agreement keeps rows 10 years after `sent_at`).
pub fn month_row(i: u64) -> String {
    let m = i % 3 + 1;
    let id = format!("EBX-2025-{i:09}");
    format!(
        r#"{{"key":"{id}","record":{{"message_id":"{id}","sender":"RSZ","subject":"Aanslagbiljet {i} voor aanslagjaar 2025, te betalen binnen twee maanden","sent_at":"2025-{m:02}-04T10:00:00Z","amount":{i}}},"metadata":{{"sent_at":"2025-{m:02}-04T10:00:00Z","sender":"RSZ","amount_eur":12.50}}}}"#
    )
}

/// A real S3-compatible server (moto, from PyPI; scripts/test.sh installs the pinned version)
/// on a free 127.0.0.1 port, stopped on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Moto::start_on(port)
    }

    /// A moto server on `port` (e.g. again, after one was stopped).
    pub fn start_on(port: u16) -> Moto {
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "python3 -m moto.server (pip install 'moto[server]'; scripts/test.sh installs it)",
            );
        // Owned by the guard from here on, so every path (even the panic) kills and reaps it.
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return moto;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("moto did not listen on {} within 10 s", moto.endpoint);
    }

    pub fn create_bucket(&self, name: &str) {
        let r = must("PUT", &format!("{}/{name}", self.endpoint), None, Some(b""));
        assert_eq!(r.status, 200, "create bucket: {}", r.text());
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// 2026-01-01T00:00:00Z: where the tests that move the clock start.
pub const START_MS: u64 = 1_767_225_600_000;
pub const DAY_MS: u64 = 86_400_000;

/// An agreement for court files: documents (PDF and text) kept 30 years after `filed_on`.
pub const DOCS: &str = include_str!("../examples/files-agreement.json");

/// `POST /v1/tier/run` with the admin token: the pass report (failures included).
pub fn tier_run(base: &str, admin: &str) -> serde_json::Value {
    let r = must("POST", &format!("{base}/v1/tier/run"), Some(admin), None);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// As [`tier_run`], asserting that no move failed.
pub fn tier_run_clean(base: &str, admin: &str) -> serde_json::Value {
    let j = tier_run(base, admin);
    assert!(j["errors"].as_array().unwrap().is_empty(), "{j}");
    j
}

/// One archive's row of `GET /v1/tier`.
pub fn archive_tier(base: &str, admin: &str, archive: &str) -> serde_json::Value {
    let r = must("GET", &format!("{base}/v1/tier"), Some(admin), None);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["archives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["archive"] == archive)
        .cloned()
        .unwrap_or_else(|| panic!("no {archive} in {}", r.text()))
}

/// Every file below `dir` (none if it does not exist), as paths relative to `root`.
pub fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            list_files(root, &p, out);
        } else {
            out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
        }
    }
}

/// The disposition record inside a certificate of destruction.
pub fn record_of(cert: &[u8]) -> zegel::format::disposition::Disposition {
    let c = zegel::format::disposition::Certificate::decode(cert).unwrap();
    let p = zegel::format::sealed::open(&c.package).unwrap();
    let bytes = p.objects[0]
        .as_ref()
        .expect("the record is in the certificate");
    zegel::format::disposition::Disposition::decode(bytes).unwrap()
}

/// One whole integrity audit of `archive` through the API (start, then steps of
/// `max_packages` until it is finished, each answered 201 or 200); the finished run.
pub fn run_audit(base: &str, token: &str, archive: &str, max_packages: u64) -> serde_json::Value {
    let r = must(
        "POST",
        &format!("{base}/v1/archives/{archive}/audits"),
        Some(token),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let mut run = r.json();
    let id = run["id"].as_str().unwrap().to_string();
    let step = format!(r#"{{"max_packages":{max_packages}}}"#);
    while run["finished_ms"].is_null() {
        let r = must(
            "POST",
            &format!("{base}/v1/archives/{archive}/audits/{id}/step"),
            Some(token),
            Some(step.as_bytes()),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        run = r.json();
    }
    run
}
