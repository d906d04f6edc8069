//! The cold tier's object layout (formats/cold-layout.md): the keys of segments, checkpoint
//! copies and hash tiles in an object-store bucket, the retention month that groups packages
//! into segments, and the tiles from which a verifier recomputes a tree root with nothing but
//! the bucket. Pure: keys are strings, tiles come from a caller's closure.
//!
//! Writers put every key at layout v2 ([`LAYOUT_VERSION`]); readers accept v1 and v2 keys
//! ([`LAYOUT_VERSIONS_READ`]), each by its own grammar: only v2 segment keys may carry a
//! rewrite number (§2, §11).

use std::cell::RefCell;
use std::fmt;
use std::str::FromStr;

use crate::error::DecodeError;
use crate::hash::{HASH_LEN, Hash, node_hash};
use crate::header::check_identifier;
use crate::limits::{TILE_LEVEL_MAX, TILE_WIDTH_MAX};
use crate::merkle::{self, NodeSource, ProofError};

/// First component of every key that a writer puts (§2, §11): the version of
/// [`LayoutVersion::CURRENT`].
pub const LAYOUT_VERSION: &str = LayoutVersion::CURRENT.as_str();
/// First components that a reader accepts (§2, §11), oldest first; any other is refused.
pub const LAYOUT_VERSIONS_READ: [&str; 2] =
    [LayoutVersion::V1.as_str(), LayoutVersion::V2.as_str()];
/// A tile spans this many Merkle levels (§4.3): 2^8 = 256 hashes per full tile.
pub const TILE_HEIGHT: u32 = 8;
// The limits name a full tile's width without depending on this module.
const _: () = assert!(crate::limits::TILE_WIDTH_MAX == 1 << TILE_HEIGHT);

const MS_PER_DAY: u64 = 86_400_000;
/// Digits of a zero-padded seq, tree size or rewrite number in a key (§2): u64::MAX has 20.
const COUNTER_DIGITS: usize = 20;

/// A version of the layout, named by the first component of every key (§2, §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LayoutVersion {
    /// The first layout: a segment is written once by a move and deleted whole.
    V1,
    /// v1 and rewritten segments, whose keys carry a rewrite number (§3.1, §11).
    V2,
}

impl LayoutVersion {
    /// The version of every object a writer puts (§11).
    pub const CURRENT: LayoutVersion = LayoutVersion::V2;
    /// Every version a reader accepts, oldest first (§2).
    pub const READ: [LayoutVersion; 2] = [LayoutVersion::V1, LayoutVersion::V2];

    /// The first key component: `v1` or `v2`.
    pub const fn as_str(self) -> &'static str {
        match self {
            LayoutVersion::V1 => "v1",
            LayoutVersion::V2 => "v2",
        }
    }

    /// The version number: 1 or 2.
    pub const fn number(self) -> u32 {
        match self {
            LayoutVersion::V1 => 1,
            LayoutVersion::V2 => 2,
        }
    }

    /// The version whose first key component is exactly `component`; `None` for any other.
    pub fn from_component(component: &str) -> Option<LayoutVersion> {
        LayoutVersion::READ
            .into_iter()
            .find(|v| v.as_str() == component)
    }
}

impl fmt::Display for LayoutVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The UTC calendar month of a package's `retain_until_ms`, or `Never` when it has none: the
/// unit of expiry that groups packages into segments (§3).
/// Months are UTC calendar months of retain_until_ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RetentionMonth {
    /// `month` is 1 (January) to 12. Only values that [`RetentionMonth::of`] can return
    /// (year 1970 or later) are valid in keys; [`FromStr`] refuses any other.
    Month { year: i32, month: u8 },
    /// Kept without end: `retain_until_ms` is null.
    Never,
}

impl RetentionMonth {
    /// The month of `retain_until_ms` in UTC, by the proleptic Gregorian calendar (§3).
    pub fn of(retain_until_ms: Option<u64>) -> RetentionMonth {
        match retain_until_ms {
            None => RetentionMonth::Never,
            Some(ms) => {
                let (year, month) = civil_year_month(ms / MS_PER_DAY);
                RetentionMonth::Month { year, month }
            }
        }
    }
}

/// Year and month (1–12) of the day `days` after 1970-01-01, proleptic Gregorian.
fn civil_year_month(days: u64) -> (i32, u8) {
    let (year, month, _) = civil_date(days);
    (year, month)
}

/// Year, month (1–12) and day (1–31) of the day `days` after 1970-01-01, proleptic Gregorian.
///
/// Counts from 0000-03-01 so that the leap day ends each 400-, 100- and 4-year cycle; then a
/// year runs March to February and its months have a fixed pattern of lengths.
pub(crate) fn civil_date(days: u64) -> (i32, u8, u8) {
    // Days from 0000-03-01 to 1970-01-01.
    const EPOCH_SHIFT: u64 = 719_468;
    const DAYS_PER_400_YEARS: u64 = 146_097;
    let z = days + EPOCH_SHIFT; // at most u64::MAX / 86_400_000 + 719_468: no overflow
    let era = z / DAYS_PER_400_YEARS;
    let day_of_era = z % DAYS_PER_400_YEARS; // 0..=146_096
    // Years into the era: a 365-day year, one day more every 4 years except every 100, but
    // again every 400 (the era's last day).
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months from March: lengths 31 30 31 30 31 31 30 31 30 31 31 28/29 — five-month runs of
    // 153 days.
    let month_from_march = (5 * day_of_year + 2) / 153; // 0..=11
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1; // 1..=31
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    // u64::MAX milliseconds is about 584 million years: well inside i32.
    (
        i32::try_from(year).unwrap_or(i32::MAX),
        month as u8,
        day as u8,
    )
}

impl fmt::Display for RetentionMonth {
    /// `YYYY-MM` (at least four year digits), or `never` (§2).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetentionMonth::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            RetentionMonth::Never => f.write_str("never"),
        }
    }
}

/// Why a month component was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a retention month (YYYY-MM from 1970-01, or never): {0:?}")]
pub struct ParseMonthError(pub String);

impl FromStr for RetentionMonth {
    type Err = ParseMonthError;

    /// The strict inverse of `Display` over the months `of` can return.
    fn from_str(s: &str) -> Result<RetentionMonth, ParseMonthError> {
        let bad = || ParseMonthError(s.to_string());
        if s == "never" {
            return Ok(RetentionMonth::Never);
        }
        let (year_text, month_text) = s.split_once('-').ok_or_else(bad)?;
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(year_text) || !digits(month_text) || month_text.len() != 2 {
            return Err(bad());
        }
        let year: i32 = year_text.parse().map_err(|_| bad())?;
        let month: u8 = month_text.parse().map_err(|_| bad())?;
        let m = RetentionMonth::Month { year, month };
        let last = RetentionMonth::of(Some(u64::MAX));
        let valid = (1..=12).contains(&month) && year >= 1970 && m <= last;
        // Display round trip: refuses leading zeros beyond four year digits.
        if !valid || m.to_string() != s {
            return Err(bad());
        }
        Ok(m)
    }
}

