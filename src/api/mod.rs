//! The REST API (axum). Every route is registered through `utoipa-axum`, so the router and
//! the OpenAPI document at `/openapi.json` come from the same annotations and cannot drift.
//! Handlers take the authenticated [`Caller`], check the role, resolve the archive inside the
//! caller's tenant, and call the archive layer. Every refusal is problem+json.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod docs;
pub mod dto;
pub mod export;
pub mod ingest;
pub mod limits;
pub mod metrics;
pub mod problem;
pub mod proofs;
pub mod read;
pub mod retention;
pub mod tier;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::archive::access::{AccessEntry, AccessLog, SYSTEM_ARCHIVE_PREFIX};
use crate::archive::archives::{ArchiveInfo, Archives};
use crate::audit::run::Audits;
use crate::clock::Clock;
use crate::error::Error;
use crate::limits::{BODY_BYTES_MAX, PACKAGE_BODY_BYTES_MAX, PACKAGE_UPLOADS_IN_FLIGHT_MAX};
use crate::retention::erasure::Erasures;
use crate::retention::holds::Holds;
use crate::tenant::Tenants;
use crate::tier::mover::Tierer;
use crate::usage::Usage;
use auth::Caller;
use problem::Problem;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub archives: Arc<Archives>,
    pub clock: Arc<dyn Clock>,
    pub access: AccessLog,
    pub uploads: Arc<Semaphore>,
    pub tenants: Arc<Tenants>,
    pub tier: Arc<Tierer>,
    pub usage: Arc<Usage>,
    pub holds: Arc<Holds>,
    pub erasures: Arc<Erasures>,
    pub audits: Arc<Audits>,
}

impl AppState {
    /// State over `archives`; starts the access-log writer (needs a tokio runtime).
    pub fn new(
        archives: Arc<Archives>,
        tenants: Tenants,
        clock: Arc<dyn Clock>,
        tier: Arc<Tierer>,
    ) -> AppState {
        AppState {
            access: AccessLog::start(archives.clone()),
            tenants: Arc::new(tenants),
            uploads: Arc::new(Semaphore::new(PACKAGE_UPLOADS_IN_FLIGHT_MAX)),
            tier,
            usage: Arc::new(Usage::default()),
            holds: Arc::new(Holds::new(archives.store_arc())),
            erasures: Arc::new(Erasures::new(archives.clone())),
            audits: Arc::new(Audits::new(archives.clone())),
            archives,
            clock,
        }
    }
}

pub type ApiResult<T> = Result<T, Problem>;

/// The API routes with their OpenAPI description (before state and middleware).
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(docs::base())
        .merge(limited_routes())
        .merge(service_routes())
}

/// Routes behind the in-flight limit: everything that touches archives.
fn limited_routes() -> OpenApiRouter<AppState> {
    let (schemas, paths, upload) = routes!(ingest::ingest_package);
    let upload = (
        schemas,
        paths,
        upload.layer(DefaultBodyLimit::max(PACKAGE_BODY_BYTES_MAX)),
    );
    OpenApiRouter::default()
        .routes(routes!(admin::create_tenant))
        .routes(routes!(admin::create_key, admin::list_keys))
        .routes(routes!(admin::revoke_key))
        .routes(routes!(admin::list_archives))
        .routes(routes!(admin::apply_agreement, admin::get_agreement))
        .routes(routes!(ingest::ingest_row))
        .routes(routes!(ingest::ingest_batch))
        .routes(upload)
        .routes(routes!(read::search))
        .routes(routes!(read::read_record))
        .routes(routes!(read::record_versions))
        .routes(routes!(read::read_package))
        .routes(routes!(read::read_sealed))
        .routes(routes!(read::read_receipt))
        .routes(routes!(read::read_object))
        .routes(routes!(proofs::public_keys))
        .routes(routes!(proofs::checkpoint, proofs::checkpoint_now))
        .routes(routes!(proofs::inclusion))
        .routes(routes!(proofs::consistency))
        .routes(routes!(tier::tier_status))
        .routes(routes!(tier::tier_run))
        .routes(routes!(tier::usage))
        .routes(routes!(retention::place_hold, retention::list_holds))
        .routes(routes!(retention::lift_hold))
        .routes(routes!(retention::retention_plan))
        .routes(routes!(retention::retention_apply))
        .routes(routes!(retention::list_dispositions))
        .routes(routes!(retention::disposition_certificate))
        .routes(routes!(
            retention::request_erasure,
            retention::list_erasures
        ))
        .routes(routes!(retention::approve_erasure))
        .routes(routes!(retention::reject_erasure))
        .routes(routes!(audit::start_audit, audit::list_audits))
        .routes(routes!(audit::audit_step))
        .routes(routes!(audit::get_audit))
        .routes(routes!(export::package_bundle))
}

