//! WGS-84 geodesy: geodetic ↔ Earth-Centred Earth-Fixed (ECEF) coordinates and local
//! East-North-Up (ENU) frames.
//!
//! ECEF is the global frame of the broad phase because it has no singularity: nothing special
//! happens at the poles or at the antimeridian, unlike any map projection. Pair geometry is done in
//! a local tangent plane built per pair (see [`crate::encounter`]).
//!
//! Constants: NIMA TR8350.2, *Department of Defense World Geodetic System 1984*, §3.

/// Semi-major axis of the WGS-84 ellipsoid, metres (TR8350.2 §3.2.1).
pub const WGS84_A_M: f64 = 6_378_137.0;
/// Flattening of the WGS-84 ellipsoid (TR8350.2 §3.2.2).
pub const WGS84_F: f64 = 1.0 / 298.257_223_563;
/// First eccentricity squared, e² = f(2 − f).
pub const WGS84_E2: f64 = WGS84_F * (2.0 - WGS84_F);
/// Semi-minor axis b = a(1 − f), metres.
pub const WGS84_B_M: f64 = WGS84_A_M * (1.0 - WGS84_F);
/// The smallest principal radius of curvature of the ellipsoid: the meridional radius at the
/// equator, M(0) = a(1 − e²). Surface normals turn no faster than on a sphere of this radius,
/// which bounds the tilt between the normals of two nearby points (used by the broad phase).
pub const WGS84_CURVATURE_RADIUS_M_MIN: f64 = WGS84_A_M * (1.0 - WGS84_E2);

/// A 3-vector in metres (ECEF) or metres per second, depending on use.
pub type Vec3 = [f64; 3];

pub(crate) fn add(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
pub(crate) fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
pub(crate) fn scale(a: Vec3, k: f64) -> Vec3 {
    [a[0] * k, a[1] * k, a[2] * k]
}
pub(crate) fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
pub(crate) fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
pub(crate) fn norm(a: Vec3) -> f64 {
    dot(a, a).sqrt()
}

/// Radius of curvature in the prime vertical, N(φ) = a / √(1 − e² sin²φ).
#[must_use]
pub fn prime_vertical_radius_m(lat_rad: f64) -> f64 {
    let s = lat_rad.sin();
    WGS84_A_M / (1.0 - WGS84_E2 * s * s).sqrt()
}

/// Geodetic (latitude, longitude in radians; height above the ellipsoid in metres) to ECEF metres
/// (TR8350.2 §4.1).
#[must_use]
pub fn geodetic_to_ecef(lat_rad: f64, lon_rad: f64, h_m: f64) -> Vec3 {
    let (slat, clat) = lat_rad.sin_cos();
    let (slon, clon) = lon_rad.sin_cos();
    let n = WGS84_A_M / (1.0 - WGS84_E2 * slat * slat).sqrt();
    [
        (n + h_m) * clat * clon,
        (n + h_m) * clat * slon,
        (n * (1.0 - WGS84_E2) + h_m) * slat,
    ]
}

/// ECEF metres to geodetic (latitude rad, longitude rad, height m).
///
/// Fixed-point iteration on tan φ = (z + e² N sin φ) / p, which converges to below 1e-12 rad in a
/// handful of steps for any point within a few hundred kilometres of the surface; the height is
/// computed in the form p cos φ + z sin φ − a √(1 − e² sin² φ), which stays accurate at the poles
/// (where p → 0). At the poles the longitude is whatever `atan2(0, 0)` gives (0): it is undefined.
#[must_use]
pub fn ecef_to_geodetic(x: Vec3) -> (f64, f64, f64) {
    let p = x[0].hypot(x[1]);
    let lon = x[1].atan2(x[0]);
    let mut lat = x[2].atan2(p * (1.0 - WGS84_E2));
    // Converges geometrically (factor about e²); stop once a step changes nothing that matters.
    for _ in 0..8 {
        let n = prime_vertical_radius_m(lat);
        let next = (x[2] + WGS84_E2 * n * lat.sin()).atan2(p);
        let step = (next - lat).abs();
        lat = next;
        if step < 1e-15 {
            break;
        }
    }
    let (slat, clat) = lat.sin_cos();
    let h = p * clat + x[2] * slat - WGS84_A_M * (1.0 - WGS84_E2 * slat * slat).sqrt();
    (lat, lon, h)
}

/// The local East-North-Up frame at a geodetic point: origin on the ellipsoid (height 0) and the
/// three unit axes expressed in ECEF.
///
/// East and north are defined by the formulas (−sin λ, cos λ, 0) and
/// (−sin φ cos λ, −sin φ sin λ, cos φ) even at a pole, where they depend on the longitude given:
/// a track angle reported at a pole is taken relative to that meridian.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnuFrame {
    origin_ecef_m: Vec3,
    east: Vec3,
    north: Vec3,
    up: Vec3,
}

