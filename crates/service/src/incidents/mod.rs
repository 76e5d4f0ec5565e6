//! Incidents before the working group, as the service holds them (their routes and deadlines:
//! [`crate::incidents_api`]): filed by a party over `POST /v1/incidents`, with the evidence computed from the recorded track reports, each
//! party's signed account, and the working-group members' signed assessments
//! ([`deconflict_incident::Incident`] is the sans-IO course of one incident).
//!
//! # The record is where incidents live
//!
//! Every step is a log entry `incident_report` whose `course` field names it:
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
//! ([`Incidents::restore`]), so an incident is exactly what the record says and survives every restart.
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
use std::sync::Mutex;

use axum::http::StatusCode;
use deconflict_incident as incident;
use deconflict_incident::{
    Account, Action, Aircraft, Assessment, ClosestApproach, Effect, Factor, Filing, Incident,
    IncidentError, OwnFigure, Pair, RecordKind, RecordRef, RiskCategory, Seen, Window,
};
use deconflict_log::{Entry, EntryBody, FieldValue, Fields, Hash, KeyId, Text};
use deconflict_store::{LoggedReport, NewEvent, Write};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::terms::Terms;

pub use deconflict_incident::{ASSESSED_FOR_FIELD, COURSE_FIELD, RISK_CATEGORY_FIELD};
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

mod course;
mod find;
mod views;
mod wire;

pub(crate) use course::*;
pub use course::{Folder, Step, account_entry, assessment_entry, filing_entry, step_of};
pub(crate) use find::*;
pub use views::view;
pub(crate) use views::*;
pub use wire::*;

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
    pub(crate) fn read<R>(
        &self,
        f: impl FnOnce(&BTreeMap<String, Incident>) -> R,
    ) -> Result<R, ApiError> {
        let held = self
            .held
            .lock()
            .map_err(|_| ApiError::internal("incidents lock poisoned"))?;
        Ok(f(&held))
    }

    pub(crate) fn write<R>(
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

    /// The log entries of incident `id`, in record order.
    pub fn entries_of(&self, id: &str) -> Vec<u64> {
        // An incident with no entries yet has none (the default is the answer). A poisoned lock
        // still holds valid entries, which are read rather than lost.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()
            .unwrap_or_default()
    }

    /// Folds the record's incident entries into the incidents, in record order. A step that
    /// does not apply (it never should: each was checked before it was recorded) is skipped and
    /// named.
    pub fn restore(
        &self,
        terms: &Terms,
        log: &crate::log_entries::ServiceLog,
        now_ms: i64,
    ) -> Result<Vec<Skipped>, String> {
        let log_file = log.log_file();
        let size = log_file.latest_tree_head().tree_head().size();
        let mut folder = Folder::new(config(terms));
        let mut skipped = Vec::new();
        let mut indexes: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        let mut start = 0;
        while start < size {
            // A read returns at most `ENTRIES_PER_READ_MAX` entries: the next one starts after them.
            let entries = log_file
                .entries(start, size)
                .map_err(|e| format!("log entries from {start}: {e}"))?;
            if entries.is_empty() {
                return Err(format!("log entries from {start}: none read below {size}"));
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
        folder.timeout(now_ms);
        let held = folder.into_held();
        self.write(|h| *h = held).map_err(|e| e.body.message)?;
        if let Ok(mut e) = self.entries.lock() {
            *e = indexes;
        }
        Ok(skipped)
    }

    /// Waits for the turn of one step: held from its check until its entry is recorded.
    pub(crate) async fn step_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.writer.lock().await
    }

    pub(crate) fn add_entries(&self, id: &str, indexes: impl IntoIterator<Item = u64>) {
        if let Ok(mut e) = self.entries.lock() {
            e.entry(id.to_string()).or_default().extend(indexes);
        }
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
pub(crate) fn member_key(
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
