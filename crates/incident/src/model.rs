//! An incident and its course: filed (with the filing party's account) → accounts complete
//! (every party has given its own) → assessed by the working group, *agreed* when every
//! party's member gives the same risk category and *disputed* otherwise.
//!
//! Each input takes an explicit `now` and either changes the incident and says what happened
//! ([`Effect`]s) or is refused with an [`IncidentError`] and changes nothing. The other side's
//! account has a deadline, as a line message's acknowledgement has: at the deadline a missing
//! account is overdue (once, [`Incident::handle_timeout`]) and the working group may assess
//! without it; an account given later is still taken, marked late.

use std::collections::{BTreeMap, BTreeSet};

use crate::ClosestApproach;
use crate::assessment::{Factor, RiskCategory};

/// Longest window an incident may cover, ms (a day).
pub const WINDOW_MS_MAX: i64 = 86_400_000;
/// Most parties in one incident (as in an agreement).
pub const PARTIES_MAX: usize = 16;
/// Most aircraft pairs in one incident.
pub const PAIRS_MAX: usize = 64;
/// Most alert and line entries of the window kept with an incident.
pub const RECORDS_MAX: usize = 10_000;
/// Longest free text of an account, bytes.
pub const ACCOUNT_TEXT_BYTES_MAX: usize = 16 * 1024;
/// Longest remarks of an assessment, bytes.
pub const REMARKS_BYTES_MAX: usize = 4 * 1024;
/// Longest identifier (incident, party, member, track, record), bytes.
pub const ID_BYTES_MAX: usize = 64;
/// Largest distance a party may state as its own figure, metres.
pub const FIGURE_M_MAX: u32 = 1_000_000;
/// The other side's account is due this long after the filing unless configured, ms (a day,
/// the longest acknowledgement deadline an agreement may set).
pub const ACCOUNT_DEADLINE_MS_DEFAULT: i64 = 86_400_000;
/// Longest account deadline, ms (a week).
pub const ACCOUNT_DEADLINE_MS_MAX: i64 = 7 * 86_400_000;

/// Why an input was refused. Each has its own [`code`](IncidentError::code).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum IncidentError {
    /// A value out of range or malformed.
    #[error("{field}: {why}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// What is wrong.
        why: String,
    },
    /// The party is not one of the incident's.
    #[error("{party} is not a party to incident {incident}")]
    NotAParty {
        /// The party.
        party: String,
        /// The incident.
        incident: String,
    },
    /// The party has already given its account.
    #[error("{party} has already given its account of incident {incident}")]
    AccountGiven {
        /// The party.
        party: String,
        /// The incident.
        incident: String,
    },
    /// The assessor is not a working-group member of the party it assesses for.
    #[error("{member} is not a working-group member of {party}")]
    NotMember {
        /// The member named.
        member: String,
        /// The party.
        party: String,
    },
    /// An assessment before every account is in and before the account deadline.
    #[error(
        "incident {incident} waits for the account of {waiting} until {deadline_ms} ms; it can be assessed when every account is in or the deadline has passed"
    )]
    AccountsPending {
        /// The incident.
        incident: String,
        /// The parties whose account is missing.
        waiting: String,
        /// The account deadline.
        deadline_ms: i64,
    },
}

impl IncidentError {
    /// A stable code for the error, as the service answers it.
    pub fn code(&self) -> &'static str {
        match self {
            IncidentError::Invalid { .. } => "invalid_incident",
            IncidentError::NotAParty { .. } => "not_incident_party",
            IncidentError::AccountGiven { .. } => "account_given",
            IncidentError::NotMember { .. } => "not_working_group_member",
            IncidentError::AccountsPending { .. } => "accounts_pending",
        }
    }
}

fn invalid(field: &'static str, why: impl Into<String>) -> IncidentError {
    IncidentError::Invalid {
        field,
        why: why.into(),
    }
}

