//! The cold tier's object store (issue #4): the local filesystem by default, any
//! S3-compatible store by configuration, both through `object_store`. Objects are immutable:
//! written once with put-if-absent and never overwritten. Only this module knows
//! `object_store`.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::limits::{COLD_OBJECT_BYTES_MAX, COLD_RETRIES_MAX, COLD_RETRY_SECS_MAX};
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path as Key;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload};
use serde::Deserialize;

/// Seconds to connect to the S3 endpoint, and for one whole request.
pub const COLD_CONNECT_TIMEOUT_SECS: u64 = 5;
pub const COLD_REQUEST_TIMEOUT_SECS: u64 = 120;

/// Where cold objects live. In TOML: `[cold] backend = "local", dir = "..."`, or
/// `backend = "s3"` with `bucket`, `region` and optionally `endpoint`, `allow_http`,
/// `access_key_id`, `secret_access_key` (else the `AWS_*` environment variables).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "backend", rename_all = "lowercase", deny_unknown_fields)]
pub enum ColdConfig {
    Local {
        dir: PathBuf,
    },
    S3 {
        bucket: String,
        region: String,
        #[serde(default)]
        endpoint: Option<String>,
        #[serde(default)]
        allow_http: bool,
        #[serde(default)]
        access_key_id: Option<String>,
        #[serde(default)]
        secret_access_key: Option<String>,
    },
}

/// Never prints credentials.
impl std::fmt::Debug for ColdConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ColdConfig::Local { dir } => write!(f, "Local({})", dir.display()),
            ColdConfig::S3 {
                bucket, endpoint, ..
            } => write!(
                f,
                "S3(bucket {bucket}, endpoint {})",
                endpoint.as_deref().unwrap_or("AWS")
            ),
        }
    }
}

impl From<ColdError> for crate::error::Error {
    /// Whatever went wrong with the cold store, the hot copy and the log are intact: the
    /// operation can be retried once the store answers again.
    fn from(e: ColdError) -> crate::error::Error {
        crate::error::Error::Unavailable(format!("the cold tier failed: {e}"))
    }
}

/// Why a cold operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ColdError {
    #[error("cold object {0} does not exist")]
    NotFound(String),
    #[error("cold object {0} exists with other bytes; cold objects are never overwritten")]
    Conflict(String),
    #[error("cold object {key} is {got} bytes, above the limit of {max}")]
    TooLarge { key: String, got: u64, max: u64 },
    #[error("cold store {backend}: {source}")]
    Backend {
        backend: String,
        #[source]
        source: object_store::Error,
    },
    #[error("cold store configuration: {0}")]
    Config(String),
    #[error("cold store: {0}")]
    Io(String),
}

/// Removes the staging files (`key#n`) a local put leaves when the process dies inside it.
/// Our keys never contain `#`, and only this node writes its local cold directory.
fn remove_staging_files(dir: &std::path::Path) -> std::io::Result<()> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            let t = e.file_type()?;
            if t.is_dir() {
                stack.push(e.path());
            } else if e.file_name().to_string_lossy().contains('#') {
                std::fs::remove_file(e.path())?;
            }
        }
    }
    Ok(())
}

/// What a put-if-absent did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The object is new.
    New,
    /// The same bytes were already there (a retried write after a crash).
    AlreadyThere,
}

/// An open cold store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ColdStore {
    inner: Arc<dyn ObjectStore>,
    backend: String,
    /// The directory of a local store: `object_store` does not fsync, so [`ColdStore::put_new`]
    /// syncs the new file and its directories itself before reporting it written.
    local_dir: Option<PathBuf>,
}

impl ColdStore {
    /// Opens the store; a local directory is created (mode 0700) if missing.
    pub fn open(cfg: &ColdConfig) -> Result<ColdStore, ColdError> {
        let backend = format!("{cfg:?}");
        let local_dir = match cfg {
            ColdConfig::Local { dir } => Some(dir.clone()),
            ColdConfig::S3 { .. } => None,
        };
        let inner: Arc<dyn ObjectStore> = match cfg {
            ColdConfig::Local { dir } => {
                std::fs::create_dir_all(dir)
                    .and_then(|()| {
                        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                    })
                    .map_err(|e| ColdError::Config(format!("{}: {e}", dir.display())))?;
                Arc::new(
                    object_store::local::LocalFileSystem::new_with_prefix(dir)
                        .map_err(|e| ColdError::Config(e.to_string()))?,
                )
            }
            ColdConfig::S3 {
                bucket,
                region,
                endpoint,
                allow_http,
                access_key_id,
                secret_access_key,
            } => {
                let mut b = object_store::aws::AmazonS3Builder::from_env()
                    .with_client_options(
                        object_store::ClientOptions::new()
                            .with_connect_timeout(std::time::Duration::from_secs(
                                COLD_CONNECT_TIMEOUT_SECS,
                            ))
                            .with_timeout(std::time::Duration::from_secs(
                                COLD_REQUEST_TIMEOUT_SECS,
                            )),
                    )
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_allow_http(*allow_http)
                    .with_conditional_put(object_store::aws::S3ConditionalPut::ETagMatch)
                    // A stopped or failing store must fail a move in seconds, not hang it:
                    // the hot copy stays and the next pass tries again.
                    .with_retry(object_store::RetryConfig {
                        max_retries: COLD_RETRIES_MAX,
                        retry_timeout: std::time::Duration::from_secs(COLD_RETRY_SECS_MAX),
                        ..Default::default()
                    });
                if let Some(e) = endpoint {
                    b = b.with_endpoint(e);
                }
                if let Some(k) = access_key_id {
                    b = b.with_access_key_id(k);
                }
                if let Some(s) = secret_access_key {
                    b = b.with_secret_access_key(s);
                }
                Arc::new(b.build().map_err(|e| ColdError::Config(e.to_string()))?)
            }
        };
        Ok(ColdStore {
            inner,
            backend,
            local_dir,
        })
    }

