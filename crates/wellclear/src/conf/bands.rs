//! The guidance bands parameters of a configuration (DAIDALUS v2.0.4 `DaidalusParameters`).

use super::{Entries, OutputUnit};
use crate::error::{ErrorKind, ParseError};
use crate::units::{self, Dimension};

/// Guidance bands parameters of a configuration (DAIDALUS v2.0.4 `DaidalusParameters`), SI units.
/// Absent keys take DAIDALUS's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct BandsConfig {
    /// Left and right limits of direction bands relative to the current direction, rad.
    pub left_hdir_rad: f64,
    /// See `left_hdir_rad`.
    pub right_hdir_rad: f64,
    /// Horizontal speed range, m/s.
    pub min_hs_mps: f64,
    /// See `min_hs_mps`.
    pub max_hs_mps: f64,
    /// Vertical speed range, m/s.
    pub min_vs_mps: f64,
    /// See `min_vs_mps`.
    pub max_vs_mps: f64,
    /// Altitude range, m.
    pub min_alt_m: f64,
    /// See `min_alt_m`.
    pub max_alt_m: f64,
    /// Band granularity: direction rad, horizontal speed m/s, vertical speed m/s, altitude m.
    pub step_hdir_rad: f64,
    /// See `step_hdir_rad`.
    pub step_hs_mps: f64,
    /// See `step_hdir_rad`.
    pub step_vs_mps: f64,
    /// See `step_hdir_rad`.
    pub step_alt_m: f64,
    /// Horizontal acceleration of speed maneuvers, m/s² (0: instantaneous speed bands).
    pub horizontal_accel_mps2: f64,
    /// Vertical acceleration, m/s² (0: instantaneous vertical speed and altitude bands).
    pub vertical_accel_mps2: f64,
    /// Turn rate, rad/s; when 0 the bank angle gives it; both 0: instantaneous direction bands.
    pub turn_rate_rps: f64,
    /// Bank angle, rad.
    pub bank_angle_rad: f64,
    /// Vertical rate of altitude maneuvers, m/s (0: instantaneous altitude bands).
    pub vertical_rate_mps: f64,
    /// Recovery volume, m (horizontal, vertical); 0 takes the TCAS II RA miss distance and
    /// altitude threshold of the ownship's sensitivity level (at least 3).
    pub min_horizontal_recovery_m: f64,
    /// See `min_horizontal_recovery_m`.
    pub min_vertical_recovery_m: f64,
    /// Recovery bands enabled for direction, horizontal speed, vertical speed, altitude.
    pub recovery: [bool; 4],
    /// Collision-avoidance bands: shrink the recovery volume down to the NMAC cylinder.
    pub ca_bands: bool,
    /// Shrinking factor of the recovery volume at each collision-avoidance iteration.
    pub ca_factor: f64,
    /// NMAC cylinder, m (horizontal, vertical).
    pub horizontal_nmac_m: f64,
    /// See `horizontal_nmac_m`.
    pub vertical_nmac_m: f64,
    /// Time added to the first recovery time found, s.
    pub recovery_stability_time_s: f64,
    /// Keep a conflict band around the current value for the persistence time.
    pub bands_persistence: bool,
    /// Changes of resolution smaller than these keep the previous one (direction rad, speeds
    /// m/s, altitude m), in the order of `recovery`.
    pub persistence_preferred: [f64; 4],
    /// Units the DaidalusBatch text prints direction, horizontal speed, vertical speed and
    /// altitude in (those of `step_hdir`, `step_hs`, `step_vs`, `step_alt`).
    pub units: [OutputUnit; 4],
}

/// Most band steps on one side of the current value: bounds the work of one band computation.
pub const BAND_STEPS_MAX: f64 = 100_000.0;

/// The bands parameters: read, checked against their ranges, and refused where they ask for what
/// is not implemented.
pub(super) fn build_bands(e: &mut Entries<'_>) -> Result<BandsConfig, ParseError> {
    let c = read_bands(e)?;
    check_ranges(e, &c)?;
    refuse_unsupported(e)?;
    Ok(c)
}

