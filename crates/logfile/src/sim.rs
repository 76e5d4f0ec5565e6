//! A simulated disk for tests, deterministic from a seed: it keeps what a real disk keeps
//! apart — bytes written (in the page cache) and bytes durable (on the medium) — and can lose
//! the writes not yet made durable, tear the last of them, flip a bit on the medium, or fail
//! an `fsync`, so that the log file's recovery is tested against power loss and disk faults,
//! not only against a killed process.
//!
//! Model: each file has its durable bytes and the writes since its last `fdatasync`, in order.
//! A sync makes them all durable, unless the plan says it fails: then nothing more reaches the
//! medium (the machine is taken to have died). [`SimDisk::power_loss`] keeps a seeded prefix of
//! each file's pending writes, the next one possibly torn at a seeded byte, and throws the
//! rest away. [`SimDisk::flip_bit`] changes the medium.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::storage::{Storage, StorageFile};

/// A small deterministic generator (SplitMix64): the same seed gives the same faults.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// From a seed.
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

#[derive(Debug, Clone)]
enum Pending {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

fn apply(bytes: &mut Vec<u8>, op: &Pending) {
    match op {
        Pending::Write { offset, data } => {
            let offset = *offset as usize;
            let end = offset + data.len();
            if bytes.len() < end {
                bytes.resize(end, 0);
            }
            bytes[offset..end].copy_from_slice(data);
        }
        Pending::SetLen(len) => bytes.resize(*len as usize, 0),
    }
}

#[derive(Debug, Default)]
struct SimFile {
    durable: Vec<u8>,
    /// What reads see: the durable bytes with the pending writes applied.
    current: Vec<u8>,
    pending: Vec<Pending>,
    locked: bool,
}

#[derive(Debug)]
struct Disk {
    files: HashMap<PathBuf, SimFile>,
    rng: SplitMix,
    syncs: u64,
    /// The sync with this number (from 1) fails, and the disk takes no more writes after it.
    fail_sync: Option<u64>,
    dead: bool,
}

/// The simulated disk; clones share it.
#[derive(Debug, Clone)]
pub struct SimDisk(Arc<Mutex<Disk>>);

impl SimDisk {
    /// An empty disk whose faults follow `seed`.
    pub fn new(seed: u64) -> SimDisk {
        SimDisk(Arc::new(Mutex::new(Disk {
            files: HashMap::new(),
            rng: SplitMix::new(seed),
            syncs: 0,
            fail_sync: None,
            dead: false,
        })))
    }

    fn disk(&self) -> std::sync::MutexGuard<'_, Disk> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the `n`th sync from now fail (1 = the next one); after it the disk takes nothing
    /// more, as a machine that lost power in that sync.
    pub fn fail_sync_after(&self, n: u64) {
        let mut d = self.disk();
        d.fail_sync = Some(d.syncs + n.max(1));
    }

    /// Syncs so far.
    pub fn syncs(&self) -> u64 {
        self.disk().syncs
    }

    /// Power is lost: of each file's writes since its last sync, a seeded prefix reaches the
    /// medium, the next one torn at a seeded byte (or not at all), the rest are lost. Locks
    /// are released; the disk works again (the machine restarted).
    pub fn power_loss(&self) {
        let mut d = self.disk();
        let Disk { files, rng, .. } = &mut *d;
        let mut paths: Vec<PathBuf> = files.keys().cloned().collect();
        paths.sort(); // HashMap order is not deterministic; the seed's use must be
        for p in paths {
            let Some(f) = files.get_mut(&p) else { continue };
            let kept = rng.below(f.pending.len() as u64 + 1) as usize;
            for op in &f.pending[..kept] {
                apply(&mut f.durable, op);
            }
            if let Some(Pending::Write { offset, data }) = f.pending.get(kept) {
                let torn = rng.below(data.len() as u64 + 1) as usize;
                apply(
                    &mut f.durable,
                    &Pending::Write {
                        offset: *offset,
                        data: data[..torn].to_vec(),
                    },
                );
            }
            f.pending.clear();
            f.current = f.durable.clone();
            f.locked = false;
        }
        d.dead = false;
        d.fail_sync = None;
    }

    /// Flips bit `bit` of the byte at `offset` of `path` on the medium (and in what reads
    /// see); false when the file is shorter.
    pub fn flip_bit(&self, path: &Path, offset: u64, bit: u8) -> bool {
        let mut d = self.disk();
        let Some(f) = d.files.get_mut(path) else {
            return false;
        };
        let i = offset as usize;
        if i >= f.durable.len() {
            return false;
        }
        f.durable[i] ^= 1 << (bit % 8);
        if i < f.current.len() {
            f.current[i] ^= 1 << (bit % 8);
        }
        true
    }

    /// The durable bytes of `path`.
    pub fn durable(&self, path: &Path) -> Option<Vec<u8>> {
        self.disk().files.get(path).map(|f| f.durable.clone())
    }

