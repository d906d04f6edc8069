//! `zegel tier`, `zegel usage`.

use anyhow::{Result, bail};

use super::args::{TierCommand, UsageArgs};
use super::{connect, render, show, show_typed};

/// `zegel tier run|status`; a run with failed moves is an error, after its table.
pub fn tier(cmd: TierCommand) -> Result<()> {
    match cmd {
        TierCommand::Run { remote } => {
            eprintln!(
                "tiering everything that is due; this can take a while (`zegel tier status` shows progress)"
            );
            let report = connect(&remote)?.tier_run()?;
            show_typed(&report.json, &report.body, &remote, render::tier::run);
            if !report.body.errors.is_empty() {
                bail!("some moves failed; their packages stay hot");
            }
        }
        TierCommand::Status { tenant, remote } => {
            let v = connect(&remote)?.tier_status(tenant.as_deref())?;
            show(&v, &remote, render::tier::status);
        }
    }
    Ok(())
}

/// `zegel usage`.
pub fn usage(args: UsageArgs) -> Result<()> {
    let UsageArgs {
        tenant,
        from,
        to,
        remote,
    } = args;
    let v = connect(&remote)?.usage(tenant.as_deref(), from.as_deref(), to.as_deref())?;
    show(&v, &remote, render::tier::usage);
    Ok(())
}
