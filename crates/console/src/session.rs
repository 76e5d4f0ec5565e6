//! One-time sign-in tokens and the sessions they open.
//!
//! A party asks for a sign-in token with a signed request (its key, as for every request);
//! the token is valid for [`LOGIN_TOKEN_TTL_MS`] and redeemed once. Redeeming it opens a
//! session that lasts at most [`SESSION_TTL_MS_MAX`] (a shift) and can be revoked. Each session
//! carries a CSRF token the page must send back on every state-changing request.
//!
//! The table holds only SHA-256 digests of tokens and session ids, so what it holds cannot be
//! replayed as a cookie. Both tables are bounded ([`LOGIN_TOKENS_MAX`], [`SESSIONS_MAX`]):
//! expired entries are swept first, and when still full a new one is refused, never an old one
//! evicted (an attacker who can sign in cannot sign others out).

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use sha2::{Digest, Sha256};

/// How long a sign-in token stays valid, milliseconds.
pub const LOGIN_TOKEN_TTL_MS: i64 = 60_000;
/// The longest a session lasts, milliseconds (12 h: one shift).
pub const SESSION_TTL_MS_MAX: i64 = 12 * 3600 * 1000;
/// Sign-in tokens outstanding at once, all parties together.
pub const LOGIN_TOKENS_MAX: usize = 64;
/// Sessions open at once, all parties together.
pub const SESSIONS_MAX: usize = 256;
/// Random bytes in a token, a session id or a CSRF token.
pub const SECRET_BYTES: usize = 32;
/// Characters of a secret as written (unpadded base64url of [`SECRET_BYTES`]).
pub const SECRET_CHARS: usize = 43;
/// Longest officer name accepted.
pub const OFFICER_CHARS_MAX: usize = 64;

/// Why a token or a session was refused. Each maps to one error `code`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    #[error("{LOGIN_TOKENS_MAX} sign-in tokens are outstanding; wait for one to expire")]
    TokensFull,
    #[error("{SESSIONS_MAX} sessions are open; sign one out or wait for one to expire")]
    SessionsFull,
    #[error("the sign-in link is unknown, already used, or expired")]
    BadToken,
    #[error("no session, or it expired or was signed out")]
    NoSession,
    #[error("officer name must be 1 to {OFFICER_CHARS_MAX} printable characters")]
    BadOfficer,
}

impl SessionError {
    /// The stable machine-readable code for error bodies and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            SessionError::TokensFull => "login_tokens_full",
            SessionError::SessionsFull => "sessions_full",
            SessionError::BadToken => "login_token_invalid",
            SessionError::NoSession => "no_session",
            SessionError::BadOfficer => "invalid_field",
        }
    }
}

/// Who a session (or a pending token) is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub party: String,
    pub officer: String,
    /// The CSRF token the page sends in a header on every state-changing request.
    pub csrf: String,
    pub opened_ms: i64,
    pub expires_ms: i64,
}

#[derive(Debug, Clone)]
struct Pending {
    party: String,
    officer: String,
    expires_ms: i64,
    session_ttl_ms: i64,
}

type Digest32 = [u8; 32];

fn digest(secret: &str) -> Digest32 {
    Sha256::digest(secret.as_bytes()).into()
}

/// A secret as written in URLs and cookies.
pub fn encode_secret(bytes: &[u8; SECRET_BYTES]) -> String {
    B64URL.encode(bytes)
}

