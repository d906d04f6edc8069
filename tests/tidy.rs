//! The house rules that the compiler does not check, checked over the source tree: the layers
//! of docs/ARCHITECTURE.md (its table is the input), a reason beside every `allow`, limits
//! named only in a crate's `limits.rs`, the "only X knows Y" invariants, and short functions.
//! Each rule is a function from sources to violations, so a planted violation can be shown
//! to fail it (`tidy_catches_planted_violations`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest function outside tests, in lines (signature to closing brace).
const FUNCTION_LINES_MAX: usize = 100;

/// The crates whose modules the layer table orders: name in the table, source directory.
const CRATES: &[(&str, &str)] = &[("zegel", "src"), ("zegel-format", "formats/src")];

/// Where each crate's limits are named.
const LIMITS_FILES: &[&str] = &[
    "src/limits.rs",
    "formats/src/limits.rs",
    "verify/src/limits.rs",
];

/// Source roots the rules read (each crate's code, binaries and tests).
const SOURCE_ROOTS: &[&str] = &[
    "src",
    "bin",
    "formats/src",
    "formats/tests",
    "formats/examples",
    "tests",
    "fuzz/fuzz_targets",
    "verify/src",
    "bench/src",
];

/// "Only X knows Y": a path prefix that may appear only in the listed files or directories.
const ONLY: &[(&str, &[&str])] = &[
    ("rocksdb::", &["src/store.rs"]),
    ("object_store::", &["src/cold.rs"]),
    ("axum::", &["src/api/", "src/server.rs"]),
];

/// One source file: its path from the repository root and its text.
struct Source {
    path: String,
    text: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_tree(dir: &Path, out: &mut Vec<Source>) {
    let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let rel = dir.join(e.file_name());
        if e.path().is_dir() {
            read_tree(&rel, out);
        } else if rel.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(e.path()).unwrap();
            out.push(Source {
                path: rel.to_string_lossy().replace('\\', "/"),
                text,
            });
        }
    }
}

fn sources(roots: &[&str]) -> Vec<Source> {
    let mut out = Vec::new();
    for r in roots {
        read_tree(Path::new(r), &mut out);
    }
    out
}

/// The part of a file outside its test module (by convention the last item, `#[cfg(test)]`),
/// and the whole file for integration tests and examples.
fn product_part<'a>(path: &str, text: &'a str) -> &'a str {
    if path.starts_with("tests/") || path.contains("/tests/") {
        return "";
    }
    match text.find("#[cfg(test)]") {
        Some(i) => text.get(..i).unwrap_or(text),
        None => text,
    }
}

/// `text` with comments, string literals and character literals blanked out (each replaced
/// by spaces, newlines kept), so that braces, paths and `//` inside them count for nothing.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        let literal_end = if c == '/' && next == Some('/') {
            Some(
                (i..chars.len())
                    .find(|&j| chars.get(j) == Some(&'\n'))
                    .unwrap_or(chars.len()),
            )
        } else if c == '/' && next == Some('*') {
            Some(
                (i + 2..chars.len())
                    .find(|&j| chars.get(j) == Some(&'*') && chars.get(j + 1) == Some(&'/'))
                    .map_or(chars.len(), |j| j + 2),
            )
        } else if c == '"'
            || (c == 'r' && raw_start(&chars, i).is_some() && !ident_before(&chars, i))
        {
            Some(string_end(&chars, i))
        } else if c == '\'' {
            char_literal_end(&chars, i)
        } else {
            None
        };
        match literal_end {
            Some(end) => {
                out.extend(
                    chars
                        .get(i..end)
                        .unwrap_or_default()
                        .iter()
                        .map(|&c| blank(c)),
                );
                i = end;
            }
            None => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Whether the character before `i` continues an identifier (`bar"` is no raw string).
fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0
        && chars
            .get(i - 1)
            .is_some_and(|c| c.is_alphanumeric() || *c == '_')
}

/// The number of `#` of a raw string starting at `i` (`r"`, `r#"`), if one does.
fn raw_start(chars: &[char], i: usize) -> Option<usize> {
    let hashes = chars
        .get(i + 1..)?
        .iter()
        .take_while(|&&c| c == '#')
        .count();
    (chars.get(i + 1 + hashes) == Some(&'"')).then_some(hashes)
}

