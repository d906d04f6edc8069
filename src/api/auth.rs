//! Tenants, API keys and roles. Tokens are shown once and stored only as SHA-256 hashes; a
//! request's tenant comes from its token, so another tenant's archive is simply not found.

use std::path::Path;

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use zegel_format::hash::sha256;

use crate::api::problem::Problem;
use crate::store::{Batch, Store, StoreError, cf};

/// Longest bearer token accepted (ours are 47 characters).
pub const TOKEN_BYTES_MAX: usize = 128;
/// Most API keys one tenant may hold.
pub const TENANT_KEYS_MAX: usize = 1000;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Ingest packages.
    Producer,
    /// Read archived content.
    Consumer,
    /// Agreements, holds, retention.
    Archivist,
    /// Proofs, exports, audits.
    Auditor,
    /// Tenants and keys.
    Admin,
}

/// A stored API key (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiKey {
    pub id: String,
    pub tenant: String,
    pub role: Role,
    /// `None`: every archive of the tenant.
    pub archives: Option<Vec<String>>,
    pub created_ms: u64,
    pub revoked: bool,
}

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub key: ApiKey,
}

impl Role {
    /// The role's name as the API spells it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Producer => "producer",
            Role::Consumer => "consumer",
            Role::Archivist => "archivist",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
}

/// Handlers take a `Caller` argument: the request is authenticated before the handler runs,
/// and refused with 401 problem+json otherwise.
impl axum::extract::FromRequestParts<crate::api::AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        s: &crate::api::AppState,
    ) -> Result<Caller, Problem> {
        let caller = s.keys.authenticate(s.archives.store(), &parts.headers)?;
        s.usage.count_request(&caller.key.tenant);
        Ok(caller)
    }
}

/// Most API keys kept in memory; the cache is emptied when it would grow past this.
pub const KEY_CACHE_MAX: usize = 10_000;

/// Stored API keys by token hash, so a request costs one hash, not a database read and a
/// JSON parse. Revoking any key empties it, so a revoked token stops working at once.
#[derive(Debug, Default)]
pub struct KeyCache(std::sync::Mutex<std::collections::HashMap<String, ApiKey>>);

impl KeyCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, ApiKey>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// [`authenticate`], answered from memory when the key was seen before.
    pub fn authenticate(&self, store: &Store, headers: &HeaderMap) -> Result<Caller, Problem> {
        let hash = token_hash(bearer(headers)?);
        if let Some(key) = self.lock().get(&hash) {
            return Ok(Caller { key: key.clone() });
        }
        let caller = authenticate(store, headers)?;
        let mut cache = self.lock();
        if cache.len() >= KEY_CACHE_MAX {
            cache.clear();
        }
        cache.insert(hash, caller.key.clone());
        Ok(caller)
    }

    /// Forgets every key (after a revocation).
    pub fn clear(&self) {
        self.lock().clear();
    }
}

impl Caller {
    /// Whether this is the server's own admin key (tenants, tiering, every tenant's usage).
    pub fn is_server_admin(&self) -> bool {
        self.key.role == Role::Admin && self.key.tenant == ADMIN_TENANT
    }

    /// Refuses unless the caller has one of `roles` (admins may do everything in their tenant).
    pub fn require_any(&self, roles: &[Role]) -> Result<(), Problem> {
        if self.key.role == Role::Admin || roles.contains(&self.key.role) {
            return Ok(());
        }
        let names: Vec<&str> = roles.iter().map(|r| r.name()).collect();
        Err(Problem::forbidden(format!(
            "this key has the role {}; the request needs {}",
            self.key.role.name(),
            names.join(" or ")
        )))
    }

    /// Refuses unless the caller has `role` (admins may do everything in their tenant).
    pub fn require(&self, role: Role) -> Result<(), Problem> {
        self.require_any(&[role])
    }

    /// Archive names outside a key's list are "not found", like another tenant's.
    pub fn may_use(&self, archive: &str) -> Result<(), Problem> {
        match &self.key.archives {
            Some(list) if !list.iter().any(|a| a == archive) => {
                Err(Problem::not_found(format!("no archive {archive:?}")))
            }
            _ => Ok(()),
        }
    }
}

fn key_entry(token_hash: &str) -> Vec<u8> {
    format!("key/{token_hash}").into_bytes()
}

fn tenant_entry(tenant: &str) -> Vec<u8> {
    format!("tenant/{tenant}").into_bytes()
}

/// The stored form of a token: hex SHA-256.
pub fn token_hash(token: &str) -> String {
    sha256(token.as_bytes()).to_hex()
}

/// A fresh token: `zgl_` and 32 random bytes, base64url.
pub fn new_token() -> Result<String, Problem> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| Problem::internal(format!("randomness: {e}")))?;
    Ok(format!("zgl_{}", URL_SAFE_NO_PAD.encode(raw)))
}

/// Finds the caller from the `Authorization: Bearer` header.
/// The bearer token of a request, or 401.
fn bearer(headers: &HeaderMap) -> Result<&str, Problem> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(Problem::unauthorized)?;
    let token = value
        .strip_prefix("Bearer ")
        .ok_or_else(Problem::unauthorized)?
        .trim();
    if token.is_empty() || token.len() > TOKEN_BYTES_MAX {
        return Err(Problem::unauthorized());
    }
    Ok(token)
}

