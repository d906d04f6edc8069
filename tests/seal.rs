//! The in-memory log writer: sequence, chain, monotonic time, receipts per group.

use std::collections::BTreeMap;

use zegel::format::header::Kind;
use zegel::format::note::SigningKey;
use zegel::format::sealed;
use zegel::seal::{LogWriter, Object};

#[test]
fn the_writer_links_and_never_goes_back_in_time() {
    let key = SigningKey::from_seed("zegel.test", [5; 32]).unwrap();
    let mut log = LogWriter::new(key.clone(), "acme", "ebox").unwrap();
    log.append_agreement(1, b"{}", 1000).unwrap();
    let obj = Object {
        name: "record.json",
        media_type: "application/json",
        bytes: b"{\"a\":1}",
    };
    let a = log
        .append(
            Kind::Record,
            Some("k1".into()),
            BTreeMap::new(),
            std::slice::from_ref(&obj),
            None,
            5000,
        )
        .unwrap();
    let b = log
        .append(
            Kind::Record,
            Some("k2".into()),
            BTreeMap::new(),
            &[obj],
            None,
            4000,
        )
        .unwrap();
    let (pa, pb) = (
        sealed::open(&a.sealed).unwrap(),
        sealed::open(&b.sealed).unwrap(),
    );
    assert_eq!(pb.header.prev, Some(a.leaf));
    assert_eq!(
        pb.header.time_ms, 5000,
        "an earlier clock reading is raised to the last time"
    );
    assert_eq!(pa.header.agreement.map(|x| x.seq), Some(0));
    let head = log.sign_head(10).unwrap();
    assert_eq!(head.head.time_ms, 5000);
    for (seq, leaf) in [(a.seq, a.leaf), (b.seq, b.leaf)] {
        log.receipt(&head, seq, leaf)
            .unwrap()
            .verify(&key.verifier())
            .unwrap();
    }
    assert!(LogWriter::new(key, "Bad", "x").is_err());
}

/// The one header builder every log writer uses: the end of the log decides seq, link,
/// agreement and the least time; the fields' retention is resolved at that time.
#[test]
fn the_header_builder_continues_the_log_end() {
    use zegel::format::hash::Hash;
    use zegel::format::header::AgreementRef;
    use zegel::seal::{HeaderError, LogEnd, PackageFields, Retention, build_header};

    let metadata = BTreeMap::new();
    let fields = |kind, retention| PackageFields {
        kind,
        record_key: Some("k1"),
        metadata: &metadata,
        objects: Vec::new(),
        retention,
    };
    let mut end = LogEnd {
        seq: 3,
        prev: Some(Hash([7; 32])),
        last_time_ms: 5000,
        agreement: Some(AgreementRef { version: 2, seq: 0 }),
        tenant: "acme",
        archive: "ebox",
    };
    let built = build_header(
        &end,
        fields(Kind::Record, Retention::AfterIngestMs(10)),
        4000,
    )
    .unwrap();
    built.check_pair().unwrap();
    let h = &built.header;
    assert_eq!((h.seq, h.prev, h.time_ms), (3, Some(Hash([7; 32])), 5000));
    assert_eq!(h.agreement.map(|a| a.version), Some(2));
    assert_eq!(h.retain_until_ms, Some(5010));
    assert_eq!(built.leaf, zegel::format::hash::leaf_hash(&built.bytes));

    end.agreement = None;
    assert!(matches!(
        build_header(&end, fields(Kind::Record, Retention::Forever), 6000),
        Err(HeaderError::NoAgreement)
    ));
    end.seq = 0;
    assert!(
        matches!(
            build_header(&end, fields(Kind::Agreement, Retention::Forever), 6000),
            Err(HeaderError::Invalid(_))
        ),
        "seq 0 must have no prev"
    );
}
