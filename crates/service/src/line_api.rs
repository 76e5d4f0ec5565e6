//! The line's HTTP handlers under `/v1/line` (the caller is the party that signed the request),
//! and the line's turn in the service's cycle: [`apply`] is every write to the line
//! ([`crate::line::LineState`]), [`after_cycle`] what each cycle brings it.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State as AxState};
use axum::http::{StatusCode, Uri};
use deconflict_line::{
    Body, CoordFormat, Event, Language, Line, LineError, Message, MessageId, MessageKind,
    OfficerName, PartyId, ReaderProfile, Subject, SubjectId, SubjectKind, Timestamp, UtcOffset,
};
use deconflict_log::SignedEntry;
use deconflict_store::Alert;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody, body_within};
use crate::line::{
    CATCH_UP_AGE_MS_MAX, CATCH_UP_ALERTS_MAX, alert_thread, conflict_messages,
    log_entry_for_message, service_messages, skew, view,
};
use crate::request::{Caller, no_body, party_key};
use crate::state::State;
use deconflict_client::line_entry as log_entry;
use deconflict_client::wire::LinkTestReachability;
use deconflict_client::wire::line::*;

type St = Arc<State>;
type PathRejection = axum::extract::rejection::PathRejection;

/// The line's `/v1` routes (authenticated by the caller's layer).
pub fn routes() -> OpenApiRouter<St> {
    OpenApiRouter::new()
        .routes(routes!(send_message))
        .routes(routes!(get_message))
        .routes(routes!(ack_message))
        .routes(routes!(pending))
        .routes(routes!(conversations))
        .routes(routes!(conversation))
        .routes(routes!(reachability))
}

/// Applies `input` to a copy of the line at the service's now, records `input`'s log
/// entries, commits the new log entries and stream events together, then swaps the copy in.
/// On any error nothing changes.
pub(crate) async fn apply<T>(
    state: &Arc<State>,
    now_ms: i64,
    input: impl FnOnce(&mut Line, Timestamp) -> Result<(T, Vec<SignedEntry>), ApiError>,
) -> Result<T, ApiError> {
    let mut write = state.line.begin_write().await?;
    let now = Timestamp::from_unix_ms(now_ms.max(0))
        .map_err(|e| ApiError::internal(format!("clock: {e}")))?;
    let (out, entries) = input(&mut write.line, now)?;
    let (writes, effects, delivered) = write.staged(&state.terms, now_ms)?;
    // The entries durable in the record first, then the log entries bound to them.
    if !entries.is_empty() || !writes.is_empty() {
        state.commit_authored(entries, Vec::new(), writes).await?;
    }
    let (counters, pending) = write.finish()?;
    state.metrics.line_effects(&effects, delivered);
    state.metrics.line_state(
        counters.effects_dropped,
        pending,
        counters.link_tests_skipped,
    );
    Ok(out)
}

/// Called after every cycle's alerts are committed: opens a conversation on both sides for
/// each new conflict, continues it when the conflict's level changes (and, once after a start,
/// does both for stored alerts a crash left without their messages),
/// then lets deadlines and link tests fall due.
pub(crate) async fn after_cycle(
    state: &Arc<State>,
    alerts: &[Alert],
    now_ms: i64,
) -> Result<(), ApiError> {
    let mut alerts = alerts.to_vec();
    if !state.line.caught_up() {
        for p in &state.terms.parties {
            let party = p.id.clone();
            let stored = state
                .with_store(move |s| s.alerts_for(&party, CATCH_UP_ALERTS_MAX))
                .await??;
            alerts.extend(stored.into_iter().filter(|a| {
                alert_thread(a).is_some()
                    && now_ms.saturating_sub(a.created_ms) <= CATCH_UP_AGE_MS_MAX
            }));
        }
    }
    let mut messages: Vec<Message> = Vec::new();
    for a in &alerts {
        match conflict_messages(a, &state.terms) {
            Some(m) => messages.extend(m),
            None if alert_thread(a).is_some() => {
                tracing::warn!(alert = %a.id, "alert without both tracks' figures: no line message");
            }
            None => {}
        }
    }
    // Most cycles have nothing for the line: no copy, no commit.
    let due = state
        .line
        .read(|line| line.poll_timeout())?
        .is_some_and(|t| t.unix_ms() <= now_ms);
    if messages.is_empty() && !due {
        state.line.mark_caught_up();
        return Ok(());
    }
    let log = state.log().cloned();
    apply(state, now_ms, |line, now| {
        let before = line.messages().count();
        for m in messages {
            let id = m.id().clone();
            // A conversation opened before (a repeat after a restart) is left as it is.
            if let Err(e) = line.handle(Event::Send { message: m }, now) {
                tracing::warn!(message = %id, error = %e, "conflict alert not put on the line");
            }
        }
        line.handle_timeout(now);
        // What the service put on the line (conflict alerts; link tests, which the line
        // generates from its schedule) enters the record signed by the service's key.
        let mut entries = Vec::new();
        if let Some(log) = &log {
            for m in service_messages(line, before) {
                let entry = log_entry_for_message(&m)
                    .map_err(|e| ApiError::internal(format!("line record entry: {e}")))?;
                entries.push(
                    log.sign_own(entry)
                        .map_err(|e| ApiError::internal(format!("line record entry: {e}")))?,
                );
            }
        }
        Ok(((), entries))
    })
    .await?;
    state.line.mark_caught_up();
    Ok(())
}

