//! Duty rosters, acknowledgement deadlines and link-test schedules: the parts of the agreement
//! the line runs on. Built and validated once; the state machine only reads them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ids::{OfficerName, PartyId};
use crate::message::MessageKind;
use crate::units::{RangeError, Timestamp};

/// Duty contacts one party may list (the command comes on top).
pub const ROSTER_CONTACTS_MAX: usize = 32;
/// Parties on one line.
pub const PARTIES_MAX: usize = 16;
/// Link tests per schedule per day: one a minute, the shortest interval an agreement may set.
pub const LINK_TESTS_PER_DAY_MAX: usize = 1440;
/// Shortest and longest acknowledgement deadline an agreement may set.
pub const DEADLINE_MIN: Duration = Duration::from_secs(1);
pub const DEADLINE_MAX: Duration = Duration::from_secs(7 * 24 * 3600);

const DAY_S: u32 = 86_400;

/// A daily shift in UTC, seconds since 00:00 UTC: `[start, end)`. `end < start` wraps past
/// midnight; `start == end` is the whole day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawShift", into = "RawShift")]
pub struct Shift {
    start_s: u32,
    end_s: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShift {
    start_utc_s: u32,
    end_utc_s: u32,
}

impl Shift {
    pub const ALL_DAY: Shift = Shift {
        start_s: 0,
        end_s: 0,
    };
    pub fn new(start_utc_s: u32, end_utc_s: u32) -> Result<Self, RangeError> {
        for v in [start_utc_s, end_utc_s] {
            if v >= DAY_S {
                return Err(RangeError::OutOfRange {
                    what: "shift bound (s after 00:00 UTC)",
                    value: i64::from(v),
                    min: 0,
                    max: i64::from(DAY_S - 1),
                });
            }
        }
        Ok(Shift {
            start_s: start_utc_s,
            end_s: end_utc_s,
        })
    }
    /// From whole hours, `Shift::hours(6, 18)` = 06:00–18:00 UTC.
    pub fn hours(start_h: u32, end_h: u32) -> Result<Self, RangeError> {
        Self::new(start_h.saturating_mul(3600), end_h.saturating_mul(3600))
    }
    pub fn covers(self, t: Timestamp) -> bool {
        let s = t.second_of_day_utc();
        match self.start_s.cmp(&self.end_s) {
            std::cmp::Ordering::Equal => true,
            std::cmp::Ordering::Less => self.start_s <= s && s < self.end_s,
            std::cmp::Ordering::Greater => s >= self.start_s || s < self.end_s,
        }
    }
}
impl TryFrom<RawShift> for Shift {
    type Error = RangeError;
    fn try_from(r: RawShift) -> Result<Self, RangeError> {
        Shift::new(r.start_utc_s, r.end_utc_s)
    }
}
impl From<Shift> for RawShift {
    fn from(s: Shift) -> RawShift {
        RawShift {
            start_utc_s: s.start_s,
            end_utc_s: s.end_s,
        }
    }
}

/// One duty officer and the shift they hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DutyContact {
    pub officer: OfficerName,
    pub shift: Shift,
}

/// A party's duty contacts in escalation order, and its command (the last resort).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawRoster", into = "RawRoster")]
pub struct Roster {
    party: PartyId,
    contacts: Vec<DutyContact>,
    command: OfficerName,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoster {
    party: PartyId,
    contacts: Vec<DutyContact>,
    command: OfficerName,
}

impl Roster {
    pub fn new(
        party: PartyId,
        contacts: Vec<DutyContact>,
        command: OfficerName,
    ) -> Result<Self, RangeError> {
        if contacts.len() > ROSTER_CONTACTS_MAX {
            return Err(RangeError::Invalid(format!(
                "party {party}: {} duty contacts, at most {ROSTER_CONTACTS_MAX}",
                contacts.len()
            )));
        }
        let mut names = BTreeSet::new();
        for c in &contacts {
            if !names.insert(&c.officer) || c.officer == command {
                return Err(RangeError::Invalid(format!(
                    "party {party}: officer {:?} listed twice",
                    c.officer.as_str()
                )));
            }
        }
        Ok(Roster {
            party,
            contacts,
            command,
        })
    }
    pub fn party(&self) -> &PartyId {
        &self.party
    }
    pub fn contacts(&self) -> &[DutyContact] {
        &self.contacts
    }
    pub fn command(&self) -> &OfficerName {
        &self.command
    }
    /// Who a message received at `t` goes to, in escalation order: the contacts on shift at
    /// `t` in roster order, then the command. Fixed when the message arrives, so a shift change
    /// during an escalation does not reorder it.
    pub fn chain_at(&self, t: Timestamp) -> Vec<OfficerName> {
        self.contacts
            .iter()
            .filter(|c| c.shift.covers(t))
            .map(|c| c.officer.clone())
            .chain(std::iter::once(self.command.clone()))
            .collect()
    }
    /// Whether `officer` may acknowledge for this party (any listed contact, or the command).
    pub fn lists(&self, officer: &OfficerName) -> bool {
        *officer == self.command || self.contacts.iter().any(|c| c.officer == *officer)
    }
}
impl TryFrom<RawRoster> for Roster {
    type Error = RangeError;
    fn try_from(r: RawRoster) -> Result<Self, RangeError> {
        Roster::new(r.party, r.contacts, r.command)
    }
}
impl From<Roster> for RawRoster {
    fn from(r: Roster) -> RawRoster {
        RawRoster {
            party: r.party,
            contacts: r.contacts,
            command: r.command,
        }
    }
}

/// Acknowledgement deadline per message kind, from the agreement. A kind without a deadline
/// needs no acknowledgement. Each escalation step gets the same deadline again.
/// JSON: `{"strike_warning": 120, "conflict_alert": 60}` (seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "BTreeMap<MessageKind, u64>",
    into = "BTreeMap<MessageKind, u64>"
)]
pub struct AckPolicy {
    deadlines: BTreeMap<MessageKind, Duration>,
}

