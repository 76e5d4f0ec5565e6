//! The line over HTTP without sockets: signed sends and acknowledgements, exactly-once
//! acknowledgement, bad input refused with nothing changed, deadlines and escalation on both
//! streams on a virtual clock, a restart in the middle of an escalation, link tests, the
//! engine's alerts opening conversations on both sides, and a third party kept out.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use deconflict_client::auth;
use deconflict_line::Message;
use deconflict_service::line::{log_entry_for_ack, log_entry_for_message, sign_entry};
use deconflict_service::{Config, ManualClock, State, Terms};
use deconflict_store::{SqliteStore, Store};
use ed25519_dalek::SigningKey;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// 2017-04-12T08:00:00Z: the coalition's day officer and Russia's only contact are on duty.
const T0_MS: i64 = 1_491_984_000_000;
const COALITION_DAY: &str = "CAOC duty officer, day";
const RUSSIA_DUTY: &str = "Дежурный офицер, Хмеймим";
const RUSSIA_COMMAND: &str = "Russian Federation command";
const COALITION_COMMAND: &str = "Coalition command";

fn key(party: &str) -> SigningKey {
    match party {
        "coalition" => SigningKey::from_bytes(&[1; 32]),
        "russia" => SigningKey::from_bytes(&[2; 32]),
        "observer" => SigningKey::from_bytes(&[3; 32]),
        _ => SigningKey::from_bytes(&[9; 32]),
    }
}

fn secret(party: &str) -> deconflict_agreement::SecretKey {
    deconflict_agreement::SecretKey::from_seed(key(party).to_bytes())
}

/// The template agreement (its example keys are the seeds of [`key`]), with a third party
/// when `observer` is set.
fn agreement(observer: bool) -> deconflict_agreement::Agreement {
    let mut toml = deconflict_agreement::TEMPLATE_TOML.to_string();
    if observer {
        toml.push_str(&format!(
            "\n[[party]]\nid = \"observer\"\nname = \"Observer\"\nlanguage = \"en\"\n\
             public_key = \"{}\"\ndisclose_track = []\ndisclose_notification = []\n\n\
             [[party.contact]]\nname = \"Observer desk\"\nrole = \"duty officer\"\n\
             shift_utc = \"00:00-24:00\"\n",
            secret("observer").public_key().to_text()
        ));
    }
    deconflict_agreement::parse_toml(&toml).unwrap()
}

fn terms(observer: bool) -> Terms {
    let a = agreement(observer);
    assert_eq!(
        a.parties()[0].public_key(),
        &secret("coalition").public_key(),
        "template keys changed"
    );
    let sigs = a
        .parties()
        .iter()
        .map(|p| {
            deconflict_agreement::AgreementSignature::sign(&a, p.id(), &secret(p.id().as_str()))
                .unwrap()
        })
        .collect();
    Terms::from_agreement(&a).unwrap().with_signatures(sigs)
}

struct H {
    state: Arc<State>,
    router: Router,
    clock: ManualClock,
}

fn open(observer: bool, store: Box<dyn Store>, clock: &ManualClock) -> H {
    open_terms(terms(observer), true, store, clock)
}

/// A service on `terms`, `all_signed` as `State::open` takes it.
fn open_terms(terms: Terms, all_signed: bool, store: Box<dyn Store>, clock: &ManualClock) -> H {
    let state = State::open(
        Config::default(),
        terms,
        all_signed,
        store,
        Arc::new(clock.clone()),
    )
    .unwrap();
    let (router, _) = deconflict_service::api::router(state.clone());
    H {
        state,
        router,
        clock: clock.clone(),
    }
}

fn harness() -> H {
    let clock = ManualClock::new(T0_MS);
    open(
        false,
        Box::new(SqliteStore::open_in_memory().unwrap()),
        &clock,
    )
}

fn signed_as(
    method: &str,
    path: &str,
    body: &[u8],
    party: &str,
    signer: &SigningKey,
    created_s: i64,
) -> Request<Body> {
    let headers = auth::sign_request(
        method,
        path,
        body,
        party,
        signer,
        created_s,
        &auth::new_nonce(),
    );
    let mut b = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        b = b.header(k, v);
    }
    b.header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .unwrap()
}

impl H {
    fn now_ms(&self) -> i64 {
        use deconflict_service::Clock;
        self.clock.now_ms()
    }

