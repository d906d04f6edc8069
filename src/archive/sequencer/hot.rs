//! What leaves the hot tier when an eviction or a disposal drops packages: their headers and
//! object references, and each object no other hot package still references.

use std::collections::HashMap;

use zegel_format::hash::Hash;
use zegel_format::header::PackageHeader;

use crate::store::{self, Batch, StoreError, cf};

use super::{OBJECT_REFS_SCAN_MAX, Sequencer, SequencerError};

/// Objects whose references a batch deletes, each with the newest seq that referenced it.
pub(super) type Leaving = HashMap<Hash, u64>;

pub(super) fn store_err(e: StoreError) -> SequencerError {
    SequencerError::Store(e.to_string())
}

pub(super) fn corrupt(m: String) -> SequencerError {
    SequencerError::Store(format!("corrupt store: {m}"))
}

impl Sequencer {
    /// Adds to `batch` the deletion of hot package `seq`'s header and of its objects'
    /// references, and records its objects in `leaving`. Returns the hot bytes freed (header
    /// and compressed objects), or `None` when the package has no hot header.
    pub(super) fn drop_hot_package(
        &self,
        seq: u64,
        batch: &mut Batch,
        leaving: &mut Leaving,
    ) -> Result<Option<u64>, SequencerError> {
        let key = store::header_key(self.id, seq);
        let Some(bytes) = self.store.get(cf::HEADERS, &key).map_err(store_err)? else {
            return Ok(None);
        };
        let header =
            PackageHeader::decode(&bytes).map_err(|err| corrupt(format!("header {seq}: {err}")))?;
        let mut freed = bytes.len() as u64;
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
        Ok(Some(freed))
    }

    /// Adds to `batch` the deletion of every object of `leaving` that no hot package outside
    /// `going` (a predicate on seqs) still references.
    pub(super) fn drop_unkept_objects(
        &self,
        leaving: Leaving,
        going: impl Fn(u64) -> bool,
        batch: &mut Batch,
    ) -> Result<(), SequencerError> {
        for (digest, last) in leaving {
            if !self
                .keeps_object(&digest, last, &going)
                .map_err(store_err)?
            {
                batch.delete(cf::OBJECTS, &store::object_key(self.id, &digest));
            }
        }
        Ok(())
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
}
