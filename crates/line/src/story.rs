//! A scripted day on the line, for `deconflict line simulate` and `deconflict demo`: a link test
//! answered in time and one answered late, a conflict alert conversation, and a strike warning
//! whose duty officer is away, so it escalates to the next contact and then to the command,
//! which acknowledges late. Driven by the same calls the service makes, on a virtual clock.

use crate::ids::{MessageId, OfficerName, PartyId, SubjectId, Text, TrackId};
use crate::lang::{CoordFormat, Language, ReaderProfile};
use crate::machine::{Effect, Event, Line};
use crate::message::{
    Activity, AlertLevel, Alteration, Body, ConflictAlert, Decision, LangTag, Message, Subject,
    SubjectKind, TrackRef,
};
use crate::render::{
    DeclaredState, render_agreement_state, render_effect, render_message, render_reachability,
};
use crate::roster::{AckPolicy, DutyContact, LineConfig, LinkTestSchedule, Roster, Shift};
use crate::units::{AltitudeBlock, Area, Distance, Position, TimeWindow, Timestamp};

/// 2017-04-12 00:00:00 UTC, the day the line was reactivated.
const DAY_MS: i64 = 1_491_955_200_000;

/// One thing the story shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A section title (a Fluent message id).
    Section(&'static str),
    /// A message as delivered to its first reader.
    Message(Message),
    /// What the line did.
    Effect(Effect),
    /// Overdue items as one party sees them.
    Overdue { party: PartyId, ids: Vec<MessageId> },
    /// Link-test reachability of a party over a window.
    Reachability { party: PartyId, window: TimeWindow },
    /// The agreement's declared state next to the line's measured one.
    AgreementState {
        state: DeclaredState,
        answering: bool,
    },
}

/// The scripted day: the line as it ended and what happened, in order.
#[derive(Debug, Clone)]
pub struct Story {
    pub line: Line,
    pub items: Vec<Item>,
}

fn at(h: i64, m: i64, s: i64) -> Timestamp {
    Timestamp::from_unix_ms(DAY_MS + ((h * 60 + m) * 60 + s) * 1000).expect("2017 is in range")
}
fn id<T, E: std::fmt::Debug>(r: Result<T, E>) -> T {
    r.expect("scripted values are valid")
}
fn party(s: &str) -> PartyId {
    id(PartyId::new(s))
}
fn officer(s: &str) -> OfficerName {
    id(OfficerName::new(s))
}
fn mid(s: &str) -> MessageId {
    id(MessageId::new(s))
}
fn subject(kind: SubjectKind, s: &str) -> Subject {
    Subject::new(kind, id(SubjectId::new(s)))
}

/// The two parties' rosters: at 09:30 UTC both Russian contacts are on shift.
pub fn story_config() -> LineConfig {
    let coalition = id(Roster::new(
        party("coalition"),
        vec![
            DutyContact {
                officer: officer("Maj. Smith"),
                shift: id(Shift::hours(0, 12)),
            },
            DutyContact {
                officer: officer("Capt. Jones"),
                shift: id(Shift::hours(12, 0)),
            },
        ],
        officer("CAOC Director"),
    ));
    let russia = id(Roster::new(
        party("russia"),
        vec![
            DutyContact {
                officer: officer("подполковник Петров"),
                shift: id(Shift::hours(6, 18)),
            },
            DutyContact {
                officer: officer("майор Иванов"),
                shift: id(Shift::hours(6, 18)),
            },
            DutyContact {
                officer: officer("капитан Сидоров"),
                shift: id(Shift::hours(18, 6)),
            },
        ],
        officer("Командование Хмеймим"),
    ));
    id(LineConfig::new(
        vec![coalition, russia],
        AckPolicy::default(),
        vec![
            id(LinkTestSchedule::twice_daily(
                party("coalition"),
                party("russia"),
            )),
            id(LinkTestSchedule::twice_daily(
                party("russia"),
                party("coalition"),
            )),
        ],
        at(5, 0, 0),
    ))
}

struct Script {
    line: Line,
    items: Vec<Item>,
}