/// An identifier: 1..=[`ID_BYTES_MAX`] bytes of `a-z A-Z 0-9 _ - . : /`.
pub fn check_id(field: &'static str, id: &str) -> Result<(), IncidentError> {
    if id.is_empty() || id.len() > ID_BYTES_MAX {
        return Err(invalid(
            field,
            format!("{id:?} must be 1 to {ID_BYTES_MAX} bytes"),
        ));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_-.:/".contains(&b))
    {
        return Err(invalid(
            field,
            format!("{id:?} may hold only letters, digits and _ - . : /"),
        ));
    }
    Ok(())
}

fn check_text(field: &'static str, text: &str, max: usize) -> Result<(), IncidentError> {
    if text.len() > max {
        return Err(invalid(
            field,
            format!("{} bytes, more than {max}", text.len()),
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(invalid(
            field,
            "must not hold control characters other than newlines",
        ));
    }
    Ok(())
}

/// The time an incident covers, `[from_ms, to_ms]`, ms since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    from_ms: i64,
    to_ms: i64,
}

impl Window {
    /// A window of at most [`WINDOW_MS_MAX`], not inverted and not empty.
    pub fn new(from_ms: i64, to_ms: i64) -> Result<Window, IncidentError> {
        if to_ms <= from_ms {
            return Err(invalid(
                "window",
                format!("ends at {to_ms} ms, not after its start at {from_ms} ms"),
            ));
        }
        if to_ms - from_ms > WINDOW_MS_MAX {
            return Err(invalid(
                "window",
                format!(
                    "{} ms long, more than {WINDOW_MS_MAX} ms",
                    to_ms.saturating_sub(from_ms)
                ),
            ));
        }
        Ok(Window { from_ms, to_ms })
    }
    /// Start, ms.
    pub fn from_ms(&self) -> i64 {
        self.from_ms
    }
    /// End, ms.
    pub fn to_ms(&self) -> i64 {
        self.to_ms
    }
}

/// One aircraft: its party and the party's track id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Aircraft {
    /// Its party.
    pub party: String,
    /// The party's track id.
    pub track: String,
}

/// Two aircraft of different parties and their closest approach in the window, computed from
/// the recorded reports (`None` when their reports do not overlap in the window).
#[derive(Clone, Debug, PartialEq)]
pub struct Pair {
    /// One aircraft.
    pub a: Aircraft,
    /// The other.
    pub b: Aircraft,
    /// Their closest approach.
    pub approach: Option<ClosestApproach>,
}

/// What kind of recorded entry of the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RecordKind {
    /// An alert the service raised.
    Alert,
    /// A message on the deconfliction line.
    LineMessage,
}

impl RecordKind {
    /// As the record names it.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Alert => "alert",
            RecordKind::LineMessage => "line_message",
        }
    }
}

/// An alert or line entry of the window, by reference.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecordRef {
    /// When it was recorded, ms.
    pub time_ms: i64,
    /// Its kind.
    pub kind: RecordKind,
    /// The alert's or message's id.
    pub id: String,
    /// Its level (alerts) or message kind (line).
    pub label: String,
}

/// What a party's aircraft saw of the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seen {
    /// The crew saw the other aircraft.
    Visual,
    /// The other aircraft was on the party's radar or picture.
    Radar,
    /// The party was told of it (an alert, a line message, a controller).
    Told,
    /// Nothing was seen.
    Nothing,
}

impl Seen {
    /// Every value.
    pub const ALL: [Seen; 4] = [Seen::Visual, Seen::Radar, Seen::Told, Seen::Nothing];
    /// As the record carries it.
    pub fn as_str(self) -> &'static str {
        match self {
            Seen::Visual => "visual",
            Seen::Radar => "radar",
            Seen::Told => "told",
            Seen::Nothing => "nothing",
        }
    }
    /// From its name.
    pub fn from_name(s: &str) -> Option<Seen> {
        Seen::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// What a party's aircraft did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// Nothing.
    None,
    /// Turned.
    Turned,
    /// Climbed.
    Climbed,
    /// Descended.
    Descended,
    /// Changed speed.
    Speed,
    /// Called the other side on the line.
    CalledLine,
}

impl Action {
    /// Every value.
    pub const ALL: [Action; 6] = [
        Action::None,
        Action::Turned,
        Action::Climbed,
        Action::Descended,
        Action::Speed,
        Action::CalledLine,
    ];
    /// As the record carries it.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::None => "none",
            Action::Turned => "turned",
            Action::Climbed => "climbed",
            Action::Descended => "descended",
            Action::Speed => "speed",
            Action::CalledLine => "called_line",
        }
    }
    /// From its name.
    pub fn from_name(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A party's own figure of the closest approach, when it disputes the computed one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnFigure {
    /// Horizontal separation, metres.
    pub horizontal_m: u32,
    /// Vertical separation, metres, when stated.
    pub vertical_m: Option<u32>,
}

