//! Cold segments (formats/cold-segment.md): many packages in one immutable object, in
//! independently compressed blocks, with reduced headers (the derivable `prev` and object
//! digests zeroed) and an index for random access by seq and record key.

use std::io::Read;

use minicbor::Decoder;

use crate::cbor::{self, schema};
use crate::error::DecodeError;
use crate::hash::{HASH_LEN, Hash, leaf_hash, sha256};
use crate::header::{HeaderView, PackageHeader};
use crate::limits::{IDENTIFIER_BYTES_MAX, RECORD_KEY_BYTES_MAX};
use crate::sealed;

/// First and last 8 bytes of every segment (§3).
pub const SEGMENT_MAGIC: [u8; 8] = *b"ZGLSEG\x00\x01";
/// Index version this code reads and writes.
pub const SEGMENT_INDEX_VERSION: u64 = 1;
/// Trailer: index length (8), SHA-256 (32), magic (8).
pub const SEGMENT_TRAILER_BYTES: usize = 48;
pub use crate::limits::{
    SEGMENT_BLOCK_RAW_BYTES_MAX, SEGMENT_BYTES_MAX, SEGMENT_INDEX_BYTES_MAX, SEGMENT_PACKAGES_MAX,
};
/// Where a writer closes a block (§3, SHOULD).
pub const SEGMENT_BLOCK_TARGET_BYTES: usize = 64 << 10;

/// A block: where its frame lies in the segment and how large it inflates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRef {
    pub offset: u64,
    pub length: u64,
    pub raw_length: u64,
}

/// A package in the index: its seq, block, and place inside the inflated block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRef {
    pub seq: u64,
    pub block: u64,
    pub offset: u64,
    pub length: u64,
    pub record_key: Option<String>,
}

/// The index (§4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentIndex {
    pub tenant: String,
    pub archive: String,
    pub blocks: Vec<BlockRef>,
    pub packages: Vec<PackageRef>,
}

impl SegmentIndex {
    pub fn encode(&self) -> Vec<u8> {
        cbor::encode_with(|e| {
            e.array(5)?
                .u64(SEGMENT_INDEX_VERSION)?
                .str(&self.tenant)?
                .str(&self.archive)?;
            e.array(self.blocks.len() as u64)?;
            for b in &self.blocks {
                e.array(3)?
                    .u64(b.offset)?
                    .u64(b.length)?
                    .u64(b.raw_length)?;
            }
            e.array(self.packages.len() as u64)?;
            for p in &self.packages {
                e.array(5)?
                    .u64(p.seq)?
                    .u64(p.block)?
                    .u64(p.offset)?
                    .u64(p.length)?;
                match &p.record_key {
                    Some(k) => e.str(k)?,
                    None => e.null()?,
                };
            }
            Ok(())
        })
    }

    fn decode(d: &mut Decoder<'_>) -> Result<SegmentIndex, DecodeError> {
        if cbor::array_len(d, "segment index", 5)? != 5 {
            return Err(schema("segment index: expected 5 elements"));
        }
        cbor::expect_value(d, "segment index version", SEGMENT_INDEX_VERSION)?;
        let tenant = cbor::text(d, "tenant", IDENTIFIER_BYTES_MAX)?.to_string();
        let archive = cbor::text(d, "archive", IDENTIFIER_BYTES_MAX)?.to_string();
        let n = cbor::array_len(d, "blocks", SEGMENT_PACKAGES_MAX)?;
        let mut blocks = Vec::with_capacity(n);
        for _ in 0..n {
            if cbor::array_len(d, "block", 3)? != 3 {
                return Err(schema("block: expected [offset, length, raw-length]"));
            }
            blocks.push(BlockRef {
                offset: cbor::uint(d, "block offset")?,
                length: cbor::uint(d, "block length")?,
                raw_length: cbor::uint(d, "block raw length")?,
            });
        }
        let n = cbor::array_len(d, "packages", SEGMENT_PACKAGES_MAX)?;
        let mut packages = Vec::with_capacity(n);
        for _ in 0..n {
            if cbor::array_len(d, "package entry", 5)? != 5 {
                return Err(schema(
                    "package entry: expected [seq, block, offset, length, record-key]",
                ));
            }
            let seq = cbor::uint(d, "seq")?;
            let block = cbor::uint(d, "block")?;
            let offset = cbor::uint(d, "offset")?;
            let length = cbor::uint(d, "length")?;
            let record_key = if cbor::null(d, "record key")? {
                None
            } else {
                Some(cbor::text(d, "record key", RECORD_KEY_BYTES_MAX)?.to_string())
            };
            packages.push(PackageRef {
                seq,
                block,
                offset,
                length,
                record_key,
            });
        }
        Ok(SegmentIndex {
            tenant,
            archive,
            blocks,
            packages,
        })
    }

