//! Persistence for the deconfliction service: one [`Store`] trait and its embedded SQLite
//! implementation, [`SqliteStore`].
//!
//! What it owns: the durable state of one service instance, i.e. agreement versions and their
//! signatures, notifications and their revisions, track reports (the latest per track and a
//! bounded history), alerts, and each party's event stream with its monotonically increasing
//! sequence number (the cursor a party resumes its stream from), and the deconfliction line's
//! event log (the line's source of truth: its state is rebuilt from it at start), and the
//! binding of each row that a log entry stands for to that entry (index and leaf hash).
//!
//! Invariants:
//! - [`Store::commit`] applies a whole batch of writes in one transaction or none of it, and
//!   returns only once the transaction is durable (SQLite WAL with `synchronous=FULL`, so a
//!   commit that returned survives a crash of the process and of the machine). The service
//!   acknowledges a request only after its batch is committed.
//! - Per party, event sequence numbers start at 1 and increase by exactly one; no number is
//!   skipped or reused, even across a crash.
//! - The schema is versioned from the first release; migrations run in order at open, each in
//!   its own transaction together with the version bump, and a database written by a newer
//!   release is refused rather than guessed at.
//!
//! What it never does: interpret the bodies it stores (they are the service's JSON documents,
//! kept as text), read a clock (every time is a parameter), or talk to the network.
//! Bad input (an empty or over-long key, a revision that does not follow the stored one, an
//! unknown notification) is an error naming the field, and leaves the store unchanged.

mod sqlite;

pub use sqlite::{DroppedRows, MIGRATIONS, PAGE_CACHE_KIB, SqliteStore};

/// Longest key (party id, notification id, track id, alert id, event kind) accepted, in bytes.
pub const KEY_BYTES_MAX: usize = 128;
/// Largest body accepted for one record, in bytes. The service's own request limit is lower.
pub const BODY_BYTES_MAX: usize = 1 << 20;
/// Most reports in one [`Write::ReportRun`] (a track stream frame holds at most as many).
pub const RUN_REPORTS_MAX: usize = 10_000;
/// How far back in observation time, from the newest run, [`Store::latest_reports`] reads
/// runs: a track reported only in runs and silent for longer is not in it. A service starting
/// reads [`Store::latest_reports_since`] instead, from as far back as its picture keeps tracks.
pub const RUNS_RESTORED_MS: i64 = 2 * 60 * 1000;
/// Most events returned by one [`Store::events_after`] call, whatever the caller asks.
pub const EVENTS_PAGE_MAX: usize = 1024;
/// Most line log entries returned by one [`Store::line_entries_after`] call.
pub const LINE_PAGE_MAX: usize = 4096;

/// Errors from the store. Input errors name the field; the rest wrap the database error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{field}: revision {given} does not follow the stored revision {stored}")]
    RevisionConflict {
        field: &'static str,
        given: u64,
        stored: u64,
    },
    #[error("{field}: {id:?} not found")]
    NotFound { field: &'static str, id: String },
    #[error("{field}: {id:?} already exists")]
    Duplicate { field: &'static str, id: String },
    #[error(
        "database schema version {found} is newer than this release understands (up to {known})"
    )]
    SchemaTooNew { found: u64, known: u64 },
    #[error("migration to schema version {version} failed: {source}")]
    Migration {
        version: u64,
        source: rusqlite::Error,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// One version of the agreement document, as signed (the exact canonical bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementVersion {
    /// 1 for the first version, then exactly one more than the previous.
    pub version: u64,
    /// Lifecycle status label at this version (`draft`, `in_force`, `suspended`, …).
    pub status: String,
    /// The canonical document bytes that the signatures cover.
    pub document: Vec<u8>,
    /// Service time at which this version was recorded, milliseconds since the UNIX epoch.
    pub recorded_ms: i64,
}

/// A detached signature by one party over one agreement version, for one purpose
/// (`adopt`, `suspend`, `reactivate`, `terminate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementSignature {
    pub version: u64,
    pub party: String,
    pub purpose: String,
    pub signature: Vec<u8>,
}

/// Whether a notification is still in effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationStatus {
    Active,
    Withdrawn,
}

