//! `--data-dir DIR` means one thing in every command: the service's data directory, as `serve
//! --data-dir DIR` and `demo --data-dir DIR` use it. Commands that read the log find its
//! files inside, in `DIR/log/`; given that log directory itself, they say to pass DIR.

use std::path::{Path, PathBuf};

/// The log directory inside the data directory `dir` given as `--data-dir`.
pub fn log_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    // A data directory written with the legacy names opens under the current ones.
    deconflict_service::datadir::rename_legacy_names(dir)?;
    let log_dir = deconflict_service::log_entries::log_dir(dir);
    if log_dir.is_dir() {
        return Ok(log_dir);
    }
    let is_log_file = [
        deconflict_logfile::KEYS_FILE,
        deconflict_logfile::LOG_FILE,
        deconflict_logfile::head_file::HEAD_FILE,
    ]
    .iter()
    .any(|f| dir.join(f).exists());
    if is_log_file {
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        return Err(crate::failure::usage(format!(
            "--data-dir {}: this is the log directory inside a data directory; pass the data directory \
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
        log_dir.display()
    )))
}
