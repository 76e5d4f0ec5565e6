//! The HTTP API: routes, the authentication layer, handlers, the event stream.
//!
//! Every `/v1` route goes through [`authenticate`]: the RFC 9421 signature is verified against
//! the key of the party named by `keyid` (401 otherwise) before any body byte is read; the body
//! is then read up to [`BODY_BYTES_MAX`](crate::limits::BODY_BYTES_MAX) (413 beyond) within the
//! limits of [`crate::limits`] and checked against its RFC 9530 digest (401), the nonce is
//! recorded (401 on a replay), and the party's rate is checked (429). Handlers then see the
//! calling party and the exact bytes that were signed.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{Extension, Path, Request, State as AxState};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use futures_util::Stream;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody, parse_json};
use crate::limits::BODY_BYTES_MAX;
use crate::request::{
    Caller, LIST_DEFAULT, list_limit, no_body, param, query_u64, reject, run_as, the_log,
};
use crate::state::{ALERTS_LIST_MAX, Pushed, State};
use deconflict_client::auth::{self, RequestParts};
use deconflict_client::notification_entry::EntryIn;
use deconflict_client::wire::*;

type St = Arc<State>;

/// Events sent per store read while a stream catches up.
pub const STREAM_PAGE_EVENTS: usize = 256;
/// Most events returned by one `GET /v1/events`.
pub const EVENTS_LIST_MAX: usize = 1000;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "deconflict",
        description = "The deconfliction service between parties who share a sky.\n\n\
Authentication: every /v1 request is signed by the calling party with its Ed25519 key from the \
agreement, using HTTP Message Signatures (RFC 9421): `content-digest: sha-256=:…:` (RFC 9530) \
over the exact body, `signature-input: sig1=(\"@method\" \"@path\" \"@query\" \"content-digest\");\
created=<unix s>;keyid=\"<party id>\";nonce=\"<16-64 chars>\";alg=\"ed25519\"` and \
`signature: sig1=:…:`. `created` must be within 30 s before and 5 s after the service's clock; \
a nonce is accepted once. Errors: every 4xx/5xx carries `{code, message, field}`. Unknown \
fields in request bodies are refused (422). Units are SI; times are UNIX milliseconds.",
        license(name = "Apache-2.0")
    ),
    tags(
        (name = "service", description = "Unauthenticated: health, metrics, this description"),
        (name = "agreement", description = "The agreement's status and lifecycle"),
        (name = "notifications", description = "Where and when a party will operate, with the strategic check"),
        (name = "tracks", description = "A party's own aircraft"),
        (name = "alerts", description = "Alerts and the party's event stream"),
        (name = "line", description = "The deconfliction line: structured messages, acknowledgements, deadlines, escalation, link tests, conversations"),
        (name = "incidents", description = "Incidents before the working group: the evidence computed from the record, each party's signed account, the members' signed assessments"),
        (name = "log", description = "The shared log (RFC 9162 style): signed tree heads, proofs, entries; any party may read it"),
        (name = "console", description = "The duty officer's web console: one-time sign-in links")
    )
)]
struct ApiDoc;

/// The party's API: the `/v1` routes, before any authentication layer. Served signed at `/v1`
/// and, for a console session, at `/console/v1` ([`crate::console_api`]).
fn v1_routes() -> OpenApiRouter<St> {
    OpenApiRouter::new()
        .routes(routes!(get_agreement))
        .routes(routes!(agreement_action))
        .routes(routes!(list_notifications, create_notification))
        .routes(routes!(get_notification, update_notification))
        .routes(routes!(withdraw_notification))
        .routes(routes!(push_track, list_tracks))
        .routes(routes!(push_batch))
        .routes(routes!(track_stream))
        .routes(routes!(list_alerts))
        .routes(routes!(get_alert))
        .routes(routes!(list_events))
        .routes(routes!(stream))
        .routes(routes!(log_tree_head))
        .routes(routes!(log_inclusion))
        .routes(routes!(log_consistency))
        .routes(routes!(log_entries))
        .merge(crate::line_api::routes())
        .merge(crate::incidents_api::routes())
        .merge(crate::log_api::routes())
}

