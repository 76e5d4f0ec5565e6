//! The live picture: a stateful, sans-IO holder of the current tracks that the service drives.
//!
//! The service calls [`Picture::update`] for every report it accepts from a party or a receiver,
//! [`Picture::remove`] when a track ends, and [`Picture::tick`] at its own fixed rate; every call
//! takes `now` from the caller. A tick drops tracks older than `track_age_s_max`, projects every
//! other track to `now` flying straight at constant velocity, and probes the whole picture (broad
//! and narrow phase). Nothing here reads a clock, a file or a socket.
//!
//! Every limit is named and every rejected report or dropped track is counted in [`Counters`].

use std::collections::{BTreeMap, HashMap};

use crate::encounter::{ConflictWindow, Kin};
use crate::ids::{PartyId, TrackId};
use crate::kinematics::{AircraftState, Timestamp};
use crate::probe::{self, ConfigError, ProbeConfig, ProbeStats};

/// Default for [`PictureConfig::tracks_max`]: more than every aircraft airborne in the world at once.
pub const TRACKS_MAX_DEFAULT: usize = 200_000;
/// Hard ceiling for `tracks_max` (the broad phase indexes tracks with u32, and memory is bounded).
pub const TRACKS_MAX_CEILING: usize = crate::probe::SNAPSHOT_TRACKS_MAX;
/// Default for [`PictureConfig::track_age_s_max`], seconds.
pub const TRACK_AGE_S_MAX_DEFAULT: f64 = 30.0;
/// Default for [`PictureConfig::report_future_s_max`], seconds of clock skew tolerated.
pub const REPORT_FUTURE_S_MAX_DEFAULT: f64 = 2.0;

/// The picture's limits and what it probes for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PictureConfig {
    probe: ProbeConfig,
    tracks_max: usize,
    track_age_s_max: f64,
    report_future_s_max: f64,
}

impl PictureConfig {
    /// `tracks_max` in [1, [`TRACKS_MAX_CEILING`]]; `track_age_s_max` in (0, 3600] s: a track not
    /// updated for longer is dropped; `report_future_s_max` in [0, 60] s: a report time further
    /// ahead of `now` is rejected.
    pub fn new(
        probe: ProbeConfig,
        tracks_max: usize,
        track_age_s_max: f64,
        report_future_s_max: f64,
    ) -> Result<Self, ConfigError> {
        if !(1..=TRACKS_MAX_CEILING).contains(&tracks_max) {
            return Err(ConfigError::OutOfRange {
                field: "tracks_max",
                value: tracks_max as f64,
                min: 1.0,
                max: TRACKS_MAX_CEILING as f64,
            });
        }
        if !(track_age_s_max.is_finite() && track_age_s_max > 0.0 && track_age_s_max <= 3600.0) {
            return Err(ConfigError::OutOfRange {
                field: "track_age_s_max",
                value: track_age_s_max,
                min: 0.0,
                max: 3600.0,
            });
        }
        if !(report_future_s_max.is_finite() && (0.0..=60.0).contains(&report_future_s_max)) {
            return Err(ConfigError::OutOfRange {
                field: "report_future_s_max",
                value: report_future_s_max,
                min: 0.0,
                max: 60.0,
            });
        }
        Ok(Self {
            probe,
            tracks_max,
            track_age_s_max,
            report_future_s_max,
        })
    }
    /// What each tick probes for.
    #[must_use]
    pub fn probe(&self) -> &ProbeConfig {
        &self.probe
    }
    /// Most tracks held at once.
    #[must_use]
    pub fn tracks_max(&self) -> usize {
        self.tracks_max
    }
    /// Age after which a track is dropped, seconds.
    #[must_use]
    pub fn track_age_s_max(&self) -> f64 {
        self.track_age_s_max
    }
    /// How far ahead of `now` a report may be, seconds.
    #[must_use]
    pub fn report_future_s_max(&self) -> f64 {
        self.report_future_s_max
    }
}

