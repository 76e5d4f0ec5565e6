//! DO-365 alerting for one ownship against its traffic, step by step (DAIDALUS `Daidalus` /
//! `DaidalusCore` alerting logic, v2.0.4).
//!
//! At each step, for each intruder:
//! 1. the alerter is the ownship's (ownship-centric logic) or the intruder's (intruder-centric);
//!    an aircraft whose alerter index is 0 or beyond the configured alerters is not alerted on;
//! 2. the raw alert level is the most severe level whose volume is predicted to be violated
//!    within that level's alerting time — or within its early alerting time when the intruder's
//!    previous output was already that level (DO-365 alerting-time hysteresis);
//! 3. the raw level goes through M-of-N, persistence and hysteresis ([`Hysteresis`]).
//!
//! History is kept while the same ownship is stepped forward by no more than the hysteresis
//! time; a new ownship, a step back in time, or a longer gap clears it.
//!
//! Geodetic states are projected into the ownship's tangent plane ([`EnuProjection`]); ground
//! velocities become air velocities when the ownship's heading and airspeed give a wind.

use std::collections::HashMap;

use crate::conf::{Config, Detector};
use crate::detect::{self, Loss, PairState, WcvTaumod};
use crate::encounter::{AircraftState, Position};
use crate::geom::Vec3;
use crate::hysteresis::Hysteresis;
use crate::projection::EnuProjection;

/// Most intruders whose alert history is kept; beyond it, histories older than the hysteresis
/// time (which would be reset on their next use anyway) are dropped and counted.
pub const TRACKED_INTRUDERS_MAX: usize = 100_000;

/// What the alerting logic says about one intruder at one step (DaidalusAlerting's row).
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficAlert {
    /// Step time, s.
    pub time_s: f64,
    /// Ownship name.
    pub ownship_id: String,
    /// Intruder name.
    pub traffic_id: String,
    /// 1-based index of the alerter used.
    pub alerter_index: usize,
    /// Alert level after filtering: 0 none; DO-365: 1 preventive, 2 corrective, 3 warning.
    pub alert_level: u32,
    /// Per level of the alerter (index 0 = level 1): time to violation of the level's volume
    /// within the lookahead, s; `None` when not violated within it.
    pub time_to_volume_s: Vec<Option<f64>>,
    /// Relative position, ownship minus intruder, local frame, m.
    pub relative_position_m: Vec3,
    /// Relative velocity, ownship minus intruder, m/s.
    pub relative_velocity_mps: Vec3,
    /// Lookahead time the projections use, s.
    pub lookahead_s: f64,
    /// Modified tau with the DTHR of alerter 1's corrective volume, s, when that volume is a
    /// WCV_TAUMOD and the aircraft converge horizontally.
    pub tau_mod_s: Option<f64>,
}

impl TrafficAlert {
    /// Current horizontal distance, m.
    pub fn horizontal_separation_m(&self) -> f64 {
        self.relative_position_m.xy().norm()
    }
    /// Current vertical distance, m.
    pub fn vertical_separation_m(&self) -> f64 {
        self.relative_position_m.z.abs()
    }
    /// Horizontal relative speed, m/s.
    pub fn horizontal_closure_rate_mps(&self) -> f64 {
        self.relative_velocity_mps.xy().norm()
    }
    /// Vertical relative speed, m/s.
    pub fn vertical_closure_rate_mps(&self) -> f64 {
        self.relative_velocity_mps.z.abs()
    }
    /// Horizontal miss distance within the lookahead, m.
    pub fn hmd_m(&self) -> f64 {
        detect::hmd(
            self.relative_position_m.xy(),
            self.relative_velocity_mps.xy(),
            self.lookahead_s,
        )
    }
    /// Vertical miss distance within the lookahead, m.
    pub fn vmd_m(&self) -> f64 {
        detect::vmd(
            self.relative_position_m.z,
            self.relative_velocity_mps.z,
            self.lookahead_s,
        )
    }
    /// Time to horizontal closest approach, s (0 when diverging or not moving relative).
    pub fn tcpa_s(&self) -> f64 {
        // Written so that a tcpa of −0 (aircraft at the same place) prints as 0, as DAIDALUS does.
        match detect::tcpa(
            self.relative_position_m.xy(),
            self.relative_velocity_mps.xy(),
        ) {
            Some(t) if t > 0.0 => t,
            _ => 0.0,
        }
    }
    /// Horizontal distance at [`Self::tcpa_s`], m.
    pub fn dcpa_m(&self) -> f64 {
        self.relative_velocity_mps
            .xy()
            .scal_add(self.tcpa_s(), self.relative_position_m.xy())
            .norm()
    }
    /// Time to co-altitude, s, when converging vertically (or co-altitude now).
    pub fn tcoa_s(&self) -> Option<f64> {
        detect::time_coalt(self.relative_position_m.z, self.relative_velocity_mps.z)
            .filter(|t| *t >= 0.0)
    }
}

