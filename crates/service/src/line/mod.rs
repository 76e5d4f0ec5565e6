//! The deconfliction line inside the service: the sans-IO [`deconflict_line::Line`] state
//! machine fed with the parties' signed requests and the cycle's alerts, its accepted events
//! made durable in the store, its effects delivered on the parties' streams.
//!
//! Source of truth: the line's event log in the store (`line_log`): a first entry holding the
//! configuration the line started with, then every accepted input with the instant it took
//! effect. At start the line is rebuilt from it ([`deconflict_line::Line::rebuild`]), so a
//! deadline or an escalation in progress continues exactly once after a restart.
//!
//! Write order, as for the rest of the service: validate (the input is applied to a copy of
//! the line) → the author's signed log entry into the record → the new log entries and the
//! stream events in one store commit → the copy replaces the line → answer. A failure before
//! the swap changes nothing; writers are serialised, so log numbers never race.
//!
//! Who sees what: a message is visible to its sender and its recipient only. The service is a
//! party on the line ([`config::SERVICE_PARTY`]) that sends the engine's conflict alerts (one
//! message to each party of the alert, threaded on the alert) and the scheduled link tests.

pub mod config;

use std::sync::atomic::{AtomicBool, Ordering};

use deconflict_line::{
    Advice, AlertLevel, Altitude, Body, ConflictAlert, Direction, Effect, Line, LineConfig,
    LoggedEvent, Manoeuvre, Message, MessageId, PartyId, Subject, SubjectId, SubjectKind,
    TimeWindow, Timestamp, TrackId, TrackRef, Tracked, TurnSense, VerticalSense,
};
use deconflict_store::{Alert, LineEntry, NewEvent, Store, Write};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::terms::Terms;
use deconflict_client::wire::{AlertView, LinkTestReachability};

pub use config::{SERVICE_OFFICER, SERVICE_PARTY, command_of};
pub use deconflict_client::line_entry::{
    LogEntryError, ack_id, log_entry_for_ack, log_entry_for_message, sign_entry,
};
pub use deconflict_client::wire::line::*;

/// Alerts per party looked at after a restart, for conversations a crash left unopened.
pub const CATCH_UP_ALERTS_MAX: usize = 256;
/// Stored alerts younger than this get their conversation after a restart; an older one
/// describes a conflict long past (the engine looks ahead minutes, not more).
pub const CATCH_UP_AGE_MS_MAX: i64 = 600_000;
/// Link-test reachability is measured over this much of the recent past (a week, the longest
/// window the line measures).
pub const REACHABILITY_WINDOW_MS: i64 = deconflict_line::units::DURATION_MS_MAX;
/// How far a message's or acknowledgement's own time may be from the service's clock.
pub const AUTHOR_SKEW_MS_MAX: i64 = 300_000;

/// Refuses an author's time `t_ms` (in `field`) further than [`AUTHOR_SKEW_MS_MAX`] from the
/// service's clock.
pub(crate) fn skew(field: &str, t_ms: i64, now_ms: i64) -> Result<(), ApiError> {
    if t_ms.abs_diff(now_ms) > AUTHOR_SKEW_MS_MAX.unsigned_abs() {
        return Err(ApiError::invalid(
            field,
            format!(
                "{t_ms} ms is more than {AUTHOR_SKEW_MS_MAX} ms from the service's clock ({now_ms} ms)"
            ),
        ));
    }
    Ok(())
}

/// One entry of the stored line log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Stored {
    /// The configuration the log was built against (the first entry).
    Opened { config: LineConfig },
    /// An accepted input.
    Logged(LoggedEvent),
}

#[derive(Debug)]
struct Inner {
    line: Line,
    /// The last stored log number.
    seq: u64,
}

/// The line's state in a running service.
#[derive(Debug)]
pub struct LineState {
    inner: std::sync::Mutex<Inner>,
    /// Serialises writers: each applies its input to a copy of the line, commits, then swaps.
    writer: tokio::sync::Mutex<()>,
    /// Conversations of alerts stored before a restart have been looked for.
    caught_up: AtomicBool,
}