/// Each parameter in SI, DAIDALUS's default where the key is absent.
fn read_bands(e: &mut Entries<'_>) -> Result<BandsConfig, ParseError> {
    use std::f64::consts::PI;
    let deg = PI / 180.0;
    let kt = units::KNOT_MPS;
    let fpm = units::FPM_MPS;
    let ft = units::FT_M;
    let num = |e: &mut Entries<'_>, key: &str, dim, default: f64| -> Result<f64, ParseError> {
        Ok(e.number(key, dim)?.unwrap_or(default))
    };
    use Dimension::{Acceleration, Angle, AngularRate, Length, None as Plain, Speed};
    Ok(BandsConfig {
        left_hdir_rad: num(e, "left_hdir", Angle, PI)?,
        right_hdir_rad: num(e, "right_hdir", Angle, PI)?,
        min_hs_mps: num(e, "min_hs", Speed, 10.0 * kt)?,
        max_hs_mps: num(e, "max_hs", Speed, 700.0 * kt)?,
        min_vs_mps: num(e, "min_vs", Speed, -6000.0 * fpm)?,
        max_vs_mps: num(e, "max_vs", Speed, 6000.0 * fpm)?,
        min_alt_m: num(e, "min_alt", Length, 100.0 * ft)?,
        max_alt_m: num(e, "max_alt", Length, 50000.0 * ft)?,
        step_hdir_rad: num(e, "step_hdir", Angle, deg)?,
        step_hs_mps: num(e, "step_hs", Speed, 5.0 * kt)?,
        step_vs_mps: num(e, "step_vs", Speed, 100.0 * fpm)?,
        step_alt_m: num(e, "step_alt", Length, 100.0 * ft)?,
        horizontal_accel_mps2: num(e, "horizontal_accel", Acceleration, 2.0)?,
        vertical_accel_mps2: num(e, "vertical_accel", Acceleration, 0.25 * units::G_MPS2)?,
        turn_rate_rps: num(e, "turn_rate", AngularRate, 3.0 * deg)?,
        bank_angle_rad: num(e, "bank_angle", Angle, 0.0)?,
        vertical_rate_mps: num(e, "vertical_rate", Speed, 500.0 * fpm)?,
        min_horizontal_recovery_m: num(e, "min_horizontal_recovery", Length, 0.66 * units::NMI_M)?,
        min_vertical_recovery_m: num(e, "min_vertical_recovery", Length, 450.0 * ft)?,
        recovery: [
            e.boolean("recovery_hdir")?.unwrap_or(true),
            e.boolean("recovery_hs")?.unwrap_or(true),
            e.boolean("recovery_vs")?.unwrap_or(true),
            e.boolean("recovery_alt")?.unwrap_or(true),
        ],
        ca_bands: e.boolean("ca_bands")?.unwrap_or(false),
        ca_factor: num(e, "ca_factor", Plain, 0.2)?,
        horizontal_nmac_m: num(e, "horizontal_nmac", Length, 500.0 * ft)?,
        vertical_nmac_m: num(e, "vertical_nmac", Length, 100.0 * ft)?,
        recovery_stability_time_s: num(e, "recovery_stability_time", Dimension::Time, 3.0)?,
        bands_persistence: e.boolean("bands_persistence")?.unwrap_or(false),
        persistence_preferred: [
            num(e, "persistence_preferred_hdir", Angle, 0.0)?,
            num(e, "persistence_preferred_hs", Speed, 0.0)?,
            num(e, "persistence_preferred_vs", Speed, 0.0)?,
            num(e, "persistence_preferred_alt", Length, 0.0)?,
        ],
        units: [
            e.output_unit("step_hdir", "deg"),
            e.output_unit("step_hs", "knot"),
            e.output_unit("step_vs", "fpm"),
            e.output_unit("step_alt", "ft"),
        ],
    })
}

