//! The `zegel-bench` binary's interface: the four benchmarks scripts/bench.sh runs. (The
//! benchmarks themselves are measured by scripts/bench.sh, never asserted.)

// Test helpers fail loudly on purpose: a panic here is a test failure, not a crash path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

const BENCH: &str = env!("CARGO_BIN_EXE_zegel-bench");

#[test]
fn every_benchmark_of_scripts_bench_sh_is_a_subcommand() {
    for what in ["formats", "server", "tier", "audit"] {
        let out = Command::new(BENCH)
            .args([what, "--help"])
            .output()
            .unwrap_or_else(|e| panic!("{BENCH}: {e}"));
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{what}: {help}");
        assert!(
            help.contains("--rows") && help.contains("--write"),
            "{what}: {help}"
        );
    }
}