/// `{version}/{tenant}/{archive}/` (§2): the prefix of every object of one archive at one
/// layout version. An auditor lists it for each version of [`LayoutVersion::READ`] (§7).
pub fn archive_prefix(version: LayoutVersion, tenant: &str, archive: &str) -> String {
    format!("{version}/{tenant}/{archive}/")
}

/// A segment key, parsed (§2, §3): what [`parse_segment_key`] returns, and what `Display`
/// writes back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SegmentKey {
    pub version: LayoutVersion,
    pub tenant: String,
    pub archive: String,
    pub month: RetentionMonth,
    /// The bounds of the *move* `[first, end)`, not of the seqs inside; `first < end`.
    pub first: u64,
    pub end: u64,
    /// The rewrite number R ≥ 1 of a segment written by a rewrite (§3.1), `None` for one
    /// written by a move. Only v2 keys have one.
    pub rewrite: Option<u64>,
}

impl SegmentKey {
    /// Whether the two keys have the same *slot* (§3.1): tenant, archive, month and move
    /// range, so that one may replace the other and both may hold the same package for a
    /// while (§7 step 7). Version and rewrite number may differ.
    pub fn same_slot(&self, other: &SegmentKey) -> bool {
        (
            &self.tenant,
            &self.archive,
            self.month,
            self.first,
            self.end,
        ) == (
            &other.tenant,
            &other.archive,
            other.month,
            other.first,
            other.end,
        )
    }
}

impl fmt::Display for SegmentKey {
    /// The key of §2, written from the fields as they are: a v1 key with a rewrite number, or a
    /// rewrite number 0, is written too, and [`parse_segment_key`] refuses it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let SegmentKey {
            version,
            tenant,
            archive,
            month,
            first,
            end,
            rewrite,
        } = self;
        write!(
            f,
            "{version}/{tenant}/{archive}/segments/{month}/{first:020}-{end:020}"
        )?;
        if let Some(rewrite) = rewrite {
            write!(f, "+{rewrite:020}")?;
        }
        f.write_str(".zseg")
    }
}

/// Why a key was refused (§2): a key that breaks any rule is not a key of the layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the first component is not a layout version this reader knows (v1, v2)")]
    UnknownVersion,
    #[error("{0}")]
    Malformed(&'static str),
    #[error("the move range [{first}, {end}) is empty")]
    EmptyRange { first: u64, end: u64 },
    #[error("a v1 key has no rewrite number: rewritten segments exist from layout v2 on")]
    RewriteInV1,
    #[error("rewrite number 0: rewrite numbers start at 1")]
    RewriteZero,
}

impl FromStr for SegmentKey {
    type Err = KeyError;

    /// The strict inverse of `Display` over valid keys: refuses any key it would not write,
    /// including an empty range (`first >= end`), a rewrite number under v1, and rewrite 0.
    fn from_str(key: &str) -> Result<SegmentKey, KeyError> {
        use KeyError::Malformed;
        let (version, [tenant, archive, kind, month, file]) = archive_parts(key)?;
        if kind != "segments" {
            return Err(Malformed("not a segments/ key"));
        }
        let month: RetentionMonth = month.parse().map_err(|_| {
            Malformed("the month is not a retention month (YYYY-MM from 1970-01, or never)")
        })?;
        let range = file
            .strip_suffix(".zseg")
            .ok_or(Malformed("the name does not end in .zseg"))?;
        let (first, rest) = range
            .split_once('-')
            .ok_or(Malformed("the name is not first-end"))?;
        let (end, rewrite) = match rest.split_once('+') {
            None => (rest, None),
            Some((end, rewrite)) => (end, Some(rewrite)),
        };
        let not_counter = Malformed("a number in the name is not a 20-digit counter");
        let (first, end) = (
            counter(first).ok_or(not_counter.clone())?,
            counter(end).ok_or(not_counter.clone())?,
        );
        let rewrite = rewrite.map(|r| counter(r).ok_or(not_counter)).transpose()?;
        if first >= end {
            return Err(KeyError::EmptyRange { first, end });
        }
        match (version, rewrite) {
            (LayoutVersion::V1, Some(_)) => return Err(KeyError::RewriteInV1),
            (_, Some(0)) => return Err(KeyError::RewriteZero),
            _ => {}
        }
        Ok(SegmentKey {
            version,
            tenant: tenant.to_string(),
            archive: archive.to_string(),
            month,
            first,
            end,
            rewrite,
        })
    }
}

/// `v2/{tenant}/{archive}/segments/{month}/{first:020}-{end:020}.zseg` (§2, §3): the segment
/// of the move of seqs `[first, end)` that holds the packages retained until `month`, at the
/// layout version writers use ([`LAYOUT_VERSION`]).
/// `tenant` and `archive` are identifiers (formats/package-header.md §3.1).
pub fn segment_key(
    tenant: &str,
    archive: &str,
    month: RetentionMonth,
    first: u64,
    end: u64,
) -> String {
    current_segment_key(tenant, archive, month, first, end, None)
}

/// `v2/{tenant}/{archive}/segments/{month}/{first:020}-{end:020}+{rewrite:020}.zseg`
/// (§2, §3.1): the segment that a rewrite writes in place of a segment of the same tenant,
/// archive, month and move range `[first, end)`.
///
/// `rewrite` MUST be at least 1 and never used before for this archive, even by a rewrite
/// abandoned after a crash: the caller keeps that counter. A key with rewrite 0 is written
/// all the same, and every reader refuses it.
pub fn rewritten_segment_key(
    tenant: &str,
    archive: &str,
    month: RetentionMonth,
    first: u64,
    end: u64,
    rewrite: u64,
) -> String {
    current_segment_key(tenant, archive, month, first, end, Some(rewrite))
}

fn current_segment_key(
    tenant: &str,
    archive: &str,
    month: RetentionMonth,
    first: u64,
    end: u64,
    rewrite: Option<u64>,
) -> String {
    SegmentKey {
        version: LayoutVersion::CURRENT,
        tenant: tenant.to_string(),
        archive: archive.to_string(),
        month,
        first,
        end,
        rewrite,
    }
    .to_string()
}

/// The strict inverse of [`segment_key`] and [`rewritten_segment_key`], for keys of every
/// version a reader accepts (v1 and v2): `None` for any key they would not write. Use
/// `key.parse::<SegmentKey>()` to learn why a key was refused.
pub fn parse_segment_key(key: &str) -> Option<SegmentKey> {
    key.parse().ok()
}

