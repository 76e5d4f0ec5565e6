//! Validated 4D volumes: a footprint (polygon or circle), an altitude band and a time window.
//!
//! Everything here is checked once, in a constructor, and is immutable afterwards: a `Volume`
//! that exists is valid. Conventions (stated once, relied on everywhere):
//!
//! - Positions are WGS 84 longitude/latitude in degrees. Polygon edges are straight lines in
//!   longitude/latitude, as RFC 7946 §3.1.1 specifies for GeoJSON (and as PostGIS `geometry`
//!   treats them).
//! - Poles: latitudes beyond ±[`LAT_DEG_MAX`] are rejected. Antimeridian: a footprint may not
//!   cross ±180° longitude; cut it into one volume per side, as RFC 7946 §3.1.9 recommends.
//! - Footprints are closed sets (a shared edge or vertex is an intersection). Altitude bands and
//!   time windows are half-open, `[lower, upper)` and `[start, end)`: blocks stacked on a shared
//!   altitude, or windows where one ends when the other starts, do not overlap.
//! - Altitudes are metres above mean sea level; times are UTC milliseconds since the Unix epoch.

use geo::Kernel;
use geo::kernels::{Orientation, RobustKernel};

use crate::error::Rule;

/// Mean Earth radius (IUGG), metres: the scale of the local planar frames.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Latitudes beyond this are rejected: the planar frames degenerate near the poles.
pub const LAT_DEG_MAX: f64 = 85.0;

/// Bounds on what one volume may be. Named, enforced at construction.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest footprint area, square metres.
    pub area_m2_max: f64,
    /// Longest time window, seconds.
    pub duration_s_max: i64,
    /// Most polygon vertices (without the repeated closing vertex).
    pub vertices_max: usize,
    /// Lowest altitude accepted, metres AMSL.
    pub altitude_m_min: f64,
    /// Highest altitude accepted, metres AMSL.
    pub altitude_m_max: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // 250,000 km²: larger than a whole theatre such as Syria (185,000 km²).
            area_m2_max: 2.5e11,
            // One week: notifications are for operations, not standing claims.
            duration_s_max: 7 * 24 * 3600,
            vertices_max: 1024,
            // The Dead Sea shore is at -430 m.
            altitude_m_min: -1_000.0,
            altitude_m_max: 40_000.0,
        }
    }
}

/// A validated WGS 84 position in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLat {
    lon_deg: f64,
    lat_deg: f64,
}

impl LonLat {
    pub fn new(lon_deg: f64, lat_deg: f64) -> Result<Self, Rule> {
        if !lon_deg.is_finite() || !lat_deg.is_finite() {
            return Err(Rule::NotFinite);
        }
        if !(-180.0..=180.0).contains(&lon_deg) {
            return Err(Rule::LongitudeOutOfRange { lon_deg });
        }
        if lat_deg.abs() > LAT_DEG_MAX {
            return Err(Rule::LatitudeOutOfRange { lat_deg });
        }
        Ok(LonLat { lon_deg, lat_deg })
    }
    pub fn lon_deg(&self) -> f64 {
        self.lon_deg
    }
    pub fn lat_deg(&self) -> f64 {
        self.lat_deg
    }
}

/// A simple polygon without holes, as an open ring (the closing vertex is not repeated).
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    ring: Vec<LonLat>,
}

