//! The frame of the track stream (`GET /v1/tracks/stream`): one WebSocket binary message carrying
//! one batch of track reports, signed by the party and bound to its stream and its place in it,
//! and the answer the service gives each frame.
//!
//! Layout (all integers big-endian):
//!
//! | offset  | size | field                                              |
//! |---------|------|----------------------------------------------------|
//! | 0       | 4    | magic, ASCII `DCF1`                                |
//! | 4       | 8    | frame number: 1 for the stream's first, then +1    |
//! | 12      | 4    | payload length N                                   |
//! | 16      | N    | payload, a JSON `{"reports": [...]}` batch         |
//! | 16 + N  | 64   | Ed25519 signature by the party's key               |
//!
//! The signature covers `FRAME_DOMAIN 0x00 party 0x00 nonce 0x00`, then bytes `4 .. 16` of the
//! frame (number and length), then the SHA-256 of the payload (32 bytes), where `nonce` is the
//! nonce of the stream's signed upgrade request. A frame replayed in another stream, reordered,
//! repeated or altered fails. The payload is signed through its digest: Ed25519 would hash a
//! long message with SHA-512 twice to sign it and once to verify, where SHA-256 (in hardware on
//! most processors) passes over it once on each side.
//!
//! This module is the only place that knows the layout; both the client and the service encode,
//! decode and verify frames through it.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ErrorBody;

/// The first four bytes of every frame.
pub const FRAME_MAGIC: [u8; 4] = *b"DCF1";
/// Bytes before the payload: magic, frame number and payload length.
pub const FRAME_HEADER_BYTES: usize = 16;
/// Bytes of the Ed25519 signature that ends every frame.
pub const FRAME_SIGNATURE_BYTES: usize = 64;
/// The smallest frame: a header, an empty payload and a signature.
pub const FRAME_BYTES_MIN: usize = FRAME_HEADER_BYTES + FRAME_SIGNATURE_BYTES;
/// Largest payload of one frame, in bytes: the API's body limit (4 MiB), the same as a
/// `POST /v1/tracks/batch` body.
pub const FRAME_PAYLOAD_BYTES_MAX: usize = 4 * 1024 * 1024;
/// The domain separator that starts every signed frame message, so that a frame signature can
/// never be taken for a signature of anything else the party signs.
pub const FRAME_DOMAIN: &[u8] = b"deconflict-track-frame-v1";
/// Most frames the service reads ahead of its answers; past that it stops reading and TCP
/// pushes back on the client.
pub const STREAM_FRAMES_AHEAD_MAX: usize = 8;
/// The path of the stream's WebSocket upgrade, as signed.
pub const STREAM_PATH: &str = "/v1/tracks/stream";

/// Offset of the frame number.
const NUMBER_OFFSET: usize = 4;
/// Offset of the payload length.
const LENGTH_OFFSET: usize = 12;

/// Encodes frame `number` of the stream named by `nonce`, carrying `payload`, signed with the
/// party's `key`.
///
/// The payload must be at most [`FRAME_PAYLOAD_BYTES_MAX`] bytes for the service to accept the
/// frame. A payload longer than `u32::MAX` bytes cannot be described by the length field; its
/// frame declares `u32::MAX` and every decoder refuses it as a length mismatch.
pub fn encode_frame(
    key: &SigningKey,
    party: &str,
    nonce: &str,
    number: u64,
    payload: &[u8],
) -> Vec<u8> {
    let declared = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut frame = Vec::with_capacity(FRAME_BYTES_MIN + payload.len());
    frame.extend_from_slice(&FRAME_MAGIC);
    frame.extend_from_slice(&number.to_be_bytes());
    frame.extend_from_slice(&declared.to_be_bytes());
    frame.extend_from_slice(payload);
    let message = signed_message(
        party,
        nonce,
        &frame[NUMBER_OFFSET..FRAME_HEADER_BYTES],
        payload,
    );
    frame.extend_from_slice(&key.sign(&message).to_bytes());
    frame
}

/// The bytes a frame's signature covers: the domain, the party and the stream's nonce, each
/// followed by a zero byte, then the frame's number and length (`fields`, bytes 4..16) and the
/// SHA-256 of its payload.
fn signed_message(party: &str, nonce: &str, fields: &[u8], payload: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    let mut message =
        Vec::with_capacity(FRAME_DOMAIN.len() + party.len() + nonce.len() + 3 + fields.len() + 32);
    message.extend_from_slice(FRAME_DOMAIN);
    message.push(0);
    message.extend_from_slice(party.as_bytes());
    message.push(0);
    message.extend_from_slice(nonce.as_bytes());
    message.push(0);
    message.extend_from_slice(fields);
    message.extend_from_slice(&sha2::Sha256::digest(payload));
    message
}

