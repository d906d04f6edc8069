//! Early erasure (a GDPR request, a court order): one archivist requests it with its legal
//! basis, a second, different archivist approves it, and only then is it carried out, as a
//! disposition of cause `erasure` naming both. Legal holds block it. Requests are kept, with
//! who decided what and when, in the hot store's `meta` family.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zegel_format::disposition::Cause;
use zegel_format::limits::{DISPOSITION_BASIS_BYTES_MAX, DISPOSITION_PACKAGES_MAX};

use crate::archive::archives::{ArchiveError, ArchiveInfo, Archives};
use crate::retention::dispose::{self, Authority, Chosen, DisposeError, Disposed, disposable};
use crate::retention::holds::Holds;
use crate::store::{ArchiveId, Batch, Store, StoreError, cf};
use crate::tier::mover::Tierer;

/// Erasure requests an archive may have, decided ones included.
pub const ERASURES_PER_ARCHIVE_MAX: u64 = 10_000;

/// What an erasure covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErasureScope {
    /// One package.
    Package(u64),
    /// Every version of a record key.
    Record(String),
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErasureState {
    /// Waiting for a second archivist.
    Requested,
    /// Approved and carried out: `disposition` names the disposition package.
    Erased,
    /// Withdrawn or refused; nothing was erased.
    Rejected,
}

/// An erasure request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Erasure {
    pub id: String,
    pub archive: String,
    pub scope: ErasureScope,
    /// The legal basis (court order, statute, data subject's request), recorded in the
    /// disposition.
    pub basis: String,
    /// Id of the API key that requested it.
    pub requested_by: String,
    pub requested_ms: u64,
    pub state: ErasureState,
    /// Id of the key that approved or rejected it.
    pub decided_by: Option<String>,
    pub decided_ms: Option<u64>,
    /// Why it was rejected.
    pub rejection: Option<String>,
    /// The disposition package that carried it out.
    pub disposition: Option<u64>,
}

fn erasure_key(id: ArchiveId, n: u64) -> Vec<u8> {
    format!("erasure/{id:016x}/{n:016x}").into_bytes()
}

fn erasure_prefix(id: ArchiveId) -> Vec<u8> {
    format!("erasure/{id:016x}/").into_bytes()
}

fn number(erasure_id: &str) -> Option<u64> {
    erasure_id.strip_prefix("erasure-")?.parse().ok()
}

/// Why an erasure request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    #[error("{0}")]
    Invalid(String),
    #[error("no erasure request {0:?} in this archive")]
    NotFound(String),
    #[error("no package {0} in this archive")]
    NoPackage(u64),
    #[error("no record {0:?} in this archive")]
    NoRecord(String),
    /// The request is not in a state that allows this (already decided, same person).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Dispose(#[from] DisposeError),
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl From<ArchiveError> for ErasureError {
    fn from(e: ArchiveError) -> ErasureError {
        ErasureError::Dispose(DisposeError::Archive(e))
    }
}

/// The erasure requests of every archive. Writes are serialised.
#[derive(Debug, Default)]
pub struct Erasures {
    write: Mutex<()>,
    /// One approval at a time per node: it disposes of packages.
    approve: tokio::sync::Mutex<()>,
}

fn check_basis(basis: &str) -> Result<(), ErasureError> {
    let ok = !basis.trim().is_empty()
        && basis.len() <= DISPOSITION_BASIS_BYTES_MAX
        && !basis
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n'));
    if ok {
        Ok(())
    } else {
        Err(ErasureError::Invalid(format!(
            "a legal basis of 1 to {DISPOSITION_BASIS_BYTES_MAX} bytes without control characters is required"
        )))
    }
}

impl Erasures {
    /// Every request of an archive, oldest first.
    pub fn list(&self, store: &Store, id: ArchiveId) -> Result<Vec<Erasure>, ErasureError> {
        Ok(store.scan_json(
            cf::META,
            &erasure_prefix(id),
            ERASURES_PER_ARCHIVE_MAX as usize,
            "erasure request",
        )?)
    }

    fn load(
        &self,
        store: &Store,
        id: ArchiveId,
        erasure_id: &str,
    ) -> Result<Erasure, ErasureError> {
        let n = number(erasure_id).ok_or_else(|| ErasureError::NotFound(erasure_id.into()))?;
        store
            .get_json(cf::META, &erasure_key(id, n), "erasure request")?
            .ok_or_else(|| ErasureError::NotFound(erasure_id.into()))
    }

    fn put(e: &Erasure, id: ArchiveId) -> Option<(&'static str, Vec<u8>, Vec<u8>)> {
        Some((
            cf::META,
            erasure_key(id, number(&e.id)?),
            serde_json::to_vec(e).unwrap_or_default(),
        ))
    }

    /// Records a request (durably, before it is answered). The packages it covers must exist
    /// and be archived content; they are resolved again when it is approved.
    pub async fn request(
        &self,
        archives: &Archives,
        info: &ArchiveInfo,
        scope: ErasureScope,
        basis: String,
        by: &str,
        now_ms: u64,
    ) -> Result<Erasure, ErasureError> {
        check_basis(&basis)?;
        let covered = covered(archives, info, &scope).await?;
        if covered.is_empty() {
            return Err(ErasureError::Invalid(
                "the erasure covers no archived package".into(),
            ));
        }
        let store = archives.store();
        let _one = self
            .write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = self.list(store, info.id)?.len() as u64;
        if n >= ERASURES_PER_ARCHIVE_MAX {
            return Err(ErasureError::Invalid(format!(
                "an archive has at most {ERASURES_PER_ARCHIVE_MAX} erasure requests"
            )));
        }
        let e = Erasure {
            id: format!("erasure-{}", n + 1),
            archive: info.archive.clone(),
            scope,
            basis,
            requested_by: by.into(),
            requested_ms: now_ms,
            state: ErasureState::Requested,
            decided_by: None,
            decided_ms: None,
            rejection: None,
            disposition: None,
        };
        let mut b = Batch::default();
        if let Some((name, k, v)) = Self::put(&e, info.id) {
            b.put(name, &k, &v);
        }
        store.commit(b)?;
        Ok(e)
    }

