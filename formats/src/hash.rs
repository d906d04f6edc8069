//! Content addressing and RFC 9162 tree hashing (formats/algorithms.md, formats/proofs.md §2).

use sha2::{Digest, Sha256};

/// Identifies SHA-256 wherever a format names its hash algorithm (formats/algorithms.md).
pub const HASH_ALG_SHA256: u64 = 1;
/// Identifies Ed25519 wherever a format names its signature algorithm (formats/algorithms.md).
pub const SIG_ALG_ED25519: u64 = 1;

/// Length in bytes of every hash in format version 1.
pub const HASH_LEN: usize = 32;

/// A SHA-256 digest. Plain bytes; the meaning (object digest, leaf hash, node hash, root)
/// comes from where it is used.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; HASH_LEN]);

impl Hash {
    /// The 32 zero bytes; used only as a sentinel in tests, never in a format.
    pub const ZERO: Hash = Hash([0; HASH_LEN]);

    pub fn from_slice(bytes: &[u8]) -> Option<Hash> {
        <[u8; HASH_LEN]>::try_from(bytes).ok().map(Hash)
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(text: &str) -> Option<Hash> {
        let bytes = hex::decode(text).ok()?;
        Hash::from_slice(&bytes)
    }

    pub fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl std::fmt::Display for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// SHA-256 of exactly these bytes: the digest of a content object (formats/package-header.md §4).
pub fn sha256(bytes: &[u8]) -> Hash {
    Hash(Sha256::digest(bytes).into())
}

/// RFC 9162 §2.1.1 leaf hash: SHA-256(0x00 || data). In Zegel the data is the exact encoded
/// package header bytes.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    Hash(h.finalize().into())
}

/// RFC 9162 §2.1.1 interior node hash: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// RFC 9162 root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    sha256(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(actual: Hash, expected_hex: &str) {
        assert_eq!(actual.to_hex(), expected_hex);
    }

    #[test]
    fn known_answers() {
        check(
            sha256(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        );
        check(
            sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        );
        // RFC 9162 leaf of the empty string = SHA-256(0x00).
        check(
            leaf_hash(b""),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        );
    }
}
