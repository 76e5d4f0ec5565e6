//! The duty officer's console, the party's side: one-time sign-in links.

use crate::client::{ClientError, PartyClient};
use crate::wire::console::{LoginToken, LoginTokenRequest};

impl PartyClient {
    /// A one-time console sign-in link for `officer` (default: the contact on duty now).
    /// The link is `base() + path`, valid 60 s, used once.
    pub async fn console_login_token(
        &self,
        officer: Option<&str>,
    ) -> Result<LoginToken, ClientError> {
        let body = LoginTokenRequest {
            officer: officer.map(str::to_string),
            session_ttl_ms: None,
        };
        self.call("POST", "/v1/console/login-tokens", Some(&body))
            .await
    }
}
