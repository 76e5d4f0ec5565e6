//! The duty officer's console over HTTP: the page at `/`, its embedded assets, sign-in with a
//! one-time link, and the party's own API answered for a session.
//!
//! Sign-in: the party asks for a link with a signed request (`POST /v1/console/login-tokens`,
//! like every `/v1` request); opening the link (`GET /console/login?token=…`, valid
//! [`LOGIN_TOKEN_TTL_MS`], once) sets the session cookie: `HttpOnly`, `SameSite=Strict`,
//! `Secure` when served over HTTPS, at most [`SESSION_TTL_MS_MAX`]. `POST /console/logout`
//! revokes it on the service.
//!
//! The page's data: `/console/v1/…` is the very same router as `/v1/…` (the same handlers, the
//! same authorization by party and disclosure rules), with the session in place of the request
//! signature. The login-token route is not in it, so a session cannot extend itself.
//! Every state-changing request carries the session's CSRF token in [`CSRF_HEADER`] (read by
//! the page from `GET /console/session`, never from a cookie) and an `Origin` of this service.
//!
//! Log entries stay the party's own: the service builds the bytes an entry's signature
//! covers (`POST /console/entries/…`), the page signs them with the party's key, which it
//! reads from a file the officer picks and never sends, and the service checks that signature
//! against the agreement's key, as for any party.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Extension, Path, Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use base64::Engine as _;
use deconflict_console::session::{self, Session, SessionError, Sessions};
use deconflict_line::{Body as LineBody, Message, PartyId, Subject, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use deconflict_console::session::{LOGIN_TOKEN_TTL_MS, SESSION_TTL_MS_MAX};

pub use deconflict_client::wire::console::{LoginToken, LoginTokenRequest};

use crate::error::{ApiError, ErrorBody, parse_json};
use crate::limits::BODY_BYTES_MAX;
use crate::request::Caller;
use crate::state::State;

type St = Arc<State>;

/// The session cookie's name.
pub const COOKIE: &str = "deconflict_session";
/// The header that carries the session's CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The Content-Security-Policy of every console response: nothing inline, nothing from
/// elsewhere.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// A session's length when the sign-in request names none: a 12-hour shift.
pub const SESSION_TTL_MS_DEFAULT: i64 = SESSION_TTL_MS_MAX;

/// The console's sessions, shared by the routes of one service.
#[derive(Debug, Default)]
pub struct Console {
    sessions: Mutex<Sessions>,
}

/// Present on requests that arrived over TLS: the session cookie is then `Secure`.
#[derive(Debug, Clone, Copy)]
pub struct Https;

/// The session a console request was made in.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    pub id: String,
    pub session: Session,
}

fn random32() -> [u8; session::SECRET_BYTES] {
    use rand::RngCore as _;
    let mut b = [0u8; session::SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

fn session_error(e: SessionError) -> ApiError {
    let status = match e {
        SessionError::TokensFull | SessionError::SessionsFull => StatusCode::TOO_MANY_REQUESTS,
        SessionError::BadOfficer => StatusCode::UNPROCESSABLE_ENTITY,
        SessionError::BadToken | SessionError::NoSession => StatusCode::UNAUTHORIZED,
        _ => StatusCode::UNAUTHORIZED,
    };
    let err = ApiError::new(status, e.code(), e.to_string());
    if matches!(e, SessionError::BadOfficer) {
        err.with_field("officer")
    } else {
        err
    }
}

fn lock(c: &Console) -> Result<std::sync::MutexGuard<'_, Sessions>, ApiError> {
    c.sessions
        .lock()
        .map_err(|_| ApiError::internal("session table poisoned"))
}

// ---- the signed route: a party asks for a sign-in link --------------------------------------

/// The officer named in a sign-in request, checked against the party's roster, or the first
/// contact on duty now.
fn roster_officer(
    state: &State,
    party: &str,
    asked: Option<&str>,
    now_ms: i64,
) -> Result<String, ApiError> {
    let p = state
        .terms
        .agreement
        .parties()
        .iter()
        .find(|p| p.id().as_str() == party)
        .ok_or_else(|| ApiError::internal("caller is not a party"))?;
    let command = crate::line::config::command_of(p.name());
    match asked {
        Some(name) => {
            session::check_officer(name).map_err(session_error)?;
            if name == command || p.contacts().iter().any(|c| c.name() == name) {
                Ok(name.to_string())
            } else {
                Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unknown_officer",
                    format!("{name:?} is not on {party}'s duty roster"),
                )
                .with_field("officer"))
            }
        }
        None => {
            let second = (now_ms.div_euclid(1000)).rem_euclid(86_400) as u32;
            Ok(p.contacts_on_duty(second)
                .next()
                .map(|c| c.name().to_string())
                .unwrap_or(command))
        }
    }
}

