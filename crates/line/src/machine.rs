//! The line's state machine, in the manner of quinn-proto: inputs go in with an explicit
//! `now` ([`Line::handle`], [`Line::handle_timeout`]), outputs are polled
//! ([`Line::poll_effect`], [`Line::poll_timeout`]). No clock, no I/O.
//!
//! Every accepted input is appended to [`Line::log`] with the instant it took effect; the state
//! is a pure function of that log, so [`Line::rebuild`] after a restart continues exactly where
//! the line stood (`tests/machine.rs` checks this in the middle of an escalation).
//!
//! Deadline rule: a message received at `t` with deadline `d` is acknowledged in time iff the
//! acknowledgement takes effect strictly before `t + d`. At `t + d` it is overdue and passes to
//! the next contact in the chain fixed on arrival (contacts on shift, then the command), who
//! has `d` again; when the command's deadline passes the message is unanswered.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ids::{MessageId, OfficerName, PartyId, SubjectId};
use crate::message::{Body, Message, MessageKind, Subject, SubjectKind};
use crate::roster::LineConfig;
use crate::units::{TimeWindow, Timestamp};

/// Messages (including acknowledgements and link tests) the line keeps; archive before this.
pub const MESSAGES_MAX: usize = 1_000_000;
/// Effects waiting to be polled. The caller polls after every input, so the queue only fills
/// when it does not; then the oldest effect is dropped and counted
/// ([`Counters::effects_dropped`]): the state (and the log) never depends on effects.
pub const EFFECTS_MAX: usize = 65_536;
/// A scheduled link test the line first sees more than this late — or later than its reply
/// deadline, when that is longer — is skipped, not sent: a line that was down for a day does not
/// send a day of link tests nobody can answer in time, nor count them against the other party.
/// Each gap counts once in [`Counters::link_tests_skipped`], however many slots it spans (a
/// clock that jumps nine years is one gap, not 6,500 days of slots); the results recorded
/// before the gap stay on the line.
pub const LINK_TEST_LATE_MS_MAX: u64 = 60_000;

/// An input to the line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// A party sends a message. An `acknowledgement` body is the same as [`Event::Acknowledge`]
    /// with `ack_id` = the message's id.
    Send { message: Message },
    /// A named duty officer of `party` acknowledges `message_id`. `ack_id` is chosen by the
    /// acknowledging client and becomes the acknowledgement message's id, so a retry after a
    /// reconnect is recognised and does not count twice.
    Acknowledge {
        ack_id: MessageId,
        message_id: MessageId,
        party: PartyId,
        officer: OfficerName,
    },
    /// Time passed and deadlines fell due (logged only when something fell due).
    Tick,
}

/// One accepted input and the instant it took effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggedEvent {
    pub at_ms: Timestamp,
    pub event: Event,
}

/// What the service must do, or show, because of an input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    /// Put the message in front of `officer` of `party` (level 0 = first delivery).
    Deliver {
        message_id: MessageId,
        party: PartyId,
        officer: OfficerName,
        level: u32,
        at_ms: Timestamp,
    },
    /// The first deadline passed without acknowledgement: show on both sides.
    Overdue {
        message_id: MessageId,
        sender: PartyId,
        recipient: PartyId,
        deadline_ms: u64,
        at_ms: Timestamp,
    },
    /// The message passed to the next contact; show on both sides.
    Escalated {
        message_id: MessageId,
        sender: PartyId,
        recipient: PartyId,
        from_officer: OfficerName,
        to_officer: OfficerName,
        level: u32,
        at_ms: Timestamp,
    },
    /// A duty officer acknowledged; `ack_message_id` is the acknowledgement message.
    Acknowledged {
        message_id: MessageId,
        ack_message_id: MessageId,
        sender: PartyId,
        recipient: PartyId,
        officer: OfficerName,
        latency_ms: u64,
        late: bool,
        at_ms: Timestamp,
    },
    /// The command's deadline passed too: nobody left to escalate to.
    Unanswered {
        message_id: MessageId,
        sender: PartyId,
        recipient: PartyId,
        at_ms: Timestamp,
    },
}

