//! The incident routes' handlers (the caller is the party that signed the request), and the
//! incidents' turn in the service's cycle ([`tick`]): account deadlines falling due.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State as AxState};
use axum::http::StatusCode;
use deconflict_incident as incident;
use deconflict_incident::{Effect, Incident, IncidentError, RecordKind, Window};
use deconflict_log::SignedEntry;
use deconflict_store::Write;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::incidents::*;
use crate::line::{AUTHOR_SKEW_MS_MAX, skew};
use crate::request::{Caller, party_key};
use crate::state::State;
use deconflict_client::line_entry::{LogEntryError, signed_entry};

type St = Arc<State>;

/// The incidents' `/v1` routes (authenticated by the caller's layer).
pub fn routes() -> OpenApiRouter<St> {
    OpenApiRouter::new()
        .routes(routes!(list_incidents, file_incident))
        .routes(routes!(get_incident))
        .routes(routes!(give_account))
        .routes(routes!(assess_incident))
        .routes(routes!(incident_evidence))
}

pub(crate) fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    crate::error::body_within(body, BODY_BYTES_MAX, "an incident request")?;
    crate::error::parse_json(body)
}

pub(crate) fn signature_error(e: LogEntryError) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "entry_signature_invalid",
        e.to_string(),
    )
    .with_field("entry_signature")
}

pub(crate) fn not_found(id: &str) -> ApiError {
    ApiError::not_found("incident", id)
}

/// Counts a refusal by its code.
pub(crate) fn refused<T>(state: &State, r: Result<T, ApiError>) -> Result<T, ApiError> {
    if let Err(e) = &r {
        state.metrics.incident_refused(&e.body.code);
    }
    r
}

/// An incident only its parties may see.
pub(crate) fn visible(i: &Incident, caller: &str) -> bool {
    i.parties().contains(caller)
}

/// The entries and events of a step, recorded and stored before the answer.
pub(crate) async fn record(
    state: &St,
    id: &str,
    entries: Vec<SignedEntry>,
    writes: Vec<Write>,
) -> Result<(), ApiError> {
    if state.log().is_none() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "record_unavailable",
            "incidents live in the shared log, and this service runs without one",
        ));
    }
    let n = entries.len();
    let places = state
        .commit_recorded(entries, Vec::new(), writes, |_| Vec::new())
        .await?;
    // The step's own entries come first in the batch.
    state
        .incidents
        .add_entries(id, places.iter().take(n).map(|(i, _)| *i));
    Ok(())
}

/// Incidents the calling party is a party to, newest first.
#[utoipa::path(get, path = "/v1/incidents", tag = "incidents",
    responses((status = 200, body = Vec<IncidentView>), (status = 401, body = ErrorBody)))]
pub(crate) async fn list_incidents(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
) -> Result<Json<Vec<IncidentView>>, ApiError> {
    let mut out = state.incidents.read(|h| {
        h.values()
            .filter(|i| visible(i, &c.party))
            .map(view)
            .collect::<Vec<_>>()
    })?;
    out.sort_by(|a, b| (b.filed_unix_ms, &b.id).cmp(&(a.filed_unix_ms, &a.id)));
    Ok(Json(out))
}

/// One incident (to its parties only: another party gets 404, as for an unknown id).
#[utoipa::path(get, path = "/v1/incidents/{id}", tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, body = IncidentView), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub(crate) async fn get_incident(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<IncidentView>, ApiError> {
    state
        .incidents
        .read(|h| h.get(&id).filter(|i| visible(i, &c.party)).map(view))?
        .map(Json)
        .ok_or_else(|| not_found(&id))
}

/// The incident's evidence bundle (to its parties only): its entries, the reports of its
/// aircraft with their proofs, a signed tree head (see [`crate::evidence`]). 409
/// `reports_not_committed` until the window's reports are in a report batch (the next cycle).
#[utoipa::path(get, path = "/v1/incidents/{id}/evidence", tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, description = "The bundle (deconflict-evidence/1)"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn incident_evidence(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<crate::evidence::Bundle>, ApiError> {
    let visible = state
        .incidents
        .read(|h| h.get(&id).is_some_and(|i| visible(i, &c.party)))?;
    if !visible {
        return Err(not_found(&id));
    }
    let r = crate::evidence::build(&state, &id).await;
    refused(&state, r).map(Json)
}

