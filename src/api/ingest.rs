//! Ingest routes: one row, an NDJSON batch of rows (all or nothing), and multipart document
//! packages. Every submission is validated against the archive's agreement in force; a
//! refusal lists every violation and stores nothing. A receipt is returned only after the
//! package is durable (the sequencer's synced group commit).

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;
use zegel_format::hash::Hash;
use zegel_format::header::Kind;
use zegel_format::limits::{OBJECTS_MAX, PACKAGE_RAW_BYTES_MAX};
use zegel_format::sip::{self, RECORD_MEDIA_TYPE, RECORD_OBJECT_NAME, Violation};

use crate::api::auth::{Caller, Role};
use crate::api::docs::ProblemDoc;
use crate::api::problem::Problem;
use crate::api::{ApiResult, AppState, archive_of};
use crate::archive::agreement::Agreement;
use crate::archive::sequencer::{NewObject, Sealed, Submission};
use crate::error::Error;
use crate::limits::{BATCH_ROWS_MAX, SIP_PART_BYTES_MAX};

/// A receipt as JSON: the fields for people, the CBOR (base64) for verifiers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptJson {
    pub archive: String,
    /// The record key, if the package has one.
    pub key: Option<String>,
    /// Version of the record key (1 for the first).
    pub version: u64,
    /// Position of the package in the archive's log.
    pub seq: u64,
    /// Hex RFC 9162 leaf hash of the package header.
    pub leaf_hash: String,
    /// True when the same key with the same content was archived before: this is the
    /// original package's receipt.
    pub duplicate: bool,
    /// Tree size and root of the signed head the receipt proves into.
    pub tree_size: u64,
    pub root_hash: String,
    pub time_ms: u64,
    /// `name+hex key id` of the signing key.
    pub key_id: String,
    /// The receipt (formats/receipt.md), CBOR in base64: what `zegel-verify` checks.
    pub receipt: String,
}

/// Receipts of a batch, in the order of its lines.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchReceipts {
    pub receipts: Vec<ReceiptJson>,
}

/// A row submission (formats/sip.md).
#[derive(Debug, ToSchema)]
#[schema(as = RowSip)]
// Only the OpenAPI document reads these fields.
#[allow(dead_code)]
pub struct RowSipDoc {
    /// The record key (1-512 bytes, no control characters).
    key: String,
    /// The row, any JSON object; stored byte for byte.
    #[schema(value_type = Object)]
    record: (),
    /// Metadata fields as the agreement declares them.
    #[schema(value_type = Object)]
    metadata: (),
    /// The producer's hex SHA-256 of the exact `record` bytes, checked if given.
    sha256: Option<String>,
}

/// A multipart package upload.
#[derive(Debug, ToSchema)]
#[schema(as = PackageUpload)]
// Only the OpenAPI document reads these fields.
#[allow(dead_code)]
pub struct PackageUploadDoc {
    /// JSON: `{"key": optional record key, "metadata": {...}, "sha256": {"object name": "hex"}}`.
    #[schema(value_type = Object)]
    sip: (),
    /// One part per file (repeat the part): its filename is the object name, its
    /// Content-Type the media type.
    #[schema(value_type = String, format = Binary)]
    file: (),
}

pub fn receipt_json(archive: &str, key: Option<String>, s: &Sealed) -> ReceiptJson {
    let h = &s.receipt.signed;
    ReceiptJson {
        archive: archive.into(),
        key,
        version: s.version,
        seq: s.seq,
        leaf_hash: s.leaf.to_hex(),
        duplicate: s.duplicate,
        tree_size: h.head.size,
        root_hash: h.head.root.to_hex(),
        time_ms: h.head.time_ms,
        key_id: format!("{}+{}", h.key_name, hex::encode(h.key_id)),
        receipt: B64.encode(s.receipt.encode()),
    }
}

/// The string value of a top-level field of a JSON object, found without building the
/// object (every other value is skipped, not allocated). `None` if absent or not a string.
fn string_field(object: &[u8], field: &str) -> Option<String> {
    struct Find<'f>(&'f str);
    impl<'de> serde::de::Visitor<'de> for Find<'_> {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<M: serde::de::MapAccess<'de>>(
            self,
            mut m: M,
        ) -> Result<Self::Value, M::Error> {
            let mut found = None;
            while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                if k == self.0 && found.is_none() {
                    found = m
                        .next_value::<serde_json::Value>()?
                        .as_str()
                        .map(str::to_string);
                } else {
                    m.next_value::<serde::de::IgnoredAny>()?;
                }
            }
            Ok(found)
        }
    }
    impl<'de> serde::de::DeserializeSeed<'de> for Find<'_> {
        type Value = Option<String>;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(object);
    serde::de::DeserializeSeed::deserialize(Find(field), &mut de)
        .ok()
        .flatten()
}

