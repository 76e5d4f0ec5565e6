//! [`check`](super::check): the store's rows, read once; the record's entries walked in order,
//! each against the row it is bound to; then the rows and bindings no entry accounted for.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use deconflict_log::{Entry, EntryBody, FieldValue, Hash, SignedEntry};
use deconflict_store::{
    Alert, Binding, Notification, NotificationStatus, Store, StoreError, bound,
};

use super::{PendingRevision, Stands, StoreCheck, check_alert, line_what, stands_for};

/// The rows of the store that log entries stand for, and the line its stored log rebuilds.
pub(super) struct Rows {
    pub(super) revisions: HashMap<(String, u64), Notification>,
    alerts: HashMap<String, Alert>,
    versions: BTreeSet<u64>,
    line_seq: u64,
    /// Whether the stored line log replays (a failure is reported once, when read).
    line_replays: bool,
    /// The entry each message on the stored line stands for (hash of its canonical form) →
    /// the message's id.
    on_line: HashMap<[u8; 32], String>,
    /// Ids of the messages on the stored line.
    line_ids: HashSet<String>,
}

impl Rows {
    /// Reads the rows; a message of the line no entry can stand for, or a line log that does
    /// not replay, is a mismatch in `out`.
    pub(super) fn read(store: &dyn Store, out: &mut StoreCheck) -> Result<Rows, String> {
        let st = |e: StoreError| format!("store: {e}");
        let revisions = store
            .notification_revisions_all()
            .map_err(st)?
            .into_iter()
            .map(|n| ((n.id.clone(), n.revision), n))
            .collect();
        let alerts = store
            .alerts_all()
            .map_err(st)?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        let versions = store
            .agreement_versions()
            .map_err(st)?
            .iter()
            .map(|v| v.version)
            .collect();
        let line_seq = store.line_last_seq().map_err(st)?;
        let line = crate::line::replay_stored(store);
        let mut on_line: HashMap<[u8; 32], String> = HashMap::new();
        let mut line_ids: HashSet<String> = HashSet::new();
        match &line {
            Ok(Some(line)) => {
                for t in line.messages() {
                    let m = t.message();
                    line_ids.insert(m.id().as_str().to_string());
                    match crate::line::entry_of_message(m) {
                        Ok(e) => {
                            on_line.insert(Hash::of(&e.to_canonical()).0, m.id().as_str().into());
                        }
                        Err(e) => out.mismatch(
                            bound::LINE_LOG,
                            format!("message {}", m.id().as_str()),
                            None,
                            "message",
                            format!("no log entry can stand for it: {e}"),
                        ),
                    }
                }
            }
            Ok(None) => {}
            Err(e) => out.mismatch(
                bound::LINE_LOG,
                "log",
                None,
                "body",
                format!("the stored line log does not replay: {e}"),
            ),
        }
        Ok(Rows {
            revisions,
            alerts,
            versions,
            line_seq,
            line_replays: matches!(line, Ok(Some(_))),
            on_line,
            line_ids,
        })
    }
}

/// The row a binding names, for messages.
fn row_name(b: &Binding) -> String {
    match b.table.as_str() {
        bound::NOTIFICATION_REVISIONS => format!("{} revision {}", b.key, b.number),
        bound::LINE_LOG => format!("seq {}", b.number),
        bound::AGREEMENT_VERSIONS => format!("version {}", b.number),
        _ => b.key.clone(),
    }
}

/// The walk over the record: what was found, and which rows entries accounted for.
pub(super) struct Walk<'r> {
    pub(super) out: StoreCheck,
    rows: &'r Rows,
    line_recorded: HashSet<[u8; 32]>,
    bound_revisions: HashSet<(String, u64)>,
    bound_alerts: HashSet<String>,
    /// Notification revisions whose fields wait for the openings of their commitments.
    pub(super) pending: Vec<PendingRevision>,
}

