//! Prometheus text exposition (format 0.0.4) of the service's counters and gauges, written by
//! hand: a few dozen lines instead of a registry dependency.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

mod cosignature;
mod feed;
mod server;
mod tls;

pub use cosignature::CosignatureMetrics;
pub use feed::{FeedMetrics, FeedStats};
pub use server::ServerMetrics;
pub use tls::TlsMetrics;

/// Upper bounds of the buckets of the cycle stage histograms, seconds (`+Inf` is the count).
pub const STAGE_BUCKETS_S: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The stages of a cycle, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleStage {
    /// The desk core's tick: the picture, the broad phase, the alerter on the candidates,
    /// geography and conformance.
    Desk,
    /// The core's outputs turned into stored alerts and stream events.
    Events,
    /// Their commit: log entries, then the store, in one batch.
    Store,
    /// The line's turn: conversations for new alerts, deadlines, link tests.
    Line,
    /// Incident account deadlines.
    Incidents,
    /// The cycle's accepted reports committed to the record (`report_batch` entries).
    Record,
    /// Between cycles, a pass that grades tracks new to the picture (`Desk::grade_arrivals`),
    /// from taking the desk to its alerts stored (passes that found the tracks graded by a
    /// tick meanwhile are not timed).
    Arrivals,
}

impl CycleStage {
    pub const ALL: [CycleStage; 7] = [
        CycleStage::Desk,
        CycleStage::Events,
        CycleStage::Store,
        CycleStage::Line,
        CycleStage::Incidents,
        CycleStage::Record,
        CycleStage::Arrivals,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CycleStage::Desk => "desk",
            CycleStage::Events => "events",
            CycleStage::Store => "store",
            CycleStage::Line => "line",
            CycleStage::Incidents => "incidents",
            CycleStage::Record => "record",
            CycleStage::Arrivals => "arrivals",
        }
    }
}

/// A Prometheus histogram of durations: cumulative bucket counts, the count and the sum.
#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; STAGE_BUCKETS_S.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
    max_us: AtomicU64,
}

