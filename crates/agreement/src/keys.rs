//! Ed25519 keys and signatures, and their text forms.
//!
//! Text forms (one line each, ASCII, written down so other tools can produce them):
//! - public key: `ed25519:` followed by the 32-byte key as 64 lowercase hex digits;
//! - signature: `ed25519-sig:` followed by the 64-byte signature as 128 lowercase hex digits;
//! - secret key file: the single line `deconflict-ed25519-secret:` followed by the 32-byte seed
//!   (RFC 8032 §5.1.5 "private key") as 64 lowercase hex digits, then a newline. Surrounding
//!   whitespace is ignored when reading; uppercase hex is accepted.
//!
//! Hex rather than base64 because duty officers read keys aloud over a voice line to check them.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

/// Prefix of a public key in text form.
pub const PUBLIC_KEY_PREFIX: &str = "ed25519:";
/// Prefix of a signature in text form.
pub const SIGNATURE_PREFIX: &str = "ed25519-sig:";
/// Prefix of the one line in a secret key file.
pub const SECRET_KEY_PREFIX: &str = "deconflict-ed25519-secret:";

/// Why a key or signature text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("expected the prefix `{expected}`")]
    Prefix { expected: &'static str },
    #[error("expected {digits} hex digits after the prefix, found {found} characters")]
    Length { digits: usize, found: usize },
    #[error("not hexadecimal: {0}")]
    Hex(String),
    #[error("not a valid Ed25519 public key (not a curve point)")]
    NotAPoint,
    #[error("weak Ed25519 public key (small order) refused")]
    Weak,
}

fn decode_hex<const N: usize>(text: &str, prefix: &'static str) -> Result<[u8; N], KeyError> {
    let body = text
        .trim()
        .strip_prefix(prefix)
        .ok_or(KeyError::Prefix { expected: prefix })?;
    if body.len() != 2 * N {
        return Err(KeyError::Length {
            digits: 2 * N,
            found: body.chars().count(),
        });
    }
    // Lower-case only, as the formats say, so that each key has one text form.
    if let Some((i, c)) = body
        .char_indices()
        .find(|(_, c)| !matches!(c, '0'..='9' | 'a'..='f'))
    {
        return Err(KeyError::Hex(format!(
            "{c:?} at position {i}: lower-case hex digits only"
        )));
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(body, &mut out).map_err(|e| KeyError::Hex(e.to_string()))?;
    Ok(out)
}

/// A party's Ed25519 public key. Parsing refuses non-points and small-order (weak) keys.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses the text form `ed25519:<64 hex>`.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        Self::from_bytes(&decode_hex::<32>(text, PUBLIC_KEY_PREFIX)?)
    }

    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::NotAPoint)?;
        if key.is_weak() {
            return Err(KeyError::Weak);
        }
        Ok(Self(key))
    }

    pub fn to_text(&self) -> String {
        format!("{PUBLIC_KEY_PREFIX}{}", hex::encode(self.0.as_bytes()))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// Strict verification (RFC 8032 §5.1.7 plus rejection of non-canonical and small-order
    /// components), so that one message has exactly one accepted signature per key.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> bool {
        self.0.verify_strict(message, &signature.0).is_ok()
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_text())
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::from_text(s)
    }
}

/// An Ed25519 signature (RFC 8032).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(ed25519_dalek::Signature);

impl Signature {
    /// Parses the text form `ed25519-sig:<128 lowercase hex>`. Uppercase is refused so that a
    /// signature has one text form: a signed statement or record cannot be resubmitted as
    /// "different" bytes that carry the same signature.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        if text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(KeyError::Hex(
                "uppercase hex digits: a signature is written in lowercase".into(),
            ));
        }
        Ok(Self::from_bytes(&decode_hex::<64>(text, SIGNATURE_PREFIX)?))
    }

    pub fn from_bytes(bytes: &[u8; 64]) -> Self {
        Self(ed25519_dalek::Signature::from_bytes(bytes))
    }

    pub fn to_text(&self) -> String {
        format!("{SIGNATURE_PREFIX}{}", hex::encode(self.0.to_bytes()))
    }

    pub fn to_bytes(&self) -> [u8; 64] {
        self.0.to_bytes()
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_text())
    }
}

