//! What every handler of the API shares: the authenticated caller and running a request as
//! it, query parameters, a body where none is taken, the caller's key, the shared log.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::State;

/// The authenticated caller, set by [`crate::api::authenticate`] (or the console's session
/// layer) through [`run_as`].
#[derive(Debug, Clone)]
pub struct Caller {
    pub party: String,
}

/// The nonce of the request's signature, for a request signed with the party's key (not a
/// console session's): it names a track stream ([`crate::track_stream`]).
#[derive(Debug, Clone)]
pub struct SignedNonce(pub String);

/// Answers `e`, counted by its code.
pub(crate) fn reject(state: &State, e: ApiError) -> Response {
    state.metrics.rejected(&e.body.code);
    e.into_response()
}

/// Runs an authenticated request as `party`, for the signed API and the console alike: the
/// party's rate is checked (429), it is heard from, and the handler sees it as the [`Caller`].
pub(crate) async fn run_as(
    state: &State,
    party: String,
    mut parts: axum::http::request::Parts,
    bytes: Bytes,
    next: Next,
) -> Response {
    if let Err(e) = state.take_token(&party) {
        return reject(state, e);
    }
    state.heard_from(&party);
    parts.extensions.insert(Caller { party });
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    // Every refusal of an authenticated request is counted by its code, as the authentication
    // layer's own refusals are.
    if let Some(code) = resp.extensions().get::<crate::error::ErrorCode>() {
        state.metrics.rejected(&code.0);
    }
    resp
}

/// Parses `a=1&b=2` into the allowed unsigned parameters; anything else is a 400 naming it.
pub(crate) fn query_u64(uri: &Uri, allowed: &[&str]) -> Result<Vec<(String, u64)>, ApiError> {
    let mut out = Vec::new();
    let Some(q) = uri.query() else {
        return Ok(out);
    };
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if !allowed.contains(&k) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "unknown_parameter",
                format!("unknown query parameter; allowed: {}", allowed.join(", ")),
            )
            .with_field(k.chars().take(64).collect::<String>()));
        }
        let n = v
            .parse::<u64>()
            .ok()
            .filter(|_| v.len() <= 19 && v.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_parameter",
                    "must be a non-negative integer",
                )
                .with_field(k)
            })?;
        out.push((k.to_string(), n));
    }
    Ok(out)
}

pub(crate) fn param(params: &[(String, u64)], name: &str) -> Option<u64> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
}

/// Lists a route returns when the request gives no `limit`.
pub(crate) const LIST_DEFAULT: usize = 100;

/// The `limit` parameter of a list: `default` when absent, 1 to `max` when given (400
/// otherwise).
pub(crate) fn list_limit(
    params: &[(String, u64)],
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    let limit = param(params, "limit").unwrap_or(default as u64);
    if limit == 0 || limit > max as u64 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            format!("limit must be 1 to {max}"),
        )
        .with_field("limit"));
    }
    Ok(limit as usize)
}

/// The agreement's key of `party`, the authenticated caller (which the authentication layer
/// found in the agreement, so a miss is the service's fault).
pub(crate) fn party_key(
    state: &State,
    party: &str,
) -> Result<ed25519_dalek::VerifyingKey, ApiError> {
    state
        .terms
        .party(party)
        .map(|p| p.key)
        .ok_or_else(|| ApiError::internal("the authenticated party is not in the agreement"))
}

/// Refuses a body on a route that takes none.
pub(crate) fn no_body(body: &Bytes) -> Result<(), ApiError> {
    if body.is_empty() {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unexpected_body",
            "this request takes no body",
        ))
    }
}

/// The shared log, or 503 when this instance keeps none.
pub(crate) fn the_log(state: &Arc<State>) -> Result<Arc<crate::log_entries::ServiceLog>, ApiError> {
    state.log().cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_log",
            "this service instance keeps no shared log",
        )
    })
}
