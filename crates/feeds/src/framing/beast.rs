//! Beast binary (the port 30005 format of dump1090, readsb, the Mode-S Beast and Radarcape).
//!
//! A record is `0x1a`, a type byte, a 6-byte timestamp, a signal byte, then the payload:
//! type `'1'` Mode A/C (2 bytes), `'2'` short Mode S (7), `'3'` long Mode S (14),
//! `'4'` receiver status (14). Inside a record every `0x1a` byte is sent twice, so a single
//! `0x1a` always starts a record; that is how the parser resynchronises after garbage or a
//! record cut short.

use super::{ByteBuffer, Framer, FramingCounters, Rejection, RejectionLog};
use crate::frame::{ModeSFrame, RawFrame, Record, RecordTime};

/// The escape byte that starts every record.
pub const ESCAPE: u8 = 0x1a;
const TIMESTAMP_BYTES: usize = 6;
/// Timestamp, signal, longest payload.
const BODY_BYTES_MAX: usize = TIMESTAMP_BYTES + 1 + 14;

/// How the receiver's 6-byte timestamp is to be read. The stream does not say which one it
/// uses; it is a property of the receiver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BeastClock {
    /// A 48-bit count of a 12 MHz clock (dump1090, readsb, the Mode-S Beast).
    #[default]
    Counter12MHz,
    /// GPS time of day: the upper 18 bits are seconds since UTC midnight, the lower 30 bits
    /// nanoseconds (Radarcape and receivers with a GPS clock).
    GpsTimeOfDay,
}

impl BeastClock {
    pub fn read(self, ts: [u8; TIMESTAMP_BYTES]) -> RecordTime {
        let raw = ts.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        match self {
            BeastClock::Counter12MHz => RecordTime::Counter12MHz(raw),
            BeastClock::GpsTimeOfDay => RecordTime::GpsTimeOfDay {
                seconds: (raw >> 30) as u32,
                nanos: (raw & 0x3fff_ffff) as u32,
            },
        }
    }
}

fn payload_len(kind: u8) -> Option<usize> {
    match kind {
        b'1' => Some(2),
        b'2' => Some(7),
        b'3' => Some(14),
        b'4' => Some(14),
        _ => None,
    }
}

#[derive(Debug, Default)]
pub struct BeastFramer {
    buf: ByteBuffer,
    clock: BeastClock,
    counters: FramingCounters,
    log: RejectionLog,
}

enum Scan {
    /// Need more bytes.
    Incomplete,
    /// A record of `consumed` escaped bytes was unescaped into the body.
    Record {
        consumed: usize,
        kind: u8,
        body: [u8; BODY_BYTES_MAX],
        len: usize,
    },
    /// Skip `n` bytes and count them under the given reason.
    Skip { n: usize, reason: SkipReason },
}

enum SkipReason {
    Garbage,
    Truncated,
    Malformed,
}

impl BeastFramer {
    pub fn new(clock: BeastClock) -> Self {
        Self {
            clock,
            ..Self::default()
        }
    }

    fn scan(pending: &[u8]) -> Scan {
        let Some(&first) = pending.first() else {
            return Scan::Incomplete;
        };
        if first != ESCAPE {
            let n = pending
                .iter()
                .position(|&b| b == ESCAPE)
                .unwrap_or(pending.len());
            return Scan::Skip {
                n,
                reason: SkipReason::Garbage,
            };
        }
        let Some(&kind) = pending.get(1) else {
            return Scan::Incomplete;
        };
        if kind == ESCAPE {
            // An escaped 0x1a outside a record: the tail of something we did not see begin.
            return Scan::Skip {
                n: 2,
                reason: SkipReason::Garbage,
            };
        }
        let Some(payload) = payload_len(kind) else {
            return Scan::Skip {
                n: 2,
                reason: SkipReason::Malformed,
            };
        };
        let need = TIMESTAMP_BYTES + 1 + payload;
        let mut body = [0u8; BODY_BYTES_MAX];
        let mut len = 0;
        let mut i = 2;
        while len < need {
            let Some(&b) = pending.get(i) else {
                return Scan::Incomplete;
            };
            if b == ESCAPE {
                match pending.get(i + 1) {
                    None => return Scan::Incomplete,
                    Some(&ESCAPE) => i += 2,
                    // A lone escape: the next record starts here, this one was cut short.
                    Some(_) => {
                        return Scan::Skip {
                            n: i,
                            reason: SkipReason::Truncated,
                        };
                    }
                }
            } else {
                i += 1;
            }
            body[len] = b;
            len += 1;
        }
        Scan::Record {
            consumed: i,
            kind,
            body,
            len,
        }
    }