    async fn send(&self, req: Request<Body>) -> (u16, Value) {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn call(&self, method: &str, path: &str, body: &str, party: &str) -> (u16, Value) {
        let req = signed_as(
            method,
            path,
            body.as_bytes(),
            party,
            &key(party),
            self.now_ms() / 1000,
        );
        self.send(req).await
    }

    /// `(kind, body)` of every line event on `party`'s stream, oldest first.
    async fn line_events(&self, party: &str) -> Vec<(String, Value)> {
        self.state
            .events_after(party, 0, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind.starts_with("line_"))
            .map(|e| (e.kind, serde_json::from_str(&e.body).unwrap()))
            .collect()
    }

    async fn kinds(&self, party: &str) -> Vec<String> {
        self.line_events(party)
            .await
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }

    /// Everything a refused request must leave as it was.
    async fn snapshot(&self) -> (u64, u64, u64, Value, Value) {
        let st = self.state.clone();
        let (log, c, r) = st
            .with_store(|s| {
                (
                    s.line_last_seq().unwrap(),
                    s.last_seq("coalition").unwrap(),
                    s.last_seq("russia").unwrap(),
                )
            })
            .await
            .unwrap();
        let (_, pc) = self.call("GET", "/v1/line/pending", "", "coalition").await;
        let (_, pr) = self.call("GET", "/v1/line/pending", "", "russia").await;
        (log, c, r, pc, pr)
    }

    async fn cycle_at(&self, t_ms: i64) {
        self.clock.set_ms(t_ms);
        self.state.run_cycle().await.unwrap();
    }
}

fn strike_warning(id: &str, from: &str, to: &str, t_ms: i64) -> Message {
    let v = json!({
        "id": id, "from": from, "to": to, "sent_at_ms": t_ms,
        "subject": {"kind": "notification", "id": "N-7"},
        "body": {
            "type": "strike_warning", "activity": "strike",
            "area": {"shape": "circle", "centre": {"lat_udeg": 35_333_000, "lon_udeg": 40_150_000}, "radius_mm": 9_260_000},
            "altitude_block": {"lower_mm": 0, "upper_mm": 9_144_000},
            "window": {"start_ms": t_ms + 600_000, "end_ms": t_ms + 3_600_000}
        }
    });
    serde_json::from_value(v).unwrap()
}

fn free_text(id: &str, from: &str, to: &str, t_ms: i64) -> Message {
    serde_json::from_value(json!({
        "id": id, "from": from, "to": to, "sent_at_ms": t_ms,
        "subject": {"kind": "notification", "id": "N-7"},
        "body": {"type": "free_text", "written_in": "en", "text": "Confirm window."}
    }))
    .unwrap()
}

fn send_body(m: &Message, signer: &str) -> String {
    let sig = sign_entry(log_entry_for_message(m).unwrap(), &key(signer)).unwrap();
    json!({"message": m, "entry_signature": sig}).to_string()
}

fn ack_body(party: &str, id: &str, officer: &str, t_ms: i64) -> String {
    let entry = log_entry_for_ack(party, id, officer, t_ms).unwrap();
    let sig = sign_entry(entry, &key(party)).unwrap();
    json!({"officer": officer, "time_unix_ms": t_ms, "entry_signature": sig}).to_string()
}

async fn send_warning(h: &H, id: &str) {
    let m = strike_warning(id, "coalition", "russia", h.now_ms());
    let (s, v) = h
        .call(
            "POST",
            "/v1/line/messages",
            &send_body(&m, "coalition"),
            "coalition",
        )
        .await;
    assert_eq!(s, 201, "{v}");
}

#[tokio::test]
async fn every_line_endpoint_refuses_no_signature_a_foreign_key_and_a_replay() {
    let h = harness();
    send_warning(&h, "coalition-1").await;
    let m = strike_warning("coalition-2", "coalition", "russia", h.now_ms());
    let endpoints = [
        (
            "POST",
            "/v1/line/messages".to_string(),
            send_body(&m, "coalition"),
        ),
        (
            "POST",
            "/v1/line/messages/coalition-1/ack".into(),
            ack_body("russia", "coalition-1", RUSSIA_DUTY, h.now_ms()),
        ),
        ("GET", "/v1/line/messages/coalition-1".into(), String::new()),
        ("GET", "/v1/line/pending".into(), String::new()),
        ("GET", "/v1/line/conversations".into(), String::new()),
        (
            "GET",
            "/v1/line/conversations/notification/N-7?lang=ru".into(),
            String::new(),
        ),
        ("GET", "/v1/line/reachability".into(), String::new()),
    ];
    let before = h.snapshot().await;
    for (method, path, body) in &endpoints {
        let party = if path.ends_with("/ack") {
            "russia"
        } else {
            "coalition"
        };
        let unsigned = Request::builder()
            .method(*method)
            .uri(path.as_str())
            .body(Body::from(body.clone()))
            .unwrap();
        let (s, v) = h.send(unsigned).await;
        assert_eq!(s, 401, "{method} {path} unsigned: {v}");
        // Signed with the other party's key while claiming to be `party`.
        let other = if party == "russia" {
            "coalition"
        } else {
            "russia"
        };
        let forged = signed_as(
            method,
            path,
            body.as_bytes(),
            party,
            &key(other),
            h.now_ms() / 1000,
        );
        let (s, v) = h.send(forged).await;
        assert_eq!(s, 401, "{method} {path} foreign key: {v}");
        assert_eq!(v["code"], "signature_invalid", "{v}");
    }
    assert_eq!(
        h.snapshot().await,
        before,
        "refused requests changed nothing"
    );
    // A replay: the same signed request (same nonce) twice; the second is refused.
    for (method, path, body) in &endpoints {
        let party = if path.ends_with("/ack") {
            "russia"
        } else {
            "coalition"
        };
        let headers = auth::sign_request(
            method,
            path,
            body.as_bytes(),
            party,
            &key(party),
            h.now_ms() / 1000,
            &auth::new_nonce(),
        );
        let build = || {
            let mut b = Request::builder().method(*method).uri(path.as_str());
            for (k, v) in &headers {
                b = b.header(*k, v.as_str());
            }
            b.body(Body::from(body.clone())).unwrap()
        };
        let (first, v) = h.send(build()).await;
        assert!(first < 300, "{method} {path} first: {first} {v}");
        let (s, v) = h.send(build()).await;
        assert_eq!(s, 401, "{method} {path} replay: {v}");
    }
}

/// A draft carries no line: a message sent before every party has signed is refused with its
/// own code and the reason, and nothing reaches the recipient.
#[tokio::test]
async fn a_draft_agreement_refuses_line_messages() {
    let clock = ManualClock::new(T0_MS);
    let a = agreement(false);
    let only_coalition = deconflict_agreement::AgreementSignature::sign(
        &a,
        a.parties()[0].id(),
        &secret("coalition"),
    )
    .unwrap();
    let draft = Terms::from_agreement(&a)
        .unwrap()
        .with_signatures(vec![only_coalition]);
    let h = open_terms(
        draft,
        false,
        Box::new(SqliteStore::open_in_memory().unwrap()),
        &clock,
    );
    assert_eq!(h.state.status(), deconflict_service::Status::Draft);
    let m = strike_warning("coalition-1", "coalition", "russia", h.now_ms());
    let (s, v) = h
        .call(
            "POST",
            "/v1/line/messages",
            &send_body(&m, "coalition"),
            "coalition",
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("agreement_draft")),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("draft"), "{v}");
    let (s, v) = h
        .call("GET", "/v1/line/messages/coalition-1", "", "coalition")
        .await;
    assert_eq!(s, 404, "{v}");
    assert!(h.kinds("russia").await.is_empty());
}

