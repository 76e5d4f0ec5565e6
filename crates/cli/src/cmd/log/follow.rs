//! `deconflict log follow`: a party keeps its view of the log consistent round after round,
//! countersigns what it verified, checks the other parties' countersignatures against its view
//! (gossip), and keeps the evidence of a split view or a forged countersignature.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use deconflict_log::{
    ConsistencyProof, EntryBody, KeyId, KeyRing, Monitor, PublicKey, SignedEntry, SignedTreeHead,
    TreeHeadUpdate, VerifyingKey,
};

use super::{lock_state, write_atomically};

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

fn service_err(what: &str) -> impl FnOnce(deconflict_client::ClientError) -> FollowFailure + '_ {
    move |e| FollowFailure::Service(anyhow::anyhow!("{what}: {e}"))
}

pub(super) fn follow(a: FollowArgs) -> anyhow::Result<ExitCode> {
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
    client: &deconflict_client::PartyClient,
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
    client: &deconflict_client::PartyClient,
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
        Err(deconflict_client::ClientError::Status { status: 400, .. })
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
            deconflict_log::HeadCheckError::Fork(_) => {
                "FORK: the log signed two different trees of the same size (misbehaviour by the log's signer)"
            }
            deconflict_log::HeadCheckError::Inconsistent { .. } => {
                "INCONSISTENT: the new head does not extend the verified one (the log rewrote its history)"
            }
            deconflict_log::HeadCheckError::Shrunk { .. } => {
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
    client: &deconflict_client::PartyClient,
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
        let consistent = deconflict_log::in_history(tree_head, mine, &proof);
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
    let now_ms = deconflict_logfile::system_now_ms();
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
    error: &deconflict_log::HeadCheckError,
) -> anyhow::Result<PathBuf> {
    let path = evidence_path(state);
    let head = |h: &SignedTreeHead| String::from_utf8_lossy(h.as_bytes()).into_owned();
    let mut text = String::from("{\n");
    text.push_str(&format!(
        "  \"check\": {},\n",
        json_string(&error.to_string())
    ));
    if let deconflict_log::HeadCheckError::Fork(evidence) = error {
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
    serde_json::Value::from(s).to_string()
}
