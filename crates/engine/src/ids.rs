//! Identifiers of tracks and parties, validated once.
//!
//! An identifier is 1 to [`ID_BYTES_MAX`] bytes of ASCII letters, digits and `- _ . : /`. The
//! restriction keeps identifiers printable, free of CSV and JSON metacharacters (they can be written
//! into either without escaping), and unambiguous to a reader on the line.
//!
//! Order: identifiers that are both canonical decimal integers (no sign, no leading zero) compare
//! as numbers, so track 9 sorts before track 10; any other identifier sorts after all numeric ones,
//! by bytes. This is a total order consistent with equality.

use std::cmp::Ordering;
use std::fmt;

/// Longest identifier accepted, bytes.
pub const ID_BYTES_MAX: usize = 64;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The identifier is empty.
    #[error("identifier is empty")]
    Empty,
    /// The identifier is longer than [`ID_BYTES_MAX`].
    #[error("identifier is {len_bytes} bytes long, more than {ID_BYTES_MAX}")]
    TooLong {
        /// Its length.
        len_bytes: usize,
    },
    /// A character outside ASCII letters, digits and `- _ . : /`.
    #[error(
        "identifier has the character {found:?} at byte {at}; allowed: ASCII letters, digits and - _ . : /"
    )]
    BadCharacter {
        /// The character found.
        found: char,
        /// Its byte offset.
        at: usize,
    },
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Ident {
    text: Box<str>,
    /// The value when `text` is a canonical decimal integer that fits in a u64.
    number: Option<u64>,
}

impl Ident {
    fn parse(text: &str) -> Result<Self, IdError> {
        if text.is_empty() {
            return Err(IdError::Empty);
        }
        if text.len() > ID_BYTES_MAX {
            return Err(IdError::TooLong {
                len_bytes: text.len(),
            });
        }
        if let Some((at, found)) = text
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/')))
        {
            return Err(IdError::BadCharacter { found, at });
        }
        let canonical =
            text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
        let number = if canonical {
            text.parse::<u64>().ok()
        } else {
            None
        };
        Ok(Self {
            text: text.into(),
            number,
        })
    }
}

impl Ord for Ident {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.number, other.number) {
            (Some(a), Some(b)) => a.cmp(&b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => self.text.as_bytes().cmp(other.text.as_bytes()),
        }
    }
}

impl PartialOrd for Ident {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Ident);

        impl $name {
            /// Validates `text` (see the module documentation for the rules).
            pub fn new(text: &str) -> Result<Self, IdError> {
                Ident::parse(text).map(Self)
            }

            /// The identifier as given.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0.text
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0.text)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), &*self.0.text)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }
    };
}

id_type!(
    /// The identifier of a track (one aircraft), unique within a picture or snapshot.
    TrackId
);
id_type!(
    /// The identifier of a party to the agreement.
    PartyId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_sort_as_numbers_then_text_by_bytes() {
        let mut ids: Vec<TrackId> = ["b", "10", "9", "A", "007", "0", "18446744073709551616"]
            .iter()
            .map(|s| TrackId::new(s).unwrap())
            .collect();
        ids.sort();
        let got: Vec<&str> = ids.iter().map(TrackId::as_str).collect();
        // "007" has a leading zero and 2^64 does not fit: both are text.
        assert_eq!(
            got,
            ["0", "9", "10", "007", "18446744073709551616", "A", "b"]
        );
    }

    #[test]
    fn bad_ids_are_rejected_with_the_reason() {
        assert_eq!(TrackId::new(""), Err(IdError::Empty));
        assert_eq!(
            TrackId::new("a,b"),
            Err(IdError::BadCharacter { found: ',', at: 1 })
        );
        assert_eq!(
            PartyId::new("é"),
            Err(IdError::BadCharacter { found: 'é', at: 0 })
        );
        assert_eq!(
            TrackId::new(&"x".repeat(65)),
            Err(IdError::TooLong { len_bytes: 65 })
        );
        assert!(TrackId::new(&"x".repeat(64)).is_ok());
        assert!(TrackId::new("RU-SU27:01/a_b.c").is_ok());
    }
}
