//! Rows of the SQLite store: reading a row into its type, and writing each kind of row.

use super::*;

pub(super) fn notification_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Notification> {
    let status: String = r.get(3)?;
    Ok(Notification {
        id: r.get(0)?,
        party: r.get(1)?,
        revision: to_u64(r.get(2)?),
        // The CHECK constraint admits only the two values.
        status: NotificationStatus::parse(&status).unwrap_or(NotificationStatus::Withdrawn),
        body: r.get(4)?,
        recorded_ms: r.get(5)?,
    })
}

pub(super) fn report_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TrackReport> {
    Ok(TrackReport {
        party: r.get(0)?,
        track_id: r.get(1)?,
        time_ms: r.get(2)?,
        body: r.get(3)?,
    })
}

pub(super) fn alert_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Alert> {
    Ok(Alert {
        id: r.get(0)?,
        conflict: r.get(1)?,
        kind: r.get(2)?,
        parties: Vec::new(),
        body: r.get(3)?,
        created_ms: r.get(4)?,
    })
}

pub(super) fn put_agreement_version(
    tx: &Transaction<'_>,
    v: &AgreementVersion,
) -> Result<(), StoreError> {
    check_key("agreement.status", &v.status)?;
    check_body("agreement.document", v.document.len())?;
    let stored: Option<i64> = tx
        .query_row("SELECT MAX(version) FROM agreement_versions", [], |r| {
            r.get(0)
        })
        .optional()?
        .flatten();
    let stored = stored.map_or(0, to_u64);
    if v.version != stored + 1 {
        return Err(StoreError::RevisionConflict {
            field: "agreement.version",
            given: v.version,
            stored,
        });
    }
    tx.execute(
        "INSERT INTO agreement_versions (version, status, document, recorded_ms) VALUES (?1, ?2, ?3, ?4)",
        params![to_i64("agreement.version", v.version)?, v.status, v.document, v.recorded_ms],
    )?;
    Ok(())
}

pub(super) fn put_agreement_signature(
    tx: &Transaction<'_>,
    s: &AgreementSignature,
) -> Result<(), StoreError> {
    check_key("signature.party", &s.party)?;
    check_key("signature.purpose", &s.purpose)?;
    check_body("signature.signature", s.signature.len())?;
    let version = to_i64("signature.version", s.version)?;
    let exists: Option<i64> = tx
        .query_row(
            "SELECT version FROM agreement_versions WHERE version = ?1",
            [version],
            |r| r.get(0),
        )
        .optional()?;
    if exists.is_none() {
        return Err(StoreError::NotFound {
            field: "signature.version",
            id: s.version.to_string(),
        });
    }
    let n = tx.execute(
        "INSERT OR IGNORE INTO agreement_signatures (version, party, purpose, signature) VALUES (?1, ?2, ?3, ?4)",
        params![version, s.party, s.purpose, s.signature],
    )?;
    if n == 0 {
        return Err(StoreError::Duplicate {
            field: "signature",
            id: format!("{}/{}/{}", s.version, s.party, s.purpose),
        });
    }
    Ok(())
}

pub(super) fn put_notification(tx: &Transaction<'_>, n: &Notification) -> Result<(), StoreError> {
    check_key("notification.id", &n.id)?;
    check_key("notification.party", &n.party)?;
    check_body("notification.body", n.body.len())?;
    let stored: Option<(String, i64)> = tx
        .query_row(
            "SELECT party, revision FROM notifications WHERE id = ?1",
            [&n.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let stored_revision = match &stored {
        None => 0,
        Some((party, revision)) => {
            if *party != n.party {
                // A notification belongs to the party that created it, for its whole life.
                return Err(StoreError::Invalid {
                    field: "notification.party",
                    reason: format!("notification {:?} belongs to another party", n.id),
                });
            }
            to_u64(*revision)
        }
    };
    if n.revision != stored_revision + 1 {
        return Err(StoreError::RevisionConflict {
            field: "notification.revision",
            given: n.revision,
            stored: stored_revision,
        });
    }
    let revision = to_i64("notification.revision", n.revision)?;
    tx.execute(
        "INSERT INTO notification_revisions (id, revision, party, status, body, recorded_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            n.id,
            revision,
            n.party,
            n.status.as_str(),
            n.body,
            n.recorded_ms
        ],
    )?;
    tx.execute(
        "INSERT INTO notifications (id, party, revision) VALUES (?1, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET revision = excluded.revision",
        params![n.id, n.party, revision],
    )?;
    Ok(())
}

/// What the next report of a track needs of its head: the track's last report and its newest
/// observation time so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Head {
    pub last_seq: i64,
    pub newest_ms: i64,
}

