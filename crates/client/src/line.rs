//! The line for a party's own programs: inherent methods on [`PartyClient`]. Sends and
//! acknowledgements are signed twice: the request (RFC 9421, as every request) and the log
//! entry the party authors in the shared log.

use deconflict_line::Message;

use crate::client::{ClientError, PartyClient};
use crate::line_entry::{log_entry_for_ack, log_entry_for_message, sign_entry};
use crate::wire::LinkTestReachability;
use crate::wire::line::*;

/// Path segments and query values are sent percent-encoded (ids may hold `:` and `/`).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl PartyClient {
    /// Sends a message (`from` must be this party). A retry of the identical message after a
    /// reconnect answers `duplicate: true` and changes nothing.
    pub async fn line_send(&self, message: &Message) -> Result<LineAccepted, ClientError> {
        let entry =
            log_entry_for_message(message).map_err(|e| ClientError::Decode(e.to_string()))?;
        let entry_signature = sign_entry(entry, self.signing_key())
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        let body = LineSend {
            message: message.clone(),
            entry_signature,
        };
        self.call("POST", "/v1/line/messages", Some(&body)).await
    }

    /// `officer` of this party acknowledges message `id`, now by the client's clock. Repeating
    /// it (a retry) answers `duplicate: true` and counts once.
    pub async fn line_ack(&self, id: &str, officer: &str) -> Result<LineAckResult, ClientError> {
        let time_unix_ms = self.clock().now_ms();
        let entry = log_entry_for_ack(self.party(), id, officer, time_unix_ms)
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        let entry_signature = sign_entry(entry, self.signing_key())
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        let body = LineAck {
            officer: officer.to_string(),
            time_unix_ms,
            entry_signature,
        };
        let path = format!("/v1/line/messages/{}/ack", encode(id));
        self.call("POST", &path, Some(&body)).await
    }

    /// What this party must acknowledge, what it waits for, what is overdue on either side.
    pub async fn line_pending(&self) -> Result<LinePending, ClientError> {
        self.call::<(), _>("GET", "/v1/line/pending", None).await
    }

    /// One message this party sent or received.
    pub async fn line_message(&self, id: &str) -> Result<LineMessageView, ClientError> {
        let path = format!("/v1/line/messages/{}", encode(id));
        self.call::<(), _>("GET", &path, None).await
    }

    /// The conversations this party takes part in.
    pub async fn line_conversations(&self) -> Result<Vec<ConversationSummary>, ClientError> {
        self.call::<(), _>("GET", "/v1/line/conversations", None)
            .await
    }

    /// One conversation rendered for a reader: `lang` `en` | `ru`, `utc_offset` like
    /// `+03:00`, `coords` `decimal` | `dms`.
    pub async fn line_conversation(
        &self,
        kind: &str,
        id: &str,
        lang: &str,
        utc_offset: &str,
        coords: &str,
    ) -> Result<ConversationView, ClientError> {
        let path = format!(
            "/v1/line/conversations/{}/{}?lang={}&utc_offset={}&coords={}",
            encode(kind),
            encode(id),
            encode(lang),
            encode(utc_offset),
            encode(coords)
        );
        self.call::<(), _>("GET", &path, None).await
    }

    /// Every party's answers to the scheduled link tests over the last week.
    pub async fn line_reachability(&self) -> Result<Vec<LinkTestReachability>, ClientError> {
        self.call::<(), _>("GET", "/v1/line/reachability", None)
            .await
    }
}
