//! Routes of the shared log that parties write to (countersignatures of tree heads), and the
//! log's keys; the read-only record routes (tree heads, proofs, entries) are in [`crate::api`].
//!
//! A countersignature (RFC 9162 has none; it is the "witness cosignature" idea of transparency
//! logs) is a log entry `tree_head_cosignature` that the party authors and signs with its
//! own key over a tree head it fetched and checked. The service appends it to the log like any
//! entry, so when and in what order each party vouched for each head is itself protected by
//! later tree heads. It is accepted only when:
//! - the body is the entry's canonical bytes (RFC 8785), as the party signed them;
//! - its author is the authenticated caller, and its signature verifies with the caller's key
//!   from the agreement;
//! - the tree head is one this log issued (same log, size, root and time);
//! - the party has not countersigned that head already: a repeat answers 200 with the first
//!   one's index and appends nothing (so a party may retry safely).
//!
//! The entry's own timestamp is the party's claim and is not judged: its place in the log,
//! covered by the log's later signed heads, is what orders it.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, State as AxState};
use axum::http::{StatusCode, Uri};
use deconflict_log::canonical::CanonicalError;
use deconflict_log::{EntryBody, EntryError, SignedEntry};
use deconflict_logfile::LogFileError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::log_entries::ServiceLog;
use crate::request::{Caller, list_limit, no_body, param, party_key, query_u64, the_log};
use crate::state::State;
pub use deconflict_client::wire::log::{
    CosignatureAccepted, CosignatureList, CosignatureView, LogKeys,
};

type St = Arc<State>;

/// Most countersignatures listed by one `GET /v1/log/cosignatures`.
pub const COSIGNATURES_LIST_MAX: usize = 1000;
/// Listed when the request gives no `limit`.
pub const COSIGNATURES_LIST_DEFAULT: usize = 100;

/// The record's write routes under `/v1` (authenticated by the caller's layer).
pub fn routes() -> OpenApiRouter<St> {
    OpenApiRouter::new()
        .routes(routes!(post_cosignature, list_cosignatures))
        .routes(routes!(log_keys))
}

// ---- counters --------------------------------------------------------------------------------

// ---- handlers --------------------------------------------------------------------------------

const TREE_HEAD_FIELD: &str = "entry.body.tree_head_cosignature.tree_head";

fn entry_error(e: EntryError) -> ApiError {
    match e {
        EntryError::Encoding(CanonicalError::Json { column, message }) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_entry",
            format!("not a signed entry {{\"entry\":…,\"sig\":…}} (column {column}): {message}"),
        ),
        EntryError::Encoding(CanonicalError::NotCanonical { offset }) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "not_canonical",
            format!(
                "the body is not the entry's canonical form (RFC 8785), first difference at byte \
                 {offset}: send the exact bytes that were signed"
            ),
        ),
        EntryError::TreeHead(t) => ApiError::invalid(TREE_HEAD_FIELD, t.to_string()),
        other => ApiError::invalid("entry", other.to_string()),
    }
}

fn log_file_error(e: LogFileError) -> ApiError {
    match e {
        LogFileError::QueueFull(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "log_busy",
            format!("{e}; nothing was appended"),
        ),
        LogFileError::Failed(_) | LogFileError::Closed => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "log_unavailable",
            format!("{e}; nothing was appended"),
        ),
        LogFileError::UnknownTreeHead(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_tree_head",
            e.to_string(),
        )
        .with_field(TREE_HEAD_FIELD),
        LogFileError::BadSignature(_) | LogFileError::UnknownAuthor(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "entry_signature_invalid",
            e.to_string(),
        )
        .with_field("sig"),
        other => ApiError::internal(format!("record: {other}")),
    }
}

/// Checks a countersignature posted by `caller` against the agreement's key for it and the
/// tree heads the log issued; the entry to append on success.
fn check_cosignature(
    state: &State,
    log: &ServiceLog,
    caller: &str,
    body: &[u8],
) -> Result<SignedEntry, ApiError> {
    let entry = SignedEntry::from_bytes(body).map_err(entry_error)?;
    let EntryBody::TreeHeadCosignature { tree_head } = entry.entry().body() else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_a_cosignature",
            "this route takes a tree_head_cosignature entry only",
        )
        .with_field("entry.body"));
    };
    let author = entry.entry().author().as_str();
    if author != caller {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "author_mismatch",
            format!(
                "the entry is authored by {author:?} but the request is signed by {caller:?}: a \
                 party posts its own countersignatures only"
            ),
        )
        .with_field("entry.author"));
    }
    let key = party_key(state, caller)?;
    entry.verify(&key).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "entry_signature_invalid",
            format!("the entry's signature does not verify with {caller}'s key in the agreement"),
        )
        .with_field("sig")
    })?;
    let unknown = |message: String, field: &str| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_tree_head",
            message,
        )
        .with_field(format!("{TREE_HEAD_FIELD}.{field}"))
    };
    let size = tree_head.size();
    match log.log_file().issued_tree_head(size) {
        None => Err(unknown(
            format!("this log issued no tree head of size {size}"),
            "size",
        )),
        Some(issued) if issued.log() != tree_head.log() => Err(unknown(
            format!(
                "the tree head names log {}, this log is {}",
                tree_head.log(),
                issued.log()
            ),
            "log",
        )),
        Some(issued) if issued.root() != tree_head.root() => Err(unknown(
            format!(
                "the tree head of size {size} this log issued has root {}, not {}",
                issued.root(),
                tree_head.root()
            ),
            "root",
        )),
        Some(issued) if issued != *tree_head => Err(unknown(
            format!(
                "the tree head of size {size} this log issued was signed at {} ms, not {} ms",
                issued.time_ms(),
                tree_head.time_ms()
            ),
            "time_ms",
        )),
        Some(_) => Ok(entry),
    }
}

