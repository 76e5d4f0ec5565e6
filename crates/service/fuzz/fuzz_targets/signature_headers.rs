//! The RFC 9421 / RFC 9530 header parsers and the verifier over arbitrary header text.
#![no_main]

use deconflict_client::auth;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = auth::parse_signature_input(text);
    let _ = auth::parse_signature(text, "sig1");
    let _ = auth::parse_content_digest(text);
    let parts: Vec<&str> = text.splitn(3, '\n').collect();
    let p = auth::RequestParts {
        method: "POST",
        path: "/v1/tracks",
        query: None,
        content_digest: parts.first().copied(),
        signature_input: parts.get(1).copied(),
        signature: parts.get(2).copied(),
    };
    let key = ed25519_dalek_key();
    // Nothing unsigned may ever verify.
    assert!(auth::verify(&p, data, 0, 0, |_| Some(key)).is_err());
});

fn ed25519_dalek_key() -> ed25519_dalek::VerifyingKey {
    ed25519_dalek::SigningKey::from_bytes(&[5; 32]).verifying_key()
}
