//! The message catalogue: one typed structure per message kind, the envelope around it, and
//! its canonical JSON form (RFC 8785, integers and strings only) — the bytes that are stored
//! and signed. Renderings are derived from these structures and never stored.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{MessageId, OfficerName, PartyId, SubjectId, Text, TrackId};
use crate::units::{
    Altitude, AltitudeBlock, Area, Direction, Distance, Position, RangeError, Span, TimeWindow,
    Timestamp,
};

/// Largest JSON document accepted for one message, bytes.
pub const MESSAGE_BYTES_MAX: usize = 64 * 1024;
/// Callsigns one notification may list.
pub const CALLSIGNS_MAX: usize = 16;

/// What a conversation threads on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Alert,
    Notification,
    Incident,
    LinkTest,
    General,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 5] = [
        SubjectKind::Alert,
        SubjectKind::Notification,
        SubjectKind::Incident,
        SubjectKind::LinkTest,
        SubjectKind::General,
    ];

    /// The JSON name (`link_test`), as the wire and the command line spell it.
    pub fn tag(self) -> &'static str {
        match self {
            SubjectKind::Alert => "alert",
            SubjectKind::Notification => "notification",
            SubjectKind::Incident => "incident",
            SubjectKind::LinkTest => "link_test",
            SubjectKind::General => "general",
        }
    }
}

/// The thread a message belongs to (`{"kind":"alert","id":"A-17"}`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    pub kind: SubjectKind,
    pub id: SubjectId,
}

impl Subject {
    pub fn new(kind: SubjectKind, id: SubjectId) -> Self {
        Subject { kind, id }
    }
}

/// One aircraft in a conflict or incident, as its owning party names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackRef {
    pub party: PartyId,
    pub track: TrackId,
}

/// What a strike/activity warning announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    Strike,
    Activity,
}

/// Alert level, 1 (least urgent) ..= 3 (most), in the manner of DO-365 well-clear alerting
/// (preventive, corrective, warning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct AlertLevel(u8);

impl AlertLevel {
    pub fn new(level: u8) -> Result<Self, RangeError> {
        if (1..=3).contains(&level) {
            Ok(AlertLevel(level))
        } else {
            Err(RangeError::OutOfRange {
                what: "alert level",
                value: i64::from(level),
                min: 1,
                max: 3,
            })
        }
    }
    pub fn get(self) -> u8 {
        self.0
    }
}
impl TryFrom<i64> for AlertLevel {
    type Error = RangeError;
    fn try_from(v: i64) -> Result<Self, RangeError> {
        u8::try_from(v)
            .map_err(|_| RangeError::OutOfRange {
                what: "alert level",
                value: v,
                min: 1,
                max: 3,
            })
            .and_then(AlertLevel::new)
    }
}
impl From<AlertLevel> for i64 {
    fn from(l: AlertLevel) -> i64 {
        i64::from(l.0)
    }
}

/// A conflict alert's figures, built from the engine's alert by the service (which owns the
/// engine types): the two tracks, time to loss of separation and the predicted closest approach.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConflictAlert {
    pub alert_id: SubjectId,
    pub level: AlertLevel,
    pub track_a: TrackRef,
    pub track_b: TrackRef,
    pub time_to_los_ms: Span,
    pub cpa_horizontal_mm: Distance,
    pub cpa_vertical_mm: Distance,
    /// Coordinated advice (corrective level and above): the recipient's manoeuvre and the
    /// other aircraft's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advice: Option<Box<Advice>>,
}

/// Vertical sense of a suggested manoeuvre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerticalSense {
    Climb,
    Descend,
}

/// Turn sense of a suggested manoeuvre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnSense {
    Right,
    Left,
}

/// A suggested manoeuvre for one aircraft: a vertical sense and a turn, each with the value to
/// reach when the guidance bands give one (and the agreement lets it be said).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manoeuvre {
    pub track: TrackRef,
    pub vertical: VerticalSense,
    /// Climb to this altitude or above, descend to it or below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub altitude_mm: Option<Altitude>,
    pub turn: TurnSense,
    /// Turn right to this direction or more, left to it or less.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction_mdeg: Option<Direction>,
}

/// Coordinated advice on a conflict: complementary manoeuvres (one climbs, the other descends;
/// neither turns towards the other).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advice {
    /// The recipient's aircraft.
    pub own: Manoeuvre,
    /// The other party's aircraft.
    pub other: Manoeuvre,
}

