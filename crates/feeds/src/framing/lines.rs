//! Line splitting shared by the text formats, with the [`LINE_BYTES_MAX`] bound.

use std::marker::PhantomData;

use super::{ByteBuffer, Framer, FramingCounters, LINE_BYTES_MAX, Rejection, RejectionLog};
use crate::frame::Record;

/// Splits a byte stream into lines (`\n`, an optional `\r` before it is dropped). A line longer
/// than [`LINE_BYTES_MAX`] is skipped up to its end and counted as too long.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    buf: ByteBuffer,
    /// Inside an over-long line: skip until the next newline.
    skipping: bool,
    /// Number of the line last handed out or skipped (1-based).
    line_no: u64,
    log: RejectionLog,
}

impl LineSplitter {
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) -> usize {
        self.buf.push(bytes)
    }

    /// Calls `f` with the next complete line (without its terminator); `false` when none is
    /// buffered yet.
    pub(crate) fn next_line<R>(
        &mut self,
        counters: &mut FramingCounters,
        mut f: impl FnMut(&[u8], &mut FramingCounters) -> R,
    ) -> Option<R> {
        loop {
            let pending = self.buf.pending();
            match pending.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    if self.skipping {
                        self.skipping = false;
                        self.buf.consume(end + 1);
                        continue;
                    }
                    self.line_no += 1;
                    if end > LINE_BYTES_MAX {
                        counters.too_long += 1;
                        self.reject(format!("line longer than {LINE_BYTES_MAX} bytes"));
                        self.buf.consume(end + 1);
                        continue;
                    }
                    let mut line = &pending[..end];
                    if let [rest @ .., b'\r'] = line {
                        line = rest;
                    }
                    let r = f(line, counters);
                    self.buf.consume(end + 1);
                    return Some(r);
                }
                None => {
                    let n = pending.len();
                    if n > LINE_BYTES_MAX {
                        if !self.skipping {
                            counters.too_long += 1;
                            self.line_no += 1;
                            self.reject(format!("line longer than {LINE_BYTES_MAX} bytes"));
                            self.skipping = true;
                        }
                        self.buf.consume(n);
                    }
                    return None;
                }
            }
        }
    }

    /// Describes a rejection of the line last handed out.
    pub(crate) fn reject(&mut self, reason: String) {
        self.log.push(Rejection {
            line: Some(self.line_no),
            byte_offset: None,
            reason,
        });
    }

    pub(crate) fn take_rejections(&mut self) -> Vec<Rejection> {
        self.log.take()
    }

    /// End of stream: a last line without a newline is still a line.
    pub(crate) fn finish(&mut self) {
        if self.skipping {
            self.buf.clear();
            self.skipping = false;
        } else if !self.buf.pending().is_empty() {
            let _ = self.buf.push(b"\n");
        }
    }
}

/// What one line of a line-oriented format holds.
#[derive(Debug)]
pub enum LineRecord {
    /// A record to hand out.
    Record(Record),
    /// Nothing to hand out and nothing wrong (a blank line, a comment).
    Nothing,
    /// A well-formed line of a kind that is not decoded: counted as ignored.
    Ignored,
    /// Not a line of the format: why, for the rejection log.
    Malformed(String),
}

/// A line-oriented format: what one line (without its terminator) holds.
pub trait LineFormat {
    fn parse(line: &[u8]) -> LineRecord;
}

/// The framer of a line-oriented format `F`: [`LineSplitter`] cuts the lines (bounded, with
/// their numbers for rejections), `F` reads each one.
#[derive(Debug)]
pub struct LineFramer<F> {
    lines: LineSplitter,
    counters: FramingCounters,
    format: PhantomData<F>,
}

impl<F> Default for LineFramer<F> {
    fn default() -> Self {
        LineFramer {
            lines: LineSplitter::default(),
            counters: FramingCounters::default(),
            format: PhantomData,
        }
    }
}

impl<F> LineFramer<F> {
    pub fn new() -> Self {
        Self::default()
    }
}

impl<F: LineFormat> Framer for LineFramer<F> {
    fn push(&mut self, bytes: &[u8]) -> usize {
        self.lines.push(bytes)
    }

    fn next_record(&mut self) -> Option<Record> {
        loop {
            match self
                .lines
                .next_line(&mut self.counters, |line, _| F::parse(line))?
            {
                LineRecord::Record(r) => {
                    self.counters.records += 1;
                    return Some(r);
                }
                LineRecord::Nothing => {}
                LineRecord::Ignored => self.counters.ignored += 1,
                LineRecord::Malformed(why) => {
                    self.counters.malformed += 1;
                    self.lines.reject(why);
                }
            }
        }
    }

    fn finish(&mut self) {
        self.lines.finish();
    }

    fn counters(&self) -> &FramingCounters {
        &self.counters
    }

    fn buffered_bytes(&self) -> usize {
        self.lines.buffered_bytes()
    }

    fn take_rejections(&mut self) -> Vec<Rejection> {
        self.lines.take_rejections()
    }
}
