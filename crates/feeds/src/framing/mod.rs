//! Framing: bytes in, records out, for each feed format.
//!
//! Every parser here is pure and incremental: [`Framer::push`] takes whatever bytes arrived
//! (any split, even one byte at a time), [`Framer::next_record`] hands out the whole records found
//! so far. Nothing is lost on a boundary; a malformed record is counted by reason and skipped, and
//! the parser resynchronises on the next record start. Every buffer has a named bound.

pub mod avr;
pub mod beast;
pub mod detect;
pub mod hexcsv;
pub mod lines;
pub mod sbs;

use crate::frame::Record;

/// Bytes a parser holds while waiting for the end of a record. A record is at most a few dozen
/// bytes (an SBS line a few hundred), so this is ample; [`Framer::push`] takes no more than fits.
pub const BUFFER_BYTES_MAX: usize = 64 * 1024;

/// Longest text line accepted (AVR, SBS, hex recordings). Longer lines are skipped and counted.
pub const LINE_BYTES_MAX: usize = 512;

/// Rejected records described in detail and held until taken; beyond this, rejections are
/// still counted but not described.
pub const REJECTIONS_HELD_MAX: usize = 64;

/// What was wrong with one rejected record, and where it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// 1-based line number (text formats).
    pub line: Option<u64>,
    /// Offset of the record's first byte in the stream (Beast).
    pub byte_offset: Option<u64>,
    pub reason: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.byte_offset) {
            (Some(l), _) => write!(f, "line {l}: {}", self.reason),
            (None, Some(o)) => write!(f, "byte {o}: {}", self.reason),
            (None, None) => write!(f, "{}", self.reason),
        }
    }
}

/// A bounded list of [`Rejection`]s.
#[derive(Debug, Default)]
pub(crate) struct RejectionLog(Vec<Rejection>);

impl RejectionLog {
    pub(crate) fn push(&mut self, r: Rejection) {
        if self.0.len() < REJECTIONS_HELD_MAX {
            self.0.push(r);
        }
    }

    pub(crate) fn take(&mut self) -> Vec<Rejection> {
        std::mem::take(&mut self.0)
    }
}

/// The feed formats this crate frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// Beast binary (TCP port 30005 style).
    Beast,
    /// AVR raw text (port 30002 style).
    Avr,
    /// SBS-1 BaseStation CSV (port 30003 style).
    Sbs,
    /// `<unix time>,<hex Beast record>` per line.
    HexCsv,
}

/// Counters kept by every parser. Each rejected record is counted under exactly one reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FramingCounters {
    /// Records handed out.
    pub records: u64,
    /// Bytes skipped while looking for the start of a record.
    pub garbage_bytes: u64,
    /// Records cut short by the start of the next one or by the end of the stream.
    pub truncated: u64,
    /// Lines longer than [`LINE_BYTES_MAX`].
    pub too_long: u64,
    /// Records with a bad type, bad hex, wrong length, or a bad field.
    pub malformed: u64,
    /// Well-formed records of a kind that carries nothing for tracks (SBS `AIR`, `STA`, …).
    pub ignored: u64,
}

impl FramingCounters {
    /// Records rejected for any framing reason.
    pub fn rejected(&self) -> u64 {
        self.truncated + self.too_long + self.malformed
    }
}

/// An incremental parser of one feed format.
pub trait Framer {
    /// Appends bytes; returns how many were taken (fewer than offered only when the internal
    /// buffer is full: drain [`Framer::next_record`] and offer the rest again).
    fn push(&mut self, bytes: &[u8]) -> usize;
    /// The next whole record, if one is buffered.
    fn next_record(&mut self) -> Option<Record>;
    /// End of stream: a partial record left in the buffer is counted as truncated.
    fn finish(&mut self);
    fn counters(&self) -> &FramingCounters;
    /// Bytes held waiting for the end of a record; never more than [`BUFFER_BYTES_MAX`].
    fn buffered_bytes(&self) -> usize;
    /// The rejections described since the last call (at most [`REJECTIONS_HELD_MAX`]).
    fn take_rejections(&mut self) -> Vec<Rejection>;
}

/// A parser for `format`, boxed so that a connection can pick its format at run time.
pub fn framer(format: Format, beast_clock: beast::BeastClock) -> Box<dyn Framer + Send> {
    match format {
        Format::Beast => Box::new(beast::BeastFramer::new(beast_clock)),
        Format::Avr => Box::new(avr::AvrFramer::new()),
        Format::Sbs => Box::new(sbs::SbsFramer::new()),
        Format::HexCsv => Box::new(hexcsv::HexCsvFramer::new()),
    }
}

/// Pushes all of `bytes` through `framer`, handing each record to `sink`.
pub fn feed_all(framer: &mut dyn Framer, mut bytes: &[u8], mut sink: impl FnMut(Record)) {
    while !bytes.is_empty() {
        let taken = framer.push(bytes);
        bytes = &bytes[taken..];
        while let Some(r) = framer.next_record() {
            sink(r);
        }
    }
    while let Some(r) = framer.next_record() {
        sink(r);
    }
}

/// A byte buffer with a read position, bounded by [`BUFFER_BYTES_MAX`].
#[derive(Debug, Default)]
pub(crate) struct ByteBuffer {
    data: Vec<u8>,
    start: usize,
    /// Bytes consumed since the stream began: the offset of `pending()[0]`.
    consumed_total: u64,
}

impl ByteBuffer {
    pub(crate) fn push(&mut self, bytes: &[u8]) -> usize {
        if self.start > 0
            && (self.start >= self.data.len() / 2
                || self.data.len() + bytes.len() > BUFFER_BYTES_MAX)
        {
            self.data.drain(..self.start);
            self.start = 0;
        }
        let room = BUFFER_BYTES_MAX.saturating_sub(self.data.len());
        let n = room.min(bytes.len());
        self.data.extend_from_slice(&bytes[..n]);
        n
    }

    pub(crate) fn len(&self) -> usize {
        self.data.len()
    }

    pub(crate) fn pending(&self) -> &[u8] {
        &self.data[self.start..]
    }

    pub(crate) fn offset(&self) -> u64 {
        self.consumed_total
    }

    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.data.len() - self.start);
        self.consumed_total += n as u64;
        self.start += n;
        if self.start == self.data.len() {
            self.data.clear();
            self.start = 0;
        }
    }

    pub(crate) fn clear(&mut self) {
        self.consumed_total += (self.data.len() - self.start) as u64;
        self.data.clear();
        self.start = 0;
    }
}

/// Value of one ASCII hex digit.
pub(crate) fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes hex text into `out`; `None` on an odd length, a bad digit or a length over `out`.
pub(crate) fn hex_decode<'a>(text: &[u8], out: &'a mut [u8]) -> Option<&'a [u8]> {
    if !text.len().is_multiple_of(2) || text.len() / 2 > out.len() {
        return None;
    }
    for (i, pair) in text.chunks_exact(2).enumerate() {
        out[i] = (hex_val(pair[0])? << 4) | hex_val(pair[1])?;
    }
    Some(&out[..text.len() / 2])
}
