//! The embedded default: one SQLite database file in WAL mode.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::{
    AgreementSignature, AgreementVersion, Alert, Binding, Committed, EVENTS_PAGE_MAX, Event,
    KEY_BYTES_MAX, LINE_PAGE_MAX, LineEntry, LoggedReport, NewEvent, Notification,
    NotificationStatus, RUN_REPORTS_MAX, RUNS_RESTORED_MS, ReportBatch, Store, StoreError,
    TrackReport, TrackReports, Write, check_body, check_key,
};

mod rows;
mod runs;
use rows::*;

/// Schema migrations, in order: entry `i` takes the schema from version `i` to `i + 1`.
/// Never edit a released entry; append a new one.
pub const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    CREATE TABLE agreement_versions (
        version     INTEGER PRIMARY KEY,
        status      TEXT    NOT NULL,
        document    BLOB    NOT NULL,
        recorded_ms INTEGER NOT NULL
    );
    CREATE TABLE agreement_signatures (
        version   INTEGER NOT NULL REFERENCES agreement_versions(version),
        party     TEXT    NOT NULL,
        purpose   TEXT    NOT NULL,
        signature BLOB    NOT NULL,
        PRIMARY KEY (version, party, purpose)
    ) WITHOUT ROWID;
    CREATE TABLE notification_revisions (
        id          TEXT    NOT NULL,
        revision    INTEGER NOT NULL,
        party       TEXT    NOT NULL,
        status      TEXT    NOT NULL CHECK (status IN ('active', 'withdrawn')),
        body        TEXT    NOT NULL,
        recorded_ms INTEGER NOT NULL,
        PRIMARY KEY (id, revision)
    ) WITHOUT ROWID;
    CREATE TABLE notifications (
        id       TEXT    PRIMARY KEY,
        party    TEXT    NOT NULL,
        revision INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE tracks (
        party        TEXT    NOT NULL,
        track_id     TEXT    NOT NULL,
        time_ms      INTEGER NOT NULL,
        body         TEXT    NOT NULL,
        report_count INTEGER NOT NULL,
        PRIMARY KEY (party, track_id)
    ) WITHOUT ROWID;
    CREATE TABLE track_history (
        party    TEXT    NOT NULL,
        track_id TEXT    NOT NULL,
        slot     INTEGER NOT NULL,
        ordinal  INTEGER NOT NULL,
        time_ms  INTEGER NOT NULL,
        body     TEXT    NOT NULL,
        PRIMARY KEY (party, track_id, slot)
    ) WITHOUT ROWID;
    CREATE TABLE alerts (
        id         TEXT    PRIMARY KEY,
        conflict   TEXT    NOT NULL,
        kind       TEXT    NOT NULL,
        body       TEXT    NOT NULL,
        created_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE alert_parties (
        party    TEXT NOT NULL,
        alert_id TEXT NOT NULL REFERENCES alerts(id),
        ordinal  INTEGER NOT NULL,
        PRIMARY KEY (party, ordinal)
    ) WITHOUT ROWID;
    CREATE TABLE events (
        party      TEXT    NOT NULL,
        seq        INTEGER NOT NULL,
        kind       TEXT    NOT NULL,
        body       TEXT    NOT NULL,
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (party, seq)
    ) WITHOUT ROWID;
    "#,
    // 2: alerts looked up by conflict (the history of one conflict).
    r#"
    CREATE INDEX alerts_by_conflict ON alerts(conflict, created_ms);
    "#,
    // 3: the deconfliction line's log, numbered by the line.
    r#"
    CREATE TABLE line_log (
        seq   INTEGER PRIMARY KEY CHECK (seq > 0),
        at_ms INTEGER NOT NULL,
        body  TEXT    NOT NULL
    );
    "#,
    // 4: each row that a log entry stands for, bound to that entry (index and leaf hash).
    r#"
    CREATE TABLE record_bindings (
        entry_index INTEGER PRIMARY KEY CHECK (entry_index >= 0),
        entry_hash  BLOB    NOT NULL CHECK (length(entry_hash) = 32),
        row_table   TEXT    NOT NULL,
        row_key     TEXT    NOT NULL,
        row_number  INTEGER NOT NULL
    );
    CREATE INDEX record_bindings_by_row ON record_bindings(row_table, row_key, row_number);
    CREATE TABLE record_mark (
        id            INTEGER PRIMARY KEY CHECK (id = 1),
        bound_through INTEGER NOT NULL CHECK (bound_through >= 0)
    );
    "#,
    // 5: every accepted report, numbered per party, and the log entries committing them.
    // The report log replaces the per-track ring of recent reports (its rows move into it).
    r#"
    CREATE TABLE report_log (
        party    TEXT    NOT NULL,
        seq      INTEGER NOT NULL CHECK (seq >= 1),
        track_id TEXT    NOT NULL,
        time_ms  INTEGER NOT NULL,
        body     TEXT    NOT NULL,
        PRIMARY KEY (party, seq)
    ) WITHOUT ROWID;
    CREATE INDEX report_log_by_track ON report_log(party, track_id, time_ms);
    INSERT INTO report_log (party, seq, track_id, time_ms, body)
        SELECT party,
               ROW_NUMBER() OVER (PARTITION BY party ORDER BY time_ms, track_id, ordinal),
               track_id, time_ms, body
        FROM track_history;
    DROP TABLE track_history;
    CREATE TABLE report_batches (
        party       TEXT    NOT NULL,
        first_seq   INTEGER NOT NULL CHECK (first_seq >= 1),
        count       INTEGER NOT NULL CHECK (count >= 1),
        entry_index INTEGER NOT NULL CHECK (entry_index >= 0),
        PRIMARY KEY (party, first_seq)
    ) WITHOUT ROWID;
    "#,
    // 6: a track's reports linked in the order accepted, and each track's head in a narrow
    // table, in place of the per-track index and the copy of each track's latest report. Both
    // took a random page write per report (a batch of thousands of tracks wrote a page per
    // track); a report is now an append to the log and a small update of its head.
    // `prev_seq`: the same track's report accepted before (NULL for its first); `time_max`: the
    // newest observation time among this report and every earlier one of its track, so a walk
    // back from the head knows when nothing older can follow.
    r#"
    ALTER TABLE report_log ADD COLUMN prev_seq INTEGER CHECK (prev_seq >= 1);
    ALTER TABLE report_log ADD COLUMN time_max INTEGER;
    UPDATE report_log SET prev_seq = w.prev_seq, time_max = w.time_max FROM (
        SELECT party, seq,
               LAG(seq) OVER (PARTITION BY party, track_id ORDER BY seq) AS prev_seq,
               MAX(time_ms) OVER (PARTITION BY party, track_id ORDER BY seq
                                  ROWS UNBOUNDED PRECEDING) AS time_max
        FROM report_log) AS w
    WHERE report_log.party = w.party AND report_log.seq = w.seq;
    CREATE TABLE track_heads (
        party      TEXT    NOT NULL,
        track_id   TEXT    NOT NULL,
        last_seq   INTEGER NOT NULL CHECK (last_seq >= 1),
        newest_seq INTEGER NOT NULL CHECK (newest_seq >= 1),
        newest_ms  INTEGER NOT NULL,
        reports    INTEGER NOT NULL CHECK (reports >= 1),
        PRIMARY KEY (party, track_id)
    ) WITHOUT ROWID;
    INSERT INTO track_heads (party, track_id, last_seq, newest_seq, newest_ms, reports)
        SELECT party, track_id, last_seq, seq, time_ms, reports FROM (
            SELECT party, track_id, seq, time_ms,
                   MAX(seq) OVER (PARTITION BY party, track_id) AS last_seq,
                   COUNT(*) OVER (PARTITION BY party, track_id) AS reports,
                   ROW_NUMBER() OVER (PARTITION BY party, track_id
                                      ORDER BY time_ms DESC, seq DESC) AS newest
            FROM report_log)
        WHERE newest = 1;
    DROP INDEX report_log_by_track;
    DROP TABLE tracks;
    "#,
    // 7: runs of reports accepted together (track stream frames): one row per run, its reports
    // packed, numbered in the party's report log sequence (see `runs`). A rowid table: its
    // rows are large. The index on times is covering for finding runs in a time window.
    r#"
    CREATE TABLE report_runs (
        party     TEXT    NOT NULL,
        first_seq INTEGER NOT NULL CHECK (first_seq >= 1),
        count     INTEGER NOT NULL CHECK (count >= 1),
        time_min  INTEGER NOT NULL,
        time_max  INTEGER NOT NULL CHECK (time_max >= time_min),
        reports   BLOB    NOT NULL,
        UNIQUE (party, first_seq)
    );
    CREATE INDEX report_runs_by_time ON report_runs(time_max, time_min, party, first_seq);
    "#,
];

/// The page cache of the store's connection, KiB (SQLite's `cache_size`): the memory it holds
/// at most for pages of the database.
pub const PAGE_CACHE_KIB: i64 = 64 * 1024;

/// What [`SqliteStore::drop_bound_from`] dropped (or would drop).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DroppedRows {
    pub bindings: u64,
    pub notification_revisions: u64,
    pub alerts: u64,
    pub line_log: u64,
    pub agreement_versions: u64,
}

