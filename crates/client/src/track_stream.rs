//! The streaming track-report client: one WebSocket (`GET /v1/tracks/stream`, signed like every
//! request) carrying signed frames of report batches ([`crate::wire::frame`]), each answered in
//! order by a text message ([`FrameAnswer`]).
//!
//! The service reads at most
//! [`STREAM_FRAMES_AHEAD_MAX`](crate::wire::frame::STREAM_FRAMES_AHEAD_MAX) frames ahead of its
//! answers; a caller keeps its own window of unanswered frames, alternating
//! [`TrackStream::send`] and [`TrackStream::answer`] or sending up to a window before reading
//! answers.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use futures_util::{SinkExt as _, StreamExt as _};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::auth;
use crate::client::{ClientError, PartyClient, is_https, request_error, status_error};
use crate::wire::TrackReportIn;
use crate::wire::frame::{FRAME_PAYLOAD_BYTES_MAX, FrameAnswer, STREAM_PATH, encode_frame};

/// Largest message accepted from the service: its answers are one small JSON document each.
pub const ANSWER_BYTES_MAX: usize = 64 * 1024;

/// The byte stream under the WebSocket: plain TCP or TLS over TCP.
trait Transport: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Transport for T {}

/// An open track stream of one party: frames go out numbered from 1, answers come back in
/// frame order.
pub struct TrackStream {
    ws: WebSocketStream<Box<dyn Transport>>,
    key: Arc<SigningKey>,
    party: String,
    nonce: String,
    sent: u64,
}

impl std::fmt::Debug for TrackStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackStream")
            .field("party", &self.party)
            .field("nonce", &self.nonce)
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}

/// The batch document `{"reports": [...]}` over borrowed reports: serialises exactly as
/// [`crate::wire::TrackBatchIn`] without copying the reports.
#[derive(Serialize)]
struct BatchRef<'a> {
    reports: &'a [TrackReportIn],
}

impl TrackStream {
    /// Opens the party's track stream at `client`'s service (`ws://` for an `http://` base,
    /// `wss://` with the client's TLS trust for an `https://` one). The upgrade request is signed
    /// with a fresh nonce, which names the stream in every frame's signature.
    ///
    /// A refused upgrade is [`ClientError::Status`] with the service's error body; a service
    /// that cannot be reached is [`ClientError::Http`].
    pub async fn open(client: &PartyClient) -> Result<TrackStream, ClientError> {
        let base = client.base();
        let tls = is_https(base);
        let rest = if tls {
            base.get("https://".len()..)
        } else {
            base.get(..7)
                .filter(|s| s.eq_ignore_ascii_case("http://"))
                .and_then(|_| base.get(7..))
        };
        let Some(rest) = rest else {
            return Err(ClientError::Http(format!(
                "{base}: not an http:// or https:// URL"
            )));
        };
        let url = format!("{}://{rest}{STREAM_PATH}", if tls { "wss" } else { "ws" });
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| ClientError::Http(format!("{url}: {e}")))?;