/// The router and its OpenAPI description.
pub fn router(state: St) -> (Router, utoipa::openapi::OpenApi) {
    let v1 = v1_routes()
        .merge(crate::console_api::signed_routes())
        .layer(middleware::from_fn_with_state(state.clone(), authenticate));
    let (console_v1, _) = v1_routes().split_for_parts();
    let console = Arc::new(crate::console_api::Console::default());
    let open = OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(metrics));
    let (router, mut api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(v1)
        .merge(open)
        .split_for_parts();
    api.info.version = env!("CARGO_PKG_VERSION").to_string();
    // utoipa's document is plain structs with string-keyed maps: writing it cannot fail.
    let doc = serde_json::to_string_pretty(&api).expect("the OpenAPI document serialises");
    let router = router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], doc) }
            }),
        )
        .merge(crate::console_api::routes(state.clone(), console_v1))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(Extension(console))
        // The handlers' body extractors take what `authenticate` read (at most
        // BODY_BYTES_MAX): the one body limit, not the framework's default of 2 MiB.
        .layer(axum::extract::DefaultBodyLimit::max(BODY_BYTES_MAX));
    (router, api)
}

/// The OpenAPI description as served, pretty-printed (the checked-in `openapi.json`).
pub fn openapi_json(state: St) -> String {
    let (_, api) = router(state);
    // As in `router`: plain structs with string-keyed maps, so writing cannot fail.
    serde_json::to_string_pretty(&api).expect("the OpenAPI document serialises")
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route {}", uri.path()),
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}

/// Verifies the signature, the digest, the nonce and the rate; see the module documentation.
/// The signed headers are checked before any body byte is read: a stranger cannot make the
/// service buffer a body ([`crate::limits`]).
pub async fn authenticate(AxState(state): AxState<St>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than {BODY_BYTES_MAX} bytes"),
        )
    };
    if declared.is_some_and(|n| n > BODY_BYTES_MAX as u64) {
        return reject(&state, too_large());
    }
    let auth_err = |e: auth::AuthError| {
        let status = match e {
            auth::AuthError::NonceCacheFull => StatusCode::TOO_MANY_REQUESTS,
            auth::AuthError::NonceNotRecorded(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        };
        ApiError::new(status, e.code(), e.to_string()).with_field(e.field())
    };
    let h = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let rp = RequestParts {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        content_digest: h("content-digest"),
        signature_input: h("signature-input"),
        signature: h("signature"),
    };
    let now_s = state.clock.now_s();
    let signed = match auth::verify_headers(&rp, now_s, state.started_s, |id| {
        state.terms.party(id).map(|p| p.key)
    }) {
        Ok(s) => s,
        Err(e) => return reject(&state, auth_err(e)),
    };
    let limits = parts
        .extensions
        .get::<crate::limits::BodyLimits>()
        .cloned()
        .unwrap_or_else(|| state.default_body_limits.clone());
    let (bytes, _held) = match crate::limits::read_body(body, &signed.digest, &limits).await {
        Ok(b) => b,
        Err(e) => {
            use crate::limits::BodyError;
            let err = match e {
                BodyError::TooLarge => too_large(),
                BodyError::DigestMismatch => auth_err(auth::AuthError::DigestMismatch),
                BodyError::Timeout(_) => {
                    ApiError::new(StatusCode::REQUEST_TIMEOUT, "body_timeout", e.to_string())
                }
                BodyError::OverBudget => {
                    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string())
                }
                BodyError::Read(_) => {
                    ApiError::new(StatusCode::BAD_REQUEST, "body_unreadable", e.to_string())
                }
            };
            let mut resp = reject(&state, err);
            if matches!(e, BodyError::Timeout(_) | BodyError::Read(_)) {
                // The rest of the body will not be read: end the connection with the answer.
                resp.headers_mut().insert(
                    header::CONNECTION,
                    header::HeaderValue::from_static("close"),
                );
            }
            return resp;
        }
    };
    let verified = {
        let v = signed.verified;
        let mut cache = state.nonces.lock().unwrap_or_else(|e| e.into_inner());
        let r = cache.check_and_insert(&v, now_s);
        state
            .metrics
            .nonces_held
            .store(cache.len() as u64, Ordering::Relaxed);
        r.map(|()| v)
    };
    let verified = match verified {
        Ok(v) => v,
        Err(e) => return reject(&state, auth_err(e)),
    };
    let mut parts = parts;
    parts
        .extensions
        .insert(crate::request::SignedNonce(verified.nonce));
    run_as(&state, verified.party, parts, bytes, next).await
}