impl NotificationStatus {
    fn as_str(self) -> &'static str {
        match self {
            NotificationStatus::Active => "active",
            NotificationStatus::Withdrawn => "withdrawn",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(NotificationStatus::Active),
            "withdrawn" => Some(NotificationStatus::Withdrawn),
            _ => None,
        }
    }
}

/// One revision of a notification. Revision 1 creates it; every later write must carry
/// exactly the stored revision + 1 (optimistic concurrency: a stale update is refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: String,
    pub party: String,
    pub revision: u64,
    pub status: NotificationStatus,
    /// The service's JSON document for this revision.
    pub body: String,
    pub recorded_ms: i64,
}

/// Logged reports per (party, track id) ([`Store::reports_of_tracks_between`]).
pub type TrackReports = std::collections::BTreeMap<(String, String), Vec<LoggedReport>>;

/// A report as the report log keeps it: every report accepted, numbered per party in the order
/// accepted, kept for as long as the store is (see [`Write::TrackReport`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedReport {
    pub party: String,
    /// The party's sequence number, from 1.
    pub seq: u64,
    pub track_id: String,
    /// Time of the observation, milliseconds since the UNIX epoch.
    pub time_ms: i64,
    /// The report's JSON exactly as stored (what a report batch's leaf commits to).
    pub body: String,
}

/// A party's reports `first_seq ..= first_seq + count - 1`, committed by the log entry at
/// `entry_index` (a `report_batch` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportBatch {
    pub party: String,
    pub first_seq: u64,
    pub count: u64,
    pub entry_index: u64,
}

/// One report of a party's aircraft: it becomes the track's latest (when newest), enters its
/// recent history, and is appended to the report log with the party's next sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackReport {
    pub party: String,
    pub track_id: String,
    /// Time of the observation, milliseconds since the UNIX epoch.
    pub time_ms: i64,
    pub body: String,
}

/// An alert about a conflict, addressed to the parties it involves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Chosen by the service; unique.
    pub id: String,
    /// The conflict this alert is about (stable across its level changes).
    pub conflict: String,
    /// `new`, `level`, `ended`, `strategic`, …
    pub kind: String,
    pub parties: Vec<String>,
    pub body: String,
    pub created_ms: i64,
}

/// An event to append to one party's stream; the store assigns its sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub party: String,
    pub kind: String,
    pub body: String,
    pub created_ms: i64,
}

/// An event as stored in a party's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub party: String,
    /// Starts at 1 per party, increases by one.
    pub seq: u64,
    pub kind: String,
    pub body: String,
    pub created_ms: i64,
}

/// One entry of the deconfliction line's log. The caller numbers the entries: `seq` starts at
/// 1 and must be exactly one more than the last stored entry, so two writers that both read
/// the same log cannot both append (the second commit fails and changes nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineEntry {
    pub seq: u64,
    /// When the entry took effect on the line, milliseconds since the UNIX epoch.
    pub at_ms: i64,
    /// The line's JSON document for this entry.
    pub body: String,
}

/// Names of the tables a [`Binding`] points into (its `table`).
pub mod bound {
    /// A notification revision: key = notification id, number = revision.
    pub const NOTIFICATION_REVISIONS: &str = "notification_revisions";
    /// A line log entry: key empty, number = its `seq`.
    pub const LINE_LOG: &str = "line_log";
    /// An alert: key = alert id, number 0.
    pub const ALERTS: &str = "alerts";
    /// An agreement version: key empty, number = version.
    pub const AGREEMENT_VERSIONS: &str = "agreement_versions";
    /// No row: the entry belongs to a request whose store commit never happened (the service
    /// stopped, or the commit failed, after the entry was made durable); the request was not
    /// acknowledged. Key empty, number 0.
    pub const UNSTORED: &str = "unstored";
    /// No row: the batch that recorded the entry stored no row for it (a repeated
    /// acknowledgement the line already held, …). Key empty, number 0.
    pub const NO_ROW: &str = "no_row";
}

/// The log entry a stored row stands for: its index in the log file and its leaf hash
/// (`SHA-256(0x00 ‖ entry bytes)`), with the row it is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub entry_index: u64,
    pub entry_hash: [u8; 32],
    /// One of the [`bound`] names.
    pub table: String,
    pub key: String,
    pub number: u64,
}

