//! Coordinated advice: over random two-aircraft encounters, the two suggestions never go the
//! same vertical sense, never turn so as to bring the closest approach nearer (either aircraft
//! alone or both), and do not depend on which side computes them.

use std::path::Path;

use deconflict_wellclear::advice::{Turn, Vertical, coordinate};
use deconflict_wellclear::encounter::{AircraftState, Position};
use deconflict_wellclear::geom::Vec3;
use deconflict_wellclear::{Config, parse_conf};
use proptest::prelude::*;

fn config() -> Config {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/daidalus/configurations/DO_365B_no_SUM.conf");
    parse_conf("DO_365B_no_SUM.conf", &std::fs::read_to_string(p).unwrap()).unwrap()
}

fn ac(id: &str, s: Vec3, v: Vec3) -> AircraftState {
    AircraftState {
        id: id.into(),
        position: Position::Euclidean(s),
        velocity_mps: v,
        air_velocity: None,
        alerter: Some(1),
        line: 0,
    }
}

/// Horizontal distance at the closest approach from now on, flying straight, and its time.
fn miss(sa: Vec3, va: Vec3, sb: Vec3, vb: Vec3) -> (f64, f64) {
    let (sx, sy) = (sb.x - sa.x, sb.y - sa.y);
    let (vx, vy) = (vb.x - va.x, vb.y - va.y);
    let vv = vx * vx + vy * vy;
    let t = if vv > 0.0 {
        (-(sx * vx + sy * vy) / vv).max(0.0)
    } else {
        0.0
    };
    ((sx + vx * t).hypot(sy + vy * t), t)
}

/// `v` turned by `rad` in sense `turn` (right: clockwise seen from above).
fn turned(v: Vec3, turn: Turn, rad: f64) -> Vec3 {
    let a = match turn {
        Turn::Right => rad,
        Turn::Left => -rad,
    };
    Vec3::new(
        v.x * a.cos() + v.y * a.sin(),
        -v.x * a.sin() + v.y * a.cos(),
        v.z,
    )
}

/// A turn of 2° by either aircraft alone, or by both, never brings the closest approach
/// nearer, to first order: a turn by θ at speed u shifts the position at time t by about
/// u·t·θ²/2 beyond its first-order effect, so a loss within twice that (where the chosen turn
/// hardly matters) is allowed.
fn turns_open(sa: Vec3, va: Vec3, ta: Turn, sb: Vec3, vb: Vec3, tb: Turn) -> Result<(), String> {
    let th = 2f64.to_radians();
    let (before, t) = miss(sa, va, sb, vb);
    let (ua, ub) = (turned(va, ta, th), turned(vb, tb, th));
    let speed = |v: Vec3| v.x.hypot(v.y);
    for (what, after, u) in [
        ("a alone", miss(sa, ua, sb, vb).0, speed(va)),
        ("b alone", miss(sa, va, sb, ub).0, speed(vb)),
        ("both", miss(sa, ua, sb, ub).0, speed(va) + speed(vb)),
    ] {
        if after < before - 0.01 - u * t * th * th {
            return Err(format!("{what}: miss {before} m becomes {after} m"));
        }
    }
    Ok(())
}

#[test]
fn head_on_both_turn_right_and_the_higher_climbs() {
    let kt = 1852.0 / 3600.0;
    let a = ac(
        "A",
        Vec3::new(0.0, 0.0, 3000.0),
        Vec3::new(0.0, 200.0 * kt, 0.0),
    );
    let b = ac(
        "B",
        Vec3::new(0.0, 12_000.0, 3050.0),
        Vec3::new(0.0, -250.0 * kt, 0.0),
    );
    let advice = coordinate(&a, &b, &config()).unwrap();
    assert_eq!(advice.own.turn, Turn::Right);
    assert_eq!(advice.other.turn, Turn::Right);
    assert_eq!(advice.own.vertical, Vertical::Descend, "A is lower");
    assert_eq!(advice.other.vertical, Vertical::Climb);
    // In conflict: both have a resolution, rendered as an instruction.
    let alt = advice.other.altitude_m.expect("a climb resolution");
    assert!(alt > 3050.0, "{alt}");
    let phrase = advice.other.phrase();
    assert!(phrase.starts_with("climb to FL"), "{phrase}");
    assert!(phrase.contains("turn right to"), "{phrase}");
}

#[test]
fn same_name_is_refused() {
    let s = Vec3::new(0.0, 0.0, 3000.0);
    let a = ac("A", s, Vec3::new(0.0, 100.0, 0.0));
    assert!(coordinate(&a, &a, &config()).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn suggestions_are_complementary_and_symmetric(
        bearing in 0.0f64..std::f64::consts::TAU,
        range_m in 2_000.0f64..25_000.0,
        dz_m in -300.0f64..300.0,
        trk_a in 0.0f64..std::f64::consts::TAU,
        trk_b in 0.0f64..std::f64::consts::TAU,
        gs_a in 50.0f64..250.0,
        gs_b in 50.0f64..250.0,
        vz_a in -10.0f64..10.0,
        vz_b in -10.0f64..10.0,
        names_swapped in any::<bool>(),
    ) {
        let sa = Vec3::new(0.0, 0.0, 3000.0);
        let sb = Vec3::new(range_m * bearing.sin(), range_m * bearing.cos(), 3000.0 + dz_m);
        let va = Vec3::new(gs_a * trk_a.sin(), gs_a * trk_a.cos(), vz_a);
        let vb = Vec3::new(gs_b * trk_b.sin(), gs_b * trk_b.cos(), vz_b);
        let (na, nb) = if names_swapped { ("ZULU", "ALPHA") } else { ("ALPHA", "ZULU") };
        let a = ac(na, sa, va);
        let b = ac(nb, sb, vb);
        let c = config();
        let ab = coordinate(&a, &b, &c).unwrap();
        prop_assert_ne!(ab.own.vertical, ab.other.vertical, "same vertical sense");
        let opens = turns_open(sa, va, ab.own.turn, sb, vb, ab.other.turn);
        prop_assert!(opens.is_ok(), "{}", opens.unwrap_err());
        // Either side computes the same pairing.
        let ba = coordinate(&b, &a, &c).unwrap();
        // (Compared through Debug: bands hold NaN for "no resolution".)
        prop_assert_eq!(format!("{:?}", ab.own), format!("{:?}", ba.other));
        prop_assert_eq!(format!("{:?}", ab.other), format!("{:?}", ba.own));
    }
}
