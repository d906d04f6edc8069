//! Submission agreements (ISO 20652): what a producer may send to an archive and how it is
//! checked, how long it is kept, and which metadata is indexed. Versioned; each version is
//! sealed into the archive's own log as an `agreement` package.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};
use zegel_format::header::MetaValue;
use zegel_format::sip::Violation;

use crate::archive::sequencer::Retention;
use crate::limits::{AGREEMENT_BYTES_MAX, AGREEMENT_FIELDS_MAX, PATTERN_BYTES_MAX};

/// The type of a declared metadata field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    String,
    Integer,
    Number,
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339 date-time with offset.
    Datetime,
    /// One of `values`.
    Enum,
    /// Text matching `pattern` (a whole-string regular expression).
    Pattern,
}

impl FieldType {
    /// The type's name as agreements spell it.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Integer => "integer",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
            FieldType::Enum => "enum",
            FieldType::Pattern => "pattern",
        }
    }
}

/// The rule for one metadata field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRule {
    #[serde(rename = "type")]
    pub ty: FieldType,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

/// When retention ends: a duration after a named date metadata field, or after ingest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    /// `"ingest"`, or the name of a `date`/`datetime` metadata field.
    pub after: String,
    #[serde(default)]
    pub years: u32,
    #[serde(default)]
    pub months: u32,
    #[serde(default)]
    pub days: u32,
}

/// What happens when retention ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    #[default]
    Destroy,
    Review,
}

/// One version of an archive's submission agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
    /// The field of a row that holds its record key; a row's `key` must equal it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_key: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, FieldRule>,
    /// Media types objects may have; empty means `application/json` rows only.
    #[serde(default)]
    pub media_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_bytes_max: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_bytes_max: Option<u64>,
    pub retention: RetentionRule,
    #[serde(default)]
    pub disposition: Disposition,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    /// Metadata fields indexed for search.
    #[serde(default)]
    pub indexed: Vec<String>,
    /// The `pattern` fields' expressions, compiled once when the agreement is parsed.
    #[serde(skip)]
    patterns: Patterns,
}

/// Compiled whole-string patterns by field name. Derived from the document, so two agreements
/// with equal documents are equal whatever this holds.
#[derive(Debug, Clone, Default)]
struct Patterns(std::sync::Arc<BTreeMap<String, regex::Regex>>);

impl PartialEq for Patterns {
    fn eq(&self, _: &Patterns) -> bool {
        true
    }
}

impl Eq for Patterns {}

