//! Days of duty after the first (`deconflict demo --days N`): the record a working group reviews.
//!
//! The first day is the demo's story. From then on the virtual clock moves hour by hour to the
//! last day's end, through the same service over HTTP, and the parties keep the agreement as
//! duty officers do, imperfectly and on a fixed pattern (so the record is the same on every
//! run):
//! - every hour the agreement's link test reaches both parties; the first answers within 10 s
//!   (late once a week), the second within 20 s, late every sixth hour, and not at all in the
//!   small hours of every fifth day;
//! - on flying days (all but every seventh) both parties notify the day's operations and fly the
//!   designed encounter around its closest approach, so the desk raises the day's alerts and the
//!   line carries its conflict-alert messages (the second party acknowledges them late every
//!   third day); two hours later the first party sends a strike warning (acknowledged late every
//!   fourth day);
//! - each party notifies a standby operation for the afternoon and withdraws some of them:
//!   before their window opens on some days, after it opened on others;
//! - on the fifth and twelfth days the first party files an incident about the day's
//!   encounter; the working group agrees on the first and disputes the second.

use std::collections::BTreeSet;
use std::sync::Arc;

use deconflict_client::clock::Clock;

use deconflict_service::line::LineMessageView;
use deconflict_service::terms::Terms;

use super::*;

/// One day of the virtual clock.
const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
/// The most days the demo runs.
pub const DAYS_MAX: u32 = 31;
/// Seconds after each hour's start at which the service runs a cycle and both duty officers look
/// at their pending lists: every acknowledgement time below, and just past each deadline of the
/// demo's agreement (link tests and conflict alerts 60 s, strike warnings 120 s).
const LOOKS_S: [i64; 8] = [0, 10, 20, 30, 65, 100, 125, 200];
/// How long before and after the designed closest approach the day's flight lasts, s.
const FLIGHT_BEFORE_CPA_S: u32 = 180;
const FLIGHT_AFTER_CPA_S: u32 = 60;
/// The hour of the day (after the scenario's start time) of the strike warning, and of the
/// standby operations' window.
const STRIKE_HOUR: i64 = 2;
const STANDBY_FROM_HOUR: i64 = 4;
const STANDBY_TO_HOUR: i64 = 6;
/// The incidents: (day, first member's category and remarks, second member's).
const INCIDENTS: [(u32, incident::Assessments<'static>); 2] = [
    (
        5,
        [
            ("C", "Safety assured: both crews had the other in sight."),
            ("C", "Безопасность обеспечена: экипажи видели друг друга."),
        ],
    ),
    (
        12,
        [
            (
                "A",
                "Serious risk of collision: the warning did not reach the crew.",
            ),
            (
                "D",
                "Недостаточно данных: отчёты экипажей противоречат друг другу.",
            ),
        ],
    ),
];

/// Whether day `day` (1 = the story's day) has flying.
fn flying(day: u32) -> bool {
    !day.is_multiple_of(7)
}

/// Seconds after a message was sent that party `party`'s officers acknowledge it, or never.
fn ack_after_s(party: usize, kind: &str, day: u32, hour: i64) -> Option<i64> {
    match (party, kind) {
        (0, "link_test") if day % 7 == 3 && hour == 13 => Some(100),
        (0, _) => Some(10),
        (_, "link_test") if day % 5 == 3 && (2..=4).contains(&hour) => None,
        (_, "link_test") if (hour + i64::from(day)) % 6 == 0 => Some(100),
        (_, "link_test") => Some(20),
        (_, "strike_warning") if day.is_multiple_of(4) => Some(200),
        (_, "strike_warning") => Some(30),
        _ if day.is_multiple_of(3) => Some(100),
        _ => Some(20),
    }
}

/// The hour of the day party `party` withdraws its standby operation on day `day`, if it does:
/// before its window (in time) or within it (late).
fn withdraw_hour(party: usize, day: u32) -> Option<i64> {
    match party {
        0 if day == 9 => Some(STANDBY_FROM_HOUR + 1),
        0 if day % 4 == 1 => Some(STANDBY_FROM_HOUR - 2),
        0 => None,
        _ if day.is_multiple_of(2) => Some(STANDBY_FROM_HOUR - 1),
        _ if day.is_multiple_of(3) => Some(STANDBY_FROM_HOUR + 1),
        _ => None,
    }
}

/// What the days of duty did, for the summary.
#[derive(Debug, Default)]
struct Tally {
    flying_days: u32,
    reports: usize,
    notifications: u32,
    withdrawn: u32,
    withdrawn_late: u32,
    /// Per party index: acknowledgements (on time, late).
    acks: [(u32, u32); 2],
    strike_warnings: u32,
    /// (incident id, status, categories).
    incidents: Vec<(String, String, String)>,
}

/// The parties at work, day after day.
pub(super) struct Duty<'a> {
    pub(super) clients: &'a [PartyClient],
    pub(super) state: &'a Arc<State>,
    pub(super) clock: &'a ManualClock,
    pub(super) scenario: &'a Scenario,
    pub(super) terms: &'a Terms,
    pub(super) start_ms: i64,
}

