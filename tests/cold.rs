//! The cold store's contract, run against the local filesystem and against a real
//! S3-compatible server (moto, started here on 127.0.0.1): put-if-absent is atomic, a retry
//! with the same bytes succeeds, other bytes are refused, reads and lists round-trip.

use bytes::Bytes;
use zegel::cold::{ColdConfig, ColdError, ColdStore, Written};

use crate::support::Moto;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn conformance(store: &ColdStore) {
    let hello = Bytes::from_static(b"hello, cold");
    assert_eq!(
        store
            .put_new("v1/acme/ebox/one", hello.clone())
            .await
            .unwrap(),
        Written::New
    );
    assert_eq!(
        store
            .put_new("v1/acme/ebox/one", hello.clone())
            .await
            .unwrap(),
        Written::AlreadyThere,
        "a retry with the same bytes is success"
    );
    match store
        .put_new("v1/acme/ebox/one", Bytes::from_static(b"other"))
        .await
    {
        Err(ColdError::Conflict(k)) => assert_eq!(k, "v1/acme/ebox/one"),
        other => panic!("overwrite not refused: {other:?}"),
    }
    assert_eq!(store.get("v1/acme/ebox/one").await.unwrap(), hello);
    assert!(matches!(
        store.get("v1/acme/ebox/none").await,
        Err(ColdError::NotFound(_))
    ));
    store
        .put_new("v1/acme/ebox/two", Bytes::from(vec![7u8; 300_000]))
        .await
        .unwrap();
    store
        .put_new("v1/acme/other/x", Bytes::from_static(b"x"))
        .await
        .unwrap();
    assert_eq!(
        store.list("v1/acme/ebox").await.unwrap(),
        vec![
            ("v1/acme/ebox/one".to_string(), hello.len() as u64),
            ("v1/acme/ebox/two".to_string(), 300_000)
        ]
    );

    // Eight writers race for one key with different bytes: exactly one wins, and its bytes
    // are what is stored.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8u8 {
        let s = store.clone();
        tasks.spawn(async move {
            let bytes = Bytes::from(vec![i; 1000 + usize::from(i)]);
            (i, s.put_new("v1/acme/ebox/race", bytes).await)
        });
    }
    let mut winners = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done.unwrap() {
            (i, Ok(Written::New)) => winners.push(i),
            (_, Err(ColdError::Conflict(_))) => {}
            (i, other) => panic!("writer {i}: {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one writer creates the object");
    let w = winners[0];
    assert_eq!(
        store.get("v1/acme/ebox/race").await.unwrap(),
        Bytes::from(vec![w; 1000 + usize::from(w)])
    );

    store.delete("v1/acme/ebox/one").await.unwrap();
    assert!(matches!(
        store.get("v1/acme/ebox/one").await,
        Err(ColdError::NotFound(_))
    ));
    store.delete("v1/acme/ebox/one").await.unwrap();
}

#[test]
fn the_local_filesystem_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = ColdStore::open(&ColdConfig::Local {
        dir: dir.path().join("cold"),
    })
    .unwrap();
    rt().block_on(conformance(&store));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("cold"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[test]
fn a_real_s3_server_keeps_the_contract() {
    let moto = Moto::start();
    moto.create_bucket("zegel-cold");
    let store = ColdStore::open(&ColdConfig::S3 {
        bucket: "zegel-cold".into(),
        region: "us-east-1".into(),
        endpoint: Some(moto.endpoint.clone()),
        allow_http: true,
        access_key_id: Some("test".into()),
        secret_access_key: Some("test".into()),
    })
    .unwrap();
    rt().block_on(conformance(&store));
}

#[test]
fn a_stopped_s3_server_is_a_clear_error() {
    let moto = Moto::start();
    moto.create_bucket("zegel-cold");
    let cfg = ColdConfig::S3 {
        bucket: "zegel-cold".into(),
        region: "us-east-1".into(),
        endpoint: Some(moto.endpoint.clone()),
        allow_http: true,
        access_key_id: Some("test".into()),
        secret_access_key: Some("sekrit-never-printed".into()),
    };
    let store = ColdStore::open(&cfg).unwrap();
    assert!(
        !format!("{cfg:?}").contains("sekrit"),
        "no credentials in Debug"
    );
    drop(moto);
    let err = rt()
        .block_on(store.put_new("v1/a/b", Bytes::from_static(b"x")))
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ColdError::Backend { .. }), "{text}");
    assert!(text.contains("zegel-cold"), "names the store: {text}");
    assert!(!text.contains("sekrit"), "{text}");
}
