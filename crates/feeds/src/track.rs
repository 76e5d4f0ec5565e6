//! Track building and fusion: one track per ICAO address, whatever source reported it.
//!
//! Pure: time comes in as `now_s` (seconds on the caller's clock, the same clock for every
//! source fused into one tracker). A report that would move an aircraft faster than
//! `speed_mps_max` (plus `jump_slack_m` for receiver timing jitter) is rejected and counted,
//! not believed; so is an altitude change faster than `vs_mps_max`. If a rejected position
//! is then confirmed by [`CONFIRMATIONS_TO_RESET`] mutually plausible reports, the track is
//! moved there (a first position that was itself wrong must not lock the track forever); the
//! same holds for altitude.

use std::collections::HashMap;

use crate::report::{Callsign, IcaoAddress, Integrity, LatLon, Report, SourceId};

/// Default number of tracks held at once; a new aircraft beyond it is dropped and counted.
pub const TRACKS_MAX: usize = 10_000;
/// Distinct sources remembered per track.
pub const SOURCES_PER_TRACK_MAX: usize = 8;
/// Consecutive consistent rejected positions that move a track.
pub const CONFIRMATIONS_TO_RESET: u32 = 2;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackerConfig {
    /// A track with no report for this long is dropped.
    pub stale_s: f64,
    pub tracks_max: usize,
    /// Fastest believable ground speed between two positions (600 m/s is about Mach 1.8 at
    /// altitude, above any civil aircraft).
    pub speed_mps_max: f64,
    /// Distance always allowed between positions, whatever the time between them: covers
    /// timestamp jitter between receivers and CPR resolution.
    pub jump_slack_m: f64,
    /// Fastest believable altitude change.
    pub vs_mps_max: f64,
    /// Altitude change always allowed (a Gillham-coded altitude steps by 100 ft).
    pub alt_slack_m: f64,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            stale_s: 60.0,
            tracks_max: TRACKS_MAX,
            speed_mps_max: 600.0,
            jump_slack_m: 1_000.0,
            vs_mps_max: 150.0,
            alt_slack_m: 300.0,
        }
    }
}

/// The fused state of one aircraft. SI units; `None` where no source has said yet.
#[derive(Clone, Debug, PartialEq)]
pub struct Track {
    pub icao: IcaoAddress,
    pub callsign: Option<Callsign>,
    pub position: Option<LatLon>,
    /// When the position was last updated (tracker clock).
    pub position_s: Option<f64>,
    pub alt_baro_m: Option<f64>,
    pub gs_mps: Option<f64>,
    pub trk_deg: Option<f64>,
    pub vs_mps: Option<f64>,
    pub squawk: Option<u16>,
    pub on_ground: Option<bool>,
    /// Last report of any kind (tracker clock).
    pub updated_s: f64,
    /// Unix time of the last report, when the source carried one.
    pub time_unix_s: Option<f64>,
    /// The source of the last accepted report.
    pub source: SourceId,
    /// Sources that have reported this aircraft, most recent last.
    pub sources: Vec<SourceId>,
}

/// Why a report did not update a track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrackReject {
    /// Position too far from the track's for the time elapsed.
    ImplausibleJump,
    /// Altitude change too fast for the time elapsed.
    ImplausibleAltitude,
    /// An address/parity frame for an aircraft not tracked: the address cannot be trusted.
    UnknownAddress,
    /// The tracker holds `tracks_max` tracks.
    TracksFull,
    /// Older than the track's position (a slower source, or reordering).
    OutOfOrder,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrackCounters {
    pub reports: u64,
    pub updates: u64,
    pub tracks_created: u64,
    pub tracks_expired: u64,
    pub implausible_jump: u64,
    pub implausible_altitude: u64,
    pub unknown_address: u64,
    pub tracks_full: u64,
    pub out_of_order: u64,
    /// Tracks moved after a rejected position was confirmed.
    pub position_resets: u64,
    /// Altitudes taken after a rejected altitude was confirmed.
    pub altitude_resets: u64,
}

#[derive(Debug)]
struct Entry {
    track: Track,
    /// A rejected position and its time, with how many reports have confirmed it.
    candidate: Option<(LatLon, f64, u32)>,
    /// The same for a rejected altitude (metres).
    candidate_alt: Option<(f64, f64, u32)>,
}