    /// Rejects a request still waiting; anyone with the archivist role may, the requester too.
    pub fn reject(
        &self,
        store: &Store,
        info: &ArchiveInfo,
        erasure_id: &str,
        reason: String,
        by: &str,
        now_ms: u64,
    ) -> Result<Erasure, ErasureError> {
        check_basis(&reason)?;
        let _one = self
            .write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut e = self.load(store, info.id, erasure_id)?;
        if e.state != ErasureState::Requested {
            return Err(ErasureError::Conflict(format!(
                "erasure request {erasure_id} was already decided"
            )));
        }
        e.state = ErasureState::Rejected;
        e.decided_by = Some(by.into());
        e.decided_ms = Some(now_ms);
        e.rejection = Some(reason);
        let mut b = Batch::default();
        if let Some((name, k, v)) = Self::put(&e, info.id) {
            b.put(name, &k, &v);
        }
        store.commit(b)?;
        Ok(e)
    }

    /// Approves a request and carries it out. The approver must be a different key from the
    /// requester; a legal hold over any covered package refuses it. The request is marked
    /// erased in the very batch that seals the disposition.
    pub async fn approve(
        &self,
        archives: &Arc<Archives>,
        tier: &Tierer,
        holds: &Holds,
        info: &ArchiveInfo,
        erasure_id: &str,
        by: &str,
    ) -> Result<(Erasure, Disposed), ErasureError> {
        let _one = self.approve.lock().await;
        let store = archives.store();
        let e = self.load(store, info.id, erasure_id)?;
        if e.state != ErasureState::Requested {
            return Err(ErasureError::Conflict(format!(
                "erasure request {erasure_id} was already decided ({:?})",
                e.state
            )));
        }
        if e.requested_by == by {
            return Err(ErasureError::Conflict(format!(
                "erasure request {erasure_id} was requested by key {by}; a second, different archivist must approve it"
            )));
        }
        let _moves = tier.exclusive().await;
        dispose::resume(tier, store, info.id).await?;
        let chosen = covered(archives, info, &e.scope).await?;
        if chosen.is_empty() {
            return Err(ErasureError::Conflict(format!(
                "erasure request {erasure_id} covers no package that is still archived"
            )));
        }
        let active = holds
            .active(store, info.id)
            .map_err(|x| ErasureError::Invalid(x.to_string()))?;
        for c in &chosen {
            if let Some(h) = active
                .iter()
                .find(|h| h.covers(c.package.seq, &c.package.header))
            {
                return Err(DisposeError::Held(format!(
                    "legal hold {} ({}) covers package {}; the erasure cannot proceed",
                    h.id, h.reason, c.package.seq
                ))
                .into());
            }
        }
        let now = tier.now_ms();
        let mut done = e.clone();
        done.state = ErasureState::Erased;
        done.decided_by = Some(by.into());
        done.decided_ms = Some(now);
        let id = info.id;
        let marked = done.clone();
        let d = dispose::dispose(
            archives,
            tier,
            info,
            chosen,
            Authority {
                cause: Cause::Erasure,
                basis: e.basis.clone(),
                authorized_by: vec![e.requested_by.clone(), by.to_string()],
                erasure: Some(e.id.clone()),
            },
            holds,
            Some(Box::new(move |seq| {
                let mut m = marked;
                m.disposition = Some(seq);
                Self::put(&m, id).into_iter().collect()
            })),
        )
        .await?;
        done.disposition = Some(d.disposition);
        Ok((done, d))
    }
}

/// The packages an erasure covers now, ascending: archived content only, disposed ones
/// skipped.
async fn covered(
    archives: &Archives,
    info: &ArchiveInfo,
    scope: &ErasureScope,
) -> Result<Vec<Chosen>, ErasureError> {
    let seqs: Vec<u64> = match scope {
        ErasureScope::Package(seq) => vec![*seq],
        ErasureScope::Record(key) => {
            let seqs: Vec<u64> = archives
                .record_versions(info.id, key)?
                .into_iter()
                .map(|(_, seq)| seq)
                .collect();
            if seqs.is_empty() {
                return Err(ErasureError::NoRecord(key.clone()));
            }
            seqs
        }
    };
    if seqs.len() > DISPOSITION_PACKAGES_MAX {
        return Err(ErasureError::Invalid(format!(
            "an erasure covers at most {DISPOSITION_PACKAGES_MAX} packages"
        )));
    }
    let mut out = Vec::new();
    for seq in seqs {
        match archives.header(info.id, seq).await {
            Ok(Some(p)) => {
                if !disposable(p.header.kind) {
                    return Err(ErasureError::Invalid(format!(
                        "package {seq} is a {} entry of the log itself, not archived content",
                        p.header.kind.name()
                    )));
                }
                out.push(Chosen::new(p));
            }
            Ok(None) => {
                if let ErasureScope::Package(_) = scope {
                    return Err(ErasureError::NoPackage(seq));
                }
            }
            Err(ArchiveError::Gone { seq, mark }) => {
                if let ErasureScope::Package(_) = scope {
                    return Err(ErasureError::Conflict(format!(
                        "package {seq} was already disposed of by the disposition package at seq {}",
                        mark.disposition
                    )));
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    out.sort_by_key(|c| c.package.seq);
    Ok(out)
}
