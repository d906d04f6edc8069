//! The hot tier: one RocksDB database, a column family per kind of data. Only this module
//! knows RocksDB; everything above sees typed reads and an atomic, durable [`Batch`].
//!
//! Contract of [`Store::commit`]: the whole batch is applied atomically and the WAL is synced
//! before it returns `Ok`; after `Ok`, the data survives `kill -9` and power loss. On `Err`
//! nothing of the batch is visible. Callers retry; the store does not.

use std::path::Path;

use rocksdb::{
    ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteBatch, WriteOptions,
};
use zegel_format::hash::Hash;
use zegel_format::merkle::{NodeSource, ProofError};

/// Column families, by kind of data. Keys start with the archive's 8-byte internal id.
pub mod cf {
    /// Server and archive records (JSON): names, ids, sequencer state.
    pub const META: &str = "meta";
    /// `id ‖ seq` → exact header bytes (the Merkle leaf data).
    pub const HEADERS: &str = "headers";
    /// `id ‖ sha256` → `last seq ‖ the object's bytes, zstd-compressed` (deduplicated per
    /// archive; `last seq` is the newest package that references it, so tiering knows when
    /// the last hot reference has gone).
    pub const OBJECTS: &str = "objects";
    /// `id ‖ level ‖ index` → hash of a complete Merkle subtree. Read by key (proofs) and in
    /// key order (audits read a level's run of nodes with one iterator).
    pub const NODES: &str = "nodes";
    /// `id ‖ record key ‖ 0x00 ‖ version` → `seq ‖ fingerprint`.
    pub const RECORDS: &str = "records";
    /// `id ‖ tree size` → signed receipt head of the group commit that reached that size.
    pub const HEADS: &str = "heads";
    /// `id ‖ tree size` → signed checkpoint note.
    pub const CHECKPOINTS: &str = "checkpoints";
    /// Tenants, API key hashes, agreements (JSON).
    pub const AUTH: &str = "auth";
    /// `id ‖ field ‖ 0x00 ‖ value ‖ 0x00 ‖ seq` → empty: the agreement's indexed metadata.
    pub const INDEX: &str = "index";
    /// `id ‖ record key ‖ 0x00` → `version ‖ seq ‖ fingerprint` of the key's latest version:
    /// one point read instead of an iterator per ingested or read row.
    pub const LATEST: &str = "latest";
    /// `id ‖ seq` → where a tiered package lives in the cold tier (see `tier::location`).
    /// Read by key (cold reads) and in key order (audits).
    pub const COLD: &str = "cold";
    /// `id ‖ sha256 ‖ seq` → empty: the hot packages that reference an object, so that
    /// disposing of one package deletes a shared object only with its last hot reference.
    pub const REFS: &str = "refs";

    /// Families never iterated, only read by key.
    pub const POINT_ONLY: [&str; 3] = [HEADERS, OBJECTS, LATEST];

    pub const ALL: [&str; 12] = [
        META,
        HEADERS,
        OBJECTS,
        NODES,
        RECORDS,
        HEADS,
        CHECKPOINTS,
        AUTH,
        INDEX,
        LATEST,
        COLD,
        REFS,
    ];
}

/// Hash buckets of a point-only family's memtable.
const MEMTABLE_HASH_BUCKETS: usize = 1 << 18;

/// Layout of the hot store's keys and values; bumped when a stored value changes shape.
/// Version 2: object values start with the newest referencing seq. Version 3: the `refs`
/// family lists each object's hot references (a store of layout 2 is migrated at start).
pub const HOT_LAYOUT_VERSION: u64 = 3;
/// The layout that [`Store::migrate_refs`] upgrades in place.
pub const HOT_LAYOUT_WITHOUT_REFS: u64 = 2;
const HOT_LAYOUT_KEY: &[u8] = b"hot-layout";

/// Why the store failed. `Corrupt` means stored bytes are not what was written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("rocksdb: {0}")]
    Db(#[from] rocksdb::Error),
    #[error("corrupt store: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A value of ours that does not encode (a server bug, never bad input).
    #[error("encoding a stored document: {0}")]
    Encode(String),
}

