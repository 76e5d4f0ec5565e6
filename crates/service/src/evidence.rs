//! Evidence bundles: one self-contained file that proves an incident to anyone, offline.
//!
//! A bundle ([`Bundle`], `GET /v1/incidents/{id}/evidence`, `deconflict evidence`) holds:
//! - the log entries of the incident's course (filing, the service's evidence, accounts,
//!   assessments), of the alerts and line messages of its window and of the acknowledgements of
//!   those messages, and of the latest revision of each notified operation of its parties whose
//!   window meets the incident's (sealed fields as the record holds them), each with its
//!   inclusion proof;
//! - the reports of the aircraft of each pair in the window that the computation used (each
//!   party's reports up to the sequence number the evidence entry names), each with its path to
//!   its `report_batch` entry's root, that entry being in the bundle with its inclusion proof;
//! - a signed tree head covering all of it, the log's key, and the key of every author;
//! - the openings a party chose to disclose ([`Bundle::disclose`], `deconflict evidence
//!   --disclose`): the salt and value of sealed fields of the bundle's entries.
//!
//! [`verify`] checks everything a reader can: the tree head's signature (against a log key the
//! reader pins), every entry's signature and inclusion, every report's path, that every alert
//! and line message the evidence entry names is among the entries, that the bundle's
//! reports are exactly those of the pairs' tracks in the window up to the numbers the evidence
//! entry names; it folds the incident again from its entries and requires it to equal the
//! bundle's incident, and recomputes each pair's closest approach from the reports, which must
//! equal the recorded one. Every field of the bundle is checked or refused when unknown, so a
//! changed byte anywhere fails.

use std::collections::{BTreeMap, BTreeSet};

use deconflict_incident as incident;
use deconflict_log::{
    EntryBody, FieldValue, InclusionProof, Opening, PublicKey, SignedEntry, SignedTreeHead,
    VerifyingKey,
};
use deconflict_store::LoggedReport;
use serde::{Deserialize, Serialize};

use crate::incidents::{ApproachView, Evidence, IncidentView};
use deconflict_client::line_entry::recorded_message_id;

/// The bundle's format name and version.
pub const FORMAT: &str = "deconflict-evidence/1";
/// Most reports one bundle carries per track.
pub const TRACK_REPORTS_MAX: usize = 20_000;
/// Largest bundle read.
pub const BUNDLE_BYTES_MAX: usize = 256 * 1024 * 1024;

/// A log entry with its inclusion in the bundle's tree head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvedEntry {
    /// The signed entry's canonical JSON.
    pub entry: String,
    pub proof: InclusionProof,
}

/// A logged report with its path to its batch's root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvedReport {
    pub party: String,
    pub seq: u64,
    pub track_id: String,
    pub time_unix_ms: i64,
    /// The report's evidence fields (track, time, position) as JSON
    /// ([`crate::reports::ReportCore`]): the rest of the report, which the agreement may not
    /// disclose to the reader, is only bound by `rest_sha256`.
    pub core: String,
    /// The log's salted digest of the whole stored report.
    pub rest_sha256: deconflict_log::Hash,
    /// Index in the record of its `report_batch` entry (one of the bundle's entries).
    pub batch_entry: u64,
    pub path: InclusionProof,
}

/// A sealed field of one of the bundle's entries, opened: what a party chose to disclose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disclosed {
    /// The entry's index in the record (one of the bundle's entries).
    pub entry: u64,
    pub field: String,
    pub opening: Opening,
}

/// A disclosed field as a verified bundle shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Opened {
    pub entry: u64,
    /// The entry's author and kind (`notification`, `alert`, …).
    pub author: String,
    pub kind: String,
    pub field: String,
    pub value: FieldValue,
}

/// The log: its key id and public key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogKey {
    pub id: String,
    pub public_key: PublicKey,
}

/// An evidence bundle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub format: String,
    pub incident: IncidentView,
    pub log: LogKey,
    /// The signed tree head's canonical JSON.
    pub tree_head: String,
    /// The key of every author of the bundle's entries (other than the log).
    pub keys: BTreeMap<String, PublicKey>,
    /// The working-group member → party of every member who assessed.
    pub members: BTreeMap<String, String>,
    pub entries: Vec<ProvedEntry>,
    pub reports: Vec<ProvedReport>,
    /// Sealed fields opened by whoever wrote the bundle (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disclosed: Vec<Disclosed>,
}

