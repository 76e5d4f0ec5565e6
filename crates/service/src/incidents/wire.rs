//! The incident routes' request and answer bodies.

use super::*;

/// A party's own figure of the closest approach, when it disputes the computed one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FigureIn {
    pub horizontal_m: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertical_m: Option<u32>,
}

/// A party's account: free text in its language and what its aircraft saw and did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountIn {
    /// ISO 639 code of `text`'s language (`en`, `ru`, …).
    pub language: String,
    pub text: String,
    /// `visual`, `radar`, `told` or `nothing`.
    pub seen: String,
    /// `none`, `turned`, `climbed`, `descended`, `speed` or `called_line`.
    pub action: String,
    /// The party's own figure when it disputes the computed closest approach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figure: Option<FigureIn>,
}

/// What the filing party signs: `POST /v1/incidents` without the signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FilingIn {
    /// The incident's id, chosen by the filer (letters, digits, `_ - . : /`; at most 64 bytes).
    pub id: String,
    pub from_unix_ms: i64,
    pub to_unix_ms: i64,
    /// The filer's own aircraft, when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_track: Option<String>,
    /// The other party, when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_party: Option<String>,
    pub account: AccountIn,
    /// When the party signed it (its clock), UNIX ms.
    pub time_unix_ms: i64,
}

/// `POST /v1/incidents`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentFile {
    #[serde(flatten)]
    pub filing: FilingIn,
    /// The party's signature (base64) of the log entry of its filing.
    pub entry_signature: String,
}

/// What a party signs to give its account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountGiven {
    pub incident_id: String,
    pub account: AccountIn,
    pub time_unix_ms: i64,
}

/// `POST /v1/incidents/{id}/accounts`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentAccount {
    pub account: AccountIn,
    pub time_unix_ms: i64,
    pub entry_signature: String,
}

/// What a working-group member signs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessmentGiven {
    pub incident_id: String,
    /// The member's id, as the agreement names it under its party.
    pub member: String,
    /// `A`…`E`.
    pub category: String,
    /// Contributory factors by name (the incident model's fixed list).
    #[serde(default)]
    pub factors: Vec<String>,
    #[serde(default)]
    pub remarks: String,
    pub time_unix_ms: i64,
}

/// `POST /v1/incidents/{id}/assessments`: sent by the member's party, signed by the member.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentAssess {
    pub member: String,
    pub category: String,
    #[serde(default)]
    pub factors: Vec<String>,
    #[serde(default)]
    pub remarks: String,
    pub time_unix_ms: i64,
    /// The member's signature (base64) of the log entry of its assessment.
    pub entry_signature: String,
}

/// Where an aircraft was at the closest approach.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PositionView {
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub alt_m: f64,
}

/// A pair's closest approach, computed from the recorded reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApproachView {
    pub horizontal_m: f64,
    pub vertical_m: f64,
    pub time_unix_ms: i64,
    pub a: PositionView,
    pub b: PositionView,
    /// How far (ms) the instant lies from the nearest report of either track: how much of the
    /// figure is interpolation.
    pub gap_ms: i64,
}

/// Two aircraft of different parties.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PairView {
    pub a_party: String,
    pub a_track: String,
    pub b_party: String,
    pub b_track: String,
    pub closest_approach: Option<ApproachView>,
}

/// An alert or line message of the window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecordView {
    pub time_unix_ms: i64,
    /// `alert` or `line_message`.
    pub kind: String,
    pub id: String,
    pub label: String,
}

/// What the service computed at the filing: its `evidence` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Evidence {
    pub(crate) incident_id: String,
    pub(crate) pairs: Vec<PairView>,
    pub(crate) records: Vec<RecordView>,
    /// Per party, the last report sequence number the computation could see: the reports of
    /// the window with a number up to it are those it used.
    #[serde(default)]
    pub(crate) reports_through: BTreeMap<String, u64>,
}

/// A party's account as the incident holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccountView {
    pub party: String,
    pub account: AccountIn,
    pub at_unix_ms: i64,
    pub late: bool,
}

/// An assessment as the incident holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AssessmentView {
    pub member: String,
    pub party: String,
    pub category: String,
    pub factors: Vec<String>,
    pub remarks: String,
    pub at_unix_ms: i64,
}

/// An incident as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IncidentView {
    pub id: String,
    /// `filed`, `accounts_complete`, `agreed` or `disputed`.
    pub status: String,
    /// The agreed category, when agreed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub filed_by: String,
    pub filed_unix_ms: i64,
    pub from_unix_ms: i64,
    pub to_unix_ms: i64,
    /// When the other parties' accounts are due.
    pub accounts_due_unix_ms: i64,
    pub parties: Vec<String>,
    /// The closest approach of the closest pair.
    pub closest_approach: Option<ApproachView>,
    pub pairs: Vec<PairView>,
    pub records: Vec<RecordView>,
    pub accounts: Vec<AccountView>,
    /// Parties whose account is missing.
    pub waiting: Vec<String>,
    /// Parties whose account was not given by the deadline.
    pub overdue: Vec<String>,
    /// Each party's latest assessment, side by side.
    pub views: Vec<AssessmentView>,
    /// Every assessment, in the order taken.
    pub assessments: Vec<AssessmentView>,
}
