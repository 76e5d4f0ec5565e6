//! The SQLite store: migrations, durability across reopen, atomic batches, bad input.

use deconflict_store::{
    AgreementSignature, AgreementVersion, Alert, LineEntry, MIGRATIONS, NewEvent, Notification,
    NotificationStatus, SqliteStore, Store, StoreError, TrackReport, Write,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn event(party: &str, body: &str) -> Write {
    Write::Event(NewEvent {
        party: party.into(),
        kind: "alert".into(),
        body: body.into(),
        created_ms: 1_000,
    })
}

fn notification(id: &str, party: &str, revision: u64, body: &str) -> Notification {
    Notification {
        id: id.into(),
        party: party.into(),
        revision,
        status: NotificationStatus::Active,
        body: body.into(),
        recorded_ms: 5,
    }
}

fn report(party: &str, track: &str, time_ms: i64) -> Write {
    Write::TrackReport(TrackReport {
        party: party.into(),
        track_id: track.into(),
        time_ms,
        body: format!("{{\"t\":{time_ms}}}"),
    })
}

/// A report of party `p`'s track `T` at `time_ms`, told apart by its body.
fn with_body(time_ms: i64, body: &str) -> Write {
    Write::TrackReport(TrackReport {
        party: "p".into(),
        track_id: "T".into(),
        time_ms,
        body: body.into(),
    })
}

#[test]
fn a_fresh_database_gets_every_migration_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as u64);
    drop(store);
    // Reopening applies nothing again (a second CREATE TABLE would fail).
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as u64);
}

#[test]
fn an_older_database_is_migrated_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let mut old = SqliteStore::open_with_migrations(&path, &MIGRATIONS[..1]).unwrap();
    assert_eq!(old.schema_version().unwrap(), 1);
    old.commit(&[event("coalition", "{\"n\":1}")]).unwrap();
    drop(old);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as u64);
    let events = store.events_after("coalition", 0, 10).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].body, "{\"n\":1}");
}

#[test]
fn a_database_from_a_newer_release_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let mut newer: Vec<&str> = MIGRATIONS.to_vec();
    newer.push("CREATE TABLE from_the_future (x INTEGER);");
    drop(SqliteStore::open_with_migrations(&path, &newer).unwrap());
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaTooNew { found, known } if found == newer.len() as u64 && known == MIGRATIONS.len() as u64),
        "{err}"
    );
}

#[test]
fn a_failing_migration_leaves_the_previous_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let mut broken: Vec<&str> = MIGRATIONS.to_vec();
    broken.push("CREATE TABLE ok_part (x INTEGER); THIS IS NOT SQL;");
    let err = SqliteStore::open_with_migrations(&path, &broken).unwrap_err();
    assert!(matches!(err, StoreError::Migration { version, .. } if version == broken.len() as u64));
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as u64);
    // The half of the failed migration that ran was rolled back with it.
    let mut again: Vec<&str> = MIGRATIONS.to_vec();
    again.push("CREATE TABLE ok_part (x INTEGER);");
    drop(store);
    let store = SqliteStore::open_with_migrations(&path, &again).unwrap();
    assert_eq!(store.schema_version().unwrap(), again.len() as u64);
}

#[test]
fn a_file_that_is_not_a_database_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    std::fs::write(
        &path,
        b"this is a text file, not SQLite, and long enough to matter....",
    )
    .unwrap();
    assert!(SqliteStore::open(&path).is_err());
}

#[test]
fn everything_committed_is_there_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let mut store = SqliteStore::open(&path).unwrap();
    store
        .commit(&[
            Write::AgreementVersion(AgreementVersion {
                version: 1,
                status: "in_force".into(),
                document: b"doc".to_vec(),
                recorded_ms: 7,
            }),
            Write::AgreementSignature(AgreementSignature {
                version: 1,
                party: "coalition".into(),
                purpose: "adopt".into(),
                signature: vec![1, 2, 3],
            }),
            Write::Notification(notification("n-1", "coalition", 1, "{\"a\":1}")),
            report("coalition", "T1", 10),
            Write::Alert(Alert {
                id: "a-1".into(),
                conflict: "c-1".into(),
                kind: "new".into(),
                parties: vec!["russia".into(), "coalition".into()],
                body: "{}".into(),
                created_ms: 11,
            }),
            event("coalition", "e1"),
            event("russia", "e1"),
            event("coalition", "e2"),
        ])
        .unwrap();
    drop(store);
    let mut store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.agreement_versions().unwrap().len(), 1);
    assert_eq!(
        store.agreement_signatures(1).unwrap()[0].signature,
        vec![1, 2, 3]
    );
    assert_eq!(
        store.notification("n-1").unwrap().unwrap().body,
        "{\"a\":1}"
    );
    assert_eq!(store.latest_reports().unwrap().len(), 1);
    let alert = store.alert("a-1").unwrap().unwrap();
    assert_eq!(
        alert.parties,
        vec!["coalition".to_string(), "russia".into()]
    );
    assert_eq!(store.alerts_for("russia", 10).unwrap().len(), 1);
    assert_eq!(store.last_seq("coalition").unwrap(), 2);
    assert_eq!(store.last_seq("russia").unwrap(), 1);
    // Sequence numbers continue after reopen: no reuse.
    let c = store.commit(&[event("coalition", "e3")]).unwrap();
    assert_eq!(c.events[0].seq, 3);
    let seqs: Vec<u64> = store
        .events_after("coalition", 0, 100)
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, vec![1, 2, 3]);
}

