//! Legal holds. A hold names packages by seq, by record key (every version) or by a metadata
//! value; it has an id, a reason, the key that placed it and when. Lifting a hold keeps it,
//! with who lifted it, when and why, so the history of holds is never lost.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zegel_format::header::{HeaderView, MetaValue, PackageHeader};

use crate::archive::agreement::index_value;
use crate::archive::sequencer::HoldGate;
use crate::store::{ArchiveId, Batch, Store, StoreError, cf};

/// Holds an archive may have, lifted ones included.
pub const HOLDS_PER_ARCHIVE_MAX: u64 = 10_000;
/// Bytes of a hold's or a lift's reason.
pub const HOLD_REASON_BYTES_MAX: usize = 1000;

/// What a hold covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldScope {
    /// One package.
    Package(u64),
    /// Every version of a record key.
    Record(String),
    /// Every package whose metadata `field` has this value (as the search route compares).
    Query { field: String, value: String },
}

/// Who lifted a hold, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Lifted {
    pub by: String,
    pub at_ms: u64,
    pub reason: String,
}

/// A legal hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Hold {
    pub id: String,
    pub archive: String,
    pub scope: HoldScope,
    pub reason: String,
    /// Id of the API key that placed it.
    pub placed_by: String,
    pub placed_ms: u64,
    pub lifted: Option<Lifted>,
}

impl Hold {
    pub fn active(&self) -> bool {
        self.lifted.is_none()
    }

    /// Whether this hold covers the package at `seq` with `header`.
    pub fn covers(&self, seq: u64, header: &impl HoldSubject) -> bool {
        self.active()
            && match &self.scope {
                HoldScope::Package(s) => *s == seq,
                HoldScope::Record(k) => header.record_key() == Some(k.as_str()),
                HoldScope::Query { field, value } => header
                    .metadata_value(field)
                    .is_some_and(|v| index_value(&v) == *value),
            }
    }
}

/// What a hold looks at in a package header, decoded or read in place.
pub trait HoldSubject {
    fn record_key(&self) -> Option<&str>;
    fn metadata_value(&self, field: &str) -> Option<MetaValue>;
}

impl HoldSubject for PackageHeader {
    fn record_key(&self) -> Option<&str> {
        self.record_key.as_deref()
    }

    fn metadata_value(&self, field: &str) -> Option<MetaValue> {
        self.metadata.get(field).cloned()
    }
}

impl HoldSubject for HeaderView<'_> {
    fn record_key(&self) -> Option<&str> {
        self.record_key
    }

    fn metadata_value(&self, field: &str) -> Option<MetaValue> {
        HeaderView::metadata_value(self, field).map(|v| v.to_owned())
    }
}

fn hold_key(id: ArchiveId, n: u64) -> Vec<u8> {
    format!("hold/{id:016x}/{n:016x}").into_bytes()
}

fn hold_prefix(id: ArchiveId) -> Vec<u8> {
    format!("hold/{id:016x}/").into_bytes()
}

/// Why a hold could not be placed or lifted.
#[derive(Debug, thiserror::Error)]
pub enum HoldError {
    #[error("{0}")]
    Invalid(String),
    #[error("no hold {0:?}")]
    NotFound(String),
    #[error("hold {0:?} was already lifted")]
    AlreadyLifted(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// The holds of every archive, in the hot store's `meta` family. Writes are serialised.
#[derive(Debug, Default)]
pub struct Holds {
    /// Taken by every hold written and by every disposal's final check (see [`Holds::gate`]).
    write: Arc<Mutex<()>>,
}

fn check_reason(reason: &str) -> Result<(), HoldError> {
    if reason.trim().is_empty() || reason.len() > HOLD_REASON_BYTES_MAX {
        return Err(HoldError::Invalid(format!(
            "a reason of 1 to {HOLD_REASON_BYTES_MAX} bytes is required"
        )));
    }
    Ok(())
}

impl Holds {
    /// Every hold of an archive, oldest first (lifted ones too).
    pub fn list(&self, store: &Store, id: ArchiveId) -> Result<Vec<Hold>, HoldError> {
        Ok(store.scan_json(
            cf::META,
            &hold_prefix(id),
            HOLDS_PER_ARCHIVE_MAX as usize,
            "hold",
        )?)
    }

    /// The holds in force.
    pub fn active(&self, store: &Store, id: ArchiveId) -> Result<Vec<Hold>, HoldError> {
        Ok(self
            .list(store, id)?
            .into_iter()
            .filter(Hold::active)
            .collect())
    }

    /// The last check of a disposal of `packages`: run on the archive's sequencer under the
    /// holds' lock, kept until the disposal is committed, so no hold placed meanwhile is
    /// overlooked.
    pub fn gate(
        &self,
        store: Arc<Store>,
        id: ArchiveId,
        packages: Vec<(u64, PackageHeader)>,
    ) -> HoldGate {
        HoldGate {
            lock: self.write.clone(),
            check: Box::new(move || {
                let holds = Holds::default()
                    .active(&store, id)
                    .map_err(|e| e.to_string())?;
                for (seq, h) in &packages {
                    if let Some(hold) = holds.iter().find(|x| x.covers(*seq, h)) {
                        return Err(format!(
                            "legal hold {} ({}) covers package {seq}; nothing was disposed of",
                            hold.id, hold.reason
                        ));
                    }
                }
                Ok(())
            }),
        }
    }

    /// Places `draft` (durably, before it is answered) under the next id of the archive.
    pub fn place(&self, store: &Store, id: ArchiveId, draft: Hold) -> Result<Hold, HoldError> {
        check_reason(&draft.reason)?;
        let _one = self
            .write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = self.list(store, id)?.len() as u64;
        if n >= HOLDS_PER_ARCHIVE_MAX {
            return Err(HoldError::Invalid(format!(
                "an archive has at most {HOLDS_PER_ARCHIVE_MAX} holds"
            )));
        }
        let hold = Hold {
            id: format!("hold-{}", n + 1),
            lifted: None,
            ..draft
        };
        let mut b = Batch::default();
        b.put(
            cf::META,
            &hold_key(id, n + 1),
            &serde_json::to_vec(&hold).unwrap_or_default(),
        );
        store.commit(b)?;
        Ok(hold)
    }

    /// Lifts a hold (it stays listed, with who lifted it and why).
    pub fn lift(
        &self,
        store: &Store,
        id: ArchiveId,
        hold_id: &str,
        reason: &str,
        by: &str,
        now_ms: u64,
    ) -> Result<Hold, HoldError> {
        check_reason(reason)?;
        let n: u64 = hold_id
            .strip_prefix("hold-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| HoldError::NotFound(hold_id.into()))?;
        let _one = self
            .write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = hold_key(id, n);
        let mut hold: Hold = store
            .get_json(cf::META, &key, "hold")?
            .ok_or_else(|| HoldError::NotFound(hold_id.into()))?;
        if !hold.active() {
            return Err(HoldError::AlreadyLifted(hold_id.into()));
        }
        hold.lifted = Some(Lifted {
            by: by.into(),
            at_ms: now_ms,
            reason: reason.into(),
        });
        let mut b = Batch::default();
        b.put(
            cf::META,
            &key,
            &serde_json::to_vec(&hold).unwrap_or_default(),
        );
        store.commit(b)?;
        Ok(hold)
    }
}
