//! Audit runs: an audit of one archive advances a bounded step at a time from a cursor that
//! is persisted (`meta`, `audit-run/{id}/{n}`), so it runs beside live traffic, survives a
//! restart and resumes where it stopped. When the cursor reaches the end of the log the log
//! checks run and the audit is sealed into the archive's own log as an `audit` package, so
//! anyone can see that audits happened and what they found.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use zegel_format::header::Kind;

use crate::archive::archives::{ArchiveInfo, Archives};
use crate::archive::sequencer::{NewObject, Retention, Submission};
use crate::audit::batch;
use crate::audit::check::{self, Scope};
use crate::audit::finding::{Finding, LogTally, PackageTally};
use crate::audit::log::{self, LogWalk};
use crate::error::Error;
use crate::limits::{AUDIT_FINDINGS_KEPT_MAX, AUDIT_RUNS_PER_ARCHIVE_MAX, AUDIT_STEP_PACKAGES_MAX};
use crate::retention::holds::Holds;
use crate::store::{ArchiveId, Batch, Store, StoreError, cf};

/// One audit of one archive.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AuditRun {
    pub id: String,
    pub archive: String,
    /// Percentage of packages checked (100: all), and the seed that picks them.
    pub sample_percent: u8,
    pub seed: u64,
    /// Who started it (API key id) and when.
    pub started_by: String,
    pub started_ms: u64,
    /// The log size it audits up to (fixed at the start).
    pub size: u64,
    /// The next seq to check.
    pub cursor: u64,
    pub packages: PackageTally,
    pub log: Option<LogTally>,
    /// Findings per check.
    pub counts: BTreeMap<String, u64>,
    /// The first `AUDIT_FINDINGS_KEPT_MAX` findings.
    pub findings: Vec<Finding>,
    /// When it finished, and the seq of the `audit` package that records it.
    pub finished_ms: Option<u64>,
    pub recorded_seq: Option<u64>,
}

impl AuditRun {
    pub fn findings_total(&self) -> u64 {
        self.counts.values().sum()
    }

    fn add(&mut self, found: Vec<Finding>) {
        for f in found {
            *self.counts.entry(f.check.clone()).or_default() += 1;
            if self.findings.len() < AUDIT_FINDINGS_KEPT_MAX {
                self.findings.push(f);
            }
        }
    }
}

fn run_key(id: ArchiveId, n: u64) -> Vec<u8> {
    format!("audit-run/{id:016x}/{n:016x}").into_bytes()
}

/// Where the log checks of a run stand, beside the run.
fn walk_key(id: ArchiveId, n: u64) -> Vec<u8> {
    format!("audit-walk/{id:016x}/{n:016x}").into_bytes()
}

fn run_prefix(id: ArchiveId) -> Vec<u8> {
    format!("audit-run/{id:016x}/").into_bytes()
}

fn number(run_id: &str) -> Option<u64> {
    run_id.strip_prefix("audit-")?.parse().ok()
}

/// The audit runs of every archive; one step of one run at a time per node.
#[derive(Debug)]
pub struct Audits {
    archives: Arc<Archives>,
    step: tokio::sync::Mutex<()>,
    write: Mutex<()>,
}

fn save(
    store: &Store,
    id: ArchiveId,
    run: &AuditRun,
    walk: Option<&mut LogWalk>,
) -> Result<(), Error> {
    let n = number(&run.id)
        .ok_or_else(|| Error::not_found(format!("no audit {:?} in this archive", run.id)))?;
    let mut b = Batch::default();
    b.put_json(cf::META, &run_key(id, n), run)?;
    match walk {
        // A finished run keeps no walk.
        Some(_) if run.finished_ms.is_some() => b.delete(cf::META, &walk_key(id, n)),
        Some(w) => b.put_json(cf::META, &walk_key(id, n), w.saved())?,
        None => {}
    }
    store.commit(b)?;
    Ok(())
}

impl Audits {
    /// The audits of `archives`, kept in its store.
    pub fn new(archives: Arc<Archives>) -> Audits {
        Audits {
            archives,
            step: tokio::sync::Mutex::default(),
            write: Mutex::default(),
        }
    }

    /// Every audit of an archive, oldest first.
    pub fn list(&self, id: ArchiveId) -> Result<Vec<AuditRun>, Error> {
        Ok(self.archives.store().scan_json(
            cf::META,
            &run_prefix(id),
            AUDIT_RUNS_PER_ARCHIVE_MAX as usize,
            "audit run",
        )?)
    }

