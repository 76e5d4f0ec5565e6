//! Every template in every language: each structured field appears, formatted exactly as
//! worked out by hand here (units, decimal separators, times in UTC and local, hemispheres,
//! Russian plural and case forms), and every language has every message with the same
//! variables.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use deconflict_line::render::{DurationUse, format_duration, render_message};
use deconflict_line::*;

fn en() -> ReaderProfile {
    reader("en", "+03:00", CoordFormat::Decimal)
}
fn ru() -> ReaderProfile {
    reader("ru", "+03:00", CoordFormat::Dms)
}

const EN_AREA: &str = "circle of radius 5.000 NM (9.260 km) centred on 35.333611° N, 40.140833° E";
const RU_AREA: &str =
    "круг радиусом 5,000 мор. мили (9,260 км) с центром 35°20′01,0″ с. ш., 40°08′27,0″ в. д.";
const EN_BLOCK: &str = "from 15000 ft (4572 m) to 25000 ft (7620 m)";
const RU_BLOCK: &str = "от 15000 фт (4572 м) до 25000 фт (7620 м)";
const EN_WINDOW: &str = "from 2017-04-12 09:30:00 UTC (2017-04-12 12:30:00 local, UTC+03:00) to 2017-04-12 11:00:00 UTC (2017-04-12 14:00:00 local, UTC+03:00)";
const RU_WINDOW: &str = "с 2017-04-12 09:30:00 UTC (местное 2017-04-12 12:30:00, UTC+03:00) по 2017-04-12 11:00:00 UTC (местное 2017-04-12 14:00:00, UTC+03:00)";

