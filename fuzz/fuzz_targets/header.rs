//! `PackageHeader::decode` on untrusted bytes: never panics, and whatever it accepts is the
//! one canonical encoding of what it decoded (the deterministic-encoding promise: the leaf
//! hash is taken over these very bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zegel_format::header::PackageHeader;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = PackageHeader::decode(data) {
        assert_eq!(h.encode(), data, "decode accepted a non-canonical header");
        assert_eq!(
            h.validate(),
            Ok(()),
            "decode accepted a header validate refuses"
        );
        assert_eq!(PackageHeader::decode(&h.encode()), Ok(h.clone()));
        // The derived values must not panic either.
        let _ = h.leaf_hash();
        let _ = h.origin("zegel.test");
    }
});
