//! Cold segments: every package reads back to its exact header bytes and objects, any
//! corruption is refused, and a wrong trusted leaf is caught.

use std::collections::BTreeMap;

use proptest::prelude::*;
use zegel_format::hash::{Hash, leaf_hash, sha256};
use zegel_format::header::{AgreementRef, HeaderView, Kind, MetaValue, ObjectRef, PackageHeader};
use zegel_format::segment::{
    SegmentPackage, encode_segment, open_package_ref, open_segment, read_block, read_package,
    restore_package,
};

/// A chained log of `n` record packages: (header bytes, record bytes).
fn log(n: u64, body: impl Fn(u64) -> Vec<u8>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut prev = None;
    for seq in 0..n {
        let record = body(seq);
        let mut metadata = BTreeMap::new();
        metadata.insert("sender".to_string(), MetaValue::Text("RSZ".into()));
        let h = PackageHeader {
            tenant: "acme".into(),
            archive: "ebox".into(),
            seq,
            prev,
            time_ms: 1_700_000_000_000 + seq,
            kind: if seq == 0 {
                Kind::Agreement
            } else {
                Kind::Record
            },
            agreement: (seq > 0).then_some(AgreementRef { version: 1, seq: 0 }),
            record_key: (seq > 0).then(|| format!("EBX-{seq:09}")),
            metadata: if seq == 0 { BTreeMap::new() } else { metadata },
            objects: vec![ObjectRef {
                name: "record.json".into(),
                media_type: "application/json".into(),
                size: record.len() as u64,
                digest: sha256(&record),
            }],
            retain_until_ms: None,
        };
        assert!(h.validate().is_ok(), "{:?}", h.validate());
        let bytes = h.encode();
        prev = Some(leaf_hash(&bytes));
        out.push((bytes, record));
    }
    out
}

fn row(seq: u64) -> Vec<u8> {
    format!(
        r#"{{"message_id":"EBX-{seq:09}","sender":"RSZ","subject":"Aanslagbiljet {}/2025","amount":{}}}"#,
        seq % 4,
        seq * 37 % 9000
    )
    .into_bytes()
}

fn segment_of(log: &[(Vec<u8>, Vec<u8>)], range: std::ops::Range<usize>) -> Vec<u8> {
    let packages: Vec<SegmentPackage<'_>> = log[range]
        .iter()
        .map(|(h, r)| SegmentPackage {
            header_bytes: h,
            objects: vec![r.as_slice()],
        })
        .collect();
    encode_segment("acme", "ebox", &packages, 9).unwrap()
}

#[test]
fn every_package_reads_back_exactly() {
    let log = log(3000, row);
    let leaves: Vec<Hash> = log.iter().map(|(h, _)| leaf_hash(h)).collect();
    // A segment from the middle: prevs come from the trusted leaves, not from the segment.
    let seg = segment_of(&log, 1000..3000);
    let index = open_segment(&seg).unwrap();
    assert_eq!(index.packages.len(), 2000);
    assert!(
        index.blocks.len() > 1,
        "several blocks: {}",
        index.blocks.len()
    );
    for entry in &index.packages {
        let block = read_block(&seg, &index, entry.block as usize).unwrap();
        let seq = entry.seq as usize;
        let p = read_package(&block, entry, Some(leaves[seq - 1]), &leaves[seq]).unwrap();
        assert_eq!(p.header_bytes, log[seq].0);
        assert_eq!(p.objects, vec![log[seq].1.clone()]);
        assert_eq!(entry.record_key.as_deref(), p.header.record_key.as_deref());
        // The fast path (one encoding, leaf returned) and the strict one agree exactly.
        let (fast, leaf) = open_package_ref(&block, entry, Some(leaves[seq - 1])).unwrap();
        let fast = fast.into_owned().unwrap();
        let strict = restore_package(&block, entry, Some(leaves[seq - 1])).unwrap();
        assert_eq!(leaf, leaves[seq]);
        assert_eq!(fast.header_bytes, strict.header_bytes);
        assert_eq!(fast.header, strict.header);
        assert_eq!(fast.objects, strict.objects);
        let (borrowed, leaf_ref) = open_package_ref(&block, entry, Some(leaves[seq - 1])).unwrap();
        assert_eq!(leaf_ref, leaf);
        assert_eq!(borrowed.header_bytes, strict.header_bytes);
        assert_eq!(borrowed.header.to_header().unwrap(), strict.header);
        assert!(borrowed.objects.iter().eq(strict.objects.iter()));
        assert_eq!(
            HeaderView::decode_sealed(&log[seq].0)
                .unwrap()
                .to_header()
                .unwrap(),
            PackageHeader::decode(&log[seq].0).unwrap()
        );
        // With a wrong prev, the leaf it returns is not the trusted one.
        let (_, wrong) = open_package_ref(&block, entry, Some(leaves[seq])).unwrap();
        assert_ne!(wrong, leaves[seq]);
    }
    // Seq 0 needs no prev.
    let seg0 = segment_of(&log, 0..1);
    let index0 = open_segment(&seg0).unwrap();
    let block = read_block(&seg0, &index0, 0).unwrap();
    let p = read_package(&block, &index0.packages[0], None, &leaves[0]).unwrap();
    assert_eq!(p.header_bytes, log[0].0);
}

