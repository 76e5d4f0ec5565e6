//! Whose turn the store is: report pushes, the bulk of all writes, yield it to everyone else.
//!
//! The store is one SQLite connection behind one mutex. Under a full feed it is taken by report
//! batches almost back to back, and a mutex grants no order: the cycle's commit of new alerts
//! could queue behind several batches. Here a bulk writer, once it holds the store, lets it go
//! again while anyone else is waiting for it, so a waiting alert, stream or line query waits for
//! at most the one batch in progress.
//!
//! The cycle goes first for the cores too: from its tick until its alerts are stored
//! ([`StoreTurns::cycle_first`]), a report push waits before it begins its work (parsing,
//! checking, storing: [`StoreTurns::after_the_cycle`]), so that the tick is not slowed by the
//! reports of the next second. Both waits are bounded by [`BULK_YIELD_MS_MAX`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// How long a bulk writer that yielded sleeps before it looks again, at most (a wake-up comes
/// first when the last waiter takes the store).
const BULK_RECHECK: Duration = Duration::from_millis(10);

/// How long a bulk writer yields at most, ms: past it, it takes the store even while others
/// wait. The cycle waits from its tick on, and a tick longer than the cycle's period (an
/// overloaded picture) must not stop the feed altogether.
pub const BULK_YIELD_MS_MAX: u64 = 250;

/// How often a report push waiting for the cycle looks again.
const CYCLE_RECHECK: Duration = Duration::from_millis(2);

/// Who waits for the store besides the bulk writers.
#[derive(Debug, Default)]
pub(crate) struct StoreTurns {
    others_waiting: AtomicUsize,
    /// Cycles between their tick and their stored alerts.
    cycles_running: AtomicUsize,
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

    /// Announces the cycle, from its tick until its alerts are stored: a waiter for the store
    /// that bulk writers yield to, and the one report pushes wait for before their work.
    pub(crate) fn cycle_first(&self) -> CycleFirst<'_> {
        self.cycles_running.fetch_add(1, Ordering::SeqCst);
        CycleFirst {
            turns: self,
            _store: self.wait(),
        }
    }

    /// For a report push about to begin its work: waits while a cycle runs from its tick to
    /// its stored alerts, for at most [`BULK_YIELD_MS_MAX`].
    pub(crate) async fn after_the_cycle(&self) {
        let until = std::time::Instant::now() + Duration::from_millis(BULK_YIELD_MS_MAX);
        while self.cycles_running.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < until {
            tokio::time::sleep(CYCLE_RECHECK).await;
        }
    }

    /// Whether a bulk writer that holds the store should let it go.
    pub(crate) fn others_waiting(&self) -> bool {
        self.others_waiting.load(Ordering::SeqCst) > 0
    }

    /// Takes the store for a bulk writer with `lock`: letting it go again while anyone else
    /// waits, for at most [`BULK_YIELD_MS_MAX`] in all.
    pub(crate) fn take_bulk<G, E>(&self, lock: impl Fn() -> Result<G, E>) -> Result<G, E> {
        let yield_until = std::time::Instant::now() + Duration::from_millis(BULK_YIELD_MS_MAX);
        loop {
            let guard = lock()?;
            if !self.others_waiting() || std::time::Instant::now() >= yield_until {
                return Ok(guard);
            }
            drop(guard);
            self.until_quiet();
        }
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

/// Held by the cycle from its tick until its alerts are stored ([`StoreTurns::cycle_first`]).
#[derive(Debug)]
pub(crate) struct CycleFirst<'a> {
    turns: &'a StoreTurns,
    _store: Waiting<'a>,
}

impl Drop for CycleFirst<'_> {
    fn drop(&mut self) {
        self.turns.cycles_running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let before = self.0.others_waiting.fetch_sub(1, Ordering::SeqCst);
        assert!(before > 0, "a store waiter left twice");
        if before == 1 {
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

    #[test]
    fn a_bulk_writer_yields_for_a_bounded_time_only() {
        let turns = StoreTurns::default();
        let store = Mutex::new(());
        // Nobody waits: taken at once.
        let started = std::time::Instant::now();
        drop(turns.take_bulk(|| store.lock()).unwrap());
        assert!(started.elapsed() < Duration::from_millis(BULK_YIELD_MS_MAX));
        // Someone waits and never takes the store (a cycle in a long tick): the bulk writer
        // yields, then goes on.
        let turns = Arc::new(turns);
        let _forever = turns.wait();
        let (done, went_on) = std::sync::mpsc::channel();
        let bulk = turns.clone();
        std::thread::spawn(move || {
            let store = Mutex::new(());
            let started = std::time::Instant::now();
            drop(bulk.take_bulk(|| store.lock()).unwrap());
            let _ = done.send(started.elapsed());
        });
        let waited = went_on
            .recv_timeout(Duration::from_secs(5))
            .expect("the bulk writer was still yielding after 5 s");
        assert!(
            waited >= Duration::from_millis(BULK_YIELD_MS_MAX),
            "went on after {waited:?}"
        );
    }

    #[tokio::test]
    async fn a_push_begins_after_the_cycle_has_stored_its_alerts_or_after_the_bound() {
        let turns = Arc::new(StoreTurns::default());
        // No cycle: at once.
        let started = std::time::Instant::now();
        turns.after_the_cycle().await;
        assert!(started.elapsed() < Duration::from_millis(BULK_YIELD_MS_MAX));
        // A cycle that ends after 60 ms: the push goes on then, not before.
        let cycle = turns.clone();
        let ended = tokio::task::spawn_blocking(move || {
            let first = cycle.cycle_first();
            assert!(
                cycle.others_waiting(),
                "bulk writers yield the store to the cycle"
            );
            std::thread::sleep(Duration::from_millis(60));
            let at = std::time::Instant::now();
            drop(first);
            at
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        turns.after_the_cycle().await;
        let went_on = std::time::Instant::now();
        let ended = ended.await.unwrap();
        assert!(went_on >= ended, "went on {:?} early", ended - went_on);
        assert!(!turns.others_waiting());
        // A cycle that never ends: the push goes on after the bound.
        let _forever = turns.cycle_first();
        let started = std::time::Instant::now();
        turns.after_the_cycle().await;
        assert!(started.elapsed() >= Duration::from_millis(BULK_YIELD_MS_MAX));
    }
}
