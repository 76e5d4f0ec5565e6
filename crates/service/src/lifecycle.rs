//! The agreement's lifecycle over HTTP, and its place in the shared log.
//!
//! The lifecycle is the agreement crate's [`History`]: each party's signature over the agreement,
//! then the parties' signed [`Statement`]s (suspend, reactivate, terminate). The service holds
//! no lifecycle rule of its own: it checks who is asking, hands the statement to
//! [`History::check`], stores the accepted [`Record`] as a new agreement version, and refolds the
//! whole history (verifying every signature again) when it restarts.
//!
//! Each accepted statement is also one entry of the shared log, *authored by the party*:
//! [`statement_entry`] builds it deterministically from the statement and the party's time, the
//! party signs it with its own key (client side), and the service appends that signed entry
//! unchanged. So a working group verifies offline, with the party keys from the agreement, that
//! party X suspended the agreement, without trusting the service's key.
//!
//! `POST /v1/agreement/actions` body ([`AgreementActionRequest`]):
//! `{"statement": <SignedStatement JSON>, "entry_time_ms": <party's clock>, "entry_signature":
//! "<base64 of the party's signature of statement_entry(statement, entry_time_ms)>"}`.
//! What is checked, in order, each failure a 4xx naming the field:
//!
//! | check | status | code | field |
//! |---|---|---|---|
//! | JSON shape of the statement | 422 | `invalid_field` | `statement…` |
//! | the statement's party is the caller | 403 | `party_mismatch` | `statement.statement.party` |
//! | the statement is for this agreement | 422 | `wrong_agreement` | `statement.statement.agreement` |
//! | its signature verifies with the party's key | 422 | `statement_signature_invalid` | `statement.signature` |
//! | the transition is legal now | 409 | `lifecycle_not_allowed` | `statement.statement.action` |
//! | `basis_seq` is the current basis | 409 | `stale_basis` | `statement.statement.basis_seq` |
//! | the party has not signed this reactivation already | 409 | `already_signed` | `statement` |
//! | `entry_time_ms` within [`ENTRY_CLOCK_SKEW_MS_MAX`] of the service | 422 | `invalid_field` | `entry_time_ms` |
//! | `entry_signature` verifies | 422 | `entry_signature_invalid` | `entry_signature` |
//!
//! A refused statement changes nothing: not the store, not the record, not memory.

use axum::http::StatusCode;
use deconflict_agreement::Agreement;
use deconflict_agreement::lifecycle::{
    Action, Event, History, LifecycleError, Record, SignedStatement, State, Status,
};
use deconflict_log::SignedEntry;
use deconflict_store::AgreementVersion;

use crate::error::ApiError;
use deconflict_client::statement_entry::{signed_statement_entry, statement_entry};
use deconflict_client::wire::{
    AgreementActionRequest, AgreementView, HistoryItemView, LifecycleStepView, ReactivationView,
};

/// How far a party's log-entry time may be from the service's clock, milliseconds.
pub const ENTRY_CLOCK_SKEW_MS_MAX: i64 = 5 * 60 * 1000;
/// Most history events listed by `GET /v1/agreement` (the latest ones; the rest are counted).
pub const HISTORY_VIEW_MAX: usize = 1000;
// ---- the service's side ------------------------------------------------------------------

/// The history with the status after each event (so views need no refold).
#[derive(Debug, Clone)]
pub struct LifecycleHistory {
    history: History,
    status_after: Vec<Status>,
}

/// Why a stored history was refused at start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryLoadError {
    #[error("stored agreement version {version}: {message}")]
    Version { version: u64, message: String },
}

