//! `Bundle::decode` and `verify_bundle`: a proof bundle is a file a court receives from
//! anyone. Whatever the bytes, no panic and no unbounded allocation; a bundle that decodes
//! re-encodes to the same bytes, and the verifier's report is complete (its outcome is that of
//! its first failed check).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zegel_format::bundle::Bundle;
use zegel_format::vectors::test_key;
use zegel_format::verify::verify_bundle;

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = Bundle::decode(data) {
        assert_eq!(b.encode(), data);
    }
    let report = verify_bundle(data, &test_key().verifier());
    let _ = report.outcome();
});
