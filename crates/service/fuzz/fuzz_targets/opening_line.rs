//! One line of an openings file from arbitrary bytes: parsed and checked, never a panic; an
//! accepted line always opens the commitment it names.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((c, o)) = deconflict_service::log_entries::parse_opening_line(data) {
        assert_eq!(o.commitment().ok(), Some(c));
    }
});
