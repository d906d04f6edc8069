//! The service's self-description: `/openapi.json` (generated from the same annotations that
//! register the routes), the Swagger UI at `/docs` (vendored, nothing fetched), `/healthz` and
//! `/metrics`, and the schemas shared by several routes.

use std::sync::Arc;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::api::AppState;

/// The document's fixed parts: title, version, tags, the bearer scheme and shared schemas.
pub fn base() -> OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(
        info(
            title = "Zegel archive API",
            description = "Archiving as a service: sealed packages in per-archive Merkle logs, signed receipts, checkpoints and proofs. Every refusal is application/problem+json (RFC 9457).",
        ),
        tags(
            (name = "admin", description = "Tenants, API keys, archives and agreements"),
            (name = "ingest", description = "Rows, batches and document packages"),
            (name = "read", description = "Records, packages, objects and search (every read is access-logged)"),
            (name = "proofs", description = "Keys, checkpoints, inclusion and consistency proofs"),
            (name = "operations", description = "Tiering to the cold store and usage metering"),
            (name = "retention", description = "Legal holds and the retention plan"),
            (name = "service", description = "Health, metrics, this document"),
        ),
        components(schemas(ProblemDoc, ViolationDoc))
    )]
    struct Base;
    let mut doc = <Base as utoipa::OpenApi>::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An API key token (`zgl_…`), created with `zegel key create`.",
                ))
                .build(),
        ),
    );
    doc
}

/// A refusal (RFC 9457 problem details).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemDoc {
    /// A URI naming the kind of problem, e.g. `https://zegel.invalid/problems/validation`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What exactly was wrong, in words.
    pub detail: String,
    /// For validation problems: every violation, each with its field, object or line.
    pub violations: Option<Vec<ViolationDoc>>,
    /// For 410 Gone: the seq of the disposition package that disposed of the package.
    pub disposition: Option<u64>,
}

/// One violation of the agreement or the SIP format.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Violation)]
pub struct ViolationDoc {
    /// Where: a JSON pointer such as `/metadata/sent_at`, prefixed `line N` in a batch.
    pub field: String,
    pub problem: String,
}

/// `GET /healthz`.
#[utoipa::path(get, path = "/healthz", tag = "service",
    responses((status = 200, description = "the node is up", body = String, content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /metrics`: Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "every `zegel_*` metric in Prometheus text format", body = String, content_type = "text/plain; version=0.0.4")))]
pub async fn metrics() -> Response {
    let mut r = crate::telemetry::render().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// `GET /openapi.json`: this document.
#[utoipa::path(get, path = "/openapi.json", tag = "service",
    responses((status = 200, description = "the OpenAPI 3.1 document of every route", body = Object)))]
pub async fn openapi_json(Extension(doc): Extension<Arc<OpenApi>>) -> Json<OpenApi> {
    Json((*doc).clone())
}

/// The Swagger UI at `/docs`, reading `/openapi.json`; its files are vendored in the binary.
pub fn swagger_ui() -> Router<AppState> {
    utoipa_swagger_ui::SwaggerUi::new("/docs")
        .config(utoipa_swagger_ui::Config::from("/openapi.json"))
        .into()
}
