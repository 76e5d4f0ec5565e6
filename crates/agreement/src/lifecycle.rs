//! The agreement's lifecycle as a pure state machine over signed, numbered events.
//!
//! ```text
//!            all parties sign            any one party suspends (reason)
//!   Draft ───────────────────▶ InForce ─────────────────────────────▶ Suspended
//!     │                          ▲  │                                    │
//!     │                          │  └─────── all parties sign the ───────┘
//!     │                          │           same reactivation (conditions)
//!     └──────────────┬───────────┴──────────────┐
//!                    ▼  any one party terminates (reason), from any status but Terminated
//!               Terminated (final)
//! ```
//!
//! Events:
//! - [`Event::Sign`]: a party's detached signature over the agreement's canonical bytes
//!   ([`AgreementSignature`]). Only in `Draft`, once per party.
//! - [`Event::Statement`]: a party's signed [`Statement`] — suspend, reactivate or terminate.
//!   A statement names its *basis*: the sequence number of the event that put the agreement in
//!   its current status (0 for the draft itself). A statement whose basis is not the current one
//!   is refused, so an old suspension cannot be replayed after a reactivation, while parties
//!   signing the same reactivation concurrently all stay valid.
//!
//! The state is a fold of the events: [`fold`] replays a list of [`Record`]s from the draft and
//! must reach the same [`State`] as [`History::apply`] did incrementally. Time is never read
//! here: the caller passes `now_unix_ms`, which must not go backwards.
//!
//! This is the agreement's *declared* status only. Whether the line (the messaging channel)
//! answers is measured elsewhere and must not be folded into this state: in April 2017 the
//! memorandum was declared suspended while the line kept working.

use std::collections::BTreeSet;
use std::fmt;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::canonical::jcs;
use crate::ids::{AgreementId, PartyId};
use crate::keys::{SecretKey, Signature};
use crate::model::Agreement;
use crate::signature::{AgreementSignature, SignatureError};

/// `format` member of a statement's canonical JSON (domain separation from agreements).
pub const STATEMENT_FORMAT: &str = "deconflict.agreement-statement.v1";
/// Longest reason or conditions text, in bytes.
pub const STATEMENT_TEXT_BYTES_MAX: usize = 4096;
/// Most events in one agreement's history.
pub const RECORDS_MAX: usize = 100_000;
/// Largest JSON text of one record or statement accepted, in bytes.
pub const RECORD_JSON_BYTES_MAX: usize = 16 * 1024;
/// Largest integer carried in JSON (I-JSON, RFC 7493 §2.2): times and sequence numbers stay below.
pub const JSON_INT_MAX: i64 = (1 << 53) - 1;

/// The agreement's declared status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Draft,
    InForce,
    Suspended,
    Terminated,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::InForce => "in_force",
            Status::Suspended => "suspended",
            Status::Terminated => "terminated",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an event was refused. Nothing is recorded when an event is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LifecycleError {
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("statement is for agreement {found}, not {expected}")]
    WrongAgreement {
        expected: AgreementId,
        found: AgreementId,
    },
    #[error("{0} is not a party to this agreement")]
    UnknownParty(PartyId),
    #[error("{party}'s statement signature does not verify against {party}'s key")]
    BadStatementSignature { party: PartyId },
    #[error("cannot {action}: the agreement is {status}")]
    NotAllowed {
        action: &'static str,
        status: Status,
    },
    #[error("{party} has already signed")]
    AlreadySigned { party: PartyId },
    #[error(
        "statement is based on event {found}, but the current status was entered at event {expected}"
    )]
    StaleBasis { expected: u64, found: u64 },
    #[error("{field}: {reason}")]
    Text { field: &'static str, reason: String },
    #[error("time went backwards: {now_unix_ms} ms is before the last event at {last_unix_ms} ms")]
    ClockWentBack { last_unix_ms: i64, now_unix_ms: i64 },
    #[error("time {0} ms is outside 0..=2^53-1")]
    TimeOutOfRange(i64),
    #[error("history is full ({RECORDS_MAX} events)")]
    HistoryFull,
    #[error("malformed JSON: {0}")]
    Json(String),
}