/// One write in a batch given to [`Store::commit`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Write {
    AgreementVersion(AgreementVersion),
    AgreementSignature(AgreementSignature),
    Notification(Notification),
    TrackReport(TrackReport),
    Alert(Alert),
    Event(NewEvent),
    LineEntry(LineEntry),
    /// Binds a row written in the same batch (or earlier) to its log entry; one binding
    /// per entry index.
    Binding(Binding),
    /// Every log entry below this log file size has been accounted for: bound to its row,
    /// bound as [`bound::UNSTORED`], or of a kind no row stands for. Only ever increases.
    RecordMark(u64),
    /// A batch of a party's logged reports committed to the record.
    ReportBatch(ReportBatch),
    /// One party's reports accepted together (a frame of the track stream), stored as one row
    /// of the report log: each report still takes the party's next sequence number, in order,
    /// and reads ([`Store::reports_after`], [`Store::track_reports_between`],
    /// [`Store::latest_reports`], [`Store::tracks_between`]) give them as they give reports
    /// written one by one. Every report names the same party; at most [`RUN_REPORTS_MAX`].
    ReportRun(Vec<TrackReport>),
}

/// What a successful commit assigned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Committed {
    /// The events appended, in the order given, with their sequence numbers.
    pub events: Vec<Event>,
    /// The sequence number each track report was given in its party's report log, in the
    /// order the reports were given.
    pub report_seqs: Vec<u64>,
}

