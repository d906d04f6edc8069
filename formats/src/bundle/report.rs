//! The HTML report inside a bundle (formats/bundle.md §5), rendered from the bundle's parts.

use std::fmt::Write as _;

use crate::checkpoint::Checkpoint;
use crate::disposition::Disposition;
use crate::error::DecodeError;
use crate::header::{Kind, MetaValue, PackageHeader};
use crate::limits::REPORT_AGREEMENT_BYTES_MAX;
use crate::note::{self};
use crate::proof::{ConsistencyProof, InclusionProof};
use crate::receipt::Receipt;
use crate::sealed::{self, OpenedPackage};

/// Version of the bundle format, report template included (formats/bundle.md §3, §5).
pub const BUNDLE_VERSION: u64 = 1;
/// File extension of a proof bundle.
pub const BUNDLE_EXTENSION: &str = "zbundle";
/// Media type of a proof bundle.
use super::Bundle;

/// Escapes text for HTML content and attribute values: `& < > " '`.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A time in ms since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, proleptic Gregorian).
pub fn format_utc(ms: u64) -> String {
    const MS_PER_DAY: u64 = 86_400_000;
    let (year, month, day) = crate::layout::civil_date(ms / MS_PER_DAY);
    let in_day = ms % MS_PER_DAY;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

fn utc_or(ms: Option<u64>, absent: &str) -> String {
    ms.map_or_else(|| absent.to_string(), format_utc)
}

const UNREADABLE: &str = "(cannot be read)";

const STYLE: &str = "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;\
color:#111;line-height:1.4}h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;\
border-bottom:1px solid #999}table{border-collapse:collapse;margin:0.5em 0}\
th,td{border:1px solid #bbb;padding:0.2em 0.5em;text-align:left;vertical-align:top}\
code,pre{font-family:monospace;word-break:break-all;white-space:pre-wrap}\
.note{background:#f3f3f3;padding:0.5em 1em;border-left:4px solid #666}";

/// What a check of `zegel-verify bundle` establishes, in the order it runs (formats/bundle.md
/// §6); the report lists them.
const CHECKS: &[(&str, &str)] = &[
    (
        "bundle.decode",
        "the file is a well-formed bundle (formats/bundle.md)",
    ),
    (
        "package.decode",
        "the sealed package opens and its header is valid",
    ),
    (
        "bundle.package",
        "the package is the bundle's entry, or its absence is explained by a disposition",
    ),
    (
        "object.N",
        "each object present has the size and SHA-256 its header states",
    ),
    (
        "bundle.redacted.N",
        "an object not in the bundle: only its digest is attested (not a failure)",
    ),
    (
        "package.leaf-hash",
        "the leaf hash: SHA-256 of 0x00 and the exact header bytes",
    ),
    (
        "receipt.*",
        "the receipt is signed by the trusted key and names this entry and leaf",
    ),
    (
        "bundle.key",
        "the trusted key is one of the archive's keys, valid when the receipt was signed",
    ),
    (
        "checkpoint.N.*",
        "each checkpoint is signed by the trusted key and names this archive",
    ),
    (
        "bundle.consistency.N",
        "the log only grew: the receipt's tree is a prefix of each checkpoint's",
    ),
    (
        "proof.inclusion",
        "the entry is in the tree of the bundle's checkpoint",
    ),
    (
        "bundle.agreement",
        "the agreement the header names is that entry of the same log",
    ),
    (
        "bundle.disposition.N",
        "each disposition is an entry of the same log and names this entry",
    ),
    (
        "bundle.report",
        "this report is exactly what the bundle's contents give",
    ),
];

fn row(out: &mut String, label: &str, value: &str) {
    let _ = writeln!(
        out,
        "<tr><th>{}</th><td>{}</td></tr>",
        escape_html(label),
        value
    );
}

fn code(text: &str) -> String {
    format!("<code>{}</code>", escape_html(text))
}

/// The HTML report of a bundle (formats/bundle.md §5): a pure function of every field but
/// `report`, so the verifier regenerates it and compares. It reads the parts without
/// verifying them and writes "(cannot be read)" where a part does not decode; it never
/// panics. The output is UTF-8 HTML with no script and no external resource.
pub fn report_html(b: &Bundle) -> String {
    let package = b.package.as_deref().map(sealed::open);
    let receipt = Receipt::decode(&b.receipt).ok();
    let title = format!("{}/{}, entry {}", b.tenant, b.archive, b.seq);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"generator\" content=\"zegel bundle report, bundle version {BUNDLE_VERSION}\">\n\
         <title>Zegel proof bundle: {t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Proof bundle: {t}</h1>\n",
        t = escape_html(&title)
    );
    out.push_str(
        "<p class=\"note\">This report summarises the proof bundle it is stored in. It was \
         generated from the bundle's contents by a fixed procedure (formats/bundle.md §5) and \
         proves nothing by itself: the proof is the verification described at the end, with the \
         archive's public key obtained from the archive through another channel. The verifier \
         also regenerates this report and fails the bundle if it differs, so the report cannot \
         say anything the bundle's contents do not.</p>\n",
    );
    report_summary(&mut out, b, package.as_ref(), receipt.as_ref());
    report_package(&mut out, b, package.as_ref(), receipt.as_ref());
    report_receipt(&mut out, receipt.as_ref());
    report_checkpoints(&mut out, b, receipt.as_ref());
    report_agreement(&mut out, b);
    report_dispositions(&mut out, b);
    report_keys(&mut out, b);
    report_how_to_verify(&mut out, b);
    out.push_str("</body>\n</html>\n");
    out
}

