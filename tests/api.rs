//! Document packages (multipart), search, the access log, the OpenAPI document, metrics and
//! overload, against an in-process server.

use std::io::{Read, Write};

use zegel::format::hash::sha256;

use crate::support::*;

/// The court files' agreement ([`DOCS`]) with objects of at most 1 MB.
fn doc_agreement() -> String {
    DOCS.replace(
        r#""retention""#,
        r#""object_bytes_max": 1000000, "retention""#,
    )
}

fn upload(base: &str, token: &str, parts: &[(&str, Option<&str>, &str, &[u8])]) -> Resp {
    let (body, ct) = multipart(parts);
    Client::new(base, token).post_typed(&routes::packages("files"), &ct, &body)
}

#[test]
fn document_packages_are_checked_and_read_back() {
    let node = InProcess::start();
    let base = &node.base;
    let admin = node.admin_token();
    let (producer, consumer, _auditor) = setup_tenant(base, &admin, "court", "ebox");
    let archivist = key_of(base, &admin, "court", "archivist");
    let r = Client::new(base, &archivist).put(&routes::agreement("files"), doc_agreement());
    assert_eq!(r.status, 201, "{}", r.text());

    let pdf: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    let note = b"summary of the hearing\n".to_vec();
    let sip = format!(
        r#"{{"key":"C-0001/ruling","metadata":{{"case":"C-0001","filed_on":"2024-05-06"}},"sha256":{{"ruling.pdf":"{}"}}}}"#,
        sha256(&pdf).to_hex()
    );
    let parts: Vec<(&str, Option<&str>, &str, &[u8])> = vec![
        ("sip", None, "application/json", sip.as_bytes()),
        ("file", Some("ruling.pdf"), "application/pdf", &pdf),
        ("file", Some("note.txt"), "text/plain", &note),
    ];
    let r = upload(base, &producer, &parts);
    assert_eq!(r.status, 201, "{}", r.text());
    let seq = r.json()["seq"].as_u64().unwrap();
    assert_eq!(r.json()["key"], "C-0001/ruling");
    // The same upload again is the same package.
    let again = upload(base, &producer, &parts);
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["seq"], seq);

    let as_consumer = Client::new(base, &consumer);
    let obj = as_consumer.get(&routes::object("files", seq, "ruling.pdf"));
    assert_eq!(obj.status, 200, "{}", obj.text());
    assert_eq!(obj.body, pdf);
    // By its key, a document package answers with its header and object list (valid JSON),
    // not its bytes.
    let by_key = as_consumer.read_record("files", "C-0001%2Fruling");
    assert_eq!(by_key.status, 200, "{}", by_key.text());
    let j = by_key.json();
    assert_eq!(j["seq"], seq, "{j}");
    assert_eq!(j["package"]["kind"], "document", "{j}");
    assert_eq!(j["package"]["objects"][0]["name"], "ruling.pdf", "{j}");
    assert_eq!(obj.content_type, "application/pdf");
    assert!(obj.header("repr-digest").unwrap().starts_with("sha-256=:"));
    let pkg = as_consumer.package("files", seq).json();
    assert_eq!(pkg["kind"], "document");
    assert_eq!(pkg["objects"].as_array().unwrap().len(), 2);
    assert!(pkg["retain_until_ms"].as_u64().unwrap() > 2_500_000_000_000);

    // Refusals: each names its object or part, and nothing is stored.
    let before = log_size(base, &consumer, "files");
    let wrong_sha = sip.replace(&sha256(&pdf).to_hex(), &sha256(b"other").to_hex());
    let r = upload(
        base,
        &producer,
        &[
            ("sip", None, "application/json", wrong_sha.as_bytes()),
            ("file", Some("ruling.pdf"), "application/pdf", &pdf),
            ("file", Some("evil.exe"), "application/x-msdownload", b"MZ"),
        ],
    );
    assert_eq!(r.status, 422, "{}", r.text());
    let fields: Vec<String> = r.json()["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["field"].as_str().unwrap().to_string())
        .collect();
    assert!(
        fields.contains(&"/objects/ruling.pdf".to_string()),
        "{fields:?}"
    );
    assert!(
        fields.contains(&"/objects/evil.exe".to_string()),
        "{fields:?}"
    );
    let r = upload(
        base,
        &producer,
        &[("file", Some("a.txt"), "text/plain", b"no sip")],
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["violations"][0]["field"], "sip");
    let r = upload(
        base,
        &producer,
        &[(
            "sip",
            None,
            "application/json",
            br#"{"metadata":{"case":"nope","filed_on":"2024-05-06"}}"#,
        )],
    );
    assert_eq!(r.status, 422, "{}", r.text());
    let text = r.text();
    assert!(
        text.contains("/metadata/case") && text.contains("at least one file"),
        "{text}"
    );
    let r = Client::new(base, &producer).post_typed(
        &routes::packages("files"),
        "multipart/form-data; boundary=x",
        b"--x\r\nbroken",
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(log_size(base, &consumer, "files"), before);
}

#[test]
fn search_pages_through_indexed_fields_and_time() {
    let node = InProcess::start();
    let base = &node.base;
    let admin = node.admin_token();
    let (producer, consumer, _) = setup_tenant(base, &admin, "acme", "ebox");
    let rows: String = (1..=30)
        .map(|i| {
            let r = row(i, "s");
            let r = if i % 3 == 0 {
                r.replace("\"RSZ\"", "\"ONSS\"")
            } else {
                r
            };
            r + "\n"
        })
        .collect();
    let r = Client::new(base, &producer).ingest_batch("ebox", rows.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());

    // Ten ONSS rows, in pages of three, each exactly once and in seq order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let as_consumer = Client::new(base, &consumer);
    for _ in 0..10 {
        let query = match &cursor {
            Some(c) => format!("sender=ONSS&limit=3&cursor={c}"),
            None => "sender=ONSS&limit=3".to_string(),
        };
        let page = as_consumer.get(&routes::search("ebox", query));
        assert_eq!(page.status, 200, "{}", page.text());
        let j = page.json();
        for p in j["packages"].as_array().unwrap() {
            assert_eq!(p["metadata"]["sender"], "ONSS");
            seen.push(p["seq"].as_u64().unwrap());
        }
        cursor = j["next_cursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 10, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");

    // Time only: everything so far, then nothing after a future instant.
    let all = as_consumer
        .get(&routes::search(
            "ebox",
            "from=2000-01-01T00:00:00Z&limit=1000",
        ))
        .json();
    assert_eq!(
        all["packages"].as_array().unwrap().len(),
        31,
        "agreement + 30 rows"
    );
    let none = as_consumer
        .get(&routes::search("ebox", "from=2999-01-01T00:00:00Z"))
        .json();
    assert!(none["packages"].as_array().unwrap().is_empty());

    for (query, needle) in [
        ("subject=x", "not an indexed field"),
        ("from=yesterday", "RFC 3339"),
        ("limit=0", "limit"),
        ("cursor=zz", "cursor"),
    ] {
        let r = as_consumer.get(&routes::search("ebox", query));
        assert_eq!(r.status, 400, "{query}: {}", r.text());
        assert!(r.text().contains(needle), "{query}: {}", r.text());
    }
}

#[test]
fn every_read_is_in_the_tamper_evident_access_log() {
    let node = InProcess::start();
    let base = &node.base;
    let admin = node.admin_token();
    let (producer, consumer, auditor) = setup_tenant(base, &admin, "acme", "ebox");
    let r = Client::new(base, &producer).ingest_row("ebox", row(7, "a").as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    for _ in 0..3 {
        let r = Client::new(base, &consumer).read_record("ebox", "EBX-2025-000000007");
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let consumer_key = Client::new(base, &admin)
        .get(&routes::tenant_keys("acme"))
        .json()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["role"] == "consumer")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The access log is an archive of its own: read every entry back from its packages.
    let size = log_size(base, &auditor, "zegel.access");
    assert!(size >= 1);
    let mut entries = Vec::new();
    for seq in 0..size {
        let o = Client::new(base, &consumer).get(&routes::object(
            "zegel.access",
            seq,
            "entries.ndjson",
        ));
        assert_eq!(o.status, 200, "{}", o.text());
        for line in o.text().lines() {
            entries.push(serde_json::from_str::<serde_json::Value>(line).unwrap());
        }
    }
    let reads: Vec<_> = entries
        .iter()
        .filter(|e| e["action"] == "record" && e["key_id"] == consumer_key.as_str())
        .collect();
    assert_eq!(reads.len(), 3, "{entries:?}");
    assert_eq!(reads[0]["archive"], "ebox");
    assert_eq!(reads[0]["detail"], "EBX-2025-000000007");
    assert!(
        entries.iter().all(|e| e["archive"] != "zegel.access"),
        "reading the log is not logged"
    );
    // Its checkpoint is signed like any archive's, and the name is reserved.
    let cp = Client::new(base, &auditor).checkpoint("zegel.access");
    assert_eq!(cp.status, 200, "{}", cp.text());
    let archivist = key_of(base, &admin, "acme", "archivist");
    let r =
        Client::new(base, &archivist).put(&routes::agreement("zegel.mine"), AGREEMENT.as_bytes());
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("reserved"));
}

#[test]
fn openapi_documents_every_route_and_only_real_ones() {
    let node = InProcess::start();
    let base = &node.base;
    let doc = Client::anonymous(base).get(&routes::openapi());
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    // The documented routes, as the OpenAPI document writes them: the list is what this
    // test checks, so it spells each template out.
    let expected = [
        ("post", "/v1/tenants"),
        ("post", "/v1/tenants/{tenant}/keys"),
        ("get", "/v1/tenants/{tenant}/keys"),
        ("post", "/v1/tenants/{tenant}/keys/{id}/revoke"),
        ("get", "/v1/archives"),
        ("put", "/v1/archives/{archive}/agreement"),
        ("get", "/v1/archives/{archive}/agreement"),
        ("post", "/v1/archives/{archive}/records"),
        ("post", "/v1/archives/{archive}/records/batch"),
        ("post", "/v1/archives/{archive}/packages"),
        ("get", "/v1/archives/{archive}/packages"),
        ("get", "/v1/archives/{archive}/records/{key}"),
        ("get", "/v1/archives/{archive}/records/{key}/versions"),
        ("get", "/v1/archives/{archive}/packages/{seq}"),
        ("get", "/v1/archives/{archive}/packages/{seq}/sealed"),
        ("get", "/v1/archives/{archive}/packages/{seq}/receipt"),
        (
            "get",
            "/v1/archives/{archive}/packages/{seq}/objects/{name}",
        ),
        ("get", "/v1/archives/{archive}/checkpoint"),
        ("post", "/v1/archives/{archive}/checkpoint"),
        ("get", "/v1/archives/{archive}/proofs/inclusion"),
        ("get", "/v1/archives/{archive}/proofs/consistency"),
        ("get", "/v1/keys"),
        ("post", "/v1/archives/{archive}/holds"),
        ("get", "/v1/archives/{archive}/holds"),
        ("post", "/v1/archives/{archive}/holds/{id}/lift"),
        ("get", "/v1/archives/{archive}/retention/plan"),
        ("post", "/v1/archives/{archive}/retention/apply"),
        ("get", "/v1/archives/{archive}/dispositions"),
        (
            "get",
            "/v1/archives/{archive}/dispositions/{seq}/certificate",
        ),
        ("post", "/v1/archives/{archive}/erasures"),
        ("get", "/v1/archives/{archive}/erasures"),
        ("post", "/v1/archives/{archive}/erasures/{id}/approve"),
        ("post", "/v1/archives/{archive}/erasures/{id}/reject"),
        ("post", "/v1/archives/{archive}/audits"),
        ("get", "/v1/archives/{archive}/audits"),
        ("post", "/v1/archives/{archive}/audits/{id}/step"),
        ("get", "/v1/archives/{archive}/audits/{id}"),
        ("get", "/v1/archives/{archive}/packages/{seq}/bundle"),
        ("get", "/v1/tier"),
        ("post", "/v1/tier/run"),
        ("get", "/v1/usage"),
        ("get", "/healthz"),
        ("get", "/metrics"),
        ("get", "/openapi.json"),
    ];
    let mut documented = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            documented += 1;
            assert!(
                expected.contains(&(method.as_str(), path.as_str())),
                "undocumented in this test: {method} {path}"
            );
            assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()));
            // Every documented route is served: anything but the router's fallback.
            // The route is made from the documented template, whatever it is.
            let route = path
                .replace("{tenant}", "t")
                .replace("{id}", "i")
                .replace("{archive}", "a")
                .replace("{key}", "k")
                .replace("{seq}", "0")
                .replace("{name}", "n");
            let r = Client::anonymous(base).send(&method.to_uppercase(), &route, b"");
            assert!(
                !(r.status == 404 && r.text().contains("no such route")),
                "{method} {path} is documented but not served"
            );
        }
    }
    assert_eq!(documented, expected.len(), "every route is documented");
    let ui = Client::anonymous(base).get(&routes::docs());
    assert_eq!(ui.status, 200);
    assert!(ui.text().contains("swagger"), "{}", ui.text());
}