    /// §4: ascending unique seqs; blocks back to back from byte 8 up to `index_start`; every
    /// inflated byte of every block belongs to exactly one package.
    fn check(&self, index_start: u64) -> Result<(), DecodeError> {
        if self.packages.windows(2).any(|w| match w {
            [a, b] => a.seq >= b.seq,
            _ => false,
        }) {
            return Err(schema("segment index: seqs not ascending and unique"));
        }
        let mut at = SEGMENT_MAGIC.len() as u64;
        for b in &self.blocks {
            if b.offset != at {
                return Err(schema("segment index: blocks are not back to back"));
            }
            if b.raw_length == 0 || b.raw_length > SEGMENT_BLOCK_RAW_BYTES_MAX as u64 {
                return Err(schema(format!(
                    "segment index: a block's raw length {} is not 1 to {SEGMENT_BLOCK_RAW_BYTES_MAX}",
                    b.raw_length
                )));
            }
            at = at.saturating_add(b.length);
        }
        if at != index_start {
            return Err(schema(
                "segment index: the blocks do not end where the index starts",
            ));
        }
        if self.packages.iter().any(|p| p.length == 0) {
            return Err(schema("segment index: a package of length 0"));
        }
        let mut next = (0u64, 0u64);
        for p in &self.packages {
            if p.block != next.0 {
                let done = self.blocks.get(next.0 as usize).map(|b| b.raw_length);
                if done != Some(next.1) || p.block != next.0 + 1 || p.offset != 0 {
                    return Err(schema("segment index: packages do not tile the blocks"));
                }
                next = (p.block, 0);
            }
            if p.offset != next.1 {
                return Err(schema("segment index: packages do not tile the blocks"));
            }
            next.1 = p.offset.saturating_add(p.length);
        }
        let last_full = self
            .blocks
            .get(next.0 as usize)
            .is_none_or(|b| b.raw_length == next.1);
        if !last_full || (self.packages.is_empty() != self.blocks.is_empty()) {
            return Err(schema("segment index: packages do not tile the blocks"));
        }
        if self.packages.last().map_or(0, |p| p.block + 1) != self.blocks.len() as u64 {
            return Err(schema("segment index: a block holds no package"));
        }
        Ok(())
    }
}

/// One package to write into a segment: its exact header bytes and objects.
#[derive(Debug, Clone)]
pub struct SegmentPackage<'a> {
    pub header_bytes: &'a [u8],
    pub objects: Vec<&'a [u8]>,
}

/// The header with `prev` and every object digest zeroed (§2).
pub fn reduce_header(header: &PackageHeader) -> Vec<u8> {
    let mut h = header.clone();
    if h.prev.is_some() {
        h.prev = Some(Hash::ZERO);
    }
    for o in &mut h.objects {
        o.digest = Hash::ZERO;
    }
    h.encode()
}

/// Restores a reduced header (§2): `prev` from the caller's trusted leaf of seq − 1 and the
/// digests from the objects. The caller checks the result's leaf hash against its trusted leaf.
pub fn restore_header(
    reduced: &PackageHeader,
    prev: Option<Hash>,
    objects: &[Vec<u8>],
) -> Result<Vec<u8>, DecodeError> {
    let mut h = reduced.clone();
    restore_fields(&mut h, prev, objects)?;
    Ok(h.encode())
}

/// Puts `prev` and the objects' digests into a reduced header (§2).
fn restore_fields(
    h: &mut PackageHeader,
    prev: Option<Hash>,
    objects: &[impl AsRef<[u8]>],
) -> Result<(), DecodeError> {
    if h.objects.len() != objects.len() {
        return Err(schema(
            "segment package: object count differs from its header",
        ));
    }
    h.prev = if h.seq == 0 { None } else { prev };
    if h.seq > 0 && h.prev.is_none() {
        return Err(schema(
            "segment package: prev is needed to restore the header",
        ));
    }
    for (o, bytes) in h.objects.iter_mut().zip(objects) {
        o.digest = sha256(bytes.as_ref());
    }
    Ok(())
}

