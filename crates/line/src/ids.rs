//! Identifiers and short texts, validated once at the boundary.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::units::RangeError;

/// Longest identifier (party, message, alert, incident, track), bytes.
pub const ID_BYTES_MAX: usize = 64;
/// Longest officer name, bytes.
pub const NAME_BYTES_MAX: usize = 128;
/// Longest free text, bytes.
pub const TEXT_BYTES_MAX: usize = 4096;

/// Longest party id, bytes: short enough that a link test's id (`lt:FROM:TO:SECONDS`) fits
/// in [`ID_BYTES_MAX`].
pub const PARTY_BYTES_MAX: usize = 24;

fn check_id(what: &'static str, s: &str, max: usize) -> Result<(), RangeError> {
    if s.is_empty() || s.len() > max {
        return Err(RangeError::Invalid(format!(
            "{what} {s:?} must be 1..={max} bytes"
        )));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/')))
    {
        return Err(RangeError::Invalid(format!(
            "{what} {s:?} contains {c:?}; allowed: A-Z a-z 0-9 - _ . : /"
        )));
    }
    Ok(())
}

fn check_text(
    what: &'static str,
    s: &str,
    max: usize,
    allow_newline: bool,
) -> Result<(), RangeError> {
    if s.trim().is_empty() || s.len() > max {
        return Err(RangeError::Invalid(format!(
            "{what} must be 1..={max} bytes and not blank"
        )));
    }
    // Control characters could forge extra lines or hide text in a rendering.
    if let Some(c) = s
        .chars()
        .find(|&c| c.is_control() && !(allow_newline && c == '\n'))
    {
        return Err(RangeError::Invalid(format!(
            "{what} contains control character U+{:04X}",
            c as u32
        )));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Result<Self, RangeError> {
                let s = s.into();
                check_id($what, &s, $max)?;
                Ok($name(s))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = RangeError;
            fn try_from(s: String) -> Result<Self, RangeError> {
                $name::new(s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A party to the agreement (`coalition`, `ru`).
    PartyId,
    "party id",
    PARTY_BYTES_MAX
);
id_type!(
    /// A message, unique on the line; chosen by the sender so a resend after a reconnect is
    /// recognised as the same message.
    MessageId,
    "message id",
    ID_BYTES_MAX
);
id_type!(
    /// The subject a conversation threads on: an alert, notification or incident id.
    SubjectId,
    "subject id",
    ID_BYTES_MAX
);
id_type!(
    /// A track as its owning party names it.
    TrackId,
    "track id",
    ID_BYTES_MAX
);

/// A duty officer's name as it appears on the roster (any script, one line).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OfficerName(String);

impl OfficerName {
    pub fn new(s: impl Into<String>) -> Result<Self, RangeError> {
        let s = s.into();
        check_text("officer name", &s, NAME_BYTES_MAX, false)?;
        Ok(OfficerName(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for OfficerName {
    type Error = RangeError;
    fn try_from(s: String) -> Result<Self, RangeError> {
        OfficerName::new(s)
    }
}
impl From<OfficerName> for String {
    fn from(v: OfficerName) -> String {
        v.0
    }
}
impl fmt::Display for OfficerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Free text typed by a duty officer: never translated, rendered as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Text(String);

impl Text {
    pub fn new(s: impl Into<String>) -> Result<Self, RangeError> {
        let s = s.into();
        check_text("text", &s, TEXT_BYTES_MAX, true)?;
        Ok(Text(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Text {
    type Error = RangeError;
    fn try_from(s: String) -> Result<Self, RangeError> {
        Text::new(s)
    }
}
impl From<Text> for String {
    fn from(v: Text) -> String {
        v.0
    }
}
