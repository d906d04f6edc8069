//! The sequencer: the one writer of an archive's log. It runs on its own thread, takes jobs
//! from a bounded queue, seals a whole group of them into ONE RocksDB batch with a synced WAL
//! (group commit), signs one receipt head for the group, and only then answers each job.
//! The batch is written by the archive's *committer* thread, so the next group is sealed
//! while the previous one is written and synced; the committer answers a group's jobs only
//! after its batch is durable, and groups reach the disk in the order they were sealed.
//!
//! Stages and their failures: *sequence* (assign seq, link prev, time) and *integrate* (tree
//! append, batch) happen in memory; if the durable *commit* fails, every job of that group
//! and of the groups sealed on top of it gets the error — nothing of them was acknowledged —
//! and the in-memory state is reloaded from the store. *Publish* (checkpoints) runs on the
//! same thread between groups, after every group in flight is confirmed.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::Duration;

use sha2::{Digest, Sha256};
use zegel_format::checkpoint::Checkpoint;
use zegel_format::hash::{Hash, leaf_hash, sha256};
use zegel_format::header::{AgreementRef, Kind, MetaValue, ObjectRef, PackageHeader};
use zegel_format::merkle::{self, Frontier, NodeSource, ProofError};
use zegel_format::note::SigningKey;
use zegel_format::receipt::{Receipt, ReceiptHead, SignedHead};

use zegel_format::disposition::{DISPOSITION_MEDIA_TYPE, DISPOSITION_OBJECT_NAME, Disposition};

use crate::archive::disposed::{self, DisposedMark, DispositionSummary};
use crate::archive::state::{ArchiveState, decode_signed_head, encode_signed_head};
use crate::clock::Clock;
use crate::store::{self, ArchiveId, Batch, Store, StoreError, cf};

/// Jobs waiting for one archive's sequencer; a full queue answers 503 (push back).
pub const SEQUENCER_QUEUE_JOBS_MAX: usize = 1024;
/// Packages sealed into one group commit (a single larger job still commits alone).
pub const GROUP_PACKAGES_MAX: usize = 4096;
/// References of one object an eviction or disposal reads to learn whether another hot
/// package still shares it; more than this many keep the object (a later pass frees it).
pub const OBJECT_REFS_SCAN_MAX: usize = 100_000;
/// Versions of one record key a disposition reads to repair the key's latest entry.
pub const RECORD_VERSIONS_SCAN_MAX: usize = 1_000_000;
/// zstd level of objects in the hot tier.
pub const HOT_ZSTD_LEVEL: i32 = 3;

/// One content object of a submission, hashed and compressed by the submitting task so the
/// sequencer thread only sequences and commits.
#[derive(Debug, Clone)]
pub struct NewObject {
    pub name: String,
    pub media_type: String,
    /// Uncompressed length in bytes.
    pub size: u64,
    pub digest: Hash,
    /// The bytes as the hot tier stores them (zstd at [`HOT_ZSTD_LEVEL`]).
    pub compressed: Vec<u8>,
}

thread_local! {
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

impl NewObject {
    /// Hashes and compresses `bytes` (on the caller's thread; one zstd context per thread).
    pub fn new(
        name: impl Into<String>,
        media_type: impl Into<String>,
        bytes: &[u8],
    ) -> std::io::Result<NewObject> {
        let compressed = COMPRESSOR.with(|c| {
            let mut c = c.borrow_mut();
            if c.is_none() {
                *c = Some(zstd::bulk::Compressor::new(HOT_ZSTD_LEVEL)?);
            }
            match c.as_mut() {
                Some(c) => c.compress(bytes),
                None => Err(std::io::Error::other("no zstd context")),
            }
        })?;
        Ok(NewObject {
            name: name.into(),
            media_type: media_type.into(),
            size: bytes.len() as u64,
            digest: sha256(bytes),
            compressed,
        })
    }
}

/// When a package's retention ends, resolved at integration time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    Until(u64),
    AfterIngestMs(u64),
    Forever,
}

/// A validated submission, ready to be sealed.
#[derive(Debug, Clone)]
pub struct Submission {
    pub kind: Kind,
    pub record_key: Option<String>,
    pub metadata: BTreeMap<String, MetaValue>,
    pub objects: Vec<NewObject>,
    pub retention: Retention,
    /// For agreements: the version number this package seals.
    pub agreement_version: Option<u64>,
    /// Index entries (field, canonical value) written with the package.
    pub index: Vec<(String, String)>,
}

/// The answer for one submission.
#[derive(Debug, Clone)]
pub struct Sealed {
    pub seq: u64,
    pub version: u64,
    pub leaf: Hash,
    pub receipt: Receipt,
    /// True when the same key with the same content was already archived: this is the
    /// original package and a receipt for it.
    pub duplicate: bool,
}

/// Why a job was not sealed. Nothing of it was stored.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SequencerError {
    #[error("the archive's queue is full; retry shortly")]
    Busy,
    #[error("the sequencer has stopped")]
    Stopped,
    #[error("invalid package: {0}")]
    Invalid(String),
    /// A legal hold forbids the disposal; nothing was disposed of.
    #[error("{0}")]
    Held(String),
    #[error("storage failed; nothing of this submission was stored: {0}")]
    Store(String),
}

type Reply = tokio::sync::oneshot::Sender<Result<Vec<Sealed>, SequencerError>>;

