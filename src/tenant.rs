//! Tenants and their API keys. A token is shown once, when its key is made, and stored only
//! as its SHA-256; a request's tenant comes from its token, so another tenant's archive is
//! simply not found. Tenants and keys live in the hot store's `auth` family.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use zegel_format::hash::sha256;

use crate::error::Error;
use crate::limits::{KEY_CACHE_MAX, TENANT_KEYS_MAX, TOKEN_BYTES_MAX};
use crate::store::{Batch, Store, cf};

/// The tenant that holds the bootstrap admin key.
pub const ADMIN_TENANT: &str = "admin";

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// A stored API key (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub tenant: String,
    pub role: Role,
    /// `None`: every archive of the tenant.
    pub archives: Option<Vec<String>>,
    pub created_ms: u64,
    pub revoked: bool,
}

impl ApiKey {
    /// Whether this is the server's own admin key (tenants, tiering, every tenant's usage).
    pub fn is_server_admin(&self) -> bool {
        self.role == Role::Admin && self.tenant == ADMIN_TENANT
    }
}

fn key_entry(token_hash: &str) -> Vec<u8> {
    format!("key/{token_hash}").into_bytes()
}

fn key_id_entry(tenant: &str, id: &str) -> Vec<u8> {
    format!("keyid/{tenant}/{id}").into_bytes()
}

fn key_id_prefix(tenant: &str) -> Vec<u8> {
    format!("keyid/{tenant}/").into_bytes()
}

fn tenant_entry(tenant: &str) -> Vec<u8> {
    format!("tenant/{tenant}").into_bytes()
}

/// The batch that records a tenant.
fn tenant_record(tenant: &str, now_ms: u64) -> Result<Batch, Error> {
    let mut b = Batch::default();
    b.put_json(
        cf::AUTH,
        &tenant_entry(tenant),
        &serde_json::json!({ "created_ms": now_ms }),
    )?;
    Ok(b)
}

/// The stored form of a token: hex SHA-256.
pub fn token_hash(token: &str) -> String {
    sha256(token.as_bytes()).to_hex()
}

/// A fresh token: `zgl_` and 32 random bytes, base64url.
fn new_token() -> Result<String, Error> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| Error::internal(format!("randomness: {e}")))?;
    Ok(format!("zgl_{}", URL_SAFE_NO_PAD.encode(raw)))
}

/// The tenants and API keys of the node, with the keys already seen cached by token hash, so
/// a request costs one hash, not a database read and a JSON parse. Revoking any key empties
/// the cache, so a revoked token stops working at once.
#[derive(Debug)]
pub struct Tenants {
    store: Arc<Store>,
    /// Keys by token hash; guarded by its own lock, never held across a store call.
    cache: Mutex<HashMap<String, ApiKey>>,
}

impl Tenants {
    /// The tenants kept in `store`.
    pub fn new(store: Arc<Store>) -> Tenants {
        Tenants {
            store,
            cache: Mutex::default(),
        }
    }

    fn cache(&self) -> MutexGuard<'_, HashMap<String, ApiKey>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The key a bearer token stands for; `Unauthorized` for an unknown, revoked or
    /// overlong token.
    pub fn authenticate(&self, token: &str) -> Result<ApiKey, Error> {
        if token.is_empty() || token.len() > TOKEN_BYTES_MAX {
            return Err(Error::Unauthorized);
        }
        let hash = token_hash(token);
        if let Some(key) = self.cache().get(&hash) {
            return Ok(key.clone());
        }
        let key: ApiKey = self
            .store
            .get_json(cf::AUTH, &key_entry(&hash), "api key")?
            .ok_or(Error::Unauthorized)?;
        if key.revoked {
            return Err(Error::Unauthorized);
        }
        let mut cache = self.cache();
        if cache.len() >= KEY_CACHE_MAX {
            cache.clear();
        }
        cache.insert(hash, key.clone());
        Ok(key)
    }

    pub fn exists(&self, tenant: &str) -> Result<bool, Error> {
        Ok(self.store.get(cf::AUTH, &tenant_entry(tenant))?.is_some())
    }

