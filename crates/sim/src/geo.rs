//! Positions and the local frame flights are laid out in.
//!
//! Each sortie is flown in a local east/north plane (metres) anchored at a point and mapped to
//! degrees by the azimuthal equidistant projection at the anchor on a spherical Earth: distance
//! and bearing from the anchor are exact, and within the tens of kilometres where an encounter
//! is designed, distortion is of order (d/R)² (under 1e-5). Reported course and speed are the
//! true ones on the sphere (see `Scenario::reports_at`), so a receiver's geodesy agrees with the
//! designed geometry. Tests check the designed figures with their own spherical formulas.

/// Mean Earth radius (IUGG R1), metres; the sim's Earth is a sphere.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A WGS-84-style latitude/longitude in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    pub lat_deg: f64,
    pub lon_deg: f64,
}

impl LatLon {
    pub const fn new(lat_deg: f64, lon_deg: f64) -> Self {
        Self { lat_deg, lon_deg }
    }

    /// The point at `east_m`, `north_m` in the azimuthal equidistant frame anchored here: the
    /// great-circle destination at distance `hypot(east, north)` on bearing `atan2(east, north)`.
    /// Distances and bearings from the anchor are exact on the sphere.
    pub fn offset(&self, east_m: f64, north_m: f64) -> LatLon {
        let d = east_m.hypot(north_m) / EARTH_RADIUS_M;
        let theta = east_m.atan2(north_m);
        let (p1, l1) = (self.lat_deg.to_radians(), self.lon_deg.to_radians());
        let p2 = (p1.sin() * d.cos() + p1.cos() * d.sin() * theta.cos()).asin();
        let l2 = l1 + (theta.sin() * d.sin() * p1.cos()).atan2(d.cos() - p1.sin() * p2.sin());
        LatLon {
            lat_deg: p2.to_degrees(),
            lon_deg: (l2.to_degrees() + 540.0).rem_euclid(360.0) - 180.0,
        }
    }

    /// Great-circle distance to `p`, metres (haversine).
    pub fn distance_m(&self, p: LatLon) -> f64 {
        let (p1, p2) = (self.lat_deg.to_radians(), p.lat_deg.to_radians());
        let dl = (p.lon_deg - self.lon_deg).to_radians();
        let h = ((p2 - p1) / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
    }

    /// Initial great-circle bearing to `p`, degrees clockwise from true north in [0, 360).
    pub fn bearing_deg(&self, p: LatLon) -> f64 {
        let (p1, p2) = (self.lat_deg.to_radians(), p.lat_deg.to_radians());
        let dl = (p.lon_deg - self.lon_deg).to_radians();
        let y = dl.sin() * p2.cos();
        let x = p1.cos() * p2.sin() - p1.sin() * p2.cos() * dl.cos();
        y.atan2(x).to_degrees().rem_euclid(360.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_is_exact_from_the_anchor() {
        let a = LatLon::new(35.2, 39.3);
        for (e, n) in [
            (800.0, 0.0),
            (0.0, -13_000.0),
            (9_000.0, 9_000.0),
            (-50_000.0, 20_000.0),
        ] {
            let p = a.offset(e, n);
            let d = f64::hypot(e, n);
            assert!((a.distance_m(p) - d).abs() < 1e-6 * d, "{e} {n}");
            let b = f64::atan2(e, n).to_degrees().rem_euclid(360.0);
            assert!((a.bearing_deg(p) - b).abs() < 1e-9, "{e} {n}");
        }
    }
}
