//! Retention, second part (issue #5): disposal. `retention apply` removes what is due and
//! unheld from both tiers as disposition packages of the log; early erasure needs two
//! archivists and yields to legal holds; disposed packages answer 410 while every proof and
//! checkpoint keeps verifying, certificates verify offline with the real `zegel-verify`, and
//! the bucket alone still audits clean.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use zegel::clock::ManualClock;
use zegel::format::checkpoint;
use zegel::format::layout;
use zegel::format::note::VerifierKey;
use zegel::format::proof::{ConsistencyProof, InclusionProof};
use zegel::format::sealed;
use zegel::format::verify::{
    CertificateInputs, SegmentInputs, TileInputs, verify_certificate, verify_segment, verify_tiles,
};

use crate::support::*;

/// 2035-01-15T00:00:00Z: the January rows (due 2035-01-04) are due, February's are not.
const MID_JAN_2035_MS: u64 = 2_052_432_000_000;
/// 2035-02-15T00:00:00Z: the February rows (due 2035-02-04) are due too.
const MID_FEB_2035_MS: u64 = 2_055_110_400_000;

/// A node on `clock` that tiers only when asked, one move for everything.
fn start(clock: &ManualClock) -> InProcess {
    start_in(tempfile::tempdir().unwrap(), clock)
}

/// As [`start`], over the data directory inside `dir` (e.g. again, after a stop).
fn start_in(dir: tempfile::TempDir, clock: &ManualClock) -> InProcess {
    let mut cfg = manual_tier_config(dir.path());
    cfg.tier.move_packages = 1000;
    InProcess::start_config(dir, cfg, Arc::new(clock.clone()))
}

