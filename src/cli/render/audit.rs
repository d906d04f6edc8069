//! Tables of audit runs: a summary row per run, then every finding kept.

use serde_json::Value;

use super::{arr, field, s, table};

/// `zegel audit`: `{"audits": [run, …]}`, each run with its `findings_total`.
pub fn audits(v: &Value) -> String {
    let runs = arr(v, "audits");
    let rows: Vec<Vec<String>> = runs.iter().map(summary_row).collect();
    let mut out = table(
        &[
            "archive",
            "audit",
            "sample %",
            "packages",
            "checked",
            "disposed",
            "objects",
            "bytes",
            "checkpoints",
            "findings",
            "recorded at seq",
        ],
        &rows,
    );
    let findings: Vec<Vec<String>> = runs
        .iter()
        .flat_map(|r| arr(r, "findings"))
        .map(finding_row)
        .collect();
    if !findings.is_empty() {
        out.push('\n');
        out.push_str(&table(
            &[
                "archive", "seq", "object", "check", "expected", "found", "detail",
            ],
            &findings,
        ));
    }
    out
}

fn summary_row(r: &Value) -> Vec<String> {
    let p = field(r, "packages");
    vec![
        s(field(r, "archive")),
        s(field(r, "id")),
        s(field(r, "sample_percent")),
        s(field(r, "size")),
        s(field(p, "checked")),
        s(field(p, "disposed")),
        s(field(p, "objects")),
        s(field(p, "bytes")),
        s(field(field(r, "log"), "checkpoints")),
        s(field(r, "findings_total")),
        s(field(r, "recorded_seq")),
    ]
}

fn finding_row(f: &Value) -> Vec<String> {
    vec![
        s(field(f, "archive")),
        s(field(f, "seq")),
        s(field(f, "object")),
        s(field(f, "check")),
        s(field(f, "expected")),
        s(field(f, "found")),
        s(field(f, "detail")),
    ]
}
