//! The record entry of an agreement lifecycle statement (suspend, reactivate, terminate): the
//! party builds and signs it, the service builds it again and checks that signature, then
//! appends it unchanged.

use base64::Engine as _;
use deconflict_agreement::SecretKey;
use deconflict_agreement::lifecycle::{Action, SignedStatement, Statement};
use deconflict_log::{
    AgreementEventKind, Entry, EntryBody, Hash, KeyId, SignedEntry, SigningKey, Text,
};

use crate::wire::AgreementActionRequest;

/// Largest `entry_signature` text accepted, bytes (64 bytes in base64 is 88).
pub const ENTRY_SIGNATURE_TEXT_BYTES_MAX: usize = 128;

/// Why a statement's log entry could not be built or assembled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    #[error("log entry: {0}")]
    Entry(String),
    #[error("entry_signature: {0}")]
    Signature(String),
}

fn entry_err(e: impl std::fmt::Display) -> EntryError {
    EntryError::Entry(e.to_string())
}

/// The log kind and text of a statement: one party's reactivation is `reactivation_signed`
/// (in force again once every party's entry on the same basis is in the log).
fn entry_kind(action: &Action) -> (AgreementEventKind, Option<String>) {
    match action {
        Action::Suspend { reason } => (AgreementEventKind::Suspended, Some(reason.clone())),
        Action::Reactivate { conditions } => (
            AgreementEventKind::ReactivationSigned,
            (!conditions.is_empty()).then(|| conditions.clone()),
        ),
        Action::Terminate { reason } => (AgreementEventKind::Terminated, Some(reason.clone())),
    }
}

fn entry_text(s: &str) -> Result<Text, EntryError> {
    match Text::new(s) {
        Ok(t) => Ok(t),
        Err(_) => {
            Text::new(format!("sha256:{}", Hash::of(s.as_bytes()).to_hex())).map_err(entry_err)
        }
    }
}

/// The log entry that records `statement` in the shared log: authored by the statement's
/// party at `time_ms` (the party's clock). `AgreementEvent { agreement_id, digest: the
/// agreement's SHA-256 (its id), event: suspended | reactivation_signed | terminated, reason:
/// the reason or the conditions (absent when empty), version: the statement's basis_seq }`. Deterministic: the party builds it to sign it, the service builds
/// it again to check that signature.
pub fn statement_entry(statement: &Statement, time_ms: u64) -> Result<Entry, EntryError> {
    let author = KeyId::new(statement.party().as_str()).map_err(entry_err)?;
    let (event, reason) = entry_kind(statement.action());
    let body = EntryBody::AgreementEvent {
        agreement_id: entry_text(&statement.agreement().to_text())?,
        digest: Hash(*statement.agreement().as_bytes()),
        event,
        reason: reason.as_deref().map(entry_text).transpose()?,
        version: deconflict_log::field::Count::new(statement.basis_seq()).map_err(entry_err)?,
    };
    Entry::new(author, time_ms, body).map_err(entry_err)
}

/// The party's side: signs the statement's log entry; returns the signature as standard
/// base64 (what `entry_signature` carries).
pub fn sign_statement_entry(
    statement: &Statement,
    time_ms: u64,
    key: &SigningKey,
) -> Result<String, EntryError> {
    let signed = SignedEntry::sign(statement_entry(statement, time_ms)?, key).map_err(entry_err)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(signed.sig().0))
}

/// The service's side: the signed entry from the entry and the party's base64 signature, its
/// signature checked with `key`.
pub fn signed_statement_entry(
    entry: Entry,
    signature_b64: &str,
    key: &ed25519_dalek::VerifyingKey,
) -> Result<SignedEntry, EntryError> {
    let bad = |m: &str| EntryError::Signature(m.to_string());
    if signature_b64.len() > ENTRY_SIGNATURE_TEXT_BYTES_MAX {
        return Err(bad("longer than a base64 Ed25519 signature"));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(signature_b64)
        .map_err(|e| EntryError::Signature(format!("not standard base64: {e}")))?;
    let sig: [u8; 64] = bytes
        .try_into()
        .map_err(|_| bad("an Ed25519 signature is 64 bytes"))?;
    let signed = SignedEntry::from_parts(entry, deconflict_log::Sig(sig)).map_err(entry_err)?;
    signed
        .verify(key)
        .map_err(|_| bad("does not verify with the party's key over the statement's entry"))?;
    Ok(signed)
}

/// The agreement crate's secret key for an Ed25519 signing key (the same RFC 8032 seed).
pub fn statement_key(key: &SigningKey) -> SecretKey {
    SecretKey::from_seed(key.to_bytes())
}

/// A request body for `statement`, its log entry dated `time_ms` and signed with `key`.
pub fn action_request(
    statement: &SignedStatement,
    time_ms: i64,
    key: &SigningKey,
) -> Result<AgreementActionRequest, EntryError> {
    let t = u64::try_from(time_ms).map_err(|_| entry_err("time before 1970"))?;
    Ok(AgreementActionRequest {
        statement: statement.to_value(),
        entry_time_ms: time_ms,
        entry_signature: sign_statement_entry(statement.statement(), t, key)?,
    })
}
