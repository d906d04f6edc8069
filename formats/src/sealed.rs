//! The sealed package: one zstd frame holding the CBOR array
//! `[version, header-bytes, [object-bytes or null, ...]]` (formats/sealed-package.md).
//!
//! zstd is only the storage encoding: no hash covers the compressed bytes, so a package can be
//! recompressed (another level, or other storage layouts in the cold tier) without touching
//! any proof. A sealed package is always a plain zstd frame: a frame that needs a dictionary is
//! refused, so the cold tier's dictionaries stay inside the cold layout, not in this format.

use std::io::Read;

use minicbor::Decoder;

use crate::cbor::{self, schema};
use crate::error::DecodeError;
use crate::hash::{Hash, leaf_hash, sha256};
use crate::header::PackageHeader;
use crate::limits::{HEADER_BYTES_MAX, OBJECTS_MAX, PACKAGE_RAW_BYTES_MAX, SEALED_BYTES_MAX};

/// Version of the sealed-package envelope.
pub const SEALED_VERSION: u64 = 1;
/// zstd level used when sealing; the format accepts any level.
pub const SEAL_ZSTD_LEVEL: i32 = 3;

/// A decoded sealed package. `header_bytes` are the exact bytes found inside, the ones the
/// leaf hash covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedPackage {
    pub header_bytes: Vec<u8>,
    pub header: PackageHeader,
    /// One entry per header object, in order; `None` where the content was withheld or
    /// disposed (its digest in the header still stands).
    pub objects: Vec<Option<Vec<u8>>>,
}

/// The outcome of checking one object against the header (fixity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectCheck {
    Ok {
        name: String,
        size: u64,
    },
    Withheld {
        name: String,
    },
    SizeMismatch {
        name: String,
        expected: u64,
        found: u64,
    },
    DigestMismatch {
        name: String,
        expected: Hash,
        found: Hash,
    },
}

impl ObjectCheck {
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            ObjectCheck::SizeMismatch { .. } | ObjectCheck::DigestMismatch { .. }
        )
    }
}

impl OpenedPackage {
    /// RFC 9162 leaf hash over the exact header bytes.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.header_bytes)
    }

    /// Re-hashes every present object and compares size and SHA-256 with the header.
    pub fn check_objects(&self) -> Vec<ObjectCheck> {
        self.header
            .objects
            .iter()
            .zip(&self.objects)
            .map(|(meta, body)| match body {
                None => ObjectCheck::Withheld {
                    name: meta.name.clone(),
                },
                Some(b) if b.len() as u64 != meta.size => ObjectCheck::SizeMismatch {
                    name: meta.name.clone(),
                    expected: meta.size,
                    found: b.len() as u64,
                },
                Some(b) => {
                    let found = sha256(b);
                    if found == meta.digest {
                        ObjectCheck::Ok {
                            name: meta.name.clone(),
                            size: meta.size,
                        }
                    } else {
                        ObjectCheck::DigestMismatch {
                            name: meta.name.clone(),
                            expected: meta.digest,
                            found,
                        }
                    }
                }
            })
            .collect()
    }
}

/// Encodes the uncompressed package CBOR (formats/sealed-package.md §2).
pub fn encode_package(header_bytes: &[u8], objects: &[Option<&[u8]>]) -> Vec<u8> {
    cbor::encode_with(|e| {
        e.array(3)?.u64(SEALED_VERSION)?.bytes(header_bytes)?;
        e.array(objects.len() as u64)?;
        for o in objects {
            match o {
                Some(b) => e.bytes(b)?,
                None => e.null()?,
            };
        }
        Ok(())
    })
}

/// Seals packages with one reused zstd context (a fresh context per row costs more than the
/// rest of sealing together).
pub struct Sealer {
    compressor: zstd::bulk::Compressor<'static>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer")
    }
}

impl Sealer {
    pub fn new(level: i32) -> std::io::Result<Sealer> {
        Ok(Sealer {
            compressor: zstd::bulk::Compressor::new(level)?,
        })
    }

    /// Encodes and compresses one package. The caller has validated and encoded the header.
    pub fn seal(
        &mut self,
        header_bytes: &[u8],
        objects: &[Option<&[u8]>],
    ) -> std::io::Result<Vec<u8>> {
        self.compressor
            .compress(&encode_package(header_bytes, objects))
    }
}