impl Histogram {
    fn observe(&self, us: u64) {
        let s = us as f64 / 1e6;
        for (bucket, le) in self.buckets.iter().zip(STAGE_BUCKETS_S) {
            if s <= le {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }
}

/// One cycle stage's figures since start: how many, mean and longest, microseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StageFigures {
    pub stage: CycleStage,
    pub count: u64,
    pub mean_us: f64,
    pub max_us: u64,
}

/// Counters and gauges. Every field is updated without blocking except the labelled maps.
#[derive(Debug, Default)]
pub struct Metrics {
    pub cycles_total: AtomicU64,
    /// Last cycle's duration, microseconds.
    pub cycle_us_last: AtomicU64,
    /// Longest cycle since start, microseconds.
    pub cycle_us_max: AtomicU64,
    pub tracks_live: AtomicU64,
    pub tracks_dropped_stale_total: AtomicU64,
    pub reports_accepted_total: AtomicU64,
    /// Pushes that found the desk's inbox full and handed their reports to the desk themselves.
    pub desk_inbox_full_total: AtomicU64,
    /// Reports waiting in the desk's inbox.
    pub desk_inbox_reports: AtomicU64,
    /// Tracks new to the picture graded on arrival, between cycles.
    pub arrivals_graded_total: AtomicU64,
    /// Tracks new to the picture beyond the desk's bound, left to the next cycle.
    pub arrivals_left_to_cycle_total: AtomicU64,
    /// Conflicts opened on arrival, between cycles.
    pub arrival_conflicts_total: AtomicU64,
    pub notifications_accepted_total: AtomicU64,
    pub conflicts_active: AtomicU64,
    pub events_total: AtomicU64,
    pub stream_subscribers: AtomicU64,
    /// Requests waiting for the store (queue depth).
    pub store_waiting: AtomicU64,
    pub nonces_held: AtomicU64,
    alerts_by_kind: Mutex<BTreeMap<String, u64>>,
    alerts_by_level: Mutex<BTreeMap<String, u64>>,
    geography_by_party: Mutex<BTreeMap<String, u64>>,
    nonconformance_by_party: Mutex<BTreeMap<String, u64>>,
    rejected_by_reason: Mutex<BTreeMap<String, u64>>,
    /// Track stream frames, by outcome: `accepted`, `refused` (its reports, as a batch would
    /// be), `broken` (its integrity: the stream was closed) ([`crate::track_stream`]).
    stream_frames_by_outcome: Mutex<BTreeMap<String, u64>>,
    /// Track streams open now.
    pub track_streams_open: AtomicU64,
    /// Line messages delivered (first delivery; acknowledgements not counted).
    pub line_messages_total: AtomicU64,
    pub line_acks_total: AtomicU64,
    pub line_overdue_total: AtomicU64,
    pub line_escalations_total: AtomicU64,
    pub line_unanswered_total: AtomicU64,
    /// Messages awaiting acknowledgement now.
    pub line_pending: AtomicU64,
    /// Effects the line dropped because its queue was full (see `deconflict_line::machine`).
    pub line_effects_dropped_total: AtomicU64,
    /// Scheduled link tests the line slept through (skipped, not sent late).
    pub line_link_tests_skipped_total: AtomicU64,
    line_refused_by_reason: Mutex<BTreeMap<String, u64>>,
    incident_steps_by_course: Mutex<BTreeMap<String, u64>>,
    incident_refused_by_reason: Mutex<BTreeMap<String, u64>>,
    /// Store rows checked against their log entries at start (`crate::binding`).
    pub store_rows_checked: AtomicU64,
    /// Log entries of requests whose rows were never stored (the service stopped, or the
    /// store commit failed, after the entry was durable; never acknowledged): found at start
    /// and since.
    pub record_entries_unstored: AtomicU64,
    /// `report_batch` entries recorded (one per party per cycle with reports).
    pub report_batches_total: AtomicU64,
    /// Reports committed to the record by those batches.
    pub reports_committed_total: AtomicU64,
    /// Leaves of accepted reports let go past `PENDING_LEAVES_MAX` (their batch reads the
    /// reports back from the store instead).
    pub report_leaves_dropped_total: AtomicU64,
    /// Receiver feeds' counters, by party and feed ([`crate::feed`]).
    pub feeds: FeedMetrics,
    /// The countersignatures the record's write route took and refused.
    pub cosignatures: CosignatureMetrics,
    /// The TLS listener's connections.
    pub tls: TlsMetrics,
    /// The listener's connections and the request bodies it held, shared with the listener's
    /// gate and body budget.
    pub server: Arc<ServerMetrics>,
    /// Each cycle stage's durations, in [`CycleStage::ALL`] order.
    cycle_stages: [Histogram; 7],
}

/// A counter by label: name, help, label, counts.
type Figure<'a> = (
    &'static str,
    &'static str,
    &'static str,
    &'a Mutex<BTreeMap<String, u64>>,
);

/// How many counters by label `/metrics` shows.
const LABELLED_N: usize = 9;

impl Metrics {
    pub fn alert(&self, kind: &str) {
        if let Ok(mut m) = self.alerts_by_kind.lock() {
            *m.entry(kind.to_string()).or_default() += 1;
        }
    }

    /// A tactical alert raised or changed to `level` (`preventive`, `corrective`, `warning`).
    pub fn level(&self, level: &str) {
        if let Ok(mut m) = self.alerts_by_level.lock() {
            *m.entry(level.to_string()).or_default() += 1;
        }
    }

    /// A `geography` event about `party`'s aircraft.
    pub fn geography(&self, party: &str) {
        if let Ok(mut m) = self.geography_by_party.lock() {
            *m.entry(party.to_string()).or_default() += 1;
        }
    }

    /// A `nonconformance` event about `party`'s aircraft.
    pub fn nonconformance(&self, party: &str) {
        if let Ok(mut m) = self.nonconformance_by_party.lock() {
            *m.entry(party.to_string()).or_default() += 1;
        }
    }

