//! `deconflict log …` and `deconflict verify`: export the tamper-evident record, hand out tree
//! heads and proofs from a data directory, keep a party's last verified tree head, and verify an
//! export offline. The logic is in `deconflict-ledger` (formats, tree, checks) and
//! `deconflict-journal` (storage, parallel verification); this module parses arguments, reads
//! and writes files, and reports.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use deconflict_journal::verify::{VerifyFileError, verify_file};
use deconflict_journal::{export_dir, load_dir};
use deconflict_ledger::export::parse_header;
use deconflict_ledger::{
    ConsistencyProof, EntryBody, KeyId, KeyRing, Monitor, PublicKey, SignedEntry, SignedTreeHead,
    TreeHeadUpdate, VerifyOptions, VerifyingKey, saved_tree_head_from_json,
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
    /// Say what recovering a damaged journal would drop (the service refuses to start on one);
    /// drop it only with --apply.
    Recover(RecoverArgs),
}

#[derive(clap::Args)]
pub struct RecoverArgs {
    /// The service's data directory (as given to `serve --data-dir`; the record is in DIR/ledger/).
    #[arg(long)]
    data_dir: PathBuf,
    /// Cut the journal back to its last whole batch, as the plan printed says.
    #[arg(long)]
    apply: bool,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The service's data directory (as given to `serve --data-dir`; the record is in DIR/ledger/).
    #[arg(long)]
    data_dir: PathBuf,
    /// The export file to write.
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
pub struct TreeHeadArgs {
    /// The service's data directory (as given to `serve --data-dir`; the record is in DIR/ledger/).
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
    /// The service's data directory (as given to `serve --data-dir`; the record is in DIR/ledger/).
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
    let journal = crate::datadir::journal_dir(&a.data_dir)?;
    // Write beside the target and rename, so a reader never sees half an export.
    let tmp = a.out.with_extension("partial");
    let mut f = std::fs::File::create(&tmp).with_context(|| format!("{}", tmp.display()))?;
    let counts = export_dir(&journal, &mut f)?;
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
    use deconflict_journal::recover;
    let dir = crate::datadir::journal_dir(&a.data_dir)?;
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
        plan.journal.display(),
        plan.keep_entries
    );
    if let Some(store) = &store {
        crate::cmd::verify_dir::recover_store(store, plan.keep_entries, true)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn tree_head(a: TreeHeadArgs) -> anyhow::Result<ExitCode> {
    let log = load_dir(&crate::datadir::journal_dir(&a.data_dir)?)?;
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
    let log = load_dir(&crate::datadir::journal_dir(&a.data_dir)?)?;
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

#[derive(clap::Args)]
pub struct FollowArgs {
    #[command(flatten)]
    connect: crate::cmd::connect::ConnectArgs,
    /// The party's state file (the same format as `log check-head`'s): the log followed, its
    /// key, the last verified tree head. Created on first use.
    #[arg(long, value_name = "FILE")]
    state: PathBuf,
    /// The log's public key (64 hex digits, as the operator published it): pins it when the
    /// state file is created, and must match the state file's key afterwards.
    #[arg(long, value_name = "HEX", conflicts_with = "trust_on_first_use")]
    log_key: Option<String>,
    /// Create the state file with the key the service reports, printed for the operator to
    /// compare with the published one.
    #[arg(long)]
    trust_on_first_use: bool,
    /// Check again every SECONDS until interrupted (network failures are reported and retried;
    /// a failed check stops).
    #[arg(long, value_name = "SECONDS")]
    watch: Option<u64>,
    /// The agreement the party signed (TOML): the other parties' countersignatures the log
    /// shows are then checked with their keys from it, not with the keys the service reports.
    #[arg(long, value_name = "FILE")]
    agreement: Option<PathBuf>,
}

/// The parties' keys from the agreement file given to `follow`.
type PartyKeys = KeyRing;

/// An agreement file (TOML), parsed and validated, and its parties' keys.
pub(crate) fn agreement_keys(
    path: &Path,
) -> anyhow::Result<(deconflict_agreement::Agreement, KeyRing)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let agreement = deconflict_agreement::parse_toml(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut ring = KeyRing::new();
    for p in agreement.parties() {
        let id = KeyId::new(p.id().as_str())
            .with_context(|| format!("{}: party id {}", path.display(), p.id().as_str()))?;
        let key = VerifyingKey::from_bytes(p.public_key().as_bytes())
            .with_context(|| format!("{}: key of {}", path.display(), p.id().as_str()))?;
        ring.insert(id, key)?;
        // Working-group members sign their incident assessments.
        for m in p.members() {
            let id = KeyId::new(m.id())
                .with_context(|| format!("{}: member id {}", path.display(), m.id()))?;
            let key = VerifyingKey::from_bytes(m.public_key().as_bytes())
                .with_context(|| format!("{}: key of member {}", path.display(), m.id()))?;
            ring.insert(id, key)?;
        }
    }
    Ok((agreement, ring))
}

/// Most new entries read to decide whether a head covers anything but countersignatures.
const FOLLOW_SCAN_ENTRIES_MAX: u64 = 1000;

/// Why one round of `follow` stopped.
enum FollowFailure {
    /// The service could not be reached or answered with an error: retried under --watch.
    Service(anyhow::Error),
    /// A check failed (or the party's own files are bad): never retried.
    Check(anyhow::Error),
}

fn service_err(
    what: &str,
) -> impl FnOnce(deconflict_service::client::ClientError) -> FollowFailure + '_ {
    move |e| FollowFailure::Service(anyhow::anyhow!("{what}: {e}"))
}

fn follow(a: FollowArgs) -> anyhow::Result<ExitCode> {
    let _lock = lock_state(&a.state)?;
    let keys = match &a.agreement {
        Some(p) => Some(agreement_keys(p).context("--agreement")?.1),
        None => None,
    };
    let client = a.connect.client()?;
    let rt = crate::cmd::connect::runtime()?;
    rt.block_on(async {
        loop {
            match follow_round(&a, &client, keys.as_ref()).await {
                Ok(()) => {}
                Err(FollowFailure::Check(e)) => return Err(e),
                Err(FollowFailure::Service(e)) if a.watch.is_none() => return Err(e),
                Err(FollowFailure::Service(e)) => {
                    eprintln!("deconflict: warning: {e:#}; retrying");
                }
            }
            let Some(secs) = a.watch else {
                return Ok(ExitCode::SUCCESS);
            };
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(secs.max(1))) => {}
                _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
            }
        }
    })
}

