//! Edge cases of the strategic check, each through the index and the oracle alike, through one
//! `check` helper: touching footprints, windows that meet, bands that share a boundary,
//! concave shapes, buffers, parties, and insert/remove/update.

use deconflict_airspace::{
    AltitudeBand, Buffers, Circle, Error, Footprint, Frame, Limits, LonLat, Notification,
    NotificationId, PartyId, Polygon, Rule, StrategicIndex, TimeWindow, Volume, brute_force,
};

const T0_MS: i64 = 1_795_600_800_000; // 2026-11-25T10:00:00Z
const HOUR_MS: i64 = 3_600_000;

fn ll(lon: f64, lat: f64) -> LonLat {
    LonLat::new(lon, lat).unwrap()
}

fn rect(lon0: f64, lat0: f64, lon1: f64, lat1: f64) -> Footprint {
    Footprint::Polygon(
        Polygon::new(
            vec![
                ll(lon0, lat0),
                ll(lon1, lat0),
                ll(lon1, lat1),
                ll(lon0, lat1),
            ],
            &Limits::default(),
        )
        .unwrap(),
    )
}

fn circle(lon: f64, lat: f64, r_m: f64) -> Footprint {
    Footprint::Circle(Circle::new(ll(lon, lat), r_m, &Limits::default()).unwrap())
}

fn n(id: &str, party: &str, fp: Footprint, alt: (f64, f64), hours: (i64, i64)) -> Notification {
    let l = Limits::default();
    Notification::new(
        NotificationId::new(id).unwrap(),
        PartyId::new(party).unwrap(),
        vec![Volume {
            footprint: fp,
            band: AltitudeBand::new(alt.0, alt.1, &l).unwrap(),
            window: TimeWindow::new(T0_MS + hours.0 * HOUR_MS, T0_MS + hours.1 * HOUR_MS, &l)
                .unwrap(),
        }],
    )
    .unwrap()
}

fn frame() -> Frame {
    Frame::new(ll(38.0, 35.0))
}

/// Checks that `new` conflicts with exactly `expect` among `existing`, through the index and
/// through the oracle.
fn check(existing: &[Notification], new: &Notification, b: (f64, f64), expect: &[&str]) {
    let buffers = Buffers::new(b.0, b.1).unwrap();
    let mut index = StrategicIndex::new(frame());
    for e in existing {
        index.insert(e.clone()).unwrap();
    }
    let got: Vec<String> = index
        .conflicts(new, buffers)
        .unwrap()
        .iter()
        .map(|i| i.as_str().to_owned())
        .collect();
    let oracle: Vec<String> = brute_force(&frame(), existing, new, buffers)
        .unwrap()
        .iter()
        .map(|i| i.as_str().to_owned())
        .collect();
    assert_eq!(got, expect, "index");
    assert_eq!(oracle, expect, "oracle");
}

const BAND: (f64, f64) = (0.0, 3000.0);
const WINDOW: (i64, i64) = (0, 2);

#[test]
fn overlapping_volumes_of_different_parties_conflict() {
    let a = n("A", "red", rect(38.0, 35.0, 38.2, 35.2), BAND, WINDOW);
    let b = n("B", "blue", rect(38.1, 35.1, 38.3, 35.3), BAND, WINDOW);
    check(&[a], &b, (0.0, 0.0), &["A"]);
}

#[test]
fn the_same_party_is_never_reported() {
    let a = n("A", "blue", rect(38.0, 35.0, 38.2, 35.2), BAND, WINDOW);
    let b = n("B", "blue", rect(38.1, 35.1, 38.3, 35.3), BAND, WINDOW);
    check(&[a], &b, (0.0, 0.0), &[]);
}

#[test]
fn footprints_touching_along_an_edge_conflict() {
    let a = n("A", "red", rect(38.0, 35.0, 38.2, 35.2), BAND, WINDOW);
    let b = n("B", "blue", rect(38.2, 35.0, 38.4, 35.2), BAND, WINDOW);
    check(&[a], &b, (0.0, 0.0), &["A"]);
}

#[test]
fn footprints_touching_at_a_corner_conflict() {
    let a = n("A", "red", rect(38.0, 35.0, 38.2, 35.2), BAND, WINDOW);
    let b = n("B", "blue", rect(38.2, 35.2, 38.4, 35.4), BAND, WINDOW);
    check(&[a], &b, (0.0, 0.0), &["A"]);
}