impl EnuFrame {
    /// The frame at latitude/longitude in radians, on the ellipsoid surface.
    #[must_use]
    pub fn at(lat_rad: f64, lon_rad: f64) -> Self {
        let (slat, clat) = lat_rad.sin_cos();
        let (slon, clon) = lon_rad.sin_cos();
        Self {
            origin_ecef_m: geodetic_to_ecef(lat_rad, lon_rad, 0.0),
            east: [-slon, clon, 0.0],
            north: [-slat * clon, -slat * slon, clat],
            up: [clat * clon, clat * slon, slat],
        }
    }

    /// ECEF position of the origin (on the ellipsoid), metres.
    #[must_use]
    pub fn origin_ecef_m(&self) -> Vec3 {
        self.origin_ecef_m
    }
    /// Unit east vector in ECEF.
    #[must_use]
    pub fn east(&self) -> Vec3 {
        self.east
    }
    /// Unit north vector in ECEF.
    #[must_use]
    pub fn north(&self) -> Vec3 {
        self.north
    }
    /// Unit up vector (the ellipsoid normal) in ECEF.
    #[must_use]
    pub fn up(&self) -> Vec3 {
        self.up
    }

    /// ENU coordinates (metres) of an ECEF point.
    #[must_use]
    pub fn to_enu(&self, ecef_m: Vec3) -> Vec3 {
        let d = sub(ecef_m, self.origin_ecef_m);
        [dot(d, self.east), dot(d, self.north), dot(d, self.up)]
    }

    /// ECEF point of ENU coordinates (metres).
    #[must_use]
    pub fn to_ecef(&self, enu_m: Vec3) -> Vec3 {
        add(
            self.origin_ecef_m,
            add(
                add(scale(self.east, enu_m[0]), scale(self.north, enu_m[1])),
                scale(self.up, enu_m[2]),
            ),
        )
    }

    /// ECEF components of a vector given in ENU components (a velocity, say).
    #[must_use]
    pub fn vector_to_ecef(&self, enu: Vec3) -> Vec3 {
        add(
            add(scale(self.east, enu[0]), scale(self.north, enu[1])),
            scale(self.up, enu[2]),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecef_round_trip_everywhere_including_poles_and_antimeridian() {
        for lat_deg in [-90.0, -89.999_9, -60.0, -1.0, 0.0, 33.5, 89.999_9, 90.0] {
            for lon_deg in [-180.0, -179.999_9, -45.0, 0.0, 120.0, 179.999_9, 180.0] {
                for h in [-400.0, 0.0, 12_000.0, 40_000.0] {
                    let (lat, lon) = (f64::to_radians(lat_deg), f64::to_radians(lon_deg));
                    let x = geodetic_to_ecef(lat, lon, h);
                    let (lat2, lon2, h2) = ecef_to_geodetic(x);
                    assert!((lat2 - lat).abs() < 1e-11, "lat {lat_deg} {lon_deg} {h}");
                    assert!((h2 - h).abs() < 1e-5, "h {lat_deg} {lon_deg} {h}: {h2}");
                    if lat_deg.abs() < 90.0 {
                        // Compare longitudes on the circle (−180 and 180 are the same meridian).
                        let d = (lon2 - lon).sin().abs();
                        assert!(d < 1e-11, "lon {lat_deg} {lon_deg} {h}");
                    }
                    let back = geodetic_to_ecef(lat2, lon2, h2);
                    assert!(norm(sub(back, x)) < 1e-5);
                }
            }
        }
    }

    #[test]
    fn enu_axes_are_orthonormal_and_right_handed() {
        for (lat, lon) in [
            (0.0, 0.0),
            (0.7, -2.0),
            (std::f64::consts::FRAC_PI_2, 3.0),
            (-1.2, std::f64::consts::PI),
        ] {
            let f = EnuFrame::at(lat, lon);
            for v in [f.east(), f.north(), f.up()] {
                assert!((norm(v) - 1.0).abs() < 1e-12);
            }
            assert!(dot(f.east(), f.north()).abs() < 1e-12);
            assert!(dot(f.east(), f.up()).abs() < 1e-12);
            assert!(norm(sub(cross(f.east(), f.north()), f.up())) < 1e-12);
            let p = [1234.0, -5678.0, 90.0];
            let q = f.to_enu(f.to_ecef(p));
            assert!(norm(sub(p, q)) < 1e-6);
        }
    }

    #[test]
    fn up_is_the_ellipsoid_normal() {
        // The gradient of x²/a² + y²/a² + z²/b² at a surface point is parallel to "up".
        let (lat, lon) = (0.6, 0.3);
        let x = geodetic_to_ecef(lat, lon, 0.0);
        let g = [
            x[0] / (WGS84_A_M * WGS84_A_M),
            x[1] / (WGS84_A_M * WGS84_A_M),
            x[2] / (WGS84_B_M * WGS84_B_M),
        ];
        let g = scale(g, 1.0 / norm(g));
        assert!(norm(sub(g, EnuFrame::at(lat, lon).up())) < 1e-12);
    }
}
