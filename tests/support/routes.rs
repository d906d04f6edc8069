//! Every API route the tests call, built in this one place: each function answers the path
//! and query of one route (no scheme or host; a [`super::Client`] adds its base). Path parts
//! are written as given, so a key that needs percent-encoding is passed encoded.

use std::fmt::Display;

pub fn tenants() -> String {
    "/v1/tenants".to_string()
}

pub fn tenant_keys(tenant: impl Display) -> String {
    format!("/v1/tenants/{tenant}/keys")
}

/// The node's verifier keys.
pub fn keys() -> String {
    "/v1/keys".to_string()
}

pub fn usage() -> String {
    "/v1/usage".to_string()
}

pub fn tier() -> String {
    "/v1/tier".to_string()
}

pub fn tier_run() -> String {
    "/v1/tier/run".to_string()
}

pub fn archives() -> String {
    "/v1/archives".to_string()
}

pub fn agreement(archive: impl Display) -> String {
    format!("/v1/archives/{archive}/agreement")
}

pub fn records(archive: impl Display) -> String {
    format!("/v1/archives/{archive}/records")
}

pub fn records_batch(archive: impl Display) -> String {
    format!("/v1/archives/{archive}/records/batch")
}

pub fn record(archive: impl Display, key: impl Display) -> String {
    format!("/v1/archives/{archive}/records/{key}")
}

pub fn record_version(archive: impl Display, key: impl Display, version: impl Display) -> String {
    format!("/v1/archives/{archive}/records/{key}?version={version}")
}

pub fn record_versions(archive: impl Display, key: impl Display) -> String {
    format!("/v1/archives/{archive}/records/{key}/versions")
}

pub fn packages(archive: impl Display) -> String {
    format!("/v1/archives/{archive}/packages")
}

/// A search: `GET packages` with `query` (e.g. `sender=RSZ&limit=3`).
pub fn search(archive: impl Display, query: impl Display) -> String {
    format!("/v1/archives/{archive}/packages?{query}")
}

pub fn package(archive: impl Display, seq: impl Display) -> String {
    format!("/v1/archives/{archive}/packages/{seq}")
}

pub fn sealed(archive: impl Display, seq: impl Display) -> String {
    format!("/v1/archives/{archive}/packages/{seq}/sealed")
}

pub fn receipt(archive: impl Display, seq: impl Display) -> String {
    format!("/v1/archives/{archive}/packages/{seq}/receipt")
}

pub fn object(archive: impl Display, seq: impl Display, name: impl Display) -> String {
    format!("/v1/archives/{archive}/packages/{seq}/objects/{name}")
}

pub fn bundle(archive: impl Display, seq: impl Display) -> String {
    format!("/v1/archives/{archive}/packages/{seq}/bundle")
}

pub fn checkpoint(archive: impl Display) -> String {
    format!("/v1/archives/{archive}/checkpoint")
}

/// The inclusion proof of package `seq` in the log of `size` packages.
pub fn inclusion(archive: impl Display, seq: impl Display, size: impl Display) -> String {
    format!("/v1/archives/{archive}/proofs/inclusion?seq={seq}&size={size}")
}

/// The consistency proof between the log sizes `from` and `to`.
pub fn consistency(archive: impl Display, from: impl Display, to: impl Display) -> String {
    format!("/v1/archives/{archive}/proofs/consistency?from={from}&to={to}")
}

/// A proof route (`inclusion` or `consistency`) with a query as given, e.g. an incomplete one.
pub fn proof(archive: impl Display, kind: impl Display, query: impl Display) -> String {
    format!("/v1/archives/{archive}/proofs/{kind}?{query}")
}

pub fn holds(archive: impl Display) -> String {
    format!("/v1/archives/{archive}/holds")
}

pub fn hold_lift(archive: impl Display, id: impl Display) -> String {
    format!("/v1/archives/{archive}/holds/{id}/lift")
}

pub fn erasures(archive: impl Display) -> String {
    format!("/v1/archives/{archive}/erasures")
}

pub fn erasure_approve(archive: impl Display, id: impl Display) -> String {
    format!("/v1/archives/{archive}/erasures/{id}/approve")
}

pub fn erasure_reject(archive: impl Display, id: impl Display) -> String {
    format!("/v1/archives/{archive}/erasures/{id}/reject")
}

pub fn retention_plan(archive: impl Display) -> String {
    format!("/v1/archives/{archive}/retention/plan")
}

pub fn retention_apply(archive: impl Display) -> String {
    format!("/v1/archives/{archive}/retention/apply")
}

pub fn dispositions(archive: impl Display) -> String {
    format!("/v1/archives/{archive}/dispositions")
}

pub fn certificate(archive: impl Display, disposition: impl Display) -> String {
    format!("/v1/archives/{archive}/dispositions/{disposition}/certificate")
}

pub fn audits(archive: impl Display) -> String {
    format!("/v1/archives/{archive}/audits")
}

pub fn audit_step(archive: impl Display, id: impl Display) -> String {
    format!("/v1/archives/{archive}/audits/{id}/step")
}

/// `route` with `query` appended (e.g. `all=true`, or a malformed one a test is about).
pub fn with_query(route: String, query: impl Display) -> String {
    format!("{route}?{query}")
}

/// The OpenAPI document.
pub fn openapi() -> String {
    "/openapi.json".to_string()
}

/// The API documentation page.
pub fn docs() -> String {
    "/docs/".to_string()
}

pub fn metrics() -> String {
    "/metrics".to_string()
}

pub fn healthz() -> String {
    "/healthz".to_string()
}
