//! `sealed::open` on untrusted bytes, twice per input:
//! 1. on the raw input, as a sealed package file would arrive (zstd frame checks, bombs);
//! 2. on the input compressed with zstd level 1, so that the fuzzer drives the envelope CBOR
//!    and the header inside it directly instead of having to forge zstd frames.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use zegel_format::header::PackageHeader;
use zegel_format::sealed::{self, OpenedPackage, Sealer, encode_package};

thread_local! {
    /// One reused zstd context: a fresh one per input costs more than the rest of the target.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> =
        RefCell::new(zstd::bulk::Compressor::new(1).ok());
}

fn compress(data: &[u8]) -> Option<Vec<u8>> {
    COMPRESSOR.with(|c| c.borrow_mut().as_mut()?.compress(data).ok())
}

fn check_opened(p: &OpenedPackage) -> Vec<u8> {
    // The header inside is canonical and is exactly what the header decoder accepts.
    assert_eq!(p.header.encode(), p.header_bytes);
    assert_eq!(PackageHeader::decode(&p.header_bytes), Ok(p.header.clone()));
    assert_eq!(p.header.objects.len(), p.objects.len());
    assert_eq!(p.check_objects().len(), p.objects.len());
    let _ = p.leaf_hash();
    let refs: Vec<Option<&[u8]>> = p.objects.iter().map(|o| o.as_deref()).collect();
    encode_package(&p.header_bytes, &refs)
}

fuzz_target!(|data: &[u8]| {
    // 1. Raw input: must be one zstd frame.
    if let Ok(p) = sealed::open(data) {
        check_opened(&p);
        // Resealing (any level) opens to the same package.
        if let Ok(mut sealer) = Sealer::new(1) {
            let refs: Vec<Option<&[u8]>> = p.objects.iter().map(|o| o.as_deref()).collect();
            if let Ok(resealed) = sealer.seal(&p.header_bytes, &refs) {
                assert_eq!(sealed::open(&resealed), Ok(p.clone()));
            }
        }
    }

    // 2. Input as the decompressed package CBOR.
    if let Some(compressed) = compress(data) {
        if let Ok(p) = sealed::open(&compressed) {
            // Deterministic encoding: the envelope re-encodes to exactly the input.
            assert_eq!(
                check_opened(&p),
                data,
                "open accepted a non-canonical envelope"
            );
        }
    }
});