    /// Releases every lock (the process holding them is gone) without losing anything.
    pub fn release_locks(&self) {
        for f in self.disk().files.values_mut() {
            f.locked = false;
        }
    }

    /// A number from the disk's generator (so that a test's choices follow the same seed).
    pub fn below(&self, n: u64) -> u64 {
        self.disk().rng.below(n)
    }
}

#[derive(Debug)]
struct SimHandle {
    disk: SimDisk,
    path: PathBuf,
    holds_lock: std::sync::atomic::AtomicBool,
}

impl Storage for SimDisk {
    fn open(&self, path: &Path, create: bool) -> std::io::Result<Option<Box<dyn StorageFile>>> {
        let mut d = self.disk();
        if !d.files.contains_key(path) {
            if !create {
                return Ok(None);
            }
            d.files.insert(path.to_path_buf(), SimFile::default());
        }
        Ok(Some(Box::new(SimHandle {
            disk: self.clone(),
            path: path.to_path_buf(),
            holds_lock: false.into(),
        })))
    }

    fn sync_dir(&self, _dir: &Path) -> std::io::Result<()> {
        // Directory entries are taken to be durable at once.
        Ok(())
    }
}

fn gone() -> std::io::Error {
    std::io::Error::other("simulated disk: the file is gone")
}

impl StorageFile for SimHandle {
    fn len(&self) -> std::io::Result<u64> {
        let d = self.disk.disk();
        Ok(d.files.get(&self.path).ok_or_else(gone)?.current.len() as u64)
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        let d = self.disk.disk();
        let f = d.files.get(&self.path).ok_or_else(gone)?;
        let start = offset as usize;
        let end = start.checked_add(buf.len()).ok_or_else(gone)?;
        if end > f.current.len() {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.copy_from_slice(&f.current[start..end]);
        Ok(())
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        let mut d = self.disk.disk();
        if d.dead {
            return Err(std::io::Error::other("simulated disk: no power"));
        }
        let f = d.files.get_mut(&self.path).ok_or_else(gone)?;
        let op = Pending::Write {
            offset,
            data: buf.to_vec(),
        };
        apply(&mut f.current, &op);
        f.pending.push(op);
        Ok(())
    }

    fn set_len(&self, len: u64) -> std::io::Result<()> {
        let mut d = self.disk.disk();
        if d.dead {
            return Err(std::io::Error::other("simulated disk: no power"));
        }
        let f = d.files.get_mut(&self.path).ok_or_else(gone)?;
        let op = Pending::SetLen(len);
        apply(&mut f.current, &op);
        f.pending.push(op);
        Ok(())
    }

    fn sync_data(&self) -> std::io::Result<()> {
        let mut d = self.disk.disk();
        if d.dead {
            return Err(std::io::Error::other("simulated disk: no power"));
        }
        d.syncs += 1;
        if d.fail_sync == Some(d.syncs) {
            d.dead = true;
            return Err(std::io::Error::other("simulated disk: fsync failed"));
        }
        let f = d.files.get_mut(&self.path).ok_or_else(gone)?;
        f.durable = f.current.clone();
        f.pending.clear();
        Ok(())
    }

    fn try_lock(&self) -> std::io::Result<bool> {
        let mut d = self.disk.disk();
        let f = d.files.get_mut(&self.path).ok_or_else(gone)?;
        if f.locked && !self.holds_lock.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(false);
        }
        f.locked = true;
        self.holds_lock
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(true)
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if self.holds_lock.load(std::sync::atomic::Ordering::Relaxed) {
            let mut d = self.disk.disk();
            if let Some(f) = d.files.get_mut(&self.path) {
                f.locked = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsynced_writes_are_lost_or_torn_and_synced_ones_kept() {
        for seed in 0..50 {
            let disk = SimDisk::new(seed);
            let p = Path::new("/f");
            let f = disk.open(p, true).unwrap().unwrap();
            f.write_all_at(b"durable", 0).unwrap();
            f.sync_data().unwrap();
            f.write_all_at(b"-pending-one", 7).unwrap();
            f.write_all_at(b"-two", 19).unwrap();
            drop(f);
            disk.power_loss();
            let got = disk.durable(p).unwrap();
            assert!(got.starts_with(b"durable"), "seed {seed}: {got:?}");
            let full = b"durable-pending-one-two";
            assert!(full.starts_with(&got), "seed {seed}: {got:?}");
        }
    }

    #[test]
    fn a_failed_sync_takes_the_disk_down_until_power_returns() {
        let disk = SimDisk::new(1);
        let p = Path::new("/f");
        let f = disk.open(p, true).unwrap().unwrap();
        disk.fail_sync_after(1);
        f.write_all_at(b"x", 0).unwrap();
        assert!(f.sync_data().is_err());
        assert!(f.write_all_at(b"y", 1).is_err());
        drop(f);
        disk.power_loss();
        let f = disk.open(p, false).unwrap().unwrap();
        f.write_all_at(b"z", 0).unwrap();
        f.sync_data().unwrap();
        assert_eq!(disk.durable(p).unwrap(), b"z");
    }
}