/// The index after the string literal (plain or raw) starting at `i`.
fn string_end(chars: &[char], i: usize) -> usize {
    if let Some(hashes) = chars
        .get(i)
        .filter(|&&c| c == 'r')
        .and_then(|_| raw_start(chars, i))
    {
        let body = i + 2 + hashes;
        return (body..chars.len())
            .find(|&j| {
                chars.get(j) == Some(&'"') && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#'))
            })
            .map_or(chars.len(), |j| j + 1 + hashes);
    }
    let mut j = i + 1;
    while let Some(&c) = chars.get(j) {
        match c {
            '\\' => j += 2,
            '"' => return j + 1,
            _ => j += 1,
        }
    }
    chars.len()
}

/// The index after the character literal starting at `i`, or `None` for a lifetime.
fn char_literal_end(chars: &[char], i: usize) -> Option<usize> {
    match chars.get(i + 1)? {
        '\\' => (i + 2..chars.len().min(i + 12))
            .find(|&j| chars.get(j) == Some(&'\''))
            .map(|j| j + 1),
        _ if chars.get(i + 2) == Some(&'\'') => Some(i + 3),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Layers

/// The layer table of ARCHITECTURE.md: per crate, module path → row (1 at the bottom).
fn layer_table(architecture: &str) -> BTreeMap<String, BTreeMap<String, u32>> {
    let mut out: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
    let Some(start) = architecture.find("\n## Layers") else {
        return out;
    };
    let section = architecture.get(start + 1..).unwrap_or_default();
    let end = section
        .get(3..)
        .and_then(|s| s.find("\n## "))
        .map_or(section.len(), |i| i + 3);
    for line in section.get(..end).unwrap_or_default().lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let [_, krate, row, modules, ..] = cells.as_slice() else {
            continue;
        };
        let (Ok(row), Some(krate)) = (row.parse::<u32>(), krate.strip_prefix('`')) else {
            continue;
        };
        let krate = krate.trim_end_matches('`').to_string();
        for m in modules.split('`').skip(1).step_by(2) {
            out.entry(krate.clone())
                .or_default()
                .insert(m.to_string(), row);
        }
    }
    out
}

/// The module path of a file under a crate's source directory (`archive/sequencer.rs` →
/// `archive::sequencer`, `api/mod.rs` → `api`, `lib.rs` → ``).
fn module_path(rel: &str) -> String {
    let rel = rel.strip_suffix(".rs").unwrap_or(rel);
    let mut parts: Vec<&str> = rel.split('/').collect();
    if matches!(parts.last(), Some(&"mod") | Some(&"lib")) {
        parts.pop();
    }
    parts.join("::")
}

/// Every `crate::…` path a file names: in `use` trees (groups expanded) and inline.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let text = code_only(text);
    let mut out = BTreeSet::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("use crate::") {
        let after = rest.get(i + "use crate::".len()..).unwrap_or_default();
        let end = after.find(';').unwrap_or(after.len());
        expand_use(&[], after.get(..end).unwrap_or_default(), &mut out);
        rest = after.get(end..).unwrap_or_default();
    }
    let mut rest = text.as_str();
    while let Some(i) = rest.find("crate::") {
        let after = rest.get(i + "crate::".len()..).unwrap_or_default();
        let path: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        // `crate::a::{b, c}` is a use group, expanded above: `a` itself is not used.
        let group = after.get(path.len()..).is_some_and(|r| r.starts_with('{'));
        if !group {
            out.insert(path.trim_end_matches(':').to_string());
        }
        rest = after;
    }
    out
}