/// The SQLite store. One connection, used by one thread at a time (the service wraps it in a
/// mutex and calls it from blocking tasks).
pub struct SqliteStore {
    conn: Connection,
    /// Highest event sequence number per party, kept in memory so that appending an event
    /// does not need a read. Loaded at open; updated only after a commit succeeds.
    last_seq: HashMap<String, u64>,
    /// Highest alert ordinal per party, for the same reason.
    alert_ordinal: HashMap<String, u64>,
    /// Highest line log `seq`, for the same reason.
    line_seq: u64,
    /// Highest report log `seq` per party, for the same reason.
    report_seq: HashMap<String, u64>,
    /// The heads of the tracks reported since the store was opened, so that a report does not
    /// read its track's head before moving it: at most [`HEADS_CACHED_MAX`] (then emptied, and
    /// refilled from the table as tracks report again). Updated only after a commit succeeds.
    heads: Heads,
}

/// Track heads kept in memory at most (about 100 bytes each): ten times the live tracks of a
/// full picture.
pub const HEADS_CACHED_MAX: usize = 1_000_000;

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.conn.path())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    /// The file and its `-wal` and `-shm` companions are readable by the owner only (mode
    /// 0600): the store holds every party's private fields.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_migrations(path, MIGRATIONS)
    }

    /// An in-memory database, for tests: durable only for the life of the value.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory()?;
        Self::init(conn, MIGRATIONS)
    }

    #[doc(hidden)]
    /// Opens with a given migration list (tests use a prefix to simulate an older release).
    pub fn open_with_migrations(path: &Path, migrations: &[&str]) -> Result<Self, StoreError> {
        owner_only(path)?;
        let conn = Connection::open(path)?;
        Self::init(conn, migrations)
    }

    fn init(mut conn: Connection, migrations: &[&str]) -> Result<Self, StoreError> {
        // WAL: readers do not block the writer. synchronous=FULL: every commit syncs the WAL,
        // so a commit that returned survives a power loss, not only a process crash (NORMAL
        // would lose the last commits on power loss, and the service acknowledges on commit).
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // A page cache of PAGE_CACHE_KIB: with SQLite's default (2 MiB) a transaction of a few
        // thousand reports spills dirty pages into the WAL before its commit and reads the
        // report log's index pages back from the file, at every batch.
        conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn, migrations)?;
        Self::load(conn)
    }

    /// Opens an existing database for reading only (a check of a stopped service's data
    /// directory writes nothing): its schema must be this release's.
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let found = schema_version(&conn)?;
        let known = MIGRATIONS.len() as u64;
        if found > known {
            return Err(StoreError::SchemaTooNew { found, known });
        }
        if found < known {
            return Err(StoreError::Invalid {
                field: "schema_version",
                reason: format!(
                    "{found}, older than this release's {known}: start the service on it once to migrate it"
                ),
            });
        }
        Self::load(conn)
    }

    fn load(conn: Connection) -> Result<Self, StoreError> {
        let mut last_seq = HashMap::new();
        {
            let mut stmt = conn.prepare("SELECT party, MAX(seq) FROM events GROUP BY party")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (party, seq) = row?;
                last_seq.insert(party, to_u64(seq));
            }
        }
        let mut alert_ordinal = HashMap::new();
        {
            let mut stmt =
                conn.prepare("SELECT party, MAX(ordinal) FROM alert_parties GROUP BY party")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (party, ordinal) = row?;
                alert_ordinal.insert(party, to_u64(ordinal));
            }
        }
        // A database opened with an older migration list (tests simulate one) has no line log.
        let has_line_log: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'line_log')",
            [],
            |r| r.get(0),
        )?;
        let line_seq: Option<i64> = if has_line_log {
            conn.query_row("SELECT MAX(seq) FROM line_log", [], |r| r.get(0))
                .optional()?
                .flatten()
        } else {
            None
        };
        let has_report_log: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'report_log')",
            [],
            |r| r.get(0),
        )?;
        let mut report_seq = HashMap::new();
        if has_report_log {
            let mut stmt = conn.prepare("SELECT party, MAX(seq) FROM report_log GROUP BY party")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (party, seq) = row?;
                report_seq.insert(party, to_u64(seq));
            }
        }
        let has_runs: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'report_runs')",
            [],
            |r| r.get(0),
        )?;
        if has_runs {
            let mut stmt = conn.prepare(
                "SELECT party, MAX(first_seq + count - 1) FROM report_runs GROUP BY party",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (party, seq) = row?;
                let seq = to_u64(seq);
                let held = report_seq.entry(party).or_insert(0);
                *held = (*held).max(seq);
            }
        }
        Ok(SqliteStore {
            conn,
            last_seq,
            alert_ordinal,
            line_seq: line_seq.map_or(0, to_u64),
            report_seq,
            heads: Heads::new(),
        })
    }

    /// Keeps the heads a commit moved, emptying the cache first when they would take it past
    /// [`HEADS_CACHED_MAX`].
    fn cache_heads(&mut self, moved: Heads) {
        let count = |h: &Heads| h.values().map(HashMap::len).sum::<usize>();
        // One commit moves at most a batch's heads, far fewer than the cache holds.
        assert!(count(&moved) <= HEADS_CACHED_MAX);
        if count(&self.heads) + count(&moved) > HEADS_CACHED_MAX {
            self.heads.clear();
        }
        for (party, tracks) in moved {
            self.heads.entry(party).or_default().extend(tracks);
        }
        assert!(count(&self.heads) <= HEADS_CACHED_MAX);
    }

    /// Brings the store back to a record cut to `size` entries (`deconflict log recover
    /// --apply`, the operator's decision): the rows bound to the entries dropped — notification
    /// revisions (the latest-revision pointers follow), alerts, the line log from the first
    /// such line row on, agreement versions from the first such version on — and those
    /// bindings. The mark becomes `size`. Without `apply`, only counts what it would drop. One
    /// transaction.
    pub fn drop_bound_from(&mut self, size: u64, apply: bool) -> Result<DroppedRows, StoreError> {
        let size_i = to_i64("size", size)?;
        let tx = self.conn.transaction()?;
        let mut out = DroppedRows::default();
        let bound: Vec<(String, String, i64)> = {
            let mut stmt = tx.prepare(
                "SELECT row_table, row_key, row_number FROM record_bindings WHERE entry_index >= ?1",
            )?;
            let rows = stmt.query_map([size_i], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        out.bindings = bound.len() as u64;
        let first_line = bound
            .iter()
            .filter(|(t, _, _)| t == crate::bound::LINE_LOG)
            .map(|(_, _, n)| *n)
            .min();
        let first_version = bound
            .iter()
            .filter(|(t, _, _)| t == crate::bound::AGREEMENT_VERSIONS)
            .map(|(_, _, n)| *n)
            .min();
        for (table, key, number) in &bound {
            match table.as_str() {
                crate::bound::NOTIFICATION_REVISIONS => {
                    out.notification_revisions += tx.execute(
                        "DELETE FROM notification_revisions WHERE id = ?1 AND revision = ?2",
                        params![key, number],
                    )? as u64;
                    let last: Option<i64> = tx.query_row(
                        "SELECT MAX(revision) FROM notification_revisions WHERE id = ?1",
                        [key],
                        |r| r.get(0),
                    )?;
                    match last {
                        Some(r) => tx.execute(
                            "UPDATE notifications SET revision = ?2 WHERE id = ?1",
                            params![key, r],
                        )?,
                        None => tx.execute("DELETE FROM notifications WHERE id = ?1", [key])?,
                    };
                }
                crate::bound::ALERTS => {
                    tx.execute("DELETE FROM alert_parties WHERE alert_id = ?1", [key])?;
                    out.alerts += tx.execute("DELETE FROM alerts WHERE id = ?1", [key])? as u64;
                }
                _ => {}
            }
        }
        if let Some(seq) = first_line {
            out.line_log = tx.execute("DELETE FROM line_log WHERE seq >= ?1", [seq])? as u64;
        }
        if let Some(v) = first_version {
            tx.execute("DELETE FROM agreement_signatures WHERE version >= ?1", [v])?;
            out.agreement_versions =
                tx.execute("DELETE FROM agreement_versions WHERE version >= ?1", [v])? as u64;
        }
        tx.execute(
            "DELETE FROM record_bindings WHERE entry_index >= ?1",
            [size_i],
        )?;
        tx.execute(
            "INSERT INTO record_mark (id, bound_through) VALUES (1, ?1)
             ON CONFLICT(id) DO UPDATE SET bound_through = excluded.bound_through",
            [size_i],
        )?;
        if apply {
            tx.commit()?;
        }
        // Without `apply` the transaction is rolled back when dropped.
        Ok(out)
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u64, StoreError> {
        schema_version(&self.conn)
    }
}

fn schema_version(conn: &Connection) -> Result<u64, StoreError> {
    let v: Option<i64> = conn
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(v.map_or(0, to_u64))
}

fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL)",
    )?;
    let found = schema_version(conn)?;
    let known = migrations.len() as u64;
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for (i, sql) in migrations.iter().enumerate().skip(found as usize) {
        let version = i as u64 + 1;
        let tx = conn.transaction()?;
        let applied = tx.execute_batch(sql).and_then(|()| {
            tx.execute(
                "INSERT INTO schema_version (version, description) VALUES (?1, ?2)",
                params![version as i64, first_comment(sql)],
            )
        });
        match applied {
            Ok(_) => tx.commit()?,
            Err(source) => return Err(StoreError::Migration { version, source }),
        }
    }
    Ok(())
}