impl Polygon {
    /// `ring` may be closed (first == last, as GeoJSON requires) or open.
    pub fn new(mut ring: Vec<LonLat>, limits: &Limits) -> Result<Self, Rule> {
        if ring.len() >= 2 && ring.first() == ring.last() {
            ring.pop();
        }
        if ring.len() < 3 {
            return Err(Rule::TooFewVertices { count: ring.len() });
        }
        if ring.len() > limits.vertices_max {
            return Err(Rule::TooManyVertices {
                count: ring.len(),
                max: limits.vertices_max,
            });
        }
        let (lon_min, lon_max) = ring.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
            (lo.min(p.lon_deg), hi.max(p.lon_deg))
        });
        if lon_max - lon_min > 180.0 {
            return Err(Rule::CrossesAntimeridian);
        }
        check_simple(&ring)?;
        let polygon = Polygon { ring };
        let area_m2 = polygon.area_m2();
        if area_m2.is_nan() || area_m2 <= 0.0 {
            return Err(Rule::ZeroArea);
        }
        if area_m2 > limits.area_m2_max {
            return Err(Rule::AreaTooLarge {
                area_m2,
                max_m2: limits.area_m2_max,
            });
        }
        Ok(polygon)
    }

    pub fn ring(&self) -> &[LonLat] {
        &self.ring
    }

    /// Area on a local equirectangular projection at the ring's mean latitude: used for the
    /// area limit only, where a fraction of a percent does not matter.
    pub fn area_m2(&self) -> f64 {
        let lat_mean_deg =
            self.ring.iter().map(|p| p.lat_deg).sum::<f64>() / self.ring.len() as f64;
        let kx = EARTH_RADIUS_M * lat_mean_deg.to_radians().cos() * 1f64.to_radians();
        let ky = EARTH_RADIUS_M * 1f64.to_radians();
        let n = self.ring.len();
        let mut twice = 0.0;
        for i in 0..n {
            let a = self.ring[i];
            let b = self.ring[(i + 1) % n];
            twice += a.lon_deg * b.lat_deg - b.lon_deg * a.lat_deg;
        }
        (twice / 2.0).abs() * kx * ky
    }
}

fn coord(p: LonLat) -> geo::Coord<f64> {
    geo::Coord {
        x: p.lon_deg,
        y: p.lat_deg,
    }
}

/// Whether closed segments `a`–`b` and `c`–`d` share at least one point (exact predicates).
pub(crate) fn segments_intersect(
    a: geo::Coord<f64>,
    b: geo::Coord<f64>,
    c: geo::Coord<f64>,
    d: geo::Coord<f64>,
) -> bool {
    let o1 = RobustKernel::orient2d(a, b, c);
    let o2 = RobustKernel::orient2d(a, b, d);
    let o3 = RobustKernel::orient2d(c, d, a);
    let o4 = RobustKernel::orient2d(c, d, b);
    let on = |p: geo::Coord<f64>, q: geo::Coord<f64>, r: geo::Coord<f64>| {
        r.x >= p.x.min(q.x) && r.x <= p.x.max(q.x) && r.y >= p.y.min(q.y) && r.y <= p.y.max(q.y)
    };
    use Orientation::Collinear;
    let proper = o1 != o2
        && o3 != o4
        && o1 != Collinear
        && o2 != Collinear
        && o3 != Collinear
        && o4 != Collinear;
    // Otherwise they meet only if an endpoint lies on the other segment.
    proper
        || (o1 == Collinear && on(a, b, c))
        || (o2 == Collinear && on(a, b, d))
        || (o3 == Collinear && on(c, d, a))
        || (o4 == Collinear && on(c, d, b))
}

/// A ring is simple when no two edges meet except adjacent edges at their shared vertex.
/// O(n²) over at most `vertices_max` vertices, with exact orientation predicates.
fn check_simple(ring: &[LonLat]) -> Result<(), Rule> {
    let n = ring.len();
    for i in 0..n {
        if ring[i] == ring[(i + 1) % n] {
            return Err(Rule::RepeatedVertex { index: i + 1 });
        }
    }
    for i in 0..n {
        let a = coord(ring[i]);
        let b = coord(ring[(i + 1) % n]);
        for j in (i + 1)..n {
            let c = coord(ring[j]);
            let d = coord(ring[(j + 1) % n]);
            let adjacent_next = j == i + 1;
            let adjacent_prev = i == 0 && j == n - 1;
            if adjacent_next || adjacent_prev {
                // Adjacent edges share one vertex; they must not fold back over each other.
                let (p, shared, q) = if adjacent_next { (a, b, d) } else { (c, a, b) };
                if RobustKernel::orient2d(p, shared, q) == Orientation::Collinear {
                    let back =
                        (q.x - shared.x) * (p.x - shared.x) + (q.y - shared.y) * (p.y - shared.y);
                    if back > 0.0 {
                        return Err(Rule::SelfIntersecting {
                            edge_a: i,
                            edge_b: j,
                        });
                    }
                }
                continue;
            }
            if segments_intersect(a, b, c, d) {
                return Err(Rule::SelfIntersecting {
                    edge_a: i,
                    edge_b: j,
                });
            }
        }
    }
    Ok(())
}

