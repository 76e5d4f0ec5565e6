//! The acknowledgement/escalation state machine on a virtual clock: deadlines, escalation
//! along the roster, exactly-once acknowledgement, restart from the event log, bad input.

mod common;

use std::time::Duration;

use common::*;
use deconflict_line::machine::EFFECTS_MAX;
use deconflict_line::*;

fn config() -> LineConfig {
    let coalition = Roster::new(
        party("coalition"),
        vec![DutyContact {
            officer: officer("Maj. Smith"),
            shift: Shift::ALL_DAY,
        }],
        officer("CAOC Director"),
    )
    .unwrap();
    let russia = Roster::new(
        party("russia"),
        vec![
            DutyContact {
                officer: officer("Petrov"),
                shift: Shift::hours(6, 18).unwrap(),
            },
            DutyContact {
                officer: officer("Ivanov"),
                shift: Shift::hours(6, 18).unwrap(),
            },
            DutyContact {
                officer: officer("Sidorov"),
                shift: Shift::hours(18, 6).unwrap(),
            },
        ],
        officer("Command"),
    )
    .unwrap();
    LineConfig::new(
        vec![coalition, russia],
        AckPolicy::default(),
        vec![],
        at(0, 0, 0),
    )
    .unwrap()
}

fn warning(id: &str, t: Timestamp) -> Message {
    let (subject, body) = common::body(MessageKind::StrikeWarning);
    Message::new(
        mid(id),
        party("coalition"),
        party("russia"),
        t,
        subject,
        body,
    )
    .unwrap()
}

fn send(line: &mut Line, m: Message, now: Timestamp) -> Result<Accepted, LineError> {
    line.handle(Event::Send { message: m }, now)
}

fn ack(
    line: &mut Line,
    ack_id: &str,
    of: &str,
    by: &str,
    who: &str,
    now: Timestamp,
) -> Result<Accepted, LineError> {
    line.handle(
        Event::Acknowledge {
            ack_id: mid(ack_id),
            message_id: mid(of),
            party: party(by),
            officer: officer(who),
        },
        now,
    )
}

fn drain(line: &mut Line) -> Vec<Effect> {
    std::iter::from_fn(|| line.poll_effect()).collect()
}

/// Everything observable about the line's state (the counters are metrics, not state).
fn snapshot(line: &Line) -> (Vec<LoggedEvent>, Vec<Tracked>, Option<Timestamp>, Timestamp) {
    (
        line.log().to_vec(),
        line.messages().cloned().collect(),
        line.poll_timeout(),
        line.now(),
    )
}

