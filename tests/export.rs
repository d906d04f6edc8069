//! Proof bundles (issue #6): `zegel export` of a hot row, a cold document, a redacted one and
//! a disposed one, each verified offline by the real `zegel-verify bundle` (and by the
//! independent verifier of formats/independent); tampered bundles
//! fail; the BagIt bag validates with the Library of Congress `bagit` tool; the HTML report
//! renders in headless Chromium.

use std::path::Path;
use std::process::Command;

use zegel::clock::ManualClock;

use crate::support::*;

/// `zegel-verify bundle`; whatever it accepts, the independent verifier written from the
/// specs alone (formats/independent) must accept too.
fn verify(key: &Path, file: &Path) -> (bool, String) {
    let out = Command::new(verify_bin())
        .args(["bundle", "--key"])
        .arg(key)
        .arg(file)
        .output()
        .unwrap();
    let ok = out.status.success();
    if ok {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("formats/independent/zegel_verify.py");
        let independent = Command::new("python3")
            .arg(&script)
            .args(["bundle", "--key"])
            .arg(key)
            .arg(file)
            .output()
            .expect("python3 runs the independent verifier (scripts/deps.sh installs it)");
        assert!(
            independent.status.success(),
            "the independent verifier refused a bundle zegel-verify accepts: {}{}",
            String::from_utf8_lossy(&independent.stdout),
            String::from_utf8_lossy(&independent.stderr)
        );
    }
    (
        ok,
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn export(base: &str, token: &str, dir: &Path, name: &str, args: &[&str]) -> std::path::PathBuf {
    let out = dir.join(name);
    let mut all: Vec<&str> = vec!["export"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", out.to_str().unwrap()]);
    let (ok, stdout, stderr) = cli_run(base, token, &all);
    assert!(ok, "{stdout}{stderr}");
    out
}

/// Width and height of a PNG file, from its IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |b: &[u8]| u32::from_be_bytes(b.try_into().unwrap());
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

#[test]
fn bundles_verify_offline_and_tampering_fails() {
    let clock = ManualClock::new(START_MS);
    let node = InProcess::start_manual(tempfile::tempdir().unwrap(), &clock);
    let base = node.base.clone();
    let admin = node.admin_token();
    let (producer, consumer, auditor) = setup_tenant(&base, &admin, "acme", "ebox");
    let archivist = key_of(&base, &admin, "acme", "archivist");
    let r = must(
        "PUT",
        &format!("{base}/v1/archives/files/agreement"),
        Some(&archivist),
        Some(DOCS.as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let body: String = (0..30).map(|i| month_row(i) + "\n").collect();
    let r = must(
        "POST",
        &format!("{base}/v1/archives/ebox/records/batch"),
        Some(&producer),
        Some(body.as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let upload = |key: &str, filed_on: &str| {
        let sip =
            format!(r#"{{"key":"{key}","metadata":{{"case":"C-0007","filed_on":"{filed_on}"}}}}"#);
        let (body, ct) = multipart(&[
            ("sip", None, "application/json", sip.as_bytes()),
            (
                "file",
                Some("ruling.pdf"),
                "application/pdf",
                b"%PDF-1.7 ruling",
            ),
            ("file", Some("note.txt"), "text/plain", b"a private note"),
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
    let kept = upload("C-0007/ruling", "2024-05-06");
    let old = upload("C-0007/old", "1990-01-02");
    // Everything moves cold; then one more hot row.
    clock.advance(184 * DAY_MS);
    let r = must("POST", &format!("{base}/v1/tier/run"), Some(&admin), None);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = must(
        "POST",
        &format!("{base}/v1/archives/ebox/records"),
        Some(&producer),
        Some(month_row(99).as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let hot_seq = r.json()["seq"].as_u64().unwrap();
    // The old document is due (30 years after 1990): disposed of.
    let r = must(
        "POST",
        &format!("{base}/v1/archives/files/retention/apply"),
        Some(&archivist),
        None,
    );
    assert_eq!(r.json()["disposed"]["packages"], 1, "{}", r.text());

    let work = tempfile::tempdir().unwrap();
    let key = work.path().join("key.pub");
    let keys = must("GET", &format!("{base}/v1/keys"), None, None).json();
    std::fs::write(&key, keys["keys"][0]["verifier_key"].as_str().unwrap()).unwrap();

    // A hot row, with a BagIt bag beside it.
    let bag = work.path().join("bag");
    let row = export(
        &base,
        &consumer,
        work.path(),
        "row.zbundle",
        &[
            "ebox",
            &hot_seq.to_string(),
            "--bagit",
            bag.to_str().unwrap(),
        ],
    );
    let (ok, out) = verify(&key, &row);
    assert!(ok, "{out}");
    assert!(out.contains("VERIFIED"), "{out}");
    // A cold document, whole; and redacted to the ruling alone.
    let doc = export(
        &base,
        &auditor,
        work.path(),
        "doc.zbundle",
        &["files", &kept.to_string()],
    );
    let (ok, out) = verify(&key, &doc);
    assert!(ok, "{out}");
    let redacted = export(
        &base,
        &auditor,
        work.path(),
        "redacted.zbundle",
        &[
            "files",
            &kept.to_string(),
            "--redact",
            "--object",
            "ruling.pdf",
        ],
    );
    let (ok, out) = verify(&key, &redacted);
    assert!(ok, "{out}");
    let red = zegel::format::bundle::Bundle::decode(&std::fs::read(&redacted).unwrap()).unwrap();
    let opened = zegel::format::sealed::open(red.package.as_deref().unwrap()).unwrap();
    assert!(
        opened.objects[0].is_some() && opened.objects[1].is_none(),
        "the note is withheld"
    );
    assert!(
        !String::from_utf8_lossy(&std::fs::read(&redacted).unwrap()).contains("a private note"),
        "a withheld object is not in the file"
    );
    // What cannot be done as asked is refused before anything is written: an object the
    // package does not have (a typo would otherwise withhold everything), an existing
    // output file, a bag directory that is not empty.
    // `zegel export files <kept> ARGS` as the auditor: (success, stdout, stderr).
    let export_doc = |args: &[&str]| {
        let kept = kept.to_string();
        let mut all = vec!["export", "files", kept.as_str()];
        all.extend_from_slice(args);
        cli_run(&base, &auditor, &all)
    };
    let typo = work.path().join("typo.zbundle");
    let (ok, _, err) = export_doc(&[
        "--redact",
        "--object",
        "rulling.pdf",
        "--out",
        typo.to_str().unwrap(),
    ]);
    assert!(
        !ok && err.contains("no object named \"rulling.pdf\""),
        "{err}"
    );
    assert!(
        err.contains("ruling.pdf, note.txt"),
        "the package's objects are listed: {err}"
    );
    assert!(!typo.exists());
    let (ok, _, err) = export_doc(&["--out", doc.to_str().unwrap()]);
    assert!(
        !ok && err.contains("exists") && err.contains("--force"),
        "{err}"
    );
    // --force replaces it.
    let (ok, _, err) = export_doc(&["--out", doc.to_str().unwrap(), "--force"]);
    assert!(ok, "{err}");
    let (ok, out) = verify(&key, &doc);
    assert!(ok, "{out}");
    let fresh = work.path().join("fresh.zbundle");
    let (ok, _, err) = export_doc(&[
        "--out",
        fresh.to_str().unwrap(),
        "--bagit",
        work.path().to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("not empty"), "{err}");
    assert!(!fresh.exists(), "nothing written when the bag cannot be");
    // --json: what was written, for scripts.
    let (ok, out, err) = export_doc(&["--out", fresh.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["bundle"], fresh.to_str().unwrap());
    assert_eq!(v["bytes"], std::fs::metadata(&fresh).unwrap().len());
    // The API says the same for the object, as problem+json.
    let r = call(
        "GET",
        &format!("{base}/v1/archives/files/packages/{kept}/bundle?objects=nope.pdf"),
        Some(&auditor),
        None,
    )
    .unwrap();
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("no object named"), "{}", r.text());

    // A disposed document: the bundle proves the disposal.
    let gone = export(
        &base,
        &auditor,
        work.path(),
        "gone.zbundle",
        &["files", &old.to_string()],
    );
    let (ok, out) = verify(&key, &gone);
    assert!(ok, "{out}");
    let g = zegel::format::bundle::Bundle::decode(&std::fs::read(&gone).unwrap()).unwrap();
    assert!(g.package.is_none() && g.dispositions.len() == 1);

    // Tampering with any byte of the package region, or truncating, fails with a reason.
    let bytes = std::fs::read(&doc).unwrap();
    for (name, bad) in [
        ("flipped", {
            let mut b = bytes.clone();
            let at = b.len() / 3;
            b[at] ^= 0x01;
            b
        }),
        ("truncated", bytes[..bytes.len() - 7].to_vec()),
    ] {
        let p = work.path().join(format!("{name}.zbundle"));
        std::fs::write(&p, bad).unwrap();
        let (ok, out) = verify(&key, &p);
        assert!(!ok, "{name}: {out}");
        assert!(out.contains("FAILED"), "{name}: {out}");
    }
    // Another key never verifies.
    let other = work.path().join("other.key");
    let zegel = env!("CARGO_BIN_EXE_zegel");
    let out = Command::new(zegel)
        .args(["key", "generate", "--name", "zegel.local", "--out"])
        .arg(&other)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(zegel)
        .args(["key", "public", "--key"])
        .arg(&other)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let other_pub = work.path().join("other.pub");
    std::fs::write(&other_pub, String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    let (ok, out) = verify(&other_pub, &row);
    assert!(!ok, "{out}");

    // Consumers of another tenant see nothing; producers may not export.
    let r = must(
        "GET",
        &format!("{base}/v1/archives/ebox/packages/{hot_seq}/bundle"),
        Some(&producer),
        None,
    );
    assert_eq!(r.status, 403, "{}", r.text());
    let r = must(
        "GET",
        &format!("{base}/v1/archives/ebox/packages/100000/bundle"),
        Some(&consumer),
        None,
    );
    assert_eq!(r.status, 404, "{}", r.text());

    // The bag validates with the Library of Congress tool.
    let out = Command::new("python3")
        .args(["-m", "bagit", "--validate"])
        .arg(&bag)
        .output()
        .expect("python3 -m bagit (pip install bagit; scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "bagit: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The report renders in a headless browser.
    let html = bag.join("data/report.html");
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(
        text.contains("zegel-verify"),
        "the report says how to verify"
    );
    let shot = work.path().join("report.png");
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--disable-dev-shm-usage",
            "--window-size=1200,1600",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("chromium (apt-get install chromium; scripts/test.sh installs it)");
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(png_size(&png), (1200, 1600));
    // A rendered page of text and tables, not a blank one: a blank PNG compresses to almost
    // nothing.
    assert!(png.len() > 20_000, "screenshot of {} bytes", png.len());
    if let Ok(keep) = std::env::var("ZEGEL_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}
