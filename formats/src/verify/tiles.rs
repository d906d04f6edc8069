//! `verify_tiles`: a bucket's hash tiles against a signed checkpoint copy
//! (formats/cold-layout.md §7).

use std::collections::BTreeMap;

use crate::checkpoint::{self};
use crate::hash::Hash;
use crate::layout::{self, LayoutVersion};
use crate::limits::MISSING_TILES_NAMED_MAX;
use crate::note::VerifierKey;

use super::parts::check_checkpoint;
use super::report::{Outcome, Report};

/// Inputs of a tile verification (formats/cold-layout.md §7): a checkpoint copy and the tile
/// objects of a bucket, by key.
#[derive(Debug, Clone, Copy)]
pub struct TileInputs<'a> {
    pub checkpoint_key: &'a str,
    pub checkpoint: &'a [u8],
    /// Tile objects by key; objects not needed for the checkpoint's size (older partial
    /// tiles, tiles under the other layout version) may be present and are not read.
    pub tiles: &'a BTreeMap<String, Vec<u8>>,
    pub key: &'a VerifierKey,
}

/// Verifies, from a bucket alone, that its tiles hold the tree of a signed checkpoint: the
/// checkpoint under its key (v1 or v2), every tile the size needs present under that same
/// version and well-formed, the root they give, and every full tile tied to its entry one
/// level up.
pub fn verify_tiles(inputs: TileInputs<'_>) -> Report {
    let mut r = Report::default();
    let parsed = layout::parse_checkpoint_key(inputs.checkpoint_key)
        .zip(layout::key_version(inputs.checkpoint_key));
    let Some(((tenant, archive, size), version)) = parsed else {
        r.fail(
            "checkpoint.key",
            Outcome::DecodeError,
            format!(
                "{:?} is not a checkpoint key of layout v1 or v2",
                inputs.checkpoint_key
            ),
        );
        return r;
    };
    r.pass(
        "checkpoint.key",
        format!("{version} {tenant}/{archive}, size {size}"),
    );
    let origin = checkpoint::origin(inputs.key.name(), &tenant, &archive);
    let Some(cp) = check_checkpoint(&mut r, "checkpoint", inputs.checkpoint, inputs.key, &origin)
    else {
        return r;
    };
    if cp.size != size {
        r.fail(
            "checkpoint.size",
            Outcome::DecodeError,
            format!("the key names size {size}, the checkpoint has {}", cp.size),
        );
        return r;
    }
    r.pass("checkpoint.size", format!("{size}"));
    let archive_tiles = ArchiveTiles {
        tenant: &tenant,
        archive: &archive,
        version,
    };
    let Some(by_coordinates) = archive_tiles.by_coordinates(&mut r, inputs.tiles) else {
        return r;
    };
    let needed = layout::tiles_for(size);
    if !archive_tiles.check_present(&mut r, &by_coordinates, &needed, size) {
        return r;
    }
    let Some(decoded) = archive_tiles.decode(&mut r, &by_coordinates, &needed) else {
        return r;
    };
    let fetch = |l: u32, n: u64, w: u64| decoded.get(&(l, n, w)).cloned();
    match layout::root_from_tiles(size, fetch) {
        Ok(root) if root == cp.root => r.pass("tiles.root", format!("root {root}")),
        Ok(root) => {
            r.fail(
                "tiles.root",
                Outcome::BadProof,
                format!("the tiles give root {root}, the checkpoint {}", cp.root),
            );
            return r;
        }
        Err(e) => {
            r.fail("tiles.root", Outcome::BadProof, e.to_string());
            return r;
        }
    }
    match layout::check_full_tiles(size, fetch) {
        Ok(()) => r.pass(
            "tiles.parents",
            "every full tile hashes to its entry one level up",
        ),
        Err(e) => r.fail("tiles.parents", Outcome::BadProof, e.to_string()),
    }
    r
}

/// Coordinates of a tile: level, index and width.
type Coordinates = (u32, u64, u64);

