//! The latest events of each party's stream, in memory: a stream that is up to date reads its
//! next events here instead of queueing for the store behind every writer.

use std::collections::{HashMap, VecDeque};

use deconflict_store::Event;

/// Each party's latest committed events, without a gap, at most `max` each.
#[derive(Debug)]
pub(crate) struct RecentEvents {
    max: usize,
    by_party: HashMap<String, VecDeque<Event>>,
}

impl RecentEvents {
    pub(crate) fn new(max: usize) -> Self {
        RecentEvents {
            max,
            by_party: HashMap::new(),
        }
    }

    /// Keeps events just committed, in commit order (the caller holds the store's lock).
    pub(crate) fn remember(&mut self, events: &[Event]) {
        for e in events {
            let q = self.by_party.entry(e.party.clone()).or_default();
            // Kept without a gap: what a party's deque holds is all there is from its first on.
            if q.back()
                .is_some_and(|b| b.seq.checked_add(1) != Some(e.seq))
            {
                q.clear();
            }
            q.push_back(e.clone());
            if q.len() > self.max {
                q.pop_front();
            }
            // Without a gap, as `after` relies on: the numbers from the front to the back are
            // as many as the events held.
            if let (Some(f), Some(b)) = (q.front(), q.back()) {
                assert_eq!(b.seq - f.seq + 1, q.len() as u64, "party {}", e.party);
            }
        }
    }

    /// `party`'s events after `after` (at most `limit`), or `None` when those kept do not reach
    /// back that far (the store has them).
    pub(crate) fn after(&self, party: &str, after: u64, limit: usize) -> Option<Vec<Event>> {
        let q = self.by_party.get(party)?;
        if q.front()?.seq > after.saturating_add(1) {
            return None;
        }
        let skip = q.partition_point(|e| e.seq <= after);
        Some(q.iter().skip(skip).take(limit).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(party: &str, seq: u64) -> Event {
        Event {
            party: party.into(),
            seq,
            kind: "alert".into(),
            body: format!("{{\"n\":{seq}}}"),
            created_ms: 0,
        }
    }

    fn seqs(v: Option<Vec<Event>>) -> Option<Vec<u64>> {
        v.map(|v| v.iter().map(|e| e.seq).collect())
    }

    #[test]
    fn serves_only_what_it_holds_from_the_cursor_on() {
        let mut r = RecentEvents::new(3);
        // Nothing kept yet (a fresh start): the store answers.
        assert_eq!(seqs(r.after("a", 0, 10)), None);
        r.remember(&[event("a", 5), event("b", 1), event("a", 6)]);
        assert_eq!(seqs(r.after("a", 4, 10)), Some(vec![5, 6]));
        assert_eq!(seqs(r.after("a", 5, 10)), Some(vec![6]));
        assert_eq!(seqs(r.after("a", 6, 10)), Some(vec![]));
        assert_eq!(seqs(r.after("a", 4, 1)), Some(vec![5]));
        // Older than the first kept: the store.
        assert_eq!(seqs(r.after("a", 3, 10)), None);
        assert_eq!(seqs(r.after("b", 0, 10)), Some(vec![1]));
        assert_eq!(seqs(r.after("c", 0, 10)), None);
        // At most three each: the oldest goes.
        r.remember(&[event("a", 7), event("a", 8)]);
        assert_eq!(seqs(r.after("a", 5, 10)), Some(vec![6, 7, 8]));
        assert_eq!(seqs(r.after("a", 4, 10)), None);
    }

    #[test]
    fn a_gap_starts_the_party_afresh() {
        let mut r = RecentEvents::new(10);
        r.remember(&[event("a", 1), event("a", 2)]);
        // Events 3 and 4 were committed elsewhere: never served from memory across the gap.
        r.remember(&[event("a", 5)]);
        assert_eq!(seqs(r.after("a", 2, 10)), None);
        assert_eq!(seqs(r.after("a", 4, 10)), Some(vec![5]));
    }
}