/// (kind, English fragments, Russian fragments): each must appear in the body rendering.
fn expectations() -> Vec<(MessageKind, Vec<String>, Vec<String>)> {
    use MessageKind as K;
    let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        (
            K::LinkTest,
            v(&[
                "Subject: link test lt-1",
                "LINK TEST scheduled for 2017-04-12 06:00:00 UTC (2017-04-12 09:00:00 local, UTC+03:00).",
            ]),
            v(&[
                "Тема: проверка связи lt-1",
                "ПРОВЕРКА СВЯЗИ, запланированная на 2017-04-12 06:00:00 UTC (местное 2017-04-12 09:00:00, UTC+03:00).",
            ]),
        ),
        (
            K::NotificationOfOperations,
            vec![
                "Subject: notification N-7".into(),
                format!(
                    "NOTIFICATION OF OPERATIONS N-7. Area: {EN_AREA}. Altitudes: {EN_BLOCK}. Time: {EN_WINDOW}. Callsigns: VIPER11."
                ),
            ],
            vec![
                "Тема: уведомление N-7".into(),
                format!(
                    "УВЕДОМЛЕНИЕ О ДЕЯТЕЛЬНОСТИ N-7. Район: {RU_AREA}; высоты: {RU_BLOCK}; время: {RU_WINDOW}; позывные: VIPER11."
                ),
            ],
        ),
        (
            K::StrikeWarning,
            vec![format!(
                "STRIKE WARNING. Area: {EN_AREA}. Altitudes: {EN_BLOCK}. Time: {EN_WINDOW}."
            )],
            vec![format!(
                "ПРЕДУПРЕЖДЕНИЕ ОБ УДАРЕ. Район: {RU_AREA}; высоты: {RU_BLOCK}; время: {RU_WINDOW}."
            )],
        ),
        (
            K::ConflictAlert,
            v(&[
                "Subject: alert A-1",
                "CONFLICT ALERT A-1, corrective: coalition track CLT-7 and russia track RUS-31. Loss of separation in 1 minute 35 seconds. Predicted closest approach: 0.500 NM (0.926 km) horizontally, 300 ft (91 m) vertically.",
            ]),
            v(&[
                "Тема: оповещение A-1",
                "ОПОВЕЩЕНИЕ О КОНФЛИКТЕ A-1, корректирующее: борт CLT-7 (coalition) и борт RUS-31 (russia). Потеря эшелонирования через 1 минуту 35 секунд. Прогноз наибольшего сближения: 0,500 мор. мили (0,926 км) по горизонтали, 300 фт (91 м) по вертикали.",
            ]),
        ),
        (
            K::RequestToAlter,
            v(&[
                "REQUEST TO ALTER the operation of message M-1: new altitude block from 27000 ft (8230 m) to 31000 ft (9449 m).",
            ]),
            v(&[
                "ЗАПРОС НА ИЗМЕНЕНИЕ деятельности из сообщения M-1: новый блок высот от 27000 фт (8230 м) до 31000 фт (9449 м).",
            ]),
        ),
        (
            K::Reply,
            v(&[
                "REPLY to message M-2: COUNTER-PROPOSAL: new time from 2017-04-12 10:00:00 UTC (2017-04-12 13:00:00 local, UTC+03:00) to 2017-04-12 10:45:00 UTC (2017-04-12 13:45:00 local, UTC+03:00).",
            ]),
            v(&[
                "ОТВЕТ на сообщение M-2: ВСТРЕЧНОЕ ПРЕДЛОЖЕНИЕ: новое время с 2017-04-12 10:00:00 UTC (местное 2017-04-12 13:00:00, UTC+03:00) по 2017-04-12 10:45:00 UTC (местное 2017-04-12 13:45:00, UTC+03:00).",
            ]),
        ),
        (
            K::IncidentReport,
            v(&[
                "Subject: incident I-3",
                "INCIDENT REPORT I-3: at 2017-04-12 14:05:30 UTC (2017-04-12 17:05:30 local, UTC+03:00), near 35.333611° N, 40.140833° E, coalition track CLT-9 and russia track RUS-4 came within 0.082 NM (0.152 km) horizontally and 200 ft (61 m) vertically.",
            ]),
            v(&[
                "Тема: инцидент I-3",
                "ДОКЛАД ОБ ИНЦИДЕНТЕ I-3: 2017-04-12 14:05:30 UTC (местное 2017-04-12 17:05:30, UTC+03:00), в районе 35°20′01,0″ с. ш., 40°08′27,0″ в. д., борт CLT-9 (coalition) и борт RUS-4 (russia) сблизились до 0,082 мор. мили (0,152 км) по горизонтали и 200 фт (61 м) по вертикали.",
            ]),
        ),
        (
            K::InvestigationRequest,
            // 23:00 UTC is 02:00 the next day at UTC+03:00.
            v(&[
                "REQUEST FOR INVESTIGATION of incident I-3. Please answer by 2017-04-12 23:00:00 UTC (2017-04-13 02:00:00 local, UTC+03:00).",
            ]),
            v(&[
                "ЗАПРОС НА РАССЛЕДОВАНИЕ инцидента I-3. Просим ответить до 2017-04-12 23:00:00 UTC (местное 2017-04-13 02:00:00, UTC+03:00).",
            ]),
        ),
        (
            K::Acknowledgement,
            v(&["ACKNOWLEDGEMENT of message M-1. Duty officer: подполковник Петров."]),
            v(&["ПОДТВЕРЖДЕНИЕ получения сообщения M-1. Дежурный офицер: подполковник Петров."]),
        ),
        (
            K::FreeText,
            v(&["FREE TEXT (untranslated, written in ru): Борт RUS-31 набирает эшелон 280."]),
            v(&[
                "СВОБОДНЫЙ ТЕКСТ (без перевода, язык оригинала: ru): Борт RUS-31 набирает эшелон 280.",
            ]),
        ),
    ]
}

