//! The store bound to the record: the record is the truth, the store a view of it.
//!
//! Every log entry that a stored row stands for — a notification revision or its withdrawal,
//! a line message or acknowledgement, an alert, a party's lifecycle statement — is bound to that
//! row in the same store transaction that writes the row: the row's table and key with the
//! entry's index in the log file and its leaf hash (`record_bindings`). The store also keeps a
//! mark, the log file size below which every such entry is accounted for (`record_mark`).
//!
//! The service appends a batch's entries and commits its rows one batch at a time
//! (`State::commit_authored` holds one gate over both), so an entry whose row never reached the
//! store — the service stopped, or the store commit failed, after the entry was durable; the
//! request was never acknowledged — can only lie above the mark. At start those are bound as
//! `unstored` (logged, and counted in `/metrics` as `deconflict_record_entries_unstored`); any
//! other entry without its row, any row without its entry, and any row that differs from its
//! entry is a [`Mismatch`], and the service refuses to start, naming each (table, row, entry
//! index, field). `deconflict verify --data-dir DIR` runs the same check ([`check`]).
//!
//! What is compared, per table:
//! - `notification_revisions`: id, party, revision and status; every field of the notification
//!   entry rebuilt from the stored notification (the committed ones with the salts of
//!   `log-openings.jsonl`) equal to the recorded one. The latest-revision pointer of each
//!   notification (`notifications`) names its last revision and party.
//! - `line_log`: the line rebuilt from the stored log; each bound entry's message is on it, and
//!   each message on it is in the record exactly (an edited text no longer is).
//! - `alerts`: id, parties, conflict, kind, level and the recorded geometry.
//! - `agreement_versions`: the version a statement's entry is bound to exists (each stored
//!   statement is checked against its party's signature when the history loads).
//!
//! Not in the record, so not checked: track reports and stream event bodies (copies of what the
//! rows above hold, addressed to each party).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use deconflict_log::{Entry, EntryBody, FieldValue, Fields, Hash, Salt, SignedEntry};
use deconflict_store::{
    Alert, Binding, Notification, NotificationStatus, Store, StoreError, Write, bound,
};

use crate::log_entries::{SERVICE_KEY_ID, ServiceLog};

mod walk;
use walk::{Rows, Walk};

/// Mismatches named in the error that refuses a start (all are counted).
pub const MISMATCHES_SHOWN_MAX: usize = 20;

/// One way the store differs from the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The store's table (or `record` for an entry the store does not account for).
    pub table: String,
    /// The row: its key as the API names it (`n-1 revision 2`, `seq 7`, an alert id…).
    pub row: String,
    /// The log entry the row is (or should be) bound to.
    pub entry_index: Option<u64>,
    /// The field that differs (`row` when the row or the entry is missing).
    pub field: String,
    pub detail: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} row {:?}", self.table, self.row)?;
        match self.entry_index {
            Some(i) => write!(f, ", entry {i}")?,
            None => write!(f, ", no entry")?,
        }
        write!(f, ": {}: {}", self.field, self.detail)
    }
}

/// What [`check`] found.
#[derive(Debug, Default)]
pub struct StoreCheck {
    /// Log entries read.
    pub entries: u64,
    /// Of them, entries that a stored row stands for.
    pub entries_with_rows: u64,
    /// Rows checked against their entry, per table.
    pub checked: BTreeMap<&'static str, u64>,
    /// Entries bound as never stored (or as storing no row), by index.
    pub unstored: Vec<u64>,
    /// Entries above the mark that no row stands for yet: the last batch before a stop. A
    /// start binds them as unstored.
    pub tail: Vec<(u64, Hash)>,
    /// The store's mark, when it has one.
    pub mark: Option<u64>,
    pub mismatches: Vec<Mismatch>,
}

impl StoreCheck {
    /// Rows checked, over all tables.
    pub fn rows_checked(&self) -> u64 {
        self.checked.values().sum()
    }

    fn mismatch(
        &mut self,
        table: &str,
        row: impl Into<String>,
        entry_index: Option<u64>,
        field: &str,
        detail: impl Into<String>,
    ) {
        self.mismatches.push(Mismatch {
            table: table.to_string(),
            row: row.into(),
            entry_index,
            field: field.to_string(),
            detail: detail.into(),
        });
    }
}

/// The row a log entry stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stands {
    /// A notification revision (`revision` None: a withdrawal, whose revision the store gives).
    Revision {
        id: String,
        party: String,
        revision: Option<u64>,
    },
    /// A line message or acknowledgement.
    Line,
    Alert {
        id: String,
    },
    /// A party's lifecycle statement: an agreement version.
    Statement,
}

