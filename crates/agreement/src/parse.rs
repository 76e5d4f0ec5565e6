//! Reading an agreement file (TOML) into a validated [`Agreement`].
//!
//! Policy on unknown fields: **rejected**, everywhere (tables and GeoJSON objects). A signed
//! document must mean exactly what its parsed form says; a misspelt field that was silently
//! ignored would be signed by every party and enforced by none.
//!
//! Every error names the field by its path (`party[1].contact[0].shift_utc`) and, where the file
//! has one, the line and column (1-based, columns in characters).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::canonical;
use crate::ids::{AgreementId, PartyId, is_ident};
use crate::keys::PublicKey;
use crate::model::*;

mod geography;

/// Largest agreement file accepted, in bytes.
pub const AGREEMENT_BYTES_MAX: usize = 1 << 20;
/// Most parties in one agreement.
pub const PARTIES_MAX: usize = 16;
/// Most duty contacts per party.
pub const CONTACTS_MAX: usize = 64;
/// Most working-group members per party.
pub const MEMBERS_MAX: usize = 8;
/// Most agreed frequencies.
pub const FREQUENCIES_MAX: usize = 64;
/// Most dividing lines.
pub const DIVIDING_LINES_MAX: usize = 64;
/// Most zones.
pub const ZONES_MAX: usize = 256;
/// Most message kinds with an acknowledgement deadline.
pub const ACK_KINDS_MAX: usize = 64;
/// Most positions in one geometry (all rings together).
pub const POSITIONS_MAX: usize = 10_000;
/// Longest free text (names, roles, titles), in bytes.
pub const TEXT_BYTES_MAX: usize = 1024;
/// Most names in other languages per party (`[party.names]`).
pub const PARTY_NAMES_MAX: usize = 16;
/// Widest separation minimum accepted, metres (a sanity bound, not a policy).
pub const SEPARATION_M_MAX: i64 = 200_000;
/// Longest lookahead accepted, seconds.
pub const LOOKAHEAD_S_MAX: i64 = 3_600;
/// Longest acknowledgement deadline, seconds (one day).
pub const ACK_DEADLINE_S_MAX: i64 = 86_400;
/// Largest zone radius, metres.
pub const RADIUS_M_MAX: i64 = 1_000_000;
/// Longest alerter written into the agreement (`separation.alerter_conf`), in bytes.
pub const ALERTER_CONF_BYTES_MAX: usize = 64 * 1024;
/// Altitude bounds for zone floors and ceilings, metres above mean sea level.
pub const ALT_M_MIN: i64 = -500;
pub const ALT_M_MAX: i64 = 30_000;

/// Where in the file (1-based line and column, columns counted in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why an agreement file was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    #[error("agreement is {bytes} bytes, more than the {bytes_max} accepted")]
    TooLarge { bytes: usize, bytes_max: usize },
    /// Not TOML, a wrong type, a missing or unknown field: as reported by the TOML reader.
    #[error("{}{message}", fmt_loc(.location))]
    Syntax {
        location: Option<Location>,
        message: String,
    },
    /// Well-formed TOML, but a value breaks a rule of the agreement.
    #[error("{}{field}: {reason}", fmt_loc(.location))]
    Invalid {
        field: String,
        location: Option<Location>,
        reason: String,
    },
}

fn fmt_loc(location: &Option<Location>) -> String {
    location.map(|l| format!("{l}: ")).unwrap_or_default()
}

