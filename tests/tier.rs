//! Tiering (issue #4): the clock moves six months ahead, packages move to the cold store —
//! the local filesystem and a real S3-compatible server — and every read returns the same
//! verified bytes, now from the cold tier. Corrupted cold bytes are refused, a stopped
//! backend keeps the hot copy, usage shows the move, and `kill -9` during tiering loses and
//! duplicates nothing.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use zegel::clock::ManualClock;
use zegel::cold::ColdConfig;
use zegel::format::layout;
use zegel::format::segment;

use crate::support::*;

fn config(dir: &Path, cold: Option<ColdConfig>, move_packages: usize) -> zegel::server::Config {
    let mut cfg = manual_tier_config(dir);
    cfg.cold = cold;
    cfg.tier.move_packages = move_packages;
    cfg
}

fn start(
    dir: tempfile::TempDir,
    cold: Option<ColdConfig>,
    move_packages: usize,
    clock: &ManualClock,
) -> InProcess {
    let cfg = config(dir.path(), cold, move_packages);
    InProcess::start_config(dir, cfg, Arc::new(clock.clone()))
}

/// An archivist of `acme` and its document archive `files`; returns the archivist's token.
fn files_archive(base: &str, admin: &str) -> String {
    let archivist = key_of(base, admin, "acme", "archivist");
    let r = Client::new(base, &archivist).put(&routes::agreement("files"), DOCS.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    archivist
}

/// A package's header, sealed bytes and receipt, as [`snapshot`] reads them.
type Snapshot = (Vec<u8>, Vec<u8>, Vec<u8>);

/// Everything a consumer can read of one package, to compare before and after the move.
fn snapshot(base: &str, consumer: &str, archive: &str, seq: u64) -> Snapshot {
    let get = |route: String| {
        let r = Client::new(base, consumer).get(&route);
        assert_eq!(r.status, 200, "{route}: {}", r.text());
        r
    };
    (
        get(routes::package(archive, seq)).body,
        get(routes::sealed(archive, seq)).body,
        get(routes::receipt(archive, seq)).body,
    )
}

/// The node of [`moves_after_six_months_and_reads_the_same`] and what was read of it while
/// everything was hot.
struct Tiered {
    clock: ManualClock,
    node: InProcess,
    cold: Option<ColdConfig>,
    base: String,
    admin: String,
    producer: String,
    consumer: String,
    auditor: String,
    archivist: String,
    /// The document's PDF and the document's seq.
    pdf: Vec<u8>,
    doc_seq: u64,
    /// The packages of `ebox` (seqs `0..size`) as read before the move.
    size: u64,
    before: BTreeMap<u64, Snapshot>,
    record_before: Vec<u8>,
    search_before: serde_json::Value,
    usage_before: serde_json::Value,
}

impl Tiered {
    /// The latest version of the record `key` of `ebox`, as the consumer reads it.
    fn record(&self, key: &str) -> Resp {
        Client::new(&self.base, &self.consumer).read_record("ebox", key)
    }

    /// The packages a search of `ebox` finds.
    fn search(&self, q: &str) -> serde_json::Value {
        let r = Client::new(&self.base, &self.consumer).get(&routes::search("ebox", q));
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["packages"].clone()
    }
}

/// The whole journey against one cold backend.
fn moves_after_six_months_and_reads_the_same(cold: Option<ColdConfig>) {
    let w = everything_hot_and_nothing_due_yet(cold);
    let cold_bytes = six_months_later_tiering_moves_everything(&w);
    every_read_is_the_same_from_the_cold_tier(&w);
    usage_shows_the_bytes_moved_to_the_cold_tier(&w, cold_bytes);
    the_operator_commands_show_the_same(&w, cold_bytes);
    after_a_restart_cold_reads_work_and_nothing_is_redone(w);
}

/// 250 rows and a document, read while everything is hot; nothing is due.
fn everything_hot_and_nothing_due_yet(cold: Option<ColdConfig>) -> Tiered {
    let clock = ManualClock::new(START_MS);
    let node = start(tempfile::tempdir().unwrap(), cold.clone(), 100, &clock);
    let base = node.base.clone();
    let admin = node.admin_token();
    let (producer, consumer, auditor) = setup_tenant(&base, &admin, "acme", "ebox");
    let archivist = files_archive(&base, &admin);
    ingest_month_rows(&base, &producer, 0..250);
    let pdf: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let note = b"summary of the hearing\n".to_vec();
    let sip = br#"{"key":"C-0001/ruling","metadata":{"case":"C-0001","filed_on":"2024-05-06"}}"#;
    let (body, ct) = multipart(&[
        ("sip", None, "application/json", sip),
        ("file", Some("ruling.pdf"), "application/pdf", &pdf),
        ("file", Some("note.txt"), "text/plain", &note),
    ]);
    let r = Client::new(&base, &producer).post_typed(&routes::packages("files"), &ct, &body);
    assert_eq!(r.status, 201, "{}", r.text());
    let doc_seq = r.json()["seq"].as_u64().unwrap();

    // Before: everything hot, and nothing is due.
    let size = 251;
    let mut before = BTreeMap::new();
    for seq in 0..size {
        before.insert(seq, snapshot(&base, &consumer, "ebox", seq));
    }
    let r = Client::new(&base, &consumer).read_record("ebox", "EBX-2025-000000007");
    assert_eq!(r.header("zegel-tier"), Some("hot"));
    let record_before = r.body;
    let mut w = Tiered {
        clock,
        node,
        cold,
        base,
        admin,
        producer,
        consumer,
        auditor,
        archivist,
        pdf,
        doc_seq,
        size,
        before,
        record_before,
        search_before: serde_json::Value::Null,
        usage_before: serde_json::Value::Null,
    };
    w.search_before = w.search("sender=RSZ&limit=300");
    let Tiered {
        base,
        admin,
        auditor,
        ..
    } = &w;
    let usage_before = Client::new(base, auditor).get(&routes::usage()).json();
    assert_eq!(
        tier_run(base, admin)["moves"].as_array().unwrap().len(),
        0,
        "nothing is older than 183 days yet"
    );
    let cp = Client::new(base, auditor).get(&routes::checkpoint("ebox"));
    assert_eq!(cp.status, 200);
    w.usage_before = usage_before;
    w
}

/// Six months and a day later, tiering moves everything that was there, compressed; the
/// cold bytes of `ebox`.
fn six_months_later_tiering_moves_everything(w: &Tiered) -> u64 {
    let Tiered {
        clock,
        base,
        admin,
        size,
        ..
    } = w;
    clock.advance(184 * DAY_MS);
    let report = tier_run(base, admin);
    assert!(report["errors"].as_array().unwrap().is_empty(), "{report}");
    let moved: u64 = report["moves"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["archive"] == "ebox")
        .map(|m| m["end"].as_u64().unwrap() - m["first"].as_u64().unwrap())
        .sum();
    assert_eq!(moved, *size, "{report}");
    let t = archive_tier(base, admin, "ebox");
    assert_eq!(t["hot_packages"], 0, "{t}");
    assert_eq!(t["hot_bytes"], 0, "every hot byte of ebox is freed: {t}");
    assert_eq!(t["cold_packages"], *size, "{t}");
    assert_eq!(t["in_flight_packages"], 0, "{t}");
    assert!(t["stage"].is_null() && t["last_error"].is_null(), "{t}");
    let cold_bytes = t["cold_bytes"].as_u64().unwrap();
    assert!(
        cold_bytes > 0 && cold_bytes < t["cold_raw_bytes"].as_u64().unwrap() / 2,
        "compressed: {t}"
    );
    cold_bytes
}

/// Every read returns the same bytes, now from the cold tier; proofs never need it; the
/// same row again is the original package, and a new version lands hot beside the cold one.
fn every_read_is_the_same_from_the_cold_tier(w: &Tiered) {
    let Tiered {
        base,
        producer,
        consumer,
        auditor,
        pdf,
        doc_seq,
        before,
        record_before,
        search_before,
        size,
        ..
    } = w;
    for seq in 0..*size {
        assert_eq!(
            snapshot(base, consumer, "ebox", seq),
            before[&seq],
            "package {seq}"
        );
    }
    let r = w.record("EBX-2025-000000007");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("zegel-tier"), Some("cold"));
    assert_eq!(&r.body, record_before);
    let as_consumer = Client::new(base, consumer);
    let r = as_consumer.sealed("ebox", "3");
    assert_eq!(r.header("zegel-tier"), Some("cold"));
    assert_eq!(
        w.search("sender=RSZ&limit=300"),
        *search_before,
        "search reads cold headers"
    );
    let obj = as_consumer.get(&routes::object("files", doc_seq, "ruling.pdf"));
    assert_eq!(obj.status, 200, "{}", obj.text());
    assert_eq!(obj.header("zegel-tier"), Some("cold"));
    assert_eq!(&obj.body, pdf);
    // Proofs and checkpoints never need the cold tier.
    let p = Client::new(base, auditor).get(&routes::proof("ebox", "inclusion", "seq=5"));
    assert_eq!(p.status, 200, "{}", p.text());
    // The same row again is the original package; a new version lands hot beside the cold one.
    let same = Client::new(base, producer).ingest_row("ebox", month_row(7).as_bytes());
    assert_eq!(same.status, 200, "{}", same.text());
    let changed = month_row(7).replace("Aanslagbiljet 7", "Aanslagbiljet 7bis");
    let r = Client::new(base, producer).ingest_row("ebox", changed.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    let r = w.record("EBX-2025-000000007");
    assert_eq!(r.header("zegel-tier"), Some("hot"));
    assert_eq!(r.json()["version"], 2);
    let r = as_consumer.get(&routes::record_version("ebox", "EBX-2025-000000007", "1"));
    assert_eq!(r.header("zegel-tier"), Some("cold"));
    let (old, now) = (
        serde_json::from_slice::<serde_json::Value>(record_before).unwrap(),
        r.json(),
    );
    assert_eq!(
        (&now["record"], &now["seq"], now["versions"].as_u64()),
        (&old["record"], &old["seq"], Some(2))
    );
}

/// Usage shows the move: the bytes left the hot tier for the cold one. Tenants see only
/// their own usage and tiering; running tiering is the operator's.
fn usage_shows_the_bytes_moved_to_the_cold_tier(w: &Tiered, cold_bytes: u64) {
    let Tiered {
        base,
        producer,
        auditor,
        archivist,
        usage_before,
        ..
    } = w;
    let as_auditor = Client::new(base, auditor);
    let usage = as_auditor.get(&routes::usage()).json();
    let (b, a) = (&usage_before["now"][0], &usage["now"][0]);
    assert_eq!(a["tenant"], "acme");
    assert!(a["cold_bytes"].as_u64().unwrap() >= cold_bytes, "{usage}");
    assert!(
        a["hot_bytes"].as_u64().unwrap() < b["hot_bytes"].as_u64().unwrap(),
        "{usage_before} -> {usage}"
    );
    assert!(a["packages"].as_u64().unwrap() > b["packages"].as_u64().unwrap());
    assert!(a["requests"].as_u64().unwrap() > b["requests"].as_u64().unwrap());
    assert_eq!(
        usage["history"].as_array().unwrap().last().unwrap()["day"],
        "2026-07-04",
        "{usage}"
    );
    // Tenants see only their own usage and tiering; running tiering is the operator's.
    let r = as_auditor.get(&routes::with_query(routes::usage(), "tenant=globex"));
    assert_eq!(r.status, 404, "{}", r.text());
    let r = Client::new(base, producer).get(&routes::tier());
    assert_eq!(r.status, 403, "{}", r.text());
    let r = Client::new(base, archivist).post(&routes::tier_run(), b"");
    assert_eq!(r.status, 403, "{}", r.text());
    let r = as_auditor.get(&routes::with_query(routes::usage(), "from=2026-13-01"));
    assert_eq!(r.status, 400, "{}", r.text());
}

/// The operator's commands show the same: status, a run with nothing due, usage.
fn the_operator_commands_show_the_same(w: &Tiered, cold_bytes: u64) {
    let Tiered {
        base,
        admin,
        auditor,
        ..
    } = w;
    let zegel = |args: &[&str], token: &str| cli(base, token, args);
    let status = zegel(&["tier", "status"], admin);
    assert!(status.starts_with("TENANT  ARCHIVE"), "{status}");
    let line = status
        .lines()
        .find(|l| l.starts_with("acme") && l.contains(" ebox "))
        .unwrap();
    assert!(line.contains(&format!(" {cold_bytes} ")), "{line}");
    let json: serde_json::Value =
        serde_json::from_str(&zegel(&["tier", "status", "--json"], admin)).unwrap();
    assert_eq!(json["hot_days"], 183);
    let run = zegel(&["tier", "run"], admin);
    assert!(run.starts_with("TENANT"), "{run}");
    let usage = zegel(&["usage"], auditor);
    assert!(
        usage
            .lines()
            .any(|l| l.starts_with("2026-07-04") && l.contains("acme")),
        "{usage}"
    );
}

/// After a restart, cold reads still work and tiering has nothing left to redo.
fn after_a_restart_cold_reads_work_and_nothing_is_redone(w: Tiered) {
    let Tiered {
        clock,
        node,
        cold,
        admin,
        consumer,
        before,
        ..
    } = w;
    let dir = node.stop();
    let node = start(dir, cold, 100, &clock);
    let base = node.base.clone();
    for seq in [0, 1, 99, 100, 250] {
        assert_eq!(
            snapshot(&base, &consumer, "ebox", seq),
            before[&seq],
            "package {seq} after a restart"
        );
    }
    let again = tier_run(&base, &admin);
    assert!(
        again["moves"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["archive"] != "ebox"),
        "{again}"
    );
}

#[test]
fn tiering_to_the_local_filesystem_reads_back_the_same_bytes() {
    moves_after_six_months_and_reads_the_same(None);
}

#[test]
fn tiering_to_a_real_s3_server_reads_back_the_same_bytes() {
    let moto = Moto::start();
    moto.create_bucket("zegel-cold");
    moves_after_six_months_and_reads_the_same(Some(s3(&moto.endpoint)));
}

fn s3(endpoint: &str) -> ColdConfig {
    ColdConfig::S3 {
        bucket: "zegel-cold".into(),
        region: "us-east-1".into(),
        endpoint: Some(endpoint.into()),
        allow_http: true,
        access_key_id: Some("testing".into()),
        secret_access_key: Some("testing".into()),
    }
}

/// Every object key a small scenario writes, exactly (formats/cold-layout.md).
#[test]
fn cold_layout_keys_are_exactly_these() {
    let clock = ManualClock::new(START_MS);
    let node = start(tempfile::tempdir().unwrap(), None, 3, &clock);
    let base = node.base.clone();
    let admin = node.admin_token();
    let (producer, _, auditor) = setup_tenant(&base, &admin, "acme", "ebox");
    // Rows 1..=5 are seqs 1..=5, sent in February, March, January, February, March.
    ingest_month_rows(&base, &producer, 1..6);
    let r = Client::new(&base, &auditor).checkpoint("ebox");
    assert_eq!(r.status, 200, "{}", r.text());
    clock.advance(184 * DAY_MS);
    let report = tier_run(&base, &admin);
    assert!(report["errors"].as_array().unwrap().is_empty(), "{report}");
    let root = node.dir.path().join("data/cold");
    let mut keys = Vec::new();
    list_files(&root, &root, &mut keys);
    keys.sort();
    let z = |n: u64| format!("{n:020}");
    let expected: Vec<String> = vec![
        format!("v2/acme/ebox/checkpoints/{}.note", z(6)),
        format!("v2/acme/ebox/segments/2035-01/{}-{}.zseg", z(3), z(6)),
        format!("v2/acme/ebox/segments/2035-02/{}-{}.zseg", z(0), z(3)),
        format!("v2/acme/ebox/segments/2035-02/{}-{}.zseg", z(3), z(6)),
        format!("v2/acme/ebox/segments/2035-03/{}-{}.zseg", z(0), z(3)),
        format!("v2/acme/ebox/segments/2035-03/{}-{}.zseg", z(3), z(6)),
        format!("v2/acme/ebox/segments/never/{}-{}.zseg", z(0), z(3)),
        "v2/acme/ebox/tile/0/000.p/6".to_string(),
    ];
    assert_eq!(keys, expected);
    // Every key parses back, and the segments hold every seq once.
    let mut seqs = Vec::new();
    for k in keys.iter().filter(|k| k.ends_with(".zseg")) {
        let layout::SegmentKey {
            version,
            tenant: t,
            archive: a,
            month,
            first,
            end,
            rewrite,
        } = layout::parse_segment_key(k).unwrap();
        assert_eq!((version, rewrite), (layout::LayoutVersion::V2, None));
        assert_eq!(
            (t.as_str(), a.as_str(), first < end),
            ("acme", "ebox", true)
        );
        let index = segment::open_segment(&std::fs::read(root.join(k)).unwrap()).unwrap();
        for p in &index.packages {
            assert!((first..end).contains(&p.seq), "{k}: {}", p.seq);
            seqs.push(p.seq);
        }
        let _ = month;
    }
    seqs.sort();
    assert_eq!(seqs, (0..6).collect::<Vec<_>>());
}

/// A flipped bit in a cold segment is never served: the read fails and the alarm counts it.
#[test]
fn corrupted_cold_bytes_are_refused_and_alarm() {
    let clock = ManualClock::new(START_MS);
    let node = start(tempfile::tempdir().unwrap(), None, 1000, &clock);
    let base = node.base.clone();
    let admin = node.admin_token();
    let (producer, consumer, _) = setup_tenant(&base, &admin, "acme", "ebox");
    ingest_month_rows(&base, &producer, 0..300);
    let mut originals = Vec::new();
    for i in 0..300 {
        let r = Client::new(&base, &consumer).read_record("ebox", format!("EBX-2025-{i:09}"));
        originals.push(r.body);
    }
    clock.advance(184 * DAY_MS);
    assert!(
        tier_run(&base, &admin)["errors"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let dir = node.stop();
    // Flip one bit in the middle of the January segment's blocks.
    let seg_dir = dir.path().join("data/cold/v2/acme/ebox/segments/2035-01");
    let seg = std::fs::read_dir(&seg_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x10;
    std::fs::write(&seg, &bytes).unwrap();
    // And lose the February segment altogether: lost data, not an outage.
    let feb = dir.path().join("data/cold/v2/acme/ebox/segments/2035-02");
    for e in std::fs::read_dir(&feb).unwrap() {
        std::fs::remove_file(e.unwrap().path()).unwrap();
    }

    let node = start(dir, None, 1000, &clock);
    let base = node.base.clone();
    let mut refused = 0;
    for (i, original) in originals.iter().enumerate() {
        let r = Client::new(&base, &consumer).read_record("ebox", format!("EBX-2025-{i:09}"));
        match r.status {
            200 => assert_eq!(&r.body, original, "row {i}: never other bytes"),
            500 => {
                assert!(r.text().contains("failed its check"), "{}", r.text());
                assert_eq!(r.content_type, "application/problem+json");
                refused += 1;
            }
            s => panic!("row {i}: {s} {}", r.text()),
        }
    }
    assert!(
        refused > 100,
        "the flipped bit and the 100 lost rows were found: {refused}"
    );
    let m = Client::anonymous(&base).get(&routes::metrics()).text();
    let alarms: f64 = m
        .lines()
        .find(|l| l.starts_with("zegel_cold_corrupt_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(alarms >= refused as f64, "{m}");
}

/// A stopped S3 server fails the move clearly and keeps the hot copy; once the store is
/// back, the next run moves everything.
#[test]
fn a_stopped_s3_server_keeps_the_hot_copy_and_is_reported() {
    let moto = Moto::start();
    moto.create_bucket("zegel-cold");
    let endpoint = moto.endpoint.clone();
    let port: u16 = endpoint.rsplit(':').next().unwrap().parse().unwrap();
    let clock = ManualClock::new(START_MS);
    let node = start(
        tempfile::tempdir().unwrap(),
        Some(s3(&endpoint)),
        1000,
        &clock,
    );
    let base = node.base.clone();
    let admin = node.admin_token();
    let (producer, consumer, _) = setup_tenant(&base, &admin, "acme", "ebox");
    ingest_month_rows(&base, &producer, 0..50);
    drop(moto);
    clock.advance(184 * DAY_MS);
    let report = tier_run(&base, &admin);
    let errors = report["errors"].as_array().unwrap();
    assert!(errors.iter().any(|e| e["archive"] == "ebox"), "{report}");
    let t = archive_tier(&base, &admin, "ebox");
    assert_eq!(t["hot_packages"], 51, "{t}");
    assert_eq!(t["cold_packages"], 0, "{t}");
    assert!(
        t["last_error"]["error"]
            .as_str()
            .unwrap()
            .contains("cold store"),
        "{t}"
    );
    let r = Client::new(&base, &consumer).read_record("ebox", "EBX-2025-000000003");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("zegel-tier"), Some("hot"));
    let m = Client::anonymous(&base).get(&routes::metrics()).text();
    assert!(m.contains("zegel_tier_failures_total"), "{m}");

    // The store comes back (empty: moto keeps nothing); the move is written again.
    let moto = Moto::start_on(port);
    moto.create_bucket("zegel-cold");
    let report = tier_run(&base, &admin);
    assert!(report["errors"].as_array().unwrap().is_empty(), "{report}");
    let t = archive_tier(&base, &admin, "ebox");
    assert_eq!(t["hot_packages"], 0, "{t}");
    assert!(t["last_error"].is_null(), "{t}");
    let r = Client::new(&base, &consumer).read_record("ebox", "EBX-2025-000000003");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("zegel-tier"), Some("cold"));
}

/// `kill -9` of the real server at random moments while it tiers (and ingests): nothing is
/// lost, nothing is written twice, and tiering resumes after each restart.
#[test]
fn kill_minus_nine_during_tiering_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = tmp_path(
        dir.path(),
        "tier.toml",
        b"[tier]\nhot_days = 0\ninterval_secs = 1\nmove_packages = 5\nmoves_per_pass = 1000000\n",
    );
    let mut rng = (std::process::id() as u64) ^ 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    // Rows arrive while nothing is due yet (the default hot period).
    let p = Process::start(&data);
    let admin = std::fs::read_to_string(data.join("admin.token"))
        .unwrap()
        .trim()
        .to_string();
    let (producer, consumer, _) = setup_tenant(&p.base, &admin, "acme", "ebox");
    for chunk in 0..10 {
        ingest_month_rows(&p.base, &producer, chunk * 200..(chunk + 1) * 200);
    }
    p.kill9();
    let mut rows = 2000;
    let mut mid_way = 0;
    for round in 0..20 {
        let p = Process::start_args(&data, &["--config", config.to_str().unwrap()]);
        // A few more rows while it tiers.
        ingest_month_rows(&p.base, &producer, rows..rows + 20);
        rows += 20;
        std::thread::sleep(std::time::Duration::from_millis(300 + next() % 2200));
        let t = archive_tier(&p.base, &admin, "ebox");
        let cold = t["cold_packages"].as_u64().unwrap();
        if cold > 0 && cold < t["packages"].as_u64().unwrap() {
            mid_way += 1;
        }
        p.kill9();
        eprintln!(
            "round {round}: killed at {} of {} packages cold, move {}",
            t["cold_packages"], t["packages"], t["stage"]
        );
    }
    assert!(
        mid_way >= 5,
        "only {mid_way} of 20 kills came while tiering was under way"
    );
    let p = Process::start_args(&data, &["--config", config.to_str().unwrap()]);
    let report = tier_run(&p.base, &admin);
    assert!(report["errors"].as_array().unwrap().is_empty(), "{report}");
    let t = archive_tier(&p.base, &admin, "ebox");
    let size = rows + 1;
    assert_eq!(t["packages"], size, "{t}");
    assert_eq!(t["cold_packages"], size, "{t}");
    assert_eq!(t["hot_packages"], 0, "{t}");
    assert_eq!(t["hot_bytes"], 0, "{t}");
    // Every row reads back, from the cold tier, as it was sent.
    for i in 0..rows {
        let r = Client::new(&p.base, &consumer).read_record("ebox", format!("EBX-2025-{i:09}"));
        assert_eq!(r.status, 200, "row {i}: {}", r.text());
        assert_eq!(r.header("zegel-tier"), Some("cold"), "row {i}");
        let sent: serde_json::Value = serde_json::from_str(&month_row(i)).unwrap();
        assert_eq!(r.json()["record"], sent["record"], "row {i}");
    }
    // Every package is in exactly one segment object.
    let root = data.join("cold");
    let mut keys = Vec::new();
    list_files(&root, &root, &mut keys);
    let mut seen = vec![0u32; size as usize];
    for k in keys
        .iter()
        .filter(|k| k.starts_with("v2/acme/ebox/segments/"))
    {
        assert!(layout::parse_segment_key(k).is_some(), "stray object {k}");
        let index = segment::open_segment(&std::fs::read(root.join(k)).unwrap()).unwrap();
        for p in index.packages {
            seen[p.seq as usize] += 1;
        }
    }
    assert!(
        seen.iter().all(|n| *n == 1),
        "each seq once: {:?}",
        seen.iter()
            .enumerate()
            .filter(|(_, n)| **n != 1)
            .take(10)
            .collect::<Vec<_>>()
    );
    // The bucket alone can be audited: the newest checkpoint copy verifies with the server's
    // public key, its tiles rebuild its root, and every segment restores against them.
    let verifier = verifier(&p.base);
    let read = |k: &String| std::fs::read(root.join(k)).unwrap();
    let checkpoint = keys
        .iter()
        .filter(|k| k.starts_with("v2/acme/ebox/checkpoints/"))
        .max()
        .unwrap();
    let tiles: std::collections::BTreeMap<String, Vec<u8>> = keys
        .iter()
        .filter(|k| k.starts_with("v2/acme/ebox/tile/"))
        .map(|k| (k.clone(), read(k)))
        .collect();
    let report = zegel::format::verify::verify_tiles(zegel::format::verify::TileInputs {
        checkpoint_key: checkpoint,
        checkpoint: &read(checkpoint),
        tiles: &tiles,
        key: &verifier,
    });
    assert!(report.passed(), "{report:?}");
    let (_, _, cp_size) = layout::parse_checkpoint_key(checkpoint).unwrap();
    assert!(cp_size >= size, "the newest copy covers every cold package");
    let leaf = |seq: u64| tile_leaf(&tiles, seq);
    for k in keys
        .iter()
        .filter(|k| k.starts_with("v2/acme/ebox/segments/"))
    {
        let report = zegel::format::verify::verify_segment(zegel::format::verify::SegmentInputs {
            key: k,
            segment: &read(k),
            leaf: &leaf,
            expected_headers: None,
        });
        assert!(report.passed(), "{k}: {report:?}");
    }
}

/// An object shared by a cold package and a hot one stays hot until its last hot reference
/// moves; a package larger than any block target moves and reads back whole.
#[test]
fn shared_and_large_objects_move_safely() {
    let clock = ManualClock::new(START_MS);
    let node = start(tempfile::tempdir().unwrap(), None, 1000, &clock);
    let base = node.base.clone();
    let admin = node.admin_token();
    let (producer, consumer, _) = setup_tenant(&base, &admin, "acme", "ebox");
    files_archive(&base, &admin);
    // 9 MiB of poorly compressible bytes: larger than any block a writer aims for.
    let pdf = noise(0x2545_f491_4f6c_dd1d, 9 << 20);
    let upload = |key: &str, note: &[u8]| {
        upload_ruling(
            &Client::new(&base, &producer),
            key,
            "2024-05-06",
            &pdf,
            note,
        )
    };
    let read = |seq: u64, name: &str| {
        let r = Client::new(&base, &consumer).get(&routes::object("files", seq, name));
        assert_eq!(r.status, 200, "{}", r.text());
        (r.header("zegel-tier").unwrap().to_string(), r.body)
    };
    let first = upload("C-0001/ruling", b"first");
    clock.advance(100 * DAY_MS);
    let second = upload("C-0001/appeal", b"second");
    clock.advance(84 * DAY_MS);
    // The first package is due, the second is not; they share the PDF.
    let report = tier_run(&base, &admin);
    assert!(report["errors"].as_array().unwrap().is_empty(), "{report}");
    let t = archive_tier(&base, &admin, "files");
    assert_eq!(
        (t["cold_packages"].as_u64(), t["hot_packages"].as_u64()),
        (Some(first + 1), Some(1)),
        "{t}"
    );
    assert_eq!(read(second, "ruling.pdf"), ("hot".to_string(), pdf.clone()));
    assert_eq!(read(first, "ruling.pdf"), ("cold".to_string(), pdf.clone()));
    assert_eq!(
        read(first, "note.txt"),
        ("cold".to_string(), b"first".to_vec())
    );
    let sealed = Client::new(&base, &consumer).sealed("files", first);
    assert_eq!(sealed.status, 200, "{}", sealed.text());
    // Later the second moves too, and with it the last hot copy of the PDF.
    clock.advance(100 * DAY_MS);
    let report = tier_run(&base, &admin);
    assert!(report["errors"].as_array().unwrap().is_empty(), "{report}");
    let t = archive_tier(&base, &admin, "files");
    assert_eq!(t["hot_packages"], 0, "{t}");
    assert_eq!(t["hot_bytes"], 0, "{t}");
    assert_eq!(
        read(second, "ruling.pdf"),
        ("cold".to_string(), pdf.clone())
    );
    assert_eq!(read(first, "ruling.pdf"), ("cold".to_string(), pdf));
}

/// Foreign bytes already at a segment's key (a torn write, another writer) fail the move's
/// verification: the object is removed, the hot copy stays, and the next run writes the
/// segment afresh.
#[test]
fn foreign_bytes_at_a_segment_key_are_replaced_not_trusted() {
    let clock = ManualClock::new(START_MS);
    let node = start(tempfile::tempdir().unwrap(), None, 1000, &clock);
    let base = node.base.clone();
    let admin = node.admin_token();
    let (producer, consumer, _) = setup_tenant(&base, &admin, "acme", "ebox");
    // Rows 0, 3, 6, 9, 12 are sent in January: one month, seqs 1..=5 after the agreement.
    let body: String = [0u64, 3, 6, 9, 12]
        .iter()
        .map(|i| month_row(*i) + "\n")
        .collect();
    let r = Client::new(&base, &producer).ingest_batch("ebox", body.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    let key = layout::segment_key(
        "acme",
        "ebox",
        layout::RetentionMonth::Month {
            year: 2035,
            month: 1,
        },
        0,
        6,
    );
    let path = node.dir.path().join("data/cold").join(&key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"not a segment").unwrap();
    clock.advance(184 * DAY_MS);
    let report = tier_run(&base, &admin);
    let errors = report["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(
            |e| e["archive"] == "ebox" && e["error"].as_str().unwrap().contains("verification")
        ),
        "{report}"
    );
    assert_eq!(archive_tier(&base, &admin, "ebox")["hot_packages"], 6);
    let read_tier = || {
        let r = Client::new(&base, &consumer).read_record("ebox", "EBX-2025-000000003");
        assert_eq!(r.status, 200, "{}", r.text());
        r.header("zegel-tier").map(str::to_string)
    };
    assert_eq!(read_tier().as_deref(), Some("hot"));
    assert!(!path.exists(), "the foreign object is removed");
    let report = tier_run(&base, &admin);
    assert!(report["errors"].as_array().unwrap().is_empty(), "{report}");
    assert_eq!(archive_tier(&base, &admin, "ebox")["hot_packages"], 0);
    assert_eq!(read_tier().as_deref(), Some("cold"));
    assert!(segment::open_segment(&std::fs::read(&path).unwrap()).is_ok());
}