pub fn authenticate(store: &Store, headers: &HeaderMap) -> Result<Caller, Problem> {
    let token = bearer(headers)?;
    let stored = store
        .get(cf::AUTH, &key_entry(&token_hash(token)))
        .map_err(|e| Problem::internal(e.to_string()))?
        .ok_or_else(Problem::unauthorized)?;
    let key: ApiKey =
        serde_json::from_slice(&stored).map_err(|e| Problem::internal(e.to_string()))?;
    if key.revoked {
        return Err(Problem::unauthorized());
    }
    Ok(Caller { key })
}

pub fn tenant_exists(store: &Store, tenant: &str) -> Result<bool, StoreError> {
    Ok(store.get(cf::AUTH, &tenant_entry(tenant))?.is_some())
}

pub fn create_tenant(store: &Store, tenant: &str, now_ms: u64) -> Result<bool, StoreError> {
    if tenant_exists(store, tenant)? {
        return Ok(false);
    }
    let mut b = Batch::default();
    b.put(
        cf::AUTH,
        &tenant_entry(tenant),
        serde_json::json!({ "created_ms": now_ms })
            .to_string()
            .as_bytes(),
    );
    store.commit(b)?;
    Ok(true)
}

/// Stores a new key and returns (token, key). The token is not stored.
pub fn create_key(
    store: &Store,
    tenant: &str,
    role: Role,
    archives: Option<Vec<String>>,
    now_ms: u64,
) -> Result<(String, ApiKey), Problem> {
    let count = store
        .scan_prefix(
            cf::AUTH,
            format!("keyid/{tenant}/").as_bytes(),
            TENANT_KEYS_MAX + 1,
        )
        .map_err(|e| Problem::internal(e.to_string()))?
        .len();
    if count >= TENANT_KEYS_MAX {
        return Err(Problem::new(
            axum::http::StatusCode::CONFLICT,
            "limit",
            format!("a tenant holds at most {TENANT_KEYS_MAX} keys"),
        ));
    }
    let token = new_token()?;
    let hash = token_hash(&token);
    let id = hash.get(..12).unwrap_or_default().to_string();
    let key = ApiKey {
        id: id.clone(),
        tenant: tenant.into(),
        role,
        archives,
        created_ms: now_ms,
        revoked: false,
    };
    let mut b = Batch::default();
    let json = serde_json::to_vec(&key).unwrap_or_default();
    b.put(cf::AUTH, &key_entry(&hash), &json);
    b.put(
        cf::AUTH,
        format!("keyid/{tenant}/{id}").as_bytes(),
        hash.as_bytes(),
    );
    store
        .commit(b)
        .map_err(|e| Problem::internal(e.to_string()))?;
    Ok((token, key))
}

/// Keys of a tenant (without tokens).
pub fn list_keys(store: &Store, tenant: &str) -> Result<Vec<ApiKey>, StoreError> {
    let mut out = Vec::new();
    for (_, hash) in store.scan_prefix(
        cf::AUTH,
        format!("keyid/{tenant}/").as_bytes(),
        TENANT_KEYS_MAX,
    )? {
        let hash = String::from_utf8_lossy(&hash).into_owned();
        if let Some(k) = store
            .get(cf::AUTH, &key_entry(&hash))?
            .and_then(|v| serde_json::from_slice(&v).ok())
        {
            out.push(k);
        }
    }
    Ok(out)
}

pub fn revoke_key(store: &Store, tenant: &str, id: &str) -> Result<bool, StoreError> {
    let Some(hash) = store.get(cf::AUTH, format!("keyid/{tenant}/{id}").as_bytes())? else {
        return Ok(false);
    };
    let hash = String::from_utf8_lossy(&hash).into_owned();
    let Some(v) = store.get(cf::AUTH, &key_entry(&hash))? else {
        return Ok(false);
    };
    let mut key: ApiKey =
        serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    key.revoked = true;
    let mut b = Batch::default();
    b.put(
        cf::AUTH,
        &key_entry(&hash),
        &serde_json::to_vec(&key).unwrap_or_default(),
    );
    store.commit(b)?;
    Ok(true)
}

/// The tenant that holds the bootstrap admin key.
pub const ADMIN_TENANT: &str = "admin";

/// On first start, creates the bootstrap admin key and writes its token once to `path`
/// (mode 0600). Returns true when it was created now.
pub fn bootstrap_admin(store: &Store, path: &Path, now_ms: u64) -> Result<bool, Problem> {
    if tenant_exists(store, ADMIN_TENANT).map_err(|e| Problem::internal(e.to_string()))? {
        return Ok(false);
    }
    let (token, _) = create_key(store, ADMIN_TENANT, Role::Admin, None, now_ms)?;
    write_secret(path, &token)
        .map_err(|e| Problem::internal(format!("{}: {e}", path.display())))?;
    create_tenant(store, ADMIN_TENANT, now_ms).map_err(|e| Problem::internal(e.to_string()))?;
    Ok(true)
}

fn write_secret(path: &Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(format!("{secret}\n").as_bytes())?;
    f.sync_all()
}
