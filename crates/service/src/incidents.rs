//! Incidents before the working group, as the service runs them: filed by a party over
//! `POST /v1/incidents`, with the evidence computed from the recorded track reports, each
//! party's signed account, and the working-group members' signed assessments
//! ([`deconflict_incident::Incident`] is the sans-IO course of one incident).
//!
//! # The record is where incidents live
//!
//! Every step is a record entry `incident_report` whose `course` field names it:
//! - `filing` — signed by the filing party: the window, the aircraft it names and its account;
//! - `evidence` — signed by the service, at the filing's time: the aircraft pairs found in the
//!   window with their computed closest approaches, and the alerts and line messages of the
//!   window;
//! - `account` — signed by the party giving it;
//! - `assessment` — signed by the working-group member (its key is in the agreement), with the
//!   `risk_category` field that `deconflict report` counts.
//!
//! Each entry carries its input as JSON (`input`, split over `input_1`, `input_2`, … when longer
//! than one text field) and its SHA-256 (`input_sha256`). No store row stands for these entries:
//! at start the service folds them again, in record order, into the incidents
//! ([`restore`]), so an incident is exactly what the record says and survives every restart.
//! Accounts and assessments take effect at their signed time (within
//! [`crate::line::AUTHOR_SKEW_MS_MAX`] of the service's clock when they arrive), so the fold at
//! start gives the same incidents, lateness included.
//!
//! # Finding the aircraft
//!
//! The pairs are the tracks of different parties with reports in the window (from the store's
//! per-track history), restricted to the filer's `own_track` and `other_party` when given,
//! whose computed closest approach comes within [`NEAR_FACTOR`] times the agreement's
//! separation minima (horizontal and vertical); the [`PAIRS_MAX`] closest are kept. A filing
//! that names its own track keeps that track's closest pair even when it is farther.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State as AxState};
use axum::http::StatusCode;
use deconflict_incident as incident;
use deconflict_incident::{
    Account, Action, Aircraft, Assessment, ClosestApproach, Effect, Factor, Filing, Incident,
    IncidentError, OwnFigure, Pair, RecordKind, RecordRef, RiskCategory, Seen, Window,
};
use deconflict_ledger::{Entry, EntryBody, FieldValue, Fields, Hash, KeyId, SignedEntry, Text};
use deconflict_store::{LoggedReport, NewEvent, Write};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::line::AUTHOR_SKEW_MS_MAX;
use crate::line::ledger::{LedgerEntryError, signed_entry};
use crate::state::State;
use crate::wire::TrackReportIn;

type St = Arc<State>;

/// The field of an assessment's entry that `deconflict report` counts as its risk category.
pub const RISK_CATEGORY_FIELD: &str = "risk_category";
/// The field naming an incident entry's step.
pub const COURSE_FIELD: &str = "course";
/// A pair is found when its closest approach comes within this many times the agreement's
/// separation minima.
pub const NEAR_FACTOR: f64 = 2.0;
/// Most aircraft pairs one incident holds (the closest are kept).
pub const PAIRS_MAX: usize = 16;
/// Most alert and line entries of the window one incident names (the first are kept).
pub const RECORDS_MAX: usize = 200;
/// Most logged reports one filing examines (all parties, the whole window).
pub const FILING_REPORTS_MAX: usize = 1_000_000;
/// Most tracks examined for one filing.
pub const TRACKS_MAX: usize = 20_000;
/// Most incidents the service holds.
pub const INCIDENTS_MAX: usize = 10_000;
/// Largest request body of the incident routes.
pub const BODY_BYTES_MAX: usize = 64 * 1024;
/// Bytes of one text field of an entry's input (below the record's text limit).
const CHUNK_BYTES: usize = 4_000;

// ---------------------------------------------------------------------------------------------
// The wire.

/// A party's own figure of the closest approach, when it disputes the computed one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FigureIn {
    pub horizontal_m: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertical_m: Option<u32>,
}

/// A party's account: free text in its language and what its aircraft saw and did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountIn {
    /// ISO 639 code of `text`'s language (`en`, `ru`, …).
    pub language: String,
    pub text: String,
    /// `visual`, `radar`, `told` or `nothing`.
    pub seen: String,
    /// `none`, `turned`, `climbed`, `descended`, `speed` or `called_line`.
    pub action: String,
    /// The party's own figure when it disputes the computed closest approach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figure: Option<FigureIn>,
}

/// What the filing party signs: `POST /v1/incidents` without the signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FilingIn {
    /// The incident's id, chosen by the filer (letters, digits, `_ - . : /`; at most 64 bytes).
    pub id: String,
    pub from_unix_ms: i64,
    pub to_unix_ms: i64,
    /// The filer's own aircraft, when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_track: Option<String>,
    /// The other party, when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_party: Option<String>,
    pub account: AccountIn,
    /// When the party signed it (its clock), UNIX ms.
    pub time_unix_ms: i64,
}

/// `POST /v1/incidents`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentFile {
    #[serde(flatten)]
    pub filing: FilingIn,
    /// The party's signature (base64) of the record entry of its filing.
    pub entry_signature: String,
}

/// What a party signs to give its account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountGiven {
    pub incident_id: String,
    pub account: AccountIn,
    pub time_unix_ms: i64,
}

/// `POST /v1/incidents/{id}/accounts`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentAccount {
    pub account: AccountIn,
    pub time_unix_ms: i64,
    pub entry_signature: String,
}

/// What a working-group member signs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessmentGiven {
    pub incident_id: String,
    /// The member's id, as the agreement names it under its party.
    pub member: String,
    /// `A`…`E`.
    pub category: String,
    /// Contributory factors by name (the incident model's fixed list).
    #[serde(default)]
    pub factors: Vec<String>,
    #[serde(default)]
    pub remarks: String,
    pub time_unix_ms: i64,
}

/// `POST /v1/incidents/{id}/assessments`: sent by the member's party, signed by the member.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentAssess {
    pub member: String,
    pub category: String,
    #[serde(default)]
    pub factors: Vec<String>,
    #[serde(default)]
    pub remarks: String,
    pub time_unix_ms: i64,
    /// The member's signature (base64) of the record entry of its assessment.
    pub entry_signature: String,
}

