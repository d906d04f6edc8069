//! Starting a node: configuration (defaults < TOML file < environment < flags, each setting
//! documented once in [`Config`]), the data directory, the signing key, the bootstrap admin
//! token, and `serve(listener, shutdown)`.

use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::api::{self, AppState};
use crate::archive::archives::Archives;
use crate::clock::{Clock, SystemClock};
use crate::cold::{ColdConfig, ColdStore};
use crate::keyfile;
use crate::limits::SCRUB_PACKAGES_PER_SEC_MAX;
use crate::limits::{
    CHECKPOINT_INTERVAL_MS_MAX, CHECKPOINT_INTERVAL_MS_MIN, USAGE_INTERVAL_SECS_MAX,
};
use crate::store::Store;
use crate::tenant::Tenants;
use crate::tier::mover::{TierConfig, Tierer};

/// Every setting of `zegel serve`. In a TOML file the keys are these field names.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Data directory: RocksDB (`hot/`), the signing key, the admin token. Default `./zegel-data`.
    pub data_dir: PathBuf,
    /// Address to listen on. Default `127.0.0.1:8080`.
    pub listen: String,
    /// Name of the signing key = the log name in checkpoint origins. Default `zegel.local`.
    pub log_name: String,
    /// Milliseconds between checkpoints of archives that grew. Default 1000.
    pub checkpoint_interval_ms: u64,
    /// Most API requests handled at once; beyond it requests get 503 with Retry-After.
    /// Default 512.
    pub in_flight_max: usize,
    /// The cold tier (`[cold]` table). Default: the local directory `DATA_DIR/cold`.
    pub cold: Option<ColdConfig>,
    /// Tiering (`[tier]` table): hot period, pace, move size.
    pub tier: TierConfig,
    /// Seconds between usage snapshots (request counts are stored then). Default 60.
    pub usage_interval_secs: u64,
    /// Packages the background scrub re-checks per second, across archives (0: off).
    /// Default 20.
    pub scrub_packages_per_sec: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            data_dir: PathBuf::from("./zegel-data"),
            listen: "127.0.0.1:8080".into(),
            log_name: "zegel.local".into(),
            checkpoint_interval_ms: 1000,
            in_flight_max: crate::limits::IN_FLIGHT_REQUESTS_MAX,
            cold: None,
            tier: TierConfig::default(),
            usage_interval_secs: 60,
            scrub_packages_per_sec: 20,
        }
    }
}

/// Settings given on the command line or in the environment (each overrides the file).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    pub log_name: Option<String>,
    pub checkpoint_interval_ms: Option<u64>,
    pub in_flight_max: Option<usize>,
    pub hot_days: Option<u64>,
    pub tier_interval_secs: Option<u64>,
}

/// Largest `in_flight_max` accepted.
pub const IN_FLIGHT_MAX_LIMIT: usize = 65_536;

