//! Conflict detectors: the time interval, within the lookahead, during which two aircraft flying
//! straight at constant velocity violate a separation volume.
//!
//! - [`WcvTaumod`]: the DO-365 DAA well-clear (DWC) volume (DAIDALUS
//!   `WCV_TAUMOD`): horizontal distance within DTHR, or modified tau within TTHR while the
//!   distance at horizontal closest approach is within DTHR; and vertical separation within ZTHR,
//!   or time to co-altitude within TCOA while converging. With TCOA = 20 s and DTHR = 1 nmi these
//!   are the "buffered" DWC thresholds of SC-228.
//! - [`Cylinder`]: the CD3D cylinder (DAIDALUS `CDCylinder`): horizontal distance below D and
//!   vertical distance below H.
//! - [`crate::tcas::detect`] with a [`crate::tcas::TcasTable`]: the idealised TCAS II resolution-advisory logic (DAIDALUS `TCAS3D`).
//!
//! Interval arithmetic follows DAIDALUS's formally verified algorithms, including where they
//! compare with [`almost_equals`] rather than `==`, so that alert decisions at boundaries agree.

use crate::geom::{Vec2, Vec3, almost_equals, almost_less, root2b};

/// Raw result of a detector over the time window `[0, lookahead]`: a (possibly empty) time interval
/// of loss. Empty intervals keep their raw bounds, as DAIDALUS compares them when deciding
/// "conflict before the alerting time"; read them through the methods.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loss {
    time_in_s: f64,
    time_out_s: f64,
}

impl Loss {
    pub(crate) fn new(time_in_s: f64, time_out_s: f64) -> Self {
        Self {
            time_in_s,
            time_out_s,
        }
    }

    /// True when the interval is not empty (`time_in < time_out`, not almost equal).
    pub fn is_conflict(&self) -> bool {
        almost_less(self.time_in_s, self.time_out_s)
    }

    /// True when the loss starts before `t_s` (or now): the alerting-time test of DO-365 alert levels.
    pub fn is_conflict_before(&self, t_s: f64) -> bool {
        (self.time_in_s == 0.0 || almost_less(self.time_in_s, t_s)) && self.is_conflict()
    }

    /// Time to loss of separation, seconds from now; `None` when there is no loss in the window.
    pub fn time_in_s(&self) -> Option<f64> {
        self.is_conflict().then_some(self.time_in_s)
    }

    /// Time the loss ends (clipped to the lookahead); `None` when there is no loss in the window.
    pub fn time_out_s(&self) -> Option<f64> {
        self.is_conflict().then_some(self.time_out_s)
    }
}

/// Positions and velocities of ownship and intruder in the same local frame (m, m/s).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairState {
    /// Ownship position.
    pub so: Vec3,
    /// Ownship velocity.
    pub vo: Vec3,
    /// Intruder position.
    pub si: Vec3,
    /// Intruder velocity.
    pub vi: Vec3,
}

impl PairState {
    /// Relative position, ownship minus intruder.
    pub fn s(&self) -> Vec3 {
        self.so - self.si
    }
    /// Relative velocity, ownship minus intruder.
    pub fn v(&self) -> Vec3 {
        self.vo - self.vi
    }
    /// Both aircraft flown straight for `t` seconds.
    pub fn at(&self, t: f64) -> Self {
        Self {
            so: self.so.linear(self.vo, t),
            vo: self.vo,
            si: self.si.linear(self.vi, t),
            vi: self.vi,
        }
    }
}

/// DO-365 well-clear thresholds for the modified-tau (TAUMOD) detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WcvTaumod {
    dthr_m: f64,
    zthr_m: f64,
    tthr_s: f64,
    tcoa_s: f64,
}

impl WcvTaumod {
    /// Thresholds: DTHR and ZTHR in metres, TTHR and TCOA in seconds; `None` unless all are finite
    /// and non-negative.
    pub fn new(dthr_m: f64, zthr_m: f64, tthr_s: f64, tcoa_s: f64) -> Option<Self> {
        [dthr_m, zthr_m, tthr_s, tcoa_s]
            .iter()
            .all(|x| x.is_finite() && *x >= 0.0)
            .then_some(Self {
                dthr_m,
                zthr_m,
                tthr_s,
                tcoa_s,
            })
    }