#[test]
fn strike_warning_escalates_at_each_deadline_then_command_acknowledges_late() {
    let mut line = Line::new(config());
    let t0 = at(9, 30, 0);
    send(&mut line, warning("SW-1", t0), t0).unwrap();
    assert_eq!(
        drain(&mut line),
        vec![Effect::Deliver {
            message_id: mid("SW-1"),
            party: party("russia"),
            officer: officer("Petrov"),
            level: 0,
            at_ms: t0,
        }]
    );
    // Deadline 120 s: nothing at 119.999 s.
    assert_eq!(line.poll_timeout(), Some(at(9, 32, 0)));
    line.handle_timeout(Timestamp::from_unix_ms(at(9, 32, 0).unix_ms() - 1).unwrap());
    assert_eq!(drain(&mut line), vec![]);
    // Called late (09:35:00), the two deadlines fire at their own instants.
    line.handle_timeout(at(9, 35, 0));
    let esc = |from: &str, to: &str, level, t| Effect::Escalated {
        message_id: mid("SW-1"),
        sender: party("coalition"),
        recipient: party("russia"),
        from_officer: officer(from),
        to_officer: officer(to),
        level,
        at_ms: t,
    };
    let deliver = |to: &str, level, t| Effect::Deliver {
        message_id: mid("SW-1"),
        party: party("russia"),
        officer: officer(to),
        level,
        at_ms: t,
    };
    assert_eq!(
        drain(&mut line),
        vec![
            Effect::Overdue {
                message_id: mid("SW-1"),
                sender: party("coalition"),
                recipient: party("russia"),
                deadline_ms: 120_000,
                at_ms: at(9, 32, 0),
            },
            esc("Petrov", "Ivanov", 1, at(9, 32, 0)),
            deliver("Ivanov", 1, at(9, 32, 0)),
            esc("Ivanov", "Command", 2, at(9, 34, 0)),
            deliver("Command", 2, at(9, 34, 0)),
        ]
    );
    // The command holds it now, with its own deadline one step after its escalation.
    let held = line.get(&mid("SW-1")).unwrap();
    assert_eq!(held.holder(), Some(&officer("Command")));
    assert_eq!(held.holder_deadline_at(), Some(at(9, 36, 0)));
    // Overdue is visible to both sides.
    for p in ["coalition", "russia"] {
        let ids: Vec<_> = line
            .overdue_involving(&party(p))
            .map(|t| t.message().id().clone())
            .collect();
        assert_eq!(ids, vec![mid("SW-1")], "{p}");
    }
    ack(
        &mut line,
        "SW-1-ack",
        "SW-1",
        "russia",
        "Command",
        at(9, 35, 10),
    )
    .unwrap();
    let effects = drain(&mut line);
    assert_eq!(
        effects[0],
        Effect::Acknowledged {
            message_id: mid("SW-1"),
            ack_message_id: mid("SW-1-ack"),
            sender: party("coalition"),
            recipient: party("russia"),
            officer: officer("Command"),
            latency_ms: 310_000,
            late: true,
            at_ms: at(9, 35, 10),
        }
    );
    // The acknowledgement message goes to the sender's duty officer and threads with the warning.
    assert!(
        matches!(&effects[1], Effect::Deliver { message_id, party: p, .. }
        if *message_id == mid("SW-1-ack") && *p == party("coalition"))
    );
    let t = line.get(&mid("SW-1")).unwrap();
    assert_eq!(t.level(), 2);
    assert_eq!(t.escalations().len(), 2);
    assert_eq!(t.overdue_at(), Some(at(9, 32, 0)));
    assert_eq!(
        t.holder_deadline_at(),
        None,
        "acknowledged: no deadline left"
    );
    assert_eq!(line.poll_timeout(), None);
    assert_eq!(line.overdue_involving(&party("russia")).count(), 0);
    let thread: Vec<_> = line
        .conversation(warning("x", t0).subject())
        .map(|m| m.id().as_str().to_string())
        .collect();
    assert_eq!(thread, ["SW-1", "SW-1-ack"]);
}

#[test]
fn acknowledgement_just_before_the_deadline_is_in_time_and_at_it_is_late() {
    for (offset_ms, late) in [(119_999, false), (120_000, true)] {
        let mut line = Line::new(config());
        let t0 = at(9, 30, 0);
        send(&mut line, warning("SW-1", t0), t0).unwrap();
        let now = Timestamp::from_unix_ms(t0.unix_ms() + offset_ms).unwrap();
        ack(&mut line, "A", "SW-1", "russia", "Petrov", now).unwrap();
        let t = line.get(&mid("SW-1")).unwrap();
        assert_eq!(t.ack().unwrap().late, late, "{offset_ms}");
        assert_eq!(t.overdue_at().is_some(), late);
    }
}

#[test]
fn unanswered_after_the_command_deadline_and_night_shift_chain() {
    let mut line = Line::new(config());
    let t0 = at(22, 0, 0);
    send(&mut line, warning("SW-N", t0), t0).unwrap();
    // At night only Sidorov is on shift: Sidorov → Command → unanswered.
    assert_eq!(
        line.get(&mid("SW-N")).unwrap().chain(),
        [officer("Sidorov"), officer("Command")]
    );
    line.handle_timeout(at(23, 0, 0));
    let effects = drain(&mut line);
    assert!(
        matches!(effects.last(), Some(Effect::Unanswered { at_ms, .. }) if *at_ms == at(22, 4, 0))
    );
    assert_eq!(line.poll_timeout(), None);
}

