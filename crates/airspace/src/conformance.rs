//! Notified versus flown: the conformance of live tracks to notifications, dividing lines and
//! zones. Pure: positions come in with their own time; events come out; counts per party are
//! kept for reports. The caller turns events into alerts.
//!
//! Events are edge-triggered (a state change, not every position), so one excursion is one
//! event. A dividing-line crossing is found between consecutive positions of a track: the
//! crossing point is where the straight segment between them meets the line, and its time is
//! interpolated linearly along that segment. Positions more than `track_gap_s_max` apart are
//! not joined (the path between them is unknown); those gaps are counted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use geo::Coord;
use geo::Kernel;
use geo::kernels::{Orientation, RobustKernel};

use crate::geography::{GeographyHistory, GeographyVersion};
use crate::index::StrategicIndex;
use crate::planar::{Frame, Planar};
use crate::volume::{LonLat, NotificationId, PartyId};

/// Default for the most tracks followed at once.
pub const TRACKS_MAX: usize = 100_000;
/// Default for the longest gap between two positions still joined by a straight segment.
pub const TRACK_GAP_S_MAX: i64 = 60;

/// One position of a track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    pub at: LonLat,
    /// Metres above mean sea level.
    pub alt_m: f64,
    /// UTC milliseconds since the Unix epoch.
    pub t_ms: i64,
}

/// Why entering a zone is a violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneBreach {
    /// The zone is closed to the party.
    Closed,
    /// The party may enter only inside one of its own active notifications, and was not.
    NotNotified,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// The track is not inside any active notification of its own party (first observed so,
    /// or just left the last one).
    OutsideOwnNotifications,
    /// The track is back inside an active notification of its own party.
    BackInsideOwnNotification,
    /// The track entered an active notification of another party.
    EnteredOtherPartyNotification {
        notification: NotificationId,
        owner: PartyId,
    },
    /// The track crossed a dividing line closed to its party.
    DividingLineCrossed {
        line: String,
        geography_version: u32,
        point: LonLat,
        alt_m: f64,
        t_ms: i64,
        /// Whether the track came from the left of the line (seen along its point order).
        from_left: bool,
    },
    /// The track entered a zone it may not enter.
    ZoneEntered {
        zone: String,
        geography_version: u32,
        breach: ZoneBreach,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub track: String,
    pub party: PartyId,
    /// The instant of the position that revealed the event (the crossing's own time is in
    /// [`EventKind::DividingLineCrossed`]).
    pub t_ms: i64,
    pub kind: EventKind,
}

/// Events counted per party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub outside_own: u64,
    pub entered_other: u64,
    pub line_crossings: u64,
    pub zone_entries: u64,
}

/// What the monitor refused or could not use, counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dropped {
    /// Positions of new tracks refused because `tracks_max` tracks are followed.
    pub tracks_over_max: u64,
    /// Positions not later than the track's previous one.
    pub stale_positions: u64,
    /// Consecutive positions too far apart in time to be joined.
    pub gaps: u64,
    /// Positions with an altitude that is not a finite number.
    pub bad_altitude: u64,
}

#[derive(Debug)]
struct TrackState {
    last: Position,
    last_xy: Coord<f64>,
    inside_own: bool,
    in_other: BTreeSet<NotificationId>,
    in_zones: BTreeSet<String>,
}

#[derive(Debug)]
struct PlanarGeography {
    version: u32,
    lines: Vec<Vec<Coord<f64>>>,
    zones: Vec<Planar>,
}

/// Follows tracks and reports where they break what was notified or agreed.
#[derive(Debug)]
pub struct ConformanceMonitor {
    frame: Frame,
    tracks_max: usize,
    track_gap_ms_max: i64,
    tracks: HashMap<String, TrackState>,
    counts: BTreeMap<PartyId, Counts>,
    dropped: Dropped,
    planar: Vec<PlanarGeography>,
}

impl ConformanceMonitor {
    /// `frame` should be the strategic index's, so that both measure alike.
    pub fn new(frame: Frame) -> Self {
        ConformanceMonitor::with_limits(frame, TRACKS_MAX, TRACK_GAP_S_MAX)
    }

    pub fn with_limits(frame: Frame, tracks_max: usize, track_gap_s_max: i64) -> Self {
        ConformanceMonitor {
            frame,
            tracks_max,
            track_gap_ms_max: track_gap_s_max.saturating_mul(1000),
            tracks: HashMap::new(),
            counts: BTreeMap::new(),
            dropped: Dropped::default(),
            planar: Vec::new(),
        }
    }

    pub fn counts(&self) -> &BTreeMap<PartyId, Counts> {
        &self.counts
    }

    pub fn dropped(&self) -> Dropped {
        self.dropped
    }

    /// Forgets a track (it landed, or its source stopped).
    pub fn end_track(&mut self, track: &str) {
        self.tracks.remove(track);
    }

