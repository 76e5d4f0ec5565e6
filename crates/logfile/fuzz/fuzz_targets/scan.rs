//! The log file's recovery scan over arbitrary file contents: an error or a state, never a panic.
#![no_main]

use deconflict_logfile::frame::scan;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut r = data;
    let _ = scan(&mut r, data.len() as u64, 1 << 20, |_| Ok(()));
});