impl Bundle {
    /// Adds the openings of `openings` (commitment → opening, e.g. a party's openings file)
    /// that open a sealed field of one of the bundle's entries; returns how many were added.
    pub fn disclose(
        &mut self,
        openings: &std::collections::HashMap<deconflict_log::Hash, Opening>,
    ) -> Result<usize, BundleError> {
        let mut added = 0;
        for (k, pe) in self.entries.iter().enumerate() {
            let e = SignedEntry::from_bytes(pe.entry.as_bytes())
                .map_err(|e| BundleError(format!("entry {k}: {e}")))?;
            for (field, value) in fields_of(e.entry().body()) {
                let FieldValue::Commitment(c) = value else {
                    continue;
                };
                let Some(o) = openings.get(c) else { continue };
                let d = Disclosed {
                    entry: pe.proof.index,
                    field: field.to_string(),
                    opening: o.clone(),
                };
                if !self.disclosed.contains(&d) {
                    self.disclosed.push(d);
                    added += 1;
                }
            }
        }
        Ok(added)
    }
}

/// The fields of an entry's body, by name.
fn fields_of(body: &EntryBody) -> Vec<(&str, &FieldValue)> {
    let fields = match body {
        EntryBody::Notification { fields, .. }
        | EntryBody::Alert { fields, .. }
        | EntryBody::LineMessage { fields, .. }
        | EntryBody::Acknowledgement { fields, .. }
        | EntryBody::IncidentReport { fields, .. } => fields,
        _ => return Vec::new(),
    };
    fields.iter().collect()
}

/// What the reader trusts from elsewhere.
#[derive(Clone, Debug, Default)]
pub struct Pins {
    /// The log's key.
    pub log_key: Option<VerifyingKey>,
    /// Parties' and members' keys (from the agreement).
    pub keys: Option<BTreeMap<String, VerifyingKey>>,
    /// Member → party (from the agreement).
    pub members: Option<BTreeMap<String, String>>,
}

impl Pins {
    /// What a reader pins: the log's key, and the agreement's parties' and working-group
    /// members' keys with each member's party.
    pub fn from_agreement(
        agreement: &deconflict_agreement::Agreement,
        log_key: Option<VerifyingKey>,
    ) -> Result<Pins, BundleError> {
        let key = |id: &str, bytes: &[u8; 32]| {
            VerifyingKey::from_bytes(bytes)
                .map_err(|e| BundleError(format!("the agreement's key of {id}: {e}")))
        };
        let mut keys = BTreeMap::new();
        let mut members = BTreeMap::new();
        for p in agreement.parties() {
            let party = p.id().as_str();
            keys.insert(party.to_string(), key(party, p.public_key().as_bytes())?);
            for m in p.members() {
                keys.insert(m.id().to_string(), key(m.id(), m.public_key().as_bytes())?);
                members.insert(m.id().to_string(), party.to_string());
            }
        }
        Ok(Pins {
            log_key,
            keys: Some(keys),
            members: Some(members),
        })
    }
}

/// What a verified bundle shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    pub incident: IncidentView,
    /// Each pair's closest approach, recomputed from the bundle's reports.
    pub approaches: Vec<Option<ApproachView>>,
    pub entries: usize,
    /// The alerts and line messages of the window the evidence names, each found among the
    /// entries.
    pub records: usize,
    pub reports: usize,
    /// The disclosed fields, each opening a sealed field of one of the entries.
    pub opened: Vec<Opened>,
    pub tree_size: u64,
    pub log_key_pinned: bool,
    pub keys_pinned: bool,
}

/// Why a bundle does not verify.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BundleError(pub String);

fn fail<T>(why: impl Into<String>) -> Result<T, BundleError> {
    Err(BundleError(why.into()))
}

/// The reports of `pairs`' tracks in `[from, to]` that the evidence entry's computation used,
/// in the order the bundle carries them.
pub fn used_reports<'a>(
    evidence_pairs: &[crate::incidents::PairView],
    reports_through: &BTreeMap<String, u64>,
    from_ms: i64,
    to_ms: i64,
    rows: impl Iterator<Item = &'a LoggedReport>,
) -> Vec<&'a LoggedReport> {
    let tracks: BTreeSet<(&str, &str)> = evidence_pairs
        .iter()
        .flat_map(|p| {
            [
                (p.a_party.as_str(), p.a_track.as_str()),
                (p.b_party.as_str(), p.b_track.as_str()),
            ]
        })
        .collect();
    let mut out: Vec<&LoggedReport> = rows
        .filter(|r| tracks.contains(&(r.party.as_str(), r.track_id.as_str())))
        .filter(|r| (from_ms..=to_ms).contains(&r.time_ms))
        .filter(|r| reports_through.get(&r.party).is_some_and(|t| r.seq <= *t))
        .collect();
    out.sort_by(|a, b| (&a.party, a.seq).cmp(&(&b.party, b.seq)));
    out
}

