//! Writes `formats/vectors/*.json` from `zegel_format::vectors::generate()`.
//! Run: `cargo run -p zegel-format --example generate_vectors`
//! The test `vectors::regenerating_changes_nothing` fails until the checked-in files match.

use std::path::Path;

fn main() -> std::io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    std::fs::create_dir_all(&dir)?;
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            std::fs::remove_file(path)?;
        }
    }
    let vectors = zegel_format::vectors::generate();
    for v in &vectors {
        std::fs::write(
            dir.join(zegel_format::vectors::file_name(v)),
            zegel_format::vectors::file_contents(v),
        )?;
    }
    println!("wrote {} vectors to {}", vectors.len(), dir.display());
    Ok(())
}
