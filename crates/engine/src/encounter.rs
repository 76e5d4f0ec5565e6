//! The narrow phase: the exact conflict window of one pair of aircraft flying straight at
//! constant velocity.
//!
//! # The pair frame
//! Both aircraft are put in one local tangent plane built for the pair: it contains the chord
//! between the two aircraft's points on the ellipsoid (altitude 0) and its normal is the mean of
//! their two ellipsoid normals, made orthogonal to the chord. So the horizontal distance now is the
//! chord between the ground points (it differs from the geodesic by about s³ / (24 R²): 1 mm at
//! 10 km, 28 m at 300 km, see `tests/geodesy.rs` for the figures measured against an exact
//! geodesic), each horizontal velocity is rotated into the plane and keeps its ground speed, and
//! the vertical is the altitude difference. The same frame is built whichever aircraft comes first.
//!
//! # The conflict window
//! With relative horizontal position p, relative horizontal velocity v, relative altitude dz and
//! relative vertical rate dvz, the pair is *inside* at time t when
//! `|p + v t| < h_sep` **and** `|dz + dvz t| < v_sep` (strictly: a pair exactly at a minimum is
//! not inside). The horizontal condition holds on an open interval (the roots of a quadratic), the
//! vertical one on an open interval (a linear inequality); the conflict set is their intersection
//! with [0, lookahead]. The window reported is that set's infimum `t_in_s` and supremum
//! `t_out_s`, and the smallest horizontal distance over it, `h_min_m` (the minimum of a convex
//! quadratic on an interval, evaluated at the clamped vertex).
//!
//! Degenerate cases are exact: zero relative velocity means inside for all t or never; a pair that
//! only touches a minimum (discriminant 0, or an interval that closes at t = 0 or opens at
//! t = lookahead) is not in conflict.

use crate::config::ProbeConfig;
use crate::geodesy::{EnuFrame, Vec3, add, cross, dot, norm, scale, sub};
use crate::kinematics::AircraftState;

/// When and how close a pair is inside both minima within the lookahead.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConflictWindow {
    t_in_s: f64,
    t_out_s: f64,
    h_min_m: f64,
}

impl ConflictWindow {
    /// First time in [0, lookahead] the pair is inside both minima (0 if already inside); the
    /// infimum of the open set, seconds from the probe's instant.
    #[must_use]
    pub fn t_in_s(&self) -> f64 {
        self.t_in_s
    }
    /// Last such time, clipped to the lookahead, seconds.
    #[must_use]
    pub fn t_out_s(&self) -> f64 {
        self.t_out_s
    }
    /// Smallest horizontal distance while inside, metres.
    #[must_use]
    pub fn h_min_m(&self) -> f64 {
        self.h_min_m
    }
}

/// The relative motion of b with respect to a, in the pair's horizontal plane and vertically.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EncounterGeometry {
    rel_pos_m: [f64; 2],
    rel_vel_mps: [f64; 2],
    dz_m: f64,
    dvz_mps: f64,
}

impl EncounterGeometry {
    /// From relative quantities already in a common horizontal frame (for encounters specified
    /// in a plane, and for tests). All must be finite, else `None`.
    #[must_use]
    pub fn from_relative(
        rel_pos_m: [f64; 2],
        rel_vel_mps: [f64; 2],
        dz_m: f64,
        dvz_mps: f64,
    ) -> Option<Self> {
        let all = [
            rel_pos_m[0],
            rel_pos_m[1],
            rel_vel_mps[0],
            rel_vel_mps[1],
            dz_m,
            dvz_mps,
        ];
        all.iter().all(|x| x.is_finite()).then_some(Self {
            rel_pos_m,
            rel_vel_mps,
            dz_m,
            dvz_mps,
        })
    }

    /// The geometry of b relative to a, in the pair frame described in the module documentation.
    #[must_use]
    pub fn between(a: &AircraftState, b: &AircraftState) -> Self {
        geometry(&Kin::new(a), &Kin::new(b))
    }