fn report_summary(
    out: &mut String,
    b: &Bundle,
    package: Option<&Result<OpenedPackage, DecodeError>>,
    receipt: Option<&Receipt>,
) {
    out.push_str("<h2>What this evidence is</h2>\n<p>");
    let place = format!(
        "entry {} of the archive {} of the tenant {}",
        b.seq, b.archive, b.tenant
    );
    let sentence = match package {
        Some(Ok(p)) => {
            let h = &p.header;
            let key = h
                .record_key
                .as_deref()
                .map_or(String::new(), |k| format!(" with record key {k}"));
            let withheld = p.objects.iter().filter(|o| o.is_none()).count();
            format!(
                "A {} package{key}, {place}, integrated at {}. The bundle holds its header and {} of its {} object(s){}.",
                h.kind.name(),
                format_utc(h.time_ms),
                p.objects.len() - withheld,
                p.objects.len(),
                if withheld > 0 {
                    "; the others are not included, only their digests are attested"
                } else {
                    ""
                }
            )
        }
        Some(Err(_)) => format!("The package at {place}; it {UNREADABLE}."),
        None => format!(
            "The package at {place} is not in this bundle: the bundle holds the record(s) of its disposition, and the proof that its leaf is still in the log."
        ),
    };
    out.push_str(&escape_html(&sentence));
    if let Some(r) = receipt {
        let _ = write!(
            out,
            " {}",
            escape_html(&format!(
                "The archive signed its receipt at {}.",
                format_utc(r.signed.head.time_ms)
            ))
        );
    }
    out.push_str("</p>\n");
}

