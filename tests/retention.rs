//! Retention, first part (issue #5): legal holds by package, record key and metadata value,
//! and the retention plan over hot and cold packages. Nothing here deletes anything.

use zegel::clock::ManualClock;

use crate::support::*;

/// Rows sent on 2025-01-04 are kept 10 years: due on 2035-01-04, the others later.
const AT: &str = "2035-01-15T00:00:00Z";

fn plan(base: &str, token: &str, at: &str) -> serde_json::Value {
    let r = Client::new(base, token).get(&routes::with_query(
        routes::retention_plan("ebox"),
        format!("at={at}"),
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn due_held(p: &serde_json::Value) -> (u64, u64) {
    (
        p["due_packages"].as_u64().unwrap(),
        p["held_packages"].as_u64().unwrap(),
    )
}

/// The node of [`holds_take_packages_out_of_the_retention_plan`]: acme's archive `ebox` of
/// 300 rows, and globex beside it.
struct Holds {
    clock: ManualClock,
    _node: InProcess,
    base: String,
    admin: String,
    producer: String,
    consumer: String,
    auditor: String,
    archivist: String,
    /// globex's producer and auditor.
    other: String,
    other_auditor: String,
}

impl Holds {
    /// Places a hold on `ebox`.
    fn hold(&self, body: &str, token: &str) -> Resp {
        Client::new(&self.base, token).post(&routes::holds("ebox"), body.as_bytes())
    }
}

#[test]
fn holds_take_packages_out_of_the_retention_plan() {
    let w = three_hundred_rows_beside_another_tenant();
    nothing_is_due_now_the_january_rows_are_in_2035(&w);
    let query_hold = holds_by_package_record_and_value_keep_rows(&w);
    lifting_keeps_the_hold_on_record(&w, &query_hold);
    bad_or_unauthorized_holds_are_refused(&w);
    a_shorter_agreement_shortens_nothing_archived(&w);
    the_plan_reads_cold_packages_as_well(&w);
    the_cli_shows_the_same(&w);
}

/// acme's 300 rows (January, February and March, in turn), and tenant globex.
fn three_hundred_rows_beside_another_tenant() -> Holds {
    let clock = ManualClock::new(START_MS);
    let node = InProcess::start_manual(tempfile::tempdir().unwrap(), &clock);
    let Acme {
        base,
        admin,
        producer,
        consumer,
        auditor,
        archivist,
    } = node.acme();
    let (other, _, other_auditor) = setup_tenant(&base, &admin, "globex", "mail");
    ingest_month_rows(&base, &producer, 0..300);
    Holds {
        clock,
        _node: node,
        base,
        admin,
        producer,
        consumer,
        auditor,
        archivist,
        other,
        other_auditor,
    }
}

/// Nothing is due now; by mid-January 2035 the 100 January rows are.
fn nothing_is_due_now_the_january_rows_are_in_2035(w: &Holds) {
    let Holds { base, auditor, .. } = w;
    let now = plan(base, auditor, &START_MS.to_string());
    assert_eq!(due_held(&now), (0, 0), "{now}");
    assert!(now["next_due_ms"].as_u64().is_some(), "{now}");
    let p = plan(base, auditor, AT);
    assert_eq!(due_held(&p), (100, 0), "{p}");
    assert_eq!(p["due_hot"], 100);
    assert_eq!(p["samples"][0]["record_key"], "EBX-2025-000000000");
    assert_eq!(p["by_agreement"][0]["version"], 1);
    assert_eq!(p["by_agreement"][0]["packages"], 100);
}

/// Holds on a package, a record and a metadata value take their rows out of the plan; the
/// last hold's id.
fn holds_by_package_record_and_value_keep_rows(w: &Holds) -> String {
    let Holds {
        base,
        auditor,
        archivist,
        ..
    } = w;
    // Row 0 is seq 1 (seq 0 is the agreement).
    let r = w.hold(r#"{"package":1,"reason":"case C-0001"}"#, archivist);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["id"], "hold-1");
    assert_eq!(due_held(&plan(base, auditor, AT)), (99, 1));
    let r = w.hold(
        r#"{"record":"EBX-2025-000000003","reason":"GDPR dispute 17"}"#,
        archivist,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(due_held(&plan(base, auditor, AT)), (98, 2));
    let r = w.hold(
        r#"{"field":"sent_at","value":"2025-01-04T10:00:00Z","reason":"audit 2035"}"#,
        archivist,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let query_hold = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(due_held(&plan(base, auditor, AT)), (0, 100));
    query_hold
}

/// Lifting keeps the hold on record, with who and why.
fn lifting_keeps_the_hold_on_record(w: &Holds, query_hold: &str) {
    let Holds {
        base,
        auditor,
        archivist,
        ..
    } = w;
    let lift = |id: &str, reason: &str| {
        Client::new(base, archivist).post(
            &routes::hold_lift("ebox", id),
            format!(r#"{{"reason":"{reason}"}}"#).as_bytes(),
        )
    };
    let r = lift(query_hold, "audit closed");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["lifted"]["reason"], "audit closed");
    assert_eq!(due_held(&plan(base, auditor, AT)), (98, 2));
    assert_eq!(lift(query_hold, "again").status, 409);
    assert_eq!(lift("hold-99", "none").status, 404);
    let active = Client::new(base, auditor)
        .get(&routes::holds("ebox"))
        .json();
    assert_eq!(active["holds"].as_array().unwrap().len(), 2, "{active}");
    let all = Client::new(base, auditor)
        .get(&routes::with_query(routes::holds("ebox"), "all=true"))
        .json();
    assert_eq!(all["holds"].as_array().unwrap().len(), 3, "{all}");
}

/// Bad holds are refused, each with its reason. Only archivists place holds; other tenants
/// do not see the archive at all.
fn bad_or_unauthorized_holds_are_refused(w: &Holds) {
    let Holds {
        base,
        producer,
        consumer,
        auditor,
        archivist,
        other,
        other_auditor,
        ..
    } = w;
    for (body, status) in [
        (r#"{"package":1,"record":"x","reason":"two scopes"}"#, 400),
        (r#"{"reason":"no scope"}"#, 400),
        (r#"{"package":1,"reason":""}"#, 400),
        (r#"{"package":100000,"reason":"beyond the log"}"#, 404),
        (r#"{"record":"no-such-key","reason":"unknown key"}"#, 404),
        (r#"{"package":1,"reason":"x","extra":1}"#, 400),
    ] {
        let r = w.hold(body, archivist);
        assert_eq!(r.status, status, "{body}: {}", r.text());
        assert_eq!(r.content_type, "application/problem+json");
    }
    // Only archivists place holds; other tenants do not see the archive at all.
    assert_eq!(
        w.hold(r#"{"package":2,"reason":"x"}"#, producer).status,
        403
    );
    assert_eq!(
        w.hold(r#"{"package":2,"reason":"x"}"#, consumer).status,
        403
    );
    assert_eq!(w.hold(r#"{"package":2,"reason":"x"}"#, other).status, 404);
    let r = Client::new(base, other_auditor).get(&routes::retention_plan("ebox"));
    assert_eq!(r.status, 404);
    let r = Client::new(base, auditor).get(&routes::with_query(
        routes::retention_plan("ebox"),
        "at=tomorrow",
    ));
    assert_eq!(r.status, 400, "{}", r.text());
}

/// A new agreement version with a shorter retention does not shorten what is archived.
fn a_shorter_agreement_shortens_nothing_archived(w: &Holds) {
    let Holds {
        base,
        auditor,
        archivist,
        ..
    } = w;
    let short = AGREEMENT
        .replace("\"version\": 1", "\"version\": 2")
        .replace("\"years\": 10", "\"years\": 1");
    let r = Client::new(base, archivist).put(&routes::agreement("ebox"), short.as_bytes());
    assert!(r.status == 200 || r.status == 201, "{}", r.text());
    assert_eq!(
        due_held(&plan(base, auditor, "2030-01-01T00:00:00Z")),
        (0, 0)
    );
}

/// The plan reads cold packages as well as hot ones.
fn the_plan_reads_cold_packages_as_well(w: &Holds) {
    let Holds {
        clock,
        base,
        admin,
        auditor,
        ..
    } = w;
    clock.advance(184 * DAY_MS);
    let r = Client::new(base, admin).post(&routes::tier_run(), b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let p = plan(base, auditor, AT);
    assert_eq!(due_held(&p), (98, 2), "{p}");
    assert_eq!(
        (p["due_hot"].as_u64(), p["due_cold"].as_u64()),
        (Some(0), Some(98)),
        "{p}"
    );
}

/// The CLI shows the same.
fn the_cli_shows_the_same(w: &Holds) {
    let Holds {
        base,
        auditor,
        archivist,
        ..
    } = w;
    let zegel = |args: &[&str], token: &str| cli(base, token, args);
    let list = zegel(&["hold", "list", "ebox", "--all"], auditor);
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
        archivist,
    );
    assert!(added.contains("hold-4"), "{added}");
    let planned = zegel(
        &["retention", "plan", "--archive", "ebox", "--at", AT],
        auditor,
    );
    let line = planned.lines().find(|l| l.starts_with("ebox")).unwrap();
    assert_eq!(
        line.split_whitespace().nth(1),
        Some("0"),
        "everything of RSZ is held now: {planned}"
    );
    zegel(
        &["hold", "remove", "ebox", "hold-4", "--reason", "done"],
        archivist,
    );
    let planned = zegel(&["retention", "plan", "--at", AT], auditor);
    let line = planned.lines().find(|l| l.starts_with("ebox")).unwrap();
    assert_eq!(line.split_whitespace().nth(1), Some("98"), "{planned}");
}
