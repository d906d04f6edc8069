//! The figures as a markdown table, and its section of docs/BENCHMARKS.md between markers;
//! the benchmark rows every benchmark reads.

use std::fmt::Write as _;
use std::io::BufRead;
use std::path::Path;

/// One result row of the table.
#[derive(Debug, Clone)]
pub struct Figure {
    pub what: String,
    pub value: String,
    pub baseline: String,
}

/// The benchmark rows: one NDJSON line each, at least one.
pub fn read_rows(path: &Path) -> Result<Vec<String>, String> {
    let rows: Vec<String> = std::io::BufReader::new(
        std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?,
    )
    .lines()
    .collect::<Result<_, _>>()
    .map_err(|e| e.to_string())?;
    if rows.is_empty() {
        return Err(format!("{}: no rows", path.display()));
    }
    Ok(rows)
}

/// The markdown section for docs/BENCHMARKS.md.
pub fn render(figures: &[Figure], command: &str, rows: usize, setup: &str) -> String {
    let mut s = String::new();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(
        s,
        "Command: `{command}` ({rows} rows from `../shared/bench/gen_rows.py {rows} 7`)  "
    );
    let _ = writeln!(s, "Machine: {cpu}, {cores} cores. {setup}\n");
    let _ = writeln!(s, "| what | Zegel | same-run baseline |");
    let _ = writeln!(s, "| --- | --- | --- |");
    for f in figures {
        let _ = writeln!(s, "| {} | {} | {} |", f.what, f.value, f.baseline);
    }
    s
}

/// Replaces the text between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->` in the
/// file (appending the section if the markers are absent).
pub fn write_section(file: &Path, name: &str, title: &str, body: &str) -> std::io::Result<()> {
    let start = format!("<!-- bench:{name}:start -->");
    let end = format!("<!-- bench:{name}:end -->");
    let old = std::fs::read_to_string(file).unwrap_or_else(|_| "# Benchmarks\n".into());
    let section = format!("{start}\n## {title}\n\n{body}{end}");
    let new = match (old.find(&start), old.find(&end)) {
        (Some(a), Some(b)) if b > a => format!("{}{}{}", &old[..a], section, &old[b + end.len()..]),
        _ => format!("{}\n{}\n", old.trim_end(), section),
    };
    std::fs::write(file, new)
}
