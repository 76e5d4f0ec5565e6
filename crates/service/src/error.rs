//! The JSON error body every 4xx and 5xx carries: `{code, message, field}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub use deconflict_client::wire::ErrorBody;

/// An error to answer a request with.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                code: code.into(),
                message: message.into(),
                field: None,
            },
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.body.field = Some(field.into());
        self
    }

    /// A field failed validation: 422 naming it.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message).with_field(field)
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no {what} {id:?} visible to this party"),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

/// The `code` of an error answer, kept on the response for the metrics layer.
#[derive(Debug, Clone)]
pub struct ErrorCode(pub String);

impl From<deconflict_client::wire::Invalid> for ApiError {
    fn from(e: deconflict_client::wire::Invalid) -> Self {
        ApiError::invalid(e.field, e.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = ErrorCode(self.body.code.clone());
        let mut resp = (self.status, axum::Json(self.body)).into_response();
        resp.extensions_mut().insert(code);
        resp
    }
}

impl From<deconflict_store::StoreError> for ApiError {
    fn from(e: deconflict_store::StoreError) -> Self {
        use deconflict_store::StoreError as E;
        match &e {
            E::Invalid { field, .. } => ApiError::invalid(*field, e.to_string()),
            E::RevisionConflict { field, .. } => {
                ApiError::new(StatusCode::CONFLICT, "revision_conflict", e.to_string())
                    .with_field(*field)
            }
            E::Duplicate { field, .. } => {
                ApiError::new(StatusCode::CONFLICT, "duplicate", e.to_string()).with_field(*field)
            }
            E::NotFound { field, .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string()).with_field(*field)
            }
            _ => {
                tracing::error!(error = %e, "store failure");
                ApiError::internal("storage failure; nothing was recorded")
            }
        }
    }
}

/// Refuses a body of more than `max` bytes (413), naming `what` takes at most that.
pub fn body_within(body: &[u8], max: usize, what: &str) -> Result<(), ApiError> {
    if body.len() > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("{} bytes; {what} is at most {max}", body.len()),
        ));
    }
    Ok(())
}

/// Parses a JSON body, naming the field at fault on error (`reports[2].alt_m`). The body must be
/// one JSON value and nothing else: bytes after it (a second object, NULs, text) are refused,
/// since what was signed and what is acted on must be the same document.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // Most bodies are well formed: parsed at full speed first (`from_slice` also refuses
    // trailing bytes); only a refused one is parsed again, tracking the path, for its error.
    if let Ok(v) = serde_json::from_slice(body) {
        return Ok(v);
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize(&mut *de) {
        Ok(v) => match de.end() {
            Ok(()) => Ok(v),
            Err(e) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("{e}: the body must hold one JSON value and nothing after it"),
            )),
        },
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let code = if inner.is_syntax() || inner.is_eof() {
                "malformed_json"
            } else {
                "invalid_field"
            };
            let status = if code == "malformed_json" {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let message = inner.to_string();
            // serde names an unknown or missing field in its message, not in the path.
            let named = ["unknown field `", "missing field `"]
                .iter()
                .find_map(|p| message.strip_prefix(p))
                .and_then(|rest| rest.split('`').next());
            let field = match (path.as_str(), named) {
                (".", Some(n)) => Some(n.to_string()),
                (".", None) => None,
                (p, Some(n)) if p != n && !p.ends_with(&format!(".{n}")) => {
                    Some(format!("{p}.{n}"))
                }
                (p, _) => Some(p.to_string()),
            };
            let mut err = ApiError::new(status, code, message);
            if let Some(f) = field {
                err = err.with_field(f);
            }
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        #[allow(dead_code)]
        a: u32,
    }

    /// Anything after the one JSON value is refused: text, a second object, NUL bytes.
    #[test]
    fn trailing_bytes_after_the_json_value_are_refused() {
        let one: &[u8] = br#"{"a":1}"#;
        assert!(parse_json::<Doc>(one).is_ok());
        // Whitespace after the value is part of JSON.
        assert!(parse_json::<Doc>(b"{\"a\":1}\n \t").is_ok());
        for tail in [&b"xyz"[..], br#"{"a":2}"#, b"\0\0\0", b" ]", b"1"] {
            let mut body = one.to_vec();
            body.extend_from_slice(tail);
            let e = parse_json::<Doc>(&body).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{tail:?}");
            assert_eq!(e.body.code, "malformed_json", "{tail:?}");
            assert!(e.body.message.contains("trailing"), "{}", e.body.message);
        }
    }
}
