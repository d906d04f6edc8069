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
