//! The `segment` and `tiles` verifications (formats/cold-layout.md §7) on faults that the
//! vectors do not each have a file for: every rule of the layout is refused at its named check.

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
    let range = "00000000000000000000-00000000000000000004.zseg";
    for (key, outcome, failed) in [
        (
            format!("v1/acme/invoices/segments/2035-11/{range}"),
            Outcome::Ok,
            None,
        ),
        (
            format!("v1/acme/payroll/segments/2035-11/{range}"),
            Outcome::DecodeError,
            Some("segment.placement"),
        ),
        (
            "v1/acme/invoices/segments/2035-11/00000000000000000000-00000000000000000003.zseg"
                .into(),
            Outcome::DecodeError,
            Some("segment.placement"),
        ),
        (
            format!("v1/acme/invoices/segments/never/{range}"),
            Outcome::DecodeError,
            Some("segment.1"),
        ),
        (
            format!("v1/acme/invoices/segments/2035-11/{range}.tmp"),
            Outcome::DecodeError,
            Some("segment.key"),
        ),
        (
            format!("v2/acme/invoices/segments/2035-11/{range}"),
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
        |i| set(i, "checkpoint_key", "v1/acme/ledger/checkpoints/300.note"),
        Outcome::DecodeError,
        Some("checkpoint.key"),
    );
    check(
        &ok,
        |i| {
            set(
                i,
                "checkpoint_key",
                "v1/acme/ledger/checkpoints/00000000000000000299.note",
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
                "v1/acme/invoices/checkpoints/00000000000000000300.note",
            )
        },
        Outcome::BadOrigin,
        Some("checkpoint.origin"),
    );
    check(
        &ok,
        |i| {
            let mut t = tiles(i);
            t.remove("v1/acme/ledger/tile/1/000.p/1");
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
                "v1/acme/invoices/tile/0/000".into(),
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
                "v1/acme/ledger/tile/1/000.p/1".into(),
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
            let key = "v1/acme/ledger/tile/0/001.p/44";
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
                "v1/acme/ledger/tile/0/000.p/200".into(),
                Value::String(B64.encode([0; 5])),
            );
            with_tiles(i, t);
        },
        Outcome::Ok,
        None,
    );
}
