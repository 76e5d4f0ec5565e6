//! `deconflict verify --data-dir DIR`: a stopped (or running) service's data directory checked
//! whole. First its log file, exactly as `verify` checks an export of it (every signature, tree
//! head and root; against the directory's agreement and service key unless `--agreement` is
//! given); then every store row that a log entry stands for against that entry
//! (`deconflict_service::binding::check`). Prints what it checked and each mismatch (table,
//! row, entry index, field); exits 1 on any.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use deconflict_log::{ExportLineKind, SignedEntry};
use deconflict_service::binding::{check, openings_from_file};
use deconflict_store::{SqliteStore, Store};

use crate::cmd::log::{VerifyArgs, verify_export};

/// The export written for the check, removed when dropped.
struct TempExport(PathBuf);

impl Drop for TempExport {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn temp_export() -> anyhow::Result<(TempExport, std::fs::File)> {
    // Unique per process and instant; `create_new` refuses an existing file rather than
    // writing into it.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let path = std::env::temp_dir().join(format!(
        "deconflict-verify-{}-{nanos}.export",
        std::process::id()
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let f = opts
        .open(&path)
        .with_context(|| format!("{}", path.display()))?;
    Ok((TempExport(path), f))
}

pub fn run(dir: &Path, mut a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let log_dir = deconflict_service::log_entries::log_dir(dir);
    let (export, mut f) = temp_export()?;
    deconflict_logfile::export_dir(&log_dir, &mut f)
        .with_context(|| format!("{}", log_dir.display()))?;
    drop(f);
    a.file = export.0.clone();
    if a.agreement.is_none() {
        let agreement = dir.join("agreement.toml");
        if agreement.exists() {
            a.agreement = Some(agreement);
            if a.log_key.is_none() {
                a.log_key = service_key_hex(dir)?;
            }
        }
    }
    println!("log {}:", log_dir.display());
    let code = verify_export(a)?;
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }

    let path = dir.join("store.sqlite");
    let store: Box<dyn Store> = if path.exists() {
        Box::new(SqliteStore::open_read_only(&path).with_context(|| format!("{}", path.display()))?)
    } else {
        println!(
            "store {}: absent (checked as an empty store)",
            path.display()
        );
        Box::new(SqliteStore::open_in_memory()?)
    };
    let file = std::fs::File::open(&export.0).with_context(|| format!("{}", export.0.display()))?;
    let mut entries = ExportEntries {
        reader: std::io::BufReader::with_capacity(1 << 20, file),
        line: Vec::new(),
    };
    let openings = dir.join(deconflict_service::datadir::OPENINGS_FILE);
    let found = check(store.as_ref(), &mut entries, &mut |needed| {
        openings_from_file(&openings, needed)
    })
    .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    let per_table: Vec<String> = found
        .checked
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    println!(
        "store {}: {} log entries read, {} of them stand for store rows; {} rows checked against their entries ({})",
        path.display(),
        found.entries,
        found.entries_with_rows,
        found.rows_checked(),
        if per_table.is_empty() {
            "none".to_string()
        } else {
            per_table.join(", ")
        }
    );
    if !found.unstored.is_empty() {
        println!(
            "entries of requests never stored nor acknowledged: {} (indexes {:?})",
            found.unstored.len(),
            found.unstored
        );
    }
    if !found.tail.is_empty() {
        let tail: Vec<u64> = found.tail.iter().map(|(i, _)| *i).collect();
        println!(
            "entries after the store's last commit, not stored (the service stopped before storing them; its next start binds them as unstored): {tail:?}"
        );
    }
    if found.mismatches.is_empty() {
        println!("store: OK — every row matches its log entry");
        return Ok(ExitCode::SUCCESS);
    }
    for m in &found.mismatches {
        println!("MISMATCH {m}");
    }
    eprintln!(
        "deconflict: {}: verification FAILED: {} mismatches between the store and the record",
        dir.display(),
        found.mismatches.len()
    );
    Ok(ExitCode::from(1))
}

/// `DIR/keys/service.pub` (`ed25519:<64 hex>`) as 64 hex digits, when present.
fn service_key_hex(dir: &Path) -> anyhow::Result<Option<String>> {
    let path = dir.join("keys").join(format!(
        "{}.pub",
        deconflict_service::log_entries::SERVICE_KEY_ID
    ));
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?;
    let hex = text.trim().trim_start_matches("ed25519:").to_string();
    Ok(Some(hex))
}

/// The entries of an export file, in order (header, tree heads and end line skipped).
struct ExportEntries {
    reader: std::io::BufReader<std::fs::File>,
    line: Vec<u8>,
}

impl Iterator for ExportEntries {
    type Item = Result<SignedEntry, String>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.line.clear();
            match self.reader.read_until(b'\n', &mut self.line) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err(e.to_string())),
            }
            if ExportLineKind::of(&self.line) != Some(ExportLineKind::Entry) {
                continue;
            }
            if self.line.last() == Some(&b'\n') {
                self.line.pop();
            }
            return Some(SignedEntry::from_bytes(&self.line).map_err(|e| e.to_string()));
        }
    }
}

/// The store rows bound to the log entries a recovery drops (those from `keep_entries` on):
/// printed, and with `apply` deleted, so the store matches the recovered record (see
/// `SqliteStore::drop_bound_from`).
pub(crate) fn recover_store(path: &Path, keep_entries: u64, apply: bool) -> anyhow::Result<()> {
    let mut store = SqliteStore::open(path).with_context(|| format!("{}", path.display()))?;
    let d = store
        .drop_bound_from(keep_entries, apply)
        .with_context(|| format!("{}", path.display()))?;
    println!(
        "{} {}: the rows bound to the entries dropped: {} notification revisions, {} alerts, {} line log entries (from the first on), {} agreement versions",
        if apply {
            "dropped from"
        } else {
            "recovery drops from"
        },
        path.display(),
        d.notification_revisions,
        d.alerts,
        d.line_log,
        d.agreement_versions
    );
    Ok(())
}
