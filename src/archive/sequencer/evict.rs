//! Evictions: a tiering move's last step, run by the archive's one writer, which alone knows
//! that no package being sealed shares an object with the packages leaving.

use crate::archive::disposed;
use crate::store::Batch;

use super::hot::{Leaving, corrupt, store_err};
use super::{ExtraPuts, Sequencer, SequencerError};

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

impl Sequencer {
    /// Deletes the hot copies of `[first, end)`: every header, and every object no hot
    /// package outside the range references, with the eviction's puts, in one synced batch.
    pub(super) fn evict(&mut self, e: Eviction) -> Result<u64, SequencerError> {
        // Reads below must see every sealed group, and no group in flight may re-put an
        // object after this batch deletes it; nor may a state ahead of the store be written.
        self.settled()?;
        if e.end > self.state.size || e.first >= e.end {
            return Err(SequencerError::Invalid(format!(
                "cannot evict {}..{} from a log of {}",
                e.first, e.end, self.state.size
            )));
        }
        let mut batch = Batch::default();
        let mut freed = 0u64;
        let mut leaving = Leaving::new();
        for seq in e.first..e.end {
            let Some(bytes) = self.drop_hot_package(seq, &mut batch, &mut leaving)? else {
                // Disposed of while hot: nothing of it is left to move.
                if disposed::mark(&self.store, self.id, seq)
                    .map_err(store_err)?
                    .is_some()
                {
                    continue;
                }
                return Err(corrupt(format!("package {seq} is not in the hot tier")));
            };
            freed += bytes;
        }
        self.drop_unkept_objects(leaving, |s| (e.first..e.end).contains(&s), &mut batch)?;
        for (name, k, v) in &e.puts {
            batch.put(name, k, v);
        }
        let saved = self.state.hot_bytes;
        self.state.hot_bytes = self.state.hot_bytes.saturating_sub(freed);
        let committed = self
            .state
            .put(&mut batch, self.id)
            .and_then(|()| self.store.commit(batch));
        if let Err(err) = committed {
            self.state.hot_bytes = saved;
            return Err(store_err(err));
        }
        Ok(freed)
    }
}
