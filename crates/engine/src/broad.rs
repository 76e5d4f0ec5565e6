//! The broad phase: which pairs could possibly conflict, found through a uniform grid over the
//! swept volume of every aircraft, so that the cost grows with real neighbours and not with N².
//!
//! # The swept box
//! Each aircraft gets a 4-dimensional axis-aligned box: the three ECEF coordinates of the segment
//! its ground point covers along its own tangent plane over [0, lookahead], and the altitude band it
//! covers, each grown by a margin. ECEF is used because it has no singular point: the poles and the
//! antimeridian are ordinary places in it.
//!
//! # Why it never misses a conflict (the margin)
//! Let a, b conflict at time t in the narrow phase ([`crate::encounter`]): in the pair plane (unit
//! normal n′, orthogonal projection P) the relative position is P(X̃_b(t) − X̃_a(t)) with
//! X̃_i(t) = X_i + s_i V_i t, where X_i is the ground point, V_i the horizontal ECEF velocity and
//! s_i ≥ 1 the factor that keeps the ground speed after projection; its norm is < h_sep.
//! 1. The chord now is < D = h_sep + 2·gs_max·T (the narrow phase rejects anything farther), so
//!    the normals of a and b differ by at most θ = 2 asin(D / 2R), R the smallest radius of
//!    curvature of WGS-84, and n′ (their mean, made orthogonal to the chord) is within φ = 1.5 θ
//!    of either (checked over the whole globe in the tests).
//! 2. V_i ⟂ n_i, so |n′·V_i| ≤ gs_i sin φ and s_i ≤ sec φ. The chord lies in the plane, so
//!    |X̃_b − X̃_a| ≤ h_sep + Σ_i s_i gs_i t sin φ, and the aircraft's own tangent segment
//!    X_i + V_i t is within (s_i − 1) gs_i t of X̃_i(t).
//! 3. Hence the two points X_i + V_i t, each inside its unexpanded box, are less than
//!    Σ_i [h_sep/2 + gs_i T (tan φ + sec φ − 1)] apart, and boxes grown by those margins (plus 1 m for
//!    rounding) overlap. Vertically, |z_b(t) − z_a(t)| < v_sep with z_i(t) in i's altitude band, so
//!    bands grown by v_sep/2 overlap.
//!
//! With the engine's limits (lookahead ≤ 600 s, ground speed ≤ 1000 m/s, h_sep ≤ 100 km) φ stays
//! below 0.32 rad; should it ever reach 1 rad the broad phase gives up and returns every pair.
//!
//! # The grid
//! The three ECEF axes are first rotated so that the third is the picture's mean vertical (a
//! regional picture is then nearly flat and its boxes thin along that axis). Cells are
//! hypercubes (three spatial axes, altitude) numbered densely over the picture's extent, or, for a
//! picture too widespread for that, keyed by the four indices each wrapped to 16 bits (wrapping
//! only merges far-apart cells, which the exact box test separates). Tracks are put in grid order
//! for memory locality. A box is entered in every cell it overlaps; the (cell, track) entries are
//! radix-sorted by cell; each pair of boxes that overlap is visited once, in the cell holding the
//! lower corner of their intersection.
//! A box spanning more than [`CELLS_PER_TRACK_MAX`] cells (a very fast climber) is kept out of the
//! grid and tested against every other box.

use crate::config::ProbeConfig;
use crate::encounter::{Kin, basis_around};
use crate::geodesy::WGS84_CURVATURE_RADIUS_M_MIN;
use crate::geodesy::{Vec3, add, dot, norm, scale};

/// Most grid cells one track's box may be entered in; beyond, the track is tested against all.
pub const CELLS_PER_TRACK_MAX: u64 = 512;
/// Added to every horizontal margin to absorb floating-point rounding, metres.
const ROUNDING_M: f64 = 1.0;
/// Added to every vertical margin to absorb floating-point rounding, metres.
const ROUNDING_ALT_M: f64 = 0.01;
/// Added to every cell coordinate before truncation so that truncation is a floor (cheaper than
/// `f64::floor`): larger than any |coordinate| / cell size (7,000 km / 100 m).
const CELL_OFFSET: f64 = (1u64 << 20) as f64;

