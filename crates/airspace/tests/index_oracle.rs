//! The index against the oracle: on random sets of polygons (concave, and on a coarse grid so
//! that shared edges and vertices are common), circles, altitude bands and time windows with
//! shared boundaries, and random buffers, the index reports exactly the conflicts that
//! comparing every pair reports. Also after removals and updates, and with insert buffers of a
//! few volumes, so that packing, merging runs, stale entries of removed volumes (their slots
//! reused) and compaction all occur within one case.

use deconflict_airspace::index::{VOLUMES_MAX, project};
use deconflict_airspace::{
    AltitudeBand, Buffers, Circle, Footprint, Frame, Limits, LonLat, Notification, NotificationId,
    PartyId, Polygon, StrategicIndex, TimeWindow, Volume, brute_force,
};
use proptest::prelude::*;

const GRID_DEG: f64 = 0.005;

#[derive(Debug, Clone)]
struct Spec {
    kind: u8,
    cx: u32,
    cy: u32,
    size: u32,
    radii: Vec<u32>,
    jitter: Vec<u32>,
    alt_lo: u32,
    alt_th: u32,
    t0: u32,
    dur: u32,
    party: u8,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0u8..4,
        0u32..120,
        0u32..120,
        1u32..30,
        prop::collection::vec(1u32..=10, 3..12),
        prop::collection::vec(0u32..100, 12),
        (0u32..8, 1u32..5),
        (0u32..24, 1u32..12),
        0u8..3,
    )
        .prop_map(
            |(kind, cx, cy, size, radii, jitter, (alt_lo, alt_th), (t0, dur), party)| Spec {
                kind,
                cx,
                cy,
                size,
                radii,
                jitter,
                alt_lo,
                alt_th,
                t0,
                dur,
                party,
            },
        )
}

fn ll(lon: f64, lat: f64) -> LonLat {
    LonLat::new(lon, lat).unwrap()
}

fn footprint(s: &Spec) -> Footprint {
    let limits = Limits::default();
    let (cx, cy) = (8.0 + s.cx as f64 * GRID_DEG, 46.0 + s.cy as f64 * GRID_DEG);
    if s.kind == 3 {
        let r_m = s.size as f64 * 250.0;
        return Footprint::Circle(Circle::new(ll(cx, cy), r_m, &limits).unwrap());
    }
    // A star-shaped (usually concave) polygon, vertices snapped to a grid of GRID_DEG / 2 so
    // that neighbours often share vertices and edges exactly.
    let n = s.radii.len();
    let snap = GRID_DEG / 2.0;
    let ring: Vec<LonLat> = (0..n)
        .map(|i| {
            let a = std::f64::consts::TAU * (i as f64 + s.jitter[i] as f64 / 125.0) / n as f64;
            let r = s.size as f64 * GRID_DEG * s.radii[i] as f64 / 10.0;
            ll(
                ((cx + r * a.cos()) / snap).round() * snap,
                ((cy + r * a.sin()) / snap).round() * snap,
            )
        })
        .collect();
    match Polygon::new(ring, &limits) {
        Ok(p) => Footprint::Polygon(p),
        // Snapping can fold a star; a grid-aligned rectangle keeps the case.
        Err(_) => {
            let d = s.size as f64 * GRID_DEG / 2.0;
            Footprint::Polygon(
                Polygon::new(
                    vec![
                        ll(cx - d, cy - d),
                        ll(cx + d, cy - d),
                        ll(cx + d, cy + d),
                        ll(cx - d, cy + d),
                    ],
                    &limits,
                )
                .unwrap(),
            )
        }
    }
}

fn notification(i: usize, s: &Spec) -> Notification {
    notification_timed(i, s, 600_000, 600_000)
}

/// As [`notification`], but starting up to 48 days after the others, every 2 days, and lasting
/// half a day to 6 days: the index orders time by epochs (about 16.7 days for this frame), so volumes
/// fall in different epochs and straddle their boundaries.
fn notification_far(i: usize, s: &Spec) -> Notification {
    notification_timed(i, s, 2 * 86_400_000, 43_200_000)
}

