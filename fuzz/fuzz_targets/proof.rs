//! `InclusionProof::decode` and `ConsistencyProof::decode` on untrusted bytes, and the RFC 9162
//! verifiers on whatever sizes and paths decode (a verifier gets those from a proof file).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zegel_format::Hash;
use zegel_format::merkle;
use zegel_format::proof::{ConsistencyProof, InclusionProof};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = InclusionProof::decode(data) {
        assert_eq!(
            p.encode(),
            data,
            "decode accepted a non-canonical inclusion proof"
        );
        assert!(
            ConsistencyProof::decode(data).is_err(),
            "one proof decoded as both kinds"
        );
        let leaf = p.path.first().copied().unwrap_or(Hash::ZERO);
        let _ = p.verify(&leaf, &Hash::ZERO);
        if p.index < p.size {
            let _ = merkle::inclusion_proof_len(p.index, p.size);
        }
    }
    if let Ok(p) = ConsistencyProof::decode(data) {
        assert_eq!(
            p.encode(),
            data,
            "decode accepted a non-canonical consistency proof"
        );
        let root = p.path.last().copied().unwrap_or(Hash::ZERO);
        let _ = p.verify(&Hash::ZERO, &root);
        let _ = p.verify(&root, &root);
        if 1 <= p.old && p.old < p.new {
            let _ = merkle::consistency_proof_len(p.old, p.new);
        }
    }
});
