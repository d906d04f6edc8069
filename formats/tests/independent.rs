//! The independent verifier (formats/independent/zegel_verify.py, written from the specs
//! alone) against the reference: it reproduces every vector, and it agrees with `verify_bundle` on bundles the vectors do not hold.
//!
//! It needs `python3` with the `cryptography` package and the `zstd` command; a missing one
//! fails the test with what to install (scripts/deps.sh, `zegel_test_deps`, installs them).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use zegel_format::bundle::{ArchiveKey, Bundle};
use zegel_format::note::{self, VerifierKey};
use zegel_format::vectors::{self, Vector};
use zegel_format::verify::{self, Outcome};

fn formats_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn script() -> PathBuf {
    formats_dir().join("independent").join("zegel_verify.py")
}

/// Fails, saying what to install, unless python3, its `cryptography` package and `zstd` are
/// there. Never skips: a verifier that is not run proves nothing.
fn require_tools() {
    let runs = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let how = "scripts/deps.sh (zegel_test_deps, run by scripts/test.sh) installs it";
    assert!(
        runs(
            "python3",
            &["-c", "import sys; sys.exit(sys.version_info < (3, 11))"]
        ),
        "python3 (3.11 or later) is missing: the independent verifier runs on it \
         (Debian: apt-get install python3); {how}"
    );
    assert!(
        runs(
            "python3",
            &[
                "-c",
                "import cryptography.hazmat.primitives.asymmetric.ed25519"
            ]
        ),
        "the Python package `cryptography` is missing: the independent verifier checks \
         Ed25519 with it (Debian: apt-get install python3-cryptography, or \
         python3 -m pip install cryptography); {how}"
    );
    assert!(
        runs("zstd", &["--version"]),
        "the `zstd` command is missing: the independent verifier decompresses sealed \
         packages with it (Debian: apt-get install zstd); {how}"
    );
}

