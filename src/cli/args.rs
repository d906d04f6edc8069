//! The admin CLI's arguments: one clap struct per command, each flag defined once with its
//! help text beside it. `bin/zegel.rs` gathers them into the top-level command.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// How the admin commands reach the server.
#[derive(Args, Debug)]
pub struct Remote {
    /// Server URL.
    #[arg(long, env = "ZEGEL_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// File holding the bearer token (else the ZEGEL_TOKEN environment variable).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Print the server's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum HoldCommand {
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
pub enum RetentionCommand {
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
pub enum ErasureCommand {
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
pub enum DispositionCommand {
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
pub enum TierCommand {
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
pub enum TenantCommand {
    /// Create a tenant (needs the server's admin token).
    Create {
        /// Tenant identifier (a-z, 0-9, '.', '_', '-').
        tenant: String,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Subcommand, Debug)]
pub enum AgreementCommand {
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
pub enum ArchiveCommand {
    /// List the archives the token can see.
    List {
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
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

// The arguments of `zegel audit`; its help text is the doc comment of its variant in
// `bin/zegel.rs`.
#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Only these archives (default: every archive the token can see).
    #[arg(long)]
    pub archive: Vec<String>,
    /// Check this percentage of packages (1 to 100; the log checks always cover all).
    /// A resumed audit keeps the sample it was started with.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u8).range(1..=100), conflicts_with = "resume")]
    pub sample: u8,
    /// Resume an interrupted audit (with one --archive): its id, e.g. audit-3.
    #[arg(long, requires = "archive")]
    pub resume: Option<String>,
    /// Packages per request (1 to 100000).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=crate::limits::AUDIT_STEP_PACKAGES_MAX))]
    pub step: u64,
    #[command(flatten)]
    pub remote: Remote,
}

// The arguments of `zegel export`; its help text is the doc comment of its variant in
// `bin/zegel.rs`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    pub archive: String,
    /// Seq of the package.
    pub seq: u64,
    /// Carry only the objects named with --object (the others' digests stay).
    #[arg(long)]
    pub redact: bool,
    /// With --redact: an object to carry (repeatable).
    #[arg(long = "object", requires = "redact")]
    pub objects: Vec<String>,
    /// Where to write the bundle [default: ARCHIVE-SEQ.zbundle].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write the bundle as a BagIt bag (RFC 8493) into this new directory.
    #[arg(long)]
    pub bagit: Option<PathBuf>,
    /// Replace an existing --out file (a bag directory must still be new or empty).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub remote: Remote,
}

// The arguments of `zegel usage`; its help text is the doc comment of its variant in
// `bin/zegel.rs`.
#[derive(Args, Debug)]
pub struct UsageArgs {
    /// Only this tenant (the server's admin key may ask for any; others see their own).
    #[arg(long)]
    pub tenant: Option<String>,
    /// First day of the history (YYYY-MM-DD) [default: 30 days ago].
    #[arg(long)]
    pub from: Option<String>,
    /// Last day of the history (YYYY-MM-DD) [default: today].
    #[arg(long)]
    pub to: Option<String>,
    #[command(flatten)]
    pub remote: Remote,
}

// The arguments of `zegel seal`; its help text is the doc comment of its variant in
// `bin/zegel.rs`.
#[derive(Args, Debug)]
pub struct SealArgs {
    /// Private signing key file (from `zegel key generate`).
    #[arg(long)]
    pub key: PathBuf,
    /// Tenant identifier (a-z, 0-9, '.', '_', '-').
    #[arg(long)]
    pub tenant: String,
    /// Archive identifier (a-z, 0-9, '.', '_', '-').
    #[arg(long)]
    pub archive: String,
    /// JSON field of each row that holds its record key.
    #[arg(long)]
    pub key_field: String,
    /// Comma-separated fields copied into each header's metadata.
    #[arg(long, value_delimiter = ',')]
    pub index: Vec<String>,
    /// Rows per group commit: one receipt signature covers each group.
    #[arg(long, default_value_t = 1000)]
    pub group_rows: usize,
    /// Output directory (created).
    #[arg(long)]
    pub out: PathBuf,
    /// NDJSON input, one row per line.
    pub rows: PathBuf,
}