/// `v2/{tenant}/{archive}/checkpoints/{size:020}.note` (§2, §4.2): a copy of the archive's
/// signed checkpoint note of tree size `size`, byte for byte.
pub fn checkpoint_key(tenant: &str, archive: &str, size: u64) -> String {
    checkpoint_key_at(LayoutVersion::CURRENT, tenant, archive, size)
}

/// [`checkpoint_key`] at any layout version: for readers that name objects of an older
/// version. Writers use [`checkpoint_key`].
pub fn checkpoint_key_at(version: LayoutVersion, tenant: &str, archive: &str, size: u64) -> String {
    format!("{version}/{tenant}/{archive}/checkpoints/{size:020}.note")
}

/// The strict inverse of [`checkpoint_key_at`], for v1 and v2 keys: (tenant, archive, size).
/// [`key_version`] gives the version.
pub fn parse_checkpoint_key(key: &str) -> Option<(String, String, u64)> {
    let (_, [tenant, archive, kind, file]) = archive_parts(key).ok()?;
    if kind != "checkpoints" {
        return None;
    }
    let size = counter(file.strip_suffix(".note")?)?;
    Some((tenant.to_string(), archive.to_string(), size))
}

/// `v2/{tenant}/{archive}/tile/{L}/{N}` for a full tile (`width` 256), and
/// `v2/{tenant}/{archive}/tile/{L}/{N}.p/{W}` for a partial one (1 <= W < 256) (§2), with N
/// in groups of three decimal digits, all but the last prefixed with `x`: 1234067 is
/// `x001/x234/067`, 5 is `005`.
pub fn tile_key(tenant: &str, archive: &str, level: u32, index: u64, width: u64) -> String {
    tile_key_at(LayoutVersion::CURRENT, tenant, archive, level, index, width)
}

/// [`tile_key`] at any layout version: for readers that name objects of an older version,
/// such as the tiles of a v1 checkpoint copy (§7 step 2). Writers use [`tile_key`].
pub fn tile_key_at(
    version: LayoutVersion,
    tenant: &str,
    archive: &str,
    level: u32,
    index: u64,
    width: u64,
) -> String {
    let mut key = format!(
        "{version}/{tenant}/{archive}/tile/{level}/{}",
        tile_index_path(index)
    );
    if width < TILE_WIDTH_MAX {
        key.push_str(&format!(".p/{width}"));
    }
    key
}

/// N as three-digit groups: `x` before every group but the last, no leading zero group.
fn tile_index_path(index: u64) -> String {
    let mut groups = vec![index % 1000];
    let mut rest = index / 1000;
    while rest > 0 {
        groups.push(rest % 1000);
        rest /= 1000;
    }
    let last = groups.len() - 1;
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(i, g)| {
            if i < last {
                format!("x{g:03}/")
            } else {
                format!("{g:03}")
            }
        })
        .collect()
}

/// The strict inverse of [`tile_key_at`], for v1 and v2 keys: (tenant, archive, level, index,
/// width), for tiles that a tree of at most 2^64 − 1 leaves can have (level at most 7, a first
/// leaf below 2^64). [`key_version`] gives the version.
pub fn parse_tile_key(key: &str) -> Option<(String, String, u32, u64, u64)> {
    let (_, rest) = split_version(key).ok()?;
    let mut parts = rest.splitn(5, '/');
    let (tenant, archive) = (parts.next()?, parts.next()?);
    let (kind, level_text, tail) = (parts.next()?, parts.next()?, parts.next()?);
    check_identifier("tenant", tenant).ok()?;
    check_identifier("archive", archive).ok()?;
    let level: u32 = level_text.parse().ok()?;
    if kind != "tile" || level > TILE_LEVEL_MAX || level.to_string() != level_text {
        return None;
    }
    let (index_text, width) = match tail.split_once(".p/") {
        None => (tail, TILE_WIDTH_MAX),
        Some((n, w_text)) => {
            let w: u64 = w_text.parse().ok()?;
            if !(1..TILE_WIDTH_MAX).contains(&w) || w.to_string() != w_text {
                return None;
            }
            (n, w)
        }
    };
    // Groups of three digits, `x` before all but the last; canonical means no leading zero
    // group, which the round trip through tile_index_path checks.
    let mut index = 0u64;
    for group in index_text.split('/') {
        let digits = group.strip_prefix('x').unwrap_or(group);
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        index = index.checked_mul(1000)?.checked_add(digits.parse().ok()?)?;
    }
    if tile_index_path(index) != index_text {
        return None;
    }
    // The tile's first leaf, 256·N·256^L, must be below 2^64.
    if index >> (64 - TILE_HEIGHT * (level + 1)) != 0 {
        return None;
    }
    Some((tenant.to_string(), archive.to_string(), level, index, width))
}

/// The layout version named by a key's first component, when a reader knows it; says nothing
/// about the rest of the key, which the `parse_*_key` functions check.
pub fn key_version(key: &str) -> Option<LayoutVersion> {
    split_version(key).ok().map(|(version, _)| version)
}

/// The version of the first component, and the rest of the key after its `/`.
fn split_version(key: &str) -> Result<(LayoutVersion, &str), KeyError> {
    let (first, rest) = key.split_once('/').ok_or(KeyError::UnknownVersion)?;
    let version = LayoutVersion::from_component(first).ok_or(KeyError::UnknownVersion)?;
    Ok((version, rest))
}

/// `{version}/{tenant}/{archive}/{rest…}`, checked: a version a reader knows, two identifiers
/// and then exactly `N` components after them.
fn archive_parts<const N: usize>(key: &str) -> Result<(LayoutVersion, [&str; N]), KeyError> {
    let (version, rest) = split_version(key)?;
    let parts: Vec<&str> = rest.split('/').collect();
    let parts: [&str; N] = parts
        .try_into()
        .map_err(|_| KeyError::Malformed("not the components of this kind of key"))?;
    let identifiers = parts
        .first()
        .zip(parts.get(1))
        .is_some_and(|(tenant, archive)| {
            check_identifier("tenant", tenant).is_ok()
                && check_identifier("archive", archive).is_ok()
        });
    if !identifiers {
        return Err(KeyError::Malformed(
            "tenant or archive is not an identifier",
        ));
    }
    Ok((version, parts))
}

