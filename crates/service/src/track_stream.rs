//! `GET /v1/tracks/stream`: a party's reports as a long-lived WebSocket of signed frames, the
//! feed path sized for a whole picture refreshed every second.
//!
//! The upgrade request is signed as every request is; the nonce of its signature names the
//! stream (the nonce cache makes it single-use). Each binary message is one frame
//! ([`deconflict_client::wire::frame`], its one owner): a batch of reports signed by the
//! party's key for this stream and this frame number. So a frame replayed in another stream,
//! reordered, repeated or altered fails, and no frame is taken from anyone but the party.
//!
//! Two tasks per stream, joined by a bounded queue:
//! - the reader takes messages off the socket, holds each frame's bytes against the process's
//!   body budget (waiting while it is full), checks each frame (structure, number, signature)
//!   and parses its reports; at most [`STREAM_FRAMES_AHEAD_MAX`] frames are read and not yet
//!   answered, and then it stops reading, so TCP pushes back on the party;
//! - the answerer stores each frame's reports as one run ([`Pushed::Batch`]: all or none, as a
//!   batch, durable before the answer), hands them to the desk, and answers in frame order.
//!
//! A frame whose reports are refused (out of range, the agreement not in force) is answered
//! `refused` and the stream goes on; a frame whose integrity fails is answered `error` and the
//! stream is closed. Nothing is answered `accepted` before it is durable, so a party that
//! resends, on a new stream, every frame left unanswered loses nothing.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use crate::error::{ApiError, ErrorBody, parse_json};
use crate::limits::{BodyLimits, Held as BodyHeld};
use crate::state::{Pushed, State};
use deconflict_client::wire::TrackBatchIn;
use deconflict_client::wire::frame::{
    FRAME_BYTES_MIN, FRAME_PAYLOAD_BYTES_MAX, FrameAnswer, FrameError, STREAM_FRAMES_AHEAD_MAX,
    decode_frame,
};

/// The largest message a stream takes: a frame with the largest payload.
pub const STREAM_MESSAGE_BYTES_MAX: usize = FRAME_PAYLOAD_BYTES_MAX + FRAME_BYTES_MIN;
/// How far past [`STREAM_MESSAGE_BYTES_MAX`] the WebSocket still reads a message whole, so that
/// a frame a little too large is answered `frame_too_large` before the stream is closed. A
/// message longer still is refused by the WebSocket as it arrives: the connection ends.
pub const STREAM_MESSAGE_SLACK_BYTES: usize = 64 * 1024;
/// Track streams open at once, all parties together; one more is refused with 503
/// `too_many_streams`.
pub const TRACK_STREAMS_MAX: u64 = 64;
/// Track streams one party may hold open at once, so that one party cannot take every place;
/// one more is refused with 429 `too_many_streams`.
pub const TRACK_STREAMS_PER_PARTY_MAX: usize = 16;

/// WebSocket close codes (RFC 6455 §7.4.1).
const CLOSE_POLICY: u16 = 1008;
const CLOSE_TOO_BIG: u16 = 1009;
const CLOSE_GOING_AWAY: u16 = 1001;

/// A place for one stream of one party, held from the upgrade to the stream's end.
pub struct Held {
    state: Arc<State>,
    party: String,
}

