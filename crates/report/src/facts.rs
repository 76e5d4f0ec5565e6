//! The facts a report counts, taken from a verified export's entries.
//!
//! The export is verified by `deconflict-log` first (structure, Merkle tree, every entry
//! signature, with the caller's pinned keys when given); only then are its entry lines read
//! (again with the log's own [`SignedEntry::from_bytes`]) and reduced to the few facts the
//! figures need. Entries of kinds no figure uses are counted and otherwise left alone.

use std::collections::BTreeMap;

use deconflict_log::export::{ExportLineKind, parse_header};
use deconflict_log::{
    EntryBody, FieldValue, Fields, KeyId, SignedEntry, SignedTreeHead, VerifyOptions, verify_export,
};

use crate::{EXPORT_BYTES_MAX, ReportError};

/// The name, in the record, of a notified aircraft flying outside its notification's volume or
/// window. Counted when it is an entry's kind, an alert's level, or an alert's `kind` field.
pub const NONCONFORMANCE_KIND: &str = "nonconformance";
/// The name, in the record, of a track crossing a dividing line or entering a zone its party is
/// excluded from. Counted like [`NONCONFORMANCE_KIND`].
pub const GEOGRAPHY_KIND: &str = "geography";
/// The incident entries' fields the report reads (their format is the incident model's): an
/// assessment's risk category, and the party it was made for (without it, its author's view).
pub use deconflict_incident::{ASSESSED_FOR_FIELD, RISK_CATEGORY_FIELD};
/// The risk categories an assessment may give; any other value is not counted as one.
pub const RISK_CATEGORIES: [&str; 5] = ["A", "B", "C", "D", "E"];

/// A line message: who sent what kind to whom, when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineMessage {
    /// Message id.
    pub id: String,
    /// The catalogue tag of its kind (`strike_warning`, `link_test`, …).
    pub kind: String,
    /// Sender.
    pub from: String,
    /// Recipient.
    pub to: String,
    /// Entry time (the sender's `sent_at`), ms since the Unix epoch.
    pub time_ms: u64,
}

/// A notification of operations, latest revision seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// Notifying party.
    pub party: String,
    /// Start of its window, when disclosed in the record.
    pub start_unix_ms: Option<i64>,
    /// End of its window, when disclosed.
    pub end_unix_ms: Option<i64>,
    /// Aircraft notified, when disclosed.
    pub aircraft_count: Option<i64>,
    /// When the entry was made.
    pub time_ms: u64,
}

/// A withdrawal of a notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Withdrawal {
    /// The notification.
    pub notification_id: String,
    /// Withdrawing party.
    pub party: String,
    /// When.
    pub time_ms: u64,
}

/// An alert raised by the service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// Its level as recorded (`caution`, `warning`, …).
    pub level: String,
    /// When.
    pub time_ms: u64,
}

/// A nonconformance or geography event attributed to a party.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartyEvent {
    /// [`NONCONFORMANCE_KIND`] or [`GEOGRAPHY_KIND`].
    pub kind: &'static str,
    /// The party whose aircraft it concerns.
    pub party: String,
    /// When.
    pub time_ms: u64,
}

/// An entry about an incident: a party's account, or an assessment when it carries a risk
/// category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentEntry {
    /// Incident id.
    pub incident_id: String,
    /// Author (party or assessor).
    pub author: String,
    /// For an assessment: the party whose view it is (`assessed_for`, else the author).
    pub view_of: String,
    /// Risk category, for an assessment.
    pub risk_category: Option<String>,
    /// When.
    pub time_ms: u64,
}

/// What a report is computed from: a verified export reduced to facts.
#[derive(Clone, Debug)]
pub struct Facts {
    /// The log's key id.
    pub log: String,
    /// Party ids: the header's keys other than the log's, sorted.
    pub parties: Vec<String>,
    /// Entries in the export.
    pub entries: u64,
    /// The last tree head, which covers every entry.
    pub tree_head: SignedTreeHead,
    /// Whether the keys were pinned from outside the export.
    pub keys_pinned: bool,
    /// Line messages, in record order.
    pub messages: Vec<LineMessage>,
    /// Acknowledgements: (acknowledging party, acknowledged id) → earliest time.
    pub acks: BTreeMap<(String, String), u64>,
    /// Notifications by id, latest entry of each.
    pub notifications: BTreeMap<String, Notification>,
    /// Withdrawals, in record order.
    pub withdrawals: Vec<Withdrawal>,
    /// Alerts, in record order.
    pub alerts: Vec<Alert>,
    /// Nonconformance and geography events.
    pub party_events: Vec<PartyEvent>,
    /// Incident entries.
    pub incidents: Vec<IncidentEntry>,
}

