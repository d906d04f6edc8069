//! `zegel-bench formats`: the figures of the formats layer, each beside a same-run baseline.
//! Measured, never asserted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use zegel_format::hash::{Hash, leaf_hash};
use zegel_format::header::Kind;
use zegel_format::merkle::{self, MemoryTree};
use zegel_format::note::SigningKey;
use zegel_format::sip::{RECORD_MEDIA_TYPE, RECORD_OBJECT_NAME};

use zegel::seal::{LogWriter, Object, row_fields};

use crate::report::{Figure, read_rows};

/// Proofs generated and verified per tree size.
pub const BENCH_PROOFS: u64 = 20_000;
/// Size of each benchmark document.
pub const BENCH_DOC_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// NDJSON rows from ../shared/bench/gen_rows.py.
    pub rows: PathBuf,
    /// Tree sizes for the Merkle figures.
    pub tree_sizes: Vec<u64>,
    /// How many 1 MiB documents to seal.
    pub documents: usize,
    /// Scratch directory for baseline input files.
    pub scratch: PathBuf,
}

fn rate(count: f64, secs: f64) -> f64 {
    if secs > 0.0 {
        count / secs
    } else {
        f64::INFINITY
    }
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1_000_000.0
}

/// Seconds an external command takes on `file` (output discarded), or why it could not run.
fn time_tool(program: &str, args: &[&str], file: &Path) -> Result<f64, String> {
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("{program}: {e} (install it: apt-get install {program})"))?;
    if !status.success() {
        return Err(format!("{program} exited with {status}"));
    }
    Ok(start.elapsed().as_secs_f64())
}

fn baselines(file: &Path, bytes: usize) -> String {
    let one = |name: &str, prog: &str, args: &[&str]| match time_tool(prog, args, file) {
        Ok(s) => format!("{name} {:.0} MB/s", rate(mb(bytes), s)),
        Err(e) => format!("{name}: {e}"),
    };
    format!(
        "{}; {}",
        one("`sha256sum`", "sha256sum", &[]),
        one("`zstd -3 -T1`", "zstd", &["-3", "-T1", "-q", "-c"])
    )
}

/// Runs every formats benchmark and returns the figures.
pub fn run(opts: &BenchOptions, progress: &mut dyn FnMut(&str)) -> Result<Vec<Figure>, String> {
    let mut figures = Vec::new();
    let rows = read_rows(&opts.rows)?;
    std::fs::create_dir_all(&opts.scratch).map_err(|e| e.to_string())?;

    for &n in &opts.tree_sizes {
        progress(&format!("merkle: {n} leaves"));
        merkle_figures(n, &mut figures)?;
    }

    progress(&format!("sealing {} rows", rows.len()));
    let raw: usize = rows.iter().map(|r| r.len() + 1).sum();
    let rows_file = opts.scratch.join("rows.ndjson");
    std::fs::write(&rows_file, rows.join("\n") + "\n").map_err(|e| e.to_string())?;
    let key = SigningKey::from_seed("bench.zegel", [1; 32]).map_err(|e| e.to_string())?;
    let mut log = LogWriter::new(key.clone(), "bench", "rows").map_err(|e| e.to_string())?;
    log.append_agreement(1, b"{}", 0)
        .map_err(|e| e.to_string())?;
    let parsed: Vec<(String, BTreeMap<_, _>)> = rows
        .iter()
        .map(|r| {
            row_fields(
                r,
                "message_id",
                &["sender".into(), "sent_at".into(), "status".into()],
            )
        })
        .collect::<Result<_, _>>()?;
    let start = Instant::now();
    let mut sealed_bytes = 0usize;
    for (row, (k, meta)) in rows.iter().zip(parsed) {
        let obj = Object {
            name: RECORD_OBJECT_NAME,
            media_type: RECORD_MEDIA_TYPE,
            bytes: row.as_bytes(),
        };
        let p = log
            .append(Kind::Record, Some(k), meta, &[obj], None, 0)
            .map_err(|e| e.to_string())?;
        sealed_bytes += p.sealed.len();
    }
    let secs = start.elapsed().as_secs_f64();
    figures.push(Figure {
        what: format!(
            "seal {} rows of ~{} B (hash, header, leaf, zstd-3 per row, tree append)",
            rows.len(),
            raw / rows.len()
        ),
        value: format!(
            "{:.0} MB/s, {:.0} rows/s; sealed/raw {:.2}",
            rate(mb(raw), secs),
            rate(rows.len() as f64, secs),
            sealed_bytes as f64 / raw as f64
        ),
        baseline: baselines(&rows_file, raw),
    });

    progress(&format!("sealing {} documents of 1 MiB", opts.documents));
    // Disjoint 1 MiB slices of the row text, so that no document repeats another and the
    // baselines over their concatenation find no cross-document matches.
    let all = rows.join("\n");
    let bytes = all.as_bytes();
    let span = bytes.len().saturating_sub(BENCH_DOC_BYTES).max(1);
    let docs: Vec<Vec<u8>> = (0..opts.documents)
        .filter_map(|i| {
            let start = (i * BENCH_DOC_BYTES) % span;
            bytes
                .get(start..start + BENCH_DOC_BYTES)
                .map(<[u8]>::to_vec)
        })
        .collect();
    let docs_file = opts.scratch.join("documents.bin");
    std::fs::write(&docs_file, docs.concat()).map_err(|e| e.to_string())?;
    let mut log = LogWriter::new(key, "bench", "docs").map_err(|e| e.to_string())?;
    log.append_agreement(1, b"{}", 0)
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut sealed_bytes = 0usize;
    for (i, d) in docs.iter().enumerate() {
        let obj = Object {
            name: "document.json",
            media_type: "application/json",
            bytes: d,
        };
        let p = log
            .append(
                Kind::Document,
                Some(format!("DOC-{i}")),
                BTreeMap::new(),
                &[obj],
                None,
                0,
            )
            .map_err(|e| e.to_string())?;
        sealed_bytes += p.sealed.len();
    }
    let secs = start.elapsed().as_secs_f64();
    let raw = docs.len() * BENCH_DOC_BYTES;
    figures.push(Figure {
        what: format!("seal {} documents of 1 MiB (JSON text)", docs.len()),
        value: format!(
            "{:.0} MB/s; sealed/raw {:.2}",
            rate(mb(raw), secs),
            sealed_bytes as f64 / raw as f64
        ),
        baseline: baselines(&docs_file, raw),
    });
    let _ = std::fs::remove_file(docs_file);
    let _ = std::fs::remove_file(rows_file);
    Ok(figures)
}

