//! The demo's deconfliction-line script: each party's officer working its pending list every
//! second, the conversations the engine's alerts open, and the effects read back for the summary.

use super::*;

/// Seconds after a message reaches it that each party's duty officer acknowledges it.
const ACK_AFTER_S: [i64; 2] = [10, 20];
/// The second party's duty officer is away for link tests and strike warnings: whoever the
/// message passed to acknowledges this long after the escalation.
const AWAY_ACK_AFTER_ESCALATION_S: i64 = 30;
/// When the first party sends its strike warning, seconds after the start.
const STRIKE_WARNING_AT_S: u32 = 240;
/// When both parties look at what is overdue: after the strike warning's deadline (120 s in
/// the demo's agreement), before its late acknowledgement.
const OVERDUE_LOOK_AT_S: u32 = STRIKE_WARNING_AT_S + 125;
/// The alert conversation, seconds after the first party saw the alert: who writes what.
const ALERT_REQUEST_AFTER_S: u32 = 10;
const ALERT_COUNTER_AFTER_S: u32 = 25;
const ALERT_ACCEPT_AFTER_S: u32 = 35;
const ALERT_FREE_TEXT_AFTER_S: u32 = 45;
/// How each party reads: the first in English with decimal degrees, the second in Russian
/// with degrees, minutes and seconds; both at UTC+03:00 (Al Udeid, Khmeimim).
const READERS: [(&str, &str); 2] = [("en", "decimal"), ("ru", "dms")];
const READER_OFFSET: &str = "+03:00";

fn lined<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, DemoError> {
    r.map_err(|e| DemoError::Setup(format!("line message: {e}")))
}

/// An acknowledgement the demo's officers made.
#[derive(Debug, Clone)]
struct AckDone {
    party: usize,
    message_id: String,
    kind: String,
    officer: String,
    at_ms: i64,
    late: bool,
}

/// Each party's link test as it acknowledged it, and the message as the service shows it.
type LinkTestsSeen = [Option<(AckDone, deconflict_service::line::LineMessageView)>; 2];

/// The alert conversation as the demo continues it.
#[derive(Debug, Clone)]
struct AlertThread {
    seen_s: u32,
    subject: deconflict_line::Subject,
    /// The conflict-alert message each party received (by party index).
    received: [Option<deconflict_line::MessageId>; 2],
    /// The second party's aircraft in the conflict.
    second_track: Option<String>,
}

/// The duty officers of both parties, working the line second by second.
pub(super) struct LineScript {
    parties: [deconflict_line::PartyId; 2],
    strike: (deconflict_line::Subject, deconflict_line::Body),
    alert: Option<AlertThread>,
    acks: Vec<AckDone>,
    /// What each party's pending list showed as overdue at [`OVERDUE_LOOK_AT_S`].
    overdue_seen: Vec<(usize, i64, Vec<String>)>,
    /// The demo's agreement: how each reader calls the parties and their commands.
    agreement: deconflict_agreement::Agreement,
}

/// What the line showed, for the summary.
pub(super) struct LineOutcome {
    pub(super) text: String,
    pub(super) link_tests: Vec<String>,
    pub(super) escalations: Vec<String>,
}

fn mid(
    party: &deconflict_line::PartyId,
    suffix: &str,
) -> Result<deconflict_line::MessageId, DemoError> {
    lined(deconflict_line::MessageId::new(format!("{party}-{suffix}")))
}

pub(super) fn hms(ms: i64) -> String {
    match deconflict_line::Timestamp::from_unix_ms(ms) {
        Ok(t) => {
            let c = t.civil(deconflict_line::UtcOffset::UTC);
            format!("{:02}:{:02}:{:02}Z", c.hour, c.minute, c.second)
        }
        Err(_) => format!("{ms} ms"),
    }
}

