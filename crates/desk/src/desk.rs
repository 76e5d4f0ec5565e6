//! The desk: one agreement's live state, changed one input at a time.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use deconflict_airspace as airspace;
use deconflict_engine as engine;
use deconflict_wellclear as wellclear;

use crate::alerter::Alerter;
pub use crate::input::{ReceiverReport, Report};
use crate::level::Level;

mod tick;

/// Most live tracks.
pub const TRACKS_MAX: usize = 200_000;
/// A track with no report for this long leaves the picture, seconds.
pub const TRACK_AGE_S_MAX: f64 = 30.0;
/// Most outputs waiting to be polled; beyond it new ones are dropped and counted.
pub const OUTBOX_MAX: usize = 1_000_000;
/// Most tracks new to the picture held for [`Desk::grade_arrivals`] between two passes; later
/// ones wait for the next tick, which grades every track (counted in
/// [`Counters::arrivals_left_to_tick`]).
pub const ARRIVALS_MAX: usize = 64;
/// Where a report comes from when a party pushes it.
pub const SOURCE_PUSH: &str = "push";

/// Why the desk could not be set up.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    #[error("picture: {0}")]
    Picture(String),
    #[error("geography: {0}")]
    Geography(String),
}

/// Why a report did not enter the picture.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The report does not make a track (bad id, position or velocity).
    #[error("{0}")]
    Invalid(String),
    /// The picture refused it (stale, from the future, out of order, full).
    #[error("{0}")]
    Refused(String),
}

/// Why a notification was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    #[error("{0}")]
    Airspace(#[from] airspace::Error),
    #[error("{0}")]
    Rule(#[from] airspace::Rule),
}

/// A dividing line and whose side is which, looking along its points.
#[derive(Debug, Clone, PartialEq)]
pub struct LineSpec {
    pub id: String,
    pub points: Vec<airspace::LonLat>,
    pub left: Option<String>,
    pub right: Option<String>,
}

/// What the desk is set up with: the agreement's parties, minima, alerter and geography.
#[derive(Debug, Clone)]
pub struct Setup {
    pub parties: Vec<String>,
    pub h_sep_m: f64,
    pub v_sep_m: f64,
    pub alerter: Alerter,
    pub lines: Vec<LineSpec>,
    pub zones: Vec<airspace::Zone>,
    /// Clock skew tolerated on a report's time, seconds.
    pub report_future_s_max: f64,
    /// Every cross-party pair goes to the narrow phase (the oracle the broad phase is measured
    /// against); otherwise only the broad phase's candidates.
    pub exact: bool,
}

/// A live track: the latest report and every source that fed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    pub party: String,
    pub report: Report,
    /// `push`, and `receiver:<feed>` for each receiver feed that saw it.
    pub sources: BTreeSet<String>,
}

/// Predicted closest approach of a pair, from the ownship's side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Closest {
    /// Seconds from now.
    pub in_s: f64,
    pub horizontal_m: f64,
    pub vertical_m: f64,
}

/// One party's side of a tactical alert: its aircraft is the ownship.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    pub party: String,
    pub track_id: String,
    pub level: Level,
    /// DaidalusAlerting's number for the configured alerter (0 none).
    pub alert_level: u8,
    /// Seconds to the violation of the alerted level's volume.
    pub time_to_violation_s: Option<f64>,
    pub closest: Option<Closest>,
}

/// What changed about a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    New,
    Level,
    Ended,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Level => "level",
            Change::Ended => "ended",
        }
    }
}

/// A tactical alert: a conflict between two parties' aircraft began, changed level or ended.
#[derive(Debug, Clone, PartialEq)]
pub struct TacticalAlert {
    pub conflict_id: String,
    pub alert_id: String,
    pub change: Change,
    pub at_ms: i64,
    /// The two aircraft, in track order; each side as its own party's ownship.
    pub sides: [Side; 2],
    /// Coordinated advice for both sides, on a new conflict or a level change whose more urgent
    /// side is corrective or above ([`crate::advice`]); `None` otherwise.
    pub advice: Option<Box<crate::advice::PairAdvice>>,
}