fn notification_timed(
    i: usize,
    s: &Spec,
    start_unit_ms: i64,
    duration_unit_ms: i64,
) -> Notification {
    let limits = Limits::default();
    let band = AltitudeBand::new(
        s.alt_lo as f64 * 500.0,
        (s.alt_lo + s.alt_th) as f64 * 500.0,
        &limits,
    )
    .unwrap();
    let t0_ms = 1_795_600_800_000 + s.t0 as i64 * start_unit_ms;
    let window = TimeWindow::new(t0_ms, t0_ms + s.dur as i64 * duration_unit_ms, &limits).unwrap();
    Notification::new(
        NotificationId::new(format!("N{i:03}")).unwrap(),
        PartyId::new(["blue", "red", "green"][s.party as usize]).unwrap(),
        vec![Volume {
            footprint: footprint(s),
            band,
            window,
        }],
    )
    .unwrap()
}

fn frame() -> Frame {
    Frame::new(ll(8.3, 46.3))
}

fn buffers(h: u8, v: u8) -> Buffers {
    Buffers::new(
        [0.0, 300.0, 1_500.0][h as usize],
        [0.0, 150.0, 500.0][v as usize],
    )
    .unwrap()
}

fn check_all(index: &StrategicIndex, set: &[Notification], b: Buffers) -> usize {
    let mut total = 0;
    for n in set {
        let from_index = index.conflicts(n, b).unwrap();
        let from_oracle = brute_force(&frame(), set, n, b).unwrap();
        assert_eq!(from_index, from_oracle, "query {:?}", n.id());
        total += from_index.len();
    }
    total
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn index_equals_every_pair(
        specs in prop::collection::vec(spec(), 1..60),
        h in 0u8..3,
        v in 0u8..3,
        buffer in 1usize..12,
    ) {
        let set: Vec<Notification> = specs.iter().enumerate().map(|(i, s)| notification(i, s)).collect();
        let mut index = StrategicIndex::with_limits(frame(), VOLUMES_MAX, buffer);
        for n in &set {
            index.insert(n.clone()).unwrap();
        }
        check_all(&index, &set, buffers(h, v));
        let packed = StrategicIndex::bulk_load(frame(), set.clone()).unwrap();
        check_all(&packed, &set, buffers(h, v));
    }

    #[test]
    fn index_equals_every_pair_after_removals_and_updates(
        specs in prop::collection::vec(spec(), 2..40),
        moved in prop::collection::vec(spec(), 1..10),
        h in 0u8..3,
        buffer in 1usize..12,
    ) {
        let mut set: Vec<Notification> = specs.iter().enumerate().map(|(i, s)| notification(i, s)).collect();
        let mut index = StrategicIndex::with_limits(frame(), VOLUMES_MAX, buffer);
        for n in &set {
            index.insert(n.clone()).unwrap();
        }
        // Remove every third; update the first few to new volumes under the same id.
        let removed: Vec<Notification> = set.iter().step_by(3).cloned().collect();
        for n in &removed {
            index.remove(n.id()).unwrap();
        }
        set.retain(|n| !removed.contains(n));
        for (k, s) in moved.iter().enumerate() {
            if let Some(slot) = set.get_mut(k) {
                let idx: usize = slot.id().as_str()[1..].parse().unwrap();
                let updated = notification(idx, s);
                index.update(updated.clone()).unwrap();
                *slot = updated;
            }
        }
        prop_assert_eq!(index.len(), set.len());
        check_all(&index, &set, buffers(h, 1));
        // Removed notifications are neither found nor used.
        for n in &removed {
            prop_assert!(index.get(n.id()).is_none());
        }
        // Removed ones come back under new versions: slots of stale entries are reused.
        for (k, n) in removed.iter().enumerate() {
            let back = notification(k + 1000, &specs[(k * 7) % specs.len()]);
            index.insert(back.clone()).unwrap();
            set.push(back);
            prop_assert!(index.get(n.id()).is_none());
        }
        prop_assert_eq!(index.volumes_len(), set.len());
        check_all(&index, &set, buffers(h, 2));
        check_active(&index, &set);
    }

    #[test]
    fn index_equals_every_pair_with_volumes_weeks_apart(
        specs in prop::collection::vec(spec(), 1..60),
        h in 0u8..3,
        buffer in 1usize..12,
    ) {
        // Every other notification days to weeks later, some lasting days.
        let timed = |i: usize, s: &Spec| if i.is_multiple_of(2) { notification(i, s) } else { notification_far(i, s) };
        let mut set: Vec<Notification> = specs.iter().enumerate().map(|(i, s)| timed(i, s)).collect();
        let mut index = StrategicIndex::with_limits(frame(), VOLUMES_MAX, buffer);
        for n in &set {
            index.insert(n.clone()).unwrap();
        }
        check_all(&index, &set, buffers(h, 1));
        let packed = StrategicIndex::bulk_load(frame(), set.clone()).unwrap();
        check_all(&packed, &set, buffers(h, 1));
        // Removal finds each entry by its key, whatever its epoch.
        let removed: Vec<Notification> = set.iter().step_by(3).cloned().collect();
        for n in &removed {
            index.remove(n.id()).unwrap();
        }
        set.retain(|n| !removed.contains(n));
        check_all(&index, &set, buffers(h, 1));
        check_active(&index, &set);
    }

    #[test]
    fn active_at_equals_every_volume(
        specs in prop::collection::vec(spec(), 1..40),
        buffer in 1usize..12,
    ) {
        let set: Vec<Notification> = specs.iter().enumerate().map(|(i, s)| notification(i, s)).collect();
        let mut index = StrategicIndex::with_limits(frame(), VOLUMES_MAX, buffer);
        for n in &set {
            index.insert(n.clone()).unwrap();
        }
        check_active(&index, &set);
    }
}

