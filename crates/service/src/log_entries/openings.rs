//! The openings file: every commitment's salt and value, appended durably beside the record,
//! rotated past its size bound, never compacted; and one line of it, parsed and checked.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use deconflict_log::{Hash, Opening};

/// Size past which the openings file is rotated, bytes: it is renamed `<stem>.<N>.jsonl`
/// (N = 1, 2, …, oldest first) and a new one is started. Nothing is dropped or compacted: a
/// working group may ask for any opening of the record, so readers read every rotated file
/// ([`openings_files`]).
pub const OPENINGS_FILE_BYTES_MAX: u64 = 64 << 20;

/// The live openings file: appended durably, rotated past its size bound.
pub(super) struct OpeningsFile {
    path: PathBuf,
    file: std::fs::File,
    bytes: u64,
    bytes_max: u64,
}

impl OpeningsFile {
    pub(super) fn open(path: &Path, bytes_max: u64) -> std::io::Result<OpeningsFile> {
        let file = open_private_append(path)?;
        let bytes = file.metadata()?.len();
        Ok(OpeningsFile {
            path: path.to_path_buf(),
            file,
            bytes,
            bytes_max,
        })
    }

    /// Appends `buf` and makes it durable; first rotates the file if `buf` would take it past
    /// its bound (a file is never left empty by rotation, so one long batch still lands).
    pub(super) fn append(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let len = buf.len() as u64;
        if self.bytes > 0 && self.bytes.saturating_add(len) > self.bytes_max {
            self.rotate()?;
        }
        self.file.write_all(buf)?;
        self.file.sync_data()?;
        self.bytes += len;
        Ok(())
    }

    /// Renames the live file to the next `<stem>.<N>.jsonl` (its data already durable), makes
    /// the rename durable, and starts a new live file. A crash in between leaves every line in
    /// one of the files; the next start creates the live file again.
    pub(super) fn rotate(&mut self) -> std::io::Result<()> {
        let next = rotated_openings(&self.path)?
            .last()
            .map_or(1, |(n, _)| n + 1);
        std::fs::rename(&self.path, rotated_path(&self.path, next))?;
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        self.file = open_private_append(&self.path)?;
        self.bytes = 0;
        Ok(())
    }
}

/// Opens for appending, creating it readable by the service's user only (every salt with its
/// private value); a file created by an earlier release may be readable by others, so the mode
/// is set again.
fn open_private_append(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let f = opts.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(f)
}

/// `dir/log-openings.jsonl` → (`dir`, `log-openings`).
fn openings_stem(path: &Path) -> (&Path, &str) {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let stem = name.strip_suffix(".jsonl").unwrap_or(name);
    (path.parent().unwrap_or(Path::new(".")), stem)
}

fn rotated_path(path: &Path, n: u64) -> PathBuf {
    let (dir, stem) = openings_stem(path);
    dir.join(format!("{stem}.{n}.jsonl"))
}

/// The rotated files beside `path`, by number, oldest first.
fn rotated_openings(path: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let (dir, stem) = openings_stem(path);
    let prefix = format!("{stem}.");
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for e in entries {
        let e = e?;
        let name = e.file_name();
        let Some(n) = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|n| n.strip_suffix(".jsonl"))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        out.push((n, rotated_path(path, n)));
    }
    out.sort();
    Ok(out)
}

/// Every file that holds openings written to `path`: the rotated `<stem>.<N>.jsonl` beside it,
/// oldest first, then `path` itself if it exists. A file that was never rotated (what a party
/// kept with `--keep-openings`) is just itself.
pub fn openings_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = rotated_openings(path)?
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    if path.exists() {
        out.push(path.to_path_buf());
    }
    Ok(out)
}

/// Longest line of an openings file accepted, bytes (a text value is at most 4 KiB, 8 KiB
/// escaped).
pub const OPENING_LINE_BYTES_MAX: usize = 16 * 1024;

/// One line of an openings file (`DATA_DIR/log-openings.jsonl`, or what a party kept of its
/// own salts): `{"commitment":"<64 hex>","opening":{"salt":"<64 hex>","value":{"int":…}|{"text":…}}}`.
/// Checked: the opening hashes to the commitment the line names. The error says what is wrong.
pub fn parse_opening_line(line: &[u8]) -> Result<(Hash, Opening), String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Line {
        commitment: String,
        opening: Opening,
    }
    if line.len() > OPENING_LINE_BYTES_MAX {
        return Err(format!(
            "{} bytes, longer than {OPENING_LINE_BYTES_MAX}",
            line.len()
        ));
    }
    let l: Line = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    let named = Hash::from_hex(&l.commitment).map_err(|e| format!("commitment: {e}"))?;
    let actual = l
        .opening
        .commitment()
        .map_err(|e| format!("opening: {e}"))?;
    if actual != named {
        return Err(format!(
            "the opening hashes to {}, not to the commitment {} it names",
            actual.to_hex(),
            named.to_hex()
        ));
    }
    Ok((named, l.opening))
}