/// Where an aircraft was at the closest approach.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PositionView {
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub alt_m: f64,
}

/// A pair's closest approach, computed from the recorded reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApproachView {
    pub horizontal_m: f64,
    pub vertical_m: f64,
    pub time_unix_ms: i64,
    pub a: PositionView,
    pub b: PositionView,
    /// How far (ms) the instant lies from the nearest report of either track: how much of the
    /// figure is interpolation.
    pub gap_ms: i64,
}

/// Two aircraft of different parties.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PairView {
    pub a_party: String,
    pub a_track: String,
    pub b_party: String,
    pub b_track: String,
    pub closest_approach: Option<ApproachView>,
}

/// An alert or line message of the window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecordView {
    pub time_unix_ms: i64,
    /// `alert` or `line_message`.
    pub kind: String,
    pub id: String,
    pub label: String,
}

/// What the service computed at the filing: its `evidence` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Evidence {
    pub(crate) incident_id: String,
    pub(crate) pairs: Vec<PairView>,
    pub(crate) records: Vec<RecordView>,
    /// Per party, the last report sequence number the computation could see: the reports of
    /// the window with a number up to it are those it used.
    #[serde(default)]
    pub(crate) reports_through: BTreeMap<String, u64>,
}

/// A party's account as the incident holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccountView {
    pub party: String,
    pub account: AccountIn,
    pub at_unix_ms: i64,
    pub late: bool,
}

/// An assessment as the incident holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AssessmentView {
    pub member: String,
    pub party: String,
    pub category: String,
    pub factors: Vec<String>,
    pub remarks: String,
    pub at_unix_ms: i64,
}

/// An incident as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IncidentView {
    pub id: String,
    /// `filed`, `accounts_complete`, `agreed` or `disputed`.
    pub status: String,
    /// The agreed category, when agreed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub filed_by: String,
    pub filed_unix_ms: i64,
    pub from_unix_ms: i64,
    pub to_unix_ms: i64,
    /// When the other parties' accounts are due.
    pub accounts_due_unix_ms: i64,
    pub parties: Vec<String>,
    /// The closest approach of the closest pair.
    pub closest_approach: Option<ApproachView>,
    pub pairs: Vec<PairView>,
    pub records: Vec<RecordView>,
    pub accounts: Vec<AccountView>,
    /// Parties whose account is missing.
    pub waiting: Vec<String>,
    /// Parties whose account was not given by the deadline.
    pub overdue: Vec<String>,
    /// Each party's latest assessment, side by side.
    pub views: Vec<AssessmentView>,
    /// Every assessment, in the order taken.
    pub assessments: Vec<AssessmentView>,
}

// ---------------------------------------------------------------------------------------------
// Record entries: what each author signs.

/// Why an incident entry could not be made.
#[derive(Debug, thiserror::Error)]
#[error("incident entry: {0}")]
pub struct EntryError(String);

fn entry_err(e: impl std::fmt::Display) -> EntryError {
    EntryError(e.to_string())
}

/// The record entry of one step: `course`, the input as JSON (chunked) and its SHA-256.
fn course_entry(
    author: &str,
    time_ms: i64,
    incident_id: &str,
    course: &str,
    input: &str,
    extra: &[(&str, &str)],
) -> Result<Entry, EntryError> {
    let mut fields = Fields::new();
    fields
        .insert(COURSE_FIELD, FieldValue::text(course).map_err(entry_err)?)
        .map_err(entry_err)?;
    fields
        .insert(
            "input_sha256",
            FieldValue::text(Hash::of(input.as_bytes()).to_hex()).map_err(entry_err)?,
        )
        .map_err(entry_err)?;
    let chunks = chunks(input);
    if chunks.len() == 1 {
        fields
            .insert("input", FieldValue::text(chunks[0]).map_err(entry_err)?)
            .map_err(entry_err)?;
    } else {
        for (k, c) in chunks.iter().enumerate() {
            fields
                .insert(
                    &format!("input_{}", k + 1),
                    FieldValue::text(*c).map_err(entry_err)?,
                )
                .map_err(entry_err)?;
        }
    }
    for (name, value) in extra {
        fields
            .insert(name, FieldValue::text(*value).map_err(entry_err)?)
            .map_err(entry_err)?;
    }
    let author = KeyId::new(author).map_err(entry_err)?;
    let time = u64::try_from(time_ms)
        .map_err(|_| EntryError(format!("time {time_ms} ms is before 1970")))?;
    Entry::new(
        author,
        time,
        EntryBody::IncidentReport {
            fields,
            incident_id: Text::new(incident_id).map_err(entry_err)?,
        },
    )
    .map_err(entry_err)
}

/// `s` in pieces of at most [`CHUNK_BYTES`], cut at character boundaries.
fn chunks(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while rest.len() > CHUNK_BYTES {
        let mut cut = CHUNK_BYTES;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    out.push(rest);
    out
}

/// One step of an incident, as its record entry carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub incident_id: String,
    /// `filing`, `evidence`, `account` or `assessment`.
    pub course: String,
    /// The step's input, as JSON.
    pub input: String,
}

/// The step an entry records, or `None` for an entry that is not an incident step.
pub fn step_of(e: &Entry) -> Option<Step> {
    entry_input(e).map(|(id, course, input)| Step {
        incident_id: id.to_string(),
        course: course.to_string(),
        input,
    })
}

/// Incidents folded from their steps in record order: the service at start, and `verify` of
/// an evidence bundle, fold the same way.
pub struct Folder {
    config: incident::Config,
    held: BTreeMap<String, Incident>,
    filings: BTreeMap<String, (String, FilingIn)>,
}

impl Folder {
    pub fn new(config: incident::Config) -> Folder {
        Folder {
            config,
            held: BTreeMap::new(),
            filings: BTreeMap::new(),
        }
    }

    /// Applies the next step, signed by `author`.
    pub fn apply(&mut self, author: &str, step: &Step) -> Result<(), String> {
        fold(
            &self.config,
            &mut self.held,
            &mut self.filings,
            author,
            &step.incident_id,
            &step.course,
            &step.input,
        )
    }

