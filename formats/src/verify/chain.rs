//! `verify_chain`: the hash chain over consecutive sealed packages of one log.

use crate::header::PackageHeader;
use crate::sealed::{self};

use super::report::{Outcome, Report};

/// Verifies the hash chain over consecutive sealed packages of one log: each names the leaf
/// hash of the one before, sequence numbers follow, times never go back.
pub fn verify_chain(sealed_packages: &[&[u8]]) -> Report {
    let mut r = Report::default();
    let mut prev: Option<(PackageHeader, crate::hash::Hash)> = None;
    for (i, bytes) in sealed_packages.iter().enumerate() {
        let p = match sealed::open(bytes) {
            Ok(p) => p,
            Err(e) => {
                r.fail(
                    format!("package.{i}.decode"),
                    Outcome::DecodeError,
                    e.to_string(),
                );
                return r;
            }
        };
        let leaf = p.leaf_hash();
        if let Some((ph, pleaf)) = &prev {
            let h = &p.header;
            let problem = if (h.tenant.as_str(), h.archive.as_str())
                != (ph.tenant.as_str(), ph.archive.as_str())
            {
                Some(format!(
                    "{}/{} follows {}/{}",
                    h.tenant, h.archive, ph.tenant, ph.archive
                ))
            } else if h.seq != ph.seq + 1 {
                Some(format!("seq {} follows seq {}", h.seq, ph.seq))
            } else if h.prev != Some(*pleaf) {
                Some(format!(
                    "prev is {}, but the leaf hash of seq {} is {pleaf}",
                    h.prev.map_or("null".into(), |x| x.to_hex()),
                    ph.seq
                ))
            } else if h.time_ms < ph.time_ms {
                Some(format!(
                    "time {} ms is before the previous {} ms",
                    h.time_ms, ph.time_ms
                ))
            } else {
                None
            };
            match problem {
                Some(m) => {
                    r.fail(format!("chain.{}", h.seq), Outcome::BadLink, m);
                    return r;
                }
                None => r.pass(
                    format!("chain.{}", h.seq),
                    format!("links to seq {}", ph.seq),
                ),
            }
        }
        prev = Some((p.header, leaf));
    }
    r
}
