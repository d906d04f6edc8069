//! Proof routes: the public keys, signed checkpoints (latest, or signed now), inclusion and
//! consistency proofs. None of them needs archived content, so none is access-logged.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::auth::{Caller, Role};
use crate::api::docs::ProblemDoc;
use crate::api::problem::Problem;
use crate::api::{ApiResult, AppState, archive_of, bytes_response};

/// One public key of this node.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKey {
    /// Key name (the log name in checkpoint origins).
    pub name: String,
    /// Hex key id (formats/signed-note.md).
    pub key_id: String,
    /// The signed-note verifier key, `name+id+base64`: what `zegel-verify --key` takes.
    pub verifier_key: String,
    /// Hex SHA-256 fingerprint of the key (formats/signed-note.md §3.4): what
    /// `zegel-verify bundle --key` accepts when the bundle lists the key; compare it with one
    /// obtained through another channel.
    pub fingerprint: String,
    pub algorithm: String,
    /// Validity: start and end in ms since the epoch; null means open.
    pub valid_from_ms: Option<u64>,
    pub valid_until_ms: Option<u64>,
}

/// The public keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKeys {
    pub keys: Vec<PublicKey>,
}

/// The node's public keys (no authentication: verifiers need them).
#[utoipa::path(get, path = "/v1/keys", tag = "proofs",
    responses((status = 200, description = "the public keys with their validity", body = PublicKeys)))]
pub async fn public_keys(State(s): State<AppState>) -> Json<PublicKeys> {
    let k = s.archives.signing_key().verifier();
    Json(PublicKeys {
        keys: vec![PublicKey {
            name: k.name().to_string(),
            key_id: hex::encode(k.key_id()),
            verifier_key: k.to_text(),
            fingerprint: hex::encode(k.fingerprint()),
            algorithm: "ed25519".into(),
            valid_from_ms: None,
            valid_until_ms: None,
        }],
    })
}

fn note_response(note: String) -> Response {
    bytes_response(note.into_bytes(), "text/plain; charset=utf-8", "hot")
}

/// The newest signed checkpoint (signed now if none is stored yet).
#[utoipa::path(get, path = "/v1/archives/{archive}/checkpoint", tag = "proofs", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name")),
    responses(
        (status = 200, description = "a signed note (formats/checkpoint.md)", body = String, content_type = "text/plain"),
        (status = 404, description = "no such archive", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn checkpoint(
    State(s): State<AppState>,
    c: Caller,
    Path(archive): Path<String>,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    let note = match s.archives.latest_checkpoint(info.id)? {
        Some((_, note)) => note,
        None => s.archives.checkpoint_now(&info).await?,
    };
    Ok(note_response(note))
}

/// Signs a checkpoint of the current tree now (auditors and archivists).
#[utoipa::path(post, path = "/v1/archives/{archive}/checkpoint", tag = "proofs", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name")),
    responses(
        (status = 200, description = "the new signed note", body = String, content_type = "text/plain"),
        (status = 403, description = "not an auditor or archivist", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "no such archive", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn checkpoint_now(
    State(s): State<AppState>,
    c: Caller,
    Path(archive): Path<String>,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require_any(&[Role::Auditor, Role::Archivist])?;
    Ok(note_response(s.archives.checkpoint_now(&info).await?))
}

/// `?seq=&size=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// The package's position.
    pub seq: u64,
    /// Tree size to prove into (default: the current size).
    pub size: Option<u64>,
}

/// An RFC 9162 inclusion proof of package `seq` in the tree of `size`.
#[utoipa::path(get, path = "/v1/archives/{archive}/proofs/inclusion", tag = "proofs", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name"), InclusionQuery),
    responses(
        (status = 200, description = "the proof, CBOR (formats/proofs.md)", body = Vec<u8>, content_type = "application/cbor"),
        (status = 400, description = "seq or size out of range", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "no such archive", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn inclusion(
    State(s): State<AppState>,
    c: Caller,
    Path(archive): Path<String>,
    Query(q): Query<InclusionQuery>,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    let current = s.archives.size(&info)?;
    let size = q.size.unwrap_or(current);
    if size > current || q.seq >= size {
        return Err(Problem::bad_request(format!(
            "need seq < size <= {current}; got seq {} size {size}",
            q.seq
        )));
    }
    Ok(bytes_response(
        s.archives.inclusion(info.id, q.seq, size)?.encode(),
        "application/cbor",
        "hot",
    ))
}

/// `?from=&to=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The older tree size (at least 1).
    pub from: u64,
    /// The newer tree size (default: the current size).
    pub to: Option<u64>,
}

/// An RFC 9162 consistency proof between two tree sizes.
#[utoipa::path(get, path = "/v1/archives/{archive}/proofs/consistency", tag = "proofs", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name"), ConsistencyQuery),
    responses(
        (status = 200, description = "the proof, CBOR (formats/proofs.md)", body = Vec<u8>, content_type = "application/cbor"),
        (status = 400, description = "sizes out of range", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "no such archive", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn consistency(
    State(s): State<AppState>,
    c: Caller,
    Path(archive): Path<String>,
    Query(q): Query<ConsistencyQuery>,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    let current = s.archives.size(&info)?;
    let to = q.to.unwrap_or(current);
    if q.from == 0 || q.from > to || to > current {
        return Err(Problem::bad_request(format!(
            "need 1 <= from <= to <= {current}; got from {} to {to}",
            q.from
        )));
    }
    Ok(bytes_response(
        s.archives.consistency(info.id, q.from, to)?.encode(),
        "application/cbor",
        "hot",
    ))
}
