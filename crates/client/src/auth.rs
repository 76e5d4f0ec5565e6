//! Request authentication: the subset of HTTP Message Signatures (RFC 9421) and Content-Digest
//! (RFC 9530) that the service requires of every party request.
//!
//! What a request must carry:
//! - `content-digest: sha-256=:<base64>:` over the exact body bytes (RFC 9530 §2), also for an
//!   empty body;
//! - `signature-input: sig1=("@method" "@path" "@query" "content-digest");created=<unix s>;
//!   keyid="<party id>";nonce="<random>";alg="ed25519"` (RFC 9421 §4.1);
//! - `signature: sig1=:<base64 Ed25519 signature>:` (RFC 9421 §4.2) over the signature base
//!   (RFC 9421 §2.5) built from those components.
//!
//! The covered components must include all four above (more are refused rather than ignored, so
//! that what is verified is exactly what is documented). `created` must lie within
//! [`CREATED_AGE_S_MAX`] in the past and [`CREATED_FUTURE_S_MAX`] in the future, and not before
//! the service started (so a request captured before a restart cannot be replayed after it, even
//! though the nonce cache is in memory); the nonce must not have been seen within that window.
//!
//! Why not a general RFC 9421 library: the service needs one algorithm, four components and a
//! strict replay policy; a small parser that refuses everything else is easier to audit than a
//! general one, and the pre-1.0 crates available buffer bodies in types that axum cannot pass.
//! The module is pure (time is a parameter) and its parsers are fuzzed
//! (`fuzz/fuzz_targets/signature_headers.rs`) and property-tested.

use std::collections::{HashMap, VecDeque};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// The signature label the service issues and expects.
pub const SIGNATURE_LABEL: &str = "sig1";
/// The components every signature must cover, in this order.
pub const COVERED_COMPONENTS: [&str; 4] = ["@method", "@path", "@query", "content-digest"];
/// Oldest acceptable `created`, seconds before the service's now.
pub const CREATED_AGE_S_MAX: i64 = 30;
/// Furthest acceptable `created` ahead of the service's now (clock skew), seconds.
pub const CREATED_FUTURE_S_MAX: i64 = 5;
/// Shortest and longest nonce accepted, in bytes.
pub const NONCE_BYTES_MIN: usize = 16;
pub const NONCE_BYTES_MAX: usize = 64;
/// Longest signature header value parsed, in bytes.
pub const SIGNATURE_HEADER_BYTES_MAX: usize = 1024;
/// Nonces remembered per party; a party that fills it within the window is refused, not
/// allowed to push others out (a full cache never lets a replay through).
pub const NONCES_PER_PARTY_MAX: usize = 100_000;

/// Why a request was not authenticated. Each maps to one `code` in the error body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    #[error("the request has no {0} header")]
    Missing(&'static str),
    #[error("the {header} header is malformed: {reason}")]
    Malformed {
        header: &'static str,
        reason: String,
    },
    #[error("the signature must cover exactly {expected}, it covers {found}")]
    Components { expected: String, found: String },
    #[error("unsupported signature algorithm {0:?}: only ed25519 is accepted")]
    Algorithm(String),
    #[error("the signature was created at {created}, outside the window [{oldest}, {newest}]")]
    Expired {
        created: i64,
        oldest: i64,
        newest: i64,
    },
    #[error("no party in the agreement has key id {0:?}")]
    UnknownKey(String),
    #[error("the content-digest does not match the body")]
    DigestMismatch,
    #[error("the signature does not verify with the key of party {0:?}")]
    BadSignature(String),
    #[error("this nonce was already used: the request is a replay")]
    Replayed,
    #[error("too many requests from this party within the replay window")]
    NonceCacheFull,
    #[error("the nonce could not be recorded ({0}); retry later")]
    NonceNotRecorded(String),
}