/// One writer's turn on the line ([`LineState::begin_write`]): the line's copy to change, with
/// the log as it was when the turn began.
pub(crate) struct LineWrite<'a> {
    shared: &'a LineState,
    _writer: tokio::sync::MutexGuard<'a, ()>,
    /// The copy's log length when it was last staged (at first, when the turn began): what
    /// follows is new.
    before: usize,
    /// The copy being changed.
    pub(crate) line: Line,
    /// The last log number: the stored one, then that of the last row staged.
    seq: u64,
}

impl LineWrite<'_> {
    /// The log entries the copy gained, as store rows numbered after the stored ones; then
    /// the effects it raised, as stream events to the parties of `terms`, with the effects
    /// and how many were first deliveries of a message that is not an acknowledgement.
    pub(crate) fn staged(
        &mut self,
        terms: &Terms,
        now_ms: i64,
    ) -> Result<(Vec<Write>, Vec<Effect>, u64), ApiError> {
        let mut writes = Vec::new();
        let mut n = 0;
        for l in &self.line.log()[self.before..] {
            n += 1;
            let body = serde_json::to_string(&Stored::Logged(l.clone()))
                .map_err(|e| ApiError::internal(format!("line log: {e}")))?;
            writes.push(Write::LineEntry(LineEntry {
                seq: self.seq + n,
                at_ms: l.at_ms.unix_ms(),
                body,
            }));
        }
        self.seq += n;
        self.before = self.line.log().len();
        let mut effects = Vec::new();
        let mut delivered = 0;
        while let Some(e) = self.line.poll_effect() {
            if let Effect::Deliver {
                message_id,
                level: 0,
                ..
            } = &e
                && self
                    .line
                    .get(message_id)
                    .is_some_and(|t| !matches!(t.message().body(), Body::Acknowledgement { .. }))
            {
                delivered += 1;
            }
            effects.push(e);
        }
        for e in &effects {
            writes.extend(stream_events(terms, &self.line, e, now_ms));
        }
        Ok((writes, effects, delivered))
    }

    /// Ends the turn: the copy, its log dropped (the store keeps it), replaces the line.
    /// Called once what [`LineWrite::staged`] gave is durable. Gives the line's counters and
    /// how many messages it holds pending.
    pub(crate) fn finish(mut self) -> Result<(deconflict_line::Counters, u64), ApiError> {
        // Every log entry was staged for the store: forgetting one unstaged would lose it.
        assert_eq!(
            self.before,
            self.line.log().len(),
            "a line write finished with log entries not staged"
        );
        self.line.forget_log();
        let counters = self.line.counters();
        let pending = self.line.messages().filter(|t| t.is_pending()).count() as u64;
        let mut inner = self
            .shared
            .inner
            .lock()
            .map_err(|_| ApiError::internal("line lock poisoned"))?;
        inner.line = self.line;
        inner.seq = self.seq;
        Ok((counters, pending))
    }
}

impl LineState {
    /// Rebuilds the line from what the store holds.
    pub(crate) fn open(
        terms: &Terms,
        store: &mut dyn Store,
        now_ms: i64,
    ) -> Result<LineState, String> {
        let entries = read_log(store)?;
        let now = Timestamp::from_unix_ms(now_ms.max(0)).map_err(|e| e.to_string())?;
        if entries.is_empty() {
            let config = config::line_config(terms, now)?;
            let body = serde_json::to_string(&Stored::Opened {
                config: config.clone(),
            })
            .map_err(|e| e.to_string())?;
            store
                .commit(&[Write::LineEntry(LineEntry {
                    seq: 1,
                    at_ms: now_ms,
                    body,
                })])
                .map_err(|e| e.to_string())?;
            return Ok(LineState::new(Line::new(config), 1));
        };
        let (config, log) = parse_log(&entries)?;
        // The stored configuration is what the log was built against; the agreement is the
        // same (the service checked its id), so a difference means a changed derivation.
        if config::line_config(terms, config.start()).ok().as_ref() != Some(&config) {
            tracing::warn!("the line keeps the configuration it was started with");
        }
        let mut line = Line::rebuild(config, &log).map_err(|e| e.to_string())?;
        // The store keeps the log; memory keeps the state only (and copies less per write).
        line.forget_log();
        let seq = entries.last().map_or(0, |e| e.seq);
        Ok(LineState::new(line, seq))
    }