type ApiResult<T> = Result<Json<T>, ApiError>;

fn path_id(
    p: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<String, ApiError> {
    let Path(id) = p.map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", e.body_text()).with_field("id")
    })?;
    if id.is_empty() || id.len() > ID_BYTES_MAX {
        return Err(
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", "bad id").with_field("id"),
        );
    }
    Ok(id)
}

/// Names a field of the nested notification by its full path in the request document.
fn in_notification(e: deconflict_client::wire::Invalid) -> ApiError {
    let mut e = ApiError::from(e);
    if let Some(f) = &e.body.field
        && f != "id"
        && !f.starts_with("notification")
    {
        e.body.field = Some(format!("notification.{f}"));
    }
    e
}

/// Health, for anyone: the service answers, the agreement's declared status, the last cycle.
/// Each party's reachability is shown to the parties only (`GET /v1/agreement`).
#[utoipa::path(get, path = "/health", tag = "service",
    responses((status = 200, description = "The service answers", body = PublicHealth)))]
async fn health(AxState(state): AxState<St>) -> Json<PublicHealth> {
    Json(state.health().into())
}

/// Prometheus metrics (text exposition format 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "Counters and gauges", body = String, content_type = "text/plain")))]
async fn metrics(AxState(state): AxState<St>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// The agreement: id, parties, declared status, the signed history (who signed what, when,
/// why), pending reactivation signatures, and — separately — the parties' measured
/// reachability.
#[utoipa::path(get, path = "/v1/agreement", tag = "agreement",
    responses((status = 200, body = AgreementView), (status = 401, body = ErrorBody)))]
async fn get_agreement(
    AxState(state): AxState<St>,
    Extension(_c): Extension<Caller>,
    body: Bytes,
) -> ApiResult<AgreementView> {
    no_body(&body)?;
    Ok(Json(state.agreement_view().await))
}

/// A party's signed lifecycle statement: `suspend` (any one party, with a reason),
/// `reactivate` (in force again once every party has signed the same conditions on the same
/// `basis_seq`), `terminate` (with a reason; final). The statement's party must be the caller;
/// its signature is checked with that party's key from the agreement; `basis_seq` must be the
/// current one (409 `stale_basis` otherwise, so an old statement cannot be replayed); the
/// party's signed log entry (`entry_signature`) is appended to the shared log unchanged.
#[utoipa::path(post, path = "/v1/agreement/actions", tag = "agreement",
    request_body = AgreementActionRequest,
    responses((status = 200, body = AgreementView),
        (status = 403, description = "the statement is another party's", body = ErrorBody),
        (status = 409, description = "not allowed now, stale basis_seq, already signed", body = ErrorBody),
        (status = 422, description = "bad statement, wrong agreement, bad signature", body = ErrorBody),
        (status = 401, body = ErrorBody)))]
async fn agreement_action(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> ApiResult<AgreementView> {
    let request: AgreementActionRequest = parse_json(&body)?;
    Ok(Json(state.lifecycle_action(&c.party, request).await?))
}

/// Every notification visible to the caller: its own in full, the others' disclosed fields.
#[utoipa::path(get, path = "/v1/notifications", tag = "notifications",
    responses((status = 200, body = Vec<NotificationView>), (status = 401, body = ErrorBody)))]
