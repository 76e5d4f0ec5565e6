//! Faults on purpose: the log file on a simulated disk ([`SimDisk`]) that loses the writes not
//! yet synced at a power loss, tears the last of them, fails an `fsync` (the machine dies in
//! it), or has a bit flipped on its medium — deterministic from a seed, several lives per run.
//!
//! The property, for every seed: after any such fault and a restart, every acknowledged append
//! is there, unchanged — or, only when a bit was flipped on the medium, opening refuses with an
//! error naming the file and the byte offset. Never a silent loss. A killed process (the crash
//! test) cannot show this: its page cache survives it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use deconflict_log::{
    Entry, EntryBody, FieldValue, Fields, Hash, KeyId, KeyRing, SignedEntry, SigningKey, Text,
};
use deconflict_logfile::sim::SimDisk;
use deconflict_logfile::{LogFile, LogFileConfig, LogFileError};

/// Seeds run; each is a different sequence of appends and faults.
const SEEDS: u64 = 300;
/// Lives (open, append, fault, power loss) per seed.
const LIVES: u64 = 5;

fn id(s: &str) -> KeyId {
    KeyId::new(s).unwrap()
}

fn config(disk: &SimDisk, clock_ms: u64) -> LogFileConfig {
    let mut keys = KeyRing::new();
    keys.insert(id("blue"), SigningKey::from_bytes(&[2; 32]).verifying_key())
        .unwrap();
    let mut c = LogFileConfig::new(id("service"), SigningKey::from_bytes(&[1; 32]), keys);
    let t = Arc::new(std::sync::atomic::AtomicU64::new(clock_ms));
    c.now_ms = Arc::new(move || t.fetch_add(3, std::sync::atomic::Ordering::Relaxed));
    c.storage = Arc::new(disk.clone());
    c
}

fn message(n: u64) -> SignedEntry {
    let e = Entry::new(
        id("blue"),
        1_700_000_000_000 + n,
        EntryBody::LineMessage {
            message_id: Text::new(format!("m-{n}")).unwrap(),
            fields: Fields::new()
                .with("template", FieldValue::text("link_test").unwrap())
                .unwrap(),
        },
    )
    .unwrap();
    SignedEntry::sign(e, &SigningKey::from_bytes(&[2; 32])).unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Power is lost with nothing pending.
    CleanPowerLoss,
    /// An fsync fails (the machine dies in it): that batch's writes are lost or torn.
    FailedSync,
    /// After the power loss, a bit flips somewhere in the log file.
    FlipLogFile,
    /// After the power loss, a bit flips somewhere in the head file.
    FlipHead,
}

/// What one seed did, for the failure message.
#[derive(Debug, Default)]
struct Trace {
    lives: Vec<(Fault, usize)>,
}

fn run(seed: u64) {
    let dir = tempfile::tempdir().unwrap(); // keys.json lives on the real file system
    let log_file = dir.path().join("log.frames");
    let head = dir.path().join("log.head");
    let disk = SimDisk::new(seed);
    let mut acked: BTreeMap<u64, Hash> = BTreeMap::new();
    let mut flipped = false;
    let mut trace = Trace::default();
    let mut next = 0u64;
    for life in 0..LIVES {
        let j = match LogFile::open(
            dir.path(),
            config(&disk, 1_700_000_000_000 + life * 1_000_000),
        ) {
            Ok(j) => j,
            Err(e) => {
                assert!(
                    flipped,
                    "seed {seed}: refused to open after crash faults only: {e} ({trace:?})"
                );
                precise(&e, &log_file, &head, seed);
                return;
            }
        };
        // Every acknowledged append is there, unchanged.
        let size = j.stats().entries;
        for (&i, h) in &acked {
            assert!(
                i < size,
                "seed {seed}: acknowledged entry {i} lost (size {size}) ({trace:?})"
            );
            assert_eq!(
                j.entries(i, i + 1).unwrap()[0].leaf_hash(),
                *h,
                "seed {seed}: entry {i} changed ({trace:?})"
            );
        }
        let fault = match disk.below(4) {
            0 => Fault::CleanPowerLoss,
            1 => Fault::FailedSync,
            2 => Fault::FlipLogFile,
            _ => Fault::FlipHead,
        };
        if fault == Fault::FailedSync {
            disk.fail_sync_after(1 + disk.below(8));
        }
        let rounds = 1 + disk.below(6);
        let mut acked_this_life = 0;
        'rounds: for _ in 0..rounds {
            let tickets: Vec<_> = (0..1 + disk.below(4))
                .map(|_| {
                    next += 1;
                    let e = message(next);
                    (e.leaf_hash(), j.submit(e))
                })
                .collect();
            for (h, t) in tickets {
                match t.and_then(|t| t.wait()) {
                    Ok(i) => {
                        acked.insert(i, h);
                        acked_this_life += 1;
                    }
                    Err(LogFileError::Failed(_)) => break 'rounds,
                    Err(e) => panic!("seed {seed}: {e}"),
                }
            }
        }
        trace.lives.push((fault, acked_this_life));
        drop(j);
        disk.power_loss();
        let target = match fault {
            Fault::FlipLogFile => Some(&log_file),
            Fault::FlipHead => Some(&head),
            _ => None,
        };
        if let Some(p) = target {
            let len = disk.durable(p).map_or(0, |b| b.len() as u64);
            let at = disk.below(len);
            let bit = disk.below(8) as u8;
            flipped |= disk.flip_bit(p, at, bit);
        }
    }
}

