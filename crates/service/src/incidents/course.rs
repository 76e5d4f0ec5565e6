//! An incident's course in the record: the entry each author signs for a step, the steps
//! read back from entries, their fold into incidents, and the model's inputs from the wire.

use super::*;

/// Why an incident entry could not be made.
#[derive(Debug, thiserror::Error)]
#[error("incident entry: {0}")]
pub struct EntryError(String);

pub(crate) fn entry_err(e: impl std::fmt::Display) -> EntryError {
    EntryError(e.to_string())
}

/// The log entry of one step: `course`, the input as JSON (chunked) and its SHA-256.
pub(crate) fn course_entry(
    author: &str,
    time_ms: i64,
    incident_id: &str,
    course: &str,
    input: &str,
    extra: &[(&str, &str)],
) -> Result<Entry, EntryError> {
    let mut fields = Fields::new();
    fields
        .insert(COURSE_FIELD, FieldValue::text(course).map_err(entry_err)?)
        .map_err(entry_err)?;
    fields
        .insert(
            "input_sha256",
            FieldValue::text(Hash::of(input.as_bytes()).to_hex()).map_err(entry_err)?,
        )
        .map_err(entry_err)?;
    let chunks = chunks(input);
    if chunks.len() == 1 {
        fields
            .insert("input", FieldValue::text(chunks[0]).map_err(entry_err)?)
            .map_err(entry_err)?;
    } else {
        for (k, c) in chunks.iter().enumerate() {
            fields
                .insert(
                    &format!("input_{}", k + 1),
                    FieldValue::text(*c).map_err(entry_err)?,
                )
                .map_err(entry_err)?;
        }
    }
    for (name, value) in extra {
        fields
            .insert(name, FieldValue::text(*value).map_err(entry_err)?)
            .map_err(entry_err)?;
    }
    let author = KeyId::new(author).map_err(entry_err)?;
    let time = u64::try_from(time_ms)
        .map_err(|_| EntryError(format!("time {time_ms} ms is before 1970")))?;
    Entry::new(
        author,
        time,
        EntryBody::IncidentReport {
            fields,
            incident_id: Text::new(incident_id).map_err(entry_err)?,
        },
    )
    .map_err(entry_err)
}

/// `s` in pieces of at most [`CHUNK_BYTES`], cut at character boundaries.
pub(crate) fn chunks(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while rest.len() > CHUNK_BYTES {
        let mut cut = CHUNK_BYTES;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    out.push(rest);
    out
}

/// One step of an incident, as its log entry carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub incident_id: String,
    /// `filing`, `evidence`, `account` or `assessment`.
    pub course: String,
    /// The step's input, as JSON.
    pub input: String,
}

/// The step an entry records, or `None` for an entry that is not an incident step.
pub fn step_of(e: &Entry) -> Option<Step> {
    entry_input(e).map(|(id, course, input)| Step {
        incident_id: id.to_string(),
        course: course.to_string(),
        input,
    })
}

/// Incidents folded from their steps in record order: the service at start, and `verify` of
/// an evidence bundle, fold the same way.
pub struct Folder {
    config: incident::Config,
    held: BTreeMap<String, Incident>,
    filings: BTreeMap<String, (String, FilingIn)>,
}

impl Folder {
    pub fn new(config: incident::Config) -> Folder {
        Folder {
            config,
            held: BTreeMap::new(),
            filings: BTreeMap::new(),
        }
    }

    /// Applies the next step, signed by `author`.
    pub fn apply(&mut self, author: &str, step: &Step) -> Result<(), String> {
        fold(
            &self.config,
            &mut self.held,
            &mut self.filings,
            author,
            &step.incident_id,
            &step.course,
            &step.input,
        )
    }

    /// Lets the account deadlines fall due at `now_ms`.
    pub fn timeout(&mut self, now_ms: i64) {
        for i in self.held.values_mut() {
            i.handle_timeout(now_ms);
        }
    }

    /// Incident `id` as the API shows it.
    pub fn view(&self, id: &str) -> Option<IncidentView> {
        self.held.get(id).map(view)
    }

    pub(crate) fn into_held(self) -> BTreeMap<String, Incident> {
        self.held
    }
}

/// The input an incident entry carries, or `None` for an entry that is not an incident step.
pub(crate) fn entry_input(e: &Entry) -> Option<(&str, &str, String)> {
    let EntryBody::IncidentReport {
        fields,
        incident_id,
    } = e.body()
    else {
        return None;
    };
    let Some(FieldValue::Text(course)) = fields.get(COURSE_FIELD) else {
        return None;
    };
    let input = match fields.get("input") {
        Some(FieldValue::Text(t)) => t.as_str().to_string(),
        _ => {
            let mut s = String::new();
            for k in 1.. {
                match fields.get(&format!("input_{k}")) {
                    Some(FieldValue::Text(t)) => s.push_str(t.as_str()),
                    _ => break,
                }
            }
            s
        }
    };
    Some((incident_id.as_str(), course.as_str(), input))
}

pub(crate) fn json<T: Serialize>(v: &T) -> Result<String, EntryError> {
    serde_json::to_string(v).map_err(entry_err)
}

/// The filing party's entry.
pub fn filing_entry(party: &str, f: &FilingIn) -> Result<Entry, EntryError> {
    course_entry(party, f.time_unix_ms, &f.id, "filing", &json(f)?, &[])
}