    /// Lets the account deadlines fall due at `now_ms`.
    pub fn timeout(&mut self, now_ms: i64) {
        for i in self.held.values_mut() {
            i.handle_timeout(now_ms);
        }
    }

    /// Incident `id` as the API shows it.
    pub fn view(&self, id: &str) -> Option<IncidentView> {
        self.held.get(id).map(view)
    }

    fn into_held(self) -> BTreeMap<String, Incident> {
        self.held
    }
}

/// The input an incident entry carries, or `None` for an entry that is not an incident step.
fn entry_input(e: &Entry) -> Option<(&str, &str, String)> {
    let EntryBody::IncidentReport {
        fields,
        incident_id,
    } = e.body()
    else {
        return None;
    };
    let Some(FieldValue::Text(course)) = fields.get(COURSE_FIELD) else {
        return None;
    };
    let input = match fields.get("input") {
        Some(FieldValue::Text(t)) => t.as_str().to_string(),
        _ => {
            let mut s = String::new();
            for k in 1.. {
                match fields.get(&format!("input_{k}")) {
                    Some(FieldValue::Text(t)) => s.push_str(t.as_str()),
                    _ => break,
                }
            }
            s
        }
    };
    Some((incident_id.as_str(), course.as_str(), input))
}

fn json<T: Serialize>(v: &T) -> Result<String, EntryError> {
    serde_json::to_string(v).map_err(entry_err)
}

/// The filing party's entry.
pub fn filing_entry(party: &str, f: &FilingIn) -> Result<Entry, EntryError> {
    course_entry(party, f.time_unix_ms, &f.id, "filing", &json(f)?, &[])
}

/// A party's account entry.
pub fn account_entry(party: &str, a: &AccountGiven) -> Result<Entry, EntryError> {
    course_entry(
        party,
        a.time_unix_ms,
        &a.incident_id,
        "account",
        &json(a)?,
        &[],
    )
}

/// A member's assessment entry; `risk_category` is what `deconflict report` counts.
pub fn assessment_entry(a: &AssessmentGiven) -> Result<Entry, EntryError> {
    course_entry(
        &a.member,
        a.time_unix_ms,
        &a.incident_id,
        "assessment",
        &json(a)?,
        &[(RISK_CATEGORY_FIELD, &a.category)],
    )
}

// ---------------------------------------------------------------------------------------------
// The model's inputs from the wire.

fn account_of(party: &str, a: &AccountIn) -> Result<Account, ApiError> {
    let seen = Seen::from_name(&a.seen).ok_or_else(|| {
        ApiError::invalid(
            "account.seen",
            format!(
                "{:?} is not one of {}",
                a.seen,
                Seen::ALL.map(Seen::as_str).join(", ")
            ),
        )
    })?;
    let action = Action::from_name(&a.action).ok_or_else(|| {
        ApiError::invalid(
            "account.action",
            format!(
                "{:?} is not one of {}",
                a.action,
                Action::ALL.map(Action::as_str).join(", ")
            ),
        )
    })?;
    Ok(Account {
        party: party.to_string(),
        language: a.language.clone(),
        text: a.text.clone(),
        seen,
        action,
        figure: a.figure.as_ref().map(|f| OwnFigure {
            horizontal_m: f.horizontal_m,
            vertical_m: f.vertical_m,
        }),
    })
}