impl ConflictAlert {
    /// From the engine's floating-point figures (seconds, metres), checked and rounded once here.
    pub fn from_engine(
        alert_id: SubjectId,
        level: AlertLevel,
        track_a: TrackRef,
        track_b: TrackRef,
        time_to_los_s: f64,
        cpa_horizontal_m: f64,
        cpa_vertical_m: f64,
    ) -> Result<Self, RangeError> {
        Ok(ConflictAlert {
            alert_id,
            level,
            track_a,
            track_b,
            time_to_los_ms: Span::from_s(time_to_los_s)?,
            cpa_horizontal_mm: Distance::from_m(cpa_horizontal_m)?,
            cpa_vertical_mm: Distance::from_m(cpa_vertical_m.abs())?,
            advice: None,
        })
    }

    /// The same alert with coordinated advice for its recipient.
    pub fn with_advice(self, advice: Advice) -> Self {
        ConflictAlert {
            advice: Some(Box::new(advice)),
            ..self
        }
    }
}

/// A proposed change to an operation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case", deny_unknown_fields)]
pub enum Alteration {
    AltitudeBlock { altitude_block: AltitudeBlock },
    TimeWindow { window: TimeWindow },
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
pub enum Decision {
    Accept,
    Reject,
    Counter { proposal: Alteration },
}

/// A free-text language tag (BCP 47 shape: letters, digits, hyphens, 2..=16 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LangTag(String);

impl LangTag {
    pub fn new(s: impl Into<String>) -> Result<Self, RangeError> {
        let s = s.into();
        if !(2..=16).contains(&s.len()) || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(RangeError::Invalid(format!(
                "language tag {s:?} is not like \"en\" or \"ru\""
            )));
        }
        Ok(LangTag(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for LangTag {
    type Error = RangeError;
    fn try_from(s: String) -> Result<Self, RangeError> {
        LangTag::new(s)
    }
}
impl From<LangTag> for String {
    fn from(v: LangTag) -> String {
        v.0
    }
}

/// The typed content of a message, one variant per kind. The JSON tag is `type`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Body {
    /// A scheduled check that the line is answered.
    LinkTest { scheduled_at_ms: Timestamp },
    /// Where and when the sender will operate (never targets), referencing its notification.
    NotificationOfOperations {
        notification_id: SubjectId,
        area: Area,
        altitude_block: AltitudeBlock,
        window: TimeWindow,
        callsigns: Vec<TrackId>,
    },
    /// A strike or other activity about to take place.
    StrikeWarning {
        activity: Activity,
        area: Area,
        altitude_block: AltitudeBlock,
        window: TimeWindow,
    },
    /// A predicted loss of separation between aircraft of two parties.
    ConflictAlert(ConflictAlert),
    /// Asks the receiver to change an operation announced in `regarding`.
    RequestToAlter {
        regarding: MessageId,
        proposal: Alteration,
    },
    /// Answers a request.
    Reply {
        in_reply_to: MessageId,
        answer: Decision,
    },
    /// A loss of separation that happened, as the sender measured it.
    IncidentReport {
        incident_id: SubjectId,
        at_ms: Timestamp,
        position: Position,
        track_a: TrackRef,
        track_b: TrackRef,
        closest_horizontal_mm: Distance,
        closest_vertical_mm: Distance,
    },
    /// Asks the receiver to investigate an incident and answer by a date.
    InvestigationRequest {
        incident_id: SubjectId,
        reply_by_ms: Timestamp,
    },
    /// A named duty officer of the receiving party acknowledges a message.
    Acknowledgement { of: MessageId, officer: OfficerName },
    /// Text as written, in the language it was written in: never translated.
    FreeText { written_in: LangTag, text: Text },
}

/// The message kinds, in catalogue order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    LinkTest,
    NotificationOfOperations,
    StrikeWarning,
    ConflictAlert,
    RequestToAlter,
    Reply,
    IncidentReport,
    InvestigationRequest,
    Acknowledgement,
    FreeText,
}

impl MessageKind {
    pub const ALL: [MessageKind; 10] = [
        MessageKind::LinkTest,
        MessageKind::NotificationOfOperations,
        MessageKind::StrikeWarning,
        MessageKind::ConflictAlert,
        MessageKind::RequestToAlter,
        MessageKind::Reply,
        MessageKind::IncidentReport,
        MessageKind::InvestigationRequest,
        MessageKind::Acknowledgement,
        MessageKind::FreeText,
    ];

