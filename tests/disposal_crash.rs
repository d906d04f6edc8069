//! Disposal (issue #5) under `kill -9`, and the absence of any other path that deletes
//! archived content.
//!
//! * The real server is killed at random moments while `retention apply` disposes of due
//!   packages in both tiers (cold segments deleted whole or rewritten), while rows arrive and
//!   tiering moves them: after every restart each package is either intact, byte for byte, or
//!   gone by exactly one listed disposition whose certificate verifies.
//! * Every other documented route and method, and every CLI command that writes, with every
//!   role, once retention has ended: nothing is deleted.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zegel::clock::ManualClock;
use zegel::format::checkpoint;
use zegel::format::hash::{leaf_hash, sha256};
use zegel::format::layout;
use zegel::format::note::VerifierKey;
use zegel::format::proof::ConsistencyProof;
use zegel::format::sealed;
use zegel::format::segment;
use zegel::format::verify::{CertificateInputs, verify_certificate};

use crate::support::*;

fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

// ---------------------------------------------------------------------------------------
// Test 1: kill -9 during retention apply.
// ---------------------------------------------------------------------------------------

/// Kills (and restarts) of the server while it disposes.
const ROUNDS: u64 = 24;
/// Rows archived before the first tiering run (they go cold), then after it (they stay hot
/// until a round tiers them).
const COLD_ROWS: u64 = 2000;
const HOT_ROWS: u64 = 1000;
/// Concurrent readers of the per-round check.
const READERS: usize = 8;

/// One year after `sent_at`: a row sent in 2020 is due, one sent in 2099 is not.
const CRASH_AGREEMENT: &str = r#"{
  "version": 1,
  "title": "e-Box messages, kept one year",
  "record_key": "message_id",
  "metadata": {
    "sent_at": {"type": "datetime", "required": true},
    "sender": {"type": "enum", "values": ["RSZ", "ONSS"]}
  },
  "media_types": ["application/json", "application/pdf"],
  "retention": {"after": "sent_at", "years": 1},
  "indexed": ["sender"]
}"#;

/// Moves of 300 packages, one segment per retention month each, small blocks, fast zstd;
/// tiering only when asked.
const CRASH_TIER: &[u8] = b"[tier]\nhot_days = 0\ninterval_secs = 0\nmove_packages = 300\nzstd_level = 3\nblock_kib = 8\n";

/// Rows `i` with `i % 10 == 7` are not due: sent in 2099.
fn crash_not_due(i: u64) -> bool {
    i % 10 == 7
}

/// Rows held by a query hold (`sender=ONSS`).
fn crash_onss(i: u64) -> bool {
    i.is_multiple_of(53)
}

/// Rows held by a package hold.
fn crash_package_held(i: u64) -> bool {
    i.is_multiple_of(37)
}

/// Rows whose record key is held (every version).
fn crash_record_held(i: u64) -> bool {
    i == 11 || i == COLD_ROWS + 11
}

/// Cold rows that get a second version, not due, among the hot rows.
fn crash_second_version(i: u64) -> bool {
    i < COLD_ROWS && i % 41 == 5
}

fn crash_key(i: u64) -> String {
    format!("MSG-{i:07}")
}

/// A row of key `i`; sent in 2020 (due) or 2099 (not due), in month `i % 12 + 1`.
fn crash_row(i: u64, due: bool, sender: &str) -> String {
    let year = if due { 2020 } else { 2099 };
    let sent_at = format!("{year}-{:02}-{:02}T10:00:00Z", i % 12 + 1, i % 28 + 1);
    let id = crash_key(i);
    format!(
        r#"{{"key":"{id}","record":{{"message_id":"{id}","sender":"{sender}","subject":"Bericht {i} over uw dossier","sent_at":"{sent_at}"}},"metadata":{{"sent_at":"{sent_at}","sender":"{sender}"}}}}"#
    )
}

struct World {
    admin: String,
    archivist: String,
    auditor: String,
    producer: String,
    consumer: String,
    key: VerifierKey,
    key_file: std::path::PathBuf,
}

/// What the test knows of the archive's packages.
#[derive(Default)]
struct Model {
    /// Sealed bytes of every package once seen readable.
    sealed: HashMap<u64, Vec<u8>>,
    /// Packages that must never be disposed of: not due, held, or the log's own.
    keep: BTreeSet<u64>,
    /// Checkpoint notes seen so far.
    checkpoints: Vec<Vec<u8>>,
}

/// What one check found.
#[derive(Debug, Default)]
struct Seen {
    size: u64,
    dispositions: usize,
    disposed: BTreeMap<u64, u64>,
    live: BTreeSet<u64>,
    cold: BTreeSet<u64>,
}

fn batch(base: &str, producer: &str, rows: &[String]) -> Vec<u64> {
    let body: String = rows.iter().map(|r| format!("{r}\n")).collect();
    let r = Client::new(base, producer).ingest_batch("ebox", body.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["seq"].as_u64().unwrap())
        .collect()
}

fn document(base: &str, producer: &str, key: &str, due: bool, pdf: &[u8]) -> u64 {
    let year = if due { 2020 } else { 2099 };
    let sip = format!(
        r#"{{"key":"{key}","metadata":{{"sent_at":"{year}-06-01T08:00:00Z","sender":"RSZ"}},"sha256":{{"letter.pdf":"{}"}}}}"#,
        sha256(pdf).to_hex()
    );
    let (body, ct) = multipart(&[
        ("sip", None, "application/json", sip.as_bytes()),
        ("file", Some("letter.pdf"), "application/pdf", pdf),
    ]);
    let r = Client::new(base, producer).post_typed(&routes::packages("ebox"), &ct, &body);
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["seq"].as_u64().unwrap()
}

fn hold(base: &str, archivist: &str, body: &str) {
    let r = Client::new(base, archivist).post(&routes::holds("ebox"), body.as_bytes());
    assert_eq!(r.status, 201, "{body}: {}", r.text());
}

/// A package as read back: its sealed bytes and tier, or the disposition that removed it.
enum Read {
    Live { sealed: Vec<u8>, cold: bool },
    Gone { disposition: u64 },
}

fn read_sealed(base: &str, token: &str, archive: &str, seq: u64) -> Read {
    for _ in 0..100 {
        let r = Client::new(base, token).sealed(archive, seq);
        match r.status {
            200 => {
                return Read::Live {
                    cold: r.header("zegel-tier") == Some("cold"),
                    sealed: r.body,
                };
            }
            410 => {
                let j = r.json();
                let disposition = j["disposition"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("410 without its disposition: {j}"));
                return Read::Gone { disposition };
            }
            // Overloaded: try again.
            503 => sleep_ms(50),
            s => panic!("{archive} seq {seq}: {s} {}", r.text()),
        }
    }
    panic!("{archive} seq {seq}: still overloaded");
}

/// Every seq below `size`, read by a few threads at once.
fn read_all(base: &str, token: &str, archive: &str, size: u64) -> Vec<Read> {
    let mut out: Vec<Option<Read>> = (0..size).map(|_| None).collect();
    // One read alone first: the first reads of a tenant create its access log, and reads
    // racing that creation fail (reported with this test; not a disposal matter).
    if size > 0 {
        out[0] = Some(read_sealed(base, token, archive, 0));
    }
    let next = AtomicU64::new(1);
    let out = Mutex::new(out);
    std::thread::scope(|s| {
        for _ in 0..READERS {
            s.spawn(|| {
                loop {
                    let seq = next.fetch_add(1, Ordering::SeqCst);
                    if seq >= size {
                        break;
                    }
                    let r = read_sealed(base, token, archive, seq);
                    out.lock().unwrap()[seq as usize] = Some(r);
                }
            });
        }
    });
    out.into_inner()
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect()
}

/// The disposition record inside a certificate.
/// The leaf hash of a sealed package.
fn leaf_of(sealed_bytes: &[u8]) -> zegel::format::hash::Hash {
    leaf_hash(&sealed::open(sealed_bytes).unwrap().header_bytes)
}

