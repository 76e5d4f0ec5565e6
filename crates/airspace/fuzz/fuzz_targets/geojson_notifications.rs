//! The GeoJSON notification and geography parsers on arbitrary bytes: they must return a value
//! or an error, never panic, and what they accept must survive a round trip unchanged.
#![no_main]

use deconflict_airspace::{
    Limits, geography_to_geojson, notifications_to_geojson, parse_geography, parse_notifications,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(notifications) = parse_notifications(data, "fuzz", &limits) {
        let again = parse_notifications(
            notifications_to_geojson(&notifications).as_bytes(),
            "again",
            &limits,
        )
        .expect("written notifications parse");
        assert_eq!(again, notifications);
    }
    if let Ok(geography) = parse_geography(data, "fuzz", &limits) {
        let again = parse_geography(
            geography_to_geojson(&geography).as_bytes(),
            "again",
            &limits,
        )
        .expect("written geography parses");
        assert_eq!(again, geography);
    }
});
