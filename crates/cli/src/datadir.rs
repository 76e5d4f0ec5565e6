//! `--data-dir DIR` means one thing in every command: the service's data directory, as `serve
//! --data-dir DIR` and `demo --data-dir DIR` use it. Commands that read the record find its
//! journal inside, in `DIR/ledger/`; given that journal directory itself, they say to pass DIR.

use std::path::{Path, PathBuf};

/// The journal directory inside the data directory `dir` given as `--data-dir`.
pub fn journal_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    let ledger = deconflict_service::record::ledger_dir(dir);
    if ledger.is_dir() {
        return Ok(ledger);
    }
    let is_journal = [
        deconflict_journal::KEYS_FILE,
        "ledger.journal",
        "ledger.head",
    ]
    .iter()
    .any(|f| dir.join(f).exists());
    if is_journal {
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        return Err(crate::failure::usage(format!(
            "--data-dir {}: this is the journal inside a data directory; pass the data directory \
             itself: --data-dir {}",
            dir.display(),
            parent.display()
        )));
    }
    if !dir.is_dir() {
        return Err(crate::failure::usage(format!(
            "--data-dir {}: no such directory",
            dir.display()
        )));
    }
    Err(crate::failure::usage(format!(
        "--data-dir {}: not a data directory (no record in {}; `deconflict serve --data-dir DIR` \
         or `deconflict demo --data-dir DIR` makes one)",
        dir.display(),
        ledger.display()
    )))
}
