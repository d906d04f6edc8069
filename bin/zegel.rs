//! `zegel`: the archive's command line. Parses arguments and calls one library function per
//! command (`zegel::cli`, `zegel::server`); everything else lives in the `zegel` library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use zegel::cli::{
    self,
    args::{
        AgreementCommand, ArchiveCommand, AuditArgs, DispositionCommand, ErasureCommand,
        ExportArgs, HoldCommand, KeyCommand, RetentionCommand, SealArgs, TenantCommand,
        TierCommand, UsageArgs,
    },
};

// The server allocates from many threads at once (request tasks, sequencers, committers);
// glibc's allocator cost about a tenth of its CPU under read load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(name = "zegel", version, about = "Zegel: sealed, provable archiving")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the archive server with embedded defaults (RocksDB in the data directory, a
    /// signing key generated on first start, a bootstrap admin token in DIR/admin.token).
    Serve {
        /// Data directory [default: ./zegel-data].
        #[arg(long, env = "ZEGEL_DATA")]
        data: Option<PathBuf>,
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, env = "ZEGEL_LISTEN")]
        listen: Option<String>,
        /// TOML configuration file (keys: data_dir, listen, log_name, checkpoint_interval_ms,
        /// in_flight_max, usage_interval_secs, scrub_packages_per_sec, [cold], [tier]; see the
        /// README's settings).
        #[arg(long, env = "ZEGEL_CONFIG")]
        config: Option<PathBuf>,
        /// Signing key name, used as the log name in checkpoint origins [default: zegel.local].
        #[arg(long, env = "ZEGEL_LOG_NAME")]
        log_name: Option<String>,
        /// Milliseconds between checkpoints [default: 1000].
        #[arg(long, env = "ZEGEL_CHECKPOINT_INTERVAL_MS")]
        checkpoint_interval_ms: Option<u64>,
        /// Most API requests handled at once; more get 503 with Retry-After [default: 512].
        #[arg(long, env = "ZEGEL_IN_FLIGHT_MAX")]
        in_flight_max: Option<usize>,
        /// Days a package stays hot before it moves to the cold tier [default: 183].
        #[arg(long, env = "ZEGEL_HOT_DAYS")]
        hot_days: Option<u64>,
        /// Seconds between background tiering passes; 0 turns them off [default: 60].
        #[arg(long, env = "ZEGEL_TIER_INTERVAL_SECS")]
        tier_interval_secs: Option<u64>,
    },
    /// Tiering to the cold store (against a running server).
    #[command(subcommand)]
    Tier(TierCommand),
    /// Legal holds (against a running server; archivists place and lift them).
    #[command(subcommand)]
    Hold(HoldCommand),
    /// Retention (against a running server).
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Integrity audit of archives, hot and cold (against a running server): re-hashes every
    /// package and object, checks chain links, recomputes the tree against every signed
    /// checkpoint, checks retention; seals each finished audit into the archive's log. Exit
    /// status: 0 clean, 1 findings, 2 the audit could not run.
    Audit(AuditArgs),
    /// Export the proof bundle of one package (`.zbundle`): everything a court needs to
    /// verify it offline with `zegel-verify bundle` (against a running server).
    Export(ExportArgs),
    /// Early erasure: one archivist requests, a second one approves (against a running server).
    #[command(subcommand)]
    Erasure(ErasureCommand),
    /// Dispositions and their certificates of destruction (against a running server).
    #[command(subcommand)]
    Disposition(DispositionCommand),
    /// Usage per tenant, now and per day (against a running server).
    Usage(UsageArgs),
    /// Signing keys: generate one, or print the public key of one.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Seal NDJSON rows into a log directory (packages, receipts, proofs, checkpoint) that
    /// `zegel-verify` can check, without a server.
    Seal(SealArgs),
    /// Tenants (against a running server).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Submission agreements (against a running server).
    #[command(subcommand)]
    Agreement(AgreementCommand),
    /// Archives of the caller's tenant (against a running server).
    #[command(subcommand)]
    Archive(ArchiveCommand),
}

fn main() -> ExitCode {
    run(Cli::parse().command).unwrap_or_else(|e| {
        eprintln!("zegel: {e:#}");
        ExitCode::FAILURE
    })
}

/// Exit status of `zegel audit`: 0 clean, 1 findings, 2 the audit could not run.
fn audit_status(audited: Result<bool>) -> ExitCode {
    match audited {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("zegel audit: could not run: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Serve {
            data,
            listen,
            config,
            log_name,
            checkpoint_interval_ms,
            in_flight_max,
            hot_days,
            tier_interval_secs,
        } => {
            let overrides = zegel::server::Overrides {
                data_dir: data,
                listen,
                log_name,
                checkpoint_interval_ms,
                in_flight_max,
                hot_days,
                tier_interval_secs,
            };
            let cfg = zegel::server::Config::load(config.as_deref(), overrides)?;
            let rt = tokio::runtime::Runtime::new().context("start the async runtime")?;
            rt.block_on(zegel::server::run(cfg))?;
        }
        Command::Tenant(cmd) => cli::tenant(cmd)?,
        Command::Key(cmd) => cli::key(cmd)?,
        Command::Agreement(cmd) => cli::agreement(cmd)?,
        Command::Archive(cmd) => cli::archive(cmd)?,
        Command::Tier(cmd) => cli::tier(cmd)?,
        Command::Usage(args) => cli::usage(args)?,
        Command::Hold(cmd) => cli::hold(cmd)?,
        Command::Retention(cmd) => cli::retention(cmd)?,
        Command::Erasure(cmd) => cli::erasure(cmd)?,
        Command::Disposition(cmd) => cli::disposition(cmd)?,
        Command::Export(args) => cli::export(args)?,
        Command::Audit(args) => return Ok(audit_status(cli::audit(args))),
        Command::Seal(args) => cli::seal(args)?,
    }
    Ok(ExitCode::SUCCESS)
}
