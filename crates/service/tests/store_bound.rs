//! The record is the truth, the store a view of it: a store edited while the service is stopped
//! — a notification's area moved, its remarks changed, an acknowledged notification deleted, a
//! line message's text edited, the whole store deleted — stops `serve` with an error naming
//! the table, the row, the entry index and the field, and `deconflict verify --data-dir`
//! reports the same and exits 1. An untouched directory verifies (exit 0) and serves.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{require_binary, run_demo, spawn_serve};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A data directory the demo filled (notifications with remarks, line messages, alerts), and
/// the binary.
fn demo() -> Option<(PathBuf, tempfile::TempDir)> {
    let bin = require_binary()?;
    let tmp = tempfile::tempdir().unwrap();
    run_demo(&bin, &tmp.path().join("d"));
    Some((bin, tmp))
}

/// A copy of the demo's directory with `edit` applied to its store.
fn tampered(demo: &Path, name: &str, edit: impl FnOnce(&rusqlite::Connection)) -> PathBuf {
    let dir = demo.parent().unwrap().join(name);
    copy_dir(demo, &dir);
    let conn = rusqlite::Connection::open(dir.join("store.sqlite")).unwrap();
    edit(&conn);
    drop(conn);
    dir
}

/// Edits the stored JSON of revision 1 of notification `id` with `f`.
fn edit_notification(
    conn: &rusqlite::Connection,
    id: &str,
    f: impl FnOnce(&mut serde_json::Value),
) {
    let body: String = conn
        .query_row(
            "SELECT body FROM notification_revisions WHERE id = ?1 AND revision = 1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&body).unwrap();
    f(&mut v["notification"]);
    let n = conn
        .execute(
            "UPDATE notification_revisions SET body = ?1 WHERE id = ?2 AND revision = 1",
            [v.to_string(), id.to_string()],
        )
        .unwrap();
    assert_eq!(n, 1);
}

/// `serve` on `dir`: it must exit (refusing to start) within a minute; its stderr.
fn serve_refuses(bin: &Path, dir: &Path) -> String {
    let mut child = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(!status.success(), "serve exited 0 on {}", dir.display());
            assert!(
                !stdout.contains("listening on"),
                "serve listened on a tampered store: {stdout}"
            );
            return String::from_utf8_lossy(&out.stderr).into_owned();
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("serve started on the tampered store {}", dir.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `deconflict verify --data-dir DIR`: exit code and stdout.
fn verify(bin: &Path, dir: &Path) -> (i32, String) {
    let out = Command::new(bin)
        .args(["verify", "--data-dir"])
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Both refuse the tampered directory, and both name every one of `says`.
fn refused(bin: &Path, dir: &Path, says: &[&str]) {
    let err = serve_refuses(bin, dir);
    let (code, out) = verify(bin, dir);
    assert_eq!(
        code,
        1,
        "verify --data-dir accepted {}: {out}",
        dir.display()
    );
    for s in says {
        assert!(err.contains(s), "serve's error lacks {s:?}: {err}");
        assert!(out.contains(s), "verify's report lacks {s:?}: {out}");
    }
}

#[test]
fn a_store_edited_while_stopped_is_refused_by_serve_and_by_verify() {
    let Some((bin, tmp)) = demo() else {
        return;
    };
    let clean = tmp.path().join("d");

    // The untouched directory verifies, says what it checked, and serves.
    let (code, out) = verify(&bin, &clean);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("notification_revisions 4"), "{out}");
    assert!(out.contains("store: OK"), "{out}");
    let (mut child, _) = spawn_serve(&bin, &clean, &[]);
    child.kill().unwrap();
    child.wait().unwrap();

    // A notification's area moved: the first corner of coalition-n1's polygon.
    let dir = tampered(&clean, "area", |c| {
        edit_notification(c, "coalition-n1", |n| {
            let lat = n["area"]["points"][0]["lat_deg"].as_f64().unwrap();
            n["area"]["points"][0]["lat_deg"] = (lat + 0.1).into();
        })
    });
    refused(
        &bin,
        &dir,
        &[
            "notification_revisions",
            "\"coalition-n1 revision 1\"",
            "entry 3",
            ": area:",
        ],
    );

    // Its remarks changed.
    let dir = tampered(&clean, "remarks", |c| {
        edit_notification(c, "russia-n1", |n| {
            n["remarks"] = "cleared by phone".into();
        })
    });
    refused(
        &bin,
        &dir,
        &[
            "notification_revisions",
            "\"russia-n1 revision 1\"",
            "entry 4",
            ": remarks:",
        ],
    );

    // An acknowledged notification deleted, with its row's binding to the record.
    let dir = tampered(&clean, "deleted", |c| {
        for sql in [
            "DELETE FROM notifications WHERE id = 'russia-n1'",
            "DELETE FROM notification_revisions WHERE id = 'russia-n1'",
            "DELETE FROM record_bindings WHERE row_key = 'russia-n1'",
        ] {
            assert!(c.execute(sql, []).unwrap() > 0, "{sql}");
        }
    });
    refused(
        &bin,
        &dir,
        &[
            "notification_revisions",
            "\"russia-n1 revision 1\"",
            "entry 4",
            "row: no row",
        ],
    );

    // Only the latest-revision pointer deleted (the API would no longer serve it).
    let dir = tampered(&clean, "pointer", |c| {
        let n = c
            .execute("DELETE FROM notifications WHERE id = 'coalition-n2'", [])
            .unwrap();
        assert_eq!(n, 1);
    });
    refused(
        &bin,
        &dir,
        &["notifications row \"coalition-n2\"", "missing"],
    );

    // A line message's text edited.
    let dir = tampered(&clean, "line", |c| {
        let (seq, body): (i64, String) = c
            .query_row(
                "SELECT seq, body FROM line_log WHERE body LIKE '%\"free_text\"%'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let text = &mut v["logged"]["event"]["message"]["body"]["text"];
        *text = format!("{} (amended)", text.as_str().unwrap()).into();
        c.execute(
            "UPDATE line_log SET body = ?1 WHERE seq = ?2",
            rusqlite::params![v.to_string(), seq],
        )
        .unwrap();
    });
    refused(
        &bin,
        &dir,
        &["line_log row \"message russia-text-1\"", ": message:"],
    );

    // The whole store deleted.
    let dir = tmp.path().join("no-store");
    copy_dir(&clean, &dir);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("store.sqlite{suffix}")));
    }
    let says = [
        "notification_revisions row \"coalition-n1 revision 1\", entry 3: row",
        "no binding to the record",
    ];
    let (code, out) = verify(&bin, &dir);
    assert_eq!(code, 1, "{out}");
    // verify writes nothing: the store is still absent.
    assert!(!dir.join("store.sqlite").exists());
    // serve refuses, and again on a second try (the empty store the first one opened is not
    // taken for this record's).
    for _ in 0..2 {
        let err = serve_refuses(&bin, &dir);
        for s in says {
            assert!(err.contains(s), "serve's error lacks {s:?}: {err}");
            assert!(out.contains(s), "verify's report lacks {s:?}: {out}");
        }
    }
}

#[test]
fn a_lowered_mark_does_not_turn_a_deleted_row_into_an_unstored_request() {
    let Some((bin, tmp)) = demo() else {
        return;
    };
    let clean = tmp.path().join("d");
    // The first notification deleted and the mark set back to 0: the bindings of later
    // entries still show the store was bound past it.
    let dir = tampered(&clean, "lowered", |c| {
        for sql in [
            "DELETE FROM notifications WHERE id = 'coalition-n1'",
            "DELETE FROM notification_revisions WHERE id = 'coalition-n1'",
            "DELETE FROM record_bindings WHERE row_key = 'coalition-n1'",
            "UPDATE record_mark SET bound_through = 0",
        ] {
            c.execute(sql, []).unwrap();
        }
    });
    refused(
        &bin,
        &dir,
        &["\"coalition-n1 revision 1\"", "entry 3", "row: no row"],
    );
}

/// A request whose entry became durable in the record but whose rows never reached the store
/// (the service stopped in between; it was never acknowledged) is the record's last: the next
/// start binds it as unstored and says so. Once a later commit bound the record past an entry,
/// that entry without its row is a deleted row, and the start is refused.
#[test]
fn only_the_last_batch_may_miss_its_rows_and_it_is_bound_as_unstored() {
    use deconflict_client::notification_entry::withdrawal_entry;
    use deconflict_log::SignedEntry;
    use deconflict_service::binding::bind_at_start;
    use deconflict_service::datadir::DataDir;
    use deconflict_service::log_entries::ServiceLog;
    use deconflict_store::{SqliteStore, Store, Write};

    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    let parties = ["coalition".to_string(), "russia".to_string()];
    let log = ServiceLog::open(&dir, &common::terms(), &parties, common::T0_MS).unwrap();
    let mut store = SqliteStore::open(&dir.store()).unwrap();
    let first = bind_at_start(&mut store, &log).unwrap();
    assert!(first.tail.is_empty() && first.unstored.is_empty());
    assert_eq!(store.record_mark().unwrap(), Some(first.entries));

    let withdrawal = |id: &str| {
        let e = withdrawal_entry("coalition", id, common::T0_MS as u64).unwrap();
        SignedEntry::sign(e, &common::key("coalition")).unwrap()
    };
    let stopped = log.record(vec![withdrawal("n-1")], &[]).unwrap()[0].0;
    assert_eq!(stopped, first.entries);
    let second = bind_at_start(&mut store, &log).unwrap();
    let tail: Vec<u64> = second.tail.iter().map(|(i, _)| *i).collect();
    assert_eq!(tail, vec![stopped]);
    let third = bind_at_start(&mut store, &log).unwrap();
    assert_eq!(third.unstored, vec![stopped]);
    assert!(third.tail.is_empty());

    // A commit after the next entry marks the record bound past it: that entry's row is then
    // missing, not unstored.
    let deleted = log.record(vec![withdrawal("n-2")], &[]).unwrap()[0].0;
    store.commit(&[Write::RecordMark(deleted + 1)]).unwrap();
    let err = bind_at_start(&mut store, &log).unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "notification_revisions row \"n-2 withdrawal\", entry {deleted}: row"
        )),
        "{err}"
    );
}