    /// Horizontal distance threshold, m.
    pub fn dthr_m(&self) -> f64 {
        self.dthr_m
    }

    /// Vertical distance threshold, m.
    pub fn zthr_m(&self) -> f64 {
        self.zthr_m
    }

    /// Modified tau threshold, s.
    pub fn tthr_s(&self) -> f64 {
        self.tthr_s
    }

    /// Time to co-altitude threshold, s.
    pub fn tcoa_s(&self) -> f64 {
        self.tcoa_s
    }

    /// Modified tau, seconds, of relative horizontal state `s`, `v`, when converging:
    /// (DTHR² − |s|²) / (s·v). `None` when not converging.
    pub fn horizontal_tau_mod_s(&self, s: Vec2, v: Vec2) -> Option<f64> {
        let sdotv = s.dot(v);
        (sdotv < 0.0).then(|| (self.dthr_m * self.dthr_m - s.sqv()) / sdotv)
    }

    fn horizontal_wcv(&self, s: Vec2, v: Vec2) -> bool {
        if s.norm() <= self.dthr_m {
            return true;
        }
        if dcpa(s, v) <= self.dthr_m {
            return self
                .horizontal_tau_mod_s(s, v)
                .is_some_and(|t| t <= self.tthr_s);
        }
        false
    }

    /// Vertical time interval of violation within [b, t] (DAIDALUS `WCV_TCOA`): `None` when empty.
    fn vertical_interval(&self, b: f64, t: f64, sz: f64, vz: f64) -> Option<(f64, f64)> {
        if almost_equals(vz, 0.0) {
            return (sz.abs() <= self.zthr_m).then_some((b, t));
        }
        let act_h = self.zthr_m.max(vz.abs() * self.tcoa_s);
        let tentry = theta_h(sz, vz, -1.0, act_h);
        let texit = theta_h(sz, vz, 1.0, self.zthr_m);
        if t < tentry || texit < b {
            return None;
        }
        Some((b.max(tentry), t.min(texit)))
    }

    /// Horizontal interval of violation within [0, t] for relative state `s`, `v`.
    fn horizontal_interval(&self, t: f64, s: Vec2, v: Vec2) -> Loss {
        let none = Loss::new(t, 0.0);
        let sqs = s.sqv();
        let sdotv = s.dot(v);
        let sq_d = self.dthr_m * self.dthr_m;
        let a = v.sqv();
        let b = 2.0 * sdotv + self.tthr_s * a;
        let c = sqs + self.tthr_s * sdotv - sq_d;
        if almost_equals(a, 0.0) && sqs <= sq_d {
            return Loss::new(0.0, t);
        }
        let exit = |t: f64| theta_d(s, v, 1.0, self.dthr_m).map(|x| t.min(x));
        if sqs <= sq_d {
            return match exit(t) {
                Some(out) => Loss::new(0.0, out),
                None => none,
            };
        }
        let discr = b * b - 4.0 * a * c;
        if sdotv >= 0.0 || discr < 0.0 {
            return none;
        }
        let t_in = (-b - discr.sqrt()) / (2.0 * a);
        if delta(s, v, self.dthr_m) >= 0.0
            && t_in <= t
            && let Some(out) = exit(t)
        {
            return Loss::new(t_in.max(0.0), out);
        }
        none
    }

    /// Interval of well-clear violation within `[0, lookahead_s]`.
    pub fn detect(&self, p: &PairState, lookahead_s: f64) -> Loss {
        let (b, t) = (0.0, lookahead_s);
        let s = p.s();
        let v = p.v();
        let (s2, v2) = (s.xy(), v.xy());
        let Some((lo, up)) = self.vertical_interval(b, t, s.z, v.z) else {
            return Loss::new(t, b);
        };
        if lo > up {
            return Loss::new(t, b);
        }
        let step = v2.scal_add(lo, s2);
        if almost_equals(lo, up) {
            return if self.horizontal_wcv(step, v2) {
                Loss::new(lo, up)
            } else {
                Loss::new(t, b)
            };
        }
        let h = self.horizontal_interval(up - lo, step, v2);
        Loss::new(h.time_in_s + lo, h.time_out_s + lo)
    }
}