impl Agreement {
    /// Parses and checks an agreement document (JSON or TOML).
    pub fn parse(bytes: &[u8]) -> Result<Agreement, Vec<Violation>> {
        if bytes.len() > AGREEMENT_BYTES_MAX {
            return Err(vec![Violation::new(
                "",
                format!(
                    "agreement is {} bytes, above {AGREEMENT_BYTES_MAX}",
                    bytes.len()
                ),
            )]);
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|_| vec![Violation::new("", "agreement is not UTF-8")])?;
        let a: Agreement = if text.trim_start().starts_with('{') {
            serde_json::from_str(text)
                .map_err(|e| vec![Violation::new("", format!("agreement JSON: {e}"))])?
        } else {
            toml::from_str(text)
                .map_err(|e| vec![Violation::new("", format!("agreement TOML: {e}"))])?
        };
        let mut a = a;
        a.check()?;
        let mut patterns = BTreeMap::new();
        for (name, rule) in &a.metadata {
            if let Some(p) = rule
                .pattern
                .as_ref()
                .filter(|_| rule.ty == FieldType::Pattern)
            {
                let re = regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                    vec![Violation::new(format!("/metadata/{name}"), e.to_string())]
                })?;
                patterns.insert(name.clone(), re);
            }
        }
        a.patterns = Patterns(std::sync::Arc::new(patterns));
        Ok(a)
    }

    fn check(&self) -> Result<(), Vec<Violation>> {
        let mut v = Vec::new();
        if self.version == 0 {
            v.push(Violation::new("/version", "versions start at 1"));
        }
        if self.metadata.len() > AGREEMENT_FIELDS_MAX {
            v.push(Violation::new(
                "/metadata",
                format!("at most {AGREEMENT_FIELDS_MAX} fields"),
            ));
        }
        for (name, rule) in &self.metadata {
            let at = format!("/metadata/{name}");
            match (rule.ty, &rule.values, &rule.pattern) {
                (FieldType::Enum, None, _) => {
                    v.push(Violation::new(&at, "an enum field needs `values`"))
                }
                (FieldType::Pattern, _, None) => {
                    v.push(Violation::new(&at, "a pattern field needs `pattern`"))
                }
                (FieldType::Pattern, _, Some(p))
                    if p.len() > PATTERN_BYTES_MAX || regex::Regex::new(p).is_err() =>
                {
                    v.push(Violation::new(&at, format!("`pattern` must be a valid regular expression of at most {PATTERN_BYTES_MAX} bytes")));
                }
                _ => {}
            }
        }
        let after = &self.retention.after;
        if after != "ingest" {
            match self.metadata.get(after) {
                Some(r) if matches!(r.ty, FieldType::Date | FieldType::Datetime) && r.required => {}
                _ => v.push(Violation::new(
                    "/retention/after",
                    format!(
                        "{after:?} must be \"ingest\" or a required date/datetime metadata field"
                    ),
                )),
            }
        }
        for f in &self.indexed {
            if !self.metadata.contains_key(f) {
                v.push(Violation::new(
                    "/indexed",
                    format!("{f:?} is not a declared metadata field"),
                ));
            }
        }
        if v.is_empty() { Ok(()) } else { Err(v) }
    }

    /// Media types allowed for objects.
    pub fn allows_media_type(&self, mt: &str) -> bool {
        if self.media_types.is_empty() {
            return mt == zegel_format::sip::RECORD_MEDIA_TYPE;
        }
        self.media_types.iter().any(|m| m == mt)
    }

    /// Checks metadata against the declared fields; every violation is listed.
    pub fn check_metadata(
        &self,
        metadata: &BTreeMap<String, MetaValue>,
        violations: &mut Vec<Violation>,
    ) {
        for (name, rule) in &self.metadata {
            let at = format!("/metadata/{name}");
            match metadata.get(name) {
                None if rule.required => {
                    violations.push(Violation::new(at, "is required by the agreement"))
                }
                None => {}
                Some(value) => {
                    if let Err(p) = check_value(rule, self.patterns.0.get(name), value) {
                        violations.push(Violation::new(at, p));
                    }
                }
            }
        }
        for name in metadata.keys() {
            if !self.metadata.contains_key(name) {
                violations.push(Violation::new(
                    format!("/metadata/{name}"),
                    "is not declared in the agreement",
                ));
            }
        }
    }

    /// The index entries of a package with this metadata: one per indexed field present.
    pub fn index_entries(&self, metadata: &BTreeMap<String, MetaValue>) -> Vec<(String, String)> {
        self.indexed
            .iter()
            .filter_map(|f| metadata.get(f).map(|v| (f.clone(), index_value(v))))
            .collect()
    }

    /// The retention of a package with this metadata.
    pub fn retention(
        &self,
        metadata: &BTreeMap<String, MetaValue>,
    ) -> Result<Retention, Violation> {
        let r = &self.retention;
        if r.after == "ingest" {
            // Calendar years and months after ingest are approximated by days here: 365 and 30.
            let days = u64::from(r.years) * 365 + u64::from(r.months) * 30 + u64::from(r.days);
            return Ok(Retention::AfterIngestMs(days * 86_400_000));
        }
        let at = format!("/metadata/{}", r.after);
        let Some(MetaValue::Text(text)) = metadata.get(&r.after) else {
            return Err(Violation::new(at, "the retention rule needs this date"));
        };
        let start = parse_instant(text)
            .ok_or_else(|| Violation::new(&at, "is not a date or RFC 3339 date-time"))?;
        let end = add_calendar(start, r.years, r.months, r.days)
            .ok_or_else(|| Violation::new(&at, "retention end is out of range"))?;
        let ms = end.unix_timestamp_nanos() / 1_000_000;
        Ok(Retention::Until(u64::try_from(ms).unwrap_or(0)))
    }
}

/// The canonical text of a metadata value in the index and in search queries.
pub fn index_value(v: &MetaValue) -> String {
    match v {
        MetaValue::Text(t) => t.clone(),
        MetaValue::Int(i) => i.to_string(),
        MetaValue::Bool(b) => b.to_string(),
    }
}

fn check_value(
    rule: &FieldRule,
    pattern: Option<&regex::Regex>,
    value: &MetaValue,
) -> Result<(), String> {
    let text = match value {
        MetaValue::Text(t) => Some(t.as_str()),
        _ => None,
    };
    let ok = match rule.ty {
        FieldType::String => text.is_some(),
        FieldType::Integer => matches!(value, MetaValue::Int(_)),
        FieldType::Number => matches!(value, MetaValue::Int(_)) || text.is_some_and(is_decimal),
        FieldType::Boolean => matches!(value, MetaValue::Bool(_)),
        FieldType::Date => text
            .is_some_and(|t| Date::parse(t, format_description!("[year]-[month]-[day]")).is_ok()),
        FieldType::Datetime => text.is_some_and(|t| OffsetDateTime::parse(t, &Rfc3339).is_ok()),
        FieldType::Enum => text.is_some_and(|t| {
            rule.values
                .as_ref()
                .is_some_and(|vs| vs.iter().any(|v| v == t))
        }),
        FieldType::Pattern => text.is_some_and(|t| pattern.is_some_and(|re| re.is_match(t))),
    };
    if ok {
        Ok(())
    } else {
        Err(match rule.ty {
            FieldType::Enum => format!(
                "must be one of {:?}",
                rule.values.clone().unwrap_or_default()
            ),
            FieldType::Pattern => {
                format!("must match {:?}", rule.pattern.clone().unwrap_or_default())
            }
            FieldType::Date => "must be a date YYYY-MM-DD".into(),
            FieldType::Datetime => "must be an RFC 3339 date-time".into(),
            other => format!("must be of type {}", other.name()),
        })
    }
}