    /// Horizontal position of b relative to a, metres.
    #[must_use]
    pub fn rel_pos_m(&self) -> [f64; 2] {
        self.rel_pos_m
    }
    /// Horizontal velocity of b relative to a, m/s.
    #[must_use]
    pub fn rel_vel_mps(&self) -> [f64; 2] {
        self.rel_vel_mps
    }
    /// Altitude of b minus altitude of a, metres.
    #[must_use]
    pub fn dz_m(&self) -> f64 {
        self.dz_m
    }
    /// Vertical rate of b minus that of a, m/s.
    #[must_use]
    pub fn dvz_mps(&self) -> f64 {
        self.dvz_mps
    }
    /// Horizontal distance now, metres.
    #[must_use]
    pub fn h_dist_m(&self) -> f64 {
        self.rel_pos_m[0].hypot(self.rel_pos_m[1])
    }

    /// The conflict window within `[0, config.lookahead_s()]`, or `None` if the pair never is
    /// strictly inside both minima in that window.
    #[must_use]
    pub fn conflict(&self, config: &ProbeConfig) -> Option<ConflictWindow> {
        conflict_window(
            self,
            config.h_sep_m(),
            config.v_sep_m(),
            config.lookahead_s(),
        )
    }
}

fn conflict_window(
    g: &EncounterGeometry,
    h_sep_m: f64,
    v_sep_m: f64,
    lookahead_s: f64,
) -> Option<ConflictWindow> {
    let [px, py] = g.rel_pos_m;
    let [vx, vy] = g.rel_vel_mps;
    // |p + v t|² < h²  ⇔  a t² + 2 b t + c < 0.
    let a = vx * vx + vy * vy;
    let b = px * vx + py * vy;
    let c = px * px + py * py - h_sep_m * h_sep_m;
    let (h_lo, h_hi) = if a == 0.0 {
        if c < 0.0 {
            (f64::NEG_INFINITY, f64::INFINITY)
        } else {
            return None;
        }
    } else {
        let disc = b * b - a * c;
        if disc <= 0.0 || disc.is_nan() {
            // The closest approach is at or beyond the minimum: at most touching.
            return None;
        }
        let sq = disc.sqrt();
        // The root of larger magnitude first, the other from the product c / a: no cancellation.
        let q = if b >= 0.0 { -(b + sq) } else { sq - b };
        let (r1, r2) = (q / a, c / q);
        (r1.min(r2), r1.max(r2))
    };
    let (v_lo, v_hi) = if g.dvz_mps == 0.0 {
        if g.dz_m.abs() < v_sep_m {
            (f64::NEG_INFINITY, f64::INFINITY)
        } else {
            return None;
        }
    } else {
        let t1 = (-v_sep_m - g.dz_m) / g.dvz_mps;
        let t2 = (v_sep_m - g.dz_m) / g.dvz_mps;
        (t1.min(t2), t1.max(t2))
    };
    let lo = h_lo.max(v_lo);
    let hi = h_hi.min(v_hi);
    // (lo, hi) ∩ [0, T] is non-empty iff lo < hi, hi > 0 and lo < T.
    if !(lo < hi && hi > 0.0 && lo < lookahead_s) {
        return None;
    }
    let t_in_s = lo.max(0.0);
    let t_out_s = hi.min(lookahead_s);
    let t_star = if a > 0.0 {
        (-b / a).clamp(t_in_s, t_out_s)
    } else {
        t_in_s
    };
    // Plain square root rather than `hypot`: the operands are far from overflow or underflow
    // (metres up to thousands of kilometres) and `hypot` costs several times more.
    let (hx, hy) = (px + vx * t_star, py + vy * t_star);
    let h_min_m = (hx * hx + hy * hy).sqrt();
    Some(ConflictWindow {
        t_in_s,
        t_out_s,
        h_min_m,
    })
}

/// An aircraft state turned into the vectors the geometry needs: ground point and normal in ECEF,
/// horizontal velocity in ECEF, altitude and vertical rate. Computed once per track per cycle.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kin {
    /// ECEF of the point on the ellipsoid below the aircraft, metres.
    pub(crate) x: Vec3,
    /// Unit ellipsoid normal there.
    pub(crate) up: Vec3,
    /// Horizontal velocity in ECEF, m/s (orthogonal to `up`).
    pub(crate) v: Vec3,
    /// Ground speed, m/s (the norm of `v`, as reported).
    pub(crate) gs: f64,
    /// Altitude, metres.
    pub(crate) z: f64,
    /// Vertical rate, m/s.
    pub(crate) vz: f64,
}