/// The alerting state of one ownship.
#[derive(Debug, Clone)]
pub struct Daa {
    config: Config,
    ownship_id: Option<String>,
    now_s: Option<f64>,
    wind_mps: Vec3,
    histories: HashMap<String, Hysteresis>,
    histories_dropped: u64,
    skipped_no_alerter: u64,
    skipped_other_frame: u64,
}

impl Detector {
    /// Interval of loss within `[0, lookahead_s]`.
    pub fn detect(&self, p: &PairState, lookahead_s: f64) -> Loss {
        match self {
            Detector::WcvTaumod(w) => w.detect(p, lookahead_s),
            Detector::Cylinder(c) => c.detect(p, lookahead_s),
            Detector::Tcas3d(t) => crate::tcas::detect(t, p, lookahead_s),
        }
    }

    /// Interval of loss within `[b, t]` (absolute times from the state `p`), when there is one.
    pub fn conflict_between(&self, p: &PairState, b: f64, t: f64) -> Option<(f64, f64)> {
        if b > t {
            return None;
        }
        let loss = if b == 0.0 {
            self.detect(p, t)
        } else {
            self.detect(&p.at(b), t - b)
        };
        let tin = loss.time_in_s()?;
        let tout = loss.time_out_s()?;
        Some((tin + b, tout + b))
    }

    /// True when the volume is violated now.
    pub fn violation(&self, p: &PairState) -> bool {
        self.detect(p, VIOLATION_WINDOW_S).time_in_s() == Some(0.0)
    }
}

/// Window over which [`Detector::violation`] looks for a loss starting now, s.
const VIOLATION_WINDOW_S: f64 = 1e-3;

impl Daa {
    /// Alerting with a validated configuration and no history.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            ownship_id: None,
            now_s: None,
            wind_mps: Vec3::default(),
            histories: HashMap::new(),
            histories_dropped: 0,
            skipped_no_alerter: 0,
            skipped_other_frame: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Wind (ground minus air velocity) implied by the last ownship's heading and airspeed, m/s.
    pub fn wind_mps(&self) -> Vec3 {
        self.wind_mps
    }

    /// Alert histories dropped because more than [`TRACKED_INTRUDERS_MAX`] intruders were tracked.
    pub fn histories_dropped(&self) -> u64 {
        self.histories_dropped
    }

    /// Intruder states not alerted on because their alerter index is 0 or beyond the alerters
    /// (DaidalusAlerting prints no row for them either).
    pub fn skipped_no_alerter(&self) -> u64 {
        self.skipped_no_alerter
    }

    /// Intruder states skipped because they are geodetic with a Euclidean ownship or vice versa.
    pub fn skipped_other_frame(&self) -> u64 {
        self.skipped_other_frame
    }

    /// The corrective volume of alerter 1 when it is a WCV_TAUMOD (its DTHR defines the TAUMOD column).
    pub fn corrective_wcv(&self) -> Option<&WcvTaumod> {
        let a = self.config.alerters().first()?;
        let level = a.level_for_region(self.config.corrective_region())?;
        match a.levels().get(level - 1)?.detector() {
            Detector::WcvTaumod(w) => Some(w),
            _ => None,
        }
    }