fn path_param<T>(p: Result<Path<T>, PathRejection>) -> Result<T, ApiError> {
    p.map(|Path(v)| v).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", e.body_text()).with_field("id")
    })
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found("line message", id)
}

/// The request's JSON; an unknown message type is named as `message.body.type`.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    crate::error::parse_json(body).map_err(|mut e| {
        if e.body.message.starts_with("unknown variant")
            && e.body.field.as_deref() == Some("message.body")
        {
            e.body.code = "unknown_message_type".into();
            e.body.field = Some("message.body.type".into());
        }
        e
    })
}

fn line_error(e: LineError) -> ApiError {
    let msg = e.to_string();
    match e {
        LineError::UnknownParty { .. } => ApiError::invalid("message.to", msg),
        LineError::UnknownMessage { message_id } => not_found(message_id.as_str()),
        LineError::IdTaken { .. } => {
            ApiError::new(StatusCode::CONFLICT, "id_taken", msg).with_field("message.id")
        }
        LineError::WrongParty { .. } => ApiError::new(StatusCode::FORBIDDEN, "not_recipient", msg),
        LineError::UnknownOfficer { .. } => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_officer", msg)
                .with_field("officer")
        }
        LineError::AlreadyAcknowledged { .. } => {
            ApiError::new(StatusCode::CONFLICT, "already_acknowledged", msg)
        }
        LineError::AckNotRequired { .. } => {
            ApiError::new(StatusCode::CONFLICT, "ack_not_required", msg)
        }
        LineError::Full => ApiError::new(StatusCode::INSUFFICIENT_STORAGE, "line_full", msg),
        _ => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "line_refused", msg),
    }
}

fn entry_error(e: log_entry::LogEntryError) -> ApiError {
    let code = match e {
        log_entry::LogEntryError::Entry(_) => "invalid_field",
        _ => "entry_signature_invalid",
    };
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, e.to_string()).with_field(
        if code == "invalid_field" {
            "message"
        } else {
            "entry_signature"
        },
    )
}

fn counted<T>(state: &State, r: Result<T, ApiError>) -> Result<T, ApiError> {
    if let Err(e) = &r {
        state.metrics.line_refused(&e.body.code);
    }
    r
}

