//! The checked-in conformance vectors are exactly what the generator makes, and each gives
//! its expected outcome.

use std::collections::BTreeMap;
use std::path::Path;

use zegel_format::vectors::{self, Vector};

fn vector_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

fn checked_in() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(vector_dir()).unwrap_or_else(|e| panic!("read vectors dir: {e}"))
    {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.extension().is_some_and(|e| e == "json") {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.insert(
                name,
                std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}")),
            );
        }
    }
    files
}

#[test]
fn regenerating_changes_nothing() {
    let generated: BTreeMap<String, String> = vectors::generate()
        .iter()
        .map(|v| (vectors::file_name(v), vectors::file_contents(v)))
        .collect();
    let on_disk = checked_in();
    let missing: Vec<_> = generated
        .keys()
        .filter(|k| !on_disk.contains_key(*k))
        .collect();
    let extra: Vec<_> = on_disk
        .keys()
        .filter(|k| !generated.contains_key(*k))
        .collect();
    let changed: Vec<_> = generated
        .iter()
        .filter(|(k, v)| on_disk.get(*k).is_some_and(|d| d != *v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && changed.is_empty(),
        "vectors differ from the generator (missing {missing:?}, extra {extra:?}, changed {changed:?}); \
         run `cargo run -p zegel-format --example generate_vectors`"
    );
}

#[test]
fn each_vector_gives_its_expected_outcome() {
    let files = checked_in();
    assert!(
        files.len() >= 30,
        "expected the full vector set, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for (name, contents) in &files {
        let v: Vector = serde_json::from_str(contents).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            format!("{}.json", v.scenario),
            *name,
            "scenario names its file"
        );
        if let Err(e) = v.check_expectation() {
            failures.push(e.to_string());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_outcome_category_is_covered() {
    let expects: std::collections::BTreeSet<String> =
        vectors::generate().into_iter().map(|v| v.expect).collect();
    for want in [
        "ok",
        "decode-error",
        "bad-digest",
        "bad-signature",
        "bad-origin",
        "bad-proof",
        "bad-link",
        "bad-receipt",
        "bad-disposition",
        "bad-key",
        "bad-bundle",
        "bad-report",
    ] {
        assert!(expects.contains(want), "no vector expects {want}");
    }
}

#[test]
fn every_check_has_a_positive_and_a_negative_vector() {
    let vectors = vectors::generate();
    for check in [
        "package",
        "chain",
        "consistency",
        "segment",
        "tiles",
        "certificate",
        "bundle",
    ] {
        let of_check: Vec<&Vector> = vectors.iter().filter(|v| v.check == check).collect();
        assert!(
            of_check.iter().any(|v| v.expect == "ok"),
            "no positive {check} vector"
        );
        assert!(
            of_check.iter().any(|v| v.expect != "ok"),
            "no negative {check} vector"
        );
    }
}
