//! Checkpoints: C2SP tlog-checkpoint bodies in Ed25519 signed notes (formats/checkpoint.md).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::error::DecodeError;
use crate::hash::Hash;
use crate::note::{self, Note, NoteError, SigningKey, VerifierKey};

/// The origin line of an archive's log: `<log name>/<tenant>/<archive>`, where the log name is
/// the name of the signing key (formats/checkpoint.md §2).
pub fn origin(log_name: &str, tenant: &str, archive: &str) -> String {
    format!("{log_name}/{tenant}/{archive}")
}

/// A tree head: origin, size and RFC 9162 root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: three lines, each ending in a newline, no extension lines.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root.0)
        )
    }

    /// Signs the checkpoint as a note.
    pub fn sign(&self, key: &SigningKey) -> String {
        note::sign_note(&self.body(), key)
    }

    /// Parses a checkpoint body strictly: origin, decimal size without leading zeros, the
    /// canonical base64 of 32 bytes; extension lines are accepted and ignored, as
    /// tlog-checkpoint requires of verifiers.
    pub fn parse_body(text: &str) -> Result<Checkpoint, DecodeError> {
        let bad = |m: &str| DecodeError::Note(format!("checkpoint: {m}"));
        let mut lines = text.split('\n');
        let origin = lines.next().unwrap_or_default();
        let size = lines.next().ok_or_else(|| bad("missing tree size line"))?;
        let root = lines.next().ok_or_else(|| bad("missing root hash line"))?;
        note::check_key_name(origin)
            .map_err(|_| bad("origin must be non-empty with no spaces or '+'"))?;
        let size_ok = !size.is_empty()
            && size.len() <= 20
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        let size: u64 = size
            .parse()
            .ok()
            .filter(|_| size_ok)
            .ok_or_else(|| bad("tree size must be a decimal number without leading zeros"))?;
        let raw = B64
            .decode(root)
            .map_err(|_| bad("root hash is not base64"))?;
        let root_hash = Hash::from_slice(&raw).ok_or_else(|| bad("root hash must be 32 bytes"))?;
        if B64.encode(raw) != root {
            return Err(bad("root hash base64 is not canonical"));
        }
        // Remaining lines: extension lines (non-empty), then the final empty piece after the
        // trailing newline.
        let rest: Vec<&str> = lines.collect();
        match rest.split_last() {
            Some((last, ext)) if last.is_empty() && ext.iter().all(|l| !l.is_empty()) => {}
            _ => {
                return Err(bad(
                    "the body must end in a newline and hold no empty lines",
                ));
            }
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root: root_hash,
        })
    }
}

/// Why a checkpoint note was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Note(#[from] NoteError),
    #[error("malformed checkpoint: {0}")]
    Malformed(#[from] DecodeError),
}

/// Parses and verifies a signed checkpoint from untrusted bytes.
pub fn open(bytes: &[u8], key: &VerifierKey) -> Result<Checkpoint, CheckpointError> {
    let note: Note = note::parse_note(bytes)?;
    note::verify_note(&note, key)?;
    Ok(Checkpoint::parse_body(&note.text)?)
}
