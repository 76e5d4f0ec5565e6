//! The demo's incident: after the flight, the first party files an incident about the designed
//! conflict's warning, saying its aircraft passed 800 m away; the other party's account says
//! 300 m. The service computes the closest approach from the recorded reports; the demo checks
//! it against the conflict as designed. Each party's working-group member then assesses it, with
//! its own key: risk category B against C, so the incident stays visibly disputed. The demo
//! fetches the evidence bundle, verifies it offline as any reader would (the log's key and the
//! agreement's keys pinned) and, when the data directory is kept, writes it there.

use std::path::Path;

use deconflict_client::PartyClient;
use deconflict_client::line_entry::sign_entry;
use deconflict_service::evidence::{self, Bundle, Pins};
use deconflict_service::incidents::{
    AccountGiven, AccountIn, AssessmentGiven, FigureIn, FilingIn, IncidentAccount, IncidentAssess,
    IncidentFile, IncidentView, account_entry, assessment_entry, filing_entry,
};
use deconflict_sim::Scenario;

use super::DemoError;

/// The demo incident's id.
pub const INCIDENT_ID: &str = "demo-incident-1";
/// How far either side of the designed closest approach the incident's window reaches, s.
const WINDOW_HALF_S: i64 = 60;

/// The party of `aircraft`, airborne at the designed closest approach.
fn party_of(scenario: &Scenario, aircraft: &str) -> Result<String, DemoError> {
    scenario
        .reports_at(scenario.conflict.t_cpa_s)
        .into_iter()
        .find(|r| r.aircraft_id == aircraft)
        .map(|r| r.party)
        .ok_or_else(|| DemoError::Check(format!("no report of {aircraft} at the closest approach")))
}

fn client<'a>(clients: &'a [PartyClient], party: &str) -> Result<&'a PartyClient, DemoError> {
    clients
        .iter()
        .find(|c| c.party() == party)
        .ok_or_else(|| DemoError::Check(format!("no client of {party}")))
}

fn setup(e: impl std::fmt::Display) -> DemoError {
    DemoError::Setup(e.to_string())
}

/// Each working-group member's risk category and remarks, by party index.
pub(super) type Assessments<'a> = [(&'a str, &'a str); 2];

/// The day-one assessments: B against C, so the incident stays disputed.
const DAY_ONE: Assessments<'static> = [
    (
        "B",
        "Safety not assured: the warning came late and the crews saw each other late.",
    ),
    ("C", "Безопасность обеспечена: экипаж видел цель на радаре."),
];

/// Files, answers, checks and keeps the incident; returns the summary's lines.
pub(super) async fn run(
    clients: &[PartyClient],
    scenario: &Scenario,
    start_ms: i64,
    terms: &deconflict_service::Terms,
    log_key: deconflict_log::VerifyingKey,
    keep_in: Option<&Path>,
) -> Result<String, DemoError> {
    let d = &scenario.conflict;
    let (a_party, v) = file_and_assess(clients, scenario, INCIDENT_ID, start_ms, DAY_ONE).await?;
    let a = client(clients, &a_party)?;

    if v.status != "disputed" {
        return Err(DemoError::Check(format!(
            "the assessments B and C left the incident {}, not disputed",
            v.status
        )));
    }
    let Some(c) = v.closest_approach.clone() else {
        return Err(DemoError::Check(
            "the incident's closest approach was not computed".into(),
        ));
    };
    if (c.horizontal_m - d.miss_m).abs() > (0.02 * d.miss_m).max(20.0) {
        return Err(DemoError::Check(format!(
            "the incident's computed closest approach is {:.0} m, the conflict was designed for {:.0} m",
            c.horizontal_m, d.miss_m
        )));
    }

    // The evidence, checked as a reader would: the log's and the agreement's keys pinned.
    let path = format!("/v1/incidents/{INCIDENT_ID}/evidence");
    let bundle: Bundle = a.call::<(), _>("GET", &path, None).await?;
    let bytes = serde_json::to_vec(&bundle).map_err(setup)?;
    let pins = Pins::from_agreement(&terms.agreement, Some(log_key)).map_err(setup)?;
    let verified = evidence::verify(&bytes, &pins)
        .map_err(|e| DemoError::Check(format!("the evidence bundle does not verify: {e}")))?;
    let kept = match keep_in {
        Some(dir) => {
            let file = dir.join(format!("evidence-{INCIDENT_ID}.json"));
            std::fs::write(&file, &bytes).map_err(setup)?;
            format!(
                "written to {} (check it offline: deconflict verify {} --log-key {} --agreement {})",
                file.display(),
                file.display(),
                evidence_key_hex(&bundle),
                dir.join("agreement.toml").display()
            )
        }
        None => {
            "verified offline (keep the data directory with --data-dir to keep the bundle)".into()
        }
    };
    Ok(summary(
        &a_party,
        &v,
        &c,
        verified.entries,
        verified.reports,
        &kept,
    ))
}