/// Verifies `bytes` as a bundle.
pub fn verify(bytes: &[u8], pins: &Pins) -> Result<Verified, BundleError> {
    if bytes.len() > BUNDLE_BYTES_MAX {
        return fail(format!(
            "{} bytes, more than the {BUNDLE_BYTES_MAX} a bundle may have",
            bytes.len()
        ));
    }
    let b: Bundle = serde_json::from_slice(bytes)
        .map_err(|e| BundleError(format!("not an evidence bundle: {e}")))?;
    if b.format != FORMAT {
        return fail(format!("format {:?}, expected {FORMAT:?}", b.format));
    }
    let sth = tree_head(&b, pins)?;
    let keys = author_keys(&b, pins)?;
    let by_index = proved_entries(&b, &keys, &sth)?;
    let evidence = fold_incident(&b, pins, &by_index, sth.tree_head().time_ms())?;
    named_records(&evidence, &by_index)?;
    let opened = opened(&b, &by_index)?;
    let logged = proved_reports(&b, &by_index)?;
    let approaches = recompute(&b, &evidence, &logged)?;
    Ok(Verified {
        incident: b.incident,
        approaches,
        entries: b.entries.len(),
        records: evidence.records.len(),
        reports: b.reports.len(),
        opened,
        tree_size: sth.tree_head().size(),
        log_key_pinned: pins.log_key.is_some(),
        keys_pinned: pins.keys.is_some(),
    })
}

/// The log's key (equal to the pinned one when pinned), and the tree head it signed.
fn tree_head(b: &Bundle, pins: &Pins) -> Result<SignedTreeHead, BundleError> {
    let log_key = b.log.public_key.0;
    if let Some(pinned) = &pins.log_key
        && *pinned != log_key
    {
        return fail(format!(
            "the bundle's log key {} is not the pinned one {}",
            b.log.public_key.to_hex(),
            PublicKey(*pinned).to_hex()
        ));
    }
    let sth = SignedTreeHead::from_bytes(b.tree_head.as_bytes())
        .map_err(|e| BundleError(format!("tree head: {e}")))?;
    if sth.as_bytes() != b.tree_head.as_bytes() {
        return fail("tree head: not in canonical form");
    }
    sth.verify(&log_key)
        .map_err(|e| BundleError(format!("tree head: {e}")))?;
    if sth.tree_head().log().as_str() != b.log.id {
        return fail(format!(
            "the tree head is log {}'s, the bundle names log {}",
            sth.tree_head().log().as_str(),
            b.log.id
        ));
    }
    Ok(sth)
}

/// Authors' keys: the bundle's, each equal to the pinned one when pinned.
fn author_keys<'a>(
    b: &'a Bundle,
    pins: &Pins,
) -> Result<BTreeMap<&'a str, VerifyingKey>, BundleError> {
    let mut keys: BTreeMap<&str, VerifyingKey> = BTreeMap::new();
    for (id, k) in &b.keys {
        if id == &b.log.id {
            return fail(format!("keys: {id} is the log's id"));
        }
        if let Some(pinned) = &pins.keys {
            match pinned.get(id) {
                Some(p) if *p == k.0 => {}
                Some(_) => return fail(format!("keys: {id}'s key is not the pinned one")),
                None => return fail(format!("keys: {id} is not in the pinned keys")),
            }
        }
        keys.insert(id.as_str(), k.0);
    }
    Ok(keys)
}

/// Every entry, by index: canonical, signed by its author, included in the tree head; every
/// key listed signed one of them.
fn proved_entries(
    b: &Bundle,
    keys: &BTreeMap<&str, VerifyingKey>,
    sth: &SignedTreeHead,
) -> Result<BTreeMap<u64, SignedEntry>, BundleError> {
    let log_key = b.log.public_key.0;
    let size = sth.tree_head().size();
    let root = *sth.tree_head().root();
    let mut by_index: BTreeMap<u64, SignedEntry> = BTreeMap::new();
    let mut authors: BTreeSet<String> = BTreeSet::new();
    for (k, pe) in b.entries.iter().enumerate() {
        let what = |why: String| BundleError(format!("entry {k}: {why}"));
        let e = SignedEntry::from_bytes(pe.entry.as_bytes()).map_err(|e| what(e.to_string()))?;
        if e.as_bytes() != pe.entry.as_bytes() {
            return Err(what("not in canonical form".into()));
        }
        let author = e.entry().author().as_str().to_string();
        let key = if author == b.log.id {
            log_key
        } else {
            *keys
                .get(author.as_str())
                .ok_or_else(|| what(format!("its author {author} has no key in the bundle")))?
        };
        e.verify(&key).map_err(|e| what(e.to_string()))?;
        if pe.proof.size != size {
            return Err(what(format!(
                "its proof is for a tree of {}, the tree head's is {size}",
                pe.proof.size
            )));
        }
        pe.proof
            .verify(&e.leaf_hash(), &root)
            .map_err(|e| what(format!("not in the tree head's tree: {e}")))?;
        if by_index.insert(pe.proof.index, e).is_some() {
            return Err(what(format!("index {} given twice", pe.proof.index)));
        }
        if author != b.log.id {
            authors.insert(author);
        }
    }
    for id in b.keys.keys() {
        if !authors.contains(id) {
            return fail(format!("keys: {id} signed none of the bundle's entries"));
        }
    }
    Ok(by_index)
}