/// Extra puts committed with a job when, and only when, the job is sealed.
pub type ExtraPuts = Vec<(&'static str, Vec<u8>, Vec<u8>)>;

enum Job {
    Submit(Vec<Submission>, ExtraPuts, Reply),
    Checkpoint(tokio::sync::oneshot::Sender<Result<String, SequencerError>>),
    Evict(
        Eviction,
        tokio::sync::oneshot::Sender<Result<u64, SequencerError>>,
    ),
    Dispose(
        Box<Disposal>,
        tokio::sync::oneshot::Sender<Result<Sealed, SequencerError>>,
    ),
}

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
    pub lock: Arc<std::sync::Mutex<()>>,
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

/// A tiering move whose cold copies are written and verified: drop the hot copies of seqs
/// `[first, end)` and commit `puts` (cold locations, segment records, tier state) in the same
/// synced batch. Runs on the sequencer thread, because only the archive's one writer knows
/// that no package being sealed right now shares an object with the evicted ones.
#[derive(Debug)]
pub struct Eviction {
    pub first: u64,
    pub end: u64,
    pub puts: ExtraPuts,
}

/// The handle handlers hold; cheap to clone.
#[derive(Clone, Debug)]
pub struct SequencerHandle {
    tx: SyncSender<Job>,
    /// The sequencer thread, joined by [`SequencerHandle::join`] at shutdown.
    thread: Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Submit(s, _, _) => write!(f, "Submit({})", s.len()),
            Job::Checkpoint(_) => f.write_str("Checkpoint"),
            Job::Evict(e, _) => write!(f, "Evict({}..{})", e.first, e.end),
            Job::Dispose(d, _) => write!(f, "{d:?}"),
        }
    }
}

impl SequencerHandle {
    /// Seals all submissions atomically (one job is never split across commits) and waits
    /// until they are durable.
    pub async fn submit(&self, subs: Vec<Submission>) -> Result<Vec<Sealed>, SequencerError> {
        self.submit_with(subs, Vec::new()).await
    }

    /// As [`SequencerHandle::submit`], committing `extra` in the same batch.
    pub async fn submit_with(
        &self,
        subs: Vec<Submission>,
        extra: ExtraPuts,
    ) -> Result<Vec<Sealed>, SequencerError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Job::Submit(subs, extra, tx))?;
        rx.await.map_err(|_| SequencerError::Stopped)?
    }

    /// Stops the sequencer: drops this handle's sender and waits for the thread, which
    /// finishes the jobs already queued, publishes a last checkpoint and exits once every
    /// other handle is gone too. Blocking.
    pub fn join(self) {
        let thread = self.thread.clone();
        drop(self);
        let taken = thread
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(t) = taken {
            let _ = t.join();
        }
    }

    /// Signs and stores a checkpoint of the current tree now; returns the note.
    pub async fn checkpoint(&self) -> Result<String, SequencerError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Job::Checkpoint(tx))?;
        rx.await.map_err(|_| SequencerError::Stopped)?
    }

    /// Evicts the hot copies of a tiered range (see [`Eviction`]); returns the hot bytes freed.
    pub async fn evict(&self, e: Eviction) -> Result<u64, SequencerError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Job::Evict(e, tx))?;
        rx.await.map_err(|_| SequencerError::Stopped)?
    }

    /// Seals a disposition and deletes what it disposes of (see [`Disposal`]); returns the
    /// disposition package as sealed.
    pub async fn dispose(&self, d: Disposal) -> Result<Sealed, SequencerError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Job::Dispose(Box::new(d), tx))?;
        rx.await.map_err(|_| SequencerError::Stopped)?
    }

    /// Queues a job without waiting: a full queue is pushed back to the client as 503.
    fn send(&self, job: Job) -> Result<(), SequencerError> {
        self.tx.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => SequencerError::Busy,
            TrySendError::Disconnected(_) => SequencerError::Stopped,
        })
    }
}

/// Sealed groups handed to the committer and not yet confirmed (one being written, one
/// queued); the sequencer may seal one more before it waits.
pub const COMMITS_IN_FLIGHT_MAX: usize = 2;

/// Everything the sequencer thread owns.
struct Sequencer {
    store: Arc<Store>,
    key: SigningKey,
    clock: Arc<dyn Clock>,
    id: ArchiveId,
    origin: String,
    /// Sequenced state (size, last time, agreement), including groups the committer has not
    /// confirmed yet; guarded by being owned by this thread.
    state: ArchiveState,
    frontier: Frontier,
    prev: Option<Hash>,
    checkpoint_size: u64,
    /// The committer thread: it writes each group's batch (synced) and only then answers.
    commits: Option<SyncSender<CommitJob>>,
    done: Receiver<Done>,
    committer: Option<std::thread::JoinHandle<()>>,
    /// Groups sent to the committer and not confirmed yet.
    in_flight: usize,
    /// Record keys sealed in unconfirmed groups: a group that names one waits for them, so
    /// its version and duplicate checks read the store as committed.
    uncommitted: HashMap<String, u32>,
    /// The record keys of each unconfirmed group, oldest first: confirmations arrive in order.
    in_flight_keys: std::collections::VecDeque<Vec<String>>,
    /// A commit failed: the sequenced state is ahead of the store and must be reloaded.
    failed: bool,
    /// Bumped on every reload, so the committer fails the groups sealed on a failed one.
    epoch: u64,
}

/// A record key sealed earlier in the same group: seq, version, leaf, content fingerprint.
type InGroup = (u64, u64, Hash, [u8; 32]);

/// One sealed group for the committer.
struct CommitJob {
    epoch: u64,
    batch: Batch,
    sealed: u64,
    answers: Vec<(Reply, Result<Vec<Sealed>, SequencerError>)>,
}

/// The committer's word on a group.
enum Done {
    Committed,
    Failed,
}