    fn planar_for(&mut self, v: &GeographyVersion) -> usize {
        if let Some(i) = self.planar.iter().position(|p| p.version == v.version()) {
            return i;
        }
        let g = v.geography();
        let lines = g
            .lines()
            .iter()
            .map(|l| l.points().iter().map(|&p| self.frame.project(p)).collect())
            .collect();
        let zones = g
            .zones()
            .iter()
            .map(|z| match self.frame.footprint(z.footprint()) {
                Ok(p) => p,
                // A zone beyond the frame's trusted radius is still compared, in the frame.
                Err(_) => match z.footprint() {
                    crate::volume::Footprint::Polygon(poly) => Planar::polygon(
                        poly.ring().iter().map(|&p| self.frame.project(p)).collect(),
                    ),
                    crate::volume::Footprint::Circle(c) => Planar::Circle {
                        centre: self.frame.project(c.centre()),
                        radius_m: c.radius_m(),
                    },
                },
            })
            .collect();
        self.planar.push(PlanarGeography {
            version: v.version(),
            lines,
            zones,
        });
        self.planar.len() - 1
    }

    /// Takes one position of `track` (flown by `party`) and returns the events it reveals.
    pub fn observe(
        &mut self,
        track: &str,
        party: &PartyId,
        position: Position,
        notifications: &StrategicIndex,
        geography: &GeographyHistory,
    ) -> Vec<Event> {
        let mut events = Vec::new();
        if !position.alt_m.is_finite() {
            self.dropped.bad_altitude += 1;
            return events;
        }
        if !self.tracks.contains_key(track) && self.tracks.len() >= self.tracks_max {
            self.dropped.tracks_over_max += 1;
            return events;
        }
        let xy = self.frame.project(position.at);
        let active = notifications.active_at(position.at, position.alt_m, position.t_ms);
        let inside_own = active.iter().any(|(_, p)| *p == party);
        let in_other: BTreeSet<NotificationId> = active
            .iter()
            .filter(|(_, p)| *p != party)
            .map(|(n, _)| (*n).clone())
            .collect();
        let owners: HashMap<&NotificationId, &PartyId> = active.iter().copied().collect();

        let version = geography.at(position.t_ms);
        let planar_i = version.map(|v| self.planar_for(v));

        let previous = self.tracks.get(track);
        if let Some(prev) = previous
            && position.t_ms <= prev.last.t_ms
        {
            self.dropped.stale_positions += 1;
            return events;
        }
        let event = |kind: EventKind| Event {
            track: track.to_owned(),
            party: party.clone(),
            t_ms: position.t_ms,
            kind,
        };

        // Notified versus flown.
        match previous {
            None if !inside_own => events.push(event(EventKind::OutsideOwnNotifications)),
            Some(prev) if prev.inside_own && !inside_own => {
                events.push(event(EventKind::OutsideOwnNotifications))
            }
            Some(prev) if !prev.inside_own && inside_own => {
                events.push(event(EventKind::BackInsideOwnNotification))
            }
            _ => {}
        }
        for n in &in_other {
            if previous.is_none_or(|prev| !prev.in_other.contains(n)) {
                events.push(event(EventKind::EnteredOtherPartyNotification {
                    notification: n.clone(),
                    owner: owners[n].clone(),
                }));
            }
        }

        // Lines and zones of the version in force.
        let mut in_zones = BTreeSet::new();
        if let (Some(v), Some(pi)) = (version, planar_i) {
            let pg = &self.planar[pi];
            let g = v.geography();
            if let Some(prev) = previous {
                if position.t_ms.saturating_sub(prev.last.t_ms) > self.track_gap_ms_max {
                    self.dropped.gaps += 1;
                } else {
                    for (line, pts) in g.lines().iter().zip(&pg.lines) {
                        if !line.closed_to().contains(party) {
                            continue;
                        }
                        for (point, alt_m, t_ms, from_left) in
                            crossings(&self.frame, pts, prev, position, xy)
                        {
                            events.push(event(EventKind::DividingLineCrossed {
                                line: line.id().to_owned(),
                                geography_version: v.version(),
                                point,
                                alt_m,
                                t_ms,
                                from_left,
                            }));
                        }
                    }
                }
            }
            for (zone, planar) in g.zones().iter().zip(&pg.zones) {
                // A disc is measured on the sphere, a polygon in the frame (its vertices are
                // exact there).
                let inside = match zone.footprint() {
                    crate::volume::Footprint::Circle(c) => c.contains(position.at),
                    crate::volume::Footprint::Polygon(_) => planar.contains(xy),
                };
                if !(zone.band().contains(position.alt_m) && inside) {
                    continue;
                }
                in_zones.insert(zone.id().to_owned());
                let breach = if zone.closed_to().contains(party) {
                    Some(ZoneBreach::Closed)
                } else if zone.notification_required().contains(party) && !inside_own {
                    Some(ZoneBreach::NotNotified)
                } else {
                    None
                };
                let was_in = previous.is_some_and(|prev| prev.in_zones.contains(zone.id()));
                if let (Some(breach), false) = (breach, was_in) {
                    events.push(event(EventKind::ZoneEntered {
                        zone: zone.id().to_owned(),
                        geography_version: v.version(),
                        breach,
                    }));
                }
            }
        }

        self.count(party, &events);
        let state = TrackState {
            last: position,
            last_xy: xy,
            inside_own,
            in_other,
            in_zones,
        };
        // A track seen before keeps its key: no allocation per position.
        match self.tracks.get_mut(track) {
            Some(held) => *held = state,
            None => {
                self.tracks.insert(track.to_owned(), state);
            }
        }
        events
    }
}