/// What a statement asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Any one party may suspend an agreement in force; the reason is required.
    Suspend { reason: String },
    /// Every party must sign the same reactivation (same conditions, possibly empty).
    Reactivate { conditions: String },
    /// Any one party may terminate, from any status but `Terminated`; the reason is required.
    Terminate { reason: String },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Suspend { .. } => "suspend",
            Action::Reactivate { .. } => "reactivate",
            Action::Terminate { .. } => "terminate",
        }
    }
}

fn check_text(field: &'static str, s: &str, required: bool) -> Result<(), LifecycleError> {
    let err = |reason: String| Err(LifecycleError::Text { field, reason });
    if required && s.trim().is_empty() {
        return err("must not be empty".into());
    }
    if s.len() > STATEMENT_TEXT_BYTES_MAX {
        return err(format!(
            "{} bytes, more than {STATEMENT_TEXT_BYTES_MAX}",
            s.len()
        ));
    }
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return err("control characters other than newline are not accepted".into());
    }
    Ok(())
}

/// A party's lifecycle statement, before or without its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    agreement: AgreementId,
    party: PartyId,
    basis_seq: u64,
    action: Action,
}

impl Statement {
    /// Checks the texts (reason required, ≤ [`STATEMENT_TEXT_BYTES_MAX`], no control characters
    /// but newline). `basis_seq` is [`State::basis_seq`] as the party last saw it.
    pub fn new(
        agreement: AgreementId,
        party: PartyId,
        basis_seq: u64,
        action: Action,
    ) -> Result<Self, LifecycleError> {
        match &action {
            Action::Suspend { reason } | Action::Terminate { reason } => {
                check_text("reason", reason, true)?
            }
            Action::Reactivate { conditions } => check_text("conditions", conditions, false)?,
        }
        if basis_seq > JSON_INT_MAX as u64 {
            return Err(LifecycleError::Text {
                field: "basis_seq",
                reason: "above 2^53-1".into(),
            });
        }
        Ok(Self {
            agreement,
            party,
            basis_seq,
            action,
        })
    }

    pub fn agreement(&self) -> AgreementId {
        self.agreement
    }
    pub fn party(&self) -> &PartyId {
        &self.party
    }
    pub fn basis_seq(&self) -> u64 {
        self.basis_seq
    }
    pub fn action(&self) -> &Action {
        &self.action
    }

    /// The statement as JSON: `{"format", "agreement", "party", "basis_seq", "action",
    /// "reason" | "conditions"}`.
    pub fn to_value(&self) -> Value {
        let mut v = json!({
            "format": STATEMENT_FORMAT,
            "agreement": self.agreement.to_text(),
            "party": self.party.as_str(),
            "basis_seq": self.basis_seq,
            "action": self.action.name(),
        });
        let (key, text) = match &self.action {
            Action::Suspend { reason } | Action::Terminate { reason } => ("reason", reason),
            Action::Reactivate { conditions } => ("conditions", conditions),
        };
        v[key] = json!(text);
        v
    }

    /// The bytes a party signs: RFC 8785 of [`Self::to_value`].
    pub fn canonical_bytes(&self) -> Vec<u8> {
        jcs(&self.to_value())
    }

    pub fn sign(self, key: &SecretKey) -> SignedStatement {
        let signature = key.sign(&self.canonical_bytes());
        SignedStatement {
            statement: self,
            signature,
        }
    }

