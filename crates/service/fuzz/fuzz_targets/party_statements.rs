//! What parties author over arbitrary bytes: line sends and acknowledgements (then the record
//! entry each becomes), and lifecycle requests (then the signed statement inside); never a panic.
#![no_main]

use deconflict_service::error::parse_json;
use deconflict_service::line::{LineAck, LineSend, log_entry_for_message};
use deconflict_client::wire::AgreementActionRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(send) = parse_json::<LineSend>(data) {
        let _ = log_entry_for_message(&send.message);
    }
    let _ = parse_json::<LineAck>(data);
    if let Ok(req) = parse_json::<AgreementActionRequest>(data) {
        let _ = deconflict_agreement::lifecycle::SignedStatement::from_value(req.statement);
    }
});
