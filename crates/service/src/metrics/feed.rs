//! Receiver feeds' counters, by party and feed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One feed's counters, shown in `/metrics` with labels `party` and `feed`.
#[derive(Debug, Default)]
pub struct FeedStats {
    /// Connections made (client) or accepted (listener).
    pub connects: AtomicU64,
    /// Connections after the first one.
    pub reconnects: AtomicU64,
    pub connect_failures: AtomicU64,
    pub bytes: AtomicU64,
    /// Records framed (Beast frames, AVR lines, SBS lines).
    pub messages: AtomicU64,
    /// Records refused by the framing or the decoder (bad CRC, malformed, truncated, …).
    pub rejected: AtomicU64,
    /// Bytes skipped looking for a record.
    pub garbage_bytes: AtomicU64,
    /// Observations of an aircraft decoded (that carried something for a track).
    pub decoded: AtomicU64,
    /// Complete aircraft states handed on to the desk: one per tracker update that brought a
    /// new position (or came at the same instant as one, live: bytes read together share
    /// their receipt time).
    pub records: AtomicU64,
    /// New positions not handed on: the aircraft's altitude or velocity not heard yet.
    pub incomplete: AtomicU64,
    /// New positions not handed on: the aircraft is on the ground.
    pub on_ground: AtomicU64,
    /// Records dropped because the queue to the desk was full.
    pub dropped: AtomicU64,
    /// Records the desk took.
    pub taken: AtomicU64,
    /// Records the desk refused (stale, out of order, the picture full, the agreement not in
    /// force).
    pub refused: AtomicU64,
}

/// A metric family: its name after `deconflict_feed_`, its help, its counter.
type Family = (&'static str, &'static str, fn(&FeedStats) -> &AtomicU64);

/// The feeds' counters, by (party, feed).
#[derive(Debug, Default)]
pub struct FeedMetrics {
    feeds: Mutex<BTreeMap<(String, String), Arc<FeedStats>>>,
}

impl FeedMetrics {
    /// The counters of `party`'s feed `feed`, created at zero.
    pub fn stats(&self, party: &str, feed: &str) -> Arc<FeedStats> {
        let mut m = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        m.entry((party.to_string(), feed.to_string()))
            .or_default()
            .clone()
    }

    /// The exposition text: one family per counter, a sample per feed.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let m = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        let families: [Family; 14] = [
            (
                "connects",
                "Receiver feed connections made or accepted.",
                |s| &s.connects,
            ),
            (
                "reconnects",
                "Receiver feed connections after the first.",
                |s| &s.reconnects,
            ),
            (
                "connect_failures",
                "Receiver feed connection attempts that failed (retried with backoff).",
                |s| &s.connect_failures,
            ),
            ("bytes", "Bytes read from the receiver feed.", |s| &s.bytes),
            (
                "messages",
                "Records framed from the receiver feed (frames, lines).",
                |s| &s.messages,
            ),
            (
                "rejected",
                "Receiver records refused by the framing or the decoder.",
                |s| &s.rejected,
            ),
            (
                "garbage_bytes",
                "Bytes skipped between receiver records.",
                |s| &s.garbage_bytes,
            ),
            (
                "decoded",
                "Aircraft observations decoded from the receiver feed.",
                |s| &s.decoded,
            ),
            (
                "records",
                "Complete aircraft states handed on to the desk.",
                |s| &s.records,
            ),
            (
                "incomplete",
                "New positions not handed on: altitude or velocity not heard yet.",
                |s| &s.incomplete,
            ),
            (
                "on_ground",
                "New positions not handed on: the aircraft is on the ground.",
                |s| &s.on_ground,
            ),
            (
                "records_dropped",
                "Records dropped because the queue to the desk was full.",
                |s| &s.dropped,
            ),
            ("records_taken", "Records the desk took.", |s| &s.taken),
            (
                "records_refused",
                "Records the desk refused (stale, out of order, picture full, agreement not in force).",
                |s| &s.refused,
            ),
        ];
        for (name, help, get) in families {
            let name = format!("deconflict_feed_{name}_total");
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for ((party, feed), s) in m.iter() {
                let _ = writeln!(
                    out,
                    "{name}{{party=\"{}\",feed=\"{}\"}} {}",
                    label(party),
                    label(feed),
                    get(s).load(Ordering::Relaxed)
                );
            }
        }
        out
    }
}

/// A Prometheus label value: backslash, quote and newline escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