    /// Runs one step at `time_s` and returns one alert per intruder that has a valid alerter, in
    /// the order given. Intruders named like the ownship, or in a different frame, are skipped;
    /// of two intruders with the same name the later one counts.
    pub fn step(
        &mut self,
        time_s: f64,
        ownship: &AircraftState,
        traffic: &[AircraftState],
    ) -> Vec<TrafficAlert> {
        let keep_history = match (&self.ownship_id, self.now_s) {
            (Some(id), Some(now)) => {
                id == &ownship.id && time_s >= now && time_s - now <= self.config.hysteresis_s()
            }
            _ => false,
        };
        if !keep_history {
            self.histories.clear();
        }
        self.ownship_id = Some(ownship.id.clone());
        self.now_s = Some(time_s);
        if let Some((heading_rad, airspeed_mps)) = ownship.air_velocity {
            let v = ownship.velocity_mps;
            let air = Vec3::new(
                airspeed_mps * heading_rad.sin(),
                airspeed_mps * heading_rad.cos(),
                v.z,
            );
            self.wind_mps = v - air;
        }
        let frame = Frame::new(ownship);
        let Some((so, vo)) = frame.state(ownship, self.wind_mps) else {
            return Vec::new();
        };

        let mut intruders: Vec<&AircraftState> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for t in traffic {
            if t.id == ownship.id {
                continue;
            }
            if !frame.accepts(t) {
                self.skipped_other_frame += 1;
                continue;
            }
            match index.get(t.id.as_str()) {
                Some(&i) => intruders[i] = t,
                None => {
                    index.insert(&t.id, intruders.len());
                    intruders.push(t);
                }
            }
        }
        let mut out = Vec::with_capacity(intruders.len());
        for intruder in intruders {
            let alerter_index = if self.config.ownship_centric() {
                ownship.alerter.unwrap_or(1)
            } else {
                intruder.alerter.unwrap_or(1)
            } as usize;
            let Some(alerter) = alerter_index
                .checked_sub(1)
                .and_then(|i| self.config.alerters().get(i))
            else {
                self.skipped_no_alerter += 1;
                continue;
            };
            let Some((si, vi)) = frame.state(intruder, self.wind_mps) else {
                continue;
            };
            let pair = PairState { so, vo, si, vi };
            let lookahead_s = self.config.lookahead_s();
            let losses: Vec<Loss> = alerter
                .levels()
                .iter()
                .map(|l| l.detector().detect(&pair, lookahead_s))
                .collect();
            let history = self.histories.get(&intruder.id);
            let raw = (1..=alerter.levels().len())
                .rev()
                .find(|&k| {
                    let level = &alerter.levels()[k - 1];
                    let early = history.is_some_and(|h| {
                        h.last_time_s().is_some_and(|t| t < time_s)
                            && h.last_value() == Some(k as u32)
                    });
                    let t = if early {
                        level.early_alerting_time_s()
                    } else {
                        level.alerting_time_s()
                    };
                    losses[k - 1].is_conflict_before(t)
                })
                .unwrap_or(0) as u32;
            if !self.histories.contains_key(&intruder.id)
                && self.histories.len() >= TRACKED_INTRUDERS_MAX
            {
                self.prune(time_s);
            }
            let (h, p, m) = (
                self.config.hysteresis_s(),
                self.config.persistence_s(),
                self.config.mofn(),
            );
            let alert_level = self
                .histories
                .entry(intruder.id.clone())
                .or_insert_with(|| Hysteresis::new(h, p, m))
                .apply(raw, time_s);
            let s = pair.s();
            let v = pair.v();
            out.push(TrafficAlert {
                time_s,
                ownship_id: ownship.id.clone(),
                traffic_id: intruder.id.clone(),
                alerter_index,
                alert_level,
                time_to_volume_s: losses.iter().map(Loss::time_in_s).collect(),
                relative_position_m: s,
                relative_velocity_mps: v,
                lookahead_s,
                tau_mod_s: self
                    .corrective_wcv()
                    .and_then(|w| w.horizontal_tau_mod_s(s.xy(), v.xy()))
                    .filter(|t| *t > 0.0),
            });
        }
        out
    }

    fn prune(&mut self, now_s: f64) {
        let limit = self.config.hysteresis_s();
        let before = self.histories.len();
        self.histories
            .retain(|_, h| h.last_time_s().is_some_and(|t| now_s - t <= limit));
        if self.histories.len() >= TRACKED_INTRUDERS_MAX {
            // Still full of live histories: forget them all rather than grow without bound.
            self.histories.clear();
        }
        self.histories_dropped += (before - self.histories.len()) as u64;
    }
}

