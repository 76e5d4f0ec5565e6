//! A party's signed HTTP client: every request carries the RFC 9421 signature of the party,
//! and the event stream is read with the [`crate::sse`] parser. Used by the demo, the
//! benchmark and the end-to-end tests; a party's own systems may use it too.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use ed25519_dalek::SigningKey;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth;
use crate::clock::Clock;
use crate::notification_entry;
use crate::sse::{SseMessage, SseParser};
pub use crate::tls::Trust;
use crate::wire::ErrorBody;
use crate::wire::{
    NotificationAccepted, NotificationCreate, NotificationIn, NotificationUpdate,
    NotificationWithdraw,
};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    #[error("HTTP: {0}")]
    Http(String),
    #[error(
        "HTTP {status} {}: {}{}",
        body.code,
        body.message,
        body.field.as_ref().map(|f| format!(" (field {f})")).unwrap_or_default()
    )]
    Status { status: u16, body: ErrorBody },
    #[error("unexpected response: {0}")]
    Decode(String),
    #[error("stream: {0}")]
    Stream(String),
}

/// One party's connection to the service.
#[derive(Clone)]
pub struct PartyClient {
    base: String,
    party: String,
    key: Arc<SigningKey>,
    clock: Arc<dyn Clock>,
    /// The TLS configuration of connections made outside `http` (the track stream's WebSocket).
    tls: Arc<rustls::ClientConfig>,
    http: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for PartyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartyClient")
            .field("base", &self.base)
            .field("party", &self.party)
            .finish_non_exhaustive()
    }
}

impl PartyClient {
    /// `base` is `http://host:port` or `https://host:port` (a certificate the system's roots
    /// vouch for); `clock` gives the `created` time of signatures.
    pub fn new(base: &str, party: &str, key: SigningKey, clock: Arc<dyn Clock>) -> Self {
        let tls = if is_https(base) {
            crate::tls::client_config(&Trust::SystemRoots).ok()
        } else {
            None
        };
        Self::with_tls(base, party, key, clock, tls)
    }

    /// As [`PartyClient::new`], trusting `trust` for `https://` services (for instance only the
    /// CA that signed the service's certificate). Fails when the CA file cannot be read.
    pub fn with_trust(
        base: &str,
        party: &str,
        key: SigningKey,
        clock: Arc<dyn Clock>,
        trust: &Trust,
    ) -> Result<Self, crate::tls::TlsError> {
        let tls = crate::tls::client_config(trust)?;
        Ok(Self::with_tls(base, party, key, clock, Some(tls)))
    }