/// The incident folded again from its entries in record order and brought to the tree head's
/// time (`at_ms`: an account due by then and missing is overdue, as the service shows it),
/// equal to the bundle's; returns the service's evidence entry.
fn fold_incident(
    b: &Bundle,
    pins: &Pins,
    by_index: &BTreeMap<u64, SignedEntry>,
    at_ms: u64,
) -> Result<Evidence, BundleError> {
    let members: BTreeMap<String, String> = match &pins.members {
        Some(m) => m.clone(),
        None => b.members.clone(),
    };
    if pins.members.is_some() {
        for (m, p) in &b.members {
            if members.get(m) != Some(p) {
                return fail(format!("members: {m} is not {p}'s member in the agreement"));
            }
        }
    }
    let mut config = incident::Config::default();
    for (m, p) in &members {
        config
            .members
            .entry(p.clone())
            .or_default()
            .insert(m.clone());
    }
    let mut folded = crate::incidents::Folder::new(config);
    let mut evidence: Option<Evidence> = None;
    let mut assessors: BTreeSet<String> = BTreeSet::new();
    for (index, e) in by_index {
        if let Some(step) = crate::incidents::step_of(e.entry()) {
            if step.incident_id != b.incident.id {
                return fail(format!(
                    "entry {index} is about incident {}, the bundle's is {}",
                    step.incident_id, b.incident.id
                ));
            }
            if step.course == "evidence" {
                if e.entry().author().as_str() != b.log.id {
                    return fail(format!("entry {index}: evidence not signed by the log"));
                }
                evidence = Some(
                    serde_json::from_str(&step.input)
                        .map_err(|e| BundleError(format!("entry {index}: evidence: {e}")))?,
                );
            }
            if step.course == "assessment" {
                assessors.insert(e.entry().author().as_str().to_string());
            }
            folded
                .apply(e.entry().author().as_str(), &step)
                .map_err(|why| BundleError(format!("entry {index}: {why}")))?;
        }
    }
    for m in b.members.keys() {
        if !assessors.contains(m) {
            return fail(format!(
                "members: {m} made none of the bundle's assessments"
            ));
        }
    }
    let Some(evidence) = evidence else {
        return fail("the bundle holds no evidence entry of the incident");
    };
    folded.timeout(i64::try_from(at_ms).unwrap_or(i64::MAX));
    let view = folded
        .view(&b.incident.id)
        .ok_or_else(|| BundleError("the bundle's entries file no incident".into()))?;
    if view != b.incident {
        return fail("the bundle's incident is not what its entries say");
    }
    Ok(evidence)
}

/// Each disclosed opening opens the sealed field it names, of one of the bundle's entries.
fn opened(b: &Bundle, by_index: &BTreeMap<u64, SignedEntry>) -> Result<Vec<Opened>, BundleError> {
    let mut out = Vec::new();
    for (k, d) in b.disclosed.iter().enumerate() {
        let what = |why: String| BundleError(format!("disclosed {k}: {why}"));
        let e = by_index
            .get(&d.entry)
            .ok_or_else(|| what(format!("entry {} is not in the bundle", d.entry)))?;
        let value = fields_of(e.entry().body())
            .into_iter()
            .find(|(name, _)| *name == d.field)
            .map(|(_, v)| v)
            .ok_or_else(|| what(format!("entry {} has no field {}", d.entry, d.field)))?;
        let FieldValue::Commitment(c) = value else {
            return Err(what(format!(
                "field {} of entry {} is not sealed",
                d.field, d.entry
            )));
        };
        d.opening
            .verify(c)
            .map_err(|e| what(format!("field {} of entry {}: {e}", d.field, d.entry)))?;
        out.push(Opened {
            entry: d.entry,
            author: e.entry().author().as_str().to_string(),
            kind: e.entry().body().kind().to_string(),
            field: d.field.clone(),
            value: d.opening.value.clone(),
        });
    }
    Ok(out)
}