/// The local frame of one step: the ownship's tangent plane, or the file's own Euclidean frame.
pub(crate) enum Frame {
    Geodetic(EnuProjection),
    Euclidean,
}

impl Frame {
    pub(crate) fn new(ownship: &AircraftState) -> Self {
        match ownship.position {
            Position::Geodetic(p) => Frame::Geodetic(EnuProjection::new(p.lat_rad, p.lon_rad)),
            Position::Euclidean(_) => Frame::Euclidean,
        }
    }

    /// True when `a` is given in the same kind of frame as the ownship.
    pub(crate) fn accepts(&self, a: &AircraftState) -> bool {
        matches!(
            (self, a.position),
            (Frame::Geodetic(_), Position::Geodetic(_))
                | (Frame::Euclidean, Position::Euclidean(_))
        )
    }

    /// Position and air velocity (ground velocity minus wind) in this frame; `None` for an
    /// aircraft given in the other kind of frame (DAIDALUS ignores such an intruder).
    pub(crate) fn state(&self, a: &AircraftState, wind_mps: Vec3) -> Option<(Vec3, Vec3)> {
        let air = a.velocity_mps - wind_mps;
        match (self, a.position) {
            (Frame::Geodetic(prj), Position::Geodetic(p)) => {
                Some((prj.project(p), prj.project_velocity(p, air)))
            }
            (Frame::Euclidean, Position::Euclidean(s)) => Some((s, air)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::parse_conf;

    const CONF: &str = "\
lookahead_time = 180 [s]
hysteresis_time = 5 [s]
alerters = A
A_alert_1_region = MID
A_alert_1_alerting_time = 10 [s]
A_alert_1_early_alerting_time = 30 [s]
A_alert_1_detector = det_1
A_det_1_D = 1000 [m]
A_det_1_H = 100 [m]
A_load_core_detection_det_1 = gov.nasa.larcfm.ACCoRD.CDCylinder
";

    fn ac(id: &str, y_m: f64, vy_mps: f64) -> AircraftState {
        AircraftState {
            id: id.into(),
            position: Position::Euclidean(Vec3::new(0.0, y_m, 1000.0)),
            velocity_mps: Vec3::new(0.0, vy_mps, 0.0),
            air_velocity: None,
            alerter: None,
            line: 0,
        }
    }

    fn level(daa: &mut Daa, t: f64, own: &str, range_m: f64) -> u32 {
        // Closure 100 m/s: the cylinder (radius 1000 m) is entered after (range − 1000)/100 s.
        let alerts = daa.step(t, &ac(own, 0.0, 50.0), &[ac("I", range_m, -50.0)]);
        alerts[0].alert_level
    }

    #[test]
    fn early_alerting_time_holds_a_raised_level() {
        let mut daa = Daa::new(parse_conf("t.conf", CONF).unwrap());
        assert_eq!(
            level(&mut daa, 0.0, "O", 3000.0),
            0,
            "20 s > alerting time 10 s"
        );
        assert_eq!(level(&mut daa, 1.0, "O", 1900.0), 1, "9 s < 10 s");
        assert_eq!(
            level(&mut daa, 2.0, "O", 3000.0),
            1,
            "20 s < early alerting time 30 s"
        );
        assert_eq!(level(&mut daa, 3.0, "O", 5000.0), 0, "40 s > 30 s");
    }

    #[test]
    fn a_new_ownship_or_a_long_gap_forgets_the_raised_level() {
        let mut daa = Daa::new(parse_conf("t.conf", CONF).unwrap());
        assert_eq!(level(&mut daa, 0.0, "O", 1900.0), 1);
        assert_eq!(
            level(&mut daa, 1.0, "P", 3000.0),
            0,
            "another ownship: no history"
        );
        assert_eq!(level(&mut daa, 2.0, "P", 1900.0), 1);
        assert_eq!(
            level(&mut daa, 10.0, "P", 3000.0),
            0,
            "8 s gap > hysteresis 5 s"
        );
    }
}
