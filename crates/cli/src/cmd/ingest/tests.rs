use super::*;
use deconflict_feeds::report::{IcaoAddress, SourceId};

/// Metres per degree of longitude on the WGS-84 equator (a = 6 378 137 m).
const M_PER_DEG_EQUATOR: f64 = 6_378_137.0 * std::f64::consts::PI / 180.0;

fn join(parties: Option<&str>, h_sep_m: f64, v_sep_m: f64) -> ConflictJoin {
    let parties = parties.map(|p| parse_parties(p).unwrap());
    let policy = if parties.is_some() {
        PairPolicy::DifferentParties
    } else {
        PairPolicy::AllPairs
    };
    let probe = ProbeConfig::new(LOOKAHEAD_S_DEFAULT, h_sep_m, v_sep_m, policy).unwrap();
    ConflictJoin::new(
        PictureConfig::new(probe, 100, 60.0, 2.0).unwrap(),
        parties.unwrap_or_default(),
    )
    .unwrap()
}

/// An airborne track on the equator at `lon_deg`, seen at `t_s`.
fn track(icao: u32, t_s: f64, lon_deg: f64, alt_m: f64, trk_deg: f64) -> Track {
    Track {
        icao: IcaoAddress::new(icao).unwrap(),
        callsign: None,
        position: LatLon::new(0.0, lon_deg),
        position_s: Some(t_s),
        alt_baro_m: Some(alt_m),
        gs_mps: Some(100.0),
        trk_deg: Some(trk_deg),
        vs_mps: Some(0.0),
        squawk: None,
        on_ground: Some(false),
        updated_s: t_s,
        time_unix_s: None,
        source: SourceId(0),
        sources: vec![SourceId(0)],
    }
}

/// Two aircraft head-on along the equator, 20 km apart at t = 100 s, closing at 200 m/s.
fn head_on(j: &mut ConflictJoin, b_alt_m: f64) -> Vec<ConflictEvent> {
    let mut ev = Vec::new();
    let b_lon = 20_000.0 / M_PER_DEG_EQUATOR;
    j.track(&track(1, 100.0, 0.0, 3000.0, 90.0), &mut ev);
    // B seen half a second later, 50 m further west than where it was at 100 s.
    let b_lon_later = b_lon - 50.0 / M_PER_DEG_EQUATOR;
    j.track(&track(2, 100.5, b_lon_later, b_alt_m, 270.0), &mut ev);
    // An aircraft on the ground and one without velocity: not given to the engine; the
    // first makes the 101 s tick due.
    let mut ground = track(3, 101.0, 0.001, 0.0, 0.0);
    ground.on_ground = Some(true);
    j.track(&ground, &mut ev);
    let mut slow = track(4, 101.5, 0.002, 3000.0, 0.0);
    slow.gs_mps = None;
    j.track(&slow, &mut ev);
    ev
}

