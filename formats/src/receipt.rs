//! Receipts: signed timestamps returned at ingest (formats/receipt.md).
//!
//! One Ed25519 signature covers a *receipt head* — origin, tree size, root and time — once per
//! group commit. Each package's receipt carries that head and signature plus its own sequence
//! number, leaf hash and inclusion path to the head's root: together they are the package's
//! signed timestamp, at the cost of one signature per commit instead of one per row.

use minicbor::Decoder;

use crate::cbor::{self, schema};
use crate::error::DecodeError;
use crate::hash::{HASH_ALG_SHA256, Hash, SIG_ALG_ED25519};
use crate::limits::{INCLUSION_HASHES_MAX, NOTE_NAME_BYTES_MAX, PROOF_BYTES_MAX};
use crate::merkle::{self, VerifyError};
use crate::note::{SigningKey, VerifierKey};

pub const RECEIPT_VERSION: u64 = 1;
/// Domain-separation prefix of receipt signatures. The NUL byte makes the signed message
/// impossible as signed-note text, so a receipt signature can never pass as a checkpoint's.
pub const RECEIPT_DOMAIN: &[u8] = b"zegel/receipt/v1\x00";

/// What one receipt signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptHead {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Commit time, milliseconds since the epoch; not before any header time it covers.
    pub time_ms: u64,
}

impl ReceiptHead {
    pub fn encode(&self) -> Vec<u8> {
        cbor::encode_with(|e| {
            e.map(6)?;
            e.u8(0)?.u64(RECEIPT_VERSION)?;
            e.u8(1)?.u64(HASH_ALG_SHA256)?;
            e.u8(2)?.str(&self.origin)?;
            e.u8(3)?.u64(self.size)?;
            e.u8(4)?.bytes(&self.root.0)?;
            e.u8(5)?.u64(self.time_ms)?;
            Ok(())
        })
    }

    pub fn decode(bytes: &[u8]) -> Result<ReceiptHead, DecodeError> {
        cbor::decode_exact(
            bytes,
            |d: &mut Decoder<'_>| {
                cbor::map_of(d, "receipt head", 6)?;
                cbor::key(d, "receipt head", 0)?;
                cbor::expect_value(d, "receipt head version", RECEIPT_VERSION)?;
                cbor::key(d, "receipt head", 1)?;
                cbor::expect_value(d, "hash algorithm", HASH_ALG_SHA256)?;
                cbor::key(d, "receipt head", 2)?;
                let origin = cbor::text(d, "origin", NOTE_NAME_BYTES_MAX)?.to_string();
                if origin.is_empty() {
                    return Err(schema("receipt head: the origin is empty"));
                }
                cbor::key(d, "receipt head", 3)?;
                let size = cbor::uint(d, "tree size")?;
                cbor::key(d, "receipt head", 4)?;
                let root = cbor::hash(d, "root")?;
                cbor::key(d, "receipt head", 5)?;
                let time_ms = cbor::uint(d, "time")?;
                Ok(ReceiptHead {
                    origin,
                    size,
                    root,
                    time_ms,
                })
            },
            ReceiptHead::encode,
        )
    }

    /// The exact message signed: the domain prefix, then the encoded head.
    pub fn signed_message(head_bytes: &[u8]) -> Vec<u8> {
        let mut m = RECEIPT_DOMAIN.to_vec();
        m.extend_from_slice(head_bytes);
        m
    }
}

/// A head signed once per group commit; [`SignedHead::receipt`] makes each package's receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHead {
    pub key_name: String,
    pub key_id: [u8; 4],
    pub head_bytes: Vec<u8>,
    pub head: ReceiptHead,
    pub signature: [u8; 64],
}

impl SignedHead {
    pub fn sign(head: ReceiptHead, key: &SigningKey) -> SignedHead {
        let head_bytes = head.encode();
        let signature = key.sign(&ReceiptHead::signed_message(&head_bytes));
        SignedHead {
            key_name: key.name().to_string(),
            key_id: key.key_id(),
            head_bytes,
            head,
            signature,
        }
    }

    pub fn receipt(&self, seq: u64, leaf: Hash, path: Vec<Hash>) -> Receipt {
        Receipt {
            signed: self.clone(),
            seq,
            leaf,
            path,
        }
    }
}

/// One package's receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub signed: SignedHead,
    pub seq: u64,
    pub leaf: Hash,
    /// Inclusion path of leaf `seq` in the tree of `signed.head.size` leaves.
    pub path: Vec<Hash>,
}

