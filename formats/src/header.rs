//! The package header (AIP header): formats/package-header.md.
//!
//! A header is a CBOR map with integer keys 0..=12 in ascending order. Its exact encoded bytes
//! are the Merkle leaf data of the package, so decoding goes through the full strict gate and
//! the bytes are kept as received.

use std::collections::BTreeMap;

use minicbor::{Decoder, Encoder};

use crate::cbor::{self, schema};
use crate::error::DecodeError;
use crate::hash::{HASH_ALG_SHA256, Hash, leaf_hash};
use crate::limits::*;

/// Version of the package header format this code reads and writes.
pub const HEADER_VERSION: u64 = 1;
const HEADER_FIELDS: u64 = 13;

/// What a package holds (formats/package-header.md §3, key 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// One database row: one JSON object named by the record key.
    Record = 1,
    /// Documents: one or more files with metadata.
    Document = 2,
    /// A version of the archive's submission agreement.
    Agreement = 3,
    /// A disposition (retention end or erasure) record.
    Disposition = 4,
    /// The record of a finished integrity audit.
    Audit = 5,
    /// An access-log entry (who read what, when).
    Access = 6,
}

impl Kind {
    pub fn from_code(code: u64) -> Option<Kind> {
        Some(match code {
            1 => Kind::Record,
            2 => Kind::Document,
            3 => Kind::Agreement,
            4 => Kind::Disposition,
            5 => Kind::Audit,
            6 => Kind::Access,
            _ => return None,
        })
    }

    pub fn code(self) -> u64 {
        self as u64
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Record => "record",
            Kind::Document => "document",
            Kind::Agreement => "agreement",
            Kind::Disposition => "disposition",
            Kind::Audit => "audit",
            Kind::Access => "access",
        }
    }

    /// Kinds submitted by producers are validated by an agreement and must name it.
    pub fn needs_agreement(self) -> bool {
        matches!(self, Kind::Record | Kind::Document)
    }
}

/// The agreement version that validated a package, and the sequence number of the log entry
/// that sealed that version (key 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgreementRef {
    pub version: u64,
    pub seq: u64,
}

/// One declared metadata value. Numbers other than integers travel as their decimal text, so
/// that no float ever enters a hashed structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaValue {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// One content object of the package (key 11): its name, media type, size and SHA-256 over
/// its exact bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub name: String,
    pub media_type: String,
    pub size: u64,
    pub digest: Hash,
}

/// The decoded package header. Construct with a struct literal, then [`PackageHeader::encode`];
/// the encoder sorts metadata, the validator refuses anything the decoder would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageHeader {
    pub tenant: String,
    pub archive: String,
    /// Position in the archive's log, from 0; also the Merkle leaf index.
    pub seq: u64,
    /// Leaf hash of the package at `seq - 1`; `None` exactly when `seq == 0`.
    pub prev: Option<Hash>,
    /// Integration time, milliseconds since 1970-01-01T00:00:00Z, never decreasing in a log.
    pub time_ms: u64,
    pub kind: Kind,
    pub agreement: Option<AgreementRef>,
    pub record_key: Option<String>,
    pub metadata: BTreeMap<String, MetaValue>,
    pub objects: Vec<ObjectRef>,
    /// End of the retention period, milliseconds since the epoch; `None` keeps it forever.
    pub retain_until_ms: Option<u64>,
}

impl PackageHeader {
    /// Encodes as formats/package-header.md §2 says. Call [`PackageHeader::validate`] first:
    /// encoding does not check limits.
    pub fn encode(&self) -> Vec<u8> {
        cbor::encode_with(|e| {
            e.map(HEADER_FIELDS)?;
            e.u8(0)?.u64(HEADER_VERSION)?;
            e.u8(1)?.u64(HASH_ALG_SHA256)?;
            e.u8(2)?.str(&self.tenant)?;
            e.u8(3)?.str(&self.archive)?;
            e.u8(4)?.u64(self.seq)?;
            e.u8(5)?;
            match &self.prev {
                Some(h) => e.bytes(&h.0)?,
                None => e.null()?,
            };
            e.u8(6)?.u64(self.time_ms)?;
            e.u8(7)?.u64(self.kind.code())?;
            e.u8(8)?;
            match &self.agreement {
                Some(a) => e.array(2)?.u64(a.version)?.u64(a.seq)?,
                None => e.null()?,
            };
            e.u8(9)?;
            match &self.record_key {
                Some(k) => e.str(k)?,
                None => e.null()?,
            };
            e.u8(10)?;
            encode_metadata(e, &self.metadata)?;
            e.u8(11)?.array(self.objects.len() as u64)?;
            for o in &self.objects {
                e.array(4)?
                    .str(&o.name)?
                    .str(&o.media_type)?
                    .u64(o.size)?
                    .bytes(&o.digest.0)?;
            }
            e.u8(12)?;
            match self.retain_until_ms {
                Some(t) => e.u64(t)?,
                None => e.null()?,
            };
            Ok(())
        })
    }

