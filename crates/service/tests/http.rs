//! Every endpoint over `tower::ServiceExt::oneshot` (no sockets): what it answers, what it
//! refuses, and that a refused request changes nothing.

mod common;

use common::*;
use deconflict_service::limits::BODY_BYTES_MAX;
use serde_json::{Value, json};

#[tokio::test]
async fn health_metrics_and_openapi_need_no_signature() {
    let h = harness();
    let get = |p: &str| {
        axum::http::Request::builder()
            .uri(p)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let (s, body) = h.send(get("/health")).await;
    assert_eq!(s, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["agreement_status"], "in_force");
    // Only what an outsider may know: not when each party was last heard from.
    assert_eq!(
        v.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["agreement_status", "last_cycle_unix_ms", "service"]
    );
    let (_, a) = h.call("GET", "/v1/agreement", "", "coalition").await;
    assert_eq!(a["reachability"]["line"][1]["reachable"], false);
    let (s, body) = h.send(get("/metrics")).await;
    assert_eq!(s, 200);
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("deconflict_cycles_total 0"));
    // The record's write routes, the TLS listener and the line report there too.
    for name in [
        "# TYPE deconflict_log_cosignatures_total counter",
        "# TYPE deconflict_tls_connections_total counter",
        "deconflict_line_refused_total",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics");
    }
    let (s, _) = h.send(get("/openapi.json")).await;
    assert_eq!(s, 200);
    // A call is heard, for the parties to see, but is no answer to a link test: the party is
    // not called reachable for it; /health does not say either.
    h.call("GET", "/v1/agreement", "", "russia").await;
    let (_, a) = h.call("GET", "/v1/agreement", "", "coalition").await;
    assert_eq!(a["reachability"]["line"][1]["party"], "russia");
    assert!(a["reachability"]["line"][1]["last_heard_unix_ms"].is_i64());
    assert_eq!(a["reachability"]["line"][1]["reachable"], false);
    let (_, body) = h.send(get("/health")).await;
    let text = String::from_utf8(body).unwrap();
    assert!(
        !text.contains("russia") && !text.contains("last_heard"),
        "{text}"
    );
}

#[tokio::test]
async fn the_served_openapi_is_the_checked_in_file() {
    let h = harness();
    let served = deconflict_service::api::openapi_json(h.state.clone());
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    if std::env::var_os("DECONFLICT_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, format!("{served}\n")).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        checked_in.trim_end(),
        served,
        "crates/service/openapi.json is stale: run DECONFLICT_UPDATE_OPENAPI=1 cargo test -p deconflict-service --test http"
    );
    let v: Value = serde_json::from_str(&served).unwrap();
    assert!(v["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/health",
        "/metrics",
        "/v1/agreement",
        "/v1/agreement/actions",
        "/v1/notifications",
        "/v1/notifications/{id}",
        "/v1/notifications/{id}/withdraw",
        "/v1/tracks",
        "/v1/tracks/batch",
        "/v1/alerts",
        "/v1/alerts/{id}",
        "/v1/events",
        "/v1/stream",
        "/v1/log/tree-head",
        "/v1/log/inclusion",
        "/v1/log/consistency",
        "/v1/log/entries",
        "/v1/log/cosignatures",
        "/v1/log/keys",
        "/v1/line/messages",
        "/v1/line/messages/{id}",
        "/v1/line/messages/{id}/ack",
        "/v1/line/pending",
        "/v1/line/conversations",
        "/v1/line/conversations/{kind}/{id}",
        "/v1/line/reachability",
    ] {
        assert!(
            v["paths"].get(path).is_some(),
            "{path} missing from OpenAPI"
        );
    }
}

async fn act(
    h: &Harness,
    caller: &str,
    st: &deconflict_agreement::SignedStatement,
) -> (u16, Value) {
    h.call(
        "POST",
        "/v1/agreement/actions",
        &action_body(st, caller, T0_MS),
        caller,
    )
    .await
}

fn kinds(v: &Value) -> Vec<(String, String)> {
    v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap().to_string(),
                i["party"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn suspend_by_one_reactivate_by_all_terminate_is_final() {
    let h = harness();
    let (s, v) = h.call("GET", "/v1/agreement", "", "coalition").await;
    assert_eq!(s, 200);
    assert_eq!(v["status"], "in_force");
    assert_eq!(v["parties"].as_array().unwrap().len(), 2);
    assert_eq!(
        (v["head_seq"].as_u64(), v["basis_seq"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(v["signed_by"], json!(["coalition", "russia"]));
    assert_eq!(
        kinds(&v),
        [
            ("sign".into(), "coalition".into()),
            ("sign".into(), "russia".into())
        ]
    );

    // Any one party suspends, with a reason.
    let (s, v) = act(
        &h,
        "russia",
        &statement("russia", "russia", 2, suspend("strike at Shayrat")),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "suspended");
    assert_eq!(
        v["suspension"],
        json!({"by": "russia", "reason": "strike at Shayrat", "seq": 3})
    );
    assert_eq!(v["basis_seq"], 3);
    // Suspended: operational writes are refused, reads still work.
    let body =
        json!({"reports": [report("1", T0_MS, 35.0, 39.0, 7000.0, 90.0, 200.0)]}).to_string();
    let (s, v) = h.call("POST", "/v1/tracks/batch", &body, "coalition").await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("agreement_not_in_force"))
    );

    // Reactivation by one of two: still suspended, one signature pending.
    let (s, v) = act(
        &h,
        "coalition",
        &statement("coalition", "coalition", 3, reactivate("one hour notice")),
    )
    .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("suspended")), "{v}");
    assert_eq!(
        v["reactivation"],
        json!({"conditions": "one hour notice", "signed_by": ["coalition"], "waiting_for": ["russia"], "basis_seq": 3})
    );
    assert_eq!(v["reactivation_signed_by"], json!(["coalition"]));
    // The other party sees the same pending signature.
    let (_, seen) = h.call("GET", "/v1/agreement", "", "russia").await;
    assert_eq!(seen["reactivation"]["waiting_for"], json!(["russia"]));

    // By both, on the same basis: in force again, with the conditions.
    let (s, v) = act(
        &h,
        "russia",
        &statement("russia", "russia", 3, reactivate("one hour notice")),
    )
    .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("in_force")), "{v}");
    assert_eq!(v["conditions"], "one hour notice");
    assert_eq!(v["reactivation"], Value::Null);
    assert_eq!(v["reactivation_signed_by"], json!([]));
    assert_eq!(
        (
            v["version"].as_u64(),
            v["head_seq"].as_u64(),
            v["basis_seq"].as_u64()
        ),
        (Some(6), Some(5), Some(5))
    );
    let history = v["history"].as_array().unwrap();
    assert_eq!(
        kinds(&v),
        [
            ("sign".into(), "coalition".into()),
            ("sign".into(), "russia".into()),
            ("suspend".into(), "russia".into()),
            ("reactivate".into(), "coalition".into()),
            ("reactivate".into(), "russia".into()),
        ]
    );
    assert_eq!(history[2]["reason"], "strike at Shayrat");
    assert_eq!(history[2]["basis_seq"], 2);
    assert_eq!(history[2]["status"], "suspended");
    assert_eq!(history[3]["status"], "suspended");
    assert_eq!(history[4]["status"], "in_force");
    assert_eq!(history[4]["conditions"], "one hour notice");
    assert_eq!(history[4]["version"], 6);
    // Each item carries the party's signature over the statement, checkable with its key.
    let sig = deconflict_agreement::Signature::from_text(history[2]["signature"].as_str().unwrap())
        .unwrap();
    let st = statement("russia", "russia", 2, suspend("strike at Shayrat"));
    assert_eq!(&sig, st.signature());
    assert!(
        secret("russia")
            .public_key()
            .verify(&st.statement().canonical_bytes(), &sig)
    );
    // Both parties were told each step on their streams.
    let (_, events) = h.call("GET", "/v1/events", "", "coalition").await;
    let statuses: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["data"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["suspended", "suspended", "in_force"]);

    // Termination is final: any later statement is refused with 409.
    let (s, v) = act(
        &h,
        "coalition",
        &statement("coalition", "coalition", 5, terminate("superseded")),
    )
    .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("terminated")), "{v}");
    assert_eq!(
        v["termination"],
        json!({"by": "coalition", "reason": "superseded", "seq": 6})
    );
    for (party, action) in [
        ("russia", suspend("x")),
        ("russia", reactivate("")),
        ("russia", terminate("again")),
        ("coalition", terminate("again")),
    ] {
        let (s, v) = act(&h, party, &statement(party, party, 6, action)).await;
        assert_eq!(
            (s, v["code"].as_str(), v["field"].as_str()),
            (
                409,
                Some("lifecycle_not_allowed"),
                Some("statement.statement.action")
            ),
            "{v}"
        );
    }
    let (_, v) = h.call("GET", "/v1/agreement", "", "russia").await;
    assert_eq!(
        (v["status"].as_str(), v["head_seq"].as_u64()),
        (Some("terminated"), Some(6))
    );
}

#[tokio::test]
async fn different_conditions_start_a_new_reactivation_round() {
    let h = harness();
    act(
        &h,
        "russia",
        &statement("russia", "russia", 2, suspend("strike")),
    )
    .await;
    let (_, v) = act(
        &h,
        "coalition",
        &statement("coalition", "coalition", 3, reactivate("A")),
    )
    .await;
    assert_eq!(v["reactivation"]["signed_by"], json!(["coalition"]));
    // A counter-proposal: Russia signs other conditions; Coalition's signature was for "A".
    let (s, v) = act(
        &h,
        "russia",
        &statement("russia", "russia", 3, reactivate("B")),
    )
    .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("suspended")), "{v}");
    assert_eq!(v["reactivation"]["conditions"], "B");
    assert_eq!(v["reactivation"]["waiting_for"], json!(["coalition"]));
    let (s, v) = act(
        &h,
        "coalition",
        &statement("coalition", "coalition", 3, reactivate("B")),
    )
    .await;
    assert_eq!(
        (s, v["status"].as_str(), v["conditions"].as_str()),
        (200, Some("in_force"), Some("B")),
        "{v}"
    );
}