/// Track heads by party, then track id (looked up by `&str`, without building a key).
pub(super) type Heads = HashMap<String, HashMap<String, Head>>;

/// The report counters and track heads a commit reads and stages: what earlier commits left
/// (`committed`, `heads`), and what this one has staged so far.
pub(super) struct ReportCursor<'a> {
    pub committed: &'a HashMap<String, u64>,
    pub heads: &'a Heads,
    pub staged: &'a mut HashMap<String, u64>,
    pub staged_heads: &'a mut Heads,
}

impl ReportCursor<'_> {
    /// The head of `party`'s `track`: staged by this commit, cached by an earlier one, or read
    /// from the table (a track not reported since the store was opened, or since the cache was
    /// cleared).
    fn head(
        &self,
        tx: &Transaction<'_>,
        party: &str,
        track: &str,
    ) -> Result<Option<Head>, StoreError> {
        let cached = |h: &Heads| h.get(party).and_then(|t| t.get(track)).copied();
        if let Some(h) = cached(self.staged_heads).or_else(|| cached(self.heads)) {
            return Ok(Some(h));
        }
        let mut read = tx.prepare_cached(
            "SELECT last_seq, newest_ms FROM track_heads WHERE party = ?1 AND track_id = ?2",
        )?;
        Ok(read
            .query_row([party, track], |row| {
                Ok(Head {
                    last_seq: row.get(0)?,
                    newest_ms: row.get(1)?,
                })
            })
            .optional()?)
    }
}

/// Appends `r` to the report log with its party's next sequence number, linked to its track's
/// report accepted before, and moves the track's head: its last report, and its newest by
/// observation time (at an equal time the later one; a late report goes to the log only).
pub(super) fn log_report(
    tx: &Transaction<'_>,
    r: &TrackReport,
    cursor: &mut ReportCursor<'_>,
) -> Result<u64, StoreError> {
    check_key("report.party", &r.party)?;
    check_key("report.track_id", &r.track_id)?;
    check_body("report.body", r.body.len())?;
    let seq = cursor
        .staged
        .get(&r.party)
        .or_else(|| cursor.committed.get(&r.party))
        .copied()
        .unwrap_or(0)
        + 1;
    let seq_i = to_i64("report.seq", seq)?;
    let before = cursor.head(tx, &r.party, &r.track_id)?;
    // The chain a track's reports form leads strictly back (what `walk_track` relies on), and
    // a track's newest time never goes back.
    assert!(
        before.is_none_or(|h| h.last_seq < seq_i),
        "report {}/{seq}: its track's head is not behind it",
        r.party
    );
    let time_max = before.map_or(r.time_ms, |h| h.newest_ms.max(r.time_ms));
    let mut append = tx.prepare_cached(
        "INSERT INTO report_log (party, seq, track_id, time_ms, body, prev_seq, time_max)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    append.execute(params![
        r.party,
        seq_i,
        r.track_id,
        r.time_ms,
        r.body,
        before.map(|h| h.last_seq),
        time_max
    ])?;
    let mut move_head = tx.prepare_cached(
        "INSERT INTO track_heads (party, track_id, last_seq, newest_seq, newest_ms, reports)
         VALUES (?1, ?2, ?3, ?3, ?4, 1)
         ON CONFLICT(party, track_id) DO UPDATE SET
           last_seq = excluded.last_seq,
           newest_seq = CASE WHEN excluded.newest_ms >= newest_ms THEN excluded.newest_seq ELSE newest_seq END,
           newest_ms = max(newest_ms, excluded.newest_ms),
           reports = reports + 1",
    )?;
    move_head.execute(params![r.party, r.track_id, seq_i, r.time_ms])?;
    cursor.staged.insert(r.party.clone(), seq);
    let head = Head {
        last_seq: seq_i,
        newest_ms: time_max,
    };
    assert!(before.is_none_or(|h| h.newest_ms <= head.newest_ms));
    match cursor.staged_heads.get_mut(&r.party) {
        Some(tracks) => {
            tracks.insert(r.track_id.clone(), head);
        }
        None => {
            cursor
                .staged_heads
                .insert(r.party.clone(), HashMap::from([(r.track_id.clone(), head)]));
        }
    }
    Ok(seq)
}