#[test]
fn a_batch_with_one_bad_write_changes_nothing() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    store.commit(&[event("coalition", "kept")]).unwrap();
    let err = store
        .commit(&[
            event("coalition", "lost"),
            Write::Notification(notification("n-1", "coalition", 1, "{}")),
            report("", "T1", 1),
        ])
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Invalid {
                field: "report.party",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(store.last_seq("coalition").unwrap(), 1);
    assert!(store.notification("n-1").unwrap().is_none());
    // The sequence number the failed batch would have used is still free.
    let c = store.commit(&[event("coalition", "next")]).unwrap();
    assert_eq!(c.events[0].seq, 2);
}

#[test]
fn notification_revisions_must_follow_the_stored_one() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    store
        .commit(&[Write::Notification(notification("n", "coalition", 1, "r1"))])
        .unwrap();
    let stale = store
        .commit(&[Write::Notification(notification(
            "n",
            "coalition",
            1,
            "r1b",
        ))])
        .unwrap_err();
    assert!(matches!(
        stale,
        StoreError::RevisionConflict {
            given: 1,
            stored: 1,
            ..
        }
    ));
    let skip = store
        .commit(&[Write::Notification(notification("n", "coalition", 3, "r3"))])
        .unwrap_err();
    assert!(matches!(
        skip,
        StoreError::RevisionConflict { given: 3, .. }
    ));
    let other = store
        .commit(&[Write::Notification(notification("n", "russia", 2, "r2"))])
        .unwrap_err();
    assert!(matches!(
        other,
        StoreError::Invalid {
            field: "notification.party",
            ..
        }
    ));
    let mut withdrawn = notification("n", "coalition", 2, "r2");
    withdrawn.status = NotificationStatus::Withdrawn;
    store
        .commit(&[Write::Notification(withdrawn.clone())])
        .unwrap();
    assert_eq!(store.notification("n").unwrap().unwrap(), withdrawn);
    let history = store.notification_history("n").unwrap();
    assert_eq!(
        history.iter().map(|n| n.body.as_str()).collect::<Vec<_>>(),
        ["r1", "r2"]
    );
}

#[test]
fn agreement_versions_are_consecutive_and_signatures_unique() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let v = |version| {
        Write::AgreementVersion(AgreementVersion {
            version,
            status: "draft".into(),
            document: vec![],
            recorded_ms: 0,
        })
    };
    assert!(matches!(
        store.commit(&[v(2)]).unwrap_err(),
        StoreError::RevisionConflict { .. }
    ));
    store.commit(&[v(1)]).unwrap();
    let sig = Write::AgreementSignature(AgreementSignature {
        version: 1,
        party: "p".into(),
        purpose: "adopt".into(),
        signature: vec![9],
    });
    store.commit(std::slice::from_ref(&sig)).unwrap();
    assert!(matches!(
        store.commit(&[sig]).unwrap_err(),
        StoreError::Duplicate { .. }
    ));
    let orphan = Write::AgreementSignature(AgreementSignature {
        version: 5,
        party: "p".into(),
        purpose: "adopt".into(),
        signature: vec![9],
    });
    assert!(matches!(
        store.commit(&[orphan]).unwrap_err(),
        StoreError::NotFound { .. }
    ));
}