fn merkle_figures(n: u64, figures: &mut Vec<Figure>) -> Result<(), String> {
    let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let start = Instant::now();
    let mut tree = MemoryTree::new();
    for h in &leaves {
        tree.push(*h);
    }
    let append_secs = start.elapsed().as_secs_f64();
    // Baseline: the same number of bare SHA-256 node hashes, the floor of any append.
    let start = Instant::now();
    let mut acc = Hash::ZERO;
    for h in &leaves {
        acc = zegel_format::hash::node_hash(&acc, h);
    }
    let hash_secs = start.elapsed().as_secs_f64();
    std::hint::black_box(acc);
    figures.push(Figure {
        what: format!("Merkle append, {n} leaves (in memory)"),
        value: format!("{:.2} M leaves/s", rate(n as f64, append_secs) / 1e6),
        baseline: format!(
            "one SHA-256 node hash per leaf: {:.2} M/s",
            rate(n as f64, hash_secs) / 1e6
        ),
    });
    // Deterministic spread of indices over the whole tree.
    let indices: Vec<u64> = (0..BENCH_PROOFS)
        .map(|i| (i.wrapping_mul(2_654_435_761)) % n)
        .collect();
    let root = tree.root();
    let start = Instant::now();
    let proofs: Vec<Vec<Hash>> = indices
        .iter()
        .map(|&i| merkle::inclusion_proof(&tree, i, n))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("inclusion proof: {e}"))?;
    let gen_secs = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let ok = indices
        .iter()
        .zip(&proofs)
        .filter(|(i, p)| {
            leaves
                .get(**i as usize)
                .is_some_and(|l| merkle::verify_inclusion(l, **i, n, p, &root).is_ok())
        })
        .count();
    let verify_secs = start.elapsed().as_secs_f64();
    let per = |s: f64| s * 1e6 / BENCH_PROOFS as f64;
    figures.push(Figure {
        what: format!(
            "inclusion proof at {n} leaves ({} proofs of {} hashes)",
            BENCH_PROOFS,
            proofs.first().map_or(0, Vec::len)
        ),
        value: format!(
            "generate {:.1} µs, verify {:.1} µs ({ok}/{BENCH_PROOFS} verified)",
            per(gen_secs),
            per(verify_secs)
        ),
        baseline: {
            let len = proofs.first().map_or(0, Vec::len);
            let per_hash_us = hash_secs * 1e6 / n as f64;
            format!(
                "{len} bare SHA-256 node hashes: {:.1} µs",
                per_hash_us * len as f64
            )
        },
    });
    Ok(())
}