impl Kin {
    pub(crate) fn new(s: &AircraftState) -> Self {
        let p = s.position();
        let frame = EnuFrame::at(p.lat_deg().to_radians(), p.lon_deg().to_radians());
        let [ve, vn, vz] = s.velocity().enu_mps();
        Self {
            x: frame.origin_ecef_m(),
            up: frame.up(),
            v: frame.vector_to_ecef([ve, vn, 0.0]),
            gs: s.velocity().gs_mps(),
            z: p.alt_m(),
            vz,
        }
    }
}

/// Two unit vectors completing the unit vector `n` to a right-handed orthonormal basis, without a
/// singular direction (Duff et al., "Building an Orthonormal Basis, Revisited", JCGT 6(1), 2017).
pub(crate) fn basis_around(n: Vec3) -> (Vec3, Vec3) {
    let sign = 1.0_f64.copysign(n[2]);
    let a = -1.0 / (sign + n[2]);
    let b = n[0] * n[1] * a;
    (
        [1.0 + sign * n[0] * n[0] * a, sign * b, -sign * n[0]],
        [b, sign + n[1] * n[1] * a, -n[1]],
    )
}

/// Horizontal velocity `v` (norm `gs`) expressed in the plane spanned by `u1`, `u2`, rescaled so
/// that its norm stays the ground speed (the tilt between the aircraft's own horizontal and the
/// pair plane would otherwise shorten it slightly).
fn in_plane(v: Vec3, gs: f64, u1: Vec3, u2: Vec3) -> [f64; 2] {
    let (x, y) = (dot(v, u1), dot(v, u2));
    let len = (x * x + y * y).sqrt();
    if len > 0.0 {
        [x * gs / len, y * gs / len]
    } else {
        [0.0, 0.0]
    }
}

/// The pair frame of the module documentation: horizontal axes `u1` (along the chord) and `u2`.
pub(crate) fn pair_axes(a: &Kin, b: &Kin) -> (f64, Vec3, Vec3) {
    let c = sub(b.x, a.x);
    let chord_m = norm(c);
    let m = add(a.up, b.up);
    if chord_m > 0.0 {
        let u1 = scale(c, 1.0 / chord_m);
        let mp = sub(m, scale(u1, dot(m, u1)));
        let len = norm(mp);
        let n = if len > 1e-9 {
            scale(mp, 1.0 / len)
        } else {
            // Antipodal points: any plane containing the chord will do.
            basis_around(u1).0
        };
        (chord_m, u1, cross(n, u1))
    } else {
        let n = scale(m, 1.0 / norm(m));
        let (u1, u2) = basis_around(n);
        (0.0, u1, u2)
    }
}

pub(crate) fn geometry(a: &Kin, b: &Kin) -> EncounterGeometry {
    let (chord_m, u1, u2) = pair_axes(a, b);
    let va = in_plane(a.v, a.gs, u1, u2);
    let vb = in_plane(b.v, b.gs, u1, u2);
    EncounterGeometry {
        rel_pos_m: [chord_m, 0.0],
        rel_vel_mps: [vb[0] - va[0], vb[1] - va[1]],
        dz_m: b.z - a.z,
        dvz_mps: b.vz - a.vz,
    }
}

/// The narrow phase on precomputed states. The chord test first is not a filter that changes the
/// answer: in the pair frame the horizontal distance now is the chord and it closes at most at
/// gs_a + gs_b, so a pair farther apart than h_sep + (gs_a + gs_b)·T can never be inside.
pub(crate) fn narrow(a: &Kin, b: &Kin, config: &ProbeConfig) -> Option<ConflictWindow> {
    let reach_m = config.h_sep_m() + (a.gs + b.gs) * config.lookahead_s();
    let d = sub(b.x, a.x);
    if dot(d, d) >= reach_m * reach_m {
        return None;
    }
    geometry(a, b).conflict(config)
}

/// The horizontal distance now between two states as the engine measures it (the chord between
/// their ground points), metres.
#[must_use]
pub fn h_dist_m(a: &AircraftState, b: &AircraftState) -> f64 {
    norm(sub(Kin::new(b).x, Kin::new(a).x))
}

