//! Shared test fixtures: two parties, their keys, a service over an in-memory store on a
//! virtual clock, and signed requests sent without sockets.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response};
use deconflict_service::auth;
use deconflict_service::{Config, ManualClock, PartyInfo, State, Terms};
use ed25519_dalek::SigningKey;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// 2017-04-12T08:00:00Z.
pub const T0_MS: i64 = 1_491_984_000_000;

pub fn key(party: &str) -> SigningKey {
    match party {
        "coalition" => SigningKey::from_bytes(&[1; 32]),
        "russia" => SigningKey::from_bytes(&[2; 32]),
        _ => SigningKey::from_bytes(&[9; 32]),
    }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Coalition discloses position, altitude, velocity and callsign of its aircraft, and the
/// area, band and window of its notifications. Russia discloses position and altitude only,
/// and the area and window of its notifications.
pub fn terms() -> Terms {
    let party = |id: &str, name: &str, lang: &str, track: &[&str], notif: &[&str]| PartyInfo {
        id: id.into(),
        name: name.into(),
        language: lang.into(),
        key: key(id).verifying_key(),
        key_text: format!("ed25519:{id}"),
        disclose_track: set(track),
        disclose_notification: set(notif),
    };
    Terms {
        id: "sha256:test".into(),
        title: "test agreement".into(),
        parties: vec![
            party(
                "coalition",
                "Coalition",
                "en",
                &["position", "altitude", "velocity", "callsign"],
                &["area", "altitude_band", "time_window"],
            ),
            party(
                "russia",
                "Russian Federation",
                "ru",
                &["position", "altitude"],
                &["area", "time_window"],
            ),
        ],
        h_sep_m: 9_260.0,
        v_sep_m: 300.0,
        lookahead_s: 120.0,
        document: b"{}".to_vec(),
    }
}

pub struct Harness {
    pub state: Arc<State>,
    pub router: Router,
    pub clock: ManualClock,
}

pub fn harness() -> Harness {
    harness_with(Config::default())
}

pub fn harness_with(config: Config) -> Harness {
    let clock = ManualClock::new(T0_MS);
    let store = deconflict_store::SqliteStore::open_in_memory().unwrap();
    let state = State::open(
        config,
        terms(),
        true,
        Box::new(store),
        Arc::new(clock.clone()),
    )
    .unwrap();
    let (router, _) = deconflict_service::api::router(state.clone());
    Harness {
        state,
        router,
        clock,
    }
}

pub fn nonce() -> String {
    auth::new_nonce()
}

/// A request signed by `party` with `signer`'s key, created at `created_s`.
pub fn signed_as(
    method: &str,
    path: &str,
    body: &[u8],
    party: &str,
    signer: &SigningKey,
    created_s: i64,
) -> Request<Body> {
    let headers = auth::sign_request(method, path, body, party, signer, created_s, &nonce());
    let mut b = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        b = b.header(k, v);
    }
    b.header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .unwrap()
}

impl Harness {
    pub fn now_s(&self) -> i64 {
        use deconflict_service::Clock;
        self.clock.now_s()
    }

    pub fn signed(&self, method: &str, path: &str, body: &[u8], party: &str) -> Request<Body> {
        signed_as(method, path, body, party, &key(party), self.now_s())
    }

    pub async fn send(&self, req: Request<Body>) -> (u16, Vec<u8>) {
        let resp: Response<Body> = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (status, bytes)
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: &str,
        party: &str,
    ) -> (u16, serde_json::Value) {
        let (status, bytes) = self
            .send(self.signed(method, path, body.as_bytes(), party))
            .await;
        let v = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, v)
    }
}

/// A report at the harness clock's now.
pub fn report(
    track: &str,
    t_ms: i64,
    lat: f64,
    lon: f64,
    alt: f64,
    trk: f64,
    gs: f64,
) -> serde_json::Value {
    serde_json::json!({
        "track_id": track,
        "time_unix_ms": t_ms,
        "lat_deg": lat,
        "lon_deg": lon,
        "alt_m": alt,
        "track_deg": trk,
        "ground_speed_mps": gs,
        "vertical_rate_mps": 0.0,
        "callsign": format!("CS{track}"),
        "aircraft_type": "TYPE-WITHHELD",
        "squawk": "7777"
    })
}

pub fn notification(
    id: &str,
    lat: f64,
    lon: f64,
    radius_m: f64,
    remarks: &str,
) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "notification": {
            "area": {"kind": "circle", "centre": {"lat_deg": lat, "lon_deg": lon}, "radius_m": radius_m},
            "alt_min_m": 3000.0,
            "alt_max_m": 9000.0,
            "start_unix_ms": T0_MS,
            "end_unix_ms": T0_MS + 3_600_000,
            "callsigns": ["SECRETCS1"],
            "remarks": remarks
        }
    })
}
