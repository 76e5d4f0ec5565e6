//! Every accepted track report provable later, without each being an entry of its own.
//!
//! The store keeps every accepted report in its report log, numbered per party in the order
//! accepted (`deconflict_store::LoggedReport`). At the end of each cycle the service commits
//! each party's reports accepted since its last batch: one `report_batch` entry per party per
//! cycle, signed by the service, carrying the party, the first sequence number, the count and
//! the root of a Merkle tree over the reports' leaves
//! ([`deconflict_log::report_leaf_hash`]: party, sequence number, the report's evidence fields
//! ([`ReportCore`]: track, time, position) and a digest of the whole stored report salted by a
//! secret derived from the log's key, so that fields the agreement does not disclose to the other
//! party are bound without being shown, and cannot be guessed from the digest). The
//! store row that names the batch's place in the record (`report_batches`) is written in the
//! same store transaction as the entry's binding, so a batch is never committed twice and
//! never lost. A report is then shown with its path to its batch's root and the batch entry's
//! inclusion in a signed tree head ([`proofs`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use deconflict_log::{Entry, EntryBody, Hash, InclusionProof, KeyId, Tree, report_leaf_hash};
use deconflict_store::{LoggedReport, ReportBatch, Write};

use crate::error::ApiError;
use crate::state::State;

pub use crate::report_leaves::{ReportCore, core_of, leaf_of, rest_digest};

/// Most reports of one party one batch commits; the rest go in the next cycle's.
pub const BATCH_REPORTS_MAX: usize = 250_000;

/// One party's reports to batch: their leaves, held since the pushes or read back.
enum Pending {
    Held(Vec<Hash>),
    Read(Vec<LoggedReport>),
}

/// Commits each party's reports accepted since its last batch. Returns the reports committed.
/// The leaves come from those held since the pushes ([`crate::report_leaves::PendingLeaves`]);
/// a party whose next report's leaf is not held while later ones are waits a cycle for it (its
/// push is computing it), once; one whose next leaf is not held otherwise (after a start, past
/// the bound, or still missing after that wait) has its reports read back from the store.
pub(crate) async fn commit_batches(state: &Arc<State>, now_ms: i64) -> Result<u64, ApiError> {
    let Some(log) = state.log().cloned() else {
        return Ok(0);
    };
    let salt = log.report_salt();
    let parties: Vec<String> = state.terms.parties.iter().map(|p| p.id.clone()).collect();
    let me = state.clone();
    let pending = state
        .with_store(move |s| {
            let mut out = Vec::new();
            for party in parties {
                let after = s
                    .last_report_batch(&party)?
                    .map_or(0, |b| b.first_seq + b.count - 1);
                let held = me
                    .pending_leaves
                    .take_run(&party, after + 1, BATCH_REPORTS_MAX);
                if !held.is_empty() {
                    out.push((party, after, Pending::Held(held)));
                    continue;
                }
                if me.pending_leaves.wait_for(&party, after + 1) {
                    continue;
                }
                let rows = s.reports_after(&party, after, BATCH_REPORTS_MAX)?;
                if !rows.is_empty() {
                    out.push((party, after, Pending::Read(rows)));
                }
            }
            Ok::<_, deconflict_store::StoreError>(out)
        })
        .await?
        .map_err(|e| ApiError::internal(format!("store: {e}")))?;
    if pending.is_empty() {
        return Ok(0);
    }
    // The leaves and trees of a cycle's reports (a hundred thousand at full load) are built
    // off the runtime's threads.
    let roots = tokio::task::spawn_blocking(move || {
        pending
            .into_iter()
            .map(|(party, after, p)| {
                let first_seq = after + 1;
                let leaves = match p {
                    Pending::Held(leaves) => leaves,
                    Pending::Read(rows) => {
                        if let Some((k, r)) = rows
                            .iter()
                            .enumerate()
                            .find(|(k, r)| r.seq != first_seq + *k as u64)
                        {
                            return Err(ApiError::internal(format!(
                                "report log of {party}: report {k} of the batch has sequence number {}, expected {}",
                                r.seq,
                                first_seq + k as u64
                            )));
                        }
                        rows.iter().map(|r| leaf_of(&salt, r)).collect()
                    }
                };
                let root = tree_of_leaves(&leaves).root();
                Ok((party, first_seq, leaves.len() as u64, root))
            })
            .collect::<Result<Vec<_>, ApiError>>()
    })
    .await
    .map_err(|e| ApiError::internal(format!("report batch task failed: {e}")))??;
    let mut entries = Vec::new();
    let mut batches = Vec::new();
    for (party, first_seq, count, root) in roots {
        let body = EntryBody::ReportBatch {
            count: count_of(count)?,
            first_seq: count_of(first_seq)?,
            party: KeyId::new(party.as_str())
                .map_err(|e| ApiError::internal(format!("report batch: {e}")))?,
            root,
        };
        let entry = Entry::new(
            KeyId::new(crate::log_entries::SERVICE_KEY_ID)
                .map_err(|e| ApiError::internal(format!("report batch: {e}")))?,
            u64::try_from(now_ms).unwrap_or(0),
            body,
        )
        .map_err(|e| ApiError::internal(format!("report batch: {e}")))?;
        entries.push(
            log.sign_own(entry)
                .map_err(|e| ApiError::internal(format!("report batch: {e}")))?,
        );
        batches.push((party, first_seq, count));
    }
    let total: u64 = batches.iter().map(|b| b.2).sum();
    let n = batches.len() as u64;
    let done: Vec<(String, u64)> = batches
        .iter()
        .map(|(party, first, count)| (party.clone(), first + count - 1))
        .collect();
    state
        .commit_recorded(entries, Vec::new(), Vec::new(), move |places| {
            batches
                .into_iter()
                .zip(places)
                .map(|((party, first_seq, count), (index, _))| {
                    Write::ReportBatch(ReportBatch {
                        party,
                        first_seq,
                        count,
                        entry_index: *index,
                    })
                })
                .collect()
        })
        .await?;
    // Leaves held for reports a batch read back are let go too.
    for (party, last) in done {
        state.pending_leaves.forget_through(&party, last);
    }
    state
        .metrics
        .report_batches_total
        .fetch_add(n, Ordering::Relaxed);
    state
        .metrics
        .reports_committed_total
        .fetch_add(total, Ordering::Relaxed);
    Ok(total)
}

