//! Legal holds. A hold names packages by seq, by record key (every version) or by a metadata
//! value; it has an id, a reason, the key that placed it and when. Lifting a hold keeps it,
//! with who lifted it, when and why, so the history of holds is never lost.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use zegel_format::header::{HeaderView, MetaValue, PackageHeader};

use crate::archive::agreement::index_value;
use crate::archive::sequencer::HoldGate;
use crate::error::Error;
use crate::limits::{HOLD_REASON_BYTES_MAX, HOLDS_PER_ARCHIVE_MAX};
use crate::store::{ArchiveId, Batch, Store, StoreError, cf};

/// What a hold covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifted {
    pub by: String,
    pub at_ms: u64,
    pub reason: String,
}

/// A legal hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// The holds of every archive, in the hot store's `meta` family. Writes are serialised.
#[derive(Debug)]
pub struct Holds {
    store: Arc<Store>,
    /// Taken by every hold written and by every disposal's final check (see [`Holds::gate`]).
    write: Arc<Mutex<()>>,
}

fn check_reason(reason: &str) -> Result<(), Error> {
    if reason.trim().is_empty() || reason.len() > HOLD_REASON_BYTES_MAX {
        return Err(Error::bad_request(format!(
            "a reason of 1 to {HOLD_REASON_BYTES_MAX} bytes is required"
        )));
    }
    Ok(())
}

/// The holds of one archive as stored, oldest first (lifted ones too).
fn stored(store: &Store, id: ArchiveId) -> Result<Vec<Hold>, StoreError> {
    store.scan_json(
        cf::META,
        &hold_prefix(id),
        HOLDS_PER_ARCHIVE_MAX as usize,
        "hold",
    )
}

impl Holds {
    /// The holds kept in `store`.
    pub fn new(store: Arc<Store>) -> Holds {
        Holds {
            store,
            write: Arc::default(),
        }
    }

    /// Every hold of an archive, oldest first (lifted ones too).
    pub fn list(&self, id: ArchiveId) -> Result<Vec<Hold>, Error> {
        Ok(stored(&self.store, id)?)
    }

    /// The holds in force.
    pub fn active(&self, id: ArchiveId) -> Result<Vec<Hold>, Error> {
        Ok(self.list(id)?.into_iter().filter(Hold::active).collect())
    }

    /// The last check of a disposal of `packages`: run on the archive's sequencer under the
    /// holds' lock, kept until the disposal is committed, so no hold placed meanwhile is
    /// overlooked.
    pub fn gate(&self, id: ArchiveId, packages: Vec<(u64, PackageHeader)>) -> HoldGate {
        let store = self.store.clone();
        HoldGate {
            lock: self.write.clone(),
            check: Box::new(move || {
                let holds: Vec<Hold> = stored(&store, id)
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .filter(Hold::active)
                    .collect();
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
    pub fn place(&self, id: ArchiveId, draft: Hold) -> Result<Hold, Error> {
        check_reason(&draft.reason)?;
        let _one = self
            .write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = self.list(id)?.len() as u64;
        if n >= HOLDS_PER_ARCHIVE_MAX {
            return Err(Error::bad_request(format!(
                "an archive has at most {HOLDS_PER_ARCHIVE_MAX} holds"
            )));
        }
        let hold = Hold {
            id: format!("hold-{}", n + 1),
            lifted: None,
            ..draft
        };
        let mut b = Batch::default();
        b.put_json(cf::META, &hold_key(id, n + 1), &hold)?;
        self.store.commit(b)?;
        Ok(hold)
    }

    /// Lifts a hold (it stays listed, with who lifted it and why).
    pub fn lift(
        &self,
        id: ArchiveId,
        hold_id: &str,
        reason: &str,
        by: &str,
        now_ms: u64,
    ) -> Result<Hold, Error> {
        check_reason(reason)?;
        let n: u64 = hold_id
            .strip_prefix("hold-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| Error::not_found(format!("no hold {hold_id:?}")))?;
        let _one = self
            .write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = hold_key(id, n);
        let mut hold: Hold = self
            .store
            .get_json(cf::META, &key, "hold")?
            .ok_or_else(|| Error::not_found(format!("no hold {hold_id:?}")))?;
        if !hold.active() {
            return Err(Error::conflict(format!(
                "hold {hold_id:?} was already lifted"
            )));
        }
        hold.lifted = Some(Lifted {
            by: by.into(),
            at_ms: now_ms,
            reason: reason.into(),
        });
        let mut b = Batch::default();
        b.put_json(cf::META, &key, &hold)?;
        self.store.commit(b)?;
        Ok(hold)
    }
}