    /// The JSON `type` tag.
    pub fn tag(self) -> &'static str {
        match self {
            MessageKind::LinkTest => "link_test",
            MessageKind::NotificationOfOperations => "notification_of_operations",
            MessageKind::StrikeWarning => "strike_warning",
            MessageKind::ConflictAlert => "conflict_alert",
            MessageKind::RequestToAlter => "request_to_alter",
            MessageKind::Reply => "reply",
            MessageKind::IncidentReport => "incident_report",
            MessageKind::InvestigationRequest => "investigation_request",
            MessageKind::Acknowledgement => "acknowledgement",
            MessageKind::FreeText => "free_text",
        }
    }

    pub fn from_tag(tag: &str) -> Option<MessageKind> {
        MessageKind::ALL.into_iter().find(|k| k.tag() == tag)
    }

    /// The kind an agreement's `ack_deadline_s` key names: its short name (`request`,
    /// `notification`, `incident`, `investigation`) or the catalogue tag.
    pub fn from_agreement_name(name: &str) -> Option<MessageKind> {
        match name {
            "request" => Some(MessageKind::RequestToAlter),
            "notification" => Some(MessageKind::NotificationOfOperations),
            "incident" => Some(MessageKind::IncidentReport),
            "investigation" => Some(MessageKind::InvestigationRequest),
            other => MessageKind::from_tag(other),
        }
    }

    /// The body's fields (JSON names) with what each means, for `deconflict line catalogue`.
    pub fn fields(self) -> &'static [(&'static str, &'static str)] {
        const AREA: (&str, &str) = (
            "area",
            "{shape: circle, centre {lat_udeg, lon_udeg}, radius_mm} or {shape: polygon, vertices [...]}",
        );
        const BLOCK: (&str, &str) = (
            "altitude_block",
            "{lower_mm, upper_mm} above mean sea level",
        );
        const WINDOW: (&str, &str) = ("window", "{start_ms, end_ms} since 1970-01-01 UTC");
        match self {
            MessageKind::LinkTest => &[("scheduled_at_ms", "when the test was scheduled")],
            MessageKind::NotificationOfOperations => &[
                ("notification_id", "the notification this message announces"),
                AREA,
                BLOCK,
                WINDOW,
                ("callsigns", "callsigns taking part (may be empty)"),
            ],
            MessageKind::StrikeWarning => &[("activity", "strike | activity"), AREA, BLOCK, WINDOW],
            MessageKind::ConflictAlert => &[
                ("alert_id", "the engine's alert"),
                ("level", "1..=3, 3 most urgent"),
                ("track_a", "{party, track}"),
                ("track_b", "{party, track}"),
                ("time_to_los_ms", "time to predicted loss of separation"),
                (
                    "cpa_horizontal_mm",
                    "predicted closest approach, horizontal",
                ),
                ("cpa_vertical_mm", "predicted closest approach, vertical"),
                (
                    "advice",
                    "optional, corrective level and above: {own, other}, each {track {party, track}, vertical: climb | descend, altitude_mm?, turn: right | left, direction_mdeg?}",
                ),
            ],
            MessageKind::RequestToAlter => &[
                ("regarding", "message id of the operation to change"),
                (
                    "proposal",
                    "{change: altitude_block, altitude_block} or {change: time_window, window}",
                ),
            ],
            MessageKind::Reply => &[
                ("in_reply_to", "message id of the request"),
                (
                    "answer",
                    "{decision: accept | reject} or {decision: counter, proposal}",
                ),
            ],
            MessageKind::IncidentReport => &[
                ("incident_id", "the incident"),
                ("at_ms", "when it happened"),
                ("position", "{lat_udeg, lon_udeg}"),
                ("track_a", "{party, track}"),
                ("track_b", "{party, track}"),
                (
                    "closest_horizontal_mm",
                    "closest approach measured, horizontal",
                ),
                ("closest_vertical_mm", "closest approach measured, vertical"),
            ],
            MessageKind::InvestigationRequest => &[
                ("incident_id", "the incident"),
                ("reply_by_ms", "answer expected by"),
            ],
            MessageKind::Acknowledgement => &[
                ("of", "message id acknowledged"),
                ("officer", "duty officer of the receiving party"),
            ],
            MessageKind::FreeText => &[
                ("written_in", "language tag of the text (never translated)"),
                ("text", "the text, at most 4096 bytes"),
            ],
        }
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

impl Body {
    pub fn kind(&self) -> MessageKind {
        match self {
            Body::LinkTest { .. } => MessageKind::LinkTest,
            Body::NotificationOfOperations { .. } => MessageKind::NotificationOfOperations,
            Body::StrikeWarning { .. } => MessageKind::StrikeWarning,
            Body::ConflictAlert(_) => MessageKind::ConflictAlert,
            Body::RequestToAlter { .. } => MessageKind::RequestToAlter,
            Body::Reply { .. } => MessageKind::Reply,
            Body::IncidentReport { .. } => MessageKind::IncidentReport,
            Body::InvestigationRequest { .. } => MessageKind::InvestigationRequest,
            Body::Acknowledgement { .. } => MessageKind::Acknowledgement,
            Body::FreeText { .. } => MessageKind::FreeText,
        }
    }