/// Every way a statement can be wrong: the right status and code, the field named, and
/// `GET /v1/agreement` byte for byte what it was.
#[tokio::test]
async fn refused_statements_change_nothing() {
    let h = harness();
    // A history to be stale against: suspended at 3, in force again at 5.
    act(
        &h,
        "russia",
        &statement("russia", "russia", 2, suspend("strike at Shayrat")),
    )
    .await;
    act(
        &h,
        "coalition",
        &statement("coalition", "coalition", 3, reactivate("")),
    )
    .await;
    let (s, v) = act(
        &h,
        "russia",
        &statement("russia", "russia", 3, reactivate("")),
    )
    .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("in_force")), "{v}");
    async fn get(h: &Harness) -> (u16, Vec<u8>) {
        h.send(h.signed("GET", "/v1/agreement", b"", "coalition"))
            .await
    }
    let before = get(&h).await;
    assert_eq!(before.0, 200);

    let good = statement("coalition", "coalition", 5, suspend("late notice"));
    let body = |st: &deconflict_agreement::SignedStatement| action_body(st, "coalition", T0_MS);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v: Value = serde_json::from_str(&body(&good)).unwrap();
        f(&mut v);
        v.to_string()
    };
    let other_agreement = deconflict_agreement::Statement::new(
        deconflict_agreement::AgreementId::from_bytes([7; 32]),
        deconflict_agreement::PartyId::new("coalition").unwrap(),
        5,
        suspend("late notice"),
    )
    .unwrap()
    .sign(&secret("coalition"));
    let cases: Vec<(&str, String, u16, &str, &str)> = vec![
        (
            "signed by the other party's key",
            body(&statement("coalition", "russia", 5, suspend("late notice"))),
            422,
            "statement_signature_invalid",
            "statement.signature",
        ),
        (
            "another party's statement",
            body(&statement("russia", "russia", 5, suspend("late notice"))),
            403,
            "party_mismatch",
            "statement.statement.party",
        ),
        (
            "for another agreement",
            body(&other_agreement),
            422,
            "wrong_agreement",
            "statement.statement.agreement",
        ),
        (
            "stale basis_seq",
            body(&statement(
                "coalition",
                "coalition",
                3,
                suspend("late notice"),
            )),
            409,
            "stale_basis",
            "statement.statement.basis_seq",
        ),
        (
            "a future basis_seq",
            body(&statement(
                "coalition",
                "coalition",
                9,
                suspend("late notice"),
            )),
            409,
            "stale_basis",
            "statement.statement.basis_seq",
        ),
        (
            "reason tampered after signing",
            with(&|v| v["statement"]["statement"]["reason"] = json!("nothing happened")),
            422,
            "statement_signature_invalid",
            "statement.signature",
        ),
        (
            "basis tampered after signing",
            with(&|v| v["statement"]["statement"]["basis_seq"] = json!(4)),
            422,
            "statement_signature_invalid",
            "statement.signature",
        ),
        (
            "entry signed by the other party",
            action_body(&good, "russia", T0_MS),
            422,
            "entry_signature_invalid",
            "entry_signature",
        ),
        (
            "entry time changed after signing",
            with(&|v| v["entry_time_ms"] = json!(T0_MS + 1)),
            422,
            "entry_signature_invalid",
            "entry_signature",
        ),
        (
            "entry dated an hour off",
            action_body(&good, "coalition", T0_MS - 3_600_000),
            422,
            "invalid_field",
            "entry_time_ms",
        ),
        (
            "entry time at the end of the range",
            with(&|v| v["entry_time_ms"] = json!(i64::MIN)),
            422,
            "invalid_field",
            "entry_time_ms",
        ),
        (
            "entry signature not base64",
            with(&|v| v["entry_signature"] = json!("not base64!")),
            422,
            "entry_signature_invalid",
            "entry_signature",
        ),
        (
            "an unknown action",
            with(&|v| v["statement"]["statement"]["action"] = json!("dissolve")),
            422,
            "invalid_field",
            "statement",
        ),
        (
            "an empty reason",
            with(&|v| v["statement"]["statement"]["reason"] = json!(" ")),
            422,
            "invalid_field",
            "statement.statement.reason",
        ),
        (
            "an unknown member",
            with(&|v| v["note"] = json!("x")),
            422,
            "invalid_field",
            "note",
        ),
    ];
    for (case, body, status, code, field) in cases {
        let (s, v) = h
            .call("POST", "/v1/agreement/actions", &body, "coalition")
            .await;
        assert_eq!(
            (s, v["code"].as_str(), v["field"].as_str()),
            (status, Some(code), Some(field)),
            "{case}: {v}"
        );
        assert!(
            v["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{case}"
        );
        assert_eq!(get(&h).await, before, "{case}: the agreement changed");
    }
    // Replays: Russia's own suspension again (now stale), and a reactivation signed twice.
    let (s, v) = act(
        &h,
        "russia",
        &statement("russia", "russia", 2, suspend("strike at Shayrat")),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("stale_basis")), "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("current basis_seq is 5"),
        "{v}"
    );
    assert_eq!(get(&h).await, before);
    act(
        &h,
        "russia",
        &statement("russia", "russia", 5, suspend("again")),
    )
    .await;
    let once = statement("coalition", "coalition", 6, reactivate(""));
    assert_eq!(act(&h, "coalition", &once).await.0, 200);
    let pending = get(&h).await;
    let (s, v) = act(&h, "coalition", &once).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("already_signed")),
        "{v}"
    );
    assert_eq!(get(&h).await, pending);
}

fn open_at(
    path: &std::path::Path,
    clock: &deconflict_service::ManualClock,
) -> Result<std::sync::Arc<deconflict_service::State>, deconflict_service::StartError> {
    deconflict_service::State::open(
        Default::default(),
        terms(),
        true,
        Box::new(deconflict_store::SqliteStore::open(path).unwrap()),
        std::sync::Arc::new(clock.clone()),
    )
}

/// A store at `dst` holding the agreement versions of the store at `src`, edited: what an
/// operator with write access to the database could leave behind.
fn tampered_copy(
    src: &std::path::Path,
    dst: &std::path::Path,
    edit: impl Fn(&mut Vec<deconflict_store::AgreementVersion>),
) {
    use deconflict_store::Store as _;
    let mut versions = deconflict_store::SqliteStore::open(src)
        .unwrap()
        .agreement_versions()
        .unwrap();
    edit(&mut versions);
    let mut out = deconflict_store::SqliteStore::open(dst).unwrap();
    for (i, mut v) in versions.into_iter().enumerate() {
        v.version = i as u64 + 1;
        out.commit(&[deconflict_store::Write::AgreementVersion(v)])
            .unwrap();
    }
}

/// A history on disk: suspended by Russia, reactivation signed by the Coalition only.
async fn history_on_disk(path: &std::path::Path, clock: &deconflict_service::ManualClock) -> Value {
    let state = open_at(path, clock).unwrap();
    let (router, _) = deconflict_service::api::router(state.clone());
    let h = Harness {
        state,
        router,
        clock: clock.clone(),
    };
    act(
        &h,
        "russia",
        &statement("russia", "russia", 2, suspend("strike at Shayrat")),
    )
    .await;
    let (s, v) = act(
        &h,
        "coalition",
        &statement("coalition", "coalition", 3, reactivate("notice")),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v
}

fn lifecycle_part(v: &Value) -> Value {
    let mut v = v.clone();
    v.as_object_mut().unwrap().remove("reachability");
    v
}

#[tokio::test]
async fn a_restart_reloads_and_refolds_the_history() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("store.sqlite");
    let clock = deconflict_service::ManualClock::new(T0_MS);
    let before = history_on_disk(&path, &clock).await;
    clock.advance_ms(60_000);
    let state = open_at(&path, &clock).unwrap();
    let (router, _) = deconflict_service::api::router(state.clone());
    let h = Harness {
        state,
        router,
        clock: clock.clone(),
    };
    let (s, after) = h.call("GET", "/v1/agreement", "", "russia").await;
    assert_eq!(s, 200);
    assert_eq!(lifecycle_part(&after), lifecycle_part(&before));
    assert_eq!(after["status"], "suspended");
    assert_eq!(after["reactivation"]["waiting_for"], json!(["russia"]));
    // The pending reactivation completes after the restart, on the same basis.
    let (s, v) = act(
        &h,
        "russia",
        &statement("russia", "russia", 3, reactivate("notice")),
    )
    .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("in_force")), "{v}");
    assert_eq!(v["history"][4]["at_unix_ms"], T0_MS + 60_000);
}

#[tokio::test]
async fn a_tampered_stored_history_is_refused_at_start_naming_the_version() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("store.sqlite");
    let clock = deconflict_service::ManualClock::new(T0_MS);
    history_on_disk(&path, &clock).await;
    let n = std::cell::Cell::new(0);
    let refused = |edit: fn(&mut Vec<deconflict_store::AgreementVersion>)| {
        n.set(n.get() + 1);
        let copy = tmp.path().join(format!("tampered-{}.sqlite", n.get()));
        tampered_copy(&path, &copy, edit);
        match open_at(&copy, &clock) {
            Ok(_) => panic!("a tampered history was accepted"),
            Err(e) => e.to_string(),
        }
    };
    // The suspension's reason, edited after Russia signed it.
    let e = refused(|v| {
        let doc = String::from_utf8(v[3].document.clone()).unwrap();
        assert!(doc.contains("strike at Shayrat"));
        v[3].document = doc
            .replace("strike at Shayrat", "strike at Shayraq")
            .into_bytes();
    });
    assert!(
        e.contains("stored agreement version 4")
            && e.contains("russia")
            && e.contains("does not verify"),
        "{e}"
    );
    // A status label that the signed history does not support.
    let e = refused(|v| v[3].status = "in_force".into());
    assert!(
        e.contains("stored agreement version 4") && e.contains("folds to suspended"),
        "{e}"
    );
    // A version taken out (the next one moves up).
    let e = refused(|v| {
        v.remove(3);
    });
    assert!(
        e.contains("stored agreement version 4") && e.contains("holds history event 4"),
        "{e}"
    );
    // Not a record at all.
    let e = refused(|v| v[2].document = b"{}".to_vec());
    assert!(
        e.contains("stored agreement version 3") && e.contains("not a history record"),
        "{e}"
    );
    // An exact copy starts.
    tampered_copy(&path, &tmp.path().join("copy.sqlite"), |_| {});
    assert!(open_at(&tmp.path().join("copy.sqlite"), &clock).is_ok());
    assert!(open_at(&path, &clock).is_ok());
}

