//! Aircraft kinematic state: where an aircraft is and how it moves, validated at construction.
//!
//! Position is WGS-84 geodetic latitude/longitude in degrees and altitude in metres; velocity is
//! track over ground (degrees clockwise from true north), ground speed (m/s) and vertical rate
//! (m/s, positive up). Inside the engine the state is turned into ECEF vectors (see
//! [`crate::geodesy`]); the degrees stay only at this boundary.

use crate::geodesy::{self, EnuFrame, Vec3};

/// Lowest altitude accepted, metres (below the Dead Sea shore, with room for pressure altitude).
pub const ALT_M_MIN: f64 = -2_000.0;
/// Highest altitude accepted, metres (high-altitude balloons and reconnaissance aircraft).
pub const ALT_M_MAX: f64 = 40_000.0;
/// Highest ground speed accepted, m/s (about Mach 3 at altitude). Also bounds the broad phase's
/// reach, see [`crate::probe`].
pub const GS_MPS_MAX: f64 = 1_000.0;
/// Largest vertical rate magnitude accepted, m/s (about 59,000 ft/min).
pub const VS_MPS_MAX: f64 = 300.0;

/// Why a state was rejected. Each names the field and the value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// A value is NaN or infinite.
    #[error("{field} is not a finite number ({value})")]
    NotFinite {
        /// The field name, with its unit.
        field: &'static str,
        /// The value.
        value: f64,
    },
    /// A value is outside its accepted range.
    #[error("{field} = {value} is outside [{min}, {max}]")]
    OutOfRange {
        /// The field name, with its unit.
        field: &'static str,
        /// The value.
        value: f64,
        /// Smallest accepted.
        min: f64,
        /// Largest accepted.
        max: f64,
    },
}

fn check(field: &'static str, value: f64, min: f64, max: f64) -> Result<f64, StateError> {
    if !value.is_finite() {
        return Err(StateError::NotFinite { field, value });
    }
    if !(min..=max).contains(&value) {
        return Err(StateError::OutOfRange {
            field,
            value,
            min,
            max,
        });
    }
    Ok(value)
}

/// A validated WGS-84 position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    lat_deg: f64,
    lon_deg: f64,
    alt_m: f64,
}

impl Position {
    /// Latitude in [−90, 90] degrees, longitude in [−180, 180] degrees, altitude in
    /// [[`ALT_M_MIN`], [`ALT_M_MAX`]] metres; all finite.
    pub fn new(lat_deg: f64, lon_deg: f64, alt_m: f64) -> Result<Self, StateError> {
        Ok(Self {
            lat_deg: check("lat_deg", lat_deg, -90.0, 90.0)?,
            lon_deg: check("lon_deg", lon_deg, -180.0, 180.0)?,
            alt_m: check("alt_m", alt_m, ALT_M_MIN, ALT_M_MAX)?,
        })
    }
    /// Geodetic latitude, degrees.
    #[must_use]
    pub fn lat_deg(&self) -> f64 {
        self.lat_deg
    }
    /// Longitude, degrees.
    #[must_use]
    pub fn lon_deg(&self) -> f64 {
        self.lon_deg
    }
    /// Altitude, metres.
    #[must_use]
    pub fn alt_m(&self) -> f64 {
        self.alt_m
    }
}

/// A validated velocity over ground.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Velocity {
    trk_deg: f64,
    gs_mps: f64,
    vs_mps: f64,
}

