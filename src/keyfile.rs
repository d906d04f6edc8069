//! Signing keys on disk: created once with mode 0600 (in a 0700 directory when we create
//! it), fsynced, refused when anyone but the owner can read them. The text inside is the
//! signed-note private key form of formats/signed-note.md.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use zegel_format::note::{KeyError, SigningKey};

/// Why a key file could not be created or loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{path}: {err}")]
    Io { path: String, err: std::io::Error },
    #[error("{path}: mode {mode:o} lets others read the signing key; run `chmod 600 {path}`")]
    TooOpen { path: String, mode: u32 },
    #[error("{path}: {err}")]
    Key { path: String, err: KeyError },
    #[error("could not draw random bytes from the operating system: {0}")]
    Random(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |err| KeyFileError::Io {
        path: path.display().to_string(),
        err,
    }
}

/// Draws a fresh seed from the OS and writes a new key to `path`, which must not exist.
/// The file is created 0600 and fsynced, and so is its directory entry.
pub fn generate(path: &Path, name: &str) -> Result<SigningKey, KeyFileError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyFileError::Random(e.to_string()))?;
    let key = SigningKey::from_seed(name, seed).map_err(|err| KeyFileError::Key {
        path: path.display().to_string(),
        err,
    })?;
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        fs::create_dir_all(dir).map_err(io(dir))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    file.write_all(format!("{}\n", key.to_private_text()).as_bytes())
        .map_err(io(path))?;
    file.sync_all().map_err(io(path))?;
    sync_parent(path)?;
    Ok(key)
}

/// Loads a key written by [`generate`], refusing files that group or others can read.
pub fn load(path: &Path) -> Result<SigningKey, KeyFileError> {
    let meta = fs::metadata(path).map_err(io(path))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::TooOpen {
            path: path.display().to_string(),
            mode,
        });
    }
    let text = fs::read_to_string(path).map_err(io(path))?;
    SigningKey::from_private_text(&text).map_err(|err| KeyFileError::Key {
        path: path.display().to_string(),
        err,
    })
}

/// Loads the key at `path`, generating it first if the file does not exist.
pub fn load_or_generate(path: &Path, name: &str) -> Result<(SigningKey, bool), KeyFileError> {
    if path.exists() {
        return load(path).map(|k| (k, false));
    }
    generate(path, name).map(|k| (k, true))
}

/// fsync the directory holding `path`, so a newly created entry survives a crash.
pub fn sync_parent(path: &Path) -> Result<(), KeyFileError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}
