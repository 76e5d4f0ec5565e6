//! Conformance driven by real recorded trajectories (842 aircraft over Switzerland, 17 h,
//! 2018-08-01; see testdata/README.md). Each aircraft is given to a party, notifications, a
//! zone and a dividing line are drawn across the area, and the monitor's events are compared
//! with a separate, direct computation in longitude/latitude over the same records.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;

use deconflict_airspace::conformance::{ConformanceMonitor, EventKind, Position, ZoneBreach};
use deconflict_airspace::{
    AltitudeBand, Circle, DividingLine, Footprint, Frame, Geography, GeographyHistory, Limits,
    LonLat, Notification, NotificationId, PartyId, Polygon, StrategicIndex, TimeWindow, Volume,
    Zone,
};

#[derive(serde::Deserialize)]
struct Record {
    icao24: String,
    timestamp: i64,
    latitude: f64,
    longitude: f64,
    altitude: Option<f64>,
}

const FT_TO_M: f64 = 0.3048;
const GAP_MS_MAX: i64 = 60_000;
const LINE_V1_LON: f64 = 8.0;
const LINE_V2_LON: f64 = 9.0;

/// Tracks sorted by time, altitude converted to metres once, here at the edge.
fn tracks() -> BTreeMap<String, Vec<(i64, f64, f64, f64)>> {
    let gz = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/traffic_switzerland.json.gz"
    ))
    .unwrap();
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut json)
        .unwrap();
    let records: Vec<Record> = serde_json::from_slice(&json).unwrap();
    let mut by: BTreeMap<String, Vec<(i64, f64, f64, f64)>> = BTreeMap::new();
    for r in records {
        let Some(alt_ft) = r.altitude else { continue };
        by.entry(r.icao24).or_default().push((
            r.timestamp,
            r.longitude,
            r.latitude,
            alt_ft * FT_TO_M,
        ));
    }
    for v in by.values_mut() {
        v.sort_by_key(|p| p.0);
    }
    by
}

fn party_of(icao24: &str) -> &'static str {
    if icao24 < "4" { "blue" } else { "red" }
}

fn ll(lon: f64, lat: f64) -> LonLat {
    LonLat::new(lon, lat).unwrap()
}

struct Rect {
    lon: (f64, f64),
    lat: (f64, f64),
}

impl Rect {
    fn contains(&self, lon: f64, lat: f64) -> bool {
        self.lon.0 <= lon && lon <= self.lon.1 && self.lat.0 <= lat && lat <= self.lat.1
    }
    fn footprint(&self) -> Footprint {
        Footprint::Polygon(
            Polygon::new(
                vec![
                    ll(self.lon.0, self.lat.0),
                    ll(self.lon.1, self.lat.0),
                    ll(self.lon.1, self.lat.1),
                    ll(self.lon.0, self.lat.1),
                ],
                &Limits::default(),
            )
            .unwrap(),
        )
    }
}

const BLUE_OPS: Rect = Rect {
    lon: (7.0, 9.0),
    lat: (46.0, 47.0),
};
const RED_OPS: Rect = Rect {
    lon: (8.5, 10.5),
    lat: (46.5, 47.5),
};
const OPS_ALT_M: (f64, f64) = (0.0, 12_000.0);
const ZONE_CENTRE: (f64, f64) = (8.55, 47.45);
const ZONE_RADIUS_M: f64 = 20_000.0;
const ZONE_ALT_M: (f64, f64) = (0.0, 15_000.0);
const FRAME_ORIGIN: (f64, f64) = (8.2, 46.8);

