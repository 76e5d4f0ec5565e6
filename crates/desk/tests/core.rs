//! The desk's inputs and outputs: fusion, geography, conformance, the strategic check, and the
//! broad phase against the exact all-pairs oracle.

use std::collections::BTreeSet;

use deconflict_airspace as airspace;
use deconflict_desk::{
    Alerter, Desk, GeographyKind, LineSpec, Output, ReceiverReport, Report, Setup,
};
use proptest::prelude::*;

const T0: i64 = 1_700_000_000_000;

fn ll(lon: f64, lat: f64) -> airspace::LonLat {
    airspace::LonLat::new(lon, lat).unwrap()
}

/// A line running north along 38° E from 34° N to 36° N: west (its left) is `a`'s side, east
/// `b`'s. A 20 km zone at 37° N 40° E closed to `b`.
fn setup(alerter: Alerter, exact: bool) -> Setup {
    let limits = airspace::Limits::default();
    let zone = airspace::Zone::new(
        "closed",
        airspace::Footprint::Circle(
            airspace::Circle::new(ll(40.0, 37.0), 20_000.0, &limits).unwrap(),
        ),
        airspace::AltitudeBand::new(-1000.0, 20_000.0, &limits).unwrap(),
        BTreeSet::from([airspace::PartyId::new("b").unwrap()]),
        BTreeSet::new(),
    );
    Setup {
        parties: vec!["a".into(), "b".into()],
        h_sep_m: 9260.0,
        v_sep_m: 300.0,
        alerter,
        lines: vec![LineSpec {
            id: "river".into(),
            points: vec![ll(38.0, 34.0), ll(38.0, 36.0)],
            left: Some("a".into()),
            right: Some("b".into()),
        }],
        zones: vec![zone],
        report_future_s_max: 2.0,
        exact,
    }
}

fn desk() -> Desk {
    Desk::new(setup(Alerter::named("DO_365B_no_SUM").unwrap(), false)).unwrap()
}

fn report(id: &str, t: i64, lat: f64, lon: f64, trk: f64) -> Report {
    Report {
        track_id: id.into(),
        time_ms: t,
        lat_deg: lat,
        lon_deg: lon,
        alt_m: 5000.0,
        track_deg: trk,
        ground_speed_mps: 200.0,
        vertical_rate_mps: 0.0,
        callsign: Some(format!("CS-{id}")),
        aircraft_type: None,
        icao24: None,
        squawk: None,
    }
}

fn geography(outputs: &[Output]) -> Vec<(String, GeographyKind)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Geography(g) => Some((g.party.clone(), g.kind.clone())),
            _ => None,
        })
        .collect()
}

/// A head-on pair that appears between two ticks: alerted by the arrival pass at once, on both
/// sides, and held by the tick that follows without a second alert.
#[test]
fn a_conflict_new_aircraft_open_is_alerted_on_arrival_once() {
    let mut d = desk();
    d.report(T0, "a", report("far", T0, 30.0, 30.0, 0.0))
        .unwrap();
    d.tick(T0);
    d.poll();
    let t = T0 + 300;
    d.report(t, "a", report("west", t, 35.0, 39.0, 90.0))
        .unwrap();
    d.report(t, "b", report("east", t, 35.0, 39.2, 270.0))
        .unwrap();
    assert_eq!(d.arrivals_waiting(), 2);
    assert_eq!(d.grade_arrivals(t), 1);
    let out = d.poll();
    let [Output::Tactical(a)] = out.as_slice() else {
        panic!("one tactical alert expected, got {out:?}");
    };
    assert_eq!(a.change, deconflict_desk::Change::New);
    assert_eq!(a.at_ms, t);
    assert!(
        a.sides
            .iter()
            .all(|s| s.level != deconflict_desk::Level::None)
    );
    assert_eq!(d.counters().arrival_conflicts, 1);
    assert_eq!(d.counters().conflicts_active, 1);
    // Nothing waits any more: a second pass grades nothing.
    assert_eq!(d.grade_arrivals(t + 10), 0);
    assert_eq!(d.counters().arrival_passes, 1);
    // The tick a second later keeps the conflict open; its level is the tick's own.
    let later = T0 + 1000;
    d.report(later, "a", report("west", later, 35.0, 39.0 + 0.0015, 90.0))
        .unwrap();
    d.report(
        later,
        "b",
        report("east", later, 35.0, 39.2 - 0.0015, 270.0),
    )
    .unwrap();
    d.tick(later);
    let out = d.poll();
    assert!(
        out.iter()
            .all(|o| matches!(o, Output::Tactical(x) if x.change != deconflict_desk::Change::New)),
        "{out:?}"
    );
    assert_eq!(d.counters().conflicts_active, 1);
}