/// One report of a track's chain, as [`walk_track`] gives it.
pub(super) struct ChainRow {
    pub seq: u64,
    pub time_ms: i64,
    pub time_max: i64,
    pub body: String,
}

/// Visits one track's reports from its last accepted back to its first while `visit` says to
/// go on. A chain that does not lead strictly back, or that reaches another track's report,
/// is an error (the log was edited), not a loop.
pub(super) fn walk_track(
    conn: &Connection,
    party: &str,
    track_id: &str,
    mut visit: impl FnMut(&ChainRow) -> bool,
) -> Result<(), StoreError> {
    let mut head =
        conn.prepare_cached("SELECT last_seq FROM track_heads WHERE party = ?1 AND track_id = ?2")?;
    let mut next: Option<i64> = head
        .query_row([party, track_id], |row| row.get(0))
        .optional()?;
    let mut get = conn.prepare_cached(
        "SELECT track_id, time_ms, body, prev_seq, time_max FROM report_log
         WHERE party = ?1 AND seq = ?2",
    )?;
    while let Some(seq) = next {
        let (track, time_ms, body, prev, time_max): (
            String,
            i64,
            String,
            Option<i64>,
            Option<i64>,
        ) = get
            .query_row(params![party, seq], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            })
            .optional()?
            .ok_or_else(|| StoreError::NotFound {
                field: "report_log.prev_seq",
                id: format!("{party}/{seq}"),
            })?;
        let broken = |reason: String| StoreError::Invalid {
            field: "report_log.prev_seq",
            reason: format!("report {party}/{seq}: {reason}"),
        };
        if track != track_id {
            return Err(broken(format!(
                "belongs to track {track:?}, not {track_id:?}"
            )));
        }
        if prev.is_some_and(|p| p >= seq) {
            return Err(broken(format!("links forward to {prev:?}")));
        }
        let row = ChainRow {
            seq: to_u64(seq),
            time_ms,
            time_max: time_max.ok_or_else(|| broken("has no time_max".into()))?,
            body,
        };
        if !visit(&row) {
            break;
        }
        next = prev;
    }
    Ok(())
}

pub(super) fn put_report_batch(tx: &Transaction<'_>, b: &ReportBatch) -> Result<(), StoreError> {
    check_key("report_batch.party", &b.party)?;
    if b.count == 0 || b.first_seq == 0 {
        return Err(StoreError::Invalid {
            field: "report_batch",
            reason: format!(
                "first_seq {} count {}: both must be at least 1",
                b.first_seq, b.count
            ),
        });
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO report_batches (party, first_seq, count, entry_index) VALUES (?1, ?2, ?3, ?4)",
    )?;
    stmt.execute(params![
        b.party,
        to_i64("report_batch.first_seq", b.first_seq)?,
        to_i64("report_batch.count", b.count)?,
        to_i64("report_batch.entry_index", b.entry_index)?
    ])?;
    Ok(())
}

pub(super) fn logged_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LoggedReport> {
    Ok(LoggedReport {
        party: r.get(0)?,
        seq: to_u64(r.get(1)?),
        track_id: r.get(2)?,
        time_ms: r.get(3)?,
        body: r.get(4)?,
    })
}

pub(super) fn batch_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReportBatch> {
    Ok(ReportBatch {
        party: r.get(0)?,
        first_seq: to_u64(r.get(1)?),
        count: to_u64(r.get(2)?),
        entry_index: to_u64(r.get(3)?),
    })
}

