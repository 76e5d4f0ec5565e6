//! Conversions between the units of the field (feet, knots, nautical miles, feet per minute) and
//! the SI units used everywhere inside the engine (metres, seconds, metres per second).
//!
//! They are exact by definition: 1 ft = 0.3048 m (international foot, 1959), 1 NM = 1852 m,
//! 1 kt = 1 NM/h. Convert once at the edge (file or wire), never inside the geometry.

/// Metres in one international foot.
pub const M_PER_FT: f64 = 0.3048;
/// Metres in one international nautical mile.
pub const M_PER_NM: f64 = 1852.0;
/// Metres per second in one knot (1852 m per 3600 s).
pub const MPS_PER_KT: f64 = M_PER_NM / 3600.0;
/// Metres per second in one foot per minute.
pub const MPS_PER_FPM: f64 = M_PER_FT / 60.0;

/// Feet to metres.
#[must_use]
pub fn ft_to_m(ft: f64) -> f64 {
    ft * M_PER_FT
}

/// Metres to feet.
#[must_use]
pub fn m_to_ft(m: f64) -> f64 {
    m / M_PER_FT
}

/// Nautical miles to metres.
#[must_use]
pub fn nm_to_m(nm: f64) -> f64 {
    nm * M_PER_NM
}

/// Metres to nautical miles.
#[must_use]
pub fn m_to_nm(m: f64) -> f64 {
    m / M_PER_NM
}

/// Knots to metres per second.
#[must_use]
pub fn kt_to_mps(kt: f64) -> f64 {
    kt * MPS_PER_KT
}

/// Metres per second to knots.
#[must_use]
pub fn mps_to_kt(mps: f64) -> f64 {
    mps / MPS_PER_KT
}

/// Feet per minute to metres per second.
#[must_use]
pub fn fpm_to_mps(fpm: f64) -> f64 {
    fpm * MPS_PER_FPM
}

/// Metres per second to feet per minute.
#[must_use]
pub fn mps_to_fpm(mps: f64) -> f64 {
    mps / MPS_PER_FPM
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defined_values() {
        // 5 NM and 1000 ft: the usual en-route minima.
        assert_eq!(nm_to_m(5.0), 9260.0);
        assert!((ft_to_m(1000.0) - 304.8).abs() < 1e-12);
        // 3600 kt = 1852 m/s by definition.
        assert!((kt_to_mps(3600.0) - 1852.0).abs() < 1e-9);
        // 6000 fpm = 6000 * 0.3048 / 60 = 30.48 m/s.
        assert!((fpm_to_mps(6000.0) - 30.48).abs() < 1e-12);
    }

    #[test]
    fn round_trips() {
        for x in [-12_345.678, -1.0, 0.0, 0.5, 42.0, 98_765.432_1] {
            assert!((m_to_ft(ft_to_m(x)) - x).abs() <= 1e-9 * x.abs().max(1.0));
            assert!((m_to_nm(nm_to_m(x)) - x).abs() <= 1e-9 * x.abs().max(1.0));
            assert!((mps_to_kt(kt_to_mps(x)) - x).abs() <= 1e-9 * x.abs().max(1.0));
            assert!((mps_to_fpm(fpm_to_mps(x)) - x).abs() <= 1e-9 * x.abs().max(1.0));
        }
    }
}
