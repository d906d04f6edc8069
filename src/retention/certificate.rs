//! Certificates of destruction (formats/disposition.md §4): the sealed disposition package,
//! its proof and receipt, and one inclusion proof per disposed leaf, all under one signed
//! checkpoint, so a court checks the disposal offline with `zegel-verify certificate`.

use zegel_format::disposition::{Certificate, Disposition};
use zegel_format::header::Kind;

use crate::archive::archives::{ArchiveInfo, Archives};
use crate::archive::disposed;
use crate::error::Error;

/// The certificate of the disposition package at `seq`, under the newest checkpoint (one is
/// signed now if none covers the package yet).
pub async fn certificate(
    archives: &Archives,
    info: &ArchiveInfo,
    seq: u64,
) -> Result<Vec<u8>, Error> {
    let id = info.id;
    if disposed::summary(archives.store(), id, seq)?.is_none() {
        return Err(Error::NotFound(format!(
            "no disposition package at seq {seq} in {:?}",
            info.archive
        )));
    }
    let p = archives
        .header(id, seq)
        .await?
        .ok_or_else(|| Error::corrupt(format!("disposition package {seq} is missing")))?;
    if p.header.kind != Kind::Disposition {
        return Err(Error::corrupt(format!(
            "package {seq} is listed as a disposition but is a {}",
            p.header.kind.name()
        )));
    }
    let record = Disposition::decode(&archives.object(&p, 0).await?)
        .map_err(|e| Error::corrupt(format!("disposition record {seq}: {e}")))?;
    let covers = |n: u64| n > seq;
    if !archives
        .latest_checkpoint(id)?
        .is_some_and(|(n, _)| covers(n))
    {
        archives.checkpoint_now(info).await?;
    }
    let (size, checkpoint) = archives
        .latest_checkpoint(id)?
        .filter(|(n, _)| covers(*n))
        .ok_or_else(|| Error::corrupt("no checkpoint covers the disposition"))?;
    let (package, _) = archives
        .sealed_package(id, seq)
        .await?
        .ok_or_else(|| Error::corrupt(format!("disposition package {seq} is missing")))?;
    let disposed_proofs = record
        .packages
        .iter()
        .map(|d| Ok(archives.inclusion(id, d.seq, size)?.encode()))
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Certificate {
        package,
        proof: archives.inclusion(id, seq, size)?.encode(),
        checkpoint,
        receipt: archives.receipt(id, seq)?.encode(),
        disposed_proofs,
    }
    .encode())
}