impl AuthError {
    /// The stable machine-readable code for error bodies and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing(_) => "signature_missing",
            AuthError::Malformed { .. } => "signature_malformed",
            AuthError::Components { .. } => "signature_components",
            AuthError::Algorithm(_) => "signature_algorithm",
            AuthError::Expired { .. } => "signature_expired",
            AuthError::UnknownKey(_) => "unknown_key",
            AuthError::DigestMismatch => "content_digest_mismatch",
            AuthError::BadSignature(_) => "signature_invalid",
            AuthError::Replayed => "replayed",
            AuthError::NonceCacheFull => "nonce_cache_full",
            AuthError::NonceNotRecorded(_) => "nonce_not_recorded",
        }
    }

    /// The header the error is about, for the `field` of the error body.
    pub fn field(&self) -> &'static str {
        match self {
            AuthError::Missing(h) => h,
            AuthError::Malformed { header, .. } => header,
            AuthError::DigestMismatch => "content-digest",
            _ => "signature-input",
        }
    }
}

/// The parts of a request that the signature covers, as received.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The query without the leading `?`, if the request had one.
    pub query: Option<&'a str>,
    pub content_digest: Option<&'a str>,
    pub signature_input: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// The parameters of a parsed `signature-input` member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureParams {
    pub label: String,
    pub components: Vec<String>,
    pub created: i64,
    pub keyid: String,
    pub nonce: String,
    pub alg: Option<String>,
    /// The member's value exactly as received: it is the `@signature-params` line.
    pub raw: String,
}

/// A request that passed [`verify`]; the nonce still has to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub party: String,
    pub nonce: String,
    pub created: i64,
}

/// The `content-digest` header value for a body (RFC 9530 §2, `sha-256`).
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", B64.encode(Sha256::digest(body)))
}

/// The `@query` component value (RFC 9421 §2.2.7): `?` followed by the query, or `?` alone.
fn query_component(query: Option<&str>) -> String {
    format!("?{}", query.unwrap_or(""))
}

/// The signature base (RFC 9421 §2.5) for the fixed component list.
pub fn signature_base(
    method: &str,
    path: &str,
    query: Option<&str>,
    digest: &str,
    params_raw: &str,
) -> String {
    format!(
        "\"@method\": {}\n\"@path\": {}\n\"@query\": {}\n\"content-digest\": {}\n\"@signature-params\": {}",
        method.to_ascii_uppercase(),
        path,
        query_component(query),
        digest,
        params_raw
    )
}