#[test]
fn late_reports_are_logged_and_latest_is_the_newest() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let n = 42;
    let writes: Vec<Write> = (1..=n).map(|t| report("p", "T", t)).collect();
    store.commit(&writes).unwrap();
    // A late report is logged but does not replace the latest.
    store.commit(&[report("p", "T", n - 5)]).unwrap();
    store.commit(&[report("p", "T", 3)]).unwrap();
    let latest = store.latest_reports().unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].time_ms, n);
    assert_eq!(latest[0].body, format!("{{\"t\":{n}}}"));
    // The last ten by observation time: the late report among them, after its equal.
    let times: Vec<i64> = store
        .track_reports_between("p", "T", n - 8, n, 100)
        .unwrap()
        .iter()
        .map(|r| r.time_ms)
        .collect();
    let mut expect: Vec<i64> = (n - 8..=n).collect();
    expect.insert(expect.iter().position(|t| *t == n - 5).unwrap() + 1, n - 5);
    assert_eq!(times, expect);
    // Every report is in the report log, numbered in the order accepted; one track's window.
    let logged = store.reports_after("p", 0, 1000).unwrap();
    assert_eq!(logged.len() as i64, n + 2);
    assert_eq!(
        logged.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=(n as u64 + 2)).collect::<Vec<_>>()
    );
    assert_eq!(logged.last().unwrap().time_ms, 3);
    let window = store.track_reports_between("p", "T", 2, 4, 100).unwrap();
    assert_eq!(
        window
            .iter()
            .map(|r| (r.time_ms, r.seq))
            .collect::<Vec<_>>(),
        [(2, 2), (3, 3), (3, n as u64 + 2), (4, 4)]
    );
}

#[test]
fn the_latest_report_is_the_newest_and_the_later_one_at_an_equal_time() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    store.commit(&[with_body(10, "first")]).unwrap();
    store.commit(&[with_body(10, "second")]).unwrap();
    store
        .commit(&[with_body(9, "late"), with_body(3, "later still")])
        .unwrap();
    let latest = store.latest_reports().unwrap();
    assert_eq!(
        latest
            .iter()
            .map(|r| (r.time_ms, r.body.as_str()))
            .collect::<Vec<_>>(),
        [(10, "second")]
    );
    store.commit(&[with_body(11, "newest")]).unwrap();
    assert_eq!(store.latest_reports().unwrap()[0].body, "newest");
    assert_eq!(store.reports_after("p", 0, 100).unwrap().len(), 5);
}

#[test]
fn a_refused_commit_moves_no_track_head_and_the_next_report_links_to_the_last_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut store = SqliteStore::open(&path).unwrap();
    store.commit(&[with_body(10, "first")]).unwrap();
    // The second report is staged, then the bad key refuses the whole commit.
    assert!(
        store
            .commit(&[with_body(20, "lost"), report("p", "", 1)])
            .is_err()
    );
    store.commit(&[with_body(15, "third")]).unwrap();
    let bodies = |v: Vec<TrackReport>| v.into_iter().map(|r| r.body).collect::<Vec<_>>();
    let between = |s: &SqliteStore, from, to| {
        s.track_reports_between("p", "T", from, to, 10)
            .unwrap()
            .into_iter()
            .map(|r| r.body)
            .collect::<Vec<_>>()
    };
    assert_eq!(between(&store, i64::MIN, i64::MAX), ["first", "third"]);
    assert_eq!(between(&store, 11, 20), ["third"]);
    assert_eq!(bodies(store.latest_reports().unwrap()), ["third"]);
    // A later report links to "third", whether the head comes from memory or, reopened, from
    // the table.
    store.commit(&[with_body(12, "fourth")]).unwrap();
    drop(store);
    let mut store = SqliteStore::open(&path).unwrap();
    store.commit(&[with_body(30, "fifth")]).unwrap();
    assert_eq!(
        between(&store, i64::MIN, i64::MAX),
        ["first", "fourth", "third", "fifth"]
    );
    assert_eq!(between(&store, 11, 29), ["fourth", "third"]);
    assert_eq!(bodies(store.latest_reports().unwrap()), ["fifth"]);
}

