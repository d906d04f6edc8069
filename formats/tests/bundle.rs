//! Proof bundles (formats/bundle.md): the codec's round trip and refusals, the report's
//! safety and determinism, trust by fingerprint, redaction, and that no byte of a bundle can
//! change without the verification failing.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use base64::Engine;
use zegel_format::DecodeError;
use zegel_format::bundle::{self, ArchiveKey, Bundle, DispositionEvidence, report_html};
use zegel_format::header::{MetaValue, ObjectRef};
use zegel_format::limits::{BUNDLE_CHECKPOINTS_MAX, BUNDLE_REPORT_BYTES_MAX};
use zegel_format::note::SigningKey;
use zegel_format::sealed;
use zegel_format::vectors::{self, SampleLog};
use zegel_format::verify::{self, Outcome, TrustedKey, Verdict};

/// The bundle vectors, by scenario, as bytes.
fn vectors() -> &'static BTreeMap<String, Vec<u8>> {
    static BUNDLES: OnceLock<BTreeMap<String, Vec<u8>>> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        vectors::generate_bundles()
            .into_iter()
            .map(|v| {
                let b64 = v.inputs["bundle"].as_str().unwrap().to_string();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap();
                (v.scenario, bytes)
            })
            .collect()
    })
}

fn ok_bundle() -> Bundle {
    Bundle::decode(&vectors()["bundle-ok"]).unwrap()
}

fn trusted() -> zegel_format::note::VerifierKey {
    vectors::test_key().verifier()
}

#[test]
fn bundles_round_trip() {
    let mut decoded = 0;
    for (name, bytes) in vectors() {
        if let Ok(b) = Bundle::decode(bytes) {
            assert_eq!(&b.encode(), bytes, "{name}");
            decoded += 1;
        }
    }
    assert_eq!(
        decoded,
        vectors().len() - 1,
        "all but bundle-truncated decode"
    );
}

/// Edits a valid bundle, encodes it, and checks the decoder's verdict.
fn check(what: &str, edit: impl FnOnce(&mut Bundle), ok: bool) {
    let mut b = ok_bundle();
    edit(&mut b);
    let decoded = Bundle::decode(&b.encode());
    assert_eq!(decoded.is_ok(), ok, "{what}: {decoded:?}");
}

#[test]
fn the_decoder_refuses_what_the_spec_refuses() {
    let other = SigningKey::from_seed("zegel.other", [5; 32])
        .unwrap()
        .verifier();
    check("unchanged", |_| {}, true);
    check("upper-case tenant", |b| b.tenant = "ACME".into(), false);
    check("empty archive", |b| b.archive = String::new(), false);
    check(
        "no checkpoint",
        |b| {
            b.checkpoints.clear();
            b.consistency.clear();
        },
        false,
    );
    check("one proof too many", |b| b.consistency.push(vec![0]), false);
    check(
        "17 checkpoints",
        |b| {
            b.checkpoints = vec![b.checkpoints[0].clone(); BUNDLE_CHECKPOINTS_MAX + 1];
            b.consistency = vec![b.consistency[0].clone(); BUNDLE_CHECKPOINTS_MAX + 1];
        },
        false,
    );
    check("no keys", |b| b.keys.clear(), false);
    check(
        "a key listed twice",
        |b| {
            let k = b.keys[1].clone();
            b.keys.push(ArchiveKey {
                valid_from_ms: None,
                ..k
            });
        },
        false,
    );
    check(
        "a period that ends before it begins",
        |b| b.keys[1].valid_until_ms = b.keys[1].valid_from_ms,
        false,
    );
    check(
        "open periods",
        |b| {
            b.keys[1].valid_from_ms = None;
            b.keys[1].valid_until_ms = None;
        },
        true,
    );
    check(
        "another key",
        |b| {
            b.keys.push(ArchiveKey {
                key: other,
                valid_from_ms: None,
                valid_until_ms: None,
            })
        },
        true,
    );
    check(
        "17 dispositions",
        |b| {
            b.dispositions = vec![
                DispositionEvidence {
                    package: vec![],
                    proof: vec![],
                    receipt: vec![],
                };
                17
            ]
        },
        false,
    );
    check(
        "a report above its limit",
        |b| b.report = "x".repeat(BUNDLE_REPORT_BYTES_MAX + 1),
        false,
    );
    check("no package", |b| b.package = None, true);
    check(
        "a receipt above its limit",
        |b| b.receipt = vec![0; zegel_format::limits::PROOF_BYTES_MAX + 1],
        false,
    );
    check(
        "a checkpoint above its limit",
        |b| b.checkpoints[0] = "x".repeat(zegel_format::limits::NOTE_BYTES_MAX + 1),
        false,
    );
}

