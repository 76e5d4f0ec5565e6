//! The JSON parser of stored and received messages: exact canonical form, clear errors with
//! path, line and column for bad input, and no panic on any bytes.

mod common;

use common::*;
use deconflict_line::message::{CONVERSATION_MESSAGES_MAX, MESSAGE_BYTES_MAX};
use deconflict_line::render::render_conversation;
use deconflict_line::*;
use proptest::prelude::*;

const STRIKE: &[u8] = include_bytes!("../testdata/strike_warning.json");
const CONVERSATION: &[u8] = include_bytes!("../testdata/conversation.json");

/// RFC 8785 form of testdata/strike_warning.json: keys sorted by UTF-16 code unit, no spaces.
const STRIKE_CANONICAL: &str = concat!(
    r#"{"body":{"activity":"strike","altitude_block":{"lower_mm":4572000,"upper_mm":7620000},"#,
    r#""area":{"centre":{"lat_udeg":35333611,"lon_udeg":40140833},"radius_mm":3704000,"shape":"circle"},"#,
    r#""type":"strike_warning","window":{"end_ms":1491991800000,"start_ms":1491990000000}},"#,
    r#""from":"coalition","id":"M-111","sent_at_ms":1491989400000,"#,
    r#""subject":{"id":"N-7","kind":"notification"},"to":"russia"}"#
);