#[derive(Debug)]
pub struct Tracker {
    cfg: TrackerConfig,
    tracks: HashMap<IcaoAddress, Entry>,
    counters: TrackCounters,
}

/// What became of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The track changed (or was created).
    Updated,
    Rejected(TrackReject),
}

impl Tracker {
    pub fn new(cfg: TrackerConfig) -> Self {
        assert!(cfg.stale_s > 0.0 && cfg.speed_mps_max > 0.0 && cfg.vs_mps_max > 0.0);
        assert!(cfg.jump_slack_m >= 0.0 && cfg.alt_slack_m >= 0.0);
        Self {
            cfg,
            tracks: HashMap::new(),
            counters: TrackCounters::default(),
        }
    }

    pub fn counters(&self) -> &TrackCounters {
        &self.counters
    }

    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    pub fn get(&self, icao: IcaoAddress) -> Option<&Track> {
        self.tracks.get(&icao).map(|e| &e.track)
    }

    /// Every track held, in no particular order.
    pub fn tracks(&self) -> impl Iterator<Item = &Track> {
        self.tracks.values().map(|e| &e.track)
    }

    /// Drops tracks not updated for `stale_s`; returns how many.
    pub fn expire(&mut self, now_s: f64) -> usize {
        let before = self.tracks.len();
        let stale_s = self.cfg.stale_s;
        self.tracks
            .retain(|_, e| now_s - e.track.updated_s <= stale_s);
        let n = before - self.tracks.len();
        self.counters.tracks_expired += n as u64;
        n
    }

    /// Folds one report into its aircraft's track.
    pub fn ingest(&mut self, now_s: f64, report: &Report) -> Outcome {
        self.counters.reports += 1;
        let outcome = self.ingest_inner(now_s, report);
        match outcome {
            Outcome::Updated => self.counters.updates += 1,
            Outcome::Rejected(r) => {
                let c = &mut self.counters;
                match r {
                    TrackReject::ImplausibleJump => c.implausible_jump += 1,
                    TrackReject::ImplausibleAltitude => c.implausible_altitude += 1,
                    TrackReject::UnknownAddress => c.unknown_address += 1,
                    TrackReject::TracksFull => c.tracks_full += 1,
                    TrackReject::OutOfOrder => c.out_of_order += 1,
                }
            }
        }
        outcome
    }