/// The archive and layout version whose tiles a checkpoint copy names.
struct ArchiveTiles<'k> {
    tenant: &'k str,
    archive: &'k str,
    version: LayoutVersion,
}

impl ArchiveTiles<'_> {
    /// `tiles.keys`, its first part: every object is a tile key of the archive. Returns the
    /// tiles under the archive's version by coordinates, or `None` when a key is refused.
    fn by_coordinates<'t>(
        &self,
        r: &mut Report,
        tiles: &'t BTreeMap<String, Vec<u8>>,
    ) -> Option<BTreeMap<Coordinates, &'t [u8]>> {
        let (tenant, archive) = (self.tenant, self.archive);
        // Only tiles under the checkpoint's own version are read (formats/cold-layout.md §7
        // step 2): a v2 writer puts the whole tile set of its tree under v2/.
        let mut by_coordinates: BTreeMap<Coordinates, &[u8]> = BTreeMap::new();
        for (key, bytes) in tiles {
            match layout::parse_tile_key(key) {
                Some((t, a, level, index, width))
                    if (t.as_str(), a.as_str()) == (tenant, archive) =>
                {
                    if layout::key_version(key) == Some(self.version) {
                        by_coordinates.insert((level, index, width), bytes);
                    }
                }
                _ => {
                    r.fail(
                        "tiles.keys",
                        Outcome::DecodeError,
                        format!("{key:?} is not a tile key of {tenant}/{archive}"),
                    );
                    return None;
                }
            }
        }
        Some(by_coordinates)
    }

    /// `tiles.keys`, its second part: every tile in `needed` is present. Returns whether
    /// all are.
    fn check_present(
        &self,
        r: &mut Report,
        by_coordinates: &BTreeMap<Coordinates, &[u8]>,
        needed: &[Coordinates],
        size: u64,
    ) -> bool {
        let missing: Vec<&Coordinates> = needed
            .iter()
            .filter(|c| !by_coordinates.contains_key(c))
            .collect();
        if !missing.is_empty() {
            // Name a few; a bucket missing all its tiles would otherwise make a huge report.
            let named: Vec<String> = missing
                .iter()
                .take(MISSING_TILES_NAMED_MAX)
                .map(|&&(l, n, w)| self.key_at(l, n, w))
                .collect();
            r.fail(
                "tiles.keys",
                Outcome::DecodeError,
                format!("{} tiles missing: {}", missing.len(), named.join(", ")),
            );
            return false;
        }
        r.pass(
            "tiles.keys",
            format!(
                "all {} tiles of size {size} are present under {}/",
                needed.len(),
                self.version
            ),
        );
        true
    }

    /// `tiles.decode`: every tile in `needed` decodes at its width. Returns
    /// the hashes by coordinates, or `None` at the first tile that does not decode.
    fn decode(
        &self,
        r: &mut Report,
        by_coordinates: &BTreeMap<Coordinates, &[u8]>,
        needed: &[Coordinates],
    ) -> Option<BTreeMap<Coordinates, Vec<Hash>>> {
        let mut decoded: BTreeMap<Coordinates, Vec<Hash>> = BTreeMap::new();
        for &(level, index, width) in needed {
            let bytes = by_coordinates
                .get(&(level, index, width))
                .copied()
                .unwrap_or_default();
            match layout::decode_tile(bytes, width) {
                Ok(hashes) => {
                    decoded.insert((level, index, width), hashes);
                }
                Err(e) => {
                    let key = self.key_at(level, index, width);
                    r.fail("tiles.decode", Outcome::DecodeError, format!("{key}: {e}"));
                    return None;
                }
            }
        }
        r.pass("tiles.decode", format!("{} tiles", decoded.len()));
        Some(decoded)
    }

    /// The key of the tile at these coordinates.
    fn key_at(&self, level: u32, index: u64, width: u64) -> String {
        layout::tile_key_at(self.version, self.tenant, self.archive, level, index, width)
    }
}