/// A one-time link that signs the caller's duty officer in to the console: valid 60 s, used
/// once; the session it opens lasts at most 12 h.
#[utoipa::path(post, path = "/v1/console/login-tokens", tag = "console",
    request_body = LoginTokenRequest,
    responses((status = 200, body = LoginToken), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn create_login_token(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    Extension(console): Extension<Arc<Console>>,
    body: Bytes,
) -> Result<Json<LoginToken>, ApiError> {
    let req: LoginTokenRequest = if body.is_empty() {
        LoginTokenRequest::default()
    } else {
        parse_json(&body)?
    };
    let now = state.clock.now_ms();
    let officer = roster_officer(&state, &c.party, req.officer.as_deref(), now)?;
    let ttl = req.session_ttl_ms.unwrap_or(SESSION_TTL_MS_DEFAULT);
    if !(1..=SESSION_TTL_MS_MAX).contains(&ttl) {
        return Err(ApiError::invalid(
            "session_ttl_ms",
            format!("a session lasts 1 to {SESSION_TTL_MS_MAX} ms"),
        ));
    }
    let (token, expires) = lock(&console)?
        .issue_token(&c.party, &officer, ttl, random32(), now)
        .map_err(session_error)?;
    Ok(Json(LoginToken {
        path: format!("/console/login?token={token}"),
        expires_unix_ms: expires,
        party: c.party,
        officer,
    }))
}

pub(crate) fn signed_routes() -> OpenApiRouter<St> {
    OpenApiRouter::new().routes(routes!(create_login_token))
}

// ---- the page and its assets ----------------------------------------------------------------

fn secure_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
}

async fn with_secure_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    secure_headers(resp.headers_mut());
    resp
}

async fn index() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        deconflict_console::assets::INDEX_HTML,
    )
        .into_response()
}

async fn asset(Path(path): Path<String>) -> Response {
    match deconflict_console::assets::get(&path) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            a.bytes,
        )
            .into_response(),
        None => ApiError::not_found("console asset", &path).into_response(),
    }
}

fn html_page(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title>\
<link rel=\"stylesheet\" href=\"/console/assets/console.css\"></head>\
<body class=\"notice\"><h1>{title}</h1><p>{text}</p></body></html>"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn cookie_value(id: &str, max_age_s: i64, https: bool) -> String {
    let secure = if https { "; Secure" } else { "" };
    format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}")
}

/// Opens the link: redeems the token once and sets the session cookie.
async fn login(
    AxState(state): AxState<St>,
    Extension(console): Extension<Arc<Console>>,
    https: Option<Extension<Https>>,
    uri: Uri,
) -> Response {
    let token = uri
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .unwrap_or("");
    let now = state.clock.now_ms();
    let redeemed = match lock(&console) {
        Ok(mut s) => s.redeem(token, random32(), random32(), now),
        Err(e) => return e.into_response(),
    };
    match redeemed {
        Ok((id, s)) => {
            tracing::info!(party = %s.party, officer = %s.officer, "console session opened");
            let max_age = (s.expires_ms - now).div_euclid(1000).max(1);
            let cookie = cookie_value(&id, max_age, https.is_some());
            let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            resp
        }
        Err(e) => {
            state.metrics.rejected(e.code());
            html_page(
                StatusCode::UNAUTHORIZED,
                "Sign-in link refused / Ссылка для входа отклонена",
                "The link is unknown, already used, or expired: ask for a new one with \
`deconflict login`. / Ссылка неизвестна, уже использована или истекла: получите новую \
командой `deconflict login`.",
            )
        }
    }
}

// ---- session authentication -----------------------------------------------------------------

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

