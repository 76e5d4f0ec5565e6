//! Identifiers: party ids and the agreement id (the SHA-256 of the canonical encoding).

use std::fmt;
use std::str::FromStr;

/// Longest identifier (party, zone, dividing line, message kind), in bytes.
pub const IDENT_BYTES_MAX: usize = 32;

/// Why an identifier was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    #[error(
        "identifier {0:?} must be 1 to {IDENT_BYTES_MAX} characters of a-z, 0-9, `_` or `-`, starting with a letter"
    )]
    Ident(String),
    #[error("agreement id {0:?} must be `sha256:` followed by 64 lowercase hex digits")]
    AgreementId(String),
}

/// True when `s` is a valid identifier: `[a-z][a-z0-9_-]{0,31}`. Lowercase ASCII only, so that
/// two ids that look the same are the same bytes.
pub fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z'))
        && s.len() <= IDENT_BYTES_MAX
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '-'))
}

/// A party's identifier in the agreement, e.g. `coalition`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartyId(String);

impl PartyId {
    pub fn new(id: &str) -> Result<Self, IdError> {
        if is_ident(id) {
            Ok(Self(id.to_owned()))
        } else {
            Err(IdError::Ident(id.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl FromStr for PartyId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::new(s)
    }
}

/// The agreement id: SHA-256 of the agreement's canonical bytes. Any change to the agreement,
/// however small, is a new id, so the id also names the version.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgreementId([u8; 32]);

impl AgreementId {
    pub const PREFIX: &'static str = "sha256:";

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// `sha256:<64 lowercase hex>`.
    pub fn to_text(&self) -> String {
        format!("{}{}", Self::PREFIX, hex::encode(self.0))
    }

    /// Parses `sha256:<64 lowercase hex>`; uppercase is refused so that the text form is unique.
    pub fn from_text(text: &str) -> Result<Self, IdError> {
        let bad = || IdError::AgreementId(text.to_owned());
        let body = text.strip_prefix(Self::PREFIX).ok_or_else(bad)?;
        if body.len() != 64 || !body.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(body, &mut out).map_err(|_| bad())?;
        Ok(Self(out))
    }
}

impl fmt::Display for AgreementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl fmt::Debug for AgreementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AgreementId({})", self.to_text())
    }
}

impl FromStr for AgreementId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::from_text(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idents() {
        for ok in [
            "a",
            "coalition",
            "russian-federation",
            "p_1",
            &"a".repeat(32),
        ] {
            assert!(is_ident(ok), "{ok}");
        }
        for bad in ["", "1a", "Coalition", "a b", "é", "-a", &"a".repeat(33)] {
            assert!(!is_ident(bad), "{bad}");
        }
    }

    #[test]
    fn agreement_id_text() {
        let id = AgreementId::from_bytes([0xab; 32]);
        assert_eq!(AgreementId::from_text(&id.to_text()), Ok(id));
        assert!(AgreementId::from_text(&id.to_text().to_uppercase()).is_err());
        assert!(AgreementId::from_text("sha256:ab").is_err());
    }
}
