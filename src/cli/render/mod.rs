//! The admin CLI's output: the server's JSON with `--json`, else a table per command area
//! (`admin`, `tier`, `retention`, `audit`), read from that same JSON.

pub mod admin;
pub mod audit;
pub mod retention;
pub mod tier;

use serde_json::Value;

/// Output of a CLI command: the server's JSON `v`, or the table of `body` (the same answer,
/// as JSON or typed).
pub fn output<T: ?Sized>(v: &Value, body: &T, json: bool, table: fn(&T) -> String) -> String {
    if json {
        // Writing a `Value` to a string cannot fail (its keys are strings); compact JSON if
        // it ever did.
        let text = serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
        return format!("{text}\n");
    }
    table(body)
}

/// Renders rows as an aligned text table.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
            + "\n"
    };
    let mut out = line(headers.iter().map(|h| h.to_uppercase()).collect());
    for r in rows {
        out.push_str(&line(r.clone()));
    }
    out
}

/// A cell: strings as they are, `-` for null, anything else as JSON.
fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// A typed cell: its value, or `-` when absent (as [`s`] shows JSON's null).
fn opt<T: std::fmt::Display>(v: Option<&T>) -> String {
    v.map_or_else(|| "-".into(), T::to_string)
}

/// A member of a JSON object, `null` when absent.
fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    v.get(name).unwrap_or(&Value::Null)
}

/// The array member `name` of a JSON object, empty when absent.
fn arr<'a>(v: &'a Value, name: &str) -> &'a [Value] {
    v.get(name)
        .and_then(|a| a.as_array())
        .map_or(&[][..], Vec::as_slice)
}

/// A hold's or an erasure's scope as people write it: `package 7`, `record EBX-1`,
/// `sender=RSZ`.
fn scope_text(scope: &Value) -> String {
    if let Some(p) = scope.get("package") {
        format!("package {p}")
    } else if let Some(r) = scope.get("record") {
        format!("record {}", s(r))
    } else if let Some(q) = scope.get("query") {
        format!("{}={}", s(field(q, "field")), s(field(q, "value")))
    } else {
        s(scope)
    }
}

/// Milliseconds since the epoch as an RFC 3339 UTC time (`-` when absent).
fn when(ms: &Value) -> String {
    ms.as_u64()
        .and_then(|ms| i128::from(ms).checked_mul(1_000_000))
        .and_then(|ns| time::OffsetDateTime::from_unix_timestamp_nanos(ns).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| s(ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_say_times_and_scopes_as_people_write_them() {
        assert_eq!(when(&json!(0)), "1970-01-01T00:00:00Z");
        assert_eq!(when(&json!(2_661_638_400_000u64)), "2054-05-06T00:00:00Z");
        assert_eq!(when(&serde_json::Value::Null), "-");
        assert_eq!(scope_text(&json!({"record": "EBX-7"})), "record EBX-7");
        assert_eq!(scope_text(&json!({"package": 7})), "package 7");
        assert_eq!(
            scope_text(&json!({"query": {"field": "sender", "value": "RSZ"}})),
            "sender=RSZ"
        );
    }
}