#[test]
fn bad_keys_are_refused_naming_the_field() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let long = "x".repeat(deconflict_store::KEY_BYTES_MAX + 1);
    for (w, field) in [
        (report("p", "", 1), "report.track_id"),
        (report(&long, "T", 1), "report.party"),
        (report("p", "bad\nid", 1), "report.track_id"),
        (event("", "x"), "event.party"),
    ] {
        match store.commit(&[w]) {
            Err(StoreError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected Invalid {field}, got {other:?}"),
        }
    }
    let no_parties = Write::Alert(Alert {
        id: "a".into(),
        conflict: "c".into(),
        kind: "new".into(),
        parties: vec![],
        body: "{}".into(),
        created_ms: 0,
    });
    assert!(matches!(
        store.commit(&[no_parties]).unwrap_err(),
        StoreError::Invalid {
            field: "alert.parties",
            ..
        }
    ));
    assert!(store.latest_reports().unwrap().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Against an exact model: per party, the events read back are exactly those of the
    /// batches that committed, numbered 1, 2, 3, … with no gap, whatever batches failed.
    #[test]
    fn event_streams_match_the_model(
        batches in proptest::collection::vec(
            proptest::collection::vec((0usize..3, any::<bool>()), 1..6), 1..20)
    ) {
        let parties = ["a", "b", "c"];
        let mut store = SqliteStore::open_in_memory().unwrap();
        let mut model: Vec<Vec<String>> = vec![Vec::new(); 3];
        for (i, batch) in batches.iter().enumerate() {
            let mut writes = Vec::new();
            let mut ok = true;
            for (j, (p, good)) in batch.iter().enumerate() {
                let party = if *good { parties[*p] } else { "" };
                ok &= *good;
                writes.push(event(party, &format!("{i}.{j}")));
            }
            let result = store.commit(&writes);
            prop_assert_eq!(result.is_ok(), ok);
            if ok {
                for (j, (p, _)) in batch.iter().enumerate() {
                    model[*p].push(format!("{i}.{j}"));
                }
            }
        }
        for (p, expect) in model.iter().enumerate() {
            let got = store.events_after(parties[p], 0, 10_000).unwrap();
            let bodies: Vec<String> = got.iter().map(|e| e.body.clone()).collect();
            prop_assert_eq!(&bodies, expect);
            let seqs: Vec<u64> = got.iter().map(|e| e.seq).collect();
            let want: Vec<u64> = (1..=expect.len() as u64).collect();
            prop_assert_eq!(seqs, want);
            prop_assert_eq!(store.last_seq(parties[p]).unwrap(), expect.len() as u64);
        }
    }
}

fn line(seq: u64, body: &str) -> Write {
    Write::LineEntry(LineEntry {
        seq,
        at_ms: 1000 + seq as i64,
        body: body.into(),
    })
}

#[test]
fn the_line_log_survives_reopen_and_continues_its_numbering() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let mut store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.line_last_seq().unwrap(), 0);
    store
        .commit(&[line(1, "a"), line(2, "b"), event("coalition", "e")])
        .unwrap();
    drop(store);
    let mut store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.line_last_seq().unwrap(), 2);
    store.commit(&[line(3, "c")]).unwrap();
    let all = store.line_entries_after(0, 100).unwrap();
    let bodies: Vec<&str> = all.iter().map(|e| e.body.as_str()).collect();
    assert_eq!(bodies, vec!["a", "b", "c"]);
    assert_eq!(all[2].at_ms, 1003);
    let tail = store.line_entries_after(1, 1).unwrap();
    assert_eq!(tail.len(), 1);
    assert_eq!(tail[0].seq, 2);
}

#[test]
fn a_line_entry_out_of_sequence_is_refused_and_nothing_changes() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    store.commit(&[line(1, "a")]).unwrap();
    // A second writer that read the same log numbers its entry 2 too: the later commit fails.
    store.commit(&[line(2, "first")]).unwrap();
    for bad in [2, 4, 0] {
        let err = store
            .commit(&[event("coalition", "lost"), line(bad, "second")])
            .unwrap_err();
        assert!(
            matches!(err, StoreError::RevisionConflict { field: "line.seq", given, stored: 2 } if given == bad),
            "{err}"
        );
    }
    assert_eq!(store.line_last_seq().unwrap(), 2);
    assert_eq!(store.last_seq("coalition").unwrap(), 0);
    assert_eq!(store.line_entries_after(0, 10).unwrap()[1].body, "first");
}

