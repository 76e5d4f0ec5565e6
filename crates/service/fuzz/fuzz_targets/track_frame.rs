//! A track stream frame (`GET /v1/tracks/stream`), as the service reads it: its structure, its
//! signature, then its payload as a batch. Nothing may panic; a frame that decodes accounts for
//! every byte.
#![no_main]

use deconflict_client::wire::frame::{FRAME_BYTES_MIN, FRAME_PAYLOAD_BYTES_MAX, decode_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = decode_frame(data, FRAME_PAYLOAD_BYTES_MAX) {
        assert_eq!(f.payload.len() + FRAME_BYTES_MIN, data.len());
        let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key();
        let _ = f.verify(&key, "coalition", "nonce-of-the-stream");
        let _ = deconflict_service::error::parse_json::<deconflict_client::wire::TrackBatchIn>(
            f.payload,
        );
    }
});
