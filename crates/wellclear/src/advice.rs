//! Coordinated maneuver advice for a pair of aircraft in conflict: each side's guidance bands
//! against the other, and suggested senses chosen so that the two maneuvers are complementary —
//! one climbs while the other descends, and each turns away from the other (in a head-on
//! encounter, both turn right).
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
//! - horizontal: each aircraft turns away from the line of sight to the other (right when the
//!   other is ahead on its left or straight ahead — within [`AHEAD_SIN_MAX`] — left when on
//!   its right).

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

/// Sine of the angle between the track and the line of sight below which the other counts as
/// straight ahead (or behind): a lateral offset of 1 cm at 10 km. Within it the sense would
/// follow rounding noise of the projection, so it is right, as for head-on traffic.
pub const AHEAD_SIN_MAX: f64 = 1e-6;

/// Sense of turn that rotates velocity `v` away from the line of sight `los` (to the other).
fn turn_away(v: Vec3, los: Vec3) -> Turn {
    // det(v, los) > 0: the other is to the left of the velocity.
    let det = v.x * los.y - v.y * los.x;
    let scale = v.x.hypot(v.y) * los.x.hypot(los.y);
    // The other on the left, or straight ahead: right.
    if det >= -AHEAD_SIN_MAX * scale {
        Turn::Right
    } else {
        Turn::Left
    }
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
    let sug_a = suggestion(&a.id, ba, a_climbs, turn_away(va, sb - sa));
    let sug_b = suggestion(&b.id, bb, !a_climbs, turn_away(vb, sa - sb));
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
