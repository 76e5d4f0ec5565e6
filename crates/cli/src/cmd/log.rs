//! `deconflict log …` and `deconflict verify`: export the tamper-evident record, hand out tree
//! heads and proofs from a data directory, keep a party's last verified tree head, and verify an
//! export offline. The logic is in `deconflict-log` (formats, tree, checks) and
//! `deconflict-logfile` (storage, parallel verification); this module parses arguments, reads
//! and writes files, and reports.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use deconflict_log::export::parse_header;
use deconflict_logfile::verify::{VerifyFileError, verify_file};
use deconflict_logfile::{export_dir, load_dir};
mod follow;

pub(crate) use follow::agreement_keys;
use follow::{FollowArgs, follow};

use deconflict_log::{
    EntryKind, ExportLineKind, KeyId, KeyRing, Monitor, PublicKey, TreeHeadUpdate, VerifyOptions,
    saved_tree_head_from_json,
};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Write the log in a data directory to an export file (format: see README).
    Export(ExportArgs),
    /// Write the latest signed tree head and a consistency proof from an earlier size: what a
    /// party fetches to check that the log only grew.
    TreeHead(TreeHeadArgs),
    /// Write the inclusion proof of one entry in a tree head.
    Proof(ProofArgs),
    /// Check a fetched tree head (and its consistency proof) against the last one verified, and
    /// keep it as the new last verified head.
    CheckHead(CheckHeadArgs),
    /// Follow a running service's log as a party: fetch the latest tree head and the proof that
    /// it extends the last verified one, check both, save the head, countersign it.
    Follow(FollowArgs),
    /// Open the record's commitments for a working group: every committed field of an export,
    /// with its value where an opening is given, or sealed.
    Open(crate::cmd::open::OpenArgs),
    /// Say what recovering a damaged log file would drop (the service refuses to start on one);
    /// drop it only with --apply.
    Recover(RecoverArgs),
}

#[derive(clap::Args)]
pub struct RecoverArgs {
    /// The service's data directory (as given to `serve --data-dir`; the record is in DIR/log/).
    #[arg(long)]
    data_dir: PathBuf,
    /// Cut the log file back to its last whole batch, as the plan printed says.
    #[arg(long)]
    apply: bool,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The service's data directory (as given to `serve --data-dir`; the record is in DIR/log/).
    #[arg(long)]
    data_dir: PathBuf,
    /// The export file to write.
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
pub struct TreeHeadArgs {
    /// The service's data directory (as given to `serve --data-dir`; the record is in DIR/log/).
    #[arg(long)]
    data_dir: PathBuf,
    /// The size of the tree head the party verified last (0 when none).
    #[arg(long, default_value_t = 0)]
    since: u64,
    /// Where to write the update (JSON); standard output when absent.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct ProofArgs {
    /// The service's data directory (as given to `serve --data-dir`; the record is in DIR/log/).
    #[arg(long)]
    data_dir: PathBuf,
    /// The entry's index (0-based).
    #[arg(long)]
    index: u64,
    /// The tree size to prove against; the latest tree head's when absent.
    #[arg(long)]
    size: Option<u64>,
}

#[derive(clap::Args)]
pub struct CheckHeadArgs {
    /// The party's state file: the log followed, its key, the last verified tree head. Created
    /// on first use (then --log-key is required).
    #[arg(long)]
    state: PathBuf,
    /// The log's public key (64 hex digits), to create the state file.
    #[arg(long)]
    log_key: Option<String>,
    /// The log's key id, to create the state file.
    #[arg(long, default_value = "service")]
    log: String,
    /// The fetched update: `{"consistency":{…},"tree_head":{…}}` (see `deconflict log tree-head`).
    update: PathBuf,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Export(a) => export(a),
        Command::TreeHead(a) => tree_head(a),
        Command::Proof(a) => proof(a),
        Command::CheckHead(a) => check_head(a),
        Command::Follow(a) => follow(a),
        Command::Open(a) => crate::cmd::open::open(a),
        Command::Recover(a) => recover(a),
    }
}