fn report_package(
    out: &mut String,
    b: &Bundle,
    package: Option<&Result<OpenedPackage, DecodeError>>,
    receipt: Option<&Receipt>,
) {
    out.push_str("<h2>The package</h2>\n");
    let p = match package {
        Some(Ok(p)) => p,
        Some(Err(_)) => {
            let _ = writeln!(out, "<p>The sealed package {UNREADABLE}.</p>");
            return;
        }
        None => {
            let leaf = receipt.map_or(UNREADABLE.to_string(), |r| r.leaf.to_hex());
            let _ = writeln!(
                out,
                "<p>Not included. Its leaf hash, as the receipt states it: {}</p>",
                code(&leaf)
            );
            return;
        }
    };
    let h = &p.header;
    out.push_str("<table>\n");
    row(out, "Tenant", &escape_html(&h.tenant));
    row(out, "Archive", &escape_html(&h.archive));
    row(out, "Sequence number (entry)", &h.seq.to_string());
    row(out, "Kind", h.kind.name());
    row(
        out,
        "Record key",
        &h.record_key.as_deref().map_or("none".into(), escape_html),
    );
    row(out, "Integrated at (UTC)", &format_utc(h.time_ms));
    row(
        out,
        "Retained until (UTC)",
        &utc_or(h.retain_until_ms, "kept without end"),
    );
    row(
        out,
        "Agreement",
        &h.agreement.map_or("none".into(), |a| {
            format!("version {}, sealed at entry {}", a.version, a.seq)
        }),
    );
    row(
        out,
        "Previous leaf hash",
        &h.prev
            .map_or("none (first entry)".into(), |x| code(&x.to_hex())),
    );
    row(
        out,
        "Leaf hash: SHA-256(0x00 ‖ header)",
        &code(&p.leaf_hash().to_hex()),
    );
    row(
        out,
        "Header size",
        &format!("{} bytes", p.header_bytes.len()),
    );
    out.push_str("</table>\n<h3>Objects</h3>\n<table>\n");
    out.push_str(
        "<tr><th>#</th><th>Name</th><th>Media type</th><th>Size (bytes)</th><th>SHA-256</th><th>In this bundle</th></tr>\n",
    );
    for (i, (meta, body)) in h.objects.iter().zip(&p.objects).enumerate() {
        let present = match (body, b.dispositions.is_empty()) {
            (Some(_), _) => "included",
            (None, true) => "not included (withheld)",
            (None, false) => "not included (disposed)",
        };
        let _ = writeln!(
            out,
            "<tr><td>{i}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{present}</td></tr>",
            escape_html(&meta.name),
            escape_html(&meta.media_type),
            meta.size,
            code(&meta.digest.to_hex())
        );
    }
    out.push_str("</table>\n");
    report_metadata(out, h);
}

fn report_metadata(out: &mut String, h: &PackageHeader) {
    out.push_str("<h3>Metadata</h3>\n");
    if h.metadata.is_empty() {
        out.push_str("<p>none</p>\n");
        return;
    }
    out.push_str("<table>\n");
    for (name, value) in &h.metadata {
        let v = match value {
            MetaValue::Text(t) => escape_html(t),
            MetaValue::Int(i) => i.to_string(),
            MetaValue::Bool(x) => x.to_string(),
        };
        row(out, name, &v);
    }
    out.push_str("</table>\n");
}

fn report_receipt(out: &mut String, receipt: Option<&Receipt>) {
    out.push_str("<h2>Receipt (signed timestamp)</h2>\n");
    let Some(r) = receipt else {
        let _ = writeln!(out, "<p>The receipt {UNREADABLE}.</p>");
        return;
    };
    let head = &r.signed.head;
    out.push_str("<table>\n");
    row(
        out,
        "Signed by",
        &code(&format!(
            "{}+{}",
            r.signed.key_name,
            hex::encode(r.signed.key_id)
        )),
    );
    row(out, "Signed at (UTC)", &format_utc(head.time_ms));
    row(out, "Log", &escape_html(&head.origin));
    row(out, "Tree size", &head.size.to_string());
    row(out, "Root hash", &code(&head.root.to_hex()));
    row(out, "Entry", &r.seq.to_string());
    row(out, "Leaf hash", &code(&r.leaf.to_hex()));
    out.push_str("</table>\n");
}

/// A checkpoint read without verifying its signature, and its signers by name and key id.
fn read_checkpoint(note_text: &str) -> Option<(Checkpoint, Vec<String>)> {
    let n = note::parse_note(note_text.as_bytes()).ok()?;
    let cp = Checkpoint::parse_body(&n.text).ok()?;
    let signers = n
        .signatures
        .iter()
        .map(|s| format!("{}+{}", s.name, hex::encode(s.key_id)))
        .collect();
    Some((cp, signers))
}

