//! Administration routes: tenants and API keys (admins), archives and their submission
//! agreements (archivists).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zegel_format::sip::Violation;

use crate::api::auth::{Caller, Role};
use crate::api::docs::ProblemDoc;
use crate::api::dto::tenant as dto;
use crate::api::problem::Problem;
use crate::api::{ApiResult, AppState, archive_of, parse_json};
use crate::archive::access::SYSTEM_ARCHIVE_PREFIX;
use crate::archive::agreement::Agreement;
use crate::error::Error;

/// Body of `POST /v1/tenants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// 1-64 bytes of a-z, 0-9, '.', '_', '-', starting with a letter or digit.
    pub tenant: String,
}

/// Body of `POST /v1/tenants/{tenant}/keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    pub role: dto::Role,
    /// Limit the key to these archives; absent means every archive of the tenant.
    #[serde(default)]
    pub archives: Option<Vec<String>>,
}

/// A new key: the token is shown once, here, and stored only as a hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    pub token: String,
    pub key: dto::ApiKey,
}

/// One archive of the caller's tenant.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ArchiveSummary {
    pub archive: String,
    /// Packages in its log (the tree size).
    pub packages: u64,
    pub created_ms: u64,
}

fn require_global_admin(c: &Caller) -> Result<(), Error> {
    if c.is_server_admin() {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only the server's admin key may do this".into(),
        ))
    }
}

fn require_tenant_admin(c: &Caller, tenant: &str) -> Result<(), Error> {
    if require_global_admin(c).is_ok()
        || (c.api_key.role == Role::Admin && c.api_key.tenant == tenant)
    {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "only an admin of {tenant:?} may do this"
        )))
    }
}

/// Creates a tenant (the server's admin key only).
#[utoipa::path(post, path = "/v1/tenants", tag = "admin", security(("bearer" = [])),
    request_body = NewTenant,
    responses(
        (status = 201, description = "created", body = NewTenant),
        (status = 409, description = "the tenant exists", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 422, description = "bad tenant name", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 401, description = "no valid token", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "not the server's admin key", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn create_tenant(
    State(s): State<AppState>,
    c: Caller,
    body: Bytes,
) -> ApiResult<Response> {
    require_global_admin(&c)?;
    let t: NewTenant = parse_json(&body)?;
    zegel_format::header::check_identifier("tenant", &t.tenant).map_err(|e| {
        Problem::invalid(
            e.to_string(),
            vec![Violation::new("/tenant", "not an identifier")],
        )
    })?;
    s.tenants.create(&t.tenant, s.clock.now_ms())?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "tenant": t.tenant })),
    )
        .into_response())
}

