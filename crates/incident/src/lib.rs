//! `deconflict-incident`: the evidence of an incident computed from the record, as a sans-IO
//! library.
//!
//! What it owns: the closest approach of two aircraft computed from the reports each party
//! recorded of its own aircraft ([`closest_approach`]) — interpolated between reports, with
//! the gap to the nearest report stated, so that a figure nobody typed settles "800 m" against
//! "under 500 m".
//!
//! # The computation
//!
//! Each track is a sequence of reports (time, latitude, longitude, altitude). Between two
//! consecutive reports an aircraft is taken to move in a straight line at constant speed: its
//! ground point (on the WGS-84 ellipsoid, altitude 0) and its altitude are interpolated
//! linearly. Between consecutive instants of the union of both tracks' report times, both
//! aircraft then move linearly, so the ground vector from one to the other is linear in time
//! and its squared length a convex quadratic: its minimum on each such interval is exact
//! (the vertex, clamped to the interval). The horizontal separation is that ground chord —
//! the engine's definition (see `deconflict_engine::encounter`), within 1 mm of the geodesic at
//! 10 km — and the vertical separation the altitude difference at the same instant. Of equal
//! horizontal minima, the earliest is taken. Only the time both tracks cover (and the window
//! asked for) is searched: nothing is extrapolated.
//!
//! # The incident
//!
//! [`Incident`] (`model.rs`) is an incident's course: filed with the pairs of aircraft of
//! different parties in a window and their computed closest approaches, the alert and line
//! entries of the window and the filing party's [`Account`]; the other parties' accounts (due
//! by a deadline, as a line message's acknowledgement is); then the working group's
//! [`Assessment`]s — a [`RiskCategory`] A–E as the UK Airprox Board uses them, [`Factor`]s from
//! a fixed list named in English and Russian (`assessment.rs`), remarks — by the members each
//! party names in the agreement. [`Status`]: filed → accounts complete → agreed (every party's
//! latest assessment gives the same category) or disputed (each side's view kept side by side).
//!
//! What it must never do: I/O, read a clock, draw randomness, start threads. Invalid reports
//! are refused with the index of the first bad one; nothing is guessed. A refused input changes
//! nothing.

pub mod assessment;
pub mod model;

pub use assessment::{Factor, Lang, RiskCategory};
pub use model::{
    Account, Action, Aircraft, Assessment, Config, Effect, Filing, GivenAccount, GivenAssessment,
    Incident, IncidentError, OwnFigure, Pair, RecordKind, RecordRef, Seen, Status, Window,
};

use deconflict_engine::geodesy::{Vec3, geodetic_to_ecef};

/// The field of an `incident_report` entry naming its step (`filing`, `evidence`, `account`,
/// `assessment`).
pub const COURSE_FIELD: &str = "course";
/// The field of an assessment's entry that carries its risk category (`A`…`E`, as the UK
/// Airprox Board uses them). The entry's author is the working-group member.
pub const RISK_CATEGORY_FIELD: &str = "risk_category";
/// The field of an assessment's entry naming the party whose working-group member assessed:
/// the working group's report counts one view per party.
pub const ASSESSED_FOR_FIELD: &str = "assessed_for";

/// Most reports of one track in one computation.
pub const REPORTS_MAX: usize = 1_000_000;
/// Altitudes accepted, metres above mean sea level (the Dead Sea shore to above any aircraft
/// the agreement covers).
pub const ALT_M_MIN: f64 = -1_000.0;
/// See [`ALT_M_MIN`].
pub const ALT_M_MAX: f64 = 50_000.0;

/// One recorded report of an aircraft: when and where.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Report {
    /// Time of the observation, ms since the Unix epoch.
    pub time_ms: i64,
    /// Latitude, degrees (WGS-84).
    pub lat_deg: f64,
    /// Longitude, degrees.
    pub lon_deg: f64,
    /// Altitude, metres.
    pub alt_m: f64,
}

