//! Sealing rows into a log without a server: [`build_header`], the one builder of package
//! headers that every writer of a log uses (the server's sequencer too); [`LogWriter`], an
//! in-memory log; and `zegel seal`, which writes a whole log directory that `zegel-verify`
//! can check.
//!
//! A [`LogWriter`] assigns sequence numbers, links each header to the previous leaf hash,
//! appends to the Merkle tree and signs one receipt head per group of packages.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

use serde_json::value::RawValue;
use zegel_format::checkpoint::{self, Checkpoint};
use zegel_format::hash::{Hash, leaf_hash, sha256};
use zegel_format::header::{AgreementRef, Kind, MetaValue, ObjectRef, PackageHeader};
use zegel_format::merkle::{self, MemoryTree};
use zegel_format::note::SigningKey;
use zegel_format::proof::InclusionProof;
use zegel_format::receipt::{Receipt, ReceiptHead, SignedHead};
use zegel_format::sealed::{SEAL_ZSTD_LEVEL, Sealer};
use zegel_format::sip::{self, RECORD_MEDIA_TYPE, RECORD_OBJECT_NAME};

use crate::limits::{SEAL_LINE_BYTES_MAX, SEAL_ROWS_MAX};

/// One content object to seal.
#[derive(Debug, Clone)]
pub struct Object<'a> {
    pub name: &'a str,
    pub media_type: &'a str,
    pub bytes: &'a [u8],
}

impl Object<'_> {
    /// The header's entry for this object: name, media type, length and digest of the bytes.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef {
            name: self.name.into(),
            media_type: self.media_type.into(),
            size: self.bytes.len() as u64,
            digest: sha256(self.bytes),
        }
    }
}

/// A package just appended.
#[derive(Debug, Clone)]
pub struct Appended {
    pub seq: u64,
    pub leaf: Hash,
    pub header_bytes: Vec<u8>,
    pub sealed: Vec<u8>,
}

/// Why sealing failed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("invalid package: {0}")]
    Invalid(#[from] zegel_format::DecodeError),
    #[error("invalid package: {0}")]
    Header(#[from] HeaderError),
    #[error("line {line}: {problem}")]
    Row { line: usize, problem: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Proof(#[from] merkle::ProofError),
}

/// When a package's retention ends, resolved when its header is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    Until(u64),
    AfterIngestMs(u64),
    Forever,
}

impl Retention {
    /// The retention end of a package sealed at `time_ms`, as its header names it.
    pub fn until_ms(self, time_ms: u64) -> Option<u64> {
        match self {
            Retention::Until(t) => Some(t),
            Retention::AfterIngestMs(d) => Some(time_ms.saturating_add(d)),
            Retention::Forever => None,
        }
    }
}

/// The end of a log as its one writer knows it: what the next header continues.
#[derive(Debug, Clone, Copy)]
pub struct LogEnd<'a> {
    /// The next sequence number: the size of the tree.
    pub seq: u64,
    /// The leaf hash of the last package; `None` for an empty log.
    pub prev: Option<Hash>,
    /// The time of the last package or signed head: no header's time goes below it.
    pub last_time_ms: u64,
    /// The agreement in force, named by the packages that need one.
    pub agreement: Option<AgreementRef>,
    /// Whose log it is.
    pub tenant: &'a str,
    pub archive: &'a str,
}

/// A package's own fields, as its writer was given them; the header gets copies.
#[derive(Debug, Clone)]
pub struct PackageFields<'a> {
    pub kind: Kind,
    pub record_key: Option<&'a str>,
    pub metadata: &'a BTreeMap<String, MetaValue>,
    pub objects: Vec<ObjectRef>,
    pub retention: Retention,
}

/// A header built at the end of a log, checked (formats/package-header.md §3) and encoded;
/// `leaf` is the hash of exactly `bytes`.
#[derive(Debug, Clone)]
pub struct BuiltHeader {
    pub header: PackageHeader,
    pub bytes: Vec<u8>,
    pub leaf: Hash,
}

