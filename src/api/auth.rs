//! Authentication at the HTTP edge: the bearer token of a request becomes its [`Caller`]
//! (through `tenant::Tenants`), and the role and archive checks handlers make.

use axum::http::HeaderMap;

use crate::api::problem::Problem;
use crate::error::Error;
pub use crate::tenant::{ApiKey, Role};

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub api_key: ApiKey,
}

/// Handlers take a `Caller` argument: the request is authenticated before the handler runs,
/// and refused with 401 problem+json otherwise.
impl axum::extract::FromRequestParts<crate::api::AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        s: &crate::api::AppState,
    ) -> Result<Caller, Problem> {
        let key = s.tenants.authenticate(bearer(&parts.headers)?)?;
        s.usage.count_request(&key.tenant);
        Ok(Caller { api_key: key })
    }
}

/// The bearer token of a request, or 401.
fn bearer(headers: &HeaderMap) -> Result<&str, Error> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(Error::Unauthorized)?;
    Ok(value
        .strip_prefix("Bearer ")
        .ok_or(Error::Unauthorized)?
        .trim())
}

impl Caller {
    /// Whether this is the server's own admin key (tenants, tiering, every tenant's usage).
    pub fn is_server_admin(&self) -> bool {
        self.api_key.is_server_admin()
    }

    /// Refuses unless the caller has one of `roles` (admins may do everything in their tenant).
    pub fn require_any(&self, roles: &[Role]) -> Result<(), Error> {
        if self.api_key.role == Role::Admin || roles.contains(&self.api_key.role) {
            return Ok(());
        }
        let names: Vec<&str> = roles.iter().map(|r| r.name()).collect();
        Err(Error::Forbidden(format!(
            "this key has the role {}; the request needs {}",
            self.api_key.role.name(),
            names.join(" or ")
        )))
    }

    /// Refuses unless the caller has `role` (admins may do everything in their tenant).
    pub fn require(&self, role: Role) -> Result<(), Error> {
        self.require_any(&[role])
    }

    /// Archive names outside a key's list are "not found", like another tenant's.
    pub fn may_use(&self, archive: &str) -> Result<(), Error> {
        match &self.api_key.archives {
            Some(list) if !list.iter().any(|a| a == archive) => {
                Err(Error::not_found(format!("no archive {archive:?}")))
            }
            _ => Ok(()),
        }
    }
}