#[test]
fn metrics_count_requests_by_route() {
    let node = InProcess::start();
    let base = &node.base;
    let admin = node.admin_token();
    let (producer, _, _) = setup_tenant(base, &admin, "acme", "ebox");
    let r = Client::new(base, &producer).ingest_row("ebox", row(1, "m").as_bytes());
    assert_eq!(r.status, 201);
    let m = Client::anonymous(base).get(&routes::metrics());
    assert_eq!(m.status, 200);
    let text = m.text();
    assert!(
        text.lines()
            .any(|l| l.starts_with("zegel_http_requests_total")
                && l.contains("route=\"/v1/archives/{archive}/records\"")
                && l.contains("status=\"201\"")),
        "{text}"
    );
    assert!(text.contains("zegel_ingest_rows_total"), "{text}");
    assert!(
        !text.contains("EBX-2025"),
        "no record keys in metric labels"
    );
}

#[test]
fn overload_is_refused_with_retry_after_not_queued() {
    let node = InProcess::start_with(1);
    let base = &node.base;
    let addr = base.trim_start_matches("http://");
    let admin = node.admin_token();
    // One request stays in flight: its body never finishes arriving. (If our probe happens to
    // win the only permit first, the stuck request is the one refused: start over.)
    let mut attempt = 0;
    let (mut stuck, r) = loop {
        attempt += 1;
        assert!(attempt <= 10, "could not get one request stuck in flight");
        let mut stuck = std::net::TcpStream::connect(addr).unwrap();
        // A raw request on a bare socket (a body that never comes): no client writes one.
        write!(
            stuck,
            "POST /v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
        )
        .unwrap();
        stuck.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let r = Client::new(base, &admin).get(&routes::archives());
        if r.status == 503 {
            break (stuck, r);
        }
        // The stuck request was refused instead; it must have been answered 503 too.
        stuck
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut got = vec![0u8; 4096];
        let n = stuck.read(&mut got).unwrap_or(0);
        assert!(
            String::from_utf8_lossy(&got[..n]).starts_with("HTTP/1.1 503"),
            "neither request was refused: {} / {}",
            r.status,
            String::from_utf8_lossy(&got[..n])
        );
    };
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.content_type, "application/problem+json");
    // Health stays outside the limit.
    assert_eq!(Client::anonymous(base).get(&routes::healthz()).status, 200);
    // Once the stuck request ends, requests are served again.
    stuck.shutdown(std::net::Shutdown::Both).unwrap();
    let mut sink = Vec::new();
    let _ = stuck.read_to_end(&mut sink);
    let mut ok = false;
    for _ in 0..100 {
        if Client::new(base, &admin).get(&routes::archives()).status == 200 {
            ok = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(ok, "served again after the stuck request ended");
}

#[test]
fn request_bodies_held_at_once_are_bounded() {
    let node = InProcess::start();
    let base = &node.base;
    let addr = base.trim_start_matches("http://");
    let admin = node.admin_token();
    // Bodies of undeclared length reserve their route's whole limit (16 MiB): 32 of them
    // hold the 512 MiB budget while they trickle in. One more than that, so the budget is
    // spent even if a probe below briefly holds its 1 KiB while the last of them arrives.
    let stuck: Vec<std::net::TcpStream> = (0..33)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            // A raw request on a bare socket (a chunked body cut short).
            write!(
                s,
                "POST /v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{{\r\n"
            )
            .unwrap();
            s
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut refused = None;
    let as_admin = Client::new(base, &admin);
    for _ in 0..100 {
        let r = as_admin.post(&routes::tenants(), b"{}");
        // Served (400: no tenant named) while the budget lasts; 503 once it is spent.
        if r.status == 503 {
            refused = Some(r);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let r = refused.expect("a body beyond the budget is refused");
    assert!(r.text().contains("request bodies"), "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("1"));
    // Requests without a body still get through, and the budget comes back.
    let list = as_admin.get(&routes::archives());
    assert_eq!(list.status, 200);
    drop(stuck);
    let mut served = false;
    for _ in 0..100 {
        let r = as_admin.post(&routes::tenants(), b"{}");
        if r.status == 400 {
            served = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(served, "the budget is released when the stuck requests end");
}

/// A new tenant's first reads, all at once, each create or find its access log: none fails
/// because the log's archive was committed before its writer was registered.
#[test]
fn a_new_tenants_first_concurrent_reads_all_succeed() {
    for _ in 0..5 {
        let node = InProcess::start();
        let base = node.base.clone();
        let admin = node.admin_token();
        let (producer, _, auditor) = setup_tenant(&base, &admin, "acme", "ebox");
        let body: String = (0..8).map(|i| row(i, "m") + "\n").collect();
        let r = Client::new(&base, &producer).ingest_batch("ebox", body.as_bytes());
        assert_eq!(r.status, 201, "{}", r.text());
        let readers: Vec<_> = (1..=8)
            .map(|seq| {
                let (base, auditor) = (base.clone(), auditor.clone());
                std::thread::spawn(move || Client::new(&base, &auditor).sealed("ebox", seq))
            })
            .collect();
        for r in readers {
            let r = r.join().unwrap();
            assert_eq!(r.status, 200, "{}", r.text());
        }
    }
}
