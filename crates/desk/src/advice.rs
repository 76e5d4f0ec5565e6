//! Coordinated advice on a tactical alert of corrective level or above: each side's guidance
//! bands against the other and complementary senses (one climbs, the other descends; each turns
//! away from the other, both right when head-on), from `wellclear::advice::coordinate`.
//!
//! The advice is a pure function of what the record keeps: the two aircraft's latest reports at
//! the record's resolution ([`quantize`]: 1e-6°, mm, 1e-3°, mm/s — the units of the record's
//! track summaries), flown straight along their great circles to the alert's time ([`state`]),
//! named `<party>/<track id>`, and the alerter's configuration. So whoever holds the record (each
//! party for the fields disclosed to it, a working group with the openings for the rest) calls
//! `coordinate(&state(a), &state(b), config)` and gets the same pairing.

use deconflict_wellclear as wellclear;
use wellclear::advice::{AdviceError, Turn, Vertical};
use wellclear::bands::{KindBands, Region, StepBands};
use wellclear::encounter::{AircraftState, Position};
use wellclear::geom::Vec3;
use wellclear::projection::{LatLonAlt, great_circle_after};

use crate::input::Report;

/// Record units per degree of latitude or longitude (µ°).
pub const POSITION_PER_DEG: f64 = 1e6;
/// Record units per metre of altitude (mm).
pub const ALTITUDE_PER_M: f64 = 1e3;
/// Record units per degree of track (m°).
pub const TRACK_PER_DEG: f64 = 1e3;
/// Record units per m/s of ground speed or vertical rate (mm/s).
pub const SPEED_PER_MPS: f64 = 1e3;

/// One band: an interval of values (SI: rad, m/s, m) and its region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub low: f64,
    pub up: f64,
    pub region: Region,
}

/// One aircraft's guidance bands against the other, per kind (SI; directions in rad from true
/// north, clockwise).
#[derive(Debug, Clone, PartialEq)]
pub struct Bands {
    pub direction_rad: Vec<Range>,
    pub horizontal_speed_mps: Vec<Range>,
    pub vertical_speed_mps: Vec<Range>,
    pub altitude_m: Vec<Range>,
}

impl Bands {
    fn of(b: &StepBands) -> Bands {
        let ranges = |k: &KindBands| -> Vec<Range> {
            k.ranges
                .iter()
                .filter(|r| r.low.is_finite() && r.up.is_finite())
                .map(|r| Range {
                    low: r.low,
                    up: r.up,
                    region: r.region,
                })
                .collect()
        };
        Bands {
            direction_rad: ranges(&b.kinds[0]),
            horizontal_speed_mps: ranges(&b.kinds[1]),
            vertical_speed_mps: ranges(&b.kinds[2]),
            altitude_m: ranges(&b.kinds[3]),
        }
    }
}

/// The suggestion for one side's aircraft.
#[derive(Debug, Clone, PartialEq)]
pub struct SideAdvice {
    pub party: String,
    pub track_id: String,
    pub vertical: Vertical,
    /// The altitude to reach in that sense (the bands' altitude resolution), m; `None` when the
    /// bands give none that way.
    pub altitude_m: Option<f64>,
    pub turn: Turn,
    /// The direction to reach in that sense (the bands' direction resolution), rad from true
    /// north; `None` when the bands give none that way.
    pub direction_rad: Option<f64>,
    /// This aircraft's bands against the other.
    pub bands: Bands,
}

/// The advice on one alert: what it was computed from and each side's suggestion, in the
/// alert's side order.
#[derive(Debug, Clone, PartialEq)]
pub struct PairAdvice {
    /// The alert's time, to which both reports are flown.
    pub at_ms: i64,
    /// The two reports, quantized as the record keeps them.
    pub basis: [Report; 2],
    pub sides: [SideAdvice; 2],
}

/// The report at the record's resolution: latitude and longitude to 1e-6°, altitude to the mm,
/// track to 1e-3°, speeds to the mm/s.
pub fn quantize(r: &Report) -> Report {
    let q = |x: f64, per: f64| (x * per).round() / per;
    Report {
        lat_deg: q(r.lat_deg, POSITION_PER_DEG),
        lon_deg: q(r.lon_deg, POSITION_PER_DEG),
        alt_m: q(r.alt_m, ALTITUDE_PER_M),
        track_deg: q(r.track_deg, TRACK_PER_DEG),
        ground_speed_mps: q(r.ground_speed_mps, SPEED_PER_MPS),
        vertical_rate_mps: q(r.vertical_rate_mps, SPEED_PER_MPS),
        ..r.clone()
    }
}