impl Default for PictureConfig {
    fn default() -> Self {
        Self {
            probe: ProbeConfig::default(),
            tracks_max: TRACKS_MAX_DEFAULT,
            track_age_s_max: TRACK_AGE_S_MAX_DEFAULT,
            report_future_s_max: REPORT_FUTURE_S_MAX_DEFAULT,
        }
    }
}

/// One observation of an aircraft: who, whose, when, and its state at that time.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackReport {
    id: TrackId,
    party: PartyId,
    time: Timestamp,
    state: AircraftState,
}

impl TrackReport {
    /// A report (its parts are validated by their own constructors).
    #[must_use]
    pub fn new(id: TrackId, party: PartyId, time: Timestamp, state: AircraftState) -> Self {
        Self {
            id,
            party,
            time,
            state,
        }
    }
    /// The track.
    #[must_use]
    pub fn id(&self) -> &TrackId {
        &self.id
    }
    /// Its party.
    #[must_use]
    pub fn party(&self) -> &PartyId {
        &self.party
    }
    /// When the state was valid.
    #[must_use]
    pub fn time(&self) -> Timestamp {
        self.time
    }
    /// The state.
    #[must_use]
    pub fn state(&self) -> &AircraftState {
        &self.state
    }
}

/// Why a report was not taken into the picture. The picture is unchanged when this is returned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// The picture already holds `tracks_max` tracks and this one is new.
    #[error("picture full: {tracks_max} tracks held; new track {id} rejected")]
    PictureFull {
        /// The new track.
        id: TrackId,
        /// The limit.
        tracks_max: usize,
    },
    /// The report is older than `track_age_s_max`.
    #[error("report for {id} is {age_s} s old, more than {max_s} s")]
    Stale {
        /// The track.
        id: TrackId,
        /// Its age at `now`.
        age_s: f64,
        /// The limit.
        max_s: f64,
    },
    /// The report is further in the future than `report_future_s_max`.
    #[error("report for {id} is {ahead_s} s in the future, more than {max_s} s")]
    FromFuture {
        /// The track.
        id: TrackId,
        /// How far ahead of `now`.
        ahead_s: f64,
        /// The limit.
        max_s: f64,
    },
    /// The picture already holds a newer report for this track.
    #[error("report for {id} at {report_ms} ms is older than the one held, at {held_ms} ms")]
    OutOfOrder {
        /// The track.
        id: TrackId,
        /// The report's time.
        report_ms: i64,
        /// The held report's time.
        held_ms: i64,
    },
    /// The track is held under another party.
    #[error("track {id} belongs to party {held}, not {reported}")]
    PartyMismatch {
        /// The track.
        id: TrackId,
        /// Its party in the picture.
        held: PartyId,
        /// The party in the report.
        reported: PartyId,
    },
}

/// Whether a report created a track or updated one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// A new track.
    Inserted,
    /// An existing track, newer state.
    Updated,
}

/// Running totals since the picture was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Reports taken into the picture.
    pub reports_accepted: u64,
    /// Rejected: the picture was full.
    pub reports_rejected_full: u64,
    /// Rejected: too old.
    pub reports_rejected_stale: u64,
    /// Rejected: too far in the future.
    pub reports_rejected_future: u64,
    /// Rejected: older than the report held.
    pub reports_rejected_out_of_order: u64,
    /// Rejected: the track belongs to another party.
    pub reports_rejected_party: u64,
    /// Tracks dropped by a tick because their last report was too old.
    pub tracks_expired: u64,
    /// Tracks removed by [`Picture::remove`].
    pub tracks_removed: u64,
    /// Track projections skipped by a tick because the projected state left the accepted
    /// envelope (an altitude out of range after a long climb, say); the track stays held.
    pub projections_failed: u64,
    /// Ticks run.
    pub ticks: u64,
}