/// Queues an effect within [`EFFECTS_MAX`], dropping (and counting) the oldest when full.
fn push_effect(effects: &mut VecDeque<Effect>, counters: &mut Counters, effect: Effect) {
    if effects.len() >= EFFECTS_MAX {
        effects.pop_front();
        counters.effects_dropped += 1;
    }
    effects.push_back(effect);
}

/// Why an input was refused. The line's state is unchanged by a refused input (deadlines that
/// fell due before it are still processed: time does pass).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    #[error("party {party} is not on this line")]
    UnknownParty { party: PartyId },
    #[error("message {message_id} does not exist on this line")]
    UnknownMessage { message_id: MessageId },
    #[error("id {id} is already used by a different message")]
    IdTaken { id: MessageId },
    #[error("message {message_id} is addressed to {recipient}; {party} cannot acknowledge it")]
    WrongParty {
        message_id: MessageId,
        party: PartyId,
        recipient: PartyId,
    },
    #[error("\"{officer}\" is not on {party}'s duty roster")]
    UnknownOfficer {
        party: PartyId,
        officer: OfficerName,
    },
    #[error("message {message_id} was already acknowledged by \"{by}\" (acknowledgement {ack_id})")]
    AlreadyAcknowledged {
        message_id: MessageId,
        ack_id: MessageId,
        by: OfficerName,
    },
    #[error("message {message_id} is a {kind}, which needs no acknowledgement")]
    AckNotRequired {
        message_id: MessageId,
        kind: MessageKind,
    },
    #[error(
        "acknowledgement {ack_id} is addressed to {to}, but message {message_id} came from {sender}"
    )]
    AckMisaddressed {
        ack_id: MessageId,
        message_id: MessageId,
        to: PartyId,
        sender: PartyId,
    },
    #[error("the line holds {MESSAGES_MAX} messages; archive before adding more")]
    Full,
}

/// A refused log entry during [`Line::rebuild`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event log entry {index}: {error}")]
pub struct RebuildError {
    pub index: usize,
    pub error: LineError,
}

/// An accepted input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// The instant the input took effect (`now`, or the line's time if `now` was earlier).
    pub at: Timestamp,
    /// The input repeated one already accepted (same message, same acknowledgement): nothing
    /// changed and nothing was logged.
    pub duplicate: bool,
}

/// One escalation step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Escalation {
    pub at: Timestamp,
    pub from: OfficerName,
    pub to: OfficerName,
    pub level: u32,
}

/// Who acknowledged, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AckRecord {
    pub ack_id: MessageId,
    pub officer: OfficerName,
    pub at: Timestamp,
    pub late: bool,
}

/// A message on the line and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    message: Message,
    received_at: Timestamp,
    chain: Vec<OfficerName>,
    deadline: Option<Duration>,
    level: u32,
    next_deadline_at: Option<Timestamp>,
    escalations: Vec<Escalation>,
    overdue_at: Option<Timestamp>,
    unanswered_at: Option<Timestamp>,
    ack: Option<AckRecord>,
}

impl Tracked {
    pub fn message(&self) -> &Message {
        &self.message
    }
    pub fn received_at(&self) -> Timestamp {
        self.received_at
    }
    /// The deadline per step, if the kind needs acknowledgement.
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }
    /// The first deadline: acknowledged before it is "in time".
    pub fn first_deadline_at(&self) -> Option<Timestamp> {
        self.deadline.map(|d| self.received_at.saturating_add(d))
    }
    /// The officer holding the message now.
    pub fn holder(&self) -> Option<&OfficerName> {
        self.chain.get(self.level as usize)
    }
    /// When the current holder's deadline falls due: the first deadline, then after each
    /// escalation the new holder's; none once acknowledged or unanswered.
    pub fn holder_deadline_at(&self) -> Option<Timestamp> {
        self.next_deadline_at
    }
    pub fn chain(&self) -> &[OfficerName] {
        &self.chain
    }
    pub fn level(&self) -> u32 {
        self.level
    }
    pub fn escalations(&self) -> &[Escalation] {
        &self.escalations
    }
    pub fn overdue_at(&self) -> Option<Timestamp> {
        self.overdue_at
    }
    pub fn unanswered_at(&self) -> Option<Timestamp> {
        self.unanswered_at
    }
    pub fn ack(&self) -> Option<&AckRecord> {
        self.ack.as_ref()
    }
    pub fn needs_ack(&self) -> bool {
        self.deadline.is_some()
    }
    /// Needs acknowledgement, has none yet.
    pub fn is_pending(&self) -> bool {
        self.needs_ack() && self.ack.is_none()
    }
}

