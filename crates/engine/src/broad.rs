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
//! Cells are hypercubes keyed by the four cell indices, each wrapped to 16 bits and packed in a
//! u64 (wrapping only merges far-apart cells, which the exact box test separates). A box is
//! entered in every cell it overlaps; the (cell, track) entries are sorted by cell; each pair of
//! boxes that overlap is visited once, in the cell holding the lower corner of their intersection.
//! A box spanning more than [`CELLS_PER_TRACK_MAX`] cells (a very fast climber) is kept out of the
//! grid and tested against every other box.

use crate::encounter::Kin;
use crate::geodesy::WGS84_CURVATURE_RADIUS_M_MIN;
use crate::probe::ProbeConfig;

/// Most grid cells one track's box may be entered in; beyond, the track is tested against all.
pub const CELLS_PER_TRACK_MAX: u64 = 512;
/// Added to every horizontal margin to absorb floating-point rounding, metres.
const ROUNDING_M: f64 = 1.0;
/// Added to every vertical margin to absorb floating-point rounding, metres.
const ROUNDING_ALT_M: f64 = 0.01;

/// What one broad phase did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BroadStats {
    /// (cell, track) entries in the grid.
    pub grid_entries: u64,
    /// Tracks whose box was too large for the grid.
    pub oversize_tracks: u64,
    /// Pairs whose boxes overlap: the candidates handed to the narrow phase.
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
    cell_m: f64,
    cell_alt_m: f64,
}

impl Grid {
    #[inline]
    fn index(&self, v: f64, dim: usize) -> i64 {
        let c = if dim == 3 {
            self.cell_alt_m
        } else {
            self.cell_m
        };
        (v / c).floor() as i64
    }
    #[inline]
    fn key(idx: [i64; 4]) -> u64 {
        // Two's-complement wrap to 16 bits per dimension.
        ((idx[0] as u64 & 0xFFFF) << 48)
            | ((idx[1] as u64 & 0xFFFF) << 32)
            | ((idx[2] as u64 & 0xFFFF) << 16)
            | (idx[3] as u64 & 0xFFFF)
    }
    #[inline]
    fn key_of_point(&self, p: [f64; 4]) -> u64 {
        Self::key([
            self.index(p[0], 0),
            self.index(p[1], 1),
            self.index(p[2], 2),
            self.index(p[3], 3),
        ])
    }
}