/// A strike warning inside `party`'s first notified operation of the scenario (its id with
/// `id_suffix`, as notified that day): a 2 NM circle at the operation's centre, the operation's
/// altitude band, from 15 to 45 minutes after `start_ms`.
pub(super) fn strike_warning(
    scenario: &Scenario,
    party: &str,
    id_suffix: &str,
    start_ms: i64,
) -> Result<(deconflict_line::Subject, deconflict_line::Body), DemoError> {
    use deconflict_line::*;
    let n = scenario
        .notifications
        .iter()
        .find(|n| n.party == party)
        .ok_or_else(|| DemoError::Setup(format!("{party} notifies no operation")))?;
    let centre = match &n.area {
        NotifiedArea::Circle { center, .. } => *center,
        NotifiedArea::Polygon(points) => *points
            .first()
            .ok_or_else(|| DemoError::Setup(format!("notification {} has no vertex", n.id)))?,
    };
    let area = lined(Area::circle(
        lined(Position::from_deg(centre.lat_deg, centre.lon_deg))?,
        lined(Distance::from_nm(2.0))?,
    ))?;
    let block = lined(AltitudeBlock::new(
        lined(Altitude::from_m(n.floor_m))?,
        lined(Altitude::from_m(n.ceiling_m))?,
    ))?;
    let window = lined(TimeWindow::new(
        lined(Timestamp::from_unix_ms(start_ms + 15 * 60_000))?,
        lined(Timestamp::from_unix_ms(start_ms + 45 * 60_000))?,
    ))?;
    let id = format!("{}{id_suffix}", n.id);
    let subject = Subject::new(SubjectKind::Notification, lined(SubjectId::new(&id))?);
    let body = Body::StrikeWarning {
        activity: Activity::Strike,
        area,
        altitude_block: block,
        window,
    };
    Ok((subject, body))
}

impl LineScript {
    pub(super) fn new(scenario: &Scenario, start_ms: i64) -> Result<LineScript, DemoError> {
        use deconflict_line::*;
        let [a, b] = match scenario.parties.as_slice() {
            [a, b, ..] => [a, b],
            _ => return Err(DemoError::Setup("the demo needs two parties".into())),
        };
        let parties = [lined(PartyId::new(&a.id))?, lined(PartyId::new(&b.id))?];
        let strike = strike_warning(scenario, &a.id, "", start_ms)?;
        Ok(LineScript {
            parties,
            strike,
            alert: None,
            acks: Vec::new(),
            overdue_seen: Vec::new(),
            agreement: scenario.agreement(),
        })
    }

    fn strike_id(&self) -> Result<deconflict_line::MessageId, DemoError> {
        mid(&self.parties[0], "strike-1")
    }

    /// Whether party `i`'s officers acknowledge `v` now.
    fn ack_due(
        &self,
        i: usize,
        v: &deconflict_service::line::LineMessageView,
        now_ms: i64,
    ) -> bool {
        let away = i == 1 && (v.kind == "link_test" || v.kind == "strike_warning");
        if away {
            v.escalations
                .last()
                .is_some_and(|e| now_ms >= e.at_unix_ms + AWAY_ACK_AFTER_ESCALATION_S * 1000)
        } else {
            now_ms >= v.sent_unix_ms + ACK_AFTER_S[i] * 1000
        }
    }

    fn message(
        &self,
        from: usize,
        suffix: &str,
        subject: deconflict_line::Subject,
        body: deconflict_line::Body,
        now_ms: i64,
    ) -> Result<deconflict_line::Message, DemoError> {
        lined(deconflict_line::Message::new(
            mid(&self.parties[from], suffix)?,
            self.parties[from].clone(),
            self.parties[1 - from].clone(),
            lined(deconflict_line::Timestamp::from_unix_ms(now_ms))?,
            subject,
            body,
        ))
    }

