//! Incidents through the API: two aircraft pushed with known positions pass at a known closest
//! approach; the filed incident's computed figure matches it; each party's signed account, the
//! working-group members' signed assessments (agreed, disputed); refusals of the wrong party,
//! a forged account, a non-member; events on both streams; the incidents folded again from
//! the record after a restart.

mod common;

use std::sync::Arc;

use common::*;
use deconflict_client::line_entry::sign_entry;
use deconflict_service::incidents::{
    AccountGiven, AccountIn, AssessmentGiven, FilingIn, IncidentAccount, IncidentAssess,
    IncidentFile, account_entry, assessment_entry, filing_entry,
};
use ed25519_dalek::SigningKey;

fn member_key(member: &str) -> SigningKey {
    match member {
        "coalition-wg" => SigningKey::from_bytes(&[3; 32]),
        "russia-wg" => SigningKey::from_bytes(&[4; 32]),
        _ => SigningKey::from_bytes(&[8; 32]),
    }
}

fn member_block(id: &str) -> String {
    let public = deconflict_agreement::SecretKey::from_seed(member_key(id).to_bytes())
        .public_key()
        .to_text();
    format!(
        "[[party.member]]\nid = \"{id}\"\nname = \"Working group, {id}\"\npublic_key = \"{public}\"\n\n"
    )
}

/// The test agreement with one working-group member per party.
fn terms_with_members() -> deconflict_service::Terms {
    terms_with_members_and(&[])
}

/// A third party to the agreement, with its working-group member.
fn third_party_block(id: &str) -> String {
    format!(
        "[[party]]\nid = \"{id}\"\nname = \"Third party\"\nlanguage = \"en\"\npublic_key = \"{}\"\n\
         disclose_track = [\"position\", \"altitude\"]\ndisclose_notification = [\"area\"]\n\n{}\
         [[party.contact]]\nname = \"Duty officer\"\nrole = \"duty officer\"\nshift_utc = \"00:00-24:00\"\n\n",
        secret(id).public_key().to_text(),
        member_block(&format!("{id}-wg"))
    )
}

/// The test agreement with one working-group member per party, and these further parties.
fn terms_with_members_and(more: &[&str]) -> deconflict_service::Terms {
    let t = agreement_toml();
    let night = "[[party.contact]]\nname = \"CAOC duty officer, night\"";
    assert_eq!(t.matches(night).count(), 1, "template changed");
    let t = t.replacen(
        night,
        &format!("{}{night}", member_block("coalition-wg")),
        1,
    );
    let guard = "[[frequency]]\nname = \"Guard\"";
    assert_eq!(t.matches(guard).count(), 1, "template changed");
    let more_blocks: String = more.iter().map(|p| third_party_block(p)).collect();
    let t = t.replacen(
        guard,
        &format!("{}{more_blocks}{guard}", member_block("russia-wg")),
        1,
    );
    let a = deconflict_agreement::parse_toml(&t).unwrap();
    let sigs = ["coalition", "russia"]
        .iter()
        .chain(more)
        .map(|p| {
            let pid = deconflict_agreement::PartyId::new(p).unwrap();
            deconflict_agreement::AgreementSignature::sign(&a, &pid, &secret(p)).unwrap()
        })
        .collect();
    deconflict_service::Terms::from_agreement(&a)
        .unwrap()
        .with_signatures(sigs)
}

const LAT: f64 = 35.0;
const LON: f64 = 38.0;
/// Russia's aircraft flies this far north of the coalition's, degrees of latitude.
const DLAT: f64 = 0.004;
/// Both fly at this ground speed, towards each other.
const SPEED_MPS: f64 = 150.0;
/// Reports every 4 s from T0 for 80 s; they meet 37.3 s after T0, between two reports.
const MEET_S: f64 = 37.3;

