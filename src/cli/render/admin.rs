//! Tables of tenants, API keys, archives and agreements.

use serde_json::Value;

use super::{arr, field, s, table};

/// `zegel key list`.
pub fn keys(v: &Value) -> String {
    let rows: Vec<Vec<String>> = arr(v, "keys")
        .iter()
        .map(|k| {
            vec![
                s(field(k, "id")),
                s(field(k, "tenant")),
                s(field(k, "role")),
                s(field(k, "archives")),
                s(field(k, "revoked")),
            ]
        })
        .collect();
    table(&["id", "tenant", "role", "archives", "revoked"], &rows)
}

/// `zegel key create`: the new key with its token, shown once.
pub fn key(v: &Value) -> String {
    let k = field(v, "key");
    table(
        &["id", "tenant", "role", "token (shown once)"],
        &[vec![
            s(field(k, "id")),
            s(field(k, "tenant")),
            s(field(k, "role")),
            s(field(v, "token")),
        ]],
    )
}

/// `zegel archive list`.
pub fn archives(v: &Value) -> String {
    let rows: Vec<Vec<String>> = arr(v, "archives")
        .iter()
        .map(|a| {
            vec![
                s(field(a, "archive")),
                s(field(a, "packages")),
                s(field(a, "created_ms")),
            ]
        })
        .collect();
    table(&["archive", "packages", "created_ms"], &rows)
}

/// `zegel agreement apply`.
pub fn agreement(v: &Value) -> String {
    table(
        &["archive", "agreement_version", "seq"],
        &[vec![
            s(field(v, "archive")),
            s(field(v, "agreement_version")),
            s(field(v, "seq")),
        ]],
    )
}

/// `zegel tenant create`.
pub fn tenant(v: &Value) -> String {
    table(&["tenant"], &[vec![s(field(v, "tenant"))]])
}
