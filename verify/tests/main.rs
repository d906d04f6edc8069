//! The `zegel-verify` binary's exit-code contract: 0 verified, 2 could not run. (The root
//! package's tests drive it further on what `zegel` writes.)

// Test helpers fail loudly on purpose: a panic here is a test failure, not a crash path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

const VERIFY: &str = env!("CARGO_BIN_EXE_zegel-verify");

fn run(args: &[&str]) -> Output {
    Command::new(VERIFY)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{VERIFY}: {e}"))
}

#[test]
fn every_conformance_vector_gives_its_expected_outcome() {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../formats/vectors");
    let out = run(&["vectors", vectors.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(zegel_verify::EXIT_VERIFIED),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_missing_file_cannot_run_and_says_so() {
    let key = "zegel.test+ec171e06+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs";
    let out = run(&["--key", key, "/nonexistent/evidence.zbundle"]);
    assert_eq!(out.status.code(), Some(zegel_verify::EXIT_CANNOT_RUN));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot verify"), "{stderr}");
}
