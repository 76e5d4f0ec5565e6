//! Whose turn the store is: report pushes, the bulk of all writes, yield it to everyone else.
//!
//! The store is one SQLite connection behind one mutex. Under a full feed it is taken by report
//! batches almost back to back, and a mutex grants no order: the cycle's commit of new alerts
//! could queue behind several batches. Here a bulk writer, once it holds the store, lets it go
//! again while anyone else is waiting for it, so a waiting alert, stream or line query waits for
//! at most the one batch in progress.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// How long a bulk writer that yielded sleeps before it looks again, at most (a wake-up comes
/// first when the last waiter takes the store).
const BULK_RECHECK: Duration = Duration::from_millis(10);

/// Who waits for the store besides the bulk writers.
#[derive(Debug, Default)]
pub(crate) struct StoreTurns {
    others_waiting: AtomicUsize,
    quiet: Mutex<()>,
    freed: Condvar,
}

/// Held by a writer or reader other than a report push from before it asks for the store until
/// it has it: while any is held, bulk writers yield.
#[derive(Debug)]
pub(crate) struct Waiting<'a>(&'a StoreTurns);

impl StoreTurns {
    /// Announces a waiter that goes before the bulk writers.
    pub(crate) fn wait(&self) -> Waiting<'_> {
        self.others_waiting.fetch_add(1, Ordering::SeqCst);
        Waiting(self)
    }

    /// Whether a bulk writer that holds the store should let it go.
    pub(crate) fn others_waiting(&self) -> bool {
        self.others_waiting.load(Ordering::SeqCst) > 0
    }

    /// Blocks a bulk writer until no one else waits (or [`BULK_RECHECK`] passes).
    pub(crate) fn until_quiet(&self) {
        let guard = self
            .quiet
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.others_waiting() {
            let _ = self.freed.wait_timeout(guard, BULK_RECHECK);
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.0.others_waiting.fetch_sub(1, Ordering::SeqCst) == 1 {
            // Under the lock the bulk writers check under, so no wake-up is lost between their
            // check and their wait.
            let _quiet = self
                .0
                .quiet
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            self.0.freed.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_bulk_writer_waits_while_anyone_else_does_and_wakes_when_they_are_served() {
        let turns = Arc::new(StoreTurns::default());
        assert!(!turns.others_waiting());
        let w = turns.wait();
        let w2 = turns.wait();
        assert!(turns.others_waiting());
        drop(w);
        assert!(turns.others_waiting(), "one waiter is left");
        let bulk = {
            let turns = turns.clone();
            std::thread::spawn(move || {
                while turns.others_waiting() {
                    turns.until_quiet();
                }
                std::time::Instant::now()
            })
        };
        std::thread::sleep(Duration::from_millis(30));
        let served = std::time::Instant::now();
        drop(w2);
        let went_on = bulk.join().unwrap();
        assert!(
            went_on >= served,
            "the bulk writer went on {:?} before the last waiter was served",
            served - went_on
        );
        assert!(!turns.others_waiting());
    }
}