/// Every alert and line message the evidence entry names is among the bundle's entries.
fn named_records(
    evidence: &Evidence,
    by_index: &BTreeMap<u64, SignedEntry>,
) -> Result<(), BundleError> {
    let (mut alerts, mut messages) = (BTreeSet::new(), BTreeSet::new());
    for e in by_index.values() {
        if let EntryBody::Alert { alert_id, .. } = e.entry().body() {
            alerts.insert(alert_id.as_str().to_string());
        } else if let Some(id) = recorded_message_id(e.entry()) {
            messages.insert(id);
        }
    }
    for r in &evidence.records {
        let held = if r.kind == incident::RecordKind::Alert.as_str() {
            alerts.contains(r.id.as_str())
        } else if r.kind == incident::RecordKind::LineMessage.as_str() {
            messages.contains(r.id.as_str())
        } else {
            return fail(format!(
                "the evidence names a record of unknown kind {:?}",
                r.kind
            ));
        };
        if !held {
            return fail(format!(
                "the evidence names {} {} and the bundle does not hold its entry",
                r.kind, r.id
            ));
        }
    }
    Ok(())
}

/// The reports, each proved against its batch entry.
fn proved_reports(
    b: &Bundle,
    by_index: &BTreeMap<u64, SignedEntry>,
) -> Result<Vec<LoggedReport>, BundleError> {
    let mut logged: Vec<LoggedReport> = Vec::with_capacity(b.reports.len());
    for (k, r) in b.reports.iter().enumerate() {
        let what = |why: String| BundleError(format!("report {k} ({} {}): {why}", r.party, r.seq));
        let batch = by_index.get(&r.batch_entry).ok_or_else(|| {
            what(format!(
                "its batch entry {} is not in the bundle",
                r.batch_entry
            ))
        })?;
        if batch.entry().author().as_str() != b.log.id {
            return Err(what("its batch entry is not the log's".into()));
        }
        crate::reports::check_report(
            &r.party,
            r.seq,
            &r.core,
            &r.rest_sha256,
            &r.path,
            batch.entry(),
        )
        .map_err(what)?;
        let core: crate::reports::ReportCore =
            serde_json::from_str(&r.core).map_err(|e| what(format!("not a report's core: {e}")))?;
        if core.track_id != r.track_id || core.time_unix_ms != r.time_unix_ms {
            return Err(what("track id or time differ from the report's own".into()));
        }
        logged.push(LoggedReport {
            party: r.party.clone(),
            seq: r.seq,
            track_id: r.track_id.clone(),
            time_ms: r.time_unix_ms,
            body: r.core.clone(),
        });
    }
    Ok(logged)
}

/// Checks that the reports are exactly those the computation used, and recomputes each pair's
/// closest approach from them: it must equal the recorded one.
fn recompute(
    b: &Bundle,
    evidence: &Evidence,
    logged: &[LoggedReport],
) -> Result<Vec<Option<ApproachView>>, BundleError> {
    let (from, to) = (b.incident.from_unix_ms, b.incident.to_unix_ms);
    let used = used_reports(
        &evidence.pairs,
        &evidence.reports_through,
        from,
        to,
        logged.iter(),
    );
    if used.len() != logged.len() {
        return fail(format!(
            "{} of the bundle's {} reports are not of the incident's aircraft in its window",
            logged.len() - used.len(),
            logged.len()
        ));
    }
    for w in used.windows(2) {
        if (&w[0].party, w[0].seq) >= (&w[1].party, w[1].seq) {
            return fail(format!(
                "reports out of order or repeated at {} {}",
                w[1].party, w[1].seq
            ));
        }
    }
    // Each pair's closest approach, recomputed.
    let mut approaches = Vec::new();
    for (k, p) in evidence.pairs.iter().enumerate() {
        let track = |party: &str, id: &str| {
            crate::incidents::track_reports(
                logged
                    .iter()
                    .filter(|r| r.party == party && r.track_id == id),
            )
        };
        let a = track(&p.a_party, &p.a_track);
        let bb = track(&p.b_party, &p.b_track);
        let again = if a.is_empty() || bb.is_empty() {
            None
        } else {
            incident::closest_approach(&a, &bb, from, to)
                .map_err(|e| BundleError(format!("pair {k}: {e}")))?
                .map(|c| crate::incidents::approach_view(&c))
        };
        if again != p.closest_approach {
            return fail(format!(
                "pair {k} ({}/{} - {}/{}): the closest approach recomputed from the bundle's reports ({}) is not the recorded one ({})",
                p.a_party,
                p.a_track,
                p.b_party,
                p.b_track,
                describe(again.as_ref()),
                describe(p.closest_approach.as_ref())
            ));
        }
        approaches.push(again);
    }
    Ok(approaches)
}

