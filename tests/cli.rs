//! The real binaries, end to end: `zegel key generate`, `zegel seal`, and `zegel-verify` on
//! what they wrote, on the conformance vectors, and on tampered files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::verify_bin;

const ZEGEL: &str = env!("CARGO_BIN_EXE_zegel");

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{bin}: {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Writes rows like ../shared/bench/gen_rows.py's, without needing Python.
fn rows(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                r#"{{"message_id":"EBX-2025-{i:09}","sender":"RSZ","sent_at":"2025-03-0{}T10:00:00Z","amount_eur":{}.5,"status":"READ"}}"#,
                i % 9 + 1,
                i * 3
            ) + "\n"
        })
        .collect()
}

/// A sealed log in a temp dir: returns (dir, public key file).
fn sealed_log(n: usize) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("keys/signing.key");
    let out = run(
        ZEGEL,
        &[
            "key",
            "generate",
            "--name",
            "zegel.test",
            "--out",
            key.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let rows_file = dir.path().join("rows.ndjson");
    std::fs::write(&rows_file, rows(n)).unwrap();
    let log = dir.path().join("log");
    let out = run(
        ZEGEL,
        &[
            "seal",
            "--key",
            key.to_str().unwrap(),
            "--tenant",
            "acme",
            "--archive",
            "ebox",
            "--key-field",
            "message_id",
            "--index",
            "sender,sent_at,amount_eur",
            "--group-rows",
            "7",
            "--out",
            log.to_str().unwrap(),
            rows_file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("sealed {} packages", n + 1)),
        "{}",
        text(&out)
    );
    let public = log.join("key.pub");
    (dir, public)
}

fn verify_seq(dir: &Path, public: &Path, seq: u64) -> Output {
    let log = dir.join("log");
    let f = |sub: &str, ext: &str| {
        log.join(format!("{sub}/{seq}.{ext}"))
            .to_str()
            .unwrap()
            .to_string()
    };
    run(
        verify_bin(),
        &[
            "package",
            "--key",
            public.to_str().unwrap(),
            "--package",
            &f("packages", "zpkg"),
            "--proof",
            &f("proofs", "proof"),
            "--checkpoint",
            log.join("checkpoint").to_str().unwrap(),
            "--receipt",
            &f("receipts", "receipt"),
        ],
    )
}

#[test]
fn every_sealed_package_verifies_with_the_real_binaries() {
    let (dir, public) = sealed_log(20);
    for seq in 0..=20 {
        let out = verify_seq(dir.path(), &public, seq);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(0), "seq {seq}: {t}");
        assert!(t.contains("VERIFIED"), "{t}");
        for check in [
            "package.decode",
            "object.0",
            "checkpoint.signature",
            "proof.inclusion",
            "receipt.signature",
            "receipt.package",
        ] {
            assert!(
                t.contains(&format!("ok    {check}")),
                "seq {seq} lacks a passing {check}: {t}"
            );
        }
    }
    // The chain over all packages in order.
    let packages: Vec<String> = (0..=20)
        .map(|s| {
            dir.path()
                .join(format!("log/packages/{s}.zpkg"))
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut args = vec!["chain"];
    args.extend(packages.iter().map(String::as_str));
    let out = run(verify_bin(), &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Out of order, the chain names the break.
    args.swap(3, 4);
    let out = run(verify_bin(), &args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("FAILED: chain."), "{}", text(&out));
}

#[test]
fn tampering_is_named_and_exits_one() {
    let (dir, public) = sealed_log(5);
    let pkg = dir.path().join("log/packages/3.zpkg");
    // A package of another seq in place of 3: its own checks pass, the proof does not.
    std::fs::copy(dir.path().join("log/packages/2.zpkg"), &pkg).unwrap();
    let out = verify_seq(dir.path(), &public, 3);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("FAILED: proof.inclusion (bad-proof)"),
        "{}",
        text(&out)
    );
    // A flipped byte in the zstd frame.
    let mut bytes = std::fs::read(dir.path().join("log/packages/4.zpkg")).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(dir.path().join("log/packages/4.zpkg"), &bytes).unwrap();
    let out = verify_seq(dir.path(), &public, 4);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("FAILED: "), "{}", text(&out));
    // Another key.
    let other = dir.path().join("other.key");
    let out = run(
        ZEGEL,
        &[
            "key",
            "generate",
            "--name",
            "zegel.test",
            "--out",
            other.to_str().unwrap(),
        ],
    );
    let other_pub = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let out = run(
        verify_bin(),
        &[
            "package",
            "--key",
            &other_pub,
            "--package",
            dir.path().join("log/packages/1.zpkg").to_str().unwrap(),
            "--proof",
            dir.path().join("log/proofs/1.proof").to_str().unwrap(),
            "--checkpoint",
            dir.path().join("log/checkpoint").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("FAILED: checkpoint.signature (bad-signature)"),
        "{}",
        text(&out)
    );
}

#[test]
fn unreadable_input_exits_two_with_a_reason() {
    let (dir, public) = sealed_log(1);
    let out = run(
        verify_bin(),
        &[
            "package",
            "--key",
            public.to_str().unwrap(),
            "--package",
            "/nonexistent/x.zpkg",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("cannot verify: /nonexistent/x.zpkg"),
        "{}",
        text(&out)
    );
    let out = run(
        verify_bin(),
        &[
            "package",
            "--key",
            "not-a-key",
            "--package",
            dir.path().join("log/packages/0.zpkg").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("public key"), "{}", text(&out));
}

#[test]
fn the_conformance_vectors_pass_through_the_binary() {
    let out = run(
        verify_bin(),
        &["vectors", repo().join("formats/vectors").to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("all as expected"), "{}", text(&out));
}

#[test]
fn seal_reports_the_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    assert!(
        run(
            ZEGEL,
            &[
                "key",
                "generate",
                "--name",
                "z",
                "--out",
                key.to_str().unwrap()
            ]
        )
        .status
        .success()
    );
    let rows_file = dir.path().join("rows.ndjson");
    std::fs::write(&rows_file, format!("{}{{\"message_id\": 7}}\n", rows(2))).unwrap();
    let out = run(
        ZEGEL,
        &[
            "seal",
            "--key",
            key.to_str().unwrap(),
            "--tenant",
            "t",
            "--archive",
            "a",
            "--key-field",
            "message_id",
            "--out",
            dir.path().join("o").to_str().unwrap(),
            rows_file.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("line 3: the key field \"message_id\" is missing or not a string"),
        "{}",
        text(&out)
    );
    // A key file that others can read is refused.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(ZEGEL, &["key", "public", "--key", key.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("chmod 600"), "{}", text(&out));
}

/// `--help` of every command is pinned: flags are part of the interface.
#[test]
fn help_texts_are_pinned() {
    let cases: &[(&str, &[&str], &str)] = &[
        (verify_bin(), &["--help"], "zegel-verify.txt"),
        (
            verify_bin(),
            &["package", "--help"],
            "zegel-verify-package.txt",
        ),
        (ZEGEL, &["--help"], "zegel.txt"),
        (ZEGEL, &["seal", "--help"], "zegel-seal.txt"),
    ];
    let mut diffs = Vec::new();
    for (bin, args, file) in cases {
        let out = run(bin, args);
        let got = String::from_utf8_lossy(&out.stdout).to_string();
        let path = repo().join("tests/snapshots").join(file);
        if std::env::var_os("ZEGEL_UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, &got).unwrap();
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if got != want {
            diffs.push(format!("{file}:\n--- want\n{want}\n--- got\n{got}"));
        }
    }
    assert!(
        diffs.is_empty(),
        "help changed (ZEGEL_UPDATE_SNAPSHOTS=1 to accept):\n{}",
        diffs.join("\n")
    );
}