/// What one broad phase did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BroadStats {
    /// (cell, track) entries in the grid.
    pub grid_entries: u64,
    /// Tracks whose box was too large for the grid.
    pub oversize_tracks: u64,
    /// Pairs whose boxes overlap (of the parties probed): the candidates handed to the narrow phase.
    pub box_pairs: u64,
}

type Box4 = [f64; 8]; // lo x y z alt, hi x y z alt

#[inline]
fn overlaps(a: &Box4, b: &Box4) -> bool {
    a[0] <= b[4]
        && b[0] <= a[4]
        && a[1] <= b[5]
        && b[1] <= a[5]
        && a[2] <= b[6]
        && b[2] <= a[6]
        && a[3] <= b[7]
        && b[3] <= a[7]
}

struct Grid {
    inv_cell: [f64; 4],
    /// Smallest cell index in each dimension and the number of cells spanned, when the picture's
    /// cells number few enough to be numbered densely (fewer radix passes, no aliasing);
    /// otherwise each index is wrapped to 16 bits.
    dense: Option<([i64; 4], [u64; 4])>,
}

impl Grid {
    #[inline]
    fn index(&self, v: f64, dim: usize) -> i64 {
        // Monotone in v, and the same function for insertion and for the dedup corner.
        (v * self.inv_cell[dim] + CELL_OFFSET) as i64
    }
    #[inline]
    fn key(&self, idx: [i64; 4]) -> u64 {
        match self.dense {
            Some((lo, span)) => {
                let mut k = 0u64;
                for d in 0..4 {
                    k = k * span[d] + (idx[d] - lo[d]) as u64;
                }
                k
            }
            // Wrap to 16 bits per dimension: only merges far-apart cells, which the exact box
            // test separates.
            None => {
                ((idx[0] as u64 & 0xFFFF) << 48)
                    | ((idx[1] as u64 & 0xFFFF) << 32)
                    | ((idx[2] as u64 & 0xFFFF) << 16)
                    | (idx[3] as u64 & 0xFFFF)
            }
        }
    }
    #[inline]
    fn key_of_point(&self, p: [f64; 4]) -> u64 {
        self.key([
            self.index(p[0], 0),
            self.index(p[1], 1),
            self.index(p[2], 2),
            self.index(p[3], 3),
        ])
    }
}

/// Sorts by key with an LSD radix sort on 16-bit digits, skipping digits all keys share.
fn radix_sort(v: &mut Vec<(u64, u32)>) {
    // Below a few thousand entries the 64 Ki-entry histograms cost more than a comparison sort.
    if v.len() < 4096 {
        v.sort_unstable_by_key(|e| e.0);
        return;
    }
    let mut buf = vec![(0u64, 0u32); v.len()];
    for shift in [0u32, 16, 32, 48] {
        let mut count = vec![0usize; 1 << 16];
        for e in v.iter() {
            count[((e.0 >> shift) & 0xFFFF) as usize] += 1;
        }
        if count.contains(&v.len()) {
            continue;
        }
        let mut sum = 0;
        for c in count.iter_mut() {
            let here = *c;
            *c = sum;
            sum += here;
        }
        for e in v.iter() {
            let d = ((e.0 >> shift) & 0xFFFF) as usize;
            buf[count[d]] = *e;
            count[d] += 1;
        }
        std::mem::swap(v, &mut buf);
    }
}

/// Which pairs of a candidate set the caller wants.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PairFilter<'a> {
    /// A small integer per track: its party.
    pub(crate) party: &'a [u32],
    /// Also pairs of the same party.
    pub(crate) same_party: bool,
}

/// Calls `visit(i, j, &kins[i], &kins[j])` with i < j exactly once for every pair of tracks
/// that the filter admits and whose swept boxes overlap; every pair that the narrow phase can find
/// in conflict is among them (see the module documentation).
///
/// Internally the tracks are put in grid order so that neighbours are near each other in memory;
/// the references handed to `visit` point into that reordered copy.
pub(crate) fn for_each_candidate(
    kins: &[Kin],
    filter: PairFilter<'_>,
    config: &ProbeConfig,
    visit: impl FnMut(u32, u32, &Kin, &Kin),
) -> BroadStats {
    candidates(kins, filter, config, KeyMode::Auto, visit)
}

