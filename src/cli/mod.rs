//! The admin CLI (`zegel tenant|key|agreement|archive|tier|usage|hold|retention|erasure|
//! disposition|audit|export|seal`): one entry point per command, which `bin/zegel.rs` calls
//! with its parsed arguments. Each talks to a running server through [`client::Client`]
//! (except `seal` and local key files) and prints a table, or the server's JSON with
//! `--json`.

pub mod args;
pub mod client;
pub mod progress;
pub mod render;

mod admin;
mod audit;
mod export;
mod retention;
mod seal;
mod tier;

pub use admin::{agreement, archive, key, tenant};
pub use audit::audit;
pub use export::export;
pub use retention::{disposition, erasure, hold, retention};
pub use seal::seal;
pub use tier::{tier, usage};

use anyhow::Result;
use serde_json::Value;

use args::Remote;
use client::Client;

/// Environment variable holding the bearer token when no `--token-file` is given.
pub const TOKEN_ENV: &str = "ZEGEL_TOKEN";

/// The client of the server `remote` names, with its token.
fn connect(remote: &Remote) -> Result<Client> {
    Client::new(
        &remote.server,
        remote.token_file.as_deref(),
        std::env::var(TOKEN_ENV).ok(),
    )
}

/// Prints an answer: the server's JSON with `--json`, else its table.
fn show(v: &Value, remote: &Remote, table: fn(&Value) -> String) {
    show_typed(v, v, remote, table);
}

/// Prints an answer the CLI also read as its type: the server's JSON `v` with `--json`,
/// else the table of `body`.
fn show_typed<T: ?Sized>(v: &Value, body: &T, remote: &Remote, table: fn(&T) -> String) {
    print!("{}", render::output(v, body, remote.json, table));
}

/// The named archives, or every archive the token can see.
fn archives_or_all(c: &Client, named: Vec<String>) -> Result<Vec<String>> {
    if !named.is_empty() {
        return Ok(named);
    }
    let list = c.list_archives()?.body;
    Ok(list.archives.into_iter().map(|a| a.archive).collect())
}
