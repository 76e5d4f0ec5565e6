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
        hex_lower(&self.0).as_str().to_owned()
    }

    /// Parses exactly 64 lower-case hexadecimal digits.
    pub fn from_hex(text: &str) -> Result<Hash, HexError> {
        hex_lower_decode(text).map(Hash)
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
        s.serialize_str(hex_lower(&self.0).as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_hex(d, Hash::from_hex)
    }
}

/// Deserialises hexadecimal text with `parse`, read where the deserialiser holds it: no copy of
/// the text for each hash, key and signature.
pub(crate) fn deserialize_hex<'de, D, T, E>(
    d: D,
    parse: fn(&str) -> Result<T, E>,
) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    E: fmt::Display,
{
    struct Digits<T, E>(fn(&str) -> Result<T, E>);
    impl<T, E: fmt::Display> serde::de::Visitor<'_> for Digits<T, E> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string of lower-case hexadecimal digits")
        }
        fn visit_str<Er: serde::de::Error>(self, text: &str) -> Result<T, Er> {
            (self.0)(text).map_err(Er::custom)
        }
    }
    d.deserialize_str(Digits(parse))
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

/// Decodes lower-case hexadecimal of exactly `N` bytes. Upper case is refused so that every
/// value has exactly one spelling in the canonical encoding. One pass, no allocation: every
/// signature and hash of an export goes through it.
pub(crate) fn hex_lower_decode<const N: usize>(text: &str) -> Result<[u8; N], HexError> {
    let bad = |found: String| HexError {
        expected_len: N * 2,
        found,
    };
    let digits = text.as_bytes();
    if digits.len() != N * 2 {
        return Err(bad(format!("{} characters", text.chars().count())));
    }
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(high), Some(low)) => *o = high << 4 | low,
            _ => {
                // Only on the way out: which character, where.
                let (i, c) = text
                    .char_indices()
                    .find(|(_, c)| !matches!(c, '0'..='9' | 'a'..='f'))
                    .unwrap_or((0, '?'));
                return Err(bad(format!("{c:?} at position {i}")));
            }
        }
    }
    Ok(out)
}

/// The value of one lower-case hexadecimal digit.
fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

/// Most bytes [`hex_lower`] writes: a signature's 64.
const HEX_BYTES_MAX: usize = 64;

/// Lower-case hexadecimal digits of a hash, key or signature, on the stack: what their
/// serialisers write, without an allocation per value.
pub(crate) struct HexDigits {
    digits: [u8; 2 * HEX_BYTES_MAX],
    len: usize,
}

impl HexDigits {
    pub(crate) fn as_str(&self) -> &str {
        // Hexadecimal digits are ASCII, always UTF-8.
        std::str::from_utf8(&self.digits[..self.len]).unwrap_or_default()
    }
}

/// The lower-case hexadecimal of `bytes`, of at most [`HEX_BYTES_MAX`] bytes (only the first
/// that many are written).
pub(crate) fn hex_lower(bytes: &[u8]) -> HexDigits {
    debug_assert!(
        bytes.len() <= HEX_BYTES_MAX,
        "{} bytes to spell",
        bytes.len()
    );
    let bytes = &bytes[..bytes.len().min(HEX_BYTES_MAX)];
    let len = 2 * bytes.len();
    let mut digits = [0u8; 2 * HEX_BYTES_MAX];
    // The slice is exactly twice the input: this cannot fail.
    let _ = hex::encode_to_slice(bytes, &mut digits[..len]);
    HexDigits { digits, len }
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

    #[test]
    fn hex_errors_name_the_character_and_its_position() {
        let digits = Hash::leaf(b"x").to_hex();
        let found = |text: &str| Hash::from_hex(text).unwrap_err().found;
        assert_eq!(
            found(&format!("{}G{}", &digits[..9], &digits[10..])),
            "'G' at position 9"
        );
        // A two-byte character keeps the byte length right; it is named at its character.
        assert_eq!(
            found(&format!("{}é{}", &digits[..3], &digits[5..])),
            "'é' at position 3"
        );
        assert_eq!(found(&format!("{}é", &digits[..62])), "'é' at position 62");
        assert_eq!(found(&format!("{}é", &digits[..63])), "64 characters");
        assert_eq!(found(&digits[..10]), "10 characters");
    }

    #[test]
    fn hex_digits_spell_every_byte() {
        let bytes: Vec<u8> = (0..=63).map(|i| i * 4 + 1).collect();
        let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex_lower(&bytes).as_str(), expected);
        let back: [u8; 64] = hex_lower_decode(&expected).unwrap();
        assert_eq!(&back[..], &bytes[..]);
    }
}
