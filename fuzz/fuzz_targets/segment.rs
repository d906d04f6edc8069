//! `segment::open_segment` and the block/package readers: a cold segment is untrusted bytes
//! read back from object storage. Whatever the bytes, no panic, no unbounded allocation, and
//! nothing is returned as a package unless it hashes to the trusted leaf.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zegel_format::hash::{Hash, leaf_hash, sha256};
use zegel_format::segment::{SEGMENT_MAGIC, open_segment, read_block, read_package};

fuzz_target!(|data: &[u8]| {
    // The trailer's hash would stop almost every input, so the target frames the input
    // itself: 2 bytes of index length, then the body after the magic.
    let Some((len, body)) = data.split_first_chunk::<2>() else {
        return;
    };
    let index_len = (u16::from_be_bytes(*len) as usize).min(body.len());
    let mut seg = SEGMENT_MAGIC.to_vec();
    seg.extend_from_slice(body);
    let digest = sha256(&seg);
    seg.extend_from_slice(&(index_len as u64).to_be_bytes());
    seg.extend_from_slice(&digest.0);
    seg.extend_from_slice(&SEGMENT_MAGIC);
    let Ok(index) = open_segment(&seg) else {
        return;
    };
    for (n, _) in index.blocks.iter().enumerate().take(4) {
        let Ok(block) = read_block(&seg, &index, n) else {
            continue;
        };
        for entry in index
            .packages
            .iter()
            .filter(|p| p.block == n as u64)
            .take(8)
        {
            let trusted = Hash::ZERO;
            if let Ok(p) = read_package(&block, entry, Some(Hash::ZERO), &trusted) {
                assert_eq!(leaf_hash(&p.header_bytes), trusted);
            }
        }
    }
});