impl Velocity {
    /// Track in [0, 360] degrees from true north, ground speed in [0, [`GS_MPS_MAX`]] m/s,
    /// vertical rate in [−[`VS_MPS_MAX`], [`VS_MPS_MAX`]] m/s; all finite.
    pub fn new(trk_deg: f64, gs_mps: f64, vs_mps: f64) -> Result<Self, StateError> {
        Ok(Self {
            trk_deg: check("trk_deg", trk_deg, 0.0, 360.0)?,
            gs_mps: check("gs_mps", gs_mps, 0.0, GS_MPS_MAX)?,
            vs_mps: check("vs_mps", vs_mps, -VS_MPS_MAX, VS_MPS_MAX)?,
        })
    }
    /// Track over ground, degrees clockwise from true north.
    #[must_use]
    pub fn trk_deg(&self) -> f64 {
        self.trk_deg
    }
    /// Ground speed, m/s.
    #[must_use]
    pub fn gs_mps(&self) -> f64 {
        self.gs_mps
    }
    /// Vertical rate, m/s, positive up.
    #[must_use]
    pub fn vs_mps(&self) -> f64 {
        self.vs_mps
    }
    /// East, north and up components, m/s.
    #[must_use]
    pub fn enu_mps(&self) -> Vec3 {
        let (s, c) = self.trk_deg.to_radians().sin_cos();
        [self.gs_mps * s, self.gs_mps * c, self.vs_mps]
    }
}

/// Where an aircraft is and how it moves, at one instant (the instant is carried by whoever holds
/// the state: a snapshot is all at one instant, a report has its own time).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AircraftState {
    position: Position,
    velocity: Velocity,
}

impl AircraftState {
    /// A state from its two validated halves.
    #[must_use]
    pub fn new(position: Position, velocity: Velocity) -> Self {
        Self { position, velocity }
    }
    /// The position.
    #[must_use]
    pub fn position(&self) -> Position {
        self.position
    }
    /// The velocity.
    #[must_use]
    pub fn velocity(&self) -> Velocity {
        self.velocity
    }

    /// The state `dt_s` seconds later (or earlier, if negative), flying straight at constant
    /// velocity: along the tangent plane at the current position (dead reckoning), then back onto
    /// the ellipsoid; altitude changes at the vertical rate. Ground speed is kept; the track is
    /// re-measured against north at the new position, so it stays correct across a pole.
    ///
    /// Errors if the result leaves the accepted altitude band; `dt_s` must be finite.
    pub fn extrapolate(&self, dt_s: f64) -> Result<Self, StateError> {
        let dt_s = check("dt_s", dt_s, f64::MIN, f64::MAX)?;
        if dt_s == 0.0 {
            return Ok(*self);
        }
        let (lat, lon) = (
            self.position.lat_deg.to_radians(),
            self.position.lon_deg.to_radians(),
        );
        let frame = EnuFrame::at(lat, lon);
        let [ve, vn, _] = self.velocity.enu_mps();
        let v_ecef = frame.vector_to_ecef([ve, vn, 0.0]);
        let moved = geodesy::add(frame.origin_ecef_m(), geodesy::scale(v_ecef, dt_s));
        let (lat2, lon2, _) = geodesy::ecef_to_geodetic(moved);
        let frame2 = EnuFrame::at(lat2, lon2);
        let (e2, n2) = (
            geodesy::dot(v_ecef, frame2.east()),
            geodesy::dot(v_ecef, frame2.north()),
        );
        let mut trk2 = e2.atan2(n2).to_degrees();
        if trk2 < 0.0 {
            trk2 += 360.0;
        }
        // atan2 of a zero vector gives 0: a stationary aircraft keeps its reported track.
        if self.velocity.gs_mps == 0.0 {
            trk2 = self.velocity.trk_deg;
        }
        let position = Position::new(
            lat2.to_degrees().clamp(-90.0, 90.0),
            lon2.to_degrees().clamp(-180.0, 180.0),
            self.position.alt_m + self.velocity.vs_mps * dt_s,
        )?;
        let velocity = Velocity::new(trk2.min(360.0), self.velocity.gs_mps, self.velocity.vs_mps)?;
        Ok(Self { position, velocity })
    }
}