/// Sends a line message. The body carries the message in its catalogue JSON form (`from` must
/// be the caller) and the caller's signature of its log entry. 201 when accepted; 200 with
/// `duplicate: true` when the identical message was accepted before (a retry changes
/// nothing). Acknowledgements have their own route; link tests and conflict alerts come from
/// the service.
#[utoipa::path(post, path = "/v1/line/messages", tag = "line",
    request_body = LineSend,
    responses((status = 201, body = LineAccepted), (status = 200, body = LineAccepted,
        description = "The identical message was accepted before"),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn send_message(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Result<(StatusCode, Json<LineAccepted>), ApiError> {
    let r = send(&state, &c.party, &body).await;
    counted(&state, r).map(|a| {
        let status = if a.duplicate {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        (status, Json(a))
    })
}

/// Largest `POST /v1/line/messages` body: one message at its largest, its signature and
/// room for the JSON around them.
pub const SEND_BYTES_MAX: usize = deconflict_line::message::MESSAGE_BYTES_MAX + 4096;

async fn send(state: &St, caller: &str, body: &[u8]) -> Result<LineAccepted, ApiError> {
    body_within(body, SEND_BYTES_MAX, "a line message request")?;
    line_open(state.status())?;
    let req: LineSend = parse(body)?;
    let m = req.message;
    if m.from().as_str() != caller {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_author",
            format!(
                "message.from is {}, but the request is signed by {caller}",
                m.from()
            ),
        )
        .with_field("message.from"));
    }
    if state.terms.party(m.to().as_str()).is_none() {
        return Err(ApiError::invalid(
            "message.to",
            format!("{} is not a party to the agreement", m.to()),
        ));
    }
    match m.kind() {
        MessageKind::Acknowledgement => {
            return Err(ApiError::invalid(
                "message.body.type",
                "acknowledge with POST /v1/line/messages/{id}/ack",
            ));
        }
        MessageKind::LinkTest | MessageKind::ConflictAlert => {
            return Err(ApiError::invalid(
                "message.body.type",
                format!("{} messages are sent by the service only", m.kind()),
            ));
        }
        _ => {}
    }
    let key = party_key(state, caller)?;
    let entry = log_entry::log_entry_for_message(&m).map_err(entry_error)?;
    let signed = log_entry::signed_entry(entry, &req.entry_signature, &key).map_err(entry_error)?;
    let now_ms = state.clock.now_ms();
    apply(state, now_ms, move |line, now| {
        let id = m.id().clone();
        if line.get(&id).is_none() {
            skew("message.sent_at_ms", m.sent_at().unix_ms(), now.unix_ms())?;
        }
        let accepted = line
            .handle(Event::Send { message: m }, now)
            .map_err(line_error)?;
        let t = line.get(&id).ok_or_else(|| not_found(id.as_str()))?;
        let answer = LineAccepted {
            message_id: id.to_string(),
            accepted_unix_ms: t.received_at().unix_ms(),
            deadline_unix_ms: t.first_deadline_at().map(Timestamp::unix_ms),
            duplicate: accepted.duplicate,
        };
        Ok((answer, unless_duplicate(accepted.duplicate, signed)))
    })
    .await
}

/// The entries a send records: its signed entry, or none for a repeat the line counted once.
fn unless_duplicate<E>(duplicate: bool, signed: E) -> Vec<E> {
    if duplicate { Vec::new() } else { vec![signed] }
}

/// Whether the line takes a new message in the agreement's `status`. The line carries an
/// agreement that has entered into force: none while it is a draft, and none once it is
/// terminated; a suspended agreement keeps its line open, since that is when the parties most
/// need to talk. Acknowledgements of messages already on the line are taken in every status,
/// so nothing sent is left unanswerable.
fn line_open(status: deconflict_agreement::Status) -> Result<(), ApiError> {
    use deconflict_agreement::Status;
    let (code, why) = match status {
        Status::InForce | Status::Suspended => return Ok(()),
        Status::Draft => (
            "agreement_draft",
            "the agreement is still a draft: the line opens when every party has signed it",
        ),
        Status::Terminated => (
            "agreement_terminated",
            "the agreement is terminated: the line takes no new messages \
             (messages already on it can still be acknowledged)",
        ),
    };
    Err(ApiError::new(StatusCode::CONFLICT, code, why))
}

/// Acknowledges a message addressed to the caller, by a named duty officer of its roster.
/// The same officer's acknowledgement repeated (a retry) answers `duplicate: true` and counts
/// once; another acknowledgement of an acknowledged message is a 409.
#[utoipa::path(post, path = "/v1/line/messages/{id}/ack", tag = "line",
    params(("id" = String, Path, description = "Message id")),
    request_body = LineAck,
    responses((status = 200, body = LineAckResult), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn ack_message(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<LineAckResult>, ApiError> {
    let r = match path_param(id) {
        Ok(id) => acknowledge(&state, &c.party, &id, &body).await,
        Err(e) => Err(e),
    };
    counted(&state, r).map(Json)
}

async fn acknowledge(
    state: &St,
    caller: &str,
    id: &str,
    body: &[u8],
) -> Result<LineAckResult, ApiError> {
    let req: LineAck = parse(body)?;
    let mid = MessageId::new(id).map_err(|_| not_found(id))?;
    let officer = OfficerName::new(req.officer.as_str())
        .map_err(|e| ApiError::invalid("officer", e.to_string()))?;
    let time = Timestamp::from_unix_ms(req.time_unix_ms)
        .map_err(|e| ApiError::invalid("time_unix_ms", e.to_string()))?;
    let party = PartyId::new(caller).map_err(|e| ApiError::internal(e.to_string()))?;
    let key = party_key(state, caller)?;
    let entry = log_entry::log_entry_for_ack(caller, id, officer.as_str(), req.time_unix_ms)
        .map_err(entry_error)?;
    let signed = log_entry::signed_entry(entry, &req.entry_signature, &key).map_err(entry_error)?;
    let now_ms = state.clock.now_ms();
    apply(state, now_ms, move |line, now| {
        let target = line
            .get(&mid)
            .filter(|t| t.message().from() == &party || t.message().to() == &party)
            .ok_or_else(|| not_found(id))?;
        if target.message().to() != &party {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "not_recipient",
                format!(
                    "message {id} is addressed to {}; only its recipient acknowledges it",
                    target.message().to()
                ),
            ));
        }
        let ack_id = log_entry::ack_id(id, officer.as_str());
        if line.get(&ack_id).is_none() {
            skew("time_unix_ms", time.unix_ms(), now.unix_ms())?;
        }
        let ack = Message::new(
            ack_id,
            party.clone(),
            target.message().from().clone(),
            time,
            target.message().subject().clone(),
            Body::Acknowledgement {
                of: mid.clone(),
                officer,
            },
        )
        .map_err(|e| ApiError::invalid("officer", e.to_string()))?;
        let accepted = line
            .handle(Event::Send { message: ack }, now)
            .map_err(line_error)?;
        let t = line.get(&mid).ok_or_else(|| not_found(id))?;
        let a = t
            .ack()
            .ok_or_else(|| ApiError::internal("acknowledgement accepted but not recorded"))?;
        let answer = LineAckResult {
            message_id: id.to_string(),
            acknowledged_unix_ms: a.at.unix_ms(),
            late: a.late,
            escalations: t.level(),
            duplicate: accepted.duplicate,
        };
        Ok((answer, unless_duplicate(accepted.duplicate, signed)))
    })
    .await
}

/// One message the caller sent or received, and where it stands.
#[utoipa::path(get, path = "/v1/line/messages/{id}", tag = "line",
    params(("id" = String, Path, description = "Message id")),
    responses((status = 200, body = LineMessageView), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
async fn get_message(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<LineMessageView>, ApiError> {
    no_body(&body)?;
    let id = path_param(id)?;
    let mid = MessageId::new(id.as_str()).map_err(|_| not_found(&id))?;
    state
        .line
        .read(|line| {
            line.get(&mid)
                .filter(|t| involves(t.message(), &c.party))
                .map(view)
        })?
        .map(Json)
        .ok_or_else(|| not_found(&id))
}

fn involves(m: &Message, party: &str) -> bool {
    m.from().as_str() == party || m.to().as_str() == party
}

/// What the caller must acknowledge, what it waits for, and what is overdue on either side.
#[utoipa::path(get, path = "/v1/line/pending", tag = "line",
    responses((status = 200, body = LinePending), (status = 401, body = ErrorBody)))]
async fn pending(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Result<Json<LinePending>, ApiError> {
    no_body(&body)?;
    let party = PartyId::new(c.party.as_str()).map_err(|e| ApiError::internal(e.to_string()))?;
    let p = state.line.read(|line| LinePending {
        to_acknowledge: line.pending_for(&party).map(view).collect(),
        awaiting_others: line
            .messages()
            .filter(|t| t.message().from() == &party && t.is_pending())
            .map(view)
            .collect(),
        overdue: line.overdue_involving(&party).map(view).collect(),
    })?;
    Ok(Json(p))
}

/// The conversations (threads by subject) the caller takes part in, in order of their first
/// message.
#[utoipa::path(get, path = "/v1/line/conversations", tag = "line",
    responses((status = 200, body = Vec<ConversationSummary>), (status = 401, body = ErrorBody)))]
