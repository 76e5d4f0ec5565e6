//! `keys.json`: the log's key id and every public key it knows, as
//! `{"keys":{"<key id>":"<64 hex>",…},"log":"<key id>"}`. Replaced atomically (write a temporary
//! file, `fsync`, rename, `fsync` the directory), so a crash leaves the old or the new file.

use std::io::Write;
use std::path::Path;

use deconflict_log::{KeyId, KeyRing};

use crate::{KEYS_FILE, LogFileError, io_err, sync_dir};

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    keys: KeyRing,
    log: KeyId,
}

/// Reads the key ring, if the file exists.
pub fn read(dir: &Path) -> Result<Option<KeyRing>, LogFileError> {
    Ok(read_with_log(dir)?.map(|(_, k)| k))
}

/// Reads the log id and key ring, if the file exists.
pub fn read_with_log(dir: &Path) -> Result<Option<(KeyId, KeyRing)>, LogFileError> {
    let path = dir.join(KEYS_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(&path)(e)),
    };
    let f: KeysFile = serde_json::from_slice(&bytes).map_err(|e| LogFileError::Keys {
        path: path.clone(),
        why: format!("line {} column {}: {e}", e.line(), e.column()),
    })?;
    Ok(Some((f.log, f.keys)))
}

/// Replaces the file atomically.
pub fn write(dir: &Path, log: &KeyId, keys: &KeyRing) -> Result<(), LogFileError> {
    let path = dir.join(KEYS_FILE);
    let tmp = dir.join(format!("{KEYS_FILE}.tmp"));
    let body = KeysFile {
        keys: keys.clone(),
        log: log.clone(),
    };
    let mut text = serde_json::to_vec_pretty(&body).map_err(|e| LogFileError::Keys {
        path: path.clone(),
        why: e.to_string(),
    })?;
    text.push(b'\n');
    let mut f = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(&text)
        .and_then(|()| f.sync_all())
        .map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
    sync_dir(dir)
}
