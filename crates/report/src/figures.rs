//! The figures, per ISO week (Monday 00:00 UTC to the next Monday), and their definitions.
//!
//! - **Acknowledgement on time**: a line message to a party, of a kind with an acknowledgement
//!   deadline `d`, sent (entry time) at `t`, is on time when that party's first
//!   acknowledgement of it in the record is timed strictly before `t + d` — the line's own rule.
//!   Late: acknowledged at or after `t + d`; unanswered: no acknowledgement anywhere in the
//!   record. Time to acknowledge is the acknowledgement's time minus the message's (0 when the
//!   parties' clocks put it earlier); median and 95th percentile by the nearest-rank method
//!   over the acknowledged messages. Link tests are counted apart, against the link test's
//!   reply deadline.
//! - **Notification withdrawn late**: withdrawn at or after the start of its window (the other
//!   side may already have planned around it). When the party keeps the window undisclosed the
//!   withdrawal is counted as *undetermined*.
//! - **Flight hours**: notified flight hours — for each notification not withdrawn before its
//!   window began, its disclosed aircraft count (1 when undisclosed) times the part of its
//!   disclosed window within the week. Track reports themselves are not in the record.
//! - **Incidents**: by the week of the first entry naming them; an incident is *agreed* when
//!   every party has an assessment in the record (its working-group member's, the entry naming
//!   the party in `assessed_for`) and all give the same risk category,
//!   *disputed* when two assessments differ, otherwise *not assessed*.
//! - **Trust index** (0–100): 100 × the mean of the week's shares that have data — on-time
//!   acknowledgements, link tests answered in time, withdrawals not late (of those
//!   determined), incidents agreed (of those assessed). Its trend is the least-squares slope of
//!   the index over the weeks that have one, in points per week.
//!
//! Every message, acknowledgement, notification and alert is counted in the week its entry
//! falls in; only entries inside the window `[from, to)` count.

use std::collections::{BTreeMap, BTreeSet};

use deconflict_line::{AckPolicy, MessageKind};
use serde::Serialize;

use crate::facts::{Facts, GEOGRAPHY_KIND, NONCONFORMANCE_KIND, RISK_CATEGORIES};
use crate::{ReportError, WEEKS_MAX};

/// One day, in milliseconds.
pub const DAY_MS: u64 = 86_400_000;
/// One week, in milliseconds.
pub const WEEK_MS: u64 = 7 * DAY_MS;
/// One hour, in milliseconds.
pub const HOUR_MS: u64 = 3_600_000;
/// Day number of the Monday 1970-01-05, the first ISO week start after the epoch.
const FIRST_MONDAY_DAY: u64 = 4;

/// The acknowledgement deadlines a report judges by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Deadlines {
    /// Per message kind (catalogue tag), in ms; kinds absent need no acknowledgement.
    pub ack_ms: BTreeMap<String, u64>,
    /// The link test's reply deadline, ms.
    pub link_test_reply_ms: u64,
    /// Where they come from (`agreement <id>` or `line defaults`).
    pub source: String,
}

impl Deadlines {
    /// The line's default deadlines (used when no agreement is given).
    pub fn line_defaults() -> Deadlines {
        let policy = AckPolicy::default();
        let ack_ms = MessageKind::ALL
            .into_iter()
            .filter(|k| *k != MessageKind::LinkTest)
            .filter_map(|k| {
                policy
                    .deadline(k)
                    .map(|d| (k.tag().to_string(), d.as_millis() as u64))
            })
            .collect();
        let link_test_reply_ms = policy
            .deadline(MessageKind::LinkTest)
            .map_or(300_000, |d| d.as_millis() as u64);
        Deadlines {
            ack_ms,
            link_test_reply_ms,
            source: "line defaults".into(),
        }
    }

