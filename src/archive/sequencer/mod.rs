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
//!
//! This file holds the handle, the jobs and the run loop; each stage has its own file:
//! `group` (one group commit, queue to committer), `integrate` (one package into the batch and
//! the tree), `commit` (the committer thread, confirmations, reload), `receipt` (signed heads,
//! receipts, checkpoints), `evict` and `dispose` (with `hot`, what leaves the hot tier).

mod commit;
mod dispose;
mod evict;
mod group;
mod hot;
mod integrate;
mod object;
mod receipt;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::Duration;

use zegel_format::hash::Hash;
use zegel_format::header::{Kind, MetaValue};
use zegel_format::merkle::{Frontier, NodeSource};
use zegel_format::note::SigningKey;
use zegel_format::receipt::Receipt;

use crate::archive::state::ArchiveState;
use crate::clock::Clock;
use crate::store::{ArchiveId, Store, StoreError, cf};

pub use crate::seal::Retention;
pub use dispose::{AfterSeal, Disposal, DisposedPackage, HoldGate};
pub use evict::Eviction;
pub use object::{HOT_ZSTD_LEVEL, NewObject};
pub use receipt::stored_receipt;

use crate::limits::{
    COMMITS_IN_FLIGHT_MAX, GROUP_PACKAGES_MAX, OBJECT_REFS_SCAN_MAX, RECORD_VERSIONS_SCAN_MAX,
    SEQUENCER_QUEUE_JOBS_MAX,
};
use commit::{CommitJob, Done};

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
    /// A check of the server's own work failed (a bug, never the client's input); logged
    /// where it is found.
    #[error("internal error; nothing of this submission was stored: {0}")]
    Internal(String),
}

type Reply = tokio::sync::oneshot::Sender<Result<Vec<Sealed>, SequencerError>>;

/// Extra puts committed with a job when, and only when, the job is sealed.
pub type ExtraPuts = Vec<(&'static str, Vec<u8>, Vec<u8>)>;

/// One job of the group being gathered: its submissions, extra puts and reply.
type GroupJob = (Vec<Submission>, ExtraPuts, Reply);

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
    in_flight_keys: VecDeque<Vec<String>>,
    /// A commit failed: the sequenced state is ahead of the store and must be reloaded.
    failed: bool,
    /// Bumped on every reload, so the committer fails the groups sealed on a failed one.
    epoch: u64,
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
    let (frontier, prev) = log_end(&store, id, state.size)?;
    let checkpoint_size = store.last_of(cf::CHECKPOINTS, id)?.map_or(0, |(n, _)| n);
    let (tx, rx) = std::sync::mpsc::sync_channel(SEQUENCER_QUEUE_JOBS_MAX);
    let (commits, commit_rx) = std::sync::mpsc::sync_channel(COMMITS_IN_FLIGHT_MAX - 1);
    let (done_tx, done) = std::sync::mpsc::channel();
    let committer_store = store.clone();
    let committer = std::thread::Builder::new()
        .name(format!("committer-{id}"))
        .spawn(move || commit::committer(committer_store, commit_rx, done_tx))?;
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
        in_flight_keys: VecDeque::new(),
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

/// The stored tree of a log of `size` packages, and its last leaf (`None` when empty).
fn log_end(
    store: &Store,
    id: ArchiveId,
    size: u64,
) -> Result<(Frontier, Option<Hash>), StoreError> {
    let nodes = store.nodes(id);
    let frontier = Frontier::load(&nodes, size)
        .map_err(|e| StoreError::Corrupt(format!("archive {id}: {e}")))?;
    let prev = size
        .checked_sub(1)
        .map(|last| nodes.node(0, last))
        .transpose()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok((frontier, prev))
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
                    self.stop();
                    return;
                }
            };
            let group = self.gather(first, &rx);
            if !group.is_empty() {
                self.commit_group(group);
            }
        }
    }

    /// Runs the jobs that come in starting with `first` until the queue is empty or the
    /// group is full: checkpoints, evictions and disposals at once, submissions gathered
    /// into the group returned.
    fn gather(&mut self, first: Job, rx: &Receiver<Job>) -> Vec<GroupJob> {
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
        group
    }

    /// Every handle is gone: publishes a last checkpoint, which confirms every group in
    /// flight, then stops the committer and waits for it.
    fn stop(&mut self) {
        let _ = self.publish_checkpoint();
        self.commits = None;
        if let Some(t) = self.committer.take() {
            let _ = t.join();
        }
    }
}

/// The sequenced state as it was before a step that may be undone.
struct Saved {
    state: ArchiveState,
    frontier: Frontier,
    prev: Option<Hash>,
}

impl Sequencer {
    fn snapshot(&self) -> Saved {
        Saved {
            state: self.state.clone(),
            frontier: self.frontier.clone(),
            prev: self.prev,
        }
    }

    fn restore(&mut self, saved: Saved) {
        (self.state, self.frontier, self.prev) = (saved.state, saved.frontier, saved.prev);
    }
}
