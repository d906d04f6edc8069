//! `verify_segment`: a cold segment under its key (formats/cold-layout.md §7).

use crate::hash::{Hash, leaf_hash};
use crate::layout::{self, RetentionMonth};
use crate::segment::{self, ColdPackage, SegmentIndex};

use super::report::{Outcome, Report};

/// Inputs of a segment verification (formats/cold-layout.md §7): the object key and bytes as
/// read from the bucket, and where trusted leaf hashes come from.
#[derive(Clone, Copy)]
pub struct SegmentInputs<'a> {
    pub key: &'a str,
    pub segment: &'a [u8],
    /// The trusted leaf hash of a seq: the hot Merkle leaves, or level-0 tile entries checked
    /// against a signed checkpoint. `None` when the source does not hold that seq.
    pub leaf: &'a dyn Fn(u64) -> Option<Hash>,
    /// The exact header bytes each package must restore to, in index order; given by
    /// conformance vectors, `None` otherwise.
    pub expected_headers: Option<&'a [Vec<u8>]>,
}

impl std::fmt::Debug for SegmentInputs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SegmentInputs({}, {} bytes)",
            self.key,
            self.segment.len()
        )
    }
}

/// Verifies a cold segment under its key, v1 or v2: the key's grammar for its version (a
/// rewrite number only under v2), the segment's frame and index, that it sits under the right
/// archive, range and retention month, and that every package restores to the exact header
/// bytes of its trusted leaf. A bad package does not stop the others from being checked.
pub fn verify_segment(inputs: SegmentInputs<'_>) -> Report {
    let mut r = Report::default();
    let Some(key) = check_key(&mut r, inputs.key) else {
        return r;
    };
    let index = match segment::open_segment(inputs.segment) {
        Ok(index) => index,
        Err(e) => {
            r.fail("segment.decode", Outcome::DecodeError, e.to_string());
            return r;
        }
    };
    r.pass(
        "segment.decode",
        format!(
            "{} packages in {} block(s), trailer hash matches",
            index.packages.len(),
            index.blocks.len()
        ),
    );
    if !check_placement(&mut r, &index, &key) {
        return r;
    }
    check_packages(&mut r, inputs, &index, &key);
    r
}

/// `segment.key`: the object key parses as a segment key of layout v1 or v2.
fn check_key(r: &mut Report, text: &str) -> Option<layout::SegmentKey> {
    let key = match text.parse::<layout::SegmentKey>() {
        Ok(key) => key,
        Err(e) => {
            r.fail(
                "segment.key",
                Outcome::DecodeError,
                format!("{text:?} is not a segment key of layout v1 or v2: {e}"),
            );
            return None;
        }
    };
    let layout::SegmentKey {
        version,
        tenant,
        archive,
        month,
        first,
        end,
        rewrite,
    } = &key;
    let written_by = rewrite.map_or("a move".to_string(), |n| format!("rewrite {n}"));
    r.pass(
        "segment.key",
        format!(
            "{version} {tenant}/{archive}, retained until {month}, move [{first}, {end}), \
             written by {written_by}"
        ),
    );
    Some(key)
}

/// `segment.placement`: the index belongs under the key, with every seq in the key's move
/// range and, in a rewritten segment, at least one package. Returns whether it passed.
fn check_placement(r: &mut Report, index: &SegmentIndex, key: &layout::SegmentKey) -> bool {
    let layout::SegmentKey {
        tenant,
        archive,
        first,
        end,
        rewrite,
        ..
    } = key;
    if (index.tenant.as_str(), index.archive.as_str()) != (tenant.as_str(), archive.as_str()) {
        r.fail(
            "segment.placement",
            Outcome::DecodeError,
            format!(
                "the index names {}/{}, the key {tenant}/{archive}",
                index.tenant, index.archive
            ),
        );
        return false;
    }
    let outside: Vec<u64> = index
        .packages
        .iter()
        .map(|p| p.seq)
        .filter(|seq| !(*first..*end).contains(seq))
        .collect();
    if !outside.is_empty() {
        r.fail(
            "segment.placement",
            Outcome::DecodeError,
            format!("seqs {outside:?} are outside the move [{first}, {end})"),
        );
        return false;
    }
    // A rewrite keeps some packages (formats/cold-layout.md §3.1); one that would keep none
    // deletes the segment instead.
    if rewrite.is_some() && index.packages.is_empty() {
        r.fail(
            "segment.placement",
            Outcome::DecodeError,
            "a rewritten segment holds no package",
        );
        return false;
    }
    r.pass(
        "segment.placement",
        format!("index of {tenant}/{archive}, every seq in [{first}, {end})"),
    );
    true
}

