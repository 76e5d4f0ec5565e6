//! The console over HTTP without a browser: sign-in links, sessions, CSRF and Origin checks,
//! and that a session reads exactly what the party's signed requests read.

mod common;

use axum::body::Body;
use axum::http::{Request, Response};
use common::*;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const ORIGIN: &str = "http://console.test";
const HOST: &str = "console.test";

struct Answer {
    status: u16,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    fn cookie(&self) -> Option<String> {
        self.headers
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().to_string())
    }
}

async fn send_raw(router: &axum::Router, req: Request<Body>) -> Answer {
    let resp: Response<Body> = router.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

/// A browser-like request: the session cookie, and for a write the CSRF token and Origin.
fn browser(
    method: &str,
    path: &str,
    cookie: Option<&str>,
    csrf: Option<&str>,
    origin: Option<&str>,
    body: &str,
) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("host", HOST);
    if let Some(c) = cookie {
        b = b.header("cookie", format!("other=1; deconflict_session={c}"));
    }
    if let Some(t) = csrf {
        b = b.header("x-csrf-token", t);
    }
    if let Some(o) = origin {
        b = b.header("origin", o);
    }
    if !body.is_empty() {
        b = b.header("content-type", "application/json");
    }
    b.body(Body::from(body.to_string())).unwrap()
}

async fn login_path(h: &Harness, party: &str, body: &str) -> String {
    let (s, v) = h
        .call("POST", "/v1/console/login-tokens", body, party)
        .await;
    assert_eq!(s, 200, "{v}");
    v["path"].as_str().unwrap().to_string()
}

/// Signs `party` in: the session cookie's value and the CSRF token.
async fn sign_in(h: &Harness, party: &str) -> (String, String) {
    let path = login_path(h, party, "{}").await;
    let a = send_raw(&h.router, browser("GET", &path, None, None, None, "")).await;
    assert_eq!(a.status, 303);
    let cookie = a.cookie().expect("a session cookie");
    let id = cookie
        .strip_prefix("deconflict_session=")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let s = send_raw(
        &h.router,
        browser("GET", "/console/session", Some(&id), None, None, ""),
    )
    .await;
    assert_eq!(s.status, 200);
    let csrf = s.json()["csrf_token"].as_str().unwrap().to_string();
    (id, csrf)
}

#[tokio::test]
async fn the_page_is_served_with_a_strict_policy_and_no_data_without_a_session() {
    let h = harness();
    let a = send_raw(&h.router, browser("GET", "/", None, None, None, "")).await;
    assert_eq!(a.status, 200);
    let csp = a.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("default-src 'none'"));
    assert!(!csp.contains("unsafe-inline"));
    let a = send_raw(
        &h.router,
        browser("GET", "/console/assets/console.js", None, None, None, ""),
    )
    .await;
    assert_eq!(a.status, 200);
    assert!(
        a.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    for path in [
        "/console/session",
        "/console/geography",
        "/console/v1/alerts",
        "/console/v1/tracks",
        "/console/v1/stream",
        "/console/v1/agreement",
        "/console/v1/line/pending",
    ] {
        let a = send_raw(&h.router, browser("GET", path, None, None, None, "")).await;
        assert_eq!(a.status, 401, "{path}");
        assert_eq!(a.json()["code"], "no_session", "{path}");
    }
    let a = send_raw(
        &h.router,
        browser("GET", "/console/assets/../Cargo.toml", None, None, None, ""),
    )
    .await;
    assert_eq!(a.status, 404);
}