    fn from_value(v: Value) -> Result<Self, LifecycleError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            format: String,
            agreement: String,
            party: String,
            basis_seq: u64,
            action: String,
            reason: Option<String>,
            conditions: Option<String>,
        }
        let bad = |m: String| LifecycleError::Json(m);
        let r: Raw = serde_json::from_value(v).map_err(|e| bad(format!("statement: {e}")))?;
        if r.format != STATEMENT_FORMAT {
            return Err(bad(format!(
                "statement.format must be {STATEMENT_FORMAT:?}"
            )));
        }
        let agreement = AgreementId::from_text(&r.agreement)
            .map_err(|e| bad(format!("statement.agreement: {e}")))?;
        let party = PartyId::new(&r.party).map_err(|e| bad(format!("statement.party: {e}")))?;
        let action = match (r.action.as_str(), r.reason, r.conditions) {
            ("suspend", Some(reason), None) => Action::Suspend { reason },
            ("terminate", Some(reason), None) => Action::Terminate { reason },
            ("reactivate", None, Some(conditions)) => Action::Reactivate { conditions },
            (a, _, _) => {
                return Err(bad(format!(
                    "statement.action {a:?} must be suspend or terminate with a reason, or \
                     reactivate with conditions"
                )));
            }
        };
        Self::new(agreement, party, r.basis_seq, action)
    }
}

/// A statement with its signer's Ed25519 signature over [`Statement::canonical_bytes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedStatement {
    statement: Statement,
    signature: Signature,
}

impl SignedStatement {
    /// Assembles a statement received from elsewhere; it is verified when applied.
    pub fn from_parts(statement: Statement, signature: Signature) -> Self {
        Self {
            statement,
            signature,
        }
    }
    pub fn statement(&self) -> &Statement {
        &self.statement
    }
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// `{"statement": {…}, "signature": "ed25519-sig:…"}`.
    pub fn to_value(&self) -> Value {
        json!({"statement": self.statement.to_value(), "signature": self.signature.to_text()})
    }

    /// Reads the JSON form of [`Self::to_value`] (unknown members refused). Not verified here.
    pub fn from_json(bytes: &[u8]) -> Result<Self, LifecycleError> {
        if bytes.len() > RECORD_JSON_BYTES_MAX {
            return Err(LifecycleError::Json(format!(
                "{} bytes, more than {RECORD_JSON_BYTES_MAX}",
                bytes.len()
            )));
        }
        let v: Value =
            serde_json::from_slice(bytes).map_err(|e| LifecycleError::Json(e.to_string()))?;
        Self::from_value(v)
    }

    /// Reads the JSON value of [`Self::to_value`] (e.g. a member of a larger request body);
    /// unknown members refused. Not verified here.
    pub fn from_value(v: Value) -> Result<Self, LifecycleError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            statement: Value,
            signature: String,
        }
        let r: Raw = serde_json::from_value(v).map_err(|e| LifecycleError::Json(e.to_string()))?;
        let signature = Signature::from_text(&r.signature)
            .map_err(|e| LifecycleError::Json(format!("signature: {e}")))?;
        Ok(Self {
            statement: Statement::from_value(r.statement)?,
            signature,
        })
    }
}

/// One lifecycle event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Sign(AgreementSignature),
    Statement(SignedStatement),
}

impl Event {
    /// The party the event is from.
    pub fn party(&self) -> &PartyId {
        match self {
            Event::Sign(s) => s.party(),
            Event::Statement(s) => s.statement.party(),
        }
    }

    /// `{"kind": "sign", "agreement", "party", "signature"}` or
    /// `{"kind": "statement", "statement": {…}, "signature"}`.
    pub fn to_value(&self) -> Value {
        match self {
            Event::Sign(s) => json!({
                "kind": "sign",
                "agreement": s.agreement().to_text(),
                "party": s.party().as_str(),
                "signature": s.signature().to_text(),
            }),
            Event::Statement(s) => {
                let mut v = s.to_value();
                v["kind"] = json!("statement");
                v
            }
        }
    }

    fn from_value(mut v: Value) -> Result<Self, LifecycleError> {
        let bad = |m: String| LifecycleError::Json(m);
        let kind = v
            .as_object_mut()
            .and_then(|o| o.remove("kind"))
            .ok_or_else(|| bad("event must be an object with a \"kind\"".into()))?;
        match kind.as_str() {
            Some("sign") => {
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Raw {
                    agreement: String,
                    party: String,
                    signature: String,
                }
                let r: Raw =
                    serde_json::from_value(v).map_err(|e| bad(format!("sign event: {e}")))?;
                Ok(Event::Sign(AgreementSignature::from_parts(
                    AgreementId::from_text(&r.agreement)
                        .map_err(|e| bad(format!("agreement: {e}")))?,
                    PartyId::new(&r.party).map_err(|e| bad(format!("party: {e}")))?,
                    Signature::from_text(&r.signature)
                        .map_err(|e| bad(format!("signature: {e}")))?,
                )))
            }
            Some("statement") => Ok(Event::Statement(SignedStatement::from_value(v)?)),
            _ => Err(bad("event kind must be \"sign\" or \"statement\"".into())),
        }
    }
}