    /// Decodes untrusted header bytes through the strict gate and checks every rule of
    /// formats/package-header.md §3. Bytes a trusted leaf vouches for can be read in place
    /// instead ([`HeaderView::decode_sealed`]).
    pub fn decode(bytes: &[u8]) -> Result<PackageHeader, DecodeError> {
        check_header_len(bytes)?;
        let header = cbor::decode_exact(bytes, decode_fields, PackageHeader::encode)?;
        // The encoding is `bytes`, whose length was checked above.
        header.validate_fields()?;
        Ok(header)
    }

    /// The Merkle leaf hash of this header's encoding. Only meaningful on the exact bytes
    /// that are stored; prefer [`leaf_hash`] over those bytes when you have them.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.encode())
    }

    /// Checks the semantic rules of formats/package-header.md §3 (producers of headers call
    /// it before encoding).
    pub fn validate(&self) -> Result<(), DecodeError> {
        self.validate_fields()?;
        // What the archive writes, every verifier must be able to open (formats/package-header.md §3).
        let encoded = self.encode().len();
        if encoded > HEADER_BYTES_MAX {
            return Err(limit("header bytes", encoded, HEADER_BYTES_MAX));
        }
        Ok(())
    }

    /// [`PackageHeader::validate`] but for the size of the encoding, for a caller that has
    /// the encoding at hand and checks its length itself (the decoders).
    pub fn validate_fields(&self) -> Result<(), DecodeError> {
        check_identifier("tenant", &self.tenant)?;
        check_identifier("archive", &self.archive)?;
        if (self.seq == 0) != self.prev.is_none() {
            return Err(schema(
                "prev (key 5) must be null exactly when seq (key 4) is 0",
            ));
        }
        match (self.kind.needs_agreement(), &self.agreement) {
            (true, None) => {
                return Err(schema(format!(
                    "a {} package must name its agreement (key 8)",
                    self.kind.name()
                )));
            }
            (_, Some(a)) if a.seq >= self.seq => {
                return Err(schema(
                    "agreement (key 8) must name an earlier entry of the same log",
                ));
            }
            _ => {}
        }
        if self.kind == Kind::Record && self.record_key.is_none() {
            return Err(schema("a record package must carry its record key (key 9)"));
        }
        if let Some(k) = &self.record_key {
            check_text("record key", k, RECORD_KEY_BYTES_MAX)?;
        }
        if self.metadata.len() > METADATA_FIELDS_MAX {
            return Err(limit(
                "metadata fields",
                self.metadata.len(),
                METADATA_FIELDS_MAX,
            ));
        }
        for (name, value) in &self.metadata {
            check_metadata_name(name)?;
            if let MetaValue::Text(t) = value {
                if t.len() > METADATA_VALUE_BYTES_MAX {
                    return Err(limit(
                        &format!("metadata value {name:?}"),
                        t.len(),
                        METADATA_VALUE_BYTES_MAX,
                    ));
                }
                if t.chars()
                    .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
                {
                    return Err(schema(format!(
                        "metadata value {name:?} contains a control character other than tab, CR or LF"
                    )));
                }
            }
        }
        if self.objects.len() > OBJECTS_MAX {
            return Err(limit("objects", self.objects.len(), OBJECTS_MAX));
        }
        let mut names = std::collections::BTreeSet::new();
        for o in &self.objects {
            check_text("object name", &o.name, OBJECT_NAME_BYTES_MAX)?;
            if o.name.contains(['/', '\\']) || o.name == "." || o.name == ".." {
                return Err(schema(format!(
                    "object name {:?} must not be '.', '..' or contain '/' or '\\'",
                    o.name
                )));
            }
            if !names.insert(o.name.as_str()) {
                return Err(schema(format!("object name {:?} appears twice", o.name)));
            }
            check_media_type(&o.media_type)?;
            if o.size > OBJECT_BYTES_MAX {
                return Err(limit(
                    "object size",
                    o.size as usize,
                    OBJECT_BYTES_MAX as usize,
                ));
            }
        }
        let objects: u64 = self.objects.iter().map(|o| o.size).sum();
        let budget =
            (PACKAGE_RAW_BYTES_MAX - HEADER_BYTES_MAX - PACKAGE_ENVELOPE_SLACK_BYTES) as u64;
        if objects > budget {
            return Err(limit(
                "total object bytes",
                objects as usize,
                budget as usize,
            ));
        }
        Ok(())
    }

    /// The checkpoint origin of this package's log under a log name (formats/checkpoint.md §2).
    pub fn origin(&self, log_name: &str) -> String {
        crate::checkpoint::origin(log_name, &self.tenant, &self.archive)
    }
}