/// A predicted loss of separation found by a tick, between `a < b`.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    a: TrackId,
    party_a: PartyId,
    b: TrackId,
    party_b: PartyId,
    window: ConflictWindow,
}

impl Conflict {
    /// The first track (the smaller identifier).
    #[must_use]
    pub fn a(&self) -> &TrackId {
        &self.a
    }
    /// Its party.
    #[must_use]
    pub fn party_a(&self) -> &PartyId {
        &self.party_a
    }
    /// The second track.
    #[must_use]
    pub fn b(&self) -> &TrackId {
        &self.b
    }
    /// Its party.
    #[must_use]
    pub fn party_b(&self) -> &PartyId {
        &self.party_b
    }
    /// When (seconds after the tick's `now`) and how close.
    #[must_use]
    pub fn window(&self) -> &ConflictWindow {
        &self.window
    }
    /// Already inside both minima at the tick's `now`: a violation, not only a conflict.
    #[must_use]
    pub fn is_violation_now(&self) -> bool {
        self.window.t_in_s() == 0.0
    }
}

#[derive(Debug, Clone)]
struct Held {
    party: PartyId,
    party_index: u32,
    time: Timestamp,
    state: AircraftState,
    /// The ECEF point on the ellipsoid under the reported position: what
    /// [`Picture::candidates_of`] measures distances with before projecting anything.
    ground: crate::geodesy::Vec3,
}

/// The ECEF point on the ellipsoid under a state's position.
fn ground_of(s: &AircraftState) -> crate::geodesy::Vec3 {
    let p = s.position();
    crate::geodesy::geodetic_to_ecef(p.lat_deg().to_radians(), p.lon_deg().to_radians(), 0.0)
}

/// Slack on the distance a track is taken to have flown since its report, for the extrapolation
/// leaving the tangent plane (its drop to the ellipsoid is below 0.1 % of the distance flown
/// within the age limit) and rounding: a factor and metres.
const FLOWN_SLACK: (f64, f64) = (1.01, 100.0);

/// The held tracks projected to one instant, in identifier order, with the probe's inputs.
struct Projected<'a> {
    held: Vec<(&'a TrackId, &'a Held, AircraftState)>,
    kins: Vec<Kin>,
    party: Vec<u32>,
    failed: u64,
}

/// What [`Picture::candidates`] found: the live tracks projected to `now` and the pairs (indices
/// into `tracks`, `i < j`, sorted) a narrow phase must examine.
#[derive(Debug, Clone)]
pub struct Candidates {
    /// Track, party and state at `now`, in identifier order.
    pub tracks: Vec<(TrackId, PartyId, AircraftState)>,
    /// Candidate pairs of indices into `tracks`.
    pub pairs: Vec<(u32, u32)>,
    /// The broad phase's figures (`narrow_pairs` = candidates handed on).
    pub stats: ProbeStats,
}

/// The set of current tracks. See the module documentation.
#[derive(Debug, Clone)]
pub struct Picture {
    config: PictureConfig,
    // Identifier order, so that index order is identifier order in every tick.
    tracks: BTreeMap<TrackId, Held>,
    parties: HashMap<PartyId, u32>,
    counters: Counters,
    last_stats: ProbeStats,
}

