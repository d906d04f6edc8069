//! Signing keys and C2SP signed notes with Ed25519 (formats/signed-note.md).
//!
//! Key text forms follow the signed-note conventions:
//! private `PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 || seed)>`,
//! verifier `<name>+<key id hex>+<base64(0x01 || public key)>`, and the key id is the first
//! four bytes of SHA-256(name || 0x0A || 0x01 || public key).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer, Verifier};
use sha2::{Digest, Sha256};

use crate::error::DecodeError;
use crate::limits::{NOTE_BYTES_MAX, NOTE_NAME_BYTES_MAX, NOTE_SIGNATURES_MAX};

/// The signed-note signature type byte for Ed25519.
pub const NOTE_ALG_ED25519: u8 = 0x01;
const SIG_LINE_PREFIX: &str = "\u{2014} ";

/// Why a key could not be read or a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "key name {0:?} must be 1-256 bytes (a signing key's at most 126) with no whitespace, '+' or control characters"
    )]
    BadName(String),
    #[error("malformed key text: {0}")]
    Malformed(String),
    #[error("key id in the text ({text}) does not match the key ({computed})")]
    WrongKeyId { text: String, computed: String },
}

/// Why a signed note did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("malformed note: {0}")]
    Malformed(#[from] DecodeError),
    #[error("no signature by key {name}+{key_id}")]
    NotSignedByKey { name: String, key_id: String },
    #[error("the signature by key {name}+{key_id} does not verify")]
    BadSignature { name: String, key_id: String },
}

/// A key name: non-empty, no whitespace, no '+', at most 256 bytes (signed-note §Format).
pub fn check_key_name(name: &str) -> Result<(), KeyError> {
    let ok = !name.is_empty()
        && name.len() <= NOTE_NAME_BYTES_MAX
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(KeyError::BadName(name.to_string()))
    }
}

/// Key fingerprint: SHA-256(name || "\n" || 0x01 || public key), all 32 bytes
/// (formats/signed-note.md §3.4). Unlike the 4-byte key id, it is long enough to identify a
/// key a verifier trusts.
pub fn fingerprint(name: &str, public: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', NOTE_ALG_ED25519]);
    h.update(public);
    h.finalize().into()
}

/// Key id: the first four bytes of the [`fingerprint`].
pub fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let [a, b, c, d, ..] = fingerprint(name, public);
    [a, b, c, d]
}

/// An Ed25519 signing key with its signed-note name. The seed never appears in `Debug`.
#[derive(Clone)]
pub struct SigningKey {
    name: String,
    key: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SigningKey({}+{})",
            self.name,
            hex::encode(self.key_id())
        )
    }
}

impl SigningKey {
    /// A key from 32 secret bytes (the caller draws them from the OS: this crate does no IO).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<SigningKey, KeyError> {
        check_key_name(name)?;
        // The key name is the log name in every checkpoint origin: leave room for the
        // tenant and archive (formats/checkpoint.md §2).
        if name.len() > crate::limits::LOG_NAME_BYTES_MAX {
            return Err(KeyError::BadName(name.to_string()));
        }
        Ok(SigningKey {
            name: name.to_string(),
            key: ed25519_dalek::SigningKey::from_bytes(&seed),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> [u8; 4] {
        key_id(&self.name, self.key.verifying_key().as_bytes())
    }

    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            id: self.key_id(),
            key: self.key.verifying_key(),
        }
    }

    /// Pure Ed25519 (RFC 8032) over `message`. Callers add their domain prefix first.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// `PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>`: the on-disk form (keep it mode 0600).
    pub fn to_private_text(&self) -> String {
        let mut raw = vec![NOTE_ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex::encode(self.key_id()),
            B64.encode(raw)
        )
    }

    pub fn from_private_text(text: &str) -> Result<SigningKey, KeyError> {
        let text = text.trim_end_matches('\n');
        let rest = text
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| KeyError::Malformed("a private key starts with PRIVATE+KEY+".into()))?;
        let (name, id_hex, raw) = split_key_text(rest)?;
        let seed: [u8; 32] = raw
            .try_into()
            .map_err(|_| KeyError::Malformed("the private key must hold 32 bytes".into()))?;
        let key = SigningKey::from_seed(name, seed)?;
        check_id(&id_hex, key.key_id())?;
        Ok(key)
    }
}

/// A public key as verifiers hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: [u8; 4],
    key: ed25519_dalek::VerifyingKey,
}

impl VerifierKey {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> [u8; 4] {
        self.id
    }

    /// The full SHA-256 of which the key id is the start (formats/signed-note.md §3.4).
    pub fn fingerprint(&self) -> [u8; 32] {
        fingerprint(&self.name, self.key.as_bytes())
    }

    pub fn public_bytes(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// `<name>+<id hex>+<base64(0x01 || public key)>`.
    pub fn to_text(&self) -> String {
        let mut raw = vec![NOTE_ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{}+{}", self.name, hex::encode(self.id), B64.encode(raw))
    }

    pub fn from_text(text: &str) -> Result<VerifierKey, KeyError> {
        let (name, id_hex, raw) = split_key_text(text.trim())?;
        check_key_name(name)?;
        let public: [u8; 32] = raw
            .try_into()
            .map_err(|_| KeyError::Malformed("the public key must hold 32 bytes".into()))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&public)
            .map_err(|_| KeyError::Malformed("not a valid Ed25519 public key".into()))?;
        let id = key_id(name, &public);
        check_id(&id_hex, id)?;
        Ok(VerifierKey {
            name: name.to_string(),
            id,
            key,
        })
    }

    /// Strict RFC 8032 verification (no malleable or small-order signatures accepted).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        self.key.verify_strict(message, &sig).is_ok() && self.key.verify(message, &sig).is_ok()
    }
}