/// The state file, or a new monitor pinned to `--log-key` or (with `--trust-on-first-use`) to the
/// key the service reports.
async fn follow_monitor(
    a: &FollowArgs,
    client: &deconflict_service::client::PartyClient,
) -> Result<Monitor, FollowFailure> {
    let check = |e: anyhow::Error| FollowFailure::Check(e);
    let pinned = match &a.log_key {
        Some(hex) => Some(
            PublicKey::from_hex(hex)
                .context("--log-key")
                .map_err(check)?,
        ),
        None => None,
    };
    match std::fs::read(&a.state) {
        Ok(bytes) => {
            let m = Monitor::from_json(&bytes)
                .with_context(|| format!("{}: not a log state file", a.state.display()))
                .map_err(check)?;
            if let Some(p) = pinned
                && p != *m.log_key()
            {
                return Err(check(anyhow::anyhow!(
                    "--log-key {} differs from the key {} pinned in {}",
                    p.to_hex(),
                    m.log_key().to_hex(),
                    a.state.display()
                )));
            }
            Ok(m)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if pinned.is_none() && !a.trust_on_first_use {
                return Err(check(anyhow::anyhow!(
                    "{} does not exist: pass --log-key HEX (the log's key as the operator published it) or --trust-on-first-use",
                    a.state.display()
                )));
            }
            let keys = client
                .log_keys()
                .await
                .map_err(service_err("GET /v1/log/keys"))?;
            let log = KeyId::new(keys.log.clone())
                .with_context(|| format!("the service names its log {:?}", keys.log))
                .map_err(check)?;
            let reported = keys
                .keys
                .get(&keys.log)
                .map(|hex| PublicKey::from_hex(hex))
                .transpose()
                .context("the service's log key")
                .map_err(check)?
                .ok_or_else(|| {
                    check(anyhow::anyhow!(
                        "the service lists no key for its log {log}"
                    ))
                })?;
            // The party's own key as the log knows it must be the one it signs with.
            let own = PublicKey(client.signing_key().verifying_key());
            if keys.keys.get(client.party()) != Some(&own.to_hex()) {
                return Err(check(anyhow::anyhow!(
                    "the log does not bind party {} to the key in --key ({})",
                    client.party(),
                    own.to_hex()
                )));
            }
            let key = match pinned {
                Some(p) if p != reported => {
                    return Err(check(anyhow::anyhow!(
                        "the service reports log key {} but --log-key is {}: not following",
                        reported.to_hex(),
                        p.to_hex()
                    )));
                }
                Some(p) => {
                    println!("pinned   log {log} key {} (from --log-key)", p.to_hex());
                    p
                }
                None => {
                    println!(
                        "pinned   log {log} key {} (trusted on first use: compare it with the key the operator published)",
                        reported.to_hex()
                    );
                    reported
                }
            };
            Ok(Monitor::new(log, key.0))
        }
        Err(e) => Err(check(
            anyhow::Error::new(e).context(format!("{}", a.state.display())),
        )),
    }
}

