//! The proof-bundle route: one file with everything a court needs to verify one package
//! offline (formats/bundle.md); `zegel-verify bundle` checks it.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::auth::{Caller, Role};
use crate::api::docs::ProblemDoc;
use crate::api::{ApiResult, AppState, archive_of, bytes_response, record_access};
use crate::export::{self, Objects};

/// `?objects=a.pdf,b.txt` carries only those objects (the others are withheld; their digests
/// stay in the header); without it, every object.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BundleQuery {
    pub objects: Option<String>,
}

/// The proof bundle of a package (`.zbundle`, formats/bundle.md): the sealed package (or
/// only chosen objects), receipt, inclusion proof under the newest checkpoint, consistency
/// from the receipt, public key, agreement, dispositions, and an HTML report.
#[utoipa::path(get, path = "/v1/archives/{archive}/packages/{seq}/bundle", tag = "proofs", security(("bearer" = [])),
    params(("archive" = String, Path, description = "archive name"), ("seq" = u64, Path, description = "position in the log"), BundleQuery),
    responses(
        (status = 200, description = "the bundle, CBOR", body = Vec<u8>, content_type = "application/vnd.zegel.bundle+cbor"),
        (status = 400, description = "an object named in `objects` that the package does not have", body = ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "no such package or archive", body = ProblemDoc, content_type = "application/problem+json"),
    ))]
pub async fn package_bundle(
    State(s): State<AppState>,
    c: Caller,
    Path((archive, seq)): Path<(String, u64)>,
    Query(q): Query<BundleQuery>,
) -> ApiResult<Response> {
    let info = archive_of(&s, &c, &archive)?;
    c.require_any(&[Role::Consumer, Role::Auditor])?;
    let objects = match &q.objects {
        None => Objects::All,
        Some(list) => Objects::Only(
            list.split(',')
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect(),
        ),
    };
    let bytes = export::bundle(&s.archives, &info, seq, &objects).await?;
    record_access(&s, &c, &archive, "bundle", Some(seq), q.objects.clone()).await?;
    Ok(bytes_response(
        bytes,
        zegel_format::bundle::BUNDLE_MEDIA_TYPE,
        "hot",
    ))
}
