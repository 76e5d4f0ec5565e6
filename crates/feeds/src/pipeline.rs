//! Framing, decoding and tracking glued together: the path every feed takes, live or recorded.
//!
//! One framer per source (a connection's bytes never mix with another's), one decoder (CPR
//! state is per aircraft, whichever receiver heard it) and one tracker (fusion across sources).

use std::collections::HashMap;

use crate::decode::{DecodeCounters, Decoder, DecoderConfig, report_from_sbs};
use crate::frame::Record;
use crate::framing::beast::BeastClock;
use crate::framing::{Format, Framer, FramingCounters, framer};
use crate::report::{Report, SourceId};
use crate::track::{Outcome, Track, TrackCounters, Tracker, TrackerConfig};

/// Sources (connections) framed at once; bytes from more are dropped and counted.
pub const SOURCES_MAX: usize = 256;
/// Clock step given to each record that carries no timestamp, in [`TimeMode::Record`]: a
/// receiver in a busy area hears a few hundred frames a second (the LAX AVR recording spans about
/// 12 minutes for 215 606 frames, 300 a second). Without it, an untimed recording would put
/// every frame at one instant and no plausibility check could be timed.
pub const UNTIMED_RECORD_INTERVAL_S: f64 = 1.0 / 300.0;
/// How often, in pipeline time, stale tracks are swept.
const EXPIRE_INTERVAL_S: f64 = 5.0;

/// Which clock drives the tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeMode {
    /// The time of receipt passed to [`Pipeline::push`], in unix seconds (live feeds: receivers'
    /// own counters are relative and differ between receivers).
    Receipt,
    /// The record's own timestamp when it has one, else the `now_s` passed in (recordings).
    Record,
}

#[derive(Clone, Copy, Debug)]
pub struct PipelineConfig {
    pub format: Format,
    pub beast_clock: BeastClock,
    pub time: TimeMode,
    /// See [`UNTIMED_RECORD_INTERVAL_S`].
    pub untimed_record_interval_s: f64,
    pub decoder: DecoderConfig,
    pub tracker: TrackerConfig,
}

impl PipelineConfig {
    pub fn new(format: Format, time: TimeMode) -> Self {
        Self {
            format,
            beast_clock: BeastClock::default(),
            time,
            untimed_record_interval_s: UNTIMED_RECORD_INTERVAL_S,
            decoder: DecoderConfig::default(),
            tracker: TrackerConfig::default(),
        }
    }
}

/// Everything counted along the way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub framing: FramingCounters,
    pub decode: DecodeCounters,
    pub track: TrackCounters,
    /// Mode A/C replies (no address: never a track).
    pub mode_ac: u64,
    /// Receiver status records.
    pub status: u64,
    /// Bytes from a source beyond [`SOURCES_MAX`].
    pub sources_full_bytes: u64,
    pub tracks_alive: u64,
}

pub struct Pipeline {
    cfg: PipelineConfig,
    framers: HashMap<SourceId, Box<dyn Framer + Send>>,
    /// Framing counters of sources already closed.
    closed: FramingCounters,
    decoder: Decoder,
    tracker: Tracker,
    mode_ac: u64,
    status: u64,
    sources_full_bytes: u64,
    next_expire_s: f64,
    untimed_records: u64,
}

fn add(a: &mut FramingCounters, b: &FramingCounters) {
    a.records += b.records;
    a.garbage_bytes += b.garbage_bytes;
    a.truncated += b.truncated;
    a.too_long += b.too_long;
    a.malformed += b.malformed;
    a.ignored += b.ignored;
}

impl Pipeline {
    pub fn new(cfg: PipelineConfig) -> Self {
        Self {
            cfg,
            framers: HashMap::new(),
            closed: FramingCounters::default(),
            decoder: Decoder::new(cfg.decoder),
            tracker: Tracker::new(cfg.tracker),
            mode_ac: 0,
            status: 0,
            sources_full_bytes: 0,
            next_expire_s: f64::NEG_INFINITY,
            untimed_records: 0,
        }
    }

    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// Bytes from `source`, received at `now_s`. `on_update` sees each track as it changes.
    pub fn push(
        &mut self,
        source: SourceId,
        now_s: f64,
        bytes: &[u8],
        mut on_update: impl FnMut(&Track),
    ) {
        if !self.framers.contains_key(&source) && self.framers.len() >= SOURCES_MAX {
            self.sources_full_bytes += bytes.len() as u64;
            return;
        }
        let mut framer = self
            .framers
            .remove(&source)
            .unwrap_or_else(|| framer(self.cfg.format, self.cfg.beast_clock));
        let mut rest = bytes;
        loop {
            let taken = framer.push(rest);
            rest = &rest[taken..];
            while let Some(record) = framer.next_record() {
                self.record(source, now_s, record, &mut on_update);
            }
            if rest.is_empty() {
                break;
            }
        }
        self.framers.insert(source, framer);
    }

    /// End of `source`'s stream (connection closed, end of file).
    pub fn close(&mut self, source: SourceId, now_s: f64, mut on_update: impl FnMut(&Track)) {
        if let Some(mut framer) = self.framers.remove(&source) {
            framer.finish();
            while let Some(record) = framer.next_record() {
                self.record(source, now_s, record, &mut on_update);
            }
            add(&mut self.closed, framer.counters());
        }
    }