#[tokio::test]
async fn send_then_ack_and_the_repeats_count_once() {
    let h = harness();
    let m = strike_warning("coalition-1", "coalition", "russia", h.now_ms());
    let body = send_body(&m, "coalition");
    let (s, v) = h
        .call("POST", "/v1/line/messages", &body, "coalition")
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["message_id"], "coalition-1");
    assert_eq!(v["accepted_unix_ms"], T0_MS);
    // The agreement's strike-warning deadline: 120 s.
    assert_eq!(v["deadline_unix_ms"], T0_MS + 120_000);
    assert_eq!(v["duplicate"], false);
    // A resend after a reconnect: the same message, nothing new.
    h.clock.advance_ms(5_000);
    let (s, v) = h
        .call("POST", "/v1/line/messages", &body, "coalition")
        .await;
    assert_eq!((s, &v["duplicate"]), (200, &json!(true)), "{v}");
    assert_eq!(v["accepted_unix_ms"], T0_MS);
    assert_eq!(h.kinds("russia").await, vec!["line_message"]);

    let (_, p) = h.call("GET", "/v1/line/pending", "", "russia").await;
    assert_eq!(p["to_acknowledge"][0]["message"]["id"], "coalition-1");
    assert_eq!(p["to_acknowledge"][0]["holder"], RUSSIA_DUTY);
    let (_, p) = h.call("GET", "/v1/line/pending", "", "coalition").await;
    assert_eq!(p["awaiting_others"][0]["message"]["id"], "coalition-1");

    let t = h.now_ms();
    let ack = ack_body("russia", "coalition-1", RUSSIA_DUTY, t);
    let (s, v) = h
        .call("POST", "/v1/line/messages/coalition-1/ack", &ack, "russia")
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v,
        json!({"message_id": "coalition-1", "acknowledged_unix_ms": T0_MS + 5_000,
               "late": false, "escalations": 0, "duplicate": false})
    );
    // The same officer's acknowledgement again, even later: counted once.
    h.clock.advance_ms(1_000);
    let again = ack_body("russia", "coalition-1", RUSSIA_DUTY, h.now_ms());
    let (s, v) = h
        .call(
            "POST",
            "/v1/line/messages/coalition-1/ack",
            &again,
            "russia",
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["duplicate"], true);
    assert_eq!(v["acknowledged_unix_ms"], T0_MS + 5_000);
    assert_eq!(
        h.kinds("coalition").await,
        vec!["line_acknowledged"],
        "the sender sees one acknowledgement"
    );
    assert_eq!(
        h.kinds("russia").await,
        vec!["line_message", "line_acknowledged"]
    );
    let (_, m) = h
        .call("GET", "/v1/line/messages/coalition-1", "", "coalition")
        .await;
    assert_eq!(
        m["acknowledged"],
        json!({"officer": RUSSIA_DUTY, "at_unix_ms": T0_MS + 5_000, "late": false})
    );
    assert_eq!(m["holder"], Value::Null);
    let (_, p) = h.call("GET", "/v1/line/pending", "", "russia").await;
    assert_eq!(p["to_acknowledge"], json!([]));
    let metrics = h.state.metrics.render();
    assert!(
        metrics.contains("deconflict_line_acks_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("deconflict_line_messages_total 1\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn bad_acknowledgements_are_refused_by_kind_and_change_nothing() {
    let clock = ManualClock::new(T0_MS);
    let h = open(
        true,
        Box::new(SqliteStore::open_in_memory().unwrap()),
        &clock,
    );
    send_warning(&h, "coalition-1").await;
    let (s, _) = h
        .call(
            "POST",
            "/v1/line/messages/coalition-1/ack",
            &ack_body("russia", "coalition-1", RUSSIA_DUTY, T0_MS),
            "russia",
        )
        .await;
    assert_eq!(s, 200);
    send_warning(&h, "coalition-2").await;
    let t = h.now_ms();
    let cases = [
        // The sender acknowledging its own message.
        (
            "coalition",
            "coalition-2",
            COALITION_DAY,
            403,
            "not_recipient",
            None,
        ),
        // A party the message is not between: it does not exist for it.
        (
            "observer",
            "coalition-2",
            "Observer desk",
            404,
            "not_found",
            None,
        ),
        (
            "russia",
            "no-such-message",
            RUSSIA_DUTY,
            404,
            "not_found",
            None,
        ),
        // Already acknowledged, by another officer.
        (
            "russia",
            "coalition-1",
            RUSSIA_COMMAND,
            409,
            "already_acknowledged",
            None,
        ),
        // Not on Russia's roster.
        (
            "russia",
            "coalition-2",
            COALITION_DAY,
            422,
            "unknown_officer",
            Some("officer"),
        ),
    ];
    let before = h.snapshot().await;
    for (party, id, officer, status, code, field) in cases {
        let body = ack_body(party, id, officer, t);
        let (s, v) = h
            .call("POST", &format!("/v1/line/messages/{id}/ack"), &body, party)
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (status, Some(code)),
            "{party} {id} {officer}: {v}"
        );
        if let Some(f) = field {
            assert_eq!(v["field"], f, "{v}");
        }
        assert!(!v["message"].as_str().unwrap_or("").is_empty());
    }
    // A signature over another acknowledgement, or by another key.
    let mut wrong: Value =
        serde_json::from_str(&ack_body("russia", "coalition-2", RUSSIA_DUTY, t + 1)).unwrap();
    wrong["time_unix_ms"] = json!(t);
    let (s, v) = h
        .call(
            "POST",
            "/v1/line/messages/coalition-2/ack",
            &wrong.to_string(),
            "russia",
        )
        .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (422, Some("entry_signature")),
        "{v}"
    );
    // Missing fields and unknown fields name the field.
    for (body, field) in [
        (
            json!({"officer": RUSSIA_DUTY, "entry_signature": "x"}),
            "time_unix_ms",
        ),
        (
            json!({"time_unix_ms": t, "entry_signature": "x"}),
            "officer",
        ),
        (
            json!({"officer": RUSSIA_DUTY, "time_unix_ms": t, "entry_signature": "x", "colour": 1}),
            "colour",
        ),
    ] {
        let (s, v) = h
            .call(
                "POST",
                "/v1/line/messages/coalition-2/ack",
                &body.to_string(),
                "russia",
            )
            .await;
        assert_eq!((s, v["field"].as_str()), (422, Some(field)), "{v}");
    }
    assert_eq!(h.snapshot().await, before, "nothing changed");
    let metrics = h.state.metrics.render();
    assert!(
        metrics.contains("deconflict_line_refused_total{reason=\"already_acknowledged\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn bad_messages_name_the_field_and_change_nothing() {
    let h = harness();
    let t = h.now_ms();
    let good: Value =
        serde_json::to_value(strike_warning("coalition-9", "coalition", "russia", t)).unwrap();
    let signed = |m: &Value| {
        // Signed as if it were valid; the service refuses it before the signature matters.
        json!({"message": m, "entry_signature": "AAAA"}).to_string()
    };
    let mut unknown_type = good.clone();
    unknown_type["body"]["type"] = json!("strike_warnin");
    let mut missing_area = good.clone();
    missing_area["body"].as_object_mut().unwrap().remove("area");
    let mut bad_lat = good.clone();
    bad_lat["body"]["area"]["centre"]["lat_udeg"] = json!(200_000_000);
    let mut to_self = good.clone();
    to_self["to"] = json!("coalition");
    let mut to_stranger = good.clone();
    to_stranger["to"] = json!("atlantis");
    let mut ack_kind = good.clone();
    ack_kind["body"] = json!({"type": "acknowledgement", "of": "x", "officer": "y"});
    let cases = [
        (signed(&unknown_type), 422, "message.body.type"),
        (signed(&missing_area), 422, "message.body.area"),
        // Inside a message body, serde names the body and the message says what is out of range.
        (signed(&bad_lat), 422, "message.body"),
        (signed(&to_self), 422, "message"),
        (signed(&to_stranger), 422, "message.to"),
        (signed(&ack_kind), 422, "message.body.type"),
        (json!({"message": good}).to_string(), 422, "entry_signature"),
        (signed(&good), 422, "entry_signature"),
        // Signed by the sender, but claims another author.
        (
            send_body(
                &strike_warning("russia-9", "russia", "coalition", t),
                "russia",
            ),
            403,
            "message.from",
        ),
    ];
    let before = h.snapshot().await;
    for (body, status, field) in cases {
        let (s, v) = h
            .call("POST", "/v1/line/messages", &body, "coalition")
            .await;
        assert_eq!(s, status, "{body}: {v}");
        let got = v["field"].as_str().unwrap_or("");
        assert!(
            got == field || got.starts_with(field),
            "{field} vs {got}: {v}"
        );
        assert!(!v["message"].as_str().unwrap_or("").is_empty());
    }
    // Padded beyond the largest message: refused before parsing.
    let padded = format!(
        "{}{}",
        " ".repeat(70_000),
        send_body(
            &strike_warning("coalition-big", "coalition", "russia", t),
            "coalition"
        )
    );
    let (s, v) = h
        .call("POST", "/v1/line/messages", &padded, "coalition")
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (413, Some("body_too_large")),
        "{v}"
    );
    // Too far from the service's clock.
    let old = strike_warning("coalition-old", "coalition", "russia", t - 3_600_000);
    let (s, v) = h
        .call(
            "POST",
            "/v1/line/messages",
            &send_body(&old, "coalition"),
            "coalition",
        )
        .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (422, Some("message.sent_at_ms")),
        "{v}"
    );
    assert_eq!(h.snapshot().await, before, "nothing changed");
    // The same id with different content is a conflict, and the first message stands.
    send_warning(&h, "coalition-9").await;
    let other = free_text("coalition-9", "coalition", "russia", t);
    let (s, v) = h
        .call(
            "POST",
            "/v1/line/messages",
            &send_body(&other, "coalition"),
            "coalition",
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("id_taken")), "{v}");
    let (_, m) = h
        .call("GET", "/v1/line/messages/coalition-9", "", "coalition")
        .await;
    assert_eq!(m["kind"], "strike_warning");
}

