//! Disposals: seal a disposition package and, in the same synced batch, delete the content
//! of the packages it disposes of, under a [`HoldGate`] that re-checks the legal holds.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use zegel_format::disposition::{DISPOSITION_MEDIA_TYPE, DISPOSITION_OBJECT_NAME, Disposition};
use zegel_format::hash::Hash;
use zegel_format::header::Kind;
use zegel_format::merkle::NodeSource;
use zegel_format::receipt::SignedHead;

use crate::archive::disposed::{self, DisposedMark, DispositionSummary};
use crate::archive::state::encode_signed_head;
use crate::store::{self, Batch, StoreError, cf};

use super::hot::{Leaving, corrupt, store_err};
use super::integrate::{Draft, Pending};
use super::receipt::{Overlay, PeakNodes};
use super::{
    ExtraPuts, NewObject, RECORD_VERSIONS_SCAN_MAX, Retention, Sealed, Sequencer, SequencerError,
    Submission,
};

/// One package a disposal removes: its seq, whether its content is hot (else cold: only its
/// location is dropped here, the segment is handled by the caller), and what of it is indexed.
#[derive(Debug, Clone)]
pub struct DisposedPackage {
    pub seq: u64,
    pub hot: bool,
    pub record_key: Option<String>,
    /// Index entries (field, canonical value) the package may have.
    pub index: Vec<(String, String)>,
    /// Raw bytes (header plus uncompressed objects).
    pub raw_bytes: u64,
    /// The retention end its header names.
    pub retain_until_ms: Option<u64>,
}

/// Puts that name the disposition package's seq, made once it is known.
pub type AfterSeal = Box<dyn FnOnce(u64) -> ExtraPuts + Send>;

/// A disposition: seal `record` as a disposition package and, in the same synced batch,
/// delete the content of its packages (hot headers and objects no other hot package
/// references, cold locations, record-key and index entries), mark them disposed, and apply
/// the caller's puts (cold segment changes, tier state). Runs on the sequencer
/// thread: only the archive's one writer knows that nothing being sealed shares an object.
pub struct Disposal {
    pub record: Disposition,
    /// In the record's order.
    pub packages: Vec<DisposedPackage>,
    pub summary: DispositionSummary,
    pub puts: ExtraPuts,
    pub after: Option<AfterSeal>,
    pub gate: Option<HoldGate>,
}

/// Re-checks, on the sequencer thread and under `lock` until the batch is committed, that
/// nothing forbids the disposal (legal holds): whoever places a hold takes the same lock, so
/// a hold is either seen here or placed after the packages are gone.
pub struct HoldGate {
    pub lock: Arc<Mutex<()>>,
    pub check: Box<dyn FnOnce() -> Result<(), String> + Send>,
}

impl std::fmt::Debug for HoldGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HoldGate")
    }
}

impl std::fmt::Debug for Disposal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Disposal({} packages)", self.packages.len())
    }
}

impl Sequencer {
    /// Seals the disposition package and removes what it disposes of, in one synced batch.
    pub(super) fn dispose(&mut self, mut d: Disposal) -> Result<Sealed, SequencerError> {
        // Reads below must see every sealed group; no group in flight may reference an
        // object this batch deletes.
        self.settled()?;
        let disposed_seqs = self.check_disposal(&d)?;
        // Held until the batch is committed (or refused).
        let gate = d.gate.take();
        let lock = gate.as_ref().map(|g| g.lock.clone());
        let _held = lock
            .as_ref()
            .map(|l| l.lock().unwrap_or_else(PoisonError::into_inner));
        if let Some(g) = gate {
            (g.check)().map_err(SequencerError::Held)?;
        }
        let saved = self.snapshot();
        let peaks_before = PeakNodes::of(&self.frontier);
        let mut draft = Draft::default();
        let (pending, head) = match self.commit_disposal(d, &disposed_seqs, &mut draft) {
            Ok(sealed) => sealed,
            Err(e) => {
                self.restore(saved);
                return Err(e);
            }
        };
        let nodes = Overlay {
            new: &draft.nodes,
            peaks: &peaks_before,
        };
        self.receipt_for(pending, Some(&head), &nodes)
    }