/// `validate` refuses what `decode` refuses, so an exporter that validates never writes a
/// bundle no verifier can read.
#[test]
fn validate_agrees_with_decode() {
    fn agree(what: &str, edit: impl FnOnce(&mut Bundle)) {
        let mut b = ok_bundle();
        edit(&mut b);
        let decoded = Bundle::decode(&b.encode());
        assert_eq!(b.validate().is_ok(), decoded.is_ok(), "{what}: {decoded:?}");
    }
    let proof_max = zegel_format::limits::PROOF_BYTES_MAX;
    agree("unchanged", |_| {});
    agree("upper-case tenant", |b| b.tenant = "ACME".into());
    agree("no keys", |b| b.keys.clear());
    agree("one proof too many", |b| b.consistency.push(vec![0]));
    agree("a large proof", |b| b.proof = vec![0; proof_max + 1]);
    agree("a large disposition receipt", |b| {
        b.dispositions.push(DispositionEvidence {
            package: vec![],
            proof: vec![],
            receipt: vec![0; proof_max + 1],
        })
    });
}

/// Byte-level refusals: what the struct cannot express.
#[test]
fn the_decoder_refuses_malformed_bytes() {
    let bytes = vectors()["bundle-ok"].clone();
    let refused = |what: &str, b: &[u8]| {
        assert!(Bundle::decode(b).is_err(), "{what} decodes");
    };
    let mut trailing = bytes.clone();
    trailing.push(0);
    refused("a byte after the bundle", &trailing);
    let mut version = bytes.clone();
    version[2] = 0x02;
    assert!(matches!(
        Bundle::decode(&version),
        Err(DecodeError::Unsupported { .. })
    ));
    refused("empty input", &[]);
    // A key entry whose key id is not its key text's: 0x01 0x44 <4 bytes> inside key 9.
    let k = ok_bundle().keys[1].key.key_id();
    let at = bytes
        .windows(6)
        .position(|w| w == [0x01, 0x44, k[0], k[1], k[2], k[3]])
        .unwrap();
    let mut wrong_id = bytes.clone();
    wrong_id[at + 2] ^= 0x01;
    refused("a key id that is not the key text's", &wrong_id);
    // A key text with white space around it: valid as a key, but not its canonical encoding.
    let text = ok_bundle().keys[1].key.to_text();
    let padded = {
        let mut b = ok_bundle();
        b.report.clear();
        let canonical = b.encode();
        let from = [&[0x78, text.len() as u8][..], text.as_bytes()].concat();
        let to = [&[0x78, text.len() as u8 + 1][..], text.as_bytes(), b" "].concat();
        let at = canonical
            .windows(from.len())
            .position(|w| w == from)
            .unwrap();
        [&canonical[..at], &to[..], &canonical[at + from.len()..]].concat()
    };
    refused("a padded key text", &padded);
}

#[test]
fn trust_by_fingerprint() {
    let bytes = &vectors()["bundle-ok"];
    let by_key = verify::verify_bundle(bytes, &trusted());
    let fingerprint = trusted().fingerprint();
    let by_fingerprint =
        verify::verify_bundle_trusting(bytes, TrustedKey::Fingerprint(&fingerprint));
    assert!(by_fingerprint.passed(), "{by_fingerprint:?}");
    assert_eq!(by_key, by_fingerprint);
    // A fingerprint no listed key has.
    let r = verify::verify_bundle_trusting(bytes, TrustedKey::Fingerprint(&[7; 32]));
    let f = r.first_failure().unwrap();
    assert_eq!(
        (f.name.as_str(), f.outcome),
        ("bundle.key", Outcome::BadKey)
    );
    // The retired key's fingerprint: listed, but it signed nothing here.
    let retired = ok_bundle().keys[0].key.fingerprint();
    let r = verify::verify_bundle_trusting(bytes, TrustedKey::Fingerprint(&retired));
    let f = r.first_failure().unwrap();
    assert_eq!(
        (f.name.as_str(), f.outcome),
        ("receipt.signature", Outcome::BadSignature)
    );
}

