//! The pair frame against an exact geodesic (Karney's algorithm, `geographiclib-rs`): the
//! horizontal distance the engine measures between two aircraft, at ranges up to 500 km, anywhere
//! on the globe including the poles and across the antimeridian.
//!
//! The engine measures the chord between the two ground points, which is shorter than the geodesic
//! s by about s³ / (24 R²); with R the smallest radius of curvature of WGS-84 that bound is
//! 1.04 mm at 10 km, 1.04 m at 100 km, 28 m at 300 km and 130 m at 500 km (relative 2.6e-4).

use deconflict_engine::encounter::{EncounterGeometry, h_dist_m};
use deconflict_engine::geodesy::WGS84_CURVATURE_RADIUS_M_MIN;
use deconflict_engine::{AircraftState, Position, Velocity};
use geographiclib_rs::{DirectGeodesic, Geodesic};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn state(lat: f64, lon: f64, trk: f64, gs: f64) -> AircraftState {
    let lon = if lon > 180.0 {
        lon - 360.0
    } else if lon < -180.0 {
        lon + 360.0
    } else {
        lon
    };
    AircraftState::new(
        Position::new(lat.clamp(-90.0, 90.0), lon, 10_000.0).unwrap(),
        Velocity::new(trk.rem_euclid(360.0), gs, 0.0).unwrap(),
    )
}

fn bound_m(s_m: f64) -> f64 {
    s_m.powi(3) / (24.0 * WGS84_CURVATURE_RADIUS_M_MIN * WGS84_CURVATURE_RADIUS_M_MIN)
}

#[test]
fn chord_distance_error_against_the_exact_geodesic() {
    let g = Geodesic::wgs84();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut worst_rel = [0.0f64; 4];
    let ranges_m = [10_000.0, 100_000.0, 300_000.0, 500_000.0];
    for k in 0..20_000 {
        // A quarter of the samples within 2° of a pole, the rest anywhere.
        let lat1: f64 = if k % 4 == 0 {
            rng.gen_range(88.0..=90.0) * if rng.gen_bool(0.5) { 1.0 } else { -1.0 }
        } else {
            rng.gen_range(-90.0..=90.0)
        };
        let lon1: f64 = if k % 4 == 1 {
            rng.gen_range(179.0..=180.0)
        } else {
            rng.gen_range(-180.0..=180.0)
        };
        let azi: f64 = rng.gen_range(-180.0..180.0);
        let which = k % ranges_m.len();
        let s: f64 = rng.gen_range(0.0..=ranges_m[which]);
        let (lat2, lon2): (f64, f64) = g.direct(lat1, lon1, azi, s);
        let d = h_dist_m(&state(lat1, lon1, 0.0, 0.0), &state(lat2, lon2, 0.0, 0.0));
        let err = s - d;
        // Never longer than the geodesic (a chord), never shorter than the cubic bound allows.
        assert!(
            err >= -1e-6,
            "chord longer than geodesic: s {s} d {d} at ({lat1}, {lon1}) azi {azi}"
        );
        assert!(
            err <= bound_m(s) * 1.01 + 1e-6,
            "s {s} d {d} err {err} bound {} at ({lat1}, {lon1})",
            bound_m(s)
        );
        if s > 0.0 {
            worst_rel[which] = worst_rel[which].max(err / s);
        }
    }
    // The measured worst relative errors per range (printed with --nocapture).
    for (r, w) in ranges_m.iter().zip(worst_rel) {
        println!(
            "up to {:>6.0} km: worst relative error {w:.3e}, i.e. {:.3} m at the range",
            r / 1000.0,
            w * r
        );
    }
    assert!(worst_rel[0] < 1.1e-7 && worst_rel[3] < 2.7e-4);
}

#[test]
fn aircraft_flying_the_geodesic_towards_each_other_meet_head_on_in_the_pair_frame() {
    // Each aircraft heads along the geodesic towards the other; in the pair frame the relative
    // velocity must point back along the chord at the sum of the ground speeds.
    let g = Geodesic::wgs84();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..5_000 {
        let lat1: f64 = rng.gen_range(-89.0..=89.0);
        let lon1: f64 = rng.gen_range(-180.0..=180.0);
        let azi1: f64 = rng.gen_range(-180.0..180.0);
        let s: f64 = rng.gen_range(1_000.0..=300_000.0);
        let (lat2, lon2, azi2): (f64, f64, f64) = g.direct(lat1, lon1, azi1, s);
        let a = state(lat1, lon1, azi1, 200.0);
        // At point 2 the geodesic continues along azi2; back towards point 1 is azi2 + 180.
        let b = state(lat2, lon2, azi2 + 180.0, 150.0);
        let geo = EncounterGeometry::between(&a, &b);
        let [px, py] = geo.rel_pos_m();
        let [vx, vy] = geo.rel_vel_mps();
        let closing = -(px * vx + py * vy) / px.hypot(py);
        let lateral = (px * vy - py * vx).abs() / px.hypot(py);
        assert!((closing - 350.0).abs() < 0.01, "closing {closing} at s {s}");
        // Miss distance at the closest approach, relative to the range.
        let miss_m = lateral / 350.0 * px.hypot(py);
        assert!(miss_m < 1e-4 * s + 0.01, "miss {miss_m} m over {s} m");
    }
}
