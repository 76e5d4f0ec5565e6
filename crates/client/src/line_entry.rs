//! Line messages and acknowledgements as entries of the shared log, signed by their
//! author. The entry is a pure function of the message (or of the acknowledgement's four
//! facts), so the party that signs it and the service that checks and appends it derive the
//! same bytes independently; the party sends only its signature.

use base64::Engine as _;
use deconflict_line::{Body, Message, MessageId};
use deconflict_log::{Entry, EntryBody, FieldValue, Fields, Hash, KeyId, Sig, SignedEntry, Text};
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

/// Why a log entry could not be built or its signature not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogEntryError {
    #[error("log entry: {0}")]
    Entry(String),
    #[error("entry_signature is not base64 of 64 bytes")]
    SignatureEncoding,
    #[error("entry_signature does not verify with {author}'s key from the agreement")]
    BadSignature { author: String },
}

fn err(e: impl std::fmt::Display) -> LogEntryError {
    LogEntryError::Entry(e.to_string())
}

fn put(fields: &mut Fields, name: &str, value: FieldValue) -> Result<(), LogEntryError> {
    fields.insert(name, value).map_err(err)
}

fn text(s: &str) -> Result<FieldValue, LogEntryError> {
    FieldValue::text(s).map_err(err)
}

/// The record's entry for a line message, authored by `message.from` at its `sent_at`.
/// Fields: `kind`, `from`, `to`, `subject_kind`, `subject_id`, `message_sha256` (SHA-256 of the
/// canonical JSON, RFC 8785), and `message` (that canonical JSON) when it fits in one text
/// field of the record. An incident report is an `incident_report` entry, every other kind a
/// `line_message` entry.
pub fn log_entry_for_message(m: &Message) -> Result<Entry, LogEntryError> {
    let canonical = m.canonical_json();
    let mut fields = Fields::new();
    put(&mut fields, "kind", text(m.kind().tag())?)?;
    put(&mut fields, "from", text(m.from().as_str())?)?;
    put(&mut fields, "to", text(m.to().as_str())?)?;
    let subject_kind = serde_json::to_value(m.subject().kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    put(&mut fields, "subject_kind", text(&subject_kind)?)?;
    put(&mut fields, "subject_id", text(m.subject().id.as_str())?)?;
    put(
        &mut fields,
        "message_sha256",
        text(&Hash::of(&canonical).to_hex())?,
    )?;
    if let Ok(json) = std::str::from_utf8(&canonical)
        && let Ok(v) = FieldValue::text(json)
    {
        put(&mut fields, "message", v)?;
    }
    let body = match m.body() {
        Body::IncidentReport { incident_id, .. } => EntryBody::IncidentReport {
            fields,
            incident_id: Text::new(incident_id.as_str()).map_err(err)?,
        },
        _ => EntryBody::LineMessage {
            fields,
            message_id: Text::new(m.id().as_str()).map_err(err)?,
        },
    };
    let author = KeyId::new(m.from().as_str()).map_err(err)?;
    Entry::new(author, m.sent_at().unix_ms().max(0) as u64, body).map_err(err)
}

/// The id under which the line lists the message an entry records, if it records one: a
/// message's id (a `line_message` entry, or an `incident_report` entry the line made of an
/// incident report message, whose `message` field holds it), or an acknowledgement's own id
/// (`ack_id`: the line lists acknowledgements among its messages).
pub fn recorded_message_id(e: &Entry) -> Option<String> {
    let field = |fields: &Fields, name: &str| match fields.get(name) {
        Some(FieldValue::Text(t)) => Some(t.as_str().to_string()),
        _ => None,
    };
    match e.body() {
        EntryBody::LineMessage { message_id, .. } => Some(message_id.as_str().to_string()),
        EntryBody::Acknowledgement { fields, .. } => field(fields, "ack_id"),
        EntryBody::IncidentReport { fields, .. } if fields.get("message_sha256").is_some() => {
            let message: serde_json::Value =
                serde_json::from_str(&field(fields, "message")?).ok()?;
            message.get("id")?.as_str().map(str::to_string)
        }
        _ => None,
    }
}

/// The record's entry for `officer` of `party` acknowledging `message_id` at `time_unix_ms`
/// (the party's clock). Fields: `officer`, `ack_id` (see [`ack_id`]).
pub fn log_entry_for_ack(
    party: &str,
    message_id: &str,
    officer: &str,
    time_unix_ms: i64,
) -> Result<Entry, LogEntryError> {
    let mut fields = Fields::new();
    put(&mut fields, "officer", text(officer)?)?;
    put(
        &mut fields,
        "ack_id",
        text(ack_id(message_id, officer).as_str())?,
    )?;
    let body = EntryBody::Acknowledgement {
        acknowledges: Text::new(message_id).map_err(err)?,
        fields,
    };
    let author = KeyId::new(party).map_err(err)?;
    Entry::new(author, time_unix_ms.max(0) as u64, body).map_err(err)
}

/// The id of `officer`'s acknowledgement of `message_id`: the same for every retry, so an
/// acknowledgement repeated after a reconnect is recognised and counted once, while another
/// officer's acknowledgement of the same message is a different one (and refused).
pub fn ack_id(message_id: &str, officer: &str) -> MessageId {
    let mut h = Sha256::new();
    h.update(message_id.as_bytes());
    h.update([0]);
    h.update(officer.as_bytes());
    let digest = h.finalize();
    let hex = hex::encode(&digest[..16]);
    MessageId::new(format!("ack:{hex}")).unwrap_or_else(|_| unreachable!("ack: and hex digits"))
}

/// Signs `entry` with `key`; the base64 signature the service expects in `entry_signature`.
pub fn sign_entry(entry: Entry, key: &SigningKey) -> Result<String, LogEntryError> {
    let signed = SignedEntry::sign(entry, key).map_err(err)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(signed.sig().0))
}

