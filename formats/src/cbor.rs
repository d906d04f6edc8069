//! Strict CBOR: the well-formedness gate every untrusted CBOR input passes first
//! (formats/cbor.md), plus the small schema helpers the codecs share.
//!
//! No CBOR crate enforces RFC 8949 §4.2 deterministic encoding by itself, so Zegel does it in
//! three steps: [`check_deterministic`] scans the raw bytes (no recursion, bounded depth and
//! item count, minimal heads, no indefinite lengths, no floats or tags, map keys strictly
//! ascending by their encoded bytes — which also forbids duplicates); then a codec decodes
//! the schema with minicbor; then [`decode_exact`] re-encodes the value and demands the very
//! same bytes.

use minicbor::{Decoder, Encoder};

use crate::error::DecodeError;
use crate::hash::{HASH_LEN, Hash};
use crate::limits::{CBOR_DEPTH_MAX, CBOR_ITEMS_MAX};

/// An open array or map while scanning.
struct Frame {
    /// Items (keys and values count separately) still expected.
    remaining: u64,
    is_map: bool,
    /// Items already complete in this container.
    seen: u64,
    /// Start offset of the key being read (maps only).
    key_start: usize,
    /// Byte span of the previous key (maps only).
    prev_key: Option<(usize, usize)>,
}

/// Checks that `bytes` is exactly one well-formed, deterministically encoded CBOR data item
/// within Zegel's profile (formats/cbor.md §2–§3). Never panics, never recurses.
pub fn check_deterministic(bytes: &[u8]) -> Result<(), DecodeError> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut p = 0usize;
    let mut items = 0usize;
    loop {
        if let Some(top) = stack.last_mut()
            && top.is_map
            && top.seen % 2 == 0
        {
            top.key_start = p;
        }
        items += 1;
        if items > CBOR_ITEMS_MAX {
            return Err(DecodeError::TooManyItems {
                max: CBOR_ITEMS_MAX,
            });
        }
        let at = p;
        let (major, arg) = read_head(bytes, &mut p)?;
        let left = (bytes.len() - p) as u64;
        match major {
            0 | 1 => {}
            2 | 3 => {
                if arg > left {
                    return Err(DecodeError::Truncated { at });
                }
                let end = p + arg as usize;
                if major == 3 && std::str::from_utf8(bytes.get(p..end).unwrap_or_default()).is_err()
                {
                    return Err(DecodeError::InvalidUtf8 { at });
                }
                p = end;
            }
            4 | 5 => {
                let count = if major == 5 {
                    arg.checked_mul(2).ok_or(DecodeError::Truncated { at })?
                } else {
                    arg
                };
                // Every item takes at least one byte: refuse impossible counts before looping.
                if count > left {
                    return Err(DecodeError::Truncated { at });
                }
                if count > 0 {
                    if stack.len() >= CBOR_DEPTH_MAX {
                        return Err(DecodeError::TooDeep {
                            at,
                            max: CBOR_DEPTH_MAX,
                        });
                    }
                    stack.push(Frame {
                        remaining: count,
                        is_map: major == 5,
                        seen: 0,
                        key_start: 0,
                        prev_key: None,
                    });
                    continue;
                }
            }
            6 => return Err(DecodeError::Tag { at }),
            _ => {
                // Major type 7: read_head already refused floats and reserved encodings.
                if !matches!(arg, 20..=22) {
                    return Err(DecodeError::SimpleValue { at });
                }
            }
        }
        // The item starting at `at` is complete at `p`: close every container it completes.
        if close_completed(bytes, &mut stack, p)? {
            return Ok(());
        }
    }
}

/// Counts the item that ends at `p` in the containers on `stack`, closing every container
/// it completes. Returns whether the top-level item is complete, which must end the input.
fn close_completed(bytes: &[u8], stack: &mut Vec<Frame>, p: usize) -> Result<bool, DecodeError> {
    loop {
        let Some(top) = stack.last_mut() else {
            if p != bytes.len() {
                return Err(DecodeError::TrailingBytes {
                    count: bytes.len() - p,
                });
            }
            return Ok(true);
        };
        if top.is_map && top.seen % 2 == 0 {
            check_key_order(bytes, top, p)?;
        }
        top.seen += 1;
        top.remaining -= 1;
        if top.remaining > 0 {
            return Ok(false);
        }
        stack.pop();
    }
}

/// Checks that the map key that ends at `p` sorts strictly after the map's previous key, by
/// encoded bytes, and records it as the previous key.
fn check_key_order(bytes: &[u8], top: &mut Frame, p: usize) -> Result<(), DecodeError> {
    let key = bytes.get(top.key_start..p).unwrap_or_default();
    if let Some((s, e)) = top.prev_key {
        let prev = bytes.get(s..e).unwrap_or_default();
        match prev.cmp(key) {
            std::cmp::Ordering::Less => {}
            std::cmp::Ordering::Equal => {
                return Err(DecodeError::DuplicateKey { at: top.key_start });
            }
            std::cmp::Ordering::Greater => {
                return Err(DecodeError::UnsortedKeys { at: top.key_start });
            }
        }
    }
    top.prev_key = Some((top.key_start, p));
    Ok(())
}

