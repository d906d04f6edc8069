//! `PackageHeader::decode` on untrusted bytes: never panics, and whatever it accepts is the
//! one canonical encoding of what it decoded (the deterministic-encoding promise: the leaf
//! hash is taken over these very bytes). `HeaderView` (the in-place reader for bytes a
//! trusted leaf vouches for) never panics on them either, and reads what the decoder reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zegel_format::hash::Hash;
use zegel_format::header::{HeaderView, PackageHeader};

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
        let view = HeaderView::decode_sealed(data).expect("a decoded header reads in place");
        assert_eq!(view.to_header(), Ok(h.clone()));
    }
    if let Ok(mut view) = HeaderView::decode_sealed(data) {
        let _ = view.to_header();
        let _ = view.metadata_value("a");
        let n = view.objects.len();
        let mut copy = data.to_vec();
        let _ = view.restore_into(&mut copy, Some(Hash::ZERO), std::iter::repeat_n(Hash::ZERO, n));
        assert_eq!(copy.len(), data.len(), "restoring in place changed the length");
    }
});
