//! Property tests: the parsers never panic on arbitrary or damaged input and point errors inside
//! the input; parsed values round-trip; the detectors' intervals agree with the pointwise
//! definitions of loss of separation (an exact oracle evaluated at sample times).

use deconflict_wellclear::detect::{Cylinder, PairState, WcvTaumod};
use deconflict_wellclear::geom::Vec3;
use deconflict_wellclear::{Ownship, alerting_csv, parse_conf, parse_encounter};
use proptest::prelude::*;

const CONF: &str = include_str!("../testdata/daidalus/configurations/DO_365B_no_SUM.conf");
const DAA: &str = include_str!("../testdata/daidalus/scenarios/C1_0_120_W.daa");

fn lines_in(text: &str) -> usize {
    text.lines().count() + 1
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn conf_parser_never_panics_on_random_text(text in "(?s).{0,400}") {
        if let Err(e) = parse_conf("r.conf", &text) {
            prop_assert!(e.location.line >= 1 && e.location.line <= lines_in(&text));
            prop_assert!(e.location.column >= 1);
        }
    }

    #[test]
    fn encounter_parser_never_panics_on_random_text(text in "(?s).{0,400}") {
        if let Err(e) = parse_encounter("r.daa", &text) {
            prop_assert!(e.location.line >= 1 && e.location.line <= lines_in(&text));
            prop_assert!(e.location.column >= 1);
        }
    }

    #[test]
    fn truncated_or_damaged_files_give_errors_not_panics(
        cut in 0usize..20_000,
        pos in 0usize..20_000,
        ch in prop::sample::select(vec!['[', ']', ',', '=', ' ', '\n', 'x', '-', '.', '9', '#', 'é']),
    ) {
        for base in [CONF, DAA] {
            let mut text: String = base.chars().take(cut % (base.len() + 1)).collect();
            let p = pos % (text.chars().count() + 1);
            let idx = text.char_indices().nth(p).map_or(text.len(), |(i, _)| i);
            text.insert(idx, ch);
            let c = parse_conf("d.conf", &text);
            let e = parse_encounter("d.daa", &text);
            if let (Ok(config), Ok(enc)) = (c, e) {
                // Both accepted (possible for harmless damage): running them must not panic.
                let _ = alerting_csv(&config, &enc, Ownship::First);
            }
        }
    }

    #[test]
    fn encounter_values_round_trip(
        rows in prop::collection::vec(
            (-89.0f64..89.0, -179.0f64..179.0, -1000.0f64..60_000.0, 0.0f64..360.0, 0.0f64..900.0, -8000.0f64..8000.0),
            1..20,
        ),
    ) {
        let mut text = String::from("NAME lat lon alt trk gs vs time\n[none] [deg] [deg] [ft] [deg] [knot] [fpm] [s]\n");
        for (i, (lat, lon, alt, trk, gs, vs)) in rows.iter().enumerate() {
            text.push_str(&format!("AC{i}, {lat}, {lon}, {alt}, {trk}, {gs}, {vs}, 7\n"));
        }
        let enc = parse_encounter("rt.daa", &text).unwrap();
        prop_assert_eq!(enc.steps.len(), 1);
        prop_assert_eq!(enc.steps[0].aircraft.len(), rows.len());
        for (a, (lat, lon, alt, trk, gs, vs)) in enc.steps[0].aircraft.iter().zip(&rows) {
            let deconflict_wellclear::encounter::Position::Geodetic(p) = a.position else {
                return Err(TestCaseError::fail("not geodetic"));
            };
            prop_assert_eq!(p.lat_rad, lat * (std::f64::consts::PI / 180.0));
            prop_assert_eq!(p.lon_rad, lon * (std::f64::consts::PI / 180.0));
            prop_assert_eq!(p.alt_m, alt * 0.3048);
            let gs_mps = gs * (1852.0 / 3600.0);
            let trk_rad = trk * (std::f64::consts::PI / 180.0);
            prop_assert_eq!(a.velocity_mps, Vec3::new(gs_mps * trk_rad.sin(), gs_mps * trk_rad.cos(), vs * (0.3048 / 60.0)));
        }
    }
}

/// A random pair in a local frame within ±20 km, ±1 km vertically, speeds up to 300 m/s.
fn pair() -> impl Strategy<Value = PairState> {
    let pos = (
        -20_000.0f64..20_000.0,
        -20_000.0f64..20_000.0,
        -1000.0f64..1000.0,
    );
    let vel = (-300.0f64..300.0, -300.0f64..300.0, -30.0f64..30.0);
    (pos, vel.clone(), vel).prop_map(|((x, y, z), (ax, ay, az), (bx, by, bz))| PairState {
        so: Vec3::new(0.0, 0.0, 3000.0),
        vo: Vec3::new(ax, ay, az),
        si: Vec3::new(x, y, 3000.0 + z),
        vi: Vec3::new(bx, by, bz),
    })
}

