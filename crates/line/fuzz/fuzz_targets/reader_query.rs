//! Any bytes as a reader's query string: never a panic; what parses renders a time.
#![no_main]

use deconflict_line::lang::{CoordFormat, Language, ReaderProfile};
use deconflict_line::render::format_time;
use deconflict_line::units::{Timestamp, UtcOffset};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let default = ReaderProfile::new(Language::english(), UtcOffset::UTC, CoordFormat::Decimal);
    if let Ok(reader) = ReaderProfile::from_query(query, default) {
        let _ = format_time(&reader, Timestamp::EPOCH);
    }
});