    fn new(line: Line, seq: u64) -> LineState {
        LineState {
            inner: std::sync::Mutex::new(Inner { line, seq }),
            writer: tokio::sync::Mutex::new(()),
            caught_up: AtomicBool::new(false),
        }
    }

    /// Reads the line.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Line) -> R) -> Result<R, ApiError> {
        let inner = self
            .inner
            .lock()
            .map_err(|_| ApiError::internal("line lock poisoned"))?;
        Ok(f(&inner.line))
    }

    /// Starts a write: waits for the writers before it, then copies the line and its last
    /// stored log number. The copy replaces the line only through [`LineWrite::finish`].
    pub(crate) async fn begin_write(&self) -> Result<LineWrite<'_>, ApiError> {
        let writer = self.writer.lock().await;
        let (line, seq) = {
            let inner = self
                .inner
                .lock()
                .map_err(|_| ApiError::internal("line lock poisoned"))?;
            (inner.line.clone(), inner.seq)
        };
        Ok(LineWrite {
            shared: self,
            _writer: writer,
            before: line.log().len(),
            line,
            seq,
        })
    }

    /// Conversations of alerts stored before a restart have been looked for.
    pub(crate) fn caught_up(&self) -> bool {
        self.caught_up.load(Ordering::Relaxed)
    }

    /// Records that they have.
    pub(crate) fn mark_caught_up(&self) {
        self.caught_up.store(true, Ordering::Relaxed);
    }

    /// One value per party of the agreement, read off the line. A line that cannot be read (its
    /// lock poisoned by a panic) is logged and shows no party: these are views, not decisions.
    fn per_party<B, T>(&self, terms: &Terms, f: impl Fn(&Line, &PartyId) -> Option<T>) -> B
    where
        B: FromIterator<(String, T)> + Default,
    {
        self.read(|line| {
            terms
                .parties
                .iter()
                .filter_map(|p| {
                    let id = PartyId::new(p.id.as_str()).ok()?;
                    Some((p.id.clone(), f(line, &id)?))
                })
                .collect()
        })
        .unwrap_or_else(|e| {
            tracing::error!(error = %e.body.message, "the line cannot be read; no party shown");
            B::default()
        })
    }

    /// Per party: how it answered the latest decided link test scheduled in the last
    /// [`REACHABILITY_WINDOW_MS`] (`None`: none decided in that window).
    pub(crate) fn last_link_tests(
        &self,
        terms: &Terms,
        now_ms: i64,
    ) -> std::collections::BTreeMap<String, deconflict_line::LinkTestOutcome> {
        let Ok(window) = reachability_window(now_ms) else {
            return Default::default();
        };
        self.per_party(terms, |line, id| line.last_link_test(id, window))
    }

    /// Per party: its answers to the link tests scheduled in the last
    /// [`REACHABILITY_WINDOW_MS`].
    pub(crate) fn link_tests(&self, terms: &Terms, now_ms: i64) -> Vec<LinkTestReachability> {
        let all = reachability_window(now_ms);
        let answers: Vec<(String, _)> = self.per_party(terms, |line, id| {
            Some(match &all {
                Ok(w) => line.reachability(id, *w),
                Err(_) => Default::default(),
            })
        });
        answers
            .into_iter()
            .map(|(party, r)| LinkTestReachability {
                party,
                in_time: r.in_time,
                late: r.late,
                missed: r.missed,
                pending: r.pending,
            })
            .collect()
    }
}

