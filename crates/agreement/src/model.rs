//! The validated agreement. Every value here has passed `crate::parse`; fields are private and
//! there are no setters, so an `Agreement` in hand is always a valid one.
//!
//! Units: metres, seconds, hertz; positions in 1e-7 degree integers (about 1 cm), which is what
//! the canonical encoding carries (integers only, RFC 8785 without floating point).

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::{AgreementId, PartyId};
use crate::keys::PublicKey;

/// Seconds in a day; shifts are given within one UTC day.
pub const DAY_S: u32 = 86_400;

/// The format tag written in every agreement file and in its canonical encoding.
pub const FORMAT: &str = "deconflict.agreement.v1";

/// A signed, versioned agreement between parties. Built by [`crate::parse_toml`].
#[derive(Clone, PartialEq, Eq)]
pub struct Agreement {
    pub(crate) title: String,
    pub(crate) revision: u32,
    pub(crate) supersedes: Option<AgreementId>,
    pub(crate) separation: Separation,
    pub(crate) link_test: LinkTest,
    pub(crate) ack_deadlines_s: BTreeMap<String, u32>,
    pub(crate) parties: Vec<Party>,
    pub(crate) frequencies: Vec<Frequency>,
    pub(crate) dividing_lines: Vec<DividingLine>,
    pub(crate) zones: Vec<Zone>,
    /// RFC 8785 bytes, computed once at construction.
    pub(crate) canonical: Vec<u8>,
    pub(crate) id: AgreementId,
}

impl std::fmt::Debug for Agreement {
    // The canonical bytes are left out: they repeat every field and drown the rest.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agreement")
            .field("id", &self.id)
            .field("title", &self.title)
            .field("revision", &self.revision)
            .field("supersedes", &self.supersedes)
            .field("separation", &self.separation)
            .field("link_test", &self.link_test)
            .field("ack_deadlines_s", &self.ack_deadlines_s)
            .field("parties", &self.parties)
            .field("frequencies", &self.frequencies)
            .field("dividing_lines", &self.dividing_lines)
            .field("zones", &self.zones)
            .finish_non_exhaustive()
    }
}

impl Agreement {
    /// SHA-256 of [`Agreement::canonical_bytes`]: names this exact version.
    pub fn id(&self) -> AgreementId {
        self.id
    }

    /// The RFC 8785 (JCS) encoding that parties sign. Integers and strings only.
    pub fn canonical_bytes(&self) -> &[u8] {
        &self.canonical
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    /// Revision number chosen by the parties; a new revision usually names the one it supersedes.
    pub fn revision(&self) -> u32 {
        self.revision
    }

    pub fn supersedes(&self) -> Option<AgreementId> {
        self.supersedes
    }

    pub fn separation(&self) -> &Separation {
        &self.separation
    }

    pub fn link_test(&self) -> &LinkTest {
        &self.link_test
    }

    /// Acknowledgement deadline per message kind (e.g. `strike_warning` → 120 s).
    pub fn ack_deadlines_s(&self) -> &BTreeMap<String, u32> {
        &self.ack_deadlines_s
    }

    /// The deadline for one message kind, if the agreement sets one.
    pub fn ack_deadline_s(&self, kind: &str) -> Option<u32> {
        self.ack_deadlines_s.get(kind).copied()
    }

    /// Parties in the order the file lists them (at least two, ids unique).
    pub fn parties(&self) -> &[Party] {
        &self.parties
    }

    pub fn party(&self, id: &PartyId) -> Option<&Party> {
        self.parties.iter().find(|p| &p.id == id)
    }

    /// The party whose key this is, if any (keys are unique across parties).
    pub fn party_by_key(&self, key: &PublicKey) -> Option<&Party> {
        self.parties.iter().find(|p| &p.public_key == key)
    }

    pub fn frequencies(&self) -> &[Frequency] {
        &self.frequencies
    }

    pub fn dividing_lines(&self) -> &[DividingLine] {
        &self.dividing_lines
    }

    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }
}

/// Separation minima and lookahead. Confidential to the parties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Separation {
    pub(crate) horizontal_m: u32,
    pub(crate) vertical_m: u32,
    pub(crate) lookahead_s: u32,
    pub(crate) alerter: Option<String>,
    pub(crate) alerter_conf: Option<String>,
}

