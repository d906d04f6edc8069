//! The programs a benchmark runs: `zegel` and `zegel-verify`, built into the same target
//! directory as `zegel-bench` itself (scripts/bench.sh builds all three).

use std::path::PathBuf;

/// The server and admin CLI, for `zegel serve` and its commands.
pub const ZEGEL: &str = "zegel";
/// The offline verifier.
pub const ZEGEL_VERIFY: &str = "zegel-verify";

/// The path of `name` next to this executable, or what to build when it is not there.
pub fn sibling(name: &str) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("this executable's path: {e}"))?;
    let path = exe.with_file_name(name);
    if path.is_file() {
        return Ok(path);
    }
    // Cargo puts a profile's binaries in target/<profile>/ (debug for `dev`).
    let (flag, then) = match exe.parent().and_then(|dir| dir.file_name()) {
        Some(dir) if dir == "debug" => ("", ""),
        Some(dir) if dir == "release" => (" --release", ""),
        _ => (" --release", " and copy it there"),
    };
    Err(format!(
        "{} not found beside {}: build it with `cargo build{flag} --locked -p {name}`{then} \
         (scripts/bench.sh builds zegel, zegel-verify and zegel-bench together)",
        path.display(),
        exe.display()
    ))
}