#[test]
fn windows_where_one_ends_as_the_other_starts_do_not_conflict() {
    let a = n("A", "red", rect(38.0, 35.0, 38.2, 35.2), BAND, (0, 2));
    let b = n("B", "blue", rect(38.0, 35.0, 38.2, 35.2), BAND, (2, 4));
    check(std::slice::from_ref(&a), &b, (0.0, 0.0), &[]);
    let c = n("C", "blue", rect(38.0, 35.0, 38.2, 35.2), BAND, (1, 4));
    check(&[a], &c, (0.0, 0.0), &["A"]);
}

#[test]
fn bands_sharing_only_a_boundary_do_not_conflict_without_a_vertical_buffer() {
    let a = n(
        "A",
        "red",
        rect(38.0, 35.0, 38.2, 35.2),
        (0.0, 3000.0),
        WINDOW,
    );
    let b = n(
        "B",
        "blue",
        rect(38.0, 35.0, 38.2, 35.2),
        (3000.0, 6000.0),
        WINDOW,
    );
    check(std::slice::from_ref(&a), &b, (0.0, 0.0), &[]);
    check(std::slice::from_ref(&a), &b, (0.0, 1.0), &["A"]);
    // Bands 300 m apart: a 300 m buffer is not enough (strict), 301 m is.
    let c = n(
        "C",
        "blue",
        rect(38.0, 35.0, 38.2, 35.2),
        (3300.0, 6000.0),
        WINDOW,
    );
    check(std::slice::from_ref(&a), &c, (0.0, 300.0), &[]);
    check(&[a], &c, (0.0, 301.0), &["A"]);
}

#[test]
fn a_volume_inside_a_concave_notch_does_not_conflict() {
    let l = Limits::default();
    // A "U" open to the north; B sits in the notch, inside U's bounding box.
    let u = Footprint::Polygon(
        Polygon::new(
            vec![
                ll(38.0, 35.0),
                ll(38.3, 35.0),
                ll(38.3, 35.3),
                ll(38.2, 35.3),
                ll(38.2, 35.1),
                ll(38.1, 35.1),
                ll(38.1, 35.3),
                ll(38.0, 35.3),
            ],
            &l,
        )
        .unwrap(),
    );
    let a = n("A", "red", u, BAND, WINDOW);
    let b = n("B", "blue", rect(38.12, 35.15, 38.18, 35.25), BAND, WINDOW);
    check(std::slice::from_ref(&a), &b, (0.0, 0.0), &[]);
    // The gap is 0.02° of longitude (≈ 1.82 km at 35°N): a 1.9 km buffer reaches it.
    check(std::slice::from_ref(&a), &b, (1_700.0, 0.0), &[]);
    check(&[a], &b, (1_900.0, 0.0), &["A"]);
}

#[test]
fn circles_conflict_by_centre_distance() {
    // 0.1° of latitude is 11,119.5 m (mean Earth radius).
    let a = n("A", "red", circle(38.0, 35.0, 5_000.0), BAND, WINDOW);
    let b = n("B", "blue", circle(38.0, 35.1, 6_000.0), BAND, WINDOW);
    check(std::slice::from_ref(&a), &b, (0.0, 0.0), &[]);
    let c = n("C", "blue", circle(38.0, 35.1, 6_200.0), BAND, WINDOW);
    check(std::slice::from_ref(&a), &c, (0.0, 0.0), &["A"]);
    check(&[a], &b, (200.0, 0.0), &["A"]);
}

#[test]
fn buffer_reaches_diagonally_as_distance_not_as_boxes() {
    let a = n("A", "red", rect(38.0, 35.0, 38.1, 35.1), BAND, WINDOW);
    // Corner-to-corner gap: 0.01° east (≈ 910.9 m) and 0.01° north (≈ 1,111.9 m): ≈ 1,437 m.
    let b = n("B", "blue", rect(38.11, 35.11, 38.2, 35.2), BAND, WINDOW);
    check(std::slice::from_ref(&a), &b, (1_400.0, 0.0), &[]);
    check(&[a], &b, (1_450.0, 0.0), &["A"]);
}

