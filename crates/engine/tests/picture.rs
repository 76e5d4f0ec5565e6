//! The stateful picture the service drives: limits, rejections and their counters, expiry,
//! projection to `now`, and agreement with the stateless probe.

use deconflict_engine::picture::{PictureConfig, UpdateError, UpdateOutcome};
use deconflict_engine::synth::{WorldConfig, world};
use deconflict_engine::{
    AircraftState, PartyId, Picture, Position, ProbeConfig, Timestamp, TrackId, TrackReport,
    Velocity, probe,
};

fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(ms)
}

fn report(id: &str, party: &str, ms: i64, lon_deg: f64, trk_deg: f64) -> TrackReport {
    TrackReport::new(
        TrackId::new(id).unwrap(),
        PartyId::new(party).unwrap(),
        at(ms),
        AircraftState::new(
            Position::new(0.0, lon_deg, 9144.0).unwrap(),
            Velocity::new(trk_deg, 185.2, 0.0).unwrap(),
        ),
    )
}

fn config(tracks_max: usize) -> PictureConfig {
    PictureConfig::new(ProbeConfig::default(), tracks_max, 30.0, 2.0).unwrap()
}

#[test]
fn rejected_reports_leave_the_picture_unchanged_and_are_counted() {
    let mut p = Picture::new(config(2));
    assert_eq!(
        p.update(at(0), report("1", "blue", 0, 0.0, 90.0)),
        Ok(UpdateOutcome::Inserted)
    );
    assert_eq!(
        p.update(at(1000), report("1", "blue", 1000, 0.01, 90.0)),
        Ok(UpdateOutcome::Updated)
    );
    assert_eq!(
        p.update(at(1000), report("2", "red", 900, 0.2, 270.0)),
        Ok(UpdateOutcome::Inserted)
    );
    let before = p.get(&TrackId::new("1").unwrap()).map(|(_, t, s)| (t, *s));

    assert!(matches!(
        p.update(at(1000), report("3", "red", 1000, 1.0, 0.0)),
        Err(UpdateError::PictureFull { tracks_max: 2, .. })
    ));
    assert!(matches!(
        p.update(at(40_000), report("1", "blue", 5000, 0.0, 0.0)),
        Err(UpdateError::Stale { .. })
    ));
    assert!(matches!(
        p.update(at(1000), report("1", "blue", 4000, 0.0, 0.0)),
        Err(UpdateError::FromFuture { .. })
    ));
    assert!(matches!(
        p.update(at(1000), report("1", "blue", 500, 0.0, 0.0)),
        Err(UpdateError::OutOfOrder { .. })
    ));
    assert!(matches!(
        p.update(at(1000), report("1", "red", 1000, 0.0, 0.0)),
        Err(UpdateError::PartyMismatch { .. })
    ));

    assert_eq!(p.len(), 2);
    assert_eq!(
        p.get(&TrackId::new("1").unwrap()).map(|(_, t, s)| (t, *s)),
        before
    );
    let c = p.counters();
    assert_eq!(
        (
            c.reports_accepted,
            c.reports_rejected_full,
            c.reports_rejected_stale,
            c.reports_rejected_future,
            c.reports_rejected_out_of_order,
            c.reports_rejected_party
        ),
        (3, 1, 1, 1, 1, 1)
    );
}

#[test]
fn tick_projects_to_now_and_expires_old_tracks() {
    let mut p = Picture::new(config(10));
    // Head-on on the equator, 0.2° apart, both reported at t = 0, 185.2 m/s each.
    p.update(at(0), report("1", "blue", 0, 0.0, 90.0)).unwrap();
    p.update(at(0), report("2", "red", 0, 0.2, 270.0)).unwrap();
    p.update(at(0), report("3", "red", 0, 90.0 - 180.0, 0.0))
        .unwrap();
    let chord_m = 2.0 * 6_378_137.0 * (0.2f64.to_radians() / 2.0).sin();
    for now_s in [0.0, 10.0, 25.0] {
        let conflicts = p.tick(at((now_s * 1000.0) as i64));
        assert_eq!(conflicts.len(), 1);
        let c = &conflicts[0];
        assert_eq!((c.a().as_str(), c.b().as_str()), ("1", "2"));
        assert_eq!(
            (c.party_a().as_str(), c.party_b().as_str()),
            ("blue", "red")
        );
        // Inside when |chord − 370.4 (now + t)| < 9260.
        let t_in = (chord_m - 9260.0) / 370.4 - now_s;
        assert!(
            (c.window().t_in_s() - t_in).abs() < 1e-3,
            "now {now_s}: {:?} vs {t_in}",
            c.window()
        );
        assert!(!c.is_violation_now());
    }
    // 31 s after the reports every track is older than track_age_s_max (30 s).
    assert!(p.tick(at(31_000)).is_empty());
    assert_eq!(p.len(), 0);
    assert_eq!(p.counters().tracks_expired, 3);
    assert_eq!(p.counters().ticks, 4);
}