/// Where an aircraft was at the closest approach (interpolated).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Position {
    /// Latitude, degrees.
    pub lat_deg: f64,
    /// Longitude, degrees.
    pub lon_deg: f64,
    /// Altitude, metres.
    pub alt_m: f64,
}

/// The closest approach of two tracks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClosestApproach {
    /// Smallest horizontal separation, metres.
    pub horizontal_m: f64,
    /// Vertical separation at that instant, metres (absolute).
    pub vertical_m: f64,
    /// The instant, ms since the Unix epoch (rounded to the millisecond).
    pub time_ms: i64,
    /// Aircraft a then.
    pub a: Position,
    /// Aircraft b then.
    pub b: Position,
    /// The larger of the two tracks' distances in time from that instant to their nearest
    /// report, ms: how much of the figure is interpolation.
    pub gap_ms: i64,
}

/// Why no closest approach could be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ApproachError {
    /// A track has no report.
    #[error("track {track} has no report")]
    Empty {
        /// `a` or `b`.
        track: char,
    },
    /// A track has more than [`REPORTS_MAX`] reports.
    #[error("track {track} has {len} reports, more than {REPORTS_MAX}")]
    TooMany {
        /// `a` or `b`.
        track: char,
        /// Reports given.
        len: usize,
    },
    /// A report out of range or out of order.
    #[error("track {track} report {index}: {why}")]
    Invalid {
        /// `a` or `b`.
        track: char,
        /// Index of the report.
        index: usize,
        /// What is wrong.
        why: String,
    },
    /// The window is inverted.
    #[error("window from {from_ms} ms to {to_ms} ms is inverted")]
    Window {
        /// Start.
        from_ms: i64,
        /// End.
        to_ms: i64,
    },
}

fn check(track: char, reports: &[Report]) -> Result<(), ApproachError> {
    if reports.is_empty() {
        return Err(ApproachError::Empty { track });
    }
    if reports.len() > REPORTS_MAX {
        return Err(ApproachError::TooMany {
            track,
            len: reports.len(),
        });
    }
    let bad = |index, why: String| ApproachError::Invalid { track, index, why };
    for (i, f) in reports.iter().enumerate() {
        if !(-90.0..=90.0).contains(&f.lat_deg) {
            return Err(bad(i, format!("latitude {} outside -90..=90", f.lat_deg)));
        }
        if !(-180.0..=180.0).contains(&f.lon_deg) {
            return Err(bad(
                i,
                format!("longitude {} outside -180..=180", f.lon_deg),
            ));
        }
        if !(ALT_M_MIN..=ALT_M_MAX).contains(&f.alt_m) {
            return Err(bad(
                i,
                format!("altitude {} m outside {ALT_M_MIN}..={ALT_M_MAX}", f.alt_m),
            ));
        }
        if i > 0 && f.time_ms <= reports[i - 1].time_ms {
            return Err(bad(
                i,
                format!(
                    "time {} ms not after the previous report's {} ms",
                    f.time_ms,
                    reports[i - 1].time_ms
                ),
            ));
        }
    }
    Ok(())
}

fn ground(f: &Report) -> Vec3 {
    geodetic_to_ecef(f.lat_deg.to_radians(), f.lon_deg.to_radians(), 0.0)
}

fn lerp(a: f64, b: f64, s: f64) -> f64 {
    a + (b - a) * s
}

