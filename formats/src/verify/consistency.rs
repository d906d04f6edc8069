//! `verify_consistency`: two signed checkpoints of one log and the proof between them.

use crate::checkpoint::{self, CheckpointError};
use crate::note::{NoteError, VerifierKey};
use crate::proof::ConsistencyProof;

use super::report::{Outcome, Report};

/// Verifies that two signed checkpoints of one log are consistent.
pub fn verify_consistency(
    old_checkpoint: &[u8],
    new_checkpoint: &[u8],
    proof: &[u8],
    key: &VerifierKey,
) -> Report {
    let mut r = Report::default();
    let open = |r: &mut Report, name: &str, bytes: &[u8]| match checkpoint::open(bytes, key) {
        Ok(cp) => {
            r.pass(
                format!("{name}.signature"),
                format!("{} at size {}", cp.origin, cp.size),
            );
            Some(cp)
        }
        Err(CheckpointError::Note(NoteError::Malformed(e)))
        | Err(CheckpointError::Malformed(e)) => {
            r.fail(
                format!("{name}.decode"),
                Outcome::DecodeError,
                e.to_string(),
            );
            None
        }
        Err(CheckpointError::Note(e)) => {
            r.fail(
                format!("{name}.signature"),
                Outcome::BadSignature,
                e.to_string(),
            );
            None
        }
    };
    let (Some(old), Some(new)) = (
        open(&mut r, "old-checkpoint", old_checkpoint),
        open(&mut r, "new-checkpoint", new_checkpoint),
    ) else {
        return r;
    };
    if old.origin != new.origin {
        r.fail(
            "checkpoint.origin",
            Outcome::BadOrigin,
            format!("{:?} and {:?} are different logs", old.origin, new.origin),
        );
        return r;
    }
    let proof = match ConsistencyProof::decode(proof) {
        Ok(p) => p,
        Err(e) => {
            r.fail("proof.decode", Outcome::DecodeError, e.to_string());
            return r;
        }
    };
    if proof.old != old.size || proof.new != new.size {
        r.fail(
            "proof.consistency",
            Outcome::BadProof,
            format!(
                "proof is from size {} to {}, the checkpoints are at {} and {}",
                proof.old, proof.new, old.size, new.size
            ),
        );
        return r;
    }
    match proof.verify(&old.root, &new.root) {
        Ok(()) => r.pass(
            "proof.consistency",
            format!(
                "the tree of {} is a prefix of the tree of {}",
                old.size, new.size
            ),
        ),
        Err(e) => r.fail("proof.consistency", Outcome::BadProof, e.to_string()),
    }
    r
}
