//! Signed notes and checkpoints from untrusted bytes: `note::parse_note`,
//! `Checkpoint::parse_body`, `checkpoint::open` with the fixed test key, and the key text
//! parsers `VerifierKey::from_text` / `SigningKey::from_private_text`.
#![no_main]

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use libfuzzer_sys::fuzz_target;
use zegel_format::checkpoint::{self, Checkpoint};
use zegel_format::note::{self, SigningKey, VerifierKey};
use zegel_format::vectors::test_key;

static SIGNER: LazyLock<SigningKey> = LazyLock::new(test_key);
static KEY: LazyLock<VerifierKey> = LazyLock::new(|| test_key().verifier());

fuzz_target!(|data: &[u8]| {
    // Signed note: whatever parses re-serialises to exactly the input.
    if let Ok(n) = note::parse_note(data) {
        let mut again = n.text.clone();
        again.push('\n');
        for s in &n.signatures {
            let mut raw = s.key_id.to_vec();
            raw.extend_from_slice(&s.signature);
            again.push_str(&format!("\u{2014} {} {}\n", s.name, B64.encode(raw)));
        }
        assert_eq!(
            again.as_bytes(),
            data,
            "parse_note accepted a non-canonical note"
        );
        let _ = note::verify_note(&n, &KEY);
    }

    // Signed checkpoint with the fixed key: the seeds carry valid signatures.
    if let Ok(cp) = checkpoint::open(data, &KEY) {
        let text = note::parse_note(data).map(|n| n.text);
        assert_eq!(text.map(|t| t.starts_with(&cp.body())), Ok(true));
    }

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    // Checkpoint body: origin, size and root are canonical, so the body we would write is a
    // prefix of the text (extension lines may follow and are ignored).
    if let Ok(cp) = Checkpoint::parse_body(text) {
        let body = cp.body();
        assert!(
            text.starts_with(&body),
            "parse_body accepted a non-canonical body: {text:?}"
        );
        assert_eq!(Checkpoint::parse_body(&body), Ok(cp.clone()));
        // Signed with the test key, the same text opens to the same checkpoint: the path
        // from a note's text into parse_body that mutated signatures never reach. The note
        // layer may still refuse the text (size limit, control characters).
        let signed = note::sign_note(text, &SIGNER);
        if note::parse_note(signed.as_bytes()).is_ok() {
            assert_eq!(checkpoint::open(signed.as_bytes(), &KEY), Ok(cp));
        }
    }

    // Key texts: what parses is the canonical text of the key it yields.
    if let Ok(k) = VerifierKey::from_text(text) {
        assert_eq!(
            k.to_text(),
            text.trim(),
            "from_text accepted a non-canonical key"
        );
        assert_eq!(VerifierKey::from_text(&k.to_text()), Ok(k.clone()));
    }
    if let Ok(k) = SigningKey::from_private_text(text) {
        let again = k.to_private_text();
        assert_eq!(
            again,
            text.trim_end_matches('\n'),
            "from_private_text accepted a non-canonical key"
        );
        let back = SigningKey::from_private_text(&again).map(|k| k.verifier());
        assert_eq!(back, Ok(k.verifier()));
    }
});