/// An accepted event with its place in the history and the time it was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    seq: u64,
    at_unix_ms: i64,
    event: Event,
}

impl Record {
    /// Assembles a stored record (e.g. read back from a database); checked by [`fold`].
    pub fn from_parts(seq: u64, at_unix_ms: i64, event: Event) -> Self {
        Self {
            seq,
            at_unix_ms,
            event,
        }
    }
    /// 1 for the first event, consecutive.
    pub fn seq(&self) -> u64 {
        self.seq
    }
    pub fn at_unix_ms(&self) -> i64 {
        self.at_unix_ms
    }
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// Canonical JSON (RFC 8785) of `{"seq", "at_unix_ms", "event": {…}}`, for storage and logs.
    pub fn to_json(&self) -> Vec<u8> {
        jcs(
            &json!({"seq": self.seq, "at_unix_ms": self.at_unix_ms, "event": self.event.to_value()}),
        )
    }

    /// Reads [`Self::to_json`]'s form. Signatures are verified by [`fold`], not here.
    pub fn from_json(bytes: &[u8]) -> Result<Self, LifecycleError> {
        if bytes.len() > RECORD_JSON_BYTES_MAX {
            return Err(LifecycleError::Json(format!(
                "{} bytes, more than {RECORD_JSON_BYTES_MAX}",
                bytes.len()
            )));
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            seq: u64,
            at_unix_ms: i64,
            event: Value,
        }
        let r: Raw =
            serde_json::from_slice(bytes).map_err(|e| LifecycleError::Json(e.to_string()))?;
        Ok(Self {
            seq: r.seq,
            at_unix_ms: r.at_unix_ms,
            event: Event::from_value(r.event)?,
        })
    }
}

/// The suspension in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspension {
    pub by: PartyId,
    pub reason: String,
    pub seq: u64,
}

/// A reactivation being signed: every party must sign these exact conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reactivation {
    pub conditions: String,
    pub signed: BTreeSet<PartyId>,
}

/// The termination, once terminated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Termination {
    pub by: PartyId,
    pub reason: String,
    pub seq: u64,
}

/// The agreement's lifecycle state: the fold of its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    status: Status,
    basis_seq: u64,
    signed: BTreeSet<PartyId>,
    suspension: Option<Suspension>,
    reactivation: Option<Reactivation>,
    conditions: Option<String>,
    termination: Option<Termination>,
}

impl State {
    /// The state of an agreement nobody has signed yet.
    pub fn draft() -> Self {
        Self {
            status: Status::Draft,
            basis_seq: 0,
            signed: BTreeSet::new(),
            suspension: None,
            reactivation: None,
            conditions: None,
            termination: None,
        }
    }
    pub fn status(&self) -> Status {
        self.status
    }
    /// Sequence number of the event that entered the current status (0: the draft). Statements
    /// must name it as their basis.
    pub fn basis_seq(&self) -> u64 {
        self.basis_seq
    }
    /// Parties whose signature over the agreement has been accepted.
    pub fn signed(&self) -> &BTreeSet<PartyId> {
        &self.signed
    }
    pub fn suspension(&self) -> Option<&Suspension> {
        self.suspension.as_ref()
    }
    /// The reactivation being signed, while suspended.
    pub fn reactivation(&self) -> Option<&Reactivation> {
        self.reactivation.as_ref()
    }
    /// Conditions attached by the reactivation that brought the agreement back in force.
    pub fn conditions(&self) -> Option<&str> {
        self.conditions.as_deref()
    }
    pub fn termination(&self) -> Option<&Termination> {
        self.termination.as_ref()
    }
    pub fn is_in_force(&self) -> bool {
        self.status == Status::InForce
    }