#[test]
fn remove_takes_a_track_out_of_the_next_tick() {
    let mut p = Picture::new(config(10));
    p.update(at(0), report("1", "blue", 0, 0.0, 90.0)).unwrap();
    p.update(at(0), report("2", "red", 0, 0.2, 270.0)).unwrap();
    assert_eq!(p.tick(at(0)).len(), 1);
    assert!(p.remove(&TrackId::new("2").unwrap()));
    assert!(!p.remove(&TrackId::new("2").unwrap()));
    assert!(p.tick(at(0)).is_empty());
    assert_eq!(p.counters().tracks_removed, 1);
}

#[test]
fn a_tick_at_the_report_time_equals_the_stateless_probe() {
    let s = world(
        &WorldConfig {
            tracks: 2000,
            side_m: 400_000.0,
            ..WorldConfig::default()
        },
        9,
    )
    .unwrap();
    let mut p = Picture::new(config(5000));
    for t in s.tracks() {
        p.update(
            at(7),
            TrackReport::new(t.id().clone(), t.party().clone(), at(7), *t.state()),
        )
        .unwrap();
    }
    let ticked: Vec<_> = p
        .tick(at(7))
        .iter()
        .map(|c| (c.a().clone(), c.b().clone(), *c.window()))
        .collect();
    let probed: Vec<_> = probe(&s, &ProbeConfig::default())
        .iter()
        .map(|c| (c.a().clone(), c.b().clone(), *c.window()))
        .collect();
    assert!(!probed.is_empty());
    assert_eq!(ticked, probed);
}

#[test]
fn config_limits_are_validated() {
    assert!(PictureConfig::new(ProbeConfig::default(), 0, 30.0, 2.0).is_err());
    assert!(PictureConfig::new(ProbeConfig::default(), 10, f64::NAN, 2.0).is_err());
    assert!(PictureConfig::new(ProbeConfig::default(), 10, 30.0, -1.0).is_err());
    assert!(ProbeConfig::new(-1.0, 9260.0, 304.8, Default::default()).is_err());
    assert!(ProbeConfig::new(120.0, 0.0, 304.8, Default::default()).is_err());
    assert!(ProbeConfig::new(120.0, 9260.0, f64::INFINITY, Default::default()).is_err());
    assert!(ProbeConfig::new(601.0, 9260.0, 304.8, Default::default()).is_err());
}

/// The candidates of a few tracks, as ids, against the whole picture's.
fn pairs_as_ids(c: &deconflict_engine::picture::Candidates) -> Vec<(String, String)> {
    c.pairs
        .iter()
        .map(|&(i, j)| {
            (
                c.tracks[i as usize].0.as_str().to_string(),
                c.tracks[j as usize].0.as_str().to_string(),
            )
        })
        .collect()
}