    /// The deadlines an agreement sets (`ack_deadline_s`, the link test's `reply_deadline_s`),
    /// as the service applies them.
    pub fn from_agreement(agreement: &deconflict_agreement::Agreement) -> Deadlines {
        let mut ack_ms = BTreeMap::new();
        for (name, s) in agreement.ack_deadlines_s() {
            match MessageKind::from_agreement_name(name) {
                Some(MessageKind::LinkTest | MessageKind::Acknowledgement) | None => {}
                Some(k) => {
                    ack_ms.insert(k.tag().to_string(), u64::from(*s) * 1000);
                }
            }
        }
        Deadlines {
            ack_ms,
            link_test_reply_ms: u64::from(agreement.link_test().reply_deadline_s()) * 1000,
            source: format!("agreement {}", agreement.id().to_text()),
        }
    }
}

/// What a report covers and judges by.
#[derive(Clone, Debug)]
pub struct Options {
    /// Start of the window, ms since the Unix epoch; `None`: the first entry's week.
    pub from_unix_ms: Option<u64>,
    /// End of the window (exclusive); `None`: after the last entry.
    pub to_unix_ms: Option<u64>,
    /// Acknowledgement deadlines.
    pub deadlines: Deadlines,
}

/// Acknowledgements of one kind of message by one party in one week.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AckFigure {
    /// The acknowledging party (the message's recipient).
    pub party: String,
    /// Message kind (catalogue tag).
    pub kind: String,
    /// Messages that needed an acknowledgement.
    pub due: u64,
    /// Acknowledged before the deadline.
    pub on_time: u64,
    /// Acknowledged at or after the deadline.
    pub late: u64,
    /// Never acknowledged in the record.
    pub unanswered: u64,
    /// Median time to acknowledge, ms.
    pub median_ms: Option<u64>,
    /// 95th percentile time to acknowledge, ms.
    pub p95_ms: Option<u64>,
}

/// Link tests to one party in one week.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LinkTestFigure {
    /// The tested party.
    pub party: String,
    /// Link tests sent to it.
    pub sent: u64,
    /// Answered before the reply deadline.
    pub answered_in_time: u64,
}

/// One party's week: withdrawals and events.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PartyFigure {
    /// The party.
    pub party: String,
    /// Notifications withdrawn.
    pub withdrawn: u64,
    /// Withdrawn at or after their window began.
    pub withdrawn_late: u64,
    /// Withdrawn with the window undisclosed.
    pub withdrawn_undetermined: u64,
    /// Nonconformance events.
    pub nonconformances: u64,
    /// Geography events (line crossings, zone entries).
    pub geography_events: u64,
}

/// Alerts of one level in one week.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertFigure {
    /// Level as recorded.
    pub level: String,
    /// Alerts.
    pub count: u64,
    /// Per 1,000 notified flight hours; `None` when the week has none.
    pub per_1000_flight_hours: Option<f64>,
}

/// Incidents first recorded in one week.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct IncidentFigure {
    /// Incidents.
    pub filed: u64,
    /// Agreed incidents by risk category.
    pub agreed_by_category: BTreeMap<String, u64>,
    /// Agreed.
    pub agreed: u64,
    /// Disputed.
    pub disputed: u64,
    /// Not (yet) assessed by every party.
    pub not_assessed: u64,
}

/// The shares the trust index averages, each in 0..=1 when the week has data for it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TrustComponents {
    /// On-time acknowledgements / due.
    pub acknowledged_on_time: Option<f64>,
    /// Link tests answered in time / sent.
    pub link_tests_answered: Option<f64>,
    /// Withdrawals not late / determined.
    pub withdrawals_in_time: Option<f64>,
    /// Incidents agreed / assessed.
    pub incidents_agreed: Option<f64>,
}

/// One week's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Week {
    /// The Monday that starts it, `YYYY-MM-DD`.
    pub week_start: String,
    /// ISO week, `YYYY-Www`.
    pub iso_week: String,
    /// Start, ms since the Unix epoch.
    pub start_unix_ms: u64,
    /// Acknowledgements per party and kind.
    pub acknowledgements: Vec<AckFigure>,
    /// Link tests per party.
    pub link_tests: Vec<LinkTestFigure>,
    /// Withdrawals and events per party.
    pub parties: Vec<PartyFigure>,
    /// Notified flight hours.
    pub flight_hours: f64,
    /// Alerts by level.
    pub alerts: Vec<AlertFigure>,
    /// Incidents.
    pub incidents: IncidentFigure,
    /// The trust index's shares.
    pub trust_components: TrustComponents,
    /// The trust index, 0–100.
    pub trust_index: Option<f64>,
    /// Change of the index from the previous week that has one.
    pub trust_change: Option<f64>,
}