impl Picture {
    /// An empty picture.
    #[must_use]
    pub fn new(config: PictureConfig) -> Self {
        Self {
            config,
            tracks: BTreeMap::new(),
            parties: HashMap::new(),
            counters: Counters::default(),
            last_stats: ProbeStats::default(),
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &PictureConfig {
        &self.config
    }

    /// Inserts or updates a track from a report observed at or before `now`.
    pub fn update(
        &mut self,
        now: Timestamp,
        report: TrackReport,
    ) -> Result<UpdateOutcome, UpdateError> {
        let age_s = now.seconds_since(report.time);
        if age_s > self.config.track_age_s_max {
            self.counters.reports_rejected_stale += 1;
            return Err(UpdateError::Stale {
                id: report.id,
                age_s,
                max_s: self.config.track_age_s_max,
            });
        }
        if -age_s > self.config.report_future_s_max {
            self.counters.reports_rejected_future += 1;
            return Err(UpdateError::FromFuture {
                id: report.id,
                ahead_s: -age_s,
                max_s: self.config.report_future_s_max,
            });
        }
        if let Some(held) = self.tracks.get_mut(&report.id) {
            if held.party != report.party {
                self.counters.reports_rejected_party += 1;
                return Err(UpdateError::PartyMismatch {
                    id: report.id,
                    held: held.party.clone(),
                    reported: report.party,
                });
            }
            if report.time < held.time {
                self.counters.reports_rejected_out_of_order += 1;
                return Err(UpdateError::OutOfOrder {
                    id: report.id,
                    report_ms: report.time.unix_ms(),
                    held_ms: held.time.unix_ms(),
                });
            }
            held.time = report.time;
            held.ground = ground_of(&report.state);
            held.state = report.state;
            self.counters.reports_accepted += 1;
            return Ok(UpdateOutcome::Updated);
        }
        if self.tracks.len() >= self.config.tracks_max {
            self.counters.reports_rejected_full += 1;
            return Err(UpdateError::PictureFull {
                id: report.id,
                tracks_max: self.config.tracks_max,
            });
        }
        let next = u32::try_from(self.parties.len()).unwrap_or(u32::MAX);
        let party_index = *self.parties.entry(report.party.clone()).or_insert(next);
        self.tracks.insert(
            report.id,
            Held {
                party: report.party,
                party_index,
                time: report.time,
                ground: ground_of(&report.state),
                state: report.state,
            },
        );
        self.counters.reports_accepted += 1;
        Ok(UpdateOutcome::Inserted)
    }

    /// Removes a track; returns whether it was held.
    pub fn remove(&mut self, id: &TrackId) -> bool {
        let removed = self.tracks.remove(id).is_some();
        if removed {
            self.counters.tracks_removed += 1;
        }
        removed
    }

    /// Counts a tick and drops the tracks older than the configured age at `now`.
    fn expire(&mut self, now: Timestamp) {
        self.counters.ticks += 1;
        let age_max = self.config.track_age_s_max;
        let before = self.tracks.len();
        self.tracks
            .retain(|_, h| now.seconds_since(h.time) <= age_max);
        self.counters.tracks_expired += (before - self.tracks.len()) as u64;
    }

    /// Every held track projected to `now` (identifier order), with the probe's inputs; a
    /// track whose projection fails is left out and counted in `failed`.
    fn project(&self, now: Timestamp) -> Projected<'_> {
        self.project_where(now, self.tracks.len(), |_, _| true)
    }

    /// [`Self::project`] for the tracks `keep` admits only (room made for `capacity`).
    fn project_where(
        &self,
        now: Timestamp,
        capacity: usize,
        keep: impl Fn(&TrackId, &Held) -> bool,
    ) -> Projected<'_> {
        let mut out = Projected {
            held: Vec::with_capacity(capacity),
            kins: Vec::with_capacity(capacity),
            party: Vec::with_capacity(capacity),
            failed: 0,
        };
        for (id, held) in self.tracks.iter().filter(|(id, h)| keep(id, h)) {
            match held.state.extrapolate(now.seconds_since(held.time)) {
                Ok(s) => {
                    out.kins.push(Kin::new(&s));
                    out.party.push(held.party_index);
                    out.held.push((id, held, s));
                }
                Err(_) => out.failed += 1,
            }
        }
        out
    }

