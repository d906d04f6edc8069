//! Request metrics and logging: every request counted and timed by route template.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// Middleware: count every request and time it, labelled by route template (never by the
/// concrete path, which would leak record keys into labels), method and status.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let secs = started.elapsed().as_secs_f64();
    metrics::counter!("zegel_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status.clone())
        .increment(1);
    metrics::histogram!("zegel_http_request_duration_seconds", "route" => route.clone(), "method" => method.clone())
        .record(secs);
    tracing::debug!(%method, %route, %status, ms = secs * 1000.0, "request");
    response
}