    fn ingest_inner(&mut self, now_s: f64, report: &Report) -> Outcome {
        let cfg = self.cfg;
        let entry = match self.tracks.get_mut(&report.icao) {
            Some(e) if now_s - e.track.updated_s <= cfg.stale_s => e,
            Some(e) => {
                // Stale but not yet swept: start afresh, as a new track would.
                e.track = Track::empty(report.icao, now_s, report.source);
                e.candidate = None;
                e.candidate_alt = None;
                e
            }
            None => {
                if report.integrity != Integrity::Checked {
                    return Outcome::Rejected(TrackReject::UnknownAddress);
                }
                if self.tracks.len() >= cfg.tracks_max {
                    self.expire(now_s);
                    if self.tracks.len() >= cfg.tracks_max {
                        return Outcome::Rejected(TrackReject::TracksFull);
                    }
                }
                self.counters.tracks_created += 1;
                self.tracks.entry(report.icao).or_insert(Entry {
                    track: Track::empty(report.icao, now_s, report.source),
                    candidate: None,
                    candidate_alt: None,
                })
            }
        };
        let t = &mut entry.track;

        if let (Some(p), Some(old), Some(old_s)) = (report.position, t.position, t.position_s) {
            let dt_s = now_s - old_s;
            if dt_s < 0.0 {
                return Outcome::Rejected(TrackReject::OutOfOrder);
            }
            let reach_m = cfg.speed_mps_max * dt_s + cfg.jump_slack_m;
            if p.distance_m(old) > reach_m {
                let confirmed = match entry.candidate {
                    Some((c, c_s, n))
                        if p.distance_m(c)
                            <= cfg.speed_mps_max * (now_s - c_s).max(0.0) + cfg.jump_slack_m =>
                    {
                        n + 1
                    }
                    _ => 1,
                };
                if confirmed < CONFIRMATIONS_TO_RESET {
                    entry.candidate = Some((p, now_s, confirmed));
                    return Outcome::Rejected(TrackReject::ImplausibleJump);
                }
                self.counters.position_resets += 1;
                // The altitude belonged to the old position; do not check the new one against it.
                t.alt_baro_m = None;
            }
        }
        if let (Some(alt), Some(old)) = (report.alt_baro_m, t.alt_baro_m) {
            let dt_s = (now_s - t.updated_s).max(0.0);
            if (alt - old).abs() > cfg.vs_mps_max * dt_s + cfg.alt_slack_m {
                let confirmed = match entry.candidate_alt {
                    Some((c, c_s, n))
                        if (alt - c).abs()
                            <= cfg.vs_mps_max * (now_s - c_s).max(0.0) + cfg.alt_slack_m =>
                    {
                        n + 1
                    }
                    _ => 1,
                };
                if confirmed < CONFIRMATIONS_TO_RESET {
                    entry.candidate_alt = Some((alt, now_s, confirmed));
                    return Outcome::Rejected(TrackReject::ImplausibleAltitude);
                }
                self.counters.altitude_resets += 1;
            }
            entry.candidate_alt = None;
        }

        if let Some(p) = report.position {
            t.position = Some(p);
            t.position_s = Some(now_s);
            entry.candidate = None;
        }
        if report.alt_baro_m.is_some() {
            t.alt_baro_m = report.alt_baro_m;
        }
        if report.gs_mps.is_some() {
            t.gs_mps = report.gs_mps;
        }
        if report.trk_deg.is_some() {
            t.trk_deg = report.trk_deg;
        }
        if report.vs_mps.is_some() {
            t.vs_mps = report.vs_mps;
        }
        if let Some(c) = &report.callsign {
            t.callsign = Some(c.clone());
        }
        if report.squawk.is_some() {
            t.squawk = report.squawk;
        }
        if report.on_ground.is_some() {
            t.on_ground = report.on_ground;
        }
        if report.time_unix_s.is_some() {
            t.time_unix_s = report.time_unix_s;
        }
        t.updated_s = t.updated_s.max(now_s);
        t.source = report.source;
        t.sources.retain(|&s| s != report.source);
        if t.sources.len() == SOURCES_PER_TRACK_MAX {
            t.sources.remove(0);
        }
        t.sources.push(report.source);
        Outcome::Updated
    }
}

