//! Coordinated maneuver advice for a pair of aircraft in conflict: each side's guidance bands
//! against the other, and suggested senses chosen so that the two maneuvers are complementary —
//! one climbs while the other descends, and each turns so as to widen the predicted miss
//! distance (in a head-on encounter, both turn right).
//!
//! The choice depends only on data both parties see (the two aircraft states, their names and
//! the configuration), and [`coordinate`] gives the same pairing whichever side calls it and in
//! whichever order the two aircraft are given, so that each side computes the same advice
//! offline from the record. It is a pure function: no clock, no I/O, no memory of earlier steps.
//!
//! Senses:
//! - vertical: the higher aircraft climbs, the lower descends (equal altitudes within
//!   [`LEVEL_TOLERANCE_M`]: the one whose name sorts first climbs); when the bands leave no
//!   climb to the climber or no descent to the descender while the opposite pairing has both,
//!   the pairing is swapped;
//! - horizontal: each aircraft turns the way that widens the predicted horizontal miss
//!   distance (to first order), so that each turn alone and both
//!   together open it; on a collision course (no miss, within [`AHEAD_SIN_MAX`]) both widen it
//!   the same conventional way: both turn right when head-on, and the overtaking aircraft turns
//!   right while the overtaken turns left.

use crate::alerting::Frame;
use crate::bands::{Intruder, Own, StepBands, bands_once};
use crate::conf::Config;
use crate::encounter::AircraftState;
use crate::geom::Vec3;

/// Altitude difference below which two aircraft count as level with each other, m.
pub const LEVEL_TOLERANCE_M: f64 = 0.3048;

/// Vertical sense of a suggestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vertical {
    /// Climb.
    Climb,
    /// Descend.
    Descend,
}

/// Turn sense of a suggestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Turn right (clockwise seen from above).
    Right,
    /// Turn left.
    Left,
}

/// The suggestion for one aircraft.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// Aircraft name.
    pub aircraft: String,
    /// Vertical sense.
    pub vertical: Vertical,
    /// Altitude to reach in that sense (the altitude resolution), m; `None` when the bands give
    /// no conflict-free altitude that way (or no conflict at all).
    pub altitude_m: Option<f64>,
    /// Turn sense.
    pub turn: Turn,
    /// Direction to reach in that sense (the direction resolution), rad from true north; `None`
    /// when the bands give none that way (or no conflict at all).
    pub direction_rad: Option<f64>,
    /// This aircraft's bands against the other.
    pub bands: StepBands,
}

impl Suggestion {
    /// The suggestion in English, e.g. "climb to FL300 or above; turn right to 210° or more".
    /// Rendering in another language uses the structured fields instead.
    pub fn phrase(&self) -> String {
        let vertical = match (self.vertical, self.altitude_m) {
            (Vertical::Climb, Some(a)) => format!("climb to {} or above", flight_level(a)),
            (Vertical::Descend, Some(a)) => format!("descend to {} or below", flight_level(a)),
            (Vertical::Climb, None) => "climb".to_string(),
            (Vertical::Descend, None) => "descend".to_string(),
        };
        let (sense, more) = match self.turn {
            Turn::Right => ("right", "or more"),
            Turn::Left => ("left", "or less"),
        };
        let horizontal = match self.direction_rad {
            Some(d) => format!("turn {sense} to {:03.0}° {more}", d.to_degrees()),
            None => format!("turn {sense}"),
        };
        format!("{vertical}; {horizontal}")
    }
}

fn flight_level(alt_m: f64) -> String {
    format!("FL{:03.0}", (alt_m / crate::units::FT_M / 100.0).round())
}

/// Advice for a pair: the suggestion for each aircraft, in the order they were given.
#[derive(Debug, Clone, PartialEq)]
pub struct Advice {
    /// For the first aircraft given (`own`).
    pub own: Suggestion,
    /// For the second (`other`).
    pub other: Suggestion,
}

/// Why no advice can be given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdviceError {
    /// The two aircraft have the same name: the pairing could not be told apart.
    SameName,
    /// One is geodetic and the other Euclidean.
    DifferentFrames,
}

impl std::fmt::Display for AdviceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdviceError::SameName => write!(f, "both aircraft have the same name"),
            AdviceError::DifferentFrames => {
                write!(f, "one aircraft is geodetic and the other Euclidean")
            }
        }
    }
}

impl std::error::Error for AdviceError {}

/// Below this, relative to the product of the range and the closure speed, the predicted miss
/// is taken as zero (a collision course: 1 cm at 10 km), and the senses follow the convention
/// for head-on traffic instead of rounding noise of the projection.
pub const AHEAD_SIN_MAX: f64 = 1e-6;

/// Relative speeds below this, m/s, do not define a miss distance: each aircraft turns away
/// from the other's line of sight instead (as when they are separating).
const CLOSURE_MPS_MIN: f64 = 1e-3;

/// Sense of turn that rotates velocity `v` away from the line of sight `los` (to the other);
/// right when straight ahead.
fn turn_away(v: Vec3, los: Vec3) -> Turn {
    // det(v, los) > 0: the other is to the left of the velocity.
    let det = v.x * los.y - v.y * los.x;
    if det >= -AHEAD_SIN_MAX * v.x.hypot(v.y) * los.x.hypot(los.y) {
        Turn::Right
    } else {
        Turn::Left
    }
}

