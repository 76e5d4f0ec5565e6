//! The documents of the duty officer's console sign-in.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/console/login-tokens`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginTokenRequest {
    /// The duty officer signing in, on the party's roster (a contact or the party's command);
    /// default: the first contact on duty now.
    #[serde(default)]
    pub officer: Option<String>,
    /// The session's length, at most 12 h (the default).
    #[serde(default)]
    pub session_ttl_ms: Option<i64>,
}

/// A one-time sign-in link's token.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginToken {
    /// The path to open on this service (append it to the service's base URL); valid once.
    pub path: String,
    pub expires_unix_ms: i64,
    pub party: String,
    pub officer: String,
}
