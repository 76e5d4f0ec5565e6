//! The log file end to end: appends from many threads are durable, indexed and provable; the
//! log reopens to the same state; an interrupted batch is cut off at any byte; damage beyond one
//! batch is refused; limits refuse and count.

use std::sync::Arc;

use deconflict_log::{
    Entry, EntryBody, FieldValue, Fields, KeyId, KeyRing, SignedEntry, SigningKey, Text,
    VerifyOptions, verify_export,
};
use deconflict_logfile::frame::{self, ScanError};
use deconflict_logfile::verify::verify_file;
use deconflict_logfile::{LogFile, LogFileConfig, LogFileError, export_dir};

fn id(s: &str) -> KeyId {
    KeyId::new(s).unwrap()
}

fn log_key() -> SigningKey {
    SigningKey::from_bytes(&[1; 32])
}

fn blue() -> SigningKey {
    SigningKey::from_bytes(&[2; 32])
}

fn config() -> LogFileConfig {
    let mut keys = KeyRing::new();
    keys.insert(id("blue"), blue().verifying_key()).unwrap();
    let mut c = LogFileConfig::new(id("service"), log_key(), keys);
    // A deterministic clock keeps timestamps reproducible.
    let t = Arc::new(std::sync::atomic::AtomicU64::new(1_700_000_000_000));
    c.now_ms = Arc::new(move || t.fetch_add(7, std::sync::atomic::Ordering::Relaxed));
    c
}

fn message(i: u64) -> SignedEntry {
    let e = Entry::new(
        id("blue"),
        1_700_000_000_000 + i,
        EntryBody::LineMessage {
            message_id: Text::new(format!("m-{i}")).unwrap(),
            fields: Fields::new()
                .with("template", FieldValue::text("link_test").unwrap())
                .unwrap(),
        },
    )
    .unwrap();
    SignedEntry::sign(e, &blue()).unwrap()
}