#[tokio::test]
async fn an_unanswered_warning_is_overdue_then_escalates_to_the_command_on_both_streams() {
    let h = harness();
    send_warning(&h, "coalition-1").await;
    h.cycle_at(T0_MS + 119_999).await;
    assert_eq!(h.kinds("coalition").await, Vec::<String>::new());
    h.cycle_at(T0_MS + 120_000).await;
    for party in ["coalition", "russia"] {
        let ev = h.line_events(party).await;
        let kinds: Vec<&str> = ev.iter().map(|(k, _)| k.as_str()).collect();
        let tail = &kinds[kinds.len() - 2..];
        assert_eq!(
            tail,
            ["line_overdue", "line_escalated"],
            "{party}: {kinds:?}"
        );
        let (_, esc) = ev.last().unwrap();
        assert_eq!(esc["message_id"], "coalition-1");
        assert_eq!(esc["to_officer"], RUSSIA_COMMAND);
        assert_eq!(esc["at_ms"], T0_MS + 120_000);
    }
    // Both sides list it as overdue; the sender sees who holds it now and since when.
    for party in ["coalition", "russia"] {
        let (_, p) = h.call("GET", "/v1/line/pending", "", party).await;
        let o = &p["overdue"][0];
        assert_eq!(o["message"]["id"], "coalition-1", "{party}: {p}");
        assert_eq!(o["overdue_unix_ms"], T0_MS + 120_000);
        assert_eq!(o["holder"], RUSSIA_COMMAND);
        // The command has its own deadline, one step after the escalation.
        assert_eq!(o["holder_deadline_unix_ms"], T0_MS + 240_000);
        assert_eq!(o["level"], 1);
        assert_eq!(
            o["escalations"],
            json!([{"to": RUSSIA_COMMAND, "at_unix_ms": T0_MS + 120_000}])
        );
    }
    // The command acknowledges, late.
    h.clock.set_ms(T0_MS + 150_000);
    let (s, v) = h
        .call(
            "POST",
            "/v1/line/messages/coalition-1/ack",
            &ack_body("russia", "coalition-1", RUSSIA_COMMAND, T0_MS + 150_000),
            "russia",
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["late"].as_bool(), v["escalations"].as_u64()),
        (Some(true), Some(1))
    );
    let (_, m) = h
        .call("GET", "/v1/line/messages/coalition-1", "", "coalition")
        .await;
    assert_eq!(
        (
            m["holder"].is_null(),
            m["holder_deadline_unix_ms"].is_null()
        ),
        (true, true),
        "acknowledged: nobody holds it any more: {m}"
    );
    h.cycle_at(T0_MS + 400_000).await;
    assert_eq!(
        h.kinds("coalition").await,
        vec!["line_overdue", "line_escalated", "line_acknowledged"]
    );
    let metrics = h.state.metrics.render();
    assert!(
        metrics.contains("deconflict_line_escalations_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("deconflict_line_overdue_total 1\n"),
        "{metrics}"
    );
}

