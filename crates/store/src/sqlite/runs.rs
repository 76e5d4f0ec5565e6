//! Runs of reports: a party's reports accepted together (a frame of the track stream), kept as
//! one row of `report_runs` whose `reports` column packs them. A run takes the party's next
//! sequence numbers as reports written one by one do; the reads here give its reports back
//! one by one, to be merged with the report log's rows.
//!
//! Packing (this module is its only reader and writer), per report in sequence order:
//! `u32` LE track id length, the track id (UTF-8), `i64` LE observation time (ms), `u32` LE body
//! length, the body (UTF-8).

use super::*;

/// One report of a run as packed.
pub(super) struct Packed<'a> {
    pub track_id: &'a str,
    pub time_ms: i64,
    pub body: &'a str,
}

/// The run's reports packed into one value.
pub(super) fn pack(reports: &[TrackReport]) -> Vec<u8> {
    let size: usize = reports
        .iter()
        .map(|r| 16 + r.track_id.len() + r.body.len())
        .sum();
    let mut out = Vec::with_capacity(size);
    for r in reports {
        // Both lengths were checked (`check_key`, `check_body`): far below `u32::MAX`.
        out.extend_from_slice(&(r.track_id.len() as u32).to_le_bytes());
        out.extend_from_slice(r.track_id.as_bytes());
        out.extend_from_slice(&r.time_ms.to_le_bytes());
        out.extend_from_slice(&(r.body.len() as u32).to_le_bytes());
        out.extend_from_slice(r.body.as_bytes());
    }
    out
}

/// The reports of a packed run, in order; a value that does not unpack into exactly `count`
/// reports is a damaged row, named by `party` and `first_seq`.
pub(super) fn unpack<'a>(
    party: &str,
    first_seq: u64,
    count: u64,
    bytes: &'a [u8],
) -> Result<Vec<Packed<'a>>, StoreError> {
    let damaged = |reason: String| StoreError::Invalid {
        field: "report_runs.reports",
        reason: format!("run {party}/{first_seq}: {reason}"),
    };
    let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0).min(RUN_REPORTS_MAX));
    let mut at = 0usize;
    let take = |at: &mut usize, n: usize| -> Result<&'a [u8], StoreError> {
        let end = at
            .checked_add(n)
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| damaged(format!("ends at byte {} inside a report", bytes.len())))?;
        let s = &bytes[*at..end];
        *at = end;
        Ok(s)
    };
    let len = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let text = |b: &'a [u8], at: usize| {
        std::str::from_utf8(b).map_err(|e| damaged(format!("byte {at}: not UTF-8: {e}")))
    };
    while at < bytes.len() {
        let n = len(take(&mut at, 4)?);
        let track_at = at;
        let track_id = text(take(&mut at, n)?, track_at)?;
        let t = take(&mut at, 8)?;
        let time_ms = i64::from_le_bytes([t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]]);
        let n = len(take(&mut at, 4)?);
        let body_at = at;
        let body = text(take(&mut at, n)?, body_at)?;
        out.push(Packed {
            track_id,
            time_ms,
            body,
        });
    }
    if out.len() as u64 != count {
        return Err(damaged(format!(
            "{} reports packed, {count} recorded",
            out.len()
        )));
    }
    Ok(out)
}

/// Stores one run of `party`'s reports with the party's next sequence numbers; gives them.
pub(super) fn put_run(
    tx: &Transaction<'_>,
    reports: &[TrackReport],
    committed: &HashMap<String, u64>,
    staged: &mut HashMap<String, u64>,
) -> Result<Vec<u64>, StoreError> {
    let Some(first) = reports.first() else {
        return Err(StoreError::Invalid {
            field: "run",
            reason: "a run holds at least one report".into(),
        });
    };
    if reports.len() > RUN_REPORTS_MAX {
        return Err(StoreError::Invalid {
            field: "run",
            reason: format!("{} reports, more than {RUN_REPORTS_MAX}", reports.len()),
        });
    }
    let party = &first.party;
    check_key("report.party", party)?;
    for r in reports {
        if r.party != *party {
            return Err(StoreError::Invalid {
                field: "report.party",
                reason: format!("a run of {party:?} holds a report of {:?}", r.party),
            });
        }
        check_key("report.track_id", &r.track_id)?;
        check_body("report.body", r.body.len())?;
    }
    let first_seq = staged
        .get(party)
        .or_else(|| committed.get(party))
        .copied()
        .unwrap_or(0)
        + 1;
    let count = reports.len() as u64;
    let time_min = reports.iter().map(|r| r.time_ms).min().unwrap_or(0);
    let time_max = reports.iter().map(|r| r.time_ms).max().unwrap_or(0);
    let mut put = tx.prepare_cached(
        "INSERT INTO report_runs (party, first_seq, count, time_min, time_max, reports)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    put.execute(params![
        party,
        to_i64("run.first_seq", first_seq)?,
        to_i64("run.count", count)?,
        time_min,
        time_max,
        pack(reports)
    ])?;
    staged.insert(party.clone(), first_seq + count - 1);
    Ok((first_seq..first_seq + count).collect())
}

