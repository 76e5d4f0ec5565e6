//! Any bytes into the agreement readers (TOML file, canonical JSON): they must return, never
//! panic, and whatever they accept must re-encode to the same canonical bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = deconflict_agreement::decode::from_canonical_json(data) {
        assert_eq!(a.canonical_bytes(), data);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(a) = deconflict_agreement::parse_toml(text) {
            let b = deconflict_agreement::parse_toml(text).expect("parsed once, parses again");
            assert_eq!(a.canonical_bytes(), b.canonical_bytes());
        }
    }
});
