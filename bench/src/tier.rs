//! `zegel-bench tier`: tiering figures of the real server process on the local filesystem —
//! throughput of a move (MB/s of raw content), cold bytes beside `zstd -3` of the same rows
//! concatenated, and single-row read latency from the cold tier beside the hot tier.
//! Measured, never asserted; written to docs/BENCHMARKS.md.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::report::Figure;
use crate::server::{
    Server, agent, bench_tenant, drive, expect, ingest_batches, message_ids, percentile, row_sip,
};

#[derive(Debug, Clone)]
pub struct TierBenchOptions {
    /// NDJSON rows from ../shared/bench/gen_rows.py.
    pub rows: PathBuf,
    /// Single-row reads in each tier (keys spread evenly over the log, so that each cold read
    /// is the first touch of its block).
    pub reads: usize,
    /// Scratch directory (the server's data).
    pub scratch: PathBuf,
    /// `[tier]` settings to try instead of the defaults (TOML lines, e.g. `zstd_level = 15`).
    pub tier_settings: Vec<String>,
}

/// `zstd -LEVEL` of the rows file: (compressed bytes, seconds).
fn zstd(level: u32, file: &std::path::Path) -> Result<(u64, f64), String> {
    let start = Instant::now();
    let out = std::process::Command::new("zstd")
        .args([format!("-{level}").as_str(), "-c", "-q"])
        .arg(file)
        .output()
        .map_err(|e| format!("zstd: {e} (apt-get install zstd)"))?;
    if !out.status.success() {
        return Err(format!(
            "zstd failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok((out.stdout.len() as u64, start.elapsed().as_secs_f64()))
}

pub fn run(opts: &TierBenchOptions, progress: &mut dyn FnMut(&str)) -> Result<Vec<Figure>, String> {
    let rows = crate::report::read_rows(&opts.rows)?;
    let sips: Vec<String> = rows.iter().map(|r| row_sip(r)).collect::<Result<_, _>>()?;
    let rows_bytes: u64 = rows.iter().map(|r| r.len() as u64 + 1).sum();
    let _ = std::fs::remove_dir_all(&opts.scratch);
    std::fs::create_dir_all(&opts.scratch).map_err(|e| e.to_string())?;
    progress("baseline: zstd -3 of the rows");
    let (zstd_bytes, zstd_secs) = zstd(3, &opts.rows)?;
    progress("baseline: zstd -19 of the rows");
    let (_, zstd19_secs) = zstd(19, &opts.rows)?;

    // Everything is due at once (hot period 0 days); tiering runs only when asked.
    let config = opts.scratch.join("bench.toml");
    std::fs::write(
        &config,
        format!("[tier]\n{}\n", opts.tier_settings.join("\n")),
    )
    .map_err(|e| e.to_string())?;
    let config = config.to_string_lossy().into_owned();
    let args = [
        "--hot-days",
        "0",
        "--tier-interval-secs",
        "0",
        "--config",
        config.as_str(),
    ];
    let data = opts.scratch.join("data");
    let server = Server::start_with(&data, &args)?;
    let base = server.base.clone();
    let admin = server.admin_token()?;
    let (producer, consumer) = bench_tenant(&server, &["tier"])?;
    progress("ingest");
    let addr = base.trim_start_matches("http://").to_string();
    ingest_batches(&addr, &producer, "tier", &sips, 1000, 4)?;
    let keys = Arc::new(message_ids(&rows));
    let reads = opts.reads.min(keys.len()).max(1);
    let stride = (keys.len() / reads).max(1);
    let read_plan = |ks: Arc<Vec<String>>| -> crate::server::Plan {
        Arc::new(move |i| {
            let k = ks.get(i * stride).cloned().unwrap_or_default();
            (
                "GET",
                format!("/v1/archives/tier/records/{k}"),
                Vec::new(),
                200,
            )
        })
    };
    progress("hot reads");
    let (_, hot) = drive(1, reads, &addr, &consumer, read_plan(keys.clone()))?;

    progress("tiering");
    let started = Instant::now();
    let report = expect(
        &agent(),
        "POST",
        &format!("{base}/v1/tier/run"),
        &admin,
        b"",
        200,
    )?;
    let secs = started.elapsed().as_secs_f64();
    if report
        .get("errors")
        .unwrap_or(&serde_json::Value::Null)
        .as_array()
        .is_some_and(|e| !e.is_empty())
    {
        return Err(format!("tiering failed: {report}"));
    }
    // Sums over this archive's moves (the access log moves too, and is left out).
    let moved = |f: &dyn Fn(&serde_json::Value) -> u64| -> u64 {
        report
            .get("moves")
            .and_then(|m| m.as_array())
            .map(|m| m.iter().filter(|m| m["archive"] == "tier").map(f).sum())
            .unwrap_or(0)
    };
    let n = |m: &serde_json::Value, k: &str| m.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
    let raw = moved(&|m| n(m, "raw_bytes"));
    let cold = moved(&|m| n(m, "cold_bytes"));
    let packages = moved(&|m| n(m, "end") - n(m, "first"));
    drop(server);

    progress("cold reads (restarted server: empty caches)");
    let server = Server::start_with(&data, &args)?;
    let addr = server.base.trim_start_matches("http://").to_string();
    let (_, cold_lat) = drive(1, reads, &addr, &consumer, read_plan(keys.clone()))?;
    drop(server);
    let _ = std::fs::remove_dir_all(&opts.scratch);

    let mb = |b: u64| b as f64 / 1e6;
    Ok(vec![
        Figure {
            what: format!(
                "tiering {packages} packages (rows with their sealed headers) to the local filesystem: encode, write, fsync, read back, re-hash, evict"
            ),
            value: format!(
                "**{:.1} MB/s** of raw content ({:.1} MB in {:.1} s, {:.0} packages/s)",
                mb(raw) / secs,
                mb(raw),
                secs,
                packages as f64 / secs
            ),
            baseline: format!(
                "the rows file alone, one thread: `zstd -3` {:.1} MB/s, `zstd -19` {:.1} MB/s",
                mb(rows_bytes) / zstd_secs,
                mb(rows_bytes) / zstd19_secs
            ),
        },
        Figure {
            what: "cold bytes: every segment object, headers included".into(),
            value: format!(
                "**{:.2} MB = {:.3} × zstd -3** ({:.1} % of the raw content)",
                mb(cold),
                cold as f64 / zstd_bytes as f64,
                100.0 * cold as f64 / raw.max(1) as f64
            ),
            baseline: format!(
                "`zstd -3` of the {} rows concatenated: {:.2} MB (target: cold ≤ 1.15 ×)",
                rows.len(),
                mb(zstd_bytes)
            ),
        },
        Figure {
            what: format!(
                "single-row read by key, one client, {reads} keys spread over the log (each read access-logged durably)"
            ),
            value: format!(
                "cold, first touch of each block: p50 {:.1} ms, **p99 {:.1} ms**",
                percentile(&cold_lat, 0.5),
                percentile(&cold_lat, 0.99)
            ),
            baseline: format!(
                "hot, same keys: p50 {:.1} ms, p99 {:.1} ms",
                percentile(&hot, 0.5),
                percentile(&hot, 0.99)
            ),
        },
    ])
}