/// Every entry of the stored line log, oldest first.
fn read_log(store: &dyn Store) -> Result<Vec<LineEntry>, String> {
    let mut entries: Vec<LineEntry> = Vec::new();
    loop {
        let after = entries.last().map_or(0, |e| e.seq);
        let page = store
            .line_entries_after(after, deconflict_store::LINE_PAGE_MAX)
            .map_err(|e| e.to_string())?;
        if page.is_empty() {
            return Ok(entries);
        }
        entries.extend(page);
    }
}

/// The configuration (entry 1) and the inputs (the rest) of a stored line log.
fn parse_log(entries: &[LineEntry]) -> Result<(LineConfig, Vec<LoggedEvent>), String> {
    let config = match entries
        .first()
        .map(|e| serde_json::from_str::<Stored>(&e.body))
    {
        Some(Ok(Stored::Opened { config })) => config,
        _ => return Err("line log entry 1 is not the line's configuration".into()),
    };
    let mut log = Vec::with_capacity(entries.len());
    for e in &entries[1..] {
        match serde_json::from_str::<Stored>(&e.body) {
            Ok(Stored::Logged(l)) => log.push(l),
            _ => return Err(format!("line log entry {} is not a line event", e.seq)),
        }
    }
    Ok((config, log))
}

/// The line as the stored log rebuilds it (what the service would serve), without writing;
/// `None` for an empty log. The error says which entry does not replay.
pub(crate) fn replay_stored(store: &dyn Store) -> Result<Option<Line>, String> {
    let entries = read_log(store)?;
    if entries.is_empty() {
        return Ok(None);
    }
    let (config, log) = parse_log(&entries)?;
    Line::rebuild(config, &log)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// The record entry that stands for message `m` on the line: its author's acknowledgement
/// entry for an acknowledgement, its message entry otherwise.
pub(crate) fn entry_of_message(m: &Message) -> Result<deconflict_log::Entry, LogEntryError> {
    match m.body() {
        Body::Acknowledgement { of, officer } => log_entry_for_ack(
            m.from().as_str(),
            of.as_str(),
            officer.as_str(),
            m.sent_at().unix_ms(),
        ),
        _ => log_entry_for_message(m),
    }
}

/// A fresh message id for `party`: `<party>-<unix ms>-<8 random hex>`.
pub fn new_message_id(party: &str) -> MessageId {
    use rand::RngCore as _;
    let mut r = [0u8; 4];
    rand::rngs::OsRng.fill_bytes(&mut r);
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        // A clock before 1970 only makes the id's time part 0; its random part keeps it unique.
        .unwrap_or(0);
    let hex = hex::encode(r);
    let id = format!("{party}-{ms}-{hex}");
    MessageId::new(id).unwrap_or_else(|_| {
        MessageId::new(format!("m-{ms}-{hex}")).unwrap_or_else(|_| unreachable!("ascii id"))
    })
}

fn effect_json(effect: &Effect) -> serde_json::Value {
    // An effect is plain data; were one ever not encodable, its events still go out (the
    // parties must hear of it), with the fields added below only, and the log says why.
    serde_json::to_value(effect).unwrap_or_else(|e| {
        tracing::error!(error = %e, ?effect, "a line effect is not encodable as JSON");
        serde_json::Value::Null
    })
}

/// The stream events an effect becomes: a delivery to the recipient (`line_message`, first
/// delivery only: escalations are their own events), the rest to both parties.
fn stream_events(terms: &Terms, line: &Line, effect: &Effect, now_ms: i64) -> Vec<Write> {
    let mut body = effect_json(effect);
    let tracked = |id: &MessageId| line.get(id);
    let (kind, id, parties): (&str, &MessageId, Vec<&PartyId>) = match effect {
        Effect::Deliver {
            message_id,
            party,
            level,
            ..
        } => {
            let Some(t) = tracked(message_id) else {
                return Vec::new();
            };
            // Acknowledgements reach the sender as `line_acknowledged`; escalations as
            // `line_escalated`.
            if *level > 0 || matches!(t.message().body(), Body::Acknowledgement { .. }) {
                return Vec::new();
            }
            ("line_message", message_id, vec![party])
        }
        Effect::Overdue {
            message_id,
            sender,
            recipient,
            ..
        } => ("line_overdue", message_id, vec![sender, recipient]),
        Effect::Escalated {
            message_id,
            sender,
            recipient,
            ..
        } => ("line_escalated", message_id, vec![sender, recipient]),
        Effect::Acknowledged {
            message_id,
            sender,
            recipient,
            ..
        } => ("line_acknowledged", message_id, vec![sender, recipient]),
        Effect::Unanswered {
            message_id,
            sender,
            recipient,
            ..
        } => ("line_unanswered", message_id, vec![sender, recipient]),
    };
    if let (Some(t), Some(obj)) = (tracked(id), body.as_object_mut()) {
        if let Ok(v) = serde_json::to_value(view(t)) {
            obj.insert("view".into(), v);
        }
        obj.insert("kind".into(), t.message().kind().tag().into());
    }
    parties
        .into_iter()
        .filter(|p| terms.party(p.as_str()).is_some())
        .map(|p| {
            Write::Event(NewEvent {
                party: p.to_string(),
                kind: kind.into(),
                body: body.to_string(),
                created_ms: now_ms,
            })
        })
        .collect()
}

/// A message and where it stands, for the wire.
pub(crate) fn view(t: &Tracked) -> LineMessageView {
    let m = t.message();
    LineMessageView {
        message: m.clone(),
        kind: m.kind().tag().into(),
        from: m.from().to_string(),
        to: m.to().to_string(),
        sent_unix_ms: m.sent_at().unix_ms(),
        deadline_unix_ms: t.first_deadline_at().map(Timestamp::unix_ms),
        acknowledged: t.ack().map(|a| AckView {
            officer: a.officer.to_string(),
            at_unix_ms: a.at.unix_ms(),
            late: a.late,
        }),
        holder: if t.is_pending() && t.unanswered_at().is_none() {
            t.holder().map(|o| o.to_string())
        } else {
            None
        },
        holder_deadline_unix_ms: if t.is_pending() {
            t.holder_deadline_at().map(Timestamp::unix_ms)
        } else {
            None
        },
        level: t.level(),
        escalations: t
            .escalations()
            .iter()
            .map(|e| EscalationView {
                to: e.to.to_string(),
                at_unix_ms: e.at.unix_ms(),
            })
            .collect(),
        overdue_unix_ms: t.overdue_at().map(Timestamp::unix_ms),
    }
}

/// A subject id for an alert id: the id itself when the line accepts it, else its digest.
fn alert_subject(alert_id: &str) -> Option<SubjectId> {
    SubjectId::new(alert_id).ok().or_else(|| {
        use sha2::Digest as _;
        let d = sha2::Sha256::digest(alert_id.as_bytes());
        let hex = hex::encode(&d[..16]);
        SubjectId::new(format!("alert:{hex}")).ok()
    })
}

/// The conflict-alert id sent to `party` about `alert_id`: derived, so opening the same
/// alert's conversation twice (after a crash) is a recognised repeat.
/// Engine alert ids name tracks as `party/track`; the message id leaves the `/` out so that
/// it is one path segment.
fn conflict_message_id(alert_id: &str, party: &str) -> Option<MessageId> {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(alert_id.as_bytes());
    let hex = hex::encode(&d[..12]);
    MessageId::new(format!("ca:{party}:{hex}")).ok()
}

/// The conversation an alert belongs to: a new conflict's alert opens one; a level change
/// continues it (the service numbers a conflict's alerts `<conflict>:1`, `:2`, …, the first
/// being the one that opened it). An end or a strategic overlap opens none.
pub(crate) fn alert_thread(alert: &Alert) -> Option<String> {
    match alert.kind.as_str() {
        "new" => Some(alert.id.clone()),
        "level" => Some(format!("{}:1", alert.conflict)),
        _ => None,
    }
}

/// The advice for one recipient as the line carries it: both aircraft's senses; a value to
/// reach only where the aircraft's party discloses the field (`altitude`, `velocity`), since the
/// message goes into the shared log as it is.
fn line_advice(view: &AlertView, terms: &Terms) -> Option<Advice> {
    let adv = view.advice.as_ref()?;
    let manoeuvre = |m: &deconflict_client::wire::ManoeuvreView| -> Option<Manoeuvre> {
        let shows = |field: &str| {
            terms
                .party(&m.party)
                .is_some_and(|p| p.disclose_track.contains(field))
        };
        Some(Manoeuvre {
            track: TrackRef {
                party: PartyId::new(m.party.as_str()).ok()?,
                track: TrackId::new(m.track_id.as_str()).ok()?,
            },
            vertical: match m.vertical.as_str() {
                "climb" => VerticalSense::Climb,
                "descend" => VerticalSense::Descend,
                _ => return None,
            },
            altitude_mm: m
                .altitude_m
                .filter(|_| shows("altitude"))
                .and_then(|a| Altitude::from_m(a).ok()),
            turn: match m.turn.as_str() {
                "right" => TurnSense::Right,
                "left" => TurnSense::Left,
                _ => return None,
            },
            direction_mdeg: m
                .direction_deg
                .filter(|_| shows("velocity"))
                .and_then(|d| Direction::from_deg(d).ok()),
        })
    };
    Some(Advice {
        own: manoeuvre(&adv.own)?,
        other: manoeuvre(&adv.other)?,
    })
}

/// The engine's tactical alert (a new conflict, or its level changed) as one conflict-alert
/// message to each of its parties, from the service, threaded on the conflict's first alert;
/// each carries its recipient's coordinated advice when the alert has one ([`line_advice`]).
/// `None` for alerts that open no conversation or whose figures are out of range.
pub(crate) fn conflict_messages(alert: &Alert, terms: &Terms) -> Option<Vec<Message>> {
    let thread = alert_thread(alert)?;
    if alert.parties.len() != 2 {
        return None;
    }
    let views: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&alert.body).ok()?;
    let view_of =
        |p: &str| -> Option<AlertView> { serde_json::from_value(views.get(p)?.clone()).ok() };
    let (pa, pb) = (&alert.parties[0], &alert.parties[1]);
    let (va, vb) = (view_of(pa)?, view_of(pb)?);
    let own_a = va.own.as_ref()?;
    let own_b = vb.own.as_ref()?;
    // The line's level is DO-365's number (1 preventive, 2 corrective, 3 warning): the more
    // urgent of the two parties' levels, the same level their alerts carry.
    let level = [&va.level, &vb.level]
        .into_iter()
        .filter_map(|l| deconflict_desk::Level::from_name(l))
        .map(deconflict_desk::Level::number)
        .max()
        .filter(|n| *n > 0)?;
    let subject_id = alert_subject(&thread)?;
    let track = |party: &str, id: &str| -> Option<TrackRef> {
        Some(TrackRef {
            party: PartyId::new(party).ok()?,
            track: TrackId::new(id).ok()?,
        })
    };
    // The predicted closest approach; without it, vertically, the separation at alert time.
    let vertical_m = match (va.closest_v_m, own_a.alt_m, own_b.alt_m) {
        (Some(v), _, _) => v,
        (None, Some(a), Some(b)) => (a - b).abs(),
        _ => 0.0,
    };
    let body = ConflictAlert::from_engine(
        subject_id.clone(),
        AlertLevel::new(level).ok()?,
        track(pa, &own_a.track_id)?,
        track(pb, &own_b.track_id)?,
        va.time_to_los_s.unwrap_or(0.0).max(0.0),
        va.closest_h_m.unwrap_or(0.0).max(0.0),
        vertical_m,
    )
    .ok()?;
    let sent = Timestamp::from_unix_ms(alert.created_ms).ok()?;
    let mut out = Vec::new();
    for (p, view) in [(pa, &va), (pb, &vb)] {
        let body = match line_advice(view, terms) {
            Some(advice) => body.clone().with_advice(advice),
            None => body.clone(),
        };
        out.push(
            Message::new(
                conflict_message_id(&alert.id, p)?,
                PartyId::new(SERVICE_PARTY).ok()?,
                PartyId::new(p.as_str()).ok()?,
                sent,
                Subject::new(SubjectKind::Alert, subject_id.clone()),
                Body::ConflictAlert(body),
            )
            .ok()?,
        );
    }
    Some(out)
}