#[test]
fn restart_in_the_middle_of_an_escalation_continues_identically() {
    let mut original = Line::new(config());
    let t0 = at(9, 30, 0);
    send(&mut original, warning("SW-1", t0), t0).unwrap();
    send(&mut original, warning("SW-2", at(9, 31, 0)), at(9, 31, 0)).unwrap();
    ack(
        &mut original,
        "A2",
        "SW-2",
        "russia",
        "Petrov",
        at(9, 31, 30),
    )
    .unwrap();
    original.handle_timeout(at(9, 33, 0)); // SW-1 is now with Ivanov.
    drain(&mut original);

    // "Restart": a new process rebuilds from the persisted log (through JSON, as stored).
    let stored = serde_json::to_string(original.log()).unwrap();
    let log: Vec<LoggedEvent> = serde_json::from_str(&stored).unwrap();
    let mut rebuilt = Line::rebuild(config(), &log).unwrap();
    assert_eq!(snapshot(&rebuilt), snapshot(&original));
    assert_eq!(
        rebuilt.get(&mid("SW-1")).unwrap().holder(),
        Some(&officer("Ivanov"))
    );

    // Both continue with the same inputs and produce the same effects and state.
    for line in [&mut original, &mut rebuilt] {
        line.handle_timeout(at(9, 34, 30));
        ack(line, "A1", "SW-1", "russia", "Command", at(9, 35, 10)).unwrap();
        ack(line, "A1", "SW-1", "russia", "Command", at(9, 35, 11)).unwrap(); // retried
    }
    assert_eq!(drain(&mut original), drain(&mut rebuilt));
    assert_eq!(snapshot(&rebuilt), snapshot(&original));
    let t = rebuilt.get(&mid("SW-1")).unwrap();
    assert_eq!(t.escalations().len(), 2);
    assert!(t.ack().unwrap().late);
}

#[test]
fn repeated_acknowledgement_counts_once_and_a_second_one_is_refused() {
    let mut line = Line::new(config());
    let t0 = at(9, 30, 0);
    send(&mut line, warning("SW-1", t0), t0).unwrap();
    let first = ack(&mut line, "A", "SW-1", "russia", "Petrov", at(9, 30, 30)).unwrap();
    assert!(!first.duplicate);
    drain(&mut line);
    let before = snapshot(&line);
    // Same acknowledgement id again (a retry after a reconnect): accepted, nothing changes.
    let again = ack(&mut line, "A", "SW-1", "russia", "Petrov", at(9, 30, 40)).unwrap();
    assert!(again.duplicate);
    assert_eq!(drain(&mut line), vec![]);
    // A different acknowledgement of the same message: refused, names who acknowledged.
    let err = ack(&mut line, "B", "SW-1", "russia", "Ivanov", at(9, 30, 50)).unwrap_err();
    assert_eq!(
        err,
        LineError::AlreadyAcknowledged {
            message_id: mid("SW-1"),
            ack_id: mid("A"),
            by: officer("Petrov"),
        }
    );
    let after = snapshot(&line);
    assert_eq!((after.0, after.1), (before.0, before.1));
    assert_eq!(line.counters().duplicates, 1);
    assert_eq!(line.counters().refused, 1);
}

