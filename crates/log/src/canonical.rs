//! The canonical encoding: RFC 8785 JSON Canonicalization Scheme (JCS) restricted to objects,
//! arrays, strings and integers of magnitude at most 2^53 − 1 (RFC 8785 §3.2.2.3 formats numbers
//! as IEEE 754 doubles; within that range an integer has exactly one spelling). Quantities are
//! fixed-point integers with their unit in the field name (`time_ms`, `alt_m`).
//!
//! Bytes from outside are parsed, re-canonicalised and compared: anything that is not already in
//! canonical form is refused, so that one value has one byte string and one signature.

use serde::{Serialize, de::DeserializeOwned};

/// Largest integer magnitude the encoding carries (2^53 − 1, the I-JSON safe range, RFC 7493 §2.2).
pub const INT_ABS_MAX: u64 = (1 << 53) - 1;

/// Why bytes were refused as canonical JSON of the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CanonicalError {
    /// Not JSON, or not of the expected shape (a missing or unknown field, a wrong type).
    #[error("column {column}: {message}")]
    Json {
        /// 1-based byte column where the parser stopped.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// Valid, but not in canonical form (key order, spacing, escapes, number spelling, a
    /// default value spelled out).
    #[error("not in canonical form (RFC 8785): first difference at byte {offset}")]
    NotCanonical {
        /// 0-based offset of the first byte that differs from the canonical form.
        offset: usize,
    },
}

/// Canonical bytes of a value.
///
/// The types of this crate serialise only strings, integers within ±(2^53 − 1), arrays, and
/// objects whose keys are ASCII and whose struct fields are declared in sorted order. For such
/// values serde_json's compact output *is* the RFC 8785 form (same string escaping; integers
/// spelled the same; keys already sorted), which lets [`from_canonical`] check input with one
/// compact serialisation. This function computes both and asserts that they agree, so a type
/// that breaks the rule fails loudly the first time one of its values is written.
pub fn to_canonical<T: Serialize>(value: &T) -> Vec<u8> {
    let jcs = match serde_json_canonicalizer::to_vec(value) {
        Ok(bytes) => bytes,
        // Only non-string map keys or a failing `Serialize` impl can get here: a programming
        // error in this crate, never outside input.
        Err(e) => panic!("canonical encoding of an in-crate type failed: {e}"),
    };
    let compact = compact(value);
    assert!(
        compact == jcs,
        "compact and RFC 8785 encodings differ: a type declares fields out of order"
    );
    jcs
}

fn compact<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|e| panic!("encoding of an in-crate type failed: {e}"))
}

/// Parses `bytes` as `T` and checks that they are exactly the canonical encoding of the result.
pub fn from_canonical<T: Serialize + DeserializeOwned>(bytes: &[u8]) -> Result<T, CanonicalError> {
    let value: T = serde_json::from_slice(bytes).map_err(|e| CanonicalError::Json {
        column: e.column(),
        message: e.to_string(),
    })?;
    // The compact form equals the canonical one for this crate's types (see `to_canonical`):
    // written against the input as it is produced, without building it.
    let mut against = Against {
        expected: bytes,
        at: 0,
        differs_at: None,
    };
    if let Err(e) = serde_json::to_writer(&mut against, &value) {
        panic!("encoding of an in-crate type failed: {e}");
    }
    let differs_at = against
        .differs_at
        .or((against.at != bytes.len()).then_some(against.at.min(bytes.len())));
    if let Some(offset) = differs_at {
        return Err(CanonicalError::NotCanonical { offset });
    }
    Ok(value)
}

/// A writer that compares what is written with `expected`, noting the first byte that differs.
struct Against<'a> {
    expected: &'a [u8],
    /// Bytes written so far.
    at: usize,
    differs_at: Option<usize>,
}

impl std::io::Write for Against<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.differs_at.is_none() {
            let rest = self.expected.get(self.at..).unwrap_or_default();
            let n = buf.len().min(rest.len());
            if n < buf.len() || buf[..n] != rest[..n] {
                let same = buf.iter().zip(rest).take_while(|(a, b)| a == b).count();
                self.differs_at = Some(self.at + same);
            }
        }
        self.at += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn refuses_spacing_order_and_number_spellings() {
        type M = BTreeMap<String, i64>;
        assert!(from_canonical::<M>(br#"{"a":1,"b":2}"#).is_ok());
        for bad in [
            &br#"{"b":2,"a":1}"#[..],
            br#"{"a": 1,"b":2}"#,
            br#"{"a":1.0,"b":2}"#,
            br#"{"a":1e0,"b":2}"#,
            br#"{"a":01,"b":2}"#,
            br#"{"\u0061":1,"b":2}"#,
        ] {
            assert!(
                from_canonical::<M>(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn names_the_first_byte_that_differs() {
        type M = BTreeMap<String, i64>;
        for (bad, offset) in [
            // The space after the colon.
            (&br#"{"a": 1,"b":2}"#[..], 5),
            // Key order: `"b"` where `"a"` belongs.
            (br#"{"b":2,"a":1}"#, 2),
            // A trailing space JSON allows: the canonical form ends before it.
            (br#"{"a":1} "#, 7),
            // A leading one: the first byte.
            (br#" {"a":1}"#, 0),
        ] {
            assert_eq!(
                from_canonical::<M>(bad),
                Err(CanonicalError::NotCanonical { offset }),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