/// A track's state at time `t` (ms, within its reports' span): ground point, position, and the
/// distance in time to its nearest report.
fn at(reports: &[Report], t: f64) -> (Vec3, Position, f64) {
    // The last report at or before t.
    let i = reports
        .partition_point(|f| (f.time_ms as f64) <= t)
        .saturating_sub(1);
    let f0 = &reports[i];
    let (f1, s) = match reports.get(i + 1) {
        Some(f1) => (
            f1,
            (t - f0.time_ms as f64) / (f1.time_ms - f0.time_ms) as f64,
        ),
        None => (f0, 0.0),
    };
    let s = s.clamp(0.0, 1.0);
    let (g0, g1) = (ground(f0), ground(f1));
    let g = [
        lerp(g0[0], g1[0], s),
        lerp(g0[1], g1[1], s),
        lerp(g0[2], g1[2], s),
    ];
    let pos = Position {
        lat_deg: lerp(f0.lat_deg, f1.lat_deg, s),
        lon_deg: lerp(f0.lon_deg, f1.lon_deg, s),
        alt_m: lerp(f0.alt_m, f1.alt_m, s),
    };
    let since = (t - f0.time_ms as f64).abs();
    let gap = match reports.get(i + 1) {
        Some(f1) => since.min((f1.time_ms as f64 - t).abs()),
        None => since,
    };
    (g, pos, gap)
}

fn dist(a: Vec3, b: Vec3) -> f64 {
    ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2) + (b[2] - a[2]).powi(2)).sqrt()
}

/// The closest approach of tracks `a` and `b` within `[from_ms, to_ms]`; `None` when the
/// tracks' reports do not overlap in time within the window.
pub fn closest_approach(
    a: &[Report],
    b: &[Report],
    from_ms: i64,
    to_ms: i64,
) -> Result<Option<ClosestApproach>, ApproachError> {
    check('a', a)?;
    check('b', b)?;
    if to_ms < from_ms {
        return Err(ApproachError::Window { from_ms, to_ms });
    }
    let span = |f: &[Report]| (f[0].time_ms, f[f.len() - 1].time_ms);
    let ((a0, a1), (b0, b1)) = (span(a), span(b));
    let lo = a0.max(b0).max(from_ms);
    let hi = a1.min(b1).min(to_ms);
    if lo > hi {
        return Ok(None);
    }
    // The instants where either aircraft changes its straight line.
    let mut cuts: Vec<i64> = a
        .iter()
        .chain(b)
        .map(|f| f.time_ms)
        .filter(|t| (lo..=hi).contains(t))
        .chain([lo, hi])
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut best: Option<(f64, f64)> = None; // (horizontal, t)
    let mut consider = |t: f64| {
        let (ga, _, _) = at(a, t);
        let (gb, _, _) = at(b, t);
        let h = dist(ga, gb);
        if best.is_none_or(|(bh, _)| h < bh) {
            best = Some((h, t));
        }
    };
    consider(lo as f64);
    for w in cuts.windows(2) {
        let (t0, t1) = (w[0] as f64, w[1] as f64);
        // Within (t0, t1) both move linearly: r(s) = r0 + (r1 − r0) s, s ∈ [0, 1].
        let r = |t: f64| {
            let (ga, _, _) = at(a, t);
            let (gb, _, _) = at(b, t);
            [gb[0] - ga[0], gb[1] - ga[1], gb[2] - ga[2]]
        };
        let (r0, r1) = (r(t0), r(t1));
        let d = [r1[0] - r0[0], r1[1] - r0[1], r1[2] - r0[2]];
        let dd = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
        let s = if dd > 0.0 {
            (-(r0[0] * d[0] + r0[1] * d[1] + r0[2] * d[2]) / dd).clamp(0.0, 1.0)
        } else {
            0.0
        };
        consider(t0 + s * (t1 - t0));
        consider(t1);
    }
    let Some((_, t)) = best else {
        unreachable!("the window holds at least one instant")
    };
    // Give the instant to the millisecond and every figure at that very instant, so that
    // anyone recomputing from the same reports at the printed time gets the same numbers.
    let t = t.round();
    let (ga, pa, gap_a) = at(a, t);
    let (gb, pb, gap_b) = at(b, t);
    Ok(Some(ClosestApproach {
        horizontal_m: dist(ga, gb),
        vertical_m: (pb.alt_m - pa.alt_m).abs(),
        time_ms: t as i64,
        a: pa,
        b: pb,
        gap_ms: gap_a.max(gap_b).round() as i64,
    }))
}
