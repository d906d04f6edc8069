//! The mover: takes packages older than the hot period from the hot store to the cold store,
//! one *move* (a range of seqs of one archive) at a time, through the persisted stages of
//! [`Stage`]. Every stage is idempotent, so a crash at any point resumes where the stored
//! stage says: segment keys are fixed at planning and written with put-if-absent, and the
//! hot copy goes only after every package was read back from the cold store and re-hashed.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use zegel_format::hash::Hash;
use zegel_format::header::PackageHeader;
use zegel_format::layout::{self, LayoutVersion, RetentionMonth};
use zegel_format::merkle::NodeSource;
use zegel_format::segment::{self, SegmentPackage};

use crate::archive::archives::{ArchiveInfo, Archives};
use crate::archive::disposed;
use crate::archive::sequencer::{Eviction, ExtraPuts};
use crate::archive::state::ArchiveState;
use crate::clock::Clock;
use crate::cold::{ColdError, ColdStore};
use crate::error::Error;
use crate::limits::{BLOCK_KIB_MAX, HOT_DAYS_MAX, MOVE_BYTES_MAX, MOVE_PACKAGES_MAX};
use crate::store::{self, ArchiveId, Store, StoreError, cf};
use crate::tier::state::{
    Location, Move, PlannedSegment, SegmentRecord, Stage, TierState, segment_record_key,
};

/// Milliseconds in a day.
const DAY_MS: u64 = 86_400_000;

/// Tiering settings (the `[tier]` table of the configuration).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TierConfig {
    /// Days a package stays hot before it moves to the cold tier. Default 183.
    pub hot_days: u64,
    /// Seconds between background passes; 0 turns background tiering off (`zegel tier run`
    /// still works). Default 60.
    pub interval_secs: u64,
    /// Most packages per move; each move writes one segment per retention month. Default 10 000.
    pub move_packages: usize,
    /// Most raw bytes per move. Default 64 MiB.
    pub move_bytes: u64,
    /// Moves per archive in one background pass: the pace. Default 1.
    pub moves_per_pass: usize,
    /// zstd level of segment blocks. Default 19: tiering is background work, and cold bytes
    /// are kept for decades (docs/BENCHMARKS.md has the trade-off).
    pub zstd_level: i32,
    /// A segment block is closed once it holds this many KiB of packages. Default 128.
    pub block_kib: usize,
}

impl Default for TierConfig {
    fn default() -> TierConfig {
        TierConfig {
            hot_days: 183,
            interval_secs: 60,
            move_packages: 10_000,
            move_bytes: 64 << 20,
            moves_per_pass: 1,
            zstd_level: 19,
            block_kib: 128,
        }
    }
}

impl TierConfig {
    pub fn check(&self) -> Result<(), String> {
        if self.hot_days > HOT_DAYS_MAX {
            return Err(format!("tier.hot_days must be at most {HOT_DAYS_MAX}"));
        }
        if !(1..=MOVE_PACKAGES_MAX).contains(&self.move_packages) {
            return Err(format!(
                "tier.move_packages must be between 1 and {MOVE_PACKAGES_MAX}"
            ));
        }
        if !(1..=MOVE_BYTES_MAX).contains(&self.move_bytes) {
            return Err(format!(
                "tier.move_bytes must be between 1 and {MOVE_BYTES_MAX}"
            ));
        }
        if self.moves_per_pass == 0 {
            return Err("tier.moves_per_pass must be at least 1".into());
        }
        if !(1..=19).contains(&self.zstd_level) {
            return Err("tier.zstd_level must be between 1 and 19".into());
        }
        if !(4..=BLOCK_KIB_MAX).contains(&self.block_kib) {
            return Err(format!(
                "tier.block_kib must be between 4 and {BLOCK_KIB_MAX}"
            ));
        }
        Ok(())
    }
}

impl From<TierError> for Error {
    fn from(e: TierError) -> Error {
        match e {
            TierError::Cold(c) => c.into(),
            TierError::Store(s) => s.into(),
            TierError::Archive(a) => a,
            e @ TierError::Verify { .. } => Error::Corrupt {
                check: "segment.verify",
                detail: e.to_string(),
                found: None,
            },
            TierError::Other(m) => Error::internal(m),
        }
    }
}