/// Decompresses and decodes a sealed package from untrusted bytes: one zstd frame, at most
/// [`PACKAGE_RAW_BYTES_MAX`] decompressed, then the strict CBOR gate for the envelope and the
/// header. Object digests are not checked here: see [`OpenedPackage::check_objects`].
pub fn open(sealed: &[u8]) -> Result<OpenedPackage, DecodeError> {
    if sealed.len() > SEALED_BYTES_MAX {
        return Err(DecodeError::Limit {
            what: "sealed package bytes".into(),
            got: sealed.len() as u64,
            max: SEALED_BYTES_MAX as u64,
        });
    }
    let raw = decompress_one_frame(sealed)?;
    let (header_bytes, objects) = decode_package_cbor(&raw)?;
    let header = PackageHeader::decode(&header_bytes)?;
    if header.objects.len() != objects.len() {
        return Err(schema(format!(
            "the header lists {} objects but the package holds {}",
            header.objects.len(),
            objects.len()
        )));
    }
    Ok(OpenedPackage {
        header_bytes,
        header,
        objects,
    })
}

type Envelope = (Vec<u8>, Vec<Option<Vec<u8>>>);

/// Decodes the uncompressed package CBOR (§2) through the strict gate: header bytes (not yet
/// decoded) and objects.
pub fn decode_package_cbor(raw: &[u8]) -> Result<Envelope, DecodeError> {
    cbor::decode_exact(raw, decode_envelope, |(h, o)| {
        let refs: Vec<Option<&[u8]>> = o.iter().map(|x| x.as_deref()).collect();
        encode_package(h, &refs)
    })
}

/// As [`decode_package_cbor`] without the canonical gate and without copies: the header
/// bytes and objects borrowed from `raw`, for a package whose restored header the caller
/// checks against a trusted leaf (the objects through their digests in it).
pub(crate) fn decode_package_cbor_whole(raw: &[u8]) -> Result<EnvelopeRef<'_>, DecodeError> {
    cbor::decode_whole(raw, decode_envelope_ref)
}

/// Header bytes and objects (`None`: withheld), borrowed from the package CBOR.
type EnvelopeRef<'b> = (&'b [u8], Vec<Option<&'b [u8]>>);

fn decode_envelope(d: &mut Decoder<'_>) -> Result<Envelope, DecodeError> {
    let (header, objects) = decode_envelope_ref(d)?;
    Ok((
        header.to_vec(),
        objects.into_iter().map(|o| o.map(<[u8]>::to_vec)).collect(),
    ))
}

fn decode_envelope_ref<'b>(d: &mut Decoder<'b>) -> Result<EnvelopeRef<'b>, DecodeError> {
    if cbor::array_len(d, "sealed package", 3)? != 3 {
        return Err(schema(
            "sealed package: expected [version, header, objects]",
        ));
    }
    cbor::expect_value(d, "sealed package version", SEALED_VERSION)?;
    let header = cbor::bytes(d, "header")?;
    if header.len() > HEADER_BYTES_MAX {
        return Err(DecodeError::Limit {
            what: "header bytes".into(),
            got: header.len() as u64,
            max: HEADER_BYTES_MAX as u64,
        });
    }
    let count = cbor::array_len(d, "objects", OBJECTS_MAX)?;
    let mut objects = Vec::with_capacity(count);
    for _ in 0..count {
        objects.push(if cbor::null(d, "object")? {
            None
        } else {
            Some(cbor::bytes(d, "object")?)
        });
    }
    Ok((header, objects))
}

/// The bytes are exactly one zstd frame: nothing before it, nothing after it.
pub(crate) fn check_one_frame(bytes: &[u8]) -> Result<(), DecodeError> {
    let frame_len = zstd::zstd_safe::find_frame_compressed_size(bytes)
        .map_err(|code| DecodeError::Zstd(zstd::zstd_safe::get_error_name(code).to_string()))?;
    if frame_len != bytes.len() {
        return Err(DecodeError::Zstd(format!(
            "{} bytes after the zstd frame",
            bytes.len() - frame_len
        )));
    }
    Ok(())
}

/// Exactly one zstd frame, decompressed with a hard output limit (no trust in the frame's
/// declared size: a bomb stops at the limit).
fn decompress_one_frame(sealed: &[u8]) -> Result<Vec<u8>, DecodeError> {
    check_one_frame(sealed)?;
    let decoder = zstd::stream::read::Decoder::with_buffer(sealed)
        .map_err(|e| DecodeError::Zstd(e.to_string()))?;
    let mut raw = Vec::new();
    decoder
        .take(PACKAGE_RAW_BYTES_MAX as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(|e| DecodeError::Zstd(e.to_string()))?;
    if raw.len() > PACKAGE_RAW_BYTES_MAX {
        return Err(DecodeError::Limit {
            what: "decompressed package bytes".into(),
            got: raw.len() as u64,
            max: PACKAGE_RAW_BYTES_MAX as u64,
        });
    }
    Ok(raw)
}
