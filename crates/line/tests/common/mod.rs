//! Sample messages, one per kind, with figures whose renderings are worked out by hand in
//! the tests (not produced by the code under test).

#![allow(dead_code)]

use deconflict_line::*;

/// 2017-04-12 00:00:00 UTC.
pub const DAY_MS: i64 = 1_491_955_200_000;

pub fn at(h: i64, m: i64, s: i64) -> Timestamp {
    Timestamp::from_unix_ms(DAY_MS + ((h * 60 + m) * 60 + s) * 1000).unwrap()
}
pub fn party(s: &str) -> PartyId {
    PartyId::new(s).unwrap()
}
pub fn mid(s: &str) -> MessageId {
    MessageId::new(s).unwrap()
}
pub fn officer(s: &str) -> OfficerName {
    OfficerName::new(s).unwrap()
}
pub fn sid(s: &str) -> SubjectId {
    SubjectId::new(s).unwrap()
}
pub fn track(p: &str, t: &str) -> TrackRef {
    TrackRef {
        party: party(p),
        track: TrackId::new(t).unwrap(),
    }
}
/// 35.333611° N 40.140833° E (Deir ez-Zor).
pub fn deir() -> Position {
    Position::from_deg(35.333_611, 40.140_833).unwrap()
}
pub fn block() -> AltitudeBlock {
    AltitudeBlock::from_ft(15_000, 25_000).unwrap()
}
pub fn window() -> TimeWindow {
    TimeWindow::new(at(9, 30, 0), at(11, 0, 0)).unwrap()
}

pub fn body(kind: MessageKind) -> (Subject, Body) {
    let alert = Subject::new(SubjectKind::Alert, sid("A-1"));
    match kind {
        MessageKind::LinkTest => (
            Subject::new(SubjectKind::LinkTest, sid("lt-1")),
            Body::LinkTest {
                scheduled_at_ms: at(6, 0, 0),
            },
        ),
        MessageKind::NotificationOfOperations => (
            Subject::new(SubjectKind::Notification, sid("N-7")),
            Body::NotificationOfOperations {
                notification_id: sid("N-7"),
                area: Area::circle(deir(), Distance::from_nm(5.0).unwrap()).unwrap(),
                altitude_block: block(),
                window: window(),
                callsigns: vec![TrackId::new("VIPER11").unwrap()],
            },
        ),
        MessageKind::StrikeWarning => (
            Subject::new(SubjectKind::Notification, sid("N-7")),
            Body::StrikeWarning {
                activity: Activity::Strike,
                area: Area::circle(deir(), Distance::from_nm(5.0).unwrap()).unwrap(),
                altitude_block: block(),
                window: window(),
            },
        ),
        MessageKind::ConflictAlert => (
            alert,
            Body::ConflictAlert(
                ConflictAlert::from_engine(
                    sid("A-1"),
                    AlertLevel::new(2).unwrap(),
                    track("coalition", "CLT-7"),
                    track("russia", "RUS-31"),
                    95.0,
                    926.0,
                    91.44,
                )
                .unwrap(),
            ),
        ),
        MessageKind::RequestToAlter => (
            alert,
            Body::RequestToAlter {
                regarding: mid("M-1"),
                proposal: Alteration::AltitudeBlock {
                    altitude_block: AltitudeBlock::from_ft(27_000, 31_000).unwrap(),
                },
            },
        ),
        MessageKind::Reply => (
            alert,
            Body::Reply {
                in_reply_to: mid("M-2"),
                answer: Decision::Counter {
                    proposal: Alteration::TimeWindow {
                        window: TimeWindow::new(at(10, 0, 0), at(10, 45, 0)).unwrap(),
                    },
                },
            },
        ),
        MessageKind::IncidentReport => (
            Subject::new(SubjectKind::Incident, sid("I-3")),
            Body::IncidentReport {
                incident_id: sid("I-3"),
                at_ms: at(14, 5, 30),
                position: deir(),
                track_a: track("coalition", "CLT-9"),
                track_b: track("russia", "RUS-4"),
                closest_horizontal_mm: Distance::from_ft(500).unwrap(),
                closest_vertical_mm: Distance::from_ft(200).unwrap(),
            },
        ),
        MessageKind::InvestigationRequest => (
            Subject::new(SubjectKind::Incident, sid("I-3")),
            Body::InvestigationRequest {
                incident_id: sid("I-3"),
                reply_by_ms: at(23, 0, 0),
            },
        ),
        MessageKind::Acknowledgement => (
            alert,
            Body::Acknowledgement {
                of: mid("M-1"),
                officer: officer("подполковник Петров"),
            },
        ),
        MessageKind::FreeText => (
            alert,
            Body::FreeText {
                written_in: LangTag::new("ru").unwrap(),
                text: Text::new("Борт RUS-31 набирает эшелон 280.").unwrap(),
            },
        ),
    }
}

pub fn sample(kind: MessageKind) -> Message {
    let (subject, body) = body(kind);
    Message::new(
        mid(&format!("M-{}", kind.tag())),
        party("coalition"),
        party("russia"),
        at(9, 30, 0),
        subject,
        body,
    )
    .unwrap()
}

pub fn reader(lang: &str, offset: &str, coords: CoordFormat) -> ReaderProfile {
    ReaderProfile::new(
        Language::parse(lang).unwrap(),
        UtcOffset::parse(offset).unwrap(),
        coords,
    )
}