#[test]
fn every_kind_renders_every_field_in_english_and_russian() {
    let cases = expectations();
    let kinds: BTreeSet<_> = cases.iter().map(|(k, _, _)| *k).collect();
    assert_eq!(
        kinds,
        MessageKind::ALL.into_iter().collect(),
        "a kind lacks expectations"
    );
    for (kind, en_parts, ru_parts) in cases {
        let m = sample(kind);
        for (profile, parts) in [(en(), en_parts), (ru(), ru_parts)] {
            let text = render_message(&profile, &m);
            for part in parts {
                assert!(
                    text.contains(&part),
                    "{kind} in {}:\n{text}\nlacks:\n{part}",
                    profile.lang
                );
            }
        }
    }
}

#[test]
fn strike_warning_golden_english_and_russian() {
    let m = sample(MessageKind::StrikeWarning);
    let want_en = format!(
        "Message M-strike_warning from coalition to russia, sent 2017-04-12 09:30:00 UTC (2017-04-12 12:30:00 local, UTC+03:00)\n\
         Subject: notification N-7\n\
         STRIKE WARNING. Area: {EN_AREA}. Altitudes: {EN_BLOCK}. Time: {EN_WINDOW}.\n"
    );
    assert_eq!(render_message(&en(), &m), want_en);
    let want_ru = format!(
        "Сообщение M-strike_warning, отправитель: coalition, получатель: russia, отправлено 2017-04-12 09:30:00 UTC (местное 2017-04-12 12:30:00, UTC+03:00)\n\
         Тема: уведомление N-7\n\
         ПРЕДУПРЕЖДЕНИЕ ОБ УДАРЕ. Район: {RU_AREA}; высоты: {RU_BLOCK}; время: {RU_WINDOW}.\n"
    );
    assert_eq!(render_message(&ru(), &m), want_ru);
}

#[test]
fn reader_preferences_switch_coordinates_and_offset() {
    let m = sample(MessageKind::IncidentReport);
    // English reader in DMS at UTC-05:30; Russian reader in decimal degrees at UTC.
    let text = render_message(&reader("en", "-05:30", CoordFormat::Dms), &m);
    assert!(
        text.contains("near 35°20′01.0″ N, 40°08′27.0″ E,"),
        "{text}"
    );
    assert!(
        text.contains("14:05:30 UTC (2017-04-12 08:35:30 local, UTC-05:30)"),
        "{text}"
    );
    let text = render_message(&reader("ru", "Z", CoordFormat::Decimal), &m);
    assert!(
        text.contains("в районе 35,333611° с. ш., 40,140833° в. д.,"),
        "{text}"
    );
    assert!(
        text.contains("(местное 2017-04-12 14:05:30, UTC+00:00)"),
        "{text}"
    );
}

#[test]
fn southern_and_western_hemispheres() {
    let mut m = sample(MessageKind::IncidentReport);
    if let Body::IncidentReport { .. } = m.body() {
        let (subject, mut body) = common::body(MessageKind::IncidentReport);
        if let Body::IncidentReport { position, .. } = &mut body {
            *position = Position::from_deg(-33.946_111, -118.400_556).unwrap();
        }
        m = Message::new(
            mid("M-x"),
            party("a"),
            party("b"),
            at(0, 0, 0),
            subject,
            body,
        )
        .unwrap();
    }
    let text = render_message(&reader("en", "Z", CoordFormat::Dms), &m);
    // 0.946111° = 56′46.0″; 0.400556° = 24′02.0″.
    assert!(text.contains("33°56′46.0″ S, 118°24′02.0″ W"), "{text}");
    let text = render_message(&reader("ru", "Z", CoordFormat::Decimal), &m);
    assert!(
        text.contains("33,946111° ю. ш., 118,400556° з. д."),
        "{text}"
    );
}