/// At most ARRIVALS_MAX new tracks wait for a pass; the rest are the tick's, and counted.
#[test]
fn new_tracks_beyond_the_bound_are_left_to_the_tick() {
    let mut d = desk();
    let n = deconflict_desk::ARRIVALS_MAX + 5;
    for i in 0..n {
        let lat = 30.0 + i as f64 * 0.1;
        d.report(T0, "a", report(&format!("n{i}"), T0, lat, 30.0, 0.0))
            .unwrap();
    }
    assert_eq!(d.arrivals_waiting(), deconflict_desk::ARRIVALS_MAX);
    assert_eq!(d.counters().arrivals_left_to_tick, 5);
    d.tick(T0);
    assert_eq!(d.arrivals_waiting(), 0);
}

#[test]
fn a_receiver_record_joins_the_pushed_track_with_its_icao_address() {
    let mut d = desk();
    let mut r = report("k1", T0, 30.0, 45.0, 90.0);
    r.icao24 = Some("ABC123".into());
    d.report(T0, "a", r).unwrap();
    let rec = |t: i64, icao: &str| ReceiverReport {
        icao24: icao.into(),
        time_ms: t,
        lat_deg: 30.0,
        lon_deg: 45.02,
        alt_m: 5000.0,
        track_deg: 90.0,
        ground_speed_mps: 200.0,
        vertical_rate_mps: 0.0,
        callsign: None,
        squawk: None,
    };
    d.receiver(T0 + 1000, "a", "site1", rec(T0 + 1000, "abc123"))
        .unwrap();
    d.receiver(T0 + 1000, "a", "site1", rec(T0 + 1000, "00beef"))
        .unwrap();
    assert!(d.receiver(T0, "a", "site1", rec(T0, "xyz")).is_err());
    let tracks: Vec<_> = d.tracks().collect();
    assert_eq!(tracks.len(), 2, "{tracks:?}");
    let fused = d.track("a", "k1").unwrap();
    assert_eq!(
        fused.sources,
        BTreeSet::from(["push".to_string(), "receiver:site1".to_string()])
    );
    assert_eq!(fused.report.time_ms, T0 + 1000);
    // The receiver gives no callsign: the pushed one stays.
    assert_eq!(fused.report.callsign.as_deref(), Some("CS-k1"));
    let own = d.track("a", "icao-00beef").unwrap();
    assert_eq!(own.sources, BTreeSet::from(["receiver:site1".to_string()]));
    assert_eq!(d.counters().receiver_fused, 1);
}

#[test]
fn crossing_onto_the_other_side_and_entering_a_closed_zone_are_each_one_event() {
    let mut d = desk();
    // a's aircraft flies east across the river (onto b's side), then back west.
    for (k, lon) in [37.9, 37.99, 38.01, 38.1, 37.95].iter().enumerate() {
        let t = T0 + k as i64 * 1000;
        d.report(t, "a", report("a1", t, 35.0, *lon, 90.0)).unwrap();
    }
    // b's aircraft flies west across the river (onto a's side).
    for (k, lon) in [38.1, 37.9].iter().enumerate() {
        let t = T0 + k as i64 * 1000;
        d.report(t, "b", report("b1", t, 35.5, *lon, 270.0))
            .unwrap();
    }
    // b's aircraft enters the zone closed to it, stays, leaves, enters again; a's enters freely.
    for (k, lon) in [39.5, 39.9, 40.0, 40.5, 40.1].iter().enumerate() {
        let t = T0 + k as i64 * 1000;
        d.report(t, "b", report("b2", t, 37.0, *lon, 90.0)).unwrap();
        d.report(t, "a", report("a2", t, 37.0, *lon, 90.0)).unwrap();
    }
    let out = d.poll();
    let g = geography(&out);
    let crossed = |p: &str, into: &str| {
        (
            p.to_string(),
            GeographyKind::LineCrossed {
                line: "river".into(),
                into_side_of: into.into(),
            },
        )
    };
    let entered = (
        "b".to_string(),
        GeographyKind::ZoneEntered {
            zone: "closed".into(),
        },
    );
    assert_eq!(
        g,
        vec![
            crossed("a", "b"),
            crossed("b", "a"),
            entered.clone(),
            entered
        ]
    );
    // The crossing point is on the line, its time between the two reports.
    let Some(Output::Geography(first)) = out.iter().find(|o| matches!(o, Output::Geography(_)))
    else {
        panic!()
    };
    assert!((first.lon_deg - 38.0).abs() < 1e-6, "{first:?}");
    assert!(
        first.t_ms > T0 + 1000 && first.t_ms < T0 + 2000,
        "{first:?}"
    );
    assert_eq!(d.counters().geography.get("a"), Some(&1));
    assert_eq!(d.counters().geography.get("b"), Some(&3));
}