/// One round: fetch, check, save, countersign; one line per step.
async fn follow_round(
    a: &FollowArgs,
    client: &deconflict_service::client::PartyClient,
    keys: Option<&PartyKeys>,
) -> Result<(), FollowFailure> {
    let check = |e: anyhow::Error| FollowFailure::Check(e);
    let mut monitor = follow_monitor(a, client).await?;
    // Before asking the service anything about it: is the head we kept really the log's?
    monitor.check_saved().map_err(|e| {
        check(anyhow::anyhow!(
            "{}: check of the saved head failed: {e}",
            a.state.display()
        ))
    })?;
    let old = monitor.tree_head().cloned();
    let since = old.as_ref().map_or(0, |h| h.tree_head().size());
    let update = match client.log_tree_head(since).await {
        Ok(u) => u,
        // The service cannot prove consistency from our size: if that is because its log is now
        // shorter than a head it signed, its latest head is the evidence (checked below).
        Err(deconflict_service::client::ClientError::Status { status: 400, .. })
            if since > 0
                && let Ok(latest) = client.log_tree_head(0).await
                && latest.tree_head.tree_head().size() < since =>
        {
            latest
        }
        Err(e) => return Err(service_err("GET /v1/log/tree-head")(e)),
    };
    let th = update.tree_head.tree_head().clone();
    println!(
        "fetched  size {} root {} time_ms {} from {}",
        th.size(),
        th.root(),
        th.time_ms(),
        a.connect.service
    );
    if let Err(e) = monitor.accept(&update) {
        let evidence = write_evidence(&a.state, old.as_ref(), &update, &e)
            .map_err(|w| check(w.context("writing the evidence")))?;
        let what = match &e {
            deconflict_ledger::HeadCheckError::Fork(_) => {
                "FORK: the log signed two different trees of the same size (misbehaviour by the log's signer)"
            }
            deconflict_ledger::HeadCheckError::Inconsistent { .. } => {
                "INCONSISTENT: the new head does not extend the verified one (the log rewrote its history)"
            }
            deconflict_ledger::HeadCheckError::Shrunk { .. } => {
                "ROLLED BACK: the log is shorter than a head it signed earlier (misbehaviour by the log's signer)"
            }
            _ => "the new head was refused",
        };
        return Err(check(anyhow::anyhow!(
            "{what}: {e}; both signed heads kept in {}; state file {} left unchanged",
            evidence.display(),
            a.state.display()
        )));
    }
    match &old {
        Some(o) => println!(
            "verified size {}: signed by {}, consistent with the saved head of size {}",
            th.size(),
            th.log(),
            o.tree_head().size()
        ),
        None => println!(
            "verified size {}: signed by {} (first head)",
            th.size(),
            th.log()
        ),
    }
    write_atomically(&a.state, &monitor.to_json()).map_err(check)?;
    println!("saved    {}", a.state.display());

    gossip(a, client, keys, &update.tree_head, &old).await?;

    // A head that covers nothing new but countersignatures is not countersigned again; otherwise
    // two parties following each other's countersignatures would grow the log forever.
    if let Some(o) = &old {
        let from = o.tree_head().size();
        if th.size() > from && th.size() - from <= FOLLOW_SCAN_ENTRIES_MAX {
            let entries = client
                .log_entries(from, th.size())
                .await
                .map_err(service_err("GET /v1/log/entries"))?;
            let only_cosignatures = entries.len() as u64 == th.size() - from
                && entries
                    .iter()
                    .all(|e| matches!(e.entry().body(), EntryBody::TreeHeadCosignature { .. }));
            if only_cosignatures {
                println!(
                    "cosigned skipped: the {} entries since size {from} are all countersignatures",
                    entries.len()
                );
                return Ok(());
            }
        }
    }
    let accepted = client
        .post_cosignature(&th)
        .await
        .map_err(service_err("POST /v1/log/cosignatures"))?;
    if accepted.appended {
        println!(
            "cosigned size {}: entry {} appended",
            accepted.size, accepted.index
        );
    } else {
        println!(
            "cosigned size {}: already countersigned as entry {}",
            accepted.size, accepted.index
        );
    }
    Ok(())
}