/// Files an incident: the service finds the aircraft pairs of the window and computes their
/// closest approach from the recorded reports; the filer's account is the first. 201 with the
/// incident.
#[utoipa::path(post, path = "/v1/incidents", tag = "incidents",
    request_body = IncidentFile,
    responses((status = 201, body = IncidentView), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn file_incident(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Result<(StatusCode, Json<IncidentView>), ApiError> {
    let r = file(&state, &c.party, &body).await;
    refused(&state, r)
}

pub(crate) async fn file(
    state: &St,
    caller: &str,
    body: &[u8],
) -> Result<(StatusCode, Json<IncidentView>), ApiError> {
    let req: IncidentFile = parse(body)?;
    let f = req.filing;
    let now = state.clock.now_ms();
    skew("time_unix_ms", f.time_unix_ms, now)?;
    incident::model::check_id("id", &f.id).map_err(incident_error)?;
    Window::new(f.from_unix_ms, f.to_unix_ms).map_err(incident_error)?;
    if f.to_unix_ms > now + AUTHOR_SKEW_MS_MAX {
        return Err(ApiError::invalid(
            "to_unix_ms",
            "the window ends in the future: an incident is filed about what happened",
        ));
    }
    if let Some(p) = &f.other_party
        && (p == caller || state.terms.party(p).is_none())
    {
        return Err(ApiError::invalid(
            "other_party",
            format!("{p} is not another party to the agreement"),
        ));
    }
    account_of(caller, &f.account)?;
    let key = party_key(state, caller)?;
    let entry = filing_entry(caller, &f).map_err(|e| ApiError::invalid("id", e.to_string()))?;
    let signed = signed_entry(entry, &req.entry_signature, &key).map_err(signature_error)?;
    let _writer = state.incidents.step_turn().await;
    let (exists, count) = state.incidents.read(|h| (h.contains_key(&f.id), h.len()))?;
    if exists {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "id_taken",
            format!("incident {} exists", f.id),
        )
        .with_field("id"));
    }
    if count >= INCIDENTS_MAX {
        return Err(ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "incidents_full",
            format!("the service holds {INCIDENTS_MAX} incidents, its limit"),
        ));
    }
    let (h_m, v_m) = (state.terms.h_sep_m, state.terms.v_sep_m);
    let fc = f.clone();
    let who = caller.to_string();
    let (tracks, reports_through) = state.with_store(move |s| tracks_in(s, &fc, &who)).await??;
    let pairs = pairs_of(&tracks, &f, caller, h_m, v_m);
    let mut parties: BTreeSet<String> = BTreeSet::new();
    for p in &pairs {
        parties.insert(p.a_party.clone());
        parties.insert(p.b_party.clone());
    }
    let records = records_of(state, &f, &parties).await?;
    let evidence = Evidence {
        incident_id: f.id.clone(),
        pairs,
        records,
        reports_through: reports_through
            .into_iter()
            .filter(|(p, _)| parties.contains(p))
            .collect(),
    };
    let filing = filing_of(caller, &f, &evidence)?;
    let (i, effects) =
        Incident::file(filing, &config(&state.terms), f.time_unix_ms).map_err(incident_error)?;
    let log = state.log().cloned();
    let mut entries = vec![signed];
    if let Some(log) = &log {
        let e = course_entry(
            crate::log_entries::SERVICE_KEY_ID,
            f.time_unix_ms,
            &f.id,
            "evidence",
            &json(&evidence).map_err(|e| ApiError::internal(e.to_string()))?,
            &[],
        )
        .map_err(|e| ApiError::internal(e.to_string()))?;
        entries.push(
            log.sign_own(e)
                .map_err(|e| ApiError::internal(format!("record: {e}")))?,
        );
    }
    record(state, &f.id, entries, events(&i, &effects, now)).await?;
    let v = view(&i);
    state.incidents.write(|h| h.insert(f.id.clone(), i))?;
    state.metrics.incident_step("filing");
    Ok((StatusCode::CREATED, Json(v)))
}