#[test]
fn head_on_pair_starts_with_the_closed_form_window_then_ends_when_b_climbs_away() {
    let mut j = join(None, 1852.0, 304.8);
    let ev = head_on(&mut j, 3000.0);
    // At the 101 s tick: each has flown 100 m towards the other since 100 s: 19 800 m apart,
    // closing at 200 m/s; 1852 m is reached at (19800 − 1852) / 200 s and left at
    // (19800 + 1852) / 200 s.
    let (t_in, t_out) = ((19_800.0 - 1852.0) / 200.0, (19_800.0 + 1852.0) / 200.0);
    assert_eq!(ev.len(), 1, "{ev:?}");
    let ConflictEvent::Started {
        a,
        b,
        window,
        violation_now,
        feed_s,
        unix_s,
    } = &ev[0]
    else {
        panic!("expected a start, got {ev:?}");
    };
    assert_eq!((a.as_str(), b.as_str()), ("000001", "000002"));
    assert!(
        (window.t_in_s() - t_in).abs() < 0.05,
        "{window:?} vs {t_in}"
    );
    assert!(
        (window.t_out_s() - t_out).abs() < 0.05,
        "{window:?} vs {t_out}"
    );
    assert!(window.h_min_m() < 1.0, "{window:?}");
    assert!(!violation_now);
    assert_eq!((*feed_s, *unix_s), (101.0, None));
    let line = ev[0].json();
    assert!(
        line.starts_with("{\"conflict\":{\"a\":\"000001\",\"b\":\"000002\",\"t_in_s\":89.7,\"t_out_s\":108.3,\"h_min_m\":0,"),
        "{line}"
    );
    assert!(
        line.ends_with("\"violation_now\":false},\"event\":\"started\",\"t\":null,\"feed_s\":101}"),
        "{line}"
    );
    // Still in conflict one tick later: nothing new is printed.
    let mut ev = Vec::new();
    j.track(
        &track(1, 102.0, 200.0 / M_PER_DEG_EQUATOR, 3000.0, 90.0),
        &mut ev,
    );
    assert_eq!(ev, vec![]);
    // B climbs 400 m above A (more than 304.8 m): the conflict ends at the next tick.
    let b_lon = (20_000.0 - 300.0) / M_PER_DEG_EQUATOR;
    j.track(&track(2, 103.0, b_lon, 3400.0, 270.0), &mut ev);
    assert_eq!(
        ev.iter().map(ConflictEvent::json).collect::<Vec<_>>(),
        vec![
            "{\"conflict\":{\"a\":\"000001\",\"b\":\"000002\"},\"event\":\"ended\",\"t\":null,\"feed_s\":103}"
                .to_string()
        ]
    );
    let c = j.counters;
    assert_eq!(
        (
            c.engine_updates,
            c.on_ground,
            c.no_velocity,
            c.no_position,
            c.no_altitude
        ),
        (4, 1, 1, 0, 0)
    );
    assert_eq!((c.conflicts_started, c.conflicts_ended), (1, 1));
}

#[test]
fn conflict_time_is_unix_when_the_feed_carries_a_wall_clock() {
    let mut j = join(None, 1852.0, 304.8);
    let mut ev = Vec::new();
    let unix0 = 1_698_150_000.0;
    for (icao, t_s, lon_m, trk) in [(1, 100.0, 0.0, 90.0), (2, 101.0, 19_900.0, 270.0)] {
        let mut t = track(icao, t_s, lon_m / M_PER_DEG_EQUATOR, 3000.0, trk);
        t.time_unix_s = Some(unix0 + t_s);
        j.track(&t, &mut ev);
    }
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert!(
        ev[0].json().ends_with("\"t\":1698150101,\"feed_s\":101}"),
        "{}",
        ev[0].json()
    );
}

#[test]
fn vertically_separated_pair_is_no_conflict() {
    let mut j = join(None, 1852.0, 304.8);
    assert_eq!(head_on(&mut j, 3400.0), vec![]);
}

#[test]
fn party_map_probes_only_pairs_of_different_parties() {
    // Longest prefix wins: 000002 is blue although 0000 is red.
    let mut j = join(Some("red=0000,blue=000002"), 1852.0, 304.8);
    assert_eq!(head_on(&mut j, 3000.0).len(), 1);
    let mut j = join(Some("red=0000"), 1852.0, 304.8);
    assert_eq!(head_on(&mut j, 3000.0), vec![]);
}

#[test]
fn bad_party_maps_are_refused_with_the_entry() {
    for (text, needle) in [
        ("red", "entry 1: expected NAME=ICAO_PREFIX"),
        ("red=4ca,blue=xyz", "entry 2: ICAO prefix \"xyz\""),
        ("red=1234567", "1 to 6 hexadecimal digits"),
        ("r d=4ca", "entry 1: party name"),
    ] {
        let e = format!("{:#}", parse_parties(text).unwrap_err());
        assert!(e.contains(needle), "{text}: {e}");
    }
}