/// How grid cells are keyed; only tests force the wrapped keys, which otherwise serve pictures
/// too widespread for dense numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyMode {
    Auto,
    #[cfg(test)]
    Wrapped,
}

fn candidates(
    kins: &[Kin],
    filter: PairFilter<'_>,
    config: &ProbeConfig,
    key_mode: KeyMode,
    mut visit: impl FnMut(u32, u32, &Kin, &Kin),
) -> BroadStats {
    let mut stats = BroadStats::default();
    let n = kins.len();
    if n < 2 {
        return stats;
    }
    let admits = |i: usize, j: usize| filter.same_party || filter.party[i] != filter.party[j];
    let n_u32 = u32::try_from(n).expect("track count fits u32 (bounded by tracks_max)");
    let Some(boxes) = swept_boxes(kins, config) else {
        for i in 0..n_u32 {
            for j in i + 1..n_u32 {
                if admits(i as usize, j as usize) {
                    stats.box_pairs += 1;
                    visit(i, j, &kins[i as usize], &kins[j as usize]);
                }
            }
        }
        return stats;
    };
    let t_s = config.lookahead_s();
    let (h_m, v_m) = (config.h_sep_m(), config.v_sep_m());
    let gs_mean = kins.iter().map(|k| k.gs).sum::<f64>() / n as f64;
    let grid = grid_for(&boxes, (h_m, v_m), gs_mean * t_s, key_mode);

    // Grid order: tracks sorted by the cell of their box's lower corner.
    let mut order: Vec<(u64, u32)> = boxes
        .iter()
        .enumerate()
        .map(|(i, b)| (grid.key_of_point([b[0], b[1], b[2], b[3]]), i as u32))
        .collect();
    radix_sort(&mut order);
    let perm: Vec<u32> = order.iter().map(|&(_, i)| i).collect();
    drop(order);
    let kins_p: Vec<Kin> = perm.iter().map(|&i| kins[i as usize]).collect();
    let boxes_p: Vec<Box4> = perm.iter().map(|&i| boxes[i as usize]).collect();
    drop(boxes);

    let mut on_pair = |p: u32, q: u32, stats: &mut BroadStats| {
        let (i, j) = (perm[p as usize], perm[q as usize]);
        if !admits(i as usize, j as usize) {
            return;
        }
        stats.box_pairs += 1;
        if i < j {
            visit(i, j, &kins_p[p as usize], &kins_p[q as usize]);
        } else {
            visit(j, i, &kins_p[q as usize], &kins_p[p as usize]);
        }
    };

    let (mut entries, oversize) = cell_entries(&boxes_p, &grid);
    stats.grid_entries = entries.len() as u64;
    stats.oversize_tracks = oversize.len() as u64;
    radix_sort(&mut entries);

    // Each track's party in grid order: a cell holding one party's tracks only has no pair to
    // test when only pairs of different parties are wanted (a party's own traffic flies
    // together, so most cells are such).
    let party_p: Vec<u32> = perm.iter().map(|&i| filter.party[i as usize]).collect();
    let mut run_boxes: Vec<(u32, u32, Box4)> = Vec::new();
    let mut start = 0;
    while start < entries.len() {
        let key = entries[start].0;
        let mut end = start + 1;
        while end < entries.len() && entries[end].0 == key {
            end += 1;
        }
        let run = &entries[start..end];
        let mixed = || {
            let first = party_p[run[0].1 as usize];
            run.iter().any(|&(_, p)| party_p[p as usize] != first)
        };
        if run.len() >= 2 && (filter.same_party || mixed()) {
            run_boxes.clear();
            run_boxes.extend(
                run.iter()
                    .map(|&(_, p)| (p, party_p[p as usize], boxes_p[p as usize])),
            );
            for (k, &(p, party, bp)) in run_boxes.iter().enumerate() {
                for &(q, other, bq) in &run_boxes[k + 1..] {
                    if (!filter.same_party && party == other) || !overlaps(&bp, &bq) {
                        continue;
                    }
                    let corner = [
                        bp[0].max(bq[0]),
                        bp[1].max(bq[1]),
                        bp[2].max(bq[2]),
                        bp[3].max(bq[3]),
                    ];
                    if grid.key_of_point(corner) == key {
                        on_pair(p, q, &mut stats);
                    }
                }
            }
        }
        start = end;
    }

    let mut is_oversize = vec![false; n];
    for &o in &oversize {
        is_oversize[o as usize] = true;
    }
    for &o in &oversize {
        let bo = boxes_p[o as usize];
        for (q, bq) in boxes_p.iter().enumerate() {
            // A pair of two oversize tracks is visited from its smaller index only.
            if q == o as usize || (is_oversize[q] && q < o as usize) || !overlaps(&bo, bq) {
                continue;
            }
            on_pair(o, q as u32, &mut stats);
        }
    }
    stats
}

