//! Early erasure (a GDPR request, a court order): one archivist requests it with its legal
//! basis, a second, different archivist approves it, and only then is it carried out, as a
//! disposition of cause `erasure` naming both. Legal holds block it. Requests are kept, with
//! who decided what and when, in the hot store's `meta` family.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use zegel_format::disposition::Cause;
use zegel_format::limits::{DISPOSITION_BASIS_BYTES_MAX, DISPOSITION_PACKAGES_MAX};

use crate::archive::archives::{ArchiveInfo, Archives};
use crate::error::Error;
use crate::limits::ERASURES_PER_ARCHIVE_MAX;
use crate::retention::dispose::{self, Authority, Chosen, Disposed, disposable};
use crate::retention::holds::Holds;
use crate::store::{ArchiveId, Batch, Store, cf};
use crate::tier::mover::Tierer;

/// What an erasure covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErasureScope {
    /// One package.
    Package(u64),
    /// Every version of a record key.
    Record(String),
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// The erasure requests of every archive. Writes are serialised.
#[derive(Debug)]
pub struct Erasures {
    archives: Arc<Archives>,
    write: Mutex<()>,
    /// One approval at a time per node: it disposes of packages.
    approve: tokio::sync::Mutex<()>,
}

fn check_basis(basis: &str) -> Result<(), Error> {
    let ok = !basis.trim().is_empty()
        && basis.len() <= DISPOSITION_BASIS_BYTES_MAX
        && !basis
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n'));
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(format!(
            "a legal basis of 1 to {DISPOSITION_BASIS_BYTES_MAX} bytes without control characters is required"
        )))
    }
}

impl Erasures {
    /// The requests of `archives`, kept in its store.
    pub fn new(archives: Arc<Archives>) -> Erasures {
        Erasures {
            archives,
            write: Mutex::default(),
            approve: tokio::sync::Mutex::default(),
        }
    }

    fn store(&self) -> &Store {
        self.archives.store()
    }

    /// Every request of an archive, oldest first.
    pub fn list(&self, id: ArchiveId) -> Result<Vec<Erasure>, Error> {
        Ok(self.store().scan_json(
            cf::META,
            &erasure_prefix(id),
            ERASURES_PER_ARCHIVE_MAX as usize,
            "erasure request",
        )?)
    }

    fn load(&self, id: ArchiveId, erasure_id: &str) -> Result<Erasure, Error> {
        let missing =
            || Error::not_found(format!("no erasure request {erasure_id:?} in this archive"));
        let n = number(erasure_id).ok_or_else(missing)?;
        self.store()
            .get_json(cf::META, &erasure_key(id, n), "erasure request")?
            .ok_or_else(missing)
    }

    /// The stored form of `e`: its `meta` entry.
    fn entry(e: &Erasure, id: ArchiveId) -> Result<(&'static str, Vec<u8>, Vec<u8>), Error> {
        let n = number(&e.id)
            .ok_or_else(|| Error::internal(format!("erasure id {:?} has no number", e.id)))?;
        let json = serde_json::to_vec(e)
            .map_err(|x| Error::internal(format!("encoding erasure {}: {x}", e.id)))?;
        Ok((cf::META, erasure_key(id, n), json))
    }

    fn save(&self, e: &Erasure, id: ArchiveId) -> Result<(), Error> {
        let (name, k, v) = Self::entry(e, id)?;
        let mut b = Batch::default();
        b.put(name, &k, &v);
        self.store().commit(b)?;
        Ok(())
    }

