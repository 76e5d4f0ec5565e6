//! SHA-256 hashes and the RFC 9162 §2.1.1 domain-separated leaf and node hashes.

use std::fmt;

use sha2::{Digest, Sha256};

/// Prefix of a leaf hash input (RFC 9162 §2.1.1: `MTH({d(0)}) = SHA-256(0x00 || d(0))`).
pub const LEAF_PREFIX: u8 = 0x00;
/// Prefix of an interior node hash input (RFC 9162 §2.1.1: `SHA-256(0x01 || left || right)`).
pub const NODE_PREFIX: u8 = 0x01;

/// A SHA-256 digest. Shown and parsed as 64 lower-case hexadecimal digits, the only accepted
/// spelling, so that one hash has one text form (canonical encoding needs that).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// Length in bytes.
    pub const LEN: usize = 32;

    /// SHA-256 of `bytes` with no prefix (the hash of the empty tree is `Hash::of(b"")`).
    pub fn of(bytes: &[u8]) -> Hash {
        Hash(Sha256::digest(bytes).into())
    }

    /// `SHA-256(0x00 || leaf)`: the hash of one leaf of the Merkle tree.
    pub fn leaf(leaf: &[u8]) -> Hash {
        let mut h = Sha256::new();
        h.update([LEAF_PREFIX]);
        h.update(leaf);
        Hash(h.finalize().into())
    }

    /// [`Hash::leaf`] of the concatenation of `parts`, without building it.
    pub fn leaf_of_parts(parts: &[&[u8]]) -> Hash {
        let mut h = Sha256::new();
        h.update([LEAF_PREFIX]);
        for p in parts {
            h.update(p);
        }
        Hash(h.finalize().into())
    }

    /// [`Hash::of`] the concatenation of `parts`, without building it.
    pub fn of_parts(parts: &[&[u8]]) -> Hash {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        Hash(h.finalize().into())
    }

    /// `SHA-256(0x01 || left || right)`: the hash of an interior node.
    pub fn node(left: &Hash, right: &Hash) -> Hash {
        let mut h = Sha256::new();
        h.update([NODE_PREFIX]);
        h.update(left.0);
        h.update(right.0);
        Hash(h.finalize().into())
    }

    /// The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
    pub fn empty_tree() -> Hash {
        Hash::of(b"")
    }

    /// Lower-case hexadecimal.
    pub fn to_hex(&self) -> String {
        // Into a fixed buffer, not through `hex::encode`'s character iterator: a report's leaf
        // writes one for every report accepted.
        let mut digits = [0u8; 64];
        // 32 bytes fill exactly 64 digits: the sizes match, so this cannot fail.
        let _ = hex::encode_to_slice(self.0, &mut digits);
        // Hexadecimal digits are ASCII: always UTF-8.
        std::str::from_utf8(&digits).unwrap_or_default().to_owned()
    }

    /// Parses exactly 64 lower-case hexadecimal digits.
    pub fn from_hex(text: &str) -> Result<Hash, HexError> {
        let bytes = hex_lower_decode(text, 32)?;
        let mut out = [0u8; 32];
        out.copy_from_slice(&bytes);
        Ok(Hash(out))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl serde::Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Hash::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// Hexadecimal text that is not exactly the expected number of lower-case digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected_len} lower-case hexadecimal digits, found {found}")]
pub struct HexError {
    /// Number of digits required.
    pub expected_len: usize,
    /// What was found, described briefly.
    pub found: String,
}

/// Decodes lower-case hexadecimal of exactly `bytes_len` bytes. Upper case is refused so that
/// every value has exactly one spelling in the canonical encoding.
pub(crate) fn hex_lower_decode(text: &str, bytes_len: usize) -> Result<Vec<u8>, HexError> {
    let bad = |found: String| HexError {
        expected_len: bytes_len * 2,
        found,
    };
    if text.len() != bytes_len * 2 {
        return Err(bad(format!("{} characters", text.len())));
    }
    if let Some((i, c)) = text
        .char_indices()
        .find(|(_, c)| !matches!(c, '0'..='9' | 'a'..='f'))
    {
        return Err(bad(format!("{c:?} at position {i}")));
    }
    hex::decode(text).map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_tree_is_sha256_of_nothing() {
        // RFC 9162 §2.1.1 / RFC 6962 test data: e3b0c442…b855.
        assert_eq!(
            Hash::empty_tree().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn hex_refuses_upper_case_and_wrong_length() {
        let h = Hash::leaf(b"x");
        assert_eq!(Hash::from_hex(&h.to_hex()), Ok(h));
        assert!(Hash::from_hex(&h.to_hex().to_uppercase()).is_err());
        assert!(Hash::from_hex(&h.to_hex()[1..]).is_err());
        assert!(Hash::from_hex("").is_err());
    }
}
