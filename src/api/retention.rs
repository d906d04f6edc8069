//! Retention routes (issue #5, first part): legal holds placed and lifted by archivists, and
//! the retention plan. Disposal is not written yet, so nothing here deletes anything.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::api::auth::{Caller, Role};
use crate::api::docs::ProblemDoc;
use crate::api::problem::Problem;
use crate::api::read::parse_time;
use crate::api::{ApiResult, AppState, archive_of, parse_json};
use crate::retention::holds::{Hold, HoldError, HoldScope};
use crate::retention::plan::{self, ArchivePlan};

impl From<HoldError> for Problem {
    fn from(e: HoldError) -> Problem {
        match e {
            HoldError::Invalid(m) => Problem::bad_request(m),
            HoldError::NotFound(_) => Problem::not_found(e.to_string()),
            HoldError::AlreadyLifted(_) => {
                Problem::new(StatusCode::CONFLICT, "conflict", e.to_string())
            }
            HoldError::Store(s) => Problem::internal(s.to_string()),
        }
    }
}

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
    let (store, holds, id) = (s.archives.clone(), s.holds.clone(), info.id);
    let draft = Hold {
        id: String::new(),
        archive: archive.clone(),
        scope,
        reason: h.reason,
        placed_by: c.key.id.clone(),
        placed_ms: s.clock.now_ms(),
        lifted: None,
    };
    let hold = tokio::task::spawn_blocking(move || holds.place(store.store(), id, draft))
        .await
        .map_err(|e| Problem::internal(e.to_string()))??;
    tracing::info!(archive = %archive, hold = %hold.id, by = %hold.placed_by, "legal hold placed");
    Ok((StatusCode::CREATED, Json(hold)).into_response())
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
        s.holds.list(s.archives.store(), info.id)?
    } else {
        s.holds.active(s.archives.store(), info.id)?
    };
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
    let (store, holds, now) = (s.archives.clone(), s.holds.clone(), s.clock.now_ms());
    let (id, by) = (info.id, c.key.id.clone());
    let hold = tokio::task::spawn_blocking(move || {
        holds.lift(store.store(), id, &hold_id, &l.reason, &by, now)
    })
    .await
    .map_err(|e| Problem::internal(e.to_string()))??;
    tracing::info!(archive = %archive, hold = %hold.id, "legal hold lifted");
    Ok(Json(hold).into_response())
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
    let holds = s.holds.active(s.archives.store(), info.id)?;
    let p = plan::plan(&s.archives, &info, &holds, at).await?;
    Ok(Json(p).into_response())
}
