//! Units named in brackets in DAIDALUS files (`[nmi]`, `[fpm]`, ...), converted once to SI.
//!
//! Only the names listed here are accepted: an unknown unit is an error at the boundary, never a
//! guess. Factors follow the definitions DAIDALUS uses (1 nmi = 1852 m, 1 ft = 0.3048 m,
//! 1 knot = 1852/3600 m/s, 1 G = 9.80665 m/s²).

/// Physical dimension of a unit, so that a field can refuse a unit of the wrong kind
/// (`alt [deg]` is an error, not a conversion).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    /// Metres.
    Length,
    /// Seconds.
    Time,
    /// Metres per second.
    Speed,
    /// Radians.
    Angle,
    /// Metres per second squared.
    Acceleration,
    /// Radians per second.
    AngularRate,
    /// Dimensionless (`[none]`, `unitless`, `[unspecified]`).
    None,
}

/// A known unit: its dimension and the factor that converts a value in this unit to SI.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unit {
    /// The dimension the unit measures.
    pub dimension: Dimension,
    /// Multiply a value in this unit by this factor to get SI (m, s, m/s, rad, m/s²).
    pub to_si: f64,
}

/// Metres in one international nautical mile.
pub const NMI_M: f64 = 1852.0;
/// Metres in one international foot.
pub const FT_M: f64 = 0.3048;
/// Metres per second in one knot.
pub const KNOT_MPS: f64 = NMI_M / 3600.0;
/// Metres per second in one foot per minute.
pub const FPM_MPS: f64 = FT_M / 60.0;
/// Standard gravity, m/s².
pub const G_MPS2: f64 = 9.80665;

/// Looks up a unit by the name written between brackets (without the brackets).
pub fn lookup(name: &str) -> Option<Unit> {
    use Dimension::*;
    let (dimension, to_si) = match name {
        "m" | "meter" | "meters" => (Length, 1.0),
        "km" => (Length, 1000.0),
        "ft" => (Length, FT_M),
        "nmi" | "NM" | "nm" => (Length, NMI_M),
        "mi" => (Length, 1609.344),
        "s" | "sec" => (Time, 1.0),
        "ms" => (Time, 0.001),
        "min" => (Time, 60.0),
        "h" | "hr" => (Time, 3600.0),
        "knot" | "kn" | "kts" | "kt" => (Speed, KNOT_MPS),
        "fpm" | "ft/min" => (Speed, FPM_MPS),
        "m/s" | "mps" => (Speed, 1.0),
        "ft/s" | "fps" => (Speed, FT_M),
        "kph" | "km/h" => (Speed, 1000.0 / 3600.0),
        "mph" => (Speed, 1609.344 / 3600.0),
        "nmi/s" => (Speed, NMI_M),
        "deg" => (Angle, std::f64::consts::PI / 180.0),
        "rad" => (Angle, 1.0),
        "deg/s" => (AngularRate, std::f64::consts::PI / 180.0),
        "rad/s" => (AngularRate, 1.0),
        "m/s^2" => (Acceleration, 1.0),
        "G" => (Acceleration, G_MPS2),
        "none" | "unitless" | "unspecified" => (None, 1.0),
        _ => return Option::None,
    };
    Some(Unit { dimension, to_si })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_units_convert_to_si() {
        assert_eq!(lookup("nmi").map(|u| u.to_si), Some(1852.0));
        assert_eq!(lookup("ft").map(|u| u.to_si), Some(0.3048));
        assert_eq!(lookup("knot").map(|u| u.dimension), Some(Dimension::Speed));
        assert_eq!(lookup("ms").map(|u| u.to_si), Some(0.001));
    }

    #[test]
    fn unknown_unit_is_none_not_a_guess() {
        assert_eq!(lookup("furlong"), None);
        assert_eq!(lookup("Ft"), None);
        assert_eq!(lookup(""), None);
    }
}
