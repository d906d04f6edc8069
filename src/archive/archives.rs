//! The set of archives on this node: names to internal ids, one sequencer per archive, and
//! the reads every route needs (headers, objects, records, checkpoints, proofs).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use zegel_format::hash::{Hash, sha256};
use zegel_format::header::{Kind, PackageHeader};
use zegel_format::merkle::{self, NodeSource};
use zegel_format::note::SigningKey;
use zegel_format::proof::{ConsistencyProof, InclusionProof};
use zegel_format::receipt::Receipt;
use zegel_format::sealed;

use crate::archive::agreement::Agreement;
use crate::archive::disposed;
use crate::archive::sequencer::{
    self, Disposal, Eviction, NewObject, Retention, SequencerError, SequencerHandle, Submission,
};
use crate::archive::state::ArchiveState;
use crate::clock::Clock;
use crate::cold::ColdStore;
use crate::error::Error;
use crate::limits::{HOT_OBJECT_BYTES_MAX, RECORD_VERSIONS_MAX};
use crate::store::{self, ArchiveId, Store, StoreError, cf};
use crate::tier::reader::{ColdReadError, ColdReader};

/// What is recorded about an archive besides its log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveInfo {
    pub id: ArchiveId,
    pub tenant: String,
    pub archive: String,
    pub created_ms: u64,
}

impl From<SequencerError> for Error {
    fn from(e: SequencerError) -> Error {
        match e {
            SequencerError::Busy | SequencerError::Stopped => Error::Busy(e.to_string()),
            SequencerError::Invalid(m) => Error::Invalid {
                detail: m,
                violations: Vec::new(),
            },
            SequencerError::Held(m) => Error::held(m),
            SequencerError::Store(m) | SequencerError::Internal(m) => Error::internal(m),
        }
    }
}

impl From<ColdReadError> for Error {
    fn from(e: ColdReadError) -> Error {
        match e {
            ColdReadError::Unavailable(c) => Error::Unavailable(format!(
                "the package is in the cold tier, which cannot be read now: {c}"
            )),
            e @ ColdReadError::Corrupt { check, found, .. } => Error::Corrupt {
                check,
                found,
                detail: e.to_string(),
            },
            ColdReadError::Store(s) => s.into(),
        }
    }
}

/// A package read from either tier: its exact header bytes and their decoding; a cold read
/// also carries the objects it restored with them.
#[derive(Debug, Clone)]
pub struct StoredPackage {
    pub id: ArchiveId,
    pub seq: u64,
    pub bytes: Vec<u8>,
    pub header: PackageHeader,
    pub tier: Tier,
    cold_objects: Option<Vec<Vec<u8>>>,
}

/// The tier that served a read (the `zegel-tier` response header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Hot,
    Cold,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Hot => "hot",
            Tier::Cold => "cold",
        }
    }
}

fn name_key(tenant: &str, archive: &str) -> Vec<u8> {
    format!("archive/{tenant}/{archive}").into_bytes()
}

fn info_key(id: ArchiveId) -> Vec<u8> {
    format!("archive-id/{id:016x}").into_bytes()
}

const NEXT_ID_KEY: &[u8] = b"next-archive-id";

/// The agreement document in force, kept in `meta` beside its sealed package so that ingest
/// never needs the cold tier once the package has moved there.
fn agreement_doc_key(id: ArchiveId) -> Vec<u8> {
    format!("agreement-doc/{id:016x}").into_bytes()
}

