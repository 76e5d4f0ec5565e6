//! The documents of the shared record's routes: the log's keys and the parties'
//! countersignatures of its tree heads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The answer to a countersignature.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CosignatureAccepted {
    /// Index of the countersignature entry in the log (of the first one, for a repeat).
    pub index: u64,
    /// False when the party had countersigned this tree head already: nothing was appended.
    pub appended: bool,
    /// The party that countersigned.
    pub party: String,
    /// Size of the countersigned tree head.
    pub size: u64,
    /// Root hash of the countersigned tree head (64 hex digits).
    pub root: String,
}

/// One countersignature in the log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CosignatureView {
    /// Index of the countersignature entry.
    pub index: u64,
    /// The party that countersigned (the entry's author).
    pub party: String,
    /// Size of the countersigned tree head.
    pub size: u64,
    /// Its root hash (64 hex digits).
    pub root: String,
    /// When the log signed that head, UNIX ms.
    pub tree_head_time_ms: u64,
    /// The party's timestamp on the countersignature, UNIX ms.
    pub time_ms: u64,
    /// The entry in its signed canonical form (`{"entry":…,"sig":…}`), to check offline.
    #[schema(value_type = Object)]
    pub entry: serde_json::Value,
}

/// Countersignatures, in log order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CosignatureList {
    pub cosignatures: Vec<CosignatureView>,
}

/// The keys of the log: the key id that signs tree heads and every public key it knows.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LogKeys {
    /// Key id of the log (the service).
    pub log: String,
    /// Key id → Ed25519 public key, 64 hex digits (the parties' and the log's own).
    pub keys: BTreeMap<String, String>,
}
