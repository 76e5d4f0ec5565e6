//! An evidence bundle from arbitrary bytes: checked, never a panic; a bundle that verifies once
//! verifies the same way again.
#![no_main]

use deconflict_service::evidence::{Pins, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = verify(data, &Pins::default()) {
        let again = verify(data, &Pins::default()).expect("verified once");
        assert_eq!(again.incident, v.incident);
        assert_eq!(again.approaches, v.approaches);
    }
});
