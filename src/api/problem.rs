//! Every refusal is `application/problem+json` (RFC 9457) with a specific message; error
//! categories map to HTTP statuses here and nowhere else.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use zegel_format::sip::Violation;

use crate::error::Error;
use crate::limits::REJECTION_DETAIL_BYTES_MAX;

/// Seconds a client should wait after a 503.
pub const RETRY_AFTER_SECS: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
    /// For 410 Gone: the seq of the disposition package that disposed of the package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disposition: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("https://zegel.invalid/problems/{kind}"),
            title: status.canonical_reason().unwrap_or("error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            violations: Vec::new(),
            disposition: None,
        }
    }

    pub fn invalid(detail: impl Into<String>, violations: Vec<Violation>) -> Problem {
        let mut p = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", detail);
        p.violations = violations;
        p
    }

    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    pub fn unauthorized() -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token is required",
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn too_large(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", detail)
    }

    pub fn busy(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "busy", detail)
    }

    fn internal(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // A problem is strings and numbers: encoding it cannot fail.
        #[allow(clippy::disallowed_methods)]
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut r = (status, body).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        r
    }
}

/// Middleware: every error response is problem+json, including the framework's own
/// rejections (body too large, a path or query parameter of the wrong type, a wrong method),
/// whose text becomes the problem's detail. Other headers (`Allow`, `Retry-After`) are kept.
pub async fn ensure_problem(req: Request, next: Next) -> Response {
    let r = next.run(req).await;
    let status = r.status();
    let is_problem = r
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return r;
    }
    let (parts, body) = r.into_parts();
    // A rejection body too long to carry is replaced by the status's own reason below.
    #[allow(clippy::disallowed_methods)]
    let text = axum::body::to_bytes(body, REJECTION_DETAIL_BYTES_MAX)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let kind = match status {
        StatusCode::BAD_REQUEST => "bad-request",
        StatusCode::PAYLOAD_TOO_LARGE => "too-large",
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
        StatusCode::UNPROCESSABLE_ENTITY => "validation",
        _ => "error",
    };
    let detail = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let mut out = Problem::new(status, kind, detail).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

impl From<Error> for Problem {
    /// The one mapping from error categories to statuses and problem types. A fault of the
    /// server (`Internal`) or damaged stored data (`Corrupt`) is logged here with its detail;
    /// the client is told what kind of failure it was, never the engine's message or a path.
    fn from(e: Error) -> Problem {
        match e {
            Error::BadRequest(m) => Problem::bad_request(m),
            Error::Invalid { detail, violations } => Problem::invalid(detail, violations),
            Error::Unauthorized => Problem::unauthorized(),
            Error::Forbidden(m) => Problem::forbidden(m),
            Error::NotFound(m) => Problem::not_found(m),
            Error::Conflict { kind, detail } => Problem::new(StatusCode::CONFLICT, kind, detail),
            Error::Gone {
                seq,
                cause,
                disposition,
                ..
            } => {
                let mut p = Problem::new(
                    StatusCode::GONE,
                    "disposed",
                    format!(
                        "package {seq} was disposed of ({cause}) by the disposition package at seq {disposition}; its leaf stays in the log, and GET .../dispositions/{disposition}/certificate gives the certificate"
                    ),
                );
                p.disposition = Some(disposition);
                p
            }
            Error::TooLarge(m) => Problem::too_large(m),
            Error::Busy(m) => Problem::busy(m),
            Error::Unavailable(m) => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", m)
            }
            Error::Corrupt {
                check,
                detail,
                found,
            } => {
                tracing::error!(check, detail = %detail, found = ?found, "stored data failed its check");
                metrics::counter!("zegel_corrupt_reads_total").increment(1);
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "corrupt",
                    format!(
                        "stored data failed its check ({check}); it is not served, and the server logged the detail"
                    ),
                )
            }
            Error::Internal(detail) => {
                tracing::error!(detail = %detail, "internal error");
                Problem::internal("the server failed; it logged the detail")
            }
        }
    }
}
