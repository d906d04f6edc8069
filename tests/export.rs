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

/// The node of [`bundles_verify_offline_and_tampering_fails`] and what its steps export:
/// rows and two documents moved cold, then one hot row; one document disposed of.
struct Exports {
    _node: InProcess,
    base: String,
    producer: String,
    consumer: String,
    auditor: String,
    /// The document kept, the one disposed of, and the hot row.
    kept: u64,
    old: u64,
    hot_seq: u64,
    /// Where bundles are written, and the node's verifier key file inside it.
    work: tempfile::TempDir,
    key: std::path::PathBuf,
}

#[test]
fn bundles_verify_offline_and_tampering_fails() {
    let w = documents_cold_one_disposed_and_a_hot_row();
    let (row, bag) = a_hot_row_exports_with_a_bagit_bag(&w);
    let doc = a_cold_document_exports_whole_and_redacted(&w);
    what_cannot_be_done_is_refused_before_writing(&w, &doc);
    a_disposed_document_bundle_proves_the_disposal(&w);
    tampering_truncating_or_another_key_fails(&w, &doc, &row);
    producers_and_other_tenants_get_no_bundle(&w);
    the_bag_validates_and_its_report_renders(&w, &bag);
}

/// Rows and two documents, all moved cold, then one hot row; the older document is due (30
/// years after 1990) and disposed of.
fn documents_cold_one_disposed_and_a_hot_row() -> Exports {
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
    let r = Client::new(&base, &archivist).put(&routes::agreement("files"), DOCS.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    ingest_month_rows(&base, &producer, 0..30);
    let upload = |key: &str, filed_on: &str| {
        let files: [(&str, &str, &[u8]); 2] = [
            ("ruling.pdf", "application/pdf", b"%PDF-1.7 ruling"),
            ("note.txt", "text/plain", b"a private note"),
        ];
        upload_document(
            &Client::new(&base, &producer),
            key,
            "C-0007",
            filed_on,
            &files,
        )
    };
    let kept = upload("C-0007/ruling", "2024-05-06");
    let old = upload("C-0007/old", "1990-01-02");
    // Everything moves cold; then one more hot row.
    clock.advance(184 * DAY_MS);
    let r = Client::new(&base, &admin).post(&routes::tier_run(), b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let r = Client::new(&base, &producer).ingest_row("ebox", month_row(99).as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    let hot_seq = r.json()["seq"].as_u64().unwrap();
    // The old document is due (30 years after 1990): disposed of.
    let r = Client::new(&base, &archivist).post(&routes::retention_apply("files"), b"");
    assert_eq!(r.json()["disposed"]["packages"], 1, "{}", r.text());

    let work = tempfile::tempdir().unwrap();
    let key = work.path().join("key.pub");
    std::fs::write(&key, verifier_text(&base)).unwrap();
    Exports {
        _node: node,
        base,
        producer,
        consumer,
        auditor,
        kept,
        old,
        hot_seq,
        work,
        key,
    }
}

/// A hot row, with a BagIt bag beside it: the bundle verifies. The bundle and the bag.
fn a_hot_row_exports_with_a_bagit_bag(w: &Exports) -> (std::path::PathBuf, std::path::PathBuf) {
    let Exports {
        base,
        consumer,
        hot_seq,
        work,
        key,
        ..
    } = w;
    let bag = work.path().join("bag");
    let row = export(
        base,
        consumer,
        work.path(),
        "row.zbundle",
        &[
            "ebox",
            &hot_seq.to_string(),
            "--bagit",
            bag.to_str().unwrap(),
        ],
    );
    let (ok, out) = verify(key, &row);
    assert!(ok, "{out}");
    assert!(out.contains("VERIFIED"), "{out}");
    (row, bag)
}

/// A cold document, whole; and redacted to the ruling alone. The whole one.
fn a_cold_document_exports_whole_and_redacted(w: &Exports) -> std::path::PathBuf {
    let Exports {
        base,
        auditor,
        kept,
        work,
        key,
        ..
    } = w;
    let doc = export(
        base,
        auditor,
        work.path(),
        "doc.zbundle",
        &["files", &kept.to_string()],
    );
    let (ok, out) = verify(key, &doc);
    assert!(ok, "{out}");
    let redacted = export(
        base,
        auditor,
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
    let (ok, out) = verify(key, &redacted);
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
    doc
}

/// What cannot be done as asked is refused before anything is written: an object the
/// package does not have (a typo would otherwise withhold everything), an existing
/// output file, a bag directory that is not empty.
fn what_cannot_be_done_is_refused_before_writing(w: &Exports, doc: &Path) {
    let Exports {
        base,
        auditor,
        kept,
        work,
        key,
        ..
    } = w;
    // `zegel export files <kept> ARGS` as the auditor: (success, stdout, stderr).
    let export_doc = |args: &[&str]| {
        let kept = kept.to_string();
        let mut all = vec!["export", "files", kept.as_str()];
        all.extend_from_slice(args);
        cli_run(base, auditor, &all)
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
    let (ok, out) = verify(key, doc);
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
    let r = Client::new(base, auditor).get(&routes::with_query(
        routes::bundle("files", kept),
        "objects=nope.pdf",
    ));
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("no object named"), "{}", r.text());
}

/// A disposed document: the bundle proves the disposal.
fn a_disposed_document_bundle_proves_the_disposal(w: &Exports) {
    let Exports {
        base,
        auditor,
        old,
        work,
        key,
        ..
    } = w;
    let gone = export(
        base,
        auditor,
        work.path(),
        "gone.zbundle",
        &["files", &old.to_string()],
    );
    let (ok, out) = verify(key, &gone);
    assert!(ok, "{out}");
    let g = zegel::format::bundle::Bundle::decode(&std::fs::read(&gone).unwrap()).unwrap();
    assert!(g.package.is_none() && g.dispositions.len() == 1);
}

/// Tampering with any byte of the package region, or truncating, fails with a reason;
/// another key never verifies.
fn tampering_truncating_or_another_key_fails(w: &Exports, doc: &Path, row: &Path) {
    let Exports { work, key, .. } = w;
    let bytes = std::fs::read(doc).unwrap();
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
        let (ok, out) = verify(key, &p);
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
    let (ok, out) = verify(&other_pub, row);
    assert!(!ok, "{out}");
}

/// Consumers of another tenant see nothing; producers may not export.
fn producers_and_other_tenants_get_no_bundle(w: &Exports) {
    let Exports {
        base,
        producer,
        consumer,
        hot_seq,
        ..
    } = w;
    let r = Client::new(base, producer).get(&routes::bundle("ebox", hot_seq));
    assert_eq!(r.status, 403, "{}", r.text());
    let r = Client::new(base, consumer).get(&routes::bundle("ebox", "100000"));
    assert_eq!(r.status, 404, "{}", r.text());
}

/// The bag validates with the Library of Congress tool, and its report renders in a
/// headless browser.
fn the_bag_validates_and_its_report_renders(w: &Exports, bag: &Path) {
    let Exports { work, .. } = w;
    let out = Command::new("python3")
        .args(["-m", "bagit", "--validate"])
        .arg(bag)
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
