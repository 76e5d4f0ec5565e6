//! Any bytes into the agreement file parser: it must return, never panic, and whatever it
//! accepts must re-encode to the same canonical bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(a) = deconflict_agreement::parse_toml(text) {
            let b = deconflict_agreement::parse_toml(text).expect("parsed once, parses again");
            assert_eq!(a.canonical_bytes(), b.canonical_bytes());
        }
    }
});