#[test]
fn redaction_keeps_header_and_leaf() {
    let log = SampleLog::build();
    let full = sealed::open(&log.sealed[3]).unwrap();
    let kept = sealed::open(&bundle::redact(&log.sealed[3], |_, _| true).unwrap()).unwrap();
    assert_eq!(kept, full);
    let withheld = sealed::open(&bundle::redact(&log.sealed[3], |_, _| false).unwrap()).unwrap();
    assert_eq!(withheld.header_bytes, full.header_bytes);
    assert_eq!(withheld.objects, vec![None]);
    assert!(bundle::redact(b"not a package", |_, _| true).is_err());
}

fn assert_safe_html(what: &str, html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>\n"), "{what}");
    assert!(html.ends_with("</html>\n"), "{what}");
    assert!(
        html.contains("Content-Security-Policy\" content=\"default-src 'none'"),
        "{what}"
    );
    // Text never holds a raw '<' (it is escaped), so each '<' opens a tag the report wrote.
    let lower = html.to_ascii_lowercase();
    for tag in lower.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or_default();
        let tag_name = tag
            .trim_start_matches('/')
            .split([' ', '\n'])
            .next()
            .unwrap();
        assert!(
            [
                "!doctype", "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3",
                "p", "table", "tr", "th", "td", "code", "pre", "ul", "li"
            ]
            .contains(&tag_name),
            "{what}: unexpected tag <{tag}>"
        );
        // Attributes as the report writes them: name="value", values without spaces but
        // the CSP's, which holds no '='.
        let attrs = tag.split_once(' ').map_or("", |(_, a)| a);
        for name in attrs
            .split(' ')
            .filter_map(|a| a.split_once('=').map(|(n, _)| n))
        {
            assert!(
                [
                    "lang",
                    "charset",
                    "http-equiv",
                    "content",
                    "name",
                    "class",
                    "colspan"
                ]
                .contains(&name),
                "{what}: <{tag}> has the attribute {name}"
            );
        }
    }
    assert!(!lower.contains("url("), "{what} loads a resource from CSS");
}

#[test]
fn every_report_is_self_contained_html() {
    for (name, bytes) in vectors() {
        if let Ok(b) = Bundle::decode(bytes) {
            assert_safe_html(name, &report_html(&b));
            assert_eq!(report_html(&b), report_html(&b), "{name}: deterministic");
        }
    }
}

/// Hostile text anywhere in the evidence is escaped, never markup.
#[test]
fn the_report_escapes_everything() {
    let log = SampleLog::build();
    let hostile = "<script>alert('x')</script><img src=\"http://evil.example/\">&amp;";
    let mut h = log.headers[3].clone();
    h.metadata
        .insert("note".into(), MetaValue::Text(hostile.into()));
    h.record_key = Some(hostile.into());
    h.objects.push(ObjectRef {
        name: hostile.replace('/', "|"),
        media_type: "text/html".into(),
        size: 0,
        digest: zegel_format::hash::sha256(b""),
    });
    let header = h.encode();
    let raw = sealed::encode_package(&header, &[Some(&log.objects[3]), Some(b"")]);
    let package = zstd::bulk::compress(&raw, 3).unwrap();
    let b = Bundle {
        package: Some(package),
        ..ok_bundle()
    }
    .with_report();
    assert_safe_html("hostile header", &b.report);
    assert!(
        b.report
            .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
    );
    assert!(b.report.contains("&amp;amp;"));
}

