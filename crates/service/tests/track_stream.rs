//! The track stream (`GET /v1/tracks/stream`) over a real loopback socket: frames answered in
//! order once durable, their reports in the picture and the report log; a frame whose reports
//! are refused changes nothing and the stream goes on; a frame whose integrity fails is
//! answered and closes the stream, and nothing of it is stored.

mod common;

use std::sync::Arc;

use common::*;
use deconflict_client::PartyClient;
use deconflict_client::track_stream::TrackStream;
use deconflict_client::wire::frame::{FRAME_PAYLOAD_BYTES_MAX, FrameAnswer, encode_frame};
use serde_json::{Value, json};

/// A harness served on a loopback port (no cycle); the server stops when the sender drops.
async fn served() -> (Harness, String, tokio::sync::oneshot::Sender<()>) {
    let h = harness();
    let listener = deconflict_service::bind(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(deconflict_service::serve(
        h.state.clone(),
        listener,
        false,
        async move {
            let _ = stopped.await;
        },
    ));
    (h, base, stop)
}

fn client(h: &Harness, base: &str, party: &str) -> PartyClient {
    PartyClient::new(base, party, key(party), Arc::new(h.clock.clone()))
}

/// A frame's payload: the batch document of reports of `tracks` at the harness's now.
fn payload(h: &Harness, tracks: &[&str]) -> Vec<u8> {
    let now = h.now_s() * 1000;
    let reports: Vec<Value> = tracks
        .iter()
        .enumerate()
        .map(|(i, t)| report(t, now, 35.0 + i as f64 * 0.1, 39.0, 3000.0, 90.0, 150.0))
        .collect();
    serde_json::to_vec(&json!({ "reports": reports })).unwrap()
}

/// Every report of `party` in the report log: (number, track).
async fn logged(h: &Harness, party: &'static str) -> Vec<(u64, String)> {
    h.state
        .with_store(move |s| {
            s.reports_after(party, 0, 1000)
                .unwrap()
                .into_iter()
                .map(|r| (r.seq, r.track_id))
                .collect()
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn frames_are_answered_in_order_once_durable_and_their_reports_are_live_and_logged() {
    let (h, base, _stop) = served().await;
    let mut s = TrackStream::open(&client(&h, &base, "coalition"))
        .await
        .unwrap();
    // Three frames sent before any answer is read: the service reads ahead and answers each.
    for tracks in [&["S1", "S2"][..], &["S3"], &["S4", "S5", "S1"]] {
        s.send_payload(&payload(&h, tracks)).await.unwrap();
    }
    for (frame, n) in [(1, 2), (2, 1), (3, 3)] {
        assert_eq!(s.answer().await.unwrap(), FrameAnswer::accepted(frame, n));
    }
    let tracks = logged(&h, "coalition").await;
    let want: Vec<(u64, String)> = ["S1", "S2", "S3", "S4", "S5", "S1"]
        .iter()
        .enumerate()
        .map(|(i, t)| (i as u64 + 1, t.to_string()))
        .collect();
    assert_eq!(tracks, want, "one run per frame, numbered as reports are");
    // A report pushed one by one afterwards takes the next number.
    let now = h.now_s() * 1000;
    let one = report("S6", now, 35.5, 39.0, 3000.0, 90.0, 150.0).to_string();
    let (status, _) = h.call("POST", "/v1/tracks", &one, "coalition").await;
    assert_eq!(status, 200);
    assert_eq!(
        logged(&h, "coalition").await.last().unwrap(),
        &(7, "S6".into())
    );
    // The picture holds them; the other party sees them as the agreement discloses.
    let (_, seen) = h.call("GET", "/v1/tracks", "", "russia").await;
    let ids: Vec<&str> = seen
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["track_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["S1", "S2", "S3", "S4", "S5", "S6"]);
    assert!(seen[0]["squawk"].is_null(), "undisclosed: {}", seen[0]);
    let metrics = h.metrics_text().await;
    assert!(
        metrics.contains("deconflict_stream_frames_total{outcome=\"accepted\"} 3"),
        "{metrics}"
    );
    s.close().await.unwrap();
}

#[tokio::test]
async fn a_frame_of_refused_reports_changes_nothing_and_the_stream_goes_on() {
    let (h, base, _stop) = served().await;
    let mut s = TrackStream::open(&client(&h, &base, "coalition"))
        .await
        .unwrap();
    let mut bad: Value = serde_json::from_slice(&payload(&h, &["A1", "A2"])).unwrap();
    bad["reports"][1]["lat_deg"] = json!(200.0);
    s.send_payload(&serde_json::to_vec(&bad).unwrap())
        .await
        .unwrap();
    s.send_payload(b"{\"reports\": [").await.unwrap();
    s.send_payload(&payload(&h, &["A3"])).await.unwrap();
    let a = s.answer().await.unwrap();
    let refused = a.refused.expect("refused");
    assert_eq!(
        (a.frame, refused.field.as_deref()),
        (1, Some("reports[1].lat_deg"))
    );
    let a = s.answer().await.unwrap();
    assert_eq!(
        (a.frame, a.refused.unwrap().code.as_str()),
        (2, "malformed_json")
    );
    assert_eq!(s.answer().await.unwrap(), FrameAnswer::accepted(3, 1));
    assert_eq!(logged(&h, "coalition").await, vec![(1, "A3".to_string())]);
}

/// Each way a frame can fail its integrity: answered `error` with its code, then the stream is
/// closed with that reason, and nothing of the frame is stored.
#[tokio::test]
async fn a_frame_that_fails_its_integrity_is_answered_and_closes_the_stream() {
    let (h, base, _stop) = served().await;
    let me = client(&h, &base, "coalition");
    let good = payload(&h, &["B1"]);
    let other = TrackStream::open(&me).await.unwrap();
    type Make = Box<dyn Fn(&str) -> Vec<u8>>;
    let cases: Vec<(&str, Make, u16)> = vec![
        (
            "frame_bad_signature",
            {
                let good = good.clone();
                Box::new(move |nonce: &str| {
                    let mut f = encode_frame(&key("coalition"), "coalition", nonce, 1, &good);
                    f[20] ^= 1;
                    f
                })
            },
            1008,
        ),
        (
            "frame_bad_signature",
            {
                // A frame of another stream of the same party, replayed into this one.
                let good = good.clone();
                let theirs = other.nonce().to_string();
                Box::new(move |_: &str| {
                    encode_frame(&key("coalition"), "coalition", &theirs, 1, &good)
                })
            },
            1008,
        ),
        (
            "frame_bad_signature",
            {
                // Russia's key signing as the coalition.
                let good = good.clone();
                Box::new(move |nonce: &str| {
                    encode_frame(&key("russia"), "coalition", nonce, 1, &good)
                })
            },
            1008,
        ),
        (
            "frame_out_of_order",
            {
                let good = good.clone();
                Box::new(move |nonce: &str| {
                    encode_frame(&key("coalition"), "coalition", nonce, 2, &good)
                })
            },
            1008,
        ),
        ("frame_bad_magic", Box::new(|_: &str| vec![b'X'; 100]), 1008),
        ("frame_too_short", Box::new(|_: &str| vec![0; 10]), 1008),
        (
            "frame_too_large",
            Box::new(|nonce: &str| {
                encode_frame(
                    &key("coalition"),
                    "coalition",
                    nonce,
                    1,
                    &vec![b' '; FRAME_PAYLOAD_BYTES_MAX + 1],
                )
            }),
            1009,
        ),
    ];
    for (code, make, close) in cases {
        let mut s = TrackStream::open(&me).await.unwrap();
        let bytes = make(s.nonce());
        s.send_raw(bytes)
            .await
            .unwrap_or_else(|e| panic!("{code}: {e}"));
        let a = s.answer().await.unwrap_or_else(|e| panic!("{code}: {e}"));
        let error = a.error.unwrap_or_else(|| panic!("{code}: no error"));
        assert_eq!(
            (a.frame, error.code.as_str()),
            (1, code),
            "{}",
            error.message
        );
        let closed = s.answer().await.unwrap_err().to_string();
        assert!(
            closed.contains(&format!("closed: {close} {code}")),
            "{code}: {closed}"
        );
    }
    assert!(logged(&h, "coalition").await.is_empty());
}

#[tokio::test]
async fn the_upgrade_is_refused_to_anyone_but_a_party() {
    let (h, base, _stop) = served().await;
    let stranger = PartyClient::new(
        &base,
        "nobody",
        ed25519_dalek::SigningKey::from_bytes(&[7; 32]),
        Arc::new(h.clock.clone()),
    );
    let e = TrackStream::open(&stranger).await.unwrap_err().to_string();
    assert!(e.contains("401") && e.contains("unknown_key"), "{e}");
    // The coalition's name with Russia's key.
    let impostor = PartyClient::new(&base, "coalition", key("russia"), Arc::new(h.clock.clone()));
    let e = TrackStream::open(&impostor).await.unwrap_err().to_string();
    assert!(e.contains("401") && e.contains("signature_invalid"), "{e}");
}

/// One party holds at most 16 streams open, so it cannot take every place; the others still
/// open theirs, and a place closed is free again.
#[tokio::test]
async fn one_party_cannot_take_every_stream() {
    let (h, base, _stop) = served().await;
    let coalition = client(&h, &base, "coalition");
    let mut held = Vec::new();
    for _ in 0..deconflict_service::track_stream::TRACK_STREAMS_PER_PARTY_MAX {
        held.push(TrackStream::open(&coalition).await.unwrap());
    }
    let e = TrackStream::open(&coalition).await.unwrap_err().to_string();
    assert!(e.contains("429") && e.contains("too_many_streams"), "{e}");
    let mut other = TrackStream::open(&client(&h, &base, "russia"))
        .await
        .unwrap();
    other.send_payload(&payload(&h, &["R1"])).await.unwrap();
    assert_eq!(other.answer().await.unwrap(), FrameAnswer::accepted(1, 1));
    held.pop().unwrap().close().await.unwrap();
    // The service lets the place go once it has seen the close.
    let mut reopened = None;
    for _ in 0..100 {
        if let Ok(s) = TrackStream::open(&coalition).await {
            reopened = Some(s);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        reopened.is_some(),
        "the closed stream's place was not freed"
    );
}
