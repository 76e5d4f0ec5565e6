//! The scenario's designed facts, checked on the reports with independent spherical formulas
//! (haversine distance, initial bearing) rather than the generator's own local-plane mapping.

use deconflict_agreement::lifecycle::{Event, History, Status};
use deconflict_agreement::{AgreementSignature, PartyId};
use deconflict_sim::scenario::EUPHRATES;
use deconflict_sim::*;
use proptest::prelude::*;

const R_M: f64 = 6_371_008.8;
const H_SEP_M: f64 = 9260.0;
const V_SEP_M: f64 = 305.0;
const LOOKAHEAD_S: f64 = 120.0;

fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (p1, p2) = (a.0.to_radians(), b.0.to_radians());
    let dp = p2 - p1;
    let dl = (b.1 - a.1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * R_M * h.sqrt().asin()
}

fn ll(r: &TrackReport) -> (f64, f64) {
    (r.lat_deg, r.lon_deg)
}

fn report<'a>(reports: &'a [TrackReport], id: &str, t_unix_ms: i64) -> &'a TrackReport {
    reports
        .iter()
        .find(|r| r.aircraft_id == id && r.t_unix_ms == t_unix_ms)
        .unwrap_or_else(|| panic!("no report of {id} at {t_unix_ms}"))
}

/// Closed-form closest point of approach of two constant-velocity aircraft, from their reports,
/// in Earth-centred Cartesian coordinates on the sphere (so no map projection is involved):
/// each velocity is built from the aircraft's own course in its own east/north basis;
/// with r = p_b − p_a and v = v_b − v_a, τ = −(r·v)/|v|² and d = |r + vτ|.
fn cpa(a: &TrackReport, b: &TrackReport) -> (f64, f64) {
    let state = |x: &TrackReport| {
        let (phi, lam) = (x.lat_deg.to_radians(), x.lon_deg.to_radians());
        let p = [
            R_M * phi.cos() * lam.cos(),
            R_M * phi.cos() * lam.sin(),
            R_M * phi.sin(),
        ];
        let east = [-lam.sin(), lam.cos(), 0.0];
        let north = [-phi.sin() * lam.cos(), -phi.sin() * lam.sin(), phi.cos()];
        let h = x.track_deg.to_radians();
        let (ve, vn) = (x.ground_speed_mps * h.sin(), x.ground_speed_mps * h.cos());
        let v = [0, 1, 2].map(|i| ve * east[i] + vn * north[i]);
        (p, v)
    };
    let ((pa, va), (pb, vb)) = (state(a), state(b));
    let r = [0, 1, 2].map(|i| pb[i] - pa[i]);
    let v = [0, 1, 2].map(|i| vb[i] - va[i]);
    let dot = |x: [f64; 3], y: [f64; 3]| x[0] * y[0] + x[1] * y[1] + x[2] * y[2];
    let tau = -dot(r, v) / dot(v, v);
    let m = [0, 1, 2].map(|i| r[i] + v[i] * tau);
    (tau, dot(m, m).sqrt())
}

fn scenario(seed: u64) -> Scenario {
    Scenario::generate(&Config {
        seed,
        ..Config::default()
    })
    .unwrap()
}

fn check_designed_conflict(s: &Scenario) {
    // The generated agreement is valid for every seed (its keys come from the seed).
    assert_eq!(s.agreement().parties().len(), 2);
    let reports = s.reports();
    let c = &s.conflict;
    let at = |t_s: u32| s.config.start_unix_ms + i64::from(t_s) * 1000;
    // Predicted: 60 s before the CPA, the closed form sees it coming within the lookahead.
    let a = report(&reports, &c.aircraft_a, at(c.t_cpa_s - 60));
    let b = report(&reports, &c.aircraft_b, at(c.t_cpa_s - 60));
    assert_ne!(a.party, b.party);
    let (tau, miss) = cpa(a, b);
    assert!((tau - 60.0).abs() < 0.01, "τ = {tau}");
    assert!(tau > 0.0 && tau <= LOOKAHEAD_S);
    assert!(
        (miss - c.miss_m).abs() < 1.0,
        "closed form {miss} m vs designed {}",
        c.miss_m
    );
    assert!(miss < H_SEP_M);
    assert!((b.alt_m - a.alt_m).abs() < V_SEP_M);
    // Flown: the closest sampled distance is at the designed second and equals the miss.
    let (t_min, d_min) = (0..=s.config.duration_s)
        .filter_map(|t| {
            let a = reports
                .iter()
                .find(|r| r.aircraft_id == c.aircraft_a && r.t_unix_ms == at(t))?;
            let b = reports
                .iter()
                .find(|r| r.aircraft_id == c.aircraft_b && r.t_unix_ms == at(t))?;
            Some((t, haversine_m(ll(a), ll(b))))
        })
        .min_by(|x, y| x.1.total_cmp(&y.1))
        .unwrap();
    assert_eq!(t_min, c.t_cpa_s);
    assert!(
        (d_min - c.miss_m).abs() < 0.5,
        "flown {d_min} m vs designed {}",
        c.miss_m
    );
}