/// Validates one row SIP against the agreement; every violation is collected.
fn row_submission(
    body: &[u8],
    agreement: &Agreement,
    line: Option<usize>,
) -> Result<(String, Submission), Vec<Violation>> {
    let at = |v: Violation| match line {
        Some(n) => Violation::new(format!("line {n}{}", v.field), v.problem),
        None => v,
    };
    let row = sip::parse_row(body).map_err(|vs| vs.into_iter().map(at).collect::<Vec<_>>())?;
    let mut violations = Vec::new();
    agreement.check_metadata(&row.metadata, &mut violations);
    if let Some(field) = &agreement.record_key {
        let matches = string_field(&row.record, field).is_some_and(|k| k == row.key);
        if !matches {
            violations.push(Violation::new(
                format!("/record/{field}"),
                format!(
                    "must equal the key {:?} (the agreement's record key)",
                    row.key
                ),
            ));
        }
    }
    if !agreement.allows_media_type(RECORD_MEDIA_TYPE) {
        violations.push(Violation::new(
            "/record",
            "the agreement does not allow application/json rows",
        ));
    }
    if let Some(max) = agreement
        .object_bytes_max
        .filter(|m| row.record.len() as u64 > *m)
    {
        violations.push(Violation::new(
            "/record",
            format!(
                "{} bytes is above the agreement's limit of {max}",
                row.record.len()
            ),
        ));
    }
    let retention = agreement.retention(&row.metadata).map_err(|v| {
        violations.push(v);
    });
    match retention {
        Ok(retention) if violations.is_empty() => {
            let object = NewObject::new(RECORD_OBJECT_NAME, RECORD_MEDIA_TYPE, &row.record)
                .map_err(|e| vec![at(Violation::new("/record", format!("compression: {e}")))])?;
            Ok((
                row.key.clone(),
                Submission {
                    kind: Kind::Record,
                    record_key: Some(row.key),
                    index: agreement.index_entries(&row.metadata),
                    metadata: row.metadata,
                    objects: vec![object],
                    retention,
                    agreement_version: None,
                },
            ))
        }
        _ => Err(violations.into_iter().map(at).collect()),
    }
}

fn sealed_response(archive: &str, key: Option<String>, sealed: &[Sealed]) -> ApiResult<Response> {
    let first = sealed
        .first()
        .ok_or_else(|| Error::internal("the sequencer returned no receipt"))?;
    let status = if first.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(receipt_json(archive, key, first))).into_response())
}