impl FromStr for Signature {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::from_text(s)
    }
}

/// A party's Ed25519 secret key. `Debug` never prints the secret.
///
/// There is no `generate()`: this crate has no source of randomness (it does no I/O). Callers
/// draw 32 bytes from the operating system's CSPRNG and call [`SecretKey::from_seed`].
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// The key whose RFC 8032 private key (seed) is `seed`.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self(SigningKey::from_bytes(&seed))
    }

    /// The RFC 8032 private key (seed), e.g. to hand to another Ed25519 library. Keep it secret.
    pub fn to_seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Reads a secret key file (see the module documentation for the format).
    pub fn from_file_text(text: &str) -> Result<Self, KeyError> {
        Ok(Self::from_seed(decode_hex::<32>(text, SECRET_KEY_PREFIX)?))
    }

    /// The contents of a secret key file, newline-terminated.
    pub fn to_file_text(&self) -> String {
        format!("{SECRET_KEY_PREFIX}{}\n", hex::encode(self.0.to_bytes()))
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs `message` as is. Callers sign canonical bytes only (see `crate::canonical`).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public {})", self.public_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_has_one_text_form() {
        let sig = SecretKey::from_seed([5; 32]).sign(b"m");
        let text = sig.to_text();
        assert_eq!(Signature::from_text(&text), Ok(sig));
        let upper = format!(
            "{SIGNATURE_PREFIX}{}",
            text[SIGNATURE_PREFIX.len()..].to_uppercase()
        );
        assert!(Signature::from_text(&upper).is_err());
    }

    #[test]
    fn rfc8032_test_1_public_key_and_signature() {
        // RFC 8032 §7.1, TEST 1 (empty message).
        let seed = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap();
        let key = SecretKey::from_seed(seed.try_into().unwrap());
        assert_eq!(
            key.public_key().to_text(),
            "ed25519:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let sig = key.sign(b"");
        assert_eq!(
            hex::encode(sig.to_bytes()),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert!(key.public_key().verify(b"", &sig));
        assert!(!key.public_key().verify(b"x", &sig));
    }

    #[test]
    fn upper_case_hex_is_refused_in_every_key_form() {
        let key = SecretKey::from_seed([0xab; 32]);
        let secret = key.to_file_text().trim().to_uppercase().replacen(
            &SECRET_KEY_PREFIX.to_uppercase(),
            SECRET_KEY_PREFIX,
            1,
        );
        let e = SecretKey::from_file_text(&secret).map(|_| ()).unwrap_err();
        assert!(e.to_string().contains("lower-case"), "{e}");
        let public = key.public_key().to_text();
        let (prefix, body) = public.split_at(public.rfind(':').unwrap() + 1);
        let e = PublicKey::from_text(&format!("{prefix}{}", body.to_uppercase()))
            .map(|_| ())
            .unwrap_err();
        assert!(e.to_string().contains("lower-case"), "{e}");
    }

    #[test]
    fn text_forms_round_trip() {
        let key = SecretKey::from_seed([7; 32]);
        let again = SecretKey::from_file_text(&key.to_file_text()).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        let pk = key.public_key();
        assert_eq!(PublicKey::from_text(&pk.to_text()).unwrap(), pk);
        let sig = key.sign(b"m");
        assert_eq!(Signature::from_text(&sig.to_text()).unwrap(), sig);
    }

    #[test]
    fn bad_texts_are_refused_with_reason() {
        assert_eq!(
            PublicKey::from_text("ed25519:00"),
            Err(KeyError::Length {
                digits: 64,
                found: 2
            })
        );
        assert_eq!(
            PublicKey::from_text("ssh-ed25519 AAAA"),
            Err(KeyError::Prefix {
                expected: PUBLIC_KEY_PREFIX
            })
        );
        assert!(matches!(
            PublicKey::from_text(&format!("ed25519:{}", "zz".repeat(32))),
            Err(KeyError::Hex(_))
        ));
        // The identity point is small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(PublicKey::from_bytes(&identity), Err(KeyError::Weak));
        assert!(format!("{:?}", SecretKey::from_seed([1; 32])).starts_with("SecretKey(public"));
    }
}
