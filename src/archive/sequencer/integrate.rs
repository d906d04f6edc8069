//! The integrate stage: one submission into the group's batch and the tree. Assigns the seq,
//! links the previous leaf, builds the header (with the one builder every writer uses), and
//! puts the package, its objects, its nodes and its lookups into the batch.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use zegel_format::hash::Hash;
use zegel_format::header::{AgreementRef, Kind, MetaValue};
use zegel_format::merkle::NodeSource;

use crate::seal::{BuiltHeader, HeaderError, LogEnd, PackageFields, build_header};
use crate::store::{self, Batch, cf};

use super::receipt::NewNodes;
use super::{NewObject, Sequencer, SequencerError, Submission};

/// A record key sealed earlier in the same group: seq, version, leaf, content fingerprint.
pub(super) type InGroup = (u64, u64, Hash, [u8; 32]);

/// What a group (or a disposal) builds while its packages are integrated.
#[derive(Default)]
pub(super) struct Draft {
    pub(super) batch: Batch,
    /// The tree nodes the packages complete: with the peaks before them, every new path.
    pub(super) nodes: NewNodes,
    /// The record keys sealed so far, for idempotency within the group.
    pub(super) keys: HashMap<String, InGroup>,
}

/// A package integrated in the current group, waiting for the commit.
pub(super) struct Pending {
    pub(super) seq: u64,
    pub(super) version: u64,
    pub(super) leaf: Hash,
    pub(super) duplicate: bool,
    pub(super) duplicate_of_committed: bool,
}

/// What a record key already holds for a new submission of it.
enum Prior {
    /// The same content: the submission is answered with the original package.
    Duplicate(Pending),
    /// Other content (or none): the new package gets this version.
    Version(u64),
}

impl Sequencer {
    /// Integrates one submission: a duplicate of its key's latest content returns the
    /// original; anything else becomes the next package of the log.
    pub(super) fn integrate(
        &mut self,
        sub: &Submission,
        draft: &mut Draft,
    ) -> Result<Pending, SequencerError> {
        let fp = fingerprint(sub);
        let version = match self.prior(sub, fp, &draft.keys)? {
            Prior::Duplicate(original) => return Ok(original),
            Prior::Version(v) => v,
        };
        let built = self.build(sub)?;
        Ok(self.put_package(sub, version, fp, built, draft))
    }

    /// Idempotency: the same key with the same content is the original package, from this
    /// group or from the store; new content of a key gets the version after its highest.
    fn prior(
        &self,
        sub: &Submission,
        fp: [u8; 32],
        keys: &HashMap<String, InGroup>,
    ) -> Result<Prior, SequencerError> {
        let Some(key) = &sub.record_key else {
            return Ok(Prior::Version(1));
        };
        if let Some(&(seq, version, leaf, f)) = keys.get(key) {
            if f != fp {
                return Ok(Prior::Version(version + 1));
            }
            return Ok(Prior::Duplicate(Pending {
                seq,
                version,
                leaf,
                duplicate: true,
                duplicate_of_committed: false,
            }));
        }
        let store_err = |e: String| SequencerError::Store(e);
        let Some(v) = self
            .store
            .get(cf::LATEST, &store::record_prefix(self.id, key))
            .map_err(|e| store_err(e.to_string()))?
        else {
            return Ok(Prior::Version(1));
        };
        let (last_version, seq, last_fp) = store::decode_latest(&v)
            .ok_or_else(|| store_err(format!("latest of {key:?} is corrupt")))?;
        if last_fp != fp {
            return Ok(Prior::Version(
                store::latest_highest(&v).unwrap_or(last_version) + 1,
            ));
        }
        let leaf = self
            .store
            .nodes(self.id)
            .node(0, seq)
            .map_err(|e| store_err(e.to_string()))?;
        Ok(Prior::Duplicate(Pending {
            seq,
            version: last_version,
            leaf,
            duplicate: true,
            duplicate_of_committed: true,
        }))
    }

