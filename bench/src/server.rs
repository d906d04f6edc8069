//! `zegel-bench server`: ingest and read figures of the real server process (`zegel serve`
//! from beside this executable, started on 127.0.0.1 with a fresh data directory), driven by
//! a load generator in this process on the same machine, beside a same-run baseline that
//! writes the same rows raw into RocksDB in synced batches. Measured, never asserted; written
//! to docs/BENCHMARKS.md.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::report::Figure;
use zegel::store::{Batch, Store, cf};

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
    /// Concurrent clients of a second read phase: reads wait for a durable access-log entry,
    /// so at `clients` they are bound by sync latency, not by the machine.
    pub read_clients: usize,
    /// Whole runs; the figures are those of the run with the median batch rate, and a row
    /// lists every run's rates (this machine's disk and neighbours vary from run to run).
    pub runs: usize,
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

/// Tenant `bench` on `server` (as its bootstrap admin) with producer and consumer keys and
/// `archives` under the benchmark agreement; returns (producer, consumer) tokens.
pub(crate) fn bench_tenant(server: &Server, archives: &[&str]) -> Result<(String, String), String> {
    let (a, base) = (agent(), server.base.as_str());
    let admin = server.admin_token()?;
    let (a, admin) = (&a, admin.as_str());
    expect(
        a,
        "POST",
        &format!("{base}/v1/tenants"),
        admin,
        br#"{"tenant":"bench"}"#,
        201,
    )?;
    let key = |role: &str| -> Result<String, String> {
        let j = expect(
            a,
            "POST",
            &format!("{base}/v1/tenants/bench/keys"),
            admin,
            format!(r#"{{"role":"{role}"}}"#).as_bytes(),
            201,
        )?;
        j.get("token")
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .ok_or("no token".into())
    };
    let (archivist, producer, consumer) = (key("archivist")?, key("producer")?, key("consumer")?);
    for archive in archives {
        expect(
            a,
            "PUT",
            &format!("{base}/v1/archives/{archive}/agreement"),
            &archivist,
            BENCH_AGREEMENT.as_bytes(),
            201,
        )?;
    }
    Ok((producer, consumer))
}

/// Sends `sips` to `archive` in NDJSON batches of `batch_rows` over `clients` connections;
/// returns seconds and batch latencies (ms, sorted).
pub(crate) fn ingest_batches(
    addr: &str,
    producer: &str,
    archive: &str,
    sips: &[String],
    batch_rows: usize,
    clients: usize,
) -> Result<(f64, Vec<f64>), String> {
    let batches: Arc<Vec<Vec<u8>>> = Arc::new(
        sips.chunks(batch_rows.max(1))
            .map(|c| {
                let mut b = c.join("\n").into_bytes();
                b.push(b'\n');
                b
            })
            .collect(),
    );
    let path = format!("/v1/archives/{archive}/records/batch");
    let bs = batches.clone();
    drive(
        clients,
        batches.len(),
        addr,
        producer,
        Arc::new(move |i| {
            (
                "POST",
                path.clone(),
                bs.get(i).cloned().unwrap_or_default(),
                201,
            )
        }),
    )
}

/// The record keys (`message_id`) of gen_rows rows, in order.
pub(crate) fn message_ids(rows: &[String]) -> Vec<String> {
    rows.iter()
        .filter_map(|r| {
            serde_json::from_str::<serde_json::Value>(r)
                .ok()
                .and_then(|v| v.get("message_id")?.as_str().map(str::to_string))
        })
        .collect()
}

/// A `zegel serve` child process, killed on drop.
pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
    pub(crate) data: PathBuf,
}

impl Server {
    /// CPU seconds (user + system) the server process has used so far, from `/proc`: beside
    /// wall time, a figure that other load on the machine does not inflate.
    pub(crate) fn cpu_secs(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // Fields after the command name (which may hold spaces) start at its closing ')'.
        let rest = stat.get(stat.rfind(')')? + 2..)?;
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
        // Linux reports these in USER_HZ ticks, 100 per second on every architecture.
        Some(ticks / 100.0)
    }