#[test]
fn default_scenario_has_the_designed_conflict() {
    check_designed_conflict(&scenario(1));
}

#[test]
fn regression_post_encounter_turns_brought_the_pair_back_together() {
    // With both aircraft turning towards each other's path after the CPA, this seed's closest
    // approach came 386 s after the designed one.
    check_designed_conflict(&scenario(8_851_605_980_112_230_466));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn every_seed_has_the_designed_conflict(seed in any::<u64>()) {
        check_designed_conflict(&scenario(seed));
    }
}

/// Pairs of aircraft of different parties that are ever within both minima at once.
fn losses_of_separation(s: &Scenario) -> Vec<(String, String)> {
    let mut pairs = std::collections::BTreeSet::new();
    for t in 0..=s.config.duration_s {
        let now = s.reports_at(t);
        for (i, a) in now.iter().enumerate() {
            for b in &now[i + 1..] {
                if a.party != b.party
                    && (a.alt_m - b.alt_m).abs() < V_SEP_M
                    && haversine_m(ll(a), ll(b)) < H_SEP_M
                {
                    pairs.insert((a.aircraft_id.clone(), b.aircraft_id.clone()));
                }
            }
        }
    }
    pairs.into_iter().collect()
}

#[test]
fn only_the_designed_pair_loses_separation() {
    let long = Config {
        seed: 4,
        duration_s: 3600,
        background_per_party: 10,
        ..Config::default()
    };
    for config in [1, 2, 3]
        .map(|seed| Config {
            seed,
            ..Config::default()
        })
        .into_iter()
        .chain([long])
    {
        let s = Scenario::generate(&config).unwrap();
        let seed = config.seed;
        assert_eq!(
            losses_of_separation(&s),
            vec![(s.conflict.aircraft_a.clone(), s.conflict.aircraft_b.clone())],
            "seed {seed}"
        );
    }
}

/// Proper intersection of segments p1p2 and q1q2 in the (lon, lat) plane.
fn segments_cross(p1: (f64, f64), p2: (f64, f64), q1: (f64, f64), q2: (f64, f64)) -> bool {
    let orient = |a: (f64, f64), b: (f64, f64), c: (f64, f64)| {
        (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0)
    };
    let d1 = orient(q1, q2, p1);
    let d2 = orient(q1, q2, p2);
    let d3 = orient(p1, p2, q1);
    let d4 = orient(p1, p2, q2);
    d1 * d2 < 0.0 && d3 * d4 < 0.0
}

fn crossings(s: &Scenario, aircraft_id: &str) -> usize {
    let track: Vec<(f64, f64)> = s
        .reports()
        .iter()
        .filter(|r| r.aircraft_id == aircraft_id)
        .map(|r| (r.lon_deg, r.lat_deg))
        .collect();
    let line: Vec<(f64, f64)> = EUPHRATES.iter().map(|p| (p.lon_deg, p.lat_deg)).collect();
    track
        .windows(2)
        .map(|w| {
            line.windows(2)
                .filter(|l| segments_cross(w[0], w[1], l[0], l[1]))
                .count()
        })
        .sum()
}

#[test]
fn the_designed_aircraft_crosses_the_euphrates_out_and_back() {
    for seed in [1, 7, 99] {
        let s = scenario(seed);
        assert_eq!(crossings(&s, &s.crossing.aircraft_id), 2, "seed {seed}");
        assert_eq!(s.crossing.line_id, "euphrates");
        let agreement = s.agreement();
        let line = &agreement.dividing_lines()[0];
        assert_eq!(line.id(), "euphrates");
        assert_eq!(line.points().len(), EUPHRATES.len());
    }
}