fn report_checkpoints(out: &mut String, b: &Bundle, receipt: Option<&Receipt>) {
    out.push_str("<h2>Checkpoints (signed tree heads)</h2>\n<table>\n");
    out.push_str(
        "<tr><th>#</th><th>Log</th><th>Tree size</th><th>Root hash</th><th>Signed by</th></tr>\n",
    );
    let last = b.checkpoints.len().saturating_sub(1);
    let mut sizes: Vec<Option<u64>> = vec![receipt.map(|r| r.signed.head.size)];
    for (i, text) in b.checkpoints.iter().enumerate() {
        let mark = if i == last {
            " (the bundle's checkpoint)"
        } else {
            ""
        };
        match read_checkpoint(text) {
            Some((cp, signers)) => {
                sizes.push(Some(cp.size));
                let _ = writeln!(
                    out,
                    "<tr><td>{i}{mark}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape_html(&cp.origin),
                    cp.size,
                    code(&cp.root.to_hex()),
                    signers
                        .iter()
                        .map(|s| code(s))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
            }
            None => {
                sizes.push(None);
                let _ = writeln!(
                    out,
                    "<tr><td>{i}{mark}</td><td colspan=\"4\">{UNREADABLE}</td></tr>"
                );
            }
        }
    }
    out.push_str(
        "</table>\n<p>Consistency proofs, each showing that the log only grew:</p>\n<ul>\n",
    );
    for (i, bytes) in b.consistency.iter().enumerate() {
        let from = if i == 0 {
            "the receipt's tree".to_string()
        } else {
            format!("checkpoint {}", i - 1)
        };
        let sizes_of = |k: usize| {
            sizes
                .get(k)
                .copied()
                .flatten()
                .map_or("?".to_string(), |s| s.to_string())
        };
        let line = match ConsistencyProof::decode(bytes) {
            Ok(p) => format!(
                "{i}: from {from} (size {}) to checkpoint {i} (size {}), {} hash(es)",
                sizes_of(i),
                sizes_of(i + 1),
                p.path.len()
            ),
            Err(_) => format!("{i}: from {from} to checkpoint {i}: {UNREADABLE}"),
        };
        let _ = writeln!(out, "<li>{}</li>", escape_html(&line));
    }
    let inclusion = match InclusionProof::decode(&b.proof) {
        Ok(p) => format!(
            "Inclusion proof: entry {} in the tree of {}, {} hash(es).",
            p.index,
            p.size,
            p.path.len()
        ),
        Err(_) => format!("Inclusion proof: {UNREADABLE}."),
    };
    let _ = writeln!(out, "</ul>\n<p>{}</p>", escape_html(&inclusion));
}

fn report_agreement(out: &mut String, b: &Bundle) {
    out.push_str("<h2>The submission agreement</h2>\n");
    let Some(a) = &b.agreement else {
        out.push_str(
            "<p>None in this bundle: the package names no agreement, or is not included.</p>\n",
        );
        return;
    };
    let Ok(p) = sealed::open(&a.package) else {
        let _ = writeln!(out, "<p>The agreement package {UNREADABLE}.</p>");
        return;
    };
    let h = &p.header;
    out.push_str("<table>\n");
    row(out, "Entry", &h.seq.to_string());
    row(out, "Kind", h.kind.name());
    row(out, "Integrated at (UTC)", &format_utc(h.time_ms));
    row(out, "Leaf hash", &code(&p.leaf_hash().to_hex()));
    out.push_str("</table>\n");
    // Only the first object, the agreement document, is shown as text: that bounds the report.
    for (i, (meta, body)) in h.objects.iter().zip(&p.objects).enumerate() {
        let text = body
            .as_deref()
            .filter(|x| i == 0 && x.len() <= REPORT_AGREEMENT_BYTES_MAX)
            .and_then(|x| std::str::from_utf8(x).ok());
        let _ = writeln!(
            out,
            "<h3>{} ({}, {} bytes, SHA-256 {})</h3>",
            escape_html(&meta.name),
            escape_html(&meta.media_type),
            meta.size,
            code(&meta.digest.to_hex())
        );
        match text {
            Some(t) => {
                let _ = writeln!(out, "<pre>{}</pre>", escape_html(t));
            }
            None => out.push_str(
                "<p>Not shown here (not the agreement document, absent, not UTF-8 text, or larger than 64 KiB).</p>\n",
            ),
        }
    }
}

fn report_dispositions(out: &mut String, b: &Bundle) {
    out.push_str("<h2>Dispositions</h2>\n");
    if b.dispositions.is_empty() {
        out.push_str("<p>None: the bundle holds no record that the package was disposed of.</p>\n");
        return;
    }
    for (i, d) in b.dispositions.iter().enumerate() {
        let opened = sealed::open(&d.package).ok();
        let record = opened.as_ref().and_then(|p| match p.objects.as_slice() {
            [Some(bytes)] if p.header.kind == Kind::Disposition => Disposition::decode(bytes).ok(),
            _ => None,
        });
        let (Some(p), Some(rec)) = (opened.as_ref(), record) else {
            let _ = writeln!(out, "<p>Disposition {i}: {UNREADABLE}.</p>");
            continue;
        };
        let _ = writeln!(
            out,
            "<h3>Disposition at entry {}</h3>\n<table>",
            p.header.seq
        );
        row(out, "Cause", rec.cause.name());
        row(out, "Basis", &escape_html(&rec.basis));
        row(
            out,
            "Authorized by",
            &rec.authorized_by
                .iter()
                .map(|a| code(a))
                .collect::<Vec<_>>()
                .join(" "),
        );
        row(out, "Decided at (UTC)", &format_utc(rec.decided_ms));
        let names_this = rec
            .packages
            .iter()
            .find(|x| x.seq == b.seq)
            .map_or("no".to_string(), |x| {
                format!("yes, with leaf hash {}", code(&x.leaf.to_hex()))
            });
        row(
            out,
            "Packages disposed",
            &format!(
                "{}; this entry among them: {names_this}",
                rec.packages.len()
            ),
        );
        row(
            out,
            "Receipt signed at (UTC)",
            &Receipt::decode(&d.receipt).map_or(UNREADABLE.to_string(), |r| {
                format_utc(r.signed.head.time_ms)
            }),
        );
        out.push_str("</table>\n");
    }
}

fn report_keys(out: &mut String, b: &Bundle) {
    out.push_str("<h2>The archive's public keys</h2>\n<table>\n");
    out.push_str("<tr><th>Name</th><th>Key id</th><th>Fingerprint (SHA-256)</th><th>Valid from (UTC)</th><th>Valid until (UTC)</th><th>Verifier key</th></tr>\n");
    for k in &b.keys {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape_html(k.key.name()),
            code(&hex::encode(k.key.key_id())),
            code(&hex::encode(k.key.fingerprint())),
            utc_or(k.valid_from_ms, "the beginning"),
            utc_or(k.valid_until_ms, "no end"),
            code(&k.key.to_text())
        );
    }
    out.push_str("</table>\n<p>Compare the fingerprint with the one the archive publishes elsewhere before trusting a key.</p>\n");
}

