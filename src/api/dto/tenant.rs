//! Wire types of API keys: the role a key has and a key as listed (never its token).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::tenant;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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

impl From<tenant::Role> for Role {
    fn from(r: tenant::Role) -> Self {
        match r {
            tenant::Role::Producer => Role::Producer,
            tenant::Role::Consumer => Role::Consumer,
            tenant::Role::Archivist => Role::Archivist,
            tenant::Role::Auditor => Role::Auditor,
            tenant::Role::Admin => Role::Admin,
        }
    }
}

impl From<Role> for tenant::Role {
    fn from(r: Role) -> Self {
        match r {
            Role::Producer => tenant::Role::Producer,
            Role::Consumer => tenant::Role::Consumer,
            Role::Archivist => tenant::Role::Archivist,
            Role::Auditor => tenant::Role::Auditor,
            Role::Admin => tenant::Role::Admin,
        }
    }
}

/// A stored API key (never the token itself).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKey {
    pub id: String,
    pub tenant: String,
    pub role: Role,
    /// `None`: every archive of the tenant.
    pub archives: Option<Vec<String>>,
    pub created_ms: u64,
    pub revoked: bool,
}

impl From<tenant::ApiKey> for ApiKey {
    fn from(k: tenant::ApiKey) -> Self {
        ApiKey {
            id: k.id,
            tenant: k.tenant,
            role: k.role.into(),
            archives: k.archives,
            created_ms: k.created_ms,
            revoked: k.revoked,
        }
    }
}
