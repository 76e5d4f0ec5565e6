//! The request-document parsers over random and truncated bytes (the same code as the
//! `request_json` fuzz target): an error naming what was wrong, never a panic.

use deconflict_client::notification_entry;
use deconflict_client::wire::{NotificationCreate, TrackBatchIn, TrackReportIn};
use deconflict_service::error::parse_json;
use proptest::prelude::*;

const NOW_MS: i64 = 1_491_984_000_000;

const VALID_REPORT: &str = r#"{"track_id":"a1","time_unix_ms":1491984000000,"lat_deg":35.0,"lon_deg":39.0,"alt_m":7000.0,"track_deg":90.0,"ground_speed_mps":200.0,"vertical_rate_mps":0.0,"callsign":"VIPER11"}"#;
const VALID_NOTIFICATION: &str = r#"{"id":"n1","notification":{"area":{"kind":"polygon","points":[{"lat_deg":35.0,"lon_deg":39.0},{"lat_deg":35.1,"lon_deg":39.0},{"lat_deg":35.1,"lon_deg":39.1}]},"alt_min_m":1000.0,"alt_max_m":2000.0,"start_unix_ms":0,"end_unix_ms":1000,"callsigns":["RA1"]},"entry_time_ms":1491984000000,"entry_salts":{"callsigns":"0101010101010101010101010101010101010101010101010101010101010101"},"entry_signature":"AAAA"}"#;

fn exercise(bytes: &[u8]) {
    match parse_json::<TrackReportIn>(bytes) {
        Ok(r) => {
            let _ = r.validate("", NOW_MS);
        }
        Err(e) => assert!(!e.body.message.is_empty() && e.status.is_client_error()),
    }
    if let Ok(b) = parse_json::<TrackBatchIn>(bytes) {
        for r in &b.reports {
            let _ = r.validate("reports", NOW_MS);
        }
    }
    match parse_json::<NotificationCreate>(bytes) {
        Ok(n) => {
            let _ = n.validate();
            // The salts are outside bytes too: checked, and the entry built, without a panic.
            if let Ok(salts) = notification_entry::parse_salts(&n.entry_salts) {
                let _ = notification_entry::check_disclosure(
                    &n.notification,
                    &Default::default(),
                    &salts,
                );
                let _ = notification_entry::notification_entry(
                    "p",
                    &n.id,
                    1,
                    &n.notification,
                    &salts,
                    n.entry_time_ms.unsigned_abs(),
                );
            }
        }
        Err(e) => assert!(e.status.is_client_error()),
    }
}

#[test]
fn the_valid_documents_parse_and_validate() {
    let r: TrackReportIn = parse_json(VALID_REPORT.as_bytes()).unwrap();
    r.validate("", NOW_MS).unwrap();
    let n: NotificationCreate = parse_json(VALID_NOTIFICATION.as_bytes()).unwrap();
    n.validate().unwrap();
    let salts = notification_entry::parse_salts(&n.entry_salts).unwrap();
    let disclosed = ["area", "altitude_band", "time_window"]
        .map(String::from)
        .into();
    notification_entry::check_disclosure(&n.notification, &disclosed, &salts).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        exercise(&bytes);
    }

    #[test]
    fn truncated_and_flipped_documents(cut in 0usize..520, flip in 0usize..520, bit in 0u8..8, which in any::<bool>()) {
        let doc = if which { VALID_REPORT } else { VALID_NOTIFICATION };
        let mut bytes = doc.as_bytes().to_vec();
        let i = flip % bytes.len();
        bytes[i] ^= 1 << bit;
        bytes.truncate(cut.min(bytes.len()));
        exercise(&bytes);
    }
}

/// A line of an openings file, as the service writes it.
fn opening_line() -> Vec<u8> {
    let (_, o) = deconflict_log::FieldValue::commit(
        deconflict_log::FieldValue::text("SOKOL21").unwrap(),
        deconflict_log::Salt([7; 32]),
    )
    .unwrap();
    serde_json::json!({"commitment": o.commitment().unwrap().to_hex(), "opening": o})
        .to_string()
        .into_bytes()
}

#[test]
fn an_opening_line_parses_and_must_open_what_it_names() {
    let line = opening_line();
    let (c, o) = deconflict_service::log_entries::parse_opening_line(&line).unwrap();
    assert_eq!(o.commitment().unwrap(), c);
    let other = String::from_utf8(line)
        .unwrap()
        .replace("SOKOL21", "SOKOL22");
    let e = deconflict_service::log_entries::parse_opening_line(other.as_bytes()).unwrap_err();
    assert!(e.contains("hashes to"), "{e}");
    let big = vec![b' '; deconflict_service::log_entries::OPENING_LINE_BYTES_MAX + 1];
    assert!(deconflict_service::log_entries::parse_opening_line(&big).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any bytes: an error, never a panic.
    #[test]
    fn opening_lines_from_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = deconflict_service::log_entries::parse_opening_line(&bytes);
    }

    /// One bit flipped anywhere in a valid line: refused, or read as the same opening of the
    /// same commitment (a hex digit's case) — never as another value.
    #[test]
    fn a_flipped_opening_line_never_opens_something_else(at in 0usize..400, bit in 0u8..8) {
        let line = opening_line();
        let good = deconflict_service::log_entries::parse_opening_line(&line).unwrap();
        let mut bad = line.clone();
        let i = at % bad.len();
        bad[i] ^= 1 << bit;
        if let Ok(got) = deconflict_service::log_entries::parse_opening_line(&bad) {
            prop_assert_eq!(got, good);
        }
    }
}

/// Start −5e18 and end 5e18: the difference overflows i64 and, wrapped, would pass the
/// seven-day limit. Each end is bounded and the length is computed checked.
#[test]
fn a_window_whose_length_would_overflow_is_refused() {
    let n: NotificationCreate = parse_json(VALID_NOTIFICATION.as_bytes()).unwrap();
    let window = |start: i64, end: i64| {
        let mut x = n.notification.clone();
        x.start_unix_ms = start;
        x.end_unix_ms = end;
        x.validate().map_err(|e| e.field)
    };
    let week_ms = deconflict_client::wire::WINDOW_S_MAX * 1000;
    assert_eq!(
        window(-5_000_000_000_000_000_000, 5_000_000_000_000_000_000),
        Err("start_unix_ms".into())
    );
    assert_eq!(window(0, i64::MAX), Err("end_unix_ms".into()));
    assert_eq!(window(i64::MIN, -1), Err("start_unix_ms".into()));
    assert_eq!(window(NOW_MS, NOW_MS + week_ms), Ok(()));
    assert_eq!(
        window(NOW_MS, NOW_MS + week_ms + 1),
        Err("end_unix_ms".into())
    );
}
