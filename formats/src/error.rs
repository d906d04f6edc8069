//! The errors of decoding and verifying, as categories a caller can act on.

/// Why untrusted bytes were refused. Every variant names where or what, never panics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("truncated input: item at byte {at} runs past the end")]
    Truncated { at: usize },
    #[error("{count} trailing bytes after the data item")]
    TrailingBytes { count: usize },
    #[error("indefinite-length item at byte {at} (only definite lengths are allowed)")]
    IndefiniteLength { at: usize },
    #[error("nesting deeper than {max} levels at byte {at}")]
    TooDeep { at: usize, max: usize },
    #[error("more than {max} CBOR data items")]
    TooManyItems { max: usize },
    #[error("duplicate map key at byte {at}")]
    DuplicateKey { at: usize },
    #[error("map keys not in ascending order at byte {at}")]
    UnsortedKeys { at: usize },
    #[error("non-minimal integer or length encoding at byte {at}")]
    NonMinimal { at: usize },
    #[error("floating-point value at byte {at} (floats are not allowed)")]
    Float { at: usize },
    #[error("tag at byte {at} (tags are not allowed)")]
    Tag { at: usize },
    #[error("simple value at byte {at} other than false, true or null")]
    SimpleValue { at: usize },
    #[error("reserved additional information at byte {at}")]
    Reserved { at: usize },
    #[error("invalid UTF-8 in the text string at byte {at}")]
    InvalidUtf8 { at: usize },
    #[error("{what} is {got}, above its limit of {max}")]
    Limit { what: String, got: u64, max: u64 },
    #[error("unsupported {what}: {value}")]
    Unsupported { what: String, value: u64 },
    #[error("schema: {0}")]
    Schema(String),
    #[error("not the canonical encoding: re-encoding the decoded value gives different bytes")]
    NotCanonical,
    #[error("zstd: {0}")]
    Zstd(String),
    #[error("note: {0}")]
    Note(String),
}
