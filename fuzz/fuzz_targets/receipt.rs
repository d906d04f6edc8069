//! `Receipt::decode` and `ReceiptHead::decode` on untrusted bytes, then `Receipt::verify`
//! with the fixed test key on whatever decodes.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use zegel_format::note::VerifierKey;
use zegel_format::receipt::{Receipt, ReceiptHead};
use zegel_format::vectors::test_key;

static KEY: LazyLock<VerifierKey> = LazyLock::new(|| test_key().verifier());

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Receipt::decode(data) {
        assert_eq!(r.encode(), data, "decode accepted a non-canonical receipt");
        // The head inside went through the same gate.
        assert_eq!(r.signed.head.encode(), r.signed.head_bytes);
        assert_eq!(
            ReceiptHead::decode(&r.signed.head_bytes),
            Ok(r.signed.head.clone())
        );
        let _ = r.verify(&KEY);
    }
    if let Ok(h) = ReceiptHead::decode(data) {
        assert_eq!(
            h.encode(),
            data,
            "decode accepted a non-canonical receipt head"
        );
        let _ = ReceiptHead::signed_message(data);
    }
});