/// Every track's swept box, grown by the margins the proof above needs for this set of tracks
/// (the fastest of them sets the curvature allowance); `None` when the allowance would reach
/// 1 rad, where every pair must be examined.
fn swept_boxes(kins: &[Kin], config: &ProbeConfig) -> Option<Vec<Box4>> {
    let t_s = config.lookahead_s();
    let (h_m, v_m) = (config.h_sep_m(), config.v_sep_m());
    let gs_max = kins.iter().map(|k| k.gs).fold(0.0, f64::max);
    let d_max = h_m + 2.0 * gs_max * t_s;
    let theta = 2.0
        * (d_max / (2.0 * WGS84_CURVATURE_RADIUS_M_MIN))
            .min(1.0)
            .asin();
    let phi = 1.5 * theta;
    if phi >= 1.0 {
        return None;
    }
    let k_h = phi.tan() + 1.0 / phi.cos() - 1.0;
    // A rotation of ECEF whose third axis is the mean vertical of the picture: a regional picture
    // then lies almost flat in the first two axes and its boxes are thin along the third, so each
    // box enters fewer cells. Any rotation keeps distances, hence the proof above.
    let rot = picture_rotation(kins);
    Some(
        kins.iter()
            .map(|k| swept_box(k, &rot, (h_m, v_m), t_s, k_h))
            .collect(),
    )
}

/// Calls `visit(i, j, &kins[i], &kins[j])` with i < j once for every pair admitted by the
/// filter that holds at least one track of `of` and whose swept boxes overlap: the pairs
/// [`for_each_candidate`] gives that involve those tracks, found without a grid, by testing each
/// of them against every box (a few new tracks against a whole picture, between two cycles).
pub(crate) fn for_each_candidate_of(
    kins: &[Kin],
    filter: PairFilter<'_>,
    config: &ProbeConfig,
    of: &[u32],
    mut visit: impl FnMut(u32, u32, &Kin, &Kin),
) -> BroadStats {
    let mut stats = BroadStats::default();
    let n = kins.len();
    if n < 2 || of.is_empty() {
        return stats;
    }
    let admits = |i: usize, j: usize| filter.same_party || filter.party[i] != filter.party[j];
    let mut is_of = vec![false; n];
    let mut mine: Vec<usize> = Vec::with_capacity(of.len());
    for &i in of {
        let i = i as usize;
        if i < n && !is_of[i] {
            is_of[i] = true;
            mine.push(i);
        }
    }
    let boxes = swept_boxes(kins, config);
    for &i in &mine {
        for j in 0..n {
            // A pair of two such tracks is visited from its smaller index only.
            if j == i || (is_of[j] && j < i) || !admits(i, j) {
                continue;
            }
            if let Some(b) = &boxes
                && !overlaps(&b[i], &b[j])
            {
                continue;
            }
            stats.box_pairs += 1;
            let (a, c) = (i.min(j), i.max(j));
            visit(a as u32, c as u32, &kins[a], &kins[c]);
        }
    }
    stats
}

