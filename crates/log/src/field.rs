//! Entry fields and salted commitments to undisclosed ones.
//!
//! A field is an integer (fixed-point, unit in the field name: `alt_floor_m`, `cpa_mm`), a text,
//! or a commitment `SHA-256(salt || canonical(value))` to a value the author does not disclose
//! to the other parties yet. The 32-byte salt is supplied by the caller (the library draws no
//! randomness, so it stays deterministic); it must be fresh and secret, otherwise a small value
//! space (an altitude, a callsign) can be searched. Handing the salt and value (an [`Opening`])
//! to a working group later proves what was logged, without having disclosed it at the time.

use std::collections::BTreeMap;
use std::fmt;

use crate::canonical::{INT_ABS_MAX, to_canonical};
use crate::hash::{Hash, hex_lower, hex_lower_decode};

/// Longest text value, in bytes.
pub const TEXT_BYTES_MAX: usize = 4096;
/// Longest field name, in bytes.
pub const FIELD_NAME_BYTES_MAX: usize = 64;
/// Most fields in one entry.
pub const FIELDS_MAX: usize = 64;

/// Why a field or an opening was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// An integer outside ±(2^53 − 1).
    #[error("integer {0} is outside ±(2^53 − 1)")]
    IntOutOfRange(i128),
    /// A text longer than [`TEXT_BYTES_MAX`].
    #[error("text of {0} bytes is longer than {TEXT_BYTES_MAX}")]
    TextTooLong(usize),
    /// A field name outside `[a-z][a-z0-9_]*` or too long.
    #[error(
        "field name {0:?} must be 1 to 64 characters of a-z, 0-9 or '_', starting with a letter"
    )]
    BadName(String),
    /// More than [`FIELDS_MAX`] fields.
    #[error("{0} fields, more than {FIELDS_MAX}")]
    TooMany(usize),
    /// A salt that is not 64 lower-case hex digits.
    #[error("salt must be 64 lower-case hexadecimal digits")]
    BadSalt,
    /// An opening of a commitment to another commitment (only values are committed to).
    #[error("an opening must reveal an integer or a text, not a commitment")]
    OpeningOfCommitment,
    /// The opening does not hash to the commitment.
    #[error("opening does not match the commitment")]
    OpeningMismatch,
}

/// A signed integer within ±(2^53 − 1).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "i64", into = "i64")]
pub struct Int(i64);

impl Int {
    /// Validates the range.
    pub fn new(v: i64) -> Result<Int, FieldError> {
        if v.unsigned_abs() > INT_ABS_MAX {
            return Err(FieldError::IntOutOfRange(v.into()));
        }
        Ok(Int(v))
    }

    /// The value.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for Int {
    type Error = FieldError;
    fn try_from(v: i64) -> Result<Int, FieldError> {
        Int::new(v)
    }
}

impl From<Int> for i64 {
    fn from(v: Int) -> i64 {
        v.0
    }
}

/// A non-negative integer up to 2^53 − 1 (sizes, indices, timestamps in ms since the Unix epoch).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "u64", into = "u64")]
pub struct Count(u64);

impl Count {
    /// Validates the range.
    pub fn new(v: u64) -> Result<Count, FieldError> {
        if v > INT_ABS_MAX {
            return Err(FieldError::IntOutOfRange(v.into()));
        }
        Ok(Count(v))
    }

    /// The value.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl TryFrom<u64> for Count {
    type Error = FieldError;
    fn try_from(v: u64) -> Result<Count, FieldError> {
        Count::new(v)
    }
}

impl From<Count> for u64 {
    fn from(v: Count) -> u64 {
        v.0
    }
}

/// A text of at most [`TEXT_BYTES_MAX`] bytes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Text(String);