/// Great-circle distance between two points on the sphere of [`EARTH_RADIUS_M`], metres
/// (haversine, stable for short distances).
pub fn great_circle_m(a: LonLat, b: LonLat) -> f64 {
    let (la, lb) = (a.lat_deg.to_radians(), b.lat_deg.to_radians());
    let dlat = lb - la;
    let dlon = (b.lon_deg - a.lon_deg).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la.cos() * lb.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// A disc: every point within `radius_m` of `centre`. The strategic index compares discs in its
/// planar frame; a position is inside a zone's disc by its great-circle distance from the centre
/// ([`Circle::contains`]), which does not depend on where a frame is centred.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Circle {
    centre: LonLat,
    radius_m: f64,
}

impl Circle {
    pub fn new(centre: LonLat, radius_m: f64, limits: &Limits) -> Result<Self, Rule> {
        if !radius_m.is_finite() || radius_m <= 0.0 {
            return Err(Rule::RadiusNotPositive { radius_m });
        }
        let area_m2 = std::f64::consts::PI * radius_m * radius_m;
        if area_m2 > limits.area_m2_max {
            return Err(Rule::AreaTooLarge {
                area_m2,
                max_m2: limits.area_m2_max,
            });
        }
        let dlat_deg = (radius_m / EARTH_RADIUS_M).to_degrees();
        if centre.lat_deg.abs() + dlat_deg > LAT_DEG_MAX {
            return Err(Rule::LatitudeOutOfRange {
                lat_deg: centre.lat_deg.signum() * (centre.lat_deg.abs() + dlat_deg),
            });
        }
        let dlon_deg = dlat_deg / centre.lat_deg.to_radians().cos();
        if centre.lon_deg.abs() + dlon_deg > 180.0 {
            return Err(Rule::CrossesAntimeridian);
        }
        Ok(Circle { centre, radius_m })
    }
    pub fn centre(&self) -> LonLat {
        self.centre
    }
    /// Closed containment by great-circle distance (haversine on the sphere of
    /// [`EARTH_RADIUS_M`]) from the centre.
    pub fn contains(&self, p: LonLat) -> bool {
        great_circle_m(self.centre, p) <= self.radius_m
    }
    pub fn centre_ref(&self) -> &LonLat {
        &self.centre
    }
    pub fn radius_m(&self) -> f64 {
        self.radius_m
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Footprint {
    Polygon(Polygon),
    Circle(Circle),
}

/// Altitude band `[lower_m, upper_m)`, metres above mean sea level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AltitudeBand {
    lower_m: f64,
    upper_m: f64,
}

impl AltitudeBand {
    pub fn new(lower_m: f64, upper_m: f64, limits: &Limits) -> Result<Self, Rule> {
        if !lower_m.is_finite() || !upper_m.is_finite() {
            return Err(Rule::NotFinite);
        }
        if lower_m >= upper_m {
            return Err(Rule::AltitudeBandEmpty { lower_m, upper_m });
        }
        if lower_m < limits.altitude_m_min || upper_m > limits.altitude_m_max {
            return Err(Rule::AltitudeOutOfRange {
                lower_m,
                upper_m,
                min_m: limits.altitude_m_min,
                max_m: limits.altitude_m_max,
            });
        }
        Ok(AltitudeBand { lower_m, upper_m })
    }
    /// The band of these bounds, as they were checked when it was made.
    pub(crate) fn from_parts(lower_m: f64, upper_m: f64) -> Self {
        AltitudeBand { lower_m, upper_m }
    }
    pub fn lower_m(&self) -> f64 {
        self.lower_m
    }
    pub fn upper_m(&self) -> f64 {
        self.upper_m
    }
    /// Half-open overlap, with `v_buffer_m` added on both sides of `other`.
    pub fn overlaps(&self, other: &AltitudeBand, v_buffer_m: f64) -> bool {
        self.lower_m < other.upper_m + v_buffer_m && other.lower_m < self.upper_m + v_buffer_m
    }
    pub fn contains(&self, alt_m: f64) -> bool {
        self.lower_m <= alt_m && alt_m < self.upper_m
    }
}

/// Time window `[start_ms, end_ms)`, UTC milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    start_ms: i64,
    end_ms: i64,
}

