//! Fuzz the `.conf` parser: any bytes must give a configuration or an error, never a panic;
//! an accepted configuration must be usable by the alerting logic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(config) = deconflict_wellclear::parse_conf("fuzz.conf", text) {
            let daa = deconflict_wellclear::Daa::new(config);
            let _ = deconflict_wellclear::csv::header(&daa);
        }
    }
});
