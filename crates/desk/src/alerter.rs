//! The narrow phase's configuration: a DAIDALUS alerter by name, one written out in `.conf`
//! text, or — when the agreement names none — one level from the agreement's own minima.

use deconflict_wellclear::conf::{Config, Detector, parse_conf};

/// The DAIDALUS v2.0.4 configurations the desk knows by name (the files NASA ships; see
/// `crates/wellclear/testdata/daidalus/README.txt` for their provenance and licence).
pub const NAMED: &[(&str, &str)] = &[
    (
        "DO_365A_no_SUM",
        include_str!("../../wellclear/testdata/daidalus/configurations/DO_365A_no_SUM.conf"),
    ),
    (
        "DO_365B_no_SUM",
        include_str!("../../wellclear/testdata/daidalus/configurations/DO_365B_no_SUM.conf"),
    ),
    (
        "CD3D",
        include_str!("../../wellclear/testdata/daidalus/configurations/CD3D.conf"),
    ),
    (
        "TCAS3D",
        include_str!("../../wellclear/testdata/daidalus/configurations/TCAS3D.conf"),
    ),
    (
        "Buffered_DWC_SC_228_nom_a",
        include_str!(
            "../../wellclear/testdata/daidalus/configurations/Buffered_DWC_SC_228_nom_a.conf"
        ),
    ),
    (
        "Buffered_DWC_SC_228_nom_b",
        include_str!(
            "../../wellclear/testdata/daidalus/configurations/Buffered_DWC_SC_228_nom_b.conf"
        ),
    ),
];

/// Margin added to the horizontal reach the broad phase must cover, metres: absorbs the
/// difference between the engine's projection and DAIDALUS's over the lookahead.
pub const BROAD_MARGIN_H_M: f64 = 500.0;
/// Margin added to the vertical reach, metres.
pub const BROAD_MARGIN_V_M: f64 = 30.0;

/// Why an alerter could not be set up.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AlerterError {
    #[error("unknown alerter {name:?}: known are {known}")]
    Unknown { name: String, known: String },
    #[error("alerter configuration: {0}")]
    Conf(String),
}

/// A validated alerter and what the broad phase must cover for it.
#[derive(Debug, Clone)]
pub struct Alerter {
    name: String,
    config: Config,
}

impl Alerter {
    /// A DAIDALUS configuration by its name (one of [`NAMED`]).
    pub fn named(name: &str) -> Result<Alerter, AlerterError> {
        let Some((n, text)) = NAMED.iter().find(|(n, _)| *n == name) else {
            return Err(AlerterError::Unknown {
                name: name.to_string(),
                known: NAMED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
            });
        };
        Self::from_conf(n, text)
    }

    /// An alerter written out as DAIDALUS `.conf` text; `name` names it in errors and views.
    pub fn from_conf(name: &str, text: &str) -> Result<Alerter, AlerterError> {
        let config = parse_conf(name, text).map_err(|e| AlerterError::Conf(e.to_string()))?;
        if config.alerters().is_empty() {
            return Err(AlerterError::Conf(format!("{name}: no alerters")));
        }
        Ok(Alerter {
            name: name.to_string(),
            config,
        })
    }

    /// One level from the agreement's minima: a cylinder of radius `h_sep_m` and half-height
    /// `v_sep_m`, alerted on when it will be entered within `lookahead_s` (a warning: the minima
    /// are the line not to cross).
    pub fn from_minima(
        h_sep_m: f64,
        v_sep_m: f64,
        lookahead_s: f64,
    ) -> Result<Alerter, AlerterError> {
        let text = format!(
            "lookahead_time = {lookahead_s} [s]\n\
             alerters = minima\n\
             minima_alert_1_region = NEAR\n\
             minima_alert_1_alerting_time = {lookahead_s} [s]\n\
             minima_alert_1_detector = det_1\n\
             minima_det_1_D = {h_sep_m} [m]\n\
             minima_det_1_H = {v_sep_m} [m]\n\
             minima_load_core_detection_det_1 = gov.nasa.larcfm.ACCoRD.CDCylinder\n"
        );
        Self::from_conf("agreement minima", &text)
    }

    /// The name the alerter was set up with.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The validated configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// `(lookahead s, horizontal m, vertical m)` the broad phase must cover so that every pair
    /// this alerter can alert on is a candidate; `None` when a detector has no such bound (TCAS
    /// tables): every pair is then examined.
    ///
    /// A WCV_TAUMOD volume is violated at `t` only if the aircraft come within DTHR
    /// horizontally by `t + TTHR` (the modified tau bounds the time to DTHR from above) and
    /// within ZTHR vertically by `t + TCOA`; a cylinder only if within D and H at `t`.
    pub fn reach(&self) -> Option<(f64, f64, f64)> {
        let mut extra_s: f64 = 0.0;
        let mut h: f64 = 0.0;
        let mut v: f64 = 0.0;
        for a in self.config.alerters() {
            for l in a.levels() {
                match l.detector() {
                    Detector::WcvTaumod(w) => {
                        h = h.max(w.dthr_m());
                        v = v.max(w.zthr_m());
                        extra_s = extra_s.max(w.tthr_s()).max(w.tcoa_s());
                    }
                    Detector::Cylinder(c) => {
                        h = h.max(c.d_m());
                        v = v.max(c.h_m());
                    }
                    Detector::Tcas3d(_) => return None,
                }
            }
        }
        Some((
            self.config.lookahead_s() + extra_s,
            h + BROAD_MARGIN_H_M,
            v + BROAD_MARGIN_V_M,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_configuration_parses() {
        for (name, _) in NAMED {
            let a = Alerter::named(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(a.name(), *name);
        }
        let e = Alerter::named("DO_365B_SUM").unwrap_err();
        assert!(e.to_string().contains("DO_365B_no_SUM"), "{e}");
    }

    #[test]
    fn reach_covers_the_do365_volumes() {
        let a = Alerter::named("DO_365B_no_SUM").unwrap();
        let (t, h, v) = a.reach().unwrap();
        // 180 s lookahead + 35 s TTHR; DTHR 0.66 nmi (1222 m) at most, ZTHR 450 ft.
        assert!(t >= 215.0, "{t}");
        assert!(h >= 0.66 * 1852.0, "{h}");
        assert!(v >= 450.0 * 0.3048, "{v}");
        assert!(Alerter::named("TCAS3D").unwrap().reach().is_none());
    }

    #[test]
    fn minima_make_one_warning_level() {
        let a = Alerter::from_minima(9260.0, 300.0, 300.0).unwrap();
        assert_eq!(a.config().alerters().len(), 1);
        assert_eq!(crate::Level::of(a.config(), 1, 1), crate::Level::Warning);
        let (t, h, v) = a.reach().unwrap();
        assert_eq!(t, 300.0);
        assert_eq!(h, 9260.0 + BROAD_MARGIN_H_M);
        assert_eq!(v, 300.0 + BROAD_MARGIN_V_M);
    }
}