/// A frame whose structure is sound (see [`decode_frame`]); its signature is checked by
/// [`Frame::verify`], which must pass before the payload is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The frame's number in its stream (1 for the first).
    pub number: u64,
    /// The payload: a JSON `{"reports": [...]}` batch, not yet parsed.
    pub payload: &'a [u8],
    /// Bytes `4 .. 16 + N` of the frame: what the signature covers after the prefix.
    signed: &'a [u8],
    /// The last 64 bytes of the frame.
    signature: &'a [u8; FRAME_SIGNATURE_BYTES],
}

/// Reads the structure of a frame: at least [`FRAME_BYTES_MIN`] bytes, the magic, a declared
/// payload length equal to the payload present, and a payload of at most `payload_max` bytes.
/// The signature is not checked here: see [`Frame::verify`]. Never panics, whatever `bytes` are.
pub fn decode_frame(bytes: &[u8], payload_max: usize) -> Result<Frame<'_>, FrameError> {
    let too_short = FrameError::TooShort { bytes: bytes.len() };
    if bytes.len() < FRAME_BYTES_MIN {
        return Err(too_short);
    }
    // With the length checked none of these splits can fail; they are written as splits so
    // that no index can panic.
    let (body, signature) = bytes
        .split_last_chunk::<FRAME_SIGNATURE_BYTES>()
        .ok_or_else(|| too_short.clone())?;
    let (magic, fields) = body
        .split_first_chunk::<NUMBER_OFFSET>()
        .ok_or_else(|| too_short.clone())?;
    let (number, fields) = fields
        .split_first_chunk::<{ LENGTH_OFFSET - NUMBER_OFFSET }>()
        .ok_or_else(|| too_short.clone())?;
    let (length, payload) = fields
        .split_first_chunk::<{ FRAME_HEADER_BYTES - LENGTH_OFFSET }>()
        .ok_or(too_short)?;
    if *magic != FRAME_MAGIC {
        return Err(FrameError::BadMagic { found: *magic });
    }
    let declared = u32::from_be_bytes(*length);
    if usize::try_from(declared).ok() != Some(payload.len()) {
        return Err(FrameError::LengthMismatch {
            declared: u64::from(declared),
            actual: payload.len(),
        });
    }
    if payload.len() > payload_max {
        return Err(FrameError::TooLarge {
            bytes: payload.len(),
            max: payload_max,
        });
    }
    Ok(Frame {
        number: u64::from_be_bytes(*number),
        payload,
        signed: body.get(NUMBER_OFFSET..).unwrap_or_default(),
        signature,
    })
}

impl Frame<'_> {
    /// Checks the frame's signature (strict Ed25519) by `key`, for `party` and the stream
    /// named by `nonce`.
    pub fn verify(&self, key: &VerifyingKey, party: &str, nonce: &str) -> Result<(), FrameError> {
        let fields = self
            .signed
            .get(..FRAME_HEADER_BYTES - NUMBER_OFFSET)
            .unwrap_or_default();
        let message = signed_message(party, nonce, fields, self.payload);
        key.verify_strict(&message, &Signature::from_bytes(self.signature))
            .map_err(|_| FrameError::BadSignature {
                number: self.number,
                offset: FRAME_HEADER_BYTES + self.payload.len(),
            })
    }
}