    /// One second of the line: each party works its pending list, then sends what is due.
    pub(super) async fn step(
        &mut self,
        clients: &[PartyClient],
        t: u32,
        now_ms: i64,
    ) -> Result<(), DemoError> {
        use deconflict_line::*;
        for (i, c) in clients.iter().enumerate().take(2) {
            let pending = c.line_pending().await?;
            if t == OVERDUE_LOOK_AT_S {
                let ids = pending
                    .overdue
                    .iter()
                    .map(|v| v.message.id().to_string())
                    .collect();
                self.overdue_seen.push((i, now_ms, ids));
            }
            for v in &pending.to_acknowledge {
                if v.kind == "conflict_alert" {
                    let thread = self.alert.get_or_insert_with(|| AlertThread {
                        seen_s: t,
                        subject: v.message.subject().clone(),
                        received: [None, None],
                        second_track: None,
                    });
                    // The first alert message on the subject opens the conversation; a later
                    // one (the level changed) joins it.
                    if thread.subject == *v.message.subject() && thread.received[i].is_none() {
                        thread.received[i] = Some(v.message.id().clone());
                        if let Body::ConflictAlert(a) = v.message.body() {
                            thread.second_track = [&a.track_a, &a.track_b]
                                .into_iter()
                                .find(|r| r.party == self.parties[1])
                                .map(|r| r.track.to_string());
                        }
                    }
                }
                if !self.ack_due(i, v, now_ms) {
                    continue;
                }
                let Some(officer) = v.holder.clone() else {
                    continue;
                };
                let r = c.line_ack(v.message.id().as_str(), &officer).await?;
                self.acks.push(AckDone {
                    party: i,
                    message_id: r.message_id,
                    kind: v.kind.clone(),
                    officer,
                    at_ms: r.acknowledged_unix_ms,
                    late: r.late,
                });
            }
        }
        let mut sends: Vec<(usize, Message)> = Vec::new();
        if t == STRIKE_WARNING_AT_S {
            let (subject, body) = self.strike.clone();
            sends.push((0, self.message(0, "strike-1", subject, body, now_ms)?));
        }
        if let Some(th) = self.alert.clone() {
            let block = |lo, hi| -> Result<Alteration, DemoError> {
                Ok(Alteration::AltitudeBlock {
                    altitude_block: lined(AltitudeBlock::from_ft(lo, hi))?,
                })
            };
            let k = t.saturating_sub(th.seen_s);
            let request = mid(&self.parties[0], "request-1")?;
            let counter = mid(&self.parties[1], "reply-1")?;
            match k {
                ALERT_REQUEST_AFTER_S => {
                    if let Some(regarding) = th.received[0].clone() {
                        let body = Body::RequestToAlter {
                            regarding,
                            proposal: block(25_000, 29_000)?,
                        };
                        sends.push((0, self.message(0, "request-1", th.subject, body, now_ms)?));
                    }
                }
                ALERT_COUNTER_AFTER_S => {
                    let body = Body::Reply {
                        in_reply_to: request,
                        answer: Decision::Counter {
                            proposal: block(27_000, 31_000)?,
                        },
                    };
                    sends.push((1, self.message(1, "reply-1", th.subject, body, now_ms)?));
                }
                ALERT_ACCEPT_AFTER_S => {
                    let body = Body::Reply {
                        in_reply_to: counter,
                        answer: Decision::Accept,
                    };
                    sends.push((0, self.message(0, "reply-2", th.subject, body, now_ms)?));
                }
                ALERT_FREE_TEXT_AFTER_S => {
                    let track = th.second_track.as_deref().unwrap_or("?");
                    let body = Body::FreeText {
                        written_in: lined(LangTag::new("ru"))?,
                        text: lined(Text::new(format!(
                            "Борт {track} набирает эшелон 280, курс прежний."
                        )))?,
                    };
                    sends.push((1, self.message(1, "text-1", th.subject, body, now_ms)?));
                }
                _ => {}
            }
        }
        for (from, m) in sends {
            clients[from].line_send(&m).await?;
        }
        Ok(())
    }

