//! `zegel-verify`: offline verification of Zegel evidence. No server, no database: the files
//! and the archive's public key suffice. `zegel-verify --key KEY FILE` verifies a proof bundle
//! or a certificate by its extension. Exit codes: 0 verified, 1 a check failed, 2 could not
//! run (see the `zegel_verify` library).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use zegel_verify::{EXIT_CANNOT_RUN, InputError, PackageFiles};

#[derive(Parser, Debug)]
#[command(
    name = "zegel-verify",
    version,
    about = "Verify Zegel proof bundles, packages, proofs, checkpoints and receipts offline",
    args_conflicts_with_subcommands = true,
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// For FILE: the archive's public key (key text, a file holding it, or for a bundle the
    /// key's 64-hex-digit fingerprint).
    #[arg(long, requires = "file")]
    key: Option<String>,
    /// A proof bundle (.zbundle) or a certificate of destruction (.zcert), verified as the
    /// `bundle` or `certificate` subcommand does.
    #[arg(requires = "key")]
    file: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Verify a sealed package: decoding, object digests, and (given them) its inclusion
    /// under a signed checkpoint and its signed receipt.
    Package {
        /// The archive's public key: the key text `name+id+base64`, or a file holding it.
        #[arg(long)]
        key: String,
        /// The sealed package (.zpkg).
        #[arg(long)]
        package: PathBuf,
        /// The inclusion proof of the package (CBOR, formats/proofs.md).
        #[arg(long, requires = "checkpoint")]
        proof: Option<PathBuf>,
        /// The signed checkpoint (a signed note, formats/checkpoint.md).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// The package's receipt (CBOR, formats/receipt.md).
        #[arg(long)]
        receipt: Option<PathBuf>,
    },
    /// Verify that an older checkpoint is a prefix of a newer one.
    Consistency {
        /// The archive's public key: key text or a file holding it.
        #[arg(long)]
        key: String,
        /// The older signed checkpoint.
        #[arg(long)]
        old: PathBuf,
        /// The newer signed checkpoint.
        #[arg(long)]
        new: PathBuf,
        /// The consistency proof between them (CBOR, formats/proofs.md).
        #[arg(long)]
        proof: PathBuf,
    },
    /// Verify the hash chain of consecutive sealed packages of one archive, oldest first.
    Chain {
        /// Sealed packages in sequence order.
        #[arg(required = true)]
        packages: Vec<PathBuf>,
    },
    /// Verify a proof bundle: the package (or its disposition), receipt, key, checkpoints,
    /// consistency and inclusion proofs, agreement, dispositions and its HTML report.
    Bundle {
        /// The archive's public key: the key text `name+id+base64`, a file holding it, or the
        /// key's 64-hex-digit fingerprint when the bundle lists the key.
        #[arg(long)]
        key: String,
        /// Write the bundle's HTML report to this file (when the bundle decodes).
        #[arg(long)]
        html: Option<PathBuf>,
        /// The proof bundle (.zbundle, formats/bundle.md).
        file: PathBuf,
    },
    /// Verify a certificate of destruction: the disposition package, its proofs and receipt,
    /// and that every disposed package's leaf is still in the log.
    Certificate {
        /// The archive's public key: key text or a file holding it.
        #[arg(long)]
        key: String,
        /// The certificate of destruction (.zcert, formats/disposition.md).
        file: PathBuf,
    },
    /// Run conformance vectors (formats/vectors/): each must give its expected outcome.
    Vectors {
        /// Vector files or directories of them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

fn run(cli: Cli) -> Result<i32, InputError> {
    let command = match (cli.command, cli.key, cli.file) {
        (Some(command), _, _) => command,
        (None, Some(key), Some(file)) => {
            let report = zegel_verify::verify_file(&file, &key)?;
            print!("{}", zegel_verify::render(&report));
            return Ok(zegel_verify::exit_code(&report));
        }
        // clap requires --key and FILE together, and prints the help when nothing is given.
        (None, _, _) => return Err(InputError::UnknownFile("no file".into())),
    };
    let report = match command {
        Command::Package {
            key,
            package,
            proof,
            checkpoint,
            receipt,
        } => {
            let key = zegel_verify::load_key(&key)?;
            zegel_verify::verify_package_files(
                &PackageFiles {
                    package,
                    proof,
                    checkpoint,
                    receipt,
                },
                &key,
            )?
        }
        Command::Consistency {
            key,
            old,
            new,
            proof,
        } => {
            let key = zegel_verify::load_key(&key)?;
            zegel_verify::verify_consistency_files(&old, &new, &proof, &key)?
        }
        Command::Bundle { key, html, file } => {
            let key = zegel_verify::load_bundle_key(&key)?;
            zegel_verify::verify_bundle_file(&file, &key, html.as_deref())?
        }
        Command::Certificate { key, file } => {
            let key = zegel_verify::load_key(&key)?;
            zegel_verify::verify_certificate_file(&file, &key)?
        }
        Command::Chain { packages } => zegel_verify::verify_chain_files(&packages)?,
        Command::Vectors { paths } => {
            let (text, ok) = zegel_verify::run_vectors(&paths)?;
            print!("{text}");
            return Ok(if ok {
                zegel_verify::EXIT_VERIFIED
            } else {
                zegel_verify::EXIT_FAILED
            });
        }
    };
    print!("{}", zegel_verify::render(&report));
    Ok(zegel_verify::exit_code(&report))
}

fn main() -> ExitCode {
    let code = match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("zegel-verify: cannot verify: {e}");
            EXIT_CANNOT_RUN
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}