/// Why a header could not be built.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HeaderError {
    /// The package needs an agreement and none is in force: the caller's input.
    #[error("the archive has no agreement yet")]
    NoAgreement,
    /// The fields break a rule of the header: the caller's input.
    #[error("{0}")]
    Invalid(#[from] zegel_format::DecodeError),
    /// The encoding does not decode to the header it encodes: a bug of ours, never the input.
    #[error("header does not survive its own decoder")]
    Unfaithful,
}

/// Builds the header of the next package of a log, as every writer of a log does (`zegel
/// seal` and the server's sequencer): the sequence number, the link to the previous leaf and
/// the agreement in force from `end`, a time never below the log's last (`now_ms` is raised),
/// the retention end resolved at that time.
pub fn build_header(
    end: &LogEnd<'_>,
    fields: PackageFields<'_>,
    now_ms: u64,
) -> Result<BuiltHeader, HeaderError> {
    let time_ms = now_ms.max(end.last_time_ms);
    let agreement = if fields.kind.needs_agreement() {
        Some(end.agreement.ok_or(HeaderError::NoAgreement)?)
    } else {
        None
    };
    let header = PackageHeader {
        tenant: end.tenant.into(),
        archive: end.archive.into(),
        seq: end.seq,
        prev: end.prev,
        time_ms,
        kind: fields.kind,
        agreement,
        record_key: fields.record_key.map(str::to_owned),
        metadata: fields.metadata.clone(),
        objects: fields.objects,
        retain_until_ms: fields.retention.until_ms(time_ms),
    };
    header.validate()?;
    let bytes = header.encode();
    let leaf = leaf_hash(&bytes);
    Ok(BuiltHeader {
        header,
        bytes,
        leaf,
    })
}

impl BuiltHeader {
    /// Pair assertion for a writer about to make the header durable: the bytes decode to
    /// exactly the header they were encoded from.
    pub fn check_pair(&self) -> Result<(), HeaderError> {
        match PackageHeader::decode(&self.bytes) {
            Ok(decoded) if decoded == self.header => Ok(()),
            _ => Err(HeaderError::Unfaithful),
        }
    }
}

/// The single writer of one archive's log, in memory. Owned by one thread; not shared.
#[derive(Debug)]
pub struct LogWriter {
    key: SigningKey,
    tenant: String,
    archive: String,
    tree: MemoryTree,
    prev: Option<Hash>,
    last_time_ms: u64,
    agreement: Option<AgreementRef>,
    sealer: Sealer,
}

impl LogWriter {
    pub fn new(key: SigningKey, tenant: &str, archive: &str) -> Result<LogWriter, SealError> {
        zegel_format::header::check_identifier("tenant", tenant)?;
        zegel_format::header::check_identifier("archive", archive)?;
        Ok(LogWriter {
            key,
            tenant: tenant.into(),
            archive: archive.into(),
            tree: MemoryTree::new(),
            prev: None,
            last_time_ms: 0,
            agreement: None,
            sealer: Sealer::new(SEAL_ZSTD_LEVEL)?,
        })
    }

    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    pub fn tree(&self) -> &MemoryTree {
        &self.tree
    }

    pub fn origin(&self) -> String {
        checkpoint::origin(self.key.name(), &self.tenant, &self.archive)
    }

    /// Seals the agreement version that validates the packages after it.
    pub fn append_agreement(
        &mut self,
        version: u64,
        document: &[u8],
        now_ms: u64,
    ) -> Result<Appended, SealError> {
        let a = self.append(
            Kind::Agreement,
            None,
            BTreeMap::new(),
            &[Object {
                name: "agreement.json",
                media_type: "application/json",
                bytes: document,
            }],
            None,
            now_ms,
        )?;
        self.agreement = Some(AgreementRef {
            version,
            seq: a.seq,
        });
        Ok(a)
    }

