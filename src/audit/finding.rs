//! What an audit reports: findings (package, object, check, expected, found) and the tallies
//! of what the package and log checks covered.

use serde::{Deserialize, Serialize};
use zegel_format::hash::Hash;

use crate::archive::archives::ArchiveInfo;

/// One problem an audit found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub archive: String,
    /// The package concerned, if the check is about one.
    pub seq: Option<u64>,
    /// The object concerned (name), if any.
    pub object: Option<String>,
    /// Which check failed, e.g. `header.leaf`, `object.digest`, `chain.prev`,
    /// `checkpoint.root`, `retention.overdue`.
    pub check: String,
    pub expected: Option<String>,
    pub found: Option<String>,
    pub detail: String,
}

impl Finding {
    pub(crate) fn new(
        info: &ArchiveInfo,
        seq: Option<u64>,
        check: &str,
        detail: impl Into<String>,
    ) -> Self {
        Finding {
            archive: info.archive.clone(),
            seq,
            object: None,
            check: check.into(),
            expected: None,
            found: None,
            detail: detail.into(),
        }
    }

    pub(crate) fn hashes(mut self, expected: &Hash, found: &Hash) -> Self {
        self.expected = Some(expected.to_string());
        self.found = Some(found.to_string());
        self
    }
}

/// What one range of package checks covered.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PackageTally {
    /// Seqs examined (sampled out ones included).
    pub examined: u64,
    /// Packages whose header and objects were re-hashed.
    pub checked: u64,
    /// Disposed packages whose mark and disposition record were checked.
    pub disposed: u64,
    /// Objects re-hashed.
    pub objects: u64,
    /// Bytes of content re-hashed (header bytes plus objects, uncompressed).
    pub bytes: u64,
}

/// What the log checks covered.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LogTally {
    pub leaves: u64,
    pub checkpoints: u64,
    pub signed_heads: u64,
    pub consistency_proofs: u64,
}