/// The signed entry from the entry the service derived and the author's base64 signature,
/// checked against `author_key`.
pub fn signed_entry(
    entry: Entry,
    signature_b64: &str,
    author_key: &VerifyingKey,
) -> Result<SignedEntry, LogEntryError> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(signature_b64.trim())
        .map_err(|_| LogEntryError::SignatureEncoding)?;
    let sig: [u8; 64] = raw
        .try_into()
        .map_err(|_| LogEntryError::SignatureEncoding)?;
    let author = entry.author().as_str().to_string();
    let signed = SignedEntry::from_parts(entry, Sig(sig)).map_err(err)?;
    signed
        .verify(author_key)
        .map_err(|_| LogEntryError::BadSignature { author })?;
    Ok(signed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_made_by_the_party_verifies_on_the_entry_the_service_derives() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let entry = log_entry_for_ack("coalition", "russia-1", "Maj. Smith", 1_000).unwrap();
        let sig = sign_entry(entry.clone(), &key).unwrap();
        let again = log_entry_for_ack("coalition", "russia-1", "Maj. Smith", 1_000).unwrap();
        let signed = signed_entry(again, &sig, &key.verifying_key()).unwrap();
        assert_eq!(signed, SignedEntry::sign(entry, &key).unwrap());
        // Any other fact (officer, time, message) or key is refused.
        for other in [
            log_entry_for_ack("coalition", "russia-1", "Col. Jones", 1_000),
            log_entry_for_ack("coalition", "russia-1", "Maj. Smith", 1_001),
            log_entry_for_ack("coalition", "russia-2", "Maj. Smith", 1_000),
        ] {
            assert!(matches!(
                signed_entry(other.unwrap(), &sig, &key.verifying_key()),
                Err(LogEntryError::BadSignature { .. })
            ));
        }
        let wrong = SigningKey::from_bytes(&[2; 32]).verifying_key();
        let e = log_entry_for_ack("coalition", "russia-1", "Maj. Smith", 1_000).unwrap();
        assert!(signed_entry(e.clone(), &sig, &wrong).is_err());
        assert_eq!(
            signed_entry(e.clone(), "not base64!", &wrong),
            Err(LogEntryError::SignatureEncoding)
        );
        assert_eq!(
            signed_entry(e, "AAAA", &wrong),
            Err(LogEntryError::SignatureEncoding)
        );
    }

    fn message(body: &str, subject: &str) -> Message {
        serde_json::from_str(&format!(
            r#"{{"id":"russia-7","from":"russia","to":"coalition","sent_at_ms":1491984000000,"subject":{subject},"body":{body}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn an_incident_report_is_an_incident_entry_and_the_rest_line_messages() {
        let report = message(
            r#"{"type":"incident_report","incident_id":"I-3","at_ms":1491983000000,"position":{"lat_udeg":35000000,"lon_udeg":38000000},"track_a":{"party":"russia","track":"R1"},"track_b":{"party":"coalition","track":"C1"},"closest_horizontal_mm":800000,"closest_vertical_mm":0}"#,
            r#"{"kind":"incident","id":"I-3"}"#,
        );
        let e = log_entry_for_message(&report).unwrap();
        assert_eq!(e.author().as_str(), "russia");
        assert_eq!(e.time_ms(), 1_491_984_000_000);
        let EntryBody::IncidentReport {
            incident_id,
            fields,
        } = e.body()
        else {
            panic!("{e:?}");
        };
        assert_eq!(incident_id.as_str(), "I-3");
        let Some(FieldValue::Text(json)) = fields.get("message") else {
            panic!("{fields:?}");
        };
        assert_eq!(json.as_str().as_bytes(), &report.canonical_json()[..]);
        assert_eq!(
            fields.get("message_sha256"),
            Some(&FieldValue::text(Hash::of(&report.canonical_json()).to_hex()).unwrap())
        );
        let text = message(
            r#"{"type":"free_text","written_in":"ru","text":"Подтвердите."}"#,
            r#"{"kind":"incident","id":"I-3"}"#,
        );
        let e = log_entry_for_message(&text).unwrap();
        assert!(
            matches!(e.body(), EntryBody::LineMessage { message_id, .. } if message_id.as_str() == "russia-7")
        );
    }

    #[test]
    fn ack_ids_are_stable_per_officer_and_fit_a_message_id() {
        let long = "m".repeat(64);
        assert_eq!(ack_id(&long, "Petrov"), ack_id(&long, "Petrov"));
        assert_ne!(ack_id(&long, "Petrov"), ack_id(&long, "Ivanov"));
        assert_eq!(ack_id("a", "b").as_str().len(), 36);
    }
}