/// The turn senses of `a` and `b` (positions `sa`, `sb`, ground velocities `va`, `vb` in one
/// plane) that widen the predicted horizontal miss distance, each on its own and so together.
///
/// With `s` = sb − sa and `v` = vb − va, the signed miss is m = (s × v) / |v|. Turning an
/// aircraft's velocity u right by dε moves it by dε·w, w = (u_y, −u_x); for `a` the relative
/// velocity moves by −dε·w and dm/dε = (s·u)/|v| + (s × v)(v·w)/|v|³; for `b`, the same with
/// s, v seen from `b` (both negated, so s × v is the same). Each aircraft turns the way that
/// moves m away from zero; on a collision course (m ≈ 0) both move it the same conventional
/// way, which is right for both when head-on. Separating aircraft each turn away from the
/// other's line of sight, which makes the range grow faster.
fn turns(sa: Vec3, va: Vec3, sb: Vec3, vb: Vec3) -> (Turn, Turn) {
    let (s, v) = (sb - sa, vb - va);
    let vv = v.x * v.x + v.y * v.y;
    // Separating (the closest approach is now) or keeping the range: turning away from the
    // other's line of sight makes each one's range rate grow.
    if vv.sqrt() < CLOSURE_MPS_MIN || s.x * v.x + s.y * v.y >= 0.0 {
        return (turn_away(va, sb - sa), turn_away(vb, sa - sb));
    }
    let c = s.x * v.y - s.y * v.x;
    let sigma = if c.abs() <= AHEAD_SIN_MAX * s.x.hypot(s.y) * vv.sqrt() {
        1.0
    } else {
        c.signum()
    };
    // dm/dε for a right turn, times |v|³ (positive), for an aircraft with velocity `u`, the
    // other at `s_own` from it and relative velocity `v_own` (the other's minus its own).
    let gain = |s_own: Vec3, v_own: Vec3, u: Vec3| {
        let w = Vec3::new(u.y, -u.x, 0.0);
        (s_own.x * u.x + s_own.y * u.y) * vv + c * (v_own.x * w.x + v_own.y * w.y)
    };
    let sense = |g: f64| {
        if g * sigma >= 0.0 {
            Turn::Right
        } else {
            Turn::Left
        }
    };
    (sense(gain(s, v, va)), sense(gain(sa - sb, va - vb, vb)))
}

/// Coordinated advice for `own` and `other` (ground velocities; no wind), from `config`'s
/// alerters and bands parameters. Symmetric: `coordinate(b, a)` gives the same suggestions as
/// `coordinate(a, b)`, swapped.
pub fn coordinate(
    own: &AircraftState,
    other: &AircraftState,
    config: &Config,
) -> Result<Advice, AdviceError> {
    if own.id == other.id {
        return Err(AdviceError::SameName);
    }
    // Work in the frame of the aircraft whose name sorts first, so that both sides compute the
    // same numbers.
    let swapped = other.id < own.id;
    let (a, b) = if swapped { (other, own) } else { (own, other) };
    let frame = Frame::new(a);
    if !frame.accepts(b) {
        return Err(AdviceError::DifferentFrames);
    }
    let zero = Vec3::default();
    let (Some((sa, va)), Some((sb, vb))) = (frame.state(a, zero), frame.state(b, zero)) else {
        return Err(AdviceError::DifferentFrames);
    };
    let bands_of = |id: &str,
                    alerter: Option<u32>,
                    s: Vec3,
                    v: Vec3,
                    o: &AircraftState,
                    os: Vec3,
                    ov: Vec3| {
        bands_once(
            config,
            id,
            alerter.unwrap_or(1),
            Own { s, v },
            &[Intruder {
                id: o.id.clone(),
                s: os,
                v: ov,
                alerter: o.alerter.unwrap_or(1),
            }],
        )
    };
    let ba = bands_of(&a.id, a.alerter, sa, va, b, sb, vb);
    let bb = bands_of(&b.id, b.alerter, sb, vb, a, sa, va);
    // Vertical pairing.
    let a_climbs_default = if (sa.z - sb.z).abs() <= LEVEL_TOLERANCE_M {
        true
    } else {
        sa.z > sb.z
    };
    let alt = 3;
    let has = |bands: &StepBands, up: bool| {
        let k = &bands.kinds[alt];
        let r = if up {
            k.resolution_up
        } else {
            k.resolution_low
        };
        !(r.is_infinite())
    };
    let fits = |a_climbs: bool| has(&ba, a_climbs) && has(&bb, !a_climbs);
    let a_climbs = if !fits(a_climbs_default) && fits(!a_climbs_default) {
        !a_climbs_default
    } else {
        a_climbs_default
    };
    let suggestion = |id: &str, bands: StepBands, climbs: bool, turn: Turn| {
        let k_alt = &bands.kinds[alt];
        let altitude = if climbs {
            k_alt.resolution_up
        } else {
            k_alt.resolution_low
        };
        let k_dir = &bands.kinds[0];
        let direction = match turn {
            Turn::Right => k_dir.resolution_up,
            Turn::Left => k_dir.resolution_low,
        };
        Suggestion {
            aircraft: id.to_string(),
            vertical: if climbs {
                Vertical::Climb
            } else {
                Vertical::Descend
            },
            altitude_m: altitude.is_finite().then_some(altitude),
            turn,
            direction_rad: direction.is_finite().then_some(direction),
            bands,
        }
    };
    let (turn_a, turn_b) = turns(sa, va, sb, vb);
    let sug_a = suggestion(&a.id, ba, a_climbs, turn_a);
    let sug_b = suggestion(&b.id, bb, !a_climbs, turn_b);
    Ok(if swapped {
        Advice {
            own: sug_b,
            other: sug_a,
        }
    } else {
        Advice {
            own: sug_a,
            other: sug_b,
        }
    })
}
