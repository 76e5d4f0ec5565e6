//! The closest approach against geometry worked out by hand (two aircraft on straight lines,
//! reported every 4 s at interleaved instants), against dense sampling of the same
//! interpolation, and its refusals of bad reports.

use deconflict_engine::geodesy::{EnuFrame, ecef_to_geodetic};
use deconflict_incident::{ApproachError, Report, closest_approach};
use proptest::prelude::*;

const T0: i64 = 1_790_000_000_000;

/// A report at ENU (east, north) metres around 35°N 38°E, `t_s` after T0.
fn report(frame: &EnuFrame, t_s: f64, east_m: f64, north_m: f64, alt_m: f64) -> Report {
    let (lat, lon, _) = ecef_to_geodetic(frame.to_ecef([east_m, north_m, 0.0]));
    Report {
        time_ms: T0 + (t_s * 1000.0).round() as i64,
        lat_deg: lat.to_degrees(),
        lon_deg: lon.to_degrees(),
        alt_m,
    }
}

fn frame() -> EnuFrame {
    EnuFrame::at(35f64.to_radians(), 38f64.to_radians())
}

/// a flies east at 200 m/s, level at 6,000 m, reported at 0, 4, 8 … s; b flies north at
/// 200 m/s 500 m east of a's start line, climbing 5 m/s from 5,000 m, reported at 2, 6, 10 … s.
/// Relative position b − a = (10,500 − 200 t, 200 t − 10,000): closest at t = 51.25 s, where it
/// is (250, 250), 353.55 m; b is then at 5,256.25 m, 743.75 m below a.
fn crossing() -> (Vec<Report>, Vec<Report>) {
    let f = frame();
    let a = (0..=25)
        .map(|k| {
            let t = 4.0 * f64::from(k);
            report(&f, t, -10_000.0 + 200.0 * t, 0.0, 6_000.0)
        })
        .collect();
    let b = (0..25)
        .map(|k| {
            let t = 2.0 + 4.0 * f64::from(k);
            report(&f, t, 500.0, -10_000.0 + 200.0 * t, 5_000.0 + 5.0 * t)
        })
        .collect();
    (a, b)
}

#[test]
fn two_straight_tracks_pass_at_the_closest_approach_worked_out_by_hand() {
    let (a, b) = crossing();
    let c = closest_approach(&a, &b, i64::MIN, i64::MAX)
        .unwrap()
        .unwrap();
    let expected_h = 250.0 * 2f64.sqrt();
    assert!((c.horizontal_m - expected_h).abs() < 1.0, "{c:?}");
    assert!((c.vertical_m - 743.75).abs() < 0.01, "{c:?}");
    assert!((c.time_ms - (T0 + 51_250)).abs() <= 5, "{c:?}");
    // a's nearest report is at 52 s (0.75 s away), b's at 50 s (1.25 s away).
    assert!((c.gap_ms - 1_250).abs() <= 5, "{c:?}");
    assert!((c.a.alt_m - 6_000.0).abs() < 1e-9);
    // Swapping the tracks changes nothing but which is which.
    let d = closest_approach(&b, &a, i64::MIN, i64::MAX)
        .unwrap()
        .unwrap();
    assert!((d.horizontal_m - c.horizontal_m).abs() < 1e-6);
    assert_eq!(d.time_ms, c.time_ms);
    assert_eq!(d.a, c.b);
}

#[test]
fn only_the_window_and_the_time_both_tracks_cover_are_searched() {
    let (a, b) = crossing();
    // Up to 40 s they are still converging: the closest is at the window's end.
    let c = closest_approach(&a, &b, T0, T0 + 40_000).unwrap().unwrap();
    assert_eq!(c.time_ms, T0 + 40_000);
    // Relative position at 40 s: (2,500, −2,000).
    assert!(
        (c.horizontal_m - 2_500f64.hypot(2_000.0)).abs() < 2.0,
        "{c:?}"
    );
    // b's reports begin at 2 s: nothing before is extrapolated.
    let early = closest_approach(&a, &b, T0, T0 + 1_000).unwrap();
    assert_eq!(early, None);
    assert_eq!(
        closest_approach(&a, &b, T0 + 1, T0),
        Err(ApproachError::Window {
            from_ms: T0 + 1,
            to_ms: T0
        })
    );
}

