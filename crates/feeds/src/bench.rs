//! The work measured by `deconflict bench ingest`, without the clock (the caller times it).
//!
//! Both sides see the same frames: [`frames_of`] frames a recording once, [`bare_decode`] is
//! rs1090's decoding of each frame alone (what rs1090's own benchmark measures), and
//! [`end_to_end`] is this crate's whole path from the recording's bytes: framing, decoding with
//! stateful CPR, and track update.

use crate::frame::{ModeSFrame, Record};
use crate::framing::beast::BeastClock;
use crate::framing::{Format, feed_all, framer};
use crate::pipeline::{Counters, Pipeline, PipelineConfig, TimeMode};
use crate::report::{LatLon, SourceId};

/// The Mode S frames of a recording, in order.
pub fn frames_of(format: Format, bytes: &[u8]) -> Vec<ModeSFrame> {
    let mut f = framer(format, BeastClock::Counter12MHz);
    let mut out = Vec::new();
    feed_all(f.as_mut(), bytes, |r| {
        if let Record::ModeS(raw) = r {
            out.push(raw.frame);
        }
    });
    out
}

/// rs1090 alone: `Message::try_from` on every frame; returns how many decoded.
pub fn bare_decode(frames: &[ModeSFrame]) -> usize {
    frames
        .iter()
        .filter(|f| rs1090::decode::Message::try_from(std::hint::black_box(f.as_bytes())).is_ok())
        .count()
}

/// The whole pipeline over a recording; returns its counters.
pub fn end_to_end(format: Format, bytes: &[u8], reference: Option<LatLon>) -> Counters {
    let mut cfg = PipelineConfig::new(format, TimeMode::Record);
    cfg.decoder.reference = reference;
    let mut p = Pipeline::new(cfg);
    let mut updates = 0u64;
    p.push(SourceId(0), 0.0, bytes, |_| updates += 1);
    p.close(SourceId(0), 0.0, |_| updates += 1);
    std::hint::black_box(updates);
    p.counters()
}