#[test]
fn bad_inputs_are_refused_with_typed_errors_and_change_nothing() {
    let mut line = Line::new(config());
    let t0 = at(9, 30, 0);
    send(&mut line, warning("SW-1", t0), t0).unwrap();
    let (subject, body) = common::body(MessageKind::FreeText);
    let free = Message::new(
        mid("FT-1"),
        party("coalition"),
        party("russia"),
        t0,
        subject,
        body,
    )
    .unwrap();
    send(&mut line, free, t0).unwrap();
    drain(&mut line);
    let now = at(9, 30, 10);
    line.handle_timeout(now);
    let before = snapshot(&line);

    let cases: Vec<(Result<Accepted, LineError>, LineError)> = vec![
        (
            ack(&mut line, "X1", "NOPE", "russia", "Petrov", now),
            LineError::UnknownMessage {
                message_id: mid("NOPE"),
            },
        ),
        (
            // The sender cannot acknowledge its own message.
            ack(&mut line, "X2", "SW-1", "coalition", "Maj. Smith", now),
            LineError::WrongParty {
                message_id: mid("SW-1"),
                party: party("coalition"),
                recipient: party("russia"),
            },
        ),
        (
            ack(&mut line, "X3", "SW-1", "nato", "Someone", now),
            LineError::WrongParty {
                message_id: mid("SW-1"),
                party: party("nato"),
                recipient: party("russia"),
            },
        ),
        (
            ack(&mut line, "X4", "SW-1", "russia", "Maj. Smith", now),
            LineError::UnknownOfficer {
                party: party("russia"),
                officer: officer("Maj. Smith"),
            },
        ),
        (
            ack(&mut line, "X5", "FT-1", "russia", "Petrov", now),
            LineError::AckNotRequired {
                message_id: mid("FT-1"),
                kind: MessageKind::FreeText,
            },
        ),
        (
            // An acknowledgement id that is already another message's id.
            ack(&mut line, "FT-1", "SW-1", "russia", "Petrov", now),
            LineError::IdTaken { id: mid("FT-1") },
        ),
        (
            // The same id with different content.
            send(&mut line, warning("SW-1", at(9, 0, 0)), now),
            LineError::IdTaken { id: mid("SW-1") },
        ),
        (
            send(
                &mut line,
                Message::new(
                    mid("Z"),
                    party("coalition"),
                    party("nato"),
                    now,
                    common::body(MessageKind::FreeText).0,
                    common::body(MessageKind::FreeText).1,
                )
                .unwrap(),
                now,
            ),
            LineError::UnknownParty {
                party: party("nato"),
            },
        ),
    ];
    for (i, (got, want)) in cases.into_iter().enumerate() {
        assert_eq!(got.unwrap_err(), want, "case {i}");
        assert_eq!(snapshot(&line), before, "case {i} changed the state");
    }
    assert_eq!(drain(&mut line), vec![]);
    assert!(
        LineError::UnknownMessage {
            message_id: mid("NOPE")
        }
        .to_string()
        .contains("NOPE")
    );
}

#[test]
fn exact_resend_is_a_duplicate() {
    let mut line = Line::new(config());
    let t0 = at(9, 30, 0);
    assert!(!send(&mut line, warning("SW-1", t0), t0).unwrap().duplicate);
    assert!(
        send(&mut line, warning("SW-1", t0), at(9, 30, 5))
            .unwrap()
            .duplicate
    );
    assert_eq!(line.messages().count(), 1);
    assert_eq!(line.log().len(), 1);
}

/// [`config`]'s rosters, the coalition testing Russia at 06:00 and 18:00, from 05:00 of day 0.
fn twice_daily_link_tests() -> LineConfig {
    let base = config();
    LineConfig::new(
        base.rosters().to_vec(),
        AckPolicy::default(),
        vec![
            LinkTestSchedule::new(
                party("coalition"),
                party("russia"),
                vec![6 * 3600, 18 * 3600],
            )
            .unwrap(),
        ],
        at(5, 0, 0),
    )
    .unwrap()
}

