//! Every size, count and interval of the server that input or configuration can reach, named
//! once. The formats' own limits (what a verifier also enforces) are in `zegel_format::limits`.

// api::ingest

/// Most rows in one NDJSON batch.
pub const BATCH_ROWS_MAX: usize = 10_000;

/// Largest `sip` part of a package upload.
pub const SIP_PART_BYTES_MAX: usize = 256 * 1024;

// api::limits

/// Default most requests the API handles at once (`in_flight_max` in the configuration).
pub const IN_FLIGHT_REQUESTS_MAX: usize = 512;

/// Request body bytes the server holds at once, summed over all requests (each request
/// reserves its declared length, or its route's limit when it declares none). Beyond it,
/// requests get 503: memory stays bounded however many large bodies arrive together.
pub const BODY_BYTES_IN_FLIGHT_MAX: usize = 512 << 20;

// api

/// Largest request body of JSON routes (a batch of rows at its limit fits).
pub const BODY_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Largest multipart package upload: the formats' raw package limit plus multipart framing.
pub const PACKAGE_BODY_BYTES_MAX: usize = zegel_format::limits::PACKAGE_RAW_BYTES_MAX + 1024 * 1024;

/// Package uploads handled at once (each may hold up to [`PACKAGE_BODY_BYTES_MAX`] in memory).
pub const PACKAGE_UPLOADS_IN_FLIGHT_MAX: usize = 8;

// api::problem

/// Largest error body of a framework rejection that is carried into a problem's detail.
pub const REJECTION_DETAIL_BYTES_MAX: usize = 4096;

// api::read

/// Most packages one search page returns.
pub const SEARCH_PAGE_MAX: usize = 1000;

/// Index entries or packages one search request examines before it returns a cursor (so a
/// selective filter over a large archive never makes one request unbounded).
pub const SEARCH_SCAN_MAX: usize = 10_000;

// archive::access

/// Entries waiting to be written; when full, reads are refused with 503 rather than served
/// unrecorded.
pub const ACCESS_QUEUE_MAX: usize = 16_384;

/// Most entries sealed into one access package.
pub const ACCESS_ENTRIES_PER_PACKAGE_MAX: usize = 2_000;

/// Access packages being sealed at once.
pub const ACCESS_PACKAGES_IN_FLIGHT_MAX: usize = 8;

// archive::agreement

/// Largest agreement document accepted.
pub const AGREEMENT_BYTES_MAX: usize = 64 * 1024;

/// Most metadata fields an agreement may declare.
pub const AGREEMENT_FIELDS_MAX: usize = zegel_format::limits::METADATA_FIELDS_MAX;

/// Longest regular expression in a `pattern` field.
pub const PATTERN_BYTES_MAX: usize = 512;

// archive::archives

/// Largest decompressed object the hot tier returns (the object limit of the formats).
pub const HOT_OBJECT_BYTES_MAX: usize = zegel_format::limits::OBJECT_BYTES_MAX as usize;

/// Most record versions listed for one key.
pub const RECORD_VERSIONS_MAX: usize = 1000;

// archive::disposed

/// Dispositions an archive lists at most in one answer.
pub const DISPOSITIONS_LISTED_MAX: usize = 10_000;

// audit::check

/// Inflated cold blocks one audit step keeps: a block read once serves every chunk of the
/// step that has packages in it.
pub const AUDIT_BLOCKS_BYTES_MAX: usize = 64 << 20;

// audit::run

/// Findings an audit run keeps in full (every finding is counted by check).
pub const AUDIT_FINDINGS_KEPT_MAX: usize = 1000;

/// Packages one audit step checks at most.
pub const AUDIT_STEP_PACKAGES_MAX: u64 = 100_000;

/// Audit runs kept per archive.
pub const AUDIT_RUNS_PER_ARCHIVE_MAX: u64 = 100_000;

// audit::scrub

/// Largest `scrub_packages_per_sec` accepted.
pub const SCRUB_PACKAGES_PER_SEC_MAX: u64 = 100_000;