fn notification(
    id: &str,
    party: &str,
    lat: f64,
    lon: f64,
    radius_m: f64,
) -> airspace::Notification {
    let limits = airspace::Limits::default();
    airspace::Notification::new(
        airspace::NotificationId::new(id).unwrap(),
        airspace::PartyId::new(party).unwrap(),
        vec![airspace::Volume {
            footprint: airspace::Footprint::Circle(
                airspace::Circle::new(ll(lon, lat), radius_m, &limits).unwrap(),
            ),
            band: airspace::AltitudeBand::new(1000.0, 8000.0, &limits).unwrap(),
            window: airspace::TimeWindow::new(T0, T0 + 3_600_000, &limits).unwrap(),
        }],
    )
    .unwrap()
}

#[test]
fn a_notified_aircraft_outside_its_notification_is_one_event_per_excursion() {
    let mut d = desk();
    d.notify(
        notification("n1", "a", 36.0, 41.0, 10_000.0),
        vec!["CS-a1".into()],
    )
    .unwrap();
    let lons = [41.0, 41.05, 41.2, 41.3, 41.0, 41.25];
    for (k, lon) in lons.iter().enumerate() {
        let t = T0 + k as i64 * 1000;
        d.report(t, "a", report("a1", t, 36.0, *lon, 90.0)).unwrap();
        // An aircraft whose callsign is not listed is never nonconforming.
        d.report(t, "a", report("a9", t, 36.0, *lon, 90.0)).unwrap();
    }
    let events: Vec<_> = d
        .poll()
        .into_iter()
        .filter_map(|o| match o {
            Output::Nonconformance(n) => Some(n),
            _ => None,
        })
        .collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].t_ms, T0 + 2000);
    assert_eq!(events[1].t_ms, T0 + 5000);
    assert_eq!(events[0].notifications, vec!["n1".to_string()]);
    // Withdrawn: no longer followed.
    assert!(d.withdraw(&airspace::NotificationId::new("n1").unwrap()));
    d.report(T0 + 7000, "a", report("a1", T0 + 7000, 36.0, 41.0, 90.0))
        .unwrap();
    d.report(T0 + 8000, "a", report("a1", T0 + 8000, 36.0, 41.4, 90.0))
        .unwrap();
    assert!(d.poll().is_empty());
}