#[test]
fn link_tests_follow_the_schedule_and_measure_reachability() {
    let cfg = twice_daily_link_tests();
    let mut line = Line::new(cfg);
    assert_eq!(line.poll_timeout(), Some(at(6, 0, 0)));
    line.handle_timeout(at(6, 0, 0));
    let id06 = "lt:coalition:russia:1491976800";
    assert!(line.get(&mid(id06)).is_some());
    // Answered 4 min 59 s later: in time (deadline 5 min).
    ack(&mut line, "r1", id06, "russia", "Petrov", at(6, 4, 59)).unwrap();
    // 18:00 test answered late, next day 06:00 missed (never answered, chain exhausted).
    line.handle_timeout(at(18, 0, 0));
    ack(
        &mut line,
        "r2",
        "lt:coalition:russia:1492020000",
        "russia",
        "Command",
        at(18, 7, 0),
    )
    .unwrap();
    // The line sees 06:00 when it comes (a line that only woke at 07:00 would skip it).
    line.handle_timeout(at(30, 0, 0));
    line.handle_timeout(at(31, 0, 0));
    let two_days = TimeWindow::new(at(0, 0, 0), at(48, 0, 0)).unwrap();
    let r = line.reachability(&party("russia"), two_days);
    assert_eq!(
        r,
        Reachability {
            in_time: 1,
            late: 1,
            missed: 1,
            pending: 0
        }
    );
    assert_eq!(r.in_time_permille(), Some(333));
    // The next day's 18:00 test is scheduled.
    assert_eq!(line.poll_timeout(), Some(at(42, 0, 0)));
    // The coalition was not tested.
    assert_eq!(
        line.reachability(&party("coalition"), two_days),
        Reachability::default()
    );
}

/// A line that was down (or a data directory served long after it was made) does not send the
/// link tests it slept through, which nobody could answer in time; it counts the gap once, sends
/// the one still answerable, and a rebuild from its log takes the same decisions.
#[test]
fn link_tests_slept_through_are_skipped_and_counted_not_sent() {
    let cfg = twice_daily_link_tests();
    let mut line = Line::new(cfg.clone());
    // Wakes three days later, 30 s after a scheduled test: 06:00 and 18:00 of days 0–2 and
    // 06:00 of day 3 are past their deadline (one gap of 7 slots); 18:00 of day 3 is still
    // answerable.
    let wake = at(3 * 24 + 18, 0, 30);
    line.handle_timeout(wake);
    assert_eq!(line.counters().link_tests_skipped, 1, "a gap counts once");
    let sent: Vec<_> = line
        .messages()
        .map(|t| t.message().id().as_str().to_string())
        .collect();
    assert_eq!(
        sent,
        vec![format!(
            "lt:coalition:russia:{}",
            wake.unix_ms() / 1000 - 30
        )]
    );
    assert!(line.pending_for(&party("russia")).count() == 1);
    // The skipped tests are not counted against the other party.
    let week = TimeWindow::new(at(0, 0, 0), at(24 * 7, 0, 0)).unwrap();
    assert_eq!(
        line.reachability(&party("russia"), week),
        Reachability {
            in_time: 0,
            late: 0,
            missed: 0,
            pending: 1
        }
    );
    let rebuilt = Line::rebuild(cfg, line.log()).unwrap();
    assert_eq!(
        rebuilt.messages().count(),
        1,
        "a rebuild takes the same decisions"
    );
    assert_eq!(rebuilt.counters().link_tests_skipped, 1);
}