/// A refusal names the file and where in it.
fn precise(e: &LogFileError, log_file: &Path, head: &Path, seed: u64) {
    let msg = e.to_string();
    let named =
        msg.contains(&log_file.display().to_string()) || msg.contains(&head.display().to_string());
    assert!(named, "seed {seed}: the error names no file: {msg}");
    assert!(
        matches!(e, LogFileError::Damaged { .. } | LogFileError::Scan { .. }),
        "seed {seed}: {msg}"
    );
    assert!(msg.contains("byte"), "seed {seed}: no offset: {msg}");
}

#[test]
fn after_any_fault_every_acknowledged_append_is_there_or_opening_refuses() {
    for seed in 0..SEEDS {
        run(seed);
    }
}

/// The faults do happen: some seeds lose unsynced batches, some flips are refused, some are
/// survived (a flip in the head file's older slot, or in a tail never acknowledged).
#[test]
fn the_faults_are_exercised() {
    let mut refused = 0;
    let mut survived_flip = 0;
    for seed in 0..60 {
        let dir = tempfile::tempdir().unwrap();
        let disk = SimDisk::new(seed);
        let j = LogFile::open(dir.path(), config(&disk, 1_700_000_000_000)).unwrap();
        for n in 0..5 {
            j.append(message(n)).unwrap();
        }
        drop(j);
        disk.power_loss();
        let p = if seed % 2 == 0 {
            dir.path().join("log.frames")
        } else {
            dir.path().join("log.head")
        };
        let len = disk.durable(&p).unwrap().len() as u64;
        assert!(disk.flip_bit(&p, disk.below(len), disk.below(8) as u8));
        match LogFile::open(dir.path(), config(&disk, 1_800_000_000_000)) {
            Ok(j) => {
                assert_eq!(j.stats().entries, 5, "seed {seed}");
                survived_flip += 1;
            }
            Err(_) => refused += 1,
        }
    }
    assert!(refused > 10, "{refused} refused");
    assert!(survived_flip > 10, "{survived_flip} survived");

    // A failed sync: the batch in it is not acknowledged, and after the power loss the log file
    // opens with what was acknowledged.
    let dir = tempfile::tempdir().unwrap();
    let disk = SimDisk::new(7);
    let j = LogFile::open(dir.path(), config(&disk, 1_700_000_000_000)).unwrap();
    j.append(message(1)).unwrap();
    disk.fail_sync_after(1);
    assert!(matches!(j.append(message(2)), Err(LogFileError::Failed(_))));
    assert!(matches!(j.append(message(3)), Err(LogFileError::Failed(_))));
    drop(j);
    disk.power_loss();
    let j = LogFile::open(dir.path(), config(&disk, 1_800_000_000_000)).unwrap();
    assert!(j.stats().entries >= 1);
}