#[test]
fn russian_plural_and_case_forms() {
    let ru = ru();
    let en = en();
    let min = |p: &ReaderProfile, n: i64, u| format_duration(p, n * 60_000, u);
    let sec = |p: &ReaderProfile, n: i64, u| format_duration(p, n * 1000, u);
    use DurationUse::{After, Nominative};
    for (n, nom, acc) in [
        (1, "1 минута", "1 минуту"),
        (2, "2 минуты", "2 минуты"),
        (4, "4 минуты", "4 минуты"),
        (5, "5 минут", "5 минут"),
        (11, "11 минут", "11 минут"),
        (12, "12 минут", "12 минут"),
        (21, "21 минута", "21 минуту"),
        (22, "22 минуты", "22 минуты"),
        (25, "25 минут", "25 минут"),
    ] {
        assert_eq!(min(&ru, n, Nominative), nom);
        assert_eq!(min(&ru, n, After), acc);
    }
    for (n, nom, acc) in [
        (1, "1 секунда", "1 секунду"),
        (3, "3 секунды", "3 секунды"),
        (0, "0 секунд", "0 секунд"),
        (14, "14 секунд", "14 секунд"),
        (31, "31 секунда", "31 секунду"),
    ] {
        assert_eq!(sec(&ru, n, Nominative), nom);
        assert_eq!(sec(&ru, n, After), acc);
    }
    assert_eq!(min(&en, 1, Nominative), "1 minute");
    assert_eq!(min(&en, 2, After), "2 minutes");
    assert_eq!(sec(&en, 1, After), "1 second");
    assert_eq!(
        format_duration(&ru, (2 * 3600 + 60 + 1) * 1000, Nominative),
        "2 часа 1 минута 1 секунда"
    );
    assert_eq!(format_duration(&en, 27 * 60_000, After), "27 minutes");
}

/// Message id → variables it uses, from a Fluent source (entries start at column 0).
fn variables(source: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in source.lines() {
        if line.starts_with(|c: char| c.is_ascii_alphabetic()) {
            current = line.split_once('=').map(|(id, _)| id.trim().to_string());
        } else if line.starts_with('#') || line.is_empty() {
            current = None;
            continue;
        }
        if let Some(id) = &current {
            let vars = out.entry(id.clone()).or_default();
            for part in line.split('$').skip(1) {
                let name: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                vars.insert(name);
            }
        }
    }
    out
}

#[test]
fn every_language_has_every_message_with_the_same_variables() {
    let langs: Vec<Language> = Language::all().collect();
    assert!(langs.iter().any(|l| l.code() == "en") && langs.iter().any(|l| l.code() == "ru"));
    let reference = variables(Language::english().source());
    assert!(
        reference.len() > 40,
        "parsed only {} messages",
        reference.len()
    );
    for lang in langs {
        // The Fluent parser accepts the whole file without a single error.
        let parsed = fluent_syntax::parser::parse(lang.source());
        assert!(parsed.is_ok(), "{}.ftl: {:?}", lang.code(), parsed.err());
        let vars = variables(lang.source());
        assert_eq!(
            vars.keys().collect::<Vec<_>>(),
            reference.keys().collect::<Vec<_>>(),
            "{}.ftl messages differ from en.ftl",
            lang.code()
        );
        for (id, want) in &reference {
            assert_eq!(&vars[id], want, "{}.ftl `{id}` variables", lang.code());
        }
    }
}

#[test]
fn unknown_language_is_a_clear_error() {
    let err = Language::parse("fr").unwrap_err().to_string();
    assert!(err.contains("\"fr\"") && err.contains("en, ru"), "{err}");
}

/// A corrective alert to coalition with coordinated advice: its aircraft climbs to 29,960 ft
/// (9131.808 m, rounded up to FL300) and turns right to 209.4° (rounded up to 210°); russia's
/// descends to 29,040 ft (8851.392 m, FL290 rounded down) and turns left, with no direction
/// given (as when russia does not disclose its velocity).
fn advised() -> Body {
    let (_, Body::ConflictAlert(alert)) = body(MessageKind::ConflictAlert) else {
        panic!("a conflict alert")
    };
    Body::ConflictAlert(alert.with_advice(Advice {
        own: Manoeuvre {
            track: track("coalition", "CLT-7"),
            vertical: VerticalSense::Climb,
            altitude_mm: Some(Altitude::from_mm(9_131_808).unwrap()),
            turn: TurnSense::Right,
            direction_mdeg: Some(Direction::from_mdeg(209_400).unwrap()),
        },
        other: Manoeuvre {
            track: track("russia", "RUS-31"),
            vertical: VerticalSense::Descend,
            altitude_mm: Some(Altitude::from_mm(8_851_392).unwrap()),
            turn: TurnSense::Left,
            direction_mdeg: None,
        },
    }))
}

