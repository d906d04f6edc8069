//! A proof bundle as a BagIt bag (RFC 8493), for archives and courts whose tools speak BagIt:
//! the bundle file itself, its HTML report, and its parts as separate files under `data/`,
//! with SHA-256 payload and tag manifests.

use std::path::Path;

use sha2::{Digest, Sha256};
use zegel_format::bundle::Bundle;

/// Payload files of a bag: (path under `data/`, bytes).
fn payload(bundle_bytes: &[u8], b: &Bundle) -> Vec<(String, Vec<u8>)> {
    let mut files = vec![
        ("bundle.zbundle".to_string(), bundle_bytes.to_vec()),
        ("report.html".to_string(), b.report.clone().into_bytes()),
        ("receipt.cbor".to_string(), b.receipt.clone()),
        ("inclusion-proof.cbor".to_string(), b.proof.clone()),
    ];
    if let Some(p) = &b.package {
        files.push((format!("package-{}.zpkg", b.seq), p.clone()));
    }
    for (i, c) in b.checkpoints.iter().enumerate() {
        files.push((format!("checkpoint-{i}.txt"), c.clone().into_bytes()));
    }
    for (i, c) in b.consistency.iter().enumerate() {
        files.push((format!("consistency-proof-{i}.cbor"), c.clone()));
    }
    for (i, k) in b.keys.iter().enumerate() {
        files.push((
            format!("key-{i}.pub"),
            format!("{}\n", k.key.to_text()).into_bytes(),
        ));
    }
    files
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes the bag of `bundle_bytes` into `dir` (created; must not exist or be empty).
/// Whether a bag can be written into `dir`: absent, or an empty directory.
pub fn check_bag_dir(dir: &Path) -> Result<(), String> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .next()
            .is_some()
    {
        return Err(format!(
            "{} exists and is not empty: a bag goes into a new or empty directory",
            dir.display()
        ));
    }
    Ok(())
}

pub fn write_bag(dir: &Path, bundle_bytes: &[u8], today: &str) -> Result<Vec<String>, String> {
    let b = Bundle::decode(bundle_bytes).map_err(|e| format!("not a proof bundle: {e}"))?;
    check_bag_dir(dir)?;
    let data = dir.join("data");
    std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
    let write = |p: &Path, bytes: &[u8]| {
        std::fs::write(p, bytes).map_err(|e| format!("{}: {e}", p.display()))
    };
    let mut manifest = String::new();
    let mut oxum_bytes = 0u64;
    let files = payload(bundle_bytes, &b);
    for (name, bytes) in &files {
        write(&data.join(name), bytes)?;
        manifest.push_str(&format!("{}  data/{name}\n", hex_sha256(bytes)));
        oxum_bytes += bytes.len() as u64;
    }
    let bagit = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";
    let info = format!(
        "Source-Organization: Zegel archive\nExternal-Description: Proof bundle of package {} of archive {}/{} (formats/bundle.md); verify with: zegel-verify bundle --key KEY data/bundle.zbundle\nExternal-Identifier: {}/{}/{}\nBagging-Date: {today}\nPayload-Oxum: {oxum_bytes}.{}\n",
        b.seq,
        b.tenant,
        b.archive,
        b.tenant,
        b.archive,
        b.seq,
        files.len()
    );
    let tags = [
        ("bagit.txt", bagit.to_string()),
        ("bag-info.txt", info),
        ("manifest-sha256.txt", manifest),
    ];
    let mut tagmanifest = String::new();
    for (name, text) in &tags {
        write(&dir.join(name), text.as_bytes())?;
        tagmanifest.push_str(&format!("{}  {name}\n", hex_sha256(text.as_bytes())));
    }
    write(&dir.join("tagmanifest-sha256.txt"), tagmanifest.as_bytes())?;
    Ok(files
        .into_iter()
        .map(|(n, _)| format!("data/{n}"))
        .collect())
}