/// Every pair holding one of a few tracks that the whole picture's tick finds in conflict is
/// among those tracks' candidates, with reports of any age up to the limit; under `exact`,
/// they are every admitted pair holding them.
#[test]
fn the_candidates_of_a_few_tracks_hold_every_conflict_of_theirs() {
    for (seed, side_m) in [(3, 300_000.0), (4, 800_000.0), (5, 60_000.0)] {
        let s = world(
            &WorldConfig {
                tracks: 3000,
                side_m,
                ..WorldConfig::default()
            },
            seed,
        )
        .unwrap();
        let mut p = Picture::new(config(5000));
        // Reports from 0 to 25 s old at `now` (the age limit is 30 s); one past the limit.
        let now_ms = 30_000;
        for (k, t) in s.tracks().iter().enumerate() {
            let ms = if k == 17 {
                -5_000
            } else {
                now_ms - (k as i64 * 7919) % 25_000
            };
            p.update(
                at(ms),
                TrackReport::new(t.id().clone(), t.party().clone(), at(ms), *t.state()),
            )
            .unwrap();
        }
        let now = at(now_ms);
        let of: Vec<TrackId> = s
            .tracks()
            .iter()
            .step_by(29)
            .map(|t| t.id().clone())
            .chain([
                s.tracks()[17].id().clone(),
                TrackId::new("not-held").unwrap(),
            ])
            .collect();
        let holds =
            |(a, b): &(String, String)| of.iter().any(|t| t.as_str() == a || t.as_str() == b);
        let few = p.candidates_of(now, &of, false);
        let few_exact = p.candidates_of(now, &of, true);
        let got: std::collections::BTreeSet<_> = pairs_as_ids(&few).into_iter().collect();
        // Read-only: the whole picture's tick afterwards still sees it as it was.
        let conflicts: Vec<(String, String)> = p
            .clone()
            .tick(now)
            .iter()
            .map(|c| (c.a().as_str().to_string(), c.b().as_str().to_string()))
            .filter(holds)
            .collect();
        assert!(
            !conflicts.is_empty(),
            "seed {seed}: the test needs conflicts"
        );
        for c in &conflicts {
            assert!(
                got.contains(c),
                "seed {seed}: conflict {c:?} is not a candidate"
            );
        }
        // Under `exact`, every admitted pair holding them, as the whole picture's.
        let all_exact = p.candidates(now, true);
        let mut got_exact = pairs_as_ids(&few_exact);
        got_exact.sort();
        let mut want_exact: Vec<_> = pairs_as_ids(&all_exact).into_iter().filter(holds).collect();
        want_exact.sort();
        assert_eq!(got_exact, want_exact, "seed {seed}, exact");
        assert!(got.iter().all(|c| got_exact.binary_search(c).is_ok()));
        // Far fewer candidates than the exact ones: the reach test left most tracks out.
        assert!(
            got.len() * 10 < got_exact.len(),
            "seed {seed}: {} of {}",
            got.len(),
            got_exact.len()
        );
        // The tracks given are exactly those of the pairs, in identifier order, projected alike.
        assert!(few.tracks.windows(2).all(|w| w[0].0 < w[1].0));
        for (id, party, state) in &few.tracks {
            let k = all_exact.tracks.iter().position(|t| &t.0 == id).unwrap();
            assert_eq!(
                (&all_exact.tracks[k].1, &all_exact.tracks[k].2),
                (party, state)
            );
        }
    }
}

/// A head-on pair at the edge of reach now, whose reports are 20 s old (each was then 5 km
/// farther out): what they flew since is part of the reach, so the pair is still a candidate.
#[test]
fn the_candidates_of_a_track_count_what_both_flew_since_their_reports() {
    let mut p = Picture::new(config(10));
    let probe = *p.config().probe();
    let (t_s, h_m) = (probe.lookahead_s(), probe.h_sep_m());
    let gs = 250.0;
    let m_per_deg = 111_319.49;
    // Apart by a kilometre less than the horizontal separation plus what both close over the
    // lookahead, at `now`; each report 20 s before, 5 km farther out.
    let apart_now = h_m + 2.0 * gs * t_s - 1_000.0;
    let half_then = (apart_now / 2.0 + gs * 20.0) / m_per_deg;
    let now_ms = 20_000;
    let state = |lon: f64, trk: f64| {
        AircraftState::new(
            Position::new(0.0, lon, 9144.0).unwrap(),
            Velocity::new(trk, gs, 0.0).unwrap(),
        )
    };
    for (id, party, lon, trk) in [
        ("w", "blue", -half_then, 90.0),
        ("e", "red", half_then, 270.0),
    ] {
        p.update(
            at(now_ms),
            TrackReport::new(
                TrackId::new(id).unwrap(),
                PartyId::new(party).unwrap(),
                at(0),
                state(lon, trk),
            ),
        )
        .unwrap();
    }
    let now = at(now_ms);
    let conflicts = p.clone().tick(now);
    assert_eq!(
        conflicts.len(),
        1,
        "the pair conflicts within the lookahead"
    );
    let c = p.candidates_of(now, &[TrackId::new("e").unwrap()], false);
    assert_eq!(pairs_as_ids(&c), [("e".to_string(), "w".to_string())]);
}
