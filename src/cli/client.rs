//! The admin CLI's HTTP client: one method per route it calls, over `ureq` on plain HTTP.
//! Answers the CLI only shows come back as the server's JSON (what `--json` prints and the
//! tables read); answers it acts on come back as an [`Answer`], also typed.

use crate::limits::CLIENT_RESPONSE_BYTES_MAX;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::api::admin::ArchiveSummary;
use crate::api::dto::audit::AuditRun;
use crate::api::dto::retention::ApplyReport;
use crate::api::dto::tier::PassReport;

/// Seconds the CLI waits for the server.
pub const CLIENT_TIMEOUT_SECS: u64 = 30;
/// Seconds `zegel tier run` waits for a whole tiering pass (the pass goes on without it).
pub const TIER_RUN_TIMEOUT_SECS: u64 = 6 * 3600;
/// Seconds the CLI waits for a long call (a disposition step, an approval, a certificate).
pub const LONG_CALL_SECS: u64 = 600;

/// An answer the CLI acts on: the server's JSON as sent, and the same as its type.
#[derive(Debug, Clone)]
pub struct Answer<T> {
    pub json: Value,
    pub body: T,
}

/// `GET /v1/archives`.
#[derive(Debug, Deserialize)]
pub struct ArchiveList {
    pub archives: Vec<ArchiveSummary>,
}

/// The part of a retention plan (`GET .../retention/plan`) that `retention apply` acts on.
#[derive(Debug, Clone, Deserialize)]
pub struct PlanDue {
    pub due_packages: u64,
}

/// What to hold: one package, every version of a record key, or a metadata value.
#[derive(Debug, Clone)]
pub enum HoldScope {
    Package(u64),
    Record(String),
    Query { field: String, value: String },
}

/// What to erase: one package, or every version of a record key.
#[derive(Debug, Clone)]
pub enum ErasureScope {
    Package(u64),
    Record(String),
}

/// Where and as whom the CLI talks to the server.
#[derive(Clone)]
pub struct Client {
    server: String,
    token: String,
}