/// Verifies `bytes` as a log export (with `options`' pinned keys and saved tree head) and reads
/// its facts. Nothing is read from an export that does not verify.
pub fn read_export(bytes: &[u8], options: VerifyOptions) -> Result<Facts, ReportError> {
    let len = bytes.len() as u64;
    if len > EXPORT_BYTES_MAX {
        return Err(ReportError::TooLarge {
            len,
            max: EXPORT_BYTES_MAX,
        });
    }
    let summary = verify_export(bytes, options)?;
    let mut lines = bytes.split(|b| *b == b'\n');
    let header = lines.next().unwrap_or_default();
    let (log, keys) = parse_header(header)?;
    let mut parties: Vec<String> = keys
        .iter()
        .map(|(id, _)| id.as_str().to_string())
        .filter(|id| id != log.as_str())
        .collect();
    parties.sort();
    let mut facts = Facts {
        log: log.as_str().to_string(),
        parties,
        entries: summary.counts.entries,
        tree_head: summary.last_tree_head,
        keys_pinned: summary.keys_pinned,
        messages: Vec::new(),
        acks: BTreeMap::new(),
        notifications: BTreeMap::new(),
        withdrawals: Vec::new(),
        alerts: Vec::new(),
        party_events: Vec::new(),
        incidents: Vec::new(),
    };
    // Keys that signed nothing but assessments: working-group members, who sign their
    // assessments with keys of their own and are not parties.
    let mut assessors: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut other: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for line in lines {
        if ExportLineKind::of(line) != Some(ExportLineKind::Entry) {
            continue;
        }
        // The verifier has parsed every entry line already; a failure here is a programmer
        // error in the log, not bad input.
        let signed = SignedEntry::from_bytes(line)
            .unwrap_or_else(|e| unreachable!("a verified export's entry does not parse: {e}"));
        let author = signed.entry().author().as_str().to_string();
        match signed.entry().body() {
            EntryBody::IncidentReport { fields, .. }
                if text(fields, RISK_CATEGORY_FIELD).is_some() =>
            {
                assessors.insert(author);
            }
            _ => {
                other.insert(author);
            }
        }
        facts.add(&signed);
    }
    facts
        .parties
        .retain(|p| !assessors.contains(p) || other.contains(p));
    Ok(facts)
}

fn text<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    match fields.get(name) {
        Some(FieldValue::Text(t)) => Some(t.as_str()),
        _ => None,
    }
}

fn int(fields: &Fields, name: &str) -> Option<i64> {
    match fields.get(name) {
        Some(FieldValue::Int(i)) => Some(i.get()),
        _ => None,
    }
}

/// Which of the two event kinds an entry is, if either.
fn event_kind(kind: &str, body: &EntryBody) -> Option<&'static str> {
    let named = |s: &str| {
        [NONCONFORMANCE_KIND, GEOGRAPHY_KIND]
            .into_iter()
            .find(|k| *k == s)
    };
    if let Some(k) = named(kind) {
        return Some(k);
    }
    match body {
        EntryBody::Alert { level, fields, .. } => {
            named(level.as_str()).or_else(|| text(fields, "kind").and_then(named))
        }
        _ => None,
    }
}

impl Facts {
    fn add(&mut self, signed: &SignedEntry) {
        let entry = signed.entry();
        let author = entry.author().as_str().to_string();
        let time_ms = entry.time_ms();
        let body = entry.body();
        if let Some(kind) = event_kind(body.kind(), body) {
            let party = body
                .fields()
                .and_then(|f| text(f, "party"))
                .map(str::to_string)
                .or_else(|| match body {
                    EntryBody::Alert { parties, .. } => {
                        parties.first().map(|p: &KeyId| p.as_str().to_string())
                    }
                    _ => None,
                })
                .unwrap_or_else(|| author.clone());
            self.party_events.push(PartyEvent {
                kind,
                party,
                time_ms,
            });
            return;
        }
        match body {
            EntryBody::LineMessage { fields, message_id } => {
                if let (Some(kind), Some(from), Some(to)) = (
                    text(fields, "kind"),
                    text(fields, "from"),
                    text(fields, "to"),
                ) {
                    self.messages.push(LineMessage {
                        id: message_id.as_str().to_string(),
                        kind: kind.to_string(),
                        from: from.to_string(),
                        to: to.to_string(),
                        time_ms,
                    });
                }
            }
            EntryBody::Acknowledgement { acknowledges, .. } => {
                let at = self
                    .acks
                    .entry((author, acknowledges.as_str().to_string()))
                    .or_insert(time_ms);
                *at = (*at).min(time_ms);
            }
            EntryBody::Notification {
                fields,
                notification_id,
            } => {
                self.notifications.insert(
                    notification_id.as_str().to_string(),
                    Notification {
                        party: author,
                        start_unix_ms: int(fields, "start_unix_ms"),
                        end_unix_ms: int(fields, "end_unix_ms"),
                        aircraft_count: int(fields, "aircraft_count"),
                        time_ms,
                    },
                );
            }
            EntryBody::NotificationWithdrawal {
                notification_id, ..
            } => self.withdrawals.push(Withdrawal {
                notification_id: notification_id.as_str().to_string(),
                party: author,
                time_ms,
            }),
            EntryBody::Alert { level, .. } => self.alerts.push(Alert {
                level: level.as_str().to_string(),
                time_ms,
            }),
            EntryBody::IncidentReport {
                fields,
                incident_id,
            } => self.incidents.push(IncidentEntry {
                incident_id: incident_id.as_str().to_string(),
                view_of: text(fields, ASSESSED_FOR_FIELD)
                    .map_or_else(|| author.clone(), str::to_string),
                author,
                risk_category: text(fields, RISK_CATEGORY_FIELD)
                    .filter(|c| RISK_CATEGORIES.contains(c))
                    .map(str::to_string),
                time_ms,
            }),
            _ => {}
        }
    }
}
