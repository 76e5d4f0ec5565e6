//! A disc-shaped zone is entered at its radius on the ground, wherever the monitor's planar frame
//! is centred: here al-Tanf's 55 km zone, watched from a frame centred 280 km to the north (as an
//! agreement's geography over Syria centres it), approached from the east, the north and the
//! south-west. One metre scale per frame would put the east edge about 3% off.

use std::collections::BTreeSet;

use deconflict_airspace::conformance::{ConformanceMonitor, EventKind, Position};
use deconflict_airspace::volume::great_circle_m;
use deconflict_airspace::{
    AltitudeBand, Circle, Footprint, Frame, Geography, GeographyHistory, Limits, LonLat, PartyId,
    StrategicIndex, Zone,
};

const CENTRE: (f64, f64) = (38.63, 33.50);
const RADIUS_M: f64 = 55_000.0;
const R: f64 = 6_371_008.8;

fn ll(lon: f64, lat: f64) -> LonLat {
    LonLat::new(lon, lat).unwrap()
}

/// The point `d_m` from the centre on bearing `bearing_deg`, on the sphere.
fn destination(bearing_deg: f64, d_m: f64) -> LonLat {
    let (lat1, lon1) = (CENTRE.1.to_radians(), CENTRE.0.to_radians());
    let (b, a) = (bearing_deg.to_radians(), d_m / R);
    let lat2 = (lat1.sin() * a.cos() + lat1.cos() * a.sin() * b.cos()).asin();
    let lon2 = lon1 + (b.sin() * a.sin() * lat1.cos()).atan2(a.cos() - lat1.sin() * lat2.sin());
    ll(lon2.to_degrees(), lat2.to_degrees())
}

/// Whether a track standing at `at` is reported inside the zone closed to its party.
fn entered(at: LonLat) -> bool {
    let l = Limits::default();
    let russia: BTreeSet<PartyId> = [PartyId::new("russia").unwrap()].into();
    let zone = Zone::new(
        "al-tanf",
        Footprint::Circle(Circle::new(ll(CENTRE.0, CENTRE.1), RADIUS_M, &l).unwrap()),
        AltitudeBand::new(0.0, 15_000.0, &l).unwrap(),
        russia,
        BTreeSet::new(),
    );
    let mut geography = GeographyHistory::new();
    geography
        .publish(0, Geography::new(vec![], vec![zone]).unwrap())
        .unwrap();
    let frame = Frame::new(ll(38.5, 36.0));
    let index = StrategicIndex::new(frame);
    let mut monitor = ConformanceMonitor::new(frame);
    let party = PartyId::new("russia").unwrap();
    let p = Position {
        at,
        alt_m: 5_000.0,
        t_ms: 1_000,
    };
    monitor
        .observe("r1", &party, p, &index, &geography)
        .iter()
        .any(|e| matches!(e.kind, EventKind::ZoneEntered { .. }))
}

#[test]
fn a_disc_zone_is_entered_at_its_radius_on_the_ground() {
    for bearing in [90.0, 0.0, 225.0] {
        let inside = destination(bearing, RADIUS_M - 200.0);
        let outside = destination(bearing, RADIUS_M + 200.0);
        // The oracle for the distances is the spherical destination formula above.
        assert!((great_circle_m(ll(CENTRE.0, CENTRE.1), inside) - (RADIUS_M - 200.0)).abs() < 1.0);
        assert!(
            entered(inside),
            "bearing {bearing}: 54.8 km from the centre is inside"
        );
        assert!(
            !entered(outside),
            "bearing {bearing}: 55.2 km from the centre is outside"
        );
    }
}