/// Opens a service over the SQLite file in `dir` on `clock`.
fn open_file(dir: &tempfile::TempDir, clock: &ManualClock) -> H {
    let store = SqliteStore::open(&dir.path().join("db.sqlite")).unwrap();
    open(false, Box::new(store), clock)
}

#[tokio::test]
async fn a_restart_in_the_middle_of_an_escalation_continues_it_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0_MS);
    let h = open_file(&dir, &clock);
    send_warning(&h, "coalition-1").await;
    // The first deadline passes while the service is down.
    drop(h);
    clock.set_ms(T0_MS + 130_000);
    let h = open_file(&dir, &clock);
    h.cycle_at(T0_MS + 130_000).await;
    h.cycle_at(T0_MS + 131_000).await;
    assert_eq!(
        h.kinds("coalition").await,
        vec!["line_overdue", "line_escalated"]
    );
    let (_, m) = h
        .call("GET", "/v1/line/messages/coalition-1", "", "coalition")
        .await;
    // The escalation took effect at the deadline, not when the service came back.
    assert_eq!(m["escalations"][0]["at_unix_ms"], T0_MS + 120_000);
    // Down again, across the command's deadline: the message ends unanswered, once.
    drop(h);
    let h = open_file(&dir, &clock);
    assert_eq!(
        h.kinds("coalition").await.len(),
        2,
        "a restart alone emits nothing"
    );
    h.cycle_at(T0_MS + 240_000).await;
    drop(h);
    let h = open_file(&dir, &clock);
    h.cycle_at(T0_MS + 300_000).await;
    for party in ["coalition", "russia"] {
        assert_eq!(
            h.kinds(party)
                .await
                .iter()
                .filter(|k| *k != "line_message")
                .collect::<Vec<_>>(),
            vec!["line_overdue", "line_escalated", "line_unanswered"],
            "{party}"
        );
    }
    // An acknowledgement is still accepted, late, and counted once across the restarts.
    h.clock.set_ms(T0_MS + 310_000);
    let body = ack_body("russia", "coalition-1", RUSSIA_COMMAND, T0_MS + 310_000);
    let (s, v) = h
        .call("POST", "/v1/line/messages/coalition-1/ack", &body, "russia")
        .await;
    assert_eq!((s, v["late"].as_bool()), (200, Some(true)), "{v}");
    drop(h);
    let h = open_file(&dir, &clock);
    let (s, v) = h
        .call("POST", "/v1/line/messages/coalition-1/ack", &body, "russia")
        .await;
    assert_eq!((s, v["duplicate"].as_bool()), (200, Some(true)), "{v}");
}

#[tokio::test]
async fn a_third_party_cannot_read_a_conversation_between_two_others() {
    let clock = ManualClock::new(T0_MS);
    let h = open(
        true,
        Box::new(SqliteStore::open_in_memory().unwrap()),
        &clock,
    );
    send_warning(&h, "coalition-1").await;
    let f = free_text("russia-1", "russia", "coalition", T0_MS);
    let (s, _) = h
        .call(
            "POST",
            "/v1/line/messages",
            &send_body(&f, "russia"),
            "russia",
        )
        .await;
    assert_eq!(s, 201);
    for party in ["coalition", "russia"] {
        let (s, v) = h.call("GET", "/v1/line/conversations", "", party).await;
        assert_eq!(s, 200);
        assert_eq!(
            v,
            json!([{"subject_kind": "notification", "subject_id": "N-7", "messages": 2,
                    "last_unix_ms": T0_MS}]),
            "{party}"
        );
    }
    for (path, status) in [
        ("/v1/line/messages/coalition-1", 404),
        ("/v1/line/messages/russia-1", 404),
        ("/v1/line/conversations/notification/N-7", 404),
    ] {
        let (s, v) = h.call("GET", path, "", "observer").await;
        assert_eq!(s, status, "{path}: {v}");
    }
    let (_, v) = h
        .call("GET", "/v1/line/conversations", "", "observer")
        .await;
    assert_eq!(v, json!([]));
    let (_, v) = h.call("GET", "/v1/line/pending", "", "observer").await;
    assert_eq!(
        v,
        json!({"to_acknowledge": [], "awaiting_others": [], "overdue": []})
    );
    h.cycle_at(T0_MS + 200_000).await;
    assert_eq!(h.kinds("observer").await, Vec::<String>::new());
    // The conversation reads in either language for its two parties.
    let (s, v) = h
        .call(
            "GET",
            "/v1/line/conversations/notification/N-7?lang=ru&utc_offset=%2B03:00&coords=dms",
            "",
            "coalition",
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["lang"], "ru");
    assert_eq!(v["messages"].as_array().unwrap().len(), 2);
    let text = v["text"].as_str().unwrap();
    assert!(
        text.contains("coalition-1") && text.contains("Confirm window."),
        "{text}"
    );
    assert!(text.chars().any(|c| ('а'..='я').contains(&c)), "{text}");
    let (_, en) = h
        .call(
            "GET",
            "/v1/line/conversations/notification/N-7?lang=en",
            "",
            "russia",
        )
        .await;
    assert_ne!(en["text"], v["text"]);
    for (q, field) in [
        ("lang=xx", "lang"),
        ("utc_offset=25:00", "utc_offset"),
        ("coords=utm", "coords"),
        ("colour=red", "colour"),
    ] {
        let (s, v) = h
            .call(
                "GET",
                &format!("/v1/line/conversations/notification/N-7?{q}"),
                "",
                "russia",
            )
            .await;
        assert_eq!((s, v["field"].as_str()), (400, Some(field)), "{q}: {v}");
    }
}

