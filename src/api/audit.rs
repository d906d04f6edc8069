//! Audit routes: auditors start an integrity audit of an archive, advance it a bounded step at
//! a time (it resumes from its persisted cursor), and read runs and findings. A finished
//! audit is sealed into the archive's own log as an `audit` package.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::auth::{Caller, Role};
use crate::api::docs::ProblemDoc;
use crate::api::dto::audit::AuditRun;
use crate::api::problem::Problem;
use crate::api::{ApiResult, AppState, archive_of, parse_json_or_default};
use crate::limits::AUDIT_STEP_PACKAGES_MAX;

/// Body of `POST .../audits` (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAudit {
    /// Percentage of packages to check, 1 to 100 (default 100: all). The log checks always
    /// cover every leaf, signed head and checkpoint.
    pub sample_percent: Option<u8>,
}

/// Body of `POST .../audits/{id}/step` (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditStep {
    /// Packages to check in this step: 1 to 100000 (default 10000).
    pub max_packages: Option<u64>,
}

/// Starts an integrity audit of the archive as it is now (nothing is checked yet).
#[utoipa::path(post, path = "/v1/archives/{archive}/audits", tag = "audit", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name")),
    request_body = NewAudit,
    responses(
        (status = 201, description = "the run, at seq 0", body = AuditRun),
        (status = 400, description = "a bad sample percentage", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "not an auditor or archivist", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "no such archive", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn start_audit(
    State(s): State<AppState>,
    c: Caller,
    Path(archive): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require_any(&[Role::Auditor, Role::Archivist])?;
    let r: NewAudit = parse_json_or_default(&body)?;
    let run = s.audits.start(
        &info,
        r.sample_percent.unwrap_or(100),
        &c.api_key.id,
        s.clock.now_ms(),
    )?;
    Ok((StatusCode::CREATED, Json(AuditRun::from(run))).into_response())
}

/// Checks the next packages of an audit; at the end of the log, runs the log checks and
/// seals the audit into the archive's log. Repeat until `finished_ms` is set.
#[utoipa::path(post, path = "/v1/archives/{archive}/audits/{id}/step", tag = "audit", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name"), ("id" = String, Path, description = "audit id")),
    request_body = AuditStep,
    responses(
        (status = 200, description = "the run after this step", body = AuditRun),
        (status = 404, description = "no such audit or archive", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn audit_step(
    State(s): State<AppState>,
    c: Caller,
    Path((archive, run_id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require_any(&[Role::Auditor, Role::Archivist])?;
    let r: AuditStep = parse_json_or_default(&body)?;
    let max = r.max_packages.unwrap_or(10_000);
    if max == 0 || max > AUDIT_STEP_PACKAGES_MAX {
        return Err(Problem::bad_request(format!(
            "max_packages must be 1 to {AUDIT_STEP_PACKAGES_MAX}"
        )));
    }
    let run = s
        .audits
        .step(&s.holds, &info, &run_id, max, s.clock.now_ms())
        .await?;
    Ok(Json(AuditRun::from(run)).into_response())
}

/// One audit, with its findings.
#[utoipa::path(get, path = "/v1/archives/{archive}/audits/{id}", tag = "audit", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name"), ("id" = String, Path, description = "audit id")),
    responses(
        (status = 200, description = "the run", body = AuditRun),
        (status = 404, description = "no such audit or archive", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn get_audit(
    State(s): State<AppState>,
    c: Caller,
    Path((archive, run_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require_any(&[Role::Auditor, Role::Archivist])?;
    let run = s.audits.load(info.id, &run_id)?;
    Ok(Json(AuditRun::from(run)).into_response())
}

/// The archive's audits, oldest first.
#[utoipa::path(get, path = "/v1/archives/{archive}/audits", tag = "audit", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name")),
    responses(
        (status = 200, description = "`{audits: [...]}`", body = Object),
        (status = 404, description = "no such archive", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn list_audits(
    State(s): State<AppState>,
    c: Caller,
    Path(archive): Path<String>,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require_any(&[Role::Auditor, Role::Archivist])?;
    let mut runs: Vec<AuditRun> = s
        .audits
        .list(info.id)?
        .into_iter()
        .map(Into::into)
        .collect();
    for r in &mut runs {
        // The list is a summary: findings are read per run.
        r.findings.clear();
    }
    Ok(Json(serde_json::json!({ "audits": runs })).into_response())
}