/// What an eviction commits besides removing the hot copies: the segment records, every
/// moved package's location and the next tier state; with the cold bytes of the move.
fn eviction(
    st: &TierState,
    mv: &Move,
    verified: &[Verified],
    id: ArchiveId,
) -> Result<(ExtraPuts, TierState, u64), TierError> {
    let mut next = st.clone();
    next.pending = None;
    next.cold_upto = mv.end;
    let mut puts = Vec::new();
    let mut cold_bytes = 0;
    for (i, (seg, v)) in mv.segments.iter().zip(verified).enumerate() {
        let n = st.segments + i as u64;
        puts.extend(segment_puts(id, n, seg, (mv.first, mv.end), v)?);
        cold_bytes += v.bytes;
        next.cold_raw_bytes += v.raw_bytes;
    }
    next.cold_bytes += cold_bytes;
    next.segments += mv.segments.len() as u64;
    next.cold_packages =
        Some(st.cold_packages() + mv.segments.iter().map(|s| s.seqs.len() as u64).sum::<u64>());
    puts.push(next.put(id)?);
    Ok((puts, next, cold_bytes))
}

/// Why a move stopped. The hot copy is intact in every case.
#[derive(Debug, thiserror::Error)]
pub enum TierError {
    #[error("{0}")]
    Cold(#[from] ColdError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Archive(#[from] Error),
    #[error("segment {key} failed verification: {reason}")]
    Verify { key: String, reason: String },
    #[error("{0}")]
    Other(String),
}

/// One finished move.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MoveReport {
    pub tenant: String,
    pub archive: String,
    pub first: u64,
    pub end: u64,
    pub segments: u64,
    /// Raw bytes moved (header bytes plus uncompressed objects).
    pub raw_bytes: u64,
    /// Bytes of the segment objects written.
    pub cold_bytes: u64,
    /// Hot bytes freed.
    pub hot_bytes_freed: u64,
}

/// What a pass did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PassReport {
    pub moves: Vec<MoveReport>,
    /// Archives whose move failed, with the reason; their hot copies are intact.
    pub errors: Vec<TierFailure>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TierFailure {
    pub tenant: String,
    pub archive: String,
    pub error: String,
    pub at_ms: u64,
}

/// Tiering of one archive, for `tier status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchiveTier {
    pub tenant: String,
    pub archive: String,
    /// Packages in the log.
    pub packages: u64,
    /// Raw bytes of every package (header bytes plus uncompressed objects).
    pub raw_bytes: u64,
    /// Packages with a hot copy (in flight ones included).
    pub hot_packages: u64,
    /// Bytes in the hot tier (header bytes plus compressed objects).
    pub hot_bytes: u64,
    pub cold_packages: u64,
    /// Packages disposed of (retention or erasure): neither hot nor cold.
    pub disposed_packages: u64,
    /// Bytes of cold segment objects.
    pub cold_bytes: u64,
    /// Raw bytes of the cold packages.
    pub cold_raw_bytes: u64,
    pub segments: u64,
    /// Packages of the move in progress (still hot until it finishes).
    pub in_flight_packages: u64,
    pub in_flight_raw_bytes: u64,
    /// Stage of the move in progress: planned, written or verified.
    pub stage: Option<String>,
    /// The last failure since the last successful move.
    pub last_error: Option<TierFailure>,
}

/// The tiering engine of a node.
#[derive(Debug)]
pub struct Tierer {
    archives: Arc<Archives>,
    cold: ColdStore,
    cfg: TierConfig,
    clock: Arc<dyn Clock>,
    /// One pass at a time: a pass owns every archive's tier state while it runs.
    pass: tokio::sync::Mutex<()>,
    failures: Mutex<HashMap<ArchiveId, TierFailure>>,
    /// Set at shutdown: passes stop at the next move boundary.
    stopping: std::sync::atomic::AtomicBool,
    /// Whether this process has swept the cold store's staging leftovers (first pass).
    swept: std::sync::atomic::AtomicBool,
}

fn guard<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, TierError> + Send + 'static,
) -> Result<T, TierError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| TierError::Other(format!("tiering task: {e}")))?
}