/// `<name>+<8 hex>+<base64>` → (name, id hex, bytes after the 0x01 algorithm byte).
/// Split from the left: names never contain '+', base64 may.
fn split_key_text(text: &str) -> Result<(&str, String, Vec<u8>), KeyError> {
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(KeyError::Malformed("expected <name>+<key id>+<key>".into()));
    };
    if id.len() != 8
        || !id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return Err(KeyError::Malformed(
            "the key id must be 8 lowercase hex digits".into(),
        ));
    }
    let raw = B64
        .decode(b64)
        .map_err(|e| KeyError::Malformed(format!("base64: {e}")))?;
    match raw.split_first() {
        Some((&NOTE_ALG_ED25519, rest)) => Ok((name, id.to_string(), rest.to_vec())),
        Some((alg, _)) => Err(KeyError::Malformed(format!(
            "unsupported signature type 0x{alg:02x} (only 0x01, Ed25519)"
        ))),
        None => Err(KeyError::Malformed("empty key".into())),
    }
}

fn check_id(text: &str, computed: [u8; 4]) -> Result<(), KeyError> {
    let computed = hex::encode(computed);
    if text != computed {
        return Err(KeyError::WrongKeyId {
            text: text.to_string(),
            computed,
        });
    }
    Ok(())
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: [u8; 4],
    pub signature: Vec<u8>,
}

/// A parsed (not yet verified) signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The signed text, ending in a newline.
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

/// Signs `text` (which must end in a newline) and returns the whole note.
pub fn sign_note(text: &str, key: &SigningKey) -> String {
    let sig = key.sign(text.as_bytes());
    let mut raw = key.key_id().to_vec();
    raw.extend_from_slice(&sig);
    format!(
        "{text}\n{SIG_LINE_PREFIX}{} {}\n",
        key.name(),
        B64.encode(raw)
    )
}

fn note_err(msg: impl Into<String>) -> DecodeError {
    DecodeError::Note(msg.into())
}

/// Parses a signed note from untrusted bytes (formats/signed-note.md §2).
pub fn parse_note(bytes: &[u8]) -> Result<Note, DecodeError> {
    if bytes.len() > NOTE_BYTES_MAX {
        return Err(DecodeError::Limit {
            what: "note bytes".into(),
            got: bytes.len() as u64,
            max: NOTE_BYTES_MAX as u64,
        });
    }
    let all = std::str::from_utf8(bytes).map_err(|_| note_err("not valid UTF-8"))?;
    if all.chars().any(|c| c.is_ascii_control() && c != '\n') {
        return Err(note_err("control character other than newline"));
    }
    let split = all
        .rfind("\n\n")
        .ok_or_else(|| note_err("no blank line between text and signatures"))?;
    let (text, sigs) = (&all[..=split], &all[split + 2..]);
    if !sigs.ends_with('\n') {
        return Err(note_err("the last signature line must end in a newline"));
    }
    let mut signatures = Vec::new();
    for line in sigs.trim_end_matches('\n').split('\n') {
        if signatures.len() == NOTE_SIGNATURES_MAX {
            return Err(DecodeError::Limit {
                what: "note signatures".into(),
                got: NOTE_SIGNATURES_MAX as u64 + 1,
                max: NOTE_SIGNATURES_MAX as u64,
            });
        }
        let rest = line.strip_prefix(SIG_LINE_PREFIX).ok_or_else(|| {
            note_err(format!(
                "signature line {line:?} must start with an em dash and a space"
            ))
        })?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or_else(|| note_err("signature line needs a key name and a signature"))?;
        check_key_name(name).map_err(|e| note_err(e.to_string()))?;
        let raw = B64
            .decode(b64)
            .map_err(|e| note_err(format!("signature base64: {e}")))?;
        if raw.len() < 5 {
            return Err(note_err(
                "a signature holds a 4-byte key id and at least one byte",
            ));
        }
        let (id, sig) = raw.split_at(4);
        let key_id = <[u8; 4]>::try_from(id).map_err(|_| note_err("short key id"))?;
        signatures.push(NoteSignature {
            name: name.to_string(),
            key_id,
            signature: sig.to_vec(),
        });
    }
    Ok(Note {
        text: text.to_string(),
        signatures,
    })
}

/// Verifies that `note` carries a valid signature by `key`. Signatures by other keys are
/// ignored, as signed-note says; a signature that claims to be by `key` and fails is an error.
pub fn verify_note(note: &Note, key: &VerifierKey) -> Result<(), NoteError> {
    let mut found = false;
    for s in &note.signatures {
        if s.name == key.name() && s.key_id == key.key_id() {
            if !key.verify(note.text.as_bytes(), &s.signature) {
                return Err(NoteError::BadSignature {
                    name: key.name().to_string(),
                    key_id: hex::encode(key.key_id()),
                });
            }
            found = true;
        }
    }
    if !found {
        return Err(NoteError::NotSignedByKey {
            name: key.name().to_string(),
            key_id: hex::encode(key.key_id()),
        });
    }
    Ok(())
}
