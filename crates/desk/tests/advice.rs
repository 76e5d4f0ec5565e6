//! Coordinated advice on live alerts, through the desk: over random two-party encounters, every
//! alert of corrective level or above carries advice (and no other alert does), the two
//! suggestions never go the same vertical sense nor turn so as to bring the closest approach
//! nearer (either aircraft alone, or both), and they are what `wellclear::advice::coordinate`
//! gives from the recorded reports.

use deconflict_desk::advice::{self, state};
use deconflict_desk::{Alerter, Change, Desk, Level, Output, Report, Setup, TacticalAlert};
use deconflict_wellclear::advice::{Turn, Vertical, coordinate};
use deconflict_wellclear::encounter::{AircraftState, Position};
use deconflict_wellclear::geom::Vec3;
use deconflict_wellclear::projection::EnuProjection;
use proptest::prelude::*;

const T0: i64 = 1_700_000_000_000;
const LAT0: f64 = 35.0;
const LON0: f64 = 38.0;
const M_PER_DEG_LAT: f64 = 111_320.0;
const FT: f64 = 0.3048;

fn desk() -> Desk {
    Desk::new(Setup {
        parties: vec!["a".into(), "b".into()],
        h_sep_m: 9260.0,
        v_sep_m: 300.0,
        alerter: Alerter::named("DO_365B_no_SUM").unwrap(),
        lines: vec![],
        zones: vec![],
        report_future_s_max: 2.0,
        exact: false,
    })
    .unwrap()
}

/// An aircraft flying straight: where it is `east_m`, `north_m` from the reference at t = 0.
#[derive(Debug, Clone, Copy)]
struct Flight {
    east_m: f64,
    north_m: f64,
    alt_m: f64,
    track_deg: f64,
    gs_mps: f64,
    vs_mps: f64,
}

impl Flight {
    fn report(&self, id: &str, t_s: f64) -> Report {
        let trk = self.track_deg.to_radians();
        let e = self.east_m + self.gs_mps * trk.sin() * t_s;
        let n = self.north_m + self.gs_mps * trk.cos() * t_s;
        Report {
            track_id: id.into(),
            time_ms: T0 + (t_s * 1000.0) as i64,
            lat_deg: LAT0 + n / M_PER_DEG_LAT,
            lon_deg: LON0 + e / (M_PER_DEG_LAT * LAT0.to_radians().cos()),
            alt_m: self.alt_m + self.vs_mps * t_s,
            track_deg: self.track_deg,
            ground_speed_mps: self.gs_mps,
            vertical_rate_mps: self.vs_mps,
            callsign: None,
            aircraft_type: None,
            icao24: None,
            squawk: None,
        }
    }
}

/// Flies both aircraft second by second for `seconds`, ticking the desk; every tactical alert.
fn run(a: Flight, b: Flight, seconds: u32) -> Vec<TacticalAlert> {
    let mut d = desk();
    let mut alerts = Vec::new();
    for k in 0..=seconds {
        let t = T0 + i64::from(k) * 1000;
        d.report(t, "a", a.report("a1", f64::from(k))).unwrap();
        d.report(t, "b", b.report("b1", f64::from(k))).unwrap();
        d.tick(t);
        for o in d.poll() {
            if let Output::Tactical(x) = o {
                alerts.push(x);
            }
        }
    }
    let c = d.counters();
    assert_eq!(
        c.advice_given,
        alerts.iter().filter(|a| a.advice.is_some()).count() as u64
    );
    assert_eq!(c.advice_failed, 0);
    alerts
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

/// Whether a 2° turn of `a` alone, `b` alone or both, in the suggested senses, brings the
/// closest approach nearer (in `a`'s tangent plane), beyond the second-order effect of a turn
/// (u·t·θ²/2 at speed u after t, allowed twice over).
fn closing(a: &AircraftState, ta: Turn, b: &AircraftState, tb: Turn) -> Option<String> {
    let (Position::Geodetic(p), Position::Geodetic(q)) = (a.position, b.position) else {
        panic!("the desk's aircraft are geodetic")
    };
    let prj = EnuProjection::new(p.lat_rad, p.lon_rad);
    let (sa, sb) = (prj.project(p), prj.project(q));
    let (va, vb) = (
        prj.project_velocity(p, a.velocity_mps),
        prj.project_velocity(q, b.velocity_mps),
    );
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
            return Some(format!("{what}: miss {before} m becomes {after} m"));
        }
    }
    None
}