#[test]
fn recorded_flights_against_notifications_zone_and_a_versioned_line() {
    let tracks = tracks();
    let (t_first, t_last) = tracks.values().fold((i64::MAX, i64::MIN), |(a, b), v| {
        (a.min(v[0].0), b.max(v[v.len() - 1].0))
    });
    let t_switch = (t_first + t_last) / 2;
    let l = Limits {
        duration_s_max: 2 * 24 * 3600,
        ..Limits::default()
    };
    let window = TimeWindow::new(t_first, t_last + 1, &l).unwrap();
    let band = AltitudeBand::new(OPS_ALT_M.0, OPS_ALT_M.1, &l).unwrap();
    let notification = |id: &str, party: &str, r: &Rect| {
        Notification::new(
            NotificationId::new(id).unwrap(),
            PartyId::new(party).unwrap(),
            vec![Volume {
                footprint: r.footprint(),
                band,
                window,
            }],
        )
        .unwrap()
    };
    let frame = Frame::new(ll(FRAME_ORIGIN.0, FRAME_ORIGIN.1));
    let mut index = StrategicIndex::new(frame);
    index
        .insert(notification("BLUE-OPS", "blue", &BLUE_OPS))
        .unwrap();
    index
        .insert(notification("RED-OPS", "red", &RED_OPS))
        .unwrap();

    let both: BTreeSet<PartyId> = ["blue", "red"]
        .iter()
        .map(|p| PartyId::new(*p).unwrap())
        .collect();
    let red: BTreeSet<PartyId> = [PartyId::new("red").unwrap()].into();
    let line = |lon: f64| {
        DividingLine::new(
            "river",
            vec![ll(lon, 45.5), ll(lon, 46.8), ll(lon, 48.0)],
            both.clone(),
        )
        .unwrap()
    };
    let zone = Zone::new(
        "zurich",
        Footprint::Circle(
            Circle::new(ll(ZONE_CENTRE.0, ZONE_CENTRE.1), ZONE_RADIUS_M, &l).unwrap(),
        ),
        AltitudeBand::new(ZONE_ALT_M.0, ZONE_ALT_M.1, &l).unwrap(),
        red,
        BTreeSet::new(),
    );
    let mut geography = GeographyHistory::new();
    geography
        .publish(
            t_first,
            Geography::new(vec![line(LINE_V1_LON)], vec![zone.clone()]).unwrap(),
        )
        .unwrap();
    geography
        .publish(
            t_switch,
            Geography::new(vec![line(LINE_V2_LON)], vec![zone]).unwrap(),
        )
        .unwrap();

    // The monitor.
    let mut monitor = ConformanceMonitor::with_limits(frame, 10_000, GAP_MS_MAX / 1000);
    let mut crossings: Vec<(String, u32, f64, f64, i64)> = Vec::new();
    let mut zone_entries: Vec<(String, i64)> = Vec::new();
    for (icao, points) in &tracks {
        let party = PartyId::new(party_of(icao)).unwrap();
        for &(t_ms, lon, lat, alt_m) in points {
            let p = Position {
                at: ll(lon, lat),
                alt_m,
                t_ms,
            };
            for e in monitor.observe(icao, &party, p, &index, &geography) {
                match e.kind {
                    EventKind::DividingLineCrossed {
                        geography_version,
                        point,
                        t_ms,
                        ..
                    } => crossings.push((
                        icao.clone(),
                        geography_version,
                        point.lon_deg(),
                        point.lat_deg(),
                        t_ms,
                    )),
                    EventKind::ZoneEntered { breach, .. } => {
                        assert_eq!(breach, ZoneBreach::Closed);
                        zone_entries.push((icao.clone(), e.t_ms));
                    }
                    _ => {}
                }
            }
        }
    }

    // The direct computation, in longitude/latitude.
    // A disc zone is measured on the ground: the great-circle distance (spherical law of
    // cosines, written here apart from the crate's haversine) from its centre.
    let in_zone = |lon: f64, lat: f64, alt: f64| {
        let (p1, p2) = (ZONE_CENTRE.1.to_radians(), lat.to_radians());
        let dl = (lon - ZONE_CENTRE.0).to_radians();
        let c = (p1.sin() * p2.sin() + p1.cos() * p2.cos() * dl.cos()).clamp(-1.0, 1.0);
        let d = 6_371_008.8 * c.acos();
        d <= ZONE_RADIUS_M && ZONE_ALT_M.0 <= alt && alt < ZONE_ALT_M.1
    };
    let in_ops = |r: &Rect, lon: f64, lat: f64, alt: f64| {
        r.contains(lon, lat) && OPS_ALT_M.0 <= alt && alt < OPS_ALT_M.1
    };
    let mut expected_crossings = Vec::new();
    let mut expected_zone = Vec::new();
    let mut expected_counts: HashMap<&str, (u64, u64)> = HashMap::new();
    for (icao, points) in &tracks {
        let party = party_of(icao);
        let (own, other) = if party == "blue" {
            (&BLUE_OPS, &RED_OPS)
        } else {
            (&RED_OPS, &BLUE_OPS)
        };
        let mut prev: Option<(i64, f64, f64, f64)> = None;
        let (mut was_own, mut was_other, mut was_zone) = (false, false, false);
        for &(t, lon, lat, alt) in points {
            if prev.is_some_and(|p| t <= p.0) {
                continue; // a repeated time stamp: the monitor drops it too
            }
            let is_own = in_ops(own, lon, lat, alt);
            let is_other = in_ops(other, lon, lat, alt);
            let c = expected_counts.entry(party).or_default();
            if !is_own && (prev.is_none() || was_own) {
                c.0 += 1;
            }
            if is_other && (prev.is_none() || !was_other) {
                c.1 += 1;
            }
            let z = party == "red" && in_zone(lon, lat, alt);
            if z && !was_zone {
                expected_zone.push((icao.clone(), t));
            }
            if let Some((t0, lon0, lat0, _)) = prev
                && t - t0 <= GAP_MS_MAX
            {
                let (version, line_lon) = if t < t_switch {
                    (1, LINE_V1_LON)
                } else {
                    (2, LINE_V2_LON)
                };
                // West of the northbound line is its left; a point on it counts as east.
                if (lon0 < line_lon) != (lon < line_lon) {
                    let s = (line_lon - lon0) / (lon - lon0);
                    expected_crossings.push((
                        icao.clone(),
                        version,
                        line_lon,
                        lat0 + s * (lat - lat0),
                        t0 + (s * (t - t0) as f64).round() as i64,
                    ));
                }
            }
            (was_own, was_other, was_zone) = (is_own, is_other, z);
            prev = Some((t, lon, lat, alt));
        }
    }

    assert!(
        expected_crossings.len() > 300,
        "{} crossings",
        expected_crossings.len()
    );
    assert!(
        crossings.iter().any(|c| c.1 == 1) && crossings.iter().any(|c| c.1 == 2),
        "both versions of the line are exercised"
    );
    assert_eq!(crossings.len(), expected_crossings.len());
    for (got, want) in crossings.iter().zip(&expected_crossings) {
        assert_eq!((&got.0, got.1), (&want.0, want.1));
        assert!((got.2 - want.2).abs() < 1e-9, "{got:?} vs {want:?}");
        assert!((got.3 - want.3).abs() < 1e-9, "{got:?} vs {want:?}");
        assert!((got.4 - want.4).abs() <= 1, "{got:?} vs {want:?}");
    }
    assert!(!expected_zone.is_empty());
    assert_eq!(zone_entries, expected_zone);
    for (party, (outside, other)) in expected_counts {
        let c = monitor.counts()[&PartyId::new(party).unwrap()];
        assert_eq!(c.outside_own, outside, "{party} outside own");
        assert_eq!(c.entered_other, other, "{party} entered other");
        assert!(outside > 0 && other > 0, "{party}: {outside} {other}");
    }
}
