//! Tables of tiering and usage.

use serde_json::Value;

use super::{arr, field, s, table};
use crate::api::dto::tier::PassReport;

/// `zegel tier status`.
pub fn status(v: &Value) -> String {
    let rows: Vec<Vec<String>> = arr(v, "archives")
        .iter()
        .map(|a| {
            vec![
                s(field(a, "tenant")),
                s(field(a, "archive")),
                s(field(a, "hot_packages")),
                s(field(a, "hot_bytes")),
                s(field(a, "cold_packages")),
                s(field(a, "cold_bytes")),
                s(field(a, "cold_raw_bytes")),
                s(field(a, "disposed_packages")),
                s(field(a, "segments")),
                s(field(a, "in_flight_packages")),
                s(field(a, "stage")),
                s(field(field(a, "last_error"), "error")),
            ]
        })
        .collect();
    table(
        &[
            "tenant",
            "archive",
            "hot pkgs",
            "hot bytes",
            "cold pkgs",
            "cold bytes",
            "cold raw",
            "disposed",
            "segments",
            "in flight",
            "stage",
            "last error",
        ],
        &rows,
    )
}

/// `zegel tier run`: the moves made, then the failures.
pub fn run(report: &PassReport) -> String {
    let rows: Vec<Vec<String>> = report
        .moves
        .iter()
        .map(|m| {
            vec![
                m.tenant.clone(),
                m.archive.clone(),
                format!("{}..{}", m.first, m.end),
                m.segments.to_string(),
                m.raw_bytes.to_string(),
                m.cold_bytes.to_string(),
                m.hot_bytes_freed.to_string(),
            ]
        })
        .collect();
    let mut out = table(
        &[
            "tenant",
            "archive",
            "seqs",
            "segments",
            "raw bytes",
            "cold bytes",
            "hot freed",
        ],
        &rows,
    );
    for e in &report.errors {
        out.push_str(&format!(
            "failed: {}/{}: {} (the hot copy is kept)\n",
            e.tenant, e.archive, e.error
        ));
    }
    out
}

/// `zegel usage`: the history, a row per tenant and day.
pub fn usage(v: &Value) -> String {
    let rows: Vec<Vec<String>> = arr(v, "history")
        .iter()
        .map(|d| {
            vec![
                s(field(d, "day")),
                s(field(d, "tenant")),
                s(field(d, "archives")),
                s(field(d, "packages")),
                s(field(d, "raw_bytes")),
                s(field(d, "hot_bytes")),
                s(field(d, "cold_bytes")),
                s(field(d, "requests")),
            ]
        })
        .collect();
    table(
        &[
            "day",
            "tenant",
            "archives",
            "packages",
            "raw bytes",
            "hot bytes",
            "cold bytes",
            "requests",
        ],
        &rows,
    )
}