    fn with_tls(
        base: &str,
        party: &str,
        key: SigningKey,
        clock: Arc<dyn Clock>,
        tls: Option<rustls::ClientConfig>,
    ) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.enforce_http(false);
        // Without a TLS configuration (plain http:// only), one that trusts nobody: an
        // https:// URL then fails its handshake with "unknown issuer".
        let tls = tls.unwrap_or_else(|| {
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map(|b| {
                b.with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth()
            })
            .unwrap_or_else(|e| unreachable!("ring supports the default protocol versions: {e}"))
        });
        let mut ws_tls = tls.clone();
        ws_tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        PartyClient {
            base: base.trim_end_matches('/').to_string(),
            party: party.to_string(),
            key: Arc::new(key),
            clock,
            tls: Arc::new(ws_tls),
            http: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(16)
                .build(connector),
        }
    }

    /// The service's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn party(&self) -> &str {
        &self.party
    }

    /// The party's key: the client also signs what the party authors in the shared log
    /// (notifications, line messages, acknowledgements, lifecycle statements,
    /// countersignatures).
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The clock that dates the party's signatures.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The party's key, shared with what outlives a borrow of the client (a track stream).
    pub(crate) fn shared_key(&self) -> Arc<SigningKey> {
        Arc::clone(&self.key)
    }

    /// The TLS configuration for connections the client makes itself (`https://` bases).
    pub(crate) fn tls_config(&self) -> Arc<rustls::ClientConfig> {
        Arc::clone(&self.tls)
    }

    fn signed(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<Request<Full<Bytes>>, ClientError> {
        let headers = auth::sign_request(
            method,
            path,
            &body,
            &self.party,
            &self.key,
            self.clock.now_s(),
            &auth::new_nonce(),
        );
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base, path))
            .header("content-type", "application/json");
        for (name, value) in headers {
            req = req.header(name, value);
        }
        req.body(Full::new(Bytes::from(body)))
            .map_err(|e| ClientError::Http(e.to_string()))
    }

    /// Sends a signed request; returns the status and the body.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Bytes), ClientError> {
        let resp = self.request(self.signed(method, path, body)?).await?;
        let status = resp.status().as_u16();
        Ok((status, body_bytes(resp).await?))
    }

    /// Sends a built request; a failure to reach the service is an error naming it.
    async fn request(
        &self,
        req: Request<Full<Bytes>>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, ClientError> {
        self.http
            .request(req)
            .await
            .map_err(|e| request_error(&self.base, &e))
    }

    /// Sends a signed JSON request and decodes a 2xx JSON answer; a 4xx/5xx is an error
    /// carrying the error body.
    pub async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let bytes = match body {
            Some(b) => serde_json::to_vec(b).map_err(|e| ClientError::Decode(e.to_string()))?,
            None => Vec::new(),
        };
        let (status, resp) = self.send(method, path, bytes).await?;
        check_status(status, &resp)?;
        serde_json::from_slice(&resp).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Notifies operation `id`. The party signs the record's entry for its first revision
    /// itself, with salts derived from its key for the fields that `disclosed` (the party's
    /// `disclose_notification` from the agreement it signed) leaves undisclosed; the service
    /// checks and records that entry and keeps the openings. A caller that wants its own copy
    /// of the openings signs with [`crate::notification_entry::sign_notification`] and posts
    /// the request itself.
    pub async fn notification_create(
        &self,
        id: &str,
        notification: &NotificationIn,
        disclosed: &BTreeSet<String>,
    ) -> Result<NotificationAccepted, ClientError> {
        let e = self.sign_notification(id, 1, notification, disclosed)?;
        let body = NotificationCreate {
            id: id.to_string(),
            notification: notification.clone(),
            entry_time_ms: e.entry_time_ms,
            entry_salts: e.entry_salts,
            entry_signature: e.entry_signature,
            agreement_id: None,
        };
        self.call("POST", "/v1/notifications", Some(&body)).await
    }

    /// Replaces revision `revision` of notification `id` (signed as in
    /// [`Self::notification_create`]; the entry is revision `revision + 1`'s).
    pub async fn notification_update(
        &self,
        id: &str,
        revision: u64,
        notification: &NotificationIn,
        disclosed: &BTreeSet<String>,
    ) -> Result<NotificationAccepted, ClientError> {
        let e = self.sign_notification(id, revision.saturating_add(1), notification, disclosed)?;
        let body = NotificationUpdate {
            revision,
            notification: notification.clone(),
            entry_time_ms: e.entry_time_ms,
            entry_salts: e.entry_salts,
            entry_signature: e.entry_signature,
            agreement_id: None,
        };
        self.call("PUT", &format!("/v1/notifications/{id}"), Some(&body))
            .await
    }

    /// Withdraws notification `id` at `revision`, signing the withdrawal's log entry.
    pub async fn notification_withdraw(
        &self,
        id: &str,
        revision: u64,
    ) -> Result<NotificationAccepted, ClientError> {
        let entry_time_ms = self.clock.now_ms();
        let entry_signature =
            notification_entry::sign_withdrawal(&self.party, id, entry_time_ms, &self.key)
                .map_err(|e| ClientError::Decode(e.to_string()))?;
        let body = NotificationWithdraw {
            revision,
            entry_time_ms,
            entry_signature,
        };
        let path = format!("/v1/notifications/{id}/withdraw");
        self.call("POST", &path, Some(&body)).await
    }

    fn sign_notification(
        &self,
        id: &str,
        revision: u64,
        notification: &NotificationIn,
        disclosed: &BTreeSet<String>,
    ) -> Result<notification_entry::AuthoredNotificationEntry, ClientError> {
        notification_entry::sign_notification(
            &self.party,
            id,
            revision,
            notification,
            disclosed,
            self.clock.now_ms(),
            &self.key,
        )
        .map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// The log's key id and every key it knows (`GET /v1/log/keys`).
    pub async fn log_keys(&self) -> Result<crate::wire::log::LogKeys, ClientError> {
        self.call::<(), _>("GET", "/v1/log/keys", None).await
    }

    /// The latest signed tree head with the consistency proof from `since`
    /// (`GET /v1/log/tree-head`). Unchecked: give it to a [`deconflict_log::Monitor`].
    pub async fn log_tree_head(
        &self,
        since: u64,
    ) -> Result<deconflict_log::TreeHeadUpdate, ClientError> {
        let (status, body) = self
            .send(
                "GET",
                &format!("/v1/log/tree-head?since={since}"),
                Vec::new(),
            )
            .await?;
        check_status(status, &body)?;
        deconflict_log::TreeHeadUpdate::from_json(&body)
            .map_err(|e| ClientError::Decode(format!("tree head update: {e}")))
    }

    /// Entries `[start, end)` in their signed form (at most 1000 per call, fewer when the log
    /// is shorter). Signatures are not checked here.
    pub async fn log_entries(
        &self,
        start: u64,
        end: u64,
    ) -> Result<Vec<deconflict_log::SignedEntry>, ClientError> {
        #[derive(serde::Deserialize)]
        struct Page {
            entries: Vec<serde_json::Value>,
        }
        let page: Page = self
            .call::<(), _>(
                "GET",
                &format!("/v1/log/entries?start={start}&end={end}"),
                None,
            )
            .await?;
        page.entries
            .iter()
            .enumerate()
            .map(|(i, v)| {
                // serde_json writes object keys sorted and compact: the canonical form of a
                // log record, which `from_bytes` then checks exactly.
                let bytes =
                    serde_json::to_vec(v).map_err(|e| ClientError::Decode(e.to_string()))?;
                deconflict_log::SignedEntry::from_bytes(&bytes)
                    .map_err(|e| ClientError::Decode(format!("entry {}: {e}", start + i as u64)))
            })
            .collect()
    }

    /// Countersigns `tree_head` as this party (an entry signed with the party's key, dated by
    /// its clock) and posts it (`POST /v1/log/cosignatures`).
    pub async fn post_cosignature(
        &self,
        tree_head: &deconflict_log::TreeHead,
    ) -> Result<crate::wire::log::CosignatureAccepted, ClientError> {
        let party = deconflict_log::KeyId::new(self.party.as_str())
            .map_err(|e| ClientError::Decode(format!("party id: {e}")))?;
        let time_ms = u64::try_from(self.clock.now_ms()).unwrap_or(0);
        let entry = deconflict_log::Entry::cosignature(party, time_ms, tree_head.clone())
            .and_then(|e| deconflict_log::SignedEntry::sign(e, &self.key))
            .map_err(|e| ClientError::Decode(format!("countersignature: {e}")))?;
        let (status, body) = self
            .send("POST", "/v1/log/cosignatures", entry.as_bytes().to_vec())
            .await?;
        check_status(status, &body)?;
        serde_json::from_slice(&body).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Who countersigned which head (`GET /v1/log/cosignatures`).
    pub async fn log_cosignatures(
        &self,
        size: Option<u64>,
    ) -> Result<crate::wire::log::CosignatureList, ClientError> {
        let path = match size {
            Some(s) => format!("/v1/log/cosignatures?size={s}"),
            None => "/v1/log/cosignatures".to_string(),
        };
        self.call::<(), _>("GET", &path, None).await
    }

    /// The latest `limit` countersignatures (at most 1000) as the signed entries the log holds,
    /// with their indices. Signatures are not checked here.
    pub async fn log_cosignature_entries(
        &self,
        limit: usize,
    ) -> Result<Vec<(u64, deconflict_log::SignedEntry)>, ClientError> {
        let list: crate::wire::log::CosignatureList = self
            .call::<(), _>("GET", &format!("/v1/log/cosignatures?limit={limit}"), None)
            .await?;
        list.cosignatures
            .iter()
            .map(|c| {
                let bytes =
                    serde_json::to_vec(&c.entry).map_err(|e| ClientError::Decode(e.to_string()))?;
                let e = deconflict_log::SignedEntry::from_bytes(&bytes)
                    .map_err(|e| ClientError::Decode(format!("entry {}: {e}", c.index)))?;
                Ok((c.index, e))
            })
            .collect()
    }

    /// The consistency proof between two sizes (`GET /v1/log/consistency`). Unchecked.
    pub async fn log_consistency(
        &self,
        old: u64,
        new: u64,
    ) -> Result<deconflict_log::ConsistencyProof, ClientError> {
        self.call::<(), _>(
            "GET",
            &format!("/v1/log/consistency?old={old}&new={new}"),
            None,
        )
        .await
    }

    /// Opens the party's event stream after `after` (sent as `Last-Event-ID`).
    pub async fn stream(&self, after: Option<u64>) -> Result<EventStream, ClientError> {
        let mut req = self.signed("GET", "/v1/stream", Vec::new())?;
        if let Some(a) = after
            && let Ok(v) = a.to_string().parse()
        {
            req.headers_mut().insert("last-event-id", v);
        }
        let resp = self.request(req).await?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(status_error(status, &body_bytes(resp).await?));
        }
        Ok(EventStream {
            body: resp.into_body(),
            parser: SseParser::new(),
            pending: std::collections::VecDeque::new(),
        })
    }
}

pub(crate) fn is_https(base: &str) -> bool {
    base.get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

/// A failed request, with every cause in the chain (hyper's own message is only "client error
/// (Connect)") and a hint for the TLS failures a party is likely to meet.
pub(crate) fn request_error(base: &str, e: &(dyn std::error::Error + 'static)) -> ClientError {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    if text.contains("UnknownIssuer") || text.contains("unknown issuer") {
        text.push_str(
            " — the service's certificate is not signed by a trusted CA: pass the CA that signed \
             it with --ca-cert FILE",
        );
    } else if is_https(base)
        && (text.contains("InvalidContentType") || text.contains("corrupt message"))
    {
        text.push_str(" — the service does not speak TLS here: is it serving plain http://?");
    } else if text.contains("CaUsedAsEndEntity") {
        text.push_str(
            " — the service presents a CA certificate (CA:TRUE) as its own: serve a certificate \
             that CA signed, or a self-signed one without CA:TRUE",
        );
    } else if text.contains("NotValidForName") {
        text.push_str(" — the certificate does not name the host in the URL");
    } else if text.contains("invalid peer certificate") {
        text.push_str(
            " — the service's certificate was not accepted: if it is signed by your own CA (or is \
             self-signed), pass that certificate with --ca-cert FILE",
        );
    }
    ClientError::Http(text)
}

/// A 4xx/5xx answer as an error carrying its body.
fn check_status(status: u16, body: &[u8]) -> Result<(), ClientError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    Err(status_error(status, body))
}

/// The error of an answer with `status`: its error body, or the body as text when it is not one.
pub(crate) fn status_error(status: u16, body: &[u8]) -> ClientError {
    let body = serde_json::from_slice(body).unwrap_or(ErrorBody {
        code: "unknown".into(),
        message: String::from_utf8_lossy(body).into_owned(),
        field: None,
    });
    ClientError::Status { status, body }
}

/// The whole body of an answer.
async fn body_bytes(resp: hyper::Response<hyper::body::Incoming>) -> Result<Bytes, ClientError> {
    Ok(resp
        .into_body()
        .collect()
        .await
        .map_err(|e| ClientError::Http(e.to_string()))?
        .to_bytes())
}

/// An open event stream.
pub struct EventStream {
    body: hyper::body::Incoming,
    parser: SseParser,
    pending: std::collections::VecDeque<SseMessage>,
}

impl EventStream {
    /// The next event; `Ok(None)` when the server closed the stream.
    pub async fn next(&mut self) -> Result<Option<SseMessage>, ClientError> {
        loop {
            if let Some(m) = self.pending.pop_front() {
                return Ok(Some(m));
            }
            match self.body.frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(ClientError::Stream(e.to_string())),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        let msgs = self
                            .parser
                            .push(&data)
                            .map_err(|e| ClientError::Stream(e.to_string()))?;
                        self.pending.extend(msgs);
                    }
                }
            }
        }
    }
}
