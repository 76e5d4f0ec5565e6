//! Any bytes into the readers of outside lifecycle data: signature files, signed statements and
//! stored records. None may panic; a record that reads back must re-encode to itself.
#![no_main]

use deconflict_agreement::lifecycle::{Record, SignedStatement};
use deconflict_agreement::AgreementSignature;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = AgreementSignature::from_file_text(text);
    }
    let _ = SignedStatement::from_json(data);
    if let Ok(r) = Record::from_json(data) {
        let again = Record::from_json(&r.to_json()).expect("re-encoded record reads back");
        assert_eq!(again, r);
    }
});