impl Config {
    /// Builds the configuration: defaults, then the TOML file if given, then overrides.
    pub fn load(file: Option<&Path>, o: Overrides) -> anyhow::Result<Config> {
        let mut c = match file {
            Some(f) => {
                let text = std::fs::read_to_string(f)
                    .map_err(|e| anyhow::anyhow!("config {}: {e}", f.display()))?;
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("config {}: {e}", f.display()))?
            }
            None => Config::default(),
        };
        if let Some(v) = o.data_dir {
            c.data_dir = v;
        }
        if let Some(v) = o.listen {
            c.listen = v;
        }
        if let Some(v) = o.log_name {
            c.log_name = v;
        }
        if let Some(v) = o.checkpoint_interval_ms {
            c.checkpoint_interval_ms = v;
        }
        if let Some(v) = o.in_flight_max {
            c.in_flight_max = v;
        }
        if let Some(v) = o.hot_days {
            c.tier.hot_days = v;
        }
        if let Some(v) = o.tier_interval_secs {
            c.tier.interval_secs = v;
        }
        c.tier.check().map_err(anyhow::Error::msg)?;
        if !(1..=USAGE_INTERVAL_SECS_MAX).contains(&c.usage_interval_secs) {
            anyhow::bail!("usage_interval_secs must be between 1 and {USAGE_INTERVAL_SECS_MAX}");
        }
        if c.scrub_packages_per_sec > SCRUB_PACKAGES_PER_SEC_MAX {
            anyhow::bail!(
                "scrub_packages_per_sec must be between 0 and {SCRUB_PACKAGES_PER_SEC_MAX}"
            );
        }
        if !(1..=IN_FLIGHT_MAX_LIMIT).contains(&c.in_flight_max) {
            anyhow::bail!("in_flight_max must be between 1 and {IN_FLIGHT_MAX_LIMIT}");
        }
        if !(CHECKPOINT_INTERVAL_MS_MIN..=CHECKPOINT_INTERVAL_MS_MAX)
            .contains(&c.checkpoint_interval_ms)
        {
            anyhow::bail!(
                "checkpoint_interval_ms must be between {CHECKPOINT_INTERVAL_MS_MIN} and {CHECKPOINT_INTERVAL_MS_MAX}"
            );
        }
        zegel_format::note::check_key_name(&c.log_name)
            .map_err(|e| anyhow::anyhow!("log_name: {e}"))?;
        Ok(c)
    }
}

/// What opening the data directory did, for the operator.
#[derive(Debug, Clone)]
pub struct Opened {
    pub key_created: bool,
    pub admin_token_path: Option<PathBuf>,
    pub verifier_key: String,
}