/// Calls `visit(i, j)` with i < j exactly once for every pair of tracks whose swept boxes overlap;
/// every pair that the narrow phase can find in conflict is among them (see the module docs).
pub(crate) fn for_each_candidate(
    kins: &[Kin],
    config: &ProbeConfig,
    mut visit: impl FnMut(u32, u32),
) -> BroadStats {
    let mut stats = BroadStats::default();
    let n = kins.len();
    if n < 2 {
        return stats;
    }
    let t_s = config.lookahead_s();
    let (h_m, v_m) = (config.h_sep_m(), config.v_sep_m());
    let gs_max = kins.iter().map(|k| k.gs).fold(0.0, f64::max);
    let d_max = h_m + 2.0 * gs_max * t_s;
    let theta = 2.0
        * (d_max / (2.0 * WGS84_CURVATURE_RADIUS_M_MIN))
            .min(1.0)
            .asin();
    let phi = 1.5 * theta;
    let n_u32 = u32::try_from(n).expect("track count fits u32 (bounded by tracks_max)");
    if phi >= 1.0 {
        for i in 0..n_u32 {
            for j in i + 1..n_u32 {
                stats.box_pairs += 1;
                visit(i, j);
            }
        }
        return stats;
    }
    let k_h = phi.tan() + 1.0 / phi.cos() - 1.0;

    let mut gs_sum = 0.0;
    let boxes: Vec<Box4> = kins
        .iter()
        .map(|k| {
            gs_sum += k.gs;
            let m = h_m / 2.0 + k.gs * t_s * k_h + ROUNDING_M;
            let mut b = [0.0; 8];
            for d in 0..3 {
                let end = k.x[d] + k.v[d] * t_s;
                b[d] = k.x[d].min(end) - m;
                b[d + 4] = k.x[d].max(end) + m;
            }
            let z_end = k.z + k.vz * t_s;
            b[3] = k.z.min(z_end) - v_m / 2.0 - ROUNDING_ALT_M;
            b[7] = k.z.max(z_end) + v_m / 2.0 + ROUNDING_ALT_M;
            b
        })
        .collect();
    // Cells about the size of a typical box: each box then enters a few cells per dimension and
    // each cell holds few boxes that do not overlap (figures in `deconflict bench probe`).
    let gs_mean = gs_sum / n as f64;
    let grid = Grid {
        cell_m: (h_m + gs_mean * t_s).max(1_000.0),
        cell_alt_m: (2.0 * v_m).max(100.0),
    };

    let mut entries: Vec<(u64, u32)> = Vec::with_capacity(n * 8);
    let mut oversize: Vec<u32> = Vec::new();
    for (i, b) in boxes.iter().enumerate() {
        let i = i as u32;
        let lo: [i64; 4] = std::array::from_fn(|d| grid.index(b[d], d));
        let hi: [i64; 4] = std::array::from_fn(|d| grid.index(b[d + 4], d));
        let cells = (0..4).fold(1u64, |acc, d| {
            acc.saturating_mul((hi[d] - lo[d] + 1) as u64)
        });
        if cells > CELLS_PER_TRACK_MAX {
            oversize.push(i);
            continue;
        }
        for x in lo[0]..=hi[0] {
            for y in lo[1]..=hi[1] {
                for z in lo[2]..=hi[2] {
                    for a in lo[3]..=hi[3] {
                        entries.push((Grid::key([x, y, z, a]), i));
                    }
                }
            }
        }
    }
    stats.grid_entries = entries.len() as u64;
    stats.oversize_tracks = oversize.len() as u64;
    entries.sort_unstable_by_key(|e| e.0);

    let mut run_boxes: Vec<(u32, Box4)> = Vec::new();
    let mut start = 0;
    while start < entries.len() {
        let key = entries[start].0;
        let mut end = start + 1;
        while end < entries.len() && entries[end].0 == key {
            end += 1;
        }
        if end - start >= 2 {
            run_boxes.clear();
            run_boxes.extend(
                entries[start..end]
                    .iter()
                    .map(|&(_, i)| (i, boxes[i as usize])),
            );
            for p in 0..run_boxes.len() {
                let (i, bi) = run_boxes[p];
                for &(j, bj) in &run_boxes[p + 1..] {
                    if !overlaps(&bi, &bj) {
                        continue;
                    }
                    let corner = [
                        bi[0].max(bj[0]),
                        bi[1].max(bj[1]),
                        bi[2].max(bj[2]),
                        bi[3].max(bj[3]),
                    ];
                    if grid.key_of_point(corner) != key {
                        continue;
                    }
                    stats.box_pairs += 1;
                    if i < j { visit(i, j) } else { visit(j, i) }
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
        let bo = boxes[o as usize];
        for (j, bj) in boxes.iter().enumerate() {
            // A pair of two oversize tracks is visited from its smaller index only.
            if j == o as usize || (is_oversize[j] && j < o as usize) || !overlaps(&bo, bj) {
                continue;
            }
            let j = j as u32;
            stats.box_pairs += 1;
            if o < j { visit(o, j) } else { visit(j, o) }
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::encounter::{narrow, pair_axes};
    use crate::geodesy::{add, cross, dot, norm, scale, sub};
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
        for k in 0..40_000 {
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
            for_each_candidate(&[a, b], &config, |i, j| seen.push((i, j)));
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
        assert!(conflicts > 10_000, "{conflicts}");
        assert!(
            needed_margin > 0,
            "no case needed the margin: the test is too weak"
        );
    }
}