fn describe(a: Option<&ApproachView>) -> String {
    match a {
        Some(a) => format!(
            "{:.1} m horizontal, {:.1} m vertical at {} ms",
            a.horizontal_m, a.vertical_m, a.time_unix_ms
        ),
        None => "none".into(),
    }
}

/// The bundle of incident `id` (its parties' view: the caller was checked).
pub(crate) async fn build(
    state: &std::sync::Arc<crate::state::State>,
    id: &str,
) -> Result<Bundle, crate::error::ApiError> {
    use crate::error::ApiError;
    use axum::http::StatusCode;
    let internal = |e: &dyn std::fmt::Display| ApiError::internal(format!("evidence: {e}"));
    let Some(log) = state.log().cloned() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "record_unavailable",
            "incidents live in the shared log, and this service runs without one",
        ));
    };
    let log_file = log.log_file();
    let course: Vec<u64> = state.incidents.entries_of(id);
    let mut steps: Vec<(u64, SignedEntry)> = Vec::new();
    for i in &course {
        let e = log_file
            .entries(*i, i + 1)
            .map_err(|e| internal(&e))?
            .pop()
            .ok_or_else(|| internal(&format!("entry {i} missing")))?;
        steps.push((*i, e));
    }
    let evidence: Evidence = steps
        .iter()
        .filter_map(|(_, e)| crate::incidents::step_of(e.entry()))
        .find(|s| s.course == "evidence")
        .ok_or_else(|| internal(&"no evidence entry"))
        .and_then(|s| serde_json::from_str(&s.input).map_err(|e| internal(&e)))?;
    let (from, to) = state
        .incidents
        .window_of(id)
        .ok_or_else(|| internal(&"no window"))?;
    let named = |kind: incident::RecordKind| -> BTreeSet<String> {
        evidence
            .records
            .iter()
            .filter(|r| r.kind == kind.as_str())
            .map(|r| r.id.clone())
            .collect()
    };
    let alert_ids = named(incident::RecordKind::Alert);
    let message_ids = named(incident::RecordKind::LineMessage);
    let ev = evidence.clone();
    let WindowRows {
        alerts: alert_entries,
        lines: line_since,
        notifications,
        reports: proved,
        cut_short,
    } = state
        .with_store(move |s| window_rows(s, &ev, &alert_ids, from, to))
        .await?
        .map_err(|e| internal(&e))?;
    if let Some(((p, t), n)) = cut_short {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bundle_too_large",
            format!(
                "{p}'s track {t} has at least {n} reports in the window, more than the {TRACK_REPORTS_MAX} a bundle carries per track"
            ),
        ));
    }
    let line_entries =
        line_entries_of(log_file, &line_since, &message_ids).map_err(|e| internal(&e))?;
    let mut per_track: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for r in &proved {
        *per_track.entry((&r.party, &r.track_id)).or_default() += 1;
    }
    if let Some(((p, t), n)) = per_track.iter().find(|(_, n)| **n > TRACK_REPORTS_MAX) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bundle_too_large",
            format!(
                "{p}'s track {t} has {n} reports in the window, more than the {TRACK_REPORTS_MAX} a bundle carries per track"
            ),
        ));
    }
    let salt = log.report_salt();
    let reports = state
        .with_store(move |s| crate::reports::proofs(s, &salt, &proved))
        .await?
        .map_err(|e| match e {
            crate::reports::ProofError::NotBatched { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "reports_not_committed",
                format!("{e}: ask again after the next cycle"),
            ),
            other => internal(&other),
        })?;
    let sth = log_file.latest_tree_head();
    let size = sth.tree_head().size();
    let mut indexes: BTreeSet<u64> = course.iter().copied().collect();
    indexes.extend(alert_entries);
    indexes.extend(line_entries);
    indexes.extend(notifications);
    indexes.extend(reports.iter().map(|r| r.batch_entry));
    if let Some(last) = indexes.iter().next_back()
        && *last >= size
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "reports_not_committed",
            format!("entry {last} is not under a signed tree head yet: ask again in a moment"),
        ));
    }
    let (entries, keys) = proved_at(log_file, &indexes, &sth).map_err(|e| internal(&e))?;
    let (members, incident) = folded(&state.terms, &steps, id, &sth).map_err(|e| internal(&e))?;
    Ok(Bundle {
        format: FORMAT.to_string(),
        incident,
        log: LogKey {
            id: sth.tree_head().log().as_str().to_string(),
            public_key: PublicKey(log.public_key()),
        },
        tree_head: String::from_utf8_lossy(sth.as_bytes()).into_owned(),
        keys,
        members,
        entries,
        reports: reports
            .into_iter()
            .map(|p| ProvedReport {
                core: crate::reports::core_of(&p.report.body).unwrap_or_default(),
                rest_sha256: crate::reports::rest_digest(
                    &salt,
                    &p.report.party,
                    p.report.seq,
                    &p.report.body,
                ),
                party: p.report.party,
                seq: p.report.seq,
                track_id: p.report.track_id,
                time_unix_ms: p.report.time_ms,
                batch_entry: p.batch_entry,
                path: p.path,
            })
            .collect(),
        disclosed: Vec::new(),
    })
}