/// A 20-digit zero-padded u64.
fn counter(text: &str) -> Option<u64> {
    if text.len() != COUNTER_DIGITS || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A tile as (level L, index N, width W), the order of [`tiles_for`].
pub type TileId = (u32, u64, u64);

/// Entries of tile level `level` in a tree of `size` leaves: its complete subtrees of
/// 256^level leaves.
fn level_entries(size: u64, level: u32) -> u64 {
    size.checked_shr(TILE_HEIGHT * level).unwrap_or(0)
}

/// The width of tile (`level`, `index`) in a tree of `size` leaves: 256 for a full tile, the
/// number of its entries for the partial one, `None` when the tree has no such tile.
pub fn tile_width(size: u64, level: u32, index: u64) -> Option<u64> {
    let entries = level_entries(size, level);
    let full = entries / TILE_WIDTH_MAX;
    match index.cmp(&full) {
        std::cmp::Ordering::Less => Some(TILE_WIDTH_MAX),
        std::cmp::Ordering::Equal => {
            let w = entries % TILE_WIDTH_MAX;
            (w > 0).then_some(w)
        }
        std::cmp::Ordering::Greater => None,
    }
}

/// The tiles that cover a tree of `size` leaves (§5): for each tile level L (entries are Merkle
/// nodes at level 8·L, i.e. hashes of complete subtrees of 256^L leaves), every full tile and
/// at most one partial tile, as (L, N, W), in order of level then index. Level L has
/// floor(size / 256^L) entries in all; the list stops at the first level with none.
pub fn tiles_for(size: u64) -> Vec<(u32, u64, u64)> {
    tiles_added(0, size)
}

/// The tiles of a tree of `new` leaves that a tree of `old` leaves lacks: what a writer puts
/// when the tree grows from `old` to `new` (§5). A partial tile of `new` is new unless `old`
/// has exactly the same one; full tiles of `old` are never repeated. Empty when `new <= old`.
pub fn tiles_added(old: u64, new: u64) -> Vec<(u32, u64, u64)> {
    let mut out = Vec::new();
    if new <= old {
        return out;
    }
    for level in 0..=TILE_LEVEL_MAX {
        let (old_entries, new_entries) = (level_entries(old, level), level_entries(new, level));
        if new_entries == 0 {
            break;
        }
        let full_before = old_entries / TILE_WIDTH_MAX;
        let full_after = new_entries / TILE_WIDTH_MAX;
        out.extend((full_before..full_after).map(|n| (level, n, TILE_WIDTH_MAX)));
        let partial = new_entries % TILE_WIDTH_MAX;
        if partial > 0 && new_entries != old_entries {
            out.push((level, full_after, partial));
        }
    }
    out
}

/// Entry j of tile (L, N) is the Merkle node (level 8·L, index 256·N + j) — in
/// [`merkle::NodeSource`] terms, the RFC 9162 hash of the complete subtree of leaves
/// [(256N+j)·256^L, (256N+j+1)·256^L). Meaningful for tiles of a tree (j < 256, level <= 7);
/// saturates rather than wraps beyond.
pub fn tile_entry_node(level: u32, index: u64, j: u64) -> (u32, u64) {
    (
        TILE_HEIGHT.saturating_mul(level),
        index.saturating_mul(TILE_WIDTH_MAX).saturating_add(j),
    )
}

/// A tile's bytes: its W hashes concatenated, 32·W bytes (§4.3).
pub fn encode_tile(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.0).collect()
}

/// Decodes a tile of `width` hashes (1 to 256): exactly 32·width bytes.
pub fn decode_tile(bytes: &[u8], width: u64) -> Result<Vec<Hash>, DecodeError> {
    if !(1..=TILE_WIDTH_MAX).contains(&width) {
        return Err(DecodeError::Schema(format!(
            "tile width {width} is not between 1 and {TILE_WIDTH_MAX}"
        )));
    }
    if bytes.len() as u64 != width * HASH_LEN as u64 {
        return Err(DecodeError::Schema(format!(
            "a tile of {width} hashes has {} bytes, not {}",
            bytes.len(),
            width * HASH_LEN as u64
        )));
    }
    Ok(bytes
        .chunks_exact(HASH_LEN)
        .filter_map(Hash::from_slice)
        .collect())
}

/// Why tiles did not give a verified tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    #[error("tile {level}/{} (width {width}) is missing", tile_index_path(*.index))]
    Missing { level: u32, index: u64, width: u64 },
    #[error("tile {level}/{} should hold {width} hashes but holds {got}", tile_index_path(*.index))]
    WrongWidth {
        level: u32,
        index: u64,
        width: u64,
        got: usize,
    },
    #[error(
        "full tile {level}/{} hashes to {computed}, but its entry in level {} is {expected}",
        tile_index_path(*.index),
        level + 1
    )]
    ParentMismatch {
        level: u32,
        index: u64,
        computed: Hash,
        expected: Hash,
    },
    #[error("the tiles give the root {computed}, not the expected {expected}")]
    RootMismatch { computed: Hash, expected: Hash },
    #[error("tree: {0}")]
    Tree(ProofError),
}

/// A [`NodeSource`] over the tiles of a tree of `size` leaves (§7 step 3): node (l, i) is computed
/// from 2^(l mod 8) entries of one tile of level l div 8. Keeps the last tile it fetched, so a
/// root or a proof fetches each tile about once.
pub struct TileNodes<F> {
    size: u64,
    fetch: F,
    last: RefCell<Option<(u32, u64, Vec<Hash>)>>,
    /// The first tile failure, kept typed for [`root_from_tiles`].
    error: RefCell<Option<TileError>>,
}

impl<F> fmt::Debug for TileNodes<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TileNodes(size {})", self.size)
    }
}

impl<F: Fn(u32, u64, u64) -> Option<Vec<Hash>>> TileNodes<F> {
    /// `fetch(level, index, width)` returns the hashes of that tile.
    pub fn new(size: u64, fetch: F) -> TileNodes<F> {
        TileNodes {
            size,
            fetch,
            last: RefCell::new(None),
            error: RefCell::new(None),
        }
    }

    /// Entries `[from, from + count)` of tile level `level` (all within one tile).
    fn entries(&self, level: u32, from: u64, count: u64) -> Result<Vec<Hash>, TileError> {
        let index = from / TILE_WIDTH_MAX;
        let missing = TileError::Missing {
            level,
            index,
            width: 0,
        };
        let width = tile_width(self.size, level, index).ok_or(missing)?;
        let start = (from % TILE_WIDTH_MAX) as usize;
        let end = start + count as usize;
        let mut last = self.last.borrow_mut();
        let cached = last.as_ref().filter(|(l, n, _)| (*l, *n) == (level, index));
        if cached.is_none() {
            let hashes = (self.fetch)(level, index, width).ok_or(TileError::Missing {
                level,
                index,
                width,
            })?;
            if hashes.len() as u64 != width {
                return Err(TileError::WrongWidth {
                    level,
                    index,
                    width,
                    got: hashes.len(),
                });
            }
            *last = Some((level, index, hashes));
        }
        last.as_ref()
            .and_then(|(_, _, hashes)| hashes.get(start..end))
            .map(<[Hash]>::to_vec)
            .ok_or(TileError::Missing {
                level,
                index,
                width,
            })
    }

    fn take_error(&self) -> Option<TileError> {
        self.error.borrow_mut().take()
    }
}

