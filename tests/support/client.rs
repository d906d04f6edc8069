//! A tiny HTTP client for the API: [`Client`] holds a node's base URL and one bearer token,
//! and answers every request with a [`Resp`] (status, headers, body; [`Resp::json`] parses it).

use super::routes;

/// The most a response body may be: larger than any bundle a test asks for.
const BODY_BYTES_MAX: u64 = 128 * 1024 * 1024;
/// How long one request may take before it counts as failed.
const REQUEST_SECS_MAX: u64 = 30;

/// A response: status, content type, headers, body.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request to a whole URL; never fails on HTTP error statuses, only when no
/// answer came.
pub fn call(
    method: &str,
    url: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Resp, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(REQUEST_SECS_MAX)))
        .build()
        .into();
    let mut req = ureq::http::Request::builder().method(method).uri(url);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let req = req.body(body.to_vec()).map_err(|e| e.to_string())?;
    let mut r = agent.run(req).map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let headers: Vec<(String, String)> = r
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = r
        .body_mut()
        .with_config()
        .limit(BODY_BYTES_MAX)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    Ok(Resp {
        status,
        content_type,
        headers,
        body,
    })
}

/// As [`call`], panicking when no answer came.
pub fn must(method: &str, url: &str, token: Option<&str>, body: &[u8]) -> Resp {
    call(method, url, token, None, body).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// The API of one node as one caller: its base URL and bearer token (none: anonymous).
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    token: Option<String>,
}

impl Client {
    /// A caller with `token` on the node at `base` (e.g. `http://127.0.0.1:1234`).
    pub fn new(base: &str, token: &str) -> Client {
        Client {
            base: base.to_string(),
            token: Some(token.to_string()),
        }
    }

    /// A caller without a token.
    pub fn anonymous(base: &str) -> Client {
        Client {
            base: base.to_string(),
            token: None,
        }
    }

    /// The whole URL of `route`.
    pub fn url(&self, route: &str) -> String {
        format!("{}{route}", self.base)
    }

    /// One request; `Err` only when no answer came (e.g. the node is down).
    pub fn try_send(
        &self,
        method: &str,
        route: &str,
        content_type: Option<&str>,
        body: impl AsRef<[u8]>,
    ) -> Result<Resp, String> {
        call(
            method,
            &self.url(route),
            self.token.as_deref(),
            content_type,
            body.as_ref(),
        )
    }

    /// One request, which must be answered (with any status).
    pub fn send(&self, method: &str, route: &str, body: impl AsRef<[u8]>) -> Resp {
        self.send_typed(method, route, None, body)
    }

    /// As [`Client::send`], with a `Content-Type` when given.
    pub fn send_typed(
        &self,
        method: &str,
        route: &str,
        content_type: Option<&str>,
        body: impl AsRef<[u8]>,
    ) -> Resp {
        self.try_send(method, route, content_type, body)
            .unwrap_or_else(|e| panic!("{method} {route}: {e}"))
    }

    pub fn get(&self, route: &str) -> Resp {
        self.send("GET", route, b"")
    }

    pub fn post(&self, route: &str, body: impl AsRef<[u8]>) -> Resp {
        self.send("POST", route, body)
    }

    pub fn put(&self, route: &str, body: impl AsRef<[u8]>) -> Resp {
        self.send("PUT", route, body)
    }

    /// `POST` with a `Content-Type` (e.g. a multipart upload).
    pub fn post_typed(&self, route: &str, content_type: &str, body: impl AsRef<[u8]>) -> Resp {
        self.send_typed("POST", route, Some(content_type), body)
    }

    /// Ingests one row SIP into `archive`.
    pub fn ingest_row(&self, archive: &str, row: impl AsRef<[u8]>) -> Resp {
        self.post(&routes::records(archive), row)
    }

    /// Ingests newline-separated row SIPs into `archive` in one batch.
    pub fn ingest_batch(&self, archive: &str, rows: impl AsRef<[u8]>) -> Resp {
        self.post(&routes::records_batch(archive), rows)
    }

    /// The latest version of the record `key`.
    pub fn read_record(&self, archive: &str, key: impl std::fmt::Display) -> Resp {
        self.get(&routes::record(archive, key))
    }

    /// A package's header and object list.
    pub fn package(&self, archive: &str, seq: impl std::fmt::Display) -> Resp {
        self.get(&routes::package(archive, seq))
    }

    /// A package's sealed bytes.
    pub fn sealed(&self, archive: &str, seq: impl std::fmt::Display) -> Resp {
        self.get(&routes::sealed(archive, seq))
    }

    /// `POST checkpoint`: a checkpoint of `archive` signed now.
    pub fn checkpoint(&self, archive: &str) -> Resp {
        self.post(&routes::checkpoint(archive), b"")
    }
}
