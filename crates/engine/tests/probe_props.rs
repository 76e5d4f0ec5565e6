//! Property tests of the whole picture: the broad + narrow phase returns exactly what the plain
//! all-pairs oracle returns, on random snapshots dense and sparse, anywhere on the globe
//! (including the poles and the antimeridian), with every kind of motion the engine accepts.

use deconflict_engine::encounter::pair_conflict;
use deconflict_engine::geodesy::{EnuFrame, ecef_to_geodetic};
use deconflict_engine::kinematics::{GS_MPS_MAX, VS_MPS_MAX};
use deconflict_engine::probe::{LOOKAHEAD_S_MAX, probe_exact_with_stats, probe_with_stats};
use deconflict_engine::synth::{WorldConfig, world};
use deconflict_engine::{
    AircraftState, PairPolicy, PartyId, Position, ProbeConfig, Snapshot, Track, TrackId, Velocity,
    probe, probe_exact,
};
use proptest::prelude::*;

/// One generated aircraft: offset from the world's centre (m), altitude (m), track (deg),
/// ground speed (m/s), vertical rate (m/s), party index.
type Raw = (f64, f64, f64, f64, f64, f64, u8);

fn snapshot_of(center: (f64, f64), raw: &[Raw]) -> Snapshot {
    let frame = EnuFrame::at(center.0.to_radians(), center.1.to_radians());
    let parties = ["blue", "red", "green"];
    let tracks = raw
        .iter()
        .enumerate()
        .map(|(i, &(e, n, alt, trk, gs, vs, p))| {
            let (lat, lon, _) = ecef_to_geodetic(frame.to_ecef([e, n, 0.0]));
            let state = AircraftState::new(
                Position::new(
                    lat.to_degrees().clamp(-90.0, 90.0),
                    lon.to_degrees().clamp(-180.0, 180.0),
                    alt,
                )
                .unwrap(),
                Velocity::new(trk, gs, vs).unwrap(),
            );
            Track::new(
                TrackId::new(&format!("t{i}")).unwrap(),
                PartyId::new(parties[usize::from(p) % 3]).unwrap(),
                state,
            )
        })
        .collect();
    Snapshot::new(tracks).unwrap()
}

fn center() -> impl Strategy<Value = (f64, f64)> {
    prop_oneof![
        (-60.0..60.0f64, -180.0..=180.0f64),
        // The poles and the antimeridian.
        (
            prop_oneof![Just(90.0), Just(-90.0), 85.0..90.0f64],
            -180.0..=180.0f64
        ),
        (
            -80.0..80.0f64,
            prop_oneof![Just(180.0), Just(-180.0), 179.0..=180.0f64]
        ),
    ]
}

fn config() -> impl Strategy<Value = ProbeConfig> {
    (
        prop_oneof![Just(120.0), 0.0..=LOOKAHEAD_S_MAX],
        prop_oneof![Just(9260.0), 100.0..50_000.0f64],
        prop_oneof![Just(304.8), 10.0..3000.0f64],
        any::<bool>(),
    )
        .prop_map(|(t, h, v, all)| {
            let pairs = if all {
                PairPolicy::AllPairs
            } else {
                PairPolicy::DifferentParties
            };
            ProbeConfig::new(t, h, v, pairs).unwrap()
        })
}

fn raw(side_m: f64) -> impl Strategy<Value = Raw> {
    let half = side_m / 2.0;
    (
        -half..=half,
        -half..=half,
        // Altitudes bunched on a few levels (many co-altitude pairs) or spread.
        prop_oneof![
            (0u8..6).prop_map(|k| 3000.0 + 304.8 * f64::from(k)),
            -2000.0..40_000.0f64
        ],
        prop_oneof![0.0..=360.0f64, Just(0.0), Just(90.0), Just(360.0)],
        prop_oneof![60.0..300.0f64, 0.0..=GS_MPS_MAX, Just(0.0)],
        prop_oneof![Just(0.0), -20.0..20.0f64, -VS_MPS_MAX..=VS_MPS_MAX],
        0u8..3,
    )
}

fn world_strategy() -> impl Strategy<Value = ((f64, f64), Vec<Raw>)> {
    // Dense (a 20 km square) to sparse (a 3000 km square).
    (
        center(),
        prop_oneof![Just(20_000.0), 20_000.0..3_000_000.0f64],
    )
        .prop_flat_map(|(c, side)| (Just(c), proptest::collection::vec(raw(side), 0..120)))
}

