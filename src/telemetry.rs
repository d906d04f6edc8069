//! Metrics (Prometheus text at `GET /metrics`) and request logging. One process-wide
//! recorder; every name starts with `zegel_` and is listed in docs/ARCHITECTURE.md.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder once per process (later calls, e.g. a second in-process server in
/// tests, share it). `None` when another recorder was installed first.
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .as_ref()
}

/// The current metrics as Prometheus text.
pub fn render() -> String {
    match prometheus() {
        Some(h) => {
            h.run_upkeep();
            h.render()
        }
        None => String::new(),
    }
}

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