    pub fn load(&self, id: ArchiveId, run_id: &str) -> Result<AuditRun, Error> {
        let n = number(run_id)
            .ok_or_else(|| Error::not_found(format!("no audit {run_id:?} in this archive")))?;
        self.archives
            .store()
            .get_json(cf::META, &run_key(id, n), "audit run")?
            .ok_or_else(|| Error::not_found(format!("no audit {run_id:?} in this archive")))
    }

    /// Starts an audit of the log as it is now.
    pub fn start(
        &self,
        info: &ArchiveInfo,
        sample_percent: u8,
        by: &str,
        now_ms: u64,
    ) -> Result<AuditRun, Error> {
        if !(1..=100).contains(&sample_percent) {
            return Err(Error::BadRequest("sample_percent must be 1 to 100".into()));
        }
        let archives = &self.archives;
        let store = archives.store();
        let _one = self
            .write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = store
            .last_with_prefix(cf::META, &run_prefix(info.id))?
            .and_then(|(k, _)| {
                let k = String::from_utf8_lossy(&k).into_owned();
                u64::from_str_radix(k.rsplit('/').next()?, 16).ok()
            })
            .unwrap_or(0)
            + 1;
        let run = AuditRun {
            id: format!("audit-{n}"),
            archive: info.archive.clone(),
            sample_percent,
            seed: now_ms ^ n.rotate_left(32),
            started_by: by.into(),
            started_ms: now_ms,
            size: archives.size(info)?,
            ..Default::default()
        };
        save(store, info.id, &run, None)?;
        Ok(run)
    }

    /// Checks up to `max` more packages of the run; at the end of the log, runs the log
    /// checks and seals the audit into the archive's log.
    pub async fn step(
        &self,
        holds: &Holds,
        info: &ArchiveInfo,
        run_id: &str,
        max: u64,
        now_ms: u64,
    ) -> Result<AuditRun, Error> {
        let _one = self.step.lock().await;
        let archives = &self.archives;
        let store = archives.store();
        let mut run = self.load(info.id, run_id)?;
        if run.finished_ms.is_some() {
            return Ok(run);
        }
        let active = holds.active(info.id)?;
        let end = run.size.min(
            run.cursor
                .saturating_add(max.clamp(1, AUDIT_STEP_PACKAGES_MAX)),
        );
        let n = number(&run.id)
            .ok_or_else(|| Error::not_found(format!("no audit {:?} in this archive", run.id)))?;
        let saved = store.get_json(cf::META, &walk_key(info.id, n), "audit walk")?;
        let mut walk = LogWalk::resume(store, info, run.cursor, saved);
        let key = archives.signing_key().verifier();
        let scope = Scope {
            info,
            seed: run.seed,
            percent: run.sample_percent,
            holds: &active,
            now_ms,
            blocks: check::step_blocks(),
        };
        let (tally, found) =
            check_range(archives, &scope, &key, (run.cursor, end), &mut walk).await?;
        run.cursor = end;
        run.packages.examined += tally.examined;
        run.packages.checked += tally.checked;
        run.packages.disposed += tally.disposed;
        run.packages.objects += tally.objects;
        run.packages.bytes += tally.bytes;
        metrics::counter!("zegel_audit_packages_total").increment(tally.checked);
        metrics::counter!("zegel_audit_findings_total").increment(found.len() as u64);
        run.add(found);
        if run.cursor >= run.size {
            let found = walk.finish(archives, info)?;
            metrics::counter!("zegel_audit_findings_total").increment(found.len() as u64);
            run.add(found);
            run.log = Some(walk.tally.clone());
            run.finished_ms = Some(now_ms);
            run.recorded_seq = Some(record(archives, info, &run).await?);
        }
        save(store, info.id, &run, Some(&mut walk))?;
        Ok(run)
    }
}

/// Seqs one audit task checks: small enough that the cores stay evenly busy when cold
/// packages (block inflation) and hot ones (point reads) cost differently. Chunks start at
/// multiples of it, so that each holds whole subtrees of the log.
const AUDIT_CHUNK_PACKAGES: u64 = 4096;

/// The chunks of `[from, end)`: cut at multiples of [`AUDIT_CHUNK_PACKAGES`].
fn chunks(from: u64, end: u64) -> impl Iterator<Item = (u64, u64)> {
    let mut start = from;
    std::iter::from_fn(move || {
        if start >= end {
            return None;
        }
        let stop = end.min((start / AUDIT_CHUNK_PACKAGES + 1) * AUDIT_CHUNK_PACKAGES);
        let chunk = (start, stop);
        start = stop;
        Some(chunk)
    })
}