#[test]
fn an_older_database_gets_an_empty_line_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let old = SqliteStore::open_with_migrations(&path, &MIGRATIONS[..2]).unwrap();
    assert_eq!(old.line_last_seq().unwrap(), 0);
    drop(old);
    let mut store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.line_last_seq().unwrap(), 0);
    store.commit(&[line(1, "a")]).unwrap();
    assert_eq!(store.line_last_seq().unwrap(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// `open_conflicts` against a model: for any sequence of alerts over a few conflicts (each
    /// conflict with its own pair of parties), exactly the conflicts whose last alert is not
    /// `ended` (strategic ones never), each with its last alert — across a reopen, in batches.
    #[test]
    fn open_conflicts_are_those_whose_last_alert_is_not_an_end(
        alerts in proptest::collection::vec((0usize..5, 0usize..4), 0..60),
        batch in 1usize..7,
    ) {
        let pairs = [
            ["coalition", "russia"],
            ["coalition", "turkey"],
            ["russia", "turkey"],
            ["coalition", "russia"],
            ["russia", "turkey"],
        ];
        let kinds = ["new", "level", "ended", "strategic"];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        let mut store = SqliteStore::open(&path).unwrap();
        let mut model: std::collections::BTreeMap<String, (String, &str)> = Default::default();
        let writes: Vec<(Write, usize, usize, usize)> = alerts
            .iter()
            .enumerate()
            .map(|(i, &(c, k))| {
                let conflict = format!("c-{c}");
                let id = format!("{conflict}:{i}");
                let w = Write::Alert(Alert {
                    id,
                    conflict,
                    kind: kinds[k].into(),
                    parties: pairs[c].iter().map(|p| p.to_string()).collect(),
                    body: "{}".into(),
                    created_ms: 1000 - i as i64, // not in insertion order: order must not come from time
                });
                (w, i, c, k)
            })
            .collect();
        for chunk in writes.chunks(batch) {
            let ws: Vec<Write> = chunk.iter().map(|(w, ..)| w.clone()).collect();
            store.commit(&ws).unwrap();
            for &(_, i, c, k) in chunk {
                if kinds[k] != "strategic" {
                    model.insert(format!("c-{c}"), (format!("c-{c}:{i}"), kinds[k]));
                }
            }
        }
        drop(store);
        let store = SqliteStore::open(&path).unwrap();
        let got: Vec<(String, String)> = store
            .open_conflicts()
            .unwrap()
            .into_iter()
            .map(|a| (a.conflict, a.id))
            .collect();
        let want: Vec<(String, String)> = model
            .into_iter()
            .filter(|(_, (_, kind))| *kind != "ended")
            .map(|(c, (id, _))| (c, id))
            .collect();
        prop_assert_eq!(got, want);
    }
}

fn binding(index: u64, table: &str, key: &str, number: u64) -> Write {
    Write::Binding(deconflict_store::Binding {
        entry_index: index,
        entry_hash: [index as u8; 32],
        table: table.into(),
        key: key.into(),
        number,
    })
}

/// Bindings are written with their rows, one per entry; the mark only rises; a recovery drops
/// exactly the rows bound to the entries it drops and sets the mark back.
#[test]
fn rows_are_bound_to_record_entries_and_a_recovery_drops_the_later_ones() {
    use deconflict_store::bound;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    let mut s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.record_mark().unwrap(), None);
    s.commit(&[
        Write::Notification(notification("n-1", "coalition", 1, "{}")),
        binding(3, bound::NOTIFICATION_REVISIONS, "n-1", 1),
        Write::RecordMark(4),
    ])
    .unwrap();
    s.commit(&[
        Write::Notification(notification("n-1", "coalition", 2, "{}")),
        binding(5, bound::NOTIFICATION_REVISIONS, "n-1", 2),
        binding(6, bound::UNSTORED, "", 0),
        Write::RecordMark(7),
    ])
    .unwrap();
    // A second binding of one entry is refused, and the batch with it changes nothing.
    let err = s
        .commit(&[
            Write::Notification(notification("n-2", "russia", 1, "{}")),
            binding(5, bound::NOTIFICATION_REVISIONS, "n-2", 1),
        ])
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { .. }), "{err}");
    assert!(s.notification("n-2").unwrap().is_none());
    // The mark never goes down.
    s.commit(&[Write::RecordMark(2)]).unwrap();
    assert_eq!(s.record_mark().unwrap(), Some(7));
    let indexes: Vec<u64> = s
        .bindings()
        .unwrap()
        .iter()
        .map(|b| b.entry_index)
        .collect();
    assert_eq!(indexes, vec![3, 5, 6]);
    assert_eq!(s.notification_revisions_all().unwrap().len(), 2);

    // Reading only: the same, and nothing written.
    drop(s);
    let ro = SqliteStore::open_read_only(&path).unwrap();
    assert_eq!(ro.bindings().unwrap().len(), 3);
    assert_eq!(
        ro.notification_pointers().unwrap(),
        vec![("n-1".to_string(), "coalition".to_string(), 2)]
    );
    drop(ro);

    // The record cut to 5 entries: revision 2 goes, the pointer follows, the mark is 5.
    let mut s = SqliteStore::open(&path).unwrap();
    let plan = s.drop_bound_from(5, false).unwrap();
    assert_eq!(plan.notification_revisions, 1);
    assert_eq!(s.bindings().unwrap().len(), 3, "a plan changes nothing");
    s.drop_bound_from(5, true).unwrap();
    assert_eq!(s.notification("n-1").unwrap().unwrap().revision, 1);
    assert_eq!(s.record_mark().unwrap(), Some(5));
    let indexes: Vec<u64> = s
        .bindings()
        .unwrap()
        .iter()
        .map(|b| b.entry_index)
        .collect();
    assert_eq!(indexes, vec![3]);
}

