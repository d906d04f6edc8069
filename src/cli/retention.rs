//! `zegel hold`, `zegel retention`, `zegel erasure`, `zegel disposition`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::args::{DispositionCommand, ErasureCommand, HoldCommand, Remote, RetentionCommand};
use super::client::{Answer, Client, ErasureScope, HoldScope};
use super::{archives_or_all, connect, progress, render, show, show_typed};
use crate::api::dto::retention::ApplyReport;

/// `zegel hold add|list|remove`.
pub fn hold(cmd: HoldCommand) -> Result<()> {
    match cmd {
        HoldCommand::Add {
            archive,
            package,
            record,
            query,
            reason,
            remote,
        } => {
            let scope = match (package, record, query) {
                (Some(p), _, _) => HoldScope::Package(p),
                (_, Some(r), _) => HoldScope::Record(r),
                (_, _, Some(q)) => {
                    let (f, v) = q.split_once('=').context("--query takes FIELD=VALUE")?;
                    HoldScope::Query {
                        field: f.to_string(),
                        value: v.to_string(),
                    }
                }
                _ => bail!("name what to hold: --package, --record or --query"),
            };
            let v = connect(&remote)?.add_hold(&archive, &scope, &reason)?;
            show(&v, &remote, render::retention::hold);
        }
        HoldCommand::List {
            archive,
            all,
            remote,
        } => {
            let v = connect(&remote)?.list_holds(&archive, all)?;
            show(&v, &remote, render::retention::holds);
        }
        HoldCommand::Remove {
            archive,
            id,
            reason,
            remote,
        } => {
            let v = connect(&remote)?.lift_hold(&archive, &id, &reason)?;
            show(&v, &remote, render::retention::hold);
        }
    }
    Ok(())
}

/// `zegel retention plan|apply`.
pub fn retention(cmd: RetentionCommand) -> Result<()> {
    match cmd {
        RetentionCommand::Plan {
            archive,
            at,
            remote,
        } => {
            let c = connect(&remote)?;
            let mut plans = Vec::new();
            for a in archives_or_all(&c, archive)? {
                plans.push(c.retention_plan(&a, at.as_deref())?.json);
            }
            show(&json!({ "plans": plans }), &remote, render::retention::plan);
        }
        RetentionCommand::Apply {
            archive,
            max_packages,
            remote,
        } => {
            let c = connect(&remote)?;
            let archives = archives_or_all(&c, archive)?;
            let steps = apply(&c, &archives, max_packages, &remote)?;
            let json: Vec<Value> = steps.iter().map(|st| st.json.clone()).collect();
            let typed: Vec<ApplyReport> = steps.into_iter().map(|st| st.body).collect();
            let v = json!({ "steps": json });
            show_typed(&v, typed.as_slice(), &remote, render::retention::apply);
        }
    }
    Ok(())
}

/// `zegel retention apply`: one bounded call after another per archive, until each scan
/// reaches the end of its log, with a progress bar on a terminal. Returns every step.
fn apply(
    c: &Client,
    archives: &[String],
    max_packages: u64,
    remote: &Remote,
) -> Result<Vec<Answer<ApplyReport>>> {
    let mut steps = Vec::new();
    for a in archives {
        let due = c.retention_plan(a, None)?.body.due_packages;
        let bar = progress::bar(!remote.json, due, a.clone(), "packages disposed of");
        let mut from = 0u64;
        loop {
            let step = c.retention_apply(a, from, max_packages)?;
            if let Some(d) = &step.body.disposed {
                bar.inc(d.packages);
            }
            let next = step.body.next_from;
            steps.push(step);
            match next {
                Some(n) => from = n,
                None => break,
            }
        }
        bar.finish_and_clear();
    }
    Ok(steps)
}

/// `zegel erasure request|approve|reject|list`.
pub fn erasure(cmd: ErasureCommand) -> Result<()> {
    match cmd {
        ErasureCommand::Request {
            archive,
            package,
            record,
            basis,
            remote,
        } => {
            let scope = match (package, record) {
                (Some(p), None) => ErasureScope::Package(p),
                (None, Some(r)) => ErasureScope::Record(r),
                _ => bail!("name what to erase: --package SEQ or --record KEY"),
            };
            let v = connect(&remote)?.request_erasure(&archive, &scope, &basis)?;
            show(&v, &remote, render::retention::erasure);
        }
        ErasureCommand::Approve {
            archive,
            id,
            remote,
        } => {
            let v = connect(&remote)?.approve_erasure(&archive, &id)?;
            show(&v, &remote, render::retention::erasure_done);
        }
        ErasureCommand::Reject {
            archive,
            id,
            reason,
            remote,
        } => {
            let v = connect(&remote)?.reject_erasure(&archive, &id, &reason)?;
            show(&v, &remote, render::retention::erasure);
        }
        ErasureCommand::List { archive, remote } => {
            let v = connect(&remote)?.list_erasures(&archive)?;
            show(&v, &remote, render::retention::erasures);
        }
    }
    Ok(())
}

/// `zegel disposition list|certificate`.
pub fn disposition(cmd: DispositionCommand) -> Result<()> {
    match cmd {
        DispositionCommand::List { archive, remote } => {
            let v = connect(&remote)?.list_dispositions(&archive)?;
            show(&v, &remote, render::retention::dispositions);
        }
        DispositionCommand::Certificate {
            archive,
            seq,
            out,
            remote,
        } => {
            let bytes = connect(&remote)?.certificate(&archive, seq)?;
            let out = out.unwrap_or_else(|| PathBuf::from(format!("{archive}-{seq}.zcert")));
            std::fs::write(&out, &bytes).with_context(|| format!("write {}", out.display()))?;
            println!(
                "certificate of destruction written to {} ({} bytes); verify it with: zegel-verify certificate --key KEY {}",
                out.display(),
                bytes.len(),
                out.display()
            );
        }
    }
    Ok(())
}
