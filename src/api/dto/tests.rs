//! Each DTO serialises to exactly the JSON its domain type gives: the routes' answers are the
//! same whichever of the two a handler puts on the wire.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{audit, retention, tenant, tier};
use crate::archive::disposed::DispositionSummary;
use crate::audit::finding::{Finding, LogTally, PackageTally};
use crate::audit::run::AuditRun;
use crate::retention::apply::ApplyReport;
use crate::retention::dispose::Disposed;
use crate::retention::erasure::{Erasure, ErasureScope, ErasureState};
use crate::retention::holds::{Hold, HoldScope, Lifted};
use crate::retention::plan::{AgreementDue, ArchivePlan, DueSample};
use crate::tenant::{ApiKey, Role};
use crate::tier::mover::{ArchiveTier, MoveReport, PassReport, TierFailure};
use crate::usage::{UsageDay, UsageFigures};

/// Checks that `domain` and its DTO serialise to the same bytes.
fn check<D: Serialize, T: Serialize + From<D>>(domain: D) {
    let stored = serde_json::to_string(&domain).unwrap();
    let wire = serde_json::to_string(&T::from(domain)).unwrap();
    assert_eq!(wire, stored);
}

fn disposed() -> Disposed {
    Disposed {
        disposition: 9,
        packages: 3,
        hot: 1,
        cold: 2,
        segments_deleted: 1,
        segments_rewritten: 1,
        raw_bytes: 300,
    }
}

fn failure() -> TierFailure {
    TierFailure {
        tenant: "acme".into(),
        archive: "ebox".into(),
        error: "cold store down".into(),
        at_ms: 5,
    }
}

fn figures() -> UsageFigures {
    UsageFigures {
        tenant: "acme".into(),
        archives: 1,
        packages: 2,
        raw_bytes: 3,
        hot_packages: 4,
        hot_bytes: 5,
        cold_packages: 6,
        cold_bytes: 7,
        requests: 8,
    }
}

#[test]
fn keys_answer_their_stored_json() {
    for role in [
        Role::Producer,
        Role::Consumer,
        Role::Archivist,
        Role::Auditor,
        Role::Admin,
    ] {
        check::<Role, tenant::Role>(role);
        let wire: tenant::Role = serde_json::from_str(&format!("{:?}", role.name())).unwrap();
        assert_eq!(Role::from(wire), role);
    }
    for archives in [None, Some(vec!["ebox".to_string()])] {
        check::<ApiKey, tenant::ApiKey>(ApiKey {
            id: "k1".into(),
            tenant: "acme".into(),
            role: Role::Archivist,
            archives,
            created_ms: 1,
            revoked: false,
        });
    }
}

#[test]
fn holds_and_erasures_answer_their_stored_json() {
    let scopes = [
        HoldScope::Package(4),
        HoldScope::Record("r-1".into()),
        HoldScope::Query {
            field: "case".into(),
            value: "C-7".into(),
        },
    ];
    for scope in scopes {
        for lifted in [
            None,
            Some(Lifted {
                by: "k2".into(),
                at_ms: 9,
                reason: "settled".into(),
            }),
        ] {
            check::<Hold, retention::Hold>(Hold {
                id: "h1".into(),
                archive: "ebox".into(),
                scope: scope.clone(),
                reason: "litigation".into(),
                placed_by: "k1".into(),
                placed_ms: 2,
                lifted,
            });
        }
    }
    let states = [
        ErasureState::Requested,
        ErasureState::Erased,
        ErasureState::Rejected,
    ];
    for (scope, state) in [ErasureScope::Package(3), ErasureScope::Record("r".into())]
        .into_iter()
        .zip(states)
    {
        check::<Erasure, retention::Erasure>(Erasure {
            id: "e1".into(),
            archive: "ebox".into(),
            scope,
            basis: "GDPR art. 17".into(),
            requested_by: "k1".into(),
            requested_ms: 1,
            state,
            decided_by: Some("k2".into()),
            decided_ms: Some(2),
            rejection: None,
            disposition: Some(7),
        });
    }
}

