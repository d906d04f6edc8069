//! `verify_certificate`: a certificate of destruction (formats/disposition.md §5).

use crate::checkpoint::{self, Checkpoint};
use crate::disposition::{
    Cause, Certificate, DISPOSITION_MEDIA_TYPE, DISPOSITION_OBJECT_NAME, Disposition,
};
use crate::header::Kind;
use crate::limits::DISPOSED_SEQS_NAMED_MAX;
use crate::note::VerifierKey;
use crate::proof::InclusionProof;
use crate::sealed::{self, OpenedPackage};

use super::package::{PackageInputs, verify_package};
use super::report::{Outcome, Report};

/// Inputs of a certificate verification: the `.zcert` bytes and the trusted key.
#[derive(Debug, Clone, Copy)]
pub struct CertificateInputs<'a> {
    pub certificate: &'a [u8],
    pub key: &'a VerifierKey,
}

/// Verifies a certificate of destruction (formats/disposition.md §5): the disposition package
/// as [`verify_package`] does with all its inputs, then that it is a well-formed disposition,
/// then that every disposed leaf is still in the log under the same checkpoint. One bad
/// disposed proof does not stop the others from being checked.
pub fn verify_certificate(inputs: CertificateInputs<'_>) -> Report {
    let mut r = Report::default();
    let cert = match Certificate::decode(inputs.certificate) {
        Ok(c) => c,
        Err(e) => {
            r.fail("certificate.decode", Outcome::DecodeError, e.to_string());
            return r;
        }
    };
    r.pass(
        "certificate.decode",
        format!(
            "certificate of {} disposed package(s), {} bytes",
            cert.disposed_proofs.len(),
            inputs.certificate.len()
        ),
    );
    let package_report = verify_package(PackageInputs {
        sealed: &cert.package,
        proof: Some(&cert.proof),
        checkpoint: Some(cert.checkpoint.as_bytes()),
        receipt: Some(&cert.receipt),
        key: inputs.key,
    });
    let package_ok = package_report.passed();
    r.checks.extend(package_report.checks);
    if !package_ok {
        return r;
    }
    // Both opened without error inside verify_package just now; read again for their values.
    let (Ok(package), Ok(cp)) = (
        sealed::open(&cert.package),
        checkpoint::open(cert.checkpoint.as_bytes(), inputs.key),
    ) else {
        r.fail(
            "certificate.kind",
            Outcome::DecodeError,
            "the package or checkpoint no longer opens",
        );
        return r;
    };
    let Some(record) = check_disposition_kind(&mut r, &package) else {
        return r;
    };
    let disposition = match Disposition::decode(record) {
        Ok(d) => d,
        Err(e) => {
            r.fail("disposition.decode", Outcome::DecodeError, e.to_string());
            return r;
        }
    };
    r.pass(
        "disposition.decode",
        format!(
            "{} of {} package(s) decided at {} ms, basis {:?}",
            disposition.cause.name(),
            disposition.packages.len(),
            disposition.decided_ms,
            disposition.basis
        ),
    );
    match disposition.check_authorization() {
        Ok(()) => r.pass(
            "disposition.authorization",
            match (disposition.cause, disposition.authorized_by.as_slice()) {
                (Cause::Erasure, [requester, approver]) => {
                    format!("erasure requested by {requester:?}, approved by {approver:?}")
                }
                (_, keys) => format!("authorized by {keys:?}"),
            },
        ),
        Err(e) => {
            r.fail(
                "disposition.authorization",
                Outcome::BadDisposition,
                e.to_string(),
            );
            return r;
        }
    }
    if !check_disposed_packages(&mut r, &disposition, &cert, package.header.seq) {
        return r;
    }
    for (disposed, bytes) in disposition.packages.iter().zip(&cert.disposed_proofs) {
        check_disposed_proof(&mut r, disposed, bytes, &cp);
    }
    r
}

/// The package is a disposition whose one object is the record; returns the record's bytes.
fn check_disposition_kind<'p>(r: &mut Report, package: &'p OpenedPackage) -> Option<&'p [u8]> {
    let h = &package.header;
    let problem = if h.kind != Kind::Disposition {
        Some(format!(
            "the package is a {} package, not a disposition",
            h.kind.name()
        ))
    } else {
        match (h.objects.as_slice(), package.objects.as_slice()) {
            ([meta], [Some(bytes)])
                if meta.name == DISPOSITION_OBJECT_NAME
                    && meta.media_type == DISPOSITION_MEDIA_TYPE =>
            {
                r.pass(
                    "certificate.kind",
                    format!(
                        "disposition package at seq {} of {}/{}",
                        h.seq, h.tenant, h.archive
                    ),
                );
                return Some(bytes);
            }
            ([_], [None]) => Some("the disposition record is withheld".to_string()),
            _ => Some(format!(
                "a disposition package holds exactly one object {DISPOSITION_OBJECT_NAME:?} of type {DISPOSITION_MEDIA_TYPE}"
            )),
        }
    };
    r.fail(
        "certificate.kind",
        Outcome::BadDisposition,
        problem.unwrap_or_default(),
    );
    None
}

/// One proof per disposed package, every disposed seq before the disposition's own.
fn check_disposed_packages(
    r: &mut Report,
    disposition: &Disposition,
    cert: &Certificate,
    own_seq: u64,
) -> bool {
    let seqs: Vec<u64> = disposition.packages.iter().map(|p| p.seq).collect();
    let problem = if seqs.len() != cert.disposed_proofs.len() {
        Some(format!(
            "the record names {} packages, the certificate holds {} proofs",
            seqs.len(),
            cert.disposed_proofs.len()
        ))
    } else {
        seqs.iter()
            .find(|&&s| s >= own_seq)
            .map(|s| format!("seq {s} is not before the disposition package's own seq {own_seq}"))
    };
    if let Some(p) = problem {
        r.fail("disposition.packages", Outcome::BadDisposition, p);
        return false;
    }
    let named: Vec<String> = seqs
        .iter()
        .take(DISPOSED_SEQS_NAMED_MAX)
        .map(u64::to_string)
        .collect();
    let more = seqs.len().saturating_sub(DISPOSED_SEQS_NAMED_MAX);
    r.pass(
        "disposition.packages",
        format!(
            "{} package(s) disposed, all before seq {own_seq}: seqs {}{}",
            seqs.len(),
            named.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ),
    );
    true
}

/// A disposed leaf is still leaf `seq` of the tree under the certificate's checkpoint.
fn check_disposed_proof(
    r: &mut Report,
    disposed: &crate::disposition::DisposedPackage,
    bytes: &[u8],
    cp: &Checkpoint,
) {
    let name = format!("disposed.{}", disposed.seq);
    let proof = match InclusionProof::decode(bytes) {
        Ok(p) => p,
        Err(e) => {
            r.fail(name, Outcome::DecodeError, e.to_string());
            return;
        }
    };
    if proof.index != disposed.seq || proof.size != cp.size {
        r.fail(
            name,
            Outcome::BadProof,
            format!(
                "proof is for leaf {} in a tree of {}, but the disposed package is leaf {} and the checkpoint has {}",
                proof.index, proof.size, disposed.seq, cp.size
            ),
        );
        return;
    }
    match proof.verify(&disposed.leaf, &cp.root) {
        Ok(()) => r.pass(
            name,
            format!("leaf {} is still in the tree of {}", disposed.leaf, cp.size),
        ),
        Err(e) => r.fail(name, Outcome::BadProof, e.to_string()),
    }
}
