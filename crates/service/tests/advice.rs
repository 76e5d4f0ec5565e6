//! Coordinated advice in the live picture: a corrective (here warning) conflict gives each
//! party its own suggestion with its bands and the other's senses (values only as the agreement
//! discloses), the same advice goes into each party's conflict-alert message on the line and
//! into the signed alert entry, and recomputing it offline from the record's entries gives the
//! same pairing.

mod common;

use std::collections::BTreeMap;

use common::*;
use deconflict_desk::advice::state;
use deconflict_log::{EntryBody, FieldValue, Fields, Hash, Opening};
use deconflict_wellclear::advice::{Turn, Vertical, coordinate};
use serde_json::{Value, json};

fn int(f: &Fields, name: &str) -> i64 {
    match f.get(name) {
        Some(FieldValue::Int(i)) => i.get(),
        other => panic!("{name}: {other:?}"),
    }
}

fn text_field(f: &Fields, name: &str) -> String {
    match f.get(name) {
        Some(FieldValue::Text(t)) => t.as_str().to_string(),
        other => panic!("{name}: {other:?}"),
    }
}

/// An integer field in the clear, or opened with the service's openings file.
fn opened(f: &Fields, name: &str, openings: &BTreeMap<Hash, Opening>) -> i64 {
    match f.get(name) {
        Some(FieldValue::Int(i)) => i.get(),
        Some(FieldValue::Commitment(c)) => match &openings[c].value {
            FieldValue::Int(i) => i.get(),
            other => panic!("{name} opens to {other:?}"),
        },
        other => panic!("{name}: {other:?}"),
    }
}

