//! Back-pressure: a named limit on requests in flight. Beyond it the server answers 503 with
//! `Retry-After` at once instead of queueing without bound.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::api::problem::Problem;
use crate::limits::BODY_BYTES_IN_FLIGHT_MAX;

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

/// The shared body-byte budget, in KiB permits.
#[derive(Debug, Clone)]
pub struct BodyBudget(Arc<Semaphore>);

impl Default for BodyBudget {
    fn default() -> BodyBudget {
        BodyBudget(Arc::new(Semaphore::new(BODY_BYTES_IN_FLIGHT_MAX >> 10)))
    }
}

/// Middleware: a body whose declared `Content-Length` is above the route's limit is refused
/// with 413 at once, before any of it is read (a client that sent `Expect: 100-continue`
/// never has to send it). Otherwise the body's bytes are reserved from the [`BodyBudget`]
/// for the request's lifetime, or the request gets 503.
pub async fn declared_length(
    State(budget): State<BodyBudget>,
    req: Request,
    next: Next,
) -> Response {
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
    let reserve = match declared {
        Some(n) if n > max as u64 => {
            return Problem::too_large(format!(
                "the body is {n} bytes, above this route's limit of {max}"
            ))
            .into_response();
        }
        Some(n) => n,
        None if req.method() == Method::GET => 0,
        None => max as u64,
    };
    let kib = u32::try_from(reserve.div_ceil(1024)).unwrap_or(u32::MAX);
    let _permit = match budget.0.clone().try_acquire_many_owned(kib) {
        Ok(p) => p,
        Err(_) => {
            metrics::counter!("zegel_http_overload_total").increment(1);
            return Problem::busy(format!(
                "the server holds its limit of {} MiB of request bodies; retry shortly",
                BODY_BYTES_IN_FLIGHT_MAX >> 20
            ))
            .into_response();
        }
    };
    next.run(req).await
}
