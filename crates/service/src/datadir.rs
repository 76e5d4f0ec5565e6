//! The data directory: everything one service instance keeps, in one place.
//!
//! ```text
//! DIR/agreement.toml                 the agreement (the agreement crate's TOML format)
//! DIR/agreement.toml.<party>.sig     each party's detached signature over it
//! DIR/keys/<party>.key               a party's secret key (demo only; mode 0600)
//! DIR/keys/<party>.pub               its public key (`ed25519:…`)
//! DIR/store.sqlite                   the store (with -wal and -shm beside it; mode 0600)
//! DIR/keys/service.key               the service's log signing key (created on first start)
//! DIR/keys/service.pub               its public key (`ed25519:…`)
//! DIR/log/                           the shared log (`deconflict-logfile`: log.frames,
//!                                    keys.json, log.head); `deconflict log export
//!                                    --data-dir DIR`
//! DIR/log-openings.jsonl             salt and value of every commitment in the log, one
//!                                    JSON line each, to open them later to a working group
//!                                    (mode 0600); rotated to log-openings.<N>.jsonl
//!                                    (`crate::log_entries::OPENINGS_FILE_BYTES_MAX`)
//! DIR/nonces/                        the nonces of the replay window (`crate::nonce_file`)
//! ```
//!
//! The agreement is in force when every party's signature file is there and verifies: the
//! signatures enter the agreement's history (kept in the store) the first time the service
//! starts with them, and the parties' signed lifecycle statements follow them there.

use std::path::{Path, PathBuf};

use deconflict_agreement::{Agreement, AgreementSignature, SecretKey, parse_toml};
use ed25519_dalek::SigningKey;

use crate::terms::Terms;

