//! The `segment` and `tiles` verifications (formats/cold-layout.md §7) on faults that the
//! vectors do not each have a file for: every rule of the layout, v1 and v2, is refused at
//! its named check.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use zegel_format::vectors::{self, Vector};
use zegel_format::verify::{Outcome, Verdict};

fn vector(scenario: &str) -> Vector {
    vectors::generate()
        .into_iter()
        .find(|v| v.scenario == scenario)
        .unwrap()
}

/// Runs `base` with `change` applied to its inputs; the first failed check must be `failed`
/// with `outcome` (or none at all when `failed` is `None`).
fn check(
    base: &Vector,
    change: impl FnOnce(&mut serde_json::Map<String, Value>),
    outcome: Outcome,
    failed: Option<&str>,
) {
    let mut v = base.clone();
    let mut inputs: serde_json::Map<String, Value> = v.inputs.clone().into_iter().collect();
    change(&mut inputs);
    v.inputs = inputs.into_iter().collect();
    let report = v.run().unwrap();
    let first = report.first_failure().map(|c| c.name.as_str());
    assert_eq!((report.outcome(), first), (outcome, failed), "{report:#?}");
}

fn set(inputs: &mut serde_json::Map<String, Value>, name: &str, value: &str) {
    inputs.insert(name.into(), Value::String(value.into()));
}

#[test]
fn segment_faults_fail_at_their_checks() {
    let ok = vector("segment-ok");
    let range = "00000000000000000000-00000000000000000004";
    let r1 = "+00000000000000000001";
    for (key, outcome, failed) in [
        (
            format!("v2/acme/invoices/segments/2035-11/{range}.zseg"),
            Outcome::Ok,
            None,
        ),
        // Layout v1 stays readable, by its own grammar.
        (
            format!("v1/acme/invoices/segments/2035-11/{range}.zseg"),
            Outcome::Ok,
            None,
        ),
        // Any rewrite number fits the placement rules: the key's slot is what counts.
        (
            format!("v2/acme/invoices/segments/2035-11/{range}{r1}.zseg"),
            Outcome::Ok,
            None,
        ),
        (
            format!("v2/acme/payroll/segments/2035-11/{range}.zseg"),
            Outcome::DecodeError,
            Some("segment.placement"),
        ),
        (
            "v2/acme/invoices/segments/2035-11/00000000000000000000-00000000000000000003.zseg"
                .into(),
            Outcome::DecodeError,
            Some("segment.placement"),
        ),
        (
            format!("v2/acme/invoices/segments/never/{range}.zseg"),
            Outcome::DecodeError,
            Some("segment.1"),
        ),
        (
            format!("v2/acme/invoices/segments/2035-11/{range}.zseg.tmp"),
            Outcome::DecodeError,
            Some("segment.key"),
        ),
        (
            format!("v3/acme/invoices/segments/2035-11/{range}.zseg"),
            Outcome::DecodeError,
            Some("segment.key"),
        ),
        (
            format!("v1/acme/invoices/segments/2035-11/{range}{r1}.zseg"),
            Outcome::DecodeError,
            Some("segment.key"),
        ),
        (
            format!("v2/acme/invoices/segments/2035-11/{range}+00000000000000000000.zseg"),
            Outcome::DecodeError,
            Some("segment.key"),
        ),
        (
            format!("v2/acme/invoices/segments/2035-11/{range}+1.zseg"),
            Outcome::DecodeError,
            Some("segment.key"),
        ),
    ] {
        check(&ok, |i| set(i, "segment_key", &key), outcome, failed);
    }
    // The expected header of the second package replaced by the first's.
    check(
        &ok,
        |i| {
            let headers = i.get_mut("headers").and_then(Value::as_array_mut).unwrap();
            headers[1] = headers[0].clone();
        },
        Outcome::BadDigest,
        Some("segment.2"),
    );
    // A wrong trusted prev: seq 2 restores to another header.
    check(
        &ok,
        |i| {
            let leaves = i.get_mut("leaves").and_then(Value::as_array_mut).unwrap();
            leaves[1] = Value::String(B64.encode([0x55; 32]));
        },
        Outcome::BadDigest,
        Some("segment.1"),
    );
}

/// The key's refusal names its reason: a rewrite part under v1 is not a malformed counter.
#[test]
fn a_v1_key_with_a_rewrite_part_is_refused_for_that_reason() {
    let report = vector("segment-v1-rewrite").run().unwrap();
    let failed = report.first_failure().unwrap();
    assert_eq!(failed.name, "segment.key");
    assert!(
        failed.detail.contains("a v1 key has no rewrite number"),
        "{}",
        failed.detail
    );
}

#[test]
fn rewritten_segment_faults_fail_at_their_checks() {
    let ok = vector("segment-rewritten-ok");
    check(&ok, |_| {}, Outcome::Ok, None);
    // Under the key of the segment it replaces (no rewrite part), the rewritten segment
    // verifies too: placement does not depend on the rewrite number.
    let range = "00000000000000000000-00000000000000000004";
    check(
        &ok,
        |i| {
            set(
                i,
                "segment_key",
                &format!("v2/acme/invoices/segments/2035-11/{range}.zseg"),
            )
        },
        Outcome::Ok,
        None,
    );
    // Expected headers of the full segment: the second package restores to row 3, not row 2.
    let full = vector("segment-ok");
    check(
        &ok,
        |i| {
            i.insert("headers".into(), full.inputs["headers"].clone());
        },
        Outcome::BadDigest,
        Some("segment.3"),
    );
    // Without the leaf of seq 2, which it no longer holds, seq 3 cannot be restored.
    let mut v = ok.clone();
    if let Some(Value::Array(leaves)) = v.inputs.get_mut("leaves") {
        leaves[2] = Value::String(B64.encode([0x55; 32]));
    }
    let report = v.run().unwrap();
    assert_eq!(
        report.first_failure().map(|c| (c.name.as_str(), c.outcome)),
        Some(("segment.3", Outcome::BadDigest)),
        "{report:#?}"
    );
}

