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