fn report(track: &str, t_ms: i64, lon: f64, trk: f64) -> Value {
    json!({
        "track_id": track, "time_unix_ms": t_ms, "lat_deg": 35.0, "lon_deg": lon,
        "alt_m": 6000.0, "track_deg": trk, "ground_speed_mps": 200.0,
        "vertical_rate_mps": 0.0
    })
}

#[tokio::test]
async fn an_engine_alert_opens_a_conversation_on_both_sides_once() {
    let h = harness();
    let t = h.now_ms();
    // Head-on at the same altitude, 20 km apart: a conflict within the lookahead.
    let (s, v) = h
        .call(
            "POST",
            "/v1/tracks",
            &report("C1", t, 38.0, 90.0).to_string(),
            "coalition",
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, _) = h
        .call(
            "POST",
            "/v1/tracks",
            &report("R1", t, 38.22, 270.0).to_string(),
            "russia",
        )
        .await;
    assert_eq!(s, 200);
    h.cycle_at(t).await;
    h.cycle_at(t + 1_000).await;
    let mut ids = Vec::new();
    for (party, own) in [("coalition", "C1"), ("russia", "R1")] {
        let ev = h.line_events(party).await;
        assert_eq!(ev.len(), 1, "{party}: {ev:?}");
        let (kind, body) = &ev[0];
        assert_eq!(kind, "line_message");
        assert_eq!(body["kind"], "conflict_alert");
        let view = &body["view"];
        assert_eq!(view["from"], "service");
        assert_eq!(view["to"], party);
        assert_eq!(view["deadline_unix_ms"], t + 60_000, "the agreement's 60 s");
        let alert = &view["message"]["body"];
        let tracks = [&alert["track_a"]["track"], &alert["track_b"]["track"]];
        assert!(tracks.contains(&&json!(own)), "{alert}");
        let (_, conv) = h.call("GET", "/v1/line/conversations", "", party).await;
        assert_eq!(conv[0]["subject_kind"], "alert");
        assert_eq!(conv[0]["messages"], 1, "each side reads its own copy only");
        ids.push(body["message_id"].as_str().unwrap().to_string());
    }
    // Each side acknowledges its own copy and cannot touch the other's.
    let (s, v) = h
        .call(
            "POST",
            &format!("/v1/line/messages/{}/ack", ids[1]),
            &ack_body("russia", &ids[1], RUSSIA_DUTY, t + 1_000),
            "russia",
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, _) = h
        .call(
            "GET",
            &format!("/v1/line/messages/{}", ids[1]),
            "",
            "coalition",
        )
        .await;
    assert_eq!(s, 404);
    // The coalition does not answer: overdue and escalated on its own side only.
    h.cycle_at(t + 61_000).await;
    assert_eq!(
        h.kinds("coalition").await,
        vec!["line_message", "line_overdue", "line_escalated"]
    );
    assert_eq!(
        h.kinds("russia").await,
        vec!["line_message", "line_acknowledged"]
    );
}

#[tokio::test]
async fn link_tests_measure_each_party_separately_from_the_agreement_state() {
    let h = harness();
    // The template schedules a test every 6 hours from 00:00 UTC: the next is 12:00.
    let noon = T0_MS + 4 * 3_600_000;
    h.cycle_at(noon).await;
    let mut test_ids = Vec::new();
    for party in ["coalition", "russia"] {
        let ev = h.line_events(party).await;
        assert_eq!(ev.len(), 1, "{party}: {ev:?}");
        assert_eq!(ev[0].1["kind"], "link_test");
        assert_eq!(ev[0].1["view"]["deadline_unix_ms"], noon + 60_000);
        test_ids.push(ev[0].1["message_id"].as_str().unwrap().to_string());
    }
    h.clock.set_ms(noon + 10_000);
    let (s, v) = h
        .call(
            "POST",
            &format!("/v1/line/messages/{}/ack", test_ids[1]),
            &ack_body("russia", &test_ids[1], RUSSIA_DUTY, noon + 10_000),
            "russia",
        )
        .await;
    assert_eq!(s, 200, "{v}");
    // The coalition's test passes its day officer, then its command, unanswered.
    h.cycle_at(noon + 60_000).await;
    h.cycle_at(noon + 120_000).await;
    let (_, health) = h
        .send(Request::get("/health").body(Body::empty()).unwrap())
        .await;
    assert_eq!(health["agreement_status"], "in_force");
    // How each party answered is the parties' business, not /health's.
    assert_eq!(health.get("link_tests"), None);
    let expected = json!([
        {"party": "coalition", "in_time": 0, "late": 0, "missed": 1, "pending": 0},
        {"party": "russia", "in_time": 1, "late": 0, "missed": 0, "pending": 0}
    ]);
    let (_, r) = h.call("GET", "/v1/line/reachability", "", "russia").await;
    assert_eq!(r, expected);
    let (_, a) = h.call("GET", "/v1/agreement", "", "coalition").await;
    assert_eq!(a["reachability"]["link_tests"], expected);
    // Reachable is what the link tests measured: the coalition, heard from just now, missed its
    // test; Russia answered.
    let reach = |a: &Value, i: usize| {
        (
            a["reachability"]["line"][i]["reachable"].as_bool(),
            a["reachability"]["line"][i]["last_link_test"]
                .as_str()
                .map(str::to_string),
        )
    };
    assert_eq!(reach(&a, 0), (Some(false), Some("missed".into())), "{a}");
    assert_eq!(reach(&a, 1), (Some(true), Some("in_time".into())), "{a}");
    let esc: Vec<Value> = h
        .line_events("coalition")
        .await
        .into_iter()
        .filter(|(k, _)| k == "line_escalated")
        .map(|(_, b)| b["to_officer"].clone())
        .collect();
    assert_eq!(esc, vec![json!(COALITION_COMMAND)]);

    // 18:00: the coalition's night officer is on duty now; the coalition answers late (by its
    // command, after the first deadline), Russia not at all.
    let evening = T0_MS + 10 * 3_600_000;
    h.cycle_at(evening).await;
    let coalition_test = h
        .line_events("coalition")
        .await
        .into_iter()
        .rev()
        .find(|(k, _)| k == "line_message")
        .unwrap()
        .1;
    assert_eq!(coalition_test["officer"], "CAOC duty officer, night");
    let id = coalition_test["message_id"].as_str().unwrap().to_string();
    h.cycle_at(evening + 60_000).await;
    h.clock.set_ms(evening + 90_000);
    let (s, v) = h
        .call(
            "POST",
            &format!("/v1/line/messages/{id}/ack"),
            &ack_body("coalition", &id, COALITION_COMMAND, evening + 90_000),
            "coalition",
        )
        .await;
    assert_eq!((s, v["late"].as_bool()), (200, Some(true)), "{v}");
    h.cycle_at(evening + 120_000).await;
    let (_, r) = h
        .call("GET", "/v1/line/reachability", "", "coalition")
        .await;
    assert_eq!(
        r,
        json!([
            {"party": "coalition", "in_time": 0, "late": 1, "missed": 1, "pending": 0},
            {"party": "russia", "in_time": 1, "late": 0, "missed": 1, "pending": 0}
        ])
    );
    // Now the latest: the coalition answered late (reachable), Russia missed (not).
    let (_, a) = h.call("GET", "/v1/agreement", "", "russia").await;
    assert_eq!(reach(&a, 0), (Some(true), Some("late".into())), "{a}");
    assert_eq!(reach(&a, 1), (Some(false), Some("missed".into())), "{a}");
}