    fn err(&self, key: &str, e: object_store::Error) -> ColdError {
        match e {
            object_store::Error::NotFound { .. } => ColdError::NotFound(key.to_string()),
            other => ColdError::Backend {
                backend: self.backend.clone(),
                source: other,
            },
        }
    }

    /// Writes `bytes` at `key` unless an object is there. Identical bytes already there are
    /// success (a retry after a crash); other bytes are a [`ColdError::Conflict`].
    pub async fn put_new(&self, key: &str, bytes: Bytes) -> Result<Written, ColdError> {
        if bytes.len() > COLD_OBJECT_BYTES_MAX {
            return Err(ColdError::TooLarge {
                key: key.into(),
                got: bytes.len() as u64,
                max: COLD_OBJECT_BYTES_MAX as u64,
            });
        }
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .inner
            .put_opts(&Key::from(key), PutPayload::from(bytes.clone()), opts)
            .await
        {
            Ok(_) => {
                self.sync_local(key).await?;
                Ok(Written::New)
            }
            Err(object_store::Error::AlreadyExists { .. }) => {
                if self.get(key).await? == bytes {
                    // A crash may have come between the write and its sync.
                    self.sync_local(key).await?;
                    Ok(Written::AlreadyThere)
                } else {
                    Err(ColdError::Conflict(key.to_string()))
                }
            }
            Err(e) => Err(self.err(key, e)),
        }
    }

    /// Makes a new local object durable: the file, then every directory up to the root.
    async fn sync_local(&self, key: &str) -> Result<(), ColdError> {
        let Some(root) = self.local_dir.clone() else {
            return Ok(());
        };
        let key = key.to_string();
        tokio::task::spawn_blocking(move || {
            let mut path = root.join(&key);
            std::fs::File::open(&path)?.sync_all()?;
            while path != root {
                if !path.pop() {
                    break;
                }
                std::fs::File::open(&path)?.sync_all()?;
            }
            Ok::<(), std::io::Error>(())
        })
        .await
        .map_err(|e| ColdError::Io(format!("fsync task: {e}")))?
        .map_err(|e| ColdError::Io(format!("fsync of a new cold object: {e}")))
    }

    /// Removes the staging files a local put leaves when the process dies inside it (a
    /// no-op on S3). Call only while nothing writes to the store: the tierer does, once, at the
    /// start of its first pass.
    pub async fn remove_staging(&self) -> Result<(), ColdError> {
        let Some(root) = self.local_dir.clone() else {
            return Ok(());
        };
        tokio::task::spawn_blocking(move || remove_staging_files(&root))
            .await
            .map_err(|e| ColdError::Io(format!("staging sweep task: {e}")))?
            .map_err(|e| ColdError::Io(format!("staging sweep: {e}")))
    }

    /// Bytes `[start, end)` of an object.
    pub async fn get_range(&self, key: &str, start: u64, end: u64) -> Result<Bytes, ColdError> {
        if end.saturating_sub(start) > COLD_OBJECT_BYTES_MAX as u64 {
            return Err(ColdError::TooLarge {
                key: key.into(),
                got: end - start,
                max: COLD_OBJECT_BYTES_MAX as u64,
            });
        }
        let bytes = self
            .inner
            .get_range(&Key::from(key), start..end)
            .await
            .map_err(|e| self.err(key, e))?;
        if bytes.len() as u64 != end - start {
            return Err(ColdError::Io(format!(
                "cold object {key}: asked for {} bytes, got {}",
                end - start,
                bytes.len()
            )));
        }
        Ok(bytes)
    }

    /// The whole object (at most [`COLD_OBJECT_BYTES_MAX`]).
    pub async fn get(&self, key: &str) -> Result<Bytes, ColdError> {
        let r = self
            .inner
            .get(&Key::from(key))
            .await
            .map_err(|e| self.err(key, e))?;
        if r.meta.size > COLD_OBJECT_BYTES_MAX as u64 {
            return Err(ColdError::TooLarge {
                key: key.into(),
                got: r.meta.size,
                max: COLD_OBJECT_BYTES_MAX as u64,
            });
        }
        r.bytes().await.map_err(|e| self.err(key, e))
    }

    /// Keys and sizes under `prefix`, sorted by key.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>, ColdError> {
        let mut out: Vec<(String, u64)> = self
            .inner
            .list(Some(&Key::from(prefix)))
            .map_ok(|m| (m.location.to_string(), m.size))
            .try_collect()
            .await
            .map_err(|e| self.err(prefix, e))?;
        out.sort();
        Ok(out)
    }

    /// Deletes an object (retention and disposal only; a missing object is not an error).
    pub async fn delete(&self, key: &str) -> Result<(), ColdError> {
        match self.inner.delete(&Key::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err(key, e)),
        }
    }
}