impl Stands {
    fn table(&self) -> &'static str {
        match self {
            Stands::Revision { .. } => bound::NOTIFICATION_REVISIONS,
            Stands::Line => bound::LINE_LOG,
            Stands::Alert { .. } => bound::ALERTS,
            Stands::Statement => bound::AGREEMENT_VERSIONS,
        }
    }

    fn row(&self) -> String {
        match self {
            Stands::Revision {
                id,
                revision: Some(r),
                ..
            } => format!("{id} revision {r}"),
            Stands::Revision { id, .. } => format!("{id} withdrawal"),
            Stands::Line => "line message".into(),
            Stands::Alert { id } => id.clone(),
            Stands::Statement => "statement".into(),
        }
    }
}

/// Which row `e` stands for, if any. Entries no row stands for: the service's agreement events
/// (signatures as received, "in force"), track summaries, geography and nonconformance events
/// (stream events only), countersignatures.
pub(crate) fn stands_for(e: &Entry) -> Option<Stands> {
    match e.body() {
        EntryBody::Notification {
            notification_id,
            fields,
        } => Some(Stands::Revision {
            id: notification_id.as_str().to_string(),
            party: e.author().as_str().to_string(),
            revision: match fields.get("revision") {
                Some(FieldValue::Int(r)) => u64::try_from(r.get()).ok(),
                _ => None,
            }
            .or(Some(0)),
        }),
        EntryBody::NotificationWithdrawal {
            notification_id, ..
        } => Some(Stands::Revision {
            id: notification_id.as_str().to_string(),
            party: e.author().as_str().to_string(),
            revision: None,
        }),
        // An incident's steps live in the record alone (`crate::incidents`): no row.
        EntryBody::IncidentReport { fields, .. }
            if fields.get(deconflict_incident::COURSE_FIELD).is_some() =>
        {
            None
        }
        EntryBody::LineMessage { .. }
        | EntryBody::Acknowledgement { .. }
        | EntryBody::IncidentReport { .. } => Some(Stands::Line),
        EntryBody::Alert {
            alert_id, level, ..
        } if !matches!(level.as_str(), "geography" | "nonconformance") => Some(Stands::Alert {
            id: alert_id.as_str().to_string(),
        }),
        EntryBody::AgreementEvent { .. } if e.author().as_str() != SERVICE_KEY_ID => {
            Some(Stands::Statement)
        }
        _ => None,
    }
}

/// The bindings of a batch's recorded entries (index, leaf hash, the row each stands for) to
/// the rows its `writes` store. An entry whose row the batch does not write is bound as
/// [`bound::NO_ROW`].
pub(crate) fn bind_batch(
    recorded: &[(u64, Hash, Option<Stands>)],
    writes: &[Write],
) -> Vec<Binding> {
    let mut out = Vec::new();
    for (index, hash, stands) in recorded {
        let Some(stands) = stands else {
            continue;
        };
        let row = match stands {
            Stands::Revision { id, revision, .. } => writes.iter().find_map(|w| match w {
                Write::Notification(n)
                    if &n.id == id
                        && match revision {
                            Some(r) => n.revision == *r && n.status == NotificationStatus::Active,
                            None => n.status == NotificationStatus::Withdrawn,
                        } =>
                {
                    Some((bound::NOTIFICATION_REVISIONS, id.clone(), n.revision))
                }
                _ => None,
            }),
            Stands::Line => writes.iter().find_map(|w| match w {
                Write::LineEntry(l) => Some((bound::LINE_LOG, String::new(), l.seq)),
                _ => None,
            }),
            Stands::Alert { id } => writes.iter().find_map(|w| match w {
                Write::Alert(a) if &a.id == id => Some((bound::ALERTS, id.clone(), 0)),
                _ => None,
            }),
            Stands::Statement => writes.iter().find_map(|w| match w {
                Write::AgreementVersion(v) => {
                    Some((bound::AGREEMENT_VERSIONS, String::new(), v.version))
                }
                _ => None,
            }),
        };
        let (table, key, number) = row.unwrap_or_else(|| {
            tracing::warn!(
                entry = index,
                row = %stands.row(),
                "a log entry whose batch stores no row for it"
            );
            (bound::NO_ROW, String::new(), 0)
        });
        out.push(Binding {
            entry_index: *index,
            entry_hash: hash.0,
            table: table.to_string(),
            key,
            number,
        });
    }
    out
}

