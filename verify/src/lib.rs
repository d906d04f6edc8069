//! What `zegel-verify` does, as library functions the binary calls and tests reuse:
//! read the input files, run the checks of `zegel_format::verify`, print one line per check.
//!
//! This package depends on `zegel-format` and small pure crates only: the verifier handed to
//! courts links no database, no async runtime and no HTTP stack.

pub mod limits;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use zegel_format::bundle::{BUNDLE_EXTENSION, Bundle};
use zegel_format::disposition::CERTIFICATE_EXTENSION;
use zegel_format::note::VerifierKey;
use zegel_format::vectors::Vector;
use zegel_format::verify::{self, CertificateInputs, PackageInputs, Report, TrustedKey, Verdict};

use crate::limits::INPUT_FILE_BYTES_MAX;

/// Exit code when every check passed.
pub const EXIT_VERIFIED: i32 = 0;
/// Exit code when a check failed: the evidence does not verify.
pub const EXIT_FAILED: i32 = 1;
/// Exit code when verification could not run (unreadable file, bad key, bad arguments).
pub const EXIT_CANNOT_RUN: i32 = 2;

/// An input problem that prevents verification (as opposed to a failed check).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {size} bytes is more than the {max} bytes zegel-verify reads")]
    TooLarge { path: String, size: u64, max: u64 },
    #[error("public key: {0}")]
    Key(String),
    #[error("{0}")]
    Vector(String),
    #[error("{path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}: give a subcommand (see --help), or a .zbundle or .zcert file")]
    UnknownFile(String),
}

/// Reads a whole input file, bounded by [`INPUT_FILE_BYTES_MAX`].
pub fn read_input(path: &Path) -> Result<Vec<u8>, InputError> {
    let err = |source| InputError::Read {
        path: path.display().to_string(),
        source,
    };
    let size = std::fs::metadata(path).map_err(err)?.len();
    if size > INPUT_FILE_BYTES_MAX {
        return Err(InputError::TooLarge {
            path: path.display().to_string(),
            size,
            max: INPUT_FILE_BYTES_MAX,
        });
    }
    std::fs::read(path).map_err(err)
}

/// The trusted key: either the verifier key text itself (`name+id+base64`) or a file holding it.
pub fn load_key(arg: &str) -> Result<VerifierKey, InputError> {
    let as_text = match VerifierKey::from_text(arg) {
        Ok(k) => return Ok(k),
        Err(e) => e,
    };
    let path = Path::new(arg);
    if !path.exists() {
        return Err(InputError::Key(format!(
            "{arg:?} is neither a key (name+id+base64: {as_text}) nor an existing file"
        )));
    }
    let bytes = read_input(path)?;
    let text =
        String::from_utf8(bytes).map_err(|_| InputError::Key(format!("{arg}: not UTF-8 text")))?;
    VerifierKey::from_text(&text).map_err(|e| InputError::Key(format!("{arg}: {e}")))
}

/// The key a bundle verification trusts: a verifier key, or the fingerprint of one of the
/// bundle's keys (formats/signed-note.md §3.4).
#[derive(Debug, Clone)]
pub enum BundleKey {
    Key(VerifierKey),
    Fingerprint([u8; 32]),
}

/// `--key` of a bundle: 64 hex digits are a fingerprint; otherwise a key text or a file
/// holding one, as [`load_key`]. A bare 8-digit key id is refused: 32 bits are too few to
/// name a trusted key, since anyone can make a key with a given id.
pub fn load_bundle_key(arg: &str) -> Result<BundleKey, InputError> {
    let hex_digits = |n: usize| {
        arg.len() == n
            && arg
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b.to_ascii_lowercase()))
    };
    if hex_digits(64) {
        let mut fingerprint = [0u8; 32];
        hex::decode_to_slice(arg.to_ascii_lowercase(), &mut fingerprint)
            .map_err(|e| InputError::Key(format!("{arg:?}: {e}")))?;
        return Ok(BundleKey::Fingerprint(fingerprint));
    }
    if hex_digits(8) && !Path::new(arg).exists() {
        return Err(InputError::Key(format!(
            "{arg:?} looks like a key id: 32 bits cannot identify a key you trust; give the key \
             text, a file holding it, or its 64-hex-digit fingerprint"
        )));
    }
    load_key(arg).map(BundleKey::Key)
}

