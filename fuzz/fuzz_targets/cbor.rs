//! `cbor::check_deterministic`: the strict gate every untrusted CBOR input passes first.
//! It must never panic, recurse or allocate beyond its depth limit, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zegel_format::cbor::check_deterministic;

fuzz_target!(|data: &[u8]| {
    if check_deterministic(data).is_ok() {
        // CBOR items are self-delimiting: no proper prefix of one complete item is itself a
        // complete item, so a gate that accepts `data` must refuse it with its last byte cut.
        if let Some((_, prefix)) = data.split_last() {
            assert!(
                check_deterministic(prefix).is_err(),
                "accepted both {data:02x?} and its prefix"
            );
        }
        // Nor is `data` followed by anything one item: trailing bytes are refused.
        let mut longer = data.to_vec();
        longer.push(0);
        assert!(
            check_deterministic(&longer).is_err(),
            "accepted {data:02x?} with a trailing byte"
        );
    }
});
