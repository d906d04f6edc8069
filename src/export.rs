//! Proof bundles (formats/bundle.md): everything a court needs to check one package offline,
//! in one file — the sealed package (or, redacted, its header with chosen objects), its
//! receipt and inclusion proof under the newest signed checkpoint, consistency from the
//! receipt's tree to that checkpoint, the node's public key with its validity, the agreement
//! version that validated it, the dispositions that name it, and an HTML report generated from
//! all of that.

use zegel_format::bundle::{AgreementEvidence, ArchiveKey, Bundle, DispositionEvidence, redact};
use zegel_format::receipt::Receipt;

use crate::archive::archives::{ArchiveInfo, Archives};
use crate::error::Error;

/// Which objects a bundle carries.
#[derive(Debug, Clone)]
pub enum Objects {
    /// Every object of the package.
    All,
    /// Only these (by name); the others are withheld, their digests stay in the header.
    Only(Vec<String>),
}

/// The bundle of the package at `seq`, encoded.
pub async fn bundle(
    archives: &Archives,
    info: &ArchiveInfo,
    seq: u64,
    objects: &Objects,
) -> Result<Vec<u8>, Error> {
    let id = info.id;
    if seq >= archives.size(info)? {
        return Err(Error::NotFound(format!(
            "no package {seq} in {:?}",
            info.archive
        )));
    }
    let (package, agreement_ref, disposed) = match archives.header(id, seq).await {
        Ok(Some(p)) => {
            let (sealed, _) = archives
                .sealed_package(id, seq)
                .await?
                .ok_or_else(|| Error::NotFound(format!("package {seq}")))?;
            let sealed = match objects {
                Objects::All => sealed,
                Objects::Only(names) => {
                    let has = |n: &String| p.header.objects.iter().any(|o| o.name == *n);
                    if let Some(missing) = names.iter().find(|n| !has(n)) {
                        let listed: Vec<&str> =
                            p.header.objects.iter().map(|o| o.name.as_str()).collect();
                        return Err(Error::BadRequest(format!(
                            "package {seq} has no object named {missing:?}; its objects: {}",
                            listed.join(", ")
                        )));
                    }
                    redact(&sealed, |_, o| names.contains(&o.name))
                        .map_err(|e| Error::corrupt(format!("package {seq}: {e}")))?
                }
            };
            (Some(sealed), p.header.agreement, None)
        }
        Ok(None) => {
            return Err(Error::NotFound(format!("no package {seq}")));
        }
        Err(Error::Gone { disposition, .. }) => (None, None, Some(disposition)),
        Err(e) => return Err(e),
    };
    // The newest checkpoint, signed now if none covers the package, its disposition and
    // its receipt's tree (consistency runs from that tree to the checkpoint).
    let receipt = archives.receipt(id, seq)?;
    let receipt_size = receipt.signed.head.size;
    let needed = (disposed.unwrap_or(seq) + 1).max(receipt_size);
    if archives
        .latest_checkpoint(id)?
        .is_none_or(|(n, _)| n < needed)
    {
        archives.checkpoint_now(info).await?;
    }
    let (size, checkpoint) = archives
        .latest_checkpoint(id)?
        .filter(|(n, _)| *n >= needed)
        .ok_or_else(|| Error::corrupt("no checkpoint covers the package"))?;
    let consistency = archives.consistency(id, receipt_size, size)?.encode();
    let agreement = match agreement_ref {
        Some(a) => Some(AgreementEvidence {
            package: sealed_of(archives, id, a.seq).await?,
            proof: archives.inclusion(id, a.seq, size)?.encode(),
        }),
        None => None,
    };
    let dispositions = match disposed {
        Some(d) => vec![DispositionEvidence {
            package: sealed_of(archives, id, d).await?,
            proof: archives.inclusion(id, d, size)?.encode(),
            receipt: archives.receipt(id, d)?.encode(),
        }],
        None => Vec::new(),
    };
    let b = Bundle {
        tenant: info.tenant.clone(),
        archive: info.archive.clone(),
        seq,
        package,
        receipt: Receipt::encode(&receipt),
        proof: archives.inclusion(id, seq, size)?.encode(),
        checkpoints: vec![checkpoint],
        consistency: vec![consistency],
        keys: vec![ArchiveKey {
            key: archives.signing_key().verifier(),
            valid_from_ms: None,
            valid_until_ms: None,
        }],
        agreement,
        dispositions,
        report: String::new(),
    }
    .with_report();
    b.validate()
        .map_err(|e| Error::corrupt(format!("the bundle of {seq} is invalid: {e}")))?;
    Ok(b.encode())
}

async fn sealed_of(archives: &Archives, id: u64, seq: u64) -> Result<Vec<u8>, Error> {
    Ok(archives
        .sealed_package(id, seq)
        .await?
        .ok_or_else(|| Error::corrupt(format!("package {seq} is missing")))?
        .0)
}