    /// The subject a body fixes by itself, if any: a message about alert A-1 threads on A-1.
    fn implied_subject(&self) -> Option<Subject> {
        let s = |kind, id: &SubjectId| Some(Subject::new(kind, id.clone()));
        match self {
            Body::NotificationOfOperations {
                notification_id, ..
            } => s(SubjectKind::Notification, notification_id),
            Body::ConflictAlert(a) => s(SubjectKind::Alert, &a.alert_id),
            Body::IncidentReport { incident_id, .. }
            | Body::InvestigationRequest { incident_id, .. } => {
                s(SubjectKind::Incident, incident_id)
            }
            _ => None,
        }
    }
}

/// One message on the line: the envelope and its typed body. Fields are private so that every
/// `Message` in memory has passed [`Message::new`]'s checks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawMessage", into = "RawMessage")]
pub struct Message {
    id: MessageId,
    from: PartyId,
    to: PartyId,
    sent_at: Timestamp,
    subject: Subject,
    body: Body,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMessage {
    id: MessageId,
    from: PartyId,
    to: PartyId,
    sent_at_ms: Timestamp,
    subject: Subject,
    body: Body,
}

/// A message whose fields are each valid but do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    #[error("message {id} is addressed by {party} to itself")]
    SelfAddressed { id: MessageId, party: PartyId },
    #[error("message {id}: subject {got:?} {got_id} does not match the body's {want:?} {want_id}")]
    SubjectMismatch {
        id: MessageId,
        got: SubjectKind,
        got_id: SubjectId,
        want: SubjectKind,
        want_id: SubjectId,
    },
    #[error("message {id}: {count} callsigns, at most {CALLSIGNS_MAX}")]
    TooManyCallsigns { id: MessageId, count: usize },
    #[error("message {id}: a track cannot conflict with itself ({party}/{track})")]
    SameTrack {
        id: MessageId,
        party: PartyId,
        track: TrackId,
    },
}

impl Message {
    pub fn new(
        id: MessageId,
        from: PartyId,
        to: PartyId,
        sent_at: Timestamp,
        subject: Subject,
        body: Body,
    ) -> Result<Self, MessageError> {
        if from == to {
            return Err(MessageError::SelfAddressed { id, party: from });
        }
        if let Some(want) = body.implied_subject()
            && want != subject
        {
            return Err(MessageError::SubjectMismatch {
                id,
                got: subject.kind,
                got_id: subject.id,
                want: want.kind,
                want_id: want.id,
            });
        }
        match &body {
            Body::NotificationOfOperations { callsigns, .. } if callsigns.len() > CALLSIGNS_MAX => {
                return Err(MessageError::TooManyCallsigns {
                    id,
                    count: callsigns.len(),
                });
            }
            Body::ConflictAlert(ConflictAlert {
                track_a, track_b, ..
            })
            | Body::IncidentReport {
                track_a, track_b, ..
            } if track_a == track_b => {
                return Err(MessageError::SameTrack {
                    id,
                    party: track_a.party.clone(),
                    track: track_a.track.clone(),
                });
            }
            _ => {}
        }
        Ok(Message {
            id,
            from,
            to,
            sent_at,
            subject,
            body,
        })
    }
    pub fn id(&self) -> &MessageId {
        &self.id
    }
    pub fn from(&self) -> &PartyId {
        &self.from
    }
    pub fn to(&self) -> &PartyId {
        &self.to
    }
    pub fn sent_at(&self) -> Timestamp {
        self.sent_at
    }
    pub fn subject(&self) -> &Subject {
        &self.subject
    }
    pub fn body(&self) -> &Body {
        &self.body
    }
    pub fn kind(&self) -> MessageKind {
        self.body.kind()
    }

    /// RFC 8785 canonical JSON: the bytes to store and sign.
    pub fn canonical_json(&self) -> Vec<u8> {
        // Every field is an integer or a string, so canonicalisation cannot fail.
        serde_json_canonicalizer::to_vec(self).expect("message has no floats or non-string keys")
    }

    /// Parses one message from JSON, checking every field. Errors name the field path, line
    /// and column.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ParseError> {
        parse_json(bytes)
    }