/// Writes sealed groups in order; answers a group's jobs only once its batch is durable. After
/// a failure, every later group of the same epoch fails too: it was sealed on top.
fn committer(store: Arc<Store>, jobs: Receiver<CommitJob>, done: std::sync::mpsc::Sender<Done>) {
    let mut failed_epoch: Option<u64> = None;
    for job in jobs {
        let outcome = if failed_epoch == Some(job.epoch) {
            Err(SequencerError::Store(
                "an earlier group this one was sealed on failed to commit".into(),
            ))
        } else {
            let started = std::time::Instant::now();
            let r = store
                .commit(job.batch)
                .map_err(|e| SequencerError::Store(e.to_string()));
            metrics::histogram!("zegel_group_commit_seconds")
                .record(started.elapsed().as_secs_f64());
            r
        };
        match outcome {
            Ok(()) => {
                metrics::counter!("zegel_packages_sealed_total").increment(job.sealed);
                metrics::histogram!("zegel_group_commit_packages").record(job.sealed as f64);
                for (reply, answer) in job.answers {
                    let _ = reply.send(answer);
                }
                let _ = done.send(Done::Committed);
            }
            Err(e) => {
                if failed_epoch != Some(job.epoch) {
                    metrics::counter!("zegel_commit_failures_total").increment(1);
                }
                failed_epoch = Some(job.epoch);
                for (reply, answer) in job.answers {
                    // A job refused on its own merits keeps its reason.
                    let _ = reply.send(match answer {
                        Err(refused @ SequencerError::Invalid(_)) => Err(refused),
                        _ => Err(e.clone()),
                    });
                }
                let _ = done.send(Done::Failed);
            }
        }
    }
}

/// Starts the sequencer thread of one archive, resuming from the committed state.
pub fn start(
    store: Arc<Store>,
    key: SigningKey,
    clock: Arc<dyn Clock>,
    id: ArchiveId,
    origin: String,
    checkpoint_interval: Duration,
) -> Result<SequencerHandle, StoreError> {
    let state = ArchiveState::load(&store, id)?;
    start_new(store, key, clock, id, origin, checkpoint_interval, state)
}

/// Starts the sequencer of an archive that does not exist yet (its first commit creates it),
/// or, via [`start`], of one resuming from its committed state.
pub fn start_new(
    store: Arc<Store>,
    key: SigningKey,
    clock: Arc<dyn Clock>,
    id: ArchiveId,
    origin: String,
    checkpoint_interval: Duration,
    state: ArchiveState,
) -> Result<SequencerHandle, StoreError> {
    let frontier = Frontier::load(&store.nodes(id), state.size)
        .map_err(|e| StoreError::Corrupt(format!("archive {id}: {e}")))?;
    let prev = match state.size {
        0 => None,
        n => Some(
            store
                .nodes(id)
                .node(0, n - 1)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        ),
    };
    let checkpoint_size = store.last_of(cf::CHECKPOINTS, id)?.map_or(0, |(n, _)| n);
    let (tx, rx) = std::sync::mpsc::sync_channel(SEQUENCER_QUEUE_JOBS_MAX);
    let (commits, commit_rx) = std::sync::mpsc::sync_channel(COMMITS_IN_FLIGHT_MAX - 1);
    let (done_tx, done) = std::sync::mpsc::channel();
    let committer_store = store.clone();
    let committer = std::thread::Builder::new()
        .name(format!("committer-{id}"))
        .spawn(move || committer(committer_store, commit_rx, done_tx))?;
    let mut seq = Sequencer {
        store,
        key,
        clock,
        id,
        origin,
        state,
        frontier,
        prev,
        checkpoint_size,
        commits: Some(commits),
        done,
        committer: Some(committer),
        in_flight: 0,
        uncommitted: HashMap::new(),
        in_flight_keys: std::collections::VecDeque::new(),
        failed: false,
        epoch: 0,
    };
    let thread = std::thread::Builder::new()
        .name(format!("sequencer-{id}"))
        .spawn(move || seq.run(rx, checkpoint_interval))?;
    Ok(SequencerHandle {
        tx,
        thread: Arc::new(std::sync::Mutex::new(Some(thread))),
    })
}

