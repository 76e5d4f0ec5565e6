//! Key identifiers, Ed25519 public keys and signatures in their one text form, and the key ring
//! that maps a key id (a party id, or the service's own id) to its public key.

use std::collections::BTreeMap;
use std::fmt;

use ed25519_dalek::VerifyingKey;

use crate::hash::{HexError, deserialize_hex, hex_lower, hex_lower_decode};

/// Longest key id, in bytes.
pub const KEY_ID_BYTES_MAX: usize = 64;

/// Why a key id, key or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key id outside the allowed alphabet or length.
    #[error(
        "key id {0:?} must be 1 to 64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"
    )]
    BadKeyId(String),
    /// Hexadecimal of the wrong length or case.
    #[error("{what}: {source}")]
    Hex {
        /// What was being parsed.
        what: &'static str,
        /// The hex problem.
        source: HexError,
    },
    /// 32 bytes that are not a valid Ed25519 point.
    #[error("public key is not a valid Ed25519 point")]
    BadPoint,
    /// The same key id bound to two different keys.
    #[error("key id {0} is already bound to a different public key")]
    Conflict(KeyId),
}

/// A key id: the party id, or the service's own id. 1..=64 bytes of `[a-z0-9._-]`, beginning
/// with a letter or digit, so ids compare and print unambiguously.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyId(String);

impl KeyId {
    /// Validates a key id.
    pub fn new(id: impl Into<String>) -> Result<KeyId, KeyError> {
        let id = id.into();
        let ok_char = |c: char| matches!(c, 'a'..='z' | '0'..='9' | '.' | '_' | '-');
        let ok = !id.is_empty()
            && id.len() <= KEY_ID_BYTES_MAX
            && id.chars().all(ok_char)
            && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        if ok {
            Ok(KeyId(id))
        } else {
            Err(KeyError::BadKeyId(id))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for KeyId {
    type Error = KeyError;
    fn try_from(s: String) -> Result<Self, KeyError> {
        KeyId::new(s)
    }
}

impl From<KeyId> for String {
    fn from(k: KeyId) -> String {
        k.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

/// An Ed25519 public key, written as 64 lower-case hexadecimal digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(pub VerifyingKey);

impl PublicKey {
    /// Parses 64 lower-case hexadecimal digits.
    pub fn from_hex(text: &str) -> Result<PublicKey, KeyError> {
        let bytes = hex_lower_decode(text).map_err(|source| KeyError::Hex {
            what: "public key",
            source,
        })?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| KeyError::BadPoint)
    }

    /// Lower-case hexadecimal.
    pub fn to_hex(&self) -> String {
        hex_lower(self.0.as_bytes()).as_str().to_owned()
    }
}

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(hex_lower(self.0.as_bytes()).as_str())
    }
}

impl<'de> serde::Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_hex(d, PublicKey::from_hex)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

/// An Ed25519 signature, written as 128 lower-case hexadecimal digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Sig(pub [u8; 64]);

impl Sig {
    /// Parses 128 lower-case hexadecimal digits.
    pub fn from_hex(text: &str) -> Result<Sig, KeyError> {
        let bytes = hex_lower_decode(text).map_err(|source| KeyError::Hex {
            what: "signature",
            source,
        })?;
        Ok(Sig(bytes))
    }

    /// The dalek signature value.
    pub fn to_dalek(&self) -> ed25519_dalek::Signature {
        ed25519_dalek::Signature::from_bytes(&self.0)
    }
}

impl serde::Serialize for Sig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(hex_lower(&self.0).as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Sig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_hex(d, Sig::from_hex)
    }
}

impl fmt::Debug for Sig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sig({})", hex::encode(&self.0[..8]))
    }
}

/// Key id → public key. Serialised as a JSON object `{"party-a": "<64 hex>", …}`; that object
/// alone is also the keys file accepted by `deconflict verify --agreement`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct KeyRing {
    keys: BTreeMap<KeyId, PublicKey>,
}

impl KeyRing {
    /// An empty ring.
    pub fn new() -> KeyRing {
        KeyRing::default()
    }

    /// Binds `id` to `key`. Binding an id again to the same key is a no-op; to another key,
    /// an error (a key id never changes its key in a log).
    pub fn insert(&mut self, id: KeyId, key: VerifyingKey) -> Result<(), KeyError> {
        match self.keys.get(&id) {
            Some(existing) if existing.0 != key => Err(KeyError::Conflict(id)),
            Some(_) => Ok(()),
            None => {
                self.keys.insert(id, PublicKey(key));
                Ok(())
            }
        }
    }

    /// The key bound to `id`.
    pub fn get(&self, id: &KeyId) -> Option<&VerifyingKey> {
        self.keys.get(id).map(|k| &k.0)
    }

    /// All bindings, ordered by id.
    pub fn iter(&self) -> impl Iterator<Item = (&KeyId, &VerifyingKey)> {
        self.keys.iter().map(|(id, k)| (id, &k.0))
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the ring is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Parses a keys file: a JSON object of key id → 64 lower-case hex digits. Any JSON spacing
    /// is accepted here (a person writes this file); the ids and keys are validated.
    pub fn from_json(bytes: &[u8]) -> Result<KeyRing, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids() {
        for good in ["a", "party-a", "svc.1", "0x_y"] {
            assert!(KeyId::new(good).is_ok(), "{good}");
        }
        for bad in ["", "-a", "Party", "a b", "é", &"a".repeat(65)] {
            assert!(KeyId::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rebinding_a_key_id_to_another_key_is_refused() {
        let k1 = ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key();
        let k2 = ed25519_dalek::SigningKey::from_bytes(&[2; 32]).verifying_key();
        let mut ring = KeyRing::new();
        let id = KeyId::new("a").unwrap();
        ring.insert(id.clone(), k1).unwrap();
        ring.insert(id.clone(), k1).unwrap();
        assert_eq!(ring.insert(id.clone(), k2), Err(KeyError::Conflict(id)));
    }
}