/// Large enough that the grid takes the radix-sort path (thousands of entries).
#[test]
fn a_few_thousand_tracks_agree_with_the_oracle() {
    for (seed, side_km) in [(1, 300.0), (2, 1000.0)] {
        let wc = WorldConfig {
            tracks: 3000,
            side_m: side_km * 1000.0,
            ..WorldConfig::default()
        };
        let s = world(&wc, seed).unwrap();
        let config = ProbeConfig::default();
        let (fast, stats) = probe_with_stats(&s, &config);
        assert!(stats.broad.grid_entries > 4096, "{stats:?}");
        assert!(!fast.is_empty());
        assert_eq!(fast, probe_exact(&s, &config));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn broad_and_narrow_equal_exact_all_pairs((c, raw) in world_strategy(), config in config()) {
        let s = snapshot_of(c, &raw);
        let (fast, stats) = probe_with_stats(&s, &config);
        let (exact, _) = probe_exact_with_stats(&s, &config);
        prop_assert_eq!(&fast, &exact);
        // The broad phase hands on no more pairs than all pairs.
        let n = s.len() as u64;
        prop_assert!(stats.narrow_pairs <= n * n.saturating_sub(1) / 2);
        for p in &fast {
            prop_assert!(p.a() < p.b());
            prop_assert!(0.0 <= p.t_in_s() && p.t_in_s() <= p.t_out_s() && p.t_out_s() <= config.lookahead_s());
            prop_assert!(p.h_min_m() < config.h_sep_m() + 1e-6);
        }
        prop_assert!(fast.windows(2).all(|w| (w[0].a(), w[0].b()) < (w[1].a(), w[1].b())));
    }

    #[test]
    fn synthetic_worlds_agree_with_the_oracle(seed in any::<u64>(), tracks in 2usize..400, side_km in 50.0..2500.0f64,
                                             fl in 0.0..=1.0f64, c in center(), config in config()) {
        let wc = WorldConfig { tracks, parties: 3, side_m: side_km * 1000.0, center_lat_deg: c.0, center_lon_deg: c.1, flight_level_fraction: fl };
        let s = world(&wc, seed).unwrap();
        prop_assert_eq!(probe(&s, &config), probe_exact(&s, &config));
    }

    /// The narrow phase does not depend on which aircraft comes first (up to rounding).
    #[test]
    fn pair_conflict_is_symmetric((c, raw) in (center(), proptest::collection::vec(raw(60_000.0), 2)), config in config()) {
        let s = snapshot_of(c, &raw);
        let (a, b) = (s.tracks()[0].state(), s.tracks()[1].state());
        let ab = pair_conflict(a, b, &config);
        let ba = pair_conflict(b, a, &config);
        match (ab, ba) {
            (None, None) => {}
            (Some(x), Some(y)) => {
                prop_assert!((x.t_in_s() - y.t_in_s()).abs() < 1e-6, "{x:?} {y:?}");
                prop_assert!((x.t_out_s() - y.t_out_s()).abs() < 1e-6, "{x:?} {y:?}");
                prop_assert!((x.h_min_m() - y.h_min_m()).abs() < 1e-5, "{x:?} {y:?}");
            }
            // Only a pair grazing a boundary may differ, and then by a rounding error.
            (Some(x), None) | (None, Some(x)) => {
                prop_assert!(x.t_out_s() - x.t_in_s() < 1e-6 || config.h_sep_m() - x.h_min_m() < 1e-6, "{x:?}");
            }
        }
    }

    /// Two aircraft outside the minima and flying apart never conflict: each flies within 80° of
    /// the direction straight away from the other, measured in its own local frame.
    #[test]
    fn diverging_pairs_never_conflict(c in center(), bearing in 0.0..360.0f64, dist_frac in 1.01..20.0f64,
                                      da in -80.0..80.0f64, db in -80.0..80.0f64,
                                      gs_a in 0.0..600.0f64, gs_b in 0.0..600.0f64, dz in -2000.0..2000.0f64,
                                      config in config()) {
        let d = config.h_sep_m() * dist_frac;
        let (s, cb) = bearing.to_radians().sin_cos();
        let placed = snapshot_of(c, &[(0.0, 0.0, 5000.0, 0.0, 0.0, 0.0, 0), (d * s, d * cb, 5000.0 + dz, 0.0, 0.0, 0.0, 1)]);
        let (pa, pb) = (placed.tracks()[0].state().position(), placed.tracks()[1].state().position());
        let frame = |p: Position| EnuFrame::at(p.lat_deg().to_radians(), p.lon_deg().to_radians());
        let (fa, fb) = (frame(pa), frame(pb));
        // Direction of `to − from` as a track angle in the frame of `at`.
        let away = |at: &EnuFrame, from: &EnuFrame, to: &EnuFrame| {
            let (x, y) = (to.origin_ecef_m(), from.origin_ecef_m());
            let u = [x[0] - y[0], x[1] - y[1], x[2] - y[2]];
            let (e, n) = (u[0] * at.east()[0] + u[1] * at.east()[1] + u[2] * at.east()[2],
                          u[0] * at.north()[0] + u[1] * at.north()[1] + u[2] * at.north()[2]);
            e.atan2(n).to_degrees()
        };
        let trk_a = (away(&fa, &fb, &fa) + da).rem_euclid(360.0);
        let trk_b = (away(&fb, &fa, &fb) + db).rem_euclid(360.0);
        let track = |id: &str, party: &str, p: Position, trk: f64, gs: f64| Track::new(
            TrackId::new(id).unwrap(), PartyId::new(party).unwrap(),
            AircraftState::new(p, Velocity::new(trk, gs, 0.0).unwrap()));
        let snap = Snapshot::new(vec![track("a", "blue", pa, trk_a, gs_a), track("b", "red", pb, trk_b, gs_b)]).unwrap();
        prop_assert_eq!(probe_exact(&snap, &config), vec![]);
    }
}