#[test]
fn concurrent_appends_are_durable_indexed_and_provable() {
    let dir = tempfile::tempdir().unwrap();
    let j = Arc::new(LogFile::open(dir.path(), config()).unwrap());
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let j = j.clone();
            std::thread::spawn(move || {
                (0..50u64)
                    .map(|i| {
                        let e = message(t * 1000 + i);
                        let index = j.append(e.clone()).unwrap();
                        (index, e)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut acked: Vec<(u64, SignedEntry)> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    acked.sort_by_key(|(i, _)| *i);
    assert_eq!(acked.len(), 400);
    for (n, (i, _)) in acked.iter().enumerate() {
        assert_eq!(*i, n as u64, "indices are dense and unique");
    }
    let sth = j.latest_tree_head();
    assert_eq!(sth.tree_head().size(), 400);
    sth.verify(&log_key().verifying_key()).unwrap();
    for (i, e) in acked.iter().step_by(37) {
        let p = j.inclusion_proof(*i, 400).unwrap();
        p.verify(&e.leaf_hash(), sth.tree_head().root()).unwrap();
    }
    let stored = j.entries(0, 400).unwrap();
    for ((_, e), s) in acked.iter().zip(&stored) {
        assert_eq!(e.as_bytes(), s.as_bytes());
    }
    let stats = j.stats();
    assert_eq!(stats.appended, 400);
    assert!(stats.batches >= 1 && stats.batches <= 400, "{stats:?}");

    // Consistency between two heads handed out.
    let old = sth.clone();
    j.append(message(99_999)).unwrap();
    let new = j.latest_tree_head();
    let proof = j
        .consistency_proof(old.tree_head().size(), new.tree_head().size())
        .unwrap();
    deconflict_log::check_new_head(Some(&old), &new, &proof, &log_key().verifying_key()).unwrap();
    drop(j);

    // Reopen: same tree, same head; the export verifies.
    let j = LogFile::open(dir.path(), config()).unwrap();
    assert_eq!(j.latest_tree_head(), new);
    let mut out = Vec::new();
    let counts = j.export(&mut out).unwrap();
    assert_eq!(counts.entries, 401);
    let s = verify_export(&out, VerifyOptions::default()).unwrap();
    assert_eq!(s.last_tree_head, new);
}

#[test]
fn countersignatures_of_issued_heads_only() {
    let dir = tempfile::tempdir().unwrap();
    let j = LogFile::open(dir.path(), config()).unwrap();
    j.append(message(1)).unwrap();
    let head = j.latest_tree_head();
    let c = Entry::cosignature(id("blue"), 5, head.tree_head().clone()).unwrap();
    j.append(SignedEntry::sign(c, &blue()).unwrap()).unwrap();
    let fake = deconflict_log::TreeHead::new(
        id("service"),
        1,
        *head.tree_head().root(),
        head.tree_head().time_ms() + 1,
    )
    .unwrap();
    let c = Entry::cosignature(id("blue"), 6, fake).unwrap();
    let e = j
        .append(SignedEntry::sign(c, &blue()).unwrap())
        .unwrap_err();
    assert!(matches!(e, LogFileError::UnknownTreeHead(1)), "{e}");
    assert_eq!(j.stats().rejected_invalid, 1);
    let mut out = Vec::new();
    j.export(&mut out).unwrap();
    verify_export(&out, VerifyOptions::default()).unwrap();
}

#[test]
fn one_countersignature_per_party_and_head_kept_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let j = LogFile::open(dir.path(), config()).unwrap();
    j.append(message(1)).unwrap();
    let head = j.latest_tree_head().tree_head().clone();
    assert_eq!(j.issued_tree_head(head.size()), Some(head.clone()));
    let first = SignedEntry::sign(
        Entry::cosignature(id("blue"), 5, head.clone()).unwrap(),
        &blue(),
    )
    .unwrap();
    let index = j.append(first.clone()).unwrap();
    // The same party countersigning the same head again, even at another time, is refused
    // with the index of the first; nothing is appended.
    let again = SignedEntry::sign(
        Entry::cosignature(id("blue"), 9, head.clone()).unwrap(),
        &blue(),
    )
    .unwrap();
    let size_before = j.latest_tree_head().tree_head().size();
    for e in [first.clone(), again.clone()] {
        let err = j.append(e).unwrap_err();
        assert!(
            matches!(&err, LogFileError::DuplicateCosignature { index: i, size, .. } if *i == index && *size == head.size()),
            "{err}"
        );
    }
    assert_eq!(j.latest_tree_head().tree_head().size(), size_before);
    assert_eq!(j.stats().duplicate_cosignatures, 2);
    assert_eq!(j.wait_durable(index).unwrap(), index);
    assert!(j.wait_durable(size_before + 5).is_err());
    let listed = j.cosignatures(Some(head.size()), 100);
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].index, listed[0].party.as_str(), listed[0].time_ms),
        (index, "blue", 5)
    );
    assert!(j.cosignatures(Some(head.size() + 1), 100).is_empty());
    // A later head may be countersigned by the same party.
    let later = j.latest_tree_head().tree_head().clone();
    let c = Entry::cosignature(id("blue"), 10, later.clone()).unwrap();
    let later_index = j.append(SignedEntry::sign(c, &blue()).unwrap()).unwrap();
    assert_eq!(
        j.cosignatures(None, 100)
            .iter()
            .map(|c| c.index)
            .collect::<Vec<_>>(),
        vec![index, later_index]
    );
    assert_eq!(j.cosignatures(None, 1).len(), 1);
    drop(j);

    // Reopened, the log still knows both countersignatures and refuses the duplicate.
    let j = LogFile::open(dir.path(), config()).unwrap();
    assert_eq!(j.cosignatures(None, 100).len(), 2);
    let err = j.append(again).unwrap_err();
    assert!(
        matches!(err, LogFileError::DuplicateCosignature { index: i, .. } if i == index),
        "{err}"
    );
    let mut out = Vec::new();
    j.export(&mut out).unwrap();
    verify_export(&out, VerifyOptions::default()).unwrap();
}