    /// The bootstrap admin token the server wrote into its data directory.
    pub(crate) fn admin_token(&self) -> Result<String, String> {
        std::fs::read_to_string(self.data.join("admin.token"))
            .map(|t| t.trim().to_string())
            .map_err(|e| format!("admin token: {e}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(data: &Path) -> Result<Server, String> {
        Server::start_with(data, &[])
    }

    /// `zegel serve` on `data` with more arguments.
    pub(crate) fn start_with(data: &Path, extra: &[&str]) -> Result<Server, String> {
        let exe = crate::binaries::sibling(crate::binaries::ZEGEL)?;
        let mut child = Command::new(exe)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(extra)
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

    pub(crate) fn rss_kib(&self, field: &str) -> u64 {
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

pub(crate) fn agent() -> ureq::Agent {
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

pub(crate) fn expect(
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

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(0.0)
}

/// The i-th request of a load phase: method, path, body, and the status that means done.
pub(crate) type Plan = Arc<dyn Fn(usize) -> (&'static str, String, Vec<u8>, u16) + Send + Sync>;

/// A keep-alive HTTP/1.1 connection of the load generator. Minimal on purpose: the server
/// always sends Content-Length, and the generator shares two cores with the server, so every
/// cycle it spends is a cycle the figures lose (ureq on 64 threads took a whole core).
struct Conn {
    s: tokio::io::BufStream<tokio::net::TcpStream>,
    line: String,
}

impl Conn {
    async fn connect(addr: &str) -> Result<Conn, String> {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Conn {
            s: tokio::io::BufStream::new(tcp),
            line: String::new(),
        })
    }

    async fn request(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), String> {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        let io = |e: std::io::Error| format!("{method} {path}: {e}");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        self.s.write_all(head.as_bytes()).await.map_err(io)?;
        self.s.write_all(body).await.map_err(io)?;
        self.s.flush().await.map_err(io)?;
        self.line.clear();
        self.s.read_line(&mut self.line).await.map_err(io)?;
        let status = self
            .line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| format!("{method} {path}: bad status line {:?}", self.line))?;
        let mut length = None;
        loop {
            self.line.clear();
            if self.s.read_line(&mut self.line).await.map_err(io)? == 0 {
                return Err(format!("{method} {path}: connection closed"));
            }
            let l = self.line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((name, value)) = l.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>().ok();
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    return Err(format!(
                        "{method} {path}: chunked responses are not expected"
                    ));
                }
            }
        }
        let mut out = vec![0u8; length.ok_or_else(|| format!("{method} {path}: no length"))?];
        self.s.read_exact(&mut out).await.map_err(io)?;
        Ok((status, out))
    }
}

/// Sends requests 0..n over `clients` keep-alive connections from one thread; returns
/// seconds and per-request latencies (ms, sorted), or the first unexpected answer.
pub(crate) fn drive(
    clients: usize,
    n: usize,
    addr: &str,
    token: &str,
    plan: Plan,
) -> Result<(f64, Vec<f64>), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let next = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..clients {
            let (next, plan, addr, token) = (
                next.clone(),
                plan.clone(),
                addr.to_string(),
                token.to_string(),
            );
            tasks.spawn(async move {
                let mut conn = Conn::connect(&addr).await?;
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok::<Vec<f64>, String>(lat);
                    }
                    let (method, path, body, ok) = plan(i);
                    let t = Instant::now();
                    let (status, answer) = conn.request(method, &path, &token, &body).await?;
                    if status != ok {
                        return Err(format!(
                            "{method} {path}: {status} {}",
                            String::from_utf8_lossy(&answer)
                        ));
                    }
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                }
            });
        }
        let mut all = Vec::new();
        while let Some(done) = tasks.join_next().await {
            all.extend(done.map_err(|e| e.to_string())??);
        }
        let secs = start.elapsed().as_secs_f64();
        all.sort_by(f64::total_cmp);
        Ok((secs, all))
    })
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