/// A party's account of an incident: free text in its language and structured fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The party giving it.
    pub party: String,
    /// ISO 639 code of the text's language.
    pub language: String,
    /// What happened, in the party's words.
    pub text: String,
    /// What its aircraft saw.
    pub seen: Seen,
    /// What its aircraft did.
    pub action: Action,
    /// Its own figure, when it disputes the computed closest approach.
    pub figure: Option<OwnFigure>,
}

impl Account {
    fn check(&self) -> Result<(), IncidentError> {
        check_id("account.party", &self.party)?;
        let l = &self.language;
        if !(2..=3).contains(&l.len()) || !l.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(invalid(
                "account.language",
                format!("{l:?} is not an ISO 639 code such as \"en\" or \"ru\""),
            ));
        }
        if self.text.trim().is_empty() {
            return Err(invalid("account.text", "must not be empty"));
        }
        check_text("account.text", &self.text, ACCOUNT_TEXT_BYTES_MAX)?;
        if let Some(f) = self.figure {
            if f.horizontal_m > FIGURE_M_MAX {
                return Err(invalid(
                    "account.figure.horizontal_m",
                    format!("{} m, more than {FIGURE_M_MAX}", f.horizontal_m),
                ));
            }
            if f.vertical_m.is_some_and(|v| v > FIGURE_M_MAX) {
                return Err(invalid(
                    "account.figure.vertical_m",
                    format!("more than {FIGURE_M_MAX} m"),
                ));
            }
        }
        Ok(())
    }
}

/// An account as the incident keeps it: when it came and whether after the deadline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GivenAccount {
    /// The account.
    pub account: Account,
    /// When it was taken, ms.
    pub at_ms: i64,
    /// Taken at or after the account deadline.
    pub late: bool,
}

/// A working-group member's assessment, for the member's party.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    /// The member.
    pub member: String,
    /// The member's party.
    pub party: String,
    /// The risk category.
    pub category: RiskCategory,
    /// Contributory factors.
    pub factors: BTreeSet<Factor>,
    /// Free remarks.
    pub remarks: String,
}

/// An assessment as the incident keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GivenAssessment {
    /// The assessment.
    pub assessment: Assessment,
    /// When it was taken, ms.
    pub at_ms: i64,
}

/// Where an incident stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Filed; some party's account is missing.
    Filed,
    /// Every party has given its account; not every party has assessed.
    AccountsComplete,
    /// Every party's member has assessed with the same category.
    Agreed(RiskCategory),
    /// Every party's member has assessed, not all with the same category.
    Disputed,
}

impl Status {
    /// As the service names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Filed => "filed",
            Status::AccountsComplete => "accounts_complete",
            Status::Agreed(_) => "agreed",
            Status::Disputed => "disputed",
        }
    }
}

/// What an accepted input or a deadline did, for the parties' streams.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// The incident was filed.
    Filed,
    /// A party gave its account.
    Account {
        /// The party.
        party: String,
        /// After the deadline.
        late: bool,
    },
    /// The last missing account came in.
    AccountsComplete,
    /// A party's account was not given by the deadline.
    AccountOverdue {
        /// The party.
        party: String,
    },
    /// A member assessed.
    Assessed {
        /// The member's party.
        party: String,
        /// The category given.
        category: RiskCategory,
    },
    /// The status changed to agreed or disputed (or from one to the other).
    Outcome(Status),
}

/// Who may assess for each party, and the account deadline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Each party's working-group members (ids).
    pub members: BTreeMap<String, BTreeSet<String>>,
    /// How long after the filing the other parties' accounts are due, ms; `None` is
    /// [`ACCOUNT_DEADLINE_MS_DEFAULT`].
    pub account_deadline_ms: Option<i64>,
}

/// What a party files.
#[derive(Clone, Debug, PartialEq)]
pub struct Filing {
    /// The incident's id.
    pub id: String,
    /// The window.
    pub window: Window,
    /// The aircraft pairs the service found in the window, with their closest approaches.
    pub pairs: Vec<Pair>,
    /// The alert and line entries of the window.
    pub records: Vec<RecordRef>,
    /// The filing party's account.
    pub account: Account,
}

/// An incident.
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    id: String,
    filed_by: String,
    filed_at_ms: i64,
    deadline_ms: i64,
    window: Window,
    parties: BTreeSet<String>,
    pairs: Vec<Pair>,
    records: Vec<RecordRef>,
    members: BTreeMap<String, BTreeSet<String>>,
    accounts: BTreeMap<String, GivenAccount>,
    overdue: BTreeSet<String>,
    /// Every assessment, in the order taken; each party's latest counts.
    assessments: Vec<GivenAssessment>,
}