/// Expands one `use` tree below `prefix` into full paths.
fn expand_use(prefix: &[String], tree: &str, out: &mut BTreeSet<String>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let mut prefix = prefix.to_vec();
        prefix.extend(
            tree.get(..open)
                .unwrap_or_default()
                .split("::")
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(String::from),
        );
        let inner = tree
            .get(open + 1..tree.rfind('}').unwrap_or(tree.len()))
            .unwrap_or_default();
        let (mut depth, mut from) = (0usize, 0usize);
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    expand_use(&prefix, inner.get(from..i).unwrap_or_default(), out);
                    from = i + 1;
                }
                _ => {}
            }
        }
        expand_use(&prefix, inner.get(from..).unwrap_or_default(), out);
        return;
    }
    let name = tree.split(" as ").next().unwrap_or_default().trim();
    if name.is_empty() {
        return;
    }
    let mut full = prefix.to_vec();
    full.extend(
        name.split("::")
            .map(str::trim)
            .filter(|p| !p.is_empty() && *p != "self")
            .map(String::from),
    );
    out.insert(full.join("::"));
}

/// The longest module of `known` that `path` names.
fn resolve<'a>(path: &str, known: &'a BTreeSet<String>) -> Option<&'a String> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .find_map(|n| known.get(&parts.get(..n).unwrap_or_default().join("::")))
}

/// The table entry that places a module: its own, or its nearest listed ancestor's, with
/// its row.
fn entry_of<'a>(module: &'a str, rows: &BTreeMap<String, u32>) -> Option<(&'a str, u32)> {
    let mut m = module;
    loop {
        if let Some(r) = rows.get(m) {
            return Some((m, *r));
        }
        m = m.rsplit_once("::")?.0;
    }
}

fn related(a: &str, b: &str) -> bool {
    let within = |inner: &str, outer: &str| {
        outer.is_empty() || inner == outer || inner.starts_with(&format!("{outer}::"))
    };
    within(a, b) || within(b, a)
}