fn assessment_of(party: &str, a: &AssessmentGiven) -> Result<Assessment, ApiError> {
    let category = RiskCategory::from_name(&a.category).ok_or_else(|| {
        ApiError::invalid(
            "category",
            format!("{:?} is not a risk category A, B, C, D or E", a.category),
        )
    })?;
    let mut factors = BTreeSet::new();
    for (k, name) in a.factors.iter().enumerate() {
        let f = Factor::from_name(name).ok_or_else(|| {
            ApiError::invalid(
                format!("factors[{k}]"),
                format!(
                    "{name:?} is not one of {}",
                    Factor::ALL
                        .iter()
                        .map(|f| f.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        factors.insert(f);
    }
    Ok(Assessment {
        member: a.member.clone(),
        party: party.to_string(),
        category,
        factors,
        remarks: a.remarks.clone(),
    })
}

pub(crate) fn approach_view(c: &ClosestApproach) -> ApproachView {
    let p = |p: &incident::Position| PositionView {
        lat_deg: p.lat_deg,
        lon_deg: p.lon_deg,
        alt_m: p.alt_m,
    };
    ApproachView {
        horizontal_m: c.horizontal_m,
        vertical_m: c.vertical_m,
        time_unix_ms: c.time_ms,
        a: p(&c.a),
        b: p(&c.b),
        gap_ms: c.gap_ms,
    }
}

fn approach_of(v: &ApproachView) -> ClosestApproach {
    let p = |p: &PositionView| incident::Position {
        lat_deg: p.lat_deg,
        lon_deg: p.lon_deg,
        alt_m: p.alt_m,
    };
    ClosestApproach {
        horizontal_m: v.horizontal_m,
        vertical_m: v.vertical_m,
        time_ms: v.time_unix_ms,
        a: p(&v.a),
        b: p(&v.b),
        gap_ms: v.gap_ms,
    }
}

fn filing_of(party: &str, f: &FilingIn, e: &Evidence) -> Result<Filing, ApiError> {
    Ok(Filing {
        id: f.id.clone(),
        window: Window::new(f.from_unix_ms, f.to_unix_ms).map_err(incident_error)?,
        pairs: e
            .pairs
            .iter()
            .map(|p| Pair {
                a: Aircraft {
                    party: p.a_party.clone(),
                    track: p.a_track.clone(),
                },
                b: Aircraft {
                    party: p.b_party.clone(),
                    track: p.b_track.clone(),
                },
                approach: p.closest_approach.as_ref().map(approach_of),
            })
            .collect(),
        records: e
            .records
            .iter()
            .map(|r| RecordRef {
                time_ms: r.time_unix_ms,
                kind: if r.kind == "alert" {
                    RecordKind::Alert
                } else {
                    RecordKind::LineMessage
                },
                id: r.id.clone(),
                label: r.label.clone(),
            })
            .collect(),
        account: account_of(party, &f.account)?,
    })
}

/// The API's refusal for a model's refusal: each has its own code.
fn incident_error(e: IncidentError) -> ApiError {
    let status = match &e {
        IncidentError::NotAParty { .. } | IncidentError::NotMember { .. } => StatusCode::FORBIDDEN,
        IncidentError::AccountGiven { .. } | IncidentError::AccountsPending { .. } => {
            StatusCode::CONFLICT
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::new(status, e.code(), e.to_string())
}

// ---------------------------------------------------------------------------------------------
// The incidents the service holds.

/// The incidents, folded from the record.
#[derive(Default)]
pub struct Incidents {
    held: Mutex<BTreeMap<String, Incident>>,
    /// Each incident's entries in the record (indexes), in record order.
    entries: Mutex<BTreeMap<String, Vec<u64>>>,
    /// Held from a step's check until its entry is recorded, so two steps never both pass
    /// against the same incident.
    writer: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Incidents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incidents").finish_non_exhaustive()
    }
}

impl Incidents {
    fn read<R>(&self, f: impl FnOnce(&BTreeMap<String, Incident>) -> R) -> Result<R, ApiError> {
        let held = self
            .held
            .lock()
            .map_err(|_| ApiError::internal("incidents lock poisoned"))?;
        Ok(f(&held))
    }

    fn write<R>(
        &self,
        f: impl FnOnce(&mut BTreeMap<String, Incident>) -> R,
    ) -> Result<R, ApiError> {
        let mut held = self
            .held
            .lock()
            .map_err(|_| ApiError::internal("incidents lock poisoned"))?;
        Ok(f(&mut held))
    }

    /// The window of incident `id`.
    pub fn window_of(&self, id: &str) -> Option<(i64, i64)> {
        self.held
            .lock()
            .ok()?
            .get(id)
            .map(|i| (i.window().from_ms(), i.window().to_ms()))
    }

    /// The record entries of incident `id`, in record order.
    pub fn entries_of(&self, id: &str) -> Vec<u64> {
        self.entries
            .lock()
            .map(|e| e.get(id).cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    fn add_entries(&self, id: &str, indexes: impl IntoIterator<Item = u64>) {
        if let Ok(mut e) = self.entries.lock() {
            e.entry(id.to_string()).or_default().extend(indexes);
        }
    }

    /// Incidents held.
    pub fn len(&self) -> usize {
        self.held.lock().map(|h| h.len()).unwrap_or(0)
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Who may assess for each party.
pub fn config(terms: &crate::terms::Terms) -> incident::Config {
    incident::Config {
        members: terms
            .agreement
            .parties()
            .iter()
            .map(|p| {
                (
                    p.id().as_str().to_string(),
                    p.members().iter().map(|m| m.id().to_string()).collect(),
                )
            })
            .collect(),
        account_deadline_ms: None,
    }
}

/// The party of working-group member `member`, and its key.
fn member_key(
    terms: &crate::terms::Terms,
    member: &str,
) -> Option<(String, ed25519_dalek::VerifyingKey)> {
    terms.agreement.parties().iter().find_map(|p| {
        p.member(member).and_then(|m| {
            ed25519_dalek::VerifyingKey::from_bytes(m.public_key().as_bytes())
                .ok()
                .map(|k| (p.id().as_str().to_string(), k))
        })
    })
}

/// What a step found wrong while folding the record at start (logged, the step skipped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub entry_index: u64,
    pub why: String,
}

/// Folds the record's incident entries into the incidents, in record order. A step that does
/// not apply (it never should: each was checked before it was recorded) is skipped and named.
pub fn restore(state: &State, log: &crate::record::ServiceLog) -> Result<Vec<Skipped>, String> {
    let journal = log.journal();
    let size = journal.latest_tree_head().tree_head().size();
    let mut folder = Folder::new(config(&state.terms));
    let mut skipped = Vec::new();
    let mut indexes: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut start = 0;
    while start < size {
        // A read returns at most `ENTRIES_PER_READ_MAX` entries: the next one starts after them.
        let entries = journal
            .entries(start, size)
            .map_err(|e| format!("record entries from {start}: {e}"))?;
        if entries.is_empty() {
            return Err(format!(
                "record entries from {start}: none read below {size}"
            ));
        }
        let end = start + entries.len() as u64;
        for (k, signed) in entries.iter().enumerate() {
            let index = start + k as u64;
            let e = signed.entry();
            let Some(step) = step_of(e) else {
                continue;
            };
            indexes
                .entry(step.incident_id.clone())
                .or_default()
                .push(index);
            if let Err(why) = folder.apply(e.author().as_str(), &step) {
                skipped.push(Skipped {
                    entry_index: index,
                    why,
                });
            }
        }
        start = end;
    }
    folder.timeout(state.clock.now_ms());
    let held = folder.into_held();
    state
        .incidents
        .write(|h| *h = held)
        .map_err(|e| e.body.message)?;
    if let Ok(mut e) = state.incidents.entries.lock() {
        *e = indexes;
    }
    Ok(skipped)
}

fn fold(
    config: &incident::Config,
    held: &mut BTreeMap<String, Incident>,
    filings: &mut BTreeMap<String, (String, FilingIn)>,
    author: &str,
    id: &str,
    course: &str,
    input: &str,
) -> Result<(), String> {
    let msg = |e: ApiError| e.body.message;
    match course {
        "filing" => {
            let f: FilingIn = serde_json::from_str(input).map_err(|e| e.to_string())?;
            filings.insert(id.to_string(), (author.to_string(), f));
        }
        "evidence" => {
            let e: Evidence = serde_json::from_str(input).map_err(|e| e.to_string())?;
            let (party, f) = filings
                .remove(id)
                .ok_or_else(|| format!("evidence of {id} without its filing"))?;
            let filing = filing_of(&party, &f, &e).map_err(msg)?;
            let (i, _) =
                Incident::file(filing, config, f.time_unix_ms).map_err(|e| e.to_string())?;
            held.insert(id.to_string(), i);
        }
        "account" => {
            let a: AccountGiven = serde_json::from_str(input).map_err(|e| e.to_string())?;
            let i = held
                .get_mut(id)
                .ok_or_else(|| format!("no incident {id}"))?;
            i.handle_timeout(a.time_unix_ms);
            i.account(account_of(author, &a.account).map_err(msg)?, a.time_unix_ms)
                .map_err(|e| e.to_string())?;
        }
        "assessment" => {
            let a: AssessmentGiven = serde_json::from_str(input).map_err(|e| e.to_string())?;
            let i = held
                .get_mut(id)
                .ok_or_else(|| format!("no incident {id}"))?;
            let party = config
                .members
                .iter()
                .find(|(_, m)| m.contains(author))
                .map(|(p, _)| p.clone())
                .ok_or_else(|| format!("{author} is no working-group member"))?;
            i.handle_timeout(a.time_unix_ms);
            i.assess(assessment_of(&party, &a).map_err(msg)?, a.time_unix_ms)
                .map_err(|e| e.to_string())?;
        }
        other => return Err(format!("unknown incident step {other:?}")),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Views.

fn account_in(a: &Account) -> AccountIn {
    AccountIn {
        language: a.language.clone(),
        text: a.text.clone(),
        seen: a.seen.as_str().to_string(),
        action: a.action.as_str().to_string(),
        figure: a.figure.map(|f| FigureIn {
            horizontal_m: f.horizontal_m,
            vertical_m: f.vertical_m,
        }),
    }
}

fn assessment_view(g: &incident::GivenAssessment) -> AssessmentView {
    let a = &g.assessment;
    AssessmentView {
        member: a.member.clone(),
        party: a.party.clone(),
        category: a.category.as_str().to_string(),
        factors: a.factors.iter().map(|f| f.as_str().to_string()).collect(),
        remarks: a.remarks.clone(),
        at_unix_ms: g.at_ms,
    }
}

/// The incident as the API shows it.
pub fn view(i: &Incident) -> IncidentView {
    let status = i.status();
    IncidentView {
        id: i.id().to_string(),
        status: status.as_str().to_string(),
        category: match status {
            incident::Status::Agreed(c) => Some(c.as_str().to_string()),
            _ => None,
        },
        filed_by: i.filed_by().to_string(),
        filed_unix_ms: i.filed_at_ms(),
        from_unix_ms: i.window().from_ms(),
        to_unix_ms: i.window().to_ms(),
        accounts_due_unix_ms: i.deadline_ms(),
        parties: i.parties().iter().cloned().collect(),
        closest_approach: i.closest().map(approach_view),
        pairs: i
            .pairs()
            .iter()
            .map(|p| PairView {
                a_party: p.a.party.clone(),
                a_track: p.a.track.clone(),
                b_party: p.b.party.clone(),
                b_track: p.b.track.clone(),
                closest_approach: p.approach.as_ref().map(approach_view),
            })
            .collect(),
        records: i
            .records()
            .iter()
            .map(|r| RecordView {
                time_unix_ms: r.time_ms,
                kind: r.kind.as_str().to_string(),
                id: r.id.clone(),
                label: r.label.clone(),
            })
            .collect(),
        accounts: i
            .accounts()
            .iter()
            .map(|(p, g)| AccountView {
                party: p.clone(),
                account: account_in(&g.account),
                at_unix_ms: g.at_ms,
                late: g.late,
            })
            .collect(),
        waiting: i.waiting(),
        overdue: i.overdue().iter().cloned().collect(),
        views: i.views().values().map(|g| assessment_view(g)).collect(),
        assessments: i.assessments().iter().map(assessment_view).collect(),
    }
}

/// The stream events of a step's effects, to every party of the incident.
fn events(i: &Incident, effects: &[Effect], now_ms: i64) -> Vec<Write> {
    let mut out = Vec::new();
    for e in effects {
        let (what, detail): (&str, serde_json::Value) = match e {
            Effect::Filed => ("filed", serde_json::json!({})),
            Effect::Account { party, late } => {
                ("account", serde_json::json!({"party": party, "late": late}))
            }
            Effect::AccountsComplete => ("accounts_complete", serde_json::json!({})),
            Effect::AccountOverdue { party } => {
                ("account_overdue", serde_json::json!({"party": party}))
            }
            Effect::Assessed { party, category } => (
                "assessed",
                serde_json::json!({"party": party, "category": category.as_str()}),
            ),
            Effect::Outcome(s) => (
                "outcome",
                serde_json::json!({"status": s.as_str(),
                    "category": match s { incident::Status::Agreed(c) => Some(c.as_str()), _ => None }}),
            ),
        };
        let mut body = serde_json::json!({
            "incident_id": i.id(),
            "what": what,
            "status": i.status().as_str(),
            "time_unix_ms": now_ms,
        });
        if let (Some(b), serde_json::Value::Object(d)) = (body.as_object_mut(), detail) {
            b.extend(d);
        }
        for p in i.parties() {
            out.push(Write::Event(NewEvent {
                party: p.clone(),
                kind: "incident".into(),
                body: body.to_string(),
                created_ms: now_ms,
            }));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The evidence: pairs and records from the store.

fn report_of(body: &str) -> Option<incident::Report> {
    let r: TrackReportIn = serde_json::from_str(body).ok()?;
    Some(incident::Report {
        time_ms: r.time_unix_ms,
        lat_deg: r.lat_deg,
        lon_deg: r.lon_deg,
        alt_m: r.alt_m,
    })
}

pub(crate) type Tracks = BTreeMap<(String, String), Vec<incident::Report>>;

/// The reports of one track as the closest approach takes them: in time order, one per
/// instant (the first accepted of equal times).
pub(crate) fn track_reports<'a>(
    rows: impl Iterator<Item = &'a LoggedReport>,
) -> Vec<incident::Report> {
    let mut rows: Vec<&LoggedReport> = rows.collect();
    rows.sort_by_key(|r| (r.time_ms, r.seq));
    let mut out: Vec<incident::Report> = rows.iter().filter_map(|r| report_of(&r.body)).collect();
    out.dedup_by_key(|r| r.time_ms);
    out
}

/// The tracks with logged reports in the window, per (party, track), and the last report
/// number each party's reports there carry.
fn tracks_in(
    store: &mut dyn deconflict_store::Store,
    f: &FilingIn,
    caller: &str,
) -> Result<(Tracks, BTreeMap<String, u64>), ApiError> {
    let store_err = |e: deconflict_store::StoreError| ApiError::internal(format!("store: {e}"));
    // A track whose latest report is older than the window has none in it.
    let candidates: Vec<(String, String)> = store
        .latest_reports()
        .map_err(store_err)?
        .into_iter()
        .filter(|r| r.time_ms >= f.from_unix_ms)
        .filter(|r| {
            if r.party == caller {
                f.own_track.as_ref().is_none_or(|t| *t == r.track_id)
            } else {
                f.other_party.as_ref().is_none_or(|p| *p == r.party)
            }
        })
        .map(|r| (r.party, r.track_id))
        .collect();
    if candidates.len() > TRACKS_MAX {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_tracks",
            format!(
                "{} tracks reported since the window began, more than {TRACKS_MAX}: name own_track and other_party",
                candidates.len()
            ),
        ));
    }
    let mut through: BTreeMap<String, u64> = BTreeMap::new();
    let mut tracks = Tracks::new();
    let mut read = 0;
    for (party, track) in candidates {
        let rows = store
            .track_reports_between(
                &party,
                &track,
                f.from_unix_ms,
                f.to_unix_ms,
                FILING_REPORTS_MAX + 1 - read,
            )
            .map_err(store_err)?;
        read += rows.len();
        if read > FILING_REPORTS_MAX {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "too_many_reports",
                format!("more than {FILING_REPORTS_MAX} reports in the window: shorten it"),
            ));
        }
        if let Some(last) = rows.iter().map(|r| r.seq).max() {
            let t = through.entry(party.clone()).or_default();
            *t = (*t).max(last);
        }
        let reports = track_reports(rows.iter());
        if !reports.is_empty() {
            tracks.insert((party, track), reports);
        }
    }
    Ok((tracks, through))
}

/// The pairs of different parties that came near in the window (see the module's text).
fn pairs_of(tracks: &Tracks, f: &FilingIn, caller: &str, h_m: f64, v_m: f64) -> Vec<PairView> {
    let keys: Vec<&(String, String)> = tracks.keys().collect();
    let mut found: Vec<(f64, PairView)> = Vec::new();
    let mut own_closest: Option<(f64, PairView)> = None;
    for (x, a) in keys.iter().enumerate() {
        for b in &keys[x + 1..] {
            if a.0 == b.0 || (a.0 != caller && b.0 != caller) {
                continue;
            }
            let Ok(Some(c)) =
                incident::closest_approach(&tracks[*a], &tracks[*b], f.from_unix_ms, f.to_unix_ms)
            else {
                continue;
            };
            let pair = PairView {
                a_party: a.0.clone(),
                a_track: a.1.clone(),
                b_party: b.0.clone(),
                b_track: b.1.clone(),
                closest_approach: Some(approach_view(&c)),
            };
            if c.horizontal_m <= NEAR_FACTOR * h_m && c.vertical_m <= NEAR_FACTOR * v_m {
                found.push((c.horizontal_m, pair));
            } else if f.own_track.is_some()
                && own_closest
                    .as_ref()
                    .is_none_or(|(d, _)| c.horizontal_m < *d)
            {
                own_closest = Some((c.horizontal_m, pair));
            }
        }
    }
    if found.is_empty()
        && let Some(p) = own_closest
    {
        found.push(p);
    }
    found.sort_by(|x, y| x.0.total_cmp(&y.0));
    found.truncate(PAIRS_MAX);
    found.into_iter().map(|(_, p)| p).collect()
}

/// The alerts and line messages of the window that concern the incident's parties.
async fn records_of(
    state: &St,
    f: &FilingIn,
    parties: &BTreeSet<String>,
) -> Result<Vec<RecordView>, ApiError> {
    let (from, to) = (f.from_unix_ms, f.to_unix_ms);
    let alerts = state
        .with_store(|s| s.alerts_all())
        .await?
        .map_err(|e| ApiError::internal(format!("store: {e}")))?;
    let mut out: Vec<RecordView> = alerts
        .iter()
        .filter(|a| (from..=to).contains(&a.created_ms))
        .filter(|a| a.parties.iter().any(|p| parties.contains(p)))
        .map(|a| RecordView {
            time_unix_ms: a.created_ms,
            kind: RecordKind::Alert.as_str().into(),
            id: a.id.clone(),
            label: a.kind.clone(),
        })
        .collect();
    out.extend(state.line.read(|line| {
        line.messages()
            .filter(|t| (from..=to).contains(&t.received_at().unix_ms()))
            .filter(|t| {
                let m = t.message();
                parties.contains(m.from().as_str()) || parties.contains(m.to().as_str())
            })
            .map(|t| RecordView {
                time_unix_ms: t.received_at().unix_ms(),
                kind: RecordKind::LineMessage.as_str().into(),
                id: t.message().id().to_string(),
                label: t.message().kind().to_string(),
            })
            .collect::<Vec<_>>()
    })?);
    out.sort_by(|a, b| (a.time_unix_ms, &a.id).cmp(&(b.time_unix_ms, &b.id)));
    out.truncate(RECORDS_MAX);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Handlers.

pub(crate) fn routes() -> OpenApiRouter<St> {
    OpenApiRouter::new()
        .routes(routes!(list_incidents, file_incident))
        .routes(routes!(get_incident))
        .routes(routes!(give_account))
        .routes(routes!(assess_incident))
        .routes(routes!(incident_evidence))
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.len() > BODY_BYTES_MAX {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "{} bytes; an incident request is at most {BODY_BYTES_MAX}",
                body.len()
            ),
        ));
    }
    crate::error::parse_json(body)
}

fn skew(field: &str, t_ms: i64, now_ms: i64) -> Result<(), ApiError> {
    if (t_ms - now_ms).abs() > AUTHOR_SKEW_MS_MAX {
        return Err(ApiError::invalid(
            field,
            format!(
                "{t_ms} ms is more than {AUTHOR_SKEW_MS_MAX} ms from the service's clock ({now_ms} ms)"
            ),
        ));
    }
    Ok(())
}

fn signature_error(e: LedgerEntryError) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "entry_signature_invalid",
        e.to_string(),
    )
    .with_field("entry_signature")
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found("incident", id)
}

/// Counts a refusal by its code.
fn refused<T>(state: &State, r: Result<T, ApiError>) -> Result<T, ApiError> {
    if let Err(e) = &r {
        state.metrics.incident_refused(&e.body.code);
    }
    r
}

/// An incident only its parties may see.
fn visible(i: &Incident, caller: &str) -> bool {
    i.parties().contains(caller)
}

/// The entries and events of a step, recorded and stored before the answer.
async fn record(
    state: &St,
    id: &str,
    entries: Vec<SignedEntry>,
    writes: Vec<Write>,
) -> Result<(), ApiError> {
    if state.log().is_none() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "record_unavailable",
            "incidents live in the shared record, and this service runs without one",
        ));
    }
    let n = entries.len();
    let places = state
        .commit_recorded(entries, Vec::new(), writes, |_| Vec::new())
        .await?;
    // The step's own entries come first in the batch.
    state
        .incidents
        .add_entries(id, places.iter().take(n).map(|(i, _)| *i));
    Ok(())
}

/// Incidents the calling party is a party to, newest first.
#[utoipa::path(get, path = "/v1/incidents", tag = "incidents",
    responses((status = 200, body = Vec<IncidentView>), (status = 401, body = ErrorBody)))]