impl TacticalAlert {
    /// The more urgent of the two sides' levels.
    pub fn level(&self) -> Level {
        self.sides[0].level.max(self.sides[1].level)
    }
}

/// Where a track broke the agreed geography.
#[derive(Debug, Clone, PartialEq)]
pub enum GeographyKind {
    /// Crossed a dividing line onto the side of `into_side_of`.
    LineCrossed { line: String, into_side_of: String },
    /// Entered a zone closed to its party.
    ZoneEntered { zone: String },
}

/// A track crossed a dividing line to the other party's side or entered a zone closed to it.
#[derive(Debug, Clone, PartialEq)]
pub struct GeographyEvent {
    pub party: String,
    pub track_id: String,
    pub callsign: Option<String>,
    /// When and where: the crossing point for a line, the first position inside for a zone.
    pub t_ms: i64,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub alt_m: f64,
    pub kind: GeographyKind,
}

/// A track whose callsign its party notified flies outside every such notification's volume
/// or time window (once per excursion).
#[derive(Debug, Clone, PartialEq)]
pub struct NonconformanceEvent {
    pub party: String,
    pub track_id: String,
    pub callsign: String,
    /// The party's notifications that list the callsign.
    pub notifications: Vec<String>,
    pub t_ms: i64,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub alt_m: f64,
}

/// What the desk has for its driver.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Tactical(TacticalAlert),
    Geography(GeographyEvent),
    Nonconformance(NonconformanceEvent),
}

/// Running totals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    pub reports_accepted: u64,
    pub reports_refused: u64,
    pub receiver_reports: u64,
    /// Receiver reports that joined a track a party pushed (same `icao24`).
    pub receiver_fused: u64,
    pub ticks: u64,
    /// Candidate pairs handed to the narrow phase at the last tick.
    pub last_candidates: u64,
    /// Conflicts open now.
    pub conflicts_active: u64,
    /// Tactical alerts by level named, and ended.
    pub alerts: BTreeMap<&'static str, u64>,
    /// Geography events per party whose aircraft broke it.
    pub geography: BTreeMap<String, u64>,
    /// Nonconformance events per party.
    pub nonconformance: BTreeMap<String, u64>,
    /// Outputs dropped because [`OUTBOX_MAX`] were waiting.
    pub outputs_dropped: u64,
    /// Alerts that carry coordinated advice.
    pub advice_given: u64,
    /// Corrective or warning alerts left without advice (a report missing or refused by the
    /// advice).
    pub advice_failed: u64,
    /// Passes of [`Desk::grade_arrivals`] that had tracks to grade.
    pub arrival_passes: u64,
    /// Tracks new to the picture graded on arrival, before the next tick.
    pub arrivals_graded: u64,
    /// Tracks new to the picture beyond [`ARRIVALS_MAX`], left to the next tick.
    pub arrivals_left_to_tick: u64,
    /// Conflicts opened on arrival, before the next tick.
    pub arrival_conflicts: u64,
}

#[derive(Debug, Clone)]
struct Active {
    id: String,
    alerts: u64,
    levels: [Level; 2],
}

/// A notification as the desk holds it, for undo.
#[derive(Debug, Clone)]
pub struct Held {
    notification: airspace::Notification,
    callsigns: Vec<String>,
}

/// What [`Desk::notify`] did, to undo it when the durable commit fails.
#[derive(Debug, Clone)]
pub struct Undo {
    id: airspace::NotificationId,
    previous: Option<Held>,
}

