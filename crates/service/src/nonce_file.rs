//! `DATA_DIR/nonces/`: the nonces of the replay window, kept on disk so that a request accepted
//! just before a restart is refused as a replay just after it.
//!
//! Without it the cache starts empty, and the only defence is that `created` may not precede
//! the start: a request signed a few seconds ahead (within the allowed clock skew) and
//! captured before a crash would pass again after a fast restart.
//!
//! Two files, `0` and `1`, one line per accepted nonce (`party TAB nonce TAB created LF`).
//! Nonces go to the current file; every [`GENERATION_S`] seconds the other one is emptied and
//! becomes current. A file is emptied only once every nonce in it is past its window
//! ([`GENERATION_S`] > [`NONCE_KEPT_S`](deconflict_client::auth::NONCE_KEPT_S)), so together the two files
//! always hold the whole window, and each holds at most one generation.
//!
//! A line is written (no `fsync`) before the request it belongs to goes on: it survives the
//! process being killed. A power loss can lose the last lines written; the machine restarting
//! and the service opening again within the 36 s window after a power loss is not defended
//! against.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use deconflict_client::auth::{NONCE_KEPT_S, NonceSink, Verified};

/// Seconds each file stays current.
pub const GENERATION_S: i64 = 2 * NONCE_KEPT_S;
/// Most bytes read back from one file at start; a larger file is cut (the service's own file:
/// at the rate limits it never gets near this).
pub const FILE_BYTES_MAX: u64 = 64 << 20;

/// The nonce files of a data directory, open for appending.
#[derive(Debug)]
pub struct NonceFile {
    dir: PathBuf,
    current: usize,
    file: File,
    /// When the current file became current, seconds.
    since_s: i64,
}

fn path(dir: &Path, i: usize) -> PathBuf {
    dir.join(i.to_string())
}

fn open_append(p: &Path, truncate: bool) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true)
        .append(!truncate)
        .write(true)
        .truncate(truncate);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(p)
}

/// Parses one line; `None` for a torn or foreign one.
fn parse_line(line: &str) -> Option<Verified> {
    let mut it = line.split('\t');
    let party = it.next()?;
    let nonce = it.next()?;
    let created = it.next()?.parse().ok()?;
    if it.next().is_some() || party.is_empty() || nonce.is_empty() {
        return None;
    }
    Some(Verified {
        party: party.into(),
        nonce: nonce.into(),
        created,
    })
}

impl NonceFile {
    /// Opens (creating) the files in `dir` and returns them with every nonce they hold, for
    /// [`deconflict_client::auth::NonceCache::restore`]. Writing goes on in the newer file.
    pub fn open(dir: &Path, now_s: i64) -> std::io::Result<(NonceFile, Vec<Verified>)> {
        std::fs::create_dir_all(dir)?;
        let mut recorded = Vec::new();
        let mut newest: Option<(std::time::SystemTime, usize)> = None;
        for i in 0..2 {
            let p = path(dir, i);
            let f = match File::open(&p) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let modified = f.metadata()?.modified()?;
            if newest.is_none_or(|(t, _)| modified > t) {
                newest = Some((modified, i));
            }
            let mut bytes = Vec::new();
            f.take(FILE_BYTES_MAX).read_to_end(&mut bytes)?;
            let text = String::from_utf8_lossy(&bytes);
            recorded.extend(text.lines().filter_map(parse_line));
        }
        let current = newest.map_or(0, |(_, i)| i);
        let file = open_append(&path(dir, current), false)?;
        Ok((
            NonceFile {
                dir: dir.to_path_buf(),
                current,
                file,
                since_s: now_s,
            },
            recorded,
        ))
    }
}

impl NonceSink for NonceFile {
    fn record(&mut self, v: &Verified, now_s: i64) -> std::io::Result<()> {
        if now_s.saturating_sub(self.since_s) >= GENERATION_S {
            let next = 1 - self.current;
            self.file = open_append(&path(&self.dir, next), true)?;
            self.current = next;
            self.since_s = now_s;
        }
        let line = format!("{}\t{}\t{}\n", v.party, v.nonce, v.created);
        self.file.write_all(line.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deconflict_client::auth::{AuthError, NonceCache};

    fn v(nonce: &str, created: i64) -> Verified {
        Verified {
            party: "coalition".into(),
            nonce: nonce.into(),
            created,
        }
    }

    /// A nonce accepted before a restart is a replay after it; one past its window is not
    /// kept; a file is emptied only after a whole generation.
    #[test]
    fn nonces_outlive_a_restart_for_their_window() {
        let dir = tempfile::tempdir().unwrap();
        let t = 1_000_000;
        let (f, restored) = NonceFile::open(dir.path(), t).unwrap();
        assert!(restored.is_empty());
        let mut cache = NonceCache::default();
        cache.keep_in(Box::new(f));
        cache
            .check_and_insert(&v("AAAAAAAAAAAAAAAAAAAA", t + 4), t)
            .unwrap();
        cache
            .check_and_insert(&v("OLDOLDOLDOLDOLDOLD", t), t)
            .unwrap();
        drop(cache);

        // The restart, in the same second.
        let (f, restored) = NonceFile::open(dir.path(), t).unwrap();
        assert_eq!(restored.len(), 2);
        let mut cache = NonceCache::default();
        cache.restore(restored, t);
        cache.keep_in(Box::new(f));
        assert_eq!(
            cache.check_and_insert(&v("AAAAAAAAAAAAAAAAAAAA", t + 4), t),
            Err(AuthError::Replayed)
        );
        // Later, only what is still inside its window comes back.
        let (_, restored) = NonceFile::open(dir.path(), t).unwrap();
        let mut later = NonceCache::default();
        later.restore(restored, t + NONCE_KEPT_S + 2);
        assert_eq!(later.len(), 1);

        // Generations: after GENERATION_S the other file is started; after another, the first
        // is emptied — by then all it held is past its window.
        let mut s = t;
        for i in 0..3 {
            s += GENERATION_S;
            cache
                .check_and_insert(&v(&format!("GEN{i}GEN{i}GEN{i}GEN{i}GEN{i}"), s), s)
                .unwrap();
        }
        let (_, restored) = NonceFile::open(dir.path(), s).unwrap();
        let nonces: Vec<_> = restored.iter().map(|r| r.nonce.as_str()).collect();
        assert_eq!(nonces.len(), 2, "{nonces:?}");
        assert!(nonces.iter().all(|n| n.starts_with("GEN")), "{nonces:?}");
    }

    #[test]
    fn torn_and_foreign_lines_are_skipped() {
        for line in ["", "a", "a\tb", "a\tb\tx", "a\tb\t1\t2", "\tb\t1"] {
            assert_eq!(parse_line(line), None, "{line:?}");
        }
        assert_eq!(
            parse_line("a\tb\t-3"),
            Some(Verified {
                party: "a".into(),
                nonce: "b".into(),
                created: -3
            })
        );
    }
}
