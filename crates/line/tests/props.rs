//! Property tests. Random event sequences against the state machine's invariants (never
//! acknowledged twice, escalation monotone, every message acknowledged in time or overdue after
//! its deadline, refused inputs change nothing, the log rebuilds the same state); and the
//! renderings of random quantities against independent oracles (the `time` crate for dates,
//! floating-point arithmetic for units).

mod common;

use std::collections::BTreeMap;

use common::*;
use deconflict_line::render::{format_altitude, format_distance, format_position, format_time};
use deconflict_line::*;
use proptest::prelude::*;

fn config() -> LineConfig {
    let coalition = Roster::new(
        party("coalition"),
        vec![DutyContact {
            officer: officer("Smith"),
            shift: Shift::hours(0, 12).unwrap(),
        }],
        officer("Director"),
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
                shift: Shift::ALL_DAY,
            },
        ],
        officer("Command"),
    )
    .unwrap();
    LineConfig::new(
        vec![coalition, russia],
        AckPolicy::default(),
        vec![
            LinkTestSchedule::new(party("coalition"), party("russia"), vec![3600, 4 * 3600])
                .unwrap(),
            LinkTestSchedule::new(party("russia"), party("coalition"), vec![2 * 3600]).unwrap(),
        ],
        at(0, 0, 0),
    )
    .unwrap()
}

const KINDS: [MessageKind; 4] = [
    MessageKind::StrikeWarning,
    MessageKind::ConflictAlert,
    MessageKind::FreeText,
    MessageKind::IncidentReport,
];
const PARTIES: [&str; 3] = ["coalition", "russia", "nato"];
const OFFICERS: [&str; 6] = ["Petrov", "Ivanov", "Command", "Smith", "Director", "Nobody"];

#[derive(Debug, Clone)]
enum Op {
    Send {
        kind: usize,
        id: u8,
        reverse: bool,
    },
    Ack {
        ack: u8,
        target: u8,
        party: usize,
        officer: usize,
    },
    AckLinkTest {
        ack: u8,
        party: usize,
        officer: usize,
    },
    Wait {
        ms: u32,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..KINDS.len(), 0u8..6, any::<bool>()).prop_map(|(kind, id, reverse)| Op::Send {
            kind,
            id,
            reverse
        }),
        (0u8..8, 0u8..6, 0..PARTIES.len(), 0..OFFICERS.len()).prop_map(
            |(ack, target, party, officer)| Op::Ack {
                ack,
                target,
                party,
                officer
            }
        ),
        (0u8..8, 0..PARTIES.len(), 0..OFFICERS.len()).prop_map(|(ack, party, officer)| {
            Op::AckLinkTest {
                ack,
                party,
                officer,
            }
        }),
        (0u32..400_000).prop_map(|ms| Op::Wait { ms }),
    ]
}