impl TimeWindow {
    pub fn new(start_ms: i64, end_ms: i64, limits: &Limits) -> Result<Self, Rule> {
        if start_ms >= end_ms {
            return Err(Rule::TimeWindowEmpty { start_ms, end_ms });
        }
        let duration_ms = end_ms.saturating_sub(start_ms);
        let duration_s = duration_ms / 1000;
        if duration_ms > limits.duration_s_max.saturating_mul(1000) {
            return Err(Rule::DurationTooLong {
                duration_s,
                max_s: limits.duration_s_max,
            });
        }
        Ok(TimeWindow { start_ms, end_ms })
    }
    /// The window of these bounds, as they were checked when it was made.
    pub(crate) fn from_parts(start_ms: i64, end_ms: i64) -> Self {
        TimeWindow { start_ms, end_ms }
    }
    pub fn start_ms(&self) -> i64 {
        self.start_ms
    }
    pub fn end_ms(&self) -> i64 {
        self.end_ms
    }
    /// Half-open overlap: `end == start` is not an overlap.
    pub fn overlaps(&self, other: &TimeWindow) -> bool {
        self.start_ms < other.end_ms && other.start_ms < self.end_ms
    }
    pub fn contains(&self, t_ms: i64) -> bool {
        self.start_ms <= t_ms && t_ms < self.end_ms
    }
}

/// One 4D volume of a notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    pub footprint: Footprint,
    pub band: AltitudeBand,
    pub window: TimeWindow,
}

/// Identifies a party to the agreement.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartyId(String);

/// Identifies a notification; unique within an index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NotificationId(String);

/// Longest identifier accepted, bytes.
pub const ID_BYTES_MAX: usize = 128;

fn check_id(s: &str) -> Result<(), Rule> {
    if s.is_empty() || s.len() > ID_BYTES_MAX || s.chars().any(char::is_control) {
        return Err(Rule::BadIdentifier {
            max_bytes: ID_BYTES_MAX,
        });
    }
    Ok(())
}

impl PartyId {
    pub fn new(s: impl Into<String>) -> Result<Self, Rule> {
        let s = s.into();
        check_id(&s)?;
        Ok(PartyId(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl NotificationId {
    pub fn new(s: impl Into<String>) -> Result<Self, Rule> {
        let s = s.into();
        check_id(&s)?;
        Ok(NotificationId(s))
    }
    /// An id copied from one already checked (the strategic index keeps them as text).
    pub(crate) fn from_checked(s: &str) -> Self {
        NotificationId(s.to_owned())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PartyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::fmt::Display for NotificationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A party's statement of where and when it will operate: one or more volumes.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    id: NotificationId,
    party: PartyId,
    volumes: Vec<Volume>,
}

/// Most volumes in one notification.
pub const VOLUMES_PER_NOTIFICATION_MAX: usize = 256;

impl Notification {
    pub fn new(id: NotificationId, party: PartyId, volumes: Vec<Volume>) -> Result<Self, Rule> {
        if volumes.is_empty() {
            return Err(Rule::NoVolumes);
        }
        if volumes.len() > VOLUMES_PER_NOTIFICATION_MAX {
            return Err(Rule::TooManyVolumes {
                count: volumes.len(),
                max: VOLUMES_PER_NOTIFICATION_MAX,
            });
        }
        Ok(Notification { id, party, volumes })
    }
    pub fn id(&self) -> &NotificationId {
        &self.id
    }
    pub fn party(&self) -> &PartyId {
        &self.party
    }
    pub fn volumes(&self) -> &[Volume] {
        &self.volumes
    }
}