fn same_bytes(a: &str, b: &str) -> bool {
    use sha2::{Digest as _, Sha256};
    // Compared as digests: the time taken says nothing about how much of the token matched.
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

/// Whether `origin` names this service as the request reached it.
fn origin_matches(headers: &HeaderMap, https: bool) -> bool {
    let (Some(origin), Some(host)) = (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) else {
        return false;
    };
    let scheme = if https { "https" } else { "http" };
    origin == format!("{scheme}://{host}")
}

/// Why a console request was refused before reaching a handler.
fn refuse(state: &State, status: StatusCode, code: &str, message: &str) -> Response {
    state.metrics.rejected(code);
    ApiError::new(status, code, message.to_string()).into_response()
}

/// The session layer of `/console/…` data routes: a live session (401 otherwise); on a
/// state-changing request also the session's CSRF token and this service's `Origin` (403);
/// the party's request rate, as for signed requests.
async fn authenticate_session(
    AxState(state): AxState<St>,
    Extension(console): Extension<Arc<Console>>,
    https: Option<Extension<Https>>,
    req: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let now = state.clock.now_ms();
    let Some(id) = session_cookie(&parts.headers).map(str::to_string) else {
        return refuse(
            &state,
            StatusCode::UNAUTHORIZED,
            "no_session",
            "sign in first: no session cookie",
        );
    };
    let found = match lock(&console) {
        Ok(s) => s.get(&id, now).cloned(),
        Err(e) => return e.into_response(),
    };
    let session = match found {
        Ok(s) => s,
        Err(e) => return refuse(&state, StatusCode::UNAUTHORIZED, e.code(), &e.to_string()),
    };
    if !matches!(parts.method, Method::GET | Method::HEAD) {
        let token = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if token.is_empty() || !same_bytes(token, &session.csrf) {
            return refuse(
                &state,
                StatusCode::FORBIDDEN,
                "csrf_token_invalid",
                "a state-changing request must carry the session's x-csrf-token",
            );
        }
        if !origin_matches(&parts.headers, https.is_some()) {
            return refuse(
                &state,
                StatusCode::FORBIDDEN,
                "origin_refused",
                "a state-changing request must come from this service's own page",
            );
        }
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_BYTES_MAX as u64) {
        return refuse(
            &state,
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the body is too large",
        );
    }
    let Ok(bytes) = axum::body::to_bytes(body, BODY_BYTES_MAX).await else {
        return refuse(
            &state,
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the body is too large",
        );
    };
    let party = session.party.clone();
    parts.extensions.insert(ConsoleSession { id, session });
    crate::request::run_as(&state, party, parts, bytes, next).await
}

// ---- console-only routes (session) ----------------------------------------------------------

/// What the page needs to know about its own session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionView {
    pub party: String,
    pub party_name: String,
    pub officer: String,
    /// The party's language in the agreement (`en`, `ru`): the page's and the line's.
    pub lang: String,
    /// To send back in `x-csrf-token` on every state-changing request.
    pub csrf_token: String,
    pub opened_unix_ms: i64,
    pub expires_unix_ms: i64,
    pub agreement_id: String,
    pub parties: Vec<SessionParty>,
    /// How a secret key file begins (`deconflict keygen`); the page reads the key after it.
    pub secret_key_prefix: String,
    /// The service's clock now.
    pub now_unix_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionParty {
    pub id: String,
    pub name: String,
    pub language: String,
}

async fn get_session(
    AxState(state): AxState<St>,
    Extension(s): Extension<ConsoleSession>,
) -> Result<Json<SessionView>, ApiError> {
    let me = state
        .terms
        .party(&s.session.party)
        .ok_or_else(|| ApiError::internal("session party is not a party"))?;
    Ok(Json(SessionView {
        party: s.session.party.clone(),
        party_name: me.name.clone(),
        officer: s.session.officer.clone(),
        lang: me.language.clone(),
        csrf_token: s.session.csrf.clone(),
        opened_unix_ms: s.session.opened_ms,
        expires_unix_ms: s.session.expires_ms,
        agreement_id: state.terms.id.clone(),
        parties: state
            .terms
            .parties
            .iter()
            .map(|p| SessionParty {
                id: p.id.clone(),
                name: p.name.clone(),
                language: p.language.clone(),
            })
            .collect(),
        secret_key_prefix: deconflict_agreement::keys::SECRET_KEY_PREFIX.to_string(),
        now_unix_ms: state.clock.now_ms(),
    }))
}

async fn logout(
    Extension(console): Extension<Arc<Console>>,
    Extension(s): Extension<ConsoleSession>,
    https: Option<Extension<Https>>,
) -> Result<Response, ApiError> {
    lock(&console)?.revoke(&s.id);
    tracing::info!(party = %s.session.party, officer = %s.session.officer, "console session closed");
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie_value("", 0, https.is_some())) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// The agreement's dividing lines and zones as a GeoJSON FeatureCollection (degrees); the
/// agreement is the same document for every party.
async fn geography(AxState(state): AxState<St>) -> Json<serde_json::Value> {
    let a = &state.terms.agreement;
    let mut features = Vec::new();
    for l in a.dividing_lines() {
        features.push(serde_json::json!({
            "type": "Feature",
            "geometry": l.to_geojson(),
            "properties": {
                "kind": "dividing_line", "id": l.id(), "name": l.name(),
                "left_party": l.left_party().map(|p| p.as_str()),
                "right_party": l.right_party().map(|p| p.as_str()),
            }
        }));
    }
    for z in a.zones() {
        let excluded: Vec<&str> = z.excluded_parties().iter().map(|p| p.as_str()).collect();
        features.push(serde_json::json!({
            "type": "Feature",
            "geometry": z.area().to_geojson(),
            "properties": {
                "kind": "zone", "id": z.id(), "name": z.name(), "radius_m": z.radius_m(),
                "floor_m": z.floor_m(), "ceiling_m": z.ceiling_m(), "excluded_parties": excluded,
            }
        }));
    }
    Json(serde_json::json!({"type": "FeatureCollection", "features": features}))
}

/// The bytes of a log entry the party signs: `deconflict-ledger/v1/entry\n` ‖ the entry's
/// canonical form.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToSign {
    /// Standard base64 of the bytes to sign with the party's Ed25519 key.
    pub signing_input: String,
    /// For a message: the complete message to send with the signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
}

