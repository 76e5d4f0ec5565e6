//! Ownship maneuvers the bands are computed over, in the ownship's local frame (m, m/s): a turn
//! at the configured turn rate (or bank angle), a horizontal or vertical acceleration, or a
//! climb/descent at the vertical rate that levels off at a target altitude; and, for
//! instantaneous bands, the same maneuver completed at once.

use crate::conf::BandsConfig;
use crate::geom::Vec3;
use crate::units::G_MPS2;

use super::Kind;

/// Compass angle of a velocity, rad in [0, 2π). A track a hair west of north (the round-off
/// of a projected northbound velocity) reads as north, as DAIDALUS reads it.
pub(crate) fn compass(v: Vec3) -> f64 {
    let two_pi = 2.0 * std::f64::consts::PI;
    let a = modulo(v.x.atan2(v.y), two_pi);
    if two_pi - a < NORTH_ROUND_OFF_RAD {
        0.0
    } else {
        a
    }
}

/// Directions within this of 360° are taken as 0°, rad.
const NORTH_ROUND_OFF_RAD: f64 = 1e-9;

/// `a` modulo `n` in [0, n) for n > 0; `a` itself when n = 0.
pub(crate) fn modulo(a: f64, n: f64) -> f64 {
    if n <= 0.0 {
        return a;
    }
    let r = a % n;
    let r = if r < 0.0 { r + n } else { r };
    if r >= n { 0.0 } else { r }
}

/// Horizontal speed.
pub(crate) fn gs(v: Vec3) -> f64 {
    v.xy().norm()
}

fn with_track(v: Vec3, trk: f64) -> Vec3 {
    let g = gs(v);
    Vec3::new(g * trk.sin(), g * trk.cos(), v.z)
}

fn with_gs(v: Vec3, speed: f64) -> Vec3 {
    let g = gs(v);
    if g == 0.0 {
        // Direction undefined: DAIDALUS uses north.
        return Vec3::new(0.0, speed, v.z);
    }
    Vec3::new(v.x * speed / g, v.y * speed / g, v.z)
}

/// The ownship state maneuvers start from, in its local frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Own {
    /// Position, m.
    pub s: Vec3,
    /// Air velocity, m/s.
    pub v: Vec3,
}

impl Own {
    /// The current value of a kind of band: direction (rad), speeds (m/s), altitude (m).
    pub(crate) fn value(&self, kind: Kind) -> f64 {
        match kind {
            Kind::Direction => compass(self.v),
            Kind::HorizontalSpeed => gs(self.v),
            Kind::VerticalSpeed => self.v.z,
            Kind::Altitude => self.s.z,
        }
    }
}

/// True when bands of this kind are instantaneous under `c`.
pub(crate) fn is_instantaneous(c: &BandsConfig, kind: Kind) -> bool {
    match kind {
        Kind::Direction => c.turn_rate_rps == 0.0 && c.bank_angle_rad == 0.0,
        Kind::HorizontalSpeed => c.horizontal_accel_mps2 == 0.0,
        Kind::VerticalSpeed => c.vertical_accel_mps2 == 0.0,
        Kind::Altitude => c.vertical_rate_mps == 0.0 || c.vertical_accel_mps2 == 0.0,
    }
}

/// Step of a kind of band in SI.
pub(crate) fn step(c: &BandsConfig, kind: Kind) -> f64 {
    match kind {
        Kind::Direction => c.step_hdir_rad,
        Kind::HorizontalSpeed => c.step_hs_mps,
        Kind::VerticalSpeed => c.step_vs_mps,
        Kind::Altitude => c.step_alt_m,
    }
}

/// Turn rate used for direction maneuvers at horizontal speed `gs`, rad/s.
fn turn_rate(c: &BandsConfig, gs: f64) -> f64 {
    if c.turn_rate_rps != 0.0 {
        c.turn_rate_rps
    } else if gs > 0.0 {
        G_MPS2 * c.bank_angle_rad.tan() / gs
    } else {
        0.0
    }
}

/// Time the kinematic maneuver takes to move the value by one step, s (altitude: 1 s).
/// `None` when it is not finite and positive (e.g. a bank angle at zero speed).
pub(crate) fn time_step(c: &BandsConfig, kind: Kind, own: &Own) -> Option<f64> {
    let t = match kind {
        Kind::Direction => c.step_hdir_rad / turn_rate(c, gs(own.v)),
        Kind::HorizontalSpeed => c.step_hs_mps / c.horizontal_accel_mps2,
        Kind::VerticalSpeed => c.step_vs_mps / c.vertical_accel_mps2,
        Kind::Altitude => 1.0,
    };
    (t.is_finite() && t > 0.0).then_some(t)
}