async fn list_notifications(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> ApiResult<Vec<NotificationView>> {
    no_body(&body)?;
    Ok(Json(state.notifications_for(&c.party).await?))
}

/// Creates a notification; the strategic check answers in the response, and every overlap is
/// flagged to both parties on their streams. The body carries the caller's own signature of
/// the notification's entry in the record (`entry_time_ms`, `entry_salts` for the fields the
/// agreement does not let it disclose, `entry_signature`): the service rebuilds that entry,
/// checks it with the caller's key and records it as signed. A retried create with the same
/// id and content answers 201 with the stored notification.
#[utoipa::path(post, path = "/v1/notifications", tag = "notifications",
    request_body = NotificationCreate,
    responses((status = 201, body = NotificationAccepted), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn create_notification(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Result<(StatusCode, Json<NotificationAccepted>), ApiError> {
    let req: NotificationCreate = parse_json(&body)?;
    same_agreement(&state, req.agreement_id.as_deref())?;
    req.validate().map_err(in_notification)?;
    let entry = EntryIn {
        time_ms: req.entry_time_ms,
        salts: req.entry_salts,
        signature: req.entry_signature,
    };
    let r = state
        .write_notification(&c.party, req.id, 0, Some(req.notification), entry)
        .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// A notification built under another agreement than the one in force here (the party's copy
/// is stale) is refused, naming both.
fn same_agreement(state: &State, given: Option<&str>) -> Result<(), ApiError> {
    match given {
        Some(id) if id != state.terms.id => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_agreement",
            format!(
                "the notification was built under agreement {id}, but this service holds                  agreement {}: the party's copy of the agreement is not the one in force",
                state.terms.id
            ),
        )
        .with_field("agreement_id")),
        _ => Ok(()),
    }
}

/// One notification, as the caller may see it.
#[utoipa::path(get, path = "/v1/notifications/{id}", tag = "notifications",
    params(("id" = String, Path, description = "Notification id")),
    responses((status = 200, body = NotificationView), (status = 404, body = ErrorBody)))]
async fn get_notification(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
    body: Bytes,
) -> ApiResult<NotificationView> {
    no_body(&body)?;
    Ok(Json(state.notification_for(&c.party, path_id(id)?).await?))
}