/// Why a frame was refused. Every variant is an integrity failure: the service answers it with
/// `{"frame": n, "error": ...}` and closes the stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Fewer bytes than a header and a signature.
    #[error(
        "frame of {bytes} bytes is shorter than the {FRAME_BYTES_MIN} bytes of a header \
         ({FRAME_HEADER_BYTES}) and a signature ({FRAME_SIGNATURE_BYTES})"
    )]
    TooShort {
        /// The frame's length.
        bytes: usize,
    },
    /// The first four bytes are not [`FRAME_MAGIC`].
    #[error("bytes 0..4 of the frame are {found:02x?}, not the magic \"DCF1\"")]
    BadMagic {
        /// The four bytes found.
        found: [u8; 4],
    },
    /// The payload length in bytes 12..16 is not the length of the payload present.
    #[error(
        "bytes 12..16 of the frame declare a payload of {declared} bytes, but the frame holds \
         {actual} (its length minus the {FRAME_BYTES_MIN} bytes of header and signature)"
    )]
    LengthMismatch {
        /// The length declared.
        declared: u64,
        /// The payload's length in the frame.
        actual: usize,
    },
    /// The payload is longer than the limit.
    #[error("the payload (bytes 16..{}) is {bytes} bytes, over the limit of {max}", FRAME_HEADER_BYTES + bytes)]
    TooLarge {
        /// The payload's length.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The signature does not verify for this key, party, stream and frame.
    #[error(
        "frame {number}: the signature (bytes {offset}..{}) does not verify with the party's \
         key for this stream (altered, reordered, or from another stream or party)",
        offset + FRAME_SIGNATURE_BYTES
    )]
    BadSignature {
        /// The frame number the frame declares.
        number: u64,
        /// Offset of the signature in the frame.
        offset: usize,
    },
}

impl FrameError {
    /// A stable machine-readable code for the error, used as the answer's `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            FrameError::TooShort { .. } => "frame_too_short",
            FrameError::BadMagic { .. } => "frame_bad_magic",
            FrameError::LengthMismatch { .. } => "frame_length_mismatch",
            FrameError::TooLarge { .. } => "frame_too_large",
            FrameError::BadSignature { .. } => "frame_bad_signature",
        }
    }
}

/// The service's answer to one frame, a WebSocket text message; exactly one of `accepted`,
/// `refused` and `error` is present.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct FrameAnswer {
    /// The number of the frame answered.
    pub frame: u64,
    /// The frame's reports are durable; how many there were (as a batch answered 200).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub accepted: Option<usize>,
    /// The frame was intact and signed but its reports were refused as a whole, as the batch
    /// endpoint would refuse them; the stream goes on with the next frame.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub refused: Option<ErrorBody>,
    /// The frame failed its integrity check; the service closes the stream after this answer.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<ErrorBody>,
}

impl FrameAnswer {
    /// Frame `frame`'s `n` reports are durable.
    pub fn accepted(frame: u64, n: usize) -> FrameAnswer {
        FrameAnswer {
            frame,
            accepted: Some(n),
            refused: None,
            error: None,
        }
    }

    /// Frame `frame`'s reports were refused as a batch's would be, for `why`.
    pub fn refused(frame: u64, why: ErrorBody) -> FrameAnswer {
        FrameAnswer {
            frame,
            accepted: None,
            refused: Some(why),
            error: None,
        }
    }