fn ring_near(ring: &[LatLon], c: LatLon, r_m: f64) -> bool {
    // Sample every edge at about 500 m and take the nearest sample (independent of any
    // polygon-circle formula); also accept the centre lying inside the ring.
    let inside = {
        let mut odd = false;
        for w in ring.windows(2) {
            let (a, b) = (w[0], w[1]);
            if (a.lat_deg > c.lat_deg) != (b.lat_deg > c.lat_deg) {
                let x = a.lon_deg
                    + (c.lat_deg - a.lat_deg) / (b.lat_deg - a.lat_deg) * (b.lon_deg - a.lon_deg);
                if c.lon_deg < x {
                    odd = !odd;
                }
            }
        }
        odd
    };
    inside
        || ring.windows(2).any(|w| {
            let n = 400;
            (0..=n).any(|k| {
                let f = f64::from(k) / f64::from(n);
                let p = (
                    w[0].lat_deg + f * (w[1].lat_deg - w[0].lat_deg),
                    w[0].lon_deg + f * (w[1].lon_deg - w[0].lon_deg),
                );
                haversine_m(p, (c.lat_deg, c.lon_deg)) < r_m
            })
        })
}

fn overlaps(a: &Notification, b: &Notification) -> bool {
    let vertical = a.floor_m < b.ceiling_m && b.floor_m < a.ceiling_m;
    let time = a.start_unix_ms < b.end_unix_ms && b.start_unix_ms < a.end_unix_ms;
    let area = match (&a.area, &b.area) {
        (NotifiedArea::Polygon(ring), NotifiedArea::Circle { center, radius_m })
        | (NotifiedArea::Circle { center, radius_m }, NotifiedArea::Polygon(ring)) => {
            ring_near(ring, *center, *radius_m)
        }
        (NotifiedArea::Polygon(p), NotifiedArea::Polygon(q)) => {
            // Boxes in this scenario: compare extents.
            let ext = |r: &[LatLon]| {
                r.iter()
                    .fold((90.0f64, 180.0f64, -90.0f64, -180.0f64), |e, p| {
                        (
                            e.0.min(p.lat_deg),
                            e.1.min(p.lon_deg),
                            e.2.max(p.lat_deg),
                            e.3.max(p.lon_deg),
                        )
                    })
            };
            let (x, y) = (ext(p), ext(q));
            x.0 < y.2 && y.0 < x.2 && x.1 < y.3 && y.1 < x.3
        }
        (
            NotifiedArea::Circle {
                center: c1,
                radius_m: r1,
            },
            NotifiedArea::Circle {
                center: c2,
                radius_m: r2,
            },
        ) => haversine_m((c1.lat_deg, c1.lon_deg), (c2.lat_deg, c2.lon_deg)) < r1 + r2,
    };
    vertical && time && area
}

#[test]
fn exactly_the_designed_notifications_of_different_parties_overlap() {
    let s = scenario(1);
    let mut found = Vec::new();
    for (i, a) in s.notifications.iter().enumerate() {
        for b in &s.notifications[i + 1..] {
            if a.party != b.party && overlaps(a, b) {
                found.push((a.id.clone(), b.id.clone()));
            }
        }
    }
    assert_eq!(found, vec![s.overlapping_notifications.clone()]);
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = scenario(42);
    let b = scenario(42);
    assert_eq!(a.reports_csv(), b.reports_csv());
    assert_eq!(a.agreement_toml, b.agreement_toml);
    assert_eq!(a.agreement().id(), b.agreement().id());
    let c = scenario(43);
    assert_ne!(a.reports_csv(), c.reports_csv());
    assert_ne!(a.agreement().id(), c.agreement().id());
}

#[test]
fn reports_are_every_second_and_in_range() {
    check_every_second_and_in_range(&scenario(5));
    // A long scenario with more background traffic stays in the area too.
    check_every_second_and_in_range(
        &Scenario::generate(&Config {
            seed: 6,
            duration_s: 2 * 3600,
            background_per_party: 20,
            ..Config::default()
        })
        .unwrap(),
    );
}