fn snapshot(line: &Line) -> (Vec<LoggedEvent>, Vec<Tracked>, Option<Timestamp>) {
    (
        line.log().to_vec(),
        line.messages().cloned().collect(),
        line.poll_timeout(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_event_sequences_keep_the_invariants(ops in proptest::collection::vec(op(), 1..60)) {
        let mut line = Line::new(config());
        let mut now = at(0, 30, 0);
        let mut acks_seen: BTreeMap<MessageId, usize> = BTreeMap::new();
        let mut last_level: BTreeMap<MessageId, u32> = BTreeMap::new();
        let mut escalation_at: BTreeMap<MessageId, (u32, Timestamp)> = BTreeMap::new();
        for op in ops {
            let event = match op {
                Op::Wait { ms } => {
                    now = Timestamp::from_unix_ms(now.unix_ms() + i64::from(ms)).unwrap();
                    line.handle_timeout(now);
                    None
                }
                Op::Send { kind, id, reverse } => {
                    let (subject, body) = common::body(KINDS[kind]);
                    let (from, to) = if reverse { ("russia", "coalition") } else { ("coalition", "russia") };
                    let m = Message::new(mid(&format!("m{id}")), party(from), party(to), now, subject, body).unwrap();
                    Some(Event::Send { message: m })
                }
                Op::Ack { ack, target, party: p, officer: o } => Some(Event::Acknowledge {
                    ack_id: mid(&format!("a{ack}")),
                    message_id: mid(&format!("m{target}")),
                    party: party(PARTIES[p]),
                    officer: officer(OFFICERS[o]),
                }),
                Op::AckLinkTest { ack, party: p, officer: o } => {
                    let lt = line.messages().find(|t| t.message().kind() == MessageKind::LinkTest).map(|t| t.message().id().clone());
                    lt.map(|message_id| Event::Acknowledge {
                        ack_id: mid(&format!("a{ack}")),
                        message_id,
                        party: party(PARTIES[p]),
                        officer: officer(OFFICERS[o]),
                    })
                }
            };
            if let Some(event) = event {
                let mut expected_if_refused = line.clone();
                expected_if_refused.handle_timeout(now);
                match line.handle(event, now) {
                    Ok(_) => {}
                    // Refused: exactly the state that time alone would have produced.
                    Err(_) => prop_assert_eq!(snapshot(&line), snapshot(&expected_if_refused)),
                }
            }
            while let Some(e) = line.poll_effect() {
                match e {
                    Effect::Acknowledged { message_id, .. } => {
                        let n = acks_seen.entry(message_id.clone()).or_default();
                        *n += 1;
                        prop_assert_eq!(*n, 1, "{} acknowledged twice", message_id);
                    }
                    Effect::Escalated { message_id, level, at_ms, .. } => {
                        let prev = escalation_at.get(&message_id).copied().unwrap_or((0, Timestamp::EPOCH));
                        prop_assert_eq!(level, prev.0 + 1, "escalation of {} skipped a level", message_id);
                        prop_assert!(at_ms >= prev.1);
                        escalation_at.insert(message_id, (level, at_ms));
                    }
                    _ => {}
                }
            }
            let now_line = line.now();
            for t in line.messages() {
                let id = t.message().id().clone();
                let prev = last_level.insert(id.clone(), t.level()).unwrap_or(0);
                prop_assert!(t.level() >= prev, "{} level went down", id);
                prop_assert!((t.level() as usize) < t.chain().len().max(1));
                if let Some(first) = t.first_deadline_at() {
                    if let Some(a) = t.ack() {
                        prop_assert_eq!(a.late, a.at >= first);
                    }
                    if first <= now_line {
                        let in_time = t.ack().is_some_and(|a| !a.late);
                        prop_assert!(in_time || t.overdue_at().is_some(), "{} neither acknowledged in time nor overdue", id);
                    }
                } else {
                    prop_assert!(t.ack().is_none() && t.overdue_at().is_none());
                }
            }
        }
        // Restart: the log alone rebuilds the same state.
        let mut rebuilt = Line::rebuild(config(), line.log()).unwrap();
        rebuilt.handle_timeout(line.now());
        prop_assert_eq!(snapshot(&rebuilt), snapshot(&line));
    }

    #[test]
    fn times_match_the_time_crate(ms in 0i64..=253_402_300_799_999, offset_min in -1080i16..=1080) {
        let offset = UtcOffset::from_minutes(offset_min).unwrap();
        let t = Timestamp::from_unix_ms(ms).unwrap();
        let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
        let utc = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).unwrap();
        let local = utc.to_offset(time::UtcOffset::from_whole_seconds(i32::from(offset_min) * 60).unwrap());
        let text = format_time(&reader("en", &offset.to_string(), CoordFormat::Decimal), t);
        let want = format!("{} UTC ({} local, UTC{})", utc.format(&fmt).unwrap(), local.format(&fmt).unwrap(), offset);
        prop_assert_eq!(text, want);
    }

    #[test]
    fn units_match_floating_point(mm in -1_000_000i64..=100_000_000, dist_mm in 0i64..=20_100_000_000) {
        let alt = Altitude::from_mm(mm).unwrap();
        // f64 division is correctly rounded, so exact halves stay exact and round() takes
        // them away from zero, the rule the renderer documents.
        let ft = ((mm * 10) as f64 / 3048.0).round() as i64;
        let m = (mm as f64 / 1000.0).round() as i64;
        prop_assert_eq!(format_altitude(&reader("en", "Z", CoordFormat::Decimal), alt), format!("{ft} ft ({m} m)"));
        prop_assert_eq!(format_altitude(&reader("ru", "Z", CoordFormat::Decimal), alt), format!("{ft} фт ({m} м)"));
        let d = Distance::from_mm(dist_mm).unwrap();
        let nm_x1000 = ((dist_mm * 1000) as f64 / 1_852_000.0).round() as i64;
        let dm = (dist_mm as f64 / 1000.0).round() as i64;
        let nm = format!("{}.{:03}", nm_x1000 / 1000, nm_x1000 % 1000);
        let km = format!("{:.3}", dm as f64 / 1000.0);
        prop_assert_eq!(format_distance(&reader("en", "Z", CoordFormat::Decimal), d), format!("{nm} NM ({km} km)"));
        prop_assert_eq!(
            format_distance(&reader("ru", "Z", CoordFormat::Decimal), d),
            format!("{} мор. мили ({} км)", nm.replace('.', ","), km.replace('.', ","))
        );
    }

    #[test]
    fn positions_match_floating_point(lat in -90_000_000i64..=90_000_000, lon in -180_000_000i64..=180_000_000) {
        let p = Position { lat_udeg: Latitude::from_udeg(lat).unwrap(), lon_udeg: Longitude::from_udeg(lon).unwrap() };
        let dec = |v: i64, pos: &str, neg: &str| format!("{:.6}° {}", v.abs() as f64 / 1e6, if v < 0 { neg } else { pos });
        prop_assert_eq!(
            format_position(&reader("en", "Z", CoordFormat::Decimal), p),
            format!("{}, {}", dec(lat, "N", "S"), dec(lon, "E", "W"))
        );
        // DMS to a tenth of a second, skipping exact ties where f64 and decimal rounding may differ.
        let dms = |v: i64, pos: &str, neg: &str| {
            let secs = v.abs() as f64 / 1e6 * 3600.0;
            let tenths = (secs * 10.0).round() as i64;
            format!("{}°{:02}′{:02}.{}″ {}", tenths / 36_000, tenths % 36_000 / 600, tenths % 600 / 10, tenths % 10, if v < 0 { neg } else { pos })
        };
        prop_assume!((lat.abs() * 36) % 1000 != 500 && (lon.abs() * 36) % 1000 != 500);
        prop_assert_eq!(
            format_position(&reader("en", "Z", CoordFormat::Dms), p),
            format!("{}, {}", dms(lat, "N", "S"), dms(lon, "E", "W"))
        );
    }
}