#[test]
fn the_strategic_check_and_the_insertion_are_one_step_and_can_be_undone() {
    let mut d = desk();
    let (c, _) = d
        .notify(notification("a-1", "a", 35.0, 39.0, 2000.0), vec![])
        .unwrap();
    assert!(c.is_empty());
    // Another of a's own: never a conflict with itself.
    let (c, _) = d
        .notify(notification("a-2", "a", 35.0, 39.0, 2000.0), vec![])
        .unwrap();
    assert!(c.is_empty());
    let (c, undo) = d
        .notify(notification("b-1", "b", 35.0, 39.0, 2000.0), vec![])
        .unwrap();
    let ids: Vec<&str> = c.iter().map(|i| i.as_str()).collect();
    assert_eq!(ids, ["a-1", "a-2"]);
    d.undo(undo);
    assert_eq!(d.notifications_len(), 2);
    // Undone: a later check does not see it.
    let (c, _) = d
        .notify(notification("a-3", "a", 35.0, 39.0, 2000.0), vec![])
        .unwrap();
    assert!(c.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// The index finds exactly what comparing every pair finds.
    #[test]
    fn the_strategic_check_equals_comparing_every_pair(
        ns in prop::collection::vec((0..2usize, 34.0f64..36.0, 38.0f64..40.0, 500.0f64..30_000.0), 1..30)
    ) {
        let mut d = desk();
        let frame = *d.strategic_frame().unwrap();
        let buffers = airspace::Buffers::new(9260.0, 300.0).unwrap();
        let mut held: Vec<airspace::Notification> = Vec::new();
        for (i, (p, lat, lon, r)) in ns.into_iter().enumerate() {
            let party = ["a", "b"][p];
            let n = notification(&format!("n{i}"), party, lat, lon, r);
            let (got, _) = d.notify(n.clone(), vec![]).unwrap();
            let others: Vec<_> = held.iter().filter(|h| h.party() != n.party()).cloned().collect();
            let mut want = airspace::brute_force(&frame, &others, &n, buffers).unwrap();
            want.sort();
            prop_assert_eq!(got, want);
            held.push(n);
        }
    }

    /// The broad phase loses no alert: the desk gives the same outputs as when every pair goes
    /// to the narrow phase.
    /// Grading new aircraft on arrival changes when an alert comes, not what it says: a desk
    /// that grades each second's new tracks as they arrive and then ticks gives, each second,
    /// the same outputs as one that only ticks, and the tick adds nothing to what the arrival
    /// pass opened.
    #[test]
    fn grading_on_arrival_opens_what_the_tick_would_and_the_tick_takes_it_over(
        tracks in prop::collection::vec(
            (0..2usize, 0..3i64, 34.9f64..35.1, 38.9f64..39.1, 4500.0f64..5500.0, 0.0f64..360.0, 50.0f64..250.0),
            2..24,
        ),
        name in prop::sample::select(vec!["DO_365B_no_SUM", "CD3D", "Buffered_DWC_SC_228_nom_a"]),
    ) {
        let mut early = Desk::new(setup(Alerter::named(name).unwrap(), false)).unwrap();
        let mut ticked = Desk::new(setup(Alerter::named(name).unwrap(), false)).unwrap();
        let key = |o: &Output| format!("{o:?}");
        for step in 0..4i64 {
            let t = T0 + step * 1000;
            let mut new = 0;
            for (i, (p, from, lat, lon, alt, trk, gs)) in tracks.iter().enumerate() {
                if step < *from {
                    continue;
                }
                new += usize::from(step == *from);
                let mut r = report(&format!("t{i}"), t, *lat, *lon, *trk);
                r.lat_deg += step as f64 * gs * trk.to_radians().cos() / 111_000.0;
                r.alt_m = *alt;
                r.ground_speed_mps = *gs;
                let party = ["a", "b"][*p];
                early.report(t, party, r.clone()).unwrap();
                ticked.report(t, party, r).unwrap();
            }
            prop_assert_eq!(early.arrivals_waiting(), new);
            early.grade_arrivals(t);
            prop_assert_eq!(early.arrivals_waiting(), 0);
            let on_arrival = early.poll();
            // Only openings, and only of pairs holding a track new this second.
            for o in &on_arrival {
                let Output::Tactical(a) = o else { continue };
                prop_assert_eq!(a.change, deconflict_desk::Change::New);
            }
            early.tick(t);
            let mut got: Vec<Output> = on_arrival;
            let after = early.poll();
            // What a new track opens, the arrival pass opened: the tick opens only pairs of
            // tracks it held before.
            let is_new = |id: &str| {
                id.strip_prefix('t')
                    .and_then(|k| k.parse::<usize>().ok())
                    .is_some_and(|k| tracks[k].1 == step)
            };
            for o in &after {
                let Output::Tactical(a) = o else { continue };
                if a.change == deconflict_desk::Change::New {
                    prop_assert!(a.sides.iter().all(|s| !is_new(&s.track_id)), "{:?}", a);
                }
            }
            got.extend(after.iter().cloned());
            let mut want = ticked.poll();
            ticked.tick(t);
            want.extend(ticked.poll());
            let mut got: Vec<String> = got.iter().map(key).collect();
            let mut want: Vec<String> = want.iter().map(key).collect();
            got.sort();
            want.sort();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn the_broad_phase_gives_what_every_pair_gives(
        tracks in prop::collection::vec(
            (0..2usize, 34.9f64..35.1, 38.9f64..39.1, 4500.0f64..5500.0, 0.0f64..360.0, 50.0f64..250.0),
            2..24,
        ),
        name in prop::sample::select(vec!["DO_365B_no_SUM", "CD3D", "Buffered_DWC_SC_228_nom_a"]),
    ) {
        let mut fast = Desk::new(setup(Alerter::named(name).unwrap(), false)).unwrap();
        let mut exact = Desk::new(setup(Alerter::named(name).unwrap(), true)).unwrap();
        prop_assert!(exact.is_exact() && !fast.is_exact());
        for step in 0..3i64 {
            let t = T0 + step * 1000;
            for (i, (p, lat, lon, alt, trk, gs)) in tracks.iter().enumerate() {
                let mut r = report(&format!("t{i}"), t, *lat, *lon, *trk);
                // Each second the aircraft is where it was plus a second of flight, roughly.
                r.lat_deg += step as f64 * gs * trk.to_radians().cos() / 111_000.0;
                r.alt_m = *alt;
                r.ground_speed_mps = *gs;
                let party = ["a", "b"][*p];
                fast.report(t, party, r.clone()).unwrap();
                exact.report(t, party, r).unwrap();
            }
            fast.tick(t);
            exact.tick(t);
            prop_assert_eq!(fast.poll(), exact.poll());
        }
    }
}
