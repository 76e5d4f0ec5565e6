//! Verification of an export file on several threads: one thread reads lines and runs the
//! log's structural checks and Merkle tree; worker threads parse entries and check their
//! signatures in batches. The answer is the first failure in line order.

use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc;

use deconflict_log::export::{CosignatureRef, earliest};
use deconflict_log::{SignatureBatch, Verifier, VerifyError, VerifyOptions, VerifySummary};

/// Batches waiting for a worker; bounds memory when workers fall behind the reader.
pub const BATCHES_IN_FLIGHT_MAX: usize = 16;

/// Why verification could not run, or what it found wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyFileError {
    /// Reading the file failed.
    #[error("reading the export: {0}")]
    Io(#[from] std::io::Error),
    /// The export is not valid.
    #[error("{0}")]
    Invalid(#[from] VerifyError),
}

/// Verifies an export read from `input` with `workers` signature-checking threads (at least 1).
pub fn verify_reader(
    input: impl Read,
    options: VerifyOptions,
    workers: usize,
) -> Result<VerifySummary, VerifyFileError> {
    let workers = workers.max(1);
    let (tx, rx) = mpsc::sync_channel::<SignatureBatch>(BATCHES_IN_FLIGHT_MAX);
    let rx = std::sync::Mutex::new(rx);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let rx = &rx;
                scope.spawn(move || {
                    let mut refs: Vec<CosignatureRef> = Vec::new();
                    let mut first: Option<VerifyError> = None;
                    loop {
                        let next = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok(batch) = next else { break };
                        match batch.verify() {
                            Ok(r) => refs.extend(r),
                            Err(e) => {
                                if first.as_ref().is_none_or(|f| e.line < f.line) {
                                    first = Some(e);
                                }
                            }
                        }
                    }
                    (refs, first)
                })
            })
            .collect();

        let mut verifier = Verifier::new(options);
        let mut reader = BufReader::with_capacity(1 << 20, input);
        let mut line: Vec<u8> = Vec::with_capacity(1024);
        let mut structural: Result<(), VerifyError> = Ok(());
        let mut final_newline = true;
        let mut io_error = None;
        loop {
            line.clear();
            // Bounded read: a line longer than the limit is refused by the verifier without
            // first being read whole into memory.
            let limit = (deconflict_log::export::LINE_BYTES_MAX + 2) as u64;
            match (&mut reader).take(limit).read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    io_error = Some(e);
                    break;
                }
            }
            if line.last() == Some(&b'\n') {
                line.pop();
            } else {
                final_newline = false;
            }
            if let Err(e) = verifier.push_line(&line) {
                structural = Err(e);
                break;
            }
            while let Some(b) = verifier.take_batch() {
                if tx.send(b).is_err() {
                    break;
                }
            }
        }
        if let Some(b) = verifier.take_rest() {
            let _ = tx.send(b);
        }
        drop(tx);
        let mut refs = Vec::new();
        let mut sig_error: Option<VerifyError> = None;
        for h in handles {
            let (r, e) = h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            refs.extend(r);
            if let Some(e) = e
                && sig_error.as_ref().is_none_or(|f| e.line < f.line)
            {
                sig_error = Some(e);
            }
        }
        if let Some(e) = io_error {
            return Err(VerifyFileError::Io(e));
        }
        let cosignature_error = verifier.check_cosignatures(&refs).err();
        let summary = structural.and_then(|()| verifier.finish(final_newline));
        Ok(earliest(earliest(summary, sig_error), cosignature_error)?)
    })
}

/// Verifies an export file.
pub fn verify_file(
    path: &std::path::Path,
    options: VerifyOptions,
    workers: usize,
) -> Result<VerifySummary, VerifyFileError> {
    let f = std::fs::File::open(path)?;
    verify_reader(f, options, workers)
}