/// The package checks of `[from, end)` in chunks, as many at once as there are cores, each
/// on its own task (re-hashing and cold-block inflation are CPU work that one thread would
/// cap), with the log checks walking the chunks' leaves in seq order as they come back.
/// Findings come back in seq order, the log's after the packages'.
pub async fn check_range(
    archives: &Arc<Archives>,
    scope: &Scope<'_>,
    key: &zegel_format::note::VerifierKey,
    (from, end): (u64, u64),
    walk: &mut LogWalk,
) -> Result<(PackageTally, Vec<Finding>), Error> {
    use futures::StreamExt;
    let info = scope.info;
    let started = std::time::Instant::now();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let holds = Arc::new(scope.holds.to_vec());
    let (seed, percent, now_ms) = (scope.seed, scope.percent, scope.now_ms);
    // The signed roots are read and their signatures checked beside the first chunks.
    let claims = {
        let (a, i, k, after) = (archives.clone(), info.clone(), key.clone(), walk.size());
        tokio::task::spawn_blocking(move || log::load_claims(&a, &i, &k, (after, end)))
    };
    let mut claims = Some(claims);
    let mut log_found = Vec::new();
    let mut results = futures::stream::iter(chunks(from, end))
        .map(|(start, stop)| {
            let (a, i, h) = (archives.clone(), info.clone(), holds.clone());
            let blocks = scope.blocks.clone();
            tokio::spawn(async move {
                let scope = Scope {
                    info: &i,
                    seed,
                    percent,
                    holds: &h,
                    now_ms,
                    blocks,
                };
                batch::check_packages(&a, &scope, start, stop)
                    .await
                    .map(|r| (start, r))
            })
        })
        // Twice the cores in flight: chunks finish out of order (cold ones inflate blocks),
        // and a core should not wait for the oldest one.
        .buffered(2 * cores);
    let mut tally = PackageTally::default();
    let mut found = Vec::new();
    while let Some(done) = results.next().await {
        let (start, r) = done.map_err(|e| Error::internal(format!("audit task: {e}")))??;
        log_found.extend(take_claims(&mut claims, walk).await?);
        log_found.extend(walk.fold(archives, info, start, &r.leaves, r.subtrees.as_ref()));
        tally.examined += r.tally.examined;
        tally.checked += r.tally.checked;
        tally.disposed += r.tally.disposed;
        tally.objects += r.tally.objects;
        tally.bytes += r.tally.bytes;
        found.extend(r.findings);
    }
    // A range without chunks still counts its claims.
    log_found.extend(take_claims(&mut claims, walk).await?);
    log_found.extend(walk.check_spanning(info, archives.store()));
    tracing::debug!(archive = %info.archive, from, end, elapsed = ?started.elapsed(), "audit range checked");
    found.extend(log_found);
    Ok((tally, found))
}

/// Hands the signed roots loaded beside the first chunks to the walk, the first time only.
async fn take_claims(
    claims: &mut Option<tokio::task::JoinHandle<Result<log::Claims, Error>>>,
    walk: &mut LogWalk,
) -> Result<Vec<Finding>, Error> {
    let Some(c) = claims.take() else {
        return Ok(Vec::new());
    };
    let loaded = c
        .await
        .map_err(|e| Error::internal(format!("audit task: {e}")))??;
    Ok(walk.add_claims(loaded))
}

/// Seals the finished audit as an `audit` package of the archive's log; its seq.
async fn record(archives: &Archives, info: &ArchiveInfo, run: &AuditRun) -> Result<u64, Error> {
    let summary = serde_json::json!({
        "audit": run.id,
        "archive": run.archive,
        "started_by": run.started_by,
        "started_ms": run.started_ms,
        "finished_ms": run.finished_ms,
        "log_size": run.size,
        "sample_percent": run.sample_percent,
        "packages": run.packages,
        "log": run.log,
        "findings": run.findings_total(),
        "findings_by_check": run.counts,
    });
    let bytes = serde_json::to_vec(&summary)
        .map_err(|e| Error::internal(format!("encoding the audit summary: {e}")))?;
    let sealed = archives
        .submit(
            info,
            vec![Submission {
                kind: Kind::Audit,
                record_key: None,
                metadata: BTreeMap::new(),
                objects: vec![
                    NewObject::new("audit.json", "application/json", &bytes)
                        .map_err(StoreError::Io)?,
                ],
                retention: Retention::Forever,
                agreement_version: None,
                index: Vec::new(),
            }],
        )
        .await?;
    sealed
        .first()
        .map(|s| s.seq)
        .ok_or_else(|| Error::internal("the audit entry was not sealed"))
}
