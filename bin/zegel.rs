//! `zegel`: the archive's command line. Parses arguments and calls one library function per
//! command (`zegel::cli`, `zegel::server`); everything else lives in the `zegel` library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use zegel::bench;
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
    /// Benchmarks; figures go to docs/BENCHMARKS.md.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Merkle append and proofs, sealing rows and 1 MiB documents, beside sha256sum and zstd.
    Formats {
        /// NDJSON rows from ../shared/bench/gen_rows.py.
        #[arg(long)]
        rows: PathBuf,
        /// Tree sizes for the Merkle figures.
        #[arg(long, value_delimiter = ',', default_value = "1000000,10000000")]
        tree_sizes: Vec<u64>,
        /// Number of 1 MiB documents to seal.
        #[arg(long, default_value_t = 32)]
        documents: usize,
        /// Markdown file whose `formats` section is replaced with the figures.
        #[arg(long)]
        write: Option<PathBuf>,
    },
    /// Ingest and reads against the real server process (started here on 127.0.0.1), with
    /// the load generator on the same machine, beside raw RocksDB synced batches.
    Server {
        /// NDJSON rows from ../shared/bench/gen_rows.py.
        #[arg(long)]
        rows: PathBuf,
        /// Rows per batch request.
        #[arg(long, default_value_t = 1000)]
        batch_rows: usize,
        /// Concurrent clients sending batches.
        #[arg(long, default_value_t = 4)]
        batch_clients: usize,
        /// Concurrent clients sending single rows and reading.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Single rows to send.
        #[arg(long, default_value_t = 50_000)]
        single_rows: usize,
        /// Reads by key.
        #[arg(long, default_value_t = 50_000)]
        reads: usize,
        /// Concurrent clients of the second read phase.
        #[arg(long, default_value_t = 256)]
        read_clients: usize,
        /// Whole runs; the median run is reported, with every run's rates.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Markdown file whose `server` section is replaced with the figures.
        #[arg(long)]
        write: Option<PathBuf>,
    },
    /// Tiering to the local filesystem: MB/s, cold bytes beside `zstd -3`, and cold reads
    /// beside hot reads, against the real server process.
    Tier {
        /// NDJSON rows from ../shared/bench/gen_rows.py.
        #[arg(long)]
        rows: PathBuf,
        /// Single-row reads in each tier.
        #[arg(long, default_value_t = 1000)]
        reads: usize,
        /// A `[tier]` setting to use instead of its default (repeatable), e.g. `zstd_level=15`.
        #[arg(long = "tier-setting")]
        tier_settings: Vec<String>,
        /// Markdown file whose `tier` section is replaced with the figures.
        #[arg(long)]
        write: Option<PathBuf>,
    },
    /// A full integrity audit over hot and cold data (half the rows moved cold) against the
    /// real server process, beside `zstd -dc | sha256sum` of the same rows.
    Audit {
        /// NDJSON rows from ../shared/bench/gen_rows.py.
        #[arg(long)]
        rows: PathBuf,
        /// Markdown file whose `audit` section is replaced with the figures.
        #[arg(long)]
        write: Option<PathBuf>,
    },
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
        Command::Bench(cmd) => bench_command(cmd)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn bench_command(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Formats {
            rows,
            tree_sizes,
            documents,
            write,
        } => {
            let scratch = std::env::temp_dir().join(format!("zegel-bench-{}", std::process::id()));
            let opts = bench::BenchOptions {
                rows: rows.clone(),
                tree_sizes,
                documents,
                scratch: scratch.clone(),
            };
            let figures =
                bench::run(&opts, &mut |m| eprintln!("bench: {m}")).map_err(anyhow::Error::msg)?;
            let _ = std::fs::remove_dir_all(&scratch);
            report(
                &figures,
                &rows,
                "One thread for Zegel; baselines run in the same invocation on the same bytes.",
                write.as_deref(),
                ("formats", "Formats: Merkle log and sealing"),
            )?;
        }
        BenchCommand::Server {
            rows,
            batch_rows,
            batch_clients,
            clients,
            single_rows,
            reads,
            read_clients,
            runs,
            write,
        } => {
            let opts = zegel::bench_server::ServerBenchOptions {
                rows: rows.clone(),
                batch_rows,
                batch_clients,
                clients,
                single_rows,
                reads,
                read_clients,
                runs,
                scratch: std::env::temp_dir()
                    .join(format!("zegel-bench-server-{}", std::process::id())),
            };
            let figures = zegel::bench_server::run(&opts, &mut |m| eprintln!("bench: {m}"))
                .map_err(anyhow::Error::msg)?;
            report(
                &figures,
                &rows,
                "The server (`zegel serve`, its own process) and the load generator share these cores; every write is acknowledged only after a synced RocksDB WAL write. The baseline runs in the same invocation on the same rows.",
                write.as_deref(),
                ("server", "Server: durable ingest and hot reads"),
            )?;
        }
        BenchCommand::Tier {
            rows,
            reads,
            tier_settings,
            write,
        } => {
            let opts = zegel::bench_tier::TierBenchOptions {
                rows: rows.clone(),
                reads,
                tier_settings,
                scratch: std::env::temp_dir()
                    .join(format!("zegel-bench-tier-{}", std::process::id())),
            };
            let figures = zegel::bench_tier::run(&opts, &mut |m| eprintln!("bench: {m}"))
                .map_err(anyhow::Error::msg)?;
            report(
                &figures,
                &rows,
                "The server (`zegel serve`, its own process, hot period 0 days) and the load generator share these cores; `zegel tier run` moves everything in 10 000-package moves with the default `[tier]` settings (zstd level 19, 128 KiB blocks, one segment encoded per core) unless `--tier-setting` says otherwise. Baselines run in the same invocation on the same rows file.",
                write.as_deref(),
                ("tier", "Tiering: cold bytes, throughput, cold reads"),
            )?;
        }
        BenchCommand::Audit { rows, write } => {
            let opts = zegel::bench_audit::AuditBenchOptions {
                rows: rows.clone(),
                scratch: std::env::temp_dir()
                    .join(format!("zegel-bench-audit-{}", std::process::id())),
            };
            let figures = zegel::bench_audit::run(&opts, &mut |m| eprintln!("bench: {m}"))
                .map_err(anyhow::Error::msg)?;
            report(
                &figures,
                &rows,
                "The server (`zegel serve`, its own process, scrub off) audits through its API in steps of 100 000 packages, checked in 4096-package chunks, two per core in flight; nine audits alternate with nine runs of the baseline pipeline (its two processes on the two cores), and the medians are the figures. Content bytes are the header bytes plus the uncompressed objects, as re-hashed.",
                write.as_deref(),
                ("audit", "Integrity audit throughput"),
            )?;
        }
    }
    Ok(())
}

/// Prints the figures as markdown and, with `--write`, replaces their section of the file.
fn report(
    figures: &[bench::Figure],
    rows: &std::path::Path,
    setup: &str,
    write: Option<&std::path::Path>,
    (section, title): (&str, &str),
) -> Result<()> {
    let count = std::fs::read_to_string(rows)
        .with_context(|| format!("read {}", rows.display()))?
        .lines()
        .count();
    // scripts/bench.sh names itself, so the recorded command is the reproducible one.
    let command = std::env::var("ZEGEL_BENCH_COMMAND")
        .unwrap_or_else(|_| std::env::args().collect::<Vec<_>>().join(" "));
    let text = bench::render(figures, &command, count, setup);
    print!("{text}");
    if let Some(file) = write {
        bench::write_section(file, section, title, &text)
            .with_context(|| format!("write {}", file.display()))?;
    }
    Ok(())
}