#[test]
fn limits_refuse_and_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    c.entry_bytes_max = 100;
    let j = LogFile::open(dir.path(), c).unwrap();
    assert!(matches!(
        j.append(message(1)),
        Err(LogFileError::TooLarge { .. })
    ));
    assert_eq!(j.stats().rejected_too_large, 1);
    drop(j);

    let mut c = config();
    c.queue_entries_max = 0;
    let j = LogFile::open(dir.path(), c).unwrap();
    assert!(matches!(
        j.append(message(1)),
        Err(LogFileError::QueueFull(0))
    ));
    assert!(matches!(
        j.append(message(2)),
        Err(LogFileError::QueueFull(0))
    ));
    assert_eq!(j.stats().rejected_queue_full, 2);
    drop(j);

    let j = LogFile::open(dir.path(), config()).unwrap();
    let stranger = SigningKey::from_bytes(&[5; 32]);
    let e = Entry::new(
        id("green"),
        1,
        EntryBody::NotificationWithdrawal {
            notification_id: Text::new("n").unwrap(),
            reason: None,
        },
    )
    .unwrap();
    assert!(matches!(
        j.append(SignedEntry::sign(e, &stranger).unwrap()),
        Err(LogFileError::UnknownAuthor(_))
    ));
    let forged = Entry::new(
        id("blue"),
        1,
        EntryBody::NotificationWithdrawal {
            notification_id: Text::new("n").unwrap(),
            reason: None,
        },
    )
    .unwrap();
    assert!(matches!(
        j.append(SignedEntry::sign(forged, &stranger).unwrap()),
        Err(LogFileError::BadSignature(_))
    ));
    assert_eq!(j.stats().rejected_invalid, 2);
    assert_eq!(j.stats().entries, 0);
}

#[test]
fn a_second_writer_is_refused_and_a_key_never_changes() {
    let dir = tempfile::tempdir().unwrap();
    let j = LogFile::open(dir.path(), config()).unwrap();
    assert!(matches!(
        LogFile::open(dir.path(), config()),
        Err(LogFileError::Locked(_))
    ));
    assert!(
        j.register_key(id("red"), SigningKey::from_bytes(&[3; 32]).verifying_key())
            .is_ok()
    );
    assert!(matches!(
        j.register_key(id("red"), SigningKey::from_bytes(&[4; 32]).verifying_key()),
        Err(LogFileError::Keys { .. })
    ));
    drop(j);
    let mut c = config();
    c.keys
        .insert(id("red"), SigningKey::from_bytes(&[4; 32]).verifying_key())
        .unwrap();
    assert!(matches!(
        LogFile::open(dir.path(), c),
        Err(LogFileError::Keys { .. })
    ));
}

/// Builds a log file with a few batches and returns its bytes and the acknowledged entry count
/// after each batch.
fn log_file_with_batches(
    dir: &std::path::Path,
) -> (Vec<u8>, Vec<(u64, deconflict_log::SignedTreeHead)>) {
    let j = LogFile::open(dir, config()).unwrap();
    let mut heads = vec![(0, j.latest_tree_head())];
    // The head file as it was at each size, to stand for a crash before the next batch.
    let keep_head_file = |j: &LogFile| {
        let size = j.latest_tree_head().tree_head().size();
        std::fs::copy(dir.join("log.head"), dir.join(format!("log.head.{size}"))).unwrap();
    };
    keep_head_file(&j);
    for b in 0..4u64 {
        let tickets: Vec<_> = (0..3)
            .map(|i| j.submit(message(b * 10 + i)).unwrap())
            .collect();
        for t in tickets {
            t.wait().unwrap();
        }
        let h = j.latest_tree_head();
        heads.push((h.tree_head().size(), h));
        keep_head_file(&j);
    }
    drop(j);
    (std::fs::read(dir.join("log.frames")).unwrap(), heads)
}