/// `segment.<seq>` for every package of the index: restored with the trusted leaf before it,
/// it matches its trusted leaf (and the expected header bytes, when given) and belongs to the
/// key's archive and month.
fn check_packages(
    r: &mut Report,
    inputs: SegmentInputs<'_>,
    index: &SegmentIndex,
    key: &layout::SegmentKey,
) {
    // The inflated block of the last package; packages of one block are consecutive.
    let mut block: Option<(u64, Result<Vec<u8>, crate::DecodeError>)> = None;
    for (i, entry) in index.packages.iter().enumerate() {
        let name = format!("segment.{}", entry.seq);
        let prev = match entry.seq.checked_sub(1) {
            None => Some(None),
            Some(p) => (inputs.leaf)(p).map(Some),
        };
        let (Some(prev), Some(trusted)) = (prev, (inputs.leaf)(entry.seq)) else {
            r.skip(name, "no trusted leaf for this seq or the one before");
            continue;
        };
        if block.as_ref().is_none_or(|(n, _)| *n != entry.block) {
            let raw = segment::read_block(inputs.segment, index, entry.block as usize);
            block = Some((entry.block, raw));
        }
        let raw = match &block {
            Some((_, Ok(raw))) => raw,
            Some((_, Err(e))) => {
                r.fail(
                    name,
                    Outcome::DecodeError,
                    format!("block {}: {e}", entry.block),
                );
                continue;
            }
            None => continue, // just set above
        };
        let package = match segment::restore_package(raw, entry, prev) {
            Ok(p) => p,
            Err(e) => {
                r.fail(name, Outcome::DecodeError, e.to_string());
                continue;
            }
        };
        let expected = inputs.expected_headers.map(|h| h.get(i));
        check_restored(r, name, &package, trusted, expected, key);
    }
}

/// One restored package against its trusted leaf, the expected header bytes (`Some` when the
/// inputs give them, `Some(None)` when they give none for this package) and the key.
fn check_restored(
    r: &mut Report,
    name: String,
    package: &ColdPackage,
    trusted: Hash,
    expected: Option<Option<&Vec<u8>>>,
    key: &layout::SegmentKey,
) {
    let layout::SegmentKey {
        tenant,
        archive,
        month,
        ..
    } = key;
    let leaf = leaf_hash(&package.header_bytes);
    let h = &package.header;
    let found = RetentionMonth::of(h.retain_until_ms);
    if leaf != trusted {
        r.fail(
            name,
            Outcome::BadDigest,
            format!("the restored header hashes to leaf {leaf}, the trusted leaf is {trusted}"),
        );
    } else if expected.is_some_and(|e| e != Some(&package.header_bytes)) {
        r.fail(
            name,
            Outcome::BadDigest,
            "the restored header differs from the expected bytes",
        );
    } else if (h.tenant.as_str(), h.archive.as_str()) != (tenant.as_str(), archive.as_str())
        || found != *month
    {
        r.fail(
            name,
            Outcome::DecodeError,
            format!(
                "a package of {}/{} retained until {found}, in the segment of \
                 {tenant}/{archive} for {month}",
                h.tenant, h.archive
            ),
        );
    } else {
        r.pass(
            name,
            format!(
                "restored to leaf {leaf}: {} header bytes, {} objects",
                package.header_bytes.len(),
                package.objects.len()
            ),
        );
    }
}