/// The report: where its figures come from, and the weeks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The log's key id.
    pub log: String,
    /// The tree head the export verified to: size.
    pub tree_size: u64,
    /// Its root, hex.
    pub tree_root: String,
    /// Whether the parties' keys were pinned from outside the export.
    pub keys_pinned: bool,
    /// Parties.
    pub parties: Vec<String>,
    /// Window start, ms since the Unix epoch (a Monday 00:00 UTC or the given start).
    pub from_unix_ms: u64,
    /// Window end (exclusive).
    pub to_unix_ms: u64,
    /// The deadlines judged by.
    pub deadlines: Deadlines,
    /// Weeks, oldest first.
    pub weeks: Vec<Week>,
    /// Least-squares slope of the trust index, points per week.
    pub trust_trend_per_week: Option<f64>,
}

/// The Monday 00:00 UTC at or before `t_ms` (the epoch's own partial week starts at 0).
pub fn week_start(t_ms: u64) -> u64 {
    let day = t_ms / DAY_MS;
    if day < FIRST_MONDAY_DAY {
        return 0;
    }
    (day - (day - FIRST_MONDAY_DAY) % 7) * DAY_MS
}

/// Nearest-rank percentile `p` (0 < p ≤ 100) of sorted values.
pub fn percentile(sorted: &[u64], p: u64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (p * n).div_ceil(100).clamp(1, n);
    Some(sorted[(rank - 1) as usize])
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

fn date_of(ms: u64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp((ms / 1000) as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// `YYYY-MM-DD` of a time, UTC.
pub fn date_text(ms: u64) -> String {
    let d = date_of(ms).date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn iso_week_text(ms: u64) -> String {
    let (y, w, _) = date_of(ms).date().to_iso_week_date();
    format!("{y:04}-W{w:02}")
}

/// Midnight UTC starting `YYYY-MM-DD`, ms since the Unix epoch. Dates before 1970 are refused.
pub fn parse_date(text: &str) -> Result<u64, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format)
        .map_err(|e| format!("{text:?} is not a date YYYY-MM-DD: {e}"))?;
    let s = date.midnight().assume_utc().unix_timestamp();
    u64::try_from(s)
        .map(|s| s * 1000)
        .map_err(|_| format!("{text:?} is before 1970-01-01"))
}

/// Least-squares slope of `y` over `x`; `None` with fewer than two points.
fn slope(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// The report's window `[from, to)` and the weeks it spans.
struct Window {
    from: u64,
    to: u64,
    first_week: u64,
}

impl Window {
    /// The window `options` ask for, by default from the first fact to just after the last;
    /// refused when empty or longer than [`WEEKS_MAX`] weeks.
    fn of(facts: &Facts, options: &Options) -> Result<(Window, usize), ReportError> {
        let times = facts
            .messages
            .iter()
            .map(|m| m.time_ms)
            .chain(facts.acks.values().copied())
            .chain(facts.withdrawals.iter().map(|w| w.time_ms))
            .chain(facts.alerts.iter().map(|a| a.time_ms))
            .chain(facts.party_events.iter().map(|e| e.time_ms))
            .chain(facts.incidents.iter().map(|i| i.time_ms))
            .chain(facts.notifications.values().map(|n| n.time_ms));
        let (first, last) = times.fold((u64::MAX, 0), |(lo, hi), t| (lo.min(t), hi.max(t)));
        let from = options
            .from_unix_ms
            .unwrap_or(if first == u64::MAX { 0 } else { first });
        let to = options
            .to_unix_ms
            .unwrap_or_else(|| last.saturating_add(1).max(from.saturating_add(1)));
        if to <= from {
            return Err(ReportError::Window {
                from_unix_ms: from,
                to_unix_ms: to,
            });
        }
        let first_week = week_start(from);
        let weeks_n = (to - first_week).div_ceil(WEEK_MS);
        if weeks_n > WEEKS_MAX as u64 {
            return Err(ReportError::TooManyWeeks { weeks: weeks_n });
        }
        Ok((
            Window {
                from,
                to,
                first_week,
            },
            weeks_n as usize,
        ))
    }

    fn contains(&self, t: u64) -> bool {
        (self.from..self.to).contains(&t)
    }

    /// The position of `t`'s week among the window's weeks.
    fn week_of(&self, t: u64) -> usize {
        ((week_start(t) - self.first_week) / WEEK_MS) as usize
    }
}

/// Computes the report over `facts` for `options`' window.
pub fn compute(facts: &Facts, options: &Options) -> Result<Report, ReportError> {
    let (window, weeks_n) = Window::of(facts, options)?;
    let parties: BTreeSet<&str> = facts.parties.iter().map(String::as_str).collect();
    let mut weeks: Vec<WeekAcc> = (0..weeks_n).map(|_| WeekAcc::default()).collect();
    count_messages(facts, options, &window, &parties, &mut weeks);
    count_withdrawals(facts, &window, &mut weeks);
    for e in facts
        .party_events
        .iter()
        .filter(|e| window.contains(e.time_ms))
    {
        let f = weeks[window.week_of(e.time_ms)].party(&e.party);
        if e.kind == NONCONFORMANCE_KIND {
            f.nonconformances += 1;
        } else if e.kind == GEOGRAPHY_KIND {
            f.geography_events += 1;
        }
    }
    add_flight_hours(facts, &window, &mut weeks);
    for a in facts.alerts.iter().filter(|a| window.contains(a.time_ms)) {
        *weeks[window.week_of(a.time_ms)]
            .alerts
            .entry(a.level.clone())
            .or_default() += 1;
    }
    count_incidents(facts, &window, &parties, &mut weeks);

    let mut out = Vec::with_capacity(weeks.len());
    let mut previous: Option<f64> = None;
    let mut points = Vec::new();
    for (i, acc) in weeks.into_iter().enumerate() {
        let start = window.first_week + i as u64 * WEEK_MS;
        let week = acc.finish(start, &facts.parties, previous);
        if let Some(x) = week.trust_index {
            points.push((i as f64, x));
            previous = Some(x);
        }
        out.push(week);
    }
    Ok(Report {
        log: facts.log.clone(),
        tree_size: facts.tree_head.tree_head().size(),
        tree_root: facts.tree_head.tree_head().root().to_hex(),
        keys_pinned: facts.keys_pinned,
        parties: facts.parties.clone(),
        from_unix_ms: window.from,
        to_unix_ms: window.to,
        deadlines: options.deadlines.clone(),
        weeks: out,
        trust_trend_per_week: slope(&points),
    })
}

/// Messages to a party of the report: link tests answered within their deadline, and the
/// acknowledgements due (on time, late, unanswered) with their latencies.
fn count_messages(
    facts: &Facts,
    options: &Options,
    window: &Window,
    parties: &BTreeSet<&str>,
    weeks: &mut [WeekAcc],
) {
    for m in facts.messages.iter().filter(|m| window.contains(m.time_ms)) {
        if !parties.contains(m.to.as_str()) {
            continue;
        }
        let w = &mut weeks[window.week_of(m.time_ms)];
        let ack = facts.acks.get(&(m.to.clone(), m.id.clone())).copied();
        if m.kind == MessageKind::LinkTest.tag() {
            let f = w.link_tests.entry(m.to.clone()).or_default();
            f.sent += 1;
            if ack.is_some_and(|a| {
                a < m
                    .time_ms
                    .saturating_add(options.deadlines.link_test_reply_ms)
            }) {
                f.answered_in_time += 1;
            }
            continue;
        }
        let Some(deadline) = options.deadlines.ack_ms.get(&m.kind) else {
            continue;
        };
        let (f, latencies) = w.acks.entry((m.to.clone(), m.kind.clone())).or_default();
        f.due += 1;
        match ack {
            None => f.unanswered += 1,
            Some(a) => {
                if a < m.time_ms.saturating_add(*deadline) {
                    f.on_time += 1;
                } else {
                    f.late += 1;
                }
                latencies.push(a.saturating_sub(m.time_ms));
            }
        }
    }
}

/// Withdrawals per party, and those made once the notified window had begun.
fn count_withdrawals(facts: &Facts, window: &Window, weeks: &mut [WeekAcc]) {
    for wd in facts
        .withdrawals
        .iter()
        .filter(|w| window.contains(w.time_ms))
    {
        let f = weeks[window.week_of(wd.time_ms)].party(&wd.party);
        f.withdrawn += 1;
        let start = facts
            .notifications
            .get(&wd.notification_id)
            .and_then(|n| n.start_unix_ms);
        match start {
            None => f.withdrawn_undetermined += 1,
            Some(s) if wd.time_ms as i128 >= i128::from(s) => f.withdrawn_late += 1,
            Some(_) => {}
        }
    }
}

/// Notified flight hours, split over the weeks each window overlaps; a notification withdrawn
/// before its start flies none.
fn add_flight_hours(facts: &Facts, window: &Window, weeks: &mut [WeekAcc]) {
    let withdrawn_at: BTreeMap<&str, u64> = facts
        .withdrawals
        .iter()
        .map(|w| (w.notification_id.as_str(), w.time_ms))
        .collect();
    for (id, n) in &facts.notifications {
        let (Some(s), Some(e)) = (n.start_unix_ms, n.end_unix_ms) else {
            continue;
        };
        let (s, e) = (s.max(0) as u64, e.max(0) as u64);
        if withdrawn_at.get(id.as_str()).is_some_and(|w| *w < s) {
            continue;
        }
        let aircraft = n.aircraft_count.unwrap_or(1).max(0) as f64;
        let (s, e) = (s.max(window.from), e.min(window.to));
        if e <= s {
            continue;
        }
        let mut t = s;
        while t < e {
            let end = (week_start(t) + WEEK_MS).min(e);
            weeks[window.week_of(t)].flight_ms += aircraft * (end - t) as f64;
            t = end;
        }
    }
}

/// Incidents: the first entry's week; each party's latest assessment counts.
fn count_incidents(
    facts: &Facts,
    window: &Window,
    parties: &BTreeSet<&str>,
    weeks: &mut [WeekAcc],
) {
    let mut incidents: BTreeMap<&str, (u64, BTreeMap<&str, &str>)> = BTreeMap::new();
    for i in &facts.incidents {
        let (first_ms, views) = incidents
            .entry(i.incident_id.as_str())
            .or_insert((i.time_ms, BTreeMap::new()));
        *first_ms = (*first_ms).min(i.time_ms);
        if let Some(c) = &i.risk_category {
            views.insert(i.view_of.as_str(), c.as_str());
        }
    }
    for (first_ms, views) in incidents.values() {
        if !window.contains(*first_ms) {
            continue;
        }
        let f = &mut weeks[window.week_of(*first_ms)].incidents;
        f.filed += 1;
        let categories: BTreeSet<&str> = views.values().copied().collect();
        let all_assessed = !parties.is_empty() && parties.iter().all(|p| views.contains_key(p));
        if categories.len() > 1 {
            f.disputed += 1;
        } else if all_assessed && let Some(c) = categories.first() {
            f.agreed += 1;
            *f.agreed_by_category.entry((*c).to_string()).or_default() += 1;
        } else {
            f.not_assessed += 1;
        }
    }
}

#[derive(Default)]
struct WeekAcc {
    acks: BTreeMap<(String, String), (AckFigure, Vec<u64>)>,
    link_tests: BTreeMap<String, LinkTestFigure>,
    parties: BTreeMap<String, PartyFigure>,
    flight_ms: f64,
    alerts: BTreeMap<String, u64>,
    incidents: IncidentFigure,
}

impl WeekAcc {
    fn party(&mut self, p: &str) -> &mut PartyFigure {
        self.parties.entry(p.to_string()).or_default()
    }

    fn finish(self, start: u64, parties: &[String], previous: Option<f64>) -> Week {
        let mut acknowledgements = Vec::new();
        let (mut due, mut on_time) = (0, 0);
        for ((party, kind), (mut f, mut lat)) in self.acks {
            lat.sort_unstable();
            f.party = party;
            f.kind = kind;
            f.median_ms = percentile(&lat, 50);
            f.p95_ms = percentile(&lat, 95);
            due += f.due;
            on_time += f.on_time;
            acknowledgements.push(f);
        }
        let mut link_tests = Vec::new();
        let (mut sent, mut answered) = (0, 0);
        for (party, mut f) in self.link_tests {
            f.party = party;
            sent += f.sent;
            answered += f.answered_in_time;
            link_tests.push(f);
        }
        // Every party appears, with zeros when it had nothing this week.
        let mut by_party = self.parties;
        for p in parties {
            by_party.entry(p.clone()).or_default();
        }
        let (mut determined, mut late) = (0, 0);
        let parties: Vec<PartyFigure> = by_party
            .into_iter()
            .map(|(party, mut f)| {
                f.party = party;
                determined += f.withdrawn - f.withdrawn_undetermined;
                late += f.withdrawn_late;
                f
            })
            .collect();
        let flight_hours = self.flight_ms / HOUR_MS as f64;
        let alerts = self
            .alerts
            .into_iter()
            .map(|(level, count)| AlertFigure {
                level,
                count,
                per_1000_flight_hours: (flight_hours > 0.0)
                    .then(|| count as f64 * 1000.0 / flight_hours),
            })
            .collect();
        let inc = self.incidents;
        let trust_components = TrustComponents {
            acknowledged_on_time: ratio(on_time, due),
            link_tests_answered: ratio(answered, sent),
            withdrawals_in_time: ratio(determined - late, determined),
            incidents_agreed: ratio(inc.agreed, inc.agreed + inc.disputed),
        };
        let shares: Vec<f64> = [
            trust_components.acknowledged_on_time,
            trust_components.link_tests_answered,
            trust_components.withdrawals_in_time,
            trust_components.incidents_agreed,
        ]
        .into_iter()
        .flatten()
        .collect();
        let trust_index =
            (!shares.is_empty()).then(|| 100.0 * shares.iter().sum::<f64>() / shares.len() as f64);
        Week {
            week_start: date_text(start),
            iso_week: iso_week_text(start),
            start_unix_ms: start,
            acknowledgements,
            link_tests,
            parties,
            flight_hours,
            alerts,
            incidents: inc,
            trust_change: trust_index.zip(previous).map(|(x, p)| x - p),
            trust_components,
            trust_index,
        }
    }
}

/// The risk categories, for renderers that list every one.
pub fn risk_categories() -> [&'static str; 5] {
    RISK_CATEGORIES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_utc() {
        // 2026-12-07 is a Monday; 2026-12-06 a Sunday.
        let monday = 1_796_601_600_000;
        assert_eq!(date_text(monday), "2026-12-07");
        assert_eq!(week_start(monday), monday);
        assert_eq!(week_start(monday + WEEK_MS - 1), monday);
        assert_eq!(week_start(monday - 1), monday - WEEK_MS);
        assert_eq!(iso_week_text(monday), "2026-W50");
    }

    #[test]
    fn dates_parse_to_midnight_utc_and_bad_ones_are_refused() {
        assert_eq!(parse_date("2026-12-07"), Ok(1_796_601_600_000));
        assert_eq!(parse_date("1970-01-01"), Ok(0));
        for bad in ["2026-13-01", "2026-02-30", "yesterday", "", "1969-12-31"] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=20).collect();
        assert_eq!(percentile(&v, 50), Some(10));
        assert_eq!(percentile(&v, 95), Some(19));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[1, 2, 3], 50), Some(2));
    }

    #[test]
    fn slope_of_a_line_is_its_gradient() {
        assert_eq!(slope(&[(0.0, 10.0), (1.0, 12.0), (2.0, 14.0)]), Some(2.0));
        assert_eq!(slope(&[(0.0, 10.0)]), None);
    }
}