#[tokio::test]
async fn lifecycle_entries_in_the_record_are_the_parties_own() {
    use deconflict_log::{AgreementEventKind, EntryBody};
    let h = harness();
    let _record = attach_log(&h);
    let log = h.state.log().unwrap().clone();
    let size = || log.log_file().latest_tree_head().tree_head().size();
    let start = size();
    assert_eq!(
        act(
            &h,
            "russia",
            &statement("russia", "russia", 2, suspend("strike at Shayrat"))
        )
        .await
        .0,
        200
    );
    // A refused statement adds nothing to the record.
    let (s, _) = act(
        &h,
        "coalition",
        &statement("coalition", "coalition", 2, suspend("x")),
    )
    .await;
    assert_eq!(s, 409);
    assert_eq!(
        act(
            &h,
            "coalition",
            &statement("coalition", "coalition", 3, reactivate("notice"))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        act(
            &h,
            "russia",
            &statement("russia", "russia", 3, reactivate("notice"))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        act(
            &h,
            "coalition",
            &statement("coalition", "coalition", 5, terminate("superseded"))
        )
        .await
        .0,
        200
    );
    assert_eq!(size(), start + 4);
    let entries = log.log_file().entries(start, start + 4).unwrap();
    let service_key = log
        .log_file()
        .keys()
        .get(&deconflict_log::KeyId::new("service").unwrap())
        .copied()
        .unwrap();
    let expected = [
        (
            "russia",
            AgreementEventKind::Suspended,
            Some("strike at Shayrat"),
            2,
        ),
        (
            "coalition",
            AgreementEventKind::ReactivationSigned,
            Some("notice"),
            3,
        ),
        (
            "russia",
            AgreementEventKind::ReactivationSigned,
            Some("notice"),
            3,
        ),
        (
            "coalition",
            AgreementEventKind::Terminated,
            Some("superseded"),
            5,
        ),
    ];
    for (e, (author, kind, reason, basis)) in entries.iter().zip(expected) {
        assert_eq!(e.entry().author().as_str(), author);
        let EntryBody::AgreementEvent {
            event,
            reason: r,
            version,
            agreement_id,
            ..
        } = e.entry().body()
        else {
            panic!("not an agreement event: {:?}", e.entry().body());
        };
        assert_eq!(
            (*event, r.as_ref().map(|t| t.as_str()), version.get()),
            (kind, reason, basis)
        );
        assert_eq!(agreement_id.as_str(), h.state.terms.id);
        e.verify(&key(author).verifying_key())
            .expect("the party's key verifies its entry");
        assert!(
            e.verify(&service_key).is_err(),
            "the service's key must not verify a party's entry"
        );
        let other = if author == "russia" {
            "coalition"
        } else {
            "russia"
        };
        assert!(e.verify(&key(other).verifying_key()).is_err());
    }
}

#[tokio::test]
async fn overlapping_notifications_are_flagged_to_both_at_once() {
    let h = harness();
    let (s, v) = h
        .call(
            "POST",
            "/v1/notifications",
            &authored(
                "coalition",
                &notification("c-1", 35.0, 39.0, 20_000.0, "c remark"),
            ),
            "coalition",
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["conflicts"], json!([]));
    // 30 km apart, radii 20 km + 20 km: overlapping.
    let (s, v) = h
        .call(
            "POST",
            "/v1/notifications",
            &authored(
                "russia",
                &notification("r-1", 35.27, 39.0, 20_000.0, "SECRET-REMARK"),
            ),
            "russia",
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["conflicts"][0]["id"], "c-1");
    // Far away: no overlap.
    let (s, v) = h
        .call(
            "POST",
            "/v1/notifications",
            &authored("russia", &notification("r-2", 33.0, 36.0, 5_000.0, "x")),
            "russia",
        )
        .await;
    assert_eq!((s, v["conflicts"].clone()), (201, json!([])));
    for party in ["coalition", "russia"] {
        let (_, alerts) = h.call("GET", "/v1/alerts", "", party).await;
        let alerts = alerts.as_array().unwrap();
        assert_eq!(alerts.len(), 1, "{party}: {alerts:?}");
        assert_eq!(alerts[0]["kind"], "strategic");
        let (s, one) = h
            .call(
                "GET",
                &format!("/v1/alerts/{}", alerts[0]["alert_id"].as_str().unwrap()),
                "",
                party,
            )
            .await;
        assert_eq!(s, 200);
        assert_eq!(one, alerts[0]);
    }
    // Coalition sees Russia's notification without the fields Russia withholds.
    let (s, bytes) = h
        .send(h.signed("GET", "/v1/notifications/r-1", b"", "coalition"))
        .await;
    assert_eq!(s, 200);
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        !text.contains("SECRET-REMARK")
            && !text.contains("SECRETCS1")
            && !text.contains("alt_min_m"),
        "{text}"
    );
    assert!(text.contains("\"area\""));
    // Russia sees its own in full.
    let (_, bytes) = h
        .send(h.signed("GET", "/v1/notifications/r-1", b"", "russia"))
        .await;
    assert!(String::from_utf8(bytes).unwrap().contains("SECRET-REMARK"));
    let (_, list) = h.call("GET", "/v1/notifications", "", "coalition").await;
    assert_eq!(list.as_array().unwrap().len(), 3);
}

/// Both parties notify the same 2 km circle, band and window at the same moment, 40 times over
/// in 40 places: the strategic check and the commit are one step, so every pair is flagged, to
/// both parties, whichever request came second.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_overlapping_notifications_are_all_flagged_to_both() {
    const PAIRS: usize = 40;
    let h = std::sync::Arc::new(harness());
    let mut tasks = Vec::new();
    for i in 0..PAIRS {
        // 0.5° apart (about 50 km): each pair overlaps only itself.
        let lat = 33.0 + 0.5 * (i / 8) as f64;
        let lon = 37.0 + 0.5 * (i % 8) as f64;
        for (party, id) in [
            ("coalition", format!("c-{i}")),
            ("russia", format!("r-{i}")),
        ] {
            let h = h.clone();
            let body = authored(party, &notification(&id, lat, lon, 2_000.0, "same place"));
            tasks.push(tokio::spawn(async move {
                let (s, v) = h.call("POST", "/v1/notifications", &body, party).await;
                (party, id, s, v)
            }));
        }
    }
    let mut flagged_in_answer = 0;
    for t in tasks {
        let (party, id, s, v) = t.await.unwrap();
        assert_eq!(s, 201, "{party} {id}: {v}");
        flagged_in_answer += v["conflicts"].as_array().unwrap().len();
    }
    // Exactly one of each pair was second and saw the other.
    assert_eq!(flagged_in_answer, PAIRS);
    for (party, own, other) in [("coalition", "c", "r"), ("russia", "r", "c")] {
        let (_, alerts) = h.call("GET", "/v1/alerts?limit=1000", "", party).await;
        let alerts = alerts.as_array().unwrap();
        let mut seen: Vec<(String, String)> = alerts
            .iter()
            .filter(|a| a["kind"] == "strategic")
            .map(|a| {
                (
                    a["own_notification"].as_str().unwrap().to_string(),
                    a["other_notification"]["id"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        seen.sort();
        let mut expected: Vec<(String, String)> = (0..PAIRS)
            .map(|i| (format!("{own}-{i}"), format!("{other}-{i}")))
            .collect();
        expected.sort();
        assert_eq!(seen, expected, "{party}");
    }
}

#[tokio::test]
async fn notification_update_withdraw_and_idempotent_create() {
    let h = harness();
    let n = notification("c-1", 35.0, 39.0, 20_000.0, "r");
    let (s, _) = h
        .call(
            "POST",
            "/v1/notifications",
            &authored("coalition", &n),
            "coalition",
        )
        .await;
    assert_eq!(s, 201);
    // The same create again (a retry, signed anew): the stored notification, not a second one.
    let (s, v) = h
        .call(
            "POST",
            "/v1/notifications",
            &authored("coalition", &n),
            "coalition",
        )
        .await;
    assert_eq!((s, v["notification"]["revision"].as_u64()), (201, Some(1)));
    // Another content under the same id: refused.
    let other = notification("c-1", 35.0, 39.0, 25_000.0, "r");
    let (s, v) = h
        .call(
            "POST",
            "/v1/notifications",
            &authored("coalition", &other),
            "coalition",
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("duplicate")));
    let upd = authored_at(
        "coalition",
        "c-1",
        &json!({"revision": 1, "notification": other["notification"]}),
        T0_MS,
    );
    let (s, v) = h
        .call("PUT", "/v1/notifications/c-1", &upd, "coalition")
        .await;
    assert_eq!((s, v["notification"]["revision"].as_u64()), (200, Some(2)));
    // Stale revision.
    let (s, v) = h
        .call("PUT", "/v1/notifications/c-1", &upd, "coalition")
        .await;
    assert_eq!((s, v["field"].as_str()), (409, Some("revision")));
    // Russia cannot touch it: it does not exist for Russia's writes.
    let (s, _) = h
        .call(
            "PUT",
            "/v1/notifications/c-1",
            &authored_at(
                "russia",
                "c-1",
                &json!({"revision": 2, "notification": other["notification"]}),
                T0_MS,
            ),
            "russia",
        )
        .await;
    assert_eq!(s, 404);
    let (s, v) = h
        .call(
            "POST",
            "/v1/notifications/c-1/withdraw",
            &authored_at("coalition", "c-1", &json!({"revision": 2}), T0_MS),
            "coalition",
        )
        .await;
    assert_eq!(
        (s, v["notification"]["status"].as_str()),
        (200, Some("withdrawn"))
    );
    let (s, _) = h
        .call(
            "POST",
            "/v1/notifications/c-1/withdraw",
            &authored_at("coalition", "c-1", &json!({"revision": 3}), T0_MS),
            "coalition",
        )
        .await;
    assert_eq!(s, 409);
    let (s, _) = h
        .call("GET", "/v1/notifications/nope", "", "coalition")
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn tracks_single_and_batch_with_disclosure() {
    let h = harness();
    let r = report("7", T0_MS, 35.0, 39.0, 7000.0, 90.0, 200.0);
    let (s, v) = h
        .call("POST", "/v1/tracks", &r.to_string(), "coalition")
        .await;
    assert_eq!((s, v["accepted"].as_u64()), (200, Some(1)));
    let batch = json!({"reports": [
        report("8", T0_MS, 35.5, 39.5, 7000.0, 90.0, 200.0),
        report("9", T0_MS, 35.6, 39.6, 7000.0, 90.0, 200.0),
    ]});
    let (s, v) = h
        .call("POST", "/v1/tracks/batch", &batch.to_string(), "russia")
        .await;
    assert_eq!((s, v["accepted"].as_u64()), (200, Some(2)));
    // Russia withholds callsign, velocity, type and squawk; coalition withholds type and squawk.
    let (_, bytes) = h
        .send(h.signed("GET", "/v1/tracks", b"", "coalition"))
        .await;
    let text = String::from_utf8(bytes).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 3);
    let russian: Vec<&Value> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["party"] == "russia")
        .collect();
    for t in russian {
        assert!(t.get("callsign").is_none() && t.get("ground_speed_mps").is_none());
        assert!(t.get("lat_deg").is_some() && t.get("alt_m").is_some());
    }
    assert!(!text.contains("CS8") && !text.contains("CS9"), "{text}");
    // Coalition's own track in full, including what it withholds from Russia.
    assert!(text.contains("CS7") && text.contains("TYPE-WITHHELD"));
    let (_, bytes) = h.send(h.signed("GET", "/v1/tracks", b"", "russia")).await;
    let text = String::from_utf8(bytes).unwrap();
    let coalition_part: Vec<Value> = serde_json::from_str::<Vec<Value>>(&text)
        .unwrap()
        .into_iter()
        .filter(|t| t["party"] == "coalition")
        .collect();
    let c = serde_json::to_string(&coalition_part).unwrap();
    assert!(c.contains("CS7"), "coalition discloses its callsign");
    assert!(!c.contains("TYPE-WITHHELD") && !c.contains("7777"), "{c}");
    // A track with no report for longer than the stale limit is no longer listed.
    h.clock.advance_ms(31_000);
    h.state.run_cycle().await.unwrap();
    let (_, v) = h.call("GET", "/v1/tracks", "", "coalition").await;
    assert_eq!(v, json!([]));
}

#[tokio::test]
async fn reports_waiting_for_the_desk_are_all_in_it_before_anything_reads_it() {
    let h = harness_with(deconflict_service::Config {
        desk_inbox_reports_max: 3,
        ..Default::default()
    });
    let batch = |ids: [&str; 2], lat: f64| {
        json!({"reports": [
            report(ids[0], T0_MS, lat, 39.0, 7000.0, 90.0, 200.0),
            report(ids[1], T0_MS, lat + 0.1, 39.0, 7000.0, 90.0, 200.0),
        ]})
        .to_string()
    };
    // Two wait in the inbox; the next two do not fit (2 + 2 > 3), so that push hands all
    // four to the desk itself, the waiting ones first.
    for (ids, lat) in [(["1", "2"], 35.0), (["3", "4"], 35.5)] {
        let (s, v) = h
            .call("POST", "/v1/tracks/batch", &batch(ids, lat), "coalition")
            .await;
        assert_eq!((s, v["accepted"].as_u64()), (200, Some(2)), "{v}");
    }
    // Two more wait; a read hands them over before it looks.
    let (s, _) = h
        .call(
            "POST",
            "/v1/tracks/batch",
            &batch(["5", "6"], 36.0),
            "coalition",
        )
        .await;
    assert_eq!(s, 200);
    let (_, v) = h.call("GET", "/v1/tracks", "", "coalition").await;
    let mut ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["track_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["1", "2", "3", "4", "5", "6"]);
    let metrics = h.metrics_text().await;
    assert!(
        metrics.contains("\ndeconflict_desk_inbox_full_total 1\n"),
        "{metrics}"
    );
}

/// A value of `/metrics`.
async fn metric_of(h: &Harness, name: &str) -> f64 {
    let text = h.metrics_text().await;
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .to_string();
    line[name.len() + 1..].parse::<f64>().unwrap()
}

/// A service whose cycle runs every hour, once its first cycle (at once) has run: no tick comes
/// during a test. The cycle loop's task is stopped by `begin_shutdown`.
async fn after_the_first_of_hour_long_cycles() -> (Harness, tokio::task::JoinHandle<()>) {
    let h = harness_with(deconflict_service::Config {
        cycle_interval_ms: 3_600_000,
        ..Default::default()
    });
    let cycling = tokio::spawn(deconflict_service::run_cycle_loop(h.state.clone()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while metric_of(&h, "deconflict_cycles_total").await < 1.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the first cycle never ran"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    (h, cycling)
}

#[tokio::test]
async fn between_cycles_waiting_reports_are_handed_to_the_desk_without_a_tick() {
    let (h, cycling) = after_the_first_of_hour_long_cycles().await;
    let metric = |name: &'static str| metric_of(&h, name);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let body = json!({"reports": [
        report("1", T0_MS, 35.0, 39.0, 7000.0, 90.0, 200.0),
        report("2", T0_MS, 35.5, 39.0, 7000.0, 90.0, 200.0),
    ]})
    .to_string();
    let (s, _) = h.call("POST", "/v1/tracks/batch", &body, "coalition").await;
    assert_eq!(s, 200);
    // The push left them in the inbox; the hand-over empties it, and nothing read the desk.
    let mut waiting = metric("deconflict_desk_inbox_reports").await;
    while waiting > 0.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "{waiting} reports still wait for the desk"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        waiting = metric("deconflict_desk_inbox_reports").await;
    }
    assert_eq!(metric("deconflict_cycles_total").await, 1.0);
    assert_eq!(metric("deconflict_desk_inbox_full_total").await, 0.0);
    h.state.begin_shutdown();
    cycling.await.unwrap();
}

/// Pushes coalition's `c1` and russia's `r1` head-on at 7000 m, 20 km apart, 200 m/s each: a
/// loss of separation within the lookahead.
async fn push_head_on_pair(h: &Harness) {
    let (s, _) = h
        .call(
            "POST",
            "/v1/tracks",
            &report("c1", T0_MS, 35.0, 39.0, 7000.0, 90.0, 200.0).to_string(),
            "coalition",
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = h
        .call(
            "POST",
            "/v1/tracks",
            &report("r1", T0_MS, 35.0, 39.22, 7000.0, 270.0, 200.0).to_string(),
            "russia",
        )
        .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn a_conflict_new_aircraft_open_is_alerted_between_cycles() {
    let (h, cycling) = after_the_first_of_hour_long_cycles().await;
    let metric = |name: &'static str| metric_of(&h, name);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    push_head_on_pair(&h).await;
    for (party, own) in [("coalition", "c1"), ("russia", "r1")] {
        loop {
            // The party's stream as the store holds it (polling through the API would meet
            // the party's request rate).
            let events = h.state.events_after(party, 0, 100).await.unwrap();
            if let Some(e) = events.iter().find(|e| e.kind == "alert") {
                let data: serde_json::Value = serde_json::from_str(&e.body).unwrap();
                assert_eq!(data["kind"], "new", "{data}");
                assert_eq!(data["level"], "warning", "{data}");
                assert_eq!(data["own"]["track_id"], own, "{data}");
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no alert reached {party}'s stream between cycles"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
    // No cycle ran: the pass on arrival alerted.
    assert_eq!(metric("deconflict_cycles_total").await, 1.0);
    assert_eq!(metric("deconflict_arrival_conflicts_total").await, 1.0);
    assert!(metric("deconflict_arrivals_graded_total").await >= 2.0);
    // The pass is timed once its commit returns, just after the events are readable.
    while metric("deconflict_cycle_stage_seconds_count{stage=\"arrivals\"}").await < 1.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the pass on arrival was not timed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    h.state.begin_shutdown();
    cycling.await.unwrap();
}

#[tokio::test]
async fn a_predicted_conflict_alerts_both_parties_and_its_end_too() {
    let h = harness();
    push_head_on_pair(&h).await;
    let n = h.state.run_cycle().await.unwrap();
    assert_eq!(n, 1);
    for (party, own, other) in [("coalition", "c1", "r1"), ("russia", "r1", "c1")] {
        let (_, alerts) = h.call("GET", "/v1/alerts", "", party).await;
        let a = &alerts[0];
        assert_eq!(a["kind"], "new");
        assert_eq!(a["level"], "warning", "{a}");
        assert_eq!(a["own"]["track_id"], own);
        assert_eq!(a["other"]["track_id"], other);
        let t = a["time_to_los_s"].as_f64().unwrap();
        assert!(t > 10.0 && t < 60.0, "{t}");
        assert!(a["closest_h_m"].as_f64().unwrap() < 100.0);
    }
    // The same conflict in the next cycle: no new alert.
    h.clock.advance_ms(1000);
    assert_eq!(h.state.run_cycle().await.unwrap(), 0);
    // Both turn away (north and south): the conflict ends, both are told.
    h.call(
        "POST",
        "/v1/tracks",
        &report("c1", T0_MS + 1000, 35.0, 39.0, 7000.0, 0.0, 200.0).to_string(),
        "coalition",
    )
    .await;
    h.call(
        "POST",
        "/v1/tracks",
        &report("r1", T0_MS + 1000, 35.0, 39.22, 9000.0, 180.0, 200.0).to_string(),
        "russia",
    )
    .await;
    assert_eq!(h.state.run_cycle().await.unwrap(), 1);
    for party in ["coalition", "russia"] {
        let (_, alerts) = h.call("GET", "/v1/alerts?limit=1", "", party).await;
        assert_eq!(alerts[0]["kind"], "ended");
        assert_eq!(alerts.as_array().unwrap().len(), 1);
    }
}

/// Regression: the active conflicts lived in memory only, so after a restart the first cycle
/// announced a conflict that was already alerted as new again, and a conflict that ended
/// across the restart was never announced as ended.
#[tokio::test]
async fn a_restart_neither_reannounces_a_conflict_nor_loses_its_end() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("store.sqlite");
    let clock = deconflict_service::ManualClock::new(T0_MS);
    let start = || {
        let state = open_at(&path, &clock).unwrap();
        let (router, _) = deconflict_service::api::router(state.clone());
        Harness {
            state,
            router,
            clock: clock.clone(),
        }
    };
    async fn push(h: &Harness, party: &str, r: Value) {
        let body = r.to_string();
        let req = h.signed("POST", "/v1/tracks", body.as_bytes(), party);
        assert_eq!(h.send(req).await.0, 200);
    }
    async fn alerts(h: &Harness) -> Vec<(String, String)> {
        let (_, b) = h
            .send(h.signed("GET", "/v1/alerts", b"", "coalition"))
            .await;
        let v: Value = serde_json::from_slice(&b).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["alert_id"].as_str().unwrap().to_string(),
                    a["kind"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
    let h = start();
    push(
        &h,
        "coalition",
        report("c1", T0_MS, 35.0, 39.0, 7000.0, 90.0, 200.0),
    )
    .await;
    push(
        &h,
        "russia",
        report("r1", T0_MS, 35.0, 39.22, 7000.0, 270.0, 200.0),
    )
    .await;
    assert_eq!(h.state.run_cycle().await.unwrap(), 1);
    let first = alerts(&h).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].1, "new");
    drop(h);

    // Restart: the conflict goes on, and nobody is told of it a second time.
    clock.advance_ms(1000);
    let h = start();
    assert_eq!(
        h.state
            .metrics
            .conflicts_active
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert_eq!(h.state.run_cycle().await.unwrap(), 0);
    assert_eq!(alerts(&h).await, first);
    // Both turn away: the end is announced, numbered after the alert before the restart.
    push(
        &h,
        "coalition",
        report("c1", T0_MS + 1000, 35.0, 39.0, 7000.0, 0.0, 200.0),
    )
    .await;
    push(
        &h,
        "russia",
        report("r1", T0_MS + 1000, 35.0, 39.22, 9000.0, 180.0, 200.0),
    )
    .await;
    assert_eq!(h.state.run_cycle().await.unwrap(), 1);
    let after = alerts(&h).await;
    assert_eq!(after.len(), 2, "{after:?}");
    assert_eq!(after[0].1, "ended");
    assert_eq!(
        after[0].0,
        format!("{}2", first[0].0.strip_suffix('1').unwrap())
    );
    drop(h);

    // Restart after the end: nothing is active, nothing is announced.
    clock.advance_ms(1000);
    let h = start();
    assert_eq!(
        h.state
            .metrics
            .conflicts_active
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    assert_eq!(h.state.run_cycle().await.unwrap(), 0);
    assert_eq!(alerts(&h).await, after);
}

#[tokio::test]
async fn the_stream_delivers_everything_in_order_and_resumes_from_a_cursor() {
    use http_body_util::BodyExt;
    let h = harness();
    for i in 0..3 {
        let (s, v) = h
            .call(
                "POST",
                "/v1/notifications",
                &authored(
                    "coalition",
                    &notification(&format!("c-{i}"), 30.0 + f64::from(i), 36.0, 1000.0, "r"),
                ),
                "coalition",
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    let read = |from: Option<u64>, want: usize| {
        let h = &h;
        async move {
            let mut req = h.signed("GET", "/v1/stream", b"", "russia");
            if let Some(f) = from {
                req.headers_mut()
                    .insert("last-event-id", f.to_string().parse().unwrap());
            }
            let resp = tower::ServiceExt::oneshot(h.router.clone(), req)
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            let mut body = resp.into_body();
            let mut parser = deconflict_client::sse::SseParser::new();
            let mut got = Vec::new();
            while got.len() < want {
                let frame = tokio::time::timeout(std::time::Duration::from_secs(5), body.frame())
                    .await
                    .expect("event within 5 s")
                    .unwrap()
                    .unwrap();
                if let Ok(d) = frame.into_data() {
                    got.extend(parser.push(&d).unwrap());
                }
            }
            got
        }
    };
    let all = read(None, 3).await;
    let ids: Vec<&str> = all.iter().map(|m| m.id.as_deref().unwrap()).collect();
    assert_eq!(ids, ["1", "2", "3"]);
    assert!(all.iter().all(|m| m.event == "notification"));
    let rest = read(Some(1), 2).await;
    assert_eq!(rest, all[1..].to_vec());
    // A live event arrives on an open stream.
    let h2 = &h;
    let live = async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        h2.call(
            "POST",
            "/v1/notifications",
            // Within the agreement's region (notifications farther than
            // airspace::planar::FRAME_RADIUS_M_MAX from it are refused).
            &authored("coalition", &notification("c-9", 29.0, 36.0, 1000.0, "r")),
            "coalition",
        )
        .await;
    };
    let (got, ()) = tokio::join!(read(Some(3), 1), live);
    assert_eq!(got[0].id.as_deref(), Some("4"));
    let (s, v) = h
        .call("GET", "/v1/events?after=2&limit=10", "", "russia")
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [3, 4]
    );
    // A bad cursor is a 400 naming it.
    let mut req = h.signed("GET", "/v1/stream", b"", "russia");
    req.headers_mut()
        .insert("last-event-id", "abc".parse().unwrap());
    let (s, body) = h.send(req).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((s, v["field"].as_str()), (400, Some("last-event-id")));
}

/// Every authenticated endpoint with a valid body for it.
fn endpoints() -> Vec<(&'static str, String, String)> {
    let n = notification("m-1", 35.0, 39.0, 1000.0, "r");
    vec![
        ("GET", "/v1/agreement".into(), String::new()),
        ("GET", "/v1/tracks/stream".into(), String::new()),
        (
            "POST",
            "/v1/agreement/actions".into(),
            action_body(
                &statement("coalition", "coalition", 2, suspend("x")),
                "coalition",
                T0_MS,
            ),
        ),
        ("GET", "/v1/notifications".into(), String::new()),
        (
            "POST",
            "/v1/notifications".into(),
            authored("coalition", &n),
        ),
        ("GET", "/v1/notifications/m-1".into(), String::new()),
        (
            "PUT",
            "/v1/notifications/m-1".into(),
            authored_at(
                "coalition",
                "m-1",
                &json!({"revision":1,"notification":n["notification"]}),
                T0_MS,
            ),
        ),
        (
            "POST",
            "/v1/notifications/m-1/withdraw".into(),
            authored_at("coalition", "m-1", &json!({"revision":1}), T0_MS),
        ),
        (
            "POST",
            "/v1/tracks".into(),
            report("1", T0_MS, 35.0, 39.0, 7000.0, 90.0, 200.0).to_string(),
        ),
        (
            "POST",
            "/v1/tracks/batch".into(),
            json!({"reports":[report("1", T0_MS, 35.0, 39.0, 7000.0, 90.0, 200.0)]}).to_string(),
        ),
        ("GET", "/v1/tracks".into(), String::new()),
        ("GET", "/v1/alerts".into(), String::new()),
        ("GET", "/v1/alerts/a-1".into(), String::new()),
        ("GET", "/v1/events".into(), String::new()),
        ("GET", "/v1/stream".into(), String::new()),
        ("GET", "/v1/log/tree-head?since=0".into(), String::new()),
        (
            "GET",
            "/v1/log/inclusion?index=0&size=1".into(),
            String::new(),
        ),
        (
            "GET",
            "/v1/log/consistency?old=0&new=0".into(),
            String::new(),
        ),
        (
            "GET",
            "/v1/log/entries?start=0&end=10".into(),
            String::new(),
        ),
        ("GET", "/v1/log/cosignatures".into(), String::new()),
        ("POST", "/v1/log/cosignatures".into(), "{}".into()),
        ("GET", "/v1/log/keys".into(), String::new()),
        ("POST", "/v1/line/messages".into(), "{}".into()),
        ("GET", "/v1/line/messages/m-1".into(), String::new()),
        (
            "POST",
            "/v1/line/messages/m-1/ack".into(),
            json!({"officer":"x","time_unix_ms":T0_MS,"entry_signature":"AA=="}).to_string(),
        ),
        ("GET", "/v1/line/pending".into(), String::new()),
        ("GET", "/v1/line/conversations".into(), String::new()),
        (
            "GET",
            "/v1/line/conversations/alert/a-1?lang=ru".into(),
            String::new(),
        ),
        ("GET", "/v1/line/reachability".into(), String::new()),
    ]
}

async fn stored_state(h: &Harness) -> (u64, u64, usize, String) {
    let st = h.state.clone();
    let (c, r, n) = st
        .with_store(|s| {
            (
                s.last_seq("coalition").unwrap(),
                s.last_seq("russia").unwrap(),
                s.latest_reports().unwrap().len(),
            )
        })
        .await
        .unwrap();
    (c, r, n, format!("{:?}", h.state.lifecycle()))
}

#[tokio::test]
async fn security_matrix_every_endpoint_refuses_every_bad_signature() {
    let h = harness();
    let now = h.now_s();
    let before = stored_state(&h).await;
    for (method, path, body) in endpoints() {
        let b = body.as_bytes();
        let check = |case: &str, (s, bytes): (u16, Vec<u8>), status: u16, code: &str| {
            let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            assert_eq!(s, status, "{method} {path} {case}: {v}");
            assert_eq!(v["code"], code, "{method} {path} {case}: {v}");
            assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
        };
        // No signature at all.
        let req = axum::http::Request::builder()
            .method(method)
            .uri(&path)
            .body(axum::body::Body::from(body.clone()))
            .unwrap();
        check("unsigned", h.send(req).await, 401, "signature_missing");
        // A key id no party has.
        let stranger = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        check(
            "unknown key",
            h.send(signed_as(method, &path, b, "nobody", &stranger, now))
                .await,
            401,
            "unknown_key",
        );
        // Russia's key claiming to be the coalition.
        check(
            "other party's key",
            h.send(signed_as(
                method,
                &path,
                b,
                "coalition",
                &key("russia"),
                now,
            ))
            .await,
            401,
            "signature_invalid",
        );
        // Too old, and from the future.
        check(
            "expired",
            h.send(signed_as(
                method,
                &path,
                b,
                "coalition",
                &key("coalition"),
                now - 31,
            ))
            .await,
            401,
            "signature_expired",
        );
        check(
            "future",
            h.send(signed_as(
                method,
                &path,
                b,
                "coalition",
                &key("coalition"),
                now + 6,
            ))
            .await,
            401,
            "signature_expired",
        );
        // A body other than the one signed.
        let mut req = signed_as(method, &path, b, "coalition", &key("coalition"), now);
        *req.body_mut() = axum::body::Body::from(format!("{body} "));
        check(
            "tampered body",
            h.send(req).await,
            401,
            "content_digest_mismatch",
        );
        // Oversized, even if signed.
        let big = vec![b' '; BODY_BYTES_MAX + 1];
        check(
            "oversized",
            h.send(signed_as(
                method,
                &path,
                &big,
                "coalition",
                &key("coalition"),
                now,
            ))
            .await,
            413,
            "body_too_large",
        );
    }
    assert_eq!(
        stored_state(&h).await,
        before,
        "a refused request changed the store"
    );
    // Replay: the exact same request twice; the second is refused whatever the first did.
    for (method, path, body) in endpoints() {
        if path == "/v1/stream" {
            continue; // tested below: its first answer never ends
        }
        let req = signed_as(
            method,
            &path,
            body.as_bytes(),
            "russia",
            &key("russia"),
            now,
        );
        let (parts, b) = req.into_parts();
        let copy = {
            let mut r = axum::http::Request::builder()
                .method(parts.method.clone())
                .uri(parts.uri.clone());
            for (k, v) in &parts.headers {
                r = r.header(k, v);
            }
            r.body(axum::body::Body::from(body.clone())).unwrap()
        };
        let _ = h.send(axum::http::Request::from_parts(parts, b)).await;
        let (s, bytes) = h.send(copy).await;
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            (s, v["code"].as_str()),
            (401, Some("replayed")),
            "{method} {path}"
        );
    }
    assert!(h.state.metrics.rejected_count("replayed") >= 13);
}

/// A bodiless GET with the same path and headers as `req`: its replay.
fn replay_of(req: &axum::http::Request<axum::body::Body>) -> axum::http::Request<axum::body::Body> {
    let mut copy = axum::http::Request::builder()
        .method("GET")
        .uri(req.uri().clone());
    for (k, v) in req.headers() {
        copy = copy.header(k, v);
    }
    copy.body(axum::body::Body::empty()).unwrap()
}

#[tokio::test]
async fn a_replayed_stream_request_is_refused() {
    let h = harness();
    let req = h.signed("GET", "/v1/stream", b"", "russia");
    let copy = replay_of(&req);
    let resp = tower::ServiceExt::oneshot(h.router.clone(), req)
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (s, _) = h.send(copy).await;
    assert_eq!(s, 401);
}

/// The track stream is a WebSocket: a signed GET that is no upgrade is told so, and its nonce,
/// which would have named the stream, is spent: the same request again is a replay.
#[tokio::test]
async fn a_track_stream_needs_an_upgrade_and_its_nonce_opens_one_stream_only() {
    let h = harness();
    let req = h.signed("GET", "/v1/tracks/stream", b"", "coalition");
    let copy = replay_of(&req);
    let (s, body) = h.send(req).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (s, v["code"].as_str()),
        (426, Some("upgrade_required")),
        "{v}"
    );
    let (s, body) = h.send(copy).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((s, v["code"].as_str()), (401, Some("replayed")), "{v}");
}

#[tokio::test]
async fn a_request_signed_before_a_restart_is_refused_after_it() {
    let h = harness();
    let req = h.signed("GET", "/v1/agreement", b"", "coalition");
    // "Restart": a new service whose clock has moved on by a second.
    h.clock.advance_ms(1000);
    let store = deconflict_store::SqliteStore::open_in_memory().unwrap();
    let state = deconflict_service::State::open(
        Default::default(),
        terms(),
        true,
        Box::new(store),
        std::sync::Arc::new(h.clock.clone()),
    )
    .unwrap();
    let (router, _) = deconflict_service::api::router(state);
    let resp = tower::ServiceExt::oneshot(router, req).await.unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn the_rate_limit_is_per_party() {
    let h = harness_with(deconflict_service::Config {
        rate_requests_per_s: 1.0,
        rate_burst_requests: 3.0,
        ..Default::default()
    });
    for _ in 0..3 {
        assert_eq!(h.call("GET", "/v1/agreement", "", "coalition").await.0, 200);
    }
    let (s, v) = h.call("GET", "/v1/agreement", "", "coalition").await;
    assert_eq!((s, v["code"].as_str()), (429, Some("rate_limited")));
    // The other party is not affected.
    assert_eq!(h.call("GET", "/v1/agreement", "", "russia").await.0, 200);
    h.clock.advance_ms(1000);
    assert_eq!(h.call("GET", "/v1/agreement", "", "coalition").await.0, 200);
}

#[tokio::test]
async fn party_b_never_reads_party_as_alert_or_notification_by_id() {
    let h = harness();
    h.call(
        "POST",
        "/v1/notifications",
        &authored("coalition", &notification("c-1", 35.0, 39.0, 20_000.0, "r")),
        "coalition",
    )
    .await;
    h.call(
        "POST",
        "/v1/notifications",
        &authored("coalition", &notification("c-2", 35.1, 39.0, 20_000.0, "r")),
        "coalition",
    )
    .await;
    // No strategic alert between two of the coalition's own notifications.
    let (_, alerts) = h.call("GET", "/v1/alerts", "", "coalition").await;
    assert_eq!(alerts, json!([]));
    let (s, _) = h
        .call("GET", "/v1/alerts/s:c-2:c-1:r1:r1", "", "russia")
        .await;
    assert_eq!(s, 404);
}

/// Bad input on every endpoint that takes any: a 4xx naming the field, and nothing stored.
#[tokio::test]
async fn bad_input_names_the_field_and_changes_nothing() {
    let h = harness();
    let good = report("1", T0_MS, 35.0, 39.0, 7000.0, 90.0, 200.0);
    let with = |k: &str, v: Value| {
        let mut r = good.clone();
        r[k] = v;
        r
    };
    // Well-formed entry fields: the notification's own checks come before the signature's.
    let mut n = notification("n-1", 35.0, 39.0, 1000.0, "r");
    n["entry_time_ms"] = json!(T0_MS);
    n["entry_signature"] = json!("");
    let nwith = |k: &str, v: Value| {
        let mut x = n.clone();
        x["notification"][k] = v;
        x
    };
    let cases: Vec<(&str, &str, String, u16, &str)> = vec![
        ("POST", "/v1/tracks", "{".into(), 400, ""),
        ("POST", "/v1/tracks", "[]".into(), 422, ""),
        (
            "POST",
            "/v1/tracks",
            with("lat_deg", json!(200.0)).to_string(),
            422,
            "lat_deg",
        ),
        (
            "POST",
            "/v1/tracks",
            with("lon_deg", json!(-181)).to_string(),
            422,
            "lon_deg",
        ),
        (
            "POST",
            "/v1/tracks",
            with("alt_m", json!("high")).to_string(),
            422,
            "alt_m",
        ),
        (
            "POST",
            "/v1/tracks",
            with("track_deg", json!(360.0)).to_string(),
            422,
            "track_deg",
        ),
        (
            "POST",
            "/v1/tracks",
            with("ground_speed_mps", json!(-1.0)).to_string(),
            422,
            "ground_speed_mps",
        ),
        (
            "POST",
            "/v1/tracks",
            with("time_unix_ms", json!(T0_MS - 31_000)).to_string(),
            422,
            "time_unix_ms",
        ),
        (
            "POST",
            "/v1/tracks",
            with("track_id", json!("a/b")).to_string(),
            422,
            "track_id",
        ),
        (
            "POST",
            "/v1/tracks",
            with("callsign", json!("\u{1}")).to_string(),
            422,
            "callsign",
        ),
        (
            "POST",
            "/v1/tracks",
            with("surprise", json!(1)).to_string(),
            422,
            "surprise",
        ),
        (
            "POST",
            "/v1/tracks/batch",
            json!({"reports": [good.clone(), with("alt_m", json!(1e9))]}).to_string(),
            422,
            "reports[1].alt_m",
        ),
        (
            "POST",
            "/v1/tracks/batch",
            json!({"reports": [good.clone(), {"track_id": 5}]}).to_string(),
            422,
            "reports[1].track_id",
        ),
        (
            "POST",
            "/v1/tracks/batch",
            json!({"report": []}).to_string(),
            422,
            "report",
        ),
        (
            "POST",
            "/v1/notifications",
            nwith("alt_max_m", json!(1000.0)).to_string(),
            422,
            "alt_max_m",
        ),
        (
            "POST",
            "/v1/notifications",
            nwith("end_unix_ms", json!(T0_MS - 1)).to_string(),
            422,
            "end_unix_ms",
        ),
        (
            "POST",
            "/v1/notifications",
            nwith(
                "area",
                json!({"kind":"circle","centre":{"lat_deg":95.0,"lon_deg":0.0},"radius_m":1.0}),
            )
            .to_string(),
            422,
            "area.centre.lat_deg",
        ),
        (
            "POST",
            "/v1/notifications",
            nwith(
                "area",
                json!({"kind":"polygon","points":[{"lat_deg":1.0,"lon_deg":1.0}]}),
            )
            .to_string(),
            422,
            "area.points",
        ),
        (
            "POST",
            "/v1/notifications",
            nwith("area", json!({"kind":"square"})).to_string(),
            422,
            "notification.area.kind",
        ),
        (
            "POST",
            "/v1/notifications",
            nwith("targets", json!(["x"])).to_string(),
            422,
            "notification.targets",
        ),
        (
            "POST",
            "/v1/notifications",
            json!({"id": "bad id!", "notification": n["notification"],
                "entry_time_ms": T0_MS, "entry_signature": ""})
            .to_string(),
            422,
            "id",
        ),
        (
            "PUT",
            "/v1/notifications/n-1",
            json!({"revision": 0, "notification": n["notification"],
                "entry_time_ms": T0_MS, "entry_signature": ""})
            .to_string(),
            422,
            "revision",
        ),
        (
            "PUT",
            "/v1/notifications/n-1",
            json!({"revision": "one"}).to_string(),
            422,
            "revision",
        ),
        (
            "POST",
            "/v1/notifications/n-1/withdraw",
            "{}".into(),
            422,
            "",
        ),
        (
            "POST",
            "/v1/agreement/actions",
            json!({"statement": {}, "entry_time_ms": T0_MS, "entry_signature": ""}).to_string(),
            422,
            "statement",
        ),
        (
            "POST",
            "/v1/agreement/actions",
            json!({"statement": {"statement": {
                "format": "deconflict.agreement-statement.v1",
                "agreement": agreement().id().to_text(),
                "party": "coalition", "basis_seq": 2, "action": "suspend",
                "reason": "x".repeat(5000)},
                "signature": format!("ed25519-sig:{}", "0".repeat(128))},
                "entry_time_ms": T0_MS, "entry_signature": ""})
            .to_string(),
            422,
            "statement.statement.reason",
        ),
        (
            "POST",
            "/v1/agreement/actions",
            json!({"action": "suspend", "reason": "x"}).to_string(),
            422,
            "action",
        ),
        // One JSON value and nothing after it: the signed bytes are exactly the document.
        ("POST", "/v1/tracks", format!("{good}xyz"), 400, ""),
        ("POST", "/v1/tracks", format!("{good}{good}"), 400, ""),
        ("POST", "/v1/tracks", format!("{good}\0\0"), 400, ""),
        (
            "POST",
            "/v1/notifications",
            format!("{}{{}}", nwith("remarks", json!("r"))),
            400,
            "",
        ),
        // A window whose length overflows i64 is not a short window.
        (
            "POST",
            "/v1/notifications",
            {
                let mut x = nwith("start_unix_ms", json!(-5_000_000_000_000_000_000i64));
                x["notification"]["end_unix_ms"] = json!(5_000_000_000_000_000_000i64);
                x.to_string()
            },
            422,
            "start_unix_ms",
        ),
        (
            "POST",
            "/v1/notifications",
            nwith("end_unix_ms", json!(i64::MAX)).to_string(),
            422,
            "end_unix_ms",
        ),
        ("GET", "/v1/alerts?limit=0", String::new(), 400, "limit"),
        ("GET", "/v1/alerts?limit=abc", String::new(), 400, "limit"),
        ("GET", "/v1/alerts?colour=red", String::new(), 400, "colour"),
        ("GET", "/v1/events?after=-1", String::new(), 400, "after"),
        ("GET", "/v1/agreement", "{}".into(), 400, ""),
    ];
    let before = stored_state(&h).await;
    for (method, path, body, status, field) in cases {
        let (s, v) = h.call(method, path, &body, "coalition").await;
        assert_eq!(s, status, "{method} {path} {body}: {v}");
        assert!(v["code"].as_str().is_some_and(|c| !c.is_empty()), "{v}");
        assert!(v["message"].as_str().is_some_and(|c| !c.is_empty()), "{v}");
        if !field.is_empty() {
            let got = v["field"].as_str().unwrap_or("");
            assert!(
                got.ends_with(field) || got == field,
                "{method} {path}: field {got:?}, expected {field:?}: {v}"
            );
        }
    }
    assert_eq!(
        stored_state(&h).await,
        before,
        "a refused request changed the store"
    );
    let (_, tracks) = h.call("GET", "/v1/tracks", "", "coalition").await;
    assert_eq!(tracks, json!([]));
    // Unknown routes and methods answer in the same JSON shape.
    let (s, v) = h.call("GET", "/v1/nothing", "", "coalition").await;
    assert_eq!((s, v["code"].as_str()), (404, Some("not_found")));
    let (s, v) = h.call("DELETE", "/v1/tracks", "", "coalition").await;
    assert_eq!((s, v["code"].as_str()), (405, Some("method_not_allowed")));
}

#[tokio::test]
async fn the_record_holds_each_accepted_write_with_undisclosed_fields_committed() {
    use deconflict_log::{EntryBody, FieldValue, Opening, TreeHeadUpdate};
    let h = harness();
    let tmp = attach_log(&h);
    let (s, v) = h
        .call(
            "POST",
            "/v1/notifications",
            &authored(
                "russia",
                &notification("r-1", 35.0, 39.0, 5_000.0, "SECRET-REMARK"),
            ),
            "russia",
        )
        .await;
    assert_eq!(s, 201, "{v}");
    // Two signatures, "in force", the notification.
    let (s, v) = h
        .call("GET", "/v1/log/tree-head?since=1", "", "coalition")
        .await;
    assert_eq!(s, 200, "{v}");
    let update = TreeHeadUpdate::from_json(v.to_string().as_bytes()).unwrap();
    let head = update.tree_head.tree_head().clone();
    assert_eq!(head.size(), 4);
    let log = h.state.log().unwrap().clone();
    update
        .tree_head
        .verify(&log.log_file().keys().get(head.log()).copied().unwrap())
        .unwrap();
    let entries = log.log_file().entries(0, 4).unwrap();
    for (i, e) in entries.iter().enumerate() {
        let (s, p) = h
            .call(
                "GET",
                &format!("/v1/log/inclusion?index={i}&size=4"),
                "",
                "russia",
            )
            .await;
        assert_eq!(s, 200, "{p}");
        let proof: deconflict_log::InclusionProof = serde_json::from_value(p).unwrap();
        proof.verify(&e.leaf_hash(), head.root()).unwrap();
    }
    // The other party reads the entries, and Russia's undisclosed callsign is not in them.
    let (s, listed) = h
        .call("GET", "/v1/log/entries?start=0&end=10", "", "coalition")
        .await;
    assert_eq!(s, 200, "{listed}");
    assert_eq!(listed["entries"].as_array().unwrap().len(), 4);
    assert!(!listed.to_string().contains("SECRETCS1"), "{listed}");
    let EntryBody::Notification { fields, .. } = entries[3].entry().body() else {
        panic!(
            "entry 3 is not the notification: {:?}",
            entries[3].entry().body()
        );
    };
    let Some(FieldValue::Commitment(c)) = fields.get("callsigns") else {
        panic!("callsigns not committed: {fields:?}");
    };
    // The opening kept beside the log reveals it.
    let openings = std::fs::read_to_string(tmp.path().join("log-openings.jsonl")).unwrap();
    let opened: Vec<Opening> = openings
        .lines()
        .map(|l| {
            serde_json::from_value(serde_json::from_str::<Value>(l).unwrap()["opening"].clone())
                .unwrap()
        })
        .filter(|o: &Opening| o.verify(c).is_ok())
        .collect();
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].value, FieldValue::text("SECRETCS1").unwrap());
    // Out of range: a clear 400, not a crash.
    let (s, v) = h
        .call("GET", "/v1/log/inclusion?index=9&size=4", "", "russia")
        .await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = h
        .call("GET", "/v1/log/consistency?old=1", "", "russia")
        .await;
    assert_eq!((s, v["field"].as_str()), (400, Some("new")), "{v}");
}

/// Random damage to a valid statement body (a byte changed, the body cut short): always a 4xx
/// with the JSON error body, never a 5xx or a panic, and the agreement never changes.
/// Regression: a signature's hex digits in uppercase were the same signature, so that one
/// change was accepted as the statement itself; a signature now has one text form.
#[test]
fn damaged_statement_bodies_are_refused_and_change_nothing() {
    use proptest::prelude::*;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Not limited by the per-party rate: the cases are many requests at one instant.
    let h = harness_with(deconflict_service::Config {
        rate_requests_per_s: 1e9,
        rate_burst_requests: 1e9,
        ..Default::default()
    });
    let good = action_body(
        &statement(
            "coalition",
            "coalition",
            2,
            suspend("strike warning ignored"),
        ),
        "coalition",
        T0_MS,
    )
    .into_bytes();
    let view = |h: &Harness| {
        let req = h.signed("GET", "/v1/agreement", b"", "coalition");
        rt.block_on(h.send(req))
    };
    let before = view(&h);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    });
    let strategy = (0..good.len(), any::<u8>(), any::<bool>());
    runner
        .run(&strategy, |(at, byte, cut)| {
            let mut body = good.clone();
            if cut {
                body.truncate(at);
            } else {
                prop_assume!(body[at] != byte);
                body[at] = byte;
            }
            let req = h.signed("POST", "/v1/agreement/actions", &body, "coalition");
            let (s, bytes) = rt.block_on(h.send(req));
            prop_assert!(
                (400..500).contains(&s),
                "{s} for {:?}",
                String::from_utf8_lossy(&body)
            );
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            prop_assert!(v["code"].as_str().is_some_and(|c| !c.is_empty()));
            Ok(())
        })
        .unwrap();
    assert_eq!(view(&h), before);
}

/// A notification, its update and its withdrawal are in the record as entries their party
/// signed: they verify with its key and not the service's, undisclosed fields are committed
/// with the salts the party chose, and every wrong `entry_*` is refused naming the field,
/// with nothing stored and nothing recorded.
#[tokio::test]
async fn notification_entries_are_signed_by_their_party_and_checked() {
    use deconflict_log::{EntryBody, FieldValue, Salt};
    let h = harness();
    let _record = attach_log(&h);
    let service_key = h.state.log().unwrap().public_key_hex();
    let size = || {
        h.state
            .log()
            .unwrap()
            .log_file()
            .latest_tree_head()
            .tree_head()
            .size()
    };
    let n = notification("r-1", 35.0, 39.0, 5_000.0, "SECRET-REMARK");
    let good: Value = serde_json::from_str(&authored("russia", &n)).unwrap();
    let with = |k: &str, v: Value| {
        let mut x = good.clone();
        x[k] = v;
        x.to_string()
    };
    let salts = good["entry_salts"].clone();
    // Russia discloses area and window only: band, callsigns and remarks need salts.
    let mut names: Vec<&str> = salts
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["alt_max_mm", "alt_min_mm", "callsigns", "remarks"]);
    let salts_with = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut m = salts.as_object().unwrap().clone();
        f(&mut m);
        with("entry_salts", Value::Object(m))
    };
    let coalition_signed: Value = serde_json::from_str(&authored("coalition", &n)).unwrap();
    let other_content: Value = serde_json::from_str(&authored(
        "russia",
        &notification("r-1", 35.0, 39.0, 6_000.0, "SECRET-REMARK"),
    ))
    .unwrap();
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "a salt missing for an undisclosed field",
            salts_with(&|m| {
                m.remove("callsigns");
            }),
            "invalid_field",
            "entry_salts.callsigns",
        ),
        (
            "a salt for a disclosed field",
            salts_with(&|m| {
                m.insert("area".into(), json!("11".repeat(32)));
            }),
            "invalid_field",
            "entry_salts.area",
        ),
        (
            "a salt for a field the notification lacks",
            salts_with(&|m| {
                m.insert("aircraft_type".into(), json!("12".repeat(32)));
            }),
            "invalid_field",
            "entry_salts.aircraft_type",
        ),
        (
            "a salt for no field of the record",
            salts_with(&|m| {
                m.insert("targets".into(), json!("13".repeat(32)));
            }),
            "invalid_field",
            "entry_salts.targets",
        ),
        (
            "a salt in upper-case hex",
            salts_with(&|m| {
                m.insert("callsigns".into(), json!("AB".repeat(32)));
            }),
            "invalid_field",
            "entry_salts.callsigns",
        ),
        (
            "one salt for two fields",
            salts_with(&|m| {
                let s = m["alt_min_mm"].clone();
                m.insert("remarks".into(), s);
            }),
            "invalid_field",
            "entry_salts.remarks",
        ),
        (
            "six minutes from the service's clock",
            with("entry_time_ms", json!(T0_MS + 360_000)),
            "invalid_field",
            "entry_time_ms",
        ),
        (
            "a negative time",
            with("entry_time_ms", json!(-1)),
            "invalid_field",
            "entry_time_ms",
        ),
        (
            "another time than the one signed",
            with("entry_time_ms", json!(T0_MS + 1)),
            "entry_signature_invalid",
            "entry_signature",
        ),
        (
            "signed with the coalition's key",
            with(
                "entry_signature",
                coalition_signed["entry_signature"].clone(),
            ),
            "entry_signature_invalid",
            "entry_signature",
        ),
        (
            "signed over other content",
            with("entry_signature", other_content["entry_signature"].clone()),
            "entry_signature_invalid",
            "entry_signature",
        ),
        (
            "the signature moved to another id",
            with("id", json!("r-2")),
            "entry_signature_invalid",
            "entry_signature",
        ),
        (
            "a signature that is not base64",
            with("entry_signature", json!("not base64!")),
            "entry_signature_invalid",
            "entry_signature",
        ),
        (
            "no signature",
            {
                let mut x = good.clone();
                x.as_object_mut().unwrap().remove("entry_signature");
                x.to_string()
            },
            "invalid_field",
            "entry_signature",
        ),
    ];
    let before = (stored_state(&h).await, size());
    for (case, body, code, field) in &cases {
        let (s, v) = h.call("POST", "/v1/notifications", body, "russia").await;
        assert_eq!(
            (s, v["code"].as_str(), v["field"].as_str()),
            (422, Some(*code), Some(*field)),
            "{case}: {v}"
        );
    }
    assert_eq!(
        (stored_state(&h).await, size()),
        before,
        "a refused notification changed the store or the record"
    );
    // Each refusal is counted by its code.
    let metrics = h.metrics_text().await;
    for (code, n) in [("entry_signature_invalid", 5), ("invalid_field", 9)] {
        let line = format!("deconflict_requests_rejected_total{{reason=\"{code}\"}} {n}");
        assert!(metrics.contains(&line), "{line} not in:\n{metrics}");
    }

    // Accepted: the entry is Russia's, and verifies with its key only.
    let (s, v) = h
        .call("POST", "/v1/notifications", &good.to_string(), "russia")
        .await;
    assert_eq!(s, 201, "{v}");
    let upd = json!({"revision": 1, "notification": other_content["notification"]});
    // An update signed as if it were the first revision is refused.
    let mut stale =
        serde_json::from_str::<Value>(&authored_at("russia", "r-1", &upd, T0_MS)).unwrap();
    stale["entry_signature"] = good["entry_signature"].clone();
    stale["entry_salts"] = good["entry_salts"].clone();
    let (s, v) = h
        .call("PUT", "/v1/notifications/r-1", &stale.to_string(), "russia")
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (422, Some("entry_signature_invalid")),
        "{v}"
    );
    let (s, v) = h
        .call(
            "PUT",
            "/v1/notifications/r-1",
            &authored_at("russia", "r-1", &upd, T0_MS + 1),
            "russia",
        )
        .await;
    assert_eq!(s, 200, "{v}");
    // A withdrawal signed for another notification is refused; its own is accepted.
    let (s, v) = h
        .call(
            "POST",
            "/v1/notifications/r-1/withdraw",
            &authored_at("russia", "r-9", &json!({"revision": 2}), T0_MS),
            "russia",
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (422, Some("entry_signature_invalid")),
        "{v}"
    );
    let (s, v) = h
        .call(
            "POST",
            "/v1/notifications/r-1/withdraw",
            &authored_at("russia", "r-1", &json!({"revision": 2}), T0_MS + 2),
            "russia",
        )
        .await;
    assert_eq!(s, 200, "{v}");

    let log = h.state.log().unwrap().clone();
    let entries = log.log_file().entries(0, size()).unwrap();
    let ours: Vec<_> = entries
        .iter()
        .filter(|e| {
            matches!(
                e.entry().body(),
                EntryBody::Notification { .. } | EntryBody::NotificationWithdrawal { .. }
            )
        })
        .collect();
    assert_eq!(ours.len(), 3, "create, update, withdrawal: {ours:?}");
    let service = deconflict_log::PublicKey::from_hex(&service_key).unwrap().0;
    for (e, t) in ours.iter().zip([T0_MS, T0_MS + 1, T0_MS + 2]) {
        assert_eq!(e.entry().author().as_str(), "russia");
        assert_eq!(e.entry().time_ms(), t as u64);
        e.verify(&key("russia").verifying_key()).unwrap();
        assert!(e.verify(&key("coalition").verifying_key()).is_err());
        assert!(e.verify(&service).is_err());
    }
    // The first revision: the clear fields, and commitments opened by the salts Russia sent.
    let EntryBody::Notification { fields, .. } = ours[0].entry().body() else {
        panic!("not a notification: {:?}", ours[0].entry().body());
    };
    assert_eq!(
        fields.get("party"),
        Some(&FieldValue::text("russia").unwrap())
    );
    assert!(matches!(fields.get("area"), Some(FieldValue::Text(_))));
    assert!(matches!(
        fields.get("start_unix_ms"),
        Some(FieldValue::Int(_))
    ));
    for (name, value) in [
        ("callsigns", FieldValue::text("SECRETCS1").unwrap()),
        ("remarks", FieldValue::text("SECRET-REMARK").unwrap()),
        ("alt_min_mm", FieldValue::int(3_000_000).unwrap()),
    ] {
        let Some(FieldValue::Commitment(c)) = fields.get(name) else {
            panic!("{name} not committed: {fields:?}");
        };
        let salt = Salt::try_from(salts[name].as_str().unwrap().to_string()).unwrap();
        deconflict_log::Opening { salt, value }.verify(c).unwrap();
    }
    for e in &entries {
        let text = String::from_utf8_lossy(e.as_bytes());
        assert!(
            !text.contains("SECRET"),
            "an undisclosed value in the clear: {text}"
        );
    }
}