/// Every report of `party`/`track` the log holds, by (time, seq): the oracle for the walks.
fn logged_by_time(store: &SqliteStore, party: &str, track: &str) -> Vec<(i64, u64, String)> {
    let mut all: Vec<(i64, u64, String)> = store
        .reports_after(party, 0, usize::MAX)
        .unwrap()
        .into_iter()
        .filter(|r| r.track_id == track)
        .map(|r| (r.time_ms, r.seq, r.body))
        .collect();
    all.sort_unstable_by_key(|(t, seq, _)| (*t, *seq));
    all
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A track's reports, in all and in a window, and its latest report, read by walking its
    /// chain back from the head, are exactly what sorting all of its logged reports gives, with
    /// late reports, equal times and other tracks interleaved.
    #[test]
    fn walking_a_tracks_reports_back_finds_what_sorting_them_all_does(
        reports in prop::collection::vec((0usize..3, 0i64..60, any::<bool>()), 1..160),
        batch in 1usize..40,
        windows in prop::collection::vec((0i64..70, 0i64..30, 1usize..50), 1..6),
    ) {
        let mut store = SqliteStore::open_in_memory().unwrap();
        let tracks = ["A", "B", "C"];
        // Mostly in order (a clock that moves on), sometimes late or early.
        let mut clock = 0i64;
        let writes: Vec<Write> = reports
            .iter()
            .enumerate()
            .map(|(i, &(k, jitter, late))| {
                clock += 1;
                let time_ms = if late { clock - jitter } else { clock + jitter / 10 };
                Write::TrackReport(TrackReport {
                    party: "p".into(),
                    track_id: tracks[k].into(),
                    time_ms: time_ms * 1000,
                    body: format!("{{\"i\":{i}}}"),
                })
            })
            .collect();
        for chunk in writes.chunks(batch) {
            store.commit(chunk).unwrap();
        }
        let latest = store.latest_reports().unwrap();
        for track in tracks {
            let all = logged_by_time(&store, "p", track);
            let history: Vec<(i64, String)> = store
                .track_reports_between("p", track, i64::MIN, i64::MAX, usize::MAX)
                .unwrap()
                .into_iter()
                .map(|r| (r.time_ms, r.body))
                .collect();
            let expect: Vec<(i64, String)> =
                all.iter().map(|(t, _, b)| (*t, b.clone())).collect();
            prop_assert_eq!(&history, &expect, "history of {}", track);
            let newest = all.last().map(|(t, _, b)| (*t, b.clone()));
            let held = latest
                .iter()
                .find(|r| r.track_id == track)
                .map(|r| (r.time_ms, r.body.clone()));
            prop_assert_eq!(held, newest, "latest of {}", track);
            for &(from_s, len_s, limit) in &windows {
                let (from, to) = (from_s * 1000, (from_s + len_s) * 1000);
                let got: Vec<u64> = store
                    .track_reports_between("p", track, from, to, limit)
                    .unwrap()
                    .into_iter()
                    .map(|r| r.seq)
                    .collect();
                let want: Vec<u64> = all
                    .iter()
                    .filter(|(t, _, _)| (from..=to).contains(t))
                    .take(limit)
                    .map(|(_, seq, _)| *seq)
                    .collect();
                prop_assert_eq!(got, want, "{} in [{}, {}] at most {}", track, from, to, limit);
            }
        }
    }
}

#[test]
fn reports_stored_before_the_chains_are_chained_by_the_migration() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    drop(SqliteStore::open_with_migrations(&path, &MIGRATIONS[..5]).unwrap());
    {
        // As the release before the chains wrote them: each report in the log, and the
        // track's newest by time (the later one at an equal time) copied into `tracks`.
        let conn = rusqlite::Connection::open(&path).unwrap();
        let rows = [
            ("A", 1, 10),
            ("B", 2, 11),
            ("A", 3, 12),
            ("A", 4, 9),
            ("B", 5, 11),
            ("A", 6, 12),
        ];
        for (track, seq, t) in rows {
            conn.execute(
                "INSERT INTO report_log (party, seq, track_id, time_ms, body) VALUES ('p', ?1, ?2, ?3, ?4)",
                rusqlite::params![seq, track, t, format!("{track}{seq}")],
            )
            .unwrap();
        }
        for (track, t, body, n) in [("A", 12, "A6", 4), ("B", 11, "B5", 2)] {
            conn.execute(
                "INSERT INTO tracks (party, track_id, time_ms, body, report_count) VALUES ('p', ?1, ?2, ?3, ?4)",
                rusqlite::params![track, t, body, n],
            )
            .unwrap();
        }
    }
    let mut store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as u64);
    let latest: Vec<(String, i64, String)> = store
        .latest_reports()
        .unwrap()
        .into_iter()
        .map(|r| (r.track_id, r.time_ms, r.body))
        .collect();
    assert_eq!(
        latest,
        [("A".into(), 12, "A6".into()), ("B".into(), 11, "B5".into())]
    );
    let history = |store: &SqliteStore| -> Vec<String> {
        store
            .track_reports_between("p", "A", i64::MIN, i64::MAX, 100)
            .unwrap()
            .into_iter()
            .map(|r| r.body)
            .collect()
    };
    assert_eq!(history(&store), ["A4", "A1", "A3", "A6"]);
    // New reports continue the migrated chains and numbering.
    store.commit(&[report("p", "A", 8)]).unwrap();
    assert_eq!(history(&store)[0], "{\"t\":8}");
    let between: Vec<u64> = store
        .track_reports_between("p", "A", 9, 12, 10)
        .unwrap()
        .into_iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(between, [4, 1, 3, 6]);
    assert_eq!(store.reports_after("p", 6, 10).unwrap()[0].seq, 7);
}