/// What every alert must satisfy: advice exactly on new or changed alerts at corrective level
/// or above; complementary senses; no closing turn; equal to `coordinate` on the basis.
fn check(alerts: &[TacticalAlert]) -> Result<usize, TestCaseError> {
    let config = Alerter::named("DO_365B_no_SUM").unwrap().config().clone();
    let mut advised = 0;
    for a in alerts {
        let wants = a.change != Change::Ended && a.level() >= Level::Corrective;
        prop_assert_eq!(a.advice.is_some(), wants, "alert {:?}", a);
        let Some(adv) = &a.advice else { continue };
        advised += 1;
        let [sa, sb] = &adv.sides;
        prop_assert_ne!(sa.vertical, sb.vertical, "same vertical sense: {:?}", adv);
        let xa = state(&a.sides[0].party, &adv.basis[0], adv.at_ms);
        let xb = state(&a.sides[1].party, &adv.basis[1], adv.at_ms);
        let closes = closing(&xa, sa.turn, &xb, sb.turn);
        prop_assert!(closes.is_none(), "{:?}: {:?}", closes, adv);
        // The same pairing, recomputed from the quantized reports alone.
        let again = coordinate(&xa, &xb, &config).unwrap();
        prop_assert_eq!(again.own.vertical, sa.vertical);
        prop_assert_eq!(again.other.vertical, sb.vertical);
        prop_assert_eq!(again.own.turn, sa.turn);
        prop_assert_eq!(again.other.turn, sb.turn);
        prop_assert_eq!(again.own.altitude_m, sa.altitude_m);
        prop_assert_eq!(again.other.direction_rad, sb.direction_rad);
        // The basis is what the record keeps: re-quantizing changes nothing.
        prop_assert_eq!(&advice::quantize(&adv.basis[0]), &adv.basis[0]);
    }
    Ok(advised)
}

#[test]
fn a_head_on_encounter_gets_complementary_advice_the_higher_climbing() {
    // Head-on along the meridian, b 200 ft above a, meeting after 60 s.
    let kt = 1852.0 / 3600.0;
    let a = Flight {
        east_m: 0.0,
        north_m: 0.0,
        alt_m: 6000.0,
        track_deg: 0.0,
        gs_mps: 250.0 * kt,
        vs_mps: 0.0,
    };
    let b = Flight {
        north_m: 60.0 * 500.0 * kt,
        alt_m: 6000.0 + 200.0 * FT,
        track_deg: 180.0,
        ..a
    };
    let alerts = run(a, b, 70);
    let advised = check(&alerts).unwrap();
    assert!(advised >= 1, "no corrective alert: {alerts:?}");
    let first = alerts.iter().find_map(|a| a.advice.as_ref()).unwrap();
    let [sa, sb] = &first.sides;
    assert_eq!((sa.party.as_str(), sa.track_id.as_str()), ("a", "a1"));
    assert_eq!(sa.vertical, Vertical::Descend, "a is lower");
    assert_eq!(sb.vertical, Vertical::Climb);
    assert_eq!((sa.turn, sb.turn), (Turn::Right, Turn::Right), "head-on");
    let up = sb.altitude_m.expect("a climb resolution for b");
    assert!(up > 6000.0 + 200.0 * FT, "{up}");
    assert!(!sb.bands.altitude_m.is_empty() && !sa.bands.direction_rad.is_empty());
}

#[test]
fn preventive_alerts_carry_no_advice() {
    // Head-on 600 ft apart: inside the preventive volume (700 ft), outside the corrective and
    // warning ones (450 ft).
    let kt = 1852.0 / 3600.0;
    let a = Flight {
        east_m: 0.0,
        north_m: 0.0,
        alt_m: 6000.0,
        track_deg: 0.0,
        gs_mps: 250.0 * kt,
        vs_mps: 0.0,
    };
    let b = Flight {
        north_m: 60.0 * 500.0 * kt,
        alt_m: 6000.0 + 600.0 * FT,
        track_deg: 180.0,
        ..a
    };
    let alerts = run(a, b, 70);
    let preventive = alerts
        .iter()
        .filter(|a| a.change != Change::Ended && a.level() == Level::Preventive)
        .count();
    assert!(preventive >= 1, "{alerts:?}");
    assert!(alerts.iter().all(|a| a.level() < Level::Corrective));
    assert!(alerts.iter().all(|a| a.advice.is_none()), "{alerts:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn live_suggestions_are_complementary_and_never_close(
        meet_s in 30.0f64..70.0,
        track_a in 0.0f64..360.0,
        track_b in 0.0f64..360.0,
        gs_a in 60.0f64..250.0,
        gs_b in 60.0f64..250.0,
        miss_m in -800.0f64..800.0,
        dz_ft in -500.0f64..500.0,
        vs_a in -8.0f64..8.0,
        vs_b in -8.0f64..8.0,
    ) {
        // Both reach points `miss_m` apart (east) at `meet_s`, `dz_ft` apart vertically.
        let start = |track_deg: f64, gs: f64, vs: f64, east: f64, alt: f64| {
            let trk = track_deg.to_radians();
            Flight {
                east_m: east - gs * trk.sin() * meet_s,
                north_m: -gs * trk.cos() * meet_s,
                alt_m: alt - vs * meet_s,
                track_deg,
                gs_mps: gs,
                vs_mps: vs,
            }
        };
        let a = start(track_a, gs_a, vs_a, 0.0, 6000.0);
        let b = start(track_b, gs_b, vs_b, miss_m, 6000.0 + dz_ft * FT);
        let alerts = run(a, b, (meet_s + 10.0) as u32);
        check(&alerts)?;
    }
}