/// The line message a line entry records, as a row name.
fn line_what(entry: &Entry) -> String {
    match entry.body() {
        EntryBody::LineMessage { message_id, .. } => format!("message {}", message_id.as_str()),
        EntryBody::Acknowledgement { acknowledges, .. } => {
            format!("acknowledgement of {}", acknowledges.as_str())
        }
        EntryBody::IncidentReport { incident_id, .. } => {
            format!("incident report {}", incident_id.as_str())
        }
        _ => "line message".to_string(),
    }
}

/// Bindings of entries whose rows were never stored.
pub(crate) fn unstored_writes(entries: &[(u64, Hash)]) -> impl Iterator<Item = Write> + '_ {
    entries.iter().map(|(index, hash)| {
        Write::Binding(Binding {
            entry_index: *index,
            entry_hash: hash.0,
            table: bound::UNSTORED.to_string(),
            key: String::new(),
            number: 0,
        })
    })
}

/// The salts of `log-openings.jsonl` (or another openings file), and of the files it was
/// rotated to ([`crate::log_entries::openings_files`]), for the commitments in `needed`. A missing
/// file holds none; a line that does not parse is skipped (the commitment it should open is
/// then reported as unopened).
pub fn openings_from_file(
    path: &Path,
    needed: &HashSet<[u8; 32]>,
) -> Result<HashMap<[u8; 32], Salt>, String> {
    use std::io::BufRead as _;
    let mut out = HashMap::new();
    if needed.is_empty() {
        return Ok(out);
    }
    let files =
        crate::log_entries::openings_files(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for file in files {
        let f = match std::fs::File::open(&file) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("{}: {e}", file.display())),
        };
        let mut r = std::io::BufReader::new(f);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = r
                .read_until(b'\n', &mut line)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            if n == 0 {
                break;
            }
            while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                line.pop();
            }
            if let Ok((c, opening)) = crate::log_entries::parse_opening_line(&line)
                && needed.contains(&c.0)
            {
                out.insert(c.0, opening.salt);
            }
        }
    }
    Ok(out)
}

/// The salts of the commitments asked for, by commitment (see [`openings_from_file`]).
pub type Openings<'a> =
    dyn FnMut(&HashSet<[u8; 32]>) -> Result<HashMap<[u8; 32], Salt>, String> + 'a;

/// A notification revision waiting for its openings.
struct PendingRevision {
    index: u64,
    entry: Entry,
    stored: deconflict_client::wire::NotificationStored,
}

/// Checks every row of `store` that a log entry stands for against that entry, and every
/// such entry of the record (`entries`, from index 0) against its row. `openings` gives the
/// salts of the commitments asked for. The error is for a store or record that cannot be read
/// at all; everything else is in [`StoreCheck::mismatches`].
pub fn check(
    store: &dyn Store,
    entries: &mut dyn Iterator<Item = Result<SignedEntry, String>>,
    openings: &mut Openings<'_>,
) -> Result<StoreCheck, String> {
    let st = |e: StoreError| format!("store: {e}");
    let mut out = StoreCheck {
        mark: store.record_mark().map_err(st)?,
        ..StoreCheck::default()
    };
    let mut bindings: BTreeMap<u64, Binding> = store
        .bindings()
        .map_err(st)?
        .into_iter()
        .map(|b| (b.entry_index, b))
        .collect();
    // A binding of entry j was written by a commit after j was durable, with the mark past j:
    // a mark lower than that (or none) was lowered behind the service's back.
    if let Some((last, _)) = bindings.last_key_value() {
        out.mark = Some(out.mark.unwrap_or(0).max(last + 1));
    }
    let rows = Rows::read(store, &mut out)?;
    let mut walk = Walk::new(out, &rows);
    let mut size = 0u64;
    for e in entries {
        walk.entry(&mut bindings, size, &e?);
        size += 1;
    }
    walk.finish(bindings, size);
    let Walk {
        mut out, pending, ..
    } = walk;
    check_pointers(&mut out, store, &rows.revisions)?;
    check_revisions(&mut out, pending, openings)?;
    Ok(out)
}

