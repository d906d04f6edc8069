//! formats/zegel.cddl describes what the code encodes: every CBOR structure of the sample log
//! validates against its rule, and a few encodings that break a rule do not.
//!
//! The `cddl` crate checks shape only (types, sizes, counts, constant fields); the
//! deterministic encoding and the rules CDDL cannot state are covered by the codec tests.

use std::sync::OnceLock;

use zegel_format::cbor::encode_with;
use zegel_format::hash::Hash;
use zegel_format::header::{MetaValue, PackageHeader};
use zegel_format::merkle;
use zegel_format::proof::{ConsistencyProof, InclusionProof};
use zegel_format::receipt::Receipt;
use zegel_format::sealed;
use zegel_format::vectors::SampleLog;

fn schema() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("zegel.cddl");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

fn log() -> &'static SampleLog {
    static LOG: OnceLock<SampleLog> = OnceLock::new();
    LOG.get_or_init(SampleLog::build)
}

/// Validates `bytes` against one rule of zegel.cddl, made the root by a rule put in front.
fn check(rule: &str, bytes: &[u8]) -> Result<(), String> {
    let doc = format!("zegel-test-root = {rule}\n{}", schema());
    ::cddl::validate_cbor_from_slice(&doc, bytes, None).map_err(|e| e.to_string())
}

fn valid(rule: &str, what: &str, bytes: &[u8]) {
    if let Err(e) = check(rule, bytes) {
        panic!(
            "{what} does not match `{rule}`: {e}\nbytes: {}",
            hex::encode(bytes)
        );
    }
}

fn invalid(rule: &str, what: &str, bytes: &[u8]) {
    assert!(
        check(rule, bytes).is_err(),
        "{what} matches `{rule}` but should not\nbytes: {}",
        hex::encode(bytes)
    );
}

fn raw_package(seq: usize) -> Vec<u8> {
    zstd::bulk::decompress(
        &log().sealed[seq],
        zegel_format::limits::PACKAGE_RAW_BYTES_MAX,
    )
    .unwrap_or_else(|e| panic!("decompress seq {seq}: {e}"))
}

fn receipt(seq: u64, size: u64) -> Receipt {
    Receipt::decode(&log().receipt(seq, size, &log().key)).unwrap()
}

#[test]
fn the_sample_log_matches_the_schema() {
    let log = log();
    let n = log.headers.len() as u64;
    for (seq, bytes) in log.header_bytes.iter().enumerate() {
        valid("package-header", &format!("header {seq}"), bytes);
        valid(
            "sealed-package",
            &format!("package {seq}"),
            &raw_package(seq),
        );
    }
    let withheld = sealed::encode_package(&log.header_bytes[3], &[None]);
    valid("sealed-package", "package 3 withheld", &withheld);
    for index in 0..n {
        let proof = log.inclusion(index, n).encode();
        valid("inclusion-proof", &format!("inclusion {index}/{n}"), &proof);
        let r = receipt(index, n);
        valid("receipt", &format!("receipt {index}"), &r.encode());
        valid(
            "receipt-head",
            &format!("receipt head {index}"),
            &r.signed.head_bytes,
        );
    }
    for old in 1..=n {
        let proof = ConsistencyProof {
            old,
            new: n,
            path: merkle::consistency_proof(&log.tree, old, n).unwrap(),
        };
        valid(
            "consistency-proof",
            &format!("consistency {old}->{n}"),
            &proof.encode(),
        );
    }
    // The file's own root rule accepts any of the structures.
    let doc = schema();
    ::cddl::validate_cbor_from_slice(doc, &log.header_bytes[0], None).unwrap();
    ::cddl::validate_cbor_from_slice(doc, &receipt(1, n).encode(), None).unwrap();
}

#[test]
fn broken_encodings_do_not_match() {
    let log = log();
    let header = |f: &dyn Fn(&mut PackageHeader)| {
        let mut h = log.headers[3].clone();
        f(&mut h);
        h.encode()
    };
    invalid(
        "package-header",
        "upper-case tenant",
        &header(&|h| h.tenant = "ACME".into()),
    );
    invalid(
        "package-header",
        "empty record key",
        &header(&|h| h.record_key = Some(String::new())),
    );
    invalid(
        "package-header",
        "object above 64 MiB",
        &header(&|h| h.objects[0].size = zegel_format::limits::OBJECT_BYTES_MAX + 1),
    );
    invalid(
        "package-header",
        "65 objects",
        &header(&|h| {
            let o = h.objects[0].clone();
            h.objects = (0..65)
                .map(|i| zegel_format::header::ObjectRef {
                    name: format!("o{i}"),
                    ..o.clone()
                })
                .collect();
        }),
    );
    invalid(
        "package-header",
        "metadata text of 4097 bytes",
        &header(&|h| {
            h.metadata
                .insert("note".into(), MetaValue::Text("x".repeat(4097)));
        }),
    );
    // "paid": false replaced by the half-precision float 1.0.
    let float = {
        let bytes = &log.header_bytes[3];
        let from: &[u8] = &[0x64, b'p', b'a', b'i', b'd', 0xf4];
        let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
        [&bytes[..at + 5], &[0xf9, 0x3c, 0x00][..], &bytes[at + 6..]].concat()
    };
    invalid("package-header", "float metadata value", &float);
    invalid(
        "package-header",
        "a receipt head",
        &receipt(3, 5).signed.head_bytes,
    );

    let object = &log.objects[3];
    let envelope = |version: u64, header: &[u8]| {
        encode_with(|e| {
            e.array(3)?
                .u64(version)?
                .bytes(header)?
                .array(1)?
                .bytes(object)?;
            Ok(())
        })
    };
    valid(
        "sealed-package",
        "hand-built envelope",
        &envelope(1, &log.header_bytes[3]),
    );
    invalid(
        "sealed-package",
        "envelope version 2",
        &envelope(2, &log.header_bytes[3]),
    );
    let r = receipt(3, 5);
    invalid(
        "sealed-package",
        "envelope around a receipt head",
        &envelope(1, &r.signed.head_bytes),
    );

    let consistency = ConsistencyProof {
        old: 3,
        new: 5,
        path: merkle::consistency_proof(&log.tree, 3, 5).unwrap(),
    };
    invalid(
        "inclusion-proof",
        "a consistency proof",
        &consistency.encode(),
    );
    let too_long = InclusionProof {
        index: 3,
        size: 5,
        path: vec![Hash([1; 32]); 65],
    };
    invalid("inclusion-proof", "65 hashes", &too_long.encode());

    invalid("receipt", "a receipt head", &r.signed.head_bytes);
    let mut wrong_head = r.clone();
    wrong_head.signed.head_bytes = log.header_bytes[3].clone();
    invalid(
        "receipt",
        "a receipt around a package header",
        &wrong_head.encode(),
    );
    let mut short_id = r.encode();
    // Key id is key 3: 0x03 0x44 <4 bytes>; make it claim 5 bytes by splicing one in.
    let at = short_id.windows(2).position(|w| w == [0x03, 0x44]).unwrap();
    short_id[at + 1] = 0x45;
    short_id.insert(at + 2, 0x00);
    invalid("receipt", "a 5-byte key id", &short_id);
}

