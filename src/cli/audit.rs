//! `zegel audit`: one run per archive, stepped to the end with a progress bar on a terminal;
//! a summary table (or the runs as JSON) with every finding kept.

use anyhow::{Result, bail};
use serde_json::{Value, json};

use super::args::AuditArgs;
use super::client::Client;
use super::{archives_or_all, connect, progress, render, show_typed};
use crate::api::dto::audit::AuditRun;

/// Runs the audits and prints them. True when nothing was found; an error when the audit
/// could not run.
pub fn audit(args: AuditArgs) -> Result<bool> {
    let AuditArgs {
        archive,
        sample,
        resume,
        step,
        remote,
    } = args;
    let c = connect(&remote)?;
    let archives = archives_or_all(&c, archive)?;
    if archives.is_empty() {
        bail!(
            "this key sees no archives, so nothing was audited: a tenant's auditor or archivist key sees the tenant's archives (an admin key sees none)"
        );
    }
    if resume.is_some() && archives.len() != 1 {
        bail!("--resume names one audit: give exactly one --archive");
    }
    let mut json = Vec::new();
    let mut runs = Vec::new();
    for a in &archives {
        let (v, run) = run_to_end(&c, a, sample, resume.as_deref(), step, !remote.json)?;
        json.push(v);
        runs.push(run);
    }
    let v = json!({ "audits": json });
    show_typed(&v, runs.as_slice(), &remote, render::audit::audits);
    Ok(runs.iter().all(|r| r.findings_total() == 0))
}

/// Starts (or resumes) the audit of one archive and steps it to the end. Returns the finished
/// run as the server sent it, with `findings_total` added, and as its type.
fn run_to_end(
    c: &Client,
    archive: &str,
    sample: u8,
    resume: Option<&str>,
    step: u64,
    show_progress: bool,
) -> Result<(Value, AuditRun)> {
    let mut run = match resume {
        Some(id) => c.audit_run(archive, id)?,
        None => c.start_audit(archive, sample)?,
    };
    let id = run.body.id.clone();
    let bar = progress::bar(
        show_progress,
        run.body.size,
        format!("{archive} {id}"),
        "packages",
    );
    while run.body.finished_ms.is_none() {
        bar.set_position(run.body.cursor);
        run = c.step_audit(archive, &id, step)?;
    }
    bar.finish_and_clear();
    let total = run.body.findings_total();
    let mut json = run.json;
    if let Some(m) = json.as_object_mut() {
        m.insert("findings_total".into(), total.into());
    }
    Ok((json, run.body))
}