/// The entries at `indexes`, each with its inclusion proof under `sth`, and the key of every
/// author other than the log.
fn proved_at(
    log_file: &deconflict_logfile::LogFile,
    indexes: &BTreeSet<u64>,
    sth: &SignedTreeHead,
) -> Result<(Vec<ProvedEntry>, BTreeMap<String, PublicKey>), String> {
    let size = sth.tree_head().size();
    let ring = log_file.keys();
    let mut entries = Vec::new();
    let mut keys = BTreeMap::new();
    for i in indexes {
        let e = log_file
            .entries(*i, i + 1)
            .map_err(|e| e.to_string())?
            .pop()
            .ok_or_else(|| format!("entry {i} missing"))?;
        let author = e.entry().author().clone();
        if author.as_str() != sth.tree_head().log().as_str() {
            let k = ring
                .get(&author)
                .ok_or_else(|| format!("no key for {}", author.as_str()))?;
            keys.insert(author.as_str().to_string(), PublicKey(*k));
        }
        let proof = log_file
            .inclusion_proof(*i, size)
            .map_err(|e| e.to_string())?;
        entries.push(ProvedEntry {
            entry: String::from_utf8_lossy(e.as_bytes()).into_owned(),
            proof,
        });
    }
    Ok((entries, keys))
}

/// What the store says of the incident's window.
struct WindowRows {
    /// Entry indexes of the window's alerts.
    alerts: Vec<u64>,
    /// Entry indexes of the line entries from the window's start on.
    lines: Vec<u64>,
    /// Entry indexes of the latest revision of the pairs' parties' notifications whose window
    /// meets the incident's.
    notifications: Vec<u64>,
    /// The reports the evidence's computation used.
    reports: Vec<LoggedReport>,
    /// When the read of the pairs' reports stopped at its limit: the track with the most found
    /// (it has more in the window than a bundle carries) and how many.
    cut_short: Option<((String, String), usize)>,
}

/// Line log rows read at a time when looking for the window's line entries.
const LINE_ROWS_PER_READ: usize = 10_000;

/// The log entries of the window's alerts (by their bindings), of every line entry that took
/// effect from the window's start on (by their bindings: the messages and acknowledgements among
/// them are picked from the record), and the reports of the pairs' tracks in the window that the
/// evidence's computation used.
fn window_rows(
    s: &dyn deconflict_store::Store,
    ev: &Evidence,
    alert_ids: &BTreeSet<String>,
    from: i64,
    to: i64,
) -> Result<WindowRows, crate::reports::ProofError> {
    use deconflict_store::bound;
    let mut line_seqs = BTreeSet::new();
    let mut after = 0;
    loop {
        let rows = s.line_entries_after(after, LINE_ROWS_PER_READ)?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        line_seqs.extend(rows.iter().filter(|r| r.at_ms >= from).map(|r| r.seq));
    }
    let parties: BTreeSet<&str> = ev
        .pairs
        .iter()
        .flat_map(|p| [p.a_party.as_str(), p.b_party.as_str()])
        .collect();
    let mut revisions: BTreeSet<(String, u64)> = BTreeSet::new();
    for n in s.notifications(None)? {
        if !parties.contains(n.party.as_str()) {
            continue;
        }
        let Ok(stored) =
            serde_json::from_str::<deconflict_client::wire::NotificationStored>(&n.body)
        else {
            continue;
        };
        let w = &stored.notification;
        if w.start_unix_ms <= to && w.end_unix_ms >= from {
            revisions.insert((n.id, n.revision));
        }
    }
    let (mut alerts, mut lines, mut notifications) = (Vec::new(), Vec::new(), Vec::new());
    for b in s.bindings()? {
        if b.table == bound::ALERTS && alert_ids.contains(&b.key) {
            alerts.push(b.entry_index);
        } else if b.table == bound::LINE_LOG && line_seqs.contains(&b.number) {
            lines.push(b.entry_index);
        } else if b.table == bound::NOTIFICATION_REVISIONS
            && revisions.contains(&(b.key.clone(), b.number))
        {
            notifications.push(b.entry_index);
        }
    }
    let pair_tracks: BTreeSet<(String, String)> = ev
        .pairs
        .iter()
        .flat_map(|p| {
            [
                (p.a_party.clone(), p.a_track.clone()),
                (p.b_party.clone(), p.b_track.clone()),
            ]
        })
        .collect();
    // Every pair's tracks in one pass over the window's runs. More than the per-track limit in
    // all means some track has more than the limit: the bundle is then refused.
    let pair_tracks: Vec<(String, String)> = pair_tracks.into_iter().collect();
    let limit = pair_tracks.len() * (TRACK_REPORTS_MAX + 1);
    let rows = s.reports_of_tracks_between(&pair_tracks, from, to, limit)?;
    let cut_short = cut_short(&rows, limit);
    let used: Vec<LoggedReport> = used_reports(
        &ev.pairs,
        &ev.reports_through,
        from,
        to,
        rows.values().flatten(),
    )
    .into_iter()
    .cloned()
    .collect();
    Ok(WindowRows {
        alerts,
        lines,
        notifications,
        reports: used,
        cut_short,
    })
}