impl<'r> Walk<'r> {
    pub(super) fn new(out: StoreCheck, rows: &'r Rows) -> Walk<'r> {
        Walk {
            out,
            rows,
            line_recorded: HashSet::new(),
            bound_revisions: HashSet::new(),
            bound_alerts: HashSet::new(),
            pending: Vec::new(),
        }
    }

    /// Entry `i` of the record against the row its binding (taken from `bindings`) names.
    pub(super) fn entry(
        &mut self,
        bindings: &mut BTreeMap<u64, Binding>,
        i: u64,
        signed: &SignedEntry,
    ) {
        self.out.entries += 1;
        let entry = signed.entry();
        let stands = stands_for(entry);
        if stands.is_some() {
            self.out.entries_with_rows += 1;
        }
        if stands == Some(Stands::Line) {
            self.line_recorded.insert(Hash::of(&entry.to_canonical()).0);
        }
        let Some(b) = bindings.remove(&i) else {
            if let Some(s) = &stands {
                self.unbound_entry(i, signed, s);
            }
            return;
        };
        if b.entry_hash != signed.leaf_hash().0 {
            self.out.mismatch(
                &b.table,
                row_name(&b),
                Some(i),
                "entry_hash",
                format!(
                    "bound to an entry with leaf hash {}, the record's entry {i} has {}",
                    Hash(b.entry_hash).to_hex(),
                    signed.leaf_hash().to_hex()
                ),
            );
            return;
        }
        if b.table == bound::UNSTORED || b.table == bound::NO_ROW {
            self.out.unstored.push(i);
            return;
        }
        let Some(s) = stands else {
            self.out.mismatch(
                &b.table,
                row_name(&b),
                Some(i),
                "entry",
                format!("a {} entry, which no row stands for", entry.body().kind()),
            );
            return;
        };
        if s.table() != b.table {
            self.out.mismatch(
                &b.table,
                row_name(&b),
                Some(i),
                "entry",
                format!(
                    "a {} entry stands for a {} row",
                    entry.body().kind(),
                    s.table()
                ),
            );
            return;
        }
        *self.out.checked.entry(s.table()).or_default() += 1;
        match s {
            Stands::Revision {
                id,
                party,
                revision,
            } => self.revision(i, entry, &b, (&id, &party, revision)),
            Stands::Line => self.line(i, entry, &b),
            Stands::Alert { id } => {
                self.bound_alerts.insert(b.key.clone());
                let Some(a) = self.rows.alerts.get(&b.key) else {
                    self.out
                        .mismatch(bound::ALERTS, &b.key, Some(i), "row", "missing (deleted)");
                    return;
                };
                if id != a.id {
                    self.out.mismatch(
                        bound::ALERTS,
                        &b.key,
                        Some(i),
                        "id",
                        format!("the record's entry is about alert {id:?}"),
                    );
                    return;
                }
                check_alert(&mut self.out, a, i, entry);
            }
            Stands::Statement => {
                if !self.rows.versions.contains(&b.number) {
                    self.out.mismatch(
                        bound::AGREEMENT_VERSIONS,
                        format!("version {}", b.number),
                        Some(i),
                        "row",
                        "missing (deleted)",
                    );
                }
            }
        }
    }

    /// An entry a row stands for but no binding names: the tail above the mark, or a row
    /// deleted (or a store not bound at all).
    fn unbound_entry(&mut self, i: u64, signed: &SignedEntry, s: &Stands) {
        if self.out.mark.is_some_and(|m| i >= m) {
            self.out.tail.push((i, signed.leaf_hash()));
            return;
        }
        let row = if *s == Stands::Line {
            line_what(signed.entry())
        } else {
            s.row()
        };
        let detail = if self.out.mark.is_none() {
            "the store holds no binding to the record at all (a new or replaced \
             store), but a row stands for this entry"
        } else {
            "no row of the store is bound to this entry (deleted)"
        };
        self.out.mismatch(s.table(), row, Some(i), "row", detail);
    }

    /// A notification revision (or withdrawal) row against its entry: id, revision, party,
    /// status and the stored body's own fields; the entry's fields wait in `pending`.
    fn revision(
        &mut self,
        i: u64,
        entry: &Entry,
        b: &Binding,
        (id, party, revision): (&str, &str, Option<u64>),
    ) {
        let row = row_name(b);
        let key = (b.key.clone(), b.number);
        self.bound_revisions.insert(key.clone());
        let out = &mut self.out;
        if b.key != id {
            out.mismatch(
                bound::NOTIFICATION_REVISIONS,
                &row,
                Some(i),
                "id",
                format!("the record's entry is about notification {id:?}"),
            );
            return;
        }
        if let Some(r) = revision.filter(|r| *r != b.number) {
            out.mismatch(
                bound::NOTIFICATION_REVISIONS,
                &row,
                Some(i),
                "revision",
                format!("the record's entry is revision {r}"),
            );
            return;
        }
        let Some(n) = self.rows.revisions.get(&key) else {
            out.mismatch(
                bound::NOTIFICATION_REVISIONS,
                &row,
                Some(i),
                "row",
                "missing (deleted)",
            );
            return;
        };
        if n.party != party {
            out.mismatch(
                bound::NOTIFICATION_REVISIONS,
                &row,
                Some(i),
                "party",
                format!("the store says {:?}, the record {party:?}", n.party),
            );
        }
        let status_ok = matches!(
            (&revision, n.status),
            (Some(_), NotificationStatus::Active) | (None, NotificationStatus::Withdrawn)
        );
        if !status_ok {
            out.mismatch(
                bound::NOTIFICATION_REVISIONS,
                &row,
                Some(i),
                "status",
                format!(
                    "the store says {:?}, the record's entry is a {}",
                    n.status,
                    entry.body().kind()
                ),
            );
        }
        let stored: deconflict_client::wire::NotificationStored =
            match serde_json::from_str(&n.body) {
                Ok(s) => s,
                Err(e) => {
                    out.mismatch(
                        bound::NOTIFICATION_REVISIONS,
                        &row,
                        Some(i),
                        "body",
                        format!("not a stored notification: {e}"),
                    );
                    return;
                }
            };
        for (field, same, says) in [
            ("body.id", stored.id == n.id, stored.id.clone()),
            ("body.party", stored.party == n.party, stored.party.clone()),
            (
                "body.revision",
                stored.revision == n.revision,
                stored.revision.to_string(),
            ),
            (
                "body.status",
                stored.status
                    == match n.status {
                        NotificationStatus::Active => "active",
                        NotificationStatus::Withdrawn => "withdrawn",
                    },
                stored.status.clone(),
            ),
        ] {
            if !same {
                out.mismatch(
                    bound::NOTIFICATION_REVISIONS,
                    &row,
                    Some(i),
                    field,
                    format!("{says:?} differs from the row and its entry"),
                );
            }
        }
        if revision.is_some() {
            self.pending.push(PendingRevision {
                index: i,
                entry: entry.clone(),
                stored,
            });
        }
    }

    /// A line entry: its row exists and its message is on the stored line exactly.
    fn line(&mut self, i: u64, entry: &Entry, b: &Binding) {
        let row = row_name(b);
        if b.number == 0 || b.number > self.rows.line_seq {
            self.out
                .mismatch(bound::LINE_LOG, &row, Some(i), "row", "missing (deleted)");
            return;
        }
        if !self.rows.line_replays {
            return; // reported once, when read
        }
        let h = Hash::of(&entry.to_canonical()).0;
        if self.rows.on_line.contains_key(&h) {
            return;
        }
        // A repeated acknowledgement by another clock: the line holds the first.
        if let EntryBody::Acknowledgement {
            acknowledges,
            fields,
        } = entry.body()
            && let Some(FieldValue::Text(officer)) = fields.get("officer")
            && self.rows.line_ids.contains(
                deconflict_client::line_entry::ack_id(acknowledges.as_str(), officer.as_str())
                    .as_str(),
            )
        {
            return;
        }
        let what = line_what(entry);
        let detail = match entry.body() {
            EntryBody::LineMessage { message_id, .. }
                if self.rows.line_ids.contains(message_id.as_str()) =>
            {
                "the stored message differs from the recorded one".to_string()
            }
            _ => "the stored line holds no such message (deleted)".to_string(),
        };
        self.out
            .mismatch(bound::LINE_LOG, what, Some(i), "message", detail);
    }

    /// After the last of `size` entries: bindings beyond the record, a mark beyond it, rows no
    /// entry is bound to, and messages on the line the record does not hold.
    pub(super) fn finish(&mut self, bindings: BTreeMap<u64, Binding>, size: u64) {
        let out = &mut self.out;
        for (i, b) in bindings {
            out.mismatch(
                &b.table,
                if b.key.is_empty() {
                    format!("{}", b.number)
                } else {
                    b.key.clone()
                },
                Some(i),
                "entry",
                format!("bound to entry {i}, but the record has {size} entries"),
            );
        }
        if let Some(m) = out.mark.filter(|m| *m > size) {
            out.mismatch(
                "record_mark",
                "1",
                None,
                "bound_through",
                format!("the store was bound to a record of {m} entries; this one has {size}"),
            );
        }
        let mut unbound: Vec<&(String, u64)> = self
            .rows
            .revisions
            .keys()
            .filter(|k| !self.bound_revisions.contains(*k))
            .collect();
        unbound.sort();
        for (id, r) in unbound {
            out.mismatch(
                bound::NOTIFICATION_REVISIONS,
                format!("{id} revision {r}"),
                None,
                "row",
                "no log entry is bound to this row (not in the log)",
            );
        }
        let mut unbound: Vec<&String> = self
            .rows
            .alerts
            .keys()
            .filter(|k| !self.bound_alerts.contains(*k))
            .collect();
        unbound.sort();
        for id in unbound {
            out.mismatch(
                bound::ALERTS,
                id.as_str(),
                None,
                "row",
                "no log entry is bound to this row (not in the log)",
            );
        }
        let mut unrecorded: Vec<&String> = self
            .rows
            .on_line
            .iter()
            .filter(|(h, _)| !self.line_recorded.contains(*h))
            .map(|(_, id)| id)
            .collect();
        unrecorded.sort();
        for id in unrecorded {
            out.mismatch(
                bound::LINE_LOG,
                format!("message {id}"),
                None,
                "message",
                "not in the record as stored (added, or its text or fields changed)",
            );
        }
    }
}