    /// Drops expired tracks, projects the others to `now` and returns every conflict, sorted by
    /// (a, b).
    pub fn tick(&mut self, now: Timestamp) -> Vec<Conflict> {
        self.expire(now);
        let Projected {
            held: ids,
            kins,
            party,
            failed,
        } = self.project(now);
        let (found, stats) = probe::run(&kins, &party, &self.config.probe, false);
        let conflicts = found
            .into_iter()
            .map(|(i, j, window)| {
                let (a, ha) = (ids[i as usize].0, ids[i as usize].1);
                let (b, hb) = (ids[j as usize].0, ids[j as usize].1);
                Conflict {
                    a: a.clone(),
                    party_a: ha.party.clone(),
                    b: b.clone(),
                    party_b: hb.party.clone(),
                    window,
                }
            })
            .collect();
        self.counters.projections_failed += failed;
        self.last_stats = stats;
        conflicts
    }

    /// The broad phase alone, for a caller with its own narrow phase: drops expired tracks as
    /// [`Self::tick`] does, projects the others to `now`, and returns them (identifier order) with
    /// every pair of tracks of different parties (all pairs under [`PairPolicy::AllPairs`]) whose
    /// swept boxes overlap. Every pair that comes within the probe's minima — horizontally and
    /// vertically, each at any instant of the lookahead, not necessarily the same one — is among
    /// them (see [`crate::broad`]). `exact` returns every admitted pair instead, without the grid.
    ///
    /// [`PairPolicy::AllPairs`]: crate::probe::PairPolicy::AllPairs
    pub fn candidates(&mut self, now: Timestamp, exact: bool) -> Candidates {
        self.expire(now);
        let Projected {
            held,
            kins,
            party,
            failed,
        } = self.project(now);
        let tracks: Vec<_> = held
            .into_iter()
            .map(|(id, h, s)| (id.clone(), h.party.clone(), s))
            .collect();
        self.counters.projections_failed += failed;
        let same_party = self.config.probe.pairs() == crate::probe::PairPolicy::AllPairs;
        let mut pairs = Vec::new();
        let mut stats = ProbeStats {
            tracks: kins.len() as u64,
            ..ProbeStats::default()
        };
        if exact {
            let n = u32::try_from(kins.len()).unwrap_or(u32::MAX);
            for i in 0..n {
                for j in i + 1..n {
                    if same_party || party[i as usize] != party[j as usize] {
                        pairs.push((i, j));
                    }
                }
            }
        } else {
            let filter = crate::broad::PairFilter {
                party: &party,
                same_party,
            };
            stats.broad = crate::broad::for_each_candidate(
                &kins,
                filter,
                &self.config.probe,
                |i, j, _, _| pairs.push((i.min(j), i.max(j))),
            );
            pairs.sort_unstable();
        }
        stats.narrow_pairs = pairs.len() as u64;
        Candidates {
            tracks,
            pairs,
            stats,
        }
    }

