//! `zegel`: the archive's command line. Parses arguments and calls one library function per
//! subcommand; everything else lives in the `zegel` library.

use std::io::BufReader;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use zegel::{bench, keyfile, seal};

#[derive(Parser, Debug)]
#[command(name = "zegel", version, about = "Zegel: sealed, provable archiving")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Signing keys: generate one, or print the public key of one.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Seal NDJSON rows into a log directory (packages, receipts, proofs, checkpoint) that
    /// `zegel-verify` can check, without a server.
    Seal {
        /// Private signing key file (from `zegel key generate`).
        #[arg(long)]
        key: PathBuf,
        /// Tenant identifier (a-z, 0-9, '.', '_', '-').
        #[arg(long)]
        tenant: String,
        /// Archive identifier (a-z, 0-9, '.', '_', '-').
        #[arg(long)]
        archive: String,
        /// JSON field of each row that holds its record key.
        #[arg(long)]
        key_field: String,
        /// Comma-separated fields copied into each header's metadata.
        #[arg(long, value_delimiter = ',')]
        index: Vec<String>,
        /// Rows per group commit: one receipt signature covers each group.
        #[arg(long, default_value_t = 1000)]
        group_rows: usize,
        /// Output directory (created).
        #[arg(long)]
        out: PathBuf,
        /// NDJSON input, one row per line.
        rows: PathBuf,
    },
    /// Benchmarks; figures go to docs/BENCHMARKS.md.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand, Debug)]
enum KeyCommand {
    /// Generate a new Ed25519 signing key into a new file (mode 0600); print its public key.
    Generate {
        /// Key name: the log name in checkpoint origins (no spaces or '+').
        #[arg(long)]
        name: String,
        /// File to create; refuses to overwrite.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the public (verifier) key of a signing key file.
    Public {
        /// Private signing key file.
        #[arg(long)]
        key: PathBuf,
    },
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
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Key(KeyCommand::Generate { name, out }) => {
            let key = keyfile::generate(&out, &name)?;
            eprintln!("wrote {} (mode 0600); public key:", out.display());
            println!("{}", key.verifier().to_text());
        }
        Command::Key(KeyCommand::Public { key }) => {
            println!("{}", keyfile::load(&key)?.verifier().to_text());
        }
        Command::Seal {
            key,
            tenant,
            archive,
            key_field,
            index,
            group_rows,
            out,
            rows,
        } => {
            let key = keyfile::load(&key)?;
            let input =
                std::fs::File::open(&rows).with_context(|| format!("open {}", rows.display()))?;
            let opts = seal::SealOptions {
                tenant,
                archive,
                key_field,
                index,
                group_rows,
                now_ms: now_ms(),
            };
            let s = seal::seal_rows_to_dir(key, BufReader::new(input), &opts, &out)?;
            println!(
                "sealed {} packages ({} raw bytes -> {} sealed) with {} receipt signatures into {}; root {}",
                s.packages,
                s.raw_bytes,
                s.sealed_bytes,
                s.signatures,
                out.display(),
                s.root
            );
        }
        Command::Bench(BenchCommand::Formats {
            rows,
            tree_sizes,
            documents,
            write,
        }) => {
            let count = std::fs::read_to_string(&rows)
                .with_context(|| format!("read {}", rows.display()))?
                .lines()
                .count();
            let scratch = std::env::temp_dir().join(format!("zegel-bench-{}", std::process::id()));
            let opts = bench::BenchOptions {
                rows,
                tree_sizes,
                documents,
                scratch: scratch.clone(),
            };
            let figures =
                bench::run(&opts, &mut |m| eprintln!("bench: {m}")).map_err(anyhow::Error::msg)?;
            let _ = std::fs::remove_dir_all(&scratch);
            // scripts/bench.sh names itself, so the recorded command is the reproducible one.
            let command = std::env::var("ZEGEL_BENCH_COMMAND")
                .unwrap_or_else(|_| std::env::args().collect::<Vec<_>>().join(" "));
            let text = bench::render(&figures, &command, count);
            print!("{text}");
            if let Some(file) = write {
                bench::write_section(&file, "formats", "Formats: Merkle log and sealing", &text)
                    .with_context(|| format!("write {}", file.display()))?;
            }
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zegel: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
