//! `zegel tenant`, `zegel key`, `zegel agreement`, `zegel archive`.

use anyhow::{Context, Result};

use super::args::{AgreementCommand, ArchiveCommand, KeyCommand, TenantCommand};
use super::{connect, render, show};
use crate::keyfile;

/// `zegel tenant create`.
pub fn tenant(cmd: TenantCommand) -> Result<()> {
    match cmd {
        TenantCommand::Create { tenant, remote } => {
            let v = connect(&remote)?.create_tenant(&tenant)?;
            show(&v, &remote, render::admin::tenant);
        }
    }
    Ok(())
}

/// `zegel key`: signing key files here, API keys on the server.
pub fn key(cmd: KeyCommand) -> Result<()> {
    match cmd {
        KeyCommand::Generate { name, out } => {
            let key = keyfile::generate(&out, &name)?;
            eprintln!("wrote {} (mode 0600); public key:", out.display());
            println!("{}", key.verifier().to_text());
        }
        KeyCommand::Public { key } => {
            println!("{}", keyfile::load(&key)?.verifier().to_text());
        }
        KeyCommand::Create {
            tenant,
            role,
            archives,
            remote,
        } => {
            let v = connect(&remote)?.create_key(&tenant, &role, archives.as_deref())?;
            show(&v, &remote, render::admin::key);
        }
        KeyCommand::List { tenant, remote } => {
            let v = connect(&remote)?.list_keys(&tenant)?;
            show(&v, &remote, render::admin::keys);
        }
        KeyCommand::Revoke { tenant, id, remote } => {
            connect(&remote)?.revoke_key(&tenant, &id)?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

/// `zegel agreement apply`.
pub fn agreement(cmd: AgreementCommand) -> Result<()> {
    match cmd {
        AgreementCommand::Apply {
            archive,
            file,
            remote,
        } => {
            let doc = std::fs::read(&file).with_context(|| format!("read {}", file.display()))?;
            let v = connect(&remote)?.put_agreement(&archive, doc)?;
            show(&v, &remote, render::admin::agreement);
        }
    }
    Ok(())
}

/// `zegel archive list`.
pub fn archive(cmd: ArchiveCommand) -> Result<()> {
    match cmd {
        ArchiveCommand::List { remote } => {
            let list = connect(&remote)?.list_archives()?;
            show(&list.json, &remote, render::admin::archives);
        }
    }
    Ok(())
}
