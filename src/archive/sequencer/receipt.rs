//! What the sequencer signs: one receipt head per group (each package's receipt is that head
//! and the package's inclusion path), and checkpoints between groups.

use std::collections::HashMap;

use zegel_format::checkpoint::Checkpoint;
use zegel_format::hash::Hash;
use zegel_format::merkle::{self, Frontier, NodeSource, ProofError};
use zegel_format::receipt::{Receipt, ReceiptHead, SignedHead};

use crate::archive::state::decode_signed_head;
use crate::store::{self, ArchiveId, Batch, Store, cf};

use super::integrate::Pending;
use super::{Sealed, Sequencer, SequencerError};

impl Sequencer {
    /// Signs the head of the tree as sequenced; its time never goes below the log's last.
    pub(super) fn sign_head(&mut self) -> Result<SignedHead, SequencerError> {
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

    /// The answer for a package of this group: its receipt under `head` with a path from
    /// `nodes`, or, for a duplicate of a committed package, the receipt it got then.
    pub(super) fn receipt_for(
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
            _ => stored_receipt(&self.store, self.id, p.seq, p.leaf)?,
        };
        Ok(Sealed {
            seq: p.seq,
            version: p.version,
            leaf: p.leaf,
            receipt,
            duplicate: p.duplicate,
        })
    }

    /// Signs and stores a checkpoint if the tree grew since the last one.
    pub(super) fn publish_checkpoint(&mut self) -> Result<String, SequencerError> {
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

/// Nodes completed while sealing a group, by (level, index).
pub(super) type NewNodes = HashMap<(u32, u64), Hash>;

/// The frontier's peaks as addressable nodes: every left sibling on a path from a new leaf.
pub(super) struct PeakNodes(HashMap<(u32, u64), Hash>);

impl PeakNodes {
    pub(super) fn of(f: &Frontier) -> PeakNodes {
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
pub(super) struct Overlay<'a> {
    pub(super) new: &'a NewNodes,
    pub(super) peaks: &'a PeakNodes,
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