#[tokio::test]
async fn a_link_opens_one_session_once_with_a_strict_cookie() {
    let h = harness();
    let path = login_path(&h, "russia", r#"{"officer": "Дежурный офицер, Хмеймим"}"#).await;
    assert!(path.starts_with("/console/login?token="));
    let a = send_raw(&h.router, browser("GET", &path, None, None, None, "")).await;
    assert_eq!(a.status, 303);
    assert_eq!(a.headers["location"], "/");
    let cookie = a.cookie().unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    // Plain HTTP here: not Secure (the browser would drop it); see the HTTPS test below.
    assert!(!cookie.contains("Secure"), "{cookie}");
    let max_age: i64 = cookie
        .split("Max-Age=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(max_age > 0 && max_age <= 12 * 3600, "{max_age}");
    // Reused: refused, and no cookie.
    let again = send_raw(&h.router, browser("GET", &path, None, None, None, "")).await;
    assert_eq!(again.status, 401);
    assert!(again.cookie().is_none());
}

#[tokio::test]
async fn an_expired_link_opens_nothing() {
    let h = harness();
    let path = login_path(&h, "coalition", "{}").await;
    h.clock.advance_ms(60_001);
    let a = send_raw(&h.router, browser("GET", &path, None, None, None, "")).await;
    assert_eq!(a.status, 401);
    assert!(a.cookie().is_none());
    // A made-up token, and none.
    for p in [
        "/console/login?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "/console/login",
        "/console/login?token=%3Cscript%3E",
    ] {
        let a = send_raw(&h.router, browser("GET", p, None, None, None, "")).await;
        assert_eq!(a.status, 401, "{p}");
        assert!(a.cookie().is_none());
    }
}

#[tokio::test]
async fn sessions_end_within_a_shift_and_on_sign_out() {
    let h = harness();
    let (id, csrf) = sign_in(&h, "coalition").await;
    h.clock.advance_ms(12 * 3600 * 1000 - 1);
    let a = send_raw(
        &h.router,
        browser("GET", "/console/v1/alerts", Some(&id), None, None, ""),
    )
    .await;
    assert_eq!(a.status, 200);
    h.clock.advance_ms(1);
    let a = send_raw(
        &h.router,
        browser("GET", "/console/v1/alerts", Some(&id), None, None, ""),
    )
    .await;
    assert_eq!(a.status, 401);

    let (id, csrf2) = sign_in(&h, "coalition").await;
    assert_ne!(csrf, csrf2);
    // Sign-out is a write: it needs the CSRF token too.
    let a = send_raw(
        &h.router,
        browser(
            "POST",
            "/console/logout",
            Some(&id),
            None,
            Some(ORIGIN),
            "{}",
        ),
    )
    .await;
    assert_eq!(a.status, 403);
    let a = send_raw(
        &h.router,
        browser(
            "POST",
            "/console/logout",
            Some(&id),
            Some(&csrf2),
            Some(ORIGIN),
            "{}",
        ),
    )
    .await;
    assert_eq!(a.status, 204);
    assert!(a.cookie().unwrap().contains("Max-Age=0"));
    let a = send_raw(
        &h.router,
        browser("GET", "/console/session", Some(&id), None, None, ""),
    )
    .await;
    assert_eq!(a.status, 401);
}

#[tokio::test]
async fn forged_cookies_get_no_data() {
    let h = harness();
    let (id, csrf) = sign_in(&h, "coalition").await;
    let mut forged = id.clone().into_bytes();
    forged[10] = if forged[10] == b'x' { b'y' } else { b'x' };
    let forged = String::from_utf8(forged).unwrap();
    for cookie in [
        forged.as_str(),
        csrf.as_str(),
        "",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &format!("{id}A"),
    ] {
        let a = send_raw(
            &h.router,
            browser("GET", "/console/v1/tracks", Some(cookie), None, None, ""),
        )
        .await;
        assert_eq!(a.status, 401, "{cookie}");
        assert!(a.json().get("code").is_some());
    }
}

#[tokio::test]
async fn writes_need_the_csrf_token_and_this_services_origin() {
    let h = harness();
    let (id, csrf) = sign_in(&h, "russia").await;
    let ack = json!({"officer": "x", "time_unix_ms": T0_MS, "entry_signature": "AA=="}).to_string();
    let path = "/console/v1/line/messages/M-1/ack";
    let before = h.state.metrics.rejected_count("csrf_token_invalid");
    for (csrf, origin, code) in [
        (None, Some(ORIGIN), "csrf_token_invalid"),
        (Some("wrong"), Some(ORIGIN), "csrf_token_invalid"),
        (Some(csrf.as_str()), None, "origin_refused"),
        (
            Some(csrf.as_str()),
            Some("http://evil.test"),
            "origin_refused",
        ),
        (
            Some(csrf.as_str()),
            Some("https://console.test"),
            "origin_refused",
        ),
    ] {
        let a = send_raw(
            &h.router,
            browser("POST", path, Some(&id), csrf, origin, &ack),
        )
        .await;
        assert_eq!(a.status, 403, "{csrf:?} {origin:?}");
        assert_eq!(a.json()["code"], code);
    }
    assert_eq!(
        h.state.metrics.rejected_count("csrf_token_invalid"),
        before + 2,
        "refusals are counted"
    );
    // With both, the request reaches the line's own handler (which refuses the signature).
    let a = send_raw(
        &h.router,
        browser("POST", path, Some(&id), Some(&csrf), Some(ORIGIN), &ack),
    )
    .await;
    assert_eq!(a.status, 422, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.json()["code"], "entry_signature_invalid");
}

#[tokio::test]
async fn a_session_reads_exactly_what_its_partys_signed_requests_read() {
    let h = harness();
    for (party, track, lon) in [("coalition", "c1", 39.0), ("russia", "r1", 39.22)] {
        let heading = if party == "coalition" { 90.0 } else { 270.0 };
        let (s, _) = h
            .call(
                "POST",
                "/v1/tracks",
                &report(track, T0_MS, 35.0, lon, 7000.0, heading, 200.0).to_string(),
                party,
            )
            .await;
        assert_eq!(s, 200);
    }
    h.state.run_cycle().await.unwrap();
    for party in ["coalition", "russia"] {
        let (id, _) = sign_in(&h, party).await;
        for path in [
            "/v1/tracks",
            "/v1/alerts",
            "/v1/agreement",
            "/v1/line/pending",
        ] {
            let (s, signed) = h.call("GET", path, "", party).await;
            assert_eq!(s, 200);
            let a = send_raw(
                &h.router,
                browser("GET", &format!("/console{path}"), Some(&id), None, None, ""),
            )
            .await;
            assert_eq!(a.status, 200, "{path}");
            // The agreement view holds "last heard" times that this very request changes.
            if path != "/v1/agreement" {
                assert_eq!(a.json(), signed, "{party} {path}");
            } else {
                assert_eq!(a.json()["status"], signed["status"]);
            }
        }
    }
    // Russia's session sees the coalition's aircraft with its disclosed fields only (the test
    // agreement: position, altitude, callsign; not the squawk or the type).
    let (id, _) = sign_in(&h, "russia").await;
    let a = send_raw(
        &h.router,
        browser("GET", "/console/v1/tracks", Some(&id), None, None, ""),
    )
    .await;
    let body = String::from_utf8(a.body.clone()).unwrap();
    let tracks = a.json();
    let c1 = tracks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["track_id"] == "c1")
        .unwrap();
    assert!(c1.get("lat_deg").is_some());
    assert!(
        c1.get("squawk").is_none() && c1.get("aircraft_type").is_none(),
        "{c1}"
    );
    assert_eq!(
        body.matches("7777").count(),
        1,
        "only Russia's own squawk: {body}"
    );
    // The alert for Russia.
    let alerts = send_raw(
        &h.router,
        browser("GET", "/console/v1/alerts", Some(&id), None, None, ""),
    )
    .await
    .json();
    assert_eq!(alerts[0]["own"]["track_id"], "r1");
    assert!(alerts[0]["other"].get("squawk").is_none());
}

#[tokio::test]
async fn a_session_cannot_mint_links_and_a_link_names_a_rostered_officer() {
    let h = harness();
    let (id, csrf) = sign_in(&h, "coalition").await;
    let a = send_raw(
        &h.router,
        browser(
            "POST",
            "/console/v1/console/login-tokens",
            Some(&id),
            Some(&csrf),
            Some(ORIGIN),
            "{}",
        ),
    )
    .await;
    assert_eq!(a.status, 404);
    let (s, v) = h
        .call(
            "POST",
            "/v1/console/login-tokens",
            r#"{"officer": "Nobody"}"#,
            "coalition",
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (422, Some("unknown_officer")));
    let (s, v) = h
        .call(
            "POST",
            "/v1/console/login-tokens",
            r#"{"session_ttl_ms": 43200001}"#,
            "coalition",
        )
        .await;
    assert_eq!((s, v["field"].as_str()), (422, Some("session_ttl_ms")));
    let (s, v) = h
        .call(
            "POST",
            "/v1/console/login-tokens",
            r#"{"x": 1}"#,
            "coalition",
        )
        .await;
    assert_eq!(s, 422, "{v}");
    // Unsigned: refused by the signature layer.
    let a = send_raw(
        &h.router,
        browser("POST", "/v1/console/login-tokens", None, None, None, "{}"),
    )
    .await;
    assert_eq!(a.status, 401);
}

#[tokio::test]
async fn over_https_the_cookie_is_secure() {
    let h = harness();
    let router = h
        .router
        .clone()
        .layer(axum::Extension(deconflict_service::console_api::Https));
    let path = login_path(&h, "coalition", "{}").await;
    let a = send_raw(&router, browser("GET", &path, None, None, None, "")).await;
    assert_eq!(a.status, 303);
    assert!(a.cookie().unwrap().contains("; Secure"));
}

#[tokio::test]
async fn the_page_signs_entries_the_service_builds_and_checks() {
    use base64::Engine as _;
    use ed25519_dalek::Signer as _;
    let h = harness();
    let (cid, ccsrf) = sign_in(&h, "coalition").await;
    let (rid, rcsrf) = sign_in(&h, "russia").await;
    let draft = json!({
        "to": "russia",
        "subject": {"kind": "general", "id": "strike-1"},
        "body": {
            "type": "strike_warning", "activity": "strike",
            "area": {"shape": "circle", "centre": {"lat_udeg": 35333611, "lon_udeg": 40140833}, "radius_mm": 3704000},
            "altitude_block": {"lower_mm": 4572000, "upper_mm": 7620000},
            "window": {"start_ms": T0_MS + 600_000, "end_ms": T0_MS + 2_400_000}
        }
    });
    let sign = |b64: &str, party: &str| {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        base64::engine::general_purpose::STANDARD.encode(key(party).sign(&bytes).to_bytes())
    };
    let a = send_raw(
        &h.router,
        browser(
            "POST",
            "/console/entries/message",
            Some(&cid),
            Some(&ccsrf),
            Some(ORIGIN),
            &draft.to_string(),
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let to_sign = a.json();
    let message = to_sign["message"].clone();
    assert_eq!(message["from"], "coalition");
    // Signed with the wrong party's key: refused by the line's own check.
    let wrong = json!({"message": message, "entry_signature": sign(to_sign["signing_input"].as_str().unwrap(), "russia")});
    let a = send_raw(
        &h.router,
        browser(
            "POST",
            "/console/v1/line/messages",
            Some(&cid),
            Some(&ccsrf),
            Some(ORIGIN),
            &wrong.to_string(),
        ),
    )
    .await;
    assert_eq!(a.status, 422);
    let right = json!({"message": message, "entry_signature": sign(to_sign["signing_input"].as_str().unwrap(), "coalition")});
    let a = send_raw(
        &h.router,
        browser(
            "POST",
            "/console/v1/line/messages",
            Some(&cid),
            Some(&ccsrf),
            Some(ORIGIN),
            &right.to_string(),
        ),
    )
    .await;
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let id = message["id"].as_str().unwrap().to_string();
    // Russia's officer acknowledges; the officer recorded is the session's.
    let a = send_raw(
        &h.router,
        browser("GET", "/console/session", Some(&rid), None, None, ""),
    )
    .await;
    let officer = a.json()["officer"].as_str().unwrap().to_string();
    let req = json!({"message_id": id, "time_unix_ms": T0_MS});
    let a = send_raw(
        &h.router,
        browser(
            "POST",
            "/console/entries/ack",
            Some(&rid),
            Some(&rcsrf),
            Some(ORIGIN),
            &req.to_string(),
        ),
    )
    .await;
    assert_eq!(a.status, 200);
    let ack = json!({"officer": officer, "time_unix_ms": T0_MS,
        "entry_signature": sign(a.json()["signing_input"].as_str().unwrap(), "russia")});
    let a = send_raw(
        &h.router,
        browser(
            "POST",
            &format!("/console/v1/line/messages/{id}/ack"),
            Some(&rid),
            Some(&rcsrf),
            Some(ORIGIN),
            &ack.to_string(),
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let (_, v) = h
        .call("GET", &format!("/v1/line/messages/{id}"), "", "coalition")
        .await;
    assert_eq!(v["acknowledged"]["officer"], officer.as_str());
}