/// Writes a segment of `packages` (ascending seq) at zstd `level`.
pub fn encode_segment(
    tenant: &str,
    archive: &str,
    packages: &[SegmentPackage<'_>],
    level: i32,
) -> Result<Vec<u8>, DecodeError> {
    encode_segment_with(tenant, archive, packages, level, SEGMENT_BLOCK_TARGET_BYTES)
}

/// As [`encode_segment`], closing each block once it holds `block_target` bytes (at most
/// [`SEGMENT_BLOCK_RAW_BYTES_MAX`]): larger blocks compress better, smaller ones inflate less
/// per single-package read.
pub fn encode_segment_with(
    tenant: &str,
    archive: &str,
    packages: &[SegmentPackage<'_>],
    level: i32,
    block_target: usize,
) -> Result<Vec<u8>, DecodeError> {
    let block_target = block_target.clamp(1, SEGMENT_BLOCK_RAW_BYTES_MAX);
    if packages.len() > SEGMENT_PACKAGES_MAX {
        return Err(DecodeError::Limit {
            what: "packages in a segment".into(),
            got: packages.len() as u64,
            max: SEGMENT_PACKAGES_MAX as u64,
        });
    }
    let mut out = SEGMENT_MAGIC.to_vec();
    let mut index = SegmentIndex {
        tenant: tenant.into(),
        archive: archive.into(),
        blocks: Vec::new(),
        packages: Vec::new(),
    };
    let mut raw: Vec<u8> = Vec::new();
    let mut compressor =
        zstd::bulk::Compressor::new(level).map_err(|e| DecodeError::Zstd(e.to_string()))?;
    let flush = |compressor: &mut zstd::bulk::Compressor<'_>,
                 raw: &mut Vec<u8>,
                 out: &mut Vec<u8>,
                 blocks: &mut Vec<BlockRef>| {
        if raw.is_empty() {
            return Ok(());
        }
        let frame = compressor
            .compress(raw)
            .map_err(|e| DecodeError::Zstd(e.to_string()))?;
        blocks.push(BlockRef {
            offset: out.len() as u64,
            length: frame.len() as u64,
            raw_length: raw.len() as u64,
        });
        out.extend_from_slice(&frame);
        raw.clear();
        Ok::<(), DecodeError>(())
    };
    for p in packages {
        let header = PackageHeader::decode(p.header_bytes)?;
        let reduced = reduce_header(&header);
        let objects: Vec<Option<&[u8]>> = p.objects.iter().map(|o| Some(*o)).collect();
        let cbor = sealed::encode_package(&reduced, &objects);
        if !raw.is_empty() && raw.len() + cbor.len() > SEGMENT_BLOCK_RAW_BYTES_MAX {
            flush(&mut compressor, &mut raw, &mut out, &mut index.blocks)?;
        }
        index.packages.push(PackageRef {
            seq: header.seq,
            block: index.blocks.len() as u64,
            offset: raw.len() as u64,
            length: cbor.len() as u64,
            record_key: header.record_key.clone(),
        });
        raw.extend_from_slice(&cbor);
        if raw.len() >= block_target {
            flush(&mut compressor, &mut raw, &mut out, &mut index.blocks)?;
        }
    }
    flush(&mut compressor, &mut raw, &mut out, &mut index.blocks)?;
    let index_bytes = compressor
        .compress(&index.encode())
        .map_err(|e| DecodeError::Zstd(e.to_string()))?;
    out.extend_from_slice(&index_bytes);
    let digest = sha256(&out);
    out.extend_from_slice(&(index_bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(&digest.0);
    out.extend_from_slice(&SEGMENT_MAGIC);
    Ok(out)
}

/// Checks a segment's frame (magic, trailer hash) and decodes its index.
pub fn open_segment(bytes: &[u8]) -> Result<SegmentIndex, DecodeError> {
    if bytes.len() > SEGMENT_BYTES_MAX {
        return Err(DecodeError::Limit {
            what: "segment bytes".into(),
            got: bytes.len() as u64,
            max: SEGMENT_BYTES_MAX as u64,
        });
    }
    let body_len = bytes
        .len()
        .checked_sub(SEGMENT_TRAILER_BYTES)
        .filter(|n| *n >= SEGMENT_MAGIC.len())
        .ok_or_else(|| schema("segment: shorter than magic and trailer"))?;
    let (body, trailer) = bytes.split_at(body_len);
    let (len_bytes, rest) = trailer.split_at(8);
    let (digest, magic) = rest.split_at(HASH_LEN);
    if bytes.get(..8) != Some(SEGMENT_MAGIC.as_slice()) || magic != SEGMENT_MAGIC {
        return Err(schema("segment: bad magic"));
    }
    if sha256(body).0.as_slice() != digest {
        return Err(schema("segment: trailer hash does not match its bytes"));
    }
    let index_len = u64::from_be_bytes(len_bytes.try_into().unwrap_or([0xff; 8]));
    if index_len > SEGMENT_INDEX_BYTES_MAX as u64 || index_len > (body_len - 8) as u64 {
        return Err(schema("segment: index length out of range"));
    }
    let index_start = body_len - index_len as usize;
    let index_bytes = body
        .get(index_start..)
        .ok_or_else(|| schema("segment: index out of range"))?;
    sealed::check_one_frame(index_bytes)?;
    let mut index_cbor = Vec::new();
    zstd::stream::read::Decoder::with_buffer(index_bytes)
        .map_err(|e| DecodeError::Zstd(e.to_string()))?
        .take(SEGMENT_INDEX_BYTES_MAX as u64 + 1)
        .read_to_end(&mut index_cbor)
        .map_err(|e| DecodeError::Zstd(e.to_string()))?;
    if index_cbor.len() > SEGMENT_INDEX_BYTES_MAX {
        return Err(DecodeError::Limit {
            what: "segment index bytes".into(),
            got: index_cbor.len() as u64,
            max: SEGMENT_INDEX_BYTES_MAX as u64,
        });
    }
    let index = cbor::decode_exact(&index_cbor, SegmentIndex::decode, SegmentIndex::encode)?;
    index.check(index_start as u64)?;
    Ok(index)
}

/// Inflates block `n` of a segment (bounded by its declared raw length).
pub fn read_block(bytes: &[u8], index: &SegmentIndex, n: usize) -> Result<Vec<u8>, DecodeError> {
    let b = index
        .blocks
        .get(n)
        .ok_or_else(|| schema(format!("segment: no block {n}")))?;
    let frame = bytes
        .get(b.offset as usize..(b.offset + b.length) as usize)
        .ok_or_else(|| schema("segment: block out of range"))?;
    sealed::check_one_frame(frame)?;
    let mut raw = Vec::new();
    zstd::stream::read::Decoder::with_buffer(frame)
        .map_err(|e| DecodeError::Zstd(e.to_string()))?
        .take(b.raw_length + 1)
        .read_to_end(&mut raw)
        .map_err(|e| DecodeError::Zstd(e.to_string()))?;
    if raw.len() as u64 != b.raw_length {
        return Err(schema(
            "segment: block inflates to another length than its index says",
        ));
    }
    Ok(raw)
}

/// A package read back from a segment: exact header bytes (restored) and objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColdPackage {
    pub header_bytes: Vec<u8>,
    pub header: PackageHeader,
    pub objects: Vec<Vec<u8>>,
}

/// Reads the package at index position `i` from an inflated block, restores its header with
/// `prev` (the trusted leaf of seq − 1) and checks its leaf against `expected_leaf`.
pub fn read_package(
    block: &[u8],
    entry: &PackageRef,
    prev: Option<Hash>,
    expected_leaf: &Hash,
) -> Result<ColdPackage, DecodeError> {
    let (package, leaf) = open_package_ref(block, entry, prev)?;
    if leaf != *expected_leaf {
        return Err(schema(format!(
            "segment: package {} does not hash to its leaf",
            entry.seq
        )));
    }
    package.into_owned()
}

/// A package restored from an inflated block: its header read in place (text borrowed from
/// the block), its objects borrowed from the block.
#[derive(Debug, Clone)]
pub struct ColdPackageRef<'a> {
    pub header_bytes: Vec<u8>,
    pub header: HeaderView<'a>,
    pub objects: Vec<&'a [u8]>,
}

impl ColdPackageRef<'_> {
    /// The package with its header decoded and checked against the rules of
    /// formats/package-header.md §3, and its objects copied.
    pub fn into_owned(self) -> Result<ColdPackage, DecodeError> {
        let header = self.header.to_header()?;
        header.validate_fields()?;
        Ok(ColdPackage {
            header_bytes: self.header_bytes,
            header,
            objects: self.objects.into_iter().map(<[u8]>::to_vec).collect(),
        })
    }
}

/// Reads the package of `entry` from an inflated block and restores its header with `prev`
/// (§2), returning it with the leaf hash of the restored header; the caller MUST compare
/// that leaf with its trusted leaf before using the package, as [`read_package`] does. The
/// header is read in place and the objects are borrowed (an audit only hashes them;
/// [`ColdPackageRef::into_owned`] decodes and copies). The reduced header keeps the layout of the original
/// (§2), so it is restored in place: prev and each object's SHA-256 are written over their
/// zeroed 32-byte strings, and nothing is re-encoded. The result is the sealed encoding
/// exactly when the stored content is intact, which the leaf, compared by the caller before
/// it trusts anything, tells.
pub fn open_package_ref<'a>(
    block: &'a [u8],
    entry: &PackageRef,
    prev: Option<Hash>,
) -> Result<(ColdPackageRef<'a>, Hash), DecodeError> {
    let cbor = block
        .get(entry.offset as usize..(entry.offset + entry.length) as usize)
        .ok_or_else(|| schema("segment: package out of its block"))?;
    let (reduced_bytes, objects) = sealed::decode_package_cbor_whole(cbor)?;
    let mut header = HeaderView::decode_sealed(reduced_bytes)?;
    // The entry may come from the reader's own store rather than from the index, so only
    // the seq is compared here; the record key is inside the header bytes the caller's leaf
    // covers. Walking an index (`restore_package`) also compares the record key (§4).
    if header.seq != entry.seq {
        return Err(schema(format!(
            "segment: the index says seq {} but the header says {}",
            entry.seq, header.seq
        )));
    }
    let objects: Vec<&[u8]> = objects
        .into_iter()
        .map(|o| o.ok_or_else(|| schema("segment: a withheld object")))
        .collect::<Result<_, _>>()?;
    let mut header_bytes = reduced_bytes.to_vec();
    header.restore_into(&mut header_bytes, prev, objects.iter().map(|o| sha256(o)))?;
    let leaf = leaf_hash(&header_bytes);
    Ok((
        ColdPackageRef {
            header_bytes,
            header,
            objects,
        },
        leaf,
    ))
}

