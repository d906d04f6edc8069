//! `zegel`: the archive's command line. Parses arguments and calls one library function per
//! subcommand; everything else lives in the `zegel` library.

use std::io::BufReader;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use zegel::{keyfile, seal};

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
    Audit {
        /// Only these archives (default: every archive the token can see).
        #[arg(long)]
        archive: Vec<String>,
        /// Check this percentage of packages (1 to 100; the log checks always cover all).
        /// A resumed audit keeps the sample it was started with.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u8).range(1..=100), conflicts_with = "resume")]
        sample: u8,
        /// Resume an interrupted audit (with one --archive): its id, e.g. audit-3.
        #[arg(long, requires = "archive")]
        resume: Option<String>,
        /// Packages per request (1 to 100000).
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=zegel::audit::run::AUDIT_STEP_PACKAGES_MAX))]
        step: u64,
        #[command(flatten)]
        remote: Remote,
    },
    /// Export the proof bundle of one package (`.zbundle`): everything a court needs to
    /// verify it offline with `zegel-verify bundle` (against a running server).
    Export {
        archive: String,
        /// Seq of the package.
        seq: u64,
        /// Carry only the objects named with --object (the others' digests stay).
        #[arg(long)]
        redact: bool,
        /// With --redact: an object to carry (repeatable).
        #[arg(long = "object", requires = "redact")]
        objects: Vec<String>,
        /// Where to write the bundle [default: ARCHIVE-SEQ.zbundle].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write the bundle as a BagIt bag (RFC 8493) into this new directory.
        #[arg(long)]
        bagit: Option<PathBuf>,
        /// Replace an existing --out file (a bag directory must still be new or empty).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        remote: Remote,
    },
    /// Early erasure: one archivist requests, a second one approves (against a running server).
    #[command(subcommand)]
    Erasure(ErasureCommand),
    /// Dispositions and their certificates of destruction (against a running server).
    #[command(subcommand)]
    Disposition(DispositionCommand),
    /// Usage per tenant, now and per day (against a running server).
    Usage {
        /// Only this tenant (the server's admin key may ask for any; others see their own).
        #[arg(long)]
        tenant: Option<String>,
        /// First day of the history (YYYY-MM-DD) [default: 30 days ago].
        #[arg(long)]
        from: Option<String>,
        /// Last day of the history (YYYY-MM-DD) [default: today].
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
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

/// How the admin commands reach the server.
#[derive(clap::Args, Debug)]
struct Remote {
    /// Server URL.
    #[arg(long, env = "ZEGEL_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// File holding the bearer token (else the ZEGEL_TOKEN environment variable).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Print the server's JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum HoldCommand {
    /// Place a hold on one package, every version of a record key, or a metadata value.
    Add {
        /// Archive identifier.
        archive: String,
        /// Hold the package at this seq.
        #[arg(long, conflicts_with_all = ["record", "query"])]
        package: Option<u64>,
        /// Hold every version of this record key.
        #[arg(long, conflicts_with = "query")]
        record: Option<String>,
        /// Hold every package whose metadata FIELD equals VALUE (FIELD=VALUE).
        #[arg(long)]
        query: Option<String>,
        /// Why (a case number, a court order).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// List the holds in force (with --all, lifted ones too).
    List {
        archive: String,
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        remote: Remote,
    },
    /// Lift a hold; it stays listed with who lifted it and why.
    Remove {
        archive: String,
        /// The hold id (from `zegel hold list`).
        id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Subcommand, Debug)]
enum RetentionCommand {
    /// What is due for disposal now or by a date, not held, per archive.
    Plan {
        /// Only these archives (default: every archive the token can see).
        #[arg(long)]
        archive: Vec<String>,
        /// Due at or before this time (RFC 3339, e.g. 2027-01-01T00:00:00Z) [default: now].
        #[arg(long)]
        at: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Dispose of every package whose retention has ended (by the server's clock) and that
    /// no legal hold covers, in both tiers, with a signed disposition entry per step.
    Apply {
        /// Only these archives (default: every archive the token can see).
        #[arg(long)]
        archive: Vec<String>,
        /// Packages per disposition (1 to 10000).
        #[arg(long, default_value_t = 10_000)]
        max_packages: u64,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Subcommand, Debug)]
enum ErasureCommand {
    /// Request the erasure of one package or every version of a record key, with its legal
    /// basis. Nothing is erased until a different archivist approves it.
    Request {
        archive: String,
        /// Erase the package at this seq.
        #[arg(long, conflicts_with = "record")]
        package: Option<u64>,
        /// Erase every version of this record key.
        #[arg(long)]
        record: Option<String>,
        /// The legal basis (court order, statute, data subject's request).
        #[arg(long)]
        basis: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Approve a request (a different archivist from the requester) and carry it out.
    Approve {
        archive: String,
        /// The request id (from `zegel erasure list`).
        id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Reject or withdraw a request still waiting.
    Reject {
        archive: String,
        id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// The archive's erasure requests, decided ones included.
    List {
        archive: String,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Subcommand, Debug)]
enum DispositionCommand {
    /// The archive's dispositions, oldest first.
    List {
        archive: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Save the certificate of destruction of a disposition (check it offline with
    /// `zegel-verify certificate --key KEY FILE`).
    Certificate {
        archive: String,
        /// Seq of the disposition package (from `zegel disposition list`).
        seq: u64,
        /// Where to write it [default: ARCHIVE-SEQ.zcert].
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Subcommand, Debug)]
enum TierCommand {
    /// Move every package older than the hot period now (the server's admin key).
    Run {
        #[command(flatten)]
        remote: Remote,
    },
    /// Counts and bytes hot, cold and in flight per archive, with the last failure.
    Status {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Subcommand, Debug)]
enum TenantCommand {
    /// Create a tenant (needs the server's admin token).
    Create {
        /// Tenant identifier (a-z, 0-9, '.', '_', '-').
        tenant: String,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Subcommand, Debug)]
enum AgreementCommand {
    /// Create an archive with its first agreement, or seal the next version (JSON or TOML).
    Apply {
        /// Archive identifier.
        archive: String,
        /// The agreement document.
        file: PathBuf,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Subcommand, Debug)]
enum ArchiveCommand {
    /// List the archives the token can see.
    List {
        #[command(flatten)]
        remote: Remote,
    },
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
    /// Create an API key for a tenant; its token is printed once.
    Create {
        /// Tenant the key belongs to.
        #[arg(long)]
        tenant: String,
        /// producer, consumer, archivist, auditor or admin.
        #[arg(long)]
        role: String,
        /// Limit the key to these archives (comma-separated).
        #[arg(long, value_delimiter = ',')]
        archives: Option<Vec<String>>,
        #[command(flatten)]
        remote: Remote,
    },
    /// List a tenant's API keys (never their tokens).
    List {
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Revoke an API key by id.
    Revoke {
        #[arg(long)]
        tenant: String,
        /// The key id (from `zegel key list`).
        id: String,
        #[command(flatten)]
        remote: Remote,
    },
}

fn client(r: &Remote) -> Result<zegel::client::Client> {
    zegel::client::Client::new(
        &r.server,
        r.token_file.as_deref(),
        std::env::var("ZEGEL_TOKEN").ok(),
    )
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
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
        Command::Key(KeyCommand::Generate { name, out }) => {
            let key = keyfile::generate(&out, &name)?;
            eprintln!("wrote {} (mode 0600); public key:", out.display());
            println!("{}", key.verifier().to_text());
        }
        Command::Key(KeyCommand::Public { key }) => {
            println!("{}", keyfile::load(&key)?.verifier().to_text());
        }
        Command::Key(KeyCommand::Create {
            tenant,
            role,
            archives,
            remote,
        }) => {
            let body = serde_json::json!({ "role": role, "archives": archives });
            let v = client(&remote)?.call(
                "POST",
                &format!("/v1/tenants/{tenant}/keys"),
                Some(body.to_string().into_bytes()),
            )?;
            print!("{}", zegel::client::render("key", &v, remote.json));
        }
        Command::Key(KeyCommand::List { tenant, remote }) => {
            let v = client(&remote)?.call("GET", &format!("/v1/tenants/{tenant}/keys"), None)?;
            print!("{}", zegel::client::render("keys", &v, remote.json));
        }
        Command::Key(KeyCommand::Revoke { tenant, id, remote }) => {
            client(&remote)?.call(
                "POST",
                &format!("/v1/tenants/{tenant}/keys/{id}/revoke"),
                None,
            )?;
            println!("revoked {id}");
        }
        Command::Tenant(TenantCommand::Create { tenant, remote }) => {
            let body = serde_json::json!({ "tenant": tenant });
            let v = client(&remote)?.call(
                "POST",
                "/v1/tenants",
                Some(body.to_string().into_bytes()),
            )?;
            print!("{}", zegel::client::render("tenant", &v, remote.json));
        }
        Command::Agreement(AgreementCommand::Apply {
            archive,
            file,
            remote,
        }) => {
            let doc = std::fs::read(&file).with_context(|| format!("read {}", file.display()))?;
            let v = client(&remote)?.call(
                "PUT",
                &format!("/v1/archives/{archive}/agreement"),
                Some(doc),
            )?;
            print!("{}", zegel::client::render("agreement", &v, remote.json));
        }
        Command::Tier(TierCommand::Run { remote }) => {
            eprintln!(
                "tiering everything that is due; this can take a while (`zegel tier status` shows progress)"
            );
            let v = client(&remote)?.call_waiting(
                "POST",
                "/v1/tier/run",
                None,
                zegel::client::TIER_RUN_TIMEOUT_SECS,
            )?;
            print!("{}", zegel::client::render("tier-run", &v, remote.json));
            if v.get("errors")
                .and_then(|e| e.as_array())
                .is_some_and(|e| !e.is_empty())
            {
                anyhow::bail!("some moves failed; their packages stay hot");
            }
        }
        Command::Tier(TierCommand::Status { tenant, remote }) => {
            let q = tenant.map_or(String::new(), |t| format!("?tenant={t}"));
            let v = client(&remote)?.call("GET", &format!("/v1/tier{q}"), None)?;
            print!("{}", zegel::client::render("tier", &v, remote.json));
        }
        Command::Hold(HoldCommand::Add {
            archive,
            package,
            record,
            query,
            reason,
            remote,
        }) => {
            let body = match (package, record, query) {
                (Some(p), _, _) => serde_json::json!({ "package": p, "reason": reason }),
                (_, Some(r), _) => serde_json::json!({ "record": r, "reason": reason }),
                (_, _, Some(q)) => {
                    let (f, v) = q.split_once('=').context("--query takes FIELD=VALUE")?;
                    serde_json::json!({ "field": f, "value": v, "reason": reason })
                }
                _ => anyhow::bail!("name what to hold: --package, --record or --query"),
            };
            let v = client(&remote)?.call(
                "POST",
                &format!("/v1/archives/{archive}/holds"),
                Some(body.to_string().into_bytes()),
            )?;
            print!("{}", zegel::client::render("hold", &v, remote.json));
        }
        Command::Hold(HoldCommand::List {
            archive,
            all,
            remote,
        }) => {
            let v = client(&remote)?.call(
                "GET",
                &format!("/v1/archives/{archive}/holds?all={all}"),
                None,
            )?;
            print!("{}", zegel::client::render("holds", &v, remote.json));
        }
        Command::Hold(HoldCommand::Remove {
            archive,
            id,
            reason,
            remote,
        }) => {
            let body = serde_json::json!({ "reason": reason });
            let v = client(&remote)?.call(
                "POST",
                &format!("/v1/archives/{archive}/holds/{id}/lift"),
                Some(body.to_string().into_bytes()),
            )?;
            print!("{}", zegel::client::render("hold", &v, remote.json));
        }
        Command::Retention(RetentionCommand::Apply {
            archive,
            max_packages,
            remote,
        }) => {
            let c = client(&remote)?;
            let archives = archives_or_all(&c, archive)?;
            let v = zegel::client::retention_apply(&c, &archives, max_packages, !remote.json)?;
            print!("{}", zegel::client::render("apply", &v, remote.json));
        }
        Command::Erasure(cmd) => erasure(cmd)?,
        Command::Export {
            archive,
            seq,
            redact,
            objects,
            out,
            bagit,
            force,
            remote,
        } => {
            // Nothing is fetched unless everything can be written, and nothing is overwritten
            // unless asked.
            let out = out.unwrap_or_else(|| PathBuf::from(format!("{archive}-{seq}.zbundle")));
            if out.exists() && !force {
                anyhow::bail!(
                    "{} exists: name another file with --out, or replace it with --force",
                    out.display()
                );
            }
            if let Some(dir) = &bagit {
                zegel::bagit::check_bag_dir(dir).map_err(anyhow::Error::msg)?;
            }
            let q = if redact {
                format!("?objects={}", objects.join(","))
            } else {
                String::new()
            };
            let bytes = client(&remote)?
                .get_bytes(&format!("/v1/archives/{archive}/packages/{seq}/bundle{q}"))?;
            write_new(&out, &bytes, force).with_context(|| format!("write {}", out.display()))?;
            if !remote.json {
                println!(
                    "proof bundle written to {} ({} bytes); verify it with: zegel-verify bundle --key KEY {}",
                    out.display(),
                    bytes.len(),
                    out.display()
                );
            }
            let mut bag = serde_json::Value::Null;
            if let Some(dir) = bagit {
                let today = time::OffsetDateTime::now_utc().date().to_string();
                let files =
                    zegel::bagit::write_bag(&dir, &bytes, &today).map_err(anyhow::Error::msg)?;
                if !remote.json {
                    println!(
                        "BagIt bag written to {} ({} payload files)",
                        dir.display(),
                        files.len()
                    );
                }
                bag = serde_json::json!({ "dir": dir.display().to_string(), "payload": files });
            }
            if remote.json {
                let written = serde_json::json!({
                    "bundle": out.display().to_string(),
                    "bytes": bytes.len(),
                    "bag": bag,
                });
                println!("{written}");
            }
        }
        Command::Audit { .. } => unreachable!("handled in main"),
        Command::Disposition(DispositionCommand::List { archive, remote }) => {
            let v = client(&remote)?.call(
                "GET",
                &format!("/v1/archives/{archive}/dispositions"),
                None,
            )?;
            print!("{}", zegel::client::render("dispositions", &v, remote.json));
        }
        Command::Disposition(DispositionCommand::Certificate {
            archive,
            seq,
            out,
            remote,
        }) => {
            let bytes = client(&remote)?.get_bytes(&format!(
                "/v1/archives/{archive}/dispositions/{seq}/certificate"
            ))?;
            let out = out.unwrap_or_else(|| PathBuf::from(format!("{archive}-{seq}.zcert")));
            std::fs::write(&out, &bytes).with_context(|| format!("write {}", out.display()))?;
            println!(
                "certificate of destruction written to {} ({} bytes); verify it with: zegel-verify certificate --key KEY {}",
                out.display(),
                bytes.len(),
                out.display()
            );
        }
        Command::Retention(RetentionCommand::Plan {
            archive,
            at,
            remote,
        }) => {
            let c = client(&remote)?;
            let archives = archives_or_all(&c, archive)?;
            let q = at.map_or(String::new(), |a| format!("?at={a}"));
            let mut plans = Vec::new();
            for a in archives {
                plans.push(c.call("GET", &format!("/v1/archives/{a}/retention/plan{q}"), None)?);
            }
            let v = serde_json::json!({ "plans": plans });
            print!("{}", zegel::client::render("plan", &v, remote.json));
        }
        Command::Usage {
            tenant,
            from,
            to,
            remote,
        } => {
            let q: Vec<String> = [("tenant", tenant), ("from", from), ("to", to)]
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
                .collect();
            let q = if q.is_empty() {
                String::new()
            } else {
                format!("?{}", q.join("&"))
            };
            let v = client(&remote)?.call("GET", &format!("/v1/usage{q}"), None)?;
            print!("{}", zegel::client::render("usage", &v, remote.json));
        }
        Command::Archive(ArchiveCommand::List { remote }) => {
            let v = client(&remote)?.call("GET", "/v1/archives", None)?;
            print!("{}", zegel::client::render("archives", &v, remote.json));
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
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Command::Audit {
        archive,
        sample,
        resume,
        step,
        remote,
    } = cli.command
    {
        // Exit codes: 0 clean, 1 findings, 2 the audit could not run.
        return match audit(archive, sample, resume, step, &remote) {
            Ok(true) => std::process::ExitCode::SUCCESS,
            Ok(false) => std::process::ExitCode::from(1),
            Err(e) => {
                eprintln!("zegel audit: could not run: {e:#}");
                std::process::ExitCode::from(2)
            }
        };
    }
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zegel: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Writes a new file (over an existing one only when `replace`) and syncs it: evidence
/// handed on should be on disk when the command says it is written.
fn write_new(path: &std::path::Path, bytes: &[u8], replace: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(!replace)
        .create(replace)
        .truncate(replace)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// The named archives, or every archive the token can see.
fn archives_or_all(c: &zegel::client::Client, named: Vec<String>) -> anyhow::Result<Vec<String>> {
    if !named.is_empty() {
        return Ok(named);
    }
    Ok(c.call("GET", "/v1/archives", None)?
        .get("archives")
        .and_then(|a| a.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.get("archive").and_then(|n| n.as_str()))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default())
}

fn erasure(cmd: ErasureCommand) -> anyhow::Result<()> {
    match cmd {
        ErasureCommand::Request {
            archive,
            package,
            record,
            basis,
            remote,
        } => {
            let body = match (package, record) {
                (Some(p), None) => serde_json::json!({ "package": p, "basis": basis }),
                (None, Some(r)) => serde_json::json!({ "record": r, "basis": basis }),
                _ => anyhow::bail!("name what to erase: --package SEQ or --record KEY"),
            };
            let v = client(&remote)?.call(
                "POST",
                &format!("/v1/archives/{archive}/erasures"),
                Some(body.to_string().into_bytes()),
            )?;
            print!("{}", zegel::client::render("erasure", &v, remote.json));
        }
        ErasureCommand::Approve {
            archive,
            id,
            remote,
        } => {
            let v = client(&remote)?.call_waiting(
                "POST",
                &format!("/v1/archives/{archive}/erasures/{id}/approve"),
                None,
                zegel::client::LONG_CALL_SECS,
            )?;
            print!("{}", zegel::client::render("erasure-done", &v, remote.json));
        }
        ErasureCommand::Reject {
            archive,
            id,
            reason,
            remote,
        } => {
            let v = client(&remote)?.call(
                "POST",
                &format!("/v1/archives/{archive}/erasures/{id}/reject"),
                Some(
                    serde_json::json!({ "reason": reason })
                        .to_string()
                        .into_bytes(),
                ),
            )?;
            print!("{}", zegel::client::render("erasure", &v, remote.json));
        }
        ErasureCommand::List { archive, remote } => {
            let v =
                client(&remote)?.call("GET", &format!("/v1/archives/{archive}/erasures"), None)?;
            print!("{}", zegel::client::render("erasures", &v, remote.json));
        }
    }
    Ok(())
}

/// `zegel audit`: one run per archive, stepped to the end with a progress bar on a terminal;
/// a summary table (or the runs as JSON) and every finding kept. True when nothing was found.
fn audit(
    archive: Vec<String>,
    sample: u8,
    resume: Option<String>,
    step: u64,
    remote: &Remote,
) -> anyhow::Result<bool> {
    let c = client(remote)?;
    let archives = archives_or_all(&c, archive)?;
    if archives.is_empty() {
        anyhow::bail!(
            "this key sees no archives, so nothing was audited: a tenant's auditor or archivist key sees the tenant's archives (an admin key sees none)"
        );
    }
    if resume.is_some() && archives.len() != 1 {
        anyhow::bail!("--resume names one audit: give exactly one --archive");
    }
    let runs = zegel::client::audit(&c, &archives, sample, resume.as_deref(), step, !remote.json)?;
    let clean = runs.iter().all(|r| r["findings_total"].as_u64() == Some(0));
    let v = serde_json::json!({ "audits": runs });
    print!("{}", zegel::client::render("audit", &v, remote.json));
    Ok(clean)
}
