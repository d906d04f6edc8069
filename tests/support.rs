//! Helpers shared by the server tests: the API's routes (`routes`) and a client for them
//! (`client`), nodes to call (`nodes`: in-process, the real binary, moto), and here the steps
//! many tests take (a tenant and its keys, rows and documents, tiering, audits).

use std::path::{Path, PathBuf};
use std::process::Command;

mod client;
mod nodes;
pub mod routes;

pub use client::{Client, Resp, must};
pub use nodes::{Acme, InProcess, Moto, Process, manual_tier_config};

pub const ZEGEL: &str = env!("CARGO_BIN_EXE_zegel");

/// The `zegel-verify` binary beside `zegel`. It is its own package (`verify/`), so Cargo names
/// no `CARGO_BIN_EXE_` for it here; a workspace build (`cargo nextest run --workspace`) builds
/// it into the same directory.
pub fn verify_bin() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let path = std::path::Path::new(ZEGEL).with_file_name("zegel-verify");
        assert!(
            path.is_file(),
            "{} is missing: build it with `cargo build -p zegel-verify` (a `--workspace` test run does)",
            path.display()
        );
        path.to_str().expect("the target directory's path is UTF-8").to_string()
    })
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
    let r = Client::new(base, admin).post(
        &routes::tenants(),
        format!(r#"{{"tenant":"{tenant}"}}"#).as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let key = |role: &str| key_of(base, admin, tenant, role);
    let (archivist, producer, consumer, auditor) = (
        key("archivist"),
        key("producer"),
        key("consumer"),
        key("auditor"),
    );
    let r = Client::new(base, &archivist).put(&routes::agreement(archive), AGREEMENT.as_bytes());
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
    let r = Client::new(base, admin).post(
        &routes::tenant_keys(tenant),
        format!(r#"{{"role":"{role}"}}"#).as_bytes(),
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

/// Ingests the [`month_row`]s `rows` into `ebox` in one batch, which must be stored (201).
pub fn ingest_month_rows(base: &str, producer: &str, rows: impl Iterator<Item = u64>) {
    let body: String = rows.map(|i| month_row(i) + "\n").collect();
    let r = Client::new(base, producer).ingest_batch("ebox", body.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
}

/// `len` poorly compressible bytes (xorshift from `seed`): the same for the same seed.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

/// 2026-01-01T00:00:00Z: where the tests that move the clock start.
pub const START_MS: u64 = 1_767_225_600_000;
pub const DAY_MS: u64 = 86_400_000;

/// An agreement for court files: documents (PDF and text) kept 30 years after `filed_on`.
pub const DOCS: &str = include_str!("../examples/files-agreement.json");

/// `POST /v1/tier/run` with the admin token: the pass report (failures included).
pub fn tier_run(base: &str, admin: &str) -> serde_json::Value {
    let r = Client::new(base, admin).post(&routes::tier_run(), b"");
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
    let r = Client::new(base, admin).get(&routes::tier());
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["archives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["archive"] == archive)
        .cloned()
        .unwrap_or_else(|| panic!("no {archive} in {}", r.text()))
}

/// The node's verifier key (the first `GET /v1/keys` lists), as its text.
pub fn verifier_text(base: &str) -> String {
    Client::anonymous(base).get(&routes::keys()).json()["keys"][0]["verifier_key"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The node's verifier key.
pub fn verifier(base: &str) -> zegel::format::note::VerifierKey {
    zegel::format::note::VerifierKey::from_text(&verifier_text(base)).unwrap()
}

/// Uploads a document of case `case`, filed on `filed_on`, to archive `files` as `key`: its
/// SIP, then `files` (name, content type, bytes) in order. It must be stored (201); its seq.
pub fn upload_document(
    producer: &Client,
    key: &str,
    case: &str,
    filed_on: &str,
    files: &[(&str, &str, &[u8])],
) -> u64 {
    let sip =
        format!(r#"{{"key":"{key}","metadata":{{"case":"{case}","filed_on":"{filed_on}"}}}}"#);
    let mut parts = vec![("sip", None, "application/json", sip.as_bytes())];
    parts.extend(
        files
            .iter()
            .map(|(name, ct, bytes)| ("file", Some(*name), *ct, *bytes)),
    );
    let (body, ct) = multipart(&parts);
    let r = producer.post_typed(&routes::packages("files"), &ct, &body);
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["seq"].as_u64().unwrap()
}

/// [`upload_document`] of case C-0001 filed on `filed_on`: `pdf` as `ruling.pdf` and `note`
/// as `note.txt`; its seq.
pub fn upload_ruling(producer: &Client, key: &str, filed_on: &str, pdf: &[u8], note: &[u8]) -> u64 {
    let files = [
        ("ruling.pdf", "application/pdf", pdf),
        ("note.txt", "text/plain", note),
    ];
    upload_document(producer, key, "C-0001", filed_on, &files)
}

/// How many packages `archive`'s log holds, as `GET /v1/archives` lists it to `token`.
pub fn log_size(base: &str, token: &str, archive: &str) -> u64 {
    let r = Client::new(base, token).get(&routes::archives());
    r.json()["archives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["archive"] == archive)
        .unwrap()["packages"]
        .as_u64()
        .unwrap()
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
    let r = Client::new(base, token).post(&routes::audits(archive), b"");
    assert_eq!(r.status, 201, "{}", r.text());
    let mut run = r.json();
    let id = run["id"].as_str().unwrap().to_string();
    let step = format!(r#"{{"max_packages":{max_packages}}}"#);
    while run["finished_ms"].is_null() {
        let r = Client::new(base, token).post(&routes::audit_step(archive, &id), step.as_bytes());
        assert_eq!(r.status, 200, "{}", r.text());
        run = r.json();
    }
    run
}

/// xorshift64*: reproducible from the printed seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The leaf hash of package `seq` among a cold copy's tiles (by their bucket keys): from the
/// widest level-0 tile that holds it; `None` when no tile does.
pub fn tile_leaf(
    tiles: &std::collections::BTreeMap<String, Vec<u8>>,
    seq: u64,
) -> Option<zegel::format::hash::Hash> {
    let (n, j) = (seq / 256, (seq % 256) as usize);
    tiles
        .iter()
        .filter_map(|(k, v)| {
            let (_, _, level, index, width) = zegel::format::layout::parse_tile_key(k)?;
            (level == 0 && index == n && (j as u64) < width)
                .then(|| zegel::format::layout::decode_tile(v, width).ok())?
        })
        .max_by_key(|t| t.len())
        .and_then(|t| t.get(j).copied())
}