/// Reads one CBOR head at `*p`, advancing past it. Refuses non-minimal arguments, indefinite
/// lengths, reserved additional information and floats.
fn read_head(bytes: &[u8], p: &mut usize) -> Result<(u8, u64), DecodeError> {
    let at = *p;
    let first = *bytes.get(at).ok_or(DecodeError::Truncated { at })?;
    let major = first >> 5;
    let info = first & 0x1f;
    let width = match info {
        0..=23 => 0,
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        28..=30 => return Err(DecodeError::Reserved { at }),
        _ => return Err(DecodeError::IndefiniteLength { at }),
    };
    if major == 7 && width > 1 {
        return Err(DecodeError::Float { at });
    }
    if major == 7 && width == 1 {
        // One-byte simple values are not part of the profile.
        return Err(DecodeError::SimpleValue { at });
    }
    let body = bytes
        .get(at + 1..at + 1 + width)
        .ok_or(DecodeError::Truncated { at })?;
    let arg = if width == 0 {
        u64::from(info)
    } else {
        body.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
    };
    let minimal = match width {
        0 => true,
        1 => arg >= 24,
        2 => arg > 0xff,
        4 => arg > 0xffff,
        _ => arg > 0xffff_ffff,
    };
    if !minimal {
        return Err(DecodeError::NonMinimal { at });
    }
    *p = at + 1 + width;
    Ok((major, arg))
}

/// Decodes untrusted `bytes` as a `T` through the full gate: deterministic-profile scan,
/// schema decode, then re-encode and compare. Hashes are then safe to take over `bytes`.
pub fn decode_exact<T>(
    bytes: &[u8],
    decode: impl FnOnce(&mut Decoder<'_>) -> Result<T, DecodeError>,
    encode: impl FnOnce(&T) -> Vec<u8>,
) -> Result<T, DecodeError> {
    check_deterministic(bytes)?;
    let mut d = Decoder::new(bytes);
    let value = decode(&mut d)?;
    if d.position() != bytes.len() {
        return Err(DecodeError::TrailingBytes {
            count: bytes.len() - d.position(),
        });
    }
    if encode(&value) != bytes {
        return Err(DecodeError::NotCanonical);
    }
    Ok(value)
}

/// Decodes a whole item without the canonical gate of [`decode_exact`]: the item must fill
/// `bytes` exactly, but its encoding is not compared with the canonical one. Only for bytes
/// whose hash a caller has already matched (or will match) against a trusted hash of the
/// canonical encoding — stored headers checked against their Merkle leaf — where the
/// re-encoding could not fail and would only cost time.
pub fn decode_whole<'b, T>(
    bytes: &'b [u8],
    decode: impl FnOnce(&mut Decoder<'b>) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    let mut d = Decoder::new(bytes);
    let value = decode(&mut d)?;
    if d.position() != bytes.len() {
        return Err(DecodeError::TrailingBytes {
            count: bytes.len() - d.position(),
        });
    }
    Ok(value)
}

/// Runs an encoding closure into a fresh buffer. Writing to a `Vec` cannot fail.
pub fn encode_with(
    f: impl FnOnce(
        &mut Encoder<&mut Vec<u8>>,
    ) -> Result<(), minicbor::encode::Error<std::convert::Infallible>>,
) -> Vec<u8> {
    // Most encodings here (headers, heads, checkpoints' parts) fit without growing.
    let mut buf = Vec::with_capacity(256);
    let mut e = Encoder::new(&mut buf);
    // A Vec writer is infallible and every encoder call here is well-formed, so this result
    // carries no information; the decode-after-encode tests pin the bytes.
    let _ = f(&mut e);
    buf
}

pub(crate) fn schema(what: impl Into<String>) -> DecodeError {
    DecodeError::Schema(what.into())
}

fn wrap(field: &str) -> impl Fn(minicbor::decode::Error) -> DecodeError + '_ {
    move |e| schema(format!("{field}: {e}"))
}

/// Opens a map that must hold exactly keys `0..n` in order (formats/cbor.md §4).
pub(crate) fn map_of(d: &mut Decoder<'_>, what: &str, n: u64) -> Result<(), DecodeError> {
    let len = d.map().map_err(wrap(what))?;
    if len != Some(n) {
        return Err(schema(format!(
            "{what}: expected a map of {n} entries, found {}",
            len.map_or("indefinite".into(), |l| l.to_string())
        )));
    }
    Ok(())
}