impl Sequencer {
    fn run(&mut self, rx: Receiver<Job>, interval: Duration) {
        loop {
            let first = match rx.recv_timeout(interval) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.publish_checkpoint();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.publish_checkpoint();
                    // Every group is confirmed (the checkpoint drained them): stop the
                    // committer and wait for it.
                    self.commits = None;
                    if let Some(t) = self.committer.take() {
                        let _ = t.join();
                    }
                    return;
                }
            };
            let mut group = Vec::new();
            let mut packages = 0;
            let mut next = Some(first);
            while let Some(job) = next.take() {
                match job {
                    Job::Checkpoint(reply) => {
                        let _ = reply.send(self.publish_checkpoint());
                    }
                    Job::Evict(e, reply) => {
                        let _ = reply.send(self.evict(e));
                    }
                    Job::Dispose(d, reply) => {
                        let _ = reply.send(self.dispose(*d));
                    }
                    Job::Submit(subs, extra, reply) => {
                        packages += subs.len();
                        group.push((subs, extra, reply));
                    }
                }
                if packages < GROUP_PACKAGES_MAX {
                    next = rx.try_recv().ok();
                }
            }
            if !group.is_empty() {
                self.commit_group(group);
            }
        }
    }

    /// Deletes the hot copies of `[first, end)`: every header, and every object whose newest
    /// reference is in the range, with the eviction's puts, in one synced batch.
    fn evict(&mut self, e: Eviction) -> Result<u64, SequencerError> {
        // Reads below must see every sealed group, and no group in flight may re-put an
        // object after this batch deletes it; nor may a state ahead of the store be written.
        self.settled()?;
        let corrupt = |m: String| SequencerError::Store(format!("corrupt store: {m}"));
        let store_err = |e: StoreError| SequencerError::Store(e.to_string());
        if e.end > self.state.size || e.first >= e.end {
            return Err(SequencerError::Invalid(format!(
                "cannot evict {}..{} from a log of {}",
                e.first, e.end, self.state.size
            )));
        }
        let mut batch = Batch::default();
        let mut freed = 0u64;
        // Objects of the range, with the newest seq that referenced them.
        let mut leaving: HashMap<Hash, u64> = HashMap::new();
        for seq in e.first..e.end {
            let key = store::header_key(self.id, seq);
            let Some(bytes) = self.store.get(cf::HEADERS, &key).map_err(store_err)? else {
                // Disposed of while hot: nothing of it is left to move.
                if disposed::mark(&self.store, self.id, seq)
                    .map_err(store_err)?
                    .is_some()
                {
                    continue;
                }
                return Err(corrupt(format!("package {seq} is not in the hot tier")));
            };
            let header = PackageHeader::decode(&bytes)
                .map_err(|err| corrupt(format!("header {seq}: {err}")))?;
            freed += bytes.len() as u64;
            batch.delete(cf::HEADERS, &key);
            for o in &header.objects {
                let k = store::object_key(self.id, &o.digest);
                let (head, len) = self
                    .store
                    .get_head(cf::OBJECTS, &k, 8)
                    .map_err(store_err)?
                    .ok_or_else(|| corrupt(format!("object {} of package {seq}", o.digest)))?;
                let (last, _) = store::decode_object(&head)
                    .ok_or_else(|| corrupt(format!("object {} value", o.digest)))?;
                freed += len.saturating_sub(8) as u64;
                batch.delete(cf::REFS, &store::refs_key(self.id, &o.digest, seq));
                leaving.entry(o.digest).or_insert(last);
            }
        }
        // An object goes when no hot package outside the range still references it.
        for (digest, last) in leaving {
            if !self
                .keeps_object(&digest, last, |s| (e.first..e.end).contains(&s))
                .map_err(store_err)?
            {
                batch.delete(cf::OBJECTS, &store::object_key(self.id, &digest));
            }
        }
        for (name, k, v) in &e.puts {
            batch.put(name, k, v);
        }
        let saved = self.state.hot_bytes;
        self.state.hot_bytes = self.state.hot_bytes.saturating_sub(freed);
        self.state.put(&mut batch, self.id);
        if let Err(err) = self.store.commit(batch) {
            self.state.hot_bytes = saved;
            return Err(store_err(err));
        }
        Ok(freed)
    }

    /// Seals the disposition package and removes what it disposes of, in one synced batch.
    fn dispose(&mut self, mut d: Disposal) -> Result<Sealed, SequencerError> {
        // Reads below must see every sealed group; no group in flight may reference an
        // object this batch deletes.
        self.settled()?;
        let store_err = |e: StoreError| SequencerError::Store(e.to_string());
        let invalid = SequencerError::Invalid;
        let id = self.id;
        let disposed_seqs: std::collections::HashSet<u64> =
            d.packages.iter().map(|p| p.seq).collect();
        if d.packages.len() != d.record.packages.len() || disposed_seqs.len() != d.packages.len() {
            return Err(invalid(
                "the disposition does not list its packages once each".into(),
            ));
        }
        for (p, r) in d.packages.iter().zip(&d.record.packages) {
            if p.seq != r.seq || p.seq >= self.state.size {
                return Err(invalid(format!("cannot dispose of package {}", p.seq)));
            }
            if disposed::mark(&self.store, id, p.seq)
                .map_err(store_err)?
                .is_some()
            {
                return Err(invalid(format!("package {} is already disposed of", p.seq)));
            }
            let leaf = self
                .store
                .nodes(id)
                .node(0, p.seq)
                .map_err(|e| SequencerError::Store(e.to_string()))?;
            if leaf != r.leaf {
                return Err(invalid(format!("the leaf of package {} differs", p.seq)));
            }
        }
        // Held until the batch is committed (or refused).
        let gate = d.gate.take();
        let lock = gate.as_ref().map(|g| g.lock.clone());
        let _held = lock
            .as_ref()
            .map(|l| l.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        if let Some(g) = gate {
            (g.check)().map_err(SequencerError::Held)?;
        }
        let record_bytes = d.record.encode();
        let sub = Submission {
            kind: Kind::Disposition,
            record_key: None,
            metadata: BTreeMap::new(),
            objects: vec![
                NewObject::new(
                    DISPOSITION_OBJECT_NAME,
                    DISPOSITION_MEDIA_TYPE,
                    &record_bytes,
                )
                .map_err(|e| SequencerError::Store(e.to_string()))?,
            ],
            retention: Retention::Forever,
            agreement_version: None,
            index: Vec::new(),
        };
        let own_object = sub.objects.first().map(|o| o.digest);
        let saved = (self.state.clone(), self.frontier.clone(), self.prev);
        let peaks_before = PeakNodes::of(&self.frontier);
        let mut batch = Batch::default();
        let mut overlay = HashMap::new();
        let mut in_group = HashMap::new();
        let sealed = self
            .integrate(&sub, &mut batch, &mut overlay, &mut in_group)
            .and_then(|p| Ok((p, self.sign_head()?)));
        let (pending, head) = match sealed {
            Ok(x) => x,
            Err(e) => {
                (self.state, self.frontier, self.prev) = saved;
                return Err(e);
            }
        };
        let removed = self.remove_content(&d, &disposed_seqs, own_object, &mut batch);
        let freed = match removed {
            Ok(f) => f,
            Err(e) => {
                (self.state, self.frontier, self.prev) = saved;
                return Err(e);
            }
        };
        for p in &d.packages {
            let mark = DisposedMark {
                disposition: pending.seq,
                cause: d.record.cause.name().into(),
                at_ms: d.record.decided_ms,
                retain_until_ms: p.retain_until_ms,
            };
            batch.put(
                cf::META,
                &disposed::disposed_key(id, p.seq),
                &serde_json::to_vec(&mark).unwrap_or_default(),
            );
        }
        let mut summary = d.summary;
        summary.seq = pending.seq;
        batch.put(
            cf::META,
            &disposed::disposition_key(id, pending.seq),
            &serde_json::to_vec(&summary).unwrap_or_default(),
        );
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
            &store::size_key(id, head.head.size),
            &encode_signed_head(&head),
        );
        let raw: u64 = d.packages.iter().map(|p| p.raw_bytes).sum();
        self.state.raw_bytes = self.state.raw_bytes.saturating_sub(raw);
        self.state.hot_bytes = self.state.hot_bytes.saturating_sub(freed);
        self.state.disposed += d.packages.len() as u64;
        self.state.put(&mut batch, id);
        if let Err(e) = self.store.commit(batch) {
            (self.state, self.frontier, self.prev) = saved;
            return Err(store_err(e));
        }
        metrics::counter!("zegel_packages_sealed_total").increment(1);
        metrics::counter!("zegel_disposed_packages_total", "cause" => d.record.cause.name())
            .increment(d.packages.len() as u64);
        let nodes = Overlay {
            new: &overlay,
            peaks: &peaks_before,
        };
        self.receipt_for(pending, Some(&head), &nodes)
    }

    /// Adds to `batch` the deletion of every disposed package's content and lookups: hot
    /// header and the objects no other hot package references, cold location, record-key
    /// versions (the latest moves to the newest version left) and index entries. Returns
    /// the hot bytes freed.
    fn remove_content(
        &self,
        d: &Disposal,
        disposed_seqs: &std::collections::HashSet<u64>,
        own_object: Option<Hash>,
        batch: &mut Batch,
    ) -> Result<u64, SequencerError> {
        let store_err = |e: StoreError| SequencerError::Store(e.to_string());
        let corrupt = |m: String| SequencerError::Store(format!("corrupt store: {m}"));
        let id = self.id;
        let mut freed = 0u64;
        // Objects whose references this batch deletes, with the newest seq that referenced
        // each.
        let mut unreferenced: HashMap<Hash, u64> = HashMap::new();
        let mut keys: BTreeMap<String, ()> = BTreeMap::new();
        for p in &d.packages {
            let hk = store::header_key(id, p.seq);
            if p.hot {
                let bytes = self
                    .store
                    .get(cf::HEADERS, &hk)
                    .map_err(store_err)?
                    .ok_or_else(|| corrupt(format!("package {} is not hot", p.seq)))?;
                let header = PackageHeader::decode(&bytes)
                    .map_err(|e| corrupt(format!("header {}: {e}", p.seq)))?;
                freed += bytes.len() as u64;
                batch.delete(cf::HEADERS, &hk);
                for o in &header.objects {
                    let (head, len) = self
                        .store
                        .get_head(cf::OBJECTS, &store::object_key(id, &o.digest), 8)
                        .map_err(store_err)?
                        .ok_or_else(|| corrupt(format!("object {} of {}", o.digest, p.seq)))?;
                    let (last, _) = store::decode_object(&head)
                        .ok_or_else(|| corrupt(format!("object {} value", o.digest)))?;
                    freed += len.saturating_sub(8) as u64;
                    batch.delete(cf::REFS, &store::refs_key(id, &o.digest, p.seq));
                    unreferenced.entry(o.digest).or_insert(last);
                }
            } else {
                if self.store.get(cf::COLD, &hk).map_err(store_err)?.is_none() {
                    return Err(corrupt(format!("package {} is not cold", p.seq)));
                }
                batch.delete(cf::COLD, &hk);
            }
            for (field, value) in &p.index {
                batch.delete(cf::INDEX, &store::index_key(id, field, value, p.seq));
            }
            if let Some(k) = &p.record_key {
                keys.insert(k.clone(), ());
            }
        }
        for (digest, last) in unreferenced {
            if Some(digest) == own_object {
                continue;
            }
            let going = |s: u64| disposed_seqs.contains(&s);
            if !self.keeps_object(&digest, last, going).map_err(store_err)? {
                batch.delete(cf::OBJECTS, &store::object_key(id, &digest));
            }
        }
        for key in keys.into_keys() {
            let prefix = store::record_prefix(id, &key);
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
        }
        Ok(freed)
    }

    /// Whether an object must stay after the hot packages `going` (a predicate on seqs)
    /// drop their references: `refs` names another hot package, or — a safety net should
    /// `refs` ever miss one — the newest package that referenced it (`last`) is neither
    /// going nor disposed of, so it is still hot or cold and was not a reference to drop.
    fn keeps_object(
        &self,
        digest: &Hash,
        last: u64,
        going: impl Fn(u64) -> bool,
    ) -> Result<bool, StoreError> {
        let refs = self.store.scan_prefix(
            cf::REFS,
            &store::refs_prefix(self.id, digest),
            OBJECT_REFS_SCAN_MAX,
        )?;
        let other_ref = refs.iter().any(|(k, _)| {
            k.get(k.len().saturating_sub(8)..)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
                .is_none_or(|s| !going(s))
        });
        if other_ref || refs.len() >= OBJECT_REFS_SCAN_MAX {
            return Ok(true);
        }
        if going(last) {
            return Ok(false);
        }
        // The newest sharer left by another way: moved to the cold tier (its hot reference
        // dropped with it) or disposed of. Anything else means `refs` lost an entry.
        let hot = self
            .store
            .get(cf::HEADERS, &store::header_key(self.id, last))?
            .is_some();
        if hot {
            tracing::error!(archive = self.id, object = %digest, seq = last, "an object's newest reference is hot but not in refs; the object is kept");
        }
        Ok(hot)
    }

    /// Takes the committer's confirmations that have arrived, without waiting.
    fn poll_done(&mut self) {
        while let Ok(d) = self.done.try_recv() {
            self.absorb(d);
        }
        if self.in_flight == 0 {
            self.settle();
        }
    }

    /// Waits until every group sent to the committer is confirmed (or failed).
    fn drain(&mut self) {
        while self.in_flight > 0 {
            match self.done.recv() {
                Ok(d) => self.absorb(d),
                Err(_) => {
                    // The committer is gone: nothing in flight can be confirmed any more.
                    self.in_flight = 0;
                    self.failed = true;
                }
            }
        }
        self.settle();
    }

    fn absorb(&mut self, d: Done) {
        self.in_flight = self.in_flight.saturating_sub(1);
        // The oldest group is confirmed (or failed): its keys are no longer in flight.
        for k in self.in_flight_keys.pop_front().unwrap_or_default() {
            if let Some(n) = self.uncommitted.get_mut(&k) {
                *n -= 1;
                if *n == 0 {
                    self.uncommitted.remove(&k);
                }
            }
        }
        if let Done::Failed = d {
            self.failed = true;
        }
    }

    /// Every group confirmed and the state reloaded after any failure, or why not.
    fn settled(&mut self) -> Result<(), SequencerError> {
        self.drain();
        if self.failed {
            return Err(SequencerError::Store(
                "the archive could not reload its state after a failed commit".into(),
            ));
        }
        Ok(())
    }

    /// With nothing in flight: forget the unconfirmed keys and, after a failed commit, reload
    /// the state from the store (what was sealed on top of the failure was never answered).
    fn settle(&mut self) {
        self.uncommitted.clear();
        self.in_flight_keys.clear();
        if !self.failed {
            return;
        }
        let reloaded = ArchiveState::load(&self.store, self.id).and_then(|state| {
            let nodes = self.store.nodes(self.id);
            let frontier = Frontier::load(&nodes, state.size)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let prev = match state.size {
                0 => None,
                n => Some(
                    nodes
                        .node(0, n - 1)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                ),
            };
            Ok((state, frontier, prev))
        });
        match reloaded {
            Ok((state, frontier, prev)) => {
                (self.state, self.frontier, self.prev) = (state, frontier, prev);
                self.failed = false;
                self.epoch += 1;
            }
            Err(e) => {
                tracing::error!(archive = self.id, error = %e, "reloading the sequencer state failed")
            }
        }
    }

    /// Signs and stores a checkpoint if the tree grew since the last one.
    fn publish_checkpoint(&mut self) -> Result<String, SequencerError> {
        // A checkpoint attests only what is durable.
        self.settled()?;
        let cp = Checkpoint {
            origin: self.origin.clone(),
            size: self.state.size,
            root: self.frontier.root(),
        };
        let note = cp.sign(&self.key);
        // An empty log has nothing to attest: its checkpoint is signed but not stored.
        if self.state.size > self.checkpoint_size {
            let mut b = Batch::default();
            b.put(
                cf::CHECKPOINTS,
                &store::size_key(self.id, cp.size),
                note.as_bytes(),
            );
            self.store
                .commit(b)
                .map_err(|e| SequencerError::Store(e.to_string()))?;
            self.checkpoint_size = cp.size;
        }
        Ok(note)
    }

    fn commit_group(&mut self, group: Vec<(Vec<Submission>, ExtraPuts, Reply)>) {
        self.poll_done();
        // A group naming a key of an unconfirmed group waits for it: versions and
        // duplicates are decided against the committed store.
        let hazard = group.iter().any(|(subs, _, _)| {
            subs.iter().any(|s| {
                s.record_key
                    .as_ref()
                    .is_some_and(|k| self.uncommitted.contains_key(k))
            })
        });
        if hazard || self.failed {
            self.drain();
        }
        if self.failed {
            for (_, _, reply) in group {
                let _ = reply.send(Err(SequencerError::Store(
                    "the archive could not reload its state after a failed commit".into(),
                )));
            }
            return;
        }
        let saved = (self.state.clone(), self.frontier.clone(), self.prev);
        let peaks_before = PeakNodes::of(&self.frontier);
        let mut batch = Batch::default();
        let mut overlay: HashMap<(u32, u64), Hash> = HashMap::new();
        let mut in_group: HashMap<String, (u64, u64, Hash, [u8; 32])> = HashMap::new();
        let mut results: Vec<Result<Vec<Pending>, SequencerError>> = Vec::new();
        for (subs, extra, _) in &group {
            // A job is all or nothing: on its first invalid submission it is undone.
            let job_saved = (
                self.state.clone(),
                self.frontier.clone(),
                self.prev,
                batch.len(),
            );
            let keys_before: Vec<(String, Option<InGroup>)> = subs
                .iter()
                .filter_map(|s| s.record_key.as_ref())
                .map(|k| (k.clone(), in_group.get(k).copied()))
                .collect();
            match self.integrate_job(subs, &mut batch, &mut overlay, &mut in_group) {
                Ok(p) => {
                    for (name, k, v) in extra {
                        batch.put(name, k, v);
                    }
                    results.push(Ok(p));
                }
                Err(e) => {
                    (self.state, self.frontier, self.prev) =
                        (job_saved.0, job_saved.1, job_saved.2);
                    batch.truncate(job_saved.3);
                    // Undo the job's keys, last first (a key may repeat within a job).
                    for (k, old) in keys_before.into_iter().rev() {
                        match old {
                            Some(v) => {
                                in_group.insert(k, v);
                            }
                            None => {
                                in_group.remove(&k);
                            }
                        }
                    }
                    results.push(Err(e));
                }
            }
        }
        // Nothing new (all duplicates or refused): no head to sign, nothing to commit, and
        // every answer rests on committed packages only.
        let grew = self.frontier.size() > saved.0.size;
        let head = if grew {
            match self.sign_head() {
                Ok(head) => {
                    batch.put(
                        cf::HEADS,
                        &store::size_key(self.id, head.head.size),
                        &encode_signed_head(&head),
                    );
                    self.state.put(&mut batch, self.id);
                    Some(head)
                }
                Err(e) => {
                    (self.state, self.frontier, self.prev) = saved;
                    for (_, _, reply) in group {
                        let _ = reply.send(Err(e.clone()));
                    }
                    return;
                }
            }
        } else {
            None
        };
        // Receipts need only this group's nodes and the peaks before it, so they are made
        // now; the committer hands them out once the batch is durable.
        let nodes = Overlay {
            new: &overlay,
            peaks: &peaks_before,
        };
        let mut answers = Vec::with_capacity(group.len());
        for ((_, _, reply), result) in group.into_iter().zip(results) {
            let answer = result.and_then(|pending| {
                pending
                    .into_iter()
                    .map(|p| self.receipt_for(p, head.as_ref(), &nodes))
                    .collect()
            });
            answers.push((reply, answer));
        }
        let Some(head) = head else {
            for (reply, answer) in answers {
                let _ = reply.send(answer);
            }
            return;
        };
        let keys: Vec<String> = in_group.into_keys().collect();
        for k in &keys {
            *self.uncommitted.entry(k.clone()).or_default() += 1;
        }
        self.in_flight_keys.push_back(keys);
        let job = CommitJob {
            epoch: self.epoch,
            batch,
            sealed: head.head.size - saved.0.size,
            answers,
        };
        let sent = match &self.commits {
            Some(c) => c.send(job).map_err(|e| e.0),
            None => Err(job),
        };
        match sent {
            Ok(()) => self.in_flight += 1,
            Err(job) => {
                for (reply, _) in job.answers {
                    let _ = reply.send(Err(SequencerError::Stopped));
                }
                self.failed = true;
                self.drain();
            }
        }
    }

    fn sign_head(&mut self) -> Result<SignedHead, SequencerError> {
        let time_ms = self.clock.now_ms().max(self.state.last_time_ms);
        self.state.last_time_ms = time_ms;
        Ok(SignedHead::sign(
            ReceiptHead {
                origin: self.origin.clone(),
                size: self.frontier.size(),
                root: self.frontier.root(),
                time_ms,
            },
            &self.key,
        ))
    }

    fn receipt_for(
        &self,
        p: Pending,
        head: Option<&SignedHead>,
        nodes: &Overlay<'_>,
    ) -> Result<Sealed, SequencerError> {
        let receipt = match head {
            Some(head) if !p.duplicate_of_committed => {
                let path = merkle::inclusion_proof(nodes, p.seq, head.head.size)
                    .map_err(|e| SequencerError::Store(e.to_string()))?;
                head.receipt(p.seq, p.leaf, path)
            }
            // The original was committed earlier: its receipt comes from the head that
            // covered it, with a path read from the store.
            _ => self.stored_receipt(p.seq, p.leaf)?,
        };
        Ok(Sealed {
            seq: p.seq,
            version: p.version,
            leaf: p.leaf,
            receipt,
            duplicate: p.duplicate,
        })
    }

    fn stored_receipt(&self, seq: u64, leaf: Hash) -> Result<Receipt, SequencerError> {
        stored_receipt(&self.store, self.id, seq, leaf)
    }

    fn integrate_job(
        &mut self,
        subs: &[Submission],
        batch: &mut Batch,
        overlay: &mut HashMap<(u32, u64), Hash>,
        in_group: &mut HashMap<String, (u64, u64, Hash, [u8; 32])>,
    ) -> Result<Vec<Pending>, SequencerError> {
        let mut out = Vec::with_capacity(subs.len());
        for sub in subs {
            out.push(self.integrate(sub, batch, overlay, in_group)?);
        }
        Ok(out)
    }

    fn integrate(
        &mut self,
        sub: &Submission,
        batch: &mut Batch,
        overlay: &mut HashMap<(u32, u64), Hash>,
        in_group: &mut HashMap<String, (u64, u64, Hash, [u8; 32])>,
    ) -> Result<Pending, SequencerError> {
        let fp = fingerprint(sub);
        // Idempotency: the same key with the same content returns the original package.
        let mut version = 1;
        if let Some(key) = &sub.record_key {
            if let Some(&(seq, v, leaf, f)) = in_group.get(key) {
                if f == fp {
                    return Ok(Pending {
                        seq,
                        version: v,
                        leaf,
                        duplicate: true,
                        duplicate_of_committed: false,
                    });
                }
                version = v + 1;
            } else if let Some(v) = self
                .store
                .get(cf::LATEST, &store::record_prefix(self.id, key))
                .map_err(|e| SequencerError::Store(e.to_string()))?
            {
                let (last_version, seq, last_fp) = store::decode_latest(&v).ok_or_else(|| {
                    SequencerError::Store(format!("latest of {key:?} is corrupt"))
                })?;
                if last_fp == fp {
                    let leaf = self
                        .store
                        .nodes(self.id)
                        .node(0, seq)
                        .map_err(|e| SequencerError::Store(e.to_string()))?;
                    return Ok(Pending {
                        seq,
                        version: last_version,
                        leaf,
                        duplicate: true,
                        duplicate_of_committed: true,
                    });
                }
                version = store::latest_highest(&v).unwrap_or(last_version) + 1;
            }
        }
        let seq = self.frontier.size();
        let time_ms = self.clock.now_ms().max(self.state.last_time_ms);
        let agreement = if sub.kind.needs_agreement() {
            Some(self.state.agreement.ok_or_else(|| {
                SequencerError::Invalid("the archive has no agreement yet".into())
            })?)
        } else {
            None
        };
        let header = PackageHeader {
            tenant: self.state.tenant.clone(),
            archive: self.state.archive.clone(),
            seq,
            prev: self.prev,
            time_ms,
            kind: sub.kind,
            agreement,
            record_key: sub.record_key.clone(),
            metadata: sub.metadata.clone(),
            objects: sub
                .objects
                .iter()
                .map(|o| ObjectRef {
                    name: o.name.clone(),
                    media_type: o.media_type.clone(),
                    size: o.size,
                    digest: o.digest,
                })
                .collect(),
            retain_until_ms: match sub.retention {
                Retention::Until(t) => Some(t),
                Retention::AfterIngestMs(d) => Some(time_ms.saturating_add(d)),
                Retention::Forever => None,
            },
        };
        header
            .validate()
            .map_err(|e| SequencerError::Invalid(e.to_string()))?;
        let header_bytes = header.encode();
        // Pair assertion: what we store must decode to what we meant.
        if PackageHeader::decode(&header_bytes).as_ref() != Ok(&header) {
            return Err(SequencerError::Invalid(
                "header does not survive its own decoder".into(),
            ));
        }
        for o in &sub.objects {
            batch.put(
                cf::OBJECTS,
                &store::object_key(self.id, &o.digest),
                &store::encode_object(seq, &o.compressed),
            );
            batch.put(cf::REFS, &store::refs_key(self.id, &o.digest, seq), &[]);
        }
        self.state.raw_bytes +=
            header_bytes.len() as u64 + sub.objects.iter().map(|o| o.size).sum::<u64>();
        self.state.hot_bytes += header_bytes.len() as u64
            + sub
                .objects
                .iter()
                .map(|o| o.compressed.len() as u64)
                .sum::<u64>();
        batch.put(cf::HEADERS, &store::header_key(self.id, seq), &header_bytes);
        let leaf = leaf_hash(&header_bytes);
        let id = self.id;
        self.frontier.append(leaf, |level, index, h| {
            batch.put(cf::NODES, &store::node_key(id, level, index), &h.0);
            overlay.insert((level, index), h);
        });
        if let Some(key) = &sub.record_key {
            batch.put(
                cf::RECORDS,
                &store::record_version_key(self.id, key, version),
                &store::encode_record_version(seq, &fp),
            );
            batch.put(
                cf::LATEST,
                &store::record_prefix(self.id, key),
                &store::encode_latest(version, seq, &fp),
            );
            in_group.insert(key.clone(), (seq, version, leaf, fp));
        }
        for (field, value) in &sub.index {
            batch.put(
                cf::INDEX,
                &store::index_key(self.id, field, value, seq),
                &[],
            );
        }
        if sub.kind == Kind::Agreement {
            self.state.agreement = Some(AgreementRef {
                version: sub.agreement_version.unwrap_or(1),
                seq,
            });
        }
        self.prev = Some(leaf);
        self.state.size = seq + 1;
        self.state.last_time_ms = time_ms;
        Ok(Pending {
            seq,
            version,
            leaf,
            duplicate: false,
            duplicate_of_committed: false,
        })
    }
}

