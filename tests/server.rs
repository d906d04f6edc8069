//! The producer → consumer → auditor journey against an in-process server, tenant isolation,
//! role checks, and bad input.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use zegel::format::receipt::Receipt;
use zegel::format::verify::{PackageInputs, verify_package};

use crate::support::*;

#[test]
fn producer_consumer_auditor_journey() {
    let node = InProcess::start();
    let base = &node.base;
    let admin = node.admin_token();
    let (producer, consumer, auditor) = setup_tenant(base, &admin, "acme", "ebox");

    // Ingest one row: 201 with a receipt that verifies offline under the published key.
    let as_producer = Client::new(base, &producer);
    let r = as_producer.ingest_row("ebox", row(1, "a").as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    let receipt_json = r.json();
    assert_eq!(receipt_json["seq"], 1, "seq 0 is the agreement");
    let key = verifier(base);
    let receipt_bytes = B64
        .decode(receipt_json["receipt"].as_str().unwrap())
        .unwrap();
    Receipt::decode(&receipt_bytes)
        .unwrap()
        .verify(&key)
        .unwrap();

    // The same row again: the original receipt (200), not a new package.
    let again = as_producer.ingest_row("ebox", row(1, "a").as_bytes());
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["seq"], 1);
    assert_eq!(again.json()["duplicate"], true);
    // The same key with different content: version 2.
    let v2 = as_producer.ingest_row("ebox", row(1, "b").as_bytes());
    assert_eq!(v2.status, 201, "{}", v2.text());
    assert_eq!(v2.json()["version"], 2);

    // A batch of 100 rows, all or nothing.
    let batch: String = (100..200).map(|i| row(i, "x") + "\n").collect();
    let b = as_producer.ingest_batch("ebox", batch.as_bytes());
    assert_eq!(b.status, 201, "{}", b.text());
    assert_eq!(b.json()["receipts"].as_array().unwrap().len(), 100);
    let bad = format!(
        "{}{}\n",
        row(300, "x") + "\n",
        row(301, "x").replace("\"RSZ\",\"amount", "\"NOPE\",\"amount")
    );
    let r = as_producer.ingest_batch("ebox", bad.as_bytes());
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(
        r.json()["violations"][0]["field"],
        "line 2/metadata/sender",
        "{}",
        r.text()
    );
    let as_consumer = Client::new(base, &consumer);
    let r = as_consumer.read_record("ebox", "EBX-2025-000000300");
    assert_eq!(r.status, 404, "nothing of a refused batch is stored");

    // Read back: the exact record bytes, latest and by version.
    let r = as_consumer.read_record("ebox", "EBX-2025-000000001");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("zegel-tier"), Some("hot"));
    let j = r.json();
    assert_eq!(j["version"], 2);
    assert_eq!(j["record"]["subject"], "Aanslagbiljet b");
    let r = as_consumer.get(&routes::record_version("ebox", "EBX-2025-000000001", "1"));
    assert_eq!(r.json()["record"]["subject"], "Aanslagbiljet a");
    let seq = r.json()["seq"].as_u64().unwrap();
    let obj = as_consumer.get(&routes::object("ebox", seq, "record.json"));
    assert_eq!(obj.status, 200);
    let sent = row(1, "a");
    let record_start = sent.find("\"record\":").unwrap() + 9;
    let record_end = sent.find(",\"metadata\"").unwrap();
    assert_eq!(
        obj.text(),
        &sent[record_start..record_end],
        "stored bytes are exactly the submitted record"
    );

    // Auditor: checkpoint, proof and receipt verify offline together.
    let as_auditor = Client::new(base, &auditor);
    let cp = as_auditor.checkpoint("ebox");
    assert_eq!(cp.status, 200, "{}", cp.text());
    let size: u64 = cp.text().lines().nth(1).unwrap().parse().unwrap();
    let proof = as_auditor.get(&routes::inclusion("ebox", seq, size));
    assert_eq!(proof.status, 200, "{}", proof.text());
    let sealed = as_auditor.sealed("ebox", seq);
    let report = verify_package(PackageInputs {
        sealed: &sealed.body,
        proof: Some(&proof.body),
        checkpoint: Some(&cp.body),
        receipt: Some(&receipt_bytes),
        key: &key,
    });
    assert!(report.passed(), "{report:?}");
    let cons = as_auditor.get(&routes::proof(
        "ebox",
        "consistency",
        format!("from=2&to={size}"),
    ));
    assert_eq!(cons.status, 200, "{}", cons.text());
}