/// The bearer token stays out of `Debug` output.
impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
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

    /// `POST /v1/tenants`.
    pub fn create_tenant(&self, tenant: &str) -> Result<Value> {
        self.post("/v1/tenants", &json!({ "tenant": tenant }))
    }

    /// `POST /v1/tenants/{tenant}/keys`: the key and its token (shown once).
    pub fn create_key(
        &self,
        tenant: &str,
        role: &str,
        archives: Option<&[String]>,
    ) -> Result<Value> {
        let body = json!({ "role": role, "archives": archives });
        self.post(&format!("/v1/tenants/{tenant}/keys"), &body)
    }

    /// `GET /v1/tenants/{tenant}/keys`.
    pub fn list_keys(&self, tenant: &str) -> Result<Value> {
        self.get(&format!("/v1/tenants/{tenant}/keys"))
    }

    /// `POST /v1/tenants/{tenant}/keys/{id}/revoke`.
    pub fn revoke_key(&self, tenant: &str, id: &str) -> Result<()> {
        let path = format!("/v1/tenants/{tenant}/keys/{id}/revoke");
        self.call("POST", &path, None, CLIENT_TIMEOUT_SECS)
            .map(drop)
    }

    /// `PUT /v1/archives/{archive}/agreement` with the document as written (JSON or TOML).
    pub fn put_agreement(&self, archive: &str, document: Vec<u8>) -> Result<Value> {
        let path = format!("/v1/archives/{archive}/agreement");
        self.call("PUT", &path, Some(document), CLIENT_TIMEOUT_SECS)
    }

    /// `GET /v1/archives`.
    pub fn list_archives(&self) -> Result<Answer<ArchiveList>> {
        typed(self.get("/v1/archives")?)
    }

    /// `POST /v1/tier/run`, waiting for the whole pass.
    pub fn tier_run(&self) -> Result<Answer<PassReport>> {
        typed(self.call("POST", "/v1/tier/run", None, TIER_RUN_TIMEOUT_SECS)?)
    }

    /// `GET /v1/tier`, of one tenant or of every archive in scope.
    pub fn tier_status(&self, tenant: Option<&str>) -> Result<Value> {
        let q = tenant.map_or(String::new(), |t| format!("?tenant={t}"));
        self.get(&format!("/v1/tier{q}"))
    }

    /// `GET /v1/usage`.
    pub fn usage(
        &self,
        tenant: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Value> {
        let q: Vec<String> = [("tenant", tenant), ("from", from), ("to", to)]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
            .collect();
        let q = if q.is_empty() {
            String::new()
        } else {
            format!("?{}", q.join("&"))
        };
        self.get(&format!("/v1/usage{q}"))
    }

    /// `POST /v1/archives/{archive}/holds`.
    pub fn add_hold(&self, archive: &str, scope: &HoldScope, reason: &str) -> Result<Value> {
        let body = match scope {
            HoldScope::Package(p) => json!({ "package": p, "reason": reason }),
            HoldScope::Record(r) => json!({ "record": r, "reason": reason }),
            HoldScope::Query { field, value } => {
                json!({ "field": field, "value": value, "reason": reason })
            }
        };
        self.post(&format!("/v1/archives/{archive}/holds"), &body)
    }

    /// `GET /v1/archives/{archive}/holds`, lifted ones too with `all`.
    pub fn list_holds(&self, archive: &str, all: bool) -> Result<Value> {
        self.get(&format!("/v1/archives/{archive}/holds?all={all}"))
    }

    /// `POST /v1/archives/{archive}/holds/{id}/lift`.
    pub fn lift_hold(&self, archive: &str, id: &str, reason: &str) -> Result<Value> {
        let path = format!("/v1/archives/{archive}/holds/{id}/lift");
        self.post(&path, &json!({ "reason": reason }))
    }

    /// `GET /v1/archives/{archive}/retention/plan`, due at `at` (RFC 3339) or now.
    pub fn retention_plan(&self, archive: &str, at: Option<&str>) -> Result<Answer<PlanDue>> {
        let q = at.map_or(String::new(), |a| format!("?at={a}"));
        typed(self.get(&format!("/v1/archives/{archive}/retention/plan{q}"))?)
    }

    /// `POST /v1/archives/{archive}/retention/apply`: one bounded disposition from `from`.
    pub fn retention_apply(
        &self,
        archive: &str,
        from: u64,
        max_packages: u64,
    ) -> Result<Answer<ApplyReport>> {
        let body = json!({ "from": from, "max_packages": max_packages });
        let path = format!("/v1/archives/{archive}/retention/apply");
        typed(self.call("POST", &path, Some(bytes(&body)), LONG_CALL_SECS)?)
    }

    /// `POST /v1/archives/{archive}/erasures`.
    pub fn request_erasure(
        &self,
        archive: &str,
        scope: &ErasureScope,
        basis: &str,
    ) -> Result<Value> {
        let body = match scope {
            ErasureScope::Package(p) => json!({ "package": p, "basis": basis }),
            ErasureScope::Record(r) => json!({ "record": r, "basis": basis }),
        };
        self.post(&format!("/v1/archives/{archive}/erasures"), &body)
    }

    /// `POST /v1/archives/{archive}/erasures/{id}/approve`, waiting for the erasure.
    pub fn approve_erasure(&self, archive: &str, id: &str) -> Result<Value> {
        let path = format!("/v1/archives/{archive}/erasures/{id}/approve");
        self.call("POST", &path, None, LONG_CALL_SECS)
    }

    /// `POST /v1/archives/{archive}/erasures/{id}/reject`.
    pub fn reject_erasure(&self, archive: &str, id: &str, reason: &str) -> Result<Value> {
        let path = format!("/v1/archives/{archive}/erasures/{id}/reject");
        self.post(&path, &json!({ "reason": reason }))
    }

    /// `GET /v1/archives/{archive}/erasures`.
    pub fn list_erasures(&self, archive: &str) -> Result<Value> {
        self.get(&format!("/v1/archives/{archive}/erasures"))
    }

    /// `GET /v1/archives/{archive}/dispositions`.
    pub fn list_dispositions(&self, archive: &str) -> Result<Value> {
        self.get(&format!("/v1/archives/{archive}/dispositions"))
    }

    /// `GET /v1/archives/{archive}/dispositions/{seq}/certificate`: the certificate's bytes.
    pub fn certificate(&self, archive: &str, seq: u64) -> Result<Vec<u8>> {
        self.get_bytes(&format!(
            "/v1/archives/{archive}/dispositions/{seq}/certificate"
        ))
    }

    /// `GET /v1/archives/{archive}/packages/{seq}/bundle`: the bundle's bytes, carrying only
    /// `objects` when given.
    pub fn bundle(&self, archive: &str, seq: u64, objects: Option<&[String]>) -> Result<Vec<u8>> {
        let q = objects.map_or(String::new(), |o| format!("?objects={}", o.join(",")));
        self.get_bytes(&format!("/v1/archives/{archive}/packages/{seq}/bundle{q}"))
    }

    /// `POST /v1/archives/{archive}/audits`: a new audit checking `sample` percent.
    pub fn start_audit(&self, archive: &str, sample: u8) -> Result<Answer<AuditRun>> {
        let body = json!({ "sample_percent": sample });
        typed(self.post(&format!("/v1/archives/{archive}/audits"), &body)?)
    }

    /// `GET /v1/archives/{archive}/audits/{id}`.
    pub fn audit_run(&self, archive: &str, id: &str) -> Result<Answer<AuditRun>> {
        typed(self.get(&format!("/v1/archives/{archive}/audits/{id}"))?)
    }

    /// `POST /v1/archives/{archive}/audits/{id}/step`: checks up to `max_packages` more.
    pub fn step_audit(
        &self,
        archive: &str,
        id: &str,
        max_packages: u64,
    ) -> Result<Answer<AuditRun>> {
        let body = json!({ "max_packages": max_packages });
        let path = format!("/v1/archives/{archive}/audits/{id}/step");
        typed(self.call("POST", &path, Some(bytes(&body)), LONG_CALL_SECS)?)
    }

    fn get(&self, path: &str) -> Result<Value> {
        self.call("GET", path, None, CLIENT_TIMEOUT_SECS)
    }

    fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.call("POST", path, Some(bytes(body)), CLIENT_TIMEOUT_SECS)
    }

    /// The bytes of a GET; a problem+json answer is an error naming status and detail.
    fn get_bytes(&self, path: &str) -> Result<Vec<u8>> {
        let (status, bytes) = self.send("GET", path, None, LONG_CALL_SECS)?;
        if status >= 400 {
            return Err(problem("GET", path, status, &bytes));
        }
        Ok(bytes)
    }

    /// Sends a request and waits up to `timeout_secs` for its JSON; a problem+json answer
    /// becomes an error naming status and detail.
    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        timeout_secs: u64,
    ) -> Result<Value> {
        let (status, bytes) = self.send(method, path, body, timeout_secs)?;
        if status >= 400 {
            return Err(problem(method, path, status, &bytes));
        }
        Ok(if bytes.is_empty() {
            Value::Null
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

fn bytes(body: &Value) -> Vec<u8> {
    body.to_string().into_bytes()
}

/// The server's JSON beside its type.
fn typed<T: DeserializeOwned>(json: Value) -> Result<Answer<T>> {
    let body = T::deserialize(&json).context("read the server's answer")?;
    Ok(Answer { json, body })
}

/// A refusal as a readable error: status, the problem's detail and its violations.
fn problem(method: &str, path: &str, status: u16, bytes: &[u8]) -> anyhow::Error {
    let json: Value = serde_json::from_slice(bytes)
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