impl ConformanceMonitor {
    /// Adds `events` to the counts of `party`.
    fn count(&mut self, party: &PartyId, events: &[Event]) {
        let counts = self.counts.entry(party.clone()).or_default();
        for e in events {
            match e.kind {
                EventKind::OutsideOwnNotifications => counts.outside_own += 1,
                EventKind::BackInsideOwnNotification => {}
                EventKind::EnteredOtherPartyNotification { .. } => counts.entered_other += 1,
                EventKind::DividingLineCrossed { .. } => counts.line_crossings += 1,
                EventKind::ZoneEntered { .. } => counts.zone_entries += 1,
            }
        }
    }
}

/// Where the straight path from `prev` to `position` (at `xy` in the frame) crosses the line
/// through `pts`: each crossing's point, altitude and time (interpolated along the path) and
/// whether it went from the line's left.
fn crossings(
    frame: &Frame,
    pts: &[Coord<f64>],
    prev: &TrackState,
    position: Position,
    xy: Coord<f64>,
) -> Vec<(LonLat, f64, i64, bool)> {
    let mut out = Vec::new();
    for w in pts.windows(2) {
        if let Some((s, from_left)) = crossing(prev.last_xy, xy, w[0], w[1]) {
            let c = Coord {
                x: prev.last_xy.x + s * (xy.x - prev.last_xy.x),
                y: prev.last_xy.y + s * (xy.y - prev.last_xy.y),
            };
            let Some(point) = frame.unproject(c) else {
                continue;
            };
            let dt = position.t_ms.saturating_sub(prev.last.t_ms) as f64;
            out.push((
                point,
                prev.last.alt_m + s * (position.alt_m - prev.last.alt_m),
                prev.last.t_ms + (s * dt).round() as i64,
                from_left,
            ));
        }
    }
    out
}

/// Side of `x` relative to the directed segment `a`→`b`: `true` for strictly left. A point on
/// the line counts as right, so a track touching the line and going back is not a crossing, and
/// a track passing exactly through a vertex shared by two segments is counted once.
fn left(a: Coord<f64>, b: Coord<f64>, x: Coord<f64>) -> bool {
    RobustKernel::orient2d(a, b, x) == Orientation::CounterClockwise
}

/// Where the track segment `p`→`q` crosses the line segment `a`→`b`: the fraction along
/// `p`→`q`, and whether `p` was on the left of the line.
fn crossing(p: Coord<f64>, q: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> Option<(f64, bool)> {
    let (p_left, q_left) = (left(a, b, p), left(a, b, q));
    if p_left == q_left || left(p, q, a) == left(p, q, b) {
        return None;
    }
    let (rx, ry) = (q.x - p.x, q.y - p.y);
    let (sx, sy) = (b.x - a.x, b.y - a.y);
    let denom = rx * sy - ry * sx;
    if denom == 0.0 {
        return None;
    }
    let s = ((a.x - p.x) * sy - (a.y - p.y) * sx) / denom;
    Some((s.clamp(0.0, 1.0), p_left))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(x: f64, y: f64) -> Coord<f64> {
        Coord { x, y }
    }

    #[test]
    fn crossing_fraction_and_side() {
        let (s, from_left) =
            crossing(c(-1.0, 0.0), c(3.0, 0.0), c(0.0, -1.0), c(0.0, 1.0)).unwrap();
        assert_eq!(s, 0.25);
        assert!(
            from_left,
            "going east across a northbound line starts on its left"
        );
    }

    #[test]
    fn touching_and_going_back_is_not_a_crossing() {
        assert!(crossing(c(-1.0, 0.0), c(0.0, 0.0), c(0.0, -1.0), c(0.0, 1.0)).is_some());
        // From on-the-line (counted right) to the right: no crossing.
        assert!(crossing(c(0.0, 0.0), c(1.0, 0.0), c(0.0, -1.0), c(0.0, 1.0)).is_none());
    }

    #[test]
    fn passing_through_a_shared_vertex_counts_once() {
        let line = [c(0.0, -1.0), c(0.0, 0.0), c(0.0, 1.0)];
        let n = line
            .windows(2)
            .filter(|w| crossing(c(-1.0, 0.0), c(1.0, 0.0), w[0], w[1]).is_some())
            .count();
        assert_eq!(n, 1);
    }

    #[test]
    fn parallel_segments_do_not_cross() {
        assert!(crossing(c(0.0, 0.0), c(1.0, 0.0), c(0.0, 1.0), c(1.0, 1.0)).is_none());
    }
}
