//! Nodes for the tests to call: one served in-process, the real `zegel serve` binary, and a
//! moto S3 server for the cold tier.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use zegel::clock::SystemClock;

use super::{ZEGEL, key_of, must, setup_tenant};

/// A node served in-process on 127.0.0.1:0, stopped on drop.
pub struct InProcess {
    pub base: String,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A test node's configuration, its data inside `dir`: checkpoints every 100 ms, and tiering
/// only when asked (`POST /v1/tier/run`), in moves of the default size unless the caller
/// sets `tier.move_packages`.
pub fn manual_tier_config(dir: &Path) -> zegel::server::Config {
    zegel::server::Config {
        data_dir: dir.join("data"),
        checkpoint_interval_ms: 100,
        tier: zegel::tier::mover::TierConfig {
            interval_secs: 0,
            ..Default::default()
        },
        ..Default::default()
    }
}

impl InProcess {
    pub fn start() -> InProcess {
        InProcess::start_with(512)
    }

    /// A node that handles at most `in_flight_max` requests at once.
    pub fn start_with(in_flight_max: usize) -> InProcess {
        let dir = tempfile::tempdir().unwrap();
        let cfg = zegel::server::Config {
            data_dir: dir.path().join("data"),
            checkpoint_interval_ms: 100,
            in_flight_max,
            ..Default::default()
        };
        InProcess::start_config(dir, cfg, Arc::new(SystemClock))
    }

    /// A node over [`manual_tier_config`] (its data directory inside `dir`) on `clock`.
    pub fn start_manual(dir: tempfile::TempDir, clock: &zegel::clock::ManualClock) -> InProcess {
        let cfg = manual_tier_config(dir.path());
        InProcess::start_config(dir, cfg, Arc::new(clock.clone()))
    }

    /// A node over `cfg` (its data directory inside `dir`) on `clock`.
    pub fn start_config(
        dir: tempfile::TempDir,
        cfg: zegel::server::Config,
        clock: Arc<dyn zegel::clock::Clock>,
    ) -> InProcess {
        let (tx_addr, rx_addr) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move {
                let (state, _) = zegel::server::open(&cfg, clock).unwrap();
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx_addr.send(listener.local_addr().unwrap()).unwrap();
                zegel::server::serve(state, cfg.in_flight_max, listener, async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            });
        });
        let addr = rx_addr.recv().unwrap();
        InProcess {
            base: format!("http://{addr}"),
            dir,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Stops the node and hands back its directory.
    pub fn stop(mut self) -> tempfile::TempDir {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("data/admin.token"))
            .unwrap()
            .trim()
            .to_string()
    }

    /// Tenant `acme` with archive `ebox` under [`AGREEMENT`], and a key of each role.
    pub fn acme(&self) -> Acme {
        let admin = self.admin_token();
        let (producer, consumer, auditor) = setup_tenant(&self.base, &admin, "acme", "ebox");
        let archivist = key_of(&self.base, &admin, "acme", "archivist");
        Acme {
            base: self.base.clone(),
            admin,
            producer,
            consumer,
            auditor,
            archivist,
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A node's base URL and the tokens of [`InProcess::acme`]: its admin and one key of each role.
pub struct Acme {
    pub base: String,
    pub admin: String,
    pub producer: String,
    pub consumer: String,
    pub auditor: String,
    pub archivist: String,
}

/// The real `zegel serve` process on an ephemeral port.
pub struct Process {
    pub child: Child,
    pub base: String,
}

impl Process {
    pub fn start(data: &Path) -> Process {
        Process::start_args(data, &[])
    }

    /// `zegel serve` with more arguments.
    pub fn start_args(data: &Path, extra: &[&str]) -> Process {
        let mut child = Command::new(ZEGEL)
            .args([
                "serve",
                "--data",
                data.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
                "--checkpoint-interval-ms",
                "50",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let base = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("zegel serve exited before listening"))
                .unwrap();
            if let Some(rest) = line.strip_prefix("zegel: listening on ") {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Process { child, base }
    }

    /// `kill -9`: no shutdown, no flush.
    pub fn kill9(mut self) {
        let _ = self.child.kill(); // SIGKILL on Unix
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real S3-compatible server (moto, from PyPI; scripts/test.sh installs the pinned version)
/// on a free 127.0.0.1 port, stopped on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Moto::start_on(port)
    }

    /// A moto server on `port` (e.g. again, after one was stopped).
    pub fn start_on(port: u16) -> Moto {
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "python3 -m moto.server (pip install 'moto[server]'; scripts/test.sh installs it)",
            );
        // Owned by the guard from here on, so every path (even the panic) kills and reaps it.
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return moto;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("moto did not listen on {} within 10 s", moto.endpoint);
    }

    pub fn create_bucket(&self, name: &str) {
        let r = must("PUT", &format!("{}/{name}", self.endpoint), None, b"");
        assert_eq!(r.status, 200, "create bucket: {}", r.text());
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