/// Each notification's latest-revision pointer names its last stored revision and its party.
fn check_pointers(
    out: &mut StoreCheck,
    store: &dyn Store,
    revisions: &HashMap<(String, u64), Notification>,
) -> Result<(), String> {
    let mut last: BTreeMap<&str, &Notification> = BTreeMap::new();
    for ((id, r), n) in revisions {
        if last.get(id.as_str()).is_none_or(|m| m.revision < *r) {
            last.insert(id, n);
        }
    }
    let pointers = store
        .notification_pointers()
        .map_err(|e| format!("store: {e}"))?;
    let mut seen = HashSet::new();
    for (id, party, revision) in &pointers {
        seen.insert(id.as_str());
        match last.get(id.as_str()) {
            None => out.mismatch(
                "notifications",
                id.as_str(),
                None,
                "row",
                "a notification without any stored revision",
            ),
            Some(n) if n.revision != *revision => out.mismatch(
                "notifications",
                id.as_str(),
                None,
                "revision",
                format!(
                    "points at revision {revision}, the last stored is {}",
                    n.revision
                ),
            ),
            Some(n) if &n.party != party => out.mismatch(
                "notifications",
                id.as_str(),
                None,
                "party",
                format!("says {party:?}, its revisions {:?}", n.party),
            ),
            Some(_) => {}
        }
    }
    for id in last.keys().filter(|id| !seen.contains(**id)) {
        out.mismatch(
            "notifications",
            *id,
            None,
            "row",
            "missing (deleted): its revisions are stored, but the API no longer serves it",
        );
    }
    Ok(())
}

/// Every recorded notification field equal to the one rebuilt from the stored notification.
fn check_revisions(
    out: &mut StoreCheck,
    pending: Vec<PendingRevision>,
    openings: &mut Openings<'_>,
) -> Result<(), String> {
    let fields_of = |e: &Entry| match e.body() {
        EntryBody::Notification { fields, .. } => Some(fields.clone()),
        _ => None,
    };
    let mut needed = HashSet::new();
    for p in &pending {
        for (_, v) in fields_of(&p.entry).iter().flat_map(|f| f.iter()) {
            if let FieldValue::Commitment(h) = v {
                needed.insert(h.0);
            }
        }
    }
    let salts_by_commitment = openings(&needed)?;
    for p in pending {
        let row = format!("{} revision {}", p.stored.id, p.stored.revision);
        let table = bound::NOTIFICATION_REVISIONS;
        let recorded = fields_of(&p.entry).unwrap_or_default();
        let present = deconflict_client::notification_entry::private_fields(&p.stored.notification);
        let mut salts = BTreeMap::new();
        for (name, v) in recorded.iter() {
            let FieldValue::Commitment(h) = v else {
                continue;
            };
            match salts_by_commitment.get(&h.0) {
                Some(salt) if present.contains(&name) => {
                    salts.insert(name.to_string(), *salt);
                }
                Some(_) => {}
                None => out.mismatch(
                    table,
                    &row,
                    Some(p.index),
                    name,
                    "no opening of its commitment in the openings file, so the stored value \
                     cannot be checked",
                ),
            }
        }
        let rebuilt = match deconflict_client::notification_entry::notification_entry(
            &p.stored.party,
            &p.stored.id,
            p.stored.revision,
            &p.stored.notification,
            &salts,
            p.entry.time_ms(),
        ) {
            Ok((e, _)) => fields_of(&e).unwrap_or_default(),
            Err(e) => {
                out.mismatch(table, &row, Some(p.index), "body", e.to_string());
                continue;
            }
        };
        diff_fields(out, table, &row, p.index, &recorded, &rebuilt);
    }
    Ok(())
}

/// One mismatch per field that differs between what the record holds and what the stored row
/// gives. A committed value is not printed.
fn diff_fields(
    out: &mut StoreCheck,
    table: &str,
    row: &str,
    index: u64,
    recorded: &Fields,
    stored: &Fields,
) {
    let names: BTreeSet<&str> = recorded
        .iter()
        .chain(stored.iter())
        .map(|(n, _)| n)
        .collect();
    let show = |v: Option<&FieldValue>| match v {
        None => "absent".to_string(),
        Some(FieldValue::Int(i)) => i.get().to_string(),
        Some(FieldValue::Text(t)) => format!("{:?}", t.as_str()),
        Some(FieldValue::Commitment(_)) => "a commitment".to_string(),
    };
    for name in names {
        let (r, s) = (recorded.get(name), stored.get(name));
        if r == s {
            continue;
        }
        let detail = match (r, s) {
            (Some(FieldValue::Commitment(_)), Some(FieldValue::Commitment(_))) => {
                "the stored value does not open the record's commitment".to_string()
            }
            _ => format!("the store gives {}, the record holds {}", show(s), show(r)),
        };
        out.mismatch(table, row, Some(index), name, detail);
    }
}