async fn conversations(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Result<Json<Vec<ConversationSummary>>, ApiError> {
    no_body(&body)?;
    let list = state.line.read(|line| {
        let mut out: Vec<(Subject, ConversationSummary)> = Vec::new();
        for t in line.messages().filter(|t| involves(t.message(), &c.party)) {
            let s = t.message().subject();
            let at = t.received_at().unix_ms();
            match out.iter_mut().find(|(k, _)| k == s) {
                Some((_, sum)) => {
                    sum.messages += 1;
                    sum.last_unix_ms = sum.last_unix_ms.max(at);
                }
                None => out.push((
                    s.clone(),
                    ConversationSummary {
                        subject_kind: s.kind.tag().to_string(),
                        subject_id: s.id.to_string(),
                        messages: 1,
                        last_unix_ms: at,
                    },
                )),
            }
        }
        out.into_iter().map(|(_, s)| s).collect()
    })?;
    Ok(Json(list))
}

/// The reader from `?lang=&utc_offset=&coords=`; the caller's agreement language, UTC and
/// decimal degrees by default. A bad value or an unknown parameter is a 400 naming it.
fn reader(uri: &Uri, default_lang: &str) -> Result<ReaderProfile, ApiError> {
    let default = ReaderProfile::new(
        Language::parse(default_lang).unwrap_or_else(|_| Language::english()),
        UtcOffset::UTC,
        CoordFormat::Decimal,
    );
    ReaderProfile::from_query(uri.query().unwrap_or(""), default).map_err(|e| {
        let code = if e.unknown {
            "unknown_parameter"
        } else {
            "invalid_parameter"
        };
        // An empty parameter name (`?=x`) or the whole string (too long) is named `query`.
        let field = if e.param.is_empty() {
            "query".to_string()
        } else {
            e.param.clone()
        };
        ApiError::new(StatusCode::BAD_REQUEST, code, e.to_string()).with_field(field)
    })
}

/// One conversation the caller takes part in, with its text rendered in the reader's
/// language (`lang` = `en` | `ru`), local time (`utc_offset` = `+03:00`) and coordinates
/// (`coords` = `decimal` | `dms`). Only the messages the caller sent or received are shown.
#[utoipa::path(get, path = "/v1/line/conversations/{kind}/{id}", tag = "line",
    params(("kind" = String, Path, description = "alert | notification | incident | link_test | general"),
        ("id" = String, Path, description = "Subject id"),
        ("lang" = Option<String>, Query, description = "en | ru (default: the caller's language)"),
        ("utc_offset" = Option<String>, Query, description = "e.g. +03:00 (default +00:00)"),
        ("coords" = Option<String>, Query, description = "decimal | dms (default decimal)")),
    responses((status = 200, body = ConversationView), (status = 404, body = ErrorBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn conversation(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    params: Result<Path<(String, String)>, PathRejection>,
    uri: Uri,
    body: Bytes,
) -> Result<Json<ConversationView>, ApiError> {
    no_body(&body)?;
    let (kind, id) = path_param(params)?;
    // The authentication layer found the caller in the agreement: a miss is the service's fault,
    // not a reader without a language.
    let default_lang = state
        .terms
        .party(&c.party)
        .map(|p| p.language.clone())
        .ok_or_else(|| ApiError::internal("the authenticated party is not in the agreement"))?;
    let reader = reader(&uri, &default_lang)?;
    let names = crate::line::config::party_names(&state.terms.agreement, reader.lang);
    let reader = reader.with_names(names);
    let missing = || ApiError::not_found("conversation", &format!("{kind}/{id}"));
    let subject_kind: SubjectKind =
        serde_json::from_value(serde_json::Value::String(kind.clone())).map_err(|_| missing())?;
    let subject = Subject::new(
        subject_kind,
        SubjectId::new(id.as_str()).map_err(|_| missing())?,
    );
    let (views, messages) = state.line.read(|line| {
        let tracked: Vec<_> = line
            .messages()
            .filter(|t| t.message().subject() == &subject && involves(t.message(), &c.party))
            .collect();
        (
            tracked.iter().map(|t| view(t)).collect::<Vec<_>>(),
            tracked
                .iter()
                .map(|t| t.message().clone())
                .collect::<Vec<_>>(),
        )
    })?;
    if messages.is_empty() {
        return Err(missing());
    }
    let text = deconflict_line::render::render_conversation(&reader, messages.iter());
    Ok(Json(ConversationView {
        subject_kind: kind,
        subject_id: id,
        lang: reader.lang.code().to_string(),
        messages: views,
        text,
    }))
}

/// Every party's answers to the scheduled link tests over the last week (measured
/// reachability, separate from the agreement's declared state).
#[utoipa::path(get, path = "/v1/line/reachability", tag = "line",
    responses((status = 200, body = Vec<LinkTestReachability>), (status = 401, body = ErrorBody)))]
async fn reachability(
    AxState(state): AxState<St>,
    Extension(_c): Extension<Caller>,
    body: Bytes,
) -> Result<Json<Vec<LinkTestReachability>>, ApiError> {
    no_body(&body)?;
    let now = state.clock.now_ms();
    Ok(Json(state.line.link_tests(&state.terms, now)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SEND: &str = r#"{"message":{"id":"coalition-1","from":"coalition","to":"russia","sent_at_ms":1491984000000,"subject":{"kind":"notification","id":"N-7"},"body":{"type":"free_text","written_in":"en","text":"Confirm."}},"entry_signature":"AAAA"}"#;
    const ACK: &str =
        r#"{"officer":"Petrov","time_unix_ms":1491984000000,"entry_signature":"AAAA"}"#;

    fn is_client_error(e: &ApiError) -> bool {
        e.status.is_client_error() && !e.body.code.is_empty() && !e.body.message.is_empty()
    }

    /// The line is open while the agreement is in force or suspended, closed to new messages
    /// while it is a draft or once it is terminated, each with its own code.
    #[test]
    fn the_line_is_open_in_force_and_suspended_only() {
        use deconflict_agreement::Status;
        assert!(line_open(Status::InForce).is_ok());
        assert!(line_open(Status::Suspended).is_ok());
        let code = |s| line_open(s).unwrap_err().body.code;
        assert_eq!(code(Status::Draft), "agreement_draft");
        assert_eq!(code(Status::Terminated), "agreement_terminated");
    }

    #[test]
    fn the_sample_bodies_parse() {
        parse::<LineSend>(SEND.as_bytes()).unwrap();
        parse::<LineAck>(ACK.as_bytes()).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any bytes: a value or a 4xx naming what is wrong, never a panic.
        #[test]
        fn request_bodies_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Err(e) = parse::<LineSend>(&bytes) {
                prop_assert!(is_client_error(&e));
            }
            if let Err(e) = parse::<LineAck>(&bytes) {
                prop_assert!(is_client_error(&e));
            }
        }

        /// Every strict prefix of a valid body is refused.
        #[test]
        fn truncated_bodies_are_refused(cut in 0usize..1000) {
            let send = &SEND.as_bytes()[..cut % SEND.len()];
            prop_assert!(parse::<LineSend>(send).is_err());
            let ack = &ACK.as_bytes()[..cut % ACK.len()];
            prop_assert!(parse::<LineAck>(ack).is_err());
        }

        /// Any query string: a reader, or a 400 naming the parameter.
        #[test]
        fn query_strings_never_panic(q in "[a-z_%+=&:0-9A-F.-]{0,64}") {
            let uri: Uri = format!("/v1/line/conversations/alert/a?{q}").parse().unwrap();
            match reader(&uri, "ru") {
                Ok(_) => {}
                Err(e) => {
                    prop_assert_eq!(e.status, StatusCode::BAD_REQUEST);
                    prop_assert!(e.body.field.is_some());
                }
            }
        }
    }

    #[test]
    fn the_reader_defaults_to_the_callers_language_and_utc() {
        let uri: Uri = "/x".parse().unwrap();
        let r = reader(&uri, "ru").unwrap();
        assert_eq!(r.lang.code(), "ru");
        assert_eq!(r.utc_offset, UtcOffset::UTC);
        let uri: Uri = "/x?lang=en&utc_offset=%2B03:00&coords=dms".parse().unwrap();
        let r = reader(&uri, "ru").unwrap();
        assert_eq!(r.lang.code(), "en");
        assert_eq!(r.utc_offset.minutes(), 180);
        assert_eq!(r.coordinates, CoordFormat::Dms);
    }
}