/// The CD3D cylinder: loss when horizontal distance < D and vertical distance < H.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cylinder {
    d_m: f64,
    h_m: f64,
}

impl Cylinder {
    /// Cylinder of radius `d_m` and half-height `h_m`; `None` unless both are finite and positive.
    pub fn new(d_m: f64, h_m: f64) -> Option<Self> {
        (d_m.is_finite() && h_m.is_finite() && d_m > 0.0 && h_m > 0.0).then_some(Self { d_m, h_m })
    }

    /// Radius, m.
    pub fn d_m(&self) -> f64 {
        self.d_m
    }

    /// Half-height, m.
    pub fn h_m(&self) -> f64 {
        self.h_m
    }

    /// Interval of loss within `[0, lookahead_s]` (DAIDALUS `CD3D::detection`).
    pub fn detect(&self, p: &PairState, lookahead_s: f64) -> Loss {
        let (b, t) = (0.0, lookahead_s);
        let (d, h) = (self.d_m, self.h_m);
        let s = p.s();
        let s2 = s.xy();
        let (vo2, vi2) = (p.vo.xy(), p.vi.xy());
        let vz = p.vo.z - p.vi.z;
        let vertical_moving = !almost_equals(p.vo.z, p.vi.z);
        let mut t_in = t + 1.0;
        let mut t_out = b;
        if vo2.almost_equals(vi2) && almost_horizontal_los(s2, d) {
            if vertical_moving {
                t_in = theta_h(s.z, vz, -1.0, h).max(b).min(t);
                t_out = theta_h(s.z, vz, 1.0, h).min(t).max(b);
            } else if almost_vertical_los(s.z, h) {
                t_in = b;
                t_out = t;
            }
        } else {
            let v2 = vo2 - vi2;
            if delta(s2, v2, d) > 0.0
                && let (Some(td1), Some(td2)) = (theta_d(s2, v2, -1.0, d), theta_d(s2, v2, 1.0, d))
            {
                if vertical_moving {
                    let tin = td1.max(theta_h(s.z, vz, -1.0, h));
                    let tout = td2.min(theta_h(s.z, vz, 1.0, h));
                    t_in = tin.max(b).min(t);
                    t_out = tout.min(t).max(b);
                } else if almost_vertical_los(s.z, h) {
                    t_in = td1.max(b).min(t);
                    t_out = td2.min(t).max(b);
                }
            }
        }
        Loss::new(t_in, t_out)
    }
}

/// Time of horizontal closest approach; `None` when the relative velocity is zero.
pub fn tcpa(s: Vec2, v: Vec2) -> Option<f64> {
    (v.sqv() != 0.0).then(|| -s.dot(v) / v.sqv())
}

/// Horizontal distance at closest approach (the current distance when not moving relative).
pub fn dcpa(s: Vec2, v: Vec2) -> f64 {
    match tcpa(s, v) {
        Some(t) => v.scal_add(t, s).norm(),
        None => s.norm(),
    }
}

/// Horizontal miss distance within the lookahead `t`.
pub fn hmd(s: Vec2, v: Vec2, t: f64) -> f64 {
    let tc = if s.dot(v) < 0.0 {
        tcpa(s, v).map_or(0.0, |x| x.min(t))
    } else {
        0.0
    };
    v.scal_add(tc, s).norm()
}

/// Vertical miss distance within the lookahead `t`.
pub fn vmd(sz: f64, vz: f64, t: f64) -> f64 {
    if sz * vz < 0.0 {
        if time_coalt(sz, vz).is_some_and(|tc| tc <= t) {
            0.0
        } else {
            (sz + t * vz).abs()
        }
    } else {
        sz.abs()
    }
}

/// Time to co-altitude: `None` without relative vertical speed (even when co-altitude now, as
/// DaidalusAlerting prints it), otherwise −sz/vz (0 when co-altitude now).
pub fn time_coalt(sz: f64, vz: f64) -> Option<f64> {
    if vz == 0.0 {
        None
    } else if sz == 0.0 {
        Some(0.0)
    } else {
        Some(-sz / vz)
    }
}