/// State after `t` seconds of the kinematic maneuver of `kind` (not altitude) towards
/// increasing values (`up`: right turn, acceleration, climb) or decreasing ones.
pub(crate) fn kinematic(c: &BandsConfig, kind: Kind, own: &Own, t: f64, up: bool) -> (Vec3, Vec3) {
    let sign = if up { 1.0 } else { -1.0 };
    let (s, v) = (own.s, own.v);
    match kind {
        Kind::Direction => {
            let g = gs(v);
            let omega = sign * turn_rate(c, g);
            if omega == 0.0 || g == 0.0 {
                return (s.linear(v, t), v);
            }
            let trk0 = compass(v);
            let trk = trk0 + omega * t;
            let r = g / omega;
            let pos = Vec3::new(
                s.x + r * (trk0.cos() - trk.cos()),
                s.y + r * (trk.sin() - trk0.sin()),
                s.z + v.z * t,
            );
            (pos, with_track(v, trk))
        }
        Kind::HorizontalSpeed => {
            let a = sign * c.horizontal_accel_mps2;
            let g = gs(v);
            let dist = g * t + 0.5 * a * t * t;
            let dir = if g == 0.0 {
                Vec3::new(0.0, 1.0, 0.0)
            } else {
                Vec3::new(v.x / g, v.y / g, 0.0)
            };
            let pos = Vec3::new(s.x + dir.x * dist, s.y + dir.y * dist, s.z + v.z * t);
            (pos, with_gs(v, g + a * t))
        }
        Kind::VerticalSpeed => {
            let a = sign * c.vertical_accel_mps2;
            let pos = Vec3::new(
                s.x + v.x * t,
                s.y + v.y * t,
                s.z + v.z * t + 0.5 * a * t * t,
            );
            (pos, Vec3::new(v.x, v.y, v.z + a * t))
        }
        Kind::Altitude => (s.linear(v, t), v),
    }
}

/// The maneuver of `kind` completed at once: `j` steps up or down (altitude: to `target`).
pub(crate) fn instantaneous(
    c: &BandsConfig,
    kind: Kind,
    own: &Own,
    up: bool,
    j: i64,
    target_alt: f64,
) -> (Vec3, Vec3) {
    let delta = if up { 1.0 } else { -1.0 } * j as f64 * step(c, kind);
    let (s, v) = (own.s, own.v);
    match kind {
        Kind::Direction => (s, with_track(v, compass(v) + delta)),
        Kind::HorizontalSpeed => (s, with_gs(v, gs(v) + delta)),
        Kind::VerticalSpeed => (s, Vec3::new(v.x, v.y, v.z + delta)),
        Kind::Altitude => (Vec3::new(s.x, s.y, target_alt), Vec3::new(v.x, v.y, 0.0)),
    }
}

/// Phases of a level-off maneuver to a target altitude: end of the acceleration to the
/// vertical rate, end of the constant-rate segment, level at the target.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LevelOff {
    z0: f64,
    vz0: f64,
    /// Direction towards the target: +1 climb, −1 descent.
    sense: f64,
    /// Acceleration along `sense` during the first phase.
    a1: f64,
    a: f64,
    /// Peak vertical speed along `sense`.
    peak: f64,
    pub t1: f64,
    pub t2: f64,
    pub t3: f64,
    target: f64,
}

impl LevelOff {
    /// Climb or descend from `own` at up to `rate` with acceleration `a` to level at `target`.
    pub fn new(own: &Own, rate: f64, a: f64, target: f64) -> Self {
        let z0 = own.s.z;
        let vz0 = own.v.z;
        let delta = target - z0;
        // Towards the target; at the target, against the current vertical speed.
        let sense = if delta > 0.0 || (delta == 0.0 && vz0 <= 0.0) {
            1.0
        } else {
            -1.0
        };
        let d = delta.abs();
        let u0 = sense * vz0;
        // Peak speed: the vertical rate, or less when the target is too close to reach it.
        let dist = |peak: f64| (u0 + peak) / 2.0 * (peak - u0).abs() / a + peak * peak / (2.0 * a);
        let peak = if u0 > rate {
            // Faster than the vertical rate: slow down to it first.
            rate
        } else if dist(rate) <= d {
            rate
        } else {
            // Too close to reach the vertical rate (or already too fast to stop in time).
            ((2.0 * a * d + u0 * u0) / 2.0).sqrt().max(u0)
        };
        let a1 = if peak >= u0 { a } else { -a };
        let t1 = (peak - u0).abs() / a;
        let cruise = if peak > 0.0 {
            ((d - dist(peak)).max(0.0)) / peak
        } else {
            0.0
        };
        let t2 = t1 + cruise;
        let t3 = t2 + peak.max(0.0) / a;
        Self {
            z0,
            vz0,
            sense,
            a1,
            a,
            peak,
            t1,
            t2,
            t3,
            target,
        }
    }

    /// Altitude and vertical speed after `t` seconds.
    pub fn at(&self, t: f64) -> (f64, f64) {
        let u0 = self.sense * self.vz0;
        let (dz, u) = if t <= self.t1 {
            (u0 * t + 0.5 * self.a1 * t * t, u0 + self.a1 * t)
        } else {
            let z1 = u0 * self.t1 + 0.5 * self.a1 * self.t1 * self.t1;
            if t <= self.t2 {
                (z1 + self.peak * (t - self.t1), self.peak)
            } else {
                let z2 = z1 + self.peak * (self.t2 - self.t1);
                let dt = (t.min(self.t3)) - self.t2;
                (
                    z2 + self.peak * dt - 0.5 * self.a * dt * dt,
                    self.peak - self.a * dt,
                )
            }
        };
        if t > self.t3 {
            return (self.target, 0.0);
        }
        (self.z0 + self.sense * dz, self.sense * u)
    }
}

/// State after `t` seconds of the level-off maneuver `lo` (positions flown straight horizontally).
pub(crate) fn level_off_state(own: &Own, lo: &LevelOff, t: f64) -> (Vec3, Vec3) {
    let (z, vz) = lo.at(t);
    (
        Vec3::new(own.s.x + own.v.x * t, own.s.y + own.v.y * t, z),
        Vec3::new(own.v.x, own.v.y, vz),
    )
}
