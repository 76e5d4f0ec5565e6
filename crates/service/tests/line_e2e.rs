//! The line end to end over loopback: the real service (`deconflict_service::serve` on an
//! ephemeral port) with its record attached, two parties with the signed client. A strike
//! warning acknowledged late escalates and the sender sees it on its stream; the engine's
//! alert opens a conversation on both sides; every line message and acknowledgement is in the
//! record, signed by its author.

use std::sync::Arc;
use std::time::Duration;

use deconflict_client::PartyClient;
use deconflict_line::Message;
use deconflict_log::{EntryBody, FieldValue};
use deconflict_service::datadir::DataDir;
use deconflict_service::log_entries::ServiceLog;
use deconflict_service::{Clock, Config, ManualClock, State, Terms};
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// 2017-04-12T08:00:00Z.
const T0_MS: i64 = 1_491_984_000_000;
const RUSSIA_COMMAND: &str = "Russian Federation command";
const RUSSIA_DUTY: &str = "Дежурный офицер, Хмеймим";

fn key(party: &str) -> SigningKey {
    match party {
        "coalition" => SigningKey::from_bytes(&[1; 32]),
        _ => SigningKey::from_bytes(&[2; 32]),
    }
}

/// The template agreement, whose example keys are the seeds of [`key`], signed by both.
fn terms() -> Terms {
    let a = deconflict_agreement::parse_toml(deconflict_agreement::TEMPLATE_TOML).unwrap();
    let sigs = a
        .parties()
        .iter()
        .map(|p| {
            let secret =
                deconflict_agreement::SecretKey::from_seed(key(p.id().as_str()).to_bytes());
            assert_eq!(
                p.public_key(),
                &secret.public_key(),
                "template keys changed"
            );
            deconflict_agreement::AgreementSignature::sign(&a, p.id(), &secret).unwrap()
        })
        .collect();
    Terms::from_agreement(&a).unwrap().with_signatures(sigs)
}

fn strike_warning(id: &str, t_ms: i64) -> Message {
    serde_json::from_value(json!({
        "id": id, "from": "coalition", "to": "russia", "sent_at_ms": t_ms,
        "subject": {"kind": "notification", "id": "N-7"},
        "body": {
            "type": "strike_warning", "activity": "strike",
            "area": {"shape": "circle", "centre": {"lat_udeg": 35_333_000, "lon_udeg": 40_150_000}, "radius_mm": 9_260_000},
            "altitude_block": {"lower_mm": 0, "upper_mm": 9_144_000},
            "window": {"start_ms": t_ms + 600_000, "end_ms": t_ms + 3_600_000}
        }
    }))
    .unwrap()
}

/// Collects `(kind, data)` of the line events on a party's stream.
fn listen(mut stream: deconflict_client::EventStream) -> mpsc::UnboundedReceiver<(String, Value)> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(m)) = stream.next().await {
            if m.event.starts_with("line_") {
                let data = serde_json::from_str(&m.data).unwrap_or(Value::Null);
                if tx.send((m.event, data)).is_err() {
                    break;
                }
            }
        }
    });
    rx
}

async fn next(rx: &mut mpsc::UnboundedReceiver<(String, Value)>) -> (String, Value) {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a line event within 10 s")
        .expect("stream open")
}