    fn to_record(&self, kind: u8, body: &[u8]) -> Option<Record> {
        let mut ts = [0u8; TIMESTAMP_BYTES];
        ts.copy_from_slice(body.get(..TIMESTAMP_BYTES)?);
        let time = self.clock.read(ts);
        let signal = *body.get(TIMESTAMP_BYTES)?;
        let payload = body.get(TIMESTAMP_BYTES + 1..)?;
        match kind {
            b'1' => Some(Record::ModeAC {
                code: [*payload.first()?, *payload.get(1)?],
                time,
            }),
            b'2' | b'3' => Some(Record::ModeS(RawFrame {
                frame: ModeSFrame::new(payload)?,
                time,
                signal: Some(signal),
            })),
            _ => Some(Record::Status),
        }
    }
}

impl Framer for BeastFramer {
    fn push(&mut self, bytes: &[u8]) -> usize {
        self.buf.push(bytes)
    }

    fn next_record(&mut self) -> Option<Record> {
        loop {
            match Self::scan(self.buf.pending()) {
                Scan::Incomplete => return None,
                Scan::Skip { n, reason } => {
                    let at = self.buf.offset();
                    let why = match reason {
                        SkipReason::Garbage => {
                            self.counters.garbage_bytes += n as u64;
                            None
                        }
                        SkipReason::Truncated => {
                            self.counters.truncated += 1;
                            Some(
                                "record cut short by the start of the next one (a lone 0x1a)"
                                    .to_string(),
                            )
                        }
                        SkipReason::Malformed => {
                            self.counters.malformed += 1;
                            let kind = self.buf.pending().get(1).copied().unwrap_or(0);
                            Some(format!(
                                "unknown record type 0x{kind:02x} (want '1', '2', '3' or '4')"
                            ))
                        }
                    };
                    if let Some(reason) = why {
                        self.log.push(Rejection {
                            line: None,
                            byte_offset: Some(at),
                            reason,
                        });
                    }
                    self.buf.consume(n);
                }
                Scan::Record {
                    consumed,
                    kind,
                    body,
                    len,
                } => {
                    self.buf.consume(consumed);
                    match self.to_record(kind, &body[..len]) {
                        Some(r) => {
                            self.counters.records += 1;
                            return Some(r);
                        }
                        None => self.counters.malformed += 1,
                    }
                }
            }
        }
    }

    fn finish(&mut self) {
        let pending = self.buf.pending();
        if !pending.is_empty() {
            if pending[0] == ESCAPE {
                self.counters.truncated += 1;
                let at = self.buf.offset();
                self.log.push(Rejection {
                    line: None,
                    byte_offset: Some(at),
                    reason: "record cut short by the end of the stream".to_string(),
                });
            } else {
                self.counters.garbage_bytes += pending.len() as u64;
            }
            self.buf.clear();
        }
    }

    fn counters(&self) -> &FramingCounters {
        &self.counters
    }

    fn buffered_bytes(&self) -> usize {
        self.buf.len()
    }

    fn take_rejections(&mut self) -> Vec<Rejection> {
        self.log.take()
    }
}