/// The aircraft `<party>/<track id>` at `at_ms`, from its (quantized) report: the reported
/// ground velocity, the position flown from the report's time along the great circle of its
/// track at its ground speed and vertical rate (DAIDALUS's spherical Earth).
pub fn state(party: &str, r: &Report, at_ms: i64) -> AircraftState {
    let trk = r.track_deg.to_radians();
    let v = Vec3::new(
        r.ground_speed_mps * trk.sin(),
        r.ground_speed_mps * trk.cos(),
        r.vertical_rate_mps,
    );
    let at = LatLonAlt {
        lat_rad: r.lat_deg.to_radians(),
        lon_rad: r.lon_deg.to_radians(),
        alt_m: r.alt_m,
    };
    let dt_s = (at_ms - r.time_ms) as f64 / 1000.0;
    AircraftState {
        id: format!("{party}/{}", r.track_id),
        position: Position::Geodetic(great_circle_after(at, v, dt_s)),
        velocity_mps: v,
        air_velocity: None,
        alerter: None,
        line: 0,
    }
}

/// Coordinated advice for the two sides of an alert at `at_ms`: `a` and `b` are each side's
/// party and latest report.
pub fn advise(
    config: &wellclear::Config,
    at_ms: i64,
    a: (&str, &Report),
    b: (&str, &Report),
) -> Result<PairAdvice, AdviceError> {
    let (qa, qb) = (quantize(a.1), quantize(b.1));
    let advice =
        wellclear::advice::coordinate(&state(a.0, &qa, at_ms), &state(b.0, &qb, at_ms), config)?;
    let side = |party: &str, r: &Report, s: &wellclear::advice::Suggestion| SideAdvice {
        party: party.to_string(),
        track_id: r.track_id.clone(),
        vertical: s.vertical,
        altitude_m: s.altitude_m,
        turn: s.turn,
        direction_rad: s.direction_rad,
        bands: Bands::of(&s.bands),
    };
    let sides = [side(a.0, &qa, &advice.own), side(b.0, &qb, &advice.other)];
    Ok(PairAdvice {
        at_ms,
        basis: [qa, qb],
        sides,
    })
}

/// `climb` or `descend`.
pub fn vertical_name(v: Vertical) -> &'static str {
    match v {
        Vertical::Climb => "climb",
        Vertical::Descend => "descend",
    }
}

/// `right` or `left`.
pub fn turn_name(t: Turn) -> &'static str {
    match t {
        Turn::Right => "right",
        Turn::Left => "left",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(time_ms: i64) -> Report {
        Report {
            track_id: "t1".into(),
            time_ms,
            lat_deg: 35.123_456_789,
            lon_deg: 38.987_654_321,
            alt_m: 6_000.123_456,
            track_deg: 90.000_4,
            ground_speed_mps: 200.000_4,
            vertical_rate_mps: -1.000_4,
            callsign: None,
            aircraft_type: None,
            icao24: None,
            squawk: None,
        }
    }

    #[test]
    fn quantized_values_read_back_from_record_integers_bit_for_bit() {
        let q = quantize(&report(0));
        // What an offline reader rebuilds from the record's integers.
        let back = |x: f64, per: f64| ((x * per).round() as i64) as f64 / per;
        assert_eq!(q.lat_deg, back(q.lat_deg, POSITION_PER_DEG));
        assert_eq!(q.lat_deg, 35.123_457);
        assert_eq!(q.alt_m, 6000.123);
        assert_eq!(q.track_deg, 90.0);
        assert_eq!(q.vertical_rate_mps, -1.0);
    }

    #[test]
    fn a_report_is_flown_to_the_alert_time() {
        let r = quantize(&report(1_000));
        let s = state("a", &r, 3_000);
        assert_eq!(s.id, "a/t1");
        let Position::Geodetic(p) = s.position else {
            panic!("geodetic")
        };
        // Two seconds east at 200 m/s, down 2 m.
        let east_m = (p.lon_rad - r.lon_deg.to_radians())
            * r.lat_deg.to_radians().cos()
            * wellclear::projection::EARTH_RADIUS_M;
        assert!((east_m - 400.0).abs() < 0.5, "{east_m}");
        assert!((p.alt_m - (r.alt_m - 2.0)).abs() < 1e-9);
    }
}