/// Reads the integer key that must come next.
pub(crate) fn key(d: &mut Decoder<'_>, what: &str, expected: u64) -> Result<(), DecodeError> {
    let k = d.u64().map_err(wrap(what))?;
    if k != expected {
        return Err(schema(format!(
            "{what}: expected key {expected}, found key {k}"
        )));
    }
    Ok(())
}

pub(crate) fn array_len(d: &mut Decoder<'_>, what: &str, max: usize) -> Result<usize, DecodeError> {
    let len = d
        .array()
        .map_err(wrap(what))?
        .ok_or_else(|| schema(format!("{what}: indefinite-length array")))?;
    if len > max as u64 {
        return Err(DecodeError::Limit {
            what: what.to_string(),
            got: len,
            max: max as u64,
        });
    }
    Ok(len as usize)
}

pub(crate) fn uint(d: &mut Decoder<'_>, what: &str) -> Result<u64, DecodeError> {
    d.u64().map_err(wrap(what))
}

pub(crate) fn text<'b>(
    d: &mut Decoder<'b>,
    what: &str,
    max: usize,
) -> Result<&'b str, DecodeError> {
    let s = d.str().map_err(wrap(what))?;
    if s.len() > max {
        return Err(DecodeError::Limit {
            what: what.to_string(),
            got: s.len() as u64,
            max: max as u64,
        });
    }
    Ok(s)
}

pub(crate) fn bytes<'b>(d: &mut Decoder<'b>, what: &str) -> Result<&'b [u8], DecodeError> {
    d.bytes().map_err(wrap(what))
}

pub(crate) fn hash(d: &mut Decoder<'_>, what: &str) -> Result<Hash, DecodeError> {
    let b = bytes(d, what)?;
    Hash::from_slice(b).ok_or_else(|| {
        schema(format!(
            "{what}: expected {HASH_LEN} bytes, found {}",
            b.len()
        ))
    })
}

/// True (and consumes it) if the next item is `null`.
pub(crate) fn null(d: &mut Decoder<'_>, what: &str) -> Result<bool, DecodeError> {
    if d.datatype().map_err(wrap(what))? == minicbor::data::Type::Null {
        d.null().map_err(wrap(what))?;
        return Ok(true);
    }
    Ok(false)
}

/// Checks a format version or algorithm identifier against the one value this version knows.
pub(crate) fn expect_value(d: &mut Decoder<'_>, what: &str, known: u64) -> Result<(), DecodeError> {
    let v = uint(d, what)?;
    if v != known {
        return Err(DecodeError::Unsupported {
            what: what.to_string(),
            value: v,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(hex_input: &str, expected: Result<(), DecodeError>) {
        let bytes = hex::decode(hex_input).unwrap();
        assert_eq!(check_deterministic(&bytes), expected, "input {hex_input}");
    }

    #[test]
    fn profile() {
        check("00", Ok(()));
        check("1818", Ok(()));
        check("1817", Err(DecodeError::NonMinimal { at: 0 }));
        check("190001", Err(DecodeError::NonMinimal { at: 0 }));
        check("a20102036261", Err(DecodeError::Truncated { at: 4 })); // {1:2, 3:"a?"} missing byte
        check("a201020304", Ok(()));
        check("a203040102", Err(DecodeError::UnsortedKeys { at: 3 }));
        check("a201020103", Err(DecodeError::DuplicateKey { at: 3 }));
        check("9f01ff", Err(DecodeError::IndefiniteLength { at: 0 }));
        check("5f41004100ff", Err(DecodeError::IndefiniteLength { at: 0 }));
        check("f93c00", Err(DecodeError::Float { at: 0 }));
        check("c11a514b67b0", Err(DecodeError::Tag { at: 0 }));
        check("f7", Err(DecodeError::SimpleValue { at: 0 }));
        check("f4", Ok(()));
        check("0000", Err(DecodeError::TrailingBytes { count: 1 }));
        check("62c328", Err(DecodeError::InvalidUtf8 { at: 0 }));
        check("9b7fffffffffffffff", Err(DecodeError::Truncated { at: 0 }));
        check("1c", Err(DecodeError::Reserved { at: 0 }));
        check("", Err(DecodeError::Truncated { at: 0 }));
        // Nesting: CBOR_DEPTH_MAX arrays are fine, one more is refused.
        let ok = format!("{}00", "81".repeat(CBOR_DEPTH_MAX));
        check(&ok, Ok(()));
        let deep = format!("{}00", "81".repeat(CBOR_DEPTH_MAX + 1));
        check(
            &deep,
            Err(DecodeError::TooDeep {
                at: CBOR_DEPTH_MAX,
                max: CBOR_DEPTH_MAX,
            }),
        );
        // Keys that are containers: compared by their encoded bytes.
        check("a281008101f6f6", Ok(()));
    }
}
