//! Fuzzes every framer: any bytes, split anywhere, must never panic, must keep the buffer
//! bounded, and must hand out exactly the records it counts. The first byte chooses the format
//! (and, for Beast, the timestamp form); the second the chunk size, so that record boundaries
//! fall everywhere.
#![no_main]

use deconflict_feeds::framing::beast::BeastClock;
use deconflict_feeds::framing::{BUFFER_BYTES_MAX, Format, framer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [which, split, bytes @ ..] = data else {
        return;
    };
    let format = [Format::Beast, Format::Avr, Format::Sbs, Format::HexCsv][usize::from(which % 4)];
    let clock = if which & 0x80 == 0 {
        BeastClock::Counter12MHz
    } else {
        BeastClock::GpsTimeOfDay
    };
    let mut f = framer(format, clock);
    let mut n = 0u64;
    for chunk in bytes.chunks(usize::from(*split).max(1)) {
        let mut rest = chunk;
        while !rest.is_empty() {
            let taken = f.push(rest);
            rest = &rest[taken..];
            assert!(f.buffered_bytes() <= BUFFER_BYTES_MAX);
            while f.next_record().is_some() {
                n += 1;
            }
        }
    }
    f.finish();
    while f.next_record().is_some() {
        n += 1;
    }
    assert_eq!(n, f.counters().records);
});
