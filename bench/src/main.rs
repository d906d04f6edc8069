//! `zegel-bench`: the benchmarks of Zegel, each beside a same-run baseline; with `--write`,
//! the figures replace their section of docs/BENCHMARKS.md. Run through scripts/bench.sh,
//! which generates the rows and builds `zegel` and `zegel-verify` beside this binary.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use zegel_bench::report::{self, Figure};

#[derive(Parser, Debug)]
#[command(
    name = "zegel-bench",
    version,
    about = "Zegel's benchmarks; figures go to docs/BENCHMARKS.md"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
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

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Formats {
            rows,
            tree_sizes,
            documents,
            write,
        } => {
            let scratch = std::env::temp_dir().join(format!("zegel-bench-{}", std::process::id()));
            let opts = zegel_bench::formats::BenchOptions {
                rows: rows.clone(),
                tree_sizes,
                documents,
                scratch: scratch.clone(),
            };
            let figures = zegel_bench::formats::run(&opts, &mut |m| eprintln!("bench: {m}"))
                .map_err(anyhow::Error::msg)?;
            let _ = std::fs::remove_dir_all(&scratch);
            report(
                &figures,
                &rows,
                "One thread for Zegel; baselines run in the same invocation on the same bytes.",
                write.as_deref(),
                ("formats", "Formats: Merkle log and sealing"),
            )?;
        }
        Command::Server {
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
            let opts = zegel_bench::server::ServerBenchOptions {
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
            let figures = zegel_bench::server::run(&opts, &mut |m| eprintln!("bench: {m}"))
                .map_err(anyhow::Error::msg)?;
            report(
                &figures,
                &rows,
                "The server (`zegel serve`, its own process) and the load generator share these cores; every write is acknowledged only after a synced RocksDB WAL write. The baseline runs in the same invocation on the same rows.",
                write.as_deref(),
                ("server", "Server: durable ingest and hot reads"),
            )?;
        }
        Command::Tier {
            rows,
            reads,
            tier_settings,
            write,
        } => {
            let opts = zegel_bench::tier::TierBenchOptions {
                rows: rows.clone(),
                reads,
                tier_settings,
                scratch: std::env::temp_dir()
                    .join(format!("zegel-bench-tier-{}", std::process::id())),
            };
            let figures = zegel_bench::tier::run(&opts, &mut |m| eprintln!("bench: {m}"))
                .map_err(anyhow::Error::msg)?;
            report(
                &figures,
                &rows,
                "The server (`zegel serve`, its own process, hot period 0 days) and the load generator share these cores; `zegel tier run` moves everything in 10 000-package moves with the default `[tier]` settings (zstd level 19, 128 KiB blocks, one segment encoded per core) unless `--tier-setting` says otherwise. Baselines run in the same invocation on the same rows file.",
                write.as_deref(),
                ("tier", "Tiering: cold bytes, throughput, cold reads"),
            )?;
        }
        Command::Audit { rows, write } => {
            let opts = zegel_bench::audit::AuditBenchOptions {
                rows: rows.clone(),
                scratch: std::env::temp_dir()
                    .join(format!("zegel-bench-audit-{}", std::process::id())),
            };
            let figures = zegel_bench::audit::run(&opts, &mut |m| eprintln!("bench: {m}"))
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
    figures: &[Figure],
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
    let text = report::render(figures, &command, count, setup);
    print!("{text}");
    if let Some(file) = write {
        report::write_section(file, section, title, &text)
            .with_context(|| format!("write {}", file.display()))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zegel-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