    /// Folds one record in (for callers that frame themselves).
    pub fn record(
        &mut self,
        source: SourceId,
        now_s: f64,
        record: Record,
        on_update: &mut impl FnMut(&Track),
    ) {
        let (t_s, unix_s) = match self.cfg.time {
            TimeMode::Receipt => (now_s, Some(now_s)),
            TimeMode::Record => {
                let time = match &record {
                    Record::ModeS(f) => f.time,
                    Record::ModeAC { time, .. } => *time,
                    Record::Sbs(m) => m.time,
                    Record::Status => crate::frame::RecordTime::None,
                };
                let t_s = match time.seconds() {
                    Some(t) => t,
                    None => {
                        self.untimed_records += 1;
                        now_s + self.untimed_records as f64 * self.cfg.untimed_record_interval_s
                    }
                };
                (t_s, time.unix_s())
            }
        };
        if t_s >= self.next_expire_s {
            self.tracker.expire(t_s);
            self.next_expire_s = t_s + EXPIRE_INTERVAL_S;
        }
        let report = match record {
            Record::ModeS(f) => match self.decoder.decode(&f.frame, t_s, source) {
                Ok(Some(r)) => r,
                Ok(None) | Err(_) => return,
            },
            Record::Sbs(m) => match report_from_sbs(&m, source) {
                Some(r) => r,
                None => return,
            },
            Record::ModeAC { .. } => {
                self.mode_ac += 1;
                return;
            }
            Record::Status => {
                self.status += 1;
                return;
            }
        };
        let mut report = report;
        if report.time_unix_s.is_none() {
            report.time_unix_s = unix_s;
        }
        if !report.has_data() {
            return;
        }
        if self.tracker.ingest(t_s, &report) == Outcome::Updated
            && let Some(t) = self.tracker.get(report.icao)
        {
            on_update(t);
        }
    }

    /// A report that did not come through a feed (a party's own push, a test): fused with the
    /// feed reports of the same aircraft. `now_s` on the same clock as the feeds'.
    pub fn report(
        &mut self,
        now_s: f64,
        report: &Report,
        mut on_update: impl FnMut(&Track),
    ) -> Outcome {
        let outcome = self.tracker.ingest(now_s, report);
        if outcome == Outcome::Updated
            && let Some(t) = self.tracker.get(report.icao)
        {
            on_update(t);
        }
        outcome
    }

    /// Rejected records described since the last call, with their source. Closed sources'
    /// descriptions are dropped with them (their counts stay in [`Pipeline::counters`]).
    pub fn take_rejections(&mut self) -> Vec<(SourceId, crate::framing::Rejection)> {
        let mut out = Vec::new();
        for (&source, f) in self.framers.iter_mut() {
            out.extend(f.take_rejections().into_iter().map(|r| (source, r)));
        }
        out
    }

    /// Drops stale tracks now (a live feed that falls silent sends no records to do it).
    pub fn expire(&mut self, now_s: f64) -> usize {
        self.next_expire_s = now_s + EXPIRE_INTERVAL_S;
        self.tracker.expire(now_s)
    }

    pub fn counters(&self) -> Counters {
        let mut framing = self.closed;
        for f in self.framers.values() {
            add(&mut framing, f.counters());
        }
        Counters {
            framing,
            decode: *self.decoder.counters(),
            track: *self.tracker.counters(),
            mode_ac: self.mode_ac,
            status: self.status,
            sources_full_bytes: self.sources_full_bytes,
            tracks_alive: self.tracker.len() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{IcaoAddress, Integrity, LatLon};

    #[test]
    fn two_receivers_and_a_pushed_report_fuse_into_one_track() {
        let mut p = Pipeline::new(PipelineConfig::new(Format::Sbs, TimeMode::Receipt));
        let line = |lat: f64| format!("MSG,3,,,4CA7B3,,,,,,,35000,,,{lat},1.0,,,0,0,0,0\n");
        p.push(SourceId(0), 100.0, line(45.0).as_bytes(), |_| {});
        p.push(SourceId(1), 100.5, line(45.0005).as_bytes(), |_| {});
        let mut pushed = Report::new(
            IcaoAddress::new(0x4ca7b3).unwrap(),
            SourceId(9),
            Integrity::Checked,
        );
        pushed.position = LatLon::new(45.001, 1.0);
        let mut seen = None;
        assert_eq!(
            p.report(101.0, &pushed, |t| seen = Some(t.clone())),
            Outcome::Updated
        );
        let t = seen.unwrap();
        assert_eq!(p.tracker().len(), 1);
        assert_eq!(t.sources, vec![SourceId(0), SourceId(1), SourceId(9)]);
        assert_eq!(t.alt_baro_m, Some(35_000.0 * crate::report::M_PER_FT));
        assert_eq!(t.time_unix_s, Some(100.5));
        assert_eq!(p.expire(101.0 + 61.0), 1);
    }

    #[test]
    fn a_closed_connection_does_not_join_the_next_one() {
        let mut p = Pipeline::new(PipelineConfig::new(Format::Avr, TimeMode::Receipt));
        // Half a line, then the connection drops; the next connection starts clean.
        p.push(SourceId(0), 0.0, b"*8d4ca7b3990c3b0f08", |_| {});
        p.close(SourceId(0), 0.0, |_| {});
        p.push(
            SourceId(1),
            0.0,
            b"04a85c6f1a;\n*8d4ca7b3990c3b0f0804a85c6f1a;\n",
            |_| {},
        );
        let c = p.counters();
        assert_eq!(
            c.framing.malformed, 2,
            "both halves are malformed on their own"
        );
        assert_eq!(c.framing.records, 1);
    }
}