impl From<StoreError> for crate::error::Error {
    /// A checksum or decode failure of stored bytes is damage (`Corrupt`, check `store`); any
    /// other failure of the engine or the disk is the server's (`Internal`).
    fn from(e: StoreError) -> crate::error::Error {
        match e {
            StoreError::Db(db) if db.kind() == rocksdb::ErrorKind::Corruption => {
                crate::error::Error::corrupt(db.to_string())
            }
            StoreError::Corrupt(m) => crate::error::Error::corrupt(m),
            e => crate::error::Error::internal(e.to_string()),
        }
    }
}

/// The stored JSON form of `value` (records, holds, runs and the like).
pub fn json_value<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Encode(e.to_string()))
}

/// An archive's internal id: assigned once, the prefix of all its keys.
pub type ArchiveId = u64;

/// A stored key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

pub fn header_key(id: ArchiveId, seq: u64) -> [u8; 16] {
    join2(id, seq)
}

pub fn node_key(id: ArchiveId, level: u32, index: u64) -> Vec<u8> {
    let mut k = id.to_be_bytes().to_vec();
    k.push(u8::try_from(level).unwrap_or(u8::MAX));
    k.extend_from_slice(&index.to_be_bytes());
    k
}

pub fn object_key(id: ArchiveId, digest: &Hash) -> Vec<u8> {
    let mut k = id.to_be_bytes().to_vec();
    k.extend_from_slice(&digest.0);
    k
}

/// Record keys hold no control characters, so 0x00 ends the key unambiguously.
pub fn record_prefix(id: ArchiveId, record_key: &str) -> Vec<u8> {
    let mut k = id.to_be_bytes().to_vec();
    k.extend_from_slice(record_key.as_bytes());
    k.push(0);
    k
}

/// The value of a `latest` entry: version, seq, content fingerprint.
pub fn encode_latest(version: u64, seq: u64, fingerprint: &[u8; 32]) -> Vec<u8> {
    let mut v = Vec::with_capacity(48);
    v.extend_from_slice(&version.to_be_bytes());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(fingerprint);
    v
}

/// A `latest` value that also records the highest version the key ever had, when a
/// disposition removed newer versions than the one it names: later versions are numbered
/// above it, so no version number of a key is used twice while the key is known.
pub fn encode_latest_with_high(
    version: u64,
    seq: u64,
    fingerprint: &[u8; 32],
    highest: u64,
) -> Vec<u8> {
    let mut v = encode_latest(version, seq, fingerprint);
    if highest > version {
        v.extend_from_slice(&highest.to_be_bytes());
    }
    v
}

/// The highest version a key ever had, from a `latest` value.
pub fn latest_highest(v: &[u8]) -> Option<u64> {
    let version = be_u64(v.get(..8)?)?;
    Some(
        v.get(48..56)
            .and_then(be_u64)
            .unwrap_or(version)
            .max(version),
    )
}

pub fn decode_latest(v: &[u8]) -> Option<(u64, u64, [u8; 32])> {
    Some((
        be_u64(v.get(..8)?)?,
        be_u64(v.get(8..16)?)?,
        v.get(16..48)?.try_into().ok()?,
    ))
}

/// An `objects` value: the newest referencing seq, then the compressed bytes.
pub fn encode_object(seq: u64, compressed: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + compressed.len());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(compressed);
    v
}

/// (newest referencing seq, compressed bytes) of an `objects` value.
pub fn decode_object(v: &[u8]) -> Option<(u64, &[u8])> {
    Some((be_u64(v.get(..8)?)?, v.get(8..)?))
}

