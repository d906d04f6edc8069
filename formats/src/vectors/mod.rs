//! Conformance vectors (formats/vectors/README.md): the vector file format and its runner,
//! used by tests and by `zegel-verify vectors`, and the public test keys.
//!
//! The generator (`generate`, behind the cargo feature `vectors`) writes them,
//! deterministically; they are checked in under `formats/vectors/`.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::hash::Hash;
use crate::note::{SigningKey, VerifierKey};
use crate::verify::{
    self, CertificateInputs, Outcome, PackageInputs, Report, SegmentInputs, TileInputs,
};

#[cfg(feature = "vectors")]
mod generate;
#[cfg(feature = "vectors")]
pub use generate::{SampleLog, generate, generate_bundles};

/// Identifies the vector file format.
pub const VECTOR_FORMAT: &str = "zegel-vector/v1";

/// One conformance scenario, as stored in `formats/vectors/<scenario>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vector {
    pub format: String,
    pub scenario: String,
    pub description: String,
    /// `package`, `chain`, `consistency`, `segment`, `tiles`, `certificate` or `bundle`.
    pub check: String,
    /// `ok`, `decode-error`, `bad-digest`, `bad-signature`, `bad-origin`, `bad-proof`,
    /// `bad-link`, `bad-receipt`, `bad-disposition`, `bad-key`, `bad-bundle` or `bad-report`.
    pub expect: String,
    /// Name of the first check that fails, when `expect` is not `ok`.
    pub failed_check: Option<String>,
    /// Inputs: `public_key` (verifier key text), and base64 (`package`, `proof`, `receipt`,
    /// `segment`, `certificate`, `bundle`; arrays `packages`, `leaves`, `headers`; the values
    /// of the object `tiles`),
    /// note text (`checkpoint`, `old_checkpoint`, `new_checkpoint`) or object keys
    /// (`segment_key`, `checkpoint_key`, the names of `tiles`).
    pub inputs: BTreeMap<String, serde_json::Value>,
}

/// Why a vector could not be run at all (as opposed to giving an outcome).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("vector {scenario}: {problem}")]
pub struct VectorError {
    pub scenario: String,
    pub problem: String,
}