/// A package integrated in the current group, waiting for the commit.
struct Pending {
    seq: u64,
    version: u64,
    leaf: Hash,
    duplicate: bool,
    duplicate_of_committed: bool,
}

/// What makes two submissions of one key "the same content": kind, objects and metadata.
fn fingerprint(sub: &Submission) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([sub.kind.code() as u8]);
    for o in &sub.objects {
        h.update(o.name.as_bytes());
        h.update([0]);
        h.update(o.media_type.as_bytes());
        h.update([0]);
        h.update(o.digest.0);
    }
    for (k, v) in &sub.metadata {
        h.update(k.as_bytes());
        h.update([0]);
        match v {
            MetaValue::Text(t) => {
                h.update([1]);
                h.update(t.as_bytes());
            }
            MetaValue::Int(i) => {
                h.update([2]);
                h.update(i.to_be_bytes());
            }
            MetaValue::Bool(b) => h.update([3, u8::from(*b)]),
        }
        h.update([0]);
    }
    h.finalize().into()
}

/// The receipt of a committed package: the first signed head at or after it, and its path.
pub fn stored_receipt(
    store: &Store,
    id: ArchiveId,
    seq: u64,
    leaf: Hash,
) -> Result<Receipt, SequencerError> {
    let err = |e: String| SequencerError::Store(e);
    let (_, bytes) = store
        .first_from(cf::HEADS, id, seq + 1)
        .map_err(|e| err(e.to_string()))?
        .ok_or_else(|| err(format!("no signed head covers seq {seq}")))?;
    let head = decode_signed_head(&bytes).map_err(err)?;
    let path = merkle::inclusion_proof(&store.nodes(id), seq, head.head.size)
        .map_err(|e| err(e.to_string()))?;
    Ok(head.receipt(seq, leaf, path))
}

/// The frontier's peaks as addressable nodes: every left sibling on a path from a new leaf.
struct PeakNodes(HashMap<(u32, u64), Hash>);

impl PeakNodes {
    fn of(f: &Frontier) -> PeakNodes {
        let size = f.size();
        let mut map = HashMap::new();
        let mut start = 0u64;
        let mut peaks = f.peaks().iter();
        for level in (0..64u32).rev() {
            if size & (1u64 << level) != 0 {
                if let Some(h) = peaks.next() {
                    map.insert((level, start >> level), *h);
                }
                start += 1u64 << level;
            }
        }
        PeakNodes(map)
    }
}

/// Nodes completed in this group, over the peaks before it: enough for every new leaf's path.
struct Overlay<'a> {
    new: &'a HashMap<(u32, u64), Hash>,
    peaks: &'a PeakNodes,
}

impl NodeSource for Overlay<'_> {
    fn node(&self, level: u32, index: u64) -> Result<Hash, ProofError> {
        self.new
            .get(&(level, index))
            .or_else(|| self.peaks.0.get(&(level, index)))
            .copied()
            .ok_or(ProofError::MissingNode { level, index })
    }
}