impl Held {
    /// A place for one more stream of `party`: 429 when the party holds
    /// [`TRACK_STREAMS_PER_PARTY_MAX`], 503 when all [`TRACK_STREAMS_MAX`] are taken.
    pub fn take(state: &Arc<State>, party: &str) -> Result<Held, ApiError> {
        let mut mine = state
            .track_streams
            .lock()
            .map_err(|_| ApiError::internal("track streams lock poisoned"))?;
        let held = mine.entry(party.to_string()).or_default();
        if *held >= TRACK_STREAMS_PER_PARTY_MAX {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_streams",
                format!(
                    "{party} holds {TRACK_STREAMS_PER_PARTY_MAX} track streams open, the most one party may"
                ),
            ));
        }
        let open = &state.metrics.track_streams_open;
        if open.fetch_add(1, Ordering::AcqRel) >= TRACK_STREAMS_MAX {
            open.fetch_sub(1, Ordering::AcqRel);
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_streams",
                format!("{TRACK_STREAMS_MAX} track streams are open, the most this service takes"),
            ));
        }
        *held += 1;
        Ok(Held {
            state: state.clone(),
            party: party.to_string(),
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.state
            .metrics
            .track_streams_open
            .fetch_sub(1, Ordering::AcqRel);
        let mut mine = self
            .state
            .track_streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(held) = mine.get_mut(&self.party) {
            *held = held.saturating_sub(1);
        }
    }
}

/// Answers the upgrade and runs the stream of `party` named by `nonce` once upgraded.
pub fn upgrade(
    state: Arc<State>,
    party: String,
    nonce: String,
    ws: WebSocketUpgrade,
    held: Held,
    limits: BodyLimits,
) -> Response {
    ws.max_message_size(STREAM_MESSAGE_BYTES_MAX + STREAM_MESSAGE_SLACK_BYTES)
        .max_frame_size(STREAM_MESSAGE_BYTES_MAX + STREAM_MESSAGE_SLACK_BYTES)
        .on_upgrade(move |socket| async move {
            let _held = held;
            run(state, party, nonce, socket, limits).await;
        })
}

/// What the reader hands the answerer, in frame order.
enum Read {
    /// An intact frame: its reports, or why its payload is not a batch.
    Reports {
        number: u64,
        reports: Result<Vec<deconflict_client::wire::TrackReportIn>, ApiError>,
        /// The frame's bytes against the process's body budget, until it is answered.
        _bytes: BodyHeld,
    },
    /// A frame whose integrity failed: answered, then the stream is closed with `close`.
    Broken {
        number: u64,
        error: ErrorBody,
        close: u16,
    },
}

fn broken(number: u64, code: &str, message: String, close: u16) -> Read {
    Read::Broken {
        number,
        error: ErrorBody {
            code: code.to_string(),
            message,
            field: None,
        },
        close,
    }
}

async fn run(
    state: Arc<State>,
    party: String,
    nonce: String,
    socket: WebSocket,
    limits: BodyLimits,
) {
    let Some(key) = state.terms.party(&party).map(|p| p.key) else {
        return;
    };
    let (mut sink, source) = socket.split();
    // Frames read and not yet answered: one the answerer works on, one the reader holds while
    // the queue is full, and the queue's: STREAM_FRAMES_AHEAD_MAX in all.
    let (tx, mut rx) = mpsc::channel(STREAM_FRAMES_AHEAD_MAX - 2);
    let reader = tokio::spawn(read_frames(source, tx, key, party.clone(), nonce, limits));
    let mut shutdown = state.shutdown_signal();
    if *shutdown.borrow_and_update() {
        let _ = sink
            .send(close(CLOSE_GOING_AWAY, "the service is stopping"))
            .await;
        reader.abort();
        return;
    }
    loop {
        let item = tokio::select! {
            item = rx.recv() => item,
            changed = shutdown.changed() => {
                if changed.is_ok() && !*shutdown.borrow() {
                    continue;
                }
                let _ = sink.send(close(CLOSE_GOING_AWAY, "the service is stopping")).await;
                break;
            }
        };
        let Some(item) = item else {
            break;
        };
        let (answer, closing) = match item {
            Read::Reports {
                number, reports, ..
            } => {
                let outcome = match reports {
                    Ok(reports) => {
                        // The cycle goes first, as for a batch.
                        state.after_the_cycle().await;
                        state.push_reports(&party, reports, Pushed::Batch).await
                    }
                    Err(e) => Err(e),
                };
                let answer = match outcome {
                    Ok(a) => {
                        state.metrics.stream_frame("accepted");
                        FrameAnswer::accepted(number, a.accepted)
                    }
                    Err(e) => {
                        state.metrics.stream_frame("refused");
                        state.metrics.rejected(&e.body.code);
                        FrameAnswer::refused(number, e.body)
                    }
                };
                (answer, None)
            }
            Read::Broken {
                number,
                error,
                close,
            } => {
                state.metrics.stream_frame("broken");
                state.metrics.rejected(&error.code);
                let reason = error.code.clone();
                let answer = FrameAnswer::error(number, error);
                (answer, Some((close, reason)))
            }
        };
        // The answer is a plain struct of numbers and strings: writing it cannot fail.
        let text = serde_json::to_string(&answer).unwrap_or_default();
        if sink.send(Message::Text(text.into())).await.is_err() {
            break;
        }
        if let Some((code, reason)) = closing {
            let _ = sink.send(close(code, &reason)).await;
            break;
        }
    }
    reader.abort();
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.to_string().into(),
    }))
}