impl Tierer {
    pub fn new(
        archives: Arc<Archives>,
        cold: ColdStore,
        cfg: TierConfig,
        clock: Arc<dyn Clock>,
    ) -> Tierer {
        Tierer {
            archives,
            cold,
            cfg,
            clock,
            pass: tokio::sync::Mutex::new(()),
            failures: Mutex::new(HashMap::new()),
            stopping: std::sync::atomic::AtomicBool::new(false),
            swept: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub fn config(&self) -> &TierConfig {
        &self.cfg
    }

    /// Waits for the running pass and keeps every other out while the guard lives: a
    /// disposal changes segments and tier states that a move must not see half-done.
    pub async fn exclusive(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.pass.lock().await
    }

    pub fn cold(&self) -> &ColdStore {
        &self.cold
    }

    /// The node's clock (a parameter, so tests move time).
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Asks running passes to stop after their current move (shutdown).
    pub fn stop(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Runs the background passes until the task is dropped. Every state is persisted, so
    /// stopping at any await point is safe.
    pub async fn run_background(self: Arc<Self>) {
        if self.cfg.interval_secs == 0 {
            return;
        }
        let period = std::time::Duration::from_secs(self.cfg.interval_secs);
        loop {
            tokio::time::sleep(period).await;
            self.pass(Some(self.cfg.moves_per_pass)).await;
        }
    }

    /// One pass over every archive: at most `moves` moves each (`None`: until nothing is due).
    pub async fn pass(&self, moves: Option<usize>) -> PassReport {
        let _one = self.pass.lock().await;
        let mut report = PassReport::default();
        // Off the start-up path, and under the pass lock, so no put of ours is under way.
        if !self.swept.load(std::sync::atomic::Ordering::SeqCst) {
            match self.cold.remove_staging().await {
                Ok(()) => self.swept.store(true, std::sync::atomic::Ordering::SeqCst),
                Err(e) => tracing::warn!(error = %e, "sweeping cold staging files failed"),
            }
        }
        let infos = match self.archives.all() {
            Ok(i) => i,
            Err(e) => {
                report.errors.push(TierFailure {
                    tenant: String::new(),
                    archive: String::new(),
                    error: e.to_string(),
                    at_ms: self.clock.now_ms(),
                });
                return report;
            }
        };
        for info in infos {
            let mut done = 0;
            while moves.is_none_or(|m| done < m) && !self.stopping() {
                match self.advance(&info).await {
                    Ok(Some(m)) => {
                        guard(&self.failures).remove(&info.id);
                        report.moves.push(m);
                        done += 1;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        metrics::counter!("zegel_tier_failures_total").increment(1);
                        tracing::warn!(tenant = %info.tenant, archive = %info.archive, error = %e, "tiering failed; the hot copy is kept");
                        let f = TierFailure {
                            tenant: info.tenant.clone(),
                            archive: info.archive.clone(),
                            error: e.to_string(),
                            at_ms: self.clock.now_ms(),
                        };
                        guard(&self.failures).insert(info.id, f.clone());
                        report.errors.push(f);
                        break;
                    }
                }
            }
        }
        report
    }

    /// Tiering counts of every archive (of `tenant`, if given) that `visible` admits.
    pub fn status(
        &self,
        tenant: Option<&str>,
        visible: impl Fn(&str) -> bool,
    ) -> Result<Vec<ArchiveTier>, Error> {
        let hot = self.archives.store();
        let mut out = Vec::new();
        for info in self.archives.all()? {
            if tenant.is_some_and(|t| t != info.tenant) || !visible(&info.archive) {
                continue;
            }
            let last_error = guard(&self.failures).get(&info.id).cloned();
            out.push(ArchiveTier {
                last_error,
                ..archive_tier(hot, info)?
            });
        }
        Ok(out)
    }

    /// Takes the archive's pending move (or plans the next) through its remaining stages.
    async fn advance(&self, info: &ArchiveInfo) -> Result<Option<MoveReport>, TierError> {
        let hot = self.archives.clone();
        let id = info.id;
        let mut st = TierState::load(hot.store(), id)?;
        // The bucket must cover every cold package with a checkpoint and tiles before the
        // next move: a copy that failed (or a crash) after an eviction is redone here.
        if st.tiles_size < st.cold_upto || (st.cold_upto > 0 && !tiles_current(&st)) {
            self.copy_merkle_data(info, st.clone()).await?;
            st = TierState::load(hot.store(), id)?;
        }
        let mut mv = match st.pending.clone() {
            Some(m) => m,
            None => {
                let (cfg, now, i) = (self.cfg.clone(), self.clock.now_ms(), info.clone());
                let h = hot.clone();
                let cold_upto = st.cold_upto;
                let Some(m) = blocking(move || plan(h.store(), &i, cold_upto, &cfg, now)).await?
                else {
                    return Ok(None);
                };
                st.pending = Some(m.clone());
                st.save(hot.store(), id)?;
                m
            }
        };
        if mv.stage == Stage::Planned {
            self.write(info, &mv).await?;
            mv.stage = Stage::Written;
            st.pending = Some(mv.clone());
            st.save(hot.store(), id)?;
        }
        let verified = self.verified(info, &mut mv, &mut st).await?;
        let (puts, next, cold_bytes) = eviction(&st, &mv, &verified, id)?;
        let freed = self
            .archives
            .evict(
                info,
                Eviction {
                    first: mv.first,
                    end: mv.end,
                    puts,
                },
            )
            .await?;
        metrics::counter!("zegel_tier_moved_packages_total").increment(mv.end - mv.first);
        metrics::counter!("zegel_tier_moved_raw_bytes_total").increment(mv.raw_bytes);
        tracing::info!(tenant = %info.tenant, archive = %info.archive, first = mv.first, end = mv.end, cold_bytes, "moved to the cold tier");
        // The bucket alone must be auditable: the newest checkpoint and the tiles under it.
        // The move is done either way; a failed copy is redone before the next move.
        if let Err(e) = self.copy_merkle_data(info, next).await {
            metrics::counter!("zegel_tier_failures_total").increment(1);
            tracing::warn!(tenant = %info.tenant, archive = %info.archive, error = %e, "copying the checkpoint and tiles failed; retried before the next move");
        }
        Ok(Some(MoveReport {
            tenant: info.tenant.clone(),
            archive: info.archive.clone(),
            first: mv.first,
            end: mv.end,
            segments: mv.segments.len() as u64,
            raw_bytes: mv.raw_bytes,
            cold_bytes,
            hot_bytes_freed: freed,
        }))
    }

    /// The move's segments verified by reading them back; a missing or failing segment puts
    /// the move back to `planned` (removing what sits at its keys) and is the error.
    async fn verified(
        &self,
        info: &ArchiveInfo,
        mv: &mut Move,
        st: &mut TierState,
    ) -> Result<Vec<Verified>, TierError> {
        let (hot, id) = (self.archives.store(), info.id);
        let verified = match self.verify(info, mv).await {
            Ok(v) => v,
            Err(e @ TierError::Cold(ColdError::NotFound(_))) => {
                // The object vanished (e.g. a bucket was recreated): write it again.
                mv.stage = Stage::Planned;
                st.pending = Some(mv.clone());
                st.save(hot, id)?;
                return Err(e);
            }
            Err(e @ TierError::Verify { .. }) => {
                // Whatever sits at a pending key (a torn write after power loss, foreign
                // bytes) is not referenced by any committed location: remove it and write
                // the move again on the next attempt. The hot copy is untouched.
                for seg in &mv.segments {
                    self.cold.delete(&seg.key).await?;
                }
                mv.stage = Stage::Planned;
                st.pending = Some(mv.clone());
                st.save(hot, id)?;
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        if mv.stage != Stage::Verified {
            mv.stage = Stage::Verified;
            st.pending = Some(mv.clone());
            st.save(hot, id)?;
        }
        Ok(verified)
    }

    /// Encodes and writes each planned segment (put-if-absent).
    /// Segments are encoded on as many cores as there are, one segment per core.
    async fn write(&self, info: &ArchiveInfo, mv: &Move) -> Result<(), TierError> {
        use futures::TryStreamExt;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        futures::stream::iter(mv.segments.iter().map(Ok))
            .try_for_each_concurrent(cores, |seg| async move {
                let (a, i, seqs, level, block) = (
                    self.archives.clone(),
                    info.clone(),
                    seg.seqs.clone(),
                    self.cfg.zstd_level,
                    self.cfg.block_kib << 10,
                );
                let bytes = blocking(move || encode(&a, &i, &seqs, level, block)).await?;
                match self.cold.put_new(&seg.key, Bytes::from(bytes)).await {
                    // Another writer's bytes (e.g. a different zstd build before a crash):
                    // the verification decides whether they hold exactly these packages.
                    Ok(_) | Err(ColdError::Conflict(_)) => Ok(()),
                    Err(e) => Err(TierError::from(e)),
                }
            })
            .await
    }

    /// Reads every segment back and checks it holds exactly the planned packages, each
    /// hashing to its leaf. Returns where each package is.
    async fn verify(&self, info: &ArchiveInfo, mv: &Move) -> Result<Vec<Verified>, TierError> {
        let mut out = Vec::new();
        for seg in &mv.segments {
            let bytes = self.cold.get(&seg.key).await?;
            let (a, i, s) = (self.archives.clone(), info.clone(), seg.clone());
            out.push(blocking(move || check_segment(a.store(), &i, &s, &bytes)).await?);
        }
        Ok(out)
    }

    /// Copies the newest checkpoint and every tile under it that the bucket lacks.
    async fn copy_merkle_data(
        &self,
        info: &ArchiveInfo,
        mut st: TierState,
    ) -> Result<(), TierError> {
        // The copy must cover every cold package: a checkpoint older than the move is
        // replaced by one signed now (formats/cold-layout.md §6).
        if self
            .archives
            .latest_checkpoint(info.id)?
            .is_none_or(|(n, _)| n < st.cold_upto)
        {
            self.archives.checkpoint_now(info).await?;
        }
        let Some((size, note)) = self.archives.latest_checkpoint(info.id)? else {
            return Ok(());
        };
        // Tiles written under an older layout do not count: the full set is written anew.
        if !tiles_current(&st) {
            st.tiles_size = 0;
        }
        if size <= st.tiles_size {
            return Ok(());
        }
        for (level, index, width) in layout::tiles_added(st.tiles_size, size) {
            let nodes = self.archives.store().nodes(info.id);
            let hashes: Vec<Hash> = (0..width)
                .map(|j| {
                    let (l, n) = layout::tile_entry_node(level, index, j);
                    nodes
                        .node(l, n)
                        .map_err(|e| TierError::Other(format!("tile ({level}, {index}): {e}")))
                })
                .collect::<Result<_, _>>()?;
            self.cold
                .put_new(
                    &layout::tile_key(&info.tenant, &info.archive, level, index, width),
                    Bytes::from(layout::encode_tile(&hashes)),
                )
                .await?;
        }
        self.cold
            .put_new(
                &layout::checkpoint_key(&info.tenant, &info.archive, size),
                Bytes::from(note.into_bytes()),
            )
            .await?;
        st.tiles_size = size;
        st.tiles_layout = LayoutVersion::CURRENT.number();
        st.save(self.archives.store(), info.id)?;
        Ok(())
    }
}

/// Whether the archive's tiles in the bucket are of the layout this server writes.
fn tiles_current(st: &TierState) -> bool {
    st.tiles_layout == LayoutVersion::CURRENT.number()
}

/// The tiering counts of one archive, from its committed archive and tier states (no last
/// error: only the tierer knows it).
pub fn archive_tier(hot: &Store, info: ArchiveInfo) -> Result<ArchiveTier, StoreError> {
    let a = ArchiveState::load(hot, info.id)?;
    let t = TierState::load(hot, info.id)?;
    Ok(ArchiveTier {
        packages: a.size,
        raw_bytes: a.raw_bytes,
        hot_packages: a
            .size
            .saturating_sub(t.cold_packages())
            .saturating_sub(a.disposed),
        hot_bytes: a.hot_bytes,
        cold_packages: t.cold_packages(),
        disposed_packages: a.disposed,
        cold_bytes: t.cold_bytes,
        cold_raw_bytes: t.cold_raw_bytes,
        segments: t.segments,
        in_flight_packages: t.pending.as_ref().map_or(0, |m| m.end - m.first),
        in_flight_raw_bytes: t.pending.as_ref().map_or(0, |m| m.raw_bytes),
        stage: t.pending.as_ref().map(|m| m.stage.as_str().to_string()),
        last_error: None,
        tenant: info.tenant,
        archive: info.archive,
    })
}

/// Chooses the next move: consecutive packages from `cold_upto` whose time is at least the
/// hot period in the past, up to the move's limits, split by retention month.
fn plan(
    hot: &Store,
    info: &ArchiveInfo,
    cold_upto: u64,
    cfg: &TierConfig,
    now_ms: u64,
) -> Result<Option<Move>, TierError> {
    let size = ArchiveState::load(hot, info.id)?.size;
    let cutoff = now_ms.saturating_sub(cfg.hot_days.saturating_mul(DAY_MS));
    let mut by_month: BTreeMap<RetentionMonth, Vec<u64>> = BTreeMap::new();
    let (mut seq, mut raw) = (cold_upto, 0u64);
    while seq < size && ((seq - cold_upto) as usize) < cfg.move_packages && raw < cfg.move_bytes {
        let Some(bytes) = hot.get(cf::HEADERS, &store::header_key(info.id, seq))? else {
            // Disposed of while hot: the move's range passes over it.
            if disposed::mark(hot, info.id, seq)?.is_some() {
                seq += 1;
                continue;
            }
            return Err(
                StoreError::Corrupt(format!("package {seq} is neither hot nor cold")).into(),
            );
        };
        let h = PackageHeader::decode(&bytes)
            .map_err(|e| StoreError::Corrupt(format!("header {seq}: {e}")))?;
        if h.time_ms > cutoff {
            break;
        }
        raw += bytes.len() as u64 + h.objects.iter().map(|o| o.size).sum::<u64>();
        by_month
            .entry(RetentionMonth::of(h.retain_until_ms))
            .or_default()
            .push(seq);
        seq += 1;
    }
    if seq == cold_upto {
        return Ok(None);
    }
    Ok(Some(Move {
        first: cold_upto,
        end: seq,
        stage: Stage::Planned,
        segments: by_month
            .into_iter()
            .map(|(month, seqs)| PlannedSegment {
                key: layout::segment_key(&info.tenant, &info.archive, month, cold_upto, seq),
                month: month.to_string(),
                seqs,
            })
            .collect(),
        raw_bytes: raw,
        planned_ms: now_ms,
    }))
}

/// The segment bytes of `seqs`, from their hot copies.
fn encode(
    a: &Archives,
    info: &ArchiveInfo,
    seqs: &[u64],
    level: i32,
    block_target: usize,
) -> Result<Vec<u8>, TierError> {
    let hot = a.store();
    let mut headers = Vec::with_capacity(seqs.len());
    let mut objects = Vec::with_capacity(seqs.len());
    for &seq in seqs {
        let bytes = hot
            .get(cf::HEADERS, &store::header_key(info.id, seq))?
            .ok_or_else(|| StoreError::Corrupt(format!("package {seq} has no hot copy")))?;
        let h = PackageHeader::decode(&bytes)
            .map_err(|e| StoreError::Corrupt(format!("header {seq}: {e}")))?;
        let mut objs = Vec::with_capacity(h.objects.len());
        for o in &h.objects {
            objs.push(
                a.hot_object(info.id, &o.digest)?
                    .ok_or_else(|| StoreError::Corrupt(format!("object {} of {seq}", o.digest)))?,
            );
        }
        headers.push(bytes);
        objects.push(objs);
    }
    let packages: Vec<SegmentPackage<'_>> = headers
        .iter()
        .zip(&objects)
        .map(|(h, o)| SegmentPackage {
            header_bytes: h,
            objects: o.iter().map(Vec::as_slice).collect(),
        })
        .collect();
    segment::encode_segment_with(&info.tenant, &info.archive, &packages, level, block_target)
        .map_err(|e| TierError::Other(format!("encode segment: {e}")))
}

/// A verified segment: its size and where each of its packages is.
#[derive(Debug)]
pub(crate) struct Verified {
    pub bytes: u64,
    pub raw_bytes: u64,
    pub locations: Vec<(u64, Location)>,
}

/// The puts that record `seg`, verified as `v`, as segment `n` of archive `id` (covering the
/// move range `range`), and point each of its packages at it.
pub(crate) fn segment_puts(
    id: ArchiveId,
    n: u64,
    seg: &PlannedSegment,
    range: (u64, u64),
    v: &Verified,
) -> Result<ExtraPuts, StoreError> {
    let rec = SegmentRecord {
        key: seg.key.clone(),
        month: seg.month.clone(),
        first: range.0,
        end: range.1,
        packages: seg.seqs.len() as u64,
        bytes: v.bytes,
        raw_bytes: v.raw_bytes,
        removed_by: None,
        replaced_by: None,
    };
    let mut puts = vec![(
        cf::META,
        segment_record_key(id, n),
        store::json_value(&rec)?,
    )];
    for (seq, mut loc) in v.locations.iter().copied() {
        loc.segment = n;
        puts.push((cf::COLD, store::header_key(id, seq).to_vec(), loc.encode()));
    }
    Ok(puts)
}

/// Checks that `bytes` is a segment of `info` holding exactly `seg.seqs`, each restoring to
/// its Merkle leaf; where each package is (with segment number 0, for the caller to set).
/// The packages of the segment `bytes` (with its `index`) that `keep` admits, in index
/// order, each restored (its `prev` from the leaf before it) and checked against its Merkle
/// leaf. Segment faults become `fail(reason)`.
pub(crate) fn restore_packages<'i>(
    hot: &Store,
    id: ArchiveId,
    bytes: &[u8],
    index: &'i segment::SegmentIndex,
    keep: impl Fn(u64) -> bool,
    fail: impl Fn(String) -> TierError,
) -> Result<Vec<(&'i segment::PackageRef, segment::ColdPackage)>, TierError> {
    let nodes = hot.nodes(id);
    let leaf = |seq: u64| {
        nodes
            .node(0, seq)
            .map_err(|e| TierError::Other(format!("leaf {seq}: {e}")))
    };
    let mut out = Vec::new();
    let mut block: Option<(u64, Vec<u8>)> = None;
    for p in index.packages.iter().filter(|p| keep(p.seq)) {
        if block.as_ref().is_none_or(|(n, _)| *n != p.block) {
            let raw = segment::read_block(bytes, index, p.block as usize)
                .map_err(|e| fail(e.to_string()))?;
            block = Some((p.block, raw));
        }
        let Some((_, raw)) = &block else {
            return Err(fail("no block".into()));
        };
        let prev = match p.seq {
            0 => None,
            s => Some(leaf(s - 1)?),
        };
        let pkg =
            segment::read_package(raw, p, prev, &leaf(p.seq)?).map_err(|e| fail(e.to_string()))?;
        // Found through the index: the entry must name the header's record key too.
        segment::check_entry(p, pkg.header.seq, pkg.header.record_key.as_deref())
            .map_err(|e| fail(e.to_string()))?;
        out.push((p, pkg));
    }
    Ok(out)
}

pub(crate) fn check_segment(
    hot: &Store,
    info: &ArchiveInfo,
    seg: &PlannedSegment,
    bytes: &[u8],
) -> Result<Verified, TierError> {
    let fail = |reason: String| TierError::Verify {
        key: seg.key.clone(),
        reason,
    };
    let index = segment::open_segment(bytes).map_err(|e| fail(e.to_string()))?;
    if index.tenant != info.tenant || index.archive != info.archive {
        return Err(fail(format!(
            "it belongs to {}/{}",
            index.tenant, index.archive
        )));
    }
    let seqs: Vec<u64> = index.packages.iter().map(|p| p.seq).collect();
    if seqs != seg.seqs {
        return Err(fail("it does not hold exactly the planned packages".into()));
    }
    let mut raw_bytes = 0;
    let mut locations = Vec::with_capacity(index.packages.len());
    for (p, pkg) in restore_packages(hot, info.id, bytes, &index, |_| true, fail)? {
        raw_bytes +=
            pkg.header_bytes.len() as u64 + pkg.objects.iter().map(|o| o.len() as u64).sum::<u64>();
        let b = index
            .blocks
            .get(p.block as usize)
            .ok_or_else(|| fail("block out of range".into()))?;
        locations.push((
            p.seq,
            Location {
                segment: 0,
                block_offset: b.offset,
                block_length: b.length,
                raw_length: b.raw_length,
                offset: p.offset,
                length: p.length,
            },
        ));
    }
    Ok(Verified {
        bytes: bytes.len() as u64,
        raw_bytes,
        locations,
    })
}