fn count_of(v: u64) -> Result<deconflict_log::field::Count, ApiError> {
    deconflict_log::field::Count::new(v)
        .map_err(|e| ApiError::internal(format!("report batch: {e}")))
}

/// The batch tree of `rows` (one party's, consecutive).
pub fn tree_of(salt: &[u8; 32], rows: &[LoggedReport]) -> Tree {
    let leaves: Vec<Hash> = rows.iter().map(|r| leaf_of(salt, r)).collect();
    tree_of_leaves(&leaves)
}

/// The batch tree of these leaves, in order.
fn tree_of_leaves(leaves: &[Hash]) -> Tree {
    let mut tree = Tree::new();
    for leaf in leaves {
        tree.push_leaf_hash(*leaf);
    }
    tree
}

/// A report with its path to its batch's root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvedReport {
    pub report: LoggedReport,
    /// The batch's entry index in the record.
    pub batch_entry: u64,
    /// The report's path in its batch (index: `seq - first_seq`, size: the batch's count).
    pub path: InclusionProof,
}

/// Why a report cannot be proved.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("store: {0}")]
    Store(#[from] deconflict_store::StoreError),
    #[error("report {seq} of {party} is not committed to the record yet (the next cycle does)")]
    NotBatched { party: String, seq: u64 },
    #[error("report batch of {party} from {first_seq}: {why}")]
    Batch {
        party: String,
        first_seq: u64,
        why: String,
    },
}

/// Each report with its path to its batch's root; each batch's tree is built once.
pub fn proofs(
    store: &dyn deconflict_store::Store,
    salt: &[u8; 32],
    reports: &[LoggedReport],
) -> Result<Vec<ProvedReport>, ProofError> {
    let mut trees: BTreeMap<(String, u64), (ReportBatch, Tree)> = BTreeMap::new();
    let mut out = Vec::with_capacity(reports.len());
    for r in reports {
        // The batch held that starts last at or before this report, if it holds it.
        let held = trees
            .range(..=(r.party.clone(), r.seq))
            .next_back()
            .filter(|((p, first), (b, _))| *p == r.party && r.seq < first + b.count);
        let batch = match held {
            Some((key, _)) => key.clone(),
            None => {
                let b = store.report_batch_of(&r.party, r.seq)?.ok_or_else(|| {
                    ProofError::NotBatched {
                        party: r.party.clone(),
                        seq: r.seq,
                    }
                })?;
                let rows = store.reports_after(
                    &b.party,
                    b.first_seq - 1,
                    usize::try_from(b.count).unwrap_or(usize::MAX),
                )?;
                if rows.len() as u64 != b.count {
                    return Err(ProofError::Batch {
                        party: b.party.clone(),
                        first_seq: b.first_seq,
                        why: format!("{} of its {} reports in the store", rows.len(), b.count),
                    });
                }
                let key = (b.party.clone(), b.first_seq);
                let tree = tree_of(salt, &rows);
                trees.insert(key.clone(), (b, tree));
                key
            }
        };
        let (b, tree) = &trees[&batch];
        let path = tree
            .inclusion_proof(r.seq - b.first_seq, b.count)
            .map_err(|e| ProofError::Batch {
                party: b.party.clone(),
                first_seq: b.first_seq,
                why: e.to_string(),
            })?;
        out.push(ProvedReport {
            report: r.clone(),
            batch_entry: b.entry_index,
            path,
        });
    }
    Ok(out)
}

/// Checks a report's leaf (its party, number, evidence fields and salted digest of the rest)
/// and path against the batch entry `batch` (a `report_batch` entry).
pub fn check_report(
    party: &str,
    seq: u64,
    core: &str,
    rest: &Hash,
    path: &InclusionProof,
    batch: &Entry,
) -> Result<(), String> {
    let EntryBody::ReportBatch {
        count,
        first_seq,
        party: batch_party,
        root,
    } = batch.body()
    else {
        return Err(format!(
            "entry of kind {} is not a report batch",
            batch.body().kind()
        ));
    };
    if batch_party.as_str() != party {
        return Err(format!(
            "the batch is {}'s, the report {party}'s",
            batch_party.as_str()
        ));
    }
    let (first, count) = (first_seq.get(), count.get());
    if seq < first || seq >= first + count {
        return Err(format!(
            "report {seq} is not in the batch {first}..{}",
            first + count - 1
        ));
    }
    if path.index != seq - first || path.size != count {
        return Err(format!(
            "its path is for leaf {} of {}, not {} of {count}",
            path.index,
            path.size,
            seq - first
        ));
    }
    let leaf = report_leaf_hash(party, seq, core, rest);
    path.verify(&leaf, root)
        .map_err(|e| format!("its path does not lead to the batch's root: {e}"))
}