/// DO-365 well-clear violation at one instant (the pointwise definition).
fn wcv_at(s: Vec3, v: Vec3, d: f64, z: f64, tthr: f64, tcoa: f64) -> bool {
    let (sx, sy, vx, vy) = (s.x, s.y, v.x, v.y);
    let r2 = sx * sx + sy * sy;
    let sdotv = sx * vx + sy * vy;
    let v2 = vx * vx + vy * vy;
    let dcpa = if v2 > 0.0 {
        let t = -sdotv / v2;
        ((sx + t * vx).powi(2) + (sy + t * vy).powi(2)).sqrt()
    } else {
        r2.sqrt()
    };
    let horizontal = r2.sqrt() <= d || (dcpa <= d && sdotv < 0.0 && (d * d - r2) / sdotv <= tthr);
    let vertical = s.z.abs() <= z || (v.z != 0.0 && s.z * v.z <= 0.0 && -s.z / v.z <= tcoa);
    horizontal && vertical
}

fn cylinder_loss_at(s: Vec3, d: f64, h: f64) -> bool {
    (s.x * s.x + s.y * s.y).sqrt() < d && s.z.abs() < h
}

/// Samples [0, lookahead] and checks the interval against `inside(t)`, away from its ends.
fn agrees(
    time_in: Option<f64>,
    time_out: Option<f64>,
    lookahead: f64,
    inside: impl Fn(f64) -> bool,
) -> Result<(), String> {
    const MARGIN_S: f64 = 1e-3;
    for i in 0..=400 {
        let t = lookahead * f64::from(i) / 400.0;
        let predicted = match (time_in, time_out) {
            (Some(a), Some(b)) if t > a + MARGIN_S && t < b - MARGIN_S => Some(true),
            (Some(a), Some(b)) if t < a - MARGIN_S || t > b + MARGIN_S => Some(false),
            (None, _) => Some(false),
            _ => None,
        };
        if let Some(p) = predicted {
            // A loss shorter than the sampling step may be missed by the samples, never invented.
            if p != inside(t) && !(time_in.is_none() && inside(t) && near_boundary(&inside, t)) {
                return Err(format!(
                    "t = {t}: interval {time_in:?}..{time_out:?} says {p}, pointwise says {}",
                    inside(t)
                ));
            }
        }
    }
    Ok(())
}

fn near_boundary(inside: &impl Fn(f64) -> bool, t: f64) -> bool {
    inside(t) != inside(t + 1e-3) || inside(t) != inside(t - 1e-3)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn wcv_taumod_interval_matches_pointwise_definition(
        p in pair(), d in 500.0f64..3000.0, z in 50.0f64..300.0, tthr in 0.0f64..40.0, tcoa in 0.0f64..25.0,
    ) {
        let wcv = WcvTaumod::new(d, z, tthr, tcoa).unwrap();
        let loss = wcv.detect(&p, 180.0);
        let (s, v) = (p.s(), p.v());
        let r = agrees(loss.time_in_s(), loss.time_out_s(), 180.0, |t| wcv_at(s.linear(v, t), v, d, z, tthr, tcoa));
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }

    #[test]
    fn cylinder_interval_matches_pointwise_definition(p in pair(), d in 500.0f64..10_000.0, h in 50.0f64..400.0) {
        let cyl = Cylinder::new(d, h).unwrap();
        let loss = cyl.detect(&p, 180.0);
        let (s, v) = (p.s(), p.v());
        let r = agrees(loss.time_in_s(), loss.time_out_s(), 180.0, |t| cylinder_loss_at(s.linear(v, t), d, h));
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }

    #[test]
    fn detection_is_symmetric_in_ownship_and_intruder(p in pair()) {
        let swapped = PairState { so: p.si, vo: p.vi, si: p.so, vi: p.vo };
        let wcv = WcvTaumod::new(1222.32, 137.16, 35.0, 0.0).unwrap();
        let cyl = Cylinder::new(9260.0, 304.8).unwrap();
        for (a, b) in [(wcv.detect(&p, 180.0), wcv.detect(&swapped, 180.0)), (cyl.detect(&p, 180.0), cyl.detect(&swapped, 180.0))] {
            prop_assert_eq!(a.time_in_s().is_some(), b.time_in_s().is_some());
            if let (Some(x), Some(y)) = (a.time_in_s(), b.time_in_s()) {
                prop_assert!((x - y).abs() < 1e-6, "{x} vs {y}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Without filters the output is the raw level; with M-of-N alone, once the priming window
    /// has been flushed, the output is the highest level reached by at least M of the last N raw
    /// levels (DO-365B alerting stability), computed here directly from the definition.
    #[test]
    fn hysteresis_matches_the_m_of_n_definition(
        raws in prop::collection::vec(0u32..4, 1..60),
        m in 1u32..5,
        extra in 0u32..4,
    ) {
        use deconflict_wellclear::conf::MofN;
        use deconflict_wellclear::hysteresis::Hysteresis;
        let n = m + extra;
        let mut plain = Hysteresis::new(1e9, 0.0, None);
        let mut filtered = Hysteresis::new(1e9, 0.0, MofN::new(m, n));
        for (i, &raw) in raws.iter().enumerate() {
            let t = i as f64;
            prop_assert_eq!(plain.apply(raw, t), raw);
            let out = filtered.apply(raw, t);
            if i + 1 >= n as usize {
                let window = &raws[i + 1 - n as usize..=i];
                let expected = (0..4).rev().find(|&k| window.iter().filter(|&&r| r >= k).count() >= m as usize).unwrap_or(0);
                prop_assert_eq!(out, expected, "step {} window {:?}", i, window);
            }
        }
    }
}