// cold

/// Largest cold object read or written (a segment at its limit).
pub const COLD_OBJECT_BYTES_MAX: usize = zegel_format::segment::SEGMENT_BYTES_MAX;

/// Retries of one failed S3 request, and the time they may take in all.
pub const COLD_RETRIES_MAX: usize = 3;

pub const COLD_RETRY_SECS_MAX: u64 = 15;

// retention::erasure

/// Erasure requests an archive may have, decided ones included.
pub const ERASURES_PER_ARCHIVE_MAX: u64 = 10_000;

// retention::holds

/// Holds an archive may have, lifted ones included.
pub const HOLDS_PER_ARCHIVE_MAX: u64 = 10_000;

/// Bytes of a hold's or a lift's reason.
pub const HOLD_REASON_BYTES_MAX: usize = 1000;

// retention::plan

/// Due packages listed by name in a plan.
pub const PLAN_SAMPLES_MAX: usize = 10;

// server

/// Smallest and largest checkpoint interval accepted.
pub const CHECKPOINT_INTERVAL_MS_MIN: u64 = 10;

pub const CHECKPOINT_INTERVAL_MS_MAX: u64 = 3_600_000;

/// Largest `usage_interval_secs` accepted (a day).
pub const USAGE_INTERVAL_SECS_MAX: u64 = 86_400;

// tenant

/// Longest bearer token accepted (ours are 47 characters).
pub const TOKEN_BYTES_MAX: usize = 128;

/// Most API keys one tenant may hold.
pub const TENANT_KEYS_MAX: usize = 1000;

/// Most API keys kept in memory; the cache is emptied when it would grow past this.
pub const KEY_CACHE_MAX: usize = 10_000;

// tier::mover

/// Largest hot period accepted, in days (about 100 years).
pub const HOT_DAYS_MAX: u64 = 36_525;

/// Most packages in one move (and so in one segment).
pub const MOVE_PACKAGES_MAX: usize = zegel_format::segment::SEGMENT_PACKAGES_MAX;

/// Most raw bytes in one move; a move is held in memory while it is written and verified.
pub const MOVE_BYTES_MAX: u64 = 256 << 20;

/// Largest segment block target, in KiB (the format's block limit).
pub const BLOCK_KIB_MAX: usize = zegel_format::segment::SEGMENT_BLOCK_RAW_BYTES_MAX >> 10;

// tier::reader

/// Inflated blocks kept in memory, in bytes (a block holds about 64 KiB of packages).
pub const BLOCK_CACHE_BYTES_MAX: usize = 64 << 20;

// usage

/// Days of history one usage request returns at most.
pub const USAGE_DAYS_MAX: usize = 366;

// archive::sequencer

/// Jobs waiting for one archive's sequencer; a full queue answers 503 (push back).
pub const SEQUENCER_QUEUE_JOBS_MAX: usize = 1024;

/// Packages sealed into one group commit (a single larger job still commits alone).
pub const GROUP_PACKAGES_MAX: usize = 4096;

/// References of one object an eviction or disposal reads to learn whether another hot
/// package still shares it; more than this many keep the object (a later pass frees it).
pub const OBJECT_REFS_SCAN_MAX: usize = 100_000;

/// Versions of one record key a disposition reads to repair the key's latest entry.
pub const RECORD_VERSIONS_SCAN_MAX: usize = 1_000_000;

/// Sealed groups handed to the committer and not yet confirmed (one being written, one
/// queued); the sequencer may seal one more before it waits.
pub const COMMITS_IN_FLIGHT_MAX: usize = 2;

// seal

/// Most rows one `zegel seal` run reads (it keeps the whole tree in memory).
pub const SEAL_ROWS_MAX: usize = 10_000_000;

/// Longest input line `zegel seal` accepts.
pub const SEAL_LINE_BYTES_MAX: usize = 1024 * 1024;

// cli

/// Largest response the CLI reads.
pub const CLIENT_RESPONSE_BYTES_MAX: u64 = 64 * 1024 * 1024;