/// Replaces the caller's notification; `revision` must be the stored one. The caller signs
/// the entry of revision `revision + 1`, as for a create.
#[utoipa::path(put, path = "/v1/notifications/{id}", tag = "notifications",
    params(("id" = String, Path, description = "Notification id")),
    request_body = NotificationUpdate,
    responses((status = 200, body = NotificationAccepted), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_notification(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
    body: Bytes,
) -> ApiResult<NotificationAccepted> {
    let id = path_id(id)?;
    let req: NotificationUpdate = parse_json(&body)?;
    same_agreement(&state, req.agreement_id.as_deref())?;
    if req.revision == 0 {
        return Err(ApiError::invalid("revision", "revisions start at 1"));
    }
    req.notification.validate().map_err(in_notification)?;
    let entry = EntryIn {
        time_ms: req.entry_time_ms,
        salts: req.entry_salts,
        signature: req.entry_signature,
    };
    Ok(Json(
        state
            .write_notification(&c.party, id, req.revision, Some(req.notification), entry)
            .await?,
    ))
}

/// Withdraws the caller's notification at `revision`, with the caller's signature of the
/// withdrawal's entry in the record.
#[utoipa::path(post, path = "/v1/notifications/{id}/withdraw", tag = "notifications",
    params(("id" = String, Path, description = "Notification id")),
    request_body = NotificationWithdraw,
    responses((status = 200, body = NotificationAccepted), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn withdraw_notification(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
    body: Bytes,
) -> ApiResult<NotificationAccepted> {
    let id = path_id(id)?;
    let req: NotificationWithdraw = parse_json(&body)?;
    if req.revision == 0 {
        return Err(ApiError::invalid("revision", "revisions start at 1"));
    }
    let entry = EntryIn {
        time_ms: req.entry_time_ms,
        salts: Default::default(),
        signature: req.entry_signature,
    };
    Ok(Json(
        state
            .write_notification(&c.party, id, req.revision, None, entry)
            .await?,
    ))
}

/// One report of one of the caller's aircraft. Durable when answered.
#[utoipa::path(post, path = "/v1/tracks", tag = "tracks",
    request_body = TrackReportIn,
    responses((status = 200, body = TracksAccepted), (status = 422, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 413, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn push_track(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> ApiResult<TracksAccepted> {
    let r: TrackReportIn = parse_json(&body)?;
    Ok(Json(
        state.push_reports(&c.party, vec![r], Pushed::One).await?,
    ))
}

/// Up to 10,000 reports, accepted or refused as a whole. Durable when answered.
#[utoipa::path(post, path = "/v1/tracks/batch", tag = "tracks",
    request_body = TrackBatchIn,
    responses((status = 200, body = TracksAccepted), (status = 422, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn push_batch(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> ApiResult<TracksAccepted> {
    // The cycle goes first: the batch's parsing and checks wait while it runs.
    state.after_the_cycle().await;
    let b: TrackBatchIn = parse_json(&body)?;
    Ok(Json(
        state
            .push_reports(&c.party, b.reports, Pushed::Batch)
            .await?,
    ))
}

/// The caller's reports as a long-lived WebSocket of signed frames, each a batch bound to the
/// party's key, to this stream (the nonce of this request's signature) and to its place in
/// it; each answered once durable (`{"frame": n, "accepted": k}`), refused as a batch would
/// be (`refused`), or, when its integrity fails, answered with `error` and the stream closed.
/// The frame format and the answers: the README's "Track stream".
#[utoipa::path(get, path = "/v1/tracks/stream", tag = "tracks",
    responses((status = 101, description = "Switching to the WebSocket protocol: binary frames \
in, text answers (FrameAnswer) out"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 426, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
async fn track_stream(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    nonce: Option<Extension<crate::request::SignedNonce>>,
    body_limits: Option<Extension<crate::limits::BodyLimits>>,
    ws: Result<
        axum::extract::ws::WebSocketUpgrade,
        axum::extract::ws::rejection::WebSocketUpgradeRejection,
    >,
    body: Bytes,
) -> Result<Response, ApiError> {
    no_body(&body)?;
    let Some(Extension(nonce)) = nonce else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "signature_required",
            "a track stream is opened by a request signed with the party's key, whose nonce \
             names the stream; a console session cannot open one",
        ));
    };
    let ws = ws.map_err(|e| {
        ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            "upgrade_required",
            format!("the track stream is a WebSocket: {}", e.body_text()),
        )
    })?;
    let held = crate::track_stream::Held::take(&state, &c.party)?;
    let limits = body_limits
        .map(|Extension(l)| l)
        .unwrap_or_else(|| state.default_body_limits.clone());
    Ok(crate::track_stream::upgrade(
        state, c.party, nonce.0, ws, held, limits,
    ))
}

/// Live tracks: the caller's own in full, the others' disclosed fields only.
#[utoipa::path(get, path = "/v1/tracks", tag = "tracks",
    responses((status = 200, body = Vec<TrackView>), (status = 401, body = ErrorBody)))]
async fn list_tracks(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> ApiResult<Vec<TrackView>> {
    no_body(&body)?;
    Ok(Json(state.tracks_for(&c.party)))
}

/// The most recent alerts addressed to the caller, newest first.
#[utoipa::path(get, path = "/v1/alerts", tag = "alerts",
    params(("limit" = Option<u64>, Query, description = "At most this many (default 100, max 1000)")),
    responses((status = 200, body = Vec<AlertView>), (status = 400, body = ErrorBody)))]
async fn list_alerts(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    uri: Uri,
    body: Bytes,
) -> ApiResult<Vec<AlertView>> {
    no_body(&body)?;
    let q = query_u64(&uri, &["limit"])?;
    let limit = list_limit(&q, LIST_DEFAULT, ALERTS_LIST_MAX)?;
    Ok(Json(state.alerts_for(&c.party, limit).await?))
}

/// One alert addressed to the caller.
#[utoipa::path(get, path = "/v1/alerts/{id}", tag = "alerts",
    params(("id" = String, Path, description = "Alert id")),
    responses((status = 200, body = AlertView), (status = 404, body = ErrorBody)))]
async fn get_alert(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
    body: Bytes,
) -> ApiResult<AlertView> {
    no_body(&body)?;
    Ok(Json(state.alert_for(&c.party, path_id(id)?).await?))
}

/// A page of the caller's event stream after `after` (the same events as `/v1/stream`).
#[utoipa::path(get, path = "/v1/events", tag = "alerts",
    params(("after" = Option<u64>, Query, description = "Sequence number to start after (default 0)"),
        ("limit" = Option<u64>, Query, description = "At most this many (default 100, max 1000)")),
    responses((status = 200, body = Vec<EventView>), (status = 400, body = ErrorBody)))]
