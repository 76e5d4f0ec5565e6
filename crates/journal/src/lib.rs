//! Durable append-only storage for the ledger: fsync with group commit, crash recovery.