impl Duty<'_> {
    /// Runs every hour from the end of the first day's story to the end of day `days`; returns
    /// the summary's lines.
    pub(super) async fn run(&self, days: u32) -> Result<String, DemoError> {
        let mut tally = Tally::default();
        let end_ms = self.start_ms + i64::from(days) * DAY_MS;
        let now = self.clock.now_ms();
        let mut hour_ms = self.start_ms + (now - self.start_ms).div_euclid(HOUR_MS) * HOUR_MS;
        if hour_ms < now {
            hour_ms += HOUR_MS;
        }
        while hour_ms < end_ms {
            self.hour(hour_ms, &mut tally).await?;
            hour_ms += HOUR_MS;
        }
        Ok(tally.text(days))
    }

    /// Day (1 = the story's) and hour of the day of `ms`.
    fn day_hour(&self, ms: i64) -> (u32, i64) {
        let since = ms - self.start_ms;
        let day = u32::try_from(since.div_euclid(DAY_MS) + 1).unwrap_or(u32::MAX);
        (day, since.rem_euclid(DAY_MS) / HOUR_MS)
    }

    async fn hour(&self, hour_ms: i64, tally: &mut Tally) -> Result<(), DemoError> {
        let (day, hour) = self.day_hour(hour_ms);
        let later_day = day >= 2;
        if later_day && hour == 0 {
            if flying(day) {
                self.clock.set_ms(hour_ms - 10 * 60_000);
                self.notify(day, tally).await?;
            }
            self.clock.set_ms(hour_ms - 5 * 60_000);
            self.standby(day, tally).await?;
        }
        for party in 0..2 {
            if later_day && withdraw_hour(party, day) == Some(hour) {
                self.clock.set_ms(hour_ms);
                self.withdraw(party, day, tally).await?;
            }
        }
        for (i, look_s) in LOOKS_S.into_iter().enumerate() {
            self.look(hour_ms + look_s * 1000, tally).await?;
            if i == 0 && later_day && hour == STRIKE_HOUR && flying(day) {
                self.strike_warning(day, hour_ms).await?;
                tally.strike_warnings += 1;
            }
        }
        if later_day && hour == 0 && flying(day) {
            self.fly(day, hour_ms, tally).await?;
        }
        if let Some((_, assessments)) = INCIDENTS.iter().find(|(d, _)| *d == day)
            && hour == 1
            && flying(day)
        {
            let id = format!("demo-incident-d{day}");
            let day_start = self.start_ms + i64::from(day - 1) * DAY_MS;
            let (_, v) = incident::file_and_assess(
                self.clients,
                self.scenario,
                &id,
                day_start,
                *assessments,
            )
            .await?;
            let categories: Vec<&str> = v.views.iter().map(|a| a.category.as_str()).collect();
            tally
                .incidents
                .push((id, v.status.clone(), categories.join(" / ")));
        }
        Ok(())
    }

    /// A cycle at `now_ms`, then both duty officers work their pending lists.
    async fn look(&self, now_ms: i64, tally: &mut Tally) -> Result<(), DemoError> {
        self.clock.set_ms(now_ms);
        self.state
            .run_cycle()
            .await
            .map_err(|e| DemoError::Check(e.body.message))?;
        self.officers(now_ms, tally).await
    }

    /// Each party acknowledges what its pattern says is due by `now_ms`.
    async fn officers(&self, now_ms: i64, tally: &mut Tally) -> Result<(), DemoError> {
        for (i, c) in self.clients.iter().enumerate().take(2) {
            let pending = c.line_pending().await?;
            for v in &pending.to_acknowledge {
                if !self.ack_due(i, v, now_ms) {
                    continue;
                }
                let Some(officer) = v.holder.clone() else {
                    continue;
                };
                let r = c.line_ack(v.message.id().as_str(), &officer).await?;
                if r.late {
                    tally.acks[i].1 += 1;
                } else {
                    tally.acks[i].0 += 1;
                }
            }
        }
        Ok(())
    }

    fn ack_due(&self, party: usize, v: &LineMessageView, now_ms: i64) -> bool {
        let (day, hour) = self.day_hour(v.sent_unix_ms);
        ack_after_s(party, &v.kind, day, hour).is_some_and(|s| now_ms >= v.sent_unix_ms + s * 1000)
    }

    /// The scenario's notifications, shifted to day `day` (ids `…-dDAY`).
    async fn notify(&self, day: u32, tally: &mut Tally) -> Result<(), DemoError> {
        let shift = i64::from(day - 1) * DAY_MS;
        for n in &self.scenario.notifications {
            let Some(c) = self.clients.iter().find(|c| c.party() == n.party) else {
                continue;
            };
            let mut notification = notification_in(n);
            notification.start_unix_ms += shift;
            notification.end_unix_ms += shift;
            let disclosed = self.disclosed(&n.party);
            c.notification_create(&format!("{}-d{day}", n.id), &notification, &disclosed)
                .await?;
            tally.notifications += 1;
        }
        Ok(())
    }

    fn disclosed(&self, party: &str) -> BTreeSet<String> {
        self.terms
            .party(party)
            .map(|p| p.disclose_notification.clone())
            .unwrap_or_default()
    }

    fn standby_id(&self, party: usize, day: u32) -> String {
        format!("{}-d{day}-standby", self.clients[party].party())
    }

    /// Each party's standby operation for the afternoon: a 5 km circle at the centre of its first
    /// notified operation, 1,000–2,000 m, two aircraft.
    async fn standby(&self, day: u32, tally: &mut Tally) -> Result<(), DemoError> {
        let day_start = self.start_ms + i64::from(day - 1) * DAY_MS;
        for (i, c) in self.clients.iter().enumerate().take(2) {
            let Some(n) = self
                .scenario
                .notifications
                .iter()
                .find(|n| n.party == c.party())
            else {
                continue;
            };
            let centre = match notification_in(n).area {
                AreaIn::Circle { centre, .. } => centre,
                AreaIn::Polygon { points } => points
                    .first()
                    .cloned()
                    .ok_or_else(|| DemoError::Setup(format!("{} has no vertex", n.id)))?,
            };
            let standby = NotificationIn {
                area: AreaIn::Circle {
                    centre,
                    radius_m: 5_000.0,
                },
                alt_min_m: 1_000.0,
                alt_max_m: 2_000.0,
                start_unix_ms: day_start + STANDBY_FROM_HOUR * HOUR_MS,
                end_unix_ms: day_start + STANDBY_TO_HOUR * HOUR_MS,
                callsigns: Vec::new(),
                aircraft_count: Some(2),
                aircraft_type: None,
                remarks: Some("standby".into()),
                strike_warning: false,
            };
            c.notification_create(
                &self.standby_id(i, day),
                &standby,
                &self.disclosed(c.party()),
            )
            .await?;
            tally.notifications += 1;
        }
        Ok(())
    }

    async fn withdraw(&self, party: usize, day: u32, tally: &mut Tally) -> Result<(), DemoError> {
        self.clients[party]
            .notification_withdraw(&self.standby_id(party, day), 1)
            .await?;
        tally.withdrawn += 1;
        let (_, hour) = self.day_hour(self.clock.now_ms());
        if hour >= STANDBY_FROM_HOUR {
            tally.withdrawn_late += 1;
        }
        Ok(())
    }

    /// The first party's strike warning of the day, inside its first operation.
    async fn strike_warning(&self, day: u32, now_ms: i64) -> Result<(), DemoError> {
        let day_start = self.start_ms + i64::from(day - 1) * DAY_MS;
        let (subject, body) = line_script::strike_warning(
            self.scenario,
            self.clients[0].party(),
            &format!("-d{day}"),
            day_start,
        )?;
        let from = self.clients[0].party();
        let id = format!("{from}-d{day}-strike");
        let message = deconflict_line::Message::new(
            lined_id(&id)?,
            lined_party(from)?,
            lined_party(self.clients[1].party())?,
            deconflict_line::Timestamp::from_unix_ms(now_ms)
                .map_err(|e| DemoError::Setup(e.to_string()))?,
            subject,
            body,
        )
        .map_err(|e| DemoError::Setup(e.to_string()))?;
        self.clients[0].line_send(&message).await?;
        Ok(())
    }

    /// The designed encounter, shifted to day `day`, from shortly before its closest approach
    /// to shortly after: reports pushed and a cycle every second, the officers looking every
    /// five seconds and, after the flight, every ten seconds for as long as a late
    /// acknowledgement takes.
    async fn fly(&self, day: u32, day_start: i64, tally: &mut Tally) -> Result<(), DemoError> {
        let shift = i64::from(day - 1) * DAY_MS;
        let cpa = self.scenario.conflict.t_cpa_s;
        let last = (cpa + FLIGHT_AFTER_CPA_S).min(self.scenario.config.duration_s);
        let first = cpa.saturating_sub(FLIGHT_BEFORE_CPA_S);
        for t in first..=last {
            let now = day_start + i64::from(t) * 1000;
            self.clock.set_ms(now);
            tally.reports += push(self.clients, &self.scenario.reports_at(t), shift).await?;
            self.state
                .run_cycle()
                .await
                .map_err(|e| DemoError::Check(e.body.message))?;
            if t.is_multiple_of(5) {
                self.officers(now, tally).await?;
            }
        }
        let end = day_start + i64::from(last) * 1000;
        for k in 1..=20 {
            self.look(end + k * 10_000, tally).await?;
        }
        tally.flying_days += 1;
        Ok(())
    }
}