async fn list_events(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    uri: Uri,
    body: Bytes,
) -> ApiResult<Vec<EventView>> {
    no_body(&body)?;
    let q = query_u64(&uri, &["after", "limit"])?;
    // No `after`: from the start of the stream, as documented.
    let after = param(&q, "after").unwrap_or(0);
    let limit = list_limit(&q, LIST_DEFAULT, EVENTS_LIST_MAX)?;
    let events = state.events_after(&c.party, after, limit).await?;
    let views = events
        .into_iter()
        .map(|e| {
            // The service wrote every body as JSON; one that is not is a damaged store, not
            // an event whose data is `null`.
            let data = serde_json::from_str(&e.body).map_err(|err| {
                ApiError::internal(format!("stored event {}: body is not JSON: {err}", e.seq))
            })?;
            Ok(EventView {
                seq: e.seq,
                kind: e.kind,
                created_unix_ms: e.created_ms,
                data,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Json(views))
}

struct SubscriberGuard(St);

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        self.0
            .metrics
            .stream_subscribers
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// The caller's event stream (Server-Sent Events). Each event's `id` is its sequence number;
/// reconnect with `Last-Event-ID` (or `?after=`) to resume with nothing skipped or repeated.
/// Without either, the stream starts from the first event.
#[utoipa::path(get, path = "/v1/stream", tag = "alerts",
    params(("after" = Option<u64>, Query, description = "Resume after this sequence number"),
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this sequence number")),
    responses((status = 200, description = "text/event-stream of events: `id` = sequence number, \
`event` = kind (`alert`, `notification`, `agreement`), `data` = the JSON document", content_type = "text/event-stream"),
        (status = 400, body = ErrorBody)))]
async fn stream(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    no_body(&body)?;
    let q = query_u64(&uri, &["after"])?;
    let cursor = match headers.get("last-event-id") {
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_parameter",
                    "Last-Event-ID must be a sequence number",
                )
                .with_field("last-event-id")
            })?,
        None => param(&q, "after").unwrap_or(0),
    };
    let rx = state
        .subscribe(&c.party)
        .ok_or_else(|| ApiError::internal("no stream for this party"))?;
    let shutdown = state.shutdown_signal();
    state
        .metrics
        .stream_subscribers
        .fetch_add(1, Ordering::Relaxed);
    let guard = SubscriberGuard(state.clone());
    let init = (state, c.party, cursor, VecDeque::new(), rx, shutdown, guard);
    let s = futures_util::stream::unfold(
        init,
        |(state, party, mut cursor, mut buf, mut rx, mut shutdown, guard)| async move {
            loop {
                if *shutdown.borrow() {
                    return None;
                }
                if let Some(e) = buf.pop_front() {
                    let e: deconflict_store::Event = e;
                    cursor = e.seq;
                    let ev = SseEvent::default()
                        .id(e.seq.to_string())
                        .event(e.kind)
                        .data(e.body);
                    return Some((Ok(ev), (state, party, cursor, buf, rx, shutdown, guard)));
                }
                // Mark the current sequence as seen before reading, so that a commit after the
                // read wakes the wait below (no lost wake-up).
                rx.borrow_and_update();
                match state.events_after(&party, cursor, STREAM_PAGE_EVENTS).await {
                    Ok(events) if !events.is_empty() => {
                        buf.extend(events);
                        continue;
                    }
                    Ok(_) => {}
                    Err(_) => return None,
                }
                tokio::select! {
                    r = rx.changed() => if r.is_err() { return None },
                    _ = shutdown.changed() => return None,
                }
            }
        },
    );
    Ok(Sse::new(s).keep_alive(KeepAlive::default()))
}

// ---- the shared log ----------------------------------------------------------------------

fn log_err(e: deconflict_logfile::LogFileError) -> ApiError {
    match e {
        deconflict_logfile::LogFileError::Proof(p) => {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_parameter", p.to_string())
        }
        other => ApiError::internal(other.to_string()),
    }
}

/// What a log read that takes two required parameters and no body needs: the log and the two
/// values, in the order named.
fn log_query(
    state: &St,
    uri: &Uri,
    body: &Bytes,
    names: [&str; 2],
) -> Result<(Arc<crate::log_entries::ServiceLog>, u64, u64), ApiError> {
    no_body(body)?;
    let q = query_u64(uri, &names)?;
    let (a, b) = (required(&q, names[0])?, required(&q, names[1])?);
    Ok((the_log(state)?, a, b))
}