/// Reads frames off the socket until it ends, a frame breaks, or the answerer is gone.
async fn read_frames(
    mut source: futures_util::stream::SplitStream<WebSocket>,
    tx: mpsc::Sender<Read>,
    key: ed25519_dalek::VerifyingKey,
    party: String,
    nonce: String,
    limits: BodyLimits,
) {
    let mut expected = 1u64;
    while let Some(message) = source.next().await {
        let item = match message {
            Ok(Message::Binary(bytes)) => match limits.hold_frame(bytes.len() as u64).await {
                Ok(held) => check(&bytes, expected, &key, &party, &nonce, held),
                Err(e) => broken(
                    expected,
                    "busy",
                    format!("frame {expected}: {e}"),
                    CLOSE_TOO_BIG,
                ),
            },
            Ok(Message::Text(_)) => broken(
                expected,
                "frame_not_binary",
                format!("frame {expected} came as a text message; frames are binary messages"),
                CLOSE_POLICY,
            ),
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(Message::Close(_)) => break,
            // A broken connection, or a message past the slack (refused by the WebSocket as
            // it arrives): the connection is over.
            Err(_) => break,
        };
        let ends = matches!(item, Read::Broken { .. });
        if tx.send(item).await.is_err() || ends {
            break;
        }
        expected += 1;
    }
}

/// Checks one frame: its structure, that it is frame `expected`, its signature; then parses
/// its payload as a batch.
fn check(
    bytes: &[u8],
    expected: u64,
    key: &ed25519_dalek::VerifyingKey,
    party: &str,
    nonce: &str,
    held: BodyHeld,
) -> Read {
    let frame = match decode_frame(bytes, FRAME_PAYLOAD_BYTES_MAX) {
        Ok(f) => f,
        Err(e) => {
            let close = if matches!(e, FrameError::TooLarge { .. }) {
                CLOSE_TOO_BIG
            } else {
                CLOSE_POLICY
            };
            return broken(expected, e.code(), format!("frame {expected}: {e}"), close);
        }
    };
    if frame.number != expected {
        return broken(
            expected,
            "frame_out_of_order",
            format!(
                "frame {} came where frame {expected} was due (frames are numbered 1, 2, 3, ... in their stream)",
                frame.number
            ),
            CLOSE_POLICY,
        );
    }
    if let Err(e) = frame.verify(key, party, nonce) {
        return broken(expected, e.code(), e.to_string(), CLOSE_POLICY);
    }
    Read::Reports {
        number: expected,
        reports: parse_json::<TrackBatchIn>(frame.payload).map(|b| b.reports),
        _bytes: held,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame holds what a batch request may: the limits are the same numbers, kept in step.
    #[test]
    fn a_frame_is_bounded_as_a_batch_is() {
        assert_eq!(FRAME_PAYLOAD_BYTES_MAX, crate::limits::BODY_BYTES_MAX);
        assert_eq!(
            deconflict_store::RUN_REPORTS_MAX,
            deconflict_client::wire::REPORTS_PER_BATCH_MAX
        );
    }
}
