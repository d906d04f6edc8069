//! The report of a verification: named checks with verdicts, and outcome categories.

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// Could not be checked (input absent, or content withheld); not a failure.
    Skip,
}

/// The category a failure falls in; conformance vectors name these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    DecodeError,
    BadDigest,
    BadSignature,
    BadOrigin,
    BadProof,
    BadLink,
    BadReceipt,
    /// A validly proven package that is not a well-formed disposition, or a certificate whose
    /// parts do not fit together (formats/disposition.md §5); in a bundle, a disposition that
    /// does not concern its entry.
    BadDisposition,
    /// The trusted key is not among a bundle's keys, or not valid when it signed
    /// (formats/bundle.md §6).
    BadKey,
    /// Validly signed and proven parts of a bundle that do not fit together: another entry,
    /// another agreement, an absent package without a disposition (formats/bundle.md §6).
    BadBundle,
    /// A bundle's stored report differs from the one its contents give (formats/bundle.md §5).
    BadReport,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::DecodeError => "decode-error",
            Outcome::BadDigest => "bad-digest",
            Outcome::BadSignature => "bad-signature",
            Outcome::BadOrigin => "bad-origin",
            Outcome::BadProof => "bad-proof",
            Outcome::BadLink => "bad-link",
            Outcome::BadReceipt => "bad-receipt",
            Outcome::BadDisposition => "bad-disposition",
            Outcome::BadKey => "bad-key",
            Outcome::BadBundle => "bad-bundle",
            Outcome::BadReport => "bad-report",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        [
            Outcome::Ok,
            Outcome::DecodeError,
            Outcome::BadDigest,
            Outcome::BadSignature,
            Outcome::BadOrigin,
            Outcome::BadProof,
            Outcome::BadLink,
            Outcome::BadReceipt,
            Outcome::BadDisposition,
            Outcome::BadKey,
            Outcome::BadBundle,
            Outcome::BadReport,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Stable dotted name, e.g. `proof.inclusion`.
    pub name: String,
    pub verdict: Verdict,
    /// What was found, or why it failed.
    pub detail: String,
    /// Category if this check failed.
    pub outcome: Outcome,
}

/// All checks of one verification, in the order they ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub(super) fn pass(&mut self, name: impl Into<String>, detail: impl Into<String>) {
        self.push(name, Verdict::Pass, detail, Outcome::Ok);
    }

    pub(super) fn fail(
        &mut self,
        name: impl Into<String>,
        outcome: Outcome,
        detail: impl Into<String>,
    ) {
        self.push(name, Verdict::Fail, detail, outcome);
    }

    pub(super) fn skip(&mut self, name: impl Into<String>, detail: impl Into<String>) {
        self.push(name, Verdict::Skip, detail, Outcome::Ok);
    }

    pub(super) fn push(
        &mut self,
        name: impl Into<String>,
        verdict: Verdict,
        detail: impl Into<String>,
        outcome: Outcome,
    ) {
        self.checks.push(Check {
            name: name.into(),
            verdict,
            detail: detail.into(),
            outcome,
        });
    }

    /// The first failed check, if any.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| c.verdict == Verdict::Fail)
    }

    pub fn outcome(&self) -> Outcome {
        self.first_failure().map_or(Outcome::Ok, |c| c.outcome)
    }

    pub fn passed(&self) -> bool {
        self.first_failure().is_none()
    }
}