fn stored_alert(id: &str, kind: &str, level: &str, created_ms: i64) -> deconflict_store::Alert {
    // Each party's view holds its own track in full: the coalition's at 6000 m, Russia's at 6100 m.
    let view = |own: &str, own_track: &str, own_alt: f64, other: &str, other_track: &str| {
        json!({
            "alert_id": id, "conflict_id": "c:1", "kind": kind, "level": level,
            "created_unix_ms": created_ms, "parties": ["coalition", "russia"],
            "time_to_los_s": 42.0, "closest_h_m": 150.0,
            "own": {"party": own, "track_id": own_track, "time_unix_ms": created_ms, "alt_m": own_alt},
            "other": {"party": other, "track_id": other_track, "time_unix_ms": created_ms}
        })
    };
    deconflict_store::Alert {
        id: id.into(),
        conflict: id.rsplit_once(':').map_or(id, |(c, _)| c).into(),
        kind: kind.into(),
        parties: vec!["coalition".into(), "russia".into()],
        body: json!({
            "coalition": view("coalition", "C1", 6000.0, "russia", "R1"),
            "russia": view("russia", "R1", 6100.0, "coalition", "C1"),
        })
        .to_string(),
        created_ms,
    }
}

/// A crash between alerts' commit and their messages: the next start opens the conversation
/// and continues it with the level change, once; an end and an alert from long ago are left
/// alone.
#[tokio::test]
async fn an_alert_stored_before_a_crash_gets_its_conversation_on_the_next_cycle_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0_MS);
    let h = open_file(&dir, &clock);
    let alerts = vec![
        deconflict_store::Write::Alert(stored_alert("c:1:1", "new", "corrective", T0_MS)),
        deconflict_store::Write::Alert(stored_alert("c:1:2", "level", "warning", T0_MS + 1_000)),
        deconflict_store::Write::Alert(stored_alert("c:1:3", "ended", "none", T0_MS + 1_500)),
        deconflict_store::Write::Alert(stored_alert("c:0:1", "new", "warning", T0_MS - 3_600_000)),
    ];
    h.state
        .with_store(move |s| s.commit(&alerts).map(|_| ()))
        .await
        .unwrap()
        .unwrap();
    drop(h);
    clock.set_ms(T0_MS + 2_000);
    let h = open_file(&dir, &clock);
    h.cycle_at(T0_MS + 2_000).await;
    h.cycle_at(T0_MS + 3_000).await;
    drop(h);
    let h = open_file(&dir, &clock);
    h.cycle_at(T0_MS + 4_000).await;
    for (party, own) in [("coalition", "C1"), ("russia", "R1")] {
        // The new conflict and its change to a warning, in one thread; the end and the old
        // conflict open nothing.
        let mut ev = h.line_events(party).await;
        ev.sort_by_key(|(_, b)| b["view"]["sent_unix_ms"].as_i64());
        assert_eq!(ev.len(), 2, "{party}: {ev:?}");
        assert_eq!(ev[0].1["view"]["message"]["body"]["level"], 2);
        assert_ne!(ev[0].1["message_id"], ev[1].1["message_id"]);
        let (_, conv) = h.call("GET", "/v1/line/conversations", "", party).await;
        assert_eq!(
            conv,
            json!([{"subject_kind": "alert", "subject_id": "c:1:1", "messages": 2,
                    "last_unix_ms": T0_MS + 2_000}])
        );
        let m = &ev[1].1["view"]["message"];
        assert_eq!(m["subject"], json!({"kind": "alert", "id": "c:1:1"}));
        assert_eq!(m["sent_at_ms"], T0_MS + 1_000);
        let body = &m["body"];
        assert_eq!(body["alert_id"], "c:1:1");
        assert_eq!(body["level"], 3);
        assert_eq!(body["time_to_los_ms"], 42_000);
        assert_eq!(body["cpa_horizontal_mm"], 150_000);
        assert_eq!(body["cpa_vertical_mm"], 100_000);
        assert!(
            [&body["track_a"]["track"], &body["track_b"]["track"]].contains(&&json!(own)),
            "{body}"
        );
    }
}