/// Most of the other parties' countersignatures checked against this party's view per round.
const GOSSIP_COSIGNATURES_MAX: usize = 16;

/// The other parties' latest countersignatures (those appended since the head saved before this
/// round) name heads that must be in the history this party was shown: each one's root must be
/// consistent with the head just verified. A log that showed another party a different tree (a
/// split view) cannot pass this with that party's countersignature in the log; the signed
/// countersignature and this party's signed head are then kept as evidence.
///
/// With `--agreement`, each of those countersignatures must also verify with its party's key
/// from the agreement: a log that shows a countersignature the party never made (to make a
/// split view look confirmed) is caught, and the entry kept as evidence.
async fn gossip(
    a: &FollowArgs,
    client: &deconflict_service::client::PartyClient,
    keys: Option<&PartyKeys>,
    ours: &SignedTreeHead,
    old: &Option<SignedTreeHead>,
) -> Result<(), FollowFailure> {
    let from = old.as_ref().map_or(0, |h| h.tree_head().size());
    let mine = ours.tree_head();
    let entries = client
        .log_cosignature_entries(GOSSIP_COSIGNATURES_MAX)
        .await
        .map_err(service_err("GET /v1/log/cosignatures"))?;
    for (index, entry) in entries {
        let EntryBody::TreeHeadCosignature { tree_head } = entry.entry().body() else {
            continue;
        };
        let party = entry.entry().author();
        if index < from || index >= mine.size() || party.as_str() == client.party() {
            continue;
        }
        let (n, root) = (tree_head.size(), *tree_head.root());
        if let Some(keys) = keys {
            let genuine = keys.get(party).is_some_and(|k| entry.verify(k).is_ok());
            if !genuine {
                let path =
                    write_cosignature_evidence(&a.state, "forged countersignature", ours, &entry)
                        .map_err(|e| FollowFailure::Check(e.context("writing the evidence")))?;
                return Err(FollowFailure::Check(anyhow::anyhow!(
                    "FORGED COUNTERSIGNATURE: the log shows a countersignature by {party} of size \
                     {n} (entry {index}) that does not verify with {party}'s key from the \
                     agreement; the entry and this party's signed head are kept in {}",
                    path.display()
                )));
            }
        }
        let proof = if n < mine.size() {
            client
                .log_consistency(n, mine.size())
                .await
                .map_err(service_err("GET /v1/log/consistency"))?
        } else {
            ConsistencyProof {
                old_size: n,
                new_size: n,
                path: Vec::new(),
            }
        };
        let consistent = deconflict_ledger::in_history(tree_head, mine, &proof);
        if !consistent {
            let path = write_cosignature_evidence(&a.state, "split view", ours, &entry)
                .map_err(|e| FollowFailure::Check(e.context("writing the evidence")))?;
            return Err(FollowFailure::Check(anyhow::anyhow!(
                "SPLIT VIEW: {party} countersigned a head of size {n} with root {root} (entry {index}), \
                 which is not in the history the log showed this party up to size {}; its \
                 countersignature and this party's signed head are kept in {}",
                mine.size(),
                path.display()
            )));
        }
        println!(
            "gossip   {party}'s countersignature of size {n} (entry {index}) is consistent with this view{}",
            if keys.is_some() {
                "; its signature verifies with the agreement's key"
            } else {
                " (its signature not checked: no --agreement)"
            }
        );
    }
    Ok(())
}

