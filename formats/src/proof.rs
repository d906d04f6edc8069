//! Proof files: inclusion and consistency proofs as CBOR (formats/proofs.md §4).

use minicbor::Decoder;

use crate::cbor::{self, schema};
use crate::error::DecodeError;
use crate::hash::{HASH_ALG_SHA256, Hash};
use crate::limits::{CONSISTENCY_HASHES_MAX, INCLUSION_HASHES_MAX, PROOF_BYTES_MAX};

pub const PROOF_VERSION: u64 = 1;
const TYPE_INCLUSION: u64 = 1;
const TYPE_CONSISTENCY: u64 = 2;

/// Leaf `index` is in the tree of `size` leaves; `path` runs from the leaf side up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub index: u64,
    pub size: u64,
    pub path: Vec<Hash>,
}

/// The tree of `old` leaves is a prefix of the tree of `new` leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    pub old: u64,
    pub new: u64,
    pub path: Vec<Hash>,
}

fn encode(kind: u64, a: u64, b: u64, path: &[Hash]) -> Vec<u8> {
    cbor::encode_with(|e| {
        e.map(6)?;
        e.u8(0)?.u64(PROOF_VERSION)?;
        e.u8(1)?.u64(kind)?;
        e.u8(2)?.u64(HASH_ALG_SHA256)?;
        e.u8(3)?.u64(a)?;
        e.u8(4)?.u64(b)?;
        e.u8(5)?.array(path.len() as u64)?;
        for h in path {
            e.bytes(&h.0)?;
        }
        Ok(())
    })
}

fn decode(bytes: &[u8], kind: u64, max: usize) -> Result<(u64, u64, Vec<Hash>), DecodeError> {
    if bytes.len() > PROOF_BYTES_MAX {
        return Err(DecodeError::Limit {
            what: "proof bytes".into(),
            got: bytes.len() as u64,
            max: PROOF_BYTES_MAX as u64,
        });
    }
    cbor::decode_exact(
        bytes,
        |d: &mut Decoder<'_>| {
            cbor::map_of(d, "proof", 6)?;
            cbor::key(d, "proof", 0)?;
            cbor::expect_value(d, "proof version", PROOF_VERSION)?;
            cbor::key(d, "proof", 1)?;
            let k = cbor::uint(d, "proof type")?;
            if k != kind {
                let name = |k| match k {
                    TYPE_INCLUSION => "an inclusion proof".to_string(),
                    TYPE_CONSISTENCY => "a consistency proof".to_string(),
                    other => format!("proof type {other}"),
                };
                return Err(schema(format!(
                    "expected {}, found {}",
                    name(kind),
                    name(k)
                )));
            }
            cbor::key(d, "proof", 2)?;
            cbor::expect_value(d, "hash algorithm", HASH_ALG_SHA256)?;
            cbor::key(d, "proof", 3)?;
            let a = cbor::uint(d, "proof")?;
            cbor::key(d, "proof", 4)?;
            let b = cbor::uint(d, "proof")?;
            cbor::key(d, "proof", 5)?;
            let n = cbor::array_len(d, "proof hashes", max)?;
            let mut path = Vec::with_capacity(n);
            for _ in 0..n {
                path.push(cbor::hash(d, "proof hash")?);
            }
            Ok((a, b, path))
        },
        |(a, b, p)| encode(kind, *a, *b, p),
    )
}

impl InclusionProof {
    pub fn encode(&self) -> Vec<u8> {
        encode(TYPE_INCLUSION, self.index, self.size, &self.path)
    }

    pub fn decode(bytes: &[u8]) -> Result<InclusionProof, DecodeError> {
        let (index, size, path) = decode(bytes, TYPE_INCLUSION, INCLUSION_HASHES_MAX)?;
        Ok(InclusionProof { index, size, path })
    }

    /// Checks this proof for `leaf` against `root` (RFC 9162 §2.1.3.2).
    pub fn verify(&self, leaf: &Hash, root: &Hash) -> Result<(), crate::merkle::VerifyError> {
        crate::merkle::verify_inclusion(leaf, self.index, self.size, &self.path, root)
    }
}

impl ConsistencyProof {
    pub fn encode(&self) -> Vec<u8> {
        encode(TYPE_CONSISTENCY, self.old, self.new, &self.path)
    }

    pub fn decode(bytes: &[u8]) -> Result<ConsistencyProof, DecodeError> {
        let (old, new, path) = decode(bytes, TYPE_CONSISTENCY, CONSISTENCY_HASHES_MAX)?;
        Ok(ConsistencyProof { old, new, path })
    }

    /// Checks this proof between two roots (RFC 9162 §2.1.4.2).
    pub fn verify(
        &self,
        old_root: &Hash,
        new_root: &Hash,
    ) -> Result<(), crate::merkle::VerifyError> {
        crate::merkle::verify_consistency(self.old, self.new, old_root, new_root, &self.path)
    }
}