/// Headers for a signed request: `(name, value)` pairs to add. `path_and_query` is the
/// request target as sent (`/v1/alerts?limit=5`).
pub fn sign_request(
    method: &str,
    path_and_query: &str,
    body: &[u8],
    party: &str,
    key: &SigningKey,
    created: i64,
    nonce: &str,
) -> [(&'static str, String); 3] {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let digest = content_digest(body);
    let components = COVERED_COMPONENTS
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(" ");
    let params = format!(
        "({components});created={created};keyid=\"{party}\";nonce=\"{nonce}\";alg=\"ed25519\""
    );
    let base = signature_base(method, path, query, &digest, &params);
    let sig = key.sign(base.as_bytes());
    [
        ("content-digest", digest),
        ("signature-input", format!("{SIGNATURE_LABEL}={params}")),
        (
            "signature",
            format!("{SIGNATURE_LABEL}=:{}:", B64.encode(sig.to_bytes())),
        ),
    ]
}

/// A fresh random nonce (24 bytes, base64url without padding: 32 characters).
pub fn new_nonce() -> String {
    use rand::RngCore as _;
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A request whose signed headers verified; its body is still to be checked against
/// `digest` (the signature covers the `content-digest` header, so the body can be read after
/// the caller is known, and checked as it arrives).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub verified: Verified,
    /// The SHA-256 the body must have.
    pub digest: [u8; 32],
}

/// Checks everything but the nonce cache. `not_before_s` is the service's start time.
pub fn verify(
    parts: &RequestParts<'_>,
    body: &[u8],
    now_s: i64,
    not_before_s: i64,
    key_of: impl Fn(&str) -> Option<VerifyingKey>,
) -> Result<Verified, AuthError> {
    let signed = verify_headers(parts, now_s, not_before_s, key_of)?;
    if Sha256::digest(body)[..] != signed.digest[..] {
        return Err(AuthError::DigestMismatch);
    }
    Ok(signed.verified)
}

/// Checks the headers: the parameters, the window, the key and the signature, which covers
/// the `content-digest` the body must then match. Reads no body.
pub fn verify_headers(
    parts: &RequestParts<'_>,
    now_s: i64,
    not_before_s: i64,
    key_of: impl Fn(&str) -> Option<VerifyingKey>,
) -> Result<SignedHeaders, AuthError> {
    let input = parts
        .signature_input
        .ok_or(AuthError::Missing("signature-input"))?;
    let signature = parts.signature.ok_or(AuthError::Missing("signature"))?;
    let digest = parts
        .content_digest
        .ok_or(AuthError::Missing("content-digest"))?;
    let params = parse_signature_input(input)?;
    if params.components != COVERED_COMPONENTS {
        return Err(AuthError::Components {
            expected: COVERED_COMPONENTS.join(" "),
            found: params.components.join(" "),
        });
    }
    if let Some(alg) = &params.alg
        && alg != "ed25519"
    {
        return Err(AuthError::Algorithm(alg.clone()));
    }
    // `created` has at most 15 digits and the clock is sane, but the sums are checked anyway.
    let oldest = now_s.saturating_sub(CREATED_AGE_S_MAX).max(not_before_s);
    let newest = now_s.saturating_add(CREATED_FUTURE_S_MAX);
    if params.created < oldest || params.created > newest {
        return Err(AuthError::Expired {
            created: params.created,
            oldest,
            newest,
        });
    }
    let key = key_of(&params.keyid).ok_or_else(|| AuthError::UnknownKey(params.keyid.clone()))?;
    let sig_bytes = parse_signature(signature, &params.label)?;
    let given_digest = parse_content_digest(digest)?;
    let base = signature_base(parts.method, parts.path, parts.query, digest, &params.raw);
    let sig = ed25519_dalek::Signature::from_bytes(&sig_bytes);
    key.verify_strict(base.as_bytes(), &sig)
        .map_err(|_| AuthError::BadSignature(params.keyid.clone()))?;
    Ok(SignedHeaders {
        verified: Verified {
            party: params.keyid,
            nonce: params.nonce,
            created: params.created,
        },
        digest: given_digest,
    })
}

fn malformed(header: &'static str, reason: impl Into<String>) -> AuthError {
    AuthError::Malformed {
        header,
        reason: reason.into(),
    }
}

/// Parses the first member of a `signature-input` dictionary (RFC 8941 §3.2 subset: one
/// member, an inner list of strings, parameters with integer or string values).
pub fn parse_signature_input(value: &str) -> Result<SignatureParams, AuthError> {
    const H: &str = "signature-input";
    if value.len() > SIGNATURE_HEADER_BYTES_MAX {
        return Err(malformed(H, "too long"));
    }
    let value = value.trim();
    let (label, rest) = value
        .split_once('=')
        .ok_or_else(|| malformed(H, "expected label=(…)"))?;
    if !is_key(label) {
        return Err(malformed(H, "bad label"));
    }
    if rest.contains(',') {
        // A second member: refused rather than silently ignored.
        return Err(malformed(H, "exactly one signature is accepted"));
    }
    let inner = rest
        .strip_prefix('(')
        .ok_or_else(|| malformed(H, "expected an inner list"))?;
    let (list, params) = inner
        .split_once(')')
        .ok_or_else(|| malformed(H, "unterminated inner list"))?;
    let mut components = Vec::new();
    for item in list.split(' ').filter(|s| !s.is_empty()) {
        let name = item
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .ok_or_else(|| malformed(H, "components must be quoted strings"))?;
        if name.is_empty() || name.contains('"') || name.contains('\\') {
            return Err(malformed(H, "bad component name"));
        }
        components.push(name.to_string());
    }
    let mut created = None;
    let mut keyid = None;
    let mut nonce = None;
    let mut alg = None;
    for p in params.split(';').skip(1) {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| malformed(H, "parameter without value"))?;
        match k {
            "created" => {
                if v.is_empty() || v.len() > 15 || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(malformed(H, "created must be a non-negative integer"));
                }
                created = Some(
                    v.parse::<i64>()
                        .map_err(|_| malformed(H, "created out of range"))?,
                );
            }
            "keyid" => keyid = Some(sf_string(v).ok_or_else(|| malformed(H, "bad keyid"))?),
            "nonce" => nonce = Some(sf_string(v).ok_or_else(|| malformed(H, "bad nonce"))?),
            "alg" => alg = Some(sf_string(v).ok_or_else(|| malformed(H, "bad alg"))?),
            // RFC 9421 §2.3: expires and tag are defined; the service sets its own window.
            "expires" | "tag" => {}
            _ => return Err(malformed(H, format!("unknown parameter {k:?}"))),
        }
    }
    if !params.starts_with(';') && !params.is_empty() {
        return Err(malformed(H, "junk after the inner list"));
    }
    let nonce = nonce.ok_or_else(|| malformed(H, "a nonce is required"))?;
    if !(NONCE_BYTES_MIN..=NONCE_BYTES_MAX).contains(&nonce.len()) {
        return Err(malformed(
            H,
            format!("nonce must be {NONCE_BYTES_MIN} to {NONCE_BYTES_MAX} characters"),
        ));
    }
    Ok(SignatureParams {
        label: label.to_string(),
        components,
        created: created.ok_or_else(|| malformed(H, "created is required"))?,
        keyid: keyid.ok_or_else(|| malformed(H, "keyid is required"))?,
        nonce,
        alg,
        raw: rest.to_string(),
    })
}