#[test]
fn a_segment_index_matches_the_schema() {
    use zegel_format::segment::{BlockRef, PackageRef, SegmentIndex};
    let index = SegmentIndex {
        tenant: "acme".into(),
        archive: "ebox".into(),
        blocks: vec![BlockRef {
            offset: 8,
            length: 120,
            raw_length: 400,
        }],
        packages: vec![
            PackageRef {
                seq: 5,
                block: 0,
                offset: 0,
                length: 200,
                record_key: Some("EBX-5".into()),
            },
            PackageRef {
                seq: 9,
                block: 0,
                offset: 200,
                length: 200,
                record_key: None,
            },
        ],
    };
    valid("segment-index", "segment index", &index.encode());
}

/// Every certificate vector whose certificate decodes, and the record inside it (formats/disposition.md).
#[test]
fn certificates_and_disposition_records_match_the_schema() {
    use base64::Engine;
    use zegel_format::disposition::{Certificate, Disposition};
    let mut records = 0;
    for v in zegel_format::vectors::generate() {
        if v.check != "certificate" {
            continue;
        }
        let b64 = v.inputs["certificate"].as_str().unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        if v.failed_check.as_deref() == Some("certificate.decode") {
            invalid("certificate", &v.scenario, &bytes);
            continue;
        }
        valid("certificate", &v.scenario, &bytes);
        let cert = Certificate::decode(&bytes).unwrap();
        let package = sealed::open(&cert.package).unwrap();
        let record = package.objects[0].as_deref().unwrap();
        if Disposition::decode(record).is_ok() {
            valid("disposition", &v.scenario, record);
            records += 1;
            // Shape breaks: an unknown cause, and no disposed packages.
            let mut d = Disposition::decode(record).unwrap();
            d.packages.clear();
            invalid("disposition", "no packages", &d.encode());
            let mut cause = record.to_vec();
            cause[4] = 0x02;
            invalid("disposition", "cause 2", &cause);
        }
    }
    assert!(records >= 2, "expected the two positive certificates");
}

/// Every bundle vector whose bundle decodes matches `bundle`; broken shapes do not
/// (formats/bundle.md §3).
#[test]
fn bundles_match_the_schema() {
    use base64::Engine;
    use zegel_format::bundle::Bundle;
    let mut bundles = 0;
    for v in zegel_format::vectors::generate_bundles() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(v.inputs["bundle"].as_str().unwrap())
            .unwrap();
        let Ok(bundle) = Bundle::decode(&bytes) else {
            invalid("bundle", &v.scenario, &bytes);
            continue;
        };
        valid("bundle", &v.scenario, &bytes);
        bundles += 1;
        if v.scenario != "bundle-ok" {
            continue;
        }
        // The root rule accepts a bundle too.
        ::cddl::validate_cbor_from_slice(schema(), &bytes, None).unwrap();
        let broken = |edit: &dyn Fn(&mut Bundle)| {
            let mut b = bundle.clone();
            edit(&mut b);
            b.encode()
        };
        invalid(
            "bundle",
            "no checkpoint",
            &broken(&|b| {
                b.checkpoints.clear();
                b.consistency.clear();
            }),
        );
        invalid(
            "bundle",
            "upper-case tenant",
            &broken(&|b| b.tenant = "ACME".into()),
        );
        invalid(
            "bundle",
            "a receipt in place of the proof",
            &broken(&|b| b.proof = b.receipt.clone()),
        );
        invalid("bundle", "no keys", &broken(&|b| b.keys.clear()));
        let mut version = bytes.clone();
        assert_eq!(&version[..3], &[0xad, 0x00, 0x01]);
        version[2] = 0x02;
        invalid("bundle", "version 2", &version);
    }
    assert!(
        bundles >= 10,
        "expected the bundle vectors, found {bundles}"
    );
}