async fn list_incidents(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
) -> Result<Json<Vec<IncidentView>>, ApiError> {
    let mut out = state.incidents.read(|h| {
        h.values()
            .filter(|i| visible(i, &c.party))
            .map(view)
            .collect::<Vec<_>>()
    })?;
    out.sort_by(|a, b| (b.filed_unix_ms, &b.id).cmp(&(a.filed_unix_ms, &a.id)));
    Ok(Json(out))
}

/// One incident (to its parties only: another party gets 404, as for an unknown id).
#[utoipa::path(get, path = "/v1/incidents/{id}", tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, body = IncidentView), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
async fn get_incident(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<IncidentView>, ApiError> {
    state
        .incidents
        .read(|h| h.get(&id).filter(|i| visible(i, &c.party)).map(view))?
        .map(Json)
        .ok_or_else(|| not_found(&id))
}

/// The incident's evidence bundle (to its parties only): its entries, the reports of its
/// aircraft with their proofs, a signed tree head (see [`crate::evidence`]). 409
/// `reports_not_committed` until the window's reports are in a report batch (the next cycle).
#[utoipa::path(get, path = "/v1/incidents/{id}/evidence", tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, description = "The bundle (deconflict-evidence/1)"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn incident_evidence(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<crate::evidence::Bundle>, ApiError> {
    let visible = state
        .incidents
        .read(|h| h.get(&id).is_some_and(|i| visible(i, &c.party)))?;
    if !visible {
        return Err(not_found(&id));
    }
    let r = crate::evidence::build(&state, &id).await;
    refused(&state, r).map(Json)
}