/// Largest agreement or signature file read, bytes.
pub const FILE_BYTES_MAX: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataDirError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataDirError + '_ {
    move |source| DataDirError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn invalid(path: &Path, message: impl Into<String>) -> DataDirError {
    DataDirError::Invalid {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads a file of at most [`FILE_BYTES_MAX`] bytes as text.
pub fn read_text(path: &Path) -> Result<String, DataDirError> {
    let meta = std::fs::metadata(path).map_err(io(path))?;
    if meta.len() > FILE_BYTES_MAX {
        return Err(invalid(
            path,
            format!("{} bytes, more than {FILE_BYTES_MAX}", meta.len()),
        ));
    }
    std::fs::read_to_string(path).map_err(io(path))
}

/// The layout of one data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    pub root: PathBuf,
}

impl DataDir {
    pub fn new(root: &Path) -> Self {
        DataDir {
            root: root.to_path_buf(),
        }
    }

    pub fn agreement(&self) -> PathBuf {
        self.root.join("agreement.toml")
    }

    pub fn store(&self) -> PathBuf {
        self.root.join("store.sqlite")
    }

    pub fn key(&self, party: &str) -> PathBuf {
        self.root.join("keys").join(format!("{party}.key"))
    }

    pub fn public_key(&self, party: &str) -> PathBuf {
        self.root.join("keys").join(format!("{party}.pub"))
    }

    /// Creates the directory (and `keys/`).
    pub fn create(&self) -> Result<(), DataDirError> {
        std::fs::create_dir_all(self.root.join("keys")).map_err(io(&self.root))
    }
}

/// The log directory inside a data directory, and the openings file's name (rotated copies
/// insert `.<N>` before `.jsonl`).
pub const LOG_DIR: &str = "log";
pub const OPENINGS_FILE: &str = "log-openings.jsonl";

/// The legacy names of the same files, from before the log had one name. A data directory
/// written with them still opens: [`rename_legacy_names`] renames them at open.
const LEGACY_LOG_DIR: &str = "ledger";
const LEGACY_LOG_FILE: &str = "ledger.journal";
const LEGACY_HEAD_FILE: &str = "ledger.head";
const LEGACY_OPENINGS_STEM: &str = "ledger-openings";

/// Renames the files of a data directory written with the legacy names to the current ones:
/// `DIR/<LEGACY_LOG_DIR>/` → `DIR/log/`, inside it the log file and head file (to
/// [`deconflict_logfile::LOG_FILE`] and [`deconflict_logfile::head_file::HEAD_FILE`]), and the
/// openings file with its rotated copies → `DIR/log-openings[.<N>].jsonl`. A name is renamed
/// only when the new one does not exist (so a directory with both is left as it is, and a second
/// run changes nothing); each rename is atomic and its directory is synced before this returns.
/// Says once, through `tracing`, what it renamed. Returns the renames, `(from, to)`.
pub fn rename_legacy_names(root: &Path) -> Result<Vec<(PathBuf, PathBuf)>, DataDirError> {
    let mut done = Vec::new();
    let mut synced = Vec::new();
    let mut rename = |dir: &Path, from: &str, to: &str| -> Result<(), DataDirError> {
        let (old, new) = (dir.join(from), dir.join(to));
        if std::fs::symlink_metadata(&old).is_err() || std::fs::symlink_metadata(&new).is_ok() {
            return Ok(());
        }
        std::fs::rename(&old, &new).map_err(io(&old))?;
        if !synced.contains(&dir.to_path_buf()) {
            synced.push(dir.to_path_buf());
        }
        done.push((old, new));
        Ok(())
    };
    rename(root, LEGACY_LOG_DIR, LOG_DIR)?;
    let log_dir = root.join(LOG_DIR);
    rename(&log_dir, LEGACY_LOG_FILE, deconflict_logfile::LOG_FILE)?;
    rename(
        &log_dir,
        LEGACY_HEAD_FILE,
        deconflict_logfile::head_file::HEAD_FILE,
    )?;
    let new_stem = OPENINGS_FILE.trim_end_matches(".jsonl");
    if root.is_dir() {
        for item in std::fs::read_dir(root).map_err(io(root))? {
            let name = item.map_err(io(root))?.file_name();
            let Some(rest) = name
                .to_str()
                .and_then(|n| n.strip_prefix(LEGACY_OPENINGS_STEM))
            else {
                continue;
            };
            let rotation = rest
                .strip_prefix('.')
                .and_then(|r| r.strip_suffix(".jsonl"))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if rest == ".jsonl" || rotation {
                let from = format!("{LEGACY_OPENINGS_STEM}{rest}");
                rename(root, &from, &format!("{new_stem}{rest}"))?;
            }
        }
    }
    for dir in &synced {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
    }
    if !done.is_empty() {
        let renamed: Vec<String> = done
            .iter()
            .map(|(from, to)| format!("{} -> {}", from.display(), to.display()))
            .collect();
        tracing::info!(
            data_dir = %root.display(),
            "renamed the log's files to their current names: {}",
            renamed.join(", ")
        );
    }
    Ok(done)
}

/// A loaded agreement: its terms and which parties' signatures verified.
#[derive(Debug)]
pub struct LoadedAgreement {
    pub agreement: Agreement,
    pub terms: Terms,
    pub signed_by: Vec<String>,
}

impl LoadedAgreement {
    pub fn all_signed(&self) -> bool {
        self.terms
            .parties
            .iter()
            .all(|p| self.signed_by.contains(&p.id))
    }
}

/// Signature path beside an agreement file: `<file>.<party>.sig`.
pub fn signature_path(agreement: &Path, party: &str) -> PathBuf {
    let mut name = agreement.as_os_str().to_owned();
    name.push(format!(".{party}.sig"));
    PathBuf::from(name)
}

/// Reads and validates the agreement at `path` and the signatures beside it.
pub fn load_agreement(path: &Path) -> Result<LoadedAgreement, DataDirError> {
    let text = read_text(path)?;
    let agreement = parse_toml(&text).map_err(|e| invalid(path, e.to_string()))?;
    let terms = Terms::from_agreement(&agreement).map_err(|m| invalid(path, m))?;
    let mut signed_by = Vec::new();
    let mut signatures = Vec::new();
    for p in &terms.parties {
        let sp = signature_path(path, &p.id);
        if !sp.exists() {
            continue;
        }
        let sig = AgreementSignature::from_file_text(&read_text(&sp)?)
            .map_err(|e| invalid(&sp, e.to_string()))?;
        sig.verify(&agreement)
            .map_err(|e| invalid(&sp, e.to_string()))?;
        if sig.party().as_str() != p.id {
            return Err(invalid(
                &sp,
                format!("signed by {}, not {}", sig.party(), p.id),
            ));
        }
        signed_by.push(p.id.clone());
        signatures.push(sig);
    }
    let terms = terms.with_signatures(signatures);
    Ok(LoadedAgreement {
        agreement,
        terms,
        signed_by,
    })
}

/// The Ed25519 signing key inside an agreement-crate secret key (its file text carries the
/// RFC 8032 seed in hex).
pub fn signing_key(key: &SecretKey) -> Option<SigningKey> {
    let text = key.to_file_text();
    let hex = text
        .trim()
        .strip_prefix(deconflict_agreement::keys::SECRET_KEY_PREFIX)?;
    let mut seed = [0u8; 32];
    for (i, chunk) in hex.as_bytes().chunks(2).enumerate() {
        let s = std::str::from_utf8(chunk).ok()?;
        *seed.get_mut(i)? = u8::from_str_radix(s, 16).ok()?;
    }
    Some(SigningKey::from_bytes(&seed))
}

/// Reads a secret key file written by `deconflict keygen`.
pub fn read_secret_key(path: &Path) -> Result<SecretKey, DataDirError> {
    SecretKey::from_file_text(&read_text(path)?).map_err(|e| invalid(path, e.to_string()))
}

/// Writes a key pair: `<prefix>.key` (mode 0600 on Unix) and `<prefix>.pub`.
pub fn write_key_pair(prefix: &Path, key: &SecretKey) -> Result<(PathBuf, PathBuf), DataDirError> {
    let mut k = prefix.as_os_str().to_owned();
    k.push(".key");
    let mut p = prefix.as_os_str().to_owned();
    p.push(".pub");
    let (k, p) = (PathBuf::from(k), PathBuf::from(p));
    if k.exists() {
        return Err(invalid(
            &k,
            "exists already; refusing to overwrite a secret key",
        ));
    }
    write_private(&k, key.to_file_text().as_bytes())?;
    std::fs::write(&p, format!("{}\n", key.public_key().to_text())).map_err(io(&p))?;
    Ok((k, p))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), DataDirError> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

/// A fresh secret key from the operating system's CSPRNG.
pub fn generate_key() -> SecretKey {
    use rand::RngCore as _;
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    SecretKey::from_seed(seed)
}
