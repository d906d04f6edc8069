//! `zegel bench server`: ingest and read figures of the real server process (this binary's
//! `serve`, started on 127.0.0.1 with a fresh data directory), driven by a load generator in
//! this process on the same machine, beside a same-run baseline that writes the same rows raw
//! into RocksDB in synced batches. Measured, never asserted; written to docs/BENCHMARKS.md.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::bench::Figure;
use crate::store::{Batch, Store, cf};

/// The agreement of the benchmark archives: the gen_rows fields that matter, `sender` indexed.
pub const BENCH_AGREEMENT: &str = r#"{
  "version": 1,
  "title": "benchmark e-Box rows",
  "record_key": "message_id",
  "metadata": {
    "sent_at": {"type": "datetime", "required": true},
    "sender": {"type": "enum", "required": true,
               "values": ["RSZ", "ONSS", "RIZIV", "FOD Financien", "RVA", "FAMIFED", "SPF Finances"]}
  },
  "retention": {"after": "sent_at", "years": 10},
  "indexed": ["sender"]
}"#;

#[derive(Debug, Clone)]
pub struct ServerBenchOptions {
    /// NDJSON rows from ../shared/bench/gen_rows.py.
    pub rows: PathBuf,
    /// Rows per batch request.
    pub batch_rows: usize,
    /// Concurrent clients sending batches.
    pub batch_clients: usize,
    /// Concurrent clients sending single rows (and reading).
    pub clients: usize,
    /// Single rows to send (taken from the start of the rows file).
    pub single_rows: usize,
    /// Reads by key.
    pub reads: usize,
    /// Scratch directory (the server's data and the baseline database).
    pub scratch: PathBuf,
}

/// Turns one gen_rows row into a row SIP: key = message_id, metadata = sent_at and sender.
pub fn row_sip(row: &str) -> Result<String, String> {
    let v: serde_json::Value = serde_json::from_str(row).map_err(|e| e.to_string())?;
    let field = |f: &str| {
        v.get(f)
            .and_then(|x| x.as_str())
            .map(str::to_string)
            .ok_or_else(|| format!("row without {f}"))
    };
    Ok(format!(
        r#"{{"key":{},"record":{row},"metadata":{{"sent_at":{},"sender":{}}}}}"#,
        serde_json::to_string(&field("message_id")?).map_err(|e| e.to_string())?,
        serde_json::to_string(&field("sent_at")?).map_err(|e| e.to_string())?,
        serde_json::to_string(&field("sender")?).map_err(|e| e.to_string())?,
    ))
}

/// A `zegel serve` child process, killed on drop.
struct Server {
    child: Child,
    base: String,
    data: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(data: &Path) -> Result<Server, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = Command::new(exe)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("start the server: {e}"))?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let base = loop {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Some(rest) = l.split("listening on ").nth(1) {
                        break rest
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_string();
                    }
                }
                _ => return Err("the server stopped before it listened".into()),
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Server {
            child,
            base,
            data: data.to_path_buf(),
        })
    }

    fn rss_kib(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(field))
                    .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
            })
            .unwrap_or(0)
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: &str,
    body: Vec<u8>,
) -> Result<(u16, Vec<u8>), String> {
    let req = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {token}"))
        .body(body)
        .map_err(|e| e.to_string())?;
    let mut r = agent.run(req).map_err(|e| format!("{method} {url}: {e}"))?;
    let status = r.status().as_u16();
    let body = r
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    Ok((status, body))
}