/// A rotation of ECEF whose third axis is the mean vertical of the picture: a regional picture
/// then lies almost flat in the first two axes and its boxes are thin along the third, so each
/// box enters fewer cells. Any rotation keeps distances, hence the proof above.
fn picture_rotation(kins: &[Kin]) -> [Vec3; 3] {
    let mean_up = kins.iter().fold([0.0; 3], |m, k| add(m, k.up));
    if norm(mean_up) > 1e-3 * kins.len() as f64 {
        let w = scale(mean_up, 1.0 / norm(mean_up));
        let (e1, e2) = basis_around(w);
        [e1, e2, w]
    } else {
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    }
}

/// The box a track sweeps over the lookahead `t_s` in the rotated frame, widened by half the
/// separation `(h_m, v_m)`, the curvature allowance `k_h` and the rounding margins.
fn swept_box(k: &Kin, rot: &[Vec3; 3], (h_m, v_m): (f64, f64), t_s: f64, k_h: f64) -> Box4 {
    let m = h_m / 2.0 + k.gs * t_s * k_h + ROUNDING_M;
    let mut b = [0.0; 8];
    for d in 0..3 {
        let start = dot(rot[d], k.x);
        let end = start + dot(rot[d], k.v) * t_s;
        b[d] = start.min(end) - m;
        b[d + 4] = start.max(end) + m;
    }
    let z_end = k.z + k.vz * t_s;
    b[3] = k.z.min(z_end) - v_m / 2.0 - ROUNDING_ALT_M;
    b[7] = k.z.max(z_end) + v_m / 2.0 + ROUNDING_ALT_M;
    b
}

/// Cells about the size of a typical box (`travel_mean_m`: the mean distance flown over the
/// lookahead): each box then enters a few cells per dimension and each cell holds few boxes
/// that do not overlap (figures in `deconflict bench probe`). Keys are dense when the boxes
/// span few enough cells.
fn grid_for(boxes: &[Box4], (h_m, v_m): (f64, f64), travel_mean_m: f64, key_mode: KeyMode) -> Grid {
    let cell_m = (h_m + travel_mean_m).max(1_000.0);
    let cell_alt_m = (2.0 * v_m).max(100.0);
    let mut grid = Grid {
        inv_cell: [1.0 / cell_m, 1.0 / cell_m, 1.0 / cell_m, 1.0 / cell_alt_m],
        dense: None,
    };
    let mut lo_all = [i64::MAX; 4];
    let mut hi_all = [i64::MIN; 4];
    for b in boxes {
        for d in 0..4 {
            lo_all[d] = lo_all[d].min(grid.index(b[d], d));
            hi_all[d] = hi_all[d].max(grid.index(b[d + 4], d));
        }
    }
    let span: [u64; 4] = std::array::from_fn(|d| (hi_all[d] - lo_all[d] + 1) as u64);
    let few_cells = span
        .iter()
        .try_fold(1u64, |acc, &s| acc.checked_mul(s))
        .is_some_and(|cells| cells < 1 << 48);
    if few_cells && key_mode == KeyMode::Auto {
        grid.dense = Some((lo_all, span));
    }
    grid
}