fn required(q: &[(String, u64)], name: &str) -> Result<u64, ApiError> {
    param(q, name).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            format!("{name} is required"),
        )
        .with_field(name)
    })
}

/// The latest signed tree head, with the consistency proof from the size the caller verified
/// last (`since`, 0 when none): the `TreeHeadUpdate` that `deconflict log check-head` checks.
#[utoipa::path(get, path = "/v1/log/tree-head", tag = "log",
    params(("since" = Option<u64>, Query, description = "Size of the tree head the caller verified last (default 0)")),
    responses((status = 200, description = "`{tree_head, consistency}`", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn log_tree_head(
    AxState(state): AxState<St>,
    Extension(_c): Extension<Caller>,
    uri: Uri,
    body: Bytes,
) -> Result<Json<deconflict_log::TreeHeadUpdate>, ApiError> {
    no_body(&body)?;
    let q = query_u64(&uri, &["since"])?;
    // No `since`: the proof from the empty tree, as documented.
    let since = param(&q, "since").unwrap_or(0);
    let log = the_log(&state)?;
    let head = log.log_file().latest_tree_head();
    let consistency = log
        .log_file()
        .consistency_proof(since, head.tree_head().size())
        .map_err(log_err)?;
    Ok(Json(deconflict_log::TreeHeadUpdate {
        tree_head: head,
        consistency,
    }))
}

/// The inclusion proof of entry `index` in the tree of `size`.
#[utoipa::path(get, path = "/v1/log/inclusion", tag = "log",
    params(("index" = u64, Query, description = "Entry index (0-based)"),
        ("size" = u64, Query, description = "Tree size, at most the latest tree head's")),
    responses((status = 200, description = "`{index, size, path}`", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn log_inclusion(
    AxState(state): AxState<St>,
    Extension(_c): Extension<Caller>,
    uri: Uri,
    body: Bytes,
) -> Result<Json<deconflict_log::InclusionProof>, ApiError> {
    let (log, index, size) = log_query(&state, &uri, &body, ["index", "size"])?;
    Ok(Json(
        log.log_file()
            .inclusion_proof(index, size)
            .map_err(log_err)?,
    ))
}

/// The consistency proof from the tree of size `old` to the tree of size `new`.
#[utoipa::path(get, path = "/v1/log/consistency", tag = "log",
    params(("old" = u64, Query, description = "Older tree size"),
        ("new" = u64, Query, description = "Newer tree size, at most the latest tree head's")),
    responses((status = 200, description = "`{old_size, new_size, path}`", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn log_consistency(
    AxState(state): AxState<St>,
    Extension(_c): Extension<Caller>,
    uri: Uri,
    body: Bytes,
) -> Result<Json<deconflict_log::ConsistencyProof>, ApiError> {
    let (log, old, new) = log_query(&state, &uri, &body, ["old", "new"])?;
    Ok(Json(
        log.log_file()
            .consistency_proof(old, new)
            .map_err(log_err)?,
    ))
}

/// Entries `[start, end)`, at most 1000 (the rest by asking again from where this ended), each
/// in its signed canonical form.
#[utoipa::path(get, path = "/v1/log/entries", tag = "log",
    params(("start" = u64, Query, description = "First index"),
        ("end" = u64, Query, description = "One past the last index")),
    responses((status = 200, description = "`{start, entries: [signed entry, …]}`", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn log_entries(
    AxState(state): AxState<St>,
    Extension(_c): Extension<Caller>,
    uri: Uri,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (log, start, end) = log_query(&state, &uri, &body, ["start", "end"])?;
    let entries = tokio::task::spawn_blocking(move || log.log_file().entries(start, end))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(log_err)?;
    // Every entry in the log file was written as canonical JSON; one that does not read is a
    // damaged log, not an entry to show as `null`.
    let list = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            serde_json::from_slice(e.as_bytes()).map_err(|err| {
                ApiError::internal(format!("log entry {}: not JSON: {err}", start + i as u64))
            })
        })
        .collect::<Result<Vec<serde_json::Value>, ApiError>>()?;
    Ok(Json(serde_json::json!({ "start": start, "entries": list })))
}