fn check_every_second_and_in_range(s: &Scenario) {
    let reports = s.reports();
    assert!(!reports.is_empty());
    for w in reports.windows(2) {
        assert!(w[0].t_unix_ms <= w[1].t_unix_ms);
    }
    for r in &reports {
        assert!((32.0..=37.5).contains(&r.lat_deg), "{r:?}");
        assert!((35.5..=42.5).contains(&r.lon_deg), "{r:?}");
        assert!((0.0..360.0).contains(&r.track_deg));
        assert_eq!((r.t_unix_ms - s.config.start_unix_ms) % 1000, 0);
    }
    // Every sortie reports once a second from its start to its end.
    for sortie in &s.sorties {
        let n = reports
            .iter()
            .filter(|r| r.aircraft_id == sortie.aircraft_id)
            .count();
        assert_eq!(
            n as u32,
            sortie.end_s() - sortie.start_s + 1,
            "{}",
            sortie.aircraft_id
        );
    }
}

#[test]
fn the_default_agreement_comes_into_force_with_the_scenario_keys() {
    let s = scenario(3);
    let a = s.agreement();
    let keys = s.keys();
    assert_eq!(a.parties().len(), 2);
    assert_eq!(a.separation().horizontal_m(), 9260);
    assert_eq!(a.separation().lookahead_s(), 120);
    assert_eq!(a.zones()[0].radius_m(), Some(55_000));
    let mut h = History::new(a.clone());
    for (party, key) in s.parties.iter().zip(&keys) {
        let id = PartyId::new(&party.id).unwrap();
        assert_eq!(a.party(&id).unwrap().language(), party.language);
        let sig = AgreementSignature::sign(&a, &id, key).unwrap();
        h.apply(Event::Sign(sig), s.config.start_unix_ms).unwrap();
    }
    assert_eq!(h.state().status(), Status::InForce);
}

#[test]
fn party_keys_are_deterministic_and_distinct() {
    let a = party_keys(9, 5);
    let b = party_keys(9, 5);
    let pa: Vec<_> = a.iter().map(|k| k.public_key()).collect();
    let pb: Vec<_> = b.iter().map(|k| k.public_key()).collect();
    assert_eq!(pa, pb);
    let distinct: std::collections::BTreeSet<_> = pa.iter().map(|k| k.to_text()).collect();
    assert_eq!(distinct.len(), 5);
    assert_ne!(party_keys(10, 1)[0].public_key(), pa[0]);
}

#[test]
fn bad_configs_are_refused() {
    let bad = |c: Config| Scenario::generate(&c).unwrap_err();
    assert_eq!(
        bad(Config {
            duration_s: 100,
            ..Config::default()
        }),
        ConfigError::Duration(100)
    );
    assert_eq!(
        bad(Config {
            background_per_party: 1_000_000,
            ..Config::default()
        }),
        ConfigError::Background(1_000_000)
    );
    assert_eq!(
        bad(Config {
            start_unix_ms: -1,
            ..Config::default()
        }),
        ConfigError::Start(-1)
    );
}

/// The designed pair approaches 175 m apart vertically (inside DO-365's 700 ft preventive
/// volume, outside its 450 ft corrective one) and is at the designed vertical miss from 45 s
/// before the CPA: the encounter passes through every DO-365 level.
#[test]
fn the_designed_pair_approaches_preventive_then_closes_to_the_designed_vertical_miss() {
    for seed in [1, 2, 3, 8_851_605_980_112_230_466] {
        let s = scenario(seed);
        let reports = s.reports();
        let c = &s.conflict;
        let dz = |t_s: u32| {
            let at = s.config.start_unix_ms + i64::from(t_s) * 1000;
            report(&reports, &c.aircraft_b, at).alt_m - report(&reports, &c.aircraft_a, at).alt_m
        };
        let ft = 0.3048;
        for before in [120, 90, 76] {
            let d = dz(c.t_cpa_s - before).abs();
            assert!(
                d > 450.0 * ft && d < 700.0 * ft,
                "seed {seed}: {d} m at CPA-{before} s"
            );
        }
        for before in [45, 10, 0] {
            let d = dz(c.t_cpa_s - before);
            assert!(
                (d - c.dz_m).abs() < 0.02,
                "seed {seed}: {d} m at CPA-{before} s"
            );
        }
    }
}