impl AckPolicy {
    pub fn new(
        deadlines: impl IntoIterator<Item = (MessageKind, Duration)>,
    ) -> Result<Self, RangeError> {
        let mut map = BTreeMap::new();
        for (kind, d) in deadlines {
            if kind == MessageKind::Acknowledgement {
                return Err(RangeError::Invalid(
                    "an acknowledgement is never itself acknowledged".into(),
                ));
            }
            if !(DEADLINE_MIN..=DEADLINE_MAX).contains(&d) {
                return Err(RangeError::Invalid(format!(
                    "deadline for {kind} is {} s, allowed {}..={} s",
                    d.as_secs(),
                    DEADLINE_MIN.as_secs(),
                    DEADLINE_MAX.as_secs()
                )));
            }
            map.insert(kind, d);
        }
        Ok(AckPolicy { deadlines: map })
    }
    pub fn deadline(&self, kind: MessageKind) -> Option<Duration> {
        self.deadlines.get(&kind).copied()
    }
}

impl TryFrom<BTreeMap<MessageKind, u64>> for AckPolicy {
    type Error = RangeError;
    fn try_from(m: BTreeMap<MessageKind, u64>) -> Result<Self, RangeError> {
        AckPolicy::new(m.into_iter().map(|(k, s)| (k, Duration::from_secs(s))))
    }
}
impl From<AckPolicy> for BTreeMap<MessageKind, u64> {
    fn from(p: AckPolicy) -> Self {
        p.deadlines
            .into_iter()
            .map(|(k, d)| (k, d.as_secs()))
            .collect()
    }
}

impl Default for AckPolicy {
    /// Deadlines in the spirit of the 2015 memorandum's line: a strike warning is acknowledged
    /// within two minutes, a conflict alert within one; free text needs no acknowledgement.
    fn default() -> Self {
        use MessageKind as K;
        let s = Duration::from_secs;
        AckPolicy::new([
            (K::LinkTest, s(300)),
            (K::NotificationOfOperations, s(900)),
            (K::StrikeWarning, s(120)),
            (K::ConflictAlert, s(60)),
            (K::RequestToAlter, s(300)),
            (K::Reply, s(300)),
            (K::IncidentReport, s(3600)),
            (K::InvestigationRequest, s(86_400)),
        ])
        .expect("default deadlines are within bounds")
    }
}

/// `from` tests whether `to` answers, at fixed times of each UTC day.
/// JSON: `{"from": "coalition", "to": "russia", "times_utc_s": [21600, 64800]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawSchedule", into = "RawSchedule")]
pub struct LinkTestSchedule {
    from: PartyId,
    to: PartyId,
    times_utc_s: Vec<u32>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    from: PartyId,
    to: PartyId,
    times_utc_s: Vec<u32>,
}
impl TryFrom<RawSchedule> for LinkTestSchedule {
    type Error = RangeError;
    fn try_from(r: RawSchedule) -> Result<Self, RangeError> {
        LinkTestSchedule::new(r.from, r.to, r.times_utc_s)
    }
}
impl From<LinkTestSchedule> for RawSchedule {
    fn from(s: LinkTestSchedule) -> Self {
        RawSchedule {
            from: s.from,
            to: s.to,
            times_utc_s: s.times_utc_s,
        }
    }
}