/// An instant: milliseconds since an epoch chosen by the caller (Unix time in the service). The
/// engine never reads a clock; every call that needs the time takes it as a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From milliseconds since the epoch.
    #[must_use]
    pub fn from_unix_ms(ms: i64) -> Self {
        Self(ms)
    }
    /// Milliseconds since the epoch.
    #[must_use]
    pub fn unix_ms(self) -> i64 {
        self.0
    }
    /// `self − earlier`, in seconds.
    #[must_use]
    pub fn seconds_since(self, earlier: Timestamp) -> f64 {
        // i128 so that no pair of i64 instants overflows.
        (i128::from(self.0) - i128::from(earlier.0)) as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_out_of_range_and_non_finite_values_naming_the_field() {
        assert!(matches!(
            Position::new(200.0, 0.0, 0.0),
            Err(StateError::OutOfRange {
                field: "lat_deg",
                ..
            })
        ));
        assert!(matches!(
            Position::new(0.0, f64::NAN, 0.0),
            Err(StateError::NotFinite {
                field: "lon_deg",
                ..
            })
        ));
        assert!(matches!(
            Position::new(0.0, 0.0, f64::INFINITY),
            Err(StateError::NotFinite { field: "alt_m", .. })
        ));
        assert!(matches!(
            Velocity::new(10.0, -1.0, 0.0),
            Err(StateError::OutOfRange {
                field: "gs_mps",
                ..
            })
        ));
        assert!(matches!(
            Velocity::new(361.0, 1.0, 0.0),
            Err(StateError::OutOfRange {
                field: "trk_deg",
                ..
            })
        ));
        assert!(Position::new(-90.0, 180.0, 0.0).is_ok());
        assert!(Velocity::new(360.0, 0.0, -VS_MPS_MAX).is_ok());
    }

    #[test]
    fn extrapolation_moves_along_the_track_at_ground_speed() {
        // Due north at 100 m/s for 60 s from the equator: 6000 m of meridian arc,
        // i.e. 6000 / M(0) rad with M(0) = a(1 − e²).
        let s = AircraftState::new(
            Position::new(0.0, 10.0, 1000.0).unwrap(),
            Velocity::new(0.0, 100.0, 5.0).unwrap(),
        );
        let t = s.extrapolate(60.0).unwrap();
        let dlat_expected = (6000.0 / crate::geodesy::WGS84_CURVATURE_RADIUS_M_MIN).to_degrees();
        assert!((t.position().lat_deg() - dlat_expected).abs() < 1e-6);
        assert!((t.position().lon_deg() - 10.0).abs() < 1e-12);
        assert!((t.position().alt_m() - 1300.0).abs() < 1e-9);
        assert!(
            t.velocity().trk_deg().abs() < 1e-6 || (t.velocity().trk_deg() - 360.0).abs() < 1e-6
        );
        // And back.
        let u = t.extrapolate(-60.0).unwrap();
        assert!((u.position().lat_deg()).abs() < 1e-6);
    }

    #[test]
    fn extrapolation_over_the_pole_flips_the_track() {
        // 1 km short of the north pole flying north at 100 m/s: after 20 s the aircraft is 1 km
        // past the pole, on the opposite meridian, flying south.
        let lat = 90.0 - (1000.0 / 6_399_594.0_f64).to_degrees();
        let s = AircraftState::new(
            Position::new(lat, 0.0, 10_000.0).unwrap(),
            Velocity::new(0.0, 100.0, 0.0).unwrap(),
        );
        let t = s.extrapolate(20.0).unwrap();
        assert!((t.position().lon_deg().abs() - 180.0).abs() < 1e-6);
        assert!((t.velocity().trk_deg() - 180.0).abs() < 1e-3);
    }

    #[test]
    fn timestamps_subtract_in_seconds() {
        let a = Timestamp::from_unix_ms(1_000);
        let b = Timestamp::from_unix_ms(3_500);
        assert_eq!(b.seconds_since(a), 2.5);
        assert_eq!(a.seconds_since(b), -2.5);
    }
}
