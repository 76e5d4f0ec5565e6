//! Line splitting shared by the text formats, with the [`LINE_BYTES_MAX`] bound.

use super::{ByteBuffer, FramingCounters, LINE_BYTES_MAX, Rejection, RejectionLog};

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