/// Checks the invariants of a restarted (and otherwise idle) server; returns what it saw.
fn check(w: &World, base: &str, m: &mut Model, dir: &Path, round: &str) -> Seen {
    // The newest checkpoint; every one seen before is consistent with it.
    let as_auditor = Client::new(base, &w.auditor);
    let cp_note = as_auditor.checkpoint("ebox");
    assert_eq!(cp_note.status, 200, "{round}: {}", cp_note.text());
    let cp = checkpoint::open(&cp_note.body, &w.key).unwrap();
    let mut sizes = BTreeSet::new();
    for old in &m.checkpoints {
        let o = checkpoint::open(old, &w.key).unwrap();
        if o.size == 0 || !sizes.insert(o.size) {
            continue;
        }
        assert!(o.size <= cp.size, "{round}: checkpoint {} shrank", o.size);
        let cons = as_auditor.get(&routes::consistency("ebox", o.size, cp.size));
        assert_eq!(cons.status, 200, "{round}: {}", cons.text());
        ConsistencyProof::decode(&cons.body)
            .unwrap()
            .verify(&o.root, &cp.root)
            .unwrap_or_else(|e| panic!("{round}: checkpoint {} is not consistent: {e:?}", o.size));
    }
    m.checkpoints.push(cp_note.body.clone());

    // Each disposition: its certificate verifies and its record names its packages.
    let list = as_auditor.get(&routes::dispositions("ebox"));
    assert_eq!(list.status, 200, "{round}: {}", list.text());
    let list = list.json()["dispositions"].as_array().unwrap().clone();
    let mut seen = Seen {
        dispositions: list.len(),
        ..Default::default()
    };
    let mut newest_cert = None;
    for d in &list {
        let dseq = d["seq"].as_u64().unwrap();
        let cert = as_auditor.get(&routes::certificate("ebox", dseq));
        assert_eq!(cert.status, 200, "{round}: {}", cert.text());
        let report = verify_certificate(CertificateInputs {
            certificate: &cert.body,
            key: &w.key,
        });
        assert!(report.passed(), "{round}: disposition {dseq}: {report:?}");
        let record = record_of(&cert.body);
        assert_eq!(d["cause"], "retention", "{round}: {d}");
        assert_eq!(d["packages"], record.packages.len() as u64, "{round}: {d}");
        assert_eq!(d["first_seq"], record.packages[0].seq, "{round}: {d}");
        assert_eq!(
            d["last_seq"],
            record.packages.last().unwrap().seq,
            "{round}: {d}"
        );
        assert!(dseq > record.packages.last().unwrap().seq, "{round}: {d}");
        for p in &record.packages {
            if let Some(other) = seen.disposed.insert(p.seq, dseq) {
                panic!(
                    "{round}: seq {} is in dispositions {other} and {dseq}",
                    p.seq
                );
            }
            assert!(
                !m.keep.contains(&p.seq),
                "{round}: disposition {dseq} disposed of seq {}, which is held, not due, or the log's own",
                p.seq
            );
            if let Some(b) = m.sealed.get(&p.seq) {
                assert_eq!(
                    leaf_of(b),
                    p.leaf,
                    "{round}: leaf of disposed seq {}",
                    p.seq
                );
            }
        }
        m.keep.insert(dseq);
        newest_cert = Some(cert.body);
    }
    // The newest certificate also passes the real verifier.
    if let Some(cert) = newest_cert {
        let file = tmp_path(dir, "newest.zcert", &cert);
        let out = std::process::Command::new(verify_bin())
            .args(["certificate", "--key"])
            .arg(&w.key_file)
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{round}: zegel-verify certificate: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // The counts agree with the dispositions.
    let t = archive_tier(base, &w.admin, "ebox");
    seen.size = t["packages"].as_u64().unwrap();
    assert_eq!(seen.size, cp.size, "{round}: {t}");
    assert_eq!(
        t["disposed_packages"].as_u64().unwrap(),
        seen.disposed.len() as u64,
        "{round}: tier status against the dispositions: {t}"
    );
    let sum: u64 = list.iter().map(|d| d["packages"].as_u64().unwrap()).sum();
    assert_eq!(sum, seen.disposed.len() as u64, "{round}");

    // Every package: intact, or gone by the one disposition that lists it.
    for (seq, r) in read_all(base, &w.auditor, "ebox", seen.size)
        .into_iter()
        .enumerate()
    {
        let seq = seq as u64;
        match r {
            Read::Live { sealed, cold } => {
                assert!(
                    !seen.disposed.contains_key(&seq),
                    "{round}: seq {seq} is listed in disposition {} but still reads back",
                    seen.disposed[&seq]
                );
                match m.sealed.get(&seq) {
                    Some(before) => assert!(
                        *before == sealed,
                        "{round}: seq {seq} reads back other bytes than before"
                    ),
                    None => {
                        m.sealed.insert(seq, sealed);
                    }
                }
                seen.live.insert(seq);
                if cold {
                    seen.cold.insert(seq);
                }
            }
            Read::Gone { disposition } => assert_eq!(
                seen.disposed.get(&seq),
                Some(&disposition),
                "{round}: seq {seq} is gone by disposition {disposition}, which does not list it"
            ),
        }
    }
    assert_eq!(
        t["cold_packages"].as_u64().unwrap(),
        seen.cold.len() as u64,
        "{round}: cold packages counted against those read from the cold tier: {t}"
    );
    seen
}

/// Seqs held in each segment object of the archive's cold tier, by key.
fn bucket(data: &Path) -> BTreeMap<String, Vec<u64>> {
    let root = data.join("cold");
    let dir = root.join("v2/acme/ebox/segments");
    let mut files = Vec::new();
    if dir.exists() {
        crash_list_files(&root, &dir, &mut files);
    }
    files
        .into_iter()
        .filter(|k| k.ends_with(".zseg"))
        .map(|k| {
            assert!(layout::parse_segment_key(&k).is_some(), "stray object {k}");
            let index = segment::open_segment(&std::fs::read(root.join(&k)).unwrap())
                .unwrap_or_else(|e| panic!("{k}: {e}"));
            (k, index.packages.iter().map(|p| p.seq).collect())
        })
        .collect()
}

fn crash_list_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            crash_list_files(root, &p, out);
        } else {
            out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
        }
    }
}

/// Objects of the bucket that hold a disposed package or a package some other object holds
/// too: what a disposal cut short leaves until the next one finishes it.
fn leftovers(objects: &BTreeMap<String, Vec<u64>>, disposed: &BTreeMap<u64, u64>) -> usize {
    let mut count: HashMap<u64, u32> = HashMap::new();
    for seqs in objects.values() {
        for s in seqs {
            *count.entry(*s).or_default() += 1;
        }
    }
    objects
        .values()
        .filter(|seqs| {
            seqs.iter()
                .any(|s| disposed.contains_key(s) || count[s] > 1)
        })
        .count()
}

/// One whole integrity audit of `ebox` (`zegel audit`'s code); the seq of the `audit`
/// package it seals, after asserting that it found nothing (but due packages not yet
/// disposed of, if `overdue` allows them).
fn audit_clean(base: &str, auditor: &str, round: &str, overdue: bool) -> u64 {
    let run = run_audit(base, auditor, "ebox", 2000);
    let mut counts = run["counts"].as_object().unwrap().clone();
    if overdue {
        counts.remove("retention.overdue");
    }
    assert!(counts.is_empty(), "{round}: {run}");
    run["recorded_seq"].as_u64().unwrap()
}

fn admin_token(data: &Path) -> String {
    std::fs::read_to_string(data.join("admin.token"))
        .unwrap()
        .trim()
        .to_string()
}

