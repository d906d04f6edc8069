//! `zegel seal`: NDJSON rows into a log directory `zegel-verify` can check, without a server.

use std::io::BufReader;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use super::args::SealArgs;
use crate::{keyfile, seal as sealing};

/// Seals the rows with the key file's key and prints what was sealed.
pub fn seal(args: SealArgs) -> Result<()> {
    let SealArgs {
        key,
        tenant,
        archive,
        key_field,
        index,
        group_rows,
        out,
        rows,
    } = args;
    let key = keyfile::load(&key)?;
    let input = std::fs::File::open(&rows).with_context(|| format!("open {}", rows.display()))?;
    let opts = sealing::SealOptions {
        tenant,
        archive,
        key_field,
        index,
        group_rows,
        now_ms: now_ms(),
    };
    let s = sealing::seal_rows_to_dir(key, BufReader::new(input), &opts, &out)?;
    println!(
        "sealed {} packages ({} raw bytes -> {} sealed) with {} receipt signatures into {}; root {}",
        s.packages,
        s.raw_bytes,
        s.sealed_bytes,
        s.signatures,
        out.display(),
        s.root
    );
    Ok(())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
