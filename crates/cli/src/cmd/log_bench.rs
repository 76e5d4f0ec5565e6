//! `deconflict bench log --entries N`: the record at speed, end to end on a real log file.
//!
//! 1. Signed, durable appends: N entries signed by three parties (before the clock starts, on
//!    every core: parties sign on their own machines) are appended to a fresh log file by
//!    `--appenders` threads, each submitting `--group` entries at a time
//!    ([`LogFile::submit_many`]: one Ed25519 batch check for the group) and waiting until every
//!    one of them is durable (group commit: one `fdatasync` per batch, a signed tree head per
//!    batch). Nothing is acknowledged before it is on disk.
//! 2. The log file is exported (`deconflict log export`'s format) and the export is verified as
//!    `deconflict verify` does, on every core: every line, signature, tree head and root.
//!
//! The last line prints both figures against their targets; the exit code is 1 when one is
//! missed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, bail};
use deconflict_log::{
    Entry, EntryBody, FieldValue, Fields, Hash, KeyId, KeyRing, SignedEntry, SigningKey, Text,
    VerifyOptions,
};
use deconflict_logfile::verify::verify_file;
use deconflict_logfile::{LogFile, LogFileConfig, export_dir};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Entries appended, then exported and verified.
    #[arg(long, default_value_t = 1_000_000)]
    entries: u64,
    /// Threads that submit entries and wait until they are durable.
    #[arg(long, default_value_t = 8)]
    appenders: usize,
    /// Entries each appender submits at a time (their signatures are checked in one batch; each
    /// is acknowledged only once durable).
    #[arg(long, default_value_t = 512)]
    group: usize,
    /// Verification threads; every core when absent.
    #[arg(long)]
    threads: Option<usize>,
    /// Directory for the benchmark's log file and export (removed afterwards); a fresh directory
    /// under the system's temporary directory when absent.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the directory (with `export.jsonl`, for timing `deconflict verify` on it).
    #[arg(long)]
    keep: bool,
}

/// Signed durable appends per second the record must sustain.
pub const APPENDS_PER_S_TARGET: f64 = 50_000.0;
/// Seconds within which an export of a million entries must verify (scaled linearly).
pub const VERIFY_1M_S_TARGET: f64 = 10.0;

