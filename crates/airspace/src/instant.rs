//! Times read from outside: RFC 3339 date-times at any precision, to the millisecond the cores
//! keep. Every command and every file format that reads a time as text parses it here.
//!
//! Accepted: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, the separator `T`, `t` or a space (RFC
//! 3339 §5.6 allows the space), `Z` or `z`, a fraction of any number of digits (Python's
//! `isoformat()` writes microseconds). A leap second (`:60`, only as the last second of a UTC
//! day) is read as the instant just before the next day.
//!
//! Rounding is outward, so that a volume never shrinks: the start of a window is rounded down
//! to the millisecond ([`Round::Down`]), its end up ([`Round::Up`]).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Which way a time with more than millisecond precision is rounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// To the millisecond at or before it (the start of a window).
    Down,
    /// To the millisecond at or after it (the end of a window).
    Up,
}

/// Why a text is not an RFC 3339 time.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an RFC 3339 time like 2017-04-12T09:40:00Z: {why}")]
pub struct TimeError {
    pub text: String,
    pub why: String,
}

/// Milliseconds since the Unix epoch of an RFC 3339 date-time, rounded as `round` says.
pub fn parse_rfc3339_ms(text: &str, round: Round) -> Result<i64, TimeError> {
    let err = |why: &str| TimeError {
        text: text.chars().take(64).collect(),
        why: why.to_string(),
    };
    if let Some(sep) = text.as_bytes().get(10)
        && !matches!(sep, b'T' | b't' | b' ')
    {
        return Err(err("date and time are separated by T"));
    }
    let t = OffsetDateTime::parse(text, &Rfc3339).map_err(|e| err(&e.to_string()))?;
    let ns = t.unix_timestamp_nanos();
    let floor_ms = ns.div_euclid(1_000_000);
    let inexact = ns.rem_euclid(1_000_000) != 0 || beyond_nanoseconds(text);
    let ms = match round {
        Round::Up if inexact => floor_ms + 1,
        _ => floor_ms,
    };
    i64::try_from(ms).map_err(|_| err("out of range"))
}

/// Whether the fraction has a non-zero digit after the ninth (below what `time` keeps).
fn beyond_nanoseconds(text: &str) -> bool {
    let Some((_, frac)) = text.split_once('.') else {
        return false;
    };
    frac.bytes()
        .take_while(u8::is_ascii_digit)
        .skip(9)
        .any(|d| d != b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_491_990_710_203; // 2017-04-12T09:51:50.203Z

    #[test]
    fn every_precision_is_read_and_rounded_outward() {
        let p = parse_rfc3339_ms;
        assert_eq!(p("2017-04-12T09:51:50.203Z", Round::Down), Ok(T0));
        assert_eq!(p("2017-04-12T09:51:50.203Z", Round::Up), Ok(T0));
        assert_eq!(p("2017-04-12T09:51:50.203031Z", Round::Down), Ok(T0));
        assert_eq!(p("2017-04-12T09:51:50.203031Z", Round::Up), Ok(T0 + 1));
        assert_eq!(p("2017-04-12T09:51:50.2030000000Z", Round::Up), Ok(T0));
        assert_eq!(p("2017-04-12T09:51:50.2030000001Z", Round::Up), Ok(T0 + 1));
        assert_eq!(p("2017-04-12T09:51:50.2030000001Z", Round::Down), Ok(T0));
        assert_eq!(p("2017-04-12 12:51:50.203+03:00", Round::Down), Ok(T0));
        assert_eq!(p("2017-04-12t09:51:50.203z", Round::Down), Ok(T0));
        assert_eq!(p("2017-04-12T09:51:50Z", Round::Up), Ok(T0 - 203));
        // Before the epoch, rounding is still towards the outside of the window.
        assert_eq!(p("1969-12-31T23:59:59.9995Z", Round::Down), Ok(-1));
        assert_eq!(p("1969-12-31T23:59:59.9995Z", Round::Up), Ok(0));
    }

    #[test]
    fn what_is_not_rfc_3339_is_refused_with_the_text() {
        for bad in [
            "2017-04-12X09:51:50Z",
            "2017-04-12T09:51:50",
            "2017-04-12T09:51Z",
            "2017-04-12T09:51:50.Z",
            "2017-02-30T09:51:50Z",
            "2017-04-12T24:00:00Z",
            "now",
        ] {
            let e = parse_rfc3339_ms(bad, Round::Down).unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }
}