/// Creates an API key in a tenant; the token is returned once.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/keys", tag = "admin", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "tenant name")),
    request_body = NewKey,
    responses(
        (status = 201, description = "created; keep the token, it is not shown again", body = CreatedKey),
        (status = 404, description = "no such tenant", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "not an admin of this tenant", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn create_key(
    State(s): State<AppState>,
    c: Caller,
    Path(tenant): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    require_tenant_admin(&c, &tenant)?;
    let k: NewKey = parse_json(&body)?;
    let role = k.role.into();
    let (token, key) = s
        .tenants
        .create_key(&tenant, role, k.archives, s.clock.now_ms())?;
    let key = dto::ApiKey::from(key);
    Ok((StatusCode::CREATED, Json(CreatedKey { token, key })).into_response())
}

/// Lists a tenant's API keys (never their tokens).
#[utoipa::path(get, path = "/v1/tenants/{tenant}/keys", tag = "admin", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "tenant name")),
    responses(
        (status = 200, description = "the keys", body = Object, example = json!({"keys": []})),
        (status = 403, description = "not an admin of this tenant", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn list_keys(
    State(s): State<AppState>,
    c: Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Response> {
    require_tenant_admin(&c, &tenant)?;
    let keys: Vec<dto::ApiKey> = s
        .tenants
        .keys(&tenant)?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(serde_json::json!({ "keys": keys })).into_response())
}

/// Revokes an API key: its token stops working at once.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/keys/{id}/revoke", tag = "admin", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "tenant name"), ("id" = String, Path, description = "key id")),
    responses(
        (status = 204, description = "revoked"),
        (status = 404, description = "no such key", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "not an admin of this tenant", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn revoke_key(
    State(s): State<AppState>,
    c: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    require_tenant_admin(&c, &tenant)?;
    s.tenants.revoke_key(&tenant, &id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The archives of the caller's tenant that the key may use.
#[utoipa::path(get, path = "/v1/archives", tag = "admin", security(("bearer" = [])),
    responses((status = 200, description = "the archives", body = Object, example = json!({"archives": [{"archive": "ebox", "packages": 3, "created_ms": 1}]}))))]
pub async fn list_archives(State(s): State<AppState>, c: Caller) -> ApiResult<Response> {
    let mut out = Vec::new();
    for info in s.archives.all()? {
        if info.tenant == c.api_key.tenant && c.may_use(&info.archive).is_ok() {
            out.push(ArchiveSummary {
                packages: s.archives.size(&info)?,
                archive: info.archive,
                created_ms: info.created_ms,
            });
        }
    }
    Ok(Json(serde_json::json!({ "archives": out })).into_response())
}

/// Creates the archive with agreement version 1, or seals the next version into its log.
#[utoipa::path(put, path = "/v1/archives/{archive}/agreement", tag = "admin", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name")),
    request_body(content = Object, description = "the agreement document, JSON or TOML (see examples/ebox-agreement.json)", content_type = "application/json"),
    responses(
        (status = 201, description = "archive created with agreement version 1 at seq 0", body = Object),
        (status = 200, description = "a new agreement version sealed", body = Object),
        (status = 422, description = "the agreement is not valid, or not the next version", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "not an archivist", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn apply_agreement(
    State(s): State<AppState>,
    c: Caller,
    Path(archive): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    c.require(Role::Archivist)?;
    c.may_use(&archive)?;
    if archive.starts_with(SYSTEM_ARCHIVE_PREFIX) {
        return Err(Problem::invalid(
            format!("archive names starting {SYSTEM_ARCHIVE_PREFIX:?} are reserved for the server"),
            vec![Violation::new("archive", "reserved name")],
        ));
    }
    let agreement =
        Agreement::parse(&body).map_err(|v| Problem::invalid("the agreement is not valid", v))?;
    match s.archives.find(&c.api_key.tenant, &archive)? {
        None => {
            if agreement.version != 1 {
                return Err(Problem::invalid(
                    "a new archive starts with agreement version 1",
                    vec![Violation::new("/version", "must be 1")],
                ));
            }
            zegel_format::header::check_identifier("archive", &archive).map_err(|e| {
                Problem::invalid(
                    e.to_string(),
                    vec![Violation::new("archive", "not an identifier")],
                )
            })?;
            s.archives
                .create(&c.api_key.tenant, &archive, &body, &agreement)
                .await?;
            Ok((
                StatusCode::CREATED,
                Json(serde_json::json!({ "archive": archive, "agreement_version": 1, "seq": 0 })),
            )
                .into_response())
        }
        Some(info) => {
            let (_, current) = s.archives.current_agreement(&info).await?;
            let next = current.version + 1;
            if agreement.version != next {
                return Err(Problem::invalid(
                    format!("the next agreement version is {next}"),
                    vec![Violation::new("/version", format!("must be {next}"))],
                ));
            }
            let seq = s.archives.apply_agreement(&info, &body, &agreement).await?;
            Ok(Json(serde_json::json!({ "archive": archive, "agreement_version": agreement.version, "seq": seq })).into_response())
        }
    }
}

/// The agreement version in force and the seq of the package that sealed it.
#[utoipa::path(get, path = "/v1/archives/{archive}/agreement", tag = "admin", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name")),
    responses(
        (status = 200, description = "the agreement in force", body = Object),
        (status = 404, description = "no such archive", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn get_agreement(
    State(s): State<AppState>,
    c: Caller,
    Path(archive): Path<String>,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    let (seq, a) = s.archives.current_agreement(&info).await?;
    Ok(Json(serde_json::json!({ "seq": seq, "agreement": &*a })).into_response())
}
