//! The admin CLI's side of the API: `zegel tenant|key|agreement|archive ...` against a running
//! server. Prints a table, or the server's JSON with `--json`.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// Seconds the CLI waits for the server.
pub const CLIENT_TIMEOUT_SECS: u64 = 30;
/// Seconds `zegel tier run` waits for a whole tiering pass (the pass goes on without it).
pub const TIER_RUN_TIMEOUT_SECS: u64 = 6 * 3600;
/// Largest response the CLI reads.
pub const CLIENT_RESPONSE_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// Where and as whom the CLI talks to the server.
#[derive(Debug, Clone)]
pub struct Client {
    pub server: String,
    pub token: String,
}

impl Client {
    /// The token comes from `--token-file`, else `ZEGEL_TOKEN`.
    pub fn new(
        server: &str,
        token_file: Option<&Path>,
        env_token: Option<String>,
    ) -> Result<Client> {
        let token = match (token_file, env_token) {
            (Some(f), _) => std::fs::read_to_string(f)
                .with_context(|| format!("read token file {}", f.display()))?
                .trim()
                .to_string(),
            (None, Some(t)) => t.trim().to_string(),
            (None, None) => bail!(
                "no token: pass --token-file FILE (e.g. zegel-data/admin.token) or set ZEGEL_TOKEN"
            ),
        };
        Ok(Client {
            server: server.trim_end_matches('/').to_string(),
            token,
        })
    }

    /// Sends a request; a problem+json answer becomes an error naming status and detail.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<serde_json::Value> {
        self.call_waiting(method, path, body, CLIENT_TIMEOUT_SECS)
    }

    /// The bytes of a GET (a certificate, a sealed package); a problem+json answer is an
    /// error naming status and detail.
    pub fn get_bytes(&self, path: &str) -> Result<Vec<u8>> {
        let (status, bytes) = self.send("GET", path, None, LONG_CALL_SECS)?;
        if status >= 400 {
            return Err(problem("GET", path, status, &bytes));
        }
        Ok(bytes)
    }

    /// As [`Client::call`], waiting up to `timeout_secs` for the answer.
    pub fn call_waiting(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        timeout_secs: u64,
    ) -> Result<serde_json::Value> {
        let (status, bytes) = self.send(method, path, body, timeout_secs)?;
        if status >= 400 {
            return Err(problem(method, path, status, &bytes));
        }
        Ok(if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned().into())
        })
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        timeout_secs: u64,
    ) -> Result<(u16, Vec<u8>)> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(timeout_secs)))
            .build()
            .into();
        let url = format!("{}{path}", self.server);
        let req = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("authorization", format!("Bearer {}", self.token))
            .body(body.unwrap_or_default())
            .context("build request")?;
        let mut resp = agent
            .run(req)
            .with_context(|| format!("{method} {url}: is the server running?"))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(CLIENT_RESPONSE_BYTES_MAX)
            .read_to_vec()
            .context("read response")?;
        Ok((status, bytes))
    }
}

/// A refusal as a readable error: status, the problem's detail and its violations.
fn problem(method: &str, path: &str, status: u16, bytes: &[u8]) -> anyhow::Error {
    let json: serde_json::Value = serde_json::from_slice(bytes)
        .unwrap_or_else(|_| String::from_utf8_lossy(bytes).into_owned().into());
    let detail = json
        .get("detail")
        .and_then(|d| d.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| json.to_string());
    let violations = json
        .get("violations")
        .and_then(|v| v.as_array())
        .map(|vs| {
            vs.iter()
                .map(|v| {
                    format!(
                        "\n  {}: {}",
                        v["field"].as_str().unwrap_or(""),
                        v["problem"].as_str().unwrap_or("")
                    )
                })
                .collect::<String>()
        })
        .unwrap_or_default();
    anyhow::anyhow!("{method} {path}: {status}: {detail}{violations}")
}

/// A progress bar of `len` `units` on stderr when `wanted` and stderr is a terminal; a hidden
/// one otherwise (JSON output, pipes, CI logs).
fn progress_bar(wanted: bool, len: u64, message: String, units: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !wanted || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{msg}} [{{bar:40}}] {{pos}}/{{len}} {units} ({{eta}})"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(message);
    bar
}