/// Routes outside the limit, so an overloaded node still answers them.
fn service_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(docs::healthz))
        .routes(routes!(docs::metrics))
        .routes(routes!(docs::openapi_json))
}

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().into_openapi()
}

/// The whole service: archive routes behind the in-flight limit, service routes outside it,
/// every error as problem+json, metrics on every request.
pub fn router(state: AppState, in_flight_max: usize) -> Router {
    let (limited, mut doc) = OpenApiRouter::with_openapi(docs::base())
        .merge(limited_routes())
        .split_for_parts();
    let (service, service_doc) = service_routes().split_for_parts();
    doc.merge(service_doc);
    let doc = Arc::new(doc);
    let in_flight = limits::InFlight::new(in_flight_max);
    let limited = limited
        .route_layer(axum::middleware::from_fn_with_state(
            limits::BodyBudget::default(),
            limits::declared_length,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            in_flight,
            limits::limit,
        ))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX));
    Router::new()
        .merge(limited)
        .merge(service)
        .merge(docs::swagger_ui())
        .fallback(|| async { Problem::not_found("no such route") })
        .layer(axum::Extension(doc))
        .layer(axum::middleware::from_fn(problem::ensure_problem))
        .layer(axum::middleware::from_fn(metrics::track))
        .with_state(state)
}

/// The caller's archive by name, or 404 (also for archives of other tenants or outside the
/// key's list). Handlers call it before their role check, so another tenant's archive is a
/// plain 404 whatever the key's role.
pub fn archive_of(s: &AppState, c: &Caller, archive: &str) -> ApiResult<ArchiveInfo> {
    c.may_use(archive)?;
    Ok(s.archives
        .find(&c.api_key.tenant, archive)?
        .ok_or_else(|| Error::not_found(format!("no archive {archive:?}")))?)
}

/// Records a read of archived content in the tenant's access log and waits until it is
/// durable. Reads of the system archives themselves are not recorded (that would recurse).
pub async fn record_access(
    s: &AppState,
    c: &Caller,
    archive: &str,
    action: &'static str,
    seq: Option<u64>,
    detail: Option<String>,
) -> ApiResult<()> {
    if archive.starts_with(SYSTEM_ARCHIVE_PREFIX) {
        return Ok(());
    }
    let entry = AccessEntry {
        time_ms: s.clock.now_ms(),
        key_id: c.api_key.id.clone(),
        role: c.api_key.role.name().to_string(),
        archive: archive.to_string(),
        action,
        seq,
        detail,
    };
    Ok(s.access.record(&c.api_key.tenant, entry).await?)
}

/// A 200 response with `bytes` of `content_type`, served from `tier`.
pub fn bytes_response(bytes: Vec<u8>, content_type: &str, tier: &'static str) -> Response {
    let mut r = (StatusCode::OK, bytes).into_response();
    let ct = HeaderValue::from_str(content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    r.headers_mut().insert(header::CONTENT_TYPE, ct);
    r.headers_mut()
        .insert("zegel-tier", HeaderValue::from_static(tier));
    r
}

/// Parses a JSON request body, refusing it with a specific message.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| Problem::bad_request(format!("request body: {e}")))
}

/// As [`parse_json`], for a body that is optional: an empty one gives the defaults.
pub fn parse_json_or_default<T: serde::de::DeserializeOwned + Default>(
    body: &[u8],
) -> ApiResult<T> {
    if body.is_empty() {
        Ok(T::default())
    } else {
        parse_json(body)
    }
}

/// A time parameter: RFC 3339, or milliseconds since the epoch.
pub fn parse_time(name: &str, v: &str) -> ApiResult<u64> {
    if let Ok(ms) = v.parse::<u64>() {
        return Ok(ms);
    }
    let t = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
        .map_err(|_| {
            Problem::bad_request(format!(
                "`{name}` must be RFC 3339 or milliseconds since the epoch, not {v:?}"
            ))
        })?;
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| Problem::bad_request(format!("`{name}` is before 1970")))
}
