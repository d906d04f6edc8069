//! The limits of formats/cbor.md §3 that no conformance vector shows (formats/vectors/README.md
//! §7 marks them *unit*): each input one past its limit is refused for that limit. Some limits
//! with a vector (`CBOR_ITEMS_MAX`, `CONSISTENCY_HASHES_MAX`, `NOTE_BYTES_MAX`,
//! `NOTE_NAME_BYTES_MAX`, `DISPOSITION_PACKAGES_MAX`) are checked here too, some of them also
//! at the limit, where they must not refuse.

use zegel_format::DecodeError;
use zegel_format::disposition::{Cause, Certificate, DisposedPackage, Disposition};
use zegel_format::hash::Hash;
use zegel_format::limits::{
    BUNDLE_BYTES_MAX, CBOR_ITEMS_MAX, CERTIFICATE_BYTES_MAX, CONSISTENCY_HASHES_MAX,
    DISPOSITION_PACKAGES_MAX, NOTE_BYTES_MAX, NOTE_NAME_BYTES_MAX, PROOF_BYTES_MAX,
    SEALED_BYTES_MAX, SEGMENT_BYTES_MAX,
};
use zegel_format::note::{check_key_name, parse_note};
use zegel_format::proof::{ConsistencyProof, InclusionProof};

fn is_limit<T: std::fmt::Debug>(what: &str, r: Result<T, DecodeError>) {
    assert!(matches!(r, Err(DecodeError::Limit { .. })), "{what}: {r:?}");
}

/// A CBOR array head of `n` elements (`9a` and 4 bytes), each the integer 0.
fn array_of(n: usize) -> Vec<u8> {
    let mut v = vec![0x9a];
    v.extend_from_slice(&(n as u32).to_be_bytes());
    v.resize(5 + n, 0x00);
    v
}

#[test]
fn limits_without_a_vector_are_enforced() {
    // CBOR_ITEMS_MAX counts the array itself and each element.
    assert!(zegel_format::cbor::check_deterministic(&array_of(CBOR_ITEMS_MAX - 1)).is_ok());
    let items = zegel_format::cbor::check_deterministic(&array_of(CBOR_ITEMS_MAX));
    assert!(
        matches!(items, Err(DecodeError::TooManyItems { .. })),
        "CBOR_ITEMS_MAX: {items:?}"
    );

    let consistency = |n: usize| ConsistencyProof {
        old: 1,
        new: 2,
        path: vec![Hash([1; 32]); n],
    };
    is_limit(
        "CONSISTENCY_HASHES_MAX",
        ConsistencyProof::decode(&consistency(CONSISTENCY_HASHES_MAX + 1).encode()),
    );
    is_limit(
        "PROOF_BYTES_MAX",
        InclusionProof::decode(&vec![0; PROOF_BYTES_MAX + 1]),
    );
    is_limit(
        "NOTE_BYTES_MAX",
        parse_note(&vec![b'x'; NOTE_BYTES_MAX + 1]),
    );
    assert!(check_key_name(&"k".repeat(NOTE_NAME_BYTES_MAX)).is_ok());
    assert!(check_key_name(&"k".repeat(NOTE_NAME_BYTES_MAX + 1)).is_err());

    let record = |n: usize| Disposition {
        cause: Cause::Retention,
        basis: "retention".into(),
        authorized_by: vec!["key-ops".into()],
        decided_ms: 1,
        packages: (0..n as u64)
            .map(|seq| DisposedPackage {
                seq,
                leaf: Hash([2; 32]),
            })
            .collect(),
    };
    assert!(Disposition::decode(&record(DISPOSITION_PACKAGES_MAX).encode()).is_ok());
    is_limit(
        "DISPOSITION_PACKAGES_MAX",
        Disposition::decode(&record(DISPOSITION_PACKAGES_MAX + 1).encode()),
    );
    is_limit(
        "CERTIFICATE_BYTES_MAX",
        Certificate::decode(&vec![0; CERTIFICATE_BYTES_MAX + 1]),
    );
    is_limit(
        "SEALED_BYTES_MAX",
        zegel_format::sealed::open(&vec![0; SEALED_BYTES_MAX + 1]).map(|_| ()),
    );
    // Zeroed allocations stay unmapped until touched; the size is checked before any read.
    is_limit(
        "BUNDLE_BYTES_MAX",
        zegel_format::bundle::Bundle::decode(&vec![0; BUNDLE_BYTES_MAX + 1]),
    );
    is_limit(
        "SEGMENT_BYTES_MAX",
        zegel_format::segment::open_segment(&vec![0; SEGMENT_BYTES_MAX + 1]),
    );
}