/// A stored run: where its numbers start, how many, and its packed reports.
pub(super) struct RunRow {
    pub party: String,
    pub first_seq: u64,
    pub count: u64,
    pub reports: Vec<u8>,
}

fn run_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        party: r.get(0)?,
        first_seq: to_u64(r.get(1)?),
        count: to_u64(r.get(2)?),
        reports: r.get(3)?,
    })
}

/// `party`'s run reports with a sequence number above `after`, in order, at most `limit`.
pub(super) fn run_reports_after(
    conn: &Connection,
    party: &str,
    after: u64,
    limit: usize,
) -> Result<Vec<LoggedReport>, StoreError> {
    let mut out = Vec::new();
    if limit == 0 {
        return Ok(out);
    }
    // The run that holds `after + 1`, if one does, then every later one.
    let mut holding = conn.prepare_cached(
        "SELECT party, first_seq, count, reports FROM report_runs
         WHERE party = ?1 AND first_seq <= ?2 ORDER BY first_seq DESC LIMIT 1",
    )?;
    let mut later = conn.prepare_cached(
        "SELECT party, first_seq, count, reports FROM report_runs
         WHERE party = ?1 AND first_seq > ?2 ORDER BY first_seq",
    )?;
    let after_i = to_i64("after", after)?;
    let first = holding
        .query_row(params![party, after_i], run_row)
        .optional()?
        .filter(|run| run.first_seq + run.count > after + 1);
    let mut rows = later.query_map(params![party, after_i], run_row)?;
    let mut next = first.map(Ok).or_else(|| rows.next());
    while let Some(run) = next {
        let run = run?;
        for (k, p) in unpack(&run.party, run.first_seq, run.count, &run.reports)?
            .into_iter()
            .enumerate()
        {
            let seq = run.first_seq + k as u64;
            if seq <= after {
                continue;
            }
            out.push(LoggedReport {
                party: run.party.clone(),
                seq,
                track_id: p.track_id.to_string(),
                time_ms: p.time_ms,
                body: p.body.to_string(),
            });
            if out.len() == limit {
                return Ok(out);
            }
        }
        next = rows.next();
    }
    Ok(out)
}

/// Visits the runs of `party` (of every party when `None`) whose observation times reach into
/// `[from_ms, to_ms]`, by number. Reads the index first and a run's reports only when its
/// times overlap the window.
pub(super) fn runs_overlapping(
    conn: &Connection,
    party: Option<&str>,
    from_ms: i64,
    to_ms: i64,
    mut visit: impl FnMut(RunRow) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut keys = conn.prepare_cached(
        "SELECT party, first_seq FROM report_runs
         WHERE (?1 IS NULL OR party = ?1) AND time_max >= ?2 AND time_min <= ?3
         ORDER BY party, first_seq",
    )?;
    let found: Vec<(String, i64)> = keys
        .query_map(params![party, from_ms, to_ms], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut get = conn.prepare_cached(
        "SELECT party, first_seq, count, reports FROM report_runs
         WHERE party = ?1 AND first_seq = ?2",
    )?;
    for (p, first_seq) in found {
        visit(get.query_row(params![p, first_seq], run_row)?)?;
    }
    Ok(())
}

/// The newest observation time of any run, `None` when there is none.
pub(super) fn newest_run_ms(conn: &Connection) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .query_row("SELECT MAX(time_max) FROM report_runs", [], |r| r.get(0))
        .optional()?
        .flatten())
}