fn invalid(bytes: &[u8]) -> (String, usize, usize, String) {
    match Message::from_json(bytes) {
        Err(ParseError::Invalid {
            path,
            line,
            column,
            reason,
        }) => (path, line, column, reason),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn strike_with(from: &str, to: &str) -> Vec<u8> {
    let s = std::str::from_utf8(STRIKE).unwrap();
    assert!(s.contains(from), "{from}");
    s.replacen(from, to, 1).into_bytes()
}

#[test]
fn stored_message_parses_to_its_fields_and_canonical_form() {
    let m = Message::from_json(STRIKE).unwrap();
    assert_eq!(m.id(), &mid("M-111"));
    assert_eq!(m.sent_at(), at(9, 30, 0));
    let Body::StrikeWarning {
        activity,
        area,
        altitude_block,
        window,
    } = m.body()
    else {
        panic!("{:?}", m.body())
    };
    assert_eq!(*activity, Activity::Strike);
    assert_eq!(
        *area,
        Area::circle(deir(), Distance::from_nm(2.0).unwrap()).unwrap()
    );
    assert_eq!(*altitude_block, block());
    assert_eq!(window.start(), at(9, 40, 0));
    assert_eq!(
        String::from_utf8(m.canonical_json()).unwrap(),
        STRIKE_CANONICAL
    );
    assert_eq!(
        Message::from_canonical_json(STRIKE_CANONICAL.as_bytes()).unwrap(),
        m
    );
    assert_eq!(
        Message::from_canonical_json(STRIKE),
        Err(ParseError::NotCanonical)
    );
}

#[test]
fn every_sample_round_trips_through_canonical_json() {
    for kind in MessageKind::ALL {
        let m = sample(kind);
        let bytes = m.canonical_json();
        assert_eq!(Message::from_canonical_json(&bytes).unwrap(), m, "{kind}");
        // The JSON tag is the kind's catalogue tag.
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["body"]["type"], kind.tag());
        assert_eq!(MessageKind::from_tag(kind.tag()), Some(kind));
    }
}

#[test]
fn a_subject_kinds_tag_is_its_json_name() {
    for kind in SubjectKind::ALL {
        let json = serde_json::to_value(kind).unwrap();
        assert_eq!(json, kind.tag(), "{kind:?}");
        assert_eq!(serde_json::from_value::<SubjectKind>(json).unwrap(), kind);
    }
}

#[test]
fn catalogue_lists_exactly_each_kinds_body_fields() {
    for kind in MessageKind::ALL {
        let v: serde_json::Value = serde_json::from_slice(&sample(kind).canonical_json()).unwrap();
        let mut have: Vec<&str> = v["body"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .filter(|k| *k != "type")
            .collect();
        // An optional field the sample leaves out is listed all the same.
        let mut listed: Vec<&str> = kind
            .fields()
            .iter()
            .filter(|(f, meaning)| have.contains(f) || !meaning.starts_with("optional"))
            .map(|(f, _)| *f)
            .collect();
        have.sort();
        listed.sort();
        assert_eq!(have, listed, "{kind}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&deconflict_line::message::catalogue_json()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), MessageKind::ALL.len());
}

#[test]
fn unknown_message_type_names_the_type_and_the_known_ones() {
    let bytes = strike_with("\"strike_warning\"", "\"nuclear_strike\"");
    match Message::from_json(&bytes) {
        Err(ParseError::UnknownType {
            tag, line, known, ..
        }) => {
            assert_eq!(tag, "nuclear_strike");
            assert_eq!(line, 8);
            assert!(known.contains("strike_warning") && known.contains("free_text"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_field_names_the_field_and_where() {
    let bytes = strike_with("\"activity\": \"strike\",", "");
    let (path, line, _, reason) = invalid(&bytes);
    assert_eq!(path, "body");
    assert!(reason.contains("missing field `activity`"), "{reason}");
    assert_eq!(line, 18);
}

#[test]
fn out_of_range_values_name_the_field() {
    // Inside the body (an internally tagged enum, which serde buffers) the path stops at
    // `body` and the position is the body's end; the reason names the field's value and range.
    let (path, line, _, reason) = invalid(&strike_with("35333611", "200000000"));
    assert_eq!(path, "body");
    assert_eq!(line, 18);
    assert!(
        reason.contains("latitude (µ°) 200000000 is outside -90000000..=90000000"),
        "{reason}"
    );
    let (path, _, _, reason) = invalid(&strike_with(
        "\"upper_mm\": 7620000",
        "\"upper_mm\": 4572000",
    ));
    assert_eq!(path, "body");
    assert!(reason.contains("not below upper"), "{reason}");
    let (path, _, _, reason) = invalid(&strike_with("3704000", "0"));
    assert_eq!(path, "body");
    assert!(reason.contains("radius"), "{reason}");
    let (path, _, _, _) = invalid(&strike_with("1491989400000", "-5"));
    assert_eq!(path, "sent_at_ms");
    let (path, _, _, reason) = invalid(&strike_with("35333611", "35.5"));
    assert_eq!(path, "body");
    assert!(
        reason.contains("floating point") || reason.contains("invalid type"),
        "{reason}"
    );
}

#[test]
fn envelope_errors() {
    let (path, _, _, reason) = invalid(&strike_with("\"to\": \"russia\"", "\"to\": \"coalition\""));
    assert_eq!(path, ".");
    assert!(reason.contains("to itself"), "{reason}");
    let (_, _, _, reason) = invalid(&strike_with("\"id\": \"N-7\"", "\"id\": \"N 7\""));
    assert!(reason.contains("' '"), "{reason}");
    let (path, _, _, reason) = invalid(&strike_with("\"activity\"", "\"colour\": 1, \"activity\""));
    assert_eq!(path, "body");
    assert!(reason.contains("unknown field `colour`"), "{reason}");
    // Alert subject must match the alert id in the body.
    let m = sample(MessageKind::ConflictAlert);
    let text = String::from_utf8(m.canonical_json())
        .unwrap()
        .replace(r#""subject":{"id":"A-1""#, r#""subject":{"id":"A-2""#);
    let (_, _, _, reason) = invalid(text.as_bytes());
    assert!(reason.contains("does not match"), "{reason}");
    let mut trailing = STRIKE.to_vec();
    trailing.extend_from_slice(b" {}");
    let (_, _, _, reason) = invalid(&trailing);
    assert!(reason.contains("trailing"), "{reason}");
    assert_eq!(
        Message::from_json(&vec![b' '; MESSAGE_BYTES_MAX + 1]),
        Err(ParseError::TooLarge {
            len: MESSAGE_BYTES_MAX + 1
        })
    );
}

#[test]
fn conversation_file_threads_by_subject_and_reports_the_bad_element() {
    let Document::Conversation(list) = parse_document(CONVERSATION).unwrap() else {
        panic!("array is a conversation")
    };
    assert_eq!(list.len(), 5);
    let text = render_conversation(&reader("en", "+03:00", CoordFormat::Decimal), &list);
    assert!(
        text.starts_with("Conversation on alert A-1: 4 messages\n"),
        "{text}"
    );
    assert!(
        text.contains("\nConversation on shift-handover: 1 message\n"),
        "{text}"
    );
    assert!(text.contains("REPLY to message M-102: ACCEPTED."), "{text}");
    // 25 000 ft and 29 000 ft.
    assert!(
        text.contains("from 25000 ft (7620 m) to 29000 ft (8839 m)"),
        "{text}"
    );
    let ru = render_conversation(&reader("ru", "+03:00", CoordFormat::Dms), &list);
    assert!(
        ru.starts_with("Переписка: оповещение A-1, 4 сообщения\n"),
        "{ru}"
    );
    assert!(
        ru.contains("Переписка: shift-handover, 1 сообщение\n"),
        "{ru}"
    );
    assert!(
        ru.contains("язык оригинала: ru): Смена передана майору Иванову."),
        "{ru}"
    );

    let bad = std::str::from_utf8(CONVERSATION)
        .unwrap()
        .replace("\"time_to_los_ms\": 95000", "\"time_to_los_ms\": -1");
    match parse_document(bad.as_bytes()) {
        Err(ParseError::Invalid {
            path, line, reason, ..
        }) => {
            assert_eq!(path, "[0].body");
            assert_eq!(line, 11);
            assert!(reason.contains("duration (ms) -1 is outside"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let many = format!("[{}]", vec!["{}"; CONVERSATION_MESSAGES_MAX + 1].join(","));
    assert!(parse_document(many.as_bytes()).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any bytes: an error or a message, never a panic; a message renders in every language
    /// and its canonical form parses back to it.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(m) = Message::from_json(&bytes) {
            prop_assert_eq!(Message::from_canonical_json(&m.canonical_json()).unwrap(), m);
        }
        let _ = parse_document(&bytes);
    }

    /// Every strict prefix of a valid message is an error, not a panic or a partial message.
    #[test]
    fn truncated_messages_are_errors(cut in 0usize..STRIKE_CANONICAL.len()) {
        prop_assert!(Message::from_json(&STRIKE_CANONICAL.as_bytes()[..cut]).is_err());
    }

    /// One byte changed anywhere: never a panic; if still a message, it is self-consistent.
    #[test]
    fn mutated_messages_never_panic(pos in 0usize..STRIKE.len(), byte in any::<u8>()) {
        let mut bytes = STRIKE.to_vec();
        bytes[pos] = byte;
        if let Ok(m) = Message::from_json(&bytes) {
            let c = m.canonical_json();
            prop_assert_eq!(Message::from_canonical_json(&c).unwrap(), m);
        }
    }

    /// Random valid figures survive the canonical round trip exactly.
    #[test]
    fn random_strike_warnings_round_trip(
        lat in -90_000_000i64..=90_000_000,
        lon in -180_000_000i64..=180_000_000,
        radius_mm in 1i64..=500_000_000,
        lower_ft in -3_000i64..50_000,
        thickness_ft in 1i64..20_000,
        start_ms in 0i64..4_000_000_000_000,
        len_ms in 1i64..=604_800_000,
    ) {
        let centre = Position {
            lat_udeg: Latitude::from_udeg(lat).unwrap(),
            lon_udeg: Longitude::from_udeg(lon).unwrap(),
        };
        let start = Timestamp::from_unix_ms(start_ms).unwrap();
        let body = Body::StrikeWarning {
            activity: Activity::Activity,
            area: Area::circle(centre, Distance::from_mm(radius_mm).unwrap()).unwrap(),
            altitude_block: AltitudeBlock::from_ft(lower_ft, lower_ft + thickness_ft).unwrap(),
            window: TimeWindow::new(start, Timestamp::from_unix_ms(start_ms + len_ms).unwrap()).unwrap(),
        };
        let m = Message::new(
            mid("R"), party("a"), party("b"), start,
            Subject::new(SubjectKind::General, sid("g")), body,
        ).unwrap();
        prop_assert_eq!(Message::from_canonical_json(&m.canonical_json()).unwrap(), m);
    }
}