pub fn bench(a: BenchArgs) -> anyhow::Result<ExitCode> {
    if a.entries == 0 || a.group == 0 || a.appenders == 0 {
        bail!("--entries, --group and --appenders must be at least 1");
    }
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("deconflict-bench-log-{}", std::process::id())),
    };
    if dir.exists() {
        bail!("{} exists; give a fresh --dir", dir.display());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
    let result = bench_in(&a, &dir);
    if a.keep {
        println!("kept {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

/// CPU seconds this process has used (user + system), from `/proc/self/stat` (Linux; `None`
/// elsewhere). Printed beside wall-clock times, which a machine shared with other work
/// stretches.
fn cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; USER_HZ is
    // 100 on Linux.
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

fn cpu_text(cpu: Option<f64>, entries: u64) -> String {
    match cpu {
        Some(c) => format!(
            "; CPU {c:.1} s = {:.1} µs per entry, {:.1} s of {} cores",
            c * 1e6 / entries as f64,
            c / cores() as f64,
            cores()
        ),
        None => String::new(),
    }
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

fn party_keys() -> Vec<(KeyId, SigningKey)> {
    // Fixed, public benchmark keys derived from their names: reproducible, never secret.
    ["service", "blue", "red", "green"]
        .iter()
        .map(|name| {
            let seed = Hash::of(format!("deconflict bench key {name}").as_bytes()).0;
            (
                KeyId::new(*name).unwrap_or_else(|_| unreachable!()),
                SigningKey::from_bytes(&seed),
            )
        })
        .collect()
}

fn bench_entry(author: &KeyId, n: u64) -> anyhow::Result<Entry> {
    let fields = Fields::new()
        .with("cpa_h_m", FieldValue::int((n % 9000) as i64)?)?
        .with("cpa_v_m", FieldValue::int((n % 600) as i64)?)?
        .with("tcpa_ms", FieldValue::int((n % 120_000) as i64)?)?;
    Ok(Entry::new(
        author.clone(),
        1_700_000_000_000 + n,
        EntryBody::Alert {
            alert_id: Text::new(format!("alert-{n}"))?,
            level: Text::new("warning")?,
            parties: vec![KeyId::new("blue")?, KeyId::new("red")?],
            fields,
        },
    )?)
}

/// `len` entries signed by the parties in groups of `group`, on every core.
fn sign_groups(
    keys: &[(KeyId, SigningKey)],
    len: u64,
    group: u64,
) -> anyhow::Result<Vec<Mutex<Vec<SignedEntry>>>> {
    let groups = len.div_ceil(group);
    let threads = cores() as u64;
    let next = AtomicU64::new(0);
    let signed: Vec<Vec<(u64, Vec<SignedEntry>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> anyhow::Result<Vec<(u64, Vec<SignedEntry>)>> {
                    let mut mine = Vec::new();
                    loop {
                        let g = next.fetch_add(1, Ordering::Relaxed);
                        if g >= groups {
                            return Ok(mine);
                        }
                        let entries = (g * group..((g + 1) * group).min(len))
                            .map(|n| {
                                let (author, key) = &keys[1 + (n as usize) % (keys.len() - 1)];
                                Ok(SignedEntry::sign(bench_entry(author, n)?, key)?)
                            })
                            .collect::<anyhow::Result<Vec<_>>>()?;
                        mine.push((g, entries));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let mut all: Vec<(u64, Vec<SignedEntry>)> = signed.into_iter().flatten().collect();
    all.sort_by_key(|(g, _)| *g);
    Ok(all.into_iter().map(|(_, e)| Mutex::new(e)).collect())
}

fn bench_in(a: &BenchArgs, dir: &Path) -> anyhow::Result<ExitCode> {
    let keys = party_keys();
    let mut ring = KeyRing::new();
    for (id, k) in &keys {
        ring.insert(id.clone(), k.verifying_key())?;
    }
    let made = Instant::now();
    let groups = Arc::new(sign_groups(&keys, a.entries, a.group as u64)?);
    println!(
        "signed {} entries by 3 parties in {:.1} s on {} cores (parties sign on their own machines: not timed)",
        a.entries,
        made.elapsed().as_secs_f64(),
        cores()
    );

    // 1. Appends.
    let log_dir = dir.join("log");
    let config = LogFileConfig::new(keys[0].0.clone(), keys[0].1.clone(), ring.clone());
    let log_file = Arc::new(LogFile::open(&log_dir, config)?);
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let cpu0 = cpu_s();
    let started = Instant::now();
    let workers: Vec<_> = (0..a.appenders)
        .map(|_| {
            let (log_file, groups, next, done) =
                (log_file.clone(), groups.clone(), next.clone(), done.clone());
            std::thread::spawn(move || -> anyhow::Result<()> {
                loop {
                    let g = next.fetch_add(1, Ordering::Relaxed);
                    let Some(slot) = groups.get(g) else {
                        return Ok(());
                    };
                    let entries =
                        std::mem::take(&mut *slot.lock().unwrap_or_else(|e| e.into_inner()));
                    let n = entries.len() as u64;
                    let tickets = log_file.submit_many(entries);
                    for t in tickets {
                        t?.wait()?;
                    }
                    done.fetch_add(n, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for w in workers {
        w.join()
            .map_err(|_| anyhow::anyhow!("an appender panicked"))??;
    }
    let append_s = started.elapsed().as_secs_f64();
    let append_cpu = cpu_s().zip(cpu0).map(|(b, a)| b - a);
    drop(groups);
    let stats = log_file.stats();
    let appended = done.load(Ordering::Relaxed);
    let rate = appended as f64 / append_s;
    println!(
        "durable appends of signed entries (signatures checked, fdatasync before acknowledging): {appended} in {append_s:.2} s \
         with {} appenders of {} = {rate:.0}/s — {} fdatasync batches, {:.0} entries per batch, {} refused{}",
        a.appenders,
        a.group,
        stats.batches,
        stats.appended as f64 / stats.batches.max(1) as f64,
        stats.rejected_queue_full + stats.rejected_invalid + stats.rejected_too_large,
        cpu_text(append_cpu, appended)
    );
    drop(log_file);

    // 2. Export, then verify.
    let export = dir.join("export.jsonl");
    let exported = Instant::now();
    let counts = {
        let mut f =
            std::fs::File::create(&export).with_context(|| format!("{}", export.display()))?;
        export_dir(&log_dir, &mut f)?
    };
    let bytes = std::fs::metadata(&export)?.len();
    println!(
        "exported {} entries and {} tree heads ({:.0} MB) in {:.1} s (not judged)",
        counts.entries,
        counts.tree_heads,
        bytes as f64 / 1e6,
        exported.elapsed().as_secs_f64()
    );
    std::fs::remove_dir_all(&log_dir).ok();
    let threads = a.threads.unwrap_or_else(cores).max(1);
    let cpu0 = cpu_s();
    let started = Instant::now();
    let summary = verify_file(
        &export,
        VerifyOptions {
            pinned_keys: Some(ring),
            since: None,
        },
        threads,
    )?;
    let verify_s = started.elapsed().as_secs_f64();
    let verify_cpu = cpu_s().zip(cpu0).map(|(b, a)| b - a);
    if summary.counts.entries != a.entries {
        bail!(
            "the export holds {} entries, {} were appended",
            summary.counts.entries,
            a.entries
        );
    }
    let verify_target = VERIFY_1M_S_TARGET * a.entries as f64 / 1e6;
    println!(
        "verify: {} entries, {} tree heads in {verify_s:.2} s on {threads} threads = {:.0} entries/s{}",
        summary.counts.entries,
        summary.counts.tree_heads,
        summary.counts.entries as f64 / verify_s,
        cpu_text(verify_cpu, summary.counts.entries)
    );
    let appends_ok = rate >= APPENDS_PER_S_TARGET;
    let verify_ok = verify_s <= verify_target;
    println!(
        "bench log, {} entries: appends {rate:.0}/s (target >= {APPENDS_PER_S_TARGET:.0}/s: {:.2}x) · verify {verify_s:.2} s (target <= {verify_target:.1} s: {:.2}x faster) — {}",
        a.entries,
        rate / APPENDS_PER_S_TARGET,
        verify_target / verify_s,
        match (appends_ok, verify_ok) {
            (true, true) => "both targets met",
            (false, true) => "MISSED the append target",
            (true, false) => "MISSED the verify target",
            (false, false) => "MISSED both targets",
        }
    );
    Ok(if appends_ok && verify_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
