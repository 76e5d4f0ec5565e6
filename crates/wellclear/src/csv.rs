//! The CSV that DAIDALUS's `DaidalusAlerting` example writes, column for column, so that outputs
//! can be diffed: `Time, Ownship, Traffic, Alerter, Alert Level`, one `Time to Volume of Alert(k)`
//! per level, separations, closure rates, projected HMD/VMD, TCPA, DCPA, TCOA and (when the
//! corrective volume of alerter 1 is a WCV_TAUMOD) TAUMOD. The second line gives the units.
//! Distances and speeds are printed in the units of the configuration's `min_horizontal_recovery`,
//! `min_vertical_recovery`, `step_hs` and `step_vs`; numbers with 6 decimals, trailing zeros
//! trimmed; a volume not violated within the lookahead is `infty`.

use std::fmt::Write;

use crate::alerting::{Daa, TrafficAlert};

/// Digits after the decimal point, as DaidalusAlerting's default precision.
pub const DECIMALS: usize = 6;

/// Formats a number as DaidalusAlerting does: fixed 6 decimals with trailing zeros removed
/// (keeping one), `infty` / `-infty` for infinities.
pub fn format_number(x: f64) -> String {
    if x.is_infinite() {
        return if x > 0.0 {
            "infty".into()
        } else {
            "-infty".into()
        };
    }
    if x.is_nan() {
        return "NaN".into();
    }
    let mut s = format!("{x:.DECIMALS$}");
    while s.ends_with('0') && !s.ends_with(".0") {
        s.pop();
    }
    s
}

/// The header and units lines, each ending with a newline.
pub fn header(daa: &Daa) -> String {
    let c = daa.config();
    let u = c.output_units();
    let mut h = String::from(" Time, Ownship, Traffic, Alerter, Alert Level");
    let mut units = String::from("[s],,,,");
    for level in 1..=c.max_alert_level() {
        let _ = write!(h, ", Time to Volume of Alert({level})");
        units.push_str(", [s]");
    }
    h.push_str(", Horizontal Separation, Vertical Separation, Horizontal Closure Rate, Vertical Closure Rate, Projected HMD, Projected VMD, Projected TCPA, Projected DCPA, Projected TCOA");
    let (hor, ver, hs, vs) = (
        &u.horizontal.name,
        &u.vertical.name,
        &u.horizontal_speed.name,
        &u.vertical_speed.name,
    );
    let _ = write!(
        units,
        ", [{hor}], [{ver}], [{hs}], [{vs}], [{hor}], [{ver}], [s], [{hor}], [s]"
    );
    if daa.corrective_wcv().is_some() {
        h.push_str(", Projected TAUMOD (WCV*)");
        units.push_str(", [s]");
    }
    h.push('\n');
    units.push('\n');
    h + &units
}

/// One data line for `a`, ending with a newline.
pub fn row(daa: &Daa, a: &TrafficAlert) -> String {
    let c = daa.config();
    let u = c.output_units();
    let f = format_number;
    let mut r = format!(
        "{}, {}, {}, {}, {}",
        f(a.time_s),
        a.ownship_id,
        a.traffic_id,
        a.alerter_index,
        a.alert_level
    );
    for level in 0..c.max_alert_level() {
        r.push_str(", ");
        if let Some(t) = a.time_to_volume_s.get(level) {
            r.push_str(&f(t.unwrap_or(f64::INFINITY)));
        }
    }
    if a.time_to_volume_s.is_empty() {
        r.push('\n');
        return r;
    }
    let hor = |m: f64| f(m / u.horizontal.to_si);
    let ver = |m: f64| f(m / u.vertical.to_si);
    let _ = write!(
        r,
        ", {}, {}, {}, {}, {}, {}, {}, {}, ",
        hor(a.horizontal_separation_m()),
        ver(a.vertical_separation_m()),
        f(a.horizontal_closure_rate_mps() / u.horizontal_speed.to_si),
        f(a.vertical_closure_rate_mps() / u.vertical_speed.to_si),
        hor(a.hmd_m()),
        ver(a.vmd_m()),
        f(a.tcpa_s()),
        hor(a.dcpa_m()),
    );
    if let Some(t) = a.tcoa_s() {
        r.push_str(&f(t));
    }
    // DaidalusAlerting ends every row with this field, empty unless TAUMOD applies.
    r.push_str(", ");
    if let Some(t) = a.tau_mod_s
        && daa.corrective_wcv().is_some()
    {
        r.push_str(&f(t));
    }
    r.push('\n');
    r
}

#[cfg(test)]
mod tests {
    use super::format_number;

    #[test]
    fn numbers_print_like_daidalus() {
        assert_eq!(format_number(0.0), "0.0");
        assert_eq!(format_number(46.0), "46.0");
        assert_eq!(format_number(4.55919), "4.55919");
        assert_eq!(format_number(165.2688714), "165.268871");
        assert_eq!(format_number(f64::INFINITY), "infty");
        assert_eq!(format_number(-1.5), "-1.5");
    }
}
