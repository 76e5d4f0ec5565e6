//! A reader from a URL query string: each parameter, percent-decoding, errors naming the
//! parameter, and no panic on any input.

use deconflict_line::lang::{QUERY_BYTES_MAX, percent_decode};
use deconflict_line::*;
use proptest::prelude::*;

fn default() -> ReaderProfile {
    ReaderProfile::new(
        Language::parse("ru").unwrap(),
        UtcOffset::UTC,
        CoordFormat::Decimal,
    )
}

fn check(query: &str, lang: &str, offset_min: i16, coords: CoordFormat) {
    let r = ReaderProfile::from_query(query, default()).unwrap();
    assert_eq!(
        (r.lang.code(), r.utc_offset.minutes(), r.coordinates),
        (lang, offset_min, coords),
        "{query}"
    );
}

fn refused(query: &str, param: &str, unknown: bool) {
    let e = ReaderProfile::from_query(query, default()).unwrap_err();
    assert_eq!(
        (e.param.as_str(), e.unknown),
        (param, unknown),
        "{query}: {e}"
    );
    assert!(!e.reason.is_empty());
}

#[test]
fn parameters_override_the_default() {
    check("", "ru", 0, CoordFormat::Decimal);
    check("lang=en", "en", 0, CoordFormat::Decimal);
    check("utc_offset=%2B03:00", "ru", 180, CoordFormat::Decimal);
    // An unescaped `+` reads as a space; the offset still means +03:00.
    check("utc_offset=+03:00", "ru", 180, CoordFormat::Decimal);
    check(
        "utc_offset=-05%3A30&coords=dms",
        "ru",
        -330,
        CoordFormat::Dms,
    );
    check("coords=decimal&lang=en&", "en", 0, CoordFormat::Decimal);
}

#[test]
fn bad_parameters_are_named() {
    refused("lang=xx", "lang", false);
    refused("utc_offset=25:00", "utc_offset", false);
    refused("utc_offset=%zz", "utc_offset", false);
    refused("coords=utm", "coords", false);
    refused("colour=red", "colour", true);
    refused("lang=%C3%28", "lang", false);
    refused(&"a".repeat(QUERY_BYTES_MAX + 1), "", false);
}

#[test]
fn percent_decoding() {
    assert_eq!(percent_decode("%2B03:00").as_deref(), Some("+03:00"));
    assert_eq!(percent_decode("a+b%20c").as_deref(), Some("a b c"));
    assert_eq!(percent_decode("%D0%B0").as_deref(), Some("а"));
    for bad in ["%", "%2", "%zz", "%+1", "%C3%28"] {
        assert_eq!(percent_decode(bad), None, "{bad}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any string: a reader or an error, never a panic; a value that is encoded back decodes
    /// to itself.
    #[test]
    fn any_query_is_a_reader_or_a_named_error(q in ".{0,80}") {
        let _ = ReaderProfile::from_query(&q, default());
    }

    #[test]
    fn encoding_round_trips(s in ".{0,40}") {
        let encoded: String = s
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect();
        prop_assert_eq!(percent_decode(&encoded), Some(s));
    }
}