/// `zegel audit`: starts (or resumes) one audit per archive and steps it to the end, with a
/// progress bar on a terminal. Returns each finished run, with `findings_total` added.
pub fn audit(
    c: &Client,
    archives: &[String],
    sample: u8,
    resume: Option<&str>,
    step: u64,
    progress: bool,
) -> Result<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    for a in archives {
        let mut run = match resume {
            Some(id) => c.call("GET", &format!("/v1/archives/{a}/audits/{id}"), None)?,
            None => c.call(
                "POST",
                &format!("/v1/archives/{a}/audits"),
                Some(
                    serde_json::json!({ "sample_percent": sample })
                        .to_string()
                        .into_bytes(),
                ),
            )?,
        };
        let id = field(&run, "id").as_str().unwrap_or_default().to_string();
        let size = field(&run, "size").as_u64().unwrap_or(0);
        let bar = progress_bar(progress, size, format!("{a} {id}"), "packages");
        while field(&run, "finished_ms").is_null() {
            bar.set_position(field(&run, "cursor").as_u64().unwrap_or(0));
            run = c.call_waiting(
                "POST",
                &format!("/v1/archives/{a}/audits/{id}/step"),
                Some(
                    serde_json::json!({ "max_packages": step })
                        .to_string()
                        .into_bytes(),
                ),
                LONG_CALL_SECS,
            )?;
        }
        bar.finish_and_clear();
        let total: u64 = field(&run, "counts")
            .as_object()
            .map(|m| m.values().filter_map(|v| v.as_u64()).sum())
            .unwrap_or(0);
        if let Some(m) = run.as_object_mut() {
            m.insert("findings_total".into(), total.into());
        }
        out.push(run);
    }
    Ok(out)
}

/// Seconds the CLI waits for a long call (a disposition step, an approval, a certificate).
pub const LONG_CALL_SECS: u64 = 600;