/// The first party files incident `id` about the designed conflict of the day starting at
/// `start_ms` (saying 800 m), the other gives its account (300 m), and each party's
/// working-group member assesses it as `assessments` says. Returns the filing party and the
/// incident as the last assessment left it.
pub(super) async fn file_and_assess(
    clients: &[PartyClient],
    scenario: &Scenario,
    id: &str,
    start_ms: i64,
    assessments: Assessments<'_>,
) -> Result<(String, IncidentView), DemoError> {
    let d = &scenario.conflict;
    let a_party = party_of(scenario, &d.aircraft_a)?;
    let b_party = party_of(scenario, &d.aircraft_b)?;
    let (a, b) = (client(clients, &a_party)?, client(clients, &b_party)?);
    let cpa_ms = start_ms + i64::from(d.t_cpa_s) * 1000;
    let now = a.clock().now_ms();
    let filing = FilingIn {
        id: id.into(),
        from_unix_ms: (cpa_ms - WINDOW_HALF_S * 1000).max(start_ms),
        to_unix_ms: (cpa_ms + WINDOW_HALF_S * 1000).min(now),
        own_track: Some(d.aircraft_a.clone()),
        other_party: Some(b_party.clone()),
        account: AccountIn {
            language: "en".into(),
            text:
                "Warning received; our aircraft turned right. The intruder passed about 800 m away."
                    .into(),
            seen: "radar".into(),
            action: "turned".into(),
            figure: Some(FigureIn {
                horizontal_m: 800,
                vertical_m: None,
            }),
        },
        time_unix_ms: now,
    };
    let entry = filing_entry(&a_party, &filing).map_err(setup)?;
    let body = IncidentFile {
        entry_signature: sign_entry(entry, a.signing_key()).map_err(setup)?,
        filing,
    };
    let _: IncidentView = a.call("POST", "/v1/incidents", Some(&body)).await?;
    let given = AccountGiven {
        incident_id: id.into(),
        account: AccountIn {
            language: "ru".into(),
            text: "Наш экипаж видел цель на радаре; расхождение около 300 м.".into(),
            seen: "radar".into(),
            action: "none".into(),
            figure: Some(FigureIn {
                horizontal_m: 300,
                vertical_m: None,
            }),
        },
        time_unix_ms: now,
    };
    let entry = account_entry(&b_party, &given).map_err(setup)?;
    let body = IncidentAccount {
        entry_signature: sign_entry(entry, b.signing_key()).map_err(setup)?,
        account: given.account,
        time_unix_ms: now,
    };
    let path = format!("/v1/incidents/{id}/accounts");
    let _: IncidentView = b.call("POST", &path, Some(&body)).await?;

    // The working group: each party's member assesses.
    let v = assess(clients, scenario, id, assessments, now).await?;
    Ok((a_party, v))
}

fn evidence_key_hex(b: &Bundle) -> String {
    b.log.public_key.to_hex()
}

/// Each party's working-group member assesses the incident with its own key, in party order.
async fn assess(
    clients: &[PartyClient],
    scenario: &Scenario,
    id: &str,
    assessments: Assessments<'_>,
    now: i64,
) -> Result<IncidentView, DemoError> {
    let members = scenario.members();
    let member_keys = scenario.member_keys();
    let mut v: Option<IncidentView> = None;
    for (k, (category, remarks)) in assessments.into_iter().enumerate() {
        let party = &scenario.parties[k].id;
        let given = AssessmentGiven {
            incident_id: id.into(),
            member: members[k].clone(),
            category: category.into(),
            factors: vec!["late_sighting".into()],
            remarks: remarks.into(),
            time_unix_ms: now,
        };
        let key = deconflict_service::datadir::signing_key(&member_keys[k])
            .ok_or_else(|| setup("member key conversion"))?;
        let entry = assessment_entry(party, &given).map_err(setup)?;
        let body = IncidentAssess {
            entry_signature: sign_entry(entry, &key).map_err(setup)?,
            member: given.member,
            category: given.category,
            factors: given.factors,
            remarks: given.remarks,
            time_unix_ms: now,
        };
        let path = format!("/v1/incidents/{id}/assessments");
        v = Some(
            client(clients, party)?
                .call("POST", &path, Some(&body))
                .await?,
        );
    }
    v.ok_or_else(|| setup("no assessment"))
}

/// The summary's lines about the incident.
fn summary(
    a_party: &str,
    v: &IncidentView,
    c: &deconflict_service::incidents::ApproachView,
    entries: usize,
    reports: usize,
    kept: &str,
) -> String {
    let t = |ms: i64| {
        let s = ms.div_euclid(1000);
        format!(
            "{:02}:{:02}:{:02}Z",
            s.div_euclid(3600).rem_euclid(24),
            s.div_euclid(60).rem_euclid(60),
            s.rem_euclid(60)
        )
    };
    let mut out = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(
        out,
        "\nIncident {INCIDENT_ID}, filed by {a_party} about the designed conflict's warning: {}",
        v.status.replace('_', " ")
    );
    let _ = writeln!(
        out,
        "  computed from the recorded reports: closest approach {:.0} m horizontal, {:.0} m vertical at {} ({} ms from the nearest report)",
        c.horizontal_m,
        c.vertical_m,
        t(c.time_unix_ms),
        c.gap_ms
    );
    for acc in &v.accounts {
        if let Some(f) = &acc.account.figure {
            let _ = writeln!(
                out,
                "  {}'s account ({}): {} m",
                acc.party, acc.account.language, f.horizontal_m
            );
        }
    }
    for a in &v.views {
        let _ = writeln!(
            out,
            "  working group: {} ({}) assessed risk category {}: {}",
            a.member, a.party, a.category, a.remarks
        );
    }
    let _ = writeln!(
        out,
        "  {}: each side's view is kept, side by side",
        v.status
    );
    let _ = writeln!(
        out,
        "  evidence bundle: {} entries and {} reports with their proofs, {kept}",
        entries, reports
    );
    out
}