/// Whether `s` has the shape of a secret (checked before any lookup, so that a forged value of
/// another shape is refused the same way and costs nothing).
pub fn is_secret_shaped(s: &str) -> bool {
    s.len() == SECRET_CHARS
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks an officer's name: printable, no control characters, bounded.
pub fn check_officer(name: &str) -> Result<(), SessionError> {
    let n = name.chars().count();
    if n == 0 || n > OFFICER_CHARS_MAX || name.chars().any(char::is_control) {
        return Err(SessionError::BadOfficer);
    }
    Ok(())
}

/// The sign-in tokens and sessions of one service.
#[derive(Debug, Default)]
pub struct Sessions {
    pending: HashMap<Digest32, Pending>,
    open: HashMap<Digest32, Session>,
}

impl Sessions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sessions open now (expired ones not counted).
    pub fn open_count(&self, now_ms: i64) -> usize {
        self.open.values().filter(|s| s.expires_ms > now_ms).count()
    }

    fn sweep(&mut self, now_ms: i64) {
        self.pending.retain(|_, p| p.expires_ms > now_ms);
        self.open.retain(|_, s| s.expires_ms > now_ms);
    }

    /// A sign-in token for `officer` of `party`, from `random` bytes; the session it opens lasts
    /// `session_ttl_ms`, capped at [`SESSION_TTL_MS_MAX`].
    pub fn issue_token(
        &mut self,
        party: &str,
        officer: &str,
        session_ttl_ms: i64,
        random: [u8; SECRET_BYTES],
        now_ms: i64,
    ) -> Result<(String, i64), SessionError> {
        check_officer(officer)?;
        self.sweep(now_ms);
        if self.pending.len() >= LOGIN_TOKENS_MAX {
            return Err(SessionError::TokensFull);
        }
        let token = encode_secret(&random);
        let expires_ms = now_ms.saturating_add(LOGIN_TOKEN_TTL_MS);
        self.pending.insert(
            digest(&token),
            Pending {
                party: party.to_string(),
                officer: officer.to_string(),
                expires_ms,
                session_ttl_ms: session_ttl_ms.clamp(1, SESSION_TTL_MS_MAX),
            },
        );
        Ok((token, expires_ms))
    }

    /// Redeems `token` once: opens a session whose id and CSRF token come from the random
    /// bytes given. Returns the session id (the cookie's value) and the session.
    pub fn redeem(
        &mut self,
        token: &str,
        session_random: [u8; SECRET_BYTES],
        csrf_random: [u8; SECRET_BYTES],
        now_ms: i64,
    ) -> Result<(String, Session), SessionError> {
        if !is_secret_shaped(token) {
            return Err(SessionError::BadToken);
        }
        self.sweep(now_ms);
        // Taken out whatever happens next: a token is used once.
        let p = self
            .pending
            .remove(&digest(token))
            .ok_or(SessionError::BadToken)?;
        if self.open.len() >= SESSIONS_MAX {
            return Err(SessionError::SessionsFull);
        }
        let id = encode_secret(&session_random);
        let session = Session {
            party: p.party,
            officer: p.officer,
            csrf: encode_secret(&csrf_random),
            opened_ms: now_ms,
            expires_ms: now_ms.saturating_add(p.session_ttl_ms),
        };
        self.open.insert(digest(&id), session.clone());
        Ok((id, session))
    }

    /// The session with this id, if open and not expired.
    pub fn get(&self, id: &str, now_ms: i64) -> Result<&Session, SessionError> {
        if !is_secret_shaped(id) {
            return Err(SessionError::NoSession);
        }
        self.open
            .get(&digest(id))
            .filter(|s| s.expires_ms > now_ms)
            .ok_or(SessionError::NoSession)
    }

    /// Signs a session out; true when it was open.
    pub fn revoke(&mut self, id: &str) -> bool {
        is_secret_shaped(id) && self.open.remove(&digest(id)).is_some()
    }

    /// Signs out every session of `party`; how many there were.
    pub fn revoke_party(&mut self, party: &str) -> usize {
        let before = self.open.len();
        self.open.retain(|_, s| s.party != party);
        before - self.open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(b: u8) -> [u8; SECRET_BYTES] {
        [b; SECRET_BYTES]
    }

    #[test]
    fn a_token_opens_one_session_once() {
        let mut s = Sessions::new();
        let (t, exp) = s
            .issue_token("coalition", "Maj. Smith", 3_600_000, r(1), 1000)
            .unwrap();
        assert_eq!(exp, 1000 + LOGIN_TOKEN_TTL_MS);
        let (id, sess) = s.redeem(&t, r(2), r(3), 2000).unwrap();
        assert_eq!(sess.party, "coalition");
        assert_eq!(sess.officer, "Maj. Smith");
        assert_eq!(sess.expires_ms, 2000 + 3_600_000);
        assert_ne!(sess.csrf, id);
        assert_eq!(s.get(&id, 2001).unwrap().party, "coalition");
        // Reused.
        assert_eq!(s.redeem(&t, r(4), r(5), 2002), Err(SessionError::BadToken));
    }

    #[test]
    fn an_expired_token_opens_nothing() {
        let mut s = Sessions::new();
        let (t, _) = s
            .issue_token("russia", "Col. Ivanov", 1000, r(1), 0)
            .unwrap();
        assert_eq!(
            s.redeem(&t, r(2), r(3), LOGIN_TOKEN_TTL_MS),
            Err(SessionError::BadToken)
        );
        // Valid up to its last millisecond.
        let (t, _) = s
            .issue_token("russia", "Col. Ivanov", 1000, r(7), 0)
            .unwrap();
        assert!(s.redeem(&t, r(8), r(9), LOGIN_TOKEN_TTL_MS - 1).is_ok());
    }

    #[test]
    fn sessions_expire_within_a_shift_and_can_be_revoked() {
        let mut s = Sessions::new();
        let (t, _) = s.issue_token("p", "o", i64::MAX, r(1), 0).unwrap();
        let (id, sess) = s.redeem(&t, r(2), r(3), 0).unwrap();
        assert_eq!(sess.expires_ms, SESSION_TTL_MS_MAX);
        assert!(s.get(&id, SESSION_TTL_MS_MAX - 1).is_ok());
        assert_eq!(s.get(&id, SESSION_TTL_MS_MAX), Err(SessionError::NoSession));
        let (t, _) = s.issue_token("p", "o", 1000, r(4), 0).unwrap();
        let (id, _) = s.redeem(&t, r(5), r(6), 0).unwrap();
        assert!(s.revoke(&id));
        assert!(!s.revoke(&id));
        assert_eq!(s.get(&id, 1), Err(SessionError::NoSession));
    }

    #[test]
    fn forged_and_misshaped_ids_are_refused() {
        let mut s = Sessions::new();
        let (t, _) = s.issue_token("p", "o", 1000, r(1), 0).unwrap();
        let (id, _) = s.redeem(&t, r(2), r(3), 0).unwrap();
        let mut forged = id.clone().into_bytes();
        forged[0] = if forged[0] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(s.get(&forged, 1), Err(SessionError::NoSession));
        assert_eq!(s.get("", 1), Err(SessionError::NoSession));
        assert_eq!(s.get(&format!("{id}x"), 1), Err(SessionError::NoSession));
        // The CSRF token is not a session id.
        let csrf = s.get(&id, 1).unwrap().csrf.clone();
        assert_eq!(s.get(&csrf, 1), Err(SessionError::NoSession));
    }

    #[test]
    fn full_tables_refuse_new_entries_and_keep_old_ones() {
        let mut s = Sessions::new();
        let mut tokens = Vec::new();
        for i in 0..LOGIN_TOKENS_MAX {
            let mut b = r(0);
            b[..8].copy_from_slice(&(i as u64).to_le_bytes());
            tokens.push(s.issue_token("p", "o", 1000, b, 0).unwrap().0);
        }
        assert_eq!(
            s.issue_token("p", "o", 1000, r(0xff), 0),
            Err(SessionError::TokensFull)
        );
        // Once they expire, there is room again.
        assert!(
            s.issue_token("p", "o", 1000, r(0xff), LOGIN_TOKEN_TTL_MS)
                .is_ok()
        );
        let mut s = Sessions::new();
        let mut opened = 0;
        for i in 0..(SESSIONS_MAX + 1) as u64 {
            let mut b = r(0);
            b[..8].copy_from_slice(&i.to_le_bytes());
            let mut c = r(1);
            c[..8].copy_from_slice(&i.to_le_bytes());
            let (t, _) = s.issue_token("p", "o", 1000, b, 0).unwrap();
            match s.redeem(&t, b, c, 0) {
                Ok(_) => opened += 1,
                Err(e) => assert_eq!(e, SessionError::SessionsFull),
            }
        }
        assert_eq!(opened, SESSIONS_MAX);
        assert_eq!(s.open_count(0), SESSIONS_MAX);
        assert_eq!(s.revoke_party("p"), SESSIONS_MAX);
    }

    #[test]
    fn officer_names_are_checked() {
        let mut s = Sessions::new();
        for bad in ["", "a\nb", &"x".repeat(OFFICER_CHARS_MAX + 1)] {
            assert_eq!(
                s.issue_token("p", bad, 1000, r(1), 0),
                Err(SessionError::BadOfficer)
            );
        }
        assert!(
            s.issue_token("p", "Полковник Иванов", 1000, r(1), 0)
                .is_ok()
        );
    }

    proptest::proptest! {
        #[test]
        fn random_cookies_never_open_a_session(cookie in ".{0,64}", b in proptest::prelude::any::<[u8; 32]>()) {
            let mut s = Sessions::new();
            let (t, _) = s.issue_token("p", "o", 1000, b, 0).unwrap();
            let mut other = b;
            other[0] ^= 1;
            let (id, _) = s.redeem(&t, other, b, 0).unwrap();
            proptest::prop_assume!(cookie != id);
            proptest::prop_assert!(s.get(&cookie, 1).is_err());
        }
    }
}