/// Every (cell key, track) a box enters, unsorted, and the tracks whose boxes enter more than
/// [`CELLS_PER_TRACK_MAX`] cells (checked against every other box instead).
fn cell_entries(boxes: &[Box4], grid: &Grid) -> (Vec<(u64, u32)>, Vec<u32>) {
    let mut entries: Vec<(u64, u32)> = Vec::with_capacity(boxes.len() * 8);
    let mut oversize: Vec<u32> = Vec::new();
    for (p, b) in boxes.iter().enumerate() {
        let p = p as u32;
        let lo: [i64; 4] = std::array::from_fn(|d| grid.index(b[d], d));
        let hi: [i64; 4] = std::array::from_fn(|d| grid.index(b[d + 4], d));
        let cells = (0..4).fold(1u64, |acc, d| {
            acc.saturating_mul((hi[d] - lo[d] + 1) as u64)
        });
        if cells > CELLS_PER_TRACK_MAX {
            oversize.push(p);
            continue;
        }
        for x in lo[0]..=hi[0] {
            for y in lo[1]..=hi[1] {
                for z in lo[2]..=hi[2] {
                    for a in lo[3]..=hi[3] {
                        entries.push((grid.key([x, y, z, a]), p));
                    }
                }
            }
        }
    }
    (entries, oversize)
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::encounter::{narrow, pair_axes};
    use crate::geodesy::{cross, sub};
    use crate::kinematics::{AircraftState, Position, Velocity};
    use crate::probe::{PairPolicy, ProbeConfig};

    fn kin(lat: f64, lon: f64, trk: f64, gs: f64) -> Kin {
        Kin::new(&AircraftState::new(
            Position::new(lat, lon, 10_000.0).unwrap(),
            Velocity::new(trk.rem_euclid(360.0), gs, 0.0).unwrap(),
        ))
    }

    /// Direction from `from` to `to` as a track angle at `at`, degrees.
    fn bearing(at: &Kin, from: &Kin, to: &Kin) -> f64 {
        let f = crate::geodesy::EnuFrame::at(at.up[2].asin(), at.up[1].atan2(at.up[0]));
        let u = sub(to.x, from.x);
        dot(u, f.east()).atan2(dot(u, f.north())).to_degrees()
    }

    #[test]
    fn radix_sort_sorts_like_a_comparison_sort() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for len in [0, 1, 4095, 4096, 20_000] {
            // Keys that share some digits (as grid keys do) and keys that do not.
            let mut v: Vec<(u64, u32)> = (0..len)
                .map(|i| {
                    let k = if i % 2 == 0 {
                        rng.r#gen::<u64>()
                    } else {
                        rng.gen_range(0..1000) << 16
                    };
                    (k, i as u32)
                })
                .collect();
            let mut w = v.clone();
            radix_sort(&mut v);
            assert!(
                v.windows(2).all(|p| p[0].0 <= p[1].0),
                "not sorted at length {len}"
            );
            // A permutation of the input.
            let mut u = v.clone();
            u.sort_unstable();
            w.sort_unstable();
            assert_eq!(u, w);
        }
    }

    #[test]
    fn dense_and_wrapped_cell_keys_find_the_same_pairs() {
        for (seed, side_m, lat) in [
            (1, 200_000.0, 34.0),
            (2, 3_000_000.0, 89.0),
            (3, 50_000.0, 0.0),
        ] {
            let wc = crate::synth::WorldConfig {
                tracks: 1500,
                side_m,
                center_lat_deg: lat,
                center_lon_deg: 179.0,
                ..crate::synth::WorldConfig::default()
            };
            let s = crate::synth::world(&wc, seed).unwrap();
            let kins: Vec<Kin> = s.tracks().iter().map(|t| Kin::new(t.state())).collect();
            let party: Vec<u32> = s
                .tracks()
                .iter()
                .map(|t| u32::from(t.party().as_str() == "red"))
                .collect();
            let filter = PairFilter {
                party: &party,
                same_party: true,
            };
            let config = ProbeConfig::default();
            let mut dense = Vec::new();
            candidates(&kins, filter, &config, KeyMode::Auto, |i, j, _, _| {
                dense.push((i, j))
            });
            let mut wrapped = Vec::new();
            candidates(&kins, filter, &config, KeyMode::Wrapped, |i, j, _, _| {
                wrapped.push((i, j))
            });
            dense.sort_unstable();
            wrapped.sort_unstable();
            assert!(!dense.is_empty());
            assert_eq!(dense, wrapped, "seed {seed}");
            // Each pair exactly once.
            assert!(dense.windows(2).all(|w| w[0] != w[1]));
        }
    }

    /// Steps 1–3 of the module documentation, checked directly: the normals' tilt bound, and at
    /// every time a pair is inside in the pair frame, the two aircraft's own tangent-line points
    /// are closer than the sum of the margins. Tail chases at long range and high speed, near the
    /// poles and across the antimeridian, are where the margin is needed; the test also checks it
    /// found cases where the plain h_sep would not have been enough.
    #[test]
    fn margin_covers_the_pair_frame_at_every_time_of_conflict() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut needed_margin = 0;
        let mut conflicts = 0;
        for k in 0..20_000 {
            let lat: f64 = match k % 3 {
                0 => rng.gen_range(-89.9..89.9),
                1 => rng.gen_range(80.0..89.9),
                _ => rng.gen_range(-89.9..-80.0),
            };
            let lon: f64 = rng.gen_range(-180.0..=180.0);
            let t_s: f64 = rng.gen_range(1.0..=600.0);
            let h_m: f64 = rng.gen_range(100.0..=30_000.0);
            let config = ProbeConfig::new(t_s, h_m, 300.0, PairPolicy::AllPairs).unwrap();
            let gs_a: f64 = rng.gen_range(0.0..=1000.0);
            let gs_b: f64 = rng.gen_range(0.0..=gs_a);
            // b ahead of a at a range a can close within the lookahead.
            let range_m = rng.gen_range(0.0..=h_m + (gs_a - gs_b) * t_s);
            let azi: f64 = rng.gen_range(0.0..360.0);
            let probe_a = kin(lat, lon, azi, 1.0);
            let far = add(probe_a.x, scale(probe_a.v, range_m));
            let (blat, blon, _) = crate::geodesy::ecef_to_geodetic(far);
            let b0 = kin(
                blat.to_degrees().clamp(-90.0, 90.0),
                blon.to_degrees(),
                0.0,
                0.0,
            );
            let trk_a = bearing(&probe_a, &probe_a, &b0) + rng.gen_range(-3.0..3.0);
            let trk_b = bearing(&b0, &probe_a, &b0) + rng.gen_range(-3.0..3.0);
            let a = kin(lat, lon, trk_a, gs_a);
            let b = kin(
                blat.to_degrees().clamp(-90.0, 90.0),
                blon.to_degrees(),
                trk_b,
                gs_b,
            );

            let (chord, u1, u2) = pair_axes(&a, &b);
            let n = cross(u1, u2);
            let theta = 2.0
                * (chord / (2.0 * WGS84_CURVATURE_RADIUS_M_MIN))
                    .min(1.0)
                    .asin();
            for up in [a.up, b.up] {
                let tilt = dot(n, up).clamp(-1.0, 1.0).acos();
                assert!(
                    tilt <= 1.5 * theta + 1e-12,
                    "tilt {tilt} theta {theta} chord {chord}"
                );
            }

            let Some(w) = narrow(&a, &b, &config) else {
                continue;
            };
            conflicts += 1;
            let mut seen = Vec::new();
            let filter = PairFilter {
                party: &[0, 1],
                same_party: false,
            };
            for_each_candidate(&[a, b], filter, &config, |i, j, _, _| seen.push((i, j)));
            assert_eq!(seen, [(0, 1)], "the broad phase missed a conflict: {w:?}");
            let d_max = h_m + 2.0 * a.gs.max(b.gs) * t_s;
            let phi = 3.0
                * (d_max / (2.0 * WGS84_CURVATURE_RADIUS_M_MIN))
                    .min(1.0)
                    .asin();
            let k_h = phi.tan() + 1.0 / phi.cos() - 1.0;
            for f in [0.0, 0.001, 0.25, 0.5, 0.75, 0.999, 1.0] {
                let t = w.t_in_s() + f * (w.t_out_s() - w.t_in_s());
                let gap = norm(sub(add(b.x, scale(b.v, t)), add(a.x, scale(a.v, t))));
                let allowed = h_m + (a.gs + b.gs) * t * k_h;
                assert!(
                    gap <= allowed + 1e-6,
                    "gap {gap} allowed {allowed} at t {t} of {w:?}"
                );
                if gap >= h_m {
                    needed_margin += 1;
                }
            }
        }
        assert!(conflicts > 5_000, "{conflicts}");
        assert!(
            needed_margin > 0,
            "no case needed the margin: the test is too weak"
        );
    }
}