/// Runs the independent verifier from a directory that is not the repository's, so that it
/// cannot depend on the working directory.
fn run_independent(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new("python3")
        .arg(script())
        .args(args)
        .current_dir(std::env::temp_dir())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 {}: {e}", script().display()));
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(bytes).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The independent verifier's `bundle` command on bytes: its exit code and its first failed
/// check as (category, name), `None` when it verified.
fn independent_bundle(
    bytes: &[u8],
    key: &VerifierKey,
) -> (Option<i32>, Option<(String, String)>, String) {
    let out = run_independent(&["bundle", "--key", &key.to_text(), "-"], Some(bytes));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // "FAILED: <n> check(s) failed, the first <name> (<category>)"
    let first = stdout.lines().find_map(|l| {
        let rest = l.strip_prefix("FAILED: ")?;
        let (_, tail) = rest.split_once(", the first ")?;
        let (name, cat) = tail.split_once(" (")?;
        Some((cat.trim_end_matches(')').to_string(), name.to_string()))
    });
    (out.status.code(), first, text(&out))
}

fn reference_first_failure(bytes: &[u8], key: &VerifierKey) -> Option<(String, String)> {
    let report = verify::verify_bundle(bytes, key);
    report
        .first_failure()
        .map(|c| (c.outcome.as_str().to_string(), c.name.clone()))
}

fn bundle_ok() -> Vec<u8> {
    vector_bundle("bundle-ok")
}

#[test]
fn independent_verifier_reproduces_every_vector() {
    require_tools();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(formats_dir().join("vectors")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        files.push(path.to_string_lossy().into_owned());
    }
    files.sort();
    let expected = vectors::generate().len();
    assert!(
        files.len() == expected && expected >= 100,
        "expected the {expected} vectors, found {}",
        files.len()
    );
    let mut args = vec!["vector"];
    args.extend(files.iter().map(String::as_str));
    let out = run_independent(&args, None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = format!("{n} of {n} vector(s) reproduced", n = files.len());
    assert!(
        out.status.success() && stdout.lines().any(|l| l == summary),
        "the independent verifier does not reproduce every vector:\n{}",
        text(&out)
    );
}

#[test]
fn independent_verifier_fails_a_bundle_with_a_flipped_byte_as_the_reference_does() {
    require_tools();
    let ok = bundle_ok();
    let key = vectors::test_key().verifier();
    let (code, first, out) = independent_bundle(&ok, &key);
    assert!(
        code == Some(0) && first.is_none(),
        "bundle-ok must verify:\n{out}"
    );

    // One byte in the middle of the sealed package (key 4): the package no longer opens or an
    // object no longer matches its digest.
    let decoded = Bundle::decode(&ok).unwrap();
    let package = decoded.package.as_deref().unwrap();
    let at = ok
        .windows(package.len())
        .position(|w| w == package)
        .unwrap()
        + package.len() / 2;
    let mut bad = ok.clone();
    bad[at] ^= 0x01;
    let reference = reference_first_failure(&bad, &key);
    assert!(
        reference.is_some(),
        "the reference verifies the altered bundle"
    );
    let (code, first, out) = independent_bundle(&bad, &key);
    assert_eq!(
        code,
        Some(1),
        "the independent verifier must fail the altered bundle:\n{out}"
    );
    assert_eq!(
        first, reference,
        "the independent verifier fails the altered bundle elsewhere than the reference:\n{out}"
    );
}

/// formats/signed-note.md §3.3: a public key with a non-canonical encoding (y ≥ p, or x = 0
/// with the sign bit set) is a valid key text. A bundle listing such keys beside the trusted
/// one verifies in both verifiers.
#[test]
fn both_verifiers_accept_non_canonical_keys_in_a_bundles_key_list() {
    require_tools();
    let p_plus_3 = {
        let mut b = [0xffu8; 32];
        b[0] = 0xed + 3; // 2^255 − 19 + 3: y = 3 (mod p), a point not of small order
        b[31] = 0x7f;
        b
    };
    let minus_zero = {
        let mut b = [0u8; 32];
        b[0] = 1; // y = 1, x = 0 with the sign bit set: the identity
        b[31] = 0x80;
        b
    };
    let mut b = Bundle::decode(&bundle_ok()).unwrap();
    for (name, public) in [("odd.y", p_plus_3), ("odd.x", minus_zero)] {
        let mut raw = vec![note::NOTE_ALG_ED25519];
        raw.extend_from_slice(&public);
        let text = format!(
            "{name}+{}+{}",
            hex::encode(note::key_id(name, &public)),
            B64.encode(raw)
        );
        let key = VerifierKey::from_text(&text)
            .unwrap_or_else(|e| panic!("the reference refuses the key text {text}: {e}"));
        assert_eq!(key.public_bytes(), &public, "kept as written");
        b.keys.push(ArchiveKey {
            key,
            valid_from_ms: None,
            valid_until_ms: None,
        });
    }
    let bytes = b.with_report().encode();
    let key = vectors::test_key().verifier();
    let report = verify::verify_bundle(&bytes, &key);
    assert_eq!(report.outcome(), Outcome::Ok, "{report:?}");
    let (code, first, out) = independent_bundle(&bytes, &key);
    assert!(
        code == Some(0) && first.is_none(),
        "the independent verifier must verify the bundle:\n{out}"
    );
}

/// The bundle of a vector, by scenario.
fn vector_bundle(scenario: &str) -> Vec<u8> {
    let path = formats_dir()
        .join("vectors")
        .join(format!("{scenario}.json"));
    let v: Vector = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    B64.decode(v.inputs["bundle"].as_str().unwrap()).unwrap()
}

/// Every third byte of `bundle-ok` (the package whole, an agreement) and every fifth of
/// `bundle-disposed-ok` (the package absent, a disposition, two checkpoints), one bit of each
/// chosen by a fixed seed: the bundle with that bit flipped is refused by both verifiers, at
/// the same first check. This covers every part of a bundle, the report included
/// (formats/bundle-report.md).
#[test]
fn both_verifiers_refuse_a_bundle_with_any_flipped_bit_of_a_dense_sample() {
    require_tools();
    flipped_bits_are_refused_alike("bundle-ok", 3);
    flipped_bits_are_refused_alike("bundle-disposed-ok", 5);
}

fn flipped_bits_are_refused_alike(scenario: &str, step: usize) {
    let ok = vector_bundle(scenario);
    let key = vectors::test_key().verifier();
    let mut state: u64 = 0x5eed_0fb1_7f11_9500;
    let mut next = || {
        // splitmix64: a fixed, portable sequence
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let bits: Vec<usize> = (0..ok.len())
        .step_by(step)
        .map(|byte| byte * 8 + usize::try_from(next() % 8).unwrap())
        .collect();
    let dir = std::env::temp_dir().join(format!("zegel-flips-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{scenario}.zbundle"));
    std::fs::write(&file, &ok).unwrap();
    let mut args = vec![
        "flips".to_string(),
        "--key".to_string(),
        key.to_text(),
        file.to_string_lossy().into_owned(),
    ];
    args.extend(bits.iter().map(ToString::to_string));
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_independent(&arg_refs, None);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let independent: Vec<(usize, String, String)> = stdout
        .lines()
        .map(|l| {
            let mut f = l.split(' ');
            let bit = f.next().unwrap().parse().unwrap();
            (
                bit,
                f.next().unwrap().to_string(),
                f.next().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(independent.len(), bits.len(), "{}", text(&out));
    let mut problems = Vec::new();
    for ((bit, category, check), want_bit) in independent.into_iter().zip(&bits) {
        assert_eq!(bit, *want_bit);
        let mut bad = ok.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        let reference = reference_first_failure(&bad, &key);
        let theirs = (category != "ok").then(|| (category.clone(), check.clone()));
        if reference.is_none() || theirs.is_none() || reference != theirs {
            problems.push(format!(
                "bit {bit} (byte {}): reference {reference:?}, independent {theirs:?}",
                bit / 8
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{scenario}: {} of {} flipped bits not refused alike:\n{}",
        problems.len(),
        bits.len(),
        problems.join("\n")
    );
}
