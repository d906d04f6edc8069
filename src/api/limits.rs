//! Back-pressure: a named limit on requests in flight. Beyond it the server answers 503 with
//! `Retry-After` at once instead of queueing without bound.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::api::problem::Problem;

/// Default most requests the API handles at once (`in_flight_max` in the configuration).
pub const IN_FLIGHT_REQUESTS_MAX: usize = 512;

/// The shared permit pool of one server.
#[derive(Debug, Clone)]
pub struct InFlight {
    permits: Arc<Semaphore>,
    max: usize,
}

impl InFlight {
    pub fn new(max: usize) -> InFlight {
        InFlight {
            permits: Arc::new(Semaphore::new(max)),
            max,
        }
    }
}

/// Middleware: run the request with a permit, or refuse it now with 503.
pub async fn limit(State(f): State<InFlight>, req: Request, next: Next) -> Response {
    match f.permits.clone().try_acquire_owned() {
        Ok(permit) => {
            let response = next.run(req).await;
            drop(permit);
            response
        }
        Err(_) => {
            metrics::counter!("zegel_http_overload_total").increment(1);
            Problem::busy(format!(
                "the server is handling its limit of {} requests; retry shortly",
                f.max
            ))
            .into_response()
        }
    }
}

/// Middleware: a body whose declared `Content-Length` is above the route's limit is refused
/// with 413 at once, before any of it is read (a client that sent `Expect: 100-continue`
/// never has to send it). Bodies without a declared length are bounded while read.
pub async fn declared_length(req: Request, next: Next) -> Response {
    let max = match (req.method(), req.extensions().get::<MatchedPath>()) {
        (&Method::POST, Some(p)) if p.as_str() == "/v1/archives/{archive}/packages" => {
            crate::api::PACKAGE_BODY_BYTES_MAX
        }
        _ => crate::api::BODY_BYTES_MAX,
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > max as u64 => Problem::too_large(format!(
            "the body is {n} bytes, above this route's limit of {max}"
        ))
        .into_response(),
        _ => next.run(req).await,
    }
}