/// §4: an index entry states the seq and the record key (key 9, or null) of its header. A
/// reader that found the package through the index checks this (`restore_package` does);
/// one that located it by a location of its own compares the seq and its trusted leaf.
pub fn check_entry(
    entry: &PackageRef,
    seq: u64,
    record_key: Option<&str>,
) -> Result<(), DecodeError> {
    if seq != entry.seq {
        return Err(schema(format!(
            "segment: the index says seq {} but the header says {seq}",
            entry.seq
        )));
    }
    if record_key != entry.record_key.as_deref() {
        return Err(schema(format!(
            "segment: the index gives seq {seq} the record key {:?}, its header {record_key:?}",
            entry.record_key
        )));
    }
    Ok(())
}

/// Reads the package of `entry` from an inflated block and restores its header with `prev`
/// (§2 steps 1–4), without the leaf check: the caller MUST compare `LEAF(header_bytes)` with
/// its trusted leaf before using the package, as [`read_package`] does.
pub fn restore_package(
    block: &[u8],
    entry: &PackageRef,
    prev: Option<Hash>,
) -> Result<ColdPackage, DecodeError> {
    let cbor = block
        .get(entry.offset as usize..(entry.offset + entry.length) as usize)
        .ok_or_else(|| schema("segment: package out of its block"))?;
    let (reduced_bytes, objects) = sealed::decode_package_cbor(cbor)?;
    let reduced = PackageHeader::decode(&reduced_bytes)?;
    check_entry(entry, reduced.seq, reduced.record_key.as_deref())?;
    let objects: Vec<Vec<u8>> = objects
        .into_iter()
        .map(|o| o.ok_or_else(|| schema("segment: a withheld object")))
        .collect::<Result<_, _>>()?;
    let header_bytes = restore_header(&reduced, prev, &objects)?;
    let header = PackageHeader::decode(&header_bytes)?;
    Ok(ColdPackage {
        header_bytes,
        header,
        objects,
    })
}