fn first_comment(sql: &str) -> String {
    sql.trim().lines().next().unwrap_or("").trim().to_string()
}

/// Creates the database file (when absent) readable and writable by its owner only, and takes
/// other users' access away from an existing one and its `-wal` and `-shm` files. SQLite
/// creates those companions with the database file's mode.
fn owner_only(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(path)(e)),
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            let p = std::path::PathBuf::from(name);
            match std::fs::metadata(&p) {
                Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
                        .map_err(io(&p))?;
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&p)(e)),
            }
        }
    }
    Ok(())
}

fn to_u64(v: i64) -> u64 {
    // Every integer this store writes is non-negative; a negative one means a foreign writer.
    u64::try_from(v).unwrap_or(0)
}

fn to_i64(field: &'static str, v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Invalid {
        field,
        reason: format!("{v} is larger than {}", i64::MAX),
    })
}

/// Staged in-memory counters: applied to the store only when the transaction commits.
#[derive(Default)]
struct Staged {
    last_seq: HashMap<String, u64>,
    report_seq: HashMap<String, u64>,
    heads: Heads,
    alert_ordinal: HashMap<String, u64>,
    line_seq: Option<u64>,
}

impl Store for SqliteStore {
    fn commit(&mut self, writes: &[Write]) -> Result<Committed, StoreError> {
        let mut staged = Staged::default();
        let mut committed = Committed::default();
        let tx = self.conn.transaction()?;
        for w in writes {
            match w {
                Write::AgreementVersion(v) => put_agreement_version(&tx, v)?,
                Write::AgreementSignature(s) => put_agreement_signature(&tx, s)?,
                Write::Notification(n) => put_notification(&tx, n)?,
                Write::TrackReport(r) => {
                    let mut cursor = ReportCursor {
                        committed: &self.report_seq,
                        heads: &self.heads,
                        staged: &mut staged.report_seq,
                        staged_heads: &mut staged.heads,
                    };
                    committed.report_seqs.push(log_report(&tx, r, &mut cursor)?);
                }
                Write::ReportRun(reports) => {
                    let seqs =
                        runs::put_run(&tx, reports, &self.report_seq, &mut staged.report_seq)?;
                    committed.report_seqs.extend(seqs);
                }
                Write::ReportBatch(b) => put_report_batch(&tx, b)?,
                Write::Alert(a) => {
                    put_alert(&tx, a, &self.alert_ordinal, &mut staged.alert_ordinal)?;
                }
                Write::Event(e) => {
                    let ev = put_event(&tx, e, &self.last_seq, &mut staged.last_seq)?;
                    committed.events.push(ev);
                }
                Write::LineEntry(e) => {
                    put_line_entry(&tx, e, self.line_seq, &mut staged.line_seq)?;
                }
                Write::Binding(b) => put_binding(&tx, b)?,
                Write::RecordMark(size) => put_record_mark(&tx, *size)?,
            }
        }
        tx.commit()?;
        // Sequence numbers only grow: a stream's cursor never sees one again.
        for (party, seq) in &staged.last_seq {
            assert!(self.last_seq.get(party).is_none_or(|s| s < seq));
        }
        for (party, seq) in &staged.report_seq {
            assert!(self.report_seq.get(party).is_none_or(|s| s < seq));
        }
        assert!(staged.line_seq.is_none_or(|s| s > self.line_seq));
        self.last_seq.extend(staged.last_seq);
        self.report_seq.extend(staged.report_seq);
        self.cache_heads(staged.heads);
        self.alert_ordinal.extend(staged.alert_ordinal);
        if let Some(seq) = staged.line_seq {
            self.line_seq = seq;
        }
        Ok(committed)
    }

