//! The one error type of the server's domain layer. Each variant is a category the caller
//! acts on; `api::problem` maps every category to an HTTP status and problem type in one
//! place, and nothing else decides a status.
//!
//! Lower layers keep errors of their own where callers act on their detail (`StoreError`,
//! `ColdError`, the sequencer's), and each converts into this type once, next to its
//! definition.

use zegel_format::hash::Hash;
use zegel_format::sip::Violation;

/// Why an operation failed, by what the caller can do about it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The request is malformed or cannot be met as asked; the message says what to change.
    #[error("{0}")]
    BadRequest(String),
    /// A submission broke its agreement or the format rules: every violation, per field.
    #[error("{detail}")]
    Invalid {
        detail: String,
        violations: Vec<Violation>,
    },
    /// No valid credentials.
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// Valid credentials without the right to do this.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing of that name (also: another tenant's, which is never "forbidden").
    #[error("{0}")]
    NotFound(String),
    /// The current state forbids it: `kind` names the conflict (`conflict`, `held`, `limit`).
    #[error("{detail}")]
    Conflict { kind: &'static str, detail: String },
    /// The package was disposed of: its leaf stays in the log, its content is gone.
    #[error(
        "package {seq} was disposed of ({cause}) by the disposition package at seq {disposition}"
    )]
    Gone {
        seq: u64,
        cause: String,
        disposition: u64,
        /// When it was disposed of.
        at_ms: u64,
        /// Its retention end as its header said (`None`: kept forever).
        retain_until_ms: Option<u64>,
    },
    /// Larger than a named limit.
    #[error("{0}")]
    TooLarge(String),
    /// A bounded queue is full or a step is in progress elsewhere; retry shortly.
    #[error("{0}")]
    Busy(String),
    /// A dependency (the cold tier) cannot be reached now; nothing is lost, retry later.
    #[error("{0}")]
    Unavailable(String),
    /// Stored bytes failed their check (`check` names which); never served.
    #[error("stored data failed its check: {detail}")]
    Corrupt {
        check: &'static str,
        detail: String,
        /// For `cold.leaf`: the leaf the stored package restores to, when it restores.
        found: Option<Hash>,
    },
    /// A fault of the server itself (storage, a broken invariant). The detail is logged, never
    /// sent to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

/// A result of the domain layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A refusal of a request as asked.
    pub fn bad_request(detail: impl Into<String>) -> Error {
        Error::BadRequest(detail.into())
    }

    /// Nothing of that name.
    pub fn not_found(detail: impl Into<String>) -> Error {
        Error::NotFound(detail.into())
    }

    /// The state forbids it.
    pub fn conflict(detail: impl Into<String>) -> Error {
        Error::Conflict {
            kind: "conflict",
            detail: detail.into(),
        }
    }

    /// Something of that name exists already (creation is idempotent where callers match on
    /// this).
    pub fn already_exists(what: impl std::fmt::Display) -> Error {
        Error::Conflict {
            kind: "exists",
            detail: format!("already exists: {what}"),
        }
    }

    /// A legal hold forbids it.
    pub fn held(detail: impl Into<String>) -> Error {
        Error::Conflict {
            kind: "held",
            detail: detail.into(),
        }
    }

    /// Stored data that failed a check with no more specific name.
    pub fn corrupt(detail: impl Into<String>) -> Error {
        Error::Corrupt {
            check: "store",
            detail: detail.into(),
            found: None,
        }
    }

    /// A fault of the server.
    pub fn internal(detail: impl Into<String>) -> Error {
        Error::Internal(detail.into())
    }

    /// This error with `context` before its message, keeping its category.
    pub fn context(self, context: &str) -> Error {
        let with = |m: String| format!("{context}: {m}");
        match self {
            Error::BadRequest(m) => Error::BadRequest(with(m)),
            Error::Invalid { detail, violations } => Error::Invalid {
                detail: with(detail),
                violations,
            },
            Error::Forbidden(m) => Error::Forbidden(with(m)),
            Error::NotFound(m) => Error::NotFound(with(m)),
            Error::Conflict { kind, detail } => Error::Conflict {
                kind,
                detail: with(detail),
            },
            Error::TooLarge(m) => Error::TooLarge(with(m)),
            Error::Busy(m) => Error::Busy(with(m)),
            Error::Unavailable(m) => Error::Unavailable(with(m)),
            Error::Corrupt {
                check,
                detail,
                found,
            } => Error::Corrupt {
                check,
                detail: with(detail),
                found,
            },
            Error::Internal(m) => Error::Internal(with(m)),
            e @ (Error::Unauthorized | Error::Gone { .. }) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keeps_the_category() {
        let e = Error::conflict("already decided").context("erasure e1");
        assert!(
            matches!(
                e,
                Error::Conflict {
                    kind: "conflict",
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(e.to_string(), "erasure e1: already decided");
        let gone = Error::Gone {
            seq: 3,
            cause: "retention".into(),
            disposition: 9,
            at_ms: 10,
            retain_until_ms: Some(5),
        };
        assert_eq!(gone.clone().context("x").to_string(), gone.to_string());
    }
}