fn write_cosignature_evidence(
    state: &Path,
    check: &str,
    ours: &SignedTreeHead,
    theirs: &SignedEntry,
) -> anyhow::Result<PathBuf> {
    let path = evidence_path(state);
    let text = format!(
        "{{\n  \"check\": {},\n  \"our_tree_head\": {},\n  \"their_cosignature\": {}\n}}\n",
        json_string(check),
        String::from_utf8_lossy(ours.as_bytes()),
        String::from_utf8_lossy(theirs.as_bytes())
    );
    write_atomically(&path, text.as_bytes())?;
    Ok(path)
}

fn evidence_path(state: &Path) -> PathBuf {
    let now_ms = deconflict_journal::system_now_ms();
    let name = format!(
        "{}.evidence-{now_ms}.json",
        state
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "state".into())
    );
    state.with_file_name(name)
}

/// Writes what a refused head rests on next to the state file: the head kept, the head and proof
/// received, and (for a fork) both conflicting signed heads. Returns the file's path.
fn write_evidence(
    state: &Path,
    saved: Option<&SignedTreeHead>,
    update: &TreeHeadUpdate,
    error: &deconflict_ledger::HeadCheckError,
) -> anyhow::Result<PathBuf> {
    let path = evidence_path(state);
    let head = |h: &SignedTreeHead| String::from_utf8_lossy(h.as_bytes()).into_owned();
    let mut text = String::from("{\n");
    text.push_str(&format!(
        "  \"check\": {},\n",
        json_string(&error.to_string())
    ));
    if let deconflict_ledger::HeadCheckError::Fork(evidence) = error {
        text.push_str(&format!(
            "  \"fork\": [\n    {},\n    {}\n  ],\n",
            head(&evidence.first),
            head(&evidence.second)
        ));
    }
    text.push_str(&format!(
        "  \"saved_tree_head\": {},\n",
        saved.map(head).unwrap_or_else(|| "null".into())
    ));
    let received = String::from_utf8_lossy(&update.to_json()).into_owned();
    text.push_str(&format!("  \"received\": {}\n}}\n", received.trim_end()));
    write_atomically(&path, text.as_bytes())?;
    Ok(path)
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
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
        if let deconflict_ledger::HeadCheckError::Fork(evidence) = &e {
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
    /// journal is checked as an export is, then every store row against its record entry.
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
/// (`deconflict_service::record::check_against_agreement`): how many of each kind there are, or
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
        if !line.starts_with(br#"{"entry":"#) {
            continue;
        }
        let i = index;
        index += 1;
        // Cheap filter on the canonical form (keys sorted, so the body's kind follows "body"):
        // only these kinds need parsing again.
        let about = |kind: &[u8]| line.windows(kind.len()).any(|w| w == kind);
        let is_event = about(br#""body":{"agreement_event""#);
        if !is_event && !about(br#""body":{"notification"#) {
            continue;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        let entry = deconflict_ledger::SignedEntry::from_bytes(&line)
            .map_err(|e| anyhow::anyhow!("entry {i} (line {line_no}): {e}"))?;
        deconflict_service::record::check_against_agreement(entry.entry(), agreement)
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