pub fn record_version_key(id: ArchiveId, record_key: &str, version: u64) -> Vec<u8> {
    let mut k = record_prefix(id, record_key);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

/// A `records` value: the version's seq and content fingerprint.
pub fn encode_record_version(seq: u64, fingerprint: &[u8; 32]) -> Vec<u8> {
    let mut v = seq.to_be_bytes().to_vec();
    v.extend_from_slice(fingerprint);
    v
}

/// (version, seq, fingerprint) of a `records` entry found under `prefix` (the key's
/// [`record_prefix`]).
pub fn decode_record_version(
    prefix: &[u8],
    key: &[u8],
    value: &[u8],
) -> Option<(u64, u64, [u8; 32])> {
    Some((
        be_u64(key.get(prefix.len()..)?)?,
        be_u64(value.get(..8)?)?,
        value.get(8..40)?.try_into().ok()?,
    ))
}

/// The prefix of every index entry of `field = value` (metadata names and values hold no
/// 0x00, so the separators are unambiguous); the entry appends the big-endian seq.
pub fn index_prefix(id: ArchiveId, field: &str, value: &str) -> Vec<u8> {
    let mut k = id.to_be_bytes().to_vec();
    k.extend_from_slice(field.as_bytes());
    k.push(0);
    k.extend_from_slice(value.as_bytes());
    k.push(0);
    k
}

pub fn index_key(id: ArchiveId, field: &str, value: &str, seq: u64) -> Vec<u8> {
    let mut k = index_prefix(id, field, value);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// The prefix of every reference to an object; the entry appends the referencing seq.
pub fn refs_prefix(id: ArchiveId, digest: &Hash) -> Vec<u8> {
    object_key(id, digest)
}

pub fn refs_key(id: ArchiveId, digest: &Hash, seq: u64) -> Vec<u8> {
    let mut k = refs_prefix(id, digest);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub fn size_key(id: ArchiveId, size: u64) -> [u8; 16] {
    join2(id, size)
}

fn join2(a: u64, b: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    for (dst, src) in k
        .iter_mut()
        .zip(a.to_be_bytes().into_iter().chain(b.to_be_bytes()))
    {
        *dst = src;
    }
    k
}

fn be_u64(bytes: &[u8]) -> Option<u64> {
    bytes.get(..8)?.try_into().ok().map(u64::from_be_bytes)
}

/// One write of a batch: column family, key, and the value (`None` deletes).
type Op = (&'static str, Vec<u8>, Option<Vec<u8>>);

/// A set of writes applied atomically by [`Store::commit`].
#[derive(Default)]
pub struct Batch {
    inner: WriteBatch,
    /// Puts (`Some` value) and deletes (`None`), in order.
    puts: Vec<Op>,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Batch({} puts)", self.puts.len())
    }
}

impl Batch {
    pub fn put(&mut self, cf: &'static str, key: &[u8], value: &[u8]) {
        self.puts.push((cf, key.to_vec(), Some(value.to_vec())));
    }

    /// Puts `value` as JSON (the stored form of records, holds, runs and the like).
    pub fn put_json<T: serde::Serialize>(
        &mut self,
        cf: &'static str,
        key: &[u8],
        value: &T,
    ) -> Result<(), StoreError> {
        self.put(cf, key, &json_value(value)?);
        Ok(())
    }

    pub fn delete(&mut self, cf: &'static str, key: &[u8]) {
        self.puts.push((cf, key.to_vec(), None));
    }

    pub fn len(&self) -> usize {
        self.puts.len()
    }

    /// Drops every put after the first `len` (undoing a refused job within a group).
    pub fn truncate(&mut self, len: usize) {
        self.puts.truncate(len);
    }

    pub fn is_empty(&self) -> bool {
        self.puts.is_empty()
    }
}

/// The open hot tier. Shared by reference between the sequencers and readers.
pub struct Store {
    db: DB,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.db.path().display())
    }
}

impl Store {
    /// Opens (creating if missing) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        // Our values are already zstd-compressed or hashes: RocksDB compression would only
        // burn CPU.
        opts.set_compression_type(rocksdb::DBCompressionType::None);
        opts.set_max_background_jobs(2);
        // Hash memtables (below) take one writer at a time; the WAL serialises writes anyway.
        opts.set_allow_concurrent_memtable_write(false);
        let cfs = cf::ALL.iter().map(|name| {
            let mut o = Options::default();
            o.set_compression_type(rocksdb::DBCompressionType::None);
            if cf::POINT_ONLY.contains(name) {
                // Read by point lookups only, mostly moments after they were written: a hash
                // of the whole key finds a memtable entry without a skiplist search.
                o.set_prefix_extractor(rocksdb::SliceTransform::create_noop());
                o.set_memtable_factory(rocksdb::MemtableFactory::HashLinkList {
                    bucket_count: MEMTABLE_HASH_BUCKETS,
                });
            }
            ColumnFamilyDescriptor::new(*name, o)
        });
        let db = DB::open_cf_descriptors(&opts, dir, cfs)?;
        let store = Store { db };
        store.check_layout()?;
        Ok(store)
    }

    /// Records the layout in a new store; refuses a store written in another layout.
    fn check_layout(&self) -> Result<(), StoreError> {
        let meta = self.handle(cf::META)?;
        match self.db.get_cf(meta, HOT_LAYOUT_KEY)? {
            Some(v) if v == HOT_LAYOUT_VERSION.to_string().as_bytes() => Ok(()),
            // Upgraded by the archives at open (`Store::migrate_refs`), which know the logs.
            Some(v) if v == HOT_LAYOUT_WITHOUT_REFS.to_string().as_bytes() => Ok(()),
            Some(v) => Err(StoreError::Corrupt(format!(
                "the hot store has layout {}, this Zegel reads layout {HOT_LAYOUT_VERSION}",
                String::from_utf8_lossy(&v)
            ))),
            None if self
                .db
                .iterator_cf(meta, IteratorMode::Start)
                .next()
                .is_some() =>
            {
                Err(StoreError::Corrupt(format!(
                    "the hot store was written by an older Zegel (layout 1); this one reads layout {HOT_LAYOUT_VERSION} (see docs/ARCHITECTURE.md, hot layout)"
                )))
            }
            None => {
                let mut wo = WriteOptions::default();
                wo.set_sync(true);
                self.db.put_cf_opt(
                    meta,
                    HOT_LAYOUT_KEY,
                    HOT_LAYOUT_VERSION.to_string().as_bytes(),
                    &wo,
                )?;
                Ok(())
            }
        }
    }

    /// A JSON record of `meta` (or another family) decoded as `T`; `what` names it in the
    /// error when the stored bytes do not decode.
    pub fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        key: &[u8],
        what: &str,
    ) -> Result<Option<T>, StoreError> {
        self.get(name, key)?
            .map(|v| {
                serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
            })
            .transpose()
    }

    /// Every JSON record whose key starts with `prefix`, in key order, up to `limit`.
    pub fn scan_json<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        prefix: &[u8],
        limit: usize,
        what: &str,
    ) -> Result<Vec<T>, StoreError> {
        self.scan_prefix(name, prefix, limit)?
            .into_iter()
            .map(|(k, v)| {
                serde_json::from_slice(&v).map_err(|e| {
                    StoreError::Corrupt(format!("{what} {}: {e}", String::from_utf8_lossy(&k)))
                })
            })
            .collect()
    }

    /// Whether the store still has layout 2 and needs [`Store::migrate_refs`].
    pub fn needs_refs(&self) -> Result<bool, StoreError> {
        Ok(self.get(cf::META, HOT_LAYOUT_KEY)?.as_deref()
            == Some(HOT_LAYOUT_WITHOUT_REFS.to_string().as_bytes()))
    }

    /// Layout 2 → 3: writes the `refs` entry of every object of every hot header of the
    /// archives `logs` (id, size), then records layout 3. Idempotent: an interrupted
    /// migration is simply run again at the next start.
    pub fn migrate_refs(&self, logs: &[(ArchiveId, u64)]) -> Result<(), StoreError> {
        for &(id, size) in logs {
            let mut b = Batch::default();
            for seq in 0..size {
                let Some(bytes) = self.get(cf::HEADERS, &header_key(id, seq))? else {
                    continue;
                };
                let h = zegel_format::header::PackageHeader::decode(&bytes)
                    .map_err(|e| StoreError::Corrupt(format!("header {id}/{seq}: {e}")))?;
                for o in &h.objects {
                    b.put(cf::REFS, &refs_key(id, &o.digest, seq), &[]);
                }
                if b.len() >= 100_000 {
                    self.commit(std::mem::take(&mut b))?;
                }
            }
            self.commit(b)?;
        }
        let mut b = Batch::default();
        b.put(
            cf::META,
            HOT_LAYOUT_KEY,
            HOT_LAYOUT_VERSION.to_string().as_bytes(),
        );
        self.commit(b)
    }

    fn handle(&self, name: &str) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| StoreError::Corrupt(format!("column family {name} is missing")))
    }

    /// Applies `batch` atomically with a synced WAL (see the module contract).
    pub fn commit(&self, mut batch: Batch) -> Result<(), StoreError> {
        for (name, k, v) in std::mem::take(&mut batch.puts) {
            let h = self.handle(name)?;
            match v {
                Some(v) => batch.inner.put_cf(h, k, v),
                None => batch.inner.delete_cf(h, k),
            }
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db.write_opt(batch.inner, &wo)?;
        Ok(())
    }

    pub fn get(&self, name: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(self.handle(name)?, key)?)
    }

    /// Point reads of many keys in one batched lookup (`keys` in ascending order read
    /// fastest); `each(i, value)` sees the value of `keys[i]` in place, without a copy.
    pub fn multi_get<K: AsRef<[u8]>>(
        &self,
        name: &str,
        keys: &[K],
        mut each: impl FnMut(usize, Option<&[u8]>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let sorted = keys
            .iter()
            .zip(keys.iter().skip(1))
            .all(|(a, b)| a.as_ref() < b.as_ref());
        let values = self.db.batched_multi_get_cf(
            self.handle(name)?,
            keys.iter().map(AsRef::as_ref),
            sorted,
        );
        for (i, v) in values.into_iter().enumerate() {
            each(i, v?.as_deref())?;
        }
        Ok(())
    }

    /// The first `n` bytes of a value and its whole length, without copying the rest.
    pub fn get_head(
        &self,
        name: &str,
        key: &[u8],
        n: usize,
    ) -> Result<Option<(Vec<u8>, usize)>, StoreError> {
        Ok(self.db.get_pinned_cf(self.handle(name)?, key)?.map(|v| {
            (
                v.get(..n.min(v.len())).unwrap_or_default().to_vec(),
                v.len(),
            )
        }))
    }

    /// A family that may be iterated: the point-only families have hash memtables, whose
    /// iterators see one bucket only.
    fn iterable(&self, name: &str) -> Result<&rocksdb::ColumnFamily, StoreError> {
        if cf::POINT_ONLY.contains(&name) {
            return Err(StoreError::Corrupt(format!(
                "column family {name} is read by key only and cannot be iterated"
            )));
        }
        self.handle(name)
    }

    /// The last entry whose key starts with `prefix`, if any.
    pub fn last_with_prefix(&self, name: &str, prefix: &[u8]) -> Result<Option<Entry>, StoreError> {
        let mut upper = prefix.to_vec();
        upper.push(0xff);
        upper.extend_from_slice(&[0xff; 8]);
        let it = self.db.iterator_cf(
            self.iterable(name)?,
            IteratorMode::From(&upper, Direction::Reverse),
        );
        let mut it = it;
        match it.next() {
            Some(item) => {
                let (k, v) = item?;
                Ok(k.starts_with(prefix).then(|| (k.to_vec(), v.to_vec())))
            }
            None => Ok(None),
        }
    }

    /// Every entry whose key starts with `prefix`, in key order, up to `limit`.
    pub fn scan_prefix(
        &self,
        name: &str,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let mut out = Vec::new();
        let it = self.db.iterator_cf(
            self.iterable(name)?,
            IteratorMode::From(prefix, Direction::Forward),
        );
        for item in it {
            let (k, v) = item?;
            if !k.starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    /// Every entry with a key in `[from, to)`, in key order, seen in place by `each`.
    pub fn for_each_in(
        &self,
        name: &str,
        from: &[u8],
        to: &[u8],
        mut each: impl FnMut(&[u8], &[u8]),
    ) -> Result<(), StoreError> {
        let mut opts = rocksdb::ReadOptions::default();
        opts.set_iterate_upper_bound(to.to_vec());
        let mut it = self.db.raw_iterator_cf_opt(self.iterable(name)?, opts);
        it.seek(from);
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            each(k, v);
            it.next();
        }
        it.status()?;
        Ok(())
    }

    /// Entries with keys in `[from, to)`, in key order, up to `limit`.
    pub fn scan_range(
        &self,
        name: &str,
        from: &[u8],
        to: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let mut out = Vec::new();
        let it = self.db.iterator_cf(
            self.iterable(name)?,
            IteratorMode::From(from, Direction::Forward),
        );
        for item in it {
            let (k, v) = item?;
            if &*k >= to || out.len() >= limit {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    /// Keys starting with `prefix` at or after `prefix ‖ from`, in key order, up to `limit`.
    pub fn scan_keys_from(
        &self,
        name: &str,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut start = prefix.to_vec();
        start.extend_from_slice(from);
        let mut out = Vec::new();
        let it = self.db.iterator_cf(
            self.iterable(name)?,
            IteratorMode::From(&start, Direction::Forward),
        );
        for item in it {
            let (k, _) = item?;
            if !k.starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push(k.to_vec());
        }
        Ok(out)
    }

    /// The first entry at or after `id ‖ from` within the archive's key range.
    pub fn first_from(
        &self,
        name: &str,
        id: ArchiveId,
        from: u64,
    ) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let start = join2(id, from);
        let mut it = self.db.iterator_cf(
            self.iterable(name)?,
            IteratorMode::From(&start, Direction::Forward),
        );
        if let Some(item) = it.next() {
            let (k, v) = item?;
            if k.get(..8) == Some(id.to_be_bytes().as_slice()) {
                let n = k
                    .get(8..)
                    .and_then(be_u64)
                    .ok_or_else(|| StoreError::Corrupt("short key".into()))?;
                return Ok(Some((n, v.to_vec())));
            }
        }
        Ok(None)
    }

    /// The last entry within the archive's key range.
    pub fn last_of(&self, name: &str, id: ArchiveId) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        Ok(self
            .last_with_prefix(name, &id.to_be_bytes())?
            .and_then(|(k, v)| k.get(8..).and_then(be_u64).map(|n| (n, v))))
    }

    /// A read view of one archive's Merkle nodes.
    pub fn nodes(&self, id: ArchiveId) -> StoredNodes<'_> {
        StoredNodes { store: self, id }
    }
}

/// Merkle nodes of one archive, read from the `nodes` column family.
#[derive(Debug)]
pub struct StoredNodes<'a> {
    store: &'a Store,
    id: ArchiveId,
}