/// A new key of `role`: (key id, token).
fn new_key(base: &str, admin: &str, tenant: &str, role: &str) -> (String, String) {
    let r = Client::new(base, admin).post(
        &routes::tenant_keys(tenant),
        format!(r#"{{"role":"{role}"}}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let j = r.json();
    (
        j["key"]["id"].as_str().unwrap().to_string(),
        j["token"].as_str().unwrap().to_string(),
    )
}

/// A checkpoint signed now, as its note bytes.
fn checkpoint_now(base: &str, auditor: &str, archive: &str) -> Vec<u8> {
    let r = Client::new(base, auditor).checkpoint(archive);
    assert_eq!(r.status, 200, "{}", r.text());
    r.body
}

/// Every route that reads package `seq` of `ebox`'s content: its header, sealed bytes, object.
fn package_routes(seq: u64) -> [String; 3] {
    [
        routes::package("ebox", seq),
        routes::sealed("ebox", seq),
        routes::object("ebox", seq, "record.json"),
    ]
}

/// The disposition seq a 410 names; panics on anything but a 410 problem.
fn gone(r: &Resp, what: &str) -> u64 {
    assert_eq!(r.status, 410, "{what}: {}", r.text());
    assert_eq!(r.content_type, "application/problem+json", "{what}");
    r.json()["disposition"]
        .as_u64()
        .unwrap_or_else(|| panic!("{what}: no disposition member: {}", r.text()))
}

/// One `retention apply` call over HTTP.
fn apply(base: &str, archivist: &str, body: &str) -> serde_json::Value {
    let r = Client::new(base, archivist).post(&routes::retention_apply("ebox"), body);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn dispositions(base: &str, token: &str, archive: &str) -> Vec<serde_json::Value> {
    let r = Client::new(base, token).get(&routes::dispositions(archive));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["dispositions"].as_array().unwrap().clone()
}

/// Runs the real `zegel-verify certificate`; (exit ok, stdout).
fn zegel_verify_certificate(key_file: &Path, cert: &Path) -> (bool, String) {
    let out = Command::new(verify_bin())
        .args(["certificate", "--key"])
        .arg(key_file)
        .arg(cert)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The disposition record inside a certificate.
/// Every object key under the node's local cold store, sorted.
fn cold_keys(root: &Path) -> Vec<String> {
    let mut keys = Vec::new();
    list_files(root, root, &mut keys);
    keys.sort();
    keys
}

/// Audits `tenant/archive` in the bucket alone: the newest checkpoint copy and its tiles
/// verify, and every segment restores against the tiles' leaves. Returns the segment keys.
fn audit_bucket(root: &Path, tenant: &str, archive: &str, key: &VerifierKey) -> Vec<String> {
    let keys = cold_keys(root);
    let prefix = format!("v2/{tenant}/{archive}/");
    let read = |k: &String| std::fs::read(root.join(k)).unwrap();
    let checkpoint = keys
        .iter()
        .filter(|k| k.starts_with(&format!("{prefix}checkpoints/")))
        .max()
        .expect("a checkpoint copy in the bucket");
    let tiles: BTreeMap<String, Vec<u8>> = keys
        .iter()
        .filter(|k| k.starts_with(&format!("{prefix}tile/")))
        .map(|k| (k.clone(), read(k)))
        .collect();
    let report = verify_tiles(TileInputs {
        checkpoint_key: checkpoint,
        checkpoint: &read(checkpoint),
        tiles: &tiles,
        key,
    });
    assert!(report.passed(), "{report:?}");
    let leaf = |seq: u64| tile_leaf(&tiles, seq);
    let segments: Vec<String> = keys
        .iter()
        .filter(|k| k.starts_with(&format!("{prefix}segments/")))
        .cloned()
        .collect();
    for k in &segments {
        let report = verify_segment(SegmentInputs {
            key: k,
            segment: &read(k),
            leaf: &leaf,
            expected_headers: None,
        });
        assert!(report.passed(), "{k}: {report:?}");
        assert!(
            report
                .checks
                .iter()
                .all(|c| !matches!(c.verdict, zegel::format::verify::Verdict::Skip)),
            "{k}: every package was checked against a trusted leaf: {report:?}"
        );
    }
    segments
}

/// The seqs a segment object holds.
fn segment_seqs(root: &Path, key: &str) -> Vec<u64> {
    let bytes = std::fs::read(root.join(key)).unwrap();
    zegel::format::segment::open_segment(&bytes)
        .unwrap()
        .packages
        .iter()
        .map(|p| p.seq)
        .collect()
}

/// Everything a reader gets of one package: the header JSON and the sealed bytes.
fn snapshot(base: &str, consumer: &str, seq: u64) -> (Vec<u8>, Vec<u8>) {
    let a = Client::new(base, consumer).package("ebox", seq);
    assert_eq!(a.status, 200, "{seq}: {}", a.text());
    let b = Client::new(base, consumer).sealed("ebox", seq);
    assert_eq!(b.status, 200, "{seq}: {}", b.text());
    (a.body, b.body)
}

fn search(base: &str, consumer: &str, query: &str) -> Vec<u64> {
    let r = Client::new(base, consumer).get(&routes::search("ebox", query));
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert!(j["next_cursor"].is_null(), "one page: {j}");
    j["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["seq"].as_u64().unwrap())
        .collect()
}

/// Row `i` of `month_row` is seq `i + 1` here (one batch per range, after the agreement).
fn seq_of_row(i: u64) -> u64 {
    i + 1
}

fn is_jan(seq: u64) -> bool {
    (seq - 1).is_multiple_of(3)
}

/// The node of [`retention_apply_disposes_due_packages_in_both_tiers`] and what its first
/// step leaves for the others to check against.
struct TwoTiers {
    clock: ManualClock,
    node: InProcess,
    base: String,
    admin: String,
    consumer: String,
    auditor: String,
    archivist_id: String,
    archivist: String,
    key: VerifierKey,
    /// The cold tier's directory (a local bucket).
    root: std::path::PathBuf,
    /// Checkpoints signed after each batch of rows.
    checkpoints: Vec<Vec<u8>>,
    /// The January segment as the first move wrote it.
    original_jan: String,
    keys_before: Vec<String>,
    /// Every package as read before any disposal.
    before: BTreeMap<u64, (Vec<u8>, Vec<u8>)>,
    record_before: Vec<u8>,
}

/// The January segment's folder in the bucket.
const JAN_DIR: &str = "v2/acme/ebox/segments/2035-01/";

#[test]
fn retention_apply_disposes_due_packages_in_both_tiers() {
    let w = tier_300_rows_and_keep_30_hot(ManualClock::new(START_MS));
    let due = hold_two_cold_and_one_hot_package(&w);
    let disposition_seqs = cli_apply_disposes_january_in_three_steps(&w);
    let which = dispositions_list_what_each_removed(&w, &due, &disposition_seqs);
    disposed_packages_are_gone_and_the_rest_reads_back(&w, &which);
    let rewritten = january_segment_keeps_only_the_held_packages(&w);
    search_finds_nothing_disposed_of(&w, &which);
    nothing_is_due_but_the_held_packages(&w);
    let leaves = certificates_verify_and_name_their_packages(&w, &disposition_seqs, &which);
    old_checkpoints_and_every_leaf_prove_into_the_newest(&w, &leaves);
    tier_and_usage_count_what_is_gone(&w, &rewritten);
    february_segment_goes_whole(&w);
    tiering_afterwards_passes_over_the_gaps(&w, &which);
    after_a_restart_gone_stays_gone_and_march_goes(w);
}

/// 300 rows tiered six months later (one segment per retention month), thirty more hot.
fn tier_300_rows_and_keep_30_hot(clock: ManualClock) -> TwoTiers {
    let node = start(&clock);
    let base = node.base.clone();
    let admin = node.admin_token();
    let (producer, consumer, auditor) = setup_tenant(&base, &admin, "acme", "ebox");
    let (archivist_id, archivist) = new_key(&base, &admin, "acme", "archivist");
    let key = verifier(&base);
    let root = node.dir.path().join("data/cold");
    let mut checkpoints = Vec::new();

    // 300 rows, tiered six months later: one segment per retention month.
    ingest_month_rows(&base, &producer, 0..300);
    checkpoints.push(checkpoint_now(&base, &auditor, "ebox"));
    clock.advance(184 * DAY_MS);
    tier_run_clean(&base, &admin);
    assert_eq!(archive_tier(&base, &admin, "ebox")["cold_packages"], 301);
    let z = |n: u64| format!("{n:020}");
    let jan_dir = JAN_DIR;
    let original_jan = format!("{jan_dir}{}-{}.zseg", z(0), z(301));
    let keys_before = cold_keys(&root);
    assert!(keys_before.contains(&original_jan), "{keys_before:?}");
    let feb_keys: Vec<String> = keys_before
        .iter()
        .filter(|k| k.contains("/segments/2035-02/"))
        .cloned()
        .collect();
    assert_eq!(feb_keys.len(), 1, "{keys_before:?}");
    // Thirty more rows stay hot: seqs 301..=330, ten of each month.
    ingest_month_rows(&base, &producer, 300..330);
    checkpoints.push(checkpoint_now(&base, &auditor, "ebox"));
    let size_before = 331;
    let mut before = BTreeMap::new();
    for seq in 0..size_before {
        before.insert(seq, snapshot(&base, &consumer, seq));
    }
    let record_before = Client::new(&base, &consumer)
        .read_record("ebox", "EBX-2025-000000003")
        .body;

    TwoTiers {
        clock,
        node,
        base,
        admin,
        consumer,
        auditor,
        archivist_id,
        archivist,
        key,
        root,
        checkpoints,
        original_jan,
        keys_before,
        before,
        record_before,
    }
}

/// Holds on two due cold packages of the January segment and on one due hot package; the
/// packages due in January that no hold keeps.
fn hold_two_cold_and_one_hot_package(w: &TwoTiers) -> BTreeSet<u64> {
    let TwoTiers {
        base,
        archivist,
        before,
        ..
    } = w;
    let size_before = before.len() as u64;
    let held: BTreeSet<u64> = [1, 4, 304].into();
    for body in [
        r#"{"package":1,"reason":"case C-0001"}"#.to_string(),
        r#"{"record":"EBX-2025-000000003","reason":"GDPR dispute 17"}"#.to_string(),
        format!(
            r#"{{"package":{},"reason":"case C-0002"}}"#,
            seq_of_row(303)
        ),
    ] {
        let r = Client::new(base, archivist).post(&routes::holds("ebox"), &body);
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let due: BTreeSet<u64> = (1..size_before)
        .filter(|s| is_jan(*s) && !held.contains(s))
        .collect();
    assert_eq!(due.len(), 107);
    let due_cold = due.iter().filter(|s| **s < 301).count() as u64;
    assert_eq!(due_cold, 98);
    due
}

/// Mid-January 2035 the CLI disposes of the January rows in steps of 40; the three
/// dispositions' seqs.
fn cli_apply_disposes_january_in_three_steps(w: &TwoTiers) -> Vec<u64> {
    let TwoTiers {
        base,
        archivist,
        clock,
        ..
    } = w;
    // Mid-January 2035: the January rows are due. The CLI loops in steps of 40.
    clock.set(MID_JAN_2035_MS);
    let out = cli(
        base,
        archivist,
        &[
            "retention",
            "apply",
            "--archive",
            "ebox",
            "--max-packages",
            "40",
            "--json",
        ],
    );
    let out: serde_json::Value = serde_json::from_str(&out).unwrap();
    let steps = out["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "40 + 40 + 27: {out}");
    let counts: Vec<(u64, u64, u64)> = steps
        .iter()
        .map(|s| {
            let d = &s["disposed"];
            (
                d["packages"].as_u64().unwrap(),
                d["cold"].as_u64().unwrap(),
                d["hot"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts, vec![(40, 40, 0), (40, 40, 0), (27, 18, 9)], "{out}");
    assert_eq!(
        steps
            .iter()
            .map(|s| s["held"].as_u64().unwrap())
            .sum::<u64>(),
        3,
        "{out}"
    );
    assert!(steps[2]["next_from"].is_null(), "{out}");
    assert!(steps[..2].iter().all(|s| s["next_from"].is_u64()), "{out}");
    let disposition_seqs: Vec<u64> = steps
        .iter()
        .map(|s| s["disposed"]["disposition"].as_u64().unwrap())
        .collect();
    assert_eq!(disposition_seqs, vec![331, 332, 333]);
    for s in steps {
        let d = &s["disposed"];
        // Each step rewrites the January segment without what it disposed of.
        assert_eq!(
            (
                d["segments_rewritten"].as_u64(),
                d["segments_deleted"].as_u64()
            ),
            (Some(1), Some(0)),
            "{s}"
        );
        assert!(d["raw_bytes"].as_u64().unwrap() > 0, "{s}");
        assert_eq!(s["at_ms"], MID_JAN_2035_MS, "{s}");
    }
    disposition_seqs
}

/// The dispositions, as listed, by the auditor as well as through the CLI; which disposition
/// removed each disposed package.
fn dispositions_list_what_each_removed(
    w: &TwoTiers,
    due: &BTreeSet<u64>,
    disposition_seqs: &[u64],
) -> BTreeMap<u64, u64> {
    let TwoTiers {
        base,
        auditor,
        archivist_id,
        ..
    } = w;
    let list = dispositions(base, auditor, "ebox");
    assert_eq!(list.len(), 3, "{list:?}");
    let mut which = BTreeMap::new();
    for (d, seq) in list.iter().zip(disposition_seqs) {
        assert_eq!(d["seq"], *seq, "{d}");
        assert_eq!(d["cause"], "retention", "{d}");
        assert_eq!(d["authorized_by"], serde_json::json!([archivist_id]), "{d}");
        assert!(d["erasure"].is_null(), "{d}");
        assert_eq!(d["decided_ms"], MID_JAN_2035_MS, "{d}");
        assert!(d["basis"].as_str().unwrap().contains("version 1"), "{d}");
        let (first, last) = (
            d["first_seq"].as_u64().unwrap(),
            d["last_seq"].as_u64().unwrap(),
        );
        for s in due.range(first..=last) {
            which.insert(*s, *seq);
        }
    }
    assert_eq!(which.len(), due.len());
    let listed = cli(base, auditor, &["disposition", "list", "ebox"]);
    for seq in disposition_seqs {
        assert!(
            listed
                .lines()
                .any(|l| l.split_whitespace().next() == Some(&seq.to_string())),
            "{listed}"
        );
    }

    which
}

/// Disposed packages answer 410 naming their disposition (their receipts still read);
/// everything else reads back byte for byte, held or not yet due, hot or cold.
fn disposed_packages_are_gone_and_the_rest_reads_back(w: &TwoTiers, which: &BTreeMap<u64, u64>) {
    let TwoTiers {
        base,
        consumer,
        auditor,
        before,
        record_before,
        ..
    } = w;
    let as_consumer = Client::new(base, consumer);
    for (&seq, &disposition) in which {
        for route in package_routes(seq) {
            let r = as_consumer.get(&route);
            assert_eq!(gone(&r, &route), disposition);
        }
        let r = Client::new(base, auditor).get(&routes::receipt("ebox", seq));
        assert_eq!(r.status, 200, "{}", r.text());
        let row_key = format!("EBX-2025-{:09}", seq - 1);
        for route in [
            routes::record("ebox", &row_key),
            routes::record_versions("ebox", &row_key),
        ] {
            let r = as_consumer.get(&route);
            assert_eq!(r.status, 404, "{route}: {}", r.text());
        }
    }
    // Everything else reads back byte for byte, held or not yet due, hot or cold.
    for (seq, snap) in before {
        if which.contains_key(seq) {
            continue;
        }
        assert_eq!(&snapshot(base, consumer, *seq), snap, "package {seq}");
    }
    for (seq, tier) in [
        (1, "cold"),
        (4, "cold"),
        (304, "hot"),
        (2, "cold"),
        (302, "hot"),
    ] {
        let r = as_consumer.sealed("ebox", seq);
        assert_eq!(r.header("zegel-tier"), Some(tier), "{seq}");
    }
    let r = as_consumer.read_record("ebox", "EBX-2025-000000003");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("zegel-tier"), Some("cold"));
    assert_eq!(&r.body, record_before);
    let r = as_consumer.get(&routes::object("ebox", "1", "record.json"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("zegel-tier"), Some("cold"));
}

/// The January segment was rewritten three times; only the last rewrite is left, and it
/// holds exactly the held packages. The other months are untouched. Its key.
fn january_segment_keeps_only_the_held_packages(w: &TwoTiers) -> String {
    let TwoTiers {
        root,
        keys_before,
        original_jan,
        ..
    } = w;
    let keys = cold_keys(root);
    let jan: Vec<&String> = keys.iter().filter(|k| k.starts_with(JAN_DIR)).collect();
    let rewritten = layout::rewritten_segment_key(
        "acme",
        "ebox",
        layout::RetentionMonth::Month {
            year: 2035,
            month: 1,
        },
        0,
        301,
        3,
    );
    assert_eq!(jan, vec![&rewritten], "{keys:?}");
    assert!(!keys.contains(original_jan));
    assert_eq!(segment_seqs(root, &rewritten), vec![1, 4]);
    for k in keys_before.iter().filter(|k| !k.starts_with(JAN_DIR)) {
        assert!(keys.contains(k), "{k} is still there");
    }
    rewritten
}

/// Search finds nothing disposed of, with or without an index, and across the gaps.
fn search_finds_nothing_disposed_of(w: &TwoTiers, which: &BTreeMap<u64, u64>) {
    let TwoTiers { base, consumer, .. } = w;
    let live: Vec<u64> = (0..334).filter(|s| !which.contains_key(s)).collect();
    assert_eq!(search(base, consumer, "limit=1000"), live);
    let rsz: Vec<u64> = live
        .iter()
        .copied()
        .filter(|s| (1..331).contains(s))
        .collect();
    assert_eq!(search(base, consumer, "sender=RSZ&limit=1000"), rsz);
    assert_eq!(
        search(base, consumer, "sent_at=2025-01-04T10:00:00Z&limit=1000"),
        vec![1, 4, 304]
    );
    let since_second_batch = (START_MS + 184 * DAY_MS).to_string();
    let later: Vec<u64> = live.iter().copied().filter(|s| *s >= 301).collect();
    assert_eq!(
        search(
            base,
            consumer,
            &format!("from={since_second_batch}&limit=1000")
        ),
        later
    );
}

/// The plan has nothing left due but the held ones; another apply disposes of nothing.
fn nothing_is_due_but_the_held_packages(w: &TwoTiers) {
    let TwoTiers {
        base,
        auditor,
        archivist,
        ..
    } = w;
    let plan = Client::new(base, auditor)
        .get(&routes::retention_plan("ebox"))
        .json();
    assert_eq!(
        (
            plan["due_packages"].as_u64(),
            plan["held_packages"].as_u64()
        ),
        (Some(0), Some(3)),
        "{plan}"
    );
    let planned = cli(base, auditor, &["retention", "plan", "--archive", "ebox"]);
    let line = planned.lines().find(|l| l.starts_with("ebox")).unwrap();
    assert_eq!(line.split_whitespace().nth(1), Some("0"), "{planned}");
    let again = cli(
        base,
        archivist,
        &["retention", "apply", "--archive", "ebox"],
    );
    assert!(
        again.contains("0 packages disposed of; 3 due packages kept by legal holds"),
        "{again}"
    );
    assert_eq!(dispositions(base, auditor, "ebox").len(), 3);
}

/// Every certificate, fetched by the CLI, verifies with the real zegel-verify; its record
/// names exactly the packages its disposition removed. The leaf hash of each.
fn certificates_verify_and_name_their_packages(
    w: &TwoTiers,
    disposition_seqs: &[u64],
    which: &BTreeMap<u64, u64>,
) -> BTreeMap<u64, zegel::format::hash::Hash> {
    let TwoTiers {
        base, auditor, key, ..
    } = w;
    let tmp = tempfile::tempdir().unwrap();
    let key_file = tmp_path(tmp.path(), "ebox.key", key.to_text().as_bytes());
    let mut leaves = BTreeMap::new();
    for seq in disposition_seqs {
        let file = tmp.path().join(format!("ebox-{seq}.zcert"));
        let out = cli(
            base,
            auditor,
            &[
                "disposition",
                "certificate",
                "ebox",
                &seq.to_string(),
                "--out",
                file.to_str().unwrap(),
            ],
        );
        assert!(out.contains("certificate of destruction written"), "{out}");
        let (ok, report) = zegel_verify_certificate(&key_file, &file);
        assert!(ok, "certificate {seq}: {report}");
        assert!(report.contains("VERIFIED"), "{report}");
        let bytes = std::fs::read(&file).unwrap();
        let r = verify_certificate(CertificateInputs {
            certificate: &bytes,
            key,
        });
        assert!(r.passed(), "{r:?}");
        let record = record_of(&bytes);
        let named: Vec<u64> = record.packages.iter().map(|p| p.seq).collect();
        let expected: Vec<u64> = which
            .iter()
            .filter(|(_, d)| *d == seq)
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(named, expected, "disposition {seq}");
        for p in record.packages {
            leaves.insert(p.seq, p.leaf);
        }
    }
    let r = Client::new(base, auditor).get(&routes::certificate("ebox", 2));
    assert_eq!(r.status, 404, "seq 2 is not a disposition: {}", r.text());
    leaves
}

/// Every checkpoint signed before is consistent with the newest one, and every leaf,
/// disposed of or not, proves into it.
fn old_checkpoints_and_every_leaf_prove_into_the_newest(
    w: &TwoTiers,
    leaves: &BTreeMap<u64, zegel::format::hash::Hash>,
) {
    let TwoTiers {
        base,
        auditor,
        key,
        checkpoints,
        ..
    } = w;
    let newest = checkpoint_now(base, auditor, "ebox");
    let cp = checkpoint::open(&newest, key).unwrap();
    assert_eq!(cp.size, 334);
    let as_auditor = Client::new(base, auditor);
    for old in checkpoints {
        let o = checkpoint::open(old, key).unwrap();
        let r = as_auditor.get(&routes::consistency("ebox", o.size, cp.size));
        assert_eq!(r.status, 200, "{}", r.text());
        ConsistencyProof::decode(&r.body)
            .unwrap()
            .verify(&o.root, &cp.root)
            .unwrap();
    }
    for seq in 0..cp.size {
        let leaf = match leaves.get(&seq) {
            Some(l) => *l,
            None => {
                let r = as_auditor.sealed("ebox", seq);
                assert_eq!(r.status, 200, "{seq}: {}", r.text());
                sealed::open(&r.body).unwrap().leaf_hash()
            }
        };
        let r = as_auditor.get(&routes::inclusion("ebox", seq, cp.size));
        assert_eq!(r.status, 200, "{seq}: {}", r.text());
        InclusionProof::decode(&r.body)
            .unwrap()
            .verify(&leaf, &cp.root)
            .unwrap_or_else(|e| panic!("leaf {seq}: {e:?}"));
    }
}

/// Tiering and usage count what is gone; the bucket alone audits clean.
fn tier_and_usage_count_what_is_gone(w: &TwoTiers, rewritten: &str) {
    let TwoTiers {
        base,
        admin,
        auditor,
        key,
        root,
        ..
    } = w;
    let t = archive_tier(base, admin, "ebox");
    assert_eq!(
        (
            t["packages"].as_u64(),
            t["disposed_packages"].as_u64(),
            t["cold_packages"].as_u64(),
            t["hot_packages"].as_u64()
        ),
        (Some(334), Some(107), Some(203), Some(24)),
        "{t}"
    );
    let status: serde_json::Value =
        serde_json::from_str(&cli(base, admin, &["tier", "status", "--json"])).unwrap();
    let s = status["archives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["archive"] == "ebox")
        .unwrap();
    assert_eq!(s["disposed_packages"], 107, "{status}");
    // Usage (the tenant's access log included) counts disposed packages in neither tier.
    let usage = Client::new(base, auditor).get(&routes::usage()).json();
    let now = &usage["now"][0];
    let n = |f: &str| now[f].as_u64().unwrap();
    assert_eq!(
        n("packages") - n("hot_packages") - n("cold_packages"),
        107,
        "{usage}"
    );
    // The bucket alone audits clean.
    let segments = audit_bucket(root, "acme", "ebox", key);
    assert!(segments.contains(&rewritten.to_string()), "{segments:?}");
}

/// A month later the February rows are due: their segment goes whole.
fn february_segment_goes_whole(w: &TwoTiers) {
    let TwoTiers {
        base,
        consumer,
        archivist,
        root,
        clock,
        ..
    } = w;
    clock.set(MID_FEB_2035_MS);
    let r = apply(base, archivist, "");
    let d = &r["disposed"];
    assert_eq!(
        (
            d["packages"].as_u64(),
            d["cold"].as_u64(),
            d["hot"].as_u64(),
            d["segments_deleted"].as_u64(),
            d["segments_rewritten"].as_u64(),
            d["disposition"].as_u64()
        ),
        (Some(110), Some(100), Some(10), Some(1), Some(0), Some(334)),
        "{r}"
    );
    assert!(r["next_from"].is_null(), "{r}");
    let keys = cold_keys(root);
    assert!(
        !keys.iter().any(|k| k.contains("/segments/2035-02/")),
        "{keys:?}"
    );
    let r = Client::new(base, consumer).package("ebox", "2");
    assert_eq!(gone(&r, "2"), 334);
    let r = Client::new(base, consumer).sealed("ebox", "302");
    assert_eq!(gone(&r, "302"), 334);
}

/// Tiering afterwards passes over the gaps: every hot byte leaves, the rest reads the
/// same from the cold tier, and the bucket still audits clean. (The disposition packages
/// are new: they move six months after they were sealed, like any package.)
fn tiering_afterwards_passes_over_the_gaps(w: &TwoTiers, which: &BTreeMap<u64, u64>) {
    let TwoTiers {
        base,
        admin,
        consumer,
        key,
        root,
        clock,
        before,
        ..
    } = w;
    clock.advance(184 * DAY_MS);
    tier_run_clean(base, admin);
    let t = archive_tier(base, admin, "ebox");
    assert_eq!(
        (
            t["hot_packages"].as_u64(),
            t["hot_bytes"].as_u64(),
            t["disposed_packages"].as_u64(),
            t["cold_packages"].as_u64()
        ),
        (Some(0), Some(0), Some(217), Some(118)),
        "{t}"
    );
    for (seq, snap) in before {
        if which.contains_key(seq) || (*seq > 0 && (seq - 1) % 3 == 1) {
            continue;
        }
        assert_eq!(&snapshot(base, consumer, *seq), snap, "package {seq}");
    }
    let r = Client::new(base, consumer).sealed("ebox", "304");
    assert_eq!(r.header("zegel-tier"), Some("cold"));
    audit_bucket(root, "acme", "ebox", key);
}

/// After a restart everything disposed of stays gone, and what is due now (the March
/// rows, in the first move's segment and in the last one's) goes as well.
fn after_a_restart_gone_stays_gone_and_march_goes(w: TwoTiers) {
    let TwoTiers {
        clock,
        node,
        admin,
        consumer,
        auditor,
        archivist,
        key,
        root,
        before,
        ..
    } = w;
    let node = start_in(node.stop(), &clock);
    let base = node.base.clone();
    let r = Client::new(&base, &consumer).package("ebox", "7");
    assert_eq!(gone(&r, "7 after a restart"), 331);
    assert_eq!(snapshot(&base, &consumer, 1), before[&1]);
    assert_eq!(dispositions(&base, &auditor, "ebox").len(), 4);
    let plan = Client::new(&base, &auditor)
        .get(&routes::retention_plan("ebox"))
        .json();
    assert_eq!(
        (
            plan["due_packages"].as_u64(),
            plan["held_packages"].as_u64()
        ),
        (Some(110), Some(3)),
        "{plan}"
    );
    let r = apply(&base, &archivist, "");
    let d = &r["disposed"];
    assert_eq!(
        (
            d["packages"].as_u64(),
            d["cold"].as_u64(),
            d["segments_deleted"].as_u64(),
            d["segments_rewritten"].as_u64(),
            d["disposition"].as_u64()
        ),
        (Some(110), Some(110), Some(2), Some(0), Some(335)),
        "{r}"
    );
    let keys = cold_keys(&root);
    assert!(
        !keys.iter().any(|k| k.contains("/segments/2035-03/")),
        "{keys:?}"
    );
    for seq in [0, 1, 4, 304, 331] {
        let r = Client::new(&base, &consumer).package("ebox", seq);
        assert_eq!(r.status, 200, "{seq}: {}", r.text());
    }
    let t = archive_tier(&base, &admin, "ebox");
    assert_eq!(
        (t["disposed_packages"].as_u64(), t["cold_packages"].as_u64()),
        (Some(327), Some(8)),
        "{t}"
    );
    audit_bucket(&root, "acme", "ebox", &key);
}

#[test]
fn shared_objects_survive_disposal_of_one_sharer() {
    let clock = ManualClock::new(START_MS);
    let node = start(&clock);
    let base = node.base.clone();
    let admin = node.admin_token();
    let (producer, consumer, _) = setup_tenant(&base, &admin, "acme", "ebox");
    let (_, archivist) = new_key(&base, &admin, "acme", "archivist");
    let as_archivist = Client::new(&base, &archivist);
    let r = as_archivist.put(&routes::agreement("files"), DOCS.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    let pdf = noise(0x9e37_79b9_7f4a_7c15, 200_000);
    let upload = |key: &str, filed_on: &str, note: &[u8]| {
        upload_ruling(&Client::new(&base, &producer), key, filed_on, &pdf, note)
    };
    let read = |seq: u64, name: &str| {
        Client::new(&base, &consumer).get(&routes::object("files", seq, name))
    };
    let apply_files = || {
        let r = as_archivist.post(&routes::retention_apply("files"), b"");
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    };
    // Kept 30 years after filing: A and D (filed 1990 and 1991) are due now, B and C are
    // not. Every one holds the same PDF; A and B share their note as well, C and D too.
    let a = upload("C-0001/a", "1990-05-06", b"shared note AB");
    let b = upload("C-0001/b", "2024-05-06", b"shared note AB");
    let c = upload("C-0001/c", "2024-06-01", b"shared note CD");
    let d = upload("C-0001/d", "1991-05-06", b"shared note CD");
    let sealed_of = |seq: u64| {
        let r = Client::new(&base, &consumer).sealed("files", seq);
        assert_eq!(r.status, 200, "{seq}: {}", r.text());
        r.body
    };
    let (sealed_b, sealed_c) = (sealed_of(b), sealed_of(c));

    // Hot: the older sharer (A) and the newer one (D) go; B and C keep every object.
    let r = apply_files();
    let disposed = &r["disposed"];
    assert_eq!(
        (disposed["packages"].as_u64(), disposed["hot"].as_u64()),
        (Some(2), Some(2)),
        "{r}"
    );
    let first = disposed["disposition"].as_u64().unwrap();
    for seq in [a, d] {
        assert_eq!(gone(&read(seq, "ruling.pdf"), "pdf"), first);
        assert_eq!(gone(&read(seq, "note.txt"), "note"), first);
    }
    for (seq, note) in [(b, &b"shared note AB"[..]), (c, b"shared note CD")] {
        let r = read(seq, "ruling.pdf");
        assert_eq!(r.status, 200, "{seq}: {}", r.text());
        assert_eq!(r.header("zegel-tier"), Some("hot"));
        assert!(r.body == pdf, "package {seq}: the shared PDF is intact");
        let r = read(seq, "note.txt");
        assert_eq!(r.status, 200, "{seq}: {}", r.text());
        assert_eq!(r.body, note);
    }
    assert_eq!(sealed_of(b), sealed_b);
    assert_eq!(sealed_of(c), sealed_c);
    // The same PDF arriving again after the disposal is stored and read as usual.
    let e = upload("C-0002/e", "1992-03-01", b"note E");
    let f = upload("C-0002/f", "1992-03-20", b"note F");
    assert!(read(e, "ruling.pdf").body == pdf);

    // Cold: E and F are due and share one segment (retention month 2022-03); a hold keeps
    // F, so the segment is rewritten with F alone, and F, B, C still read the PDF.
    let r = as_archivist.post(
        &routes::holds("files"),
        format!(r#"{{"package":{f},"reason":"appeal pending"}}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let hold = r.json()["id"].as_str().unwrap().to_string();
    clock.advance(184 * DAY_MS);
    tier_run_clean(&base, &admin);
    assert_eq!(archive_tier(&base, &admin, "files")["hot_packages"], 0);
    let r = apply_files();
    let disposed = &r["disposed"];
    assert_eq!(
        (
            disposed["packages"].as_u64(),
            disposed["cold"].as_u64(),
            disposed["segments_rewritten"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{r}"
    );
    assert_eq!(r["held"], 1, "{r}");
    let second = disposed["disposition"].as_u64().unwrap();
    assert_eq!(gone(&read(e, "ruling.pdf"), "pdf of E"), second);
    for seq in [f, b, c] {
        let r = read(seq, "ruling.pdf");
        assert_eq!(r.status, 200, "{seq}: {}", r.text());
        assert_eq!(r.header("zegel-tier"), Some("cold"));
        assert!(r.body == pdf, "package {seq}: the shared PDF is intact");
    }
    assert_eq!(read(f, "note.txt").body, b"note F");
    assert_eq!(sealed_of(b), sealed_b);
    let root = node.dir.path().join("data/cold");
    let month: Vec<String> = cold_keys(&root)
        .into_iter()
        .filter(|k| k.starts_with("v2/acme/files/segments/2022-03/"))
        .collect();
    assert_eq!(month.len(), 1, "{month:?}");
    assert_eq!(segment_seqs(&root, &month[0]), vec![f]);

    // Once the hold is lifted, F goes too, and its segment with it.
    let r = as_archivist.post(
        &routes::hold_lift("files", hold),
        r#"{"reason":"appeal decided"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = apply_files();
    assert_eq!(r["disposed"]["segments_deleted"], 1, "{r}");
    assert!(
        !cold_keys(&root)
            .iter()
            .any(|k| k.starts_with("v2/acme/files/segments/2022-03/")),
        "the emptied segment is deleted"
    );
    for seq in [b, c] {
        assert!(read(seq, "ruling.pdf").body == pdf, "{seq}");
    }
    audit_bucket(&root, "acme", "files", &verifier(&base));
}

/// The node of [`erasure_needs_two_archivists_and_respects_holds`]: tenant acme with two
/// archivists (`a`, `b`; their key ids `a_id`, `b_id`), and globex (`other`) beside it.
struct Erasures {
    base: String,
    admin: String,
    producer: String,
    consumer: String,
    auditor: String,
    a_id: String,
    a: String,
    b_id: String,
    b: String,
    other: String,
    other_archivist: String,
    /// The row whose two versions (seqs 1 and 7) are erased.
    row0: &'static str,
    _node: InProcess,
}

impl Erasures {
    fn request(&self, token: &str, body: &str) -> Resp {
        Client::new(&self.base, token).post(&routes::erasures("ebox"), body)
    }

    fn approve(&self, token: &str, id: &str) -> Resp {
        Client::new(&self.base, token).post(&routes::erasure_approve("ebox", id), b"")
    }

    fn reject(&self, token: &str, id: &str, reason: &str) -> Resp {
        Client::new(&self.base, token).post(
            &routes::erasure_reject("ebox", id),
            serde_json::json!({ "reason": reason }).to_string(),
        )
    }

    /// The erasure requests, as the auditor lists them.
    fn erasures(&self) -> Vec<serde_json::Value> {
        let r = Client::new(&self.base, &self.auditor).get(&routes::erasures("ebox"));
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["erasures"].as_array().unwrap().clone()
    }

    /// Both versions of `row0` still read, and nothing was disposed of.
    fn untouched(&self) {
        for seq in [1, 7] {
            let r = Client::new(&self.base, &self.consumer).package("ebox", seq);
            assert_eq!(r.status, 200, "{seq}: {}", r.text());
        }
        let r = Client::new(&self.base, &self.consumer).read_record("ebox", self.row0);
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(dispositions(&self.base, &self.auditor, "ebox").is_empty());
    }
}

#[test]
fn erasure_needs_two_archivists_and_respects_holds() {
    let w = six_rows_and_a_second_version_of_row0(&ManualClock::new(START_MS));
    the_requester_alone_cannot_erase(&w);
    let hold = a_hold_blocks_the_second_archivist(&w);
    let disposition = lifted_the_second_approval_erases_every_version(&w, &hold);
    the_erasure_certificate_verifies_offline(&w, disposition);
    let c = a_decided_request_stays_decided(&w);
    a_rejected_request_erases_nothing(&w, &c);
    bad_requests_are_refused_each_for_its_reason(&w, disposition);
    only_archivists_request_decide_and_apply(&w, disposition);
    the_cli_requests_approves_and_lists(&w);
}

/// Rows 0..6 are seqs 1..=6; a second version of row 0 is seq 7. Nothing is due.
fn six_rows_and_a_second_version_of_row0(clock: &ManualClock) -> Erasures {
    let node = start(clock);
    let base = node.base.clone();
    let admin = node.admin_token();
    let (producer, consumer, auditor) = setup_tenant(&base, &admin, "acme", "ebox");
    let (a_id, a) = new_key(&base, &admin, "acme", "archivist");
    let (b_id, b) = new_key(&base, &admin, "acme", "archivist");
    let (other, _, _) = setup_tenant(&base, &admin, "globex", "mail");
    let other_archivist = key_of(&base, &admin, "globex", "archivist");
    ingest_month_rows(&base, &producer, 0..6);
    let changed = month_row(0).replace("Aanslagbiljet 0", "Aanslagbiljet 0bis");
    let r = Client::new(&base, &producer).ingest_row("ebox", &changed);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["seq"], 7, "{}", r.text());
    let row0 = "EBX-2025-000000000";
    Erasures {
        base,
        admin,
        producer,
        consumer,
        auditor,
        a_id,
        a,
        b_id,
        b,
        other,
        other_archivist,
        row0,
        _node: node,
    }
}

/// An archivist requests the erasure of row 0; alone, it cannot carry it out.
fn the_requester_alone_cannot_erase(w: &Erasures) {
    let Erasures { a_id, a, row0, .. } = w;
    let r = w.request(
        a,
        &format!(r#"{{"record":"{row0}","basis":"court order 2026/17, Brussels"}}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let e = r.json();
    assert_eq!(
        (
            e["id"].as_str(),
            e["state"].as_str(),
            e["requested_by"].as_str()
        ),
        (Some("erasure-1"), Some("requested"), Some(a_id.as_str())),
        "{e}"
    );
    // The requester alone cannot carry it out.
    let r = w.approve(a, "erasure-1");
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.content_type, "application/problem+json");
    w.untouched();
}

/// A legal hold on the record blocks a second archivist too, and nothing is erased; the
/// hold's id.
fn a_hold_blocks_the_second_archivist(w: &Erasures) -> String {
    let Erasures {
        base, a, b, row0, ..
    } = w;
    let r = Client::new(base, a).post(
        &routes::holds("ebox"),
        format!(r#"{{"record":"{row0}","reason":"case C-0009"}}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let hold = r.json()["id"].as_str().unwrap().to_string();
    let r = w.approve(b, "erasure-1");
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains(&hold), "{}", r.text());
    w.untouched();
    assert_eq!(w.erasures()[0]["state"], "requested");
    hold
}

/// Lifted, the second archivist's approval erases every version of the record; the
/// disposition's seq.
fn lifted_the_second_approval_erases_every_version(w: &Erasures, hold: &str) -> u64 {
    let Erasures {
        base,
        consumer,
        auditor,
        a_id,
        a,
        b_id,
        b,
        row0,
        ..
    } = w;
    let r = Client::new(base, a).post(
        &routes::hold_lift("ebox", hold),
        r#"{"reason":"case closed"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = w.approve(b, "erasure-1");
    assert_eq!(r.status, 200, "{}", r.text());
    let done = r.json();
    let disposition = done["erasure"]["disposition"].as_u64().unwrap();
    assert_eq!(disposition, 8, "{done}");
    assert_eq!(done["erasure"]["state"], "erased", "{done}");
    assert_eq!(done["erasure"]["decided_by"].as_str(), Some(b_id.as_str()));
    assert_eq!(
        (
            done["disposed"]["packages"].as_u64(),
            done["disposed"]["disposition"].as_u64()
        ),
        (Some(2), Some(disposition)),
        "{done}"
    );
    let as_consumer = Client::new(base, consumer);
    for seq in [1, 7] {
        for route in package_routes(seq) {
            let r = as_consumer.get(&route);
            assert_eq!(gone(&r, &route), disposition);
        }
    }
    for route in [
        routes::record("ebox", row0),
        routes::record_version("ebox", row0, 1),
        routes::record_version("ebox", row0, 2),
        routes::record_versions("ebox", row0),
    ] {
        let r = as_consumer.get(&route);
        assert_eq!(r.status, 404, "{route}: {}", r.text());
    }
    for seq in 2..=6 {
        let r = as_consumer.package("ebox", seq);
        assert_eq!(r.status, 200, "{seq}: {}", r.text());
    }
    let list = dispositions(base, auditor, "ebox");
    assert_eq!(list.len(), 1, "{list:?}");
    let d = &list[0];
    assert_eq!(d["seq"], disposition);
    assert_eq!(d["cause"], "erasure");
    assert_eq!(d["authorized_by"], serde_json::json!([a_id, b_id]));
    assert_eq!(d["erasure"], "erasure-1");
    assert_eq!(d["basis"], "court order 2026/17, Brussels");
    assert_eq!(
        (d["first_seq"].as_u64(), d["last_seq"].as_u64()),
        (Some(1), Some(7))
    );
    disposition
}

/// Its certificate verifies offline and names the erasure and both keys; against another
/// key it fails.
fn the_erasure_certificate_verifies_offline(w: &Erasures, disposition: u64) {
    let Erasures {
        base,
        auditor,
        a_id,
        b_id,
        ..
    } = w;
    let r = Client::new(base, auditor).get(&routes::certificate("ebox", disposition));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.content_type, "application/vnd.zegel.certificate+cbor");
    let key = verifier(base);
    let report = verify_certificate(CertificateInputs {
        certificate: &r.body,
        key: &key,
    });
    assert!(report.passed(), "{report:?}");
    let record = record_of(&r.body);
    assert_eq!(record.authorized_by, vec![a_id.clone(), b_id.clone()]);
    assert_eq!(
        record.packages.iter().map(|p| p.seq).collect::<Vec<_>>(),
        vec![1, 7]
    );
    let tmp = tempfile::tempdir().unwrap();
    let cert = tmp_path(tmp.path(), "erasure.zcert", &r.body);
    let key_file = tmp_path(tmp.path(), "ebox.key", key.to_text().as_bytes());
    let (ok, out) = zegel_verify_certificate(&key_file, &cert);
    assert!(ok, "{out}");
    assert!(out.contains("erasure"), "{out}");
    assert!(out.contains(a_id) && out.contains(b_id), "{out}");
    // A certificate checked against another key fails.
    let wrong = tmp_path(
        tmp.path(),
        "wrong.key",
        zegel::format::note::SigningKey::from_seed("other", [9; 32])
            .unwrap()
            .verifier()
            .to_text()
            .as_bytes(),
    );
    let (ok, out) = zegel_verify_certificate(&wrong, &cert);
    assert!(!ok, "{out}");
}

/// Decided is decided, for a third archivist too; that archivist's token.
fn a_decided_request_stays_decided(w: &Erasures) -> String {
    let Erasures { base, admin, b, .. } = w;
    let r = w.approve(b, "erasure-1");
    assert_eq!(r.status, 409, "{}", r.text());
    let (_, c) = new_key(base, admin, "acme", "archivist");
    assert_eq!(w.approve(&c, "erasure-1").status, 409);
    assert_eq!(w.reject(&c, "erasure-1", "too late").status, 409);
    c
}

/// Rejected: nothing is erased, and it cannot be approved afterwards.
fn a_rejected_request_erases_nothing(w: &Erasures, c: &str) {
    let Erasures {
        base,
        consumer,
        a,
        b,
        ..
    } = w;
    let r = w.request(a, r#"{"package":2,"basis":"data subject request 44"}"#);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["id"], "erasure-2");
    assert_eq!(w.reject(b, "erasure-2", "").status, 400);
    let r = w.reject(b, "erasure-2", "no legal ground");
    assert_eq!(r.status, 200, "{}", r.text());
    let rejected = r.json();
    assert_eq!(rejected["state"], "rejected", "{rejected}");
    assert_eq!(rejected["rejection"], "no legal ground", "{rejected}");
    assert_eq!(w.approve(c, "erasure-2").status, 409);
    assert_eq!(w.reject(a, "erasure-2", "again").status, 409);
    let r = Client::new(base, consumer).package("ebox", "2");
    assert_eq!(r.status, 200, "{}", r.text());
}

/// Bad requests are refused, each for its reason.
fn bad_requests_are_refused_each_for_its_reason(w: &Erasures, disposition: u64) {
    let Erasures { a, b, .. } = w;
    for (body, status) in [
        (r#"{"package":2,"record":"x","basis":"both"}"#, 400),
        (r#"{"basis":"neither"}"#, 400),
        (r#"{"package":2,"basis":""}"#, 400),
        (r#"{"package":2,"basis":"x","extra":1}"#, 400),
        (r#"{"package":0,"basis":"the agreement"}"#, 400),
        (r#"{"package":1000,"basis":"beyond the log"}"#, 404),
    ] {
        let r = w.request(a, body);
        assert_eq!(r.status, status, "{body}: {}", r.text());
        assert_eq!(r.content_type, "application/problem+json", "{body}");
    }
    let r = w.request(a, &format!(r#"{{"package":{disposition},"basis":"x"}}"#));
    assert_eq!(r.status, 400, "a disposition is never erased: {}", r.text());
    let r = w.request(a, r#"{"package":1,"basis":"already erased"}"#);
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("already disposed of"), "{}", r.text());
    let r = w.request(
        a,
        r#"{"record":"EBX-2025-999999999","basis":"unknown key"}"#,
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(w.approve(b, "erasure-99").status, 404);
    assert_eq!(w.approve(b, "nonsense").status, 404);
}

/// Only archivists request, decide and apply; auditors list; other tenants see nothing.
fn only_archivists_request_decide_and_apply(w: &Erasures, disposition: u64) {
    let Erasures {
        base,
        producer,
        consumer,
        auditor,
        other,
        other_archivist,
        ..
    } = w;
    let apply_path = routes::retention_apply("ebox");
    for token in [producer, consumer, auditor] {
        assert_eq!(
            w.request(token, r#"{"package":3,"basis":"x"}"#).status,
            403,
            "request"
        );
        assert_eq!(w.approve(token, "erasure-2").status, 403, "approve");
        assert_eq!(w.reject(token, "erasure-2", "x").status, 403, "reject");
        assert_eq!(
            Client::new(base, token).post(&apply_path, b"").status,
            403,
            "apply"
        );
    }
    for token in [producer, consumer] {
        assert_eq!(
            Client::new(base, token)
                .get(&routes::erasures("ebox"))
                .status,
            403,
            "list"
        );
        assert_eq!(
            Client::new(base, token)
                .get(&routes::dispositions("ebox"))
                .status,
            403
        );
        assert_eq!(
            Client::new(base, token)
                .get(&routes::certificate("ebox", disposition))
                .status,
            403
        );
    }
    for token in [other, other_archivist] {
        assert_eq!(
            w.request(token, r#"{"package":3,"basis":"x"}"#).status,
            404,
            "request"
        );
        assert_eq!(w.approve(token, "erasure-2").status, 404);
        assert_eq!(w.reject(token, "erasure-2", "x").status, 404);
        assert_eq!(Client::new(base, token).post(&apply_path, b"").status, 404);
        assert_eq!(
            Client::new(base, token)
                .get(&routes::erasures("ebox"))
                .status,
            404
        );
        assert_eq!(
            Client::new(base, token)
                .get(&routes::dispositions("ebox"))
                .status,
            404
        );
        assert_eq!(
            Client::new(base, token)
                .get(&routes::certificate("ebox", disposition))
                .status,
            404
        );
    }
}

/// The CLI: request, a refused self-approval, approval by the second archivist, listings.
fn the_cli_requests_approves_and_lists(w: &Erasures) {
    let Erasures {
        base,
        consumer,
        auditor,
        a_id,
        a,
        b_id,
        b,
        ..
    } = w;
    let out = cli(
        base,
        a,
        &[
            "erasure",
            "request",
            "ebox",
            "--package",
            "3",
            "--basis",
            "court order 2026/18",
        ],
    );
    assert!(
        out.contains("erasure-3") && out.contains("requested"),
        "{out}"
    );
    let (ok, _, err) = cli_run(base, a, &["erasure", "approve", "ebox", "erasure-3"]);
    assert!(!ok && err.contains("409"), "{err}");
    let out = cli(base, b, &["erasure", "approve", "ebox", "erasure-3"]);
    assert!(out.contains("erased"), "{out}");
    let out = cli(base, auditor, &["erasure", "list", "ebox"]);
    for state in ["erased", "rejected"] {
        assert!(out.contains(state), "{out}");
    }
    assert_eq!(
        out.lines().filter(|l| l.contains("erasure-")).count(),
        3,
        "{out}"
    );
    let r = Client::new(base, consumer).package("ebox", "3");
    assert_eq!(gone(&r, "3"), 9);
    let out = cli(base, auditor, &["disposition", "list", "ebox"]);
    assert_eq!(
        out.lines().filter(|l| l.contains("erasure")).count(),
        2,
        "{out}"
    );
    let list = dispositions(base, auditor, "ebox");
    assert_eq!(list[1]["erasure"], "erasure-3");
    assert_eq!(list[1]["authorized_by"], serde_json::json!([a_id, b_id]));
}

#[test]
fn disposal_never_before_retention() {
    let clock = ManualClock::new(START_MS);
    let node = start(&clock);
    let base = node.base.clone();
    let admin = node.admin_token();
    let (producer, consumer, auditor) = setup_tenant(&base, &admin, "acme", "ebox");
    let (_, archivist) = new_key(&base, &admin, "acme", "archivist");
    // Rows 0..12 are seqs 1..=12; rows 0, 3, 6, 9 (January) are due first.
    ingest_month_rows(&base, &producer, 0..12);
    let as_consumer = Client::new(&base, &consumer);
    let retain_until = |seq: u64| {
        let r = as_consumer.package("ebox", seq);
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["retain_until_ms"].as_u64()
    };
    assert_eq!(
        retain_until(0),
        None,
        "the agreement is kept as long as the log"
    );
    let jan = retain_until(1).unwrap();
    assert!(jan > START_MS);
    assert_eq!(retain_until(4), Some(jan));
    let feb = retain_until(2).unwrap();
    assert!(feb > jan);

    // Not due yet, not even a millisecond before: nothing goes.
    for at in [START_MS, jan - 1] {
        clock.set(at);
        let r = apply(&base, &archivist, "");
        assert!(r["disposed"].is_null(), "{r}");
        assert_eq!(
            (r["held"].as_u64(), r["scanned"].as_u64()),
            (Some(0), Some(13)),
            "{r}"
        );
        assert!(r["next_from"].is_null(), "{r}");
        assert_eq!(r["at_ms"], at);
    }
    assert!(dispositions(&base, &auditor, "ebox").is_empty());
    for seq in 0..13 {
        let r = as_consumer.package("ebox", seq);
        assert_eq!(r.status, 200, "{seq}: {}", r.text());
    }
    // At its retain-until time a package is due; the next month's are not.
    clock.set(jan);
    let r = apply(&base, &archivist, r#"{"from":0,"max_packages":10000}"#);
    assert_eq!(r["disposed"]["packages"], 4, "{r}");
    assert_eq!(r["disposed"]["disposition"], 13, "{r}");
    for seq in 1..13u64 {
        let r = as_consumer.package("ebox", seq);
        let expected = if (seq - 1).is_multiple_of(3) {
            410
        } else {
            200
        };
        assert_eq!(r.status, expected, "{seq}: {}", r.text());
    }

    // A new agreement version is an agreement package; it is never disposed of either.
    let v2 = AGREEMENT
        .replace("\"version\": 1", "\"version\": 2")
        .replace("\"years\": 10", "\"years\": 1");
    let as_archivist = Client::new(&base, &archivist);
    let r = as_archivist.put(&routes::agreement("ebox"), v2.as_bytes());
    assert!(r.status == 200 || r.status == 201, "{}", r.text());
    let agreement_v2 = as_consumer.get(&routes::search("ebox", "limit=100")).json()["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "agreement")
        .map(|p| p["seq"].as_u64().unwrap())
        .max()
        .unwrap();
    assert_eq!(agreement_v2, 14);

    // Centuries later, every row is due: agreements and dispositions still stay.
    clock.set(START_MS + 200 * 365 * DAY_MS);
    let r = apply(&base, &archivist, "");
    assert_eq!(r["disposed"]["packages"], 8, "{r}");
    assert_eq!(r["disposed"]["disposition"], 15, "{r}");
    let r = apply(&base, &archivist, "");
    assert!(r["disposed"].is_null(), "{r}");
    for seq in [0, 13, 14, 15] {
        let r = as_consumer.package("ebox", seq);
        assert_eq!(r.status, 200, "{seq}: {}", r.text());
        let r = as_consumer.sealed("ebox", seq);
        assert_eq!(r.status, 200, "{seq}: {}", r.text());
    }
    let plan = Client::new(&base, &auditor)
        .get(&routes::retention_plan("ebox"))
        .json();
    assert_eq!(plan["due_packages"], 0, "{plan}");
    assert_eq!(dispositions(&base, &auditor, "ebox").len(), 2);

    // Bad apply requests are refused before anything happens.
    for body in [
        r#"{"max_packages":0}"#,
        r#"{"max_packages":10001}"#,
        r#"{"from":0,"extra":1}"#,
        "not json",
    ] {
        let r = as_archivist.post(&routes::retention_apply("ebox"), body);
        assert_eq!(r.status, 400, "{body}: {}", r.text());
    }
    let r = as_archivist.post(&routes::retention_apply("nope"), b"");
    assert_eq!(r.status, 404, "{}", r.text());
}

/// A disposition that removes a key's newest version keeps its number used: the next
/// version of the key is numbered above it, never again with it.
#[test]
fn version_numbers_are_not_reused_after_a_disposal() {
    let clock = ManualClock::new(START_MS);
    let node = start(&clock);
    let base = node.base.clone();
    let admin = node.admin_token();
    let (producer, consumer, _) = setup_tenant(&base, &admin, "acme", "ebox");
    let archivist = key_of(&base, &admin, "acme", "archivist");
    // Row 2 is sent in March (due 2035-03), row 0 in January (due 2035-01), row 1 in February.
    let send = |i: u64| {
        let body = month_row(i).replace(&format!("EBX-2025-{i:09}"), "EBX-V");
        let r = Client::new(&base, &producer).ingest_row("ebox", &body);
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()
    };
    assert_eq!(send(2)["version"], 1);
    assert_eq!(send(0)["version"], 2);
    clock.set(MID_JAN_2035_MS);
    let step = apply(&base, &archivist, "");
    assert_eq!(step["disposed"]["packages"], 1, "{step}");
    let as_consumer = Client::new(&base, &consumer);
    let r = as_consumer.get(&routes::record_version("ebox", "EBX-V", "2"));
    assert_eq!(r.status, 404, "{}", r.text());
    let latest = as_consumer.read_record("ebox", "EBX-V");
    assert_eq!(latest.status, 200, "{}", latest.text());
    assert_eq!(latest.json()["version"], 1, "{}", latest.text());
    // The next version is 3: version 2 was used by the disposed package.
    assert_eq!(send(1)["version"], 3);
    let r = as_consumer.get(&routes::record_version("ebox", "EBX-V", "2"));
    assert_eq!(r.status, 404, "{}", r.text());
}

/// An object whose newest sharer was disposed of while hot still leaves the hot store when
/// its remaining sharers move to the cold tier: `refs`, not the newest seq, decides.
#[test]
fn a_shared_object_leaves_the_hot_store_with_its_last_hot_sharer() {
    let clock = ManualClock::new(START_MS);
    let node = start(&clock);
    let base = node.base.clone();
    let admin = node.admin_token();
    let (producer, _, _) = setup_tenant(&base, &admin, "acme", "ebox");
    let (_, archivist) = new_key(&base, &admin, "acme", "archivist");
    let r = Client::new(&base, &archivist).put(&routes::agreement("files"), DOCS.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    let pdf: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let upload = |key: &str, filed_on: &str| {
        let files = [("ruling.pdf", "application/pdf", pdf.as_slice())];
        upload_document(
            &Client::new(&base, &producer),
            key,
            "C-0001",
            filed_on,
            &files,
        )
    };
    // B is kept, D (the newest sharer) is due and disposed of while both are hot.
    upload("C-0001/b", "2024-05-06");
    upload("C-0001/d", "1991-05-06");
    let r = Client::new(&base, &archivist).post(&routes::retention_apply("files"), b"");
    assert_eq!(r.json()["disposed"]["packages"], 1, "{}", r.text());
    clock.advance(184 * DAY_MS);
    tier_run_clean(&base, &admin);
    assert_eq!(archive_tier(&base, &admin, "files")["hot_packages"], 0);
    let dir = node.stop();
    let store = zegel::store::Store::open(&dir.path().join("data/hot")).unwrap();
    let digest = zegel::format::hash::sha256(&pdf);
    let logs = (1..10)
        .filter(|&id| {
            zegel::archive::state::ArchiveState::load(&store, id).is_ok_and(|s| s.size > 0)
        })
        .count();
    assert!(logs >= 2, "the node's own hot store is open");
    for id in 1..10 {
        assert!(
            store
                .get(
                    zegel::store::cf::OBJECTS,
                    &zegel::store::object_key(id, &digest)
                )
                .unwrap()
                .is_none(),
            "archive {id} still holds the PDF hot"
        );
    }
}

/// The same disposal against a real S3-compatible server (moto): a segment with a held
/// package is rewritten under a new key and the old object deleted; a whole-due segment is
/// deleted; what is kept reads back from the bucket unchanged.
#[test]
fn disposal_rewrites_and_deletes_segments_on_a_real_s3_server() {
    let moto = Moto::start();
    moto.create_bucket("zegel-cold");
    let cold = zegel::cold::ColdConfig::S3 {
        bucket: "zegel-cold".into(),
        region: "us-east-1".into(),
        endpoint: Some(moto.endpoint.clone()),
        allow_http: true,
        access_key_id: Some("testing".into()),
        secret_access_key: Some("testing".into()),
    };
    let clock = ManualClock::new(START_MS);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = manual_tier_config(dir.path());
    cfg.cold = Some(cold.clone());
    cfg.tier.move_packages = 1000;
    let node = InProcess::start_config(dir, cfg, Arc::new(clock.clone()));
    let base = node.base.clone();
    let admin = node.admin_token();
    let (producer, consumer, _) = setup_tenant(&base, &admin, "acme", "ebox");
    let archivist = key_of(&base, &admin, "acme", "archivist");
    // Rows 0..60: January rows are i % 3 == 0, February i % 3 == 1 (seq = i + 1).
    ingest_month_rows(&base, &producer, 0..60);
    let before: BTreeMap<u64, Vec<u8>> = (1..=60)
        .map(|s| (s, snapshot(&base, &consumer, s).1))
        .collect();
    clock.advance(184 * DAY_MS);
    tier_run_clean(&base, &admin);
    let r = Client::new(&base, &archivist).post(
        &routes::holds("ebox"),
        r#"{"package":1,"reason":"case C-0042"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let bucket = zegel::cold::ColdStore::open(&cold).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let list = |prefix: &str| -> Vec<String> {
        rt.block_on(bucket.list(prefix))
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    };
    let jan = "v2/acme/ebox/segments/2035-01/";
    let feb = "v2/acme/ebox/segments/2035-02/";
    let (jan_before, feb_before) = (list(jan), list(feb));
    assert_eq!((jan_before.len(), feb_before.len()), (1, 1));

    // Mid-February 2035: January and February rows are due; seq 1 (January) is held.
    clock.set(MID_FEB_2035_MS);
    let step = apply(&base, &archivist, "");
    let d = &step["disposed"];
    assert_eq!(d["packages"], 39, "{step}");
    assert_eq!(d["cold"], 39, "{step}");
    assert_eq!(
        (
            d["segments_rewritten"].as_u64(),
            d["segments_deleted"].as_u64()
        ),
        (Some(1), Some(1)),
        "{step}"
    );
    let jan_after = list(jan);
    assert_eq!(jan_after.len(), 1, "{jan_after:?}");
    assert_ne!(jan_after, jan_before);
    let key = layout::parse_segment_key(&jan_after[0]).unwrap();
    assert_eq!(key.rewrite, Some(1), "{jan_after:?}");
    assert!(
        list(feb).is_empty(),
        "the February segment is deleted whole"
    );
    // The held row reads back from the rewritten segment, unchanged; the rest are gone.
    for (seq, sealed) in &before {
        let r = Client::new(&base, &consumer).sealed("ebox", seq);
        let month = (seq - 1) % 3;
        if *seq == 1 || month == 2 {
            assert_eq!(r.status, 200, "{seq}: {}", r.text());
            assert_eq!(r.header("zegel-tier"), Some("cold"));
            assert!(r.body == *sealed, "package {seq} changed");
        } else {
            assert_eq!(r.status, 410, "{seq}: {}", r.text());
        }
    }
    // An integrity audit afterwards is clean: every disposed package is named by its
    // disposition, every kept one (the rewritten segment's included) hashes to its leaf.
    let auditor = key_of(&base, &admin, "acme", "auditor");
    let r = Client::new(&base, &auditor).post(&routes::audits("ebox"), b"");
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    let mut run = r.json();
    while run["finished_ms"].is_null() {
        let r = Client::new(&base, &auditor).post(&routes::audit_step("ebox", &id), b"");
        assert_eq!(r.status, 200, "{}", r.text());
        run = r.json();
    }
    assert_eq!(run["findings"], serde_json::json!([]), "{run}");
    assert_eq!(run["packages"]["disposed"], 39, "{run}");
}
