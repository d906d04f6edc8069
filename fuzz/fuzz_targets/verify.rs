//! The offline verifier end to end with the fixed test key: `verify::verify_package` (and,
//! by the first byte, `verify_consistency` and `verify_chain`) on arbitrary inputs.
//!
//! Input layout: one mode byte, then parts separated by `PART_SEPARATOR` (a marker no seed
//! contains, easy for the fuzzer to keep while it mutates the parts between):
//! - `c`: old checkpoint, new checkpoint, consistency proof;
//! - `h`: sealed packages of a chain, one per part;
//! - anything else (`p` in the seeds): sealed package, inclusion proof, checkpoint, receipt;
//!   a missing or empty optional part is `None`.
//!
//! `examples/seed_corpus.rs` writes the conformance vectors in this layout.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use zegel_format::note::VerifierKey;
use zegel_format::vectors::test_key;
use zegel_format::verify::{self, Outcome, PackageInputs, Report, Verdict};

/// Separates the parts of one input (also in examples/seed_corpus.rs).
const PART_SEPARATOR: &[u8] = b"\n--zegel-fuzz-part--\n";

static KEY: LazyLock<VerifierKey> = LazyLock::new(|| test_key().verifier());

fn split_parts(mut data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    while let Some(i) = data
        .windows(PART_SEPARATOR.len())
        .position(|w| w == PART_SEPARATOR)
    {
        let (part, rest) = data.split_at(i);
        parts.push(part);
        data = rest.get(PART_SEPARATOR.len()..).unwrap_or_default();
    }
    parts.push(data);
    parts
}

fn optional<'a>(parts: &[&'a [u8]], i: usize) -> Option<&'a [u8]> {
    parts.get(i).copied().filter(|p| !p.is_empty())
}

/// A report is consistent with itself: its outcome is that of its first failure.
fn check_report(r: &Report) {
    match r.first_failure() {
        None => {
            assert_eq!(r.outcome(), Outcome::Ok);
            assert!(r.passed());
        }
        Some(c) => {
            assert_eq!(c.verdict, Verdict::Fail);
            assert_ne!(
                c.outcome,
                Outcome::Ok,
                "failed check {} has outcome ok",
                c.name
            );
            assert_eq!(r.outcome(), c.outcome);
            assert!(!r.passed());
        }
    }
    for c in &r.checks {
        assert_eq!(Outcome::parse(c.outcome.as_str()), Some(c.outcome));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let parts = split_parts(rest);
    let report = match mode {
        b'c' => verify::verify_consistency(
            parts.first().copied().unwrap_or_default(),
            parts.get(1).copied().unwrap_or_default(),
            parts.get(2).copied().unwrap_or_default(),
            &KEY,
        ),
        b'h' => verify::verify_chain(&parts),
        _ => {
            let r = verify::verify_package(PackageInputs {
                sealed: parts.first().copied().unwrap_or_default(),
                proof: optional(&parts, 1),
                checkpoint: optional(&parts, 2),
                receipt: optional(&parts, 3),
                key: &KEY,
            });
            assert_eq!(
                r.checks.first().map(|c| c.name.as_str()),
                Some("package.decode")
            );
            r
        }
    };
    check_report(&report);
});