    /// The broad phase for a few tracks only, between two cycles: every admitted pair holding a
    /// track of `of` that [`Self::candidates`] at `now` could give (every pair whose tracks
    /// could conflict is among them; every admitted pair under `exact`), with the tracks of
    /// those pairs only, projected to `now`, in identifier order. Ids of `of` not held are
    /// ignored; tracks past the age limit at `now` are left out, not dropped (the next
    /// [`Self::candidates`] does that and counts them).
    ///
    /// Its cost grows with the tracks near those of `of`, not with the picture: a track is
    /// projected only if its reported ground point is within reach of one of them — the
    /// horizontal separation, the distance both can close over the lookahead, and what each
    /// has flown since its report ([`FLOWN_SLACK`] added) — since a pair farther apart now
    /// cannot conflict (see [`crate::encounter`]). The boxes are then swept as in
    /// [`crate::broad`] over those tracks, which the proof there allows: it holds for any
    /// rotation and for any set holding both tracks of a pair.
    pub fn candidates_of(&self, now: Timestamp, of: &[TrackId], exact: bool) -> Candidates {
        let age_max = self.config.track_age_s_max;
        let live = |h: &Held| now.seconds_since(h.time) <= age_max;
        let flown = |h: &Held| {
            h.state.velocity().gs_mps() * now.seconds_since(h.time).abs() * FLOWN_SLACK.0
                + FLOWN_SLACK.1
        };
        let mut ids: Vec<&TrackId> = of.iter().collect();
        ids.sort_unstable();
        ids.dedup();
        let (t_s, h_m) = (self.config.probe.lookahead_s(), self.config.probe.h_sep_m());
        // Each track of `of` held and live: its ground point, speed and distance flown.
        let near: Vec<(crate::geodesy::Vec3, f64, f64)> = ids
            .iter()
            .filter_map(|id| self.tracks.get(*id))
            .filter(|h| live(h))
            .map(|h| (h.ground, h.state.velocity().gs_mps(), flown(h)))
            .collect();
        let within_reach = |h: &Held| {
            let gs = h.state.velocity().gs_mps();
            let own = flown(h);
            near.iter().any(|(g, gs_of, flown_of)| {
                let reach = h_m + (gs + gs_of) * t_s + own + flown_of;
                let d = crate::geodesy::sub(h.ground, *g);
                crate::geodesy::dot(d, d) <= reach * reach
            })
        };
        // A track of `of` is within reach of itself: it is projected too.
        let keep = |_: &TrackId, h: &Held| live(h) && (exact || within_reach(h));
        let Projected {
            held, kins, party, ..
        } = self.project_where(now, 0, keep);
        let wanted: Vec<u32> = ids
            .iter()
            .filter_map(|id| {
                let k = held.binary_search_by(|(t, _, _)| (*t).cmp(id)).ok()?;
                u32::try_from(k).ok()
            })
            .collect();
        let same_party = self.config.probe.pairs() == crate::probe::PairPolicy::AllPairs;
        let filter = crate::broad::PairFilter {
            party: &party,
            same_party,
        };
        let mut found: Vec<(u32, u32)> = Vec::new();
        let mut stats = ProbeStats {
            tracks: kins.len() as u64,
            ..ProbeStats::default()
        };
        if exact {
            // Every admitted pair goes on, as in `candidates`.
            let mut is_of = vec![false; kins.len()];
            for &i in &wanted {
                is_of[i as usize] = true;
            }
            for &i in &wanted {
                for j in 0..kins.len() as u32 {
                    let admitted = same_party || party[i as usize] != party[j as usize];
                    if j != i && !(is_of[j as usize] && j < i) && admitted {
                        found.push((i.min(j), i.max(j)));
                    }
                }
            }
        } else {
            stats.broad = crate::broad::for_each_candidate_of(
                &kins,
                filter,
                &self.config.probe,
                &wanted,
                |i, j, _, _| found.push((i, j)),
            );
        }
        // Only the tracks of the pairs, renumbered in identifier order.
        let mut used: Vec<u32> = found.iter().flat_map(|&(i, j)| [i, j]).collect();
        used.sort_unstable();
        used.dedup();
        let tracks = used
            .iter()
            .map(|&w| {
                let (id, h, s) = &held[w as usize];
                ((*id).clone(), h.party.clone(), *s)
            })
            .collect();
        let at = |w: u32| used.binary_search(&w).map_or(0, |k| k as u32);
        let mut pairs: Vec<(u32, u32)> = found.iter().map(|&(i, j)| (at(i), at(j))).collect();
        pairs.sort_unstable();
        pairs.dedup();
        stats.narrow_pairs = pairs.len() as u64;
        Candidates {
            tracks,
            pairs,
            stats,
        }
    }

    /// Running totals.
    #[must_use]
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The figures of the last tick.
    #[must_use]
    pub fn last_tick_stats(&self) -> &ProbeStats {
        &self.last_stats
    }

    /// Tracks held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    /// No tracks held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    /// The last report held for a track: its party, time and state.
    #[must_use]
    pub fn get(&self, id: &TrackId) -> Option<(&PartyId, Timestamp, &AircraftState)> {
        self.tracks.get(id).map(|h| (&h.party, h.time, &h.state))
    }
}