#[test]
fn tenants_are_isolated_and_roles_enforced() {
    let node = InProcess::start();
    let base = &node.base;
    let admin = node.admin_token();
    let (producer, consumer, auditor) = setup_tenant(base, &admin, "acme", "ebox");
    let (other_producer, other_consumer, other_auditor) =
        setup_tenant(base, &admin, "globex", "mail");
    let as_producer = Client::new(base, &producer);
    let r = as_producer.ingest_row("ebox", row(1, "a").as_bytes());
    assert_eq!(r.status, 201);

    // Every archive route, with another tenant's keys: a plain 404, as if it did not exist.
    let key = "EBX-2025-000000001";
    let calls = [
        ("POST", routes::records("ebox"), Some(row(2, "a"))),
        ("POST", routes::records_batch("ebox"), Some(row(3, "a"))),
        ("GET", routes::record("ebox", key), None),
        ("GET", routes::record_versions("ebox", key), None),
        ("GET", routes::package("ebox", 1), None),
        ("GET", routes::sealed("ebox", 1), None),
        ("GET", routes::receipt("ebox", 1), None),
        ("GET", routes::object("ebox", 1, "record.json"), None),
        ("GET", routes::checkpoint("ebox"), None),
        ("POST", routes::checkpoint("ebox"), None),
        ("GET", routes::proof("ebox", "inclusion", "seq=0"), None),
        ("GET", routes::proof("ebox", "consistency", "from=1"), None),
        ("GET", routes::agreement("ebox"), None),
        ("GET", routes::search("ebox", "sender=RSZ"), None),
        (
            "POST",
            routes::packages("ebox"),
            Some(
                "--x\r\nContent-Disposition: form-data; name=\"sip\"\r\n\r\n{}\r\n--x--\r\n"
                    .to_string(),
            ),
        ),
    ];
    for (method, path, body) in &calls {
        let body = body.as_deref().unwrap_or_default();
        for token in [&other_producer, &other_consumer, &other_auditor] {
            let r = Client::new(base, token).send(method, path, body);
            assert_eq!(
                r.status,
                404,
                "{method} {path} with another tenant's key: {}",
                r.text()
            );
        }
        let r = Client::anonymous(base).send(method, path, body);
        assert_eq!(r.status, 401, "{method} {path} without a token");
        let r = Client::new(base, "zgl_forged").send(method, path, body);
        assert_eq!(r.status, 401, "{method} {path} with a forged token");
    }
    let listed = Client::new(base, &other_consumer)
        .get(&routes::archives())
        .json();
    assert_eq!(
        listed["archives"].as_array().unwrap().len(),
        1,
        "only globex's own archive: {listed}"
    );

    // Roles: a consumer cannot ingest, a producer cannot read content, nobody but admins
    // manage keys or tenants.
    let r = Client::new(base, &consumer).ingest_row("ebox", row(5, "a").as_bytes());
    assert_eq!(r.status, 403, "{}", r.text());
    let r = as_producer.read_record("ebox", "EBX-2025-000000001");
    assert_eq!(r.status, 403, "{}", r.text());
    let r = Client::new(base, &auditor).put(&routes::agreement("ebox"), AGREEMENT.as_bytes());
    assert_eq!(r.status, 403, "{}", r.text());
    let r = Client::new(base, &auditor).post(&routes::tenants(), br#"{"tenant":"x"}"#);
    assert_eq!(r.status, 403, "{}", r.text());
    let r = as_producer.post(&routes::tenant_keys("acme"), br#"{"role":"admin"}"#);
    assert_eq!(r.status, 403, "{}", r.text());

    // API keys are stored only as hashes: no token appears in the database files.
    drop(node.admin_token());
    let mut found = false;
    for entry in walk(&node.dir.path().join("data/hot")) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        found |= bytes
            .windows(producer.len())
            .any(|w| w == producer.as_bytes());
    }
    assert!(!found, "a bearer token was stored in clear");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn bad_input_gets_specific_problems() {
    let node = InProcess::start();
    let base = &node.base;
    let admin = node.admin_token();
    let (producer, consumer, _) = setup_tenant(base, &admin, "acme", "ebox");
    let post = |body: &[u8]| Client::new(base, &producer).ingest_row("ebox", body);
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"not json".to_vec(), 422, "not a row SIP"),
        (br#"{"key":"k"}"#.to_vec(), 422, "/record"),
        (
            row(1, "a")
                .replace("2025-03-04T10:00:00Z\",\"sender", "yesterday\",\"sender")
                .into_bytes(),
            422,
            "/metadata/sent_at",
        ),
        (
            row(1, "a")
                .replace("\"amount_eur\":12.50", "\"amount_eur\":[1]")
                .into_bytes(),
            422,
            "/metadata/amount_eur",
        ),
        (
            row(1, "a")
                .replace("\"message_id\":\"EBX", "\"message_id\":\"XXX")
                .into_bytes(),
            422,
            "/record/message_id",
        ),
        (
            format!(
                r#"{{"key":"{}","record":{{}},"metadata":{{}}}}"#,
                "k".repeat(600)
            )
            .into_bytes(),
            422,
            "/key",
        ),
    ];
    for (body, status, needle) in cases {
        let r = post(&body);
        assert_eq!(r.status, status, "{}", r.text());
        assert_eq!(r.content_type, "application/problem+json");
        assert!(r.text().contains(needle), "{needle} in {}", r.text());
    }
    // An oversized body is refused from its declared length before it is read, as curl sees
    // it (`Expect: 100-continue`); sending all of it would race the server's early answer.
    {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
        // A raw request on a bare socket: only the headers, never the body.
        write!(
            s,
            "POST /v1/archives/ebox/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {producer}\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
            20 * 1024 * 1024
        )
        .unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&got).contains("too-large") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "{}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&got);
        assert!(text.contains("HTTP/1.1 413"), "{text}");
        assert!(text.contains("application/problem+json"), "{text}");
    }
    let as_consumer = Client::new(base, &consumer);
    let r = as_consumer.get(&routes::proof("ebox", "inclusion", "seq=99"));
    assert_eq!(r.status, 400, "{}", r.text());
    let r = as_consumer.package("ebox", "999");
    assert_eq!(r.status, 404, "{}", r.text());
    // A route the API does not have: only this test names it.
    let r = as_consumer.get("/v1/nope");
    assert_eq!(r.status, 404);
    assert_eq!(r.content_type, "application/problem+json");
    // The framework's own rejections are problem+json too, with their reason.
    let r = as_consumer.package("ebox", "not-a-number");
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.content_type, "application/problem+json");
    assert!(
        r.text().contains("seq") || r.text().contains("parse"),
        "{}",
        r.text()
    );
    let r = Client::new(base, &producer).send("DELETE", &routes::records("ebox"), b"");
    assert_eq!(r.status, 405, "{}", r.text());
    assert_eq!(r.content_type, "application/problem+json");
    assert!(r.header("allow").is_some());
    let bad_agreement = Client::new(base, &admin_key(base, &admin)).put(
        &routes::agreement("new"),
        br#"{"version":1,"retention":{"after":"x"}}"#,
    );
    assert_eq!(bad_agreement.status, 422, "{}", bad_agreement.text());
}

