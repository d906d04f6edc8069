//! The commit stage: the committer thread writes each sealed group's batch (synced) in the
//! order the groups were sealed, and answers a group's jobs only once its batch is durable.
//! The sequencer counts the groups in flight, takes the committer's confirmations in order,
//! and reloads its state from the store after a failed commit.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};

use crate::archive::state::ArchiveState;
use crate::store::{Batch, Store};

use super::{Reply, Sealed, Sequencer, SequencerError, log_end};

/// One sealed group for the committer.
pub(super) struct CommitJob {
    pub(super) epoch: u64,
    pub(super) batch: Batch,
    /// Packages the group added to the log.
    pub(super) sealed: u64,
    pub(super) answers: Vec<(Reply, Result<Vec<Sealed>, SequencerError>)>,
}

/// The committer's word on a group.
pub(super) enum Done {
    Committed,
    Failed,
}

/// Writes sealed groups in order; answers a group's jobs only once its batch is durable. After
/// a failure, every later group of the same epoch fails too: it was sealed on top.
pub(super) fn committer(store: Arc<Store>, jobs: Receiver<CommitJob>, done: Sender<Done>) {
    let mut failed_epoch: Option<u64> = None;
    for job in jobs {
        let outcome = if failed_epoch == Some(job.epoch) {
            Err(SequencerError::Store(
                "an earlier group this one was sealed on failed to commit".into(),
            ))
        } else {
            let started = std::time::Instant::now();
            let r = store
                .commit(job.batch)
                .map_err(|e| SequencerError::Store(e.to_string()));
            metrics::histogram!("zegel_group_commit_seconds")
                .record(started.elapsed().as_secs_f64());
            r
        };
        match outcome {
            Ok(()) => {
                metrics::counter!("zegel_packages_sealed_total").increment(job.sealed);
                metrics::histogram!("zegel_group_commit_packages").record(job.sealed as f64);
                for (reply, answer) in job.answers {
                    let _ = reply.send(answer);
                }
                let _ = done.send(Done::Committed);
            }
            Err(e) => {
                if failed_epoch != Some(job.epoch) {
                    metrics::counter!("zegel_commit_failures_total").increment(1);
                }
                failed_epoch = Some(job.epoch);
                fail_answers(job.answers, &e);
                let _ = done.send(Done::Failed);
            }
        }
    }
}

/// Answers the jobs of a group whose commit failed: each gets the commit's error, except a job
/// refused on its own, which keeps its reason.
fn fail_answers(answers: Vec<(Reply, Result<Vec<Sealed>, SequencerError>)>, e: &SequencerError) {
    for (reply, answer) in answers {
        let _ = reply.send(match answer {
            Err(refused @ (SequencerError::Invalid(_) | SequencerError::Internal(_))) => {
                Err(refused)
            }
            _ => Err(e.clone()),
        });
    }
}

impl Sequencer {
    /// Hands a sealed group to the committer; `keys` are the record keys it sealed, in flight
    /// until its confirmation. If the committer is gone, the group's jobs are answered
    /// `Stopped` and the state is reloaded.
    pub(super) fn hand_off(&mut self, job: CommitJob, keys: Vec<String>) {
        for k in &keys {
            *self.uncommitted.entry(k.clone()).or_default() += 1;
        }
        self.in_flight_keys.push_back(keys);
        let sent = match &self.commits {
            Some(c) => c.send(job).map_err(|e| e.0),
            None => Err(job),
        };
        match sent {
            Ok(()) => self.in_flight += 1,
            Err(job) => {
                for (reply, _) in job.answers {
                    let _ = reply.send(Err(SequencerError::Stopped));
                }
                self.failed = true;
                self.drain();
            }
        }
    }

    /// Takes the committer's confirmations that have arrived, without waiting.
    pub(super) fn poll_done(&mut self) {
        while let Ok(d) = self.done.try_recv() {
            self.absorb(d);
        }
        if self.in_flight == 0 {
            self.settle();
        }
    }

    /// Waits until every group sent to the committer is confirmed (or failed).
    pub(super) fn drain(&mut self) {
        while self.in_flight > 0 {
            match self.done.recv() {
                Ok(d) => self.absorb(d),
                Err(_) => {
                    // The committer is gone: nothing in flight can be confirmed any more.
                    self.in_flight = 0;
                    self.failed = true;
                }
            }
        }
        self.settle();
    }

    fn absorb(&mut self, d: Done) {
        self.in_flight = self.in_flight.saturating_sub(1);
        // The oldest group is confirmed (or failed): its keys are no longer in flight.
        for k in self.in_flight_keys.pop_front().unwrap_or_default() {
            if let Some(n) = self.uncommitted.get_mut(&k) {
                *n -= 1;
                if *n == 0 {
                    self.uncommitted.remove(&k);
                }
            }
        }
        if let Done::Failed = d {
            self.failed = true;
        }
    }

    /// Every group confirmed and the state reloaded after any failure, or why not.
    pub(super) fn settled(&mut self) -> Result<(), SequencerError> {
        self.drain();
        if self.failed {
            return Err(not_reloaded());
        }
        Ok(())
    }

    /// With nothing in flight: forget the unconfirmed keys and, after a failed commit, reload
    /// the state from the store (what was sealed on top of the failure was never answered).
    fn settle(&mut self) {
        self.uncommitted.clear();
        self.in_flight_keys.clear();
        if !self.failed {
            return;
        }
        let reloaded = ArchiveState::load(&self.store, self.id).and_then(|state| {
            let (frontier, prev) = log_end(&self.store, self.id, state.size)?;
            Ok((state, frontier, prev))
        });
        match reloaded {
            Ok((state, frontier, prev)) => {
                (self.state, self.frontier, self.prev) = (state, frontier, prev);
                self.failed = false;
                self.epoch += 1;
            }
            Err(e) => {
                tracing::error!(archive = self.id, error = %e, "reloading the sequencer state failed")
            }
        }
    }
}

/// The answer while the state could not be reloaded after a failed commit.
pub(super) fn not_reloaded() -> SequencerError {
    SequencerError::Store("the archive could not reload its state after a failed commit".into())
}