/// Parses `label=:base64:` and returns the 64 signature bytes, checking the label matches.
pub fn parse_signature(value: &str, label: &str) -> Result<[u8; 64], AuthError> {
    const H: &str = "signature";
    if value.len() > SIGNATURE_HEADER_BYTES_MAX {
        return Err(malformed(H, "too long"));
    }
    let (l, rest) = value
        .trim()
        .split_once('=')
        .ok_or_else(|| malformed(H, "expected label=:…:"))?;
    if l != label {
        return Err(malformed(
            H,
            format!("label {l:?} does not match signature-input's {label:?}"),
        ));
    }
    byte_sequence(H, rest, "an Ed25519 signature is 64 bytes")
}

/// An RFC 8941 byte sequence `:base64:` in header `h` holding exactly `N` bytes (`size` says
/// what those are when it does not).
fn byte_sequence<const N: usize>(
    h: &'static str,
    item: &str,
    size: &str,
) -> Result<[u8; N], AuthError> {
    let b64 = item
        .strip_prefix(':')
        .and_then(|s| s.strip_suffix(':'))
        .ok_or_else(|| malformed(h, "expected a byte sequence :…:"))?;
    let bytes = B64
        .decode(b64)
        .map_err(|_| malformed(h, "invalid base64"))?;
    bytes.try_into().map_err(|_| malformed(h, size))
}

/// Parses a `content-digest` value and returns its `sha-256` digest (RFC 9530 §2).
pub fn parse_content_digest(value: &str) -> Result<[u8; 32], AuthError> {
    const H: &str = "content-digest";
    if value.len() > SIGNATURE_HEADER_BYTES_MAX {
        return Err(malformed(H, "too long"));
    }
    for member in value.split(',') {
        let member = member.trim();
        let Some((alg, rest)) = member.split_once('=') else {
            return Err(malformed(H, "expected alg=:…:"));
        };
        if alg != "sha-256" {
            continue;
        }
        return byte_sequence(H, rest, "a sha-256 digest is 32 bytes");
    }
    Err(malformed(H, "a sha-256 member is required"))
}