    /// The header of `sub` as the next package of the log, checked before it is stored.
    fn build(&self, sub: &Submission) -> Result<BuiltHeader, SequencerError> {
        let end = LogEnd {
            seq: self.frontier.size(),
            prev: self.prev,
            last_time_ms: self.state.last_time_ms,
            agreement: self.state.agreement,
            tenant: &self.state.tenant,
            archive: &self.state.archive,
        };
        let fields = PackageFields {
            kind: sub.kind,
            record_key: sub.record_key.as_deref(),
            metadata: &sub.metadata,
            objects: sub.objects.iter().map(NewObject::object_ref).collect(),
            retention: sub.retention,
        };
        let built = build_header(&end, fields, self.clock.now_ms())
            .map_err(|e| self.header_error(e, end.seq))?;
        // Pair assertion: what we store must decode to what we meant.
        built
            .check_pair()
            .map_err(|e| self.header_error(e, end.seq))?;
        Ok(built)
    }

    /// A refused header is the submission's fault, except when our own encoding fails its
    /// pair check: that is a bug of ours, logged here and answered as an internal error.
    fn header_error(&self, e: HeaderError, seq: u64) -> SequencerError {
        match e {
            HeaderError::Unfaithful => {
                tracing::error!(archive = self.id, seq, error = %e, "a header failed its pair check; the submission is refused");
                SequencerError::Internal(e.to_string())
            }
            HeaderError::NoAgreement | HeaderError::Invalid(_) => {
                SequencerError::Invalid(e.to_string())
            }
        }
    }

    /// Puts the package into the draft (objects, references, header, tree nodes, lookups)
    /// and advances the sequenced state past it.
    fn put_package(
        &mut self,
        sub: &Submission,
        version: u64,
        fp: [u8; 32],
        built: BuiltHeader,
        draft: &mut Draft,
    ) -> Pending {
        let id = self.id;
        let seq = built.header.seq;
        let leaf = built.leaf;
        let header_len = built.bytes.len() as u64;
        for o in &sub.objects {
            draft.batch.put(
                cf::OBJECTS,
                &store::object_key(id, &o.digest),
                &store::encode_object(seq, &o.compressed),
            );
            draft
                .batch
                .put(cf::REFS, &store::refs_key(id, &o.digest, seq), &[]);
        }
        self.state.raw_bytes += header_len + sub.objects.iter().map(|o| o.size).sum::<u64>();
        self.state.hot_bytes += header_len
            + sub
                .objects
                .iter()
                .map(|o| o.compressed.len() as u64)
                .sum::<u64>();
        draft
            .batch
            .put(cf::HEADERS, &store::header_key(id, seq), &built.bytes);
        let (batch, nodes) = (&mut draft.batch, &mut draft.nodes);
        self.frontier.append(leaf, |level, index, h| {
            batch.put(cf::NODES, &store::node_key(id, level, index), &h.0);
            nodes.insert((level, index), h);
        });
        self.put_lookups(sub, seq, version, leaf, fp, draft);
        if sub.kind == Kind::Agreement {
            self.state.agreement = Some(AgreementRef {
                version: sub.agreement_version.unwrap_or(1),
                seq,
            });
        }
        self.prev = Some(leaf);
        self.state.size = seq + 1;
        self.state.last_time_ms = built.header.time_ms;
        Pending {
            seq,
            version,
            leaf,
            duplicate: false,
            duplicate_of_committed: false,
        }
    }

    /// Puts the package's record-key version, the key's latest entry and its index entries.
    fn put_lookups(
        &self,
        sub: &Submission,
        seq: u64,
        version: u64,
        leaf: Hash,
        fp: [u8; 32],
        draft: &mut Draft,
    ) {
        if let Some(key) = &sub.record_key {
            draft.batch.put(
                cf::RECORDS,
                &store::record_version_key(self.id, key, version),
                &store::encode_record_version(seq, &fp),
            );
            draft.batch.put(
                cf::LATEST,
                &store::record_prefix(self.id, key),
                &store::encode_latest(version, seq, &fp),
            );
            draft.keys.insert(key.clone(), (seq, version, leaf, fp));
        }
        for (field, value) in &sub.index {
            draft.batch.put(
                cf::INDEX,
                &store::index_key(self.id, field, value, seq),
                &[],
            );
        }
    }
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