#[test]
fn a_notification_with_several_volumes_is_reported_once() {
    let l = Limits::default();
    let vol = |fp| Volume {
        footprint: fp,
        band: AltitudeBand::new(0.0, 3000.0, &l).unwrap(),
        window: TimeWindow::new(T0_MS, T0_MS + HOUR_MS, &l).unwrap(),
    };
    let a = Notification::new(
        NotificationId::new("A").unwrap(),
        PartyId::new("red").unwrap(),
        vec![
            vol(rect(38.0, 35.0, 38.1, 35.1)),
            vol(rect(38.05, 35.05, 38.15, 35.15)),
        ],
    )
    .unwrap();
    let b = n("B", "blue", rect(38.0, 35.0, 38.2, 35.2), BAND, WINDOW);
    check(&[a], &b, (0.0, 0.0), &["A"]);
}

#[test]
fn insert_remove_update() {
    let mut index = StrategicIndex::new(frame());
    let a = n("A", "red", rect(38.0, 35.0, 38.2, 35.2), BAND, WINDOW);
    let b = n("B", "blue", rect(38.1, 35.1, 38.3, 35.3), BAND, WINDOW);
    index.insert(a.clone()).unwrap();
    assert!(matches!(
        index.insert(a.clone()),
        Err(Error::DuplicateNotification { .. })
    ));
    assert_eq!(index.conflicts(&b, Buffers::default()).unwrap().len(), 1);
    // Moved away: no longer in conflict.
    let moved = n("A", "red", rect(39.0, 35.0, 39.2, 35.2), BAND, WINDOW);
    let old = index.update(moved).unwrap();
    assert_eq!(old, a);
    assert!(index.conflicts(&b, Buffers::default()).unwrap().is_empty());
    index.remove(&NotificationId::new("A").unwrap()).unwrap();
    assert!(index.is_empty() && index.volumes_len() == 0);
    assert!(matches!(
        index.remove(&NotificationId::new("A").unwrap()),
        Err(Error::UnknownNotification { .. })
    ));
}

#[test]
fn packed_runs_and_the_insert_buffer_answer_alike_and_forget_removed_volumes() {
    // A buffer of 4 volumes: the 9 stored below end up in packed runs and in the buffer, across
    // every boundary (3, 4, 5 buffered; runs merged).
    let mut index =
        StrategicIndex::with_limits(frame(), deconflict_airspace::index::VOLUMES_MAX, 4);
    let query = n("Q", "blue", rect(38.0, 35.0, 38.5, 35.5), BAND, WINDOW);
    let mut expect: Vec<String> = Vec::new();
    for i in 0..9 {
        let lon = 38.0 + i as f64 * 0.05;
        let id = format!("R{i}");
        index
            .insert(n(
                &id,
                "red",
                rect(lon, 35.0, lon + 0.01, 35.01),
                BAND,
                WINDOW,
            ))
            .unwrap();
        expect.push(id);
        let found: Vec<String> = index
            .conflicts(&query, Buffers::default())
            .unwrap()
            .iter()
            .map(|f| f.as_str().to_owned())
            .collect();
        assert_eq!(found, expect, "after {} inserts", i + 1);
    }
    // Removed from a packed run, then its slot reused by a volume of the querying party, in
    // the query's area: the stale box (stored with the removed volume's party) must not bring
    // it in as a candidate, nor the removed one.
    index.remove(&NotificationId::new("R0").unwrap()).unwrap();
    index
        .insert(n("F", "blue", rect(38.3, 35.3, 38.4, 35.4), BAND, WINDOW))
        .unwrap();
    let found = index.conflicts(&query, Buffers::default()).unwrap();
    assert_eq!(found.len(), 8);
    assert!(
        found
            .iter()
            .all(|f| f.as_str() != "R0" && f.as_str() != "F")
    );
    let at = ll(38.005, 35.005);
    assert!(index.active_at(at, 1_000.0, T0_MS + HOUR_MS).is_empty());
    // Removing most of them compacts the runs; what is left is still found.
    for i in 1..8 {
        index
            .remove(&NotificationId::new(format!("R{i}")).unwrap())
            .unwrap();
    }
    let found = index.conflicts(&query, Buffers::default()).unwrap();
    assert_eq!(found, vec![NotificationId::new("R8").unwrap()]);
    assert_eq!(index.volumes_len(), 2);
}

