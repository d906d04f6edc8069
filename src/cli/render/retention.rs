//! Tables of retention: plans, applied dispositions, holds, erasures and dispositions.

use serde_json::Value;

use super::{arr, field, s, scope_text, table, when};
use crate::api::dto::retention::ApplyReport;

const HOLD_HEADERS: &[&str] = &["id", "archive", "scope", "reason", "placed by", "lifted"];

const ERASURE_HEADERS: &[&str] = &[
    "id",
    "archive",
    "scope",
    "state",
    "requested by",
    "decided by",
    "disposition",
];

/// `zegel retention plan`: one row per archive's plan.
pub fn plan(v: &Value) -> String {
    let rows: Vec<Vec<String>> = arr(v, "plans")
        .iter()
        .map(|p| {
            vec![
                s(field(p, "archive")),
                s(field(p, "due_packages")),
                s(field(p, "due_raw_bytes")),
                s(field(p, "due_hot")),
                s(field(p, "due_cold")),
                s(field(p, "held_packages")),
                s(field(p, "held_raw_bytes")),
                when(field(p, "next_due_ms")),
            ]
        })
        .collect();
    table(
        &[
            "archive",
            "due",
            "due bytes",
            "hot",
            "cold",
            "held",
            "held bytes",
            "next due",
        ],
        &rows,
    )
}

/// `zegel retention apply`: one row per disposition sealed, then the totals.
pub fn apply(steps: &[ApplyReport]) -> String {
    let rows: Vec<Vec<String>> = steps
        .iter()
        .filter_map(|st| st.disposed.as_ref().map(|d| (st, d)))
        .map(|(st, d)| {
            vec![
                st.archive.clone(),
                d.disposition.to_string(),
                d.packages.to_string(),
                d.hot.to_string(),
                d.cold.to_string(),
                d.segments_deleted.to_string(),
                d.segments_rewritten.to_string(),
                d.raw_bytes.to_string(),
            ]
        })
        .collect();
    let mut out = table(
        &[
            "archive",
            "disposition",
            "packages",
            "hot",
            "cold",
            "segments deleted",
            "segments rewritten",
            "raw bytes",
        ],
        &rows,
    );
    let total: u64 = steps
        .iter()
        .filter_map(|st| st.disposed.as_ref().map(|d| d.packages))
        .sum();
    let held: u64 = steps.iter().map(|st| st.held).sum();
    out.push_str(&format!(
        "{total} packages disposed of; {held} due packages kept by legal holds\n"
    ));
    out
}

/// `zegel hold add|remove`: the hold.
pub fn hold(v: &Value) -> String {
    table(HOLD_HEADERS, &[hold_row(v)])
}

/// `zegel hold list`.
pub fn holds(v: &Value) -> String {
    let rows: Vec<Vec<String>> = arr(v, "holds").iter().map(hold_row).collect();
    table(HOLD_HEADERS, &rows)
}

/// One hold as a table row; its scope in words.
fn hold_row(h: &Value) -> Vec<String> {
    let lifted = field(h, "lifted");
    vec![
        s(field(h, "id")),
        s(field(h, "archive")),
        scope_text(field(h, "scope")),
        s(field(h, "reason")),
        s(field(h, "placed_by")),
        if lifted.is_null() {
            "-".into()
        } else {
            format!(
                "by {}: {}",
                s(field(lifted, "by")),
                s(field(lifted, "reason"))
            )
        },
    ]
}

/// `zegel erasure request|reject`: the request.
pub fn erasure(v: &Value) -> String {
    table(ERASURE_HEADERS, &[erasure_row(v)])
}

/// `zegel erasure approve`: the request, now carried out.
pub fn erasure_done(v: &Value) -> String {
    table(ERASURE_HEADERS, &[erasure_row(field(v, "erasure"))])
}

/// `zegel erasure list`.
pub fn erasures(v: &Value) -> String {
    let rows: Vec<Vec<String>> = arr(v, "erasures").iter().map(erasure_row).collect();
    table(ERASURE_HEADERS, &rows)
}

/// One erasure request as a table row; its scope in words.
fn erasure_row(e: &Value) -> Vec<String> {
    vec![
        s(field(e, "id")),
        s(field(e, "archive")),
        scope_text(field(e, "scope")),
        s(field(e, "state")),
        s(field(e, "requested_by")),
        s(field(e, "decided_by")),
        s(field(e, "disposition")),
    ]
}

/// `zegel disposition list`.
pub fn dispositions(v: &Value) -> String {
    let rows: Vec<Vec<String>> = arr(v, "dispositions")
        .iter()
        .map(|d| {
            vec![
                s(field(d, "seq")),
                s(field(d, "cause")),
                s(field(d, "packages")),
                s(field(d, "hot")),
                s(field(d, "cold")),
                when(field(d, "decided_ms")),
                s(field(d, "authorized_by")),
                s(field(d, "erasure")),
            ]
        })
        .collect();
    table(
        &[
            "seq",
            "cause",
            "packages",
            "hot",
            "cold",
            "decided",
            "authorized by",
            "erasure",
        ],
        &rows,
    )
}