/// The service's storage. Implementations must make [`Store::commit`] atomic and durable
/// before it returns; reads see every committed write.
pub trait Store: Send + 'static {
    /// Applies every write or none; durable when it returns `Ok`.
    fn commit(&mut self, writes: &[Write]) -> Result<Committed, StoreError>;

    /// Every agreement version, oldest first.
    fn agreement_versions(&self) -> Result<Vec<AgreementVersion>, StoreError>;
    /// Signatures recorded for one version.
    fn agreement_signatures(&self, version: u64) -> Result<Vec<AgreementSignature>, StoreError>;

    /// The latest revision of one notification.
    fn notification(&self, id: &str) -> Result<Option<Notification>, StoreError>;
    /// The latest revision of every notification (of one party, if given), ordered by id.
    fn notifications(&self, party: Option<&str>) -> Result<Vec<Notification>, StoreError>;
    /// Every revision of one notification, oldest first.
    fn notification_history(&self, id: &str) -> Result<Vec<Notification>, StoreError>;

    /// The latest report of every track, ordered by party then track id: every track of the
    /// reports written one by one, and every track of the runs observed within
    /// [`RUNS_RESTORED_MS`] of the newest run ([`Write::ReportRun`]).
    fn latest_reports(&self) -> Result<Vec<TrackReport>, StoreError>;
    /// The latest report of every track whose latest was observed at or after `since_ms`,
    /// ordered by party then track id: what a picture that keeps tracks back to `since_ms`
    /// holds. Only the runs observed from `since_ms` on are read, however long the feed ran.
    fn latest_reports_since(&self, since_ms: i64) -> Result<Vec<TrackReport>, StoreError> {
        let mut all = self.latest_reports()?;
        all.retain(|r| r.time_ms >= since_ms);
        Ok(all)
    }
    /// Every (party, track id) with a report observed within `[from_ms, to_ms]`, ordered; and
    /// perhaps more: a track whose latest report written one by one is at or after `from_ms`.
    /// The default reads [`Store::latest_reports`]: a store without runs loses nothing by it.
    fn tracks_between(
        &self,
        from_ms: i64,
        _to_ms: i64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self
            .latest_reports()?
            .into_iter()
            .filter(|r| r.time_ms >= from_ms)
            .map(|r| (r.party, r.track_id))
            .collect())
    }
    /// One alert by id.
    fn alert(&self, id: &str) -> Result<Option<Alert>, StoreError>;
    /// The most recent alerts addressed to `party`, newest first, at most `limit`.
    fn alerts_for(&self, party: &str, limit: usize) -> Result<Vec<Alert>, StoreError>;
    /// The latest alert of every conflict whose latest alert is neither `ended` nor
    /// `strategic`, ordered by conflict id: what the cycle held active when the service
    /// stopped. Reads every alert once (called at start).
    fn open_conflicts(&self) -> Result<Vec<Alert>, StoreError>;

    /// Events of `party` with a sequence number greater than `after`, oldest first, at most
    /// `limit` (capped at [`EVENTS_PAGE_MAX`]).
    fn events_after(&self, party: &str, after: u64, limit: usize)
    -> Result<Vec<Event>, StoreError>;
    /// The highest sequence number in `party`'s stream, 0 when it is empty.
    fn last_seq(&self, party: &str) -> Result<u64, StoreError>;

    /// Line log entries with `seq` greater than `after`, oldest first, at most `limit`
    /// (capped at [`LINE_PAGE_MAX`]).
    fn line_entries_after(&self, after: u64, limit: usize) -> Result<Vec<LineEntry>, StoreError>;
    /// The highest line log `seq`, 0 when the log is empty.
    fn line_last_seq(&self) -> Result<u64, StoreError>;

    /// Every binding of a row to its log entry, by entry index. A store that keeps none
    /// returns none.
    fn bindings(&self) -> Result<Vec<Binding>, StoreError> {
        Ok(Vec::new())
    }
    /// The log file size every entry below which is accounted for ([`Write::RecordMark`]);
    /// `None` when the store was never bound to a record.
    fn record_mark(&self) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }
    /// Every revision of every notification, by id then revision.
    fn notification_revisions_all(&self) -> Result<Vec<Notification>, StoreError> {
        Ok(Vec::new())
    }
    /// Every notification's latest-revision pointer: (id, party, revision), by id.
    fn notification_pointers(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        Ok(Vec::new())
    }
    /// Every alert, by id.
    fn alerts_all(&self) -> Result<Vec<Alert>, StoreError> {
        Ok(Vec::new())
    }
    /// A party's logged reports after sequence number `after`, in order, at most `limit`.
    fn reports_after(
        &self,
        _party: &str,
        _after: u64,
        _limit: usize,
    ) -> Result<Vec<LoggedReport>, StoreError> {
        Ok(Vec::new())
    }
    /// One track's logged reports observed within `[from_ms, to_ms]`, by time then sequence
    /// number, at most `limit`.
    fn track_reports_between(
        &self,
        _party: &str,
        _track_id: &str,
        _from_ms: i64,
        _to_ms: i64,
        _limit: usize,
    ) -> Result<Vec<LoggedReport>, StoreError> {
        Ok(Vec::new())
    }
    /// The logged reports of each of `tracks` (party, track id) observed within
    /// `[from_ms, to_ms]`, each track's by time then sequence number; a track with none is
    /// absent. Reading stops once more than `limit` are found in all: an answer holding more
    /// than `limit` reports is not complete, and the caller refuses it. Runs are read once for
    /// all the tracks, not once per track.
    fn reports_of_tracks_between(
        &self,
        _tracks: &[(String, String)],
        _from_ms: i64,
        _to_ms: i64,
        _limit: usize,
    ) -> Result<TrackReports, StoreError> {
        Ok(TrackReports::new())
    }
    /// The batch that holds report `seq` of `party`, once committed.
    fn report_batch_of(&self, _party: &str, _seq: u64) -> Result<Option<ReportBatch>, StoreError> {
        Ok(None)
    }
    /// The last batch of `party` committed.
    fn last_report_batch(&self, _party: &str) -> Result<Option<ReportBatch>, StoreError> {
        Ok(None)
    }
}

pub(crate) fn check_key(field: &'static str, value: &str) -> Result<(), StoreError> {
    if value.is_empty() {
        return Err(StoreError::Invalid {
            field,
            reason: "must not be empty".into(),
        });
    }
    if value.len() > KEY_BYTES_MAX {
        return Err(StoreError::Invalid {
            field,
            reason: format!("{} bytes, more than {KEY_BYTES_MAX}", value.len()),
        });
    }
    if value.chars().any(char::is_control) {
        return Err(StoreError::Invalid {
            field,
            reason: "contains a control character".into(),
        });
    }
    Ok(())
}

pub(crate) fn check_body(field: &'static str, len: usize) -> Result<(), StoreError> {
    if len > BODY_BYTES_MAX {
        return Err(StoreError::Invalid {
            field,
            reason: format!("{len} bytes, more than {BODY_BYTES_MAX}"),
        });
    }
    Ok(())
}