/// A party's account entry.
pub fn account_entry(party: &str, a: &AccountGiven) -> Result<Entry, EntryError> {
    course_entry(
        party,
        a.time_unix_ms,
        &a.incident_id,
        "account",
        &json(a)?,
        &[],
    )
}

/// A member's assessment entry, on behalf of `party` (the member's party in the agreement);
/// `risk_category` and `assessed_for` are what `deconflict report` counts.
pub fn assessment_entry(party: &str, a: &AssessmentGiven) -> Result<Entry, EntryError> {
    course_entry(
        &a.member,
        a.time_unix_ms,
        &a.incident_id,
        "assessment",
        &json(a)?,
        &[
            (RISK_CATEGORY_FIELD, &a.category),
            (ASSESSED_FOR_FIELD, party),
        ],
    )
}

// ---------------------------------------------------------------------------------------------
// The model's inputs from the wire.

pub(crate) fn account_of(party: &str, a: &AccountIn) -> Result<Account, ApiError> {
    let seen = Seen::from_name(&a.seen).ok_or_else(|| {
        ApiError::invalid(
            "account.seen",
            format!(
                "{:?} is not one of {}",
                a.seen,
                Seen::ALL.map(Seen::as_str).join(", ")
            ),
        )
    })?;
    let action = Action::from_name(&a.action).ok_or_else(|| {
        ApiError::invalid(
            "account.action",
            format!(
                "{:?} is not one of {}",
                a.action,
                Action::ALL.map(Action::as_str).join(", ")
            ),
        )
    })?;
    Ok(Account {
        party: party.to_string(),
        language: a.language.clone(),
        text: a.text.clone(),
        seen,
        action,
        figure: a.figure.as_ref().map(|f| OwnFigure {
            horizontal_m: f.horizontal_m,
            vertical_m: f.vertical_m,
        }),
    })
}

pub(crate) fn assessment_of(party: &str, a: &AssessmentGiven) -> Result<Assessment, ApiError> {
    let category = RiskCategory::from_name(&a.category).ok_or_else(|| {
        ApiError::invalid(
            "category",
            format!("{:?} is not a risk category A, B, C, D or E", a.category),
        )
    })?;
    let mut factors = BTreeSet::new();
    for (k, name) in a.factors.iter().enumerate() {
        let f = Factor::from_name(name).ok_or_else(|| {
            ApiError::invalid(
                format!("factors[{k}]"),
                format!(
                    "{name:?} is not one of {}",
                    Factor::ALL
                        .iter()
                        .map(|f| f.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        factors.insert(f);
    }
    Ok(Assessment {
        member: a.member.clone(),
        party: party.to_string(),
        category,
        factors,
        remarks: a.remarks.clone(),
    })
}

pub(crate) fn approach_view(c: &ClosestApproach) -> ApproachView {
    let p = |p: &incident::Position| PositionView {
        lat_deg: p.lat_deg,
        lon_deg: p.lon_deg,
        alt_m: p.alt_m,
    };
    ApproachView {
        horizontal_m: c.horizontal_m,
        vertical_m: c.vertical_m,
        time_unix_ms: c.time_ms,
        a: p(&c.a),
        b: p(&c.b),
        gap_ms: c.gap_ms,
    }
}

pub(crate) fn approach_of(v: &ApproachView) -> ClosestApproach {
    let p = |p: &PositionView| incident::Position {
        lat_deg: p.lat_deg,
        lon_deg: p.lon_deg,
        alt_m: p.alt_m,
    };
    ClosestApproach {
        horizontal_m: v.horizontal_m,
        vertical_m: v.vertical_m,
        time_ms: v.time_unix_ms,
        a: p(&v.a),
        b: p(&v.b),
        gap_ms: v.gap_ms,
    }
}

pub(crate) fn filing_of(party: &str, f: &FilingIn, e: &Evidence) -> Result<Filing, ApiError> {
    Ok(Filing {
        id: f.id.clone(),
        window: Window::new(f.from_unix_ms, f.to_unix_ms).map_err(incident_error)?,
        pairs: e
            .pairs
            .iter()
            .map(|p| Pair {
                a: Aircraft {
                    party: p.a_party.clone(),
                    track: p.a_track.clone(),
                },
                b: Aircraft {
                    party: p.b_party.clone(),
                    track: p.b_track.clone(),
                },
                approach: p.closest_approach.as_ref().map(approach_of),
            })
            .collect(),
        records: e
            .records
            .iter()
            .map(|r| RecordRef {
                time_ms: r.time_unix_ms,
                kind: if r.kind == "alert" {
                    RecordKind::Alert
                } else {
                    RecordKind::LineMessage
                },
                id: r.id.clone(),
                label: r.label.clone(),
            })
            .collect(),
        account: account_of(party, &f.account)?,
    })
}

/// The API's refusal for a model's refusal: each has its own code.
pub(crate) fn incident_error(e: IncidentError) -> ApiError {
    let status = match &e {
        IncidentError::NotAParty { .. } | IncidentError::NotMember { .. } => StatusCode::FORBIDDEN,
        IncidentError::AccountGiven { .. } | IncidentError::AccountsPending { .. } => {
            StatusCode::CONFLICT
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::new(status, e.code(), e.to_string())
}