/// The live desk. See the crate documentation.
#[derive(Debug)]
pub struct Desk {
    parties: Vec<String>,
    alerter: Alerter,
    exact: bool,
    picture: engine::Picture,
    /// By party, then the party's track id (looked up by `&str`: a report allocates no key).
    tracks: BTreeMap<String, BTreeMap<String, Track>>,
    /// (party, icao24 lower-case) → track id.
    by_icao: HashMap<(String, String), String>,
    daa: HashMap<String, wellclear::Daa>,
    active: BTreeMap<(String, String), Active>,
    h_sep_m: f64,
    v_sep_m: f64,
    index: Option<airspace::StrategicIndex>,
    held: HashMap<airspace::NotificationId, Held>,
    /// (party, callsign) → that party's notifications listing it.
    callsigns: HashMap<(String, String), BTreeSet<airspace::NotificationId>>,
    excursions: BTreeSet<(String, String)>,
    geography: airspace::GeographyHistory,
    sides: HashMap<String, (Option<String>, Option<String>)>,
    monitor: Option<airspace::ConformanceMonitor>,
    outbox: Vec<Output>,
    counters: Counters,
    /// Tracks new to the picture since the last tick or arrival pass (engine ids, in the order
    /// they came), at most [`ARRIVALS_MAX`].
    arrived: Vec<String>,
}

fn engine_id(party: &str, track_id: &str) -> String {
    // Built for every report taken in: concatenated, not formatted.
    let mut id = String::with_capacity(party.len() + 1 + track_id.len());
    id.push_str(party);
    id.push('/');
    id.push_str(track_id);
    id
}

fn split_id(id: &str) -> (&str, &str) {
    id.split_once('/').unwrap_or(("", id))
}

impl Desk {
    pub fn new(setup: Setup) -> Result<Desk, SetupError> {
        // No bound: the broad phase is skipped (every pair examined).
        let (lookahead, h, v) = setup.alerter.reach().unwrap_or((0.0, 1.0, 1.0));
        let exact = setup.exact || setup.alerter.reach().is_none();
        let probe = engine::ProbeConfig::new(
            lookahead.min(engine::probe::LOOKAHEAD_S_MAX),
            h.min(engine::probe::H_SEP_M_MAX),
            v.min(engine::probe::V_SEP_M_MAX),
            engine::PairPolicy::DifferentParties,
        )
        .map_err(|e| SetupError::Picture(e.to_string()))?;
        // A reach beyond the engine's limits cannot be covered by the grid: examine every pair.
        let exact = exact
            || lookahead > engine::probe::LOOKAHEAD_S_MAX
            || h > engine::probe::H_SEP_M_MAX
            || v > engine::probe::V_SEP_M_MAX;
        let pconf = engine::PictureConfig::new(
            probe,
            TRACKS_MAX,
            TRACK_AGE_S_MAX,
            setup.report_future_s_max,
        )
        .map_err(|e| SetupError::Picture(e.to_string()))?;
        let mut desk = Desk {
            parties: setup.parties,
            alerter: setup.alerter,
            exact,
            picture: engine::Picture::new(pconf),
            tracks: BTreeMap::new(),
            by_icao: HashMap::new(),
            daa: HashMap::new(),
            active: BTreeMap::new(),
            h_sep_m: setup.h_sep_m,
            v_sep_m: setup.v_sep_m,
            index: None,
            held: HashMap::new(),
            callsigns: HashMap::new(),
            excursions: BTreeSet::new(),
            geography: airspace::GeographyHistory::new(),
            sides: HashMap::new(),
            monitor: None,
            outbox: Vec::new(),
            counters: Counters::default(),
            arrived: Vec::new(),
        };
        if !setup.lines.is_empty() || !setup.zones.is_empty() {
            let mut pts: Vec<airspace::LonLat> = Vec::new();
            let mut lines = Vec::new();
            for l in &setup.lines {
                pts.extend(l.points.iter().copied());
                let closed: BTreeSet<airspace::PartyId> = [&l.left, &l.right]
                    .into_iter()
                    .flatten()
                    .filter_map(|p| airspace::PartyId::new(p.clone()).ok())
                    .collect();
                lines.push(
                    airspace::DividingLine::new(l.id.clone(), l.points.clone(), closed)
                        .map_err(|e| SetupError::Geography(format!("line {}: {e}", l.id)))?,
                );
                desk.sides
                    .insert(l.id.clone(), (l.left.clone(), l.right.clone()));
            }
            for z in &setup.zones {
                match z.footprint() {
                    airspace::Footprint::Circle(c) => pts.push(c.centre()),
                    airspace::Footprint::Polygon(p) => pts.extend(p.ring().iter().copied()),
                }
            }
            let geography = airspace::Geography::new(lines, setup.zones)
                .map_err(|e| SetupError::Geography(e.to_string()))?;
            desk.geography
                .publish(i64::MIN, geography)
                .map_err(|e| SetupError::Geography(e.to_string()))?;
            if let Some(frame) = airspace::Frame::around(pts.iter()) {
                desk.monitor = Some(airspace::ConformanceMonitor::new(frame));
                desk.index = Some(airspace::StrategicIndex::new(frame));
            }
        }
        Ok(desk)
    }

