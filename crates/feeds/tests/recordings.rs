//! Every recording in `testdata/` ingests end to end. The counts of aircraft and positions that
//! come out are checked; where the recording's README states a figure, that figure is the oracle.

mod common;

use std::collections::HashMap;

use common::{ingest, reference, testdata};
use deconflict_feeds::framing::Format;

#[test]
fn dump1090_beast_sample() {
    let bytes = testdata("traffic_sample_dump1090.beast");
    let s = ingest(Format::Beast, &bytes, None, 64 * 1024);
    // README: 239 records (185 short, 54 long), real 0x1a escaping, nothing malformed.
    assert_eq!(s.counters.framing.records, 239);
    assert_eq!(
        s.counters.framing.rejected() + s.counters.framing.garbage_bytes,
        0
    );
    assert_eq!(s.counters.decode.frames, 239);
    assert_eq!(s.counters.decode.bad_crc + s.counters.decode.malformed, 0);
    assert_eq!((s.aircraft.len(), s.aircraft_with_position.len()), (1, 1));
    assert_eq!(s.counters.decode.positions, 3);
    // The same stream one byte at a time gives the same updates.
    let one = ingest(Format::Beast, &bytes, None, 1);
    assert_eq!(one.updates, s.updates);
}

#[test]
fn sbs_lax_capture() {
    let bytes = testdata("sbs1_msgs_lax.sbs");
    let s = ingest(Format::Sbs, &bytes, None, 64 * 1024);
    assert_eq!(s.counters.framing.records, 4_184);
    assert_eq!(s.counters.framing.rejected(), 0);
    // Oracle straight from the text: aircraft with any value, and position changes per aircraft.
    let text = std::str::from_utf8(&bytes).unwrap();
    let mut with_data = std::collections::BTreeSet::new();
    let mut last: HashMap<&str, (&str, &str)> = HashMap::new();
    let mut position_changes = 0;
    for line in text.lines() {
        let f: Vec<&str> = line.split(',').collect();
        if f[10..18].iter().chain(&f[21..22]).any(|v| !v.is_empty()) {
            with_data.insert(f[4]);
        }
        if !f[14].is_empty() && last.insert(f[4], (f[14], f[15])) != Some((f[14], f[15])) {
            position_changes += 1;
        }
    }
    assert_eq!(s.aircraft.len(), with_data.len());
    assert_eq!((s.aircraft.len(), s.aircraft_with_position.len()), (23, 5));
    assert_eq!(s.position_updates, position_changes);
    assert_eq!(s.position_updates, 69);
    let one = ingest(Format::Sbs, &bytes, None, 1);
    assert_eq!(one.updates, s.updates);
}

#[test]
fn avr_lax_recording() {
    let bytes = testdata("adsb_deku_lax_messages_avr.txt.gz");
    let s = ingest(Format::Avr, &bytes, reference(33.9425, -118.408), 64 * 1024);
    // README: 215 606 frames, no timestamps.
    assert_eq!(s.counters.framing.records, 215_606);
    assert_eq!(s.counters.framing.rejected(), 0);
    assert_eq!(s.counters.decode.frames, 215_606);
    assert_eq!(
        s.counters.decode.decoded + s.counters.decode.malformed,
        215_606
    );
    assert_eq!(s.counters.decode.malformed, 7);
    assert_eq!(
        (s.aircraft.len(), s.aircraft_with_position.len()),
        (158, 116)
    );
    assert_eq!(s.counters.decode.positions, 23_970);
    assert_eq!(s.position_updates, 23_969);
}

#[test]
fn toulouse_hex_recording() {
    let bytes = testdata("rs1090_long_flight_beasthex.csv.gz");
    let s = ingest(Format::HexCsv, &bytes, reference(43.626, 1.364), 64 * 1024);
    // README: 172 432 frames, rs1090 decodes every one of them.
    assert_eq!(s.counters.framing.records, 172_432);
    assert_eq!(s.counters.decode.decoded, 172_432);
    assert_eq!((s.aircraft.len(), s.aircraft_with_position.len()), (20, 8));
    // README: 10 301 airborne positions from stateful CPR; surface positions come on top with
    // the Toulouse reference.
    assert_eq!(s.counters.decode.positions, 12_659);
    assert_eq!(s.position_updates, 12_442);
    // The flight the recording follows: KLM1302, 486257.
    assert!(s.aircraft_with_position.contains(&0x486257));
}