#[test]
fn an_interrupted_last_batch_is_cut_off_at_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _) = log_file_with_batches(dir.path());
    // Where each tree head record ends: every such offset is the end of a complete batch.
    let mut ends: Vec<(usize, deconflict_log::SignedTreeHead)> = Vec::new();
    let mut r = &bytes[..];
    frame::scan(&mut r, bytes.len() as u64, 0, |f| {
        if f.kind == frame::KIND_TREE_HEAD {
            let end = f.offset as usize + frame::FRAME_BYTES + f.payload.len();
            ends.push((
                end,
                deconflict_log::SignedTreeHead::from_bytes(f.payload).unwrap(),
            ));
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(ends.last().unwrap().0, bytes.len());
    let (prev_len, prev_head) = ends[ends.len() - 2].clone();
    let last_head = ends.last().unwrap().1.clone();
    for cut in prev_len..bytes.len() {
        // Every byte: the recovery scan finds the previous batch as the last complete one.
        let mut r = &bytes[..cut];
        let s = frame::scan(
            &mut r,
            cut as u64,
            deconflict_logfile::TORN_BYTES_MAX,
            |_| Ok(()),
        )
        .unwrap();
        assert_eq!(s.heads.last(), Some(&prev_head), "cut at {cut}");
        assert_eq!(
            (s.valid_len, s.torn_bytes),
            (prev_len as u64, (cut - prev_len) as u64)
        );
        if (cut - prev_len) % 16 != 0 {
            continue;
        }
        // Every 16th byte: a real open cuts the file, and appending goes on.
        let d = tempfile::tempdir().unwrap();
        std::fs::copy(dir.path().join("keys.json"), d.path().join("keys.json")).unwrap();
        // The last batch was never acknowledged: the head file names one before it (the
        // latest kept at or below the previous batch's size; a batch may have been split).
        let kept = (0..=prev_head.tree_head().size())
            .rev()
            .map(|n| dir.path().join(format!("log.head.{n}")))
            .find(|p| p.exists())
            .unwrap();
        std::fs::copy(kept, d.path().join("log.head")).unwrap();
        std::fs::write(d.path().join("log.frames"), &bytes[..cut]).unwrap();
        let j = LogFile::open(d.path(), config()).unwrap();
        assert_eq!(j.latest_tree_head(), prev_head, "cut at {cut}");
        assert_eq!(j.stats().entries, prev_head.tree_head().size());
        assert_eq!(j.stats().recovered_torn_bytes, (cut - prev_len) as u64);
        if (cut - prev_len) % 128 == 0 {
            // The log file goes on appending after recovery, and the result verifies.
            j.append(message(500)).unwrap();
            let mut out = Vec::new();
            j.export(&mut out).unwrap();
            verify_export(&out, VerifyOptions::default()).unwrap();
        }
    }
    // The whole file keeps the last batch.
    let d = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join("keys.json"), d.path().join("keys.json")).unwrap();
    std::fs::copy(dir.path().join("log.head"), d.path().join("log.head")).unwrap();
    std::fs::write(d.path().join("log.frames"), &bytes).unwrap();
    assert_eq!(
        LogFile::open(d.path(), config())
            .unwrap()
            .latest_tree_head(),
        last_head
    );
}

#[test]
fn garbage_after_the_last_batch_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bytes, heads) = log_file_with_batches(dir.path());
    bytes.extend_from_slice(&[0u8; 4096]);
    std::fs::write(dir.path().join("log.frames"), &bytes).unwrap();
    let j = LogFile::open(dir.path(), config()).unwrap();
    assert_eq!(j.latest_tree_head(), heads.last().unwrap().1);
}

#[test]
fn damage_larger_than_a_batch_is_refused_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bytes, _) = log_file_with_batches(dir.path());
    // Damage the first entry: everything after it is more than one batch (with a small limit).
    bytes[20] ^= 0x40;
    let mut r = &bytes[..];
    let e = frame::scan(&mut r, bytes.len() as u64, 100, |_| Ok(())).unwrap_err();
    assert!(matches!(e, ScanError::Corrupt { offset: 8, .. }), "{e}");
}

#[test]
fn an_altered_entry_with_a_fixed_checksum_is_caught_by_the_tree_head() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _) = log_file_with_batches(dir.path());
    // Re-frame the first entry with one byte changed and a valid checksum.
    let len = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let mut payload = bytes[13..13 + len].to_vec();
    let p = payload.iter().position(|b| *b == b'm').unwrap();
    payload[p] = b'n';
    let mut altered = bytes[..8].to_vec();
    frame::encode(&mut altered, frame::KIND_ENTRY, &payload);
    altered.extend_from_slice(&bytes[8 + 9 + len..]);
    std::fs::write(dir.path().join("log.frames"), &altered).unwrap();
    let e = LogFile::open(dir.path(), config()).err().unwrap();
    assert!(e.to_string().contains("does not match"), "{e}");
}