/// Opens (creating on first start) the data directory and everything in it. Needs a tokio
/// runtime (the access log's writer is a task).
pub fn open(cfg: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<(AppState, Opened)> {
    crate::telemetry::prometheus();
    let dir = &cfg.data_dir;
    if !dir.exists() {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    }
    // The data directory holds the signing key and every archived byte: owner only.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    let (key, key_created) = keyfile::load_or_generate(&dir.join("signing.key"), &cfg.log_name)?;
    if key.name() != cfg.log_name {
        anyhow::bail!(
            "the signing key in {} is named {:?}, but log_name is {:?}",
            dir.display(),
            key.name(),
            cfg.log_name
        );
    }
    let store = Arc::new(
        Store::open(&dir.join("hot"))
            .map_err(|e| anyhow::anyhow!("{}: {e}", dir.join("hot").display()))?,
    );
    let token_path = dir.join("admin.token");
    let tenants = Tenants::new(store.clone());
    let created = tenants
        .bootstrap_admin(&token_path, clock.now_ms())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let verifier_key = key.verifier().to_text();
    let cold_cfg = cfg.cold.clone().unwrap_or_else(|| ColdConfig::Local {
        dir: dir.join("cold"),
    });
    let cold = ColdStore::open(&cold_cfg).map_err(|e| anyhow::anyhow!("{e}"))?;
    let archives = Arc::new(Archives::open(
        store,
        key,
        clock.clone(),
        Duration::from_millis(cfg.checkpoint_interval_ms),
        cold.clone(),
    )?);
    let tier = Arc::new(Tierer::new(
        archives.clone(),
        cold,
        cfg.tier.clone(),
        clock.clone(),
    ));
    Ok((
        AppState::new(archives, tenants, clock, tier),
        Opened {
            key_created,
            admin_token_path: created.then_some(token_path),
            verifier_key,
        },
    ))
}

/// Serves the API on `listener` until `shutdown` completes, then drains in-flight requests.
pub async fn serve(
    state: AppState,
    in_flight_max: usize,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(state, in_flight_max, 60, 0, listener, shutdown).await
}

/// [`serve`], with the background tiering, usage snapshots every `usage_interval_secs` and
/// the scrub at `scrub_packages_per_sec` (0: off).
pub async fn serve_with(
    state: AppState,
    in_flight_max: usize,
    usage_interval_secs: u64,
    scrub_packages_per_sec: u64,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let archives = state.archives.clone();
    let scrubbing = tokio::spawn(crate::audit::scrub::run(
        archives.clone(),
        state.holds.clone(),
        state.clock.clone(),
        scrub_packages_per_sec,
    ));
    let tier_background = state.tier.clone();
    // A disposal a crash interrupted is finished (or undone) before anything else moves.
    let (a, t) = (archives.clone(), state.tier.clone());
    let resumed = tokio::spawn(async move {
        let _moves = t.exclusive().await;
        let infos = match a.all() {
            Ok(infos) => infos,
            Err(e) => {
                tracing::error!(error = %e, "the archives could not be listed: interrupted disposals are finished at the next disposal instead");
                Vec::new()
            }
        };
        for info in infos {
            if let Err(e) = crate::retention::dispose::resume(&t, a.store(), info.id).await {
                tracing::warn!(archive = %info.archive, error = %e, "finishing an interrupted disposal failed; retried at the next one");
            }
        }
    });
    let tiering = tokio::spawn(async move {
        let _ = resumed.await;
        tier_background.run_background().await
    });
    let (usage, usage_archives, clock) =
        (state.usage.clone(), archives.clone(), state.clock.clone());
    let metering = tokio::spawn(async move {
        let period = Duration::from_secs(usage_interval_secs.max(1));
        loop {
            tokio::time::sleep(period).await;
            let (u, a, now) = (usage.clone(), usage_archives.clone(), clock.now_ms());
            let done = tokio::task::spawn_blocking(move || u.snapshot(&a, now)).await;
            if let Ok(Err(e)) = done {
                tracing::warn!(error = %e, "usage snapshot failed");
            }
        }
    });
    let (usage, clock, tier) = (state.usage.clone(), state.clock.clone(), state.tier.clone());
    // A `tier run` in flight stops after its current move, so shutdown does not wait for a
    // whole backlog.
    let shutdown = async move {
        shutdown.await;
        tier.stop();
    };
    let served = axum::serve(listener, api::router(state, in_flight_max))
        .with_graceful_shutdown(shutdown)
        .await;
    // Tiering stops at an await point; its persisted stage says where to resume.
    tiering.abort();
    metering.abort();
    scrubbing.abort();
    let _ = tiering.await;
    let _ = metering.await;
    let a = archives.clone();
    let _ = tokio::task::spawn_blocking(move || usage.snapshot(&a, clock.now_ms())).await;
    // No writer may outlive the server: RocksDB must close with its sequencers joined.
    let _ = tokio::task::spawn_blocking(move || archives.shutdown()).await;
    served
}

/// `zegel serve`: open, print where things are, serve until SIGINT/SIGTERM. Logs go to
/// stderr, filtered by `RUST_LOG` (default `info`); tokens and content are never logged.
pub async fn run(cfg: Config) -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal, never into a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let (state, opened) = open(&cfg, Arc::new(SystemClock))?;
    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .map_err(|e| anyhow::anyhow!("listen on {}: {e}", cfg.listen))?;
    let addr = listener.local_addr()?;
    if opened.key_created {
        eprintln!(
            "zegel: generated signing key {}",
            cfg.data_dir.join("signing.key").display()
        );
    }
    if let Some(p) = &opened.admin_token_path {
        eprintln!(
            "zegel: bootstrap admin token written to {} (mode 0600)",
            p.display()
        );
    }
    eprintln!("zegel: public key {}", opened.verifier_key);
    eprintln!(
        "zegel: listening on http://{addr} (data in {})",
        cfg.data_dir.display()
    );
    serve_with(
        state,
        cfg.in_flight_max,
        cfg.usage_interval_secs,
        cfg.scrub_packages_per_sec,
        listener,
        shutdown_signal(),
    )
    .await?;
    eprintln!("zegel: stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