fn encode_metadata(
    e: &mut Encoder<&mut Vec<u8>>,
    metadata: &BTreeMap<String, MetaValue>,
) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
    // Deterministic order is by encoded key bytes; for text keys under 256 bytes that is
    // shorter keys first, then bytewise (formats/cbor.md §2).
    let mut entries: Vec<_> = metadata.iter().collect();
    entries.sort_by(|a, b| (a.0.len(), a.0.as_bytes()).cmp(&(b.0.len(), b.0.as_bytes())));
    e.map(entries.len() as u64)?;
    for (name, value) in entries {
        e.str(name)?;
        match value {
            MetaValue::Text(t) => e.str(t)?,
            MetaValue::Int(i) => e.i64(*i)?,
            MetaValue::Bool(b) => e.bool(*b)?,
        };
    }
    Ok(())
}

fn decode_fields(d: &mut Decoder<'_>) -> Result<PackageHeader, DecodeError> {
    view_fields(d)?.to_header()
}

/// A header read in place from its encoding: the text borrowed, the metadata map left
/// encoded, and the positions of the 32-byte strings a reduced header zeroes
/// (formats/cold-segment.md §2). It checks the structure of formats/package-header.md §2
/// (keys, types, lengths) but not the rules of §3: use it only on bytes a trusted leaf
/// vouches for, as [`HeaderView::decode_sealed`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderView<'a> {
    pub tenant: &'a str,
    pub archive: &'a str,
    pub seq: u64,
    pub prev: Option<Hash>,
    pub time_ms: u64,
    pub kind: Kind,
    pub agreement: Option<AgreementRef>,
    pub record_key: Option<&'a str>,
    /// The metadata map (key 10) as encoded; [`HeaderView::to_header`] decodes it.
    pub metadata: &'a [u8],
    pub objects: Vec<ObjectView<'a>>,
    pub retain_until_ms: Option<u64>,
    /// Offset of prev's 32 bytes in the encoding (`None` when prev is null).
    prev_at: Option<usize>,
}

/// One content object of a [`HeaderView`], with the offset of its digest's 32 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectView<'a> {
    pub name: &'a str,
    pub media_type: &'a str,
    pub size: u64,
    pub digest: Hash,
    digest_at: usize,
}

