//! Fuzz the `.daa`/`.xyz` parser and the alerting run over what it accepts: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

const CONF: &str = include_str!("../../testdata/daidalus/configurations/DO_365B_no_SUM.conf");

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(encounter) = deconflict_wellclear::parse_encounter("fuzz.daa", text) {
            if let Ok(config) = deconflict_wellclear::parse_conf("DO_365B_no_SUM.conf", CONF) {
                let _ = deconflict_wellclear::alerting_csv(&config, &encounter, deconflict_wellclear::Ownship::First);
            }
        }
    }
});