impl Separation {
    pub fn horizontal_m(&self) -> u32 {
        self.horizontal_m
    }
    pub fn vertical_m(&self) -> u32 {
        self.vertical_m
    }
    pub fn lookahead_s(&self) -> u32 {
        self.lookahead_s
    }
    /// A DAIDALUS-style alerter name (e.g. `DO_365B_no_SUM`), when the parties chose one.
    pub fn alerter(&self) -> Option<&str> {
        self.alerter.as_deref()
    }
    /// An alerter written into the agreement as DAIDALUS `.conf` text (checked by the
    /// `wellclear` parser when the agreement was read), when the parties wrote one out instead
    /// of naming one: what they sign is then exactly what the desk runs.
    pub fn alerter_conf(&self) -> Option<&str> {
        self.alerter_conf.as_deref()
    }
}

/// Scheduled tests of the line: one every `interval_s`, the first at `offset_s` after 00:00 UTC,
/// each to be answered within `reply_deadline_s`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTest {
    pub(crate) interval_s: u32,
    pub(crate) offset_s: u32,
    pub(crate) reply_deadline_s: u32,
}

impl LinkTest {
    pub fn interval_s(&self) -> u32 {
        self.interval_s
    }
    pub fn offset_s(&self) -> u32 {
        self.offset_s
    }
    pub fn reply_deadline_s(&self) -> u32 {
        self.reply_deadline_s
    }

    /// The first scheduled test at or after `unix_s` (seconds since 1970-01-01T00:00:00Z).
    pub fn next_at_or_after_unix_s(&self, unix_s: i64) -> i64 {
        let interval = i64::from(self.interval_s);
        let offset = i64::from(self.offset_s);
        // Schedule instants are offset + k·interval (UTC days are whole multiples of 86 400 s
        // in Unix time, and interval divides the day, so the schedule repeats daily).
        let k = (unix_s - offset).div_euclid(interval);
        let at = offset + k * interval;
        if at < unix_s { at + interval } else { at }
    }
}

/// A signatory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub(crate) id: PartyId,
    pub(crate) name: String,
    /// The party's name in other languages, by ISO 639 code (`[party.names] ru = "…"`).
    pub(crate) names: BTreeMap<String, String>,
    pub(crate) language: String,
    pub(crate) public_key: PublicKey,
    pub(crate) contacts: Vec<Contact>,
    pub(crate) members: Vec<Member>,
    pub(crate) disclose_track: BTreeSet<TrackField>,
    pub(crate) disclose_notification: BTreeSet<NotificationField>,
}

impl Party {
    pub fn id(&self) -> &PartyId {
        &self.id
    }
    /// Display name, e.g. "Russian Federation".
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The party's name in other languages, by ISO 639 code, as the agreement gives them.
    pub fn names(&self) -> &BTreeMap<String, String> {
        &self.names
    }
    /// The party's name for a reader of `language`: the agreement's name in that language,
    /// else [`Party::name`].
    pub fn name_in(&self, language: &str) -> &str {
        self.names.get(language).map_or(&self.name, |n| n)
    }
    /// ISO 639 language code of the party's duty officers, e.g. `en`, `ru`.
    pub fn language(&self) -> &str {
        &self.language
    }
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }
    /// Duty contacts; their shifts together cover the whole UTC day (checked at parse).
    pub fn contacts(&self) -> &[Contact] {
        &self.contacts
    }
    /// The party's working-group members: the only ones who may assess an incident for it.
    pub fn members(&self) -> &[Member] {
        &self.members
    }
    /// The member with this id, if it is one of this party's.
    pub fn member(&self, id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }
    /// Contacts on duty at `second_of_day_utc` (0..86 400).
    pub fn contacts_on_duty(&self, second_of_day_utc: u32) -> impl Iterator<Item = &Contact> {
        self.contacts
            .iter()
            .filter(move |c| c.shift.covers(second_of_day_utc))
    }
    /// Track fields this party discloses to the other parties.
    pub fn disclose_track(&self) -> &BTreeSet<TrackField> {
        &self.disclose_track
    }
    /// Notification fields this party discloses to the other parties.
    pub fn disclose_notification(&self) -> &BTreeSet<NotificationField> {
        &self.disclose_notification
    }
    /// May the other parties see this track field of this party's aircraft?
    pub fn discloses_track(&self, field: TrackField) -> bool {
        self.disclose_track.contains(&field)
    }
    /// May the other parties see this field of this party's notifications?
    pub fn discloses_notification(&self, field: NotificationField) -> bool {
        self.disclose_notification.contains(&field)
    }
}

/// A party's working-group member: who examines incidents for the party and signs its
/// assessments with a key of its own (never the party's key, never another member's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) public_key: PublicKey,
}

impl Member {
    /// Identifier, unique in the agreement (a-z, 0-9, `_`, `-`).
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Name and post, e.g. "Coalition airspace safety officer".
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The key its assessments are signed with.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }
}

