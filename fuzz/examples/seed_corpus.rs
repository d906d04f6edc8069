//! Writes the seed corpora of the fuzz targets from the conformance vectors:
//! every base64 input of `formats/vectors/*.json` (and what is inside it: the decompressed
//! package CBOR, its header, a receipt's signed head, a checkpoint's body) goes to
//! `fuzz/corpus/<target>/`, where `cargo fuzz run <target>` picks it up.
//!
//!     cargo run --manifest-path fuzz/Cargo.toml --example seed_corpus
//!
//! The corpus is gitignored: it is regenerated from the vectors, which are the source.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use zegel_format::receipt::Receipt;
use zegel_format::vectors::{Vector, test_key};

/// Separates the parts of one input of the `verify` target (as in fuzz_targets/verify.rs).
const PART_SEPARATOR: &[u8] = b"\n--zegel-fuzz-part--\n";

/// Decompression limit for seeds: the zstd-over-limit vector is a bomb on purpose.
const SEED_RAW_MAX: usize = 1 << 20;

#[derive(Default)]
struct Corpus {
    /// target → file name → contents
    files: BTreeMap<&'static str, BTreeMap<String, Vec<u8>>>,
}

impl Corpus {
    fn add(&mut self, target: &'static str, name: String, bytes: Vec<u8>) {
        self.files.entry(target).or_default().insert(name, bytes);
    }

    fn add_package(&mut self, scenario: &str, what: &str, sealed: &[u8]) {
        self.add("sealed", format!("{scenario}-{what}.zst"), sealed.to_vec());
        let Ok(raw) = zstd::bulk::decompress(sealed, SEED_RAW_MAX) else {
            return;
        };
        // The sealed target also opens its input compressed, so the raw CBOR is a seed too.
        self.add("sealed", format!("{scenario}-{what}.cbor"), raw.clone());
        self.add("cbor", format!("{scenario}-{what}"), raw.clone());
        if let Some(header) = envelope_header(&raw) {
            self.add("header", format!("{scenario}-{what}"), header.clone());
            self.add("cbor", format!("{scenario}-{what}-header"), header);
        }
    }

    fn write(&self, root: &Path) -> std::io::Result<()> {
        for (target, files) in &self.files {
            let dir = root.join(target);
            std::fs::create_dir_all(&dir)?;
            for (name, bytes) in files {
                std::fs::write(dir.join(name), bytes)?;
            }
            println!("{}: {} seeds", dir.display(), files.len());
        }
        Ok(())
    }
}

/// The header bytes of the package envelope `[version, header, objects]`, without the
/// strict gate (negative vectors have headers it refuses, and they are the best seeds).
fn envelope_header(raw: &[u8]) -> Option<Vec<u8>> {
    let mut d = minicbor::Decoder::new(raw);
    d.array().ok()?;
    d.u64().ok()?;
    Some(d.bytes().ok()?.to_vec())
}

fn join_parts(mode: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![mode];
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(PART_SEPARATOR);
        }
        out.extend_from_slice(p);
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fuzz_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let vectors_dir = fuzz_dir.join("../formats/vectors");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&vectors_dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(format!("no vectors in {}", vectors_dir.display()).into());
    }

    let mut c = Corpus::default();
    c.add(
        "note",
        "test-key-private".into(),
        test_key().to_private_text().into_bytes(),
    );
    for path in &paths {
        let v: Vector = serde_json::from_str(&std::fs::read_to_string(path)?)?;
        let s = v.scenario.as_str();
        let text = |name: &str| v.inputs.get(name).and_then(|x| x.as_str());
        let b64 = |name: &str| -> Result<Option<Vec<u8>>, base64::DecodeError> {
            text(name).map(|t| B64.decode(t)).transpose()
        };

        if let Some(k) = text("public_key") {
            c.add("note", format!("{s}-public-key"), k.as_bytes().to_vec());
        }
        for name in ["checkpoint", "old_checkpoint", "new_checkpoint"] {
            if let Some(note) = text(name) {
                c.add("note", format!("{s}-{name}"), note.as_bytes().to_vec());
                if let Some(i) = note.rfind("\n\n") {
                    let body = note.get(..=i).unwrap_or_default();
                    c.add("note", format!("{s}-{name}-body"), body.as_bytes().to_vec());
                }
            }
        }
        let package = b64("package")?;
        if let Some(p) = &package {
            c.add_package(s, "package", p);
        }
        let mut chain = Vec::new();
        if let Some(serde_json::Value::Array(items)) = v.inputs.get("packages") {
            for (i, item) in items.iter().enumerate() {
                let p = B64.decode(item.as_str().unwrap_or_default())?;
                c.add_package(s, &format!("package-{i}"), &p);
                chain.push(p);
            }
        }
        let proof = b64("proof")?;
        if let Some(p) = &proof {
            c.add("proof", s.to_string(), p.clone());
            c.add("cbor", format!("{s}-proof"), p.clone());
        }
        let receipt = b64("receipt")?;
        if let Some(r) = &receipt {
            c.add("receipt", s.to_string(), r.clone());
            c.add("cbor", format!("{s}-receipt"), r.clone());
            if let Ok(decoded) = Receipt::decode(r) {
                let head = decoded.signed.head_bytes;
                c.add("receipt", format!("{s}-head"), head.clone());
                c.add("cbor", format!("{s}-receipt-head"), head);
            }
        }

        // Files a court receives whole: seeds of their own targets.
        match v.check.as_str() {
            "certificate" => {
                if let Some(b) = b64("certificate")? {
                    c.add("disposition", s.to_string(), b.clone());
                    c.add("cbor", format!("{s}-certificate"), b);
                }
                continue;
            }
            "bundle" => {
                if let Some(b) = b64("bundle")? {
                    c.add("bundle", s.to_string(), b.clone());
                    c.add("cbor", format!("{s}-bundle"), b);
                }
                continue;
            }
            // The segment target frames its input itself, and tiles are fixed-width hash
            // rows: neither vector is a seed as it stands.
            "segment" | "tiles" => continue,
            _ => {}
        }
        let seed = match v.check.as_str() {
            "package" => join_parts(
                b'p',
                &[
                    package.as_deref().unwrap_or_default(),
                    proof.as_deref().unwrap_or_default(),
                    text("checkpoint").unwrap_or_default().as_bytes(),
                    receipt.as_deref().unwrap_or_default(),
                ],
            ),
            "consistency" => join_parts(
                b'c',
                &[
                    text("old_checkpoint").unwrap_or_default().as_bytes(),
                    text("new_checkpoint").unwrap_or_default().as_bytes(),
                    proof.as_deref().unwrap_or_default(),
                ],
            ),
            "chain" => {
                let refs: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
                join_parts(b'h', &refs)
            }
            other => return Err(format!("{s}: unknown check {other:?}").into()),
        };
        c.add("verify", s.to_string(), seed);
    }
    c.write(&fuzz_dir.join("corpus"))?;
    Ok(())
}