fn expect(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: &str,
    body: &[u8],
    ok: u16,
) -> Result<serde_json::Value, String> {
    let (status, body) = send(agent, method, url, token, body.to_vec())?;
    if status != ok {
        return Err(format!(
            "{method} {url}: {status} {}",
            String::from_utf8_lossy(&body)
        ));
    }
    Ok(serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(0.0)
}

/// One unit of load: the i-th request, sent with a client's agent.
type Work = Arc<dyn Fn(&ureq::Agent, usize) -> Result<(), String> + Send + Sync>;

/// Runs `work(i)` for i in 0..n on `threads` threads; returns seconds and per-call latencies
/// (ms), or the first error.
fn drive(threads: usize, n: usize, work: Work) -> Result<(f64, Vec<f64>), String> {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let next = next.clone();
            let work = work.clone();
            std::thread::spawn(move || -> Result<Vec<f64>, String> {
                let agent = agent();
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok(lat);
                    }
                    let t = Instant::now();
                    work(&agent, i)?;
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.join().map_err(|_| "a client thread panicked")??);
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    Ok((secs, all))
}

/// Baseline: the same row bytes written raw into RocksDB (our store, no sealing), in synced
/// batches of `batch` rows. Returns rows per second.
fn raw_rocksdb(dir: &Path, rows: &[String], batch: usize) -> Result<f64, String> {
    let store = Store::open(dir).map_err(|e| e.to_string())?;
    let start = Instant::now();
    for (n, chunk) in rows.chunks(batch.max(1)).enumerate() {
        let mut b = Batch::default();
        for (i, r) in chunk.iter().enumerate() {
            let key = ((n * batch + i) as u64).to_be_bytes();
            b.put(cf::RECORDS, &key, r.as_bytes());
        }
        store.commit(b).map_err(|e| e.to_string())?;
    }
    Ok(rows.len() as f64 / start.elapsed().as_secs_f64())
}

/// Runs the server benchmark; returns the figures.
pub fn run(
    opts: &ServerBenchOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<Figure>, String> {
    let rows = crate::bench::read_rows(&opts.rows)?;
    let sips: Vec<String> = rows.iter().map(|r| row_sip(r)).collect::<Result<_, _>>()?;
    let raw_bytes: usize = rows.iter().map(String::len).sum();
    let _ = std::fs::remove_dir_all(&opts.scratch);
    std::fs::create_dir_all(&opts.scratch).map_err(|e| e.to_string())?;
    let mut figures = Vec::new();

    progress("baseline: raw RocksDB, synced batches");
    let raw_rate = raw_rocksdb(&opts.scratch.join("raw"), &rows, opts.batch_rows)?;

    progress("starting the server");
    let server = Server::start(&opts.scratch.join("data"))?;
    let base = server.base.clone();
    let admin = std::fs::read_to_string(server.data.join("admin.token"))
        .map_err(|e| e.to_string())?
        .trim()
        .to_string();
    let a = agent();
    expect(
        &a,
        "POST",
        &format!("{base}/v1/tenants"),
        &admin,
        br#"{"tenant":"bench"}"#,
        201,
    )?;
    let key = |role: &str| -> Result<String, String> {
        let j = expect(
            &a,
            "POST",
            &format!("{base}/v1/tenants/bench/keys"),
            &admin,
            format!(r#"{{"role":"{role}"}}"#).as_bytes(),
            201,
        )?;
        j.get("token")
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .ok_or("no token".into())
    };
    let (archivist, producer, consumer) = (key("archivist")?, key("producer")?, key("consumer")?);
    for archive in ["batch", "single"] {
        expect(
            &a,
            "PUT",
            &format!("{base}/v1/archives/{archive}/agreement"),
            &archivist,
            BENCH_AGREEMENT.as_bytes(),
            201,
        )?;
    }

    progress("batch ingest");
    let batches: Arc<Vec<Vec<u8>>> = Arc::new(
        sips.chunks(opts.batch_rows.max(1))
            .map(|c| {
                let mut b = c.join("\n").into_bytes();
                b.push(b'\n');
                b
            })
            .collect(),
    );
    let url = format!("{base}/v1/archives/batch/records/batch");
    let (p, bs) = (producer.clone(), batches.clone());
    let (secs, batch_lat) = drive(
        opts.batch_clients,
        batches.len(),
        Arc::new(move |agent, i| {
            let body = bs.get(i).cloned().unwrap_or_default();
            match send(agent, "POST", &url, &p, body)? {
                (201, _) => Ok(()),
                (s, b) => Err(format!("batch: {s} {}", String::from_utf8_lossy(&b))),
            }
        }),
    )?;
    let batch_rate = rows.len() as f64 / secs;
    let rss_batch = server.rss_kib("VmRSS");
    figures.push(Figure {
        what: format!(
            "batch ingest, {} rows in {}-row NDJSON batches, {} clients, durable",
            rows.len(),
            opts.batch_rows,
            opts.batch_clients
        ),
        value: format!(
            "**{:.0} rows/s** ({:.1} MB/s of rows); batch p50 {:.0} ms, p99 {:.0} ms",
            batch_rate,
            raw_bytes as f64 / 1e6 / secs,
            percentile(&batch_lat, 0.5),
            percentile(&batch_lat, 0.99)
        ),
        baseline: format!(
            "raw RocksDB, same rows, synced {}-row batches: {:.0} rows/s",
            opts.batch_rows, raw_rate
        ),
    });

    progress("single-row ingest");
    let n_single = opts.single_rows.min(sips.len());
    let single: Arc<Vec<String>> = Arc::new(sips.iter().take(n_single).cloned().collect());
    let url = format!("{base}/v1/archives/single/records");
    let (p, ss) = (producer.clone(), single.clone());
    let (secs, lat) = drive(
        opts.clients,
        n_single,
        Arc::new(move |agent, i| {
            let body = ss.get(i).cloned().unwrap_or_default().into_bytes();
            match send(agent, "POST", &url, &p, body)? {
                (201, _) => Ok(()),
                (s, b) => Err(format!("row: {s} {}", String::from_utf8_lossy(&b))),
            }
        }),
    )?;
    let rss_single = server.rss_kib("VmRSS");
    figures.push(Figure {
        what: format!(
            "single-row ingest, {n_single} rows, {} concurrent clients, durable",
            opts.clients
        ),
        value: format!(
            "**{:.0} rows/s**; p50 {:.1} ms, **p99 {:.1} ms**",
            n_single as f64 / secs,
            percentile(&lat, 0.5),
            percentile(&lat, 0.99)
        ),
        baseline: format!("raw RocksDB synced batches: {raw_rate:.0} rows/s"),
    });

    progress("hot reads by key");
    let keys: Arc<Vec<String>> = Arc::new(
        rows.iter()
            .filter_map(|r| {
                serde_json::from_str::<serde_json::Value>(r)
                    .ok()
                    .and_then(|v| v.get("message_id")?.as_str().map(str::to_string))
            })
            .collect(),
    );
    let base_read = format!("{base}/v1/archives/batch/records/");
    let (c, ks) = (consumer.clone(), keys.clone());
    let n_keys = keys.len().max(1);
    let (secs, lat) = drive(
        opts.clients,
        opts.reads,
        Arc::new(move |agent, i| {
            // A fixed stride through the keys: every read a different row, spread over the log.
            let k = ks.get((i * 7919) % n_keys).cloned().unwrap_or_default();
            match send(agent, "GET", &format!("{base_read}{k}"), &c, Vec::new())? {
                (200, _) => Ok(()),
                (s, b) => Err(format!("read {k}: {s} {}", String::from_utf8_lossy(&b))),
            }
        }),
    )?;
    figures.push(Figure {
        what: format!(
            "hot read by key, {} reads, {} concurrent clients (each read access-logged durably)",
            opts.reads, opts.clients
        ),
        value: format!(
            "**{:.0} reads/s**; p50 {:.1} ms, p99 {:.1} ms",
            opts.reads as f64 / secs,
            percentile(&lat, 0.5),
            percentile(&lat, 0.99)
        ),
        baseline: "-".into(),
    });
    figures.push(Figure {
        what: "server memory (resident)".into(),
        value: format!(
            "after batch ingest {:.0} MiB; after single-row ingest {:.0} MiB; after reads {:.0} MiB; peak {:.0} MiB",
            rss_batch as f64 / 1024.0,
            rss_single as f64 / 1024.0,
            server.rss_kib("VmRSS") as f64 / 1024.0,
            server.rss_kib("VmHWM") as f64 / 1024.0
        ),
        baseline: "-".into(),
    });
    drop(server);
    let _ = std::fs::remove_dir_all(&opts.scratch);
    Ok(figures)
}