fn check_alert(out: &mut StoreCheck, a: &Alert, index: u64, entry: &Entry) {
    let EntryBody::Alert {
        fields,
        level,
        parties,
        ..
    } = entry.body()
    else {
        return;
    };
    let recorded: BTreeSet<&str> = parties.iter().map(|p| p.as_str()).collect();
    let stored: BTreeSet<&str> = a.parties.iter().map(String::as_str).collect();
    if recorded != stored {
        out.mismatch(
            bound::ALERTS,
            &a.id,
            Some(index),
            "parties",
            format!("the store gives {stored:?}, the record holds {recorded:?}"),
        );
    }
    match crate::log_entries::alert_geometry(a) {
        Ok((stored_level, geometry)) => {
            if stored_level != level.as_str() {
                out.mismatch(
                    bound::ALERTS,
                    &a.id,
                    Some(index),
                    "level",
                    format!(
                        "the store gives {stored_level:?}, the record holds {:?}",
                        level.as_str()
                    ),
                );
            }
            // The coordinated advice (`advice_*`) is signed from the parties' views with fresh
            // salts for what is not disclosed; it is not compared here.
            let mut recorded = Fields::new();
            for (n, v) in fields.iter().filter(|(n, _)| !n.starts_with("advice_")) {
                // Names and values come from a valid entry: inserting them again cannot fail.
                let _ = recorded.insert(n, v.clone());
            }
            diff_fields(out, bound::ALERTS, &a.id, index, &recorded, &geometry);
        }
        Err(e) => out.mismatch(bound::ALERTS, &a.id, Some(index), "body", e.to_string()),
    }
}

/// Why a start was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BindError {
    #[error(
        "the store does not match the record ({count} mismatches; the record is the truth: \
         `deconflict verify --data-dir DIR` lists them all):\n{shown}"
    )]
    Mismatch { count: usize, shown: String },
    #[error("checking the store against the record: {0}")]
    Read(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// The entries of a log file within its latest tree head, read a page at a time.
struct LogFileEntries<'a> {
    log_file: &'a deconflict_logfile::LogFile,
    next: u64,
    size: u64,
    page: std::collections::VecDeque<SignedEntry>,
}

impl Iterator for LogFileEntries<'_> {
    type Item = Result<SignedEntry, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.page.is_empty() {
            if self.next >= self.size {
                return None;
            }
            match self.log_file.entries(self.next, self.size) {
                Ok(p) if !p.is_empty() => {
                    self.next += p.len() as u64;
                    self.page.extend(p);
                }
                Ok(_) => return None,
                Err(e) => {
                    self.next = self.size;
                    return Some(Err(format!("log file: {e}")));
                }
            }
        }
        self.page.pop_front().map(Ok)
    }
}

/// At start, before the service serves anything: checks the store against the record
/// ([`check`]) and refuses on any mismatch; binds the entries of the last batch before a stop
/// whose rows were never stored as unstored, and marks the store bound through the record's
/// size.
pub fn bind_at_start(store: &mut dyn Store, log: &ServiceLog) -> Result<StoreCheck, BindError> {
    let size = log.log_file().latest_tree_head().tree_head().size();
    let mut entries = LogFileEntries {
        log_file: log.log_file(),
        next: 0,
        size,
        page: Default::default(),
    };
    let openings_path = log.openings_path().to_path_buf();
    let check = check(&*store, &mut entries, &mut |needed| {
        openings_from_file(&openings_path, needed)
    })
    .map_err(BindError::Read)?;
    if !check.mismatches.is_empty() {
        let shown: Vec<String> = check
            .mismatches
            .iter()
            .take(MISMATCHES_SHOWN_MAX)
            .map(|m| format!("  {m}"))
            .collect();
        return Err(BindError::Mismatch {
            count: check.mismatches.len(),
            shown: shown.join("\n"),
        });
    }
    if !check.tail.is_empty() {
        let indexes: Vec<u64> = check.tail.iter().map(|(i, _)| *i).collect();
        tracing::warn!(
            ?indexes,
            "log entries of requests never stored nor acknowledged (the service stopped \
             between the record and the store): bound as unstored"
        );
    }
    let mut writes: Vec<Write> = unstored_writes(&check.tail).collect();
    writes.push(Write::RecordMark(size));
    store.commit(&writes)?;
    tracing::info!(
        entries = check.entries,
        rows_checked = check.rows_checked(),
        unstored = check.unstored.len() + check.tail.len(),
        "store checked against the record"
    );
    Ok(check)
}
