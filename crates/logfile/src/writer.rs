//! The writer thread (group commit: a batch, one tree head, one `fdatasync`) and the queue it
//! takes its work from.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use deconflict_log::{SignedEntry, SignedTreeHead, SigningKey, TreeHead};

use crate::frame::{FRAME_BYTES, KIND_ENTRY, KIND_TREE_HEAD, encode};
use crate::storage::Appender;
use crate::{
    BATCH_BYTES_MAX, BATCH_ENTRIES_MAX, Cosignature, LogFileError, Queued, Shared, State, Ticket,
    head_file, lock,
};

/// The writer thread: takes whatever is queued (up to a batch), writes entries and a new signed
/// tree head, `fdatasync`s once, then publishes and wakes the waiters.
pub(crate) fn writer_loop(
    sh: &Shared,
    mut file: Appender,
    mut head_file: head_file::HeadFile,
    path: PathBuf,
    log_key: &SigningKey,
    now_ms: &(dyn Fn() -> u64 + Send + Sync),
) {
    let mut buf: Vec<u8> = Vec::with_capacity(BATCH_BYTES_MAX + (1 << 16));
    let mut batch: Vec<Queued> = Vec::with_capacity(BATCH_ENTRIES_MAX);
    let mut file_end = file.position();
    loop {
        let last_time_ms;
        {
            let mut st = lock(&sh.state);
            while st.queue.is_empty() && !st.closing {
                st = sh.work.wait(st).unwrap_or_else(|e| e.into_inner());
            }
            if st.queue.is_empty() {
                return;
            }
            let mut bytes = 0usize;
            while let Some(q) = st.queue.front() {
                if batch.len() >= BATCH_ENTRIES_MAX
                    || (bytes > 0 && bytes + q.entry.as_bytes().len() > BATCH_BYTES_MAX)
                {
                    break;
                }
                bytes += q.entry.as_bytes().len() + FRAME_BYTES;
                if let Some(q) = st.queue.pop_front() {
                    batch.push(q);
                }
            }
            last_time_ms = st.latest.tree_head().time_ms();
        }
        buf.clear();
        let mut offsets = Vec::with_capacity(batch.len());
        let sth = {
            let mut tree = sh.tree.write().unwrap_or_else(|e| e.into_inner());
            for q in &batch {
                let start = file_end + buf.len() as u64;
                encode(&mut buf, KIND_ENTRY, q.entry.as_bytes());
                offsets.push((start + 5, q.entry.as_bytes().len() as u32));
                tree.push(q.entry.as_bytes());
            }
            // Strictly increasing timestamps: the export format requires them.
            let time_ms = now_ms().max(last_time_ms + 1);
            match TreeHead::new(sh.log_id.clone(), tree.len(), tree.root(), time_ms) {
                Ok(th) => SignedTreeHead::sign(th, log_key),
                Err(e) => {
                    fail(sh, e.to_string());
                    return;
                }
            }
        };
        encode(&mut buf, KIND_TREE_HEAD, sth.as_bytes());
        if let Err(e) = file.write_all(&buf).and_then(|()| file.sync_data()) {
            // After a failed write or fsync the page cache is in an unknown state: accept
            // nothing more. Nothing of this batch was acknowledged; reopening recovers.
            fail(sh, format!("{}: {e}", path.display()));
            return;
        }
        file_end += buf.len() as u64;
        // The head file learns of the batch before anyone is told it is durable.
        if let Err(e) = head_file.record(&sth, file_end) {
            fail(sh, e.to_string());
            return;
        }
        sh.offsets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .extend(offsets);
        sh.issued
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sth.tree_head().size(), sth.tree_head().clone());
        sh.appended.fetch_add(batch.len() as u64, Ordering::Relaxed);
        sh.batches.fetch_add(1, Ordering::Relaxed);
        {
            let mut st = lock(&sh.state);
            st.durable = sth.tree_head().size();
            st.latest = sth;
        }
        sh.durable.notify_all();
        batch.clear();
    }
}

/// Queues a checked entry under the state lock: refused when the log file failed or is closing,
/// when the queue is full, or for a second countersignature of one head by one party (decided
/// here, under the lock, so two copies submitted at once cannot both pass).
pub(crate) fn enqueue(
    sh: &Arc<Shared>,
    st: &mut State,
    entry: SignedEntry,
) -> Result<Ticket, LogFileError> {
    if let Some(why) = &st.failed {
        return Err(LogFileError::Failed(why.clone()));
    }
    if st.closing {
        return Err(LogFileError::Closed);
    }
    if st.queue.len() >= sh.queue_entries_max {
        sh.rejected_queue_full.fetch_add(1, Ordering::Relaxed);
        return Err(LogFileError::QueueFull(st.queue.len()));
    }
    let index = st.next_index;
    if let Some(c) = Cosignature::of(index, &entry) {
        let mut cs = lock(&sh.cosignatures);
        let key = (c.party.clone(), c.tree_head.size());
        if let Some(&first) = cs.by_party_size.get(&key) {
            sh.duplicate_cosignatures.fetch_add(1, Ordering::Relaxed);
            return Err(LogFileError::DuplicateCosignature {
                party: key.0,
                size: key.1,
                index: first,
            });
        }
        cs.insert(c);
    }
    st.next_index += 1;
    st.queue.push_back(Queued { entry });
    Ok(Ticket {
        shared: sh.clone(),
        index,
    })
}

pub(crate) fn fail(sh: &Shared, why: String) {
    lock(&sh.state).failed = Some(why);
    sh.durable.notify_all();
}
