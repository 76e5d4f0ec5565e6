//! Crash test: a child process (this test binary, re-executed) appends from many threads and
//! prints every acknowledged index and every tree head it was handed; the parent kills it with
//! SIGKILL at an arbitrary moment, reopens the log file and checks that every acknowledged entry
//! is there, unchanged, and that the tree is consistent with every tree head handed out.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use deconflict_log::{
    Entry, EntryBody, FieldValue, Fields, Hash, KeyId, KeyRing, SignedEntry, SigningKey, Text,
    VerifyOptions, verify_export,
};
use deconflict_logfile::{LogFile, LogFileConfig};

const CHILD_DIR_ENV: &str = "DECONFLICT_LOGFILE_CRASH_CHILD_DIR";
const CHILD_ROUND_ENV: &str = "DECONFLICT_LOGFILE_CRASH_CHILD_ROUND";
const APPENDERS: u64 = 16;

fn id(s: &str) -> KeyId {
    KeyId::new(s).unwrap()
}

fn config() -> LogFileConfig {
    let mut keys = KeyRing::new();
    keys.insert(id("blue"), SigningKey::from_bytes(&[2; 32]).verifying_key())
        .unwrap();
    LogFileConfig::new(id("service"), SigningKey::from_bytes(&[1; 32]), keys)
}

fn message(n: u64) -> SignedEntry {
    let e = Entry::new(
        id("blue"),
        1_700_000_000_000 + n,
        EntryBody::Acknowledgement {
            acknowledges: Text::new(format!("m-{n}")).unwrap(),
            fields: Fields::new()
                .with("latency_ms", FieldValue::int((n % 5000) as i64).unwrap())
                .unwrap(),
        },
    )
    .unwrap();
    SignedEntry::sign(e, &SigningKey::from_bytes(&[2; 32])).unwrap()
}

/// The child: runs only when re-executed by the parent with the environment set.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR_ENV) else {
        return;
    };
    let round: u64 = std::env::var(CHILD_ROUND_ENV).unwrap().parse().unwrap();
    let j = Arc::new(LogFile::open(std::path::Path::new(&dir), config()).unwrap());
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let threads: Vec<_> = (0..APPENDERS)
        .map(|t| {
            let (j, out) = (j.clone(), out.clone());
            std::thread::spawn(move || {
                for i in 0.. {
                    let e = message(round * 1_000_000_000 + t * 1_000_000 + i);
                    let index = j.append(e.clone()).unwrap();
                    let sth = j.latest_tree_head();
                    let th = sth.tree_head();
                    let line = format!(
                        "\nACK {index} {}\nSTH {} {}\n",
                        e.leaf_hash(),
                        th.size(),
                        th.root()
                    );
                    let mut o = out.lock().unwrap();
                    o.write_all(line.as_bytes()).unwrap();
                    o.flush().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn kill_9_during_heavy_appends_loses_nothing_acknowledged() {
    if std::env::var(CHILD_DIR_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut acked: BTreeMap<u64, Hash> = BTreeMap::new();
    let mut heads: BTreeMap<u64, Hash> = BTreeMap::new();
    // Kill after different numbers of acknowledgements, so the kill lands at different points
    // of a batch: while queuing, writing, or syncing.
    for (round, kill_after) in [(1u64, 150usize), (2, 700), (3, 1700), (4, 60)] {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "crash_child",
                "--exact",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CHILD_DIR_ENV, dir.path())
            .env(CHILD_ROUND_ENV, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut reader = BufReader::new(stdout);
        let mut seen = 0usize;
        let started = Instant::now();
        let mut line = String::new();
        while seen < kill_after && started.elapsed() < Duration::from_secs(60) {
            line.clear();
            if reader.read_line(&mut line).unwrap() == 0 {
                break;
            }
            // Only whole lines count: a line cut by the kill was never handed out.
            if !line.ends_with('\n') {
                break;
            }
            let mut parts = line.split_whitespace();
            match parts.next() {
                Some("ACK") => {
                    let index: u64 = parts.next().unwrap().parse().unwrap();
                    let hash = Hash::from_hex(parts.next().unwrap()).unwrap();
                    assert!(
                        acked.insert(index, hash).is_none(),
                        "index {index} acknowledged twice"
                    );
                    seen += 1;
                }
                Some("STH") => {
                    let size: u64 = parts.next().unwrap().parse().unwrap();
                    let root = Hash::from_hex(parts.next().unwrap()).unwrap();
                    if let Some(prev) = heads.insert(size, root) {
                        assert_eq!(prev, root, "two roots handed out for size {size}");
                    }
                }
                _ => {}
            }
        }
        assert!(
            seen >= kill_after,
            "child stopped early after {seen} acknowledgements"
        );
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();

        let j = LogFile::open(dir.path(), config()).unwrap();
        let latest = j.latest_tree_head();
        let size = latest.tree_head().size();
        for (&index, hash) in &acked {
            assert!(
                index < size,
                "round {round}: acknowledged entry {index} lost (size {size})"
            );
            let e = j.entries(index, index + 1).unwrap();
            assert_eq!(
                e[0].leaf_hash(),
                *hash,
                "round {round}: entry {index} changed"
            );
        }
        for (&old_size, old_root) in &heads {
            let p = j.consistency_proof(old_size, size).unwrap();
            p.verify(old_root, latest.tree_head().root())
                .unwrap_or_else(|e| {
                    panic!("round {round}: tree inconsistent with head of size {old_size}: {e}")
                });
        }
        let mut out = Vec::new();
        j.export(&mut out).unwrap();
        verify_export(&out, VerifyOptions::default()).unwrap();
    }
    assert!(acked.len() >= 2600);
}