/// Uses of a module in the same or a higher row, other than a module's own ancestors and
/// descendants and the modules placed by the same entry; and modules the table does not
/// place (a module that only declares its children needs no place).
fn layer_violations(files: &[(String, String)], rows: &BTreeMap<String, u32>) -> Vec<String> {
    let known: BTreeSet<String> = files.iter().map(|(m, _)| m.clone()).collect();
    let unplaced = |m: &str| format!("{m}: not in the layer table of docs/ARCHITECTURE.md");
    let mut out = Vec::new();
    for (module, text) in files {
        if module.is_empty() {
            continue;
        }
        let mine = entry_of(module, rows);
        for path in crate_paths(text) {
            let Some(used) = resolve(&path, &known) else {
                continue;
            };
            if used.is_empty() || related(module, used) {
                continue;
            }
            let Some((my_entry, my_row)) = mine else {
                out.push(unplaced(module));
                continue;
            };
            match entry_of(used, rows) {
                Some((entry, _)) if entry == my_entry => {}
                Some((_, row)) if row < my_row => {}
                Some((_, row)) => out.push(format!(
                    "{module} (row {my_row}) uses {used} (row {row}): a module may use only rows below its own"
                )),
                None => out.push(unplaced(used)),
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn crate_modules(dir: &str) -> Vec<(String, String)> {
    sources(&[dir])
        .into_iter()
        .map(|s| {
            let rel = s
                .path
                .strip_prefix(&format!("{dir}/"))
                .unwrap_or(&s.path)
                .to_string();
            let text = product_part(&s.path, &s.text).to_string();
            (module_path(&rel), text)
        })
        .collect()
}

#[test]
fn modules_use_only_lower_layers() {
    let architecture = std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).unwrap();
    let table = layer_table(&architecture);
    let mut problems = Vec::new();
    for (krate, dir) in CRATES {
        let rows = table
            .get(*krate)
            .unwrap_or_else(|| panic!("no layer rows for `{krate}` in docs/ARCHITECTURE.md"));
        problems.extend(
            layer_violations(&crate_modules(dir), rows)
                .into_iter()
                .map(|p| format!("{krate}: {p}")),
        );
    }
    assert!(
        problems.is_empty(),
        "layer violations:\n{}",
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// Allows, limits, absences, long functions

/// `allow`/`expect` attributes without a `//` comment on their line or the lines just above.
fn allows_without_reason(path: &str, text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let is_allow = ["#[allow(", "#![allow(", "#[expect(", "#![expect("]
            .iter()
            .any(|a| t.starts_with(a));
        if !is_allow || line.contains("//") {
            continue;
        }
        let above = lines
            .get(..i)
            .unwrap_or_default()
            .iter()
            .rev()
            .take_while(|l| {
                let l = l.trim_start();
                l.starts_with("//") || l.starts_with("#[")
            });
        if !above
            .into_iter()
            .any(|l| l.trim_start().starts_with("//") && !l.trim_start().starts_with("///"))
        {
            out.push(format!(
                "{path}:{}: `{}` says no reason (a `//` comment beside or above it)",
                i + 1,
                t
            ));
        }
    }
    out
}

/// `const …_MAX`/`_MIN` definitions outside the crate's `limits.rs`, tests excluded.
fn limits_outside(path: &str, text: &str) -> Vec<String> {
    if LIMITS_FILES.contains(&path) || path.starts_with("bench/") {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, line) in code_only(product_part(path, text)).lines().enumerate() {
        let Some(at) = line.find("const ") else {
            continue;
        };
        let name: String = line
            .get(at + "const ".len()..)
            .unwrap_or_default()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.ends_with("_MAX") || name.ends_with("_MIN") {
            out.push(format!(
                "{path}:{}: limit {name} is defined outside its crate's limits.rs",
                i + 1
            ));
        }
    }
    out
}

/// Paths named outside the files that alone may know them.
fn absences_broken(path: &str, text: &str) -> Vec<String> {
    let code = code_only(product_part(path, text));
    ONLY.iter()
        .filter(|(needle, allowed)| {
            code.contains(needle)
                && !allowed
                    .iter()
                    .any(|a| path == *a || (a.ends_with('/') && path.starts_with(a)))
        })
        .map(|(needle, allowed)| {
            format!(
                "{path}: names `{needle}`, which only {} may",
                allowed.join(", ")
            )
        })
        .collect()
}

/// Functions outside tests longer than [`FUNCTION_LINES_MAX`].
fn long_functions(path: &str, text: &str) -> Vec<String> {
    let code = code_only(product_part(path, text));
    let lines: Vec<&str> = code.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(at) = words.iter().position(|w| *w == "fn") else {
            continue;
        };
        let before_ok = words.get(..at).unwrap_or_default().iter().all(|w| {
            matches!(*w, "pub" | "async" | "const" | "unsafe" | "extern") || w.starts_with("pub(")
        });
        if !before_ok {
            continue;
        }
        let (mut depth, mut opened) = (0i64, false);
        for (j, l) in lines.iter().enumerate().skip(i) {
            for c in l.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if !opened && l.trim_end().ends_with(';') {
                break;
            }
            if opened && depth <= 0 {
                let n = j - i + 1;
                if n > FUNCTION_LINES_MAX {
                    let name = words
                        .get(at + 1)
                        .unwrap_or(&"?")
                        .split(['(', '<'])
                        .next()
                        .unwrap_or("?");
                    out.push(format!(
                        "{path}:{}: fn {name} is {n} lines (at most {FUNCTION_LINES_MAX})",
                        i + 1
                    ));
                }
                break;
            }
        }
    }
    out
}

fn check_all(rule: fn(&str, &str) -> Vec<String>, roots: &[&str]) -> Vec<String> {
    sources(roots)
        .iter()
        .flat_map(|s| rule(&s.path, &s.text))
        .collect()
}

#[test]
fn every_allow_says_why() {
    let problems = check_all(allows_without_reason, SOURCE_ROOTS);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn limits_are_named_in_limits_rs() {
    let problems = check_all(limits_outside, &["src", "bin", "formats/src", "verify/src"]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn only_one_module_knows_each_engine() {
    let problems = check_all(absences_broken, &["src", "bin"]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn functions_are_short() {
    let problems = check_all(long_functions, &["src", "bin", "formats/src", "verify/src"]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn clippy_forbids_unwrap_or_default_on_results() {
    let clippy = std::fs::read_to_string(root().join("clippy.toml")).unwrap();
    assert!(
        clippy.contains("\"std::result::Result::unwrap_or_default\""),
        "clippy.toml must list Result::unwrap_or_default in disallowed-methods: a failed read or encode must not pass for an empty value"
    );
}

// ---------------------------------------------------------------------------------------
// The rules refuse what they are there to refuse.

#[test]
fn tidy_catches_planted_violations() {
    let table = layer_table(
        "# A\n\n## Layers\n\n| crate | row | modules |\n| --- | --- | --- |\n| `c` | 1 | `store` `error` |\n| `c` | 2 | `archive` |\n| `c` | 3 | `api` |\n\n## Next\n| `c` | 9 | `ignored` |\n",
    );
    let rows = table.get("c").unwrap();
    assert_eq!(rows.get("ignored"), None);
    let files = |store_text: &str| {
        vec![
            ("store".to_string(), store_text.to_string()),
            ("error".to_string(), String::new()),
            (
                "archive".to_string(),
                "use crate::{store::Store, error::Error};".to_string(),
            ),
            (
                "archive::inner".to_string(),
                "use crate::archive::Thing;".to_string(),
            ),
            (
                "archive::group".to_string(),
                "use crate::archive::{inner, Other};".to_string(),
            ),
            (
                "api".to_string(),
                "fn f() { crate::archive::inner::go(); }".to_string(),
            ),
        ]
    };
    assert_eq!(
        layer_violations(&files("use crate::error::Error;"), rows).len(),
        1,
        "a peer in the same row"
    );
    assert!(layer_violations(&files(""), rows).is_empty());
    let up = layer_violations(&files("use crate::{\n    api::{self, Route},\n};"), rows);
    assert_eq!(
        up,
        vec!["store (row 1) uses api (row 3): a module may use only rows below its own"]
    );
    let inline = layer_violations(&files("fn g() { crate::archive::inner::go() }"), rows);
    assert_eq!(inline.len(), 1, "{inline:?}");
    let mut unplaced = files("");
    unplaced.push(("cli".into(), "use crate::api::Route;".into()));
    assert_eq!(layer_violations(&unplaced, rows).len(), 1);

    assert_eq!(
        allows_without_reason("x.rs", "#[allow(dead_code)]\nfn f() {}").len(),
        1
    );
    assert_eq!(
        allows_without_reason(
            "x.rs",
            "/// Docs are no reason.\n#[allow(dead_code)]\nfn f() {}"
        )
        .len(),
        1
    );
    assert!(
        allows_without_reason(
            "x.rs",
            "// Kept for the migration.\n#[allow(dead_code)]\nfn f() {}"
        )
        .is_empty()
    );
    assert!(
        allows_without_reason(
            "x.rs",
            "#[allow(dead_code)] // kept for the migration\nfn f() {}"
        )
        .is_empty()
    );

    assert_eq!(
        limits_outside("src/api/mod.rs", "pub const BODY_BYTES_MAX: usize = 1;").len(),
        1
    );
    assert!(limits_outside("src/limits.rs", "pub const BODY_BYTES_MAX: usize = 1;").is_empty());
    assert!(
        limits_outside(
            "src/x.rs",
            "#[cfg(test)]\nmod tests { const N_MAX: u8 = 1; }"
        )
        .is_empty()
    );

    assert_eq!(
        absences_broken("src/archive/x.rs", "use rocksdb::DB;").len(),
        1
    );
    assert!(absences_broken("src/store.rs", "use rocksdb::DB;").is_empty());
    assert!(absences_broken("src/api/read.rs", "use axum::Json;").is_empty());

    let long = format!(
        "pub async fn big() {{\n{}}}\nfn small() {{}}\n",
        "    step();\n".repeat(FUNCTION_LINES_MAX)
    );
    let found = long_functions("src/x.rs", &long);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found.first().unwrap().contains("fn big"), "{found:?}");
    assert!(
        long_functions("src/x.rs", &format!("#[cfg(test)]\nmod tests {{\n{long}}}")).is_empty()
    );
    let literals = format!(
        "fn a() {{ let c = '{{'; let s = \"}} {{\"; let r = r#\"{{\"#; }}\n// fn b() {{\n{}fn z() {{}}\n",
        "let x = 1;\n".repeat(FUNCTION_LINES_MAX)
    );
    assert!(
        long_functions("src/x.rs", &literals).is_empty(),
        "braces in literals and comments count for nothing"
    );
    assert_eq!(
        code_only("a 'b' \"//\" c // d\n'\\n' e"),
        "a          c     \n     e"
    );
}