    pub fn rejected(&self, reason: &str) {
        if let Ok(mut m) = self.rejected_by_reason.lock() {
            *m.entry(reason.to_string()).or_default() += 1;
        }
    }

    /// A track stream frame answered with `outcome`.
    pub fn stream_frame(&self, outcome: &str) {
        if let Ok(mut m) = self.stream_frames_by_outcome.lock() {
            *m.entry(outcome.to_string()).or_default() += 1;
        }
    }

    /// How many requests were rejected for `reason` so far.
    pub fn rejected_count(&self, reason: &str) -> u64 {
        // A reason never counted has count 0; a poisoned lock still holds valid counts.
        self.rejected_by_reason
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(reason)
            .copied()
            .unwrap_or(0)
    }

    /// A line request refused, by its error code.
    pub fn line_refused(&self, reason: &str) {
        if let Ok(mut m) = self.line_refused_by_reason.lock() {
            *m.entry(reason.to_string()).or_default() += 1;
        }
    }

    /// An incident step taken (`filing`, `account`, `assessment`).
    pub fn incident_step(&self, course: &str) {
        if let Ok(mut m) = self.incident_steps_by_course.lock() {
            *m.entry(course.to_string()).or_default() += 1;
        }
    }

    /// An incident request refused, by its error code.
    pub fn incident_refused(&self, reason: &str) {
        if let Ok(mut m) = self.incident_refused_by_reason.lock() {
            *m.entry(reason.to_string()).or_default() += 1;
        }
    }

    /// How many line requests were refused for `reason` so far.
    pub fn line_refused_count(&self, reason: &str) -> u64 {
        // As `rejected_count`.
        self.line_refused_by_reason
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(reason)
            .copied()
            .unwrap_or(0)
    }