    /// Seals one package. Times never go backwards in a log: an earlier `now_ms` is raised.
    pub fn append(
        &mut self,
        kind: Kind,
        record_key: Option<String>,
        metadata: BTreeMap<String, MetaValue>,
        objects: &[Object<'_>],
        retain_until_ms: Option<u64>,
        now_ms: u64,
    ) -> Result<Appended, SealError> {
        let end = LogEnd {
            seq: self.tree.size(),
            prev: self.prev,
            last_time_ms: self.last_time_ms,
            agreement: self.agreement,
            tenant: &self.tenant,
            archive: &self.archive,
        };
        let fields = PackageFields {
            kind,
            record_key: record_key.as_deref(),
            metadata: &metadata,
            objects: objects.iter().map(Object::object_ref).collect(),
            retention: retain_until_ms.map_or(Retention::Forever, Retention::Until),
        };
        let built = build_header(&end, fields, now_ms)?;
        let bodies: Vec<Option<&[u8]>> = objects.iter().map(|o| Some(o.bytes)).collect();
        let sealed = self.sealer.seal(&built.bytes, &bodies)?;
        self.tree.push(built.leaf);
        self.prev = Some(built.leaf);
        self.last_time_ms = built.header.time_ms;
        Ok(Appended {
            seq: built.header.seq,
            leaf: built.leaf,
            header_bytes: built.bytes,
            sealed,
        })
    }

    /// Signs the current tree head once; every package in it gets its receipt from this.
    pub fn sign_head(&mut self, now_ms: u64) -> Result<SignedHead, SealError> {
        let time_ms = now_ms.max(self.last_time_ms);
        self.last_time_ms = time_ms;
        let head = ReceiptHead {
            origin: self.origin(),
            size: self.tree.size(),
            root: self.tree.root(),
            time_ms,
        };
        Ok(SignedHead::sign(head, &self.key))
    }

    /// The receipt of leaf `seq` under a signed head.
    pub fn receipt(&self, head: &SignedHead, seq: u64, leaf: Hash) -> Result<Receipt, SealError> {
        let path = merkle::inclusion_proof(&self.tree, seq, head.head.size)?;
        Ok(head.receipt(seq, leaf, path))
    }

    /// The signed checkpoint of the current tree.
    pub fn checkpoint(&self) -> String {
        Checkpoint {
            origin: self.origin(),
            size: self.tree.size(),
            root: self.tree.root(),
        }
        .sign(&self.key)
    }

    pub fn inclusion(&self, seq: u64) -> Result<InclusionProof, SealError> {
        let size = self.tree.size();
        Ok(InclusionProof {
            index: seq,
            size,
            path: merkle::inclusion_proof(&self.tree, seq, size)?,
        })
    }
}

/// What `zegel seal` is told.
#[derive(Debug, Clone)]
pub struct SealOptions {
    pub tenant: String,
    pub archive: String,
    /// The JSON field of each row holding its record key.
    pub key_field: String,
    /// Fields copied into the header's metadata.
    pub index: Vec<String>,
    /// Rows per group commit (one receipt signature each).
    pub group_rows: usize,
    pub now_ms: u64,
}

/// What `zegel seal` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealSummary {
    pub packages: u64,
    pub raw_bytes: u64,
    pub sealed_bytes: u64,
    pub signatures: u64,
    pub root: Hash,
}

/// Parses one input row into (record key, metadata) as formats/sip.md maps them.
pub fn row_fields(
    line: &str,
    key_field: &str,
    index: &[String],
) -> Result<(String, BTreeMap<String, MetaValue>), String> {
    let fields: BTreeMap<String, &RawValue> =
        serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let key = fields
        .get(key_field)
        .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
        .ok_or_else(|| format!("the key field {key_field:?} is missing or not a string"))?;
    sip::check_record_key(&key).map_err(|p| format!("record key: {p}"))?;
    let chosen: BTreeMap<String, &RawValue> = index
        .iter()
        .filter_map(|name| fields.get(name).map(|v| (name.clone(), *v)))
        .collect();
    let mut violations = Vec::new();
    let metadata = sip::metadata_from_raw(&chosen, &mut violations);
    if let Some(v) = violations.first() {
        return Err(format!("{}: {}", v.field, v.problem));
    }
    Ok((key, metadata))
}