impl<F: Fn(u32, u64, u64) -> Option<Vec<Hash>>> NodeSource for TileNodes<F> {
    fn node(&self, level: u32, index: u64) -> Result<Hash, ProofError> {
        let (tile_level, below) = (level / TILE_HEIGHT, level % TILE_HEIGHT);
        let from = index
            .checked_shl(below)
            .filter(|f| f >> below == index)
            .ok_or(ProofError::MissingNode { level, index })?;
        let count = 1u64 << below;
        let beyond = from
            .checked_add(count)
            .is_none_or(|end| end > level_entries(self.size, tile_level));
        if tile_level > TILE_LEVEL_MAX || beyond {
            return Err(ProofError::MissingNode { level, index });
        }
        match self.entries(tile_level, from, count) {
            Ok(entries) => Ok(fold(entries)),
            Err(e) => {
                let text = e.to_string();
                self.error.borrow_mut().get_or_insert(e);
                Err(ProofError::Store(text))
            }
        }
    }
}

/// The root of a perfect subtree over `hashes` (a power of two of them).
fn fold(mut hashes: Vec<Hash>) -> Hash {
    while hashes.len() > 1 {
        hashes = hashes
            .chunks_exact(2)
            .map(|pair| match pair {
                [left, right] => node_hash(left, right),
                _ => Hash::ZERO, // chunks_exact(2) yields pairs only
            })
            .collect();
    }
    hashes.first().copied().unwrap_or_default()
}

/// The root of the tree of `size` leaves, recomputed from its tiles (§7 step 3): `tile(L, N, W)`
/// returns the decoded hashes of that tile, or `None`. Only the partial tiles (at most one per
/// level) are read; [`check_full_tiles`] ties the full ones to them.
pub fn root_from_tiles(
    size: u64,
    tile: impl Fn(u32, u64, u64) -> Option<Vec<Hash>>,
) -> Result<Hash, TileError> {
    let nodes = TileNodes::new(size, tile);
    merkle::root(&nodes, size).map_err(|e| nodes.take_error().unwrap_or(TileError::Tree(e)))
}

/// Checks that every full tile of a tree of `size` leaves hashes to its entry one level up
/// (§7 step 4): the 256 entries of tile (L, N), hashed as a perfect subtree, are entry
/// N mod 256 of tile (L+1, N div 256). With [`root_from_tiles`], this ties every tile entry to
/// the root.
pub fn check_full_tiles(
    size: u64,
    tile: impl Fn(u32, u64, u64) -> Option<Vec<Hash>>,
) -> Result<(), TileError> {
    let parents = TileNodes::new(size, &tile);
    for (level, index, width) in tiles_for(size) {
        if width != TILE_WIDTH_MAX {
            continue;
        }
        let hashes = tile(level, index, width).ok_or(TileError::Missing {
            level,
            index,
            width,
        })?;
        if hashes.len() as u64 != width {
            return Err(TileError::WrongWidth {
                level,
                index,
                width,
                got: hashes.len(),
            });
        }
        let computed = fold(hashes);
        let expected = parents
            .entries(level + 1, index, 1)?
            .first()
            .copied()
            .unwrap_or_default();
        if computed != expected {
            return Err(TileError::ParentMismatch {
                level,
                index,
                computed,
                expected,
            });
        }
    }
    Ok(())
}

/// Steps 3 and 4 of §7: every full tile hashes to its parent entry, and the tiles give `root`.
pub fn verify_tiles(
    size: u64,
    root: &Hash,
    tile: impl Fn(u32, u64, u64) -> Option<Vec<Hash>>,
) -> Result<(), TileError> {
    let computed = root_from_tiles(size, &tile)?;
    if computed != *root {
        return Err(TileError::RootMismatch {
            computed,
            expected: *root,
        });
    }
    check_full_tiles(size, &tile)
}