#[test]
fn reduced_headers_compress_like_the_rows_alone() {
    // The hashes are not stored: the segment is about the size of its compressed content.
    let log = log(2000, row);
    let seg = segment_of(&log, 1..2000);
    let rows: Vec<u8> = log.iter().flat_map(|(_, r)| r.clone()).collect();
    let rows_z = zstd::bulk::compress(&rows, 3).unwrap().len();
    let hashes = 2 * 32 * 1999;
    assert!(
        seg.len() < rows_z + hashes / 2,
        "segment {} bytes; rows alone compress to {rows_z}",
        seg.len()
    );
}

#[test]
fn a_wrong_trusted_leaf_or_prev_is_refused() {
    let log = log(50, row);
    let leaves: Vec<Hash> = log.iter().map(|(h, _)| leaf_hash(h)).collect();
    let seg = segment_of(&log, 1..50);
    let index = open_segment(&seg).unwrap();
    let e = &index.packages[10];
    let block = read_block(&seg, &index, e.block as usize).unwrap();
    let seq = e.seq as usize;
    assert!(read_package(&block, e, Some(leaves[seq - 2]), &leaves[seq]).is_err());
    assert!(read_package(&block, e, Some(leaves[seq - 1]), &leaves[seq - 1]).is_err());
    assert!(read_package(&block, e, None, &leaves[seq]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_flipped_bit_is_refused(at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let log = log(40, row);
        let mut seg = segment_of(&log, 1..40);
        let i = at.index(seg.len());
        seg[i] ^= 1 << bit;
        prop_assert!(open_segment(&seg).is_err(), "flip at {i} accepted");
    }

    #[test]
    fn a_flipped_bit_in_an_inflated_block_never_yields_other_content(pick in any::<prop::sample::Index>(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
        // Past the segment's own checks (a block inflated from a damaged cold object, say):
        // the restored package is the sealed one exactly, or it is refused.
        let log = log(40, row);
        let leaves: Vec<Hash> = log.iter().map(|(h, _)| leaf_hash(h)).collect();
        let seg = segment_of(&log, 1..40);
        let index = open_segment(&seg).unwrap();
        let e = &index.packages[pick.index(index.packages.len())];
        let mut block = read_block(&seg, &index, e.block as usize).unwrap();
        let i = e.offset as usize + at.index(e.length as usize);
        block[i] ^= 1 << bit;
        let seq = e.seq as usize;
        if let Ok(p) = read_package(&block, e, Some(leaves[seq - 1]), &leaves[seq]) {
            prop_assert_eq!(&p.header_bytes, &log[seq].0);
            prop_assert_eq!(&p.objects, &vec![log[seq].1.clone()]);
        }
        if let Ok((p, leaf)) = open_package_ref(&block, e, Some(leaves[seq - 1])) {
            prop_assert!(leaf != leaves[seq] || p.header_bytes == log[seq].0);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        let _ = open_segment(&bytes);
        let mut framed = b"ZGLSEG\x00\x01".to_vec();
        framed.extend_from_slice(&bytes);
        let _ = open_segment(&framed);
    }
}