impl LinkTestSchedule {
    pub fn new(from: PartyId, to: PartyId, mut times_utc_s: Vec<u32>) -> Result<Self, RangeError> {
        if from == to {
            return Err(RangeError::Invalid(format!(
                "link test from {from} to itself"
            )));
        }
        times_utc_s.sort_unstable();
        times_utc_s.dedup();
        if times_utc_s.is_empty()
            || times_utc_s.len() > LINK_TESTS_PER_DAY_MAX
            || times_utc_s.iter().any(|&t| t >= DAY_S)
        {
            return Err(RangeError::Invalid(format!(
                "link tests {from}→{to}: 1..={LINK_TESTS_PER_DAY_MAX} times of day below 86400 s"
            )));
        }
        Ok(LinkTestSchedule {
            from,
            to,
            times_utc_s,
        })
    }
    /// Twice a day, 06:00 and 18:00 UTC (the line's rhythm in November 2015).
    pub fn twice_daily(from: PartyId, to: PartyId) -> Result<Self, RangeError> {
        Self::new(from, to, vec![6 * 3600, 18 * 3600])
    }
    pub fn from(&self) -> &PartyId {
        &self.from
    }
    pub fn to(&self) -> &PartyId {
        &self.to
    }
    /// The first scheduled instant at or after `t`.
    pub fn next_at_or_after(&self, t: Timestamp) -> Timestamp {
        let day = t.start_of_day_utc();
        let s_of_day = i64::from(t.second_of_day_utc());
        let sub_ms = t.ms_since(day) - s_of_day * 1000;
        for &s in &self.times_utc_s {
            let at = i64::from(s);
            if at > s_of_day || (at == s_of_day && sub_ms == 0) {
                return day.saturating_add(Duration::from_secs(u64::from(s)));
            }
        }
        day.saturating_add(Duration::from_secs(
            u64::from(DAY_S) + u64::from(self.times_utc_s[0]),
        ))
    }
}

/// Everything the line needs from the agreement, checked to fit together.
/// JSON: `{"rosters": [...], "ack_deadlines_s": {...}, "link_tests": [...], "start_ms": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawConfig", into = "RawConfig")]
pub struct LineConfig {
    rosters: Vec<Roster>,
    policy: AckPolicy,
    link_tests: Vec<LinkTestSchedule>,
    start: Timestamp,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    rosters: Vec<Roster>,
    ack_deadlines_s: AckPolicy,
    #[serde(default)]
    link_tests: Vec<LinkTestSchedule>,
    start_ms: Timestamp,
}
impl TryFrom<RawConfig> for LineConfig {
    type Error = RangeError;
    fn try_from(r: RawConfig) -> Result<Self, RangeError> {
        LineConfig::new(r.rosters, r.ack_deadlines_s, r.link_tests, r.start_ms)
    }
}
impl From<LineConfig> for RawConfig {
    fn from(c: LineConfig) -> Self {
        RawConfig {
            rosters: c.rosters,
            ack_deadlines_s: c.policy,
            link_tests: c.link_tests,
            start_ms: c.start,
        }
    }
}

impl LineConfig {
    /// `start`: when the line opened; link tests are scheduled from then on.
    pub fn new(
        rosters: Vec<Roster>,
        policy: AckPolicy,
        link_tests: Vec<LinkTestSchedule>,
        start: Timestamp,
    ) -> Result<Self, RangeError> {
        if rosters.len() > PARTIES_MAX {
            return Err(RangeError::Invalid(format!(
                "{} parties, at most {PARTIES_MAX}",
                rosters.len()
            )));
        }
        let mut parties = BTreeSet::new();
        for r in &rosters {
            if !parties.insert(r.party()) {
                return Err(RangeError::Invalid(format!(
                    "party {} has two rosters",
                    r.party()
                )));
            }
        }
        for lt in &link_tests {
            for p in [lt.from(), lt.to()] {
                if !parties.contains(p) {
                    return Err(RangeError::Invalid(format!(
                        "link test names party {p}, which has no roster"
                    )));
                }
            }
        }
        if !link_tests.is_empty() && policy.deadline(MessageKind::LinkTest).is_none() {
            return Err(RangeError::Invalid(
                "link tests are scheduled but the policy sets no link-test deadline".into(),
            ));
        }
        Ok(LineConfig {
            rosters,
            policy,
            link_tests,
            start,
        })
    }
    pub fn roster(&self, party: &PartyId) -> Option<&Roster> {
        self.rosters.iter().find(|r| r.party() == party)
    }
    pub fn rosters(&self) -> &[Roster] {
        &self.rosters
    }
    pub fn policy(&self) -> &AckPolicy {
        &self.policy
    }
    pub fn link_tests(&self) -> &[LinkTestSchedule] {
        &self.link_tests
    }
    pub fn start(&self) -> Timestamp {
        self.start
    }
}