/// Times the relative horizontal track crosses the circle of radius `d` (`eps` −1 entry, +1 exit).
pub(crate) fn theta_d(s: Vec2, v: Vec2, eps: f64, d: f64) -> Option<f64> {
    root2b(v.sqv(), s.dot(v), s.sqv() - d * d, eps)
}

/// Discriminant of the circle crossing: ≥ 0 when the relative track meets the circle of radius `d`.
pub(crate) fn delta(s: Vec2, v: Vec2, d: f64) -> f64 {
    d * d * v.sqv() - s.det(v).powi(2)
}

/// Time the relative altitude crosses ±`h` (`eps` −1 entry, +1 exit); requires `vz ≠ 0`.
pub(crate) fn theta_h(sz: f64, vz: f64, eps: f64, h: f64) -> f64 {
    let sign = if vz >= 0.0 { 1.0 } else { -1.0 };
    (eps * sign * h - sz) / vz
}

fn almost_horizontal_los(s: Vec2, d: f64) -> bool {
    let (sqs, sqd) = (s.sqv(), d * d);
    !almost_equals(sqs, sqd) && sqs < sqd
}

fn almost_vertical_los(sz: f64, h: f64) -> bool {
    !almost_equals(sz.abs(), h) && sz.abs() < h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_on(range_m: f64, closure_mps: f64, dz_m: f64) -> PairState {
        PairState {
            so: Vec3::new(0.0, 0.0, 1000.0),
            vo: Vec3::new(0.0, closure_mps / 2.0, 0.0),
            si: Vec3::new(0.0, range_m, 1000.0 + dz_m),
            vi: Vec3::new(0.0, -closure_mps / 2.0, 0.0),
        }
    }

    #[test]
    fn cylinder_head_on_enters_at_range_minus_radius_over_closure() {
        let cyl = Cylinder::new(1000.0, 100.0).unwrap();
        let loss = cyl.detect(&head_on(11_000.0, 100.0, 0.0), 300.0);
        assert!((loss.time_in_s().unwrap() - 100.0).abs() < 1e-9);
        assert!((loss.time_out_s().unwrap() - 120.0).abs() < 1e-9);
        // Vertically separated: no loss.
        assert_eq!(
            cyl.detect(&head_on(11_000.0, 100.0, 150.0), 300.0)
                .time_in_s(),
            None
        );
    }

    #[test]
    fn taumod_head_on_enters_when_tau_mod_reaches_tthr() {
        // DTHR 1000 m, TTHR 35 s, closure 100 m/s: the boundary is where
        // (D² − r²)/(−r·100) = 35, i.e. r² − 3500 r − D² = 0.
        let wcv = WcvTaumod::new(1000.0, 100.0, 35.0, 0.0).unwrap();
        let r = (3500.0 + (3500.0f64.powi(2) + 4.0 * 1e6).sqrt()) / 2.0;
        let loss = wcv.detect(&head_on(11_000.0, 100.0, 0.0), 300.0);
        let expected = (11_000.0 - r) / 100.0;
        assert!(
            (loss.time_in_s().unwrap() - expected).abs() < 1e-9,
            "{loss:?} vs {expected}"
        );
        assert!(loss.is_conflict_before(expected + 1.0));
        assert!(!loss.is_conflict_before(expected - 1.0));
    }

    #[test]
    fn diverging_aircraft_never_conflict() {
        let wcv = WcvTaumod::new(1200.0, 140.0, 35.0, 20.0).unwrap();
        let p = head_on(5000.0, -100.0, 0.0);
        assert_eq!(wcv.detect(&p, 180.0).time_in_s(), None);
        assert_eq!(
            Cylinder::new(1200.0, 140.0)
                .unwrap()
                .detect(&p, 180.0)
                .time_in_s(),
            None
        );
    }

    #[test]
    fn invalid_thresholds_are_rejected() {
        assert!(WcvTaumod::new(-1.0, 1.0, 1.0, 1.0).is_none());
        assert!(WcvTaumod::new(f64::NAN, 1.0, 1.0, 1.0).is_none());
        assert!(Cylinder::new(0.0, 1.0).is_none());
    }
}