/// Runs the server benchmark `opts.runs` times; returns the median run's figures and a row
/// with the rates of every run.
pub fn run(
    opts: &ServerBenchOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<Figure>, String> {
    let mut runs = Vec::new();
    for n in 0..opts.runs.max(1) {
        progress(&format!("run {} of {}", n + 1, opts.runs.max(1)));
        runs.push(run_once(opts, progress)?);
    }
    runs.sort_by(|a, b| a.1[0].total_cmp(&b.1[0]));
    let list = |i: usize| {
        runs.iter()
            .map(|r| format!("{:.0}", r.1.get(i).copied().unwrap_or(0.0)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let spread = Figure {
        what: format!("every run ({}), sorted by batch rate", runs.len()),
        value: format!(
            "batch rows/s: {}; single rows/s: {}; reads/s ({} clients): {}; reads/s ({} clients): {}",
            list(0),
            list(1),
            opts.clients,
            list(2),
            opts.read_clients,
            list(3)
        ),
        baseline: "the rows above are the median run".into(),
    };
    let mid = runs.len() / 2;
    let mut figures = runs.swap_remove(mid).0;
    figures.push(spread);
    Ok(figures)
}

/// The figures of one run and its (batch, single, read, wide read) rates.
type Run = (Vec<Figure>, [f64; 4]);

fn run_once(opts: &ServerBenchOptions, progress: &mut dyn FnMut(&str)) -> Result<Run, String> {
    let rows = crate::report::read_rows(&opts.rows)?;
    let sips: Vec<String> = rows.iter().map(|r| row_sip(r)).collect::<Result<_, _>>()?;
    let raw_bytes: usize = rows.iter().map(String::len).sum();
    let _ = std::fs::remove_dir_all(&opts.scratch);
    std::fs::create_dir_all(&opts.scratch).map_err(|e| e.to_string())?;
    let mut figures = Vec::new();

    progress("baseline: raw RocksDB, synced batches");
    let raw_rate = raw_rocksdb(&opts.scratch.join("raw"), &rows, opts.batch_rows)?;

    progress("starting the server");
    let server = Server::start(&opts.scratch.join("data"))?;
    let (producer, consumer) = bench_tenant(&server, &["batch", "single"])?;

    progress("batch ingest");
    let addr = server.base.trim_start_matches("http://").to_string();
    let (secs, batch_lat) = ingest_batches(
        &addr,
        &producer,
        "batch",
        &sips,
        opts.batch_rows,
        opts.batch_clients,
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
    let ss = single.clone();
    let (secs, lat) = drive(
        opts.clients,
        n_single,
        &addr,
        &producer,
        Arc::new(move |i| {
            (
                "POST",
                "/v1/archives/single/records".to_string(),
                ss.get(i).cloned().unwrap_or_default().into_bytes(),
                201,
            )
        }),
    )?;
    let single_rate = n_single as f64 / secs;
    let rss_single = server.rss_kib("VmRSS");
    figures.push(Figure {
        what: format!(
            "single-row ingest, {n_single} rows, {} concurrent clients, durable",
            opts.clients
        ),
        value: format!(
            "**{:.0} rows/s**; p50 {:.1} ms, **p99 {:.1} ms**",
            single_rate,
            percentile(&lat, 0.5),
            percentile(&lat, 0.99)
        ),
        baseline: format!("raw RocksDB synced batches: {raw_rate:.0} rows/s"),
    });

    progress("hot reads by key");
    let keys = Arc::new(message_ids(&rows));
    let ks = keys.clone();
    let n_keys = keys.len().max(1);
    let (secs, lat) = drive(
        opts.clients,
        opts.reads,
        &addr,
        &consumer,
        Arc::new(move |i| {
            // A fixed stride through the keys: every read a different row, spread over the log.
            let k = ks.get((i * 7919) % n_keys).cloned().unwrap_or_default();
            (
                "GET",
                format!("/v1/archives/batch/records/{k}"),
                Vec::new(),
                200,
            )
        }),
    )?;
    let read_rate = opts.reads as f64 / secs;
    figures.push(Figure {
        what: format!(
            "hot read by key, {} reads, {} concurrent clients (each read access-logged durably)",
            opts.reads, opts.clients
        ),
        value: format!(
            "**{:.0} reads/s**; p50 {:.1} ms, p99 {:.1} ms",
            read_rate,
            percentile(&lat, 0.5),
            percentile(&lat, 0.99)
        ),
        baseline: "-".into(),
    });
    progress("hot reads by key, more clients");
    let ks = keys.clone();
    let (secs, lat) = drive(
        opts.read_clients,
        opts.reads,
        &addr,
        &consumer,
        Arc::new(move |i| {
            // Another stride, so this phase reads other rows than the first.
            let k = ks.get((i * 7927 + 1) % n_keys).cloned().unwrap_or_default();
            (
                "GET",
                format!("/v1/archives/batch/records/{k}"),
                Vec::new(),
                200,
            )
        }),
    )?;
    let wide_rate = opts.reads as f64 / secs;
    figures.push(Figure {
        what: format!(
            "hot read by key, {} reads, {} concurrent clients (each read access-logged durably)",
            opts.reads, opts.read_clients
        ),
        value: format!(
            "**{:.0} reads/s**; p50 {:.1} ms, p99 {:.1} ms",
            wide_rate,
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
    Ok((figures, [batch_rate, single_rate, read_rate, wide_rate]))
}