#[test]
fn bad_reports_are_refused_naming_the_track_and_report() {
    let (a, b) = crossing();
    let with = |i: usize, change: fn(&mut Report)| {
        let mut v = a.clone();
        change(&mut v[i]);
        v
    };
    for (bad, says) in [
        (
            with(3, |r| r.lat_deg = 200.0),
            "track a report 3: latitude 200",
        ),
        (
            with(4, |r| r.lon_deg = f64::NAN),
            "track a report 4: longitude NaN",
        ),
        (
            with(5, |r| r.alt_m = f64::INFINITY),
            "track a report 5: altitude inf",
        ),
        (with(6, |r| r.time_ms = T0), "track a report 6: time"),
    ] {
        let err = closest_approach(&bad, &b, i64::MIN, i64::MAX).unwrap_err();
        assert!(err.to_string().starts_with(says), "{err}");
    }
    assert_eq!(
        closest_approach(&a, &[], i64::MIN, i64::MAX),
        Err(ApproachError::Empty { track: 'b' })
    );
}

/// Relative speed bound of the generated tracks: each moves at most 2 km per report interval of
/// at least 1 s, per axis, so each aircraft's ground speed is below 2√2 m/ms and the pair's
/// relative speed below 4√2 m/ms.
const REL_SPEED_M_PER_MS_MAX: f64 = 4.0 * std::f64::consts::SQRT_2;

fn track() -> impl Strategy<Value = Vec<Report>> {
    (
        -5_000.0f64..5_000.0,
        -5_000.0f64..5_000.0,
        proptest::collection::vec(
            (
                1_000i64..10_000,
                -2_000.0f64..2_000.0,
                -2_000.0f64..2_000.0,
                0.0f64..3_000.0,
            ),
            1..12,
        ),
    )
        .prop_map(|(mut e, mut n, steps)| {
            let f = frame();
            let mut t = 0i64;
            steps
                .into_iter()
                .map(|(dt, de, dn, alt)| {
                    t += dt;
                    e += de;
                    n += dn;
                    report(&f, t as f64 / 1000.0, e, n, alt)
                })
                .collect()
        })
}

proptest! {
    // Each case samples 20,001 instants.
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Dense sampling of the same interpolation never finds a closer instant, and comes within
    /// what the fastest relative motion covers in one sampling step.
    #[test]
    fn no_sampled_instant_is_closer(a in track(), b in track()) {
        let Some(c) = closest_approach(&a, &b, i64::MIN, i64::MAX).unwrap() else {
            return Ok(());
        };
        let lo = a[0].time_ms.max(b[0].time_ms);
        let hi = a[a.len() - 1].time_ms.min(b[b.len() - 1].time_ms);
        let steps = 20_000i64;
        let mut sampled = f64::INFINITY;
        for k in 0..=steps {
            let t = lo + (hi - lo) * k / steps;
            let at = closest_approach(&a, &b, t, t).unwrap().unwrap();
            sampled = sampled.min(at.horizontal_m);
        }
        // The instant is rounded to the ms: at most 0.5 ms of relative motion.
        prop_assert!(
            c.horizontal_m <= sampled + 0.5 * REL_SPEED_M_PER_MS_MAX + 1e-6,
            "{} > {}", c.horizontal_m, sampled
        );
        // Between samples the distance falls at most by the relative speed × the step.
        let step_ms = (hi - lo) as f64 / steps as f64 + 1.0;
        prop_assert!(
            c.horizontal_m >= sampled - REL_SPEED_M_PER_MS_MAX * step_ms,
            "{} < {}", c.horizontal_m, sampled
        );
    }
}