/// How one decided link test was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkTestOutcome {
    InTime,
    Late,
    Missed,
}

impl LinkTestOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkTestOutcome::InTime => "in_time",
            LinkTestOutcome::Late => "late",
            LinkTestOutcome::Missed => "missed",
        }
    }
}

/// Link-test outcome for one party over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Reachability {
    pub in_time: u32,
    pub late: u32,
    pub missed: u32,
    pub pending: u32,
}

impl Reachability {
    /// Tests answered in time over tests decided (in time, late, missed), per mille.
    pub fn in_time_permille(&self) -> Option<u32> {
        let decided = self.in_time + self.late + self.missed;
        (decided > 0).then(|| self.in_time * 1000 / decided)
    }
}

/// How long `recipient` took to acknowledge one message (for the working group's reports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AckLatency {
    pub message_id: MessageId,
    pub kind: MessageKind,
    pub received_at: Timestamp,
    /// `None`: not acknowledged (yet).
    pub latency_ms: Option<u64>,
    pub late: bool,
    pub escalations: u32,
}

/// Counters of what the line refused or skipped, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub refused: u64,
    pub duplicates: u64,
    /// Gaps in a link-test schedule the line slept through: each run of consecutive slots
    /// skipped per schedule counts once (see [`LINK_TEST_LATE_MS_MAX`]).
    pub link_tests_skipped: u64,
    /// Effects dropped because [`EFFECTS_MAX`] were waiting unpolled.
    pub effects_dropped: u64,
}

/// The line between the parties of one agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    config: LineConfig,
    now: Timestamp,
    messages: BTreeMap<MessageId, Tracked>,
    order: Vec<MessageId>,
    timers: BTreeSet<(Timestamp, MessageId)>,
    link_test_next: Vec<Timestamp>,
    log: Vec<LoggedEvent>,
    effects: VecDeque<Effect>,
    counters: Counters,
}

impl Line {
    pub fn new(config: LineConfig) -> Line {
        let start = config.start();
        let link_test_next = config
            .link_tests()
            .iter()
            .map(|s| s.next_at_or_after(start))
            .collect();
        Line {
            config,
            now: start,
            messages: BTreeMap::new(),
            order: Vec::new(),
            timers: BTreeSet::new(),
            link_test_next,
            log: Vec::new(),
            effects: VecDeque::new(),
            counters: Counters::default(),
        }
    }

    /// Replays an event log (as returned by [`Line::log`]) into a fresh line. The effects the
    /// replay produces were carried out before the restart and are dropped.
    pub fn rebuild(config: LineConfig, log: &[LoggedEvent]) -> Result<Line, RebuildError> {
        let mut line = Line::new(config);
        for (index, entry) in log.iter().enumerate() {
            let result = match &entry.event {
                Event::Tick => {
                    line.handle_timeout(entry.at_ms);
                    Ok(())
                }
                e => line.handle(e.clone(), entry.at_ms).map(|_| ()),
            };
            result.map_err(|error| RebuildError { index, error })?;
            // Carried out before the restart: never queued again, never counted as dropped.
            line.effects.clear();
        }
        Ok(line)
    }

