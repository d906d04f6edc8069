//! Read routes: records by key (latest, a version, the list of versions), packages by seq
//! (header as JSON, the sealed package, the receipt, single objects) and search over indexed
//! metadata and ingest time. Every read of archived content is recorded in the access log
//! before it is answered.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use zegel_format::header::{MetaValue, PackageHeader};

use crate::api::auth::{Caller, Role};
use crate::api::docs::ProblemDoc;
use crate::api::problem::Problem;
use crate::api::{ApiResult, AppState, archive_of, bytes_response, parse_time, record_access};
use crate::archive::agreement::index_value;
use crate::archive::archives::{ArchiveInfo, StoredPackage};
use crate::error::Error;
use crate::limits::{SEARCH_PAGE_MAX, SEARCH_SCAN_MAX};

/// Results of one search page by default, and at most.
pub const SEARCH_PAGE_DEFAULT: usize = 100;

/// `?version=N`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// A version of the record key (default: the latest).
    pub version: Option<u64>,
}

/// One object of a package.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectJson {
    pub name: String,
    pub media_type: String,
    pub size: u64,
    pub sha256: String,
}

/// A package header as JSON, with its exact bytes in base64.
#[derive(Debug, Serialize, ToSchema)]
pub struct PackageJson {
    pub seq: u64,
    /// `record`, `document`, `agreement`, `access`, ...
    pub kind: String,
    pub time_ms: u64,
    /// Hex leaf hash of the previous package (the hash chain); absent at seq 0.
    pub prev: Option<String>,
    pub leaf_hash: String,
    /// The agreement version (and its seq) that validated this package.
    #[schema(value_type = Object)]
    pub agreement: Option<serde_json::Value>,
    pub record_key: Option<String>,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    pub objects: Vec<ObjectJson>,
    pub retain_until_ms: Option<u64>,
    /// The exact header bytes (CBOR), base64: the Merkle leaf data.
    pub header: String,
}