/// The conflict window of one pair (the narrow phase alone), with the pair frame built from `a`
/// and `b` in that order.
#[must_use]
pub fn pair_conflict(
    a: &AircraftState,
    b: &AircraftState,
    config: &ProbeConfig,
) -> Option<ConflictWindow> {
    narrow(&Kin::new(a), &Kin::new(b), config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(
        p: [f64; 2],
        v: [f64; 2],
        dz: f64,
        dvz: f64,
        h: f64,
        vs: f64,
        t: f64,
    ) -> Option<ConflictWindow> {
        conflict_window(
            &EncounterGeometry::from_relative(p, v, dz, dvz).unwrap(),
            h,
            vs,
            t,
        )
    }

    #[test]
    fn head_on_level() {
        // 20 km apart closing at 200 m/s, 5 km minimum: inside from t = 75 s to 125 s, h_min 0 at 100 s.
        let w = window(
            [20_000.0, 0.0],
            [-200.0, 0.0],
            0.0,
            0.0,
            5000.0,
            300.0,
            300.0,
        )
        .unwrap();
        assert_eq!((w.t_in_s(), w.t_out_s(), w.h_min_m()), (75.0, 125.0, 0.0));
        // Clipped by the lookahead.
        let w = window(
            [20_000.0, 0.0],
            [-200.0, 0.0],
            0.0,
            0.0,
            5000.0,
            300.0,
            100.0,
        )
        .unwrap();
        assert_eq!((w.t_in_s(), w.t_out_s()), (75.0, 100.0));
        assert_eq!(w.h_min_m(), 0.0);
    }

    #[test]
    fn touching_is_not_inside() {
        // Passes at exactly h_sep: discriminant zero.
        assert_eq!(
            window(
                [-1000.0, 5000.0],
                [100.0, 0.0],
                0.0,
                0.0,
                5000.0,
                300.0,
                100.0
            ),
            None
        );
        // Level exactly v_sep apart.
        assert_eq!(
            window([0.0, 0.0], [0.0, 0.0], 300.0, 0.0, 5000.0, 300.0, 100.0),
            None
        );
        // Leaves the horizontal minimum exactly at t = 0.
        assert_eq!(
            window([5000.0, 0.0], [10.0, 0.0], 0.0, 0.0, 5000.0, 300.0, 100.0),
            None
        );
        // Enters exactly at t = lookahead.
        assert_eq!(
            window([6000.0, 0.0], [-10.0, 0.0], 0.0, 0.0, 5000.0, 300.0, 100.0),
            None
        );
        // Enters just before the lookahead.
        let w = window([6000.0, 0.0], [-10.0, 0.0], 0.0, 0.0, 5000.0, 300.0, 100.5).unwrap();
        assert_eq!(
            (w.t_in_s(), w.t_out_s(), w.h_min_m()),
            (100.0, 100.5, 4995.0)
        );
    }

    #[test]
    fn zero_relative_velocity() {
        let w = window([100.0, 0.0], [0.0, 0.0], 10.0, 0.0, 5000.0, 300.0, 60.0).unwrap();
        assert_eq!((w.t_in_s(), w.t_out_s(), w.h_min_m()), (0.0, 60.0, 100.0));
        assert_eq!(
            window([5000.0, 0.0], [0.0, 0.0], 0.0, 0.0, 5000.0, 300.0, 60.0),
            None
        );
    }

    #[test]
    fn vertical_interval_limits_the_window() {
        // Co-located horizontally, b 1000 m above descending at 10 m/s; v_sep 300:
        // |1000 − 10 t| < 300 for t in (70, 130).
        let w = window([0.0, 0.0], [0.0, 0.0], 1000.0, -10.0, 5000.0, 300.0, 120.0).unwrap();
        assert_eq!((w.t_in_s(), w.t_out_s(), w.h_min_m()), (70.0, 120.0, 0.0));
    }

    #[test]
    fn diverging_never_conflicts() {
        assert_eq!(
            window([6000.0, 0.0], [1.0, 0.0], 0.0, 0.0, 5000.0, 300.0, 1e6),
            None
        );
    }

    #[test]
    fn orthonormal_basis_everywhere() {
        for n in [
            [0.0, 0.0, 1.0],
            [0.0, 0.0, -1.0],
            [1.0, 0.0, 0.0],
            [0.6, 0.0, -0.8],
            [0.48, 0.6, 0.64],
        ] {
            let (a, b) = basis_around(n);
            assert!((norm(a) - 1.0).abs() < 1e-12 && (norm(b) - 1.0).abs() < 1e-12);
            assert!(dot(a, b).abs() < 1e-12 && dot(a, n).abs() < 1e-12 && dot(b, n).abs() < 1e-12);
        }
    }
}