impl LifecycleHistory {
    /// Rebuilds the history from stored agreement versions (version 1 is the adopted agreement;
    /// version `k + 1` holds the record of event `k`), verifying every signature again and
    /// checking each version's stored status against the fold.
    pub fn load(
        agreement: Agreement,
        versions: &[AgreementVersion],
    ) -> Result<LifecycleHistory, HistoryLoadError> {
        let mut records = Vec::new();
        for v in versions.iter().skip(1) {
            let fail = |message: String| HistoryLoadError::Version {
                version: v.version,
                message,
            };
            let r = Record::from_json(&v.document)
                .map_err(|e| fail(format!("not a history record: {e}")))?;
            if r.seq().checked_add(1) != Some(v.version) {
                return Err(fail(format!(
                    "holds history event {} (expected {})",
                    r.seq(),
                    v.version.saturating_sub(1)
                )));
            }
            records.push((r, v.status.clone()));
        }
        let mut history = LifecycleHistory {
            history: History::new(agreement),
            status_after: Vec::new(),
        };
        for (r, stored_status) in records {
            let version = r.seq() + 1;
            let fail = |message: String| HistoryLoadError::Version { version, message };
            let at = r.at_unix_ms();
            let seq = r.seq();
            if seq != history.history.head_seq() + 1 {
                return Err(fail(format!(
                    "holds history event {seq}, expected {}",
                    history.history.head_seq() + 1
                )));
            }
            let party = r.event().party().clone();
            history
                .history
                .apply(r.event().clone(), at)
                .map_err(|e| fail(format!("{party}'s event {seq} does not replay: {e}")))?;
            let status = history.history.state().status();
            if status.as_str() != stored_status {
                return Err(fail(format!(
                    "stored status {stored_status:?} but the signed history folds to {status}"
                )));
            }
            history.status_after.push(status);
        }
        Ok(history)
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    pub fn state(&self) -> &State {
        self.history.state()
    }

    /// Would `event` be accepted now? Changes nothing.
    pub fn check(&self, event: &Event) -> Result<State, LifecycleError> {
        self.history.check(event)
    }

    /// The record `event` would become at `now_ms` (never before the previous event) and the
    /// state after it, without accepting it: the record is stored first.
    pub fn next_record(
        &self,
        event: Event,
        now_ms: i64,
    ) -> Result<(Record, State), LifecycleError> {
        let next = self.history.check(&event)?;
        let at = self
            .history
            .records()
            .last()
            .map_or(now_ms, |r| now_ms.max(r.at_unix_ms()));
        Ok((
            Record::from_parts(self.history.head_seq() + 1, at, event),
            next,
        ))
    }

    /// Accepts a record built by [`Self::next_record`] and stored since.
    pub fn accept(&mut self, record: &Record) -> Result<(), LifecycleError> {
        self.history
            .apply(record.event().clone(), record.at_unix_ms())?;
        self.status_after.push(self.history.state().status());
        Ok(())
    }

    /// The store version that holds `record`.
    pub fn version_of(record: &Record, status_after: Status) -> AgreementVersion {
        AgreementVersion {
            version: record.seq() + 1,
            status: status_after.as_str().into(),
            document: record.to_json(),
            recorded_ms: record.at_unix_ms(),
        }
    }

    /// The history as listed by `GET /v1/agreement`: the latest [`HISTORY_VIEW_MAX`] events.
    pub fn items(&self) -> (Vec<HistoryItemView>, u64) {
        let records = self.history.records();
        let skip = records.len().saturating_sub(HISTORY_VIEW_MAX);
        let items = records
            .iter()
            .zip(&self.status_after)
            .skip(skip)
            .map(|(r, s)| history_item(r, *s))
            .collect();
        (items, skip as u64)
    }

    /// The declared status and pending signatures, filled into `view`.
    pub fn fill_view(&self, view: &mut AgreementView) {
        let st = self.state();
        view.status = st.status().as_str().into();
        view.head_seq = self.history.head_seq();
        view.version = view.head_seq + 1;
        view.basis_seq = st.basis_seq();
        view.signed_by = st.signed().iter().map(|p| p.to_string()).collect();
        view.suspension = st.suspension().map(|s| LifecycleStepView {
            by: s.by.to_string(),
            reason: s.reason.clone(),
            seq: s.seq,
        });
        view.termination = st.termination().map(|t| LifecycleStepView {
            by: t.by.to_string(),
            reason: t.reason.clone(),
            seq: t.seq,
        });
        view.reason = st
            .termination()
            .map(|t| t.reason.clone())
            .or_else(|| st.suspension().map(|s| s.reason.clone()));
        view.conditions = st.conditions().map(str::to_string);
        view.reactivation = st.reactivation().map(|r| ReactivationView {
            conditions: r.conditions.clone(),
            signed_by: r.signed.iter().map(|p| p.to_string()).collect(),
            waiting_for: self
                .history
                .agreement()
                .parties()
                .iter()
                .map(|p| p.id())
                .filter(|p| !r.signed.contains(*p))
                .map(|p| p.to_string())
                .collect(),
            basis_seq: st.basis_seq(),
        });
        view.reactivation_signed_by = view
            .reactivation
            .as_ref()
            .map(|r| r.signed_by.clone())
            .unwrap_or_default();
        let (items, omitted) = self.items();
        view.history = items;
        view.history_omitted = omitted;
    }
}

/// One history event as listed.
pub fn history_item(r: &Record, status_after: Status) -> HistoryItemView {
    let mut item = HistoryItemView {
        seq: r.seq(),
        version: r.seq() + 1,
        at_unix_ms: r.at_unix_ms(),
        party: r.event().party().to_string(),
        kind: "sign".into(),
        basis_seq: None,
        reason: None,
        conditions: None,
        signature: String::new(),
        status: status_after.as_str().into(),
    };
    match r.event() {
        Event::Sign(s) => item.signature = s.signature().to_text(),
        Event::Statement(s) => {
            let st = s.statement();
            item.kind = st.action().name().into();
            item.basis_seq = Some(st.basis_seq());
            item.signature = s.signature().to_text();
            match st.action() {
                Action::Suspend { reason } | Action::Terminate { reason } => {
                    item.reason = Some(reason.clone())
                }
                Action::Reactivate { conditions } => item.conditions = Some(conditions.clone()),
            }
        }
    }
    item
}

/// The answer to a refused statement: status, code and the field at fault.
pub fn refusal(e: &LifecycleError) -> ApiError {
    let conflict = |code: &str, field: &str| {
        ApiError::new(StatusCode::CONFLICT, code, e.to_string()).with_field(field)
    };
    match e {
        LifecycleError::NotAllowed { .. } => {
            conflict("lifecycle_not_allowed", "statement.statement.action")
        }
        LifecycleError::StaleBasis { expected, found } => ApiError::new(
            StatusCode::CONFLICT,
            "stale_basis",
            format!(
                "the statement names basis_seq {found}; the current basis_seq is {expected}: \
                 fetch GET /v1/agreement and sign again"
            ),
        )
        .with_field("statement.statement.basis_seq"),
        LifecycleError::AlreadySigned { .. } => conflict("already_signed", "statement"),
        LifecycleError::HistoryFull => conflict("history_full", "statement"),
        LifecycleError::WrongAgreement { .. } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_agreement",
            e.to_string(),
        )
        .with_field("statement.statement.agreement"),
        LifecycleError::UnknownParty(_) => {
            ApiError::new(StatusCode::FORBIDDEN, "party_mismatch", e.to_string())
                .with_field("statement.statement.party")
        }
        LifecycleError::BadStatementSignature { .. } | LifecycleError::Signature(_) => {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "statement_signature_invalid",
                e.to_string(),
            )
            .with_field("statement.signature")
        }
        LifecycleError::Text { field, .. } => {
            ApiError::invalid(format!("statement.statement.{field}"), e.to_string())
        }
        LifecycleError::Json(m) => {
            let field = if m.starts_with("signature") {
                "statement.signature"
            } else {
                "statement"
            };
            ApiError::invalid(field, e.to_string())
        }
        _ => ApiError::internal(e.to_string()),
    }
}