/// Two officers acknowledging at the same instant: exactly one acknowledgement counts.
#[tokio::test]
async fn concurrent_acknowledgements_count_exactly_once() {
    let h = harness();
    send_warning(&h, "coalition-1").await;
    let t = h.now_ms();
    let path = "/v1/line/messages/coalition-1/ack";
    let a = ack_body("russia", "coalition-1", RUSSIA_DUTY, t);
    let b = ack_body("russia", "coalition-1", RUSSIA_COMMAND, t);
    let (ra, rb, ra2) = tokio::join!(
        h.call("POST", path, &a, "russia"),
        h.call("POST", path, &b, "russia"),
        h.call("POST", path, &a, "russia"),
    );
    let mut statuses = vec![ra.0, rb.0, ra2.0];
    statuses.sort();
    // Either the duty officer won (twice, once a duplicate) or the command did.
    assert!(
        statuses == vec![200, 200, 409] || statuses == vec![200, 409, 409],
        "{ra:?} {rb:?} {ra2:?}"
    );
    let acked = h.kinds("coalition").await;
    assert_eq!(acked, vec!["line_acknowledged"]);
    let metrics = h.state.metrics.render();
    assert!(
        metrics.contains("deconflict_line_acks_total 1\n"),
        "{metrics}"
    );
}

/// A store whose commits fail on demand, to show that a failed commit changes nothing.
struct Flaky {
    inner: SqliteStore,
    fail: Arc<std::sync::atomic::AtomicBool>,
}

impl Store for Flaky {
    fn commit(
        &mut self,
        writes: &[deconflict_store::Write],
    ) -> Result<deconflict_store::Committed, deconflict_store::StoreError> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            // Any store failure the service cannot attribute to the request.
            return Err(deconflict_store::StoreError::SchemaTooNew { found: 0, known: 0 });
        }
        self.inner.commit(writes)
    }
    fn agreement_versions(
        &self,
    ) -> Result<Vec<deconflict_store::AgreementVersion>, deconflict_store::StoreError> {
        self.inner.agreement_versions()
    }
    fn agreement_signatures(
        &self,
        version: u64,
    ) -> Result<Vec<deconflict_store::AgreementSignature>, deconflict_store::StoreError> {
        self.inner.agreement_signatures(version)
    }
    fn notification(
        &self,
        id: &str,
    ) -> Result<Option<deconflict_store::Notification>, deconflict_store::StoreError> {
        self.inner.notification(id)
    }
    fn notifications(
        &self,
        party: Option<&str>,
    ) -> Result<Vec<deconflict_store::Notification>, deconflict_store::StoreError> {
        self.inner.notifications(party)
    }
    fn notification_history(
        &self,
        id: &str,
    ) -> Result<Vec<deconflict_store::Notification>, deconflict_store::StoreError> {
        self.inner.notification_history(id)
    }
    fn latest_reports(
        &self,
    ) -> Result<Vec<deconflict_store::TrackReport>, deconflict_store::StoreError> {
        self.inner.latest_reports()
    }
    fn alert(
        &self,
        id: &str,
    ) -> Result<Option<deconflict_store::Alert>, deconflict_store::StoreError> {
        self.inner.alert(id)
    }
    fn alerts_for(
        &self,
        party: &str,
        limit: usize,
    ) -> Result<Vec<deconflict_store::Alert>, deconflict_store::StoreError> {
        self.inner.alerts_for(party, limit)
    }
    fn open_conflicts(&self) -> Result<Vec<deconflict_store::Alert>, deconflict_store::StoreError> {
        self.inner.open_conflicts()
    }
    fn events_after(
        &self,
        party: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<deconflict_store::Event>, deconflict_store::StoreError> {
        self.inner.events_after(party, after, limit)
    }
    fn last_seq(&self, party: &str) -> Result<u64, deconflict_store::StoreError> {
        self.inner.last_seq(party)
    }
    fn line_entries_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<deconflict_store::LineEntry>, deconflict_store::StoreError> {
        self.inner.line_entries_after(after, limit)
    }
    fn line_last_seq(&self) -> Result<u64, deconflict_store::StoreError> {
        self.inner.line_last_seq()
    }
}

#[tokio::test]
async fn a_failed_commit_changes_nothing_and_the_retry_is_accepted_once() {
    let clock = ManualClock::new(T0_MS);
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let store = Flaky {
        inner: SqliteStore::open_in_memory().unwrap(),
        fail: fail.clone(),
    };
    let h = open(false, Box::new(store), &clock);
    send_warning(&h, "coalition-1").await;
    let before = h.snapshot().await;
    fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let m = strike_warning("coalition-2", "coalition", "russia", T0_MS);
    let body = send_body(&m, "coalition");
    let (s, v) = h
        .call("POST", "/v1/line/messages", &body, "coalition")
        .await;
    assert_eq!(s, 500, "{v}");
    let ack = ack_body("russia", "coalition-1", RUSSIA_DUTY, T0_MS);
    let (s, _) = h
        .call("POST", "/v1/line/messages/coalition-1/ack", &ack, "russia")
        .await;
    assert_eq!(s, 500);
    // Deadlines falling due while the store fails are not lost either.
    // (The cycle's own alerts commit nothing here; the line's commit fails and is logged.)
    h.clock.set_ms(T0_MS + 130_000);
    h.state.run_cycle().await.unwrap();
    fail.store(false, std::sync::atomic::Ordering::SeqCst);
    h.clock.set_ms(T0_MS);
    assert_eq!(h.snapshot().await, before, "nothing changed");
    let (s, _) = h
        .call("GET", "/v1/line/messages/coalition-2", "", "coalition")
        .await;
    assert_eq!(s, 404);
    // The retries go through, each once.
    let (s, v) = h
        .call("POST", "/v1/line/messages", &body, "coalition")
        .await;
    assert_eq!((s, v["duplicate"].as_bool()), (201, Some(false)), "{v}");
    let (s, v) = h
        .call("POST", "/v1/line/messages/coalition-1/ack", &ack, "russia")
        .await;
    assert_eq!((s, v["duplicate"].as_bool()), (200, Some(false)), "{v}");
    h.cycle_at(T0_MS + 130_000).await;
    assert_eq!(
        h.kinds("coalition").await,
        vec!["line_acknowledged", "line_overdue", "line_escalated"],
        "coalition-2's deadline fell due once the store came back"
    );
}