pub(super) fn put_alert(
    tx: &Transaction<'_>,
    a: &Alert,
    committed: &HashMap<String, u64>,
    staged: &mut HashMap<String, u64>,
) -> Result<(), StoreError> {
    check_key("alert.id", &a.id)?;
    check_key("alert.conflict", &a.conflict)?;
    check_key("alert.kind", &a.kind)?;
    check_body("alert.body", a.body.len())?;
    if a.parties.is_empty() {
        return Err(StoreError::Invalid {
            field: "alert.parties",
            reason: "an alert is addressed to at least one party".into(),
        });
    }
    for p in &a.parties {
        check_key("alert.parties", p)?;
    }
    let n = tx.execute(
        "INSERT OR IGNORE INTO alerts (id, conflict, kind, body, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![a.id, a.conflict, a.kind, a.body, a.created_ms],
    )?;
    if n == 0 {
        return Err(StoreError::Duplicate {
            field: "alert.id",
            id: a.id.clone(),
        });
    }
    let mut seen: Vec<&str> = Vec::new();
    for p in &a.parties {
        if seen.contains(&p.as_str()) {
            continue;
        }
        seen.push(p);
        let next = staged
            .get(p)
            .or_else(|| committed.get(p))
            .copied()
            .unwrap_or(0)
            + 1;
        tx.execute(
            "INSERT INTO alert_parties (party, alert_id, ordinal) VALUES (?1, ?2, ?3)",
            params![p, a.id, to_i64("alert.ordinal", next)?],
        )?;
        staged.insert(p.clone(), next);
    }
    Ok(())
}

pub(super) fn put_event(
    tx: &Transaction<'_>,
    e: &NewEvent,
    committed: &HashMap<String, u64>,
    staged: &mut HashMap<String, u64>,
) -> Result<Event, StoreError> {
    check_key("event.party", &e.party)?;
    check_key("event.kind", &e.kind)?;
    check_body("event.body", e.body.len())?;
    let seq = staged
        .get(&e.party)
        .or_else(|| committed.get(&e.party))
        .copied()
        .unwrap_or(0)
        + 1;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO events (party, seq, kind, body, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    stmt.execute(params![
        e.party,
        to_i64("event.seq", seq)?,
        e.kind,
        e.body,
        e.created_ms
    ])?;
    staged.insert(e.party.clone(), seq);
    Ok(Event {
        party: e.party.clone(),
        seq,
        kind: e.kind.clone(),
        body: e.body.clone(),
        created_ms: e.created_ms,
    })
}

pub(super) fn put_binding(tx: &Transaction<'_>, b: &Binding) -> Result<(), StoreError> {
    check_key("binding.table", &b.table)?;
    if b.key.len() > KEY_BYTES_MAX {
        return Err(StoreError::Invalid {
            field: "binding.key",
            reason: format!("{} bytes, more than {KEY_BYTES_MAX}", b.key.len()),
        });
    }
    let n = tx.execute(
        "INSERT OR IGNORE INTO record_bindings (entry_index, entry_hash, row_table, row_key, row_number)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            to_i64("binding.entry_index", b.entry_index)?,
            &b.entry_hash[..],
            b.table,
            b.key,
            to_i64("binding.number", b.number)?
        ],
    )?;
    if n == 0 {
        return Err(StoreError::Duplicate {
            field: "binding.entry_index",
            id: b.entry_index.to_string(),
        });
    }
    Ok(())
}

pub(super) fn put_record_mark(tx: &Transaction<'_>, size: u64) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO record_mark (id, bound_through) VALUES (1, ?1)
         ON CONFLICT(id) DO UPDATE SET bound_through = MAX(bound_through, excluded.bound_through)",
        [to_i64("record_mark", size)?],
    )?;
    Ok(())
}

pub(super) fn put_line_entry(
    tx: &Transaction<'_>,
    e: &LineEntry,
    committed: u64,
    staged: &mut Option<u64>,
) -> Result<(), StoreError> {
    check_body("line.body", e.body.len())?;
    let stored = staged.unwrap_or(committed);
    if e.seq != stored + 1 {
        return Err(StoreError::RevisionConflict {
            field: "line.seq",
            given: e.seq,
            stored,
        });
    }
    let mut stmt =
        tx.prepare_cached("INSERT INTO line_log (seq, at_ms, body) VALUES (?1, ?2, ?3)")?;
    stmt.execute(params![to_i64("line.seq", e.seq)?, e.at_ms, e.body])?;
    *staged = Some(e.seq);
    Ok(())
}