impl Incident {
    /// Files an incident: the parties are those of the pairs; the filing party must be one of
    /// them and give the first account.
    pub fn file(
        filing: Filing,
        config: &Config,
        now_ms: i64,
    ) -> Result<(Incident, Vec<Effect>), IncidentError> {
        check_id("id", &filing.id)?;
        filing.account.check()?;
        if filing.pairs.is_empty() {
            return Err(invalid(
                "pairs",
                "no aircraft of two different parties in the window",
            ));
        }
        if filing.pairs.len() > PAIRS_MAX {
            return Err(invalid(
                "pairs",
                format!("{} pairs, more than {PAIRS_MAX}", filing.pairs.len()),
            ));
        }
        if filing.records.len() > RECORDS_MAX {
            return Err(invalid(
                "records",
                format!("{} entries, more than {RECORDS_MAX}", filing.records.len()),
            ));
        }
        let mut parties = BTreeSet::new();
        for p in &filing.pairs {
            for a in [&p.a, &p.b] {
                check_id("pairs.party", &a.party)?;
                check_id("pairs.track", &a.track)?;
                parties.insert(a.party.clone());
            }
            if p.a.party == p.b.party {
                return Err(invalid(
                    "pairs",
                    format!("both aircraft of a pair are {}'s", p.a.party),
                ));
            }
        }
        if parties.len() > PARTIES_MAX {
            return Err(invalid(
                "pairs",
                format!("{} parties, more than {PARTIES_MAX}", parties.len()),
            ));
        }
        for r in &filing.records {
            check_id("records.id", &r.id)?;
        }
        let filed_by = filing.account.party.clone();
        if !parties.contains(&filed_by) {
            return Err(IncidentError::NotAParty {
                party: filed_by,
                incident: filing.id,
            });
        }
        let deadline = config
            .account_deadline_ms
            .unwrap_or(ACCOUNT_DEADLINE_MS_DEFAULT);
        if !(1..=ACCOUNT_DEADLINE_MS_MAX).contains(&deadline) {
            return Err(invalid(
                "account_deadline_ms",
                format!("{deadline} ms, not within 1..={ACCOUNT_DEADLINE_MS_MAX}"),
            ));
        }
        let mut records = filing.records;
        records.sort();
        let mut incident = Incident {
            id: filing.id,
            filed_by: filed_by.clone(),
            filed_at_ms: now_ms,
            deadline_ms: now_ms.saturating_add(deadline),
            window: filing.window,
            members: config
                .members
                .iter()
                .filter(|(p, _)| parties.contains(*p))
                .map(|(p, m)| (p.clone(), m.clone()))
                .collect(),
            parties,
            pairs: filing.pairs,
            records,
            accounts: BTreeMap::new(),
            overdue: BTreeSet::new(),
            assessments: Vec::new(),
        };
        let mut effects = vec![Effect::Filed];
        effects.extend(incident.account(filing.account, now_ms)?);
        Ok((incident, effects))
    }

    /// A party's account. Refused when the party is not the incident's or has given one.
    pub fn account(&mut self, account: Account, now_ms: i64) -> Result<Vec<Effect>, IncidentError> {
        account.check()?;
        let party = account.party.clone();
        if !self.parties.contains(&party) {
            return Err(IncidentError::NotAParty {
                party,
                incident: self.id.clone(),
            });
        }
        if self.accounts.contains_key(&party) {
            return Err(IncidentError::AccountGiven {
                party,
                incident: self.id.clone(),
            });
        }
        let late = now_ms >= self.deadline_ms;
        self.accounts.insert(
            party.clone(),
            GivenAccount {
                account,
                at_ms: now_ms,
                late,
            },
        );
        let mut effects = vec![Effect::Account { party, late }];
        if self.accounts.len() == self.parties.len() {
            effects.push(Effect::AccountsComplete);
        }
        Ok(effects)
    }

