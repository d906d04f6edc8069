//! Retention routes: legal holds placed and lifted by archivists, the retention plan,
//! `retention apply`, early erasure (requested by one archivist, approved by another), the
//! dispositions and their certificates of destruction. These are the only routes that delete
//! archived content, and only through a disposition.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::api::auth::{Caller, Role};
use crate::api::docs::ProblemDoc;
use crate::api::dto::retention::{
    ApplyReport, ArchivePlan, Disposed, DispositionSummary, Erasure, Hold,
};
use crate::api::problem::Problem;
use crate::api::{ApiResult, AppState, archive_of, parse_json, parse_json_or_default, parse_time};
use crate::error::Error;
use crate::retention::apply;
use crate::retention::certificate;
use crate::retention::erasure::ErasureScope;
use crate::retention::holds::{self, HoldScope};
use crate::retention::plan;
use zegel_format::limits::DISPOSITION_PACKAGES_MAX;

/// Body of `POST .../holds`: exactly one of `package`, `record`, or `field` with `value`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHold {
    /// Hold one package, by seq.
    pub package: Option<u64>,
    /// Hold every version of a record key.
    pub record: Option<String>,
    /// Hold every package whose metadata `field` equals `value`.
    pub field: Option<String>,
    pub value: Option<String>,
    /// Why (a case number, a court order): 1 to 1000 bytes.
    pub reason: String,
}

/// Body of `POST .../holds/{id}/lift`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftHold {
    /// Why the hold ends: 1 to 1000 bytes.
    pub reason: String,
}

