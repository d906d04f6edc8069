//! `zegel export`: the proof bundle of one package to a file, and optionally as a BagIt bag.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::json;

use super::args::ExportArgs;
use super::connect;
use crate::bagit::{check_bag_dir, write_bag};

/// Nothing is fetched unless everything can be written, and nothing is overwritten unless
/// asked (`--force`).
pub fn export(args: ExportArgs) -> Result<()> {
    let ExportArgs {
        archive,
        seq,
        redact,
        objects,
        out,
        bagit,
        force,
        remote,
    } = args;
    let out = out.unwrap_or_else(|| PathBuf::from(format!("{archive}-{seq}.zbundle")));
    if out.exists() && !force {
        bail!(
            "{} exists: name another file with --out, or replace it with --force",
            out.display()
        );
    }
    if let Some(dir) = &bagit {
        check_bag_dir(dir).map_err(anyhow::Error::msg)?;
    }
    let carried = redact.then_some(objects.as_slice());
    let bytes = connect(&remote)?.bundle(&archive, seq, carried)?;
    write_new(&out, &bytes, force).with_context(|| format!("write {}", out.display()))?;
    if !remote.json {
        println!(
            "proof bundle written to {} ({} bytes); verify it with: zegel-verify bundle --key KEY {}",
            out.display(),
            bytes.len(),
            out.display()
        );
    }
    let mut bag = serde_json::Value::Null;
    if let Some(dir) = bagit {
        let today = time::OffsetDateTime::now_utc().date().to_string();
        let files = write_bag(&dir, &bytes, &today).map_err(anyhow::Error::msg)?;
        if !remote.json {
            println!(
                "BagIt bag written to {} ({} payload files)",
                dir.display(),
                files.len()
            );
        }
        bag = json!({ "dir": dir.display().to_string(), "payload": files });
    }
    if remote.json {
        let written = json!({
            "bundle": out.display().to_string(),
            "bytes": bytes.len(),
            "bag": bag,
        });
        println!("{written}");
    }
    Ok(())
}

/// Writes a new file (over an existing one only when `replace`) and syncs it: evidence
/// handed on should be on disk when the command says it is written.
fn write_new(path: &Path, bytes: &[u8], replace: bool) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(!replace)
        .create(replace)
        .truncate(replace)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
