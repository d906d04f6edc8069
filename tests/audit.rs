//! Integrity audits (issue #6): a clean archive audits clean and the audit is sealed into its
//! log; faults injected into the hot store, the cold bucket and the signed checkpoints are
//! each found and named (package, object, check, expected against found), over 50 random
//! injections.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use zegel::clock::ManualClock;
use zegel::store::{Batch, Store, cf};

use crate::support::*;

const COLD_ROWS: u64 = 120;
const HOT_ROWS: u64 = 60;

fn start(dir: tempfile::TempDir, clock: &ManualClock) -> InProcess {
    let mut cfg = manual_tier_config(dir.path());
    cfg.tier.move_packages = 50;
    InProcess::start_config(dir, cfg, Arc::new(clock.clone()))
}

/// Runs one whole audit of `ebox` through the API, in steps of 64; the finished run.
fn audit(base: &str, token: &str) -> serde_json::Value {
    run_audit(base, token, "ebox", 64)
}

fn findings(run: &serde_json::Value) -> Vec<serde_json::Value> {
    run["findings"].as_array().unwrap().clone()
}

/// The archive `ebox` in a stopped node's hot store: (store, archive id).
fn open_hot(data: &Path) -> (Store, u64) {
    let store = Store::open(&data.join("hot")).unwrap();
    let id = (1..20)
        .find(|&id| {
            zegel::archive::state::ArchiveState::load(&store, id).is_ok_and(|s| s.archive == "ebox")
        })
        .expect("archive ebox");
    (store, id)
}