#[test]
fn retention_reports_answer_their_stored_json() {
    check::<Disposed, retention::Disposed>(disposed());
    for d in [None, Some(disposed())] {
        check::<ApplyReport, retention::ApplyReport>(ApplyReport {
            archive: "ebox".into(),
            at_ms: 1,
            disposed: d,
            held: 2,
            next_from: Some(3),
            scanned: 4,
        });
    }
    check::<ArchivePlan, retention::ArchivePlan>(ArchivePlan {
        archive: "ebox".into(),
        at_ms: 1,
        packages: 2,
        due_packages: 3,
        due_raw_bytes: 4,
        due_hot: 5,
        due_cold: 6,
        held_packages: 7,
        held_raw_bytes: 8,
        by_agreement: vec![AgreementDue {
            version: 1,
            packages: 2,
            raw_bytes: 3,
        }],
        samples: vec![DueSample {
            seq: 1,
            record_key: Some("r".into()),
            retain_until_ms: 2,
            tier: "hot".into(),
        }],
        next_due_ms: None,
    });
    check::<DispositionSummary, retention::DispositionSummary>(DispositionSummary {
        seq: 9,
        cause: "erasure".into(),
        basis: "court order".into(),
        authorized_by: vec!["k1".into(), "k2".into()],
        decided_ms: 1,
        packages: 2,
        hot: 1,
        cold: 1,
        segments_deleted: 0,
        segments_rewritten: 1,
        erasure: Some("e1".into()),
        first_seq: 3,
        last_seq: 4,
    });
}

#[test]
fn audits_answer_their_stored_json() {
    let finding = Finding {
        archive: "ebox".into(),
        seq: Some(1),
        object: Some("a.pdf".into()),
        check: "object.digest".into(),
        expected: Some("ab".into()),
        found: Some("cd".into()),
        detail: "digest differs".into(),
    };
    let run = AuditRun {
        id: "a1".into(),
        archive: "ebox".into(),
        sample_percent: 50,
        seed: 7,
        started_by: "k1".into(),
        started_ms: 1,
        size: 10,
        cursor: 10,
        packages: PackageTally {
            examined: 10,
            checked: 5,
            disposed: 1,
            objects: 6,
            bytes: 600,
        },
        log: Some(LogTally {
            leaves: 10,
            checkpoints: 2,
            signed_heads: 1,
            consistency_proofs: 1,
        }),
        counts: BTreeMap::from([("object.digest".to_string(), 1)]),
        findings: vec![finding],
        finished_ms: Some(2),
        recorded_seq: None,
    };
    check::<AuditRun, audit::AuditRun>(run.clone());
    check::<AuditRun, audit::AuditRun>(AuditRun::default());
    let wire: audit::AuditRun =
        serde_json::from_str(&serde_json::to_string(&run).unwrap()).unwrap();
    assert_eq!(wire.findings_total(), run.findings_total());
}

#[test]
fn tiering_and_usage_answer_their_stored_json() {
    check::<PassReport, tier::PassReport>(PassReport {
        moves: vec![MoveReport {
            tenant: "acme".into(),
            archive: "ebox".into(),
            first: 0,
            end: 4,
            segments: 1,
            raw_bytes: 2,
            cold_bytes: 3,
            hot_bytes_freed: 4,
        }],
        errors: vec![failure()],
    });
    for last_error in [None, Some(failure())] {
        check::<ArchiveTier, tier::ArchiveTier>(ArchiveTier {
            tenant: "acme".into(),
            archive: "ebox".into(),
            packages: 1,
            raw_bytes: 2,
            hot_packages: 3,
            hot_bytes: 4,
            cold_packages: 5,
            disposed_packages: 6,
            cold_bytes: 7,
            cold_raw_bytes: 8,
            segments: 9,
            in_flight_packages: 10,
            in_flight_raw_bytes: 11,
            stage: Some("written".into()),
            last_error,
        });
    }
    check::<UsageFigures, tier::UsageFigures>(figures());
    check::<UsageDay, tier::UsageDay>(UsageDay {
        day: "2026-12-04".into(),
        at_ms: 1,
        figures: figures(),
    });
}
