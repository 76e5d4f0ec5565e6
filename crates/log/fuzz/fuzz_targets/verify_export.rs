//! The export verifier over arbitrary bytes: it must return an error or a summary, never panic.
#![no_main]

use deconflict_log::{VerifyOptions, verify_export};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = verify_export(data, VerifyOptions::default());
});