/// All archives of this node. Shared (`Arc`) by every request handler.
#[derive(Debug)]
pub struct Archives {
    store: Arc<Store>,
    key: SigningKey,
    clock: Arc<dyn Clock>,
    checkpoint_interval: Duration,
    /// Running sequencers by archive id; guarded by this mutex, held only to look up or insert.
    sequencers: Mutex<HashMap<ArchiveId, SequencerHandle>>,
    /// Serialises archive creation from the name check to the commit, so two requests cannot
    /// create one name twice. A tokio mutex: it is held across the sequencer's commit.
    create_lock: tokio::sync::Mutex<()>,
    /// Agreement in force per archive, parsed once (patterns compiled) and keyed by the seq
    /// that sealed it; replaced when a newer version is sealed.
    agreements: Mutex<HashMap<ArchiveId, (u64, Arc<Agreement>)>>,
    /// Archives found by name: an archive is never renamed or removed, so an entry never
    /// goes stale.
    found: Mutex<HashMap<(String, String), ArchiveInfo>>,
    /// Reads of packages that have moved to the cold tier.
    cold: ColdReader,
}

impl Archives {
    /// Opens every existing archive and starts its sequencer.
    pub fn open(
        store: Arc<Store>,
        key: SigningKey,
        clock: Arc<dyn Clock>,
        checkpoint_interval: Duration,
        cold: ColdStore,
    ) -> Result<Archives, Error> {
        let archives = Archives {
            store,
            key,
            clock,
            checkpoint_interval,
            sequencers: Mutex::new(HashMap::new()),
            create_lock: tokio::sync::Mutex::new(()),
            agreements: Mutex::new(HashMap::new()),
            found: Mutex::new(HashMap::new()),
            cold: ColdReader::new(cold),
        };
        if archives.store.needs_refs()? {
            let logs = archives
                .all()?
                .iter()
                .map(|i| Ok((i.id, ArchiveState::load(&archives.store, i.id)?.size)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            archives.store.migrate_refs(&logs)?;
        }
        for info in archives.all()? {
            let h = sequencer::start(
                archives.store.clone(),
                archives.key.clone(),
                archives.clock.clone(),
                info.id,
                archives.origin(&info),
                archives.checkpoint_interval,
            )?;
            archives.lock().insert(info.id, h);
        }
        Ok(archives)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ArchiveId, SequencerHandle>> {
        guard(&self.sequencers)
    }

    /// Stops every sequencer and waits for their threads (each publishes a last checkpoint),
    /// so the store closes with no writer inside it. Blocking; call after the API stopped.
    pub fn shutdown(&self) {
        let handles: Vec<SequencerHandle> = self.lock().drain().map(|(_, h)| h).collect();
        for h in handles {
            h.join();
        }
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The hot store, shared.
    pub fn store_arc(&self) -> Arc<Store> {
        self.store.clone()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn origin(&self, info: &ArchiveInfo) -> String {
        zegel_format::checkpoint::origin(self.key.name(), &info.tenant, &info.archive)
    }

    /// Every archive, in id order.
    pub fn all(&self) -> Result<Vec<ArchiveInfo>, Error> {
        self.store
            .scan_prefix(cf::META, b"archive-id/", usize::MAX)?
            .into_iter()
            .map(|(_, v)| serde_json::from_slice(&v).map_err(|e| Error::corrupt(e.to_string())))
            .collect()
    }

    pub fn find(&self, tenant: &str, archive: &str) -> Result<Option<ArchiveInfo>, Error> {
        let name = (tenant.to_string(), archive.to_string());
        let cached = guard(&self.found).get(&name).cloned();
        if let Some(info) = cached {
            return Ok(Some(info));
        }
        let info = self.find_stored(tenant, archive)?;
        if let Some(info) = &info {
            guard(&self.found).insert(name, info.clone());
        }
        Ok(info)
    }

    fn find_stored(&self, tenant: &str, archive: &str) -> Result<Option<ArchiveInfo>, Error> {
        let Some(id) = self.store.get(cf::META, &name_key(tenant, archive))? else {
            return Ok(None);
        };
        let id = id
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| Error::corrupt("archive id"))?;
        let info = self
            .store
            .get(cf::META, &info_key(id))?
            .ok_or_else(|| Error::corrupt(format!("archive {id} has no record")))?;
        Ok(Some(
            serde_json::from_slice(&info).map_err(|e| Error::corrupt(e.to_string()))?,
        ))
    }

    fn handle(&self, id: ArchiveId) -> Result<SequencerHandle, Error> {
        self.lock()
            .get(&id)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("archive {id} is not open")))
    }

    /// Creates an archive with its first agreement version, in one durable commit: the
    /// archive exists exactly when its agreement is sealed at seq 0.
    pub async fn create(
        &self,
        tenant: &str,
        archive: &str,
        agreement_doc: &[u8],
        agreement: &Agreement,
    ) -> Result<ArchiveInfo, Error> {
        let first = agreement_submission(agreement_doc, agreement)?;
        Ok(self
            .create_with(tenant, archive, vec![first], Some(agreement_doc))
            .await?
            .0)
    }

    /// Seals `subs` into a system archive (one the server keeps, such as the access log),
    /// creating the archive with them when it does not exist yet.
    pub async fn submit_system(
        &self,
        tenant: &str,
        archive: &str,
        subs: Vec<Submission>,
    ) -> Result<Vec<sequencer::Sealed>, Error> {
        if let Some(info) = self.find(tenant, archive)? {
            return self.submit(&info, subs).await;
        }
        match self.create_with(tenant, archive, subs.clone(), None).await {
            Err(Error::Conflict { kind: "exists", .. }) => {
                let info = self
                    .find(tenant, archive)?
                    .ok_or_else(|| Error::NotFound(format!("{tenant}/{archive}")))?;
                self.submit(&info, subs).await
            }
            other => other.map(|(_, sealed)| sealed),
        }
    }

    /// Creates an archive whose first commit seals `first`: the name exists exactly when that
    /// commit is durable.
    async fn create_with(
        &self,
        tenant: &str,
        archive: &str,
        first: Vec<Submission>,
        agreement_doc: Option<&[u8]>,
    ) -> Result<(ArchiveInfo, Vec<sequencer::Sealed>), Error> {
        zegel_format::header::check_identifier("tenant", tenant)
            .map_err(|e| Error::NotFound(e.to_string()))?;
        zegel_format::header::check_identifier("archive", archive)
            .map_err(|e| Error::NotFound(e.to_string()))?;
        let _guard = self.create_lock.lock().await;
        let (info, handle, extra) = {
            if self.find(tenant, archive)?.is_some() {
                return Err(Error::already_exists(format!("{tenant}/{archive}")));
            }
            let id = self
                .store
                .get(cf::META, NEXT_ID_KEY)?
                .and_then(|b| {
                    b.get(..8)
                        .and_then(|x| x.try_into().ok())
                        .map(u64::from_be_bytes)
                })
                .unwrap_or(1);
            let info = ArchiveInfo {
                id,
                tenant: tenant.into(),
                archive: archive.into(),
                created_ms: self.clock.now_ms(),
            };
            // Reserve the id now, so a failed creation never reuses it for another name.
            let mut b = store::Batch::default();
            b.put(cf::META, NEXT_ID_KEY, &(id + 1).to_be_bytes());
            self.store.commit(b)?;
            let handle = sequencer::start_new(
                self.store.clone(),
                self.key.clone(),
                self.clock.clone(),
                id,
                self.origin(&info),
                self.checkpoint_interval,
                ArchiveState::new(tenant, archive),
            )?;
            let mut extra = vec![
                (
                    cf::META,
                    name_key(tenant, archive),
                    id.to_be_bytes().to_vec(),
                ),
                (cf::META, info_key(id), store::json_value(&info)?),
            ];
            if let Some(doc) = agreement_doc {
                extra.push((cf::META, agreement_doc_key(id), doc.to_vec()));
            }
            (info, handle, extra)
        };
        // Registered before the name is committed: a request that finds the name the moment
        // the commit lands must find its sequencer too. Nobody can reach the handle sooner,
        // since the name is not visible before the commit.
        self.lock().insert(info.id, handle.clone());
        match handle.submit_with(first, extra).await {
            Ok(sealed) => Ok((info, sealed)),
            Err(e) => {
                self.lock().remove(&info.id);
                Err(e.into())
            }
        }
    }

    /// Seals a new agreement version into an existing archive.
    pub async fn apply_agreement(
        &self,
        info: &ArchiveInfo,
        doc: &[u8],
        agreement: &Agreement,
    ) -> Result<u64, Error> {
        let sealed = self
            .handle(info.id)?
            .submit_with(
                vec![agreement_submission(doc, agreement)?],
                vec![(cf::META, agreement_doc_key(info.id), doc.to_vec())],
            )
            .await;
        guard(&self.agreements).remove(&info.id);
        Ok(sealed?.first().map_or(0, |s| s.seq))
    }

    /// The agreement version in force: read back from the log once per version, then cached.
    pub async fn current_agreement(
        &self,
        info: &ArchiveInfo,
    ) -> Result<(u64, Arc<Agreement>), Error> {
        // Only `apply_agreement` seals a new version, and it drops the cached one when it has.
        let cached = guard(&self.agreements).get(&info.id).cloned();
        if let Some(hit) = cached {
            return Ok(hit);
        }
        let state = ArchiveState::load(&self.store, info.id)?;
        let a = state
            .agreement
            .ok_or_else(|| Error::NotFound("the archive has no agreement".into()))?;
        // The document kept beside the state; the sealed package is the fallback.
        let doc = match self.store.get(cf::META, &agreement_doc_key(info.id))? {
            Some(doc) => doc,
            None => {
                let p = self
                    .header(info.id, a.seq)
                    .await?
                    .ok_or_else(|| Error::corrupt("agreement package missing"))?;
                self.object(&p, 0).await?
            }
        };
        let agreement = Arc::new(
            Agreement::parse(&doc)
                .map_err(|v| Error::corrupt(format!("stored agreement: {v:?}")))?,
        );
        guard(&self.agreements).insert(info.id, (a.seq, agreement.clone()));
        Ok((a.seq, agreement))
    }

    pub async fn submit(
        &self,
        info: &ArchiveInfo,
        subs: Vec<Submission>,
    ) -> Result<Vec<sequencer::Sealed>, Error> {
        Ok(self.handle(info.id)?.submit(subs).await?)
    }

    pub async fn checkpoint_now(&self, info: &ArchiveInfo) -> Result<String, Error> {
        Ok(self.handle(info.id)?.checkpoint().await?)
    }

    pub fn size(&self, info: &ArchiveInfo) -> Result<u64, Error> {
        Ok(ArchiveState::load(&self.store, info.id)?.size)
    }

    /// The package at `seq` as stored, checked against its Merkle leaf in either tier: a hot
    /// read fetches the header only, a cold read restores the whole package once.
    pub async fn header(&self, id: ArchiveId, seq: u64) -> Result<Option<StoredPackage>, Error> {
        self.header_with(id, seq, None).await
    }

    /// As [`Archives::header`], for an audit: with the leaves of `seq` and `seq − 1` already
    /// read from the hot store by the caller (an audit walking the log in order reads each
    /// leaf once), and a cold package read from the cold store itself, never from the block
    /// cache, so that what is checked is what is stored.
    pub async fn header_audited(
        &self,
        id: ArchiveId,
        seq: u64,
        leaves: (Hash, Option<Hash>),
    ) -> Result<Option<StoredPackage>, Error> {
        self.header_with(id, seq, Some(leaves)).await
    }

    async fn header_with(
        &self,
        id: ArchiveId,
        seq: u64,
        known: Option<(Hash, Option<Hash>)>,
    ) -> Result<Option<StoredPackage>, Error> {
        if let Some(bytes) = self.store.get(cf::HEADERS, &store::header_key(id, seq))? {
            let header = PackageHeader::decode(&bytes)
                .map_err(|e| Error::corrupt(format!("header {seq}: {e}")))?;
            let leaf = match known {
                Some((leaf, _)) => leaf,
                None => self
                    .store
                    .nodes(id)
                    .node(0, seq)
                    .map_err(|e| Error::corrupt(e.to_string()))?,
            };
            if zegel_format::hash::leaf_hash(&bytes) != leaf {
                return Err(Error::corrupt(format!(
                    "header {seq} does not hash to its leaf"
                )));
            }
            return Ok(Some(StoredPackage {
                id,
                seq,
                bytes,
                header,
                tier: Tier::Hot,
                cold_objects: None,
            }));
        }
        // Tiering deletes the hot header in the batch that writes the cold location.
        let Some(at) = ColdReader::location(&self.store, id, seq)? else {
            if let Some(mark) = disposed::mark(&self.store, id, seq)? {
                return Err(Error::Gone {
                    seq,
                    cause: mark.cause,
                    disposition: mark.disposition,
                    at_ms: mark.at_ms,
                    retain_until_ms: mark.retain_until_ms,
                });
            }
            return Ok(None);
        };
        let p = match known {
            Some(leaves) => {
                self.cold
                    .package_audited(&self.store, id, seq, at, leaves)
                    .await?
            }
            None => self.cold.package(&self.store, id, seq, at).await?,
        };
        Ok(Some(StoredPackage {
            id,
            seq,
            bytes: p.header_bytes,
            header: p.header,
            tier: Tier::Cold,
            cold_objects: Some(p.objects),
        }))
    }

    /// As [`Archives::header`], with a disposed package as `None`: for scans that pass over
    /// what is gone (search, plans, disposal).
    pub async fn live_header(
        &self,
        id: ArchiveId,
        seq: u64,
    ) -> Result<Option<StoredPackage>, Error> {
        match self.header(id, seq).await {
            Err(Error::Gone { .. }) => Ok(None),
            other => other,
        }
    }

    /// Object `i` of a package read by [`Archives::header`], checked against its digest.
    pub async fn object(&self, p: &StoredPackage, i: usize) -> Result<Vec<u8>, Error> {
        let (id, seq) = (p.id, p.seq);
        let o = p
            .header
            .objects
            .get(i)
            .ok_or_else(|| Error::NotFound(format!("package {seq} has no object {i}")))?;
        if let Some(objects) = &p.cold_objects {
            // Restored and checked with the header.
            return objects
                .get(i)
                .cloned()
                .ok_or_else(|| Error::corrupt(format!("cold package {seq} lacks object {i}")));
        }
        if let Some(bytes) = self.hot_object(id, &o.digest)? {
            return Ok(bytes);
        }
        // Moved to the cold tier since the header was read.
        let at = ColdReader::location(&self.store, id, seq)?
            .ok_or_else(|| Error::corrupt(format!("object {} of {seq} is missing", o.digest)))?;
        let mut cold = self.cold.package(&self.store, id, seq, at).await?;
        if i >= cold.objects.len() {
            return Err(Error::corrupt(format!(
                "cold package {seq} lacks object {i}"
            )));
        }
        Ok(cold.objects.swap_remove(i))
    }

    /// A hot object's bytes by digest, decompressed and re-hashed before they are returned.
    pub fn hot_object(&self, id: ArchiveId, digest: &Hash) -> Result<Option<Vec<u8>>, Error> {
        let Some(v) = self
            .store
            .get(cf::OBJECTS, &store::object_key(id, digest))?
        else {
            return Ok(None);
        };
        open_hot_object(&v, digest).map(Some)
    }

    /// The sealed package at `seq`, assembled from the header and objects
    /// (formats/sealed-package.md), and the tier it came from.
    pub async fn sealed_package(
        &self,
        id: ArchiveId,
        seq: u64,
    ) -> Result<Option<(Vec<u8>, Tier)>, Error> {
        let Some(p) = self.header(id, seq).await? else {
            return Ok(None);
        };
        let mut objects = Vec::new();
        for i in 0..p.header.objects.len() {
            objects.push(Some(self.object(&p, i).await?));
        }
        let refs: Vec<Option<&[u8]>> = objects.iter().map(|o| o.as_deref()).collect();
        let raw = sealed::encode_package(&p.bytes, &refs);
        Ok(Some((
            zstd::bulk::compress(&raw, sealed::SEAL_ZSTD_LEVEL).map_err(StoreError::Io)?,
            p.tier,
        )))
    }

    /// Seals a disposition and removes what it disposes of (see [`Disposal`]).
    pub async fn dispose(
        &self,
        info: &ArchiveInfo,
        d: Disposal,
    ) -> Result<sequencer::Sealed, Error> {
        Ok(self.handle(info.id)?.dispose(d).await?)
    }

    /// The cold-tier reader, for disposals that rewrite segments.
    /// The dispositions of an archive, for listings.
    pub fn dispositions(&self, id: ArchiveId) -> Result<Vec<disposed::DispositionSummary>, Error> {
        Ok(disposed::summaries(&self.store, id)?)
    }

    pub fn cold(&self) -> &ColdReader {
        &self.cold
    }

    /// Drops the hot copies of a verified move (see [`Eviction`]); the hot bytes freed.
    pub async fn evict(&self, info: &ArchiveInfo, e: Eviction) -> Result<u64, Error> {
        Ok(self.handle(info.id)?.evict(e).await?)
    }

    /// One version of a record key (the latest when `version` is `None`): (version, seq,
    /// number of versions). Point reads only.
    pub fn record_version(
        &self,
        id: ArchiveId,
        key: &str,
        version: Option<u64>,
    ) -> Result<Option<(u64, u64, u64)>, Error> {
        let Some(latest) = self.store.get(cf::LATEST, &store::record_prefix(id, key))? else {
            return Ok(None);
        };
        let (count, latest_seq, _) = store::decode_latest(&latest)
            .ok_or_else(|| Error::corrupt(format!("latest of {key:?}")))?;
        match version {
            None => Ok(Some((count, latest_seq, count))),
            Some(v) => {
                let Some(entry) = self
                    .store
                    .get(cf::RECORDS, &store::record_version_key(id, key, v))?
                else {
                    return Ok(None);
                };
                let seq = entry
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes)
                    .ok_or_else(|| Error::corrupt(format!("version {v} of {key:?}")))?;
                Ok(Some((v, seq, count)))
            }
        }
    }

    /// Versions of a record key: (version, seq), oldest first.
    pub fn record_versions(&self, id: ArchiveId, key: &str) -> Result<Vec<(u64, u64)>, Error> {
        let prefix = store::record_prefix(id, key);
        Ok(self
            .store
            .scan_prefix(cf::RECORDS, &prefix, RECORD_VERSIONS_MAX)?
            .into_iter()
            .filter_map(|(k, v)| {
                let (version, seq, _) = store::decode_record_version(&prefix, &k, &v)?;
                Some((version, seq))
            })
            .collect())
    }

    /// Seqs of packages whose indexed `field` equals `value`, from seq `from`, ascending.
    pub fn index_seqs(
        &self,
        id: ArchiveId,
        field: &str,
        value: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<u64>, Error> {
        let prefix = store::index_prefix(id, field, value);
        Ok(self
            .store
            .scan_keys_from(cf::INDEX, &prefix, &from.to_be_bytes(), limit)?
            .into_iter()
            .filter_map(|k| {
                k.get(prefix.len()..)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes)
            })
            .collect())
    }

    /// The first seq whose time is at or after `time_ms` (the size if none): times never go
    /// backwards within an archive, so this is a bisection over headers.
    pub async fn first_seq_at(&self, info: &ArchiveInfo, time_ms: u64) -> Result<u64, Error> {
        let (mut lo, mut hi) = (0u64, self.size(info)?);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            // A disposed package has no time left: the next one still readable stands in.
            let mut probe = mid;
            let mut t = u64::MAX;
            while probe < hi {
                match self.header(info.id, probe).await {
                    Ok(p) => {
                        t = p.map_or(u64::MAX, |p| p.header.time_ms);
                        break;
                    }
                    Err(Error::Gone { .. }) => probe += 1,
                    Err(e) => return Err(e),
                }
            }
            if t < time_ms {
                lo = probe + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }

    /// The newest signed checkpoint note.
    pub fn latest_checkpoint(&self, id: ArchiveId) -> Result<Option<(u64, String)>, Error> {
        Ok(self
            .store
            .last_of(cf::CHECKPOINTS, id)?
            .map(|(n, v)| (n, String::from_utf8_lossy(&v).into_owned())))
    }

    pub fn inclusion(&self, id: ArchiveId, seq: u64, size: u64) -> Result<InclusionProof, Error> {
        let path = merkle::inclusion_proof(&self.store.nodes(id), seq, size)
            .map_err(|e| Error::NotFound(e.to_string()))?;
        Ok(InclusionProof {
            index: seq,
            size,
            path,
        })
    }

    pub fn consistency(
        &self,
        id: ArchiveId,
        old: u64,
        new: u64,
    ) -> Result<ConsistencyProof, Error> {
        let path = merkle::consistency_proof(&self.store.nodes(id), old, new)
            .map_err(|e| Error::NotFound(e.to_string()))?;
        Ok(ConsistencyProof { old, new, path })
    }

    /// The receipt of a committed package.
    pub fn receipt(&self, id: ArchiveId, seq: u64) -> Result<Receipt, Error> {
        let leaf = self
            .store
            .nodes(id)
            .node(0, seq)
            .map_err(|e| Error::NotFound(e.to_string()))?;
        Ok(sequencer::stored_receipt(&self.store, id, seq, leaf)?)
    }
}

/// A mutex's guard; a poisoned lock still holds consistent maps (every critical section here
/// is a single insert, get or remove), so it is used as is.
fn guard<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

thread_local! {
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// Inflates a hot object with this thread's reused zstd context (creating one per read cost
/// more than the read).
/// A hot object's stored value, decompressed and re-hashed against `digest`.
pub fn open_hot_object(value: &[u8], digest: &Hash) -> Result<Vec<u8>, Error> {
    let (_, z) = store::decode_object(value)
        .ok_or_else(|| Error::corrupt(format!("object {digest}: short value")))?;
    let bytes = decompress(z).map_err(|e| Error::corrupt(format!("object {digest}: {e}")))?;
    if sha256(&bytes) != *digest {
        return Err(Error::corrupt(format!(
            "object {digest} does not hash to its digest"
        )));
    }
    Ok(bytes)
}

fn decompress(z: &[u8]) -> std::io::Result<Vec<u8>> {
    DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            *d = Some(zstd::bulk::Decompressor::new()?);
        }
        // The frame's declared size (our frames declare it), within the limit: a buffer of
        // the limit itself would be 64 MiB per read. A frame that inflates to more than it
        // declared fails.
        let capacity = zstd::zstd_safe::get_frame_content_size(z)
            .ok()
            .flatten()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n <= HOT_OBJECT_BYTES_MAX)
            .unwrap_or(HOT_OBJECT_BYTES_MAX);
        match d.as_mut() {
            Some(d) => d.decompress(z, capacity),
            None => Err(std::io::Error::other("no zstd context")),
        }
    })
}

fn agreement_submission(doc: &[u8], agreement: &Agreement) -> Result<Submission, Error> {
    Ok(Submission {
        kind: Kind::Agreement,
        record_key: None,
        metadata: Default::default(),
        objects: vec![
            NewObject::new("agreement.json", "application/json", doc).map_err(StoreError::Io)?,
        ],
        retention: Retention::Forever,
        agreement_version: Some(agreement.version),
        index: Vec::new(),
    })
}