impl Script {
    fn drain(&mut self) {
        while let Some(e) = self.line.poll_effect() {
            if let Effect::Deliver {
                message_id,
                level: 0,
                ..
            } = &e
                && let Some(t) = self.line.get(message_id)
            {
                self.items.push(Item::Message(t.message().clone()));
            }
            self.items.push(Item::Effect(e));
        }
    }
    /// Lets time pass to `now`, firing whatever fell due.
    fn wait(&mut self, now: Timestamp) {
        while let Some(t) = self.line.poll_timeout().filter(|t| *t <= now) {
            self.line.handle_timeout(t);
            self.drain();
        }
        self.line.handle_timeout(now);
        self.drain();
    }
    fn send(&mut self, now: Timestamp, message: Message) {
        self.wait(now);
        id(self.line.handle(Event::Send { message }, now));
        self.drain();
    }
    fn ack(&mut self, now: Timestamp, ack_id: &str, message_id: &str, by: &str, of: &str) {
        self.wait(now);
        id(self.line.handle(
            Event::Acknowledge {
                ack_id: mid(ack_id),
                message_id: mid(message_id),
                party: party(by),
                officer: officer(of),
            },
            now,
        ));
        self.drain();
    }
    #[allow(clippy::too_many_arguments)]
    fn message(
        &mut self,
        now: Timestamp,
        msg_id: &str,
        from: &str,
        to: &str,
        subj: Subject,
        body: Body,
    ) {
        let m = id(Message::new(
            mid(msg_id),
            party(from),
            party(to),
            now,
            subj,
            body,
        ));
        self.send(now, m);
    }
}

fn track(p: &str, t: &str) -> TrackRef {
    TrackRef {
        party: party(p),
        track: id(TrackId::new(t)),
    }
}

/// Runs the scripted day.
pub fn run() -> Story {
    let mut s = Script {
        line: Line::new(story_config()),
        items: Vec::new(),
    };
    s.link_tests_at_six();
    s.alert_conversation();
    s.notification_and_strike();
    s.evening_and_figures();
    Story {
        line: s.line,
        items: s.items,
    }
}

impl Script {
    /// Link tests at 06:00: Russia answers in 40 s; the coalition's officer is away and the
    /// director answers after the deadline.
    fn link_tests_at_six(&mut self) {
        self.items.push(Item::Section("story-link-test"));
        self.wait(at(6, 0, 0));
        self.ack(
            at(6, 0, 40),
            "ack-lt-1",
            "lt:coalition:russia:1491976800",
            "russia",
            "подполковник Петров",
        );
        self.ack(
            at(6, 7, 30),
            "ack-lt-2",
            "lt:russia:coalition:1491976800",
            "coalition",
            "CAOC Director",
        );
    }

    /// A conflict alert from the engine opens a conversation.
    fn alert_conversation(&mut self) {
        let alert = subject(SubjectKind::Alert, "A-0412-1");
        self.items.push(Item::Section("story-alert"));
        let cpa = id(ConflictAlert::from_engine(
            id(SubjectId::new("A-0412-1")),
            id(AlertLevel::new(2)),
            track("coalition", "CLT-7"),
            track("russia", "RUS-31"),
            95.0,
            926.0,
            91.44,
        ));
        self.message(
            at(9, 12, 0),
            "M-101",
            "coalition",
            "russia",
            alert.clone(),
            Body::ConflictAlert(cpa),
        );
        self.ack(
            at(9, 12, 25),
            "M-101-ack",
            "M-101",
            "russia",
            "подполковник Петров",
        );
        self.message(
            at(9, 13, 0),
            "M-102",
            "coalition",
            "russia",
            alert.clone(),
            Body::RequestToAlter {
                regarding: mid("M-101"),
                proposal: Alteration::AltitudeBlock {
                    altitude_block: id(AltitudeBlock::from_ft(25_000, 29_000)),
                },
            },
        );
        self.message(
            at(9, 14, 10),
            "M-201",
            "russia",
            "coalition",
            alert.clone(),
            Body::Reply {
                in_reply_to: mid("M-102"),
                answer: Decision::Counter {
                    proposal: Alteration::AltitudeBlock {
                        altitude_block: id(AltitudeBlock::from_ft(27_000, 31_000)),
                    },
                },
            },
        );
        self.ack(
            at(9, 14, 30),
            "M-201-ack",
            "M-201",
            "coalition",
            "Maj. Smith",
        );
        self.message(
            at(9, 15, 0),
            "M-103",
            "coalition",
            "russia",
            alert.clone(),
            Body::Reply {
                in_reply_to: mid("M-201"),
                answer: Decision::Accept,
            },
        );
        self.message(
            at(9, 15, 20),
            "M-202",
            "russia",
            "coalition",
            alert,
            Body::FreeText {
                written_in: id(LangTag::new("ru")),
                text: id(Text::new("Борт RUS-31 набирает эшелон 280.")),
            },
        );
        self.ack(
            at(9, 15, 40),
            "M-102-ack",
            "M-102",
            "russia",
            "подполковник Петров",
        );
        self.ack(
            at(9, 15, 45),
            "M-103-ack",
            "M-103",
            "russia",
            "подполковник Петров",
        );
    }