fn admin_key(base: &str, admin: &str) -> String {
    let r = Client::new(base, admin).post(&routes::tenant_keys("acme"), br#"{"role":"archivist"}"#);
    r.json()["token"].as_str().unwrap().to_string()
}

#[test]
fn sigterm_stops_gracefully_and_everything_survives_a_restart() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut node = Process::start(&data);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("admin.token")), 0o600);
    assert_eq!(mode(&data.join("signing.key")), 0o600);
    let admin = std::fs::read_to_string(data.join("admin.token"))
        .unwrap()
        .trim()
        .to_string();
    let (producer, consumer, _) = setup_tenant(&node.base, &admin, "acme", "ebox");
    let r = Client::new(&node.base, &producer).ingest_row("ebox", row(1, "t").as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    let status = std::process::Command::new("kill")
        .args(["-TERM", &node.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut exited = None;
    for _ in 0..200 {
        if let Some(s) = node.child.try_wait().unwrap() {
            exited = Some(s);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let exited = exited.expect("zegel serve stops within 10 s of SIGTERM");
    assert!(exited.success(), "graceful stop exits 0: {exited:?}");
    // Restart: the key, the token (not rewritten) and the archive are all there.
    let token_before = std::fs::read(data.join("admin.token")).unwrap();
    let node = Process::start(&data);
    assert_eq!(
        std::fs::read(data.join("admin.token")).unwrap(),
        token_before
    );
    let r = Client::new(&node.base, &consumer).read_record("ebox", "EBX-2025-000000001");
    assert_eq!(r.status, 200, "{}", r.text());
}

/// Concurrent submissions of one record key land in successive, pipelined groups: the same
/// content is one package however many clients send it, and different contents are versions
/// 1..=n, each exactly once, in the order of their seqs.
#[test]
fn concurrent_submissions_of_one_key_are_one_package_or_successive_versions() {
    let node = InProcess::start();
    let base = node.base.clone();
    let admin = node.admin_token();
    let (producer, consumer, _) = setup_tenant(&base, &admin, "acme", "ebox");
    let post = |body: String| {
        let r = Client::new(&base, &producer).ingest_row("ebox", body.as_bytes());
        assert!(r.status == 200 || r.status == 201, "{}", r.text());
        r.json()
    };
    // Unrelated rows keep the sequencer busy, so groups are in flight while the key repeats.
    let same: Vec<serde_json::Value> = std::thread::scope(|s| {
        let noise: Vec<_> = (0..4)
            .map(|t| {
                s.spawn(move || (0..40).for_each(|i| drop(post(row(1000 + t * 100 + i, "noise")))))
            })
            .collect();
        let sent: Vec<_> = (0..32).map(|_| s.spawn(|| post(row(1, "same")))).collect();
        let out = sent.into_iter().map(|h| h.join().unwrap()).collect();
        noise.into_iter().for_each(|h| h.join().unwrap());
        out
    });
    let seq = same[0]["seq"].as_u64().unwrap();
    assert!(
        same.iter().all(|r| r["seq"] == seq && r["version"] == 1),
        "{same:?}"
    );
    let changed: Vec<serde_json::Value> = std::thread::scope(|s| {
        let sent: Vec<_> = (0..32)
            .map(|i| s.spawn(move || post(row(2, &format!("edit {i}")))))
            .collect();
        sent.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut by_version: Vec<(u64, u64)> = changed
        .iter()
        .map(|r| (r["version"].as_u64().unwrap(), r["seq"].as_u64().unwrap()))
        .collect();
    by_version.sort();
    assert_eq!(
        by_version.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
        (1..=32).collect::<Vec<_>>(),
        "every version once"
    );
    assert!(
        by_version.windows(2).all(|w| w[0].1 < w[1].1),
        "versions follow seqs: {by_version:?}"
    );
    let versions = Client::new(&base, &consumer)
        .get(&routes::record_versions("ebox", "EBX-2025-000000002"))
        .json();
    assert_eq!(
        versions["versions"].as_array().unwrap().len(),
        32,
        "{versions}"
    );
}