impl<'a> HeaderView<'a> {
    /// Reads header bytes whose leaf hash the caller has matched against a trusted leaf
    /// (`leaf_hash(bytes) == leaf`), or will match before it trusts the result: such bytes
    /// are the ones that were validated and sealed, so neither the canonical re-encoding nor
    /// the rules of §3 are checked again, and nothing is copied. Verifiers of untrusted
    /// input use [`PackageHeader::decode`].
    pub fn decode_sealed(bytes: &'a [u8]) -> Result<HeaderView<'a>, DecodeError> {
        check_header_len(bytes)?;
        cbor::decode_whole(bytes, view_fields)
    }

    /// The header with its fields owned and its metadata decoded (the rules of §3 are not
    /// checked here; [`PackageHeader::validate_fields`] does).
    pub fn to_header(&self) -> Result<PackageHeader, DecodeError> {
        let mut metadata = BTreeMap::new();
        cbor::decode_whole(self.metadata, |d| {
            walk_metadata(d, |name, value| {
                metadata.insert(name.to_string(), value.to_owned());
            })
        })?;
        Ok(PackageHeader {
            tenant: self.tenant.to_string(),
            archive: self.archive.to_string(),
            seq: self.seq,
            prev: self.prev,
            time_ms: self.time_ms,
            kind: self.kind,
            agreement: self.agreement,
            record_key: self.record_key.map(str::to_string),
            metadata,
            objects: self
                .objects
                .iter()
                .map(|o| ObjectRef {
                    name: o.name.to_string(),
                    media_type: o.media_type.to_string(),
                    size: o.size,
                    digest: o.digest,
                })
                .collect(),
            retain_until_ms: self.retain_until_ms,
        })
    }

    /// The value of metadata field `name`, read from the encoded map.
    pub fn metadata_value(&self, name: &str) -> Option<MetaRef<'a>> {
        let mut found = None;
        let mut d = Decoder::new(self.metadata);
        walk_metadata(&mut d, |n, v| {
            if n == name {
                found = Some(v);
            }
        })
        .ok()?;
        found
    }

    /// Restores, in `bytes` (the encoding this view was read from, or a copy of it), the
    /// fields a reduced header zeroes (formats/cold-segment.md §2): prev, and each object's
    /// digest from `digests` (in object order). The encoding keeps its length and layout,
    /// so the result is the original header exactly when the stored content is intact; the
    /// caller compares its leaf with the trusted one. The view takes the restored values.
    pub fn restore_into(
        &mut self,
        bytes: &mut [u8],
        prev: Option<Hash>,
        digests: impl ExactSizeIterator<Item = Hash>,
    ) -> Result<(), DecodeError> {
        if digests.len() != self.objects.len() {
            return Err(schema(
                "segment package: object count differs from its header",
            ));
        }
        match (self.seq, self.prev_at, prev) {
            (0, None, _) => {}
            (0, Some(_), _) => {
                return Err(schema("reduced header: prev (key 5) must be null at seq 0"));
            }
            (seq, None, _) => {
                return Err(schema(format!(
                    "reduced header: prev (key 5) is null at seq {seq}; it must be 32 zero bytes"
                )));
            }
            (_, Some(_), None) => {
                return Err(schema(
                    "segment package: prev is needed to restore the header",
                ));
            }
            (_, Some(at), Some(p)) => {
                write_hash(bytes, at, &p)?;
                self.prev = Some(p);
            }
        }
        for (o, digest) in self.objects.iter_mut().zip(digests) {
            write_hash(bytes, o.digest_at, &digest)?;
            o.digest = digest;
        }
        Ok(())
    }
}

fn check_header_len(bytes: &[u8]) -> Result<(), DecodeError> {
    if bytes.len() > HEADER_BYTES_MAX {
        return Err(limit("header bytes", bytes.len(), HEADER_BYTES_MAX));
    }
    Ok(())
}

fn write_hash(bytes: &mut [u8], at: usize, h: &Hash) -> Result<(), DecodeError> {
    bytes
        .get_mut(at..at + h.0.len())
        .ok_or_else(|| schema("restored field outside the header bytes"))?
        .copy_from_slice(&h.0);
    Ok(())
}

/// A 32-byte string, with its offset in the input.
fn hash_at(d: &mut Decoder<'_>, what: &str) -> Result<(Hash, usize), DecodeError> {
    let h = cbor::hash(d, what)?;
    Ok((h, d.position() - h.0.len()))
}

