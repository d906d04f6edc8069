//! One group commit, from the queue to the committer: admit the group (wait for the groups in
//! flight it depends on), integrate its jobs (each all or nothing), sign one receipt head,
//! make every receipt, and hand the batch to the committer, which answers once it is durable.

use zegel_format::receipt::SignedHead;

use crate::archive::state::encode_signed_head;
use crate::store::{self, cf};

use super::commit::{CommitJob, not_reloaded};
use super::integrate::{Draft, InGroup, Pending};
use super::receipt::{Overlay, PeakNodes};
use super::{ExtraPuts, GroupJob, Reply, Sealed, Sequencer, SequencerError, Submission};

/// The outcome of each job of a group, in the group's order.
type JobResults = Vec<Result<Vec<Pending>, SequencerError>>;

impl Sequencer {
    pub(super) fn commit_group(&mut self, group: Vec<GroupJob>) {
        if !self.admit(&group) {
            for (_, _, reply) in group {
                let _ = reply.send(Err(not_reloaded()));
            }
            return;
        }
        let saved = self.snapshot();
        let size_before = saved.state.size;
        let peaks_before = PeakNodes::of(&self.frontier);
        let mut draft = Draft::default();
        let results: JobResults = group
            .iter()
            .map(|(subs, extra, _)| self.integrate_job(subs, extra, &mut draft))
            .collect();
        // Nothing new (all duplicates or refused): no head to sign, nothing to commit, and
        // every answer rests on committed packages only.
        let head = if self.frontier.size() > size_before {
            match self.sign_group(&mut draft) {
                Ok(head) => Some(head),
                Err(e) => {
                    self.restore(saved);
                    for (_, _, reply) in group {
                        let _ = reply.send(Err(e.clone()));
                    }
                    return;
                }
            }
        } else {
            None
        };
        // Receipts need only this group's nodes and the peaks before it, so they are made
        // now; the committer hands them out once the batch is durable.
        let nodes = Overlay {
            new: &draft.nodes,
            peaks: &peaks_before,
        };
        let answers = self.answers(group, results, head.as_ref(), &nodes);
        let Some(head) = head else {
            for (reply, answer) in answers {
                let _ = reply.send(answer);
            }
            return;
        };
        let job = CommitJob {
            epoch: self.epoch,
            batch: draft.batch,
            sealed: head.head.size - size_before,
            answers,
        };
        self.hand_off(job, draft.keys.into_keys().collect());
    }

    /// Takes in the confirmations that arrived, and waits for every group in flight when
    /// this group names a record key of one (versions and duplicates are decided against the
    /// committed store) or a commit failed. False when the state could not be reloaded.
    fn admit(&mut self, group: &[GroupJob]) -> bool {
        self.poll_done();
        let hazard = group.iter().any(|(subs, _, _)| {
            subs.iter().any(|s| {
                s.record_key
                    .as_ref()
                    .is_some_and(|k| self.uncommitted.contains_key(k))
            })
        });
        if hazard || self.failed {
            self.drain();
        }
        !self.failed
    }

    /// Integrates one job, all or nothing: on its first refused submission the state, the
    /// batch and the group's keys are as they were before the job. The job's extra puts go
    /// into the batch only when it is sealed.
    fn integrate_job(
        &mut self,
        subs: &[Submission],
        extra: &ExtraPuts,
        draft: &mut Draft,
    ) -> Result<Vec<Pending>, SequencerError> {
        let saved = self.snapshot();
        let batch_len = draft.batch.len();
        let keys_before: Vec<(String, Option<InGroup>)> = subs
            .iter()
            .filter_map(|s| s.record_key.as_ref())
            .map(|k| (k.clone(), draft.keys.get(k).copied()))
            .collect();
        let integrated: Result<Vec<Pending>, SequencerError> =
            subs.iter().map(|sub| self.integrate(sub, draft)).collect();
        match integrated {
            Ok(pending) => {
                for (name, k, v) in extra {
                    draft.batch.put(name, k, v);
                }
                Ok(pending)
            }
            Err(e) => {
                self.restore(saved);
                draft.batch.truncate(batch_len);
                // Undo the job's keys, last first (a key may repeat within a job).
                for (k, old) in keys_before.into_iter().rev() {
                    match old {
                        Some(v) => {
                            draft.keys.insert(k, v);
                        }
                        None => {
                            draft.keys.remove(&k);
                        }
                    }
                }
                Err(e)
            }
        }
    }

    /// Signs the head of the grown tree and puts it, with the sequenced state, in the batch.
    fn sign_group(&mut self, draft: &mut Draft) -> Result<SignedHead, SequencerError> {
        let head = self.sign_head()?;
        draft.batch.put(
            cf::HEADS,
            &store::size_key(self.id, head.head.size),
            &encode_signed_head(&head),
        );
        self.state
            .put(&mut draft.batch, self.id)
            .map_err(super::hot::store_err)?;
        Ok(head)
    }

    /// Each job's answer: its receipts under `head`, or why it was refused.
    fn answers(
        &self,
        group: Vec<GroupJob>,
        results: JobResults,
        head: Option<&SignedHead>,
        nodes: &Overlay<'_>,
    ) -> Vec<(Reply, Result<Vec<Sealed>, SequencerError>)> {
        group
            .into_iter()
            .zip(results)
            .map(|((_, _, reply), result)| {
                let answer = result.and_then(|pending| {
                    pending
                        .into_iter()
                        .map(|p| self.receipt_for(p, head, nodes))
                        .collect()
                });
                (reply, answer)
            })
            .collect()
    }
}
