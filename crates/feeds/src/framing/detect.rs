//! Which feed format a stream's bytes look like, to tell a user who named the wrong one.
//!
//! Each format's own framer is run over a sample of the bytes; the format whose framer finds
//! the most records is the one they look like. Nothing here guesses for the user: a feed is
//! always read in the format it was given, and this only explains a run that found little.

use super::{Format, beast::BeastClock, feed_all, framer};

/// Bytes of the stream's start examined.
pub const SAMPLE_BYTES_MAX: usize = 64 * 1024;

/// Every format, in the order their names are listed.
pub const FORMATS: [Format; 4] = [Format::Beast, Format::Avr, Format::Sbs, Format::HexCsv];

/// The format's name on the command line (`--format NAME`).
pub fn format_name(format: Format) -> &'static str {
    match format {
        Format::Beast => "beast",
        Format::Avr => "avr",
        Format::Sbs => "sbs",
        Format::HexCsv => "hexcsv",
    }
}

/// Records `format`'s framer finds in the sample (the first [`SAMPLE_BYTES_MAX`] bytes).
pub fn records_in(format: Format, bytes: &[u8]) -> u64 {
    let sample = &bytes[..bytes.len().min(SAMPLE_BYTES_MAX)];
    let mut f = framer(format, BeastClock::Counter12MHz);
    let mut n = 0u64;
    feed_all(f.as_mut(), sample, |_| n += 1);
    n
}

/// The format whose framer finds the most records in the sample, with that count; `None` when
/// no format finds any.
pub fn best_format(bytes: &[u8]) -> Option<(Format, u64)> {
    FORMATS
        .iter()
        .map(|&f| (f, records_in(f, bytes)))
        .filter(|&(_, n)| n > 0)
        .max_by_key(|&(_, n)| n)
}

/// What to tell a user who read `bytes` as `given`, when another format fits them far better
/// (more than twice the records in the sample) or none fits at all; `None` when `given` fits.
pub fn wrong_format_warning(given: Format, bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    let sample = bytes.len().min(SAMPLE_BYTES_MAX);
    let found = records_in(given, bytes);
    match best_format(bytes) {
        Some((best, n)) if best != given && n > found.saturating_mul(2) => Some(format!(
            "most of the input is not {given_name}: the first {sample} bytes hold {found} {given_name} \
             records but {n} {best_name} records; the bytes look like {best_name} (--format {best_name})",
            given_name = format_name(given),
            best_name = format_name(best),
        )),
        None => Some(format!(
            "the first {sample} bytes hold no records of any format read here ({}): is this a \
             receiver recording?",
            FORMATS.map(format_name).join(", ")
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AVR: &[u8] =
        b"*8D4840D6202CC371C32CE0576098;\n*5D4840D6E8C2A3;\n*8D4840D6202CC371C32CE0576098;\n";

    #[test]
    fn avr_read_as_beast_is_named_as_avr() {
        let w = wrong_format_warning(Format::Beast, AVR).unwrap();
        assert!(w.contains("look like avr (--format avr)"), "{w}");
        assert_eq!(wrong_format_warning(Format::Avr, AVR), None);
    }

    #[test]
    fn bytes_of_no_format_say_so() {
        let w = wrong_format_warning(Format::Sbs, b"hello, world\n").unwrap();
        assert!(w.contains("no records of any format"), "{w}");
        assert_eq!(wrong_format_warning(Format::Sbs, b""), None);
    }
}
