//! The local East-North-Up frame DAIDALUS projects geodetic states into.
//!
//! DAIDALUS (v2.0.4, default build) projects every aircraft into a plane tangent to a spherical
//! Earth at the ownship's position (its `ENUProjection`): a point is placed on the sphere, rotated
//! so that the ownship sits on the x axis, and its two other coordinates are taken as East and
//! North. Altitude is carried unchanged as `z`. A velocity is projected by flying the aircraft
//! for 10 s along the great circle of its track and projecting the end point; the difference,
//! divided by 10 s, is the planar velocity. Reproducing these conventions (not a geodesically
//! better projection) is what makes our times and distances agree with DAIDALUS to the printed
//! digits.
//!
//! The sphere has the radius for which one minute of arc is one nautical mile.

use crate::geom::Vec3;
use crate::units::NMI_M;
use std::f64::consts::PI;

/// Radius of the spherical Earth, metres: one nautical mile per minute of arc.
pub const EARTH_RADIUS_M: f64 = NMI_M * 60.0 * 180.0 / PI;

/// Time step used to project a velocity, seconds (DAIDALUS uses 10 s).
const VELOCITY_STEP_S: f64 = 10.0;

/// A geodetic position: latitude and longitude in radians, altitude in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLonAlt {
    /// Latitude, radians, North positive.
    pub lat_rad: f64,
    /// Longitude, radians, East positive.
    pub lon_rad: f64,
    /// Altitude, metres.
    pub alt_m: f64,
}

/// Tangent-plane projection centred at a reference point (the ownship at zero altitude).
#[derive(Debug, Clone, Copy)]
pub struct EnuProjection {
    // The third axis (towards the reference point) is not needed: a point's planar coordinates
    // are its components along the two axes orthogonal to it.
    y_axis: Vec3,
    z_axis: Vec3,
}

fn sphere_xyz(lat_rad: f64, lon_rad: f64) -> Vec3 {
    let theta = PI / 2.0 - lat_rad;
    let phi = PI - lon_rad;
    let rs = EARTH_RADIUS_M * theta.sin();
    Vec3::new(rs * phi.cos(), rs * phi.sin(), EARTH_RADIUS_M * theta.cos())
}

impl EnuProjection {
    /// A projection tangent at `lat_rad`, `lon_rad`.
    pub fn new(lat_rad: f64, lon_rad: f64) -> Self {
        let r = sphere_xyz(lat_rad, lon_rad);
        // A horizontal vector orthogonal to the reference; at the poles any horizontal axis will do.
        let orth = if r.x.abs() > 1e-9 || r.y.abs() > 1e-9 {
            Vec3::new(r.y, -r.x, 0.0)
        } else {
            Vec3::new(1.0, 0.0, 0.0)
        };
        Self {
            y_axis: orth.hat(),
            z_axis: r.cross(orth).hat(),
        }
    }

    /// Planar East/North position (metres) and altitude of a geodetic point.
    pub fn project(&self, p: LatLonAlt) -> Vec3 {
        let s = sphere_xyz(p.lat_rad, p.lon_rad);
        Vec3::new(self.y_axis.dot(s), -self.z_axis.dot(s), p.alt_m)
    }

    /// Planar velocity (m/s) of an aircraft at `p` with ground velocity `v` (East, North, Up m/s).
    pub fn project_velocity(&self, p: LatLonAlt, v: Vec3) -> Vec3 {
        let p2 = great_circle_after(p, v, VELOCITY_STEP_S);
        let d = self.project(p2) - self.project(p);
        d * (1.0 / VELOCITY_STEP_S)
    }
}

/// Position after flying `t` seconds from `p` along the great circle of the initial track of
/// `v`, at its ground speed, climbing at its vertical speed.
pub fn great_circle_after(p: LatLonAlt, v: Vec3, t: f64) -> LatLonAlt {
    let track = v.x.atan2(v.y);
    let gs = v.x.hypot(v.y);
    let d = gs * t / EARTH_RADIUS_M;
    let lat = (p.lat_rad.sin() * d.cos() + p.lat_rad.cos() * d.sin() * track.cos())
        .clamp(-1.0, 1.0)
        .asin();
    let dlon = {
        let y = track.sin() * d.sin() * p.lat_rad.cos();
        let x = d.cos() - p.lat_rad.sin() * lat.sin();
        if y == 0.0 && x == 0.0 {
            0.0
        } else {
            y.atan2(x)
        }
    };
    LatLonAlt {
        lat_rad: lat,
        lon_rad: to_pi(p.lon_rad + dlon),
        alt_m: p.alt_m + v.z * t,
    }
}

/// Angle into (-π, π].
fn to_pi(rad: f64) -> f64 {
    let two_pi = 2.0 * PI;
    let mut r = rad - (rad / two_pi).floor() * two_pi;
    if crate::geom::almost_equals(r, two_pi) {
        r = 0.0;
    }
    if r > PI { r - two_pi } else { r }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deg(d: f64) -> f64 {
        d.to_radians()
    }

    #[test]
    fn reference_point_projects_to_origin() {
        let prj = EnuProjection::new(deg(40.0), deg(-74.0));
        let s = prj.project(LatLonAlt {
            lat_rad: deg(40.0),
            lon_rad: deg(-74.0),
            alt_m: 100.0,
        });
        assert!(s.x.abs() < 1e-6 && s.y.abs() < 1e-6, "{s:?}");
        assert_eq!(s.z, 100.0);
    }

    #[test]
    fn one_minute_of_latitude_north_is_one_nautical_mile() {
        let prj = EnuProjection::new(deg(40.0), deg(-74.0));
        let s = prj.project(LatLonAlt {
            lat_rad: deg(40.0 + 1.0 / 60.0),
            lon_rad: deg(-74.0),
            alt_m: 0.0,
        });
        assert!(s.x.abs() < 1e-6, "{s:?}");
        assert!((s.y - 1852.0).abs() < 1e-3, "{s:?}");
    }

    #[test]
    fn east_is_positive_x() {
        let prj = EnuProjection::new(deg(10.0), deg(20.0));
        let s = prj.project(LatLonAlt {
            lat_rad: deg(10.0),
            lon_rad: deg(20.1),
            alt_m: 0.0,
        });
        assert!(s.x > 10_000.0 && s.y.abs() < 100.0, "{s:?}");
    }

    #[test]
    fn velocity_north_at_reference_is_preserved() {
        let prj = EnuProjection::new(deg(33.0), deg(-117.0));
        let p = LatLonAlt {
            lat_rad: deg(33.0),
            lon_rad: deg(-117.0),
            alt_m: 0.0,
        };
        let v = prj.project_velocity(p, Vec3::new(0.0, 100.0, 2.0));
        assert!(
            v.x.abs() < 1e-6 && (v.y - 100.0).abs() < 1e-4 && (v.z - 2.0).abs() < 1e-12,
            "{v:?}"
        );
    }
}