    pub fn config(&self) -> &LineConfig {
        &self.config
    }
    /// The line's time: the latest `now` it was given.
    pub fn now(&self) -> Timestamp {
        self.now
    }
    /// Every accepted input since the line was built or since [`Line::forget_log`], in order;
    /// persist `log()[n..]` after each call.
    pub fn log(&self) -> &[LoggedEvent] {
        &self.log
    }
    /// Drops the log from memory once the caller has persisted it: the state is unchanged,
    /// `log()` is empty and grows again from the next input. A service that keeps the log in
    /// its store need not keep (and copy) it twice.
    pub fn forget_log(&mut self) {
        self.log = Vec::new();
    }
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The next instant something falls due: call [`Line::handle_timeout`] then.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let timer = self.timers.first().map(|(t, _)| *t);
        let link = self.link_test_next.iter().copied().min();
        match (timer, link) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next thing to carry out or show, oldest first.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// Processes everything due at or before `now`, each at its own instant (so effects carry
    /// the deadline's time, not the time this was called).
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let now = now.max(self.now);
        let mut fired = false;
        loop {
            let timer = self.timers.first().map(|(t, _)| *t).filter(|t| *t <= now);
            let link = self
                .link_test_next
                .iter()
                .enumerate()
                .filter(|(_, t)| **t <= now)
                .min_by_key(|(i, t)| (**t, *i))
                .map(|(i, t)| (i, *t));
            match (timer, link) {
                // Deadlines before link tests at the same instant: a fixed order keeps replay exact.
                (Some(t), Some((_, lt))) if t <= lt => self.fire_timer(),
                (Some(_), None) => self.fire_timer(),
                (_, Some((i, lt))) => self.fire_link_test(i, lt, now),
                (None, None) => break,
            }
            fired = true;
        }
        self.now = now;
        if fired {
            self.log.push(LoggedEvent {
                at_ms: now,
                event: Event::Tick,
            });
        }
    }

    /// Applies one input at `now`. Deadlines due by `now` are processed first.
    pub fn handle(&mut self, event: Event, now: Timestamp) -> Result<Accepted, LineError> {
        self.handle_timeout(now);
        let at = self.now;
        let result = match &event {
            Event::Send { message } => self.send(message, at),
            Event::Acknowledge {
                ack_id,
                message_id,
                party,
                officer,
            } => {
                let target = self
                    .messages
                    .get(message_id)
                    .map(|t| t.message.from().clone());
                let ack = target.and_then(|sender| {
                    Message::new(
                        ack_id.clone(),
                        party.clone(),
                        sender,
                        at,
                        Subject::new(SubjectKind::General, SubjectId::new("ack").ok()?),
                        Body::Acknowledgement {
                            of: message_id.clone(),
                            officer: officer.clone(),
                        },
                    )
                    .ok()
                });
                match ack {
                    Some(ack) => self.acknowledge(&ack, at),
                    None => match self.messages.get(message_id) {
                        None => Err(LineError::UnknownMessage {
                            message_id: message_id.clone(),
                        }),
                        // Only a message from `party` to itself makes the envelope invalid.
                        Some(t) => Err(LineError::WrongParty {
                            message_id: message_id.clone(),
                            party: party.clone(),
                            recipient: t.message.to().clone(),
                        }),
                    },
                }
            }
            Event::Tick => Ok(false),
        };
        match result {
            Ok(duplicate) => {
                if duplicate {
                    self.counters.duplicates += 1;
                } else if event != Event::Tick {
                    self.log.push(LoggedEvent { at_ms: at, event });
                }
                Ok(Accepted { at, duplicate })
            }
            Err(e) => {
                self.counters.refused += 1;
                Err(e)
            }
        }
    }

    /// Returns `Ok(true)` for an exact repeat.
    fn send(&mut self, message: &Message, at: Timestamp) -> Result<bool, LineError> {
        if let Body::Acknowledgement { .. } = message.body() {
            return self.acknowledge(message, at);
        }
        if let Some(existing) = self.messages.get(message.id()) {
            return if existing.message == *message {
                Ok(true)
            } else {
                Err(LineError::IdTaken {
                    id: message.id().clone(),
                })
            };
        }
        for p in [message.from(), message.to()] {
            if self.config.roster(p).is_none() {
                return Err(LineError::UnknownParty { party: p.clone() });
            }
        }
        if self.messages.len() >= MESSAGES_MAX {
            return Err(LineError::Full);
        }
        self.insert(message.clone(), at);
        Ok(false)
    }

    /// Stores a message (checked) and delivers it; starts its deadline if its kind has one.
    fn insert(&mut self, message: Message, at: Timestamp) {
        let roster = self
            .config
            .roster(message.to())
            .expect("recipient checked before insert");
        let chain = roster.chain_at(at);
        let deadline = self.config.policy().deadline(message.kind());
        let next_deadline_at = deadline.map(|d| at.saturating_add(d));
        let id = message.id().clone();
        push_effect(
            &mut self.effects,
            &mut self.counters,
            Effect::Deliver {
                message_id: id.clone(),
                party: message.to().clone(),
                officer: chain[0].clone(),
                level: 0,
                at_ms: at,
            },
        );
        if let Some(t) = next_deadline_at {
            self.timers.insert((t, id.clone()));
        }
        self.order.push(id.clone());
        self.messages.insert(
            id,
            Tracked {
                message,
                received_at: at,
                chain,
                deadline,
                level: 0,
                next_deadline_at,
                escalations: Vec::new(),
                overdue_at: None,
                unanswered_at: None,
                ack: None,
            },
        );
    }

    /// `ack` is an acknowledgement message. Every check runs before anything changes.
    fn acknowledge(&mut self, ack: &Message, at: Timestamp) -> Result<bool, LineError> {
        let Body::Acknowledgement { of, officer } = ack.body() else {
            unreachable!("acknowledge is called with acknowledgement bodies only");
        };
        let ack_id = ack.id();
        let party = ack.from();
        if let Some(existing) = self.messages.get(ack_id) {
            // The same acknowledgement again (a retry after a reconnect): counts once.
            if let Body::Acknowledgement {
                of: prev_of,
                officer: prev_officer,
            } = existing.message.body()
                && prev_of == of
                && prev_officer == officer
                && existing.message.from() == party
            {
                return Ok(true);
            }
            return Err(LineError::IdTaken { id: ack_id.clone() });
        }
        let target = self
            .messages
            .get(of)
            .ok_or_else(|| LineError::UnknownMessage {
                message_id: of.clone(),
            })?;
        if target.message.to() != party {
            return Err(LineError::WrongParty {
                message_id: of.clone(),
                party: party.clone(),
                recipient: target.message.to().clone(),
            });
        }
        if ack.to() != target.message.from() {
            return Err(LineError::AckMisaddressed {
                ack_id: ack_id.clone(),
                message_id: of.clone(),
                to: ack.to().clone(),
                sender: target.message.from().clone(),
            });
        }
        if !target.needs_ack() {
            return Err(LineError::AckNotRequired {
                message_id: of.clone(),
                kind: target.message.kind(),
            });
        }
        let roster = self
            .config
            .roster(party)
            .ok_or_else(|| LineError::UnknownParty {
                party: party.clone(),
            })?;
        if !roster.lists(officer) {
            return Err(LineError::UnknownOfficer {
                party: party.clone(),
                officer: officer.clone(),
            });
        }
        if let Some(prev) = &target.ack {
            return Err(LineError::AlreadyAcknowledged {
                message_id: of.clone(),
                ack_id: prev.ack_id.clone(),
                by: prev.officer.clone(),
            });
        }
        if self.messages.len() >= MESSAGES_MAX {
            return Err(LineError::Full);
        }
        // All checks passed: mutate.
        let first_deadline = target.first_deadline_at().expect("needs_ack checked");
        let late = at >= first_deadline;
        let latency_ms = at.ms_since(target.received_at).max(0) as u64;
        let sender = target.message.from().clone();
        let subject = target.message.subject().clone();
        let target = self.messages.get_mut(of).expect("looked up above");
        if let Some(t) = target.next_deadline_at.take() {
            self.timers.remove(&(t, of.clone()));
        }
        target.ack = Some(AckRecord {
            ack_id: ack_id.clone(),
            officer: officer.clone(),
            at,
            late,
        });
        push_effect(
            &mut self.effects,
            &mut self.counters,
            Effect::Acknowledged {
                message_id: of.clone(),
                ack_message_id: ack_id.clone(),
                sender,
                recipient: party.clone(),
                officer: officer.clone(),
                latency_ms,
                late,
                at_ms: at,
            },
        );
        // The acknowledgement threads with what it acknowledges.
        let stored = Message::new(
            ack_id.clone(),
            party.clone(),
            ack.to().clone(),
            ack.sent_at(),
            subject,
            ack.body().clone(),
        )
        .expect("same envelope as a checked message, subject free for acknowledgements");
        self.insert(stored, at);
        Ok(false)
    }

    /// Effects waiting to be polled.
    pub fn effects_waiting(&self) -> usize {
        self.effects.len()
    }

    fn fire_timer(&mut self) {
        let (t, id) = self.timers.pop_first().expect("caller saw a timer");
        let tracked = self
            .messages
            .get_mut(&id)
            .expect("timers name stored messages");
        debug_assert!(tracked.ack.is_none(), "acknowledged messages have no timer");
        debug_assert_eq!(tracked.next_deadline_at, Some(t));
        let sender = tracked.message.from().clone();
        let recipient = tracked.message.to().clone();
        if tracked.overdue_at.is_none() {
            tracked.overdue_at = Some(t);
            push_effect(
                &mut self.effects,
                &mut self.counters,
                Effect::Overdue {
                    message_id: id.clone(),
                    sender: sender.clone(),
                    recipient: recipient.clone(),
                    deadline_ms: tracked.deadline.map_or(0, |d| d.as_millis() as u64),
                    at_ms: t,
                },
            );
        }
        let next_level = tracked.level + 1;
        if let Some(to) = tracked.chain.get(next_level as usize).cloned() {
            let from = tracked.chain[tracked.level as usize].clone();
            tracked.level = next_level;
            tracked.escalations.push(Escalation {
                at: t,
                from: from.clone(),
                to: to.clone(),
                level: next_level,
            });
            let next = t.saturating_add(tracked.deadline.expect("timers only for deadlines"));
            tracked.next_deadline_at = Some(next);
            self.timers.insert((next, id.clone()));
            push_effect(
                &mut self.effects,
                &mut self.counters,
                Effect::Escalated {
                    message_id: id.clone(),
                    sender,
                    recipient: recipient.clone(),
                    from_officer: from,
                    to_officer: to.clone(),
                    level: next_level,
                    at_ms: t,
                },
            );
            push_effect(
                &mut self.effects,
                &mut self.counters,
                Effect::Deliver {
                    message_id: id,
                    party: recipient,
                    officer: to,
                    level: next_level,
                    at_ms: t,
                },
            );
        } else {
            tracked.next_deadline_at = None;
            tracked.unanswered_at = Some(t);
            push_effect(
                &mut self.effects,
                &mut self.counters,
                Effect::Unanswered {
                    message_id: id,
                    sender,
                    recipient,
                    at_ms: t,
                },
            );
        }
    }

    fn fire_link_test(&mut self, index: usize, at: Timestamp, now: Timestamp) {
        let schedule = &self.config.link_tests()[index];
        let (from, to) = (schedule.from().clone(), schedule.to().clone());
        self.link_test_next[index] =
            schedule.next_at_or_after(at.saturating_add(Duration::from_millis(1)));
        let late_max = self
            .config
            .policy()
            .deadline(MessageKind::LinkTest)
            .unwrap_or_default()
            .max(Duration::from_millis(LINK_TEST_LATE_MS_MAX));
        if at.saturating_add(late_max) < now {
            // A gap — the line was down, or its clock jumped (a data directory made on one
            // clock served on another) — counts once however many slots it spans, and the
            // schedule resumes at the first slot still answerable: no walk over every slot.
            self.counters.link_tests_skipped += 1;
            let late_ms = i64::try_from(late_max.as_millis()).unwrap_or(i64::MAX);
            let answerable = Timestamp::from_unix_ms(now.unix_ms().saturating_sub(late_ms))
                .unwrap_or(Timestamp::EPOCH);
            self.link_test_next[index] = self.config.link_tests()[index]
                .next_at_or_after(answerable.max(at.saturating_add(Duration::from_millis(1))));
            return;
        }
        let id = format!("lt:{from}:{to}:{}", at.unix_ms() / 1000);
        let built = MessageId::new(id.clone()).ok().and_then(|mid| {
            Message::new(
                mid,
                from,
                to,
                at,
                Subject::new(SubjectKind::LinkTest, SubjectId::new(id).ok()?),
                Body::LinkTest {
                    scheduled_at_ms: at,
                },
            )
            .ok()
        });
        match built {
            Some(m)
                if !self.messages.contains_key(m.id()) && self.messages.len() < MESSAGES_MAX =>
            {
                self.insert(m, at)
            }
            _ => self.counters.link_tests_skipped += 1,
        }
    }

    /// A message and where it stands.
    pub fn get(&self, id: &MessageId) -> Option<&Tracked> {
        self.messages.get(id)
    }
    /// Every message in the order the line received it.
    pub fn messages(&self) -> impl Iterator<Item = &Tracked> {
        self.order.iter().filter_map(|id| self.messages.get(id))
    }
    /// Messages addressed to `party` that still await its acknowledgement.
    pub fn pending_for<'a>(&'a self, party: &'a PartyId) -> impl Iterator<Item = &'a Tracked> {
        self.messages()
            .filter(move |t| t.message.to() == party && t.is_pending())
    }
    /// Overdue, unacknowledged messages that `party` sent or received: both sides see them.
    pub fn overdue_involving<'a>(
        &'a self,
        party: &'a PartyId,
    ) -> impl Iterator<Item = &'a Tracked> {
        self.messages().filter(move |t| {
            t.overdue_at.is_some()
                && t.ack.is_none()
                && (t.message.to() == party || t.message.from() == party)
        })
    }
    /// A conversation: every message on `subject`, in the order received.
    pub fn conversation<'a>(&'a self, subject: &'a Subject) -> impl Iterator<Item = &'a Message> {
        self.messages()
            .map(|t| &t.message)
            .filter(move |m| m.subject() == subject)
    }
    /// Every message needing acknowledgement that `party` received within `window`, with how
    /// long it took and how far it escalated: the working level's measured responsiveness.
    pub fn ack_latencies(&self, party: &PartyId, window: TimeWindow) -> Vec<AckLatency> {
        self.messages()
            .filter(|t| t.needs_ack() && t.message.to() == party && window.contains(t.received_at))
            .map(|t| AckLatency {
                message_id: t.message.id().clone(),
                kind: t.message.kind(),
                received_at: t.received_at,
                latency_ms: t
                    .ack
                    .as_ref()
                    .map(|a| a.at.ms_since(t.received_at).max(0) as u64),
                late: t.overdue_at.is_some(),
                escalations: t.level,
            })
            .collect()
    }

    /// How `party` answered the latest link test scheduled within `window` that is decided
    /// (answered, or unanswered after every escalation); `None` when none is.
    pub fn last_link_test(&self, party: &PartyId, window: TimeWindow) -> Option<LinkTestOutcome> {
        let mut last: Option<(Timestamp, LinkTestOutcome)> = None;
        for t in self.messages() {
            let Body::LinkTest { scheduled_at_ms } = t.message.body() else {
                continue;
            };
            if t.message.to() != party || !window.contains(*scheduled_at_ms) {
                continue;
            }
            let outcome = match (&t.ack, t.unanswered_at) {
                (Some(a), _) if !a.late => LinkTestOutcome::InTime,
                (Some(_), _) => LinkTestOutcome::Late,
                (None, Some(_)) => LinkTestOutcome::Missed,
                (None, None) => continue,
            };
            if last.is_none_or(|(at, _)| *scheduled_at_ms >= at) {
                last = Some((*scheduled_at_ms, outcome));
            }
        }
        last.map(|(_, o)| o)
    }

    /// Link tests to `party` scheduled within `window`, by outcome.
    pub fn reachability(&self, party: &PartyId, window: TimeWindow) -> Reachability {
        let mut r = Reachability::default();
        for t in self.messages() {
            let Body::LinkTest { scheduled_at_ms } = t.message.body() else {
                continue;
            };
            if t.message.to() != party || !window.contains(*scheduled_at_ms) {
                continue;
            }
            match (&t.ack, t.unanswered_at) {
                (Some(a), _) if !a.late => r.in_time += 1,
                (Some(_), _) => r.late += 1,
                (None, Some(_)) => r.missed += 1,
                (None, None) => r.pending += 1,
            }
        }
        r
    }
}