impl StoredNodes<'_> {
    /// The stored nodes `(level, first)` to `(level, end − 1)`, read with one iterator;
    /// `None` where a node is missing or not 32 bytes.
    pub fn run(&self, level: u32, first: u64, end: u64) -> Result<Vec<Option<Hash>>, StoreError> {
        let mut out = vec![None; usize::try_from(end.saturating_sub(first)).unwrap_or(0)];
        self.store.for_each_in(
            cf::NODES,
            &node_key(self.id, level, first),
            &node_key(self.id, level, end),
            |k, v| {
                // `id ‖ level ‖ index`: the index is the last 8 bytes.
                let index = k
                    .get(9..17)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes);
                if let Some(slot) = index
                    .and_then(|i| usize::try_from(i.checked_sub(first)?).ok())
                    .and_then(|i| out.get_mut(i))
                {
                    *slot = Hash::from_slice(v);
                }
            },
        )?;
        Ok(out)
    }
}

impl NodeSource for StoredNodes<'_> {
    fn node(&self, level: u32, index: u64) -> Result<Hash, ProofError> {
        let v = self
            .store
            .get(cf::NODES, &node_key(self.id, level, index))
            .map_err(|e| ProofError::Store(e.to_string()))?
            .ok_or(ProofError::MissingNode { level, index })?;
        Hash::from_slice(&v)
            .ok_or_else(|| ProofError::Store(format!("node ({level}, {index}) is not 32 bytes")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_only_families_refuse_iteration_and_serve_point_reads() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let mut b = Batch::default();
        b.put(cf::HEADERS, &header_key(1, 7), b"header");
        b.put(cf::RECORDS, &record_version_key(1, "k", 1), b"v");
        s.commit(b).unwrap();
        assert_eq!(
            s.get(cf::HEADERS, &header_key(1, 7)).unwrap().as_deref(),
            Some(&b"header"[..])
        );
        for name in cf::POINT_ONLY {
            assert!(s.scan_prefix(name, b"", 10).is_err(), "{name}");
            assert!(s.last_of(name, 1).is_err(), "{name}");
            assert!(s.first_from(name, 1, 0).is_err(), "{name}");
        }
        assert_eq!(s.scan_prefix(cf::RECORDS, b"", 10).unwrap().len(), 1);
        let mut b = Batch::default();
        b.delete(cf::HEADERS, &header_key(1, 7));
        s.commit(b).unwrap();
        assert_eq!(s.get(cf::HEADERS, &header_key(1, 7)).unwrap(), None);
    }

    #[test]
    fn nodes_and_cold_written_under_hash_memtables_read_back_in_order() {
        // A store written when `nodes` and `cold` had hash memtables and a whole-key prefix
        // extractor (before the audit iterated them), flushed to files and reopened.
        let dir = tempfile::tempdir().unwrap();
        {
            let mut opts = Options::default();
            opts.create_if_missing(true);
            opts.create_missing_column_families(true);
            opts.set_allow_concurrent_memtable_write(false);
            let cfs = cf::ALL.iter().map(|name| {
                let mut o = Options::default();
                if [cf::HEADERS, cf::NODES, cf::OBJECTS, cf::LATEST, cf::COLD].contains(name) {
                    o.set_prefix_extractor(rocksdb::SliceTransform::create_noop());
                    o.set_memtable_factory(rocksdb::MemtableFactory::HashLinkList {
                        bucket_count: 1024,
                    });
                }
                ColumnFamilyDescriptor::new(*name, o)
            });
            let db = DB::open_cf_descriptors(&opts, dir.path(), cfs).unwrap();
            let nodes = db.cf_handle(cf::NODES).unwrap();
            for i in 0..300u64 {
                db.put_cf(nodes, node_key(1, 0, i), [i as u8; 32]).unwrap();
            }
            db.flush_cf(nodes).unwrap();
            // Some in the log only, as after a crash.
            for i in 300..400u64 {
                db.put_cf(nodes, node_key(1, 0, i), [i as u8; 32]).unwrap();
            }
        }
        let s = Store::open(dir.path()).unwrap();
        let mut seen = Vec::new();
        s.for_each_in(
            cf::NODES,
            &node_key(1, 0, 10),
            &node_key(1, 0, 390),
            |k, v| {
                seen.push((k.to_vec(), v.to_vec()));
            },
        )
        .unwrap();
        assert_eq!(seen.len(), 380);
        for (n, (k, v)) in (10u64..).zip(&seen) {
            assert_eq!(*k, node_key(1, 0, n));
            assert_eq!(*v, vec![n as u8; 32]);
        }
        assert_eq!(s.nodes(1).node(0, 5).unwrap(), Hash([5; 32]));
        assert_eq!(s.nodes(1).node(0, 399).unwrap(), Hash([143; 32]));
    }
}