/// Verifies a proof bundle (`.zbundle`, formats/bundle.md). With `html`, writes the report
/// stored in the bundle there when the bundle decodes (its `bundle.report` check says whether
/// the report is the one the contents give).
pub fn verify_bundle_file(
    path: &Path,
    key: &BundleKey,
    html: Option<&Path>,
) -> Result<Report, InputError> {
    let bytes = read_input(path)?;
    let report = match key {
        BundleKey::Key(k) => verify::verify_bundle_trusting(&bytes, TrustedKey::Key(k)),
        BundleKey::Fingerprint(f) => {
            verify::verify_bundle_trusting(&bytes, TrustedKey::Fingerprint(f))
        }
    };
    if let (Some(out), Ok(bundle)) = (html, Bundle::decode(&bytes)) {
        std::fs::write(out, bundle.report).map_err(|source| InputError::Write {
            path: out.display().to_string(),
            source,
        })?;
    }
    Ok(report)
}

/// `zegel-verify --key KEY FILE`: a bundle or a certificate, by the file's extension.
pub fn verify_file(path: &Path, key: &str) -> Result<Report, InputError> {
    match path.extension().and_then(|x| x.to_str()) {
        Some(BUNDLE_EXTENSION) => verify_bundle_file(path, &load_bundle_key(key)?, None),
        Some(CERTIFICATE_EXTENSION) => verify_certificate_file(path, &load_key(key)?),
        _ => Err(InputError::UnknownFile(path.display().to_string())),
    }
}

/// Files of a package verification.
#[derive(Debug, Clone)]
pub struct PackageFiles {
    pub package: PathBuf,
    pub proof: Option<PathBuf>,
    pub checkpoint: Option<PathBuf>,
    pub receipt: Option<PathBuf>,
}

fn read_opt(p: &Option<PathBuf>) -> Result<Option<Vec<u8>>, InputError> {
    p.as_deref().map(read_input).transpose()
}

pub fn verify_package_files(files: &PackageFiles, key: &VerifierKey) -> Result<Report, InputError> {
    let sealed = read_input(&files.package)?;
    let proof = read_opt(&files.proof)?;
    let checkpoint = read_opt(&files.checkpoint)?;
    let receipt = read_opt(&files.receipt)?;
    Ok(verify::verify_package(PackageInputs {
        sealed: &sealed,
        proof: proof.as_deref(),
        checkpoint: checkpoint.as_deref(),
        receipt: receipt.as_deref(),
        key,
    }))
}

pub fn verify_consistency_files(
    old: &Path,
    new: &Path,
    proof: &Path,
    key: &VerifierKey,
) -> Result<Report, InputError> {
    Ok(verify::verify_consistency(
        &read_input(old)?,
        &read_input(new)?,
        &read_input(proof)?,
        key,
    ))
}

/// Verifies a certificate of destruction (`.zcert`, formats/disposition.md).
pub fn verify_certificate_file(path: &Path, key: &VerifierKey) -> Result<Report, InputError> {
    let certificate = read_input(path)?;
    Ok(verify::verify_certificate(CertificateInputs {
        certificate: &certificate,
        key,
    }))
}

pub fn verify_chain_files(packages: &[PathBuf]) -> Result<Report, InputError> {
    let bytes: Vec<Vec<u8>> = packages
        .iter()
        .map(|p| read_input(p))
        .collect::<Result<_, _>>()?;
    let refs: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
    Ok(verify::verify_chain(&refs))
}

