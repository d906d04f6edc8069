//! Usage metering per tenant, for billing by real use: packages, raw bytes, bytes stored hot
//! and cold, and API requests — now, and one snapshot per day over time.
//!
//! Package and byte counts come from the committed archive and tier states, so they are
//! exact. Requests are counted in memory and added to the stored total on every snapshot
//! (every `usage_interval_secs` and at shutdown): a `kill -9` loses at most one interval of
//! request counts, never a package.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::archive::archives::Archives;
use crate::error::Error;
use crate::limits::USAGE_DAYS_MAX;
use crate::store::{Batch, Store, StoreError, cf};
use crate::tier::mover::archive_tier;

/// One tenant's usage at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageFigures {
    pub tenant: String,
    pub archives: u64,
    /// Packages archived (every tier).
    pub packages: u64,
    /// Bytes archived: header bytes plus uncompressed objects.
    pub raw_bytes: u64,
    pub hot_packages: u64,
    /// Bytes in the hot tier: header bytes plus compressed objects.
    pub hot_bytes: u64,
    pub cold_packages: u64,
    /// Bytes of the tenant's cold segment objects.
    pub cold_bytes: u64,
    /// Authenticated API requests since the tenant's first.
    pub requests: u64,
}

/// The last snapshot of a day (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageDay {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub at_ms: u64,
    #[serde(flatten)]
    pub figures: UsageFigures,
}

/// Request counters and snapshots.
#[derive(Debug, Default)]
pub struct Usage {
    /// Requests per tenant not yet added to the stored totals.
    pending: Mutex<HashMap<String, u64>>,
    /// One snapshot at a time: each reads and rewrites the stored request totals.
    snapshots: Mutex<()>,
}

fn guard<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn requests_key(tenant: &str) -> Vec<u8> {
    format!("usage-requests/{tenant}").into_bytes()
}

fn day_prefix(tenant: &str) -> Vec<u8> {
    format!("usage-day/{tenant}/").into_bytes()
}

/// `YYYY-MM-DD` of a time in UTC.
pub fn day_of(ms: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp((ms / 1000) as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

impl Usage {
    /// Counts one authenticated request of `tenant`.
    pub fn count_request(&self, tenant: &str) {
        let mut p = guard(&self.pending);
        match p.get_mut(tenant) {
            Some(n) => *n += 1,
            None => {
                p.insert(tenant.to_string(), 1);
            }
        }
    }

    fn stored_requests(store: &Store, tenant: &str) -> Result<u64, StoreError> {
        Ok(store
            .get(cf::META, &requests_key(tenant))?
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    /// Usage of every tenant (or one) now.
    pub fn now(
        &self,
        archives: &Archives,
        tenant: Option<&str>,
    ) -> Result<Vec<UsageFigures>, Error> {
        let store = archives.store();
        let mut by: BTreeMap<String, UsageFigures> = BTreeMap::new();
        let all = archives.all()?;
        for info in all {
            if tenant.is_some_and(|t| t != info.tenant) {
                continue;
            }
            let t = archive_tier(store, info.clone())?;
            let f = by
                .entry(info.tenant.clone())
                .or_insert_with(|| UsageFigures {
                    tenant: info.tenant.clone(),
                    ..Default::default()
                });
            f.archives += 1;
            f.packages += t.packages;
            f.raw_bytes += t.raw_bytes;
            f.hot_packages += t.hot_packages;
            f.hot_bytes += t.hot_bytes;
            f.cold_packages += t.cold_packages;
            f.cold_bytes += t.cold_bytes;
        }
        let pending = guard(&self.pending).clone();
        for (t, _) in pending.iter() {
            if tenant.is_none_or(|x| x == t) && !by.contains_key(t) {
                by.insert(
                    t.clone(),
                    UsageFigures {
                        tenant: t.clone(),
                        ..Default::default()
                    },
                );
            }
        }
        for f in by.values_mut() {
            f.requests = Self::stored_requests(store, &f.tenant)?
                + pending.get(&f.tenant).copied().unwrap_or(0);
        }
        Ok(by.into_values().collect())
    }

    /// Adds the counted requests to the stored totals and stores today's snapshot of every
    /// tenant, in one synced batch.
    pub fn snapshot(&self, archives: &Archives, now_ms: u64) -> Result<(), Error> {
        let _one = guard(&self.snapshots);
        let pending = std::mem::take(&mut *guard(&self.pending));
        let store = archives.store();
        let mut batch = Batch::default();
        for (t, n) in &pending {
            let total = Self::stored_requests(store, t)? + n;
            batch.put(cf::META, &requests_key(t), total.to_string().as_bytes());
        }
        // `now` adds what is still pending; it was taken above, so the totals are in the batch.
        let mut figures = self.now(archives, None)?;
        for f in &mut figures {
            if let Some(n) = pending.get(&f.tenant) {
                f.requests += n;
            }
            let mut k = day_prefix(&f.tenant);
            k.extend_from_slice(day_of(now_ms).as_bytes());
            let day = UsageDay {
                day: day_of(now_ms),
                at_ms: now_ms,
                figures: f.clone(),
            };
            batch.put_json(cf::META, &k, &day)?;
        }
        if let Err(e) = store.commit(batch) {
            // Nothing was stored: count the requests again next time.
            let mut p = guard(&self.pending);
            for (t, n) in pending {
                *p.entry(t).or_default() += n;
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// Stored daily snapshots of `tenant` from day `from` to day `to` (inclusive,
    /// `YYYY-MM-DD`), oldest first, at most [`USAGE_DAYS_MAX`].
    pub fn history(
        &self,
        archives: &Archives,
        tenant: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<UsageDay>, Error> {
        let store = archives.store();
        let prefix = day_prefix(tenant);
        let mut out = Vec::new();
        for k in store.scan_keys_from(cf::META, &prefix, from.as_bytes(), USAGE_DAYS_MAX)? {
            let day =
                String::from_utf8_lossy(k.get(prefix.len()..).unwrap_or_default()).into_owned();
            if day.as_str() > to {
                break;
            }
            if let Some(v) = store.get(cf::META, &k)? {
                out.push(
                    serde_json::from_slice(&v)
                        .map_err(|e| StoreError::Corrupt(format!("usage {tenant} {day}: {e}")))?,
                );
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(1_709_251_199_999), "2024-02-29");
        assert_eq!(day_of(1_709_251_200_000), "2024-03-01");
    }
}