fn is_key(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_lowercase() || c == b'*')
        && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-.*".contains(&c))
}

/// An RFC 8941 string without escapes (the service's ids and nonces never need them).
fn sf_string(v: &str) -> Option<String> {
    let s = v.strip_prefix('"')?.strip_suffix('"')?;
    (s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\'))
    .then(|| s.into())
}

/// Where a [`NonceCache`] keeps each nonce it accepts, so that a restart does not forget the
/// nonces of the window (see `crate::nonce_file`).
pub trait NonceSink: Send + std::fmt::Debug {
    /// Records an accepted nonce before the request goes on.
    fn record(&mut self, v: &Verified, now_s: i64) -> std::io::Result<()>;
}

/// Nonces seen within the replay window, per party. Time is a parameter; a [`NonceSink`]
/// given by the caller keeps them across restarts.
#[derive(Debug, Default)]
pub struct NonceCache {
    parties: HashMap<String, PartyNonces>,
    sink: Option<Box<dyn NonceSink>>,
}

/// How long after its `created` a nonce must still be remembered, seconds: until no request
/// with that `created` can pass the window any more.
pub const NONCE_KEPT_S: i64 = CREATED_AGE_S_MAX + CREATED_FUTURE_S_MAX + 1;

#[derive(Debug, Default)]
struct PartyNonces {
    seen: HashMap<String, i64>,
    /// (expiry, nonce) in insertion order; expiries are not decreasing because `created`
    /// is bounded by the window, so the front is always the next to expire (or close to it).
    order: VecDeque<(i64, String)>,
}

impl PartyNonces {
    fn insert(&mut self, v: &Verified, now_s: i64) {
        // `created` is bounded by the window check (or by the restore's expiry test), so the
        // sum does not overflow.
        let expiry = v.created.saturating_add(NONCE_KEPT_S);
        self.seen.insert(v.nonce.clone(), expiry);
        self.order.push_back((expiry.max(now_s), v.nonce.clone()));
    }
}

impl NonceCache {
    /// Records the nonce of a verified request; refuses a nonce already seen.
    pub fn check_and_insert(&mut self, v: &Verified, now_s: i64) -> Result<(), AuthError> {
        let p = self.parties.entry(v.party.clone()).or_default();
        while let Some((expiry, _)) = p.order.front()
            && *expiry < now_s
        {
            if let Some((_, n)) = p.order.pop_front() {
                p.seen.remove(&n);
            }
        }
        if p.seen.contains_key(&v.nonce) {
            return Err(AuthError::Replayed);
        }
        if p.seen.len() >= NONCES_PER_PARTY_MAX {
            return Err(AuthError::NonceCacheFull);
        }
        if let Some(sink) = &mut self.sink {
            sink.record(v, now_s)
                .map_err(|e| AuthError::NonceNotRecorded(e.to_string()))?;
        }
        p.insert(v, now_s);
        Ok(())
    }

    /// Takes back nonces recorded before a restart (expired ones are skipped).
    pub fn restore(&mut self, recorded: impl IntoIterator<Item = Verified>, now_s: i64) {
        for v in recorded {
            if v.created.saturating_add(NONCE_KEPT_S) < now_s {
                continue;
            }
            let p = self.parties.entry(v.party.clone()).or_default();
            if !p.seen.contains_key(&v.nonce) && p.seen.len() < NONCES_PER_PARTY_MAX {
                p.insert(&v, now_s);
            }
        }
    }

    /// Records every nonce accepted from now on in `sink` first.
    pub fn keep_in(&mut self, sink: Box<dyn NonceSink>) {
        self.sink = Some(sink);
    }

    /// Nonces held, all parties together (a queue depth for the metrics).
    pub fn len(&self) -> usize {
        self.parties.values().map(|p| p.seen.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn parts<'a>(headers: &'a [(&'static str, String); 3], path: &'a str) -> RequestParts<'a> {
        let (path, query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        RequestParts {
            method: "POST",
            path,
            query,
            content_digest: Some(&headers[0].1),
            signature_input: Some(&headers[1].1),
            signature: Some(&headers[2].1),
        }
    }

    const NONCE: &str = "AAAAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn a_signed_request_verifies_and_any_change_is_caught() {
        let k = key(1);
        let pk = k.verifying_key();
        let h = sign_request(
            "POST",
            "/v1/tracks?x=1",
            b"{}",
            "coalition",
            &k,
            1000,
            NONCE,
        );
        let keys = |id: &str| (id == "coalition").then_some(pk);
        let v = verify(&parts(&h, "/v1/tracks?x=1"), b"{}", 1000, 0, keys).unwrap();
        assert_eq!(v.party, "coalition");
        // Another path, another query, another body, another method.
        assert!(matches!(
            verify(&parts(&h, "/v1/alerts?x=1"), b"{}", 1000, 0, keys),
            Err(AuthError::BadSignature(_))
        ));
        assert!(matches!(
            verify(&parts(&h, "/v1/tracks?x=2"), b"{}", 1000, 0, keys),
            Err(AuthError::BadSignature(_))
        ));
        assert_eq!(
            verify(&parts(&h, "/v1/tracks?x=1"), b"{ }", 1000, 0, keys),
            Err(AuthError::DigestMismatch)
        );
        let mut p = parts(&h, "/v1/tracks?x=1");
        p.method = "PUT";
        assert!(matches!(
            verify(&p, b"{}", 1000, 0, keys),
            Err(AuthError::BadSignature(_))
        ));
    }

    #[test]
    fn the_window_and_the_start_time_bound_created() {
        let k = key(1);
        let pk = k.verifying_key();
        let keys = |_: &str| Some(pk);
        let h = sign_request("POST", "/p", b"", "a", &k, 1000, NONCE);
        let p = parts(&h, "/p");
        assert!(verify(&p, b"", 1000 + CREATED_AGE_S_MAX, 0, keys).is_ok());
        assert!(matches!(
            verify(&p, b"", 1001 + CREATED_AGE_S_MAX, 0, keys),
            Err(AuthError::Expired { .. })
        ));
        assert!(verify(&p, b"", 1000 - CREATED_FUTURE_S_MAX, 0, keys).is_ok());
        assert!(matches!(
            verify(&p, b"", 999 - CREATED_FUTURE_S_MAX, 0, keys),
            Err(AuthError::Expired { .. })
        ));
        // Signed before the service started: refused even inside the window.
        assert!(matches!(
            verify(&p, b"", 1000, 1001, keys),
            Err(AuthError::Expired { .. })
        ));
    }

    #[test]
    fn another_partys_key_or_an_unknown_key_is_refused() {
        let a = key(1);
        let b = key(2);
        let h = sign_request("POST", "/p", b"", "a", &b, 1000, NONCE);
        let keys = |id: &str| (id == "a").then_some(a.verifying_key());
        assert_eq!(
            verify(&parts(&h, "/p"), b"", 1000, 0, keys),
            Err(AuthError::BadSignature("a".into()))
        );
        let h = sign_request("POST", "/p", b"", "nobody", &b, 1000, NONCE);
        assert_eq!(
            verify(&parts(&h, "/p"), b"", 1000, 0, keys),
            Err(AuthError::UnknownKey("nobody".into()))
        );
    }

    #[test]
    fn a_nonce_is_accepted_once_within_the_window() {
        let mut cache = NonceCache::default();
        let v = Verified {
            party: "a".into(),
            nonce: NONCE.into(),
            created: 1000,
        };
        cache.check_and_insert(&v, 1000).unwrap();
        assert_eq!(cache.check_and_insert(&v, 1010), Err(AuthError::Replayed));
        // The same nonce from another party is another nonce.
        let w = Verified {
            party: "b".into(),
            ..v.clone()
        };
        cache.check_and_insert(&w, 1010).unwrap();
        // Once the window has passed, the entry is dropped (the window check refuses the
        // request before the cache would see it).
        let later = 1000 + CREATED_AGE_S_MAX + CREATED_FUTURE_S_MAX + 2;
        let fresh = Verified {
            nonce: "BBBBBBBBBBBBBBBBBBBBBBBB".into(),
            created: later,
            ..v.clone()
        };
        cache.check_and_insert(&fresh, later).unwrap();
        assert_eq!(cache.len(), 2);
    }

    /// RFC 9530 Appendix B.1 (the `{"hello": "world"}` example).
    #[test]
    fn content_digest_matches_rfc_9530_example() {
        assert_eq!(
            content_digest(b"{\"hello\": \"world\"}"),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
    }

    #[test]
    fn malformed_headers_name_the_header() {
        for (input, expect) in [
            ("", "signature-input"),
            ("sig1", "signature-input"),
            ("sig1=(\"@method\"", "signature-input"),
            (
                "sig1=(@method);created=1;keyid=\"a\";nonce=\"AAAAAAAAAAAAAAAAAAAA\"",
                "signature-input",
            ),
            (
                "sig1=(\"@method\");created=-1;keyid=\"a\";nonce=\"AAAAAAAAAAAAAAAAAAAA\"",
                "signature-input",
            ),
            (
                "sig1=(\"@method\");created=1;keyid=\"a\"",
                "signature-input",
            ),
            (
                "sig1=(\"@method\");created=1;keyid=\"a\";nonce=\"short\"",
                "signature-input",
            ),
            (
                "sig1=(\"@method\");created=1;keyid=\"a\";nonce=\"AAAAAAAAAAAAAAAAAAAA\";x=1",
                "signature-input",
            ),
            (
                "sig1=(\"@method\");created=1;keyid=\"a\";nonce=\"AAAAAAAAAAAAAAAAAAAA\", sig2=()",
                "signature-input",
            ),
        ] {
            let err = parse_signature_input(input).unwrap_err();
            assert_eq!(err.field(), expect, "{input}: {err}");
        }
        assert!(parse_signature("sig2=:AAAA:", "sig1").is_err());
        assert!(parse_signature("sig1=:AAAA:", "sig1").is_err());
        assert!(parse_content_digest("sha-512=:AAAA:").is_err());
        assert!(parse_content_digest("sha-256=:not base64!:").is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The header parsers never panic on arbitrary text, and never accept a signature
        /// whose base was not signed by the key.
        #[test]
        fn parsers_never_panic(s in ".{0,300}") {
            let _ = parse_signature_input(&s);
            let _ = parse_signature(&s, "sig1");
            let _ = parse_content_digest(&s);
            let p = RequestParts {
                method: "GET", path: "/", query: None,
                content_digest: Some(&s), signature_input: Some(&s), signature: Some(&s),
            };
            let k = key(3).verifying_key();
            prop_assert!(verify(&p, b"", 0, 0, |_| Some(k)).is_err());
        }

        /// Truncating or flipping any byte of valid headers never yields a verified request
        /// for a different body, and never panics.
        #[test]
        fn mutated_headers_do_not_verify(cut in 0usize..200, which in 0usize..3, flip in 0usize..200) {
            let k = key(4);
            let pk = k.verifying_key();
            let mut h = sign_request("POST", "/v1/tracks", b"body", "a", &k, 100, NONCE);
            let value = &mut h[which].1;
            let mut bytes = value.clone().into_bytes();
            if !bytes.is_empty() {
                let i = flip % bytes.len();
                bytes[i] ^= 0x01;
            }
            bytes.truncate(cut.max(1));
            *value = String::from_utf8_lossy(&bytes).into_owned();
            let changed = h[which].1 != sign_request("POST", "/v1/tracks", b"body", "a", &k, 100, NONCE)[which].1;
            let r = verify(&parts(&h, "/v1/tracks"), b"body", 100, 0, |_| Some(pk));
            if changed {
                prop_assert!(r.is_err(), "{:?}", h);
            }
        }
    }
}