/// A party's account of an incident it is a party to.
#[utoipa::path(post, path = "/v1/incidents/{id}/accounts", tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    request_body = IncidentAccount,
    responses((status = 200, body = IncidentView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn give_account(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<IncidentView>, ApiError> {
    let r = account(&state, &c.party, id, &body).await;
    refused(&state, r)
}

pub(crate) async fn account(
    state: &St,
    caller: &str,
    id: String,
    body: &[u8],
) -> Result<Json<IncidentView>, ApiError> {
    let req: IncidentAccount = parse(body)?;
    let now = state.clock.now_ms();
    skew("time_unix_ms", req.time_unix_ms, now)?;
    let account = account_of(caller, &req.account)?;
    let given = AccountGiven {
        incident_id: id.clone(),
        account: req.account,
        time_unix_ms: req.time_unix_ms,
    };
    let entry =
        account_entry(caller, &given).map_err(|e| ApiError::invalid("account", e.to_string()))?;
    let signed = signed_entry(entry, &req.entry_signature, &party_key(state, caller)?)
        .map_err(signature_error)?;
    let at = given.time_unix_ms;
    take_step(state, caller, id, signed, at, "account", |i| {
        i.account(account, at)
    })
    .await
}

/// Applies one signed step to incident `id`, one step at a time: first the account deadlines
/// that fell due by the step's time, then `step`; records its entry and events, then keeps
/// the incident as it now stands. An incident `caller` is not a party to is answered as an
/// unknown one (404), as `GET` answers it, so that no other party learns that it exists.
pub(crate) async fn take_step(
    state: &St,
    caller: &str,
    id: String,
    signed: SignedEntry,
    at_ms: i64,
    course: &str,
    step: impl FnOnce(&mut Incident) -> Result<Vec<Effect>, IncidentError>,
) -> Result<Json<IncidentView>, ApiError> {
    let now = state.clock.now_ms();
    let _writer = state.incidents.step_turn().await;
    let Some(mut i) = state
        .incidents
        .read(|h| h.get(&id).filter(|i| visible(i, caller)).cloned())?
    else {
        return Err(not_found(&id));
    };
    let mut effects = i.handle_timeout(at_ms);
    effects.extend(step(&mut i).map_err(incident_error)?);
    record(state, &id, vec![signed], events(&i, &effects, now)).await?;
    let v = view(&i);
    state.incidents.write(|h| h.insert(id, i))?;
    state.metrics.incident_step(course);
    Ok(Json(v))
}

/// A working-group member's assessment: sent by its party, signed by the member's own key.
#[utoipa::path(post, path = "/v1/incidents/{id}/assessments", tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    request_body = IncidentAssess,
    responses((status = 200, body = IncidentView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn assess_incident(
    AxState(state): AxState<St>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<IncidentView>, ApiError> {
    let r = assess(&state, &c.party, id, &body).await;
    refused(&state, r)
}

pub(crate) async fn assess(
    state: &St,
    caller: &str,
    id: String,
    body: &[u8],
) -> Result<Json<IncidentView>, ApiError> {
    let req: IncidentAssess = parse(body)?;
    let now = state.clock.now_ms();
    skew("time_unix_ms", req.time_unix_ms, now)?;
    let Some((party, key)) = member_key(&state.terms, &req.member) else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_working_group_member",
            format!(
                "{} is not a working-group member named in the agreement",
                req.member
            ),
        )
        .with_field("member"));
    };
    if party != caller {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_working_group_member",
            format!(
                "{} is {party}'s working-group member, and the request is signed by {caller}",
                req.member
            ),
        )
        .with_field("member"));
    }
    let given = AssessmentGiven {
        incident_id: id.clone(),
        member: req.member,
        category: req.category,
        factors: req.factors,
        remarks: req.remarks,
        time_unix_ms: req.time_unix_ms,
    };
    let assessment = assessment_of(&party, &given)?;
    let entry = assessment_entry(&party, &given)
        .map_err(|e| ApiError::invalid("remarks", e.to_string()))?;
    let signed = signed_entry(entry, &req.entry_signature, &key).map_err(signature_error)?;
    let at = given.time_unix_ms;
    take_step(state, caller, id, signed, at, "assessment", |i| {
        i.assess(assessment, at)
    })
    .await
}

/// Accounts that fell overdue by `now_ms`: their events, once per party and incident.
pub(crate) async fn tick(state: &St, now_ms: i64) -> Result<(), ApiError> {
    let due = state.incidents.read(|h| {
        h.values()
            .any(|i| i.poll_timeout().is_some_and(|t| t <= now_ms))
    })?;
    if !due {
        return Ok(());
    }
    let _writer = state.incidents.step_turn().await;
    let changed: Vec<(Incident, Vec<Effect>)> = state.incidents.read(|h| {
        h.values()
            .filter(|i| i.poll_timeout().is_some_and(|t| t <= now_ms))
            .map(|i| {
                let mut i = i.clone();
                let e = i.handle_timeout(now_ms);
                (i, e)
            })
            .collect()
    })?;
    let writes: Vec<Write> = changed
        .iter()
        .flat_map(|(i, e)| events(i, e, now_ms))
        .collect();
    state.commit(writes).await?;
    state.incidents.write(|h| {
        for (i, _) in changed {
            h.insert(i.id().to_string(), i);
        }
    })?;
    Ok(())
}
/// The alerts and line messages of the window that concern the incident's parties.
async fn records_of(
    state: &St,
    f: &FilingIn,
    parties: &BTreeSet<String>,
) -> Result<Vec<RecordView>, ApiError> {
    let (from, to) = (f.from_unix_ms, f.to_unix_ms);
    let alerts = state
        .with_store(|s| s.alerts_all())
        .await?
        .map_err(|e| ApiError::internal(format!("store: {e}")))?;
    let mut out: Vec<RecordView> = alerts
        .iter()
        .filter(|a| (from..=to).contains(&a.created_ms))
        .filter(|a| a.parties.iter().any(|p| parties.contains(p)))
        .map(|a| RecordView {
            time_unix_ms: a.created_ms,
            kind: RecordKind::Alert.as_str().into(),
            id: a.id.clone(),
            label: a.kind.clone(),
        })
        .collect();
    out.extend(state.line.read(|line| {
        line.messages()
            .filter(|t| (from..=to).contains(&t.received_at().unix_ms()))
            .filter(|t| {
                let m = t.message();
                parties.contains(m.from().as_str()) || parties.contains(m.to().as_str())
            })
            .map(|t| RecordView {
                time_unix_ms: t.received_at().unix_ms(),
                kind: RecordKind::LineMessage.as_str().into(),
                id: t.message().id().to_string(),
                label: t.message().kind().to_string(),
            })
            .collect::<Vec<_>>()
    })?);
    out.sort_by(|a, b| (a.time_unix_ms, &a.id).cmp(&(b.time_unix_ms, &b.id)));
    out.truncate(RECORDS_MAX);
    Ok(out)
}