fn is_decimal(t: &str) -> bool {
    let t = t.strip_prefix('-').unwrap_or(t);
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    !int.is_empty()
        && digits(int)
        && digits(frac)
        && (!t.contains('.') || !frac.is_empty() || t.contains('e') || t.contains('E'))
        || t.parse::<f64>().is_ok_and(f64::is_finite)
}

fn parse_instant(text: &str) -> Option<OffsetDateTime> {
    if let Ok(dt) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(dt);
    }
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .ok()
        .map(|d| d.midnight().assume_utc())
}

/// Adds calendar years, months and days; the 29th of February becomes the 28th in a common
/// year, the 31st of a month becomes the last day of a shorter one.
fn add_calendar(
    start: OffsetDateTime,
    years: u32,
    months: u32,
    days: u32,
) -> Option<OffsetDateTime> {
    let d = start.date();
    let total_months = i64::from(d.year()) * 12 + i64::from(u8::from(d.month())) - 1
        + i64::from(years) * 12
        + i64::from(months);
    let year = i32::try_from(total_months.div_euclid(12)).ok()?;
    let month = time::Month::try_from(u8::try_from(total_months.rem_euclid(12) + 1).ok()?).ok()?;
    let last = time::util::days_in_month(month, year);
    let date = Date::from_calendar_date(year, month, d.day().min(last)).ok()?;
    let shifted = start.replace_date(date);
    shifted.checked_add(time::Duration::days(i64::from(days)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agreement() -> Agreement {
        Agreement::parse(
            br#"{"version":1,"record_key":"message_id",
                 "metadata":{"sent_at":{"type":"datetime","required":true},
                             "sender":{"type":"enum","values":["RSZ","ONSS"]},
                             "dossier":{"type":"pattern","pattern":"D/[0-9]+/[0-9]{4}"},
                             "amount":{"type":"number"}},
                 "retention":{"after":"sent_at","years":10},
                 "indexed":["sender"]}"#,
        )
        .unwrap()
    }

    fn check(meta: &[(&str, MetaValue)], expected: &[&str]) {
        let m: BTreeMap<String, MetaValue> = meta
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect();
        let mut v = Vec::new();
        agreement().check_metadata(&m, &mut v);
        let fields: Vec<&str> = v.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, expected, "{v:?}");
    }

    #[test]
    fn metadata_rules() {
        let t = |s: &str| MetaValue::Text(s.into());
        check(&[("sent_at", t("2025-02-03T10:00:00Z"))], &[]);
        check(&[], &["/metadata/sent_at"]);
        check(
            &[
                ("sent_at", t("yesterday")),
                ("sender", t("X")),
                ("dossier", t("D/1/25")),
                ("amount", t("1e")),
                ("extra", MetaValue::Int(1)),
            ],
            &[
                "/metadata/amount",
                "/metadata/dossier",
                "/metadata/sender",
                "/metadata/sent_at",
                "/metadata/extra",
            ],
        );
        check(
            &[
                ("sent_at", t("2025-02-03T10:00:00+01:00")),
                ("sender", t("RSZ")),
                ("dossier", t("D/12/2024")),
                ("amount", t("12.50")),
            ],
            &[],
        );
    }

    #[test]
    fn retention_is_calendar_years_after_the_field() {
        let a = agreement();
        let m: BTreeMap<String, MetaValue> = [(
            "sent_at".to_string(),
            MetaValue::Text("2024-02-29T12:00:00Z".into()),
        )]
        .into();
        let Ok(Retention::Until(ms)) = a.retention(&m) else {
            panic!()
        };
        let end = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap();
        assert_eq!(end.to_string(), "2034-02-28 12:00:00.0 +00:00:00");
    }

    #[test]
    fn bad_agreements_list_every_problem() {
        let err = Agreement::parse(br#"{"version":0,"metadata":{"e":{"type":"enum"},"p":{"type":"pattern","pattern":"("}},"retention":{"after":"nope"},"indexed":["zz"]}"#).unwrap_err();
        let fields: Vec<&str> = err.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "/version",
                "/metadata/e",
                "/metadata/p",
                "/retention/after",
                "/indexed"
            ]
        );
        assert!(
            Agreement::parse(b"version = 1\n[retention]\nafter = \"ingest\"\nyears = 7\n").is_ok(),
            "TOML works too"
        );
    }
}
