//! Tables of audit runs: a summary row per run, then every finding kept.

use super::{opt, table};
use crate::api::dto::audit::{AuditRun, Finding};

/// `zegel audit`: a row per run, then the findings of every run.
pub fn audits(runs: &[AuditRun]) -> String {
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
        .flat_map(|r| &r.findings)
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

fn summary_row(r: &AuditRun) -> Vec<String> {
    let p = &r.packages;
    vec![
        r.archive.clone(),
        r.id.clone(),
        r.sample_percent.to_string(),
        r.size.to_string(),
        p.checked.to_string(),
        p.disposed.to_string(),
        p.objects.to_string(),
        p.bytes.to_string(),
        opt(r.log.as_ref().map(|l| &l.checkpoints)),
        r.findings_total().to_string(),
        opt(r.recorded_seq.as_ref()),
    ]
}

fn finding_row(f: &Finding) -> Vec<String> {
    vec![
        f.archive.clone(),
        opt(f.seq.as_ref()),
        opt(f.object.as_ref()),
        f.check.clone(),
        opt(f.expected.as_ref()),
        opt(f.found.as_ref()),
        f.detail.clone(),
    ]
}