#[test]
fn a_package_without_trusted_leaves_is_skipped_not_passed() {
    let mut v = vector("segment-ok");
    let leaves = v
        .inputs
        .get_mut("leaves")
        .and_then(Value::as_array_mut)
        .unwrap();
    leaves.truncate(3); // seq 0-2: seq 3 has no trusted leaf
    let report = v.run().unwrap();
    let last = report.checks.last().unwrap();
    assert_eq!(
        (last.name.as_str(), last.verdict),
        ("segment.3", Verdict::Skip)
    );
    assert_eq!(report.outcome(), Outcome::Ok);
}

#[test]
fn tile_faults_fail_at_their_checks() {
    let ok = vector("tiles-ok");
    let tiles = |i: &mut serde_json::Map<String, Value>| -> serde_json::Map<String, Value> {
        i.get("tiles").and_then(Value::as_object).unwrap().clone()
    };
    let with_tiles = |i: &mut serde_json::Map<String, Value>, t: serde_json::Map<String, Value>| {
        i.insert("tiles".into(), Value::Object(t));
    };
    check(&ok, |_| {}, Outcome::Ok, None);
    check(
        &ok,
        |i| set(i, "checkpoint_key", "v2/acme/ledger/checkpoints/300.note"),
        Outcome::DecodeError,
        Some("checkpoint.key"),
    );
    check(
        &ok,
        |i| {
            set(
                i,
                "checkpoint_key",
                "v2/acme/ledger/checkpoints/00000000000000000299.note",
            )
        },
        Outcome::DecodeError,
        Some("checkpoint.size"),
    );
    check(
        &ok,
        |i| {
            set(
                i,
                "checkpoint_key",
                "v2/acme/invoices/checkpoints/00000000000000000300.note",
            )
        },
        Outcome::BadOrigin,
        Some("checkpoint.origin"),
    );
    check(
        &ok,
        |i| {
            let mut t = tiles(i);
            t.remove("v2/acme/ledger/tile/1/000.p/1");
            with_tiles(i, t);
        },
        Outcome::DecodeError,
        Some("tiles.keys"),
    );
    check(
        &ok,
        |i| {
            let mut t = tiles(i);
            t.insert(
                "v2/acme/invoices/tile/0/000".into(),
                Value::String(String::new()),
            );
            with_tiles(i, t);
        },
        Outcome::DecodeError,
        Some("tiles.keys"),
    );
    check(
        &ok,
        |i| {
            let mut t = tiles(i);
            t.insert(
                "v2/acme/ledger/tile/1/000.p/1".into(),
                Value::String(B64.encode([1; 31])),
            );
            with_tiles(i, t);
        },
        Outcome::DecodeError,
        Some("tiles.decode"),
    );
    // A flipped bit in a partial tile changes the root.
    check(
        &ok,
        |i| {
            let mut t = tiles(i);
            let key = "v2/acme/ledger/tile/0/001.p/44";
            let mut bytes = B64.decode(t[key].as_str().unwrap()).unwrap();
            bytes[100] ^= 0x04;
            t.insert(key.into(), Value::String(B64.encode(bytes)));
            with_tiles(i, t);
        },
        Outcome::BadProof,
        Some("tiles.root"),
    );
    // An older partial tile is not read: garbage in it changes nothing.
    check(
        &ok,
        |i| {
            let mut t = tiles(i);
            t.insert(
                "v2/acme/ledger/tile/0/000.p/200".into(),
                Value::String(B64.encode([0; 5])),
            );
            with_tiles(i, t);
        },
        Outcome::Ok,
        None,
    );
    // Tiles under v1/ are not read for a v2 checkpoint: garbage in them changes nothing, and
    // a v2 tile that is missing is not replaced by its v1 copy.
    check(
        &ok,
        |i| {
            let mut t = tiles(i);
            t.insert(
                "v1/acme/ledger/tile/0/000".into(),
                Value::String(B64.encode([0; 5])),
            );
            with_tiles(i, t);
        },
        Outcome::Ok,
        None,
    );
    check(
        &ok,
        |i| {
            let mut t = tiles(i);
            let partial = t.remove("v2/acme/ledger/tile/1/000.p/1").unwrap();
            t.insert("v1/acme/ledger/tile/1/000.p/1".into(), partial);
            with_tiles(i, t);
        },
        Outcome::DecodeError,
        Some("tiles.keys"),
    );
    check(
        &ok,
        |i| {
            let mut t = tiles(i);
            t.insert(
                "v3/acme/ledger/tile/0/000".into(),
                Value::String(String::new()),
            );
            with_tiles(i, t);
        },
        Outcome::DecodeError,
        Some("tiles.keys"),
    );
    // A v1 checkpoint reads its tiles under v1/.
    let v1 = vector("tiles-v1-ok");
    check(&v1, |_| {}, Outcome::Ok, None);
    check(
        &v1,
        |i| {
            set(
                i,
                "checkpoint_key",
                "v3/acme/ledger/checkpoints/00000000000000000300.note",
            )
        },
        Outcome::DecodeError,
        Some("checkpoint.key"),
    );
}
