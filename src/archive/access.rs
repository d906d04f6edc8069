//! The access log: every read of archived content is recorded (who, what, when) in the
//! tenant's system archive [`ACCESS_ARCHIVE`], a Merkle log like any other, so the record of
//! reads is as tamper-evident as the content. A read is answered only after its entry is
//! durable; entries arriving together share one `access` package and one group commit.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use zegel_format::header::{Kind, MetaValue};

use crate::archive::archives::Archives;
use crate::archive::sequencer::{NewObject, Retention, Submission};
use crate::error::Error;
use crate::limits::{
    ACCESS_ENTRIES_PER_PACKAGE_MAX, ACCESS_PACKAGES_IN_FLIGHT_MAX, ACCESS_QUEUE_MAX,
};

/// The per-tenant system archive that holds the access log. Names starting `zegel.` are
/// reserved for the server.
pub const ACCESS_ARCHIVE: &str = "zegel.access";
/// Prefix of every system archive's name.
pub const SYSTEM_ARCHIVE_PREFIX: &str = "zegel.";
/// Media type of the entries object: one JSON object per line.
pub const ACCESS_MEDIA_TYPE: &str = "application/x-ndjson";

/// One read of archived content.
#[derive(Debug, Clone, Serialize)]
pub struct AccessEntry {
    pub time_ms: u64,
    /// The API key that read (its id, never the token).
    pub key_id: String,
    pub role: String,
    pub archive: String,
    /// What was read, e.g. `record`, `package`, `object`, `sealed`, `search`.
    pub action: &'static str,
    /// The package read, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Record key, object name or query, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

type Job = (String, AccessEntry, oneshot::Sender<Result<(), Error>>);

/// Records reads; cheap to clone.
#[derive(Debug, Clone)]
pub struct AccessLog {
    tx: mpsc::Sender<Job>,
}

impl AccessLog {
    /// Starts the writer task.
    pub fn start(archives: Arc<Archives>) -> AccessLog {
        let (tx, rx) = mpsc::channel(ACCESS_QUEUE_MAX);
        tokio::spawn(write_loop(archives, rx));
        AccessLog { tx }
    }

    /// Records one read of `tenant`'s content and waits until the entry is durable.
    /// A full queue is `Busy`; a failed write keeps its category, with what it means for
    /// the read in front.
    pub async fn record(&self, tenant: &str, entry: AccessEntry) -> Result<(), Error> {
        let stopped = || Error::internal("the access log has stopped");
        let (done, wait) = oneshot::channel();
        self.tx
            .try_send((tenant.to_string(), entry, done))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => {
                    Error::Busy("the access log is full; retry shortly".into())
                }
                mpsc::error::TrySendError::Closed(_) => stopped(),
            })?;
        wait.await
            .map_err(|_| stopped())?
            .map_err(|e| e.context("the access log could not record this read"))
    }
}

async fn write_loop(archives: Arc<Archives>, mut rx: mpsc::Receiver<Job>) {
    let in_flight = Arc::new(tokio::sync::Semaphore::new(ACCESS_PACKAGES_IN_FLIGHT_MAX));
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < ACCESS_ENTRIES_PER_PACKAGE_MAX {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let mut by_tenant: BTreeMap<String, Vec<(AccessEntry, oneshot::Sender<_>)>> =
            BTreeMap::new();
        for (tenant, entry, done) in jobs {
            by_tenant.entry(tenant).or_default().push((entry, done));
        }
        for (tenant, jobs) in by_tenant {
            // Packages in flight overlap, so the sequencer commits several in one group and a
            // read waits about one commit, not the one before it too.
            let Ok(permit) = in_flight.clone().acquire_owned().await else {
                return;
            };
            let archives = archives.clone();
            tokio::spawn(async move {
                let entries: Vec<&AccessEntry> = jobs.iter().map(|(e, _)| e).collect();
                let outcome = seal(&archives, &tenant, &entries).await;
                drop(permit);
                metrics::counter!("zegel_access_entries_total").increment(jobs.len() as u64);
                if outcome.is_err() {
                    metrics::counter!("zegel_access_log_failures_total").increment(1);
                }
                for (_, done) in jobs {
                    let _ = done.send(outcome.clone());
                }
            });
        }
    }
}

async fn seal(archives: &Archives, tenant: &str, entries: &[&AccessEntry]) -> Result<(), Error> {
    let mut ndjson = Vec::with_capacity(entries.len() * 160);
    for e in entries {
        serde_json::to_writer(&mut ndjson, e)
            .map_err(|e| Error::internal(format!("encoding an access entry: {e}")))?;
        ndjson.push(b'\n');
    }
    let object = NewObject::new("entries.ndjson", ACCESS_MEDIA_TYPE, &ndjson)
        .map_err(|e| Error::internal(format!("compressing access entries: {e}")))?;
    let mut metadata = BTreeMap::new();
    metadata.insert(
        "entries".to_string(),
        MetaValue::Int(i64::try_from(entries.len()).unwrap_or(i64::MAX)),
    );
    let sub = Submission {
        kind: Kind::Access,
        record_key: None,
        metadata,
        objects: vec![object],
        retention: Retention::Forever,
        agreement_version: None,
        index: Vec::new(),
    };
    archives
        .submit_system(tenant, ACCESS_ARCHIVE, vec![sub])
        .await
        .map(|_| ())
}