impl Text {
    /// Validates the length.
    pub fn new(s: impl Into<String>) -> Result<Text, FieldError> {
        let s = s.into();
        if s.len() > TEXT_BYTES_MAX {
            return Err(FieldError::TextTooLong(s.len()));
        }
        Ok(Text(s))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Text {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Text, FieldError> {
        Text::new(s)
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.0
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// A field name: `[a-z][a-z0-9_]*`, at most [`FIELD_NAME_BYTES_MAX`] bytes; units go last
/// (`alt_floor_m`).
#[derive(
    Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct FieldName(String);

impl FieldName {
    /// Validates the name.
    pub fn new(s: impl Into<String>) -> Result<FieldName, FieldError> {
        let s = s.into();
        let ok = !s.is_empty()
            && s.len() <= FIELD_NAME_BYTES_MAX
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(FieldName(s))
        } else {
            Err(FieldError::BadName(s))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for FieldName {
    type Error = FieldError;
    fn try_from(s: String) -> Result<FieldName, FieldError> {
        FieldName::new(s)
    }
}

impl From<FieldName> for String {
    fn from(n: FieldName) -> String {
        n.0
    }
}

/// A 32-byte salt for a commitment, written as 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Salt(pub [u8; 32]);

impl TryFrom<String> for Salt {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Salt, FieldError> {
        hex_lower_decode(&s)
            .map(Salt)
            .map_err(|_| FieldError::BadSalt)
    }
}

impl From<Salt> for String {
    fn from(s: Salt) -> String {
        hex_lower(&s.0).as_str().to_owned()
    }
}

impl fmt::Debug for Salt {
    // A salt is a secret until the opening is handed over: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Salt(…)")
    }
}

/// The value of one field.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FieldValue {
    /// A fixed-point integer (unit in the field name).
    Int(Int),
    /// A text.
    Text(Text),
    /// `SHA-256(salt || canonical(value))` of an undisclosed value.
    Commitment(Hash),
}

impl FieldValue {
    /// An integer field, range-checked.
    pub fn int(v: i64) -> Result<FieldValue, FieldError> {
        Int::new(v).map(FieldValue::Int)
    }

    /// A text field, length-checked.
    pub fn text(s: impl Into<String>) -> Result<FieldValue, FieldError> {
        Text::new(s).map(FieldValue::Text)
    }

    /// A commitment to `value` with `salt`, and the opening that reveals it later.
    pub fn commit(value: FieldValue, salt: Salt) -> Result<(FieldValue, Opening), FieldError> {
        let opening = Opening { salt, value };
        let c = opening.commitment()?;
        Ok((FieldValue::Commitment(c), opening))
    }
}

/// The salt and value that open a commitment.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Opening {
    /// The salt used when committing.
    pub salt: Salt,
    /// The value committed to (an integer or a text).
    pub value: FieldValue,
}

impl Opening {
    /// `SHA-256(salt || canonical(value))`. The value's canonical JSON (`{"int":5}`) is what is
    /// hashed, so an integer and a text of the same digits never collide.
    pub fn commitment(&self) -> Result<Hash, FieldError> {
        if matches!(self.value, FieldValue::Commitment(_)) {
            return Err(FieldError::OpeningOfCommitment);
        }
        let mut buf = Vec::with_capacity(32 + 64);
        buf.extend_from_slice(&self.salt.0);
        buf.extend_from_slice(&to_canonical(&self.value));
        Ok(Hash::of(&buf))
    }

    /// Checks that this opening reveals `commitment`.
    pub fn verify(&self, commitment: &Hash) -> Result<(), FieldError> {
        if self.commitment()? == *commitment {
            Ok(())
        } else {
            Err(FieldError::OpeningMismatch)
        }
    }
}

/// Named fields of an entry, in canonical (sorted) order.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Fields(BTreeMap<FieldName, FieldValue>);

impl Fields {
    /// No fields.
    pub fn new() -> Fields {
        Fields::default()
    }

    /// Adds or replaces a field; refuses a bad name or more than [`FIELDS_MAX`] fields.
    pub fn insert(&mut self, name: &str, value: FieldValue) -> Result<(), FieldError> {
        let name = FieldName::new(name)?;
        if !self.0.contains_key(&name) && self.0.len() >= FIELDS_MAX {
            return Err(FieldError::TooMany(self.0.len() + 1));
        }
        self.0.insert(name, value);
        Ok(())
    }

    /// Builder form of [`Fields::insert`].
    pub fn with(mut self, name: &str, value: FieldValue) -> Result<Fields, FieldError> {
        self.insert(name, value)?;
        Ok(self)
    }

    /// A field by name.
    pub fn get(&self, name: &str) -> Option<&FieldValue> {
        self.0
            .iter()
            .find(|(k, _)| k.as_str() == name)
            .map(|(_, v)| v)
    }

    /// Every field by name, in canonical order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &FieldValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn check(&self) -> Result<(), FieldError> {
        if self.0.len() > FIELDS_MAX {
            return Err(FieldError::TooMany(self.0.len()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitment_is_sha256_of_salt_then_canonical_value() {
        let salt = Salt([7; 32]);
        let (field, opening) = FieldValue::commit(FieldValue::int(450).unwrap(), salt).unwrap();
        let mut pre = vec![7u8; 32];
        pre.extend_from_slice(br#"{"int":450}"#);
        assert_eq!(field, FieldValue::Commitment(Hash::of(&pre)));
        let FieldValue::Commitment(c) = field else {
            unreachable!()
        };
        opening.verify(&c).unwrap();
        let wrong = Opening {
            salt,
            value: FieldValue::int(451).unwrap(),
        };
        assert_eq!(wrong.verify(&c), Err(FieldError::OpeningMismatch));
        let wrong_salt = Opening {
            salt: Salt([8; 32]),
            value: FieldValue::int(450).unwrap(),
        };
        assert_eq!(wrong_salt.verify(&c), Err(FieldError::OpeningMismatch));
        // An integer and a text of the same digits commit differently.
        let text = Opening {
            salt,
            value: FieldValue::text("450").unwrap(),
        };
        assert_eq!(text.verify(&c), Err(FieldError::OpeningMismatch));
    }

    #[test]
    fn integers_outside_the_safe_range_are_refused() {
        assert!(Int::new(INT_ABS_MAX as i64).is_ok());
        assert!(Int::new(-(INT_ABS_MAX as i64)).is_ok());
        assert!(Int::new(INT_ABS_MAX as i64 + 1).is_err());
        assert!(Int::new(i64::MIN).is_err());
        assert!(Count::new(INT_ABS_MAX + 1).is_err());
    }

    #[test]
    fn salt_is_never_printed() {
        assert_eq!(format!("{:?}", Salt([1; 32])), "Salt(…)");
    }
}