/// Appends the caller's countersignature of a tree head the log issued: the body is the signed
/// entry `{"entry":{"author":<caller>,"body":{"tree_head_cosignature":{"tree_head":…}},…},
/// "sig":…}` in canonical form (RFC 8785), signed with the caller's key from the agreement.
/// Durable when answered. A repeat of the same party's countersignature of the same head
/// answers 200 with `appended: false` and the first one's index.
#[utoipa::path(post, path = "/v1/log/cosignatures", tag = "log",
    request_body(content = Object, content_type = "application/json",
        description = "The signed countersignature entry, canonical bytes"),
    responses((status = 200, body = CosignatureAccepted),
        (status = 400, description = "Not a signed entry, or not canonical", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Authored by another party than the caller", body = ErrorBody),
        (status = 422, description = "Not a countersignature, bad entry signature, or a tree head this log never issued", body = ErrorBody),
        (status = 503, body = ErrorBody)))]
async fn post_cosignature(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Result<Json<CosignatureAccepted>, ApiError> {
    let counts = &state.metrics.cosignatures;
    let log = the_log(&state).map_err(|e| counts.refused(e))?;
    let entry = check_cosignature(&state, &log, &c.party, &body).map_err(|e| counts.refused(e))?;
    let EntryBody::TreeHeadCosignature { tree_head } = entry.entry().body() else {
        return Err(ApiError::internal(
            "checked entry is not a countersignature",
        ));
    };
    let (size, root) = (tree_head.size(), tree_head.root().to_hex());
    let task_log = log.clone();
    let outcome = tokio::task::spawn_blocking(move || match task_log.log_file().append(entry) {
        Ok(index) => Ok((index, true)),
        Err(LogFileError::DuplicateCosignature { index, .. }) => task_log
            .log_file()
            .wait_durable(index)
            .map(|index| (index, false)),
        Err(e) => Err(e),
    })
    .await
    .map_err(|e| ApiError::internal(format!("record task failed: {e}")))?;
    let (index, appended) = outcome.map_err(|e| counts.refused(log_file_error(e)))?;
    let counter = if appended {
        &counts.accepted
    } else {
        &counts.repeated
    };
    counter.fetch_add(1, Ordering::Relaxed);
    tracing::info!(party = %c.party, size, index, appended, "tree head countersigned");
    Ok(Json(CosignatureAccepted {
        index,
        appended,
        party: c.party,
        size,
        root,
    }))
}

/// Who countersigned which tree head: the countersignatures of the head of `size`, or the
/// latest ones of any head, in log order, each with its signed entry.
#[utoipa::path(get, path = "/v1/log/cosignatures", tag = "log",
    params(("size" = Option<u64>, Query, description = "Only the countersignatures of the tree head of this size"),
        ("limit" = Option<u64>, Query, description = "At most this many, the latest (default 100, max 1000)")),
    responses((status = 200, body = CosignatureList),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_cosignatures(
    AxState(state): AxState<St>,
    Extension(_c): Extension<Caller>,
    uri: Uri,
    body: Bytes,
) -> Result<Json<CosignatureList>, ApiError> {
    no_body(&body)?;
    let q = query_u64(&uri, &["size", "limit"])?;
    let size = param(&q, "size");
    let limit = list_limit(&q, COSIGNATURES_LIST_DEFAULT, COSIGNATURES_LIST_MAX)?;
    let log = the_log(&state)?;
    let views = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        for c in log.log_file().cosignatures(size, limit) {
            let entries = log
                .log_file()
                .entries(c.index, c.index + 1)
                .map_err(|e| ApiError::internal(format!("record: {e}")))?;
            // The countersignature's own entry, which the log holds as canonical JSON: a
            // missing or unreadable one is a damaged log, not an entry to show as `null`.
            let entry = entries
                .first()
                .ok_or_else(|| format!("log entry {} is missing", c.index))
                .and_then(|e| {
                    serde_json::from_slice(e.as_bytes())
                        .map_err(|err| format!("log entry {}: not JSON: {err}", c.index))
                })
                .map_err(ApiError::internal)?;
            out.push(CosignatureView {
                index: c.index,
                party: c.party.as_str().to_string(),
                size: c.tree_head.size(),
                root: c.tree_head.root().to_hex(),
                tree_head_time_ms: c.tree_head.time_ms(),
                time_ms: c.time_ms,
                entry,
            });
        }
        Ok::<_, ApiError>(out)
    })
    .await
    .map_err(|e| ApiError::internal(format!("record task failed: {e}")))??;
    Ok(Json(CosignatureList {
        cosignatures: views,
    }))
}

/// The log's key id and every public key it knows: what a party pins (after comparing it with
/// what the operator published) before it follows the log.
#[utoipa::path(get, path = "/v1/log/keys", tag = "log",
    responses((status = 200, body = LogKeys), (status = 401, body = ErrorBody)))]
async fn log_keys(
    AxState(state): AxState<St>,
    Extension(_c): Extension<Caller>,
    body: Bytes,
) -> Result<Json<LogKeys>, ApiError> {
    no_body(&body)?;
    let log = the_log(&state)?;
    let head = log.log_file().latest_tree_head();
    let keys = log
        .log_file()
        .keys()
        .iter()
        .map(|(id, k)| {
            (
                id.as_str().to_string(),
                deconflict_log::PublicKey(*k).to_hex(),
            )
        })
        .collect();
    Ok(Json(LogKeys {
        log: head.tree_head().log().as_str().to_string(),
        keys,
    }))
}