    /// A working-group member's assessment for its party. Refused when the member is not one
    /// of that party's, the party not the incident's, or while an account is missing before
    /// the deadline. A member may assess again: each party's latest assessment counts.
    pub fn assess(
        &mut self,
        assessment: Assessment,
        now_ms: i64,
    ) -> Result<Vec<Effect>, IncidentError> {
        check_id("assessment.member", &assessment.member)?;
        check_text("assessment.remarks", &assessment.remarks, REMARKS_BYTES_MAX)?;
        let party = assessment.party.clone();
        if !self.parties.contains(&party) {
            return Err(IncidentError::NotAParty {
                party,
                incident: self.id.clone(),
            });
        }
        if !self
            .members
            .get(&party)
            .is_some_and(|m| m.contains(&assessment.member))
        {
            return Err(IncidentError::NotMember {
                member: assessment.member,
                party,
            });
        }
        let waiting = self.waiting();
        if !waiting.is_empty() && now_ms < self.deadline_ms {
            return Err(IncidentError::AccountsPending {
                incident: self.id.clone(),
                waiting: waiting.join(", "),
                deadline_ms: self.deadline_ms,
            });
        }
        let before = self.status();
        let category = assessment.category;
        self.assessments.push(GivenAssessment {
            assessment,
            at_ms: now_ms,
        });
        let mut effects = vec![Effect::Assessed { party, category }];
        let after = self.status();
        if after != before && matches!(after, Status::Agreed(_) | Status::Disputed) {
            effects.push(Effect::Outcome(after));
        }
        Ok(effects)
    }

    /// At or after the account deadline: each party whose account is missing becomes overdue,
    /// once.
    pub fn handle_timeout(&mut self, now_ms: i64) -> Vec<Effect> {
        if now_ms < self.deadline_ms {
            return Vec::new();
        }
        let mut effects = Vec::new();
        for party in self.waiting() {
            if self.overdue.insert(party.clone()) {
                effects.push(Effect::AccountOverdue { party });
            }
        }
        effects
    }

    /// When [`handle_timeout`](Incident::handle_timeout) next has something to do.
    pub fn poll_timeout(&self) -> Option<i64> {
        let pending = self
            .waiting()
            .iter()
            .any(|p| !self.overdue.contains(p.as_str()));
        pending.then_some(self.deadline_ms)
    }

    /// Parties whose account is missing.
    pub fn waiting(&self) -> Vec<String> {
        self.parties
            .iter()
            .filter(|p| !self.accounts.contains_key(*p))
            .cloned()
            .collect()
    }

    /// Each party's latest assessment.
    pub fn views(&self) -> BTreeMap<&str, &GivenAssessment> {
        let mut views = BTreeMap::new();
        for a in &self.assessments {
            views.insert(a.assessment.party.as_str(), a);
        }
        views
    }

    /// Where the incident stands.
    pub fn status(&self) -> Status {
        let views = self.views();
        if views.len() == self.parties.len() {
            let mut categories = views.values().map(|a| a.assessment.category);
            let first = categories.next();
            return match first {
                Some(c) if categories.all(|x| x == c) => Status::Agreed(c),
                _ => Status::Disputed,
            };
        }
        if self.waiting().is_empty() {
            Status::AccountsComplete
        } else {
            Status::Filed
        }
    }

    /// The id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The filing party.
    pub fn filed_by(&self) -> &str {
        &self.filed_by
    }
    /// When it was filed, ms.
    pub fn filed_at_ms(&self) -> i64 {
        self.filed_at_ms
    }
    /// When the other parties' accounts are due, ms.
    pub fn deadline_ms(&self) -> i64 {
        self.deadline_ms
    }
    /// The window.
    pub fn window(&self) -> Window {
        self.window
    }
    /// The parties.
    pub fn parties(&self) -> &BTreeSet<String> {
        &self.parties
    }
    /// The pairs with their closest approaches.
    pub fn pairs(&self) -> &[Pair] {
        &self.pairs
    }
    /// The closest of the pairs' approaches (smallest horizontal separation).
    pub fn closest(&self) -> Option<&ClosestApproach> {
        self.pairs
            .iter()
            .filter_map(|p| p.approach.as_ref())
            .min_by(|a, b| a.horizontal_m.total_cmp(&b.horizontal_m))
    }
    /// The alert and line entries of the window, in time order.
    pub fn records(&self) -> &[RecordRef] {
        &self.records
    }
    /// The accounts given, by party.
    pub fn accounts(&self) -> &BTreeMap<String, GivenAccount> {
        &self.accounts
    }
    /// Parties whose account became overdue.
    pub fn overdue(&self) -> &BTreeSet<String> {
        &self.overdue
    }
    /// Every assessment, in the order taken.
    pub fn assessments(&self) -> &[GivenAssessment] {
        &self.assessments
    }
}