impl ParseError {
    /// The field path, for an invalid value.
    pub fn field(&self) -> Option<&str> {
        match self {
            ParseError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    pub fn location(&self) -> Option<Location> {
        match self {
            ParseError::Syntax { location, .. } | ParseError::Invalid { location, .. } => *location,
            ParseError::TooLarge { .. } => None,
        }
    }
}

/// Reads and validates an agreement file. Never panics on any input.
pub fn parse_toml(text: &str) -> Result<Agreement, ParseError> {
    if text.len() > AGREEMENT_BYTES_MAX {
        return Err(ParseError::TooLarge {
            bytes: text.len(),
            bytes_max: AGREEMENT_BYTES_MAX,
        });
    }
    let raw: RawAgreement = toml::from_str(text).map_err(|e| ParseError::Syntax {
        location: e.span().map(|s| locate(text, s.start)),
        message: e.message().trim_end().to_owned(),
    })?;
    Checker { src: text }.agreement(raw)
}

fn locate(src: &str, offset: usize) -> Location {
    let offset = offset.min(src.len());
    // Back off to a char boundary so that slicing cannot panic.
    let offset = (0..=offset)
        .rev()
        .find(|&i| src.is_char_boundary(i))
        .unwrap_or(0);
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Location {
        line,
        column: before[line_start..].chars().count() + 1,
    }
}

/// Two or three lowercase ASCII letters, as ISO 639-1 and 639-2 codes are written.
fn is_language_code(code: &str) -> bool {
    (2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase())
}

// ---- the file's shape (serde); every leaf that gets validated keeps its span ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgreement {
    format: Spanned<String>,
    title: Spanned<String>,
    revision: Spanned<i64>,
    supersedes: Option<Spanned<String>>,
    separation: RawSeparation,
    link_test: RawLinkTest,
    ack_deadline_s: Spanned<BTreeMap<String, Spanned<i64>>>,
    party: Spanned<Vec<RawParty>>,
    #[serde(default)]
    frequency: Vec<RawFrequency>,
    #[serde(default)]
    dividing_line: Vec<RawDividingLine>,
    #[serde(default)]
    zone: Vec<RawZone>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeparation {
    horizontal_m: Spanned<i64>,
    vertical_m: Spanned<i64>,
    lookahead_s: Spanned<i64>,
    alerter: Option<Spanned<String>>,
    alerter_conf: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLinkTest {
    interval_s: Spanned<i64>,
    offset_s: Spanned<i64>,
    reply_deadline_s: Spanned<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParty {
    id: Spanned<String>,
    name: Spanned<String>,
    #[serde(default)]
    names: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    language: Spanned<String>,
    public_key: Spanned<String>,
    disclose_track: Spanned<Vec<Spanned<String>>>,
    disclose_notification: Spanned<Vec<Spanned<String>>>,
    contact: Spanned<Vec<RawContact>>,
    #[serde(default)]
    member: Vec<RawMember>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMember {
    id: Spanned<String>,
    name: Spanned<String>,
    public_key: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContact {
    name: Spanned<String>,
    role: Spanned<String>,
    shift_utc: Spanned<String>,
    channel: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFrequency {
    name: Spanned<String>,
    hz: Spanned<i64>,
    purpose: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDividingLine {
    id: Spanned<String>,
    name: Spanned<String>,
    left_party: Option<Spanned<String>>,
    right_party: Option<Spanned<String>>,
    geometry: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZone {
    id: Spanned<String>,
    name: Spanned<String>,
    geometry: Spanned<String>,
    radius_m: Option<Spanned<i64>>,
    floor_m: Option<Spanned<i64>>,
    ceiling_m: Option<Spanned<i64>>,
    #[serde(default)]
    excluded_parties: Vec<Spanned<String>>,
}

// ---- validation ----

struct Checker<'a> {
    src: &'a str,
}

type R<T> = Result<T, ParseError>;

impl Checker<'_> {
    fn err<T>(&self, field: &str, span: Range<usize>, reason: impl Into<String>) -> R<T> {
        Err(ParseError::Invalid {
            field: field.to_owned(),
            location: Some(locate(self.src, span.start)),
            reason: reason.into(),
        })
    }

    fn text(&self, field: &str, v: &Spanned<String>) -> R<String> {
        let s = v.get_ref();
        if s.trim().is_empty() {
            return self.err(field, v.span(), "must not be empty");
        }
        if s.len() > TEXT_BYTES_MAX {
            return self.err(
                field,
                v.span(),
                format!("is {} bytes, more than {TEXT_BYTES_MAX}", s.len()),
            );
        }
        if s.chars().any(char::is_control) {
            return self.err(field, v.span(), "must not contain control characters");
        }
        Ok(s.clone())
    }

    fn ident(&self, field: &str, v: &Spanned<String>) -> R<String> {
        if !is_ident(v.get_ref()) {
            return self.err(
                field,
                v.span(),
                format!(
                    "{:?} is not an identifier (a-z, 0-9, `_`, `-`, starting with a letter, at most 32)",
                    v.get_ref()
                ),
            );
        }
        Ok(v.get_ref().clone())
    }

    fn int(&self, field: &str, v: &Spanned<i64>, min: i64, max: i64, unit: &str) -> R<i64> {
        let x = *v.get_ref();
        if !(min..=max).contains(&x) {
            return self.err(
                field,
                v.span(),
                format!("must be between {min} and {max} {unit}, got {x}"),
            );
        }
        Ok(x)
    }

    fn u32(&self, field: &str, v: &Spanned<i64>, min: i64, max: i64, unit: &str) -> R<u32> {
        let x = self.int(field, v, min, max, unit)?;
        // Bounds above are within u32 by construction of every caller.
        u32::try_from(x).or_else(|_| self.err(field, v.span(), "out of range"))
    }

    fn party_ref(&self, field: &str, v: &Spanned<String>, known: &BTreeSet<PartyId>) -> R<PartyId> {
        match PartyId::new(v.get_ref()) {
            Ok(id) if known.contains(&id) => Ok(id),
            _ => self.err(
                field,
                v.span(),
                format!("{:?} is not a party of this agreement", v.get_ref()),
            ),
        }
    }

    fn agreement(&self, raw: RawAgreement) -> R<Agreement> {
        if raw.format.get_ref() != FORMAT {
            return self.err(
                "format",
                raw.format.span(),
                format!("must be {FORMAT:?}, got {:?}", raw.format.get_ref()),
            );
        }
        let title = self.text("title", &raw.title)?;
        let revision = self.u32("revision", &raw.revision, 1, i64::from(u32::MAX), "")?;
        let supersedes = match &raw.supersedes {
            None => None,
            Some(s) => Some(
                AgreementId::from_text(s.get_ref())
                    .or_else(|e| self.err("supersedes", s.span(), e.to_string()))?,
            ),
        };
        let separation = self.separation(&raw.separation)?;
        let link_test = self.link_test(&raw.link_test)?;
        let ack_deadlines_s = self.ack_deadlines(&raw.ack_deadline_s)?;
        let parties = self.parties(&raw.party)?;
        let known: BTreeSet<PartyId> = parties.iter().map(|p| p.id.clone()).collect();
        let frequencies = self.frequencies(&raw.frequency)?;
        let dividing_lines = self.dividing_lines(&raw.dividing_line, &known)?;
        let zones = self.zones(&raw.zone, &known)?;
        Ok(canonical::seal(Agreement {
            title,
            revision,
            supersedes,
            separation,
            link_test,
            ack_deadlines_s,
            parties,
            frequencies,
            dividing_lines,
            zones,
            canonical: Vec::new(),
            id: AgreementId::from_bytes([0; 32]),
        }))
    }

    /// The separation minima and the alerter, by name or as a configuration's text.
    fn separation(&self, s: &RawSeparation) -> R<Separation> {
        let separation = Separation {
            horizontal_m: self.u32(
                "separation.horizontal_m",
                &s.horizontal_m,
                1,
                SEPARATION_M_MAX,
                "m",
            )?,
            vertical_m: self.u32(
                "separation.vertical_m",
                &s.vertical_m,
                1,
                SEPARATION_M_MAX,
                "m",
            )?,
            lookahead_s: self.u32(
                "separation.lookahead_s",
                &s.lookahead_s,
                1,
                LOOKAHEAD_S_MAX,
                "s",
            )?,
            alerter: match &s.alerter {
                None => None,
                Some(a) => Some(self.alerter("separation.alerter", a)?),
            },
            alerter_conf: match &s.alerter_conf {
                None => None,
                Some(c) => Some(self.alerter_conf("separation.alerter_conf", c)?),
            },
        };
        if let (Some(_), Some(c)) = (&s.alerter, &s.alerter_conf) {
            return self.err(
            "separation.alerter_conf",
            c.span(),
            "give either `alerter` (a configuration by name) or `alerter_conf` (its text), not both",
        );
        }
        Ok(separation)
    }

    /// The link test schedule: an interval dividing the day, an offset within it and a reply
    /// deadline no longer than it.
    fn link_test(&self, l: &RawLinkTest) -> R<LinkTest> {
        let interval_s = self.u32("link_test.interval_s", &l.interval_s, 60, 86_400, "s")?;
        if !DAY_S.is_multiple_of(interval_s) {
            return self.err(
                "link_test.interval_s",
                l.interval_s.span(),
                format!(
                    "must divide the day (86400 s) so the schedule repeats daily, got {interval_s}"
                ),
            );
        }
        let offset_s = self.u32(
            "link_test.offset_s",
            &l.offset_s,
            0,
            i64::from(interval_s) - 1,
            "s (less than interval_s)",
        )?;
        let reply_deadline_s = self.u32(
            "link_test.reply_deadline_s",
            &l.reply_deadline_s,
            1,
            i64::from(interval_s),
            "s (at most interval_s)",
        )?;
        Ok(LinkTest {
            interval_s,
            offset_s,
            reply_deadline_s,
        })
    }

    /// The acknowledgement deadline of each message kind.
    fn ack_deadlines(
        &self,
        raw: &Spanned<BTreeMap<String, Spanned<i64>>>,
    ) -> R<BTreeMap<String, u32>> {
        let mut ack_deadlines_s = BTreeMap::new();
        if raw.get_ref().len() > ACK_KINDS_MAX {
            return self.err(
                "ack_deadline_s",
                raw.span(),
                format!("more than {ACK_KINDS_MAX} message kinds"),
            );
        }
        for (kind, seconds) in raw.get_ref() {
            let field = format!("ack_deadline_s.{kind}");
            if !is_ident(kind) {
                return self.err(&field, seconds.span(), "message kind is not an identifier");
            }
            let s = self.u32(&field, seconds, 1, ACK_DEADLINE_S_MAX, "s")?;
            ack_deadlines_s.insert(kind.clone(), s);
        }
        Ok(ack_deadlines_s)
    }

    fn frequencies(&self, raw: &[RawFrequency]) -> R<Vec<Frequency>> {
        if raw.len() > FREQUENCIES_MAX {
            return self.err(
                "frequency",
                raw[FREQUENCIES_MAX].name.span(),
                format!("more than {FREQUENCIES_MAX} frequencies"),
            );
        }
        let mut frequencies = Vec::new();
        for (i, f) in raw.iter().enumerate() {
            let field = |n: &str| format!("frequency[{i}].{n}");
            frequencies.push(Frequency {
                name: self.text(&field("name"), &f.name)?,
                hz: u64::from(self.u32(&field("hz"), &f.hz, 3_000, 3_000_000_000, "Hz")?),
                purpose: match &f.purpose {
                    None => None,
                    Some(p) => Some(self.text(&field("purpose"), p)?),
                },
            });
        }
        Ok(frequencies)
    }

    fn alerter(&self, field: &str, v: &Spanned<String>) -> R<String> {
        let s = v.get_ref();
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !ok {
            return self.err(
                field,
                v.span(),
                "must be an alerter name of at most 64 characters (A-Z, a-z, 0-9, `_`, `-`, `.`)",
            );
        }
        Ok(s.clone())
    }

    /// An alerter written out as DAIDALUS `.conf` text, checked by the same parser the desk
    /// runs, so that what the parties sign is an alerter the service can enforce. An error
    /// names the configuration's line and the file's.
    fn alerter_conf(&self, field: &str, v: &Spanned<String>) -> R<String> {
        let text = v.get_ref();
        if text.len() > ALERTER_CONF_BYTES_MAX {
            return self.err(
                field,
                v.span(),
                format!(
                    "is {} bytes, more than {ALERTER_CONF_BYTES_MAX}",
                    text.len()
                ),
            );
        }
        let config = match deconflict_wellclear::conf::parse_conf(field, text) {
            Ok(c) => c,
            Err(e) => {
                let line = e.location.line;
                return Err(ParseError::Invalid {
                    field: field.to_owned(),
                    location: Some(self.conf_line(v, line, e.location.column)),
                    reason: format!("line {line} of the configuration: {}", e.kind),
                });
            }
        };
        if config.alerters().is_empty() {
            return self.err(
                field,
                v.span(),
                "names no alerter (`alerters = NAME`, and that alerter's levels)",
            );
        }
        Ok(text.clone())
    }

    /// Where line `line` (1-based) of a string value starts in the file: a multi-line string
    /// (`"""` or `'''`) drops the newline right after its opening quotes, so its first line is
    /// the file's next one. Escaped line breaks in a basic string can shift this; the reason
    /// always names the configuration's own line as well.
    fn conf_line(&self, v: &Spanned<String>, line: usize, column: usize) -> Location {
        let start = locate(self.src, v.span().start);
        let token = self.src.get(v.span()).unwrap_or_default();
        let multi = token.starts_with("\"\"\"") || token.starts_with("'''");
        let skips_newline = multi
            && token
                .get(3..)
                .is_some_and(|rest| rest.starts_with('\n') || rest.starts_with("\r\n"));
        if skips_newline {
            Location {
                line: start.line + line,
                column,
            }
        } else if line == 1 {
            Location {
                line: start.line,
                column: start.column + if multi { 3 } else { 1 } + column - 1,
            }
        } else {
            Location {
                line: start.line + line - 1,
                column,
            }
        }
    }

    fn parties(&self, raw: &Spanned<Vec<RawParty>>) -> R<Vec<Party>> {
        let list = raw.get_ref();
        if list.len() < 2 {
            return self.err(
                "party",
                raw.span(),
                "an agreement needs at least two parties",
            );
        }
        if list.len() > PARTIES_MAX {
            return self.err(
                "party",
                raw.span(),
                format!("more than {PARTIES_MAX} parties"),
            );
        }
        let mut parties: Vec<Party> = Vec::new();
        for (i, p) in list.iter().enumerate() {
            let field = |n: &str| format!("party[{i}].{n}");
            let id = PartyId::new(&self.ident(&field("id"), &p.id)?)
                .or_else(|e| self.err(&field("id"), p.id.span(), e.to_string()))?;
            if parties.iter().any(|x| x.id == id) {
                return self.err(&field("id"), p.id.span(), format!("{id} is used twice"));
            }
            let lang = p.language.get_ref();
            if !is_language_code(lang) {
                return self.err(
                    &field("language"),
                    p.language.span(),
                    format!("{lang:?} is not an ISO 639 code such as \"en\" or \"ru\""),
                );
            }
            let names = self.party_names(i, p.names.as_ref())?;
            let public_key = PublicKey::from_text(p.public_key.get_ref())
                .or_else(|e| self.err(&field("public_key"), p.public_key.span(), e.to_string()))?;
            if parties.iter().any(|x| x.public_key == public_key) {
                return self.err(
                    &field("public_key"),
                    p.public_key.span(),
                    "the same key is given for two parties",
                );
            }
            let mut disclose_track = BTreeSet::new();
            for (j, f) in p.disclose_track.get_ref().iter().enumerate() {
                let name = format!("party[{i}].disclose_track[{j}]");
                let Some(t) = TrackField::from_name(f.get_ref()) else {
                    let all: Vec<_> = TrackField::ALL.iter().map(|f| f.as_str()).collect();
                    return self.err(
                        &name,
                        f.span(),
                        format!(
                            "unknown track field {:?}; known: {}",
                            f.get_ref(),
                            all.join(", ")
                        ),
                    );
                };
                if !disclose_track.insert(t) {
                    return self.err(&name, f.span(), "listed twice");
                }
            }
            let mut disclose_notification = BTreeSet::new();
            for (j, f) in p.disclose_notification.get_ref().iter().enumerate() {
                let name = format!("party[{i}].disclose_notification[{j}]");
                let Some(n) = NotificationField::from_name(f.get_ref()) else {
                    let all: Vec<_> = NotificationField::ALL.iter().map(|f| f.as_str()).collect();
                    return self.err(
                        &name,
                        f.span(),
                        format!(
                            "unknown notification field {:?}; known: {}",
                            f.get_ref(),
                            all.join(", ")
                        ),
                    );
                };
                if !disclose_notification.insert(n) {
                    return self.err(&name, f.span(), "listed twice");
                }
            }
            let contacts = self.contacts(i, &p.contact)?;
            let members = self.members(i, &p.member, &public_key, &parties)?;
            parties.push(Party {
                id,
                name: self.text(&field("name"), &p.name)?,
                names,
                language: lang.clone(),
                public_key,
                contacts,
                members,
                disclose_track,
                disclose_notification,
            });
        }
        // A member's key is no party's key, also of a party listed later.
        for (i, p) in list.iter().enumerate() {
            for (j, m) in p.member.iter().enumerate() {
                let key = PublicKey::from_text(m.public_key.get_ref()).ok();
                if parties.iter().any(|x| Some(&x.public_key) == key.as_ref()) {
                    return self.err(
                        &format!("party[{i}].member[{j}].public_key"),
                        m.public_key.span(),
                        "is a party's key; a working-group member signs with a key of its own",
                    );
                }
            }
        }
        Ok(parties)
    }

    fn members(
        &self,
        party: usize,
        raw: &[RawMember],
        party_key: &PublicKey,
        earlier: &[Party],
    ) -> R<Vec<Member>> {
        if raw.len() > MEMBERS_MAX {
            return self.err(
                &format!("party[{party}].member"),
                raw[MEMBERS_MAX].id.span(),
                format!("more than {MEMBERS_MAX} working-group members"),
            );
        }
        let mut members: Vec<Member> = Vec::new();
        // Some(true): the id is taken; Some(false): the key is.
        let taken = |members: &[Member], id: &str, key: &PublicKey| {
            earlier
                .iter()
                .flat_map(|p| p.members.iter())
                .chain(members.iter())
                .find(|m| m.id == id || &m.public_key == key)
                .map(|m| m.id == id)
        };
        for (j, m) in raw.iter().enumerate() {
            let field = |n: &str| format!("party[{party}].member[{j}].{n}");
            let id = self.ident(&field("id"), &m.id)?;
            let public_key = PublicKey::from_text(m.public_key.get_ref())
                .or_else(|e| self.err(&field("public_key"), m.public_key.span(), e.to_string()))?;
            if &public_key == party_key {
                return self.err(
                    &field("public_key"),
                    m.public_key.span(),
                    "is the party's key; a working-group member signs with a key of its own",
                );
            }
            match taken(&members, &id, &public_key) {
                Some(true) => {
                    return self.err(&field("id"), m.id.span(), format!("{id:?} is used twice"));
                }
                Some(false) => {
                    return self.err(
                        &field("public_key"),
                        m.public_key.span(),
                        "the same key is given for two working-group members",
                    );
                }
                None => {}
            }
            members.push(Member {
                id,
                name: self.text(&field("name"), &m.name)?,
                public_key,
            });
        }
        Ok(members)
    }

    /// `[party.names]`: the party's name in other languages, keyed by ISO 639 code.
    fn party_names(
        &self,
        party: usize,
        raw: Option<&Spanned<BTreeMap<String, Spanned<String>>>>,
    ) -> R<BTreeMap<String, String>> {
        let mut names = BTreeMap::new();
        let Some(raw) = raw else {
            return Ok(names);
        };
        let field = format!("party[{party}].names");
        if raw.get_ref().len() > PARTY_NAMES_MAX {
            return self.err(
                &field,
                raw.span(),
                format!("more than {PARTY_NAMES_MAX} names"),
            );
        }
        for (code, name) in raw.get_ref() {
            let f = format!("{field}.{code}");
            if !is_language_code(code) {
                return self.err(
                    &f,
                    name.span(),
                    format!("{code:?} is not an ISO 639 code such as \"en\" or \"ru\""),
                );
            }
            names.insert(code.clone(), self.text(&f, name)?);
        }
        Ok(names)
    }

    fn contacts(&self, party: usize, raw: &Spanned<Vec<RawContact>>) -> R<Vec<Contact>> {
        let field = format!("party[{party}].contact");
        if raw.get_ref().is_empty() {
            return self.err(
                &field,
                raw.span(),
                "a party needs at least one duty contact",
            );
        }
        if raw.get_ref().len() > CONTACTS_MAX {
            return self.err(
                &field,
                raw.span(),
                format!("more than {CONTACTS_MAX} contacts"),
            );
        }
        let mut contacts = Vec::new();
        // Minutes of the UTC day covered by some shift: the line is staffed 24 hours a day.
        let mut covered = [false; 1440];
        for (j, c) in raw.get_ref().iter().enumerate() {
            let f = |n: &str| format!("party[{party}].contact[{j}].{n}");
            let shift = parse_shift(c.shift_utc.get_ref())
                .or_else(|reason| self.err(&f("shift_utc"), c.shift_utc.span(), reason))?;
            for (m, slot) in covered.iter_mut().enumerate() {
                // Shifts are whole minutes, so the minute's first second decides.
                if shift.covers(m as u32 * 60) {
                    *slot = true;
                }
            }
            contacts.push(Contact {
                name: self.text(&f("name"), &c.name)?,
                role: self.text(&f("role"), &c.role)?,
                shift,
                channel: match &c.channel {
                    None => None,
                    Some(ch) => Some(self.text(&f("channel"), ch)?),
                },
            });
        }
        if let Some(gap_start) = covered.iter().position(|c| !c) {
            let gap_end = covered[gap_start..]
                .iter()
                .position(|c| *c)
                .map_or(1440, |n| gap_start + n);
            return self.err(
                &field,
                raw.span(),
                format!(
                    "shifts leave {:02}:{:02}-{:02}:{:02} UTC without a duty contact",
                    gap_start / 60,
                    gap_start % 60,
                    gap_end / 60,
                    gap_end % 60
                ),
            );
        }
        Ok(contacts)
    }
}

/// `HH:MM-HH:MM`, UTC, whole minutes; `24:00` only as an end.
fn parse_shift(s: &str) -> Result<Shift, String> {
    let bad = || format!("{s:?} is not a shift `HH:MM-HH:MM` (UTC, e.g. \"22:00-06:00\")");
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let hm = |t: &str| -> Option<u32> {
        let (h, m) = t.split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let h: u32 = h.parse().ok()?;
        let m: u32 = m.parse().ok()?;
        (h <= 24 && m < 60 && (h < 24 || m == 0)).then_some(h * 3600 + m * 60)
    };
    let start = hm(a).ok_or_else(bad)?;
    let end = hm(b).ok_or_else(bad)?;
    if start == DAY_S {
        return Err(format!("{s:?}: a shift cannot start at 24:00"));
    }
    let end = if end == 0 { DAY_S } else { end };
    Shift::new(start, end).ok_or_else(|| format!("{s:?}: a shift must not be empty"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts() {
        assert_eq!(
            parse_shift("00:00-24:00").unwrap(),
            Shift::new(0, DAY_S).unwrap()
        );
        assert_eq!(parse_shift("18:00-00:00").unwrap().end_of_day_s(), DAY_S);
        assert_eq!(
            parse_shift("22:00-06:30").unwrap(),
            Shift::new(79_200, 23_400).unwrap()
        );
        for bad in [
            "",
            "8:00-12:00",
            "08:00",
            "24:00-01:00",
            "08:60-09:00",
            "25:00-01:00",
            "09:00-09:00",
            "a:bc-de:fg",
        ] {
            assert!(parse_shift(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn locate_counts_chars() {
        let src = "a = 1\nбб = 2\n";
        assert_eq!(locate(src, 0), Location { line: 1, column: 1 });
        let at = src.find('=').unwrap();
        assert_eq!(locate(src, at), Location { line: 1, column: 3 });
        let second = src.rfind('=').unwrap();
        assert_eq!(locate(src, second), Location { line: 2, column: 4 });
        assert_eq!(locate(src, second - 1 - 1).line, 2); // inside a 2-byte char
    }
}