/// Files an incident: the service finds the aircraft pairs of the window and computes their
/// closest approach from the recorded reports; the filer's account is the first. 201 with the
/// incident.
#[utoipa::path(post, path = "/v1/incidents", tag = "incidents",
    request_body = IncidentFile,
    responses((status = 201, body = IncidentView), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn file_incident(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Result<(StatusCode, Json<IncidentView>), ApiError> {
    let r = file(&state, &c.party, &body).await;
    refused(&state, r)
}

async fn file(
    state: &St,
    caller: &str,
    body: &[u8],
) -> Result<(StatusCode, Json<IncidentView>), ApiError> {
    let req: IncidentFile = parse(body)?;
    let f = req.filing;
    let now = state.clock.now_ms();
    skew("time_unix_ms", f.time_unix_ms, now)?;
    incident::model::check_id("id", &f.id).map_err(incident_error)?;
    Window::new(f.from_unix_ms, f.to_unix_ms).map_err(incident_error)?;
    if f.to_unix_ms > now + AUTHOR_SKEW_MS_MAX {
        return Err(ApiError::invalid(
            "to_unix_ms",
            "the window ends in the future: an incident is filed about what happened",
        ));
    }
    if let Some(p) = &f.other_party
        && (p == caller || state.terms.party(p).is_none())
    {
        return Err(ApiError::invalid(
            "other_party",
            format!("{p} is not another party to the agreement"),
        ));
    }
    account_of(caller, &f.account)?;
    let key = party_key(state, caller)?;
    let entry = filing_entry(caller, &f).map_err(|e| ApiError::invalid("id", e.to_string()))?;
    let signed = signed_entry(entry, &req.entry_signature, &key).map_err(signature_error)?;
    let _writer = state.incidents.writer.lock().await;
    let (exists, count) = state.incidents.read(|h| (h.contains_key(&f.id), h.len()))?;
    if exists {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "id_taken",
            format!("incident {} exists", f.id),
        )
        .with_field("id"));
    }
    if count >= INCIDENTS_MAX {
        return Err(ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "incidents_full",
            format!("the service holds {INCIDENTS_MAX} incidents, its limit"),
        ));
    }
    let (h_m, v_m) = (state.terms.h_sep_m, state.terms.v_sep_m);
    let fc = f.clone();
    let who = caller.to_string();
    let (tracks, reports_through) = state.with_store(move |s| tracks_in(s, &fc, &who)).await??;
    let pairs = pairs_of(&tracks, &f, caller, h_m, v_m);
    let mut parties: BTreeSet<String> = BTreeSet::new();
    for p in &pairs {
        parties.insert(p.a_party.clone());
        parties.insert(p.b_party.clone());
    }
    let records = records_of(state, &f, &parties).await?;
    let evidence = Evidence {
        incident_id: f.id.clone(),
        pairs,
        records,
        reports_through: reports_through
            .into_iter()
            .filter(|(p, _)| parties.contains(p))
            .collect(),
    };
    let filing = filing_of(caller, &f, &evidence)?;
    let (i, effects) =
        Incident::file(filing, &config(&state.terms), f.time_unix_ms).map_err(incident_error)?;
    let log = state.log().cloned();
    let mut entries = vec![signed];
    if let Some(log) = &log {
        let e = course_entry(
            crate::record::SERVICE_KEY_ID,
            f.time_unix_ms,
            &f.id,
            "evidence",
            &json(&evidence).map_err(|e| ApiError::internal(e.to_string()))?,
            &[],
        )
        .map_err(|e| ApiError::internal(e.to_string()))?;
        entries.push(
            log.sign_own(e)
                .map_err(|e| ApiError::internal(format!("record: {e}")))?,
        );
    }
    record(state, &f.id, entries, events(&i, &effects, now)).await?;
    let v = view(&i);
    state.incidents.write(|h| h.insert(f.id.clone(), i))?;
    state.metrics.incident_step("filing");
    Ok((StatusCode::CREATED, Json(v)))
}