    /// Records a request (durably, before it is answered). The packages it covers must exist
    /// and be archived content; they are resolved again when it is approved.
    pub async fn request(
        &self,
        info: &ArchiveInfo,
        scope: ErasureScope,
        basis: String,
        by: &str,
        now_ms: u64,
    ) -> Result<Erasure, Error> {
        check_basis(&basis)?;
        let covered = covered(&self.archives, info, &scope).await?;
        if covered.is_empty() {
            return Err(Error::bad_request("the erasure covers no archived package"));
        }
        let _one = self
            .write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = self.list(info.id)?.len() as u64;
        if n >= ERASURES_PER_ARCHIVE_MAX {
            return Err(Error::bad_request(format!(
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
        self.save(&e, info.id)?;
        Ok(e)
    }

    /// Rejects a request still waiting; anyone with the archivist role may, the requester too.
    pub fn reject(
        &self,
        info: &ArchiveInfo,
        erasure_id: &str,
        reason: String,
        by: &str,
        now_ms: u64,
    ) -> Result<Erasure, Error> {
        check_basis(&reason)?;
        let _one = self
            .write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut e = self.load(info.id, erasure_id)?;
        if e.state != ErasureState::Requested {
            return Err(Error::conflict(format!(
                "erasure request {erasure_id} was already decided"
            )));
        }
        e.state = ErasureState::Rejected;
        e.decided_by = Some(by.into());
        e.decided_ms = Some(now_ms);
        e.rejection = Some(reason);
        self.save(&e, info.id)?;
        Ok(e)
    }

    /// Approves a request and carries it out. The approver must be a different key from the
    /// requester; a legal hold over any covered package refuses it. The request is marked
    /// erased in the very batch that seals the disposition.
    pub async fn approve(
        &self,
        tier: &Tierer,
        holds: &Holds,
        info: &ArchiveInfo,
        erasure_id: &str,
        by: &str,
    ) -> Result<(Erasure, Disposed), Error> {
        let _one = self.approve.lock().await;
        let archives = &self.archives;
        let e = self.load(info.id, erasure_id)?;
        if e.state != ErasureState::Requested {
            return Err(Error::conflict(format!(
                "erasure request {erasure_id} was already decided ({:?})",
                e.state
            )));
        }
        if e.requested_by == by {
            return Err(Error::conflict(format!(
                "erasure request {erasure_id} was requested by key {by}; a second, different archivist must approve it"
            )));
        }
        let _moves = tier.exclusive().await;
        dispose::resume(tier, archives.store(), info.id).await?;
        let chosen = covered(archives, info, &e.scope).await?;
        if chosen.is_empty() {
            return Err(Error::conflict(format!(
                "erasure request {erasure_id} covers no package that is still archived"
            )));
        }
        let active = holds.active(info.id)?;
        for c in &chosen {
            if let Some(h) = active
                .iter()
                .find(|h| h.covers(c.package.seq, &c.package.header))
            {
                return Err(Error::held(format!(
                    "legal hold {} ({}) covers package {}; the erasure cannot proceed",
                    h.id, h.reason, c.package.seq
                )));
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
                // An erasure of ours always has a number and encodes; were it not so, the
                // disposition still stands and the request stays listed as requested.
                match Self::entry(&m, id) {
                    Ok(entry) => vec![entry],
                    Err(e) => {
                        tracing::error!(erasure = %m.id, error = %e, "the erasure request could not be marked erased");
                        Vec::new()
                    }
                }
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
) -> Result<Vec<Chosen>, Error> {
    let seqs: Vec<u64> = match scope {
        ErasureScope::Package(seq) => vec![*seq],
        ErasureScope::Record(key) => {
            let seqs: Vec<u64> = archives
                .record_versions(info.id, key)?
                .into_iter()
                .map(|(_, seq)| seq)
                .collect();
            if seqs.is_empty() {
                return Err(Error::not_found(format!(
                    "no record {key:?} in this archive"
                )));
            }
            seqs
        }
    };
    if seqs.len() > DISPOSITION_PACKAGES_MAX {
        return Err(Error::bad_request(format!(
            "an erasure covers at most {DISPOSITION_PACKAGES_MAX} packages"
        )));
    }
    let mut out = Vec::new();
    for seq in seqs {
        match archives.header(info.id, seq).await {
            Ok(Some(p)) => {
                if !disposable(p.header.kind) {
                    return Err(Error::bad_request(format!(
                        "package {seq} is a {} entry of the log itself, not archived content",
                        p.header.kind.name()
                    )));
                }
                out.push(Chosen::new(p));
            }
            Ok(None) => {
                if let ErasureScope::Package(_) = scope {
                    return Err(Error::not_found(format!(
                        "no package {seq} in this archive"
                    )));
                }
            }
            Err(Error::Gone {
                seq, disposition, ..
            }) => {
                if let ErasureScope::Package(_) = scope {
                    return Err(Error::conflict(format!(
                        "package {seq} was already disposed of by the disposition package at seq {disposition}"
                    )));
                }
            }
            Err(e) => return Err(e),
        }
    }
    out.sort_by_key(|c| c.package.seq);
    Ok(out)
}