    /// The alerter the narrow phase runs.
    pub fn alerter(&self) -> &Alerter {
        &self.alerter
    }

    /// Whether every cross-party pair goes to the narrow phase.
    pub fn is_exact(&self) -> bool {
        self.exact
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The engine's counters (reports refused by reason, tracks expired).
    pub fn picture_counters(&self) -> &engine::Counters {
        self.picture.counters()
    }

    /// Live tracks, by (party, track id).
    pub fn tracks(&self) -> impl Iterator<Item = &Track> {
        self.tracks.values().flat_map(BTreeMap::values)
    }

    /// A live track by party and the party's track id.
    pub fn track(&self, party: &str, track_id: &str) -> Option<&Track> {
        self.tracks.get(party)?.get(track_id)
    }

    /// Checks that a report makes a track, without taking it.
    pub fn check_report(party: &str, r: &Report) -> Result<(), ReportError> {
        to_engine(party, r).map(|_| ())
    }

    /// Takes a party's pushed report at `now_ms`.
    pub fn report(&mut self, now_ms: i64, party: &str, r: Report) -> Result<(), ReportError> {
        if let Some(icao) = &r.icao24 {
            self.by_icao.insert(
                (party.to_string(), icao.to_ascii_lowercase()),
                r.track_id.clone(),
            );
        }
        self.take(now_ms, party, r, SOURCE_PUSH)
    }

    /// Takes a record from the party's receiver feed `feed`: it joins the party's track with the
    /// same `icao24` (a pushed one, or the receiver's own `icao-<hex>` track).
    pub fn receiver(
        &mut self,
        now_ms: i64,
        party: &str,
        feed: &str,
        r: ReceiverReport,
    ) -> Result<(), ReportError> {
        self.counters.receiver_reports += 1;
        let icao = r.icao24.to_ascii_lowercase();
        if icao.len() != 6 || !icao.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ReportError::Invalid(format!(
                "icao24 {:?} is not six hexadecimal digits",
                r.icao24
            )));
        }
        let key = (party.to_string(), icao.clone());
        let track_id = match self.by_icao.get(&key) {
            Some(t) => {
                if t != &format!("icao-{icao}") {
                    self.counters.receiver_fused += 1;
                }
                t.clone()
            }
            None => {
                let t = format!("icao-{icao}");
                self.by_icao.insert(key, t.clone());
                t
            }
        };
        // Fields a receiver does not give are kept from the track's pushes.
        let held = self.tracks.get(party).and_then(|mine| mine.get(&track_id));
        let report = Report {
            track_id,
            time_ms: r.time_ms,
            lat_deg: r.lat_deg,
            lon_deg: r.lon_deg,
            alt_m: r.alt_m,
            track_deg: r.track_deg,
            ground_speed_mps: r.ground_speed_mps,
            vertical_rate_mps: r.vertical_rate_mps,
            callsign: r
                .callsign
                .or_else(|| held.and_then(|t| t.report.callsign.clone())),
            aircraft_type: held.and_then(|t| t.report.aircraft_type.clone()),
            icao24: Some(icao),
            squawk: r
                .squawk
                .or_else(|| held.and_then(|t| t.report.squawk.clone())),
        };
        self.take(now_ms, party, report, &format!("receiver:{feed}"))
    }

    fn take(
        &mut self,
        now_ms: i64,
        party: &str,
        r: Report,
        source: &str,
    ) -> Result<(), ReportError> {
        let er = to_engine(party, &r)?;
        if let Err(e) = self
            .picture
            .update(engine::Timestamp::from_unix_ms(now_ms), er)
        {
            self.counters.reports_refused += 1;
            return Err(ReportError::Refused(e.to_string()));
        }
        self.counters.reports_accepted += 1;
        self.geography_of(party, &r);
        self.conformance_of(party, &r);
        if !self.tracks.contains_key(party) {
            self.tracks.insert(party.to_string(), BTreeMap::new());
        }
        let Some(mine) = self.tracks.get_mut(party) else {
            return Ok(());
        };
        match mine.get_mut(&r.track_id) {
            Some(t) => {
                if !t.sources.contains(source) {
                    t.sources.insert(source.to_string());
                }
                if t.report.time_ms <= r.time_ms {
                    t.report = r;
                }
            }
            None => {
                if self.arrived.len() < ARRIVALS_MAX {
                    self.arrived.push(engine_id(party, &r.track_id));
                } else {
                    self.counters.arrivals_left_to_tick += 1;
                }
                mine.insert(
                    r.track_id.clone(),
                    Track {
                        party: party.to_string(),
                        report: r,
                        sources: BTreeSet::from([source.to_string()]),
                    },
                );
            }
        }
        Ok(())
    }

    fn emit(&mut self, o: Output) {
        if self.outbox.len() >= OUTBOX_MAX {
            self.counters.outputs_dropped += 1;
        } else {
            self.outbox.push(o);
        }
    }

    fn geography_of(&mut self, party: &str, r: &Report) {
        let (Some(monitor), Ok(pid), Ok(at)) = (
            self.monitor.as_mut(),
            airspace::PartyId::new(party.to_string()),
            airspace::LonLat::new(r.lon_deg, r.lat_deg),
        ) else {
            return;
        };
        let empty;
        let index = match &self.index {
            Some(i) => i,
            None => {
                empty = airspace::StrategicIndex::new(airspace::Frame::new(at));
                &empty
            }
        };
        let events = monitor.observe(
            &engine_id(party, &r.track_id),
            &pid,
            airspace::Position {
                at,
                alt_m: r.alt_m,
                t_ms: r.time_ms,
            },
            index,
            &self.geography,
        );
        for e in events {
            let out = match e.kind {
                airspace::EventKind::DividingLineCrossed {
                    line,
                    point,
                    alt_m,
                    t_ms,
                    from_left,
                    ..
                } => {
                    let Some((left, right)) = self.sides.get(&line) else {
                        continue;
                    };
                    let (from, into) = if from_left {
                        (left, right)
                    } else {
                        (right, left)
                    };
                    // Only a crossing from the party's own side onto the other's.
                    if from.as_deref() != Some(party) {
                        continue;
                    }
                    let Some(into) = into.clone() else { continue };
                    GeographyEvent {
                        party: party.to_string(),
                        track_id: r.track_id.clone(),
                        callsign: r.callsign.clone(),
                        t_ms,
                        lat_deg: point.lat_deg(),
                        lon_deg: point.lon_deg(),
                        alt_m,
                        kind: GeographyKind::LineCrossed {
                            line,
                            into_side_of: into,
                        },
                    }
                }
                airspace::EventKind::ZoneEntered {
                    zone,
                    breach: airspace::conformance::ZoneBreach::Closed,
                    ..
                } => GeographyEvent {
                    party: party.to_string(),
                    track_id: r.track_id.clone(),
                    callsign: r.callsign.clone(),
                    t_ms: r.time_ms,
                    lat_deg: r.lat_deg,
                    lon_deg: r.lon_deg,
                    alt_m: r.alt_m,
                    kind: GeographyKind::ZoneEntered { zone },
                },
                _ => continue,
            };
            *self
                .counters
                .geography
                .entry(party.to_string())
                .or_default() += 1;
            self.emit(Output::Geography(out));
        }
    }

    fn conformance_of(&mut self, party: &str, r: &Report) {
        let Some(callsign) = &r.callsign else { return };
        let key = (party.to_string(), callsign.clone());
        let Some(listed) = self.callsigns.get(&key).filter(|l| !l.is_empty()) else {
            return;
        };
        let (Some(index), Ok(at)) = (&self.index, airspace::LonLat::new(r.lon_deg, r.lat_deg))
        else {
            return;
        };
        let inside = index
            .active_at(at, r.alt_m, r.time_ms)
            .iter()
            .any(|(id, _)| listed.contains(*id));
        let track = (party.to_string(), r.track_id.clone());
        if inside {
            self.excursions.remove(&track);
            return;
        }
        if !self.excursions.insert(track) {
            return;
        }
        let notifications = listed.iter().map(|n| n.as_str().to_string()).collect();
        *self
            .counters
            .nonconformance
            .entry(party.to_string())
            .or_default() += 1;
        self.emit(Output::Nonconformance(NonconformanceEvent {
            party: party.to_string(),
            track_id: r.track_id.clone(),
            callsign: callsign.clone(),
            notifications,
            t_ms: r.time_ms,
            lat_deg: r.lat_deg,
            lon_deg: r.lon_deg,
            alt_m: r.alt_m,
        }));
    }

    // ---- notifications ---------------------------------------------------------------

    fn index_for(&mut self, n: &airspace::Notification) -> &mut airspace::StrategicIndex {
        self.index.get_or_insert_with(|| {
            let pts: Vec<airspace::LonLat> = n
                .volumes()
                .iter()
                .map(|v| match &v.footprint {
                    airspace::Footprint::Circle(c) => c.centre(),
                    airspace::Footprint::Polygon(p) => p.ring()[0],
                })
                .collect();
            let frame =
                airspace::Frame::around(pts.iter()).unwrap_or_else(|| airspace::Frame::new(pts[0]));
            airspace::StrategicIndex::new(frame)
        })
    }

    /// The strategic check and the insertion in one step: every other party's notification in
    /// conflict with `n` (within the agreement's minima), after which `n` is held (replacing
    /// its earlier revision). Nothing changes when `n` is refused.
    pub fn notify(
        &mut self,
        n: airspace::Notification,
        callsigns: Vec<String>,
    ) -> Result<(Vec<airspace::NotificationId>, Undo), NotifyError> {
        let buffers = airspace::Buffers::new(self.h_sep_m, self.v_sep_m)?;
        let id = n.id().clone();
        let held = self.held.contains_key(&id);
        let index = self.index_for(&n);
        let conflicts = index.conflicts(&n, buffers)?;
        if held {
            index.update(n.clone())?;
        } else {
            index.insert(n.clone())?;
        }
        let previous = self.held.remove(&id);
        if let Some(p) = &previous {
            self.unlist(&id, p);
        }
        self.list(&id, n.party().as_str(), &callsigns);
        self.held.insert(
            id.clone(),
            Held {
                notification: n,
                callsigns,
            },
        );
        Ok((conflicts, Undo { id, previous }))
    }

    /// Takes back what [`Self::notify`] did (its durable commit failed).
    pub fn undo(&mut self, undo: Undo) {
        self.withdraw(&undo.id);
        if let Some(p) = undo.previous {
            let _ = self.restore(p.notification, p.callsigns);
        }
    }

    /// Holds a notification already accepted (on start), without a check.
    pub fn restore(
        &mut self,
        n: airspace::Notification,
        callsigns: Vec<String>,
    ) -> Result<(), NotifyError> {
        let id = n.id().clone();
        self.withdraw(&id);
        self.index_for(&n).insert(n.clone())?;
        self.list(&id, n.party().as_str(), &callsigns);
        self.held.insert(
            id,
            Held {
                notification: n,
                callsigns,
            },
        );
        Ok(())
    }

    /// Forgets a notification (withdrawn); returns whether it was held.
    pub fn withdraw(&mut self, id: &airspace::NotificationId) -> bool {
        let Some(h) = self.held.remove(id) else {
            return false;
        };
        if let Some(index) = self.index.as_mut() {
            let _ = index.remove(id);
        }
        self.unlist(id, &h);
        true
    }

    /// The plane the strategic index measures in (set by the geography, else by the first
    /// notification).
    pub fn strategic_frame(&self) -> Option<&airspace::Frame> {
        self.index.as_ref().map(|i| i.frame())
    }

    /// Notifications held.
    pub fn notifications_len(&self) -> usize {
        self.held.len()
    }

    fn list(&mut self, id: &airspace::NotificationId, party: &str, callsigns: &[String]) {
        for c in callsigns {
            self.callsigns
                .entry((party.to_string(), c.clone()))
                .or_default()
                .insert(id.clone());
        }
    }

    fn unlist(&mut self, id: &airspace::NotificationId, h: &Held) {
        let party = h.notification.party().as_str().to_string();
        for c in &h.callsigns {
            let key = (party.clone(), c.clone());
            if let Some(set) = self.callsigns.get_mut(&key) {
                set.remove(id);
                if set.is_empty() {
                    self.callsigns.remove(&key);
                }
            }
        }
    }

    // ---- the picture -------------------------------------------------------------------

    /// A conflict alerted before a restart and not yet ended: the next tick neither announces
    /// it again nor forgets to announce its end. Track ids are `<party>/<track id>`.
    pub fn restore_conflict(
        &mut self,
        a: &str,
        b: &str,
        conflict_id: &str,
        alerts: u64,
        levels: [Level; 2],
    ) {
        let (a, b, levels) = if a <= b {
            (a, b, levels)
        } else {
            (b, a, [levels[1], levels[0]])
        };
        self.active.insert(
            (a.to_string(), b.to_string()),
            Active {
                id: conflict_id.to_string(),
                alerts,
                levels,
            },
        );
        self.counters.conflicts_active = self.active.len() as u64;
    }

    /// Takes every output waiting, in the order produced.
    pub fn poll(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.outbox)
    }

    /// The agreement's parties.
    pub fn parties(&self) -> &[String] {
        &self.parties
    }
}