/// A duty contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub(crate) name: String,
    pub(crate) role: String,
    pub(crate) shift: Shift,
    pub(crate) channel: Option<String>,
}

impl Contact {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn role(&self) -> &str {
        &self.role
    }
    pub fn shift(&self) -> Shift {
        self.shift
    }
    /// How to reach the contact (e.g. "line 1, desk B"), if given.
    pub fn channel(&self) -> Option<&str> {
        self.channel.as_deref()
    }
}

/// A daily duty shift in UTC, `[start, end)`; it wraps past midnight when `end < start`.
/// `00:00-24:00` is the whole day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shift {
    pub(crate) start_of_day_s: u32,
    pub(crate) end_of_day_s: u32,
}

impl Shift {
    /// `start_of_day_s` in 0..86 400, `end_of_day_s` in 1..=86 400, and not equal.
    pub fn new(start_of_day_s: u32, end_of_day_s: u32) -> Option<Self> {
        (start_of_day_s < DAY_S
            && end_of_day_s > 0
            && end_of_day_s <= DAY_S
            && start_of_day_s != end_of_day_s)
            .then_some(Self {
                start_of_day_s,
                end_of_day_s,
            })
    }
    pub fn start_of_day_s(&self) -> u32 {
        self.start_of_day_s
    }
    pub fn end_of_day_s(&self) -> u32 {
        self.end_of_day_s
    }
    pub fn covers(&self, second_of_day: u32) -> bool {
        let s = second_of_day % DAY_S;
        if self.start_of_day_s < self.end_of_day_s {
            (self.start_of_day_s..self.end_of_day_s).contains(&s)
        } else {
            s >= self.start_of_day_s || s < self.end_of_day_s
        }
    }
    /// `HH:MM-HH:MM`, the form used in the file.
    pub fn to_text(&self) -> String {
        let hm = |s: u32| format!("{:02}:{:02}", s / 3600, (s % 3600) / 60);
        format!("{}-{}", hm(self.start_of_day_s), hm(self.end_of_day_s))
    }
}

/// Track fields a party may disclose. Names are the file's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum TrackField {
    Position,
    Altitude,
    Velocity,
    Callsign,
    AircraftType,
    Icao24,
    Squawk,
}

impl TrackField {
    pub const ALL: [TrackField; 7] = [
        Self::Position,
        Self::Altitude,
        Self::Velocity,
        Self::Callsign,
        Self::AircraftType,
        Self::Icao24,
        Self::Squawk,
    ];
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Position => "position",
            Self::Altitude => "altitude",
            Self::Velocity => "velocity",
            Self::Callsign => "callsign",
            Self::AircraftType => "aircraft_type",
            Self::Icao24 => "icao24",
            Self::Squawk => "squawk",
        }
    }
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

/// Notification fields a party may disclose. Names are the file's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum NotificationField {
    Area,
    AltitudeBand,
    TimeWindow,
    Callsigns,
    AircraftCount,
    AircraftType,
    Remarks,
}

impl NotificationField {
    pub const ALL: [NotificationField; 7] = [
        Self::Area,
        Self::AltitudeBand,
        Self::TimeWindow,
        Self::Callsigns,
        Self::AircraftCount,
        Self::AircraftType,
        Self::Remarks,
    ];
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Area => "area",
            Self::AltitudeBand => "altitude_band",
            Self::TimeWindow => "time_window",
            Self::Callsigns => "callsigns",
            Self::AircraftCount => "aircraft_count",
            Self::AircraftType => "aircraft_type",
            Self::Remarks => "remarks",
        }
    }
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

/// An agreed radio frequency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frequency {
    pub(crate) name: String,
    pub(crate) hz: u64,
    pub(crate) purpose: Option<String>,
}

impl Frequency {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn hz(&self) -> u64 {
        self.hz
    }
    pub fn purpose(&self) -> Option<&str> {
        self.purpose.as_deref()
    }
}

/// A WGS-84 position in 1e-7 degrees (the fixed-point unit of the canonical encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    pub(crate) lat_e7: i32,
    pub(crate) lon_e7: i32,
}