/// Metres per degree of longitude and of latitude at `lat` on WGS-84.
fn metres_per_degree(lat_deg: f64) -> (f64, f64) {
    let a = 6_378_137.0_f64;
    let f = 1.0 / 298.257_223_563;
    let e2 = f * (2.0 - f);
    let phi = lat_deg.to_radians();
    let w = (1.0 - e2 * phi.sin().powi(2)).sqrt();
    let n = a / w;
    let m = a * (1.0 - e2) / w.powi(3);
    (
        n * phi.cos() * std::f64::consts::PI / 180.0,
        m * std::f64::consts::PI / 180.0,
    )
}

/// Pushes both aircraft's reports, advancing the clock; returns the expected closest approach
/// (horizontal metres, time ms).
async fn fly(h: &Harness) -> (f64, i64) {
    fly_reports(h, 0..=20).await;
    h.clock.set_ms(T0_MS + 90_000);
    expected_approach()
}

/// The closest approach `fly` was built for (horizontal metres, time ms).
fn expected_approach() -> (f64, i64) {
    let (_, m_lat) = metres_per_degree(LAT);
    (DLAT * m_lat, T0_MS + (MEET_S * 1000.0) as i64)
}

/// Pushes both aircraft's reports number `ks` (one every 4 s), advancing the clock.
async fn fly_reports(h: &Harness, ks: std::ops::RangeInclusive<u32>) {
    fly_reports_as(h, ks, None).await
}

/// As [`fly_reports`]; with `Some(how)` each report goes straight to the service's push as
/// `how` (a track stream frame: stored as a run), not through `POST /v1/tracks`.
async fn fly_reports_as(
    h: &Harness,
    ks: std::ops::RangeInclusive<u32>,
    how: Option<deconflict_service::state::Pushed>,
) {
    let (m_lon, _) = metres_per_degree(LAT);
    let dlon_per_s = SPEED_MPS / m_lon;
    for k in ks {
        let t_s = 4.0 * k as f64;
        let t_ms = T0_MS + (t_s * 1000.0) as i64;
        h.clock.set_ms(t_ms);
        let c = report(
            "C1",
            t_ms,
            LAT,
            LON + dlon_per_s * t_s,
            6000.0,
            90.0,
            SPEED_MPS,
        );
        let r = report(
            "R1",
            t_ms,
            LAT + DLAT,
            LON + dlon_per_s * (2.0 * MEET_S - t_s),
            6150.0,
            270.0,
            SPEED_MPS,
        );
        for (party, body) in [("coalition", c), ("russia", r)] {
            if let Some(how) = how {
                let report = serde_json::from_value(body).unwrap();
                h.state
                    .push_reports(party, vec![report], how)
                    .await
                    .unwrap_or_else(|e| panic!("{party} report {k}: {e:?}"));
                continue;
            }
            let (status, v) = h.call("POST", "/v1/tracks", &body.to_string(), party).await;
            assert_eq!(status, 200, "{party} report {k}: {v}");
        }
    }
}

/// Russia sends the coalition a free-text message on the line, now.
async fn line_message(h: &Harness, id: &str) {
    use deconflict_line::{Body, LangTag, Message, MessageId, PartyId, Subject, SubjectId};
    use deconflict_line::{SubjectKind, Text, Timestamp};
    let message = Message::new(
        MessageId::new(id).unwrap(),
        PartyId::new("russia").unwrap(),
        PartyId::new("coalition").unwrap(),
        Timestamp::from_unix_ms(h.clock_ms()).unwrap(),
        Subject::new(SubjectKind::General, SubjectId::new("R1").unwrap()),
        Body::FreeText {
            written_in: LangTag::new("ru").unwrap(),
            text: Text::new("Борт R1 держит курс 270.").unwrap(),
        },
    )
    .unwrap();
    let entry = deconflict_client::line_entry::log_entry_for_message(&message).unwrap();
    let body = serde_json::json!({
        "message": message,
        "entry_signature": sign_entry(entry, &key("russia")).unwrap(),
    });
    let (status, v) = h
        .call("POST", "/v1/line/messages", &body.to_string(), "russia")
        .await;
    assert!(status == 200 || status == 201, "{v}");
}