/// When a read of reports stopped at `limit` (it found more in all), the track with the most
/// found, and how many: with more in all than the tracks' limits together, that track has more
/// than its own. Filtering what was found to the evidence's reports could then bring a track
/// under the limit while missing some of them; the bundle is refused instead.
fn cut_short(
    rows: &deconflict_store::TrackReports,
    limit: usize,
) -> Option<((String, String), usize)> {
    if rows.values().map(Vec::len).sum::<usize>() <= limit {
        return None;
    }
    rows.iter()
        .map(|(track, found)| (track.clone(), found.len()))
        .max_by_key(|(_, n)| *n)
}

/// Of the line entries at `indexes`, those of the messages `message_ids` and of their
/// acknowledgements.
fn line_entries_of(
    log_file: &deconflict_logfile::LogFile,
    indexes: &[u64],
    message_ids: &BTreeSet<String>,
) -> Result<Vec<u64>, String> {
    if message_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for &i in indexes {
        let e = log_file
            .entries(i, i + 1)
            .map_err(|e| e.to_string())?
            .pop()
            .ok_or_else(|| format!("entry {i} missing"))?;
        let acknowledges_one = matches!(e.entry().body(),
            EntryBody::Acknowledgement { acknowledges, .. } if message_ids.contains(acknowledges.as_str()));
        let named = acknowledges_one
            || recorded_message_id(e.entry()).is_some_and(|id| message_ids.contains(&id));
        if named {
            out.push(i);
        }
    }
    Ok(out)
}

/// The incident as the fold of its steps gives it at the tree head's time, and the party of
/// each member who assessed.
fn folded(
    terms: &crate::terms::Terms,
    steps: &[(u64, SignedEntry)],
    id: &str,
    sth: &SignedTreeHead,
) -> Result<(BTreeMap<String, String>, IncidentView), String> {
    let mut members = BTreeMap::new();
    let mut folder = crate::incidents::Folder::new(crate::incidents::config(terms));
    for (_, e) in steps {
        if let Some(step) = crate::incidents::step_of(e.entry()) {
            let author = e.entry().author().as_str();
            if step.course == "assessment"
                && let Some(p) = terms
                    .agreement
                    .parties()
                    .iter()
                    .find(|p| p.member(author).is_some())
            {
                members.insert(author.to_string(), p.id().as_str().to_string());
            }
            folder.apply(author, &step)?;
        }
    }
    folder.timeout(i64::try_from(sth.tree_head().time_ms()).unwrap_or(i64::MAX));
    let incident = folder
        .view(id)
        .ok_or_else(|| "the record files no such incident".to_string())?;
    Ok((members, incident))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(counts: &[(&str, usize)]) -> deconflict_store::TrackReports {
        counts
            .iter()
            .map(|&(track, n)| {
                let reports = (0..n as u64)
                    .map(|seq| LoggedReport {
                        party: "p".into(),
                        seq,
                        track_id: track.into(),
                        time_ms: 0,
                        body: String::new(),
                    })
                    .collect();
                (("p".to_string(), track.to_string()), reports)
            })
            .collect()
    }

    #[test]
    fn a_read_stopped_at_its_limit_names_the_track_with_the_most() {
        // Within the limit: complete, whatever one track holds.
        assert_eq!(cut_short(&found(&[("A", 3), ("B", 2)]), 5), None);
        assert_eq!(cut_short(&found(&[("A", 5)]), 5), None);
        // Past it: the read stopped, and the fullest track is named.
        assert_eq!(
            cut_short(&found(&[("A", 2), ("B", 4)]), 5),
            Some((("p".to_string(), "B".to_string()), 4))
        );
    }
}