/// Why a receipt did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("the receipt is signed by {found}, not by {expected}")]
    WrongKey { found: String, expected: String },
    #[error("the receipt signature does not verify")]
    BadSignature,
    #[error("the receipt's inclusion path does not lead to its signed root: {0}")]
    Inclusion(VerifyError),
}

impl Receipt {
    pub fn encode(&self) -> Vec<u8> {
        cbor::encode_with(|e| {
            e.map(9)?;
            e.u8(0)?.u64(RECEIPT_VERSION)?;
            e.u8(1)?.u64(SIG_ALG_ED25519)?;
            e.u8(2)?.str(&self.signed.key_name)?;
            e.u8(3)?.bytes(&self.signed.key_id)?;
            e.u8(4)?.bytes(&self.signed.head_bytes)?;
            e.u8(5)?.bytes(&self.signed.signature)?;
            e.u8(6)?.u64(self.seq)?;
            e.u8(7)?.bytes(&self.leaf.0)?;
            e.u8(8)?.array(self.path.len() as u64)?;
            for h in &self.path {
                e.bytes(&h.0)?;
            }
            Ok(())
        })
    }

    /// Decodes an untrusted receipt (strict gate, then the head inside it).
    pub fn decode(bytes: &[u8]) -> Result<Receipt, DecodeError> {
        if bytes.len() > PROOF_BYTES_MAX {
            return Err(DecodeError::Limit {
                what: "receipt bytes".into(),
                got: bytes.len() as u64,
                max: PROOF_BYTES_MAX as u64,
            });
        }
        cbor::decode_exact(bytes, decode_fields, Receipt::encode)
    }

    /// Checks the signature with `key` and the inclusion of `leaf` at `seq` under the signed
    /// root. Whether the leaf is the package you hold is the caller's comparison.
    pub fn verify(&self, key: &VerifierKey) -> Result<(), ReceiptError> {
        if self.signed.key_name != key.name() || self.signed.key_id != key.key_id() {
            return Err(ReceiptError::WrongKey {
                found: format!(
                    "{}+{}",
                    self.signed.key_name,
                    hex::encode(self.signed.key_id)
                ),
                expected: format!("{}+{}", key.name(), hex::encode(key.key_id())),
            });
        }
        if !key.verify(
            &ReceiptHead::signed_message(&self.signed.head_bytes),
            &self.signed.signature,
        ) {
            return Err(ReceiptError::BadSignature);
        }
        let h = &self.signed.head;
        merkle::verify_inclusion(&self.leaf, self.seq, h.size, &self.path, &h.root)
            .map_err(ReceiptError::Inclusion)
    }
}

fn decode_fields(d: &mut Decoder<'_>) -> Result<Receipt, DecodeError> {
    cbor::map_of(d, "receipt", 9)?;
    cbor::key(d, "receipt", 0)?;
    cbor::expect_value(d, "receipt version", RECEIPT_VERSION)?;
    cbor::key(d, "receipt", 1)?;
    cbor::expect_value(d, "signature algorithm", SIG_ALG_ED25519)?;
    cbor::key(d, "receipt", 2)?;
    let key_name = cbor::text(d, "key name", NOTE_NAME_BYTES_MAX)?.to_string();
    if key_name.is_empty() {
        return Err(schema("receipt: the key name is empty"));
    }
    cbor::key(d, "receipt", 3)?;
    let key_id: [u8; 4] = cbor::bytes(d, "key id")?
        .try_into()
        .map_err(|_| schema("key id: expected 4 bytes"))?;
    cbor::key(d, "receipt", 4)?;
    let head_bytes = cbor::bytes(d, "receipt head")?.to_vec();
    let head = ReceiptHead::decode(&head_bytes)?;
    cbor::key(d, "receipt", 5)?;
    let signature: [u8; 64] = cbor::bytes(d, "signature")?
        .try_into()
        .map_err(|_| schema("signature: expected 64 bytes"))?;
    cbor::key(d, "receipt", 6)?;
    let seq = cbor::uint(d, "seq")?;
    cbor::key(d, "receipt", 7)?;
    let leaf = cbor::hash(d, "leaf hash")?;
    cbor::key(d, "receipt", 8)?;
    let n = cbor::array_len(d, "inclusion path", INCLUSION_HASHES_MAX)?;
    let mut path = Vec::with_capacity(n);
    for _ in 0..n {
        path.push(cbor::hash(d, "inclusion path hash")?);
    }
    Ok(Receipt {
        signed: SignedHead {
            key_name,
            key_id,
            head_bytes,
            head,
            signature,
        },
        seq,
        leaf,
        path,
    })
}