/// `zegel retention apply`: one bounded call after another per archive, until each scan
/// reaches the end of its log, with a progress bar on a terminal. Returns every step.
pub fn retention_apply(
    c: &Client,
    archives: &[String],
    max_packages: u64,
    progress: bool,
) -> Result<serde_json::Value> {
    let mut steps = Vec::new();
    for a in archives {
        let due = c
            .call("GET", &format!("/v1/archives/{a}/retention/plan"), None)?
            .get("due_packages")
            .and_then(|d| d.as_u64())
            .unwrap_or(0);
        let bar = progress_bar(progress, due, a.clone(), "packages disposed of");
        let mut from = 0u64;
        loop {
            let body = serde_json::json!({ "from": from, "max_packages": max_packages });
            let step = c.call_waiting(
                "POST",
                &format!("/v1/archives/{a}/retention/apply"),
                Some(body.to_string().into_bytes()),
                LONG_CALL_SECS,
            )?;
            if let Some(n) = field(field(&step, "disposed"), "packages").as_u64() {
                bar.inc(n);
            }
            let next = field(&step, "next_from").as_u64();
            steps.push(step);
            match next {
                Some(n) => from = n,
                None => break,
            }
        }
        bar.finish_and_clear();
    }
    Ok(serde_json::json!({ "steps": steps }))
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

fn s(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// A hold's or an erasure's scope as people write it: `package 7`, `record EBX-1`,
/// `sender=RSZ`.
fn scope_text(scope: &serde_json::Value) -> String {
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
fn when(ms: &serde_json::Value) -> String {
    ms.as_u64()
        .and_then(|ms| i128::from(ms).checked_mul(1_000_000))
        .and_then(|ns| time::OffsetDateTime::from_unix_timestamp_nanos(ns).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| s(ms))
}

/// One hold as a table row; its scope in words.
fn hold_row(h: &serde_json::Value) -> Vec<String> {
    let lifted = field(h, "lifted");
    vec![
        s(field(h, "id")),
        s(field(h, "archive")),
        scope_text(field(h, "scope")),
        s(field(h, "reason")),
        s(field(h, "placed_by")),
        if lifted.is_null() {
            "-".into()
        } else {
            format!(
                "by {}: {}",
                s(field(lifted, "by")),
                s(field(lifted, "reason"))
            )
        },
    ]
}

/// A member of a JSON object, `null` when absent.
fn erasure_row(e: &serde_json::Value) -> Vec<String> {
    vec![
        s(&e["id"]),
        s(&e["archive"]),
        scope_text(&e["scope"]),
        s(&e["state"]),
        s(&e["requested_by"]),
        s(&e["decided_by"]),
        s(&e["disposition"]),
    ]
}

fn field<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v.get(name).unwrap_or(&serde_json::Value::Null)
}

/// Output of a CLI command: the JSON, or its table.
pub fn render(kind: &str, v: &serde_json::Value, json: bool) -> String {
    if json {
        return format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default());
    }
    let arr = |k: &str| {
        v.get(k)
            .and_then(|a| a.as_array())
            .cloned()
            .unwrap_or_default()
    };
    match kind {
        "keys" => table(
            &["id", "tenant", "role", "archives", "revoked"],
            &arr("keys")
                .iter()
                .map(|k| {
                    vec![
                        s(&k["id"]),
                        s(&k["tenant"]),
                        s(&k["role"]),
                        s(&k["archives"]),
                        s(&k["revoked"]),
                    ]
                })
                .collect::<Vec<_>>(),
        ),
        "key" => {
            let k = &v["key"];
            table(
                &["id", "tenant", "role", "token (shown once)"],
                &[vec![
                    s(&k["id"]),
                    s(&k["tenant"]),
                    s(&k["role"]),
                    s(&v["token"]),
                ]],
            )
        }
        "archives" => table(
            &["archive", "packages", "created_ms"],
            &arr("archives")
                .iter()
                .map(|a| vec![s(&a["archive"]), s(&a["packages"]), s(&a["created_ms"])])
                .collect::<Vec<_>>(),
        ),
        "agreement" => table(
            &["archive", "agreement_version", "seq"],
            &[vec![
                s(&v["archive"]),
                s(&v["agreement_version"]),
                s(&v["seq"]),
            ]],
        ),
        "tenant" => table(&["tenant"], &[vec![s(&v["tenant"])]]),
        "tier" => table(
            &[
                "tenant",
                "archive",
                "hot pkgs",
                "hot bytes",
                "cold pkgs",
                "cold bytes",
                "cold raw",
                "disposed",
                "segments",
                "in flight",
                "stage",
                "last error",
            ],
            &arr("archives")
                .iter()
                .map(|a| {
                    vec![
                        s(&a["tenant"]),
                        s(&a["archive"]),
                        s(&a["hot_packages"]),
                        s(&a["hot_bytes"]),
                        s(&a["cold_packages"]),
                        s(&a["cold_bytes"]),
                        s(&a["cold_raw_bytes"]),
                        s(&a["disposed_packages"]),
                        s(&a["segments"]),
                        s(&a["in_flight_packages"]),
                        s(&a["stage"]),
                        s(field(field(a, "last_error"), "error")),
                    ]
                })
                .collect::<Vec<_>>(),
        ),
        "tier-run" => {
            let mut out = table(
                &[
                    "tenant",
                    "archive",
                    "seqs",
                    "segments",
                    "raw bytes",
                    "cold bytes",
                    "hot freed",
                ],
                &arr("moves")
                    .iter()
                    .map(|m| {
                        vec![
                            s(&m["tenant"]),
                            s(&m["archive"]),
                            format!("{}..{}", s(&m["first"]), s(&m["end"])),
                            s(&m["segments"]),
                            s(&m["raw_bytes"]),
                            s(&m["cold_bytes"]),
                            s(&m["hot_bytes_freed"]),
                        ]
                    })
                    .collect::<Vec<_>>(),
            );
            for e in arr("errors") {
                out.push_str(&format!(
                    "failed: {}/{}: {} (the hot copy is kept)\n",
                    s(field(&e, "tenant")),
                    s(field(&e, "archive")),
                    s(field(&e, "error"))
                ));
            }
            out
        }
        "apply" => {
            let steps = arr("steps");
            let mut out = table(
                &[
                    "archive",
                    "disposition",
                    "packages",
                    "hot",
                    "cold",
                    "segments deleted",
                    "segments rewritten",
                    "raw bytes",
                ],
                &steps
                    .iter()
                    .filter(|st| !st["disposed"].is_null())
                    .map(|st| {
                        let d = &st["disposed"];
                        vec![
                            s(&st["archive"]),
                            s(&d["disposition"]),
                            s(&d["packages"]),
                            s(&d["hot"]),
                            s(&d["cold"]),
                            s(&d["segments_deleted"]),
                            s(&d["segments_rewritten"]),
                            s(&d["raw_bytes"]),
                        ]
                    })
                    .collect::<Vec<_>>(),
            );
            let total: u64 = steps
                .iter()
                .filter_map(|st| field(field(st, "disposed"), "packages").as_u64())
                .sum();
            let held: u64 = steps.iter().filter_map(|st| st["held"].as_u64()).sum();
            out.push_str(&format!(
                "{total} packages disposed of; {held} due packages kept by legal holds\n"
            ));
            out
        }
        "audit" => {
            let runs = arr("audits");
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
                &runs
                    .iter()
                    .map(|r| {
                        let p = field(r, "packages");
                        vec![
                            s(field(r, "archive")),
                            s(field(r, "id")),
                            s(field(r, "sample_percent")),
                            s(field(r, "size")),
                            s(field(p, "checked")),
                            s(field(p, "disposed")),
                            s(field(p, "objects")),
                            s(field(p, "bytes")),
                            s(field(field(r, "log"), "checkpoints")),
                            s(field(r, "findings_total")),
                            s(field(r, "recorded_seq")),
                        ]
                    })
                    .collect::<Vec<_>>(),
            );
            let findings: Vec<Vec<String>> = runs
                .iter()
                .flat_map(|r| field(r, "findings").as_array().cloned().unwrap_or_default())
                .map(|f| {
                    vec![
                        s(field(&f, "archive")),
                        s(field(&f, "seq")),
                        s(field(&f, "object")),
                        s(field(&f, "check")),
                        s(field(&f, "expected")),
                        s(field(&f, "found")),
                        s(field(&f, "detail")),
                    ]
                })
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
        "dispositions" => table(
            &[
                "seq",
                "cause",
                "packages",
                "hot",
                "cold",
                "decided",
                "authorized by",
                "erasure",
            ],
            &arr("dispositions")
                .iter()
                .map(|d| {
                    vec![
                        s(&d["seq"]),
                        s(&d["cause"]),
                        s(&d["packages"]),
                        s(&d["hot"]),
                        s(&d["cold"]),
                        when(&d["decided_ms"]),
                        s(&d["authorized_by"]),
                        s(&d["erasure"]),
                    ]
                })
                .collect::<Vec<_>>(),
        ),
        "erasure" => table(
            &[
                "id",
                "archive",
                "scope",
                "state",
                "requested by",
                "decided by",
                "disposition",
            ],
            &[erasure_row(v)],
        ),
        "erasure-done" => table(
            &[
                "id",
                "archive",
                "scope",
                "state",
                "requested by",
                "decided by",
                "disposition",
            ],
            &[erasure_row(&v["erasure"])],
        ),
        "erasures" => table(
            &[
                "id",
                "archive",
                "scope",
                "state",
                "requested by",
                "decided by",
                "disposition",
            ],
            &arr("erasures").iter().map(erasure_row).collect::<Vec<_>>(),
        ),
        "hold" => table(
            &["id", "archive", "scope", "reason", "placed by", "lifted"],
            &[hold_row(v)],
        ),
        "holds" => table(
            &["id", "archive", "scope", "reason", "placed by", "lifted"],
            &arr("holds").iter().map(hold_row).collect::<Vec<_>>(),
        ),
        "plan" => table(
            &[
                "archive",
                "due",
                "due bytes",
                "hot",
                "cold",
                "held",
                "held bytes",
                "next due",
            ],
            &arr("plans")
                .iter()
                .map(|p| {
                    vec![
                        s(field(p, "archive")),
                        s(field(p, "due_packages")),
                        s(field(p, "due_raw_bytes")),
                        s(field(p, "due_hot")),
                        s(field(p, "due_cold")),
                        s(field(p, "held_packages")),
                        s(field(p, "held_raw_bytes")),
                        when(field(p, "next_due_ms")),
                    ]
                })
                .collect::<Vec<_>>(),
        ),
        "usage" => table(
            &[
                "day",
                "tenant",
                "archives",
                "packages",
                "raw bytes",
                "hot bytes",
                "cold bytes",
                "requests",
            ],
            &arr("history")
                .iter()
                .map(|d| {
                    vec![
                        s(&d["day"]),
                        s(&d["tenant"]),
                        s(&d["archives"]),
                        s(&d["packages"]),
                        s(&d["raw_bytes"]),
                        s(&d["hot_bytes"]),
                        s(&d["cold_bytes"]),
                        s(&d["requests"]),
                    ]
                })
                .collect::<Vec<_>>(),
        ),
        _ => format!("{v}\n"),
    }
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