    /// Creates a tenant; `Conflict` when it exists.
    pub fn create(&self, tenant: &str, now_ms: u64) -> Result<(), Error> {
        if self.exists(tenant)? {
            return Err(Error::conflict(format!("tenant {tenant:?} exists")));
        }
        self.store.commit(tenant_record(tenant, now_ms)?)?;
        Ok(())
    }

    /// Stores a new key of an existing tenant and returns (token, key). The token is not
    /// stored.
    pub fn create_key(
        &self,
        tenant: &str,
        role: Role,
        archives: Option<Vec<String>>,
        now_ms: u64,
    ) -> Result<(String, ApiKey), Error> {
        if !self.exists(tenant)? {
            return Err(Error::not_found(format!("no tenant {tenant:?}")));
        }
        let count = self
            .store
            .scan_prefix(cf::AUTH, &key_id_prefix(tenant), TENANT_KEYS_MAX + 1)?
            .len();
        if count >= TENANT_KEYS_MAX {
            return Err(Error::Conflict {
                kind: "limit",
                detail: format!("a tenant holds at most {TENANT_KEYS_MAX} keys"),
            });
        }
        self.insert_key(tenant, role, archives, now_ms)
    }

    /// Makes a token and durably stores its key, unchecked.
    fn insert_key(
        &self,
        tenant: &str,
        role: Role,
        archives: Option<Vec<String>>,
        now_ms: u64,
    ) -> Result<(String, ApiKey), Error> {
        let token = new_token()?;
        let hash = token_hash(&token);
        let key = ApiKey {
            id: hash.get(..12).unwrap_or(&hash).to_string(),
            tenant: tenant.into(),
            role,
            archives,
            created_ms: now_ms,
            revoked: false,
        };
        let mut b = Batch::default();
        b.put_json(cf::AUTH, &key_entry(&hash), &key)?;
        b.put(cf::AUTH, &key_id_entry(tenant, &key.id), hash.as_bytes());
        self.store.commit(b)?;
        Ok((token, key))
    }

    /// Keys of a tenant (without tokens).
    pub fn keys(&self, tenant: &str) -> Result<Vec<ApiKey>, Error> {
        let mut out = Vec::new();
        for (_, hash) in
            self.store
                .scan_prefix(cf::AUTH, &key_id_prefix(tenant), TENANT_KEYS_MAX)?
        {
            let hash = String::from_utf8_lossy(&hash);
            if let Some(k) = self
                .store
                .get_json(cf::AUTH, &key_entry(&hash), "api key")?
            {
                out.push(k);
            }
        }
        Ok(out)
    }

    /// Revokes a key: its token stops working at once. `NotFound` for an unknown id.
    pub fn revoke_key(&self, tenant: &str, id: &str) -> Result<(), Error> {
        let missing = || Error::not_found(format!("no key {id:?} in tenant {tenant:?}"));
        let hash = self
            .store
            .get(cf::AUTH, &key_id_entry(tenant, id))?
            .ok_or_else(missing)?;
        let hash = String::from_utf8_lossy(&hash);
        let mut key: ApiKey = self
            .store
            .get_json(cf::AUTH, &key_entry(&hash), "api key")?
            .ok_or_else(missing)?;
        key.revoked = true;
        let mut b = Batch::default();
        b.put_json(cf::AUTH, &key_entry(&hash), &key)?;
        self.store.commit(b)?;
        self.cache().clear();
        Ok(())
    }

    /// On first start, creates the bootstrap admin key and writes its token once to `path`
    /// (mode 0600). Returns true when it was created now.
    pub fn bootstrap_admin(&self, path: &Path, now_ms: u64) -> Result<bool, Error> {
        if self.exists(ADMIN_TENANT)? {
            return Ok(false);
        }
        // The tenant is recorded last: a crash before it repeats the whole bootstrap.
        let b = tenant_record(ADMIN_TENANT, now_ms)?;
        let (token, _) = self.insert_key(ADMIN_TENANT, Role::Admin, None, now_ms)?;
        write_secret(path, &token)
            .map_err(|e| Error::internal(format!("{}: {e}", path.display())))?;
        self.store.commit(b)?;
        Ok(true)
    }
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