/// Checks a request against the agreement, statically (before looking at the history): the
/// statement's shape, party, agreement and signature, and the entry's time and signature.
/// Returns the statement and the party's signed log entry.
pub fn check_request(
    agreement: &Agreement,
    caller: &str,
    req: AgreementActionRequest,
    now_ms: i64,
) -> Result<(SignedStatement, SignedEntry), ApiError> {
    let signed = SignedStatement::from_value(req.statement).map_err(|e| refusal(&e))?;
    let st = signed.statement();
    if st.party().as_str() != caller {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "party_mismatch",
            format!(
                "the statement is {}'s, but the request is signed by {caller}: a party submits \
                 its own statements only",
                st.party()
            ),
        )
        .with_field("statement.statement.party"));
    }
    if st.agreement() != agreement.id() {
        return Err(refusal(&LifecycleError::WrongAgreement {
            expected: agreement.id(),
            found: st.agreement(),
        }));
    }
    let party = agreement
        .party(st.party())
        .ok_or_else(|| refusal(&LifecycleError::UnknownParty(st.party().clone())))?;
    if !party
        .public_key()
        .verify(&st.canonical_bytes(), signed.signature())
    {
        return Err(refusal(&LifecycleError::BadStatementSignature {
            party: st.party().clone(),
        }));
    }
    let time_ms = entry_time(req.entry_time_ms, now_ms)?;
    let entry = statement_entry(st, time_ms).map_err(|e| ApiError::internal(e.to_string()))?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(party.public_key().as_bytes())
        .map_err(|e| ApiError::internal(format!("{}'s key: {e}", st.party())))?;
    let entry = signed_statement_entry(entry, &req.entry_signature, &key)
        .map_err(entry_signature_refused)?;
    Ok((signed, entry))
}

/// An author's `entry_time_ms` (its own clock), accepted within [`ENTRY_CLOCK_SKEW_MS_MAX`] of
/// the service's and not negative.
pub(crate) fn entry_time(time_ms: i64, now_ms: i64) -> Result<u64, ApiError> {
    if time_ms.abs_diff(now_ms) > ENTRY_CLOCK_SKEW_MS_MAX.unsigned_abs() {
        return Err(ApiError::invalid(
            "entry_time_ms",
            format!(
                "{time_ms} ms is more than {ENTRY_CLOCK_SKEW_MS_MAX} ms from the service's clock \
                 ({now_ms} ms)"
            ),
        ));
    }
    u64::try_from(time_ms).map_err(|_| ApiError::invalid("entry_time_ms", "must not be negative"))
}

/// The refusal of an author's `entry_signature` that is malformed or does not verify.
pub(crate) fn entry_signature_refused(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "entry_signature_invalid",
        e.to_string(),
    )
    .with_field("entry_signature")
}