#[test]
fn an_endless_line_is_refused_without_reading_it_whole() {
    let mut data = b"{\"deconflict_log_export\":1,".to_vec();
    data.extend(std::iter::repeat_n(
        b'x',
        3 * deconflict_log::export::LINE_BYTES_MAX,
    ));
    let e = deconflict_logfile::verify::verify_reader(&data[..], VerifyOptions::default(), 1)
        .unwrap_err();
    assert!(e.to_string().starts_with("line 1: line of"), "{e}");
}

#[test]
fn export_dir_and_parallel_verify_agree() {
    let dir = tempfile::tempdir().unwrap();
    let (_, heads) = log_file_with_batches(dir.path());
    let out = dir.path().join("export.jsonl");
    let mut f = std::fs::File::create(&out).unwrap();
    export_dir(dir.path(), &mut f).unwrap();
    drop(f);
    for workers in [1, 2, 3] {
        let s = verify_file(
            &out,
            VerifyOptions {
                pinned_keys: None,
                since: Some(heads[2].1.clone()),
            },
            workers,
        )
        .unwrap();
        assert_eq!(s.last_tree_head, heads.last().unwrap().1);
    }
    // A flipped byte in an entry: both verifiers name the same line.
    let mut bytes = std::fs::read(&out).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    let single = verify_export(&bytes, VerifyOptions::default()).unwrap_err();
    let parallel =
        deconflict_logfile::verify::verify_reader(&bytes[..], VerifyOptions::default(), 2)
            .unwrap_err();
    assert_eq!(parallel.to_string(), single.to_string());
}

#[test]
fn a_group_is_checked_together_and_only_its_bad_entries_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let j = LogFile::open(dir.path(), config()).unwrap();
    let stranger = SigningKey::from_bytes(&[5; 32]);
    let withdrawal = |author: &str| {
        Entry::new(
            id(author),
            1,
            EntryBody::NotificationWithdrawal {
                notification_id: Text::new("n").unwrap(),
                reason: None,
            },
        )
        .unwrap()
    };
    // A group of good entries: one batch check, every one durable, in order.
    let good: Vec<SignedEntry> = (0..40).map(message).collect();
    let tickets = j.submit_many(good.clone());
    let indices: Vec<u64> = tickets
        .into_iter()
        .map(|t| t.unwrap().wait().unwrap())
        .collect();
    assert_eq!(indices, (0..40).collect::<Vec<u64>>());

    // A group with a forged entry, an unknown author and a too-large entry among good ones:
    // exactly those three are refused, with the reasons `submit` gives, and counted.
    let mut group: Vec<SignedEntry> = (40..50).map(message).collect();
    group.insert(3, SignedEntry::sign(withdrawal("blue"), &stranger).unwrap());
    group.insert(
        7,
        SignedEntry::sign(withdrawal("green"), &stranger).unwrap(),
    );
    let outcomes = j.submit_many(group);
    let mut durable = Vec::new();
    for (k, o) in outcomes.into_iter().enumerate() {
        match (k, o) {
            (3, Err(LogFileError::BadSignature(a))) => assert_eq!(a, id("blue")),
            (7, Err(LogFileError::UnknownAuthor(a))) => assert_eq!(a, id("green")),
            (3 | 7, other) => panic!("entry {k}: {:?}", other.map(|t| t.index())),
            (_, Ok(t)) => durable.push(t.wait().unwrap()),
            (_, Err(e)) => panic!("entry {k}: {e}"),
        }
    }
    assert_eq!(durable, (40..50).collect::<Vec<u64>>());
    assert_eq!(j.stats().rejected_invalid, 2);
    drop(j);

    // What was acknowledged is exactly what the export holds, and it verifies.
    let mut out = Vec::new();
    export_dir(dir.path(), &mut out).unwrap();
    let summary = verify_export(&out, VerifyOptions::default()).unwrap();
    assert_eq!(summary.counts.entries, 50);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().filter(|l| l.contains("\"m-")).count(), 50);
}
