//! Errors. A [`Rule`] says which rule a value broke; an [`Error`] says where (which volume,
//! which feature) and wraps the rule.

/// The validation rule an input broke.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Rule {
    #[error("a coordinate or altitude is not a finite number")]
    NotFinite,
    #[error("longitude {lon_deg}° is outside [-180, 180]")]
    LongitudeOutOfRange { lon_deg: f64 },
    #[error("latitude {lat_deg}° is beyond ±85° (polar regions are not supported)")]
    LatitudeOutOfRange { lat_deg: f64 },
    #[error(
        "footprint crosses the antimeridian (±180°): split it into one volume on each side (RFC 7946 §3.1.9)"
    )]
    CrossesAntimeridian,
    #[error("polygon has {count} distinct vertices; at least 3 are needed")]
    TooFewVertices { count: usize },
    #[error("polygon has {count} vertices; vertices_max is {max}")]
    TooManyVertices { count: usize, max: usize },
    #[error("polygon repeats vertex {index} consecutively")]
    RepeatedVertex { index: usize },
    #[error("polygon is self-intersecting: edges {edge_a} and {edge_b} meet")]
    SelfIntersecting { edge_a: usize, edge_b: usize },
    #[error("polygon has zero area")]
    ZeroArea,
    #[error("polygons with holes are not supported")]
    HolesNotSupported,
    #[error("footprint area {area_m2:.0} m² exceeds area_m2_max {max_m2:.0} m²")]
    AreaTooLarge { area_m2: f64, max_m2: f64 },
    #[error("radius_m {radius_m} is not a positive number")]
    RadiusNotPositive { radius_m: f64 },
    #[error("altitude band is empty: alt_lower_m {lower_m} is not below alt_upper_m {upper_m}")]
    AltitudeBandEmpty { lower_m: f64, upper_m: f64 },
    #[error("altitude band [{lower_m}, {upper_m}) m is outside [{min_m}, {max_m}] m")]
    AltitudeOutOfRange {
        lower_m: f64,
        upper_m: f64,
        min_m: f64,
        max_m: f64,
    },
    #[error("time window is empty: start ({start_ms} ms) is not before end ({end_ms} ms)")]
    TimeWindowEmpty { start_ms: i64, end_ms: i64 },
    #[error("time window lasts {duration_s} s; duration_s_max is {max_s} s")]
    DurationTooLong { duration_s: i64, max_s: i64 },
    #[error("identifier is empty, longer than {max_bytes} bytes or has control characters")]
    BadIdentifier { max_bytes: usize },
    #[error("a notification needs at least one volume")]
    NoVolumes,
    #[error("notification has {count} volumes; at most {max} are accepted")]
    TooManyVolumes { count: usize, max: usize },
    #[error("a dividing line needs at least 2 points, has {count}")]
    LineTooShort { count: usize },
    #[error(
        "footprint lies {distance_m:.0} m from the frame origin; frame_radius_m_max is {max_m:.0} m"
    )]
    OutsideFrame { distance_m: f64, max_m: f64 },
    #[error("{0}")]
    Other(String),
}

/// An error with the place it happened.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A volume broke a rule. `volume` names it, e.g. `notification "N-7" volume 2`.
    #[error("{volume}: {rule}")]
    InvalidVolume { volume: String, rule: Rule },
    #[error("notification {id:?} is already in the index")]
    DuplicateNotification { id: String },
    #[error("notification {id:?} is not in the index")]
    UnknownNotification { id: String },
    #[error("the index holds {max} volumes (volumes_max); notification {id:?} was not added")]
    IndexFull { id: String, max: usize },
    /// A GeoJSON document could not be read. `place` is the file/line/column or feature.
    #[error("{place}: {message}")]
    Format { place: String, message: String },
    #[error(
        "geography version effective from {effective_from_ms} ms is earlier than version {last_version} ({last_from_ms} ms)"
    )]
    VersionOutOfOrder {
        effective_from_ms: i64,
        last_version: u32,
        last_from_ms: i64,
    },
}