fn lined_id(id: &str) -> Result<deconflict_line::MessageId, DemoError> {
    deconflict_line::MessageId::new(id).map_err(|e| DemoError::Setup(e.to_string()))
}

fn lined_party(id: &str) -> Result<deconflict_line::PartyId, DemoError> {
    deconflict_line::PartyId::new(id).map_err(|e| DemoError::Setup(e.to_string()))
}

impl Tally {
    fn text(&self, days: u32) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "\nDays 2–{days} of duty on the virtual clock, hour by hour (the record the working group's report reads):"
        );
        let _ = writeln!(
            s,
            "  {} flying days: {} track reports pushed; {} notifications, {} withdrawn ({} after their window opened); {} strike warnings",
            self.flying_days,
            self.reports,
            self.notifications,
            self.withdrawn,
            self.withdrawn_late,
            self.strike_warnings
        );
        let _ = writeln!(
            s,
            "  acknowledgements on the line: first party {} in time, {} late; second party {} in time, {} late (some link tests left unanswered)",
            self.acks[0].0, self.acks[0].1, self.acks[1].0, self.acks[1].1
        );
        for (id, status, categories) in &self.incidents {
            let _ = writeln!(
                s,
                "  incident {id}: {status} (risk categories {categories})"
            );
        }
        s
    }
}
