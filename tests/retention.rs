//! Retention, first part (issue #5): legal holds by package, record key and metadata value,
//! and the retention plan over hot and cold packages. Nothing here deletes anything.

use zegel::clock::ManualClock;

use crate::support::*;

/// Rows sent on 2025-01-04 are kept 10 years: due on 2035-01-04, the others later.
const AT: &str = "2035-01-15T00:00:00Z";

fn plan(base: &str, token: &str, at: &str) -> serde_json::Value {
    let r = must(
        "GET",
        &format!("{base}/v1/archives/ebox/retention/plan?at={at}"),
        Some(token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn due_held(p: &serde_json::Value) -> (u64, u64) {
    (
        p["due_packages"].as_u64().unwrap(),
        p["held_packages"].as_u64().unwrap(),
    )
}

#[test]
fn holds_take_packages_out_of_the_retention_plan() {
    let clock = ManualClock::new(START_MS);
    let node = InProcess::start_manual(tempfile::tempdir().unwrap(), &clock);
    let base = node.base.clone();
    let admin = node.admin_token();
    let (producer, consumer, auditor) = setup_tenant(&base, &admin, "acme", "ebox");
    let archivist = key_of(&base, &admin, "acme", "archivist");
    let (other, _, other_auditor) = setup_tenant(&base, &admin, "globex", "mail");
    let body: String = (0..300).map(|i| month_row(i) + "\n").collect();
    let r = must(
        "POST",
        &format!("{base}/v1/archives/ebox/records/batch"),
        Some(&producer),
        Some(body.as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.text());

    // Nothing is due now; by mid-January 2035 the 100 January rows are.
    let now = plan(&base, &auditor, &START_MS.to_string());
    assert_eq!(due_held(&now), (0, 0), "{now}");
    assert!(now["next_due_ms"].as_u64().is_some(), "{now}");
    let p = plan(&base, &auditor, AT);
    assert_eq!(due_held(&p), (100, 0), "{p}");
    assert_eq!(p["due_hot"], 100);
    assert_eq!(p["samples"][0]["record_key"], "EBX-2025-000000000");
    assert_eq!(p["by_agreement"][0]["version"], 1);
    assert_eq!(p["by_agreement"][0]["packages"], 100);

    let hold = |body: &str, token: &str| {
        must(
            "POST",
            &format!("{base}/v1/archives/ebox/holds"),
            Some(token),
            Some(body.as_bytes()),
        )
    };
    // Row 0 is seq 1 (seq 0 is the agreement).
    let r = hold(r#"{"package":1,"reason":"case C-0001"}"#, &archivist);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["id"], "hold-1");
    assert_eq!(due_held(&plan(&base, &auditor, AT)), (99, 1));
    let r = hold(
        r#"{"record":"EBX-2025-000000003","reason":"GDPR dispute 17"}"#,
        &archivist,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(due_held(&plan(&base, &auditor, AT)), (98, 2));
    let r = hold(
        r#"{"field":"sent_at","value":"2025-01-04T10:00:00Z","reason":"audit 2035"}"#,
        &archivist,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let query_hold = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(due_held(&plan(&base, &auditor, AT)), (0, 100));

    // Lifting keeps the hold on record, with who and why.
    let lift = |id: &str, reason: &str| {
        must(
            "POST",
            &format!("{base}/v1/archives/ebox/holds/{id}/lift"),
            Some(&archivist),
            Some(format!(r#"{{"reason":"{reason}"}}"#).as_bytes()),
        )
    };
    let r = lift(&query_hold, "audit closed");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["lifted"]["reason"], "audit closed");
    assert_eq!(due_held(&plan(&base, &auditor, AT)), (98, 2));
    assert_eq!(lift(&query_hold, "again").status, 409);
    assert_eq!(lift("hold-99", "none").status, 404);
    let active = must(
        "GET",
        &format!("{base}/v1/archives/ebox/holds"),
        Some(&auditor),
        None,
    )
    .json();
    assert_eq!(active["holds"].as_array().unwrap().len(), 2, "{active}");
    let all = must(
        "GET",
        &format!("{base}/v1/archives/ebox/holds?all=true"),
        Some(&auditor),
        None,
    )
    .json();
    assert_eq!(all["holds"].as_array().unwrap().len(), 3, "{all}");

    // Bad holds are refused, each with its reason.
    for (body, status) in [
        (r#"{"package":1,"record":"x","reason":"two scopes"}"#, 400),
        (r#"{"reason":"no scope"}"#, 400),
        (r#"{"package":1,"reason":""}"#, 400),
        (r#"{"package":100000,"reason":"beyond the log"}"#, 404),
        (r#"{"record":"no-such-key","reason":"unknown key"}"#, 404),
        (r#"{"package":1,"reason":"x","extra":1}"#, 400),
    ] {
        let r = hold(body, &archivist);
        assert_eq!(r.status, status, "{body}: {}", r.text());
        assert_eq!(r.content_type, "application/problem+json");
    }
    // Only archivists place holds; other tenants do not see the archive at all.
    assert_eq!(hold(r#"{"package":2,"reason":"x"}"#, &producer).status, 403);
    assert_eq!(hold(r#"{"package":2,"reason":"x"}"#, &consumer).status, 403);
    assert_eq!(hold(r#"{"package":2,"reason":"x"}"#, &other).status, 404);
    let r = must(
        "GET",
        &format!("{base}/v1/archives/ebox/retention/plan"),
        Some(&other_auditor),
        None,
    );
    assert_eq!(r.status, 404);
    let r = must(
        "GET",
        &format!("{base}/v1/archives/ebox/retention/plan?at=tomorrow"),
        Some(&auditor),
        None,
    );
    assert_eq!(r.status, 400, "{}", r.text());

    // A new agreement version with a shorter retention does not shorten what is archived.
    let short = AGREEMENT
        .replace("\"version\": 1", "\"version\": 2")
        .replace("\"years\": 10", "\"years\": 1");
    let r = must(
        "PUT",
        &format!("{base}/v1/archives/ebox/agreement"),
        Some(&archivist),
        Some(short.as_bytes()),
    );
    assert!(r.status == 200 || r.status == 201, "{}", r.text());
    assert_eq!(
        due_held(&plan(&base, &auditor, "2030-01-01T00:00:00Z")),
        (0, 0)
    );

    // The plan reads cold packages as well as hot ones.
    clock.advance(184 * DAY_MS);
    let r = must("POST", &format!("{base}/v1/tier/run"), Some(&admin), None);
    assert_eq!(r.status, 200, "{}", r.text());
    let p = plan(&base, &auditor, AT);
    assert_eq!(due_held(&p), (98, 2), "{p}");
    assert_eq!(
        (p["due_hot"].as_u64(), p["due_cold"].as_u64()),
        (Some(0), Some(98)),
        "{p}"
    );

    // The CLI shows the same.
    let zegel = |args: &[&str], token: &str| cli(&base, token, args);
    let list = zegel(&["hold", "list", "ebox", "--all"], &auditor);
    assert!(
        list.contains("record EBX-2025-000000003") && list.contains("audit closed"),
        "{list}"
    );
    let added = zegel(
        &[
            "hold",
            "add",
            "ebox",
            "--query",
            "sender=RSZ",
            "--reason",
            "all of RSZ",
        ],
        &archivist,
    );
    assert!(added.contains("hold-4"), "{added}");
    let planned = zegel(
        &["retention", "plan", "--archive", "ebox", "--at", AT],
        &auditor,
    );
    let line = planned.lines().find(|l| l.starts_with("ebox")).unwrap();
    assert_eq!(
        line.split_whitespace().nth(1),
        Some("0"),
        "everything of RSZ is held now: {planned}"
    );
    zegel(
        &["hold", "remove", "ebox", "hold-4", "--reason", "done"],
        &archivist,
    );
    let planned = zegel(&["retention", "plan", "--at", AT], &auditor);
    let line = planned.lines().find(|l| l.starts_with("ebox")).unwrap();
    assert_eq!(line.split_whitespace().nth(1), Some("98"), "{planned}");
}
