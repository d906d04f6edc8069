//! `Disposition::decode`, `Certificate::decode` and `verify_certificate`: a certificate of
//! destruction is a file a court receives from anyone. Whatever the bytes, no panic and no
//! unbounded allocation; a record that decodes re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zegel_format::disposition::{Certificate, Disposition};
use zegel_format::note::SigningKey;
use zegel_format::verify::{CertificateInputs, verify_certificate};

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = Disposition::decode(data) {
        assert_eq!(d.encode(), data);
    }
    if Certificate::decode(data).is_ok() {
        let key = SigningKey::from_seed("zegel.fuzz", [7u8; 32])
            .map(|k| k.verifier())
            .ok();
        if let Some(key) = key {
            let _ = verify_certificate(CertificateInputs {
                certificate: data,
                key: &key,
            });
        }
    }
});
