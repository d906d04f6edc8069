//! Codecs: round trips of valid values, and untrusted bytes that never panic a decoder.

use std::collections::BTreeMap;

use proptest::prelude::*;
use zegel_format::cbor::check_deterministic;
use zegel_format::checkpoint::{self, Checkpoint};
use zegel_format::hash::{Hash, sha256};
use zegel_format::header::{AgreementRef, HeaderView, Kind, MetaValue, ObjectRef, PackageHeader};
use zegel_format::note::{self, SigningKey, VerifierKey};
use zegel_format::proof::{ConsistencyProof, InclusionProof};
use zegel_format::receipt::{Receipt, ReceiptHead, SignedHead};
use zegel_format::sealed::{self, Sealer};
use zegel_format::vectors::SampleLog;

fn key() -> SigningKey {
    SigningKey::from_seed("zegel.example", [3; 32]).unwrap()
}

prop_compose! {
    fn meta_value()(choice in 0u8..3, s in "[ -~]{0,40}", i in any::<i64>(), b in any::<bool>()) -> MetaValue {
        match choice { 0 => MetaValue::Text(s), 1 => MetaValue::Int(i), _ => MetaValue::Bool(b) }
    }
}

prop_compose! {
    fn header()(
        tenant in "[a-z0-9][a-z0-9._-]{0,20}",
        archive in "[a-z0-9][a-z0-9._-]{0,20}",
        seq in 1u64..u64::MAX,
        prev in any::<[u8; 32]>(),
        time_ms in any::<u64>(),
        record_key in "[A-Za-z0-9 _./:-]{1,60}",
        metadata in prop::collection::btree_map("[A-Za-z0-9_.-]{1,30}", meta_value(), 0..10),
        objects in prop::collection::vec(("[a-z0-9][a-z0-9_.-]{0,29}", 0..=zegel_format::limits::OBJECT_BYTES_MAX / 8, any::<[u8; 32]>()), 0..6),
        retain in prop::option::of(any::<u64>()),
    ) -> PackageHeader {
        let mut seen = std::collections::BTreeSet::new();
        let objects = objects.into_iter().filter(|(n, _, _)| seen.insert(n.clone())).map(|(name, size, d)| ObjectRef {
            name, media_type: "application/pdf".into(), size, digest: Hash(d),
        }).collect();
        PackageHeader {
            tenant, archive, seq, prev: Some(Hash(prev)), time_ms, kind: Kind::Record,
            agreement: Some(AgreementRef { version: 1, seq: seq - 1 }),
            record_key: Some(record_key), metadata, objects, retain_until_ms: retain,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn header_round_trips(h in header()) {
        prop_assert!(h.validate().is_ok());
        let bytes = h.encode();
        prop_assert!(check_deterministic(&bytes).is_ok());
        prop_assert_eq!(PackageHeader::decode(&bytes), Ok(h));
    }

    #[test]
    fn mutated_headers_never_panic_and_stay_canonical(h in header(), at in any::<prop::sample::Index>(), xor in 1u8..=255) {
        let mut bytes = h.encode();
        let i = at.index(bytes.len());
        bytes[i] ^= xor;
        if let Ok(decoded) = PackageHeader::decode(&bytes) {
            // Whatever decodes is canonical: the hash is over the one encoding of this value.
            prop_assert_eq!(decoded.encode(), bytes);
        }
    }

    #[test]
    fn header_views_read_what_the_decoder_reads(h in header()) {
        let bytes = h.encode();
        let view = HeaderView::decode_sealed(&bytes).unwrap();
        prop_assert_eq!(view.to_header(), Ok(h.clone()));
        prop_assert_eq!(view.objects.len(), h.objects.len());
        prop_assert_eq!(view.prev, h.prev);
    }

    #[test]
    fn restoring_in_place_gives_the_encoding_of_the_restored_fields(h in header(), prev in any::<[u8; 32]>(), digests in prop::collection::vec(any::<[u8; 32]>(), 6)) {
        // A reduced header (formats/cold-segment.md §2): prev and the digests zeroed.
        let mut reduced = h.clone();
        reduced.prev = Some(Hash::ZERO);
        reduced.objects.iter_mut().for_each(|o| o.digest = Hash::ZERO);
        let reduced_bytes = reduced.encode();
        let mut view = HeaderView::decode_sealed(&reduced_bytes).unwrap();
        let mut restored = reduced_bytes.clone();
        let digests: Vec<Hash> = digests.into_iter().map(Hash).take(h.objects.len()).collect();
        view.restore_into(&mut restored, Some(Hash(prev)), digests.iter().copied()).unwrap();
        let mut expected = h.clone();
        expected.prev = Some(Hash(prev));
        expected.objects.iter_mut().zip(&digests).for_each(|(o, d)| o.digest = *d);
        prop_assert_eq!(&restored, &expected.encode());
        prop_assert_eq!(view.to_header(), Ok(expected));
        // A digest too few or too many is refused, as is a missing prev.
        let mut v = HeaderView::decode_sealed(&reduced_bytes).unwrap();
        prop_assert!(v.restore_into(&mut reduced_bytes.clone(), Some(Hash(prev)), digests.iter().copied().chain([Hash::ZERO]).collect::<Vec<_>>().into_iter()).is_err());
        prop_assert!(v.restore_into(&mut reduced_bytes.clone(), None, digests.iter().copied()).is_err());
    }

    #[test]
    fn mutated_header_views_never_panic(h in header(), at in any::<prop::sample::Index>(), xor in 1u8..=255, prev in any::<[u8; 32]>()) {
        let mut bytes = h.encode();
        let i = at.index(bytes.len());
        bytes[i] ^= xor;
        if let Ok(mut view) = HeaderView::decode_sealed(&bytes) {
            let _ = view.to_header();
            let n = view.objects.len();
            let mut copy = bytes.clone();
            let _ = view.restore_into(&mut copy, Some(Hash(prev)), std::iter::repeat_n(Hash::ZERO, n));
            prop_assert_eq!(copy.len(), bytes.len());
        }
    }

    #[test]
    fn sealed_round_trips(h in header(), bodies in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..4)) {
        let mut h = h;
        h.objects = bodies.iter().enumerate().map(|(i, b)| ObjectRef {
            name: format!("o{i}"), media_type: "application/octet-stream".into(), size: b.len() as u64, digest: sha256(b),
        }).collect();
        let hb = h.encode();
        let refs: Vec<Option<&[u8]>> = bodies.iter().map(|b| Some(b.as_slice())).collect();
        let sealed = Sealer::new(3).unwrap().seal(&hb, &refs).unwrap();
        let opened = sealed::open(&sealed).unwrap();
        prop_assert_eq!(&opened.header, &h);
        prop_assert_eq!(&opened.header_bytes, &hb);
        prop_assert!(opened.check_objects().iter().all(|c| !c.is_failure()));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = check_deterministic(&bytes);
        let _ = PackageHeader::decode(&bytes);
        let _ = sealed::open(&bytes);
        let _ = InclusionProof::decode(&bytes);
        let _ = ConsistencyProof::decode(&bytes);
        let _ = Receipt::decode(&bytes);
        let _ = ReceiptHead::decode(&bytes);
        let _ = note::parse_note(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        let _ = Checkpoint::parse_body(&text);
        let _ = VerifierKey::from_text(&text);
        let _ = SigningKey::from_private_text(&text);
        // The same bytes inside a valid zstd frame reach the CBOR decoder.
        let framed = zstd::bulk::compress(&bytes, 1).unwrap();
        let _ = sealed::open(&framed);
    }

    #[test]
    fn arbitrary_cbor_shaped_bytes_never_panic(items in prop::collection::vec((0u8..8, 0u8..32, any::<u8>()), 0..200)) {
        // Heads of every major type and width, so the scanner sees nesting, maps and strings.
        let bytes: Vec<u8> = items.iter().flat_map(|(m, ai, b)| [(m << 5) | ai, *b]).collect();
        let _ = check_deterministic(&bytes);
        let _ = PackageHeader::decode(&bytes);
        let _ = Receipt::decode(&bytes);
    }

    #[test]
    fn notes_round_trip(origin in "[a-z]{1,10}(/[a-z0-9]{1,10}){0,3}", size in any::<u64>(), root in any::<[u8; 32]>()) {
        let k = key();
        let cp = Checkpoint { origin, size, root: Hash(root) };
        let signed = cp.sign(&k);
        prop_assert_eq!(checkpoint::open(signed.as_bytes(), &k.verifier()), Ok(cp));
    }
}

#[test]
fn keys_round_trip_through_text() {
    let k = key();
    let private = k.to_private_text();
    assert!(private.starts_with("PRIVATE+KEY+zegel.example+"));
    let back = SigningKey::from_private_text(&private).unwrap();
    assert_eq!(back.verifier(), k.verifier());
    let public = k.verifier().to_text();
    assert_eq!(VerifierKey::from_text(&public).unwrap(), k.verifier());
    // A key id that does not match the key is refused.
    let wrong = public.replacen(&hex::encode(k.key_id()), "00000000", 1);
    assert!(VerifierKey::from_text(&wrong).is_err());
    assert!(SigningKey::from_seed("has space", [1; 32]).is_err());
    assert!(SigningKey::from_seed("has+plus", [1; 32]).is_err());
    assert!(
        !format!("{k:?}").contains(&private),
        "Debug never shows the seed"
    );
}

#[test]
fn key_texts_with_plus_and_slash_in_base64_round_trip() {
    // Base64 of random keys contains '+' and '/': parsing must not split inside it.
    let mut saw_plus = false;
    for seed in 0..64u8 {
        let k = SigningKey::from_seed("zegel.example", [seed; 32]).unwrap();
        let text = k.verifier().to_text();
        saw_plus |= text.matches('+').count() > 2;
        assert_eq!(
            VerifierKey::from_text(&text).unwrap(),
            k.verifier(),
            "{text}"
        );
        let private = SigningKey::from_private_text(&k.to_private_text()).unwrap();
        assert_eq!(private.verifier(), k.verifier());
    }
    assert!(saw_plus, "the seeds exercise a '+' inside the base64");
}

#[test]
fn signed_note_key_id_matches_the_c2sp_definition() {
    // Key id = SHA-256(name || 0x0A || 0x01 || public key)[..4], computed here independently.
    let k = key();
    let mut input = b"zegel.example\n\x01".to_vec();
    input.extend_from_slice(k.verifier().public_bytes());
    assert_eq!(&sha256(&input).0[..4], &k.key_id());
}

#[test]
fn a_note_needs_the_right_key_and_text() {
    let k = key();
    let cp = Checkpoint {
        origin: "zegel.example/acme/invoices".into(),
        size: 7,
        root: Hash([5; 32]),
    };
    let signed = cp.sign(&k);
    let other = SigningKey::from_seed("zegel.example", [4; 32]).unwrap();
    assert!(checkpoint::open(signed.as_bytes(), &other.verifier()).is_err());
    let altered = signed.replacen("\n7\n", "\n8\n", 1);
    assert!(checkpoint::open(altered.as_bytes(), &k.verifier()).is_err());
    // Signatures of unknown keys are ignored, as signed-note says.
    let cosigned = format!(
        "{}{}",
        signed,
        note::sign_note(
            &cp.body(),
            &SigningKey::from_seed("witness.example", [9; 32]).unwrap()
        )
        .split("\n\n")
        .nth(1)
        .unwrap()
    );
    assert_eq!(checkpoint::open(cosigned.as_bytes(), &k.verifier()), Ok(cp));
}

#[test]
fn receipts_cover_one_commit_and_each_leaf() {
    let log = SampleLog::build();
    let k = &log.key;
    for seq in 0..5 {
        let bytes = log.receipt(seq, 5, k);
        let r = Receipt::decode(&bytes).unwrap();
        assert_eq!(r.encode(), bytes);
        r.verify(&k.verifier()).unwrap();
        assert_eq!(
            r.leaf,
            zegel_format::hash::leaf_hash(&log.header_bytes[seq as usize])
        );
    }
    // The receipt signature is domain-separated from checkpoint signatures: the same key
    // signing the same tree head as a checkpoint does not produce a receipt signature.
    let head = ReceiptHead {
        origin: log.origin(),
        size: 5,
        root: log.tree.root(),
        time_ms: 1,
    };
    let signed = SignedHead::sign(head.clone(), k);
    let cp_sig = k.sign(
        Checkpoint {
            origin: log.origin(),
            size: 5,
            root: log.tree.root(),
        }
        .body()
        .as_bytes(),
    );
    assert_ne!(signed.signature, cp_sig);
    assert!(
        !k.verifier().verify(&head.encode(), &signed.signature),
        "signature only valid with the domain prefix"
    );
}

#[test]
fn restoring_in_place_at_seq_0_keeps_prev_null_and_refuses_misshapen_prevs() {
    let h = PackageHeader {
        tenant: "t".into(),
        archive: "a".into(),
        seq: 0,
        prev: None,
        time_ms: 1,
        kind: Kind::Agreement,
        agreement: None,
        record_key: None,
        metadata: BTreeMap::new(),
        objects: vec![ObjectRef {
            name: "agreement.json".into(),
            media_type: "application/json".into(),
            size: 2,
            digest: Hash::ZERO,
        }],
        retain_until_ms: None,
    };
    let bytes = h.encode();
    let d = sha256(b"{}");
    let mut view = HeaderView::decode_sealed(&bytes).unwrap();
    let mut restored = bytes.clone();
    view.restore_into(&mut restored, Some(Hash([9; 32])), [d].into_iter())
        .unwrap();
    let mut expected = h.clone();
    expected.objects[0].digest = d;
    assert_eq!(restored, expected.encode());
    assert_eq!(view.prev, None);
    // A prev at seq 0, or a null one at seq > 0, is not a reduced header.
    let mut bad = h.clone();
    bad.prev = Some(Hash::ZERO);
    let b = bad.encode();
    let mut v = HeaderView::decode_sealed(&b).unwrap();
    assert!(
        v.restore_into(&mut b.clone(), None, [d].into_iter())
            .is_err()
    );
    let mut bad = h.clone();
    bad.seq = 5;
    let b = bad.encode();
    let mut v = HeaderView::decode_sealed(&b).unwrap();
    let e = v
        .restore_into(&mut b.clone(), Some(Hash::ZERO), [d].into_iter())
        .unwrap_err();
    assert!(e.to_string().contains("null at seq 5"), "{e}");
}

#[test]
fn header_rules_are_enforced() {
    let log = SampleLog::build();
    let good = log.headers[3].clone();
    let check = |f: &dyn Fn(&mut PackageHeader), needle: &str| {
        let mut h = good.clone();
        f(&mut h);
        let err = h
            .validate()
            .err()
            .unwrap_or_else(|| panic!("{needle}: accepted"))
            .to_string();
        assert!(err.contains(needle), "{err} should mention {needle}");
        assert!(PackageHeader::decode(&h.encode()).is_err());
    };
    check(&|h| h.prev = None, "prev");
    check(&|h| h.tenant = "Acme".into(), "tenant");
    check(&|h| h.archive = String::new(), "archive");
    check(&|h| h.agreement = None, "agreement");
    check(
        &|h| h.agreement = Some(AgreementRef { version: 1, seq: 3 }),
        "earlier entry",
    );
    check(&|h| h.record_key = None, "record key");
    check(&|h| h.record_key = Some("a\u{7}b".into()), "control");
    check(
        &|h| {
            h.metadata
                .insert("bad name".into(), MetaValue::Bool(true))
                .map_or((), |_| ())
        },
        "metadata name",
    );
    check(&|h| h.objects.push(h.objects[0].clone()), "twice");
    check(&|h| h.objects[0].media_type = "json".into(), "media type");
    check(&|h| h.objects[0].name = "a/b".into(), "'/'");
    let many: BTreeMap<String, MetaValue> = (0..65)
        .map(|i| (format!("f{i}"), MetaValue::Int(i)))
        .collect();
    check(&|h| h.metadata = many.clone(), "metadata fields");
    check(
        &|h| h.objects[0].media_type = "Application/JSON".into(),
        "lower-case",
    );
    check(
        &|h| h.objects[0].media_type = " application/json".into(),
        "media type",
    );
    check(
        &|h| h.objects[0].media_type = "application/json; charset=utf-8".into(),
        "media type",
    );
    check(&|h| h.objects[0].name = "..".into(), "'..'");
    check(&|h| h.objects[0].name = "a\\b".into(), "'\\'");
    check(
        &|h| {
            h.metadata
                .insert("note".into(), MetaValue::Text("a\u{0}b".into()))
                .map_or((), |_| ())
        },
        "control character",
    );
    let big: BTreeMap<String, MetaValue> = (0..64)
        .map(|i| (format!("f{i}"), MetaValue::Text("x".repeat(4096))))
        .collect();
    check(&|h| h.metadata = big.clone(), "header bytes");
    check(
        &|h| {
            h.objects[0].size = zegel_format::limits::OBJECT_BYTES_MAX;
            let mut second = h.objects[0].clone();
            second.name = "second.json".into();
            h.objects.push(second);
        },
        "total object bytes",
    );
    let mut ok = good.clone();
    ok.objects[0].media_type = "application/json;charset=utf-8".into();
    ok.metadata
        .insert("note".into(), MetaValue::Text("line one\nline\ttwo".into()));
    assert!(
        ok.validate().is_ok(),
        "parameters, tabs and newlines are fine"
    );
    assert!(SigningKey::from_seed(&"k".repeat(126), [1; 32]).is_ok());
    assert!(
        SigningKey::from_seed(&"k".repeat(127), [1; 32]).is_err(),
        "a log name must leave room for tenant and archive"
    );
}