/// Parts that do not decode are named, never a panic.
#[test]
fn the_report_of_garbage_says_so() {
    let b = Bundle {
        package: Some(b"garbage".to_vec()),
        receipt: vec![0xff],
        proof: vec![],
        checkpoints: vec!["not a note".into()],
        consistency: vec![vec![0x00]],
        agreement: Some(bundle::AgreementEvidence {
            package: vec![1, 2, 3],
            proof: vec![],
        }),
        dispositions: vec![DispositionEvidence {
            package: vec![],
            proof: vec![],
            receipt: vec![],
        }],
        ..ok_bundle()
    };
    let html = report_html(&b);
    assert_safe_html("garbage", &html);
    assert!(html.matches("(cannot be read)").count() >= 6, "{html}");
}

/// A large bundle within every limit gives a report far below `BUNDLE_REPORT_BYTES_MAX`.
#[test]
fn reports_stay_within_their_limit() {
    let log = SampleLog::build();
    let mut h = log.headers[3].clone();
    // Quotes escape to six bytes each: the worst case for header text.
    for i in 0..60 {
        h.metadata
            .insert(format!("field{i:02}"), MetaValue::Text("\"".repeat(1000)));
    }
    let header = h.encode();
    assert!(header.len() <= zegel_format::limits::HEADER_BYTES_MAX);
    let raw = sealed::encode_package(&header, &[Some(&log.objects[3])]);
    let package = zstd::bulk::compress(&raw, 3).unwrap();
    let keys = (0..16u8)
        .map(|i| ArchiveKey {
            key: SigningKey::from_seed(&format!("{}{i:02}", "k".repeat(120)), [i; 32])
                .unwrap()
                .verifier(),
            valid_from_ms: Some(u64::from(i)),
            valid_until_ms: None,
        })
        .collect();
    let ok = ok_bundle();
    let b = Bundle {
        package: Some(package),
        keys,
        checkpoints: vec![ok.checkpoints[0].clone(); BUNDLE_CHECKPOINTS_MAX],
        consistency: vec![ok.consistency[0].clone(); BUNDLE_CHECKPOINTS_MAX],
        ..ok
    }
    .with_report();
    assert!(
        b.report.len() < BUNDLE_REPORT_BYTES_MAX / 4,
        "{} bytes",
        b.report.len()
    );
    assert!(Bundle::decode(&b.encode()).is_ok());
}

/// Flipping one bit of any byte of a valid bundle makes it fail: every byte is covered by a
/// hash, a signature, the strict decoder or the report.
#[test]
fn no_byte_of_a_bundle_can_change_unnoticed() {
    // Every byte of one bundle, every fifth of one with an absent package and a disposition.
    for (name, step) in [("bundle-ok", 1), ("bundle-disposed-ok", 5)] {
        let bytes = &vectors()[name];
        assert!(verify::verify_bundle(bytes, &trusted()).passed(), "{name}");
        let mut missed = Vec::new();
        for i in (0..bytes.len()).step_by(step) {
            let mut flipped = bytes.clone();
            flipped[i] ^= 1 << (i % 8);
            let r = verify::verify_bundle(&flipped, &trusted());
            if r.passed() {
                missed.push(i);
            }
        }
        assert!(missed.is_empty(), "{name}: flips at {missed:?} verify");
    }
}

/// A withheld object is a skip with its own name, never a failure.
#[test]
fn withheld_objects_are_named_as_redacted() {
    let r = verify::verify_bundle(&vectors()["bundle-redacted-ok"], &trusted());
    assert!(r.passed());
    let c = r
        .checks
        .iter()
        .find(|c| c.name == "bundle.redacted.0")
        .unwrap();
    assert_eq!(c.verdict, Verdict::Skip);
    assert!(!r.checks.iter().any(|c| c.name == "object.0"));
}

/// Every proper prefix of a bundle is refused by the decoder, without a panic.
#[test]
fn every_truncation_is_refused() {
    let bytes = &vectors()["bundle-disposed-ok"];
    for n in 0..bytes.len() {
        assert!(Bundle::decode(&bytes[..n]).is_err(), "prefix of {n} bytes");
    }
}