/// A report of `party`'s `track` at `time_ms`, with body `i` (told apart).
fn stored(party: &str, track: &str, time_ms: i64, i: usize) -> TrackReport {
    TrackReport {
        party: party.into(),
        track_id: track.into(),
        time_ms,
        body: format!("{{\"i\":{i}}}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Reports stored as runs (one row each) and reports written one by one share the party's
    /// numbering, and every read gives what a model of all the reports in order gives: by
    /// number, by track and time window, the latest per track, the tracks in a window.
    #[test]
    fn runs_and_single_reports_read_as_one_log(
        commits in prop::collection::vec(
            (any::<bool>(), prop::collection::vec((0usize..2, 0usize..3, 0i64..40), 1..12)),
            1..24,
        ),
        afters in prop::collection::vec((0u64..200, 1usize..60), 1..5),
        windows in prop::collection::vec((0i64..50, 0i64..20, 1usize..30), 1..5),
    ) {
        let mut store = SqliteStore::open_in_memory().unwrap();
        let parties = ["p", "q"];
        let tracks = ["A", "B", "C"];
        // The model: every report with its party's number, in the order accepted.
        let mut model: Vec<(String, u64, String, i64, String)> = Vec::new();
        let mut next = [0u64; 2];
        let mut i = 0;
        for (as_run, reports) in &commits {
            let mut writes = Vec::new();
            for pi in 0..2 {
                let of_party: Vec<TrackReport> = reports
                    .iter()
                    .filter(|(p, _, _)| *p == pi)
                    .map(|&(_, k, t)| {
                        i += 1;
                        stored(parties[pi], tracks[k], t * 1000, i)
                    })
                    .collect();
                for r in &of_party {
                    next[pi] += 1;
                    model.push((r.party.clone(), next[pi], r.track_id.clone(), r.time_ms, r.body.clone()));
                }
                if *as_run && !of_party.is_empty() {
                    writes.push(Write::ReportRun(of_party));
                } else {
                    writes.extend(of_party.into_iter().map(Write::TrackReport));
                }
            }
            let committed = store.commit(&writes).unwrap();
            prop_assert_eq!(committed.report_seqs.len(), reports.len());
        }
        for party in parties {
            for &(after, limit) in &afters {
                let got: Vec<(u64, String)> = store
                    .reports_after(party, after, limit)
                    .unwrap()
                    .into_iter()
                    .map(|r| (r.seq, r.body))
                    .collect();
                let want: Vec<(u64, String)> = model
                    .iter()
                    .filter(|m| m.0 == party && m.1 > after)
                    .take(limit)
                    .map(|m| (m.1, m.4.clone()))
                    .collect();
                prop_assert_eq!(got, want, "{} after {} at most {}", party, after, limit);
            }
            for track in tracks {
                let mut all: Vec<&(String, u64, String, i64, String)> =
                    model.iter().filter(|m| m.0 == party && m.2 == track).collect();
                all.sort_by_key(|m| (m.3, m.1));
                for &(from_s, len_s, limit) in &windows {
                    let (from, to) = (from_s * 1000, (from_s + len_s) * 1000);
                    let got: Vec<u64> = store
                        .track_reports_between(party, track, from, to, limit)
                        .unwrap()
                        .into_iter()
                        .map(|r| r.seq)
                        .collect();
                    let want: Vec<u64> = all
                        .iter()
                        .filter(|m| (from..=to).contains(&m.3))
                        .take(limit)
                        .map(|m| m.1)
                        .collect();
                    prop_assert_eq!(got, want, "{}/{} in [{}, {}]", party, track, from, to);
                }
                let newest = all.last().map(|m| (m.3, m.4.clone()));
                for &(from_s, _, _) in &windows {
                    let since = from_s * 1000;
                    let held = store
                        .latest_reports_since(since)
                        .unwrap()
                        .into_iter()
                        .find(|r| r.party == party && r.track_id == track)
                        .map(|r| (r.time_ms, r.body));
                    let want = newest.clone().filter(|n| n.0 >= since);
                    prop_assert_eq!(held, want, "latest of {}/{} since {}", party, track, since);
                }
                let held = store
                    .latest_reports()
                    .unwrap()
                    .into_iter()
                    .find(|r| r.party == party && r.track_id == track)
                    .map(|r| (r.time_ms, r.body));
                prop_assert_eq!(held, newest, "latest of {}/{}", party, track);
            }
        }
        // Several tracks of both parties at once (one track left out of the asking), against
        // the model; and a limit below the window's reports stops the read past it.
        let asked: Vec<(String, String)> = parties
            .iter()
            .flat_map(|p| tracks[..2].iter().map(move |t| (p.to_string(), t.to_string())))
            .chain([("q".to_string(), "C".to_string())])
            .collect();
        for &(from_s, len_s, _) in &windows {
            let (from, to) = (from_s * 1000, (from_s + len_s) * 1000);
            let mut want: BTreeMap<(String, String), Vec<(i64, u64)>> = BTreeMap::new();
            for m in model.iter().filter(|m| (from..=to).contains(&m.3)) {
                if asked.contains(&(m.0.clone(), m.2.clone())) {
                    want.entry((m.0.clone(), m.2.clone())).or_default().push((m.3, m.1));
                }
            }
            for rows in want.values_mut() {
                rows.sort();
            }
            let total: usize = want.values().map(Vec::len).sum();
            let got: BTreeMap<(String, String), Vec<(i64, u64)>> = store
                .reports_of_tracks_between(&asked, from, to, total)
                .unwrap()
                .into_iter()
                .map(|(k, rows)| (k, rows.iter().map(|r| (r.time_ms, r.seq)).collect()))
                .collect();
            prop_assert_eq!(&got, &want, "the asked tracks in [{}, {}]", from, to);
            if total > 0 {
                let cut = store.reports_of_tracks_between(&asked, from, to, total - 1).unwrap();
                prop_assert!(
                    cut.values().map(Vec::len).sum::<usize>() > total - 1,
                    "{} reports in [{}, {}] read with a limit of {}: the answer must show more", total, from, to, total - 1
                );
            }
        }
        for &(from_s, len_s, _) in &windows {
            let (from, to) = (from_s * 1000, (from_s + len_s) * 1000);
            let got = store.tracks_between(from, to).unwrap();
            for m in model.iter().filter(|m| (from..=to).contains(&m.3)) {
                prop_assert!(
                    got.contains(&(m.0.clone(), m.2.clone())),
                    "{}/{} reported at {} is not among the tracks of [{}, {}]", m.0, m.2, m.3, from, to
                );
            }
        }
    }
}

#[test]
fn a_run_continues_the_numbering_across_a_reopen_and_bad_runs_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let mut store = SqliteStore::open(&path).unwrap();
    let c = store
        .commit(&[
            report("p", "A", 1_000),
            Write::ReportRun(vec![stored("p", "A", 2_000, 1), stored("p", "B", 2_000, 2)]),
        ])
        .unwrap();
    assert_eq!(c.report_seqs, vec![1, 2, 3]);
    drop(store);
    let mut store = SqliteStore::open(&path).unwrap();
    // A run of two parties, an empty run, and one too long: each refused, naming what is wrong.
    let mixed = Write::ReportRun(vec![stored("p", "A", 3_000, 3), stored("q", "A", 3_000, 4)]);
    let err = store.commit(&[report("p", "C", 3_000), mixed]).unwrap_err();
    assert!(
        err.to_string()
            .contains("a run of \"p\" holds a report of \"q\""),
        "{err}"
    );
    let err = store.commit(&[Write::ReportRun(Vec::new())]).unwrap_err();
    assert!(err.to_string().contains("at least one report"), "{err}");
    let long = (0..=deconflict_store::RUN_REPORTS_MAX)
        .map(|i| stored("p", "A", 4_000, i))
        .collect();
    let err = store.commit(&[Write::ReportRun(long)]).unwrap_err();
    assert!(
        err.to_string().contains("10001 reports, more than 10000"),
        "{err}"
    );
    // Nothing of the refused commits took a number: the next run follows the first three.
    let c = store
        .commit(&[Write::ReportRun(vec![stored("p", "C", 5_000, 9)])])
        .unwrap();
    assert_eq!(c.report_seqs, vec![4]);
    let seqs: Vec<u64> = store
        .reports_after("p", 0, 100)
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4]);
}

#[test]
fn a_damaged_run_is_an_error_naming_it_not_a_guess() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let mut store = SqliteStore::open(&path).unwrap();
    store
        .commit(&[Write::ReportRun(vec![
            stored("p", "A", 1_000, 1),
            stored("p", "B", 1_000, 2),
        ])])
        .unwrap();
    drop(store);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        // Cut the packed reports short, in the middle of the second report.
        conn.execute(
            "UPDATE report_runs SET reports = substr(reports, 1, length(reports) - 3)",
            [],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let err = store.reports_after("p", 0, 10).unwrap_err();
    assert!(
        err.to_string().contains("run p/1") && err.to_string().contains("inside a report"),
        "{err}"
    );
}