/// Places a legal hold: held packages are never due for disposal.
#[utoipa::path(post, path = "/v1/archives/{archive}/holds", tag = "retention", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name")),
    request_body = NewHold,
    responses(
        (status = 201, description = "the hold, in force", body = Hold),
        (status = 400, description = "not exactly one scope, or a bad reason", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "not an archivist", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "no such archive, package or record", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn place_hold(
    State(s): State<AppState>,
    c: Caller,
    Path(archive): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require(Role::Archivist)?;
    let h: NewHold = parse_json(&body)?;
    let scope = match (h.package, h.record, h.field, h.value) {
        (Some(seq), None, None, None) => {
            if seq >= s.archives.size(&info)? {
                return Err(Problem::not_found(format!(
                    "no package {seq} in {archive:?}"
                )));
            }
            HoldScope::Package(seq)
        }
        (None, Some(key), None, None) => {
            if s.archives.record_version(info.id, &key, None)?.is_none() {
                return Err(Problem::not_found(format!(
                    "no record {key:?} in {archive:?}"
                )));
            }
            HoldScope::Record(key)
        }
        (None, None, Some(field), Some(value)) => {
            let (fmax, vmax) = (
                zegel_format::limits::METADATA_NAME_BYTES_MAX,
                zegel_format::limits::METADATA_VALUE_BYTES_MAX,
            );
            if field.is_empty() || field.len() > fmax || value.len() > vmax {
                return Err(Problem::bad_request(format!(
                    "a field of 1 to {fmax} bytes and a value of at most {vmax} bytes"
                )));
            }
            HoldScope::Query { field, value }
        }
        _ => {
            return Err(Problem::bad_request(
                "name exactly one of: package, record, or field with value",
            ));
        }
    };
    let (holds, id) = (s.holds.clone(), info.id);
    let draft = holds::Hold {
        id: String::new(),
        archive: archive.clone(),
        scope,
        reason: h.reason,
        placed_by: c.api_key.id.clone(),
        placed_ms: s.clock.now_ms(),
        lifted: None,
    };
    let hold = tokio::task::spawn_blocking(move || holds.place(id, draft))
        .await
        .map_err(|e| Error::internal(e.to_string()))??;
    tracing::info!(archive = %archive, hold = %hold.id, by = %hold.placed_by, "legal hold placed");
    Ok((StatusCode::CREATED, Json(Hold::from(hold))).into_response())
}

/// `?all=true` lists lifted holds too.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HoldsQuery {
    pub all: Option<bool>,
}

/// The archive's holds in force (or all of them, lifted ones included).
#[utoipa::path(get, path = "/v1/archives/{archive}/holds", tag = "retention", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name"), HoldsQuery),
    responses(
        (status = 200, description = "`{holds: [...]}`, oldest first", body = Object),
        (status = 404, description = "no such archive", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn list_holds(
    State(s): State<AppState>,
    c: Caller,
    Path(archive): Path<String>,
    Query(q): Query<HoldsQuery>,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require_any(&[Role::Archivist, Role::Auditor])?;
    let holds = if q.all.unwrap_or(false) {
        s.holds.list(info.id)?
    } else {
        s.holds.active(info.id)?
    };
    let holds: Vec<Hold> = holds.into_iter().map(Into::into).collect();
    Ok(Json(serde_json::json!({ "holds": holds })).into_response())
}

/// Lifts a hold; it stays listed (`?all=true`) with who lifted it, when and why.
#[utoipa::path(post, path = "/v1/archives/{archive}/holds/{id}/lift", tag = "retention", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name"), ("id" = String, Path, description = "hold id")),
    request_body = LiftHold,
    responses(
        (status = 200, description = "the lifted hold", body = Hold),
        (status = 404, description = "no such hold or archive", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "already lifted", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn lift_hold(
    State(s): State<AppState>,
    c: Caller,
    Path((archive, hold_id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require(Role::Archivist)?;
    let l: LiftHold = parse_json(&body)?;
    let (holds, now) = (s.holds.clone(), s.clock.now_ms());
    let (id, by) = (info.id, c.api_key.id.clone());
    let hold = tokio::task::spawn_blocking(move || holds.lift(id, &hold_id, &l.reason, &by, now))
        .await
        .map_err(|e| Error::internal(e.to_string()))??;
    tracing::info!(archive = %archive, hold = %hold.id, "legal hold lifted");
    Ok(Json(Hold::from(hold)).into_response())
}

/// `?at=`: due at or before this time (RFC 3339 or ms; default now).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PlanQuery {
    pub at: Option<String>,
}

/// What is due for disposal now or by a date, not held: counts, bytes, tiers, agreement
/// versions, samples. Changes nothing.
#[utoipa::path(get, path = "/v1/archives/{archive}/retention/plan", tag = "retention", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name"), PlanQuery),
    responses(
        (status = 200, description = "the plan", body = ArchivePlan),
        (status = 400, description = "a bad date", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "no such archive", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn retention_plan(
    State(s): State<AppState>,
    c: Caller,
    Path(archive): Path<String>,
    Query(q): Query<PlanQuery>,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require_any(&[Role::Archivist, Role::Auditor])?;
    let at = match &q.at {
        Some(v) => parse_time("at", v)?,
        None => s.clock.now_ms(),
    };
    let holds = s.holds.active(info.id)?;
    let p = plan::plan(&s.archives, &info, &holds, at).await?;
    Ok(Json(ArchivePlan::from(p)).into_response())
}

/// Body of `POST .../retention/apply` (both optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    /// Scan from this seq (the `next_from` of the previous call); default 0.
    pub from: Option<u64>,
    /// Packages in this call's disposition: 1 to 10000 (the default).
    pub max_packages: Option<u64>,
}

/// Disposes of the packages whose retention has ended by the server's clock and that no
/// legal hold covers, in both tiers, as one disposition package of the archive's log (at most
/// `max_packages`). Call again from `next_from` until it is null.
#[utoipa::path(post, path = "/v1/archives/{archive}/retention/apply", tag = "retention", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name")),
    request_body = ApplyRequest,
    responses(
        (status = 200, description = "what this call disposed of, and where the next continues", body = ApplyReport),
        (status = 403, description = "not an archivist", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "no such archive", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "a hold placed meanwhile covers a package; nothing was disposed of", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "the cold tier failed or a move holds a package; nothing was disposed of", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn retention_apply(
    State(s): State<AppState>,
    c: Caller,
    Path(archive): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require(Role::Archivist)?;
    let r: ApplyRequest = parse_json_or_default(&body)?;
    let max = r.max_packages.unwrap_or(DISPOSITION_PACKAGES_MAX as u64);
    if max == 0 || max > DISPOSITION_PACKAGES_MAX as u64 {
        return Err(Problem::bad_request(format!(
            "max_packages must be 1 to {DISPOSITION_PACKAGES_MAX}"
        )));
    }
    let report = apply::apply(
        &s.archives,
        &s.tier,
        &s.holds,
        &info,
        &c.api_key.id,
        r.from.unwrap_or(0),
        max as usize,
    )
    .await?;
    Ok(Json(ApplyReport::from(report)).into_response())
}

/// The archive's dispositions, oldest first.
#[utoipa::path(get, path = "/v1/archives/{archive}/dispositions", tag = "retention", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name")),
    responses(
        (status = 200, description = "`{dispositions: [...]}`", body = Object),
        (status = 404, description = "no such archive", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn list_dispositions(
    State(s): State<AppState>,
    c: Caller,
    Path(archive): Path<String>,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require_any(&[Role::Archivist, Role::Auditor])?;
    let list: Vec<DispositionSummary> = s
        .archives
        .dispositions(info.id)?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(serde_json::json!({ "dispositions": list })).into_response())
}

/// The certificate of destruction of a disposition (formats/disposition.md §4), checked
/// offline with `zegel-verify certificate --key KEY FILE`.
#[utoipa::path(get, path = "/v1/archives/{archive}/dispositions/{seq}/certificate", tag = "retention", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name"), ("seq" = u64, Path, description = "seq of the disposition package")),
    responses(
        (status = 200, description = "the certificate (.zcert), CBOR", body = Vec<u8>, content_type = "application/vnd.zegel.certificate+cbor"),
        (status = 404, description = "no such disposition or archive", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn disposition_certificate(
    State(s): State<AppState>,
    c: Caller,
    Path((archive, seq)): Path<(String, u64)>,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require_any(&[Role::Archivist, Role::Auditor])?;
    let bytes = certificate::certificate(&s.archives, &info, seq).await?;
    let mut r = bytes.into_response();
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/vnd.zegel.certificate+cbor"),
    );
    Ok(r)
}

/// Body of `POST .../erasures`: exactly one of `package` and `record`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewErasure {
    /// Erase one package, by seq.
    pub package: Option<u64>,
    /// Erase every version of a record key.
    pub record: Option<String>,
    /// The legal basis (court order, statute, data subject's request): 1 to 1000 bytes.
    pub basis: String,
}

/// Body of `POST .../erasures/{id}/reject`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectErasure {
    pub reason: String,
}

/// Requests an early erasure. Nothing is erased until a second, different archivist
/// approves it.
#[utoipa::path(post, path = "/v1/archives/{archive}/erasures", tag = "retention", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name")),
    request_body = NewErasure,
    responses(
        (status = 201, description = "the request, waiting for approval", body = Erasure),
        (status = 400, description = "not exactly one scope, a bad basis, or not archived content", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "not an archivist", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "no such archive, package or record", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "the package was already disposed of", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn request_erasure(
    State(s): State<AppState>,
    c: Caller,
    Path(archive): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require(Role::Archivist)?;
    let r: NewErasure = parse_json(&body)?;
    let scope = match (r.package, r.record) {
        (Some(seq), None) => ErasureScope::Package(seq),
        (None, Some(k)) => ErasureScope::Record(k),
        _ => return Err(Problem::bad_request("name exactly one of: package, record")),
    };
    let e = s
        .erasures
        .request(&info, scope, r.basis, &c.api_key.id, s.clock.now_ms())
        .await?;
    tracing::info!(archive = %archive, erasure = %e.id, by = %e.requested_by, "erasure requested");
    Ok((StatusCode::CREATED, Json(Erasure::from(e))).into_response())
}

/// The archive's erasure requests, oldest first, decided ones included.
#[utoipa::path(get, path = "/v1/archives/{archive}/erasures", tag = "retention", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name")),
    responses(
        (status = 200, description = "`{erasures: [...]}`", body = Object),
        (status = 404, description = "no such archive", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn list_erasures(
    State(s): State<AppState>,
    c: Caller,
    Path(archive): Path<String>,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require_any(&[Role::Archivist, Role::Auditor])?;
    let list: Vec<Erasure> = s
        .erasures
        .list(info.id)?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(serde_json::json!({ "erasures": list })).into_response())
}

/// Approves an erasure request and carries it out, as a disposition of cause `erasure`
/// naming the requester and the approver. The approver must be a different key.
#[utoipa::path(post, path = "/v1/archives/{archive}/erasures/{id}/approve", tag = "retention", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name"), ("id" = String, Path, description = "erasure request id")),
    responses(
        (status = 200, description = "`{erasure, disposed}`: the request, erased, and the disposition", body = Object),
        (status = 403, description = "not an archivist", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "no such request or archive", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "same key as the requester, already decided, or a legal hold covers a package", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn approve_erasure(
    State(s): State<AppState>,
    c: Caller,
    Path((archive, erasure_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require(Role::Archivist)?;
    let (e, d) = s
        .erasures
        .approve(&s.tier, &s.holds, &info, &erasure_id, &c.api_key.id)
        .await?;
    tracing::info!(archive = %archive, erasure = %e.id, disposition = d.disposition, "erasure approved and carried out");
    let (e, d) = (Erasure::from(e), Disposed::from(d));
    Ok(Json(serde_json::json!({ "erasure": e, "disposed": d })).into_response())
}

/// Rejects (or withdraws) an erasure request still waiting; nothing is erased.
#[utoipa::path(post, path = "/v1/archives/{archive}/erasures/{id}/reject", tag = "retention", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name"), ("id" = String, Path, description = "erasure request id")),
    request_body = RejectErasure,
    responses(
        (status = 200, description = "the request, rejected", body = Erasure),
        (status = 404, description = "no such request or archive", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "already decided", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn reject_erasure(
    State(s): State<AppState>,
    c: Caller,
    Path((archive, erasure_id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require(Role::Archivist)?;
    let r: RejectErasure = parse_json(&body)?;
    let e = s.erasures.reject(
        &info,
        &erasure_id,
        r.reason,
        &c.api_key.id,
        s.clock.now_ms(),
    )?;
    Ok(Json(Erasure::from(e)).into_response())
}