impl Vector {
    fn input_str(&self, name: &str) -> Result<Option<&str>, VectorError> {
        match self.inputs.get(name) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.error(format!("input {name} must be a string"))),
        }
    }

    fn input_b64(&self, name: &str) -> Result<Option<Vec<u8>>, VectorError> {
        self.input_str(name)?
            .map(|s| {
                B64.decode(s)
                    .map_err(|e| self.error(format!("input {name}: {e}")))
            })
            .transpose()
    }

    /// An array of base64 strings.
    fn input_b64_list(&self, name: &str) -> Result<Vec<Vec<u8>>, VectorError> {
        let Some(serde_json::Value::Array(items)) = self.inputs.get(name) else {
            return Err(self.error(format!("input {name} must be an array")));
        };
        items
            .iter()
            .map(|item| {
                let s = item
                    .as_str()
                    .ok_or_else(|| self.error(format!("{name} holds strings")))?;
                B64.decode(s)
                    .map_err(|e| self.error(format!("input {name}: {e}")))
            })
            .collect()
    }

    fn error(&self, problem: String) -> VectorError {
        VectorError {
            scenario: self.scenario.clone(),
            problem,
        }
    }

    /// Runs the vector's check and returns the report; compare `report.outcome()` with
    /// `expect`, and the first failure's name with `failed_check`.
    pub fn run(&self) -> Result<Report, VectorError> {
        if self.format != VECTOR_FORMAT {
            return Err(self.error(format!("unknown format {:?}", self.format)));
        }
        let key_text = self
            .input_str("public_key")?
            .ok_or_else(|| self.error("missing input public_key".into()))?;
        let key = VerifierKey::from_text(key_text).map_err(|e| self.error(e.to_string()))?;
        match self.check.as_str() {
            "package" => self.run_package(&key),
            "consistency" => {
                let proof = self
                    .input_b64("proof")?
                    .ok_or_else(|| self.error("missing input proof".into()))?;
                Ok(verify::verify_consistency(
                    self.need_str("old_checkpoint")?.as_bytes(),
                    self.need_str("new_checkpoint")?.as_bytes(),
                    &proof,
                    &key,
                ))
            }
            "chain" => {
                let packages = self.input_b64_list("packages")?;
                let refs: Vec<&[u8]> = packages.iter().map(Vec::as_slice).collect();
                Ok(verify::verify_chain(&refs))
            }
            "segment" => self.run_segment(),
            "bundle" => {
                let bundle = self
                    .input_b64("bundle")?
                    .ok_or_else(|| self.error("missing input bundle".into()))?;
                Ok(verify::verify_bundle(&bundle, &key))
            }
            "certificate" => {
                let certificate = self
                    .input_b64("certificate")?
                    .ok_or_else(|| self.error("missing input certificate".into()))?;
                Ok(verify::verify_certificate(CertificateInputs {
                    certificate: &certificate,
                    key: &key,
                }))
            }
            "tiles" => self.run_tiles(&key),
            other => Err(self.error(format!("unknown check {other:?}"))),
        }
    }

    /// A string input that the check needs.
    fn need_str(&self, name: &str) -> Result<&str, VectorError> {
        self.input_str(name)?
            .ok_or_else(|| self.error(format!("missing input {name}")))
    }

    /// The `package` check: a sealed package with its optional proof, checkpoint and receipt.
    fn run_package(&self, key: &VerifierKey) -> Result<Report, VectorError> {
        let sealed = self
            .input_b64("package")?
            .ok_or_else(|| self.error("missing input package".into()))?;
        let proof = self.input_b64("proof")?;
        let receipt = self.input_b64("receipt")?;
        let checkpoint = self.input_str("checkpoint")?;
        Ok(verify::verify_package(PackageInputs {
            sealed: &sealed,
            proof: proof.as_deref(),
            checkpoint: checkpoint.map(str::as_bytes),
            receipt: receipt.as_deref(),
            key,
        }))
    }

    /// The `segment` check: a cold segment under its key, with the log's leaves and the
    /// headers expected in it.
    fn run_segment(&self) -> Result<Report, VectorError> {
        let segment = self
            .input_b64("segment")?
            .ok_or_else(|| self.error("missing input segment".into()))?;
        let leaves = self
            .input_b64_list("leaves")?
            .iter()
            .map(|l| Hash::from_slice(l))
            .collect::<Option<Vec<Hash>>>()
            .ok_or_else(|| self.error("leaves holds 32-byte hashes".into()))?;
        let headers = self.input_b64_list("headers")?;
        let leaf = |seq: u64| {
            usize::try_from(seq)
                .ok()
                .and_then(|i| leaves.get(i))
                .copied()
        };
        Ok(verify::verify_segment(SegmentInputs {
            key: self.need_str("segment_key")?,
            segment: &segment,
            leaf: &leaf,
            expected_headers: Some(&headers),
        }))
    }

    /// The `tiles` check: a checkpoint copy and the tile objects of a bucket, by key.
    fn run_tiles(&self, key: &VerifierKey) -> Result<Report, VectorError> {
        let Some(serde_json::Value::Object(items)) = self.inputs.get("tiles") else {
            return Err(self.error("input tiles must be an object".into()));
        };
        let mut tiles = BTreeMap::new();
        for (name, value) in items {
            let bytes = value
                .as_str()
                .and_then(|s| B64.decode(s).ok())
                .ok_or_else(|| self.error(format!("tile {name}: not base64")))?;
            tiles.insert(name.clone(), bytes);
        }
        Ok(verify::verify_tiles(TileInputs {
            checkpoint_key: self.need_str("checkpoint_key")?,
            checkpoint: self.need_str("checkpoint")?.as_bytes(),
            tiles: &tiles,
            key,
        }))
    }

    /// Runs the vector and compares with its expectation; `Err` explains a mismatch.
    pub fn check_expectation(&self) -> Result<Report, VectorError> {
        let report = self.run()?;
        let expected = Outcome::parse(&self.expect)
            .ok_or_else(|| self.error(format!("unknown expectation {:?}", self.expect)))?;
        let failed = report.first_failure().map(|c| c.name.clone());
        if report.outcome() != expected || failed != self.failed_check {
            return Err(self.error(format!(
                "expected {} at {:?}, got {} at {:?} ({})",
                self.expect,
                self.failed_check,
                report.outcome().as_str(),
                failed,
                report.first_failure().map_or("", |c| c.detail.as_str())
            )));
        }
        Ok(report)
    }
}

/// The fixed test keys. Their seeds are public: never use them for anything real.
pub fn test_key() -> SigningKey {
    SigningKey::from_seed("zegel.test", [7; 32]).unwrap_or_else(|_| unreachable_key())
}

#[cfg(feature = "vectors")]
pub(crate) fn other_key() -> SigningKey {
    SigningKey::from_seed("zegel.test", [9; 32]).unwrap_or_else(|_| unreachable_key())
}

fn unreachable_key() -> SigningKey {
    // "zegel.test" is a valid key name; this branch exists only to avoid a panic path.
    SigningKey::from_seed("x", [0; 32]).unwrap_or_else(|_| std::process::abort())
}

/// The file name of a vector.
pub fn file_name(v: &Vector) -> String {
    format!("{}.json", v.scenario)
}

/// The exact file contents of a vector: pretty JSON and a final newline.
pub fn file_contents(v: &Vector) -> String {
    // A vector is strings, numbers and booleans: encoding it cannot fail.
    #[allow(clippy::disallowed_methods)]
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