/// Where a track's engine state puts it `dt_s` after its position time: a straight line on a
/// sphere, written independently of the engine's WGS-84 local frames.
fn project(t: &Track, at_s: f64) -> (f64, f64, f64) {
    const R_M: f64 = 6_371_008.8;
    let p = t.position.unwrap();
    let dt = at_s - t.position_s.unwrap();
    let (gs, trk) = (t.gs_mps.unwrap(), t.trk_deg.unwrap().to_radians());
    let lat = p.lat_deg() + (gs * trk.cos() * dt / R_M).to_degrees();
    let lon =
        p.lon_deg() + (gs * trk.sin() * dt / (R_M * p.lat_deg().to_radians().cos())).to_degrees();
    (lat, lon, t.alt_baro_m.unwrap() + t.vs_mps.unwrap() * dt)
}

/// The LAX recording replayed with the default minima: every conflict reported is checked
/// against an independent straight-line projection of the two tracks the engine was given,
/// at the middle of the reported window (inside both the horizontal and the vertical window).
#[test]
fn lax_recording_conflicts_are_within_the_minima_by_independent_projection() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../feeds/testdata/adsb_deku_lax_messages_avr.txt.gz"
    );
    let bytes = read_recording(Path::new(path)).unwrap();
    let mut cfg = PipelineConfig::new(Format::Avr, TimeMode::Record);
    cfg.decoder.reference = LatLon::new(33.9425, -118.408);
    let mut pipeline = Pipeline::new(cfg);
    let (h_sep_m, v_sep_m) = (H_SEP_M_DEFAULT, V_SEP_M_DEFAULT);
    let mut j = join(None, h_sep_m, v_sep_m);
    // The state last given to the engine, per track.
    let mut given: HashMap<String, Track> = HashMap::new();
    let mut started = 0;
    let mut ended = 0;
    let mut checked_now = 0;
    let mut ev = Vec::new();
    pipeline.push(SourceId(0), 0.0, &bytes, |t| {
        let before = j.counters.engine_updates;
        j.track(t, &mut ev);
        if j.counters.engine_updates > before {
            given.insert(t.icao.to_string(), t.clone());
        }
        for e in ev.drain(..) {
            match e {
                ConflictEvent::Started {
                    a,
                    b,
                    window,
                    violation_now,
                    feed_s,
                    ..
                } => {
                    started += 1;
                    // The update that made this tick due may be one of the pair's and
                    // newer than what the tick saw; the tick ran after it, so `given` is
                    // what the engine held.
                    let (ta, tb) = (&given[a.as_str()], &given[b.as_str()]);
                    let mid_s = feed_s + 0.5 * (window.t_in_s() + window.t_out_s());
                    let (pa, pb) = (project(ta, mid_s), project(tb, mid_s));
                    let h_m = LatLon::new(pa.0, pa.1)
                        .unwrap()
                        .distance_m(LatLon::new(pb.0, pb.1).unwrap());
                    let dz_m = (pa.2 - pb.2).abs();
                    // 1% for the sphere against the ellipsoid over a two-minute projection.
                    assert!(h_m <= h_sep_m * 1.01, "{a}-{b} at {mid_s}: {h_m} m apart");
                    assert!(dz_m <= v_sep_m + 0.5, "{a}-{b} at {mid_s}: {dz_m} m apart");
                    assert!(window.t_in_s() <= LOOKAHEAD_S_DEFAULT);
                    if violation_now {
                        assert_eq!(window.t_in_s(), 0.0);
                        checked_now += 1;
                    }
                }
                ConflictEvent::Ended { .. } => ended += 1,
            }
        }
    });
    let c = j.counters;
    assert_eq!((c.conflicts_started, c.conflicts_ended), (started, ended));
    assert!(started > 0, "no conflict in the LAX recording");
    assert!(ended <= started && started - ended == j.open.len() as u64);
    assert!(c.engine_updates > 1000, "{c:?}");
    eprintln!("LAX: {c:?}; {checked_now} violations now");
}