/// Archives one row; answers with its receipt once it is durable.
#[utoipa::path(post, path = "/v1/archives/{archive}/records", tag = "ingest", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name")),
    request_body(content = RowSipDoc, content_type = "application/json"),
    responses(
        (status = 201, description = "sealed and durable", body = ReceiptJson),
        (status = 200, description = "this key with this content was archived before: the original receipt", body = ReceiptJson),
        (status = 422, description = "the row does not satisfy the agreement; every violation is listed and nothing was stored", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "no such archive for this key", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "the body is above the limit", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "overloaded; retry after the Retry-After seconds", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn ingest_row(
    State(s): State<AppState>,
    c: Caller,
    Path(archive): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require(Role::Producer)?;
    let (_, agreement) = s.archives.current_agreement(&info).await?;
    let (key, sub) = row_submission(&body, &agreement, None).map_err(|v| {
        Problem::invalid(
            "the row does not satisfy the agreement; nothing was stored",
            v,
        )
    })?;
    let sealed = s.archives.submit(&info, vec![sub]).await?;
    metrics::counter!("zegel_ingest_rows_total").increment(1);
    sealed_response(&archive, Some(key), &sealed)
}

/// Archives NDJSON rows, all or nothing.
#[utoipa::path(post, path = "/v1/archives/{archive}/records/batch", tag = "ingest", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name")),
    request_body(content = String, description = "one row SIP per line (at most 10 000 lines)", content_type = "application/x-ndjson"),
    responses(
        (status = 201, description = "every row sealed and durable, receipts in line order", body = BatchReceipts),
        (status = 422, description = "some rows are refused (each violation names its line); nothing of the batch was stored", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "too many rows or too many bytes", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "overloaded; retry after the Retry-After seconds", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn ingest_batch(
    State(s): State<AppState>,
    c: Caller,
    Path(archive): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require(Role::Producer)?;
    let (_, agreement) = s.archives.current_agreement(&info).await?;
    // Parsing, hashing and compressing a batch is CPU work: off the async workers.
    let (keys, subs) = tokio::task::spawn_blocking(move || batch_submissions(&body, &agreement))
        .await
        .map_err(|e| Error::internal(format!("batch validation stopped: {e}")))??;
    let rows = subs.len();
    let sealed = s.archives.submit(&info, subs).await?;
    metrics::counter!("zegel_ingest_rows_total").increment(rows as u64);
    let receipts = sealed
        .iter()
        .zip(keys)
        .map(|(x, k)| receipt_json(&archive, Some(k), x))
        .collect();
    Ok((StatusCode::CREATED, Json(BatchReceipts { receipts })).into_response())
}

type Prepared = (Vec<String>, Vec<Submission>);

fn batch_submissions(body: &[u8], agreement: &Agreement) -> ApiResult<Prepared> {
    let lines: Vec<(usize, &[u8])> = body
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
        .collect();
    if lines.is_empty() {
        return Err(Problem::bad_request("the batch holds no rows"));
    }
    if lines.len() > BATCH_ROWS_MAX {
        return Err(Problem::too_large(format!(
            "{} rows is above the batch limit of {BATCH_ROWS_MAX}",
            lines.len()
        )));
    }
    let mut subs = Vec::with_capacity(lines.len());
    let mut keys = Vec::with_capacity(lines.len());
    let mut violations = Vec::new();
    let mut refused = 0;
    for (i, line) in &lines {
        match row_submission(line, agreement, Some(i + 1)) {
            Ok((k, sub)) => {
                keys.push(k);
                subs.push(sub);
            }
            Err(v) => {
                refused += 1;
                violations.extend(v);
            }
        }
    }
    if refused > 0 {
        return Err(Problem::invalid(
            format!(
                "{refused} of {} rows are refused; nothing of the batch was stored",
                lines.len()
            ),
            violations,
        ));
    }
    Ok((keys, subs))
}

/// The `sip` part of a package upload.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackageSip<'a> {
    #[serde(default)]
    key: Option<String>,
    #[serde(borrow, default)]
    metadata: BTreeMap<String, &'a RawValue>,
    /// The producer's SHA-256 per object name, checked.
    #[serde(default)]
    sha256: BTreeMap<String, String>,
}

/// One received file part.
struct FilePart {
    name: String,
    media_type: String,
    bytes: Bytes,
}

/// Archives a document package: a `sip` part and one part per file.
#[utoipa::path(post, path = "/v1/archives/{archive}/packages", tag = "ingest", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name")),
    request_body(content = PackageUploadDoc, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "sealed and durable", body = ReceiptJson),
        (status = 200, description = "this key with this content was archived before: the original receipt", body = ReceiptJson),
        (status = 422, description = "refused: every violation is listed (with its object) and nothing was stored", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 400, description = "not a valid multipart body", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "above the upload limit", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "too many uploads at once; retry after the Retry-After seconds", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn ingest_package(
    State(s): State<AppState>,
    c: Caller,
    Path(archive): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require(Role::Producer)?;
    // The body is parsed only after the archive and role checks, so another tenant's archive
    // is a 404 whatever was sent.
    let mut multipart = Multipart::from_request(req, &s)
        .await
        .map_err(|e| Problem::new(e.status(), "multipart", e.body_text()))?;
    let _permit = s.uploads.clone().try_acquire_owned().map_err(|_| {
        Problem::busy(format!(
            "{} package uploads are in progress, the limit; retry shortly",
            crate::api::PACKAGE_UPLOADS_IN_FLIGHT_MAX
        ))
    })?;
    let (_, agreement) = s.archives.current_agreement(&info).await?;
    let multipart_err = |e: axum::extract::multipart::MultipartError| {
        Problem::new(
            e.status(),
            "multipart",
            format!("multipart body: {}", e.body_text()),
        )
    };
    let mut sip_bytes: Option<Bytes> = None;
    let mut files: Vec<FilePart> = Vec::new();
    let mut violations = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(multipart_err)? {
        let part = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let media_type = field
            .content_type()
            .map(|m| m.trim().to_ascii_lowercase())
            .unwrap_or_default();
        match (part.as_str(), file_name) {
            ("sip", _) => {
                let b = field.bytes().await.map_err(multipart_err)?;
                if b.len() > SIP_PART_BYTES_MAX {
                    return Err(Problem::too_large(format!(
                        "the sip part is {} bytes, above {SIP_PART_BYTES_MAX}",
                        b.len()
                    )));
                }
                sip_bytes = Some(b);
            }
            (_, Some(name)) => {
                if files.len() >= OBJECTS_MAX {
                    return Err(Problem::too_large(format!(
                        "more than {OBJECTS_MAX} files in one package"
                    )));
                }
                let bytes = field.bytes().await.map_err(multipart_err)?;
                files.push(FilePart {
                    name,
                    media_type,
                    bytes,
                });
            }
            (other, None) => violations.push(Violation::new(
                format!("part {other:?}"),
                "is neither `sip` nor a file (a part with a filename)",
            )),
        }
    }
    let sip_bytes = sip_bytes.ok_or_else(|| {
        Problem::invalid(
            "the package has no `sip` part; nothing was stored",
            vec![Violation::new("sip", "is required")],
        )
    })?;
    let (key, sub) = tokio::task::spawn_blocking(move || {
        package_submission(&sip_bytes, files, &agreement, violations)
    })
    .await
    .map_err(|e| Error::internal(format!("package validation stopped: {e}")))?
    .map_err(|v| {
        Problem::invalid(
            "the package does not satisfy the agreement; nothing was stored",
            v,
        )
    })?;
    let sealed = s.archives.submit(&info, vec![sub]).await?;
    metrics::counter!("zegel_ingest_packages_total").increment(1);
    sealed_response(&archive, key, &sealed)
}

/// The checks of a package's files against the agreement and the producer's digests; their
/// total size.
fn check_files(
    sip: &PackageSip<'_>,
    files: &[FilePart],
    agreement: &Agreement,
    violations: &mut Vec<Violation>,
) -> u64 {
    let mut names = BTreeSet::new();
    let mut total: u64 = 0;
    for f in files {
        let at = format!("/objects/{}", f.name);
        if !names.insert(f.name.clone()) {
            violations.push(Violation::new(&at, "two files have this name"));
        }
        if f.media_type.is_empty() {
            violations.push(Violation::new(&at, "the part has no Content-Type"));
        } else if !agreement.allows_media_type(&f.media_type) {
            violations.push(Violation::new(
                &at,
                format!(
                    "media type {:?} is not allowed by the agreement (allowed: {:?})",
                    f.media_type, agreement.media_types
                ),
            ));
        }
        let size = f.bytes.len() as u64;
        total = total.saturating_add(size);
        if let Some(max) = agreement.object_bytes_max.filter(|m| size > *m) {
            violations.push(Violation::new(
                &at,
                format!("{size} bytes is above the agreement's object limit of {max}"),
            ));
        }
        if let Some(expected) = sip.sha256.get(&f.name) {
            match Hash::from_hex(expected) {
                Some(h) if h == zegel_format::hash::sha256(&f.bytes) => {}
                Some(_) => violations.push(Violation::new(
                    &at,
                    "the producer's SHA-256 does not match the received bytes",
                )),
                None => violations.push(Violation::new(
                    format!("sip/sha256/{}", f.name),
                    "is not 64 hex digits",
                )),
            }
        }
    }
    for name in sip.sha256.keys() {
        if !names.contains(name) {
            violations.push(Violation::new(
                format!("sip/sha256/{name}"),
                "names no file of the package",
            ));
        }
    }
    total
}

fn package_submission(
    sip_bytes: &[u8],
    files: Vec<FilePart>,
    agreement: &Agreement,
    mut violations: Vec<Violation>,
) -> Result<(Option<String>, Submission), Vec<Violation>> {
    let sip: PackageSip<'_> = serde_json::from_slice(sip_bytes)
        .map_err(|e| vec![Violation::new("sip", format!("not a package SIP: {e}"))])?;
    if let Some(k) = &sip.key
        && let Err(p) = sip::check_record_key(k)
    {
        violations.push(Violation::new("sip/key", p));
    }
    let metadata = sip::metadata_from_raw(&sip.metadata, &mut violations);
    agreement.check_metadata(&metadata, &mut violations);
    if files.is_empty() {
        violations.push(Violation::new("files", "a package needs at least one file"));
    }
    let total = check_files(&sip, &files, agreement, &mut violations);
    let package_max = agreement
        .package_bytes_max
        .unwrap_or(PACKAGE_RAW_BYTES_MAX as u64)
        .min(PACKAGE_RAW_BYTES_MAX as u64);
    if total > package_max {
        violations.push(Violation::new(
            "files",
            format!("{total} bytes in all is above the package limit of {package_max}"),
        ));
    }
    let retention = agreement.retention(&metadata).map_err(|v| {
        violations.push(v);
    });
    let retention = match retention {
        Ok(r) if violations.is_empty() => r,
        _ => return Err(violations),
    };
    let mut objects = Vec::with_capacity(files.len());
    for f in files {
        objects.push(
            NewObject::new(f.name.clone(), f.media_type, &f.bytes).map_err(|e| {
                vec![Violation::new(
                    format!("/objects/{}", f.name),
                    format!("compression: {e}"),
                )]
            })?,
        );
    }
    Ok((
        sip.key.clone(),
        Submission {
            kind: Kind::Document,
            record_key: sip.key,
            index: agreement.index_entries(&metadata),
            metadata,
            objects,
            retention,
            agreement_version: None,
        },
    ))
}