    /// Counts what the line did; `delivered`: messages delivered for the first time, not
    /// counting acknowledgements (the effects alone do not say which deliveries those are).
    pub fn line_effects(&self, effects: &[deconflict_line::Effect], delivered: u64) {
        use deconflict_line::Effect as E;
        self.line_messages_total
            .fetch_add(delivered, Ordering::Relaxed);
        for e in effects {
            let counter = match e {
                E::Deliver { .. } => continue,
                E::Acknowledged { .. } => &self.line_acks_total,
                E::Overdue { .. } => &self.line_overdue_total,
                E::Escalated { .. } => &self.line_escalations_total,
                E::Unanswered { .. } => &self.line_unanswered_total,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The line's gauges after a change.
    pub fn line_state(&self, effects_dropped: u64, pending: u64, link_tests_skipped: u64) {
        self.line_effects_dropped_total
            .store(effects_dropped, Ordering::Relaxed);
        self.line_link_tests_skipped_total
            .store(link_tests_skipped, Ordering::Relaxed);
        self.line_pending.store(pending, Ordering::Relaxed);
    }

    /// What the start's check of the store against the record found.
    pub fn store_checked(&self, check: &crate::binding::StoreCheck) {
        self.store_rows_checked
            .store(check.rows_checked(), Ordering::Relaxed);
        self.record_entries_unstored.fetch_add(
            (check.unstored.len() + check.tail.len()) as u64,
            Ordering::Relaxed,
        );
    }

    /// One cycle stage took `us` microseconds.
    pub fn stage(&self, stage: CycleStage, us: u64) {
        // The variants are declared in `ALL`'s order, so a stage's number is its histogram's place.
        self.cycle_stages[stage as usize].observe(us);
    }

    /// Each stage's count, mean and longest since start, in [`CycleStage::ALL`] order.
    pub fn stages(&self) -> Vec<StageFigures> {
        CycleStage::ALL
            .iter()
            .zip(&self.cycle_stages)
            .map(|(stage, h)| {
                let count = h.count.load(Ordering::Relaxed);
                let sum = h.sum_us.load(Ordering::Relaxed);
                StageFigures {
                    stage: *stage,
                    count,
                    mean_us: if count == 0 {
                        0.0
                    } else {
                        sum as f64 / count as f64
                    },
                    max_us: h.max_us.load(Ordering::Relaxed),
                }
            })
            .collect()
    }

    pub fn cycle(&self, us: u64) {
        self.cycles_total.fetch_add(1, Ordering::Relaxed);
        self.cycle_us_last.store(us, Ordering::Relaxed);
        self.cycle_us_max.fetch_max(us, Ordering::Relaxed);
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, kind, help, v) in self.figures() {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
            );
        }
        for (name, help, label, m) in self.labelled() {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            if let Ok(m) = m.lock() {
                for (k, v) in m.iter() {
                    let _ = writeln!(out, "{name}{{{label}=\"{k}\"}} {v}");
                }
            }
        }
        let name = "deconflict_cycle_stage_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Duration of each stage of the cycle (desk tick, events, store commit, line, incidents, report batches).\n# TYPE {name} histogram"
        );
        for (stage, h) in CycleStage::ALL.iter().zip(&self.cycle_stages) {
            let stage = stage.as_str();
            for (bucket, le) in h.buckets.iter().zip(STAGE_BUCKETS_S) {
                let n = bucket.load(Ordering::Relaxed);
                let _ = writeln!(out, "{name}_bucket{{stage=\"{stage}\",le=\"{le}\"}} {n}");
            }
            let count = h.count.load(Ordering::Relaxed);
            let sum = h.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "{name}_bucket{{stage=\"{stage}\",le=\"+Inf\"}} {count}\n{name}_sum{{stage=\"{stage}\"}} {sum}\n{name}_count{{stage=\"{stage}\"}} {count}"
            );
        }
        out.push_str(&self.cosignatures.render());
        out.push_str(&self.tls.render());
        out.push_str(&self.server.render());
        out.push_str(&self.feeds.render());
        out
    }

    /// Each unlabelled figure: name, kind, help, value.
    fn figures(&self) -> Vec<(&'static str, &'static str, &'static str, f64)> {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        vec![
            (
                "deconflict_cycles_total",
                "counter",
                "Cycles run.",
                load(&self.cycles_total) as f64,
            ),
            (
                "deconflict_cycle_seconds",
                "gauge",
                "Duration of the last cycle.",
                load(&self.cycle_us_last) as f64 / 1e6,
            ),
            (
                "deconflict_cycle_seconds_max",
                "gauge",
                "Longest cycle since start.",
                load(&self.cycle_us_max) as f64 / 1e6,
            ),
            (
                "deconflict_tracks_live",
                "gauge",
                "Live tracks in the picture.",
                load(&self.tracks_live) as f64,
            ),
            (
                "deconflict_tracks_dropped_stale_total",
                "counter",
                "Tracks dropped from the picture because no report came within the stale limit.",
                load(&self.tracks_dropped_stale_total) as f64,
            ),
            (
                "deconflict_reports_accepted_total",
                "counter",
                "Track reports accepted.",
                load(&self.reports_accepted_total) as f64,
            ),
            (
                "deconflict_desk_inbox_full_total",
                "counter",
                "Pushes that found the desk's inbox full and waited for the desk themselves.",
                load(&self.desk_inbox_full_total) as f64,
            ),
            (
                "deconflict_desk_inbox_reports",
                "gauge",
                "Accepted reports waiting to enter the desk.",
                load(&self.desk_inbox_reports) as f64,
            ),
            (
                "deconflict_arrivals_graded_total",
                "counter",
                "Tracks new to the picture graded as they arrived, before the next cycle.",
                load(&self.arrivals_graded_total) as f64,
            ),
            (
                "deconflict_arrivals_left_to_cycle_total",
                "counter",
                "Tracks new to the picture beyond the bound of one arrival pass, graded by the next cycle.",
                load(&self.arrivals_left_to_cycle_total) as f64,
            ),
            (
                "deconflict_arrival_conflicts_total",
                "counter",
                "Conflicts opened on arrival, before the next cycle.",
                load(&self.arrival_conflicts_total) as f64,
            ),
            (
                "deconflict_store_rows_checked",
                "gauge",
                "Store rows checked against their log entries at start.",
                load(&self.store_rows_checked) as f64,
            ),
            (
                "deconflict_record_entries_unstored",
                "gauge",
                "Log entries whose request was never stored nor acknowledged (bound as unstored).",
                load(&self.record_entries_unstored) as f64,
            ),
            (
                "deconflict_report_batches_total",
                "counter",
                "Report batches committed to the record (one per party per cycle with reports).",
                load(&self.report_batches_total) as f64,
            ),
            (
                "deconflict_reports_committed_total",
                "counter",
                "Track reports committed to the record by report batches.",
                load(&self.reports_committed_total) as f64,
            ),
            (
                "deconflict_track_streams_open",
                "gauge",
                "Track streams (GET /v1/tracks/stream) open now.",
                load(&self.track_streams_open) as f64,
            ),
            (
                "deconflict_report_leaves_dropped_total",
                "counter",
                "Leaves of accepted reports not held for their batch (past the bound); that batch reads the reports back from the store.",
                load(&self.report_leaves_dropped_total) as f64,
            ),
            (
                "deconflict_notifications_accepted_total",
                "counter",
                "Notification writes accepted.",
                load(&self.notifications_accepted_total) as f64,
            ),
            (
                "deconflict_conflicts_active",
                "gauge",
                "Predicted conflicts currently active.",
                load(&self.conflicts_active) as f64,
            ),
            (
                "deconflict_events_total",
                "counter",
                "Events appended to party streams.",
                load(&self.events_total) as f64,
            ),
            (
                "deconflict_stream_subscribers",
                "gauge",
                "Open event streams.",
                load(&self.stream_subscribers) as f64,
            ),
            (
                "deconflict_store_waiting",
                "gauge",
                "Requests queued for the store.",
                load(&self.store_waiting) as f64,
            ),
            (
                "deconflict_nonces_held",
                "gauge",
                "Nonces held for replay protection.",
                load(&self.nonces_held) as f64,
            ),
        ]
        .into_iter()
        .chain(self.line_figures())
        .collect()
    }

    /// The line's unlabelled figures: name, kind, help, value.
    fn line_figures(&self) -> Vec<(&'static str, &'static str, &'static str, f64)> {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        vec![
            (
                "deconflict_line_messages_total",
                "counter",
                "Line messages delivered (acknowledgements excluded; link tests and conflict alerts included).",
                load(&self.line_messages_total) as f64,
            ),
            (
                "deconflict_line_acks_total",
                "counter",
                "Line messages acknowledged (each once).",
                load(&self.line_acks_total) as f64,
            ),
            (
                "deconflict_line_overdue_total",
                "counter",
                "Line messages whose first acknowledgement deadline passed.",
                load(&self.line_overdue_total) as f64,
            ),
            (
                "deconflict_line_escalations_total",
                "counter",
                "Escalations to the next duty contact or the command.",
                load(&self.line_escalations_total) as f64,
            ),
            (
                "deconflict_line_unanswered_total",
                "counter",
                "Line messages unanswered after the command's deadline.",
                load(&self.line_unanswered_total) as f64,
            ),
            (
                "deconflict_line_pending",
                "gauge",
                "Line messages awaiting acknowledgement.",
                load(&self.line_pending) as f64,
            ),
            (
                "deconflict_line_effects_dropped_total",
                "counter",
                "Line effects dropped because the effect queue was full.",
                load(&self.line_effects_dropped_total) as f64,
            ),
            (
                "deconflict_line_link_tests_skipped_total",
                "counter",
                "Gaps in the link-test schedule the line slept through (each run of missed slots counts once): skipped, not sent late.",
                load(&self.line_link_tests_skipped_total) as f64,
            ),
        ]
    }

    /// Each counter by label: name, help, label, counts.
    fn labelled(&self) -> [Figure<'_>; LABELLED_N] {
        [
            (
                "deconflict_alerts_total",
                "Alerts issued, by kind.",
                "kind",
                &self.alerts_by_kind,
            ),
            (
                "deconflict_alert_levels_total",
                "Tactical alerts raised or changed, by the more urgent side's DO-365 level.",
                "level",
                &self.alerts_by_level,
            ),
            (
                "deconflict_geography_events_total",
                "Dividing-line crossings and closed-zone entries, by the party whose aircraft it was.",
                "party",
                &self.geography_by_party,
            ),
            (
                "deconflict_nonconformance_events_total",
                "Notified aircraft outside their notifications, by party.",
                "party",
                &self.nonconformance_by_party,
            ),
            (
                "deconflict_requests_rejected_total",
                "Requests rejected, by reason.",
                "reason",
                &self.rejected_by_reason,
            ),
            (
                "deconflict_line_refused_total",
                "Line requests refused, by reason.",
                "reason",
                &self.line_refused_by_reason,
            ),
            (
                "deconflict_incident_steps_total",
                "Incident steps recorded, by course (filing, account, assessment).",
                "course",
                &self.incident_steps_by_course,
            ),
            (
                "deconflict_incident_refused_total",
                "Incident requests refused, by reason.",
                "reason",
                &self.incident_refused_by_reason,
            ),
            (
                "deconflict_stream_frames_total",
                "Track stream frames, by outcome (accepted; refused, as a batch would be; broken, closing the stream).",
                "outcome",
                &self.stream_frames_by_outcome,
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the exposition line that starts with `prefix`.
    fn value(text: &str, prefix: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no line {prefix} in\n{text}"))
            .trim()
            .parse()
            .unwrap()
    }

    #[test]
    fn cycle_stages_are_cumulative_histograms() {
        // Each stage's number is its place in `ALL`, the order its histogram is kept in.
        for (i, stage) in CycleStage::ALL.iter().enumerate() {
            assert_eq!(*stage as usize, i, "{stage:?}");
        }
        let m = Metrics::default();
        m.stage(CycleStage::Desk, 800); // 0.8 ms
        m.stage(CycleStage::Desk, 30_000); // 30 ms
        m.stage(CycleStage::Desk, 7_000_000); // 7 s: only +Inf
        m.stage(CycleStage::Record, 2_000);
        let text = m.render();
        let desk = |le: &str| {
            value(
                &text,
                &format!("deconflict_cycle_stage_seconds_bucket{{stage=\"desk\",le=\"{le}\"}} "),
            )
        };
        assert_eq!(desk("0.001"), 1.0);
        assert_eq!(desk("0.025"), 1.0);
        assert_eq!(desk("0.05"), 2.0);
        assert_eq!(desk("5"), 2.0);
        assert_eq!(desk("+Inf"), 3.0);
        assert_eq!(
            value(
                &text,
                "deconflict_cycle_stage_seconds_count{stage=\"desk\"} "
            ),
            3.0
        );
        let sum = value(&text, "deconflict_cycle_stage_seconds_sum{stage=\"desk\"} ");
        assert!((sum - 7.0308).abs() < 1e-9, "{sum}");
        assert_eq!(
            value(
                &text,
                "deconflict_cycle_stage_seconds_count{stage=\"record\"} "
            ),
            1.0
        );
        assert_eq!(
            value(
                &text,
                "deconflict_cycle_stage_seconds_count{stage=\"line\"} "
            ),
            0.0
        );
        // One HELP and one TYPE for the whole family.
        assert_eq!(
            text.matches("# TYPE deconflict_cycle_stage_seconds histogram")
                .count(),
            1
        );
        // The figures the load bench prints: count, mean and longest per stage.
        let desk = m.stages()[0];
        assert_eq!(desk.stage, CycleStage::Desk);
        assert_eq!(desk.count, 3);
        assert!((desk.mean_us - 7_030_800.0 / 3.0).abs() < 1e-6, "{desk:?}");
        assert_eq!(desk.max_us, 7_000_000);
        let line = m.stages()[3];
        assert_eq!((line.count, line.mean_us, line.max_us), (0, 0.0, 0));
    }
}