/// The messages the service put on the line after the first `before` it held: the conflict
/// alerts it was given and the link tests the line generated from its schedule (the line keeps
/// messages in the order it received them).
pub(crate) fn service_messages(line: &Line, before: usize) -> Vec<Message> {
    line.messages()
        .skip(before)
        .map(|t| t.message())
        .filter(|m| m.from().as_str() == SERVICE_PARTY)
        .cloned()
        .collect()
}

/// The last [`REACHABILITY_WINDOW_MS`] up to and including `now_ms`.
fn reachability_window(now_ms: i64) -> Result<TimeWindow, deconflict_line::RangeError> {
    let end = now_ms.saturating_add(1);
    Timestamp::from_unix_ms(end.saturating_sub(REACHABILITY_WINDOW_MS).max(0))
        .and_then(|start| TimeWindow::new(start, Timestamp::from_unix_ms(end)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use deconflict_line::Event;

    /// The stored log is durable: its encoding must not change unnoticed, or a restart could
    /// not rebuild the line from what an earlier release wrote.
    #[test]
    fn golden_encoding_of_a_stored_line_event() {
        let message: Message = serde_json::from_str(
            r#"{"id":"coalition-1","from":"coalition","to":"russia","sent_at_ms":1491984000000,"subject":{"kind":"notification","id":"N-7"},"body":{"type":"free_text","written_in":"en","text":"Confirm."}}"#,
        )
        .unwrap();
        let stored = Stored::Logged(LoggedEvent {
            at_ms: Timestamp::from_unix_ms(1_491_984_000_500).unwrap(),
            event: Event::Send { message },
        });
        let json = serde_json::to_string(&stored).unwrap();
        assert_eq!(
            json,
            r#"{"logged":{"at_ms":1491984000500,"event":{"event":"send","message":{"id":"coalition-1","from":"coalition","to":"russia","sent_at_ms":1491984000000,"subject":{"kind":"notification","id":"N-7"},"body":{"type":"free_text","written_in":"en","text":"Confirm."}}}}}"#
        );
        let back: Stored = serde_json::from_str(&json).unwrap();
        assert!(matches!(back, Stored::Logged(l) if l.at_ms.unix_ms() == 1_491_984_000_500));
        let tick = serde_json::to_string(&Stored::Logged(LoggedEvent {
            at_ms: Timestamp::from_unix_ms(7).unwrap(),
            event: Event::Tick,
        }))
        .unwrap();
        assert_eq!(tick, r#"{"logged":{"at_ms":7,"event":{"event":"tick"}}}"#);
    }

    #[test]
    fn a_stored_configuration_round_trips() {
        let a = deconflict_agreement::parse_toml(deconflict_agreement::TEMPLATE_TOML).unwrap();
        let terms = Terms::from_agreement(&a).unwrap();
        let config = config::line_config(&terms, Timestamp::from_unix_ms(1_000).unwrap()).unwrap();
        let json = serde_json::to_string(&Stored::Opened {
            config: config.clone(),
        })
        .unwrap();
        assert!(
            json.starts_with(r#"{"opened":{"config":{"rosters":[{"party":"service""#),
            "{json}"
        );
        let Stored::Opened { config: back } = serde_json::from_str(&json).unwrap() else {
            panic!("not a configuration: {json}");
        };
        assert_eq!(back, config);
    }
}
