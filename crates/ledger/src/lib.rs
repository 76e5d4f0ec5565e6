//! Sans-IO tamper-evident log: entries, Merkle tree (RFC 9162), signed tree heads, proofs, verification.