    /// The disposed seqs, once each, when every package is in the log, not disposed of yet,
    /// and has the leaf the record names.
    fn check_disposal(&self, d: &Disposal) -> Result<HashSet<u64>, SequencerError> {
        let invalid = SequencerError::Invalid;
        let disposed_seqs: HashSet<u64> = d.packages.iter().map(|p| p.seq).collect();
        if d.packages.len() != d.record.packages.len() || disposed_seqs.len() != d.packages.len() {
            return Err(invalid(
                "the disposition does not list its packages once each".into(),
            ));
        }
        for (p, r) in d.packages.iter().zip(&d.record.packages) {
            if p.seq != r.seq || p.seq >= self.state.size {
                return Err(invalid(format!("cannot dispose of package {}", p.seq)));
            }
            if disposed::mark(&self.store, self.id, p.seq)
                .map_err(store_err)?
                .is_some()
            {
                return Err(invalid(format!("package {} is already disposed of", p.seq)));
            }
            let leaf = self
                .store
                .nodes(self.id)
                .node(0, p.seq)
                .map_err(|e| SequencerError::Store(e.to_string()))?;
            if leaf != r.leaf {
                return Err(invalid(format!("the leaf of package {} differs", p.seq)));
            }
        }
        Ok(disposed_seqs)
    }

    /// Seals the disposition package into `draft`, adds the removal of what it disposes of,
    /// the marks, the summary and the caller's puts, and commits the batch (synced). On an
    /// error the caller restores the sequenced state.
    fn commit_disposal(
        &mut self,
        d: Disposal,
        disposed_seqs: &HashSet<u64>,
        draft: &mut Draft,
    ) -> Result<(Pending, SignedHead), SequencerError> {
        let sub = disposition_submission(&d.record)?;
        let own_object = sub.objects.first().map(|o| o.digest);
        let pending = self.integrate(&sub, draft)?;
        let head = self.sign_head()?;
        let batch = &mut draft.batch;
        let freed = self.remove_content(&d, disposed_seqs, own_object, batch)?;
        put_marks(&d, pending.seq, self.id, batch).map_err(store_err)?;
        for (name, k, v) in d.puts {
            batch.put(name, &k, &v);
        }
        if let Some(after) = d.after {
            for (name, k, v) in after(pending.seq) {
                batch.put(name, &k, &v);
            }
        }
        batch.put(
            cf::HEADS,
            &store::size_key(self.id, head.head.size),
            &encode_signed_head(&head),
        );
        let raw: u64 = d.packages.iter().map(|p| p.raw_bytes).sum();
        self.state.raw_bytes = self.state.raw_bytes.saturating_sub(raw);
        self.state.hot_bytes = self.state.hot_bytes.saturating_sub(freed);
        self.state.disposed += d.packages.len() as u64;
        self.state.put(batch, self.id).map_err(store_err)?;
        self.store
            .commit(std::mem::take(batch))
            .map_err(store_err)?;
        metrics::counter!("zegel_packages_sealed_total").increment(1);
        metrics::counter!("zegel_disposed_packages_total", "cause" => d.record.cause.name())
            .increment(d.packages.len() as u64);
        Ok((pending, head))
    }