/// A data directory made on the demo's 2017 clock and served on the wall clock: the jump of
/// nine years is one gap (not one per slot since 2017), the schedule resumes at the current
/// slot, and the results recorded before the jump stay on the line, measurable as before.
#[test]
fn a_clock_jump_of_years_counts_one_gap_and_keeps_earlier_results() {
    let cfg = twice_daily_link_tests();
    let mut line = Line::new(cfg.clone());
    line.handle_timeout(at(6, 0, 0));
    let id06 = "lt:coalition:russia:1491976800";
    ack(&mut line, "r1", id06, "russia", "Petrov", at(6, 1, 0)).unwrap();
    let day = TimeWindow::new(at(0, 0, 0), at(12, 0, 0)).unwrap();
    let before = line.reachability(&party("russia"), day);
    assert_eq!(before.in_time, 1);
    // About nine years later, 10 s after that day's 18:00 slot.
    let jump_h = 9 * 365 * 24;
    let wake = at(jump_h + 18, 0, 10);
    line.handle_timeout(wake);
    assert_eq!(
        line.counters().link_tests_skipped,
        1,
        "one gap, not ~6,500 slots"
    );
    // The earlier result is kept and still measured.
    assert!(line.get(&mid(id06)).is_some());
    assert_eq!(line.reachability(&party("russia"), day), before);
    assert_eq!(
        line.last_link_test(&party("russia"), day),
        Some(LinkTestOutcome::InTime)
    );
    // The current slot is sent; the next one is scheduled as usual.
    let sent = format!("lt:coalition:russia:{}", wake.unix_ms() / 1000 - 10);
    assert!(line.get(&mid(&sent)).is_some());
    assert_eq!(line.poll_timeout().map(|t| t > wake), Some(true));
    // Time moving on normally after the jump skips nothing more.
    line.handle_timeout(at(jump_h + 30, 0, 0));
    assert_eq!(line.counters().link_tests_skipped, 1);
    let rebuilt = Line::rebuild(cfg, line.log()).unwrap();
    assert_eq!(rebuilt.counters().link_tests_skipped, 1);
    assert_eq!(rebuilt.messages().count(), line.messages().count());
}

#[test]
fn config_validation() {
    let base = config();
    assert!(
        LineConfig::new(
            base.rosters().to_vec(),
            AckPolicy::new([(MessageKind::StrikeWarning, Duration::from_secs(120))]).unwrap(),
            vec![LinkTestSchedule::twice_daily(party("coalition"), party("russia")).unwrap()],
            at(0, 0, 0),
        )
        .is_err(),
        "link tests without a link-test deadline"
    );
    assert!(AckPolicy::new([(MessageKind::Acknowledgement, Duration::from_secs(60))]).is_err());
    assert!(AckPolicy::new([(MessageKind::StrikeWarning, Duration::ZERO)]).is_err());
    assert!(LinkTestSchedule::new(party("a"), party("a"), vec![0]).is_err());
    assert!(LinkTestSchedule::new(party("a"), party("b"), vec![86_400]).is_err());
    assert!(Shift::new(0, 86_400).is_err());
    assert!(
        Roster::new(
            party("a"),
            vec![
                DutyContact {
                    officer: officer("X"),
                    shift: Shift::ALL_DAY
                },
                DutyContact {
                    officer: officer("X"),
                    shift: Shift::ALL_DAY
                },
            ],
            officer("C"),
        )
        .is_err()
    );
}

#[test]
fn config_loads_from_json_and_checks_it() {
    let json = r#"{
        "rosters": [
            {"party": "coalition", "command": "CAOC Director",
             "contacts": [{"officer": "Maj. Smith", "shift": {"start_utc_s": 0, "end_utc_s": 43200}}]},
            {"party": "russia", "command": "Command",
             "contacts": [{"officer": "Petrov", "shift": {"start_utc_s": 21600, "end_utc_s": 64800}}]}
        ],
        "ack_deadlines_s": {"strike_warning": 120, "link_test": 300},
        "link_tests": [{"from": "coalition", "to": "russia", "times_utc_s": [64800, 21600]}],
        "start_ms": 1491955200000
    }"#;
    let cfg: LineConfig = serde_json::from_str(json).unwrap();
    assert_eq!(
        cfg.policy().deadline(MessageKind::StrikeWarning),
        Some(Duration::from_secs(120))
    );
    assert_eq!(cfg.policy().deadline(MessageKind::ConflictAlert), None);
    assert_eq!(
        cfg.roster(&party("russia")).unwrap().chain_at(at(9, 0, 0)),
        [officer("Petrov"), officer("Command")]
    );
    assert_eq!(
        cfg.link_tests()[0].next_at_or_after(at(0, 0, 0)),
        at(6, 0, 0)
    );
    let back: LineConfig = serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
    assert_eq!(back, cfg);
    // A link test naming a party without a roster is refused with the party named.
    let bad = json.replace(r#""to": "russia""#, r#""to": "nato""#);
    let err = serde_json::from_str::<LineConfig>(&bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("nato"), "{err}");
    let bad = json.replace("\"strike_warning\": 120", "\"strike_warning\": 0");
    assert!(serde_json::from_str::<LineConfig>(&bad).is_err());
}

