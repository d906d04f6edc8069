//! `zegel-bench audit`: integrity-audit throughput of the real server process over hot and
//! cold data (half the rows moved to the cold tier), in MB/s of content re-hashed (header
//! bytes plus objects), beside the same-run pipeline `zstd -dc | sha256sum` over the rows.
//! Measured, never asserted; written to docs/BENCHMARKS.md.

use std::path::PathBuf;
use std::time::Instant;

use crate::report::Figure;
use crate::server::{
    Server, agent, bench_tenant, expect, ingest_batches, message_ids, percentile, row_sip,
};

#[derive(Debug, Clone)]
pub struct AuditBenchOptions {
    /// NDJSON rows from ../shared/bench/gen_rows.py.
    pub rows: PathBuf,
    /// Scratch directory (the server's data).
    pub scratch: PathBuf,
}

/// Seconds of `zstd -dc FILE | sha256sum`, both cores available to the two processes.
fn zstd_sha256(file: &std::path::Path) -> Result<f64, String> {
    let start = Instant::now();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "zstd -dc -q '{}' | sha256sum",
            file.to_string_lossy().replace('\'', "'\\''")
        ))
        .output()
        .map_err(|e| format!("sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "zstd -dc | sha256sum failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(start.elapsed().as_secs_f64())
}

pub fn run(
    opts: &AuditBenchOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<Figure>, String> {
    let rows = crate::report::read_rows(&opts.rows)?;
    let sips: Vec<String> = rows.iter().map(|r| row_sip(r)).collect::<Result<_, _>>()?;
    let _ = std::fs::remove_dir_all(&opts.scratch);
    std::fs::create_dir_all(&opts.scratch).map_err(|e| e.to_string())?;
    progress("baseline: zstd -3 of the rows, then zstd -dc | sha256sum");
    let zst = opts.scratch.join("rows.ndjson.zst");
    let st = std::process::Command::new("zstd")
        .args(["-3", "-q", "-f", "-o"])
        .arg(&zst)
        .arg(&opts.rows)
        .status()
        .map_err(|e| format!("zstd: {e} (apt-get install zstd)"))?;
    if !st.success() {
        return Err("zstd -3 failed".into());
    }
    let rows_bytes = std::fs::metadata(&opts.rows)
        .map_err(|e| e.to_string())?
        .len();
    let pipe_secs = zstd_sha256(&zst)?;

    // Tiering only when asked, and no background scrub competing with the audit.
    let config = opts.scratch.join("bench.toml");
    std::fs::write(&config, "scrub_packages_per_sec = 0\n").map_err(|e| e.to_string())?;
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
    let (producer, consumer) = bench_tenant(&server, &["audit"])?;
    let a = agent();
    let auditor = expect(
        &a,
        "POST",
        &format!("{base}/v1/tenants/bench/keys"),
        &admin,
        br#"{"role":"auditor"}"#,
        201,
    )?
    .get("token")
    .and_then(|t| t.as_str())
    .map(str::to_string)
    .ok_or("no token")?;
    let addr = base.trim_start_matches("http://").to_string();
    let (first, second) = sips.split_at(sips.len() / 2);
    let half = first.len();
    progress("ingest the first half, move it to the cold tier");
    ingest_batches(&addr, &producer, "audit", first, 1000, 4)?;
    expect(&a, "POST", &format!("{base}/v1/tier/run"), &admin, b"", 200)?;
    progress("ingest the second half (stays hot)");
    ingest_batches(&addr, &producer, "audit", second, 1000, 4)?;

    // Audits and baseline pipelines alternate, so both see the same machine; the medians
    // are the figures.
    let runs = std::env::var("ZEGEL_BENCH_AUDIT_RUNS")
        .ok()
        .and_then(|r| r.parse::<usize>().ok())
        .unwrap_or(AUDIT_RUNS)
        .max(1);
    let mut audit_secs = Vec::new();
    let mut pipe_secs = vec![pipe_secs];
    let mut run = serde_json::Value::Null;
    for i in 0..runs {
        progress(&format!("audit {}/{runs}", i + 1));
        let started = Instant::now();
        let cpu = server.cpu_secs();
        run = audit(&a, &base, &auditor)?;
        let wall = started.elapsed().as_secs_f64();
        audit_secs.push(wall);
        if let (Some(before), Some(after)) = (cpu, server.cpu_secs()) {
            progress(&format!(
                "audit {}: {wall:.2} s, server CPU {:.2} s",
                i + 1,
                after - before
            ));
        }
        if i > 0 {
            pipe_secs.push(zstd_sha256(&zst)?);
        }
    }
    let all_audits = audit_secs
        .iter()
        .map(|s| format!("{s:.2}"))
        .collect::<Vec<_>>()
        .join(" / ");
    let all_pipes = pipe_secs
        .iter()
        .map(|s| format!("{s:.2}"))
        .collect::<Vec<_>>()
        .join(" / ");
    audit_secs.sort_by(f64::total_cmp);
    pipe_secs.sort_by(f64::total_cmp);
    let secs = percentile(&audit_secs, 0.5);
    let pipe_secs = percentile(&pipe_secs, 0.5);

    progress("reads by key while audits run, then the same reads without");
    let keys = message_ids(&rows);
    let beside = reads_beside_audits(&base, &consumer, &auditor, &keys)?;

    progress("bundle exports and zegel-verify bundle");
    let size = sips.len() as u64 + 1;
    let mut export_ms = Vec::new();
    let mut last = Vec::new();
    for i in 0..BUNDLES {
        // Spread over the log: cold and hot packages alike.
        let seq = 1 + i * (size - 1) / BUNDLES;
        let t = Instant::now();
        last = get_bytes(
            &a,
            &format!("{base}/v1/archives/audit/packages/{seq}/bundle"),
            &auditor,
        )?;
        export_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    export_ms.sort_by(f64::total_cmp);
    let keys = expect(&a, "GET", &format!("{base}/v1/keys"), &auditor, b"", 200)?;
    let key_text = keys
        .pointer("/keys/0/verifier_key")
        .and_then(|k| k.as_str())
        .ok_or("no key")?
        .to_string();
    drop(server);
    let key_file = opts.scratch.join("key.pub");
    let bundle_file = opts.scratch.join("one.zbundle");
    std::fs::write(&key_file, key_text).map_err(|e| e.to_string())?;
    std::fs::write(&bundle_file, &last).map_err(|e| e.to_string())?;
    let verifier = crate::binaries::sibling(crate::binaries::ZEGEL_VERIFY)?;
    let mut verify_ms = Vec::new();
    for _ in 0..VERIFY_RUNS {
        let t = Instant::now();
        let out = std::process::Command::new(&verifier)
            .arg("bundle")
            .arg("--key")
            .arg(&key_file)
            .arg(&bundle_file)
            .output()
            .map_err(|e| format!("{}: {e}", verifier.display()))?;
        verify_ms.push(t.elapsed().as_secs_f64() * 1e3);
        if !out.status.success() {
            return Err(format!(
                "zegel-verify refused the benchmark's bundle: {}",
                String::from_utf8_lossy(&out.stdout)
            ));
        }
    }
    verify_ms.sort_by(f64::total_cmp);
    let sha_ms = {
        let t = Instant::now();
        for _ in 0..VERIFY_RUNS {
            let st = std::process::Command::new("sha256sum")
                .arg(&bundle_file)
                .output()
                .map_err(|e| format!("sha256sum: {e}"))?;
            if !st.status.success() {
                return Err("sha256sum failed".into());
            }
        }
        t.elapsed().as_secs_f64() * 1e3 / VERIFY_RUNS as f64
    };
    let _ = std::fs::remove_dir_all(&opts.scratch);
    let n = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
    let p = run.get("packages").cloned().unwrap_or_default();
    let findings: u64 = run
        .get("counts")
        .and_then(|c| c.as_object())
        .map(|m| m.values().filter_map(|v| v.as_u64()).sum())
        .unwrap_or(0);
    if findings > 0 {
        return Err(format!("the benchmark's audit found problems: {run}"));
    }
    let mb = |b: u64| b as f64 / 1e6;
    // The same data as the baseline: the rows; the audit also re-hashes every header.
    let audit_mbs = mb(rows_bytes) / secs;
    let pipe_mbs = mb(rows_bytes) / pipe_secs;
    let bundle_figures = [
        beside,
        Figure {
            what: format!(
                "proof bundle export (`GET .../packages/{{seq}}/bundle`), {BUNDLES} packages spread over the log, one client, each read access-logged durably"
            ),
            value: format!(
                "p50 {:.1} ms, **p99 {:.1} ms** per bundle ({} bytes each)",
                percentile(&export_ms, 0.5),
                percentile(&export_ms, 0.99),
                last.len()
            ),
            baseline: "—".into(),
        },
        Figure {
            what: format!(
                "`zegel-verify bundle` of one row's bundle, whole process, {VERIFY_RUNS} runs"
            ),
            value: format!(
                "p50 **{:.1} ms**, p99 {:.1} ms",
                percentile(&verify_ms, 0.5),
                percentile(&verify_ms, 0.99)
            ),
            baseline: format!("`sha256sum` of the same file, whole process: {sha_ms:.1} ms"),
        },
    ];
    Ok(vec![Figure {
        what: format!(
            "full audit of {} packages ({} cold, {} hot): every stored leaf, header and object read and re-hashed (cold blocks from the cold store, not a cache), chain links, every stored inner node and the tree recomputed against every checkpoint and signed head",
            n(&p, "checked"),
            half,
            sips.len() - half
        ),
        value: format!(
            "**{audit_mbs:.1} MB/s** of rows ({:.1} MB of rows in {secs:.2} s, median of {runs} audits: {all_audits} s; {:.1} MB re-hashed with the headers) = **{:.0} %** of the baseline",
            mb(rows_bytes),
            mb(n(&p, "bytes")),
            100.0 * audit_mbs / pipe_mbs
        ),
        baseline: format!(
            "`zstd -dc | sha256sum` of the rows file (`zstd -3`), same run, alternating with the audits: {pipe_mbs:.1} MB/s ({:.1} MB in {pipe_secs:.2} s, median of {runs}: {all_pipes} s)",
            mb(rows_bytes)
        ),
    }]
    .into_iter()
    .chain(bundle_figures)
    .collect())
}

/// Audits run beside reads (`READ_AUDITS` of them); then latency of one client reading rows by
/// key while they run, against the same reads with no audit running.
fn reads_beside_audits(
    base: &str,
    reader: &str,
    auditor: &str,
    keys: &[String],
) -> Result<Figure, String> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    if keys.is_empty() {
        return Err("no message ids in the rows".into());
    }
    // Every read a different row, spread over the log (hot and cold).
    let read = |a: &ureq::Agent, i: usize| -> Result<f64, String> {
        let k = keys.get((i * 7919) % keys.len()).map_or("", String::as_str);
        let t = Instant::now();
        get_bytes(a, &format!("{base}/v1/archives/audit/records/{k}"), reader)?;
        Ok(t.elapsed().as_secs_f64() * 1e3)
    };
    let stop = Arc::new(AtomicBool::new(false));
    let (beside, audits) = std::thread::scope(|s| {
        let stop_reads = stop.clone();
        let reads = s.spawn(move || {
            let a = agent();
            let mut lat = Vec::new();
            while !stop_reads.load(Ordering::Relaxed) {
                lat.push(read(&a, lat.len())?);
            }
            Ok::<Vec<f64>, String>(lat)
        });
        let a = agent();
        let audits: Result<Vec<f64>, String> = (0..READ_AUDITS)
            .map(|_| {
                let t = Instant::now();
                audit(&a, base, auditor)?;
                Ok(t.elapsed().as_secs_f64())
            })
            .collect();
        stop.store(true, Ordering::Relaxed);
        let beside = reads
            .join()
            .map_err(|_| "the reading thread panicked".to_string());
        (beside, audits)
    });
    let (mut beside, audits) = (beside??, audits?);
    let a = agent();
    let mut alone = (0..beside.len())
        .map(|i| read(&a, i))
        .collect::<Result<Vec<f64>, String>>()?;
    beside.sort_by(f64::total_cmp);
    alone.sort_by(f64::total_cmp);
    let stat = |v: &[f64]| {
        format!(
            "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            percentile(v, 0.5),
            percentile(v, 0.99),
            v.last().copied().unwrap_or(0.0)
        )
    };
    Ok(Figure {
        what: format!(
            "reads by key (one client, each access-logged durably) while {READ_AUDITS} full audits run ({})",
            audits
                .iter()
                .map(|s| format!("{s:.2} s"))
                .collect::<Vec<_>>()
                .join(" / ")
        ),
        value: format!("{} reads: **{}**", beside.len(), stat(&beside)),
        baseline: format!("the same reads, no audit running: {}", stat(&alone)),
    })
}

/// One full audit through the API: start, then steps until it is finished; the finished run.
fn audit(a: &ureq::Agent, base: &str, auditor: &str) -> Result<serde_json::Value, String> {
    let mut run = expect(
        a,
        "POST",
        &format!("{base}/v1/archives/audit/audits"),
        auditor,
        b"",
        201,
    )?;
    let id = run
        .get("id")
        .and_then(|i| i.as_str())
        .unwrap_or_default()
        .to_string();
    while run.get("finished_ms").is_none_or(|f| f.is_null()) {
        run = expect(
            a,
            "POST",
            &format!("{base}/v1/archives/audit/audits/{id}/step"),
            auditor,
            br#"{"max_packages":100000}"#,
            200,
        )?;
    }
    Ok(run)
}

/// Full audits measured (alternating with the baseline); `ZEGEL_BENCH_AUDIT_RUNS` overrides.
const AUDIT_RUNS: usize = 9;

/// Audits run while one client reads rows by key.
const READ_AUDITS: usize = 5;

/// Bundles exported in the benchmark, and runs of the verifier.
const BUNDLES: u64 = 200;
const VERIFY_RUNS: usize = 20;

fn get_bytes(a: &ureq::Agent, url: &str, token: &str) -> Result<Vec<u8>, String> {
    let mut r = a
        .get(url)
        .header("authorization", format!("Bearer {token}"))
        .call()
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = r.status().as_u16();
    let body = r
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .map_err(|e| format!("GET {url}: {e}"))?;
    if status != 200 {
        return Err(format!(
            "GET {url}: {status} {}",
            String::from_utf8_lossy(&body)
        ));
    }
    Ok(body)
}