fn account(text: &str, language: &str, figure_m: Option<u32>) -> AccountIn {
    AccountIn {
        language: language.into(),
        text: text.into(),
        seen: "radar".into(),
        action: "turned".into(),
        figure: figure_m.map(|m| deconflict_service::incidents::FigureIn {
            horizontal_m: m,
            vertical_m: None,
        }),
    }
}

fn filing(h: &Harness, id: &str) -> FilingIn {
    FilingIn {
        id: id.into(),
        from_unix_ms: T0_MS,
        to_unix_ms: T0_MS + 80_000,
        own_track: Some("C1".into()),
        other_party: Some("russia".into()),
        account: account(
            "Our aircraft turned away from the intruder.",
            "en",
            Some(800),
        ),
        time_unix_ms: h.clock_ms(),
    }
}

trait Now {
    fn clock_ms(&self) -> i64;
}

impl Now for Harness {
    fn clock_ms(&self) -> i64 {
        use deconflict_service::Clock;
        self.clock.now_ms()
    }
}

fn file_body(f: FilingIn, signer: &SigningKey) -> String {
    let entry = filing_entry("coalition", &f).unwrap();
    serde_json::to_string(&IncidentFile {
        entry_signature: sign_entry(entry, signer).unwrap(),
        filing: f,
    })
    .unwrap()
}

fn account_body(h: &Harness, id: &str, party: &str, signer: &SigningKey, figure: u32) -> String {
    let given = AccountGiven {
        incident_id: id.into(),
        account: account("Наш самолёт прошёл в 300 м.", "ru", Some(figure)),
        time_unix_ms: h.clock_ms(),
    };
    let entry = account_entry(party, &given).unwrap();
    serde_json::to_string(&IncidentAccount {
        entry_signature: sign_entry(entry, signer).unwrap(),
        account: given.account,
        time_unix_ms: given.time_unix_ms,
    })
    .unwrap()
}

fn assess_body(h: &Harness, id: &str, member: &str, signer: &SigningKey, category: &str) -> String {
    let given = AssessmentGiven {
        incident_id: id.into(),
        member: member.into(),
        category: category.into(),
        factors: vec!["late_sighting".into()],
        remarks: "Seen late by both.".into(),
        time_unix_ms: h.clock_ms(),
    };
    // The harness's members are named after their party (`coalition-wg`).
    let party = member.strip_suffix("-wg").unwrap_or(member);
    let entry = assessment_entry(party, &given).unwrap();
    serde_json::to_string(&IncidentAssess {
        entry_signature: sign_entry(entry, signer).unwrap(),
        member: given.member,
        category: given.category,
        factors: given.factors,
        remarks: given.remarks,
        time_unix_ms: given.time_unix_ms,
    })
    .unwrap()
}