        let nonce = auth::new_nonce();
        let key = client.shared_key();
        let headers = auth::sign_request(
            "GET",
            STREAM_PATH,
            b"",
            client.party(),
            &key,
            client.clock().now_s(),
            &nonce,
        );
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| ClientError::Http(format!("header {name}: {e}")))?;
            let value = HeaderValue::from_str(&value)
                .map_err(|e| ClientError::Http(format!("header {name}: {e}")))?;
            request.headers_mut().insert(name, value);
        }

        let uri = request.uri();
        let host = uri
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string())
            .ok_or_else(|| ClientError::Http(format!("{url}: no host")))?;
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| request_error(base, &e))?;
        tcp.set_nodelay(true).map_err(|e| request_error(base, &e))?;
        let transport: Box<dyn Transport> = if tls {
            let name = rustls_pki_types::ServerName::try_from(host.clone())
                .map_err(|e| ClientError::Http(format!("{url}: {host}: {e}")))?;
            let stream = tokio_rustls::TlsConnector::from(client.tls_config())
                .connect(name, tcp)
                .await
                .map_err(|e| request_error(base, &e))?;
            Box::new(stream)
        } else {
            Box::new(tcp)
        };

        let config = WebSocketConfig::default()
            .max_message_size(Some(ANSWER_BYTES_MAX))
            .max_frame_size(Some(ANSWER_BYTES_MAX));
        let (ws, _response) =
            tokio_tungstenite::client_async_with_config(request, transport, Some(config))
                .await
                .map_err(|e| match e {
                    WsError::Http(response) => {
                        let body = response.body().as_deref().unwrap_or_default();
                        // The body arrives with the head; keep only what its length declares.
                        let declared = response
                            .headers()
                            .get("content-length")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.trim().parse::<usize>().ok());
                        let body = match declared {
                            Some(n) => body.get(..n).unwrap_or(body),
                            None => body,
                        };
                        status_error(response.status().as_u16(), body)
                    }
                    e => request_error(base, &e),
                })?;
        Ok(TrackStream {
            ws,
            key,
            party: client.party().to_string(),
            nonce,
            sent: 0,
        })
    }

    /// Sends `reports` as the next frame (the document `{"reports": [...]}`, the batch
    /// endpoint's); returns its number.
    pub async fn send(&mut self, reports: &[TrackReportIn]) -> Result<u64, ClientError> {
        let payload = serde_json::to_vec(&BatchRef { reports })
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        self.send_payload(&payload).await
    }

    /// Sends `payload` (a JSON batch document) as the next frame; returns its number. A payload
    /// over [`FRAME_PAYLOAD_BYTES_MAX`] bytes is refused here and nothing is sent.
    pub async fn send_payload(&mut self, payload: &[u8]) -> Result<u64, ClientError> {
        if payload.len() > FRAME_PAYLOAD_BYTES_MAX {
            return Err(ClientError::Stream(format!(
                "frame payload of {} bytes is over the limit of {FRAME_PAYLOAD_BYTES_MAX}; \
                 split the reports over several frames",
                payload.len()
            )));
        }
        let number = self
            .sent
            .checked_add(1)
            .ok_or_else(|| ClientError::Stream("frame numbers exhausted".into()))?;
        let frame = encode_frame(&self.key, &self.party, &self.nonce, number, payload);
        self.ws
            .send(Message::Binary(frame.into()))
            .await
            .map_err(|e| ClientError::Stream(e.to_string()))?;
        self.sent = number;
        Ok(number)
    }

    /// Sends `message` as it is, as one binary message, without framing or numbering it (the
    /// next frame's number is unchanged): for testing how the service refuses malformed frames.
    pub async fn send_raw(&mut self, message: Vec<u8>) -> Result<(), ClientError> {
        self.ws
            .send(Message::Binary(message.into()))
            .await
            .map_err(|e| ClientError::Stream(e.to_string()))
    }

    /// The service's next answer. A close of the stream, or its end, is
    /// [`ClientError::Stream`] `"closed: <code> <reason>"`; pings and pongs are skipped.
    pub async fn answer(&mut self) -> Result<FrameAnswer, ClientError> {
        loop {
            let message = match self.ws.next().await {
                None => {
                    return Err(ClientError::Stream(
                        "closed: 1006 the connection ended without a close frame".into(),
                    ));
                }
                Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => {
                    return Err(ClientError::Stream(
                        "closed: 1006 the connection was reset without a close frame".into(),
                    ));
                }
                Some(Err(e)) => return Err(ClientError::Stream(e.to_string())),
                Some(Ok(m)) => m,
            };
            match message {
                Message::Text(text) => {
                    return serde_json::from_str(text.as_str()).map_err(|e| {
                        ClientError::Decode(format!("answer {:?}: {e}", text.as_str()))
                    });
                }
                Message::Binary(bytes) => {
                    return Err(ClientError::Decode(format!(
                        "a binary message of {} bytes where an answer (text) was expected",
                        bytes.len()
                    )));
                }
                Message::Close(Some(frame)) => {
                    return Err(ClientError::Stream(format!(
                        "closed: {} {}",
                        u16::from(frame.code),
                        frame.reason.as_str()
                    )));
                }
                Message::Close(None) => {
                    return Err(ClientError::Stream("closed: 1005 no status code".into()));
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }

    /// Ends the stream with a normal close (1000). Answers not yet read are dropped.
    pub async fn close(mut self) -> Result<(), ClientError> {
        self.ws
            .close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            }))
            .await
            .map_err(|e| ClientError::Stream(e.to_string()))
    }

    /// The stream's nonce: the nonce of its signed upgrade request, which every frame's signature
    /// covers.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// How many frames were sent, which is also the number of the last one (0 before the first).
    pub fn sent(&self) -> u64 {
        self.sent
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use ed25519_dalek::VerifyingKey;
    use tokio::net::TcpListener;
    use tokio::task::JoinHandle;
    use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

    use super::*;
    use crate::ManualClock;
    use crate::wire::frame::{FRAME_PAYLOAD_BYTES_MAX, decode_frame};
    use crate::wire::{ErrorBody, TrackBatchIn};

    const PARTY: &str = "coalition";
    const NOW_MS: i64 = 1_700_000_000_000;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[3; 32])
    }

    fn report(id: &str) -> TrackReportIn {
        TrackReportIn {
            track_id: id.into(),
            time_unix_ms: NOW_MS,
            lat_deg: 52.0,
            lon_deg: 4.5,
            alt_m: 3000.0,
            track_deg: 90.0,
            ground_speed_mps: 120.0,
            vertical_rate_mps: 0.0,
            callsign: Some("KLM12".into()),
            aircraft_type: None,
            icao24: None,
            squawk: None,
        }
    }

    fn client(base: &str) -> PartyClient {
        PartyClient::new(base, PARTY, key(), Arc::new(ManualClock::new(NOW_MS)))
    }

    /// A WebSocket service for one connection on loopback: `serve` runs on the accepted
    /// stream. Returns the base URL and the task, whose panics are the test's failures.
    async fn service<F, Fut>(serve: F) -> (String, JoinHandle<()>)
    where
        F: FnOnce(WebSocketStream<TcpStream>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            serve(ws).await;
        });
        (base, task)
    }

    /// A service for one connection that refuses the upgrade with `status` and `body`.
    async fn refusing(status: u16, body: &'static str) -> (String, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            #[allow(
                clippy::result_large_err,
                reason = "the shape of tungstenite's handshake callback"
            )]
            let refuse = move |_: &Request, _: Response| -> Result<Response, ErrorResponse> {
                Err(Response::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .header("content-length", body.len())
                    .body(Some(body.to_string()))
                    .unwrap())
            };
            assert!(
                tokio_tungstenite::accept_hdr_async(tcp, refuse)
                    .await
                    .is_err()
            );
        });
        (base, task)
    }

    fn answer_text(answer: &FrameAnswer) -> Message {
        Message::text(serde_json::to_string(answer).unwrap())
    }

    /// The next binary message, skipping the client's pongs.
    async fn next_binary(ws: &mut WebSocketStream<TcpStream>) -> Vec<u8> {
        loop {
            match ws.next().await {
                Some(Ok(Message::Binary(b))) => return b.to_vec(),
                Some(Ok(Message::Pong(_))) => {}
                other => panic!("expected a binary message, got {other:?}"),
            }
        }
    }

    #[test]
    fn borrowed_batch_serialises_as_the_batch_document() {
        let reports = vec![report("a1"), report("a2")];
        let borrowed = serde_json::to_vec(&BatchRef { reports: &reports }).unwrap();
        let owned = serde_json::to_vec(&TrackBatchIn {
            reports: reports.clone(),
        })
        .unwrap();
        assert_eq!(borrowed, owned);
    }

    #[tokio::test]
    async fn upgrade_is_signed_and_frames_are_numbered_and_signed_for_the_stream() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen: Arc<Mutex<Option<auth::Verified>>> = Arc::default();
        let seen_in_service = Arc::clone(&seen);
        let service = tokio::spawn(async move {
            let seen_by_service = Arc::clone(&seen_in_service);
            let (tcp, _) = listener.accept().await.unwrap();
            #[allow(
                clippy::result_large_err,
                reason = "the shape of tungstenite's handshake callback"
            )]
            let check = move |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
                let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok());
                let parts = auth::RequestParts {
                    method: req.method().as_str(),
                    path: req.uri().path(),
                    query: req.uri().query(),
                    content_digest: header("content-digest"),
                    signature_input: header("signature-input"),
                    signature: header("signature"),
                };
                let verified = auth::verify(&parts, b"", NOW_MS / 1000, 0, |party| {
                    (party == PARTY).then(|| key().verifying_key())
                })
                .unwrap();
                *seen_by_service.lock().unwrap() = Some(verified);
                Ok(resp)
            };
            let mut ws = tokio_tungstenite::accept_hdr_async(tcp, check)
                .await
                .unwrap();
            let nonce = seen_by_service_of(&seen_in_service).nonce;
            let vk: VerifyingKey = key().verifying_key();
            for expected in 1..=3u64 {
                let bytes = next_binary(&mut ws).await;
                let frame = decode_frame(&bytes, FRAME_PAYLOAD_BYTES_MAX).unwrap();
                assert_eq!(frame.number, expected);
                frame.verify(&vk, PARTY, &nonce).unwrap();
                assert!(frame.verify(&vk, PARTY, "another-stream").is_err());
                let batch: TrackBatchIn = serde_json::from_slice(frame.payload).unwrap();
                ws.send(answer_text(&FrameAnswer::accepted(
                    frame.number,
                    batch.reports.len(),
                )))
                .await
                .unwrap();
            }
            assert!(matches!(ws.next().await, Some(Ok(Message::Close(_)))));
        });

        let client = client(&base);
        let mut stream = TrackStream::open(&client).await.unwrap();
        assert_eq!(stream.sent(), 0);
        assert_eq!(stream.send(&[report("a1"), report("a2")]).await.unwrap(), 1);
        assert_eq!(stream.answer().await.unwrap(), FrameAnswer::accepted(1, 2));
        // A window: two frames out before their answers are read.
        assert_eq!(stream.send(&[]).await.unwrap(), 2);
        assert_eq!(stream.send_payload(br#"{"reports":[]}"#).await.unwrap(), 3);
        assert_eq!(stream.sent(), 3);
        assert_eq!(stream.answer().await.unwrap(), FrameAnswer::accepted(2, 0));
        assert_eq!(stream.answer().await.unwrap(), FrameAnswer::accepted(3, 0));
        let upgrade = seen_by_service_of(&seen);
        assert_eq!(upgrade.party, PARTY);
        assert_eq!(upgrade.nonce, stream.nonce());
        stream.close().await.unwrap();
        service.await.unwrap();
    }

    fn seen_by_service_of(seen: &Mutex<Option<auth::Verified>>) -> auth::Verified {
        seen.lock().unwrap().clone().unwrap()
    }

    #[tokio::test]
    async fn each_stream_has_its_own_nonce() {
        let (base_a, a) = service(|_| async {}).await;
        let (base_b, b) = service(|_| async {}).await;
        let first = TrackStream::open(&client(&base_a)).await.unwrap();
        let second = TrackStream::open(&client(&base_b)).await.unwrap();
        assert_ne!(first.nonce(), second.nonce());
        a.await.unwrap();
        b.await.unwrap();
    }

    #[tokio::test]
    async fn refused_upgrade_is_a_status_error_with_the_service_body() {
        let (base, service) = refusing(
            401,
            r#"{"code":"signature_invalid","message":"the signature does not verify","field":"signature"}"#,
        )
        .await;
        let e = TrackStream::open(&client(&base)).await.unwrap_err();
        match e {
            ClientError::Status { status, body } => {
                assert_eq!(status, 401);
                assert_eq!(
                    body,
                    ErrorBody {
                        code: "signature_invalid".into(),
                        message: "the signature does not verify".into(),
                        field: Some("signature".into()),
                    }
                );
            }
            other => panic!("expected a status error, got {other:?}"),
        }
        service.await.unwrap();
    }

    #[tokio::test]
    async fn refused_upgrade_without_an_error_body_keeps_the_text() {
        let (base, service) = refusing(503, "overloaded").await;
        match TrackStream::open(&client(&base)).await.unwrap_err() {
            ClientError::Status { status, body } => {
                assert_eq!(status, 503);
                assert_eq!(body.code, "unknown");
                assert_eq!(body.message, "overloaded");
            }
            other => panic!("expected a status error, got {other:?}"),
        }
        service.await.unwrap();
    }

    #[tokio::test]
    async fn unreachable_service_is_an_http_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let e = TrackStream::open(&client(&base)).await.unwrap_err();
        assert!(matches!(e, ClientError::Http(_)), "{e}");
    }

    #[tokio::test]
    async fn a_base_that_is_not_http_is_refused() {
        let e = TrackStream::open(&client("ftp://127.0.0.1:1"))
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("not an http:// or https:// URL"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn error_answer_then_close_is_reported_with_code_and_reason() {
        let (base, service) = service(|mut ws| async move {
            let bytes = next_binary(&mut ws).await;
            assert_eq!(bytes, b"not a frame");
            let error = FrameAnswer::error(
                1,
                ErrorBody {
                    code: "frame_too_short".into(),
                    message: "short".into(),
                    field: None,
                },
            );
            ws.send(answer_text(&error)).await.unwrap();
            ws.close(Some(CloseFrame {
                code: CloseCode::Policy,
                reason: "frame_too_short".into(),
            }))
            .await
            .unwrap();
        })
        .await;
        let mut stream = TrackStream::open(&client(&base)).await.unwrap();
        stream.send_raw(b"not a frame".to_vec()).await.unwrap();
        assert_eq!(stream.sent(), 0);
        let answer = stream.answer().await.unwrap();
        assert_eq!(answer.frame, 1);
        assert_eq!(answer.error.unwrap().code, "frame_too_short");
        let e = stream.answer().await.unwrap_err();
        match e {
            ClientError::Stream(text) => assert_eq!(text, "closed: 1008 frame_too_short"),
            other => panic!("expected a closed stream, got {other:?}"),
        }
        service.await.unwrap();
    }

    #[tokio::test]
    async fn end_without_close_is_reported_as_closed() {
        let (base, service) = service(|ws| async move { drop(ws) }).await;
        let mut stream = TrackStream::open(&client(&base)).await.unwrap();
        service.await.unwrap();
        let e = stream.answer().await.unwrap_err();
        assert!(e.to_string().starts_with("stream: closed: 1006 "), "{e}");
    }

    #[tokio::test]
    async fn pings_are_skipped_and_refusals_keep_the_stream() {
        let (base, service) = service(|mut ws| async move {
            let _ = next_binary(&mut ws).await;
            ws.send(Message::Ping(b"hello".to_vec().into()))
                .await
                .unwrap();
            let refused = FrameAnswer::refused(
                1,
                ErrorBody {
                    code: "invalid_field".into(),
                    message: "latitude out of range".into(),
                    field: Some("reports[0].lat_deg".into()),
                },
            );
            ws.send(answer_text(&refused)).await.unwrap();
            // The client answers the ping with a pong before or after its next frame.
            let mut pong = false;
            loop {
                match ws.next().await {
                    Some(Ok(Message::Pong(p))) => {
                        assert_eq!(&p[..], b"hello");
                        pong = true;
                    }
                    Some(Ok(Message::Binary(_))) => {
                        ws.send(answer_text(&FrameAnswer::accepted(2, 1)))
                            .await
                            .unwrap();
                    }
                    Some(Ok(Message::Close(_))) | None => break,
                    other => panic!("unexpected {other:?}"),
                }
            }
            assert!(pong);
        })
        .await;
        let mut stream = TrackStream::open(&client(&base)).await.unwrap();
        stream.send(&[report("a1")]).await.unwrap();
        let answer = stream.answer().await.unwrap();
        assert_eq!(
            answer.refused.map(|b| b.field),
            Some(Some("reports[0].lat_deg".to_string()))
        );
        assert_eq!(stream.send(&[report("a1")]).await.unwrap(), 2);
        assert_eq!(stream.answer().await.unwrap(), FrameAnswer::accepted(2, 1));
        stream.close().await.unwrap();
        service.await.unwrap();
    }

    #[tokio::test]
    async fn a_text_answer_that_is_not_an_answer_is_a_decode_error() {
        let (base, service) = service(|mut ws| async move {
            ws.send(Message::text("{\"frame\": \"one\"}"))
                .await
                .unwrap();
            ws.send(Message::Binary(vec![1, 2, 3].into()))
                .await
                .unwrap();
            let _ = ws.next().await;
        })
        .await;
        let mut stream = TrackStream::open(&client(&base)).await.unwrap();
        assert!(matches!(stream.answer().await, Err(ClientError::Decode(_))));
        assert!(matches!(stream.answer().await, Err(ClientError::Decode(_))));
        stream.close().await.unwrap();
        service.await.unwrap();
    }

    #[tokio::test]
    async fn a_payload_over_the_limit_is_not_sent() {
        let (base, service) = service(|mut ws| async move {
            assert!(matches!(
                ws.next().await,
                Some(Ok(Message::Close(_))) | None
            ));
        })
        .await;
        let mut stream = TrackStream::open(&client(&base)).await.unwrap();
        let payload = vec![b' '; FRAME_PAYLOAD_BYTES_MAX + 1];
        let e = stream.send_payload(&payload).await.unwrap_err();
        assert!(e.to_string().contains("over the limit"), "{e}");
        assert_eq!(stream.sent(), 0);
        stream.close().await.unwrap();
        service.await.unwrap();
    }

    /// A TLS server configuration for `localhost` with a fresh self-signed certificate, and
    /// that certificate's PEM.
    fn self_signed_server() -> (String, rustls::ServerConfig) {
        let rcgen::CertifiedKey { cert, signing_key } =
            rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let server = rustls::ServerConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls_pki_types::PrivateKeyDer::Pkcs8(signing_key.serialize_der().into()),
            )
            .unwrap();
        (cert.pem(), server)
    }

    #[tokio::test]
    async fn wss_uses_the_clients_trust() {
        let dir = tempfile::tempdir().unwrap();
        let (pem, mut server) = self_signed_server();
        let ca = dir.path().join("self.pem");
        std::fs::write(&ca, pem).unwrap();
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let service = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let tls = acceptor.accept(tcp).await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tls).await.unwrap();
            let bytes = match ws.next().await {
                Some(Ok(Message::Binary(b))) => b,
                other => panic!("expected a frame, got {other:?}"),
            };
            let frame = decode_frame(&bytes, FRAME_PAYLOAD_BYTES_MAX).unwrap();
            ws.send(answer_text(&FrameAnswer::accepted(frame.number, 0)))
                .await
                .unwrap();
            let _ = ws.next().await;
        });
        let base = format!("https://localhost:{port}");
        let client = PartyClient::with_trust(
            &base,
            PARTY,
            key(),
            Arc::new(ManualClock::new(NOW_MS)),
            &crate::Trust::CaFile(ca),
        )
        .unwrap();
        let mut stream = TrackStream::open(&client).await.unwrap();
        assert_eq!(stream.send(&[]).await.unwrap(), 1);
        assert_eq!(stream.answer().await.unwrap(), FrameAnswer::accepted(1, 0));
        stream.close().await.unwrap();
        service.await.unwrap();
    }

    #[tokio::test]
    async fn wss_refuses_an_untrusted_certificate() {
        let (_, server) = self_signed_server();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let service = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            assert!(acceptor.accept(tcp).await.is_err());
        });
        // The system roots do not vouch for a fresh self-signed certificate.
        let client = client(&format!("https://localhost:{port}"));
        let e = TrackStream::open(&client).await.unwrap_err();
        assert!(matches!(e, ClientError::Http(_)), "{e}");
        assert!(e.to_string().to_lowercase().contains("issuer"), "{e}");
        service.await.unwrap();
    }
}
