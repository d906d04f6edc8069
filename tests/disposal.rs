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

fn ingest(base: &str, producer: &str, rows: impl Iterator<Item = u64>) {
    let body: String = rows.map(|i| month_row(i) + "\n").collect();
    let r = must(
        "POST",
        &format!("{base}/v1/archives/ebox/records/batch"),
        Some(producer),
        Some(body.as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.text());
}

fn get(base: &str, token: &str, path: &str) -> Resp {
    must("GET", &format!("{base}{path}"), Some(token), None)
}

fn post(base: &str, token: &str, path: &str, body: &str) -> Resp {
    let body = (!body.is_empty()).then_some(body.as_bytes());
    must("POST", &format!("{base}{path}"), Some(token), body)
}

/// A new key of `role`: (key id, token).
fn new_key(base: &str, admin: &str, tenant: &str, role: &str) -> (String, String) {
    let r = post(
        base,
        admin,
        &format!("/v1/tenants/{tenant}/keys"),
        &format!(r#"{{"role":"{role}"}}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let j = r.json();
    (
        j["key"]["id"].as_str().unwrap().to_string(),
        j["token"].as_str().unwrap().to_string(),
    )
}

fn verifier(base: &str) -> VerifierKey {
    let j = must("GET", &format!("{base}/v1/keys"), None, None).json();
    VerifierKey::from_text(j["keys"][0]["verifier_key"].as_str().unwrap()).unwrap()
}

/// A checkpoint signed now, as its note bytes.
fn checkpoint_now(base: &str, auditor: &str, archive: &str) -> Vec<u8> {
    let r = post(
        base,
        auditor,
        &format!("/v1/archives/{archive}/checkpoint"),
        "",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.body
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
    let r = post(base, archivist, "/v1/archives/ebox/retention/apply", body);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn dispositions(base: &str, token: &str, archive: &str) -> Vec<serde_json::Value> {
    let r = get(base, token, &format!("/v1/archives/{archive}/dispositions"));
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
    let leaf = |seq: u64| {
        let (n, j) = (seq / 256, (seq % 256) as usize);
        tiles
            .iter()
            .filter_map(|(k, v)| {
                let (_, _, level, index, width) = layout::parse_tile_key(k)?;
                (level == 0 && index == n && (j as u64) < width)
                    .then(|| layout::decode_tile(v, width).ok())?
            })
            .max_by_key(|t| t.len())
            .and_then(|t| t.get(j).copied())
    };
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
    let a = get(base, consumer, &format!("/v1/archives/ebox/packages/{seq}"));
    assert_eq!(a.status, 200, "{seq}: {}", a.text());
    let b = get(
        base,
        consumer,
        &format!("/v1/archives/ebox/packages/{seq}/sealed"),
    );
    assert_eq!(b.status, 200, "{seq}: {}", b.text());
    (a.body, b.body)
}

fn search(base: &str, consumer: &str, query: &str) -> Vec<u64> {
    let r = get(
        base,
        consumer,
        &format!("/v1/archives/ebox/packages?{query}"),
    );
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

#[test]
fn retention_apply_disposes_due_packages_in_both_tiers() {
    let clock = ManualClock::new(START_MS);
    let node = start(&clock);
    let base = node.base.clone();
    let admin = node.admin_token();
    let (producer, consumer, auditor) = setup_tenant(&base, &admin, "acme", "ebox");
    let (archivist_id, archivist) = new_key(&base, &admin, "acme", "archivist");
    let key = verifier(&base);
    let root = node.dir.path().join("data/cold");
    let mut checkpoints = Vec::new();

    // 300 rows, tiered six months later: one segment per retention month.
    ingest(&base, &producer, 0..300);
    checkpoints.push(checkpoint_now(&base, &auditor, "ebox"));
    clock.advance(184 * DAY_MS);
    tier_run_clean(&base, &admin);
    assert_eq!(archive_tier(&base, &admin, "ebox")["cold_packages"], 301);
    let z = |n: u64| format!("{n:020}");
    let jan_dir = "v2/acme/ebox/segments/2035-01/";
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
    ingest(&base, &producer, 300..330);
    checkpoints.push(checkpoint_now(&base, &auditor, "ebox"));
    let size_before = 331;
    let mut before = BTreeMap::new();
    for seq in 0..size_before {
        before.insert(seq, snapshot(&base, &consumer, seq));
    }
    let record_before = get(
        &base,
        &consumer,
        "/v1/archives/ebox/records/EBX-2025-000000003",
    )
    .body;

    // Holds on two due cold packages of the January segment and on one due hot package.
    let held: BTreeSet<u64> = [1, 4, 304].into();
    for body in [
        r#"{"package":1,"reason":"case C-0001"}"#.to_string(),
        r#"{"record":"EBX-2025-000000003","reason":"GDPR dispute 17"}"#.to_string(),
        format!(
            r#"{{"package":{},"reason":"case C-0002"}}"#,
            seq_of_row(303)
        ),
    ] {
        let r = post(&base, &archivist, "/v1/archives/ebox/holds", &body);
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let due: BTreeSet<u64> = (1..size_before)
        .filter(|s| is_jan(*s) && !held.contains(s))
        .collect();
    assert_eq!(due.len(), 107);
    let due_cold = due.iter().filter(|s| **s < 301).count() as u64;
    assert_eq!(due_cold, 98);

    // Mid-January 2035: the January rows are due. The CLI loops in steps of 40.
    clock.set(MID_JAN_2035_MS);
    let out = cli(
        &base,
        &archivist,
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

    // The dispositions, as listed, by the auditor as well as through the CLI.
    let list = dispositions(&base, &auditor, "ebox");
    assert_eq!(list.len(), 3, "{list:?}");
    let mut which = BTreeMap::new();
    for (d, seq) in list.iter().zip(&disposition_seqs) {
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
    let listed = cli(&base, &auditor, &["disposition", "list", "ebox"]);
    for seq in &disposition_seqs {
        assert!(
            listed
                .lines()
                .any(|l| l.split_whitespace().next() == Some(&seq.to_string())),
            "{listed}"
        );
    }

    // Disposed packages are gone, each naming its disposition; proofs of them still work.
    for (&seq, &disposition) in &which {
        for path in ["", "/sealed", "/objects/record.json"] {
            let r = get(
                &base,
                &consumer,
                &format!("/v1/archives/ebox/packages/{seq}{path}"),
            );
            assert_eq!(gone(&r, &format!("{seq}{path}")), disposition);
        }
        let r = get(
            &base,
            &auditor,
            &format!("/v1/archives/ebox/packages/{seq}/receipt"),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let row_key = format!("EBX-2025-{:09}", seq - 1);
        for path in ["", "/versions"] {
            let r = get(
                &base,
                &consumer,
                &format!("/v1/archives/ebox/records/{row_key}{path}"),
            );
            assert_eq!(r.status, 404, "{row_key}{path}: {}", r.text());
        }
    }
    // Everything else reads back byte for byte, held or not yet due, hot or cold.
    for (seq, snap) in &before {
        if which.contains_key(seq) {
            continue;
        }
        assert_eq!(&snapshot(&base, &consumer, *seq), snap, "package {seq}");
    }
    for (seq, tier) in [
        (1, "cold"),
        (4, "cold"),
        (304, "hot"),
        (2, "cold"),
        (302, "hot"),
    ] {
        let r = get(
            &base,
            &consumer,
            &format!("/v1/archives/ebox/packages/{seq}/sealed"),
        );
        assert_eq!(r.header("zegel-tier"), Some(tier), "{seq}");
    }
    let r = get(
        &base,
        &consumer,
        "/v1/archives/ebox/records/EBX-2025-000000003",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("zegel-tier"), Some("cold"));
    assert_eq!(r.body, record_before);
    let r = get(
        &base,
        &consumer,
        "/v1/archives/ebox/packages/1/objects/record.json",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("zegel-tier"), Some("cold"));

    // The January segment was rewritten three times; only the last rewrite is left, and it
    // holds exactly the held packages. The other months are untouched.
    let keys = cold_keys(&root);
    let jan: Vec<&String> = keys.iter().filter(|k| k.starts_with(jan_dir)).collect();
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
    assert!(!keys.contains(&original_jan));
    assert_eq!(segment_seqs(&root, &rewritten), vec![1, 4]);
    for k in keys_before.iter().filter(|k| !k.starts_with(jan_dir)) {
        assert!(keys.contains(k), "{k} is still there");
    }

    // Search finds nothing disposed of, with or without an index, and across the gaps.
    let live: Vec<u64> = (0..334).filter(|s| !which.contains_key(s)).collect();
    assert_eq!(search(&base, &consumer, "limit=1000"), live);
    let rsz: Vec<u64> = live
        .iter()
        .copied()
        .filter(|s| (1..331).contains(s))
        .collect();
    assert_eq!(search(&base, &consumer, "sender=RSZ&limit=1000"), rsz);
    assert_eq!(
        search(&base, &consumer, "sent_at=2025-01-04T10:00:00Z&limit=1000"),
        vec![1, 4, 304]
    );
    let since_second_batch = (START_MS + 184 * DAY_MS).to_string();
    let later: Vec<u64> = live.iter().copied().filter(|s| *s >= 301).collect();
    assert_eq!(
        search(
            &base,
            &consumer,
            &format!("from={since_second_batch}&limit=1000")
        ),
        later
    );

    // The plan has nothing left due but the held ones; another apply disposes of nothing.
    let plan = get(&base, &auditor, "/v1/archives/ebox/retention/plan").json();
    assert_eq!(
        (
            plan["due_packages"].as_u64(),
            plan["held_packages"].as_u64()
        ),
        (Some(0), Some(3)),
        "{plan}"
    );
    let planned = cli(&base, &auditor, &["retention", "plan", "--archive", "ebox"]);
    let line = planned.lines().find(|l| l.starts_with("ebox")).unwrap();
    assert_eq!(line.split_whitespace().nth(1), Some("0"), "{planned}");
    let again = cli(
        &base,
        &archivist,
        &["retention", "apply", "--archive", "ebox"],
    );
    assert!(
        again.contains("0 packages disposed of; 3 due packages kept by legal holds"),
        "{again}"
    );
    assert_eq!(dispositions(&base, &auditor, "ebox").len(), 3);

    // Every certificate, fetched by the CLI, verifies with the real zegel-verify; its record
    // names exactly the packages its disposition removed.
    let tmp = tempfile::tempdir().unwrap();
    let key_file = tmp_path(tmp.path(), "ebox.key", key.to_text().as_bytes());
    let mut leaves = BTreeMap::new();
    for seq in &disposition_seqs {
        let file = tmp.path().join(format!("ebox-{seq}.zcert"));
        let out = cli(
            &base,
            &auditor,
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
            key: &key,
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
    let r = get(
        &base,
        &auditor,
        &format!("/v1/archives/ebox/dispositions/{}/certificate", 2),
    );
    assert_eq!(r.status, 404, "seq 2 is not a disposition: {}", r.text());

    // Every checkpoint signed before is consistent with the newest one, and every leaf,
    // disposed of or not, proves into it.
    let newest = checkpoint_now(&base, &auditor, "ebox");
    let cp = checkpoint::open(&newest, &key).unwrap();
    assert_eq!(cp.size, 334);
    for old in &checkpoints {
        let o = checkpoint::open(old, &key).unwrap();
        let r = get(
            &base,
            &auditor,
            &format!(
                "/v1/archives/ebox/proofs/consistency?from={}&to={}",
                o.size, cp.size
            ),
        );
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
                let r = get(
                    &base,
                    &auditor,
                    &format!("/v1/archives/ebox/packages/{seq}/sealed"),
                );
                assert_eq!(r.status, 200, "{seq}: {}", r.text());
                sealed::open(&r.body).unwrap().leaf_hash()
            }
        };
        let r = get(
            &base,
            &auditor,
            &format!(
                "/v1/archives/ebox/proofs/inclusion?seq={seq}&size={}",
                cp.size
            ),
        );
        assert_eq!(r.status, 200, "{seq}: {}", r.text());
        InclusionProof::decode(&r.body)
            .unwrap()
            .verify(&leaf, &cp.root)
            .unwrap_or_else(|e| panic!("leaf {seq}: {e:?}"));
    }

    // Tiering and usage count what is gone.
    let t = archive_tier(&base, &admin, "ebox");
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
        serde_json::from_str(&cli(&base, &admin, &["tier", "status", "--json"])).unwrap();
    let s = status["archives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["archive"] == "ebox")
        .unwrap();
    assert_eq!(s["disposed_packages"], 107, "{status}");
    // Usage (the tenant's access log included) counts disposed packages in neither tier.
    let usage = get(&base, &auditor, "/v1/usage").json();
    let now = &usage["now"][0];
    let n = |f: &str| now[f].as_u64().unwrap();
    assert_eq!(
        n("packages") - n("hot_packages") - n("cold_packages"),
        107,
        "{usage}"
    );
    // The bucket alone audits clean.
    let segments = audit_bucket(&root, "acme", "ebox", &key);
    assert!(segments.contains(&rewritten), "{segments:?}");

    // A month later the February rows are due: their segment goes whole.
    clock.set(MID_FEB_2035_MS);
    let r = apply(&base, &archivist, "");
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
    let keys = cold_keys(&root);
    assert!(
        !keys.iter().any(|k| k.contains("/segments/2035-02/")),
        "{keys:?}"
    );
    let r = get(&base, &consumer, "/v1/archives/ebox/packages/2");
    assert_eq!(gone(&r, "2"), 334);
    let r = get(&base, &consumer, "/v1/archives/ebox/packages/302/sealed");
    assert_eq!(gone(&r, "302"), 334);

    // Tiering afterwards passes over the gaps: every hot byte leaves, the rest reads the
    // same from the cold tier, and the bucket still audits clean. (The disposition packages
    // are new: they move six months after they were sealed, like any package.)
    clock.advance(184 * DAY_MS);
    tier_run_clean(&base, &admin);
    let t = archive_tier(&base, &admin, "ebox");
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
    for (seq, snap) in &before {
        if which.contains_key(seq) || (*seq > 0 && (seq - 1) % 3 == 1) {
            continue;
        }
        assert_eq!(&snapshot(&base, &consumer, *seq), snap, "package {seq}");
    }
    let r = get(&base, &consumer, "/v1/archives/ebox/packages/304/sealed");
    assert_eq!(r.header("zegel-tier"), Some("cold"));
    audit_bucket(&root, "acme", "ebox", &key);

    // After a restart everything disposed of stays gone, and what is due now (the March
    // rows, in the first move's segment and in the last one's) goes as well.
    let node = start_in(node.stop(), &clock);
    let base = node.base.clone();
    let r = get(&base, &consumer, "/v1/archives/ebox/packages/7");
    assert_eq!(gone(&r, "7 after a restart"), 331);
    assert_eq!(snapshot(&base, &consumer, 1), before[&1]);
    assert_eq!(dispositions(&base, &auditor, "ebox").len(), 4);
    let plan = get(&base, &auditor, "/v1/archives/ebox/retention/plan").json();
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
        let r = get(
            &base,
            &consumer,
            &format!("/v1/archives/ebox/packages/{seq}"),
        );
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
    let r = must(
        "PUT",
        &format!("{base}/v1/archives/files/agreement"),
        Some(&archivist),
        Some(DOCS.as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let pdf: Vec<u8> = (0..200_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect();
    let upload = |key: &str, filed_on: &str, note: &[u8]| {
        let sip =
            format!(r#"{{"key":"{key}","metadata":{{"case":"C-0001","filed_on":"{filed_on}"}}}}"#);
        let (body, ct) = multipart(&[
            ("sip", None, "application/json", sip.as_bytes()),
            ("file", Some("ruling.pdf"), "application/pdf", &pdf),
            ("file", Some("note.txt"), "text/plain", note),
        ]);
        let r = call_typed(
            "POST",
            &format!("{base}/v1/archives/files/packages"),
            Some(&producer),
            Some(&ct),
            Some(&body),
        )
        .unwrap();
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["seq"].as_u64().unwrap()
    };
    let read = |seq: u64, name: &str| {
        must(
            "GET",
            &format!("{base}/v1/archives/files/packages/{seq}/objects/{name}"),
            Some(&consumer),
            None,
        )
    };
    let apply_files = || {
        let r = post(&base, &archivist, "/v1/archives/files/retention/apply", "");
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
        let r = must(
            "GET",
            &format!("{base}/v1/archives/files/packages/{seq}/sealed"),
            Some(&consumer),
            None,
        );
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
    let r = post(
        &base,
        &archivist,
        "/v1/archives/files/holds",
        &format!(r#"{{"package":{f},"reason":"appeal pending"}}"#),
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
    let r = post(
        &base,
        &archivist,
        &format!("/v1/archives/files/holds/{hold}/lift"),
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

#[test]
fn erasure_needs_two_archivists_and_respects_holds() {
    let clock = ManualClock::new(START_MS);
    let node = start(&clock);
    let base = node.base.clone();
    let admin = node.admin_token();
    let (producer, consumer, auditor) = setup_tenant(&base, &admin, "acme", "ebox");
    let (a_id, a) = new_key(&base, &admin, "acme", "archivist");
    let (b_id, b) = new_key(&base, &admin, "acme", "archivist");
    let (other, _, _) = setup_tenant(&base, &admin, "globex", "mail");
    let other_archivist = key_of(&base, &admin, "globex", "archivist");
    // Rows 0..6 are seqs 1..=6; a second version of row 0 is seq 7. Nothing is due.
    ingest(&base, &producer, 0..6);
    let changed = month_row(0).replace("Aanslagbiljet 0", "Aanslagbiljet 0bis");
    let r = post(&base, &producer, "/v1/archives/ebox/records", &changed);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["seq"], 7, "{}", r.text());
    let row0 = "EBX-2025-000000000";

    let request = |token: &str, body: &str| post(&base, token, "/v1/archives/ebox/erasures", body);
    let approve = |token: &str, id: &str| {
        post(
            &base,
            token,
            &format!("/v1/archives/ebox/erasures/{id}/approve"),
            "",
        )
    };
    let reject = |token: &str, id: &str, reason: &str| {
        post(
            &base,
            token,
            &format!("/v1/archives/ebox/erasures/{id}/reject"),
            &serde_json::json!({ "reason": reason }).to_string(),
        )
    };
    let erasures = || {
        let r = get(&base, &auditor, "/v1/archives/ebox/erasures");
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["erasures"].as_array().unwrap().clone()
    };
    let untouched = || {
        for seq in [1, 7] {
            let r = get(
                &base,
                &consumer,
                &format!("/v1/archives/ebox/packages/{seq}"),
            );
            assert_eq!(r.status, 200, "{seq}: {}", r.text());
        }
        let r = get(
            &base,
            &consumer,
            &format!("/v1/archives/ebox/records/{row0}"),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(dispositions(&base, &auditor, "ebox").is_empty());
    };

    let r = request(
        &a,
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
    let r = approve(&a, "erasure-1");
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.content_type, "application/problem+json");
    untouched();
    // A legal hold on the record blocks a second archivist too, and nothing is erased.
    let r = post(
        &base,
        &a,
        "/v1/archives/ebox/holds",
        &format!(r#"{{"record":"{row0}","reason":"case C-0009"}}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let hold = r.json()["id"].as_str().unwrap().to_string();
    let r = approve(&b, "erasure-1");
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains(&hold), "{}", r.text());
    untouched();
    assert_eq!(erasures()[0]["state"], "requested");
    // Lifted, the second archivist's approval erases every version of the record.
    let r = post(
        &base,
        &a,
        &format!("/v1/archives/ebox/holds/{hold}/lift"),
        r#"{"reason":"case closed"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = approve(&b, "erasure-1");
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
    for seq in [1, 7] {
        for path in ["", "/sealed", "/objects/record.json"] {
            let r = get(
                &base,
                &consumer,
                &format!("/v1/archives/ebox/packages/{seq}{path}"),
            );
            assert_eq!(gone(&r, &format!("{seq}{path}")), disposition);
        }
    }
    for path in ["", "?version=1", "?version=2", "/versions"] {
        let r = get(
            &base,
            &consumer,
            &format!("/v1/archives/ebox/records/{row0}{path}"),
        );
        assert_eq!(r.status, 404, "{path}: {}", r.text());
    }
    for seq in 2..=6 {
        let r = get(
            &base,
            &consumer,
            &format!("/v1/archives/ebox/packages/{seq}"),
        );
        assert_eq!(r.status, 200, "{seq}: {}", r.text());
    }
    let list = dispositions(&base, &auditor, "ebox");
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

    // Its certificate verifies offline and names the erasure and both keys.
    let r = get(
        &base,
        &auditor,
        &format!("/v1/archives/ebox/dispositions/{disposition}/certificate"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.content_type, "application/vnd.zegel.certificate+cbor");
    let key = verifier(&base);
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
    assert!(out.contains(&a_id) && out.contains(&b_id), "{out}");
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

    // Decided is decided.
    let r = approve(&b, "erasure-1");
    assert_eq!(r.status, 409, "{}", r.text());
    let (_, c) = new_key(&base, &admin, "acme", "archivist");
    assert_eq!(approve(&c, "erasure-1").status, 409);
    assert_eq!(reject(&c, "erasure-1", "too late").status, 409);

    // Rejected: nothing is erased, and it cannot be approved afterwards.
    let r = request(&a, r#"{"package":2,"basis":"data subject request 44"}"#);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["id"], "erasure-2");
    assert_eq!(reject(&b, "erasure-2", "").status, 400);
    let r = reject(&b, "erasure-2", "no legal ground");
    assert_eq!(r.status, 200, "{}", r.text());
    let rejected = r.json();
    assert_eq!(rejected["state"], "rejected", "{rejected}");
    assert_eq!(rejected["rejection"], "no legal ground", "{rejected}");
    assert_eq!(approve(&c, "erasure-2").status, 409);
    assert_eq!(reject(&a, "erasure-2", "again").status, 409);
    let r = get(&base, &consumer, "/v1/archives/ebox/packages/2");
    assert_eq!(r.status, 200, "{}", r.text());

    // Bad requests are refused, each for its reason.
    for (body, status) in [
        (r#"{"package":2,"record":"x","basis":"both"}"#, 400),
        (r#"{"basis":"neither"}"#, 400),
        (r#"{"package":2,"basis":""}"#, 400),
        (r#"{"package":2,"basis":"x","extra":1}"#, 400),
        (r#"{"package":0,"basis":"the agreement"}"#, 400),
        (r#"{"package":1000,"basis":"beyond the log"}"#, 404),
    ] {
        let r = request(&a, body);
        assert_eq!(r.status, status, "{body}: {}", r.text());
        assert_eq!(r.content_type, "application/problem+json", "{body}");
    }
    let r = request(&a, &format!(r#"{{"package":{disposition},"basis":"x"}}"#));
    assert_eq!(r.status, 400, "a disposition is never erased: {}", r.text());
    let r = request(&a, r#"{"package":1,"basis":"already erased"}"#);
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("already disposed of"), "{}", r.text());
    let r = request(
        &a,
        r#"{"record":"EBX-2025-999999999","basis":"unknown key"}"#,
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(approve(&b, "erasure-99").status, 404);
    assert_eq!(approve(&b, "nonsense").status, 404);

    // Only archivists request, decide and apply; auditors list; other tenants see nothing.
    let apply_path = "/v1/archives/ebox/retention/apply";
    for token in [&producer, &consumer, &auditor] {
        assert_eq!(
            request(token, r#"{"package":3,"basis":"x"}"#).status,
            403,
            "request"
        );
        assert_eq!(approve(token, "erasure-2").status, 403, "approve");
        assert_eq!(reject(token, "erasure-2", "x").status, 403, "reject");
        assert_eq!(post(&base, token, apply_path, "").status, 403, "apply");
    }
    for token in [&producer, &consumer] {
        assert_eq!(
            get(&base, token, "/v1/archives/ebox/erasures").status,
            403,
            "list"
        );
        assert_eq!(
            get(&base, token, "/v1/archives/ebox/dispositions").status,
            403
        );
        assert_eq!(
            get(
                &base,
                token,
                &format!("/v1/archives/ebox/dispositions/{disposition}/certificate")
            )
            .status,
            403
        );
    }
    for token in [&other, &other_archivist] {
        assert_eq!(
            request(token, r#"{"package":3,"basis":"x"}"#).status,
            404,
            "request"
        );
        assert_eq!(approve(token, "erasure-2").status, 404);
        assert_eq!(reject(token, "erasure-2", "x").status, 404);
        assert_eq!(post(&base, token, apply_path, "").status, 404);
        assert_eq!(get(&base, token, "/v1/archives/ebox/erasures").status, 404);
        assert_eq!(
            get(&base, token, "/v1/archives/ebox/dispositions").status,
            404
        );
        assert_eq!(
            get(
                &base,
                token,
                &format!("/v1/archives/ebox/dispositions/{disposition}/certificate")
            )
            .status,
            404
        );
    }

    // The CLI: request, a refused self-approval, approval by the second archivist, listings.
    let out = cli(
        &base,
        &a,
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
    let (ok, _, err) = cli_run(&base, &a, &["erasure", "approve", "ebox", "erasure-3"]);
    assert!(!ok && err.contains("409"), "{err}");
    let out = cli(&base, &b, &["erasure", "approve", "ebox", "erasure-3"]);
    assert!(out.contains("erased"), "{out}");
    let out = cli(&base, &auditor, &["erasure", "list", "ebox"]);
    for state in ["erased", "rejected"] {
        assert!(out.contains(state), "{out}");
    }
    assert_eq!(
        out.lines().filter(|l| l.contains("erasure-")).count(),
        3,
        "{out}"
    );
    let r = get(&base, &consumer, "/v1/archives/ebox/packages/3");
    assert_eq!(gone(&r, "3"), 9);
    let out = cli(&base, &auditor, &["disposition", "list", "ebox"]);
    assert_eq!(
        out.lines().filter(|l| l.contains("erasure")).count(),
        2,
        "{out}"
    );
    let list = dispositions(&base, &auditor, "ebox");
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
    ingest(&base, &producer, 0..12);
    let retain_until = |seq: u64| {
        let r = get(
            &base,
            &consumer,
            &format!("/v1/archives/ebox/packages/{seq}"),
        );
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
        let r = get(
            &base,
            &consumer,
            &format!("/v1/archives/ebox/packages/{seq}"),
        );
        assert_eq!(r.status, 200, "{seq}: {}", r.text());
    }
    // At its retain-until time a package is due; the next month's are not.
    clock.set(jan);
    let r = apply(&base, &archivist, r#"{"from":0,"max_packages":10000}"#);
    assert_eq!(r["disposed"]["packages"], 4, "{r}");
    assert_eq!(r["disposed"]["disposition"], 13, "{r}");
    for seq in 1..13u64 {
        let r = get(
            &base,
            &consumer,
            &format!("/v1/archives/ebox/packages/{seq}"),
        );
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
    let r = must(
        "PUT",
        &format!("{base}/v1/archives/ebox/agreement"),
        Some(&archivist),
        Some(v2.as_bytes()),
    );
    assert!(r.status == 200 || r.status == 201, "{}", r.text());
    let agreement_v2 =
        get(&base, &consumer, "/v1/archives/ebox/packages?limit=100").json()["packages"]
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
        let r = get(
            &base,
            &consumer,
            &format!("/v1/archives/ebox/packages/{seq}"),
        );
        assert_eq!(r.status, 200, "{seq}: {}", r.text());
        let r = get(
            &base,
            &consumer,
            &format!("/v1/archives/ebox/packages/{seq}/sealed"),
        );
        assert_eq!(r.status, 200, "{seq}: {}", r.text());
    }
    let plan = get(&base, &auditor, "/v1/archives/ebox/retention/plan").json();
    assert_eq!(plan["due_packages"], 0, "{plan}");
    assert_eq!(dispositions(&base, &auditor, "ebox").len(), 2);

    // Bad apply requests are refused before anything happens.
    for body in [
        r#"{"max_packages":0}"#,
        r#"{"max_packages":10001}"#,
        r#"{"from":0,"extra":1}"#,
        "not json",
    ] {
        let r = post(&base, &archivist, "/v1/archives/ebox/retention/apply", body);
        assert_eq!(r.status, 400, "{body}: {}", r.text());
    }
    let r = post(&base, &archivist, "/v1/archives/nope/retention/apply", "");
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
        let r = post(&base, &producer, "/v1/archives/ebox/records", &body);
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()
    };
    assert_eq!(send(2)["version"], 1);
    assert_eq!(send(0)["version"], 2);
    clock.set(MID_JAN_2035_MS);
    let step = apply(&base, &archivist, "");
    assert_eq!(step["disposed"]["packages"], 1, "{step}");
    let r = get(
        &base,
        &consumer,
        "/v1/archives/ebox/records/EBX-V?version=2",
    );
    assert_eq!(r.status, 404, "{}", r.text());
    let latest = get(&base, &consumer, "/v1/archives/ebox/records/EBX-V");
    assert_eq!(latest.status, 200, "{}", latest.text());
    assert_eq!(latest.json()["version"], 1, "{}", latest.text());
    // The next version is 3: version 2 was used by the disposed package.
    assert_eq!(send(1)["version"], 3);
    let r = get(
        &base,
        &consumer,
        "/v1/archives/ebox/records/EBX-V?version=2",
    );
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
    let r = must(
        "PUT",
        &format!("{base}/v1/archives/files/agreement"),
        Some(&archivist),
        Some(DOCS.as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let pdf: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let upload = |key: &str, filed_on: &str| {
        let sip =
            format!(r#"{{"key":"{key}","metadata":{{"case":"C-0001","filed_on":"{filed_on}"}}}}"#);
        let (body, ct) = multipart(&[
            ("sip", None, "application/json", sip.as_bytes()),
            ("file", Some("ruling.pdf"), "application/pdf", &pdf),
        ]);
        let r = call_typed(
            "POST",
            &format!("{base}/v1/archives/files/packages"),
            Some(&producer),
            Some(&ct),
            Some(&body),
        )
        .unwrap();
        assert_eq!(r.status, 201, "{}", r.text());
    };
    // B is kept, D (the newest sharer) is due and disposed of while both are hot.
    upload("C-0001/b", "2024-05-06");
    upload("C-0001/d", "1991-05-06");
    let r = post(&base, &archivist, "/v1/archives/files/retention/apply", "");
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
    ingest(&base, &producer, 0..60);
    let before: BTreeMap<u64, Vec<u8>> = (1..=60)
        .map(|s| (s, snapshot(&base, &consumer, s).1))
        .collect();
    clock.advance(184 * DAY_MS);
    tier_run_clean(&base, &admin);
    let r = post(
        &base,
        &archivist,
        "/v1/archives/ebox/holds",
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
        let r = get(
            &base,
            &consumer,
            &format!("/v1/archives/ebox/packages/{seq}/sealed"),
        );
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
    let r = post(&base, &auditor, "/v1/archives/ebox/audits", "");
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    let mut run = r.json();
    while run["finished_ms"].is_null() {
        let r = post(
            &base,
            &auditor,
            &format!("/v1/archives/ebox/audits/{id}/step"),
            "",
        );
        assert_eq!(r.status, 200, "{}", r.text());
        run = r.json();
    }
    assert_eq!(run["findings"], serde_json::json!([]), "{run}");
    assert_eq!(run["packages"]["disposed"], 39, "{run}");
}
