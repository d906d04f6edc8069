//! Objects as the sequencer takes them: hashed and compressed by the submitting task, so the
//! sequencer thread only sequences and commits.

use std::cell::RefCell;

use zegel_format::hash::{Hash, sha256};
use zegel_format::header::ObjectRef;

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
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { RefCell::new(None) };
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

    /// The header's entry for this object.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef {
            name: self.name.clone(),
            media_type: self.media_type.clone(),
            size: self.size,
            digest: self.digest,
        }
    }
}