    /// Collects what the line showed, fetching the conversations from the service in both
    /// languages, and checks that each part of the story happened.
    pub(super) async fn report(
        &self,
        clients: &[PartyClient],
        events: &BTreeMap<String, Vec<(u64, String, String)>>,
    ) -> Result<LineOutcome, DemoError> {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "The line (through the service; each message and acknowledgement signed by its author into the record):"
        );
        let (link_tests, link_test_ids) = self.link_tests_shown(clients, &mut out).await?;
        let alert_id = self.alert_shown(clients, &mut out).await?;
        let escalations = self.strike_shown(clients, events, &mut out).await?;
        self.conversations_shown(clients, events, &link_test_ids, &alert_id, &mut out)
            .await?;
        Ok(LineOutcome {
            text: out,
            link_tests,
            escalations,
        })
    }

    /// The link test: the first party answered in time, the second late.
    async fn link_tests_shown(
        &self,
        clients: &[PartyClient],
        out: &mut String,
    ) -> Result<(Vec<String>, LinkTestsSeen), DemoError> {
        let p = |i: usize| self.parties[i].as_str();
        let mut link_tests = Vec::new();
        let mut link_test_ids = [None, None];
        for (i, slot) in link_test_ids.iter_mut().enumerate() {
            let Some(a) = self
                .acks
                .iter()
                .find(|a| a.party == i && a.kind == "link_test")
            else {
                return Err(DemoError::Check(format!(
                    "{} never acknowledged its link test",
                    p(i)
                )));
            };
            let v = clients[i].line_message(&a.message_id).await?;
            let latency = (a.at_ms - v.sent_unix_ms) / 1000;
            let line = if a.late {
                let passed: Vec<String> = v
                    .escalations
                    .iter()
                    .map(|e| format!("passed to {} at {}", e.to, hms(e.at_unix_ms)))
                    .collect();
                format!(
                    "link test {} {}: not answered in time; {}; answered by {} after {latency} s — late",
                    p(i),
                    hms(v.sent_unix_ms),
                    passed.join(", "),
                    a.officer
                )
            } else {
                format!(
                    "link test {} {}: answered by {} after {latency} s — in time",
                    p(i),
                    hms(v.sent_unix_ms),
                    a.officer
                )
            };
            link_tests.push(line);
            *slot = Some((a.clone(), v));
        }
        let reach = clients[0].line_reachability().await?;
        for l in &link_tests {
            let _ = writeln!(out, "  {l}");
        }
        let figures: Vec<String> = reach
            .iter()
            .map(|r| {
                format!(
                    "{} {} in time, {} late, {} missed",
                    r.party, r.in_time, r.late, r.missed
                )
            })
            .collect();
        let _ = writeln!(out, "  reachability: {}", figures.join("; "));
        match (&link_test_ids[0], &link_test_ids[1]) {
            (Some((a, _)), Some((b, _))) if !a.late && b.late => {}
            _ => {
                return Err(DemoError::Check(format!(
                    "{} should answer its link test in time and {} late",
                    p(0),
                    p(1)
                )));
            }
        }

        Ok((link_tests, link_test_ids))
    }

    /// The conflict alert's conversation, on both sides; returns the alert's id.
    async fn alert_shown(
        &self,
        clients: &[PartyClient],
        out: &mut String,
    ) -> Result<String, DemoError> {
        let p = |i: usize| self.parties[i].as_str();
        let Some(th) = &self.alert else {
            return Err(DemoError::Check(
                "the conflict alert opened no conversation on the line".into(),
            ));
        };
        if th.received.iter().any(Option::is_none) {
            return Err(DemoError::Check(
                "the conflict alert reached only one party's line".into(),
            ));
        }
        let alert_kind = "alert";
        let alert_id = th.subject.id.as_str();
        let mut counts = Vec::new();
        for (i, c) in clients.iter().enumerate().take(2) {
            let list = c.line_conversations().await?;
            let n = list
                .iter()
                .find(|s| s.subject_kind == alert_kind && s.subject_id == alert_id)
                .map_or(0, |s| s.messages);
            counts.push(format!("{} sees {n} messages", p(i)));
        }
        let _ = writeln!(
            out,
            "  conflict alert {alert_id} opened a conversation on both sides: {}",
            counts.join(", ")
        );

        Ok(alert_id.to_string())
    }

    /// The strike warning: late, after escalating; the sender saw it on its stream. Returns
    /// what the sender's stream showed.
    async fn strike_shown(
        &self,
        clients: &[PartyClient],
        events: &BTreeMap<String, Vec<(u64, String, String)>>,
        out: &mut String,
    ) -> Result<Vec<String>, DemoError> {
        let p = |i: usize| self.parties[i].as_str();
        let strike_id = self.strike_id()?;
        let strike = clients[0].line_message(strike_id.as_str()).await?;
        let Some(ack) = &strike.acknowledged else {
            return Err(DemoError::Check(format!(
                "strike warning {strike_id} was never acknowledged"
            )));
        };
        if !ack.late || strike.escalations.is_empty() {
            return Err(DemoError::Check(format!(
                "strike warning {strike_id} should be acknowledged late, after escalating"
            )));
        }
        let _ = writeln!(
            out,
            "  strike warning {strike_id} to {} at {}, acknowledgement due {}: passed to {} at {}; acknowledged by {} at {} — late",
            p(1),
            hms(strike.sent_unix_ms),
            strike.deadline_unix_ms.map_or("-".into(), hms),
            strike
                .escalations
                .iter()
                .map(|e| e.to.as_str())
                .collect::<Vec<_>>()
                .join(", then "),
            strike
                .escalations
                .iter()
                .map(|e| hms(e.at_unix_ms))
                .collect::<Vec<_>>()
                .join(", "),
            ack.officer,
            hms(ack.at_unix_ms)
        );
        for (i, at_ms, ids) in &self.overdue_seen {
            let _ = writeln!(
                out,
                "    overdue at {} as {} sees it: {}",
                hms(*at_ms),
                p(*i),
                ids.join(", ")
            );
        }
        let overdue_on_both_sides = (0..2).all(|i| {
            self.overdue_seen
                .iter()
                .any(|(j, _, ids)| *j == i && ids.iter().any(|id| id == strike_id.as_str()))
        });
        if !overdue_on_both_sides {
            return Err(DemoError::Check(format!(
                "{strike_id} was not shown overdue to both parties"
            )));
        }
        let sender_events = line_effects(events.get(p(0)), strike_id.as_str());
        if !sender_events
            .iter()
            .any(|(_, kind, _)| kind == "line_escalated")
        {
            return Err(DemoError::Check(format!(
                "{}'s stream did not show the escalation of {strike_id}",
                p(0)
            )));
        }
        let escalations: Vec<String> = sender_events
            .iter()
            .map(|(seq, kind, effect)| {
                let what = match effect {
                    deconflict_line::Effect::Escalated {
                        from_officer,
                        to_officer,
                        level,
                        at_ms,
                        ..
                    } => format!(
                        "{} passed from {from_officer} to {to_officer} (level {level}) at {}",
                        strike_id,
                        hms(at_ms.unix_ms())
                    ),
                    deconflict_line::Effect::Overdue { at_ms, .. } => {
                        format!("{strike_id} overdue at {}", hms(at_ms.unix_ms()))
                    }
                    deconflict_line::Effect::Acknowledged {
                        officer,
                        late,
                        at_ms,
                        ..
                    } => format!(
                        "{strike_id} acknowledged by {officer} at {}{}",
                        hms(at_ms.unix_ms()),
                        if *late { ", late" } else { "" }
                    ),
                    other => format!("{strike_id}: {other:?}"),
                };
                format!("{}'s stream #{seq} {kind}: {what}", p(0))
            })
            .collect();
        for e in &escalations {
            let _ = writeln!(out, "    {e}");
        }

        Ok(escalations)
    }

    /// The conversations, rendered by the service for each side's reader, and the line's
    /// effects each side saw on its stream, rendered in the same language.
    async fn conversations_shown(
        &self,
        clients: &[PartyClient],
        events: &BTreeMap<String, Vec<(u64, String, String)>>,
        link_test_ids: &LinkTestsSeen,
        alert_id: &str,
        out: &mut String,
    ) -> Result<(), DemoError> {
        let p = |i: usize| self.parties[i].as_str();
        let alert_kind = "alert";
        let strike_id = self.strike_id()?;
        for (i, (lang, coords)) in READERS.iter().enumerate() {
            let language = lined(deconflict_line::Language::parse(lang))?;
            let reader = deconflict_line::ReaderProfile::new(
                language,
                lined(deconflict_line::UtcOffset::parse(READER_OFFSET))?,
                if *coords == "dms" {
                    deconflict_line::CoordFormat::Dms
                } else {
                    deconflict_line::CoordFormat::Decimal
                },
            )
            .with_names(deconflict_service::line::config::party_names(
                &self.agreement,
                language,
            ));
            let _ = writeln!(
                out,
                "\n=== The line as {} reads it ({lang}, UTC{READER_OFFSET}, {coords}) ===",
                p(i)
            );
            let (lt, lt_view) = link_test_ids[i]
                .as_ref()
                .map(|(a, v)| (a, v))
                .ok_or_else(|| DemoError::Check("link test missing".into()))?;
            let lt_subject = lt_view.message.subject().id.to_string();
            let parts = [
                ("link_test", lt_subject.as_str(), lt.message_id.as_str()),
                (alert_kind, alert_id, ""),
                (
                    "notification",
                    self.strike.0.id.as_str(),
                    strike_id.as_str(),
                ),
            ];
            for (kind, id, effects_of) in parts {
                let v = clients[i]
                    .line_conversation(kind, id, lang, READER_OFFSET, coords)
                    .await?;
                let _ = writeln!(out);
                out.push_str(&v.text);
                if !effects_of.is_empty() {
                    for (_, _, e) in line_effects(events.get(p(i)), effects_of) {
                        let _ = writeln!(
                            out,
                            "  → {}",
                            deconflict_line::render::render_effect(&reader, &e)
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

/// The line's effects about `message_id` on one party's stream: overdue, escalated,
/// acknowledged, unanswered (sequence number, event kind, effect).
fn line_effects(
    events: Option<&Vec<(u64, String, String)>>,
    message_id: &str,
) -> Vec<(u64, String, deconflict_line::Effect)> {
    let mut out = Vec::new();
    for (seq, kind, data) in events.map(Vec::as_slice).unwrap_or_default() {
        if !matches!(
            kind.as_str(),
            "line_overdue" | "line_escalated" | "line_acknowledged" | "line_unanswered"
        ) {
            continue;
        }
        let Ok(effect) = serde_json::from_str::<deconflict_line::Effect>(data) else {
            continue;
        };
        let id = match &effect {
            deconflict_line::Effect::Deliver { message_id, .. }
            | deconflict_line::Effect::Overdue { message_id, .. }
            | deconflict_line::Effect::Escalated { message_id, .. }
            | deconflict_line::Effect::Acknowledged { message_id, .. }
            | deconflict_line::Effect::Unanswered { message_id, .. } => message_id.as_str(),
        };
        if id == message_id {
            out.push((*seq, kind.clone(), effect));
        }
    }
    out
}