/// Writes one record in Beast form with `0x1a` escaping (for tests, replays and forwarding).
pub fn encode_record(kind: u8, timestamp: u64, signal: u8, payload: &[u8], out: &mut Vec<u8>) {
    out.push(ESCAPE);
    out.push(kind);
    let ts = timestamp.to_be_bytes();
    for &b in ts[2..]
        .iter()
        .chain(std::iter::once(&signal))
        .chain(payload)
    {
        out.push(b);
        if b == ESCAPE {
            out.push(ESCAPE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::feed_all;

    const LONG: [u8; 14] = [
        0x8d, 0x48, 0x40, 0xd6, 0x20, 0x2c, 0xc3, 0x71, 0xc3, 0x2c, 0xe0, 0x57, 0x60, 0x98,
    ];

    fn run(input: &[u8], clock: BeastClock) -> (Vec<Record>, FramingCounters) {
        let mut f = BeastFramer::new(clock);
        let mut out = Vec::new();
        feed_all(&mut f, input, |r| out.push(r));
        f.finish();
        (out, *f.counters())
    }

    #[test]
    fn escaped_bytes_inside_a_record_are_unescaped() {
        let mut s = Vec::new();
        encode_record(b'3', 0x1a1a_0000_001a, 0x1a, &LONG, &mut s);
        assert!(s.windows(2).filter(|w| w == &[ESCAPE, ESCAPE]).count() >= 4);
        let (r, c) = run(&s, BeastClock::Counter12MHz);
        assert_eq!(c.records, 1);
        let Record::ModeS(f) = r[0] else { panic!() };
        assert_eq!(f.frame.as_bytes(), LONG);
        assert_eq!(f.time, RecordTime::Counter12MHz(0x1a1a_0000_001a));
        assert_eq!(f.signal, Some(0x1a));
    }

    #[test]
    fn gps_timestamp_splits_seconds_and_nanoseconds() {
        let raw = (43_200u64 << 30) | 123_456_789;
        let mut s = Vec::new();
        encode_record(b'2', raw, 0x80, &LONG[..7], &mut s);
        let (r, _) = run(&s, BeastClock::GpsTimeOfDay);
        let Record::ModeS(f) = r[0] else { panic!() };
        assert_eq!(
            f.time,
            RecordTime::GpsTimeOfDay {
                seconds: 43_200,
                nanos: 123_456_789
            }
        );
    }

    #[test]
    fn truncated_record_resynchronises_on_next_escape() {
        let mut s = vec![0x00, 0x42];
        encode_record(b'3', 7, 1, &LONG, &mut s);
        s.truncate(s.len() - 5); // cut the first good record short
        encode_record(b'3', 8, 1, &LONG, &mut s);
        encode_record(b'1', 9, 1, &[0x12, 0x34], &mut s);
        s.extend_from_slice(&[ESCAPE, b'9']); // unknown type
        encode_record(b'4', 10, 0, &[0; 14], &mut s);
        let (r, c) = run(&s, BeastClock::Counter12MHz);
        assert_eq!(c.garbage_bytes, 2);
        assert_eq!(c.truncated, 1);
        assert_eq!(c.malformed, 1);
        assert_eq!(c.records, 3);
        assert!(matches!(r[0], Record::ModeS(f) if f.time == RecordTime::Counter12MHz(8)));
        assert!(matches!(
            r[1],
            Record::ModeAC {
                code: [0x12, 0x34],
                ..
            }
        ));
        assert_eq!(r[2], Record::Status);
    }

    #[test]
    fn rejections_give_the_byte_offset() {
        let mut s = vec![0u8; 3];
        encode_record(b'3', 7, 1, &LONG, &mut s);
        s.truncate(s.len() - 1);
        let cut_at = 3;
        encode_record(b'3', 8, 1, &LONG, &mut s);
        let mut f = BeastFramer::new(BeastClock::Counter12MHz);
        feed_all(&mut f, &s, |_| {});
        let r = f.take_rejections();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].byte_offset, Some(cut_at));
        assert!(
            r[0].to_string().starts_with("byte 3: record cut short"),
            "{}",
            r[0]
        );
    }

    #[test]
    fn byte_at_a_time_equals_all_at_once() {
        let mut s = Vec::new();
        for i in 0..20u64 {
            encode_record(b'3', i * 0x1a, 0x1a, &LONG, &mut s);
        }
        let (all, _) = run(&s, BeastClock::Counter12MHz);
        let mut f = BeastFramer::new(BeastClock::Counter12MHz);
        let mut one = Vec::new();
        for b in &s {
            feed_all(&mut f, std::slice::from_ref(b), |r| one.push(r));
        }
        assert_eq!(all, one);
        assert_eq!(all.len(), 20);
    }
}
