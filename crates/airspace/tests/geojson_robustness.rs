//! The GeoJSON parsers on random, truncated and mutated input, in `cargo test` (the fuzz target
//! under `fuzz/` does the same without bounds): never a panic, an error that says where, and a
//! round trip that keeps whatever was accepted.

use deconflict_airspace::{
    Limits, geography_to_geojson, notifications_to_geojson, parse_geography, parse_notifications,
};
use proptest::prelude::*;

const VALID: &str = r#"{"type":"FeatureCollection","features":[
{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[8,46],[8.1,46],[8.05,46.02],[8.1,46.1],[8,46.1],[8,46]]]},"properties":{"id":"N-1","party":"blue","alt_lower_m":0,"alt_upper_m":3000,"start":"2026-11-25T10:00:00Z","end":"2026-11-25T12:00:00Z"}},
{"type":"Feature","geometry":{"type":"Point","coordinates":[8.5,46.5]},"properties":{"id":"N-2","party":"red","radius_m":5000,"alt_lower_m":100,"alt_upper_m":900,"start":"2026-11-25T10:00:00.250Z","end":"2026-11-25T11:00:00Z"}},
{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[9,46],[9.1,46],[9.1,46.1],[9,46]]]},"properties":{"id":"N-1","party":"blue","alt_lower_m":3000,"alt_upper_m":6000,"start":"2026-11-25T10:00:00Z","end":"2026-11-25T12:00:00Z"}}]}"#;

const GEOGRAPHY: &str = r#"{"type":"FeatureCollection","features":[
{"type":"Feature","geometry":{"type":"LineString","coordinates":[[8,45.5],[8,46.8],[8,48]]},"properties":{"id":"river","kind":"dividing_line","closed_to":["red"]}},
{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[9,47],[9.2,47],[9.2,47.2],[9,47]]]},"properties":{"id":"z1","kind":"zone","alt_lower_m":0,"alt_upper_m":20000,"closed_to":[],"notification_required":["blue"]}}]}"#;

fn exercise(bytes: &[u8]) {
    let limits = Limits::default();
    match parse_notifications(bytes, "t.geojson", &limits) {
        Ok(n) => {
            let again =
                parse_notifications(notifications_to_geojson(&n).as_bytes(), "again", &limits)
                    .expect("written notifications parse");
            assert_eq!(again, n);
        }
        Err(e) => assert!(e.to_string().starts_with("t.geojson"), "{e}"),
    }
    match parse_geography(bytes, "t.geojson", &limits) {
        Ok(g) => {
            let again = parse_geography(geography_to_geojson(&g).as_bytes(), "again", &limits)
                .expect("written geography parses");
            assert_eq!(again, g);
        }
        Err(e) => assert!(e.to_string().starts_with("t.geojson"), "{e}"),
    }
}

#[test]
fn the_valid_documents_are_accepted() {
    let limits = Limits::default();
    let n = parse_notifications(VALID.as_bytes(), "v", &limits).unwrap();
    assert_eq!(n.len(), 2);
    assert_eq!(n[0].volumes().len(), 2);
    let g = parse_geography(GEOGRAPHY.as_bytes(), "g", &limits).unwrap();
    assert_eq!((g.lines().len(), g.zones().len()), (1, 1));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }

    #[test]
    fn truncated_documents_are_refused(cut in 0usize..VALID.len()) {
        let limits = Limits::default();
        prop_assert!(parse_notifications(&VALID.as_bytes()[..cut], "t", &limits).is_err());
        exercise(&GEOGRAPHY.as_bytes()[..cut.min(GEOGRAPHY.len())]);
    }

    #[test]
    fn mutated_documents(doc in 0usize..2, at in any::<prop::sample::Index>(), byte in any::<u8>(), n in 1usize..4) {
        let mut bytes = if doc == 0 { VALID.as_bytes().to_vec() } else { GEOGRAPHY.as_bytes().to_vec() };
        let i = at.index(bytes.len());
        for k in 0..n {
            if let Some(b) = bytes.get_mut(i + k) {
                *b = byte;
            }
        }
        exercise(&bytes);
    }

    #[test]
    fn mutated_numbers(doc in 0usize..2, at in any::<prop::sample::Index>(), value in prop_oneof![
        Just("NaN".to_owned()), Just("1e400".to_owned()), Just("-0".to_owned()), Just("200".to_owned()),
        Just("-1000000".to_owned()), Just("\"x\"".to_owned()), Just("null".to_owned()),
        any::<f64>().prop_map(|f| f.to_string()),
    ]) {
        // Replace one number in the document by something else.
        let text = if doc == 0 { VALID } else { GEOGRAPHY };
        let starts: Vec<usize> = text
            .char_indices()
            .filter(|(i, c)| (c.is_ascii_digit() || *c == '-') && !text[..*i].ends_with(|p: char| p.is_ascii_digit() || p == '.' || p == '-'))
            .map(|(i, _)| i)
            .collect();
        let s = starts[at.index(starts.len())];
        let end = s + text[s..].find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e')).unwrap_or(0);
        let mutated = format!("{}{}{}", &text[..s], value, &text[end..]);
        exercise(mutated.as_bytes());
    }
}