fn export(a: ExportArgs) -> anyhow::Result<ExitCode> {
    let log_file = crate::datadir::log_dir(&a.data_dir)?;
    // Write beside the target and rename, so a reader never sees half an export.
    let tmp = a.out.with_extension("partial");
    let mut f = std::fs::File::create(&tmp).with_context(|| format!("{}", tmp.display()))?;
    let counts = export_dir(&log_file, &mut f)?;
    f.sync_all().with_context(|| format!("{}", tmp.display()))?;
    drop(f);
    std::fs::rename(&tmp, &a.out).with_context(|| format!("{}", a.out.display()))?;
    println!(
        "exported {} entries and {} tree heads to {}",
        counts.entries,
        counts.tree_heads,
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn recover(a: RecoverArgs) -> anyhow::Result<ExitCode> {
    use deconflict_logfile::recover;
    let dir = crate::datadir::log_dir(&a.data_dir)?;
    let plan = recover::plan(&dir)?;
    print!("{plan}");
    if plan.is_clean() {
        return Ok(ExitCode::SUCCESS);
    }
    // The store of a service's data directory follows the record it is bound to.
    let store = a.data_dir.join("store.sqlite");
    let store = (dir != a.data_dir && store.exists()).then_some(store);
    if let Some(store) = &store {
        crate::cmd::verify_dir::recover_store(store, plan.keep_entries, false)?;
    }
    if !a.apply {
        println!("nothing changed; run again with --apply to recover");
        return Ok(ExitCode::SUCCESS);
    }
    recover::apply(&dir, &plan)?;
    println!(
        "recovered: {} holds {} entries",
        plan.log_file.display(),
        plan.keep_entries
    );
    if let Some(store) = &store {
        crate::cmd::verify_dir::recover_store(store, plan.keep_entries, true)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn tree_head(a: TreeHeadArgs) -> anyhow::Result<ExitCode> {
    let log = load_dir(&crate::datadir::log_dir(&a.data_dir)?)?;
    let Some(latest) = log.latest().cloned() else {
        bail!("{}: the log has no tree head yet", a.data_dir.display());
    };
    let consistency = log
        .tree
        .consistency_proof(a.since, latest.tree_head().size())
        .with_context(|| format!("--since {}", a.since))?;
    let update = TreeHeadUpdate {
        tree_head: latest,
        consistency,
    };
    write_out(a.out.as_deref(), &update.to_json())?;
    Ok(ExitCode::SUCCESS)
}

fn proof(a: ProofArgs) -> anyhow::Result<ExitCode> {
    let log = load_dir(&crate::datadir::log_dir(&a.data_dir)?)?;
    let Some(latest) = log.latest() else {
        bail!("{}: the log has no tree head yet", a.data_dir.display());
    };
    let size = a.size.unwrap_or(latest.tree_head().size());
    if !log.heads.iter().any(|h| h.tree_head().size() == size) {
        bail!("no tree head of size {size} was issued; proofs are given against issued tree heads");
    }
    let p = log.tree.inclusion_proof(a.index, size)?;
    let leaf = log.tree.leaf_hash(a.index).context("index out of range")?;
    println!("index {} size {size} leaf_hash {leaf}", p.index);
    for h in &p.path {
        println!("{h}");
    }
    Ok(ExitCode::SUCCESS)
}

fn check_head(a: CheckHeadArgs) -> anyhow::Result<ExitCode> {
    let _lock = lock_state(&a.state)?;
    let mut monitor = match std::fs::read(&a.state) {
        Ok(bytes) => Monitor::from_json(&bytes)
            .with_context(|| format!("{}: not a check-head state file", a.state.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let Some(hex) = &a.log_key else {
                bail!(
                    "{} does not exist: pass --log-key (and --log) to start following a log",
                    a.state.display()
                );
            };
            let key = PublicKey::from_hex(hex).context("--log-key")?;
            Monitor::new(KeyId::new(a.log.clone()).context("--log")?, key.0)
        }
        Err(e) => return Err(e).with_context(|| format!("{}", a.state.display())),
    };
    let bytes = std::fs::read(&a.update).with_context(|| format!("{}", a.update.display()))?;
    let update = TreeHeadUpdate::from_json(&bytes).with_context(|| {
        format!(
            "{}: not a tree head update {{\"consistency\":…,\"tree_head\":…}}",
            a.update.display()
        )
    })?;
    let old_size = monitor.tree_head().map(|h| h.tree_head().size());
    if let Err(e) = monitor.accept(&update) {
        if let deconflict_log::HeadCheckError::Fork(evidence) = &e {
            // The two signed heads are the evidence: print them whole for the working group.
            println!("{}", String::from_utf8_lossy(evidence.first.as_bytes()));
            println!("{}", String::from_utf8_lossy(evidence.second.as_bytes()));
        }
        bail!(
            "{}: {e} (state file {} left unchanged)",
            a.update.display(),
            a.state.display()
        );
    }
    write_atomically(&a.state, &monitor.to_json())?;
    let th = update.tree_head.tree_head();
    match old_size {
        Some(old) => println!(
            "tree head size {} root {} is consistent with the verified size {old}; saved",
            th.size(),
            th.root()
        ),
        None => println!(
            "tree head size {} root {} signed by {}; saved as the first verified head",
            th.size(),
            th.root(),
            th.log()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The export file (see `deconflict log export`).
    #[arg(
        default_value = "-",
        hide_default_value = true,
        required_unless_present = "data_dir",
        conflicts_with = "data_dir"
    )]
    pub(crate) file: PathBuf,
    /// A service's data directory (what `serve --data-dir` takes), instead of an export: its
    /// log file is checked as an export is, then every store row against its log entry.
    /// Keys: the directory's agreement and service key unless --agreement is given.
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
    /// The parties' public keys to trust instead of the keys listed in the file: a keys file
    /// `{"<party id>":"<64 hex>",…}`, or an agreement TOML file (its parties' keys).
    #[arg(long)]
    pub(crate) agreement: Option<PathBuf>,
    /// The log's public key (64 hex digits) to trust; with --agreement, when the keys file does
    /// not list the log's own key.
    #[arg(long)]
    pub(crate) log_key: Option<String>,
    /// A tree head saved earlier (a signed tree head, a tree head update or a check-head state
    /// file): the export must contain the same tree at that size.
    #[arg(long)]
    since_tree_head: Option<PathBuf>,
    /// Threads checking signatures; all cores when absent.
    #[arg(long)]
    threads: Option<usize>,
}

/// Keys from a keys file or an agreement, plus the log's key; and the agreement when
/// `--agreement` is one (not a keys file).
fn pinned_keys(
    a: &VerifyArgs,
) -> anyhow::Result<(Option<KeyRing>, Option<deconflict_agreement::Agreement>)> {
    let Some(path) = &a.agreement else {
        if a.log_key.is_some() {
            bail!("--log-key needs --agreement (the parties' keys)");
        }
        return Ok((None, None));
    };
    let mut parsed = None;
    let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut ring = if text.trim_start().starts_with('{') {
        KeyRing::from_json(&bytes).with_context(|| {
            format!(
                "{}: not a keys file {{\"<party id>\":\"<64 hex>\",…}}",
                path.display()
            )
        })?
    } else {
        let (agreement, ring) = agreement_keys(path)?;
        parsed = Some(agreement);
        ring
    };
    let header = first_line(&a.file)?;
    let (log_id, header_keys) =
        parse_header(&header).map_err(|e| anyhow::anyhow!("{}: {e}", a.file.display()))?;
    if let Some(hex) = &a.log_key {
        let key = PublicKey::from_hex(hex).context("--log-key")?;
        ring.insert(log_id.clone(), key.0)?;
    }
    if ring.get(&log_id).is_none() {
        match header_keys.get(&log_id) {
            Some(k) => {
                eprintln!(
                    "deconflict: warning: the log's key ({log_id}) is not in {} and --log-key was not given; it is taken from the export itself",
                    path.display()
                );
                ring.insert(log_id, *k)?;
            }
            None => bail!(
                "{}: the header lists no key for the log {log_id}",
                a.file.display()
            ),
        }
    }
    Ok((Some(ring), parsed))
}

/// The entries of a verified export that are about the agreement — agreement events,
/// notifications and withdrawals — checked against it
/// (`deconflict_service::log_entries::check_against_agreement`): how many of each kind there are, or
/// the first that fails with its entry index and line.
fn check_export_against_agreement(
    path: &Path,
    agreement: &deconflict_agreement::Agreement,
) -> anyhow::Result<(u64, u64)> {
    use std::io::BufRead;
    let f = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    let mut r = std::io::BufReader::with_capacity(1 << 20, f);
    let mut line = Vec::new();
    let (mut line_no, mut index) = (0u64, 0u64);
    let (mut events, mut notifications) = (0u64, 0u64);
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)
            .with_context(|| format!("{}", path.display()))?
            == 0
        {
            break;
        }
        line_no += 1;
        if ExportLineKind::of(&line) != Some(ExportLineKind::Entry) {
            continue;
        }
        let i = index;
        index += 1;
        // Told from the entry's first bytes: only these kinds need parsing again.
        let is_event = match EntryKind::of_signed(&line) {
            Some(EntryKind::AgreementEvent) => true,
            Some(EntryKind::Notification | EntryKind::NotificationWithdrawal) => false,
            _ => continue,
        };
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        let entry = deconflict_log::SignedEntry::from_bytes(&line)
            .map_err(|e| anyhow::anyhow!("entry {i} (line {line_no}): {e}"))?;
        deconflict_service::log_entries::check_against_agreement(entry.entry(), agreement)
            .map_err(|e| anyhow::anyhow!("entry {i} (line {line_no}): {e}"))?;
        if is_event {
            events += 1;
        } else {
            notifications += 1;
        }
    }
    Ok((events, notifications))
}

fn first_line(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::BufRead;
    let f = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    let mut r = std::io::BufReader::new(f);
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line)
        .with_context(|| format!("{}", path.display()))?;
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    Ok(line)
}

pub fn verify(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    if a.data_dir.is_none() && crate::cmd::incidents::is_bundle(&a.file) {
        return crate::cmd::incidents::verify_bundle(
            &a.file,
            a.agreement.as_deref(),
            a.log_key.as_deref(),
        );
    }
    // With --data-dir the directory's agreement is the default; for an export it must be named.
    if a.log_key.is_some() && a.agreement.is_none() && a.data_dir.is_none() {
        return Err(crate::failure::usage(
            "--log-key needs --agreement (the parties' keys it goes with), or --data-dir",
        ));
    }
    if let Some(dir) = a.data_dir.clone() {
        return crate::cmd::verify_dir::run(&dir, a);
    }
    verify_export(a)
}

/// Verifies the export `a.file`.
pub(crate) fn verify_export(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let (pinned, agreement) = pinned_keys(&a)?;
    let since = match &a.since_tree_head {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("{}", p.display()))?;
            Some(
                saved_tree_head_from_json(&bytes)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
            )
        }
        None => None,
    };
    let threads = a.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let options = VerifyOptions {
        pinned_keys: pinned,
        since: since.clone(),
    };
    let started = Instant::now();
    match verify_file(&a.file, options, threads) {
        Ok(s) => {
            let th = s.last_tree_head.tree_head();
            println!(
                "{}: OK — {} entries, {} tree heads; every signature, tree head and root checked ({:.2} s)",
                a.file.display(),
                s.counts.entries,
                s.counts.tree_heads,
                started.elapsed().as_secs_f64()
            );
            println!(
                "last tree head: size {} root {} time_ms {} signed by {}",
                th.size(),
                th.root(),
                th.time_ms(),
                th.log()
            );
            if let Some(saved) = since {
                println!(
                    "consistent with the saved tree head of size {}",
                    saved.tree_head().size()
                );
            }
            if let Some(agreement) = &agreement {
                match check_export_against_agreement(&a.file, agreement) {
                    Ok((events, notifications)) => println!(
                        "agreement events: {events}, each about {} and each signature event carrying the party's own signature over it; notifications and withdrawals: {notifications}, each by a party to it",
                        agreement.id().to_text()
                    ),
                    Err(e) => bail!("{}: verification FAILED at {e:#}", a.file.display()),
                }
            }
            if !s.keys_pinned {
                println!(
                    "keys: taken from the export itself (proves integrity, not authorship); pass --agreement to pin them"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(VerifyFileError::Invalid(e)) => {
            bail!("{}: verification FAILED at {e}", a.file.display())
        }
        Err(e) => Err(e).with_context(|| format!("{}", a.file.display())),
    }
}

fn write_out(path: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match path {
        Some(p) => write_atomically(p, bytes),
        None => {
            crate::stdio::stdout().write_all(bytes)?;
            Ok(())
        }
    }
}

/// Holds `STATE.lock` exclusively while the returned file lives, so two `log follow` or `log
/// check-head` processes never read, check and replace one state file at the same time (one of
/// them would silently undo the other's step). The lock is the operating system's: a crashed
/// holder releases it.
fn lock_state(state: &Path) -> anyhow::Result<std::fs::File> {
    let mut name = state.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("{}", path.display()))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "{} is in use by another `deconflict log follow` or `log check-head` ({} is locked)",
            state.display(),
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// Writes beside the target, syncs, renames over it, then syncs the directory: a reader (or a
/// crash) sees the old file or the new one, never half of one.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("partial");
    let mut f = std::fs::File::create(&tmp).with_context(|| format!("{}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("{}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}", path.display()))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("{}", dir.display()))?;
    Ok(())
}