fn report_how_to_verify(out: &mut String, b: &Bundle) {
    let file = format!("{}-{}-{}.{BUNDLE_EXTENSION}", b.tenant, b.archive, b.seq);
    let _ = writeln!(
        out,
        "<h2>How to verify</h2>\n<p>Offline, with nothing but this bundle, the archive's public key \
         and <code>zegel-verify</code> built from the Zegel sources, or a verifier written from the \
         specifications in <code>formats/</code>:</p>\n<pre>zegel-verify bundle --key KEY {}</pre>\n\
         <p>KEY is the archive's verifier key text (or a file holding it), or the 64-digit \
         fingerprint of that key, obtained from the archive independently of this bundle: never \
         copied from this report, which anyone who forged the bundle could have written. The \
         verifier prints one line per check, with its verdict and reason, and exits with 0 when \
         every check passed, 1 when one failed and 2 when it could not run. The checks, in \
         order:</p>\n<table>",
        escape_html(&file)
    );
    for (name, what) in CHECKS {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td></tr>",
            code(name),
            escape_html(what)
        );
    }
    out.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_known_answers() {
        let check = |ms: u64, want: &str| assert_eq!(format_utc(ms), want, "{ms}");
        check(0, "1970-01-01T00:00:00.000Z");
        check(1_764_000_003_000, "2025-11-24T16:00:03.000Z");
        check(951_782_400_000, "2000-02-29T00:00:00.000Z");
        check(951_868_799_999, "2000-02-29T23:59:59.999Z");
        check(4_107_542_400_000, "2100-03-01T00:00:00.000Z");
        check(1_709_164_800_000 + 86_399_001, "2024-02-29T23:59:59.001Z");
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape_html("<script>a & 'b' \"c\"</script>"),
            "&lt;script&gt;a &amp; &#39;b&#39; &quot;c&quot;&lt;/script&gt;"
        );
        assert_eq!(escape_html("ünïcode ‖"), "ünïcode ‖");
    }
}