    /// A notification, then a strike warning in it: the duty officer is away.
    fn notification_and_strike(&mut self) {
        let n7 = subject(SubjectKind::Notification, "N-7");
        let deir = id(Position::from_deg(35.333_611, 40.140_833));
        self.items.push(Item::Section("story-escalation"));
        self.message(
            at(9, 16, 0),
            "M-110",
            "coalition",
            "russia",
            n7.clone(),
            Body::NotificationOfOperations {
                notification_id: id(SubjectId::new("N-7")),
                area: id(Area::circle(deir, id(Distance::from_nm(5.0)))),
                altitude_block: id(AltitudeBlock::from_ft(15_000, 25_000)),
                window: id(TimeWindow::new(at(9, 30, 0), at(11, 0, 0))),
                callsigns: vec![id(TrackId::new("VIPER11")), id(TrackId::new("VIPER12"))],
            },
        );
        self.ack(at(9, 17, 0), "M-110-ack", "M-110", "russia", "майор Иванов");
        self.message(
            at(9, 30, 0),
            "M-111",
            "coalition",
            "russia",
            n7,
            Body::StrikeWarning {
                activity: Activity::Strike,
                area: id(Area::circle(deir, id(Distance::from_nm(2.0)))),
                altitude_block: id(AltitudeBlock::from_ft(15_000, 25_000)),
                window: id(TimeWindow::new(at(9, 40, 0), at(10, 10, 0))),
            },
        );
        self.wait(at(9, 34, 30));
        for p in ["coalition", "russia"] {
            let p = party(p);
            let ids = self
                .line
                .overdue_involving(&p)
                .map(|t| t.message().id().clone())
                .collect();
            self.items.push(Item::Overdue { party: p, ids });
        }
        self.ack(
            at(9, 35, 10),
            "M-111-ack",
            "M-111",
            "russia",
            "Командование Хмеймим",
        );
    }

    /// Evening link tests and the day's figures.
    fn evening_and_figures(&mut self) {
        self.wait(at(18, 0, 0));
        self.ack(
            at(18, 0, 30),
            "ack-lt-3",
            "lt:coalition:russia:1492020000",
            "russia",
            "капитан Сидоров",
        );
        self.ack(
            at(18, 1, 0),
            "ack-lt-4",
            "lt:russia:coalition:1492020000",
            "coalition",
            "Capt. Jones",
        );
        self.wait(at(19, 0, 0));
        self.items.push(Item::Section("story-reachability"));
        let day = id(TimeWindow::new(at(0, 0, 0), at(24, 0, 0)));
        for p in ["coalition", "russia"] {
            self.items.push(Item::Reachability {
                party: party(p),
                window: day,
            });
        }
        self.items.push(Item::AgreementState {
            state: DeclaredState::Suspended,
            answering: true,
        });
    }
}

impl Story {
    /// The story as `reader` reads it.
    pub fn render(&self, reader: &ReaderProfile) -> String {
        let mut out = reader.lang.tr(
            "story-title",
            &[
                ("language", reader.lang.tr("meta-language-name", &[]).into()),
                ("offset", reader.utc_offset.to_string().into()),
            ],
        );
        out.push_str("\n\n");
        for item in &self.items {
            match item {
                Item::Section(key) => {
                    out.push('\n');
                    out.push_str(&reader.lang.tr(key, &[]));
                    out.push_str("\n\n");
                }
                Item::Message(m) => {
                    out.push_str(&render_message(reader, m));
                }
                Item::Effect(e) => {
                    out.push_str("  → ");
                    out.push_str(&render_effect(reader, e));
                    out.push('\n');
                }
                Item::Overdue { party, ids } => {
                    let list: Vec<&str> = ids.iter().map(|i| i.as_str()).collect();
                    out.push_str("  ⚠ ");
                    out.push_str(&reader.lang.tr(
                        "story-overdue-both-sides",
                        &[
                            ("party", party.as_str().to_string().into()),
                            ("items", list.join(", ").into()),
                        ],
                    ));
                    out.push('\n');
                }
                Item::Reachability { party, window } => {
                    let r = self.line.reachability(party, *window);
                    out.push_str(&render_reachability(reader, party, *window, &r));
                    out.push('\n');
                }
                Item::AgreementState { state, answering } => {
                    out.push_str(&render_agreement_state(reader, *state, *answering));
                    out.push('\n');
                }
            }
        }
        out
    }

    /// The story in every embedded language, each with the profile its party would use:
    /// English readers at Al Udeid (UTC+03:00, decimal degrees), Russian readers at Khmeimim
    /// (UTC+03:00, degrees-minutes-seconds).
    pub fn render_all(&self) -> String {
        let mut out = String::new();
        for lang in Language::all() {
            let coords = if lang.code() == "ru" {
                CoordFormat::Dms
            } else {
                CoordFormat::Decimal
            };
            let offset = crate::units::UtcOffset::from_minutes(180).expect("+03:00");
            out.push_str(&self.render(&ReaderProfile::new(lang, offset, coords)));
            out.push_str("\n==========\n\n");
        }
        out
    }
}

/// The printed story in every language: what `deconflict line simulate` prints and what the
/// demo shows.
pub fn demo_text() -> String {
    run().render_all()
}
