//! The snapshot CSV parser on arbitrary bytes: it must return a snapshot or an error, never
//! panic; and whatever it accepts must probe without panicking.
#![no_main]

use deconflict_engine::snapshot::parse;
use deconflict_engine::{ProbeConfig, probe};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(snapshot) = parse(data) {
        let _ = probe(&snapshot, &ProbeConfig::default());
    }
});
