//! The SIP as submitted (formats/sip.md): a row `{"key", "record", "metadata", "sha256"?}`,
//! the mapping of metadata JSON values to header values, and the exact record bytes.
//!
//! The record object is stored as the exact bytes of the `record` value in the request, never
//! a re-serialisation, so a producer can compute its SHA-256 before sending.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::hash::{Hash, sha256};
use crate::header::MetaValue;
use crate::limits::{
    METADATA_FIELDS_MAX, METADATA_NAME_BYTES_MAX, METADATA_VALUE_BYTES_MAX, OBJECT_BYTES_MAX,
    RECORD_KEY_BYTES_MAX,
};

/// Name of the object that holds a row.
pub const RECORD_OBJECT_NAME: &str = "record.json";
/// Media type of a row object.
pub const RECORD_MEDIA_TYPE: &str = "application/json";

/// One violation in a SIP: where (`field`) and what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// JSON pointer-like location, e.g. `/metadata/sent_at` or `/key`.
    pub field: String,
    pub problem: String,
}

impl Violation {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Violation {
        Violation {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// A parsed row SIP. `record` holds the exact bytes of the `record` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowSip {
    pub key: String,
    pub record: Vec<u8>,
    pub metadata: BTreeMap<String, MetaValue>,
    /// The producer's SHA-256 of `record`, if sent; already checked by [`parse_row`].
    pub sha256: Option<Hash>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRow<'a> {
    key: Option<&'a RawValue>,
    #[serde(borrow)]
    record: Option<&'a RawValue>,
    #[serde(borrow, default)]
    metadata: Option<Fields<'a>>,
    sha256: Option<String>,
}

/// A JSON object's members in order, duplicates kept (so that they can be refused: a map
/// would silently keep the last).
struct Fields<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Fields<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Fields<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut m: M,
            ) -> Result<Fields<'a>, M::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, &'de RawValue>()? {
                    if out.len() > METADATA_FIELDS_MAX {
                        return Err(serde::de::Error::custom(format!(
                            "more than {METADATA_FIELDS_MAX} metadata fields"
                        )));
                    }
                    out.push((k, v));
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Parses one row SIP, collecting every violation rather than stopping at the first.
pub fn parse_row(body: &[u8]) -> Result<RowSip, Vec<Violation>> {
    let raw: RawRow<'_> = serde_json::from_slice(body)
        .map_err(|e| vec![Violation::new("", format!("not a row SIP: {e}"))])?;
    let mut violations = Vec::new();
    let key = match raw.key.map(|k| serde_json::from_str::<String>(k.get())) {
        Some(Ok(k)) => {
            if let Err(p) = check_record_key(&k) {
                violations.push(Violation::new("/key", p));
            }
            k
        }
        Some(Err(_)) => {
            violations.push(Violation::new("/key", "must be a string"));
            String::new()
        }
        None => {
            violations.push(Violation::new("/key", "is required"));
            String::new()
        }
    };
    let record = match raw.record {
        Some(r) if r.get().starts_with('{') => r.get().as_bytes().to_vec(),
        Some(_) => {
            violations.push(Violation::new("/record", "must be a JSON object"));
            Vec::new()
        }
        None => {
            violations.push(Violation::new("/record", "is required"));
            Vec::new()
        }
    };
    if record.len() as u64 > OBJECT_BYTES_MAX {
        violations.push(Violation::new(
            "/record",
            format!(
                "{} bytes is above the object limit of {OBJECT_BYTES_MAX}",
                record.len()
            ),
        ));
    }
    let metadata = match raw.metadata {
        Some(Fields(members)) => {
            let mut seen = BTreeMap::new();
            for (name, value) in members {
                if seen.insert(name.clone(), value).is_some() {
                    violations.push(Violation::new(
                        format!("/metadata/{name}"),
                        "appears more than once",
                    ));
                }
            }
            metadata_from_raw(&seen, &mut violations)
        }
        None => BTreeMap::new(),
    };
    let sha256 = raw.sha256.and_then(|s| match Hash::from_hex(&s) {
        Some(h) if s.bytes().all(|b| !b.is_ascii_uppercase()) => Some(h),
        _ => {
            violations.push(Violation::new("/sha256", "must be 64 lowercase hex digits"));
            None
        }
    });
    if let Some(claimed) = sha256 {
        let actual = sha256_of(&record);
        if claimed != actual && !record.is_empty() {
            violations.push(Violation::new(
                "/sha256",
                format!(
                    "the record bytes hash to {actual}, not {claimed} (fixity on transfer failed)"
                ),
            ));
        }
    }
    if !violations.is_empty() {
        return Err(violations);
    }
    Ok(RowSip {
        key,
        record,
        metadata,
        sha256,
    })
}

fn sha256_of(b: &[u8]) -> Hash {
    sha256(b)
}

/// Maps a metadata object, recording a violation per bad field.
pub fn metadata_from_raw(
    fields: &BTreeMap<String, &RawValue>,
    violations: &mut Vec<Violation>,
) -> BTreeMap<String, MetaValue> {
    if fields.len() > METADATA_FIELDS_MAX {
        violations.push(Violation::new(
            "/metadata",
            format!(
                "{} fields is above the limit of {METADATA_FIELDS_MAX}",
                fields.len()
            ),
        ));
    }
    let mut out = BTreeMap::new();
    for (name, raw) in fields {
        let field = format!("/metadata/{name}");
        let name_ok = !name.is_empty()
            && name.len() <= METADATA_NAME_BYTES_MAX
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !name_ok {
            violations.push(Violation::new(
                &field,
                format!("field names are 1-{METADATA_NAME_BYTES_MAX} bytes of A-Z, a-z, 0-9, '_', '-', '.'"),
            ));
            continue;
        }
        match metadata_value(raw) {
            Ok(Some(v)) => {
                out.insert(name.clone(), v);
            }
            Ok(None) => {}
            Err(p) => violations.push(Violation::new(field, p)),
        }
    }
    out
}

/// One metadata value (formats/sip.md §4): string → text, integer in the signed 64-bit range
/// → integer, boolean → boolean, any other number → its exact token as text, null → absent;
/// arrays and objects are refused.
pub fn metadata_value(raw: &RawValue) -> Result<Option<MetaValue>, String> {
    let token = raw.get().trim();
    let value = match token.as_bytes().first() {
        Some(b'"') => MetaValue::Text(
            serde_json::from_str::<String>(token).map_err(|e| format!("bad string: {e}"))?,
        ),
        Some(b't') => MetaValue::Bool(true),
        Some(b'f') => MetaValue::Bool(false),
        Some(b'n') => return Ok(None),
        Some(b'[') | Some(b'{') => {
            return Err("must be a string, number or boolean, not an array or object".into());
        }
        _ => match token.parse::<i64>() {
            Ok(i) => MetaValue::Int(i),
            Err(_) => MetaValue::Text(token.to_string()),
        },
    };
    if let MetaValue::Text(t) = &value
        && t.len() > METADATA_VALUE_BYTES_MAX
    {
        return Err(format!(
            "{} bytes is above the value limit of {METADATA_VALUE_BYTES_MAX}",
            t.len()
        ));
    }
    Ok(Some(value))
}

/// A record key: 1–512 bytes, no control characters.
pub fn check_record_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > RECORD_KEY_BYTES_MAX || key.chars().any(char::is_control) {
        return Err(format!(
            "must be 1-{RECORD_KEY_BYTES_MAX} bytes without control characters"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str, expected: Result<(&str, &str, usize), Vec<&str>>) {
        let got = parse_row(body.as_bytes());
        match (got, expected) {
            (Ok(row), Ok((key, record, meta))) => {
                assert_eq!(row.key, key);
                assert_eq!(String::from_utf8(row.record).unwrap(), record);
                assert_eq!(row.metadata.len(), meta);
            }
            (Err(v), Err(fields)) => {
                let got: Vec<&str> = v.iter().map(|x| x.field.as_str()).collect();
                assert_eq!(got, fields, "{v:?}");
            }
            (got, want) => panic!("{body}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn rows() {
        // The record bytes are kept exactly, whitespace and number spelling included.
        check(
            r#"{"key":"K-1","record":{"a": 1.50, "b":[1,2]},"metadata":{"amount":12.50,"n":3,"ok":true,"x":null,"s":"t"}}"#,
            Ok(("K-1", r#"{"a": 1.50, "b":[1,2]}"#, 4)),
        );
        check(r#"{"record":{}}"#, Err(vec!["/key"]));
        check(
            r#"{"key":5,"record":[1],"metadata":{"a":[1],"b c":1}}"#,
            Err(vec!["/key", "/record", "/metadata/a", "/metadata/b c"]),
        );
        check(r#"{"key":"k","record":{},"extra":1}"#, Err(vec![""]));
        let sha = hex::encode(sha256(b"{}").0);
        check(
            &format!(r#"{{"key":"k","record":{{}},"sha256":"{sha}"}}"#),
            Ok(("k", "{}", 0)),
        );
        check(
            r#"{"key":"k","record":{},"sha256":"00"}"#,
            Err(vec!["/sha256"]),
        );
        let wrong = "0".repeat(64);
        check(
            &format!(r#"{{"key":"k","record":{{}},"sha256":"{wrong}"}}"#),
            Err(vec!["/sha256"]),
        );
    }

    #[test]
    fn metadata_values() {
        let v = |s: &str| metadata_value(&serde_json::from_str::<Box<RawValue>>(s).unwrap());
        assert_eq!(v("12.50"), Ok(Some(MetaValue::Text("12.50".into()))));
        assert_eq!(v("-7"), Ok(Some(MetaValue::Int(-7))));
        assert_eq!(
            v("18446744073709551616"),
            Ok(Some(MetaValue::Text("18446744073709551616".into())))
        );
        assert_eq!(v("false"), Ok(Some(MetaValue::Bool(false))));
        assert_eq!(v("null"), Ok(None));
        assert_eq!(v(r#""a\u00e9""#), Ok(Some(MetaValue::Text("aé".into()))));
        assert!(v("{}").is_err());
    }
}
