//! Fuzzes the whole path (framing, rs1090 decoding, tracking) for every format.
#![no_main]

use deconflict_feeds::framing::Format;
use deconflict_feeds::pipeline::{Pipeline, PipelineConfig, TimeMode};
use deconflict_feeds::report::SourceId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else { return };
    let format = [Format::Beast, Format::Avr, Format::Sbs, Format::HexCsv][usize::from(which % 4)];
    let mut cfg = PipelineConfig::new(format, TimeMode::Record);
    cfg.tracker.tracks_max = 16;
    let mut p = Pipeline::new(cfg);
    p.push(SourceId(0), 0.0, bytes, |_| {});
    p.close(SourceId(0), 0.0, |_| {});
    let c = p.counters();
    assert!(c.tracks_alive <= 16);
    let d = c.decode;
    assert_eq!(d.frames, d.decoded + d.bad_crc + d.unknown_df + d.length_mismatch + d.malformed + d.cpr_states_full);
});