    /// Frame `frame` failed its integrity, for `why`; the stream closes after it.
    pub fn error(frame: u64, why: ErrorBody) -> FrameAnswer {
        FrameAnswer {
            frame,
            accepted: None,
            refused: None,
            error: Some(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PARTY: &str = "coalition";
    const NONCE: &str = "n0nce-of-the-stream";
    const MAX: usize = FRAME_PAYLOAD_BYTES_MAX;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn frame(payload: &[u8]) -> Vec<u8> {
        encode_frame(&key(1), PARTY, NONCE, 7, payload)
    }

    /// Decodes and verifies with the key, party and nonce the frame was made with.
    fn check(bytes: &[u8]) -> Result<(u64, Vec<u8>), FrameError> {
        let f = decode_frame(bytes, MAX)?;
        f.verify(&key(1).verifying_key(), PARTY, NONCE)?;
        Ok((f.number, f.payload.to_vec()))
    }

    fn flip(bytes: &[u8], index: usize, bit: u8) -> Vec<u8> {
        let mut b = bytes.to_vec();
        b[index] ^= 1 << bit;
        b
    }

    #[test]
    fn round_trip() {
        let payload = br#"{"reports":[]}"#;
        let bytes = frame(payload);
        assert_eq!(bytes.len(), FRAME_BYTES_MIN + payload.len());
        assert_eq!(bytes.capacity(), bytes.len());
        assert_eq!(&bytes[..4], b"DCF1");
        assert_eq!(&bytes[4..12], &7u64.to_be_bytes());
        assert_eq!(&bytes[12..16], &(payload.len() as u32).to_be_bytes());
        assert_eq!(check(&bytes), Ok((7, payload.to_vec())));
    }

    #[test]
    fn round_trip_empty_payload() {
        let bytes = frame(b"");
        assert_eq!(bytes.len(), FRAME_BYTES_MIN);
        assert_eq!(check(&bytes), Ok((7, Vec::new())));
    }

    #[test]
    fn signature_covers_the_documented_bytes() {
        let payload = b"{}";
        let bytes = frame(payload);
        let mut message = b"deconflict-track-frame-v1\0coalition\0n0nce-of-the-stream\0".to_vec();
        message.extend_from_slice(&bytes[4..16]);
        // SHA-256("{}"), as published digests of that string give it.
        message.extend_from_slice(
            &hex::decode("44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
                .unwrap(),
        );
        let signature = Signature::from_slice(&bytes[16 + payload.len()..]).unwrap();
        assert!(
            key(1)
                .verifying_key()
                .verify_strict(&message, &signature)
                .is_ok()
        );
    }

    #[test]
    fn payload_bit_flipped_fails_verify() {
        let bytes = frame(b"{\"reports\":[]}");
        for i in FRAME_HEADER_BYTES..bytes.len() - FRAME_SIGNATURE_BYTES {
            let e = check(&flip(&bytes, i, 0)).unwrap_err();
            assert_eq!(e.code(), "frame_bad_signature", "byte {i}");
        }
    }

    #[test]
    fn number_bit_flipped_fails_verify() {
        let bytes = frame(b"{}");
        for i in 4..12 {
            for bit in 0..8 {
                let altered = flip(&bytes, i, bit);
                assert_ne!(decode_frame(&altered, MAX).unwrap().number, 7);
                assert!(matches!(
                    check(&altered),
                    Err(FrameError::BadSignature { .. })
                ));
            }
        }
    }

    #[test]
    fn length_bit_flipped_is_a_mismatch() {
        let bytes = frame(b"{}");
        for i in 12..16 {
            for bit in 0..8 {
                let e = decode_frame(&flip(&bytes, i, bit), MAX).unwrap_err();
                assert!(
                    matches!(e, FrameError::LengthMismatch { actual: 2, .. }),
                    "{e}"
                );
                assert_eq!(e.code(), "frame_length_mismatch");
            }
        }
    }

    #[test]
    fn signature_bit_flipped_fails_verify() {
        let bytes = frame(b"{}");
        for i in bytes.len() - FRAME_SIGNATURE_BYTES..bytes.len() {
            for bit in 0..8 {
                let e = check(&flip(&bytes, i, bit)).unwrap_err();
                assert_eq!(
                    e,
                    FrameError::BadSignature {
                        number: 7,
                        offset: 18
                    }
                );
            }
        }
    }

    #[test]
    fn magic_altered_is_bad_magic() {
        let bytes = frame(b"{}");
        for i in 0..4 {
            let e = decode_frame(&flip(&bytes, i, 5), MAX).unwrap_err();
            assert!(matches!(e, FrameError::BadMagic { .. }), "{e}");
            assert_eq!(e.code(), "frame_bad_magic");
        }
    }

    #[test]
    fn wrong_party_nonce_or_key_fails_verify() {
        let bytes = frame(b"{}");
        let f = decode_frame(&bytes, MAX).unwrap();
        let right = key(1).verifying_key();
        assert!(f.verify(&right, PARTY, NONCE).is_ok());
        for (k, party, nonce) in [
            (right, "coalitio", NONCE),
            (right, "coalition\0", NONCE),
            (right, PARTY, "n0nce-of-another-stream"),
            (right, "", NONCE),
            (key(2).verifying_key(), PARTY, NONCE),
        ] {
            let e = f.verify(&k, party, nonce).unwrap_err();
            assert_eq!(e.code(), "frame_bad_signature");
        }
    }

    #[test]
    fn party_and_nonce_are_separated() {
        // Moving a byte across the party/nonce boundary changes the signed message.
        let bytes = encode_frame(&key(1), "ab", "c", 1, b"{}");
        let f = decode_frame(&bytes, MAX).unwrap();
        assert!(f.verify(&key(1).verifying_key(), "ab", "c").is_ok());
        assert!(f.verify(&key(1).verifying_key(), "a", "bc").is_err());
    }

    #[test]
    fn truncated_below_the_minimum_is_too_short() {
        let bytes = frame(b"");
        for len in 0..FRAME_BYTES_MIN {
            let e = decode_frame(&bytes[..len], MAX).unwrap_err();
            assert_eq!(e, FrameError::TooShort { bytes: len });
            assert_eq!(e.code(), "frame_too_short");
        }
    }

    #[test]
    fn truncated_above_the_minimum_is_a_mismatch() {
        let bytes = frame(b"{\"reports\":[]}");
        for len in FRAME_BYTES_MIN..bytes.len() {
            let e = decode_frame(&bytes[..len], MAX).unwrap_err();
            assert_eq!(
                e,
                FrameError::LengthMismatch {
                    declared: 14,
                    actual: len - FRAME_BYTES_MIN
                }
            );
        }
    }

    #[test]
    fn payload_over_the_max_is_too_large() {
        let bytes = frame(&[b' '; 100]);
        assert!(decode_frame(&bytes, 100).is_ok());
        let e = decode_frame(&bytes, 99).unwrap_err();
        assert_eq!(
            e,
            FrameError::TooLarge {
                bytes: 100,
                max: 99
            }
        );
        assert_eq!(e.code(), "frame_too_large");
        assert!(e.to_string().contains("bytes 16..116"), "{e}");
    }

    #[test]
    fn messages_name_the_place() {
        let e = FrameError::LengthMismatch {
            declared: 5,
            actual: 2,
        };
        assert!(e.to_string().contains("bytes 12..16"), "{e}");
        let e = FrameError::BadSignature {
            number: 3,
            offset: 18,
        };
        assert!(e.to_string().contains("frame 3"), "{e}");
        assert!(e.to_string().contains("bytes 18..82"), "{e}");
        let e = decode_frame(&flip(&frame(b"{}"), 0, 1), MAX).unwrap_err();
        assert!(e.to_string().contains("bytes 0..4"), "{e}");
    }

    #[test]
    fn answers_serialise_as_the_spec_shows() {
        let accepted = FrameAnswer::accepted(3, 12);
        assert_eq!(
            serde_json::to_string(&accepted).unwrap(),
            r#"{"frame":3,"accepted":12}"#
        );
        let refused: FrameAnswer = serde_json::from_str(
            r#"{"frame":4,"refused":{"code":"invalid_field","message":"out of range","field":"reports[0].lat_deg"}}"#,
        )
        .unwrap();
        assert_eq!(refused.frame, 4);
        assert_eq!(refused.accepted, None);
        assert_eq!(
            refused.refused.as_ref().map(|b| b.code.as_str()),
            Some("invalid_field")
        );
        let error: FrameAnswer = serde_json::from_str(
            r#"{"frame":5,"error":{"code":"frame_bad_signature","message":"m"}}"#,
        )
        .unwrap();
        assert_eq!(
            error.error.map(|b| (b.code, b.field)),
            Some(("frame_bad_signature".to_string(), None))
        );
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), max in 0usize..400) {
            let _ = decode_frame(&bytes, max);
        }

        #[test]
        fn decode_never_panics_past_the_magic(
            rest in proptest::collection::vec(any::<u8>(), 0..300),
            max in 0usize..400,
        ) {
            let mut bytes = FRAME_MAGIC.to_vec();
            bytes.extend_from_slice(&rest);
            if let Ok(f) = decode_frame(&bytes, max) {
                prop_assert_eq!(f.payload.len() + FRAME_BYTES_MIN, bytes.len());
                prop_assert!(f.payload.len() <= max);
                prop_assert!(f.verify(&key(1).verifying_key(), PARTY, NONCE).is_err());
            }
        }

        #[test]
        fn any_single_byte_change_fails(
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            number in any::<u64>(),
            at in any::<prop::sample::Index>(),
            delta in 1u8..=255,
        ) {
            let bytes = encode_frame(&key(1), PARTY, NONCE, number, &payload);
            let f = decode_frame(&bytes, MAX).unwrap();
            prop_assert_eq!(f.number, number);
            prop_assert_eq!(f.payload, &payload[..]);
            prop_assert!(f.verify(&key(1).verifying_key(), PARTY, NONCE).is_ok());
            let mut altered = bytes.clone();
            let i = at.index(altered.len());
            altered[i] = altered[i].wrapping_add(delta);
            let failed = match decode_frame(&altered, MAX) {
                Err(_) => true,
                Ok(f) => f.verify(&key(1).verifying_key(), PARTY, NONCE).is_err(),
            };
            prop_assert!(failed, "byte {} changed by {} was not detected", i, delta);
        }
    }
}