fn report(track: &str, t_ms: i64, lon: f64, trk: f64) -> Value {
    json!({
        "track_id": track, "time_unix_ms": t_ms, "lat_deg": 35.0, "lon_deg": lon,
        "alt_m": 6000.0, "track_deg": trk, "ground_speed_mps": 200.0, "vertical_rate_mps": 0.0
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_parties_on_the_line_over_loopback_with_the_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    let clock = ManualClock::new(T0_MS);
    let terms = terms();
    let store = deconflict_store::SqliteStore::open(&tmp.path().join("db.sqlite")).unwrap();
    let state = State::open(
        Config::default(),
        terms.clone(),
        true,
        Box::new(store),
        Arc::new(clock.clone()),
    )
    .unwrap();
    let signed_by = vec!["coalition".to_string(), "russia".to_string()];
    let log = Arc::new(ServiceLog::open(&dir, &terms, &signed_by, T0_MS).unwrap());
    assert!(state.attach_log(log.clone()));
    let listener = deconflict_service::bind(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(deconflict_service::serve(
        state.clone(),
        listener,
        false,
        async move {
            let _ = stopped.await;
        },
    ));
    let client = |party: &str| PartyClient::new(&base, party, key(party), Arc::new(clock.clone()));
    let (coalition, russia) = (client("coalition"), client("russia"));
    let mut c_events = listen(coalition.stream(None).await.unwrap());
    let mut r_events = listen(russia.stream(None).await.unwrap());

    // A strike warning, delivered to Russia's duty officer.
    let warning = strike_warning("coalition-sw-1", T0_MS);
    let accepted = coalition.line_send(&warning).await.unwrap();
    assert_eq!(accepted.deadline_unix_ms, Some(T0_MS + 120_000));
    assert!(!accepted.duplicate);
    assert!(coalition.line_send(&warning).await.unwrap().duplicate);
    let (kind, data) = next(&mut r_events).await;
    assert_eq!(
        (kind.as_str(), &data["message_id"]),
        ("line_message", &json!("coalition-sw-1"))
    );
    assert_eq!(data["officer"], RUSSIA_DUTY);

    // Nobody answers in two minutes: overdue, escalated to Russia's command; the sender sees it.
    clock.set_ms(T0_MS + 120_000);
    state.run_cycle().await.unwrap();
    let (kind, _) = next(&mut c_events).await;
    assert_eq!(kind, "line_overdue");
    let (kind, data) = next(&mut c_events).await;
    assert_eq!(kind, "line_escalated");
    assert_eq!(data["to_officer"], RUSSIA_COMMAND);
    assert_eq!(data["at_ms"], T0_MS + 120_000);

    // The command acknowledges, late; a retry after a reconnect counts once.
    clock.set_ms(T0_MS + 150_000);
    let ack = russia
        .line_ack("coalition-sw-1", RUSSIA_COMMAND)
        .await
        .unwrap();
    assert!(ack.late && !ack.duplicate);
    assert_eq!(ack.escalations, 1);
    assert!(
        russia
            .line_ack("coalition-sw-1", RUSSIA_COMMAND)
            .await
            .unwrap()
            .duplicate
    );
    let (kind, data) = next(&mut c_events).await;
    assert_eq!(kind, "line_acknowledged");
    assert_eq!(
        (data["late"].as_bool(), data["latency_ms"].as_u64()),
        (Some(true), Some(150_000))
    );
    let seen = coalition.line_message("coalition-sw-1").await.unwrap();
    assert_eq!(seen.escalations.len(), 1);
    assert_eq!(
        seen.acknowledged.map(|a| a.officer),
        Some(RUSSIA_COMMAND.to_string())
    );

    // The engine's alert opens a conversation on both sides.
    let t = clock.now_ms();
    for (c, track, lon, trk) in [
        (&coalition, "C1", 38.0, 90.0),
        (&russia, "R1", 38.22, 270.0),
    ] {
        let _: Value = c
            .call("POST", "/v1/tracks", Some(&report(track, t, lon, trk)))
            .await
            .unwrap();
    }
    state.run_cycle().await.unwrap();
    let mut alert_subject = None;
    for rx in [&mut c_events, &mut r_events] {
        let (kind, data) = loop {
            let (k, d) = next(rx).await;
            if k == "line_message" {
                break (k, d);
            }
        };
        assert_eq!(
            (kind.as_str(), data["kind"].as_str()),
            ("line_message", Some("conflict_alert"))
        );
        let subject = data["view"]["message"]["subject"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            alert_subject.get_or_insert(subject.clone()),
            &subject,
            "one thread"
        );
    }
    let subject = alert_subject.unwrap();
    for c in [&coalition, &russia] {
        let conv = c
            .line_conversation("alert", &subject, "ru", "+03:00", "decimal")
            .await
            .unwrap();
        assert_eq!(conv.messages.len(), 1);
        assert_eq!(conv.messages[0].to, c.party());
        assert!(conv.text.contains(&subject), "{}", conv.text);
    }
    let pending = russia.line_pending().await.unwrap();
    let ca = &pending.to_acknowledge[0];
    assert_eq!(ca.kind, "conflict_alert");
    russia
        .line_ack(&ca.message.id().to_string(), RUSSIA_DUTY)
        .await
        .unwrap();

    // The record: the warning signed by the coalition, each acknowledgement once, signed by
    // Russia; the conflict alerts the service put on the line, signed by the service's key;
    // nothing else claims their authorship.
    let service_key = deconflict_log::PublicKey::from_hex(&log.public_key_hex())
        .unwrap()
        .0;
    let head = log.log_file().latest_tree_head();
    let entries = log.log_file().entries(0, head.tree_head().size()).unwrap();
    let mut warnings = 0;
    let mut service_alerts = Vec::new();
    let mut acks = Vec::new();
    for e in &entries {
        let author = e.entry().author().as_str().to_string();
        match e.entry().body() {
            EntryBody::LineMessage { message_id, .. } if author == "service" => {
                e.verify(&service_key).unwrap();
                assert!(e.verify(&key("coalition").verifying_key()).is_err());
                service_alerts.push(message_id.as_str().to_string());
            }
            EntryBody::LineMessage { message_id, fields } => {
                assert_eq!(message_id.as_str(), "coalition-sw-1");
                assert_eq!(author, "coalition");
                e.verify(&key("coalition").verifying_key()).unwrap();
                assert!(e.verify(&key("russia").verifying_key()).is_err());
                let Some(FieldValue::Text(json)) = fields.get("message") else {
                    panic!("the message is in the record: {fields:?}");
                };
                assert_eq!(
                    Message::from_canonical_json(json.as_str().as_bytes()).unwrap(),
                    warning
                );
                warnings += 1;
            }
            EntryBody::Acknowledgement { acknowledges, .. } => {
                assert_eq!(author, "russia");
                e.verify(&key("russia").verifying_key()).unwrap();
                acks.push(acknowledges.as_str().to_string());
            }
            _ => {}
        }
    }
    assert_eq!(warnings, 1, "the resend was not recorded twice");
    // One conflict-alert message to each party, each recorded once.
    service_alerts.sort();
    assert_eq!(service_alerts.len(), 2, "{service_alerts:?}");
    assert!(service_alerts.contains(&ca.message.id().to_string()));
    service_alerts.dedup();
    assert_eq!(service_alerts.len(), 2);
    assert_eq!(
        acks,
        vec!["coalition-sw-1".to_string(), ca.message.id().to_string()]
    );

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