impl Track {
    fn empty(icao: IcaoAddress, now_s: f64, source: SourceId) -> Self {
        Self {
            icao,
            callsign: None,
            position: None,
            position_s: None,
            alt_baro_m: None,
            gs_mps: None,
            trk_deg: None,
            vs_mps: None,
            squawk: None,
            on_ground: None,
            updated_s: now_s,
            time_unix_s: None,
            source,
            sources: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::M_PER_FT;

    fn icao(n: u32) -> IcaoAddress {
        IcaoAddress::new(n).unwrap()
    }

    fn at(n: u32, source: u16, lat: f64, lon: f64) -> Report {
        let mut r = Report::new(icao(n), SourceId(source), Integrity::Checked);
        r.position = LatLon::new(lat, lon);
        r
    }

    fn alt(n: u32, alt_m: f64) -> Report {
        let mut r = Report::new(icao(n), SourceId(0), Integrity::AddressParity);
        r.alt_baro_m = Some(alt_m);
        r
    }

    #[test]
    fn two_sources_fuse_into_one_track() {
        let mut t = Tracker::new(TrackerConfig::default());
        assert_eq!(t.ingest(0.0, &at(1, 0, 45.0, 7.0)), Outcome::Updated);
        assert_eq!(t.ingest(0.5, &at(1, 1, 45.0005, 7.0)), Outcome::Updated);
        assert_eq!(t.len(), 1);
        let tr = t.get(icao(1)).unwrap();
        assert_eq!(tr.sources, vec![SourceId(0), SourceId(1)]);
        assert_eq!(tr.source, SourceId(1));
        assert_eq!(tr.position, LatLon::new(45.0005, 7.0));
    }

    #[test]
    fn implausible_jump_is_rejected_then_confirmed_position_moves_the_track() {
        let mut t = Tracker::new(TrackerConfig::default());
        t.ingest(0.0, &at(1, 0, 45.0, 7.0));
        // One degree of latitude (111 km) in one second.
        assert_eq!(
            t.ingest(1.0, &at(1, 0, 46.0, 7.0)),
            Outcome::Rejected(TrackReject::ImplausibleJump)
        );
        assert_eq!(t.get(icao(1)).unwrap().position, LatLon::new(45.0, 7.0));
        assert_eq!(t.counters().implausible_jump, 1);
        // A plausible one from the old position is still taken, and clears the candidate.
        assert_eq!(t.ingest(2.0, &at(1, 0, 45.001, 7.0)), Outcome::Updated);
        assert_eq!(
            t.ingest(3.0, &at(1, 0, 46.0, 7.0)),
            Outcome::Rejected(TrackReject::ImplausibleJump)
        );
        // Confirmed by a second report consistent with it: the track moves.
        assert_eq!(t.ingest(4.0, &at(1, 0, 46.001, 7.0)), Outcome::Updated);
        assert_eq!(t.get(icao(1)).unwrap().position, LatLon::new(46.001, 7.0));
        assert_eq!(t.counters().position_resets, 1);
    }

    #[test]
    fn altitude_jump_is_rejected() {
        let mut t = Tracker::new(TrackerConfig::default());
        t.ingest(0.0, &at(1, 0, 45.0, 7.0));
        assert_eq!(t.ingest(1.0, &alt(1, 3000.0)), Outcome::Updated);
        assert_eq!(
            t.ingest(2.0, &alt(1, 9000.0)),
            Outcome::Rejected(TrackReject::ImplausibleAltitude)
        );
        assert_eq!(t.ingest(3.0, &alt(1, 3100.0)), Outcome::Updated);
        assert_eq!(t.get(icao(1)).unwrap().alt_baro_m, Some(3100.0));
    }

    /// Regression: in the Toulouse recording a wrong first altitude (9 250 ft for an aircraft
    /// on the ground at 550 ft) made every later, correct altitude "implausible" (3 413 of them).
    #[test]
    fn regression_wrong_first_altitude_does_not_lock_the_track() {
        let mut t = Tracker::new(TrackerConfig::default());
        t.ingest(0.0, &at(1, 0, 43.6, 1.36));
        t.ingest(0.1, &alt(1, 9_250.0 * M_PER_FT));
        assert_eq!(
            t.ingest(0.4, &alt(1, 550.0 * M_PER_FT)),
            Outcome::Rejected(TrackReject::ImplausibleAltitude)
        );
        assert_eq!(t.ingest(0.6, &alt(1, 550.0 * M_PER_FT)), Outcome::Updated);
        assert_eq!(t.get(icao(1)).unwrap().alt_baro_m, Some(550.0 * M_PER_FT));
        assert_eq!(t.counters().altitude_resets, 1);
    }

    #[test]
    fn address_parity_report_needs_a_track() {
        let mut t = Tracker::new(TrackerConfig::default());
        assert_eq!(
            t.ingest(0.0, &alt(7, 1000.0)),
            Outcome::Rejected(TrackReject::UnknownAddress)
        );
        assert!(t.is_empty());
    }

    #[test]
    fn stale_tracks_expire_and_tracks_max_is_enforced() {
        let cfg = TrackerConfig {
            stale_s: 10.0,
            tracks_max: 2,
            ..TrackerConfig::default()
        };
        let mut t = Tracker::new(cfg);
        t.ingest(0.0, &at(1, 0, 45.0, 7.0));
        t.ingest(0.0, &at(2, 0, 45.0, 7.0));
        assert_eq!(
            t.ingest(5.0, &at(3, 0, 45.0, 7.0)),
            Outcome::Rejected(TrackReject::TracksFull)
        );
        assert_eq!(t.counters().tracks_full, 1);
        // Once the first two are stale, room is made for a new one.
        assert_eq!(t.ingest(10.5, &at(3, 0, 45.0, 7.0)), Outcome::Updated);
        assert_eq!(t.len(), 1);
        assert_eq!(t.counters().tracks_expired, 2);
        assert_eq!(t.expire(100.0), 1);
    }

    #[test]
    fn older_position_is_out_of_order() {
        let mut t = Tracker::new(TrackerConfig::default());
        t.ingest(10.0, &at(1, 0, 45.0, 7.0));
        assert_eq!(
            t.ingest(9.0, &at(1, 1, 45.0, 7.0)),
            Outcome::Rejected(TrackReject::OutOfOrder)
        );
    }
}