fn signing_input(entry: &deconflict_log::Entry) -> String {
    let mut m = deconflict_log::entry::ENTRY_SIGNING_CONTEXT.to_vec();
    m.extend_from_slice(&entry.to_canonical());
    base64::engine::general_purpose::STANDARD.encode(m)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AckToSign {
    message_id: String,
    time_unix_ms: i64,
}

/// The entry for the session's officer acknowledging a message at `time_unix_ms`.
async fn ack_to_sign(
    Extension(s): Extension<ConsoleSession>,
    body: Bytes,
) -> Result<Json<ToSign>, ApiError> {
    let req: AckToSign = parse_json(&body)?;
    let entry = deconflict_client::line_entry::log_entry_for_ack(
        &s.session.party,
        &req.message_id,
        &s.session.officer,
        req.time_unix_ms,
    )
    .map_err(|e| ApiError::invalid("message_id", e.to_string()))?;
    Ok(Json(ToSign {
        signing_input: signing_input(&entry),
        message: None,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageToSign {
    to: String,
    subject: Subject,
    #[serde(rename = "body")]
    content: LineBody,
}

/// A message from the session's party, completed with a fresh id and the service's time, and
/// the entry its author signs.
async fn message_to_sign(
    AxState(state): AxState<St>,
    Extension(s): Extension<ConsoleSession>,
    body: Bytes,
) -> Result<Json<ToSign>, ApiError> {
    let req: MessageToSign = parse_json(&body)?;
    let from =
        PartyId::new(s.session.party.as_str()).map_err(|e| ApiError::internal(e.to_string()))?;
    let to = PartyId::new(req.to.as_str()).map_err(|e| ApiError::invalid("to", e.to_string()))?;
    if state.terms.party(&req.to).is_none() {
        return Err(ApiError::invalid(
            "to",
            format!("{} is not a party to the agreement", req.to),
        ));
    }
    let sent = Timestamp::from_unix_ms(state.clock.now_ms())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let m = Message::new(
        crate::line::new_message_id(&s.session.party),
        from,
        to,
        sent,
        req.subject,
        req.content,
    )
    .map_err(|e| ApiError::invalid("body", e.to_string()))?;
    let entry = deconflict_client::line_entry::log_entry_for_message(&m)
        .map_err(|e| ApiError::invalid("body", e.to_string()))?;
    Ok(Json(ToSign {
        signing_input: signing_input(&entry),
        message: Some(m),
    }))
}

/// The console's routes: `/`, `/console/assets/…`, `/console/login`, and behind the session
/// layer `/console/session`, `/console/logout`, `/console/geography`, `/console/entries/…` and
/// `/console/v1/…` (the party's API, `api` without its signature layer).
pub(crate) fn routes(state: St, api: Router<St>) -> Router<St> {
    let with_session = Router::new()
        .route("/console/session", axum::routing::get(get_session))
        .route("/console/logout", axum::routing::post(logout))
        .route("/console/geography", axum::routing::get(geography))
        .route("/console/entries/ack", axum::routing::post(ack_to_sign))
        .route(
            "/console/entries/message",
            axum::routing::post(message_to_sign),
        )
        .nest("/console", api)
        .layer(middleware::from_fn_with_state(state, authenticate_session));
    Router::new()
        .route("/", axum::routing::get(index))
        .route("/console/assets/{*path}", axum::routing::get(asset))
        .route("/console/login", axum::routing::get(login))
        .merge(with_session)
        .layer(middleware::from_fn(with_secure_headers))
}