/// Ranges and steps: positive where a zero means nothing, bounded where DAIDALUS bounds them,
/// and no more than [`BAND_STEPS_MAX`] steps across a range.
fn check_ranges(e: &Entries<'_>, c: &BandsConfig) -> Result<(), ParseError> {
    use std::f64::consts::PI;
    let positive = [
        ("step_hdir", c.step_hdir_rad),
        ("step_hs", c.step_hs_mps),
        ("step_vs", c.step_vs_mps),
        ("step_alt", c.step_alt_m),
        ("horizontal_nmac", c.horizontal_nmac_m),
        ("vertical_nmac", c.vertical_nmac_m),
    ];
    for (key, v) in positive {
        if v <= 0.0 {
            return Err(e.out_of_range(key, v, "must be > 0"));
        }
    }
    let non_negative = [
        ("horizontal_accel", c.horizontal_accel_mps2),
        ("vertical_accel", c.vertical_accel_mps2),
        ("turn_rate", c.turn_rate_rps),
        ("vertical_rate", c.vertical_rate_mps),
        ("recovery_stability_time", c.recovery_stability_time_s),
        ("min_horizontal_recovery", c.min_horizontal_recovery_m),
        ("min_vertical_recovery", c.min_vertical_recovery_m),
        ("persistence_preferred_hdir", c.persistence_preferred[0]),
        ("persistence_preferred_hs", c.persistence_preferred[1]),
        ("persistence_preferred_vs", c.persistence_preferred[2]),
        ("persistence_preferred_alt", c.persistence_preferred[3]),
        ("min_hs", c.min_hs_mps),
        ("min_alt", c.min_alt_m),
    ];
    for (key, v) in non_negative {
        if v < 0.0 {
            return Err(e.out_of_range(key, v, "must be ≥ 0"));
        }
    }
    if !(0.0..PI / 2.0).contains(&c.bank_angle_rad) {
        return Err(e.out_of_range("bank_angle", c.bank_angle_rad, "must be in [0, 90) deg"));
    }
    if !(0.0..=PI).contains(&c.left_hdir_rad) {
        return Err(e.out_of_range("left_hdir", c.left_hdir_rad, "must be in [0, 180] deg"));
    }
    if !(0.0..=PI).contains(&c.right_hdir_rad) {
        return Err(e.out_of_range("right_hdir", c.right_hdir_rad, "must be in [0, 180] deg"));
    }
    if !(0.0..1.0).contains(&c.ca_factor) || c.ca_factor == 0.0 {
        return Err(e.out_of_range("ca_factor", c.ca_factor, "must be in (0, 1)"));
    }
    for (lo, hi, khi) in [
        (c.min_hs_mps, c.max_hs_mps, "max_hs"),
        (c.min_vs_mps, c.max_vs_mps, "max_vs"),
        (c.min_alt_m, c.max_alt_m, "max_alt"),
    ] {
        if lo >= hi {
            return Err(e.out_of_range(khi, hi, "must be greater than its minimum"));
        }
    }
    for (range, step, key) in [
        (2.0 * PI, c.step_hdir_rad, "step_hdir"),
        (c.max_hs_mps - c.min_hs_mps, c.step_hs_mps, "step_hs"),
        (c.max_vs_mps - c.min_vs_mps, c.step_vs_mps, "step_vs"),
        (c.max_alt_m - c.min_alt_m, c.step_alt_m, "step_alt"),
    ] {
        if range / step > BAND_STEPS_MAX {
            return Err(e.out_of_range(
                key,
                step,
                "too small: more than BAND_STEPS_MAX = 100000 steps",
            ));
        }
    }
    Ok(())
}

/// What is refused rather than silently ignored: relative bands, implicit coordination,
/// time-to-maneuver and below-minimum-airspeed direction bands.
fn refuse_unsupported(e: &mut Entries<'_>) -> Result<(), ParseError> {
    use Dimension::{Length, Speed};
    let refuse = |e: &Entries<'_>, key: &str, value: String, why: &'static str| {
        let (line, col) = e.map.get(key).map_or((0, 1), |x| (x.line, x.value_col));
        e.err_at(
            line,
            col,
            ErrorKind::Unsupported {
                key: key.into(),
                value,
                why,
            },
        )
    };
    for (key, dim) in [
        ("below_relative_hs", Speed),
        ("above_relative_hs", Speed),
        ("below_relative_vs", Speed),
        ("above_relative_vs", Speed),
        ("below_relative_alt", Length),
        ("above_relative_alt", Length),
    ] {
        if let Some(v) = e.number(key, dim)?
            && v != 0.0
        {
            return Err(refuse(
                e,
                key,
                v.to_string(),
                "bands relative to the current value are not supported; set it to 0",
            ));
        }
    }
    for key in ["conflict_crit", "recovery_crit"] {
        if e.boolean(key)? == Some(true) {
            return Err(refuse(
                e,
                key,
                "true".into(),
                "implicit coordination criteria are not supported; set it to false",
            ));
        }
    }
    if e.boolean("bands_add_time_to_maneuver")? == Some(true) {
        return Err(refuse(
            e,
            "bands_add_time_to_maneuver",
            "true".into(),
            "not supported; set it to false",
        ));
    }
    if let Some(v) = e.integer_signed("hdir_bands_below_min_as")?
        && v != 0
    {
        return Err(refuse(
            e,
            "hdir_bands_below_min_as",
            v.to_string(),
            "direction bands below the minimum airspeed are not supported; set it to 0",
        ));
    }
    Ok(())
}