#[tokio::test]
async fn an_incident_is_filed_with_the_computed_approach_given_accounts_and_assessed() {
    let h = harness_with_terms(deconflict_service::Config::default(), terms_with_members());
    let dir = attach_log(&h);
    let (expected_m, expected_ms) = fly(&h).await;

    // Filed by the coalition: the pair and its closest approach, computed from the reports.
    let v = filed_by_coalition(&h, "inc-1").await;
    let c = &v["closest_approach"];
    let got = c["horizontal_m"].as_f64().unwrap();
    assert!(
        (got - expected_m).abs() <= (0.02 * expected_m).max(20.0),
        "computed {got} m, expected {expected_m} m"
    );
    assert!(
        (c["vertical_m"].as_f64().unwrap() - 150.0).abs() < 1.0,
        "{c}"
    );
    let t = c["time_unix_ms"].as_i64().unwrap();
    assert!(
        (t - expected_ms).abs() <= 200,
        "at {t}, expected {expected_ms}"
    );
    assert_eq!(v["status"], "filed");
    assert_eq!(v["waiting"], serde_json::json!(["russia"]));
    assert_eq!(v["pairs"].as_array().unwrap().len(), 1, "{v}");

    // The same id again: refused.
    let (status, v) = h
        .call(
            "POST",
            "/v1/incidents",
            &file_body(filing(&h, "inc-1"), &key("coalition")),
            "coalition",
        )
        .await;
    assert_eq!((status, v["code"].as_str()), (409, Some("id_taken")));
    // A filing whose log entry is signed by another key: refused, nothing filed.
    let (status, v) = h
        .call(
            "POST",
            "/v1/incidents",
            &file_body(filing(&h, "inc-2"), &key("russia")),
            "coalition",
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (422, Some("entry_signature_invalid"))
    );
    // No signature on the request at all.
    let unsigned = axum::http::Request::builder()
        .method("GET")
        .uri("/v1/incidents")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(h.send(unsigned).await.0, 401);

    // Russia's account, forged: signed with the coalition's key under Russia's name.
    let (status, v) = h
        .call(
            "POST",
            "/v1/incidents/inc-1/accounts",
            &account_body(&h, "inc-1", "russia", &key("coalition"), 300),
            "russia",
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (422, Some("entry_signature_invalid")),
        "{v}"
    );
    // An assessment before the accounts are in: refused.
    let (status, v) = h
        .call(
            "POST",
            "/v1/incidents/inc-1/assessments",
            &assess_body(
                &h,
                "inc-1",
                "coalition-wg",
                &member_key("coalition-wg"),
                "B",
            ),
            "coalition",
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("accounts_pending"))
    );
    // Russia's own account, disputing the distance.
    let (status, v) = h
        .call(
            "POST",
            "/v1/incidents/inc-1/accounts",
            &account_body(&h, "inc-1", "russia", &key("russia"), 300),
            "russia",
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "accounts_complete");
    assert_eq!(v["accounts"].as_array().unwrap().len(), 2);
    // A second account of the same party: refused.
    let (status, v) = h
        .call(
            "POST",
            "/v1/incidents/inc-1/accounts",
            &account_body(&h, "inc-1", "russia", &key("russia"), 250),
            "russia",
        )
        .await;
    assert_eq!((status, v["code"].as_str()), (409, Some("account_given")));

    // Assessments: a party sending another party's member, an unknown member, a member's
    // entry signed with another key.
    let (status, v) = h
        .call(
            "POST",
            "/v1/incidents/inc-1/assessments",
            &assess_body(
                &h,
                "inc-1",
                "coalition-wg",
                &member_key("coalition-wg"),
                "B",
            ),
            "russia",
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (403, Some("not_working_group_member"))
    );
    let (status, v) = h
        .call(
            "POST",
            "/v1/incidents/inc-1/assessments",
            &assess_body(&h, "inc-1", "intruder", &member_key("intruder"), "B"),
            "coalition",
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (403, Some("not_working_group_member"))
    );
    let (status, v) = h
        .call(
            "POST",
            "/v1/incidents/inc-1/assessments",
            &assess_body(&h, "inc-1", "coalition-wg", &key("coalition"), "B"),
            "coalition",
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (422, Some("entry_signature_invalid"))
    );
    // B from the coalition, C from Russia: disputed, both views side by side.
    for (party, member, cat) in [
        ("coalition", "coalition-wg", "B"),
        ("russia", "russia-wg", "C"),
    ] {
        let (status, v) = h
            .call(
                "POST",
                "/v1/incidents/inc-1/assessments",
                &assess_body(&h, "inc-1", member, &member_key(member), cat),
                party,
            )
            .await;
        assert_eq!(status, 200, "{v}");
    }
    let (_, v) = h.call("GET", "/v1/incidents/inc-1", "", "russia").await;
    assert_eq!(v["status"], "disputed");
    let views: Vec<_> = v["views"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["party"].as_str().unwrap().to_string(),
                a["category"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        views,
        [
            ("coalition".to_string(), "B".to_string()),
            ("russia".to_string(), "C".to_string())
        ]
    );
    // Russia's member changes its view: agreed on B.
    let (status, v) = h
        .call(
            "POST",
            "/v1/incidents/inc-1/assessments",
            &assess_body(&h, "inc-1", "russia-wg", &member_key("russia-wg"), "B"),
            "russia",
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["status"].as_str(), v["category"].as_str()),
        (Some("agreed"), Some("B"))
    );

    // Both streams carry the incident's course.
    for party in ["coalition", "russia"] {
        let (status, v) = h
            .call("GET", "/v1/events?after=0&limit=1000", "", party)
            .await;
        assert_eq!(status, 200, "{v}");
        let whats: Vec<String> = v["events"]
            .as_array()
            .or(v.as_array())
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "incident")
            .map(|e| e["data"]["what"].as_str().unwrap_or("?").to_string())
            .collect();
        for w in [
            "filed",
            "account",
            "accounts_complete",
            "assessed",
            "outcome",
        ] {
            assert!(whats.iter().any(|x| x == w), "{party}: no {w} in {whats:?}");
        }
    }

    // The record holds each step, signed by its author: the members sign their assessments.
    let log = h.state.log().unwrap().clone();
    let size = log.log_file().latest_tree_head().tree_head().size();
    let mut courses = Vec::new();
    for e in log.log_file().entries(0, size).unwrap() {
        if let deconflict_log::EntryBody::IncidentReport { fields, .. } = e.entry().body()
            && let Some(deconflict_log::FieldValue::Text(c)) = fields.get("course")
        {
            courses.push(format!("{}:{}", c.as_str(), e.entry().author().as_str()));
        }
    }
    assert_eq!(
        courses,
        [
            "filing:coalition",
            "evidence:service",
            "account:russia",
            "assessment:coalition-wg",
            "assessment:russia-wg",
            "assessment:russia-wg"
        ]
    );

    // A restart: the incident is folded again from the record, the same.
    let (_, before) = h
        .call("GET", "/v1/incidents/inc-1", "coalition", "coalition")
        .await;
    let now = h.clock_ms();
    drop(log);
    drop(h);
    let h2 = harness_with_terms(deconflict_service::Config::default(), terms_with_members());
    h2.clock.set_ms(now);
    let data = deconflict_service::datadir::DataDir::new(dir.path());
    let log2 = deconflict_service::log_entries::ServiceLog::open(
        &data,
        &h2.state.terms,
        &["coalition".to_string(), "russia".to_string()],
        now,
    )
    .unwrap();
    assert!(h2.state.attach_log(Arc::new(log2)));
    let (status, after) = h2.call("GET", "/v1/incidents/inc-1", "", "coalition").await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after, before);
}