/// Tenant `acme` with archive `ebox` under [`CRASH_AGREEMENT`].
fn crash_world(base: &str, data: &Path, dir: &Path) -> World {
    let admin = admin_token(data);
    let r = Client::new(base, &admin).post(&routes::tenants(), br#"{"tenant":"acme"}"#);
    assert_eq!(r.status, 201, "{}", r.text());
    let key = |role: &str| key_of(base, &admin, "acme", role);
    let (archivist, auditor, producer, consumer) = (
        key("archivist"),
        key("auditor"),
        key("producer"),
        key("consumer"),
    );
    let r =
        Client::new(base, &archivist).put(&routes::agreement("ebox"), CRASH_AGREEMENT.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    let text = verifier_text(base);
    World {
        admin,
        archivist,
        auditor,
        producer,
        consumer,
        key: VerifierKey::from_text(&text).unwrap(),
        key_file: tmp_path(dir, "verifier.key", text.as_bytes()),
    }
}

/// Archives the rows and documents, tiers the first part, places the holds; returns the
/// seqs that must be kept and the record keys with a second, not due, version.
fn crash_setup(base: &str, w: &World) -> (BTreeSet<u64>, BTreeMap<String, u64>) {
    // The agreement (seq 0) is the log's own.
    let mut keep = BTreeSet::from([0u64]);
    let mut seqs = BTreeMap::new();
    let mut second = BTreeMap::new();
    let rows = |range: std::ops::Range<u64>| -> Vec<(u64, String)> {
        range
            .map(|i| {
                let sender = if crash_onss(i) { "ONSS" } else { "RSZ" };
                (i, crash_row(i, !crash_not_due(i), sender))
            })
            .collect()
    };
    let mut ingest = |rows: Vec<(u64, String)>| {
        for chunk in rows.chunks(250) {
            let body: Vec<String> = chunk.iter().map(|(_, r)| r.clone()).collect();
            for ((i, _), seq) in chunk.iter().zip(batch(base, &w.producer, &body)) {
                seqs.insert(*i, seq);
            }
        }
    };
    // Two documents share one PDF: the held one keeps it when the due one goes.
    let pdf_a: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    let pdf_b: Vec<u8> = (0..30_000u32).map(|i| (i % 241) as u8).collect();
    ingest(rows(0..COLD_ROWS));
    document(base, &w.producer, "DOC-cold-due", true, &pdf_b);
    let d_held_cold = document(base, &w.producer, "DOC-cold-held", true, &pdf_b);
    tier_run_clean(base, &w.admin);
    ingest(rows(COLD_ROWS..COLD_ROWS + HOT_ROWS));
    document(base, &w.producer, "DOC-hot-due", true, &pdf_a);
    let d_kept_hot = document(base, &w.producer, "DOC-hot-not-due", false, &pdf_a);
    keep.insert(d_kept_hot);
    // Second versions, not due, of some cold rows.
    let again: Vec<u64> = (0..COLD_ROWS)
        .filter(|i| crash_second_version(*i))
        .collect();
    let body: Vec<String> = again.iter().map(|i| crash_row(*i, false, "RSZ")).collect();
    for (i, seq) in again.iter().zip(batch(base, &w.producer, &body)) {
        keep.insert(seq);
        second.insert(crash_key(*i), seq);
    }

    // Holds by package, record key and metadata value.
    hold(
        base,
        &w.archivist,
        &format!(r#"{{"package":{d_held_cold},"reason":"case D-1"}}"#),
    );
    keep.insert(d_held_cold);
    hold(
        base,
        &w.archivist,
        r#"{"field":"sender","value":"ONSS","reason":"inspection ONSS 2026"}"#,
    );
    for (&i, &seq) in &seqs {
        if crash_not_due(i) || crash_onss(i) {
            keep.insert(seq);
        }
        if crash_package_held(i) {
            hold(
                base,
                &w.archivist,
                &format!(r#"{{"package":{seq},"reason":"case P-{i}"}}"#),
            );
            keep.insert(seq);
        }
        if crash_record_held(i) {
            hold(
                base,
                &w.archivist,
                &format!(
                    r#"{{"record":"{}","reason":"dispute R-{i}"}}"#,
                    crash_key(i)
                ),
            );
            keep.insert(seq);
        }
    }
    (keep, second)
}

/// What the apply thread tells the killer.
#[derive(Default)]
struct Progress {
    /// Apply calls started this round.
    calls: AtomicU64,
    /// Duration of the last call that disposed of cold packages, in µs (kept across rounds).
    cold_call_us: AtomicU64,
}

/// `retention apply` in small steps until the connection breaks (the kill); returns the
/// number of dispositions sealed and whether a call was cut short.
fn apply_until_killed(
    base: String,
    archivist: String,
    auditor: String,
    seed: u64,
    checkpoints: Arc<Mutex<Vec<Vec<u8>>>>,
    progress: Arc<Progress>,
) -> (u64, bool) {
    let mut rng = Rng(seed | 1);
    let mut from = 0;
    let mut sealed = 0;
    loop {
        let max = 25 + rng.below(76);
        let body = format!(r#"{{"from":{from},"max_packages":{max}}}"#);
        let started = Instant::now();
        progress.calls.fetch_add(1, Ordering::SeqCst);
        let Ok(r) = Client::new(&base, &archivist).try_send(
            "POST",
            &routes::retention_apply("ebox"),
            None,
            body.as_bytes(),
        ) else {
            return (sealed, true);
        };
        match r.status {
            200 => {
                let j = r.json();
                from = j["next_from"].as_u64().unwrap_or(0);
                if !j["disposed"].is_null() {
                    sealed += 1;
                }
                if j["disposed"]["cold"].as_u64().is_some_and(|n| n > 0) {
                    let us = started.elapsed().as_micros() as u64;
                    progress.cold_call_us.store(us, Ordering::SeqCst);
                }
            }
            // A move holds a package, or the node is busy: nothing was disposed of.
            409 | 503 => sleep_ms(20),
            s => panic!("retention apply: {s} {}", r.text()),
        }
        // Checkpoints published along the way must stay consistent with later ones.
        match Client::new(&base, &auditor).try_send("GET", &routes::checkpoint("ebox"), None, b"") {
            Ok(r) if r.status == 200 => checkpoints.lock().unwrap().push(r.body),
            Ok(_) => {}
            Err(_) => return (sealed, false),
        }
    }
}

/// Due rows, five at a time, until the connection breaks; records their seqs.
fn ingest_until_killed(
    base: String,
    producer: String,
    next: Arc<AtomicU64>,
    acked: Arc<Mutex<Vec<u64>>>,
) {
    loop {
        let first = next.fetch_add(5, Ordering::SeqCst);
        let body: String = (first..first + 5)
            .map(|i| crash_row(i, true, "RSZ") + "\n")
            .collect();
        let Ok(r) = Client::new(&base, &producer).try_send(
            "POST",
            &routes::records_batch("ebox"),
            None,
            body.as_bytes(),
        ) else {
            return;
        };
        match r.status {
            201 => acked.lock().unwrap().extend(
                r.json()["receipts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|j| j["seq"].as_u64().unwrap()),
            ),
            503 => {}
            s => panic!("ingest: {s} {}", r.text()),
        }
        sleep_ms(40);
    }
}

/// Tiering runs now and then until the connection breaks.
fn tier_until_killed(base: String, admin: String, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        let Ok(r) = Client::new(&base, &admin).try_send("POST", &routes::tier_run(), None, b"")
        else {
            return;
        };
        assert_eq!(r.status, 200, "tier run: {}", r.text());
        let errors = r.json()["errors"].clone();
        assert!(errors.as_array().unwrap().is_empty(), "tier run: {errors}");
        sleep_ms(150);
    }
}

/// What [`kill9_during_retention_apply_leaves_nothing_half_disposed`] carries from round to
/// round: the server's files, what the model expects, and what the rounds counted.
struct CrashRun {
    started: Instant,
    rng: Rng,
    dir: tempfile::TempDir,
    data: std::path::PathBuf,
    config: std::path::PathBuf,
    w: World,
    m: Model,
    /// Records whose first version is due and second is not: key and the second's seq.
    second: BTreeMap<String, u64>,
    due_at_start: u64,
    next_row: Arc<AtomicU64>,
    acked: Arc<Mutex<Vec<u64>>>,
    busy_rounds: u64,
    cut_short: u64,
    cut_mid_disposal: u64,
    last: Seen,
    progress: Arc<Progress>,
}

/// The real server over `data`, configured by `config`.
fn serve(data: &Path, config: &Path) -> Process {
    Process::start_args(data, &["--config", config.to_str().unwrap()])
}

/// `kill -9` of the real server at random moments while it disposes of due packages (hot,
/// and cold: segments deleted whole or rewritten without them), ingests and tiers. After
/// every restart, each package reads back with its sealed bytes or answers 410 naming the one
/// disposition that lists it; nothing held or not due is ever disposed of; every certificate
/// verifies; every checkpoint is consistent with the newest; the counts agree. At the end,
/// everything due and unheld is gone, from the cold bucket too.
#[test]
fn kill9_during_retention_apply_leaves_nothing_half_disposed() {
    let mut run = rows_documents_and_holds_checked_once();
    for round in 0..ROUNDS {
        a_round_killed_at_random_reads_back_whole(&mut run, round);
    }
    let (p, fin) = the_last_apply_runs_to_completion(&mut run);
    everything_due_and_unheld_is_gone(&run, &p, &fin);
    the_bucket_holds_each_cold_package_once(&run, &p, &fin);
    enough_rounds_disposed_before_the_kill(&run, &fin);
}

/// The server's first start: rows, documents and holds (crash_setup), checked once.
fn rows_documents_and_holds_checked_once() -> CrashRun {
    let started = Instant::now();
    let seed = std::env::var("ZEGEL_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0xd15b_05a1_u64);
    eprintln!("disposal crash test seed {seed} (set ZEGEL_CRASH_SEED to replay)");
    let rng = Rng(seed | 1);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = tmp_path(dir.path(), "tier.toml", CRASH_TIER);

    let p = serve(&data, &config);
    let w = crash_world(&p.base, &data, dir.path());
    let (keep, second) = crash_setup(&p.base, &w);
    let mut m = Model {
        keep,
        ..Default::default()
    };
    let first = check(&w, &p.base, &mut m, dir.path(), "setup");
    assert_eq!(first.dispositions, 0);
    assert!(first.cold.len() as u64 > COLD_ROWS / 2, "{first:?}");
    let due_at_start = first.size - m.keep.len() as u64;
    eprintln!(
        "setup: {} packages, {} cold, {} to keep, {} due ({:?})",
        first.size,
        first.cold.len(),
        m.keep.len(),
        due_at_start,
        started.elapsed()
    );
    p.kill9();

    let next_row = Arc::new(AtomicU64::new(100_000));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let busy_rounds = 0;
    let cut_short = 0;
    let cut_mid_disposal = 0;
    let last = first;
    let progress = Arc::new(Progress::default());
    CrashRun {
        started,
        rng,
        dir,
        data,
        config,
        w,
        m,
        second,
        due_at_start,
        next_row,
        acked,
        busy_rounds,
        cut_short,
        cut_mid_disposal,
        last,
        progress,
    }
}

/// One round: restart and check everything, now and then audit and hold more, then dispose,
/// ingest and (every third round) tier until a `kill -9` at a random moment.
fn a_round_killed_at_random_reads_back_whole(run: &mut CrashRun, round: u64) {
    let CrashRun {
        started,
        rng,
        dir,
        data,
        config,
        w,
        m,
        next_row,
        acked,
        busy_rounds,
        cut_short,
        cut_mid_disposal,
        last,
        progress,
        ..
    } = run;
    let before_restart = bucket(data);
    let p = serve(data, config);
    let name = format!("round {round}");
    let seen = check(w, &p.base, m, dir.path(), &name);
    let left = leftovers(&before_restart, &seen.disposed);
    if left > 0 {
        *cut_mid_disposal += 1;
    }
    assert!(seen.disposed.len() >= last.disposed.len(), "{name}");
    // The operators' integrity audit agrees, right after a crash too.
    if round % 8 == 7 {
        let audit = audit_clean(&p.base, &w.auditor, &name, true);
        m.keep.insert(audit);
    }
    // Now and then a hold on packages still due: they must stay from now on.
    if round % 5 == 3 {
        let candidates: Vec<u64> = seen
            .live
            .iter()
            .copied()
            .filter(|s| !m.keep.contains(s))
            .collect();
        for _ in 0..3.min(candidates.len()) {
            let seq = candidates[rng.below(candidates.len() as u64) as usize];
            hold(
                &p.base,
                &w.archivist,
                &format!(r#"{{"package":{seq},"reason":"late case {round}"}}"#),
            );
            m.keep.insert(seq);
        }
    }
    // Most rounds start by tiering what the last one archived, so that the first apply
    // steps dispose of cold packages (segments deleted whole or rewritten).
    if round % 4 != 3 {
        tier_run_clean(&p.base, &w.admin);
    }
    progress.calls.store(0, Ordering::SeqCst);
    let checkpoints = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let applier = {
        let (b, a, u, c) = (
            p.base.clone(),
            w.archivist.clone(),
            w.auditor.clone(),
            checkpoints.clone(),
        );
        let (s, pr) = (rng.next(), progress.clone());
        std::thread::spawn(move || apply_until_killed(b, a, u, s, c, pr))
    };
    let ingester = {
        let (b, pr, n, a) = (
            p.base.clone(),
            w.producer.clone(),
            next_row.clone(),
            acked.clone(),
        );
        std::thread::spawn(move || ingest_until_killed(b, pr, n, a))
    };
    // Every third round also tiers while it disposes.
    let tierer = (round % 3 == 2).then(|| {
        let (b, a, s) = (p.base.clone(), w.admin.clone(), stop.clone());
        std::thread::spawn(move || tier_until_killed(b, a, s))
    });
    if round.is_multiple_of(2) {
        // At a random point of one of the first apply calls, where the cold work is.
        let nth = 1 + rng.below(3);
        let waiting = Instant::now();
        while progress.calls.load(Ordering::SeqCst) < nth
            && waiting.elapsed() < Duration::from_secs(30)
        {
            sleep_ms(1);
        }
        let span_us = progress.cold_call_us.load(Ordering::SeqCst).max(20_000);
        std::thread::sleep(Duration::from_micros(rng.below(span_us * 5 / 4)));
    } else {
        sleep_ms(200 + rng.below(2800));
    }
    p.kill9();
    stop.store(true, Ordering::SeqCst);
    let (sealed, cut) = applier.join().unwrap();
    ingester.join().unwrap();
    if let Some(t) = tierer {
        t.join().unwrap();
    }
    m.checkpoints.extend(checkpoints.lock().unwrap().drain(..));
    if sealed > 0 {
        *busy_rounds += 1;
    }
    if cut {
        *cut_short += 1;
    }
    eprintln!(
        "{name}: {} packages, {} disposed in {} dispositions, {} cold, {left} leftover objects of a disposal cut short; this round sealed {sealed}, kill cut a call short: {cut} ({:?})",
        seen.size,
        seen.disposed.len(),
        seen.dispositions,
        seen.cold.len(),
        started.elapsed()
    );
    *last = seen;
}

/// Finish: tier what is left, apply to completion with the CLI, then check everything. The
/// server and what the check saw.
fn the_last_apply_runs_to_completion(run: &mut CrashRun) -> (Process, Seen) {
    let CrashRun {
        dir,
        data,
        config,
        w,
        m,
        ..
    } = run;
    let p = serve(data, config);
    let _ = check(w, &p.base, m, dir.path(), "after the last kill");
    tier_run_clean(&p.base, &w.admin);
    let out = cli(
        &p.base,
        &w.archivist,
        &[
            "retention",
            "apply",
            "--archive",
            "ebox",
            "--max-packages",
            "100",
        ],
    );
    eprintln!("{out}");
    let fin = check(w, &p.base, m, dir.path(), "final");
    (p, fin)
}

/// Everything due and unheld is gone; everything else is there. A record whose first
/// version is gone answers with its second.
fn everything_due_and_unheld_is_gone(run: &CrashRun, p: &Process, fin: &Seen) {
    let CrashRun {
        w,
        m,
        second,
        acked,
        ..
    } = run;
    let wrongly_live: Vec<u64> = fin
        .live
        .iter()
        .copied()
        .filter(|s| !m.keep.contains(s))
        .collect();
    assert!(
        wrongly_live.is_empty(),
        "due, unheld packages survived the final apply: {:?}",
        &wrongly_live[..wrongly_live.len().min(20)]
    );
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked
            .iter()
            .all(|s| m.keep.contains(s) || fin.disposed.contains_key(s))
    );
    for k in &m.keep {
        assert!(fin.live.contains(k), "kept seq {k} is gone");
    }
    let plan = Client::new(&p.base, &w.auditor).get(&routes::retention_plan("ebox"));
    assert_eq!(plan.json()["due_packages"], 0, "{}", plan.text());
    // A record whose first version is gone answers with its second.
    for (key, seq) in second {
        let r = Client::new(&p.base, &w.consumer).read_record("ebox", key);
        assert_eq!(r.status, 200, "{key}: {}", r.text());
        assert_eq!(r.json()["seq"], *seq, "{key}: {}", r.text());
    }
}

/// The cold bucket holds each cold package exactly once, and nothing disposed of; the cold
/// bytes counted are the bytes of the segment objects left; the bucket audits clean.
fn the_bucket_holds_each_cold_package_once(run: &CrashRun, p: &Process, fin: &Seen) {
    let CrashRun { data, w, .. } = run;
    let objects = bucket(data);
    let mut holders: BTreeMap<u64, Vec<&String>> = BTreeMap::new();
    for (k, seqs) in &objects {
        for s in seqs {
            assert!(
                !fin.disposed.contains_key(s),
                "{k} still holds disposed seq {s}"
            );
            holders.entry(*s).or_default().push(k);
        }
    }
    for (s, ks) in &holders {
        assert_eq!(ks.len(), 1, "seq {s} is in {ks:?}");
    }
    let in_bucket: BTreeSet<u64> = holders.keys().copied().collect();
    assert_eq!(in_bucket, fin.cold, "the bucket against the cold reads");
    // The cold bytes counted are the bytes of the segment objects left.
    let root = data.join("cold");
    let bytes: u64 = objects
        .keys()
        .map(|k| std::fs::metadata(root.join(k)).unwrap().len())
        .sum();
    let t = archive_tier(&p.base, &w.admin, "ebox");
    assert_eq!(t["cold_bytes"], bytes, "{t}");
    audit_clean(&p.base, &w.auditor, "final", false);
}

/// Half the rounds or more disposed of something before the kill, and at least what was
/// due at the start is gone.
fn enough_rounds_disposed_before_the_kill(run: &CrashRun, fin: &Seen) {
    let CrashRun {
        started,
        due_at_start,
        busy_rounds,
        cut_short,
        cut_mid_disposal,
        ..
    } = run;
    eprintln!(
        "done: {} dispositions of {} packages; {busy_rounds} of {ROUNDS} rounds sealed dispositions, {cut_short} kills cut an apply call short, {cut_mid_disposal} restarts found a disposal's leftovers in the bucket ({:?})",
        fin.dispositions,
        fin.disposed.len(),
        started.elapsed()
    );
    assert!(
        *busy_rounds >= ROUNDS / 2,
        "only {busy_rounds} of {ROUNDS} rounds disposed of anything before the kill"
    );
    assert!(fin.disposed.len() as u64 >= *due_at_start);
}

// ---------------------------------------------------------------------------------------
// Test 2: no path but the two disposing ones deletes archived content.
// ---------------------------------------------------------------------------------------

/// 2036-02-01T00:00:00Z: every row (sent in 2025, kept 10 years) and document is due.
const AFTER_RETENTION_MS: u64 = 2_085_436_800_000;

/// The only operations that may dispose of archived content; never called here. This test
/// matches the routes as the OpenAPI document spells their templates, so it spells them so.
const DISPOSING: [(&str, &str); 2] = [
    ("post", "/v1/archives/{archive}/retention/apply"),
    ("post", "/v1/archives/{archive}/erasures/{id}/approve"),
];

/// Revoking keys comes last.
const REVOKE: (&str, &str) = ("post", "/v1/tenants/{tenant}/keys/{id}/revoke");

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// The court files' agreement ([`DOCS`]) keeping documents one year: those filed in 2024 are
/// due before the test starts.
fn files_agreement() -> String {
    DOCS.replace(r#""years": 30"#, r#""years": 1"#)
}

/// Server errors met (a read route failing is not this test's matter, but it is reported).
static SERVER_ERRORS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Sends a request; nothing may answer 410 Gone.
fn hit(client: &Client, method: &str, route: &str, ct: Option<&str>, body: &[u8]) -> Resp {
    let r = client.send_typed(method, route, ct, body);
    assert_ne!(r.status, 410, "{method} {route}: {}", r.text());
    if r.status >= 500 {
        let e = format!("{method} {route}: {} {}", r.status, r.text());
        eprintln!("server error: {e}");
        SERVER_ERRORS.lock().unwrap().push(e);
    }
    r
}

/// The sealed bytes of every package of the watched archives, re-read after each step.
struct Guard {
    base: String,
    admin: String,
    /// An auditor key nothing revokes.
    reader: String,
    sealed: BTreeMap<&'static str, BTreeMap<u64, Vec<u8>>>,
}

impl Guard {
    /// Every package read before still reads back the same; nothing is disposed of.
    fn check(&mut self, after: &str) {
        let t = Client::new(&self.base, &self.admin).get(&routes::tier());
        assert_eq!(t.status, 200, "{}", t.text());
        let t = t.json();
        for a in t["archives"].as_array().unwrap() {
            assert_eq!(a["disposed_packages"], 0, "after {after}: {a}");
        }
        for (archive, sealed) in self.sealed.iter_mut() {
            let d = Client::new(&self.base, &self.reader).get(&routes::dispositions(archive));
            assert_eq!(d.status, 200, "{}", d.text());
            assert_eq!(
                d.json()["dispositions"],
                serde_json::json!([]),
                "after {after}: {archive}"
            );
            let size = t["archives"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["tenant"] == "acme" && a["archive"] == *archive)
                .unwrap()["packages"]
                .as_u64()
                .unwrap();
            assert!(
                size >= sealed.len() as u64,
                "after {after}: {archive} shrank"
            );
            for (seq, r) in read_all(&self.base, &self.reader, archive, size)
                .into_iter()
                .enumerate()
            {
                let seq = seq as u64;
                match r {
                    Read::Live { sealed: bytes, .. } => match sealed.get(&seq) {
                        Some(before) => assert!(
                            *before == bytes,
                            "after {after}: {archive} seq {seq} reads back other bytes"
                        ),
                        None => {
                            sealed.insert(seq, bytes);
                        }
                    },
                    Read::Gone { disposition } => panic!(
                        "after {after}: {archive} seq {seq} was disposed of by {disposition}"
                    ),
                }
            }
        }
    }
}

/// A request's content type and body.
type Body = (Option<String>, Option<Vec<u8>>);
/// A request's path and query, content type and body.
type Request = (String, Option<String>, Option<Vec<u8>>);

/// What the requests name: packages, keys, objects.
struct Fixture {
    base: String,
    admin: String,
    archivist: String,
    /// Per archive: seqs to read (hot and cold), a record key (URL-encoded), an object name.
    seqs: BTreeMap<&'static str, Vec<u64>>,
    keys: BTreeMap<&'static str, &'static str>,
    objects: BTreeMap<&'static str, (u64, String)>,
    pdf: Vec<u8>,
    n: u64,
}

impl Fixture {
    fn next(&mut self) -> u64 {
        self.n += 1;
        self.n
    }

    fn size(&self, archive: &str) -> u64 {
        log_size(&self.base, &self.archivist, archive)
    }

    /// A hold or an erasure request to lift or reject, placed by the archivist.
    fn fresh(&mut self, archive: &str, what: &str) -> String {
        let (route, body) = match what {
            "holds" => (
                routes::holds(archive),
                r#"{"package":1,"reason":"to be lifted"}"#.to_string(),
            ),
            "audits" => (
                routes::audits(archive),
                r#"{"sample_percent":100}"#.to_string(),
            ),
            _ => (
                routes::erasures(archive),
                format!(
                    r#"{{"package":1,"basis":"request {} to be rejected"}}"#,
                    self.next()
                ),
            ),
        };
        let r = hit(
            &Client::new(&self.base, &self.archivist),
            "POST",
            &route,
            Some("application/json"),
            body.as_bytes(),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["id"].as_str().unwrap().to_string()
    }

    /// A new key, to be revoked.
    fn victim(&mut self) -> String {
        let r = hit(
            &Client::new(&self.base, &self.admin),
            "POST",
            &routes::tenant_keys("acme"),
            Some("application/json"),
            br#"{"role":"consumer"}"#,
        );
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["key"]["id"].as_str().unwrap().to_string()
    }

    /// The next version of an archive's agreement, with a shorter retention.
    fn next_agreement(&self, archive: &str) -> String {
        let r = Client::new(&self.base, &self.archivist).get(&routes::agreement(archive));
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json()["agreement"]["version"].as_u64().unwrap() + 1;
        let (doc, from, to) = match archive {
            "ebox" => (AGREEMENT.to_string(), r#""years": 10"#, r#""years": 1"#),
            _ => (files_agreement(), r#""years": 1"#, r#""days": 30"#),
        };
        doc.replace("\"version\": 1,", &format!("\"version\": {v},"))
            .replace(from, to)
    }

    fn document(&mut self) -> (Vec<u8>, String) {
        let n = self.next();
        let sip = format!(
            r#"{{"key":"C-{n:04}/extra","metadata":{{"case":"C-{n:04}","filed_on":"2024-05-06"}},"sha256":{{"ruling.pdf":"{}"}}}}"#,
            sha256(&self.pdf).to_hex()
        );
        multipart(&[
            ("sip", None, "application/json", sip.as_bytes()),
            ("file", Some("ruling.pdf"), "application/pdf", &self.pdf),
        ])
    }

    /// The requests made of one documented operation with one token: (path and query,
    /// content type, body). Ids that the call uses up (holds to lift, requests to reject,
    /// keys to revoke) are made fresh for each. The routes are made from the documented
    /// templates, whatever they are, so that a new route is called too.
    fn requests(&mut self, method: &str, path: &str) -> Vec<Request> {
        let archives: Vec<&'static str> = if path.contains("{archive}") {
            vec!["ebox", "files"]
        } else {
            vec!["ebox"]
        };
        let json = |s: String| (Some("application/json".to_string()), Some(s.into_bytes()));
        let mut out = Vec::new();
        for archive in archives {
            let id = if path.ends_with("/holds/{id}/lift") {
                self.fresh(archive, "holds")
            } else if path.ends_with("/erasures/{id}/reject") {
                self.fresh(archive, "erasures")
            } else if path.contains("/audits/{id}") {
                self.fresh(archive, "audits")
            } else if (method, path) == REVOKE {
                self.victim()
            } else {
                "no-such-id".to_string()
            };
            let (name_seq, name) = self.objects[archive].clone();
            let seqs: Vec<u64> = if path.contains("{name}") {
                vec![name_seq]
            } else if path.contains("{seq}") {
                self.seqs[archive].clone()
            } else {
                vec![0]
            };
            for seq in seqs {
                let url = path
                    .replace("{archive}", archive)
                    .replace("{tenant}", "acme")
                    .replace("{seq}", &seq.to_string())
                    .replace("{key}", self.keys[archive])
                    .replace("{name}", &name)
                    .replace("{id}", &id);
                assert!(
                    !url.contains('{'),
                    "{method} {path}: a path parameter this test does not know; teach Fixture::requests"
                );
                let size = self.size(archive);
                let variants: Vec<(String, Body)> = match (method, path) {
                    ("get", p) if p.ends_with("/packages") => vec![
                        (String::new(), (None, None)),
                        (
                            if archive == "ebox" {
                                "?sender=RSZ"
                            } else {
                                "?case=C-0001"
                            }
                            .to_string(),
                            (None, None),
                        ),
                    ],
                    ("get", p) if p.ends_with("/proofs/inclusion") => {
                        vec![(format!("?seq=1&size={size}"), (None, None))]
                    }
                    ("get", p) if p.ends_with("/proofs/consistency") => {
                        vec![(format!("?from=1&to={size}"), (None, None))]
                    }
                    ("get", p) if p.ends_with("/retention/plan") => vec![
                        (String::new(), (None, None)),
                        ("?at=2040-01-01T00:00:00Z".to_string(), (None, None)),
                    ],
                    ("get", p) if p.ends_with("/holds") => vec![
                        (String::new(), (None, None)),
                        ("?all=true".to_string(), (None, None)),
                    ],
                    ("get", "/v1/usage") => vec![
                        (String::new(), (None, None)),
                        ("?tenant=acme".to_string(), (None, None)),
                    ],
                    ("get", p) if p.ends_with("/records/{key}") => vec![
                        (String::new(), (None, None)),
                        ("?version=1".to_string(), (None, None)),
                    ],
                    ("post", "/v1/tenants") => {
                        let n = self.next();
                        vec![(String::new(), json(format!(r#"{{"tenant":"extra-{n}"}}"#)))]
                    }
                    ("post", "/v1/tenants/{tenant}/keys") => vec![
                        (String::new(), json(r#"{"role":"auditor"}"#.into())),
                        (
                            String::new(),
                            json(r#"{"role":"archivist","archives":["ebox"]}"#.into()),
                        ),
                    ],
                    ("put", p) if p.ends_with("/agreement") => {
                        vec![(String::new(), json(self.next_agreement(archive)))]
                    }
                    ("post", p) if p.ends_with("/records") => {
                        let n = self.next();
                        vec![(String::new(), json(month_row(10_000 + n)))]
                    }
                    ("post", p) if p.ends_with("/records/batch") => {
                        let n = self.next() * 10;
                        let rows =
                            format!("{}\n{}\n", month_row(20_000 + n), month_row(20_001 + n));
                        vec![(
                            String::new(),
                            (Some("application/x-ndjson".into()), Some(rows.into_bytes())),
                        )]
                    }
                    ("post", p) if p.ends_with("/packages") => {
                        let (body, ct) = self.document();
                        vec![(String::new(), (Some(ct), Some(body)))]
                    }
                    ("post", p) if p.ends_with("/holds") => vec![
                        (
                            String::new(),
                            json(r#"{"package":1,"reason":"case 1"}"#.into()),
                        ),
                        (
                            String::new(),
                            json(format!(
                                r#"{{"record":"{}","reason":"case 2"}}"#,
                                self.keys[archive].replace("%2F", "/")
                            )),
                        ),
                        (
                            String::new(),
                            json(r#"{"field":"sender","value":"RSZ","reason":"case 3"}"#.into()),
                        ),
                    ],
                    ("post", p) if p.ends_with("/lift") => {
                        vec![(String::new(), json(r#"{"reason":"case closed"}"#.into()))]
                    }
                    ("post", p) if p.ends_with("/erasures") => vec![
                        (
                            String::new(),
                            json(r#"{"package":1,"basis":"GDPR art. 17, request 1"}"#.into()),
                        ),
                        (
                            String::new(),
                            json(format!(
                                r#"{{"record":"{}","basis":"court order 2036/2"}}"#,
                                self.keys[archive].replace("%2F", "/")
                            )),
                        ),
                    ],
                    ("post", p) if p.ends_with("/reject") => {
                        vec![(String::new(), json(r#"{"reason":"no legal basis"}"#.into()))]
                    }
                    // Anything else (checkpoints, tier runs, revocations, new routes) is
                    // called as it is, and with an empty JSON object.
                    ("get", _) => vec![(String::new(), (None, None))],
                    _ => vec![
                        (String::new(), (None, None)),
                        (String::new(), json("{}".into())),
                    ],
                };
                for (query, (ct, body)) in variants {
                    out.push((format!("{url}{query}"), ct, body));
                }
            }
        }
        out
    }
}
/// The node of [`no_other_path_deletes_archived_data`], past retention: acme's rows and
/// documents, hot and cold, and what watches and feeds the calls made of it.
struct Untouchable {
    _clock: ManualClock,
    node: InProcess,
    base: String,
    admin: String,
    auditor: String,
    archivist: String,
    /// An auditor key nothing revokes.
    reader: String,
    guard: Guard,
    fx: Fixture,
    /// A client of each role, and one without a token.
    tokens: [(&'static str, Client); 6],
    /// Every `method path (role)` that answered 2xx.
    succeeded: BTreeSet<String>,
}

/// Once retention has ended, every documented route and method but `retention apply` and
/// erasure approval, called with every role (placing and lifting holds, requesting and
/// rejecting erasures, tiering, checkpoints, new agreement versions, revoking keys last),
/// every undocumented write method on every path, and the CLI commands that write, leave
/// every package readable with its sealed bytes: no disposition, no 410, nothing counted
/// as disposed. The routes come from the live `/openapi.json`, so a new one is covered.
#[test]
fn no_other_path_deletes_archived_data() {
    let mut w = rows_and_documents_hot_and_cold_past_retention();
    let (doc, ops) = every_documented_operation_but_the_disposing_ones(&w);
    let (last, first): (Vec<_>, Vec<_>) = ops
        .iter()
        .cloned()
        .partition(|(m, p)| (m.as_str(), p.as_str()) == REVOKE);
    every_role_calls_each_operation_and_nothing_is_gone(&mut w, &first);
    undocumented_write_methods_are_refused(&mut w, &doc);
    the_cli_commands_that_write_dispose_of_nothing(&mut w);
    // Revocations, last.
    every_role_calls_each_operation_and_nothing_is_gone(&mut w, &last);
    nothing_was_erased_and_the_calls_did_real_work(&mut w, ops.len());
}

/// Rows and documents, most of them moved to the cold tier, some still hot; then retention
/// ends: disposal would be allowed by time now.
fn rows_and_documents_hot_and_cold_past_retention() -> Untouchable {
    let clock = ManualClock::new(START_MS);
    let node = InProcess::start_manual(tempfile::tempdir().unwrap(), &clock);
    let Acme {
        base,
        admin,
        producer,
        consumer,
        auditor,
        archivist,
    } = node.acme();
    let reader = key_of(&base, &admin, "acme", "auditor");
    let r = Client::new(&base, &archivist).put(&routes::agreement("files"), files_agreement());
    assert_eq!(r.status, 201, "{}", r.text());

    // Rows and documents, most of them moved to the cold tier, some still hot.
    let pdf: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    let as_producer = Client::new(&base, &producer);
    let upload = |key: &str, case: &str| {
        let sip = format!(
            r#"{{"key":"{key}","metadata":{{"case":"{case}","filed_on":"2024-05-06"}},"sha256":{{"ruling.pdf":"{}"}}}}"#,
            sha256(&pdf).to_hex()
        );
        let (body, ct) = multipart(&[
            ("sip", None, "application/json", sip.as_bytes()),
            ("file", Some("ruling.pdf"), "application/pdf", &pdf),
            (
                "file",
                Some("note.txt"),
                "text/plain",
                format!("hearing of {case}\n").as_bytes(),
            ),
        ]);
        let r = hit(
            &as_producer,
            "POST",
            &routes::packages("files"),
            Some(&ct),
            &body,
        );
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["seq"].as_u64().unwrap()
    };
    let rows = |range: std::ops::Range<u64>| {
        let body: String = range.map(|i| month_row(i) + "\n").collect();
        let r = hit(
            &as_producer,
            "POST",
            &routes::records_batch("ebox"),
            None,
            body.as_bytes(),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    };
    rows(0..40);
    let doc_cold = upload("C-0001/ruling", "C-0001");
    upload("C-0002/ruling", "C-0002");
    clock.advance(184 * DAY_MS);
    let as_admin = Client::new(&base, &admin);
    let r = hit(&as_admin, "POST", &routes::tier_run(), None, b"");
    assert_eq!(r.status, 200, "{}", r.text());
    rows(40..60);
    let doc_hot = upload("C-0003/ruling", "C-0003");
    let mut guard = Guard {
        base: base.clone(),
        admin: admin.clone(),
        reader: reader.clone(),
        sealed: BTreeMap::from([("ebox", BTreeMap::new()), ("files", BTreeMap::new())]),
    };
    guard.check("setup");
    let tier_before = as_admin.get(&routes::tier()).json();
    for a in tier_before["archives"].as_array().unwrap() {
        if a["tenant"] == "acme" && (a["archive"] == "ebox" || a["archive"] == "files") {
            assert!(a["cold_packages"].as_u64().unwrap() > 0, "{a}");
            assert!(a["hot_packages"].as_u64().unwrap() > 0, "{a}");
        }
    }
    assert_eq!(guard.sealed["ebox"].len(), 61);
    assert_eq!(guard.sealed["files"].len(), 4);

    // Retention has ended: disposal would be allowed by time now.
    clock.set(AFTER_RETENTION_MS);
    for archive in ["ebox", "files"] {
        let p = Client::new(&base, &auditor).get(&routes::retention_plan(archive));
        let due = p.json()["due_packages"].as_u64().unwrap();
        assert!(
            due >= guard.sealed[archive].len() as u64 - 1,
            "{}",
            p.text()
        );
    }

    let ebox_obj = Client::new(&base, &consumer).package("ebox", "1").json()["objects"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let fx = Fixture {
        base: base.clone(),
        admin: admin.clone(),
        archivist: archivist.clone(),
        seqs: BTreeMap::from([
            ("ebox", vec![0, 1, 39, 60]),
            ("files", vec![0, doc_cold, doc_hot]),
        ]),
        keys: BTreeMap::from([("ebox", "EBX-2025-000000001"), ("files", "C-0001%2Fruling")]),
        objects: BTreeMap::from([
            ("ebox", (1, ebox_obj)),
            ("files", (doc_cold, "ruling.pdf".to_string())),
        ]),
        pdf: pdf.clone(),
        n: 0,
    };
    let tokens = [
        ("admin", as_admin),
        ("archivist", Client::new(&base, &archivist)),
        ("auditor", Client::new(&base, &auditor)),
        ("producer", as_producer),
        ("consumer", Client::new(&base, &consumer)),
        ("no token", Client::anonymous(&base)),
    ];
    Untouchable {
        _clock: clock,
        node,
        base,
        admin,
        auditor,
        archivist,
        reader,
        guard,
        fx,
        tokens,
        succeeded: BTreeSet::new(),
    }
}

/// Every documented operation, from the live document, but the two that dispose; revocations
/// last, so that every other call still has its key. The document and the operations.
fn every_documented_operation_but_the_disposing_ones(
    w: &Untouchable,
) -> (serde_json::Value, Vec<(String, String)>) {
    let Untouchable { base, .. } = w;
    let doc = Client::anonymous(base).get(&routes::openapi()).json();
    let paths = doc["paths"].as_object().unwrap();
    let mut ops: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| (m.to_string(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    for (m, p) in DISPOSING.iter().chain([&REVOKE]) {
        assert!(
            ops.iter().any(|(om, op)| om == m && op == p),
            "{m} {p} is not documented any more: update this test"
        );
    }
    ops.retain(|(m, p)| !DISPOSING.contains(&(m.as_str(), p.as_str())));
    // Revocations last, so that every other call still has its key.
    ops.sort_by_key(|(m, p)| (m.as_str(), p.as_str()) == REVOKE);
    assert!(ops.len() >= 35, "{} operations documented", ops.len());
    (doc, ops)
}

/// Each of `ops` with every role (and none), every request [`Fixture::requests`] makes of it;
/// after each operation every package still reads back the same.
fn every_role_calls_each_operation_and_nothing_is_gone(
    w: &mut Untouchable,
    ops: &[(String, String)],
) {
    let Untouchable {
        tokens,
        fx,
        guard,
        succeeded,
        ..
    } = w;
    for (method, path) in ops {
        for (role, client) in tokens.iter() {
            for (route, ct, body) in fx.requests(method, path) {
                let r = hit(
                    client,
                    &method.to_uppercase(),
                    &route,
                    ct.as_deref(),
                    body.as_deref().unwrap_or_default(),
                );
                if (200..300).contains(&r.status) {
                    succeeded.insert(format!("{method} {path} ({role})"));
                }
            }
        }
        guard.check(&format!("{method} {path}"));
    }
}

/// Write methods no path documents are refused outright.
fn undocumented_write_methods_are_refused(w: &mut Untouchable, doc: &serde_json::Value) {
    let paths = doc["paths"].as_object().unwrap();
    let Untouchable { guard, tokens, .. } = w;
    for (path, item) in paths {
        for method in ["delete", "put", "patch"] {
            if item.get(method).is_some() {
                continue;
            }
            let url = path
                .replace("{archive}", "ebox")
                .replace("{tenant}", "acme")
                .replace("{seq}", "1")
                .replace("{key}", "EBX-2025-000000001")
                .replace("{name}", "x")
                .replace("{id}", "hold-1");
            for (_, client) in tokens.iter() {
                let r = hit(
                    client,
                    &method.to_uppercase(),
                    &url,
                    Some("application/json"),
                    b"{}",
                );
                assert_eq!(r.status, 405, "{method} {path}: {}", r.text());
            }
        }
    }
    guard.check("undocumented methods");
}

/// `zegel ARGS` as `token`: its output as JSON, or as a JSON string when it is not JSON.
fn zegel_json(base: &str, token: &str, args: &[&str]) -> serde_json::Value {
    let out = cli(base, token, args);
    serde_json::from_str(&out).unwrap_or(serde_json::Value::String(out))
}

/// The CLI commands that write: holds, erasure requests and rejections, tiering, a new
/// agreement version, a tenant, an audit, a key and its revocation.
fn the_cli_commands_that_write_dispose_of_nothing(w: &mut Untouchable) {
    cli_holds_and_erasure_requests_dispose_of_nothing(w);
    cli_tiering_agreement_tenant_and_audit_dispose_of_nothing(w);
    cli_keys_and_listings_dispose_of_nothing(w);
}

/// Holds placed by package, record and query and one removed; erasures requested by package
/// and record and one rejected.
fn cli_holds_and_erasure_requests_dispose_of_nothing(w: &mut Untouchable) {
    let Untouchable {
        base,
        archivist,
        guard,
        ..
    } = w;
    let h = zegel_json(
        base,
        archivist,
        &[
            "hold",
            "add",
            "ebox",
            "--package",
            "1",
            "--reason",
            "cli case",
            "--json",
        ],
    );
    guard.check("zegel hold add --package");
    zegel_json(
        base,
        archivist,
        &[
            "hold",
            "add",
            "files",
            "--record",
            "C-0001/ruling",
            "--reason",
            "cli case 2",
            "--json",
        ],
    );
    guard.check("zegel hold add --record");
    zegel_json(
        base,
        archivist,
        &[
            "hold",
            "add",
            "ebox",
            "--query",
            "sender=RSZ",
            "--reason",
            "cli case 3",
            "--json",
        ],
    );
    guard.check("zegel hold add --query");
    zegel_json(
        base,
        archivist,
        &[
            "hold",
            "remove",
            "ebox",
            h["id"].as_str().unwrap(),
            "--reason",
            "closed",
        ],
    );
    guard.check("zegel hold remove");
    let e = zegel_json(
        base,
        archivist,
        &[
            "erasure",
            "request",
            "ebox",
            "--package",
            "2",
            "--basis",
            "GDPR art. 17",
            "--json",
        ],
    );
    guard.check("zegel erasure request --package");
    zegel_json(
        base,
        archivist,
        &[
            "erasure",
            "request",
            "files",
            "--record",
            "C-0002/ruling",
            "--basis",
            "court order",
            "--json",
        ],
    );
    guard.check("zegel erasure request --record");
    zegel_json(
        base,
        archivist,
        &[
            "erasure",
            "reject",
            "ebox",
            e["id"].as_str().unwrap(),
            "--reason",
            "no basis",
        ],
    );
    guard.check("zegel erasure reject");
}

/// Tiering, a new agreement version, a new tenant; the audit records itself in each log.
fn cli_tiering_agreement_tenant_and_audit_dispose_of_nothing(w: &mut Untouchable) {
    let Untouchable {
        node,
        base,
        admin,
        auditor,
        archivist,
        guard,
        fx,
        ..
    } = w;
    zegel_json(base, admin, &["tier", "run"]);
    guard.check("zegel tier run");
    let file = tmp_path(
        node.dir.path(),
        "agreement.json",
        fx.next_agreement("ebox").as_bytes(),
    );
    zegel_json(
        base,
        archivist,
        &["agreement", "apply", "ebox", file.to_str().unwrap()],
    );
    guard.check("zegel agreement apply");
    zegel_json(base, admin, &["tenant", "create", "cli-tenant"]);
    guard.check("zegel tenant create");
    // The audit records itself in each log; it finds only what retention has left due (the
    // files nothing holds), and exits non-zero for it.
    let (_, out, err) = cli_run(
        base,
        auditor,
        &["audit", "--archive", "ebox", "--archive", "files"],
    );
    let found: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.contains(" CHECK "))
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(
        !found.is_empty() && found.iter().all(|l| l.contains("retention.overdue")),
        "zegel audit: {out}{err}"
    );
    guard.check("zegel audit");
}

/// A key created and revoked, and the listings between.
fn cli_keys_and_listings_dispose_of_nothing(w: &mut Untouchable) {
    let Untouchable {
        base,
        admin,
        auditor,
        archivist,
        guard,
        ..
    } = w;
    let k = zegel_json(
        base,
        admin,
        &[
            "key",
            "create",
            "--tenant",
            "acme",
            "--role",
            "archivist",
            "--json",
        ],
    );
    guard.check("zegel key create");
    for (token, args) in [
        (auditor.as_str(), vec!["retention", "plan"]),
        (auditor.as_str(), vec!["disposition", "list", "ebox"]),
        (auditor.as_str(), vec!["hold", "list", "ebox", "--all"]),
        (archivist.as_str(), vec!["erasure", "list", "ebox"]),
        (admin.as_str(), vec!["tier", "status"]),
    ] {
        zegel_json(base, token, &args);
    }
    zegel_json(
        base,
        admin,
        &[
            "key",
            "revoke",
            "--tenant",
            "acme",
            k["key"]["id"].as_str().unwrap(),
        ],
    );
    guard.check("zegel key revoke");
}

/// Nothing was erased, and the calls did real work (they were not all refused).
fn nothing_was_erased_and_the_calls_did_real_work(w: &mut Untouchable, ops: usize) {
    let Untouchable {
        base,
        reader,
        guard,
        succeeded,
        ..
    } = w;
    for archive in ["ebox", "files"] {
        let r = Client::new(base, reader).get(&routes::erasures(archive));
        assert_eq!(r.status, 200, "{}", r.text());
        for e in r.json()["erasures"].as_array().unwrap() {
            assert_ne!(e["state"], "erased", "{e}");
        }
    }
    // Operations as `Fixture::requests` names them: the documented templates.
    for must_work in [
        "post /v1/archives/{archive}/holds (archivist)",
        "post /v1/archives/{archive}/holds/{id}/lift (archivist)",
        "post /v1/archives/{archive}/erasures (archivist)",
        "post /v1/archives/{archive}/erasures/{id}/reject (archivist)",
        "put /v1/archives/{archive}/agreement (archivist)",
        "post /v1/tier/run (admin)",
        "post /v1/archives/{archive}/checkpoint (auditor)",
        "post /v1/tenants/{tenant}/keys/{id}/revoke (admin)",
        "post /v1/archives/{archive}/records/batch (producer)",
        "post /v1/archives/{archive}/packages (producer)",
        "post /v1/archives/{archive}/audits/{id}/step (auditor)",
    ] {
        assert!(
            succeeded.contains(must_work),
            "{must_work} never succeeded: {succeeded:?}"
        );
    }
    guard.check("the end");
    let errors = SERVER_ERRORS.lock().unwrap().clone();
    eprintln!("{} server errors: {errors:#?}", errors.len());
    eprintln!(
        "{} operations, {} of them succeeded with some role",
        ops,
        succeeded.len()
    );
}