/// The tiles of a tree, built from its complete nodes: (L, N, W) and the tile's hashes, for
/// every tile of [`tiles_for`]`(size)`. For writers and tests.
pub fn build_tiles<S: NodeSource + ?Sized>(
    src: &S,
    size: u64,
) -> Result<Vec<(TileId, Vec<Hash>)>, ProofError> {
    tiles_for(size)
        .into_iter()
        .map(|(level, index, width)| {
            let hashes = (0..width)
                .map(|j| {
                    let (l, i) = tile_entry_node(level, index, j);
                    src.node(l, i)
                })
                .collect::<Result<Vec<Hash>, ProofError>>()?;
            Ok(((level, index, width), hashes))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::hash::leaf_hash;
    use crate::merkle::MemoryTree;

    fn tree(n: u64) -> MemoryTree {
        let mut t = MemoryTree::new();
        for i in 0..n {
            t.push(leaf_hash(&i.to_be_bytes()));
        }
        t
    }

    fn tiles_of(t: &MemoryTree) -> BTreeMap<(u32, u64, u64), Vec<Hash>> {
        build_tiles(t, t.size()).unwrap().into_iter().collect()
    }

    fn check_tiles_for(size: u64, expected: &[(u32, u64, u64)]) {
        assert_eq!(tiles_for(size), expected, "tiles_for({size})");
    }

    #[test]
    fn tiles_for_known_sizes() {
        check_tiles_for(0, &[]);
        check_tiles_for(1, &[(0, 0, 1)]);
        check_tiles_for(255, &[(0, 0, 255)]);
        check_tiles_for(256, &[(0, 0, 256), (1, 0, 1)]);
        check_tiles_for(257, &[(0, 0, 256), (0, 1, 1), (1, 0, 1)]);
        let mut full: Vec<_> = (0..256).map(|n| (0, n, 256)).collect();
        full.extend([(1, 0, 256), (2, 0, 1)]);
        check_tiles_for(65536, &full);
        // 65837 = 257·256 + 45 leaves; 257 level-1 entries; 1 level-2 entry.
        let mut more: Vec<_> = (0..257).map(|n| (0, n, 256)).collect();
        more.extend([(0, 257, 45), (1, 0, 256), (1, 1, 1), (2, 0, 1)]);
        check_tiles_for(65537 + 300, &more);
        // Growing to 2^56 leaves completes a tile on each of levels 0 to 6 and starts level 7,
        // the highest.
        let expected: Vec<_> = (0..7)
            .map(|l| (l, (1u64 << (48 - 8 * l)) - 1, 256))
            .chain([(7, 0, 1)])
            .collect();
        assert_eq!(tiles_added((1 << 56) - 1, 1 << 56), expected);
        assert_eq!(
            tiles_added(u64::MAX - 1, u64::MAX),
            [(0, (1 << 56) - 1, 255)]
        );
    }

    fn check_key(key: String, expected: &str) {
        assert_eq!(key, expected);
    }

    #[test]
    fn keys() {
        let m = RetentionMonth::Month {
            year: 2033,
            month: 7,
        };
        check_key(
            segment_key("acme", "invoices", m, 1, 4),
            "v2/acme/invoices/segments/2033-07/00000000000000000001-00000000000000000004.zseg",
        );
        check_key(
            segment_key("acme", "invoices", RetentionMonth::Never, 0, u64::MAX),
            "v2/acme/invoices/segments/never/00000000000000000000-18446744073709551615.zseg",
        );
        check_key(
            checkpoint_key("acme", "invoices", 300),
            "v2/acme/invoices/checkpoints/00000000000000000300.note",
        );
        check_key(tile_key("a", "b", 0, 5, 256), "v2/a/b/tile/0/005");
        check_key(tile_key("a", "b", 0, 0, 1), "v2/a/b/tile/0/000.p/1");
        check_key(
            tile_key("a", "b", 2, 1_234_067, 256),
            "v2/a/b/tile/2/x001/x234/067",
        );
        check_key(
            tile_key("a", "b", 1, 1_000_000, 17),
            "v2/a/b/tile/1/x001/x000/000.p/17",
        );
        check_key(tile_key("a", "b", 0, 999, 255), "v2/a/b/tile/0/999.p/255");
        check_key(tile_key("a", "b", 0, 1000, 256), "v2/a/b/tile/0/x001/000");
    }

    fn segment(
        version: LayoutVersion,
        month: RetentionMonth,
        (first, end): (u64, u64),
        rewrite: Option<u64>,
    ) -> SegmentKey {
        SegmentKey {
            version,
            tenant: "acme".into(),
            archive: "invoices".into(),
            month,
            first,
            end,
            rewrite,
        }
    }

    #[test]
    fn rewritten_segment_keys() {
        let m = RetentionMonth::Month {
            year: 2035,
            month: 11,
        };
        check_key(
            rewritten_segment_key("acme", "invoices", m, 0, 4, 1),
            "v2/acme/invoices/segments/2035-11/\
             00000000000000000000-00000000000000000004+00000000000000000001.zseg",
        );
        check_key(
            rewritten_segment_key("a", "b", RetentionMonth::Never, 5, 6, u64::MAX),
            "v2/a/b/segments/never/\
             00000000000000000005-00000000000000000006+18446744073709551615.zseg",
        );
        assert_eq!((LAYOUT_VERSION, LAYOUT_VERSIONS_READ), ("v2", ["v1", "v2"]));
        assert_eq!(archive_prefix(LayoutVersion::V1, "a", "b"), "v1/a/b/");
    }

    #[test]
    fn keys_parse_back() {
        let m = RetentionMonth::of(Some(1_900_000_000_000));
        let key = segment_key("acme", "invoices", m, 7, 9);
        let moved = segment(LayoutVersion::V2, m, (7, 9), None);
        assert_eq!(parse_segment_key(&key), Some(moved.clone()));
        let key = rewritten_segment_key("acme", "invoices", m, 7, 9, 3);
        let rewritten = segment(LayoutVersion::V2, m, (7, 9), Some(3));
        assert_eq!(parse_segment_key(&key), Some(rewritten.clone()));
        assert!(rewritten.same_slot(&moved));
        // A v1 key, as written before the upgrade, is read by v1 rules.
        let key = "v1/acme/invoices/segments/never/00000000000000000000-00000000000000000004.zseg";
        let old = segment(LayoutVersion::V1, RetentionMonth::Never, (0, 4), None);
        assert_eq!(parse_segment_key(key), Some(old.clone()));
        assert_eq!(old.to_string(), key);
        assert!(!old.same_slot(&moved));
        for version in LayoutVersion::READ {
            let key = checkpoint_key_at(version, "t-1", "a.b_c", 0);
            assert_eq!(key_version(&key), Some(version));
            assert_eq!(
                parse_checkpoint_key(&key),
                Some(("t-1".into(), "a.b_c".into(), 0))
            );
        }
        for version in LayoutVersion::READ {
            for (l, n, w) in [
                (0, 0, 1),
                (0, 5, 256),
                (3, 1_234_067, 3),
                (7, 0, 1),
                (0, 999, 256),
            ] {
                let key = tile_key_at(version, "t", "a", l, n, w);
                assert_eq!(key_version(&key), Some(version));
                assert_eq!(
                    parse_tile_key(&key),
                    Some(("t".into(), "a".into(), l, n, w)),
                    "{key}"
                );
            }
        }
    }

    /// `key` is refused as a segment key for `reason`.
    fn check_segment_refused(key: &str, reason: KeyError) {
        assert_eq!(key.parse::<SegmentKey>(), Err(reason), "{key}");
        assert_eq!(parse_segment_key(key), None, "{key}");
    }

    #[test]
    fn segment_keys_are_refused_for_their_reason() {
        let range = "00000000000000000000-00000000000000000004";
        let r1 = "+00000000000000000001";
        check_segment_refused(
            &format!("v1/acme/invoices/segments/2035-11/{range}{r1}.zseg"),
            KeyError::RewriteInV1,
        );
        check_segment_refused(
            &format!("v2/acme/invoices/segments/2035-11/{range}+00000000000000000000.zseg"),
            KeyError::RewriteZero,
        );
        for version in ["v3", "v0", "V2", "v02", "", "v"] {
            check_segment_refused(
                &format!("{version}/acme/invoices/segments/2035-11/{range}.zseg"),
                KeyError::UnknownVersion,
            );
        }
        check_segment_refused(
            "v2/acme/invoices/segments/2035-11/00000000000000000004-00000000000000000004.zseg",
            KeyError::EmptyRange { first: 4, end: 4 },
        );
        for file in [
            format!("{range}+1.zseg"),
            format!("{range}+.zseg"),
            format!("{range}+0000000000000000001.zseg"),
            format!("{range}+000000000000000000001.zseg"),
            format!("{range}+18446744073709551616.zseg"),
            format!("{range}{r1}{r1}.zseg"),
            format!("{range}-00000000000000000001.zseg"),
            format!("{range} {r1}.zseg"),
            format!("{range}{r1}"),
            format!("{r1}-{range}.zseg"),
        ] {
            let key = format!("v2/acme/invoices/segments/2035-11/{file}");
            assert!(
                matches!(key.parse::<SegmentKey>(), Err(KeyError::Malformed(_))),
                "{key}"
            );
        }
    }

    #[test]
    fn non_canonical_keys_are_refused() {
        for key in [
            "v1/acme/invoices/segments/2033-07/1-4.zseg",
            "v1/acme/invoices/segments/2033-7/00000000000000000001-00000000000000000004.zseg",
            "v1/acme/invoices/segments/2033-07/00000000000000000004-00000000000000000004.zseg",
            "v1/acme/invoices/segments/2033-07/00000000000000000001-00000000000000000004.zst",
            "v1/acme/invoices/segments/2033-07/00000000000000000001-000000000000000000004.zseg",
            "v1/acme/invoices/segments/2033-07/18446744073709551616-18446744073709551617.zseg",
            "v1/acme/invoices/segments/Never/00000000000000000001-00000000000000000004.zseg",
            "v1/Acme/invoices/segments/never/00000000000000000001-00000000000000000004.zseg",
            "v3/acme/invoices/segments/never/00000000000000000001-00000000000000000004.zseg",
            "v1/acme/invoices/segments/never/00000000000000000001-00000000000000000004.zseg/",
            "v2/acme/invoices/segments/2033-7/00000000000000000001-00000000000000000004.zseg",
            "v2/acme/invoices/segments/2033-07/1-4+1.zseg",
            "v2/Acme/invoices/segments/never/00000000000000000001-00000000000000000004.zseg",
            "/v2/acme/invoices/segments/never/00000000000000000001-00000000000000000004.zseg",
            "/v1/acme/invoices/segments/never/00000000000000000001-00000000000000000004.zseg",
        ] {
            assert_eq!(parse_segment_key(key), None, "{key}");
        }
        for key in [
            "v1/acme/invoices/checkpoints/300.note",
            "v1/acme/invoices/checkpoint/00000000000000000300.note",
            "v1/acme/invoices/checkpoints/00000000000000000300",
            "v1/acme//checkpoints/00000000000000000300.note",
            "v3/acme/invoices/checkpoints/00000000000000000300.note",
            "v2/acme/invoices/checkpoints/00000000000000000300+00000000000000000001.note",
            "v2/acme/invoices/checkpoints/0000000000000000300.note",
        ] {
            assert_eq!(parse_checkpoint_key(key), None, "{key}");
        }
        for key in [
            "v1/a/b/tile/0/5",
            "v1/a/b/tile/0/0005",
            "v1/a/b/tile/00/005",
            "v1/a/b/tile/8/000.p/1",
            "v1/a/b/tile/0/x000/005",
            "v1/a/b/tile/0/x001",
            "v1/a/b/tile/0/001/002",
            "v1/a/b/tile/0/x1/002",
            "v1/a/b/tile/0/000.p/0",
            "v1/a/b/tile/0/000.p/256",
            "v1/a/b/tile/0/000.p/01",
            "v1/a/b/tile/0/000.p/1/",
            "v1/a/b/tile/0/000.p",
            "v1/a/b/tile/0/x001.p/1/002",
            "v1/a/b/tile/7/001",
            "v1/a/b/tiles/0/000",
            "v1/a/b/tile/0/",
            "v3/a/b/tile/0/000",
            "v2/a/b/tile/0/5",
            "v2/a/b/tile/8/000.p/1",
            "v2/a/b/tile/0/000.p/0",
            "/v2/a/b/tile/0/000",
            "v2/a/b/tile/0/000+00000000000000000001",
        ] {
            assert_eq!(parse_tile_key(key), None, "{key}");
        }
    }

    /// Milliseconds of a UTC date and time, computed here by counting days by hand.
    fn check_month(ms: Option<u64>, expected: &str) {
        let m = RetentionMonth::of(ms);
        assert_eq!(m.to_string(), expected, "{ms:?}");
        assert_eq!(expected.parse::<RetentionMonth>(), Ok(m));
    }

    #[test]
    fn retention_months_at_boundaries() {
        const DAY: u64 = 86_400_000;
        check_month(None, "never");
        check_month(Some(0), "1970-01");
        check_month(Some(31 * DAY - 1), "1970-01");
        check_month(Some(31 * DAY), "1970-02");
        check_month(Some(365 * DAY - 1), "1970-12");
        check_month(Some(365 * DAY), "1971-01");
        // 2024-02-29T23:59:59.999Z: 19782 days to 2024-02-29 (54 years of which 13 leap:
        // 54·365 + 13 = 19723 to 2024-01-01, then 31 + 28 days).
        let leap_day = 19_723 + 31 + 28;
        check_month(Some((leap_day + 1) * DAY - 1), "2024-02");
        check_month(Some((leap_day + 1) * DAY), "2024-03");
        // 2100 is not a leap year: 2100-03-01 is 130 years (32 leap: 1972..=2096) after 1970,
        // plus January and a 28-day February.
        let march_2100 = 130 * 365 + 32 + 31 + 28;
        check_month(Some(march_2100 * DAY - 1), "2100-02");
        check_month(Some(march_2100 * DAY), "2100-03");
        // 2000 is a leap year (divisible by 400): 2000-02-29 exists.
        let feb_29_2000 = 30 * 365 + 7 + 31 + 28;
        check_month(Some(feb_29_2000 * DAY), "2000-02");
        check_month(Some((feb_29_2000 + 1) * DAY), "2000-03");
        // The sample log's retention: 2025-11-24T16:00:00Z plus 3650 days = 2035-11-22.
        check_month(Some(1_764_000_000_000 + 10 * 365 * DAY), "2035-11");
        // The last millisecond: year 584554051 (printed as it is, no padding needed).
        let last = RetentionMonth::of(Some(u64::MAX));
        assert!(matches!(last, RetentionMonth::Month { year, .. } if year > 9999));
        assert_eq!(last.to_string().parse::<RetentionMonth>(), Ok(last));
    }

    #[test]
    fn non_canonical_months_are_refused() {
        for text in [
            "",
            "Never",
            "2033-7",
            "2033-007",
            "2033-00",
            "2033-13",
            "02033-01",
            "1969-12",
            "033-01",
            "+2033-01",
            "2033-01-01",
            "2033_01",
            " 2033-01",
            "9999999999-01",
        ] {
            assert!(text.parse::<RetentionMonth>().is_err(), "{text:?}");
        }
        let after_last = match RetentionMonth::of(Some(u64::MAX)) {
            RetentionMonth::Month { year, .. } => format!("{}-01", year + 1),
            RetentionMonth::Never => unreachable!(),
        };
        assert!(after_last.parse::<RetentionMonth>().is_err());
    }

    #[test]
    fn tile_entries_are_merkle_nodes() {
        assert_eq!(tile_entry_node(0, 0, 5), (0, 5));
        assert_eq!(tile_entry_node(0, 2, 3), (0, 515));
        assert_eq!(tile_entry_node(1, 1, 0), (8, 256));
        assert_eq!(tile_entry_node(2, 0, 255), (16, 255));
        // Entry 1 of tile (1, 0) covers leaves [256, 512): the Merkle node (8, 1).
        let t = tree(600);
        let tiles = tiles_of(&t);
        let entry = tiles[&(1, 0, 2)][1];
        assert_eq!(entry, merkle::subtree_hash(&t, 256, 512).unwrap());
    }

    #[test]
    fn tile_codec() {
        let hashes = vec![Hash([1; 32]), Hash([2; 32])];
        let bytes = encode_tile(&hashes);
        assert_eq!(bytes.len(), 64);
        assert_eq!(decode_tile(&bytes, 2), Ok(hashes));
        assert!(decode_tile(&bytes, 1).is_err());
        assert!(decode_tile(&bytes, 3).is_err());
        assert!(decode_tile(bytes.get(..63).unwrap(), 2).is_err());
        assert!(decode_tile(&[], 0).is_err());
        assert!(decode_tile(&vec![0; 32 * 257], 257).is_err());
    }

    fn fetch(
        tiles: &BTreeMap<(u32, u64, u64), Vec<Hash>>,
    ) -> impl Fn(u32, u64, u64) -> Option<Vec<Hash>> + '_ {
        |l, n, w| tiles.get(&(l, n, w)).cloned()
    }

    #[test]
    fn tiles_verify_and_faults_are_caught() {
        let t = tree(70_000);
        let mut tiles = tiles_of(&t);
        assert_eq!(verify_tiles(t.size(), &t.root(), fetch(&tiles)), Ok(()));
        // A flipped full tile leaves the root alone but not its parent entry.
        tiles.get_mut(&(0, 3, 256)).unwrap()[17].0[0] ^= 1;
        assert_eq!(root_from_tiles(t.size(), fetch(&tiles)), Ok(t.root()));
        assert!(matches!(
            verify_tiles(t.size(), &t.root(), fetch(&tiles)),
            Err(TileError::ParentMismatch {
                level: 0,
                index: 3,
                ..
            })
        ));
        let mut tiles = tiles_of(&t);
        tiles.get_mut(&(1, 1, 17)).unwrap()[0].0[0] ^= 1;
        assert!(matches!(
            verify_tiles(t.size(), &t.root(), fetch(&tiles)),
            Err(TileError::RootMismatch { .. })
        ));
        let mut tiles = tiles_of(&t);
        tiles.remove(&(2, 0, 1));
        assert_eq!(
            root_from_tiles(t.size(), fetch(&tiles)),
            Err(TileError::Missing {
                level: 2,
                index: 0,
                width: 1
            })
        );
        let mut tiles = tiles_of(&t);
        tiles.get_mut(&(0, 273, 112)).unwrap().pop();
        assert!(matches!(
            root_from_tiles(t.size(), fetch(&tiles)),
            Err(TileError::WrongWidth { got: 111, .. })
        ));
        assert_eq!(
            root_from_tiles(0, |_, _, _| None),
            Ok(crate::hash::empty_root())
        );
    }

    #[test]
    fn proofs_from_tiles_match_the_tree() {
        let t = tree(1000);
        let tiles = tiles_of(&t);
        let nodes = TileNodes::new(t.size(), fetch(&tiles));
        for (index, size) in [(0, 1000), (999, 1000), (300, 700), (255, 256)] {
            assert_eq!(
                merkle::inclusion_proof(&nodes, index, size).unwrap(),
                merkle::inclusion_proof(&t, index, size).unwrap()
            );
        }
        assert_eq!(
            merkle::consistency_proof(&nodes, 300, 1000).unwrap(),
            merkle::consistency_proof(&t, 300, 1000).unwrap()
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn root_from_tiles_is_the_tree_root(size in 0u64..140_000) {
            let t = tree(size);
            let tiles = tiles_of(&t);
            prop_assert_eq!(root_from_tiles(size, fetch(&tiles)), Ok(t.root()));
            prop_assert_eq!(check_full_tiles(size, fetch(&tiles)), Ok(()));
        }

        #[test]
        fn tiles_added_is_the_difference(old in 0u64..200_000, grow in 0u64..70_000) {
            let new = old + grow;
            let before: std::collections::BTreeSet<_> = tiles_for(old).into_iter().collect();
            let expected: Vec<_> =
                tiles_for(new).into_iter().filter(|t| !before.contains(t)).collect();
            prop_assert_eq!(tiles_added(old, new), expected);
        }

        #[test]
        fn tile_keys_round_trip(level in 0u32..=7, index in any::<u64>(), width in 1u64..=256) {
            let index = index.checked_shr(TILE_HEIGHT * (level + 1)).unwrap_or(0);
            for version in LayoutVersion::READ {
                let key = tile_key_at(version, "t", "a", level, index, width);
                let expected = Some(("t".into(), "a".into(), level, index, width));
                prop_assert_eq!(parse_tile_key(&key), expected);
                prop_assert_eq!(key_version(&key), Some(version));
            }
            prop_assert_eq!(
                tile_key("t", "a", level, index, width),
                tile_key_at(LayoutVersion::V2, "t", "a", level, index, width)
            );
        }

        #[test]
        fn months_round_trip(ms in any::<u64>()) {
            let m = RetentionMonth::of(Some(ms));
            prop_assert_eq!(m.to_string().parse::<RetentionMonth>(), Ok(m));
            // Monotone: a later time is never in an earlier month.
            prop_assert!(RetentionMonth::of(Some(ms.saturating_add(86_400_000))) >= m);
        }

        #[test]
        fn segment_keys_round_trip(
            first in any::<u64>(),
            len in 1u64..1000,
            ms in proptest::option::of(any::<u64>()),
        ) {
            let end = first.saturating_add(len);
            prop_assume!(first < end);
            let m = RetentionMonth::of(ms);
            let key = segment_key("acme", "x", m, first, end);
            let parsed = parse_segment_key(&key);
            prop_assert_eq!(parsed.as_ref().map(|k| k.to_string()), Some(key));
            let moved = SegmentKey {
                version: LayoutVersion::V2,
                tenant: "acme".into(),
                archive: "x".into(),
                month: m,
                first,
                end,
                rewrite: None,
            };
            prop_assert_eq!(parsed, Some(moved.clone()));
            // The same segment under v1, as written before the upgrade.
            let old = SegmentKey { version: LayoutVersion::V1, ..moved.clone() };
            prop_assert_eq!(parse_segment_key(&old.to_string()), Some(old));
        }

        #[test]
        fn rewritten_segment_keys_round_trip(
            first in any::<u64>(),
            len in 1u64..1000,
            ms in proptest::option::of(any::<u64>()),
            rewrite in 1u64..,
        ) {
            let end = first.saturating_add(len);
            prop_assume!(first < end);
            let m = RetentionMonth::of(ms);
            let key = rewritten_segment_key("acme", "x", m, first, end, rewrite);
            let expected = SegmentKey {
                version: LayoutVersion::V2,
                tenant: "acme".into(),
                archive: "x".into(),
                month: m,
                first,
                end,
                rewrite: Some(rewrite),
            };
            prop_assert_eq!(parse_segment_key(&key), Some(expected.clone()));
            // The rewrite part is refused under v1.
            let v1 = SegmentKey { version: LayoutVersion::V1, ..expected };
            prop_assert_eq!(v1.to_string().parse::<SegmentKey>(), Err(KeyError::RewriteInV1));
        }
    }
}
