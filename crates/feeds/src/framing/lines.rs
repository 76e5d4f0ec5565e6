//! Line splitting shared by the text formats, with the [`LINE_BYTES_MAX`] bound.

use super::{ByteBuffer, FramingCounters, LINE_BYTES_MAX};

/// Splits a byte stream into lines (`\n`, an optional `\r` before it is dropped). A line longer
/// than [`LINE_BYTES_MAX`] is skipped up to its end and counted as too long.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    buf: ByteBuffer,
    /// Inside an over-long line: skip until the next newline.
    skipping: bool,
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
                    if end > LINE_BYTES_MAX {
                        counters.too_long += 1;
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
                    if pending.len() > LINE_BYTES_MAX {
                        if !self.skipping {
                            counters.too_long += 1;
                            self.skipping = true;
                        }
                        let n = pending.len();
                        self.buf.consume(n);
                    }
                    return None;
                }
            }
        }
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
