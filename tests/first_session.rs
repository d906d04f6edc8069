//! The README's first session, as a new user runs it: the real `zegel serve`, the admin CLI
//! (`zegel tenant|key|agreement|archive`, table and `--json`), rows over plain HTTP, reading
//! back, and the real `zegel-verify` on what the server handed out.

use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::support::*;

#[test]
fn the_readme_first_session_works_with_the_real_binaries() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("zegel-data");
    let node = Process::start(&data);
    let base = node.base.clone();
    let admin = std::fs::read_to_string(data.join("admin.token"))
        .unwrap()
        .trim()
        .to_string();

    let out = cli(&base, &admin, &["tenant", "create", "acme"]);
    assert!(out.contains("acme"), "{out}");
    let token = |role: &str| {
        let out = cli(
            &base,
            &admin,
            &[
                "key", "create", "--tenant", "acme", "--role", role, "--json",
            ],
        );
        let j: serde_json::Value = serde_json::from_str(&out).unwrap();
        j["token"].as_str().unwrap().to_string()
    };
    let (archivist, producer, consumer) =
        (token("archivist"), token("producer"), token("consumer"));
    let agreement = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/ebox-agreement.json");
    cli(
        &base,
        &archivist,
        &["agreement", "apply", "ebox", agreement],
    );

    // A table for people, JSON for machines.
    let table = cli(&base, &consumer, &["archive", "list"]);
    assert!(table.lines().any(|l| l.contains("ebox")), "{table}");
    let keys = cli(
        &base,
        &admin,
        &["key", "list", "--tenant", "acme", "--json"],
    );
    let keys: serde_json::Value = serde_json::from_str(&keys).unwrap();
    assert_eq!(keys["keys"].as_array().unwrap().len(), 3);
    assert!(
        !keys.to_string().contains(&producer),
        "tokens are never listed"
    );

    // Archive a row as the README's curl does, read it back, verify it offline.
    let row = r#"{"key":"EBX-1","record":{"message_id":"EBX-1","subject":"Aanslagbiljet"},"metadata":{"sent_at":"2025-03-04T10:00:00Z","sender":"RSZ"}}"#;
    let r = Client::new(&base, &producer).ingest_row("ebox", row.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    let receipt = r.json();
    let seq = receipt["seq"].as_u64().unwrap();
    let back = Client::new(&base, &consumer).read_record("ebox", "EBX-1");
    assert_eq!(back.status, 200, "{}", back.text());
    assert_eq!(back.json()["record"]["subject"], "Aanslagbiljet");

    let reader = Client::new(&base, &consumer);
    let checkpoint = loop {
        let cp = reader.get(&routes::checkpoint("ebox")).text();
        let size: u64 = cp.lines().nth(1).unwrap().parse().unwrap();
        if size > seq {
            break cp;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let size = checkpoint.lines().nth(1).unwrap().to_string();
    let files = dir.path();
    let package = tmp_path(files, "package.zpkg", &reader.sealed("ebox", seq).body);
    let proof = tmp_path(
        files,
        "package.proof",
        &reader.get(&routes::inclusion("ebox", seq, &size)).body,
    );
    let cp = tmp_path(files, "checkpoint", checkpoint.as_bytes());
    let rc = tmp_path(
        files,
        "package.receipt",
        &B64.decode(receipt["receipt"].as_str().unwrap()).unwrap(),
    );
    let key = tmp_path(files, "key.pub", verifier_text(&base).as_bytes());
    let out = Command::new(verify_bin())
        .arg("package")
        .arg("--key")
        .arg(&key)
        .arg("--package")
        .arg(&package)
        .arg("--proof")
        .arg(&proof)
        .arg("--checkpoint")
        .arg(&cp)
        .arg("--receipt")
        .arg(&rc)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("VERIFIED"), "{text}");

    // Revoking a key stops its token at once; the CLI names the failure.
    let producer_id = cli(
        &base,
        &admin,
        &["key", "list", "--tenant", "acme", "--json"],
    );
    let producer_id: serde_json::Value = serde_json::from_str(&producer_id).unwrap();
    let id = producer_id["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["role"] == "producer")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    cli(&base, &admin, &["key", "revoke", "--tenant", "acme", &id]);
    let r = Client::new(&base, &producer).ingest_row("ebox", row.as_bytes());
    assert_eq!(r.status, 401);
    let (success, _, err) = cli_run(&base, &producer, &["archive", "list"]);
    assert!(!success);
    assert!(
        err.contains("401") || err.to_lowercase().contains("token"),
        "{err}"
    );
    // A bad agreement file is refused with its violations, readable in the terminal.
    let bad = tmp_path(
        files,
        "bad.json",
        br#"{"version":1,"retention":{"after":"nope"}}"#,
    );
    let (success, _, err) = cli_run(
        &base,
        &archivist,
        &["agreement", "apply", "other", bad.to_str().unwrap()],
    );
    assert!(!success);
    assert!(err.contains("retention"), "{err}");
}