impl Position {
    /// Latitude in [-90°, 90°], longitude in [-180°, 180°], both in 1e-7 degrees.
    pub fn from_e7(lat_e7: i32, lon_e7: i32) -> Option<Self> {
        ((-900_000_000..=900_000_000).contains(&lat_e7)
            && (-1_800_000_000..=1_800_000_000).contains(&lon_e7))
        .then_some(Self { lat_e7, lon_e7 })
    }
    pub fn lat_e7(&self) -> i32 {
        self.lat_e7
    }
    pub fn lon_e7(&self) -> i32 {
        self.lon_e7
    }
    pub fn lat_deg(&self) -> f64 {
        f64::from(self.lat_e7) / 1e7
    }
    pub fn lon_deg(&self) -> f64 {
        f64::from(self.lon_e7) / 1e7
    }
    fn geojson(&self) -> serde_json::Value {
        serde_json::json!([self.lon_deg(), self.lat_deg()])
    }
}

/// An agreed geographic polyline (e.g. a river) that a party's aircraft must not cross.
/// `left_party`/`right_party` say whose side is which, looking along the line's direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DividingLine {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) points: Vec<Position>,
    pub(crate) left_party: Option<PartyId>,
    pub(crate) right_party: Option<PartyId>,
}

impl DividingLine {
    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    /// At least two points, consecutive points distinct.
    pub fn points(&self) -> &[Position] {
        &self.points
    }
    pub fn left_party(&self) -> Option<&PartyId> {
        self.left_party.as_ref()
    }
    pub fn right_party(&self) -> Option<&PartyId> {
        self.right_party.as_ref()
    }
    /// The line as a GeoJSON `LineString` geometry (RFC 7946 §3.1.4), degrees.
    pub fn to_geojson(&self) -> serde_json::Value {
        let coords: Vec<_> = self.points.iter().map(Position::geojson).collect();
        serde_json::json!({"type": "LineString", "coordinates": coords})
    }
}

/// A zone's area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Area {
    /// RFC 7946 polygon: first ring exterior, others holes; each ring closed, ≥ 4 positions.
    Polygon { rings: Vec<Vec<Position>> },
    /// A circle, written in the file as a GeoJSON `Point` plus `radius_m`.
    Circle { center: Position, radius_m: u32 },
}

impl Area {
    /// GeoJSON geometry (degrees). A circle is a `Point`; its radius is [`Zone::radius_m`].
    pub fn to_geojson(&self) -> serde_json::Value {
        match self {
            Area::Polygon { rings } => {
                let rings: Vec<Vec<_>> = rings
                    .iter()
                    .map(|r| r.iter().map(Position::geojson).collect())
                    .collect();
                serde_json::json!({"type": "Polygon", "coordinates": rings})
            }
            Area::Circle { center, .. } => {
                serde_json::json!({"type": "Point", "coordinates": center.geojson()})
            }
        }
    }
}

/// An agreed zone, e.g. the 55 km zone around al-Tanf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) area: Area,
    pub(crate) floor_m: Option<i32>,
    pub(crate) ceiling_m: Option<i32>,
    pub(crate) excluded_parties: BTreeSet<PartyId>,
}

impl Zone {
    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn area(&self) -> &Area {
        &self.area
    }
    /// Circle radius in metres, for a circular zone.
    pub fn radius_m(&self) -> Option<u32> {
        match self.area {
            Area::Circle { radius_m, .. } => Some(radius_m),
            Area::Polygon { .. } => None,
        }
    }
    /// Lower bound (metres above mean sea level), if the zone has one; else from the ground.
    pub fn floor_m(&self) -> Option<i32> {
        self.floor_m
    }
    /// Upper bound (metres above mean sea level), if the zone has one; else unlimited.
    pub fn ceiling_m(&self) -> Option<i32> {
        self.ceiling_m
    }
    /// Parties whose aircraft must not enter.
    pub fn excluded_parties(&self) -> &BTreeSet<PartyId> {
        &self.excluded_parties
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_wraps_midnight() {
        let night = Shift::new(22 * 3600, 6 * 3600).unwrap();
        assert!(night.covers(23 * 3600));
        assert!(night.covers(0));
        assert!(!night.covers(6 * 3600));
        assert!(!night.covers(12 * 3600));
        assert_eq!(night.to_text(), "22:00-06:00");
        let day = Shift::new(0, DAY_S).unwrap();
        assert!(day.covers(0) && day.covers(DAY_S - 1));
        assert!(Shift::new(5, 5).is_none());
        assert!(Shift::new(DAY_S, 5).is_none());
    }

    #[test]
    fn link_test_schedule() {
        let lt = LinkTest {
            interval_s: 3600,
            offset_s: 600,
            reply_deadline_s: 60,
        };
        assert_eq!(lt.next_at_or_after_unix_s(0), 600);
        assert_eq!(lt.next_at_or_after_unix_s(600), 600);
        assert_eq!(lt.next_at_or_after_unix_s(601), 4200);
        assert_eq!(lt.next_at_or_after_unix_s(-1), 600);
    }
}
