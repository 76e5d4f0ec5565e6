//! Sans-IO DO-365 well-clear detection and alerting, compatible with NASA DAIDALUS v2.0.4, and
//! DAIDALUS's file formats.
//!
//! What it owns:
//! - the detectors of RTCA DO-365/DO-365B DAA well clear: [`detect::WcvTaumod`]
//!   (DTHR, ZTHR, TTHR, TCOA; the buffered DWC variants are the same detector with other
//!   thresholds), the CD3D [`detect::Cylinder`] and the idealised TCAS II logic ([`tcas`]);
//! - the alerter ([`alerting::Daa`]): several alert levels per alerter, alerting and early
//!   alerting times, lookahead, multiple alerters chosen per aircraft, and the M-of-N /
//!   persistence / hysteresis filtering of DO-365B ([`hysteresis`]);
//! - DAIDALUS's local projection of geodetic states ([`projection`]), reproduced so that results
//!   agree with DAIDALUS to the printed digits;
//! - pure parsers for `.conf` configurations ([`conf::parse_conf`]) and `.daa`/`.xyz` encounters
//!   ([`encounter::parse_encounter`]), and the DaidalusAlerting CSV ([`csv`]).
//!
//! What it must never do: I/O (files, sockets, clocks — time is a parameter), panic on outside
//! input, or guess a unit. Sensor-uncertainty-mitigation (SUM) configurations are rejected with
//! an error naming the key that selects them.
//!
//! ```
//! use deconflict_wellclear::{Ownship, alerting_csv, parse_conf, parse_encounter};
//!
//! let conf = parse_conf("cd3d.conf", "\
//! lookahead_time = 180 [s]
//! alerters = CD3D
//! CD3D_alert_1_region = NEAR
//! CD3D_alert_1_alerting_time = 180 [s]
//! CD3D_alert_1_detector = det_1
//! CD3D_det_1_D = 5 [nmi]
//! CD3D_det_1_H = 1000 [ft]
//! CD3D_load_core_detection_det_1 = gov.nasa.larcfm.ACCoRD.CDCylinder
//! ")?;
//! let encounter = parse_encounter("head-on.xyz", "\
//! NAME sx sy sz trk gs vs time
//! [none] [nmi] [nmi] [ft] [deg] [knot] [fpm] [s]
//! Own   0  0 10000  90 300 0 0
//! Other 20 0 10000 270 300 0 0
//! ")?;
//! let csv = alerting_csv(&conf, &encounter, Ownship::First);
//! // 15 nmi to the 5 nmi cylinder at a 600 knot closure: 90 s, within the 180 s alerting time.
//! assert!(csv.lines().nth(2).unwrap().starts_with("0.0, Own, Other, 1, 1, 90.0,"));
//! # Ok::<(), deconflict_wellclear::ParseError>(())
//! ```
//!
//! It is self-contained on purpose: the all-pairs engine (`deconflict-engine`) has its own
//! kinematics; this crate follows DAIDALUS's conventions exactly, for comparison with it.

pub mod advice;
pub mod alerting;
pub mod bands;
pub mod batch;
pub mod conf;
pub mod csv;
pub mod detect;
pub mod encounter;
pub mod error;
pub mod geom;
pub mod hysteresis;
pub mod projection;
pub mod tcas;
pub mod units;

pub use alerting::{Daa, TrafficAlert};
pub use conf::{Config, parse_conf};
pub use encounter::{Encounter, parse_encounter};
pub use error::{ErrorKind, Location, ParseError};

/// Which aircraft of each step is the ownship.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownship<'a> {
    /// The first aircraft listed in each time step.
    First,
    /// The aircraft with this name; steps without it produce no alerts.
    Named(&'a str),
}

/// Runs the alerting logic over every step of an encounter, as DaidalusAlerting does, and
/// returns the alerts in step order.
pub fn run_encounter(
    daa: &mut Daa,
    encounter: &Encounter,
    ownship: Ownship<'_>,
) -> Vec<TrafficAlert> {
    let mut out = Vec::new();
    for step in &encounter.steps {
        let own = match ownship {
            Ownship::First => step.aircraft.first(),
            Ownship::Named(name) => step.aircraft.iter().find(|a| a.id == name),
        };
        let Some(own) = own else { continue };
        let traffic: Vec<_> = step
            .aircraft
            .iter()
            .filter(|a| a.id != own.id)
            .cloned()
            .collect();
        out.extend(daa.step(step.time_s, own, &traffic));
    }
    out
}

/// What a run left out, so that nothing is dropped silently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Time steps in the encounter.
    pub steps: usize,
    /// Steps without the requested ownship (no alerts for them).
    pub steps_without_ownship: usize,
    /// Alerts produced (CSV data rows).
    pub alerts: usize,
    /// Intruder states without a valid alerter (no row, as in DaidalusAlerting).
    pub skipped_no_alerter: u64,
    /// Intruder states in the other kind of frame than the ownship.
    pub skipped_other_frame: u64,
    /// Alert histories dropped at the [`alerting::TRACKED_INTRUDERS_MAX`] limit.
    pub histories_dropped: u64,
}

/// The whole DaidalusAlerting CSV (header, units line, one line per alert) for an encounter.
pub fn alerting_csv(config: &Config, encounter: &Encounter, ownship: Ownship<'_>) -> String {
    alerting_csv_with_stats(config, encounter, ownship).0
}

/// [`alerting_csv`], with the counts of what was left out.
pub fn alerting_csv_with_stats(
    config: &Config,
    encounter: &Encounter,
    ownship: Ownship<'_>,
) -> (String, RunStats) {
    let mut daa = Daa::new(config.clone());
    let alerts = run_encounter(&mut daa, encounter, ownship);
    let mut s = csv::header(&daa);
    for a in &alerts {
        s.push_str(&csv::row(&daa, a));
    }
    let steps_without_ownship = match ownship {
        Ownship::First => encounter
            .steps
            .iter()
            .filter(|st| st.aircraft.is_empty())
            .count(),
        Ownship::Named(n) => encounter
            .steps
            .iter()
            .filter(|st| !st.aircraft.iter().any(|a| a.id == n))
            .count(),
    };
    let stats = RunStats {
        steps: encounter.steps.len(),
        steps_without_ownship,
        alerts: alerts.len(),
        skipped_no_alerter: daa.skipped_no_alerter(),
        skipped_other_frame: daa.skipped_other_frame(),
        histories_dropped: daa.histories_dropped(),
    };
    (s, stats)
}