#[test]
fn conflict_alert_advice_renders_in_each_language() {
    use deconflict_line::render::render_body;
    let advice_body = advised();
    let en_text = render_body(&en(), &advice_body);
    assert!(
        en_text.ends_with(
            "vertically. ADVICE for coalition track CLT-7: climb to FL300 or above; turn right to 210° or more. \
             Advice for russia track RUS-31: descend to FL290 or below; turn left."
        ),
        "{en_text}"
    );
    let ru_text = render_body(&ru(), &advice_body);
    assert!(
        ru_text.ends_with(
            "по вертикали. РЕКОМЕНДАЦИЯ борту CLT-7 (coalition): набор высоты до FL300 или выше; отворот вправо на курс 210° или более. \
             Рекомендация борту RUS-31 (russia): снижение до FL290 или ниже; отворот влево."
        ),
        "{ru_text}"
    );
    // Without values, the senses alone; a left turn to a direction is rounded down.
    let Body::ConflictAlert(mut alert) = advice_body else {
        unreachable!()
    };
    let adv = alert.advice.as_mut().unwrap();
    adv.own.altitude_mm = None;
    adv.own.vertical = VerticalSense::Descend;
    adv.own.turn = TurnSense::Left;
    adv.own.direction_mdeg = Some(Direction::from_mdeg(5_999).unwrap());
    let text = render_body(&en(), &Body::ConflictAlert(alert.clone()));
    assert!(
        text.contains("coalition track CLT-7: descend; turn left to 005° or less."),
        "{text}"
    );
    // The advice survives the canonical form; an alert without it keeps its old bytes.
    let m = Message::new(
        mid("ca-1"),
        party("service"),
        party("coalition"),
        at(10, 0, 0),
        Subject::new(SubjectKind::Alert, sid("A-1")),
        Body::ConflictAlert(alert.clone()),
    )
    .unwrap();
    let json = m.canonical_json();
    assert_eq!(Message::from_canonical_json(&json).unwrap(), m);
    let text = String::from_utf8(json).unwrap();
    assert!(
        text.contains(r#""advice":{"other":{"altitude_mm":8851392,"track":{"party":"russia","track":"RUS-31"},"turn":"left","vertical":"descend"}"#),
        "{text}"
    );
    let (_, plain) = body(MessageKind::ConflictAlert);
    let m = Message::new(
        mid("ca-2"),
        party("service"),
        party("coalition"),
        at(10, 0, 0),
        Subject::new(SubjectKind::Alert, sid("A-1")),
        plain,
    )
    .unwrap();
    assert!(
        !String::from_utf8(m.canonical_json())
            .unwrap()
            .contains("advice")
    );
}

/// An officer on the roster under the role's own name is not labelled with it twice.
#[test]
fn an_officer_named_by_the_role_is_not_labelled_twice() {
    let m = sample(MessageKind::Acknowledgement);
    let m = Message::new(
        m.id().clone(),
        m.from().clone(),
        m.to().clone(),
        m.sent_at(),
        m.subject().clone(),
        Body::Acknowledgement {
            of: mid("M-1"),
            officer: officer("Дежурный офицер"),
        },
    )
    .unwrap();
    let ru_text = render_message(&ru(), &m);
    assert!(
        !ru_text.contains("Дежурный офицер: Дежурный офицер"),
        "{ru_text}"
    );
    assert!(
        ru_text.contains("ПОДТВЕРЖДЕНИЕ получения сообщения M-1. Дежурный офицер."),
        "{ru_text}"
    );
    // Read in English, the name is not the label: it is printed as written.
    let en_text = render_message(&en(), &m);
    assert!(
        en_text.contains("Duty officer: Дежурный офицер."),
        "{en_text}"
    );
}

/// The names table for a Russian reader, as the service builds it from an agreement whose
/// parties name themselves in Russian; their commands are the rosters' last officers.
fn russian_names() -> lang::PartyNames {
    lang::PartyNames::new()
        .with(
            party("coalition"),
            "Коалиция",
            Some(officer("Coalition command")),
        )
        .with(
            party("russia"),
            "Российская Федерация",
            Some(officer("Russian Federation command")),
        )
}

/// A Russian reader sees the parties' Russian names and their commands in Russian, not the
/// ids and the roster's English "… command".
#[test]
fn russian_rendering_names_parties_and_commands_in_russian() {
    let reader = ru().with_names(russian_names());
    let sample_ack = sample(MessageKind::Acknowledgement);
    let m = Message::new(
        sample_ack.id().clone(),
        party("russia"),
        party("coalition"),
        sample_ack.sent_at(),
        sample_ack.subject().clone(),
        Body::Acknowledgement {
            of: mid("M-1"),
            officer: officer("Russian Federation command"),
        },
    )
    .unwrap();
    let text = render_message(&reader, &m);
    assert!(
        text.contains("отправитель: Российская Федерация, получатель: Коалиция"),
        "{text}"
    );
    assert!(text.contains("Дежурный офицер: командование."), "{text}");
    let alert = render_message(&reader, &sample(MessageKind::ConflictAlert));
    assert!(
        alert.contains("(Коалиция)") && alert.contains("(Российская Федерация)"),
        "{alert}"
    );
    let escalated = deconflict_line::render::render_effect(
        &reader,
        &Effect::Escalated {
            message_id: mid("M-111"),
            sender: party("coalition"),
            recipient: party("russia"),
            from_officer: officer("майор Иванов"),
            to_officer: officer("Russian Federation command"),
            level: 2,
            at_ms: at(9, 34, 0),
        },
    );
    assert!(
        escalated.contains(
            "ЭСКАЛИРОВАНО (Российская Федерация, уровень 2): майор Иванов → командование"
        ),
        "{escalated}"
    );
    for text in [&text, &alert, &escalated] {
        for english in ["command", "russia", "coalition", "Russian Federation"] {
            assert!(
                !text.contains(english),
                "{english:?} left in English: {text}"
            );
        }
    }
    // The service itself, in the reader's words.
    let from_service = Message::new(
        mid("lt-1"),
        party("service"),
        party("russia"),
        at(6, 0, 0),
        sample_ack.subject().clone(),
        Body::LinkTest {
            scheduled_at_ms: at(6, 0, 0),
        },
    )
    .unwrap();
    let with_service = ru().with_names(russian_names().with_service(party("service")));
    assert!(
        render_message(&with_service, &from_service)
            .contains("отправитель: служба деконфликтации, получатель: Российская Федерация"),
        "{}",
        render_message(&with_service, &from_service)
    );
    // Without a table the ids and roster names are shown as before; in English the command
    // reads as the roster has it.
    assert!(render_message(&ru(), &m).contains("отправитель: russia, получатель: coalition"));
    let en_names = lang::PartyNames::new().with(
        party("russia"),
        "Russian Federation",
        Some(officer("Russian Federation command")),
    );
    let en_text = render_message(&en().with_names(en_names), &m);
    assert!(
        en_text.contains("from Russian Federation to coalition"),
        "{en_text}"
    );
    assert!(
        en_text.contains("Duty officer: Russian Federation command."),
        "{en_text}"
    );
}
