//! The retention plan: which packages of an archive are due (their `retain_until` is at or
//! before a date) and not held, with counts and bytes per tier and agreement version, and a
//! few samples. It reads every header once, hot or cold; it changes nothing.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::archive::archives::{ArchiveInfo, Archives, Tier};
use crate::error::Error;
use crate::limits::PLAN_SAMPLES_MAX;
use crate::retention::holds::Hold;

/// Due packages sealed under one agreement version.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AgreementDue {
    /// Agreement version (0 for packages sealed without one, such as the agreement itself).
    pub version: u64,
    pub packages: u64,
    pub raw_bytes: u64,
}

/// One due package, as an example.
#[derive(Debug, Clone, Serialize)]
pub struct DueSample {
    pub seq: u64,
    pub record_key: Option<String>,
    pub retain_until_ms: u64,
    pub tier: String,
}

/// The plan of one archive.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ArchivePlan {
    pub archive: String,
    /// Packages due at or before this time.
    pub at_ms: u64,
    /// Packages examined (the whole log).
    pub packages: u64,
    pub due_packages: u64,
    /// Raw bytes of the due packages (header bytes plus uncompressed objects).
    pub due_raw_bytes: u64,
    pub due_hot: u64,
    pub due_cold: u64,
    /// Packages that would be due but are held.
    pub held_packages: u64,
    pub held_raw_bytes: u64,
    pub by_agreement: Vec<AgreementDue>,
    pub samples: Vec<DueSample>,
    /// The earliest retention end after `at_ms` of a package not held, if any.
    pub next_due_ms: Option<u64>,
}

/// Plans one archive at `at_ms` under the holds in force.
pub async fn plan(
    archives: &Archives,
    info: &ArchiveInfo,
    holds: &[Hold],
    at_ms: u64,
) -> Result<ArchivePlan, Error> {
    let size = archives.size(info)?;
    let mut p = ArchivePlan {
        archive: info.archive.clone(),
        at_ms,
        packages: size,
        ..Default::default()
    };
    let mut by_agreement: BTreeMap<u64, AgreementDue> = BTreeMap::new();
    for seq in 0..size {
        let Some(stored) = archives.live_header(info.id, seq).await? else {
            continue;
        };
        let (bytes, h, tier) = (&stored.bytes, &stored.header, stored.tier);
        let Some(until) = h.retain_until_ms else {
            continue;
        };
        let raw = bytes.len() as u64 + h.objects.iter().map(|o| o.size).sum::<u64>();
        let held = holds.iter().any(|x| x.covers(seq, h));
        if until > at_ms {
            if !held {
                p.next_due_ms = Some(p.next_due_ms.map_or(until, |n| n.min(until)));
            }
            continue;
        }
        if held {
            p.held_packages += 1;
            p.held_raw_bytes += raw;
            continue;
        }
        p.due_packages += 1;
        p.due_raw_bytes += raw;
        match tier {
            Tier::Hot => p.due_hot += 1,
            Tier::Cold => p.due_cold += 1,
        }
        let version = h.agreement.map_or(0, |a| a.version);
        let a = by_agreement.entry(version).or_insert_with(|| AgreementDue {
            version,
            ..Default::default()
        });
        a.packages += 1;
        a.raw_bytes += raw;
        if p.samples.len() < PLAN_SAMPLES_MAX {
            p.samples.push(DueSample {
                seq,
                record_key: h.record_key.clone(),
                retain_until_ms: until,
                tier: tier.as_str().into(),
            });
        }
    }
    p.by_agreement = by_agreement.into_values().collect();
    Ok(p)
}
