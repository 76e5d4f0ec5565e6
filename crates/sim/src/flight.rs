//! Timed flight paths: straight legs and constant-rate turns, integrated in closed form.

use crate::geo::LatLon;

/// One leg of a flight: constant ground speed, turn rate and vertical speed for `duration_s`.
/// A straight leg has `turn_rate_deg_s == 0`; positive turns right (clockwise seen from above).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Leg {
    pub duration_s: u32,
    pub ground_speed_mps: f64,
    pub turn_rate_deg_s: f64,
    pub vertical_speed_mps: f64,
}

impl Leg {
    pub fn straight(duration_s: u32, ground_speed_mps: f64) -> Self {
        Self {
            duration_s,
            ground_speed_mps,
            turn_rate_deg_s: 0.0,
            vertical_speed_mps: 0.0,
        }
    }

    pub fn turn(duration_s: u32, ground_speed_mps: f64, turn_rate_deg_s: f64) -> Self {
        Self {
            duration_s,
            ground_speed_mps,
            turn_rate_deg_s,
            vertical_speed_mps: 0.0,
        }
    }
}

/// Kinematic state in the sortie's local frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kinematics {
    pub east_m: f64,
    pub north_m: f64,
    pub alt_m: f64,
    /// Course over ground, degrees clockwise from north, in [0, 360).
    pub track_deg: f64,
    pub ground_speed_mps: f64,
    pub vertical_speed_mps: f64,
}

impl Kinematics {
    /// The state `dt_s` into `leg`, starting from `self` (closed form; exact for the model).
    fn advance(&self, leg: &Leg, dt_s: f64) -> Kinematics {
        let v = leg.ground_speed_mps;
        let h0 = self.track_deg.to_radians();
        let w = leg.turn_rate_deg_s.to_radians();
        let (de, dn, h) = if w == 0.0 {
            (v * dt_s * h0.sin(), v * dt_s * h0.cos(), h0)
        } else {
            // d(east)/dt = v·sin(h0 + w·t), d(north)/dt = v·cos(h0 + w·t).
            let h = h0 + w * dt_s;
            (
                (v / w) * (h0.cos() - h.cos()),
                (v / w) * (h.sin() - h0.sin()),
                h,
            )
        };
        Kinematics {
            east_m: self.east_m + de,
            north_m: self.north_m + dn,
            alt_m: self.alt_m + leg.vertical_speed_mps * dt_s,
            track_deg: h.to_degrees().rem_euclid(360.0),
            ground_speed_mps: v,
            vertical_speed_mps: leg.vertical_speed_mps,
        }
    }
}

/// One aircraft's flight, from its first report to its last.
#[derive(Debug, Clone, PartialEq)]
pub struct Sortie {
    /// Party id in the agreement, e.g. `coalition`.
    pub party: String,
    /// Stable id of the aircraft within the scenario, e.g. `coalition-01`.
    pub aircraft_id: String,
    pub callsign: String,
    /// ICAO type designator, e.g. `F16`.
    pub aircraft_type: String,
    /// Seconds after the scenario start of the first report.
    pub start_s: u32,
    /// Origin of the local frame the flight is laid out in.
    pub anchor: LatLon,
    /// State at `start_s`; speeds and rates come from the legs.
    pub initial: Kinematics,
    pub legs: Vec<Leg>,
}

impl Sortie {
    /// Seconds after the scenario start of the last report.
    pub fn end_s(&self) -> u32 {
        self.start_s + self.legs.iter().map(|l| l.duration_s).sum::<u32>()
    }

    /// Local-frame state at `t_s` seconds after the scenario start; `None` outside the sortie.
    pub fn kinematics_at(&self, t_s: f64) -> Option<Kinematics> {
        let mut dt = t_s - f64::from(self.start_s);
        if dt < 0.0 || t_s > f64::from(self.end_s()) {
            return None;
        }
        let mut state = self.initial;
        for leg in &self.legs {
            let d = f64::from(leg.duration_s);
            if dt <= d {
                return Some(state.advance(leg, dt));
            }
            state = state.advance(leg, d);
            dt -= d;
        }
        Some(state)
    }

    /// Position (degrees) and altitude (metres) at `t_s`.
    pub fn position_at(&self, t_s: f64) -> Option<(LatLon, f64)> {
        self.kinematics_at(t_s)
            .map(|k| (self.anchor.offset(k.east_m, k.north_m), k.alt_m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sortie(legs: Vec<Leg>) -> Sortie {
        Sortie {
            party: "p".into(),
            aircraft_id: "p-1".into(),
            callsign: "P1".into(),
            aircraft_type: "F16".into(),
            start_s: 10,
            anchor: LatLon::new(35.0, 39.0),
            initial: Kinematics {
                east_m: 0.0,
                north_m: 0.0,
                alt_m: 5000.0,
                track_deg: 90.0,
                ground_speed_mps: 0.0,
                vertical_speed_mps: 0.0,
            },
            legs,
        }
    }

    #[test]
    fn half_turn_ends_two_radii_across() {
        // 180° at 3°/s and 150 m/s: radius v/ω = 150/(3π/180) ≈ 2864.8 m.
        let s = sortie(vec![Leg::straight(100, 150.0), Leg::turn(60, 150.0, 3.0)]);
        let k = s.kinematics_at(170.0).unwrap();
        let r = 150.0 / 3f64.to_radians();
        assert!((k.east_m - 15_000.0).abs() < 1e-6, "{k:?}");
        assert!((k.north_m + 2.0 * r).abs() < 1e-6, "{k:?}");
        assert!((k.track_deg - 270.0).abs() < 1e-9);
        assert_eq!(s.kinematics_at(9.0), None);
        assert_eq!(s.kinematics_at(171.0), None);
    }
}
