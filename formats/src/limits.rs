//! Every size, depth and count that untrusted bytes can influence, named in one place.
//!
//! The decoders in this crate check these before allocating or recursing; the specs in
//! `formats/*.md` state the same numbers, so another implementation refuses the same inputs.

/// Deepest nesting of CBOR arrays and maps accepted anywhere (formats/cbor.md §3).
pub const CBOR_DEPTH_MAX: usize = 8;
/// Most CBOR data items (of any kind) in one decoded structure.
pub const CBOR_ITEMS_MAX: usize = 100_000;

/// Largest encoded package header (formats/package-header.md).
pub const HEADER_BYTES_MAX: usize = 64 * 1024;
/// Most declared metadata fields in one header.
pub const METADATA_FIELDS_MAX: usize = 64;
/// Longest metadata field name, in bytes.
pub const METADATA_NAME_BYTES_MAX: usize = 64;
/// Longest metadata text value, in bytes.
pub const METADATA_VALUE_BYTES_MAX: usize = 4096;
/// Most content objects in one package.
pub const OBJECTS_MAX: usize = 64;
/// Longest object name, in bytes.
pub const OBJECT_NAME_BYTES_MAX: usize = 255;
/// Longest media type, in bytes.
pub const MEDIA_TYPE_BYTES_MAX: usize = 127;
/// Longest record key, in bytes.
pub const RECORD_KEY_BYTES_MAX: usize = 512;
/// Longest tenant or archive identifier, in bytes.
pub const IDENTIFIER_BYTES_MAX: usize = 64;
/// Largest single content object.
pub const OBJECT_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// Bytes reserved in [`PACKAGE_RAW_BYTES_MAX`] for the envelope's CBOR heads (version, array
/// and string heads of the header and up to [`OBJECTS_MAX`] objects).
pub const PACKAGE_ENVELOPE_SLACK_BYTES: usize = 1024;

/// Largest sealed (compressed) package accepted by the decoder.
pub const SEALED_BYTES_MAX: usize = 96 * 1024 * 1024;
/// Largest decompressed package CBOR: all objects at their limit would not fit, on purpose;
/// a package's objects together may not exceed this (it bounds zstd output, against bombs).
pub const PACKAGE_RAW_BYTES_MAX: usize = 80 * 1024 * 1024;

/// Most hashes in an inclusion proof (a tree of at most 2^64 leaves has at most 64 levels).
pub const INCLUSION_HASHES_MAX: usize = 64;
/// Most hashes in a consistency proof.
pub const CONSISTENCY_HASHES_MAX: usize = 128;
/// Largest encoded proof or receipt.
pub const PROOF_BYTES_MAX: usize = 8 * 1024;

/// Largest signed note (checkpoint) in bytes.
pub const NOTE_BYTES_MAX: usize = 16 * 1024;
/// Most signature lines in one signed note.
pub const NOTE_SIGNATURES_MAX: usize = 16;
/// Longest key name or checkpoint origin, in bytes.
pub const NOTE_NAME_BYTES_MAX: usize = 256;
/// Longest name of a Zegel signing key: with `/<tenant>/<archive>` appended (each at most
/// [`IDENTIFIER_BYTES_MAX`]) the origin stays within [`NOTE_NAME_BYTES_MAX`].
pub const LOG_NAME_BYTES_MAX: usize = NOTE_NAME_BYTES_MAX - 2 * IDENTIFIER_BYTES_MAX - 2;

/// Most packages one disposition record names (formats/disposition.md §2).
pub const DISPOSITION_PACKAGES_MAX: usize = 10_000;
/// Longest basis of a disposition (retention rule or legal basis), in bytes.
pub const DISPOSITION_BASIS_BYTES_MAX: usize = 1000;
/// Longest API key id that authorized a disposition, in bytes.
pub const AUTHORIZER_BYTES_MAX: usize = 64;
/// Most authorizers of one disposition (an erasure needs exactly two).
pub const AUTHORIZERS_MAX: usize = 16;
/// Largest certificate of destruction (formats/disposition.md §4); its disposed proofs at
/// their limit would not fit, on purpose: real proofs are a few hundred bytes each.
pub const CERTIFICATE_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Largest proof bundle (formats/bundle.md §3): a sealed package at its limit, with room for
/// the agreement, dispositions, proofs, checkpoints, keys and report.
pub const BUNDLE_BYTES_MAX: usize = 128 * 1024 * 1024;
/// Most signed checkpoints in one bundle (each with the consistency proof that reaches it).
pub const BUNDLE_CHECKPOINTS_MAX: usize = 16;
/// Most archive keys listed in one bundle.
pub const BUNDLE_KEYS_MAX: usize = 16;
/// Most disposition packages in one bundle.
pub const BUNDLE_DISPOSITIONS_MAX: usize = 16;
/// Largest HTML report in a bundle, in bytes: what `bundle::report_html` writes for any
/// bundle within the other limits stays below half of it (formats/bundle.md §5).
pub const BUNDLE_REPORT_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Largest agreement document (the agreement package's first object) the report shows as
/// text; a larger one is listed with its digest, not shown.
pub const REPORT_AGREEMENT_BYTES_MAX: usize = 64 * 1024;

/// Most packages in one cold segment (formats/cold-segment.md §3).
pub const SEGMENT_PACKAGES_MAX: usize = 10_000;
/// Largest cold segment, bytes (formats/cold-segment.md §3).
pub const SEGMENT_BYTES_MAX: usize = 1 << 30;
/// Largest uncompressed block of a cold segment (formats/cold-segment.md §3): the largest
/// package fits in one.
pub const SEGMENT_BLOCK_RAW_BYTES_MAX: usize = PACKAGE_RAW_BYTES_MAX;
/// Largest uncompressed index of a cold segment (formats/cold-segment.md §4).
pub const SEGMENT_INDEX_BYTES_MAX: usize = 16 << 20;

/// Hashes in a full hash tile (formats/cold-layout.md §4.3): 2^8, a tile spanning
/// `layout::TILE_HEIGHT` = 8 levels (`layout` asserts that the two agree).
pub const TILE_WIDTH_MAX: u64 = 256;
/// Highest tile level a tree of at most 2^64 − 1 leaves has (formats/cold-layout.md §4.3):
/// level 7 holds subtrees of 2^56 leaves; level 8 would need 2^64.
pub const TILE_LEVEL_MAX: u32 = 7;

// What a verifier's report lists one by one; the rest are counted, not named.

/// Most missing tiles that a report names one by one.
pub const MISSING_TILES_NAMED_MAX: usize = 8;
/// Most disposed seqs a report names one by one.
pub const DISPOSED_SEQS_NAMED_MAX: usize = 16;
