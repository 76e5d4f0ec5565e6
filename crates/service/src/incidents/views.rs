//! Incidents as the API shows them, and the events their steps put on the streams.

use super::*;

pub(crate) fn account_in(a: &Account) -> AccountIn {
    AccountIn {
        language: a.language.clone(),
        text: a.text.clone(),
        seen: a.seen.as_str().to_string(),
        action: a.action.as_str().to_string(),
        figure: a.figure.map(|f| FigureIn {
            horizontal_m: f.horizontal_m,
            vertical_m: f.vertical_m,
        }),
    }
}

pub(crate) fn assessment_view(g: &incident::GivenAssessment) -> AssessmentView {
    let a = &g.assessment;
    AssessmentView {
        member: a.member.clone(),
        party: a.party.clone(),
        category: a.category.as_str().to_string(),
        factors: a.factors.iter().map(|f| f.as_str().to_string()).collect(),
        remarks: a.remarks.clone(),
        at_unix_ms: g.at_ms,
    }
}

/// The incident as the API shows it.
pub fn view(i: &Incident) -> IncidentView {
    let status = i.status();
    IncidentView {
        id: i.id().to_string(),
        status: status.as_str().to_string(),
        category: match status {
            incident::Status::Agreed(c) => Some(c.as_str().to_string()),
            _ => None,
        },
        filed_by: i.filed_by().to_string(),
        filed_unix_ms: i.filed_at_ms(),
        from_unix_ms: i.window().from_ms(),
        to_unix_ms: i.window().to_ms(),
        accounts_due_unix_ms: i.deadline_ms(),
        parties: i.parties().iter().cloned().collect(),
        closest_approach: i.closest().map(approach_view),
        pairs: i
            .pairs()
            .iter()
            .map(|p| PairView {
                a_party: p.a.party.clone(),
                a_track: p.a.track.clone(),
                b_party: p.b.party.clone(),
                b_track: p.b.track.clone(),
                closest_approach: p.approach.as_ref().map(approach_view),
            })
            .collect(),
        records: i
            .records()
            .iter()
            .map(|r| RecordView {
                time_unix_ms: r.time_ms,
                kind: r.kind.as_str().to_string(),
                id: r.id.clone(),
                label: r.label.clone(),
            })
            .collect(),
        accounts: i
            .accounts()
            .iter()
            .map(|(p, g)| AccountView {
                party: p.clone(),
                account: account_in(&g.account),
                at_unix_ms: g.at_ms,
                late: g.late,
            })
            .collect(),
        waiting: i.waiting(),
        overdue: i.overdue().iter().cloned().collect(),
        views: i.views().values().map(|g| assessment_view(g)).collect(),
        assessments: i.assessments().iter().map(assessment_view).collect(),
    }
}

/// The stream events of a step's effects, to every party of the incident.
pub(crate) fn events(i: &Incident, effects: &[Effect], now_ms: i64) -> Vec<Write> {
    let mut out = Vec::new();
    for e in effects {
        let (what, detail): (&str, serde_json::Value) = match e {
            Effect::Filed => ("filed", serde_json::json!({})),
            Effect::Account { party, late } => {
                ("account", serde_json::json!({"party": party, "late": late}))
            }
            Effect::AccountsComplete => ("accounts_complete", serde_json::json!({})),
            Effect::AccountOverdue { party } => {
                ("account_overdue", serde_json::json!({"party": party}))
            }
            Effect::Assessed { party, category } => (
                "assessed",
                serde_json::json!({"party": party, "category": category.as_str()}),
            ),
            Effect::Outcome(s) => (
                "outcome",
                serde_json::json!({"status": s.as_str(),
                    "category": match s { incident::Status::Agreed(c) => Some(c.as_str()), _ => None }}),
            ),
        };
        let mut body = serde_json::json!({
            "incident_id": i.id(),
            "what": what,
            "status": i.status().as_str(),
            "time_unix_ms": now_ms,
        });
        if let (Some(b), serde_json::Value::Object(d)) = (body.as_object_mut(), detail) {
            b.extend(d);
        }
        for p in i.parties() {
            out.push(Write::Event(NewEvent {
                party: p.clone(),
                kind: "incident".into(),
                body: body.to_string(),
                created_ms: now_ms,
            }));
        }
    }
    out
}