fn view_fields<'a>(d: &mut Decoder<'a>) -> Result<HeaderView<'a>, DecodeError> {
    cbor::map_of(d, "header", HEADER_FIELDS)?;
    cbor::key(d, "header", 0)?;
    cbor::expect_value(d, "header version", HEADER_VERSION)?;
    cbor::key(d, "header", 1)?;
    cbor::expect_value(d, "hash algorithm", HASH_ALG_SHA256)?;
    cbor::key(d, "header", 2)?;
    let tenant = cbor::text(d, "tenant", IDENTIFIER_BYTES_MAX)?;
    cbor::key(d, "header", 3)?;
    let archive = cbor::text(d, "archive", IDENTIFIER_BYTES_MAX)?;
    cbor::key(d, "header", 4)?;
    let seq = cbor::uint(d, "seq")?;
    cbor::key(d, "header", 5)?;
    let (prev, prev_at) = if cbor::null(d, "prev")? {
        (None, None)
    } else {
        let (h, at) = hash_at(d, "prev")?;
        (Some(h), Some(at))
    };
    cbor::key(d, "header", 6)?;
    let time_ms = cbor::uint(d, "time")?;
    cbor::key(d, "header", 7)?;
    let code = cbor::uint(d, "kind")?;
    let kind = Kind::from_code(code).ok_or(DecodeError::Unsupported {
        what: "package kind".into(),
        value: code,
    })?;
    cbor::key(d, "header", 8)?;
    let agreement = if cbor::null(d, "agreement")? {
        None
    } else {
        if cbor::array_len(d, "agreement", 2)? != 2 {
            return Err(schema("agreement: expected [version, seq]"));
        }
        Some(AgreementRef {
            version: cbor::uint(d, "agreement version")?,
            seq: cbor::uint(d, "agreement seq")?,
        })
    };
    cbor::key(d, "header", 9)?;
    let record_key = if cbor::null(d, "record key")? {
        None
    } else {
        Some(cbor::text(d, "record key", RECORD_KEY_BYTES_MAX)?)
    };
    cbor::key(d, "header", 10)?;
    let start = d.position();
    walk_metadata(d, |_, _| {})?;
    let metadata = d
        .input()
        .get(start..d.position())
        .ok_or_else(|| schema("metadata: outside the header bytes"))?;
    cbor::key(d, "header", 11)?;
    let count = cbor::array_len(d, "objects", OBJECTS_MAX)?;
    let mut objects = Vec::with_capacity(count);
    for _ in 0..count {
        if cbor::array_len(d, "object", 4)? != 4 {
            return Err(schema("object: expected [name, media type, size, digest]"));
        }
        let name = cbor::text(d, "object name", OBJECT_NAME_BYTES_MAX)?;
        let media_type = cbor::text(d, "media type", MEDIA_TYPE_BYTES_MAX)?;
        let size = cbor::uint(d, "object size")?;
        let (digest, digest_at) = hash_at(d, "object digest")?;
        objects.push(ObjectView {
            name,
            media_type,
            size,
            digest,
            digest_at,
        });
    }
    cbor::key(d, "header", 12)?;
    let retain_until_ms = if cbor::null(d, "retain until")? {
        None
    } else {
        Some(cbor::uint(d, "retain until")?)
    };
    Ok(HeaderView {
        tenant,
        archive,
        seq,
        prev,
        time_ms,
        kind,
        agreement,
        record_key,
        metadata,
        objects,
        retain_until_ms,
        prev_at,
    })
}

/// One metadata value as read, borrowed from the encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaRef<'a> {
    Text(&'a str),
    Int(i64),
    Bool(bool),
}

impl MetaRef<'_> {
    pub fn to_owned(self) -> MetaValue {
        match self {
            MetaRef::Text(t) => MetaValue::Text(t.to_string()),
            MetaRef::Int(i) => MetaValue::Int(i),
            MetaRef::Bool(b) => MetaValue::Bool(b),
        }
    }
}