#[tokio::test]
async fn a_party_outside_the_incident_cannot_tell_it_exists() {
    let h = harness_with_terms(
        deconflict_service::Config::default(),
        terms_with_members_and(&["turkey"]),
    );
    let _dir = attach_log(&h);
    fly(&h).await;
    filed_by_coalition(&h, "inc-1").await;
    // The third party gets for the coalition–Russia incident exactly what it gets for an id
    // that does not exist, whether it reads, gives an account or has its member assess.
    for id in ["inc-1", "inc-none"] {
        let (status, v) = h
            .call("GET", &format!("/v1/incidents/{id}"), "", "turkey")
            .await;
        assert_eq!(
            (status, v["code"].as_str()),
            (404, Some("not_found")),
            "{v}"
        );
        let (status, v) = h
            .call(
                "POST",
                &format!("/v1/incidents/{id}/accounts"),
                &account_body(&h, id, "turkey", &key("turkey"), 300),
                "turkey",
            )
            .await;
        assert_eq!(
            (status, v["code"].as_str()),
            (404, Some("not_found")),
            "{v}"
        );
        let (status, v) = h
            .call(
                "POST",
                &format!("/v1/incidents/{id}/assessments"),
                &assess_body(&h, id, "turkey-wg", &member_key("turkey-wg"), "B"),
                "turkey",
            )
            .await;
        assert_eq!(
            (status, v["code"].as_str()),
            (404, Some("not_found")),
            "{v}"
        );
    }
    // Its parties still see it.
    let (status, _) = h.call("GET", "/v1/incidents/inc-1", "", "russia").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_incident_is_shown_to_its_parties_only_and_refuses_bad_windows() {
    let h = harness_with_terms(deconflict_service::Config::default(), terms_with_members());
    let _dir = attach_log(&h);
    fly(&h).await;
    // An inverted window.
    let mut f = filing(&h, "inc-w");
    f.to_unix_ms = f.from_unix_ms - 1;
    let (status, v) = h
        .call(
            "POST",
            "/v1/incidents",
            &file_body(f, &key("coalition")),
            "coalition",
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (422, Some("invalid_incident")),
        "{v}"
    );
    // A window with nobody else's aircraft near: no pair, nothing filed.
    let mut f = filing(&h, "inc-empty");
    f.own_track = Some("C9".into());
    let (status, v) = h
        .call(
            "POST",
            "/v1/incidents",
            &file_body(f, &key("coalition")),
            "coalition",
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (422, Some("invalid_incident")),
        "{v}"
    );
    // An unknown incident, and the list of a party with none.
    let (status, v) = h.call("GET", "/v1/incidents/nope", "", "russia").await;
    assert_eq!((status, v["code"].as_str()), (404, Some("not_found")));
    let (status, v) = h.call("GET", "/v1/incidents", "", "russia").await;
    assert_eq!((status, v), (200, serde_json::json!([])));
    // The metrics count the refusals by code.
    let metrics = h.state.metrics.render();
    assert!(
        metrics.contains("deconflict_incident_refused_total{reason=\"invalid_incident\"} 2"),
        "{metrics}"
    );
}

/// The pins a reader takes from the agreement and the service's published key.
fn pins(h: &Harness) -> deconflict_service::evidence::Pins {
    deconflict_service::evidence::Pins::from_agreement(
        &terms_with_members().agreement,
        Some(h.state.log().unwrap().public_key()),
    )
    .unwrap()
}

/// Files incident `id` as the coalition (the test filing), which must be accepted; its view.
async fn filed_by_coalition(h: &Harness, id: &str) -> serde_json::Value {
    let (status, v) = h
        .call(
            "POST",
            "/v1/incidents",
            &file_body(filing(h, id), &key("coalition")),
            "coalition",
        )
        .await;
    assert_eq!(status, 201, "{v}");
    v
}

/// `bundle` with its first report's evidence fields swapped for the second's is refused,
/// naming the report.
fn a_swapped_report_is_refused(h: &Harness, bundle: &serde_json::Value) {
    let mut swapped = bundle.clone();
    let reports = swapped["reports"].as_array_mut().unwrap();
    let second = reports[1]["core"].clone();
    reports[0]["core"] = second;
    let e = deconflict_service::evidence::verify(&serde_json::to_vec(&swapped).unwrap(), &pins(h))
        .unwrap_err();
    assert!(e.0.contains("report 0"), "{e}");
}

/// Reports that came in batches, as track stream frames do (each stored as a run), are found for the incident,
/// committed to the record in the cycle's batches, and proved in its evidence as any others.
/// Russia's account is missing and the record's tree head (signed on the system clock, years
/// after this scenario's) is past its deadline: the bundle shows Russia overdue, and the
/// verifier, folding the entries to the tree head's time, agrees.
#[tokio::test]
async fn an_evidence_bundle_of_streamed_reports_verifies_offline() {
    use deconflict_service::evidence::verify;
    let h = harness_with_terms(deconflict_service::Config::default(), terms_with_members());
    let _dir = attach_log(&h);
    fly_reports_as(&h, 0..=20, Some(deconflict_service::state::Pushed::Batch)).await;
    h.clock.set_ms(T0_MS + 90_000);
    let (expected_m, _) = expected_approach();
    filed_by_coalition(&h, "inc-s").await;
    h.state.run_cycle().await.unwrap();
    let (status, bytes) = h
        .send(h.signed("GET", "/v1/incidents/inc-s/evidence", b"", "russia"))
        .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    let bundle: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(bundle["reports"].as_array().unwrap().len(), 42);
    assert_eq!(bundle["incident"]["overdue"], serde_json::json!(["russia"]));
    let v = verify(&bytes, &pins(&h)).unwrap();
    let a = v.approaches[0].as_ref().unwrap();
    assert!(
        (a.horizontal_m - expected_m).abs() <= (0.02 * expected_m).max(20.0),
        "recomputed {} m, expected {expected_m} m",
        a.horizontal_m
    );
    a_swapped_report_is_refused(&h, &bundle);
}

#[tokio::test]
async fn an_evidence_bundle_verifies_offline_and_any_change_fails() {
    use deconflict_service::evidence::verify;
    let h = harness_with_terms(deconflict_service::Config::default(), terms_with_members());
    let _dir = attach_log(&h);
    // A line message in the middle of the window.
    fly_reports(&h, 0..=10).await;
    line_message(&h, "russia-free-1").await;
    fly_reports(&h, 11..=20).await;
    h.clock.set_ms(T0_MS + 90_000);
    let (expected_m, _) = expected_approach();
    filed_by_coalition(&h, "inc-e").await;
    // Before the cycle commits the window's reports, there is no proof of them yet.
    let (status, v) = h
        .call("GET", "/v1/incidents/inc-e/evidence", "", "coalition")
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("reports_not_committed")),
        "{v}"
    );
    h.state.run_cycle().await.unwrap();
    let metrics = h.state.metrics.render();
    assert!(
        metrics.contains("deconflict_reports_committed_total 42"),
        "{metrics}"
    );
    // The cycle was timed stage by stage.
    for stage in ["desk", "events", "store", "line", "incidents", "record"] {
        assert!(
            metrics.contains(&format!(
                "deconflict_cycle_stage_seconds_count{{stage=\"{stage}\"}} 1\n"
            )),
            "{stage}: {metrics}"
        );
    }
    for party in ["russia", "coalition"] {
        let (status, v) = h
            .call(
                "POST",
                "/v1/incidents/inc-e/accounts",
                &account_body(&h, "inc-e", party, &key(party), 300),
                party,
            )
            .await;
        if party == "russia" {
            assert_eq!(status, 200, "{v}");
        } else {
            assert_eq!((status, v["code"].as_str()), (409, Some("account_given")));
        }
    }
    for (party, member, cat) in [
        ("coalition", "coalition-wg", "B"),
        ("russia", "russia-wg", "C"),
    ] {
        let (status, v) = h
            .call(
                "POST",
                "/v1/incidents/inc-e/assessments",
                &assess_body(&h, "inc-e", member, &member_key(member), cat),
                party,
            )
            .await;
        assert_eq!(status, 200, "{v}");
    }
    let (status, bytes) = h
        .send(h.signed("GET", "/v1/incidents/inc-e/evidence", b"", "russia"))
        .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    let bundle: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let bytes = serde_json::to_vec(&bundle).unwrap();
    assert_eq!(bundle["reports"].as_array().unwrap().len(), 42);
    // The reports show their evidence fields only: the rest (callsign, type, squawk, which the
    // agreement need not disclose to the other party) is bound by a salted digest.
    let text = String::from_utf8_lossy(&bytes);
    for hidden in ["CSR1", "CSC1", "TYPE-WITHHELD", "squawk", "callsign"] {
        assert!(!text.contains(hidden), "the bundle shows {hidden}");
    }

    let v = verify(&bytes, &pins(&h)).unwrap();
    assert_eq!(v.incident.status, "disputed");
    let a = v.approaches[0].as_ref().unwrap();
    assert!(
        (a.horizontal_m - expected_m).abs() <= (0.02 * expected_m).max(20.0),
        "recomputed {} m, expected {expected_m} m",
        a.horizontal_m
    );
    assert_eq!(Some(a), v.incident.closest_approach.as_ref());
    // Unpinned, it verifies against its own keys.
    verify(&bytes, &deconflict_service::evidence::Pins::default()).unwrap();
    // Another log key pinned: refused.
    let mut other = pins(&h);
    other.log_key = Some(key("coalition").verifying_key());
    assert!(verify(&bytes, &other).unwrap_err().0.contains("pinned"));

    // A report swapped for another of the same track: refused.
    a_swapped_report_is_refused(&h, &bundle);
    // The window's alerts and line messages the evidence names are all in the bundle; one
    // left out is refused by name.
    assert_eq!(v.records, 1, "the window's line message");
    {
        let mut without = bundle.clone();
        let entries = without["entries"].as_array_mut().unwrap();
        let at = entries
            .iter()
            .position(|e| e["entry"].as_str().unwrap().contains("russia-free-1"))
            .expect("the line message's entry is in the bundle");
        entries.remove(at);
        let e = verify(&serde_json::to_vec(&without).unwrap(), &pins(&h)).unwrap_err();
        assert!(e.0.contains("does not hold its entry"), "{e}");
    }
    // A report left out: the recomputed approach or the set of reports differs.
    let mut fewer = bundle.clone();
    fewer["reports"].as_array_mut().unwrap().remove(9);
    assert!(verify(&serde_json::to_vec(&fewer).unwrap(), &pins(&h)).is_err());

    // Cut anywhere, or replaced by noise: refused with a reason, never a panic.
    for cut in (0..bytes.len()).step_by(997) {
        assert!(verify(&bytes[..cut], &pins(&h)).is_err(), "cut at {cut}");
    }
    let mut noise = 0x2545_f491_4f6c_dd1d_u64;
    for len in [0, 1, 7, 64, 4096] {
        let junk: Vec<u8> = (0..len)
            .map(|_| {
                noise ^= noise << 13;
                noise ^= noise >> 7;
                noise ^= noise << 17;
                noise as u8
            })
            .collect();
        assert!(verify(&junk, &pins(&h)).is_err());
    }

    // 40 random one-byte changes anywhere in the file: each one is detected.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..40 {
        let mut m = bytes.clone();
        let at = (next() % m.len() as u64) as usize;
        let old = m[at];
        let mut new = (next() % 95 + 32) as u8;
        if new == old {
            new = if old == b'0' { b'1' } else { b'0' };
        }
        m[at] = new;
        assert!(
            verify(&m, &pins(&h)).is_err(),
            "round {round}: byte {at} {:?} -> {:?} not detected in …{}…",
            old as char,
            new as char,
            String::from_utf8_lossy(&m[at.saturating_sub(60)..(at + 60).min(m.len())])
        );
    }
}

#[tokio::test]
async fn a_party_not_in_the_incident_gets_no_evidence() {
    let h = harness_with_terms(deconflict_service::Config::default(), terms_with_members());
    let _dir = attach_log(&h);
    fly(&h).await;
    let (status, _) = h
        .call("GET", "/v1/incidents/none/evidence", "", "russia")
        .await;
    assert_eq!(status, 404);
}