fn segment_files(data: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![data.join("cold/v2/acme/ebox/segments")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn segment_seqs(path: &Path) -> Vec<u64> {
    let index = zegel::format::segment::open_segment(&std::fs::read(path).unwrap()).unwrap();
    index.packages.iter().map(|p| p.seq).collect()
}

/// A tiny deterministic generator, so a failing injection can be replayed (its own sequence,
/// not [`Rng`]'s: the faults it picks are the ones this test has always injected).
struct FaultDice(u64);

impl FaultDice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// What was changed, to be put back after the audit.
enum Undo {
    Hot(&'static str, Vec<u8>, Vec<u8>),
    Files(Vec<(PathBuf, Vec<u8>)>),
}

#[test]
fn a_clean_archive_audits_clean_and_the_audit_is_sealed_in_its_log() {
    let clock = ManualClock::new(START_MS);
    let node = start(tempfile::tempdir().unwrap(), &clock);
    let base = node.base.clone();
    let admin = node.admin_token();
    let (producer, consumer, auditor) = setup_tenant(&base, &admin, "acme", "ebox");
    ingest_month_rows(&base, &producer, 0..COLD_ROWS);
    clock.advance(184 * DAY_MS);
    let r = Client::new(&base, &admin).post(&routes::tier_run(), b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let run = audit(&base, &auditor);
    assert_eq!(findings(&run), Vec::<serde_json::Value>::new(), "{run}");
    assert_eq!(run["packages"]["checked"], COLD_ROWS + 1, "{run}");
    assert!(run["log"]["checkpoints"].as_u64().unwrap() >= 1, "{run}");
    // The audit is an entry of the log, readable like any package.
    let seq = run["recorded_seq"].as_u64().unwrap();
    let p = Client::new(&base, &consumer).package("ebox", seq);
    assert_eq!(p.status, 200, "{}", p.text());
    assert_eq!(p.json()["kind"], "audit", "{}", p.text());
    // Sampled, through the CLI: exit status 0 when clean.
    let (ok, out, err) = cli_run(&base, &auditor, &["audit", "--sample", "30"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("ebox"), "{out}");
    // The CLI refuses what it cannot do before it starts an audit: exit status 2, a message.
    let audits_before = cli(&base, &auditor, &["audit", "--archive", "ebox", "--json"]);
    let count = |v: &str| {
        serde_json::from_str::<serde_json::Value>(v).unwrap()["audits"][0]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let last = count(&audits_before);
    for (args, says) in [
        (vec!["audit", "--step", "0"], "--step"),
        (vec!["audit", "--sample", "0"], "--sample"),
        (
            vec![
                "audit",
                "--archive",
                "ebox",
                "--resume",
                &last,
                "--sample",
                "10",
            ],
            "--sample",
        ),
    ] {
        let out = std::process::Command::new(ZEGEL)
            .args(&args)
            .args(["--server", &base])
            .env("ZEGEL_TOKEN", &auditor)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let out = std::process::Command::new(ZEGEL)
        .args(["audit", "--server", &base])
        .env("ZEGEL_TOKEN", &admin)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("sees no archives"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // No audit was started by the refused commands: the next one follows the last.
    let next = count(&cli(
        &base,
        &auditor,
        &["audit", "--archive", "ebox", "--json"],
    ));
    let n = |id: &str| id.trim_start_matches("audit-").parse::<u64>().unwrap();
    assert_eq!(n(&next), n(&last) + 1, "{last} then {next}");
    // Unknown runs and bad samples are refused by name.
    let r = Client::new(&base, &auditor).post(&routes::audits("ebox"), br#"{"sample_percent":0}"#);
    assert_eq!(r.status, 400, "{}", r.text());
    let r = Client::new(&base, &auditor).post(&routes::audit_step("ebox", "audit-99"), b"");
    assert_eq!(r.status, 404, "{}", r.text());
    let r = Client::new(&base, &producer).post(&routes::audits("ebox"), b"");
    assert_eq!(r.status, 403, "{}", r.text());
}

/// A fault [`inject_a_fault`] made: how to put it back, the check the audit must report it
/// under (alternatives split by `|`), the seqs one of which it must name (none for checks
/// about the log as a whole), and for an altered stored leaf the leaf the package really
/// hashes to.
struct Fault {
    undo: Undo,
    check: &'static str,
    seqs: Vec<u64>,
    true_leaf: Option<String>,
}

/// Fifty random faults — a flipped bit in a hot header, a truncated hot object, a flipped bit
/// in a cold segment, a deleted cold segment, two cold segments swapped, an altered signed
/// checkpoint — each found and named; after each is put back the archive audits clean.
#[test]
fn every_injected_fault_is_found_and_named() {
    let clock = ManualClock::new(START_MS);
    let (mut dir, auditor) = cold_and_hot_rows_that_audit_clean(&clock);
    let mut rng = FaultDice(0x5eed_2026_1128);
    let mut seen = std::collections::BTreeSet::new();
    for round in 0..50 {
        let kind = rng.below(8);
        let fault = inject_a_fault(&dir.path().join("data"), kind, round, &mut rng);
        let node = start(dir, &clock);
        the_audit_finds_and_names_the_fault(&node.base, &auditor, &fault, round);
        seen.insert(if round % 10 == 9 { 8 } else { kind });
        dir = node.stop();
        put_back(&dir.path().join("data"), fault.undo);
    }
    assert_eq!(seen.len(), 9, "every kind of fault was injected: {seen:?}");
    clean_again_once_every_fault_is_put_back(dir, &clock, &auditor);
}

/// Cold rows (moved by tiering) and hot rows that audit clean; the stopped node's directory
/// and the auditor's token.
fn cold_and_hot_rows_that_audit_clean(clock: &ManualClock) -> (tempfile::TempDir, String) {
    let node = start(tempfile::tempdir().unwrap(), clock);
    let base = node.base.clone();
    let admin = node.admin_token();
    let (producer, _, auditor) = setup_tenant(&base, &admin, "acme", "ebox");
    ingest_month_rows(&base, &producer, 0..COLD_ROWS);
    clock.advance(184 * DAY_MS);
    let r = Client::new(&base, &admin).post(&routes::tier_run(), b"");
    assert_eq!(r.status, 200, "{}", r.text());
    ingest_month_rows(&base, &producer, COLD_ROWS..COLD_ROWS + HOT_ROWS);
    let cp = Client::new(&base, &auditor).checkpoint("ebox");
    assert_eq!(cp.status, 200, "{}", cp.text());
    assert_eq!(
        findings(&audit(&base, &auditor)),
        Vec::<serde_json::Value>::new()
    );
    (node.stop(), auditor)
}

/// Injects a fault of `kind` (0 to 7; every tenth round the signed checkpoint instead) into
/// the stopped node's data directory `data`.
fn inject_a_fault(data: &Path, kind: u64, round: u64, rng: &mut FaultDice) -> Fault {
    let first_hot = COLD_ROWS + 1;
    // What the audit must report: a check, and the seqs one of which it must name (none
    // for checks about the log as a whole).
    // For an altered stored leaf: the leaf the package really hashes to.
    let mut true_leaf = None;
    let (undo, check, seqs): (Undo, &str, Vec<u64>) = match kind {
        0 | 1 => {
            let (store, id) = open_hot(data);
            let seq = first_hot + rng.below(HOT_ROWS);
            let key = zegel::store::header_key(id, seq).to_vec();
            let v = store.get(cf::HEADERS, &key).unwrap().unwrap();
            let mut bad = v.clone();
            if kind == 0 {
                let bit = rng.below(bad.len() as u64 * 8);
                bad[(bit / 8) as usize] ^= 1 << (bit % 8);
            } else {
                bad.truncate(rng.below(bad.len() as u64) as usize);
            }
            let mut b = Batch::default();
            b.put(cf::HEADERS, &key, &bad);
            store.commit(b).unwrap();
            (Undo::Hot(cf::HEADERS, key, v), "header.leaf", vec![seq])
        }
        2 => {
            let (store, id) = open_hot(data);
            let seq = first_hot + rng.below(HOT_ROWS);
            let h = store
                .get(cf::HEADERS, &zegel::store::header_key(id, seq))
                .unwrap()
                .unwrap();
            let h = zegel::format::header::PackageHeader::decode(&h).unwrap();
            let key = zegel::store::object_key(id, &h.objects[0].digest);
            let v = store.get(cf::OBJECTS, &key).unwrap().unwrap();
            let mut bad = v.clone();
            bad.truncate(8 + rng.below(v.len() as u64 - 8) as usize);
            let mut b = Batch::default();
            b.put(cf::OBJECTS, &key, &bad);
            store.commit(b).unwrap();
            (Undo::Hot(cf::OBJECTS, key, v), "object.digest", vec![seq])
        }
        3 | 4 => {
            let files = segment_files(data);
            let f = files[rng.below(files.len() as u64) as usize].clone();
            let v = std::fs::read(&f).unwrap();
            let seqs = segment_seqs(&f);
            if kind == 3 {
                // A bit in the blocks (before the index and trailer).
                let mut bad = v.clone();
                let at = 8 + rng.below(v.len() as u64 / 2) as usize;
                bad[at] ^= 1 << rng.below(8);
                std::fs::write(&f, &bad).unwrap();
            } else {
                std::fs::remove_file(&f).unwrap();
            }
            // A flipped bit either breaks the block's compression or changes the bytes
            // it inflates to, which then do not restore to the leaf.
            let check = if kind == 3 {
                "cold.block|cold.leaf"
            } else {
                "cold.missing"
            };
            (Undo::Files(vec![(f, v)]), check, seqs)
        }
        6 => {
            // A stored leaf: its package no longer matches it (hot or cold).
            let (store, id) = open_hot(data);
            let seq = 1 + rng.below(COLD_ROWS + HOT_ROWS);
            let key = zegel::store::node_key(id, 0, seq);
            let v = store.get(cf::NODES, &key).unwrap().unwrap();
            true_leaf = Some(
                zegel::format::hash::Hash::from_slice(&v)
                    .unwrap()
                    .to_string(),
            );
            let mut bad = v.clone();
            bad[rng.below(32) as usize] ^= 1 << rng.below(8);
            let mut b = Batch::default();
            b.put(cf::NODES, &key, &bad);
            store.commit(b).unwrap();
            (
                Undo::Hot(cf::NODES, key, v),
                "header.leaf|cold.leaf",
                vec![seq],
            )
        }
        7 => {
            // A stored inner node, which proofs are built from.
            let (store, id) = open_hot(data);
            let leaves = 1 + COLD_ROWS + HOT_ROWS;
            let level = 1 + rng.below(u64::from(leaves.ilog2())) as u32;
            let index = rng.below(leaves >> level);
            let key = zegel::store::node_key(id, level, index);
            let v = store.get(cf::NODES, &key).unwrap().unwrap();
            let mut bad = v.clone();
            bad[rng.below(32) as usize] ^= 1 << rng.below(8);
            let mut b = Batch::default();
            b.put(cf::NODES, &key, &bad);
            store.commit(b).unwrap();
            (Undo::Hot(cf::NODES, key, v), "node.stored", vec![])
        }
        _ => {
            let files = segment_files(data);
            let (i, j) = (rng.below(files.len() as u64) as usize, 0usize);
            let j = if i == j { 1 } else { j };
            let (a, b) = (files[i].clone(), files[j].clone());
            let (va, vb) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
            std::fs::write(&a, &vb).unwrap();
            std::fs::write(&b, &va).unwrap();
            let mut seqs = segment_seqs(&a);
            seqs.extend(segment_seqs(&b));
            (
                Undo::Files(vec![(a, va), (b, vb)]),
                "cold.leaf|cold.block",
                seqs,
            )
        }
    };
    // Every few rounds, the signed checkpoint is altered as well, alone.
    let (undo, check, seqs) = if round % 10 == 9 {
        put_back(data, undo);
        let (store, id) = open_hot(data);
        let (k, v) = store
            .scan_prefix(cf::CHECKPOINTS, &id.to_be_bytes(), 1000)
            .unwrap()
            .pop()
            .unwrap();
        let text = String::from_utf8(v.clone()).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        // The root line: another valid base64 root of 32 bytes.
        lines[2] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
        let bad = lines.join("\n") + "\n";
        let mut b = Batch::default();
        b.put(cf::CHECKPOINTS, &k, bad.as_bytes());
        store.commit(b).unwrap();
        (
            Undo::Hot(cf::CHECKPOINTS, k, v),
            "checkpoint.signature",
            vec![],
        )
    } else {
        (undo, check, seqs)
    };
    Fault {
        undo,
        check,
        seqs,
        true_leaf,
    }
}

/// The audit of the restarted node reports the fault under its check, naming one of its seqs.
fn the_audit_finds_and_names_the_fault(base: &str, auditor: &str, fault: &Fault, round: u64) {
    let (check, seqs, true_leaf) = (fault.check, &fault.seqs, &fault.true_leaf);
    let run = audit(base, auditor);
    let found = findings(&run);
    let named = found.iter().any(|f| {
        check.split('|').any(|c| f["check"] == c)
            && (seqs.is_empty() || f["seq"].as_u64().is_some_and(|s| seqs.contains(&s)))
    });
    assert!(
        named,
        "round {round}: fault {check} over {seqs:?} not reported: {found:?}"
    );
    if check == "header.leaf" {
        let f = found.iter().find(|f| f["check"] == check).unwrap();
        assert!(f["expected"].is_string() && f["found"].is_string(), "{f}");
        assert_ne!(f["expected"], f["found"], "{f}");
    }
    for f in found.iter().filter(|f| f["check"] == "cold.leaf") {
        // Named by the archive's name, and a found leaf (when the package restores)
        // differs from the expected one.
        assert!(!f["detail"].as_str().unwrap().contains("of archive"), "{f}");
        assert_ne!(f["expected"], f["found"], "{f}");
    }
    if let (Some(leaf), false) = (&true_leaf, round % 10 == 9) {
        // The package itself is intact: what it hashes to is the true leaf.
        let f = found
            .iter()
            .find(|f| f["seq"].as_u64() == seqs.first().copied() && f["check"] != "node.stored")
            .unwrap();
        assert_eq!(f["found"].as_str(), Some(leaf.as_str()), "{f}");
    }
    if check == "object.digest" {
        let f = found.iter().find(|f| f["check"] == check).unwrap();
        assert_eq!(f["object"], "record.json", "{f}");
    }
}

/// Clean again once every fault is put back.
fn clean_again_once_every_fault_is_put_back(
    dir: tempfile::TempDir,
    clock: &ManualClock,
    auditor: &str,
) {
    let node = start(dir, clock);
    assert_eq!(
        findings(&audit(&node.base, auditor)),
        Vec::<serde_json::Value>::new(),
        "clean again once every fault is put back"
    );
}

fn put_back(data: &Path, undo: Undo) {
    match undo {
        Undo::Hot(name, k, v) => {
            let (store, _) = open_hot(data);
            let mut b = Batch::default();
            b.put(name, &k, &v);
            store.commit(b).unwrap();
        }
        Undo::Files(files) => {
            for (p, v) in files {
                std::fs::write(p, v).unwrap();
            }
        }
    }
}

fn metric(base: &str, name: &str) -> u64 {
    let m = Client::anonymous(base).get(&routes::metrics());
    m.text()
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// The real server scrubs in the background at its configured pace: it re-checks packages and
/// counts what it finds, here a hot header altered while it was stopped.
#[test]
fn the_background_scrub_rechecks_packages_and_counts_findings() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("zegel.toml");
    std::fs::write(&config, "scrub_packages_per_sec = 500\n").unwrap();
    let args = ["--config", config.to_str().unwrap()];
    let p = Process::start_args(&data, &args);
    let admin = std::fs::read_to_string(data.join("admin.token")).unwrap();
    let (producer, _, _) = setup_tenant(&p.base, admin.trim(), "acme", "ebox");
    ingest_month_rows(&p.base, &producer, 0..40);
    let waited = (0..100).find(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        metric(&p.base, "zegel_scrub_packages_total") >= 41
    });
    assert!(waited.is_some(), "the scrub checked every package");
    assert_eq!(metric(&p.base, "zegel_scrub_findings_total"), 0);
    p.kill9();
    let (store, id) = open_hot(&data);
    let key = zegel::store::header_key(id, 7).to_vec();
    let mut v = store.get(cf::HEADERS, &key).unwrap().unwrap();
    v[10] ^= 0x04;
    let mut b = Batch::default();
    b.put(cf::HEADERS, &key, &v);
    store.commit(b).unwrap();
    drop(store);
    let p = Process::start_args(&data, &args);
    let found = (0..100).find(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        metric(&p.base, "zegel_scrub_findings_total") >= 1
    });
    assert!(found.is_some(), "the scrub found the altered header");
}