/// Seals NDJSON rows into `out`: `packages/<seq>.zpkg`, `receipts/<seq>.receipt`,
/// `proofs/<seq>.proof` (against the final checkpoint), `checkpoint` and `key.pub`.
pub fn seal_rows_to_dir(
    key: SigningKey,
    rows: impl BufRead,
    opts: &SealOptions,
    out: &Path,
) -> Result<SealSummary, SealError> {
    for sub in ["packages", "receipts", "proofs"] {
        std::fs::create_dir_all(out.join(sub))?;
    }
    std::fs::write(
        out.join("key.pub"),
        format!("{}\n", key.verifier().to_text()),
    )?;
    let mut log = LogWriter::new(key, &opts.tenant, &opts.archive)?;
    let agreement = serde_json::json!({
        "record_key": opts.key_field,
        "indexed": opts.index,
        "media_types": [RECORD_MEDIA_TYPE],
    });
    let a = log.append_agreement(1, agreement.to_string().as_bytes(), opts.now_ms)?;
    let mut summary = SealSummary {
        packages: 0,
        raw_bytes: 0,
        sealed_bytes: 0,
        signatures: 0,
        root: Hash::ZERO,
    };
    let mut pending: Vec<(u64, Hash)> = vec![(a.seq, a.leaf)];
    write_package(out, &a, &mut summary)?;
    for (i, line) in rows.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        if line.len() > SEAL_LINE_BYTES_MAX || i >= SEAL_ROWS_MAX {
            return Err(SealError::Row {
                line: i + 1,
                problem: format!(
                    "rows are limited to {SEAL_LINE_BYTES_MAX} bytes and {SEAL_ROWS_MAX} lines"
                ),
            });
        }
        let (record_key, metadata) =
            row_fields(&line, &opts.key_field, &opts.index).map_err(|problem| SealError::Row {
                line: i + 1,
                problem,
            })?;
        let obj = Object {
            name: RECORD_OBJECT_NAME,
            media_type: RECORD_MEDIA_TYPE,
            bytes: line.as_bytes(),
        };
        let p = log.append(
            Kind::Record,
            Some(record_key),
            metadata,
            &[obj],
            None,
            opts.now_ms,
        )?;
        summary.raw_bytes += line.len() as u64;
        write_package(out, &p, &mut summary)?;
        pending.push((p.seq, p.leaf));
        if pending.len() >= opts.group_rows.max(1) {
            flush_receipts(out, &mut log, &mut pending, &mut summary, opts.now_ms)?;
        }
    }
    flush_receipts(out, &mut log, &mut pending, &mut summary, opts.now_ms)?;
    std::fs::write(out.join("checkpoint"), log.checkpoint())?;
    for seq in 0..log.size() {
        std::fs::write(
            out.join(format!("proofs/{seq}.proof")),
            log.inclusion(seq)?.encode(),
        )?;
    }
    summary.root = log.tree().root();
    Ok(summary)
}

fn write_package(out: &Path, p: &Appended, summary: &mut SealSummary) -> Result<(), SealError> {
    std::fs::write(out.join(format!("packages/{}.zpkg", p.seq)), &p.sealed)?;
    summary.packages += 1;
    summary.sealed_bytes += p.sealed.len() as u64;
    Ok(())
}

fn flush_receipts(
    out: &Path,
    log: &mut LogWriter,
    pending: &mut Vec<(u64, Hash)>,
    summary: &mut SealSummary,
    now_ms: u64,
) -> Result<(), SealError> {
    if pending.is_empty() {
        return Ok(());
    }
    let head = log.sign_head(now_ms)?;
    summary.signatures += 1;
    for (seq, leaf) in pending.drain(..) {
        let r = log.receipt(&head, seq, leaf)?;
        std::fs::write(out.join(format!("receipts/{seq}.receipt")), r.encode())?;
    }
    Ok(())
}
