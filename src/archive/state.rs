//! The sequencer's committed state of one archive, stored in the same batch as its packages,
//! and the stored form of signed receipt heads.

use serde::{Deserialize, Serialize};
use zegel_format::hash::Hash;
use zegel_format::header::AgreementRef;
use zegel_format::receipt::{Receipt, SignedHead};

use crate::store::{ArchiveId, Batch, Store, StoreError, cf};

/// An archive's sequencer state, stored in every group's batch. The sequencer's own copy may
/// run ahead of the store by the groups in flight; the stored copy moves only in a durable
/// commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveState {
    pub tenant: String,
    pub archive: String,
    pub size: u64,
    pub last_time_ms: u64,
    #[serde(with = "agreement_ref")]
    pub agreement: Option<AgreementRef>,
    /// Bytes archived: header bytes plus uncompressed objects, over every package.
    #[serde(default)]
    pub raw_bytes: u64,
    /// Bytes written to the hot tier: header bytes plus compressed objects, per package (an
    /// object shared by several packages counts for each); tiering subtracts what it evicts.
    #[serde(default)]
    pub hot_bytes: u64,
    /// Packages disposed of (retention or erasure): their leaves stay, their content is gone.
    #[serde(default)]
    pub disposed: u64,
}

mod agreement_ref {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use zegel_format::header::AgreementRef;

    pub fn serialize<S: Serializer>(a: &Option<AgreementRef>, s: S) -> Result<S::Ok, S::Error> {
        a.map(|a| (a.version, a.seq)).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<AgreementRef>, D::Error> {
        Ok(Option::<(u64, u64)>::deserialize(d)?
            .map(|(version, seq)| AgreementRef { version, seq }))
    }
}

pub fn state_key(id: ArchiveId) -> Vec<u8> {
    format!("state/{id:016x}").into_bytes()
}

impl ArchiveState {
    pub fn new(tenant: &str, archive: &str) -> ArchiveState {
        ArchiveState {
            tenant: tenant.into(),
            archive: archive.into(),
            size: 0,
            last_time_ms: 0,
            agreement: None,
            raw_bytes: 0,
            hot_bytes: 0,
            disposed: 0,
        }
    }

    pub fn load(store: &Store, id: ArchiveId) -> Result<ArchiveState, StoreError> {
        let bytes = store
            .get(cf::META, &state_key(id))?
            .ok_or_else(|| StoreError::Corrupt(format!("archive {id} has no state")))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| StoreError::Corrupt(format!("archive {id} state: {e}")))
    }

    pub fn put(&self, batch: &mut Batch, id: ArchiveId) -> Result<(), StoreError> {
        batch.put_json(cf::META, &state_key(id), self)
    }
}

/// Signed heads are stored as a receipt without a leaf (seq 0, zero leaf, empty path), so the
/// one strict codec reads them back.
pub fn encode_signed_head(head: &SignedHead) -> Vec<u8> {
    head.receipt(0, Hash::ZERO, Vec::new()).encode()
}

pub fn decode_signed_head(bytes: &[u8]) -> Result<SignedHead, String> {
    Receipt::decode(bytes)
        .map(|r| r.signed)
        .map_err(|e| format!("stored head: {e}"))
}