/// The report as text: one line per check, then a verdict line naming the first failure.
pub fn render(report: &Report) -> String {
    let width = report
        .checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for c in &report.checks {
        let verdict = match c.verdict {
            Verdict::Pass => "ok  ",
            Verdict::Fail => "FAIL",
            Verdict::Skip => "skip",
        };
        let _ = writeln!(out, "{verdict}  {:width$}  {}", c.name, c.detail);
    }
    match report.first_failure() {
        None => {
            let n = report
                .checks
                .iter()
                .filter(|c| c.verdict == Verdict::Pass)
                .count();
            let _ = writeln!(out, "VERIFIED: {n} checks passed");
        }
        Some(c) => {
            let _ = writeln!(
                out,
                "FAILED: {} ({}): {}",
                c.name,
                c.outcome.as_str(),
                c.detail
            );
        }
    }
    out
}

/// The exit code for a report.
pub fn exit_code(report: &Report) -> i32 {
    if report.passed() {
        EXIT_VERIFIED
    } else {
        EXIT_FAILED
    }
}

/// Runs conformance vectors (files, or every `*.json` in given directories). Returns the
/// text to print and whether every vector gave its expected outcome.
pub fn run_vectors(paths: &[PathBuf]) -> Result<(String, bool), InputError> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let entries = std::fs::read_dir(p).map_err(|source| InputError::Read {
                path: p.display().to_string(),
                source,
            })?;
            for e in entries.flatten() {
                if e.path().extension().is_some_and(|x| x == "json") {
                    files.push(e.path());
                }
            }
        } else {
            files.push(p.clone());
        }
    }
    files.sort();
    let mut out = String::new();
    let mut all_ok = true;
    for f in &files {
        let bytes = read_input(f)?;
        let v: Vector = serde_json::from_slice(&bytes)
            .map_err(|e| InputError::Vector(format!("{}: {e}", f.display())))?;
        match v.check_expectation() {
            Ok(report) => {
                let at = report
                    .first_failure()
                    .map_or(String::new(), |c| format!(" at {}", c.name));
                let _ = writeln!(out, "ok    {:40} expect {}{at}", v.scenario, v.expect);
            }
            Err(e) => {
                all_ok = false;
                let _ = writeln!(out, "FAIL  {:40} {}", v.scenario, e.problem);
            }
        }
    }
    let _ = writeln!(
        out,
        "{} vectors, {}",
        files.len(),
        if all_ok {
            "all as expected"
        } else {
            "SOME NOT AS EXPECTED"
        }
    );
    Ok((out, all_ok))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "zegel.test+ec171e06+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs";
    const FINGERPRINT: &str = "ec171e06d165ff18a330f29208fed4c5bc6af4ffa2537e40829538dde69f184f";

    #[test]
    fn bundle_keys_by_text_or_fingerprint_but_not_by_key_id() {
        let key = VerifierKey::from_text(TEXT).unwrap();
        assert!(matches!(load_bundle_key(TEXT), Ok(BundleKey::Key(k)) if k == key));
        for f in [FINGERPRINT.to_string(), FINGERPRINT.to_ascii_uppercase()] {
            assert!(
                matches!(load_bundle_key(&f), Ok(BundleKey::Fingerprint(x)) if x == key.fingerprint())
            );
        }
        let by_id = load_bundle_key("ec171e06").unwrap_err().to_string();
        assert!(by_id.contains("key id"), "{by_id}");
        assert!(load_bundle_key(&FINGERPRINT[1..]).is_err());
        assert!(load_bundle_key("/nonexistent/key.pub").is_err());
    }

    #[test]
    fn files_dispatch_by_extension() {
        let err = verify_file(Path::new("/nonexistent/notes.txt"), TEXT).unwrap_err();
        assert!(matches!(err, InputError::UnknownFile(_)), "{err}");
        let err = verify_file(Path::new("/nonexistent/x.zbundle"), TEXT).unwrap_err();
        assert!(matches!(err, InputError::Read { .. }), "{err}");
    }
}
