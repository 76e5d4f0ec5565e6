//! Coordinated advice: over random two-aircraft encounters, the two suggestions never go the
//! same vertical sense, never turn towards the other aircraft, and do not depend on which side
//! computes them.

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

/// Sense that turns velocity `v` towards the line of sight `los`, if any.
fn closing_sense(v: Vec3, los: Vec3) -> Option<Turn> {
    let det = v.x * los.y - v.y * los.x;
    if det > 0.0 {
        Some(Turn::Left)
    } else if det < 0.0 {
        Some(Turn::Right)
    } else {
        None
    }
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
        prop_assert_ne!(Some(ab.own.turn), closing_sense(va, sb - sa), "A turns towards B");
        prop_assert_ne!(Some(ab.other.turn), closing_sense(vb, sa - sb), "B turns towards A");
        // Either side computes the same pairing.
        let ba = coordinate(&b, &a, &c).unwrap();
        // (Compared through Debug: bands hold NaN for "no resolution".)
        prop_assert_eq!(format!("{:?}", ab.own), format!("{:?}", ba.other));
        prop_assert_eq!(format!("{:?}", ab.other), format!("{:?}", ba.own));
    }
}