#[test]
fn an_update_that_does_not_fit_keeps_the_old_version() {
    let mut index = StrategicIndex::new(frame());
    let a = n("A", "red", rect(38.0, 35.0, 38.2, 35.2), BAND, WINDOW);
    index.insert(a.clone()).unwrap();
    // 20° away from the frame origin: beyond frame_radius_m_max.
    let far = n("A", "red", rect(58.0, 35.0, 58.2, 35.2), BAND, WINDOW);
    let err = index.update(far).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidVolume { rule: Rule::OutsideFrame { .. }, volume } if volume.contains("\"A\" volume 1")),
        "{err}"
    );
    assert_eq!(index.get(a.id()), Some(&a));
}

#[test]
fn validation_names_the_rule() {
    let l = Limits::default();
    assert_eq!(
        AltitudeBand::new(100.0, 100.0, &l).unwrap_err(),
        Rule::AltitudeBandEmpty {
            lower_m: 100.0,
            upper_m: 100.0
        }
    );
    assert!(matches!(
        TimeWindow::new(5, 5, &l),
        Err(Rule::TimeWindowEmpty { .. })
    ));
    assert!(matches!(
        Circle::new(ll(38.0, 35.0), 0.0, &l),
        Err(Rule::RadiusNotPositive { .. })
    ));
    assert!(matches!(
        Circle::new(ll(38.0, 35.0), f64::NAN, &l),
        Err(Rule::RadiusNotPositive { .. })
    ));
    assert!(matches!(LonLat::new(f64::NAN, 0.0), Err(Rule::NotFinite)));
    assert!(matches!(
        LonLat::new(0.0, 200.0),
        Err(Rule::LatitudeOutOfRange { .. })
    ));
    assert!(matches!(
        Circle::new(ll(179.99, 35.0), 5_000.0, &l),
        Err(Rule::CrossesAntimeridian)
    ));
    // A bow tie.
    let bow = Polygon::new(
        vec![
            ll(38.0, 35.0),
            ll(38.1, 35.1),
            ll(38.1, 35.0),
            ll(38.0, 35.1),
        ],
        &l,
    );
    assert!(matches!(bow, Err(Rule::SelfIntersecting { .. })));
    // A spike that folds back on itself along one edge.
    let spike = Polygon::new(
        vec![
            ll(38.0, 35.0),
            ll(38.2, 35.0),
            ll(38.1, 35.0),
            ll(38.1, 35.1),
        ],
        &l,
    );
    assert!(matches!(spike, Err(Rule::SelfIntersecting { .. })));
    let flat = Polygon::new(vec![ll(38.0, 35.0), ll(38.1, 35.0), ll(38.2, 35.0)], &l);
    assert!(flat.is_err());
    let huge = Polygon::new(
        vec![
            ll(30.0, 30.0),
            ll(40.0, 30.0),
            ll(40.0, 40.0),
            ll(30.0, 40.0),
        ],
        &l,
    );
    assert!(matches!(huge, Err(Rule::AreaTooLarge { .. })));
    let long = TimeWindow::new(0, 8 * 24 * HOUR_MS, &l);
    assert!(matches!(long, Err(Rule::DurationTooLong { .. })));
}

/// Regression: the point look-up built its box with raw milliseconds while stored boxes use
/// seconds, so no notification was ever found active.
#[test]
fn active_at_finds_the_notification_over_a_point_regression_box_scales() {
    let mut index = StrategicIndex::new(frame());
    index
        .insert(n("A", "red", rect(38.0, 35.0, 38.2, 35.2), BAND, (0, 2)))
        .unwrap();
    let inside = ll(38.1, 35.1);
    let hit = index.active_at(inside, 1000.0, T0_MS + HOUR_MS);
    assert_eq!(hit.len(), 1);
    assert_eq!(hit[0].0.as_str(), "A");
    // Half-open window and band; closed footprint.
    assert!(
        index
            .active_at(inside, 1000.0, T0_MS + 2 * HOUR_MS)
            .is_empty()
    );
    assert_eq!(index.active_at(inside, 0.0, T0_MS).len(), 1);
    assert!(index.active_at(inside, 3000.0, T0_MS).is_empty());
    assert_eq!(index.active_at(ll(38.2, 35.2), 0.0, T0_MS).len(), 1);
    assert!(index.active_at(ll(38.21, 35.1), 0.0, T0_MS).is_empty());
}