#[tokio::test]
async fn a_corrective_conflict_carries_coordinated_advice_to_both_parties_the_line_and_the_record()
{
    let h = harness();
    let dir = attach_log(&h);
    // Head-on along 35° N, 20 km apart at 200 m/s each; russia 50 m above coalition.
    for (party, r) in [
        (
            "coalition",
            report("c1", T0_MS, 35.0, 39.0, 7000.0, 90.0, 200.0),
        ),
        (
            "russia",
            report("r1", T0_MS, 35.0, 39.22, 7050.0, 270.0, 200.0),
        ),
    ] {
        let (s, v) = h.call("POST", "/v1/tracks", &r.to_string(), party).await;
        assert_eq!(s, 200, "{v}");
    }
    assert_eq!(h.state.run_cycle().await.unwrap(), 1);

    // Each party's alert event: its own suggestion with bands, the other's senses.
    let mut views = BTreeMap::new();
    for party in ["coalition", "russia"] {
        let (_, events) = h.call("GET", "/v1/events", "", party).await;
        let alert = events
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "alert")
            .unwrap_or_else(|| panic!("{party}: {events}"))["data"]
            .clone();
        let level = alert["level"].as_str().unwrap();
        assert!(level == "corrective" || level == "warning", "{alert}");
        // The same as GET /v1/alerts.
        let (_, alerts) = h.call("GET", "/v1/alerts", "", party).await;
        assert_eq!(alerts[0], alert);
        views.insert(party, alert);
    }
    let c = &views["coalition"]["advice"];
    let r = &views["russia"]["advice"];
    // Russia is higher: it climbs, coalition descends; head-on, both turn right.
    assert_eq!(c["own"]["party"], "coalition");
    assert_eq!(c["own"]["vertical"], "descend");
    assert_eq!(c["own"]["turn"], "right");
    assert_eq!(r["own"]["vertical"], "climb");
    assert_eq!(r["own"]["turn"], "right");
    assert_eq!(c["other"]["vertical"], r["own"]["vertical"]);
    assert_eq!(r["other"]["turn"], c["own"]["turn"]);
    for own in [&c["own"], &r["own"]] {
        let bands = &own["bands"];
        for kind in [
            "direction_deg",
            "horizontal_speed_mps",
            "vertical_speed_mps",
            "altitude_m",
        ] {
            assert!(!bands[kind].as_array().unwrap().is_empty(), "{kind}: {own}");
        }
        assert!(
            own["altitude_m"].is_f64() && own["direction_deg"].is_f64(),
            "{own}"
        );
    }
    assert!(c["own"]["altitude_m"].as_f64().unwrap() < 7000.0);
    assert!(r["own"]["altitude_m"].as_f64().unwrap() > 7050.0);
    // What each may see of the other: no bands; russia discloses altitude but not velocity,
    // coalition both.
    assert_eq!(c["other"]["bands"], Value::Null);
    assert_eq!(c["other"]["altitude_m"], r["own"]["altitude_m"]);
    assert_eq!(c["other"]["direction_deg"], Value::Null, "{c}");
    assert_eq!(r["other"]["direction_deg"], c["own"]["direction_deg"]);

    // The line: each party's conflict-alert message carries its advice, in its language. The
    // message goes into the shared log as it is, so a value to reach is said only where the
    // aircraft's party discloses the field: russia's own message has no direction to turn to.
    for (party, lang, want) in [
        (
            "coalition",
            "en",
            [
                "ADVICE for Coalition track c1: descend to FL",
                " or below; turn right to ",
            ],
        ),
        (
            "russia",
            "ru",
            [
                // The template agreement names the parties in English only.
                "РЕКОМЕНДАЦИЯ борту r1 (Russian Federation): набор высоты до FL",
                " или выше; отворот вправо. Рекомендация борту c1 (Coalition): снижение до FL",
            ],
        ),
    ] {
        let (_, list) = h.call("GET", "/v1/line/conversations", "", party).await;
        let conv = &list[0];
        assert_eq!(conv["subject_kind"], "alert", "{list}");
        let path = format!(
            "/v1/line/conversations/alert/{}?lang={lang}",
            conv["subject_id"].as_str().unwrap().replace('/', "%2F")
        );
        let (s, v) = h.call("GET", &path, "", party).await;
        assert_eq!(s, 200, "{v}");
        let text = v["text"].as_str().unwrap();
        for w in want {
            assert!(text.contains(w), "{party}: {text}");
        }
    }
    // Coalition's message says russia's turn without a direction (russia keeps its velocity).
    let (_, list) = h
        .call("GET", "/v1/line/conversations", "", "coalition")
        .await;
    let (_, v) = h
        .call(
            "GET",
            &format!(
                "/v1/line/conversations/alert/{}?lang=en",
                list[0]["subject_id"].as_str().unwrap().replace('/', "%2F")
            ),
            "",
            "coalition",
        )
        .await;
    let text = v["text"].as_str().unwrap();
    let other = text
        .split("Advice for Russian Federation track r1: ")
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"));
    assert!(other.starts_with("climb to FL"), "{text}");
    assert!(other.contains(" or above; turn right."), "{text}");

    // The record: the signed alert entry carries the advice; recompute it offline.
    let log = h.state.log().unwrap();
    let n = log.log_file().latest_tree_head().tree_head().size();
    let entries = log.log_file().entries(0, n).unwrap();
    let openings: BTreeMap<Hash, Opening> =
        std::fs::read_to_string(dir.path().join("log-openings.jsonl"))
            .unwrap()
            .lines()
            .map(|l| deconflict_service::log_entries::parse_opening_line(l.as_bytes()).unwrap())
            .collect();
    let alert_id = views["coalition"]["alert_id"].as_str().unwrap();
    let alert = entries
        .iter()
        .find_map(|e| match e.entry().body() {
            EntryBody::Alert {
                alert_id: id,
                fields,
                ..
            } if id.as_str() == alert_id => Some(fields.clone()),
            _ => None,
        })
        .expect("the alert entry");
    assert_eq!(text_field(&alert, "advice_1_track"), "coalition/c1");
    assert_eq!(text_field(&alert, "advice_2_track"), "russia/r1");
    assert_eq!(text_field(&alert, "advice_1_vertical"), "descend");
    assert_eq!(text_field(&alert, "advice_2_vertical"), "climb");
    assert_eq!(text_field(&alert, "advice_2_turn"), "right");
    // Russia's direction to reach is a commitment: it does not disclose its velocity.
    assert!(matches!(
        alert.get("advice_2_direction_mdeg"),
        Some(FieldValue::Commitment(_))
    ));
    let at_ms = int(&alert, "advice_at_unix_ms");
    // Each aircraft's report, from its track summary (opening what its party keeps).
    let report_of = |track: &str| -> deconflict_desk::Report {
        let f = entries
            .iter()
            .find_map(|e| match e.entry().body() {
                EntryBody::TrackSummary {
                    alert_id: Some(a),
                    track_id,
                    fields,
                } if a.as_str() == alert_id && track_id.as_str() == track => Some(fields.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("track summary of {track}"));
        let get = |name: &str| opened(&f, name, &openings);
        deconflict_desk::Report {
            track_id: track.split_once('/').unwrap().1.to_string(),
            time_ms: int(&f, "time_unix_ms"),
            lat_deg: get("lat_udeg") as f64 / 1e6,
            lon_deg: get("lon_udeg") as f64 / 1e6,
            alt_m: get("alt_mm") as f64 / 1e3,
            track_deg: get("track_mdeg") as f64 / 1e3,
            ground_speed_mps: get("ground_speed_mmps") as f64 / 1e3,
            vertical_rate_mps: get("vertical_rate_mmps") as f64 / 1e3,
            callsign: None,
            aircraft_type: None,
            icao24: None,
            squawk: None,
        }
    };
    let (ra, rb) = (report_of("coalition/c1"), report_of("russia/r1"));
    let config = deconflict_desk::Alerter::named("DO_365B_no_SUM")
        .unwrap()
        .config()
        .clone();
    let again = coordinate(
        &state("coalition", &ra, at_ms),
        &state("russia", &rb, at_ms),
        &config,
    )
    .unwrap();
    assert_eq!(again.own.vertical, Vertical::Descend);
    assert_eq!(again.other.vertical, Vertical::Climb);
    assert_eq!(
        (again.own.turn, again.other.turn),
        (Turn::Right, Turn::Right)
    );
    let mm = |x: Option<f64>| (x.unwrap() * 1000.0).round() as i64;
    let mdeg = |x: Option<f64>| (x.unwrap().to_degrees().rem_euclid(360.0) * 1000.0).round() as i64;
    assert_eq!(
        opened(&alert, "advice_1_altitude_mm", &openings),
        mm(again.own.altitude_m)
    );
    assert_eq!(
        opened(&alert, "advice_2_altitude_mm", &openings),
        mm(again.other.altitude_m)
    );
    assert_eq!(
        opened(&alert, "advice_1_direction_mdeg", &openings),
        mdeg(again.own.direction_rad)
    );
    assert_eq!(
        opened(&alert, "advice_2_direction_mdeg", &openings),
        mdeg(again.other.direction_rad)
    );
    // And the same values the parties were told.
    assert_eq!(json!(again.own.altitude_m.unwrap()), c["own"]["altitude_m"]);
    assert_eq!(
        json!(
            again
                .other
                .direction_rad
                .unwrap()
                .to_degrees()
                .rem_euclid(360.0)
        ),
        r["own"]["direction_deg"]
    );
}

#[tokio::test]
async fn a_preventive_conflict_carries_no_advice() {
    let h = harness();
    // Head-on, 600 ft apart: preventive only under DO-365B.
    for (party, r) in [
        (
            "coalition",
            report("c1", T0_MS, 35.0, 39.0, 7000.0, 90.0, 200.0),
        ),
        (
            "russia",
            report(
                "r1",
                T0_MS,
                35.0,
                39.22,
                7000.0 + 600.0 * 0.3048,
                270.0,
                200.0,
            ),
        ),
    ] {
        h.call("POST", "/v1/tracks", &r.to_string(), party).await;
    }
    assert_eq!(h.state.run_cycle().await.unwrap(), 1);
    for party in ["coalition", "russia"] {
        let (_, alerts) = h.call("GET", "/v1/alerts", "", party).await;
        assert_eq!(alerts[0]["level"], "preventive", "{alerts}");
        assert_eq!(alerts[0]["advice"], Value::Null, "{alerts}");
    }
}