    /// Parties whose signature is still missing (in `Draft`; empty afterwards).
    pub fn unsigned<'a>(&'a self, agreement: &'a Agreement) -> impl Iterator<Item = &'a PartyId> {
        agreement
            .parties()
            .iter()
            .map(|p| p.id())
            .filter(|id| !self.signed.contains(*id))
    }

    /// The state after `event`, recorded as event number `seq`; `self` is unchanged on error.
    /// Pure: the same state, agreement and event always give the same answer.
    pub fn step(
        &self,
        agreement: &Agreement,
        seq: u64,
        event: &Event,
    ) -> Result<State, LifecycleError> {
        let all = || {
            agreement
                .parties()
                .iter()
                .map(|p| p.id().clone())
                .collect::<BTreeSet<_>>()
        };
        let not_allowed = |action| LifecycleError::NotAllowed {
            action,
            status: self.status,
        };
        if self.status == Status::Terminated {
            let action = match event {
                Event::Sign(_) => "sign",
                Event::Statement(s) => s.statement.action.name(),
            };
            return Err(not_allowed(action));
        }
        let mut next = self.clone();
        match event {
            Event::Sign(sig) => {
                if self.status != Status::Draft {
                    return Err(not_allowed("sign"));
                }
                sig.verify(agreement)?;
                if !next.signed.insert(sig.party().clone()) {
                    return Err(LifecycleError::AlreadySigned {
                        party: sig.party().clone(),
                    });
                }
                if next.signed == all() {
                    next.status = Status::InForce;
                    next.basis_seq = seq;
                }
            }
            Event::Statement(signed) => {
                let st = &signed.statement;
                if st.agreement != agreement.id() {
                    return Err(LifecycleError::WrongAgreement {
                        expected: agreement.id(),
                        found: st.agreement,
                    });
                }
                let party = agreement
                    .party(&st.party)
                    .ok_or_else(|| LifecycleError::UnknownParty(st.party.clone()))?;
                if !party
                    .public_key()
                    .verify(&st.canonical_bytes(), &signed.signature)
                {
                    return Err(LifecycleError::BadStatementSignature {
                        party: st.party.clone(),
                    });
                }
                // Status before basis, so that "cannot suspend a draft" is the error a party sees.
                let allowed = matches!(
                    (&st.action, self.status),
                    (Action::Suspend { .. }, Status::InForce)
                        | (Action::Reactivate { .. }, Status::Suspended)
                        | (Action::Terminate { .. }, _)
                );
                if !allowed {
                    return Err(not_allowed(st.action.name()));
                }
                if st.basis_seq != self.basis_seq {
                    return Err(LifecycleError::StaleBasis {
                        expected: self.basis_seq,
                        found: st.basis_seq,
                    });
                }
                match &st.action {
                    Action::Suspend { reason } => {
                        next.status = Status::Suspended;
                        next.basis_seq = seq;
                        next.conditions = None;
                        next.suspension = Some(Suspension {
                            by: st.party.clone(),
                            reason: reason.clone(),
                            seq,
                        });
                    }
                    Action::Reactivate { conditions } => {
                        let round = match next.reactivation.take() {
                            // Different conditions start a new round: a counter-proposal.
                            Some(r) if r.conditions == *conditions => r,
                            _ => Reactivation {
                                conditions: conditions.clone(),
                                signed: BTreeSet::new(),
                            },
                        };
                        let mut round = round;
                        if !round.signed.insert(st.party.clone()) {
                            return Err(LifecycleError::AlreadySigned {
                                party: st.party.clone(),
                            });
                        }
                        if round.signed == all() {
                            next.status = Status::InForce;
                            next.basis_seq = seq;
                            next.suspension = None;
                            next.conditions = (!conditions.is_empty()).then(|| conditions.clone());
                        } else {
                            next.reactivation = Some(round);
                        }
                    }
                    Action::Terminate { reason } => {
                        next.status = Status::Terminated;
                        next.basis_seq = seq;
                        next.reactivation = None;
                        // The conditions of the last reactivation ended with it: a terminated
                        // agreement has none (the history still shows them).
                        next.conditions = None;
                        next.termination = Some(Termination {
                            by: st.party.clone(),
                            reason: reason.clone(),
                            seq,
                        });
                    }
                }
            }
        }
        Ok(next)
    }
}