/// Reads the metadata map (key 10), handing each entry to `each` in encoded order.
fn walk_metadata<'a>(
    d: &mut Decoder<'a>,
    mut each: impl FnMut(&'a str, MetaRef<'a>),
) -> Result<(), DecodeError> {
    let len = d
        .map()
        .map_err(|e| schema(format!("metadata: {e}")))?
        .ok_or_else(|| schema("metadata: indefinite-length map"))?;
    if len > METADATA_FIELDS_MAX as u64 {
        return Err(limit("metadata fields", len as usize, METADATA_FIELDS_MAX));
    }
    for _ in 0..len {
        let name = cbor::text(d, "metadata name", METADATA_NAME_BYTES_MAX)?;
        use minicbor::data::Type;
        let ty = d
            .datatype()
            .map_err(|e| schema(format!("metadata {name:?}: {e}")))?;
        let value = match ty {
            Type::String => {
                MetaRef::Text(cbor::text(d, "metadata value", METADATA_VALUE_BYTES_MAX)?)
            }
            Type::Bool => MetaRef::Bool(d.bool().map_err(|e| schema(e.to_string()))?),
            Type::U8
            | Type::U16
            | Type::U32
            | Type::U64
            | Type::I8
            | Type::I16
            | Type::I32
            | Type::I64
            | Type::Int => MetaRef::Int(d.i64().map_err(|_| {
                schema(format!(
                    "metadata {name:?}: integer outside the 64-bit signed range"
                ))
            })?),
            other => {
                return Err(schema(format!(
                    "metadata {name:?}: {other} is not a text, integer or boolean"
                )));
            }
        };
        each(name, value);
    }
    Ok(())
}

fn limit(what: &str, got: usize, max: usize) -> DecodeError {
    DecodeError::Limit {
        what: what.into(),
        got: got as u64,
        max: max as u64,
    }
}

/// Tenant and archive identifiers: 1–64 bytes of `a-z 0-9 . _ -`, starting with a letter or
/// digit, so that they are safe in checkpoint origins, object keys and URLs.
pub fn check_identifier(what: &str, id: &str) -> Result<(), DecodeError> {
    let ok = !id.is_empty()
        && id.len() <= IDENTIFIER_BYTES_MAX
        && id.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || (i > 0 && matches!(b, b'.' | b'_' | b'-'))
        });
    if !ok {
        return Err(schema(format!(
            "{what} {id:?} must be 1-{IDENTIFIER_BYTES_MAX} bytes of a-z, 0-9, '.', '_', '-', starting with a letter or digit"
        )));
    }
    Ok(())
}

fn check_metadata_name(name: &str) -> Result<(), DecodeError> {
    let ok = !name.is_empty()
        && name.len() <= METADATA_NAME_BYTES_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !ok {
        return Err(schema(format!(
            "metadata name {name:?} must be 1-{METADATA_NAME_BYTES_MAX} bytes of A-Z, a-z, 0-9, '_', '-', '.'"
        )));
    }
    Ok(())
}

fn check_text_len(what: &str, text: &str, max: usize) -> Result<(), DecodeError> {
    if text.len() > max {
        return Err(limit(what, text.len(), max));
    }
    Ok(())
}

/// Non-empty, within `max` bytes, and free of control characters.
fn check_text(what: &str, text: &str, max: usize) -> Result<(), DecodeError> {
    check_text_len(what, text, max)?;
    if text.is_empty() || text.chars().any(char::is_control) {
        return Err(schema(format!(
            "{what} {text:?} must be non-empty and contain no control characters"
        )));
    }
    Ok(())
}

/// One canonical spelling per media type: lower-case `type/subtype` of RFC 6838
/// restricted-name characters (first a letter or digit), then `;name=value` parameters with a
/// lower-case name; no whitespace anywhere.
fn check_media_type(mt: &str) -> Result<(), DecodeError> {
    fn restricted(s: &str, lower: bool) -> bool {
        !s.is_empty()
            && s.len() <= 63
            && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && s.bytes().all(|b| {
                (b.is_ascii_alphanumeric() && !(lower && b.is_ascii_uppercase()))
                    || b"!#$&-^_.+".contains(&b)
            })
    }
    let mut parts = mt.split(';');
    let essence = parts.next().unwrap_or_default();
    let ok_essence = essence
        .split_once('/')
        .is_some_and(|(t, s)| restricted(t, true) && restricted(s, true));
    let ok_params = parts.all(|p| {
        p.split_once('=')
            .is_some_and(|(n, v)| restricted(n, true) && restricted(v, false))
    });
    if !ok_essence || !ok_params || mt.len() > MEDIA_TYPE_BYTES_MAX {
        return Err(schema(format!(
            "media type {mt:?} must be lower-case type/subtype[;name=value...] without spaces"
        )));
    }
    Ok(())
}