/// The effect queue is bounded: a caller that never polls loses the oldest effects, counted,
/// and the line's state (what is delivered, what is pending) is unaffected.
#[test]
fn unpolled_effects_are_bounded_and_the_drops_counted() {
    let mut line = Line::new(config());
    let (subject, body) = common::body(MessageKind::FreeText);
    let extra = 5;
    for i in 0..EFFECTS_MAX + extra {
        let m = Message::new(
            mid(&format!("c-{i}")),
            party("coalition"),
            party("russia"),
            at(1, 0, 0),
            subject.clone(),
            body.clone(),
        )
        .unwrap();
        send(&mut line, m, at(1, 0, 0)).unwrap();
    }
    assert_eq!(line.effects_waiting(), EFFECTS_MAX);
    assert_eq!(line.counters().effects_dropped, extra as u64);
    // The oldest went: the first effect left is the delivery of message number `extra`.
    assert!(matches!(
        line.poll_effect(),
        Some(Effect::Deliver { message_id, .. }) if message_id == mid(&format!("c-{extra}"))
    ));
    assert_eq!(line.messages().count(), EFFECTS_MAX + extra);
}

/// Replaying a long log does not fill the queue: a rebuilt line has nothing waiting and
/// counts no drops.
#[test]
fn rebuild_queues_and_drops_nothing() {
    let mut line = Line::new(config());
    let (subject, body) = common::body(MessageKind::FreeText);
    for i in 0..EFFECTS_MAX + 3 {
        let m = Message::new(
            mid(&format!("r-{i}")),
            party("coalition"),
            party("russia"),
            at(1, 0, 0),
            subject.clone(),
            body.clone(),
        )
        .unwrap();
        send(&mut line, m, at(1, 0, 0)).unwrap();
        while line.poll_effect().is_some() {}
    }
    let rebuilt = Line::rebuild(config(), line.log()).unwrap();
    assert_eq!(rebuilt.effects_waiting(), 0);
    assert_eq!(rebuilt.counters().effects_dropped, 0);
}

/// A service persists the log piece by piece and forgets what it persisted: the line goes on
/// exactly as one that kept it, and the pieces together rebuild it.
#[test]
fn a_forgotten_log_changes_nothing_and_its_pieces_rebuild_the_line() {
    let mut kept = Line::new(config());
    let mut forgetful = Line::new(config());
    let mut persisted: Vec<LoggedEvent> = Vec::new();
    let t0 = at(9, 30, 0);
    for line in [&mut kept, &mut forgetful] {
        send(line, warning("SW-1", t0), t0).unwrap();
    }
    persisted.extend_from_slice(forgetful.log());
    forgetful.forget_log();
    assert!(forgetful.log().is_empty());
    for line in [&mut kept, &mut forgetful] {
        line.handle_timeout(at(9, 32, 0));
        ack(line, "A1", "SW-1", "russia", "Ivanov", at(9, 32, 30)).unwrap();
    }
    persisted.extend_from_slice(forgetful.log());
    forgetful.forget_log();
    assert_eq!(drain(&mut kept), drain(&mut forgetful));
    // Everything but the log itself.
    let state = |l: &Line| {
        let (_, messages, timeout, now) = snapshot(l);
        (messages, timeout, now)
    };
    assert_eq!(state(&kept), state(&forgetful));
    assert_eq!(persisted, kept.log());
    let rebuilt = Line::rebuild(config(), &persisted).unwrap();
    assert_eq!(snapshot(&rebuilt), snapshot(&kept));
    assert_eq!(state(&rebuilt), state(&forgetful));
}