    /// Adds to `batch` the deletion of every disposed package's content and lookups: hot
    /// header and the objects no other hot package references, cold location, record-key
    /// versions (the latest moves to the newest version left) and index entries. Returns
    /// the hot bytes freed.
    fn remove_content(
        &self,
        d: &Disposal,
        disposed_seqs: &HashSet<u64>,
        own_object: Option<Hash>,
        batch: &mut Batch,
    ) -> Result<u64, SequencerError> {
        let mut freed = 0u64;
        let mut unreferenced = Leaving::new();
        let mut keys: BTreeSet<&str> = BTreeSet::new();
        for p in &d.packages {
            if p.hot {
                freed += self
                    .drop_hot_package(p.seq, batch, &mut unreferenced)?
                    .ok_or_else(|| corrupt(format!("package {} is not hot", p.seq)))?;
            } else {
                let hk = store::header_key(self.id, p.seq);
                if self.store.get(cf::COLD, &hk).map_err(store_err)?.is_none() {
                    return Err(corrupt(format!("package {} is not cold", p.seq)));
                }
                batch.delete(cf::COLD, &hk);
            }
            for (field, value) in &p.index {
                batch.delete(cf::INDEX, &store::index_key(self.id, field, value, p.seq));
            }
            if let Some(k) = &p.record_key {
                keys.insert(k);
            }
        }
        // The disposition package's own object is being sealed in this very batch.
        if let Some(own) = own_object {
            unreferenced.remove(&own);
        }
        self.drop_unkept_objects(unreferenced, |s| disposed_seqs.contains(&s), batch)?;
        for key in keys {
            self.forget_versions(key, disposed_seqs, batch)?;
        }
        Ok(freed)
    }

    /// Adds to `batch` the deletion of the disposed versions of a record key; its latest
    /// entry moves to the newest version left (keeping the highest number the key ever had),
    /// or the key is forgotten when none is left.
    fn forget_versions(
        &self,
        key: &str,
        disposed_seqs: &HashSet<u64>,
        batch: &mut Batch,
    ) -> Result<(), SequencerError> {
        let prefix = store::record_prefix(self.id, key);
        let versions = self
            .store
            .scan_prefix(cf::RECORDS, &prefix, RECORD_VERSIONS_SCAN_MAX)
            .map_err(store_err)?;
        let mut newest_left: Option<(u64, u64, [u8; 32])> = None;
        for (k, v) in &versions {
            let (version, seq, fp) = store::decode_record_version(&prefix, k, v)
                .ok_or_else(|| corrupt(format!("a version of {key:?}")))?;
            if disposed_seqs.contains(&seq) {
                batch.delete(cf::RECORDS, k);
            } else {
                newest_left = Some((version, seq, fp));
            }
        }
        let highest = self
            .store
            .get(cf::LATEST, &prefix)
            .map_err(store_err)?
            .and_then(|v| store::latest_highest(&v))
            .unwrap_or(0);
        match newest_left {
            Some((version, seq, fp)) => batch.put(
                cf::LATEST,
                &prefix,
                &store::encode_latest_with_high(version, seq, &fp, highest),
            ),
            // Nothing of the key is left: the archive forgets it.
            None => batch.delete(cf::LATEST, &prefix),
        }
        Ok(())
    }
}

/// The disposition package: the record as its one object, kept forever.
fn disposition_submission(record: &Disposition) -> Result<Submission, SequencerError> {
    let object = NewObject::new(
        DISPOSITION_OBJECT_NAME,
        DISPOSITION_MEDIA_TYPE,
        &record.encode(),
    )
    .map_err(|e| SequencerError::Store(e.to_string()))?;
    Ok(Submission {
        kind: Kind::Disposition,
        record_key: None,
        metadata: Default::default(),
        objects: vec![object],
        retention: Retention::Forever,
        agreement_version: None,
        index: Vec::new(),
    })
}

/// Puts the disposed mark of every package and the disposition's summary, both naming the
/// disposition package's seq.
fn put_marks(
    d: &Disposal,
    disposition: u64,
    id: store::ArchiveId,
    batch: &mut Batch,
) -> Result<(), StoreError> {
    for p in &d.packages {
        let mark = DisposedMark {
            disposition,
            cause: d.record.cause.name().into(),
            at_ms: d.record.decided_ms,
            retain_until_ms: p.retain_until_ms,
        };
        batch.put_json(cf::META, &disposed::disposed_key(id, p.seq), &mark)?;
    }
    let mut summary = d.summary.clone();
    summary.seq = disposition;
    batch.put_json(
        cf::META,
        &disposed::disposition_key(id, disposition),
        &summary,
    )
}