/// Why a stored history does not replay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {seq}: {error}")]
pub struct ReplayError {
    pub seq: u64,
    pub error: ReplayErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayErrorKind {
    #[error("expected sequence number {expected}")]
    Sequence { expected: u64 },
    #[error(transparent)]
    Event(#[from] LifecycleError),
}

fn check_time(last_unix_ms: Option<i64>, now_unix_ms: i64) -> Result<(), LifecycleError> {
    if !(0..=JSON_INT_MAX).contains(&now_unix_ms) {
        return Err(LifecycleError::TimeOutOfRange(now_unix_ms));
    }
    match last_unix_ms {
        Some(last) if now_unix_ms < last => Err(LifecycleError::ClockWentBack {
            last_unix_ms: last,
            now_unix_ms,
        }),
        _ => Ok(()),
    }
}

/// Replays `records` from the draft, checking numbering, time order and every signature.
pub fn fold(agreement: &Agreement, records: &[Record]) -> Result<State, ReplayError> {
    let mut state = State::draft();
    let mut last = None;
    for (i, r) in records.iter().enumerate() {
        let expected = i as u64 + 1;
        let fail = |error: ReplayErrorKind| ReplayError { seq: r.seq, error };
        if r.seq != expected || i >= RECORDS_MAX {
            return Err(fail(ReplayErrorKind::Sequence { expected }));
        }
        check_time(last, r.at_unix_ms).map_err(|e| fail(e.into()))?;
        state = state
            .step(agreement, r.seq, &r.event)
            .map_err(|e| fail(e.into()))?;
        last = Some(r.at_unix_ms);
    }
    Ok(state)
}

/// One agreement version's history: the agreement, its accepted events, and the current state.
#[derive(Debug, Clone)]
pub struct History {
    agreement: Agreement,
    records: Vec<Record>,
    state: State,
}

impl History {
    /// A fresh draft with no events.
    pub fn new(agreement: Agreement) -> Self {
        Self {
            agreement,
            records: Vec::new(),
            state: State::draft(),
        }
    }

    /// Rebuilds a history from stored records, verifying everything.
    pub fn replay(agreement: Agreement, records: Vec<Record>) -> Result<Self, ReplayError> {
        let state = fold(&agreement, &records)?;
        Ok(Self {
            agreement,
            records,
            state,
        })
    }

    pub fn agreement(&self) -> &Agreement {
        &self.agreement
    }
    pub fn state(&self) -> &State {
        &self.state
    }
    pub fn records(&self) -> &[Record] {
        &self.records
    }
    /// Sequence number of the last accepted event (0 when none).
    pub fn head_seq(&self) -> u64 {
        self.records.len() as u64
    }

    /// Would `event` be accepted now? Changes nothing.
    pub fn check(&self, event: &Event) -> Result<State, LifecycleError> {
        self.state.step(&self.agreement, self.head_seq() + 1, event)
    }

    /// Accepts `event` at `now_unix_ms` (not before the previous event) and returns its record;
    /// on error nothing changes.
    pub fn apply(&mut self, event: Event, now_unix_ms: i64) -> Result<&Record, LifecycleError> {
        if self.records.len() >= RECORDS_MAX {
            return Err(LifecycleError::HistoryFull);
        }
        check_time(self.records.last().map(|r| r.at_unix_ms), now_unix_ms)?;
        let seq = self.head_seq() + 1;
        let next = self.state.step(&self.agreement, seq, &event)?;
        self.state = next;
        self.records.push(Record {
            seq,
            at_unix_ms: now_unix_ms,
            event,
        });
        Ok(self.records.last().expect("just pushed"))
    }
}
