//! The line's JSON documents on the wire: requests, answers and views. Times are UNIX
//! milliseconds; a message travels in its catalogue JSON form (`deconflict_line::Message`),
//! exactly the bytes its author signed into the record.

use deconflict_line::Message;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/line/messages`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineSend {
    /// The message in its catalogue JSON form; `from` must be the caller.
    #[schema(value_type = Object)]
    pub message: Message,
    /// Base64 Ed25519 signature by the caller of the log entry that
    /// `crate::line::log_entry_for_message` builds from the message.
    pub entry_signature: String,
}

/// The answer to a send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineAccepted {
    pub message_id: String,
    /// When the line received the message (the service's clock).
    pub accepted_unix_ms: i64,
    /// The first acknowledgement deadline, when the message's kind needs one.
    pub deadline_unix_ms: Option<i64>,
    /// The identical message was accepted before (a retry): nothing changed.
    pub duplicate: bool,
}

/// `POST /v1/line/messages/{id}/ack`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineAck {
    /// A duty officer on the caller's roster (a contact, or the party's command).
    pub officer: String,
    /// When the officer acknowledged, by the caller's clock (the log entry's time).
    pub time_unix_ms: i64,
    /// Base64 Ed25519 signature by the caller of the log entry that
    /// `crate::line::log_entry_for_ack` builds.
    pub entry_signature: String,
}

/// The answer to an acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineAckResult {
    pub message_id: String,
    /// When the acknowledgement took effect on the line (the service's clock).
    pub acknowledged_unix_ms: i64,
    /// At or after the first deadline.
    pub late: bool,
    /// How many times the message had escalated before it was acknowledged.
    pub escalations: u32,
    /// The same officer's acknowledgement was accepted before: counted once.
    pub duplicate: bool,
}

/// Who acknowledged a message, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckView {
    pub officer: String,
    pub at_unix_ms: i64,
    pub late: bool,
}

/// One escalation step: the message passed to `to` at `at_unix_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationView {
    pub to: String,
    pub at_unix_ms: i64,
}

/// A message on the line and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineMessageView {
    #[schema(value_type = Object)]
    pub message: Message,
    /// The message type (`strike_warning`, `conflict_alert`, …).
    pub kind: String,
    pub from: String,
    pub to: String,
    /// The sender's time on the message.
    pub sent_unix_ms: i64,
    /// The first acknowledgement deadline (acknowledged before it is "in time").
    pub deadline_unix_ms: Option<i64>,
    pub acknowledged: Option<AckView>,
    /// The officer of the recipient now responsible, while unacknowledged.
    pub holder: Option<String>,
    /// When the current holder must have acknowledged: the first deadline, then after each
    /// escalation the new holder's own; absent once acknowledged or unanswered.
    #[serde(default)]
    pub holder_deadline_unix_ms: Option<i64>,
    /// 0 = the first contact; each escalation adds one.
    pub level: u32,
    pub escalations: Vec<EscalationView>,
    /// When the first deadline passed without acknowledgement.
    pub overdue_unix_ms: Option<i64>,
}

/// `GET /v1/line/pending`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinePending {
    /// Addressed to the caller, awaiting its acknowledgement.
    pub to_acknowledge: Vec<LineMessageView>,
    /// Sent by the caller, awaiting the recipient's acknowledgement.
    pub awaiting_others: Vec<LineMessageView>,
    /// Overdue and unacknowledged, sent or received by the caller: both sides see them.
    pub overdue: Vec<LineMessageView>,
}

/// One conversation (a thread on one subject) the caller takes part in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationSummary {
    /// `alert`, `notification`, `incident`, `link_test` or `general`.
    pub subject_kind: String,
    pub subject_id: String,
    /// Messages in it the caller may read.
    pub messages: usize,
    /// When the line received the latest of them.
    pub last_unix_ms: i64,
}

/// One conversation, with its text rendered for the reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationView {
    pub subject_kind: String,
    pub subject_id: String,
    /// The language of `text` (`en`, `ru`).
    pub lang: String,
    pub messages: Vec<LineMessageView>,
    /// The whole conversation in the reader's language, time zone and coordinate style.
    pub text: String,
}