/// A party's account of an incident it is a party to.
#[utoipa::path(post, path = "/v1/incidents/{id}/accounts", tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    request_body = IncidentAccount,
    responses((status = 200, body = IncidentView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn give_account(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<IncidentView>, ApiError> {
    let r = account(&state, &c.party, id, &body).await;
    refused(&state, r)
}

async fn account(
    state: &St,
    caller: &str,
    id: String,
    body: &[u8],
) -> Result<Json<IncidentView>, ApiError> {
    let req: IncidentAccount = parse(body)?;
    let now = state.clock.now_ms();
    skew("time_unix_ms", req.time_unix_ms, now)?;
    let account = account_of(caller, &req.account)?;
    let given = AccountGiven {
        incident_id: id.clone(),
        account: req.account,
        time_unix_ms: req.time_unix_ms,
    };
    let entry =
        account_entry(caller, &given).map_err(|e| ApiError::invalid("account", e.to_string()))?;
    let signed = signed_entry(entry, &req.entry_signature, &party_key(state, caller)?)
        .map_err(signature_error)?;
    let at = given.time_unix_ms;
    take_step(state, id, signed, at, "account", |i| i.account(account, at)).await
}

/// The key of `party`, the caller.
fn party_key(state: &State, party: &str) -> Result<ed25519_dalek::VerifyingKey, ApiError> {
    state
        .terms
        .party(party)
        .map(|p| p.key)
        .ok_or_else(|| ApiError::internal("caller is not a party"))
}

/// Applies one signed step to incident `id`, one step at a time: first the account deadlines
/// that fell due by the step's time, then `step`; records its entry and events, then keeps
/// the incident as it now stands.
async fn take_step(
    state: &St,
    id: String,
    signed: SignedEntry,
    at_ms: i64,
    course: &str,
    step: impl FnOnce(&mut Incident) -> Result<Vec<Effect>, IncidentError>,
) -> Result<Json<IncidentView>, ApiError> {
    let now = state.clock.now_ms();
    let _writer = state.incidents.writer.lock().await;
    let Some(mut i) = state.incidents.read(|h| h.get(&id).cloned())? else {
        return Err(not_found(&id));
    };
    let mut effects = i.handle_timeout(at_ms);
    effects.extend(step(&mut i).map_err(incident_error)?);
    record(state, &id, vec![signed], events(&i, &effects, now)).await?;
    let v = view(&i);
    state.incidents.write(|h| h.insert(id, i))?;
    state.metrics.incident_step(course);
    Ok(Json(v))
}

/// A working-group member's assessment: sent by its party, signed by the member's own key.
#[utoipa::path(post, path = "/v1/incidents/{id}/assessments", tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    request_body = IncidentAssess,
    responses((status = 200, body = IncidentView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn assess_incident(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<IncidentView>, ApiError> {
    let r = assess(&state, &c.party, id, &body).await;
    refused(&state, r)
}

async fn assess(
    state: &St,
    caller: &str,
    id: String,
    body: &[u8],
) -> Result<Json<IncidentView>, ApiError> {
    let req: IncidentAssess = parse(body)?;
    let now = state.clock.now_ms();
    skew("time_unix_ms", req.time_unix_ms, now)?;
    let Some((party, key)) = member_key(&state.terms, &req.member) else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_working_group_member",
            format!(
                "{} is not a working-group member named in the agreement",
                req.member
            ),
        )
        .with_field("member"));
    };
    if party != caller {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_working_group_member",
            format!(
                "{} is {party}'s working-group member, and the request is signed by {caller}",
                req.member
            ),
        )
        .with_field("member"));
    }
    let given = AssessmentGiven {
        incident_id: id.clone(),
        member: req.member,
        category: req.category,
        factors: req.factors,
        remarks: req.remarks,
        time_unix_ms: req.time_unix_ms,
    };
    let assessment = assessment_of(&party, &given)?;
    let entry =
        assessment_entry(&given).map_err(|e| ApiError::invalid("remarks", e.to_string()))?;
    let signed = signed_entry(entry, &req.entry_signature, &key).map_err(signature_error)?;
    let at = given.time_unix_ms;
    take_step(state, id, signed, at, "assessment", |i| {
        i.assess(assessment, at)
    })
    .await
}

/// Accounts that fell overdue by `now_ms`: their events, once per party and incident.
pub(crate) async fn tick(state: &St, now_ms: i64) -> Result<(), ApiError> {
    let due = state.incidents.read(|h| {
        h.values()
            .any(|i| i.poll_timeout().is_some_and(|t| t <= now_ms))
    })?;
    if !due {
        return Ok(());
    }
    let _writer = state.incidents.writer.lock().await;
    let changed: Vec<(Incident, Vec<Effect>)> = state.incidents.read(|h| {
        h.values()
            .filter(|i| i.poll_timeout().is_some_and(|t| t <= now_ms))
            .map(|i| {
                let mut i = i.clone();
                let e = i.handle_timeout(now_ms);
                (i, e)
            })
            .collect()
    })?;
    let writes: Vec<Write> = changed
        .iter()
        .flat_map(|(i, e)| events(i, e, now_ms))
        .collect();
    state.commit(writes).await?;
    state.incidents.write(|h| {
        for (i, _) in changed {
            h.insert(i.id().to_string(), i);
        }
    })?;
    Ok(())
}