    /// Parses and additionally requires the bytes to be exactly the canonical form, as a
    /// signed record must be (so two byte strings never carry one signed meaning).
    pub fn from_canonical_json(bytes: &[u8]) -> Result<Self, ParseError> {
        let m = parse_json::<Message>(bytes)?;
        if m.canonical_json() != bytes {
            return Err(ParseError::NotCanonical);
        }
        Ok(m)
    }
}

impl TryFrom<RawMessage> for Message {
    type Error = MessageError;
    fn try_from(r: RawMessage) -> Result<Self, MessageError> {
        Message::new(r.id, r.from, r.to, r.sent_at_ms, r.subject, r.body)
    }
}
impl From<Message> for RawMessage {
    fn from(m: Message) -> RawMessage {
        RawMessage {
            id: m.id,
            from: m.from,
            to: m.to,
            sent_at_ms: m.sent_at,
            subject: m.subject,
            body: m.body,
        }
    }
}

/// Why bytes are not a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    #[error("input is {len} bytes, at most {MESSAGE_BYTES_MAX}")]
    TooLarge { len: usize },
    #[error("unknown message type {tag:?} at line {line}, column {column}; known: {known}")]
    UnknownType {
        tag: String,
        line: usize,
        column: usize,
        known: String,
    },
    #[error("at {path} (line {line}, column {column}): {reason}")]
    Invalid {
        path: String,
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("bytes are a valid message but not its canonical form (RFC 8785)")]
    NotCanonical,
}

/// Parses any catalogue JSON document (a message, a list of messages) with a path-carrying
/// error. Shared by the CLI's conversation files.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ParseError> {
    parse_json_limited(bytes, MESSAGE_BYTES_MAX)
}

pub(crate) fn parse_json_limited<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    bytes_max: usize,
) -> Result<T, ParseError> {
    if bytes.len() > bytes_max {
        return Err(ParseError::TooLarge { len: bytes.len() });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = match result {
        Ok(v) => v,
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let reason = inner.to_string();
            // serde's message for an unknown enum tag: "unknown variant `x`, expected one of …".
            if let Some(tag) = reason
                .strip_prefix("unknown variant `")
                .and_then(|r| r.split('`').next())
                && reason.contains("`link_test`")
            {
                return Err(ParseError::UnknownType {
                    tag: tag.to_string(),
                    line: inner.line(),
                    column: inner.column(),
                    known: MessageKind::ALL.map(MessageKind::tag).join(", "),
                });
            }
            let reason = match reason.rfind(" at line ") {
                Some(i) => reason[..i].to_string(),
                None => reason,
            };
            return Err(ParseError::Invalid {
                path,
                line: inner.line(),
                column: inner.column(),
                reason,
            });
        }
    };
    // Trailing garbage after the document is an error too.
    de.end().map_err(|e| ParseError::Invalid {
        path: ".".into(),
        line: e.line(),
        column: e.column(),
        reason: "trailing characters after the JSON document".into(),
    })?;
    Ok(value)
}

/// Largest conversation file accepted, bytes.
pub const CONVERSATION_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Messages one conversation file may hold.
pub const CONVERSATION_MESSAGES_MAX: usize = 10_000;

/// A stored document: one message, or a conversation (a JSON array of messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    Message(Box<Message>),
    Conversation(Vec<Message>),
}

/// Parses a stored message (`{…}`) or conversation (`[{…}, …]`); errors name the path
/// (`[3].body.area.radius_mm`), line and column.
pub fn parse_document(bytes: &[u8]) -> Result<Document, ParseError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        let list: Vec<Message> = parse_json_limited(bytes, CONVERSATION_BYTES_MAX)?;
        if list.len() > CONVERSATION_MESSAGES_MAX {
            return Err(ParseError::Invalid {
                path: ".".into(),
                line: 1,
                column: 1,
                reason: format!(
                    "{} messages, at most {CONVERSATION_MESSAGES_MAX}",
                    list.len()
                ),
            });
        }
        Ok(Document::Conversation(list))
    } else {
        parse_json(bytes).map(|m| Document::Message(Box::new(m)))
    }
}

/// The catalogue as JSON: `[{"type": …, "fields": [{"name": …, "meaning": …}]}]`.
pub fn catalogue_json() -> String {
    let list: Vec<serde_json::Value> = MessageKind::ALL
        .iter()
        .map(|k| {
            let fields: Vec<serde_json::Value> = k
                .fields()
                .iter()
                .map(|(name, meaning)| serde_json::json!({"name": name, "meaning": meaning}))
                .collect();
            serde_json::json!({"type": k.tag(), "fields": fields})
        })
        .collect();
    serde_json::to_string_pretty(&list).expect("strings only")
}