    fn agreement_versions(&self) -> Result<Vec<AgreementVersion>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT version, status, document, recorded_ms FROM agreement_versions ORDER BY version",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(AgreementVersion {
                version: to_u64(r.get(0)?),
                status: r.get(1)?,
                document: r.get(2)?,
                recorded_ms: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn agreement_signatures(&self, version: u64) -> Result<Vec<AgreementSignature>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT version, party, purpose, signature FROM agreement_signatures
             WHERE version = ?1 ORDER BY party, purpose",
        )?;
        let rows = stmt.query_map([to_i64("version", version)?], |r| {
            Ok(AgreementSignature {
                version: to_u64(r.get(0)?),
                party: r.get(1)?,
                purpose: r.get(2)?,
                signature: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn notification(&self, id: &str) -> Result<Option<Notification>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.id, r.party, r.revision, r.status, r.body, r.recorded_ms
             FROM notifications n JOIN notification_revisions r
               ON r.id = n.id AND r.revision = n.revision
             WHERE n.id = ?1",
        )?;
        let row = stmt.query_row([id], notification_row).optional()?;
        Ok(row)
    }

    fn notifications(&self, party: Option<&str>) -> Result<Vec<Notification>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.id, r.party, r.revision, r.status, r.body, r.recorded_ms
             FROM notifications n JOIN notification_revisions r
               ON r.id = n.id AND r.revision = n.revision
             WHERE ?1 IS NULL OR n.party = ?1
             ORDER BY n.id",
        )?;
        let rows = stmt.query_map([party], notification_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn notification_history(&self, id: &str) -> Result<Vec<Notification>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, party, revision, status, body, recorded_ms FROM notification_revisions
             WHERE id = ?1 ORDER BY revision",
        )?;
        let rows = stmt.query_map([id], notification_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn latest_reports(&self) -> Result<Vec<TrackReport>, StoreError> {
        let runs_from =
            runs::newest_run_ms(&self.conn)?.map(|n| n.saturating_sub(RUNS_RESTORED_MS));
        self.latest_of(i64::MIN, runs_from)
    }

    fn latest_reports_since(&self, since_ms: i64) -> Result<Vec<TrackReport>, StoreError> {
        let mut out = self.latest_of(since_ms, Some(since_ms))?;
        // A run reaching into the window may hold a track's last report from before it.
        out.retain(|r| r.time_ms >= since_ms);
        Ok(out)
    }

    fn tracks_between(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT party, track_id FROM track_heads WHERE newest_ms >= ?1")?;
        let mut tracks: BTreeSet<(String, String)> = stmt
            .query_map([from_ms], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        runs::runs_overlapping(&self.conn, None, from_ms, to_ms, |run| {
            let packed = runs::unpack(&run.party, run.first_seq, run.count, &run.reports)?;
            for p in packed {
                if (from_ms..=to_ms).contains(&p.time_ms) {
                    tracks.insert((run.party.clone(), p.track_id.to_string()));
                }
            }
            Ok(())
        })?;
        Ok(tracks.into_iter().collect())
    }

    fn reports_after(
        &self,
        party: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<LoggedReport>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT party, seq, track_id, time_ms, body FROM report_log
             WHERE party = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            params![
                party,
                to_i64("after", after)?,
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            logged_row,
        )?;
        let logged: Vec<LoggedReport> = rows.collect::<Result<_, _>>()?;
        let in_runs = runs::run_reports_after(&self.conn, party, after, limit)?;
        if in_runs.is_empty() {
            return Ok(logged);
        }
        // Both in order of number, and no number in both: merge, then the first `limit`.
        let mut out = Vec::with_capacity(limit.min(logged.len() + in_runs.len()));
        let (mut a, mut b) = (
            logged.into_iter().peekable(),
            in_runs.into_iter().peekable(),
        );
        while out.len() < limit {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.seq < y.seq => a.next(),
                (Some(_), Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, _) => b.next(),
            };
            match next {
                Some(r) => out.push(r),
                None => break,
            }
        }
        Ok(out)
    }

    fn track_reports_between(
        &self,
        party: &str,
        track_id: &str,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<LoggedReport>, StoreError> {
        let mut found = Vec::new();
        // Walking back from the track's last report: a report whose `time_max` is before the
        // window ends the walk (it and every earlier one were observed before it).
        walk_track(&self.conn, party, track_id, |row| {
            if row.time_max < from_ms {
                return false;
            }
            if (from_ms..=to_ms).contains(&row.time_ms) {
                found.push(LoggedReport {
                    party: party.to_string(),
                    seq: row.seq,
                    track_id: track_id.to_string(),
                    time_ms: row.time_ms,
                    body: row.body.clone(),
                });
            }
            true
        })?;
        runs::runs_overlapping(&self.conn, Some(party), from_ms, to_ms, |run| {
            for (k, p) in runs::unpack(&run.party, run.first_seq, run.count, &run.reports)?
                .into_iter()
                .enumerate()
            {
                if p.track_id == track_id && (from_ms..=to_ms).contains(&p.time_ms) {
                    found.push(LoggedReport {
                        party: party.to_string(),
                        seq: run.first_seq + k as u64,
                        track_id: track_id.to_string(),
                        time_ms: p.time_ms,
                        body: p.body.to_string(),
                    });
                }
            }
            Ok(())
        })?;
        found.sort_unstable_by_key(|r| (r.time_ms, r.seq));
        found.truncate(limit);
        Ok(found)
    }

    fn reports_of_tracks_between(
        &self,
        tracks: &[(String, String)],
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<TrackReports, StoreError> {
        let mut out = TrackReports::new();
        let mut found = 0;
        // Reports written one by one: each track's chain, walked back from its last report.
        for (party, track_id) in tracks {
            if found > limit {
                return Ok(out);
            }
            let mut rows = Vec::new();
            walk_track(&self.conn, party, track_id, |row| {
                if row.time_max < from_ms || found > limit {
                    return false;
                }
                if (from_ms..=to_ms).contains(&row.time_ms) {
                    found += 1;
                    rows.push(LoggedReport {
                        party: party.clone(),
                        seq: row.seq,
                        track_id: track_id.clone(),
                        time_ms: row.time_ms,
                        body: row.body.clone(),
                    });
                }
                true
            })?;
            if !rows.is_empty() {
                out.insert((party.clone(), track_id.clone()), rows);
            }
        }
        // Runs: each one overlapping the window unpacked once, for every track asked.
        let mut wanted: HashMap<&str, HashMap<&str, &(String, String)>> = HashMap::new();
        for key in tracks {
            wanted.entry(&key.0).or_default().insert(&key.1, key);
        }
        let only = (wanted.len() == 1).then(|| tracks[0].0.as_str());
        if !wanted.is_empty() && found <= limit {
            runs::runs_overlapping(&self.conn, only, from_ms, to_ms, |run| {
                let Some(of_party) = wanted.get(run.party.as_str()) else {
                    return Ok(());
                };
                if found > limit {
                    return Ok(());
                }
                let packed = runs::unpack(&run.party, run.first_seq, run.count, &run.reports)?;
                for (k, p) in packed.into_iter().enumerate() {
                    if !(from_ms..=to_ms).contains(&p.time_ms) {
                        continue;
                    }
                    if let Some(key) = of_party.get(p.track_id) {
                        found += 1;
                        out.entry((*key).clone()).or_default().push(LoggedReport {
                            party: run.party.clone(),
                            seq: run.first_seq + k as u64,
                            track_id: p.track_id.to_string(),
                            time_ms: p.time_ms,
                            body: p.body.to_string(),
                        });
                    }
                }
                Ok(())
            })?;
        }
        for rows in out.values_mut() {
            rows.sort_unstable_by_key(|r| (r.time_ms, r.seq));
        }
        Ok(out)
    }

    fn report_batch_of(&self, party: &str, seq: u64) -> Result<Option<ReportBatch>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT party, first_seq, count, entry_index FROM report_batches
             WHERE party = ?1 AND first_seq <= ?2 ORDER BY first_seq DESC LIMIT 1",
        )?;
        let b = stmt
            .query_row(params![party, to_i64("seq", seq)?], batch_row)
            .optional()?;
        Ok(b.filter(|b| seq < b.first_seq + b.count))
    }

    fn last_report_batch(&self, party: &str) -> Result<Option<ReportBatch>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT party, first_seq, count, entry_index FROM report_batches
             WHERE party = ?1 ORDER BY first_seq DESC LIMIT 1",
        )?;
        Ok(stmt.query_row([party], batch_row).optional()?)
    }

    fn alert(&self, id: &str) -> Result<Option<Alert>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, conflict, kind, body, created_ms FROM alerts WHERE id = ?1",
        )?;
        let Some(mut alert) = stmt.query_row([id], alert_row).optional()? else {
            return Ok(None);
        };
        alert.parties = self.alert_parties(id)?;
        Ok(Some(alert))
    }

    fn alerts_for(&self, party: &str, limit: usize) -> Result<Vec<Alert>, StoreError> {
        let limit = limit.min(EVENTS_PAGE_MAX) as i64;
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.id, a.conflict, a.kind, a.body, a.created_ms
             FROM alert_parties p JOIN alerts a ON a.id = p.alert_id
             WHERE p.party = ?1 ORDER BY p.ordinal DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![party, limit], alert_row)?;
        let mut alerts: Vec<Alert> = rows.collect::<Result<_, _>>()?;
        for a in &mut alerts {
            a.parties = self.alert_parties(&a.id)?;
        }
        Ok(alerts)
    }

    fn open_conflicts(&self) -> Result<Vec<Alert>, StoreError> {
        // Every alert of a conflict names the same parties, and each party's ordinals increase
        // with insertion: per conflict, the alert with the highest ordinal of one of its
        // parties is its latest.
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.id, a.conflict, a.kind, a.body, a.created_ms
             FROM alert_parties p JOIN alerts a ON a.id = p.alert_id
             ORDER BY p.party, p.ordinal",
        )?;
        let rows = stmt.query_map([], alert_row)?;
        let mut latest: std::collections::BTreeMap<String, Alert> = Default::default();
        for a in rows {
            let a = a?;
            if a.kind != "strategic" {
                latest.insert(a.conflict.clone(), a);
            }
        }
        let mut open = Vec::new();
        for (_, mut a) in latest {
            if a.kind != "ended" {
                a.parties = self.alert_parties(&a.id)?;
                open.push(a);
            }
        }
        Ok(open)
    }

    fn events_after(
        &self,
        party: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        let limit = limit.min(EVENTS_PAGE_MAX) as i64;
        let mut stmt = self.conn.prepare_cached(
            "SELECT party, seq, kind, body, created_ms FROM events
             WHERE party = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![party, to_i64("after", after)?, limit], |r| {
            Ok(Event {
                party: r.get(0)?,
                seq: to_u64(r.get(1)?),
                kind: r.get(2)?,
                body: r.get(3)?,
                created_ms: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn last_seq(&self, party: &str) -> Result<u64, StoreError> {
        Ok(self.last_seq.get(party).copied().unwrap_or(0))
    }

    fn line_entries_after(&self, after: u64, limit: usize) -> Result<Vec<LineEntry>, StoreError> {
        let limit = limit.min(LINE_PAGE_MAX) as i64;
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at_ms, body FROM line_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![to_i64("after", after)?, limit], |r| {
            Ok(LineEntry {
                seq: to_u64(r.get(0)?),
                at_ms: r.get(1)?,
                body: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn line_last_seq(&self) -> Result<u64, StoreError> {
        Ok(self.line_seq)
    }

    fn bindings(&self) -> Result<Vec<Binding>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT entry_index, entry_hash, row_table, row_key, row_number FROM record_bindings
             ORDER BY entry_index",
        )?;
        let rows = stmt.query_map([], |r| {
            let hash: Vec<u8> = r.get(1)?;
            Ok(Binding {
                entry_index: to_u64(r.get(0)?),
                // The CHECK constraint admits 32 bytes only.
                entry_hash: hash.try_into().unwrap_or([0; 32]),
                table: r.get(2)?,
                key: r.get(3)?,
                number: to_u64(r.get(4)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn record_mark(&self) -> Result<Option<u64>, StoreError> {
        let v: Option<i64> = self
            .conn
            .query_row(
                "SELECT bound_through FROM record_mark WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.map(to_u64))
    }

    fn notification_revisions_all(&self) -> Result<Vec<Notification>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, party, revision, status, body, recorded_ms FROM notification_revisions
             ORDER BY id, revision",
        )?;
        let rows = stmt.query_map([], notification_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn notification_pointers(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, party, revision FROM notifications ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, to_u64(r.get(2)?))))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn alerts_all(&self) -> Result<Vec<Alert>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, conflict, kind, body, created_ms FROM alerts ORDER BY id",
        )?;
        let rows = stmt.query_map([], alert_row)?;
        let mut alerts: Vec<Alert> = rows.collect::<Result<_, _>>()?;
        for a in &mut alerts {
            a.parties = self.alert_parties(&a.id)?;
        }
        Ok(alerts)
    }
}

impl SqliteStore {
    fn alert_parties(&self, id: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT party FROM alert_parties WHERE alert_id = ?1 ORDER BY party")?;
        let rows = stmt.query_map([id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The latest report of every track written one by one whose latest was observed from
    /// `heads_from` on, and of every track of the runs observed from `runs_from` on (none when
    /// `None`), by party then track id.
    fn latest_of(
        &self,
        heads_from: i64,
        runs_from: Option<i64>,
    ) -> Result<Vec<TrackReport>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT h.party, h.track_id, r.time_ms, r.body, h.newest_seq
             FROM track_heads h JOIN report_log r ON r.party = h.party AND r.seq = h.newest_seq
             WHERE r.time_ms >= ?1",
        )?;
        let logged = stmt.query_map([heads_from], |r| Ok((report_row(r)?, to_u64(r.get(4)?))))?;
        // Per party and track, the newest by observation time, the later accepted at an equal
        // time. Looked up by the packed report's borrowed track id: runs at full feed hold
        // millions of reports, most older than one already held, so a report is copied only
        // when it is newer, and then into the buffers of the one it replaces.
        let mut latest: HashMap<String, HashMap<String, (u64, TrackReport)>> = HashMap::new();
        for row in logged {
            let (r, seq) = row?;
            let mine = latest.entry(r.party.clone()).or_default();
            mine.insert(r.track_id.clone(), (seq, r));
        }
        if let Some(runs_from) = runs_from {
            runs::runs_overlapping(&self.conn, None, runs_from, i64::MAX, |run| {
                let packed = runs::unpack(&run.party, run.first_seq, run.count, &run.reports)?;
                let mine = match latest.get_mut(run.party.as_str()) {
                    Some(m) => m,
                    None => latest.entry(run.party.clone()).or_default(),
                };
                for (k, p) in packed.into_iter().enumerate() {
                    let seq = run.first_seq + k as u64;
                    match mine.get_mut(p.track_id) {
                        Some((s, held)) => {
                            if (p.time_ms, seq) > (held.time_ms, *s) {
                                *s = seq;
                                held.time_ms = p.time_ms;
                                held.body.clear();
                                held.body.push_str(p.body);
                            }
                        }
                        None => {
                            mine.insert(
                                p.track_id.to_string(),
                                (
                                    seq,
                                    TrackReport {
                                        party: run.party.clone(),
                                        track_id: p.track_id.to_string(),
                                        time_ms: p.time_ms,
                                        body: p.body.to_string(),
                                    },
                                ),
                            );
                        }
                    }
                }
                Ok(())
            })?;
        }
        // Ordered by party, then track id.
        let mut out: Vec<TrackReport> = latest
            .into_values()
            .flat_map(|m| m.into_values().map(|(_, r)| r))
            .collect();
        out.sort_unstable_by(|a, b| (&a.party, &a.track_id).cmp(&(&b.party, &b.track_id)));
        Ok(out)
    }
}