pub fn meta_json(m: &BTreeMap<String, MetaValue>) -> serde_json::Value {
    m.iter()
        .map(|(k, v)| {
            let j = match v {
                MetaValue::Text(t) => serde_json::Value::from(t.clone()),
                MetaValue::Int(i) => serde_json::Value::from(*i),
                MetaValue::Bool(b) => serde_json::Value::from(*b),
            };
            (k.clone(), j)
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn package_json(bytes: &[u8], h: &PackageHeader) -> PackageJson {
    PackageJson {
        seq: h.seq,
        kind: h.kind.name().to_string(),
        time_ms: h.time_ms,
        prev: h.prev.map(|p| p.to_hex()),
        leaf_hash: zegel_format::hash::leaf_hash(bytes).to_hex(),
        agreement: h
            .agreement
            .map(|a| serde_json::json!({ "version": a.version, "seq": a.seq })),
        record_key: h.record_key.clone(),
        metadata: meta_json(&h.metadata),
        objects: h
            .objects
            .iter()
            .map(|o| ObjectJson {
                name: o.name.clone(),
                media_type: o.media_type.clone(),
                size: o.size,
                sha256: o.digest.to_hex(),
            })
            .collect(),
        retain_until_ms: h.retain_until_ms,
        header: B64.encode(bytes),
    }
}

async fn package_header(s: &AppState, info: &ArchiveInfo, seq: u64) -> ApiResult<StoredPackage> {
    s.archives
        .header(info.id, seq)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no package {seq} in {:?}", info.archive)))
}

/// The latest version of a record (or `?version=N`), with its metadata, verbatim.
#[utoipa::path(get, path = "/v1/archives/{archive}/records/{key}", tag = "read", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name"), ("key" = String, Path, description = "record key (URL-encoded)"), VersionQuery),
    responses(
        (status = 200, description = "the record in a JSON envelope: key, version, versions, seq, time_ms, sha256, metadata, record (the archived bytes verbatim); header `zegel-tier` names the tier that served it", body = Object),
        (status = 404, description = "no such record, version or archive", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "not a consumer", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn read_record(
    State(s): State<AppState>,
    c: Caller,
    Path((archive, key)): Path<(String, String)>,
    Query(q): Query<VersionQuery>,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require(Role::Consumer)?;
    let (version, seq, versions) = s
        .archives
        .record_version(info.id, &key, q.version)?
        .ok_or_else(|| {
            Problem::not_found(format!(
                "no record {key:?}{} in {archive:?}",
                q.version.map_or(String::new(), |v| format!(" version {v}"))
            ))
        })?;
    let p = s
        .archives
        .header(info.id, seq)
        .await?
        .ok_or_else(|| Error::internal("record index points at a missing package"))?;
    let (header, tier) = (&p.header, p.tier);
    if header.kind != zegel_format::header::Kind::Record {
        // A document package under a record key: its header, objects listed, not inlined.
        record_access(&s, &c, &archive, "record", Some(seq), Some(key.clone())).await?;
        let body = serde_json::json!({
            "key": key,
            "version": version,
            "versions": versions,
            "seq": seq,
            "package": package_json(&p.bytes, header),
        });
        return Ok(bytes_response(
            serde_json::to_vec(&body)
                .map_err(|e| Error::internal(format!("encoding a package: {e}")))?,
            "application/json",
            tier.as_str(),
        ));
    }
    let obj = header
        .objects
        .first()
        .ok_or_else(|| Error::internal("record package has no object"))?;
    let bytes = s.archives.object(&p, 0).await?;
    let record = String::from_utf8(bytes).map_err(|_| Error::internal("record is not UTF-8"))?;
    record_access(&s, &c, &archive, "record", Some(seq), Some(key.clone())).await?;
    // The record is returned verbatim inside the JSON envelope.
    let envelope = format!(
        "{{\"key\":{},\"version\":{version},\"versions\":{},\"seq\":{seq},\"time_ms\":{},\"sha256\":\"{}\",\"metadata\":{},\"record\":{record}}}",
        serde_json::Value::from(key.as_str()),
        versions,
        header.time_ms,
        obj.digest,
        meta_json(&header.metadata),
    );
    Ok(bytes_response(
        envelope.into_bytes(),
        "application/json",
        tier.as_str(),
    ))
}

/// The versions of a record key, oldest first.
#[utoipa::path(get, path = "/v1/archives/{archive}/records/{key}/versions", tag = "read", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name"), ("key" = String, Path, description = "record key (URL-encoded)")),
    responses(
        (status = 200, description = "`{key, versions: [{version, seq}]}`", body = Object),
        (status = 404, description = "no such record or archive", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn record_versions(
    State(s): State<AppState>,
    c: Caller,
    Path((archive, key)): Path<(String, String)>,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require(Role::Consumer)?;
    let versions: Vec<_> = s
        .archives
        .record_versions(info.id, &key)?
        .into_iter()
        .map(|(v, seq)| serde_json::json!({ "version": v, "seq": seq }))
        .collect();
    if versions.is_empty() {
        return Err(Problem::not_found(format!(
            "no record {key:?} in {archive:?}"
        )));
    }
    record_access(&s, &c, &archive, "versions", None, Some(key.clone())).await?;
    Ok(Json(serde_json::json!({ "key": key, "versions": versions })).into_response())
}

/// A package's header as JSON.
#[utoipa::path(get, path = "/v1/archives/{archive}/packages/{seq}", tag = "read", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name"), ("seq" = u64, Path, description = "position in the log")),
    responses(
        (status = 200, description = "the header", body = PackageJson),
        (status = 404, description = "no such package or archive", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn read_package(
    State(s): State<AppState>,
    c: Caller,
    Path((archive, seq)): Path<(String, u64)>,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require_any(&[Role::Consumer, Role::Auditor])?;
    let p = package_header(&s, &info, seq).await?;
    record_access(&s, &c, &archive, "package", Some(seq), None).await?;
    let mut r = Json(package_json(&p.bytes, &p.header)).into_response();
    r.headers_mut()
        .insert("zegel-tier", HeaderValue::from_static(p.tier.as_str()));
    Ok(r)
}

/// The sealed package (formats/sealed-package.md): what `zegel-verify package` checks.
#[utoipa::path(get, path = "/v1/archives/{archive}/packages/{seq}/sealed", tag = "read", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name"), ("seq" = u64, Path, description = "position in the log")),
    responses(
        (status = 200, description = "zstd-compressed CBOR", body = Vec<u8>, content_type = "application/vnd.zegel.package+zstd"),
        (status = 404, description = "no such package or archive", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn read_sealed(
    State(s): State<AppState>,
    c: Caller,
    Path((archive, seq)): Path<(String, u64)>,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require_any(&[Role::Consumer, Role::Auditor])?;
    let (sealed, tier) = s
        .archives
        .sealed_package(info.id, seq)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no package {seq} in {archive:?}")))?;
    record_access(&s, &c, &archive, "sealed", Some(seq), None).await?;
    Ok(bytes_response(
        sealed,
        "application/vnd.zegel.package+zstd",
        tier.as_str(),
    ))
}

/// The receipt of a package (formats/receipt.md), from the signed head that first covered it.
#[utoipa::path(get, path = "/v1/archives/{archive}/packages/{seq}/receipt", tag = "proofs", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name"), ("seq" = u64, Path, description = "position in the log")),
    responses(
        (status = 200, description = "the receipt, CBOR", body = Vec<u8>, content_type = "application/cbor"),
        (status = 404, description = "no such package or archive", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn read_receipt(
    State(s): State<AppState>,
    c: Caller,
    Path((archive, seq)): Path<(String, u64)>,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    // Receipts come from the hot Merkle data in either tier: the package need only exist.
    if seq >= s.archives.size(&info)? {
        return Err(Problem::not_found(format!(
            "no package {seq} in {archive:?}"
        )));
    }
    Ok(bytes_response(
        s.archives.receipt(info.id, seq)?.encode(),
        "application/cbor",
        "hot",
    ))
}

/// One object's bytes; its SHA-256 in `Repr-Digest`.
#[utoipa::path(get, path = "/v1/archives/{archive}/packages/{seq}/objects/{name}", tag = "read", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name"), ("seq" = u64, Path, description = "position in the log"), ("name" = String, Path, description = "object name (URL-encoded)")),
    responses(
        (status = 200, description = "the bytes, with the object's media type; `Repr-Digest: sha-256=:base64:`", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 404, description = "no such object, package or archive", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn read_object(
    State(s): State<AppState>,
    c: Caller,
    Path((archive, seq, name)): Path<(String, u64, String)>,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require(Role::Consumer)?;
    let p = package_header(&s, &info, seq).await?;
    let (i, o) = p
        .header
        .objects
        .iter()
        .enumerate()
        .find(|(_, o)| o.name == name)
        .ok_or_else(|| Problem::not_found(format!("package {seq} has no object {name:?}")))?;
    let bytes = s.archives.object(&p, i).await?;
    record_access(&s, &c, &archive, "object", Some(seq), Some(name.clone())).await?;
    let mut r = bytes_response(bytes, &o.media_type, p.tier.as_str());
    if let Ok(v) = HeaderValue::from_str(&format!("sha-256=:{}:", B64.encode(o.digest.0))) {
        r.headers_mut().insert("repr-digest", v);
    }
    Ok(r)
}

/// Search parameters besides the metadata filters.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
// Only the OpenAPI document reads these fields: the handler parses the query itself.
#[allow(dead_code)]
pub struct SearchParams {
    /// Ingest time at or after this (RFC 3339, or milliseconds since the epoch).
    from: Option<String>,
    /// Ingest time before this (RFC 3339, or milliseconds since the epoch).
    to: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Results per page (default 100, at most 1000).
    limit: Option<usize>,
    /// Any other parameter `field=value` filters on an indexed metadata field (the
    /// agreement's `indexed` list); several filters must all match.
    #[param(value_type = Option<String>, style = Form, explode)]
    field: Option<String>,
}

/// One page of search results.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchPage {
    pub packages: Vec<PackageJson>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Packages matching indexed metadata and an ingest-time range, by seq, paginated.
#[utoipa::path(get, path = "/v1/archives/{archive}/packages", tag = "read", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name"), SearchParams),
    responses(
        (status = 200, description = "one page of matching packages, oldest first", body = SearchPage),
        (status = 400, description = "a filter on a field that is not indexed, a bad time or cursor", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "no such archive", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn search(
    State(s): State<AppState>,
    c: Caller,
    Path(archive): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require_any(&[Role::Consumer, Role::Auditor])?;
    let (_, agreement) = s.archives.current_agreement(&info).await?;
    let mut from = 0u64;
    let mut to = u64::MAX;
    let mut cursor = 0u64;
    let mut limit = SEARCH_PAGE_DEFAULT;
    let mut filters: Vec<(String, String)> = Vec::new();
    for (k, v) in &params {
        match k.as_str() {
            "from" => from = parse_time("from", v)?,
            "to" => to = parse_time("to", v)?,
            "cursor" => {
                cursor = v.parse().map_err(|_| {
                    Problem::bad_request(format!("`cursor` {v:?} is not one of ours"))
                })?
            }
            "limit" => {
                limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=SEARCH_PAGE_MAX).contains(n))
                    .ok_or_else(|| {
                        Problem::bad_request(format!("`limit` must be 1 to {SEARCH_PAGE_MAX}"))
                    })?
            }
            field => {
                if !agreement.indexed.iter().any(|f| f == field) {
                    return Err(Problem::bad_request(format!(
                        "{field:?} is not an indexed field of {archive:?} (indexed: {:?}; also from, to, cursor, limit)",
                        agreement.indexed
                    )));
                }
                filters.push((field.to_string(), v.clone()));
            }
        }
    }
    let archives = s.archives.clone();
    let query = format!("{params:?}");
    let page = tokio::task::spawn_blocking(move || {
        find_page(&archives, &info, &filters, from, to, cursor, limit)
    })
    .await
    .map_err(|e| Error::internal(format!("search stopped: {e}")))??;
    record_access(&s, &c, &archive, "search", None, Some(query)).await?;
    Ok((StatusCode::OK, Json(page)).into_response())
}

fn find_page(
    archives: &crate::archive::archives::Archives,
    info: &ArchiveInfo,
    filters: &[(String, String)],
    from: u64,
    to: u64,
    cursor: u64,
    limit: usize,
) -> ApiResult<SearchPage> {
    let size = archives.size(info)?;
    // This runs on a blocking thread; cold headers are fetched through the runtime.
    let rt = tokio::runtime::Handle::current();
    let mut packages = Vec::new();
    let mut next: Option<u64> = None;
    let matches = |h: &PackageHeader| {
        h.time_ms >= from
            && h.time_ms < to
            && filters
                .iter()
                .all(|(f, v)| h.metadata.get(f).is_some_and(|m| index_value(m) == *v))
    };
    match filters.first() {
        Some((field, value)) => {
            let seqs = archives.index_seqs(info.id, field, value, cursor, SEARCH_SCAN_MAX + 1)?;
            for (n, seq) in seqs.iter().copied().enumerate() {
                if packages.len() == limit || n == SEARCH_SCAN_MAX {
                    next = Some(seq);
                    break;
                }
                if let Some(p) = rt.block_on(archives.live_header(info.id, seq))?
                    && matches(&p.header)
                {
                    packages.push(package_json(&p.bytes, &p.header));
                }
            }
        }
        None => {
            // Times never go backwards within an archive, so `from` is a seq by bisection.
            let mut seq = cursor.max(rt.block_on(archives.first_seq_at(info, from))?);
            let mut scanned = 0;
            while seq < size {
                if packages.len() == limit || scanned == SEARCH_SCAN_MAX {
                    next = Some(seq);
                    break;
                }
                let h = match rt.block_on(archives.header(info.id, seq)) {
                    Ok(Some(p)) => p,
                    Ok(None) => break,
                    // Disposed of: its leaf stays, nothing of it is found.
                    Err(Error::Gone { .. }) => {
                        seq += 1;
                        scanned += 1;
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                };
                let StoredPackage {
                    bytes, header: h, ..
                } = h;
                if h.time_ms >= to {
                    break;
                }
                if matches(&h) {
                    packages.push(package_json(&bytes, &h));
                }
                seq += 1;
                scanned += 1;
            }
        }
    }
    Ok(SearchPage {
        packages,
        next_cursor: next.map(|n| n.to_string()),
    })
}