fn to_engine(party: &str, r: &Report) -> Result<engine::TrackReport, ReportError> {
    let bad = |e: String| ReportError::Invalid(e);
    let id =
        engine::TrackId::new(&engine_id(party, &r.track_id)).map_err(|e| bad(e.to_string()))?;
    let pid = engine::PartyId::new(party).map_err(|e| bad(e.to_string()))?;
    let pos =
        engine::Position::new(r.lat_deg, r.lon_deg, r.alt_m).map_err(|e| bad(e.to_string()))?;
    let vel = engine::Velocity::new(r.track_deg, r.ground_speed_mps, r.vertical_rate_mps)
        .map_err(|e| bad(e.to_string()))?;
    Ok(engine::TrackReport::new(
        id,
        pid,
        engine::Timestamp::from_unix_ms(r.time_ms),
        engine::AircraftState::new(pos, vel),
    ))
}

fn to_wellclear(id: &str, s: &engine::AircraftState) -> wellclear::encounter::AircraftState {
    let p = s.position();
    let [e, n, u] = s.velocity().enu_mps();
    wellclear::encounter::AircraftState {
        id: id.to_string(),
        position: wellclear::encounter::Position::Geodetic(wellclear::projection::LatLonAlt {
            lat_rad: p.lat_deg().to_radians(),
            lon_rad: p.lon_deg().to_radians(),
            alt_m: p.alt_m(),
        }),
        velocity_mps: wellclear::geom::Vec3::new(e, n, u),
        air_velocity: None,
        alerter: None,
        line: 0,
    }
}