/// At points on and around every footprint's vertices, at every window's start and end and
/// at every band's bounds, `active_at` answers what testing every volume answers.
fn check_active(index: &StrategicIndex, set: &[Notification]) {
    let f = frame();
    for n in set {
        let v = &n.volumes()[0];
        let at = match &v.footprint {
            Footprint::Polygon(p) => p.ring()[0],
            Footprint::Circle(c) => c.centre(),
        };
        for (dlon, dlat) in [(0.0, 0.0), (GRID_DEG / 4.0, 0.0), (0.0, -GRID_DEG / 4.0)] {
            let p = ll(at.lon_deg() + dlon, at.lat_deg() + dlat);
            for t in [
                v.window.start_ms(),
                v.window.end_ms() - 1,
                v.window.end_ms(),
            ] {
                for alt in [v.band.lower_m(), v.band.upper_m() - 1.0, v.band.upper_m()] {
                    let mut expect: Vec<&str> = set
                        .iter()
                        .filter(|m| {
                            project(&f, m).unwrap().iter().any(|pv| {
                                pv.window.contains(t)
                                    && pv.band.contains(alt)
                                    && pv.footprint.contains(f.project(p))
                            })
                        })
                        .map(|m| m.id().as_str())
                        .collect();
                    expect.sort_unstable();
                    let got: Vec<&str> = index
                        .active_at(p, alt, t)
                        .into_iter()
                        .map(|(id, _)| id.as_str())
                        .collect();
                    assert_eq!(got, expect, "at {p:?} {alt} m {t} ms");
                }
            }
        }
    }
}

#[test]
fn oracle_finds_conflicts_on_these_sets() {
    // Guards against a generator that never produces a conflict (the property would then hold
    // vacuously): a fixed dense set must have many.
    let specs: Vec<Spec> = (0..40)
        .map(|i| Spec {
            kind: (i % 4) as u8,
            cx: (i * 7 % 40) as u32,
            cy: (i * 11 % 40) as u32,
            size: 10,
            radii: vec![10, 6, 9, 4, 10, 7],
            jitter: vec![10; 12],
            alt_lo: (i % 3) as u32,
            alt_th: 2,
            t0: (i % 5) as u32,
            dur: 6,
            party: (i % 3) as u8,
        })
        .collect();
    let set: Vec<Notification> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| notification(i, s))
        .collect();
    let mut index = StrategicIndex::new(frame());
    for n in &set {
        index.insert(n.clone()).unwrap();
    }
    let total = check_all(&index, &set, buffers(0, 0));
    assert!(total > 20, "only {total} conflicts");
}
